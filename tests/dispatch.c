// SPDX-License-Identifier: GPL-3.0-or-later
/* Dispatch end to end: a real waybilld (every role, the in-process bus) on
 * a fresh PostgreSQL database, called over HTTP with signed tokens; the
 * test reads the database directly for what the API does not show (the
 * outbox's messages, kept by a trigger, and the constraints). */

#include "config.h"

#include <libsoup/soup.h>
#include <math.h>
#include <string.h>

#include "wb-db.h"
#include "wb-json.h"
#include "wb-json-writer.h"
#include "wb-jwt.h"
#include "wb-migrations.h"
#include "wb-test-daemon.h"
#include "wb-test-pg.h"
#include "wb-test-schema.h"

#define SECRET "dispatch-test-secret-0123456789abcdef"
#define PHONE  "+375291234567"

typedef struct
{
  char         *conninfo;
  PGconn       *conn;
  WbTestDaemon *daemon;
  GStrv         daemon_env;
  GStrv         daemon_args;
  SoupSession  *session;
  char         *tokens[WB_ACCESS_ROLE_ADMIN + 1];
  guint         fixes;         /* positions posted by post_fix() */
} Fixture;

typedef struct
{
  guint     status;
  JsonNode *json;
  char     *location;
  char     *etag;
} Reply;

static void
reply_clear (Reply *reply)
{
  g_clear_pointer (&reply->json, json_node_unref);
  g_clear_pointer (&reply->location, g_free);
  g_clear_pointer (&reply->etag, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Reply, reply_clear)

/* ---- the daemon and the client -------------------------------------------------- */

/* Every message queued in the outbox stays visible here after the relay
 * has published and deleted it. */
static const char * const keep_outbox_sql[] = {
  "CREATE TABLE outbox_seen (topic text, key text, payload jsonb)",
  "CREATE FUNCTION keep_outbox () RETURNS trigger LANGUAGE plpgsql AS"
  " $$ BEGIN INSERT INTO outbox_seen VALUES (NEW.topic, NEW.key, NEW.payload); RETURN NEW; END $$",
  "CREATE TRIGGER keep_outbox AFTER INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION keep_outbox ()",
};

static void
send_as (Fixture            *f,
         WbAccessRole        role,
         const char         *method,
         const char         *path,
         const char         *body,
         const char * const *headers,
         Reply              *reply)
{
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u%s", wb_test_daemon_port (f->daemon), path);
  g_autoptr(SoupMessage) message = soup_message_new (method, uri);
  g_autoptr(GBytes) answer = NULL;
  g_autoptr(GError) error = NULL;
  SoupMessageHeaders *request_headers = soup_message_get_request_headers (message);

  reply_clear (reply);
  if (role != WB_ACCESS_ROLE_NONE)
    {
      g_autofree char *bearer = g_strconcat ("Bearer ", f->tokens[role], NULL);

      soup_message_headers_replace (request_headers, "Authorization", bearer);
    }
  for (guint i = 0; headers != NULL && headers[i] != NULL; i += 2)
    soup_message_headers_replace (request_headers, headers[i], headers[i + 1]);
  if (body != NULL)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));

      soup_message_set_request_body_from_bytes (message, "application/json", bytes);
    }
  answer = soup_session_send_and_read (f->session, message, NULL, &error);
  g_assert_no_error (error);
  reply->status = soup_message_get_status (message);
  if (reply->status >= 500 && !g_str_equal (path, "/readyz"))
    g_printerr ("%s %s answered %u; the daemon's log:\n%s\n", method, path, reply->status, f->daemon->log->str);
  reply->location = g_strdup (soup_message_headers_get_one (soup_message_get_response_headers (message), "Location"));
  reply->etag = g_strdup (soup_message_headers_get_one (soup_message_get_response_headers (message), "ETag"));
  if (g_bytes_get_size (answer) > 0)
    {
      reply->json = wb_json_parse_bytes (answer, NULL, &error);
      g_assert_no_error (error);
    }
}

static void
send (Fixture    *f,
      const char *method,
      const char *path,
      const char *body,
      Reply      *reply)
{
  send_as (f, WB_ACCESS_ROLE_ADMIN, method, path, body, NULL, reply);
}

static const char *
member (Reply      *reply,
        const char *name)
{
  g_assert_nonnull (reply->json);
  return json_object_get_string_member_with_default (json_node_get_object (reply->json), name, NULL);
}

static const char *
error_member (Reply      *reply,
              const char *name)
{
  JsonObject *error;

  g_assert_nonnull (reply->json);
  error = json_object_get_object_member (json_node_get_object (reply->json), "error");
  g_assert_nonnull (error);
  return json_object_get_string_member_with_default (error, name, NULL);
}

#define assert_status(reply, expected) \
  G_STMT_START { \
    if ((reply)->status != (expected)) \
      { \
        g_autofree char *text = (reply)->json ? wb_json_to_string ((reply)->json) : g_strdup (""); \
        g_error ("expected %u, got %u: %s", (guint) (expected), (reply)->status, text); \
      } \
  } G_STMT_END

static void
sql (Fixture    *f,
     const char *statement)
{
  wb_test_pg_run (f->conn, statement);
}

static gint64
sql_int (Fixture    *f,
         const char *statement,
         const char *param)
{
  return wb_test_pg_int (f->conn, statement, param);
}

/* Starts waybilld on the fixture's database and waits until it is ready. */
static void
spawn_daemon (Fixture *f)
{
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  f->daemon = wb_test_daemon_spawn ((const char * const *) f->daemon_env, (const char * const *) f->daemon_args);
  for (;;)
    {
      g_auto(Reply) reply = { 0 };

      send_as (f, WB_ACCESS_ROLE_NONE, "GET", "/readyz", NULL, NULL, &reply);
      if (reply.status == 200)
        break;
      if (g_get_monotonic_time () > deadline)
        g_error ("waybilld never became ready; its log:\n%s", f->daemon->log->str);
      g_usleep (50 * 1000);
    }
}

static void
restart_daemon (Fixture *f)
{
  g_assert_cmpint (wb_test_daemon_terminate (f->daemon), ==, 0);
  g_clear_pointer (&f->daemon, wb_test_daemon_free);
  spawn_daemon (f);
}

/* @data: extra daemon arguments, space-separated, or NULL. */
static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GStrvBuilder) args = g_strv_builder_new ();
  g_auto(GStrv) extra = g_strsplit (data != NULL ? data : "", " ", -1);
  guint applied = 0;

  f->conninfo = wb_test_pg_create_database ("dispatch");
  f->conn = wb_db_connect (f->conninfo, &error);
  g_assert_no_error (error);
  g_assert_true (wb_migrations_apply (f->conn, &applied, &error));
  for (guint i = 0; i < G_N_ELEMENTS (keep_outbox_sql); i++)
    sql (f, keep_outbox_sql[i]);
  sql (f, "INSERT INTO companies (id, name, version) VALUES ('acme', 'Acme', 1), ('other', 'Other', 1)");
  sql (f, "INSERT INTO vehicles (id, plate, company_id, version) VALUES ('v1', 'V-1', 'acme', 1),"
          " ('v2', 'V-2', 'acme', 1), ('v3', 'V-3', 'acme', 1), ('vx', 'V-X', 'other', 1)");
  sql (f, "INSERT INTO drivers (id, name, company_id, version) VALUES ('d1', 'D 1', 'acme', 1),"
          " ('d2', 'D 2', 'acme', 1), ('d3', 'D 3', 'acme', 1)");

  f->daemon_env = g_new0 (char *, 3);
  f->daemon_env[0] = g_strconcat ("DB_DSN=", f->conninfo, NULL);
  f->daemon_env[1] = g_strdup ("AUTH_HS256SECRET=" SECRET);
  g_strv_builder_add (args, "--listen-address=127.0.0.1");
  for (guint i = 0; extra[i] != NULL; i++)
    if (*extra[i] != '\0')
      g_strv_builder_add (args, extra[i]);
  f->daemon_args = g_strv_builder_end (args);
  f->session = soup_session_new_with_options ("timeout", 30, NULL);
  for (WbAccessRole role = WB_ACCESS_ROLE_VIEWER; role <= WB_ACCESS_ROLE_ADMIN; role++)
    f->tokens[role] = wb_jwt_sign ((const guint8 *) SECRET, strlen (SECRET), "tester", role,
                                   g_get_real_time () / G_USEC_PER_SEC, 3600);
  spawn_daemon (f);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_assert_cmpint (wb_test_daemon_terminate (f->daemon), ==, 0);
  wb_test_daemon_free (f->daemon);
  g_strfreev (f->daemon_env);
  g_strfreev (f->daemon_args);
  g_clear_object (&f->session);
  for (guint i = 0; i < G_N_ELEMENTS (f->tokens); i++)
    g_free (f->tokens[i]);
  g_clear_pointer (&f->conn, PQfinish);
  g_free (f->conninfo);
}

/* ---- helpers ---------------------------------------------------------------------- */

static char *
create_shipment (Fixture *f)
{
  g_auto(Reply) reply = { 0 };

  send (f, "POST", "/shipments",
        "{\"clientId\":\"acme\",\"serviceLevel\":\"standard\",\"recipient\":{\"name\":\"Ann\",\"phone\":\"" PHONE "\"},"
        "\"destination\":{\"country\":\"BY\",\"city\":\"Minsk\"}}", &reply);
  assert_status (&reply, 201);
  return g_strdup (member (&reply, "id"));
}

static void
put_pickup_point (Fixture    *f,
                  const char *id)
{
  g_autofree char *path = g_strdup_printf ("/pickup-points/%s", id);
  g_auto(Reply) reply = { 0 };

  send (f, "PUT", path, "{\"name\":\"Point\",\"lat\":53.9,\"lon\":27.56,\"capacity\":50}", &reply);
  g_assert_true (reply.status == 201 || reply.status == 200);
}

/* A PLANNED trip of @vehicle and @driver with one stop at pickup point p1,
 * carrying @batch (may be NULL). */
static char *
create_trip (Fixture    *f,
             const char *vehicle,
             const char *driver,
             const char *batch)
{
  g_autofree char *batches = batch ? g_strdup_printf ("\"%s\"", batch) : g_strdup ("");
  g_autofree char *body = g_strdup_printf ("{\"companyId\":\"acme\",\"vehicleId\":\"%s\",\"driverId\":\"%s\","
                                           "\"plannedStart\":\"2026-12-08T08:00:00Z\","
                                           "\"stops\":[{\"pickupPointId\":\"p1\",\"batchIds\":[%s]},"
                                           "{\"address\":\"Nezavisimosti 1\",\"lat\":53.91,\"lon\":27.57}]}",
                                           vehicle, driver, batches);
  g_auto(Reply) reply = { 0 };

  send (f, "POST", "/trips", body, &reply);
  assert_status (&reply, 201);
  g_assert_cmpstr (member (&reply, "status"), ==, "PLANNED");
  return g_strdup (member (&reply, "id"));
}

