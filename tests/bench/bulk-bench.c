// SPDX-License-Identifier: GPL-3.0-or-later
/* Bulk import benchmark, one kind after another (vehicles, drivers,
 * devices, pickup points; --kinds picks): N rows (100 000 by default)
 * through POST /<kind>:import (NDJSON, --rows-per-request a request, --in-flight
 * requests at once) on a fresh database and a fresh waybilld, against the
 * baseline of the same rows written by a plain libpq COPY (text format,
 * one transaction) into the same table of another fresh database, in the
 * same run. The COPY is what PostgreSQL itself takes to store the rows
 * with the table's indexes and checks: the floor an import cannot go
 * under. Prints each run, then per kind the medians over --runs and their
 * ratio; every run checks that the table holds exactly N rows.
 * --put-rows adds the old baseline of one PUT a row (8 in flight), for
 * vehicles only. */

#include "config.h"

#include <libsoup/soup.h>
#include <string.h>

#include "wb-bench.h"
#include "wb-db.h"
#include "wb-migrations.h"

static int rows = 100000;
static int rows_per_request = 10000;
static int in_flight = 2;
static int runs = 3;
static int put_rows = 0;
static char *kinds_option = NULL;

static GOptionEntry entries[] = {
  { "rows", 0, 0, G_OPTION_ARG_INT, &rows, "Rows a run registers, per kind (100000)", "N" },
  { "rows-per-request", 0, 0, G_OPTION_ARG_INT, &rows_per_request, "Rows an import carries (10000)", "N" },
  { "in-flight", 0, 0, G_OPTION_ARG_INT, &in_flight, "Imports in flight at once (2)", "N" },
  { "runs", 0, 0, G_OPTION_ARG_INT, &runs, "Runs per kind and path (median reported) (3)", "N" },
  { "kinds", 0, 0, G_OPTION_ARG_STRING, &kinds_option,
    "Kinds, comma-separated: vehicles, drivers, devices, pickup-points (all four)",
    "LIST" },
  { "put-rows", 0, 0, G_OPTION_ARG_INT, &put_rows, "Also PUT this many vehicles one a request (0: no)", "N" },
  { NULL }
};

static WbEmbeddedPostgres *cluster;
static PGconn *admin;

/* ---- the kinds ------------------------------------------------------------------ */

typedef struct
{
  const char *name;       /* the route's: /<name>:import */
  const char *table;
  const char *copy_sql;   /* the baseline's COPY, text format */
  void      (*json_row) (GString *out, guint i);
  void      (*copy_row) (GString *out, guint i);
} Kind;

static void
vehicle_json (GString *out,
              guint    i)
{
  g_string_append_printf (out, "{\"id\":\"bench-v%06u\",\"plate\":\"%04u AB-7\",\"companyId\":\"bench-c%02u\","
                          "\"driverId\":\"bench-d%06u\",\"groupId\":\"bench-group-%u\"}", i, i % 10000, i % 50, i,
                          i % 3);
}

static void
vehicle_copy (GString *out,
              guint    i)
{
  g_string_append_printf (out, "bench-v%06u\t%04u AB-7\tbench-c%02u\tbench-d%06u\tbench-group-%u\t1\n", i, i % 10000,
                          i % 50, i, i % 3);
}

static void
driver_json (GString *out,
             guint    i)
{
  g_string_append_printf (out, "{\"id\":\"bench-d%06u\",\"name\":\"Driver %u\",\"phone\":\"+37529%07u\","
                          "\"companyId\":\"bench-c%02u\"}", i, i, i, i % 50);
}

static void
driver_copy (GString *out,
             guint    i)
{
  g_string_append_printf (out, "bench-d%06u\tDriver %u\t+37529%07u\tbench-c%02u\t1\n", i, i, i, i % 50);
}

static void
device_json (GString *out,
             guint    i)
{
  g_string_append_printf (out, "{\"deviceId\":\"bench-dev%06u\",\"vehicleId\":\"bench-v%06u\","
                          "\"token\":\"bench-token-%06u\"}", i, i, i);
}

/* The daemon stores the token's SHA-256; the baseline is given it made. */
static void
device_copy (GString *out,
             guint    i)
{
  g_autofree char *token = g_strdup_printf ("bench-token-%06u", i);
  g_autofree char *hash = g_compute_checksum_for_string (G_CHECKSUM_SHA256, token, -1);

  g_string_append_printf (out, "bench-dev%06u\tbench-v%06u\t%s\tf\t1\n", i, i, hash);
}

static void
pickup_point_json (GString *out,
                   guint    i)
{
  g_string_append_printf (out, "{\"id\":\"bench-pp%06u\",\"name\":\"Point %u\",\"address\":{\"country\":\"BY\","
                          "\"city\":\"Minsk\",\"line1\":\"Street %u\",\"postalCode\":\"220%03u\"},"
                          "\"lat\":53.%04u,\"lon\":27.%04u,\"capacity\":%u}", i, i, i, i % 1000, i % 10000,
                          (i * 7) % 10000, 10 + i % 90);
}

