// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define WB_JSON_ERROR (wb_json_error_quark ())

typedef enum
{
  WB_JSON_ERROR_SYNTAX,      /* not strict JSON (RFC 8259) or not UTF-8; the offset says where */
  WB_JSON_ERROR_TOO_LARGE,   /* longer than the limit */
  WB_JSON_ERROR_TOO_DEEP,    /* arrays and objects nested deeper than the limit */
  WB_JSON_ERROR_FIELD,       /* valid JSON, but a member is missing, of the wrong type or out of
                              * range; wb_json_error_get_field() names it */
} WbJsonError;

/* What one document may be: json-glib parses recursively (one stack frame
 * per level), so depth is bounded before it sees the text. */
typedef struct
{
  gsize max_size;   /* bytes */
  guint max_depth;  /* levels of arrays and objects */
} WbJsonLimits;

/* Every message on the bus and every request body: 8 MiB, 32 levels. */
#define WB_JSON_DEFAULT_MAX_SIZE  (8 * 1024 * 1024)
#define WB_JSON_DEFAULT_MAX_DEPTH 32

GQuark      wb_json_error_quark         (void);
const char *wb_json_error_get_field     (const GError        *error);
gssize      wb_json_error_get_offset    (const GError        *error);
void        wb_json_set_field_error     (GError             **error,
                                         const char          *field,
                                         const char          *format,
                                         ...) G_GNUC_PRINTF (3, 4);
void        wb_json_set_syntax_error    (GError             **error,
                                         WbJsonError          code,
                                         const char          *text,
                                         gsize                offset,
                                         const char          *format,
                                         ...) G_GNUC_PRINTF (5, 6);

gboolean    wb_json_check               (const char          *text,
                                         gsize                length,
                                         const WbJsonLimits  *limits,
                                         GError             **error);
JsonNode   *wb_json_parse               (const char          *text,
                                         gsize                length,
                                         const WbJsonLimits  *limits,
                                         GError             **error);
JsonNode   *wb_json_parse_bytes         (GBytes              *bytes,
                                         const WbJsonLimits  *limits,
                                         GError             **error);

G_END_DECLS
