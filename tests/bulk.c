// SPDX-License-Identifier: GPL-3.0-or-later
/* Bulk import of the fleet, against the built waybilld on a real
 * PostgreSQL: NDJSON and CSV bodies, bad rows reported by row and field
 * while the good ones land, a second import of the same file changing
 * nothing, versions, limits, and the fleet index knowing the imported
 * vehicles (a position of an imported device is enriched with them). */

#include "config.h"

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <string.h>

#include "wb-db.h"
#include "wb-fleet-import.h"
#include "wb-json.h"
#include "wb-test-daemon.h"
#include "wb-test-pg.h"

typedef struct
{
  char         *conninfo;
  WbTestDaemon *daemon;
  SoupSession  *session;
  PGconn       *conn;
} Fixture;

typedef struct
{
  guint     status;
  JsonNode *root;
  char     *text;
} Reply;

static void
reply_clear (Reply *reply)
{
  g_clear_pointer (&reply->root, json_node_unref);
  g_clear_pointer (&reply->text, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Reply, reply_clear)

static void
wait_ready (Fixture *f)
{
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u/readyz", wb_test_daemon_port (f->daemon));

  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr(SoupMessage) message = soup_message_new ("GET", uri);
      g_autoptr(GBytes) body = soup_session_send_and_read (f->session, message, NULL, NULL);

      if (soup_message_get_status (message) == 200)
        return;
      g_usleep (50 * 1000);
    }
  g_error ("waybilld did not become ready:\n%s", f->daemon->log->str);
}

static void
set_up (Fixture       *f,
        gconstpointer  data)
{
  g_autofree char *dsn = NULL;
  g_autoptr(GError) error = NULL;

  f->conninfo = wb_test_pg_create_database ("bulk");
  dsn = g_strconcat ("DB_DSN=", f->conninfo, NULL);
  {
    const char *env[] = { dsn, NULL };
    const char *args[] = { "--listen-address=127.0.0.1", NULL };

    f->daemon = wb_test_daemon_spawn (env, args);
  }
  /* 100 000 rows take a while under the sanitizers on a busy machine. */
  f->session = soup_session_new_with_options ("timeout", 600, NULL);
  wait_ready (f);
  f->conn = wb_db_connect (f->conninfo, &error);
  g_assert_no_error (error);
}

static void
tear_down (Fixture       *f,
           gconstpointer  data)
{
  g_clear_pointer (&f->conn, PQfinish);
  g_assert_cmpint (wb_test_daemon_terminate (f->daemon), ==, 0);
  wb_test_daemon_free (f->daemon);
  g_object_unref (f->session);
  g_free (f->conninfo);
}

static Reply
send (Fixture    *f,
      const char *method,
      const char *path,
      const char *content_type,
      const char *body)
{
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u%s", wb_test_daemon_port (f->daemon), path);
  g_autoptr(SoupMessage) message = soup_message_new (method, uri);
  g_autoptr(GBytes) answer = NULL;
  g_autoptr(GError) error = NULL;
  Reply reply = { 0 };

  if (body != NULL)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));

      soup_message_set_request_body_from_bytes (message, content_type, bytes);
    }
  answer = soup_session_send_and_read (f->session, message, NULL, &error);
  if (error != NULL)
    g_error ("%s %s: %s; waybilld's log:\n%s", method, path, error->message, f->daemon->log->str);
  reply.status = soup_message_get_status (message);
  reply.text = g_strndup (g_bytes_get_data (answer, NULL), g_bytes_get_size (answer));
  if (*reply.text != '\0')
    {
      reply.root = wb_json_parse (reply.text, strlen (reply.text), NULL, &error);
      g_assert_no_error (error);
    }
  return reply;
}

static Reply
import (Fixture    *f,
        const char *collection,
        const char *content_type,
        const char *body)
{
  g_autofree char *path = g_strdup_printf ("/%s:import", collection);

  return send (f, "POST", path, content_type, body);
}

static gint64
count_of (Reply      *reply,
          const char *member)
{
  return json_object_get_int_member (json_node_get_object (reply->root), member);
}

static JsonArray *
errors_of (Reply *reply)
{
  return json_object_get_array_member (json_node_get_object (reply->root), "errors");
}

