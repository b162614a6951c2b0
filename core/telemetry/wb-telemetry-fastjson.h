// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-position.h"

G_BEGIN_DECLS

/* POST /telemetry without json-glib, for the shape trackers and waybill-sim
 * send: a position object or an array of them, flat members, perhaps a flat
 * "attributes" object. It either returns exactly what
 * _wb_telemetry_json_decode_reference() would return for @body, or %NULL
 * when it cannot be certain of that: every body the reference would refuse,
 * and anything unusual (nesting, rare escapes, duplicate members, numbers it
 * cannot round as strtod does). It never sets an error; on %NULL the caller
 * runs the reference decoder. */
GPtrArray *_wb_telemetry_fastjson_decode    (const char       *body,
                                             gsize             length);

/* Bit for bit, stricter than wb_position_equal(): the sign of a zero, an
 * integer versus a double in the attributes, and the order of their members
 * all count. What the differential tests and the fuzzer compare with. */
gboolean   _wb_telemetry_position_identical (const WbPosition *a,
                                             const WbPosition *b);

G_END_DECLS
