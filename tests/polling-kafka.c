// SPDX-License-Identifier: GPL-3.0-or-later
/* Carrier polling split over three waybilld processes on librdkafka's mock
 * cluster and one PostgreSQL: the scheduler publishes TRACKING_UPDATE, the
 * carrier worker consumes it, asks the carrier (an emulator in this
 * process) and its check goes out as tracking.updated, which the tracker
 * applies to the shipment. */

#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "wb-carrier-emulator.h"
#include "wb-json.h"
#include "wb-test-kafka.h"
#include "wb-test-server-thread.h"

#define N_BROKERS 1

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
post (WbTestDaemon *d,
      const char   *path,
      const char   *body,
      JsonNode    **out_answer)
{
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u%s", wb_test_daemon_port (d), path);
  g_autoptr(SoupMessage) message = soup_message_new ("POST", uri);
  g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));
  g_autoptr(GBytes) answer = NULL;

  soup_message_set_request_body_from_bytes (message, "application/json", bytes);
  answer = soup_session_send_and_read (wb_test_kafka_session, message, NULL, NULL);
  g_assert_nonnull (answer);
  *out_answer = wb_json_parse_bytes (answer, NULL, NULL);
  return soup_message_get_status (message);
}

static const char *
member (JsonNode   *node,
        const char *name)
{
  return json_object_get_string_member (json_node_get_object (node), name);
}

/* CDEK on the emulator, in this test's own directory. */
static char *
write_carriers (guint port)
{
  g_autofree char *text = g_strdup_printf ("[CDEK]\ndriver=emulator\nbase-url=http://127.0.0.1:%u\napi-key=k\n"
                                           "rate=20\nburst=1\nstatus-map=generic\n", port);
  char *path;

  g_assert_cmpint (g_mkdir_with_parents (g_get_user_runtime_dir (), 0700), ==, 0);
  path = g_build_filename (g_get_user_runtime_dir (), "carriers.conf", NULL);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  return path;
}

static void
wait_sql_text (World      *w,
               const char *sql,
               const char *want,
               guint       timeout_s)
{
  gint64 deadline = g_get_monotonic_time () + timeout_s * G_USEC_PER_SEC;

  for (;;)
    {
      g_autofree char *text = sql_text (w, sql);

      if (g_strcmp0 (text, want) == 0)
        return;
      if (g_get_monotonic_time () > deadline)
        g_error ("“%s” gave “%s”, not “%s”", sql, text ? text : "(null)", want);
      g_usleep (100 * 1000);
    }
}

static void
test_split_roles (void)
{
  g_autoptr(World) w = world_new (2);
  g_autoptr(WbCarrierEmulator) emulator = wb_carrier_emulator_new ();
  const char *codes[] = { "INFO_RECEIVED", "accepted", "OUT_FOR_DELIVERY", "DELIVERED", NULL };
  WbTestServerThread *thread;
  g_autofree char *carriers_path = NULL;
  g_autofree char *carriers_arg = NULL;
  g_autofree char *items = NULL;
  g_autofree char *tracking_sql = NULL;
  g_autofree char *shipment_sql = NULL;
  g_autofree char *carriers = NULL;
  g_autoptr(JsonNode) shipment = NULL;
  g_autoptr(JsonNode) added = NULL;
  g_autoptr(GPtrArray) requests = NULL;
  g_autoptr(GPtrArray) updates = NULL;
  WbTestDaemon *api, *scheduler, *worker;
  WbEmulatorCounts counts;

  /* The whole scenario, to DELIVERED, is out about a second after the first request. */
  wb_carrier_emulator_seed (emulator, "CDEK", "1106-2233", codes, 300 * 1000);
  thread = wb_test_server_thread_start ("emulator", emulator_start, emulator_stop, emulator);
  carriers_path = write_carriers (wb_test_server_thread_get_port (thread));
  carriers_arg = g_strconcat ("--carriers-file=", carriers_path, NULL);
  {
    const char *args[] = { carriers_arg, "--polling-profile=demo", NULL };

    api = daemon_start_with (w, "api,tracker", args);
    worker = daemon_start_with (w, "carrier-worker", args);
    scheduler = daemon_start_with (w, "scheduler", args);
  }

  g_assert_cmpuint (post (api, "/shipments", "{\"clientId\":\"acme\",\"serviceLevel\":\"standard\","
                                             "\"recipient\":{\"name\":\"Ann\"},\"destination\":{\"country\":\"BY\"}}",
                          &shipment), ==, 201);
  items = g_strdup_printf ("{\"items\":[{\"carrierCode\":\"CDEK\",\"trackNumber\":\"1106-2233\",\"shipmentId\":\"%s\"}]}",
                           member (shipment, "id"));
  g_assert_cmpuint (post (api, "/trackings", items, &added), ==, 200);

  /* The tracking reaches DELIVERED (the worker's transaction) and so does
   * the shipment (the tracker, from tracking.updated). */
  wait_sql_text (w, "SELECT status FROM trackings WHERE track_number = '1106-2233'", "DELIVERED", 40);
  shipment_sql = g_strdup_printf ("SELECT status FROM shipments WHERE id = '%s'", member (shipment, "id"));
  wait_sql_text (w, shipment_sql, "DELIVERED", 30);
  g_assert_cmpint (sql_int (w, "SELECT count(*) FROM tracking_events"), ==, 4);

  /* Through the topics, each by its role's process. */
  requests = read_topic (w, "TRACKING_UPDATE", 1, 10000);
  g_assert_nonnull (find_record (requests, "\"track_number\":\"1106-2233\""));
  updates = read_topic (w, "tracking.updated", 1, 10000);
  /* The outbox keeps its payloads as jsonb: spaces after the colons. */
  g_assert_nonnull (find_record (updates, "\"status\": \"DELIVERED\""));
  g_assert_cmpfloat (metric (scheduler, "waybill_polling_claims_total"), >=, 1);
  g_assert_cmpfloat (metric (worker, "waybill_carrier_requests_total{carrier=\"CDEK\",outcome=\"ok\"}"), >=, 1);
  g_assert_cmpfloat (metric (scheduler, "waybill_carrier_requests_total{carrier=\"CDEK\",outcome=\"ok\"}"), ==, 0);
  g_assert_cmpfloat (metric (api, "waybill_polling_claims_total"), ==, 0);
  wb_carrier_emulator_get_counts (emulator, &counts);
  g_assert_cmpuint (counts.served, >=, 1);
  /* The api process runs no carrier worker: the shared limits, no request figures. */
  g_assert_cmpuint (http_get (api, "/carriers", &carriers), ==, 200);
  g_assert_nonnull (strstr (carriers, "\"requests\":null"));
  g_assert_nonnull (strstr (carriers, "\"breaker\":\"closed\""));

  g_assert_cmpint (wb_test_daemon_terminate (scheduler), ==, 0);
  g_assert_cmpint (wb_test_daemon_terminate (worker), ==, 0);
  g_assert_cmpint (wb_test_daemon_terminate (api), ==, 0);
  wb_test_daemon_free (scheduler);
  wb_test_daemon_free (worker);
  wb_test_daemon_free (api);
  wb_test_server_thread_stop (thread);
  g_unlink (carriers_path);
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  wb_test_kafka_init (N_BROKERS);

  g_test_add_func ("/polling-kafka/split-roles", test_split_roles);

  status = g_test_run ();
  wb_test_kafka_teardown ();
  return status;
}
