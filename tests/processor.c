// SPDX-License-Identifier: GPL-3.0-or-later
/* The fleet role's processing on a real PostgreSQL: telemetry.raw off an
 * in-process bus, enriched from the index, history and current state in
 * the database, positions.enriched, device.offline/online, dead letters,
 * carrier locations, reference data from the bus, restarts and database
 * outages. */

#include "config.h"

#include <math.h>

#include "wb-bus-local.h"
#include "wb-time.h"
#include "wb-db-pool.h"
#include "wb-db.h"
#include "wb-fleet-processor.h"
#include "wb-fleet-reference-consumer.h"
#include "wb-fleet-store.h"
#include "wb-migrations.h"
#include "wb-position-history.h"
#include "wb-test-pg.h"

#define TIMEOUT_US (20 * G_USEC_PER_SEC)

typedef struct
{
  char                     *conninfo;
  PGconn                   *conn;        /* the test's own, for checks */
  WbDbPool                 *pool;
  WbBus                    *bus;
  WbFleetIndex             *index;
  WbFleetStore             *store;
  WbPositionHistory        *history;
  WbFleetProcessor         *processor;
  WbFleetProcessorSettings  settings;
  GPtrArray                *seen;        /* WbBusMessage*: what the watcher got */
  guint                     watch;
  gint64                    base;        /* device times start here (µs) */
} Fixture;

/* ---- helpers ------------------------------------------------------------- */

static void
store_result (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  *(GAsyncResult **) data = g_object_ref (result);
}

static void
wait_for (GAsyncResult **result)
{
  gint64 deadline = g_get_monotonic_time () + TIMEOUT_US;

  while (*result == NULL)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
}

static void
apply (Fixture       *f,
       WbFleetUpdate *update)
{
  g_autoptr(WbFleetUpdate) owned = update;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(WbFleetApplyResult) applied = NULL;
  g_autoptr(GError) error = NULL;

  wb_fleet_store_apply_async (f->store, update, NULL, store_result, &result);
  wait_for (&result);
  applied = wb_fleet_store_apply_finish (f->store, result, &error);
  g_assert_no_error (error);
  g_assert_true (applied->applied);
}

/* Company c1, driver d1 (of c1), vehicle v1 driven by d1, and device
 * dev1 on v1; dev-free has no vehicle (quarantined). */
static void
add_reference_data (Fixture *f)
{
  WbFleetUpdate *update;

  update = wb_fleet_update_new (WB_FLEET_KIND_COMPANY, "c1");
  update->name = g_strdup ("Acme Logistics");
  apply (f, update);
  update = wb_fleet_update_new (WB_FLEET_KIND_DRIVER, "d1");
  update->name = g_strdup ("Ivan Petrov");
  update->company_id = g_strdup ("c1");
  apply (f, update);
  update = wb_fleet_update_new (WB_FLEET_KIND_VEHICLE, "v1");
  update->plate = g_strdup ("1234 AB-7");
  update->driver_id = g_strdup ("d1");
  update->group_id = g_strdup ("north");
  apply (f, update);
  update = wb_fleet_update_new (WB_FLEET_KIND_DEVICE, "dev1");
  update->vehicle_id = g_strdup ("v1");
  apply (f, update);
  update = wb_fleet_update_new (WB_FLEET_KIND_DEVICE, "dev-free");
  update->quarantined = TRUE;
  apply (f, update);
}

static void
on_watched (WbBus      *bus,
            WbBusBatch *batch,
            gpointer    data)
{
  Fixture *f = data;

  for (guint i = 0; i < wb_bus_batch_get_length (batch); i++)
    g_ptr_array_add (f->seen, wb_bus_message_ref (wb_bus_batch_get_message (batch, i)));
  wb_bus_batch_ack (batch);
}

static void
start_processor (Fixture *f)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  f->processor = wb_fleet_processor_new (f->bus, f->index, f->history, f->conninfo, &f->settings);
  wb_fleet_processor_start_async (f->processor, NULL, store_result, &result);
  wait_for (&result);
  wb_fleet_processor_start_finish (f->processor, result, &error);
  g_assert_no_error (error);
}

