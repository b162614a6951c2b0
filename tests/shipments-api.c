// SPDX-License-Identifier: GPL-3.0-or-later
/* The shipments REST layer end to end: a WbHttpServer on a real socket, in
 * its own thread and main context, with the real WbShipmentStore on a fresh
 * PostgreSQL database; clients are real SoupSessions (one per thread). Also
 * the view cache's ordering rules and the JSON reader, directly. */

#include "config.h"

#include <string.h>

#include "wb-json-reader.h"
#include "wb-migrations.h"
#include "wb-openapi.h"
#include "wb-shipment-cache.h"
#include "wb-shipments-api.h"
#include "wb-test-daemon.h"
#include "wb-test-pg.h"
#include "wb-test-server-thread.h"

#define SECRET "0123456789abcdef0123456789abcdef-test"

/* What a fixture's server is set up with (the test's data pointer). */
enum
{
  WITH_AUTH = 1 << 0,
  WITH_REVALIDATION = 1 << 1,
};

typedef struct
{
  char         *conninfo;
  gboolean      with_auth;
  gboolean      with_revalidation;
  WbTestServerThread *server_thread;
  guint         port;
  WbMetrics    *metrics;
  WbDbPool     *pool;
  WbShipmentStore *store;
  WbShipmentsApi  *api;
  WbHttpServer *server;
  SoupSession  *session;
} Fixture;

/* ---- the server ------------------------------------------------------------ */

static void
apply_migrations (const char *conninfo)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PGconn) conn = wb_db_connect (conninfo, &error);
  guint applied = 0;

  g_assert_no_error (error);
  g_assert_true (wb_migrations_apply (conn, &applied, &error));
  g_assert_no_error (error);
}

static guint
server_start (gpointer data)
{
  Fixture *fx = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(WbSlaTable) sla = NULL;
  WbHttpLimits limits = {
    .max_body_size = 1024 * 1024, .max_header_count = 64, .max_header_size = 16 * 1024,
    .idle_timeout_ms = 10000, .max_connections = 256, .max_connections_per_peer = 128,
  };

  sla = wb_sla_table_load_default (&error);
  g_assert_no_error (error);
  fx->metrics = wb_metrics_new ();
  fx->pool = wb_db_pool_new (fx->conninfo, 4);
  fx->store = wb_shipment_store_new (fx->pool, sla);
  fx->api = wb_shipments_api_new (fx->store, sla, fx->metrics);
  wb_shipments_api_set_cache_revalidation (fx->api, fx->with_revalidation);
  fx->server = wb_http_server_new (fx->metrics, &limits);
  if (fx->with_auth)
    {
      g_autoptr(GBytes) secret = g_bytes_new_static (SECRET, strlen (SECRET));
      wb_http_server_set_auth_secret (fx->server, secret);
    }
  wb_shipments_api_register (fx->api, fx->server);
  g_assert_true (wb_http_server_listen (fx->server, "127.0.0.1", 0, &error));
  g_assert_no_error (error);

  return wb_http_server_get_port (fx->server);
}

static void
server_stop (gpointer data)
{
  Fixture *fx = data;

  g_clear_object (&fx->server);
  g_clear_pointer (&fx->api, wb_shipments_api_free);
  wb_db_pool_close (fx->pool);
  /* Let the pool's last callbacks run before the store goes. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_clear_object (&fx->store);
  g_clear_object (&fx->pool);
}

static void
fixture_setup (Fixture       *fx,
               gconstpointer  data)
{
  fx->with_auth = (GPOINTER_TO_INT (data) & WITH_AUTH) != 0;
  fx->with_revalidation = (GPOINTER_TO_INT (data) & WITH_REVALIDATION) != 0;
  fx->conninfo = wb_test_pg_create_database ("shipments_api");
  apply_migrations (fx->conninfo);
  fx->server_thread = wb_test_server_thread_start ("shipments-api", server_start, server_stop, fx);
  fx->port = wb_test_server_thread_get_port (fx->server_thread);
  fx->session = soup_session_new_with_options ("timeout", 30, NULL);
}

static void
fixture_teardown (Fixture       *fx,
                  gconstpointer  data)
{
  g_clear_object (&fx->session);
  wb_test_server_thread_stop (fx->server_thread);
  g_clear_object (&fx->metrics);
  g_free (fx->conninfo);
}

/* ---- the client ------------------------------------------------------------- */

typedef struct
{
  guint        status;
  char        *body;
  JsonNode    *json;
  SoupMessage *message;
} Reply;

static void
reply_clear (Reply *reply)
{
  g_clear_pointer (&reply->body, g_free);
  g_clear_pointer (&reply->json, json_node_unref);
  g_clear_object (&reply->message);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Reply, reply_clear)

/* @headers: (nullable): name, value, …, NULL */
static void
send_on (SoupSession        *session,
         guint               port,
         const char         *method,
         const char         *path,
         const char         *body,
         const char * const *headers,
         Reply              *reply)
{
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u%s", port, path);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) answer = NULL;

  reply_clear (reply);
  reply->message = soup_message_new (method, uri);
  g_assert_nonnull (reply->message);
  for (guint i = 0; headers != NULL && headers[i] != NULL; i += 2)
    soup_message_headers_replace (soup_message_get_request_headers (reply->message), headers[i], headers[i + 1]);
  if (body != NULL)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));
      soup_message_set_request_body_from_bytes (reply->message, "application/json", bytes);
    }
  answer = soup_session_send_and_read (session, reply->message, NULL, &error);
  g_assert_no_error (error);
  reply->status = soup_message_get_status (reply->message);
  reply->body = g_strndup (g_bytes_get_size (answer) ? g_bytes_get_data (answer, NULL) : "",
                           g_bytes_get_size (answer));
  reply->json = *reply->body ? json_from_string (reply->body, NULL) : NULL;
}

static void
send (Fixture            *fx,
      const char         *method,
      const char         *path,
      const char         *body,
      const char * const *headers,
      Reply              *reply)
{
  send_on (fx->session, fx->port, method, path, body, headers, reply);
}

static const char *
header (Reply      *reply,
        const char *name)
{
  return soup_message_headers_get_one (soup_message_get_response_headers (reply->message), name);
}

/* "a.b[2].c" inside a JSON document; NULL when any step is missing. */
static JsonNode *
node_at (JsonNode   *root,
         const char *path)
{
  g_auto(GStrv) steps = g_strsplit (path, ".", -1);
  JsonNode *node = root;

  for (guint i = 0; steps[i] != NULL && node != NULL; i++)
    {
      char *bracket = strchr (steps[i], '[');
      guint index = bracket ? (guint) g_ascii_strtoull (bracket + 1, NULL, 10) : 0;

      if (bracket)
        *bracket = '\0';
      if (!JSON_NODE_HOLDS_OBJECT (node))
        return NULL;
      node = json_object_get_member (json_node_get_object (node), steps[i]);
      if (bracket && node != NULL)
        {
          if (!JSON_NODE_HOLDS_ARRAY (node) || index >= json_array_get_length (json_node_get_array (node)))
            return NULL;
          node = json_array_get_element (json_node_get_array (node), index);
        }
    }
  return node;
}

static const char *
string_at (Reply      *reply,
           const char *path)
{
  JsonNode *node;

  g_assert_nonnull (reply->json);
  node = node_at (reply->json, path);
  return node != NULL && JSON_NODE_HOLDS_VALUE (node) ? json_node_get_string (node) : NULL;
}

static gint64
int_at (Reply      *reply,
        const char *path)
{
  JsonNode *node;

  g_assert_nonnull (reply->json);
  node = node_at (reply->json, path);
  g_assert_nonnull (node);
  return json_node_get_int (node);
}

static gboolean
bool_at (Reply      *reply,
         const char *path)
{
  JsonNode *node;

  g_assert_nonnull (reply->json);
  node = node_at (reply->json, path);
  g_assert_nonnull (node);
  return json_node_get_boolean (node);
}

static guint
length_at (Reply      *reply,
           const char *path)
{
  JsonNode *node = node_at (reply->json, path);

  g_assert_nonnull (node);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (node));
  return json_array_get_length (json_node_get_array (node));
}

static gboolean
is_null_at (Reply      *reply,
            const char *path)
{
  JsonNode *node = node_at (reply->json, path);

  return node != NULL && JSON_NODE_HOLDS_NULL (node);
}

static void
assert_status (Reply *reply,
               guint  status)
{
  if (reply->status != status)
    g_error ("expected HTTP %u, got %u: %s", status, reply->status, reply->body);
}

/* The error shape: {"error":{"code","message","field"?}}, message naming the field. */
static void
assert_error (Reply      *reply,
              guint       status,
              const char *code,
              const char *field)
{
  assert_status (reply, status);
  g_assert_cmpstr (header (reply, "Content-Type"), ==, "application/json");
  g_assert_cmpstr (string_at (reply, "error.code"), ==, code);
  g_assert_nonnull (string_at (reply, "error.message"));
  if (field != NULL)
    {
      g_autofree char *prefix = g_strconcat (field, ": ", NULL);

      g_assert_cmpstr (string_at (reply, "error.field"), ==, field);
      if (!g_str_has_prefix (string_at (reply, "error.message"), prefix))
        g_error ("message does not name %s: %s", field, string_at (reply, "error.message"));
    }
}

static char *
etag_for (gint64 version)
{
  return g_strdup_printf ("\"%" G_GINT64_FORMAT "\"", version);
}

#define SHIPMENT_BODY(client, phone, extra) \
  "{\"clientId\":\"" client "\",\"serviceLevel\":\"standard\",\"reference\":\"ORD-1\"," \
  "\"recipient\":{\"name\":\"Ann Smith\",\"phone\":\"" phone "\",\"email\":\"ann@example.org\"}," \
  "\"origin\":{\"country\":\"by\",\"city\":\"Brest\"}," \
  "\"destination\":{\"country\":\"BY\",\"city\":\"Minsk\",\"line1\":\"Nezavisimosti 1\",\"postalCode\":\"220030\"," \
  "\"lat\":53.9,\"lon\":27.56}" extra "}"

static char *
create_with (Fixture    *fx,
             const char *body)
{
  g_auto(Reply) reply = { 0, };

  send (fx, "POST", "/shipments", body, NULL, &reply);
  assert_status (&reply, 201);
  return g_strdup (string_at (&reply, "id"));
}

static char *
create_shipment (Fixture *fx)
{
  return create_with (fx, SHIPMENT_BODY ("acme", "+375 29 123-45-67", ""));
}

/* A time @minutes after an hour from now, RFC 3339 (without the zone when
 * !@zone). Later than every shipment's creation, so the events move the
 * status; the milestone rule keeps older ones in the history only. */
static char *
later (int      minutes,
       gboolean zone)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr(GDateTime) then = g_date_time_add_minutes (now, 60 + minutes);

  return g_date_time_format (then, zone ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%dT%H:%M:%S");
}

static char *
event_body (const char *event_id,
            const char *status,
            const char *occurred_at)
{
  return g_strdup_printf ("{\"eventId\":\"%s\",\"source\":\"dhl\",\"status\":\"%s\",\"statusRaw\":\"scan\","
                          "\"occurredAt\":\"%s\",\"location\":{\"text\":\"Minsk\",\"lat\":53.9,\"lon\":27.56}}",
                          event_id, status, occurred_at);
}

static void
post_event (Fixture    *fx,
            const char *id,
            const char *event_id,
            const char *status,
            int         minutes,
            Reply      *reply)
{
  g_autofree char *path = g_strdup_printf ("/shipments/%s/events", id);
  g_autofree char *occurred_at = later (minutes, TRUE);
  g_autofree char *body = event_body (event_id, status, occurred_at);

  send (fx, "POST", path, body, NULL, reply);
}

static void
get_shipment (Fixture    *fx,
              const char *id,
              Reply      *reply)
{
  g_autofree char *path = g_strdup_printf ("/shipments/%s", id);

  send (fx, "GET", path, NULL, NULL, reply);
}

/* ---- create and read ------------------------------------------------------- */

static void
test_create (Fixture       *fx,
             gconstpointer  data)
{
  g_auto(Reply) reply = { 0, };
  g_autofree char *location = NULL;
  const char *id;

  send (fx, "POST", "/shipments", SHIPMENT_BODY ("acme", "8 029 123-45-67", ",\"carrier\":\"dhl\",\"trackNumber\":\"JD1\""),
        NULL, &reply);
  assert_status (&reply, 201);
  id = string_at (&reply, "id");
  g_assert_true (g_uuid_string_is_valid (id));
  location = g_strdup_printf ("/shipments/%s", id);
  g_assert_cmpstr (header (&reply, "Location"), ==, location);
  g_assert_cmpstr (header (&reply, "ETag"), ==, "\"1\"");
  g_assert_cmpint (int_at (&reply, "version"), ==, 1);
  g_assert_cmpstr (string_at (&reply, "clientId"), ==, "acme");
  g_assert_cmpstr (string_at (&reply, "status"), ==, "PENDING");
  /* A national number is read as one of the destination's country. */
  g_assert_cmpstr (string_at (&reply, "recipient.phone"), ==, "+375291234567");
  g_assert_cmpstr (string_at (&reply, "origin.country"), ==, "BY");
  g_assert_cmpstr (string_at (&reply, "trackings[0].trackNumber"), ==, "JD1");
  g_assert_nonnull (string_at (&reply, "promisedAt"));
}

