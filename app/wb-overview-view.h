// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <adwaita.h>

#include "wb-client.h"
#include "wb-vehicle-model.h"

G_BEGIN_DECLS

#define WB_TYPE_OVERVIEW_VIEW (wb_overview_view_get_type ())

G_DECLARE_FINAL_TYPE (WbOverviewView, wb_overview_view, WB, OVERVIEW_VIEW, GtkWidget)

/* The day at a glance: vehicles online, moving, stopped and offline (the
 * gateway's snapshot of the whole fleet, GET /locations), shipments open by status and overdue now (GET
 * /shipments/summary), and each carrier's limit use (GET /carriers), read
 * again every 30 s while shown. Each count is a button that opens the
 * view it counts, filtered: win.show-vehicles ("moving", …),
 * win.show-shipments (a status, or "overdue"), win.show-carriers. */
GtkWidget  *wb_overview_view_new        (void);
void        wb_overview_view_set_model  (WbOverviewView *self,
                                         WbVehicleModel *model);
void        wb_overview_view_set_client (WbOverviewView *self,
                                         WbClient       *client);
/* Reads the server's counts again now. */
void        wb_overview_view_reload     (WbOverviewView *self);
/* A count as shown ("12"), by its name: "vehicles-moving",
 * "shipments-IN_TRANSIT", "shipments-overdue", "carrier-CDEK"; %NULL
 * for one not shown. */
const char *wb_overview_view_get_count  (WbOverviewView *self,
                                         const char     *name);
gboolean    wb_overview_view_get_loading (WbOverviewView *self);

G_END_DECLS
