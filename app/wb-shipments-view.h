// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <adwaita.h>

#include "wb-client.h"
#include "wb-shipment-detail.h"
#include "wb-shipment-search-model.h"

G_BEGIN_DECLS

#define WB_TYPE_SHIPMENTS_VIEW (wb_shipments_view_get_type ())

G_DECLARE_FINAL_TYPE (WbShipmentsView, wb_shipments_view, WB, SHIPMENTS_VIEW, GtkWidget)

/* The Shipments view: a search form (recipient phone in any notation,
 * status, client, creation dates, overdue), the results in a column view
 * that reads the next page as it scrolls near the end, and a shipment's
 * detail with its live timeline.
 *
 * Actions: shipments.search (the form), shipments.open (s: a shipment
 * id), shipments.back (Alt+Left or Escape: to the results). */
GtkWidget             *wb_shipments_view_new            (void);
void                   wb_shipments_view_set_client     (WbShipmentsView *self,
                                                         WbClient        *client);
/* Shipments a page; 0 (the default) for the server's own page size. */
void                   wb_shipments_view_set_page_size  (WbShipmentsView *self,
                                                         guint            page_size);
/* Focuses the phone field (Ctrl+F while the view shows). */
void                   wb_shipments_view_focus_search   (WbShipmentsView *self);
/* The current search's results, %NULL before the first search. */
WbShipmentSearchModel *wb_shipments_view_get_results    (WbShipmentsView *self);
GtkColumnView         *wb_shipments_view_get_column_view (WbShipmentsView *self);
WbShipmentDetail      *wb_shipments_view_get_detail     (WbShipmentsView *self);
/* Whether the detail page is the one showing. */
gboolean               wb_shipments_view_get_detail_shown (WbShipmentsView *self);

/* The shipment editor this view opened (shipments.new, shipments.edit),
 * while it is open. */
GtkWidget *wb_shipments_view_get_editor (WbShipmentsView *self);
/* The results of one status (%NULL: any) or the overdue ones, every other
 * filter cleared: what the overview's counts open. */
void       wb_shipments_view_search_status (WbShipmentsView *self,
                                            const char      *status,
                                            gboolean         overdue);
/* The detail's map tiles, as the window's. */
void       wb_shipments_view_set_tiles  (WbShipmentsView *self,
                                         const char      *tiles);
/* Whether the token may create and edit shipments (known once /whoami
 * answered). */
gboolean   wb_shipments_view_get_may_write (WbShipmentsView *self);

G_END_DECLS
