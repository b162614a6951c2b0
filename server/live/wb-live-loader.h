// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-db-pool.h"
#include "wb-live-vehicle.h"

G_BEGIN_DECLS

/* Every vehicle's last state as the fleet role stored it (vehicle_states,
 * with the vehicle's company and driver and its active trip), read on a
 * pool thread, for the gateway to fill its map at start. A vehicle whose
 * last position came more than @offline_after_s seconds ago (by the
 * database's clock, as device.offline judges it) is offline. */
void       wb_live_load_vehicles_async  (WbDbPool             *pool,
                                         gint64                offline_after_s,
                                         GCancellable         *cancellable,
                                         GAsyncReadyCallback   callback,
                                         gpointer              user_data);
/* Returns: (transfer full) (element-type WbLiveVehicle): the states */
GPtrArray *wb_live_load_vehicles_finish (WbDbPool             *pool,
                                         GAsyncResult         *result,
                                         GError              **error);

G_END_DECLS
