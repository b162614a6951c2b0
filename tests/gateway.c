// SPDX-License-Identifier: GPL-3.0-or-later
/* The gateway role end to end: a real waybilld on a real PostgreSQL,
 * vehicles registered and positions posted over REST, GET /locations and
 * /ws/locations read by WebSocket clients written with libsoup's client
 * API (and one raw socket that never reads). */

#include "config.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libsoup/soup.h>
#include <string.h>
#include <sys/socket.h>

#include "wb-json.h"
#include "wb-jwt.h"
#include "wb-live-fanout.h"
#include "wb-live-gateway-private.h"
#include "wb-live-stream.h"
#include "wb-test-daemon.h"
#if WB_HAVE_KAFKA
#include "wb-test-kafka.h"
#endif
#include "wb-test-pg.h"
#include "wb-test-ws.h"

#define SECRET     "gateway-test-secret-0123456789abcdef"
#define WAIT_S     20
/* Two districts of Minsk, far enough apart that no view holds both. */
#define WEST_BBOX  "27.40,53.85,27.50,53.95"
#define EAST_BBOX  "27.60,53.85,27.70,53.95"
#define WEST_LON   27.45
#define EAST_LON   27.65

typedef struct
{
  char         *conninfo;
  WbTestDaemon *daemon;
  guint         port;
  SoupSession  *session;      /* REST, synchronous */
  SoupSession  *ws_session;   /* WebSockets, on the test's main context */
  char         *viewer;
  char         *dispatcher;
  char         *admin;
  gint64        next_fix;     /* unix ms; fix times grow by one per position */
} Fixture;

typedef struct
{
  SoupWebsocketConnection *connection;
  GError                  *error;
  gboolean                 done;
  gboolean                 closed;
  GQueue                   messages;   /* JsonNode */
  GHashTable              *held;       /* vehicleId → lat as text */
  GHashTable              *states;     /* vehicleId → state, as last sent */
  GHashTable              *item_seqs;  /* vehicleId → the seq the client holds it at */
  char                    *epoch;
  guint64                  seq;
  guint64                  last_item_seq;
  guint                    duplicates;
} Client;

/* ---- REST --------------------------------------------------------------- */

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
  g_autoptr(GBytes) answer = NULL;
  g_autoptr(GError) error = NULL;

  if (token != NULL)
    {
      g_autofree char *bearer = g_strconcat ("Bearer ", token, NULL);

      soup_message_headers_replace (soup_message_get_request_headers (message), "Authorization", bearer);
    }
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

/* Vehicles v1…v@n of company c1 (odd) or c2 (even), each with device dN. */
static void
register_fleet (Fixture *f,
                guint    n)
{
  put (f, "/companies/c1", "{\"name\":\"West Logistics\"}");
  put (f, "/companies/c2", "{\"name\":\"East Logistics\"}");
  for (guint i = 1; i <= n; i++)
    {
      g_autofree char *vehicle = g_strdup_printf ("/vehicles/v%u", i);
      g_autofree char *vehicle_body = g_strdup_printf ("{\"plate\":\"%04u AB-7\",\"companyId\":\"c%u\"}", i, 2 - i % 2);
      g_autofree char *device = g_strdup_printf ("/devices/d%u", i);
      g_autofree char *device_body = g_strdup_printf ("{\"vehicleId\":\"v%u\",\"token\":null}", i);

      put (f, vehicle, vehicle_body);
      put (f, device, device_body);
    }
}

/* Fix times grow by a millisecond per position, from an hour ago. */
static char *
fix_time (Fixture *f)
{
  gint64 ms = f->next_fix++;
  g_autoptr(GDateTime) fix = g_date_time_new_from_unix_utc (ms / 1000);
  g_autofree char *seconds = g_date_time_format (fix, "%Y-%m-%dT%H:%M:%S");

  return g_strdup_printf ("%s.%03dZ", seconds, (int) (ms % 1000));
}

/* One batch: positions[i] = { device number, lon, lat }. */
static void
post_positions (Fixture      *f,
                const double (*positions)[3],
                guint         n)
{
  g_autoptr(GString) body = g_string_new ("[");
  g_autoptr(JsonNode) answer = NULL;

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *timestamp = fix_time (f);

      g_string_append_printf (body, "%s{\"deviceId\":\"d%.0f\",\"timestamp\":\"%s\",\"lat\":%.6f,\"lon\":%.6f,\"speed\":30}",
                              i ? "," : "", positions[i][0], timestamp, positions[i][2], positions[i][1]);
    }
  g_string_append_c (body, ']');
  g_assert_cmpuint (call (f, "POST", "/telemetry", f->dispatcher, body->str, &answer), ==, 200);
  if (json_object_get_int_member (json_node_get_object (answer), "accepted") != n)
    {
      g_autofree char *text = json_to_string (answer, FALSE);

      g_test_message ("POST /telemetry %s: %s", body->str, text);
    }
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (answer), "accepted"), ==, n);
}

static void
post_one (Fixture *f,
          guint    device,
          double   lon,
          double   lat)
{
  const double position[1][3] = { { device, lon, lat } };

  post_positions (f, position, 1);
}

/* Ingest learns of new devices from the bus: until it knows the last one,
 * its positions are refused. */
static void
wait_devices_known (Fixture *f,
                    guint    n)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_S * G_USEC_PER_SEC;

  for (;;)
    {
      g_autofree char *timestamp = fix_time (f);
      g_autofree char *body = g_strdup_printf ("[{\"deviceId\":\"d%u\",\"timestamp\":\"%s\",\"lat\":10,\"lon\":10}]",
                                               n, timestamp);
      g_autoptr(JsonNode) answer = NULL;

      g_assert_cmpuint (call (f, "POST", "/telemetry", f->dispatcher, body, &answer), ==, 200);
      if (json_object_get_int_member (json_node_get_object (answer), "accepted") == 1)
        return;
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (50 * 1000);
    }
}

static JsonNode *
get_locations (Fixture    *f,
               const char *query)
{
  g_autofree char *path = g_strconcat ("/locations", query, NULL);
  JsonNode *answer = NULL;

  g_assert_cmpuint (call (f, "GET", path, f->viewer, NULL, &answer), ==, 200);
  return answer;
}

/* Until GET /locations?@query holds @count vehicles. */
static void
wait_locations (Fixture    *f,
                const char *query,
                guint       count)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_S * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr(JsonNode) answer = get_locations (f, query);

      if (json_array_get_length (json_object_get_array_member (json_node_get_object (answer), "items")) == count)
        return;
      g_usleep (50 * 1000);
    }
  g_error ("GET /locations%s never held %u vehicles", query, count);
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

static void
wait_metric (Fixture    *f,
             const char *line)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_S * G_USEC_PER_SEC;

  while (!metric_is (f, line))
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("/metrics never said %s", line);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (10 * 1000);
    }
}

/* ---- the daemon --------------------------------------------------------- */

