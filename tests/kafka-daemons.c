// SPDX-License-Identifier: GPL-3.0-or-later
/* Real waybilld processes on librdkafka's mock cluster (three brokers, in
 * this process) and a real PostgreSQL: every consumed topic end to end,
 * redelivery, poison messages, a broker going away, SIGKILL mid-stream and
 * two daemons sharing one consumer group. One cluster serves every test;
 * each test gets its own topic prefix (tN.), consumer group and database,
 * so they stay apart. */

#include "config.h"

#include <libsoup/soup.h>
#include <signal.h>
#include <string.h>

#include "wb-kafka-private.h"
#include "wb-test-kafka.h"

#define N_BROKERS 3

/* ---- payloads ---------------------------------------------------------------- */

static char *
ticket_json (const char *ticket_id,
             const char *carrier,
             const char *track_number)
{
  return g_strdup_printf ("{\"ticket_id\":\"%s\",\"client_id\":\"e2e\",\"carrier\":\"%s\","
                          "\"track_number\":\"%s\",\"service_level\":\"express\","
                          "\"recipient\":{\"name\":\"Anna\",\"phone\":\"8 029 123-45-67\"},"
                          "\"destination\":{\"country\":\"BY\",\"city\":\"Minsk\",\"line1\":\"Nezavisimosti 1\"},"
                          "\"created_at\":\"2026-11-20T08:00:00Z\"}",
                          ticket_id, carrier, track_number);
}

/* Distinct events on one tracking: IN_TRANSIT never closes the shipment. */
static char *
event_json (const char *event_id,
            const char *track_number,
            guint       minute)
{
  return g_strdup_printf ("{\"event_id\":\"%s\",\"carrier\":\"dhl\",\"track_number\":\"%s\","
                          "\"status\":\"IN_TRANSIT\",\"status_raw\":\"transit\","
                          "\"occurred_at\":\"2026-11-21T%02u:%02u:00Z\",\"description\":\"e2e\"}",
                          event_id, track_number, 8 + minute / 60 % 12, minute % 60);
}

static char *
telemetry_json (const char *device_id,
                gint64      device_time_us,
                double      lat,
                double      lon)
{
  g_autoptr(GDateTime) at = g_date_time_new_from_unix_utc (device_time_us / G_USEC_PER_SEC);
  g_autoptr(GDateTime) when = g_date_time_add (at, device_time_us % G_USEC_PER_SEC);
  g_autofree char *time = g_date_time_format (when, "%Y-%m-%dT%H:%M:%S.%fZ");
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *server_time = g_date_time_format (now, "%Y-%m-%dT%H:%M:%S.%fZ");
  char lat_text[G_ASCII_DTOSTR_BUF_SIZE], lon_text[G_ASCII_DTOSTR_BUF_SIZE];

  return g_strdup_printf ("{\"device_id\":\"%s\",\"protocol\":\"json\",\"device_time\":\"%s\","
                          "\"server_time\":\"%s\",\"lat\":%s,\"lon\":%s,\"speed_kmh\":42,\"attributes\":{}}",
                          device_id, time, server_time, g_ascii_dtostr (lat_text, sizeof lat_text, lat),
                          g_ascii_dtostr (lon_text, sizeof lon_text, lon));
}

/* A device on a vehicle, in the database before the daemon loads its index. */
static void
register_device (World      *w,
                 const char *device_id,
                 const char *vehicle_id)
{
  g_autofree char *vehicle = g_strdup_printf ("INSERT INTO vehicles (id, plate, version) VALUES ('%s', 'P-%s', 1)",
                                              vehicle_id, vehicle_id);
  g_autofree char *device = g_strdup_printf ("INSERT INTO devices (device_id, vehicle_id, version) "
                                             "VALUES ('%s', '%s', 1)", device_id, vehicle_id);

  sql_exec (w, vehicle);
  sql_exec (w, device);
}

