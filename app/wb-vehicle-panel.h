// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <gtk/gtk.h>

#include "wb-client.h"
#include "wb-client-vehicle.h"

G_BEGIN_DECLS

#define WB_TYPE_VEHICLE_PANEL (wb_vehicle_panel_get_type ())

G_DECLARE_FINAL_TYPE (WbVehiclePanel, wb_vehicle_panel, WB, VEHICLE_PANEL, GtkWidget)

/* The selected vehicle: who it is, its last fix and that fix's age (kept
 * current), speed, course, ignition, state and trip; and its track over a
 * period with a replay clock driven by the frame clock. */
GtkWidget       *wb_vehicle_panel_new               (void);
WbClientVehicle *wb_vehicle_panel_get_vehicle       (WbVehiclePanel  *self);
void             wb_vehicle_panel_set_vehicle       (WbVehiclePanel  *self,
                                                     WbClientVehicle *vehicle);
/* The server's client, for tracks; %NULL makes "Show" insensitive. */
void             wb_vehicle_panel_set_client        (WbVehiclePanel  *self,
                                                     WbClient        *client);
/* Loads the track of the chosen period, as the Show button does. */
void             wb_vehicle_panel_load_track        (WbVehiclePanel  *self);
/* (nullable): the loaded track (notify::track). */
WbClientTrack   *wb_vehicle_panel_get_track         (WbVehiclePanel  *self);
/* The chosen track period, in seconds back from now. */
gint64           wb_vehicle_panel_get_period        (WbVehiclePanel  *self);
/* The loaded track's first and last fix (unix µs); equal values clear it. */
void             wb_vehicle_panel_set_track_span    (WbVehiclePanel  *self,
                                                     gint64           start,
                                                     gint64           end);
/* Where replay stands, unix µs (notify::replay-time moves the marker). */
gint64           wb_vehicle_panel_get_replay_time   (WbVehiclePanel  *self);
void             wb_vehicle_panel_set_replay_time   (WbVehiclePanel  *self,
                                                     gint64           time);
/* Replay runs at this many seconds of track per real second, 1 to 1000. */
double           wb_vehicle_panel_get_replay_speed  (WbVehiclePanel  *self);
void             wb_vehicle_panel_set_replay_speed  (WbVehiclePanel  *self,
                                                     double           speed);
gboolean         wb_vehicle_panel_get_playing       (WbVehiclePanel  *self);
void             wb_vehicle_panel_set_playing       (WbVehiclePanel  *self,
                                                     gboolean         playing);
/* "2 min ago" style text for an age in seconds. */
char            *wb_vehicle_panel_format_age        (gint64           seconds);

G_END_DECLS
