// SPDX-License-Identifier: GPL-3.0-or-later
/* WbPosition and its telemetry.raw form. The JSON is written straight into
 * one GString with core/json's writer: it is produced once per accepted
 * position, and building a tree first would cost more than the rest. Unknown
 * values are left out rather than written as null, so a consumer never
 * mistakes "unknown" for zero. */

#include "config.h"

#include <math.h>
#include <string.h>

#include "wb-time.h"
#include "wb-telemetry-private.h"

G_DEFINE_QUARK (wb-telemetry-error-quark, wb_telemetry_error)

G_DEFINE_BOXED_TYPE (WbPosition, wb_position, wb_position_ref, wb_position_unref)

static const char * const protocol_names[] = {
  [WB_PROTOCOL_JSON] = "json",
  [WB_PROTOCOL_OSMAND] = "osmand",
  [WB_PROTOCOL_TELTONIKA] = "teltonika",
};

const char *
wb_protocol_to_string (WbProtocol protocol)
{
  g_return_val_if_fail ((guint) protocol < G_N_ELEMENTS (protocol_names), NULL);

  return protocol_names[protocol];
}

gboolean
wb_protocol_from_string (const char *text,
                         WbProtocol *out_protocol)
{
  g_return_val_if_fail (text != NULL, FALSE);

  for (guint i = 0; i < G_N_ELEMENTS (protocol_names); i++)
    if (g_str_equal (text, protocol_names[i]))
      {
        if (out_protocol)
          *out_protocol = i;
        return TRUE;
      }
  return FALSE;
}

/**
 * wb_position_new:
 *
 * Returns: (transfer full): a position with every value unknown and empty
 *   attributes, protocol %WB_PROTOCOL_JSON
 */
WbPosition *
wb_position_new (void)
{
  WbPosition *position = g_atomic_rc_box_new0 (WbPosition);

  position->protocol = WB_PROTOCOL_JSON;
  position->lat = position->lon = NAN;
  position->speed_kmh = position->heading = position->altitude = position->accuracy = NAN;
  position->hdop = position->fuel = position->odometer = position->battery = NAN;
  position->satellites = -1;
  position->ignition = position->charging = position->moving = -1;
  return position;
}

/**
 * wb_position_copy:
 *
 * Returns: (transfer full): a deep copy, attributes included
 */
WbPosition *
wb_position_copy (const WbPosition *position)
{
  WbPosition *copy;

  g_return_val_if_fail (position != NULL, NULL);

  copy = (WbPosition *) g_atomic_rc_box_dup (sizeof (WbPosition), position);
  copy->device_id = g_strdup (position->device_id);
  copy->driver_unique_id = g_strdup (position->driver_unique_id);
  copy->attributes = NULL;
  copy->attributes_json = g_strdup (position->attributes_json);
  if (position->attributes != NULL)
    wb_position_merge_attributes (copy, position->attributes);
  return copy;
}

JsonObject *
wb_position_ensure_attributes (WbPosition *position)
{
  g_return_val_if_fail (position != NULL, NULL);

  if (position->attributes == NULL)
    position->attributes = position->attributes_json ? wb_position_dup_attributes (position) : json_object_new ();
  g_clear_pointer (&position->attributes_json, g_free);
  return position->attributes;
}

/**
 * wb_position_dup_attributes:
 *
 * Safe on a shared position: the JSON text is parsed into a new object,
 * the position stays as it is.
 *
 * Returns: (transfer full) (nullable): the attributes
 */
JsonObject *
wb_position_dup_attributes (const WbPosition *position)
{
  g_autoptr(JsonNode) root = NULL;

  g_return_val_if_fail (position != NULL, NULL);

  if (position->attributes != NULL)
    return json_object_ref (position->attributes);
  if (position->attributes_json == NULL)
    return NULL;
  root = wb_json_parse (position->attributes_json, strlen (position->attributes_json),
                        &_wb_telemetry_json_limits, NULL);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    g_return_val_if_reached (NULL);   /* a decoder wrote broken JSON */
  return json_object_ref (json_node_get_object (root));
}

void
wb_position_merge_attributes (WbPosition *position,
                              JsonObject *from)
{
  g_return_if_fail (position != NULL);
  g_return_if_fail (from != NULL);

  if (json_object_get_size (from) > 0)
    _wb_position_attributes_merge (wb_position_ensure_attributes (position), from);
}

WbPosition *
wb_position_ref (WbPosition *position)
{
  g_return_val_if_fail (position != NULL, NULL);

  return g_atomic_rc_box_acquire (position);
}

static void
position_clear (gpointer data)
{
  WbPosition *position = data;

  g_free (position->device_id);
  g_free (position->driver_unique_id);
  g_clear_pointer (&position->attributes, json_object_unref);
  g_free (position->attributes_json);
}

void
wb_position_unref (WbPosition *position)
{
  if (position == NULL)
    return;
  g_atomic_rc_box_release_full (position, position_clear);
}

