// SPDX-License-Identifier: GPL-3.0-or-later
/* What the JSON-speaking decoders share: a guarded parse, member readers
 * that name the field in their errors, time parsing to the millisecond, and
 * a JSON writer for telemetry.raw. */

#include "config.h"

#include <math.h>
#include <string.h>

#include "wb-time.h"
#include "wb-telemetry-private.h"

/* json-glib's scanner also takes 'single-quoted' strings and comments; a
 * bracket hidden from our count inside one of those could still nest, so
 * strict JSON is required outside strings before the depth is trusted. */
static gboolean
check_structure (const char  *body,
                 gsize        length,
                 GError     **error)
{
  gboolean in_string = FALSE, escaped = FALSE;
  int depth = 0;

  for (gsize i = 0; i < length; i++)
    {
      char c = body[i];

      if (in_string)
        {
          if (escaped)
            escaped = FALSE;
          else if (c == '\\')
            escaped = TRUE;
          else if (c == '"')
            in_string = FALSE;
          continue;
        }
      if (c == '"')
        in_string = TRUE;
      else if (c == '[' || c == '{')
        depth++;
      else if (c == ']' || c == '}')
        depth--;
      else if (c == '\'' || c == '/' || c == '#')
        {
          g_set_error (error, WB_TELEMETRY_ERROR, WB_TELEMETRY_ERROR_MALFORMED,
                       "The body is not JSON: unexpected “%c” at byte %" G_GSIZE_FORMAT, c, i + 1);
          return FALSE;
        }
      if (depth > WB_TELEMETRY_MAX_DEPTH)
        {
          g_set_error (error, WB_TELEMETRY_ERROR, WB_TELEMETRY_ERROR_TOO_LARGE,
                       "The body nests deeper than %d levels", WB_TELEMETRY_MAX_DEPTH);
          return FALSE;
        }
    }
  return TRUE;
}

JsonNode *
_wb_telemetry_parse_json (const char  *body,
                          gsize        length,
                          GError     **error)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) local_error = NULL;
  JsonNode *root;

  if (length > WB_TELEMETRY_MAX_BODY)
    {
      g_set_error (error, WB_TELEMETRY_ERROR, WB_TELEMETRY_ERROR_TOO_LARGE,
                   "The body is larger than %d bytes", WB_TELEMETRY_MAX_BODY);
      return NULL;
    }
  if (length == 0 || !g_utf8_validate_len (body, length, NULL))
    {
      g_set_error (error, WB_TELEMETRY_ERROR, WB_TELEMETRY_ERROR_MALFORMED,
                   length == 0 ? "The body is empty" : "The body is not valid UTF-8 text");
      return NULL;
    }
  if (!check_structure (body, length, error))
    return NULL;

  parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, body, length, &local_error))
    {
      g_set_error (error, WB_TELEMETRY_ERROR, WB_TELEMETRY_ERROR_MALFORMED,
                   "The body is not JSON: %s", local_error->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL)
    {
      g_set_error_literal (error, WB_TELEMETRY_ERROR, WB_TELEMETRY_ERROR_MALFORMED, "The body is empty");
      return NULL;
    }
  return json_node_ref (root);
}

char *
_wb_telemetry_path (const char *prefix,
                    const char *member)
{
  if (prefix == NULL || *prefix == '\0')
    return g_strdup (member);
  return g_strconcat (prefix, ".", member, NULL);
}

void
_wb_telemetry_field_error (GError     **error,
                           const char  *prefix,
                           const char  *member,
                           const char  *format,
                           ...)
{
  g_autofree char *path = _wb_telemetry_path (prefix, member);
  g_autofree char *why = NULL;
  va_list args;

  va_start (args, format);
  why = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, WB_TELEMETRY_ERROR, WB_TELEMETRY_ERROR_INVALID_FIELD, "%s: %s", path, why);
}