static void
spawn (Fixture            *f,
       const char * const *args)
{
  g_autofree char *dsn = g_strconcat ("DB_DSN=", f->conninfo, NULL);
  const char *env[] = { dsn, "AUTH_HS256SECRET=" SECRET, NULL };
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  f->daemon = wb_test_daemon_spawn (env, args);
  f->port = wb_test_daemon_port (f->daemon);
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
setup (Fixture       *f,
       gconstpointer  data)
{
  const char * const *args = data;

  f->conninfo = wb_test_pg_create_database ("gateway");
  f->session = soup_session_new_with_options ("timeout", 30, NULL);
  f->ws_session = soup_session_new ();
  f->viewer = wb_jwt_sign ((const guint8 *) SECRET, strlen (SECRET), "viewer", WB_ACCESS_ROLE_VIEWER,
                           g_get_real_time () / G_USEC_PER_SEC, 600);
  f->dispatcher = wb_jwt_sign ((const guint8 *) SECRET, strlen (SECRET), "dispatcher", WB_ACCESS_ROLE_DISPATCHER,
                               g_get_real_time () / G_USEC_PER_SEC, 600);
  f->admin = wb_jwt_sign ((const guint8 *) SECRET, strlen (SECRET), "admin", WB_ACCESS_ROLE_ADMIN,
                          g_get_real_time () / G_USEC_PER_SEC, 600);
  f->next_fix = g_get_real_time () / 1000 - 3600 * 1000;
  spawn (f, args);
}

static void
teardown (Fixture       *f,
          gconstpointer  data)
{
  if (f->daemon != NULL)
    {
      g_assert_cmpint (wb_test_daemon_terminate (f->daemon), ==, 0);
      wb_test_daemon_free (f->daemon);
    }
  g_clear_object (&f->session);
  g_clear_object (&f->ws_session);
  g_free (f->viewer);
  g_free (f->dispatcher);
  g_free (f->admin);
  g_free (f->conninfo);
}

/* ---- WebSocket clients -------------------------------------------------- */

static void
on_ws_message (SoupWebsocketConnection *connection,
               gint                     type,
               GBytes                  *message,
               gpointer                 data)
{
  Client *client = data;
  g_autoptr(GError) error = NULL;
  JsonNode *node = wb_json_parse_bytes (message, NULL, &error);

  g_assert_no_error (error);
  g_queue_push_tail (&client->messages, node);
}

static void
on_ws_closed (SoupWebsocketConnection *connection,
              gpointer                 data)
{
  ((Client *) data)->closed = TRUE;
}

static void
iterate_until (gboolean   *flag,
               const char *what)
{
  wb_test_ws_iterate_until (flag, WAIT_S, what);
}

/* @query: e.g. "?access_token=…", or "" with @token in the header. */
static Client *
client_connect (Fixture    *f,
                const char *query,
                const char *token)
{
  g_autofree char *uri = g_strdup_printf ("ws://127.0.0.1:%u/ws/locations%s", f->port, query);
  Client *client = g_new0 (Client, 1);

  client->held = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  client->states = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  client->item_seqs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  client->connection = wb_test_ws_connect (f->ws_session, uri, token, WAIT_S, &client->error);
  client->done = TRUE;
  if (client->connection != NULL)
    {
      g_signal_connect (client->connection, "message", G_CALLBACK (on_ws_message), client);
      g_signal_connect (client->connection, "closed", G_CALLBACK (on_ws_closed), client);
    }
  return client;
}

static void
client_free (Client *client)
{
  if (client->connection != NULL)
    {
      g_signal_handlers_disconnect_by_data (client->connection, client);
      if (soup_websocket_connection_get_state (client->connection) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (client->connection, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
      g_object_unref (client->connection);
    }
  g_queue_clear_full (&client->messages, (GDestroyNotify) json_node_unref);
  g_clear_error (&client->error);
  g_hash_table_unref (client->held);
  g_hash_table_unref (client->states);
  g_hash_table_unref (client->item_seqs);
  g_free (client->epoch);
  g_free (client);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Client, client_free)

static void
subscribe (Client     *client,
           const char *bbox,
           const char *since_epoch,
           guint64     since_seq)
{
  g_autofree char *since = since_epoch
    ? g_strdup_printf (",\"since\":{\"epoch\":\"%s\",\"seq\":%" G_GUINT64_FORMAT "}", since_epoch, since_seq)
    : g_strdup ("");
  g_autofree char *text = g_strdup_printf ("{\"type\":\"subscribe\",\"bbox\":[%s]%s}", bbox, since);

  soup_websocket_connection_send_text (client->connection, text);
}

static char *
lat_text (JsonObject *vehicle)
{
  return g_strdup_printf ("%.6f", json_object_get_double_member (vehicle, "lat"));
}

/* Applies one stream message to what the client holds, checking the
 * protocol's promises: entered only for a vehicle not held, update and
 * left only for one held, item seqs growing. Returns the message's type. */
static const char *
apply (Client   *client,
       JsonNode *node)
{
  JsonObject *message = json_node_get_object (node);
  const char *type = json_object_get_string_member (message, "type");
  JsonArray *updates;

  g_free (client->epoch);
  client->epoch = g_strdup (json_object_get_string_member (message, "epoch"));
  client->seq = json_object_get_int_member (message, "seq");
  if (g_str_equal (type, "resync"))
    {
      g_hash_table_remove_all (client->held);
      g_hash_table_remove_all (client->item_seqs);
      client->last_item_seq = 0;
      return type;
    }
  if (!g_str_equal (type, "updates"))
    return type;
  updates = json_object_get_array_member (message, "updates");
  for (guint i = 0; i < json_array_get_length (updates); i++)
    {
      JsonObject *item = json_array_get_object_element (updates, i);
      const char *kind = json_object_get_string_member (item, "type");
      guint64 seq = json_object_get_int_member (item, "seq");
      JsonObject *vehicle = json_object_has_member (item, "vehicle")
                              ? json_object_get_object_member (item, "vehicle") : NULL;
      const char *id = vehicle ? json_object_get_string_member (vehicle, "vehicleId")
                               : json_object_get_string_member (item, "vehicleId");

      g_assert_cmpuint (seq, <=, client->seq);
      /* An update the client already holds (from a snapshot or an
       * earlier frame) would be a duplicate. */
      if (g_str_equal (kind, "update") && g_hash_table_contains (client->item_seqs, id))
        g_assert_cmpuint (seq, >, GPOINTER_TO_SIZE (g_hash_table_lookup (client->item_seqs, id)));
      g_hash_table_insert (client->item_seqs, g_strdup (id), GSIZE_TO_POINTER (seq));
      if (g_str_equal (kind, "entered"))
        g_assert_false (g_hash_table_contains (client->held, id));
      else
        g_assert_true (g_hash_table_contains (client->held, id));
      if (g_str_equal (kind, "left"))
        g_hash_table_remove (client->held, id);
      else
        {
          g_hash_table_insert (client->held, g_strdup (id), lat_text (vehicle));
          g_hash_table_insert (client->states, g_strdup (id),
                               g_strdup (json_object_get_string_member (vehicle, "state")));
        }
    }
  return type;
}

/* The next message, applied. */
static const char *
next_message (Client *client)
{
  g_autoptr(JsonNode) node = NULL;
  gint64 deadline = g_get_monotonic_time () + WAIT_S * G_USEC_PER_SEC;
  const char *type;

  while (g_queue_is_empty (&client->messages))
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("no message on the stream");
      if (client->closed)
        g_error ("the stream closed: %u %s", soup_websocket_connection_get_close_code (client->connection),
                 soup_websocket_connection_get_close_data (client->connection));
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  node = g_queue_pop_head (&client->messages);
  type = apply (client, node);
  return g_intern_string (type);
}

/* Until the client holds exactly @expected ("v1=53.900000,v2=…", sorted). */
static void
wait_held (Client     *client,
           const char *expected)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_S * G_USEC_PER_SEC;

  for (;;)
    {
      g_autoptr(GList) keys = g_list_sort (g_hash_table_get_keys (client->held), (GCompareFunc) g_strcmp0);
      g_autoptr(GString) held = g_string_new (NULL);

      for (GList *l = keys; l; l = l->next)
        g_string_append_printf (held, "%s%s=%s", held->len ? "," : "", (char *) l->data,
                                (char *) g_hash_table_lookup (client->held, l->data));
      if (g_str_equal (held->str, expected))
        return;
      if (g_get_monotonic_time () > deadline)
        g_error ("the client holds %s, not %s", held->str, expected);
      if (g_queue_is_empty (&client->messages))
        {
          g_main_context_iteration (NULL, FALSE);
          g_usleep (1000);
          continue;
        }
      next_message (client);
    }
}

static void
wait_closed (Client *client)
{
  iterate_until (&client->closed, "the stream to close");
}

static void
hold_snapshot (Client   *client,
               JsonNode *snapshot)
{
  JsonObject *object = json_node_get_object (snapshot);
  JsonArray *items = json_object_get_array_member (object, "items");

  for (guint i = 0; i < json_array_get_length (items); i++)
    {
      JsonObject *vehicle = json_array_get_object_element (items, i);

      g_hash_table_insert (client->held, g_strdup (json_object_get_string_member (vehicle, "vehicleId")),
                           lat_text (vehicle));
    }
  client->epoch = g_strdup (json_object_get_string_member (object, "epoch"));
  client->seq = json_object_get_int_member (object, "seq");
  for (guint i = 0; i < json_array_get_length (items); i++)
    g_hash_table_insert (client->item_seqs,
                         g_strdup (json_object_get_string_member (json_array_get_object_element (items, i),
                                                                  "vehicleId")),
                         GSIZE_TO_POINTER (client->seq));
}

/* ---- the cases ---------------------------------------------------------- */

static const char * const default_args[] = { "--gateway-batch-window=50ms", NULL };

/* GET /locations while positions keep coming, then the stream from the
 * snapshot's position: every later position arrives, none twice, none
 * missing, and the client ends holding what the server holds. */
static void
test_snapshot_then_stream (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(JsonNode) snapshot = NULL;
  g_autoptr(JsonNode) final = NULL;
  g_autoptr(Client) client = NULL;
  g_autoptr(GString) expected = g_string_new (NULL);
  JsonArray *items;

  register_fleet (f, 4);
  for (guint i = 1; i <= 4; i++)
    post_one (f, i, WEST_LON, 53.90);
  wait_locations (f, "?bbox=" WEST_BBOX, 4);

  client = client_connect (f, "", f->viewer);
  g_assert_no_error (client->error);
  for (guint round = 1; round <= 30; round++)
    {
      double positions[4][3];

      for (guint i = 0; i < 4; i++)
        positions[i][0] = i + 1, positions[i][1] = WEST_LON, positions[i][2] = 53.90 + round * 0.0001 * (i + 1);
      post_positions (f, (const double (*)[3]) positions, 4);
      if (round == 10)
        {
          /* Taken while positions are still being processed. */
          snapshot = get_locations (f, "?bbox=" WEST_BBOX);
          hold_snapshot (client, snapshot);
          g_assert_cmpuint (client->seq, >, 0);
          subscribe (client, WEST_BBOX, client->epoch, client->seq);
        }
      g_usleep (20 * 1000);
    }
  for (guint i = 1; i <= 4; i++)
    g_string_append_printf (expected, "%sv%u=%.6f", i > 1 ? "," : "", i, 53.90 + 30 * 0.0001 * i);
  wait_held (client, expected->str);

  final = get_locations (f, "?bbox=" WEST_BBOX);
  items = json_object_get_array_member (json_node_get_object (final), "items");
  g_assert_cmpuint (json_array_get_length (items), ==, 4);
  g_assert_cmpuint (client->seq, <=, json_object_get_int_member (json_node_get_object (final), "seq"));
}

/* The names of the daemon's threads. */
static char *
thread_names (WbTestDaemon *d)
{
  g_autofree char *dir_path = g_strdup_printf ("/proc/%s/task", g_subprocess_get_identifier (d->process));
  g_autoptr(GDir) dir = g_dir_open (dir_path, 0, NULL);
  GString *names = g_string_new (NULL);
  const char *task;

  g_assert_nonnull (dir);
  while ((task = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir_path, task, "comm", NULL);
      g_autofree char *comm = NULL;

      if (g_file_get_contents (path, &comm, NULL, NULL))
        g_string_append_printf (names, "%s,", g_strstrip (comm));
    }
  return g_string_free (names, FALSE);
}

/* The streams run in a thread of their own, off the main loop that
 * answers REST, and a snapshot taken there still joins them exactly
 * (see /gateway/snapshot-then-stream). */
static void
test_own_thread (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(Client) client = client_connect (f, "", f->viewer);
  g_autofree char *names = NULL;

  g_assert_no_error (client->error);
  subscribe (client, WEST_BBOX, NULL, 0);
  names = thread_names (f->daemon);
  g_test_message ("threads: %s", names);
  g_assert_nonnull (strstr (names, "gateway,"));
}

/* ---- several gateway threads ---------------------------------------------- */

static GSocketConnection *stalled_client (Fixture *f);

static const char * const threads_args[] = { "--gateway-batch-window=50ms", "--gateway-threads=4", NULL };

/* Until /metrics says thread @thread of the gateway serves @count streams. */
static void
wait_thread_streams (Fixture *f,
                     guint    thread,
                     guint    count)
{
  g_autofree char *line = g_strdup_printf ("waybill_live_thread_connections{thread=\"%u\"} %u\n", thread, count);

  wait_metric (f, line);
}

/* Four streams opened one after another go to four threads, each named
 * in the daemon's task list and each counting one stream of its own. */
static void
test_threads_served_apart (Fixture       *f,
                           gconstpointer  data)
{
  Client *clients[4];
  g_autofree char *names = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (clients); i++)
    {
      clients[i] = client_connect (f, "", f->viewer);
      g_assert_no_error (clients[i]->error);
      subscribe (clients[i], WEST_BBOX, NULL, 0);
      g_assert_cmpstr (next_message (clients[i]), ==, "subscribed");
    }
  for (guint i = 0; i < G_N_ELEMENTS (clients); i++)
    wait_thread_streams (f, i, 1);
  wait_metric (f, "waybill_live_connections 4\n");
  names = thread_names (f->daemon);
  g_test_message ("threads: %s", names);
  g_assert_nonnull (strstr (names, "gateway,"));
  for (guint i = 1; i < G_N_ELEMENTS (clients); i++)
    {
      g_autofree char *name = g_strdup_printf ("gateway-%u,", i);

      g_assert_nonnull (strstr (names, name));
    }

  /* A stream that closes frees its thread's share, and the next one goes
   * there. */
  g_clear_pointer (&clients[2], client_free);
  wait_thread_streams (f, 2, 0);
  clients[2] = client_connect (f, "", f->viewer);
  g_assert_no_error (clients[2]->error);
  subscribe (clients[2], WEST_BBOX, NULL, 0);
  g_assert_cmpstr (next_message (clients[2]), ==, "subscribed");
  wait_thread_streams (f, 2, 1);
  for (guint i = 0; i < G_N_ELEMENTS (clients); i++)
    client_free (clients[i]);
}

/* Eight streams over four threads, in two views: every one gets every
 * update of its view, and a pan on one thread is exact as on one. */
static void
test_threads_all_receive (Fixture       *f,
                          gconstpointer  data)
{
  Client *clients[8];

  register_fleet (f, 4);
  post_one (f, 1, WEST_LON, 53.90);
  post_one (f, 2, WEST_LON, 53.91);
  post_one (f, 3, EAST_LON, 53.90);
  post_one (f, 4, EAST_LON, 53.91);
  wait_locations (f, "?bbox=" WEST_BBOX, 2);
  wait_locations (f, "?bbox=" EAST_BBOX, 2);
  for (guint i = 0; i < G_N_ELEMENTS (clients); i++)
    {
      clients[i] = client_connect (f, "", f->viewer);
      g_assert_no_error (clients[i]->error);
      subscribe (clients[i], i % 2 ? EAST_BBOX : WEST_BBOX, NULL, 0);
    }
  for (guint thread = 0; thread < 4; thread++)
    wait_thread_streams (f, thread, 2);
  for (guint i = 0; i < G_N_ELEMENTS (clients); i++)
    wait_held (clients[i], i % 2 ? "v3=53.900000,v4=53.910000" : "v1=53.900000,v2=53.910000");

  for (guint round = 1; round <= 5; round++)
    {
      const double positions[4][3] = {
        { 1, WEST_LON, 53.90 + round * 0.001 }, { 2, WEST_LON, 53.91 + round * 0.001 },
        { 3, EAST_LON, 53.90 + round * 0.001 }, { 4, EAST_LON, 53.91 + round * 0.001 },
      };

      post_positions (f, positions, 4);
    }
  for (guint i = 0; i < G_N_ELEMENTS (clients); i++)
    wait_held (clients[i], i % 2 ? "v3=53.905000,v4=53.915000" : "v1=53.905000,v2=53.915000");

  /* Crossing between the views: each thread's grid sees it. */
  post_one (f, 1, EAST_LON, 53.93);
  for (guint i = 0; i < G_N_ELEMENTS (clients); i++)
    wait_held (clients[i], i % 2 ? "v1=53.930000,v3=53.905000,v4=53.915000" : "v2=53.915000");
  /* A pan on the thread of client 5 (thread 1). */
  subscribe (clients[5], WEST_BBOX, NULL, 0);
  wait_held (clients[5], "v2=53.915000");
  for (guint i = 0; i < G_N_ELEMENTS (clients); i++)
    client_free (clients[i]);
}

/* The snapshot-then-stream join with four threads: clients on every
 * thread take GET /locations at different moments while positions keep
 * coming, subscribe from there, and all end holding what the server
 * holds, no update missing and none twice. */
static void
test_threads_snapshot_then_stream (Fixture       *f,
                                   gconstpointer  data)
{
  Client *clients[4];
  g_autoptr(GString) expected = g_string_new (NULL);

  register_fleet (f, 4);
  for (guint i = 1; i <= 4; i++)
    post_one (f, i, WEST_LON, 53.90);
  wait_locations (f, "?bbox=" WEST_BBOX, 4);
  for (guint i = 0; i < G_N_ELEMENTS (clients); i++)
    {
      clients[i] = client_connect (f, "", f->viewer);
      g_assert_no_error (clients[i]->error);
    }
  for (guint thread = 0; thread < 4; thread++)
    wait_thread_streams (f, thread, 1);

  for (guint round = 1; round <= 40; round++)
    {
      double positions[4][3];

      for (guint i = 0; i < 4; i++)
        positions[i][0] = i + 1, positions[i][1] = WEST_LON, positions[i][2] = 53.90 + round * 0.0001 * (i + 1);
      post_positions (f, (const double (*)[3]) positions, 4);
      /* Client i joins at round 5 + 7 i, while positions are in flight. */
      if (round >= 5 && (round - 5) % 7 == 0 && (round - 5) / 7 < G_N_ELEMENTS (clients))
        {
          Client *client = clients[(round - 5) / 7];
          g_autoptr(JsonNode) snapshot = get_locations (f, "?bbox=" WEST_BBOX);

          hold_snapshot (client, snapshot);
          g_assert_cmpuint (client->seq, >, 0);
          subscribe (client, WEST_BBOX, client->epoch, client->seq);
        }
      /* Each client takes what has come so far. */
      for (guint i = 0; i < G_N_ELEMENTS (clients); i++)
        while (!g_queue_is_empty (&clients[i]->messages) || g_main_context_pending (NULL))
          {
            g_main_context_iteration (NULL, FALSE);
            if (!g_queue_is_empty (&clients[i]->messages))
              g_assert_cmpstr (next_message (clients[i]), !=, "resync");
          }
      g_usleep (10 * 1000);
    }
  for (guint i = 1; i <= 4; i++)
    g_string_append_printf (expected, "%sv%u=%.6f", i > 1 ? "," : "", i, 53.90 + 40 * 0.0001 * i);
  for (guint i = 0; i < G_N_ELEMENTS (clients); i++)
    {
      wait_held (clients[i], expected->str);
      client_free (clients[i]);
    }
}

static const char * const threads_stalled_args[] = {
  "--gateway-batch-window=20ms", "--gateway-threads=2", "--gateway-outbox-bound=2", "--gateway-slow-deadline=60s",
  NULL
};

/* A client that stops reading, on one thread, delays nothing on the
 * other: each position reaches the reader there within three seconds, and
 * the stalled one is still open (not yet past its deadline) throughout. */
static void
test_threads_stalled_apart (Fixture       *f,
                            gconstpointer  data)
{
  g_autoptr(Client) reader = NULL;
  g_autoptr(GSocketConnection) stalled = NULL;
  const guint vehicles = 12;
  gint64 slowest = 0;

  register_fleet (f, vehicles);
  wait_devices_known (f, vehicles);
  reader = client_connect (f, "", f->viewer);
  subscribe (reader, WEST_BBOX, NULL, 0);
  g_assert_cmpstr (next_message (reader), ==, "subscribed");
  wait_thread_streams (f, 0, 1);
  stalled = stalled_client (f);
  wait_thread_streams (f, 1, 1);

  for (guint round = 1; round <= 60; round++)
    {
      double positions[12][3];
      g_autofree char *lat = g_strdup_printf ("%.6f", 53.86 + round * 0.0002);
      gint64 posted, deadline;

      for (guint i = 0; i < vehicles; i++)
        positions[i][0] = i + 1, positions[i][1] = WEST_LON, positions[i][2] = 53.86 + round * 0.0002;
      posted = g_get_monotonic_time ();
      post_positions (f, (const double (*)[3]) positions, vehicles);
      deadline = posted + WAIT_S * G_USEC_PER_SEC;
      while (g_strcmp0 (g_hash_table_lookup (reader->held, "v12"), lat) != 0)
        {
          g_assert_cmpint (g_get_monotonic_time (), <, deadline);
          g_main_context_iteration (NULL, FALSE);
          if (!g_queue_is_empty (&reader->messages))
            next_message (reader);
          else
            g_usleep (1000);
        }
      slowest = MAX (slowest, g_get_monotonic_time () - posted);
    }
  g_test_message ("slowest position to the reader: %" G_GINT64_FORMAT " ms", slowest / 1000);
  g_assert_cmpint (slowest, <, 3 * G_USEC_PER_SEC);
  /* Still open and stalled on the other thread: nothing closed it. */
  g_assert_true (metric_is (f, "waybill_live_thread_connections{thread=\"1\"} 1\n"));
  g_assert_false (metric_is (f, "waybill_live_connections_closed_total{reason=\"slow\"}"));
}

/* ---- one share of the streams, in process ------------------------------------ */

typedef struct
{
  WbLiveFanoutShared  shared;
  GRWLock             lock;
  WbLiveFanout       *fanout;
  int                 fds[2];
  GSocket            *sockets[2];
  GIOStream          *streams[2];
  Client             *client;
} Share;

static void
share_publish (Share       *s,
               const char  *vehicle_id,
               double       lat)
{
  g_autoptr(GPtrArray) updates = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_live_update_unref);
  g_autoptr(WbLiveVehicle) vehicle = wb_live_vehicle_new (vehicle_id);
  g_autoptr(WbLiveVehicle) old = NULL;

  vehicle->lat = lat;
  vehicle->lon = WEST_LON;
  vehicle->state = WB_LIVE_STATE_MOVING;
  g_rw_lock_writer_lock (&s->lock);
  old = wb_live_index_update (s->shared.index, vehicle);
  g_ptr_array_add (updates, wb_replay_window_append (s->shared.replay, old, vehicle, g_get_monotonic_time ()));
  wb_live_fanout_publish (s->fanout, updates);
  g_rw_lock_writer_unlock (&s->lock);
}

