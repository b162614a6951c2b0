// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-live-view.h"

G_BEGIN_DECLS

/* The grid's cell edge in degrees, for both the vehicle index and the
 * subscription index. 0.05° is about 5.5 km north-south and 3.5 km
 * east-west at 50°N: a city-district view (the common map zoom) covers a
 * handful of cells and a whole city a few dozen, so a query visits few
 * cells and discards few vehicles at its edges. Smaller cells make wide
 * views visit many empty cells; larger ones make district views scan
 * vehicles outside them. */
#define WB_LIVE_CELL_DEGREES 0.05

/* The filters of GET /locations. Every member left empty is no filter;
 * a query with no filter at all answers the vehicles on an active trip
 * (the default of the tracking service). Zero-initialise, then set. */
typedef struct
{
  gboolean            has_bbox;
  WbLiveBbox          bbox;
  const char * const *company_ids;   /* nullable, %NULL-terminated: any of them */
  const char * const *vehicle_ids;   /* nullable, %NULL-terminated: any of them */
  gboolean            has_state;
  WbLiveState         state;
  gboolean            trip_active;   /* only vehicles with a trip_id */
} WbLiveQuery;

#define WB_TYPE_LIVE_INDEX (wb_live_index_get_type ())
G_DECLARE_FINAL_TYPE (WbLiveIndex, wb_live_index, WB, LIVE_INDEX, GObject)

/* Every vehicle's current state, with a uniform lon/lat grid over
 * positions.
 *
 * Thread safety: every function may be called from any thread. Updates
 * take a write lock (GRWLock) for a few hash operations; queries take the
 * read lock, so gateway threads read concurrently. States are immutable
 * and handed out as references, so nothing returned changes under its
 * holder. */
WbLiveIndex   *wb_live_index_new            (void);
guint          wb_live_index_get_size       (WbLiveIndex          *self);
/* Returns: (transfer full) (nullable): the current state. */
WbLiveVehicle *wb_live_index_lookup         (WbLiveIndex          *self,
                                             const char           *vehicle_id);
/* Replaces the state of @vehicle->vehicle_id with @vehicle (the index
 * takes its own reference; @vehicle must not change afterwards), moving
 * it across cells as needed. A state with a position outside
 * [-180,180]x[-90,90] or NAN is kept out of the grid (found by id only).
 *
 * Returns: (transfer full) (nullable): the previous state, for
 * wb_live_subscriptions_match(). */
WbLiveVehicle *wb_live_index_update         (WbLiveIndex          *self,
                                             WbLiveVehicle        *vehicle);
/* As wb_live_index_update(), but only if @vehicle is not older than the
 * current state (by fix_time; a state without one is never older), in one
 * step under the lock: a late or redelivered position never replaces a
 * newer one, whatever thread applies it.
 *
 * @out_old: (transfer full) (optional) (nullable): the previous state
 *   when applied
 * Returns: whether @vehicle was applied */
gboolean       wb_live_index_update_if_newer (WbLiveIndex         *self,
                                              WbLiveVehicle       *vehicle,
                                              WbLiveVehicle      **out_old);
/* Online and offline changes: a new state, a copy of the current one with
 * @state and @server_time (0 keeps it). Returns %FALSE, with both outs
 * %NULL, for an unknown vehicle.
 *
 * @out_old, @out_new: (transfer full) (optional) */
gboolean       wb_live_index_set_state      (WbLiveIndex          *self,
                                             const char           *vehicle_id,
                                             WbLiveState           state,
                                             gint64                server_time,
                                             WbLiveVehicle       **out_old,
                                             WbLiveVehicle       **out_new);
/* Returns: (transfer full) (nullable): the state removed. */
WbLiveVehicle *wb_live_index_remove         (WbLiveIndex          *self,
                                             const char           *vehicle_id);
/* The vehicles matching @query, in no particular order. Fails, naming the
 * field "bbox" (WB_JSON_ERROR_FIELD), if query->bbox is not valid.
 *
 * Returns: (transfer full) (element-type WbLiveVehicle): references */
GPtrArray     *wb_live_index_query          (WbLiveIndex          *self,
                                             const WbLiveQuery    *query,
                                             GError              **error);
/* What a client must be told when its view changes from @old_view
 * (nullable: a first subscribe) to @new_view: the vehicles now inside
 * @new_view that were not inside @old_view, with their full state, and
 * the ids of those inside @old_view that are no longer inside @new_view.
 * Both are judged on the current states, which is what the client holds
 * once it has every update up to now.
 *
 * @out_entered: (transfer full) (element-type WbLiveVehicle)
 * @out_left_ids: (transfer full) (element-type utf8) */
void           wb_live_index_diff_views     (WbLiveIndex          *self,
                                             const WbLiveView     *old_view,
                                             const WbLiveView     *new_view,
                                             GPtrArray           **out_entered,
                                             GPtrArray           **out_left_ids);

G_END_DECLS
