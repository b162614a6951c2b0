// SPDX-License-Identifier: GPL-3.0-or-later
/* Dispatch benchmark, in one process on the in-process bus and an
 * embedded PostgreSQL. Prints, as medians and percentiles:
 *
 *   - the reassign path's latency: from the accepting transaction of a
 *     reassignment (what POST /trips/{id}/reassign runs: the command row and
 *     its commands.trip.reassign in the outbox) to trip.reassigned received
 *     on the bus, through the outbox relay, the dispatch role's consumer and
 *     its deciding transaction; p50 and p99 over --commands commands, one
 *     at a time;
 *   - next to the bare outbox round trip measured in the same run (a row
 *     written in one transaction, relayed, received): the ratio says what
 *     deciding a command adds to two trips through the outbox;
 *   - the same two figures over librdkafka's mock cluster, with the api
 *     and dispatch roles each on a Kafka bus of their own (their own
 *     producer, consumer group and outbox relay, as two daemons would be),
 *     trip.reassigned read back by a third group on the api side;
 *   - stop detection per position: batches of positions.enriched of
 *     --vehicles vehicles each on an IN_TRANSIT trip of three stops, judged
 *     by the dispatch store, against writing the same positions to the
 *     positions table in one statement (the fleet pipeline's own write per
 *     batch);
 *   - the CPU stop detection costs per position, as a share of the fleet
 *     pipeline's: CPU time (this thread's and its PostgreSQL backend's) of
 *     the detector on those batches, against the CPU time (this process's
 *     and every PostgreSQL process's) of a WbFleetProcessor taking
 *     telemetry.raw of the same vehicles, their trips IN_TRANSIT, to
 *     committed positions, states and carrier locations. */

#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wb-bench.h"
#include "wb-bus-local.h"
#include "wb-db.h"
#include "wb-db-pool.h"
#include "wb-dispatch-consumer.h"
#include "wb-bus-kafka.h"
#include "wb-embedded-postgres.h"
#include "wb-fleet-processor.h"
#include "wb-fleet-store.h"
#include "wb-kafka-dev.h"
#include "wb-migrations.h"
#include "wb-outbox-relay.h"
#include "wb-sla.h"

/* Rounds of one position per vehicle in a fleet CPU figure. */
#define FLEET_ROUNDS 4

static int n_commands = 1000;
static int n_vehicles = 5000;
static int runs = 5;
static char **kafka_properties = NULL;

static GOptionEntry entries[] = {
  { "commands", 0, 0, G_OPTION_ARG_INT, &n_commands, "Reassignments timed", "N" },
  { "vehicles", 0, 0, G_OPTION_ARG_INT, &n_vehicles, "Vehicles on trips for stop detection", "N" },
  { "runs", 0, 0, G_OPTION_ARG_INT, &runs, "Runs per stop-detection figure (median reported)", "N" },
  { "kafka-property", 0, 0, G_OPTION_ARG_STRING_ARRAY, &kafka_properties,
    "A librdkafka setting for every Kafka client of the mock-cluster figures (repeatable)", "NAME=VALUE" },
  { NULL }
};

typedef struct
{
  GMainContext *context;
  const char   *topic;
  gint64        received_at;
  guint         received;
} Listener;

static void
on_message (WbBus      *bus,
            WbBusBatch *batch,
            gpointer    user_data)
{
  Listener *listener = user_data;

  listener->received += wb_bus_batch_get_length (batch);
  listener->received_at = g_get_monotonic_time ();
  wb_bus_batch_ack (batch);
}

static void
sql (PGconn     *conn,
     const char *statement)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PGresult) result = wb_db_exec (conn, statement, NULL, 0, NULL, &error);

  if (result == NULL)
    g_error ("%s: %s", statement, error->message);
}

static double
percentile (GArray *sorted,
            double  p)
{
  guint index = MIN (sorted->len - 1, (guint) (p * sorted->len));

  return g_array_index (sorted, double, index);
}

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

/* ---- CPU time ---------------------------------------------------------------------- */

