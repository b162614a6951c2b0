// SPDX-License-Identifier: GPL-3.0-or-later
/* The gateway's memory: the spatial index (enter, leave, move across
 * cells, filters, bbox validation), the subscription index and the view
 * diff on a pan, the replay window and the coalescing outbox. No daemon:
 * everything here is in-process data structures. */

#include "config.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "wb-json.h"
#include "wb-live-index-private.h"
#include "wb-live-outbox.h"
#include "wb-live-subscriptions.h"
#include "wb-replay-window.h"

#define SECOND_US G_USEC_PER_SEC

/* Minsk, around 53.9°N 27.56°E; one cell is 0.05°. */
#define CITY_LAT 53.90
#define CITY_LON 27.56

static WbLiveVehicle *
make_vehicle (const char *vehicle_id,
              const char *company_id,
              double      lon,
              double      lat,
              const char *trip_id)
{
  WbLiveVehicle *vehicle = wb_live_vehicle_new (vehicle_id);

  vehicle->device_id = g_strconcat ("dev-", vehicle_id, NULL);
  vehicle->company_id = g_strdup (company_id);
  vehicle->trip_id = g_strdup (trip_id);
  vehicle->lon = lon;
  vehicle->lat = lat;
  vehicle->state = WB_LIVE_STATE_MOVING;
  return vehicle;
}

/* Puts a vehicle in the index and drops the previous state. */
static void
put (WbLiveIndex *index,
     const char  *vehicle_id,
     const char  *company_id,
     double       lon,
     double       lat,
     const char  *trip_id)
{
  g_autoptr(WbLiveVehicle) vehicle = make_vehicle (vehicle_id, company_id, lon, lat, trip_id);
  g_autoptr(WbLiveVehicle) old_state = wb_live_index_update (index, vehicle);
}

static int
compare_ids (gconstpointer a,
             gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* The ids a query answers, sorted and joined by ",", for short asserts. */
static char *
ids_of (GPtrArray *vehicles)
{
  g_autoptr(GPtrArray) ids = g_ptr_array_new ();

  for (guint i = 0; i < vehicles->len; i++)
    g_ptr_array_add (ids, ((WbLiveVehicle *) g_ptr_array_index (vehicles, i))->vehicle_id);
  g_ptr_array_sort (ids, compare_ids);
  g_ptr_array_add (ids, NULL);
  return g_strjoinv (",", (char **) ids->pdata);
}

static char *
query_ids (WbLiveIndex       *index,
           const WbLiveQuery *query)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) vehicles = wb_live_index_query (index, query, &error);

  g_assert_no_error (error);
  return ids_of (vehicles);
}

static WbLiveBbox
box_around (double lon,
            double lat,
            double half_degrees)
{
  return (WbLiveBbox) { lon - half_degrees, lat - half_degrees, lon + half_degrees, lat + half_degrees };
}

/* ---- the vehicle index ---------------------------------------------------- */

static void
test_index_enter_leave_move (void)
{
  g_autoptr(WbLiveIndex) index = wb_live_index_new ();
  WbLiveQuery query = { .has_bbox = TRUE, .bbox = box_around (CITY_LON, CITY_LAT, 0.02) };
  WbLiveQuery far_query = { .has_bbox = TRUE };
  g_autofree char *inside = NULL, *after_move = NULL, *after_return = NULL, *after_remove = NULL;
  g_autofree char *at_destination = NULL;
  g_autoptr(WbLiveVehicle) removed = NULL;
  g_autoptr(WbLiveVehicle) previous = NULL;
  g_autoptr(WbLiveVehicle) moved = NULL;

  put (index, "v1", "c1", CITY_LON, CITY_LAT, NULL);
  put (index, "v2", "c1", CITY_LON + 0.01, CITY_LAT, NULL);
  put (index, "far", "c1", CITY_LON + 3, CITY_LAT, NULL);
  inside = query_ids (index, &query);
  g_assert_cmpstr (inside, ==, "v1,v2");

  /* v1 leaves: several cells east. */
  moved = make_vehicle ("v1", "c1", CITY_LON + 1.0, CITY_LAT, NULL);
  previous = wb_live_index_update (index, moved);
  g_assert_nonnull (previous);
  g_assert_cmpfloat (previous->lon, ==, CITY_LON);
  after_move = query_ids (index, &query);
  g_assert_cmpstr (after_move, ==, "v2");
  /* ... and is found where it went. */
  far_query.bbox = box_around (CITY_LON + 1.0, CITY_LAT, 0.01);
  at_destination = query_ids (index, &far_query);
  g_assert_cmpstr (at_destination, ==, "v1");
  g_assert_cmpuint (wb_live_index_get_size (index), ==, 3);

  /* And comes back: found in its new cell, not twice. */
  put (index, "v1", "c1", CITY_LON - 0.015, CITY_LAT + 0.015, NULL);
  after_return = query_ids (index, &query);
  g_assert_cmpstr (after_return, ==, "v1,v2");

  removed = wb_live_index_remove (index, "v2");
  g_assert_nonnull (removed);
  after_remove = query_ids (index, &query);
  g_assert_cmpstr (after_remove, ==, "v1");
  g_assert_null (wb_live_index_lookup (index, "v2"));
  g_assert_cmpuint (wb_live_index_get_size (index), ==, 2);
}

/* Many vehicles moving at random between cells: the grid answers exactly
 * what a scan of every vehicle answers, whatever the boxes. */
static void
test_index_agrees_with_scan (void)
{
  g_autoptr(WbLiveIndex) index = wb_live_index_new ();
  GRand *rand = g_rand_new_with_seed (42);

  for (guint round = 0; round < 5000; round++)
    {
      g_autofree char *id = g_strdup_printf ("v%u", g_rand_int_range (rand, 0, 500));

      put (index, id, "c", CITY_LON + g_rand_double_range (rand, -0.5, 0.5),
           CITY_LAT + g_rand_double_range (rand, -0.5, 0.5), NULL);
    }
  for (guint round = 0; round < 50; round++)
    {
      double half = g_rand_double_range (rand, 0.001, 0.4);
      WbLiveQuery query = {
        .has_bbox = TRUE,
        .bbox = box_around (CITY_LON + g_rand_double_range (rand, -0.5, 0.5),
                            CITY_LAT + g_rand_double_range (rand, -0.5, 0.5), half),
      };
      g_autofree char *grid = query_ids (index, &query);
      g_autoptr(GPtrArray) scanned = _wb_live_index_query_linear (index, &query);
      g_autofree char *scan = ids_of (scanned);

      g_assert_cmpstr (grid, ==, scan);
    }
  g_assert_cmpuint (wb_live_index_get_size (index), ==, 500);
  g_rand_free (rand);
}

