// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#if !defined (WB_TELEMETRY_COMPILATION)
#error "wb-telemetry-private.h is core/telemetry's own; other code uses the area's public headers"
#endif

#include "wb-json-reader.h"
#include "wb-json-writer.h"
#include "wb-position.h"

G_BEGIN_DECLS

/* Bodies beyond this are refused before parsing; the HTTP layer has its own,
 * smaller limit, this one guards the decoders on their own. */
#define WB_TELEMETRY_MAX_BODY     (32 * 1024 * 1024)
/* Positions need 4 levels, attributes get the rest. */
#define WB_TELEMETRY_MAX_DEPTH    32
/* Traccar's uniqueId is at most 128 characters; an IMEI is 15. */
#define WB_TELEMETRY_MAX_ID       128
/* 9999-12-31T23:59:59.999Z, the last instant RFC 3339 can write. */
#define WB_TELEMETRY_MAX_UNIX_MS  G_GINT64_CONSTANT (253402300799999)

/* What every telemetry JSON document may be, for wb_json_parse() and
 * wb_json_reader_new_from_data(). */
extern const WbJsonLimits _wb_telemetry_json_limits;

/* POST /telemetry through json-glib: what wb_telemetry_json_decode() means,
 * kept for the differential tests and the fuzzer to hold the fast path to. */
GPtrArray *_wb_telemetry_json_decode_reference (const char  *body,
                                                gsize        length,
                                                GError     **error);

/* wb-telemetry-reader.c: a reader for a telemetry document's top-level
 * object, or for one object of it, whose strings may be as long as a body. */
WbJsonReader *_wb_telemetry_reader_new        (const char    *body,
                                               gsize          length,
                                               GError       **error);
WbJsonReader *_wb_telemetry_reader_for_node   (JsonNode      *node,
                                               const char    *path,
                                               GError       **error);
/* A nested object: %TRUE with *out_reader %NULL when absent or null. */
gboolean      _wb_telemetry_read_object       (WbJsonReader  *reader,
                                               const char    *member,
                                               WbJsonReader **out_reader,
                                               GError       **error);
/* Any number; an absent or null member leaves @out alone. */
gboolean      _wb_telemetry_read_number       (WbJsonReader  *reader,
                                               const char    *member,
                                               double        *out,
                                               GError       **error);
/* -1 stays when absent; 0 or 1 otherwise. */
gboolean      _wb_telemetry_read_boolean      (WbJsonReader  *reader,
                                               const char    *member,
                                               int           *out,
                                               GError       **error);

/* wb-device-id.c: a device id is a string (or an integer, written in
 * decimal) of at most WB_TELEMETRY_MAX_ID bytes without control characters;
 * empty is absent. Errors are %WB_JSON_ERROR_FIELD on @field. */
gboolean  _wb_device_id_check            (const char    *id,
                                          const char    *field,
                                          GError       **error);
gboolean  _wb_device_id_read             (WbJsonReader  *reader,
                                          const char    *member,
                                          char         **out,
                                          GError       **error);

/* wb-telemetry-time.c: text times (RFC 3339, ISO 8601, "yyyy-MM-dd
 * HH:mm:ss" as UTC, unix seconds or milliseconds as digits, unix seconds
 * with a fraction), to the millisecond, between 1970 and 9999. Errors are
 * %WB_JSON_ERROR_FIELD on @field. */
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

/* wb-position-attributes.c: copies every member of @from into @into,
 * deeply, so that a position never shares a node with a parsed body. */
void      _wb_position_attributes_merge  (JsonObject   *into,
                                          JsonObject   *from);
JsonNode *_wb_position_attributes_copy_node (JsonNode  *node);

G_END_DECLS
