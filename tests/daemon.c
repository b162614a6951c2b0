// SPDX-License-Identifier: GPL-3.0-or-later
/* Black-box tests: the built waybilld binary, started as a user would start
 * it, on an ephemeral port, against a real PostgreSQL (tests/wb-test-pg.c) or
 * its own embedded cluster, spoken to over HTTP. */

#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#include "wb-db.h"
#include "wb-migrations.h"
#include "wb-test-daemon.h"
#include "wb-test-pg.h"

#define SECRET "daemon-test-secret-0123456789abcdef"

/* The key waybilld's migrations lock (core/db/wb-migrations.c). */
#define MIGRATION_LOCK_SQL "SELECT pg_advisory_lock(24595496943840364)"

static SoupSession *session;

static guint
http_get (WbTestDaemon  *d,
          const char    *path,
          const char    *token,
          char         **out_body)
{
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u%s", wb_test_daemon_port (d), path);
  g_autoptr(SoupMessage) message = soup_message_new ("GET", uri);
  g_autoptr(GBytes) body = NULL;

  if (token)
    {
      g_autofree char *auth = g_strdup_printf ("Bearer %s", token);
      soup_message_headers_replace (soup_message_get_request_headers (message), "Authorization", auth);
    }
  body = soup_session_send_and_read (session, message, NULL, NULL);
  if (out_body)
    *out_body = body ? g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body)) : NULL;
  return soup_message_get_status (message);
}

/* Polls /readyz until it answers @want; returns the milliseconds it took. */
static double
wait_ready (WbTestDaemon *d,
            guint         want,
            guint         timeout_s)
{
  gint64 start = g_get_monotonic_time ();
  gint64 deadline = start + timeout_s * G_USEC_PER_SEC;
  guint status = 0;

  while (g_get_monotonic_time () < deadline)
    {
      status = http_get (d, "/readyz", NULL, NULL);
      if (status == want)
        return (g_get_monotonic_time () - start) / 1000.0;
      g_usleep (50 * 1000);
    }
  g_error ("/readyz stayed %u (wanted %u); log:\n%s", status, want, d->log->str);
  return -1;
}


static char *
fresh_dsn_env (const char *prefix)
{
  g_autofree char *conninfo = wb_test_pg_create_database (prefix);

  return g_strconcat ("DB_DSN=", conninfo, NULL);
}

static void assert_ready_roles (WbTestDaemon       *d,
                                const char * const *expected);

static void
test_serves_health_ready_metrics (void)
{
  const char *every_role[] = { "api", "ingest", "fleet", "tracker", "scheduler", "carrier-worker", "gateway", "dispatch", NULL };
  g_autofree char *dsn = fresh_dsn_env ("serve");
  const char *env[] = { dsn, NULL };
  WbTestDaemon *d = wb_test_daemon_spawn (env, NULL);
  g_autofree char *body = NULL;
  g_autoptr(JsonNode) json = NULL;

  wait_ready (d, 200, 60);
  g_assert_cmpuint (http_get (d, "/healthz", NULL, &body), ==, 200);
  g_assert_cmpstr (body, ==, "{\"status\":\"alive\"}\n");
  g_clear_pointer (&body, g_free);

  g_assert_cmpuint (http_get (d, "/readyz", NULL, &body), ==, 200);
  json = json_from_string (body, NULL);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (json), "status"), ==, "ready");
  g_clear_pointer (&body, g_free);
  assert_ready_roles (d, every_role);

  g_assert_cmpuint (http_get (d, "/no/such/thing", NULL, &body), ==, 404);
  g_assert_nonnull (strstr (body, "\"error\":{\"code\":\"not_found\""));
  g_clear_pointer (&body, g_free);

  /* No secret, loopback: served without authentication, said in the log. */
  g_assert_cmpuint (http_get (d, "/whoami", NULL, &body), ==, 200);
  g_assert_nonnull (strstr (body, "\"role\":\"admin\""));
  g_assert_true (wb_test_daemon_log_contains (d, "without authentication"));
  g_clear_pointer (&body, g_free);

  g_assert_cmpuint (http_get (d, "/metrics", NULL, &body), ==, 200);
  g_assert_nonnull (strstr (body, "# HELP process_resident_memory_bytes"));
  g_assert_nonnull (strstr (body, "# TYPE waybill_http_requests_total counter"));
  g_assert_nonnull (strstr (body, "waybill_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 1"));
  g_assert_nonnull (strstr (body, "waybill_http_request_duration_seconds_bucket{route=\"/readyz\",le=\"+Inf\"}"));
  g_assert_nonnull (strstr (body, "waybill_db_pool_connections{state=\"max\"} 4"));
  g_assert_nonnull (strstr (body, "waybill_ready 1"));
  g_clear_pointer (&body, g_free);

  /* The access log names the request id. */
  g_assert_true (wb_test_daemon_log_contains (d, "GET /healthz 200"));
  g_assert_true (wb_test_daemon_log_contains (d, "request_id="));

  g_assert_cmpint (wb_test_daemon_terminate (d), ==, 0);
  g_assert_true (wb_test_daemon_log_contains (d, "Stopped"));
  wb_test_daemon_free (d);
}

typedef struct
{
  const char *env;
  const char *arg;
  const char *expect;    /* a fragment of the one error line */
} BadConfig;

static void
test_config_errors_exit_2 (void)
{
  g_autofree char *dir = g_dir_make_tmp ("waybill-conf-XXXXXX", NULL);
  g_autofree char *conf = g_build_filename (dir, "bad.conf", NULL);
  g_autofree char *conf_arg = g_strconcat ("--config=", conf, NULL);
  const BadConfig cases[] = {
    { "SERVER_PORT=70000", NULL, "SERVER_PORT" },
    { "DB_DSN=host='unterminated", NULL, "DB_DSN" },
    { NULL, "--no-such-option", "no-such-option" },
    { NULL, conf_arg, "colour" },
    { "AUTH_HS256SECRET=short", NULL, "AUTH_HS256SECRET" },
    { NULL, "--listen-address=0.0.0.0", "without authentication" },
    { NULL, "--log-format=xml", "log.format" },
  };

  g_assert_true (g_file_set_contents (conf, "[server]\ncolour=blue\n", -1, NULL));
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const char *env[] = { cases[i].env, NULL };
      const char *args[] = { cases[i].arg, NULL };
      WbTestDaemon *d = wb_test_daemon_spawn (env, args);
      g_auto(GStrv) lines = NULL;

      g_assert_cmpint (wb_test_daemon_wait (d), ==, 2);
      lines = g_strsplit (g_strchomp (d->log->str), "\n", -1);
      g_assert_cmpuint (g_strv_length (lines), ==, 1);
      if (!strstr (lines[0], cases[i].expect))
        g_error ("case %u: “%s” does not name “%s”", i, lines[0], cases[i].expect);
      g_assert_true (g_str_has_prefix (lines[0], "waybilld: "));
      wb_test_daemon_free (d);
    }
  g_unlink (conf);
  g_rmdir (dir);
}