/* POSTs /trips/{id}/@action, expecting @status; a 409 must name @current. */
static void
transition (Fixture    *f,
            const char *trip,
            const char *action,
            guint       status,
            const char *current)
{
  g_autofree char *path = g_strdup_printf ("/trips/%s/%s", trip, action);
  g_auto(Reply) reply = { 0 };

  send_as (f, WB_ACCESS_ROLE_DISPATCHER, "POST", path, NULL, NULL, &reply);
  assert_status (&reply, status);
  if (status == 409)
    {
      g_assert_cmpstr (error_member (&reply, "field"), ==, "status");
      g_assert_nonnull (strstr (error_member (&reply, "message"), current));
    }
  else
    g_assert_cmpstr (member (&reply, "status"), ==, current);
}

static char *
shipment_status (Fixture    *f,
                 const char *id)
{
  return wb_test_pg_text (f->conn, "SELECT status FROM shipments WHERE id = $1::uuid", id);
}

/* ---- tests ----------------------------------------------------------------------------- */

static void
test_pickup_points (Fixture       *f,
                    gconstpointer  data)
{
  g_auto(Reply) reply = { 0 };

  send (f, "PUT", "/pickup-points/p1", "{\"name\":\"Central\",\"address\":{\"country\":\"BY\",\"city\":\"Minsk\"},"
        "\"lat\":53.9,\"lon\":27.56,\"openingHours\":\"Mo-Fr 09-18\",\"capacity\":40}", &reply);
  assert_status (&reply, 201);
  send (f, "PUT", "/pickup-points/p1", "{\"name\":\"Central 2\",\"lat\":53.9,\"lon\":27.56}", &reply);
  assert_status (&reply, 200);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (reply.json), "version"), ==, 2);
  send (f, "PUT", "/pickup-points/p1", "{\"name\":\"No place\",\"lat\":95,\"lon\":27.56}", &reply);
  assert_status (&reply, 400);
  g_assert_cmpstr (error_member (&reply, "field"), ==, "lat");
  send_as (f, WB_ACCESS_ROLE_VIEWER, "PUT", "/pickup-points/p2", "{\"name\":\"x\",\"lat\":1,\"lon\":1}", NULL, &reply);
  assert_status (&reply, 403);
  put_pickup_point (f, "p2");
  send_as (f, WB_ACCESS_ROLE_VIEWER, "GET", "/pickup-points?limit=1", NULL, NULL, &reply);
  assert_status (&reply, 200);
  g_assert_cmpstr (member (&reply, "nextCursor"), ==, "p1");
  send_as (f, WB_ACCESS_ROLE_VIEWER, "GET", "/pickup-points?limit=1&cursor=p1", NULL, NULL, &reply);
  assert_status (&reply, 200);
  g_assert_null (member (&reply, "nextCursor"));
  send (f, "DELETE", "/pickup-points/p2", NULL, &reply);
  assert_status (&reply, 204);
  send (f, "GET", "/pickup-points/p2", NULL, &reply);
  assert_status (&reply, 404);
}

static void
test_transitions (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *a = NULL, *b = NULL, *c = NULL;

  put_pickup_point (f, "p1");
  a = create_trip (f, "v1", "d1", NULL);
  transition (f, a, "complete", 409, "PLANNED");
  transition (f, a, "start", 200, "IN_TRANSIT");
  transition (f, a, "start", 409, "IN_TRANSIT");
  transition (f, a, "complete", 200, "COMPLETED");
  transition (f, a, "start", 409, "COMPLETED");
  transition (f, a, "complete", 409, "COMPLETED");
  transition (f, a, "cancel", 409, "COMPLETED");

  b = create_trip (f, "v1", "d1", NULL);
  transition (f, b, "cancel", 200, "CANCELLED");
  transition (f, b, "start", 409, "CANCELLED");
  transition (f, b, "complete", 409, "CANCELLED");
  transition (f, b, "cancel", 409, "CANCELLED");

  c = create_trip (f, "v1", "d1", NULL);
  transition (f, c, "start", 200, "IN_TRANSIT");
  transition (f, c, "cancel", 200, "CANCELLED");
  transition (f, "no-such-trip", "start", 404, NULL);

  /* One message per transition; completion serves the two stops GPS never
   * saw, arriving at each and leaving it. */
  g_assert_cmpint (sql_int (f, "SELECT count(*) FROM outbox_seen WHERE key = $1", a), ==, 7);
  g_assert_cmpint (sql_int (f, "SELECT count(*) FROM outbox_seen WHERE key = $1 AND topic = 'trip.stop_arrived'", a), ==, 2);
  g_assert_cmpint (sql_int (f, "SELECT count(*) FROM outbox_seen WHERE key = $1 AND topic = 'trip.stop_departed'", a), ==, 2);
  g_assert_cmpint (sql_int (f, "SELECT count(*) FROM outbox_seen WHERE key = $1 AND topic = 'trip.started'", a), ==, 1);
  g_assert_cmpint (sql_int (f, "SELECT count(*) FROM outbox_seen WHERE key = $1 AND topic = 'trip.completed'", a), ==, 1);
  g_assert_cmpint (sql_int (f, "SELECT count(*) FROM outbox_seen WHERE key = $1 AND topic = 'trip.cancelled'", c), ==, 1);
}

static void
test_patch (Fixture       *f,
            gconstpointer  data)
{
  g_autofree char *trip = NULL, *path = NULL;
  g_auto(Reply) reply = { 0 };

  put_pickup_point (f, "p1");
  trip = create_trip (f, "v1", "d1", NULL);
  path = g_strdup_printf ("/trips/%s", trip);
  send (f, "GET", path, NULL, &reply);
  assert_status (&reply, 200);
  g_assert_cmpstr (reply.etag, ==, "\"1\"");
  send (f, "PATCH", path, "{\"vehicleId\":\"v2\"}", &reply);
  assert_status (&reply, 428);
  send_as (f, WB_ACCESS_ROLE_DISPATCHER, "PATCH", path, "{\"vehicleId\":\"v2\"}",
           (const char *[]) { "If-Match", "\"7\"", NULL }, &reply);
  assert_status (&reply, 412);
  send_as (f, WB_ACCESS_ROLE_DISPATCHER, "PATCH", path, "{\"vehicleId\":\"vx\"}",
           (const char *[]) { "If-Match", "\"1\"", NULL }, &reply);
  assert_status (&reply, 400);
  g_assert_cmpstr (error_member (&reply, "field"), ==, "vehicleId");
  send_as (f, WB_ACCESS_ROLE_DISPATCHER, "PATCH", path, "{\"vehicleId\":\"v2\"}",
           (const char *[]) { "If-Match", "\"1\"", NULL }, &reply);
  assert_status (&reply, 200);
  g_assert_cmpstr (member (&reply, "vehicleId"), ==, "v2");
  g_assert_cmpstr (reply.etag, ==, "\"2\"");
  transition (f, trip, "start", 200, "IN_TRANSIT");
  send_as (f, WB_ACCESS_ROLE_DISPATCHER, "PATCH", path, "{\"driverId\":\"d2\"}",
           (const char *[]) { "If-Match", "\"3\"", NULL }, &reply);
  assert_status (&reply, 409);
  g_assert_nonnull (strstr (error_member (&reply, "message"), "IN_TRANSIT"));
}

static void
test_bad_trips (Fixture       *f,
                gconstpointer  data)
{
  g_auto(Reply) reply = { 0 };

  put_pickup_point (f, "p1");
  send (f, "POST", "/trips", "{\"companyId\":\"acme\",\"vehicleId\":\"v1\",\"driverId\":\"d1\","
        "\"plannedStart\":\"2026-12-08T08:00:00Z\",\"stops\":[]}", &reply);
  assert_status (&reply, 400);
  g_assert_cmpstr (error_member (&reply, "field"), ==, "stops");
  send (f, "POST", "/trips", "{\"companyId\":\"acme\",\"vehicleId\":\"v1\",\"driverId\":\"d1\","
        "\"plannedStart\":\"2026-12-08T08:00:00Z\",\"stops\":[{\"address\":\"x\",\"lat\":91,\"lon\":0}]}", &reply);
  assert_status (&reply, 400);
  g_assert_cmpstr (error_member (&reply, "field"), ==, "stops[0].lat");
  send (f, "POST", "/trips", "{\"companyId\":\"acme\",\"vehicleId\":\"v1\",\"driverId\":\"d1\","
        "\"plannedStart\":\"2026-12-08T08:00:00Z\",\"stops\":[{\"pickupPointId\":\"p1\"},{\"pickupPointId\":\"nowhere\"}]}", &reply);
  assert_status (&reply, 400);
  g_assert_cmpstr (error_member (&reply, "field"), ==, "stops[1].pickupPointId");
  send (f, "POST", "/trips", "{\"companyId\":\"acme\",\"vehicleId\":\"vx\",\"driverId\":\"d1\","
        "\"plannedStart\":\"2026-12-08T08:00:00Z\",\"stops\":[{\"pickupPointId\":\"p1\"}]}", &reply);
  assert_status (&reply, 400);
  g_assert_cmpstr (error_member (&reply, "field"), ==, "vehicleId");
  send_as (f, WB_ACCESS_ROLE_VIEWER, "POST", "/trips", "{}", NULL, &reply);
  assert_status (&reply, 403);
}

typedef struct
{
  Fixture *f;
  char    *trip;
  guint    status;
} Start;

static gpointer
start_thread (gpointer data)
{
  Start *start = data;
  g_autofree char *path = g_strdup_printf ("/trips/%s/start", start->trip);
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u%s", wb_test_daemon_port (start->f->daemon), path);
  g_autoptr(SoupSession) session = soup_session_new_with_options ("timeout", 30, NULL);
  g_autoptr(SoupMessage) message = soup_message_new ("POST", uri);
  g_autofree char *bearer = g_strconcat ("Bearer ", start->f->tokens[WB_ACCESS_ROLE_DISPATCHER], NULL);
  g_autoptr(GBytes) answer = NULL;

  soup_message_headers_replace (soup_message_get_request_headers (message), "Authorization", bearer);
  answer = soup_session_send_and_read (session, message, NULL, NULL);
  start->status = soup_message_get_status (message);
  return NULL;
}

