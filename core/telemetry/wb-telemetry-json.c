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
read_timestamp (JsonObject  *object,
                const char  *prefix,
                gint64      *out_us,
                GError     **error)
{
  JsonNode *node = json_object_get_member (object, "timestamp");
  g_autofree char *path = _wb_telemetry_path (prefix, "timestamp");
  GType type;
  double ms;

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  type = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node) : G_TYPE_INVALID;
  if (type == G_TYPE_STRING)
    return _wb_telemetry_parse_time (json_node_get_string (node), path, out_us, error);
  if (type != G_TYPE_INT64 && type != G_TYPE_DOUBLE)
    {
      _wb_telemetry_field_error (error, prefix, "timestamp", "must be an RFC 3339 string or unix milliseconds");
      return FALSE;
    }
  ms = type == G_TYPE_INT64 ? (double) json_node_get_int (node) : floor (json_node_get_double (node));
  if (!(ms >= 0 && ms <= WB_TELEMETRY_MAX_UNIX_MS))
    {
      _wb_telemetry_field_error (error, prefix, "timestamp",
                                 "unix milliseconds must be from 0 to %" G_GINT64_FORMAT, WB_TELEMETRY_MAX_UNIX_MS);
      return FALSE;
    }
  *out_us = (gint64) ms * 1000;
  return TRUE;
}

/* A number within [min, max]; NAN bounds are open. */
static gboolean
read_ranged (JsonObject  *object,
             const char  *prefix,
             const char  *member,
             double       min,
             double       max,
             double      *out,
             GError     **error)
{
  double value = NAN;

  if (!_wb_telemetry_get_number (object, prefix, member, &value, error))
    return FALSE;
  if (isnan (value))
    return TRUE;
  if ((!isnan (min) && value < min) || (!isnan (max) && value > max))
    {
      if (isnan (max))
        _wb_telemetry_field_error (error, prefix, member, "must not be negative");
      else
        _wb_telemetry_field_error (error, prefix, member, "must be from %g to %g", min, max);
      return FALSE;
    }
  *out = value;
  return TRUE;
}

static gboolean
read_satellites (JsonObject  *object,
                 const char  *prefix,
                 int         *out,
                 GError     **error)
{
  double value = NAN;

  if (!read_ranged (object, prefix, "satellites", 0, 255, &value, error))
    return FALSE;
  if (isnan (value))
    return TRUE;
  if (value != floor (value))
    {
      _wb_telemetry_field_error (error, prefix, "satellites", "must be a whole number");
      return FALSE;
    }
  *out = (int) value;
  return TRUE;
}

static gboolean
read_driver (JsonObject  *object,
             const char  *prefix,
             char       **out,
             GError     **error)
{
  const char *driver = NULL;

  if (!_wb_telemetry_get_string (object, prefix, "driverUniqueId", &driver, error))
    return FALSE;
  if (driver != NULL && *driver != '\0')
    *out = g_strdup (driver);
  return TRUE;
}

/* Members we do not know first, then "attributes", which wins a clash. */
static gboolean
read_attributes (JsonObject  *object,
                 const char  *prefix,
                 WbPosition  *into,
                 GError     **error)
{
  JsonObject *attributes = NULL;
  JsonObjectIter iter;
  const char *name;
  JsonNode *member;

  json_object_iter_init_ordered (&iter, object);
  while (json_object_iter_next_ordered (&iter, &name, &member))
    if (!g_strv_contains (known_members, name))
      json_object_set_member (wb_position_ensure_attributes (into), name, _wb_telemetry_node_copy (member));
  if (!_wb_telemetry_get_object (object, prefix, "attributes", &attributes, error))
    return FALSE;
  if (attributes != NULL)
    wb_position_merge_attributes (into, attributes);
  return TRUE;
}

static WbPosition *
decode_position (JsonNode    *node,
                 const char  *prefix,
                 GError     **error)
{
  g_autoptr(WbPosition) p = wb_position_new ();
  JsonObject *o;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, WB_TELEMETRY_ERROR, WB_TELEMETRY_ERROR_INVALID_FIELD,
                   "%s: a position must be a JSON object", *prefix ? prefix : "body");
      return NULL;
    }
  o = json_node_get_object (node);
  if (!_wb_telemetry_get_device_id (o, prefix, "deviceId", &p->device_id, error)
      || !read_timestamp (o, prefix, &p->device_time, error)
      || !_wb_telemetry_get_number (o, prefix, "lat", &p->lat, error)
      || !_wb_telemetry_get_number (o, prefix, "lon", &p->lon, error)
      || !read_ranged (o, prefix, "speed", 0, NAN, &p->speed_kmh, error)
      || !read_ranged (o, prefix, "heading", 0, 360, &p->heading, error)
      || !_wb_telemetry_get_number (o, prefix, "altitude", &p->altitude, error)
      || !read_ranged (o, prefix, "accuracy", 0, NAN, &p->accuracy, error)
      || !read_ranged (o, prefix, "hdop", 0, NAN, &p->hdop, error)
      || !read_satellites (o, prefix, &p->satellites, error)
      || !_wb_telemetry_get_boolean (o, prefix, "ignition", &p->ignition, error)
      || !read_ranged (o, prefix, "fuel", 0, NAN, &p->fuel, error)
      || !read_ranged (o, prefix, "odometer", 0, NAN, &p->odometer, error)
      || !read_ranged (o, prefix, "battery", 0, 100, &p->battery, error)
      || !_wb_telemetry_get_boolean (o, prefix, "charging", &p->charging, error)
      || !_wb_telemetry_get_boolean (o, prefix, "moving", &p->moving, error)
      || !read_driver (o, prefix, &p->driver_unique_id, error)
      || !read_attributes (o, prefix, p, error))
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
      g_autofree char *prefix = g_strdup_printf ("[%u]", i);
      WbPosition *position = decode_position (json_array_get_element (array, i), prefix, error);

      if (position == NULL)
        return NULL;
      g_ptr_array_add (positions, position);
    }
  return g_steal_pointer (&positions);
}

/* The definition of what a body means: json-glib, then the readers above.
 * The fast path must agree with it on every input (tests/telemetry.c and
 * tests/fuzz/fuzz-telemetry-json-diff.c hold it to that). */
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

  root = _wb_telemetry_parse_json (body, length, error);
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