/* 50 shipments (dhl JDK000…JDK049) from TICKET_CREATED, applied. */
static void
create_shipments (World *w,
                  guint  n)
{
  g_autofree char *count_sql = NULL;

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *ticket = g_strdup_printf ("TK-%03u", i);
      g_autofree char *track = g_strdup_printf ("JDK%03u", i);
      g_autofree char *json = ticket_json (ticket, "dhl", track);

      produce (w, "TICKET_CREATED", ticket, json);
    }
  produce_flush ();
  count_sql = g_strdup ("SELECT count(*) FROM shipment_tickets");
  g_assert_cmpint (sql_wait (w, count_sql, n, 60), ==, n);
}

/* Event k of @n for @shipments shipments, keyed by its track number. */
static void
produce_events (World      *w,
                const char *tag,
                guint       first,
                guint       n,
                guint       shipments)
{
  for (guint k = first; k < first + n; k++)
    {
      g_autofree char *id = g_strdup_printf ("%s-%05u", tag, k);
      g_autofree char *track = g_strdup_printf ("JDK%03u", k % shipments);
      g_autofree char *json = event_json (id, track, k / shipments);

      produce (w, "TRACKING_EVENT", track, json);
    }
}

#define EVENTS_SQL(tag) "SELECT count(*) FROM shipment_events WHERE source = 'dhl' AND event_id LIKE '" tag "-%'"

/* Every event of the stream exactly once, every shipment with its share. */
static void
assert_events_once (World      *w,
                    const char *tag,
                    guint       n,
                    guint       shipments)
{
  g_autofree char *like = g_strdup_printf ("'%s-%%'", tag);
  g_autofree char *distinct = g_strdup_printf ("SELECT count(DISTINCT event_id) FROM shipment_events "
                                               "WHERE source = 'dhl' AND event_id LIKE %s", like);
  g_autofree char *uneven = g_strdup_printf ("SELECT count(*) FROM (SELECT shipment_id, count(*) AS n "
                                             "FROM shipment_events WHERE event_id LIKE %s GROUP BY 1) s "
                                             "WHERE n <> %u", like, n / shipments);
  g_autofree char *all = g_strdup_printf ("SELECT count(*) FROM shipment_events WHERE source = 'dhl' "
                                          "AND event_id LIKE %s", like);

  g_assert_cmpint (sql_int (w, all), ==, n);
  g_assert_cmpint (sql_int (w, distinct), ==, n);
  g_assert_cmpint (sql_int (w, uneven), ==, 0);
}

/* ---- 1. every consumed topic ------------------------------------------------------------- */