static char *
run_token_command (const char *role)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  char *out = NULL;

  g_subprocess_launcher_setenv (launcher, "AUTH_HS256SECRET", SECRET, TRUE);
  process = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("WAYBILLD"), "token", "--role", role,
                                         "--ttl", "10m", "--subject", "test-user", NULL);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate_utf8 (process, NULL, NULL, &out, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_subprocess_get_exit_status (process), ==, 0);
  return g_strchomp (out);
}

static void
test_auth_with_secret (void)
{
  g_autofree char *dsn = fresh_dsn_env ("auth");
  const char *env[] = { dsn, "AUTH_HS256SECRET=" SECRET, NULL };
  const char *args[] = { "--listen-address=127.0.0.1", NULL };
  g_autofree char *viewer = run_token_command ("viewer");
  g_autofree char *body = NULL;
  WbTestDaemon *d = wb_test_daemon_spawn (env, args);

  wait_ready (d, 200, 60);
  g_assert_cmpuint (http_get (d, "/metrics", NULL, NULL), ==, 200);
  g_assert_cmpuint (http_get (d, "/healthz", NULL, NULL), ==, 200);

  g_assert_cmpuint (http_get (d, "/whoami", NULL, &body), ==, 401);
  g_assert_nonnull (strstr (body, "\"code\":\"unauthorized\""));
  g_clear_pointer (&body, g_free);
  g_assert_cmpuint (http_get (d, "/whoami", "garbage", NULL), ==, 401);

  g_assert_cmpuint (http_get (d, "/whoami", viewer, &body), ==, 200);
  g_assert_nonnull (strstr (body, "\"role\":\"viewer\""));
  g_assert_nonnull (strstr (body, "\"subject\":\"test-user\""));
  g_assert_false (wb_test_daemon_log_contains (d, SECRET));

  g_assert_cmpint (wb_test_daemon_terminate (d), ==, 0);
  wb_test_daemon_free (d);
}

static void
test_two_daemons_migrate_at_once (void)
{
  g_autofree char *conninfo = wb_test_pg_create_database ("twin");
  g_autofree char *dsn = g_strconcat ("DB_DSN=", conninfo, NULL);
  const char *env[] = { dsn, NULL };
  WbTestDaemon *a = wb_test_daemon_spawn (env, NULL);
  WbTestDaemon *b = wb_test_daemon_spawn (env, NULL);
  g_autoptr(GSubprocess) psql = NULL;
  g_autofree char *out = NULL;
  g_autoptr(GError) error = NULL;

  wait_ready (a, 200, 60);
  wait_ready (b, 200, 60);

  /* Each migration was recorded exactly once. */
  psql = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, "psql", "-XAtq", "-d", conninfo, "-c",
                           "SELECT count(*) = count(DISTINCT version) AND count(*) > 0 FROM schema_migrations",
                           NULL);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate_utf8 (psql, NULL, NULL, &out, NULL, &error));
  g_assert_cmpstr (g_strstrip (out), ==, "t");

  g_assert_cmpint (wb_test_daemon_terminate (a), ==, 0);
  g_assert_cmpint (wb_test_daemon_terminate (b), ==, 0);
  wb_test_daemon_free (a);
  wb_test_daemon_free (b);
}

/* The database goes away under a running daemon: /readyz says so, the daemon
 * stays up, and readiness comes back with the database. */
static void
test_database_restart (void)
{
  g_autofree char *dsn = fresh_dsn_env ("restart");
  const char *env[] = { dsn, NULL };
  WbTestDaemon *d = wb_test_daemon_spawn (env, NULL);
  g_autofree char *body = NULL;

  wait_ready (d, 200, 60);
  wb_test_pg_stop_server ();
  wait_ready (d, 503, 30);
  g_assert_cmpuint (http_get (d, "/readyz", NULL, &body), ==, 503);
  g_assert_nonnull (strstr (body, "database unreachable"));
  g_assert_cmpuint (http_get (d, "/healthz", NULL, NULL), ==, 200);

  wb_test_pg_start_server ();
  wait_ready (d, 200, 60);
  g_assert_cmpint (wb_test_daemon_terminate (d), ==, 0);
  wb_test_daemon_free (d);
}

