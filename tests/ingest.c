// SPDX-License-Identifier: GPL-3.0-or-later
/* The ingest role on real sockets: OsmAnd (query and JSON forms), POST
 * /telemetry and Teltonika TCP, against a real device table, with a real
 * in-process bus whose subscriber shows exactly what was published. The
 * server runs on the main context; clients run on a thread with blocking
 * sockets, so the test drives the loop until the client is done. */

#include "config.h"

#include <string.h>

#include "wb-bus-local.h"
#include "wb-db-pool.h"
#include "wb-db.h"
#include "wb-fleet-api.h"
#include "wb-fleet-store.h"
#include "wb-ingest.h"
#include "wb-migrations.h"
#include "wb-telemetry-json.h"
#include "wb-test-pg.h"

#define IMEI "356307042441013"

/* Teltonika's published Codec 8 example has a 2019 time and no fix, so a
 * frame with a fresh record is built here from the same layout. */
typedef struct
{
  WbBus        *bus;
  WbMetrics    *metrics;
  WbDbPool     *pool;
  char         *conninfo;
  WbFleetIndex *index;
  WbFleetStore *store;
  WbIngest     *ingest;
  WbHttpServer *api;
  GPtrArray    *published;      /* WbBusMessage* on telemetry.raw and device.first_seen */
  GPtrArray    *held;           /* batches not acknowledged while hold is set */
  gboolean      hold;
} Fixture;

static void
on_batch (WbBus      *bus,
          WbBusBatch *batch,
          gpointer    data)
{
  Fixture *f = data;

  for (guint i = 0; i < wb_bus_batch_get_length (batch); i++)
    g_ptr_array_add (f->published, wb_bus_message_ref (wb_bus_batch_get_message (batch, i)));
  if (f->hold)
    g_ptr_array_add (f->held, wb_bus_batch_ref (batch));
  else
    wb_bus_batch_ack (batch);
}

static void
store_done (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  *(GAsyncResult **) data = g_object_ref (result);
}

static GAsyncResult *
wait_result (GAsyncResult **slot)
{
  while (*slot == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *slot;
}

static void
apply_device (Fixture    *f,
              const char *device_id,
              const char *token)
{
  g_autoptr(WbFleetUpdate) update = wb_fleet_update_new (WB_FLEET_KIND_DEVICE, device_id);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(WbFleetApplyResult) applied = NULL;
  g_autoptr(GError) error = NULL;

  update->vehicle_id = g_strdup ("v1");
  update->has_token = token != NULL;
  update->token = g_strdup (token);
  wb_fleet_store_apply_async (f->store, update, NULL, store_done, &result);
  applied = wb_fleet_store_apply_finish (f->store, wait_result (&result), &error);
  g_assert_no_error (error);
  g_assert_true (applied->applied);
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autofree char *conninfo = wb_test_pg_create_database ("ingest");
  g_autoptr(PGconn) conn = NULL;
  g_autoptr(GError) error = NULL;
  WbHttpLimits limits = { 1 << 20, 64, 16384, 10000, 100, 100 };
  const char *topics[] = { WB_TOPIC_TELEMETRY_RAW, WB_TOPIC_DEVICE_FIRST_SEEN, NULL };
  guint queue = GPOINTER_TO_UINT (data) ? GPOINTER_TO_UINT (data) : 1000;

  conn = wb_db_connect (conninfo, &error);
  g_assert_no_error (error);
  f->conninfo = g_strdup (conninfo);
  g_assert_true (wb_migrations_apply (conn, NULL, &error));
  g_assert_no_error (error);

  f->published = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_bus_message_unref);
  f->held = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_bus_batch_unref);
  f->bus = wb_bus_local_new (queue);
  wb_bus_subscribe (f->bus, "test", topics, 100, on_batch, f, NULL);
  f->metrics = wb_metrics_new ();
  f->pool = wb_db_pool_new (conninfo, 2);
  f->index = wb_fleet_index_new ();
  f->store = wb_fleet_store_new (f->pool, f->index);
  apply_device (f, "dev1", NULL);
  apply_device (f, "secure1", "s3cret");
  apply_device (f, IMEI, NULL);

  f->ingest = wb_ingest_new (f->bus, f->index, f->store, f->metrics, (gint64) 7 * 86400 * G_USEC_PER_SEC, FALSE);
  f->api = wb_http_server_new (f->metrics, &limits);
  wb_ingest_register_api (f->ingest, f->api);
  g_assert_true (wb_http_server_listen (f->api, "127.0.0.1", 0, &error));
  g_assert_true (wb_ingest_listen_osmand (f->ingest, "127.0.0.1", 0, &limits, &error));
  g_assert_no_error (error);
  g_assert_true (wb_ingest_listen_teltonika (f->ingest, "127.0.0.1", 0, &error));
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  for (guint i = 0; i < f->held->len; i++)
    wb_bus_batch_ack (g_ptr_array_index (f->held, i));
  wb_ingest_stop (f->ingest);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_clear_object (&f->ingest);
  g_clear_object (&f->api);
  g_clear_object (&f->store);
  g_clear_object (&f->index);
  wb_db_pool_close (f->pool);
  g_clear_object (&f->pool);
  g_clear_object (&f->metrics);
  g_clear_object (&f->bus);
  g_ptr_array_unref (f->held);
  g_ptr_array_unref (f->published);
  g_free (f->conninfo);
}

