// SPDX-License-Identifier: GPL-3.0-or-later
/* Startup benchmark: how long waybilld takes, from exec to the first 200 on
 * /readyz, on its embedded PostgreSQL (no DB_DSN). Prints, as medians:
 *
 *   - cold start: a fresh state directory, so initdb, the server's start,
 *     CREATE DATABASE, every migration, then the reference data;
 *   - warm start: the same state directory again (the cluster and schema
 *     are kept, so a server start and a check that nothing needs migrating);
 *
 * next to Debian's own programs doing the bare minimum in the same run, as
 * an operator would: initdb + `pg_ctl start -w` of a bare cluster (cold) and
 * `pg_ctl start -w` of it alone (warm), with the same initdb options and
 * server settings as the daemon's cluster. The ratios say what Waybill adds
 * to the PostgreSQL start it cannot avoid. */

#include "config.h"

#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <pwd.h>
#include <unistd.h>

#include "wb-bench.h"
#include "wb-test-pg.h"

static int runs = 5;

static GOptionEntry entries[] = {
  { "runs", 0, 0, G_OPTION_ARG_INT, &runs, "Runs per figure (median reported)", "N" },
  { NULL }
};

static SoupSession *session;

/* ---- the baseline: Debian's initdb and pg_ctl ---------------------------- */

typedef struct
{
  gboolean switch_user;   /* root: the server programs refuse to run as root */
  uid_t    uid;
  gid_t    gid;
} RunAs;

static RunAs run_as;

static void
become_postgres (gpointer data)
{
  if (setgid (run_as.gid) != 0 || setuid (run_as.uid) != 0)
    _exit (127);
}

static char *
find_bindir (void)
{
  const char *from_env = g_getenv ("WB_PG_BINDIR");
  g_autoptr(GDir) dir = NULL;
  g_autofree char *best = NULL;
  double best_version = -1;
  const char *name;

  if (from_env != NULL && *from_env != '\0')
    return g_strdup (from_env);
  dir = g_dir_open ("/usr/lib/postgresql", 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *bindir = g_build_filename ("/usr/lib/postgresql", name, "bin", NULL);
      g_autofree char *initdb = g_build_filename (bindir, "initdb", NULL);

      if (g_ascii_strtod (name, NULL) > best_version && g_file_test (initdb, G_FILE_TEST_IS_EXECUTABLE))
        {
          best_version = g_ascii_strtod (name, NULL);
          g_free (best);
          best = g_steal_pointer (&bindir);
        }
    }
  if (best == NULL)
    g_error ("No PostgreSQL server programs under /usr/lib/postgresql (apt-get install postgresql) "
             "and no WB_PG_BINDIR");
  return g_steal_pointer (&best);
}

static void
run_tool (const char         *bindir,
          const char         *tool,
          const char * const *args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_autofree char *errors = NULL;
  int status;

  g_ptr_array_add (argv, g_build_filename (bindir, tool, NULL));
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, g_strdup (args[i]));
  g_ptr_array_add (argv, NULL);
  if (!g_spawn_sync ("/", (char **) argv->pdata, NULL, G_SPAWN_STDOUT_TO_DEV_NULL,
                     run_as.switch_user ? become_postgres : NULL, NULL, NULL, &errors, &status, &error)
      || !g_spawn_check_wait_status (status, &error))
    g_error ("%s: %s\n%s", tool, error->message, errors ? errors : "");
}

static void
pg_ctl_start (const char *bindir,
              const char *data_dir)
{
  g_autofree char *log = g_build_filename (data_dir, "baseline.log", NULL);
  g_autofree char *options = g_strdup_printf ("-c listen_addresses='' -c port=5432 "
                                              "-c unix_socket_permissions=0700 -c unix_socket_directories='%s'",
                                              data_dir);
  const char *args[] = { "start", "-w", "-t", "60", "-D", data_dir, "-l", log, "-o", options, NULL };

  run_tool (bindir, "pg_ctl", args);
}

static void
pg_ctl_stop (const char *bindir,
             const char *data_dir)
{
  const char *args[] = { "stop", "-m", "fast", "-w", "-t", "60", "-D", data_dir, NULL };

  run_tool (bindir, "pg_ctl", args);
}

/* The daemon's own initdb options (core/db/wb-embedded-postgres.c). */
static double
baseline_cold (const char *bindir,
               const char *data_dir)
{
  const char *args[] = { "-D", data_dir, "--auth=trust", "--username=waybill", "--encoding=UTF8",
                         "--locale=C.UTF-8", NULL };
  gint64 start = g_get_monotonic_time ();

  run_tool (bindir, "initdb", args);
  pg_ctl_start (bindir, data_dir);
  return (g_get_monotonic_time () - start) / 1000.0;
}

static double
baseline_warm (const char *bindir,
               const char *data_dir)
{
  gint64 start = g_get_monotonic_time ();

  pg_ctl_start (bindir, data_dir);
  return (g_get_monotonic_time () - start) / 1000.0;
}

/* ---- waybilld ------------------------------------------------------------- */

static gboolean
is_ready (guint port)
{
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u/readyz", port);
  g_autoptr(SoupMessage) message = soup_message_new ("GET", uri);
  g_autoptr(GBytes) body = soup_session_send_and_read (session, message, NULL, NULL);

  return soup_message_get_status (message) == SOUP_STATUS_OK;
}

