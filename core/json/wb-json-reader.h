// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-json.h"

G_BEGIN_DECLS

/* Longest string value a member may hold unless the reader says otherwise. */
#define WB_JSON_READER_MAX_STRING 4096

/* One JSON object of a document together with its path ("", "recipient",
 * "events[3].location"), so that every error names the field to fix. */
typedef struct _WbJsonReader WbJsonReader;

WbJsonReader *wb_json_reader_new_from_data     (const char           *text,
                                                gsize                 length,
                                                const WbJsonLimits   *limits,
                                                GError              **error);
WbJsonReader *wb_json_reader_new_from_bytes    (GBytes               *body,
                                                const WbJsonLimits   *limits,
                                                GError              **error);
WbJsonReader *wb_json_reader_new_for_node      (JsonNode             *node,
                                                const char           *path,
                                                GError              **error);
void          wb_json_reader_free              (WbJsonReader         *self);
void          wb_json_reader_set_max_string    (WbJsonReader         *self,
                                                glong                 max_chars);
const char   *wb_json_reader_get_path          (WbJsonReader         *self);
JsonObject   *wb_json_reader_get_object        (WbJsonReader         *self);
char         *wb_json_reader_member_path       (WbJsonReader         *self,
                                                const char           *member);
char         *wb_json_reader_element_path      (WbJsonReader         *self,
                                                const char           *member,
                                                guint                 index);
gboolean      wb_json_reader_has_member        (WbJsonReader         *self,
                                                const char           *member);
gboolean      wb_json_reader_contains          (WbJsonReader         *self,
                                                const char           *member);
JsonNode     *wb_json_reader_get_node          (WbJsonReader         *self,
                                                const char           *member);
gboolean      wb_json_reader_peek_string       (WbJsonReader         *self,
                                                const char           *member,
                                                gboolean              required,
                                                glong                 max_chars,
                                                const char          **out_value,
                                                GError              **error);
gboolean      wb_json_reader_get_string        (WbJsonReader         *self,
                                                const char           *member,
                                                gboolean              required,
                                                char                **out_value,
                                                GError              **error);
gboolean      wb_json_reader_get_double        (WbJsonReader         *self,
                                                const char           *member,
                                                double                min,
                                                double                max,
                                                gboolean             *out_present,
                                                double               *out_value,
                                                GError              **error);
gboolean      wb_json_reader_get_int64         (WbJsonReader         *self,
                                                const char           *member,
                                                gint64                min,
                                                gint64                max,
                                                gboolean             *out_present,
                                                gint64               *out_value,
                                                GError              **error);
gboolean      wb_json_reader_get_boolean       (WbJsonReader         *self,
                                                const char           *member,
                                                gboolean             *out_value,
                                                GError              **error);
WbJsonReader *wb_json_reader_get_object_member (WbJsonReader         *self,
                                                const char           *member,
                                                gboolean              required,
                                                GError              **error);
gboolean      wb_json_reader_peek_array        (WbJsonReader         *self,
                                                const char           *member,
                                                gboolean              required,
                                                JsonArray           **out_array,
                                                GError              **error);
gboolean      wb_json_reader_get_array_length  (WbJsonReader         *self,
                                                const char           *member,
                                                guint                *out_length,
                                                GError              **error);
WbJsonReader *wb_json_reader_get_array_element (WbJsonReader         *self,
                                                const char           *member,
                                                guint                 index,
                                                GError              **error);
gboolean      wb_json_reader_reject_unknown    (WbJsonReader         *self,
                                                const char * const   *known,
                                                GError              **error);
gboolean      wb_json_reader_fail              (WbJsonReader         *self,
                                                const char           *member,
                                                GError              **error,
                                                const char           *format,
                                                ...) G_GNUC_PRINTF (4, 5);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbJsonReader, wb_json_reader_free)

G_END_DECLS