static double
clock_s (clockid_t clock)
{
  struct timespec t;

  clock_gettime (clock, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

/* utime + stime of process @pid in seconds, and its parent; -1 when it is
 * gone. */
static double
proc_cpu_s (int  pid,
            int *out_ppid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", pid);
  g_autofree char *text = NULL;
  g_auto(GStrv) fields = NULL;
  const char *after;

  if (!g_file_get_contents (path, &text, NULL, NULL) || (after = strrchr (text, ')')) == NULL)
    return -1;
  /* After the command: state, ppid, … utime is the 12th, stime the 13th. */
  fields = g_strsplit (after + 2, " ", 14);
  if (g_strv_length (fields) < 14)
    return -1;
  if (out_ppid != NULL)
    *out_ppid = atoi (fields[1]);
  return (g_ascii_strtod (fields[11], NULL) + g_ascii_strtod (fields[12], NULL)) / sysconf (_SC_CLK_TCK);
}

/* The CPU time of the postmaster and every process it started. */
static double
postgres_cpu_s (int postmaster)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc", 0, NULL);
  const char *name;
  double total = 0;

  while ((name = g_dir_read_name (dir)) != NULL)
    {
      int pid = atoi (name), ppid = 0;
      double cpu;

      if (pid <= 0 || (cpu = proc_cpu_s (pid, &ppid)) < 0)
        continue;
      if (pid == postmaster || ppid == postmaster)
        total += cpu;
    }
  return total;
}

static void
wait_received_within (Listener *listener,
                      guint     expected,
                      guint     timeout_s)
{
  gint64 deadline = g_get_monotonic_time () + timeout_s * G_USEC_PER_SEC;

  while (listener->received < expected)
    {
      g_main_context_iteration (NULL, TRUE);
      if (g_get_monotonic_time () > deadline)
        g_error ("%s never arrived", listener->topic);
    }
}

static void
wait_received (Listener *listener,
               guint     expected)
{
  wait_received_within (listener, expected, 30);
}

static WbDispatchResult *
run_request (WbDispatchStore   *store,
             PGconn            *conn,
             WbDispatchRequest *request)
{
  g_autoptr(GError) error = NULL;
  WbDispatchResult *result = wb_dispatch_store_run (store, conn, request, NULL, &error);

  if (result == NULL)
    g_error ("dispatch request failed: %s", error->message);
  return result;
}

/* ---- reassignment latency ------------------------------------------------------ */

static void
report_latencies (const char *what,
                  GArray     *values)
{
  g_array_sort (values, compare_doubles);
  g_print ("%-52s p50 %8.2f ms   p99 %8.2f ms   (%u)\n", what, percentile (values, 0.5), percentile (values, 0.99),
           values->len);
}

static double
bench_outbox_round_trip (const char    *what,
                         PGconn        *conn,
                         WbOutboxRelay *relay,
                         Listener      *listener)
{
  g_autoptr(GArray) values = g_array_new (FALSE, FALSE, sizeof (double));
  guint first = listener->received;

  for (int i = 0; i < n_commands; i++)
    {
      gint64 start = g_get_monotonic_time ();
      double ms;

      sql (conn, "INSERT INTO outbox (topic, key, type, payload) VALUES ('bench.ping', 'k', 'bench.ping', '{}')");
      wb_outbox_relay_kick (relay);
      wait_received (listener, first + i + 1);
      ms = (listener->received_at - start) / 1000.0;
      g_array_append_val (values, ms);
    }
  report_latencies (what, values);
  g_array_sort (values, compare_doubles);
  return percentile (values, 0.5);
}

static double
bench_reassign (const char      *what,
                const char      *prefix,
                PGconn          *conn,
                WbDispatchStore *store,
                Listener        *listener)
{
  g_autoptr(GArray) values = g_array_new (FALSE, FALSE, sizeof (double));
  guint first = listener->received;

  for (int i = 0; i < n_commands; i++)
    {
      g_autoptr(WbDispatchRequest) request = wb_dispatch_request_new (WB_DISPATCH_OP_SUBMIT_REASSIGN);
      g_autoptr(WbDispatchResult) result = NULL;
      gint64 start = g_get_monotonic_time ();
      double ms;

      request->id = g_strdup ("bench-trip");
      request->command_id = g_strdup_printf ("%s-%d", prefix, i);
      request->driver_id = g_strdup (i % 2 ? "bd-1" : "bd-2");
      request->reason = g_strdup ("benchmark");
      request->requested_by = g_strdup ("bench");
      result = run_request (store, conn, request);
      wait_received (listener, first + i + 1);
      ms = (listener->received_at - start) / 1000.0;
      g_array_append_val (values, ms);
    }
  report_latencies (what, values);
  g_array_sort (values, compare_doubles);
  return percentile (values, 0.5);
}

/* ---- stop detection --------------------------------------------------------------- */

static void
seed_trips (PGconn *conn)
{
  g_autofree char *trips = g_strdup_printf (
    "INSERT INTO trips (id, vehicle_id, driver_id, company_id, status)"
    " SELECT 'st-' || i, 'sv-' || i, 'sd-' || i, 'acme', 'IN_TRANSIT' FROM generate_series(1, %d) i", n_vehicles);
  g_autofree char *stops = g_strdup_printf (
    "INSERT INTO trip_stops (trip_id, seq, address, lat, lon)"
    " SELECT 'st-' || i, k, 'stop', 53.0 + i * 0.0001 + k * 0.01, 27.0 + k * 0.01"
    " FROM generate_series(1, %d) i, generate_series(0, 2) k", n_vehicles);

  sql (conn, trips);
  sql (conn, stops);
  sql (conn, "ANALYZE trips");
  sql (conn, "ANALYZE trip_stops");
}

/* One position per vehicle, on the way between its stops, each run a
 * minute later than the last. */
static GPtrArray *
positions_for_run (int run)
{
  GPtrArray *positions = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_dispatch_position_free);
  gint64 t = g_get_real_time () - G_GINT64_CONSTANT (3600) * G_USEC_PER_SEC + (gint64) run * 60 * G_USEC_PER_SEC;

  for (int i = 1; i <= n_vehicles; i++)
    {
      WbDispatchPosition *p = g_new0 (WbDispatchPosition, 1);

      p->vehicle_id = g_strdup_printf ("sv-%d", i);
      p->device_time = t;
      p->lat = 53.005 + i * 0.0001;
      p->lon = 27.005;
      g_ptr_array_add (positions, p);
    }
  return positions;
}

