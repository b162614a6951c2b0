// SPDX-License-Identifier: GPL-3.0-or-later
/* Carrier polling, three figures:
 *
 * 1. Claims per second with 100 000 due trackings: the scheduler (limiter
 *    row locked, permits scheduled, leases set, TRACKING_UPDATE published
 *    on the in-process bus) against a plain libpq loop running the same
 *    FOR UPDATE SKIP LOCKED lease statement alone, in the same run.
 * 2. Requests per second held at a carrier's limit: scheduler, carrier
 *    worker and the carrier emulator (rate-limited itself) in one process
 *    on a backlog far above the limit; achieved rate against the limit,
 *    the most requests in any one-second window, 429s from overshooting,
 *    per carrier (two carriers at different limits at once), and checks
 *    committed per second.
 * 3. The tracker's path: tracking.updated messages (a check with its
 *    status and one new event) applied to shipments by the tracker
 *    consumer, against a plain libpq loop writing the same effects (the
 *    check's and the event's shipment_events, the tracking's check
 *    columns, the shipment's status time, last event and version) in one
 *    set-based statement each, one transaction per 100 checks.
 *
 * --only=claims,rate,tracker runs some of them. */

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
#include "wb-sla.h"
#include "wb-shipment-store.h"
#include "wb-status-map.h"
#include "wb-test-server-thread.h"
#include "wb-tracker-consumer.h"

#define N_CLAIMS   100000
#define RUNS       3
#define LIMIT      200.0
#define SHIPMENTS  100
#define CHECKS     20000
/* 100 000 trackings in all, half on each carrier: more than 60 s of calls
 * at the limit, so the backlog never runs dry. */
#define BACKLOG    50000

/* The product's figure holds the rate for 60 s; --seconds=N for a quick run. */
static guint hold_s = 60;

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

typedef struct
{
  const char         *code;
  double              limit;
  WbCarrierEmulator  *emulator;
  WbTestServerThread *thread;
} Carrier;

static void
carrier_start (Carrier *carrier)
{
  carrier->emulator = wb_carrier_emulator_new ();
  /* The carrier's own limit, a token bucket at the same rate that lets 50 ms
   * of calls bunch up (timers and sockets jitter): a 429 is overshoot. */
  wb_carrier_emulator_set_limits (carrier->emulator, carrier->limit, MAX (1, carrier->limit / 20), 0,
                                  WB_EMULATOR_RETRY_AFTER_SECONDS);
  wb_carrier_emulator_set_step (carrier->emulator, G_GINT64_CONSTANT (3600) * G_USEC_PER_SEC);
  carrier->thread = wb_test_server_thread_start (carrier->code, emulator_start, emulator_stop, carrier->emulator);
}

static void
carrier_report (Carrier        *carrier,
                gint64          warm,
                gint64          end,
                WbWorkerCounts *checks,
                gint64          start)
{
  g_autoptr(GArray) arrivals = wb_carrier_emulator_dup_arrivals (carrier->emulator);
  WbEmulatorCounts counts;
  guint in_hold = 0, most;
  double achieved;

  wb_carrier_emulator_get_counts (carrier->emulator, &counts);
  for (guint i = 0; i < arrivals->len; i++)
    {
      gint64 at = g_array_index (arrivals, gint64, i);

      in_hold += at >= warm && at < end;
    }
  most = max_in_window_after (arrivals, warm);
  achieved = in_hold / (double) hold_s;
  g_print ("  %s, limit %.0f/s: requests %.1f/s (ratio to the limit %.3f); most in any 1 s window %u"
           " (max deviation %+.1f%%); 429s from overshooting %" G_GUINT64_FORMAT "\n",
           carrier->code, carrier->limit, achieved, achieved / carrier->limit, most,
           100.0 * (most - carrier->limit) / carrier->limit, counts.refused);
  g_print ("    checks committed end to end: %" G_GUINT64_FORMAT " (%.1f/s over the whole run), stale %"
           G_GUINT64_FORMAT "\n", checks->checks, checks->checks / ((end - start) / (double) G_USEC_PER_SEC),
           checks->stale);
}

