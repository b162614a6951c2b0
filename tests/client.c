// SPDX-License-Identifier: GPL-3.0-or-later
/* core/client against a real waybilld on a real PostgreSQL: typed REST
 * answers and the API's field errors, /ws/locations kept in a
 * WbVehicleModel through view changes, a dropped connection, a stopped and
 * restarted daemon, and /ws/events resumed; waybill-sim's fleet over
 * Teltonika followed frame by frame, with no gap, through a daemon
 * restart; WbVehicleModel on its own. */

#include "config.h"

#include <libsoup/soup.h>
#include <math.h>
#include <string.h>

#include "wb-client.h"
#include "wb-event-stream-private.h"
#include "wb-json.h"
#include "wb-jwt.h"
#include "wb-live-vehicle-reader.h"
#include "wb-location-stream-private.h"
#include "wb-shipment-search-model.h"
#include "wb-trip-list-model.h"
#include "wb-test-daemon.h"
#include "wb-test-pg.h"
#include "wb-vehicle-model.h"

#define SECRET     "client-test-secret-0123456789abcdef"
#define WAIT_S     30
/* Two districts of Minsk, far enough apart that no view holds both. */
#define WEST_LON   27.45
#define EAST_LON   27.65
static const WbLiveBbox west = { 27.40, 53.85, 27.50, 53.95 };
static const WbLiveBbox east = { 27.60, 53.85, 27.70, 53.95 };
static const WbLiveBbox city = { 27.40, 53.85, 27.70, 53.95 };

#define WAIT_UNTIL(condition, what)                                      \
  G_STMT_START {                                                         \
    gint64 wait_deadline = g_get_monotonic_time () + WAIT_S * G_USEC_PER_SEC; \
    while (!(condition))                                                 \
      {                                                                  \
        if (g_get_monotonic_time () > wait_deadline)                     \
          g_error ("timed out waiting for %s", what);                    \
        g_main_context_iteration (NULL, FALSE);                          \
        g_usleep (1000);                                                 \
      }                                                                  \
  } G_STMT_END

typedef struct
{
  char         *conninfo;
  WbTestDaemon *daemon;
  guint         port;
  SoupSession  *session;     /* the test's own REST calls, synchronous */
  WbClient     *client;      /* the library under test, as a viewer */
  char         *viewer;
  char         *dispatcher;
  char         *admin;
  gint64        next_fix;    /* unix ms; fix times grow by one per position */
} Fixture;

/* ---- the test's own REST calls ------------------------------------------- */

static guint
call (Fixture     *f,
      const char  *method,
      const char  *path,
      const char  *token,
      const char  *body,
      JsonNode   **out_answer)
{
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u%s", f->port, path);
  g_autoptr(SoupMessage) message = soup_message_new (method, uri);
  g_autofree char *bearer = g_strconcat ("Bearer ", token, NULL);
  g_autoptr(GBytes) answer = NULL;
  g_autoptr(GError) error = NULL;

  soup_message_headers_replace (soup_message_get_request_headers (message), "Authorization", bearer);
  if (body != NULL)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));

      soup_message_set_request_body_from_bytes (message, "application/json", bytes);
    }
  answer = soup_session_send_and_read (f->session, message, NULL, &error);
  g_assert_no_error (error);
  if (out_answer != NULL)
    *out_answer = wb_json_parse_bytes (answer, NULL, NULL);
  return soup_message_get_status (message);
}

static void
put (Fixture    *f,
     const char *path,
     const char *body)
{
  g_assert_cmpuint (call (f, "PUT", path, f->admin, body, NULL), ==, 200);
}

/* Vehicles v1…v@n of company c1 (odd) or c2 (even), each with device dN;
 * v1 is driven by dr1 of company c2. */
static void
register_fleet (Fixture *f,
                guint    n)
{
  put (f, "/companies/c1", "{\"name\":\"West Logistics\"}");
  put (f, "/companies/c2", "{\"name\":\"East Logistics\"}");
  put (f, "/drivers/dr1", "{\"name\":\"Ivan Petrov\",\"companyId\":\"c2\"}");
  for (guint i = 1; i <= n; i++)
    {
      g_autofree char *vehicle = g_strdup_printf ("/vehicles/v%u", i);
      g_autofree char *vehicle_body = g_strdup_printf ("{\"plate\":\"%04u AB-7\",\"companyId\":\"c%u\"%s}", i,
                                                       2 - i % 2, i == 1 ? ",\"driverId\":\"dr1\"" : "");
      g_autofree char *device = g_strdup_printf ("/devices/d%u", i);
      g_autofree char *device_body = g_strdup_printf ("{\"vehicleId\":\"v%u\",\"token\":null}", i);

      put (f, vehicle, vehicle_body);
      put (f, device, device_body);
    }
}

static char *
fix_time (Fixture *f)
{
  gint64 ms = f->next_fix++;
  g_autoptr(GDateTime) fix = g_date_time_new_from_unix_utc (ms / 1000);
  g_autofree char *seconds = g_date_time_format (fix, "%Y-%m-%dT%H:%M:%S");

  return g_strdup_printf ("%s.%03dZ", seconds, (int) (ms % 1000));
}

/* Device dN at (@lon, @lat); whether ingest accepted it (it refuses a
 * device it has not learnt of yet from the bus). */
static gboolean
try_post (Fixture *f,
          guint    device,
          double   lon,
          double   lat)
{
  g_autofree char *timestamp = fix_time (f);
  g_autofree char *body = g_strdup_printf ("[{\"deviceId\":\"d%u\",\"timestamp\":\"%s\",\"lat\":%.6f,\"lon\":%.6f,"
                                           "\"speed\":30}]", device, timestamp, lat, lon);
  g_autoptr(JsonNode) answer = NULL;

  g_assert_cmpuint (call (f, "POST", "/telemetry", f->dispatcher, body, &answer), ==, 200);
  return json_object_get_int_member (json_node_get_object (answer), "accepted") == 1;
}

static void
post_one (Fixture *f,
          guint    device,
          double   lon,
          double   lat)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_S * G_USEC_PER_SEC;

  while (!try_post (f, device, lon, lat))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (50 * 1000);
    }
}

/* Vehicle vN at latitude 53.86 + N/1000, west or east. */
static void
post_fleet (Fixture *f,
            guint    first,
            guint    last,
            double   lon)
{
  for (guint i = first; i <= last; i++)
    post_one (f, i, lon, 53.86 + i / 1000.0);
}

static guint
count_locations (Fixture    *f,
                 const char *query)
{
  g_autofree char *path = g_strconcat ("/locations", query, NULL);
  g_autoptr(JsonNode) answer = NULL;

  g_assert_cmpuint (call (f, "GET", path, f->viewer, NULL, &answer), ==, 200);
  return json_array_get_length (json_object_get_array_member (json_node_get_object (answer), "items"));
}

static void
wait_locations (Fixture    *f,
                const char *query,
                guint       count)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_S * G_USEC_PER_SEC;

  while (count_locations (f, query) != count)
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("GET /locations%s never held %u vehicles", query, count);
      g_usleep (20 * 1000);
    }
}

static gboolean
metric_is (Fixture    *f,
           const char *line)
{
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u/metrics", f->port);
  g_autoptr(SoupMessage) message = soup_message_new ("GET", uri);
  g_autoptr(GBytes) body = soup_session_send_and_read (f->session, message, NULL, NULL);
  g_autofree char *text = body ? g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body)) : NULL;

  return text != NULL && strstr (text, line) != NULL;
}

/* ---- the daemon --------------------------------------------------------- */

/* @port: 0 for any free port, else that one (a restart). */
static void
spawn (Fixture            *f,
       const char * const *args,
       guint               port)
{
  g_autofree char *dsn = g_strconcat ("DB_DSN=", f->conninfo, NULL);
  g_autofree char *port_env = g_strdup_printf ("SERVER_PORT=%u", port);
  const char *env[] = { dsn, "AUTH_HS256SECRET=" SECRET, port_env, NULL };
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  f->daemon = wb_test_daemon_spawn (env, args);
  f->port = wb_test_daemon_port (f->daemon);
  g_assert_true (port == 0 || f->port == port);
  while (g_get_monotonic_time () < deadline)
    {
      g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u/readyz", f->port);
      g_autoptr(SoupMessage) message = soup_message_new ("GET", uri);
      g_autoptr(GBytes) body = soup_session_send_and_read (f->session, message, NULL, NULL);

      if (soup_message_get_status (message) == 200)
        return;
      g_usleep (50 * 1000);
    }
  g_error ("waybilld did not become ready");
}

static void
stop_daemon (Fixture *f)
{
  g_assert_cmpint (wb_test_daemon_terminate (f->daemon), ==, 0);
  g_clear_pointer (&f->daemon, wb_test_daemon_free);
}

static char *
sign (const char   *subject,
      WbAccessRole  role)
{
  return wb_jwt_sign ((const guint8 *) SECRET, strlen (SECRET), subject, role, g_get_real_time () / G_USEC_PER_SEC,
                      600);
}

static void
setup (Fixture       *f,
       gconstpointer  data)
{
  g_autofree char *base = NULL;

  f->conninfo = wb_test_pg_create_database ("client");
  f->session = soup_session_new_with_options ("timeout", 30, NULL);
  f->viewer = sign ("viewer", WB_ACCESS_ROLE_VIEWER);
  f->dispatcher = sign ("dispatcher", WB_ACCESS_ROLE_DISPATCHER);
  f->admin = sign ("admin", WB_ACCESS_ROLE_ADMIN);
  f->next_fix = g_get_real_time () / 1000 - 3600 * 1000;
  spawn (f, data, 0);
  base = g_strdup_printf ("http://127.0.0.1:%u", f->port);
  f->client = wb_client_new (base, f->viewer);
}

static void
teardown (Fixture       *f,
          gconstpointer  data)
{
  if (f->daemon != NULL)
    stop_daemon (f);
  g_clear_object (&f->client);
  g_clear_object (&f->session);
  g_free (f->viewer);
  g_free (f->dispatcher);
  g_free (f->admin);
  g_free (f->conninfo);
}

static const char * const default_args[] = { "--gateway-batch-window=50ms", NULL };

/* ---- waiting for an async answer ------------------------------------------- */

static void
on_result (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  *(GAsyncResult **) data = g_object_ref (result);
}

static GAsyncResult *
wait_result (GAsyncResult **slot)
{
  WAIT_UNTIL (*slot != NULL, "an answer");
  return *slot;
}

/* ---- REST ------------------------------------------------------------------ */