/* The database decides: whichever start commits first wins, the other
 * finds the vehicle busy. */
static void
test_concurrent_starts (Fixture       *f,
                        gconstpointer  data)
{
  g_autofree char *a = NULL, *b = NULL;

  put_pickup_point (f, "p1");
  for (guint round = 0; round < 5; round++)
    {
      Start starts[2];
      GThread *threads[2];

      g_free (a);
      g_free (b);
      a = create_trip (f, "v1", "d1", NULL);
      b = create_trip (f, "v1", "d2", NULL);
      starts[0] = (Start) { f, a, 0 };
      starts[1] = (Start) { f, b, 0 };
      for (guint i = 0; i < 2; i++)
        threads[i] = g_thread_new ("start", start_thread, &starts[i]);
      for (guint i = 0; i < 2; i++)
        g_thread_join (threads[i]);
      g_assert_true ((starts[0].status == 200 && starts[1].status == 409)
                     || (starts[0].status == 409 && starts[1].status == 200));
      g_assert_cmpint (sql_int (f, "SELECT count(*) FROM trips WHERE vehicle_id = $1 AND status = 'IN_TRANSIT'", "v1"), ==, 1);
      sql (f, "UPDATE trips SET status = 'COMPLETED' WHERE status = 'IN_TRANSIT'");
    }
}

static void
test_batching_and_handover (Fixture       *f,
                            gconstpointer  data)
{
  g_autofree char *s1 = create_shipment (f);
  g_autofree char *s2 = create_shipment (f);
  g_autofree char *batch = NULL, *trip = NULL, *body = NULL, *insert = NULL, *event_id = NULL;
  g_auto(Reply) reply = { 0 };

  put_pickup_point (f, "p1");
  body = g_strdup_printf ("{\"pickupPointId\":\"p1\",\"shipmentIds\":[\"%s\",\"%s\"]}", s1, s2);
  send (f, "POST", "/batches", body, &reply);
  assert_status (&reply, 201);
  batch = g_strdup (member (&reply, "id"));
  g_assert_cmpstr (member (&reply, "status"), ==, "OPEN");

  /* A shipment is in at most one open batch: the API says which … */
  g_free (body);
  body = g_strdup_printf ("{\"address\":\"Elsewhere 2\",\"lat\":53,\"lon\":27,\"shipmentIds\":[\"%s\"]}", s2);
  send (f, "POST", "/batches", body, &reply);
  assert_status (&reply, 409);
  g_assert_cmpstr (error_member (&reply, "field"), ==, "shipmentIds[0]");
  /* … and the database refuses it whoever writes. */
  insert = g_strdup_printf ("WITH b AS (INSERT INTO batches (address) VALUES ('x') RETURNING id)"
                            " INSERT INTO batch_shipments (batch_id, shipment_id) SELECT id, '%s' FROM b", s2);
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(PGresult) result = wb_db_exec (f->conn, insert, NULL, 0, NULL, &error);

    g_assert_null (result);
    g_assert_cmpstr (wb_db_error_get_sqlstate (error), ==, "23505");
  }
  send_as (f, WB_ACCESS_ROLE_VIEWER, "GET", "/batches?pickupPointId=p1&status=OPEN", NULL, NULL, &reply);
  assert_status (&reply, 200);
  g_assert_cmpint (json_array_get_length (json_object_get_array_member (json_node_get_object (reply.json), "items")), ==, 1);

  trip = create_trip (f, "v1", "d1", batch);
  transition (f, trip, "start", 200, "IN_TRANSIT");
  {
    g_autofree char *st1 = shipment_status (f, s1);
    g_autofree char *st2 = shipment_status (f, s2);

    g_assert_cmpstr (st1, ==, "IN_TRANSIT");
    g_assert_cmpstr (st2, ==, "IN_TRANSIT");
  }
  event_id = g_strdup_printf ("dispatch:%s:%s:started", trip, s1);
  g_assert_cmpint (sql_int (f, "SELECT count(*) FROM shipment_events WHERE source = 'dispatch' AND event_id = $1",
                            event_id), ==, 1);

  /* Completion serves the pickup-point stop: the parcels wait there. */
  transition (f, trip, "complete", 200, "COMPLETED");
  {
    g_autofree char *st1 = shipment_status (f, s1);

    g_assert_cmpstr (st1, ==, "AVAILABLE_FOR_PICKUP");
  }
  g_assert_cmpint (sql_int (f, "SELECT count(*) FROM outbox_seen WHERE topic = 'trip.stop_arrived' AND key = $1", trip), ==, 2);
  g_assert_cmpint (sql_int (f, "SELECT count(*) FROM batch_shipments WHERE open", NULL), ==, 0);

  g_free (body);
  body = g_strdup_printf ("{\"shipmentId\":\"%s\",\"phone\":\"+375 29 000-00-00\"}", s1);
  send_as (f, WB_ACCESS_ROLE_DISPATCHER, "POST", "/pickup-points/p1/handover", body, NULL, &reply);
  assert_status (&reply, 409);
  g_assert_cmpstr (error_member (&reply, "code"), ==, "recipient_mismatch");
  {
    g_autofree char *st1 = shipment_status (f, s1);

    g_assert_cmpstr (st1, ==, "AVAILABLE_FOR_PICKUP");
  }
  g_free (body);
  body = g_strdup_printf ("{\"shipmentId\":\"%s\",\"phone\":\"+375 29 123-45-67\"}", s1);
  send_as (f, WB_ACCESS_ROLE_DISPATCHER, "POST", "/pickup-points/p1/handover", body, NULL, &reply);
  assert_status (&reply, 200);
  {
    g_autofree char *st1 = shipment_status (f, s1);

    g_assert_cmpstr (st1, ==, "DELIVERED");
  }
  send_as (f, WB_ACCESS_ROLE_DISPATCHER, "POST", "/pickup-points/p1/handover", body, NULL, &reply);
  assert_status (&reply, 409);
  g_assert_nonnull (strstr (error_member (&reply, "message"), "DELIVERED"));

  /* A closed shipment is handed over to nobody. */
  PQclear (wb_test_pg_exec (f->conn, "UPDATE shipments SET closed_at = now() WHERE id = $1::uuid", s2));
  g_free (body);
  body = g_strdup_printf ("{\"shipmentId\":\"%s\",\"phone\":\"+375 29 123-45-67\"}", s2);
  send_as (f, WB_ACCESS_ROLE_DISPATCHER, "POST", "/pickup-points/p1/handover", body, NULL, &reply);
  assert_status (&reply, 409);
  g_assert_nonnull (strstr (error_member (&reply, "message"), "closed"));
  {
    g_autofree char *st2 = shipment_status (f, s2);

    g_assert_cmpstr (st2, ==, "AVAILABLE_FOR_PICKUP");
  }
}

static char *
iso_ago (GDateTime *now,
         int        seconds_ago)
{
  g_autoptr(GDateTime) then = g_date_time_add_seconds (now, -seconds_ago);

  return g_date_time_format (then, "%Y-%m-%dT%H:%M:%SZ");
}

static void
post_positions (Fixture    *f,
                GDateTime  *now,
                const int  *ago,
                const char *const *places,
                guint       n)
{
  g_autoptr(GString) body = g_string_new ("[");
  g_auto(Reply) reply = { 0 };

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *t = iso_ago (now, ago[i]);

      g_string_append_printf (body, "%s{\"deviceId\":\"dev1\",\"timestamp\":\"%s\",%s}", i ? "," : "", t, places[i]);
    }
  g_string_append_c (body, ']');
  send_as (f, WB_ACCESS_ROLE_DISPATCHER, "POST", "/telemetry", body->str, NULL, &reply);
  assert_status (&reply, 200);
}

static gint64
wait_count (Fixture    *f,
            const char *statement,
            const char *param,
            gint64      expected)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  gint64 n;

  while ((n = sql_int (f, statement, param)) < expected && g_get_monotonic_time () < deadline)
    g_usleep (50 * 1000);
  return n;
}

/* The vehicle's own positions: inside the radius for the dwell time is an
 * arrival, the first position outside after it a departure; each is
 * announced once, whatever comes again or late. */
