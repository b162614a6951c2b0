// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <gio/gio.h>

#include "wb-bus.h"
#include "wb-carrier-stats.h"
#include "wb-carrier-table.h"
#include "wb-db-pool.h"
#include "wb-polling-ladder.h"
#include "wb-status-map.h"

G_BEGIN_DECLS

#define WB_TYPE_CARRIER_WORKER (wb_carrier_worker_get_type ())

G_DECLARE_FINAL_TYPE (WbCarrierWorker, wb_carrier_worker, WB, CARRIER_WORKER, GObject)

typedef struct
{
  guint64 checks;         /* checks recorded */
  guint64 new_events;     /* events not stored before */
  guint64 ok;             /* by the carrier's answer … */
  guint64 not_found;
  guint64 failed;
  guint64 rate_limited;
  guint64 stale;          /* the lease had run out or moved: nothing written */
  guint64 bad_messages;   /* TRACKING_UPDATEs that could not be used */
  guint64 retries;        /* batches put back: the database was away */
} WbWorkerCounts;

/**
 * WbCarrierWorker:
 *
 * The carrier-worker role: consumes TRACKING_UPDATE (group
 * "carrier-worker"), asks the carrier's driver, and writes the check in one
 * transaction: the new events (idempotent per tracking), the status, the
 * next check from the ladder, the limiter's and breaker's view of the
 * answer, and the tracking.updated outbox row the tracker role applies to
 * the shipment. The batch is acknowledged after those commits.
 */
WbCarrierWorker *wb_carrier_worker_new        (WbDbPool              *pool,
                                               WbBus                 *bus,
                                               WbCarrierTable        *carriers,
                                               const WbPollingLadder *ladder,
                                               WbStatusMap           *map,
                                               GError               **error);
void             wb_carrier_worker_start      (WbCarrierWorker       *self);
void             wb_carrier_worker_stop       (WbCarrierWorker       *self);
void             wb_carrier_worker_get_counts (WbCarrierWorker       *self,
                                               WbWorkerCounts        *out_counts);
/* The same for one carrier's checks; zeros for a carrier not seen yet. */
void             wb_carrier_worker_get_carrier_counts (WbCarrierWorker *self,
                                               const char            *carrier,
                                               WbWorkerCounts        *out_counts);
WbCarrierStats  *wb_carrier_worker_get_stats  (WbCarrierWorker       *self);
void             wb_carrier_worker_set_stats  (WbCarrierWorker       *self,
                                               WbCarrierStats        *stats);

G_END_DECLS
