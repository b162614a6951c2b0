// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-paged-model.h"

#include "wb-client.h"

G_BEGIN_DECLS

#define WB_TYPE_SHIPMENT_SEARCH_MODEL (wb_shipment_search_model_get_type ())

G_DECLARE_FINAL_TYPE (WbShipmentSearchModel, wb_shipment_search_model, WB, SHIPMENT_SEARCH_MODEL, WbPagedModel)

/* The results of one shipment search as a GListModel of WbClientShipment,
 * newest first, read a page at a time through the API's keyset cursor:
 * nothing is fetched until load_more(), and each call fetches one more
 * page, never everything. A view asks for more as it scrolls near the
 * end. Pages append; items never move.
 *
 * Properties: "loading" (a page is on its way), "has-more" (the server
 * has more pages; TRUE until the last page arrives), "n-items". */
WbShipmentSearchModel *wb_shipment_search_model_new          (WbClient              *client,
                                                              const WbClientShipmentQuery *query);
const WbClientShipmentQuery *wb_shipment_search_model_get_query    (WbShipmentSearchModel *self);
/* Fetches the next page unless one is on its way or none is left. */
void                   wb_shipment_search_model_load_more    (WbShipmentSearchModel *self);
gboolean               wb_shipment_search_model_get_loading  (WbShipmentSearchModel *self);
gboolean               wb_shipment_search_model_get_has_more (WbShipmentSearchModel *self);
guint                  wb_shipment_search_model_get_pages    (WbShipmentSearchModel *self);
/* Why the last page failed (a field error names the parameter); %NULL
 * after a success. A failed page may be asked for again. */
const GError          *wb_shipment_search_model_get_error    (WbShipmentSearchModel *self);

G_END_DECLS