/* ---- clients, run on a thread ---------------------------------------------- */

typedef struct
{
  guint16  port;
  char    *request;        /* raw HTTP */
  char    *answer;
  gint     done;
} HttpCall;

static gpointer
http_thread (gpointer data)
{
  HttpCall *call = data;
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = g_socket_client_connect_to_host (client, "127.0.0.1", call->port,
                                                                           NULL, NULL);
  GString *answer = g_string_new (NULL);
  char buffer[4096];
  gssize n;

  g_assert_nonnull (connection);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)), call->request,
                             strlen (call->request), NULL, NULL, NULL);
  while ((n = g_input_stream_read (g_io_stream_get_input_stream (G_IO_STREAM (connection)), buffer,
                                   sizeof buffer, NULL, NULL)) > 0)
    g_string_append_len (answer, buffer, n);
  call->answer = g_string_free (answer, FALSE);
  g_atomic_int_set (&call->done, 1);
  return NULL;
}

/* Sends a raw HTTP request and runs the server loop until the answer came. */
static char *
http_raw (guint       port,
          const char *request)
{
  HttpCall call = { port, (char *) request, NULL, 0 };
  GThread *thread = g_thread_new ("client", http_thread, &call);

  while (!g_atomic_int_get (&call.done))
    g_main_context_iteration (NULL, FALSE), g_usleep (200);
  g_thread_join (thread);
  return call.answer;
}

static char *
http_post_json (guint       port,
                const char *path,
                const char *body)
{
  g_autofree char *request = g_strdup_printf ("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                              "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                                              path, strlen (body), body);
  return http_raw (port, request);
}

static void
iterate_a_little (void)
{
  for (int i = 0; i < 50; i++)
    {
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (1000);
    }
}

static guint
count_topic (Fixture    *f,
             const char *topic)
{
  guint n = 0;

  for (guint i = 0; i < f->published->len; i++)
    if (g_str_equal (wb_bus_message_get_topic (g_ptr_array_index (f->published, i)), topic))
      n++;
  return n;
}

static JsonObject *
last_position (Fixture *f)
{
  static JsonNode *node;

  for (guint i = f->published->len; i > 0; i--)
    {
      WbBusMessage *message = g_ptr_array_index (f->published, i - 1);
      GBytes *payload = wb_bus_message_get_payload (message);
      g_autofree char *text = NULL;

      if (!g_str_equal (wb_bus_message_get_topic (message), WB_TOPIC_TELEMETRY_RAW))
        continue;
      text = g_strndup (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload));
      g_clear_pointer (&node, json_node_unref);
      node = json_from_string (text, NULL);
      return json_node_get_object (node);
    }
  g_assert_not_reached ();
  return NULL;
}