static void
test_json_logs (void)
{
  g_autofree char *dsn = fresh_dsn_env ("jsonlog");
  const char *env[] = { dsn, NULL };
  const char *args[] = { "--log-format=json", NULL };
  WbTestDaemon *d = wb_test_daemon_spawn (env, args);
  g_auto(GStrv) lines = NULL;
  gboolean saw_access = FALSE;

  wait_ready (d, 200, 60);
  g_assert_cmpint (wb_test_daemon_terminate (d), ==, 0);

  lines = g_strsplit (g_strchomp (d->log->str), "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), >, 3);
  for (guint i = 0; lines[i]; i++)
    {
      g_autoptr(JsonNode) node = json_from_string (lines[i], NULL);
      JsonObject *object;

      g_assert_nonnull (node);
      object = json_node_get_object (node);
      g_assert_true (json_object_has_member (object, "time"));
      g_assert_true (json_object_has_member (object, "level"));
      if (json_object_has_member (object, "request_id"))
        saw_access = TRUE;
    }
  g_assert_true (saw_access);
  wb_test_daemon_free (d);
}

static gboolean
postmaster_running (const char *data_dir)
{
  g_autofree char *pid_file = g_build_filename (data_dir, "postmaster.pid", NULL);

  return g_file_test (pid_file, G_FILE_TEST_EXISTS);
}

/* No DB_DSN: the daemon creates, starts, stops and reuses its own cluster,
 * and gets past a crash that left the cluster running and its pid file. */
static void
test_embedded_cluster (void)
{
  g_autofree char *state = wb_test_pg_make_state_dir ();
  g_autofree char *state_arg = g_strconcat ("--state-dir=", state, NULL);
  g_autofree char *data_dir = g_build_filename (state, "postgres", NULL);
  const char *args[] = { state_arg, NULL };
  double cold_ms, warm_ms, crash_ms;
  WbTestDaemon *d;

  d = wb_test_daemon_spawn (NULL, args);
  cold_ms = wait_ready (d, 200, 120);
  g_assert_true (wb_test_daemon_log_contains (d, "Embedded PostgreSQL created"));
  g_assert_cmpint (wb_test_daemon_terminate (d), ==, 0);
  g_assert_false (postmaster_running (data_dir));
  wb_test_daemon_free (d);

  d = wb_test_daemon_spawn (NULL, args);
  warm_ms = wait_ready (d, 200, 60);
  g_assert_true (wb_test_daemon_log_contains (d, "Embedded PostgreSQL started"));
  g_assert_false (wb_test_daemon_log_contains (d, "Applied"));    /* schema kept: nothing to migrate */

  /* A crash: the daemon dies, its cluster and pid file stay behind. */
  g_subprocess_send_signal (d->process, SIGKILL);
  wb_test_daemon_wait (d);
  wb_test_daemon_free (d);
  g_assert_true (postmaster_running (data_dir));

  d = wb_test_daemon_spawn (NULL, args);
  crash_ms = wait_ready (d, 200, 60);
  g_assert_cmpint (wb_test_daemon_terminate (d), ==, 0);
  g_assert_false (postmaster_running (data_dir));
  wb_test_daemon_free (d);

  g_test_message ("embedded cluster: cold start to ready %.0f ms, warm start %.0f ms, after SIGKILL %.0f ms",
                  cold_ms, warm_ms, crash_ms);
  g_printerr ("# figures: cold start to ready %.0f ms, warm start to ready %.0f ms, start after SIGKILL %.0f ms\n",
              cold_ms, warm_ms, crash_ms);
}

static void
test_second_signal_exits_at_once (void)
{
  g_autofree char *dsn = fresh_dsn_env ("signal");
  const char *env[] = { dsn, NULL };
  const char *args[] = { "--shutdown-timeout=30s", NULL };
  WbTestDaemon *d = wb_test_daemon_spawn (env, args);
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) held = NULL;
  const char *partial = "POST /whoami HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{\"a\"";
  gint64 start;
  int status;

  wait_ready (d, 200, 60);
  /* A request whose body never arrives keeps the first signal's drain waiting. */
  held = g_socket_client_connect_to_host (client, "127.0.0.1", wb_test_daemon_port (d), NULL, NULL);
  g_assert_nonnull (held);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (held)), partial,
                             strlen (partial), NULL, NULL, NULL);
  /* Signal only once the daemon holds it (plus the /metrics request itself). */
  for (guint attempt = 0; attempt < 200; attempt++)
    {
      g_autofree char *metrics = NULL;

      http_get (d, "/metrics", NULL, &metrics);
      if (metrics && strstr (metrics, "waybill_http_requests_in_flight 2"))
        break;
      g_usleep (20 * 1000);
    }
  g_subprocess_send_signal (d->process, SIGTERM);
  g_usleep (300 * 1000);
  start = g_get_monotonic_time ();
  g_subprocess_send_signal (d->process, SIGTERM);
  status = wb_test_daemon_wait (d);
  g_assert_cmpint (status, !=, 0);
  g_assert_cmpint ((g_get_monotonic_time () - start) / 1000, <, 5000);
  g_assert_true (wb_test_daemon_log_contains (d, "second signal"));
  wb_test_daemon_free (d);
}

/* ---- shutdown ------------------------------------------------------------------ */

static PGconn *
connect_or_die (const char *conninfo)
{
  g_autoptr(GError) error = NULL;
  PGconn *conn = wb_db_connect (conninfo, &error);

  g_assert_no_error (error);
  return conn;
}

static void
sql_exec (PGconn     *conn,
          const char *sql)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PGresult) result = wb_db_exec (conn, sql, NULL, 0, NULL, &error);

  g_assert_no_error (error);
}

static char *
sql_value (PGconn     *conn,
           const char *sql)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PGresult) result = wb_db_exec (conn, sql, NULL, 0, NULL, &error);

  g_assert_no_error (error);
  return g_strdup (PQgetvalue (result, 0, 0));
}

static double
elapsed_ms (gint64 since_us)
{
  return (g_get_monotonic_time () - since_us) / 1000.0;
}

/* Polls /readyz until its answer holds @text (30 s at most). */
static char *
wait_readyz_saying (WbTestDaemon *d,
                    const char   *text)
{
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < deadline)
    {
      char *body = NULL;

      if (http_get (d, "/readyz", NULL, &body) == 503 && body && strstr (body, text))
        return body;
      g_free (body);
      g_usleep (50 * 1000);
    }
  g_error ("/readyz never said “%s”; log:\n%s", text, d->log->str);
  return NULL;
}

/* A POST whose body is partly sent: in flight for the server until the rest
 * comes (or the server gives up on it). */
static GSocketConnection *
start_partial_request (WbTestDaemon *d)
{
  const char *partial = "POST /whoami HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{\"a\"";
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GError) error = NULL;
  GSocketConnection *connection;

  connection = g_socket_client_connect_to_host (client, "127.0.0.1", wb_test_daemon_port (d), NULL, &error);
  g_assert_no_error (error);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)), partial,
                             strlen (partial), NULL, NULL, &error);
  g_assert_no_error (error);
  return connection;
}

/* Until the server counts @n requests in flight, the /metrics request itself included. */
static void
wait_in_flight (WbTestDaemon *d,
                guint         n)
{
  g_autofree char *want = g_strdup_printf ("waybill_http_requests_in_flight %u\n", n);

  for (guint attempt = 0; attempt < 500; attempt++)
    {
      g_autofree char *metrics = NULL;

      http_get (d, "/metrics", NULL, &metrics);
      if (metrics && strstr (metrics, want))
        return;
      g_usleep (20 * 1000);
    }
  g_error ("never %u requests in flight; log:\n%s", n, d->log->str);
}

/* Everything the server says until it closes the connection. */
static char *
read_to_end (GSocketConnection *connection)
{
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  GString *text = g_string_new (NULL);
  char buffer[4096];
  gssize n;

  g_socket_set_timeout (g_socket_connection_get_socket (connection), 30);
  while ((n = g_input_stream_read (in, buffer, sizeof buffer, NULL, NULL)) > 0)
    g_string_append_len (text, buffer, n);
  return g_string_free (text, FALSE);
}

static PGconn *
hold_migration_lock (const char *conninfo)
{
  PGconn *holder = connect_or_die (conninfo);

  sql_exec (holder, "SET application_name = 'migration-lock-holder'");
  sql_exec (holder, MIGRATION_LOCK_SQL);
  return holder;
}

/* Another process holds the migration lock (a daemon migrating, an operator
 * with a psql open): /readyz says so, and SIGTERM still stops the daemon
 * within its shutdown bound, cleanly. */
