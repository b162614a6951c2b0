// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <gio/gio.h>

#include "wb-carrier-emulator.h"

G_BEGIN_DECLS

/* What `waybill-sim carriers` serves: the carrier emulator on a chosen
 * address, with its limits and faults. */
typedef struct
{
  GInetSocketAddress   *listen;          /* port 0: any free one */
  double                rate;            /* 0: unlimited */
  guint                 burst;
  guint                 daily_quota;     /* 0: none */
  WbEmulatorRetryAfter  retry_after;
  double                error_share;
  double                malformed_share;
  guint                 delay_ms;
  gint64                step_us;         /* 0: the emulator's own */
} WbSimCarriersOptions;

/* Serves until SIGINT or SIGTERM; prints the URL first, the counts every
 * 10 s while they change, and once more on exit. Returns the exit status. */
int   wb_sim_carriers_run          (const WbSimCarriersOptions *options);
char *wb_sim_carriers_format_counts (const WbEmulatorCounts    *counts);

G_END_DECLS