static void
happy_path_tracker (World        *w,
                    WbTestDaemon *d)
{
  g_autofree char *ticket1 = ticket_json ("T-1", "dhl", "JD0001");
  g_autofree char *ticket2 = ticket_json ("T-2", "post", "RR000000001BY");
  g_autofree char *check = NULL;
  g_autofree char *last_checked = NULL;
  gint64 tracking_id;

  produce (w, "TICKET_CREATED", "T-1", ticket1);
  produce (w, "TICKET_CREATED", "T-2", ticket2);
  produce_flush ();
  g_assert_cmpint (sql_wait (w, "SELECT count(*) FROM trackings WHERE track_number IN ('JD0001', 'RR000000001BY')",
                             2, 30), ==, 2);

  produce (w, "external.dhl.responses", "JD0001",
           "{\"shipments\":[{\"id\":\"JD0001\",\"events\":["
           "{\"timestamp\":\"2026-11-20T14:00:00Z\",\"location\":{\"address\":{\"addressLocality\":\"Minsk\"}},"
           "\"statusCode\":\"transit\",\"status\":\"Arrived at Sort Facility\"},"
           "{\"timestamp\":\"2026-11-20T09:00:00Z\",\"statusCode\":\"pre-transit\","
           "\"status\":\"Shipment information received\"}]}]}");
  produce (w, "external.post.responses", "RR000000001BY",
           "{\"tracking_number\":\"RR000000001BY\",\"events\":[{\"code\":\"EMC\",\"time\":\"2026-11-20 09:00:00\"}]}");
  produce (w, "TRACKING_EVENT", "JD0001",
           "{\"event_id\":\"w-1\",\"carrier\":\"dhl\",\"track_number\":\"JD0001\",\"status\":\"IN_TRANSIT\","
           "\"status_raw\":\"WC\",\"occurred_at\":\"2026-11-20T15:00:00Z\"}");
  produce_flush ();
  g_assert_cmpint (sql_wait (w, "SELECT count(*) FROM shipment_events WHERE source = 'dhl' AND event_id LIKE 'dhl:%'",
                             2, 30), ==, 2);
  g_assert_cmpint (sql_wait (w, "SELECT count(*) FROM shipment_events WHERE source = 'post'", 1, 30), ==, 1);
  g_assert_cmpint (sql_wait (w, "SELECT count(*) FROM shipment_events WHERE event_id = 'w-1'", 1, 30), ==, 1);

  tracking_id = sql_int (w, "SELECT id FROM trackings WHERE track_number = 'JD0001'");
  check = g_strdup_printf ("{\"tracking_id\":%" G_GINT64_FORMAT ",\"carrier\":\"dhl\",\"track_number\":\"JD0001\","
                           "\"checked_at\":\"2026-11-20T18:00:00Z\",\"next_check_at\":\"2026-11-20T20:00:00Z\","
                           "\"status\":\"IN_TRANSIT\",\"status_raw\":\"transit\",\"status_at\":\"2026-11-20T17:00:00Z\"}",
                           tracking_id);
  produce (w, "tracking.updated", "JD0001", check);
  produce_flush ();
  g_assert_cmpint (sql_wait (w, "SELECT count(*) FROM trackings WHERE track_number = 'JD0001' "
                                "AND last_checked_at = '2026-11-20T18:00:00Z'", 1, 30), ==, 1);
  g_assert_cmpint (sql_wait (w, "SELECT count(*) FROM shipment_events WHERE event_id LIKE 'check:%'", 1, 30), ==, 1);
  last_checked = sql_text (w, "SELECT s.status FROM shipments s JOIN trackings t ON t.shipment_id = s.id "
                              "WHERE t.track_number = 'JD0001'");
  g_assert_cmpstr (last_checked, ==, "IN_TRANSIT");
  g_assert_cmpfloat (metric (d, "waybill_tracker_shipments_created_total"), ==, 2);
}

static void
happy_path_fleet (World        *w,
                  WbTestDaemon *d)
{
  gint64 now_us = g_get_real_time () - 60 * G_USEC_PER_SEC;
  g_autofree char *position = telemetry_json ("dev-1", now_us, 53.9, 27.56);
  g_autofree char *body = NULL;

  produce (w, "telemetry.raw", "dev-1", position);
  produce (w, "company.updated", "co-1", "{\"company_id\":\"co-1\",\"name\":\"Acme Logistics\",\"version\":1}");
  produce (w, "driver.updated", "drv-1",
           "{\"driver_id\":\"drv-1\",\"name\":\"Ivan Petrov\",\"company_id\":\"co-1\",\"version\":1}");
  produce (w, "vehicle.updated", "veh-2",
           "{\"vehicle_id\":\"veh-2\",\"plate\":\"1234 AB-7\",\"company_id\":\"co-1\",\"driver_id\":\"drv-1\","
           "\"version\":3}");
  produce (w, "events.carrier_location", "trip-1",
           "{\"trip_id\":\"trip-1\",\"lat\":53.91,\"lng\":27.55,\"recorded_at\":\"2026-11-20T10:00:00.000Z\"}");
  produce_flush ();

  g_assert_cmpint (sql_wait (w, "SELECT count(*) FROM positions WHERE device_id = 'dev-1' AND vehicle_id = 'veh-1'",
                             1, 30), ==, 1);
  g_assert_cmpint (sql_wait (w, "SELECT count(*) FROM vehicle_states WHERE vehicle_id = 'veh-1' "
                                "AND device_id = 'dev-1' AND lat = 53.9", 1, 30), ==, 1);
  g_assert_cmpint (sql_wait (w, "SELECT count(*) FROM carrier_locations WHERE trip_id = 'trip-1' "
                                "AND source = 'phone' AND lat = 53.91", 1, 30), ==, 1);
  g_assert_cmpint (sql_wait (w, "SELECT count(*) FROM vehicles WHERE id = 'veh-2' AND version = 3", 1, 30), ==, 1);
  g_assert_cmpint (sql_wait (w, "SELECT count(*) FROM drivers WHERE id = 'drv-1' AND name = 'Ivan Petrov'",
                             1, 30), ==, 1);
  g_assert_cmpint (sql_wait (w, "SELECT count(*) FROM companies WHERE id = 'co-1' AND name = 'Acme Logistics'",
                             1, 30), ==, 1);
  g_assert_cmpuint (http_get (d, "/vehicles/veh-2", &body), ==, 200);
  g_assert_nonnull (strstr (body, "1234 AB-7"));
  g_assert_nonnull (strstr (body, "drv-1"));
  g_assert_nonnull (strstr (body, "co-1"));
}