static void
share_setup (Share *s)
{
  g_autoptr(GUri) uri = g_uri_parse ("ws://127.0.0.1/ws/locations", G_URI_FLAGS_NONE, NULL);

  g_rw_lock_init (&s->lock);
  s->shared = (WbLiveFanoutShared) {
    .lock = &s->lock, .index = wb_live_index_new (), .replay = wb_replay_window_new (1000, 60 * G_USEC_PER_SEC),
    .metrics = wb_metrics_new (), .window_ms = 10,
    .limits = { .keepalive_s = 30, .pong_timeout_ms = 75000, .max_message_size = 16384, .outbox_bound = 5000,
                .outbox_hard_limit = 100000, .slow_deadline_ms = 10000 },
  };
  wb_metrics_declare (s->shared.metrics, "waybill_live_connections", WB_METRIC_GAUGE, "-", NULL, 0);
  wb_metrics_declare (s->shared.metrics, "waybill_live_thread_connections", WB_METRIC_GAUGE, "-", NULL, 0);
  wb_metrics_declare (s->shared.metrics, "waybill_live_connections_closed_total", WB_METRIC_COUNTER, "-", NULL, 0);
  wb_metrics_declare (s->shared.metrics, "waybill_live_connections_rejected_total", WB_METRIC_COUNTER, "-", NULL, 0);
  wb_metrics_declare (s->shared.metrics, "waybill_live_frames_total", WB_METRIC_COUNTER, "-", NULL, 0);
  wb_metrics_declare (s->shared.metrics, "waybill_live_resumes_total", WB_METRIC_COUNTER, "-", NULL, 0);
  s->shared.admission = wb_live_admission_new (s->shared.metrics, "waybill_live_connections_rejected_total",
                                               "streams", 10, 10);
  /* On this thread's context, so that nothing is fanned out until the
   * test iterates it. */
  s->fanout = wb_live_fanout_new (&s->shared, 0, g_main_context_default ());
  wb_live_fanout_start (s->fanout);

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM, 0, s->fds), ==, 0);
  for (guint i = 0; i < 2; i++)
    {
      s->sockets[i] = g_socket_new_from_fd (s->fds[i], NULL);
      g_assert_nonnull (s->sockets[i]);
      s->streams[i] = G_IO_STREAM (g_socket_connection_factory_create_connection (s->sockets[i]));
    }
  wb_live_fanout_reserve (s->fanout);
  wb_live_fanout_take (s->fanout, s->streams[0], s->sockets[0], "peer", 0);
  s->client = g_new0 (Client, 1);
  s->client->held = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  s->client->states = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  s->client->item_seqs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  s->client->connection = soup_websocket_connection_new (s->streams[1], uri, SOUP_WEBSOCKET_CONNECTION_CLIENT,
                                                         NULL, NULL, NULL);
  g_signal_connect (s->client->connection, "message", G_CALLBACK (on_ws_message), s->client);
  g_signal_connect (s->client->connection, "closed", G_CALLBACK (on_ws_closed), s->client);
}