static void
test_shutdown_while_waiting_for_lock (void)
{
  g_autofree char *conninfo = wb_test_pg_create_database ("lockwait");
  g_autofree char *dsn = g_strconcat ("DB_DSN=", conninfo, NULL);
  g_autoptr(PGconn) holder = hold_migration_lock (conninfo);
  const char *env[] = { dsn, NULL };
  const char *args[] = { "--shutdown-timeout=2s", NULL };
  WbTestDaemon *d = wb_test_daemon_spawn (env, args);
  g_autofree char *body = wait_readyz_saying (d, "migration lock");
  gint64 start;
  int status;

  g_assert_nonnull (strstr (body, "held by another process"));
  g_assert_nonnull (strstr (body, "migration-lock-holder"));
  g_assert_cmpuint (http_get (d, "/healthz", NULL, NULL), ==, 200);

  start = g_get_monotonic_time ();
  g_subprocess_send_signal (d->process, SIGTERM);
  status = wb_test_daemon_wait_for (d, 2000 + 1500);
  if (status == WB_TEST_DAEMON_STILL_RUNNING)
    g_error ("waybilld still runs %.0f ms after SIGTERM; log:\n%s", elapsed_ms (start), d->log->str);
  g_assert_cmpint (status, ==, 0);
  g_assert_true (wb_test_daemon_log_contains (d, "Stopped"));
  g_test_message ("stopped %.0f ms after SIGTERM while waiting for the lock", elapsed_ms (start));

  /* Nothing was applied behind the holder's back. */
  g_assert_cmpint (wb_migrations_current_version (holder, NULL), ==, 0);
  wb_test_daemon_free (d);
}

/* The same phase, with a request keeping the first signal's drain busy: the
 * second signal ends it at once. */
static void
test_second_signal_while_waiting_for_lock (void)
{
  g_autofree char *conninfo = wb_test_pg_create_database ("lockwait2");
  g_autofree char *dsn = g_strconcat ("DB_DSN=", conninfo, NULL);
  g_autoptr(PGconn) holder = hold_migration_lock (conninfo);
  const char *env[] = { dsn, NULL };
  const char *args[] = { "--shutdown-timeout=60s", NULL };
  WbTestDaemon *d = wb_test_daemon_spawn (env, args);
  g_autofree char *body = wait_readyz_saying (d, "migration lock");
  g_autoptr(GSocketConnection) held = start_partial_request (d);
  gint64 start;
  int status;

  wait_in_flight (d, 2);
  g_subprocess_send_signal (d->process, SIGTERM);
  wb_test_daemon_wait_log (d, "Shutting down");
  g_assert_cmpint (wb_test_daemon_wait_for (d, 300), ==, WB_TEST_DAEMON_STILL_RUNNING);

  start = g_get_monotonic_time ();
  g_subprocess_send_signal (d->process, SIGTERM);
  status = wb_test_daemon_wait_for (d, 2000);
  if (status == WB_TEST_DAEMON_STILL_RUNNING)
    g_error ("waybilld ignored the second signal; log:\n%s", d->log->str);
  g_assert_cmpint (status, ==, 1);
  g_assert_true (wb_test_daemon_log_contains (d, "second signal"));
  g_test_message ("second signal: exited in %.0f ms", elapsed_ms (start));
  wb_test_daemon_free (d);
}

/* SIGTERM: the port closes to new connections at once, a request already
 * in flight is answered, one that outlasts --shutdown-timeout is cut there,
 * and the daemon still exits 0 within the bound. */
static void
test_graceful_shutdown (void)
{
  g_autofree char *dsn = fresh_dsn_env ("graceful");
  const char *env[] = { dsn, NULL };
  const char *args[] = { "--shutdown-timeout=3s", NULL };
  WbTestDaemon *d = wb_test_daemon_spawn (env, args);
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) finishing = NULL;
  g_autoptr(GSocketConnection) stalled = NULL;
  g_autoptr(GSocketConnection) late = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *answer = NULL;
  g_autofree char *cut = NULL;
  gint64 start;
  int status;

  wait_ready (d, 200, 60);
  finishing = start_partial_request (d);
  stalled = start_partial_request (d);
  wait_in_flight (d, 3);

  start = g_get_monotonic_time ();
  g_subprocess_send_signal (d->process, SIGTERM);
  wb_test_daemon_wait_log (d, "No longer accepting connections; 2 requests in flight");

  late = g_socket_client_connect_to_host (client, "127.0.0.1", wb_test_daemon_port (d), NULL, &error);
  g_assert_null (late);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);

  /* The rest of the body: the request completes with a real answer. */
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (finishing)), "1234}\n", 6,
                             NULL, NULL, NULL);
  answer = read_to_end (finishing);
  g_assert_true (g_str_has_prefix (answer, "HTTP/1.1 "));
  g_assert_nonnull (strstr (answer, "\"error\":{\"code\":"));
  g_assert_cmpfloat (elapsed_ms (start), <, 2500);

  /* The one that never ends is cut at the bound, not before. */
  cut = read_to_end (stalled);
  g_assert_cmpstr (cut, ==, "");
  g_assert_cmpfloat (elapsed_ms (start), >=, 2900);

  status = wb_test_daemon_wait_for (d, 5000);
  g_assert_cmpint (status, ==, 0);
  g_assert_cmpfloat (elapsed_ms (start), <, 3000 + 2000);
  g_assert_true (wb_test_daemon_log_contains (d, "1 requests still in flight at the shutdown deadline"));
  g_test_message ("graceful stop with a request cut at the 3 s bound: %.0f ms", elapsed_ms (start));
  wb_test_daemon_free (d);
}

static void
post_position (WbTestDaemon *d,
               const char   *device_id,
               double        lat)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *timestamp = g_date_time_format (now, "%Y-%m-%dT%H:%M:%S.%fZ");
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u/telemetry", wb_test_daemon_port (d));
  g_autofree char *json = g_strdup_printf ("{\"deviceId\":\"%s\",\"timestamp\":\"%s\",\"lat\":%.4f,\"lon\":27.57}",
                                           device_id, timestamp, lat);
  g_autoptr(GBytes) request_body = g_bytes_new (json, strlen (json));
  g_autoptr(SoupMessage) message = soup_message_new ("POST", uri);
  g_autoptr(GBytes) answer = NULL;

  soup_message_set_request_body_from_bytes (message, "application/json", request_body);
  answer = soup_session_send_and_read (session, message, NULL, NULL);
  g_assert_cmpuint (soup_message_get_status (message), ==, 200);
  g_assert_nonnull (g_strstr_len (g_bytes_get_data (answer, NULL), g_bytes_get_size (answer), "\"accepted\":1"));
}

/* The fleet pipeline's write is held up by a lock the test holds: one
 * position is being written, a second waits on the bus. SIGTERM must wait
 * for the bus to drain (both stored, both acknowledged), not drop the
 * second. */
