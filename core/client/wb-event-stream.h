// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-client.h"
#include "wb-stream-state.h"

G_BEGIN_DECLS

#define WB_TYPE_EVENT_STREAM (wb_event_stream_get_type ())

G_DECLARE_FINAL_TYPE (WbEventStream, wb_event_stream, WB, EVENT_STREAM, GObject)

/* /ws/events kept live: shipment, SLA and device events, trip changes and
 * reassignment outcomes as they happen.
 * A lost stream is retried with back-off and resumed from the last
 * {epoch, seq}, so no event is missed or given twice inside the server's
 * replay window.
 *
 * Signals:
 * - "event" (JsonObject *event): one event, in seq order; members as
 *   docs/live.md lists them ("kind", "seq", "type", …);
 * - "resync": events were missed (another epoch, or outside the window):
 *   read what matters again over REST.
 * Main thread only; nothing blocks. */
WbEventStream *wb_event_stream_new         (WbClient           *client);
/* @kinds: any of "shipment", "sla", "device", "trip", "command" (%NULL:
 * the server's default, shipment, sla and device); @client_ids,
 * @shipment_ids: %NULL for no filter. Sent at once when the stream is
 * open, else with the next subscribe. */
void           wb_event_stream_set_filter  (WbEventStream      *self,
                                            const char * const *kinds,
                                            const char * const *client_ids,
                                            const char * const *shipment_ids);
/* Trip changes and command outcomes of @trip_ids only (%NULL: every
 * trip's); sent like the filter above, which leaves it as it is. */
void           wb_event_stream_set_trip_ids (WbEventStream     *self,
                                            const char * const *trip_ids);
void           wb_event_stream_set_backoff (WbEventStream      *self,
                                            guint               min_ms,
                                            guint               max_ms);
void           wb_event_stream_start       (WbEventStream      *self);
void           wb_event_stream_stop        (WbEventStream      *self);
WbStreamState  wb_event_stream_get_state   (WbEventStream      *self);
const char    *wb_event_stream_get_epoch   (WbEventStream      *self);
guint64        wb_event_stream_get_seq     (WbEventStream      *self);
const GError  *wb_event_stream_get_error   (WbEventStream      *self);

G_END_DECLS
