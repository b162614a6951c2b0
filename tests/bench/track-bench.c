// SPDX-License-Identifier: GPL-3.0-or-later
/* Track benchmark: a 30-day track of one vehicle reporting every 10 s
 * (259 200 positions). Prints, as medians:
 *
 *   - GET /vehicles/{id}/track over the 30 days (JSON, tolerance 10 m, and
 *     GeoJSON), end to end through waybilld;
 *   - next to the bare read of the same rows with libpq (text results, the
 *     five columns a track uses) in the same run: the ratio says what the
 *     analysis, the rendering and HTTP add to fetching the rows.
 *
 * The bar: "well under a second". */

#include "config.h"

#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "wb-bench.h"
#include "wb-db.h"
#include "wb-embedded-postgres.h"

#define STEP_S   10
#define DAYS     30

static int runs = 5;

static GOptionEntry entries[] = {
  { "runs", 0, 0, G_OPTION_ARG_INT, &runs, "Runs per figure (median reported)", "N" },
  { NULL }
};

static SoupSession *session;

static guint
http (const char  *method,
      guint        port,
      const char  *path,
      const char  *accept,
      const char  *body,
      gsize       *out_size)
{
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u%s", port, path);
  g_autoptr(SoupMessage) message = soup_message_new (method, uri);
  g_autoptr(GBytes) answer = NULL;

  if (accept)
    soup_message_headers_replace (soup_message_get_request_headers (message), "Accept", accept);
  if (body)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));
      soup_message_set_request_body_from_bytes (message, "application/json", bytes);
    }
  answer = soup_session_send_and_read (session, message, NULL, NULL);
  if (out_size)
    *out_size = answer ? g_bytes_get_size (answer) : 0;
  return soup_message_get_status (message);
}

static void
exec_or_die (PGconn     *conn,
             const char *sql)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PGresult) result = wb_db_exec (conn, sql, NULL, 0, NULL, &error);

  if (result == NULL)
    g_error ("%s: %s", sql, error->message);
}

/* Thirty days ending now, every 10 s: an hour's loop around the city
 * alternating with parking (a third of the time), as delivery vans do. */
static void
fill_history (PGconn *conn)
{
  gint64 start = g_get_monotonic_time ();

  exec_or_die (conn, "SELECT waybill_positions_ensure_partition (d::date)"
                     " FROM generate_series (now() - interval '31 days', now(), interval '1 day') AS d");
  exec_or_die (conn,
    "INSERT INTO positions (device_id, vehicle_id, device_time, server_time, protocol, lat, lon, speed_kmh,"
    " ignition)"
    " SELECT 'dev1', 'v1', t, t, 'json',"
    "  53.9 + 0.03 * sin (k / 60.0), 27.56 + 0.05 * cos (k / 45.0),"
    "  CASE WHEN parked THEN 0 ELSE 35 + 10 * sin (i / 7.0) END, NOT parked"
    " FROM (SELECT i, date_trunc ('second', now()) - interval '30 days' + i * interval '10 s' AS t,"
    "        (i / 360) % 3 = 2 AS parked,"
    "        CASE WHEN (i / 360) % 3 = 2 THEN i - i % 360 ELSE i END AS k"
    "       FROM generate_series (0, 259199) AS i) AS s");
  exec_or_die (conn, "ANALYZE positions");
  g_print ("Filled 259 200 positions in %.1f s\n", (g_get_monotonic_time () - start) / 1e6);
}

static double
bare_read (PGconn     *conn,
           const char *from,
           const char *to)
{
  const char *params[] = { "v1", from, to };
  g_autoptr(GError) error = NULL;
  gint64 start = g_get_monotonic_time ();
  g_autoptr(PGresult) result = wb_db_exec (conn,
    "SELECT device_time, lat, lon, speed_kmh, ignition FROM positions"
    " WHERE vehicle_id = $1 AND device_time >= $2 AND device_time < $3 ORDER BY device_time",
    params, 3, NULL, &error);

  if (result == NULL)
    g_error ("bare read: %s", error->message);
  if (PQntuples (result) != 259200)
    g_error ("bare read found %d rows", PQntuples (result));
  return (g_get_monotonic_time () - start) / 1e3;
}