static void
carrier_stop (Carrier *carrier)
{
  wb_test_server_thread_stop (carrier->thread);
  g_clear_object (&carrier->emulator);
}

static void
bench_rate (PGconn   *conn,
            WbDbPool *pool)
{
  Carrier fast = { "CDEK", LIMIT }, slow = { "POST_RU", LIMIT };
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(WbCarrierTable) carriers = NULL;
  g_autoptr(WbPollingLadder) ladder = wb_polling_ladder_load (NULL, "demo", &error);
  g_autoptr(WbStatusMap) map = wb_status_map_load_default (&error);
  g_autoptr(WbBus) bus = wb_bus_local_new (100000);
  g_autoptr(WbPollingScheduler) scheduler = NULL;
  g_autoptr(WbCarrierWorker) worker = NULL;
  WbWorkerCounts worker_counts, fast_counts, slow_counts;
  gint64 start, warm, end, drain_until;

  g_assert_no_error (error);
  carrier_start (&fast);
  carrier_start (&slow);
  text = g_strdup_printf ("[CDEK]\ndriver=emulator\nbase-url=http://127.0.0.1:%u\napi-key=k\n"
                          "rate=%g\nburst=1\nstatus-map=generic\n"
                          "[POST_RU]\ndriver=emulator\nbase-url=http://127.0.0.1:%u\napi-key=k\n"
                          "rate=%g\nburst=1\nstatus-map=generic\n",
                          wb_test_server_thread_get_port (fast.thread), LIMIT,
                          wb_test_server_thread_get_port (slow.thread), LIMIT);
  carriers = wb_carrier_table_new_from_data (text, &error);
  g_assert_no_error (error);
  exec (conn, "INSERT INTO trackings (carrier, track_number, next_check_at)"
              " SELECT 'CDEK', 'R' || i, now() - interval '1 second' FROM generate_series(1, 50000) i");
  exec (conn, "INSERT INTO trackings (carrier, track_number, next_check_at)"
              " SELECT 'POST_RU', 'S' || i, now() - interval '1 second' FROM generate_series(1, 50000) i");
  ladder->lease = 600 * G_USEC_PER_SEC;
  scheduler = wb_polling_scheduler_new (pool, bus, carriers, ladder, "bench");
  worker = wb_carrier_worker_new (pool, bus, carriers, ladder, map, &error);
  g_assert_no_error (error);
  wb_carrier_worker_start (worker);
  start = g_get_monotonic_time ();
  wb_polling_scheduler_start (scheduler);
  warm = start + G_USEC_PER_SEC;
  end = warm + hold_s * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  wb_polling_scheduler_stop (scheduler);
  wb_carrier_worker_get_counts (worker, &worker_counts);
  wb_carrier_worker_get_carrier_counts (worker, fast.code, &fast_counts);
  wb_carrier_worker_get_carrier_counts (worker, slow.code, &slow_counts);
  /* The checks already claimed finish against their carriers before those
   * go away: until none is recorded for a second (at most 20 s). */
  drain_until = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  for (guint64 seen = G_MAXUINT64; g_get_monotonic_time () < drain_until;)
    {
      WbWorkerCounts now;
      gint64 quiet = g_get_monotonic_time () + G_USEC_PER_SEC;

      wb_carrier_worker_get_counts (worker, &now);
      if (now.checks + now.stale == seen)
        break;
      seen = now.checks + now.stale;
      while (g_get_monotonic_time () < quiet)
        if (!g_main_context_iteration (NULL, FALSE))
          g_usleep (1000);
    }
  g_print ("rate held, burst 1, backlog %u per carrier, both at once, %u s after a 1 s warm-up:\n", BACKLOG, hold_s);
  carrier_report (&fast, warm, end, &fast_counts, start);
  carrier_report (&slow, warm, end, &slow_counts, start);
  g_print ("  checks committed end to end: %" G_GUINT64_FORMAT " (%.1f/s over the whole run, limits %.0f/s in all),"
           " stale %" G_GUINT64_FORMAT "\n", worker_counts.checks,
           worker_counts.checks / ((end - start) / (double) G_USEC_PER_SEC), 2 * LIMIT, worker_counts.stale);
  wb_carrier_worker_stop (worker);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_clear_object (&scheduler);
  g_clear_object (&worker);
  carrier_stop (&fast);
  carrier_stop (&slow);
  exec (conn, "DELETE FROM trackings");
  exec (conn, "DELETE FROM carrier_limits");
}

