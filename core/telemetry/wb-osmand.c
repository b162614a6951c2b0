// SPDX-License-Identifier: GPL-3.0-or-later
/* The OsmAnd protocol as Traccar documents it (traccar.org/osmand): a query
 * string or form with one position, or, from Traccar Client 9 on, the JSON
 * of its background-location SDK. The query form's speed is in knots, the
 * JSON form's in metres per second; both leave Waybill in km/h. */

#include "config.h"

#include <math.h>
#include <string.h>

#include "wb-osmand.h"
#include "wb-telemetry-private.h"

/* Values are echoed in error messages; a long one is cut there. */
#define ECHO_MAX 48

typedef gboolean (*KeyReader) (WbPosition  *position,
                               const char  *key,
                               const char  *value,
                               GError     **error);

static char *
echo (const char *value)
{
  g_autofree char *head = NULL;

  if (g_utf8_strlen (value, -1) <= ECHO_MAX)
    return g_strdup (value);
  head = g_utf8_substring (value, 0, ECHO_MAX);
  return g_strconcat (head, "…", NULL);
}

static gboolean
invalid (GError     **error,
         const char  *key,
         const char  *value,
         const char  *what)
{
  g_autofree char *shown = echo (value);

  wb_json_set_field_error (error, key, "“%s” is not %s", shown, what);
  return FALSE;
}

/* Plain decimal notation only: strtod would also take "inf", "nan" and hex. */
static gboolean
parse_decimal (const char *text,
               double     *out)
{
  char *end = NULL;
  double value;

  if (*text == '\0' || strspn (text, "0123456789+-.eE") != strlen (text))
    return FALSE;
  value = g_ascii_strtod (text, &end);
  if (end == text || *end != '\0' || !isfinite (value))
    return FALSE;
  *out = value;
  return TRUE;
}

static gboolean
read_number (const char  *key,
             const char  *value,
             double      *out,
             GError     **error)
{
  return parse_decimal (value, out) || invalid (error, key, value, "a number");
}

/* Speed, bearing and accuracy: Android reports "none" as a negative value. */
static gboolean
read_known_positive (const char  *key,
                     const char  *value,
                     double       scale,
                     double      *out,
                     GError     **error)
{
  double number;

  if (!read_number (key, value, &number, error))
    return FALSE;
  *out = number < 0 ? NAN : number * scale;
  return TRUE;
}

static gboolean
read_device (WbPosition  *p,
             const char  *key,
             const char  *value,
             GError     **error)
{
  if (!_wb_device_id_check (value, key, error))
    return FALSE;
  g_free (p->device_id);
  p->device_id = g_strdup (value);
  return TRUE;
}

/* Form encoding and "+" meet badly in times: a sender that did not escape
 * "+02:00" has it decoded as " 02:00", and a listener that does not decode
 * "+" as a space hands over "2019-06-10+10:04:46". Both are repaired. */
static char *
repair_form_time (const char *value)
{
  const char *t = strchr (value, 'T');
  const char *space = t ? strchr (t, ' ') : NULL;
  char *fixed;

  if (strlen (value) > 10 && value[10] == '+')
    {
      fixed = g_strdup (value);
      fixed[10] = ' ';
      return fixed;
    }
  if (space == NULL)
    return NULL;
  fixed = g_strdup (value);
  fixed[space - value] = '+';
  return fixed;
}

static gboolean
read_timestamp (WbPosition  *p,
                const char  *key,
                const char  *value,
                GError     **error)
{
  g_autofree char *fixed = NULL;

  if (_wb_telemetry_parse_time (value, key, &p->device_time, NULL))
    return TRUE;
  fixed = repair_form_time (value);
  if (fixed != NULL && _wb_telemetry_parse_time (fixed, key, &p->device_time, NULL))
    return TRUE;
  return _wb_telemetry_parse_time (value, key, &p->device_time, error);
}

static gboolean
read_lat (WbPosition  *p,
          const char  *key,
          const char  *value,
          GError     **error)
{
  return read_number (key, value, &p->lat, error);
}

static gboolean
read_lon (WbPosition  *p,
          const char  *key,
          const char  *value,
          GError     **error)
{
  return read_number (key, value, &p->lon, error);
}

static gboolean
read_location (WbPosition  *p,
               const char  *key,
               const char  *value,
               GError     **error)
{
  g_auto(GStrv) parts = g_strsplit (value, ",", 3);

  if (g_strv_length (parts) != 2 || !parse_decimal (parts[0], &p->lat) || !parse_decimal (parts[1], &p->lon))
    return invalid (error, key, value, "“latitude,longitude”");
  return TRUE;
}

static gboolean
read_speed (WbPosition  *p,
            const char  *key,
            const char  *value,
            GError     **error)
{
  return read_known_positive (key, value, WB_OSMAND_KMH_PER_KNOT, &p->speed_kmh, error);
}

