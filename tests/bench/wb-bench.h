// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <gio/gio.h>

#include "wb-embedded-postgres.h"

G_BEGIN_DECLS

/* What the benchmark programs share: medians, and the built waybilld
 * ($WAYBILLD) run as a user runs it, on a given database. */

/* An embedded PostgreSQL cluster, started, in a fresh temporary directory
 * (tests/wb-test-pg.c's): whenever this process exits, a server still
 * running there is stopped and the directory removed, a benchmark that
 * aborts included. g_error() if it cannot start. */
WbEmbeddedPostgres *wb_bench_cluster_start (void);

/* Sorts @values (of double) and returns the middle one. */
double  wb_bench_median (GArray *values);

typedef struct
{
  GSubprocess *process;
  GThread     *drain;       /* reads its log to the end, so it never blocks on a full pipe */
  guint        port;
} WbBenchDaemon;

/* DB_DSN=@conninfo, SERVER_PORT=0, no auth, --log-level=message, device
 * listeners off unless @extra_args say otherwise; returns once it listens.
 * Warnings in its log are shown on stderr. */
WbBenchDaemon *wb_bench_daemon_start (const char         *conninfo,
                                      const char * const *extra_args);
/* SIGTERM, and waits for it. */
void           wb_bench_daemon_stop  (WbBenchDaemon      *daemon);
/* Polls /readyz until 200 (30 s at most, else g_error). */
void           wb_bench_wait_ready   (guint               port);

G_END_DECLS
