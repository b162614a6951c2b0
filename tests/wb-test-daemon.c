// SPDX-License-Identifier: GPL-3.0-or-later

#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "wb-test-daemon.h"

static gpointer
read_log (gpointer data)
{
  WbTestDaemon *d = data;
  g_autoptr(GDataInputStream) in = g_data_input_stream_new (g_subprocess_get_stderr_pipe (d->process));
  char *line;

  while ((line = g_data_input_stream_read_line_utf8 (in, NULL, NULL, NULL)) != NULL)
    {
      const char *listening = strstr (line, "Listening on http://");

      g_mutex_lock (&d->mutex);
      g_string_append_printf (d->log, "%s\n", line);
      if (listening)
        d->port = atoi (strrchr (listening, ':') + 1);
      g_cond_broadcast (&d->cond);
      g_mutex_unlock (&d->mutex);
      if (g_test_verbose ())
        g_printerr ("  | %s\n", line);
      g_free (line);
    }
  g_mutex_lock (&d->mutex);
  d->eof = TRUE;
  g_cond_broadcast (&d->cond);
  g_mutex_unlock (&d->mutex);
  return NULL;
}

/* A test that fails an assertion aborts without freeing its daemons: the
 * kernel ends them with it (in the child, between fork and exec). */
static void
die_with_parent (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

/* env: NULL-terminated "NAME=value" pairs added to a clean environment. */
WbTestDaemon *
wb_test_daemon_spawn (const char * const *env,
              const char * const *args)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_PIPE
                                                                       | G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  WbTestDaemon *d = g_new0 (WbTestDaemon, 1);

  g_subprocess_launcher_unsetenv (launcher, "DB_DSN");
  g_subprocess_launcher_unsetenv (launcher, "AUTH_HS256SECRET");
  g_subprocess_launcher_unsetenv (launcher, "KAFKA_BROKERS");
  g_subprocess_launcher_unsetenv (launcher, "REDPANDA_BROKERS");
  g_subprocess_launcher_setenv (launcher, "SERVER_PORT", "0", TRUE);
  for (guint i = 0; env && env[i]; i++)
    {
      g_auto(GStrv) kv = g_strsplit (env[i], "=", 2);
      g_subprocess_launcher_setenv (launcher, kv[0], kv[1], TRUE);
    }

  g_ptr_array_add (argv, (gpointer) g_getenv ("WAYBILLD"));
  /* Fixed device ports would collide between daemons of parallel tests:
   * off unless a test asks for them (a later --osmand-port wins). */
  g_ptr_array_add (argv, (gpointer) "--osmand-port=0");
  g_ptr_array_add (argv, (gpointer) "--teltonika-port=0");
  for (guint i = 0; args && args[i]; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);

  g_mutex_init (&d->mutex);
  g_cond_init (&d->cond);
  d->log = g_string_new (NULL);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  d->process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  d->reader = g_thread_new ("daemon-log", read_log, d);
  return d;
}

int
wb_test_daemon_wait (WbTestDaemon *d)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (g_subprocess_wait (d->process, NULL, &error));
  g_assert_no_error (error);
  g_thread_join (g_steal_pointer (&d->reader));
  return g_subprocess_get_if_exited (d->process) ? g_subprocess_get_exit_status (d->process) : -1;
}

static void
on_waited (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  gboolean *done = data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *done = TRUE;
}

static gboolean
set_flag (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

int
wb_test_daemon_wait_for (WbTestDaemon *d,
                         guint         timeout_ms)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  gboolean done = FALSE;
  gboolean timed_out = FALSE;
  guint timer = g_timeout_add (timeout_ms, set_flag, &timed_out);

  g_subprocess_wait_async (d->process, cancellable, on_waited, &done);
  while (!done && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (timer);
  if (done)
    return wb_test_daemon_wait (d);

  g_cancellable_cancel (cancellable);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
  return WB_TEST_DAEMON_STILL_RUNNING;
}

void
wb_test_daemon_wait_log (WbTestDaemon *d,
                         const char   *text)
{
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  g_mutex_lock (&d->mutex);
  while (strstr (d->log->str, text) == NULL && !d->eof)
    if (!g_cond_wait_until (&d->cond, &d->mutex, deadline))
      break;
  g_mutex_unlock (&d->mutex);
  if (!wb_test_daemon_log_contains (d, text))
    g_error ("waybilld never logged “%s”; its log:\n%s", text, d->log->str);
}

void
wb_test_daemon_free (WbTestDaemon *d)
{
  if (d->reader)
    {
      g_subprocess_send_signal (d->process, SIGKILL);
      wb_test_daemon_wait (d);
    }
  g_object_unref (d->process);
  g_string_free (d->log, TRUE);
  g_mutex_clear (&d->mutex);
  g_cond_clear (&d->cond);
  g_free (d);
}

gboolean
wb_test_daemon_log_contains (WbTestDaemon *d,
                     const char *text)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&d->mutex);

  return strstr (d->log->str, text) != NULL;
}

guint
wb_test_daemon_port (WbTestDaemon *d)
{
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  g_mutex_lock (&d->mutex);
  while (d->port == 0 && !d->eof)
    if (!g_cond_wait_until (&d->cond, &d->mutex, deadline))
      break;
  g_mutex_unlock (&d->mutex);
  if (d->port == 0)
    g_error ("waybilld did not start listening; its log:\n%s", d->log->str);
  return d->port;
}

int
wb_test_daemon_terminate (WbTestDaemon *d)
{
  g_subprocess_send_signal (d->process, SIGTERM);
  return wb_test_daemon_wait (d);
}
