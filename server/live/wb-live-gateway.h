// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-bus.h"
#include "wb-config.h"
#include "wb-db-pool.h"
#include "wb-http-server.h"
#include "wb-metrics.h"

G_BEGIN_DECLS

#define WB_TYPE_LIVE_GATEWAY (wb_live_gateway_get_type ())

G_DECLARE_FINAL_TYPE (WbLiveGateway, wb_live_gateway, WB, LIVE_GATEWAY, GObject)

/* The gateway role: every vehicle's live state in memory, filled from
 * positions.enriched and device.online/offline, served as GET /locations
 * snapshots and as the /ws/locations stream (docs/live.md). Configured
 * from the gateway.* keys. With @pool, the map is filled at start from the
 * vehicles' last states the fleet role stored, before it is served. */
WbLiveGateway *wb_live_gateway_new        (WbConfig      *config,
                                           WbBus         *bus,
                                           WbDbPool      *pool,
                                           WbMetrics     *metrics);
void           wb_live_gateway_register   (WbLiveGateway *self,
                                           WbHttpServer  *http);
/* Subscribes to the bus, in a consumer group of this instance's own. */
void           wb_live_gateway_start      (WbLiveGateway *self);
/* Unsubscribes, stops loading and closes every stream. */
void           wb_live_gateway_stop       (WbLiveGateway *self);
/* Not until the map is loaded from the database. */
gboolean       wb_live_gateway_is_ready   (WbLiveGateway  *self,
                                           char          **out_reason);
const char    *wb_live_gateway_get_epoch  (WbLiveGateway *self);

G_END_DECLS
