// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <glib-object.h>
#include <libpq-fe.h>

#include "wb-track.h"
#include "wb-vehicle-state.h"

G_BEGIN_DECLS

#define WB_TYPE_POSITION_HISTORY (wb_position_history_get_type ())

/**
 * WbPositionHistory:
 *
 * The positions table (one partition per UTC day), the vehicles' state
 * snapshot and the carrier locations the fleet processor derives from
 * them. It holds the configuration and a cache of the partitions known to
 * exist; every call is synchronous and runs on the caller's thread with the
 * caller's connection, so one object may serve several threads.
 *
 * Errors are %WB_DB_ERROR; any failure leaves nothing written.
 */
G_DECLARE_FINAL_TYPE (WbPositionHistory, wb_position_history, WB, POSITION_HISTORY, GObject)

/* @retention_days: days of history kept besides today, 0 keeping all;
 * @days_ahead: partitions made ahead of today by maintenance, so that
 * writes seldom create one. */
WbPositionHistory *wb_position_history_new                (guint                retention_days,
                                                           guint                days_ahead);
guint              wb_position_history_get_retention_days (WbPositionHistory   *self);
guint              wb_position_history_get_days_ahead     (WbPositionHistory   *self);

/* Stores @positions and the snapshot @states (the newest state per vehicle
 * in this batch) in one transaction: the partitions of the days touched,
 * the rows by COPY, the states that are newer than the stored ones, and
 * the locations of the vehicles' IN_TRANSIT trips. A row already stored
 * (same device_id and device_time) is skipped, so a redelivered batch
 * changes nothing. Positions older than the retention are not stored.
 * @out_inserted: (out) (optional): rows that were new;
 * @out_expired: (out) (optional): positions past the retention. */
gboolean           wb_position_history_write              (WbPositionHistory   *self,
                                                           PGconn              *conn,
                                                           WbEnrichedPosition **positions,
                                                           guint                n_positions,
                                                           WbVehicleState     **states,
                                                           guint                n_states,
                                                           guint               *out_inserted,
                                                           guint               *out_expired,
                                                           GError             **error);

/* Creates the partitions from @now's day to days_ahead days later and drops
 * the ones past the retention; run at start and then hourly. @now: unix µs. */
gboolean           wb_position_history_maintain           (WbPositionHistory   *self,
                                                           PGconn              *conn,
                                                           gint64               now,
                                                           guint               *out_created,
                                                           guint               *out_dropped,
                                                           GError             **error);

/* Returns: (transfer full) (element-type WbVehicleState): every stored
 * vehicle state, to rebuild the in-memory table at start; %NULL on error. */
GPtrArray         *wb_position_history_load_states        (PGconn              *conn,
                                                           GError             **error);

/* Appends to @out_points (of WbTrackPoint) @vehicle_id's positions with
 * @from <= device time < @to (unix µs), oldest first, at most @max_points
 * of them (0: no limit; ask for one more than you accept to tell a cut
 * track). */
gboolean           wb_position_history_read_track         (PGconn              *conn,
                                                           const char          *vehicle_id,
                                                           gint64               from,
                                                           gint64               to,
                                                           guint                max_points,
                                                           GArray              *out_points,
                                                           GError             **error);

G_END_DECLS
