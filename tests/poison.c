// SPDX-License-Identifier: GPL-3.0-or-later
/* Poison messages on every consumed topic, against a real waybilld on
 * librdkafka's mock cluster and a real PostgreSQL: a document nested
 * 100 000 levels deep, invalid UTF-8, a 3 MB string, a number beyond a
 * double, and a wrong type at every level of the topic's shape. Each must
 * land in <topic>.dlq with the reason, its offset must be committed (the
 * valid message after it takes effect), and the daemon must stay up. */

#include "config.h"

#include <string.h>

#include "wb-bus-dead-letter.h"
#include "wb-daemon-bus.h"
#include "wb-test-kafka.h"

#define DEEP_LEVELS 100000
#define BIG_STRING  (3 * 1024 * 1024)

/* One bad message: its key (kept by the dead letter) and what its x-error
 * must contain. */
typedef struct
{
  const char *key;
  char       *payload;
  gsize       length;
  const char *reason;
} Poison;

typedef struct
{
  const char *topic;
  const char *top_array;       /* the wrong types, NULL where the shape has no such level */
  const char *nested_string;
  const char *element;
  const char *leaf;
  const char *nested_reason;   /* the field each names */
  const char *element_reason;
  const char *leaf_reason;
} Shape;

static const Shape shapes[] = {
  { "telemetry.raw", "[{\"protocol\":\"json\"}]", "{\"protocol\":\"json\",\"device_id\":\"pz-1\",\"attributes\":\"x\"}",
    NULL, "{\"protocol\":\"json\",\"device_id\":\"pz-1\",\"lat\":\"north\",\"lon\":27.5}",
    "attributes", NULL, "lat" },
  { "vehicle.updated", "[{\"vehicle_id\":\"v\"}]", NULL, NULL,
    "{\"vehicle_id\":\"pz-v\",\"plate\":7,\"version\":1}", NULL, NULL, "plate" },
  { "driver.updated", "[{\"driver_id\":\"d\"}]", NULL, NULL,
    "{\"driver_id\":\"pz-d\",\"name\":[\"Ann\"],\"version\":1}", NULL, NULL, "name" },
  { "company.updated", "[{\"company_id\":\"c\"}]", NULL, NULL,
    "{\"company_id\":\"pz-c\",\"name\":\"Acme\",\"version\":\"1\"}", NULL, NULL, "version" },
  { "events.carrier_location", "[{\"trip_id\":\"t\"}]", NULL, NULL,
    "{\"trip_id\":\"pz-trip\",\"lat\":\"53.9\",\"lng\":27.5,\"recorded_at\":\"2026-11-20T10:00:00Z\"}",
    NULL, NULL, "lat" },
  { "external.dhl.responses", "[{\"shipments\":[]}]", "{\"shipments\":[{\"id\":\"PZ0001\",\"status\":\"transit\"}]}",
    "{\"shipments\":[7]}", "{\"shipments\":[{\"id\":5,\"events\":[]}]}",
    "shipments[0].status", "shipments[0]", "shipments[0].id" },
  { "external.post.responses", "[{\"tracking_number\":\"R\"}]", "{\"tracking_number\":\"PZ0002BY\",\"events\":\"EMC\"}",
    "{\"tracking_number\":\"PZ0002BY\",\"events\":[\"EMC\"]}",
    "{\"tracking_number\":5,\"events\":[{\"code\":\"EMC\",\"time\":\"2026-11-20 09:00:00\"}]}",
    "events", "events[0]", "tracking_number" },
  { "TICKET_CREATED", "[{\"ticket_id\":\"T\"}]",
    "{\"ticket_id\":\"PZ-T9\",\"client_id\":\"pz\",\"carrier\":\"dhl\",\"track_number\":\"PZ0009\","
    "\"service_level\":\"express\",\"destination\":\"BY\",\"recipient\":{\"name\":\"A\"},"
    "\"created_at\":\"2026-11-20T08:00:00Z\"}",
    NULL,
    "{\"ticket_id\":\"PZ-T9\",\"client_id\":\"pz\",\"carrier\":\"dhl\",\"track_number\":\"PZ0009\","
    "\"service_level\":\"express\",\"destination\":{\"country\":\"BY\"},\"recipient\":{\"name\":5},"
    "\"created_at\":\"2026-11-20T08:00:00Z\"}",
    "destination", NULL, "recipient.name" },
  { "TRACKING_EVENT", "[{\"event_id\":\"e\"}]",
    "{\"event_id\":\"pz-e\",\"carrier\":\"dhl\",\"track_number\":\"PZ0001\",\"status\":\"IN_TRANSIT\","
    "\"occurred_at\":\"2026-11-21T08:00:00Z\",\"location\":\"Minsk\"}",
    NULL,
    "{\"event_id\":\"pz-e\",\"carrier\":\"dhl\",\"track_number\":\"PZ0001\",\"status\":5,"
    "\"occurred_at\":\"2026-11-21T08:00:00Z\"}",
    "location", NULL, "status" },
  { "tracking.updated", "[{\"tracking_id\":1}]",
    "{\"tracking_id\":1,\"carrier\":\"dhl\",\"track_number\":\"PZ0001\",\"checked_at\":\"2026-11-20T18:00:00Z\","
    "\"events\":[{\"event_id\":\"pz-u\",\"status\":\"IN_TRANSIT\",\"occurred_at\":\"2026-11-20T17:00:00Z\","
    "\"location\":\"Minsk\"}]}",
    "{\"tracking_id\":1,\"carrier\":\"dhl\",\"track_number\":\"PZ0001\",\"checked_at\":\"2026-11-20T18:00:00Z\","
    "\"events\":[7]}",
    "{\"tracking_id\":1,\"carrier\":5,\"track_number\":\"PZ0001\",\"checked_at\":\"2026-11-20T18:00:00Z\"}",
    "events[0].location", "events[0]", "carrier" },
  { "commands.trip.reassign", "[{\"command_id\":\"c\"}]", NULL, NULL,
    "{\"command_id\":\"pz-c\",\"trip_id\":\"pz-trip\",\"vehicle_id\":5,\"reason\":\"r\",\"requested_by\":\"pz\"}",
    NULL, NULL, "vehicle_id" },
  { "trip.started", "[{\"trip_id\":\"t\"}]", NULL, NULL, "{\"trip_id\":5,\"status\":\"IN_TRANSIT\"}",
    NULL, NULL, "trip_id" },
  { "trip.completed", "[{\"trip_id\":\"t\"}]", NULL, NULL, "{\"trip_id\":[\"pz\"],\"status\":\"COMPLETED\"}",
    NULL, NULL, "trip_id" },
  { "trip.cancelled", "[{\"trip_id\":\"t\"}]", NULL, NULL, "{\"trip_id\":\"\",\"status\":\"CANCELLED\"}",
    NULL, NULL, "trip_id" },
  { "trip.reassigned", "[{\"trip_id\":\"t\"}]", NULL, NULL, "{\"trip_id\":{},\"command_id\":\"c\"}",
    NULL, NULL, "trip_id" },
};

