// SPDX-License-Identifier: GPL-3.0-or-later
/* Position history on a real PostgreSQL: the partitioned positions table,
 * the vehicle state snapshot, carrier locations (from vehicles and phones),
 * maintenance and tracks. Each test gets an empty, migrated database and
 * its own connection. */

#include "config.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "wb-carrier-location.h"
#include "wb-fleet-index-private.h"
#include "wb-fleet-store.h"
#include "wb-fleet-update.h"
#include "wb-json.h"
#include "wb-migrations.h"
#include "wb-position-history.h"
#include "wb-test-pg.h"

#define SECOND_US (G_USEC_PER_SEC * G_GINT64_CONSTANT (1))
#define DAY_US    (SECOND_US * 86400)
/* 2024-03-01T00:00:00Z */
#define MARCH_1   (G_GINT64_CONSTANT (1709251200) * SECOND_US)

typedef struct
{
  char              *conninfo;
  PGconn            *conn;
  WbPositionHistory *history;    /* retention 0, 3 days ahead */
  WbFleetIndex      *index;      /* vehicles V1 (driver D1 of company C1) and V2 */
} Fixture;

/* ---- helpers --------------------------------------------------------------- */

static void
fill_index (WbFleetIndex *index)
{
  const WbFleetRow rows[] = {
    { .kind = WB_FLEET_KIND_COMPANY, .id = "C1", .version = 1, .name = "Acme" },
    { .kind = WB_FLEET_KIND_DRIVER, .id = "D1", .version = 1, .name = "Ann", .company_id = "C1" },
    { .kind = WB_FLEET_KIND_VEHICLE, .id = "V1", .version = 1, .plate = "AB 123", .driver_id = "D1" },
    { .kind = WB_FLEET_KIND_VEHICLE, .id = "V2", .version = 1, .plate = "CD 456" },
  };

  g_assert_cmpuint (_wb_fleet_index_put (index, rows, G_N_ELEMENTS (rows)), ==, G_N_ELEMENTS (rows));
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  f->conninfo = wb_test_pg_create_database ("positions");
  f->conn = wb_db_connect (f->conninfo, &error);
  g_assert_no_error (error);
  wb_migrations_apply (f->conn, NULL, &error);
  g_assert_no_error (error);
  f->history = wb_position_history_new (0, 3);
  f->index = wb_fleet_index_new ();
  fill_index (f->index);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_clear_object (&f->index);
  g_clear_object (&f->history);
  g_clear_pointer (&f->conn, PQfinish);
  g_clear_pointer (&f->conninfo, g_free);
}

/* A position of @device_id at @time with every optional value unknown. */
static WbPosition *
position_new (const char *device_id,
              gint64      time,
              double      lat,
              double      lon)
{
  WbPosition *position = wb_position_new ();

  position->device_id = g_strdup (device_id);
  position->device_time = time;
  position->server_time = time + 2 * SECOND_US;
  position->lat = lat;
  position->lon = lon;
  return position;
}

/* @vehicle_id: NULL for a device with no vehicle. */
static void
add_position (Fixture    *f,
              GPtrArray  *batch,
              WbPosition *position,
              const char *vehicle_id)
{
  WbFleetEnrichment *enrichment = vehicle_id ? wb_fleet_index_lookup_vehicle (f->index, vehicle_id) : NULL;

  g_assert_true (vehicle_id == NULL || enrichment != NULL);
  g_ptr_array_add (batch, wb_enriched_position_new (position, enrichment));
}

static GPtrArray *
batch_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) wb_enriched_position_free);
}

static GPtrArray *
states_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) wb_vehicle_state_free);
}

static WbVehicleState *
state_new (const char *vehicle_id,
           gint64      time,
           double      lat,
           double      lon)
{
  WbVehicleState *state = wb_vehicle_state_new ();

  state->vehicle_id = g_strdup (vehicle_id);
  state->device_id = g_strconcat ("dev-", vehicle_id, NULL);
  state->device_time = time;
  state->server_time = time + SECOND_US;
  state->lat = lat;
  state->lon = lon;
  return state;
}

