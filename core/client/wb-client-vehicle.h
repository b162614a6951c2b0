// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <glib-object.h>

#include "wb-live-vehicle.h"

G_BEGIN_DECLS

#define WB_TYPE_CLIENT_VEHICLE (wb_client_vehicle_get_type ())

G_DECLARE_FINAL_TYPE (WbClientVehicle, wb_client_vehicle, WB, CLIENT_VEHICLE, GObject)

/* One vehicle as a client holds it: the newest state the server sent
 * (an immutable WbLiveVehicle), whether that state is stale (the stream is
 * down, so it may be out of date), and the reference names the API knows
 * it by, for search. Items of a WbVehicleModel. */
WbClientVehicle     *wb_client_vehicle_new              (WbLiveVehicle   *state);
const char          *wb_client_vehicle_get_id           (WbClientVehicle *self);
/* The current state; valid until the next set_state. */
const WbLiveVehicle *wb_client_vehicle_get_state        (WbClientVehicle *self);
/* Takes a reference on @state; notifies "state" (and "stale" when it clears). */
void                 wb_client_vehicle_set_state        (WbClientVehicle *self,
                                                         WbLiveVehicle   *state);
double               wb_client_vehicle_get_latitude     (WbClientVehicle *self);
double               wb_client_vehicle_get_longitude    (WbClientVehicle *self);
gboolean             wb_client_vehicle_get_stale        (WbClientVehicle *self);
void                 wb_client_vehicle_set_stale        (WbClientVehicle *self,
                                                         gboolean         stale);
/* Reference names (from GET /vehicles and friends), %NULL until known. */
const char          *wb_client_vehicle_get_name         (WbClientVehicle *self);
const char          *wb_client_vehicle_get_plate        (WbClientVehicle *self);
const char          *wb_client_vehicle_get_driver_name  (WbClientVehicle *self);
const char          *wb_client_vehicle_get_company_name (WbClientVehicle *self);
void                 wb_client_vehicle_set_names        (WbClientVehicle *self,
                                                         const char      *name,
                                                         const char      *plate,
                                                         const char      *driver_name,
                                                         const char      *company_name);

G_END_DECLS
