// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <glib.h>

#include "wb-status.h"

G_BEGIN_DECLS

/* The interval ladder and the retry policy (data/polling.conf), all in µs. */
typedef struct
{
  gint64 pending;
  gint64 in_transit;
  double idle_factor;
  gint64 idle_max;
  gint64 out_for_delivery;
  gint64 pickup;
  gint64 exception;
  gint64 delivered;
  gint64 delivered_for;
  gint64 expire_after;
  double jitter;
  gint64 error_base;
  gint64 error_max;
  guint  max_retries;
  gint64 rate_limit_pause;
  guint  breaker_failures;
  gint64 breaker_pause;
  gint64 lease;
  gint64 tick;
  gint64 refresh_interval;
} WbPollingLadder;

/* What the ladder plans from, after a check. */
typedef struct
{
  WbStatus status;            /* WB_STATUS_INVALID: the carrier said nothing yet */
  gint64   status_at;         /* µs */
  gint64   last_change_at;    /* µs: last time the carrier told us something new */
  guint    unchanged_checks;  /* checks in a row that brought nothing new */
} WbPollingState;

/* @text: NULL for the compiled-in data/polling.conf; @profile "default" or
 * "demo" (which inherits what it does not set). */
WbPollingLadder *wb_polling_ladder_load        (const char            *text,
                                                const char            *profile,
                                                GError               **error);
void             wb_polling_ladder_free        (WbPollingLadder       *ladder);
/* The interval before jitter for @state at @now; 0 = stop polling.
 * *out_expired is set when the silence has lasted expire-after. */
gint64           wb_polling_ladder_interval    (const WbPollingLadder *ladder,
                                                const WbPollingState  *state,
                                                gint64                 now,
                                                gboolean              *out_expired);
/* The back-off after the @consecutive_errors-th failed check in a row (≥ 1). */
gint64           wb_polling_ladder_error_delay (const WbPollingLadder *ladder,
                                                guint                  consecutive_errors);
/* @interval spread by ±jitter; @random01 uniform in [0, 1). */
gint64           wb_polling_ladder_jitter      (const WbPollingLadder *ladder,
                                                gint64                 interval,
                                                double                 random01);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbPollingLadder, wb_polling_ladder_free)

G_END_DECLS