static void
poison_clear (Poison *poison)
{
  g_free (poison->payload);
}

static char *
deep_document (gsize *out_length)
{
  GString *deep = g_string_sized_new (DEEP_LEVELS * 6 + 2);

  for (guint i = 0; i < DEEP_LEVELS; i++)
    g_string_append (deep, "{\"a\":");
  g_string_append_c (deep, '1');
  for (guint i = 0; i < DEEP_LEVELS; i++)
    g_string_append_c (deep, '}');
  *out_length = deep->len;
  return g_string_free (deep, FALSE);
}

static char *
big_string_document (gsize *out_length)
{
  GString *big = g_string_sized_new (BIG_STRING + 16);

  g_string_append (big, "{\"x\":\"");
  for (guint i = 0; i < BIG_STRING; i++)
    g_string_append_c (big, 'a' + i % 26);
  g_string_append (big, "\"}");
  *out_length = big->len;
  return g_string_free (big, FALSE);
}

static void
add_poison (GArray     *poisons,
            const char *key,
            char       *payload,
            gsize       length,
            const char *reason)
{
  Poison poison = { key, payload, length, reason };

  g_array_append_val (poisons, poison);
}

static void
add_text (GArray     *poisons,
          const char *key,
          const char *payload,
          const char *reason)
{
  if (payload != NULL)
    add_poison (poisons, key, g_strdup (payload), strlen (payload), reason);
}

