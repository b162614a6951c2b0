// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-position.h"

G_BEGIN_DECLS

#define WB_OSMAND_KMH_PER_KNOT 1.852
#define WB_OSMAND_KMH_PER_MPS  3.6

/* The OsmAnd protocol, what Traccar Client and many trackers send (port
 * 5055), in its query-string / form variant: @params maps names to decoded
 * values (as g_uri_parse_params() gives them). Keys: id or deviceid,
 * timestamp (unix seconds or milliseconds, ISO 8601, or "yyyy-MM-dd
 * HH:mm:ss" as UTC), lat and lon or location=lat,lon, speed in knots,
 * bearing or heading, altitude, accuracy, hdop, batt (percent), charge,
 * driverUniqueId. Any other key becomes a string attribute. An empty value
 * is an absent one; what is absent is left unknown for validation to judge.
 *
 * Returns: (transfer full): the position, or %NULL with a
 *   %WB_JSON_ERROR_FIELD error whose field (wb_json_error_get_field()) is
 *   the key, or %WB_TELEMETRY_ERROR_MALFORMED for a key or value that is
 *   not UTF-8 */
WbPosition *wb_osmand_decode_query (GHashTable  *params,
                                    GError     **error);

/* The JSON variant of Traccar Client 9 and later:
 * {"device_id", "location": {"timestamp", "coords": {"latitude",
 * "longitude", "speed" (m/s), "heading", "accuracy", "altitude"},
 * "is_moving", "odometer", "event", "activity": {"type"}, "battery":
 * {"level" (0..1), "is_charging"}, "extras": {…}}}. Negative speed, heading
 * and accuracy mean unknown; extras become attributes, as do event and
 * activity.
 *
 * Returns: (transfer full): the position, or %NULL with a %WB_JSON_ERROR
 *   from the guarded parse (syntax, size, depth) or a %WB_JSON_ERROR_FIELD
 *   carrying the member's path, e.g. "location.coords.latitude"; a body that
 *   is not an object is %WB_TELEMETRY_ERROR_MALFORMED */
WbPosition *wb_osmand_decode_json  (const char  *body,
                                    gsize        length,
                                    GError     **error);

G_END_DECLS
