// SPDX-License-Identifier: GPL-3.0-or-later

#include "config.h"

#include <libsoup/soup.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "wb-bench.h"
#include "wb-test-pg.h"

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

WbEmbeddedPostgres *
wb_bench_cluster_start (void)
{
  g_autofree char *state = wb_test_pg_make_state_dir ();
  g_autoptr(WbEmbeddedPostgres) cluster = wb_embedded_postgres_new (state);
  g_autoptr(GError) error = NULL;

  if (!wb_embedded_postgres_start (cluster, NULL, &error))
    g_error ("PostgreSQL: %s", error->message);
  return g_steal_pointer (&cluster);
}

double
wb_bench_median (GArray *values)
{
  g_return_val_if_fail (values != NULL && values->len > 0, 0);

  g_array_sort (values, compare_doubles);
  return g_array_index (values, double, values->len / 2);
}

static gpointer
drain_log (gpointer data)
{
  g_autoptr(GDataInputStream) in = data;
  char *line;

  while ((line = g_data_input_stream_read_line_utf8 (in, NULL, NULL, NULL)) != NULL)
    {
      if (strstr (line, "WARNING") || strstr (line, "CRITICAL") || strstr (line, "ERROR"))
        g_printerr ("  waybilld: %s\n", line);
      g_free (line);
    }
  return NULL;
}

WbBenchDaemon *
wb_bench_daemon_start (const char         *conninfo,
                       const char * const *extra_args)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  const char *binary = g_getenv ("WAYBILLD");
  WbBenchDaemon *d = g_new0 (WbBenchDaemon, 1);
  GDataInputStream *in;
  char *line;

  if (binary == NULL)
    g_error ("Set WAYBILLD to the waybilld binary (meson test --benchmark does)");
  g_subprocess_launcher_setenv (launcher, "DB_DSN", conninfo, TRUE);
  g_subprocess_launcher_setenv (launcher, "SERVER_PORT", "0", TRUE);
  g_subprocess_launcher_unsetenv (launcher, "AUTH_HS256SECRET");
  g_ptr_array_add (argv, (gpointer) binary);
  g_ptr_array_add (argv, "--log-level=message");
  g_ptr_array_add (argv, "--osmand-port=0");
  g_ptr_array_add (argv, "--teltonika-port=0");
  for (guint i = 0; extra_args != NULL && extra_args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) extra_args[i]);
  g_ptr_array_add (argv, NULL);
  d->process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  if (d->process == NULL)
    g_error ("Cannot start %s: %s", binary, error->message);

  in = g_data_input_stream_new (g_subprocess_get_stderr_pipe (d->process));
  while (d->port == 0 && (line = g_data_input_stream_read_line_utf8 (in, NULL, NULL, NULL)) != NULL)
    {
      const char *at = strstr (line, "Listening on http://");

      if (at)
        d->port = atoi (strrchr (at, ':') + 1);
      g_free (line);
    }
  if (d->port == 0)
    g_error ("waybilld did not start");
  d->drain = g_thread_new ("waybilld-log", drain_log, in);
  return d;
}

void
wb_bench_daemon_stop (WbBenchDaemon *d)
{
  g_subprocess_send_signal (d->process, SIGTERM);
  g_subprocess_wait (d->process, NULL, NULL);
  g_thread_join (d->drain);
  g_object_unref (d->process);
  g_free (d);
}

void
wb_bench_wait_ready (guint port)
{
  g_autoptr(SoupSession) session = soup_session_new_with_options ("timeout", 10, NULL);
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u/readyz", port);

  for (int i = 0; i < 600; i++)
    {
      g_autoptr(SoupMessage) message = soup_message_new ("GET", uri);
      g_autoptr(GBytes) body = soup_session_send_and_read (session, message, NULL, NULL);

      if (soup_message_get_status (message) == SOUP_STATUS_OK)
        return;
      g_usleep (50 * 1000);
    }
  g_error ("waybilld never became ready");
}