static void
share_teardown (Share *s)
{
  g_clear_pointer (&s->client, client_free);
  wb_live_fanout_stop (s->fanout);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_clear_pointer (&s->fanout, wb_live_fanout_free);
  for (guint i = 0; i < 2; i++)
    {
      g_clear_object (&s->streams[i]);
      g_clear_object (&s->sockets[i]);
    }
  wb_live_admission_free (s->shared.admission);
  g_clear_object (&s->shared.index);
  g_clear_object (&s->shared.replay);
  g_clear_object (&s->shared.metrics);
  g_rw_lock_clear (&s->lock);
}

/* For about @ms, every message the client gets, applied (apply() fails
 * on an update the client already holds). */
static void
share_read (Share *s,
            guint  ms)
{
  gint64 end = g_get_monotonic_time () + ms * 1000;

  while (g_get_monotonic_time () < end)
    {
      g_main_context_iteration (NULL, FALSE);
      while (!g_queue_is_empty (&s->client->messages))
        next_message (s->client);
      g_usleep (1000);
    }
}

/* ---- one stream, in process, over a socket pair -------------------------------- */

typedef struct
{
  int           fds[2];
  GSocket      *socket;
  GIOStream    *io_stream;
  WbLiveStream *stream;
  GPtrArray    *messages;   /* char *, each whole text message */
  char         *closed;     /* the reason on_closed gave */
} Pair;

static void
pair_on_message (WbLiveStream *stream,
                 GBytes       *message,
                 gpointer      data)
{
  Pair *p = data;
  gsize length;
  const char *text = g_bytes_get_data (message, &length);

  g_ptr_array_add (p->messages, g_strndup (text, length));
}

static void
pair_on_closed (WbLiveStream *stream,
                const char   *reason,
                gpointer      data)
{
  Pair *p = data;

  g_assert_null (p->closed);
  p->closed = g_strdup (reason);
}

static void
pair_open (Pair *p)
{
  const WbLiveStreamLimits limits = { .keepalive_s = 30, .pong_timeout_ms = 75000, .max_message_size = 1024 };

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, p->fds), ==, 0);
  p->socket = g_socket_new_from_fd (p->fds[0], NULL);
  g_assert_nonnull (p->socket);
  p->io_stream = G_IO_STREAM (g_socket_connection_factory_create_connection (p->socket));
  p->messages = g_ptr_array_new_with_free_func (g_free);
  p->stream = wb_live_stream_new (p->io_stream, p->socket, "peer", 0, &limits, pair_on_message, pair_on_closed, p);
  g_assert_nonnull (p->stream);
}