static char *
positions_json (GPtrArray *positions)
{
  GString *out = g_string_new ("[");

  for (guint i = 0; i < positions->len; i++)
    {
      WbDispatchPosition *p = g_ptr_array_index (positions, i);

      g_string_append_printf (out, "%s{\"device_id\":\"dev-%s\",\"vehicle_id\":\"%s\",\"t\":%" G_GINT64_FORMAT
                              ",\"lat\":%.6f,\"lon\":%.6f}", i ? "," : "", p->vehicle_id, p->vehicle_id,
                              p->device_time, p->lat, p->lon);
    }
  g_string_append_c (out, ']');
  return g_string_free (out, FALSE);
}

static double
bench_stops (PGconn          *conn,
             WbDispatchStore *store)
{
  g_autoptr(GArray) detect = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) detect_cpu = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) write = g_array_new (FALSE, FALSE, sizeof (double));
  int backend = PQbackendPID (conn);
  double detect_us, write_us;

  seed_trips (conn);
  sql (conn, "SELECT waybill_positions_ensure_partition(current_date)");
  sql (conn, "SELECT waybill_positions_ensure_partition(current_date - 1)");
  for (int run = 0; run < runs; run++)
    {
      g_autoptr(WbDispatchRequest) request = wb_dispatch_request_new (WB_DISPATCH_OP_OBSERVE_POSITIONS);
      g_autoptr(WbDispatchResult) result = NULL;
      g_autoptr(GPtrArray) positions = positions_for_run (run);
      g_autofree char *json = positions_json (positions);
      const char *params[] = { json };
      g_autoptr(GError) error = NULL;
      g_autoptr(PGresult) written = NULL;
      gint64 start;
      double us;

      start = g_get_monotonic_time ();
      written = wb_db_exec (conn, "INSERT INTO positions (device_time, server_time, lat, lon, device_id, vehicle_id, protocol)"
                                  " SELECT timestamptz 'epoch' + p.t * interval '1 microsecond', now(), p.lat, p.lon,"
                                  "   p.device_id, p.vehicle_id, 'bench'"
                                  " FROM json_to_recordset($1::json) AS p (device_id text, vehicle_id text, t bigint,"
                                  "   lat double precision, lon double precision)", params, 1, NULL, &error);
      if (written == NULL)
        g_error ("positions: %s", error->message);
      us = (g_get_monotonic_time () - start) / (double) n_vehicles;
      g_array_append_val (write, us);

      request->positions = g_steal_pointer (&positions);
      request->stop_radius_m = 150;
      request->stop_dwell_us = 60 * G_USEC_PER_SEC;
      {
        double cpu = clock_s (CLOCK_THREAD_CPUTIME_ID) + proc_cpu_s (backend, NULL);

        start = g_get_monotonic_time ();
        result = run_request (store, conn, request);
        us = (g_get_monotonic_time () - start) / (double) n_vehicles;
        g_array_append_val (detect, us);
        us = (clock_s (CLOCK_THREAD_CPUTIME_ID) + proc_cpu_s (backend, NULL) - cpu) * 1e6 / n_vehicles;
        g_array_append_val (detect_cpu, us);
      }
    }
  detect_us = wb_bench_median (detect);
  write_us = wb_bench_median (write);
  g_print ("%-52s %8.2f µs/position\n", "stop detection (batches of every vehicle)", detect_us);
  g_print ("%-52s %8.2f µs/position\n", "positions history insert, same batch (baseline)", write_us);
  g_print ("%-52s %8.2f\n", "ratio stop detection / history insert", detect_us / write_us);
  return wb_bench_median (detect_cpu);
}

