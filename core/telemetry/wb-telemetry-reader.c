// SPDX-License-Identifier: GPL-3.0-or-later
/* The telemetry decoders' use of core/json: the guarded parse with the
 * telemetry body limit, and member readers in the shape positions need
 * (an absent or null member leaves the position's "unknown" alone; a wrong
 * one is a %WB_JSON_ERROR_FIELD naming its path). */

#include "config.h"

#include <float.h>

#include "wb-telemetry-private.h"

const WbJsonLimits _wb_telemetry_json_limits = { WB_TELEMETRY_MAX_BODY, WB_TELEMETRY_MAX_DEPTH };

/* Strings cannot be longer than the body that holds them: telemetry keeps
 * whatever length a device sends, within the body limit. */
WbJsonReader *
_wb_telemetry_reader_for_node (JsonNode    *node,
                               const char  *path,
                               GError     **error)
{
  WbJsonReader *reader = wb_json_reader_new_for_node (node, path, error);

  if (reader != NULL)
    wb_json_reader_set_max_string (reader, WB_TELEMETRY_MAX_BODY);
  return reader;
}

WbJsonReader *
_wb_telemetry_reader_new (const char  *body,
                          gsize        length,
                          GError     **error)
{
  g_autoptr(JsonNode) root = wb_json_parse (body ? body : "", body ? length : 0, &_wb_telemetry_json_limits,
                                            error);

  if (root == NULL)
    return NULL;
  return _wb_telemetry_reader_for_node (root, "", error);
}

gboolean
_wb_telemetry_read_object (WbJsonReader  *reader,
                           const char    *member,
                           WbJsonReader **out_reader,
                           GError       **error)
{
  *out_reader = NULL;
  if (!wb_json_reader_has_member (reader, member))
    return TRUE;
  *out_reader = wb_json_reader_get_object_member (reader, member, TRUE, error);
  return *out_reader != NULL;
}

gboolean
_wb_telemetry_read_number (WbJsonReader  *reader,
                           const char    *member,
                           double        *out,
                           GError       **error)
{
  gboolean present;

  return wb_json_reader_get_double (reader, member, -DBL_MAX, DBL_MAX, &present, out, error);
}

gboolean
_wb_telemetry_read_boolean (WbJsonReader  *reader,
                            const char    *member,
                            int           *out,
                            GError       **error)
{
  gboolean value = -1;

  if (!wb_json_reader_get_boolean (reader, member, &value, error))
    return FALSE;
  if (value != -1)
    *out = value ? 1 : 0;
  return TRUE;
}