static void
test_get (Fixture       *fx,
          gconstpointer  data)
{
  g_autofree char *id = create_shipment (fx);
  g_autofree char *path = g_strdup_printf ("/shipments/%s", id);
  g_autofree char *upper_id = g_ascii_strup (id, -1);
  g_autofree char *upper = g_strdup_printf ("/shipments/%s", upper_id);
  const char *matching[] = { "If-None-Match", "\"7\", W/\"1\"", NULL };
  const char *stale[] = { "If-None-Match", "\"2\"", NULL };
  g_auto(Reply) reply = { 0, };

  send (fx, "GET", path, NULL, NULL, &reply);
  assert_status (&reply, 200);
  g_assert_cmpstr (header (&reply, "ETag"), ==, "\"1\"");
  g_assert_cmpstr (string_at (&reply, "id"), ==, id);

  send (fx, "GET", path, NULL, matching, &reply);
  assert_status (&reply, 304);
  g_assert_cmpstr (header (&reply, "ETag"), ==, "\"1\"");
  g_assert_cmpstr (reply.body, ==, "");

  send (fx, "GET", path, NULL, stale, &reply);
  assert_status (&reply, 200);

  /* Ids are UUIDs in either case; anything else is no shipment. */
  send (fx, "GET", upper, NULL, NULL, &reply);
  assert_status (&reply, 200);
  g_assert_cmpstr (string_at (&reply, "id"), ==, id);

  send (fx, "GET", "/shipments/00000000-0000-4000-8000-000000000000", NULL, NULL, &reply);
  assert_error (&reply, 404, "not_found", NULL);
  send (fx, "GET", "/shipments/not-a-uuid", NULL, NULL, &reply);
  assert_error (&reply, 404, "not_found", NULL);
}

/* ---- validation ------------------------------------------------------------ */

typedef struct
{
  const char *method;
  const char *path;       /* "{id}" is the shipment's id */
  const char *body;
  guint       status;
  const char *code;
  const char *field;
} Invalid;

#define DEST "\"destination\":{\"country\":\"BY\"}"
#define RECIPIENT "\"recipient\":{\"name\":\"Ann\"}"
#define BASE "\"clientId\":\"acme\",\"serviceLevel\":\"standard\""
#define EVENT_BASE "\"eventId\":\"e1\",\"status\":\"IN_TRANSIT\",\"occurredAt\":\"2026-11-20T10:00:00Z\""

static const Invalid invalid_requests[] = {
  { "POST", "/shipments", "{\"clientId\":", 400, "invalid_json", NULL },
  { "POST", "/shipments", "", 400, "invalid_json", NULL },
  { "POST", "/shipments", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]", 400, "invalid_json", NULL },
  { "POST", "/shipments", "[1,2]", 400, "invalid_body", NULL },
  { "POST", "/shipments", "{\"serviceLevel\":\"standard\"," RECIPIENT "," DEST "}", 400, "invalid_field", "clientId" },
  { "POST", "/shipments", "{\"clientId\":7,\"serviceLevel\":\"standard\"," RECIPIENT "," DEST "}", 400, "invalid_field", "clientId" },
  { "POST", "/shipments", "{\"clientId\":\"  \",\"serviceLevel\":\"standard\"," RECIPIENT "," DEST "}", 400, "invalid_field", "clientId" },
  { "POST", "/shipments", "{\"clientId\":\"acme\"," RECIPIENT "," DEST "}", 400, "invalid_field", "serviceLevel" },
  { "POST", "/shipments", "{\"clientId\":\"acme\",\"serviceLevel\":\"warp\"," RECIPIENT "," DEST "}", 400, "invalid_field", "serviceLevel" },
  { "POST", "/shipments", "{" BASE "," DEST "}", 400, "invalid_field", "recipient" },
  { "POST", "/shipments", "{" BASE ",\"recipient\":\"Ann\"," DEST "}", 400, "invalid_field", "recipient" },
  { "POST", "/shipments", "{" BASE ",\"recipient\":{}," DEST "}", 400, "invalid_field", "recipient.name" },
  { "POST", "/shipments", "{" BASE ",\"recipient\":{\"name\":\"Ann\",\"phone\":\"12\"}," DEST "}", 400, "invalid_field", "recipient.phone" },
  { "POST", "/shipments", "{" BASE ",\"recipient\":{\"name\":\"Ann\",\"phone\":\"call me\"}," DEST "}", 400, "invalid_field", "recipient.phone" },
  { "POST", "/shipments", "{" BASE ",\"recipient\":{\"name\":\"Ann\",\"email\":\"ann.example.org\"}," DEST "}", 400, "invalid_field", "recipient.email" },
  { "POST", "/shipments", "{" BASE "," RECIPIENT "}", 400, "invalid_field", "destination" },
  { "POST", "/shipments", "{" BASE "," RECIPIENT ",\"destination\":{\"city\":\"Minsk\"}}", 400, "invalid_field", "destination.country" },
  { "POST", "/shipments", "{" BASE "," RECIPIENT ",\"destination\":{\"country\":\"BLR\"}}", 400, "invalid_field", "destination.country" },
  { "POST", "/shipments", "{" BASE "," RECIPIENT ",\"destination\":{\"country\":\"BY\",\"lat\":91,\"lon\":0}}", 400, "invalid_field", "destination.lat" },
  { "POST", "/shipments", "{" BASE "," RECIPIENT ",\"destination\":{\"country\":\"BY\",\"lat\":1,\"lon\":-181}}", 400, "invalid_field", "destination.lon" },
  { "POST", "/shipments", "{" BASE "," RECIPIENT ",\"destination\":{\"country\":\"BY\",\"lon\":27}}", 400, "invalid_field", "destination.lat" },
  { "POST", "/shipments", "{" BASE "," RECIPIENT ",\"destination\":{\"country\":\"BY\",\"lat\":\"53\",\"lon\":27}}", 400, "invalid_field", "destination.lat" },
  { "POST", "/shipments", "{" BASE "," RECIPIENT "," DEST ",\"origin\":{\"country\":1}}", 400, "invalid_field", "origin.country" },
  { "POST", "/shipments", "{" BASE "," RECIPIENT "," DEST ",\"promisedAt\":\"tomorrow\"}", 400, "invalid_field", "promisedAt" },
  { "POST", "/shipments", "{" BASE "," RECIPIENT "," DEST ",\"carrier\":\"dhl\"}", 400, "invalid_field", "trackNumber" },

  { "POST", "/shipments/{id}/events", "{\"status\":\"IN_TRANSIT\",\"occurredAt\":\"2026-11-20T10:00:00Z\"}", 400, "invalid_field", "eventId" },
  { "POST", "/shipments/{id}/events", "{\"eventId\":\"e1\",\"occurredAt\":\"2026-11-20T10:00:00Z\"}", 400, "invalid_field", "status" },
  { "POST", "/shipments/{id}/events", "{\"eventId\":\"e1\",\"status\":\"in transit\",\"occurredAt\":\"2026-11-20T10:00:00Z\"}", 400, "invalid_field", "status" },
  { "POST", "/shipments/{id}/events", "{" EVENT_BASE ",\"reason\":\"aliens\"}", 400, "invalid_field", "reason" },
  { "POST", "/shipments/{id}/events", "{\"eventId\":\"e1\",\"status\":\"IN_TRANSIT\"}", 400, "invalid_field", "occurredAt" },
  { "POST", "/shipments/{id}/events", "{\"eventId\":\"e1\",\"status\":\"IN_TRANSIT\",\"occurredAt\":\"2026-13-45T10:00:00Z\"}", 400, "invalid_field", "occurredAt" },
  { "POST", "/shipments/{id}/events", "{" EVENT_BASE ",\"location\":{\"lat\":200,\"lon\":0}}", 400, "invalid_field", "location.lat" },
  { "POST", "/shipments/{id}/events", "{" EVENT_BASE ",\"location\":\"Minsk\"}", 400, "invalid_field", "location" },
  { "POST", "/shipments/{id}/events", "{" EVENT_BASE ",\"correction\":\"yes\"}", 400, "invalid_field", "correction" },
  { "POST", "/shipments/{id}/events", "{" EVENT_BASE ",\"estimatedDeliveryAt\":\"soon\"}", 400, "invalid_field", "estimatedDeliveryAt" },
  { "POST", "/shipments/{id}/events", "{" EVENT_BASE ",\"shipmentId\":\"00000000-0000-4000-8000-000000000000\"}", 400, "invalid_field", "shipmentId" },
  /* Times that parse but cannot be an event's (docs/shipments.md, "Time"). */
  { "POST", "/shipments/{id}/events", "{\"eventId\":\"e1\",\"status\":\"IN_TRANSIT\",\"occurredAt\":\"0001-01-01T00:00:00Z\"}", 400, "invalid_field", "occurredAt" },
  { "POST", "/shipments/{id}/events", "{\"eventId\":\"e1\",\"status\":\"IN_TRANSIT\",\"occurredAt\":\"1989-12-31T23:59:59Z\"}", 400, "invalid_field", "occurredAt" },
  { "POST", "/shipments/{id}/events", "{\"eventId\":\"e1\",\"status\":\"IN_TRANSIT\",\"occurredAt\":\"2099-01-01T00:00:00\"}", 400, "invalid_field", "occurredAt" },
  { "POST", "/shipments/{id}/events", "nope", 400, "invalid_json", NULL },

  { "PATCH", "/shipments/{id}", "{\"status\":\"DELIVERED\"}", 400, "invalid_field", "status" },
  { "PATCH", "/shipments/{id}", "{\"serviceLevel\":null}", 400, "invalid_field", "serviceLevel" },
  { "PATCH", "/shipments/{id}", "{\"serviceLevel\":\"warp\"}", 400, "invalid_field", "serviceLevel" },
  { "PATCH", "/shipments/{id}", "{\"recipient\":{\"name\":null}}", 400, "invalid_field", "recipient.name" },
  { "PATCH", "/shipments/{id}", "{\"recipient\":{\"nickname\":\"A\"}}", 400, "invalid_field", "recipient.nickname" },
  { "PATCH", "/shipments/{id}", "{\"recipient\":{\"email\":\"x\"}}", 400, "invalid_field", "recipient.email" },
  { "PATCH", "/shipments/{id}", "{\"recipient\":{\"phone\":\"+1\"}}", 400, "invalid_field", "recipient.phone" },
  { "PATCH", "/shipments/{id}", "{\"destination\":{\"country\":\"B\"}}", 400, "invalid_field", "destination.country" },
  { "PATCH", "/shipments/{id}", "{\"destination\":null}", 400, "invalid_field", "destination" },
  { "PATCH", "/shipments/{id}", "{\"eta\":\"whenever\"}", 400, "invalid_field", "eta" },
  { "PATCH", "/shipments/{id}", "{}", 400, "invalid_body", NULL },

  { "GET", "/shipments/{id}/events?limit=0", NULL, 400, "invalid_field", "limit" },
  { "GET", "/shipments/{id}/events?limit=501", NULL, 400, "invalid_field", "limit" },
  { "GET", "/shipments/{id}/events?limit=ten", NULL, 400, "invalid_field", "limit" },
  { "GET", "/shipments/{id}/events?offset=-1", NULL, 400, "invalid_field", "offset" },
  { "GET", "/shipments/{id}/events?offset=99999999999999999999", NULL, 400, "invalid_field", "offset" },
  { "GET", "/shipments/{id}/events?page=2", NULL, 400, "invalid_field", "page" },
  { "GET", "/shipments/search?status=IN_TRANSIT&status=LOST", NULL, 400, "invalid_field", "status" },
  { "GET", "/shipments/search?limit=1000", NULL, 400, "invalid_field", "limit" },
  { "GET", "/shipments/search?limit=1&limit=2", NULL, 400, "invalid_field", "limit" },
  { "GET", "/shipments/search?createdFrom=yesterday", NULL, 400, "invalid_field", "createdFrom" },
  { "GET", "/shipments/search?updatedTo=2026-02-30T00:00:00Z", NULL, 400, "invalid_field", "updatedTo" },
  { "GET", "/shipments/search?createdFrom=2026-02-02T00:00:00Z&createdTo=2026-02-01T00:00:00Z", NULL, 400, "invalid_field", "createdTo" },
  { "GET", "/shipments/search?overdue=maybe", NULL, 400, "invalid_field", "overdue" },
  { "GET", "/shipments/search?phone=abc", NULL, 400, "invalid_field", "phone" },
  { "GET", "/shipments/search?cursor=%3Cscript%3E", NULL, 400, "invalid_field", "cursor" },
  { "GET", "/shipments/search?cursor=abc", NULL, 400, "invalid_field", "cursor" },
  { "GET", "/shipments/search?clientid=acme", NULL, 400, "invalid_field", "clientid" },
  /* A filter left blank is refused, not read as no filter. */
  { "GET", "/shipments/search?status=", NULL, 400, "invalid_field", "status" },
  { "GET", "/shipments/search?status", NULL, 400, "invalid_field", "query" },
  { "GET", "/shipments/search?status=IN_TRANSIT,", NULL, 400, "invalid_field", "status" },
  { "GET", "/shipments/search?status=,IN_TRANSIT", NULL, 400, "invalid_field", "status" },
  { "GET", "/shipments/search?status=IN_TRANSIT&status=", NULL, 400, "invalid_field", "status" },
  { "GET", "/shipments/search?clientId=", NULL, 400, "invalid_field", "clientId" },
  { "GET", "/shipments/search?phone=", NULL, 400, "invalid_field", "phone" },
  { "GET", "/shipments/search?phone=80291234567&country=", NULL, 400, "invalid_field", "country" },
  { "GET", "/shipments/search?createdFrom=", NULL, 400, "invalid_field", "createdFrom" },
  { "GET", "/shipments/search?createdTo=", NULL, 400, "invalid_field", "createdTo" },
  { "GET", "/shipments/search?updatedFrom=", NULL, 400, "invalid_field", "updatedFrom" },
  { "GET", "/shipments/search?updatedTo=", NULL, 400, "invalid_field", "updatedTo" },
  { "GET", "/shipments/search?overdue=", NULL, 400, "invalid_field", "overdue" },
  { "GET", "/shipments/search?limit=", NULL, 400, "invalid_field", "limit" },
  { "GET", "/shipments/search?cursor=", NULL, 400, "invalid_field", "cursor" },
  { "GET", "/shipments/{id}/events?limit=", NULL, 400, "invalid_field", "limit" },
  { "GET", "/shipments/search?phone=80291234567&country=ZZ", NULL, 400, "invalid_field", "country" },
  { "GET", "/shipments/search?phone=80291234567&country=BLR", NULL, 400, "invalid_field", "country" },
  { "GET", "/shipments/search?country=BY", NULL, 400, "invalid_field", "country" },

  { "POST", "/shipments/events:batch", "{}", 400, "invalid_field", "events" },
  { "POST", "/shipments/events:batch", "{\"events\":{}}", 400, "invalid_field", "events" },
  { "POST", "/shipments/events:batch", "{\"events\":[]}", 400, "invalid_field", "events" },
};

