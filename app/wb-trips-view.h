// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <adwaita.h>

#include "wb-client.h"
#include "wb-trip-detail.h"
#include "wb-trip-list-model.h"

G_BEGIN_DECLS

#define WB_TYPE_TRIPS_VIEW (wb_trips_view_get_type ())

G_DECLARE_FINAL_TYPE (WbTripsView, wb_trips_view, WB, TRIPS_VIEW, GtkWidget)

/* The Dispatch view: trips filtered by status, company, vehicle, driver
 * and planned start (GET /trips), read a page at a time as the list
 * scrolls, and a trip's detail with its actions. The token's role
 * (GET /whoami) decides whether the actions are offered.
 *
 * Actions: trips.search (the filters), trips.open (s: a trip id),
 * trips.back (Alt+Left or Escape: to the list). */
GtkWidget       *wb_trips_view_new              (void);
/* Names ids and fills the filters' pickers; nullable. */
void             wb_trips_view_set_directory    (WbTripsView *self,
                                                 WbDirectory *directory);
WbDirectory     *wb_trips_view_get_directory    (WbTripsView *self);
void             wb_trips_view_set_client       (WbTripsView *self,
                                                 WbClient    *client);
void             wb_trips_view_set_tiles        (WbTripsView *self,
                                                 const char  *tiles);
/* Trips a page; 0 (the default) for the server's own page size. */
void             wb_trips_view_set_page_size    (WbTripsView *self,
                                                 guint        page_size);
/* Focuses the first filter. */
void             wb_trips_view_focus_search     (WbTripsView *self);
/* The token's role once /whoami answered, else %NULL. */
const char      *wb_trips_view_get_role         (WbTripsView *self);
WbTripListModel *wb_trips_view_get_results      (WbTripsView *self);
GtkColumnView   *wb_trips_view_get_column_view  (WbTripsView *self);
WbTripDetail    *wb_trips_view_get_detail       (WbTripsView *self);
gboolean         wb_trips_view_get_detail_shown (WbTripsView *self);

G_END_DECLS