static guint
write_full (WbPositionHistory *history,
            PGconn            *conn,
            GPtrArray         *batch,
            GPtrArray         *states,
            guint             *out_expired)
{
  g_autoptr(GError) error = NULL;
  guint inserted = G_MAXUINT;
  guint expired = G_MAXUINT;

  wb_position_history_write (history, conn,
                             batch ? (WbEnrichedPosition **) batch->pdata : NULL, batch ? batch->len : 0,
                             states ? (WbVehicleState **) states->pdata : NULL, states ? states->len : 0,
                             &inserted, &expired, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (inserted, !=, G_MAXUINT);
  if (out_expired != NULL)
    *out_expired = expired;
  return inserted;
}

static guint
write_batch (Fixture   *f,
             GPtrArray *batch,
             GPtrArray *states)
{
  guint expired;
  guint inserted = write_full (f->history, f->conn, batch, states, &expired);

  g_assert_cmpuint (expired, ==, 0);
  return inserted;
}

static char *
us_text (gint64 us)
{
  return g_strdup_printf ("%" G_GINT64_FORMAT, us);
}

static gint64
count_positions (Fixture *f)
{
  return wb_test_pg_int (f->conn, "SELECT count(*) FROM positions", NULL);
}

/* ---- positions ------------------------------------------------------------- */

#define NASTY_TEXT "tab\there \"quoted\" back\\slash\nnew line\r\\N \\t end"
#define UNICODE_TEXT "Grüße aus Köln, 東京, ёлка 🚚"

static void
test_write_round_trip (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(GPtrArray) batch = batch_new ();
  g_autoptr(PGresult) full = NULL;
  g_autoptr(PGresult) bare = NULL;
  g_autoptr(JsonNode) nested = json_from_string ("{\"list\":[1,2.5,\"x\\ty\"],\"flag\":true,\"none\":null}", NULL);
  WbPosition *p = position_new ("dev\\1\t", MARCH_1 + 12 * 3600 * SECOND_US + 345000, 53.902284123456789,
                                27.561831987654321);
  g_autofree char *device_time = us_text (p->device_time);
  const char *columns =
    "SELECT device_id, (extract(epoch FROM device_time) * 1000000)::bigint,"
    " (extract(epoch FROM server_time) * 1000000)::bigint, vehicle_id, driver_id, company_id, protocol,"
    " lat, lon, speed_kmh, heading, altitude, accuracy, ignition, fuel, odometer,"
    " attributes->>'note', attributes->>'name', attributes->'nested' = $1::jsonb, attributes->'number'"
    " FROM positions ORDER BY device_id COLLATE \"C\"";
  const char *nested_text = "{\"list\":[1,2.5,\"x\\ty\"],\"flag\":true,\"none\":null}";

  p->protocol = WB_PROTOCOL_TELTONIKA;
  p->speed_kmh = 87.5;
  p->heading = 271.25;
  p->altitude = -12.5;
  p->accuracy = 4.75;
  p->ignition = 1;
  p->fuel = 41.5;
  p->odometer = 123456789.125;
  json_object_set_string_member (wb_position_ensure_attributes (p), "note", NASTY_TEXT);
  json_object_set_string_member (wb_position_ensure_attributes (p), "name", UNICODE_TEXT);
  json_object_set_double_member (wb_position_ensure_attributes (p), "number", 1e20);
  json_object_set_member (wb_position_ensure_attributes (p), "nested", g_steal_pointer (&nested));
  add_position (f, batch, p, "V1");
  /* Everything unknown, no vehicle. */
  add_position (f, batch, position_new ("dev-bare", MARCH_1, -33.5, 151.25), NULL);

  g_assert_cmpuint (write_batch (f, batch, NULL), ==, 2);

  {
    const char *params[] = { nested_text };
    g_autoptr(GError) error = NULL;

    full = wb_db_exec (f->conn, columns, params, 1, NULL, &error);
    g_assert_no_error (error);
  }
  g_assert_cmpint (PQntuples (full), ==, 2);
  /* "dev-bare" sorts before "dev\\1\t" in the C collation. */
  g_assert_cmpstr (PQgetvalue (full, 1, 0), ==, "dev\\1\t");
  g_assert_cmpstr (PQgetvalue (full, 1, 1), ==, device_time);
  g_assert_cmpint (g_ascii_strtoll (PQgetvalue (full, 1, 2), NULL, 10), ==, p->server_time);
  g_assert_cmpstr (PQgetvalue (full, 1, 3), ==, "V1");
  g_assert_cmpstr (PQgetvalue (full, 1, 4), ==, "D1");
  g_assert_cmpstr (PQgetvalue (full, 1, 5), ==, "C1");
  g_assert_cmpstr (PQgetvalue (full, 1, 6), ==, "teltonika");
  g_assert_cmpfloat (g_ascii_strtod (PQgetvalue (full, 1, 7), NULL), ==, 53.902284123456789);
  g_assert_cmpfloat (g_ascii_strtod (PQgetvalue (full, 1, 8), NULL), ==, 27.561831987654321);
  g_assert_cmpfloat (g_ascii_strtod (PQgetvalue (full, 1, 9), NULL), ==, 87.5);
  g_assert_cmpfloat (g_ascii_strtod (PQgetvalue (full, 1, 10), NULL), ==, 271.25);
  g_assert_cmpfloat (g_ascii_strtod (PQgetvalue (full, 1, 11), NULL), ==, -12.5);
  g_assert_cmpfloat (g_ascii_strtod (PQgetvalue (full, 1, 12), NULL), ==, 4.75);
  g_assert_cmpstr (PQgetvalue (full, 1, 13), ==, "t");
  g_assert_cmpfloat (g_ascii_strtod (PQgetvalue (full, 1, 14), NULL), ==, 41.5);
  g_assert_cmpfloat (g_ascii_strtod (PQgetvalue (full, 1, 15), NULL), ==, 123456789.125);
  g_assert_cmpstr (PQgetvalue (full, 1, 16), ==, NASTY_TEXT);
  g_assert_cmpstr (PQgetvalue (full, 1, 17), ==, UNICODE_TEXT);
  g_assert_cmpstr (PQgetvalue (full, 1, 18), ==, "t");
  g_assert_cmpfloat (g_ascii_strtod (PQgetvalue (full, 1, 19), NULL), ==, 1e20);

  /* Unknown is NULL, not NaN; no enrichment, no ids; empty attributes. */
  g_assert_cmpstr (PQgetvalue (full, 0, 0), ==, "dev-bare");
  g_assert_cmpstr (PQgetvalue (full, 0, 6), ==, "json");
  for (int column = 3; column <= 5; column++)
    g_assert_true (PQgetisnull (full, 0, column));
  for (int column = 9; column <= 17; column++)
    g_assert_true (PQgetisnull (full, 0, column));
  bare = wb_test_pg_exec (f->conn, "SELECT attributes::text FROM positions WHERE device_id = 'dev-bare'", NULL);
  g_assert_cmpstr (PQgetvalue (bare, 0, 0), ==, "{}");
}

/* Attributes a decoder wrote as JSON text (Teltonika) are stored as they
 * are, through the staging path too. */
static void
test_write_attributes_text (Fixture       *f,
                            gconstpointer  data)
{
  g_autoptr(GPtrArray) batch = batch_new ();
  g_autoptr(GPtrArray) again = batch_new ();
  WbPosition *p = position_new ("imei-1", MARCH_1, 1, 1);
  g_autoptr(PGresult) stored = NULL;

  p->attributes_json = g_strdup ("{\"priority\":1,\"event_io\":239,\"io385\":\"deadbeef\","
                                 "\"external_voltage\":24.079}");
  add_position (f, batch, wb_position_ref (p), "V1");
  add_position (f, batch, position_new ("imei-2", MARCH_1, 1, 1), "V2");
  g_assert_cmpuint (write_batch (f, batch, NULL), ==, 2);
  add_position (f, again, p, "V1");
  add_position (f, again, position_new ("imei-1", MARCH_1 + SECOND_US, 1, 1), "V1");
  g_assert_cmpuint (write_batch (f, again, NULL), ==, 1);

  stored = wb_test_pg_exec (f->conn, "SELECT attributes = $1::jsonb FROM positions WHERE device_id = 'imei-1'"
                                     " AND device_time = to_timestamp(1709251200)", "{\"io385\": \"deadbeef\", \"priority\": 1,"
                                     " \"event_io\": 239, \"external_voltage\": 24.079}");
  g_assert_cmpint (PQntuples (stored), ==, 1);
  g_assert_cmpstr (PQgetvalue (stored, 0, 0), ==, "t");
}

/* Positions on three days land in those days' partitions, whatever the
 * hour; the partitions are created by the write. */
static void
test_write_partitions (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(GPtrArray) batch = batch_new ();
  g_autoptr(PGresult) placed = NULL;

  add_position (f, batch, position_new ("d1", MARCH_1, 1, 1), "V1");                       /* midnight */
  add_position (f, batch, position_new ("d1", MARCH_1 + DAY_US - 1000, 1, 2), "V1");      /* 23:59:59.999 */
  add_position (f, batch, position_new ("d1", MARCH_1 + DAY_US, 1, 3), "V1");
  add_position (f, batch, position_new ("d1", MARCH_1 + 2 * DAY_US + 3600 * SECOND_US, 1, 4), "V1");
  g_assert_cmpuint (write_batch (f, batch, NULL), ==, 4);

  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT count(*) FROM pg_inherits WHERE inhparent = 'positions'::regclass",
                                   NULL), ==, 3);
  placed = wb_test_pg_exec (f->conn, "SELECT tableoid::regclass::text FROM positions ORDER BY device_time", NULL);
  g_assert_cmpint (PQntuples (placed), ==, 4);
  g_assert_cmpstr (PQgetvalue (placed, 0, 0), ==, "positions_20240301");
  g_assert_cmpstr (PQgetvalue (placed, 1, 0), ==, "positions_20240301");
  g_assert_cmpstr (PQgetvalue (placed, 2, 0), ==, "positions_20240302");
  g_assert_cmpstr (PQgetvalue (placed, 3, 0), ==, "positions_20240303");
}