static void
test_every_topic (void)
{
  g_autoptr(World) w = world_new (3);
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GPtrArray) enriched = NULL;
  g_autofree char *shipment_id = NULL;
  WbTestDaemon *d;
  Record *r;

  register_device (w, "dev-1", "veh-1");
  sql_exec (w, "INSERT INTO trips (id, vehicle_id, status) VALUES ('trip-1', 'veh-9', 'IN_TRANSIT')");
  d = daemon_start (w, "all");
  happy_path_tracker (w, d);
  happy_path_fleet (w, d);

  /* What the daemon produced: the outbox's status events, the fleet's
   * enriched position. */
  shipment_id = sql_text (w, "SELECT shipment_id FROM trackings WHERE track_number = 'JD0001'");
  events = read_topic (w, "tracking.events", 3, 20000);
  g_assert_nonnull (find_keyed_record (events, shipment_id, "\"IN_TRANSIT\""));
  enriched = read_topic (w, "positions.enriched", 1, 20000);
  g_assert_nonnull ((r = find_record (enriched, "dev-1")));
  g_assert_nonnull (strstr (r->payload, "veh-1"));
  g_assert_cmpfloat (metric (d, "waybill_dead_letters_total{consumer=\"tracker\"}"), ==, 0);
  g_assert_cmpint (wb_test_daemon_terminate (d), ==, 0);
  wb_test_daemon_free (d);
}

/* ---- 2. the same message twice ------------------------------------------------------------- */

static void
test_redelivery_one_effect (void)
{
  g_autoptr(World) w = world_new (2);
  g_autofree char *ticket = ticket_json ("T-9", "dhl", "JD0009");
  g_autofree char *event = event_json ("dup-1", "JD0009", 5);
  gint64 now_us = g_get_real_time () - 30 * G_USEC_PER_SEC;
  g_autofree char *position = telemetry_json ("dev-2", now_us, 52.1, 23.7);
  const char *location = "{\"trip_id\":\"trip-2\",\"lat\":52.0,\"lng\":23.0,\"recorded_at\":\"2026-11-20T10:00:00Z\"}";
  WbTestDaemon *d;

  register_device (w, "dev-2", "veh-2");
  d = daemon_start (w, "all");
  for (guint i = 0; i < 2; i++)
    {
      produce (w, "TICKET_CREATED", "T-9", ticket);
      produce (w, "telemetry.raw", "dev-2", position);
      produce (w, "events.carrier_location", "trip-2", location);
    }
  produce_flush ();
  g_assert_cmpint (sql_wait (w, "SELECT count(*) FROM trackings WHERE track_number = 'JD0009'", 1, 30), ==, 1);
  for (guint i = 0; i < 2; i++)
    produce (w, "TRACKING_EVENT", "JD0009", event);
  produce_flush ();

  /* The second of each is a duplicate in the tracker's count. */
  for (guint i = 0; i < 600 && metric (d, "waybill_tracker_items_total{outcome=\"duplicate\"}") < 2; i++)
    g_usleep (50 * 1000);
  for (guint i = 0; i < 600 && metric (d, "waybill_fleet_positions_total{outcome=\"repeated\"}") < 1; i++)
    g_usleep (50 * 1000);
  g_assert_cmpfloat (metric (d, "waybill_tracker_items_total{outcome=\"duplicate\"}"), ==, 2);
  g_assert_cmpfloat (metric (d, "waybill_tracker_shipments_created_total"), ==, 1);
  g_assert_cmpfloat (metric (d, "waybill_fleet_positions_total{outcome=\"stored\"}"), ==, 1);
  g_assert_cmpint (sql_int (w, "SELECT count(*) FROM shipments"), ==, 1);
  g_assert_cmpint (sql_int (w, "SELECT count(*) FROM shipment_events WHERE event_id = 'dup-1'"), ==, 1);
  g_assert_cmpint (sql_int (w, "SELECT count(*) FROM positions WHERE device_id = 'dev-2'"), ==, 1);
  /* A subscription of its own: it may come last. */
  g_assert_cmpint (sql_wait (w, "SELECT count(*) FROM carrier_locations WHERE trip_id = 'trip-2'", 1, 30), ==, 1);
  g_assert_cmpint (wb_test_daemon_terminate (d), ==, 0);
  wb_test_daemon_free (d);
}

