// SPDX-License-Identifier: GPL-3.0-or-later
/* Carrier polling, two figures:
 *
 * 1. Claims per second with 100 000 due trackings: the scheduler (limiter
 *    row locked, permits scheduled, leases set, TRACKING_UPDATE published
 *    on the in-process bus) against a plain libpq loop running the same
 *    FOR UPDATE SKIP LOCKED lease statement alone, in the same run.
 * 2. Requests per second held at a carrier's limit: scheduler, carrier
 *    worker and the carrier emulator (rate-limited itself) in one process
 *    on a backlog far above the limit; achieved rate against the limit,
 *    the most requests in any one-second window, 429s from overshooting,
 *    and checks committed per second. */

#include "config.h"

#include <string.h>

#include "wb-bench.h"
#include "wb-bus-local.h"
#include "wb-carrier-emulator.h"
#include "wb-carrier-worker.h"
#include "wb-db.h"
#include "wb-migrations.h"
#include "wb-polling.h"
#include "wb-polling-scheduler.h"
#include "wb-test-server-thread.h"

#define N_CLAIMS   100000
#define RUNS       3
#define LIMIT      200.0
#define BACKLOG    20000
#define HOLD_S     15

static void
exec (PGconn     *conn,
      const char *sql)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PGresult) result = wb_db_exec (conn, sql, NULL, 0, NULL, &error);

  if (result == NULL)
    g_error ("%s: %s", sql, error->message);
}

static void
reset_due (PGconn *conn)
{
  exec (conn, "UPDATE trackings SET lease_owner = NULL, lease_expires_at = NULL,"
              " next_check_at = now() - interval '1 second'");
  exec (conn, "DELETE FROM carrier_limits");
  exec (conn, "VACUUM ANALYZE trackings");
}

static guint published;

static void
on_update (WbBus      *bus,
           WbBusBatch *batch,
           gpointer    data)
{
  published += wb_bus_batch_get_length (batch);
  wb_bus_batch_ack (batch);
}

static double
scheduler_claims_per_second (WbDbPool *pool)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(WbCarrierTable) carriers = wb_carrier_table_new_from_data (
    "[CDEK]\ndriver=emulator\nbase-url=http://127.0.0.1:9\nrate=100000\nburst=100000\n", &error);
  g_autoptr(WbPollingLadder) ladder = wb_polling_ladder_load (NULL, "demo", &error);
  g_autoptr(WbBus) bus = wb_bus_local_new (N_CLAIMS + 1000);
  g_autoptr(WbPollingScheduler) scheduler = NULL;
  const char *topics[] = { WB_TOPIC_TRACKING_UPDATE, NULL };
  gint64 start;
  double seconds;

  g_assert_no_error (error);
  ladder->tick = 1000;
  published = 0;
  wb_bus_subscribe (bus, "bench", topics, 10000, on_update, NULL, NULL);
  scheduler = wb_polling_scheduler_new (pool, bus, carriers, ladder, "bench");
  start = g_get_monotonic_time ();
  wb_polling_scheduler_start (scheduler);
  while (published < N_CLAIMS)
    g_main_context_iteration (NULL, TRUE);
  seconds = (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;
  wb_polling_scheduler_stop (scheduler);
  for (guint i = 0; i < 50; i++)
    g_main_context_iteration (NULL, FALSE);
  return N_CLAIMS / seconds;
}

static double
plain_claims_per_second (PGconn *conn)
{
  gint64 start = g_get_monotonic_time ();
  guint total = 0;

  while (total < N_CLAIMS)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(PGresult) result = NULL;

      exec (conn, "BEGIN");
      result = wb_db_exec (conn,
                           "WITH due AS (SELECT id FROM trackings WHERE carrier = 'CDEK' AND deleted_at IS NULL"
                           "             AND next_check_at <= now() ORDER BY next_check_at LIMIT 1000"
                           "             FOR UPDATE SKIP LOCKED)"
                           " UPDATE trackings t SET lease_owner = 'plain',"
                           "   lease_expires_at = clock_timestamp() + interval '30 seconds',"
                           "   next_check_at = clock_timestamp() + interval '30 seconds'"
                           " FROM due WHERE t.id = due.id RETURNING t.id, t.track_number",
                           NULL, 0, NULL, &error);
      if (result == NULL)
        g_error ("plain claim: %s", error->message);
      exec (conn, "COMMIT");
      total += PQntuples (result);
    }
  return N_CLAIMS / ((g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC);
}

static void
bench_claims (PGconn   *conn,
              WbDbPool *pool)
{
  g_autoptr(GArray) ours = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) plain = g_array_new (FALSE, FALSE, sizeof (double));
  double a, b;

  exec (conn, "INSERT INTO trackings (carrier, track_number, next_check_at)"
              " SELECT 'CDEK', 'C' || i, now() - interval '1 second' FROM generate_series(1, 100000) i");
  for (guint run = 0; run < RUNS; run++)
    {
      reset_due (conn);
      a = plain_claims_per_second (conn);
      g_array_append_val (plain, a);
      reset_due (conn);
      b = scheduler_claims_per_second (pool);
      g_array_append_val (ours, b);
      g_print ("  run %u: scheduler %.0f claims/s, plain SKIP LOCKED loop %.0f claims/s\n", run + 1, b, a);
    }
  a = wb_bench_median (ours);
  b = wb_bench_median (plain);
  g_print ("claims, %u due trackings (median of %u): scheduler %.0f/s, plain libpq %.0f/s, ratio %.2f\n",
           N_CLAIMS, RUNS, a, b, a / b);
  exec (conn, "DELETE FROM trackings");
  exec (conn, "DELETE FROM carrier_limits");
}