/* ---- the tracker's path ------------------------------------------------------------- */

static char *
ticket_json (guint i)
{
  return g_strdup_printf ("{\"ticket_id\":\"B-%04u\",\"client_id\":\"bench\",\"carrier\":\"dhl\","
                          "\"track_number\":\"JDB%04u\",\"service_level\":\"express\","
                          "\"recipient\":{\"name\":\"Anna\",\"phone\":\"8 029 123-45-67\",\"email\":\"a@example.org\"},"
                          "\"origin\":{\"country\":\"by\",\"city\":\"Brest\"},"
                          "\"destination\":{\"country\":\"BY\",\"city\":\"Minsk\",\"lat\":53.9,\"lon\":27.56},"
                          "\"created_at\":\"2026-11-20T08:00:00Z\"}", i, i);
}

static char *
time_text (gint64 us)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_unix_utc (us / G_USEC_PER_SEC);

  return g_date_time_format (time, "%Y-%m-%dT%H:%M:%SZ");
}

/* Check k of tracking @index: a later check and one new event each time. */
static char *
check_json (gint64 tracking_id,
            guint  index,
            guint  run,
            guint  k)
{
  gint64 base = G_GINT64_CONSTANT (1795190400) * G_USEC_PER_SEC + run * G_GINT64_CONSTANT (100000) * G_USEC_PER_SEC;
  g_autofree char *checked = time_text (base + (k + 1) * G_USEC_PER_SEC);
  g_autofree char *occurred = time_text (base + k * G_USEC_PER_SEC);

  return g_strdup_printf ("{\"tracking_id\":%" G_GINT64_FORMAT ",\"carrier\":\"dhl\",\"track_number\":\"JDB%04u\","
                          "\"checked_at\":\"%s\",\"next_check_at\":\"%s\",\"status\":\"IN_TRANSIT\","
                          "\"status_raw\":\"transit\",\"status_at\":\"%s\",\"events\":[{\"event_id\":\"r%u-%u\","
                          "\"status\":\"IN_TRANSIT\",\"status_code\":\"PU\",\"occurred_at\":\"%s\"}]}",
                          tracking_id, index, checked, checked, occurred, run, k, occurred);
}

/* Checks done with: recorded, or older than one recorded in the same
 * batch (the tracker keeps a tracking's newest check; its events are
 * applied all the same). */
static guint64
checks_recorded (WbTrackerConsumer *consumer)
{
  WbTrackerCounts counts;

  wb_tracker_consumer_get_counts (consumer, &counts);
  return counts.checks_recorded + counts.duplicates + counts.failed_items + counts.dead_letters;
}