static void
stop_processor (Fixture *f)
{
  wb_fleet_processor_stop (f->processor);
  g_clear_object (&f->processor);
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  const char *watched[] = { WB_TOPIC_POSITIONS_ENRICHED, WB_TOPIC_DEVICE_OFFLINE, WB_TOPIC_DEVICE_ONLINE,
                            "telemetry.raw.dlq", WB_TOPIC_CARRIER_LOCATION ".dlq", "vehicle.updated.dlq", NULL };
  g_autoptr(GError) error = NULL;

  f->conninfo = wb_test_pg_create_database ("processor");
  f->conn = wb_db_connect (f->conninfo, &error);
  g_assert_no_error (error);
  wb_migrations_apply (f->conn, NULL, &error);
  g_assert_no_error (error);

  f->pool = wb_db_pool_new (f->conninfo, 2);
  f->bus = wb_bus_local_new (10000);
  f->index = wb_fleet_index_new ();
  f->store = wb_fleet_store_new (f->pool, f->index);
  f->history = wb_position_history_new (30, 2);
  f->seen = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_bus_message_unref);
  f->watch = wb_bus_subscribe (f->bus, "watcher", watched, 1000, on_watched, f, NULL);
  /* Whole seconds in the recent past, so every position is fresh and new. */
  f->base = (g_get_real_time () / G_USEC_PER_SEC - 3600) * G_USEC_PER_SEC;
  wb_fleet_processor_settings_init (&f->settings);
  f->settings.linger_ms = 20;
  add_reference_data (f);
  start_processor (f);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  if (f->processor)
    stop_processor (f);
  wb_bus_unsubscribe (f->bus, f->watch);
  wb_bus_close (f->bus);
  wb_db_pool_close (f->pool);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_clear_object (&f->store);
  g_clear_object (&f->index);
  g_clear_object (&f->history);
  g_clear_object (&f->bus);
  g_clear_object (&f->pool);
  g_clear_pointer (&f->seen, g_ptr_array_unref);
  g_clear_pointer (&f->conn, PQfinish);
  g_clear_pointer (&f->conninfo, g_free);
}

static WbPosition *
position_new (Fixture    *f,
              const char *device_id,
              gint64      seconds,
              double      lat,
              double      lon,
              double      speed)
{
  WbPosition *position = wb_position_new ();

  position->device_id = g_strdup (device_id);
  position->protocol = WB_PROTOCOL_JSON;
  position->device_time = f->base + seconds * G_USEC_PER_SEC;
  position->server_time = g_get_real_time () / 1000 * 1000;
  position->lat = lat;
  position->lon = lon;
  position->speed_kmh = speed;
  position->ignition = 1;
  return position;
}

static void
publish_text (Fixture    *f,
              const char *topic,
              const char *key,
              const char *text)
{
  g_autoptr(WbBusMessage) message = wb_bus_message_new_take (topic, key, g_strdup (text));
  g_autoptr(GError) error = NULL;

  wb_bus_try_publish (f->bus, message, &error);
  g_assert_no_error (error);
}

static void
publish_position (Fixture    *f,
                  WbPosition *position)
{
  g_autoptr(WbPosition) owned = position;
  g_autofree char *json = wb_position_to_json (position);

  publish_text (f, "telemetry.raw", position->device_id, json);
}