static gboolean
read_heading (WbPosition  *p,
              const char  *key,
              const char  *value,
              GError     **error)
{
  return read_known_positive (key, value, 1, &p->heading, error);
}

static gboolean
read_altitude (WbPosition  *p,
               const char  *key,
               const char  *value,
               GError     **error)
{
  return read_number (key, value, &p->altitude, error);
}

static gboolean
read_accuracy (WbPosition  *p,
               const char  *key,
               const char  *value,
               GError     **error)
{
  return read_known_positive (key, value, 1, &p->accuracy, error);
}

static gboolean
read_hdop (WbPosition  *p,
           const char  *key,
           const char  *value,
           GError     **error)
{
  return read_known_positive (key, value, 1, &p->hdop, error);
}

static gboolean
read_battery (WbPosition  *p,
              const char  *key,
              const char  *value,
              GError     **error)
{
  return read_known_positive (key, value, 1, &p->battery, error);
}

static gboolean
read_charge (WbPosition  *p,
             const char  *key,
             const char  *value,
             GError     **error)
{
  if (g_str_equal (value, "true") || g_str_equal (value, "1"))
    p->charging = 1;
  else if (g_str_equal (value, "false") || g_str_equal (value, "0"))
    p->charging = 0;
  else
    return invalid (error, key, value, "true, false, 1 or 0");
  return TRUE;
}

static gboolean
read_driver (WbPosition  *p,
             const char  *key,
             const char  *value,
             GError     **error)
{
  g_free (p->driver_unique_id);
  p->driver_unique_id = g_strdup (value);
  return TRUE;
}

/* Where a key has an alias, or two ways to say the same thing, the first
 * named wins whatever order the table hands them out in. */
static const struct
{
  const char *key;
  KeyReader   read;
  const char *overridden_by[3];
} query_keys[] = {
  { "id", read_device, { NULL } },
  { "deviceid", read_device, { "id", NULL } },
  { "timestamp", read_timestamp, { NULL } },
  { "lat", read_lat, { NULL } },
  { "lon", read_lon, { NULL } },
  { "location", read_location, { "lat", "lon", NULL } },
  { "speed", read_speed, { NULL } },
  { "bearing", read_heading, { NULL } },
  { "heading", read_heading, { "bearing", NULL } },
  { "altitude", read_altitude, { NULL } },
  { "accuracy", read_accuracy, { NULL } },
  { "hdop", read_hdop, { NULL } },
  { "batt", read_battery, { NULL } },
  { "charge", read_charge, { NULL } },
  { "driverUniqueId", read_driver, { NULL } },
};

static gboolean
has_value (GHashTable *params,
           const char *key)
{
  const char *value = g_hash_table_lookup (params, key);

  return value != NULL && *value != '\0';
}

static gboolean
read_query_key (WbPosition  *p,
                GHashTable  *params,
                const char  *key,
                const char  *value,
                GError     **error)
{
  for (guint i = 0; i < G_N_ELEMENTS (query_keys); i++)
    {
      if (!g_str_equal (key, query_keys[i].key))
        continue;
      for (guint j = 0; query_keys[i].overridden_by[j] != NULL; j++)
        if (has_value (params, query_keys[i].overridden_by[j]))
          return TRUE;
      return query_keys[i].read (p, key, value, error);
    }
  json_object_set_string_member (wb_position_ensure_attributes (p), key, value);
  return TRUE;
}

WbPosition *
wb_osmand_decode_query (GHashTable  *params,
                        GError     **error)
{
  g_autoptr(WbPosition) p = NULL;
  GHashTableIter iter;
  gpointer key, value;

  g_return_val_if_fail (params != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  p = wb_position_new ();
  p->protocol = WB_PROTOCOL_OSMAND;
  g_hash_table_iter_init (&iter, params);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      if (!g_utf8_validate (key, -1, NULL) || (value != NULL && !g_utf8_validate (value, -1, NULL)))
        {
          g_set_error_literal (error, WB_TELEMETRY_ERROR, WB_TELEMETRY_ERROR_MALFORMED,
                               "A parameter name or value is not UTF-8 text");
          return NULL;
        }
      if (value == NULL || *(char *) value == '\0')
        continue;
      if (!read_query_key (p, params, key, value, error))
        return NULL;
    }
  return g_steal_pointer (&p);
}

/* ---- the JSON variant ----------------------------------------------------- */

/* A number where negative means unknown (the SDK writes -1). */
static gboolean
read_json_known_positive (WbJsonReader  *object,
                          const char    *member,
                          double         scale,
                          double        *out,
                          GError       **error)
{
  double value = NAN;

  if (!_wb_telemetry_read_number (object, member, &value, error))
    return FALSE;
  if (!isnan (value) && value >= 0)
    *out = value * scale;
  return TRUE;
}