/* The i-th listed error is at @row, names @field (NULL: none) and has @code. */
static void
assert_error (Reply      *reply,
              guint       i,
              guint       row,
              const char *field,
              const char *code)
{
  JsonArray *errors = errors_of (reply);
  JsonObject *e;

  if (i >= json_array_get_length (errors))
    g_error ("no error %u in %s", i, reply->text);
  e = json_array_get_object_element (errors, i);
  if (json_object_get_int_member (e, "row") != row
      || g_strcmp0 (json_object_get_string_member_with_default (e, "field", NULL), field) != 0
      || g_strcmp0 (json_object_get_string_member (e, "code"), code) != 0)
    g_error ("error %u is not row %u, field %s, %s: %s", i, row, field ? field : "(none)", code, reply->text);
}

static void
assert_counts (Reply *reply,
               gint64 received,
               gint64 created,
               gint64 updated,
               gint64 unchanged,
               gint64 rejected)
{
  if (reply->status != 200 || count_of (reply, "received") != received || count_of (reply, "created") != created
      || count_of (reply, "updated") != updated || count_of (reply, "unchanged") != unchanged
      || count_of (reply, "rejected") != rejected)
    g_error ("expected 200 with %" G_GINT64_FORMAT " received, %" G_GINT64_FORMAT " created, %" G_GINT64_FORMAT
             " updated, %" G_GINT64_FORMAT " unchanged, %" G_GINT64_FORMAT " rejected; got %u %s",
             received, created, updated, unchanged, rejected, reply->status, reply->text);
  g_assert_cmpuint (json_array_get_length (errors_of (reply)), ==, rejected);
}

static char *
sql_text (Fixture    *f,
          const char *statement,
          const char *param)
{
  return wb_test_pg_text (f->conn, statement, param);
}

static gint64
sql_int (Fixture    *f,
         const char *statement)
{
  return wb_test_pg_int (f->conn, statement, NULL);
}

/* ---- tests ---------------------------------------------------------------------- */

static const char mixed_vehicles[] =
  "{\"id\":\"v1\",\"plate\":\"1111 AB-7\",\"companyId\":\"c1\",\"driverId\":\"d1\"}\n"
  "{\"id\":\"v2\",\"companyId\":\"c1\"}\n"                              /* 2: no plate */
  "{\"id\":\"v3\",\"plate\":\"3333 AB-7\",\"groupId\":\"g1\"}\r\n"
  "\n"                                                                  /* 4: blank, no row */
  "{\"id\":\"v 4\",\"plate\":\"4444 AB-7\"}\n"                          /* 5: id outside the alphabet */
  "{\"id\":\"v5\",\"plate\":\"5555 AB-7\",\"colour\":\"red\"}\n"        /* 6: unknown member */
  "{\"id\":\"v6\",\"plate\":\n"                                         /* 7: not JSON */
  "{\"id\":\"v1\",\"plate\":\"again\"}\n"                               /* 8: v1 twice */
  "{\"id\":\"v9\",\"plate\":\"9999 AB-7\",\"version\":\"x\"}\n"         /* 9: version not a number */
  "[1,2]\n"                                                             /* 10: not an object */
  "{\"id\":\"v11\",\"plate\":\"1212 AB-7\",\"tariffId\":\"t1\",\"version\":7}";

