// SPDX-License-Identifier: GPL-3.0-or-later
/* Shipments benchmark. Prints:
 *
 *   1. status events ingested per second through POST /shipments/events:batch
 *      (1000 events a request, 10% of them duplicates), median of the runs;
 *   2. GET /shipments/{id} requests per second under wrk, next to a bare
 *      SoupServer handler answering a fixed body, measured in the same run,
 *      alternating, medians; the ratio is the figure.
 *
 * The daemon is the built waybilld on its own embedded PostgreSQL cluster,
 * logging at "message" level (no access log). Both servers keep their
 * connections alive, as wrk's HTTP/1.1 clients expect; the bare server is
 * also measured closing every connection, for what a handshake per request
 * costs. */

#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "wb-bench.h"
#include "wb-embedded-postgres.h"

static int    runs = 3;
static int    batches_per_run = 10;
static int    shipments = 200;
static int    wrk_seconds = 5;
static int    wrk_connections = 16;

static GOptionEntry entries[] = {
  { "runs", 0, 0, G_OPTION_ARG_INT, &runs, "Runs per figure (median reported)", "N" },
  { "batches", 0, 0, G_OPTION_ARG_INT, &batches_per_run, "Batches of 1000 events per run", "N" },
  { "shipments", 0, 0, G_OPTION_ARG_INT, &shipments, "Shipments the events are spread over", "N" },
  { "wrk-seconds", 0, 0, G_OPTION_ARG_INT, &wrk_seconds, "Duration of each wrk run", "S" },
  { "connections", 0, 0, G_OPTION_ARG_INT, &wrk_connections, "wrk connections", "N" },
  { NULL }
};

/* ---- the daemon ---------------------------------------------------------- */

/* ---- HTTP helpers -------------------------------------------------------- */

static SoupSession *session;

static guint
http (const char  *method,
      guint        port,
      const char  *path,
      const char  *body,
      char       **out_body)
{
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u%s", port, path);
  g_autoptr(SoupMessage) message = soup_message_new (method, uri);
  g_autoptr(GBytes) answer = NULL;

  if (body)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));
      soup_message_set_request_body_from_bytes (message, "application/json", bytes);
    }
  answer = soup_session_send_and_read (session, message, NULL, NULL);
  if (out_body)
    *out_body = answer ? g_strndup (g_bytes_get_data (answer, NULL), g_bytes_get_size (answer)) : NULL;
  return soup_message_get_status (message);
}

static char *
create_shipment (guint port,
                 int   n)
{
  g_autofree char *body = g_strdup_printf (
    "{\"clientId\":\"bench\",\"serviceLevel\":\"standard\","
    "\"recipient\":{\"name\":\"Bench %d\",\"phone\":\"+375291%06d\",\"email\":\"b%d@example.org\"},"
    "\"origin\":{\"country\":\"BY\",\"city\":\"Brest\",\"line1\":\"Sovetskaya 1\",\"postalCode\":\"224000\"},"
    "\"destination\":{\"country\":\"BY\",\"city\":\"Minsk\",\"line1\":\"Nezavisimosti 1\",\"postalCode\":\"220030\","
    "\"lat\":53.9,\"lon\":27.56}}", n, n, n);
  g_autofree char *answer = NULL;
  g_autoptr(JsonNode) node = NULL;
  guint status = http ("POST", port, "/shipments", body, &answer);

  if (status != 201)
    g_error ("POST /shipments answered %u: %s", status, answer ? answer : "");
  node = json_from_string (answer, NULL);
  return g_strdup (json_object_get_string_member (json_node_get_object (node), "id"));
}

static const char *statuses[] = { "INFO_RECEIVED", "IN_TRANSIT", "IN_TRANSIT", "OUT_FOR_DELIVERY" };

