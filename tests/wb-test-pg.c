// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include "wb-test-pg.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wb-db.h"
#include "wb-embedded-postgres.h"

static struct
{
  char               *dir;
  WbEmbeddedPostgres *cluster;
  guint               n_databases;
} fixture;

/* The watchdog waits for its stdin, our end of a pipe, to close: that
 * happens when this process exits, even by abort(). It then stops any
 * server still running on a cluster in @dir (up to two levels down) with
 * SIGQUIT, immediate shutdown, and removes the directory, so no postmaster
 * outlives a crashed test. The pipe stays open until exit, on purpose. It
 * runs in a session of its own: whoever kills the test's process group
 * (meson on a timeout, kill -- -PGID) must not take the watchdog along and
 * leave the server, which pg_ctl detached, running. */
static void
new_session (gpointer data)
{
  setsid ();
}

static void
spawn_watchdog (const char *dir)
{
  static const char script[] =
    "cat >/dev/null\n"
    "find \"$1\" -maxdepth 3 -name postmaster.pid | while IFS= read -r file; do\n"
    "  pid=$(head -n 1 \"$file\")\n"
    "  [ \"$(cat /proc/$pid/comm 2>/dev/null)\" = postgres ] || continue\n"
    "  kill -QUIT \"$pid\"\n"
    "  i=0\n"
    "  while kill -0 \"$pid\" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done\n"
    "done\n"
    "rm -rf \"$1\"\n";
  const char *argv[] = { "/bin/sh", "-c", script, "wb-test-pg-watchdog", dir, NULL };
  g_autoptr(GError) error = NULL;
  int watchdog_stdin;

  g_spawn_async_with_pipes (NULL, (char **) argv, NULL,
                            G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                            new_session, NULL, NULL, &watchdog_stdin, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_no_errno (fcntl (watchdog_stdin, F_SETFD, FD_CLOEXEC));
}

char *
wb_test_pg_make_state_dir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("waybill-test-state-XXXXXX", &error);

  g_assert_no_error (error);

  /* Run as root, the server runs as "postgres", which must get through. */
  g_assert_no_errno (g_chmod (dir, 0755));

  spawn_watchdog (dir);
  return dir;
}

static void
ensure_started (void)
{
  g_autoptr(GError) error = NULL;

  if (fixture.cluster != NULL)
    return;

  fixture.dir = wb_test_pg_make_state_dir ();
  atexit (wb_test_pg_teardown);

  fixture.cluster = wb_embedded_postgres_new (fixture.dir);
  if (!wb_embedded_postgres_start (fixture.cluster, NULL, &error))
    g_error ("cannot start the test PostgreSQL: %s", error->message);
}

const char *
wb_test_pg_conninfo (void)
{
  ensure_started ();
  return wb_embedded_postgres_get_conninfo (fixture.cluster);
}

const char *
wb_test_pg_socket_dir (void)
{
  ensure_started ();
  return wb_embedded_postgres_get_data_dir (fixture.cluster);
}

static gboolean
is_valid_prefix (const char *name_prefix)
{
  if (name_prefix[0] == '\0' || strlen (name_prefix) > 40)
    return FALSE;

  for (const char *p = name_prefix; *p != '\0'; p++)
    if (!g_ascii_islower (*p) && !g_ascii_isdigit (*p) && *p != '_')
      return FALSE;

  return TRUE;
}

char *
wb_test_pg_create_database (const char *name_prefix)
{
  g_autofree char *name = NULL;
  g_autofree char *sql = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PGconn) conn = NULL;
  g_autoptr(PGresult) result = NULL;
  char *quoted;

  g_return_val_if_fail (name_prefix != NULL && is_valid_prefix (name_prefix), NULL);

  conn = wb_db_connect (wb_test_pg_conninfo (), &error);
  g_assert_no_error (error);

  /* CREATE DATABASE takes no parameters: quote the identifier instead. */
  name = g_strdup_printf ("%s_%d_%u", name_prefix, (int) getpid (), ++fixture.n_databases);
  quoted = PQescapeIdentifier (conn, name, strlen (name));
  g_assert_nonnull (quoted);
  sql = g_strconcat ("CREATE DATABASE ", quoted, NULL);
  PQfreemem (quoted);

  result = wb_db_exec (conn, sql, NULL, 0, NULL, &error);
  g_assert_no_error (error);

  return wb_embedded_postgres_dup_conninfo (fixture.cluster, name);
}

void
wb_test_pg_stop_server (void)
{
  g_autoptr(GError) error = NULL;

  ensure_started ();
  wb_embedded_postgres_stop (fixture.cluster, &error);
  g_assert_no_error (error);
}

void
wb_test_pg_start_server (void)
{
  g_autoptr(GError) error = NULL;

  ensure_started ();
  wb_embedded_postgres_start (fixture.cluster, NULL, &error);
  g_assert_no_error (error);
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        g_unlink (child);
    }

  g_rmdir (path);
}

void
wb_test_pg_teardown (void)
{
  g_autoptr(GError) error = NULL;

  if (fixture.cluster == NULL)
    return;

  if (!wb_embedded_postgres_stop (fixture.cluster, &error))
    g_printerr ("# cannot stop the test PostgreSQL: %s\n", error->message);

  g_clear_object (&fixture.cluster);
  remove_tree (fixture.dir);
  g_clear_pointer (&fixture.dir, g_free);
}

PGresult *
wb_test_pg_exec (PGconn     *conn,
                 const char *statement,
                 const char *param)
{
  const char *params[] = { param };
  g_autoptr(GError) error = NULL;
  PGresult *result = wb_db_exec (conn, statement, params, param ? 1 : 0, NULL, &error);

  g_assert_no_error (error);
  return result;
}

void
wb_test_pg_run (PGconn     *conn,
                const char *statement)
{
  PQclear (wb_test_pg_exec (conn, statement, NULL));
}

gint64
wb_test_pg_int (PGconn     *conn,
                const char *statement,
                const char *param)
{
  g_autoptr(PGresult) result = wb_test_pg_exec (conn, statement, param);

  g_assert_cmpint (PQntuples (result), ==, 1);
  return g_ascii_strtoll (PQgetvalue (result, 0, 0), NULL, 10);
}

char *
wb_test_pg_text (PGconn     *conn,
                 const char *statement,
                 const char *param)
{
  g_autoptr(PGresult) result = wb_test_pg_exec (conn, statement, param);

  g_assert_cmpint (PQntuples (result), <=, 1);
  if (PQntuples (result) == 0 || PQgetisnull (result, 0, 0))
    return NULL;
  return g_strdup (PQgetvalue (result, 0, 0));
}
