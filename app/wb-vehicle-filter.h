// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <gtk/gtk.h>

#include "wb-client-vehicle.h"

G_BEGIN_DECLS

/* The parts of the vehicle list's filter; counts leave one out, so a state
 * button counts what it would show under the other filters. */
typedef enum
{
  WB_VEHICLE_FACET_NONE    = 0,
  WB_VEHICLE_FACET_SEARCH  = 1 << 0,
  WB_VEHICLE_FACET_STATE   = 1 << 1,
  WB_VEHICLE_FACET_COMPANY = 1 << 2,
} WbVehicleFacet;

#define WB_VEHICLE_FILTER_ALL_STATES ((1u << WB_LIVE_STATE_MOVING) | (1u << WB_LIVE_STATE_STOPPED) | (1u << WB_LIVE_STATE_OFFLINE))

#define WB_TYPE_VEHICLE_FILTER (wb_vehicle_filter_get_type ())

G_DECLARE_FINAL_TYPE (WbVehicleFilter, wb_vehicle_filter, WB, VEHICLE_FILTER, GtkFilter)

/* Search over name, plate, device and driver (every word must occur, case
 * folded), a set of states and one company (or any). */
WbVehicleFilter *wb_vehicle_filter_new              (void);
const char      *wb_vehicle_filter_get_search       (WbVehicleFilter *self);
void             wb_vehicle_filter_set_search       (WbVehicleFilter *self,
                                                     const char      *search);
/* A mask of 1 << WbLiveState. */
guint            wb_vehicle_filter_get_states       (WbVehicleFilter *self);
void             wb_vehicle_filter_set_states       (WbVehicleFilter *self,
                                                     guint            states);
/* %NULL: any company. */
const char      *wb_vehicle_filter_get_company_id   (WbVehicleFilter *self);
void             wb_vehicle_filter_set_company_id   (WbVehicleFilter *self,
                                                     const char      *company_id);
gboolean         wb_vehicle_filter_match_except     (WbVehicleFilter *self,
                                                     WbClientVehicle *vehicle,
                                                     WbVehicleFacet   ignore);

G_END_DECLS
