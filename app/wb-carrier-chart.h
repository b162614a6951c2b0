// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define WB_TYPE_CARRIER_CHART (wb_carrier_chart_get_type ())

G_DECLARE_FINAL_TYPE (WbCarrierChart, wb_carrier_chart, WB, CARRIER_CHART, GtkWidget)

/* A carrier's requests over the last hour, a bar a minute, drawn with
 * GtkSnapshot: answered (green) under throttled (yellow) under failed
 * (red), scaled to the busiest minute. Its accessible description sums the
 * hour up in words. */
GtkWidget *wb_carrier_chart_new         (void);
/* @minutes: (element-type WbClientCarrierMinute) (nullable): oldest first */
void       wb_carrier_chart_set_minutes (WbCarrierChart *self,
                                         GArray         *minutes);
/* The busiest minute's requests, the scale's top. */
guint      wb_carrier_chart_get_peak    (WbCarrierChart *self);

G_END_DECLS