static void
test_stops_from_gps (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *s1 = create_shipment (f);
  g_autofree char *batch = NULL, *trip = NULL, *body = NULL, *status = NULL;
  const char *at_stop = "\"lat\":53.9003,\"lon\":27.5604";
  const char *away = "\"lat\":53.95,\"lon\":27.70";
  const int ago_in[] = { 300, 250, 200 };
  const char *in[] = { at_stop, at_stop, at_stop };
  const int ago_out[] = { 150, 100 };
  const char *out[] = { away, away };
  const int ago_late[] = { 280, 150, 300 };
  const char *late[] = { at_stop, away, at_stop };
  const int ago_before[] = { 400 };
  const char *before[] = { "\"lat\":53.95,\"lon\":27.70,\"speed\":40" };
  g_autofree char *shipment_path = g_strdup_printf ("/shipments/%s", s1);
  g_autoptr(GDateTime) fix = NULL;
  g_autoptr(GDateTime) eta = NULL;
  g_autofree char *if_match = NULL;
  JsonObject *live;
  const char *arrived = "SELECT count(*) FROM outbox_seen WHERE topic = 'trip.stop_arrived' AND key = $1";
  const char *departed = "SELECT count(*) FROM outbox_seen WHERE topic = 'trip.stop_departed' AND key = $1";
  g_auto(Reply) reply = { 0 };

  put_pickup_point (f, "p1");
  send (f, "PUT", "/devices/dev1", "{\"vehicleId\":\"v1\",\"token\":null}", &reply);
  assert_status (&reply, 200);
  body = g_strdup_printf ("{\"pickupPointId\":\"p1\",\"shipmentIds\":[\"%s\"]}", s1);
  send (f, "POST", "/batches", body, &reply);
  assert_status (&reply, 201);
  batch = g_strdup (member (&reply, "id"));
  trip = create_trip (f, "v1", "d1", batch);
  transition (f, trip, "start", 200, "IN_TRANSIT");

  /* On the way: the parcel shows where its vehicle is, and the vehicle ETA. */
  post_positions (f, now, ago_before, before, G_N_ELEMENTS (ago_before));
  wait_count (f, "SELECT count(*) FROM vehicle_states WHERE vehicle_id = $1", "v1", 1);
  send_as (f, WB_ACCESS_ROLE_VIEWER, "GET", shipment_path, NULL, NULL, &reply);
  assert_status (&reply, 200);
  g_assert_cmpstr (member (&reply, "etaSource"), ==, "vehicle");
  live = json_object_get_object_member (json_node_get_object (reply.json), "liveLocation");
  g_assert_nonnull (live);
  g_assert_cmpstr (json_object_get_string_member (live, "tripId"), ==, trip);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (live, "lat"), 53.95, 1e-9);
  /* About 12.5 km at 40 km/h: some 19 minutes after the fix. */
  fix = g_date_time_new_from_iso8601 (json_object_get_string_member (live, "at"), NULL);
  eta = g_date_time_new_from_iso8601 (member (&reply, "eta"), NULL);
  g_assert_cmpint (g_date_time_difference (eta, fix) / G_USEC_PER_SEC, >, 15 * 60);
  g_assert_cmpint (g_date_time_difference (eta, fix) / G_USEC_PER_SEC, <, 23 * 60);
  /* A carrier's ETA wins over the vehicle's. */
  if_match = g_strdup_printf ("\"%" G_GINT64_FORMAT "\"", json_object_get_int_member (json_node_get_object (reply.json), "version"));
  send_as (f, WB_ACCESS_ROLE_DISPATCHER, "PATCH", shipment_path, "{\"eta\":\"2026-12-24T10:00:00Z\"}",
           (const char *[]) { "If-Match", if_match, NULL }, &reply);
  assert_status (&reply, 200);
  g_assert_cmpstr (member (&reply, "etaSource"), ==, "carrier");
  g_assert_cmpstr (member (&reply, "eta"), ==, "2026-12-24T10:00:00.000Z");
  g_assert_true (json_object_has_member (json_node_get_object (reply.json), "liveLocation"));

  /* 100 s inside the radius (dwell 1 min), then away. */
  post_positions (f, now, ago_in, in, G_N_ELEMENTS (ago_in));
  g_assert_cmpint (wait_count (f, arrived, trip, 1), ==, 1);
  status = shipment_status (f, s1);
  g_assert_cmpstr (status, ==, "AVAILABLE_FOR_PICKUP");
  send_as (f, WB_ACCESS_ROLE_VIEWER, "GET", shipment_path, NULL, NULL, &reply);
  g_assert_false (json_object_has_member (json_node_get_object (reply.json), "liveLocation"));
  g_assert_cmpstr (member (&reply, "etaSource"), ==, "carrier");
  post_positions (f, now, ago_out, out, G_N_ELEMENTS (ago_out));
  g_assert_cmpint (wait_count (f, departed, trip, 1), ==, 1);

  /* Again, and late: nothing new. */
  post_positions (f, now, ago_in, in, G_N_ELEMENTS (ago_in));
  post_positions (f, now, ago_late, late, G_N_ELEMENTS (ago_late));
  post_positions (f, now, ago_out, out, G_N_ELEMENTS (ago_out));
  g_assert_cmpint (wait_count (f, arrived, trip, 2), ==, 1);
  g_assert_cmpint (sql_int (f, departed, trip), ==, 1);
  g_assert_cmpint (sql_int (f, "SELECT count(*) FROM trip_stops WHERE trip_id = $1 AND arrived_at IS NOT NULL", trip), ==, 1);
  /* The trip's carrier is where its vehicle was last seen. */
  g_assert_cmpint (sql_int (f, "SELECT count(*) FROM carrier_locations WHERE trip_id = $1 AND source = 'vehicle'", trip), ==, 1);
}

/* A live view's ETag follows the vehicle: after it moves (and the 2 s a
 * live view is cached have passed), a conditional GET with the old ETag
 * gets the new place, not a 304; a write's If-Match still names the
 * shipment's version through the live ETag. */
static void
test_live_location_etag (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *s1 = create_shipment (f);
  g_autofree char *batch = NULL, *trip = NULL, *body = NULL, *old_etag = NULL, *version_etag = NULL;
  g_autofree char *new_etag = NULL;
  g_autofree char *shipment_path = g_strdup_printf ("/shipments/%s", s1);
  const int ago_first[] = { 120 };
  const char *first[] = { "\"lat\":53.95,\"lon\":27.70,\"speed\":40" };
  const int ago_moved[] = { 60 };
  const char *moved[] = { "\"lat\":53.93,\"lon\":27.65,\"speed\":40" };
  const char *moved_sql = "SELECT count(*) FROM vehicle_states WHERE vehicle_id = $1 AND lat < 53.94";
  JsonObject *live;
  g_auto(Reply) reply = { 0 };

  put_pickup_point (f, "p1");
  send (f, "PUT", "/devices/dev1", "{\"vehicleId\":\"v1\",\"token\":null}", &reply);
  assert_status (&reply, 200);
  body = g_strdup_printf ("{\"pickupPointId\":\"p1\",\"shipmentIds\":[\"%s\"]}", s1);
  send (f, "POST", "/batches", body, &reply);
  assert_status (&reply, 201);
  batch = g_strdup (member (&reply, "id"));
  trip = create_trip (f, "v1", "d1", batch);
  transition (f, trip, "start", 200, "IN_TRANSIT");
  post_positions (f, now, ago_first, first, G_N_ELEMENTS (ago_first));
  wait_count (f, "SELECT count(*) FROM vehicle_states WHERE vehicle_id = $1", "v1", 1);

  send_as (f, WB_ACCESS_ROLE_VIEWER, "GET", shipment_path, NULL, NULL, &reply);
  assert_status (&reply, 200);
  live = json_object_get_object_member (json_node_get_object (reply.json), "liveLocation");
  g_assert_nonnull (live);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (live, "lat"), 53.95, 1e-9);
  old_etag = g_strdup (reply.etag);
  version_etag = g_strdup_printf ("\"%" G_GINT64_FORMAT "\"",
                                  json_object_get_int_member (json_node_get_object (reply.json), "version"));
  g_assert_nonnull (old_etag);
  g_assert_cmpstr (old_etag, !=, version_etag);
  /* Nothing moved: the same answer, so 304. */
  send_as (f, WB_ACCESS_ROLE_VIEWER, "GET", shipment_path, NULL, (const char *[]) { "If-None-Match", old_etag, NULL },
           &reply);
  assert_status (&reply, 304);
  g_assert_cmpstr (reply.etag, ==, old_etag);

  post_positions (f, now, ago_moved, moved, G_N_ELEMENTS (ago_moved));
  g_assert_cmpint (wait_count (f, moved_sql, "v1", 1), ==, 1);
  g_usleep (2100 * 1000);
  send_as (f, WB_ACCESS_ROLE_VIEWER, "GET", shipment_path, NULL, (const char *[]) { "If-None-Match", old_etag, NULL },
           &reply);
  assert_status (&reply, 200);
  live = json_object_get_object_member (json_node_get_object (reply.json), "liveLocation");
  g_assert_nonnull (live);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (live, "lat"), 53.93, 1e-9);
  g_assert_cmpstr (reply.etag, !=, old_etag);
  new_etag = g_strdup (reply.etag);

  /* The shipment itself did not change: the live ETag is good for If-Match. */
  send_as (f, WB_ACCESS_ROLE_DISPATCHER, "PATCH", shipment_path, "{\"eta\":\"2026-12-24T10:00:00Z\"}",
           (const char *[]) { "If-Match", new_etag, NULL }, &reply);
  assert_status (&reply, 200);
}

/* Waits until the command is decided; returns its status. */
static char *
wait_command (Fixture    *f,
              const char *location,
              Reply      *reply)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  for (;;)
    {
      send_as (f, WB_ACCESS_ROLE_VIEWER, "GET", location, NULL, NULL, reply);
      assert_status (reply, 200);
      if (!g_str_equal (member (reply, "status"), "pending"))
        return g_strdup (member (reply, "status"));
      if (g_get_monotonic_time () > deadline)
        g_error ("the command was never decided; the daemon's log:\n%s", f->daemon->log->str);
      g_usleep (20 * 1000);
    }
}

static void
test_reassign (Fixture       *f,
               gconstpointer  data)
{
  g_autofree char *trip = NULL, *busy = NULL, *path = NULL, *location = NULL, *status = NULL, *id = NULL;
  g_autofree char *trip_path = NULL;
  g_auto(Reply) reply = { 0 };
  g_auto(Reply) decided = { 0 };

  put_pickup_point (f, "p1");
  trip = create_trip (f, "v1", "d1", NULL);
  busy = create_trip (f, "v3", "d3", NULL);
  transition (f, trip, "start", 200, "IN_TRANSIT");
  transition (f, busy, "start", 200, "IN_TRANSIT");
  path = g_strdup_printf ("/trips/%s/reassign", trip);
  trip_path = g_strdup_printf ("/trips/%s", trip);

  send_as (f, WB_ACCESS_ROLE_VIEWER, "POST", path, "{\"vehicleId\":\"v2\",\"reason\":\"breakdown\"}", NULL, &reply);
  assert_status (&reply, 403);
  send_as (f, WB_ACCESS_ROLE_DISPATCHER, "POST", path, "{\"reason\":\"nothing\"}", NULL, &reply);
  assert_status (&reply, 400);

  send_as (f, WB_ACCESS_ROLE_DISPATCHER, "POST", path, "{\"vehicleId\":\"v2\",\"reason\":\"breakdown\"}",
           (const char *[]) { "Idempotency-Key", "cmd-1", NULL }, &reply);
  assert_status (&reply, 202);
  g_assert_cmpstr (reply.location, ==, "/commands/cmd-1");
  g_assert_cmpstr (member (&reply, "requestedBy"), ==, "tester");
  location = g_strdup (reply.location);
  status = wait_command (f, location, &decided);
  g_assert_cmpstr (status, ==, "applied");
  send (f, "GET", trip_path, NULL, &reply);
  g_assert_cmpstr (member (&reply, "vehicleId"), ==, "v2");

  /* The same key again: the same command, no second reassignment. */
  send_as (f, WB_ACCESS_ROLE_DISPATCHER, "POST", path, "{\"vehicleId\":\"v2\",\"reason\":\"breakdown\"}",
           (const char *[]) { "Idempotency-Key", "cmd-1", NULL }, &reply);
  assert_status (&reply, 202);
  g_assert_cmpstr (member (&reply, "id"), ==, "cmd-1");
  g_assert_cmpstr (member (&reply, "status"), ==, "applied");
  send_as (f, WB_ACCESS_ROLE_DISPATCHER, "POST", path, "{\"vehicleId\":\"v1\",\"reason\":\"other\"}",
           (const char *[]) { "Idempotency-Key", "cmd-1", NULL }, &reply);
  assert_status (&reply, 409);
  g_usleep (300 * 1000);
  g_assert_cmpint (sql_int (f, "SELECT count(*) FROM outbox_seen WHERE topic = 'trip.reassigned' AND key = $1", trip), ==, 1);
  g_assert_cmpint (sql_int (f, "SELECT count(*) FROM outbox_seen WHERE topic = 'commands.trip.reassign'", NULL), ==, 1);

  /* A replayed command message (the same command id on the topic) has one effect. */
  sql (f, "INSERT INTO outbox (topic, key, type, payload) SELECT topic, key, topic, payload FROM outbox_seen"
          " WHERE topic = 'commands.trip.reassign'");

  /* A vehicle busy on another IN_TRANSIT trip is refused, with the reason. */
  send_as (f, WB_ACCESS_ROLE_DISPATCHER, "POST", path, "{\"vehicleId\":\"v3\",\"reason\":\"swap\"}", NULL, &reply);
  assert_status (&reply, 202);
  id = g_strdup (member (&reply, "id"));
  g_free (status);
  status = wait_command (f, reply.location, &decided);
  g_assert_cmpstr (status, ==, "rejected");
  g_assert_nonnull (strstr (member (&decided, "outcome"), "busy"));
  send (f, "GET", trip_path, NULL, &reply);
  g_assert_cmpstr (member (&reply, "vehicleId"), ==, "v2");
  g_assert_cmpint (sql_int (f, "SELECT count(*) FROM outbox_seen WHERE topic = 'trip.reassigned' AND key = $1", trip), ==, 1);
  g_assert_cmpint (sql_int (f, "SELECT version FROM trips WHERE id = $1", trip), ==, 3);

  send_as (f, WB_ACCESS_ROLE_VIEWER, "GET", "/commands/nothing-here", NULL, NULL, &reply);
  assert_status (&reply, 404);
}