static double
timed_get (guint       port,
           const char *path,
           const char *accept,
           gsize      *out_size)
{
  gint64 start = g_get_monotonic_time ();
  guint status = http ("GET", port, path, accept, NULL, out_size);

  if (status != 200)
    g_error ("GET %s answered %u", path, status);
  return (g_get_monotonic_time () - start) / 1e3;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) options = g_option_context_new ("— Waybill track benchmark");
  g_autoptr(GError) error = NULL;
  g_autoptr(WbEmbeddedPostgres) cluster = NULL;
  g_autoptr(GArray) bare = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) json = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) geojson = g_array_new (FALSE, FALSE, sizeof (double));
  g_autofree char *from = NULL;
  g_autofree char *to = NULL;
  g_autofree char *path = NULL;
  PGconn *conn;
  gsize json_size = 0, geojson_size = 0;
  GDateTime *now;
  GDateTime *then;
  WbBenchDaemon *d;

  g_option_context_add_main_entries (options, entries, NULL);
  if (!g_option_context_parse (options, &argc, &argv, &error))
    g_error ("%s", error->message);

  cluster = wb_bench_cluster_start ();

  session = soup_session_new_with_options ("timeout", 60, NULL);
  d = wb_bench_daemon_start (wb_embedded_postgres_get_conninfo (cluster), NULL);
  wb_bench_wait_ready (d->port);
  if (http ("PUT", d->port, "/vehicles/v1", NULL, "{\"plate\":\"BENCH-1\"}", NULL) != 200)
    g_error ("PUT /vehicles/v1 failed");

  conn = wb_db_connect (wb_embedded_postgres_get_conninfo (cluster), &error);
  if (conn == NULL)
    g_error ("%s", error->message);
  fill_history (conn);

  now = g_date_time_new_now_utc ();
  then = g_date_time_add_days (now, -DAYS - 1);
  to = g_date_time_format_iso8601 (now);
  from = g_date_time_format_iso8601 (then);
  g_date_time_unref (now);
  g_date_time_unref (then);
  path = g_strdup_printf ("/vehicles/v1/track?from=%s&to=%s&tolerance=10", from, to);

  /* One of each first, so every run finds the same warm cache. */
  bare_read (conn, from, to);
  timed_get (d->port, path, NULL, NULL);
  for (int r = 0; r < runs; r++)
    {
      double b = bare_read (conn, from, to);
      double j = timed_get (d->port, path, NULL, &json_size);
      double g = timed_get (d->port, path, "application/geo+json", &geojson_size);

      g_array_append_val (bare, b);
      g_array_append_val (json, j);
      g_array_append_val (geojson, g);
      g_print ("  run %d: bare read %.0f ms, GET track JSON %.0f ms, GeoJSON %.0f ms\n", r + 1, b, j, g);
    }

  g_print ("\nRESULTS (medians of %d runs, %u cores; 30 days at 10 s = 259 200 positions)\n",
           runs, g_get_num_processors ());
  g_print ("  bare libpq read of the rows:   %.0f ms\n", wb_bench_median (bare));
  g_print ("  GET /vehicles/{id}/track JSON: %.0f ms (%" G_GSIZE_FORMAT " bytes)\n", wb_bench_median (json), json_size);
  g_print ("  the same as GeoJSON:           %.0f ms (%" G_GSIZE_FORMAT " bytes)\n", wb_bench_median (geojson),
           geojson_size);
  g_print ("  ratio bare read / GET track:   %.2f\n", wb_bench_median (bare) / wb_bench_median (json));

  PQfinish (conn);
  wb_bench_daemon_stop (d);
  g_object_unref (session);
  wb_embedded_postgres_stop (cluster, NULL);
  return 0;
}