/* Waits until the processor has taken @n positions off the bus in total. */
static void
wait_processed (Fixture *f,
                guint64  n)
{
  gint64 deadline = g_get_monotonic_time () + TIMEOUT_US;
  WbFleetProcessorStats stats;

  for (;;)
    {
      wb_fleet_processor_get_stats (f->processor, &stats);
      if (stats.positions >= n)
        break;
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (2000);
    }
  /* What it published after the commit reaches the watcher. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static guint
count_seen (Fixture    *f,
            const char *topic)
{
  guint n = 0;

  for (guint i = 0; i < f->seen->len; i++)
    n += g_str_equal (wb_bus_message_get_topic (g_ptr_array_index (f->seen, i)), topic);
  return n;
}

static WbBusMessage *
last_seen (Fixture    *f,
           const char *topic)
{
  for (guint i = f->seen->len; i > 0; i--)
    if (g_str_equal (wb_bus_message_get_topic (g_ptr_array_index (f->seen, i - 1)), topic))
      return g_ptr_array_index (f->seen, i - 1);
  return NULL;
}

static JsonObject *
payload_object (WbBusMessage *message)
{
  GBytes *payload = wb_bus_message_get_payload (message);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  json_parser_load_from_data (parser, g_bytes_get_data (payload, NULL), g_bytes_get_size (payload), &error);
  g_assert_no_error (error);
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

/* ---- positions ------------------------------------------------------------ */

static void
test_stored_and_enriched (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(JsonObject) enriched = NULL;
  g_autoptr(WbVehicleState) state = NULL;
  g_autofree char *driver = NULL;
  WbBusMessage *message;

  for (guint i = 0; i < 10; i++)
    publish_position (f, position_new (f, "dev1", i * 10, 53.9 + i * 0.001, 27.56, 40));
  wait_processed (f, 10);

  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT count(*) FROM positions WHERE device_id = $1", "dev1"), ==, 10);
  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT count(*) FROM positions WHERE vehicle_id = $1", "v1"), ==, 10);
  driver = wb_test_pg_text (f->conn, "SELECT max(driver_id) || '/' || max(company_id) FROM positions WHERE vehicle_id = $1", "v1");
  g_assert_cmpstr (driver, ==, "d1/c1");

  /* Keyed by vehicle, with the reference data's names. */
  g_assert_cmpuint (count_seen (f, WB_TOPIC_POSITIONS_ENRICHED), ==, 10);
  message = last_seen (f, WB_TOPIC_POSITIONS_ENRICHED);
  g_assert_cmpstr (wb_bus_message_get_key (message), ==, "v1");
  enriched = payload_object (message);
  g_assert_cmpstr (json_object_get_string_member (enriched, "vehicle_id"), ==, "v1");
  g_assert_cmpstr (json_object_get_string_member (enriched, "plate"), ==, "1234 AB-7");
  g_assert_cmpstr (json_object_get_string_member (enriched, "driver_name"), ==, "Ivan Petrov");
  g_assert_cmpstr (json_object_get_string_member (enriched, "company_name"), ==, "Acme Logistics");
  g_assert_cmpstr (json_object_get_string_member (enriched, "device_id"), ==, "dev1");

  /* The newest position is the state, in memory and in the snapshot. */
  state = wb_fleet_processor_get_state (f->processor, "v1");
  g_assert_nonnull (state);
  g_assert_cmpint (state->device_time, ==, f->base + 90 * G_USEC_PER_SEC);
  g_assert_cmpfloat_with_epsilon (state->lat, 53.909, 1e-9);
  g_assert_cmpint (state->motion, ==, WB_MOTION_MOVING);
  g_assert_cmpstr (state->driver_id, ==, "d1");
  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT extract(epoch FROM device_time)::bigint FROM vehicle_states"
                                            " WHERE vehicle_id = $1", "v1"), ==, (f->base / G_USEC_PER_SEC) + 90);
}

/* A late position goes to history but does not move the vehicle back. */
static void
test_late_position (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(WbVehicleState) state = NULL;
  g_autofree char *lat = NULL;

  publish_position (f, position_new (f, "dev1", 100, 53.95, 27.60, 30));
  wait_processed (f, 1);
  publish_position (f, position_new (f, "dev1", 50, 53.10, 27.10, 30));
  wait_processed (f, 2);

  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT count(*) FROM positions WHERE device_id = $1", "dev1"), ==, 2);
  state = wb_fleet_processor_get_state (f->processor, "v1");
  g_assert_cmpint (state->device_time, ==, f->base + 100 * G_USEC_PER_SEC);
  g_assert_cmpfloat_with_epsilon (state->lat, 53.95, 1e-9);
  lat = wb_test_pg_text (f->conn, "SELECT lat FROM vehicle_states WHERE vehicle_id = $1", "v1");
  g_assert_cmpfloat_with_epsilon (g_ascii_strtod (lat, NULL), 53.95, 1e-9);
  /* …and within one batch too: the newest wins, whatever the order. */
  publish_position (f, position_new (f, "dev1", 300, 54.0, 27.7, 0));
  publish_position (f, position_new (f, "dev1", 200, 53.0, 27.0, 0));
  wait_processed (f, 4);
  g_clear_pointer (&state, wb_vehicle_state_free);
  state = wb_fleet_processor_get_state (f->processor, "v1");
  g_assert_cmpint (state->device_time, ==, f->base + 300 * G_USEC_PER_SEC);
  g_assert_cmpint (state->motion, ==, WB_MOTION_STOPPED);
}