/* ---- trips on the live map ------------------------------------------------------ */

/* POSTs one position of @device, now, at a latitude of its own, which it
 * returns. */
static double
post_fix (Fixture    *f,
          const char *device)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *time = g_date_time_format (now, "%Y-%m-%dT%H:%M:%S.%fZ");
  double lat = 53.80 + 0.0001 * ++f->fixes;
  g_autofree char *body = g_strdup_printf ("[{\"deviceId\":\"%s\",\"timestamp\":\"%s\",\"lat\":%.4f,\"lon\":27.56,"
                                           "\"speed\":30}]", device, time, lat);
  g_auto(Reply) reply = { 0 };

  send_as (f, WB_ACCESS_ROLE_DISPATCHER, "POST", "/telemetry", body, NULL, &reply);
  assert_status (&reply, 200);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (reply.json), "accepted"), ==, 1);
  return lat;
}

/* The item of @vehicle in a GET /locations answer, or NULL. */
static JsonObject *
location_of (Reply      *reply,
             const char *vehicle)
{
  JsonArray *items = json_object_get_array_member (json_node_get_object (reply->json), "items");

  for (guint i = 0; i < json_array_get_length (items); i++)
    {
      JsonObject *item = json_array_get_object_element (items, i);

      if (g_str_equal (json_object_get_string_member (item, "vehicleId"), vehicle))
        return item;
    }
  return NULL;
}

static void
get_locations (Fixture    *f,
               const char *query,
               Reply      *reply)
{
  g_autofree char *path = g_strconcat ("/locations", query, NULL);

  send_as (f, WB_ACCESS_ROLE_VIEWER, "GET", path, NULL, NULL, reply);
  assert_status (reply, 200);
}

/* Posts positions of @device until one of them reaches the live map with
 * @trip as its vehicle's tripId (NULL: with none); returns how many it
 * took. The fleet role learns of a trip's change from the trip's message,
 * which the outbox relay publishes a moment after the request's commit,
 * so a position posted right after the request may still be tagged the
 * old way. */
static guint
wait_trip_tag (Fixture    *f,
               const char *device,
               const char *vehicle,
               const char *trip)
{
  g_autofree char *query = g_strdup_printf ("?vehicleId=%s", vehicle);
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  for (guint n = 1;; n++)
    {
      double lat = post_fix (f, device);

      for (;;)
        {
          g_auto(Reply) reply = { 0 };
          JsonObject *item;

          if (g_get_monotonic_time () > deadline)
            g_error ("%s never showed trip %s on the map; the daemon's log:\n%s", vehicle, trip ? trip : "(none)",
                     f->daemon->log->str);
          get_locations (f, query, &reply);
          item = location_of (&reply, vehicle);
          if (item == NULL || fabs (json_object_get_double_member (item, "lat") - lat) > 1e-9)
            {
              g_usleep (20 * 1000);
              continue;
            }
          if (g_strcmp0 (json_object_get_string_member_with_default (item, "tripId", NULL), trip) == 0)
            return n;
          break;
        }
    }
}

static int
compare_ids (gconstpointer a,
             gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* The vehicles GET /locations@query lists, sorted, joined with commas. */
static char *
listed (Fixture    *f,
        const char *query)
{
  g_auto(Reply) reply = { 0 };
  g_autoptr(GPtrArray) ids = g_ptr_array_new_null_terminated (4, NULL, TRUE);
  JsonArray *items;

  get_locations (f, query, &reply);
  items = json_object_get_array_member (json_node_get_object (reply.json), "items");
  for (guint i = 0; i < json_array_get_length (items); i++)
    {
      JsonObject *item = json_array_get_object_element (items, i);

      g_assert_nonnull (json_object_get_string_member_with_default (item, "tripId", NULL));
      g_ptr_array_add (ids, (gpointer) json_object_get_string_member (item, "vehicleId"));
    }
  g_ptr_array_sort (ids, compare_ids);
  return g_strjoinv (",", (char **) ids->pdata);
}

/* Until GET /locations@query lists @expected (as listed() writes it),
 * with no new position. */
static void
wait_listed (Fixture    *f,
             const char *query,
             const char *expected)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  for (;;)
    {
      g_autofree char *now_listed = listed (f, query);

      if (g_str_equal (now_listed, expected))
        return;
      if (g_get_monotonic_time () > deadline)
        g_error ("GET /locations%s kept listing “%s”, not “%s”", query, now_listed, expected);
      g_usleep (20 * 1000);
    }
}

static char *
active_trip_of (Fixture    *f,
                const char *vehicle)
{
  g_autofree char *path = g_strdup_printf ("/vehicles/%s", vehicle);
  g_auto(Reply) reply = { 0 };

  send_as (f, WB_ACCESS_ROLE_VIEWER, "GET", path, NULL, NULL, &reply);
  assert_status (&reply, 200);
  g_assert_true (json_object_has_member (json_node_get_object (reply.json), "activeTripId"));
  return g_strdup (member (&reply, "activeTripId"));
}

static void
put_device (Fixture    *f,
            const char *device,
            const char *vehicle)
{
  g_autofree char *path = g_strdup_printf ("/devices/%s", device);
  g_autofree char *body = g_strdup_printf ("{\"vehicleId\":\"%s\",\"token\":null}", vehicle);
  g_auto(Reply) reply = { 0 };

  send (f, "PUT", path, body, &reply);
  g_assert_true (reply.status == 201 || reply.status == 200);
}

/* A vehicle carries its trip on the live picture while the trip is
 * IN_TRANSIT: tagged from the start, moved by a reassignment, dropped at
 * completion (at once, before the vehicle reports again); GET /locations
 * with no parameter (and trip=active) lists the vehicles so tagged. */
static void
test_trip_on_live_map (Fixture       *f,
                       gconstpointer  data)
{
  g_autofree char *trip = NULL, *path = NULL, *status = NULL, *active = NULL, *none = NULL;
  g_autofree char *on_map = NULL, *on_map_active = NULL;
  g_auto(Reply) reply = { 0 };
  g_auto(Reply) decided = { 0 };

  put_pickup_point (f, "p1");
  put_device (f, "dev1", "v1");
  put_device (f, "dev2", "v2");
  trip = create_trip (f, "v1", "d1", NULL);

  /* PLANNED is not on the way yet. */
  g_assert_cmpuint (wait_trip_tag (f, "dev1", "v1", NULL), ==, 1);
  g_assert_cmpuint (wait_trip_tag (f, "dev2", "v2", NULL), ==, 1);
  on_map = listed (f, "");
  g_assert_cmpstr (on_map, ==, "");

  transition (f, trip, "start", 200, "IN_TRANSIT");
  wait_trip_tag (f, "dev1", "v1", trip);
  g_clear_pointer (&on_map, g_free);
  on_map = listed (f, "");
  g_assert_cmpstr (on_map, ==, "v1");
  on_map_active = listed (f, "?trip=active");
  g_assert_cmpstr (on_map_active, ==, "v1");
  get_locations (f, "", &reply);
  g_assert_cmpstr (json_object_get_string_member (location_of (&reply, "v1"), "tripId"), ==, trip);
  /* The other vehicle's positions stay untagged. */
  g_assert_cmpuint (wait_trip_tag (f, "dev2", "v2", NULL), ==, 1);
  active = active_trip_of (f, "v1");
  g_assert_cmpstr (active, ==, trip);
  none = active_trip_of (f, "v2");
  g_assert_null (none);

  /* Reassigned: the trip moves to the new vehicle. */
  path = g_strdup_printf ("/trips/%s/reassign", trip);
  send_as (f, WB_ACCESS_ROLE_DISPATCHER, "POST", path, "{\"vehicleId\":\"v2\",\"reason\":\"breakdown\"}", NULL, &reply);
  assert_status (&reply, 202);
  status = wait_command (f, reply.location, &decided);
  g_assert_cmpstr (status, ==, "applied");
  /* The old vehicle leaves the trip at once, without reporting again. */
  wait_listed (f, "", "");
  wait_trip_tag (f, "dev2", "v2", trip);
  wait_trip_tag (f, "dev1", "v1", NULL);
  g_clear_pointer (&on_map, g_free);
  on_map = listed (f, "");
  g_assert_cmpstr (on_map, ==, "v2");
  g_clear_pointer (&active, g_free);
  active = active_trip_of (f, "v2");
  g_assert_cmpstr (active, ==, trip);

  /* Completed: no trip any more, and off the default answer. */
  transition (f, trip, "complete", 200, "COMPLETED");
  wait_listed (f, "", "");
  wait_trip_tag (f, "dev2", "v2", NULL);
  g_clear_pointer (&on_map, g_free);
  on_map = listed (f, "");
  g_assert_cmpstr (on_map, ==, "");
  g_clear_pointer (&on_map_active, g_free);
  on_map_active = listed (f, "?trip=active");
  g_assert_cmpstr (on_map_active, ==, "");
  g_clear_pointer (&active, g_free);
  active = active_trip_of (f, "v2");
  g_assert_null (active);
}

