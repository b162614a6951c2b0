// SPDX-License-Identifier: GPL-3.0-or-later
/* events.carrier_location: a driver's phone says where the trip's carrier
 * is. The message is another service's contract, so the decoder checks all
 * its schema says and names the field it refuses, for the dead-letter
 * queue. Storing is one set-based statement per batch of messages. */

#include "config.h"

#include <math.h>
#include <string.h>

#include "wb-carrier-location.h"
#include "wb-time.h"
#include "wb-db.h"
#include "wb-fleet-update.h"
#include "wb-telemetry-private.h"

#define TRIP_ID_MAX_LENGTH 128

/* The batch arrives as one JSON array (written by the telemetry writer,
 * which escapes every string), so the statement is the same for any batch
 * size and nothing is interpolated. The newest location per trip goes
 * first, so a trip named twice in one batch cannot trip ON CONFLICT. */
static const char apply_sql[] =
  "INSERT INTO carrier_locations AS c (trip_id, lat, lng, updated_at, source)"
  " SELECT DISTINCT ON (u.trip_id) u.trip_id, u.lat, u.lng,"
  " timestamptz 'epoch' + u.recorded_at * interval '1 microsecond', 'phone'"
  " FROM json_to_recordset($1::json) AS u (trip_id text, lat double precision, lng double precision,"
  " recorded_at bigint)"
  " ORDER BY u.trip_id, u.recorded_at DESC"
  " ON CONFLICT (trip_id) DO UPDATE SET lat = EXCLUDED.lat, lng = EXCLUDED.lng,"
  " updated_at = EXCLUDED.updated_at, source = EXCLUDED.source"
  " WHERE c.updated_at < EXCLUDED.updated_at";

void
wb_carrier_location_free (WbCarrierLocation *location)
{
  if (location == NULL)
    return;
  g_free (location->trip_id);
  g_free (location->driver_id);
  g_free (location);
}

/* ---- decoding ------------------------------------------------------------- */

static gboolean
set_invalid (GError     **error,
             const char  *field,
             const char  *problem)
{
  g_set_error (error, WB_FLEET_ERROR, WB_FLEET_ERROR_INVALID, "%s: %s", field, problem);
  return FALSE;
}

/* NULL for an absent or null member. */
static JsonNode *
member (JsonObject *object,
        const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  return node == NULL || JSON_NODE_HOLDS_NULL (node) ? NULL : node;
}

static gboolean
is_number (JsonNode *node)
{
  GType type;

  if (!JSON_NODE_HOLDS_VALUE (node))
    return FALSE;
  type = json_node_get_value_type (node);
  return type == G_TYPE_INT64 || type == G_TYPE_DOUBLE;
}

static gboolean
is_string (JsonNode *node)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING;
}

static gboolean
read_trip_id (JsonObject         *body,
              WbCarrierLocation  *location,
              GError            **error)
{
  JsonNode *node = member (body, "trip_id");
  glong length;

  if (node == NULL)
    return set_invalid (error, "trip_id", "is required");
  if (!is_string (node))
    return set_invalid (error, "trip_id", "must be a string");
  length = g_utf8_strlen (json_node_get_string (node), -1);
  if (length < 1 || length > TRIP_ID_MAX_LENGTH)
    return set_invalid (error, "trip_id", "must be 1 to 128 characters long");
  location->trip_id = g_strdup (json_node_get_string (node));
  return TRUE;
}

/* A required number within [minimum, maximum]. */
static gboolean
read_coordinate (JsonObject  *body,
                 const char  *name,
                 double       limit,
                 double      *out_value,
                 GError     **error)
{
  JsonNode *node = member (body, name);
  double value;

  if (node == NULL)
    return set_invalid (error, name, "is required");
  if (!is_number (node))
    return set_invalid (error, name, "must be a number");
  value = json_node_get_double (node);
  if (!(value >= -limit && value <= limit))
    {
      g_set_error (error, WB_FLEET_ERROR, WB_FLEET_ERROR_INVALID, "%s: must be between %g and %g",
                   name, -limit, limit);
      return FALSE;
    }
  *out_value = value;
  return TRUE;
}

/* RFC 3339 only: a calendar time with its zone. The shared parser also
 * takes unix digits and zoneless times (for carriers); a phone has a clock
 * and a zone, so anything else is a producer's bug. */
static gboolean
read_recorded_at (JsonObject         *body,
                  WbCarrierLocation  *location,
                  GError            **error)
{
  JsonNode *node = member (body, "recorded_at");
  const char *text;
  gboolean zone_guessed = TRUE;

  if (node == NULL)
    return set_invalid (error, "recorded_at", "is required");
  if (!is_string (node))
    return set_invalid (error, "recorded_at", "must be a string");
  text = json_node_get_string (node);
  if (strlen (text) < strlen ("YYYY-MM-DDTHH:MM:SSZ")
      || !wb_time_parse (text, NULL, &location->recorded_at, &zone_guessed, NULL)
      || zone_guessed)
    return set_invalid (error, "recorded_at", "must be an RFC 3339 time with a zone");
  return TRUE;
}

