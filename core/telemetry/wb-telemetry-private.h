// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-json-writer.h"
#include "wb-position.h"

G_BEGIN_DECLS

/* Bodies beyond this are refused before parsing; the HTTP layer has its own,
 * smaller limit, this one guards the decoders on their own. */
#define WB_TELEMETRY_MAX_BODY     (32 * 1024 * 1024)
/* json-glib parses recursively: a deeper document is refused before it can
 * exhaust the stack. Positions need 4 levels, attributes get the rest. */
#define WB_TELEMETRY_MAX_DEPTH    32
/* Traccar's uniqueId is at most 128 characters; an IMEI is 15. */
#define WB_TELEMETRY_MAX_ID       128
/* 9999-12-31T23:59:59.999Z, the last instant RFC 3339 can write. */
#define WB_TELEMETRY_MAX_UNIX_MS  G_GINT64_CONSTANT (253402300799999)

/* POST /telemetry through json-glib: what wb_telemetry_json_decode() means,
 * kept for the differential tests and the fuzzer to hold the fast path to. */
GPtrArray *_wb_telemetry_json_decode_reference (const char  *body,
                                                gsize        length,
                                                GError     **error);

/* Strict UTF-8 without NUL, bounded size and nesting, then json-glib. */
JsonNode *_wb_telemetry_parse_json       (const char   *body,
                                          gsize         length,
                                          GError      **error);

/* "[3]" + "lat" → "[3].lat"; "" + "lat" → "lat". */
char     *_wb_telemetry_path             (const char   *prefix,
                                          const char   *member);
void      _wb_telemetry_field_error      (GError      **error,
                                          const char   *prefix,
                                          const char   *member,
                                          const char   *format,
                                          ...) G_GNUC_PRINTF (4, 5);

/* Readers of one member: an absent or null member leaves @out alone and
 * succeeds; a member of the wrong type is an INVALID_FIELD error naming
 * prefix.member. */
gboolean  _wb_telemetry_get_number       (JsonObject   *object,
                                          const char   *prefix,
                                          const char   *member,
                                          double       *out,
                                          GError      **error);
gboolean  _wb_telemetry_get_boolean      (JsonObject   *object,
                                          const char   *prefix,
                                          const char   *member,
                                          int          *out,
                                          GError      **error);
gboolean  _wb_telemetry_get_string       (JsonObject   *object,
                                          const char   *prefix,
                                          const char   *member,
                                          const char  **out,
                                          GError      **error);
gboolean  _wb_telemetry_get_object       (JsonObject   *object,
                                          const char   *prefix,
                                          const char   *member,
                                          JsonObject  **out,
                                          GError      **error);
/* A device id: a string (or an integer, written in decimal) of at most
 * WB_TELEMETRY_MAX_ID bytes without control characters; empty is absent. */
gboolean  _wb_telemetry_get_device_id    (JsonObject   *object,
                                          const char   *prefix,
                                          const char   *member,
                                          char        **out,
                                          GError      **error);
gboolean  _wb_telemetry_check_device_id  (const char   *id,
                                          const char   *field,
                                          GError      **error);

/* Text times (RFC 3339, ISO 8601, "yyyy-MM-dd HH:mm:ss" as UTC, unix
 * seconds or milliseconds as digits, unix seconds with a fraction), to the
 * millisecond. */
gboolean  _wb_telemetry_parse_time       (const char   *text,
                                          const char   *field,
                                          gint64       *out_us,
                                          GError      **error);
gint64    _wb_telemetry_truncate_to_ms   (gint64        us);

typedef gboolean (*WbSameNumberFunc) (double a,
                                      double b);

/* Every field of two positions but the attributes, numbers compared with
 * @same (wb_position_equal() and the decoders' differential check differ
 * in that, and in how they compare attributes). */
gboolean  _wb_position_fields_equal      (const WbPosition *a,
                                          const WbPosition *b,
                                          WbSameNumberFunc  same);

/* Copies every member of @from into @into, deeply. */
void      _wb_telemetry_merge_attributes (JsonObject   *into,
                                          JsonObject   *from);
JsonNode *_wb_telemetry_node_copy        (JsonNode     *node);

G_END_DECLS
