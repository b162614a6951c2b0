// SPDX-License-Identifier: GPL-3.0-or-later
/* POST /telemetry bodies. The decoder checks shape and types and names the
 * offending field; whether a position is plausible (coordinates in range,
 * not in the future, …) is validation's job, so that a batch with one bad
 * position still delivers the others, and the bad one is counted by reason. */

#include "config.h"

#include <math.h>

#include "wb-telemetry-fastjson.h"
#include "wb-telemetry-json.h"
#include "wb-telemetry-private.h"

static const char * const known_members[] = {
  "deviceId", "timestamp", "lat", "lon", "speed", "heading", "altitude", "accuracy", "hdop",
  "satellites", "ignition", "fuel", "odometer", "battery", "charging", "moving", "driverUniqueId",
  "attributes", NULL,
};

static gboolean
read_timestamp (WbJsonReader  *o,
                gint64        *out_us,
                GError       **error)
{
  JsonNode *node = wb_json_reader_get_node (o, "timestamp");
  GType type;
  double ms;

  if (node == NULL)
    return TRUE;
  type = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node) : G_TYPE_INVALID;
  if (type == G_TYPE_STRING)
    {
      g_autofree char *path = wb_json_reader_member_path (o, "timestamp");

      return _wb_telemetry_parse_time (json_node_get_string (node), path, out_us, error);
    }
  if (type != G_TYPE_INT64 && type != G_TYPE_DOUBLE)
    return wb_json_reader_fail (o, "timestamp", error, "must be an RFC 3339 string or unix milliseconds");
  ms = type == G_TYPE_INT64 ? (double) json_node_get_int (node) : floor (json_node_get_double (node));
  if (!(ms >= 0 && ms <= WB_TELEMETRY_MAX_UNIX_MS))
    return wb_json_reader_fail (o, "timestamp", error, "unix milliseconds must be from 0 to %" G_GINT64_FORMAT,
                                WB_TELEMETRY_MAX_UNIX_MS);
  *out_us = (gint64) ms * 1000;
  return TRUE;
}

/* A number within [min, max]; NAN bounds are open. */
static gboolean
read_ranged (WbJsonReader  *o,
             const char    *member,
             double         min,
             double         max,
             double        *out,
             GError       **error)
{
  double value = NAN;

  if (!_wb_telemetry_read_number (o, member, &value, error))
    return FALSE;
  if (isnan (value))
    return TRUE;
  if ((!isnan (min) && value < min) || (!isnan (max) && value > max))
    {
      if (isnan (max))
        return wb_json_reader_fail (o, member, error, "must not be negative");
      return wb_json_reader_fail (o, member, error, "must be from %g to %g", min, max);
    }
  *out = value;
  return TRUE;
}

static gboolean
read_satellites (WbJsonReader  *o,
                 int           *out,
                 GError       **error)
{
  double value = NAN;

  if (!read_ranged (o, "satellites", 0, 255, &value, error))
    return FALSE;
  if (isnan (value))
    return TRUE;
  if (value != floor (value))
    return wb_json_reader_fail (o, "satellites", error, "must be a whole number");
  *out = (int) value;
  return TRUE;
}

static gboolean
read_driver (WbJsonReader  *o,
             char         **out,
             GError       **error)
{
  const char *driver = NULL;

  if (!wb_json_reader_peek_string (o, "driverUniqueId", FALSE, 0, &driver, error))
    return FALSE;
  if (driver != NULL && *driver != '\0')
    *out = g_strdup (driver);
  return TRUE;
}

/* Members we do not know first, then "attributes", which wins a clash. */
static gboolean
read_attributes (WbJsonReader  *o,
                 WbPosition    *into,
                 GError       **error)
{
  g_autoptr(WbJsonReader) attributes = NULL;
  JsonObjectIter iter;
  const char *name;
  JsonNode *member;

  json_object_iter_init_ordered (&iter, wb_json_reader_get_object (o));
  while (json_object_iter_next_ordered (&iter, &name, &member))
    if (!g_strv_contains (known_members, name))
      json_object_set_member (wb_position_ensure_attributes (into), name,
                              _wb_position_attributes_copy_node (member));
  if (!_wb_telemetry_read_object (o, "attributes", &attributes, error))
    return FALSE;
  if (attributes != NULL)
    wb_position_merge_attributes (into, wb_json_reader_get_object (attributes));
  return TRUE;
}