static void
test_validation (Fixture       *fx,
                 gconstpointer  data)
{
  g_autofree char *id = create_shipment (fx);
  const char *if_match[] = { "If-Match", "\"1\"", NULL };
  g_auto(Reply) reply = { 0, };

  for (guint i = 0; i < G_N_ELEMENTS (invalid_requests); i++)
    {
      const Invalid *c = &invalid_requests[i];
      g_autoptr(GString) path = g_string_new (c->path);

      g_test_message ("%s %s %s", c->method, c->path, c->body ? c->body : "");
      g_string_replace (path, "{id}", id, 1);
      send (fx, c->method, path->str, c->body, g_str_equal (c->method, "PATCH") ? if_match : NULL, &reply);
      assert_error (&reply, c->status, c->code, c->field);
    }

  /* Nothing of that reached the shipment. */
  get_shipment (fx, id, &reply);
  g_assert_cmpint (int_at (&reply, "version"), ==, 1);
  g_assert_cmpstr (string_at (&reply, "status"), ==, "PENDING");
}

/* Bodies a lenient parser would take (comments, single quotes, trailing
 * commas, a number no double holds, bytes that are not UTF-8): each is
 * refused as not JSON, the message saying where. */
static void
test_strict_json (Fixture       *fx,
                  gconstpointer  data)
{
  g_autofree char *id = create_shipment (fx);
  g_autofree char *events = g_strdup_printf ("/shipments/%s/events", id);
  const struct { const char *path; const char *body; const char *where; } bodies[] = {
    { "/shipments", "{\"clientId\": \"a\" /* c */, \"serviceLevel\":\"standard\"}", "line 1, column 18" },
    { "/shipments", "{\n  \"clientId\": \"acme\", // the usual one\n  \"serviceLevel\":\"standard\"}", "line 2, column 23" },
    { "/shipments", "{'clientId':'acme','serviceLevel':'standard'}", "line 1, column 2" },
    { "/shipments", "{\"clientId\":\"acme\",\n\"serviceLevel\":'standard'}", "line 2, column 16" },
    { "/shipments", "{\"clientId\":\"acme\",\"serviceLevel\":\"standard\",}", "line 1, column 46" },
    { "/shipments", "{\"clientId\":\"acme\",\"tags\":[1,2,]}", "line 1, column 32" },
    { "/shipments", "{" BASE "," RECIPIENT ",\"destination\":{\"country\":\"BY\",\"lat\":1e999,\"lon\":0}}",
      "line 1, column 109" },
    { "/shipments", "{\"clientId\":\"ac\xc3\x28me\"}", "line 1, column 16" },
    { "/shipments", "{\"clientId\":\"acme\"}\xff", "line 1, column 20" },
    { events, "{" EVENT_BASE ",}", "line 1, column 75" },
  };
  g_auto(Reply) reply = { 0, };

  for (guint i = 0; i < G_N_ELEMENTS (bodies); i++)
    {
      {
        g_autofree char *shown = g_strescape (bodies[i].body, NULL);

        g_test_message ("POST %s %s", bodies[i].path, shown);
      }
      send (fx, "POST", bodies[i].path, bodies[i].body, NULL, &reply);
      assert_error (&reply, 400, "invalid_json", NULL);
      g_assert_null (node_at (reply.json, "error.field"));
      g_assert_true (g_str_has_prefix (string_at (&reply, "error.message"), "The body is not valid JSON: "));
      if (strstr (string_at (&reply, "error.message"), bodies[i].where) == NULL)
        g_error ("message does not say %s: %s", bodies[i].where, string_at (&reply, "error.message"));
    }

  /* None of them made a shipment or an event. */
  send (fx, "GET", "/shipments/search?clientId=a", NULL, NULL, &reply);
  assert_status (&reply, 200);
  g_assert_cmpuint (length_at (&reply, "items"), ==, 0);
  get_shipment (fx, id, &reply);
  g_assert_cmpint (int_at (&reply, "version"), ==, 1);
}

/* No whitespace between tokens: every answer is written compact. */
static void
assert_compact (const char *text)
{
  gboolean in_string = FALSE;

  for (const char *p = text; *p != '\0'; p++)
    {
      if (in_string && *p == '\\')
        p++;
      else if (*p == '"')
        in_string = !in_string;
      else if (!in_string && strchr (" \t\r\n", *p) != NULL)
        g_error ("whitespace at byte %td outside strings: %s", p - text, text);
    }
}

/* The view, an event's answer, the history and search pages are as compact
 * as every other answer, though PostgreSQL writes `"id" : "…"`; strings keep
 * their spaces. */
static void
test_compact (Fixture       *fx,
              gconstpointer  data)
{
  g_autofree char *id = create_shipment (fx);
  g_autofree char *history = g_strdup_printf ("/shipments/%s/events", id);
  g_auto(Reply) reply = { 0, };

  get_shipment (fx, id, &reply);
  assert_status (&reply, 200);
  assert_compact (reply.body);
  g_assert_null (strstr (reply.body, ": "));
  g_assert_nonnull (strstr (reply.body, "\"name\":\"Ann Smith\""));
  g_assert_nonnull (strstr (reply.body, "\"lat\":53.9,\"lon\":27.56"));

  post_event (fx, id, "e1", "IN_TRANSIT", 0, &reply);
  assert_status (&reply, 201);
  assert_compact (reply.body);
  post_event (fx, id, "e2", "OUT_FOR_DELIVERY", 1, &reply);
  assert_status (&reply, 201);

  send (fx, "GET", history, NULL, NULL, &reply);
  assert_status (&reply, 200);
  g_assert_cmpuint (length_at (&reply, "items"), ==, 2);
  assert_compact (reply.body);

  send (fx, "GET", "/shipments/search?clientId=acme", NULL, NULL, &reply);
  assert_status (&reply, 200);
  assert_compact (reply.body);

  /* Served again from the cache, still compact. */
  get_shipment (fx, id, &reply);
  assert_status (&reply, 200);
  g_assert_cmpstr (string_at (&reply, "status"), ==, "OUT_FOR_DELIVERY");
  assert_compact (reply.body);
}

/* ---- PATCH and optimistic locking ----------------------------------------- */

static void
test_patch (Fixture       *fx,
            gconstpointer  data)
{
  g_autofree char *id = create_shipment (fx);
  g_autofree char *path = g_strdup_printf ("/shipments/%s", id);
  const char *stale[] = { "If-Match", "\"5\"", NULL };
  const char *fresh[] = { "If-Match", "\"1\"", NULL };
  const char *junk[] = { "If-Match", "1", NULL };
  const char *body = "{\"reference\":\"ORD-2\",\"recipient\":{\"phone\":\"8 029 765-43-21\"},"
                     "\"eta\":\"2099-12-01T12:00:00+03:00\"}";
  g_auto(Reply) reply = { 0, };

  send (fx, "PATCH", path, body, NULL, &reply);
  assert_error (&reply, 428, "precondition_required", NULL);

  send (fx, "PATCH", path, body, junk, &reply);
  assert_error (&reply, 400, "invalid_header", "If-Match");

  send (fx, "PATCH", path, body, stale, &reply);
  assert_error (&reply, 412, "version_mismatch", NULL);
  g_assert_cmpint (int_at (&reply, "currentVersion"), ==, 1);
  g_assert_cmpstr (header (&reply, "ETag"), ==, "\"1\"");

  send (fx, "PATCH", path, body, fresh, &reply);
  assert_status (&reply, 200);
  g_assert_cmpstr (header (&reply, "ETag"), ==, "\"2\"");
  g_assert_cmpint (int_at (&reply, "version"), ==, 2);
  g_assert_cmpstr (string_at (&reply, "reference"), ==, "ORD-2");
  /* The national number took the stored destination's country. */
  g_assert_cmpstr (string_at (&reply, "recipient.phone"), ==, "+375297654321");
  g_assert_cmpstr (string_at (&reply, "eta"), ==, "2099-12-01T09:00:00.000Z");
  g_assert_cmpstr (string_at (&reply, "etaSource"), ==, "carrier");

  /* The old ETag is stale now. */
  send (fx, "PATCH", path, "{\"reference\":null}", fresh, &reply);
  assert_error (&reply, 412, "version_mismatch", NULL);
  g_assert_cmpint (int_at (&reply, "currentVersion"), ==, 2);

  send (fx, "PATCH", "/shipments/00000000-0000-4000-8000-000000000000", body, fresh, &reply);
  assert_error (&reply, 404, "not_found", NULL);
}

/* ---- pickup points ------------------------------------------------------- */

static void
exec_sql (Fixture    *fx,
          const char *statement)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PGconn) conn = wb_db_connect (fx->conninfo, &error);
  g_autoptr(PGresult) result = NULL;

  g_assert_no_error (error);
  result = wb_db_exec (conn, statement, NULL, 0, NULL, &error);
  g_assert_no_error (error);
}

#define POINT_BODY(point, extra) \
  "{\"clientId\":\"acme\",\"serviceLevel\":\"standard\",\"pickupPointId\":\"" point "\"," \
  "\"recipient\":{\"name\":\"Ann Smith\",\"phone\":\"8 029 123-45-67\"}" extra "}"

/* A shipment addressed to a pickup point: the point's address becomes the
 * destination (and the country of a national phone number); the id is
 * stored and shown; an unknown id, or a point and an address together,
 * are refused naming pickupPointId. PATCH moves a shipment to a point and
 * back to a street address. */