/* One batch of 1000: 900 new events and 100 repeats of events already sent. */
static char *
make_batch (GPtrArray *ids,
            int        run,
            int        batch,
            guint64   *sequence)
{
  GString *body = g_string_new ("{\"events\":[");

  for (int i = 0; i < 1000; i++)
    {
      guint64 seq = (i % 10 == 9 && *sequence > 100) ? *sequence - 50 - (guint64) (i % 40) : (*sequence)++;
      const char *id = g_ptr_array_index (ids, seq % ids->len);

      g_string_append_printf (body,
        "%s{\"shipmentId\":\"%s\",\"eventId\":\"bench-%" G_GUINT64_FORMAT "\",\"source\":\"bench\","
        "\"status\":\"%s\",\"statusRaw\":\"scan\",\"occurredAt\":\"2026-11-20T%02d:%02d:%02dZ\","
        "\"location\":{\"text\":\"Minsk\",\"lat\":53.9,\"lon\":27.56},\"description\":\"benchmark\"}",
        i ? "," : "", id, seq, statuses[seq % G_N_ELEMENTS (statuses)],
        (int) (seq / 3600) % 24, (int) (seq / 60) % 60, (int) seq % 60);
    }
  g_string_append (body, "]}");
  return g_string_free (body, FALSE);
}

static double
ingest_run (guint      port,
            GPtrArray *ids,
            int        run,
            guint64   *sequence)
{
  gint64 start = g_get_monotonic_time ();
  guint created = 0, duplicates = 0;

  for (int b = 0; b < batches_per_run; b++)
    {
      g_autofree char *body = make_batch (ids, run, b, sequence);
      g_autofree char *answer = NULL;
      g_autoptr(JsonNode) node = NULL;
      JsonObject *object;
      guint status = http ("POST", port, "/shipments/events:batch", body, &answer);

      if (status != 200)
        g_error ("batch answered %u: %.300s", status, answer ? answer : "");
      node = json_from_string (answer, NULL);
      object = json_node_get_object (node);
      created += json_object_get_int_member (object, "created");
      duplicates += json_object_get_int_member (object, "duplicates");
    }
  g_print ("  run %d: %d events (%u new, %u duplicates) in %.2f s\n", run + 1, batches_per_run * 1000,
           created, duplicates, (g_get_monotonic_time () - start) / 1e6);
  return batches_per_run * 1000 / ((g_get_monotonic_time () - start) / 1e6);
}

/* ---- the bare baseline ---------------------------------------------------- */

static gint bare_close;   /* read by the server thread */

static void
bare_handler (SoupServer        *server,
              SoupServerMessage *message,
              const char        *path,
              GHashTable        *query,
              gpointer           user_data)
{
  static const char body[] = "{\"id\":\"00000000-0000-0000-0000-000000000000\",\"status\":\"IN_TRANSIT\"}\n";

  if (g_atomic_int_get (&bare_close))
    soup_message_headers_replace (soup_server_message_get_response_headers (message), "Connection", "close");
  soup_server_message_set_status (message, 200, NULL);
  soup_server_message_set_response (message, "application/json", SOUP_MEMORY_STATIC, body, sizeof body - 1);
}