/* A late position (older fix) never replaces a newer state. */
static void
test_index_update_if_newer (void)
{
  g_autoptr(WbLiveIndex) index = wb_live_index_new ();
  g_autoptr(WbLiveVehicle) first = make_vehicle ("v", "c", CITY_LON, CITY_LAT, NULL);
  g_autoptr(WbLiveVehicle) newer = make_vehicle ("v", "c", CITY_LON + 1, CITY_LAT, NULL);
  g_autoptr(WbLiveVehicle) late = make_vehicle ("v", "c", CITY_LON + 2, CITY_LAT, NULL);
  g_autoptr(WbLiveVehicle) old_state = NULL;
  g_autoptr(WbLiveVehicle) current = NULL;

  first->fix_time = 1000;
  newer->fix_time = 2000;
  late->fix_time = 1500;
  g_assert_true (wb_live_index_update_if_newer (index, first, &old_state));
  g_assert_null (old_state);
  g_assert_true (wb_live_index_update_if_newer (index, newer, &old_state));
  g_assert_true (old_state == first);
  g_clear_pointer (&old_state, wb_live_vehicle_unref);
  g_assert_false (wb_live_index_update_if_newer (index, late, &old_state));
  g_assert_null (old_state);
  current = wb_live_index_lookup (index, "v");
  g_assert_true (current == newer);
}

typedef struct
{
  WbLiveIndex *index;
  gint         stop;
} Concurrent;

static gpointer
move_vehicles (gpointer data)
{
  Concurrent *concurrent = data;
  GRand *rand = g_rand_new_with_seed (3);

  for (guint round = 0; round < 20000; round++)
    {
      g_autofree char *id = g_strdup_printf ("v%u", round % 200);

      put (concurrent->index, id, "c", CITY_LON + g_rand_double_range (rand, -0.3, 0.3),
           CITY_LAT + g_rand_double_range (rand, -0.3, 0.3), round % 2 ? "t" : NULL);
    }
  g_atomic_int_set (&concurrent->stop, 1);
  g_rand_free (rand);
  return NULL;
}

/* Gateway threads query while the pipeline updates: every answer holds
 * states inside the box, each vehicle once. */
static void
test_index_concurrent_readers (void)
{
  g_autoptr(WbLiveIndex) index = wb_live_index_new ();
  Concurrent concurrent = { index, 0 };
  WbLiveQuery query = { .has_bbox = TRUE, .bbox = box_around (CITY_LON, CITY_LAT, 0.1) };
  GThread *writer = g_thread_new ("writer", move_vehicles, &concurrent);
  guint queries = 0;

  while (!g_atomic_int_get (&concurrent.stop) || queries == 0)
    {
      g_autoptr(GPtrArray) vehicles = wb_live_index_query (index, &query, NULL);
      g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

      for (guint i = 0; i < vehicles->len; i++)
        {
          WbLiveVehicle *vehicle = g_ptr_array_index (vehicles, i);

          g_assert_true (wb_live_bbox_contains (&query.bbox, vehicle->lon, vehicle->lat));
          g_assert_true (g_hash_table_add (seen, vehicle->vehicle_id));
        }
      queries++;
    }
  g_thread_join (writer);
  g_assert_cmpuint (wb_live_index_get_size (index), ==, 200);
}

static void
assert_bbox_refused (const WbLiveBbox *bbox,
                     const char       *words)
{
  g_autoptr(WbLiveIndex) index = wb_live_index_new ();
  WbLiveQuery query = { .has_bbox = TRUE, .bbox = *bbox };
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) vehicles = wb_live_index_query (index, &query, &error);

  g_assert_null (vehicles);
  g_assert_error (error, WB_JSON_ERROR, WB_JSON_ERROR_FIELD);
  g_assert_cmpstr (wb_json_error_get_field (error), ==, "bbox");
  g_assert_nonnull (strstr (error->message, words));
}

