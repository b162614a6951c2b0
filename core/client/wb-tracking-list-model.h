// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-paged-model.h"

#include "wb-client-trackings.h"

G_BEGIN_DECLS

#define WB_TYPE_TRACKING_LIST_MODEL (wb_tracking_list_model_get_type ())

G_DECLARE_FINAL_TYPE (WbTrackingListModel, wb_tracking_list_model, WB, TRACKING_LIST_MODEL, WbPagedModel)

/* The trackings GET /trackings answers for one query, as a paged
 * GListModel of WbClientTracking by id (WbPagedModel: load_more() reads
 * one more page). */
WbTrackingListModel         *wb_tracking_list_model_new       (WbClient                    *client,
                                                               const WbClientTrackingQuery *query);
const WbClientTrackingQuery *wb_tracking_list_model_get_query (WbTrackingListModel         *self);

G_END_DECLS
