// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <libsoup/soup.h>

#include "wb-live-admission.h"
#include "wb-live-index.h"
#include "wb-live-stream.h"
#include "wb-metrics.h"
#include "wb-replay-window.h"

G_BEGIN_DECLS

/* What every fan-out thread of one gateway shares, owned by the gateway,
 * which outlives them. */
typedef struct
{
  GRWLock            *lock;        /* held for writing while a batch is applied */
  WbLiveIndex        *index;
  WbReplayWindow     *replay;
  WbLiveAdmission    *admission;   /* /ws/locations' limits, in all threads together */
  WbMetrics          *metrics;
  WbLiveStreamLimits  limits;
  guint               window_ms;
} WbLiveFanoutShared;

typedef struct _WbLiveFanout WbLiveFanout;

/* One share of the /ws/locations streams: their clients, a subscription
 * grid of their views, the batching timer, all in one main context.
 * @context: (nullable): an existing context whose thread runs this share
 * (the gateway's own), or %NULL for a thread and context of its own,
 * named "gateway-@number". */
WbLiveFanout *wb_live_fanout_new         (const WbLiveFanoutShared *shared,
                                          guint                     number,
                                          GMainContext             *context);
void          wb_live_fanout_free        (WbLiveFanout             *self);
GMainContext *wb_live_fanout_get_context (WbLiveFanout             *self);
/* Streams open or on their way here (any thread). */
guint         wb_live_fanout_get_load    (WbLiveFanout             *self);
/* Updates published here and not yet fanned out (any thread). */
guint         wb_live_fanout_get_backlog (WbLiveFanout             *self);
/* Counts one more stream on its way here (any thread). */
void          wb_live_fanout_reserve     (WbLiveFanout             *self);
/* Starts its thread, or, sharing a context, starts in the caller's thread,
 * which must be that context's. */
void          wb_live_fanout_start       (WbLiveFanout             *self);
/* Closes every stream (counted as "shutdown") and ends the thread;
 * returns once it has. */
void          wb_live_fanout_stop        (WbLiveFanout             *self);
/* From the thread that applies batches, while it holds the lock for
 * writing: @updates (WbLiveUpdate, seqs rising, never changed again) go
 * to this share's streams, in its own thread, in the order published. */
void          wb_live_fanout_publish     (WbLiveFanout             *self,
                                          GPtrArray                *updates);
/* In this share's context: an upgraded connection becomes a stream here. */
void          wb_live_fanout_take        (WbLiveFanout             *self,
                                          GIOStream                *stream,
                                          GSocket                  *socket,
                                          const char               *peer,
                                          gint64                    expires_at);

G_END_DECLS