/* ---- 3. poison ------------------------------------------------------------------------------ */

static void
test_poison_to_dlq (void)
{
  g_autoptr(World) w = world_new (1);
  g_autofree char *source_topic = world_topic (w, "TRACKING_EVENT");
  g_autoptr(GPtrArray) letters = NULL;
  g_autoptr(GPtrArray) sent = NULL;
  WbTestDaemon *d;
  Record *garbage, *missing, *original;

  d = daemon_start (w, "tracker");
  create_shipments (w, 1);
  /* One partition: the poison sits between good messages in one stream. */
  produce_events (w, "before", 0, 5, 1);
  produce (w, "TRACKING_EVENT", "JDK000", "not json at all");
  produce (w, "TRACKING_EVENT", "JDK000", "{\"event_id\":\"no-time\",\"carrier\":\"dhl\",\"track_number\":\"JDK000\","
           "\"status\":\"IN_TRANSIT\"}");
  produce_events (w, "after", 0, 5, 1);
  produce_flush ();

  g_assert_cmpint (sql_wait (w, EVENTS_SQL ("after"), 5, 30), ==, 5);
  g_assert_cmpint (sql_int (w, EVENTS_SQL ("before")), ==, 5);
  letters = read_topic (w, "TRACKING_EVENT.dlq", 2, 20000);
  g_assert_cmpuint (letters->len, ==, 2);
  sent = read_topic (w, "TRACKING_EVENT", 12, 20000);
  g_assert_nonnull ((garbage = find_record (letters, "not json")));
  g_assert_nonnull ((missing = find_record (letters, "no-time")));
  g_test_message ("x-error: %s | %s", (char *) g_hash_table_lookup (garbage->headers, "x-error"),
                  (char *) g_hash_table_lookup (missing->headers, "x-error"));
  g_assert_cmpstr (garbage->key, ==, "JDK000");
  g_assert_nonnull (g_hash_table_lookup (garbage->headers, "x-error"));
  g_assert_nonnull (strstr (g_hash_table_lookup (missing->headers, "x-error"), "occurred_at"));
  /* The partition and offset are those of the topic on the brokers, so the
   * topic must be its name there too (prefix and renames applied), or they
   * point at another deployment's record. */
  if (g_strcmp0 (g_hash_table_lookup (garbage->headers, "x-source-topic"), source_topic) != 0)
    g_test_incomplete_printf ("x-source-topic is '%s', not the topic on the brokers '%s' (bug in "
                              "core/bus/wb-bus-dead-letter.c, see the report)",
                              (char *) g_hash_table_lookup (garbage->headers, "x-source-topic"), source_topic);
  g_assert_cmpstr (g_hash_table_lookup (garbage->headers, "x-source-partition"), ==, "0");
  g_assert_nonnull ((original = find_record (sent, "not json")));
  {
    g_autofree char *offset = g_strdup_printf ("%" G_GINT64_FORMAT, original->offset);
    g_assert_cmpstr (g_hash_table_lookup (garbage->headers, "x-source-offset"), ==, offset);
  }
  g_assert_cmpfloat (metric (d, "waybill_dead_letters_total{consumer=\"tracker\"}"), ==, 2);
  g_assert_cmpint (wb_test_daemon_terminate (d), ==, 0);
  wb_test_daemon_free (d);
}

/* ---- 4. a broker down for a while -------------------------------------------------------------- */