static void
test_rest_identity (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GAsyncResult) ready = NULL;
  g_autoptr(GAsyncResult) whoami = NULL;
  g_autoptr(GAsyncResult) refused = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *role = NULL;
  g_autofree char *subject = NULL;
  g_autoptr(WbClient) stranger = NULL;
  g_autofree char *base = g_strdup_printf ("http://127.0.0.1:%u", f->port);

  wb_client_readyz_async (f->client, NULL, on_result, &ready);
  g_assert_true (wb_client_readyz_finish (f->client, wait_result (&ready), &error));
  g_assert_no_error (error);

  wb_client_whoami_async (f->client, NULL, on_result, &whoami);
  g_assert_true (wb_client_whoami_finish (f->client, wait_result (&whoami), &role, &subject, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (role, ==, "viewer");
  g_assert_cmpstr (subject, ==, "viewer");

  stranger = wb_client_new (base, "not-a-token");
  wb_client_whoami_async (stranger, NULL, on_result, &refused);
  g_assert_false (wb_client_whoami_finish (stranger, wait_result (&refused), NULL, NULL, &error));
  g_assert_error (error, WB_CLIENT_ERROR, WB_CLIENT_ERROR_UNAUTHORIZED);
  g_assert_cmpuint (wb_client_error_get_status (error), ==, 401);
  g_assert_nonnull (wb_client_error_get_code (error));
}

static WbVehicleRef *
find_ref (GPtrArray  *refs,
          const char *id)
{
  for (guint i = 0; i < refs->len; i++)
    if (g_str_equal (((WbVehicleRef *) g_ptr_array_index (refs, i))->vehicle_id, id))
      return g_ptr_array_index (refs, i);
  return NULL;
}

static void
test_rest_fleet (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GAsyncResult) listed = NULL;
  g_autoptr(GAsyncResult) located = NULL;
  g_autoptr(GAsyncResult) tracked = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) refs = NULL;
  g_autoptr(GPtrArray) vehicles = NULL;
  g_autoptr(WbClientTrack) track = NULL;
  g_autofree char *epoch = NULL;
  guint64 seq = 0;
  WbVehicleRef *ref;

  register_fleet (f, 3);
  post_fleet (f, 1, 3, WEST_LON);
  post_one (f, 1, WEST_LON, 53.90);
  wait_locations (f, "?bbox=27.40,53.85,27.50,53.95", 3);

  wb_client_list_vehicles_async (f->client, NULL, on_result, &listed);
  refs = wb_client_list_vehicles_finish (f->client, wait_result (&listed), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (refs->len, ==, 3);
  ref = find_ref (refs, "v1");
  g_assert_cmpstr (ref->plate, ==, "0001 AB-7");
  g_assert_cmpstr (ref->driver_name, ==, "Ivan Petrov");
  /* The operating company is the driver's. */
  g_assert_cmpstr (ref->company_id, ==, "c2");
  g_assert_cmpstr (ref->company_name, ==, "East Logistics");
  ref = find_ref (refs, "v3");
  g_assert_null (ref->driver_name);
  g_assert_cmpstr (ref->company_name, ==, "West Logistics");

  wb_client_get_locations_async (f->client, &west, NULL, NULL, on_result, &located);
  vehicles = wb_client_get_locations_finish (f->client, wait_result (&located), &epoch, &seq, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (vehicles->len, ==, 3);
  g_assert_nonnull (epoch);
  g_assert_cmpuint (seq, >=, 4);
  for (guint i = 0; i < vehicles->len; i++)
    {
      WbLiveVehicle *vehicle = g_ptr_array_index (vehicles, i);

      g_assert_cmpfloat_with_epsilon (vehicle->lon, WEST_LON, 1e-9);
      g_assert_cmpfloat_with_epsilon (vehicle->speed, 30, 1e-9);
      g_assert_cmpint (vehicle->fix_time, >, 0);
      if (g_str_equal (vehicle->vehicle_id, "v1"))
        g_assert_cmpfloat_with_epsilon (vehicle->lat, 53.90, 1e-9);
    }

  wb_client_get_track_async (f->client, "v1", g_get_real_time () - 2 * G_TIME_SPAN_HOUR, g_get_real_time (), 0,
                             NULL, on_result, &tracked);
  track = wb_client_get_track_finish (f->client, wait_result (&tracked), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (track->vehicle_id, ==, "v1");
  g_assert_cmpint (track->positions, ==, 2);
  g_assert_cmpuint (track->points->len, ==, 2);
  g_assert_cmpfloat_with_epsilon (g_array_index (track->points, WbClientTrackPoint, 1).lat, 53.90, 1e-9);
  g_assert_cmpint (g_array_index (track->points, WbClientTrackPoint, 0).time, <,
                   g_array_index (track->points, WbClientTrackPoint, 1).time);
  g_assert_cmpfloat (track->distance, >, 4000);
}

static void
test_rest_field_errors (Fixture       *f,
                        gconstpointer  data)
{
  const WbLiveBbox inverted = { 27.50, 53.85, 27.40, 53.95 };
  g_autoptr(GAsyncResult) located = NULL;
  g_autoptr(GAsyncResult) tracked = NULL;
  g_autoptr(GAsyncResult) missing = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) vehicles = NULL;
  g_autoptr(WbClientTrack) track = NULL;
  g_autoptr(JsonNode) node = NULL;

  register_fleet (f, 1);

  wb_client_get_locations_async (f->client, &inverted, NULL, NULL, on_result, &located);
  vehicles = wb_client_get_locations_finish (f->client, wait_result (&located), NULL, NULL, &error);
  g_assert_null (vehicles);
  g_assert_error (error, WB_CLIENT_ERROR, WB_CLIENT_ERROR_BAD_REQUEST);
  g_assert_cmpstr (wb_client_error_get_code (error), ==, "invalid_field");
  g_assert_cmpstr (wb_client_error_get_field (error), ==, "bbox");
  g_assert_cmpuint (wb_client_error_get_status (error), ==, 400);
  g_clear_error (&error);

  /* A period that ends before it starts: the field is named. */
  wb_client_get_track_async (f->client, "v1", g_get_real_time (), g_get_real_time () - G_TIME_SPAN_HOUR, -1,
                             NULL, on_result, &tracked);
  track = wb_client_get_track_finish (f->client, wait_result (&tracked), &error);
  g_assert_null (track);
  g_assert_error (error, WB_CLIENT_ERROR, WB_CLIENT_ERROR_BAD_REQUEST);
  g_assert_cmpstr (wb_client_error_get_field (error), ==, "from");
  g_clear_error (&error);

  wb_client_get_json_async (f->client, "/vehicles/nope", NULL, on_result, &missing);
  node = wb_client_get_json_finish (f->client, wait_result (&missing), &error);
  g_assert_null (node);
  g_assert_error (error, WB_CLIENT_ERROR, WB_CLIENT_ERROR_NOT_FOUND);
  g_assert_cmpstr (wb_client_error_get_code (error), ==, "not_found");
}

/* Nothing listening, and a server that accepts but never answers. */
static void
iterate_for (guint ms)
{
  gint64 until = g_get_monotonic_time () + ms * 1000;

  while (g_get_monotonic_time () < until)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
}

static gboolean
on_incoming (GSocketService    *service,
             GSocketConnection *connection,
             GObject           *source,
             gpointer           data)
{
  g_ptr_array_add (data, g_object_ref (connection));
  return TRUE;
}

static guint
listen_silently (GSocketService *service)
{
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) effective = NULL;
  g_autoptr(GError) error = NULL;

  g_socket_listener_add_address (G_SOCKET_LISTENER (service), address, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_TCP, NULL, &effective, &error);
  g_assert_no_error (error);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
}

static void
test_rest_transport_errors (void)
{
  g_autoptr(GSocketService) service = g_socket_service_new ();
  g_autoptr(GPtrArray) held = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GAsyncResult) refused = NULL;
  g_autoptr(GAsyncResult) silent = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(WbClient) nobody = NULL;
  g_autoptr(WbClient) mute = NULL;
  g_autofree char *closed_url = NULL;
  g_autofree char *silent_url = NULL;
  guint port;

  /* A port just bound and freed: nothing listens on it. */
  {
    g_autoptr(GSocket) probe = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                                             &error);
    g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
    g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
    g_autoptr(GSocketAddress) bound = NULL;

    g_assert_no_error (error);
    g_assert_true (g_socket_bind (probe, address, FALSE, &error));
    bound = g_socket_get_local_address (probe, &error);
    g_assert_no_error (error);
    port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
    g_socket_close (probe, NULL);
  }
  closed_url = g_strdup_printf ("http://127.0.0.1:%u", port);
  nobody = wb_client_new (closed_url, NULL);
  wb_client_readyz_async (nobody, NULL, on_result, &refused);
  g_assert_false (wb_client_readyz_finish (nobody, wait_result (&refused), &error));
  g_assert_error (error, WB_CLIENT_ERROR, WB_CLIENT_ERROR_CONNECTION_REFUSED);
  g_assert_cmpuint (wb_client_error_get_status (error), ==, 0);
  g_clear_error (&error);

  g_signal_connect (service, "incoming", G_CALLBACK (on_incoming), held);
  silent_url = g_strdup_printf ("http://127.0.0.1:%u", listen_silently (service));
  mute = wb_client_new (silent_url, NULL);
  wb_client_set_timeout (mute, 300);
  wb_client_readyz_async (mute, NULL, on_result, &silent);
  g_assert_false (wb_client_readyz_finish (mute, wait_result (&silent), &error));
  g_assert_error (error, WB_CLIENT_ERROR, WB_CLIENT_ERROR_TIMEOUT);
  g_assert_cmpuint (held->len, ==, 1);
  g_socket_service_stop (service);
}

/* ---- /ws/locations ------------------------------------------------------------ */

typedef struct
{
  WbLocationStream *stream;
  WbVehicleModel   *model;
  guint             resyncs;
  guint             entered;
  guint             updated;
  guint             left;
} Live;

static void
on_applied (WbLocationStream *stream,
            guint             entered,
            guint             updated,
            guint             left,
            Live             *live)
{
  live->entered += entered;
  live->updated += updated;
  live->left += left;
}

static void
on_resync (WbLocationStream *stream,
           Live             *live)
{
  live->resyncs++;
}

static Live *
live_new (Fixture          *f,
          const WbLiveBbox *bbox)
{
  Live *live = g_new0 (Live, 1);

  live->model = wb_vehicle_model_new ();
  live->stream = wb_location_stream_new (f->client, live->model);
  wb_location_stream_set_backoff (live->stream, 50, 400);
  wb_location_stream_set_debounce (live->stream, 20);
  g_signal_connect (live->stream, "applied", G_CALLBACK (on_applied), live);
  g_signal_connect (live->stream, "resync", G_CALLBACK (on_resync), live);
  wb_location_stream_set_view (live->stream, bbox, NULL);
  wb_location_stream_start (live->stream);
  WAIT_UNTIL (wb_location_stream_get_state (live->stream) == WB_STREAM_STATE_LIVE, "a live stream");
  return live;
}

static void
live_free (Live *live)
{
  wb_location_stream_stop (live->stream);
  g_object_unref (live->stream);
  g_object_unref (live->model);
  g_free (live);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Live, live_free)

static guint
n_held (Live *live)
{
  return g_list_model_get_n_items (G_LIST_MODEL (live->model));
}

static gboolean
holds_at (Live       *live,
          const char *id,
          double      lat)
{
  WbClientVehicle *vehicle = wb_vehicle_model_lookup (live->model, id);

  return vehicle != NULL && fabs (wb_client_vehicle_get_latitude (vehicle) - lat) < 1e-9;
}

static guint
n_stale (Live *live)
{
  guint stale = 0;

  for (guint i = 0; i < n_held (live); i++)
    {
      g_autoptr(WbClientVehicle) vehicle = g_list_model_get_item (G_LIST_MODEL (live->model), i);

      stale += wb_client_vehicle_get_stale (vehicle);
    }
  return stale;
}

#define FLEET 20