static gpointer
bare_thread (gpointer data)
{
  guint *port = data;
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(SoupServer) server = NULL;
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new_from_string ("127.0.0.1", 0);
  GSList *uris;

  g_main_context_push_thread_default (context);
  server = soup_server_new (NULL, NULL);
  soup_server_add_handler (server, NULL, bare_handler, NULL, NULL);
  if (!soup_server_listen (server, address, 0, NULL))
    g_error ("bare server cannot listen");
  uris = soup_server_get_uris (server);
  g_atomic_int_set (port, g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  while (TRUE)
    g_main_context_iteration (context, TRUE);
  return NULL;
}

static double
wrk_rps (guint       port,
         const char *path)
{
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u%s", port, path);
  g_autofree char *duration = g_strdup_printf ("%ds", wrk_seconds);
  g_autofree char *connections = g_strdup_printf ("%d", wrk_connections);
  g_autoptr(GSubprocess) wrk = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  const char *at;

  wrk = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE, &error,
                          "wrk", "-t1", "-c", connections, "-d", duration, url, NULL);
  if (wrk == NULL)
    g_error ("Cannot run wrk (apt-get install wrk): %s", error->message);
  g_subprocess_communicate_utf8 (wrk, NULL, NULL, &out, NULL, NULL);
  at = out ? strstr (out, "Requests/sec:") : NULL;
  if (at == NULL)
    g_error ("wrk printed no rate:\n%s", out ? out : "");
  if (strstr (out, "Non-2xx"))
    g_printerr ("  (wrk saw non-2xx answers for %s)\n", path);
  return g_ascii_strtod (at + strlen ("Requests/sec:"), NULL);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) options = g_option_context_new ("— Waybill shipments benchmark");
  g_autoptr(GError) error = NULL;
  g_autoptr(WbEmbeddedPostgres) cluster = NULL;
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GArray) ingest = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) ours = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) bare = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) bare_keepalive = g_array_new (FALSE, FALSE, sizeof (double));
  g_autofree char *path = NULL;
  guint bare_port = 0;
  guint64 sequence = 0;
  const char *daemon_args[] = { "--max-connections-per-peer=10000", "--max-connections=10000", NULL };
  WbBenchDaemon *d;

  g_option_context_add_main_entries (options, entries, NULL);
  if (!g_option_context_parse (options, &argc, &argv, &error))
    g_error ("%s", error->message);

  cluster = wb_bench_cluster_start ();

  session = soup_session_new_with_options ("timeout", 60, NULL);
  d = wb_bench_daemon_start (wb_embedded_postgres_get_conninfo (cluster), daemon_args);
  wb_bench_wait_ready (d->port);

  g_print ("Creating %d shipments...\n", shipments);
  for (int i = 0; i < shipments; i++)
    g_ptr_array_add (ids, create_shipment (d->port, i));

  g_print ("Figure 1: status events through POST /shipments/events:batch (1000 a request, 10%% duplicates)\n");
  for (int r = 0; r < runs; r++)
    {
      double rate = ingest_run (d->port, ids, r, &sequence);
      g_array_append_val (ingest, rate);
    }

  g_thread_unref (g_thread_new ("bare", bare_thread, &bare_port));
  while (g_atomic_int_get (&bare_port) == 0)
    g_usleep (1000);

  path = g_strdup_printf ("/shipments/%s", (char *) g_ptr_array_index (ids, 0));
  g_print ("Figure 2: GET %s under wrk (-t1 -c%d, %d s), alternating with a bare SoupServer\n",
           path, wrk_connections, wrk_seconds);
  for (int r = 0; r < runs; r++)
    {
      double a, b, c;

      a = wrk_rps (d->port, path);
      c = wrk_rps (bare_port, "/fixed");
      g_atomic_int_set (&bare_close, TRUE);
      b = wrk_rps (bare_port, "/fixed");
      g_atomic_int_set (&bare_close, FALSE);
      g_array_append_val (ours, a);
      g_array_append_val (bare, b);
      g_array_append_val (bare_keepalive, c);
      g_print ("  run %d: waybilld %.0f req/s, bare keep-alive %.0f req/s, bare (Connection: close) %.0f req/s\n",
               r + 1, a, c, b);
    }

  g_print ("\nRESULTS (medians of %d runs, %u cores)\n", runs, g_get_num_processors ());
  g_print ("  batch ingestion:        %.0f events/s\n", wb_bench_median (ingest));
  g_print ("  GET /shipments/{id}:    %.0f req/s\n", wb_bench_median (ours));
  g_print ("  bare SoupServer:        %.0f req/s (keep-alive), %.0f req/s (Connection: close)\n",
           wb_bench_median (bare_keepalive), wb_bench_median (bare));
  g_print ("  ratio waybilld / bare:  %.2f (both keep-alive; goal 0.8)\n",
           wb_bench_median (ours) / wb_bench_median (bare_keepalive));

  wb_bench_daemon_stop (d);
  g_object_unref (session);
  wb_embedded_postgres_stop (cluster, NULL);
  return 0;
}