/* ---- the rate held ------------------------------------------------------------------ */

static guint
emulator_start (gpointer data)
{
  g_autoptr(GError) error = NULL;
  guint port = wb_carrier_emulator_listen (data, &error);

  g_assert_no_error (error);
  return port;
}

static void
emulator_stop (gpointer data)
{
  wb_carrier_emulator_stop (data);
}

static guint
max_in_window_after (GArray *arrivals,
                     gint64  from)
{
  guint best = 0, start = 0;

  while (start < arrivals->len && g_array_index (arrivals, gint64, start) < from)
    start++;
  for (guint end = start, first = start; end < arrivals->len; end++)
    {
      while (g_array_index (arrivals, gint64, end) - g_array_index (arrivals, gint64, first) >= G_USEC_PER_SEC)
        first++;
      best = MAX (best, end - first + 1);
    }
  return best;
}

static void
bench_rate (PGconn   *conn,
            WbDbPool *pool)
{
  g_autoptr(WbCarrierEmulator) emulator = wb_carrier_emulator_new ();
  WbTestServerThread *thread = wb_test_server_thread_start ("emulator", emulator_start, emulator_stop, emulator);
  g_autofree char *text = g_strdup_printf ("[CDEK]\ndriver=emulator\nbase-url=http://127.0.0.1:%u\napi-key=k\n"
                                           "rate=%g\nburst=1\nstatus-map=generic\n",
                                           wb_test_server_thread_get_port (thread), LIMIT);
  g_autoptr(GError) error = NULL;
  g_autoptr(WbCarrierTable) carriers = wb_carrier_table_new_from_data (text, &error);
  g_autoptr(WbPollingLadder) ladder = wb_polling_ladder_load (NULL, "demo", &error);
  g_autoptr(WbStatusMap) map = wb_status_map_load_default (&error);
  g_autoptr(WbBus) bus = wb_bus_local_new (100000);
  g_autoptr(WbPollingScheduler) scheduler = NULL;
  g_autoptr(WbCarrierWorker) worker = NULL;
  g_autoptr(GArray) arrivals = NULL;
  WbEmulatorCounts counts;
  WbWorkerCounts worker_counts;
  gint64 start, warm, end;
  guint in_hold = 0, most;
  double achieved;

  g_assert_no_error (error);
  /* The carrier's own limit, a token bucket at the same rate that lets 50 ms
   * of calls bunch up (timers and sockets jitter): a 429 is overshoot. */
  wb_carrier_emulator_set_limits (emulator, LIMIT, LIMIT / 20, 0, WB_EMULATOR_RETRY_AFTER_SECONDS);
  wb_carrier_emulator_set_step (emulator, G_GINT64_CONSTANT (3600) * G_USEC_PER_SEC);
  exec (conn, "INSERT INTO trackings (carrier, track_number, next_check_at)"
              " SELECT 'CDEK', 'R' || i, now() - interval '1 second' FROM generate_series(1, 20000) i");
  ladder->lease = 600 * G_USEC_PER_SEC;
  scheduler = wb_polling_scheduler_new (pool, bus, carriers, ladder, "bench");
  worker = wb_carrier_worker_new (pool, bus, carriers, ladder, map, &error);
  g_assert_no_error (error);
  wb_carrier_worker_start (worker);
  start = g_get_monotonic_time ();
  wb_polling_scheduler_start (scheduler);
  warm = start + G_USEC_PER_SEC;
  end = warm + HOLD_S * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  wb_polling_scheduler_stop (scheduler);
  wb_carrier_emulator_get_counts (emulator, &counts);
  wb_carrier_worker_get_counts (worker, &worker_counts);
  arrivals = wb_carrier_emulator_dup_arrivals (emulator);
  for (guint i = 0; i < arrivals->len; i++)
    {
      gint64 at = g_array_index (arrivals, gint64, i);

      in_hold += at >= warm && at < end;
    }
  most = max_in_window_after (arrivals, warm);
  achieved = in_hold / (double) HOLD_S;
  g_print ("rate held, limit %.0f/s burst 1, backlog %u, %u s after a 1 s warm-up:\n", LIMIT, BACKLOG, HOLD_S);
  g_print ("  requests %.1f/s (ratio to the limit %.3f); most in any 1 s window %u (max deviation %+.1f%%);"
           " 429s from overshooting %" G_GUINT64_FORMAT "\n",
           achieved, achieved / LIMIT, most, 100.0 * (most - LIMIT) / LIMIT, counts.refused);
  g_print ("  checks committed end to end: %" G_GUINT64_FORMAT " (%.1f/s over the whole run), stale %" G_GUINT64_FORMAT "\n",
           worker_counts.checks, worker_counts.checks / ((end - start) / (double) G_USEC_PER_SEC), worker_counts.stale);
  wb_carrier_worker_stop (worker);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_clear_object (&scheduler);
  g_clear_object (&worker);
  wb_test_server_thread_stop (thread);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(WbEmbeddedPostgres) cluster = wb_bench_cluster_start ();
  const char *conninfo = wb_embedded_postgres_get_conninfo (cluster);
  g_autoptr(GError) error = NULL;
  g_autoptr(PGconn) conn = wb_db_connect (conninfo, &error);
  g_autoptr(WbDbPool) pool = NULL;

  g_assert_no_error (error);
  if (!wb_migrations_apply (conn, NULL, &error))
    g_error ("migrations: %s", error->message);
  pool = wb_db_pool_new (conninfo, 8);
  bench_claims (conn, pool);
  bench_rate (conn, pool);
  wb_db_pool_close (pool);
  return 0;
}