static WbPosition *
decode_position (JsonNode    *node,
                 const char  *path,
                 GError     **error)
{
  g_autoptr(WbPosition) p = wb_position_new ();
  g_autoptr(WbJsonReader) o = NULL;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      wb_json_set_field_error (error, path, "a position must be a JSON object");
      return NULL;
    }
  o = _wb_telemetry_reader_for_node (node, path, error);
  if (!_wb_device_id_read (o, "deviceId", &p->device_id, error)
      || !read_timestamp (o, &p->device_time, error)
      || !_wb_telemetry_read_number (o, "lat", &p->lat, error)
      || !_wb_telemetry_read_number (o, "lon", &p->lon, error)
      || !read_ranged (o, "speed", 0, NAN, &p->speed_kmh, error)
      || !read_ranged (o, "heading", 0, 360, &p->heading, error)
      || !_wb_telemetry_read_number (o, "altitude", &p->altitude, error)
      || !read_ranged (o, "accuracy", 0, NAN, &p->accuracy, error)
      || !read_ranged (o, "hdop", 0, NAN, &p->hdop, error)
      || !read_satellites (o, &p->satellites, error)
      || !_wb_telemetry_read_boolean (o, "ignition", &p->ignition, error)
      || !read_ranged (o, "fuel", 0, NAN, &p->fuel, error)
      || !read_ranged (o, "odometer", 0, NAN, &p->odometer, error)
      || !read_ranged (o, "battery", 0, 100, &p->battery, error)
      || !_wb_telemetry_read_boolean (o, "charging", &p->charging, error)
      || !_wb_telemetry_read_boolean (o, "moving", &p->moving, error)
      || !read_driver (o, &p->driver_unique_id, error)
      || !read_attributes (o, p, error))
    return NULL;
  p->protocol = WB_PROTOCOL_JSON;
  return g_steal_pointer (&p);
}

static GPtrArray *
decode_batch (JsonArray  *array,
              GError    **error)
{
  guint length = json_array_get_length (array);
  g_autoptr(GPtrArray) positions = NULL;

  if (length == 0)
    {
      g_set_error_literal (error, WB_TELEMETRY_ERROR, WB_TELEMETRY_ERROR_MALFORMED, "The batch is empty");
      return NULL;
    }
  if (length > WB_TELEMETRY_JSON_MAX_BATCH)
    {
      g_set_error (error, WB_TELEMETRY_ERROR, WB_TELEMETRY_ERROR_TOO_LARGE,
                   "A batch holds at most %d positions, this one has %u", WB_TELEMETRY_JSON_MAX_BATCH, length);
      return NULL;
    }
  positions = g_ptr_array_new_full (length, (GDestroyNotify) wb_position_unref);
  for (guint i = 0; i < length; i++)
    {
      g_autofree char *path = g_strdup_printf ("[%u]", i);
      WbPosition *position = decode_position (json_array_get_element (array, i), path, error);

      if (position == NULL)
        return NULL;
      g_ptr_array_add (positions, position);
    }
  return g_steal_pointer (&positions);
}

/* The definition of what a body means: the guarded parse, then the readers
 * above. The fast path must agree with it on every input (tests/telemetry.c
 * and tests/fuzz/fuzz-telemetry-json-diff.c hold it to that). */
GPtrArray *
_wb_telemetry_json_decode_reference (const char  *body,
                                     gsize        length,
                                     GError     **error)
{
  g_autoptr(JsonNode) root = NULL;
  GPtrArray *positions;
  WbPosition *position;

  g_return_val_if_fail (body != NULL || length == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  root = wb_json_parse (body ? body : "", length, &_wb_telemetry_json_limits, error);
  if (root == NULL)
    return NULL;
  if (JSON_NODE_HOLDS_ARRAY (root))
    return decode_batch (json_node_get_array (root), error);
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error_literal (error, WB_TELEMETRY_ERROR, WB_TELEMETRY_ERROR_MALFORMED,
                           "The body must be a position object or an array of them");
      return NULL;
    }
  position = decode_position (root, "", error);
  if (position == NULL)
    return NULL;
  positions = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_position_unref);
  g_ptr_array_add (positions, position);
  return positions;
}

GPtrArray *
wb_telemetry_json_decode (const char  *body,
                          gsize        length,
                          GError     **error)
{
  GPtrArray *positions;

  g_return_val_if_fail (body != NULL || length == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* What trackers send takes the fast path; whatever it is not certain
   * of, every refusal included, the reference decides and words. */
  positions = _wb_telemetry_fastjson_decode (body, length);
  if (positions != NULL)
    return positions;
  return _wb_telemetry_json_decode_reference (body, length, error);
}
