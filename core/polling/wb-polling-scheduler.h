// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <gio/gio.h>

#include "wb-bus.h"
#include "wb-carrier-table.h"
#include "wb-db-pool.h"
#include "wb-polling-ladder.h"

G_BEGIN_DECLS

#define WB_TYPE_POLLING_SCHEDULER (wb_polling_scheduler_get_type ())

G_DECLARE_FINAL_TYPE (WbPollingScheduler, wb_polling_scheduler, WB, POLLING_SCHEDULER, GObject)

typedef struct
{
  guint64 ticks;          /* claim transactions run */
  guint64 claimed;        /* trackings claimed (= permits taken) */
  guint64 published;      /* TRACKING_UPDATE messages the bus accepted */
  guint64 failures;       /* claim transactions that failed */
} WbSchedulerCounts;

typedef enum
{
  WB_BREAKER_CLOSED,
  WB_BREAKER_OPEN,        /* within its pause: the carrier is not called */
  WB_BREAKER_HALF_OPEN,   /* the pause is over: one probe decides */
} WbBreakerState;

/* A carrier's shared limits as the scheduler's latest claim read them. */
typedef struct
{
  gboolean       known;        /* FALSE until a claim has read the row */
  gint64         quota_used;   /* today (UTC), with the claim's own permits */
  gboolean       blocked;      /* a 429's block holds */
  WbBreakerState breaker;
} WbCarrierLimitsView;

const char *wb_breaker_state_to_string (WbBreakerState state);

/**
 * WbPollingScheduler:
 *
 * The scheduler role: every tick, for each carrier, one short transaction
 * locks the carrier's limiter, claims as many due trackings as it has
 * permits for (FOR UPDATE SKIP LOCKED, a lease named after @owner) and
 * takes those permits; after the commit one TRACKING_UPDATE per claim goes
 * to the bus. Works on the thread-default main context of _start().
 */
WbPollingScheduler *wb_polling_scheduler_new        (WbDbPool           *pool,
                                                     WbBus              *bus,
                                                     WbCarrierTable     *carriers,
                                                     const WbPollingLadder *ladder,
                                                     const char         *owner);
void                wb_polling_scheduler_start      (WbPollingScheduler *self);
void                wb_polling_scheduler_stop       (WbPollingScheduler *self);
void                wb_polling_scheduler_get_counts (WbPollingScheduler *self,
                                                     WbSchedulerCounts  *out_counts);
/* Carrier @index of the carriers table. */
void                wb_polling_scheduler_get_limits (WbPollingScheduler  *self,
                                                     guint                index,
                                                     WbCarrierLimitsView *out_view);

G_END_DECLS
