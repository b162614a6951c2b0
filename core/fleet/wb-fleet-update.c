// SPDX-License-Identifier: GPL-3.0-or-later
/* Reference-data updates: the one struct both the bus messages and the REST
 * bodies become, its checks, and the message codec. The messages are other
 * services' contracts (snake_case, data/schemas/<topic>.schema.json), so
 * the decoder is strict about what it needs and ignores what it does not
 * know. */

#include "config.h"

#include <math.h>
#include <string.h>

#include "wb-json-writer.h"
#include "wb-fleet-update.h"
#include "wb-json-reader.h"

G_DEFINE_QUARK (wb-fleet-error-quark, wb_fleet_error)

/* One member of a message body and where it lands in a WbFleetUpdate. */
typedef struct
{
  const char *name;
  gsize       offset;
  gboolean    required;
  gboolean    is_id;      /* an id or a reference: the id alphabet applies */
} Field;

#define FIELD(name, member, required, is_id) { name, G_STRUCT_OFFSET (WbFleetUpdate, member), required, is_id }

static const Field company_fields[] = {
  FIELD ("company_id", id, TRUE, TRUE),
  FIELD ("name", name, TRUE, FALSE),
  { NULL, 0, FALSE, FALSE }
};

static const Field driver_fields[] = {
  FIELD ("driver_id", id, TRUE, TRUE),
  FIELD ("name", name, TRUE, FALSE),
  FIELD ("phone", phone, FALSE, FALSE),
  FIELD ("company_id", company_id, FALSE, TRUE),
  { NULL, 0, FALSE, FALSE }
};

static const Field vehicle_fields[] = {
  FIELD ("vehicle_id", id, TRUE, TRUE),
  FIELD ("plate", plate, TRUE, FALSE),
  FIELD ("company_id", company_id, FALSE, TRUE),
  FIELD ("driver_id", driver_id, FALSE, TRUE),
  FIELD ("group_id", group_id, FALSE, TRUE),
  FIELD ("tariff_id", tariff_id, FALSE, TRUE),
  { NULL, 0, FALSE, FALSE }
};

static const Field device_fields[] = {
  FIELD ("device_id", id, TRUE, TRUE),
  FIELD ("vehicle_id", vehicle_id, FALSE, TRUE),
  { NULL, 0, FALSE, FALSE }
};

static const struct
{
  const char  *name;
  const char  *topic;
  const Field *fields;
} kinds[] = {
  [WB_FLEET_KIND_COMPANY] = { "company", WB_TOPIC_COMPANY_UPDATED, company_fields },
  [WB_FLEET_KIND_DRIVER] = { "driver", WB_TOPIC_DRIVER_UPDATED, driver_fields },
  [WB_FLEET_KIND_VEHICLE] = { "vehicle", WB_TOPIC_VEHICLE_UPDATED, vehicle_fields },
  [WB_FLEET_KIND_DEVICE] = { "device", NULL, device_fields },
};

static char **
field_slot (WbFleetUpdate *update,
            const Field   *field)
{
  return G_STRUCT_MEMBER_P (update, field->offset);
}

const char *
wb_fleet_kind_to_string (WbFleetKind kind)
{
  g_return_val_if_fail (kind <= WB_FLEET_KIND_DEVICE, NULL);
  return kinds[kind].name;
}

/**
 * wb_fleet_id_is_valid:
 *
 * Returns: whether @id is 1 to %WB_FLEET_ID_MAX_LENGTH characters of
 *   [A-Za-z0-9._:-]
 */
gboolean
wb_fleet_id_is_valid (const char *id)
{
  gsize length = 0;

  if (id == NULL)
    return FALSE;
  for (const char *p = id; *p != '\0'; p++, length++)
    if (!g_ascii_isalnum (*p) && strchr ("._:-", *p) == NULL)
      return FALSE;
  return length > 0 && length <= WB_FLEET_ID_MAX_LENGTH;
}

WbFleetUpdate *
wb_fleet_update_new (WbFleetKind  kind,
                     const char  *id)
{
  WbFleetUpdate *update;

  g_return_val_if_fail (kind <= WB_FLEET_KIND_DEVICE, NULL);

  update = g_new0 (WbFleetUpdate, 1);
  update->kind = kind;
  update->id = g_strdup (id);
  return update;
}