static void
add_minutes (Fixture   *f,
             GPtrArray *batch,
             guint      first,
             guint      n)
{
  for (guint i = first; i < first + n; i++)
    add_position (f, batch, position_new (i % 2 ? "d1" : "d2", MARCH_1 + i * 60 * SECOND_US, 10 + i * 0.001, 20),
                  i % 2 ? "V1" : "V2");
}

/* A redelivered batch (the slow path) stores nothing again; one that is
 * half old, half new stores the new half. */
static void
test_write_redelivered (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(GPtrArray) batch = batch_new ();
  g_autoptr(GPtrArray) mixed = batch_new ();
  g_autoptr(GPtrArray) states = states_new ();

  add_minutes (f, batch, 0, 100);
  g_ptr_array_add (states, state_new ("V1", MARCH_1 + 99 * 60 * SECOND_US, 10.099, 20));
  g_assert_cmpuint (write_batch (f, batch, states), ==, 100);
  g_assert_cmpuint (write_batch (f, batch, states), ==, 0);
  g_assert_cmpint (count_positions (f), ==, 100);

  add_minutes (f, mixed, 50, 100);
  g_assert_cmpuint (write_batch (f, mixed, NULL), ==, 50);
  g_assert_cmpint (count_positions (f), ==, 150);
  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT count(DISTINCT (device_id, device_time)) FROM positions", NULL),
                   ==, 150);
  /* The staging table holds nothing past its transaction. */
  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT count(*) FROM positions_staging", NULL), ==, 0);
}

/* A row twice in one batch is stored once: the first of them. */
static void
test_write_repeated_in_batch (Fixture       *f,
                              gconstpointer  data)
{
  g_autoptr(GPtrArray) batch = batch_new ();

  add_position (f, batch, position_new ("d1", MARCH_1, 1.5, 2), "V1");
  add_position (f, batch, position_new ("d2", MARCH_1, 3, 4), "V2");
  add_position (f, batch, position_new ("d1", MARCH_1, 9.5, 9), "V1");
  g_assert_cmpuint (write_batch (f, batch, NULL), ==, 2);
  g_assert_cmpint (count_positions (f), ==, 2);
  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT (lat * 10)::int FROM positions WHERE device_id = 'd1'", NULL), ==, 15);
}

/* ---- states ------------------------------------------------------------------ */

static WbVehicleState *
find_state (GPtrArray  *states,
            const char *vehicle_id)
{
  for (guint i = 0; i < states->len; i++)
    {
      WbVehicleState *state = g_ptr_array_index (states, i);

      if (g_str_equal (state->vehicle_id, vehicle_id))
        return state;
    }
  return NULL;
}

static void
assert_same_double (double a,
                    double b)
{
  if (isnan (a) || isnan (b))
    g_assert_true (isnan (a) && isnan (b));
  else
    g_assert_cmpfloat (a, ==, b);
}

static void
assert_same_state (const WbVehicleState *a,
                   const WbVehicleState *b)
{
  g_assert_cmpstr (a->vehicle_id, ==, b->vehicle_id);
  g_assert_cmpstr (a->device_id, ==, b->device_id);
  g_assert_cmpstr (a->driver_id, ==, b->driver_id);
  g_assert_cmpint (a->device_time, ==, b->device_time);
  g_assert_cmpint (a->server_time, ==, b->server_time);
  assert_same_double (a->lat, b->lat);
  assert_same_double (a->lon, b->lon);
  assert_same_double (a->speed_kmh, b->speed_kmh);
  assert_same_double (a->heading, b->heading);
  assert_same_double (a->altitude, b->altitude);
  g_assert_cmpint (a->ignition, ==, b->ignition);
  assert_same_double (a->fuel, b->fuel);
  assert_same_double (a->odometer, b->odometer);
  g_assert_cmpint (a->motion, ==, b->motion);
  g_assert_cmpint (a->motion_since, ==, b->motion_since);
}

static GPtrArray *
load_states (Fixture *f)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *states = wb_position_history_load_states (f->conn, &error);

  g_assert_no_error (error);
  g_assert_nonnull (states);
  return states;
}

/* What is written comes back field by field: unknowns, motion, times to
 * the microsecond, doubles exactly. */
static void
test_states_load (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GPtrArray) states = states_new ();
  g_autoptr(GPtrArray) loaded = NULL;
  WbVehicleState *full = state_new ("V1", MARCH_1 + 123457, 53.902284123456789, 27.561831987654321);
  WbVehicleState *bare = state_new ("V2", MARCH_1 - 5 * DAY_US, -33.5, 151.25);

  full->driver_id = g_strdup ("D1");
  full->speed_kmh = 0.1 + 0.2;
  full->heading = 359.99;
  full->altitude = -3.25;
  full->ignition = 0;
  full->fuel = 12.345678901234567;
  full->odometer = 9876543.21;
  full->motion = WB_MOTION_STOPPED;
  full->motion_since = MARCH_1 - 999;
  g_ptr_array_add (states, full);
  g_ptr_array_add (states, bare);
  write_batch (f, NULL, states);

  loaded = load_states (f);
  g_assert_cmpuint (loaded->len, ==, 2);
  assert_same_state (find_state (loaded, "V1"), full);
  assert_same_state (find_state (loaded, "V2"), bare);
  g_assert_cmpint (find_state (loaded, "V2")->motion, ==, WB_MOTION_UNKNOWN);
  g_assert_cmpint (find_state (loaded, "V2")->ignition, ==, -1);
  g_assert_true (isnan (find_state (loaded, "V2")->speed_kmh));
}

static double
stored_lat (Fixture    *f,
            const char *vehicle_id)
{
  g_autofree char *text = wb_test_pg_text (f->conn, "SELECT lat FROM vehicle_states WHERE vehicle_id = $1", vehicle_id);

  return g_ascii_strtod (text, NULL);
}

