// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-fleet-store.h"
#include "wb-http-server.h"

G_BEGIN_DECLS

/* The fleet REST resources: PUT and GET of /companies, /drivers,
 * /vehicles and /devices, and GET /vehicles/{id}/track. Writes (admin) take the same path as
 * the bus messages (wb_fleet_store_apply_async()); reads (viewer; devices
 * admin) come from the database. This layer validates and maps errors; it
 * never touches the database itself. */
typedef struct _WbFleetApi WbFleetApi;

WbFleetApi *wb_fleet_api_new      (WbFleetStore *store);
/* Adds the routes to @http, each documented. @self must outlive @http's
 * routing (the routes hold it without a reference). */
void        wb_fleet_api_register (WbFleetApi   *self,
                                   WbHttpServer *http);
void        wb_fleet_api_set_track_defaults (WbFleetApi          *self,
                                             const WbTrackParams *params);
/* Drops the caller's hold; requests still waiting on the store keep what
 * they need until they are answered. */
void        wb_fleet_api_free     (WbFleetApi   *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbFleetApi, wb_fleet_api_free)

G_END_DECLS