static void
test_model_reaches_fleet (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(Live) live = NULL;

  register_fleet (f, FLEET);
  live = live_new (f, &city);
  g_assert_cmpuint (n_held (live), ==, 0);
  post_fleet (f, 1, FLEET / 2, WEST_LON);
  post_fleet (f, FLEET / 2 + 1, FLEET, EAST_LON);
  WAIT_UNTIL (n_held (live) == FLEET, "every vehicle in the model");
  for (guint i = 1; i <= FLEET; i++)
    {
      g_autofree char *id = g_strdup_printf ("v%u", i);

      g_assert_true (holds_at (live, id, 53.86 + i / 1000.0));
    }
  g_assert_cmpuint (live->entered, ==, FLEET);
  g_assert_cmpuint (n_stale (live), ==, 0);
  g_assert_cmpuint (live->resyncs, ==, 0);
  g_assert_nonnull (wb_location_stream_get_epoch (live->stream));
  g_assert_cmpuint (wb_location_stream_get_seq (live->stream), >=, FLEET);
}

static void
test_set_view (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(Live) live = NULL;
  const char *c2[] = { "c2", NULL };

  register_fleet (f, 5);
  post_fleet (f, 1, 3, WEST_LON);
  post_fleet (f, 4, 5, EAST_LON);
  wait_locations (f, "?bbox=27.40,53.85,27.70,53.95", 5);

  live = live_new (f, &west);
  WAIT_UNTIL (n_held (live) == 3, "the west's three vehicles");
  g_assert_nonnull (wb_vehicle_model_lookup (live->model, "v1"));
  g_assert_null (wb_vehicle_model_lookup (live->model, "v4"));

  /* Panning east: the west's vehicles leave, the east's enter. */
  wb_location_stream_set_view (live->stream, &east, NULL);
  WAIT_UNTIL (live->left == 3 && n_held (live) == 2, "the east's two vehicles");
  g_assert_nonnull (wb_vehicle_model_lookup (live->model, "v4"));
  g_assert_nonnull (wb_vehicle_model_lookup (live->model, "v5"));

  /* The whole city, company c2 only: the even vehicles, and v1, whose
   * driver works for c2. */
  wb_location_stream_set_view (live->stream, &city, c2);
  WAIT_UNTIL (n_held (live) == 3 && wb_vehicle_model_lookup (live->model, "v2") != NULL
              && wb_vehicle_model_lookup (live->model, "v5") == NULL, "c2's vehicles");
  g_assert_nonnull (wb_vehicle_model_lookup (live->model, "v1"));
  g_assert_nonnull (wb_vehicle_model_lookup (live->model, "v4"));
  g_assert_null (wb_vehicle_model_lookup (live->model, "v3"));

  /* Views changed quickly are sent once they rest: only the last counts. */
  live->entered = live->left = 0;
  wb_location_stream_set_debounce (live->stream, 200);
  wb_location_stream_set_view (live->stream, &west, NULL);
  wb_location_stream_set_view (live->stream, &east, NULL);
  wb_location_stream_set_view (live->stream, &city, c2);
  iterate_for (600);
  g_assert_cmpuint (live->entered + live->left, ==, 0);
  g_assert_cmpuint (n_held (live), ==, 3);
  g_assert_cmpuint (live->resyncs, ==, 0);
}

static void
on_state_notify (WbLocationStream *stream,
                 GParamSpec       *pspec,
                 GPtrArray        *states)
{
  g_ptr_array_add (states, (gpointer) wb_stream_state_to_string (wb_location_stream_get_state (stream)));
}

/* A dropped connection resumed inside the replay window gets exactly the
 * changes it missed, and no resync. */
static void
test_resume_after_drop (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(GPtrArray) states = g_ptr_array_new ();   /* outlives the stream, which notifies when stopped */
  g_autoptr(Live) live = NULL;
  g_autofree char *epoch = NULL;

  register_fleet (f, 3);
  post_fleet (f, 1, 3, WEST_LON);
  wait_locations (f, "?bbox=27.40,53.85,27.50,53.95", 3);
  live = live_new (f, &west);
  WAIT_UNTIL (n_held (live) == 3, "three vehicles");
  epoch = g_strdup (wb_location_stream_get_epoch (live->stream));
  g_signal_connect (live->stream, "notify::state", G_CALLBACK (on_state_notify), states);
  live->entered = live->updated = live->left = 0;

  _wb_stream_link_drop (_wb_location_stream_get_link (live->stream));
  g_assert_cmpint (wb_location_stream_get_state (live->stream), ==, WB_STREAM_STATE_RECONNECTING);
  g_assert_cmpuint (n_stale (live), ==, 3);
  /* Missed while away (the main loop does not run, so the client cannot
   * come back before the gateway has them): v1 moves, v3 leaves the view. */
  post_one (f, 1, WEST_LON, 53.93);
  post_one (f, 3, EAST_LON, 53.90);
  wait_locations (f, "?bbox=27.40,53.85,27.50,53.95", 2);

  WAIT_UNTIL (wb_location_stream_get_state (live->stream) == WB_STREAM_STATE_LIVE && n_held (live) == 2
              && holds_at (live, "v1", 53.93), "the missed changes");
  g_assert_cmpuint (live->updated, ==, 1);
  g_assert_cmpuint (live->left, ==, 1);
  g_assert_cmpuint (live->entered, ==, 0);
  g_assert_cmpuint (live->resyncs, ==, 0);
  g_assert_null (wb_vehicle_model_lookup (live->model, "v3"));
  g_assert_cmpuint (n_stale (live), ==, 0);
  g_assert_cmpstr (wb_location_stream_get_epoch (live->stream), ==, epoch);
  g_assert_cmpstr (g_ptr_array_index (states, 0), ==, "reconnecting");
  g_assert_cmpstr (g_ptr_array_index (states, states->len - 1), ==, "live");
  g_assert_true (metric_is (f, "waybill_live_resumes_total{outcome=\"replayed\"} 1"));
}

/* The protocol's step by step: a snapshot over REST, then the stream
 * from its position, with no gap and no vehicle sent twice. */
static void
test_snapshot_then_stream (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(GAsyncResult) located = NULL;
  g_autoptr(GPtrArray) vehicles = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *epoch = NULL;
  g_autoptr(Live) live = g_new0 (Live, 1);
  guint64 seq = 0;

  register_fleet (f, 3);
  post_fleet (f, 1, 3, WEST_LON);
  wait_locations (f, "?bbox=27.40,53.85,27.50,53.95", 3);
  wb_client_get_locations_async (f->client, &west, NULL, NULL, on_result, &located);
  vehicles = wb_client_get_locations_finish (f->client, wait_result (&located), &epoch, &seq, &error);
  g_assert_no_error (error);

  live->model = wb_vehicle_model_new ();
  g_assert_cmpuint (wb_vehicle_model_apply_all (live->model, vehicles), ==, 3);
  live->stream = wb_location_stream_new (f->client, live->model);
  g_signal_connect (live->stream, "applied", G_CALLBACK (on_applied), live);
  g_signal_connect (live->stream, "resync", G_CALLBACK (on_resync), live);
  wb_location_stream_set_view (live->stream, &west, NULL);
  wb_location_stream_set_position (live->stream, epoch, seq);
  wb_location_stream_start (live->stream);
  WAIT_UNTIL (wb_location_stream_get_state (live->stream) == WB_STREAM_STATE_LIVE, "a live stream");
  g_assert_true (metric_is (f, "waybill_live_resumes_total{outcome=\"replayed\"} 1"));

  post_one (f, 2, WEST_LON, 53.94);
  WAIT_UNTIL (holds_at (live, "v2", 53.94), "the update");
  g_assert_cmpuint (live->entered, ==, 0);
  g_assert_cmpuint (live->updated, ==, 1);
  g_assert_cmpuint (live->resyncs, ==, 0);
  g_assert_cmpuint (n_held (live), ==, 3);
  g_assert_cmpuint (n_stale (live), ==, 0);
}

/* A pan whose answer is lost with the connection: the position held is
 * of the old view, the subscribe on resuming names the new one. The model
 * ends holding the new view exactly, none of the old one's left behind. */
static void
test_pan_then_drop (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(Live) live = NULL;

  register_fleet (f, 5);
  post_fleet (f, 1, 3, WEST_LON);
  post_fleet (f, 4, 5, EAST_LON);
  wait_locations (f, "?bbox=27.40,53.85,27.70,53.95", 5);
  live = live_new (f, &west);
  WAIT_UNTIL (n_held (live) == 3, "the west's three vehicles");

  wb_location_stream_set_debounce (live->stream, 0);
  wb_location_stream_set_view (live->stream, &east, NULL);
  _wb_stream_link_drop (_wb_location_stream_get_link (live->stream));
  WAIT_UNTIL (wb_location_stream_get_state (live->stream) == WB_STREAM_STATE_LIVE
              && wb_vehicle_model_lookup (live->model, "v4") != NULL
              && wb_vehicle_model_lookup (live->model, "v5") != NULL, "the east's vehicles");
  iterate_for (300);
  g_assert_cmpuint (n_held (live), ==, 2);
  g_assert_null (wb_vehicle_model_lookup (live->model, "v1"));
  g_assert_cmpuint (live->resyncs, ==, 0);
}

/* The daemon stops: the stream says so and the picture goes stale; it
 * comes back on the same port with another epoch: resync, and every
 * vehicle is back once it reports. */
static void
test_daemon_restart (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(Live) live = NULL;
  g_autofree char *epoch = NULL;
  guint port = f->port;

  register_fleet (f, FLEET);
  post_fleet (f, 1, FLEET, WEST_LON);
  live = live_new (f, &west);
  WAIT_UNTIL (n_held (live) == FLEET, "the fleet");
  epoch = g_strdup (wb_location_stream_get_epoch (live->stream));

  stop_daemon (f);
  WAIT_UNTIL (wb_location_stream_get_state (live->stream) == WB_STREAM_STATE_RECONNECTING, "reconnecting");
  g_assert_cmpuint (n_held (live), ==, FLEET);
  g_assert_cmpuint (n_stale (live), ==, FLEET);
  /* Refused connections meanwhile keep it reconnecting, never live. */
  {
    gint64 until = g_get_monotonic_time () + G_USEC_PER_SEC;

    while (g_get_monotonic_time () < until)
      {
        g_main_context_iteration (NULL, FALSE);
        g_usleep (1000);
        g_assert_cmpint (wb_location_stream_get_state (live->stream), ==, WB_STREAM_STATE_RECONNECTING);
      }
    g_assert_error (wb_location_stream_get_error (live->stream), WB_CLIENT_ERROR,
                    WB_CLIENT_ERROR_CONNECTION_REFUSED);
  }

  spawn (f, data, port);
  post_fleet (f, 1, FLEET, WEST_LON + 0.01);
  WAIT_UNTIL (wb_location_stream_get_state (live->stream) == WB_STREAM_STATE_LIVE
              && n_held (live) == FLEET && n_stale (live) == 0, "every vehicle back");
  g_assert_cmpuint (live->resyncs, ==, 1);
  g_assert_cmpstr (wb_location_stream_get_epoch (live->stream), !=, epoch);
  for (guint i = 1; i <= FLEET; i++)
    {
      g_autofree char *id = g_strdup_printf ("v%u", i);
      WbClientVehicle *vehicle = wb_vehicle_model_lookup (live->model, id);

      g_assert_nonnull (vehicle);
      WAIT_UNTIL (fabs (wb_client_vehicle_get_longitude (vehicle) - (WEST_LON + 0.01)) < 1e-9, "the new fix");
    }
}