static void
test_osmand (Fixture       *f,
             gconstpointer  data)
{
  guint port = wb_ingest_get_osmand_port (f->ingest);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  g_autofree char *ok = NULL, *unknown = NULL, *json_unknown = NULL, *form = NULL, *bad_token = NULL;
  g_autofree char *request = NULL, *form_request = NULL, *json_body = NULL, *json_request = NULL;
  g_autofree char *token_request = NULL, *form_body = NULL;
  JsonObject *position;

  request = g_strdup_printf ("GET /?id=dev1&timestamp=%" G_GINT64_FORMAT "&lat=53.9&lon=27.56&speed=10"
                             "&bearing=90&batt=80&custom=x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", now);
  ok = http_raw (port, request);
  g_assert_true (g_str_has_prefix (ok, "HTTP/1.1 200"));
  iterate_a_little ();
  position = last_position (f);
  g_assert_cmpstr (json_object_get_string_member (position, "device_id"), ==, "dev1");
  /* OsmAnd speeds are knots. */
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (position, "speed_kmh"), 18.52, 1e-6);
  g_assert_cmpstr (wb_bus_message_get_key (g_ptr_array_index (f->published, 0)), ==, "dev1");

  unknown = http_raw (port, "GET /?id=nobody&timestamp=1700000000&lat=53.9&lon=27.5 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  g_assert_true (g_str_has_prefix (unknown, "HTTP/1.1 400"));

  json_body = g_strdup_printf ("{\"device_id\":\"nobody\",\"location\":{\"timestamp\":\"2026-11-21T05:00:00Z\","
                               "\"coords\":{\"latitude\":53.9,\"longitude\":27.5}}}");
  json_request = g_strdup_printf ("POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n"
                                  "Content-Length: %zu\r\n\r\n%s", strlen (json_body), json_body);
  json_unknown = http_raw (port, json_request);
  g_assert_true (g_str_has_prefix (json_unknown, "HTTP/1.1 404"));

  /* Form body, another method, a token-protected device. */
  form_body = g_strdup_printf ("id=secure1&timestamp=%" G_GINT64_FORMAT "&lat=53.1&lon=27.1", now + 1);
  form_request = g_strdup_printf ("PUT / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                                  "Content-Length: %zu\r\n\r\n%s", strlen (form_body), form_body);
  bad_token = http_raw (port, form_request);
  g_assert_true (g_str_has_prefix (bad_token, "HTTP/1.1 400"));
  token_request = g_strdup_printf ("GET /?id=secure1&token=s3cret&timestamp=%" G_GINT64_FORMAT
                                   "&lat=53.1&lon=27.1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", now + 2);
  form = http_raw (port, token_request);
  g_assert_true (g_str_has_prefix (form, "HTTP/1.1 200"));
  iterate_a_little ();
  g_assert_cmpuint (count_topic (f, WB_TOPIC_TELEMETRY_RAW), ==, 2);
}

static void
test_json_batch_and_first_seen (Fixture       *f,
                                gconstpointer  data)
{
  g_autofree char *now = NULL;
  g_autofree char *body = NULL;
  g_autofree char *answer = NULL;
  g_autofree char *again = NULL;
  g_autofree char *metrics = NULL;
  g_autoptr(GDateTime) dt = g_date_time_new_now_utc ();

  now = g_date_time_format (dt, "%Y-%m-%dT%H:%M:%SZ");
  body = g_strdup_printf ("[{\"deviceId\":\"dev1\",\"timestamp\":\"%s\",\"lat\":53.91,\"lon\":27.57,\"speed\":40},"
                          "{\"deviceId\":\"dev1\",\"timestamp\":\"%s\",\"lat\":0,\"lon\":0},"
                          "{\"deviceId\":\"dev1\",\"timestamp\":\"%s\",\"lat\":53.91,\"lon\":27.57,\"speed\":1200},"
                          "{\"deviceId\":\"ghost\",\"timestamp\":\"%s\",\"lat\":53.91,\"lon\":27.57}]",
                          now, now, now, now);
  answer = http_post_json (wb_http_server_get_port (f->api), "/telemetry", body);
  g_assert_true (g_str_has_prefix (answer, "HTTP/1.1 200"));
  g_assert_nonnull (strstr (answer, "\"accepted\":1"));
  g_assert_nonnull (strstr (answer, "{\"index\":1,\"reason\":\"null_island\"}"));
  g_assert_nonnull (strstr (answer, "{\"index\":2,\"reason\":\"speed\"}"));
  g_assert_nonnull (strstr (answer, "{\"index\":3,\"reason\":\"unknown_device\"}"));

  /* The same position again is a duplicate; first_seen was published once. */
  again = http_post_json (wb_http_server_get_port (f->api), "/telemetry", body);
  g_assert_nonnull (strstr (again, "\"accepted\":0"));
  g_assert_nonnull (strstr (again, "{\"index\":0,\"reason\":\"duplicate\"}"));
  for (int i = 0; i < 200 && count_topic (f, WB_TOPIC_DEVICE_FIRST_SEEN) == 0; i++)
    iterate_a_little ();
  g_assert_cmpuint (count_topic (f, WB_TOPIC_TELEMETRY_RAW), ==, 1);
  g_assert_cmpuint (count_topic (f, WB_TOPIC_DEVICE_FIRST_SEEN), ==, 1);

  metrics = wb_metrics_render (f->metrics);
  g_assert_nonnull (strstr (metrics, "waybill_positions_rejected_total{protocol=\"json\",reason=\"duplicate\"} 1"));
  g_assert_nonnull (strstr (metrics, "waybill_positions_rejected_total{protocol=\"json\",reason=\"speed\"} 2"));
}

#define BURST_DEVICES 2000

/* Registers BURST_DEVICES devices of vehicle v1 straight in the database,
 * as a fleet imported in bulk, and loads them into the index. */
static void
register_burst_fleet (Fixture *f)
{
  g_autoptr(PGconn) conn = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) loaded = NULL;
  g_autoptr(PGresult) inserted = NULL;
  g_autofree char *sql = g_strdup_printf (
    "INSERT INTO vehicles (id, plate, version) VALUES ('v1', 'AB 1234-7', 1);"
    "INSERT INTO devices (device_id, vehicle_id, version)"
    " SELECT 'burst-' || g, 'v1', 1 FROM generate_series(1, %d) g", BURST_DEVICES);

  conn = wb_db_connect (f->conninfo, &error);
  g_assert_no_error (error);
  inserted = PQexec (conn, sql);
  g_assert_cmpint (PQresultStatus (inserted), ==, PGRES_COMMAND_OK);
  wb_fleet_store_load_async (f->store, NULL, store_done, &loaded);
  g_assert_true (wb_fleet_store_load_finish (f->store, wait_result (&loaded), &error));
  g_assert_no_error (error);
}

