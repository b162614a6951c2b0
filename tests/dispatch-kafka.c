// SPDX-License-Identifier: GPL-3.0-or-later
/* Dispatch over Kafka (librdkafka's mock cluster): the api role and the
 * dispatch role in two waybilld processes. A reassignment accepted by the
 * first is applied by the second, and trip.reassigned reaches the topic. */

#include "config.h"

#include <string.h>

#include "wb-json.h"
#include "wb-test-kafka.h"

#define N_BROKERS 1

static guint
post (WbTestDaemon *d,
      const char   *path,
      const char   *body,
      char        **out_body)
{
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u%s", wb_test_daemon_port (d), path);
  g_autoptr(SoupMessage) message = soup_message_new ("POST", uri);
  g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));
  g_autoptr(GBytes) answer = NULL;

  soup_message_set_request_body_from_bytes (message, "application/json", bytes);
  answer = soup_session_send_and_read (wb_test_kafka_session, message, NULL, NULL);
  if (out_body != NULL)
    *out_body = answer ? g_strndup (g_bytes_get_data (answer, NULL), g_bytes_get_size (answer)) : NULL;
  return soup_message_get_status (message);
}

static void
test_two_processes (void)
{
  g_autoptr(World) w = world_new (2);
  g_autoptr(GPtrArray) records = NULL;
  g_autofree char *answer = NULL;
  WbTestDaemon *api, *dispatch;
  gint64 deadline;

  sql_exec (w, "INSERT INTO companies (id, name, version) VALUES ('acme', 'Acme', 1)");
  sql_exec (w, "INSERT INTO vehicles (id, plate, company_id, version) VALUES ('v1', 'V-1', 'acme', 1), ('v2', 'V-2', 'acme', 1)");
  sql_exec (w, "INSERT INTO drivers (id, name, company_id, version) VALUES ('d1', 'D 1', 'acme', 1)");
  sql_exec (w, "INSERT INTO trips (id, company_id, vehicle_id, driver_id, status) VALUES ('k-trip', 'acme', 'v1', 'd1', 'IN_TRANSIT')");
  dispatch = daemon_start (w, "dispatch");
  api = daemon_start (w, "api");

  g_assert_cmpuint (post (api, "/trips/k-trip/reassign", "{\"vehicleId\":\"v2\",\"reason\":\"breakdown\"}", &answer), ==, 202);
  g_assert_nonnull (strstr (answer, "\"status\":\"pending\""));
  deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (sql_int (w, "SELECT count(*) FROM commands WHERE status = 'applied'") == 0)
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("the dispatch process never applied the command; its log:\n%s", dispatch->log->str);
      g_usleep (100 * 1000);
    }
  g_assert_cmpint (sql_int (w, "SELECT count(*) FROM trips WHERE id = 'k-trip' AND vehicle_id = 'v2'"), ==, 1);
  records = read_topic (w, "trip.reassigned", 1, 30000);
  g_assert_nonnull (find_keyed_record (records, "k-trip", "v2"));

  g_assert_cmpint (wb_test_daemon_terminate (api), ==, 0);
  g_assert_cmpint (wb_test_daemon_terminate (dispatch), ==, 0);
  wb_test_daemon_free (api);
  wb_test_daemon_free (dispatch);
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  wb_test_kafka_init (N_BROKERS);

  g_test_add_func ("/dispatch-kafka/two-processes", test_two_processes);

  status = g_test_run ();
  wb_test_kafka_teardown ();
  return status;
}