WbFleetUpdate *
wb_fleet_update_copy (const WbFleetUpdate *update)
{
  WbFleetUpdate *copy;

  g_return_val_if_fail (update != NULL, NULL);

  copy = g_memdup2 (update, sizeof *update);
  copy->id = g_strdup (update->id);
  copy->name = g_strdup (update->name);
  copy->phone = g_strdup (update->phone);
  copy->company_id = g_strdup (update->company_id);
  copy->plate = g_strdup (update->plate);
  copy->driver_id = g_strdup (update->driver_id);
  copy->group_id = g_strdup (update->group_id);
  copy->tariff_id = g_strdup (update->tariff_id);
  copy->vehicle_id = g_strdup (update->vehicle_id);
  copy->token = g_strdup (update->token);
  return copy;
}

void
wb_fleet_update_free (WbFleetUpdate *update)
{
  if (update == NULL)
    return;
  g_free (update->id);
  g_free (update->name);
  g_free (update->phone);
  g_free (update->company_id);
  g_free (update->plate);
  g_free (update->driver_id);
  g_free (update->group_id);
  g_free (update->tariff_id);
  g_free (update->vehicle_id);
  if (update->token != NULL)
    memset (update->token, 0, strlen (update->token));
  g_free (update->token);
  g_free (update);
}

static gboolean
report (const char **out_problem,
        const char  *problem)
{
  *out_problem = problem;
  return FALSE;
}

/* The first problem of @update: the field as in the messages, and what is
 * wrong with it. */
static gboolean
find_problem (const WbFleetUpdate  *update,
              const char          **out_field,
              const char          **out_problem)
{
  for (const Field *field = kinds[update->kind].fields; field->name != NULL; field++)
    {
      const char *value = *field_slot ((WbFleetUpdate *) update, field);

      *out_field = field->name;
      if (value == NULL && field->required)
        return report (out_problem, "is required");
      if (value != NULL && field->is_id && !wb_fleet_id_is_valid (value))
        return report (out_problem, "must be 1 to 128 characters of letters, digits and . _ : -");
      if (value != NULL && !field->is_id && g_utf8_strlen (value, -1) > WB_FLEET_TEXT_MAX_LENGTH)
        return report (out_problem, "must be at most 256 characters long");
    }
  *out_field = "version";
  if (update->version < 0)
    return report (out_problem, "must be a positive integer");
  *out_field = "vehicle_id";
  if (update->kind == WB_FLEET_KIND_DEVICE && update->vehicle_id == NULL && !update->quarantined)
    return report (out_problem, "is required unless the device is quarantined");
  *out_field = "token";
  if (update->token != NULL && (*update->token == '\0' || strlen (update->token) > WB_FLEET_TEXT_MAX_LENGTH))
    return report (out_problem, "must be 1 to 256 bytes long");
  return TRUE;
}

/**
 * wb_fleet_update_validate:
 *
 * Returns: whether @update can be applied; otherwise %WB_FLEET_ERROR_INVALID
 *   naming the field as in the messages
 */
gboolean
wb_fleet_update_validate (const WbFleetUpdate  *update,
                          GError              **error)
{
  const char *field, *problem;

  g_return_val_if_fail (update != NULL, FALSE);
  g_return_val_if_fail (update->kind <= WB_FLEET_KIND_DEVICE, FALSE);

  if (find_problem (update, &field, &problem))
    return TRUE;
  g_set_error (error, WB_FLEET_ERROR, WB_FLEET_ERROR_INVALID, "%s: %s", field, problem);
  return FALSE;
}

/* ---- messages ------------------------------------------------------------ */

static gboolean
kind_for_topic (const char   *topic,
                WbFleetKind  *out_kind)
{
  for (guint kind = 0; kind < G_N_ELEMENTS (kinds); kind++)
    if (kinds[kind].topic != NULL && g_strcmp0 (topic, kinds[kind].topic) == 0)
      {
        *out_kind = kind;
        return TRUE;
      }
  return FALSE;
}

/* An empty or blank string is taken as absent: producers often send ""
 * for "none". */