static void
pair_close (Pair *p)
{
  g_clear_pointer (&p->stream, wb_live_stream_free);
  g_clear_object (&p->io_stream);
  g_clear_object (&p->socket);
  close (p->fds[1]);
  g_clear_pointer (&p->messages, g_ptr_array_unref);
  g_clear_pointer (&p->closed, g_free);
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

/* Writes @length raw bytes as the client, then lets the stream read them. */
static void
pair_write (Pair         *p,
            const guint8 *bytes,
            gsize         length)
{
  g_assert_cmpint (write (p->fds[1], bytes, length), ==, (gssize) length);
  for (guint i = 0; i < 5; i++)
    g_main_context_iteration (NULL, FALSE);
}

/* A masked client frame. */
static GByteArray *
client_frame (guint8      first_byte,
              const char *payload,
              gsize       length)
{
  GByteArray *frame = g_byte_array_new ();
  const guint8 mask[4] = { 0x37, 0xfa, 0x21, 0x3d };
  guint8 header[4] = { first_byte };

  if (length < 126)
    header[1] = 0x80 | length, g_byte_array_append (frame, header, 2);
  else
    header[1] = 0x80 | 126, header[2] = length >> 8, header[3] = length & 0xff, g_byte_array_append (frame, header, 4);
  g_byte_array_append (frame, mask, 4);
  for (gsize i = 0; i < length; i++)
    {
      guint8 masked = payload[i] ^ mask[i % 4];

      g_byte_array_append (frame, &masked, 1);
    }
  return frame;
}

/* Reads the next whole server frame: its first byte and payload. */
static guint8
pair_read_frame (Pair       *p,
                 GByteArray *payload)
{
  guint8 header[10];
  guint64 length;
  gsize header_length = 2;
  struct pollfd ready = { .fd = p->fds[1], .events = POLLIN };

  g_byte_array_set_size (payload, 0);
  for (guint i = 0; i < 1000 && poll (&ready, 1, 0) == 0; i++)
    g_main_context_iteration (NULL, FALSE), g_usleep (1000);
  g_assert_cmpint (recv (p->fds[1], header, 2, MSG_WAITALL), ==, 2);
  g_assert_cmpuint (header[1] & 0x80, ==, 0);   /* a server's frames are not masked */
  length = header[1] & 0x7f;
  if (length >= 126)
    {
      header_length = length == 126 ? 4 : 10;
      g_assert_cmpint (recv (p->fds[1], header + 2, header_length - 2, MSG_WAITALL), ==, (gssize) header_length - 2);
      length = 0;
      for (gsize i = 2; i < header_length; i++)
        length = length << 8 | header[i];
    }
  g_byte_array_set_size (payload, length);
  for (gsize at = 0; at < length;)
    {
      gssize n = recv (p->fds[1], payload->data + at, length - at, 0);

      if (n < 0 && errno == EAGAIN)
        {
          g_main_context_iteration (NULL, FALSE);
          continue;
        }
      g_assert_cmpint (n, >, 0);
      at += n;
    }
  return header[0];
}

/* Frames as RFC 6455 has them: split anywhere, fragments with a ping
 * between them, every length encoding, the client's close echoed and the
 * connection then closed by the server. */
static void
test_stream_framing (void)
{
  Pair p = { 0 };
  g_autoptr(GByteArray) payload = g_byte_array_new ();
  g_autoptr(GByteArray) whole = client_frame (0x81, "{\"type\":\"hello\"}", 16);
  g_autoptr(GByteArray) first = client_frame (0x01, "frag", 4);
  g_autoptr(GByteArray) ping = client_frame (0x89, "are you there", 13);
  g_autoptr(GByteArray) last = client_frame (0x80, "mented", 6);
  g_autoptr(GByteArray) close_frame = client_frame (0x88, "\x03\xe8" "bye", 5);
  g_autofree char *medium = g_strnfill (300, 'm');
  g_autofree char *large = g_strnfill (70000, 'l');
  char end;

  pair_open (&p);
  /* One byte at a time: every header field crosses a read. */
  for (guint i = 0; i < whole->len; i++)
    pair_write (&p, whole->data + i, 1);
  g_assert_cmpuint (p.messages->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (p.messages, 0), ==, "{\"type\":\"hello\"}");

  pair_write (&p, first->data, first->len);
  pair_write (&p, ping->data, ping->len);
  g_assert_cmphex (pair_read_frame (&p, payload), ==, 0x8a);
  g_assert_cmpmem (payload->data, payload->len, "are you there", 13);
  g_assert_cmpuint (p.messages->len, ==, 1);
  pair_write (&p, last->data, last->len);
  g_assert_cmpuint (p.messages->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (p.messages, 1), ==, "fragmented");

  g_assert_true (wb_live_stream_can_send (p.stream));
  wb_live_stream_send_text (p.stream, "short");
  wb_live_stream_send_text (p.stream, medium);
  wb_live_stream_send_text (p.stream, large);
  g_assert_cmphex (pair_read_frame (&p, payload), ==, 0x81);
  g_assert_cmpmem (payload->data, payload->len, "short", 5);
  g_assert_cmphex (pair_read_frame (&p, payload), ==, 0x81);
  g_assert_cmpmem (payload->data, payload->len, medium, 300);
  g_assert_cmphex (pair_read_frame (&p, payload), ==, 0x81);
  g_assert_cmpmem (payload->data, payload->len, large, 70000);
  g_assert_cmpuint (wb_live_stream_get_frames (p.stream), ==, 3);

  pair_write (&p, close_frame->data, close_frame->len);
  g_assert_cmphex (pair_read_frame (&p, payload), ==, 0x88);
  g_assert_cmpuint (payload->len, ==, 2);
  g_assert_cmpuint (payload->data[0] << 8 | payload->data[1], ==, 1000);
  g_assert_cmpstr (p.closed, ==, "client");
  g_assert_false (wb_live_stream_is_open (p.stream));
  g_assert_cmpint (recv (p.fds[1], &end, 1, 0), ==, 0);   /* and the server closed the connection */
  pair_close (&p);
}

/* Each way of breaking the protocol closes with its code; nothing of it
 * reaches the owner as a message. */
static void
test_stream_protocol_errors (void)
{
  static const struct
  {
    const char *what;
    guint8      first_byte;
    const char *payload;
    gsize       length;
    gboolean    unmasked;
    guint       code;
  } cases[] = {
    { "unmasked", 0x81, "{}", 2, TRUE, SOUP_WEBSOCKET_CLOSE_PROTOCOL_ERROR },
    { "reserved bit", 0xc1, "{}", 2, FALSE, SOUP_WEBSOCKET_CLOSE_PROTOCOL_ERROR },
    { "continuation first", 0x80, "{}", 2, FALSE, SOUP_WEBSOCKET_CLOSE_PROTOCOL_ERROR },
    { "unknown opcode", 0x83, "{}", 2, FALSE, SOUP_WEBSOCKET_CLOSE_PROTOCOL_ERROR },
    { "fragmented ping", 0x09, "x", 1, FALSE, SOUP_WEBSOCKET_CLOSE_PROTOCOL_ERROR },
    { "binary", 0x82, "{}", 2, FALSE, SOUP_WEBSOCKET_CLOSE_UNSUPPORTED_DATA },
    { "not UTF-8", 0x81, "{\"\xc3\x28\"}", 5, FALSE, SOUP_WEBSOCKET_CLOSE_BAD_DATA },
    { "too big", 0x81, NULL, 1025, FALSE, SOUP_WEBSOCKET_CLOSE_TOO_BIG },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      Pair p = { 0 };
      g_autoptr(GByteArray) payload = g_byte_array_new ();
      g_autofree char *filler = g_strnfill (cases[i].length, ' ');
      g_autoptr(GByteArray) frame = client_frame (cases[i].first_byte, cases[i].payload ? cases[i].payload : filler,
                                                  cases[i].length);

      g_test_message ("%s", cases[i].what);
      if (cases[i].unmasked)
        {
          frame->data[1] &= 0x7f;
          g_byte_array_remove_range (frame, 2, 4);
        }
      pair_open (&p);
      pair_write (&p, frame->data, frame->len);
      g_assert_cmphex (pair_read_frame (&p, payload), ==, 0x88);
      g_assert_cmpuint (payload->len, >, 2);
      g_assert_cmpuint (payload->data[0] << 8 | payload->data[1], ==, cases[i].code);
      g_assert_cmpuint (p.messages->len, ==, 0);
      g_assert_false (wb_live_stream_is_open (p.stream));
      pair_close (&p);
    }
}

/* Changes published while a subscribe is on its way are fanned out before
 * the subscribe takes its view's difference, not after: the new client
 * gets each vehicle once, at the newest seq, never an older update
 * afterwards; and a client panning while changes wait still gets those
 * of vehicles it keeps. The backlog counts the changes waiting. */
static void
test_fanout_join_with_changes_waiting (void)
{
  Share s = { 0 };

  share_setup (&s);
  share_publish (&s, "v1", 53.90);
  share_publish (&s, "v2", 53.91);
  share_read (&s, 50);

  for (guint round = 1; round <= 20; round++)
    {
      g_autofree char *expected = g_strdup_printf ("v1=%.6f,v2=%.6f", 53.90 + round * 0.001, 53.91 + round * 0.001);
      /* Alternately narrower and wider: both views hold v1 and v2. */
      const char *bbox = round % 2 ? "27.40,53.85,27.50,53.95" : "27.30,53.80,27.60,54.00";

      subscribe (s.client, bbox, NULL, 0);
      /* The subscribe is written; the changes wait in the inbox. */
      share_publish (&s, "v1", 53.90 + round * 0.001);
      share_publish (&s, "v2", 53.91 + round * 0.001);
      /* What the gateway counts before it holds the bus back. */
      g_assert_cmpuint (wb_live_fanout_get_backlog (s.fanout), ==, 2);
      share_read (&s, 40);
      g_assert_cmpuint (wb_live_fanout_get_backlog (s.fanout), ==, 0);
      wait_held (s.client, expected);
    }
  share_teardown (&s);
}

/* A new view: left for what went out, entered with full state for what
 * came in; then vehicles crossing its edges. */
static void
test_pan (Fixture       *f,
          gconstpointer  data)
{
  g_autoptr(Client) client = NULL;

  register_fleet (f, 4);
  post_one (f, 1, WEST_LON, 53.90);
  post_one (f, 2, WEST_LON, 53.91);
  post_one (f, 3, EAST_LON, 53.90);
  post_one (f, 4, EAST_LON, 53.91);
  wait_locations (f, "?bbox=" WEST_BBOX, 2);
  wait_locations (f, "?bbox=" EAST_BBOX, 2);

  client = client_connect (f, "", f->viewer);
  g_assert_no_error (client->error);
  subscribe (client, WEST_BBOX, NULL, 0);
  wait_held (client, "v1=53.900000,v2=53.910000");

  subscribe (client, EAST_BBOX, NULL, 0);
  wait_held (client, "v3=53.900000,v4=53.910000");

  post_one (f, 4, WEST_LON, 53.92);          /* leaves */
  wait_held (client, "v3=53.900000");
  post_one (f, 1, EAST_LON, 53.93);          /* enters */
  wait_held (client, "v1=53.930000,v3=53.900000");
}

/* Reconnecting with the last position: exactly what was missed for the
 * view, nothing outside it. */
static void
test_resume_inside_window (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(Client) first = NULL;
  g_autoptr(Client) second = NULL;
  g_autofree char *epoch = NULL;
  guint64 seq;

  register_fleet (f, 2);
  post_one (f, 1, WEST_LON, 53.90);
  post_one (f, 2, EAST_LON, 53.90);
  wait_locations (f, "?bbox=" EAST_BBOX, 1);

  first = client_connect (f, "", f->viewer);
  subscribe (first, WEST_BBOX, NULL, 0);
  wait_held (first, "v1=53.900000");
  epoch = g_strdup (first->epoch);
  seq = first->seq;
  soup_websocket_connection_close (first->connection, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  wait_closed (first);

  post_one (f, 2, EAST_LON, 53.91);          /* outside the view */
  post_one (f, 1, WEST_LON, 53.91);
  post_one (f, 1, WEST_LON, 53.92);
  wait_locations (f, "?bbox=27.40,53.915,27.50,53.95", 1);

  second = client_connect (f, "", f->viewer);
  g_hash_table_insert (second->held, g_strdup ("v1"), g_strdup ("53.900000"));
  subscribe (second, WEST_BBOX, epoch, seq);
  g_assert_cmpstr (next_message (second), ==, "updates");
  g_assert_cmpstr (second->epoch, ==, epoch);
  g_assert_cmpuint (g_hash_table_size (second->held), ==, 1);
  g_assert_cmpstr (g_hash_table_lookup (second->held, "v1"), ==, "53.920000");
}

/* Too far behind (the window holds 3 updates here), or another epoch:
 * resync and a fresh snapshot, never a silent gap. */
static const char * const small_window_args[] = { "--gateway-batch-window=50ms", "--gateway-replay-size=3", NULL };

static void
test_resume_outside_window (Fixture       *f,
                            gconstpointer  data)
{
  g_autoptr(Client) first = NULL;
  g_autoptr(Client) second = NULL;
  g_autoptr(Client) third = NULL;
  g_autofree char *epoch = NULL;
  guint64 seq;

  register_fleet (f, 1);
  post_one (f, 1, WEST_LON, 53.90);
  wait_locations (f, "?bbox=" WEST_BBOX, 1);
  first = client_connect (f, "", f->viewer);
  subscribe (first, WEST_BBOX, NULL, 0);
  wait_held (first, "v1=53.900000");
  epoch = g_strdup (first->epoch);
  seq = first->seq;

  for (guint i = 1; i <= 5; i++)
    post_one (f, 1, WEST_LON, 53.90 + i * 0.001);
  wait_held (first, "v1=53.905000");

  second = client_connect (f, "", f->viewer);
  g_hash_table_insert (second->held, g_strdup ("v1"), g_strdup ("53.900000"));
  subscribe (second, WEST_BBOX, epoch, seq);
  g_assert_cmpstr (next_message (second), ==, "resync");
  g_assert_cmpuint (g_hash_table_size (second->held), ==, 0);
  wait_held (second, "v1=53.905000");

  third = client_connect (f, "", f->viewer);
  subscribe (third, WEST_BBOX, "another-epoch", 1);
  g_assert_cmpstr (next_message (third), ==, "resync");
  wait_held (third, "v1=53.905000");
  g_assert_true (metric_is (f, "waybill_live_resumes_total{outcome=\"resync\"} 2"));
}

/* A restarted gateway has another epoch: a client resuming from the old
 * one gets a resync. */
static void
test_resume_after_restart (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(Client) first = NULL;
  g_autoptr(Client) second = NULL;
  g_autofree char *epoch = NULL;
  guint64 seq;

  register_fleet (f, 1);
  post_one (f, 1, WEST_LON, 53.90);
  wait_locations (f, "?bbox=" WEST_BBOX, 1);
  first = client_connect (f, "", f->viewer);
  subscribe (first, WEST_BBOX, NULL, 0);
  wait_held (first, "v1=53.900000");
  epoch = g_strdup (first->epoch);
  seq = first->seq;

  g_assert_cmpint (wb_test_daemon_terminate (f->daemon), ==, 0);
  wb_test_daemon_free (f->daemon);
  wait_closed (first);
  spawn (f, data);
  post_one (f, 1, WEST_LON, 53.95 - 0.01);
  wait_locations (f, "?bbox=" WEST_BBOX, 1);

  second = client_connect (f, "", f->viewer);
  subscribe (second, WEST_BBOX, epoch, seq);
  g_assert_cmpstr (next_message (second), ==, "resync");
  g_assert_cmpstr (second->epoch, !=, epoch);
  wait_held (second, "v1=53.940000");
}

/* On the in-process bus nothing replays old positions: a restarted
 * gateway fills its map from the vehicles' stored last states before it
 * serves, so the snapshot and a new stream hold every vehicle at once,
 * with its company, at its last position. */
static void
test_map_from_database (Fixture       *f,
                        gconstpointer  data)
{
  const double positions[3][3] = { { 1, WEST_LON, 53.90 }, { 2, WEST_LON, 53.91 }, { 3, EAST_LON, 53.92 } };
  g_autoptr(Client) client = NULL;
  g_autoptr(JsonNode) west = NULL;
  JsonArray *items;

  register_fleet (f, 3);
  wait_devices_known (f, 3);
  post_positions (f, positions, 3);
  wait_locations (f, "?bbox=" WEST_BBOX, 2);
  wait_locations (f, "?bbox=" EAST_BBOX, 1);

  g_assert_cmpint (wb_test_daemon_terminate (f->daemon), ==, 0);
  wb_test_daemon_free (f->daemon);
  spawn (f, data);

  /* Ready means loaded: no waiting here. */
  west = get_locations (f, "?bbox=" WEST_BBOX "&companyId=c1");
  items = json_object_get_array_member (json_node_get_object (west), "items");
  g_assert_cmpuint (json_array_get_length (items), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (items, 0), "vehicleId"), ==, "v1");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (items, 0), "deviceId"), ==, "d1");
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (json_array_get_object_element (items, 0), "lat"),
                                  53.90, 1e-9);
  g_assert_true (metric_is (f, "waybill_live_vehicles 3"));

  client = client_connect (f, "", f->viewer);
  subscribe (client, WEST_BBOX, NULL, 0);
  wait_held (client, "v1=53.900000,v2=53.910000");
}