/* A refused token: the stream never goes live, keeps trying (with
 * back-off) and says why. */
static void
test_bad_token (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *base = g_strdup_printf ("http://127.0.0.1:%u", f->port);
  g_autoptr(WbClient) stranger = wb_client_new (base, "not-a-token");
  g_autoptr(WbVehicleModel) model = wb_vehicle_model_new ();
  g_autoptr(WbLocationStream) stream = wb_location_stream_new (stranger, model);
  WbStreamLink *link = _wb_location_stream_get_link (stream);

  wb_location_stream_set_backoff (stream, 20, 100);
  wb_location_stream_set_view (stream, &west, NULL);
  wb_location_stream_start (stream);
  g_assert_cmpint (wb_location_stream_get_state (stream), ==, WB_STREAM_STATE_CONNECTING);
  WAIT_UNTIL (_wb_stream_link_get_attempt (link) >= 3, "three refused attempts");
  g_assert_cmpint (wb_location_stream_get_state (stream), ==, WB_STREAM_STATE_RECONNECTING);
  g_assert_error (wb_location_stream_get_error (stream), WB_CLIENT_ERROR, WB_CLIENT_ERROR_UNAUTHORIZED);
  wb_location_stream_stop (stream);
  g_assert_cmpint (wb_location_stream_get_state (stream), ==, WB_STREAM_STATE_DISCONNECTED);
}

/* ---- waybill-sim end to end --------------------------------------------------- */

/* Around the simulator's Minsk street grid (about 5 km across), with room
 * to spare: every simulated vehicle is in this view all the time. */
static const WbLiveBbox sim_city = { 27.30, 53.70, 27.85, 54.10 };
#define SIM_FLEET "8"
#define SIM_VEHICLES 8

/* The daemon's arguments for the simulator's tests, with OsmAnd and
 * Teltonika ports of their own that a restart takes again (main()). */
static char *sim_args[4];
static char *sim_teltonika;

static guint
free_port (void)
{
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  g_assert_true (g_socket_bind (socket, any, FALSE, NULL));
  bound = g_socket_get_local_address (socket, NULL);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

/* `waybill-sim ARGS… --url <the daemon> --jwt-secret <the daemon's>`,
 * the main loop running meanwhile (the stream follows as it sends);
 * returns its standard output once it exits with 0. */
static char *
run_sim (Fixture            *f,
         const char * const *args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GAsyncResult) done = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  g_ptr_array_add (argv, g_strdup (g_getenv ("WAYBILL_SIM")));
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, g_strdup (args[i]));
  g_ptr_array_add (argv, g_strdup ("--url"));
  g_ptr_array_add (argv, g_strdup_printf ("http://127.0.0.1:%u", f->port));
  g_ptr_array_add (argv, g_strdup ("--jwt-secret"));
  g_ptr_array_add (argv, g_strdup (SECRET));
  g_ptr_array_add (argv, NULL);
  process = g_subprocess_newv ((const char * const *) argv->pdata,
                               G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8_async (process, NULL, NULL, on_result, &done);
  WAIT_UNTIL (done != NULL, "waybill-sim to finish");
  g_assert_true (g_subprocess_communicate_utf8_finish (process, done, &out, &err, &error));
  g_assert_no_error (error);
  if (g_test_verbose ())
    g_printerr ("%s%s", out, err);
  if (!g_subprocess_get_if_exited (process) || g_subprocess_get_exit_status (process) != 0)
    g_error ("waybill-sim %s failed:\n%s%s", args[0], out, err);
  return g_steal_pointer (&out);
}

/* The simulator's positions are due every 1/rate s and carry that time. */
#define SIM_STEP_US (G_USEC_PER_SEC / 2)

/* What the test sees of the stream, frame by frame. Every change on the
 * gateway is one seq, and every change is a simulated vehicle's position,
 * all in view: so a frame must advance the position held by exactly the
 * changes it shows. An item may stand for several fixes of its vehicle
 * (a batching window keeps only the newest), counted from its fix time's
 * step; a change shown by no item is a gap. */
typedef struct
{
  gint64   fix_time;
  guint    advances;
  gboolean new_run;   /* the simulator started again: its next fix is one change, whatever the time since */
} Fixes;

typedef struct
{
  Live       *live;
  GHashTable *fixes;          /* vehicle id → Fixes */
  char       *epoch;
  guint       resyncs;        /* live->resyncs when the last frame came */
  gboolean    pending;        /* the last frame is still to be checked */
  guint64     pending_seq;    /* the position held before it */
  guint64     pending_changes;/* the changes it showed */
  guint       frames;
  guint       gaps;           /* frames whose seq moved by more or less than they showed */
  guint       fix_backwards;  /* a vehicle shown at an older fix than before */
  guint       silent_epochs;  /* another epoch without a resync */
} Follow;

/* The last frame moved the position to @seq: did it show that many changes? */
static void
follow_check (Follow  *follow,
              guint64  seq)
{
  if (!follow->pending)
    return;
  follow->pending = FALSE;
  if (seq - follow->pending_seq != follow->pending_changes)
    {
      g_test_message ("a frame from seq %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT " showed %" G_GUINT64_FORMAT
                      " changes", follow->pending_seq, seq, follow->pending_changes);
      follow->gaps++;
    }
}

static void
on_follow_applied (WbLocationStream *stream,
                   guint             entered,
                   guint             updated,
                   guint             left,
                   Follow           *follow)
{
  /* "applied" comes before the frame's own position is taken: this is
   * the previous frame's. */
  const char *epoch = wb_location_stream_get_epoch (stream);
  guint64 seq = wb_location_stream_get_seq (stream);
  /* The first frame after a resync is the new gateway's snapshot, at the
   * resync's position: it shows states, not changes after it. */
  gboolean snapshot = follow->live->resyncs != follow->resyncs;
  guint64 changes = left;

  if (follow->epoch == NULL || g_strcmp0 (epoch, follow->epoch) != 0)
    {
      /* A new epoch is only ever taken with a resync (or at the start). */
      if (follow->epoch != NULL && !snapshot)
        follow->silent_epochs++;
      g_free (follow->epoch);
      follow->epoch = g_strdup (epoch);
      follow->pending = FALSE;
    }
  if (snapshot)
    follow->pending = FALSE;
  follow->resyncs = follow->live->resyncs;
  follow_check (follow, seq);
  follow->frames++;

  for (guint i = 0; i < n_held (follow->live); i++)
    {
      g_autoptr(WbClientVehicle) vehicle = g_list_model_get_item (G_LIST_MODEL (follow->live->model), i);
      const WbLiveVehicle *state = wb_client_vehicle_get_state (vehicle);
      Fixes *fixes = g_hash_table_lookup (follow->fixes, state->vehicle_id);

      if (fixes == NULL)
        {
          /* Its first fix ever (the test starts with none). */
          fixes = g_new0 (Fixes, 1);
          fixes->fix_time = state->fix_time;
          g_hash_table_insert (follow->fixes, g_strdup (state->vehicle_id), fixes);
          changes++;
        }
      else if (state->fix_time < fixes->fix_time)
        follow->fix_backwards++;
      else if (state->fix_time > fixes->fix_time)
        {
          changes += fixes->new_run ? 1 : (state->fix_time - fixes->fix_time + SIM_STEP_US / 2) / SIM_STEP_US;
          fixes->new_run = FALSE;
                  fixes->fix_time = state->fix_time;
          fixes->advances++;
        }
    }
  if (!snapshot)
    {
      follow->pending = TRUE;
      follow->pending_seq = seq;
      follow->pending_changes = changes;
    }
}

/* Why the model is not what GET /locations of the view holds at the
 * stream's position, or %NULL when it is exactly that. */
static char *
snapshot_difference (Live      *live,
                     GPtrArray *vehicles,
                     const char *epoch,
                     guint64    seq)
{
  if (vehicles->len != SIM_VEHICLES)
    return g_strdup_printf ("the snapshot holds %u vehicles", vehicles->len);
  if (g_strcmp0 (wb_location_stream_get_epoch (live->stream), epoch) != 0)
    return g_strdup_printf ("the stream is at epoch %s, the snapshot at %s", wb_location_stream_get_epoch (live->stream),
                            epoch);
  if (wb_location_stream_get_seq (live->stream) != seq)
    return g_strdup_printf ("the stream is at seq %" G_GUINT64_FORMAT ", the snapshot at %" G_GUINT64_FORMAT,
                            wb_location_stream_get_seq (live->stream), seq);
  if (n_held (live) != vehicles->len)
    return g_strdup_printf ("the model holds %u vehicles", n_held (live));
  for (guint i = 0; i < vehicles->len; i++)
    {
      WbLiveVehicle *want = g_ptr_array_index (vehicles, i);
      WbClientVehicle *held = wb_vehicle_model_lookup (live->model, want->vehicle_id);
      const WbLiveVehicle *state = held != NULL ? wb_client_vehicle_get_state (held) : NULL;

      if (state == NULL)
        return g_strdup_printf ("%s is missing", want->vehicle_id);
      if (state->fix_time != want->fix_time || state->lat != want->lat || state->lon != want->lon)
        return g_strdup_printf ("%s is at %.6f,%.6f (fix %" G_GINT64_FORMAT "), not %.6f,%.6f (fix %" G_GINT64_FORMAT ")",
                                want->vehicle_id, state->lat, state->lon, state->fix_time, want->lat, want->lon,
                                want->fix_time);
    }
  return NULL;
}

/* Once the simulator has stopped, the model converges on the server's
 * snapshot at the same {epoch, seq}: every change up to the server's
 * position reached the client, none skipped. */
static void
wait_model_is_snapshot (Fixture *f,
                        Live    *live)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_S * G_USEC_PER_SEC;

  for (;;)
    {
      g_autoptr(GAsyncResult) located = NULL;
      g_autoptr(GPtrArray) vehicles = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *epoch = NULL;
      g_autofree char *why = NULL;
      guint64 seq = 0;

      wb_client_get_locations_async (f->client, &sim_city, NULL, NULL, on_result, &located);
      vehicles = wb_client_get_locations_finish (f->client, wait_result (&located), &epoch, &seq, &error);
      g_assert_no_error (error);
      why = snapshot_difference (live, vehicles, epoch, seq);
      if (why == NULL)
        return;
      if (g_get_monotonic_time () > deadline)
        g_error ("the model never matched GET /locations: %s", why);
      iterate_for (100);
    }
}

static void
assert_every_vehicle_advanced (Follow *follow,
                               guint   times)
{
  for (guint i = 1; i <= SIM_VEHICLES; i++)
    {
      g_autofree char *id = g_strdup_printf ("sim-vehicle-%04u", i);
      Fixes *fixes = g_hash_table_lookup (follow->fixes, id);

      g_assert_nonnull (fixes);
      if (fixes->advances < times)
        g_error ("%s advanced %u times, not %u", id, fixes->advances, times);
    }
}

static void
reset_advances (Follow *follow)
{
  GHashTableIter iter;
  Fixes *fixes;

  g_hash_table_iter_init (&iter, follow->fixes);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &fixes))
    {
      fixes->advances = 0;
      fixes->new_run = TRUE;
    }
}