static void
test_shutdown_flushes_bus (void)
{
  g_autofree char *conninfo = wb_test_pg_create_database ("flush");
  g_autofree char *dsn = g_strconcat ("DB_DSN=", conninfo, NULL);
  g_autofree char *blocked_sql = NULL;
  g_autoptr(PGconn) conn = connect_or_die (conninfo);
  g_autoptr(PGconn) locker = connect_or_die (conninfo);
  g_autoptr(GError) error = NULL;
  const char *env[] = { dsn, NULL };
  const char *args[] = { "--shutdown-timeout=20s", NULL };
  g_autofree char *stored = NULL;
  WbTestDaemon *d;
  gint64 start;

  g_assert_true (wb_migrations_apply (conn, NULL, &error));
  g_assert_no_error (error);
  sql_exec (conn, "INSERT INTO vehicles (id, plate, version) VALUES ('veh-f', 'F-1', 1)");
  sql_exec (conn, "INSERT INTO devices (device_id, vehicle_id, version) VALUES ('dev-f', 'veh-f', 1)");
  d = wb_test_daemon_spawn (env, args);
  wait_ready (d, 200, 60);

  sql_exec (locker, "BEGIN");
  sql_exec (locker, "LOCK TABLE positions IN SHARE MODE");
  post_position (d, "dev-f", 53.91);
  blocked_sql = g_strdup_printf ("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                 "AND datname = current_database() AND pid <> %d", PQbackendPID (locker));
  for (guint attempt = 0; ; attempt++)
    {
      g_autofree char *waiting = sql_value (conn, blocked_sql);

      if (g_str_equal (waiting, "1"))
        break;
      g_assert_cmpuint (attempt, <, 1500);
      g_usleep (20 * 1000);
    }
  post_position (d, "dev-f", 53.92);

  start = g_get_monotonic_time ();
  g_subprocess_send_signal (d->process, SIGTERM);
  wb_test_daemon_wait_log (d, "Shutting down");
  /* Still draining while the write is held up. */
  g_assert_cmpint (wb_test_daemon_wait_for (d, 1000), ==, WB_TEST_DAEMON_STILL_RUNNING);
  sql_exec (locker, "COMMIT");

  g_assert_cmpint (wb_test_daemon_wait_for (d, 15000), ==, 0);
  g_assert_false (wb_test_daemon_log_contains (d, "still queued on the bus"));
  stored = sql_value (conn, "SELECT count(*) FROM positions WHERE device_id = 'dev-f'");
  g_assert_cmpstr (stored, ==, "2");
  g_test_message ("bus drained and stopped %.0f ms after SIGTERM", elapsed_ms (start));
  wb_test_daemon_free (d);
}

/* A database migrated by a newer Waybill: the daemon refuses it, with one
 * line that says why, and a fault's exit status. */
static void
test_refuses_newer_schema (void)
{
  g_autofree char *conninfo = wb_test_pg_create_database ("newer");
  g_autofree char *dsn = g_strconcat ("DB_DSN=", conninfo, NULL);
  g_autoptr(PGconn) conn = connect_or_die (conninfo);
  g_autoptr(GError) error = NULL;
  g_autofree char *future = g_strdup_printf ("INSERT INTO schema_migrations (version, name, checksum) "
                                             "VALUES (%d, 'from_the_future', 'x')",
                                             wb_migrations_latest_version () + 1);
  g_autofree char *expected = g_strdup_printf ("the database schema is at version %d, newer than this binary's %d",
                                               wb_migrations_latest_version () + 1, wb_migrations_latest_version ());
  /* The refusal is logged as critical, which the test environment's
   * G_DEBUG=fatal-criticals would turn into an abort. */
  const char *env[] = { dsn, "G_DEBUG=gc-friendly", NULL };
  g_auto(GStrv) lines = NULL;
  WbTestDaemon *d;
  guint mentions = 0;
  int status;

  g_assert_true (wb_migrations_apply (conn, NULL, &error));
  g_assert_no_error (error);
  sql_exec (conn, future);

  d = wb_test_daemon_spawn (env, NULL);
  status = wb_test_daemon_wait_for (d, 30000);
  g_assert_cmpint (status, ==, 1);
  lines = g_strsplit (d->log->str, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    if (strstr (lines[i], "newer than this binary"))
      {
        mentions++;
        g_assert_nonnull (strstr (lines[i], expected));
      }
  if (mentions != 1)
    g_error ("wanted one line naming the newer schema; log:\n%s", d->log->str);
  wb_test_daemon_free (d);
}

/* ---- waybilld token ----------------------------------------------------------- */

typedef struct
{
  int   status;
  char *out;
  char *err;
} Run;

static Run
run_waybilld (const char * const *argv_tail)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                                                       | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  Run run = { 0 };

  g_subprocess_launcher_setenv (launcher, "AUTH_HS256SECRET", SECRET, TRUE);
  g_ptr_array_add (argv, (gpointer) g_getenv ("WAYBILLD"));
  for (guint i = 0; argv_tail[i]; i++)
    g_ptr_array_add (argv, (gpointer) argv_tail[i]);
  g_ptr_array_add (argv, NULL);
  process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate_utf8 (process, NULL, NULL, &run.out, &run.err, &error));
  g_assert_no_error (error);
  run.status = g_subprocess_get_exit_status (process);
  return run;
}

/* A TTL or role out of range: one line naming the option, status 2, no
 * token and no GLib warning; the limits themselves are accepted. */
static void
test_token_rejects_bad_ttl_and_role (void)
{
  const struct { const char *role; const char *ttl; const char *expect; } bad[] = {
    { "dispatcher", "9007199000000000", "--ttl" },
    { "dispatcher", "9223372036854775807", "--ttl" },
    { "dispatcher", "3651d", "--ttl" },
    { "dispatcher", "0", "--ttl" },
    { "dispatcher", "500ms", "--ttl" },
    { "dispatcher", "-5m", "--ttl" },
    { "dispatcher", "", "--ttl" },
    { "root", "8h", "--role" },
    { "Admin", "8h", "--role" },
    { "", "8h", "--role" },
  };
  const struct { const char *ttl; } good[] = { { "1s" }, { "3650d" }, { "8h" } };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      const char *argv[] = { "token", "--role", bad[i].role, "--ttl", bad[i].ttl, NULL };
      Run run = run_waybilld (argv);
      g_auto(GStrv) lines = g_strsplit (g_strchomp (run.err), "\n", -1);

      if (run.status != 2 || g_strv_length (lines) != 1 || !strstr (lines[0], bad[i].expect)
          || !g_str_has_prefix (lines[0], "waybilld token: ") || *run.out != '\0')
        g_error ("token --role “%s” --ttl “%s”: status %d, stdout “%s”, stderr “%s”",
                 bad[i].role, bad[i].ttl, run.status, run.out, run.err);
      g_free (run.out);
      g_free (run.err);
    }
  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      const char *argv[] = { "token", "--role", "viewer", "--ttl", good[i].ttl, NULL };
      Run run = run_waybilld (argv);

      g_assert_cmpint (run.status, ==, 0);
      g_assert_cmpstr (run.err, ==, "");
      g_assert_cmpuint (strlen (run.out), >, 40);
      g_free (run.out);
      g_free (run.err);
    }
}

