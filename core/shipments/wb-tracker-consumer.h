// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-bus.h"
#include "wb-carrier-messages.h"
#include "wb-shipment-store.h"
#include "wb-status-map.h"

G_BEGIN_DECLS

#define WB_TYPE_TRACKER_CONSUMER (wb_tracker_consumer_get_type ())

G_DECLARE_FINAL_TYPE (WbTrackerConsumer, wb_tracker_consumer, WB, TRACKER_CONSUMER, GObject)

/* Totals since the consumer was made. A redelivered batch counts again
 * (as duplicates), so these describe work done, not distinct messages. */
typedef struct
{
  guint64 applied_events;     /* events stored (new in the history) */
  guint64 duplicates;         /* events, tickets and checks already stored */
  guint64 shipments_created;  /* TICKET_CREATED that made a shipment */
  guint64 checks_recorded;    /* tracking.updated recorded on their tracking */
  guint64 skipped_closed;     /* events for closed shipments: nothing to do */
  guint64 failed_items;       /* tickets, checks, events the store refused */
  guint64 dead_letters;       /* messages published to <topic>.dlq */
  guint64 retries;            /* batches put back after a transient fault */
} WbTrackerCounts;

/* The tracker role's consumer (docs/tracker.md): carrier responses,
 * tickets, worker events and check results off the bus, into @store. */
WbTrackerConsumer *wb_tracker_consumer_new        (WbBus              *bus,
                                                   WbShipmentStore    *store,
                                                   WbStatusMap        *map);
/* Subscribes group "tracker". @topics: (nullable): the five topic names in
 * WbCarrierMessageKind order, NULL-terminated; NULL for
 * wb_carrier_message_default_topics(). */
void               wb_tracker_consumer_start      (WbTrackerConsumer  *self,
                                                   const char * const *topics);
void               wb_tracker_consumer_stop       (WbTrackerConsumer  *self);
void               wb_tracker_consumer_get_counts (WbTrackerConsumer  *self,
                                                   WbTrackerCounts    *out_counts);

G_END_DECLS
