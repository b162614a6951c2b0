// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-client.h"
#include "wb-stream-state.h"
#include "wb-vehicle-model.h"

G_BEGIN_DECLS

#define WB_TYPE_LOCATION_STREAM (wb_location_stream_get_type ())

G_DECLARE_FINAL_TYPE (WbLocationStream, wb_location_stream, WB, LOCATION_STREAM, GObject)

/* Signals:
 * - "applied" (guint entered, guint updated, guint left): one frame of
 *   changes is in the model, e.g. to redraw once per frame;
 * - "resync": the server could not resume from the position held; the
 *   model was emptied and the fresh snapshot follows as entered items.
 *
 * /ws/locations kept live into a WbVehicleModel: entered and update items
 * apply, left ones remove, resync replaces the whole set. The view follows
 * wb_location_stream_set_view() (debounced). A lost stream is retried with
 * back-off and resumed from the last {epoch, seq}; meanwhile the model's
 * items are marked stale. Main thread only; nothing blocks. */
WbLocationStream *wb_location_stream_new          (WbClient           *client,
                                                   WbVehicleModel     *model);
WbVehicleModel   *wb_location_stream_get_model    (WbLocationStream   *self);
/* The box the client looks at (clamped to the world; one across the
 * antimeridian is refused, as the API refuses it), and optionally some
 * companies (%NULL or empty: every company). Sent as a subscribe once the view has rested for
 * the debounce delay. */
void              wb_location_stream_set_view     (WbLocationStream   *self,
                                                   const WbLiveBbox   *bbox,
                                                   const char * const *company_ids);
/* Default 150 ms; 0 sends every change at once. */
void              wb_location_stream_set_debounce (WbLocationStream   *self,
                                                   guint               debounce_ms);
/* Reconnect delays: from @min_ms doubling to @max_ms, jittered (default
 * 500 ms to 30 s). */
void              wb_location_stream_set_backoff  (WbLocationStream   *self,
                                                   guint               min_ms,
                                                   guint               max_ms);
/* Resume from a snapshot the caller holds (GET /locations of the current
 * view into the model): the first subscribe then carries this position as
 * since, so the stream continues exactly after the snapshot. */
void              wb_location_stream_set_position (WbLocationStream   *self,
                                                   const char         *epoch,
                                                   guint64             seq);
void              wb_location_stream_start        (WbLocationStream   *self);
void              wb_location_stream_stop         (WbLocationStream   *self);
WbStreamState     wb_location_stream_get_state    (WbLocationStream   *self);
/* The position held: the last frame applied. */
const char       *wb_location_stream_get_epoch    (WbLocationStream   *self);
guint64           wb_location_stream_get_seq      (WbLocationStream   *self);
/* Why the stream last failed or closed; %NULL when it never did. */
const GError     *wb_location_stream_get_error    (WbLocationStream   *self);

G_END_DECLS