static void
test_pickup_point (Fixture       *fx,
                   gconstpointer  data)
{
  g_autofree char *id = NULL, *path = NULL, *street = NULL, *street_path = NULL;
  g_autofree char *stored_sql = NULL;
  const char *v1[] = { "If-Match", "\"1\"", NULL };
  const char *v2[] = { "If-Match", "\"2\"", NULL };
  g_auto(Reply) reply = { 0, };

  exec_sql (fx, "INSERT INTO pickup_points (id, name, country, city, line1, postal_code, lat, lon)"
                " VALUES ('pp-minsk-1', 'Minsk Central', 'BY', 'Minsk', 'Pobediteley 9', '220004', 53.91, 27.55)");

  send (fx, "POST", "/shipments", POINT_BODY ("pp-minsk-1", ""), NULL, &reply);
  assert_status (&reply, 201);
  id = g_strdup (string_at (&reply, "id"));
  g_assert_cmpstr (string_at (&reply, "pickupPointId"), ==, "pp-minsk-1");
  g_assert_cmpstr (string_at (&reply, "destination.country"), ==, "BY");
  g_assert_cmpstr (string_at (&reply, "destination.city"), ==, "Minsk");
  g_assert_cmpstr (string_at (&reply, "destination.line1"), ==, "Pobediteley 9");
  g_assert_cmpstr (string_at (&reply, "destination.postalCode"), ==, "220004");
  /* The national number took the point's country. */
  g_assert_cmpstr (string_at (&reply, "recipient.phone"), ==, "+375291234567");

  path = g_strdup_printf ("/shipments/%s", id);
  send (fx, "GET", path, NULL, NULL, &reply);
  assert_status (&reply, 200);
  g_assert_cmpstr (string_at (&reply, "pickupPointId"), ==, "pp-minsk-1");
  stored_sql = g_strdup_printf ("SELECT 1 FROM shipments WHERE id = '%s' AND pickup_point_id = 'pp-minsk-1'", id);
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(PGconn) conn = wb_db_connect (fx->conninfo, &error);
    g_autoptr(PGresult) result = wb_db_exec (conn, stored_sql, NULL, 0, NULL, &error);

    g_assert_no_error (error);
    g_assert_cmpint (PQntuples (result), ==, 1);
  }

  send (fx, "POST", "/shipments", POINT_BODY ("pp-nowhere", ""), NULL, &reply);
  assert_error (&reply, 400, "invalid_field", "pickupPointId");
  send (fx, "POST", "/shipments", POINT_BODY ("pp minsk", ""), NULL, &reply);
  assert_error (&reply, 400, "invalid_field", "pickupPointId");
  send (fx, "POST", "/shipments", POINT_BODY ("pp-minsk-1", ",\"destination\":{\"country\":\"BY\"}"), NULL, &reply);
  assert_error (&reply, 400, "invalid_field", "pickupPointId");
  send (fx, "POST", "/shipments", "{\"clientId\":\"acme\",\"serviceLevel\":\"standard\",\"pickupPointId\":7,"
        "\"recipient\":{\"name\":\"Ann\"}}", NULL, &reply);
  assert_error (&reply, 400, "invalid_field", "pickupPointId");
  /* Neither: the street address is what is missing. */
  send (fx, "POST", "/shipments", "{\"clientId\":\"acme\",\"serviceLevel\":\"standard\","
        "\"recipient\":{\"name\":\"Ann\"}}", NULL, &reply);
  assert_error (&reply, 400, "invalid_field", "destination");

  /* A street-addressed shipment has none; PATCH sends it to the point … */
  street = create_shipment (fx);
  street_path = g_strdup_printf ("/shipments/%s", street);
  send (fx, "GET", street_path, NULL, NULL, &reply);
  g_assert_true (is_null_at (&reply, "pickupPointId"));
  send (fx, "PATCH", street_path, "{\"pickupPointId\":\"pp-nowhere\"}", v1, &reply);
  assert_error (&reply, 400, "invalid_field", "pickupPointId");
  send (fx, "PATCH", street_path, "{\"pickupPointId\":\"pp-minsk-1\",\"destination\":{\"country\":\"BY\",\"city\":\"Brest\"}}", v1,
        &reply);
  assert_error (&reply, 400, "invalid_field", "pickupPointId");
  send (fx, "PATCH", street_path, "{\"pickupPointId\":\"pp-minsk-1\"}", v1, &reply);
  assert_status (&reply, 200);
  g_assert_cmpint (int_at (&reply, "version"), ==, 2);
  g_assert_cmpstr (string_at (&reply, "pickupPointId"), ==, "pp-minsk-1");
  g_assert_cmpstr (string_at (&reply, "destination.line1"), ==, "Pobediteley 9");
  /* … and a street address takes it back. */
  send (fx, "PATCH", street_path, "{\"destination\":{\"country\":\"BY\",\"city\":\"Grodno\"}}", v2, &reply);
  assert_status (&reply, 200);
  g_assert_true (is_null_at (&reply, "pickupPointId"));
  g_assert_cmpstr (string_at (&reply, "destination.city"), ==, "Grodno");
}

/* If-Match as RFC 9110 §13.1.1 reads it: "*" matches any current
 * representation, an entity-tag list matches when one of its members does
 * under the strong comparison; only a value that is no such list is a bad
 * request. */
static void
test_if_match (Fixture       *fx,
               gconstpointer  data)
{
  g_autofree char *id = create_shipment (fx);
  g_autofree char *path = g_strdup_printf ("/shipments/%s", id);
  const char *missing = "/shipments/00000000-0000-4000-8000-000000000000";
  const char *any[] = { "If-Match", "*", NULL };
  const char *matching_nothing[][3] = {
    { "If-Match", "\"0\"", NULL },
    { "If-Match", "\"abc\"", NULL },
    { "If-Match", "\"02\"", NULL },          /* compared octet by octet: not "2" */
    { "If-Match", "W/\"2\"", NULL },         /* weak: never matches If-Match */
    { "If-Match", "\"5\", W/\"2\"", NULL },
  };
  const char *not_a_list[][3] = {
    { "If-Match", "2", NULL },
    { "If-Match", "\"2", NULL },
    { "If-Match", "\"2\" \"3\"", NULL },
    { "If-Match", "*, \"2\"", NULL },
    { "If-Match", "w/\"2\"", NULL },
    { "If-Match", ",", NULL },
  };
  const char *listed[] = { "If-Match", "\"7\", , \"2\"", NULL };
  const char *three[] = { "If-Match", "\"3\"", NULL };
  g_auto(Reply) reply = { 0, };

  /* "*": the shipment exists, so the write goes ahead. */
  send (fx, "PATCH", path, "{\"reference\":\"ORD-2\"}", any, &reply);
  assert_status (&reply, 200);
  g_assert_cmpstr (header (&reply, "ETag"), ==, "\"2\"");

  for (guint i = 0; i < G_N_ELEMENTS (matching_nothing); i++)
    {
      g_test_message ("If-Match: %s", matching_nothing[i][1]);
      send (fx, "PATCH", path, "{\"reference\":\"ORD-3\"}", matching_nothing[i], &reply);
      assert_error (&reply, 412, "version_mismatch", NULL);
      g_assert_cmpint (int_at (&reply, "currentVersion"), ==, 2);
      g_assert_cmpstr (header (&reply, "ETag"), ==, "\"2\"");
    }
  for (guint i = 0; i < G_N_ELEMENTS (not_a_list); i++)
    {
      g_test_message ("If-Match: %s", not_a_list[i][1]);
      send (fx, "PATCH", path, "{\"reference\":\"ORD-3\"}", not_a_list[i], &reply);
      assert_error (&reply, 400, "invalid_header", "If-Match");
      send (fx, "DELETE", path, NULL, not_a_list[i], &reply);
      assert_error (&reply, 400, "invalid_header", "If-Match");
    }

  /* The right number as a weak tag: the answer says why it failed. */
  send (fx, "PATCH", path, "{\"reference\":\"ORD-3\"}", matching_nothing[3], &reply);
  g_assert_nonnull (strstr (string_at (&reply, "error.message"), "send \"2\""));

  /* A list matches when any member does; empty members are skipped. */
  send (fx, "PATCH", path, "{\"reference\":\"ORD-3\"}", listed, &reply);
  assert_status (&reply, 200);
  g_assert_cmpstr (header (&reply, "ETag"), ==, "\"3\"");
  g_assert_cmpstr (string_at (&reply, "reference"), ==, "ORD-3");

  /* A missing shipment is not found, whatever the precondition: without
   * it the answer would not have been 2xx (RFC 9110 §13.2.1). */
  send (fx, "PATCH", missing, "{\"reference\":\"x\"}", any, &reply);
  assert_error (&reply, 404, "not_found", NULL);
  send (fx, "PATCH", missing, "{\"reference\":\"x\"}", matching_nothing[0], &reply);
  assert_error (&reply, 404, "not_found", NULL);
  send (fx, "DELETE", missing, NULL, any, &reply);
  assert_error (&reply, 404, "not_found", NULL);

  /* DELETE reads it alike. */
  send (fx, "DELETE", path, NULL, matching_nothing[3], &reply);
  assert_error (&reply, 412, "version_mismatch", NULL);
  send (fx, "DELETE", path, NULL, any, &reply);
  assert_status (&reply, 200);
  g_assert_nonnull (string_at (&reply, "closedAt"));
  send (fx, "DELETE", path, NULL, three, &reply);
  assert_error (&reply, 409, "shipment_closed", NULL);
}

typedef struct
{
  Fixture    *fx;
  const char *method;
  const char *path;
  const char *body;
  const char *headers[3];
  guint      *ready;
  GMutex     *mutex;
  GCond      *cond;
  guint       status;
  char       *answer;
} Racer;

/* Waits until every racer is ready, then sends on its own session. */
static gpointer
racer_run (gpointer data)
{
  Racer *racer = data;
  g_autoptr(SoupSession) session = soup_session_new_with_options ("timeout", 30, NULL);
  g_auto(Reply) reply = { 0, };

  g_mutex_lock (racer->mutex);
  (*racer->ready)++;
  g_cond_broadcast (racer->cond);
  while (*racer->ready < 2)
    g_cond_wait (racer->cond, racer->mutex);
  g_mutex_unlock (racer->mutex);

  send_on (session, racer->fx->port, racer->method, racer->path, racer->body,
           racer->headers[0] ? racer->headers : NULL, &reply);
  racer->status = reply.status;
  racer->answer = g_steal_pointer (&reply.body);
  return NULL;
}

/* Sends the same request from two threads at once; returns the two statuses, sorted. */
static void
race (Fixture    *fx,
      const char *method,
      const char *path,
      const char *body,
      const char *header_name,
      const char *header_value,
      guint       out_statuses[2])
{
  GMutex mutex;
  GCond cond;
  guint ready = 0;
  Racer racers[2];
  GThread *threads[2];

  g_mutex_init (&mutex);
  g_cond_init (&cond);
  for (guint i = 0; i < 2; i++)
    {
      racers[i] = (Racer) { fx, method, path, body, { header_name, header_value, NULL }, &ready, &mutex, &cond, 0, NULL };
      threads[i] = g_thread_new ("racer", racer_run, &racers[i]);
    }
  for (guint i = 0; i < 2; i++)
    {
      g_thread_join (threads[i]);
      g_test_message ("racer %u: %u %s", i, racers[i].status, racers[i].answer);
      g_free (racers[i].answer);
    }
  out_statuses[0] = MIN (racers[0].status, racers[1].status);
  out_statuses[1] = MAX (racers[0].status, racers[1].status);
  g_mutex_clear (&mutex);
  g_cond_clear (&cond);
}

static void
test_patch_concurrent (Fixture       *fx,
                       gconstpointer  data)
{
  g_autofree char *id = create_shipment (fx);
  g_autofree char *path = g_strdup_printf ("/shipments/%s", id);
  g_auto(Reply) reply = { 0, };
  guint statuses[2];

  race (fx, "PATCH", path, "{\"reference\":\"raced\"}", "If-Match", "\"1\"", statuses);
  g_assert_cmpuint (statuses[0], ==, 200);
  g_assert_cmpuint (statuses[1], ==, 412);

  get_shipment (fx, id, &reply);
  g_assert_cmpint (int_at (&reply, "version"), ==, 2);
}

/* ---- events ----------------------------------------------------------------- */

static void
test_event_duplicate (Fixture       *fx,
                      gconstpointer  data)
{
  g_autofree char *id = create_shipment (fx);
  g_autofree char *path = g_strdup_printf ("/shipments/%s/events", id);
  g_autofree char *naive = later (0, FALSE);
  g_autofree char *utc = g_strconcat (naive, ".000Z", NULL);
  g_autofree char *body = event_body ("dhl-1", "IN_TRANSIT", naive);
  g_auto(Reply) reply = { 0, };

  /* No zone: taken as UTC and flagged. */
  send (fx, "POST", path, body, NULL, &reply);
  assert_status (&reply, 201);
  g_assert_false (bool_at (&reply, "duplicate"));
  g_assert_true (bool_at (&reply, "statusChanged"));
  g_assert_cmpstr (string_at (&reply, "event.eventId"), ==, "dhl-1");
  g_assert_cmpstr (string_at (&reply, "event.source"), ==, "dhl");
  g_assert_cmpstr (string_at (&reply, "event.occurredAt"), ==, utc);
  g_assert_cmpstr (string_at (&reply, "event.occurredAtRaw"), ==, naive);
  g_assert_true (bool_at (&reply, "event.zoneGuessed"));
  g_assert_true (bool_at (&reply, "event.applied"));
  g_assert_cmpstr (string_at (&reply, "shipment.id"), ==, id);
  g_assert_cmpstr (string_at (&reply, "shipment.status"), ==, "IN_TRANSIT");

  send (fx, "POST", path, body, NULL, &reply);
  assert_status (&reply, 200);
  g_assert_true (bool_at (&reply, "duplicate"));
  g_assert_false (bool_at (&reply, "statusChanged"));
  g_assert_true (is_null_at (&reply, "event"));
  g_assert_cmpstr (string_at (&reply, "shipment.status"), ==, "IN_TRANSIT");

  /* An older event goes to the history only. */
  post_event (fx, id, "dhl-0", "INFO_RECEIVED", -180, &reply);
  assert_status (&reply, 201);
  g_assert_false (bool_at (&reply, "statusChanged"));
  g_assert_false (bool_at (&reply, "event.applied"));
  g_assert_cmpstr (string_at (&reply, "shipment.status"), ==, "IN_TRANSIT");

  post_event (fx, "00000000-0000-4000-8000-000000000000", "dhl-9", "IN_TRANSIT", 0, &reply);
  assert_error (&reply, 404, "not_found", NULL);
}