static gboolean
read_coords (WbJsonReader  *location,
             WbPosition    *p,
             GError       **error)
{
  g_autoptr(WbJsonReader) coords = NULL;

  if (!_wb_telemetry_read_object (location, "coords", &coords, error))
    return FALSE;
  if (coords == NULL)
    return TRUE;
  return _wb_telemetry_read_number (coords, "latitude", &p->lat, error)
         && _wb_telemetry_read_number (coords, "longitude", &p->lon, error)
         && read_json_known_positive (coords, "speed", WB_OSMAND_KMH_PER_MPS, &p->speed_kmh, error)
         && read_json_known_positive (coords, "heading", 1, &p->heading, error)
         && read_json_known_positive (coords, "accuracy", 1, &p->accuracy, error)
         && _wb_telemetry_read_number (coords, "altitude", &p->altitude, error);
}

static gboolean
read_json_battery (WbJsonReader  *location,
                   WbPosition    *p,
                   GError       **error)
{
  g_autoptr(WbJsonReader) battery = NULL;
  double level = NAN;

  if (!_wb_telemetry_read_object (location, "battery", &battery, error))
    return FALSE;
  if (battery == NULL)
    return TRUE;
  if (!_wb_telemetry_read_number (battery, "level", &level, error)
      || !_wb_telemetry_read_boolean (battery, "is_charging", &p->charging, error))
    return FALSE;
  if (level > 1)
    return wb_json_reader_fail (battery, "level", error, "must be from 0 to 1");
  if (level >= 0)
    p->battery = level * 100;
  return TRUE;
}

/* event, activity.type and extras, as attributes. */
static gboolean
read_json_attributes (WbJsonReader  *location,
                      WbPosition    *p,
                      GError       **error)
{
  const char *event = NULL, *activity_type = NULL;
  g_autoptr(WbJsonReader) activity = NULL;
  g_autoptr(WbJsonReader) extras = NULL;

  if (!wb_json_reader_peek_string (location, "event", FALSE, 0, &event, error)
      || !_wb_telemetry_read_object (location, "activity", &activity, error)
      || (activity != NULL && !wb_json_reader_peek_string (activity, "type", FALSE, 0, &activity_type, error))
      || !_wb_telemetry_read_object (location, "extras", &extras, error))
    return FALSE;
  if (event != NULL)
    json_object_set_string_member (wb_position_ensure_attributes (p), "event", event);
  if (activity_type != NULL)
    json_object_set_string_member (wb_position_ensure_attributes (p), "activity", activity_type);
  if (extras != NULL)
    wb_position_merge_attributes (p, wb_json_reader_get_object (extras));
  return TRUE;
}

static gboolean
read_json_timestamp (WbJsonReader  *location,
                     WbPosition    *p,
                     GError       **error)
{
  g_autofree char *path = NULL;
  const char *timestamp = NULL;

  if (!wb_json_reader_peek_string (location, "timestamp", FALSE, 0, &timestamp, error))
    return FALSE;
  if (timestamp == NULL)
    return TRUE;
  path = wb_json_reader_member_path (location, "timestamp");
  return _wb_telemetry_parse_time (timestamp, path, &p->device_time, error);
}

static gboolean
read_json_location (WbJsonReader  *location,
                    WbPosition    *p,
                    GError       **error)
{
  return read_json_timestamp (location, p, error)
         && read_coords (location, p, error)
         && _wb_telemetry_read_boolean (location, "is_moving", &p->moving, error)
         && _wb_telemetry_read_number (location, "odometer", &p->odometer, error)
         && read_json_battery (location, p, error)
         && read_json_attributes (location, p, error);
}

WbPosition *
wb_osmand_decode_json (const char  *body,
                       gsize        length,
                       GError     **error)
{
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(WbJsonReader) body_reader = NULL;
  g_autoptr(WbJsonReader) location = NULL;
  g_autoptr(WbPosition) p = NULL;

  g_return_val_if_fail (body != NULL || length == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  root = wb_json_parse (body ? body : "", length, &_wb_telemetry_json_limits, error);
  if (root == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error_literal (error, WB_TELEMETRY_ERROR, WB_TELEMETRY_ERROR_MALFORMED,
                           "The body must be a JSON object with device_id and location");
      return NULL;
    }
  body_reader = _wb_telemetry_reader_for_node (root, "", error);
  p = wb_position_new ();
  p->protocol = WB_PROTOCOL_OSMAND;
  if (!_wb_device_id_read (body_reader, "device_id", &p->device_id, error))
    return NULL;
  location = wb_json_reader_get_object_member (body_reader, "location", TRUE, error);
  if (location == NULL || !read_json_location (location, p, error))
    return NULL;
  return g_steal_pointer (&p);
}