/* ---- Kafka, end to end with an outside client -------------------------------- */

#if WB_HAVE_KAFKA
static char *
kcat (const char         *input,
      const char * const *argv)
{
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;

  process = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                     | G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, input, NULL, &out, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_successful (process));
  return g_steal_pointer (&out);
}

static char *
bootstrap_of (WbTestDaemon *d)
{
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  g_autoptr(GRegex) regex = g_regex_new ("cluster .* at (127\\.0\\.0\\.1:[0-9]+)", 0, 0, NULL);

  for (;;)
    {
      g_autoptr(GMatchInfo) match = NULL;
      g_autofree char *log = NULL;

      g_mutex_lock (&d->mutex);
      log = g_strdup (d->log->str);
      g_mutex_unlock (&d->mutex);
      if (g_regex_match (regex, log, 0, &match))
        return g_match_info_fetch (match, 1);
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (50 * 1000);
    }
}

/* waybilld --kafka-dev, spoken to by kcat (Debian's, a client we did not
 * write): a TICKET_CREATED makes a shipment, a carrier response moves it,
 * the change comes out on tracking.events, and a message that is not JSON
 * lands on its .dlq with the reason. */
static void
test_kafka_dev_with_kcat (void)
{
  g_autofree char *dsn = fresh_dsn_env ("kafka");
  const char *env[] = { dsn, NULL };
  const char *args[] = { "--kafka-dev", NULL };
  g_autofree char *kcat_path = g_find_program_in_path ("kcat");
  g_autofree char *bootstrap = NULL;
  g_autofree char *body = NULL;
  g_autofree char *events = NULL;
  g_autofree char *letters = NULL;
  gint64 deadline;
  WbTestDaemon *d;

  if (kcat_path == NULL)
    {
      g_test_skip ("kcat is not installed (apt-get install kcat)");
      return;
    }
  d = wb_test_daemon_spawn (env, args);
  bootstrap = bootstrap_of (d);
  wait_ready (d, 200, 60);

  {
    const char *ticket[] = { kcat_path, "-b", bootstrap, "-P", "-t", "TICKET_CREATED", "-k", "T-77", NULL };
    const char *response[] = { kcat_path, "-b", bootstrap, "-P", "-t", "external.dhl.responses",
                               "-k", "JD77", NULL };
    const char *poison[] = { kcat_path, "-b", bootstrap, "-P", "-t", "TRACKING_EVENT", "-k", "x", NULL };

    g_free (kcat ("{\"ticket_id\":\"T-77\",\"client_id\":\"kcat\",\"carrier\":\"dhl\","
                  "\"track_number\":\"JD77\",\"service_level\":\"standard\",\"recipient\":{\"name\":\"Ivan\"},"
                  "\"destination\":{\"country\":\"BY\",\"city\":\"Minsk\",\"line1\":\"Nezavisimosti 1\"},"
                  "\"created_at\":\"2026-11-21T07:00:00Z\"}\n", ticket));
    g_free (kcat ("not json\n", poison));
    /* The response waits for the ticket's shipment: a response for an
     * unknown tracking would be dead-lettered. */
    deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
    do
      {
        if (g_get_monotonic_time () > deadline)
          g_error ("no shipment from TICKET_CREATED: %s; log:\n%s", body, d->log->str);
        g_clear_pointer (&body, g_free);
        g_usleep (100 * 1000);
        http_get (d, "/shipments/search?clientId=kcat", NULL, &body);
      }
    while (body == NULL || strstr (body, "JD77") == NULL);
    g_free (kcat ("{\"shipments\":[{\"id\":\"JD77\",\"events\":[{\"timestamp\":\"2026-11-21T06:00:00Z\","
                  "\"statusCode\":\"transit\",\"status\":\"Arrived at Sort Facility\"}]}]}\n", response));
  }

  deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  do
    {
      g_clear_pointer (&body, g_free);
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (100 * 1000);
      http_get (d, "/shipments/search?clientId=kcat", NULL, &body);
    }
  while (strstr (body, "\"IN_TRANSIT\"") == NULL);

  {
    const char *consume[] = { kcat_path, "-b", bootstrap, "-C", "-t", "tracking.events", "-e", "-q", NULL };
    const char *dlq[] = { kcat_path, "-b", bootstrap, "-C", "-t", "TRACKING_EVENT.dlq", "-e", "-q",
                          "-f", "%h %s\n", NULL };

    events = kcat (NULL, consume);
    g_assert_nonnull (strstr (events, "\"status\": \"IN_TRANSIT\""));
    letters = kcat (NULL, dlq);
    g_assert_nonnull (strstr (letters, "x-source-topic=TRACKING_EVENT"));
    g_assert_nonnull (strstr (letters, "not json"));
  }

  g_assert_cmpint (wb_test_daemon_terminate (d), ==, 0);
  wb_test_daemon_free (d);
}

/* @method @path with @token and, when given, a JSON @json and an
 * Idempotency-Key; the status, and the body in @out_body. */
static guint
http_send (WbTestDaemon  *d,
           const char    *method,
           const char    *path,
           const char    *token,
           const char    *json,
           const char    *idempotency_key,
           char         **out_body)
{
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u%s", wb_test_daemon_port (d), path);
  g_autofree char *auth = g_strdup_printf ("Bearer %s", token);
  g_autoptr(SoupMessage) message = soup_message_new (method, uri);
  SoupMessageHeaders *headers = soup_message_get_request_headers (message);
  g_autoptr(GBytes) body = NULL;

  soup_message_headers_replace (headers, "Authorization", auth);
  if (idempotency_key != NULL)
    soup_message_headers_replace (headers, "Idempotency-Key", idempotency_key);
  if (json != NULL)
    {
      g_autoptr(GBytes) request_body = g_bytes_new (json, strlen (json));

      soup_message_set_request_body_from_bytes (message, "application/json", request_body);
    }
  body = soup_session_send_and_read (session, message, NULL, NULL);
  *out_body = body ? g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body)) : NULL;
  return soup_message_get_status (message);
}

/* The string member @name of the JSON object @text. */
static char *
json_member (const char *text,
             const char *name)
{
  g_autoptr(JsonParser) parser = json_parser_new ();

  g_assert_true (json_parser_load_from_data (parser, text, -1, NULL));
  return g_strdup (json_object_get_string_member (json_node_get_object (json_parser_get_root (parser)), name));
}

/* A reassignment on waybilld --kafka-dev, seen from kcat: a trip made
 * over REST; a viewer may not reassign it (403); a dispatcher's command is
 * accepted pending (202), goes through commands.trip.reassign to the
 * dispatch role, is applied, and trip.reassigned, keyed by the trip,
 * carries its id out to kcat. */