/* The handshake with no token or a bad one is refused; the token may come
 * as access_token, as browsers cannot set headers. */
static void
test_jwt (Fixture       *f,
          gconstpointer  data)
{
  g_autofree char *query = g_strconcat ("?access_token=", f->viewer, NULL);
  g_autoptr(Client) none = client_connect (f, "", NULL);
  g_autoptr(Client) bad = client_connect (f, "?access_token=not.a.token", NULL);
  g_autoptr(Client) header = client_connect (f, "", f->viewer);
  g_autoptr(Client) param = client_connect (f, query, NULL);

  g_assert_null (none->connection);
  g_assert_nonnull (none->error);
  g_assert_null (bad->connection);
  g_assert_nonnull (bad->error);
  g_assert_no_error (header->error);
  g_assert_no_error (param->error);
  subscribe (param, WEST_BBOX, NULL, 0);
  g_assert_cmpstr (next_message (param), ==, "subscribed");
}

/* A token that expires while its stream is open closes the stream at that
 * moment (exp plus the 30 s leeway REST grants) with 1008, counted; a
 * stream with a valid token stays. */
static void
test_token_expiry (Fixture       *f,
                   gconstpointer  data)
{
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  /* Issued a minute ago, expired 27 s ago: admitted for 3 s more. */
  g_autofree char *expiring = wb_jwt_sign ((const guint8 *) SECRET, strlen (SECRET), "viewer",
                                           WB_ACCESS_ROLE_VIEWER, now - 60, 33);
  g_autoptr(Client) client = client_connect (f, "", expiring);
  g_autoptr(Client) other = client_connect (f, "", f->viewer);
  gint64 connected = g_get_monotonic_time ();
  double seconds;

  g_assert_no_error (client->error);
  subscribe (client, WEST_BBOX, NULL, 0);
  g_assert_cmpstr (next_message (client), ==, "subscribed");
  subscribe (other, WEST_BBOX, NULL, 0);
  g_assert_cmpstr (next_message (other), ==, "subscribed");
  wait_closed (client);
  seconds = (g_get_monotonic_time () - connected) / 1e6;
  g_test_message ("closed after %.2f s", seconds);
  g_assert_cmpfloat (seconds, >, 1.0);
  g_assert_cmpfloat (seconds, <, 6.0);
  g_assert_cmpuint (soup_websocket_connection_get_close_code (client->connection), ==,
                    SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION);
  g_assert_cmpstr (soup_websocket_connection_get_close_data (client->connection), ==, "Token expired");
  g_assert_false (other->closed);
  wait_metric (f, "waybill_live_connections_closed_total{reason=\"token_expired\"} 1");
}

static void
assert_refused (Fixture    *f,
                const char *text,
                gboolean    binary,
                gushort     code,
                const char *reason_part)
{
  g_autoptr(Client) client = client_connect (f, "", f->viewer);

  g_assert_no_error (client->error);
  if (binary)
    soup_websocket_connection_send_binary (client->connection, text, strlen (text));
  else
    soup_websocket_connection_send_text (client->connection, text);
  wait_closed (client);
  g_test_message ("%s: %u %s", text, soup_websocket_connection_get_close_code (client->connection),
                  soup_websocket_connection_get_close_data (client->connection));
  g_assert_cmpuint (soup_websocket_connection_get_close_code (client->connection), ==, code);
  g_assert_nonnull (strstr (soup_websocket_connection_get_close_data (client->connection), reason_part));
}

/* Anything but a valid subscribe closes the stream with 1003 or 1007 and
 * a reason naming what is wrong, and is counted. */
static void
test_bad_subscribe (Fixture       *f,
                    gconstpointer  data)
{
  assert_refused (f, "{\"type\":\"subscribe\",\"bbox\":", FALSE, SOUP_WEBSOCKET_CLOSE_BAD_DATA, "JSON");
  assert_refused (f, "{\"type\":\"subscribe\",\"bbox\":[170,10,-170,20]}", FALSE, SOUP_WEBSOCKET_CLOSE_BAD_DATA,
                  "bbox");
  assert_refused (f, "{\"type\":\"subscribe\",\"bbox\":[1,2,3]}", FALSE, SOUP_WEBSOCKET_CLOSE_BAD_DATA, "bbox");
  assert_refused (f, "{\"type\":\"hello\"}", FALSE, SOUP_WEBSOCKET_CLOSE_BAD_DATA, "type");
  assert_refused (f, "{\"type\":\"subscribe\",\"bbox\":[1,2,3,4],\"zoom\":3}", FALSE,
                  SOUP_WEBSOCKET_CLOSE_BAD_DATA, "zoom");
  assert_refused (f, "{\"type\":\"subscribe\"}", TRUE, SOUP_WEBSOCKET_CLOSE_UNSUPPORTED_DATA, "text");
  g_assert_true (metric_is (f, "waybill_live_connections_closed_total{reason=\"bad_message\"} 6"));
}

/* A client may send its subscribe right behind the handshake, before the
 * 101 arrives; whatever the HTTP side read past the handshake is the
 * stream's first message. */