/* The whole way, as a user runs it: reference data registered by
 * `waybill-sim reference`, a fleet driven by `waybill-sim fleet` over
 * Teltonika (a tracker's binary protocol, an outside client's bytes), and
 * the client library's stream and model following it. The daemon then
 * restarts on the same database and port: the stream takes the new epoch
 * only with a resync, and the model is whole again and keeps moving. */
static void
test_sim_fleet_restart (Fixture       *f,
                        gconstpointer  data)
{
  const char *reference[] = { "reference", "--vehicles", SIM_FLEET, "--protocol", "teltonika", NULL };
  /* Real time, two positions a second for three seconds. */
  const char *fleet[] = { "fleet", "--vehicles", SIM_FLEET, "--rate", "2", "--count", "6", "--protocol", "teltonika",
                          "--teltonika", sim_teltonika, "--seed", "7", NULL };
  g_autoptr(Live) live = NULL;
  g_autoptr(GHashTable) fixes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  Follow follow = { .fixes = fixes };
  g_autofree char *out = NULL;
  g_autofree char *epoch = NULL;
  guint port = f->port;

  wb_test_daemon_wait_log (f->daemon, "Teltonika listener on");
  out = run_sim (f, reference);
  g_clear_pointer (&out, g_free);

  live = live_new (f, &sim_city);
  follow.live = live;
  g_signal_connect (live->stream, "applied", G_CALLBACK (on_follow_applied), &follow);
  out = run_sim (f, fleet);
  g_assert_nonnull (strstr (out, "sent 48, accepted 48, refused 0, failed 0"));
  g_clear_pointer (&out, g_free);
  wait_model_is_snapshot (f, live);
  follow_check (&follow, wb_location_stream_get_seq (live->stream));
  g_assert_cmpuint (n_held (live), ==, SIM_VEHICLES);
  g_assert_cmpuint (live->entered, ==, SIM_VEHICLES);
  /* Six fixes each: the first enters, the others advance it (a batching
   * window may coalesce two of them). */
  assert_every_vehicle_advanced (&follow, 2);
  g_assert_cmpuint (live->resyncs, ==, 0);
  g_assert_cmpuint (follow.frames, >=, 6);
  g_assert_cmpuint (follow.gaps, ==, 0);
  g_assert_cmpuint (follow.fix_backwards, ==, 0);
  g_assert_cmpuint (follow.silent_epochs, ==, 0);
  epoch = g_strdup (wb_location_stream_get_epoch (live->stream));

  stop_daemon (f);
  WAIT_UNTIL (wb_location_stream_get_state (live->stream) == WB_STREAM_STATE_RECONNECTING, "reconnecting");
  spawn (f, data, port);
  wb_test_daemon_wait_log (f->daemon, "Teltonika listener on");
  reset_advances (&follow);
  out = run_sim (f, fleet);
  g_assert_nonnull (strstr (out, "sent 48, accepted 48, refused 0, failed 0"));
  WAIT_UNTIL (wb_location_stream_get_state (live->stream) == WB_STREAM_STATE_LIVE, "live again");
  wait_model_is_snapshot (f, live);
  follow_check (&follow, wb_location_stream_get_seq (live->stream));
  /* The old position means nothing to the new gateway: one resync, and
   * the new epoch came with it, never silently. */
  g_assert_cmpuint (live->resyncs, ==, 1);
  g_assert_cmpstr (wb_location_stream_get_epoch (live->stream), !=, epoch);
  g_assert_cmpuint (follow.silent_epochs, ==, 0);
  g_assert_cmpuint (follow.gaps, ==, 0);
  g_assert_cmpuint (follow.fix_backwards, ==, 0);
  g_assert_cmpuint (n_held (live), ==, SIM_VEHICLES);
  g_assert_cmpuint (n_stale (live), ==, 0);
  assert_every_vehicle_advanced (&follow, 2);
  g_free (follow.epoch);
}

/* ---- /ws/events --------------------------------------------------------------- */

static char *
create_shipment (Fixture *f)
{
  const char *body =
    "{\"clientId\":\"acme\",\"serviceLevel\":\"standard\",\"reference\":\"ORD-1\","
    "\"recipient\":{\"name\":\"Ann Smith\",\"phone\":\"+375291234567\",\"email\":\"ann@example.org\"},"
    "\"origin\":{\"country\":\"BY\",\"city\":\"Brest\"},"
    "\"destination\":{\"country\":\"BY\",\"city\":\"Minsk\",\"line1\":\"Nezavisimosti 1\",\"postalCode\":\"220030\","
    "\"lat\":53.9,\"lon\":27.56}}";
  g_autoptr(JsonNode) answer = NULL;

  g_assert_cmpuint (call (f, "POST", "/shipments", f->dispatcher, body, &answer), ==, 201);
  return g_strdup (json_object_get_string_member (json_node_get_object (answer), "id"));
}

static void
post_status (Fixture    *f,
             const char *id,
             const char *event_id,
             const char *status)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *occurred_at = g_date_time_format (now, "%Y-%m-%dT%H:%M:%SZ");
  g_autofree char *path = g_strdup_printf ("/shipments/%s/events", id);
  g_autofree char *body = g_strdup_printf ("{\"eventId\":\"%s\",\"source\":\"dhl\",\"status\":\"%s\","
                                           "\"statusRaw\":\"scan\",\"occurredAt\":\"%s\"}",
                                           event_id, status, occurred_at);

  g_assert_cmpuint (call (f, "POST", path, f->dispatcher, body, NULL), ==, 201);
}

static void
on_event (WbEventStream *stream,
          JsonObject    *event,
          GPtrArray     *statuses)
{
  g_assert_cmpstr (json_object_get_string_member (event, "kind"), ==, "shipment");
  g_ptr_array_add (statuses, g_strdup (json_object_get_string_member (event, "status")));
}

static void
on_event_resync (WbEventStream *stream,
                 guint         *resyncs)
{
  (*resyncs)++;
}

static void
test_events_resume (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(WbEventStream) stream = wb_event_stream_new (f->client);
  g_autoptr(GPtrArray) statuses = g_ptr_array_new_with_free_func (g_free);
  const char *kinds[] = { "shipment", NULL };
  g_autofree char *id = NULL;
  g_autofree char *epoch = NULL;
  guint resyncs = 0;
  guint64 seq;

  wb_event_stream_set_backoff (stream, 50, 400);
  wb_event_stream_set_filter (stream, kinds, NULL, NULL);
  g_signal_connect (stream, "event", G_CALLBACK (on_event), statuses);
  g_signal_connect (stream, "resync", G_CALLBACK (on_event_resync), &resyncs);
  wb_event_stream_start (stream);
  WAIT_UNTIL (wb_event_stream_get_state (stream) == WB_STREAM_STATE_LIVE, "a live event stream");

  id = create_shipment (f);
  post_status (f, id, "e1", "IN_TRANSIT");
  WAIT_UNTIL (statuses->len == 1, "the first status change");
  g_assert_cmpstr (g_ptr_array_index (statuses, 0), ==, "IN_TRANSIT");
  epoch = g_strdup (wb_event_stream_get_epoch (stream));
  seq = wb_event_stream_get_seq (stream);
  g_assert_cmpuint (seq, >=, 1);

  /* Two changes while the stream is down come after it is back, once. */
  _wb_stream_link_drop (_wb_event_stream_get_link (stream));
  g_assert_cmpint (wb_event_stream_get_state (stream), ==, WB_STREAM_STATE_RECONNECTING);
  post_status (f, id, "e2", "OUT_FOR_DELIVERY");
  post_status (f, id, "e3", "DELIVERED");
  g_usleep (300 * 1000);
  WAIT_UNTIL (statuses->len == 3 && wb_event_stream_get_state (stream) == WB_STREAM_STATE_LIVE,
              "the missed changes");
  g_assert_cmpstr (g_ptr_array_index (statuses, 1), ==, "OUT_FOR_DELIVERY");
  g_assert_cmpstr (g_ptr_array_index (statuses, 2), ==, "DELIVERED");
  g_assert_cmpuint (resyncs, ==, 0);
  g_assert_cmpstr (wb_event_stream_get_epoch (stream), ==, epoch);
  g_assert_cmpuint (wb_event_stream_get_seq (stream), >, seq);
  /* Nothing more comes: no duplicate. */
  iterate_for (300);
  g_assert_cmpuint (statuses->len, ==, 3);
}

/* ---- shipments: search, one shipment, its history, paging ------------------- */

static char *
post_shipment (Fixture    *f,
               const char *client_id,
               const char *phone,
               const char *extra)
{
  g_autofree char *body = g_strdup_printf ("{\"clientId\":\"%s\",\"serviceLevel\":\"standard\",\"reference\":\"R-%s\","
                                           "\"recipient\":{\"name\":\"Ann Smith\",\"phone\":\"%s\"},"
                                           "\"destination\":{\"country\":\"BY\",\"city\":\"Minsk\","
                                           "\"line1\":\"Nezavisimosti 1\"}%s}",
                                           client_id, client_id, phone, extra ? extra : "");
  g_autoptr(JsonNode) answer = NULL;

  g_assert_cmpuint (call (f, "POST", "/shipments", f->dispatcher, body, &answer), ==, 201);
  return g_strdup (json_object_get_string_member (json_node_get_object (answer), "id"));
}

static GPtrArray *
search (Fixture                *f,
        const WbClientShipmentQuery  *query,
        char                  **out_cursor,
        GError                **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  wb_client_search_shipments_async (f->client, query, NULL, NULL, on_result, &result);
  return wb_client_search_shipments_finish (f->client, wait_result (&result), out_cursor, error);
}

static guint
count_found (Fixture               *f,
             const WbClientShipmentQuery *query)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) found = search (f, query, NULL, &error);

  g_assert_no_error (error);
  return found->len;
}

