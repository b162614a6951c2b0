// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-bus.h"
#include "wb-dispatch-store.h"

G_BEGIN_DECLS

#define WB_TYPE_DISPATCH_CONSUMER (wb_dispatch_consumer_get_type ())

G_DECLARE_FINAL_TYPE (WbDispatchConsumer, wb_dispatch_consumer, WB, DISPATCH_CONSUMER, GObject)

/* Totals since the consumer was made; a redelivered command counts as a
 * duplicate. */
typedef struct
{
  guint64 applied;       /* commands applied */
  guint64 rejected;      /* commands rejected, with their reason */
  guint64 duplicates;    /* commands already decided */
  guint64 dead_letters;  /* messages published to <topic>.dlq */
  guint64 retries;       /* batches put back after a transient fault */
  guint64 positions;     /* positions.enriched judged for stops */
  guint64 arrivals;      /* stop arrivals detected */
  guint64 departures;    /* stop departures detected */
  guint64 batches;       /* batches made by automatic batching */
  guint64 auto_commands; /* reassignments asked for silent vehicles */
} WbDispatchCounts;

/* The dispatch role's consumer of commands.trip.reassign: each command is
 * decided in one transaction (the change and the outcome together), the
 * batch acknowledged after the commits; a message that cannot be decoded
 * goes to the dead-letter topic and the stream goes on. */
WbDispatchConsumer *wb_dispatch_consumer_new        (WbBus              *bus,
                                                     WbDispatchStore    *store);
/* Stop detection from positions.enriched (dispatch.stop-radius,
 * dispatch.stop-dwell); call before start. */
void                wb_dispatch_consumer_set_stop_rule (WbDispatchConsumer *self,
                                                     double              radius_m,
                                                     gint64              dwell_us);
/* Automatic batching every @interval_ms (0, the default: off); call
 * before start. */
void                wb_dispatch_consumer_set_auto_batch (WbDispatchConsumer *self,
                                                     guint               interval_ms);
/* Automatic reassignment of the IN_TRANSIT trip of a vehicle silent for
 * @after_ms (from device.offline; 0, the default: off); call before start. */
void                wb_dispatch_consumer_set_auto_reassign (WbDispatchConsumer *self,
                                                     guint               after_ms);
/* Subscribes group "dispatch" to commands.trip.reassign and
 * positions.enriched. */
void                wb_dispatch_consumer_start      (WbDispatchConsumer *self);
void                wb_dispatch_consumer_stop       (WbDispatchConsumer *self);
void                wb_dispatch_consumer_get_counts (WbDispatchConsumer *self,
                                                     WbDispatchCounts   *out_counts);
/* The vehicle, time and place of one positions.enriched payload, or NULL
 * (with @error) for one without a vehicle or not decodable. */
WbDispatchPosition *wb_dispatch_decode_position     (GBytes             *payload,
                                                     GError            **error);
/* Decodes one commands.trip.reassign payload into an APPLY_REASSIGN
 * request, or fails with a WB_JSON_ERROR naming the field. */
WbDispatchRequest  *wb_dispatch_decode_reassign     (GBytes             *payload,
                                                     GError            **error);

G_END_DECLS
