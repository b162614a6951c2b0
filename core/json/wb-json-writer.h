// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

void  wb_json_write_string (GString    *out,
                            const char *text);
void  wb_json_write_double (GString    *out,
                            double      value);
void  wb_json_write_int    (GString    *out,
                            gint64      value);
void  wb_json_write_node   (GString    *out,
                            JsonNode   *node);
char *wb_json_to_string    (JsonNode   *node);
void  wb_json_append_compact (GString  *out,
                              const char *json);
char *wb_json_compact      (const char *json);

G_END_DECLS