static void
pickup_point_copy (GString *out,
                   guint    i)
{
  g_string_append_printf (out, "bench-pp%06u\tPoint %u\tBY\tMinsk\tStreet %u\t220%03u\t53.%04u\t27.%04u\t%u\n", i,
                          i, i, i % 1000, i % 10000, (i * 7) % 10000, 10 + i % 90);
}

static const Kind all_kinds[] = {
  { "vehicles", "vehicles", "COPY vehicles (id, plate, company_id, driver_id, group_id, version) FROM STDIN",
    vehicle_json, vehicle_copy },
  { "drivers", "drivers", "COPY drivers (id, name, phone, company_id, version) FROM STDIN", driver_json,
    driver_copy },
  { "devices", "devices", "COPY devices (device_id, vehicle_id, token_hash, quarantined, version) FROM STDIN",
    device_json, device_copy },
  { "pickup-points", "pickup_points",
    "COPY pickup_points (id, name, country, city, line1, postal_code, lat, lon, capacity) FROM STDIN",
    pickup_point_json, pickup_point_copy },
};

static const Kind *
kind_by_name (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (all_kinds); i++)
    if (g_str_equal (all_kinds[i].name, name))
      return &all_kinds[i];
  g_error ("unknown kind %s", name);
}

/* ---- databases ------------------------------------------------------------------- */

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

static PGconn *
connect_or_die (const char *conninfo)
{
  g_autoptr(GError) error = NULL;
  PGconn *conn = wb_db_connect (conninfo, &error);

  if (conn == NULL)
    g_error ("%s", error->message);
  return conn;
}

static gint64
count_rows (const char *conninfo,
            const Kind *kind)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PGconn) conn = connect_or_die (conninfo);
  g_autofree char *sql = g_strdup_printf ("SELECT count(*) FROM %s", kind->table);
  g_autoptr(PGresult) result = wb_db_exec (conn, sql, NULL, 0, NULL, &error);

  if (result == NULL)
    g_error ("%s", error->message);
  return g_ascii_strtoll (PQgetvalue (result, 0, 0), NULL, 10);
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

  /* An import answers 200 with what it refused: none may be refused. */
  if (body == NULL || soup_message_get_status (message) != 200
      || (strstr (g_bytes_get_data (body, NULL), "\"rejected\":") != NULL
          && strstr (g_bytes_get_data (body, NULL), "\"rejected\":0,") == NULL))
    {
      if (pump->failed++ == 0)
        g_printerr ("bulk-bench: a request failed: %u %.*s\n", soup_message_get_status (message),
                    body ? (int) MIN (g_bytes_get_size (body), 600) : 0,
                    body ? (const char *) g_bytes_get_data (body, NULL) : "");
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
imports_new (const Kind *kind,
             guint       port)
{
  GPtrArray *requests = g_ptr_array_new_with_free_func (g_object_unref);
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u/%s:import", port, kind->name);
  g_autoptr(GString) body = g_string_new (NULL);

  for (int i = 1; i <= rows; i++)
    {
      kind->json_row (body, i);
      g_string_append_c (body, '\n');
      if (i % rows_per_request == 0 || i == rows)
        {
          g_ptr_array_add (requests, request_new ("POST", uri, "application/x-ndjson", body));
          g_string_truncate (body, 0);
        }
    }
  return requests;
}

/* PUT /vehicles/{id}: the row without its id. */
static GPtrArray *
puts_new (guint port)
{
  GPtrArray *requests = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GString) body = g_string_new (NULL);

  for (int i = 1; i <= put_rows; i++)
    {
      g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u/vehicles/bench-v%06u", port, i);
      const char *rest;

      g_string_truncate (body, 0);
      vehicle_json (body, i);
      rest = strchr (body->str, ',');
      g_string_erase (body, 1, rest - body->str);
      g_ptr_array_add (requests, request_new ("PUT", uri, "application/json", body));
    }
  return requests;
}

/* ---- runs ------------------------------------------------------------------------ */

static void
check_stored (const char *conninfo,
              const Kind *kind,
              gint64      expected)
{
  gint64 stored = count_rows (conninfo, kind);

  if (stored != expected)
    g_error ("%" G_GINT64_FORMAT " rows in %s, not %" G_GINT64_FORMAT, stored, kind->table, expected);
}

/* Through waybilld: rows committed a second. */
static double
run_import (const Kind *kind,
            guint       number,
            gboolean    put)
{
  g_autofree char *name = g_strdup_printf ("bulk_bench_%s_%u", put ? "put" : "import", number);
  g_autofree char *conninfo = database_create (name);
  WbBenchDaemon *daemon = wb_bench_daemon_start (conninfo, NULL);
  g_autoptr(GPtrArray) requests = NULL;
  int n = put ? put_rows : rows;
  double seconds;

  wb_bench_wait_ready (daemon->port);
  requests = put ? puts_new (daemon->port) : imports_new (kind, daemon->port);
  seconds = send_all (requests, put ? 8 : (guint) in_flight);
  wb_bench_daemon_stop (daemon);
  check_stored (conninfo, kind, n);
  g_print ("  %s %s run %u: %d rows in %.2f s = %.0f rows/s\n", kind->name, put ? "PUT" : "import", number, n,
           seconds, n / seconds);
  return n / seconds;
}