static void
test_event_concurrent (Fixture       *fx,
                       gconstpointer  data)
{
  g_autofree char *id = create_shipment (fx);
  g_autofree char *path = g_strdup_printf ("/shipments/%s/events", id);
  g_autofree char *body = event_body ("same-1", "IN_TRANSIT", "2026-11-20T10:00:00Z");
  g_autofree char *history = g_strdup_printf ("/shipments/%s/events", id);
  g_auto(Reply) reply = { 0, };
  guint statuses[2];

  race (fx, "POST", path, body, NULL, NULL, statuses);
  g_assert_cmpuint (statuses[0], ==, 200);
  g_assert_cmpuint (statuses[1], ==, 201);

  send (fx, "GET", history, NULL, NULL, &reply);
  assert_status (&reply, 200);
  g_assert_cmpint (int_at (&reply, "total"), ==, 1);
}

/* The text of the JSON object that starts at the first "{" from @from on,
 * as it stands (numbers unparsed). */
static char *
object_text (const char *from)
{
  const char *start = strchr (from, '{');
  gboolean in_string = FALSE;
  int depth = 0;

  g_assert_nonnull (start);
  for (const char *p = start; *p != '\0'; p++)
    {
      if (in_string && *p == '\\')
        p++;
      else if (*p == '"')
        in_string = !in_string;
      else if (!in_string && *p == '{')
        depth++;
      else if (!in_string && *p == '}' && --depth == 0)
        return g_strndup (start, p - start + 1);
    }
  g_assert_not_reached ();
}

/* The answer to POST …/events shows the event and the shipment exactly as
 * GET …/events and GET /shipments/{id} show them, number for number. */
static void
test_event_answer_as_read (Fixture       *fx,
                           gconstpointer  data)
{
  g_autofree char *id = create_shipment (fx);
  g_autofree char *history_path = g_strdup_printf ("/shipments/%s/events", id);
  g_autofree char *posted_event = NULL;
  g_autofree char *posted_shipment = NULL;
  g_autofree char *read_event = NULL;
  g_auto(Reply) posted = { 0, };
  g_auto(Reply) history = { 0, };
  g_auto(Reply) shipment = { 0, };

  post_event (fx, id, "coords-1", "IN_TRANSIT", 0, &posted);
  assert_status (&posted, 201);
  send (fx, "GET", history_path, NULL, NULL, &history);
  assert_status (&history, 200);
  get_shipment (fx, id, &shipment);
  assert_status (&shipment, 200);

  posted_event = object_text (strstr (posted.body, "\"event\":"));
  read_event = object_text (strchr (history.body, '['));
  posted_shipment = object_text (strstr (posted.body, "\"shipment\":"));
  g_assert_cmpstr (posted_event, ==, read_event);
  g_assert_cmpstr (posted_shipment, ==, shipment.body);
  g_assert_null (strstr (posted.body, "53.899"));
  g_assert_nonnull (strstr (posted_event, "53.9"));
  g_assert_nonnull (strstr (posted_event, "27.56"));
}

/* An eventId from one source names one event: sent for another shipment
 * than the one holding it, it is refused (409) naming the holder, not
 * answered as a duplicate with the wrong shipment. */
static void
test_event_conflict (Fixture       *fx,
                     gconstpointer  data)
{
  g_autofree char *a = create_shipment (fx);
  g_autofree char *b = create_shipment (fx);
  g_autofree char *history = g_strdup_printf ("/shipments/%s/events", b);
  g_autofree char *t0 = later (0, TRUE);
  g_autofree char *batch = NULL;
  g_auto(Reply) reply = { 0, };

  post_event (fx, a, "shared-1", "IN_TRANSIT", 0, &reply);
  assert_status (&reply, 201);

  post_event (fx, b, "shared-1", "IN_TRANSIT", 0, &reply);
  assert_error (&reply, 409, "event_id_conflict", "eventId");
  g_assert_cmpstr (string_at (&reply, "error.storedFor"), ==, a);
  g_assert_nonnull (strstr (string_at (&reply, "error.message"), a));

  /* The holder still answers duplicate. */
  post_event (fx, a, "shared-1", "IN_TRANSIT", 0, &reply);
  assert_status (&reply, 200);
  g_assert_true (bool_at (&reply, "duplicate"));
  g_assert_cmpstr (string_at (&reply, "shipment.id"), ==, a);

  batch = g_strdup_printf ("{\"events\":["
                           "{\"shipmentId\":\"%s\",\"eventId\":\"shared-1\",\"source\":\"dhl\",\"status\":\"IN_TRANSIT\",\"occurredAt\":\"%s\"},"
                           "{\"shipmentId\":\"%s\",\"eventId\":\"old-1\",\"status\":\"IN_TRANSIT\",\"occurredAt\":\"0001-01-01T00:00:00Z\"},"
                           "{\"shipmentId\":\"%s\",\"eventId\":\"own-1\",\"source\":\"dhl\",\"status\":\"INFO_RECEIVED\",\"occurredAt\":\"%s\"}]}",
                           b, t0, b, b, t0);
  send (fx, "POST", "/shipments/events:batch", batch, NULL, &reply);
  assert_status (&reply, 200);
  g_assert_cmpstr (string_at (&reply, "results[0].status"), ==, "failed");
  g_assert_cmpstr (string_at (&reply, "results[0].shipmentId"), ==, b);
  g_assert_cmpstr (string_at (&reply, "results[0].error.code"), ==, "event_id_conflict");
  g_assert_cmpstr (string_at (&reply, "results[0].error.storedFor"), ==, a);
  g_assert_cmpstr (string_at (&reply, "results[1].status"), ==, "failed");
  g_assert_cmpstr (string_at (&reply, "results[1].error.field"), ==, "events[1].occurredAt");
  g_assert_cmpstr (string_at (&reply, "results[2].status"), ==, "created");

  /* Nothing of a's event reached b. */
  send (fx, "GET", history, NULL, NULL, &reply);
  g_assert_cmpint (int_at (&reply, "total"), ==, 1);
  g_assert_cmpstr (string_at (&reply, "items[0].eventId"), ==, "own-1");
  get_shipment (fx, b, &reply);
  g_assert_cmpstr (string_at (&reply, "status"), ==, "INFO_RECEIVED");
}

static void
test_batch (Fixture       *fx,
            gconstpointer  data)
{
  g_autofree char *a = create_shipment (fx);
  g_autofree char *b = create_with (fx, SHIPMENT_BODY ("acme", "+375291111111",
                                                       ",\"carrier\":\"post\",\"trackNumber\":\"RR123BY\""));
  g_autofree char *body = NULL;
  g_autofree char *history = g_strdup_printf ("/shipments/%s/events", a);
  g_autofree char *t0 = later (0, TRUE);
  g_autofree char *t1 = later (1, TRUE);
  g_autofree char *t3 = later (3, TRUE);
  g_auto(Reply) reply = { 0, };

  post_event (fx, a, "old-1", "INFO_RECEIVED", -180, &reply);
  assert_status (&reply, 201);

  body = g_strdup_printf (
    "{\"events\":["
    "{\"shipmentId\":\"%s\",\"eventId\":\"b-1\",\"source\":\"dhl\",\"status\":\"IN_TRANSIT\",\"occurredAt\":\"%s\"},"
    "{\"carrier\":\"post\",\"trackNumber\":\"RR123BY\",\"eventId\":\"b-2\",\"source\":\"post\",\"status\":\"OUT_FOR_DELIVERY\",\"occurredAt\":\"%s\"},"
    "{\"shipmentId\":\"%s\",\"eventId\":\"b-3\",\"status\":\"TELEPORTED\",\"occurredAt\":\"%s\"},"
    "{\"shipmentId\":\"%s\",\"eventId\":\"old-1\",\"source\":\"dhl\",\"status\":\"INFO_RECEIVED\",\"occurredAt\":\"%s\"},"
    "{\"shipmentId\":\"00000000-0000-4000-8000-000000000000\",\"eventId\":\"b-5\",\"status\":\"IN_TRANSIT\",\"occurredAt\":\"%s\"},"
    "{\"eventId\":\"b-6\",\"status\":\"IN_TRANSIT\",\"occurredAt\":\"%s\"},"
    "\"not an object\","
    "{\"shipmentId\":\"%s\",\"eventId\":\"b-8\",\"source\":\"dhl\",\"status\":\"EXCEPTION\",\"reason\":\"customs_delay\",\"occurredAt\":\"%s\"}"
    "]}", a, t0, t1, a, t1, a, t0, t0, t0, a, t3);
  send (fx, "POST", "/shipments/events:batch", body, NULL, &reply);
  assert_status (&reply, 200);
  g_assert_cmpuint (length_at (&reply, "results"), ==, 8);
  for (guint i = 0; i < 8; i++)
    {
      g_autofree char *index = g_strdup_printf ("results[%u].index", i);
      g_assert_cmpint (int_at (&reply, index), ==, i);
    }

  g_assert_cmpstr (string_at (&reply, "results[0].status"), ==, "created");
  g_assert_true (bool_at (&reply, "results[0].statusChanged"));
  g_assert_cmpstr (string_at (&reply, "results[0].shipmentId"), ==, a);
  g_assert_cmpstr (string_at (&reply, "results[1].status"), ==, "created");
  g_assert_cmpstr (string_at (&reply, "results[1].shipmentId"), ==, b);
  g_assert_cmpstr (string_at (&reply, "results[2].status"), ==, "failed");
  g_assert_cmpstr (string_at (&reply, "results[2].error.code"), ==, "invalid_field");
  g_assert_cmpstr (string_at (&reply, "results[2].error.field"), ==, "events[2].status");
  g_assert_cmpstr (string_at (&reply, "results[3].status"), ==, "duplicate");
  g_assert_cmpstr (string_at (&reply, "results[4].status"), ==, "failed");
  g_assert_cmpstr (string_at (&reply, "results[4].error.code"), ==, "not_found");
  g_assert_cmpstr (string_at (&reply, "results[5].status"), ==, "failed");
  g_assert_cmpstr (string_at (&reply, "results[5].error.field"), ==, "events[5].shipmentId");
  g_assert_cmpstr (string_at (&reply, "results[6].status"), ==, "failed");
  g_assert_cmpstr (string_at (&reply, "results[6].error.field"), ==, "events[6]");
  g_assert_cmpstr (string_at (&reply, "results[7].status"), ==, "created");
  g_assert_cmpint (int_at (&reply, "created"), ==, 3);
  g_assert_cmpint (int_at (&reply, "duplicates"), ==, 1);
  g_assert_cmpint (int_at (&reply, "failed"), ==, 4);

  /* The valid ones were stored. */
  send (fx, "GET", history, NULL, NULL, &reply);
  g_assert_cmpint (int_at (&reply, "total"), ==, 3);
  get_shipment (fx, a, &reply);
  g_assert_cmpstr (string_at (&reply, "status"), ==, "EXCEPTION");
  g_assert_cmpstr (string_at (&reply, "statusReason"), ==, "customs_delay");
  get_shipment (fx, b, &reply);
  g_assert_cmpstr (string_at (&reply, "status"), ==, "OUT_FOR_DELIVERY");
}

static void
test_batch_limits (Fixture       *fx,
                   gconstpointer  data)
{
  g_autoptr(GString) body = g_string_new ("{\"events\":[");
  g_auto(Reply) reply = { 0, };

  for (guint i = 0; i <= WB_SHIPMENTS_API_MAX_BATCH; i++)
    g_string_append_printf (body, "%s{\"eventId\":\"x-%u\"}", i ? "," : "", i);
  g_string_append (body, "]}");
  send (fx, "POST", "/shipments/events:batch", body->str, NULL, &reply);
  assert_error (&reply, 413, "too_many_events", "events");

  /* Every item invalid: answered without the database. */
  send (fx, "POST", "/shipments/events:batch", "{\"events\":[{},{}]}", NULL, &reply);
  assert_status (&reply, 200);
  g_assert_cmpint (int_at (&reply, "failed"), ==, 2);
  g_assert_cmpstr (string_at (&reply, "results[1].error.field"), ==, "events[1].eventId");
}

static void
test_history (Fixture       *fx,
              gconstpointer  data)
{
  g_autofree char *id = create_shipment (fx);
  g_autofree char *first = g_strdup_printf ("/shipments/%s/events?limit=2", id);
  g_autofree char *second = g_strdup_printf ("/shipments/%s/events?limit=2&offset=2", id);
  g_autofree char *all = g_strdup_printf ("/shipments/%s/events", id);
  const char *statuses[] = { "INFO_RECEIVED", "IN_TRANSIT", "IN_TRANSIT", "OUT_FOR_DELIVERY", "DELIVERED" };
  g_auto(Reply) reply = { 0, };

  /* Sent out of order: the history is by occurrence, newest first. */
  for (guint n = 0; n < 5; n++)
    {
      guint i = (n * 3) % 5;
      g_autofree char *event_id = g_strdup_printf ("h-%u", i);
      post_event (fx, id, event_id, statuses[i], i, &reply);
      assert_status (&reply, 201);
    }

  send (fx, "GET", first, NULL, NULL, &reply);
  assert_status (&reply, 200);
  g_assert_cmpint (int_at (&reply, "total"), ==, 5);
  g_assert_cmpuint (length_at (&reply, "items"), ==, 2);
  g_assert_cmpstr (string_at (&reply, "items[0].eventId"), ==, "h-4");
  g_assert_cmpstr (string_at (&reply, "items[1].eventId"), ==, "h-3");

  send (fx, "GET", second, NULL, NULL, &reply);
  g_assert_cmpstr (string_at (&reply, "items[0].eventId"), ==, "h-2");
  g_assert_cmpstr (string_at (&reply, "items[1].eventId"), ==, "h-1");

  send (fx, "GET", all, NULL, NULL, &reply);
  g_assert_cmpuint (length_at (&reply, "items"), ==, 5);
  g_assert_cmpstr (string_at (&reply, "items[4].eventId"), ==, "h-0");

  get_shipment (fx, id, &reply);
  g_assert_cmpstr (string_at (&reply, "status"), ==, "DELIVERED");
  send (fx, "GET", "/shipments/00000000-0000-4000-8000-000000000000/events", NULL, NULL, &reply);
  assert_error (&reply, 404, "not_found", NULL);
}