static void
test_mixed_ndjson (Fixture       *f,
                   gconstpointer  data)
{
  g_auto(Reply) reply = import (f, "vehicles", "application/x-ndjson", mixed_vehicles);
  g_autofree char *plate = NULL;
  g_autofree char *version = NULL;

  assert_counts (&reply, 10, 3, 0, 0, 7);
  assert_error (&reply, 0, 2, "plate", "invalid_field");
  assert_error (&reply, 1, 5, "id", "invalid_field");
  assert_error (&reply, 2, 6, "colour", "invalid_field");
  assert_error (&reply, 3, 7, NULL, "invalid_json");
  assert_error (&reply, 4, 8, "id", "duplicate_id");
  assert_error (&reply, 5, 9, "version", "invalid_field");
  assert_error (&reply, 6, 10, NULL, "invalid_json");
  /* The id is given where it could be read. */
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (errors_of (&reply), 0), "id"), ==,
                   "v2");

  /* The good rows landed as given; the bad ones did not. */
  g_assert_cmpint (sql_int (f, "SELECT count(*) FROM vehicles"), ==, 3);
  plate = sql_text (f, "SELECT plate || '/' || company_id || '/' || driver_id FROM vehicles WHERE id = $1", "v1");
  g_assert_cmpstr (plate, ==, "1111 AB-7/c1/d1");
  version = sql_text (f, "SELECT version || '/' || tariff_id FROM vehicles WHERE id = $1", "v11");
  g_assert_cmpstr (version, ==, "7/t1");
  g_assert_cmpint (sql_int (f, "SELECT count(*) FROM vehicles WHERE id IN ('v2', 'v5', 'v6', 'v9')"), ==, 0);

  /* GET answers what was imported. */
  {
    g_auto(Reply) view = send (f, "GET", "/vehicles/v3", NULL, NULL);

    g_assert_cmpuint (view.status, ==, 200);
    g_assert_cmpstr (json_object_get_string_member (json_node_get_object (view.root), "groupId"), ==, "g1");
  }
}

static void
test_csv (Fixture       *f,
          gconstpointer  data)
{
  const char *companies = "\xEF\xBB\xBFid,name\r\nc1,\"Acme, Ltd\"\r\nc2,\"The \"\"Best\"\" Freight\"\r\n";
  const char *drivers =
    "id,name,phone,companyId\n"
    "d1,Ivan,+375291234567,c1\n"
    "d2,\"Anna\nMaria\",,c2\n"                /* a line break in a quoted cell */
    "d3,Olga,+375290000000\n"                 /* 4: a cell short */
    "d4,,+375290000001,c1\n"                  /* 5: no name */
    "d5,Pavel,,c 1\n";                        /* 6: companyId outside the alphabet */
  const char *devices =
    "deviceId,vehicleId,quarantined,token,version\n"
    "dev1,v1,false,s3cret,\n"
    "dev2,,true,,3\n"
    "dev3,,false,,\n"                         /* 4: not quarantined, so needs a vehicle */
    "dev4,v1,maybe,,\n";                      /* 5: quarantined is not a boolean */
  g_auto(Reply) reply = import (f, "companies", "text/csv", companies);
  g_autofree char *name = NULL;
  g_autofree char *driver = NULL;
  g_autofree char *device = NULL;

  assert_counts (&reply, 2, 2, 0, 0, 0);
  name = sql_text (f, "SELECT name FROM companies WHERE id = $1", "c2");
  g_assert_cmpstr (name, ==, "The \"Best\" Freight");
  g_clear_pointer (&name, g_free);
  name = sql_text (f, "SELECT name FROM companies WHERE id = $1", "c1");
  g_assert_cmpstr (name, ==, "Acme, Ltd");

  reply_clear (&reply);
  reply = import (f, "drivers", "text/csv; charset=utf-8", drivers);
  assert_counts (&reply, 5, 2, 0, 0, 3);
  assert_error (&reply, 0, 5, NULL, "invalid_row");
  assert_error (&reply, 1, 6, "name", "invalid_field");
  assert_error (&reply, 2, 7, "companyId", "invalid_field");
  driver = sql_text (f, "SELECT name || '/' || coalesce(phone, '-') || '/' || company_id FROM drivers WHERE id = $1",
                     "d2");
  g_assert_cmpstr (driver, ==, "Anna\nMaria/-/c2");

  reply_clear (&reply);
  reply = import (f, "devices", "text/csv", devices);
  assert_counts (&reply, 4, 2, 0, 0, 2);
  assert_error (&reply, 0, 4, "vehicleId", "invalid_field");
  assert_error (&reply, 1, 5, "quarantined", "invalid_field");
  device = sql_text (f, "SELECT vehicle_id || '/' || quarantined || '/' || (token_hash = encode(sha256('s3cret'), 'hex'))"
                        " FROM devices WHERE device_id = $1", "dev1");
  g_assert_cmpstr (device, ==, "v1/false/true");
  g_clear_pointer (&device, g_free);
  device = sql_text (f, "SELECT coalesce(vehicle_id, '-') || '/' || quarantined || '/' || version"
                        " FROM devices WHERE device_id = $1", "dev2");
  g_assert_cmpstr (device, ==, "-/true/3");
}

