// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-paged-model.h"

#include "wb-client-trips.h"

G_BEGIN_DECLS

#define WB_TYPE_TRIP_LIST_MODEL (wb_trip_list_model_get_type ())

G_DECLARE_FINAL_TYPE (WbTripListModel, wb_trip_list_model, WB, TRIP_LIST_MODEL, WbPagedModel)

/* The trips GET /trips answers for one query, as a GListModel of
 * WbClientTrip, newest first, read a page at a time through the API's keyset cursor:
 * nothing is fetched until load_more(), and each call fetches one more
 * page, never everything. A view asks for more as it scrolls near the
 * end. Pages append; items never move.
 *
 * Properties: "loading" (a page is on its way), "has-more" (the server
 * has more pages; TRUE until the last page arrives), "n-items". */
WbTripListModel *wb_trip_list_model_new          (WbClient              *client,
                                                              const WbClientTripQuery *query);
const WbClientTripQuery *wb_trip_list_model_get_query    (WbTripListModel *self);
/* Fetches the next page unless one is on its way or none is left. */
void                   wb_trip_list_model_load_more    (WbTripListModel *self);
gboolean               wb_trip_list_model_get_loading  (WbTripListModel *self);
gboolean               wb_trip_list_model_get_has_more (WbTripListModel *self);
guint                  wb_trip_list_model_get_pages    (WbTripListModel *self);
/* Why the last page failed (a field error names the parameter); %NULL
 * after a success. A failed page may be asked for again. */
const GError          *wb_trip_list_model_get_error    (WbTripListModel *self);

G_END_DECLS