/* A cancelled trip leaves its vehicle at once too. */
static void
test_trip_cancel_untags (Fixture       *f,
                         gconstpointer  data)
{
  g_autofree char *trip = NULL, *on_map = NULL;

  put_pickup_point (f, "p1");
  put_device (f, "dev1", "v1");
  trip = create_trip (f, "v1", "d1", NULL);
  transition (f, trip, "start", 200, "IN_TRANSIT");
  wait_trip_tag (f, "dev1", "v1", trip);
  transition (f, trip, "cancel", 200, "CANCELLED");
  wait_listed (f, "?trip=active", "");
  wait_trip_tag (f, "dev1", "v1", NULL);
  on_map = listed (f, "");
  g_assert_cmpstr (on_map, ==, "");
}

/* After a restart nothing announces the trip again: the fleet role reads
 * the IN_TRANSIT trips from the database before its first position, so the
 * very first position after it is tagged. */
static void
test_trip_tag_after_restart (Fixture       *f,
                             gconstpointer  data)
{
  g_autofree char *trip = NULL, *other = NULL, *on_map = NULL;

  put_pickup_point (f, "p1");
  put_device (f, "dev1", "v1");
  put_device (f, "dev2", "v2");
  trip = create_trip (f, "v1", "d1", NULL);
  other = create_trip (f, "v2", "d2", NULL);
  transition (f, trip, "start", 200, "IN_TRANSIT");
  transition (f, other, "start", 200, "IN_TRANSIT");
  transition (f, other, "complete", 200, "COMPLETED");
  /* Every trip message is out before the restart: none comes after it. */
  for (gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC; sql_int (f, "SELECT count(*) FROM outbox", NULL) > 0;)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (20 * 1000);
    }

  restart_daemon (f);
  g_assert_cmpuint (wait_trip_tag (f, "dev1", "v1", trip), ==, 1);
  g_assert_cmpuint (wait_trip_tag (f, "dev2", "v2", NULL), ==, 1);
  on_map = listed (f, "");
  g_assert_cmpstr (on_map, ==, "v1");
}

/* ---- a simulated vehicle drives a trip ------------------------------------------ */

typedef struct
{
  const char *id;
  double      lat;
  double      lon;
} Point;

/* Three pickup points about a kilometre apart; the simulator centres its
 * street grid amid them. */
static const Point sim_points[] = {
  { "north", 53.9060, 27.5520 },
  { "east",  53.9010, 27.5680 },
  { "south", 53.8950, 27.5540 },
};

static char *
create_batch (Fixture    *f,
              const char *point,
              const char *shipment)
{
  g_autofree char *body = g_strdup_printf ("{\"pickupPointId\":\"%s\",\"shipmentIds\":[\"%s\"]}", point, shipment);
  g_auto(Reply) reply = { 0 };

  send (f, "POST", "/batches", body, &reply);
  assert_status (&reply, 201);
  return g_strdup (member (&reply, "id"));
}

static GSubprocess *
spawn_sim_drive (Fixture    *f,
                 const char *trip)
{
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u", wb_test_daemon_port (f->daemon));
  const char *argv[] = { g_getenv ("WAYBILL_SIM"), "drive", "--trip", trip, "--url", url, "--jwt-secret", SECRET,
                         "--dwell", "40s", "--time-scale", "100", "--rate", "1", "--batch", "5", "--seed", "3", NULL };
  g_autoptr(GError) error = NULL;
  GSubprocess *process;

  g_assert_nonnull (argv[0]);
  process = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE, &error);
  g_assert_no_error (error);
  return process;
}

/* While @shipment rides the trip (its stop not reached), GET
 * /shipments/{id} shows where the vehicle is and the vehicle's ETA. */
static void
wait_riding (Fixture    *f,
             const char *shipment,
             const char *trip)
{
  g_autofree char *path = g_strdup_printf ("/shipments/%s", shipment);
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  for (;;)
    {
      g_auto(Reply) reply = { 0 };
      JsonObject *live;

      send_as (f, WB_ACCESS_ROLE_VIEWER, "GET", path, NULL, NULL, &reply);
      assert_status (&reply, 200);
      live = json_object_has_member (json_node_get_object (reply.json), "liveLocation")
             ? json_object_get_object_member (json_node_get_object (reply.json), "liveLocation") : NULL;
      if (live != NULL)
        {
          g_autoptr(GDateTime) fix = g_date_time_new_from_iso8601 (json_object_get_string_member (live, "at"), NULL);
          g_autoptr(GDateTime) eta = g_date_time_new_from_iso8601 (member (&reply, "eta"), NULL);

          g_assert_cmpstr (member (&reply, "status"), ==, "IN_TRANSIT");
          g_assert_cmpstr (member (&reply, "etaSource"), ==, "vehicle");
          g_assert_cmpstr (json_object_get_string_member (live, "tripId"), ==, trip);
          g_assert_cmpstr (json_object_get_string_member (live, "vehicleId"), ==, "v1");
          g_assert_nonnull (fix);
          g_assert_nonnull (eta);
          g_assert_cmpint (g_date_time_compare (eta, fix), >, 0);
          return;
        }
      if (g_get_monotonic_time () > deadline)
        g_error ("%s never showed a live location; the daemon's log:\n%s", shipment, f->daemon->log->str);
      g_usleep (50 * 1000);
    }
}

/* waybill-sim drives the stops of a real trip (GET /trips/{id}) against
 * the daemon: each stop is arrived at and left exactly once, in order,
 * from GPS; each batch's parcels wait at their pickup point; the parcel
 * of the last stop shows the vehicle's place and ETA on the way; and the
 * trip completes. */
static void
test_simulated_trip (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(GString) stops = g_string_new ("");
  g_autoptr(GSubprocess) sim = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *sim_output = NULL;
  g_autofree char *trip = NULL, *body = NULL;
  char *shipments[G_N_ELEMENTS (sim_points)];
  char *batches[G_N_ELEMENTS (sim_points)];
  const char *arrived = "SELECT count(*) FROM outbox_seen WHERE topic = 'trip.stop_arrived' AND key = $1";
  const char *departed = "SELECT count(*) FROM outbox_seen WHERE topic = 'trip.stop_departed' AND key = $1";
  g_auto(Reply) reply = { 0 };

  put_device (f, "sim-0001", "v1");
  for (guint i = 0; i < G_N_ELEMENTS (sim_points); i++)
    {
      g_autofree char *path = g_strdup_printf ("/pickup-points/%s", sim_points[i].id);
      g_autofree char *point = g_strdup_printf ("{\"name\":\"Point %s\",\"lat\":%.4f,\"lon\":%.4f,\"capacity\":50}",
                                                sim_points[i].id, sim_points[i].lat, sim_points[i].lon);

      send (f, "PUT", path, point, &reply);
      assert_status (&reply, 201);
      shipments[i] = create_shipment (f);
      batches[i] = create_batch (f, sim_points[i].id, shipments[i]);
      g_string_append_printf (stops, "%s{\"pickupPointId\":\"%s\",\"batchIds\":[\"%s\"]}", i ? "," : "",
                              sim_points[i].id, batches[i]);
    }
  body = g_strdup_printf ("{\"companyId\":\"acme\",\"vehicleId\":\"v1\",\"driverId\":\"d1\","
                          "\"plannedStart\":\"2026-12-08T08:00:00Z\",\"stops\":[%s]}", stops->str);
  send (f, "POST", "/trips", body, &reply);
  assert_status (&reply, 201);
  trip = g_strdup (member (&reply, "id"));
  transition (f, trip, "start", 200, "IN_TRANSIT");

  sim = spawn_sim_drive (f, trip);
  wait_riding (f, shipments[G_N_ELEMENTS (sim_points) - 1], trip);
  g_subprocess_communicate_utf8 (sim, NULL, NULL, &sim_output, NULL, &error);
  g_assert_no_error (error);
  if (!g_subprocess_get_if_exited (sim) || g_subprocess_get_exit_status (sim) != 0)
    g_error ("waybill-sim drive failed:\n%s", sim_output);
  g_test_message ("%s", sim_output);

  /* Every stop reached by GPS, in order; the first two left behind. */
  g_assert_cmpint (wait_count (f, arrived, trip, 3), ==, 3);
  g_assert_cmpint (wait_count (f, departed, trip, 2), ==, 2);
  g_assert_cmpint (sql_int (f, "SELECT count(*) FROM trip_stops a JOIN trip_stops b ON b.trip_id = a.trip_id"
                               " AND b.seq = a.seq + 1 WHERE a.trip_id = $1 AND a.departed_at <= b.arrived_at", trip), ==, 2);
  for (guint i = 0; i < G_N_ELEMENTS (sim_points); i++)
    {
      g_autofree char *status = shipment_status (f, shipments[i]);
      g_autofree char *event = g_strdup_printf ("dispatch:%s:%s:arrived:%u", trip, shipments[i], i);
      g_autofree char *where = wb_test_pg_text (f->conn, "SELECT location_text || ' ' || round(lat::numeric, 4)"
                                                " || ',' || round(lon::numeric, 4) FROM shipment_events"
                                                " WHERE event_id = $1", event);
      g_autofree char *expected = g_strdup_printf ("Point %s %.4f,%.4f", sim_points[i].id, sim_points[i].lat,
                                                   sim_points[i].lon);

      g_assert_cmpstr (status, ==, "AVAILABLE_FOR_PICKUP");
      g_assert_cmpstr (where, ==, expected);
    }
  g_assert_cmpint (sql_int (f, "SELECT count(*) FROM batches WHERE status = 'CLOSED'", NULL), ==, 3);

  /* Done: the vehicle stands at the last stop, which completion leaves. */
  transition (f, trip, "complete", 200, "COMPLETED");
  g_assert_cmpint (wait_count (f, departed, trip, 3), ==, 3);
  g_usleep (300 * 1000);
  g_assert_cmpint (sql_int (f, arrived, trip), ==, 3);
  g_assert_cmpint (sql_int (f, departed, trip), ==, 3);
  g_assert_cmpint (sql_int (f, "SELECT count(DISTINCT payload->>'seq') FROM outbox_seen"
                               " WHERE topic IN ('trip.stop_arrived', 'trip.stop_departed') AND key = $1", trip), ==, 3);
  for (guint i = 0; i < G_N_ELEMENTS (sim_points); i++)
    {
      g_free (shipments[i]);
      g_free (batches[i]);
    }
}