static char *
burst_body (guint first,
            guint count)
{
  g_autoptr(GDateTime) dt = g_date_time_new_now_utc ();
  g_autofree char *now = g_date_time_format (dt, "%Y-%m-%dT%H:%M:%SZ");
  GString *body = g_string_new ("[");

  for (guint i = first; i < first + count; i++)
    g_string_append_printf (body, "%s{\"deviceId\":\"burst-%u\",\"timestamp\":\"%s\",\"lat\":53.9,\"lon\":27.5}",
                            i > first ? "," : "", i, now);
  g_string_append_c (body, ']');
  return g_string_free (body, FALSE);
}

/* A whole fleet sends its first positions at once: every device's first
 * appearance is recorded (once), but those writes never queue ahead of an
 * API read on the database pool: GET /vehicles/{id} answers at once. */
static void
test_first_seen_burst_does_not_delay_reads (Fixture       *f,
                                            gconstpointer  data)
{
  WbFleetApi *api = wb_fleet_api_new (f->store);
  guint port = wb_http_server_get_port (f->api);
  g_autofree char *answer = NULL;
  gint64 start, read_ms;

  register_burst_fleet (f);
  wb_fleet_api_register (api, f->api);

  for (guint first = 1; first <= BURST_DEVICES; first += 500)
    {
      g_autofree char *body = burst_body (first, 500);
      g_autofree char *accepted = http_post_json (port, "/telemetry", body);

      g_assert_true (g_str_has_prefix (accepted, "HTTP/1.1 200"));
      g_assert_nonnull (strstr (accepted, "\"accepted\":500"));
    }

  start = g_get_monotonic_time ();
  answer = http_raw (port, "GET /vehicles/v1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  read_ms = (g_get_monotonic_time () - start) / 1000;
  g_test_message ("GET /vehicles/v1 after %d first appearances: %" G_GINT64_FORMAT " ms", BURST_DEVICES, read_ms);
  g_assert_true (g_str_has_prefix (answer, "HTTP/1.1 200"));
  g_assert_nonnull (strstr (answer, "AB 1234-7"));
  /* Quick, or else ahead of the first appearances still being written: a
   * read queued behind them answers late and only once they are all in.
   * (A loaded machine under ASan can be slow without queueing.) */
  if (read_ms >= 500)
    g_assert_cmpuint (count_topic (f, WB_TOPIC_DEVICE_FIRST_SEEN), <, BURST_DEVICES);

  for (int i = 0; i < 2000 && count_topic (f, WB_TOPIC_DEVICE_FIRST_SEEN) < BURST_DEVICES; i++)
    iterate_a_little ();
  g_assert_cmpuint (count_topic (f, WB_TOPIC_DEVICE_FIRST_SEEN), ==, BURST_DEVICES);
  wb_fleet_api_free (api);
}

/* The error object of an answer: {"error":{"code","message","field"?}}. */
static JsonObject *
answer_error (const char *answer)
{
  const char *body = strstr (answer, "\r\n\r\n");
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_nonnull (body);
  root = json_from_string (body + 4, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
  return json_object_ref (json_object_get_object_member (json_node_get_object (root), "error"));
}

static void
assert_refused (const char *answer,
                const char *status_line,
                const char *code,
                const char *field)
{
  g_autoptr(JsonObject) error = answer_error (answer);

  g_test_message ("%s", answer);
  g_assert_true (g_str_has_prefix (answer, status_line));
  g_assert_cmpstr (json_object_get_string_member (error, "code"), ==, code);
  g_assert_cmpstr (json_object_get_string_member_with_default (error, "field", NULL), ==, field);
}

/* A refused body answers with the field to fix as data, 413 beyond the
 * limits, and 400 without a field when the body is not JSON at all. */
static void
test_refused_bodies (Fixture       *f,
                     gconstpointer  data)
{
  guint api = wb_http_server_get_port (f->api);
  guint osmand = wb_ingest_get_osmand_port (f->ingest);
  const char osmand_body[] = "{\"device_id\":\"dev1\",\"location\":{\"coords\":{\"latitude\":\"53.9\"}}}";
  g_autofree char *bad_field = NULL, *not_json = NULL, *too_many = NULL, *osmand_request = NULL;
  g_autofree char *osmand_answer = NULL, *batch = NULL;
  GString *text = g_string_new ("[");

  bad_field = http_post_json (api, "/telemetry", "[{\"deviceId\":\"dev1\"},{\"deviceId\":\"dev1\",\"lat\":\"x\"}]");
  assert_refused (bad_field, "HTTP/1.1 400", "invalid_telemetry", "[1].lat");

  not_json = http_post_json (api, "/telemetry", "{'deviceId':'dev1'}");
  assert_refused (not_json, "HTTP/1.1 400", "invalid_telemetry", NULL);

  for (guint i = 0; i <= WB_TELEMETRY_JSON_MAX_BATCH; i++)
    g_string_append (text, i > 0 ? ",{}" : "{}");
  g_string_append_c (text, ']');
  batch = g_string_free (text, FALSE);
  too_many = http_post_json (api, "/telemetry", batch);
  assert_refused (too_many, "HTTP/1.1 413", "too_many_positions", NULL);

  osmand_request = g_strdup_printf ("POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                                    strlen (osmand_body), osmand_body);
  osmand_answer = http_raw (osmand, osmand_request);
  assert_refused (osmand_answer, "HTTP/1.1 400", "invalid_position", "location.coords.latitude");
  g_assert_cmpuint (count_topic (f, WB_TOPIC_TELEMETRY_RAW), ==, 0);
}

/* A batch larger than the queue waits for room instead of failing; only a
 * bus that stays full past the deadline makes it answer 503 (Retry-After),
 * and a retry then completes it without losing or doubling anything. */
static void
test_http_back_pressure (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(GString) body = g_string_new ("[");
  g_autofree char *answer = NULL;
  gint64 t = g_get_real_time () / 1000 - 60000;

  for (int i = 0; i < 5; i++)
    g_string_append_printf (body, "%s{\"deviceId\":\"dev1\",\"timestamp\":%" G_GINT64_FORMAT ",\"lat\":53.9,\"lon\":27.5}",
                            i ? "," : "", t + i * 1000);
  g_string_append (body, "]");

  /* Queue of 2, subscriber acknowledging: five positions still go through. */
  answer = http_post_json (wb_http_server_get_port (f->api), "/telemetry", body->str);
  g_assert_true (g_str_has_prefix (answer, "HTTP/1.1 200"));
  g_assert_nonnull (strstr (answer, "\"accepted\":5"));
  iterate_a_little ();
  g_assert_cmpuint (count_topic (f, WB_TOPIC_TELEMETRY_RAW), ==, 5);

  /* A subscriber that stops acknowledging: 503 after the deadline. */
  f->hold = TRUE;
  g_string_assign (body, "[");
  for (int i = 0; i < 5; i++)
    g_string_append_printf (body, "%s{\"deviceId\":\"dev1\",\"timestamp\":%" G_GINT64_FORMAT ",\"lat\":53.9,\"lon\":27.5}",
                            i ? "," : "", t + 10000 + i * 1000);
  g_string_append (body, "]");
  g_free (answer);
  answer = http_post_json (wb_http_server_get_port (f->api), "/telemetry", body->str);
  g_assert_true (g_str_has_prefix (answer, "HTTP/1.1 503"));
  g_assert_nonnull (strstr (answer, "Retry-After: 1"));

  /* Room again: the retry is accepted; what went out before the 503 counts
   * as duplicates, so each position is on the bus exactly once. */
  f->hold = FALSE;
  for (guint i = 0; i < f->held->len; i++)
    wb_bus_batch_ack (g_ptr_array_index (f->held, i));
  g_ptr_array_set_size (f->held, 0);
  iterate_a_little ();
  g_free (answer);
  answer = http_post_json (wb_http_server_get_port (f->api), "/telemetry", body->str);
  g_assert_true (g_str_has_prefix (answer, "HTTP/1.1 200"));
  iterate_a_little ();
  g_assert_cmpuint (count_topic (f, WB_TOPIC_TELEMETRY_RAW), ==, 10);
}

/* ---- Teltonika ---------------------------------------------------------------- */

static guint16
crc16_ibm (const guint8 *data,
           gsize         length)
{
  guint16 crc = 0;

  for (gsize i = 0; i < length; i++)
    {
      crc ^= data[i];
      for (int bit = 0; bit < 8; bit++)
        crc = (crc & 1) ? (crc >> 1) ^ 0xA001 : crc >> 1;
    }
  return crc;
}

static void
put_be (GByteArray *out,
        guint64     value,
        guint       bytes)
{
  for (guint i = bytes; i > 0; i--)
    {
      guint8 b = (value >> (8 * (i - 1))) & 0xff;
      g_byte_array_append (out, &b, 1);
    }
}

/* A Codec 8 frame with one record at @time_ms in Minsk, ignition on. */
static GByteArray *
codec8_frame (gint64 time_ms)
{
  g_autoptr(GByteArray) data = g_byte_array_new ();
  GByteArray *frame = g_byte_array_new ();

  put_be (data, 0x08, 1);                  /* codec */
  put_be (data, 1, 1);                     /* records */
  put_be (data, time_ms, 8);
  put_be (data, 1, 1);                     /* priority */
  put_be (data, (guint32) (gint32) (27.56 * 1e7), 4);
  put_be (data, (guint32) (gint32) (53.90 * 1e7), 4);
  put_be (data, 220, 2);                   /* altitude */
  put_be (data, 90, 2);                    /* angle */
  put_be (data, 9, 1);                     /* satellites */
  put_be (data, 42, 2);                    /* speed */
  put_be (data, 239, 1);                   /* event io */
  put_be (data, 1, 1);                     /* io total */
  put_be (data, 1, 1);                     /* 1-byte ios */
  put_be (data, 239, 1);                   /* ignition */
  put_be (data, 1, 1);
  put_be (data, 0, 1);                     /* 2-, 4-, 8-byte ios */
  put_be (data, 0, 1);
  put_be (data, 0, 1);
  put_be (data, 1, 1);                     /* records again */

  put_be (frame, 0, 4);
  put_be (frame, data->len, 4);
  g_byte_array_append (frame, data->data, data->len);
  put_be (frame, crc16_ibm (data->data, data->len), 4);
  return frame;
}

typedef struct
{
  guint16     port;
  const char *imei;
  GByteArray *frame;
  gboolean    corrupt;
  guint8      handshake;
  guint32     ack;
  gboolean    closed_after;   /* the server closed the connection after the frame */
  gint        done;
} TeltonikaCall;

static gpointer
teltonika_thread (gpointer data)
{
  TeltonikaCall *call = data;
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = g_socket_client_connect_to_host (client, "127.0.0.1", call->port,
                                                                           NULL, NULL);
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  guint8 length[2] = { 0, (guint8) strlen (call->imei) };
  guint8 answer[4];
  gsize got = 0;

  g_output_stream_write_all (out, length, 2, NULL, NULL, NULL);
  g_output_stream_write_all (out, call->imei, strlen (call->imei), NULL, NULL, NULL);
  g_input_stream_read_all (in, &call->handshake, 1, &got, NULL, NULL);
  if (got == 1 && call->handshake == 1 && call->frame)
    {
      if (call->corrupt)
        call->frame->data[call->frame->len - 1] ^= 0xff;
      /* Split in two writes: the decoder must wait for the rest. */
      g_output_stream_write_all (out, call->frame->data, 10, NULL, NULL, NULL);
      g_usleep (20000);
      g_output_stream_write_all (out, call->frame->data + 10, call->frame->len - 10, NULL, NULL, NULL);
      if (g_input_stream_read_all (in, answer, 4, &got, NULL, NULL) && got == 4)
        call->ack = (answer[0] << 24) | (answer[1] << 16) | (answer[2] << 8) | answer[3];
      else
        call->closed_after = TRUE;
    }
  g_atomic_int_set (&call->done, 1);
  return NULL;
}

static void
teltonika_run (TeltonikaCall *call)
{
  GThread *thread = g_thread_new ("teltonika", teltonika_thread, call);

  while (!g_atomic_int_get (&call->done))
    g_main_context_iteration (NULL, FALSE), g_usleep (200);
  g_thread_join (thread);
}

static void
test_teltonika (Fixture       *f,
                gconstpointer  data)
{
  guint port = wb_ingest_get_teltonika_port (f->ingest);
  gint64 now_ms = g_get_real_time () / 1000;
  g_autoptr(GByteArray) frame = codec8_frame (now_ms - 1000);
  g_autoptr(GByteArray) bad = codec8_frame (now_ms - 500);
  TeltonikaCall good = { port, IMEI, frame, FALSE };
  TeltonikaCall corrupt = { port, IMEI, bad, TRUE };
  TeltonikaCall stranger = { port, "123456789012345", NULL, FALSE };
  g_autofree char *metrics = NULL;
  JsonObject *position;

  teltonika_run (&good);
  g_assert_cmpuint (good.handshake, ==, 1);
  g_assert_cmpuint (good.ack, ==, 1);
  iterate_a_little ();
  position = last_position (f);
  g_assert_cmpstr (json_object_get_string_member (position, "device_id"), ==, IMEI);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (position, "lat"), 53.9, 1e-6);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (position, "speed_kmh"), 42, 1e-9);
  g_assert_true (json_object_get_boolean_member (position, "ignition"));

  /* A bad CRC closes that connection only: the server still serves others. */
  teltonika_run (&corrupt);
  g_assert_true (corrupt.closed_after);
  teltonika_run (&stranger);
  g_assert_cmpuint (stranger.handshake, ==, 0);
  g_assert_cmpuint (count_topic (f, WB_TOPIC_TELEMETRY_RAW), ==, 1);

  metrics = wb_metrics_render (f->metrics);
  g_assert_nonnull (strstr (metrics, "waybill_teltonika_frames_rejected_total 1"));
  g_assert_nonnull (strstr (metrics, "waybill_positions_accepted_total{protocol=\"teltonika\"} 1"));
}

/* Teltonika connections are served on a thread of their own: a device
 * gets its handshake answered and its frame acknowledged while the main
 * loop is not run at all. */
static void
test_teltonika_off_main_loop (Fixture       *f,
                              gconstpointer  data)
{
  g_autoptr(GByteArray) frame = codec8_frame (g_get_real_time () / 1000 - 1000);
  TeltonikaCall call = { wb_ingest_get_teltonika_port (f->ingest), IMEI, frame, FALSE };
  GThread *thread = g_thread_new ("teltonika", teltonika_thread, &call);
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (!g_atomic_int_get (&call.done) && g_get_monotonic_time () < deadline)
    g_usleep (1000);
  g_assert_true (g_atomic_int_get (&call.done));
  g_thread_join (thread);
  g_assert_cmpuint (call.handshake, ==, 1);
  g_assert_cmpuint (call.ack, ==, 1);
  iterate_a_little ();
  g_assert_cmpuint (count_topic (f, WB_TOPIC_TELEMETRY_RAW), ==, 1);
}

/* A full bus holds the acknowledgement back (and stops reading) until there
 * is room; then the record is published and acknowledged. */
static void
test_teltonika_back_pressure (Fixture       *f,
                              gconstpointer  data)
{
  g_autoptr(GByteArray) first = codec8_frame (g_get_real_time () / 1000 - 3000);
  g_autoptr(GByteArray) second = codec8_frame (g_get_real_time () / 1000 - 2000);
  TeltonikaCall fill = { wb_ingest_get_teltonika_port (f->ingest), IMEI, first, FALSE };
  TeltonikaCall wait = { wb_ingest_get_teltonika_port (f->ingest), IMEI, second, FALSE };
  GThread *thread;

  f->hold = TRUE;
  teltonika_run (&fill);                 /* fills the queue of one */
  g_assert_cmpuint (fill.ack, ==, 1);

  thread = g_thread_new ("teltonika", teltonika_thread, &wait);
  for (int i = 0; i < 100; i++)
    iterate_a_little ();
  g_assert_false (g_atomic_int_get (&wait.done));   /* no ack while the bus is full */

  f->hold = FALSE;
  for (guint i = 0; i < f->held->len; i++)
    wb_bus_batch_ack (g_ptr_array_index (f->held, i));
  g_ptr_array_set_size (f->held, 0);
  while (!g_atomic_int_get (&wait.done))
    g_main_context_iteration (NULL, FALSE), g_usleep (200);
  g_thread_join (thread);
  g_assert_cmpuint (wait.ack, ==, 1);
  iterate_a_little ();
  g_assert_cmpuint (count_topic (f, WB_TOPIC_TELEMETRY_RAW), ==, 2);
}

/* A device that sends its IMEI and two frames in one write gets its
 * handshake and both acknowledgements: what the server read past a
 * message is handled without waiting for the socket to be readable again.
 * Meanwhile a hundred other devices hold connections open. */
static void
test_teltonika_pipelined (Fixture       *f,
                          gconstpointer  data)
{
  guint port = wb_ingest_get_teltonika_port (f->ingest);
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GPtrArray) idle = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GByteArray) message = g_byte_array_new ();
  g_autoptr(GByteArray) first = codec8_frame (g_get_real_time () / 1000 - 2000);
  g_autoptr(GByteArray) second = codec8_frame (g_get_real_time () / 1000 - 1000);
  guint8 length[2] = { 0, (guint8) strlen (IMEI) };
  guint8 answer[9];
  gsize got = 0;

  for (int i = 0; i < 100; i++)
    g_ptr_array_add (idle, g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, NULL));
  connection = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, NULL);
  g_assert_nonnull (connection);
  g_byte_array_append (message, length, 2);
  g_byte_array_append (message, (const guint8 *) IMEI, strlen (IMEI));
  g_byte_array_append (message, first->data, first->len);
  g_byte_array_append (message, second->data, second->len);
  g_assert_true (g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)),
                                            message->data, message->len, NULL, NULL, NULL));
  g_assert_true (g_input_stream_read_all (g_io_stream_get_input_stream (G_IO_STREAM (connection)),
                                          answer, sizeof answer, &got, NULL, NULL));
  g_assert_cmpuint (got, ==, sizeof answer);
  g_assert_cmpuint (answer[0], ==, 1);                                          /* accepted */
  g_assert_cmpuint ((answer[1] << 24) | (answer[2] << 16) | (answer[3] << 8) | answer[4], ==, 1);
  g_assert_cmpuint ((answer[5] << 24) | (answer[6] << 16) | (answer[7] << 8) | answer[8], ==, 1);
  for (int i = 0; i < 50 && count_topic (f, WB_TOPIC_TELEMETRY_RAW) < 2; i++)
    iterate_a_little ();
  g_assert_cmpuint (count_topic (f, WB_TOPIC_TELEMETRY_RAW), ==, 2);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add ("/ingest/osmand", Fixture, NULL, fixture_setup, test_osmand, fixture_teardown);
  g_test_add ("/ingest/json-batch-and-first-seen", Fixture, NULL, fixture_setup,
              test_json_batch_and_first_seen, fixture_teardown);
  g_test_add ("/ingest/first-seen-burst-does-not-delay-reads", Fixture, GUINT_TO_POINTER (10000), fixture_setup,
              test_first_seen_burst_does_not_delay_reads, fixture_teardown);
  g_test_add ("/ingest/refused-bodies", Fixture, NULL, fixture_setup, test_refused_bodies, fixture_teardown);
  g_test_add ("/ingest/http-back-pressure", Fixture, GUINT_TO_POINTER (2), fixture_setup,
              test_http_back_pressure, fixture_teardown);
  g_test_add ("/ingest/teltonika", Fixture, NULL, fixture_setup, test_teltonika, fixture_teardown);
  g_test_add ("/ingest/teltonika-off-main-loop", Fixture, NULL, fixture_setup, test_teltonika_off_main_loop,
              fixture_teardown);
  g_test_add ("/ingest/teltonika-pipelined", Fixture, NULL, fixture_setup, test_teltonika_pipelined,
              fixture_teardown);
  g_test_add ("/ingest/teltonika-back-pressure", Fixture, GUINT_TO_POINTER (1), fixture_setup,
              test_teltonika_back_pressure, fixture_teardown);

  return g_test_run ();
}