/* ---- the fleet pipeline's CPU ------------------------------------------------------ */

static void
on_loaded (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  *(GAsyncResult **) data = g_object_ref (result);
}

static GAsyncResult *
wait_result (GAsyncResult **slot)
{
  while (*slot == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *slot;
}

/* FLEET_ROUNDS telemetry.raw messages of every vehicle's device, each
 * round a second after the last, from @first_s seconds after @base. */
static GPtrArray *
telemetry_for_run (gint64 base,
                   int    first_s)
{
  GPtrArray *messages = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_bus_message_unref);

  for (int r = 0; r < FLEET_ROUNDS; r++)
    {
      g_autoptr(GDateTime) at = g_date_time_new_from_unix_utc (base + first_s + r);
      g_autofree char *time = g_date_time_format_iso8601 (at);

      for (int i = 1; i <= n_vehicles; i++)
        {
          g_autofree char *device = g_strdup_printf ("sdev-%d", i);
          char *json = g_strdup_printf ("{\"device_id\":\"%s\",\"protocol\":\"json\",\"device_time\":\"%s\","
                                        "\"server_time\":\"%s\",\"lat\":%.6f,\"lon\":27.005,\"speed\":30,"
                                        "\"attributes\":{}}", device, time, time, 53.005 + i * 0.0001);

          g_ptr_array_add (messages, wb_bus_message_new_take ("telemetry.raw", device, json));
        }
    }
  return messages;
}

/* The fleet pipeline's CPU time per position: this process (the
 * processor's threads; the messages are made before the clock starts) and
 * every PostgreSQL process, until the last position is committed. */