static void
test_subscribe_with_handshake (Fixture       *f,
                               gconstpointer  data)
{
  const char *subscribe_text = "{\"type\":\"subscribe\",\"bbox\":[" WEST_BBOX "]}";
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, f->port);
  g_autoptr(GString) request = g_string_new (NULL);
  g_autoptr(GString) received = g_string_new (NULL);
  gint64 deadline = g_get_monotonic_time () + WAIT_S * G_USEC_PER_SEC;
  const guint8 mask[4] = { 9, 8, 7, 6 };
  guint8 header[4] = { 0x81, 0x80 | strlen (subscribe_text) };

  g_string_printf (request, "GET /ws/locations HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                   "Sec-WebSocket-Version: 13\r\nAuthorization: Bearer %s\r\n\r\n", f->viewer);
  g_string_append_len (request, (const char *) header, 2);
  g_string_append_len (request, (const char *) mask, 4);
  for (gsize i = 0; subscribe_text[i] != '\0'; i++)
    g_string_append_c (request, subscribe_text[i] ^ mask[i % 4]);
  g_assert_true (g_socket_connect (socket, address, NULL, NULL));
  g_assert_cmpint (g_socket_send (socket, request->str, request->len, NULL, NULL), ==, (gssize) request->len);
  g_socket_set_timeout (socket, 1);
  while (strstr (received->str, "\"type\":\"subscribed\"") == NULL)
    {
      char buffer[4096];
      gssize n = g_socket_receive (socket, buffer, sizeof buffer, NULL, NULL);

      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      if (n > 0)
        g_string_append_len (received, buffer, n);
      else
        g_assert_cmpint (n, !=, 0);
    }
  g_assert_true (g_str_has_prefix (received->str, "HTTP/1.1 101"));
}

/* A client nobody here wrote, Debian's python3-websockets: subscribe,
 * its own ping, a refused subscribe and its own close, each close
 * handshake completed at once (tests/ws-outside-client.py). */
static void
test_outside_client (Fixture       *f,
                     gconstpointer  data)
{
  g_autofree char *script = g_test_build_filename (G_TEST_DIST, "ws-outside-client.py", NULL);
  g_autofree char *port = g_strdup_printf ("%u", f->port);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  const char *python = g_file_test ("/usr/bin/python3", G_FILE_TEST_IS_EXECUTABLE) ? "/usr/bin/python3" : "python3";
  const char *argv[] = { python, script, port, f->viewer, WEST_BBOX, NULL };
  g_autoptr(GError) error = NULL;
  int status = 0;

  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err, &status,
                               &error));
  g_assert_no_error (error);
  g_test_message ("%s%s", out, err);
  if (WIFEXITED (status) && WEXITSTATUS (status) == 77)
    {
      g_test_skip ("python3-websockets is not installed");
      return;
    }
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_nonnull (strstr (out, "ok: the client's close handshake completed"));
}

/* A client that subscribes and then never reads. */
static GSocketConnection *
stalled_client (Fixture *f)
{
  const char *subscribe_text = "{\"type\":\"subscribe\",\"bbox\":[" WEST_BBOX "]}";
  GSocketConnection *connection = wb_test_ws_raw_connect (f->port, "/ws/locations", f->viewer);

  g_assert_true (wb_test_ws_send_frame (connection, 0x81, subscribe_text, strlen (subscribe_text)));
  return connection;
}

static const char * const slow_args[] = {
  "--gateway-batch-window=20ms", "--gateway-outbox-bound=2", "--gateway-slow-deadline=1s", NULL
};

/* A client that stops reading is closed past the deadline; another keeps
 * getting every update meanwhile. */
static void
test_stalled_client_closed (Fixture       *f,
                            gconstpointer  data)
{
  g_autoptr(Client) reader = NULL;
  g_autoptr(GSocketConnection) stalled = NULL;
  g_autoptr(GString) expected = g_string_new (NULL);
  const guint vehicles = 12;
  gint64 deadline;

  register_fleet (f, vehicles);
  wait_devices_known (f, vehicles);
  reader = client_connect (f, "", f->viewer);
  subscribe (reader, WEST_BBOX, NULL, 0);
  g_assert_cmpstr (next_message (reader), ==, "subscribed");
  stalled = stalled_client (f);

  for (guint round = 1; round <= 400 && !metric_is (f, "waybill_live_connections_closed_total{reason=\"slow\"} 1");
       round++)
    {
      double positions[12][3];

      for (guint i = 0; i < vehicles; i++)
        positions[i][0] = i + 1, positions[i][1] = WEST_LON, positions[i][2] = 53.86 + round * 0.0002;
      post_positions (f, (const double (*)[3]) positions, vehicles);
      while (!g_queue_is_empty (&reader->messages) || g_main_context_pending (NULL))
        {
          g_main_context_iteration (NULL, FALSE);
          if (!g_queue_is_empty (&reader->messages))
            next_message (reader);
        }
      g_usleep (20 * 1000);
    }
  deadline = g_get_monotonic_time () + WAIT_S * G_USEC_PER_SEC;
  while (!metric_is (f, "waybill_live_connections_closed_total{reason=\"slow\"} 1"))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (100 * 1000);
    }
  /* What the stalled client finds once it reads again: the close, as slow. */
  g_assert_cmpuint (wb_test_ws_read_close_code (stalled, WAIT_S), ==, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION);

  /* The reader is still served, up to the last position. */
  post_one (f, 1, WEST_LON, 53.94);
  deadline = g_get_monotonic_time () + WAIT_S * G_USEC_PER_SEC;
  while (g_strcmp0 (g_hash_table_lookup (reader->held, "v1"), "53.940000") != 0)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, FALSE);
      if (!g_queue_is_empty (&reader->messages))
        next_message (reader);
      g_usleep (1000);
    }
  g_assert_cmpuint (g_hash_table_size (reader->held), ==, vehicles);
}

/* Until the client's last word on @vehicle_id's state is @state. */
static void
wait_state (Client     *client,
            const char *vehicle_id,
            const char *state)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_S * G_USEC_PER_SEC;

  while (g_strcmp0 (g_hash_table_lookup (client->states, vehicle_id), state) != 0)
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("%s never became %s", vehicle_id, state);
      g_main_context_iteration (NULL, FALSE);
      if (!g_queue_is_empty (&client->messages))
        next_message (client);
      g_usleep (1000);
    }
}

static const char * const offline_args[] = { "--gateway-batch-window=50ms", "--offline-after=2s", NULL };

/* device.offline and device.online reach the views holding the vehicle. */
static void
test_offline_online (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(Client) client = NULL;
  g_autoptr(JsonNode) offline = NULL;

  register_fleet (f, 1);
  client = client_connect (f, "", f->viewer);
  subscribe (client, WEST_BBOX, NULL, 0);
  g_assert_cmpstr (next_message (client), ==, "subscribed");
  /* Ingest's clock: the fix is recent, so the silence counts from now. */
  f->next_fix = g_get_real_time () / 1000 - 1000;
  post_one (f, 1, WEST_LON, 53.90);
  wait_state (client, "v1", "moving");
  wait_state (client, "v1", "offline");
  offline = get_locations (f, "?state=offline");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (json_node_get_object (offline), "items")),
                    ==, 1);
  post_one (f, 1, WEST_LON, 53.91);
  wait_state (client, "v1", "moving");
  g_assert_cmpstr (g_hash_table_lookup (client->held, "v1"), ==, "53.910000");
}

static const char * const limit_args[] = {
  "--gateway-max-message-size=16K", "--gateway-max-connections-per-peer=2",
  "--gateway-keepalive=1s", "--gateway-pong-timeout=2s", NULL
};

/* libsoup 3.2 caps each frame, not a message: 8 KiB fragments, each under
 * the 16 KiB cap, must not add up to more than the cap. */
static void
test_fragmented_message_capped (Fixture       *f,
                                gconstpointer  data)
{
  g_autoptr(GSocketConnection) connection = wb_test_ws_raw_connect (f->port, "/ws/locations", f->viewer);
  g_autofree char *fragment = g_strnfill (8 * 1024, ' ');
  guint sent = 0;

  if (wb_test_ws_send_frame (connection, 0x01, fragment, 8 * 1024))
    for (sent = 1; sent < 200 && wb_test_ws_send_frame (connection, 0x00, fragment, 8 * 1024); sent++)
      ;
  /* Loopback buffers take all of them before the server has looked. */
  g_test_message ("%u fragments of 8 KiB sent", sent);
  g_assert_cmpuint (wb_test_ws_read_close_code (connection, WAIT_S), ==, SOUP_WEBSOCKET_CLOSE_TOO_BIG);
  wait_metric (f, "waybill_live_connections_closed_total{reason=\"too_big\"} 1");
}

/* Past the per-address limit the stream is closed at once, saying why. */
static void
test_connections_per_peer (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(Client) first = client_connect (f, "", f->viewer);
  g_autoptr(Client) second = client_connect (f, "", f->viewer);
  g_autoptr(Client) third = client_connect (f, "", f->viewer);

  g_assert_no_error (third->error);
  wait_closed (third);
  g_assert_cmpuint (soup_websocket_connection_get_close_code (third->connection), ==,
                    SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION);
  g_assert_nonnull (strstr (soup_websocket_connection_get_close_data (third->connection), "Too many"));
  g_assert_false (first->closed);
  g_assert_false (second->closed);
  g_assert_true (metric_is (f, "waybill_live_connections_rejected_total{reason=\"per_peer\"} 1"));
}

/* A client that answers no ping is closed after the pong timeout. */
static void
test_pong_timeout (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GSocketConnection) silent = wb_test_ws_raw_connect (f->port, "/ws/locations", f->viewer);
  g_autoptr(Client) alive = client_connect (f, "", f->viewer);
  gint64 deadline = g_get_monotonic_time () + WAIT_S * G_USEC_PER_SEC;

  while (!metric_is (f, "waybill_live_connections_closed_total{reason=\"pong_timeout\"} 1"))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (10 * 1000);
    }
  /* libsoup's client answers pings: still open. */
  for (guint i = 0; i < 300; i++)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (10 * 1000);
    }
  g_assert_false (alive->closed);

  /* The silent one was aborted, not given a FIN that would wait behind
   * whatever it left unread: past what it was sent, a reset. */
  {
    int fd = g_socket_get_fd (g_socket_connection_get_socket (silent));
    gssize got;
    char buffer[4096];

    deadline = g_get_monotonic_time () + WAIT_S * G_USEC_PER_SEC;
    do
      {
        struct pollfd readable = { .fd = fd, .events = POLLIN };

        g_assert_cmpint (g_get_monotonic_time (), <, deadline);
        (void) poll (&readable, 1, 100);
        got = recv (fd, buffer, sizeof buffer, MSG_DONTWAIT);
      }
    while (got > 0 || (got < 0 && (errno == EAGAIN || errno == EINTR)));
    g_assert_cmpint (got, ==, -1);
    g_assert_cmpint (errno, ==, ECONNRESET);
  }
}