static void
test_shipments_search (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(WbClientShipmentQuery) query = wb_client_shipment_query_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) found = NULL;
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GAsyncResult) got = NULL;
  g_autoptr(GAsyncResult) listed = NULL;
  g_autoptr(WbClientShipment) shipment = NULL;
  g_autofree char *cursor = NULL;
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  g_autofree char *other = NULL;
  g_autofree char *path = NULL;
  const char *in_transit[] = { "IN_TRANSIT", NULL };
  WbClientShipmentEvent *event;
  gint64 start = g_get_real_time () - G_USEC_PER_SEC;
  guint64 total = 0;

  first = post_shipment (f, "acme", "+375 29 123-45-67", NULL);
  second = post_shipment (f, "acme", "00375291234567", NULL);
  other = post_shipment (f, "globex", "+375 33 765-43-21", ",\"promisedAt\":\"2020-01-01T00:00:00Z\"");
  path = g_strdup_printf ("/shipments/%s/events", first);
  /* A carrier's local time without a zone: stored flagged. */
  g_assert_cmpuint (call (f, "POST", path, f->dispatcher,
                          "{\"eventId\":\"t1\",\"source\":\"dhl\",\"status\":\"IN_TRANSIT\","
                          "\"statusRaw\":\"PU / Picked up\",\"occurredAt\":\"2026-01-02 10:00:00\","
                          "\"location\":{\"text\":\"Brest hub\"}}", NULL), ==, 201);

  /* The phone in its national notation finds both of its shipments,
   * newest first, written as E.164. */
  query->phone = g_strdup ("8 029 123 45 67");
  found = search (f, query, &cursor, &error);
  g_assert_no_error (error);
  g_assert_null (cursor);
  g_assert_cmpuint (found->len, ==, 2);
  g_assert_cmpstr (wb_client_shipment_get_id (g_ptr_array_index (found, 0)), ==, second);
  g_assert_cmpstr (wb_client_shipment_get_id (g_ptr_array_index (found, 1)), ==, first);
  g_assert_cmpstr (wb_client_shipment_get_recipient_phone (g_ptr_array_index (found, 1)), ==, "+375291234567");
  g_assert_cmpstr (wb_client_shipment_get_status (g_ptr_array_index (found, 1)), ==, "IN_TRANSIT");
  g_clear_pointer (&query->phone, g_free);

  /* Status, client, creation period and overdue, each alone. */
  query->statuses = g_strdupv ((char **) in_transit);
  g_assert_cmpuint (count_found (f, query), ==, 1);
  g_clear_pointer (&query->statuses, g_strfreev);
  query->client_id = g_strdup ("globex");
  g_assert_cmpuint (count_found (f, query), ==, 1);
  g_clear_pointer (&query->client_id, g_free);
  query->created_from = start;
  query->created_to = g_get_real_time () + G_USEC_PER_SEC;
  g_assert_cmpuint (count_found (f, query), ==, 3);
  query->created_from = g_get_real_time () + G_TIME_SPAN_HOUR;
  query->created_to = 0;
  g_assert_cmpuint (count_found (f, query), ==, 0);
  query->created_from = 0;
  query->overdue = TRUE;
  g_clear_pointer (&found, g_ptr_array_unref);
  found = search (f, query, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (found->len, ==, 1);
  g_assert_cmpstr (wb_client_shipment_get_id (g_ptr_array_index (found, 0)), ==, other);
  g_assert_cmpstr (wb_client_shipment_get_sla_state (g_ptr_array_index (found, 0)), ==, "overdue");
  g_assert_cmpint (wb_client_shipment_get_overdue_since (g_ptr_array_index (found, 0)), >, 0);
  query->overdue = FALSE;

  /* The API's field errors name the parameter. */
  query->phone = g_strdup ("not a phone");
  g_clear_pointer (&found, g_ptr_array_unref);
  found = search (f, query, NULL, &error);
  g_assert_null (found);
  g_assert_error (error, WB_CLIENT_ERROR, WB_CLIENT_ERROR_BAD_REQUEST);
  g_assert_cmpstr (wb_client_error_get_field (error), ==, "phone");
  g_clear_error (&error);

  /* One shipment, typed. */
  wb_client_get_shipment_async (f->client, first, NULL, on_result, &got);
  shipment = wb_client_get_shipment_finish (f->client, wait_result (&got), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (wb_client_shipment_get_client_id (shipment), ==, "acme");
  g_assert_cmpstr (wb_client_shipment_get_reference (shipment), ==, "R-acme");
  g_assert_cmpstr (wb_client_shipment_get_recipient_name (shipment), ==, "Ann Smith");
  g_assert_cmpstr (wb_client_shipment_get_destination (shipment)->city, ==, "Minsk");
  g_assert_null (wb_client_shipment_get_origin (shipment));
  g_assert_cmpstr (wb_client_shipment_get_eta_source (shipment), ==, "promise");
  g_assert_cmpstr (wb_client_shipment_get_sla_state (shipment), ==, "on_time");
  g_assert_cmpint (wb_client_shipment_get_eta (shipment), >, start);
  g_assert_cmpint (wb_client_shipment_get_version (shipment), >=, 2);

  /* Its history: the carrier's code, the place, the guessed zone. */
  wb_client_list_shipment_events_async (f->client, first, 100, 0, NULL, on_result, &listed);
  events = wb_client_list_shipment_events_finish (f->client, wait_result (&listed), &total, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (total, ==, 1);
  g_assert_cmpuint (events->len, ==, 1);
  event = g_ptr_array_index (events, 0);
  g_assert_cmpstr (wb_client_shipment_event_get_status (event), ==, "IN_TRANSIT");
  g_assert_cmpstr (wb_client_shipment_event_get_status_raw (event), ==, "PU / Picked up");
  g_assert_cmpstr (wb_client_shipment_event_get_location_text (event), ==, "Brest hub");
  g_assert_cmpstr (wb_client_shipment_event_get_occurred_at_raw (event), ==, "2026-01-02 10:00:00");
  g_assert_true (wb_client_shipment_event_get_zone_guessed (event));
  g_assert_true (wb_client_shipment_event_get_applied (event));
  g_assert_nonnull (wb_client_shipment_event_get_id (event));
}

static void
test_shipments_paging (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(WbClientShipmentQuery) query = wb_client_shipment_query_new ();
  g_autoptr(WbShipmentSearchModel) model = NULL;
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GListModel *list;
  gint64 previous = G_MAXINT64;

  for (guint i = 0; i < 23; i++)
    g_free (post_shipment (f, "paged", "+375291110000", NULL));
  g_free (post_shipment (f, "someone-else", "+375291110000", NULL));

  query->client_id = g_strdup ("paged");
  query->limit = 5;
  model = wb_shipment_search_model_new (f->client, query);
  list = G_LIST_MODEL (model);

  /* Nothing is fetched until asked, then one page at a time. */
  g_assert_cmpuint (g_list_model_get_n_items (list), ==, 0);
  g_assert_true (wb_shipment_search_model_get_has_more (model));
  wb_shipment_search_model_load_more (model);
  g_assert_true (wb_shipment_search_model_get_loading (model));
  wb_shipment_search_model_load_more (model);   /* one page on its way: no second request */
  WAIT_UNTIL (!wb_shipment_search_model_get_loading (model), "the first page");
  g_assert_cmpuint (g_list_model_get_n_items (list), ==, 5);
  g_assert_cmpuint (wb_shipment_search_model_get_pages (model), ==, 1);
  g_assert_true (wb_shipment_search_model_get_has_more (model));

  while (wb_shipment_search_model_get_has_more (model))
    {
      wb_shipment_search_model_load_more (model);
      WAIT_UNTIL (!wb_shipment_search_model_get_loading (model), "a page");
      g_assert_null (wb_shipment_search_model_get_error (model));
    }
  g_assert_cmpuint (wb_shipment_search_model_get_pages (model), ==, 5);
  g_assert_cmpuint (g_list_model_get_n_items (list), ==, 23);

  /* The cursor neither skips nor repeats, and keeps newest first. */
  for (guint i = 0; i < 23; i++)
    {
      g_autoptr(WbClientShipment) shipment = g_list_model_get_item (list, i);

      g_assert_cmpstr (wb_client_shipment_get_client_id (shipment), ==, "paged");
      g_assert_true (g_hash_table_add (seen, g_strdup (wb_client_shipment_get_id (shipment))));
      g_assert_cmpint (wb_client_shipment_get_created_at (shipment), <=, previous);
      previous = wb_client_shipment_get_created_at (shipment);
    }

  /* After the last page, asking for more asks nothing. */
  wb_shipment_search_model_load_more (model);
  g_assert_false (wb_shipment_search_model_get_loading (model));
}

/* ---- trips ------------------------------------------------------------------- */

/* Company c1 with vehicles v1…v3, drivers dr1, dr2, pickup points p1, p2,
 * and three PLANNED trips a day apart; returns their ids, oldest first. */
static GPtrArray *
create_trips (Fixture *f)
{
  GPtrArray *ids = g_ptr_array_new_with_free_func (g_free);
  const struct { const char *vehicle, *driver, *day; } trips[] = {
    { "v1", "dr1", "08" }, { "v2", "dr2", "09" }, { "v3", "dr1", "10" },
  };

  put (f, "/companies/c1", "{\"name\":\"West Logistics\"}");
  put (f, "/drivers/dr1", "{\"name\":\"Ivan Petrov\",\"companyId\":\"c1\"}");
  put (f, "/drivers/dr2", "{\"name\":\"Olga Ivanova\",\"companyId\":\"c1\"}");
  for (guint i = 1; i <= 3; i++)
    {
      g_autofree char *path = g_strdup_printf ("/vehicles/v%u", i);
      g_autofree char *body = g_strdup_printf ("{\"plate\":\"%04u AB-7\",\"companyId\":\"c1\"}", i);

      put (f, path, body);
    }
  g_assert_cmpuint (call (f, "PUT", "/pickup-points/p1", f->admin,
                          "{\"name\":\"Central\",\"lat\":53.90,\"lon\":27.56}", NULL), ==, 201);
  g_assert_cmpuint (call (f, "PUT", "/pickup-points/p2", f->admin,
                          "{\"name\":\"North\",\"lat\":53.95,\"lon\":27.60}", NULL), ==, 201);
  for (guint i = 0; i < G_N_ELEMENTS (trips); i++)
    {
      g_autofree char *body = g_strdup_printf ("{\"companyId\":\"c1\",\"vehicleId\":\"%s\",\"driverId\":\"%s\","
                                               "\"plannedStart\":\"2026-12-%sT08:00:00Z\",\"stops\":["
                                               "{\"pickupPointId\":\"p1\",\"batchIds\":[]},"
                                               "{\"address\":\"Lenina 1\",\"lat\":53.91,\"lon\":27.58,\"batchIds\":[]},"
                                               "{\"pickupPointId\":\"p2\",\"batchIds\":[]}]}",
                                               trips[i].vehicle, trips[i].driver, trips[i].day);
      g_autoptr(JsonNode) answer = NULL;

      g_assert_cmpuint (call (f, "POST", "/trips", f->dispatcher, body, &answer), ==, 201);
      g_ptr_array_add (ids, g_strdup (json_object_get_string_member (json_node_get_object (answer), "id")));
    }
  return ids;
}

static GPtrArray *
list_trips (Fixture                 *f,
            const WbClientTripQuery *query)
{
  g_autoptr(GAsyncResult) listed = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *cursor = NULL;
  GPtrArray *trips;

  wb_client_list_trips_async (f->client, query, NULL, NULL, on_result, &listed);
  trips = wb_client_list_trips_finish (f->client, wait_result (&listed), &cursor, &error);
  g_assert_no_error (error);
  g_assert_null (cursor);
  return trips;
}

static WbClientTrip *
transition_trip (WbClient               *client,
                 const char             *trip_id,
                 WbClientTripTransition  transition,
                 const char             *reason,
                 GError                **error)
{
  g_autoptr(GAsyncResult) done = NULL;

  wb_client_transition_trip_async (client, trip_id, transition, reason, NULL, on_result, &done);
  return wb_client_transition_trip_finish (client, wait_result (&done), error);
}

/* Reassigns @trip_id to @vehicle_id and waits for the dispatch role's
 * decision through GET /commands/{id}. */
static WbClientCommand *
reassign_and_wait (WbClient   *client,
                   const char *trip_id,
                   const char *vehicle_id)
{
  g_autoptr(GAsyncResult) sent = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(WbClientCommand) command = NULL;
  gint64 deadline = g_get_monotonic_time () + WAIT_S * G_USEC_PER_SEC;

  wb_client_reassign_trip_async (client, trip_id, vehicle_id, NULL, "breakdown", NULL, on_result, &sent);
  command = wb_client_reassign_trip_finish (client, wait_result (&sent), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (command->trip_id, ==, trip_id);
  g_assert_cmpstr (command->vehicle_id, ==, vehicle_id);
  g_assert_cmpstr (command->reason, ==, "breakdown");
  while (g_str_equal (command->status, "pending"))
    {
      g_autoptr(GAsyncResult) got = NULL;
      g_autofree char *id = g_strdup (command->id);

      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (20 * 1000);
      g_clear_pointer (&command, wb_client_command_free);
      wb_client_get_command_async (client, id, NULL, on_result, &got);
      command = wb_client_get_command_finish (client, wait_result (&got), &error);
      g_assert_no_error (error);
    }
  return g_steal_pointer (&command);
}

static void
test_trips (Fixture       *f,
            gconstpointer  data)
{
  g_autoptr(GPtrArray) ids = create_trips (f);
  g_autoptr(WbClientTripQuery) query = wb_client_trip_query_new ();
  g_autoptr(WbTripListModel) model = NULL;
  g_autoptr(GPtrArray) found = NULL;
  g_autoptr(WbClient) dispatcher = NULL;
  g_autoptr(WbClientTrip) trip = NULL;
  g_autoptr(WbClientTrip) refused = NULL;
  g_autoptr(WbClientCommand) command = NULL;
  g_autoptr(GAsyncResult) got = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *base = g_strdup_printf ("http://127.0.0.1:%u", f->port);
  g_autoptr(GDateTime) from = g_date_time_new_utc (2026, 12, 9, 0, 0, 0);
  g_autoptr(GDateTime) to = g_date_time_new_utc (2026, 12, 10, 0, 0, 0);
  const WbClientTripStop *stop;

  /* Paged two at a time: every trip once, newest first. */
  query->limit = 2;
  model = wb_trip_list_model_new (f->client, query);
  while (wb_trip_list_model_get_has_more (model))
    {
      wb_trip_list_model_load_more (model);
      WAIT_UNTIL (!wb_trip_list_model_get_loading (model), "a page of trips");
      g_assert_null (wb_trip_list_model_get_error (model));
    }
  g_assert_cmpuint (wb_trip_list_model_get_pages (model), ==, 2);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(WbClientTrip) item = g_list_model_get_item (G_LIST_MODEL (model), i);

      g_assert_cmpstr (wb_client_trip_get_id (item), ==, g_ptr_array_index (ids, 2 - i));
      g_assert_cmpstr (wb_client_trip_get_status (item), ==, "PLANNED");
      g_assert_cmpuint (wb_client_trip_get_n_stops (item), ==, 3);
    }

  /* Each filter alone reaches the server. */
  query->limit = 0;
  query->vehicle_id = g_strdup ("v2");
  found = list_trips (f, query);
  g_assert_cmpuint (found->len, ==, 1);
  g_assert_cmpstr (wb_client_trip_get_id (g_ptr_array_index (found, 0)), ==, g_ptr_array_index (ids, 1));
  g_clear_pointer (&query->vehicle_id, g_free);
  g_clear_pointer (&found, g_ptr_array_unref);
  query->driver_id = g_strdup ("dr1");
  found = list_trips (f, query);
  g_assert_cmpuint (found->len, ==, 2);
  g_clear_pointer (&query->driver_id, g_free);
  g_clear_pointer (&found, g_ptr_array_unref);
  query->from = g_date_time_to_unix (from) * G_USEC_PER_SEC;
  query->to = g_date_time_to_unix (to) * G_USEC_PER_SEC;
  found = list_trips (f, query);
  g_assert_cmpuint (found->len, ==, 1);
  g_assert_cmpstr (wb_client_trip_get_id (g_ptr_array_index (found, 0)), ==, g_ptr_array_index (ids, 1));
  query->from = query->to = 0;
  g_clear_pointer (&found, g_ptr_array_unref);
  query->company_id = g_strdup ("nobody");
  found = list_trips (f, query);
  g_assert_cmpuint (found->len, ==, 0);
  g_clear_pointer (&query->company_id, g_free);

  /* One trip, typed: stops in order with where they are. */
  wb_client_get_trip_async (f->client, g_ptr_array_index (ids, 0), NULL, on_result, &got);
  trip = wb_client_get_trip_finish (f->client, wait_result (&got), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (wb_client_trip_get_vehicle_id (trip), ==, "v1");
  g_assert_cmpstr (wb_client_trip_get_driver_id (trip), ==, "dr1");
  g_assert_cmpstr (wb_client_trip_get_company_id (trip), ==, "c1");
  g_assert_cmpint (wb_client_trip_get_version (trip), ==, 1);
  stop = wb_client_trip_get_stop (trip, 1);
  g_assert_cmpuint (stop->seq, ==, 1);
  g_assert_cmpstr (stop->address, ==, "Lenina 1");
  g_assert_cmpfloat_with_epsilon (stop->lat, 53.91, 1e-9);
  g_assert_cmpstr (wb_client_trip_get_stop (trip, 0)->pickup_point_id, ==, "p1");
  g_assert_cmpfloat_with_epsilon (wb_client_trip_get_stop (trip, 0)->lon, 27.56, 1e-9);
  g_assert_cmpuint (wb_client_trip_count_arrived (trip), ==, 0);
  g_clear_object (&trip);

  /* A viewer may not start a trip. */
  refused = transition_trip (f->client, g_ptr_array_index (ids, 0), WB_CLIENT_TRIP_START, NULL, &error);
  g_assert_null (refused);
  g_assert_error (error, WB_CLIENT_ERROR, WB_CLIENT_ERROR_FORBIDDEN);
  g_clear_error (&error);

  /* A dispatcher starts it; a second start names the status. */
  dispatcher = wb_client_new (base, f->dispatcher);
  trip = transition_trip (dispatcher, g_ptr_array_index (ids, 0), WB_CLIENT_TRIP_START, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (wb_client_trip_get_status (trip), ==, "IN_TRANSIT");
  g_assert_cmpint (wb_client_trip_get_version (trip), ==, 2);
  g_assert_cmpint (wb_client_trip_get_started_at (trip), >, 0);
  g_clear_object (&trip);
  refused = transition_trip (dispatcher, g_ptr_array_index (ids, 0), WB_CLIENT_TRIP_START, NULL, &error);
  g_assert_null (refused);
  g_assert_error (error, WB_CLIENT_ERROR, WB_CLIENT_ERROR_BAD_REQUEST);
  g_assert_cmpuint (wb_client_error_get_status (error), ==, 409);
  g_assert_cmpstr (wb_client_error_get_field (error), ==, "status");
  g_assert_nonnull (strstr (error->message, "IN_TRANSIT"));
  g_clear_error (&error);

  /* Reassigned to v2 (PLANNED elsewhere, so free): applied. */
  command = reassign_and_wait (dispatcher, g_ptr_array_index (ids, 0), "v2");
  g_assert_cmpstr (command->status, ==, "applied");
  g_clear_pointer (&command, wb_client_command_free);
  g_clear_object (&got);
  wb_client_get_trip_async (f->client, g_ptr_array_index (ids, 0), NULL, on_result, &got);
  trip = wb_client_get_trip_finish (f->client, wait_result (&got), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (wb_client_trip_get_vehicle_id (trip), ==, "v2");
  g_clear_object (&trip);

  /* v2 is now busy on an IN_TRANSIT trip: rejected, with the reason. */
  command = reassign_and_wait (dispatcher, g_ptr_array_index (ids, 1), "v2");
  g_assert_cmpstr (command->status, ==, "rejected");
  g_assert_nonnull (strstr (command->outcome, "busy"));
  g_assert_cmpint (command->decided_at, >, 0);

  /* Cancel with a reason; complete serves every stop. */
  trip = transition_trip (dispatcher, g_ptr_array_index (ids, 1), WB_CLIENT_TRIP_CANCEL, "no parcels", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (wb_client_trip_get_status (trip), ==, "CANCELLED");
  g_assert_cmpstr (wb_client_trip_get_cancel_reason (trip), ==, "no parcels");
  g_clear_object (&trip);
  trip = transition_trip (dispatcher, g_ptr_array_index (ids, 0), WB_CLIENT_TRIP_COMPLETE, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (wb_client_trip_get_status (trip), ==, "COMPLETED");
  g_assert_cmpuint (wb_client_trip_count_arrived (trip), ==, 3);
  g_assert_cmpint (wb_client_trip_get_finished_at (trip), >, 0);
}

/* ---- WbVehicleModel --------------------------------------------------------- */

typedef struct
{
  guint position;
  guint removed;
  guint added;
} Change;

static void
on_items_changed (GListModel *model,
                  guint       position,
                  guint       removed,
                  guint       added,
                  GArray     *changes)
{
  Change change = { position, removed, added };

  g_array_append_val (changes, change);
}

static void
assert_change (GArray *changes,
               guint   index,
               guint   position,
               guint   removed,
               guint   added)
{
  Change *change;

  g_assert_cmpuint (index, <, changes->len);
  change = &g_array_index (changes, Change, index);
  g_assert_cmpuint (change->position, ==, position);
  g_assert_cmpuint (change->removed, ==, removed);
  g_assert_cmpuint (change->added, ==, added);
}

static WbLiveVehicle *
vehicle_at (const char *id,
            double      lat)
{
  WbLiveVehicle *vehicle = wb_live_vehicle_new (id);

  vehicle->lat = lat;
  vehicle->lon = 27.5;
  return vehicle;
}

static void
apply (WbVehicleModel *model,
       const char     *id,
       double          lat)
{
  g_autoptr(WbLiveVehicle) vehicle = vehicle_at (id, lat);

  wb_vehicle_model_apply (model, vehicle);
}

static void
test_vehicle_model (void)
{
  g_autoptr(WbVehicleModel) model = wb_vehicle_model_new ();
  g_autoptr(GArray) changes = g_array_new (FALSE, FALSE, sizeof (Change));
  g_autoptr(WbClientVehicle) first = NULL;
  WbClientVehicle *c;

  g_signal_connect (model, "items-changed", G_CALLBACK (on_items_changed), changes);
  apply (model, "a", 1);
  apply (model, "b", 2);
  apply (model, "c", 3);
  apply (model, "d", 4);
  assert_change (changes, 0, 0, 0, 1);
  assert_change (changes, 3, 3, 0, 1);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, 4);
  g_assert_true (g_list_model_get_item_type (G_LIST_MODEL (model)) == WB_TYPE_CLIENT_VEHICLE);

  /* A change keeps the item and its place: no items-changed. */
  c = wb_vehicle_model_lookup (model, "c");
  apply (model, "c", 30);
  g_assert_true (wb_vehicle_model_lookup (model, "c") == c);
  g_assert_cmpfloat (wb_client_vehicle_get_latitude (c), ==, 30);
  g_assert_cmpuint (changes->len, ==, 4);

  /* Removing one in the middle: the ones after it move up, and lookup
   * still finds each at its new place. */
  g_assert_true (wb_vehicle_model_remove (model, "b"));
  assert_change (changes, 4, 1, 1, 0);
  g_assert_false (wb_vehicle_model_remove (model, "b"));
  g_assert_cmpuint (changes->len, ==, 5);
  g_assert_cmpuint (wb_vehicle_model_find (model, "a"), ==, 0);
  g_assert_cmpuint (wb_vehicle_model_find (model, "c"), ==, 1);
  g_assert_cmpuint (wb_vehicle_model_find (model, "d"), ==, 2);
  g_assert_cmpuint (wb_vehicle_model_find (model, "b"), ==, G_MAXUINT);
  g_assert_null (wb_vehicle_model_lookup (model, "b"));
  first = g_list_model_get_item (G_LIST_MODEL (model), 1);
  g_assert_true (first == c);
  g_assert_null (g_list_model_get_item (G_LIST_MODEL (model), 3));

  /* The first and the last. */
  g_assert_true (wb_vehicle_model_remove (model, "a"));
  assert_change (changes, 5, 0, 1, 0);
  g_assert_cmpuint (wb_vehicle_model_find (model, "c"), ==, 0);
  g_assert_true (wb_vehicle_model_remove (model, "d"));
  assert_change (changes, 6, 1, 1, 0);
  apply (model, "b", 5);
  assert_change (changes, 7, 1, 0, 1);
  g_assert_cmpuint (wb_vehicle_model_find (model, "b"), ==, 1);

  /* Stale marks every item; a new state clears it for that item only. */
  wb_vehicle_model_set_stale (model, TRUE);
  g_assert_true (wb_client_vehicle_get_stale (c));
  apply (model, "c", 31);
  g_assert_false (wb_client_vehicle_get_stale (c));
  g_assert_true (wb_client_vehicle_get_stale (wb_vehicle_model_lookup (model, "b")));

  /* Reference names: for the items held and those that enter later. */
  {
    g_autoptr(GPtrArray) refs = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_vehicle_ref_unref);
    WbVehicleRef *ref = wb_vehicle_ref_new ("c");

    ref->plate = g_strdup ("1234 AB-7");
    ref->driver_name = g_strdup ("Ivan Petrov");
    g_ptr_array_add (refs, ref);
    ref = wb_vehicle_ref_new ("e");
    ref->plate = g_strdup ("5678 AB-7");
    ref->company_name = g_strdup ("East Logistics");
    g_ptr_array_add (refs, ref);
    wb_vehicle_model_set_references (model, refs);
  }
  g_assert_cmpstr (wb_client_vehicle_get_plate (c), ==, "1234 AB-7");
  g_assert_cmpstr (wb_client_vehicle_get_driver_name (c), ==, "Ivan Petrov");
  g_assert_null (wb_client_vehicle_get_plate (wb_vehicle_model_lookup (model, "b")));
  apply (model, "e", 6);
  assert_change (changes, 8, 2, 0, 1);
  g_assert_cmpstr (wb_client_vehicle_get_name (wb_vehicle_model_lookup (model, "e")), ==, "5678 AB-7");
  g_assert_cmpstr (wb_client_vehicle_get_company_name (wb_vehicle_model_lookup (model, "e")), ==, "East Logistics");

  /* Many at once: one items-changed each. a… are c, b, e now. */
  {
    g_autoptr(GPtrArray) states = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_live_vehicle_unref);
    g_autoptr(GPtrArray) gone = g_ptr_array_new ();

    g_ptr_array_add (states, vehicle_at ("f", 7));
    g_ptr_array_add (states, vehicle_at ("c", 32));
    g_ptr_array_add (states, vehicle_at ("g", 8));
    g_assert_cmpuint (wb_vehicle_model_apply_all (model, states), ==, 2);
    assert_change (changes, 9, 3, 0, 2);
    g_assert_cmpuint (changes->len, ==, 10);
    g_assert_true (wb_vehicle_model_lookup (model, "c") == c);
    g_assert_cmpfloat (wb_client_vehicle_get_latitude (c), ==, 32);
    g_assert_cmpuint (wb_vehicle_model_find (model, "g"), ==, 4);

    /* c b e f g: b and f go, and one not held. */
    g_ptr_array_add (gone, (gpointer) "f");
    g_ptr_array_add (gone, (gpointer) "nobody");
    g_ptr_array_add (gone, (gpointer) "b");
    g_assert_cmpuint (wb_vehicle_model_remove_all (model, gone), ==, 2);
    assert_change (changes, 10, 1, 4, 2);
    g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, 3);
    g_assert_cmpuint (wb_vehicle_model_find (model, "c"), ==, 0);
    g_assert_cmpuint (wb_vehicle_model_find (model, "e"), ==, 1);
    g_assert_cmpuint (wb_vehicle_model_find (model, "g"), ==, 2);
    g_assert_null (wb_vehicle_model_lookup (model, "b"));
    g_assert_null (wb_vehicle_model_lookup (model, "f"));
    g_assert_cmpuint (wb_vehicle_model_remove_all (model, gone), ==, 0);
    g_assert_cmpuint (changes->len, ==, 11);
  }

  wb_vehicle_model_clear (model);
  assert_change (changes, 11, 0, 3, 0);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, 0);
  g_assert_null (wb_vehicle_model_lookup (model, "c"));
}

/* ---- the live vehicle reader ------------------------------------------------ */

static WbLiveVehicle *
read_vehicle_text (const char  *text,
                   GError     **error)
{
  g_autoptr(WbJsonReader) reader = wb_json_reader_new_from_data (text, strlen (text), NULL, error);

  return reader ? wb_live_vehicle_read (reader, error) : NULL;
}

/* What the gateway writes, the client reads back unchanged. */
static void
test_live_vehicle_reader (void)
{
  g_autoptr(WbLiveVehicle) vehicle = wb_live_vehicle_new ("v1");
  g_autoptr(WbLiveVehicle) back = NULL;
  g_autoptr(WbLiveVehicle) sparse = NULL;
  g_autoptr(WbLiveVehicle) bad = NULL;
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GError) error = NULL;

  vehicle->device_id = g_strdup ("d1");
  vehicle->company_id = g_strdup ("c1");
  vehicle->trip_id = g_strdup ("t1");
  vehicle->lat = 53.9;
  vehicle->lon = 27.56;
  vehicle->speed = 40.5;
  vehicle->course = 270;
  vehicle->fix_time = 1796640000123000;
  vehicle->server_time = 1796640000456000;
  vehicle->accepted_at = 1796640000456789;
  vehicle->ignition = WB_LIVE_IGNITION_OFF;
  vehicle->state = WB_LIVE_STATE_OFFLINE;
  wb_live_vehicle_write_json (vehicle, WB_LIVE_JSON_ACCEPTED_AT, text);
  back = read_vehicle_text (text->str, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (back->vehicle_id, ==, "v1");
  g_assert_cmpstr (back->device_id, ==, "d1");
  g_assert_cmpstr (back->company_id, ==, "c1");
  g_assert_null (back->driver_id);
  g_assert_cmpstr (back->trip_id, ==, "t1");
  g_assert_cmpfloat (back->lat, ==, 53.9);
  g_assert_cmpfloat (back->lon, ==, 27.56);
  g_assert_cmpfloat (back->speed, ==, 40.5);
  g_assert_cmpfloat (back->course, ==, 270);
  g_assert_cmpint (back->fix_time, ==, vehicle->fix_time);
  g_assert_cmpint (back->server_time, ==, vehicle->server_time);
  g_assert_cmpint (back->accepted_at, ==, vehicle->accepted_at);
  g_assert_cmpint (back->ignition, ==, WB_LIVE_IGNITION_OFF);
  g_assert_cmpint (back->state, ==, WB_LIVE_STATE_OFFLINE);

  sparse = read_vehicle_text ("{\"vehicleId\":\"v2\",\"lat\":1,\"lon\":2,\"speed\":null,\"course\":null,"
                              "\"ignition\":null,\"fixTime\":null,\"state\":\"moving\",\"future\":1}", &error);
  g_assert_no_error (error);
  g_assert_true (isnan (sparse->speed) && isnan (sparse->course));
  g_assert_cmpint (sparse->ignition, ==, WB_LIVE_IGNITION_UNKNOWN);
  g_assert_cmpint (sparse->fix_time, ==, 0);

  bad = read_vehicle_text ("{\"vehicleId\":\"v3\",\"lat\":1,\"lon\":2,\"state\":\"flying\"}", &error);
  g_assert_null (bad);
  g_assert_error (error, WB_JSON_ERROR, WB_JSON_ERROR_FIELD);
  g_assert_cmpstr (wb_json_error_get_field (error), ==, "state");
  g_clear_error (&error);
  bad = read_vehicle_text ("{\"vehicleId\":\"v3\",\"lat\":91,\"lon\":2,\"state\":\"moving\"}", &error);
  g_assert_null (bad);
  g_assert_cmpstr (wb_json_error_get_field (error), ==, "lat");
  g_clear_error (&error);
  bad = read_vehicle_text ("{\"vehicleId\":\"v3\",\"lat\":1,\"lon\":2,\"fixTime\":\"2026-12-07 10:00\","
                           "\"state\":\"moving\"}", &error);
  g_assert_null (bad);
  g_assert_cmpstr (wb_json_error_get_field (error), ==, "fixTime");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  {
    guint teltonika = free_port ();

    sim_args[0] = (char *) default_args[0];
    sim_args[1] = g_strdup_printf ("--osmand-port=%u", free_port ());
    sim_args[2] = g_strdup_printf ("--teltonika-port=%u", teltonika);
    sim_teltonika = g_strdup_printf ("127.0.0.1:%u", teltonika);
  }

  g_test_add_func ("/client/vehicle-model", test_vehicle_model);
  g_test_add_func ("/client/live-vehicle-reader", test_live_vehicle_reader);
  g_test_add_func ("/client/rest/transport-errors", test_rest_transport_errors);
  g_test_add ("/client/rest/identity", Fixture, default_args, setup, test_rest_identity, teardown);
  g_test_add ("/client/rest/fleet", Fixture, default_args, setup, test_rest_fleet, teardown);
  g_test_add ("/client/rest/field-errors", Fixture, default_args, setup, test_rest_field_errors, teardown);
  g_test_add ("/client/locations/model-reaches-fleet", Fixture, default_args, setup, test_model_reaches_fleet,
              teardown);
  g_test_add ("/client/locations/set-view", Fixture, default_args, setup, test_set_view, teardown);
  g_test_add ("/client/locations/resume-after-drop", Fixture, default_args, setup, test_resume_after_drop,
              teardown);
  g_test_add ("/client/locations/snapshot-then-stream", Fixture, default_args, setup, test_snapshot_then_stream,
              teardown);
  g_test_add ("/client/locations/pan-then-drop", Fixture, default_args, setup, test_pan_then_drop, teardown);
  g_test_add ("/client/locations/daemon-restart", Fixture, default_args, setup, test_daemon_restart, teardown);
  g_test_add ("/client/locations/sim-fleet-restart", Fixture, sim_args, setup, test_sim_fleet_restart, teardown);
  g_test_add ("/client/locations/bad-token", Fixture, default_args, setup, test_bad_token, teardown);
  g_test_add ("/client/events/resume", Fixture, default_args, setup, test_events_resume, teardown);
  g_test_add ("/client/shipments/search", Fixture, default_args, setup, test_shipments_search, teardown);
  g_test_add ("/client/shipments/paging", Fixture, default_args, setup, test_shipments_paging, teardown);
  g_test_add ("/client/trips", Fixture, default_args, setup, test_trips, teardown);
  return g_test_run ();
}