static void
write_state (Fixture    *f,
             const char *vehicle_id,
             gint64      time,
             double      lat)
{
  g_autoptr(GPtrArray) states = states_new ();

  g_ptr_array_add (states, state_new (vehicle_id, time, lat, 20));
  write_batch (f, NULL, states);
}

/* A newer state replaces the stored one; a late (older) one, or the same
 * one again, does not. */
static void
test_states_newer_wins (Fixture       *f,
                        gconstpointer  data)
{
  write_state (f, "V1", MARCH_1 + 10 * SECOND_US, 1);
  g_assert_cmpfloat (stored_lat (f, "V1"), ==, 1);
  write_state (f, "V1", MARCH_1 + 5 * SECOND_US, 2);
  g_assert_cmpfloat (stored_lat (f, "V1"), ==, 1);
  write_state (f, "V1", MARCH_1 + 10 * SECOND_US, 3);
  g_assert_cmpfloat (stored_lat (f, "V1"), ==, 1);
  write_state (f, "V1", MARCH_1 + 11 * SECOND_US, 4);
  g_assert_cmpfloat (stored_lat (f, "V1"), ==, 4);
  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT count(*) FROM vehicle_states", NULL), ==, 1);
}

/* ---- carrier locations -------------------------------------------------------- */

static void
add_trip (Fixture    *f,
          const char *trip_id,
          const char *vehicle_id,
          const char *status)
{
  const char *params[] = { trip_id, vehicle_id, status };
  g_autoptr(GError) error = NULL;
  g_autoptr(PGresult) result = wb_db_exec (f->conn, "INSERT INTO trips (id, vehicle_id, status) VALUES ($1, $2, $3)",
                                           params, 3, NULL, &error);

  g_assert_no_error (error);
}

/* "lat lng source updated_at_us" of @trip_id, NULL when it has none. */
static char *
carrier_location (Fixture    *f,
                  const char *trip_id)
{
  g_autoptr(PGresult) result = wb_test_pg_exec (f->conn,
                                                "SELECT lat || ' ' || lng || ' ' || source || ' '"
                                                " || (extract(epoch FROM updated_at) * 1000000)::bigint"
                                                " FROM carrier_locations WHERE trip_id = $1", trip_id);

  return PQntuples (result) == 0 ? NULL : g_strdup (PQgetvalue (result, 0, 0));
}

#define assert_location(f, trip, expected) \
  G_STMT_START { \
    g_autofree char *location_ = carrier_location (f, trip); \
    g_assert_cmpstr (location_, ==, expected); \
  } G_STMT_END

static WbCarrierLocation *
phone_location (const char *trip_id,
                gint64      recorded_at,
                double      lat,
                double      lng)
{
  WbCarrierLocation *location = g_new0 (WbCarrierLocation, 1);

  location->trip_id = g_strdup (trip_id);
  location->recorded_at = recorded_at;
  location->lat = lat;
  location->lng = lng;
  location->accuracy = NAN;
  return location;
}

static guint
apply_phones (Fixture   *f,
              GPtrArray *locations)
{
  g_autoptr(GError) error = NULL;
  guint applied = G_MAXUINT;

  wb_carrier_locations_apply (f->conn, (WbCarrierLocation **) locations->pdata, locations->len, &applied, &error);
  g_assert_no_error (error);
  return applied;
}

/* A vehicle IN_TRANSIT moves its trip's location; a PLANNED trip's
 * vehicle does not; an older fix (late state, or older than a phone's)
 * does not replace a newer one. */
static void
test_carrier_from_vehicles (Fixture       *f,
                            gconstpointer  data)
{
  g_autoptr(GPtrArray) states = states_new ();
  g_autoptr(GPtrArray) phones = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_carrier_location_free);
  g_autofree char *t10 = g_strdup_printf ("1.5 2.5 vehicle %" G_GINT64_FORMAT, MARCH_1 + 10 * SECOND_US);
  g_autofree char *t30 = g_strdup_printf ("7.5 8.5 phone %" G_GINT64_FORMAT, MARCH_1 + 30 * SECOND_US);

  add_trip (f, "T1", "V1", "IN_TRANSIT");
  add_trip (f, "T2", "V2", "PLANNED");
  add_trip (f, "T3", "V1", "COMPLETED");
  g_ptr_array_add (states, state_new ("V1", MARCH_1 + 10 * SECOND_US, 1.5, 2.5));
  g_ptr_array_add (states, state_new ("V2", MARCH_1 + 10 * SECOND_US, 3.5, 4.5));
  write_batch (f, NULL, states);
  assert_location (f, "T1", t10);
  assert_location (f, "T2", NULL);
  assert_location (f, "T3", NULL);

  /* A late state: older than the stored location. */
  write_state (f, "V1", MARCH_1 + 5 * SECOND_US, 9);
  assert_location (f, "T1", t10);

  /* The phone's newer fix wins; then a vehicle fix older than it loses. */
  g_ptr_array_add (phones, phone_location ("T1", MARCH_1 + 30 * SECOND_US, 7.5, 8.5));
  g_assert_cmpuint (apply_phones (f, phones), ==, 1);
  assert_location (f, "T1", t30);
  write_state (f, "V1", MARCH_1 + 20 * SECOND_US, 9);
  assert_location (f, "T1", t30);

  /* Once the trip is in transit, the next fix counts. */
  wb_test_pg_int (f->conn, "WITH u AS (UPDATE trips SET status = 'IN_TRANSIT' WHERE id = $1 RETURNING 1)"
                           " SELECT count(*) FROM u", "T2");
  write_state (f, "V2", MARCH_1 + 40 * SECOND_US, 6.25);
  {
    g_autofree char *t40 = g_strdup_printf ("6.25 20 vehicle %" G_GINT64_FORMAT, MARCH_1 + 40 * SECOND_US);

    assert_location (f, "T2", t40);
  }
}

/* Phone locations: new trips are added, newer replace, older and equal do
 * not, and the newest wins within one batch. */
