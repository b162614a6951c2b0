// SPDX-License-Identifier: GPL-3.0-or-later
/* Device ids as every protocol gives them: they key Kafka partitions, log
 * lines and the devices table, so they are bounded and printable. */

#include "config.h"

#include <string.h>

#include "wb-telemetry-private.h"

gboolean
_wb_device_id_check (const char  *id,
                     const char  *field,
                     GError     **error)
{
  gsize length = strlen (id);

  if (length > WB_TELEMETRY_MAX_ID)
    {
      wb_json_set_field_error (error, field, "a device id has at most %d bytes", WB_TELEMETRY_MAX_ID);
      return FALSE;
    }
  if (!g_utf8_validate_len (id, length, NULL))
    {
      wb_json_set_field_error (error, field, "a device id must be UTF-8 text");
      return FALSE;
    }
  for (gsize i = 0; i < length; i++)
    if ((guchar) id[i] < 0x20 || id[i] == 0x7f)
      {
        wb_json_set_field_error (error, field, "a device id has no control characters");
        return FALSE;
      }
  return TRUE;
}

/* Trackers that number their devices send the id as a JSON integer. */
gboolean
_wb_device_id_read (WbJsonReader  *reader,
                    const char    *member,
                    char         **out,
                    GError       **error)
{
  JsonNode *node = wb_json_reader_get_node (reader, member);
  g_autofree char *path = NULL;
  g_autofree char *id = NULL;
  GType type;

  if (node == NULL)
    return TRUE;
  type = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node) : G_TYPE_INVALID;
  if (type == G_TYPE_STRING)
    id = g_strdup (json_node_get_string (node));
  else if (type == G_TYPE_INT64 && json_node_get_int (node) >= 0)
    id = g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
  else
    return wb_json_reader_fail (reader, member, error, "must be a string");

  path = wb_json_reader_member_path (reader, member);
  if (!_wb_device_id_check (id, path, error))
    return FALSE;
  if (*id != '\0')
    {
      g_free (*out);
      *out = g_steal_pointer (&id);
    }
  return TRUE;
}