static double
bench_fleet_cpu (PGconn   *conn,
                 WbDbPool *pool,
                 const char *conninfo)
{
  g_autoptr(GArray) cpu = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(WbFleetIndex) index = wb_fleet_index_new ();
  g_autoptr(WbFleetStore) fleet_store = wb_fleet_store_new (pool, index);
  g_autoptr(WbPositionHistory) history = wb_position_history_new (30, 2);
  g_autoptr(WbBus) bus = wb_bus_local_new (FLEET_ROUNDS * n_vehicles + 1000);
  g_autoptr(WbFleetProcessor) processor = NULL;
  g_autoptr(GAsyncResult) loaded = NULL;
  g_autoptr(GAsyncResult) started = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *vehicles = g_strdup_printf (
    "INSERT INTO vehicles (id, plate, company_id, version) SELECT 'sv-' || i, 'SV-' || i, 'acme', 1"
    " FROM generate_series(1, %d) i", n_vehicles);
  g_autofree char *devices = g_strdup_printf (
    "INSERT INTO devices (device_id, vehicle_id, version) SELECT 'sdev-' || i, 'sv-' || i, 1"
    " FROM generate_series(1, %d) i", n_vehicles);
  WbFleetProcessorSettings settings;
  int postmaster = 0;
  gint64 base = g_get_real_time () / G_USEC_PER_SEC - 1800;
  guint64 expected = 0;

  proc_cpu_s (PQbackendPID (conn), &postmaster);
  sql (conn, vehicles);
  sql (conn, devices);
  wb_fleet_store_load_async (fleet_store, NULL, on_loaded, &loaded);
  if (!wb_fleet_store_load_finish (fleet_store, wait_result (&loaded), &error))
    g_error ("fleet reference data: %s", error->message);
  wb_fleet_processor_settings_init (&settings);
  processor = wb_fleet_processor_new (bus, index, history, conninfo, &settings);
  wb_fleet_processor_start_async (processor, NULL, on_loaded, &started);
  if (!wb_fleet_processor_start_finish (processor, wait_result (&started), &error))
    g_error ("fleet processor: %s", error->message);

  /* One run unmeasured: the first batches load states and make plans. */
  for (int run = -1; run < runs; run++)
    {
      g_autoptr(GPtrArray) messages = telemetry_for_run (base, (run + 1) * FLEET_ROUNDS);
      WbFleetProcessorStats stats = { 0 };
      double before, used;

      before = clock_s (CLOCK_PROCESS_CPUTIME_ID) + postgres_cpu_s (postmaster);
      for (guint i = 0; i < messages->len; i++)
        if (!wb_bus_try_publish (bus, g_ptr_array_index (messages, i), &error))
          g_error ("telemetry.raw: %s", error->message);
      expected += messages->len;
      do
        {
          g_usleep (2000);
          while (g_main_context_iteration (NULL, FALSE))
            ;
          wb_fleet_processor_get_stats (processor, &stats);
        }
      while (stats.stored < expected);
      used = (clock_s (CLOCK_PROCESS_CPUTIME_ID) + postgres_cpu_s (postmaster) - before) * 1e6 / messages->len;
      if (run >= 0)
        g_array_append_val (cpu, used);
    }
  wb_fleet_processor_stop (processor);
  wb_bus_close (bus);
  return wb_bench_median (cpu);
}

/* ---- over the mock cluster ---------------------------------------------------------- */

/* librdkafka's mock broker holds a fetch for the whole fetch.wait.max.ms
 * even when messages come meanwhile (with the default, 500 ms, every hop
 * takes 500 ms), where a broker answers once fetch.min.bytes are there:
 * without --kafka-property, the figures are taken with 5 ms. */
static const char * const default_kafka_properties[] = { "fetch.wait.max.ms=5", NULL };

static WbBus *
kafka_bus (WbKafkaDev *dev,
           const char *group)
{
  g_autoptr(GError) error = NULL;
  const char * const *properties = kafka_properties != NULL ? (const char * const *) kafka_properties
                                                            : default_kafka_properties;
  WbBus *bus = wb_bus_kafka_new_with_properties (wb_kafka_dev_get_bootstrap_servers (dev), group, 10000,
                                                 properties, &error);

  if (bus == NULL)
    g_error ("Kafka bus: %s", error->message);
  return bus;
}

/* The api role (accepting, relaying commands.trip.reassign) and the
 * dispatch role (consuming, deciding, relaying trip.reassigned) on Kafka
 * buses of their own over one mock broker; one database, as two daemons
 * share one. Each figure is preceded by one message that waits out the
 * consumer groups' joins. */