/* The bad messages of @shape, every one different in its key. */
static GArray *
poisons_for (const Shape *shape)
{
  GArray *poisons = g_array_new (FALSE, TRUE, sizeof (Poison));
  gsize length;
  char *text;

  g_array_set_clear_func (poisons, (GDestroyNotify) poison_clear);
  text = deep_document (&length);
  add_poison (poisons, "deep", text, length, "nest deeper than 32 levels");
  add_text (poisons, "utf8", "{\"x\":\"\xff\xfe\"}", "UTF-8");
  /* A 3 MB string, not 10 MB: librdkafka's mock brokers keep 5 MiB per
   * partition (fixed in rdkafka_mock.c) and, appending more, lose the
   * message sets around it, so the consumer's offset falls out of range and
   * resets past the rest of the stream: what the test would see is the
   * mock's, not the daemon's. tests/tracker.c covers a 10 MB body in the
   * decoders. Beyond WB_BUS_DEAD_LETTER_MAX_PAYLOAD, the dead letter leaves
   * the payload at its source offset and gives its size. */
  text = big_string_document (&length);
  add_poison (poisons, "big", text, length, ": ");   /* read whole, refused for a field */
  add_text (poisons, "inf", "{\"x\":1e999}", "beyond the range of a double");
  add_text (poisons, "top-array", shape->top_array, "object");
  add_text (poisons, "nested-string", shape->nested_string, shape->nested_reason);
  add_text (poisons, "element", shape->element, shape->element_reason);
  add_text (poisons, "leaf", shape->leaf, shape->leaf_reason);
  return poisons;
}

/* ---- what each topic needs first, and its valid message ---------------------- */

static const char ticket_dhl[] =
  "{\"ticket_id\":\"PZ-T1\",\"client_id\":\"pz\",\"carrier\":\"dhl\",\"track_number\":\"PZ0001\","
  "\"service_level\":\"express\",\"recipient\":{\"name\":\"Anna\"},"
  "\"destination\":{\"country\":\"BY\",\"city\":\"Minsk\"},\"created_at\":\"2026-11-20T08:00:00Z\"}";
static const char ticket_post[] =
  "{\"ticket_id\":\"PZ-T2\",\"client_id\":\"pz\",\"carrier\":\"post\",\"track_number\":\"PZ0002BY\","
  "\"service_level\":\"express\",\"recipient\":{\"name\":\"Anna\"},"
  "\"destination\":{\"country\":\"BY\",\"city\":\"Minsk\"},\"created_at\":\"2026-11-20T08:00:00Z\"}";

static char *
telemetry_now (void)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr(GDateTime) before = g_date_time_add_seconds (now, -60);
  g_autofree char *device_time = g_date_time_format (before, "%Y-%m-%dT%H:%M:%S.%fZ");
  g_autofree char *server_time = g_date_time_format (now, "%Y-%m-%dT%H:%M:%S.%fZ");

  return g_strdup_printf ("{\"device_id\":\"pz-1\",\"protocol\":\"json\",\"device_time\":\"%s\","
                          "\"server_time\":\"%s\",\"lat\":53.9,\"lon\":27.5,\"attributes\":{}}",
                          device_time, server_time);
}

/* Positions of pz-1 until one comes out of the fleet role tagged with
 * @trip_id; whether one did within @timeout_s. */
static gboolean
wait_tagged (World      *w,
             const char *trip_id,
             guint       timeout_s)
{
  g_autofree char *needle = g_strdup_printf ("\"trip_id\":\"%s\"", trip_id);
  gint64 deadline = g_get_monotonic_time () + timeout_s * G_USEC_PER_SEC;
  guint sent = 0;

  while (g_get_monotonic_time () < deadline)
    {
      g_autofree char *position = telemetry_now ();
      g_autoptr(GPtrArray) enriched = NULL;

      produce (w, "telemetry.raw", "pz-1", position);
      produce_flush ();
      enriched = read_topic (w, "positions.enriched", ++sent, 3000);
      if (find_record (enriched, needle) != NULL)
        return TRUE;
    }
  return FALSE;
}

/* What the daemon must find in the database as it starts: a position is
 * tagged with a trip only when the fleet role knows its device's vehicle. */
static void
prepare_reference (World      *w,
                   const char *topic)
{
  if (!g_str_has_prefix (topic, "trip."))
    return;
  sql_exec (w, "INSERT INTO vehicles (id, plate, version) VALUES ('pz-veh', 'PZ-1', 1)");
  sql_exec (w, "INSERT INTO devices (device_id, vehicle_id, version) VALUES ('pz-1', 'pz-veh', 1)");
  sql_exec (w, "INSERT INTO trips (id, vehicle_id, status) VALUES ('pz-trip2', 'pz-veh', 'PLANNED')");
}

