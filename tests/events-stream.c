// SPDX-License-Identifier: GPL-3.0-or-later
/* The /ws/events stream end to end: a real waybilld on a real PostgreSQL,
 * shipments created and moved over REST, the stream read by WebSocket
 * clients written with libsoup's client API. */

#include "config.h"

#include <libsoup/soup.h>
#include <string.h>
#include <sys/socket.h>

#include "wb-json.h"
#include "wb-jwt.h"
#include "wb-test-daemon.h"
#include "wb-test-pg.h"
#include "wb-test-schema.h"
#include "wb-test-ws.h"

#define SECRET "events-test-secret-0123456789abcdef"
#define WAIT_S 20

/* Every frame a client receives is checked against events-stream.schema.json. */
static WbTestSchemaSet *schemas;

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
} Fixture;

typedef struct
{
  SoupWebsocketConnection *connection;
  GError                  *error;
  gboolean                 done;
  gboolean                 closed;
  GQueue                   frames;     /* JsonNode, not events */
  GPtrArray               *events;     /* JsonNode, every event received, in order */
  char                    *epoch;
  guint64                  seq;
} Client;

/* ---- REST --------------------------------------------------------------- */

static guint
call_as (Fixture     *f,
         const char  *token,
         const char  *method,
         const char  *path,
         const char  *body,
         JsonNode   **out_answer)
{
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u%s", f->port, path);
  g_autofree char *bearer = g_strconcat ("Bearer ", token, NULL);
  g_autoptr(SoupMessage) message = soup_message_new (method, uri);
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

static guint
call (Fixture     *f,
      const char  *method,
      const char  *path,
      const char  *body,
      JsonNode   **out_answer)
{
  return call_as (f, f->dispatcher, method, path, body, out_answer);
}

/* A position of device d1 fixed now; whether ingest accepted it (it
 * refuses a device it has not learnt of yet from the bus). */
static gboolean
post_position (Fixture *f)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *timestamp = g_date_time_format (now, "%Y-%m-%dT%H:%M:%S.%fZ");
  g_autofree char *body = g_strdup_printf ("[{\"deviceId\":\"d1\",\"timestamp\":\"%s\",\"lat\":53.9,"
                                           "\"lon\":27.45,\"speed\":30}]", timestamp);
  g_autoptr(JsonNode) answer = NULL;

  g_assert_cmpuint (call (f, "POST", "/telemetry", body, &answer), ==, 200);
  return json_object_get_int_member (json_node_get_object (answer), "accepted") == 1;
}

/* @extra: more members of the body, each starting with a comma. */
static char *
create_shipment (Fixture    *f,
                 const char *client_id,
                 const char *extra)
{
  g_autofree char *body = g_strdup_printf (
    "{\"clientId\":\"%s\",\"serviceLevel\":\"standard\",\"reference\":\"ORD-1\","
    "\"recipient\":{\"name\":\"Ann Smith\",\"phone\":\"+375291234567\",\"email\":\"ann@example.org\"},"
    "\"origin\":{\"country\":\"BY\",\"city\":\"Brest\"},"
    "\"destination\":{\"country\":\"BY\",\"city\":\"Minsk\",\"line1\":\"Nezavisimosti 1\",\"postalCode\":\"220030\","
    "\"lat\":53.9,\"lon\":27.56}%s}", client_id, extra);
  g_autoptr(JsonNode) answer = NULL;

  g_assert_cmpuint (call (f, "POST", "/shipments", body, &answer), ==, 201);
  return g_strdup (json_object_get_string_member (json_node_get_object (answer), "id"));
}

static void
post_status (Fixture    *f,
             const char *id,
             const char *event_id,
             const char *status)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr(GDateTime) then = g_date_time_add_minutes (now, 60);
  g_autofree char *occurred_at = g_date_time_format (then, "%Y-%m-%dT%H:%M:%SZ");
  g_autofree char *path = g_strdup_printf ("/shipments/%s/events", id);
  g_autofree char *body = g_strdup_printf ("{\"eventId\":\"%s\",\"source\":\"dhl\",\"status\":\"%s\","
                                           "\"statusRaw\":\"scan\",\"occurredAt\":\"%s\"}",
                                           event_id, status, occurred_at);

  g_assert_cmpuint (call (f, "POST", path, body, NULL), ==, 201);
}

