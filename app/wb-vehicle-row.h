// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <gtk/gtk.h>

#include "wb-client-vehicle.h"

G_BEGIN_DECLS

#define WB_TYPE_VEHICLE_ROW (wb_vehicle_row_get_type ())

G_DECLARE_FINAL_TYPE (WbVehicleRow, wb_vehicle_row, WB, VEHICLE_ROW, GtkWidget)

/* One line of the vehicle list: state, name, plate and driver, speed. Its
 * accessible label says all of it, since the list stands in for the map
 * for screen readers. */
GtkWidget       *wb_vehicle_row_new          (void);
WbClientVehicle *wb_vehicle_row_get_vehicle  (WbVehicleRow    *self);
void             wb_vehicle_row_set_vehicle  (WbVehicleRow    *self,
                                              WbClientVehicle *vehicle);
/* Text shared with the panel and the row's accessible label. */
const char      *wb_vehicle_state_label      (WbClientVehicle *vehicle);
char            *wb_vehicle_title            (WbClientVehicle *vehicle);

G_END_DECLS