/* From exec to the first 200, polled every 5 ms (wb_bench_wait_ready()'s
 * 50 ms would blur a warm start). */
static double
daemon_start_to_ready (const char     *state_arg,
                       WbBenchDaemon **out_daemon)
{
  const char *args[] = { state_arg, NULL };
  gint64 start = g_get_monotonic_time ();
  gint64 deadline = start + 120 * G_USEC_PER_SEC;
  WbBenchDaemon *d = wb_bench_daemon_start ("", args);

  while (!is_ready (d->port))
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("waybilld never became ready");
      g_usleep (5 * 1000);
    }
  *out_daemon = d;
  return (g_get_monotonic_time () - start) / 1000.0;
}

/* ---- plumbing ---------------------------------------------------------------- */

static char *
make_data_dir (const char *parent)
{
  char *data_dir = g_build_filename (parent, "postgres", NULL);

  if (g_mkdir (data_dir, 0700) != 0 || (run_as.switch_user && chown (data_dir, run_as.uid, run_as.gid) != 0))
    g_error ("Cannot prepare %s", data_dir);
  return data_dir;
}

static void
remove_tree (const char *path)
{
  g_autofree char *quoted = g_shell_quote (path);
  g_autofree char *command = g_strconcat ("rm -rf ", quoted, NULL);

  g_spawn_command_line_sync (command, NULL, NULL, NULL, NULL);
}

static void
resolve_run_as (void)
{
  struct passwd *postgres;

  if (geteuid () != 0)
    return;
  if ((postgres = getpwnam ("postgres")) == NULL)
    g_error ("Run as root, the baseline needs the postgres user (apt-get install postgresql)");
  run_as = (RunAs) { .switch_user = TRUE, .uid = postgres->pw_uid, .gid = postgres->pw_gid };
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) options = g_option_context_new ("— Waybill startup benchmark");
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) base_cold = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) base_warm = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) cold = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) warm = g_array_new (FALSE, FALSE, sizeof (double));
  g_autofree char *bindir = NULL;
  double bc, bw, c, w;

  g_option_context_add_main_entries (options, entries, NULL);
  if (!g_option_context_parse (options, &argc, &argv, &error))
    g_error ("%s", error->message);
  /* Before any cluster is made: nothing to clean up after this. */
  if (g_getenv ("WAYBILLD") == NULL || !g_file_test (g_getenv ("WAYBILLD"), G_FILE_TEST_IS_EXECUTABLE))
    {
      g_printerr ("Set WAYBILLD to the built waybilld (meson test --benchmark startup does)\n");
      return 1;
    }
  if (runs < 1)
    g_error ("--runs must be at least 1");
  resolve_run_as ();
  bindir = find_bindir ();
  session = soup_session_new_with_options ("timeout", 10, NULL);

  g_print ("Start to ready: waybilld on its embedded PostgreSQL vs %s/{initdb,pg_ctl}, %d runs\n", bindir, runs);
  for (int r = 0; r < runs; r++)
    {
      /* tests/wb-test-pg.c's directories: a server left running there by
       * an aborted run is stopped at exit. */
      g_autofree char *base_parent = wb_test_pg_make_state_dir ();
      g_autofree char *base_data = make_data_dir (base_parent);
      g_autofree char *state = wb_test_pg_make_state_dir ();
      g_autofree char *state_arg = g_strconcat ("--state-dir=", state, NULL);
      WbBenchDaemon *d;

      bc = baseline_cold (bindir, base_data);
      pg_ctl_stop (bindir, base_data);
      bw = baseline_warm (bindir, base_data);
      pg_ctl_stop (bindir, base_data);
      remove_tree (base_parent);

      c = daemon_start_to_ready (state_arg, &d);
      wb_bench_daemon_stop (d);
      w = daemon_start_to_ready (state_arg, &d);
      wb_bench_daemon_stop (d);
      remove_tree (state);

      g_array_append_val (base_cold, bc);
      g_array_append_val (base_warm, bw);
      g_array_append_val (cold, c);
      g_array_append_val (warm, w);
      g_print ("  run %d: cold: initdb + pg_ctl start %.0f ms, waybilld %.0f ms;  "
               "warm: pg_ctl start %.0f ms, waybilld %.0f ms\n", r + 1, bc, c, bw, w);
    }

  bc = wb_bench_median (base_cold);
  bw = wb_bench_median (base_warm);
  c = wb_bench_median (cold);
  w = wb_bench_median (warm);
  g_print ("\nRESULTS (medians of %d runs, %u cores)          baseline       waybilld   ratio\n",
           runs, g_get_num_processors ());
  g_print ("  cold start to ready (fresh state dir):  %8.0f ms    %8.0f ms   %5.2f\n", bc, c, c / bc);
  g_print ("  warm start to ready (same state dir):   %8.0f ms    %8.0f ms   %5.2f\n", bw, w, w / bw);
  g_print ("  baseline: initdb + pg_ctl start -w (cold), pg_ctl start -w (warm) of a bare cluster;\n"
           "  waybilld: exec to the first 200 on /readyz (cluster, database, migrations, reference data)\n");

  g_object_unref (session);
  return 0;
}