static gboolean
read_string (WbJsonReader  *body,
             const char    *name,
             char         **out_value,
             GError       **error)
{
  const char *value;

  if (!wb_json_reader_peek_string (body, name, FALSE, 0, &value, error))
    return FALSE;
  if (value == NULL)
    return TRUE;
  for (const char *p = value; *p != '\0'; p++)
    if (!g_ascii_isspace (*p))
      {
        *out_value = g_strdup (value);
        break;
      }
  return TRUE;
}

static gboolean
read_version (WbJsonReader  *body,
              gint64        *out_version,
              GError       **error)
{
  JsonNode *node = wb_json_reader_get_node (body, "version");

  if (node == NULL)
    return wb_json_reader_fail (body, "version", error, "is required");
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64 ||
      json_node_get_int (node) < 1)
    return wb_json_reader_fail (body, "version", error, "must be a positive integer");
  *out_version = json_node_get_int (node);
  return TRUE;
}

static gboolean
read_updated_at (WbJsonReader  *body,
                 gint64        *out_us,
                 GError       **error)
{
  g_autofree char *text = NULL;
  g_autoptr(GDateTime) time = NULL;

  if (!read_string (body, "updated_at", &text, error))
    return FALSE;
  if (text == NULL)
    return TRUE;
  /* No default zone: a time without one is refused, not guessed. */
  time = g_date_time_new_from_iso8601 (text, NULL);
  if (time == NULL)
    return wb_json_reader_fail (body, "updated_at", error, "must be an RFC 3339 time with a zone");
  *out_us = g_date_time_to_unix (time) * G_USEC_PER_SEC + g_date_time_get_microsecond (time);
  return TRUE;
}

/**
 * wb_fleet_update_from_message:
 * @topic: company.updated, driver.updated or vehicle.updated
 *
 * The body goes through the guarded parser (size, UTF-8, strict syntax,
 * depth) before anything reads it.
 *
 * Returns: (transfer full): the update, or %NULL with a %WB_JSON_ERROR
 *   (%WB_JSON_ERROR_FIELD names the member: wb_json_error_get_field()), or
 *   %WB_FLEET_ERROR_INVALID for a topic that carries no reference data
 */
WbFleetUpdate *
wb_fleet_update_from_message (const char  *topic,
                              GBytes      *payload,
                              GError     **error)
{
  g_autoptr(WbFleetUpdate) update = NULL;
  g_autoptr(WbJsonReader) body = NULL;
  const char *field, *problem;
  WbFleetKind kind;

  if (!kind_for_topic (topic, &kind))
    {
      g_set_error (error, WB_FLEET_ERROR, WB_FLEET_ERROR_INVALID, "topic: %s carries no fleet reference data",
                   topic ? topic : "(none)");
      return NULL;
    }
  if ((body = wb_json_reader_new_from_bytes (payload, NULL, error)) == NULL)
    {
      g_prefix_error (error, "body: ");
      return NULL;
    }

  update = wb_fleet_update_new (kind, NULL);
  for (const Field *field_spec = kinds[kind].fields; field_spec->name != NULL; field_spec++)
    if (!read_string (body, field_spec->name, field_slot (update, field_spec), error))
      return NULL;
  if (!read_version (body, &update->version, error)
      || !read_updated_at (body, &update->updated_at, error))
    return NULL;
  if (!find_problem (update, &field, &problem))
    {
      wb_json_set_field_error (error, field, "%s", problem);
      return NULL;
    }
  return g_steal_pointer (&update);
}

static void
add_time (JsonBuilder *builder,
          gint64       us)
{
  g_autoptr(GDateTime) epoch = g_date_time_new_from_unix_utc (0);
  g_autoptr(GDateTime) time = NULL;
  g_autofree char *text = NULL;

  if (us == 0)
    {
      json_builder_add_null_value (builder);
      return;
    }
  time = g_date_time_add (epoch, us);
  /* Four digits always: %Y writes the year 26 as "26", which no RFC 3339
   * reader takes back. */
  text = g_strdup_printf ("%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", g_date_time_get_year (time),
                          g_date_time_get_month (time), g_date_time_get_day_of_month (time),
                          g_date_time_get_hour (time), g_date_time_get_minute (time),
                          g_date_time_get_second (time), g_date_time_get_microsecond (time));
  json_builder_add_string_value (builder, text);
}