static const char fleet_ndjson[] =
  "{\"id\":\"v1\",\"plate\":\"1111 AB-7\",\"companyId\":\"c1\"}\n"
  "{\"id\":\"v2\",\"plate\":\"2222 AB-7\",\"companyId\":\"c1\"}\n"
  "{\"id\":\"v3\",\"plate\":\"3333 AB-7\",\"companyId\":\"c2\",\"version\":5}\n";

static void
test_idempotent (Fixture       *f,
                 gconstpointer  data)
{
  g_auto(Reply) reply = import (f, "vehicles", "application/x-ndjson", fleet_ndjson);
  g_autofree char *versions = NULL;

  assert_counts (&reply, 3, 3, 0, 0, 0);
  /* The same file again: nothing written, no version moves. */
  reply_clear (&reply);
  reply = import (f, "vehicles", "application/x-ndjson", fleet_ndjson);
  assert_counts (&reply, 3, 0, 0, 3, 0);
  versions = sql_text (f, "SELECT string_agg(id || ':' || version, ',' ORDER BY id) FROM vehicles", NULL);
  g_assert_cmpstr (versions, ==, "v1:1,v2:1,v3:5");

  /* One row changed: only it is written, taking the stored version + 1;
   * an older version loses, reported by row on its version. */
  reply_clear (&reply);
  reply = import (f, "vehicles", "application/x-ndjson",
                  "{\"id\":\"v1\",\"plate\":\"1111 AB-7\",\"companyId\":\"c1\"}\n"
                  "{\"id\":\"v2\",\"plate\":\"NEW\",\"companyId\":\"c1\"}\n"
                  "{\"id\":\"v3\",\"plate\":\"old\",\"companyId\":\"c2\",\"version\":4}\n");
  assert_counts (&reply, 3, 0, 1, 1, 1);
  assert_error (&reply, 0, 3, "version", "stale_version");
  g_clear_pointer (&versions, g_free);
  versions = sql_text (f, "SELECT string_agg(id || ':' || version || ':' || plate, ',' ORDER BY id) FROM vehicles"
                          "", NULL);
  g_assert_cmpstr (versions, ==, "v1:1:1111 AB-7,v2:2:NEW,v3:5:3333 AB-7");

  /* A newer version wins. */
  reply_clear (&reply);
  reply = import (f, "vehicles", "application/x-ndjson", "{\"id\":\"v3\",\"plate\":\"V3\",\"version\":6}");
  assert_counts (&reply, 1, 0, 1, 0, 0);
  g_clear_pointer (&versions, g_free);
  versions = sql_text (f, "SELECT version || ':' || plate FROM vehicles WHERE id = $1", "v3");
  g_assert_cmpstr (versions, ==, "6:V3");
}