/* The same position delivered twice (a redelivery) is stored once. */
static void
test_duplicates_stored_once (Fixture       *f,
                             gconstpointer  data)
{
  WbFleetProcessorStats stats;

  for (guint round = 0; round < 2; round++)
    for (guint i = 0; i < 5; i++)
      publish_position (f, position_new (f, "dev1", i, 53.9, 27.5 + i * 0.01, 10));
  wait_processed (f, 10);

  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT count(*) FROM positions WHERE device_id = $1", "dev1"), ==, 5);
  wb_fleet_processor_get_stats (f->processor, &stats);
  g_assert_cmpuint (stats.stored, ==, 5);
  g_assert_cmpuint (stats.repeated, ==, 5);
}

/* A device with no vehicle: history under its device, no vehicle state. */
static void
test_unassigned_device (Fixture       *f,
                        gconstpointer  data)
{
  WbFleetProcessorStats stats;

  publish_position (f, position_new (f, "dev-free", 1, 53.9, 27.5, 10));
  wait_processed (f, 1);

  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT count(*) FROM positions WHERE device_id = $1 AND vehicle_id IS NULL",
                                            "dev-free"), ==, 1);
  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT count(*) FROM vehicle_states", NULL), ==, 0);
  g_assert_cmpstr (wb_bus_message_get_key (last_seen (f, WB_TOPIC_POSITIONS_ENRICHED)), ==, "dev-free");
  wb_fleet_processor_get_stats (f->processor, &stats);
  g_assert_cmpuint (stats.unassigned, ==, 1);
}

/* An undecodable message goes to telemetry.raw.dlq with the reason and
 * where it came from; the good ones around it are stored. */
static void
test_dead_letter (Fixture       *f,
                  gconstpointer  data)
{
  WbBusMessage *letter;

  publish_position (f, position_new (f, "dev1", 1, 53.9, 27.5, 10));
  publish_text (f, "telemetry.raw", "dev1", "{\"device_id\":\"dev1\",\"lat\":\"north\"}");
  publish_position (f, position_new (f, "dev1", 2, 53.9, 27.6, 10));
  wait_processed (f, 3);

  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT count(*) FROM positions", NULL), ==, 2);
  g_assert_cmpuint (count_seen (f, "telemetry.raw.dlq"), ==, 1);
  letter = last_seen (f, "telemetry.raw.dlq");
  g_assert_cmpstr (wb_bus_message_get_key (letter), ==, "dev1");
  g_assert_nonnull (wb_bus_message_get_header (letter, "x-error"));
  g_assert_cmpstr (wb_bus_message_get_header (letter, "x-source-topic"), ==, "telemetry.raw");
  g_assert_cmpstr (wb_bus_message_get_header (letter, "x-source-offset"), ==, "1");
  g_assert_nonnull (wb_bus_message_get_header (letter, "x-source-partition"));
}

/* Silence past the threshold: device.offline once; the next position:
 * device.online. The state shows it too. */