/**
 * wb_fleet_update_to_message:
 *
 * Returns: (transfer full): the snake_case message body of @update, a
 *   company, driver or vehicle update with a version of at least 1
 */
char *
wb_fleet_update_to_message (const WbFleetUpdate  *update,
                            const char          **out_topic)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;

  g_return_val_if_fail (update != NULL, NULL);
  g_return_val_if_fail (update->kind < WB_FLEET_KIND_DEVICE, NULL);
  g_return_val_if_fail (update->version > 0, NULL);

  json_builder_begin_object (builder);
  for (const Field *field = kinds[update->kind].fields; field->name != NULL; field++)
    {
      const char *value = *field_slot ((WbFleetUpdate *) update, field);

      json_builder_set_member_name (builder, field->name);
      if (value != NULL)
        json_builder_add_string_value (builder, value);
      else
        json_builder_add_null_value (builder);
    }
  json_builder_set_member_name (builder, "version");
  json_builder_add_int_value (builder, update->version);
  json_builder_set_member_name (builder, "updated_at");
  add_time (builder, update->updated_at);
  json_builder_end_object (builder);

  if (out_topic != NULL)
    *out_topic = kinds[update->kind].topic;
  root = json_builder_get_root (builder);
  return wb_json_to_string (root);
}

/* ---- REST bodies ----------------------------------------------------------- */

/* The largest integer a JSON number carries exactly. */
#define MAX_REST_VERSION 9007199254740991.0

static const char * const company_members[] = { "name", "version", NULL };
static const char * const driver_members[] = { "name", "phone", "companyId", "version", NULL };
static const char * const vehicle_members[] = {
  "plate", "companyId", "driverId", "groupId", "tariffId", "version", NULL
};
static const char * const device_members[] = { "vehicleId", "token", "quarantined", "version", NULL };
static const char * const company_row_members[] = { "id", "name", "version", NULL };
static const char * const driver_row_members[] = { "id", "name", "phone", "companyId", "version", NULL };
static const char * const vehicle_row_members[] = {
  "id", "plate", "companyId", "driverId", "groupId", "tariffId", "version", NULL
};
static const char * const device_row_members[] = { "deviceId", "vehicleId", "token", "quarantined", "version", NULL };

/**
 * wb_fleet_kind_id_member:
 *
 * Returns: the REST name of @kind's id: "deviceId" for a device, else "id"
 */
const char *
wb_fleet_kind_id_member (WbFleetKind kind)
{
  return kind == WB_FLEET_KIND_DEVICE ? "deviceId" : "id";
}

/**
 * wb_fleet_kind_rest_members:
 * @with_id: include the id member, as an import row carries it
 *
 * Returns: (transfer none): the REST members a write of @kind may hold,
 *   %NULL-terminated
 */
const char * const *
wb_fleet_kind_rest_members (WbFleetKind kind,
                            gboolean    with_id)
{
  const char * const *put[] = { company_members, driver_members, vehicle_members, device_members };
  const char * const *row[] = { company_row_members, driver_row_members, vehicle_row_members, device_row_members };

  g_return_val_if_fail (kind <= WB_FLEET_KIND_DEVICE, NULL);
  return with_id ? row[kind] : put[kind];
}

static gboolean
invalid (WbJsonReader  *input,
         const char   *member,
         const char   *problem,
         GError      **error)
{
  return wb_json_reader_fail (input, member, error, "%s", problem);
}

static gboolean
read_text (WbJsonReader  *body,
           const char   *member,
           gboolean      required,
           char        **out_value,
           GError      **error)
{
  if (!wb_json_reader_get_string (body, member, required, out_value, error))
    return FALSE;
  if (*out_value != NULL && g_utf8_strlen (*out_value, -1) > WB_FLEET_TEXT_MAX_LENGTH)
    return invalid (body, member, "must be at most 256 characters long", error);
  return TRUE;
}

static gboolean
read_id (WbJsonReader  *body,
         const char   *member,
         gboolean      required,
         char        **out_value,
         GError      **error)
{
  if (!wb_json_reader_get_string (body, member, required, out_value, error))
    return FALSE;
  if (*out_value != NULL && !wb_fleet_id_is_valid (*out_value))
    return invalid (body, member, "must be 1 to 128 characters of letters, digits and . _ : -", error);
  return TRUE;
}