/* PostgreSQL alone: the same rows by COPY into the same table (migrated,
 * empty), one transaction. */
static double
run_copy (const Kind *kind,
          guint       number)
{
  g_autofree char *name = g_strdup_printf ("bulk_bench_copy_%u", number);
  g_autofree char *conninfo = database_create (name);
  g_autoptr(PGconn) conn = connect_or_die (conninfo);
  g_autoptr(GString) data = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(PGresult) result = NULL;
  gint64 started;
  double seconds;
  guint applied = 0;

  if (!wb_migrations_apply (conn, &applied, &error))
    g_error ("migrations: %s", error->message);
  for (int i = 1; i <= rows; i++)
    kind->copy_row (data, i);

  started = g_get_monotonic_time ();
  exec_or_die (conn, "BEGIN");
  result = PQexec (conn, kind->copy_sql);
  if (PQresultStatus (result) != PGRES_COPY_IN)
    g_error ("%s: %s", kind->copy_sql, PQerrorMessage (conn));
  g_clear_pointer (&result, PQclear);
  if (PQputCopyData (conn, data->str, (int) data->len) != 1 || PQputCopyEnd (conn, NULL) != 1)
    g_error ("COPY: %s", PQerrorMessage (conn));
  result = PQgetResult (conn);
  if (PQresultStatus (result) != PGRES_COMMAND_OK)
    g_error ("COPY: %s", PQerrorMessage (conn));
  g_clear_pointer (&result, PQclear);
  while ((result = PQgetResult (conn)) != NULL)
    g_clear_pointer (&result, PQclear);
  exec_or_die (conn, "COMMIT");
  seconds = (g_get_monotonic_time () - started) / (double) G_USEC_PER_SEC;

  check_stored (conninfo, kind, rows);
  g_print ("  %s COPY run %u: %d rows in %.2f s = %.0f rows/s\n", kind->name, number, rows, seconds, rows / seconds);
  return rows / seconds;
}

typedef struct
{
  const Kind *kind;
  double      import;
  double      copy;
} Figures;

static Figures
bench_kind (const Kind *kind)
{
  g_autoptr(GArray) imports = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) copies = g_array_new (FALSE, FALSE, sizeof (double));
  Figures figures = { kind, 0, 0 };

  /* Interleaved, so that a noisy stretch of the machine hits both. */
  for (int i = 0; i < runs; i++)
    {
      double copy = run_copy (kind, i + 1);
      double import = run_import (kind, i + 1, FALSE);

      g_array_append_val (copies, copy);
      g_array_append_val (imports, import);
    }
  figures.import = wb_bench_median (imports);
  figures.copy = wb_bench_median (copies);
  return figures;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) options = g_option_context_new ("— Waybill bulk import benchmark");
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) names = NULL;
  g_autoptr(GArray) results = g_array_new (FALSE, FALSE, sizeof (Figures));
  double put = 0;

  g_option_context_add_main_entries (options, entries, NULL);
  if (!g_option_context_parse (options, &argc, &argv, &error))
    g_error ("%s", error->message);
  if (rows < 1 || rows_per_request < 1 || rows_per_request > 100000 || in_flight < 1 || runs < 1 || put_rows < 0)
    g_error ("every option must be at least 1 (--rows-per-request at most 100000)");
  names = g_strsplit (kinds_option ? kinds_option : "vehicles,drivers,devices,pickup-points", ",", -1);

  cluster = wb_bench_cluster_start ();
  admin = connect_or_die (wb_embedded_postgres_get_conninfo (cluster));

  g_print ("Bulk import: %d rows a kind, NDJSON, %d rows a request, %d in flight; baseline: libpq COPY of the same "
           "rows into the same table, one transaction; %d runs each; %u cores\n", rows, rows_per_request, in_flight,
           runs, g_get_num_processors ());
  for (guint i = 0; names[i] != NULL; i++)
    {
      Figures figures = bench_kind (kind_by_name (names[i]));

      g_array_append_val (results, figures);
    }
  if (put_rows > 0)
    put = run_import (kind_by_name ("vehicles"), 1, TRUE);

  g_print ("%-15s %12s %12s %8s\n", "kind", "import rows/s", "COPY rows/s", "ratio");
  for (guint i = 0; i < results->len; i++)
    {
      const Figures *f = &g_array_index (results, Figures, i);

      g_print ("%-15s %12.0f %12.0f %8.2f\n", f->kind->name, f->import, f->copy, f->import / f->copy);
    }
  g_print ("(medians of %d; ratio = import / COPY)\n", runs);
  if (put_rows > 0)
    g_print ("PUT /vehicles/{id}, %d rows, 8 in flight: %.0f rows/s\n", put_rows, put);

  PQfinish (admin);
  wb_embedded_postgres_stop (cluster, NULL);
  g_object_unref (cluster);
  return 0;
}
