// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <shumate/shumate.h>

#include "wb-location-stream.h"

G_BEGIN_DECLS

#define WB_TYPE_SUBSCRIPTION_LAYER (wb_subscription_layer_get_type ())

G_DECLARE_FINAL_TYPE (WbSubscriptionLayer, wb_subscription_layer, WB, SUBSCRIPTION_LAYER, ShumateLayer)

/* Keeps a WbLocationStream subscribed to what the map shows: the box of
 * the widget's corners, sent again when the viewport pans, zooms or
 * turns and when the map is resized (a window resized, the sidebar
 * shown or hidden), and the company chosen (#WbSubscriptionLayer:company-id),
 * so the server sends only that company's vehicles. It draws nothing and
 * takes no input: a layer only because ShumateMap allocates its layers
 * with its own size, which is how a resize is seen. */
WbSubscriptionLayer *wb_subscription_layer_new            (ShumateViewport     *viewport);
/* (nullable): the stream whose view follows the map. */
WbLocationStream    *wb_subscription_layer_get_stream     (WbSubscriptionLayer *self);
void                 wb_subscription_layer_set_stream     (WbSubscriptionLayer *self,
                                                           WbLocationStream    *stream);
/* (nullable): only this company's vehicles; %NULL for every company. */
const char          *wb_subscription_layer_get_company_id (WbSubscriptionLayer *self);
void                 wb_subscription_layer_set_company_id (WbSubscriptionLayer *self,
                                                           const char          *company_id);
/* The box last given to the stream. Returns: FALSE before the map had
 * a size. */
gboolean             wb_subscription_layer_get_bbox       (WbSubscriptionLayer *self,
                                                           WbLiveBbox          *bbox);

G_END_DECLS