/* Absent: 0, the stored version + 1. */
static gboolean
read_rest_version (WbJsonReader  *body,
                   gint64       *out_version,
                   GError      **error)
{
  gboolean present = FALSE;
  double value = 0;

  if (!wb_json_reader_get_double (body, "version", 1, MAX_REST_VERSION, &present, &value, error))
    return FALSE;
  if (present && floor (value) != value)
    return invalid (body, "version", "must be an integer", error);
  *out_version = present ? (gint64) value : 0;
  return TRUE;
}

/* "token": absent keeps the stored token, null removes it, a string sets it. */
static gboolean
read_token (WbJsonReader    *body,
            WbFleetUpdate  *update,
            GError        **error)
{
  update->has_token = wb_json_reader_contains (body, "token");
  if (!update->has_token)
    return TRUE;
  if (!wb_json_reader_get_string (body, "token", FALSE, &update->token, error))
    return FALSE;
  if (update->token == NULL && wb_json_reader_has_member (body, "token"))
    return invalid (body, "token", "must not be empty; null removes the token", error);
  if (update->token != NULL && strlen (update->token) > WB_FLEET_TEXT_MAX_LENGTH)
    return invalid (body, "token", "must be at most 256 bytes long", error);
  return TRUE;
}

static gboolean
read_members (WbJsonReader    *body,
              WbFleetUpdate  *update,
              GError        **error)
{
  switch (update->kind)
    {
    case WB_FLEET_KIND_COMPANY:
      return read_text (body, "name", TRUE, &update->name, error);
    case WB_FLEET_KIND_DRIVER:
      return read_text (body, "name", TRUE, &update->name, error)
             && read_text (body, "phone", FALSE, &update->phone, error)
             && read_id (body, "companyId", FALSE, &update->company_id, error);
    case WB_FLEET_KIND_VEHICLE:
      return read_text (body, "plate", TRUE, &update->plate, error)
             && read_id (body, "companyId", FALSE, &update->company_id, error)
             && read_id (body, "driverId", FALSE, &update->driver_id, error)
             && read_id (body, "groupId", FALSE, &update->group_id, error)
             && read_id (body, "tariffId", FALSE, &update->tariff_id, error);
    case WB_FLEET_KIND_DEVICE:
    default:
      if (!wb_json_reader_get_boolean (body, "quarantined", &update->quarantined, error)
          || !read_token (body, update, error))
        return FALSE;
      /* A quarantined device may wait for its vehicle; any other needs one. */
      return read_id (body, "vehicleId", !update->quarantined, &update->vehicle_id, error);
    }
}

/**
 * wb_fleet_update_from_rest:
 * @id: (nullable): the id the path names (PUT); %NULL reads it from the
 *   body's wb_fleet_kind_id_member(), as each row of an import carries it
 * @body: the body's object, already through the guarded parser
 *
 * The one reading of a REST write (camelCase members), for PUT and for
 * every row of a bulk import alike. A write replaces the entity, so an
 * unknown member is refused: a misspelt one would silently clear the one
 * meant.
 *
 * Returns: (transfer full): the update, or %NULL with a
 *   %WB_JSON_ERROR_FIELD naming the member
 */
WbFleetUpdate *
wb_fleet_update_from_rest (WbFleetKind    kind,
                           const char    *id,
                           WbJsonReader  *body,
                           GError       **error)
{
  g_autoptr(WbFleetUpdate) update = wb_fleet_update_new (kind, id);

  g_return_val_if_fail (kind <= WB_FLEET_KIND_DEVICE, NULL);
  g_return_val_if_fail (body != NULL, NULL);

  if (!wb_json_reader_reject_unknown (body, wb_fleet_kind_rest_members (kind, id == NULL), error)
      || (id == NULL && !read_id (body, wb_fleet_kind_id_member (kind), TRUE, &update->id, error))
      || !read_members (body, update, error)
      || !read_rest_version (body, &update->version, error))
    return NULL;
  return g_steal_pointer (&update);
}
