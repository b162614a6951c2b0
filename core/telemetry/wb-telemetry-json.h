// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-position.h"

G_BEGIN_DECLS

#define WB_TELEMETRY_JSON_MAX_BATCH 10000

/* POST /telemetry: one position object or an array of them (a batch of at
 * most WB_TELEMETRY_JSON_MAX_BATCH). Members, all optional here (validation
 * decides what a position needs): deviceId, timestamp (RFC 3339 / ISO 8601
 * text or unix milliseconds as a number), lat, lon, speed (km/h), heading,
 * altitude, accuracy, hdop, satellites, ignition, fuel, odometer, battery,
 * charging, moving, driverUniqueId, attributes (an object). Any other member
 * is kept as an attribute.
 *
 * Returns: (transfer full) (element-type WbPosition): the positions in
 * order, freed with the array; %NULL with a %WB_JSON_ERROR from the
 * guarded parse (%WB_JSON_ERROR_TOO_LARGE beyond 32 MiB), a
 * %WB_JSON_ERROR_FIELD carrying the field's path as data, e.g. "[3].lat"
 * (the message reads "[3].lat: must be a number"), or a %WB_TELEMETRY_ERROR
 * for the body's shape (MALFORMED: not a position or a batch, an empty batch;
 * TOO_LARGE: more than WB_TELEMETRY_JSON_MAX_BATCH positions). */
GPtrArray *wb_telemetry_json_decode (const char  *body,
                                     gsize        length,
                                     GError     **error);

G_END_DECLS