static void
test_offline_online (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(JsonObject) offline = NULL;
  g_autoptr(WbVehicleState) state = NULL;
  WbFleetProcessorStats stats;

  stop_processor (f);
  f->settings.offline_after = 300 * 1000;  /* 0.3 s */
  start_processor (f);

  publish_position (f, position_new (f, "dev1", 1, 53.9, 27.5, 10));
  wait_processed (f, 1);
  wb_fleet_processor_check_offline (f->processor);
  g_assert_cmpuint (count_seen (f, WB_TOPIC_DEVICE_OFFLINE), ==, 0);

  g_usleep (400 * 1000);
  wb_fleet_processor_check_offline (f->processor);
  wb_fleet_processor_check_offline (f->processor);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (count_seen (f, WB_TOPIC_DEVICE_OFFLINE), ==, 1);
  offline = payload_object (last_seen (f, WB_TOPIC_DEVICE_OFFLINE));
  g_assert_cmpstr (json_object_get_string_member (offline, "device_id"), ==, "dev1");
  g_assert_cmpstr (json_object_get_string_member (offline, "vehicle_id"), ==, "v1");
  wb_fleet_processor_get_stats (f->processor, &stats);
  g_assert_cmpuint (stats.offline_devices, ==, 1);
  state = wb_fleet_processor_get_state (f->processor, "v1");
  g_assert_true (wb_vehicle_state_is_offline (state, g_get_real_time (), f->settings.offline_after));

  publish_position (f, position_new (f, "dev1", 2, 53.9, 27.5, 10));
  wait_processed (f, 2);
  g_assert_cmpuint (count_seen (f, WB_TOPIC_DEVICE_ONLINE), ==, 1);
  g_assert_cmpstr (wb_bus_message_get_key (last_seen (f, WB_TOPIC_DEVICE_ONLINE)), ==, "dev1");
  wb_fleet_processor_get_stats (f->processor, &stats);
  g_assert_cmpuint (stats.offline_devices, ==, 0);
}

/* A restart rebuilds the state table from the snapshot: a position older
 * than the stored state still does not move the vehicle back. */
static void
test_restart_rebuilds_state (Fixture       *f,
                             gconstpointer  data)
{
  g_autoptr(WbVehicleState) state = NULL;
  WbFleetProcessorStats stats;

  publish_position (f, position_new (f, "dev1", 500, 53.5, 27.5, 10));
  wait_processed (f, 1);
  stop_processor (f);
  start_processor (f);

  state = wb_fleet_processor_get_state (f->processor, "v1");
  g_assert_nonnull (state);
  g_assert_cmpint (state->device_time, ==, f->base + 500 * G_USEC_PER_SEC);
  wb_fleet_processor_get_stats (f->processor, &stats);
  g_assert_cmpuint (stats.vehicles, ==, 1);

  publish_position (f, position_new (f, "dev1", 400, 53.0, 27.0, 10));
  wait_processed (f, 1);
  g_clear_pointer (&state, wb_vehicle_state_free);
  state = wb_fleet_processor_get_state (f->processor, "v1");
  g_assert_cmpint (state->device_time, ==, f->base + 500 * G_USEC_PER_SEC);
  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT count(*) FROM positions", NULL), ==, 2);
}

/* The database goes away: the batch waits on the bus, nothing is lost, and
 * everything is stored once it is back. */
static void
test_database_outage (Fixture       *f,
                      gconstpointer  data)
{
  gint64 deadline = g_get_monotonic_time () + TIMEOUT_US;
  WbFleetProcessorStats stats;

  g_clear_pointer (&f->conn, PQfinish);
  wb_test_pg_stop_server ();
  for (guint i = 0; i < 20; i++)
    publish_position (f, position_new (f, "dev1", i, 53.9, 27.5 + i * 0.001, 10));
  do
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (10000);
      wb_fleet_processor_get_stats (f->processor, &stats);
    }
  while (stats.retries < 2);
  g_assert_false (stats.db_up);
  g_assert_cmpuint (stats.stored, ==, 0);

  wb_test_pg_start_server ();
  wait_processed (f, 20);
  wb_fleet_processor_get_stats (f->processor, &stats);
  g_assert_true (stats.db_up);
  g_assert_cmpuint (stats.stored, ==, 20);
  f->conn = wb_db_connect (f->conninfo, NULL);
  g_assert_nonnull (f->conn);
  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT count(*) FROM positions", NULL), ==, 20);
}

/* A write stuck in the database (behind a lock nobody releases) does not
 * hold the stop up: the query is cut, the batch left unacknowledged. */