static void
test_bbox_validation (void)
{
  g_autoptr(GError) error = NULL;
  WbLiveBbox bbox;

  /* Inverted latitudes. */
  assert_bbox_refused (&(WbLiveBbox) { 27.0, 54.0, 28.0, 53.0 }, "minLat");
  /* Out of range. */
  assert_bbox_refused (&(WbLiveBbox) { 27.0, 53.0, 181.0, 54.0 }, "longitudes");
  assert_bbox_refused (&(WbLiveBbox) { 27.0, -91.0, 28.0, 54.0 }, "latitudes");
  assert_bbox_refused (&(WbLiveBbox) { NAN, 53.0, 28.0, 54.0 }, "longitudes");
  /* Across the antimeridian (which is also how an inverted longitude
   * pair looks). */
  assert_bbox_refused (&(WbLiveBbox) { 170.0, -20.0, -170.0, -10.0 }, "antimeridian");

  g_assert_true (wb_live_bbox_parse ("27.4,53.8,27.7,54.0", &bbox, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (bbox.min_lon, ==, 27.4);
  g_assert_cmpfloat (bbox.max_lat, ==, 54.0);
  g_assert_true (wb_live_bbox_parse ("-180,-90,180,90", &bbox, NULL));

  for (guint i = 0; i < 5; i++)
    {
      static const char * const bad[] = { "27.4,53.8,27.7", "27.4,53.8,27.7,54,1", "a,53.8,27.7,54",
                                          "27.4,,27.7,54", "179,0,-179,1" };

      g_assert_false (wb_live_bbox_parse (bad[i], &bbox, &error));
      g_assert_error (error, WB_JSON_ERROR, WB_JSON_ERROR_FIELD);
      g_assert_cmpstr (wb_json_error_get_field (error), ==, "bbox");
      g_clear_error (&error);
    }
}

/* The world's edges belong to the grid's last cells, not past them. */
static void
test_index_world_edges (void)
{
  g_autoptr(WbLiveIndex) index = wb_live_index_new ();
  WbLiveQuery east = { .has_bbox = TRUE, .bbox = { 179.9, 89.9, 180, 90 } };
  WbLiveQuery west = { .has_bbox = TRUE, .bbox = { -180, -90, -179.9, -89.9 } };
  g_autofree char *east_ids = NULL, *west_ids = NULL;
  g_autoptr(WbLiveVehicle) lost = NULL;

  put (index, "ne", "c", 180, 90, NULL);
  put (index, "sw", "c", -180, -90, NULL);
  put (index, "nowhere", "c", NAN, 0, NULL);
  east_ids = query_ids (index, &east);
  west_ids = query_ids (index, &west);
  g_assert_cmpstr (east_ids, ==, "ne");
  g_assert_cmpstr (west_ids, ==, "sw");
  /* Without a position it is found by id only. */
  lost = wb_live_index_lookup (index, "nowhere");
  g_assert_nonnull (lost);
}

static void
test_index_filters (void)
{
  g_autoptr(WbLiveIndex) index = wb_live_index_new ();
  const char *companies[] = { "c1", "c3", NULL };
  const char *vehicles[] = { "v2", "v4", "v2", "missing", NULL };
  WbLiveQuery by_company = { .company_ids = companies };
  WbLiveQuery by_vehicle = { .vehicle_ids = vehicles };
  WbLiveQuery by_state = { .has_state = TRUE, .state = WB_LIVE_STATE_OFFLINE };
  WbLiveQuery on_trip = { .trip_active = TRUE };
  WbLiveQuery nothing = { 0 };
  WbLiveQuery combined = { .has_bbox = TRUE, .bbox = box_around (CITY_LON, CITY_LAT, 0.1),
                           .company_ids = companies, .trip_active = TRUE };
  g_autoptr(WbLiveVehicle) old_state = NULL;
  g_autoptr(WbLiveVehicle) new_state = NULL;
  g_autofree char *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL, *f = NULL;

  put (index, "v1", "c1", CITY_LON, CITY_LAT, "t1");
  put (index, "v2", "c2", CITY_LON, CITY_LAT, NULL);
  put (index, "v3", "c3", CITY_LON + 5, CITY_LAT, "t3");
  put (index, "v4", "c3", CITY_LON, CITY_LAT, NULL);
  put (index, "v5", NULL, CITY_LON, CITY_LAT, "t5");
  g_assert_true (wb_live_index_set_state (index, "v4", WB_LIVE_STATE_OFFLINE, 1000, &old_state, &new_state));
  g_assert_cmpint (old_state->state, ==, WB_LIVE_STATE_MOVING);
  g_assert_cmpint (new_state->state, ==, WB_LIVE_STATE_OFFLINE);
  g_assert_cmpint (new_state->server_time, ==, 1000);
  g_assert_false (wb_live_index_set_state (index, "missing", WB_LIVE_STATE_OFFLINE, 0, NULL, NULL));

  a = query_ids (index, &by_company);
  g_assert_cmpstr (a, ==, "v1,v3,v4");
  b = query_ids (index, &by_vehicle);
  g_assert_cmpstr (b, ==, "v2,v4");
  c = query_ids (index, &by_state);
  g_assert_cmpstr (c, ==, "v4");
  d = query_ids (index, &on_trip);
  g_assert_cmpstr (d, ==, "v1,v3,v5");
  /* No filter at all: the vehicles on an active trip. */
  e = query_ids (index, &nothing);
  g_assert_cmpstr (e, ==, "v1,v3,v5");
  f = query_ids (index, &combined);
  g_assert_cmpstr (f, ==, "v1");

  /* A trip that ends takes the vehicle out of the default answer. */
  put (index, "v1", "c1", CITY_LON, CITY_LAT, NULL);
  g_clear_pointer (&e, g_free);
  e = query_ids (index, &nothing);
  g_assert_cmpstr (e, ==, "v3,v5");
}

static void
test_vehicle_json (void)
{
  g_autoptr(WbLiveVehicle) vehicle = make_vehicle ("v1", "c1", 27.5, 53.9, NULL);
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *object;

  vehicle->speed = 42.5;
  vehicle->fix_time = G_GINT64_CONSTANT (1795154400) * G_USEC_PER_SEC;
  vehicle->server_time = vehicle->fix_time + 1500000;
  vehicle->accepted_at = 123;
  vehicle->ignition = WB_LIVE_IGNITION_ON;
  wb_live_vehicle_write_json (vehicle, WB_LIVE_JSON_DEFAULT, out);
  g_assert_true (json_parser_load_from_data (parser, out->str, -1, NULL));
  object = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (object, "vehicleId"), ==, "v1");
  g_assert_cmpstr (json_object_get_string_member (object, "deviceId"), ==, "dev-v1");
  g_assert_cmpstr (json_object_get_string_member (object, "companyId"), ==, "c1");
  g_assert_true (json_object_get_null_member (object, "driverId"));
  g_assert_true (json_object_get_null_member (object, "tripId"));
  g_assert_cmpfloat (json_object_get_double_member (object, "lat"), ==, 53.9);
  g_assert_cmpfloat (json_object_get_double_member (object, "lon"), ==, 27.5);
  g_assert_cmpfloat (json_object_get_double_member (object, "speed"), ==, 42.5);
  g_assert_true (json_object_get_null_member (object, "course"));
  g_assert_cmpstr (json_object_get_string_member (object, "fixTime"), ==, "2026-11-20T06:00:00.000Z");
  g_assert_cmpstr (json_object_get_string_member (object, "serverTime"), ==, "2026-11-20T06:00:01.500Z");
  g_assert_true (json_object_get_boolean_member (object, "ignition"));
  g_assert_cmpstr (json_object_get_string_member (object, "state"), ==, "moving");
  g_assert_false (json_object_has_member (object, "acceptedAt"));

  g_string_truncate (out, 0);
  wb_live_vehicle_write_json (vehicle, WB_LIVE_JSON_ACCEPTED_AT, out);
  g_assert_true (g_str_has_suffix (out->str, ",\"acceptedAt\":123}"));

  /* A state loaded from the database has no acceptance time to measure from. */
  vehicle->accepted_at = 0;
  g_string_truncate (out, 0);
  wb_live_vehicle_write_json (vehicle, WB_LIVE_JSON_ACCEPTED_AT, out);
  g_assert_null (strstr (out->str, "acceptedAt"));
}

typedef struct
{
  WbLiveVehicle *vehicle;
  const char    *json;
} StreamJsonRun;

static gpointer
stream_json_thread (gpointer data)
{
  StreamJsonRun *run = data;

  run->json = wb_live_vehicle_get_stream_json (run->vehicle, NULL);
  return NULL;
}

/* A published state's stream JSON is written once, the same from every
 * thread, and equal to write_json()'s with acceptedAt; a copy made to
 * change gets its own. */
static void
test_vehicle_stream_json (void)
{
  g_autoptr(WbLiveVehicle) vehicle = make_vehicle ("v1", "c1", 27.5, 53.9, NULL);
  g_autoptr(WbLiveVehicle) moved = NULL;
  g_autoptr(GString) out = g_string_new (NULL);
  StreamJsonRun runs[4];
  GThread *threads[4];
  const char *json;
  gsize length = 0, moved_length = 0;

  vehicle->accepted_at = 123;
  for (guint i = 0; i < G_N_ELEMENTS (runs); i++)
    {
      runs[i] = (StreamJsonRun) { vehicle, NULL };
      threads[i] = g_thread_new ("stream-json", stream_json_thread, &runs[i]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (runs); i++)
    g_thread_join (threads[i]);
  json = wb_live_vehicle_get_stream_json (vehicle, &length);
  for (guint i = 0; i < G_N_ELEMENTS (runs); i++)
    g_assert_true (runs[i].json == json);
  wb_live_vehicle_write_json (vehicle, WB_LIVE_JSON_ACCEPTED_AT, out);
  g_assert_cmpstr (json, ==, out->str);
  g_assert_cmpuint (length, ==, out->len);

  moved = wb_live_vehicle_copy (vehicle);
  moved->lat = 54.1;
  g_assert_null (strstr (json, "54.1"));
  g_assert_nonnull (strstr (wb_live_vehicle_get_stream_json (moved, &moved_length), "\"lat\":54.1"));
  g_assert_cmpuint (moved_length, ==, strlen (moved->stream_json));
  g_assert_true (wb_live_vehicle_get_stream_json (vehicle, NULL) == json);
}

/* ---- subscriptions ---------------------------------------------------------- */

static WbLiveView *
view_around (double              lon,
             double              lat,
             double              half_degrees,
             const char * const *company_ids)
{
  WbLiveBbox bbox = box_around (lon, lat, half_degrees);

  return wb_live_view_new (&bbox, company_ids, NULL);
}

static WbLiveMatch
match_of (GArray  *matches,
          guint64  subscription_id)
{
  for (guint i = 0; i < matches->len; i++)
    if (g_array_index (matches, WbLiveSubscriptionMatch, i).subscription_id == subscription_id)
      return g_array_index (matches, WbLiveSubscriptionMatch, i).match;
  return WB_LIVE_MATCH_NONE;
}

static void
test_subscriptions_match (void)
{
  g_autoptr(WbLiveSubscriptions) subscriptions = wb_live_subscriptions_new ();
  g_autoptr(GArray) matches = g_array_new (FALSE, FALSE, sizeof (WbLiveSubscriptionMatch));
  const char *only_c2[] = { "c2", NULL };
  g_autoptr(WbLiveView) west = view_around (CITY_LON - 0.1, CITY_LAT, 0.06, NULL);
  g_autoptr(WbLiveView) east = view_around (CITY_LON + 0.1, CITY_LAT, 0.06, NULL);
  g_autoptr(WbLiveView) wide = view_around (CITY_LON, CITY_LAT, 5, NULL);
  g_autoptr(WbLiveView) east_c2 = view_around (CITY_LON + 0.1, CITY_LAT, 0.06, only_c2);
  g_autoptr(WbLiveVehicle) in_west = make_vehicle ("v1", "c1", CITY_LON - 0.1, CITY_LAT, NULL);
  g_autoptr(WbLiveVehicle) in_west_too = make_vehicle ("v1", "c1", CITY_LON - 0.08, CITY_LAT, NULL);
  g_autoptr(WbLiveVehicle) in_east = make_vehicle ("v1", "c1", CITY_LON + 0.1, CITY_LAT, NULL);

  wb_live_subscriptions_set (subscriptions, 1, west, GUINT_TO_POINTER (101));
  wb_live_subscriptions_set (subscriptions, 2, east, GUINT_TO_POINTER (102));
  wb_live_subscriptions_set (subscriptions, 3, wide, GUINT_TO_POINTER (103));
  wb_live_subscriptions_set (subscriptions, 4, east_c2, GUINT_TO_POINTER (104));
  g_assert_cmpuint (wb_live_subscriptions_get_size (subscriptions), ==, 4);

  /* First seen in the west. */
  g_assert_cmpuint (wb_live_subscriptions_match (subscriptions, NULL, in_west, matches), ==, 2);
  g_assert_cmpint (match_of (matches, 1), ==, WB_LIVE_MATCH_ENTERED);
  g_assert_cmpint (match_of (matches, 3), ==, WB_LIVE_MATCH_ENTERED);
  /* Each match carries its subscription's data. */
  for (guint i = 0; i < matches->len; i++)
    g_assert_cmpuint (GPOINTER_TO_UINT (g_array_index (matches, WbLiveSubscriptionMatch, i).data), ==,
                      100 + g_array_index (matches, WbLiveSubscriptionMatch, i).subscription_id);
  g_array_set_size (matches, 0);

  /* Moves within the west, across a cell edge: each view once. */
  g_assert_cmpuint (wb_live_subscriptions_match (subscriptions, in_west, in_west_too, matches), ==, 2);
  g_assert_cmpint (match_of (matches, 1), ==, WB_LIVE_MATCH_MOVED);
  g_assert_cmpint (match_of (matches, 3), ==, WB_LIVE_MATCH_MOVED);
  g_array_set_size (matches, 0);

  /* West to east: left one, entered the other; the c2 view sees nothing. */
  g_assert_cmpuint (wb_live_subscriptions_match (subscriptions, in_west_too, in_east, matches), ==, 3);
  g_assert_cmpint (match_of (matches, 1), ==, WB_LIVE_MATCH_LEFT);
  g_assert_cmpint (match_of (matches, 2), ==, WB_LIVE_MATCH_ENTERED);
  g_assert_cmpint (match_of (matches, 3), ==, WB_LIVE_MATCH_MOVED);
  g_assert_cmpint (match_of (matches, 4), ==, WB_LIVE_MATCH_NONE);
  g_array_set_size (matches, 0);

  /* A pan of the west view onto the east: it now follows the vehicle. */
  wb_live_subscriptions_set (subscriptions, 1, east, NULL);
  g_assert_cmpuint (wb_live_subscriptions_match (subscriptions, in_east, in_east, matches), ==, 3);
  g_assert_cmpint (match_of (matches, 1), ==, WB_LIVE_MATCH_MOVED);
  g_array_set_size (matches, 0);

  g_assert_true (wb_live_subscriptions_remove (subscriptions, 1));
  g_assert_false (wb_live_subscriptions_remove (subscriptions, 1));
  g_assert_cmpuint (wb_live_subscriptions_match (subscriptions, in_east, in_east, matches), ==, 2);
  g_assert_cmpint (match_of (matches, 1), ==, WB_LIVE_MATCH_NONE);
}

/* Random views and moves: the grid finds exactly the views a check of
 * every view finds. */
static void
test_subscriptions_agree_with_scan (void)
{
  g_autoptr(WbLiveSubscriptions) subscriptions = wb_live_subscriptions_new ();
  g_autoptr(GPtrArray) views = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_live_view_free);
  g_autoptr(GArray) matches = g_array_new (FALSE, FALSE, sizeof (WbLiveSubscriptionMatch));
  GRand *rand = g_rand_new_with_seed (7);

  for (guint i = 0; i < 300; i++)
    {
      WbLiveView *view = view_around (CITY_LON + g_rand_double_range (rand, -0.5, 0.5),
                                      CITY_LAT + g_rand_double_range (rand, -0.5, 0.5),
                                      i % 50 == 0 ? 2.0 : g_rand_double_range (rand, 0.01, 0.2), NULL);

      g_ptr_array_add (views, view);
      wb_live_subscriptions_set (subscriptions, i, view, NULL);
    }
  for (guint round = 0; round < 500; round++)
    {
      g_autoptr(WbLiveVehicle) from = make_vehicle ("v", "c", CITY_LON + g_rand_double_range (rand, -0.6, 0.6),
                                                    CITY_LAT + g_rand_double_range (rand, -0.6, 0.6), NULL);
      g_autoptr(WbLiveVehicle) to = make_vehicle ("v", "c", from->lon + g_rand_double_range (rand, -0.1, 0.1),
                                                  from->lat + g_rand_double_range (rand, -0.1, 0.1), NULL);
      guint expected = 0;

      g_array_set_size (matches, 0);
      wb_live_subscriptions_match (subscriptions, from, to, matches);
      for (guint i = 0; i < views->len; i++)
        {
          WbLiveMatch match = wb_live_view_classify (g_ptr_array_index (views, i), from, to);

          g_assert_cmpint (match_of (matches, i), ==, match);
          expected += match != WB_LIVE_MATCH_NONE;
        }
      g_assert_cmpuint (matches->len, ==, expected);
    }
  g_rand_free (rand);
}

/* The company filter judges each state by its own company: a vehicle
 * handed to another company leaves a view filtered on the first. */
static void
test_view_company_change (void)
{
  const char *only_c1[] = { "c1", NULL };
  g_autoptr(WbLiveView) view = view_around (CITY_LON, CITY_LAT, 0.05, only_c1);
  g_autoptr(WbLiveVehicle) with_c1 = make_vehicle ("v", "c1", CITY_LON, CITY_LAT, NULL);
  g_autoptr(WbLiveVehicle) with_c2 = make_vehicle ("v", "c2", CITY_LON, CITY_LAT, NULL);
  g_autoptr(WbLiveVehicle) with_none = make_vehicle ("v", NULL, CITY_LON, CITY_LAT, NULL);

  g_assert_cmpint (wb_live_view_classify (view, with_c1, with_c2), ==, WB_LIVE_MATCH_LEFT);
  g_assert_cmpint (wb_live_view_classify (view, with_c2, with_c1), ==, WB_LIVE_MATCH_ENTERED);
  g_assert_cmpint (wb_live_view_classify (view, with_c1, with_c1), ==, WB_LIVE_MATCH_MOVED);
  g_assert_cmpint (wb_live_view_classify (view, with_none, with_c2), ==, WB_LIVE_MATCH_NONE);
  g_assert_cmpint (wb_live_view_classify (view, with_c1, NULL), ==, WB_LIVE_MATCH_LEFT);
  g_assert_cmpint (wb_live_view_classify (view, NULL, with_c1), ==, WB_LIVE_MATCH_ENTERED);
}

static void
test_diff_on_pan (void)
{
  g_autoptr(WbLiveIndex) index = wb_live_index_new ();
  g_autoptr(WbLiveView) before = view_around (CITY_LON, CITY_LAT, 0.05, NULL);
  g_autoptr(WbLiveView) after = view_around (CITY_LON + 0.06, CITY_LAT, 0.05, NULL);
  g_autoptr(GPtrArray) entered = NULL;
  g_autoptr(GPtrArray) left = NULL;
  g_autoptr(GPtrArray) first_entered = NULL;
  g_autoptr(GPtrArray) first_left = NULL;
  g_autofree char *entered_ids = NULL, *first_ids = NULL;

  put (index, "west", "c", CITY_LON - 0.03, CITY_LAT, NULL);      /* only before */
  put (index, "middle", "c", CITY_LON + 0.03, CITY_LAT, NULL);    /* both */
  put (index, "east", "c", CITY_LON + 0.09, CITY_LAT, NULL);      /* only after */
  put (index, "far", "c", CITY_LON + 1, CITY_LAT, NULL);          /* neither */

  wb_live_index_diff_views (index, before, after, &entered, &left);
  entered_ids = ids_of (entered);
  g_assert_cmpstr (entered_ids, ==, "east");
  g_assert_cmpuint (left->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (left, 0), ==, "west");
  /* Entered vehicles carry their full state. */
  g_assert_cmpfloat (((WbLiveVehicle *) g_ptr_array_index (entered, 0))->lon, ==, CITY_LON + 0.09);

  /* A first subscribe: everything inside entered, nothing left. */
  wb_live_index_diff_views (index, NULL, before, &first_entered, &first_left);
  first_ids = ids_of (first_entered);
  g_assert_cmpstr (first_ids, ==, "middle,west");
  g_assert_cmpuint (first_left->len, ==, 0);
}

/* ---- replay window ------------------------------------------------------------ */

static void
append_n (WbReplayWindow *window,
          guint           count,
          gint64          now)
{
  g_autoptr(WbLiveVehicle) vehicle = make_vehicle ("v", "c", CITY_LON, CITY_LAT, NULL);

  for (guint i = 0; i < count; i++)
    {
      g_autoptr(WbLiveUpdate) update = wb_replay_window_append (window, NULL, vehicle, now);
    }
}

static void
test_replay_inside (void)
{
  g_autoptr(WbReplayWindow) window = wb_replay_window_new_with_epoch ("e1", 100, 60 * SECOND_US);
  g_autoptr(GPtrArray) updates = NULL;
  g_autoptr(GPtrArray) none = NULL;

  g_assert_cmpuint (wb_replay_window_get_seq (window), ==, 0);
  append_n (window, 10, 1000);
  g_assert_cmpuint (wb_replay_window_get_seq (window), ==, 10);
  g_assert_cmpint (wb_replay_window_since (window, "e1", 7, 1000, &updates), ==, WB_REPLAY_OK);
  g_assert_cmpuint (updates->len, ==, 3);
  for (guint i = 0; i < 3; i++)
    g_assert_cmpuint (((WbLiveUpdate *) g_ptr_array_index (updates, i))->seq, ==, 8 + i);
  /* Up to date: nothing missed, no resync. */
  g_assert_cmpint (wb_replay_window_since (window, "e1", 10, 1000, &none), ==, WB_REPLAY_OK);
  g_assert_cmpuint (none->len, ==, 0);
  g_clear_pointer (&updates, g_ptr_array_unref);
  /* From the start of the stream. */
  g_assert_cmpint (wb_replay_window_since (window, "e1", 0, 1000, &updates), ==, WB_REPLAY_OK);
  g_assert_cmpuint (updates->len, ==, 10);
}

static void
test_replay_outside (void)
{
  g_autoptr(WbReplayWindow) window = wb_replay_window_new_with_epoch ("e1", 5, 60 * SECOND_US);
  g_autoptr(GPtrArray) updates = NULL;

  append_n (window, 12, 1000);
  /* Seqs 8..12 are held: 7 is the oldest position to resume from. */
  g_assert_cmpint (wb_replay_window_since (window, "e1", 7, 1000, &updates), ==, WB_REPLAY_OK);
  g_assert_cmpuint (updates->len, ==, 5);
  g_assert_cmpuint (((WbLiveUpdate *) g_ptr_array_index (updates, 0))->seq, ==, 8);
  g_clear_pointer (&updates, g_ptr_array_unref);
  g_assert_cmpint (wb_replay_window_since (window, "e1", 6, 1000, &updates), ==, WB_REPLAY_RESYNC);
  g_assert_null (updates);
  /* A position ahead of the stream is not trusted either. */
  g_assert_cmpint (wb_replay_window_since (window, "e1", 13, 1000, &updates), ==, WB_REPLAY_RESYNC);
  g_assert_null (updates);
}

static void
test_replay_other_epoch (void)
{
  g_autoptr(WbReplayWindow) window = wb_replay_window_new (100, 60 * SECOND_US);
  g_autoptr(WbReplayWindow) restarted = wb_replay_window_new (100, 60 * SECOND_US);
  g_autoptr(GPtrArray) updates = NULL;

  g_assert_cmpstr (wb_replay_window_get_epoch (window), !=, wb_replay_window_get_epoch (restarted));
  append_n (window, 3, 1000);
  append_n (restarted, 3, 1000);
  g_assert_cmpint (wb_replay_window_since (restarted, wb_replay_window_get_epoch (window), 2, 1000, &updates),
                   ==, WB_REPLAY_RESYNC);
  g_assert_null (updates);
}

static void
test_replay_age (void)
{
  g_autoptr(WbReplayWindow) window = wb_replay_window_new_with_epoch ("e1", 100, 10 * SECOND_US);
  g_autoptr(GPtrArray) updates = NULL;

  append_n (window, 3, 0);                  /* seqs 1..3 at 0 s */
  append_n (window, 2, 8 * SECOND_US);      /* seqs 4..5 at 8 s */
  g_assert_cmpint (wb_replay_window_since (window, "e1", 1, 9 * SECOND_US, &updates), ==, WB_REPLAY_OK);
  g_assert_cmpuint (updates->len, ==, 4);
  g_clear_pointer (&updates, g_ptr_array_unref);
  /* At 12 s the first three have aged out: resuming from 1 has a gap. */
  g_assert_cmpint (wb_replay_window_since (window, "e1", 1, 12 * SECOND_US, &updates), ==, WB_REPLAY_RESYNC);
  g_assert_cmpint (wb_replay_window_since (window, "e1", 3, 12 * SECOND_US, &updates), ==, WB_REPLAY_OK);
  g_assert_cmpuint (updates->len, ==, 2);
  g_clear_pointer (&updates, g_ptr_array_unref);
  /* Everything aged out, but a client at the head has missed nothing. */
  g_assert_cmpint (wb_replay_window_since (window, "e1", 5, 60 * SECOND_US, &updates), ==, WB_REPLAY_OK);
  g_assert_cmpuint (updates->len, ==, 0);
  g_clear_pointer (&updates, g_ptr_array_unref);
  g_assert_cmpint (wb_replay_window_since (window, "e1", 4, 60 * SECOND_US, &updates), ==, WB_REPLAY_RESYNC);
}

/* ---- outbox ------------------------------------------------------------------- */

static WbLiveOutboxItem *
item_at (GPtrArray *batch,
         guint      i)
{
  return g_ptr_array_index (batch, i);
}

static void
test_outbox_coalescing (void)
{
  g_autoptr(WbLiveOutbox) outbox = wb_live_outbox_new (100, 1000);
  g_autoptr(WbLiveVehicle) a1 = make_vehicle ("a", "c", 1, 1, NULL);
  g_autoptr(WbLiveVehicle) a2 = make_vehicle ("a", "c", 2, 2, NULL);
  g_autoptr(WbLiveVehicle) b1 = make_vehicle ("b", "c", 1, 1, NULL);
  g_autoptr(WbLiveVehicle) c1 = make_vehicle ("c", "c", 1, 1, NULL);
  g_autoptr(WbLiveVehicle) d1 = make_vehicle ("d", "c", 1, 1, NULL);
  g_autoptr(GPtrArray) batch = NULL;

  g_assert_null (wb_live_outbox_drain (outbox));
  /* a: update, update -> one update, newest state. */
  wb_live_outbox_push (outbox, WB_LIVE_OUTBOX_UPDATE, "a", a1, 1);
  /* b: entered then left -> nothing. */
  wb_live_outbox_push (outbox, WB_LIVE_OUTBOX_ENTERED, "b", b1, 2);
  /* c: update then left -> left. */
  wb_live_outbox_push (outbox, WB_LIVE_OUTBOX_UPDATE, "c", c1, 3);
  wb_live_outbox_push (outbox, WB_LIVE_OUTBOX_UPDATE, "a", a2, 4);
  wb_live_outbox_push (outbox, WB_LIVE_OUTBOX_LEFT, "b", NULL, 5);
  wb_live_outbox_push (outbox, WB_LIVE_OUTBOX_LEFT, "c", NULL, 6);
  /* d: entered then update -> entered, newest; left then entered -> update. */
  wb_live_outbox_push (outbox, WB_LIVE_OUTBOX_ENTERED, "d", d1, 7);
  g_assert_cmpuint (wb_live_outbox_get_length (outbox), ==, 3);
  g_assert_cmpuint (wb_live_outbox_get_seq (outbox), ==, 7);

  batch = wb_live_outbox_drain (outbox);
  g_assert_cmpuint (batch->len, ==, 3);
  g_assert_cmpstr (item_at (batch, 0)->vehicle_id, ==, "a");
  g_assert_cmpint (item_at (batch, 0)->kind, ==, WB_LIVE_OUTBOX_UPDATE);
  g_assert_true (item_at (batch, 0)->vehicle == a2);
  g_assert_cmpuint (item_at (batch, 0)->seq, ==, 4);
  g_assert_cmpstr (item_at (batch, 1)->vehicle_id, ==, "c");
  g_assert_cmpint (item_at (batch, 1)->kind, ==, WB_LIVE_OUTBOX_LEFT);
  g_assert_null (item_at (batch, 1)->vehicle);
  g_assert_cmpstr (item_at (batch, 2)->vehicle_id, ==, "d");
  g_assert_cmpint (item_at (batch, 2)->kind, ==, WB_LIVE_OUTBOX_ENTERED);
  g_assert_cmpuint (wb_live_outbox_get_length (outbox), ==, 0);
  g_assert_null (wb_live_outbox_drain (outbox));
  g_clear_pointer (&batch, g_ptr_array_unref);

  wb_live_outbox_push (outbox, WB_LIVE_OUTBOX_ENTERED, "d", d1, 8);
  wb_live_outbox_push (outbox, WB_LIVE_OUTBOX_UPDATE, "d", a2, 9);
  wb_live_outbox_push (outbox, WB_LIVE_OUTBOX_LEFT, "c", NULL, 10);
  wb_live_outbox_push (outbox, WB_LIVE_OUTBOX_ENTERED, "c", c1, 11);
  batch = wb_live_outbox_drain (outbox);
  g_assert_cmpuint (batch->len, ==, 2);
  g_assert_cmpint (item_at (batch, 0)->kind, ==, WB_LIVE_OUTBOX_ENTERED);
  g_assert_true (item_at (batch, 0)->vehicle == a2);
  g_assert_cmpint (item_at (batch, 1)->kind, ==, WB_LIVE_OUTBOX_UPDATE);
  g_assert_true (item_at (batch, 1)->vehicle == c1);
  g_assert_cmpuint (wb_live_outbox_get_seq (outbox), ==, 11);
}

/* Many vehicles at once: every one found again to coalesce, the order of
 * first arrival kept across removals from the middle, and the outbox
 * reused after each frame. */
static void
test_outbox_many (void)
{
  g_autoptr(WbLiveOutbox) outbox = wb_live_outbox_new (100000, 100000);
  g_autoptr(GPtrArray) states = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_live_vehicle_unref);

  for (guint i = 0; i < 2000; i++)
    {
      g_autofree char *id = g_strdup_printf ("vehicle-%u", i);

      g_ptr_array_add (states, make_vehicle (id, "c", 1, 1, NULL));
    }
  for (guint round = 0; round < 3; round++)
    {
      for (guint i = 0; i < states->len; i++)
        {
          WbLiveVehicle *state = g_ptr_array_index (states, i);

          /* Even vehicles enter, odd ones are updates; the state's own id
           * is given, as the fan-out does. */
          wb_live_outbox_push (outbox, i % 2 ? WB_LIVE_OUTBOX_UPDATE : WB_LIVE_OUTBOX_ENTERED,
                               state->vehicle_id, state, round * 10000 + i);
        }
      /* Again: each coalesces with its pending item. Some states are held
       * by the outbox alone from here on. */
      for (guint i = 0; i < states->len; i++)
        {
          WbLiveVehicle *state = g_ptr_array_index (states, i);
          g_autoptr(WbLiveVehicle) newer = i % 4 == 1 ? wb_live_vehicle_copy (state) : wb_live_vehicle_ref (state);

          wb_live_outbox_push (outbox, WB_LIVE_OUTBOX_UPDATE, newer->vehicle_id, newer, round * 10000 + 5000 + i);
        }
      g_assert_cmpuint (wb_live_outbox_get_length (outbox), ==, 2000);
      /* Every fourth one entered and now leaves: gone, the rest in order. */
      for (guint i = 0; i < states->len; i += 4)
        {
          g_autofree char *id = g_strdup_printf ("vehicle-%u", i);

          wb_live_outbox_push (outbox, WB_LIVE_OUTBOX_LEFT, id, NULL, round * 10000 + 9000);
        }
      g_assert_cmpuint (wb_live_outbox_get_length (outbox), ==, 1500);
      /* Every fourth after those was an update and now leaves: it stays,
       * as left, its id still readable once its state is let go. */
      for (guint i = 1; i < states->len; i += 4)
        {
          g_autofree char *id = g_strdup_printf ("vehicle-%u", i);

          wb_live_outbox_push (outbox, WB_LIVE_OUTBOX_LEFT, id, NULL, round * 10000 + 5000 + i);
        }
      g_assert_cmpuint (wb_live_outbox_get_length (outbox), ==, 1500);
      for (guint n = 0, i = 0; i < states->len; i++)
        {
          const WbLiveOutboxItem *item;
          g_autofree char *id = g_strdup_printf ("vehicle-%u", i);

          if (i % 4 == 0)
            continue;
          item = wb_live_outbox_peek_nth (outbox, n++);
          g_assert_cmpstr (item->vehicle_id, ==, id);
          g_assert_cmpuint (item->seq, ==, round * 10000 + 5000 + i);
          if (i % 4 == 1)
            {
              g_assert_cmpint (item->kind, ==, WB_LIVE_OUTBOX_LEFT);
              g_assert_null (item->vehicle);
              continue;
            }
          g_assert_true (item->vehicle == g_ptr_array_index (states, i));
          g_assert_cmpint (item->kind, ==, i % 2 ? WB_LIVE_OUTBOX_UPDATE : WB_LIVE_OUTBOX_ENTERED);
        }
      wb_live_outbox_clear (outbox);
      g_assert_cmpuint (wb_live_outbox_get_length (outbox), ==, 0);
      g_assert_null (wb_live_outbox_drain (outbox));
    }
}