static void
test_kafka_dev_reassign_with_kcat (void)
{
  g_autofree char *conninfo = wb_test_pg_create_database ("kafka_reassign");
  g_autofree char *dsn = g_strconcat ("DB_DSN=", conninfo, NULL);
  const char *env[] = { dsn, "AUTH_HS256SECRET=" SECRET, NULL };
  const char *args[] = { "--kafka-dev", "--listen-address=127.0.0.1", NULL };
  g_autofree char *kcat_path = g_find_program_in_path ("kcat");
  g_autofree char *viewer = NULL, *dispatcher = NULL, *bootstrap = NULL, *body = NULL, *trip = NULL;
  g_autofree char *path = NULL, *status = NULL, *messages = NULL, *expected = NULL;
  g_autoptr(GError) error = NULL;
  PGconn *conn;
  gint64 deadline;
  WbTestDaemon *d;

  if (kcat_path == NULL)
    {
      g_test_skip ("kcat is not installed (apt-get install kcat)");
      return;
    }
  viewer = run_token_command ("viewer");
  dispatcher = run_token_command ("dispatcher");
  d = wb_test_daemon_spawn (env, args);
  bootstrap = bootstrap_of (d);
  wait_ready (d, 200, 60);
  conn = wb_db_connect (conninfo, &error);
  g_assert_no_error (error);
  wb_test_pg_run (conn, "INSERT INTO companies (id, name, version) VALUES ('acme', 'Acme', 1)");
  wb_test_pg_run (conn, "INSERT INTO vehicles (id, plate, company_id, version) VALUES ('v1', 'V-1', 'acme', 1),"
                        " ('v2', 'V-2', 'acme', 1)");
  wb_test_pg_run (conn, "INSERT INTO drivers (id, name, company_id, version) VALUES ('d1', 'D 1', 'acme', 1)");
  PQfinish (conn);

  g_assert_cmpuint (http_send (d, "POST", "/trips", dispatcher,
                               "{\"companyId\":\"acme\",\"vehicleId\":\"v1\",\"driverId\":\"d1\","
                               "\"plannedStart\":\"2026-12-08T08:00:00Z\","
                               "\"stops\":[{\"address\":\"Nezavisimosti 1\",\"lat\":53.91,\"lon\":27.57}]}",
                               NULL, &body), ==, 201);
  trip = json_member (body, "id");
  path = g_strdup_printf ("/trips/%s/reassign", trip);
  g_clear_pointer (&body, g_free);
  g_assert_cmpuint (http_send (d, "POST", path, viewer, "{\"vehicleId\":\"v2\",\"reason\":\"breakdown\"}",
                               "kcat-cmd-1", &body), ==, 403);
  g_clear_pointer (&body, g_free);
  g_assert_cmpuint (http_send (d, "POST", path, dispatcher, "{\"vehicleId\":\"v2\",\"reason\":\"breakdown\"}",
                               "kcat-cmd-1", &body), ==, 202);
  status = json_member (body, "status");
  g_assert_cmpstr (status, ==, "pending");

  deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (g_strcmp0 (status, "applied") != 0)
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("the command stayed %s; log:\n%s", status, d->log->str);
      g_usleep (100 * 1000);
      g_clear_pointer (&body, g_free);
      g_clear_pointer (&status, g_free);
      g_assert_cmpuint (http_send (d, "GET", "/commands/kcat-cmd-1", viewer, NULL, NULL, &body), ==, 200);
      status = json_member (body, "status");
    }

  {
    const char *consume[] = { kcat_path, "-b", bootstrap, "-C", "-t", "trip.reassigned", "-e", "-q",
                              "-f", "%k %s\n", NULL };

    messages = kcat (NULL, consume);
  }
  expected = g_strdup_printf ("%s {", trip);
  g_assert_true (g_str_has_prefix (messages, expected));
  g_assert_nonnull (strstr (messages, "\"command_id\": \"kcat-cmd-1\""));
  g_assert_nonnull (strstr (messages, "\"vehicle_id\": \"v2\""));
  /* Applied once: one message. */
  g_assert_cmpstr (strchr (messages, '\n'), ==, messages + strlen (messages) - 1);

  g_assert_cmpint (wb_test_daemon_terminate (d), ==, 0);
  wb_test_daemon_free (d);
}
#endif

/* ---- roles ---------------------------------------------------------------------- */

static guint
http_post_json (WbTestDaemon  *d,
                const char    *path,
                const char    *json,
                char         **out_body)
{
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u%s", wb_test_daemon_port (d), path);
  g_autoptr(SoupMessage) message = soup_message_new ("POST", uri);
  g_autoptr(GBytes) request_body = g_bytes_new (json, strlen (json));
  g_autoptr(GBytes) body = NULL;

  soup_message_set_request_body_from_bytes (message, "application/json", request_body);
  body = soup_session_send_and_read (session, message, NULL, NULL);
  if (out_body)
    *out_body = body ? g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body)) : NULL;
  return soup_message_get_status (message);
}

#if !WB_HAVE_KAFKA
/* Built without Kafka (-Dkafka=disabled): asking for it, by --kafka-dev
 * or by brokers, stops the start with an error that says so. */
static void
test_without_kafka_refused (void)
{
  g_autofree char *dsn = fresh_dsn_env ("nokafka");
  const char *env[] = { dsn, NULL };
  const char *brokers_env[] = { dsn, "KAFKA_BROKERS=127.0.0.1:9", NULL };
  const char *args[] = { "--kafka-dev", NULL };
  WbTestDaemon *d = wb_test_daemon_spawn (env, args);

  g_assert_cmpint (wb_test_daemon_wait (d), !=, 0);
  g_assert_nonnull (strstr (d->log->str, "--kafka-dev: this waybilld was built without Kafka (-Dkafka=disabled)"));
  wb_test_daemon_free (d);

  d = wb_test_daemon_spawn (brokers_env, NULL);
  g_assert_cmpint (wb_test_daemon_wait (d), !=, 0);
  g_assert_nonnull (strstr (d->log->str, "kafka.brokers: this waybilld was built without Kafka (-Dkafka=disabled)"));
  wb_test_daemon_free (d);
}
#endif

/* Exit status 2 and one line on stderr, before anything starts. */
static char *
refused_line (const char *roles_arg)
{
  const char *args[] = { roles_arg, NULL };
  WbTestDaemon *d = wb_test_daemon_spawn (NULL, args);
  g_auto(GStrv) lines = NULL;
  char *line;

  g_assert_cmpint (wb_test_daemon_wait (d), ==, 2);
  lines = g_strsplit (g_strchomp (d->log->str), "\n", -1);
  if (g_strv_length (lines) != 1)
    g_error ("%s: expected one line, got:\n%s", roles_arg, d->log->str);
  line = g_strdup (lines[0]);
  wb_test_daemon_free (d);
  return line;
}

