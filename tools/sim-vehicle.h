// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sim-city.h"
#include "wb-position.h"

G_BEGIN_DECLS

/* Fastest a simulated vehicle ever drives: the top of the 20–60 km/h
 * street speeds. */
#define WB_SIM_VEHICLE_MAX_SPEED_KMH 60.0

/* One simulated vehicle driving a WbSimCity: along streets at 20–60 km/h
 * with acceleration and braking, turning at intersections, stopping at
 * lights (10–60 s) and at delivery points (2–10 min, ignition off at half
 * of them). Its own random stream (from the seed and its number) makes a
 * run repeatable whatever order vehicles are stepped in. */
typedef struct _WbSimVehicle WbSimVehicle;

WbSimVehicle *wb_sim_vehicle_new       (const WbSimCity *city,
                                        guint            number,
                                        guint32          seed);
void          wb_sim_vehicle_free      (WbSimVehicle    *vehicle);

/* Moves the vehicle on by @seconds of simulated time. */
void          wb_sim_vehicle_advance   (WbSimVehicle    *vehicle,
                                        double           seconds);

/* Returns: (transfer full): where the vehicle is now, as its tracker
 * reports it: position, speed, heading along the street, altitude,
 * accuracy, satellites, ignition, moving, fuel and odometer. */
WbPosition   *wb_sim_vehicle_report    (const WbSimVehicle *vehicle,
                                        const char         *device_id,
                                        gint64              device_time_us);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbSimVehicle, wb_sim_vehicle_free)

G_END_DECLS
