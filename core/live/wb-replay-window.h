// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-live-view.h"

G_BEGIN_DECLS

/* One change of one vehicle on the stream, at stream position @seq.
 * Keeps both states so each view can tell, on replay as live, whether the
 * vehicle entered, left or moved in it (wb_live_view_classify()).
 * Immutable and atomically refcounted. */
typedef struct
{
  guint64        seq;
  gint64         appended_at;   /* monotonic µs the window took it */
  WbLiveVehicle *old_state;     /* nullable: first seen */
  WbLiveVehicle *new_state;     /* nullable: removed */
} WbLiveUpdate;

typedef enum
{
  WB_REPLAY_OK,       /* the updates after the position, possibly none */
  WB_REPLAY_RESYNC,   /* another epoch, or outside the window: send
                       * {"type":"resync"} and a fresh snapshot */
} WbReplayResult;

#define WB_TYPE_LIVE_UPDATE (wb_live_update_get_type ())

GType         wb_live_update_get_type (void) G_GNUC_CONST;
WbLiveUpdate *wb_live_update_ref      (WbLiveUpdate *update);
void          wb_live_update_unref    (WbLiveUpdate *update);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbLiveUpdate, wb_live_update_unref)

#define WB_TYPE_REPLAY_WINDOW (wb_replay_window_get_type ())
G_DECLARE_FINAL_TYPE (WbReplayWindow, wb_replay_window, WB, REPLAY_WINDOW, GObject)

/* The stream position {epoch, seq} and a ring of the most recent updates,
 * bounded by count and by age, so that a client that reconnects can get
 * exactly what it missed.
 *
 * The epoch is a random string made once per window (once per gateway
 * start): a seq from another epoch means nothing here, and gets a resync.
 * Seqs start at 1 and grow by one per update; a client that has seen
 * nothing yet holds seq 0 of the current epoch.
 *
 * Thread safety: every function may be called from any thread (a mutex
 * held for the copy of at most the window's pointers). */
WbReplayWindow *wb_replay_window_new            (guint            max_count,
                                                 GTimeSpan        max_age);
/* As wb_replay_window_new(), with a given epoch (tests, a restart that
 * must look like one). */
WbReplayWindow *wb_replay_window_new_with_epoch (const char      *epoch,
                                                 guint            max_count,
                                                 GTimeSpan        max_age);
const char     *wb_replay_window_get_epoch      (WbReplayWindow  *self);
/* The seq of the newest update, 0 before the first. */
guint64         wb_replay_window_get_seq        (WbReplayWindow  *self);
/* Takes the next seq for a change and keeps it. @now is monotonic µs
 * (g_get_monotonic_time()); updates older than max_age are dropped.
 *
 * Returns: (transfer full): the update, with its seq */
WbLiveUpdate   *wb_replay_window_append         (WbReplayWindow  *self,
                                                 WbLiveVehicle   *old_state,
                                                 WbLiveVehicle   *new_state,
                                                 gint64           now);
/* The updates after @seq, oldest first, if @epoch is this window's and
 * every update after @seq is still held (no gap), else WB_REPLAY_RESYNC
 * with *@out_updates %NULL. A seq ahead of the stream is a resync too.
 * The caller filters them for its view.
 *
 * @out_updates: (transfer full) (element-type WbLiveUpdate) */
WbReplayResult  wb_replay_window_since          (WbReplayWindow  *self,
                                                 const char      *epoch,
                                                 guint64          seq,
                                                 gint64           now,
                                                 GPtrArray      **out_updates);

G_END_DECLS