static gboolean
read_driver_id (JsonObject         *body,
                WbCarrierLocation  *location,
                GError            **error)
{
  JsonNode *node = member (body, "driver_id");

  if (node == NULL)
    return TRUE;
  if (!is_string (node) || !wb_fleet_id_is_valid (json_node_get_string (node)))
    return set_invalid (error, "driver_id", "must be 1 to 128 characters of letters, digits and . _ : -");
  location->driver_id = g_strdup (json_node_get_string (node));
  return TRUE;
}

static gboolean
read_accuracy (JsonObject         *body,
               WbCarrierLocation  *location,
               GError            **error)
{
  JsonNode *node = member (body, "accuracy");

  if (node == NULL)
    return TRUE;
  if (!is_number (node))
    return set_invalid (error, "accuracy", "must be a number");
  if (!(json_node_get_double (node) >= 0))
    return set_invalid (error, "accuracy", "must be at least 0");
  location->accuracy = json_node_get_double (node);
  return TRUE;
}

/**
 * wb_carrier_location_from_json:
 * @json: (array length=length): the message body
 *
 * Returns: (transfer full): the location, or %NULL with
 *   %WB_FLEET_ERROR_INVALID ("body: …" when it is not a JSON object)
 */
WbCarrierLocation *
wb_carrier_location_from_json (const char  *json,
                               gsize        length,
                               GError     **error)
{
  g_autoptr(WbCarrierLocation) location = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GError) parse_error = NULL;
  JsonObject *body;

  g_return_val_if_fail (json != NULL || length == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* The telemetry parser bounds size and nesting before json-glib's
   * recursive descent sees the text. */
  if (length == 0 || (root = _wb_telemetry_parse_json (json, length, &parse_error)) == NULL)
    {
      g_set_error (error, WB_FLEET_ERROR, WB_FLEET_ERROR_INVALID, "body: is not JSON%s%s",
                   parse_error ? ": " : "", parse_error ? parse_error->message : "");
      return NULL;
    }
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      set_invalid (error, "body", "must be a JSON object");
      return NULL;
    }

  body = json_node_get_object (root);
  location = g_new0 (WbCarrierLocation, 1);
  location->accuracy = NAN;
  if (!read_trip_id (body, location, error)
      || !read_coordinate (body, "lat", 90, &location->lat, error)
      || !read_coordinate (body, "lng", 180, &location->lng, error)
      || !read_recorded_at (body, location, error)
      || !read_driver_id (body, location, error)
      || !read_accuracy (body, location, error))
    return NULL;
  return g_steal_pointer (&location);
}

/* ---- storing -------------------------------------------------------------- */

static char *
locations_to_json (WbCarrierLocation **locations,
                   guint               n_locations)
{
  GString *out = g_string_sized_new (64 + n_locations * 96);

  g_string_append_c (out, '[');
  for (guint i = 0; i < n_locations; i++)
    {
      const WbCarrierLocation *location = locations[i];

      g_string_append (out, i == 0 ? "{\"trip_id\":" : ",{\"trip_id\":");
      wb_json_write_string (out, location->trip_id);
      g_string_append (out, ",\"lat\":");
      wb_json_write_double (out, location->lat);
      g_string_append (out, ",\"lng\":");
      wb_json_write_double (out, location->lng);
      g_string_append_printf (out, ",\"recorded_at\":%" G_GINT64_FORMAT "}", location->recorded_at);
    }
  g_string_append_c (out, ']');
  return g_string_free (out, FALSE);
}

/**
 * wb_carrier_locations_apply:
 * @locations: (array length=n_locations): decoded locations
 *
 * One statement, hence one transaction of its own, or a part of the
 * caller's when @conn is inside one.
 *
 * Returns: whether the statement ran; %WB_DB_ERROR otherwise
 */
gboolean
wb_carrier_locations_apply (PGconn             *conn,
                            WbCarrierLocation **locations,
                            guint               n_locations,
                            guint              *out_applied,
                            GError            **error)
{
  g_autofree char *batch = NULL;
  g_autoptr(PGresult) result = NULL;
  const char *params[1];

  g_return_val_if_fail (conn != NULL, FALSE);
  g_return_val_if_fail (locations != NULL || n_locations == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  for (guint i = 0; i < n_locations; i++)
    g_return_val_if_fail (locations[i] != NULL && locations[i]->trip_id != NULL, FALSE);

  if (out_applied != NULL)
    *out_applied = 0;
  if (n_locations == 0)
    return TRUE;

  params[0] = batch = locations_to_json (locations, n_locations);
  result = wb_db_exec (conn, apply_sql, params, 1, NULL, error);
  if (result == NULL)
    return FALSE;
  if (out_applied != NULL)
    *out_applied = (guint) g_ascii_strtoull (PQcmdTuples (result), NULL, 10);
  return TRUE;
}