static void
test_stop_cuts_stuck_write (Fixture       *f,
                            gconstpointer  data)
{
  g_autoptr(PGresult) locked = NULL;
  gint64 deadline = g_get_monotonic_time () + TIMEOUT_US;
  g_autoptr(PGresult) begun = wb_test_pg_exec (f->conn, "BEGIN", NULL);
  gint64 started;

  locked = wb_test_pg_exec (f->conn, "LOCK TABLE vehicle_states IN ACCESS EXCLUSIVE MODE", NULL);
  publish_position (f, position_new (f, "dev1", 0, 53.9, 27.5, 10));
  while (wb_test_pg_int (f->conn, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                                  " AND datname = current_database()", NULL) == 0)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (10000);
      PQclear (wb_test_pg_exec (f->conn, "SELECT pg_stat_clear_snapshot()", NULL));
    }

  started = g_get_monotonic_time ();
  stop_processor (f);
  g_assert_cmpint (g_get_monotonic_time () - started, <, 2 * G_USEC_PER_SEC);
  PQclear (wb_test_pg_exec (f->conn, "ROLLBACK", NULL));
  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT count(*) FROM positions", NULL), ==, 0);
}

/* Started while the database is down: positions published meanwhile wait
 * on the bus (the in-process bus would drop them with nobody subscribed),
 * and are stored once it is back. */
static void
test_start_without_database (Fixture       *f,
                             gconstpointer  data)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  stop_processor (f);
  g_clear_pointer (&f->conn, PQfinish);
  wb_test_pg_stop_server ();
  f->processor = wb_fleet_processor_new (f->bus, f->index, f->history, f->conninfo, &f->settings);
  wb_fleet_processor_start_async (f->processor, NULL, store_result, &result);
  wait_for (&result);
  g_assert_false (wb_fleet_processor_start_finish (f->processor, result, &error));
  g_assert_error (error, WB_DB_ERROR, WB_DB_ERROR_CONNECT);
  g_clear_object (&result);
  g_clear_error (&error);

  for (guint i = 0; i < 5; i++)
    publish_position (f, position_new (f, "dev1", i, 53.9, 27.5, 10));
  wb_test_pg_start_server ();
  wb_fleet_processor_start_async (f->processor, NULL, store_result, &result);
  wait_for (&result);
  g_assert_true (wb_fleet_processor_start_finish (f->processor, result, &error));
  g_assert_no_error (error);
  wait_processed (f, 5);
  f->conn = wb_db_connect (f->conninfo, NULL);
  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT count(*) FROM positions", NULL), ==, 5);
}

/* ---- carrier locations ------------------------------------------------------ */