/* A command that cannot be decoded goes to the dead-letter topic, and the
 * commands after it are still applied. */
static void
test_dead_letter (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *trip = NULL, *path = NULL, *status = NULL;
  g_auto(Reply) reply = { 0 };
  g_auto(Reply) decided = { 0 };

  put_pickup_point (f, "p1");
  trip = create_trip (f, "v1", "d1", NULL);
  sql (f, "INSERT INTO outbox (topic, key, type, payload) VALUES"
          " ('commands.trip.reassign', 'x', 'commands.trip.reassign', '{\"command_id\":\"bad\",\"colour\":\"red\"}')");
  path = g_strdup_printf ("/trips/%s/reassign", trip);
  send_as (f, WB_ACCESS_ROLE_DISPATCHER, "POST", path, "{\"driverId\":\"d2\",\"reason\":\"shift\"}", NULL, &reply);
  assert_status (&reply, 202);
  status = wait_command (f, reply.location, &decided);
  g_assert_cmpstr (status, ==, "applied");
  wb_test_daemon_wait_log (f->daemon, "dead-letter");
  g_assert_cmpint (sql_int (f, "SELECT count(*) FROM commands WHERE id = 'bad'", NULL), ==, 0);
}

/* Ready shipments addressed to a pickup point are batched by point, up to
 * its capacity, and never twice. */
static void
test_auto_batching (Fixture       *f,
                    gconstpointer  data)
{
  g_autofree char *a = create_shipment (f);
  g_autofree char *b = create_shipment (f);
  g_autofree char *c = create_shipment (f);
  g_autofree char *other = create_shipment (f);
  g_auto(Reply) reply = { 0 };
  const char *batches = "SELECT count(*) FROM batches WHERE pickup_point_id = $1";

  send (f, "PUT", "/pickup-points/small", "{\"name\":\"Small\",\"lat\":53.9,\"lon\":27.56,\"capacity\":2}", &reply);
  assert_status (&reply, 201);
  sql (f, "UPDATE shipments SET pickup_point_id = 'small' WHERE pickup_point_id IS NULL");
  {
    g_autofree char *unaddressed = g_strdup_printf ("UPDATE shipments SET pickup_point_id = NULL WHERE id = '%s'", other);

    sql (f, unaddressed);
  }
  g_assert_cmpint (wait_count (f, batches, "small", 2), ==, 2);
  g_usleep (1000 * 1000);
  g_assert_cmpint (sql_int (f, batches, "small"), ==, 2);
  g_assert_cmpint (sql_int (f, "SELECT max(n) FROM (SELECT count(*) AS n FROM batch_shipments GROUP BY batch_id) x", NULL), ==, 2);
  g_assert_cmpint (sql_int (f, "SELECT count(*) FROM batch_shipments WHERE open", NULL), ==, 3);
  g_assert_cmpint (sql_int (f, "SELECT count(*) FROM batch_shipments WHERE shipment_id = $1::uuid", other), ==, 0);
  g_assert_nonnull (a);
  g_assert_nonnull (b);
  g_assert_nonnull (c);
}

/* A vehicle that goes silent on an IN_TRANSIT trip: the trip goes, through
 * a command requested by "auto", to the nearest reporting free vehicle of
 * its company. */
static void
test_auto_reassign (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *trip = NULL, *t0 = NULL, *t1 = NULL, *body = NULL, *outcome = NULL, *expected = NULL;
  g_auto(Reply) reply = { 0 };
  gint64 deadline = g_get_monotonic_time () + 40 * G_USEC_PER_SEC;

  put_pickup_point (f, "p1");
  send (f, "PUT", "/devices/dev1", "{\"vehicleId\":\"v1\",\"token\":null}", &reply);
  send (f, "PUT", "/devices/dev2", "{\"vehicleId\":\"v2\",\"token\":null}", &reply);
  send (f, "PUT", "/devices/dev3", "{\"vehicleId\":\"v3\",\"token\":null}", &reply);
  trip = create_trip (f, "v1", "d1", NULL);
  transition (f, trip, "start", 200, "IN_TRANSIT");
  t0 = iso_ago (now, 5);
  body = g_strdup_printf ("[{\"deviceId\":\"dev1\",\"timestamp\":\"%s\",\"lat\":53.90,\"lon\":27.56},"
                          "{\"deviceId\":\"dev2\",\"timestamp\":\"%s\",\"lat\":53.91,\"lon\":27.57},"
                          "{\"deviceId\":\"dev3\",\"timestamp\":\"%s\",\"lat\":54.50,\"lon\":28.50}]", t0, t0, t0);
  send_as (f, WB_ACCESS_ROLE_DISPATCHER, "POST", "/telemetry", body, NULL, &reply);
  assert_status (&reply, 200);
  /* v2 and v3 keep reporting; v1 falls silent. */
  while (sql_int (f, "SELECT count(*) FROM commands WHERE requested_by = 'auto' AND status <> 'pending'", NULL) == 0)
    {
      g_autoptr(GDateTime) later = g_date_time_new_now_utc ();

      g_free (t1);
      t1 = iso_ago (later, 0);
      g_free (body);
      body = g_strdup_printf ("[{\"deviceId\":\"dev2\",\"timestamp\":\"%s\",\"lat\":53.91,\"lon\":27.57},"
                              "{\"deviceId\":\"dev3\",\"timestamp\":\"%s\",\"lat\":54.50,\"lon\":28.50}]", t1, t1);
      send_as (f, WB_ACCESS_ROLE_DISPATCHER, "POST", "/telemetry", body, NULL, &reply);
      if (g_get_monotonic_time () > deadline)
        g_error ("no automatic reassignment; the daemon's log:\n%s", f->daemon->log->str);
      g_usleep (500 * 1000);
    }
  outcome = wb_test_pg_text (f->conn, "SELECT status || ' ' || vehicle_id || ' ' || trip_id FROM commands WHERE requested_by = 'auto'", NULL);
  expected = g_strconcat ("applied v2 ", trip, NULL);
  g_assert_cmpstr (outcome, ==, expected);
  g_assert_cmpint (sql_int (f, "SELECT count(*) FROM trips WHERE id = $1 AND vehicle_id = 'v2'", trip), ==, 1);
  g_assert_cmpint (sql_int (f, "SELECT count(*) FROM commands", NULL), ==, 1);
}

/* ---- trip changes on /ws/events ----------------------------------------- */

typedef struct
{
  SoupWebsocketConnection *connection;
  GString                 *frames;   /* every text frame, one per line */
} EventsClient;

static void
on_events_frame (SoupWebsocketConnection *connection,
                 gint                     type,
                 GBytes                  *message,
                 gpointer                 data)
{
  EventsClient *client = data;

  g_string_append_len (client->frames, g_bytes_get_data (message, NULL), g_bytes_get_size (message));
  g_string_append_c (client->frames, '\n');
}

static void
on_events_connected (GObject      *source,
                     GAsyncResult *result,
                     gpointer      data)
{
  EventsClient *client = data;
  g_autoptr(GError) error = NULL;

  client->connection = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  g_assert_no_error (error);
}

static gboolean
events_have (EventsClient *client,
             const char   *text)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  while (strstr (client->frames->str, text) == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE), g_usleep (1000);
  return strstr (client->frames->str, text) != NULL;
}

/* A viewer's stream of @kinds (a JSON array), subscribed with @filter. */
static void
events_connect_kinds (Fixture      *f,
                      const char   *kinds,
                      const char   *filter,
                      EventsClient *client)
{
  g_autofree char *uri = g_strdup_printf ("ws://127.0.0.1:%u/ws/events?access_token=%s",
                                          wb_test_daemon_port (f->daemon), f->tokens[WB_ACCESS_ROLE_VIEWER]);
  g_autoptr(SoupMessage) message = soup_message_new ("GET", uri);
  g_autofree char *subscribe = g_strdup_printf ("{\"type\":\"subscribe\",\"kinds\":%s%s}", kinds, filter);

  client->frames = g_string_new (NULL);
  soup_session_websocket_connect_async (f->session, message, NULL, NULL, G_PRIORITY_DEFAULT, NULL,
                                        on_events_connected, client);
  while (client->connection == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_signal_connect (client->connection, "message", G_CALLBACK (on_events_frame), client);
  soup_websocket_connection_send_text (client->connection, subscribe);
  g_assert_true (events_have (client, "\"type\":\"subscribed\""));
}

/* A viewer's stream of trip changes, subscribed with @filter. */
static void
events_connect (Fixture      *f,
                const char   *filter,
                EventsClient *client)
{
  events_connect_kinds (f, "[\"trip\"]", filter, client);
}

static void
events_close (EventsClient *client)
{
  soup_websocket_connection_close (client->connection, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  g_clear_object (&client->connection);
  g_string_free (client->frames, TRUE);
}

/* A console following a trip sees its changes as they happen: started,
 * each stop reached and left, completed, in order and with the stop's
 * place; a stream filtered to another trip sees none of them. */
static void
test_trip_events (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *trip = NULL, *other = NULL, *filter = NULL, *other_filter = NULL;
  g_autofree char *started = NULL, *completed = NULL;
  EventsClient following = { 0 }, elsewhere = { 0 };
  const char *arrived;

  put_pickup_point (f, "p1");
  trip = create_trip (f, "v1", "d1", NULL);
  other = create_trip (f, "v2", "d2", NULL);
  filter = g_strdup_printf (",\"tripIds\":[\"%s\"]", trip);
  other_filter = g_strdup_printf (",\"tripIds\":[\"%s\"]", other);
  events_connect (f, filter, &following);
  events_connect (f, other_filter, &elsewhere);

  transition (f, trip, "start", 200, "IN_TRANSIT");
  transition (f, trip, "complete", 200, "COMPLETED");
  /* The other trip's own events (its creation may reach the stream after
   * it subscribed) are its business; none of this trip's may. */
  started = g_strdup_printf ("\"tripId\":\"%s\"", trip);
  completed = g_strdup_printf ("\"type\":\"trip.completed\",\"tripId\":\"%s\"", trip);
  g_assert_true (events_have (&following, completed));
  g_assert_nonnull (strstr (following.frames->str, "\"type\":\"trip.started\""));
  arrived = strstr (following.frames->str, "\"type\":\"trip.stop_arrived\"");
  g_assert_nonnull (arrived);
  g_assert_nonnull (strstr (arrived, "\"stopSeq\":1"));
  g_assert_nonnull (strstr (arrived, "\"pickupPointId\":\"p1\""));
  /* In the order they happened. */
  g_assert_true (strstr (following.frames->str, "trip.started") < arrived);
  g_assert_true (arrived < strstr (following.frames->str, "trip.completed"));
  g_assert_null (strstr (elsewhere.frames->str, started));
  events_close (&following);
  events_close (&elsewhere);
}

/* The event of @kind about command @command_id that @client received,
 * checked against events-stream.schema.json; NULL when none came. */
static JsonObject *
command_event (EventsClient *client,
               const char   *kind,
               const char   *command_id)
{
  g_autofree char *schema_dir = g_test_build_filename (G_TEST_DIST, "..", "data", "schemas", NULL);
  g_autoptr(WbTestSchemaSet) schemas = wb_test_schema_set_new (schema_dir);
  g_auto(GStrv) lines = g_strsplit (client->frames->str, "\n", -1);
  JsonObject *found = NULL;

  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) frame = *lines[i] != '\0' ? wb_json_parse (lines[i], strlen (lines[i]), NULL, &error) : NULL;
      JsonArray *events;

      g_assert_no_error (error);
      if (frame == NULL || !json_object_has_member (json_node_get_object (frame), "events"))
        continue;
      if (!wb_test_schema_validate (schemas, "events-stream.schema.json", "", frame, &error))
        g_error ("a frame does not match events-stream.schema.json: %s\n%s", error->message, lines[i]);
      events = json_object_get_array_member (json_node_get_object (frame), "events");
      for (guint e = 0; e < json_array_get_length (events); e++)
        {
          JsonObject *event = json_array_get_object_element (events, e);

          if (g_str_equal (json_object_get_string_member (event, "kind"), kind)
              && g_strcmp0 (json_object_get_string_member_with_default (event, "commandId", NULL), command_id) == 0)
            {
              g_assert_null (found);   /* once */
              found = json_object_ref (event);
            }
        }
    }
  return found;
}