/* ---- search ------------------------------------------------------------------ */

static GPtrArray *
search_ids (Fixture    *fx,
            const char *query)
{
  g_autofree char *path = g_strdup_printf ("/shipments/search?%s", query);
  g_auto(Reply) reply = { 0, };
  GPtrArray *ids = g_ptr_array_new_with_free_func (g_free);

  send (fx, "GET", path, NULL, NULL, &reply);
  assert_status (&reply, 200);
  for (guint i = 0; i < length_at (&reply, "items"); i++)
    {
      g_autofree char *step = g_strdup_printf ("items[%u].id", i);
      g_ptr_array_add (ids, g_strdup (string_at (&reply, step)));
    }
  return ids;
}

static gboolean
ids_contain (GPtrArray  *ids,
             const char *id)
{
  return g_ptr_array_find_with_equal_func (ids, id, g_str_equal, NULL);
}

static void
test_search (Fixture       *fx,
             gconstpointer  data)
{
  g_autofree char *a1 = create_with (fx, SHIPMENT_BODY ("alpha", "+375291000001", ""));
  g_autofree char *a2 = create_with (fx, SHIPMENT_BODY ("alpha", "+375291000002", ""));
  g_autofree char *b1 = create_with (fx, SHIPMENT_BODY ("beta", "+375291000003",
                                                        ",\"promisedAt\":\"2020-01-01T00:00:00Z\""));
  g_autoptr(GPtrArray) ids = NULL;
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *cursor = NULL;
  g_auto(Reply) reply = { 0, };

  post_event (fx, a2, "s-1", "IN_TRANSIT", 0, &reply);
  assert_status (&reply, 201);

  ids = search_ids (fx, "clientId=alpha");
  g_assert_cmpuint (ids->len, ==, 2);
  /* Newest first. */
  g_assert_cmpstr (g_ptr_array_index (ids, 0), ==, a2);
  g_assert_cmpstr (g_ptr_array_index (ids, 1), ==, a1);
  g_clear_pointer (&ids, g_ptr_array_unref);

  ids = search_ids (fx, "status=IN_TRANSIT");
  g_assert_cmpuint (ids->len, ==, 1);
  g_assert_true (ids_contain (ids, a2));
  g_clear_pointer (&ids, g_ptr_array_unref);

  ids = search_ids (fx, "status=IN_TRANSIT&status=PENDING&clientId=alpha");
  g_assert_cmpuint (ids->len, ==, 2);
  g_clear_pointer (&ids, g_ptr_array_unref);

  ids = search_ids (fx, "status=IN_TRANSIT,DELIVERED");
  g_assert_cmpuint (ids->len, ==, 1);
  g_clear_pointer (&ids, g_ptr_array_unref);

  /* The phone filter normalizes what it is given. */
  ids = search_ids (fx, "phone=%2B375%2029%20100-00-03");
  g_assert_cmpuint (ids->len, ==, 1);
  g_assert_true (ids_contain (ids, b1));
  g_clear_pointer (&ids, g_ptr_array_unref);

  ids = search_ids (fx, "overdue=true");
  g_assert_cmpuint (ids->len, ==, 1);
  g_assert_true (ids_contain (ids, b1));
  g_clear_pointer (&ids, g_ptr_array_unref);

  ids = search_ids (fx, "createdFrom=2999-01-01T00:00:00Z");
  g_assert_cmpuint (ids->len, ==, 0);
  g_clear_pointer (&ids, g_ptr_array_unref);

  ids = search_ids (fx, "createdFrom=2000-01-01T00:00:00Z&updatedTo=2999-01-01T00:00:00Z&overdue=false");
  g_assert_cmpuint (ids->len, ==, 3);
  g_clear_pointer (&ids, g_ptr_array_unref);

  /* Paging with the cursor visits every shipment once. */
  for (guint page = 0; page < 10; page++)
    {
      g_autofree char *escaped = cursor ? g_uri_escape_string (cursor, NULL, FALSE) : NULL;
      g_autofree char *path = g_strdup_printf ("/shipments/search?limit=1%s%s", escaped ? "&cursor=" : "",
                                               escaped ? escaped : "");

      send (fx, "GET", path, NULL, NULL, &reply);
      assert_status (&reply, 200);
      g_assert_cmpuint (length_at (&reply, "items"), <=, 1);
      if (length_at (&reply, "items") == 1)
        g_assert_true (g_hash_table_add (seen, g_strdup (string_at (&reply, "items[0].id"))));
      g_clear_pointer (&cursor, g_free);
      if (is_null_at (&reply, "nextCursor"))
        break;
      cursor = g_strdup (string_at (&reply, "nextCursor"));
    }
  g_assert_null (cursor);
  g_assert_cmpuint (g_hash_table_size (seen), ==, 3);
}

static void
assert_search_finds (Fixture    *fx,
                     const char *phone,
                     const char *country,
                     const char *id)
{
  g_autofree char *escaped = g_uri_escape_string (phone, NULL, FALSE);
  g_autofree char *query = g_strdup_printf ("phone=%s%s%s", escaped, country ? "&country=" : "",
                                            country ? country : "");
  g_autoptr(GPtrArray) ids = search_ids (fx, query);

  g_test_message ("%s", query);
  g_assert_cmpuint (ids->len, ==, id ? 1 : 0);
  if (id != NULL)
    g_assert_cmpstr (g_ptr_array_index (ids, 0), ==, id);
}

/* The phone as a person would type it, in each common form, finds the
 * shipment created with it: national forms read as of the search's
 * country, else shipments.phone-region (BY by default), as create reads
 * them as of the destination's. */
static void
test_search_phone_formats (Fixture       *fx,
                           gconstpointer  data)
{
  g_autofree char *by = create_with (fx, SHIPMENT_BODY ("acme", "8 029 123-45-67", ""));
  g_autoptr(GString) russian = g_string_new (SHIPMENT_BODY ("acme", "8 912 345-67-89", ""));
  g_autofree char *ru = NULL;
  const char * const formats[] = {
    "8 029 123-45-67", "80291234567", "8 (029) 123 45 67", "375291234567", "375 29 123-45-67",
    "+375 29 123-45-67", "+375291234567", "00375291234567", "29 123-45-67",
  };

  for (guint i = 0; i < G_N_ELEMENTS (formats); i++)
    {
      assert_search_finds (fx, formats[i], NULL, by);
      assert_search_finds (fx, formats[i], "BY", by);
      assert_search_finds (fx, formats[i], "by", by);
    }

  /* A Russian number, created with a Russian destination: its national
   * form needs country=RU here, where the region is BY. */
  g_string_replace (russian, "\"destination\":{\"country\":\"BY\"", "\"destination\":{\"country\":\"RU\"", 1);
  ru = create_with (fx, russian->str);
  assert_search_finds (fx, "8 912 345-67-89", "RU", ru);
  assert_search_finds (fx, "79123456789", "RU", ru);
  assert_search_finds (fx, "+7 912 345 67 89", NULL, ru);
  assert_search_finds (fx, "8 912 345-67-89", NULL, NULL);
}

/* ---- the summary ---------------------------------------------------------------- */

/* Open shipments by status and the overdue ones, counted at the request:
 * a status change moves a shipment from one count to another, a promise
 * passed makes it overdue, a closed one leaves every count. */
static void
test_summary (Fixture       *fx,
              gconstpointer  data)
{
  g_autofree char *a = create_shipment (fx);
  g_autofree char *b = create_shipment (fx);
  g_autofree char *late = create_with (fx, SHIPMENT_BODY ("acme", "+375 29 123-45-67",
                                                          ",\"promisedAt\":\"2020-01-01T00:00:00Z\""));
  g_autofree char *path = g_strdup_printf ("/shipments/%s", b);
  const char *current[] = { "If-Match", "\"1\"", NULL };
  g_auto(Reply) reply = { 0, };
  g_auto(Reply) event = { 0, };
  g_auto(Reply) closed = { 0, };

  send (fx, "GET", "/shipments/summary", NULL, NULL, &reply);
  assert_status (&reply, 200);
  g_assert_cmpint (int_at (&reply, "open"), ==, 3);
  g_assert_cmpint (int_at (&reply, "byStatus.PENDING"), ==, 3);
  g_assert_cmpint (int_at (&reply, "overdue"), ==, 1);
  g_assert_nonnull (node_at (reply.json, "at"));
  {
    g_auto(Reply) refused = { 0, };

    send (fx, "GET", "/shipments/summary?status=PENDING", NULL, NULL, &refused);
    assert_status (&refused, 400);
  }

  post_event (fx, a, "sum-1", "IN_TRANSIT", 1, &event);
  assert_status (&event, 201);
  send (fx, "DELETE", path, NULL, current, &closed);
  assert_status (&closed, 200);
  reply_clear (&reply);
  send (fx, "GET", "/shipments/summary", NULL, NULL, &reply);
  assert_status (&reply, 200);
  g_assert_cmpint (int_at (&reply, "open"), ==, 2);
  g_assert_cmpint (int_at (&reply, "byStatus.PENDING"), ==, 1);
  g_assert_cmpint (int_at (&reply, "byStatus.IN_TRANSIT"), ==, 1);
  g_assert_cmpint (int_at (&reply, "overdue"), ==, 1);
}

/* ---- closing ----------------------------------------------------------------- */

static void
test_closed (Fixture       *fx,
             gconstpointer  data)
{
  g_autofree char *id = create_shipment (fx);
  g_autofree char *path = g_strdup_printf ("/shipments/%s", id);
  g_autofree char *batch = NULL;
  const char *stale[] = { "If-Match", "\"9\"", NULL };
  const char *current[] = { "If-Match", "\"1\"", NULL };
  const char *next[] = { "If-Match", "\"2\"", NULL };
  g_auto(Reply) reply = { 0, };

  send (fx, "DELETE", path, NULL, stale, &reply);
  assert_error (&reply, 412, "version_mismatch", NULL);
  g_assert_cmpint (int_at (&reply, "currentVersion"), ==, 1);

  send (fx, "DELETE", path, NULL, current, &reply);
  assert_status (&reply, 200);
  g_assert_cmpstr (header (&reply, "ETag"), ==, "\"2\"");
  g_assert_nonnull (string_at (&reply, "closedAt"));

  post_event (fx, id, "late-1", "DELIVERED", 0, &reply);
  assert_error (&reply, 409, "shipment_closed", NULL);
  send (fx, "PATCH", path, "{\"reference\":\"x\"}", next, &reply);
  assert_error (&reply, 409, "shipment_closed", NULL);
  send (fx, "DELETE", path, NULL, NULL, &reply);
  assert_error (&reply, 409, "shipment_closed", NULL);

  batch = g_strdup_printf ("{\"events\":[{\"shipmentId\":\"%s\",\"eventId\":\"late-2\",\"status\":\"DELIVERED\","
                           "\"occurredAt\":\"2026-11-20T10:00:00Z\"}]}", id);
  send (fx, "POST", "/shipments/events:batch", batch, NULL, &reply);
  assert_status (&reply, 200);
  g_assert_cmpstr (string_at (&reply, "results[0].status"), ==, "failed");
  g_assert_cmpstr (string_at (&reply, "results[0].error.code"), ==, "shipment_closed");

  /* History stays readable. */
  get_shipment (fx, id, &reply);
  assert_status (&reply, 200);
  g_assert_nonnull (string_at (&reply, "closedAt"));
}

/* ---- the cache ---------------------------------------------------------------- */

static gboolean
metrics_contain (Fixture    *fx,
                 const char *line)
{
  g_autofree char *text = wb_metrics_render (fx->metrics);

  return strstr (text, line) != NULL;
}

/* Every write through the API is visible to the next GET, however warm the
 * cache was. */