/* ---- telemetry.raw ------------------------------------------------------- */

static void
write_name (GString    *out,
            const char *name)
{
  g_string_append_c (out, '"');
  g_string_append (out, name);
  g_string_append (out, "\":");
}

static void
write_number (GString    *out,
              const char *name,
              double      value)
{
  if (!isfinite (value))
    return;
  write_name (out, name);
  wb_json_write_double (out, value);
  g_string_append_c (out, ',');
}

static void
write_boolean (GString    *out,
               const char *name,
               int         value)
{
  if (value < 0)
    return;
  write_name (out, name);
  g_string_append (out, value ? "true," : "false,");
}

static void
write_string (GString    *out,
              const char *name,
              const char *value)
{
  if (value == NULL)
    return;
  write_name (out, name);
  wb_json_write_string (out, value);
  g_string_append_c (out, ',');
}

static void
write_time (GString    *out,
            const char *name,
            gint64      us)
{
  g_autofree char *text = NULL;

  if (us == 0)
    return;
  text = wb_time_format (us);
  write_string (out, name, text);
}

/**
 * wb_position_to_json:
 *
 * Returns: (transfer full): the telemetry.raw message body: snake_case
 *   members, times in RFC 3339 UTC with milliseconds, unknown values left
 *   out, "attributes" always present
 */
char *
wb_position_to_json (const WbPosition *position)
{
  g_autoptr(JsonNode) attributes = NULL;
  GString *out;

  g_return_val_if_fail (position != NULL, NULL);

  out = g_string_sized_new (320);
  g_string_append_c (out, '{');
  write_string (out, "device_id", position->device_id);
  write_string (out, "protocol", wb_protocol_to_string (position->protocol));
  write_time (out, "device_time", position->device_time);
  write_time (out, "server_time", position->server_time);
  write_number (out, "lat", position->lat);
  write_number (out, "lon", position->lon);
  write_number (out, "speed_kmh", position->speed_kmh);
  write_number (out, "heading", position->heading);
  write_number (out, "altitude", position->altitude);
  write_number (out, "accuracy", position->accuracy);
  write_number (out, "hdop", position->hdop);
  if (position->satellites >= 0)
    {
      write_name (out, "satellites");
      wb_json_write_int (out, position->satellites);
      g_string_append_c (out, ',');
    }
  write_boolean (out, "ignition", position->ignition);
  write_number (out, "fuel", position->fuel);
  write_number (out, "odometer", position->odometer);
  write_number (out, "battery", position->battery);
  write_boolean (out, "charging", position->charging);
  write_boolean (out, "moving", position->moving);
  write_string (out, "driver_unique_id", position->driver_unique_id);
  write_name (out, "attributes");
  if (position->attributes_json != NULL)
    g_string_append (out, position->attributes_json);
  else if (position->attributes == NULL)
    g_string_append (out, "{}");
  else
    {
      attributes = json_node_init_object (json_node_alloc (), position->attributes);
      wb_json_write_node (out, attributes);
    }
  g_string_append_c (out, '}');
  return g_string_free (out, FALSE);
}

static gboolean
read_time (WbJsonReader  *object,
           const char    *member,
           gint64        *out_us,
           GError       **error)
{
  const char *text = NULL;

  if (!wb_json_reader_peek_string (object, member, FALSE, 0, &text, error))
    return FALSE;
  return text == NULL || _wb_telemetry_parse_time (text, member, out_us, error);
}

static gboolean
read_satellites (WbJsonReader  *object,
                 int           *out,
                 GError       **error)
{
  double value = NAN;

  if (!_wb_telemetry_read_number (object, "satellites", &value, error))
    return FALSE;
  if (isnan (value))
    return TRUE;
  if (value != floor (value) || value < 0 || value > 255)
    return wb_json_reader_fail (object, "satellites", error, "must be a whole number from 0 to 255");
  *out = (int) value;
  return TRUE;
}

static gboolean
read_protocol (WbJsonReader  *object,
               WbProtocol    *out,
               GError       **error)
{
  const char *text = NULL;

  if (!wb_json_reader_peek_string (object, "protocol", FALSE, 0, &text, error))
    return FALSE;
  if (text == NULL || !wb_protocol_from_string (text, out))
    return wb_json_reader_fail (object, "protocol", error, "must be \"json\", \"osmand\" or \"teltonika\"");
  return TRUE;
}

static gboolean
read_driver (WbJsonReader  *object,
             char         **out,
             GError       **error)
{
  const char *driver = NULL;

  if (!wb_json_reader_peek_string (object, "driver_unique_id", FALSE, 0, &driver, error))
    return FALSE;
  *out = g_strdup (driver);
  return TRUE;
}

static gboolean
read_attributes (WbJsonReader  *object,
                 WbPosition    *p,
                 GError       **error)
{
  g_autoptr(WbJsonReader) attributes = NULL;

  if (!_wb_telemetry_read_object (object, "attributes", &attributes, error))
    return FALSE;
  if (attributes != NULL)
    wb_position_merge_attributes (p, wb_json_reader_get_object (attributes));
  return TRUE;
}