static void
test_carrier_from_phones (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(GPtrArray) first = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_carrier_location_free);
  g_autoptr(GPtrArray) second = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_carrier_location_free);
  g_autofree char *a = g_strdup_printf ("1 1 phone %" G_GINT64_FORMAT, MARCH_1 + 10 * SECOND_US);
  g_autofree char *b = g_strdup_printf ("2.5 2 phone %" G_GINT64_FORMAT, MARCH_1 + 20 * SECOND_US);
  g_autofree char *c = g_strdup_printf ("5 5 phone %" G_GINT64_FORMAT, MARCH_1 + 50 * SECOND_US);
  g_autoptr(GError) error = NULL;
  guint applied = G_MAXUINT;

  g_ptr_array_add (first, phone_location ("trip-a", MARCH_1 + 10 * SECOND_US, 1, 1));
  g_ptr_array_add (first, phone_location ("trip-b", MARCH_1 + 10 * SECOND_US, 2, 2));
  g_ptr_array_add (first, phone_location ("trip-b", MARCH_1 + 20 * SECOND_US, 2.5, 2));
  g_ptr_array_add (first, phone_location ("trip-b", MARCH_1 + 15 * SECOND_US, 2.25, 2));
  g_assert_cmpuint (apply_phones (f, first), ==, 2);
  assert_location (f, "trip-a", a);
  assert_location (f, "trip-b", b);

  g_ptr_array_add (second, phone_location ("trip-a", MARCH_1 + 5 * SECOND_US, 9, 9));    /* older */
  g_ptr_array_add (second, phone_location ("trip-b", MARCH_1 + 20 * SECOND_US, 9, 9));   /* same time */
  g_ptr_array_add (second, phone_location ("trip-c", MARCH_1 + 50 * SECOND_US, 5, 5));
  g_assert_cmpuint (apply_phones (f, second), ==, 1);
  assert_location (f, "trip-a", a);
  assert_location (f, "trip-b", b);
  assert_location (f, "trip-c", c);

  wb_carrier_locations_apply (f->conn, NULL, 0, &applied, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (applied, ==, 0);
}

static void
test_carrier_decode_good (void)
{
  static const char full[] =
    "{\"trip_id\":\"TRIP-1 ü\",\"lat\":53.9,\"lng\":-27.5,\"recorded_at\":\"2024-03-01T12:00:00.250+03:00\","
    "\"driver_id\":\"D-1\",\"accuracy\":12.5,\"battery\":80}";
  static const char minimal[] =
    "{\"trip_id\":\"t\",\"lat\":-90,\"lng\":180,\"recorded_at\":\"2024-03-01T00:00:00Z\","
    "\"driver_id\":null,\"accuracy\":null}";
  g_autoptr(GError) error = NULL;
  g_autoptr(WbCarrierLocation) a = wb_carrier_location_from_json (full, strlen (full), &error);
  g_autoptr(WbCarrierLocation) b = NULL;

  g_assert_no_error (error);
  g_assert_cmpstr (a->trip_id, ==, "TRIP-1 ü");
  g_assert_cmpfloat (a->lat, ==, 53.9);
  g_assert_cmpfloat (a->lng, ==, -27.5);
  g_assert_cmpint (a->recorded_at, ==, MARCH_1 + 9 * 3600 * SECOND_US + 250000);
  g_assert_cmpstr (a->driver_id, ==, "D-1");
  g_assert_cmpfloat (a->accuracy, ==, 12.5);

  b = wb_carrier_location_from_json (minimal, strlen (minimal), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (b->trip_id, ==, "t");
  g_assert_cmpfloat (b->lat, ==, -90);
  g_assert_cmpfloat (b->lng, ==, 180);
  g_assert_cmpint (b->recorded_at, ==, MARCH_1);
  g_assert_null (b->driver_id);
  g_assert_true (isnan (b->accuracy));
}

static void
test_carrier_decode_bad (void)
{
  g_autofree char *long_id = g_strnfill (129, 'x');
  g_autofree char *longest_id = g_strnfill (128, 'x');
  g_autofree char *too_long = g_strdup_printf ("{\"trip_id\":\"%s\",\"lat\":1,\"lng\":1,"
                                               "\"recorded_at\":\"2024-03-01T00:00:00Z\"}", long_id);
  g_autofree char *longest = g_strdup_printf ("{\"trip_id\":\"%s\",\"lat\":1,\"lng\":1,"
                                              "\"recorded_at\":\"2024-03-01T00:00:00Z\"}", longest_id);
#define REST ",\"lat\":1,\"lng\":2,\"recorded_at\":\"2024-03-01T00:00:00Z\"}"
#define BODY(trip, lat, lng, at, extra) \
  "{\"trip_id\":" trip ",\"lat\":" lat ",\"lng\":" lng ",\"recorded_at\":" at extra "}"
  const struct { const char *json; const char *prefix; } cases[] = {
    { "", "body: " },
    { "not json", "body: " },
    { "[1,2]", "body: " },
    { "\"text\"", "body: " },
    { "{\"lat\":1,\"lng\":2,\"recorded_at\":\"2024-03-01T00:00:00Z\"}", "trip_id: " },
    { "{\"trip_id\":null" REST, "trip_id: " },
    { "{\"trip_id\":42" REST, "trip_id: " },
    { "{\"trip_id\":\"\"" REST, "trip_id: " },
    { too_long, "trip_id: " },
    { "{\"trip_id\":\"t\",\"lng\":2,\"recorded_at\":\"2024-03-01T00:00:00Z\"}", "lat: " },
    { BODY ("\"t\"", "\"1\"", "2", "\"2024-03-01T00:00:00Z\"", ""), "lat: " },
    { BODY ("\"t\"", "true", "2", "\"2024-03-01T00:00:00Z\"", ""), "lat: " },
    { BODY ("\"t\"", "90.0001", "2", "\"2024-03-01T00:00:00Z\"", ""), "lat: " },
    { BODY ("\"t\"", "-91", "2", "\"2024-03-01T00:00:00Z\"", ""), "lat: " },
    { "{\"trip_id\":\"t\",\"lat\":1,\"recorded_at\":\"2024-03-01T00:00:00Z\"}", "lng: " },
    { BODY ("\"t\"", "1", "180.5", "\"2024-03-01T00:00:00Z\"", ""), "lng: " },
    { BODY ("\"t\"", "1", "-181", "\"2024-03-01T00:00:00Z\"", ""), "lng: " },
    { BODY ("\"t\"", "1", "[]", "\"2024-03-01T00:00:00Z\"", ""), "lng: " },
    { "{\"trip_id\":\"t\",\"lat\":1,\"lng\":2}", "recorded_at: " },
    { BODY ("\"t\"", "1", "2", "1709251200", ""), "recorded_at: " },
    { BODY ("\"t\"", "1", "2", "\"1709251200\"", ""), "recorded_at: " },
    { BODY ("\"t\"", "1", "2", "\"2024-03-01T00:00:00\"", ""), "recorded_at: " },
    { BODY ("\"t\"", "1", "2", "\"2024-02-30T00:00:00Z\"", ""), "recorded_at: " },
    { BODY ("\"t\"", "1", "2", "\"yesterday\"", ""), "recorded_at: " },
    { BODY ("\"t\"", "1", "2", "\"2024-03-01T00:00:00Z\"", ",\"driver_id\":\"a b\""), "driver_id: " },
    { BODY ("\"t\"", "1", "2", "\"2024-03-01T00:00:00Z\"", ",\"driver_id\":\"\""), "driver_id: " },
    { BODY ("\"t\"", "1", "2", "\"2024-03-01T00:00:00Z\"", ",\"driver_id\":7"), "driver_id: " },
    { BODY ("\"t\"", "1", "2", "\"2024-03-01T00:00:00Z\"", ",\"accuracy\":-0.5"), "accuracy: " },
    { BODY ("\"t\"", "1", "2", "\"2024-03-01T00:00:00Z\"", ",\"accuracy\":\"5\""), "accuracy: " },
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(WbCarrierLocation) accepted = wb_carrier_location_from_json (longest, strlen (longest), &error);

  /* The limit itself is fine. */
  g_assert_no_error (error);
  g_assert_nonnull (accepted);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) case_error = NULL;
      g_autoptr(WbCarrierLocation) location = NULL;

      g_test_message ("%s", cases[i].json);
      location = wb_carrier_location_from_json (cases[i].json, strlen (cases[i].json), &case_error);
      g_assert_null (location);
      g_assert_true (case_error != NULL && case_error->domain == WB_JSON_ERROR);
      g_assert_true (g_str_has_prefix (case_error->message, cases[i].prefix));
    }
#undef BODY
#undef REST
}