/* The outbox's one message of @topic for command @command_id, checked
 * against its schema. */
static JsonNode *
outbox_message (Fixture    *f,
                const char *topic,
                const char *command_id)
{
  g_autofree char *schema_dir = g_test_build_filename (G_TEST_DIST, "..", "data", "schemas", NULL);
  g_autoptr(WbTestSchemaSet) schemas = wb_test_schema_set_new (schema_dir);
  g_autofree char *schema = g_strconcat (topic, ".schema.json", NULL);
  g_autofree char *where = g_strdup_printf ("SELECT count(*) FROM outbox_seen WHERE topic = '%s'"
                                            " AND payload->>'command_id' = $1", topic);
  g_autofree char *select = g_strdup_printf ("SELECT payload::text FROM outbox_seen WHERE topic = '%s'"
                                             " AND payload->>'command_id' = $1", topic);
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  JsonNode *payload;

  g_assert_cmpint (sql_int (f, where, command_id), ==, 1);
  text = wb_test_pg_text (f->conn, select, command_id);
  payload = wb_json_parse (text, strlen (text), NULL, &error);
  g_assert_no_error (error);
  if (!wb_test_schema_validate (schemas, schema, "", payload, &error))
    g_error ("%s does not match %s: %s", text, schema, error->message);
  return payload;
}

/* A console waiting for its command sees the outcome on /ws/events: a
 * rejection (the vehicle is busy) with its reason, announced through the
 * outbox as trip.reassign_rejected, and an application; a stream of trip
 * changes only gets the applied reassignment as a trip change, and a
 * stream of another trip's commands gets neither. */
static void
test_command_events (Fixture       *f,
                     gconstpointer  data)
{
  g_autofree char *trip = NULL, *busy = NULL, *other = NULL, *path = NULL, *filter = NULL, *other_filter = NULL;
  g_autofree char *why = NULL;
  g_autoptr(JsonObject) rejected = NULL;
  g_autoptr(JsonObject) applied = NULL;
  g_autoptr(JsonNode) message = NULL;
  JsonObject *body;
  EventsClient commands = { 0 }, changes = { 0 }, elsewhere = { 0 };
  g_auto(Reply) reply = { 0 };

  put_pickup_point (f, "p1");
  trip = create_trip (f, "v1", "d1", NULL);
  busy = create_trip (f, "v3", "d3", NULL);
  other = create_trip (f, "v2", "d2", NULL);
  transition (f, trip, "start", 200, "IN_TRANSIT");
  transition (f, busy, "start", 200, "IN_TRANSIT");
  filter = g_strdup_printf (",\"tripIds\":[\"%s\"]", trip);
  other_filter = g_strdup_printf (",\"tripIds\":[\"%s\"]", other);
  events_connect_kinds (f, "[\"command\"]", filter, &commands);
  events_connect (f, filter, &changes);
  events_connect_kinds (f, "[\"command\",\"trip\"]", other_filter, &elsewhere);
  path = g_strdup_printf ("/trips/%s/reassign", trip);

  send_as (f, WB_ACCESS_ROLE_DISPATCHER, "POST", path, "{\"vehicleId\":\"v3\",\"reason\":\"swap\"}",
           (const char *[]) { "Idempotency-Key", "cmd-busy", NULL }, &reply);
  assert_status (&reply, 202);
  g_assert_cmpstr (member (&reply, "status"), ==, "pending");
  g_assert_true (events_have (&commands, "\"commandId\":\"cmd-busy\""));
  rejected = command_event (&commands, "command", "cmd-busy");
  g_assert_nonnull (rejected);
  g_assert_cmpstr (json_object_get_string_member (rejected, "type"), ==, "trip.reassign");
  g_assert_cmpstr (json_object_get_string_member (rejected, "status"), ==, "rejected");
  g_assert_cmpstr (json_object_get_string_member (rejected, "tripId"), ==, trip);
  g_assert_cmpstr (json_object_get_string_member (rejected, "vehicleId"), ==, "v3");
  g_assert_cmpstr (json_object_get_string_member (rejected, "reason"), ==, "swap");
  g_assert_cmpstr (json_object_get_string_member (rejected, "requestedBy"), ==, "tester");
  why = g_strdup_printf ("the vehicle v3 is busy on IN_TRANSIT trip %s", busy);
  g_assert_cmpstr (json_object_get_string_member (rejected, "outcome"), ==, why);
  /* The same reason GET /commands/{id} gives, announced once. */
  send_as (f, WB_ACCESS_ROLE_VIEWER, "GET", "/commands/cmd-busy", NULL, NULL, &reply);
  g_assert_cmpstr (member (&reply, "status"), ==, "rejected");
  g_assert_cmpstr (member (&reply, "outcome"), ==, why);
  message = outbox_message (f, "trip.reassign_rejected", "cmd-busy");
  body = json_node_get_object (message);
  g_assert_cmpstr (json_object_get_string_member (body, "trip_id"), ==, trip);
  g_assert_cmpstr (json_object_get_string_member (body, "outcome"), ==, why);
  g_assert_cmpint (sql_int (f, "SELECT count(*) FROM outbox_seen WHERE topic = 'trip.reassigned'", NULL), ==, 0);

  send_as (f, WB_ACCESS_ROLE_DISPATCHER, "POST", path, "{\"vehicleId\":\"v2\",\"reason\":\"breakdown\"}",
           (const char *[]) { "Idempotency-Key", "cmd-free", NULL }, &reply);
  assert_status (&reply, 202);
  g_assert_true (events_have (&commands, "\"commandId\":\"cmd-free\""));
  applied = command_event (&commands, "command", "cmd-free");
  g_assert_nonnull (applied);
  g_assert_cmpstr (json_object_get_string_member (applied, "status"), ==, "applied");
  g_assert_cmpstr (json_object_get_string_member (applied, "vehicleId"), ==, "v2");
  g_assert_cmpstr (json_object_get_string_member (applied, "reason"), ==, "breakdown");
  g_assert_cmpstr (json_object_get_string_member (applied, "requestedBy"), ==, "tester");
  g_assert_true (json_object_get_null_member (applied, "outcome"));
  g_clear_pointer (&message, json_node_unref);
  message = outbox_message (f, "trip.reassigned", "cmd-free");
  g_assert_cmpint (sql_int (f, "SELECT count(*) FROM outbox_seen WHERE topic = 'trip.reassign_rejected'", NULL), ==, 1);

  /* Trip changes only: the application is a trip change, the rejection none. */
  g_assert_true (events_have (&changes, "\"type\":\"trip.reassigned\""));
  g_assert_null (strstr (changes.frames->str, "\"kind\":\"command\""));
  g_assert_null (strstr (changes.frames->str, "cmd-busy"));
  g_assert_null (strstr (elsewhere.frames->str, "cmd-"));
  events_close (&commands);
  events_close (&changes);
  events_close (&elsewhere);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/dispatch/trip-events", test_trip_events);
  ADD ("/dispatch/pickup-points", test_pickup_points);
  ADD ("/dispatch/transitions", test_transitions);
  ADD ("/dispatch/patch", test_patch);
  ADD ("/dispatch/bad-trips", test_bad_trips);
  ADD ("/dispatch/concurrent-starts", test_concurrent_starts);
  ADD ("/dispatch/batching-and-handover", test_batching_and_handover);
  ADD ("/dispatch/reassign", test_reassign);
  ADD ("/dispatch/command-events", test_command_events);
  ADD ("/dispatch/dead-letter", test_dead_letter);
  ADD ("/dispatch/stops-from-gps", test_stops_from_gps);
  ADD ("/dispatch/live-location-etag", test_live_location_etag);
  ADD ("/dispatch/trip-on-live-map", test_trip_on_live_map);
  ADD ("/dispatch/trip-cancel-untags", test_trip_cancel_untags);
  ADD ("/dispatch/trip-tag-after-restart", test_trip_tag_after_restart);
  g_test_add ("/dispatch/auto-batching", Fixture, "--auto-batch-interval=300ms", fixture_setup,
              test_auto_batching, fixture_teardown);
  /* Tighter than a real stop so that a drive of a few seconds shows it, and
   * still longer than passing through the radius at turning speed. */
  g_test_add ("/dispatch/simulated-trip", Fixture, "--stop-dwell=20s --stop-radius=40", fixture_setup,
              test_simulated_trip, fixture_teardown);
  g_test_add ("/dispatch/auto-reassign", Fixture, "--auto-reassign-after=3s --offline-after=2s", fixture_setup,
              test_auto_reassign, fixture_teardown);
#undef ADD

  return g_test_run ();
}