static double
tracker_checks_per_second (WbBus             *bus,
                           WbTrackerConsumer *consumer,
                           const gint64      *tracking_ids,
                           guint              run)
{
  guint64 before = checks_recorded (consumer);
  gint64 start = g_get_monotonic_time ();
  WbTrackerCounts counts;
  guint64 applied_before;

  wb_tracker_consumer_get_counts (consumer, &counts);
  applied_before = counts.applied_events;

  for (guint k = 0; k < CHECKS; k++)
    {
      g_autoptr(WbBusMessage) message = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *key = g_strdup_printf ("%" G_GINT64_FORMAT, tracking_ids[k % SHIPMENTS]);

      message = wb_bus_message_new_take (WB_TOPIC_TRACKING_UPDATED, key,
                                         check_json (tracking_ids[k % SHIPMENTS], k % SHIPMENTS, run, k));
      if (!wb_bus_try_publish (bus, message, &error))
        g_error ("publish: %s", error->message);
    }
  while (checks_recorded (consumer) < before + CHECKS)
    g_main_context_iteration (NULL, TRUE);
  wb_tracker_consumer_get_counts (consumer, &counts);
  if (counts.failed_items + counts.dead_letters > 0)
    g_error ("the tracker refused %" G_GUINT64_FORMAT " checks (%" G_GUINT64_FORMAT " dead letters)",
             counts.failed_items, counts.dead_letters);
  /* Every check brought one event new to its shipment's history. */
  if (counts.applied_events - applied_before < CHECKS)
    g_error ("only %" G_GUINT64_FORMAT " of %u new events applied", counts.applied_events - applied_before, CHECKS);
  return CHECKS / ((g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC);
}

/* The same effects by hand: per check, its status event and its new
 * event in shipment_events, the check on its tracking, and the shipment's
 * status time, last event and version (the status itself stays
 * IN_TRANSIT, so no outbox row, as for the tracker). */
static double
plain_checks_per_second (PGconn       *conn,
                         const gint64 *tracking_ids,
                         guint         run)
{
  gint64 start = g_get_monotonic_time ();

  for (guint first = 0; first < CHECKS; first += 100)
    {
      GString *rows = g_string_new ("[");
      g_autoptr(GError) error = NULL;
      g_autoptr(PGresult) inserted = NULL;
      g_autoptr(PGresult) updated = NULL;
      const char *params[1];

      for (guint k = first; k < first + 100; k++)
        g_string_append_printf (rows, "%s{\"t\":%" G_GINT64_FORMAT ",\"k\":%u}", k > first ? "," : "",
                                tracking_ids[k % SHIPMENTS], k + run * CHECKS);
      g_string_append_c (rows, ']');
      params[0] = rows->str;
      exec (conn, "BEGIN");
      inserted = wb_db_exec (conn,
                             "WITH e AS ("
                             "  INSERT INTO shipment_events (shipment_id, tracking_id, source, event_id, status,"
                             "                               status_raw, occurred_at, applied)"
                             "  SELECT t.shipment_id, t.id, 'plain', e.kind || r.k, 'IN_TRANSIT', 'transit',"
                             "         timestamptz '2027-01-01' + r.k * interval '1 second', true"
                             "  FROM json_to_recordset($1::json) AS r(t bigint, k integer)"
                             "  JOIN trackings t ON t.id = r.t CROSS JOIN (VALUES ('check:'), ('event:')) e(kind)"
                             "  ON CONFLICT DO NOTHING RETURNING shipment_id, id, occurred_at)"
                             " UPDATE shipments s SET status = 'IN_TRANSIT', status_at = greatest (s.status_at, e.at),"
                             "  last_event_id = e.last_id, version = s.version + 1, updated_at = now()"
                             " FROM (SELECT shipment_id, max (occurred_at) AS at, max (id) AS last_id"
                             "       FROM e GROUP BY shipment_id) e WHERE s.id = e.shipment_id",
                             params, 1, NULL, &error);
      if (inserted == NULL)
        g_error ("plain insert: %s", error->message);
      updated = wb_db_exec (conn,
                            "UPDATE trackings t SET last_checked_at = timestamptz '2027-01-01' + r.k * interval '1 second',"
                            " next_check_at = timestamptz '2027-01-01' + r.k * interval '1 second',"
                            " last_error = NULL, consecutive_errors = 0"
                            " FROM (SELECT t, max(k) AS k FROM json_to_recordset($1::json) AS r(t bigint, k integer)"
                            "       GROUP BY t) r WHERE t.id = r.t", params, 1, NULL, &error);
      if (updated == NULL)
        g_error ("plain update: %s", error->message);
      exec (conn, "COMMIT");
      g_string_free (rows, TRUE);
    }
  return CHECKS / ((g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC);
}

static void
bench_tracker (PGconn   *conn,
               WbDbPool *pool)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(WbSlaTable) sla = wb_sla_table_load_default (&error);
  g_autoptr(WbStatusMap) map = wb_status_map_load_default (&error);
  g_autoptr(WbShipmentStore) store = wb_shipment_store_new (pool, sla);
  g_autoptr(WbBus) bus = wb_bus_local_new (CHECKS + SHIPMENTS + 1000);
  g_autoptr(WbTrackerConsumer) consumer = wb_tracker_consumer_new (bus, store, map);
  g_autoptr(GArray) ours = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) plain = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(PGresult) ids = NULL;
  gint64 tracking_ids[SHIPMENTS];
  double a, b;

  g_assert_no_error (error);
  wb_tracker_consumer_start (consumer, NULL);
  for (guint i = 0; i < SHIPMENTS; i++)
    {
      g_autoptr(WbBusMessage) message = wb_bus_message_new_take ("TICKET_CREATED", NULL, ticket_json (i));

      if (!wb_bus_try_publish (bus, message, &error))
        g_error ("publish: %s", error->message);
    }
  for (;;)
    {
      WbTrackerCounts counts;

      wb_tracker_consumer_get_counts (consumer, &counts);
      if (counts.failed_items + counts.dead_letters > 0)
        g_error ("tickets refused: %" G_GUINT64_FORMAT ", dead letters %" G_GUINT64_FORMAT, counts.failed_items,
                 counts.dead_letters);
      if (counts.shipments_created >= SHIPMENTS)
        break;
      g_main_context_iteration (NULL, TRUE);
    }
  ids = wb_db_exec (conn, "SELECT id FROM trackings WHERE track_number LIKE 'JDB%' ORDER BY track_number",
                    NULL, 0, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (PQntuples (ids), ==, SHIPMENTS);
  for (guint i = 0; i < SHIPMENTS; i++)
    tracking_ids[i] = g_ascii_strtoll (PQgetvalue (ids, i, 0), NULL, 10);
  for (guint run = 0; run < RUNS; run++)
    {
      a = tracker_checks_per_second (bus, consumer, tracking_ids, run);
      g_array_append_val (ours, a);
      b = plain_checks_per_second (conn, tracking_ids, run);
      g_array_append_val (plain, b);
      g_print ("  run %u: tracker %.0f checks/s, plain libpq %.0f checks/s\n", run + 1, a, b);
    }
  a = wb_bench_median (ours);
  b = wb_bench_median (plain);
  g_print ("tracker path, %u tracking.updated (a status and one new event each) over %u shipments"
           " (median of %u): tracker %.0f checks/s, plain libpq %.0f checks/s, ratio %.2f\n",
           CHECKS, SHIPMENTS, RUNS, a, b, a / b);
  wb_tracker_consumer_stop (consumer);
  wb_bus_close (bus);
  while (g_main_context_iteration (NULL, FALSE))
    ;
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

  g_auto(GStrv) only = NULL;

  for (int i = 1; i < argc; i++)
    if (g_str_has_prefix (argv[i], "--seconds="))
      hold_s = CLAMP (g_ascii_strtoull (argv[i] + strlen ("--seconds="), NULL, 10), 1, 3600);
    else if (g_str_has_prefix (argv[i], "--only="))
      only = g_strsplit (argv[i] + strlen ("--only="), ",", -1);
    else
      g_error ("usage: %s [--seconds=N] [--only=claims,rate,tracker]"
               " (the rate held for N s, 60 by default)", argv[0]);
  g_assert_no_error (error);
  if (!wb_migrations_apply (conn, NULL, &error))
    g_error ("migrations: %s", error->message);
  pool = wb_db_pool_new (conninfo, 8);
  if (only == NULL || g_strv_contains ((const char * const *) only, "claims"))
    bench_claims (conn, pool);
  if (only == NULL || g_strv_contains ((const char * const *) only, "rate"))
    bench_rate (conn, pool);
  if (only == NULL || g_strv_contains ((const char * const *) only, "tracker"))
    bench_tracker (conn, pool);
  wb_db_pool_close (pool);
  return 0;
}