/* The member, or NULL when it is absent or null. */
static JsonNode *
get_member (JsonObject *object,
            const char *member)
{
  JsonNode *node = json_object_get_member (object, member);

  return node == NULL || JSON_NODE_HOLDS_NULL (node) ? NULL : node;
}

static GType
value_type (JsonNode *node)
{
  return JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node) : G_TYPE_INVALID;
}

gboolean
_wb_telemetry_get_number (JsonObject  *object,
                          const char  *prefix,
                          const char  *member,
                          double      *out,
                          GError     **error)
{
  JsonNode *node = get_member (object, member);
  double value;

  if (node == NULL)
    return TRUE;
  if (value_type (node) == G_TYPE_INT64)
    value = json_node_get_int (node);
  else if (value_type (node) == G_TYPE_DOUBLE)
    value = json_node_get_double (node);
  else
    {
      _wb_telemetry_field_error (error, prefix, member, "must be a number");
      return FALSE;
    }
  if (!isfinite (value))
    {
      _wb_telemetry_field_error (error, prefix, member, "must be a finite number");
      return FALSE;
    }
  *out = value;
  return TRUE;
}

gboolean
_wb_telemetry_get_boolean (JsonObject  *object,
                           const char  *prefix,
                           const char  *member,
                           int         *out,
                           GError     **error)
{
  JsonNode *node = get_member (object, member);

  if (node == NULL)
    return TRUE;
  if (value_type (node) != G_TYPE_BOOLEAN)
    {
      _wb_telemetry_field_error (error, prefix, member, "must be true or false");
      return FALSE;
    }
  *out = json_node_get_boolean (node) ? 1 : 0;
  return TRUE;
}

gboolean
_wb_telemetry_get_string (JsonObject   *object,
                          const char   *prefix,
                          const char   *member,
                          const char  **out,
                          GError      **error)
{
  JsonNode *node = get_member (object, member);

  if (node == NULL)
    return TRUE;
  if (value_type (node) != G_TYPE_STRING)
    {
      _wb_telemetry_field_error (error, prefix, member, "must be a string");
      return FALSE;
    }
  *out = json_node_get_string (node);
  return TRUE;
}

gboolean
_wb_telemetry_get_object (JsonObject   *object,
                          const char   *prefix,
                          const char   *member,
                          JsonObject  **out,
                          GError      **error)
{
  JsonNode *node = get_member (object, member);

  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      _wb_telemetry_field_error (error, prefix, member, "must be an object");
      return FALSE;
    }
  *out = json_node_get_object (node);
  return TRUE;
}

gboolean
_wb_telemetry_check_device_id (const char  *id,
                               const char  *field,
                               GError     **error)
{
  gsize length = strlen (id);

  if (length > WB_TELEMETRY_MAX_ID)
    {
      g_set_error (error, WB_TELEMETRY_ERROR, WB_TELEMETRY_ERROR_INVALID_FIELD,
                   "%s: a device id has at most %d bytes", field, WB_TELEMETRY_MAX_ID);
      return FALSE;
    }
  if (!g_utf8_validate_len (id, length, NULL))
    {
      g_set_error (error, WB_TELEMETRY_ERROR, WB_TELEMETRY_ERROR_INVALID_FIELD,
                   "%s: a device id must be UTF-8 text", field);
      return FALSE;
    }
  for (gsize i = 0; i < length; i++)
    if ((guchar) id[i] < 0x20 || id[i] == 0x7f)
      {
        g_set_error (error, WB_TELEMETRY_ERROR, WB_TELEMETRY_ERROR_INVALID_FIELD,
                     "%s: a device id has no control characters", field);
        return FALSE;
      }
  return TRUE;
}