/* ---- maintenance ---------------------------------------------------------------- */

static char *
partition_name (gint64 day_start)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_unix_utc (day_start / G_USEC_PER_SEC);

  return g_date_time_format (time, "positions_%Y%m%d");
}

static gboolean
partition_exists (Fixture *f,
                  gint64   day_start)
{
  g_autofree char *name = partition_name (day_start);

  return wb_test_pg_int (f->conn, "SELECT count(*) FROM pg_inherits WHERE inhparent = 'positions'::regclass"
                                  " AND inhrelid::regclass::text = $1", name) == 1;
}

/* Old partitions come from writing old positions with no retention; then
 * maintenance with a retention drops them and creates the days ahead. */
static void
test_maintain (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(WbPositionHistory) kept = wb_position_history_new (5, 2);
  g_autoptr(GPtrArray) old = batch_new ();
  g_autoptr(GPtrArray) late = batch_new ();
  g_autoptr(GError) error = NULL;
  gint64 now = g_get_real_time ();
  gint64 today = now - now % DAY_US;
  guint created = G_MAXUINT, dropped = G_MAXUINT;
  guint expired = G_MAXUINT;

  for (int days_ago = 8; days_ago >= 1; days_ago--)
    add_position (f, old, position_new ("d1", today - days_ago * DAY_US + 3600 * SECOND_US, 1, 1), "V1");
  g_assert_cmpuint (write_batch (f, old, NULL), ==, 8);
  g_assert_true (partition_exists (f, today - 8 * DAY_US));

  g_assert_true (wb_position_history_maintain (kept, f->conn, now, &created, &dropped, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (created, ==, 3);       /* today and two days ahead */
  g_assert_cmpuint (dropped, ==, 3);       /* 8, 7 and 6 days ago */
  for (int day = -8; day <= 3; day++)
    {
      g_test_message ("day %+d", day);
      g_assert_cmpint (partition_exists (f, today + day * DAY_US), ==, day >= -5 && day <= 2);
    }
  g_assert_cmpint (count_positions (f), ==, 5);

  /* Again: nothing to do. */
  g_assert_true (wb_position_history_maintain (kept, f->conn, now, &created, &dropped, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (created, ==, 0);
  g_assert_cmpuint (dropped, ==, 0);

  /* Past the retention a position is counted, not stored, and makes no
   * partition. */
  add_position (f, late, position_new ("d9", today - 7 * DAY_US, 1, 1), "V1");
  add_position (f, late, position_new ("d9", today - 5 * DAY_US, 1, 1), "V1");
  g_assert_cmpuint (write_full (kept, f->conn, late, NULL, &expired), ==, 1);
  g_assert_cmpuint (expired, ==, 1);
  g_assert_false (partition_exists (f, today - 7 * DAY_US));
}

/* A partition the cache believes in but someone dropped is made again. */
static void
test_write_dropped_partition (Fixture       *f,
                              gconstpointer  data)
{
  g_autoptr(GPtrArray) first = batch_new ();
  g_autoptr(GPtrArray) second = batch_new ();

  add_position (f, first, position_new ("d1", MARCH_1, 1, 1), "V1");
  g_assert_cmpuint (write_batch (f, first, NULL), ==, 1);
  wb_test_pg_run (f->conn, "DROP TABLE positions_20240301");
  add_position (f, second, position_new ("d1", MARCH_1 + 1000, 1, 1), "V1");
  g_assert_cmpuint (write_batch (f, second, NULL), ==, 1);
  g_assert_true (partition_exists (f, MARCH_1));
}

/* ---- tracks ------------------------------------------------------------------------ */

static GArray *
read_track (Fixture    *f,
            const char *vehicle_id,
            gint64      from,
            gint64      to,
            guint       max_points)
{
  g_autoptr(GError) error = NULL;
  GArray *points = g_array_new (FALSE, FALSE, sizeof (WbTrackPoint));

  g_assert_true (wb_position_history_read_track (f->conn, vehicle_id, from, to, max_points, points, &error));
  g_assert_no_error (error);
  return points;
}

/* One vehicle's points only, in [from, to), oldest first, with their
 * values; max_points cuts the track. */
static void
test_track (Fixture       *f,
            gconstpointer  data)
{
  g_autoptr(GPtrArray) batch = batch_new ();
  g_autoptr(GArray) points = NULL;
  g_autoptr(GArray) cut = NULL;
  g_autoptr(GArray) none = NULL;

  /* Written newest first, across a day boundary, two vehicles interleaved. */
  for (int i = 9; i >= 0; i--)
    {
      WbPosition *mine = position_new ("d1", MARCH_1 + DAY_US - 5 * 60 * SECOND_US + i * 60 * SECOND_US,
                                       50 + i * 0.125, 30 - i * 0.125);
      WbPosition *other = position_new ("d2", mine->device_time, 0, 0);

      mine->speed_kmh = i % 3 == 0 ? NAN : i * 10.5;
      mine->ignition = i % 3 - 1;
      add_position (f, batch, mine, "V1");
      add_position (f, batch, other, "V2");
    }
  g_assert_cmpuint (write_batch (f, batch, NULL), ==, 20);

  /* Points 2 (inclusive) to 8 (exclusive). */
  points = read_track (f, "V1", MARCH_1 + DAY_US - 3 * 60 * SECOND_US, MARCH_1 + DAY_US + 3 * 60 * SECOND_US, 0);
  g_assert_cmpuint (points->len, ==, 6);
  for (guint n = 0; n < points->len; n++)
    {
      const WbTrackPoint *point = &g_array_index (points, WbTrackPoint, n);
      int i = n + 2;

      g_assert_cmpint (point->time, ==, MARCH_1 + DAY_US - 5 * 60 * SECOND_US + i * 60 * SECOND_US);
      g_assert_cmpfloat (point->lat, ==, 50 + i * 0.125);
      g_assert_cmpfloat (point->lon, ==, 30 - i * 0.125);
      assert_same_double (point->speed_kmh, i % 3 == 0 ? NAN : i * 10.5);
      g_assert_cmpint (point->ignition, ==, i % 3 - 1);
    }

  cut = read_track (f, "V1", MARCH_1, MARCH_1 + 2 * DAY_US, 3);
  g_assert_cmpuint (cut->len, ==, 3);
  g_assert_cmpint (g_array_index (cut, WbTrackPoint, 0).time, ==, MARCH_1 + DAY_US - 5 * 60 * SECOND_US);
  none = read_track (f, "V3", MARCH_1, MARCH_1 + 2 * DAY_US, 0);
  g_assert_cmpuint (none->len, ==, 0);
}

#define MONTH_POINTS 259200   /* 30 days at one point per 10 s */

/* A month at 10 s reads back whole and in order; the time is reported,
 * not asserted. */
static void
test_track_month (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GArray) points = NULL;
  gint64 start = MARCH_1;
  gint64 started;
  gdouble seconds;

  for (guint first = 0; first < MONTH_POINTS; first += 5000)
    {
      g_autoptr(GPtrArray) batch = batch_new ();

      for (guint i = first; i < MIN (first + 5000, MONTH_POINTS); i++)
        {
          WbPosition *position = position_new ("d1", start + i * 10 * SECOND_US, 50 + i * 1e-6, 30);

          position->speed_kmh = i % 120;
          position->ignition = 1;
          add_position (f, batch, position, "V1");
        }
      write_batch (f, batch, NULL);
    }
  wb_test_pg_run (f->conn, "ANALYZE positions");

  started = g_get_monotonic_time ();
  points = read_track (f, "V1", start, start + 30 * DAY_US, 0);
  seconds = (g_get_monotonic_time () - started) / 1e6;
  g_test_message ("read %u track points in %.3f s", points->len, seconds);

  g_assert_cmpuint (points->len, ==, MONTH_POINTS);
  for (guint i = 0; i < points->len; i++)
    if (g_array_index (points, WbTrackPoint, i).time != start + (gint64) i * 10 * SECOND_US)
      g_assert_cmpint (g_array_index (points, WbTrackPoint, i).time, ==, start + (gint64) i * 10 * SECOND_US);
  g_assert_cmpfloat (g_array_index (points, WbTrackPoint, MONTH_POINTS - 1).speed_kmh, ==, (MONTH_POINTS - 1) % 120);
}

/* ---- throughput (-m perf) ------------------------------------------------------- */

#define PERF_ROWS   100000
#define PERF_BATCH  2000
#define PERF_FLEET  500

static GPtrArray *
perf_batches (Fixture   *f,
              GPtrArray *state_batches)
{
  GPtrArray *batches = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  gint64 start = g_get_real_time () - DAY_US / 2;

  for (guint first = 0; first < PERF_ROWS; first += PERF_BATCH)
    {
      GPtrArray *batch = batch_new ();
      GPtrArray *states = states_new ();

      for (guint i = first; i < first + PERF_BATCH; i++)
        {
          g_autofree char *device = g_strdup_printf ("dev-%u", i % PERF_FLEET);
          WbPosition *position = position_new (device, start + (i / PERF_FLEET) * SECOND_US, 53.9 + i * 1e-7,
                                               27.5 + i * 1e-7);

          position->speed_kmh = i % 90;
          position->heading = i % 360;
          position->ignition = 1;
          position->odometer = 1000.0 * i;
          add_position (f, batch, position, i % 2 ? "V1" : "V2");
          if (i >= first + PERF_BATCH - PERF_FLEET)
            g_ptr_array_add (states, state_new (device, position->device_time, position->lat, position->lon));
        }
      g_ptr_array_add (batches, batch);
      g_ptr_array_add (state_batches, states);
    }
  return batches;
}

static char *
copy_time (gint64 us)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_unix_utc (us / G_USEC_PER_SEC);
  g_autofree char *seconds = g_date_time_format (time, "%Y-%m-%d %H:%M:%S");

  return g_strdup_printf ("%s.%06d+00", seconds, (int) (us % G_USEC_PER_SEC));
}

/* The same rows as COPY's text format, as `COPY positions FROM STDIN`
 * would read them from a file. */
static GString *
perf_copy_text (GPtrArray *batch)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < batch->len; i++)
    {
      const WbEnrichedPosition *e = g_ptr_array_index (batch, i);
      const WbPosition *p = e->position;
      g_autofree char *dt = copy_time (p->device_time);
      g_autofree char *st = copy_time (p->server_time);

      g_string_append_printf (out, "%s\t%s\t%.17g\t%.17g\t%.17g\t%g\t%g\t\\N\t\\N\t\\N\tt\t%s\t%s\t%s\t%s\t%s\t{}\n",
                              dt, st, p->lat, p->lon, p->odometer, p->speed_kmh, p->heading, p->device_id,
                              e->enrichment->vehicle_id, e->enrichment->driver_id ? e->enrichment->driver_id : "\\N",
                              e->enrichment->company_id ? e->enrichment->company_id : "\\N",
                              wb_protocol_to_string (p->protocol));
    }
  return out;
}

