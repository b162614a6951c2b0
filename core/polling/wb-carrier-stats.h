// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/* How one request to a carrier ended, as counted per carrier. */
typedef enum
{
  WB_CARRIER_OUTCOME_OK,
  WB_CARRIER_OUTCOME_NOT_FOUND,
  WB_CARRIER_OUTCOME_THROTTLED,    /* 429 */
  WB_CARRIER_OUTCOME_ERROR,        /* 5xx or another status the driver does not take */
  WB_CARRIER_OUTCOME_UNREADABLE,   /* 200 with a body that could not be read */
  WB_CARRIER_OUTCOME_TIMEOUT,      /* no answer: timed out, or no connection */
  WB_CARRIER_OUTCOME_STALE,        /* answered, but the lease had moved on: nothing written */
  WB_CARRIER_N_OUTCOMES
} WbCarrierOutcome;

/* Minutes kept for the last hour's series. */
#define WB_CARRIER_STATS_MINUTES 60

typedef struct
{
  guint64 outcomes[WB_CARRIER_N_OUTCOMES];
  guint64 waits;           /* calls that went out … */
  gint64  wait_us_sum;     /* … and how long they waited for their permits, in all */
} WbCarrierStatsTotals;

#define WB_TYPE_CARRIER_STATS (wb_carrier_stats_get_type ())

G_DECLARE_FINAL_TYPE (WbCarrierStats, wb_carrier_stats, WB, CARRIER_STATS, GObject)

/**
 * WbCarrierStats:
 *
 * What this daemon's carrier workers saw of each carrier, in memory: the
 * requests by outcome since start, the time calls waited for their
 * permits, and the outcomes per minute over the last hour (for a chart).
 * Any thread may record and read.
 */
WbCarrierStats *wb_carrier_stats_new             (void);
const char     *wb_carrier_outcome_to_string     (WbCarrierOutcome      outcome);
void            wb_carrier_stats_record          (WbCarrierStats       *self,
                                                  const char           *carrier,
                                                  WbCarrierOutcome      outcome,
                                                  gint64                now_us);
void            wb_carrier_stats_record_wait     (WbCarrierStats       *self,
                                                  const char           *carrier,
                                                  gint64                wait_us);
/* Zeros for a carrier not seen yet. */
void            wb_carrier_stats_get_totals      (WbCarrierStats       *self,
                                                  const char           *carrier,
                                                  WbCarrierStatsTotals *out_totals);
/* Appends a JSON array of WB_CARRIER_STATS_MINUTES objects, oldest first,
 * the last one the minute of @now_us: {"minute","ok","error","throttled"}
 * (ok counts not-found answers too; error every failure). */
void            wb_carrier_stats_write_last_hour (WbCarrierStats       *self,
                                                  const char           *carrier,
                                                  gint64                now_us,
                                                  GString              *out);
void            wb_carrier_stats_write_json      (WbCarrierStats       *self,
                                                  const char           *carrier,
                                                  gint64                now_us,
                                                  GString              *out);
/* Whether a carrier worker of this process records into it. */
void            wb_carrier_stats_set_recording   (WbCarrierStats       *self,
                                                  gboolean              recording);
gboolean        wb_carrier_stats_get_recording   (WbCarrierStats       *self);

G_END_DECLS