static gboolean
read_members (WbJsonReader  *object,
              WbPosition    *p,
              GError       **error)
{
  return read_protocol (object, &p->protocol, error)
         && _wb_device_id_read (object, "device_id", &p->device_id, error)
         && read_time (object, "device_time", &p->device_time, error)
         && read_time (object, "server_time", &p->server_time, error)
         && _wb_telemetry_read_number (object, "lat", &p->lat, error)
         && _wb_telemetry_read_number (object, "lon", &p->lon, error)
         && _wb_telemetry_read_number (object, "speed_kmh", &p->speed_kmh, error)
         && _wb_telemetry_read_number (object, "heading", &p->heading, error)
         && _wb_telemetry_read_number (object, "altitude", &p->altitude, error)
         && _wb_telemetry_read_number (object, "accuracy", &p->accuracy, error)
         && _wb_telemetry_read_number (object, "hdop", &p->hdop, error)
         && read_satellites (object, &p->satellites, error)
         && _wb_telemetry_read_boolean (object, "ignition", &p->ignition, error)
         && _wb_telemetry_read_number (object, "fuel", &p->fuel, error)
         && _wb_telemetry_read_number (object, "odometer", &p->odometer, error)
         && _wb_telemetry_read_number (object, "battery", &p->battery, error)
         && _wb_telemetry_read_boolean (object, "charging", &p->charging, error)
         && _wb_telemetry_read_boolean (object, "moving", &p->moving, error)
         && read_driver (object, &p->driver_unique_id, error)
         && read_attributes (object, p, error);
}

/**
 * wb_position_from_json:
 * @json: a telemetry.raw message body
 *
 * The inverse of wb_position_to_json(): only "protocol" is required, since
 * unknown values are left out; members it does not know are ignored, so an
 * older consumer reads a newer producer's messages.
 *
 * Returns: (transfer full): the position, or %NULL with a %WB_JSON_ERROR
 *   (%WB_JSON_ERROR_FIELD naming the member, wb_json_error_get_field())
 */
WbPosition *
wb_position_from_json (const char  *json,
                       GError     **error)
{
  g_autoptr(WbJsonReader) reader = NULL;
  g_autoptr(WbPosition) position = NULL;

  g_return_val_if_fail (json != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  reader = _wb_telemetry_reader_new (json, strlen (json), error);
  if (reader == NULL)
    return NULL;
  position = wb_position_new ();
  if (!read_members (reader, position, error))
    return NULL;
  return g_steal_pointer (&position);
}

static gboolean
same_number (double a,
             double b)
{
  return a == b || (isnan (a) && isnan (b));
}

/* No attributes and an empty object are the same; so are an object and
 * its JSON text. */
static gboolean
same_attributes (const WbPosition *position_a,
                 const WbPosition *position_b)
{
  g_autoptr(JsonObject) a = wb_position_dup_attributes (position_a);
  g_autoptr(JsonObject) b = wb_position_dup_attributes (position_b);
  g_autoptr(JsonNode) node_a = NULL;
  g_autoptr(JsonNode) node_b = NULL;

  if (a == NULL || b == NULL)
    return (a ? json_object_get_size (a) : 0) == (b ? json_object_get_size (b) : 0);
  node_a = json_node_init_object (json_node_alloc (), a);
  node_b = json_node_init_object (json_node_alloc (), b);
  return json_node_equal (node_a, node_b);
}

/* Every field but the attributes, numbers compared with @same: equality
 * here, bit for bit in the decoders' differential check. */
gboolean
_wb_position_fields_equal (const WbPosition  *a,
                           const WbPosition  *b,
                           WbSameNumberFunc   same)
{
  return g_strcmp0 (a->device_id, b->device_id) == 0
         && a->protocol == b->protocol
         && a->device_time == b->device_time
         && a->server_time == b->server_time
         && same (a->lat, b->lat)
         && same (a->lon, b->lon)
         && same (a->speed_kmh, b->speed_kmh)
         && same (a->heading, b->heading)
         && same (a->altitude, b->altitude)
         && same (a->accuracy, b->accuracy)
         && same (a->hdop, b->hdop)
         && a->satellites == b->satellites
         && a->ignition == b->ignition
         && same (a->fuel, b->fuel)
         && same (a->odometer, b->odometer)
         && same (a->battery, b->battery)
         && a->charging == b->charging
         && a->moving == b->moving
         && g_strcmp0 (a->driver_unique_id, b->driver_unique_id) == 0;
}

gboolean
wb_position_equal (const WbPosition *a,
                   const WbPosition *b)
{
  g_return_val_if_fail (a != NULL && b != NULL, FALSE);

  return _wb_position_fields_equal (a, b, same_number) && same_attributes (a, b);
}