static void
test_roles_unknown_refused (void)
{
  g_autofree char *line = refused_line ("--roles=ingest,bogus");

  g_assert_true (g_str_has_prefix (line, "waybilld: "));
  g_assert_nonnull (strstr (line, "bogus"));
}

/* /readyz lists exactly the running roles, each ready. */
static void
assert_ready_roles (WbTestDaemon       *d,
                    const char * const *expected)
{
  g_autofree char *body = NULL;
  g_autoptr(JsonNode) json = NULL;
  JsonObject *roles;

  g_assert_cmpuint (http_get (d, "/readyz", NULL, &body), ==, 200);
  json = json_from_string (body, NULL);
  g_assert_nonnull (json);
  roles = json_object_get_object_member (json_object_get_object_member (json_node_get_object (json), "checks"),
                                         "roles");
  g_assert_nonnull (roles);
  g_assert_cmpuint (json_object_get_size (roles), ==, g_strv_length ((char **) expected));
  for (guint i = 0; expected[i] != NULL; i++)
    g_assert_cmpstr (json_object_get_string_member_with_default (roles, expected[i], "absent"), ==, "ready");
}

static char *
position_json (const char *device_id)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *timestamp = g_date_time_format (now, "%Y-%m-%dT%H:%M:%S.%fZ");

  return g_strdup_printf ("{\"deviceId\":\"%s\",\"timestamp\":\"%s\",\"lat\":53.9,\"lon\":27.57}",
                          device_id, timestamp);
}

/* The routes that answer whatever the roles. */
static void
assert_operations_routes (WbTestDaemon *d)
{
  g_assert_cmpuint (http_get (d, "/healthz", NULL, NULL), ==, 200);
  g_assert_cmpuint (http_get (d, "/metrics", NULL, NULL), ==, 200);
  g_assert_cmpuint (http_get (d, "/openapi.json", NULL, NULL), ==, 200);
}

static void
test_roles_ingest_only (void)
{
  g_autofree char *conninfo = wb_test_pg_create_database ("roles_ingest");
  g_autofree char *dsn = g_strconcat ("DB_DSN=", conninfo, NULL);
  g_autoptr(PGconn) conn = connect_or_die (conninfo);
  g_autoptr(GError) error = NULL;
  g_autofree char *position = position_json ("dev-i");
  g_autofree char *body = NULL;
  const char *env[] = { dsn, NULL };
  const char *args[] = { "--roles=ingest", NULL };
  const char *running[] = { "ingest", NULL };
  WbTestDaemon *d;

  g_assert_true (wb_migrations_apply (conn, NULL, &error));
  g_assert_no_error (error);
  sql_exec (conn, "INSERT INTO vehicles (id, plate, version) VALUES ('veh-i', 'I-1', 1)");
  sql_exec (conn, "INSERT INTO devices (device_id, vehicle_id, version) VALUES ('dev-i', 'veh-i', 1)");
  d = wb_test_daemon_spawn (env, args);
  wait_ready (d, 200, 60);

  g_assert_cmpuint (http_post_json (d, "/telemetry", position, &body), ==, 200);
  g_assert_nonnull (strstr (body, "\"accepted\":1"));
  g_assert_cmpuint (http_post_json (d, "/shipments", "{}", NULL), ==, 404);
  g_assert_cmpuint (http_get (d, "/shipments/search?clientId=acme", NULL, NULL), ==, 404);
  g_assert_cmpuint (http_get (d, "/vehicles", NULL, NULL), ==, 404);
  assert_operations_routes (d);
  assert_ready_roles (d, running);

  g_assert_cmpint (wb_test_daemon_terminate (d), ==, 0);
  wb_test_daemon_free (d);
}

static void
test_roles_api_only (void)
{
  g_autofree char *dsn = fresh_dsn_env ("roles_api");
  g_autofree char *position = position_json ("dev-a");
  const char *env[] = { dsn, NULL };
  const char *args[] = { "--roles=api", NULL };
  const char *running[] = { "api", NULL };
  WbTestDaemon *d = wb_test_daemon_spawn (env, args);

  wait_ready (d, 200, 60);
  g_assert_cmpuint (http_post_json (d, "/telemetry", position, NULL), ==, 404);
  g_assert_cmpuint (http_get (d, "/vehicles", NULL, NULL), ==, 200);
  g_assert_cmpuint (http_get (d, "/shipments/search?clientId=acme", NULL, NULL), ==, 200);
  assert_operations_routes (d);
  assert_ready_roles (d, running);

  g_assert_cmpint (wb_test_daemon_terminate (d), ==, 0);
  wb_test_daemon_free (d);
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  session = soup_session_new_with_options ("timeout", 10, NULL);

  g_test_add_func ("/daemon/config-errors-exit-2", test_config_errors_exit_2);
  g_test_add_func ("/daemon/serves-health-ready-metrics", test_serves_health_ready_metrics);
  g_test_add_func ("/daemon/auth-with-secret", test_auth_with_secret);
  g_test_add_func ("/daemon/roles/unknown-refused", test_roles_unknown_refused);
  g_test_add_func ("/daemon/roles/ingest-only", test_roles_ingest_only);
  g_test_add_func ("/daemon/roles/api-only", test_roles_api_only);
  g_test_add_func ("/daemon/two-daemons-migrate-at-once", test_two_daemons_migrate_at_once);
  g_test_add_func ("/daemon/database-restart", test_database_restart);
  g_test_add_func ("/daemon/json-logs", test_json_logs);
  g_test_add_func ("/daemon/second-signal-exits-at-once", test_second_signal_exits_at_once);
  g_test_add_func ("/daemon/embedded-cluster", test_embedded_cluster);
  g_test_add_func ("/daemon/refuses-newer-schema", test_refuses_newer_schema);
  g_test_add_func ("/daemon/shutdown/graceful", test_graceful_shutdown);
  g_test_add_func ("/daemon/shutdown/flushes-bus", test_shutdown_flushes_bus);
  g_test_add_func ("/daemon/shutdown/while-waiting-for-migration-lock", test_shutdown_while_waiting_for_lock);
  g_test_add_func ("/daemon/shutdown/second-signal-while-waiting-for-migration-lock",
                   test_second_signal_while_waiting_for_lock);
  g_test_add_func ("/daemon/token/rejects-bad-ttl-and-role", test_token_rejects_bad_ttl_and_role);
#if WB_HAVE_KAFKA
  g_test_add_func ("/daemon/kafka-dev-with-kcat", test_kafka_dev_with_kcat);
  g_test_add_func ("/daemon/kafka-dev-reassign-with-kcat", test_kafka_dev_reassign_with_kcat);
#else
  g_test_add_func ("/daemon/without-kafka-refused", test_without_kafka_refused);
#endif

  status = g_test_run ();
  g_object_unref (session);
  return status;
}
