// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <adwaita.h>

#include "wb-client-trips.h"
#include "wb-reassign-dialog.h"

G_BEGIN_DECLS

#define WB_TYPE_TRIP_DETAIL (wb_trip_detail_get_type ())

G_DECLARE_FINAL_TYPE (WbTripDetail, wb_trip_detail, WB, TRIP_DETAIL, GtkWidget)

/* One trip: status, vehicle, driver, its stops in order with their
 * progress, a small map of the stops and of the vehicle's live position
 * (GET /locations, read again every few seconds while shown), and the
 * actions a dispatcher may take: start, complete, cancel, reassign.
 *
 * Actions: trip.start, trip.complete, trip.cancel (asks first),
 * trip.reassign (opens a WbReassignDialog). Each is disabled, with the
 * reason in its button's tooltip, when the token's role may not change
 * trips or the trip's status forbids it. */
GtkWidget        *wb_trip_detail_new                 (void);
/* Names the trip's stops, vehicle, driver and company; nullable. */
void              wb_trip_detail_set_directory       (WbTripDetail *self,
                                                      WbDirectory  *directory);
void              wb_trip_detail_set_client          (WbTripDetail *self,
                                                      WbClient     *client);
/* Whether the token may change trips, and why not (a tooltip). */
void              wb_trip_detail_set_permission      (WbTripDetail *self,
                                                      gboolean      allowed,
                                                      const char   *reason);
/* The map's tiles, as the window's ("none" for a plain background). */
void              wb_trip_detail_set_tiles           (WbTripDetail *self,
                                                      const char   *tiles);
/* Reads and shows a trip; %NULL stops showing (and polling). */
void              wb_trip_detail_show                (WbTripDetail *self,
                                                      const char   *trip_id);
WbClientTrip     *wb_trip_detail_get_trip            (WbTripDetail *self);
gboolean          wb_trip_detail_get_loading         (WbTripDetail *self);
/* The vehicle's last known position on the map; FALSE while unknown. */
gboolean          wb_trip_detail_get_vehicle_position (WbTripDetail *self,
                                                       double       *lat,
                                                       double       *lon);
/* The open reassign dialog, %NULL when none. */
WbReassignDialog *wb_trip_detail_get_reassign_dialog (WbTripDetail *self);
/* How often the vehicle's position is read (default 5000 ms). */
void              wb_trip_detail_set_position_interval (WbTripDetail *self,
                                                        guint         interval_ms);

G_END_DECLS
