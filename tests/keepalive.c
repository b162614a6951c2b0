// SPDX-License-Identifier: GPL-3.0-or-later
/* The built waybilld keeps HTTP connections alive and leaves no socket in
 * CLOSE-WAIT behind clients that hang up between requests (libsoup 3.2
 * alone would keep every one of them for the life of the process). The
 * clients are raw sockets on loopback; the daemon's sockets are read from
 * /proc/<pid>/net/tcp. */

#include "config.h"

#include <string.h>
#include <sys/socket.h>

#include "wb-test-daemon.h"
#include "wb-test-pg.h"

#define CLIENTS 50
#define HANG_UP_THREADS 4
#define HANG_UP_ROUNDS 1500

static GSocketConnection *
connect_to (WbTestDaemon *d)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GError) error = NULL;
  GSocketConnection *connection;

  connection = g_socket_client_connect_to_host (client, "127.0.0.1", wb_test_daemon_port (d), NULL, &error);
  g_assert_no_error (error);
  return connection;
}

/* One request and its whole answer (headers and a Content-Length body);
 * the connection stays open. NULL when the server closed it. */
static char *
exchange (GSocketConnection *connection,
          const char        *path)
{
  g_autofree char *text = g_strdup_printf ("GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  GString *answer = g_string_new (NULL);
  char buffer[4096];
  gssize n;

  if (!g_output_stream_write_all (out, text, strlen (text), NULL, NULL, NULL))
    return g_string_free (answer, TRUE);
  while ((n = g_input_stream_read (in, buffer, sizeof buffer, NULL, NULL)) > 0)
    {
      const char *end, *length;

      g_string_append_len (answer, buffer, n);
      end = strstr (answer->str, "\r\n\r\n");
      length = end ? g_strstr_len (answer->str, end - answer->str, "Content-Length: ") : NULL;
      if (length != NULL
          && answer->len >= (gsize) (end + 4 - answer->str) + g_ascii_strtoull (length + 16, NULL, 10))
        return g_string_free (answer, FALSE);
    }
  return g_string_free (answer, answer->len == 0);
}

/* The daemon's sockets on its HTTP port in TCP state CLOSE-WAIT (08). */
static guint
count_close_wait (WbTestDaemon *d)
{
  const char *tables[] = { "tcp", "tcp6" };
  const char *pid = g_subprocess_get_identifier (d->process);
  guint count = 0;

  g_assert_nonnull (pid);
  for (guint t = 0; t < G_N_ELEMENTS (tables); t++)
    {
      g_autofree char *path = g_strdup_printf ("/proc/%s/net/%s", pid, tables[t]);
      g_autofree char *contents = NULL;
      g_auto(GStrv) lines = NULL;

      if (!g_file_get_contents (path, &contents, NULL, NULL))
        continue;
      lines = g_strsplit (contents, "\n", -1);
      for (guint i = 1; lines[i] != NULL; i++)
        {
          g_auto(GStrv) fields = g_strsplit_set (g_strstrip (lines[i]), " ", -1);
          const char *columns[4] = { NULL };
          guint n = 0;
          const char *colon;

          for (guint f = 0; fields[f] != NULL && n < G_N_ELEMENTS (columns); f++)
            if (*fields[f] != '\0')
              columns[n++] = fields[f];
          if (n < 4 || (colon = strrchr (columns[1], ':')) == NULL)
            continue;
          if (g_ascii_strtoull (colon + 1, NULL, 16) == wb_test_daemon_port (d) && g_str_equal (columns[3], "08"))
            count++;
        }
    }
  return count;
}

static void
wait_alive (WbTestDaemon *d)
{
  for (guint attempt = 0; attempt < 600; attempt++)
    {
      g_autoptr(GSocketConnection) connection = connect_to (d);
      g_autofree char *answer = exchange (connection, "/healthz");

      if (answer != NULL && g_str_has_prefix (answer, "HTTP/1.1 200"))
        return;
      g_usleep (100 * 1000);
    }
  g_error ("waybilld never answered /healthz; log:\n%s", d->log->str);
}

static void
test_keepalive_without_close_wait (void)
{
  g_autofree char *conninfo = wb_test_pg_create_database ("keepalive");
  g_autofree char *dsn = g_strconcat ("DB_DSN=", conninfo, NULL);
  const char *env[] = { dsn, NULL };
  WbTestDaemon *d = wb_test_daemon_spawn (env, NULL);
  g_autoptr(GPtrArray) clients = g_ptr_array_new_with_free_func (g_object_unref);
  guint left = G_MAXUINT;

  wait_alive (d);

  /* Two requests per client, each pair over one TCP connection. */
  for (guint i = 0; i < CLIENTS; i++)
    {
      GSocketConnection *connection = connect_to (d);

      for (guint r = 0; r < 2; r++)
        {
          g_autofree char *answer = exchange (connection, "/healthz");

          g_assert_nonnull (answer);
          g_assert_true (g_str_has_prefix (answer, "HTTP/1.1 200"));
          g_assert_null (strstr (answer, "Connection: close"));
        }
      g_ptr_array_add (clients, connection);
    }

  g_ptr_array_set_size (clients, 0);   /* every client hangs up */
  for (guint attempt = 0; attempt < 300 && left != 0; attempt++)
    {
      g_usleep (10 * 1000);
      left = count_close_wait (d);
    }
  g_test_message ("%u kept-alive clients gone: %u sockets in CLOSE-WAIT", CLIENTS, left);
  g_assert_cmpuint (left, ==, 0);

  g_assert_cmpint (wb_test_daemon_terminate (d), ==, 0);
  wb_test_daemon_free (d);
}

typedef struct
{
  WbTestDaemon *daemon;
  guint         index;
  guint         answered;
  gint         *running;   /* the hang-up clients still at work */
} HangUpClient;

/* Keeps the server's main loop busy, so that its reads and polls
 * interleave with the clients' hang-ups in every possible order. */
static gpointer
busy_client (gpointer data)
{
  HangUpClient *client = data;
  g_autoptr(GSocketConnection) connection = connect_to (client->daemon);

  while (g_atomic_int_get (client->running) > 0)
    {
      g_autofree char *answer = exchange (connection, "/metrics");

      g_assert_nonnull (answer);
      client->answered++;
    }
  return NULL;
}

/* Connects, asks once and hangs up the moment the answer is in: with a
 * plain close (FIN), or every third time with a reset (RST). */
static gpointer
hang_up_client (gpointer data)
{
  HangUpClient *client = data;

  for (guint round = 0; round < HANG_UP_ROUNDS; round++)
    {
      g_autoptr(GSocketConnection) connection = connect_to (client->daemon);
      g_autofree char *answer = exchange (connection, "/healthz");
      GSocket *socket = g_socket_connection_get_socket (connection);

      if (answer != NULL && g_str_has_prefix (answer, "HTTP/1.1 200"))
        client->answered++;
      else
        g_test_message ("round %u: %.200s", round, answer ? answer : "(closed)");
      if ((round + client->index) % 3 == 0)
        {
          struct linger reset = { .l_onoff = 1, .l_linger = 0 };

          (void) setsockopt (g_socket_get_fd (socket), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
        }
      (void) g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
    }
  g_atomic_int_dec_and_test (client->running);
  return NULL;
}

/* Clients that hang up right after their answer race the server's wait
 * for their next request: it must neither crash nor keep any of them. */
static void
test_hang_up_after_answer (void)
{
  g_autofree char *conninfo = wb_test_pg_create_database ("keepalive_hangup");
  g_autofree char *dsn = g_strconcat ("DB_DSN=", conninfo, NULL);
  const char *env[] = { dsn, NULL };
  /* Connections the clients have closed count until the server has
   * noticed; on a slow (sanitized) build that may be more than the
   * per-address default. */
  const char *args[] = { "--max-connections-per-peer=4096", "--max-connections=4096", NULL };
  WbTestDaemon *d = wb_test_daemon_spawn (env, args);
  HangUpClient clients[HANG_UP_THREADS] = { { 0 } };
  HangUpClient busy = { .daemon = d };
  GThread *threads[HANG_UP_THREADS];
  GThread *busy_thread;
  gint running = HANG_UP_THREADS;
  guint answered = 0;
  gboolean settled = FALSE;

  wait_alive (d);
  busy.running = &running;
  busy_thread = g_thread_new ("busy", busy_client, &busy);
  for (guint i = 0; i < HANG_UP_THREADS; i++)
    {
      clients[i] = (HangUpClient) { .daemon = d, .index = i, .running = &running };
      threads[i] = g_thread_new ("hang-up", hang_up_client, &clients[i]);
    }
  for (guint i = 0; i < HANG_UP_THREADS; i++)
    {
      g_thread_join (threads[i]);
      answered += clients[i].answered;
    }
  g_thread_join (busy_thread);
  g_test_message ("%u of %u requests answered before the hang-up (and %u /metrics alongside)",
                  answered, HANG_UP_THREADS * HANG_UP_ROUNDS, busy.answered);
  g_assert_cmpuint (answered, ==, HANG_UP_THREADS * HANG_UP_ROUNDS);

  /* Still serving, and holding only the connection that asks. */
  for (guint attempt = 0; attempt < 300 && !settled; attempt++)
    {
      g_autoptr(GSocketConnection) connection = connect_to (d);
      g_autofree char *answer = exchange (connection, "/metrics");

      g_assert_nonnull (answer);
      settled = strstr (answer, "\nwaybill_http_connections_open 1\n") != NULL;
      if (!settled)
        g_usleep (10 * 1000);
    }
  g_assert_true (settled);
  /* The last asking connection is gone too, once the server has seen it. */
  for (guint attempt = 0; attempt < 300 && count_close_wait (d) != 0; attempt++)
    g_usleep (10 * 1000);
  g_assert_cmpuint (count_close_wait (d), ==, 0);
  g_assert_cmpint (wb_test_daemon_terminate (d), ==, 0);
  wb_test_daemon_free (d);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/keepalive/no-close-wait", test_keepalive_without_close_wait);
  g_test_add_func ("/keepalive/hang-up-after-answer", test_hang_up_after_answer);
  return g_test_run ();
}
