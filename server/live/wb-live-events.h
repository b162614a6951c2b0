// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-bus.h"
#include "wb-http-server.h"
#include "wb-live-stream.h"
#include "wb-metrics.h"

G_BEGIN_DECLS

#define WB_TYPE_LIVE_EVENTS (wb_live_events_get_type ())

G_DECLARE_FINAL_TYPE (WbLiveEvents, wb_live_events, WB, LIVE_EVENTS, GObject)

/* The /ws/events stream (docs/live.md): shipment status changes and SLA
 * breaches from tracking.events, device online and offline, each a fact
 * with its own {epoch, seq}, kept in a replay window bounded by count and
 * age. Nothing is coalesced; a client whose queue stays over the bound past
 * the deadline is closed. */
WbLiveEvents *wb_live_events_new      (WbBus                    *bus,
                                       WbMetrics                *metrics,
                                       const WbLiveStreamLimits *limits,
                                       guint                     replay_size,
                                       GTimeSpan                 replay_age,
                                       guint                     max_connections,
                                       guint                     max_per_peer,
                                       guint                     window_ms);
void          wb_live_events_register (WbLiveEvents             *self,
                                       WbHttpServer             *http,
                                       GMainContext             *context);
/* Subscribes in the consumer group @group, this instance's own. */
void          wb_live_events_start    (WbLiveEvents             *self,
                                       const char               *group);
void          wb_live_events_stop     (WbLiveEvents             *self);

G_END_DECLS