static void
test_limits (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GString) many = g_string_new (NULL);
  g_auto(Reply) reply = import (f, "vehicles", "application/json", fleet_ndjson);

  g_assert_cmpuint (reply.status, ==, 415);
  reply_clear (&reply);
  reply = import (f, "vehicles", "text/csv", "id,plate,colour\nv1,1,red\n");
  g_assert_cmpuint (reply.status, ==, 400);
  g_assert_nonnull (strstr (reply.text, "\"field\":\"colour\""));
  reply_clear (&reply);
  reply = import (f, "vehicles", "text/csv", "plate\n1\n");
  g_assert_cmpuint (reply.status, ==, 400);
  g_assert_nonnull (strstr (reply.text, "\"field\":\"id\""));
  reply_clear (&reply);
  reply = import (f, "vehicles", "application/x-ndjson", "");
  g_assert_cmpuint (reply.status, ==, 400);
  reply_clear (&reply);
  reply = import (f, "vehicles", "application/x-ndjson", "{\"id\":\"v1\",\"plate\":\"\xff\"}");
  g_assert_cmpuint (reply.status, ==, 400);
  g_assert_nonnull (strstr (reply.text, "invalid_body"));
  reply_clear (&reply);
  reply = send (f, "POST", "/vehicles:import?dryRun=1", "application/x-ndjson", fleet_ndjson);
  g_assert_cmpuint (reply.status, ==, 400);

  /* One row more than a request may carry: nothing is written. */
  for (guint i = 0; i <= 100000; i++)
    g_string_append_printf (many, "{\"id\":\"v%u\",\"plate\":\"p\"}\n", i);
  reply_clear (&reply);
  reply = import (f, "vehicles", "application/x-ndjson", many->str);
  g_assert_cmpuint (reply.status, ==, 413);
  g_assert_nonnull (strstr (reply.text, "too_many_rows"));
  g_assert_cmpint (sql_int (f, "SELECT count(*) FROM vehicles"), ==, 0);
  /* A body larger than the server's usual limit (1 MiB) is taken. */
  g_string_truncate (many, 0);
  for (guint i = 1; i <= 20000; i++)
    g_string_append_printf (many, "{\"id\":\"v%u\",\"plate\":\"%060u\"}\n", i, i);
  g_assert_cmpuint (many->len, >, 1024 * 1024);
  reply_clear (&reply);
  reply = import (f, "vehicles", "application/x-ndjson", many->str);
  assert_counts (&reply, 20000, 20000, 0, 0, 0);
  g_assert_cmpint (sql_int (f, "SELECT count(*) FROM vehicles"), ==, 20000);
}

/* An errorful file lists at most 1000 errors but counts them all. */
static void
test_many_errors (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GString) body = g_string_new (NULL);
  g_auto(Reply) reply = { 0 };

  for (guint i = 1; i <= 1500; i++)
    g_string_append_printf (body, "{\"id\":\"v%u\"}\n", i);
  g_string_append (body, "{\"id\":\"ok\",\"plate\":\"p\"}\n");
  reply = import (f, "vehicles", "application/x-ndjson", body->str);
  g_assert_cmpuint (reply.status, ==, 200);
  g_assert_cmpint (count_of (&reply, "rejected"), ==, 1500);
  g_assert_cmpint (count_of (&reply, "created"), ==, 1);
  g_assert_cmpuint (json_array_get_length (errors_of (&reply)), ==, 1000);
  g_assert_true (json_object_get_boolean_member (json_node_get_object (reply.root), "errorsTruncated"));
}

/* The fleet index knows what an import wrote: a position of an imported
 * device is stored with its vehicle, driver and company. */
static void
test_enriched (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *time = g_date_time_format (now, "%Y-%m-%dT%H:%M:%SZ");
  g_autofree char *position = g_strdup_printf ("{\"deviceId\":\"dev7\",\"timestamp\":\"%s\",\"lat\":53.91,"
                                               "\"lon\":27.57,\"speed\":40}", time);
  g_auto(Reply) reply = import (f, "companies", "application/x-ndjson", "{\"id\":\"c7\",\"name\":\"Seven\"}");
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  g_autofree char *stored = NULL;

  assert_counts (&reply, 1, 1, 0, 0, 0);
  reply_clear (&reply);
  reply = import (f, "drivers", "text/csv", "id,name,companyId\nd7,Ivan,c7\n");
  assert_counts (&reply, 1, 1, 0, 0, 0);
  reply_clear (&reply);
  reply = import (f, "vehicles", "text/csv", "id,plate,driverId\nv7,7777 AB-7,d7\n");
  assert_counts (&reply, 1, 1, 0, 0, 0);
  reply_clear (&reply);
  reply = import (f, "devices", "application/x-ndjson", "{\"deviceId\":\"dev7\",\"vehicleId\":\"v7\"}");
  assert_counts (&reply, 1, 1, 0, 0, 0);

  reply_clear (&reply);
  reply = send (f, "POST", "/telemetry", "application/json", position);
  g_assert_cmpuint (reply.status, ==, 200);
  g_assert_cmpint (count_of (&reply, "accepted"), ==, 1);
  while (sql_int (f, "SELECT count(*) FROM positions") == 0)
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("the position was never stored:\n%s", f->daemon->log->str);
      g_usleep (50 * 1000);
    }
  stored = sql_text (f, "SELECT vehicle_id || '/' || driver_id || '/' || company_id FROM positions"
                        " WHERE device_id = $1", "dev7");
  g_assert_cmpstr (stored, ==, "v7/d7/c7");
}

