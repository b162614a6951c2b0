// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-live-view.h"

G_BEGIN_DECLS

/* One subscription a change concerns, and how. */
typedef struct
{
  guint64      subscription_id;
  WbLiveMatch  match;            /* ENTERED, LEFT or MOVED, never NONE */
  gpointer     data;             /* the subscription's, as set */
} WbLiveSubscriptionMatch;

#define WB_TYPE_LIVE_SUBSCRIPTIONS (wb_live_subscriptions_get_type ())
G_DECLARE_FINAL_TYPE (WbLiveSubscriptions, wb_live_subscriptions, WB, LIVE_SUBSCRIPTIONS, GObject)

/* Every client's view, indexed by the same grid as WbLiveIndex
 * (WB_LIVE_CELL_DEGREES): each cell lists the subscriptions whose bbox
 * overlaps it, so one position update looks at the subscribers of at most
 * two cells instead of every view. Views wider than a few hundred cells
 * (a whole fleet, a country) are kept in a short list checked on every
 * update instead of being written into thousands of cells.
 *
 * Thread safety: every function may be called from any thread (a GRWLock;
 * matching takes the read lock). Subscription ids are the caller's, e.g.
 * a connection number, unique per subscription. */
WbLiveSubscriptions *wb_live_subscriptions_new    (void);
guint                wb_live_subscriptions_get_size (WbLiveSubscriptions *self);
/* Adds the subscription or replaces its view (a pan or zoom). The view is
 * copied; @data (e.g. the connection) comes back with each match, so that
 * the caller need not look the subscription up per change. */
void                 wb_live_subscriptions_set    (WbLiveSubscriptions *self,
                                                   guint64              subscription_id,
                                                   const WbLiveView    *view,
                                                   gpointer             data);
gboolean             wb_live_subscriptions_remove (WbLiveSubscriptions *self,
                                                   guint64              subscription_id);
/* Returns: (transfer full) (nullable): a copy of the subscription's view. */
WbLiveView          *wb_live_subscriptions_lookup (WbLiveSubscriptions *self,
                                                   guint64              subscription_id);
/* The subscriptions one change concerns: @old_state and @new_state as
 * wb_live_index_update() gives them (either nullable). Appends
 * WbLiveSubscriptionMatch items to @out_matches (an array of them, which
 * the caller clears between calls) and returns how many it appended. */
guint                wb_live_subscriptions_match  (WbLiveSubscriptions *self,
                                                   const WbLiveVehicle *old_state,
                                                   const WbLiveVehicle *new_state,
                                                   GArray              *out_matches);

G_END_DECLS