/* What the valid messages refer to (a device, a trip, shipments), in place
 * before the poison; the daemon applies the tickets. */
static void
prepare (World      *w,
         const char *topic)
{
  sql_exec (w, "INSERT INTO vehicles (id, plate, version) VALUES ('pz-veh', 'PZ-1', 1) ON CONFLICT DO NOTHING");
  sql_exec (w, "INSERT INTO devices (device_id, vehicle_id, version) VALUES ('pz-1', 'pz-veh', 1) ON CONFLICT DO NOTHING");
  sql_exec (w, "INSERT INTO trips (id, vehicle_id, status) VALUES ('pz-trip', 'pz-veh', 'IN_TRANSIT')");
  if (g_str_equal (topic, "commands.trip.reassign"))
    sql_exec (w, "INSERT INTO drivers (id, name, version) VALUES ('pz-drv', 'PZ', 1)");
  /* The fleet role loaded pz-1's vehicle and the IN_TRANSIT trips (none)
   * as it started (prepare_reference); a trip message makes it read the
   * trip it names. pz-veh's trip, pz-trip2, is one it learns of from the
   * valid message only. */
  if (g_str_has_prefix (topic, "trip."))
    {
      sql_exec (w, "UPDATE trips SET status = 'COMPLETED' WHERE id = 'pz-trip'");
      sql_exec (w, "UPDATE trips SET status = 'IN_TRANSIT' WHERE id = 'pz-trip2'");
      return;
    }
  if (!g_str_has_prefix (topic, "external.") && !g_str_equal (topic, "TRACKING_EVENT")
      && !g_str_equal (topic, "tracking.updated"))
    return;
  produce (w, "TICKET_CREATED", "PZ-T1", ticket_dhl);
  produce (w, "TICKET_CREATED", "PZ-T2", ticket_post);
  produce_flush ();
  g_assert_cmpint (sql_wait (w, "SELECT count(*) FROM trackings WHERE track_number IN ('PZ0001', 'PZ0002BY')",
                             2, 60), ==, 2);
}