/* Waits for @n dead letters: sent last, they mark the end of the input. */
static void
wait_dead_letters (Fixture *f,
                   guint64  n)
{
  gint64 deadline = g_get_monotonic_time () + TIMEOUT_US;
  WbFleetProcessorStats stats;

  for (;;)
    {
      wb_fleet_processor_get_stats (f->processor, &stats);
      if (stats.dead_letters >= n)
        break;
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (2000);
    }
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
test_carrier_locations (Fixture       *f,
                        gconstpointer  data)
{
  g_autofree char *where = NULL;
  g_autofree char *when = NULL;
  g_autofree char *phone = NULL;

  PQclear (wb_test_pg_exec (f->conn, "INSERT INTO trips (id, vehicle_id, status, version) VALUES"
                                     " ('t-moving', 'v1', 'IN_TRANSIT', 1), ('t-later', 'v1', 'PLANNED', 1)", NULL));
  publish_position (f, position_new (f, "dev1", 10, 53.91, 27.55, 40));
  wait_processed (f, 1);

  where = wb_test_pg_text (f->conn, "SELECT lat || ',' || lng || ',' || source FROM carrier_locations WHERE trip_id = $1",
                                    "t-moving");
  g_assert_cmpstr (where, ==, "53.91,27.55,vehicle");
  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT count(*) FROM carrier_locations WHERE trip_id = $1", "t-later"), ==, 0);

  /* The driver's phone, newer: it replaces the vehicle's; an older one
   * does not; a malformed one is dead-lettered. */
  when = wb_time_format (f->base + 20 * G_USEC_PER_SEC);
  phone = g_strdup_printf ("{\"trip_id\":\"t-moving\",\"lat\":53.92,\"lng\":27.56,\"recorded_at\":\"%s\"}", when);
  publish_text (f, WB_TOPIC_CARRIER_LOCATION, "t-moving", phone);
  g_free (when);
  g_free (phone);
  when = wb_time_format (f->base + 5 * G_USEC_PER_SEC);
  phone = g_strdup_printf ("{\"trip_id\":\"t-moving\",\"lat\":50,\"lng\":20,\"recorded_at\":\"%s\"}", when);
  publish_text (f, WB_TOPIC_CARRIER_LOCATION, "t-moving", phone);
  publish_text (f, WB_TOPIC_CARRIER_LOCATION, "t-moving", "{\"trip_id\":\"t-moving\",\"lat\":95}");
  wait_dead_letters (f, 1);

  g_free (where);
  where = wb_test_pg_text (f->conn, "SELECT lat || ',' || lng || ',' || source FROM carrier_locations WHERE trip_id = $1",
                                    "t-moving");
  g_assert_cmpstr (where, ==, "53.92,27.56,phone");
  g_assert_cmpuint (count_seen (f, WB_TOPIC_CARRIER_LOCATION ".dlq"), ==, 1);
}

/* ---- reference data from the bus ----------------------------------------------- */

static void
test_reference_topics (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(WbFleetReferenceConsumer) consumer = wb_fleet_reference_consumer_new (f->bus, f->store);
  g_autoptr(WbFleetEnrichment) enrichment = NULL;
  gint64 deadline = g_get_monotonic_time () + TIMEOUT_US;
  guint64 applied = 0, ignored = 0, dead = 0;

  wb_fleet_reference_consumer_start (consumer);
  publish_text (f, "vehicle.updated", "v1",
                "{\"vehicle_id\":\"v1\",\"plate\":\"9999 XX-1\",\"driver_id\":\"d1\",\"version\":5}");
  publish_text (f, "vehicle.updated", "v1",
                "{\"vehicle_id\":\"v1\",\"plate\":\"OLD\",\"driver_id\":\"d1\",\"version\":4}");
  publish_text (f, "vehicle.updated", "v1", "{\"plate\":\"no id\"}");
  while (applied + ignored + dead < 3)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
      wb_fleet_reference_consumer_get_counts (consumer, &applied, &ignored, &dead);
    }
  wb_fleet_reference_consumer_stop (consumer);
  while (g_main_context_iteration (NULL, FALSE))
    ;

  g_assert_cmpuint (applied, ==, 1);
  g_assert_cmpuint (ignored, ==, 1);
  g_assert_cmpuint (dead, ==, 1);
  g_assert_cmpuint (count_seen (f, "vehicle.updated.dlq"), ==, 1);
  enrichment = wb_fleet_index_lookup_device (f->index, "dev1");
  g_assert_cmpstr (enrichment->plate, ==, "9999 XX-1");

  /* …and the next position carries the new plate. */
  publish_position (f, position_new (f, "dev1", 1, 53.9, 27.5, 10));
  wait_processed (f, 1);
  {
    g_autoptr(JsonObject) enriched = payload_object (last_seen (f, WB_TOPIC_POSITIONS_ENRICHED));

    g_assert_cmpstr (json_object_get_string_member (enriched, "plate"), ==, "9999 XX-1");
  }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func) g_test_add ("/processor/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("stored-and-enriched", test_stored_and_enriched);
  ADD ("late-position", test_late_position);
  ADD ("duplicates-stored-once", test_duplicates_stored_once);
  ADD ("unassigned-device", test_unassigned_device);
  ADD ("dead-letter", test_dead_letter);
  ADD ("offline-online", test_offline_online);
  ADD ("restart-rebuilds-state", test_restart_rebuilds_state);
  ADD ("database-outage", test_database_outage);
  ADD ("stop-cuts-stuck-write", test_stop_cuts_stuck_write);
  ADD ("start-without-database", test_start_without_database);
  ADD ("carrier-locations", test_carrier_locations);
  ADD ("reference-topics", test_reference_topics);
#undef ADD

  return g_test_run ();
}