static void
string_free (gpointer data)
{
  g_string_free (data, TRUE);
}

static void
bare_copy (PGconn  *conn,
           GString *text)
{
  g_autoptr(PGresult) started = PQexec (conn, "COPY positions FROM STDIN");
  PGresult *result;

  g_assert_cmpint (PQresultStatus (started), ==, PGRES_COPY_IN);
  g_assert_cmpint (PQputCopyData (conn, text->str, text->len), ==, 1);
  g_assert_cmpint (PQputCopyEnd (conn, NULL), ==, 1);
  while ((result = PQgetResult (conn)) != NULL)
    {
      g_assert_cmpint (PQresultStatus (result), ==, PGRES_COMMAND_OK);
      PQclear (result);
    }
}

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

static double
median3 (double *values)
{
  qsort (values, 3, sizeof (double), compare_doubles);
  return values[1];
}

static void
truncate_positions (Fixture *f)
{
  wb_test_pg_run (f->conn, "TRUNCATE positions, vehicle_states");
  wb_test_pg_run (f->conn, "CHECKPOINT");
}

/* write() in batches of 2000 against bare COPY of the same rows, all at
 * once and per batch: rows per second, medians of three runs. */
static void
test_perf_write (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GPtrArray) states = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  g_autoptr(GPtrArray) batches = NULL;
  g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func (string_free);
  g_autoptr(GString) all = g_string_new (NULL);
  double write_rate[3], write_no_states_rate[3], copy_all_rate[3], copy_batch_rate[3];

  if (!g_test_perf ())
    {
      g_test_skip ("a benchmark: run with -m perf");
      return;
    }
  batches = perf_batches (f, states);
  for (guint b = 0; b < batches->len; b++)
    {
      GString *text = perf_copy_text (g_ptr_array_index (batches, b));

      g_string_append_len (all, text->str, text->len);
      g_ptr_array_add (texts, text);
    }
  /* Partitions exist before any run, for all of them alike. */
  write_batch (f, g_ptr_array_index (batches, 0), NULL);

  for (int run = 0; run < 3; run++)
    {
      gint64 t0;

      truncate_positions (f);
      t0 = g_get_monotonic_time ();
      for (guint b = 0; b < batches->len; b++)
        g_assert_cmpuint (write_batch (f, g_ptr_array_index (batches, b), g_ptr_array_index (states, b)), ==, PERF_BATCH);
      write_rate[run] = PERF_ROWS / ((g_get_monotonic_time () - t0) / 1e6);

      truncate_positions (f);
      t0 = g_get_monotonic_time ();
      for (guint b = 0; b < batches->len; b++)
        g_assert_cmpuint (write_batch (f, g_ptr_array_index (batches, b), NULL), ==, PERF_BATCH);
      write_no_states_rate[run] = PERF_ROWS / ((g_get_monotonic_time () - t0) / 1e6);

      truncate_positions (f);
      t0 = g_get_monotonic_time ();
      for (guint b = 0; b < texts->len; b++)
        bare_copy (f->conn, g_ptr_array_index (texts, b));
      copy_batch_rate[run] = PERF_ROWS / ((g_get_monotonic_time () - t0) / 1e6);

      truncate_positions (f);
      t0 = g_get_monotonic_time ();
      bare_copy (f->conn, all);
      copy_all_rate[run] = PERF_ROWS / ((g_get_monotonic_time () - t0) / 1e6);
      g_assert_cmpint (count_positions (f), ==, PERF_ROWS);
    }

  g_test_message ("write() with %u states per batch: %.0f rows/s", PERF_FLEET, median3 (write_rate));
  g_test_message ("write() without states: %.0f rows/s", median3 (write_no_states_rate));
  g_test_message ("bare COPY per %u rows: %.0f rows/s", PERF_BATCH, median3 (copy_batch_rate));
  g_test_message ("bare COPY of all %u rows: %.0f rows/s", PERF_ROWS, median3 (copy_all_rate));
  g_test_message ("ratio write()/COPY all: %.2f, write()/COPY per batch: %.2f",
                  median3 (write_rate) / median3 (copy_all_rate), median3 (write_rate) / median3 (copy_batch_rate));
}