/* The valid message after the poison, and the SQL that sees its effect. */
static char *
valid_message (World       *w,
               const char  *topic,
               const char **out_effect_sql)
{
  if (g_str_equal (topic, "telemetry.raw"))
    {
      *out_effect_sql = "SELECT count(*) FROM positions WHERE device_id = 'pz-1'";
      return telemetry_now ();
    }
  if (g_str_equal (topic, "vehicle.updated"))
    {
      *out_effect_sql = "SELECT count(*) FROM vehicles WHERE id = 'pz-v' AND plate = 'PZ-2'";
      return g_strdup ("{\"vehicle_id\":\"pz-v\",\"plate\":\"PZ-2\",\"version\":1}");
    }
  if (g_str_equal (topic, "driver.updated"))
    {
      *out_effect_sql = "SELECT count(*) FROM drivers WHERE id = 'pz-d' AND name = 'Ann'";
      return g_strdup ("{\"driver_id\":\"pz-d\",\"name\":\"Ann\",\"version\":1}");
    }
  if (g_str_equal (topic, "company.updated"))
    {
      *out_effect_sql = "SELECT count(*) FROM companies WHERE id = 'pz-c' AND name = 'Acme'";
      return g_strdup ("{\"company_id\":\"pz-c\",\"name\":\"Acme\",\"version\":1}");
    }
  if (g_str_equal (topic, "events.carrier_location"))
    {
      *out_effect_sql = "SELECT count(*) FROM carrier_locations WHERE trip_id = 'pz-trip' AND lat = 53.91";
      return g_strdup ("{\"trip_id\":\"pz-trip\",\"lat\":53.91,\"lng\":27.55,\"recorded_at\":\"2026-11-20T10:00:00Z\"}");
    }
  if (g_str_equal (topic, "external.dhl.responses"))
    {
      *out_effect_sql = "SELECT count(*) FROM shipment_events WHERE event_id LIKE 'dhl:%'";
      return g_strdup ("{\"shipments\":[{\"id\":\"PZ0001\",\"events\":[{\"timestamp\":\"2026-11-20T14:00:00Z\","
                       "\"statusCode\":\"transit\",\"status\":\"Arrived at Sort Facility\"}]}]}");
    }
  if (g_str_equal (topic, "external.post.responses"))
    {
      *out_effect_sql = "SELECT count(*) FROM shipment_events WHERE source = 'post'";
      return g_strdup ("{\"tracking_number\":\"PZ0002BY\",\"events\":[{\"code\":\"EMC\",\"time\":\"2026-11-20 09:00:00\"}]}");
    }
  if (g_str_equal (topic, "TICKET_CREATED"))
    {
      *out_effect_sql = "SELECT count(*) FROM trackings WHERE track_number = 'PZ0001'";
      return g_strdup (ticket_dhl);
    }
  if (g_str_equal (topic, "TRACKING_EVENT"))
    {
      *out_effect_sql = "SELECT count(*) FROM shipment_events WHERE event_id = 'pz-w1'";
      return g_strdup ("{\"event_id\":\"pz-w1\",\"carrier\":\"dhl\",\"track_number\":\"PZ0001\",\"status\":\"IN_TRANSIT\","
                       "\"occurred_at\":\"2026-11-20T15:00:00Z\"}");
    }
  if (g_str_equal (topic, "commands.trip.reassign"))
    {
      *out_effect_sql = "SELECT count(*) FROM commands WHERE id = 'pz-cmd' AND status = 'applied'";
      return g_strdup ("{\"command_id\":\"pz-cmd\",\"trip_id\":\"pz-trip\",\"driver_id\":\"pz-drv\","
                       "\"reason\":\"shift\",\"requested_by\":\"pz\"}");
    }
  if (g_str_has_prefix (topic, "trip."))
    {
      /* Seen on positions.enriched, not in the database (wait_tagged). */
      *out_effect_sql = NULL;
      return g_strdup ("{\"trip_id\":\"pz-trip2\",\"vehicle_id\":\"pz-veh\",\"status\":\"IN_TRANSIT\",\"version\":2,"
                       "\"occurred_at\":\"2026-11-20T10:00:00Z\"}");
    }
  g_assert_cmpstr (topic, ==, "tracking.updated");
  *out_effect_sql = "SELECT count(*) FROM trackings WHERE track_number = 'PZ0001' "
                    "AND last_checked_at = '2026-11-20T18:00:00Z'";
  return g_strdup_printf ("{\"tracking_id\":%" G_GINT64_FORMAT ",\"carrier\":\"dhl\",\"track_number\":\"PZ0001\","
                          "\"checked_at\":\"2026-11-20T18:00:00Z\"}",
                          sql_int (w, "SELECT id FROM trackings WHERE track_number = 'PZ0001'"));
}

/* ---- the test ---------------------------------------------------------------------- */

static void
assert_dead_lettered (GPtrArray    *letters,
                      const Poison *poison)
{
  const char *reason = NULL;
  Record *letter = NULL;

  for (guint i = 0; i < letters->len && reason == NULL; i++)
    {
      Record *r = g_ptr_array_index (letters, i);

      if (g_strcmp0 (r->key, poison->key) == 0)
        {
          letter = r;
          reason = g_hash_table_lookup (r->headers, "x-error");
        }
    }
  if (reason == NULL)
    g_error ("the %s message is not in the dead-letter topic", poison->key);
  if (poison->length > WB_BUS_DEAD_LETTER_MAX_PAYLOAD)
    {
      g_autofree char *size = g_strdup_printf ("%" G_GSIZE_FORMAT, poison->length);

      g_assert_cmpstr (g_hash_table_lookup (letter->headers, "x-payload-omitted"), ==, size);
      g_assert_true (letter->payload == NULL || *letter->payload == '\0');
    }
  else
    g_assert_null (g_hash_table_lookup (letter->headers, "x-payload-omitted"));
  g_test_message ("%s: x-error %s", poison->key, reason);
  if (strstr (reason, poison->reason) == NULL)
    g_error ("the %s message's x-error “%s” does not name “%s”", poison->key, reason, poison->reason);
}

