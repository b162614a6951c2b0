// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-json-reader.h"
#include "wb-live-vehicle.h"

G_BEGIN_DECLS

/* Reads one live vehicle as the API writes it (live-vehicle.schema.json:
 * an item of GET /locations, the vehicle of an entered or update item on
 * /ws/locations), the inverse of wb_live_vehicle_write_json(). Unknown
 * members are ignored, so a newer server's additions do not break an older
 * client. Errors are WB_JSON_ERROR_FIELD naming the member at fault.
 * Returns: (transfer full): a new state. */
WbLiveVehicle *wb_live_vehicle_read (WbJsonReader  *reader,
                                     GError       **error);

G_END_DECLS