/* The mock never moves a leader by itself: this test puts every partition
 * of the stream on broker 2, takes it down while messages wait in the
 * producer, and brings it back. */
static void
test_broker_down_and_back (void)
{
  g_autoptr(World) w = world_new (3);
  g_autofree char *topic = world_topic (w, "TRACKING_EVENT");
  rd_kafka_mock_cluster_t *mock = _wb_kafka_dev_get_mock_cluster (wb_test_kafka_dev);
  g_autofree char *reason = NULL;
  WbTestDaemon *d;

  for (guint p = 0; p < w->partitions; p++)
    g_assert_cmpint (rd_kafka_mock_partition_set_leader (mock, topic, (int32_t) p, 2), ==,
                     RD_KAFKA_RESP_ERR_NO_ERROR);
  d = daemon_start (w, "tracker");
  create_shipments (w, 10);
  produce_events (w, "down", 0, 200, 10);
  produce_flush ();
  g_assert_cmpint (sql_wait (w, EVENTS_SQL ("down"), 200, 30), ==, 200);

  rd_kafka_mock_broker_set_down (mock, 2);
  produce_events (w, "down", 200, 300, 10);
  /* Long enough for the daemon's fetches to fail and reconnects to back off. */
  g_usleep (4 * G_USEC_PER_SEC);
  g_assert_cmpint (sql_int (w, EVENTS_SQL ("down")), ==, 200);
  rd_kafka_mock_broker_set_up (mock, 2);
  produce_flush ();

  g_assert_cmpint (sql_wait (w, EVENTS_SQL ("down"), 500, 60), ==, 500);
  assert_events_once (w, "down", 500, 10);
  g_assert_cmpfloat (metric (d, "waybill_tracker_items_total{outcome=\"applied\"}"), ==, 500);
  g_assert_cmpuint (http_get (d, "/readyz", NULL), ==, 200);
  g_assert_cmpint (wb_test_daemon_terminate (d), ==, 0);
  wb_test_daemon_free (d);
}

/* ---- 5. SIGKILL mid-stream ----------------------------------------------------------------------- */

static void
test_sigkill_mid_stream (void)
{
  g_autoptr(World) w = world_new (3);
  WbTestDaemon *d;
  gint64 at_kill = 0;
  gint64 deadline;

  d = daemon_start (w, "tracker");
  create_shipments (w, 50);
  produce_events (w, "kill", 0, 2000, 50);
  produce_flush ();
  deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  /* A few batches in, well before the end. */
  while (at_kill < 200 && g_get_monotonic_time () < deadline)
    {
      at_kill = sql_int (w, EVENTS_SQL ("kill"));
      if (at_kill < 200)
        g_usleep (2 * 1000);
    }
  g_subprocess_send_signal (d->process, SIGKILL);
  g_assert_cmpint (wb_test_daemon_wait (d), ==, -1);
  wb_test_daemon_free (d);
  g_test_message ("killed with %" G_GINT64_FORMAT " of 2000 events applied", at_kill);
  g_assert_cmpint (at_kill, >, 0);
  g_assert_cmpint (at_kill, <, 2000);

  d = daemon_start (w, "tracker");
  g_assert_cmpint (sql_wait (w, EVENTS_SQL ("kill"), 2000, 120), ==, 2000);
  assert_events_once (w, "kill", 2000, 50);
  g_assert_cmpint (wb_test_daemon_terminate (d), ==, 0);
  wb_test_daemon_free (d);
}

/* ---- 6. two daemons in one group ------------------------------------------------------------------ */