/* The CSV reader on its own: quoting done right and wrong, line ends, and
 * rows numbered by the line they start on. */
static void
test_parse_csv (void)
{
  const char *text = "id,plate\r\n"
                     "a,\"x, \"\"y\"\"\"\r\n"     /* 2 */
                     "b,\"two\nlines\"\n"            /* 3-4 */
                     "c,bad\"quote\n"                 /* 5 */
                     "d,\"closed\"tail\n"            /* 6 */
                     "e,\"fine\"\n"                  /* 7 */
                     "\n"                              /* 8: blank */
                     "f,\"never closed\n";           /* 9 */
  g_autoptr(GBytes) body = g_bytes_new_static (text, strlen (text));
  g_autoptr(GError) error = NULL;
  g_autoptr(WbFleetImport) import = wb_fleet_import_parse (WB_FLEET_KIND_VEHICLE, WB_FLEET_IMPORT_CSV, body, 100,
                                                           &error);
  const WbFleetUpdate *u;

  g_assert_no_error (error);
  g_assert_cmpuint (import->received, ==, 6);
  g_assert_cmpuint (import->updates->len, ==, 3);
  u = g_ptr_array_index (import->updates, 0);
  g_assert_cmpstr (u->plate, ==, "x, \"y\"");
  u = g_ptr_array_index (import->updates, 1);
  g_assert_cmpstr (u->plate, ==, "two\nlines");
  g_assert_cmpuint (g_array_index (import->rows, guint, 1), ==, 3);
  u = g_ptr_array_index (import->updates, 2);
  g_assert_cmpstr (u->id, ==, "e");
  g_assert_cmpuint (g_array_index (import->rows, guint, 2), ==, 7);
  g_assert_cmpuint (import->errors->len, ==, 3);
  g_assert_cmpuint (g_array_index (import->errors, WbFleetImportError, 0).row, ==, 5);
  g_assert_cmpuint (g_array_index (import->errors, WbFleetImportError, 1).row, ==, 6);
  g_assert_cmpuint (g_array_index (import->errors, WbFleetImportError, 2).row, ==, 9);
  g_assert_cmpstr (g_array_index (import->errors, WbFleetImportError, 2).code, ==, "invalid_row");
}

/* A record refused as too long is refused whole: the rest of its line is
 * never read as a row of its own. */
