// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <adwaita.h>

#include "wb-tracking-list-model.h"

G_BEGIN_DECLS

#define WB_TYPE_TRACKINGS_VIEW (wb_trackings_view_get_type ())

G_DECLARE_FINAL_TYPE (WbTrackingsView, wb_trackings_view, WB, TRACKINGS_VIEW, GtkWidget)

/* Carrier polling as a dispatcher sees it. "Numbers": paste many track
 * numbers with a carrier and see each one's outcome (POST /trackings);
 * the trackings with status, last and next check and error, filtered and
 * paged as the list scrolls (GET /trackings), each with a Check Now
 * button (POST /trackings/{id}/refresh). "Carriers": each carrier's limit
 * use from GET /carriers, read again every 10 s while shown: requests a
 * minute over the last hour as a chart, the quota used and left today,
 * the breaker and a 429 block.
 *
 * Actions: trackings.add, trackings.reload (F5), trackings.refresh (x: a
 * tracking's id). */
GtkWidget           *wb_trackings_view_new             (void);
void                 wb_trackings_view_set_client      (WbTrackingsView *self,
                                                        WbClient        *client);
void                 wb_trackings_view_set_page_size   (WbTrackingsView *self,
                                                        guint            page_size);
WbTrackingListModel *wb_trackings_view_get_results     (WbTrackingsView *self);
/* The last GET /carriers read (element-type WbClientCarrier), or %NULL. */
GPtrArray           *wb_trackings_view_get_carriers    (WbTrackingsView *self);
/* Shows "numbers" or "carriers". */
void                 wb_trackings_view_show_page       (WbTrackingsView *self,
                                                        const char      *name);
/* Reads GET /carriers again now. */
void                 wb_trackings_view_reload_carriers (WbTrackingsView *self);

G_END_DECLS
