// SPDX-License-Identifier: GPL-3.0-or-later
/* Bulk import benchmark: N vehicles (100 000 by default) registered with
 * POST /vehicles:import (NDJSON, --rows-per-request a request, --in-flight
 * requests at once), against the same N vehicles registered one PUT
 * /vehicles/{id} at a time (8 in flight, as waybill-sim reference sends
 * them), in the same run, each on a fresh database and a fresh waybilld.
 * Prints rows committed a second, the medians over --runs, and their
 * ratio; every run checks that the table holds exactly N vehicles. */

#include "config.h"

#include <libsoup/soup.h>
#include <string.h>

#include "wb-bench.h"
#include "wb-db.h"

static int vehicles = 100000;
static int put_vehicles = 0;
static int rows_per_request = 10000;
static int in_flight = 2;
static int put_in_flight = 8;
static int runs = 3;
static int put_runs = 1;

static GOptionEntry entries[] = {
  { "vehicles", 0, 0, G_OPTION_ARG_INT, &vehicles, "Vehicles a run registers (100000)", "N" },
  { "put-vehicles", 0, 0, G_OPTION_ARG_INT, &put_vehicles,
    "Vehicles the PUT baseline registers (default: --vehicles); its rate is per row", "N" },
  { "rows-per-request", 0, 0, G_OPTION_ARG_INT, &rows_per_request, "Rows an import carries (10000)", "N" },
  { "in-flight", 0, 0, G_OPTION_ARG_INT, &in_flight, "Imports in flight at once (2)", "N" },
  { "put-in-flight", 0, 0, G_OPTION_ARG_INT, &put_in_flight, "PUTs in flight at once (8)", "N" },
  { "runs", 0, 0, G_OPTION_ARG_INT, &runs, "Import runs (median reported) (3)", "N" },
  { "put-runs", 0, 0, G_OPTION_ARG_INT, &put_runs, "PUT runs, each N PUTs (1)", "N" },
  { NULL }
};

static WbEmbeddedPostgres *cluster;
static PGconn *admin;

static void
exec_or_die (PGconn     *conn,
             const char *sql)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PGresult) result = wb_db_exec (conn, sql, NULL, 0, NULL, &error);

  if (result == NULL)
    g_error ("%s: %s", sql, error->message);
}

static char *
database_create (const char *name)
{
  g_autofree char *drop = g_strdup_printf ("DROP DATABASE IF EXISTS %s", name);
  g_autofree char *create = g_strdup_printf ("CREATE DATABASE %s", name);

  exec_or_die (admin, drop);
  exec_or_die (admin, create);
  return wb_embedded_postgres_dup_conninfo (cluster, name);
}

static gint64
count_vehicles (const char *conninfo)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PGconn) conn = wb_db_connect (conninfo, &error);
  g_autoptr(PGresult) result = NULL;

  if (conn == NULL)
    g_error ("%s", error->message);
  result = wb_db_exec (conn, "SELECT count(*) FROM vehicles", NULL, 0, NULL, &error);
  if (result == NULL)
    g_error ("%s", error->message);
  return g_ascii_strtoll (PQgetvalue (result, 0, 0), NULL, 10);
}

/* The row of vehicle @i, the same in both forms. */
static void
append_vehicle (GString *out,
                guint    i,
                gboolean with_id)
{
  if (with_id)
    g_string_append_printf (out, "{\"id\":\"bench-v%06u\",", i);
  else
    g_string_append_c (out, '{');
  g_string_append_printf (out, "\"plate\":\"%04u AB-7\",\"companyId\":\"bench-c%02u\",\"driverId\":\"bench-d%06u\","
                          "\"groupId\":\"bench-group-%u\"}", i % 10000, i % 50, i, i % 3);
}

/* ---- requests ------------------------------------------------------------------ */

typedef struct
{
  SoupSession *session;
  GMainLoop   *loop;
  GPtrArray   *requests;   /* SoupMessage, sent in order */
  guint        next;
  guint        pending;
  guint        limit;
  guint        failed;
} Pump;

static void pump_more (Pump *pump);

static void
on_sent (GObject      *source,
         GAsyncResult *result,
         gpointer      data)
{
  Pump *pump = data;
  SoupMessage *message = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);

  if (body == NULL || soup_message_get_status (message) != 200)
    {
      if (pump->failed++ == 0)
        g_printerr ("bulk-bench: a request failed: %u %s\n", soup_message_get_status (message),
                    error ? error->message : (const char *) g_bytes_get_data (body, NULL));
    }
  pump->pending--;
  pump_more (pump);
}

static void
pump_more (Pump *pump)
{
  while (pump->pending < pump->limit && pump->next < pump->requests->len)
    {
      pump->pending++;
      soup_session_send_and_read_async (pump->session, g_ptr_array_index (pump->requests, pump->next++),
                                        G_PRIORITY_DEFAULT, NULL, on_sent, pump);
    }
  if (pump->pending == 0 && pump->next == pump->requests->len)
    g_main_loop_quit (pump->loop);
}