static void
test_read_after_write (Fixture       *fx,
                       gconstpointer  data)
{
  g_autofree char *id = create_shipment (fx);
  g_autofree char *path = g_strdup_printf ("/shipments/%s", id);
  g_autofree char *batch = NULL;
  g_autofree char *etag = NULL;
  g_autofree char *t1 = later (1, TRUE);
  gint64 version;
  g_auto(Reply) reply = { 0, };

  /* The first GET after create is served from the view create published. */
  get_shipment (fx, id, &reply);
  assert_status (&reply, 200);
  get_shipment (fx, id, &reply);
  g_assert_true (metrics_contain (fx, "waybill_shipment_cache_lookups_total{result=\"hit\"} 2"));
  g_assert_true (metrics_contain (fx, "waybill_shipment_cache_lookups_total{result=\"miss\"} 0"));

  {
    const char *if_match[] = { "If-Match", "\"1\"", NULL };

    send (fx, "PATCH", path, "{\"reference\":\"after-patch\"}", if_match, &reply);
    assert_status (&reply, 200);
  }
  get_shipment (fx, id, &reply);
  g_assert_cmpstr (string_at (&reply, "reference"), ==, "after-patch");
  g_assert_cmpint (int_at (&reply, "version"), ==, 2);

  post_event (fx, id, "raw-1", "IN_TRANSIT", 0, &reply);
  assert_status (&reply, 201);
  version = int_at (&reply, "shipment.version");
  get_shipment (fx, id, &reply);
  g_assert_cmpstr (string_at (&reply, "status"), ==, "IN_TRANSIT");
  g_assert_cmpint (int_at (&reply, "version"), ==, version);
  etag = etag_for (version);
  g_assert_cmpstr (header (&reply, "ETag"), ==, etag);

  batch = g_strdup_printf ("{\"events\":[{\"shipmentId\":\"%s\",\"eventId\":\"raw-2\",\"status\":\"OUT_FOR_DELIVERY\","
                           "\"occurredAt\":\"%s\"}]}", id, t1);
  send (fx, "POST", "/shipments/events:batch", batch, NULL, &reply);
  assert_status (&reply, 200);
  g_assert_cmpint (int_at (&reply, "created"), ==, 1);
  get_shipment (fx, id, &reply);
  g_assert_cmpstr (string_at (&reply, "status"), ==, "OUT_FOR_DELIVERY");

  send (fx, "DELETE", path, NULL, NULL, &reply);
  assert_status (&reply, 200);
  get_shipment (fx, id, &reply);
  g_assert_nonnull (string_at (&reply, "closedAt"));

  g_assert_true (metrics_contain (fx, "waybill_shipment_events_total{outcome=\"created\"} 2"));
}

static void
store_done (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  GAsyncResult **slot = user_data;

  *slot = g_object_ref (result);
}

/* A write by the tracker role (a carrier batch through the same store, as
 * WbTrackerConsumer makes it), not through REST: the next GET shows it,
 * however warm the cache was. */
static void
test_cache_tracker_write (Fixture       *fx,
                          gconstpointer  data)
{
  g_autofree char *id = create_with (fx, SHIPMENT_BODY ("acme", "+375291234567",
                                                        ",\"carrier\":\"dhl\",\"trackNumber\":\"JD-CACHE-1\""));
  g_autoptr(GPtrArray) none = g_ptr_array_new ();
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_status_event_free);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(WbCarrierBatchResult) applied = NULL;
  g_autoptr(GError) error = NULL;
  WbStatusEvent *event = g_new0 (WbStatusEvent, 1);
  g_auto(Reply) reply = { 0, };

  get_shipment (fx, id, &reply);
  get_shipment (fx, id, &reply);
  g_assert_cmpstr (string_at (&reply, "status"), ==, "PENDING");
  g_assert_true (metrics_contain (fx, "waybill_shipment_cache_lookups_total{result=\"hit\"} 2"));

  event->event_id = g_strdup ("trk-1");
  event->source = g_strdup ("dhl");
  event->carrier = g_strdup ("dhl");
  event->track_number = g_strdup ("JD-CACHE-1");
  event->status = WB_STATUS_IN_TRANSIT;
  event->occurred_at = g_get_real_time ();
  event->occurred_at_raw = g_strdup ("now");
  g_ptr_array_add (events, event);
  wb_shipment_store_apply_carrier_batch_async (fx->store, none, none, events, NULL, store_done, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  applied = wb_shipment_store_apply_carrier_batch_finish (fx->store, result, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_array_index (applied->events, WbEventResult, 0).outcome, ==, WB_EVENT_CREATED);

  get_shipment (fx, id, &reply);
  g_assert_cmpstr (string_at (&reply, "status"), ==, "IN_TRANSIT");
  g_assert_cmpint (int_at (&reply, "version"), ==, 2);
  g_assert_cmpstr (header (&reply, "ETag"), ==, "\"2\"");
}

/* Scaled out: another daemon on the same database writes, which this
 * process cannot hear of; a revalidated hit finds the newer version by
 * primary key and serves the fresh view. */
static void
test_cache_revalidation (Fixture       *fx,
                         gconstpointer  data)
{
  g_autofree char *id = create_shipment (fx);
  g_autoptr(GError) error = NULL;
  g_autoptr(PGconn) other = wb_db_connect (fx->conninfo, &error);
  g_autoptr(PGresult) written = NULL;
  const char *params[] = { id };
  g_auto(Reply) reply = { 0, };

  g_assert_no_error (error);
  get_shipment (fx, id, &reply);
  g_assert_cmpstr (string_at (&reply, "reference"), ==, "ORD-1");
  g_assert_true (metrics_contain (fx, "waybill_shipment_cache_lookups_total{result=\"hit\"} 1"));

  written = wb_db_exec (other, "UPDATE shipments SET reference = 'written elsewhere', version = version + 1,"
                               " updated_at = now() WHERE id = $1", params, 1, NULL, &error);
  g_assert_no_error (error);

  get_shipment (fx, id, &reply);
  assert_status (&reply, 200);
  g_assert_cmpstr (string_at (&reply, "reference"), ==, "written elsewhere");
  g_assert_cmpint (int_at (&reply, "version"), ==, 2);
  g_assert_cmpstr (header (&reply, "ETag"), ==, "\"2\"");
  g_assert_true (metrics_contain (fx, "waybill_shipment_cache_lookups_total{result=\"stale\"} 1"));

  /* The fresh view is cached again, and still checked. */
  get_shipment (fx, id, &reply);
  g_assert_cmpstr (string_at (&reply, "reference"), ==, "written elsewhere");
  g_assert_true (metrics_contain (fx, "waybill_shipment_cache_lookups_total{result=\"hit\"} 2"));
}

static void
test_cache_ordering (void)
{
  g_autoptr(WbShipmentCache) cache = wb_shipment_cache_new (4, G_USEC_PER_SEC * 60);
  g_autoptr(GBytes) found = NULL;
  guint64 ticket;
  gint64 version = 0;

  g_assert_null (wb_shipment_cache_lookup (cache, "a", &version));

  /* A read that began before a write does not overwrite it. */
  ticket = wb_shipment_cache_begin_fill (cache);
  wb_shipment_cache_put (cache, "a", 2, "{\"v\":2}", 0);
  g_assert_false (wb_shipment_cache_fill (cache, "a", ticket, 1, "{\"v\":1}", 0));
  found = wb_shipment_cache_lookup (cache, "a", &version);
  g_assert_cmpint (version, ==, 2);
  g_clear_pointer (&found, g_bytes_unref);

  /* Nor does it after an invalidation. */
  ticket = wb_shipment_cache_begin_fill (cache);
  wb_shipment_cache_invalidate (cache, "a", 3);
  g_assert_null (wb_shipment_cache_lookup (cache, "a", NULL));
  g_assert_false (wb_shipment_cache_fill (cache, "a", ticket, 2, "{\"v\":2}", 0));
  /* A late write's older view does not come back either. */
  wb_shipment_cache_put (cache, "a", 2, "{\"v\":2}", 0);
  g_assert_null (wb_shipment_cache_lookup (cache, "a", NULL));
  /* A read after the invalidation does fill. */
  ticket = wb_shipment_cache_begin_fill (cache);
  g_assert_true (wb_shipment_cache_fill (cache, "a", ticket, 3, "{\"v\":3}", 0));
  found = wb_shipment_cache_lookup (cache, "a", &version);
  g_assert_cmpint (version, ==, 3);
  g_assert_cmpmem (g_bytes_get_data (found, NULL), g_bytes_get_size (found), "{\"v\":3}", 7);
  g_clear_pointer (&found, g_bytes_unref);

  /* A newer view held is kept against an older write's put. */
  wb_shipment_cache_put (cache, "a", 5, "{\"v\":5}", 0);
  wb_shipment_cache_put (cache, "a", 4, "{\"v\":4}", 0);
  found = wb_shipment_cache_lookup (cache, "a", &version);
  g_assert_cmpint (version, ==, 5);
}

static void
test_cache_bounds (void)
{
  g_autoptr(WbShipmentCache) cache = wb_shipment_cache_new (3, G_USEC_PER_SEC / 10);
  g_autoptr(GBytes) found = NULL;
  guint64 ticket;

  wb_shipment_cache_put (cache, "a", 1, "a", 0);
  wb_shipment_cache_put (cache, "b", 1, "b", 0);
  wb_shipment_cache_put (cache, "c", 1, "c", 0);
  found = wb_shipment_cache_lookup (cache, "a", NULL);   /* a is now the most recent */
  g_assert_nonnull (found);
  g_clear_pointer (&found, g_bytes_unref);
  wb_shipment_cache_put (cache, "d", 1, "d", 0);
  g_assert_cmpuint (wb_shipment_cache_get_size (cache), ==, 3);
  found = wb_shipment_cache_lookup (cache, "b", NULL);   /* the least recent went */
  g_assert_null (found);
  found = wb_shipment_cache_lookup (cache, "a", NULL);
  g_assert_nonnull (found);
  g_clear_pointer (&found, g_bytes_unref);

  /* A fill whose ticket predates a write to an entry since evicted is
   * refused: the eviction may have dropped what told of that write. */
  ticket = wb_shipment_cache_begin_fill (cache);
  wb_shipment_cache_put (cache, "e", 2, "e2", 0);
  wb_shipment_cache_put (cache, "f", 1, "f", 0);
  wb_shipment_cache_put (cache, "g", 1, "g", 0);
  wb_shipment_cache_put (cache, "h", 1, "h", 0);
  g_assert_false (wb_shipment_cache_fill (cache, "e", ticket, 1, "e1", 0));

  /* Entries expire. */
  g_usleep (G_USEC_PER_SEC / 5);
  g_assert_null (wb_shipment_cache_lookup (cache, "h", NULL));
}

/* ---- roles, documentation, the database going away ---------------------------- */

static char *
token_for (WbAccessRole role)
{
  return wb_jwt_sign ((const guint8 *) SECRET, strlen (SECRET), "tester", role,
                      g_get_real_time () / G_USEC_PER_SEC, 600);
}

static void
test_roles (Fixture       *fx,
            gconstpointer  data)
{
  g_autofree char *viewer = token_for (WB_ACCESS_ROLE_VIEWER);
  g_autofree char *dispatcher = token_for (WB_ACCESS_ROLE_DISPATCHER);
  g_autofree char *viewer_auth = g_strconcat ("Bearer ", viewer, NULL);
  g_autofree char *dispatcher_auth = g_strconcat ("Bearer ", dispatcher, NULL);
  const char *as_viewer[] = { "Authorization", viewer_auth, NULL };
  const char *as_dispatcher[] = { "Authorization", dispatcher_auth, NULL };
  g_autofree char *path = NULL;
  g_auto(Reply) reply = { 0, };

  send (fx, "POST", "/shipments", SHIPMENT_BODY ("acme", "+375291234567", ""), as_viewer, &reply);
  assert_error (&reply, 403, "forbidden", NULL);
  send (fx, "POST", "/shipments", SHIPMENT_BODY ("acme", "+375291234567", ""), as_dispatcher, &reply);
  assert_status (&reply, 201);
  path = g_strdup_printf ("/shipments/%s", string_at (&reply, "id"));

  send (fx, "GET", path, NULL, as_viewer, &reply);
  assert_status (&reply, 200);
  send (fx, "GET", "/shipments/search", NULL, as_viewer, &reply);
  assert_status (&reply, 200);
  send (fx, "DELETE", path, NULL, as_viewer, &reply);
  assert_error (&reply, 403, "forbidden", NULL);
  send (fx, "POST", "/shipments/events:batch", "{\"events\":[]}", as_viewer, &reply);
  assert_error (&reply, 403, "forbidden", NULL);
  send (fx, "DELETE", path, NULL, as_dispatcher, &reply);
  assert_status (&reply, 200);
  send (fx, "GET", path, NULL, NULL, &reply);
  assert_error (&reply, 401, "unauthorized", NULL);
}

typedef struct
{
  JsonObject *paths;
  guint       documented;
  GPtrArray  *order;
} RouteWalk;

static void
check_route (const char *method,
             const char *pattern,
             WbAccessRole      min_role,
             const char *operation_json,
             gpointer    user_data)
{
  RouteWalk *walk = user_data;
  g_autofree char *key = g_ascii_strdown (method, -1);
  g_autofree char *text = NULL;
  JsonObject *operation;

  if (!g_str_has_prefix (pattern, "/shipments"))
    return;
  g_ptr_array_add (walk->order, g_strdup_printf ("%s %s", method, pattern));
  g_assert_cmpint (min_role, ==, g_str_equal (method, "GET") ? WB_ACCESS_ROLE_VIEWER : WB_ACCESS_ROLE_DISPATCHER);
  /* The route's operation in the served document (data/openapi/). */
  operation = json_object_get_object_member (json_object_get_object_member (walk->paths, pattern), key);
  g_assert_nonnull (operation);
  text = json_to_string (json_object_get_member (json_object_get_object_member (walk->paths, pattern), key), FALSE);
  g_assert_nonnull (json_object_get_string_member (operation, "summary"));
  g_assert_nonnull (json_object_get_string_member (operation, "operationId"));
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (operation, "tags"), 0), ==, "shipments");
  g_assert_true (json_object_has_member (json_object_get_object_member (operation, "responses"), "400"));
  if (!g_str_equal (method, "GET") && !g_str_equal (method, "DELETE"))
    g_assert_true (json_object_has_member (operation, "requestBody"));
  g_assert_nonnull (strstr (text, "#/components/schemas/Error"));
  walk->documented++;
}