/* ---- the daemon --------------------------------------------------------- */

static void
setup (Fixture       *f,
       gconstpointer  data)
{
  const char * const *args = data;
  g_autofree char *dsn = NULL;
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  f->conninfo = wb_test_pg_create_database ("events_stream");
  f->session = soup_session_new_with_options ("timeout", 30, NULL);
  f->ws_session = soup_session_new ();
  f->viewer = wb_jwt_sign ((const guint8 *) SECRET, strlen (SECRET), "viewer", WB_ACCESS_ROLE_VIEWER, now, 600);
  f->dispatcher = wb_jwt_sign ((const guint8 *) SECRET, strlen (SECRET), "dispatcher",
                               WB_ACCESS_ROLE_DISPATCHER, now, 600);
  f->admin = wb_jwt_sign ((const guint8 *) SECRET, strlen (SECRET), "admin", WB_ACCESS_ROLE_ADMIN, now, 600);
  dsn = g_strconcat ("DB_DSN=", f->conninfo, NULL);
  {
    const char *env[] = { dsn, "AUTH_HS256SECRET=" SECRET, NULL };

    f->daemon = wb_test_daemon_spawn (env, args);
  }
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
teardown (Fixture       *f,
          gconstpointer  data)
{
  g_assert_cmpint (wb_test_daemon_terminate (f->daemon), ==, 0);
  wb_test_daemon_free (f->daemon);
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
  JsonObject *frame;

  g_assert_no_error (error);
  if (!wb_test_schema_validate (schemas, "events-stream.schema.json", "", node, &error))
    g_error ("a frame does not match events-stream.schema.json: %s", error->message);
  frame = json_node_get_object (node);
  if (g_str_equal (json_object_get_string_member (frame, "type"), "events"))
    {
      JsonArray *events = json_object_get_array_member (frame, "events");

      g_assert_cmpuint (json_array_get_length (events), >, 0);
      for (guint i = 0; i < json_array_get_length (events); i++)
        g_ptr_array_add (client->events, json_node_copy (json_array_get_element (events, i)));
      json_node_unref (node);
      return;
    }
  g_queue_push_tail (&client->frames, node);
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

static Client *
client_connect (Fixture    *f,
                const char *query,
                const char *token)
{
  g_autofree char *uri = g_strdup_printf ("ws://127.0.0.1:%u/ws/events%s", f->port, query);
  Client *client = g_new0 (Client, 1);

  client->events = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
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
  g_queue_clear_full (&client->frames, (GDestroyNotify) json_node_unref);
  g_ptr_array_unref (client->events);
  g_clear_error (&client->error);
  g_free (client->epoch);
  g_free (client);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Client, client_free)

/* The next frame that is not an events frame: its type; keeps its position. */
static const char *
next_frame (Client *client)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_S * G_USEC_PER_SEC;
  static char type[32];
  g_autoptr(JsonNode) node = NULL;
  JsonObject *frame;

  while (g_queue_is_empty (&client->frames))
    {
      if (client->closed || g_get_monotonic_time () > deadline)
        g_error ("no frame from the events stream");
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  node = g_queue_pop_head (&client->frames);
  frame = json_node_get_object (node);
  g_free (client->epoch);
  client->epoch = g_strdup (json_object_get_string_member (frame, "epoch"));
  client->seq = json_object_get_int_member (frame, "seq");
  g_strlcpy (type, json_object_get_string_member (frame, "type"), sizeof type);
  return type;
}

/* @members: e.g. "\"kinds\":[\"shipment\"]", or "". */
static void
subscribe (Client     *client,
           const char *members)
{
  g_autofree char *text = g_strdup_printf ("{\"type\":\"subscribe\"%s%s}", *members ? "," : "", members);

  soup_websocket_connection_send_text (client->connection, text);
  g_assert_cmpstr (next_frame (client), ==, "subscribed");
}

/* Waits for an event of @kind about @shipment_id (any when NULL) with
 * @status (any when NULL); returns it. */
static JsonObject *
wait_event (Client     *client,
            const char *kind,
            const char *shipment_id,
            const char *status)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_S * G_USEC_PER_SEC;

  for (guint i = 0;; )
    {
      for (; i < client->events->len; i++)
        {
          JsonObject *event = json_node_get_object (g_ptr_array_index (client->events, i));

          if (g_str_equal (json_object_get_string_member (event, "kind"), kind)
              && (shipment_id == NULL
                  || g_strcmp0 (json_object_get_string_member_with_default (event, "shipmentId", NULL),
                                shipment_id) == 0)
              && (status == NULL || g_strcmp0 (json_object_get_string_member (event, "status"), status) == 0))
            return event;
        }
      if (client->closed || g_get_monotonic_time () > deadline)
        g_error ("no %s event for %s", kind, shipment_id ? shipment_id : "any");
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
}

static gboolean
has_shipment (Client     *client,
              const char *shipment_id)
{
  for (guint i = 0; i < client->events->len; i++)
    {
      JsonObject *event = json_node_get_object (g_ptr_array_index (client->events, i));

      if (g_strcmp0 (json_object_get_string_member_with_default (event, "shipmentId", NULL), shipment_id) == 0)
        return TRUE;
    }
  return FALSE;
}

static void
wait_closed (Client *client)
{
  iterate_until (&client->closed, "the stream to close");
}

/* ---- the cases ---------------------------------------------------------- */

static const char * const default_args[] = { "--gateway-batch-window=50ms", NULL };

/* A status change reaches every subscriber of all shipments with its seq,
 * and only the subscribers of its client. */
static void
test_status_and_client_filter (Fixture       *f,
                               gconstpointer  data)
{
  g_autofree char *query = g_strconcat ("?access_token=", f->viewer, NULL);
  g_autoptr(Client) all = client_connect (f, query, NULL);
  g_autoptr(Client) acme = client_connect (f, "", f->viewer);
  g_autofree char *other_id = NULL;
  g_autofree char *acme_id = NULL;
  JsonObject *event;
  gint64 seq;

  g_assert_no_error (all->error);
  g_assert_no_error (acme->error);
  subscribe (all, "");
  subscribe (acme, "\"kinds\":[\"shipment\"],\"clientIds\":[\"acme\",\"nobody\"]");
  other_id = create_shipment (f, "other", "");
  acme_id = create_shipment (f, "acme", "");
  post_status (f, other_id, "o-1", "IN_TRANSIT");
  post_status (f, acme_id, "a-1", "IN_TRANSIT");

  event = wait_event (all, "shipment", other_id, "IN_TRANSIT");
  g_assert_cmpstr (json_object_get_string_member (event, "type"), ==, "shipment.status_changed");
  g_assert_cmpstr (json_object_get_string_member (event, "clientId"), ==, "other");
  seq = json_object_get_int_member (event, "seq");
  g_assert_cmpint (seq, >, (gint64) all->seq);
  event = wait_event (all, "shipment", acme_id, "IN_TRANSIT");
  g_assert_cmpint (json_object_get_int_member (event, "seq"), >, seq);

  event = wait_event (acme, "shipment", acme_id, "IN_TRANSIT");
  g_assert_cmpstr (json_object_get_string_member (event, "clientId"), ==, "acme");
  g_assert_true (json_object_has_member (event, "previousStatus"));
  /* Sent in seq order: the other client's change would have come first. */
  g_assert_false (has_shipment (acme, other_id));
}

/* A client resuming inside the window gets exactly what it missed; with
 * another epoch it is told to resync. */
static void
test_resume (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(Client) first = client_connect (f, "", f->viewer);
  g_autoptr(Client) watcher = client_connect (f, "", f->viewer);
  g_autoptr(Client) resumed = NULL;
  g_autoptr(Client) stranger = NULL;
  g_autofree char *id = NULL;
  g_autofree char *since = NULL;
  g_autofree char *other_epoch = NULL;
  gint64 since_seq;

  subscribe (first, "\"kinds\":[\"shipment\"]");
  subscribe (watcher, "\"kinds\":[\"shipment\"]");
  id = create_shipment (f, "acme", "");
  post_status (f, id, "r-1", "INFO_RECEIVED");
  since_seq = json_object_get_int_member (wait_event (first, "shipment", id, "INFO_RECEIVED"), "seq");
  since = g_strdup_printf ("\"kinds\":[\"shipment\"],\"since\":{\"epoch\":\"%s\",\"seq\":%" G_GINT64_FORMAT "}",
                           first->epoch, since_seq);
  soup_websocket_connection_close (first->connection, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  wait_closed (first);

  post_status (f, id, "r-2", "IN_TRANSIT");
  post_status (f, id, "r-3", "OUT_FOR_DELIVERY");
  (void) wait_event (watcher, "shipment", id, "OUT_FOR_DELIVERY");

  resumed = client_connect (f, "", f->viewer);
  subscribe (resumed, since);
  g_assert_cmpstr (resumed->epoch, ==, first->epoch);
  (void) wait_event (resumed, "shipment", id, "OUT_FOR_DELIVERY");
  /* Exactly the two missed changes, in order, nothing from before. */
  g_assert_cmpuint (resumed->events->len, ==, 2);
  for (guint i = 0; i < resumed->events->len; i++)
    g_assert_cmpint (json_object_get_int_member (json_node_get_object (g_ptr_array_index (resumed->events, i)),
                                                 "seq"), >, since_seq);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (g_ptr_array_index (resumed->events, 0)),
                                                  "status"), ==, "IN_TRANSIT");

  other_epoch = g_strdup_printf ("\"since\":{\"epoch\":\"%s-old\",\"seq\":1}", first->epoch);
  stranger = client_connect (f, "", f->viewer);
  subscribe (stranger, other_epoch);
  g_assert_cmpstr (next_frame (stranger), ==, "resync");
}

static const char * const small_window_args[] = { "--gateway-batch-window=50ms", "--gateway-replay-size=3", NULL };

/* A position older than the window's oldest event gets resync. */
static void
test_resume_outside_window (Fixture       *f,
                            gconstpointer  data)
{
  g_autoptr(Client) watcher = client_connect (f, "", f->viewer);
  g_autoptr(Client) late = NULL;
  g_autofree char *since = NULL;
  const char *statuses[] = { "INFO_RECEIVED", "IN_TRANSIT", "OUT_FOR_DELIVERY", "DELIVERED" };
  g_autofree char *id = NULL;
  guint64 start;

  subscribe (watcher, "\"kinds\":[\"shipment\"]");
  start = watcher->seq;
  id = create_shipment (f, "acme", "");
  for (guint i = 0; i < G_N_ELEMENTS (statuses); i++)
    {
      g_autofree char *event_id = g_strdup_printf ("w-%u", i);
      g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
      g_autoptr(GDateTime) then = g_date_time_add_minutes (now, 60 + (int) i);
      g_autofree char *occurred_at = g_date_time_format (then, "%Y-%m-%dT%H:%M:%SZ");
      g_autofree char *path = g_strdup_printf ("/shipments/%s/events", id);
      g_autofree char *body = g_strdup_printf ("{\"eventId\":\"%s\",\"source\":\"dhl\",\"status\":\"%s\","
                                               "\"occurredAt\":\"%s\"}", event_id, statuses[i], occurred_at);

      g_assert_cmpuint (call (f, "POST", path, body, NULL), ==, 201);
      (void) wait_event (watcher, "shipment", id, statuses[i]);
    }
  since = g_strdup_printf ("\"since\":{\"epoch\":\"%s\",\"seq\":%" G_GUINT64_FORMAT "}", watcher->epoch, start);
  late = client_connect (f, "", f->viewer);
  subscribe (late, since);
  g_assert_cmpstr (next_frame (late), ==, "resync");
}

static const char * const overdue_args[] = { "--gateway-batch-window=50ms", "--overdue-check-interval=1s", NULL };

/* A shipment past its promise arrives as an sla event. */
static void
test_sla_breach (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(Client) client = client_connect (f, "", f->viewer);
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr(GDateTime) soon = g_date_time_add_seconds (now, 2);
  g_autofree char *promised = g_date_time_format (soon, ",\"promisedAt\":\"%Y-%m-%dT%H:%M:%SZ\"");
  g_autofree char *id = NULL;
  JsonObject *event;

  subscribe (client, "\"kinds\":[\"sla\"],\"clientIds\":[\"acme\"]");
  id = create_shipment (f, "acme", promised);
  event = wait_event (client, "sla", id, NULL);
  g_assert_cmpstr (json_object_get_string_member (event, "type"), ==, "shipment.delayed");
  g_assert_true (json_object_has_member (event, "promisedAt"));
}

static const char * const offline_args[] = { "--gateway-batch-window=50ms", "--offline-after=2s", NULL };

/* A device going silent, then speaking again, arrives as device events. */
static void
test_device_offline_online (Fixture       *f,
                            gconstpointer  data)
{
  g_autoptr(Client) client = client_connect (f, "", f->viewer);
  gint64 deadline = g_get_monotonic_time () + WAIT_S * G_USEC_PER_SEC;
  JsonObject *event;

  subscribe (client, "\"kinds\":[\"device\"],\"clientIds\":[\"acme\"]");
  g_assert_cmpuint (call_as (f, f->admin, "PUT", "/companies/c1", "{\"name\":\"West Logistics\"}", NULL), ==, 200);
  g_assert_cmpuint (call_as (f, f->admin, "PUT", "/vehicles/v1", "{\"plate\":\"0001 AB-7\",\"companyId\":\"c1\"}",
                             NULL), ==, 200);
  g_assert_cmpuint (call_as (f, f->admin, "PUT", "/devices/d1", "{\"vehicleId\":\"v1\",\"token\":null}", NULL),
                    ==, 200);
  while (!post_position (f))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (50 * 1000);
    }
  event = wait_event (client, "device", NULL, NULL);
  g_assert_cmpstr (json_object_get_string_member (event, "type"), ==, "device.offline");
  g_assert_cmpstr (json_object_get_string_member (event, "deviceId"), ==, "d1");
  g_assert_cmpstr (json_object_get_string_member (event, "vehicleId"), ==, "v1");
  g_assert_true (post_position (f));
  while (client->events->len < 2)
    {
      g_assert_false (client->closed);
      g_assert_cmpint (g_get_monotonic_time (), <, deadline + WAIT_S * G_USEC_PER_SEC);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  event = json_node_get_object (g_ptr_array_index (client->events, 1));
  g_assert_cmpstr (json_object_get_string_member (event, "type"), ==, "device.online");
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

/* A client on a plain socket with a small receive buffer that subscribes
 * to every event and then never reads. */
static GSocketConnection *
stalled_client (Fixture *f)
{
  const char *text = "{\"type\":\"subscribe\"}";
  GSocketConnection *connection = wb_test_ws_raw_connect (f->port, "/ws/events", f->viewer);

  g_assert_true (wb_test_ws_send_frame (connection, 0x81, text, strlen (text)));
  return connection;
}

static const char * const slow_args[] = {
  "--gateway-batch-window=20ms", "--gateway-outbox-bound=2", "--gateway-slow-deadline=1s", NULL
};

/* A client that stops reading is closed as slow past the deadline, while
 * another keeps getting every event. */
static void
test_stalled_client_closed (Fixture       *f,
                            gconstpointer  data)
{
  g_autoptr(Client) reader = client_connect (f, "", f->viewer);
  g_autoptr(GSocketConnection) stalled = NULL;
  g_autofree char *last = NULL;
  gboolean closed = FALSE;

  subscribe (reader, "\"kinds\":[\"shipment\"]");
  stalled = stalled_client (f);
  for (guint round = 1; round <= 2000 && !closed; round++)
    {
      g_autofree char *event_id = g_strdup_printf ("s-%u", round);

      g_free (last);
      last = create_shipment (f, "acme", "");
      post_status (f, last, event_id, "IN_TRANSIT");
      while (g_main_context_pending (NULL))
        g_main_context_iteration (NULL, FALSE);
      if (round % 20 == 0)
        closed = metric_is (f, "waybill_events_connections_closed_total{reason=\"slow\"} 1");
    }
  g_assert_true (closed);
  /* What the stalled client finds once it reads again: the close, as slow. */
  g_assert_cmpuint (wb_test_ws_read_close_code (stalled, WAIT_S), ==, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION);
  (void) wait_event (reader, "shipment", last, "IN_TRANSIT");
  g_assert_false (reader->closed);
}

static const char * const limit_args[] = { "--gateway-max-connections-per-peer=2", NULL };

/* A third stream from one address is refused with a reason, and counted. */
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
  g_assert_true (metric_is (f, "waybill_events_connections_rejected_total{reason=\"per_peer\"} 1"));
}

/* libsoup 3.2 caps each frame, not a message: one sent as many fragments
 * is closed with 1009 once it passes the 16 KiB cap, and counted. */
static void
test_fragmented_message_capped (Fixture       *f,
                                gconstpointer  data)
{
  g_autoptr(GSocketConnection) connection = wb_test_ws_raw_connect (f->port, "/ws/events", f->viewer);
  g_autofree char *fragment = g_strnfill (8 * 1024, ' ');
  guint sent = 0;

  if (wb_test_ws_send_frame (connection, 0x01, fragment, 8 * 1024))
    for (sent = 1; sent < 200 && wb_test_ws_send_frame (connection, 0x00, fragment, 8 * 1024); sent++)
      ;
  g_assert_cmpuint (wb_test_ws_read_close_code (connection, WAIT_S), ==, SOUP_WEBSOCKET_CLOSE_TOO_BIG);
  for (int i = 0; i < WAIT_S * 100 && !metric_is (f, "waybill_events_connections_closed_total{reason=\"too_big\"} 1"); i++)
    g_usleep (10 * 1000);
  g_assert_true (metric_is (f, "waybill_events_connections_closed_total{reason=\"too_big\"} 1"));
}

static void
assert_refused (Fixture    *f,
                const char *text,
                gushort     code)
{
  g_autoptr(Client) client = client_connect (f, "", f->viewer);

  soup_websocket_connection_send_text (client->connection, text);
  wait_closed (client);
  g_assert_cmpuint (soup_websocket_connection_get_close_code (client->connection), ==, code);
  g_assert_nonnull (soup_websocket_connection_get_close_data (client->connection));
}

static void
test_bad_subscribe (Fixture       *f,
                    gconstpointer  data)
{
  assert_refused (f, "not json", SOUP_WEBSOCKET_CLOSE_BAD_DATA);
  assert_refused (f, "{\"type\":\"unsubscribe\"}", SOUP_WEBSOCKET_CLOSE_BAD_DATA);
  assert_refused (f, "{\"type\":\"subscribe\",\"kinds\":[\"weather\"]}", SOUP_WEBSOCKET_CLOSE_BAD_DATA);
  assert_refused (f, "{\"type\":\"subscribe\",\"kinds\":[]}", SOUP_WEBSOCKET_CLOSE_BAD_DATA);
  assert_refused (f, "{\"type\":\"subscribe\",\"clientIds\":[7]}", SOUP_WEBSOCKET_CLOSE_BAD_DATA);
  assert_refused (f, "{\"type\":\"subscribe\",\"bbox\":[1,2,3,4]}", SOUP_WEBSOCKET_CLOSE_BAD_DATA);
  assert_refused (f, "{\"type\":\"subscribe\",\"since\":{\"epoch\":\"x\"}}", SOUP_WEBSOCKET_CLOSE_BAD_DATA);
}

static void
test_jwt (Fixture       *f,
          gconstpointer  data)
{
  g_autoptr(Client) none = client_connect (f, "", NULL);
  g_autoptr(Client) bad = client_connect (f, "?access_token=not.a.token", NULL);

  g_assert_null (none->connection);
  g_assert_nonnull (none->error);
  g_assert_null (bad->connection);
  g_assert_nonnull (bad->error);
}

/* An event stream whose token expires is closed then with 1008, counted,
 * while one with a valid token stays. */
static void
test_token_expiry (Fixture       *f,
                   gconstpointer  data)
{
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  /* Issued a minute ago, expired 27 s ago: admitted (30 s leeway) for 3 s more. */
  g_autofree char *expiring = wb_jwt_sign ((const guint8 *) SECRET, strlen (SECRET), "viewer",
                                           WB_ACCESS_ROLE_VIEWER, now - 60, 33);
  g_autoptr(Client) client = client_connect (f, "", expiring);
  g_autoptr(Client) other = client_connect (f, "", f->viewer);
  gint64 connected = g_get_monotonic_time ();
  double seconds;

  g_assert_no_error (client->error);
  subscribe (client, "");
  subscribe (other, "");
  wait_closed (client);
  seconds = (g_get_monotonic_time () - connected) / 1e6;
  g_assert_cmpfloat (seconds, >, 1.0);
  g_assert_cmpfloat (seconds, <, 6.0);
  g_assert_cmpuint (soup_websocket_connection_get_close_code (client->connection), ==,
                    SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION);
  g_assert_cmpstr (soup_websocket_connection_get_close_data (client->connection), ==, "Token expired");
  g_assert_false (other->closed);
  /* Counted once the server has the client's answer to its close. */
  for (int i = 0; i < WAIT_S * 100 && !metric_is (f, "waybill_events_connections_closed_total{reason=\"token_expired\"} 1"); i++)
    g_usleep (10 * 1000);
  g_assert_true (metric_is (f, "waybill_events_connections_closed_total{reason=\"token_expired\"} 1"));
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *schema_dir = NULL;
  int status;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  schema_dir = g_test_build_filename (G_TEST_DIST, "..", "data", "schemas", NULL);
  schemas = wb_test_schema_set_new (schema_dir);

  g_test_add ("/events-stream/status-and-client-filter", Fixture, default_args, setup,
              test_status_and_client_filter, teardown);
  g_test_add ("/events-stream/resume", Fixture, default_args, setup, test_resume, teardown);
  g_test_add ("/events-stream/resume-outside-window", Fixture, small_window_args, setup,
              test_resume_outside_window, teardown);
  g_test_add ("/events-stream/sla-breach", Fixture, overdue_args, setup, test_sla_breach, teardown);
  g_test_add ("/events-stream/device-offline-online", Fixture, offline_args, setup, test_device_offline_online,
              teardown);
  g_test_add ("/events-stream/stalled-client-closed", Fixture, slow_args, setup, test_stalled_client_closed,
              teardown);
  g_test_add ("/events-stream/connections-per-peer", Fixture, limit_args, setup, test_connections_per_peer,
              teardown);
  g_test_add ("/events-stream/bad-subscribe", Fixture, default_args, setup, test_bad_subscribe, teardown);
  g_test_add ("/events-stream/jwt", Fixture, default_args, setup, test_jwt, teardown);
  g_test_add ("/events-stream/token-expiry", Fixture, default_args, setup, test_token_expiry, teardown);
  g_test_add ("/events-stream/fragmented-message", Fixture, default_args, setup, test_fragmented_message_capped,
              teardown);
  status = g_test_run ();
  wb_test_schema_set_free (schemas);
  return status;
}
