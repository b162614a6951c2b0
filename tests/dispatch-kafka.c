// SPDX-License-Identifier: GPL-3.0-or-later
/* Dispatch over Kafka (librdkafka's mock cluster): the api role and the
 * dispatch role in two waybilld processes. A reassignment accepted by the
 * first is applied by the second, and trip.reassigned reaches the topic.
 * A trip started and completed through the first tags, then untags, the
 * positions the fleet role of another process enriches. */

#include "config.h"

#include <math.h>
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

/* The tripId GET /locations shows for v1 once a position of dev1, posted
 * to @fleet now, is on its map (NULL for none, or "" for no such answer). */
static char *
trip_of_next_position (WbTestDaemon *fleet,
                       guint         n)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *time = g_date_time_format (now, "%Y-%m-%dT%H:%M:%S.%fZ");
  double lat = 53.80 + 0.0001 * n;
  g_autofree char *body = g_strdup_printf ("{\"deviceId\":\"dev1\",\"timestamp\":\"%s\",\"lat\":%.4f,\"lon\":27.56}",
                                           time, lat);
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  g_assert_cmpuint (post (fleet, "/telemetry", body, NULL), ==, 200);
  while (g_get_monotonic_time () < deadline)
    {
      g_autofree char *answer = NULL;
      g_autoptr(JsonNode) root = NULL;
      JsonArray *items;

      if (http_get (fleet, "/locations?vehicleId=v1", &answer) == 200
          && (root = wb_json_parse (answer, strlen (answer), NULL, NULL)) != NULL
          && json_array_get_length (items = json_object_get_array_member (json_node_get_object (root), "items")) == 1
          && fabs (json_object_get_double_member (json_array_get_object_element (items, 0), "lat") - lat) < 1e-9)
        return g_strdup (json_object_get_string_member_with_default (json_array_get_object_element (items, 0),
                                                                     "tripId", NULL));
      g_usleep (50 * 1000);
    }
  g_error ("the position of dev1 never reached the map; its log:\n%s", fleet->log->str);
}

/* Waits, posting positions, until v1's are tagged with @trip (NULL: none). */
static void
wait_tag (WbTestDaemon *fleet,
          guint        *n,
          const char   *trip)
{
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  for (;;)
    {
      g_autofree char *tag = trip_of_next_position (fleet, ++*n);

      if (g_strcmp0 (tag, trip) == 0)
        return;
      if (g_get_monotonic_time () > deadline)
        g_error ("v1's positions never carried trip %s; the fleet's log:\n%s", trip ? trip : "(none)",
                 fleet->log->str);
      g_usleep (100 * 1000);
    }
}

static void
test_trip_tags_positions (void)
{
  g_autoptr(World) w = world_new (2);
  WbTestDaemon *api, *fleet;
  guint n = 0;

  sql_exec (w, "INSERT INTO companies (id, name, version) VALUES ('acme', 'Acme', 1)");
  sql_exec (w, "INSERT INTO vehicles (id, plate, company_id, version) VALUES ('v1', 'V-1', 'acme', 1)");
  sql_exec (w, "INSERT INTO drivers (id, name, company_id, version) VALUES ('d1', 'D 1', 'acme', 1)");
  sql_exec (w, "INSERT INTO devices (device_id, vehicle_id, version) VALUES ('dev1', 'v1', 1)");
  sql_exec (w, "INSERT INTO trips (id, company_id, vehicle_id, driver_id, status) VALUES ('k-live', 'acme', 'v1', 'd1', 'PLANNED')");
  fleet = daemon_start (w, "ingest,fleet,gateway");
  api = daemon_start (w, "api");

  wait_tag (fleet, &n, NULL);
  g_assert_cmpuint (post (api, "/trips/k-live/start", "{}", NULL), ==, 200);
  wait_tag (fleet, &n, "k-live");
  g_assert_cmpuint (post (api, "/trips/k-live/complete", "{}", NULL), ==, 200);
  wait_tag (fleet, &n, NULL);

  g_assert_cmpint (wb_test_daemon_terminate (api), ==, 0);
  g_assert_cmpint (wb_test_daemon_terminate (fleet), ==, 0);
  wb_test_daemon_free (api);
  wb_test_daemon_free (fleet);
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  wb_test_kafka_init (N_BROKERS);

  g_test_add_func ("/dispatch-kafka/two-processes", test_two_processes);
  g_test_add_func ("/dispatch-kafka/trip-tags-positions", test_trip_tags_positions);

  status = g_test_run ();
  wb_test_kafka_teardown ();
  return status;
}
