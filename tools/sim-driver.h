// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sim-city.h"
#include "sim-stops.h"
#include "wb-position.h"

G_BEGIN_DECLS

/* A simulated vehicle driving given stops in order: along the city's
 * streets (the shortest way between the intersections nearest each stop),
 * then straight from that intersection to the stop itself and back, with
 * the acceleration, cruising speeds (25–50 km/h) and slowing for turns of
 * WbSimVehicle. It stands still (speed 0, ignition on) at each stop for
 * its dwell, and is done once the last dwell is over. */
typedef struct _WbSimDriver WbSimDriver;

WbSimDriver *wb_sim_driver_new            (const WbSimCity   *city,
                                           const WbSimStop   *stops,
                                           guint              n_stops,
                                           guint              number,
                                           guint32            seed);
void         wb_sim_driver_free           (WbSimDriver       *driver);

void         wb_sim_driver_advance        (WbSimDriver       *driver,
                                           double             seconds);
WbPosition  *wb_sim_driver_report         (const WbSimDriver *driver,
                                           const char        *device_id,
                                           gint64             device_time_us);
/* The stop being driven to or stood at, from 0; n_stops once done. */
guint        wb_sim_driver_get_stop       (const WbSimDriver *driver);
gboolean     wb_sim_driver_is_dwelling    (const WbSimDriver *driver);
gboolean     wb_sim_driver_is_done        (const WbSimDriver *driver);
/* How long the whole drive takes, in seconds of simulated time. */
double       wb_sim_driver_estimate       (const WbSimCity   *city,
                                           const WbSimStop   *stops,
                                           guint              n_stops,
                                           guint              number,
                                           guint32            seed);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbSimDriver, wb_sim_driver_free)

G_END_DECLS