static void
bench_kafka (PGconn     *conn,
             WbDbPool   *pool,
             WbSlaTable *sla)
{
  const char * const topics[] = { "bench.ping", "commands.trip.reassign", "commands.trip.reassign.dlq",
                                  "trip.reassigned", "trip.reassign_rejected", "positions.enriched", NULL };
  const char * const ping_topics[] = { "bench.ping", NULL };
  const char * const trip_topics[] = { "trip.reassigned", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(WbKafkaDev) dev = wb_kafka_dev_new (1, &error);
  g_autoptr(WbBus) api_bus = NULL;
  g_autoptr(WbBus) dispatch_bus = NULL;
  g_autoptr(WbOutboxRelay) api_relay = NULL;
  g_autoptr(WbOutboxRelay) dispatch_relay = NULL;
  g_autoptr(WbShipmentStore) api_shipments = NULL;
  g_autoptr(WbShipmentStore) dispatch_shipments = NULL;
  g_autoptr(WbDispatchStore) api_store = NULL;
  g_autoptr(WbDispatchStore) dispatch_store = NULL;
  g_autoptr(WbDispatchConsumer) consumer = NULL;
  g_autoptr(WbDispatchRequest) warm = wb_dispatch_request_new (WB_DISPATCH_OP_SUBMIT_REASSIGN);
  g_autoptr(WbDispatchResult) warmed = NULL;
  Listener pings = { NULL, "bench.ping", 0, 0 };
  Listener reassigned = { NULL, "trip.reassigned", 0, 0 };
  double baseline, reassign;

  if (dev == NULL)
    g_error ("mock cluster: %s", error->message);
  for (guint i = 0; topics[i] != NULL; i++)
    if (!wb_kafka_dev_create_topic (dev, topics[i], 1, &error))
      g_error ("topic %s: %s", topics[i], error->message);
  api_bus = kafka_bus (dev, "bench-api");
  dispatch_bus = kafka_bus (dev, "bench-dispatch");
  api_relay = wb_outbox_relay_new (pool, api_bus);
  dispatch_relay = wb_outbox_relay_new (pool, dispatch_bus);
  api_shipments = wb_shipment_store_new (pool, sla);
  wb_shipment_store_set_relay (api_shipments, api_relay);
  dispatch_shipments = wb_shipment_store_new (pool, sla);
  wb_shipment_store_set_relay (dispatch_shipments, dispatch_relay);
  api_store = wb_dispatch_store_new (pool, api_shipments);
  dispatch_store = wb_dispatch_store_new (pool, dispatch_shipments);
  consumer = wb_dispatch_consumer_new (dispatch_bus, dispatch_store);
  wb_dispatch_consumer_start (consumer);
  /* A group per subscription: two members of one group with different
   * topics would rebalance each other. */
  wb_bus_subscribe (api_bus, "bench-ping", ping_topics, 64, on_message, &pings, NULL);
  wb_bus_subscribe (api_bus, "bench-trips", trip_topics, 64, on_message, &reassigned, NULL);

  sql (conn, "INSERT INTO outbox (topic, key, type, payload) VALUES ('bench.ping', 'k', 'bench.ping', '{}')");
  wb_outbox_relay_kick (api_relay);
  wait_received_within (&pings, 1, 120);
  baseline = bench_outbox_round_trip ("mock cluster: outbox round trip (baseline)", conn, api_relay, &pings);

  warm->id = g_strdup ("bench-trip");
  warm->command_id = g_strdup ("kafka-warm");
  warm->vehicle_id = g_strdup ("bv-1");
  warm->reason = g_strdup ("benchmark");
  warm->requested_by = g_strdup ("bench");
  warmed = run_request (api_store, conn, warm);
  wait_received_within (&reassigned, 1, 120);
  /* The dispatch role's second subscription (positions.enriched) joins its
   * group too: let that rebalance pass. */
  for (gint64 until = g_get_monotonic_time () + 5 * G_USEC_PER_SEC; g_get_monotonic_time () < until;)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
  reassign = bench_reassign ("mock cluster: accepted → trip.reassigned received", "kafka", conn, api_store,
                             &reassigned);
  g_print ("%-52s %8.2f\n", "mock cluster: ratio reassign p50 / round trip p50", reassign / baseline);

  wb_dispatch_consumer_stop (consumer);
  wb_outbox_relay_stop (api_relay);
  wb_outbox_relay_stop (dispatch_relay);
  wb_bus_close (api_bus);
  wb_bus_close (dispatch_bus);
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) options = g_option_context_new ("- dispatch benchmark");
  g_autoptr(GError) error = NULL;
  g_autoptr(WbEmbeddedPostgres) cluster = NULL;
  g_autoptr(PGconn) conn = NULL;
  g_autoptr(WbDbPool) pool = NULL;
  g_autoptr(WbBus) bus = NULL;
  g_autoptr(WbOutboxRelay) relay = NULL;
  g_autoptr(WbSlaTable) sla = NULL;
  g_autoptr(WbShipmentStore) shipments = NULL;
  g_autoptr(WbDispatchStore) store = NULL;
  g_autoptr(WbDispatchConsumer) consumer = NULL;
  Listener pings = { NULL, "bench.ping", 0, 0 };
  Listener reassigned = { NULL, "trip.reassigned", 0, 0 };
  const char * const ping_topics[] = { "bench.ping", NULL };
  const char * const trip_topics[] = { "trip.reassigned", NULL };
  guint applied = 0;
  double baseline, reassign;

  g_option_context_add_main_entries (options, entries, NULL);
  if (!g_option_context_parse (options, &argc, &argv, &error))
    g_error ("%s", error->message);

  cluster = wb_bench_cluster_start ();
  conn = wb_db_connect (wb_embedded_postgres_get_conninfo (cluster), &error);
  if (conn == NULL || !wb_migrations_apply (conn, &applied, &error))
    g_error ("database: %s", error->message);
  sql (conn, "INSERT INTO companies (id, name, version) VALUES ('acme', 'Acme', 1)");
  sql (conn, "INSERT INTO vehicles (id, plate, company_id, version) VALUES ('bv-1', 'B-1', 'acme', 1)");
  sql (conn, "INSERT INTO drivers (id, name, company_id, version) VALUES ('bd-1', 'D', 'acme', 1), ('bd-2', 'E', 'acme', 1)");
  sql (conn, "INSERT INTO trips (id, vehicle_id, driver_id, company_id, status) VALUES ('bench-trip', 'bv-1', 'bd-1', 'acme', 'IN_TRANSIT')");

  pool = wb_db_pool_new (wb_embedded_postgres_get_conninfo (cluster), 4);
  bus = wb_bus_local_new (65536);
  relay = wb_outbox_relay_new (pool, bus);
  sla = wb_sla_table_load_default (&error);
  shipments = wb_shipment_store_new (pool, sla);
  wb_shipment_store_set_relay (shipments, relay);
  store = wb_dispatch_store_new (pool, shipments);
  consumer = wb_dispatch_consumer_new (bus, store);
  wb_dispatch_consumer_start (consumer);
  wb_bus_subscribe (bus, "bench", ping_topics, 64, on_message, &pings, NULL);
  wb_bus_subscribe (bus, "bench", trip_topics, 64, on_message, &reassigned, NULL);

  g_print ("dispatch benchmark: %d commands, %d vehicles on trips, %d runs\n", n_commands, n_vehicles, runs);
  baseline = bench_outbox_round_trip ("outbox round trip (baseline)", conn, relay, &pings);
  reassign = bench_reassign ("reassign: accepted → trip.reassigned received", "bench", conn, store, &reassigned);
  g_print ("%-52s %8.2f\n", "ratio reassign p50 / outbox round trip p50", reassign / baseline);
  if (runs > 0)
    {
      double detect_cpu = bench_stops (conn, store);
      double fleet_cpu = bench_fleet_cpu (conn, pool, wb_embedded_postgres_get_conninfo (cluster));

      g_print ("%-52s %8.2f µs/position\n", "stop detection CPU (thread + backend)", detect_cpu);
      g_print ("%-52s %8.2f µs/position\n", "fleet pipeline CPU, trips active (baseline)", fleet_cpu);
      g_print ("%-52s %7.1f %%\n", "stop detection as a share of the fleet pipeline", 100 * detect_cpu / fleet_cpu);
    }

  /* The in-process relay would take the Kafka variant's outbox rows. */
  wb_dispatch_consumer_stop (consumer);
  wb_outbox_relay_stop (relay);
  bench_kafka (conn, pool, sla);
  wb_db_pool_close (pool);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  return 0;
}