static void
test_documented (void)
{
  g_autoptr(WbMetrics) metrics = wb_metrics_new ();
  g_autoptr(WbSlaTable) sla = wb_sla_table_load_default (NULL);
  g_autoptr(WbDbPool) pool = wb_db_pool_new ("dbname=unused", 1);
  g_autoptr(WbShipmentStore) store = wb_shipment_store_new (pool, sla);
  g_autoptr(WbShipmentsApi) api = wb_shipments_api_new (store, sla, metrics);
  WbHttpLimits limits = { 1024, 10, 1024, 1000, 10, 10 };
  g_autoptr(WbHttpServer) http = wb_http_server_new (metrics, &limits);
  RouteWalk walk = { NULL, 0, g_ptr_array_new_with_free_func (g_free) };
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) document = NULL;
  guint search, by_id;

  wb_shipments_api_register (api, http);
  document = wb_openapi_build (http, &error);
  g_assert_no_error (error);
  walk.paths = json_object_get_object_member (json_node_get_object (document), "paths");
  wb_http_server_foreach_route (http, check_route, &walk);
  g_assert_cmpuint (walk.documented, ==, 9);
  /* The literal paths must be tried before /shipments/{id} captures them. */
  g_assert_true (g_ptr_array_find_with_equal_func (walk.order, "GET /shipments/search", g_str_equal, &search));
  g_assert_true (g_ptr_array_find_with_equal_func (walk.order, "GET /shipments/{id}", g_str_equal, &by_id));
  g_assert_cmpuint (search, <, by_id);
  g_ptr_array_unref (walk.order);
}

static void
test_database_down (Fixture       *fx,
                    gconstpointer  data)
{
  g_autofree char *id = create_shipment (fx);
  g_auto(Reply) reply = { 0, };
  gboolean recovered = FALSE;

  wb_test_pg_stop_server ();

  send (fx, "POST", "/shipments", SHIPMENT_BODY ("acme", "+375291234567", ""), NULL, &reply);
  assert_error (&reply, 503, "unavailable", NULL);
  g_assert_cmpstr (header (&reply, "Retry-After"), ==, "1");
  g_assert_null (strstr (reply.body, "SELECT"));
  post_event (fx, id, "down-1", "IN_TRANSIT", 0, &reply);
  assert_error (&reply, 503, "unavailable", NULL);
  g_assert_true (metrics_contain (fx, "waybill_shipment_events_total{outcome=\"failed\"} 1"));

  wb_test_pg_start_server ();

  /* The pool reconnects with back-off. */
  for (guint attempt = 0; attempt < 300 && !recovered; attempt++)
    {
      send (fx, "POST", "/shipments", SHIPMENT_BODY ("acme", "+375291234567", ""), NULL, &reply);
      recovered = reply.status == 201;
      if (!recovered)
        {
          assert_error (&reply, 503, "unavailable", NULL);
          g_usleep (100 * 1000);
        }
    }
  g_assert_true (recovered);
  post_event (fx, id, "down-1", "IN_TRANSIT", 0, &reply);
  assert_status (&reply, 201);
}

/* shipments.phone-region as the API takes it: a country with a calling
 * code, or nothing. */
static void
test_phone_region_setting (void)
{
  g_autoptr(WbMetrics) metrics = wb_metrics_new ();
  g_autoptr(WbSlaTable) sla = wb_sla_table_load_default (NULL);
  g_autoptr(WbDbPool) pool = wb_db_pool_new ("dbname=unused", 1);
  g_autoptr(WbShipmentStore) store = wb_shipment_store_new (pool, sla);
  g_autoptr(WbShipmentsApi) api = wb_shipments_api_new (store, sla, metrics);

  g_assert_true (wb_shipments_api_set_phone_region (api, "ru"));
  g_assert_true (wb_shipments_api_set_phone_region (api, ""));
  g_assert_true (wb_shipments_api_set_phone_region (api, NULL));
  g_assert_false (wb_shipments_api_set_phone_region (api, "ZZ"));
  g_assert_false (wb_shipments_api_set_phone_region (api, "BLR"));
}

/* ---- the daemon, black box ------------------------------------------------------ */

static void
wait_ready (SoupSession  *session,
            WbTestDaemon *d)
{
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  g_auto(Reply) reply = { 0, };

  for (;;)
    {
      send_on (session, wb_test_daemon_port (d), "GET", "/readyz", NULL, NULL, &reply);
      if (reply.status == 200)
        return;
      if (g_get_monotonic_time () > deadline)
        g_error ("waybilld never became ready; its log:\n%s", d->log->str);
      g_usleep (50 * 1000);
    }
}

static gint64
sql_count (PGconn     *conn,
           const char *statement,
           const char *param)
{
  const char *params[] = { param };
  g_autoptr(GError) error = NULL;
  g_autoptr(PGresult) result = wb_db_exec (conn, statement, params, param ? 1 : 0, NULL, &error);

  g_assert_no_error (error);
  return g_ascii_strtoll (PQgetvalue (result, 0, 0), NULL, 10);
}

/* Every message the daemon queues, kept after its relay deletes it. */
static const char * const keep_outbox_sql[] = {
  "CREATE TABLE outbox_seen (type text, key text, payload json)",
  "CREATE FUNCTION keep_outbox () RETURNS trigger LANGUAGE plpgsql AS"
  " $$ BEGIN INSERT INTO outbox_seen VALUES (NEW.type, NEW.key, NEW.payload); RETURN NEW; END $$",
  "CREATE TRIGGER keep_outbox AFTER INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION keep_outbox ()",
};

static char *
seconds_from_now (int seconds)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr(GDateTime) then = g_date_time_add_seconds (now, seconds);

  return g_date_time_format (then, "%Y-%m-%dT%H:%M:%SZ");
}

/* The periodic SLA job, as waybilld schedules it (shipments.overdue-check-
 * interval): a shipment whose promise passes with no event at all is
 * flagged by the job alone, and its breach queues exactly one
 * shipment.delayed, which is published, however many times the job runs. */
static void
test_daemon_overdue_job (void)
{
  g_autofree char *conninfo = wb_test_pg_create_database ("shipments_overdue_job");
  g_autofree char *dsn = g_strconcat ("DB_DSN=", conninfo, NULL);
  g_autoptr(SoupSession) session = soup_session_new_with_options ("timeout", 30, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(PGconn) conn = NULL;
  /* Far enough ahead that a slow start (ASan, a loaded machine) still
   * creates the shipment before its promise passes. */
  g_autofree char *promised = seconds_from_now (8);
  g_autofree char *body = NULL;
  g_autofree char *id = NULL;
  g_autofree char *path = NULL;
  const char *env[] = { dsn, NULL };
  const char *args[] = { "--overdue-check-interval=1s", NULL };
  const char *flagged_sql = "SELECT count(*) FROM shipments WHERE id = $1 AND overdue_at IS NOT NULL";
  const char *delayed_sql = "SELECT count(*) FROM outbox_seen WHERE type = 'shipment.delayed' AND key = $1";
  g_auto(Reply) reply = { 0, };
  gint64 deadline;
  WbTestDaemon *d;

  apply_migrations (conninfo);
  conn = wb_db_connect (conninfo, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (keep_outbox_sql); i++)
    {
      g_autoptr(PGresult) done = wb_db_exec (conn, keep_outbox_sql[i], NULL, 0, NULL, &error);

      g_assert_no_error (error);
    }

  d = wb_test_daemon_spawn (env, args);
  wait_ready (session, d);
  body = g_strdup_printf ("{\"clientId\":\"acme\",\"serviceLevel\":\"standard\","
                          "\"recipient\":{\"name\":\"Ann\"},\"destination\":{\"country\":\"BY\"},"
                          "\"promisedAt\":\"%s\"}", promised);
  send_on (session, wb_test_daemon_port (d), "POST", "/shipments", body, NULL, &reply);
  assert_status (&reply, 201);
  id = g_strdup (string_at (&reply, "id"));
  path = g_strdup_printf ("/shipments/%s", id);
  g_assert_cmpstr (string_at (&reply, "sla.state"), !=, "overdue");

  deadline = g_get_monotonic_time () + 40 * G_USEC_PER_SEC;
  while (sql_count (conn, flagged_sql, id) == 0)
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("the SLA job never flagged the shipment; the daemon's log:\n%s", d->log->str);
      g_usleep (100 * 1000);
    }
  send_on (session, wb_test_daemon_port (d), "GET", path, NULL, NULL, &reply);
  assert_status (&reply, 200);
  g_assert_cmpstr (string_at (&reply, "sla.state"), ==, "overdue");
  g_assert_cmpstr (string_at (&reply, "sla.overdueSince"), !=, NULL);
  g_assert_cmpint (sql_count (conn, delayed_sql, id), ==, 1);

  /* Two more runs at least: the breach is not announced again, and the
   * message left the outbox for the bus. */
  g_usleep (2500 * 1000);
  g_assert_cmpint (sql_count (conn, delayed_sql, id), ==, 1);
  g_assert_cmpint (sql_count (conn, "SELECT count(*) FROM outbox", NULL), ==, 0);
  g_assert_cmpint (sql_count (conn, "SELECT count(*) FROM shipment_events", NULL), ==, 0);
  g_assert_true (wb_test_daemon_log_contains (d, "SLA check: 1 shipments newly overdue"));

  g_assert_cmpint (wb_test_daemon_terminate (d), ==, 0);
  wb_test_daemon_free (d);
}

static void
test_daemon_phone_region_invalid (void)
{
  const char *args[] = { "--phone-region=ZZ", NULL };
  WbTestDaemon *d = wb_test_daemon_spawn (NULL, args);

  g_assert_cmpint (wb_test_daemon_wait (d), ==, 2);
  g_assert_true (wb_test_daemon_log_contains (d, "shipments.phone-region"));
  wb_test_daemon_free (d);
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/shipments-api/cache/ordering", test_cache_ordering);
  g_test_add_func ("/shipments-api/cache/bounds", test_cache_bounds);
  g_test_add_func ("/shipments-api/documented", test_documented);
  g_test_add_func ("/shipments-api/phone-region-setting", test_phone_region_setting);
  g_test_add_func ("/shipments-api/daemon/overdue-job", test_daemon_overdue_job);
  g_test_add_func ("/shipments-api/daemon/phone-region-invalid", test_daemon_phone_region_invalid);

#define ADD(path, auth, func) \
  g_test_add (path, Fixture, GINT_TO_POINTER (auth), fixture_setup, func, fixture_teardown)
  ADD ("/shipments-api/create", FALSE, test_create);
  ADD ("/shipments-api/get", FALSE, test_get);
  ADD ("/shipments-api/validation", FALSE, test_validation);
  ADD ("/shipments-api/strict-json", FALSE, test_strict_json);
  ADD ("/shipments-api/patch", FALSE, test_patch);
  ADD ("/shipments-api/pickup-point", FALSE, test_pickup_point);
  ADD ("/shipments-api/if-match", FALSE, test_if_match);
  ADD ("/shipments-api/compact", FALSE, test_compact);
  ADD ("/shipments-api/patch-concurrent", FALSE, test_patch_concurrent);
  ADD ("/shipments-api/event-duplicate", FALSE, test_event_duplicate);
  ADD ("/shipments-api/event-concurrent", FALSE, test_event_concurrent);
  ADD ("/shipments-api/event-answer-as-read", FALSE, test_event_answer_as_read);
  ADD ("/shipments-api/event-conflict", FALSE, test_event_conflict);
  ADD ("/shipments-api/batch", FALSE, test_batch);
  ADD ("/shipments-api/batch-limits", FALSE, test_batch_limits);
  ADD ("/shipments-api/history", FALSE, test_history);
  ADD ("/shipments-api/search", FALSE, test_search);
  ADD ("/shipments-api/search/phone-formats", FALSE, test_search_phone_formats);
  ADD ("/shipments-api/closed", FALSE, test_closed);
  ADD ("/shipments-api/summary", FALSE, test_summary);
  ADD ("/shipments-api/read-after-write", FALSE, test_read_after_write);
  ADD ("/shipments-api/cache/tracker-write", FALSE, test_cache_tracker_write);
  ADD ("/shipments-api/cache/revalidation", WITH_REVALIDATION, test_cache_revalidation);
  ADD ("/shipments-api/roles", WITH_AUTH, test_roles);
  ADD ("/shipments-api/database-down", FALSE, test_database_down);
#undef ADD

  status = g_test_run ();
  wb_test_pg_teardown ();
  return status;
}
