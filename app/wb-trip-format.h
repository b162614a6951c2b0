// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-client-trips.h"
#include "wb-directory.h"

G_BEGIN_DECLS

/* How the console words trips, translated. */
const char          *wb_trip_format_status   (const char             *status);
/* Every trip status, in the order of a trip's life. */
const char * const  *wb_trip_format_statuses (void);
/* A stop as people call it: its pickup point's name (the point's id when
 * @directory, nullable, does not list it), its address, or
 * "53.91000, 27.58000". */
char                *wb_trip_format_stop     (const WbClientTripStop *stop,
                                              WbDirectory            *directory);
/* The stops in order, "Nemiga → Uruchye → Zeleny Lug"; with more than
 * four, the first two, "…" and the last. */
char                *wb_trip_format_route    (WbClientTrip           *trip,
                                              WbDirectory            *directory);
/* "Arrived 10:02, departed 10:15", "Arrived 10:02", "Not reached". */
char                *wb_trip_format_progress (const WbClientTripStop *stop);
/* "1.2 km", "850 m" (or miles and feet, as the units setting says). */
char                *wb_trip_format_distance (double                  metres);
/* The great-circle distance between two points, in metres. */
double               wb_trip_distance_m      (double                  lat1,
                                              double                  lon1,
                                              double                  lat2,
                                              double                  lon2);

G_END_DECLS
