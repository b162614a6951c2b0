// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define WB_JSON_INPUT_ERROR (wb_json_input_error_quark ())

typedef enum
{
  WB_JSON_INPUT_ERROR_SYNTAX,      /* not JSON, not UTF-8, or nested too deep */
  WB_JSON_INPUT_ERROR_NOT_OBJECT,  /* valid JSON, but the body is not an object */
  WB_JSON_INPUT_ERROR_FIELD,       /* a member is missing or wrong: the message is "<path>: <problem>" */
} WbJsonInputError;

/* Longest string value accepted in a member. */
#define WB_JSON_INPUT_MAX_STRING 4096

/* Deepest nesting of arrays and objects accepted: json-glib's parser
 * recurses once per level, so a body of a million '[' would otherwise
 * exhaust the stack. */
#define WB_JSON_INPUT_MAX_DEPTH 32

/* One JSON object of a request body together with its path ("",
 * "recipient", "events[3].location"), so that every error names the field
 * the client has to fix. */
typedef struct _WbJsonInput WbJsonInput;

GQuark       wb_json_input_error_quark        (void);

WbJsonInput *wb_json_input_new_from_bytes     (GBytes       *body,
                                               GError      **error);
WbJsonInput *wb_json_input_new_for_node       (JsonNode     *node,
                                               const char   *path,
                                               GError      **error);
void         wb_json_input_free               (WbJsonInput  *self);
const char  *wb_json_input_get_path           (WbJsonInput  *self);
char        *wb_json_input_member_path        (WbJsonInput  *self,
                                               const char   *member);
gboolean     wb_json_input_has_member         (WbJsonInput  *self,
                                               const char   *member);
gboolean     wb_json_input_contains           (WbJsonInput  *self,
                                               const char   *member);
gboolean     wb_json_input_get_string         (WbJsonInput  *self,
                                               const char   *member,
                                               gboolean      required,
                                               char        **out_value,
                                               GError      **error);
gboolean     wb_json_input_get_double         (WbJsonInput  *self,
                                               const char   *member,
                                               double        min,
                                               double        max,
                                               gboolean     *out_present,
                                               double       *out_value,
                                               GError      **error);
gboolean     wb_json_input_get_boolean        (WbJsonInput  *self,
                                               const char   *member,
                                               gboolean     *out_value,
                                               GError      **error);
WbJsonInput *wb_json_input_get_object_member  (WbJsonInput  *self,
                                               const char   *member,
                                               gboolean      required,
                                               GError      **error);
gboolean     wb_json_input_get_array_length   (WbJsonInput  *self,
                                               const char   *member,
                                               guint        *out_length,
                                               GError      **error);
WbJsonInput *wb_json_input_get_array_element  (WbJsonInput  *self,
                                               const char   *member,
                                               guint         index,
                                               GError      **error);
gboolean     wb_json_input_reject_unknown     (WbJsonInput  *self,
                                               const char * const *known,
                                               GError      **error);

void         wb_json_input_set_field_error    (GError      **error,
                                               const char   *path,
                                               const char   *format,
                                               ...) G_GNUC_PRINTF (3, 4);
char        *wb_json_input_error_get_field    (const GError *error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbJsonInput, wb_json_input_free)

G_END_DECLS
