// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* What a simulator run did, for its summary. */
typedef struct
{
  gint64      started;      /* monotonic µs */
  guint64     sent;         /* positions sent (first attempts) */
  guint64     accepted;     /* positions the server took */
  guint64     refused;      /* positions the server refused, also by reason */
  guint64     failed;       /* positions given up on: the server could not be reached */
  guint64     retries;      /* requests or frames sent again (503, short ack, reconnect) */
  GHashTable *reasons;      /* "400 unknown_device" → guint64 count, owned */
} WbSimStats;

void      wb_sim_stats_init         (WbSimStats       *stats);
void      wb_sim_stats_clear        (WbSimStats       *stats);
void      wb_sim_stats_add_refused  (WbSimStats       *stats,
                                     const char       *reason,
                                     guint64           count);
/* One or a few lines: counts, refusals by reason, achieved rate. */
char     *wb_sim_stats_format       (const WbSimStats *stats,
                                     const char       *heading);

G_END_DECLS
