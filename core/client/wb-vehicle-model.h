// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <gio/gio.h>

#include "wb-client-vehicle.h"
#include "wb-vehicle-ref.h"

G_BEGIN_DECLS

#define WB_TYPE_VEHICLE_MODEL (wb_vehicle_model_get_type ())

G_DECLARE_FINAL_TYPE (WbVehicleModel, wb_vehicle_model, WB, VEHICLE_MODEL, GObject)

/* The live vehicle set a client holds: a GListModel of WbClientVehicle
 * that the map layer and the vehicle list both read. A new vehicle is
 * appended; a changed one keeps its item (and position), so a change is a
 * notify on the item, never items-changed; a vehicle that leaves is
 * removed. Lookup by vehicle id is O(1). Main thread only. */
WbVehicleModel  *wb_vehicle_model_new        (void);
/* Adds the vehicle, or gives the existing item its new state.
 * Returns: (transfer none): the item. */
WbClientVehicle *wb_vehicle_model_apply      (WbVehicleModel *self,
                                              WbLiveVehicle  *state);
/* Returns: TRUE if a vehicle with that id was held and is removed. */
gboolean         wb_vehicle_model_remove     (WbVehicleModel *self,
                                              const char     *vehicle_id);
/* As wb_vehicle_model_apply() for each of @states (WbLiveVehicle), with
 * one items-changed for all the vehicles appended.
 * Returns: how many were new. */
guint            wb_vehicle_model_apply_all  (WbVehicleModel *self,
                                              GPtrArray      *states);
/* Removes every vehicle of @vehicle_ids (char *) held, in one pass and one
 * items-changed (from the first removed to the end), where removing them
 * one by one would renumber the rest once per vehicle.
 * Returns: how many were held and are removed. */
guint            wb_vehicle_model_remove_all (WbVehicleModel *self,
                                              GPtrArray      *vehicle_ids);
void             wb_vehicle_model_clear      (WbVehicleModel *self);
/* Returns: (transfer none) (nullable): the item for @vehicle_id. */
WbClientVehicle *wb_vehicle_model_lookup     (WbVehicleModel *self,
                                              const char     *vehicle_id);
/* Returns: the item's position, or G_MAXUINT when not held. */
guint            wb_vehicle_model_find       (WbVehicleModel *self,
                                              const char     *vehicle_id);
/* Marks every item stale (the stream is down) or fresh. */
void             wb_vehicle_model_set_stale  (WbVehicleModel *self,
                                              gboolean        stale);
/* The reference names (wb_client_list_vehicles_async()) to give items,
 * now and as they enter: name and plate are the plate, driver and company
 * their names. Replaces the previous set; an item not in it has none. */
void             wb_vehicle_model_set_references (WbVehicleModel *self,
                                                  GPtrArray      *refs);

G_END_DECLS