static void
test_parse_csv_long_record (void)
{
  g_autoptr(GString) text = g_string_new ("token,deviceId,vehicleId\n");
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(WbFleetImport) import = NULL;
  const WbFleetUpdate *u;

  for (guint i = 0; i < 70000; i++)
    g_string_append_c (text, 'a');
  g_string_append (text, ",dev1,v-1\n,dev2,v-2\n");
  body = g_bytes_new (text->str, text->len);
  import = wb_fleet_import_parse (WB_FLEET_KIND_DEVICE, WB_FLEET_IMPORT_CSV, body, 100, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (import->received, ==, 2);
  g_assert_cmpuint (import->errors->len, ==, 1);
  g_assert_cmpuint (g_array_index (import->errors, WbFleetImportError, 0).row, ==, 2);
  g_assert_cmpuint (import->updates->len, ==, 1);
  u = g_ptr_array_index (import->updates, 0);
  g_assert_cmpstr (u->id, ==, "dev2");
  g_assert_cmpuint (g_array_index (import->rows, guint, 0), ==, 3);
}

/* The checked lines are parsed together, each still its own row: a line
 * that is not JSON, and one whose integer is beyond 64 bits (strict JSON,
 * not a version), are refused at their rows, and the lines around them
 * are read with theirs. */
static void
test_parse_ndjson_rows (void)
{
  const char *text = "{\"id\":\"a\",\"plate\":\"1\"}\n"
                     "{\"id\":\"b\",\"plate\":\"2\",\"version\":123456789012345678901234567890}\n"
                     "{\"id\":\"c\",\"plate\":\n"
                     "{\"id\":\"d\",\"plate\":\"4\",\"version\":3}\n";
  g_autoptr(GBytes) body = g_bytes_new_static (text, strlen (text));
  g_autoptr(GError) error = NULL;
  g_autoptr(WbFleetImport) import = wb_fleet_import_parse (WB_FLEET_KIND_VEHICLE, WB_FLEET_IMPORT_NDJSON, body, 100,
                                                           &error);
  const WbFleetUpdate *u;

  g_assert_no_error (error);
  g_assert_cmpuint (import->received, ==, 4);
  g_assert_cmpuint (import->updates->len, ==, 2);
  u = g_ptr_array_index (import->updates, 0);
  g_assert_cmpstr (u->id, ==, "a");
  g_assert_cmpuint (g_array_index (import->rows, guint, 0), ==, 1);
  u = g_ptr_array_index (import->updates, 1);
  g_assert_cmpstr (u->id, ==, "d");
  g_assert_cmpint (u->version, ==, 3);
  g_assert_cmpuint (g_array_index (import->rows, guint, 1), ==, 4);
  g_assert_cmpuint (import->errors->len, ==, 2);
  g_assert_cmpuint (g_array_index (import->errors, WbFleetImportError, 0).row, ==, 2);
  g_assert_cmpstr (g_array_index (import->errors, WbFleetImportError, 0).field, ==, "version");
  g_assert_cmpuint (g_array_index (import->errors, WbFleetImportError, 1).row, ==, 3);
  g_assert_cmpstr (g_array_index (import->errors, WbFleetImportError, 1).code, ==, "invalid_json");
}

/* Pickup points come in like the fleet's kinds: each row a PUT body with
 * its id, refused by row and field (nested members by their path, CSV
 * columns "address.city" for them), a repeat of the same rows unchanged
 * and a changed row updated, by the same rules and answer. */
static const char mixed_pickup_points[] =
  "{\"id\":\"pp1\",\"name\":\"Central\",\"address\":{\"country\":\"BY\",\"city\":\"Minsk\","
  "\"line1\":\"Pobediteley 9\",\"postalCode\":\"220004\"},\"lat\":53.91,\"lon\":27.55,\"capacity\":40}\n"
  "{\"id\":\"pp2\",\"name\":\"North\",\"lat\":53.95}\n"                                 /* 2: no lon */
  "{\"id\":\"pp3\",\"name\":\"East\",\"lat\":53.9,\"lon\":27.6,\"capacity\":0}\n"       /* 3: capacity */
  "{\"id\":\"pp4\",\"name\":\"West\",\"lat\":53.9,\"lon\":27.4,\"address\":{\"country\":\"by\"}}\n"
  "{\"id\":\"pp1\",\"name\":\"again\",\"lat\":1,\"lon\":1}\n"                          /* 5: pp1 twice */
  "{\"id\":\"pp6\",\"lat\":1,\"lon\":2}\n"                                               /* 6: no name */
  "{\"id\":\"pp7\",\"name\":\"South\",\"lat\":53.85,\"lon\":27.5,\"openingHours\":\"Mo-Fr 09-20\"}\n";

static void
test_pickup_points (Fixture       *f,
                    gconstpointer  data)
{
  const char *again = "{\"id\":\"pp7\",\"name\":\"South\",\"lat\":53.85,\"lon\":27.5,\"openingHours\":\"Mo-Fr 09-20\"}\n"
                      "{\"id\":\"pp1\",\"name\":\"Central Square\",\"address\":{\"country\":\"BY\","
                      "\"city\":\"Minsk\",\"line1\":\"Pobediteley 9\",\"postalCode\":\"220004\"},\"lat\":53.91,"
                      "\"lon\":27.55,\"capacity\":40}\n";
  const char *csv = "id,name,address.country,address.city,lat,lon,capacity\n"
                    "pp8,\"Mall, level 2\",BY,Brest,52.09,23.68,15\n"
                    "pp9,Bad,BY,Brest,north,23.6,\n";
  g_autofree char *central = NULL, *south = NULL, *mall = NULL;

  {
    g_auto(Reply) reply = import (f, "pickup-points", "application/x-ndjson", mixed_pickup_points);

    assert_counts (&reply, 7, 2, 0, 0, 5);
    assert_error (&reply, 0, 2, "lon", "invalid_field");
    assert_error (&reply, 1, 3, "capacity", "invalid_field");
    assert_error (&reply, 2, 4, "address.country", "invalid_field");
    assert_error (&reply, 3, 5, "id", "duplicate_id");
    assert_error (&reply, 4, 6, "name", "invalid_field");
  }
  central = sql_text (f, "SELECT name || '/' || country || '/' || city || '/' || line1 || '/' || postal_code || '/'"
                         " || lat || '/' || lon || '/' || capacity || '/' || version FROM pickup_points WHERE id = $1",
                      "pp1");
  g_assert_cmpstr (central, ==, "Central/BY/Minsk/Pobediteley 9/220004/53.91/27.55/40/1");
  south = sql_text (f, "SELECT opening_hours FROM pickup_points WHERE id = $1", "pp7");
  g_assert_cmpstr (south, ==, "Mo-Fr 09-20");
  g_assert_cmpint (sql_int (f, "SELECT count(*) FROM pickup_points"), ==, 2);

  /* The same row again changes nothing; a changed one is a new version. */
  {
    g_auto(Reply) reply = import (f, "pickup-points", "application/x-ndjson", again);

    assert_counts (&reply, 2, 0, 1, 1, 0);
  }
  g_clear_pointer (&central, g_free);
  central = sql_text (f, "SELECT name || '/' || version FROM pickup_points WHERE id = $1", "pp1");
  g_assert_cmpstr (central, ==, "Central Square/2");
  g_assert_cmpint (sql_int (f, "SELECT version FROM pickup_points WHERE id = 'pp7'"), ==, 1);

  {
    g_auto(Reply) reply = import (f, "pickup-points", "text/csv", csv);

    assert_counts (&reply, 2, 1, 0, 0, 1);
    assert_error (&reply, 0, 3, "lat", "invalid_field");
  }
  {
    g_auto(Reply) view = send (f, "GET", "/pickup-points/pp8", NULL, NULL);
    JsonObject *point;

    g_assert_cmpuint (view.status, ==, 200);
    point = json_node_get_object (view.root);
    g_assert_cmpstr (json_object_get_string_member (point, "name"), ==, "Mall, level 2");
    g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (point, "address"), "city"), ==,
                     "Brest");
    g_assert_cmpint (json_object_get_int_member (point, "capacity"), ==, 15);
  }
  mall = sql_text (f, "SELECT lat || '/' || lon FROM pickup_points WHERE id = $1", "pp8");
  g_assert_cmpstr (mall, ==, "52.09/23.68");

  /* A header naming what a pickup point does not have is refused whole. */
  {
    g_auto(Reply) reply = import (f, "pickup-points", "text/csv", "id,name,colour\npp10,Ten,red\n");

    g_assert_cmpuint (reply.status, ==, 400);
    g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (json_node_get_object (reply.root),
                                                                                   "error"), "field"), ==, "colour");
  }
  {
    g_auto(Reply) reply = import (f, "pickup-points", "application/json", "{}");

    g_assert_cmpuint (reply.status, ==, 415);
  }
  g_assert_cmpint (sql_int (f, "SELECT count(*) FROM pickup_points"), ==, 3);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/bulk/parse/csv", test_parse_csv);
  g_test_add_func ("/bulk/parse/csv-long-record", test_parse_csv_long_record);
  g_test_add_func ("/bulk/parse/ndjson-rows", test_parse_ndjson_rows);
#define ADD(path, func) g_test_add (path, Fixture, NULL, set_up, func, tear_down)
  ADD ("/bulk/mixed-ndjson", test_mixed_ndjson);
  ADD ("/bulk/csv", test_csv);
  ADD ("/bulk/idempotent", test_idempotent);
  ADD ("/bulk/limits", test_limits);
  ADD ("/bulk/many-errors", test_many_errors);
  ADD ("/bulk/enriched", test_enriched);
  ADD ("/bulk/pickup-points", test_pickup_points);
#undef ADD

  return g_test_run ();
}