/* Sends every request, @limit at once; returns the seconds it took. */
static double
send_all (GPtrArray *requests,
          guint      limit)
{
  Pump pump = { soup_session_new_with_options ("max-conns", 64, "max-conns-per-host", 64, "timeout", 600, NULL),
                g_main_loop_new (NULL, FALSE), requests, 0, 0, limit, 0 };
  gint64 started = g_get_monotonic_time ();

  pump_more (&pump);
  g_main_loop_run (pump.loop);
  g_main_loop_unref (pump.loop);
  g_object_unref (pump.session);
  if (pump.failed > 0)
    g_error ("%u requests failed", pump.failed);
  return (g_get_monotonic_time () - started) / (double) G_USEC_PER_SEC;
}

static SoupMessage *
request_new (const char *method,
             const char *uri,
             const char *type,
             GString    *body)
{
  SoupMessage *message = soup_message_new (method, uri);
  g_autoptr(GBytes) bytes = g_bytes_new (body->str, body->len);

  soup_message_set_request_body_from_bytes (message, type, bytes);
  return message;
}

static GPtrArray *
imports_new (guint port)
{
  GPtrArray *requests = g_ptr_array_new_with_free_func (g_object_unref);
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u/vehicles:import", port);
  g_autoptr(GString) body = g_string_new (NULL);

  for (int i = 1; i <= vehicles; i++)
    {
      append_vehicle (body, i, TRUE);
      g_string_append_c (body, '\n');
      if (i % rows_per_request == 0 || i == vehicles)
        {
          g_ptr_array_add (requests, request_new ("POST", uri, "application/x-ndjson", body));
          g_string_truncate (body, 0);
        }
    }
  return requests;
}

static GPtrArray *
puts_new (guint port)
{
  GPtrArray *requests = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GString) body = g_string_new (NULL);

  for (int i = 1; i <= put_vehicles; i++)
    {
      g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u/vehicles/bench-v%06u", port, i);

      g_string_truncate (body, 0);
      append_vehicle (body, i, FALSE);
      g_ptr_array_add (requests, request_new ("PUT", uri, "application/json", body));
    }
  return requests;
}

/* One run on a fresh database and daemon: rows committed a second. */
static double
run_once (gboolean bulk,
          guint    number)
{
  g_autofree char *name = g_strdup_printf ("bulk_bench_%s_%u", bulk ? "import" : "put", number);
  g_autofree char *conninfo = database_create (name);
  WbBenchDaemon *daemon = wb_bench_daemon_start (conninfo, NULL);
  g_autoptr(GPtrArray) requests = NULL;
  int rows = bulk ? vehicles : put_vehicles;
  double seconds;
  gint64 stored;

  wb_bench_wait_ready (daemon->port);
  requests = bulk ? imports_new (daemon->port) : puts_new (daemon->port);
  seconds = send_all (requests, bulk ? (guint) in_flight : (guint) put_in_flight);
  stored = count_vehicles (conninfo);
  wb_bench_daemon_stop (daemon);
  if (stored != rows)
    g_error ("%" G_GINT64_FORMAT " vehicles stored, not %d", stored, rows);
  g_print ("  %s run %u: %d vehicles in %.2f s = %.0f rows/s\n", bulk ? "import" : "PUT", number, rows, seconds,
           rows / seconds);
  return rows / seconds;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) options = g_option_context_new ("— Waybill bulk import benchmark");
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) bulk = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) single = g_array_new (FALSE, FALSE, sizeof (double));
  double bulk_median, single_median;

  g_option_context_add_main_entries (options, entries, NULL);
  if (!g_option_context_parse (options, &argc, &argv, &error))
    g_error ("%s", error->message);
  if (put_vehicles == 0)
    put_vehicles = vehicles;
  if (vehicles < 1 || put_vehicles < 1 || rows_per_request < 1 || rows_per_request > 100000 || in_flight < 1 || put_in_flight < 1
      || runs < 1 || put_runs < 1)
    g_error ("every option must be at least 1 (--rows-per-request at most 100000)");

  cluster = wb_bench_cluster_start ();
  admin = wb_db_connect (wb_embedded_postgres_get_conninfo (cluster), &error);
  if (admin == NULL)
    g_error ("%s", error->message);

  g_print ("Bulk import: %d vehicles, NDJSON, %d rows a request, %d in flight; baseline: %d vehicles, one PUT each, "
           "%d in flight; %u cores\n", vehicles, rows_per_request, in_flight, put_vehicles, put_in_flight,
           g_get_num_processors ());
  for (int i = 0; i < put_runs; i++)
    {
      double rate = run_once (FALSE, i + 1);

      g_array_append_val (single, rate);
    }
  for (int i = 0; i < runs; i++)
    {
      double rate = run_once (TRUE, i + 1);

      g_array_append_val (bulk, rate);
    }
  bulk_median = wb_bench_median (bulk);
  single_median = wb_bench_median (single);
  g_print ("POST /vehicles:import: %.0f rows/s (median of %d)\n", bulk_median, runs);
  g_print ("PUT /vehicles/{id}:    %.0f rows/s (median of %d)\n", single_median, put_runs);
  g_print ("ratio import/PUT:      %.1f\n", bulk_median / single_median);

  PQfinish (admin);
  wb_embedded_postgres_stop (cluster, NULL);
  g_object_unref (cluster);
  return 0;
}