#if WB_HAVE_KAFKA
static guint
count_locations (WbTestDaemon *d)
{
  g_autofree char *body = NULL;
  g_autoptr(JsonNode) answer = NULL;

  if (http_get (d, "/locations?bbox=" WEST_BBOX, &body) != 200)
    return 0;
  answer = wb_json_parse (body, strlen (body), NULL, NULL);
  return json_array_get_length (json_object_get_array_member (json_node_get_object (answer), "items"));
}

/* With Kafka, each gateway reads in a consumer group of its own: two of
 * them both see every position, not half each. */
static void
test_kafka_two_gateways (void)
{
  const guint vehicles = 20;
  World *w;
  WbTestDaemon *a, *b;
  gint64 deadline;

  wb_test_kafka_init (1);
  w = world_new (4);
  a = daemon_start (w, "gateway");
  b = daemon_start (w, "gateway");
  for (guint i = 1; i <= vehicles; i++)
    {
      g_autofree char *key = g_strdup_printf ("v%u", i);
      g_autofree char *payload = g_strdup_printf (
        "{\"device_id\":\"d%u\",\"protocol\":\"json\",\"device_time\":\"2026-01-01T10:00:00.000Z\","
        "\"server_time\":\"2026-01-01T10:00:01.000Z\",\"lat\":53.9,\"lon\":%.4f,\"attributes\":{},"
        "\"vehicle_id\":\"v%u\",\"company_id\":\"c1\"}", i, WEST_LON + i * 0.001, i);

      produce (w, "positions.enriched", key, payload);
    }
  produce_flush ();
  deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (count_locations (a) != vehicles || count_locations (b) != vehicles)
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("gateways hold %u and %u of %u vehicles", count_locations (a), count_locations (b), vehicles);
      g_usleep (100 * 1000);
    }
  g_assert_cmpint (wb_test_daemon_terminate (a), ==, 0);
  g_assert_cmpint (wb_test_daemon_terminate (b), ==, 0);
  wb_test_daemon_free (a);
  wb_test_daemon_free (b);
  world_free (w);
  wb_test_kafka_teardown ();
}
#endif

static WbEnrichedPosition *
enriched_position (const char *driver_id,
                   const char *trip_id,
                   double      speed,
                   double      heading,
                   int         ignition,
                   int         moving)
{
  WbPosition *position = wb_position_new ();
  WbFleetEnrichment *enrichment = g_atomic_rc_box_new0 (WbFleetEnrichment);

  position->device_id = g_strdup ("dev-7");
  position->protocol = WB_PROTOCOL_TELTONIKA;
  position->device_time = G_GINT64_CONSTANT (1765100000123000);
  position->server_time = G_GINT64_CONSTANT (1765100000456000);
  position->lat = 53.901234;
  position->lon = 27.561234;
  position->speed_kmh = speed;
  position->heading = heading;
  position->ignition = ignition;
  position->moving = moving;
  enrichment->vehicle_id = g_strdup ("v7");
  enrichment->plate = g_strdup ("1234 AB-7");
  enrichment->driver_id = g_strdup (driver_id);
  enrichment->company_id = g_strdup ("c1");
  enrichment->trip_id = g_strdup (trip_id);
  return wb_enriched_position_new (position, enrichment);
}

static void
assert_same_vehicle (const WbEnrichedPosition *enriched,
                     const WbLiveVehicle      *old)
{
  char *json = wb_enriched_position_to_json (enriched);
  gsize length = strlen (json);
  g_autoptr(GBytes) payload = g_bytes_new_take (json, length);
  g_autoptr(WbLiveVehicle) from_struct = wb_live_vehicle_from_enriched (enriched, old);
  g_autoptr(WbLiveVehicle) from_json = wb_live_vehicle_from_json (payload, old);

  g_assert_nonnull (from_struct);
  g_assert_nonnull (from_json);
  g_assert_cmpint (from_struct->fix_time, ==, from_json->fix_time);
  g_assert_cmpint (from_struct->server_time, ==, from_json->server_time);
  g_assert_cmpint (from_struct->accepted_at, ==, from_json->accepted_at);
  g_assert_cmpint (from_struct->state, ==, from_json->state);
  g_assert_cmpint (from_struct->ignition, ==, from_json->ignition);
  /* Everything a stream shows, alike to the byte. */
  g_assert_cmpstr (wb_live_vehicle_get_stream_json (from_struct, NULL), ==,
                   wb_live_vehicle_get_stream_json (from_json, NULL));
}

/* A position reaches the map from the fleet role's struct in process and
 * from JSON over Kafka: both make the same vehicle. */
static void
test_position_struct_and_json_agree (void)
{
  g_autoptr(WbLiveVehicle) old = wb_live_vehicle_new ("v7");
  WbEnrichedPosition *full = enriched_position ("d1", "t1", 42.5, 90, 1, -1);
  WbEnrichedPosition *sparse = enriched_position (NULL, NULL, NAN, NAN, -1, 0);
  WbEnrichedPosition *parked = enriched_position ("d2", NULL, 0.4, 180, 0, -1);

  old->driver_id = g_strdup ("d0");
  old->trip_id = g_strdup ("t0");
  assert_same_vehicle (full, NULL);
  assert_same_vehicle (full, old);
  assert_same_vehicle (sparse, NULL);
  /* Kept from before where the position says nothing: the driver. */
  assert_same_vehicle (sparse, old);
  assert_same_vehicle (parked, old);
  {
    g_autoptr(WbLiveVehicle) moving = wb_live_vehicle_from_enriched (full, NULL);
    g_autoptr(WbLiveVehicle) kept = wb_live_vehicle_from_enriched (sparse, old);
    g_autoptr(WbLiveVehicle) stopped = wb_live_vehicle_from_enriched (parked, NULL);

    g_assert_cmpint (moving->state, ==, WB_LIVE_STATE_MOVING);
    g_assert_cmpint (moving->ignition, ==, WB_LIVE_IGNITION_ON);
    g_assert_cmpstr (moving->trip_id, ==, "t1");
    g_assert_cmpstr (kept->driver_id, ==, "d0");
    g_assert_null (kept->trip_id);
    g_assert_cmpint (kept->state, ==, WB_LIVE_STATE_STOPPED);
    g_assert_cmpint (stopped->state, ==, WB_LIVE_STATE_STOPPED);
    g_assert_cmpint (stopped->ignition, ==, WB_LIVE_IGNITION_OFF);
  }
  wb_enriched_position_free (full);
  wb_enriched_position_free (sparse);
  wb_enriched_position_free (parked);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add ("/gateway/snapshot-then-stream", Fixture, default_args, setup, test_snapshot_then_stream, teardown);
  g_test_add ("/gateway/pan", Fixture, default_args, setup, test_pan, teardown);
  g_test_add ("/gateway/own-thread", Fixture, default_args, setup, test_own_thread, teardown);
  g_test_add ("/gateway/resume/inside-window", Fixture, default_args, setup, test_resume_inside_window, teardown);
  g_test_add_func ("/gateway/fanout/join-with-changes-waiting", test_fanout_join_with_changes_waiting);
  g_test_add_func ("/gateway/stream/framing", test_stream_framing);
  g_test_add_func ("/gateway/stream/protocol-errors", test_stream_protocol_errors);
  g_test_add ("/gateway/threads/served-apart", Fixture, threads_args, setup, test_threads_served_apart, teardown);
  g_test_add ("/gateway/threads/all-receive", Fixture, threads_args, setup, test_threads_all_receive, teardown);
  g_test_add ("/gateway/threads/snapshot-then-stream", Fixture, threads_args, setup,
              test_threads_snapshot_then_stream, teardown);
  g_test_add ("/gateway/threads/stalled-apart", Fixture, threads_stalled_args, setup, test_threads_stalled_apart,
              teardown);
  g_test_add ("/gateway/resume/outside-window", Fixture, small_window_args, setup, test_resume_outside_window,
              teardown);
  g_test_add ("/gateway/resume/after-restart", Fixture, default_args, setup, test_resume_after_restart, teardown);
  g_test_add ("/gateway/map-from-database", Fixture, default_args, setup, test_map_from_database, teardown);
  g_test_add ("/gateway/offline-online", Fixture, offline_args, setup, test_offline_online, teardown);
  g_test_add ("/gateway/jwt", Fixture, default_args, setup, test_jwt, teardown);
  g_test_add ("/gateway/token-expiry", Fixture, default_args, setup, test_token_expiry, teardown);
  g_test_add ("/gateway/bad-subscribe", Fixture, default_args, setup, test_bad_subscribe, teardown);
  g_test_add ("/gateway/subscribe-with-handshake", Fixture, default_args, setup, test_subscribe_with_handshake,
              teardown);
  g_test_add ("/gateway/outside-client", Fixture, default_args, setup, test_outside_client, teardown);
  g_test_add_func ("/gateway/position/struct-and-json-agree", test_position_struct_and_json_agree);
  g_test_add ("/gateway/stalled-client-closed", Fixture, slow_args, setup, test_stalled_client_closed, teardown);
  g_test_add ("/gateway/limits/fragmented-message", Fixture, limit_args, setup, test_fragmented_message_capped,
              teardown);
  g_test_add ("/gateway/limits/connections-per-peer", Fixture, limit_args, setup, test_connections_per_peer,
              teardown);
  g_test_add ("/gateway/limits/pong-timeout", Fixture, limit_args, setup, test_pong_timeout, teardown);
  /* Last: it stops the test PostgreSQL. */
#if WB_HAVE_KAFKA
  g_test_add_func ("/gateway/kafka/two-gateways", test_kafka_two_gateways);
#endif
  return g_test_run ();
}