static void
test_two_daemons_one_group (void)
{
  g_autoptr(World) w = world_new (6);
  WbTestDaemon *a, *b;
  double applied_a, applied_b;

  a = daemon_start (w, "tracker");
  b = daemon_start (w, "tracker");
  create_shipments (w, 50);
  produce_events (w, "pair", 0, 1000, 50);
  produce_flush ();
  g_assert_cmpint (sql_wait (w, EVENTS_SQL ("pair"), 1000, 60), ==, 1000);
  applied_a = metric (a, "waybill_tracker_items_total{outcome=\"applied\"}");
  applied_b = metric (b, "waybill_tracker_items_total{outcome=\"applied\"}");
  g_test_message ("split: %.0f + %.0f", applied_a, applied_b);
  g_assert_cmpfloat (applied_a, >, 0);
  g_assert_cmpfloat (applied_b, >, 0);
  g_assert_cmpfloat (applied_a + applied_b, ==, 1000);

  /* A leaves in the middle of the second half; B takes its partitions. */
  produce_events (w, "pair", 1000, 1000, 50);
  produce_flush ();
  g_assert_cmpint (wb_test_daemon_terminate (a), ==, 0);
  wb_test_daemon_free (a);
  g_assert_cmpint (sql_wait (w, EVENTS_SQL ("pair"), 2000, 90), ==, 2000);
  assert_events_once (w, "pair", 2000, 50);
  g_assert_cmpint (wb_test_daemon_terminate (b), ==, 0);
  wb_test_daemon_free (b);
}

/* ---- 7. kcat ---------------------------------------------------------------------------------------- */

/* kcat produces telemetry (one message per line, key:value) and reads what
 * the fleet made of it. */
static void
test_kcat_telemetry (void)
{
  g_autoptr(World) w = NULL;
  g_autofree char *kcat = g_find_program_in_path ("kcat");
  g_autofree char *raw = NULL;
  g_autofree char *enriched = NULL;
  g_autofree char *out = NULL;
  g_autoptr(GString) lines = g_string_new (NULL);
  gint64 start_us = g_get_real_time () - 10 * 60 * G_USEC_PER_SEC;
  WbTestDaemon *d;

  if (kcat == NULL)
    {
      g_test_skip ("kcat is not installed (apt-get install kcat)");
      return;
    }
  w = world_new (2);
  raw = world_topic (w, "telemetry.raw");
  enriched = world_topic (w, "positions.enriched");
  register_device (w, "kc-1", "veh-kc");
  d = daemon_start (w, "fleet");
  for (guint i = 0; i < 100; i++)
    {
      g_autofree char *json = telemetry_json ("kc-1", start_us + i * G_USEC_PER_SEC, 53.9 + i * 1e-4, 27.5);

      g_string_append_printf (lines, "kc-1\t%s\n", json);
    }
  {
    const char *produce_argv[] = { kcat, "-b", wb_kafka_dev_get_bootstrap_servers (wb_test_kafka_dev), "-P", "-t", raw,
                                   "-K", "\t", NULL };
    g_free (run_kcat (lines->str, produce_argv));
  }
  g_assert_cmpint (sql_wait (w, "SELECT count(*) FROM positions WHERE device_id = 'kc-1'", 100, 30), ==, 100);
  {
    const char *consume_argv[] = { kcat, "-b", wb_kafka_dev_get_bootstrap_servers (wb_test_kafka_dev), "-C", "-t", enriched,
                                   "-c", "100", "-e", "-q", "-f", "%k %s\n", NULL };
    out = run_kcat (NULL, consume_argv);
  }
  {
    g_auto(GStrv) got = g_strsplit (g_strstrip (out), "\n", -1);

    g_assert_cmpuint (g_strv_length (got), ==, 100);
    g_assert_nonnull (strstr (got[0], "veh-kc"));
  }
  g_assert_cmpint (wb_test_daemon_terminate (d), ==, 0);
  wb_test_daemon_free (d);
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  wb_test_kafka_init (N_BROKERS);

  g_test_add_func ("/kafka-daemons/every-topic", test_every_topic);
  g_test_add_func ("/kafka-daemons/redelivery-one-effect", test_redelivery_one_effect);
  g_test_add_func ("/kafka-daemons/poison-to-dlq", test_poison_to_dlq);
  g_test_add_func ("/kafka-daemons/broker-down-and-back", test_broker_down_and_back);
  g_test_add_func ("/kafka-daemons/sigkill-mid-stream", test_sigkill_mid_stream);
  g_test_add_func ("/kafka-daemons/two-daemons-one-group", test_two_daemons_one_group);
  g_test_add_func ("/kafka-daemons/kcat-telemetry", test_kcat_telemetry);
  status = g_test_run ();

  wb_test_kafka_teardown ();
  return status;
}