static void
test_outbox_bound (void)
{
  g_autoptr(WbLiveOutbox) outbox = wb_live_outbox_new (3, 5);
  g_autoptr(WbLiveVehicle) vehicle = make_vehicle ("v", "c", 1, 1, NULL);
  g_autoptr(GPtrArray) batch = NULL;

  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *id = g_strdup_printf ("v%u", i);

      g_assert_true (wb_live_outbox_push (outbox, WB_LIVE_OUTBOX_UPDATE, id, vehicle, i + 1));
    }
  /* The same vehicles again coalesce: still within the bound. */
  g_assert_true (wb_live_outbox_push (outbox, WB_LIVE_OUTBOX_UPDATE, "v0", vehicle, 4));
  g_assert_false (wb_live_outbox_is_over_bound (outbox));
  /* A fourth vehicle: over the bound, reported, still held. */
  g_assert_false (wb_live_outbox_push (outbox, WB_LIVE_OUTBOX_UPDATE, "v3", vehicle, 5));
  g_assert_true (wb_live_outbox_is_over_bound (outbox));
  g_assert_false (wb_live_outbox_is_overflowed (outbox));
  g_assert_cmpuint (wb_live_outbox_get_length (outbox), ==, 4);
  /* A drain brings it back under. */
  batch = wb_live_outbox_drain (outbox);
  g_assert_cmpuint (batch->len, ==, 4);
  g_assert_false (wb_live_outbox_is_over_bound (outbox));

  /* Past the hard limit it gives up: empty, overflowed, refusing. */
  for (guint i = 0; i < 6; i++)
    {
      g_autofree char *id = g_strdup_printf ("w%u", i);

      wb_live_outbox_push (outbox, WB_LIVE_OUTBOX_UPDATE, id, vehicle, 10 + i);
    }
  g_assert_true (wb_live_outbox_is_overflowed (outbox));
  g_assert_true (wb_live_outbox_is_over_bound (outbox));
  g_assert_cmpuint (wb_live_outbox_get_length (outbox), ==, 0);
  g_assert_false (wb_live_outbox_push (outbox, WB_LIVE_OUTBOX_UPDATE, "x", vehicle, 20));
  g_assert_cmpuint (wb_live_outbox_get_length (outbox), ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/live/index/enter-leave-move", test_index_enter_leave_move);
  g_test_add_func ("/live/index/agrees-with-scan", test_index_agrees_with_scan);
  g_test_add_func ("/live/index/world-edges", test_index_world_edges);
  g_test_add_func ("/live/index/update-if-newer", test_index_update_if_newer);
  g_test_add_func ("/live/index/concurrent-readers", test_index_concurrent_readers);
  g_test_add_func ("/live/index/filters", test_index_filters);
  g_test_add_func ("/live/bbox/validation", test_bbox_validation);
  g_test_add_func ("/live/vehicle/json", test_vehicle_json);
  g_test_add_func ("/live/vehicle/stream-json", test_vehicle_stream_json);
  g_test_add_func ("/live/subscriptions/match", test_subscriptions_match);
  g_test_add_func ("/live/subscriptions/agree-with-scan", test_subscriptions_agree_with_scan);
  g_test_add_func ("/live/subscriptions/company-change", test_view_company_change);
  g_test_add_func ("/live/subscriptions/diff-on-pan", test_diff_on_pan);
  g_test_add_func ("/live/replay/inside", test_replay_inside);
  g_test_add_func ("/live/replay/outside", test_replay_outside);
  g_test_add_func ("/live/replay/other-epoch", test_replay_other_epoch);
  g_test_add_func ("/live/replay/age", test_replay_age);
  g_test_add_func ("/live/outbox/coalescing", test_outbox_coalescing);
  g_test_add_func ("/live/outbox/many", test_outbox_many);
  g_test_add_func ("/live/outbox/bound", test_outbox_bound);

  return g_test_run ();
}