static void
test_topic (gconstpointer data)
{
  const Shape *shape = data;
  g_autoptr(World) w = world_new (1);
  g_autoptr(GArray) poisons = poisons_for (shape);
  g_autofree char *dlq = g_strconcat (shape->topic, ".dlq", NULL);
  g_autofree char *valid = NULL;
  g_autoptr(GPtrArray) letters = NULL;
  const char *effect_sql;
  WbTestDaemon *d;

  prepare_reference (w, shape->topic);
  d = daemon_start (w, "all");
  prepare (w, shape->topic);
  /* One partition: the poison sits in the stream before the valid message. */
  for (guint i = 0; i < poisons->len; i++)
    {
      Poison *poison = &g_array_index (poisons, Poison, i);

      produce_bytes (w, shape->topic, poison->key, poison->payload, poison->length);
    }
  valid = valid_message (w, shape->topic, &effect_sql);
  produce (w, shape->topic, "valid", valid);
  produce_flush ();

  if (effect_sql == NULL ? !wait_tagged (w, "pz-trip2", 120) : sql_wait (w, effect_sql, 1, 120) != 1)
    g_error ("the valid message after the poison on %s had no effect; the daemon's log:\n%s",
             shape->topic, d->log->str);
  letters = read_topic (w, dlq, poisons->len, 60000);
  g_assert_cmpuint (letters->len, ==, poisons->len);
  for (guint i = 0; i < poisons->len; i++)
    assert_dead_lettered (letters, &g_array_index (poisons, Poison, i));
  g_assert_cmpuint (http_get (d, "/healthz", NULL), ==, 200);
  g_assert_cmpint (wb_test_daemon_terminate (d), ==, 0);
  wb_test_daemon_free (d);
}

/* The deep document from an outside client, kcat. */
static void
test_kcat_deep (void)
{
  g_autofree char *kcat = g_find_program_in_path ("kcat");
  g_autoptr(World) w = NULL;
  g_autoptr(GString) lines = g_string_new (NULL);
  g_autoptr(GPtrArray) letters = NULL;
  g_autofree char *topic = NULL;
  g_autofree char *deep = NULL;
  const char *reason;
  gsize length;
  WbTestDaemon *d;

  if (kcat == NULL)
    {
      g_test_skip ("kcat is not installed (apt-get install kcat)");
      return;
    }
  w = world_new (1);
  topic = world_topic (w, "TRACKING_EVENT");
  d = daemon_start (w, "tracker");
  prepare (w, "TRACKING_EVENT");
  deep = deep_document (&length);
  g_string_append_printf (lines, "kcat-deep\t%s\n", deep);
  g_string_append (lines, "valid\t{\"event_id\":\"pz-k1\",\"carrier\":\"dhl\",\"track_number\":\"PZ0001\","
                          "\"status\":\"IN_TRANSIT\",\"occurred_at\":\"2026-11-20T15:00:00Z\"}\n");
  {
    const char *argv[] = { kcat, "-b", wb_kafka_dev_get_bootstrap_servers (wb_test_kafka_dev), "-P", "-t", topic,
                           "-K", "\t", "-X", "message.max.bytes=" WB_TEST_KAFKA_MAX_MESSAGE, NULL };
    g_free (run_kcat (lines->str, argv));
  }
  g_assert_cmpint (sql_wait (w, "SELECT count(*) FROM shipment_events WHERE event_id = 'pz-k1'", 1, 60), ==, 1);
  letters = read_topic (w, "TRACKING_EVENT.dlq", 1, 30000);
  g_assert_cmpuint (letters->len, ==, 1);
  reason = g_hash_table_lookup (((Record *) g_ptr_array_index (letters, 0))->headers, "x-error");
  g_assert_nonnull (strstr (reason, "deep"));
  g_assert_cmpuint (http_get (d, "/healthz", NULL), ==, 200);
  g_assert_cmpint (wb_test_daemon_terminate (d), ==, 0);
  wb_test_daemon_free (d);
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  wb_test_kafka_init (1);

  /* Every consumed topic has its case: a new one fails here until it has. */
  for (guint i = 0; wb_daemon_consumed_topics[i] != NULL; i++)
    {
      const Shape *shape = NULL;
      g_autofree char *path = NULL;

      for (guint s = 0; s < G_N_ELEMENTS (shapes); s++)
        if (g_str_equal (shapes[s].topic, wb_daemon_consumed_topics[i]))
          shape = &shapes[s];
      if (shape == NULL)
        g_error ("no poison case for the consumed topic %s", wb_daemon_consumed_topics[i]);
      path = g_strconcat ("/poison/", shape->topic, NULL);
      g_test_add_data_func (path, shape, test_topic);
    }
  g_test_add_func ("/poison/kcat-deep", test_kcat_deep);
  status = g_test_run ();

  wb_test_kafka_teardown ();
  return status;
}