/* ---- the fleet store's JSON ------------------------------------------------------ */

static void
on_store_done (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static GAsyncResult *
wait_for (GAsyncResult **slot)
{
  while (*slot == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *slot;
}

static JsonNode *
parse_strictly (const char *json)
{
  g_autoptr(GError) error = NULL;
  JsonNode *root;

  g_test_message ("%s", json);
  root = wb_json_parse (json, strlen (json), NULL, &error);
  g_assert_no_error (error);
  return root;
}

/* A vehicle state of 1e20 km/h and unknown or infinite figures reaches
 * GET /vehicles/{id} as JSON numbers and nulls (json-glib 1.6 would have
 * written "1e+20.0"), and a cursor with a quote and a control character is
 * a JSON string. */
static void
test_store_numbers (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(WbDbPool) pool = wb_db_pool_new (f->conninfo, 1);
  g_autoptr(WbFleetStore) store = wb_fleet_store_new (pool, f->index);
  g_autoptr(GPtrArray) states = states_new ();
  g_autoptr(GAsyncResult) got = NULL, listed = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *vehicle = NULL, *page = NULL;
  g_autoptr(JsonNode) vehicle_root = NULL, page_root = NULL;
  WbFleetQuery query = { .kind = WB_FLEET_KIND_VEHICLE, .limit = 1 };
  WbVehicleState *state = state_new ("V1", MARCH_1, 53.9, 27.56);
  JsonObject *current;

  wb_test_pg_run (f->conn, "INSERT INTO vehicles (id, plate, version) VALUES ('V1', 'AB 123', 1),"
                           " (E'A\"\\x01', 'CD 456', 1)");
  state->speed_kmh = 1e20;
  state->heading = NAN;
  state->altitude = INFINITY;
  state->fuel = -INFINITY;
  g_ptr_array_add (states, state);
  write_batch (f, NULL, states);

  wb_fleet_store_get_async (store, WB_FLEET_KIND_VEHICLE, "V1", NULL, on_store_done, &got);
  vehicle = wb_fleet_store_get_finish (store, wait_for (&got), &error);
  g_assert_no_error (error);
  vehicle_root = parse_strictly (vehicle);
  current = json_object_get_object_member (json_node_get_object (vehicle_root), "currentState");
  g_assert_nonnull (current);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (current, "speed"), 1e20, 1e13);
  g_assert_true (json_object_get_null_member (current, "heading"));
  g_assert_true (json_object_get_null_member (current, "altitude"));
  g_assert_true (json_object_get_null_member (current, "fuel"));
  g_assert_cmpfloat (json_object_get_double_member (current, "lat"), ==, 53.9);

  wb_fleet_store_list_async (store, &query, NULL, on_store_done, &listed);
  page = wb_fleet_store_list_finish (store, wait_for (&listed), &error);
  g_assert_no_error (error);
  page_root = parse_strictly (page);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (page_root), "nextCursor"), ==, "A\"\x01");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func) g_test_add ("/positions/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("write/round-trip", test_write_round_trip);
  ADD ("write/partitions", test_write_partitions);
  ADD ("write/attributes-text", test_write_attributes_text);
  ADD ("write/redelivered", test_write_redelivered);
  ADD ("write/repeated-in-batch", test_write_repeated_in_batch);
  ADD ("write/dropped-partition", test_write_dropped_partition);
  ADD ("states/load", test_states_load);
  ADD ("states/newer-wins", test_states_newer_wins);
  ADD ("states/store-numbers", test_store_numbers);
  ADD ("carrier/from-vehicles", test_carrier_from_vehicles);
  ADD ("carrier/from-phones", test_carrier_from_phones);
  ADD ("maintain", test_maintain);
  ADD ("track/range", test_track);
  ADD ("track/month", test_track_month);
  ADD ("perf/write-vs-copy", test_perf_write);
#undef ADD
  g_test_add_func ("/positions/carrier/decode-good", test_carrier_decode_good);
  g_test_add_func ("/positions/carrier/decode-bad", test_carrier_decode_bad);

  return g_test_run ();
}