gboolean
_wb_telemetry_get_device_id (JsonObject  *object,
                             const char  *prefix,
                             const char  *member,
                             char       **out,
                             GError     **error)
{
  JsonNode *node = get_member (object, member);
  g_autofree char *path = _wb_telemetry_path (prefix, member);
  g_autofree char *id = NULL;

  if (node == NULL)
    return TRUE;
  if (value_type (node) == G_TYPE_STRING)
    id = g_strdup (json_node_get_string (node));
  else if (value_type (node) == G_TYPE_INT64 && json_node_get_int (node) >= 0)
    id = g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
  else
    {
      _wb_telemetry_field_error (error, prefix, member, "must be a string");
      return FALSE;
    }
  if (!_wb_telemetry_check_device_id (id, path, error))
    return FALSE;
  if (*id != '\0')
    *out = g_steal_pointer (&id);
  return TRUE;
}

gint64
_wb_telemetry_truncate_to_ms (gint64 us)
{
  gint64 remainder = us % 1000;

  return remainder < 0 ? us - remainder - 1000 : us - remainder;
}

/* "1609459200.250": what some OsmAnd-style clients send. */
static gboolean
is_decimal_seconds (const char *text)
{
  gsize digits = strspn (text, "0123456789");

  return digits > 0 && digits <= 12 && text[digits] == '.' && text[digits + 1] != '\0'
         && strspn (text + digits + 1, "0123456789") == strlen (text + digits + 1);
}

gboolean
_wb_telemetry_parse_time (const char  *text,
                          const char  *field,
                          gint64      *out_us,
                          GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  gint64 us;

  if (is_decimal_seconds (text))
    {
      double ms = round (g_ascii_strtod (text, NULL) * 1000);

      if (ms > WB_TELEMETRY_MAX_UNIX_MS)
        {
          g_set_error (error, WB_TELEMETRY_ERROR, WB_TELEMETRY_ERROR_INVALID_FIELD,
                       "%s: “%s” is not between 1970 and 9999", field, text);
          return FALSE;
        }
      *out_us = (gint64) ms * 1000;
      return TRUE;
    }
  if (!wb_time_parse (text, NULL, &us, NULL, &local_error))
    {
      g_set_error (error, WB_TELEMETRY_ERROR, WB_TELEMETRY_ERROR_INVALID_FIELD, "%s: %s", field,
                   local_error->message);
      return FALSE;
    }
  /* Before 1970 no GPS fix exists, and beyond 9999 RFC 3339 cannot write it. */
  if (us < 0 || us / 1000 > WB_TELEMETRY_MAX_UNIX_MS)
    {
      g_set_error (error, WB_TELEMETRY_ERROR, WB_TELEMETRY_ERROR_INVALID_FIELD,
                   "%s: “%s” is not between 1970 and 9999", field, text);
      return FALSE;
    }
  *out_us = _wb_telemetry_truncate_to_ms (us);
  return TRUE;
}

JsonNode *
_wb_telemetry_node_copy (JsonNode *node)
{
  JsonNode *copy;

  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      copy = json_node_new (JSON_NODE_OBJECT);
      json_node_take_object (copy, json_object_new ());
      _wb_telemetry_merge_attributes (json_node_get_object (copy), json_node_get_object (node));
      return copy;

    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);
        guint length = json_array_get_length (array);
        JsonArray *copied = json_array_sized_new (length);

        for (guint i = 0; i < length; i++)
          json_array_add_element (copied, _wb_telemetry_node_copy (json_array_get_element (array, i)));
        copy = json_node_new (JSON_NODE_ARRAY);
        json_node_take_array (copy, copied);
        return copy;
      }

    case JSON_NODE_VALUE:
    case JSON_NODE_NULL:
    default:
      return json_node_copy (node);
    }
}

void
_wb_telemetry_merge_attributes (JsonObject *into,
                                JsonObject *from)
{
  JsonObjectIter iter;
  const char *name;
  JsonNode *member;

  json_object_iter_init_ordered (&iter, from);
  while (json_object_iter_next_ordered (&iter, &name, &member))
    json_object_set_member (into, name, _wb_telemetry_node_copy (member));
}

