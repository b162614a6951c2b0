// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include <glib/gstdio.h>
#include <pwd.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wb-db.h"
#include "wb-db-pool.h"
#include "wb-db-transaction.h"
#include "wb-embedded-postgres.h"
#include "wb-migrations-private.h"
#include "wb-test-pg.h"

#define MIGRATIONS_PATH "/org/waybill/Waybill/migrations/"

/* ---- helpers ------------------------------------------------------------- */

static PGconn *
connect_or_die (const char *conninfo)
{
  g_autoptr(GError) error = NULL;
  PGconn *conn = wb_db_connect (conninfo, &error);

  g_assert_no_error (error);
  return conn;
}

static char *
query_value (PGconn     *conn,
             const char *sql)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PGresult) result = wb_db_exec (conn, sql, NULL, 0, NULL, &error);

  g_assert_no_error (error);
  g_assert_cmpint (PQntuples (result), ==, 1);
  return g_strdup (PQgetvalue (result, 0, 0));
}

static void
exec_or_die (PGconn     *conn,
             const char *sql)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PGresult) result = wb_db_exec (conn, sql, NULL, 0, NULL, &error);

  g_assert_no_error (error);
}

static guint
count_compiled_migrations (void)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) names = g_resources_enumerate_children (MIGRATIONS_PATH, 0, &error);

  g_assert_no_error (error);
  return g_strv_length (names);
}

static void
store_result (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  GAsyncResult **slot = user_data;

  *slot = g_object_ref (result);
}

static void
wait_for (GAsyncResult **slot)
{
  while (*slot == NULL)
    g_main_context_iteration (NULL, TRUE);
}

static PGresult *
pool_query (WbDbPool            *pool,
            const char          *sql,
            const char * const  *params,
            guint                n_params,
            GError             **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  wb_db_pool_query_async (pool, sql, params, n_params, NULL, store_result, &result);
  wait_for (&result);
  return wb_db_pool_query_finish (pool, result, error);
}

static gboolean
pool_ping (WbDbPool  *pool,
           GError   **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  wb_db_pool_ping_async (pool, NULL, store_result, &result);
  wait_for (&result);
  return wb_db_pool_ping_finish (pool, result, error);
}

static void
remove_state_dir (const char *path)
{
  const char *argv[] = { "rm", "-rf", path, NULL };
  g_autoptr(GError) error = NULL;
  int status;

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                NULL, NULL, &status, &error);
  g_assert_no_error (error);
}

/* ---- connections and errors ------------------------------------------------ */

static void
test_connect_defaults (void)
{
  g_autoptr(PGconn) conn = connect_or_die (wb_test_pg_conninfo ());
  g_autofree char *conninfo = g_strconcat (wb_test_pg_conninfo (), " application_name=mine", NULL);
  g_autoptr(PGconn) custom = connect_or_die (conninfo);
  g_autofree char *default_name = query_value (conn, "SHOW application_name");
  g_autofree char *custom_name = query_value (custom, "SHOW application_name");
  g_autoptr(PQconninfoOption) options = PQconninfo (conn);
  const char *connect_timeout = NULL;

  g_assert_cmpstr (default_name, ==, "waybill");
  g_assert_cmpstr (custom_name, ==, "mine");

  for (PQconninfoOption *option = options; option->keyword != NULL; option++)
    if (g_str_equal (option->keyword, "connect_timeout"))
      connect_timeout = option->val;
  g_assert_cmpstr (connect_timeout, ==, "5");
}

static void
test_connect_error_hides_password (void)
{
  const char *conninfo = "host=/nonexistent/waybill port=5432 user=u password=hunter2 dbname=d";
  g_autoptr(GError) error = NULL;
  g_autoptr(PGconn) conn = wb_db_connect (conninfo, &error);
  g_autofree char *description = wb_db_describe_conninfo (conninfo);

  g_assert_null (conn);
  g_assert_error (error, WB_DB_ERROR, WB_DB_ERROR_CONNECT);
  g_assert_null (strstr (error->message, "hunter2"));
  g_assert_nonnull (strstr (error->message, "/nonexistent/waybill"));
  g_assert_cmpstr (description, ==, "u@/nonexistent/waybill:5432/d");
}

/* libpq's own parse errors quote the string, password and all. */
static void
test_connect_malformed_hides_password (void)
{
  const char *conninfos[] = {
    "postgresql://u:Zx9Qv7@[]/x",
    "postgresql://u:Zx9%zzQv7@h/x",
    "host=db password='Zx9Qv7",
    "host=db Zx9Qv7",
  };

  for (guint i = 0; i < G_N_ELEMENTS (conninfos); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(PGconn) conn = wb_db_connect (conninfos[i], &error);
      g_autofree char *description = wb_db_describe_conninfo (conninfos[i]);

      g_assert_null (conn);
      g_assert_error (error, WB_DB_ERROR, WB_DB_ERROR_CONNECT);
      g_assert_nonnull (strstr (error->message, "does not parse"));
      g_assert_null (strstr (error->message, "Zx9"));
      g_assert_null (strstr (error->message, "Qv7"));
      g_assert_cmpstr (description, ==, "(unparsable conninfo)");
    }
}

static void
test_error_sqlstate (void)
{
  g_autoptr(PGconn) conn = connect_or_die (wb_test_pg_conninfo ());
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) copy = NULL;
  g_autoptr(PGresult) result = wb_db_exec (conn, "SELECT * FROM no_such_table", NULL, 0, NULL, &error);

  g_assert_null (result);
  g_assert_error (error, WB_DB_ERROR, WB_DB_ERROR_QUERY);
  g_assert_cmpstr (wb_db_error_get_sqlstate (error), ==, "42P01");
  g_assert_nonnull (strstr (error->message, "42P01"));

  copy = g_error_copy (error);
  g_assert_cmpstr (wb_db_error_get_sqlstate (copy), ==, "42P01");
}

/* ---- migrations ------------------------------------------------------------ */

static char *
dump_schema_migrations (PGconn *conn)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PGresult) result = NULL;
  GString *dump = g_string_new (NULL);

  result = wb_db_exec (conn,
                       "SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version",
                       NULL, 0, NULL, &error);
  g_assert_no_error (error);

  for (int row = 0; row < PQntuples (result); row++)
    g_string_append_printf (dump, "%s|%s|%s|%s\n",
                            PQgetvalue (result, row, 0), PQgetvalue (result, row, 1),
                            PQgetvalue (result, row, 2), PQgetvalue (result, row, 3));

  return g_string_free (dump, FALSE);
}

static void
test_migrations_apply_twice (void)
{
  g_autofree char *conninfo = wb_test_pg_create_database ("migrate_twice");
  g_autoptr(PGconn) conn = connect_or_die (conninfo);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) foundation = NULL;
  g_autofree char *expected_checksum = NULL;
  g_autofree char *recorded_checksum = NULL;
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  g_autofree char *table = NULL;
  guint applied = 99;

  g_assert_cmpint (wb_migrations_current_version (conn, &error), ==, 0);
  g_assert_no_error (error);

  g_assert_true (wb_migrations_apply (conn, &applied, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (applied, ==, count_compiled_migrations ());
  g_assert_cmpint (wb_migrations_current_version (conn, NULL), ==, wb_migrations_latest_version ());

  /* The foundation really ran, and its checksum is the file's SHA-256. */
  table = query_value (conn, "SELECT to_regclass('waybill_instances') IS NOT NULL");
  g_assert_cmpstr (table, ==, "t");
  foundation = g_resources_lookup_data (MIGRATIONS_PATH "0001_foundation.sql", 0, &error);
  g_assert_no_error (error);
  expected_checksum = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, foundation);
  recorded_checksum = query_value (conn, "SELECT checksum FROM schema_migrations WHERE version = 1");
  g_assert_cmpstr (recorded_checksum, ==, expected_checksum);

  first = dump_schema_migrations (conn);
  g_assert_true (wb_migrations_apply (conn, &applied, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (applied, ==, 0);
  second = dump_schema_migrations (conn);
  g_assert_cmpstr (first, ==, second);
}

typedef struct
{
  const char *conninfo;
  guint       applied;
  gboolean    ok;
  GError     *error;
} Migrator;

static gpointer
run_migrator (gpointer data)
{
  Migrator *migrator = data;
  g_autoptr(PGconn) conn = connect_or_die (migrator->conninfo);

  migrator->ok = wb_migrations_apply (conn, &migrator->applied, &migrator->error);
  return NULL;
}

static void
test_migrations_concurrent (void)
{
  g_autofree char *conninfo = wb_test_pg_create_database ("migrate_concurrent");
  g_autoptr(PGconn) conn = NULL;
  g_autofree char *count = NULL;
  g_autofree char *expected_count = g_strdup_printf ("%u", count_compiled_migrations ());
  Migrator migrators[2] = { { conninfo }, { conninfo } };
  GThread *threads[2];

  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("migrator", run_migrator, &migrators[i]);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    g_thread_join (threads[i]);

  for (guint i = 0; i < G_N_ELEMENTS (migrators); i++)
    {
      g_assert_no_error (migrators[i].error);
      g_assert_true (migrators[i].ok);
    }
  g_assert_cmpuint (migrators[0].applied + migrators[1].applied, ==, count_compiled_migrations ());

  conn = connect_or_die (conninfo);
  count = query_value (conn, "SELECT count(*) FROM schema_migrations");
  g_assert_cmpstr (count, ==, expected_count);
}

static void
test_migrations_schema_too_new (void)
{
  g_autofree char *conninfo = wb_test_pg_create_database ("migrate_too_new");
  g_autoptr(PGconn) conn = connect_or_die (conninfo);
  g_autoptr(GError) error = NULL;
  g_autoptr(PGresult) inserted = NULL;
  int latest = wb_migrations_latest_version ();
  g_autofree char *future = g_strdup_printf ("%d", latest + 1);
  g_autofree char *latest_text = g_strdup_printf ("%d", latest);
  const char *params[] = { future };

  g_assert_true (wb_migrations_apply (conn, NULL, &error));
  g_assert_no_error (error);

  inserted = wb_db_exec (conn,
                         "INSERT INTO schema_migrations (version, name, checksum) "
                         "VALUES ($1, 'from_the_future', 'x')",
                         params, 1, NULL, &error);
  g_assert_no_error (error);

  g_assert_false (wb_migrations_apply (conn, NULL, &error));
  g_assert_error (error, WB_DB_ERROR, WB_DB_ERROR_SCHEMA_TOO_NEW);
  g_assert_nonnull (strstr (error->message, future));
  g_assert_nonnull (strstr (error->message, latest_text));

  /* The lock was released: another session can take it at once. */
  g_clear_error (&error);
  {
    g_autoptr(PGconn) other = connect_or_die (conninfo);
    g_autofree char *locked = query_value (other, "SELECT pg_try_advisory_lock(24595496943840364)");

    g_assert_cmpstr (locked, ==, "t");
  }
}

static void
test_migrations_checksum_mismatch (void)
{
  g_autofree char *conninfo = wb_test_pg_create_database ("migrate_checksum");
  g_autoptr(PGconn) conn = connect_or_die (conninfo);
  g_autoptr(GError) error = NULL;

  g_assert_true (wb_migrations_apply (conn, NULL, &error));
  g_assert_no_error (error);

  exec_or_die (conn, "UPDATE schema_migrations SET checksum = repeat('0', 64) WHERE version = 1");

  g_assert_false (wb_migrations_apply (conn, NULL, &error));
  g_assert_error (error, WB_DB_ERROR, WB_DB_ERROR_MIGRATION);
  g_assert_nonnull (strstr (error->message, "0001_foundation.sql"));
}

/* A migration that fails half-way leaves nothing of itself: not its
 * objects, not its row; the ones before it in the same run stay applied
 * (each has its own transaction), and the lock is released. */
static void
test_migrations_failure_rolls_back (void)
{
  g_autofree char *conninfo = wb_test_pg_create_database ("migrate_fail");
  g_autoptr(PGconn) conn = connect_or_die (conninfo);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) migrations = _wb_migrations_load_compiled (&error);
  int broken = wb_migrations_latest_version () + 1;
  g_autofree char *broken_file = g_strdup_printf ("%04d_half_done.sql", broken);
  g_autofree char *expected_count = g_strdup_printf ("%u", count_compiled_migrations ());
  g_autofree char *count = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autofree char *table = NULL;
  g_autofree char *column = NULL;
  g_autofree char *locked = NULL;
  guint applied = 99;

  g_assert_no_error (error);
  g_ptr_array_add (migrations, _wb_migration_new (broken, "half_done",
                                                  "CREATE TABLE half_done (id integer PRIMARY KEY);\n"
                                                  "INSERT INTO half_done VALUES (1);\n"
                                                  "ALTER TABLE schema_migrations ADD COLUMN half_done_note text;\n"
                                                  "SELECT 1 / 0;\n"));

  g_assert_false (_wb_migrations_apply_list (conn, migrations, NULL, NULL, NULL, &applied, &error));
  g_assert_error (error, WB_DB_ERROR, WB_DB_ERROR_MIGRATION);
  g_assert_nonnull (strstr (error->message, broken_file));
  g_assert_nonnull (strstr (error->message, "22012"));
  g_clear_error (&error);
  g_assert_cmpuint (applied, ==, count_compiled_migrations ());
  count = query_value (conn, "SELECT count(*) FROM schema_migrations");
  g_assert_cmpstr (count, ==, expected_count);

  /* Again, on a database where only the broken one is missing. */
  before = dump_schema_migrations (conn);
  g_assert_false (_wb_migrations_apply_list (conn, migrations, NULL, NULL, NULL, &applied, &error));
  g_assert_error (error, WB_DB_ERROR, WB_DB_ERROR_MIGRATION);
  g_assert_cmpuint (applied, ==, 0);
  after = dump_schema_migrations (conn);
  g_assert_cmpstr (before, ==, after);

  table = query_value (conn, "SELECT to_regclass('half_done') IS NULL");
  g_assert_cmpstr (table, ==, "t");
  column = query_value (conn, "SELECT count(*) FROM information_schema.columns "
                              "WHERE table_name = 'schema_migrations' AND column_name = 'half_done_note'");
  g_assert_cmpstr (column, ==, "0");
  g_assert_cmpint (PQtransactionStatus (conn), ==, PQTRANS_IDLE);
  {
    g_autoptr(PGconn) other = connect_or_die (conninfo);

    locked = query_value (other, "SELECT pg_try_advisory_lock(24595496943840364)");
    g_assert_cmpstr (locked, ==, "t");
  }
}

typedef struct
{
  const char   *conninfo;
  GCancellable *cancellable;
  gint          waits;
  gint          finished;
  char         *holder;
  gboolean      ok;
  GError       *error;
} LockWaiter;

static void
note_lock_holder (const char *holder,
                  gpointer    data)
{
  LockWaiter *waiter = data;

  g_free (waiter->holder);
  waiter->holder = g_strdup (holder);
  g_atomic_int_inc (&waiter->waits);
}

static gpointer
run_lock_waiter (gpointer data)
{
  LockWaiter *waiter = data;
  g_autoptr(PGconn) conn = connect_or_die (waiter->conninfo);

  waiter->ok = wb_migrations_apply_full (conn, waiter->cancellable, note_lock_holder, waiter, NULL,
                                         &waiter->error);
  g_atomic_int_set (&waiter->finished, 1);
  return NULL;
}

/* Another session holds the migration lock: the migrator says who, keeps
 * waiting, and stops waiting at once when cancelled, having applied nothing. */
static void
test_migrations_lock_wait_cancellable (void)
{
  g_autofree char *conninfo = wb_test_pg_create_database ("migrate_lock_wait");
  g_autoptr(PGconn) holder = connect_or_die (conninfo);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *holder_pid = g_strdup_printf ("pid %d", PQbackendPID (holder));
  LockWaiter waiter = { .conninfo = conninfo, .cancellable = cancellable };
  GThread *thread;
  gint64 cancelled_at;

  exec_or_die (holder, "SET application_name = 'lock-holder'");
  exec_or_die (holder, "SELECT pg_advisory_lock(24595496943840364)");
  thread = g_thread_new ("migrator", run_lock_waiter, &waiter);
  for (guint i = 0; g_atomic_int_get (&waiter.waits) == 0; i++)
    {
      g_assert_cmpuint (i, <, 500);
      g_usleep (20 * 1000);
    }
  g_usleep (300 * 1000);
  g_assert_cmpint (g_atomic_int_get (&waiter.finished), ==, 0);

  cancelled_at = g_get_monotonic_time ();
  g_cancellable_cancel (cancellable);
  g_thread_join (thread);
  g_assert_cmpint (g_get_monotonic_time () - cancelled_at, <, G_USEC_PER_SEC / 2);

  g_assert_false (waiter.ok);
  g_assert_error (waiter.error, WB_DB_ERROR, WB_DB_ERROR_CANCELLED);
  g_assert_cmpint (waiter.waits, ==, 1);
  g_assert_nonnull (strstr (waiter.holder, holder_pid));
  g_assert_nonnull (strstr (waiter.holder, "lock-holder"));
  g_assert_cmpint (wb_migrations_current_version (holder, NULL), ==, 0);
  g_clear_error (&waiter.error);
  g_free (waiter.holder);

  /* Once the lock is free, the same call goes through. */
  exec_or_die (holder, "SELECT pg_advisory_unlock(24595496943840364)");
  g_assert_true (wb_migrations_apply_full (holder, NULL, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (wb_migrations_current_version (holder, NULL), ==, wb_migrations_latest_version ());
}

static void
test_migrations_parse_names (void)
{
  const char * const sorted[] = { "0010_later.sql", "0002_early.sql", "0001_first.sql", NULL };
  const char * const duplicate[] = { "0001_a.sql", "0002_b.sql", "1_c.sql", NULL };
  const char * const malformed[] = {
    "foundation.sql", "0001.sql", "0001_.sql", "x001_a.sql", "0000_zero.sql",
    "0001_a.txt", "_a.sql", "sub/",
  };
  g_autoptr(GPtrArray) migrations = NULL;
  g_autoptr(GError) error = NULL;
  const WbMigration *migration;

  migrations = _wb_migrations_parse (sorted, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (migrations->len, ==, 3);
  migration = g_ptr_array_index (migrations, 0);
  g_assert_cmpint (migration->version, ==, 1);
  g_assert_cmpstr (migration->name, ==, "first");
  migration = g_ptr_array_index (migrations, 2);
  g_assert_cmpint (migration->version, ==, 10);
  g_assert_cmpstr (migration->name, ==, "later");

  g_assert_null (_wb_migrations_parse (duplicate, &error));
  g_assert_error (error, WB_DB_ERROR, WB_DB_ERROR_MIGRATION);
  g_assert_nonnull (strstr (error->message, "1_c.sql"));
  g_clear_error (&error);

  for (guint i = 0; i < G_N_ELEMENTS (malformed); i++)
    {
      const char * const names[] = { malformed[i], NULL };

      g_assert_null (_wb_migrations_parse (names, &error));
      g_assert_error (error, WB_DB_ERROR, WB_DB_ERROR_MIGRATION);
      g_clear_error (&error);
    }
}

/* ---- the pool ---------------------------------------------------------------- */

static void
test_pool_parameters (void)
{
  g_autofree char *conninfo = wb_test_pg_create_database ("pool_params");
  g_autoptr(WbDbPool) pool = wb_db_pool_new (conninfo, 2);
  const char *hostile = "Robert'); DROP TABLE notes; -- \\ \" $1";
  const char * const insert_params[] = { hostile, NULL };
  const char * const null_params[] = { NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(PGresult) created = NULL;
  g_autoptr(PGresult) inserted = NULL;
  g_autoptr(PGresult) selected = NULL;
  g_autoptr(PGresult) null_check = NULL;

  created = pool_query (pool, "CREATE TABLE notes (body text)", NULL, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (PQresultStatus (created), ==, PGRES_COMMAND_OK);

  inserted = pool_query (pool, "INSERT INTO notes (body) VALUES ($1)", insert_params, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (PQcmdTuples (inserted), ==, "1");

  /* The table survived and holds the value byte for byte. */
  selected = pool_query (pool, "SELECT body FROM notes", NULL, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (PQntuples (selected), ==, 1);
  g_assert_cmpstr (PQgetvalue (selected, 0, 0), ==, hostile);

  null_check = pool_query (pool, "SELECT $1::text IS NULL", null_params, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (PQgetvalue (null_check, 0, 0), ==, "t");
}

static void
test_pool_errors_and_stats (void)
{
  g_autofree char *conninfo = wb_test_pg_create_database ("pool_errors");
  g_autoptr(WbDbPool) pool = wb_db_pool_new (conninfo, 3);
  g_autoptr(GError) error = NULL;
  g_autoptr(PGresult) created = NULL;
  g_autoptr(PGresult) first = NULL;
  g_autoptr(PGresult) missing = NULL;
  g_autoptr(PGresult) duplicate = NULL;
  const char * const one[] = { "1", NULL };
  WbDbPoolStats stats;

  created = pool_query (pool, "CREATE TABLE ids (id int PRIMARY KEY)", NULL, 0, &error);
  g_assert_no_error (error);
  first = pool_query (pool, "INSERT INTO ids VALUES ($1)", one, 0, &error);
  g_assert_no_error (error);

  missing = pool_query (pool, "SELECT * FROM no_such_table", NULL, 0, &error);
  g_assert_null (missing);
  g_assert_error (error, WB_DB_ERROR, WB_DB_ERROR_QUERY);
  g_assert_cmpstr (wb_db_error_get_sqlstate (error), ==, "42P01");
  g_clear_error (&error);

  duplicate = pool_query (pool, "INSERT INTO ids VALUES ($1)", one, 0, &error);
  g_assert_null (duplicate);
  g_assert_error (error, WB_DB_ERROR, WB_DB_ERROR_QUERY);
  g_assert_cmpstr (wb_db_error_get_sqlstate (error), ==, "23505");
  g_clear_error (&error);

  g_assert_true (pool_ping (pool, &error));
  g_assert_no_error (error);

  wb_db_pool_get_stats (pool, &stats);
  g_assert_cmpuint (stats.size, ==, 3);
  g_assert_cmpuint (stats.queries_total, ==, 5);
  g_assert_cmpuint (stats.query_errors_total, ==, 2);
  g_assert_cmpuint (stats.connects_total, >=, 1);
  g_assert_cmpuint (stats.connect_failures_total, ==, 0);
  g_assert_cmpuint (stats.open, >=, 1);
  g_assert_cmpuint (stats.open, <=, 3);
  g_assert_cmpuint (stats.in_use, ==, 0);
  g_assert_cmpuint (stats.waiting, ==, 0);
}

static void
count_done (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(PGresult) answer = NULL;
  g_autoptr(GError) error = NULL;
  guint *done = user_data;

  answer = wb_db_pool_query_finish (WB_DB_POOL (source), result, &error);
  g_assert_no_error (error);
  (*done)++;
}

static void
test_pool_size_limit (void)
{
  g_autoptr(WbDbPool) pool = wb_db_pool_new (wb_test_pg_conninfo (), 2);
  gint64 started = g_get_monotonic_time ();
  WbDbPoolStats stats;
  guint done = 0;

  for (guint i = 0; i < 6; i++)
    wb_db_pool_query_async (pool, "SELECT pg_sleep(0.2)", NULL, 0, NULL, count_done, &done);

  while (done < 6)
    g_main_context_iteration (NULL, TRUE);

  /* Two connections at a time: three rounds of 0.2 s at least. */
  g_assert_cmpint (g_get_monotonic_time () - started, >=, 550 * 1000);
  wb_db_pool_get_stats (pool, &stats);
  g_assert_cmpuint (stats.connects_total, ==, 2);
  g_assert_cmpuint (stats.queries_total, ==, 6);
}

static gboolean
cancel_soon (gpointer user_data)
{
  g_cancellable_cancel (user_data);
  return G_SOURCE_REMOVE;
}

static void
test_pool_cancel (void)
{
  g_autoptr(WbDbPool) pool = wb_db_pool_new (wb_test_pg_conninfo (), 1);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(PGresult) answer = NULL;
  g_autoptr(PGresult) after = NULL;
  g_autoptr(GError) error = NULL;
  gint64 started = g_get_monotonic_time ();

  wb_db_pool_query_async (pool, "SELECT pg_sleep(30)", NULL, 0, cancellable, store_result, &result);
  g_timeout_add (200, cancel_soon, cancellable);
  wait_for (&result);

  answer = wb_db_pool_query_finish (pool, result, &error);
  g_assert_null (answer);
  g_assert_error (error, WB_DB_ERROR, WB_DB_ERROR_CANCELLED);
  g_assert_cmpint (g_get_monotonic_time () - started, <, 10 * G_USEC_PER_SEC);
  g_clear_error (&error);

  /* The pool's only connection is usable again. */
  after = pool_query (pool, "SELECT 1", NULL, 0, &error);
  g_assert_no_error (error);
}

typedef struct
{
  guint freed;
} RunData;

static void
run_data_freed (gpointer user_data)
{
  RunData *data = user_data;

  data->freed++;
}

/* Leaves a transaction open on purpose: the pool must roll it back. */
static gpointer
insert_without_commit (PGconn        *conn,
                       gpointer       user_data,
                       GCancellable  *cancellable,
                       GError       **error)
{
  g_autoptr(PGresult) begun = wb_db_exec (conn, "BEGIN", NULL, 0, cancellable, error);
  g_autoptr(PGresult) inserted = NULL;

  if (begun == NULL)
    return NULL;

  inserted = wb_db_exec (conn, "INSERT INTO pending VALUES (1)", NULL, 0, cancellable, error);
  if (inserted == NULL)
    return NULL;

  return g_strdup ("inserted");
}

static gpointer
count_pending (PGconn        *conn,
               gpointer       user_data,
               GCancellable  *cancellable,
               GError       **error)
{
  g_autoptr(PGresult) counted = NULL;

  g_assert_cmpint (PQtransactionStatus (conn), ==, PQTRANS_IDLE);
  counted = wb_db_exec (conn, "SELECT count(*) FROM pending", NULL, 0, cancellable, error);
  return counted != NULL ? g_strdup (PQgetvalue (counted, 0, 0)) : NULL;
}

static char *
pool_run (WbDbPool *pool,
          WbDbFunc  func,
          RunData  *data)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  char *value;

  wb_db_pool_run_async (pool, func, data, run_data_freed, g_free, NULL, store_result, &result);
  wait_for (&result);
  value = wb_db_pool_run_finish (pool, result, &error);
  g_assert_no_error (error);
  return value;
}

static void
test_pool_run_rolls_back (void)
{
  g_autofree char *conninfo = wb_test_pg_create_database ("pool_run");
  g_autoptr(WbDbPool) pool = wb_db_pool_new (conninfo, 1);
  g_autoptr(GError) error = NULL;
  g_autoptr(PGresult) created = NULL;
  g_autofree char *inserted = NULL;
  g_autofree char *count = NULL;
  RunData data = { 0 };

  created = pool_query (pool, "CREATE TABLE pending (id int)", NULL, 0, &error);
  g_assert_no_error (error);

  inserted = pool_run (pool, insert_without_commit, &data);
  g_assert_cmpstr (inserted, ==, "inserted");
  count = pool_run (pool, count_pending, &data);
  g_assert_cmpstr (count, ==, "0");
  g_assert_cmpuint (data.freed, ==, 2);
}

static void
test_pool_acquire_release (void)
{
  g_autoptr(WbDbPool) pool = wb_db_pool_new (wb_test_pg_conninfo (), 1);
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autofree char *answer = NULL;
  WbDbPoolStats stats;
  PGconn *conn;

  conn = wb_db_pool_acquire (pool, NULL, &error);
  g_assert_no_error (error);
  answer = query_value (conn, "SELECT 40 + 2");
  g_assert_cmpstr (answer, ==, "42");

  wb_db_pool_get_stats (pool, &stats);
  g_assert_cmpuint (stats.in_use, ==, 1);

  /* The only connection is taken: a cancelled wait gives up. */
  g_cancellable_cancel (cancellable);
  g_assert_null (wb_db_pool_acquire (pool, cancellable, &error));
  g_assert_error (error, WB_DB_ERROR, WB_DB_ERROR_CANCELLED);
  g_clear_error (&error);

  wb_db_pool_release (pool, conn);
  wb_db_pool_get_stats (pool, &stats);
  g_assert_cmpuint (stats.in_use, ==, 0);
  g_assert_cmpuint (stats.open, ==, 1);
}

static void
test_pool_close (void)
{
  g_autoptr(WbDbPool) pool = wb_db_pool_new (wb_test_pg_conninfo (), 2);
  g_autoptr(GError) error = NULL;
  g_autoptr(PGresult) before = NULL;
  g_autoptr(PGresult) after = NULL;
  WbDbPoolStats stats;

  before = pool_query (pool, "SELECT 1", NULL, 0, &error);
  g_assert_no_error (error);

  wb_db_pool_close (pool);
  wb_db_pool_get_stats (pool, &stats);
  g_assert_cmpuint (stats.open, ==, 0);

  after = pool_query (pool, "SELECT 1", NULL, 0, &error);
  g_assert_null (after);
  g_assert_error (error, WB_DB_ERROR, WB_DB_ERROR_UNAVAILABLE);
  g_clear_error (&error);

  g_assert_null (wb_db_pool_acquire (pool, NULL, &error));
  g_assert_error (error, WB_DB_ERROR, WB_DB_ERROR_UNAVAILABLE);
}

static gboolean
count_tick (gpointer data)
{
  (*(guint *) data)++;
  return G_SOURCE_CONTINUE;
}

static gboolean
cancel_later (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

/* A job stuck on the server does not hold the main loop while the pool
 * closes: the wait runs elsewhere, and a cancellable bounds it. */
static void
test_pool_close_async (void)
{
  g_autoptr(WbDbPool) pool = wb_db_pool_new (wb_test_pg_conninfo (), 2);
  g_autoptr(GCancellable) bound = g_cancellable_new ();
  g_autoptr(GAsyncResult) sleeping = NULL;
  g_autoptr(GAsyncResult) closed = NULL;
  g_autoptr(GAsyncResult) closed_again = NULL;
  g_autoptr(PGresult) slept = NULL;
  g_autoptr(PGresult) refused = NULL;
  g_autoptr(GError) error = NULL;
  WbDbPoolStats stats;
  guint ticks = 0;
  guint ticker;
  gint64 start;

  wb_db_pool_query_async (pool, "SELECT pg_sleep(2)", NULL, 0, NULL, store_result, &sleeping);
  do
    {
      g_usleep (10 * 1000);
      wb_db_pool_get_stats (pool, &stats);
    }
  while (stats.in_use == 0);

  ticker = g_timeout_add (10, count_tick, &ticks);
  g_timeout_add (300, cancel_later, bound);
  start = g_get_monotonic_time ();
  wb_db_pool_close_async (pool, bound, store_result, &closed);
  wait_for (&closed);
  g_assert_false (wb_db_pool_close_finish (pool, closed, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 1500 * 1000);
  g_assert_cmpuint (ticks, >=, 10);
  g_source_remove (ticker);

  /* Closed to new work at once; the running job is let finish. */
  refused = pool_query (pool, "SELECT 1", NULL, 0, &error);
  g_assert_null (refused);
  g_assert_error (error, WB_DB_ERROR, WB_DB_ERROR_UNAVAILABLE);
  g_clear_error (&error);
  wait_for (&sleeping);
  slept = wb_db_pool_query_finish (pool, sleeping, &error);
  g_assert_no_error (error);

  wb_db_pool_close_async (pool, NULL, store_result, &closed_again);
  wait_for (&closed_again);
  g_assert_true (wb_db_pool_close_finish (pool, closed_again, &error));
  g_assert_no_error (error);
  wb_db_pool_get_stats (pool, &stats);
  g_assert_cmpuint (stats.open, ==, 0);
}

static void
assert_fails_fast (WbDbPool *pool)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PGresult) result = NULL;
  gint64 started = g_get_monotonic_time ();

  result = pool_query (pool, "SELECT 1", NULL, 0, &error);
  g_assert_null (result);
  g_assert_nonnull (error);
  g_assert_true (g_error_matches (error, WB_DB_ERROR, WB_DB_ERROR_UNAVAILABLE) ||
                 g_error_matches (error, WB_DB_ERROR, WB_DB_ERROR_CONNECT));
  g_assert_cmpint (g_get_monotonic_time () - started, <, 2 * G_USEC_PER_SEC);
}

static void
test_pool_server_restart (void)
{
  g_autoptr(WbDbPool) pool = wb_db_pool_new (wb_test_pg_conninfo (), 2);
  g_autoptr(GError) error = NULL;
  g_autoptr(PGresult) before = NULL;
  g_autoptr(PGresult) after = NULL;
  WbDbPoolStats stats;
  gint64 deadline;

  before = pool_query (pool, "SELECT 1", NULL, 0, &error);
  g_assert_no_error (error);

  wb_test_pg_stop_server ();

  for (guint i = 0; i < 5; i++)
    assert_fails_fast (pool);
  g_assert_false (pool_ping (pool, &error));
  g_clear_error (&error);

  wb_db_pool_get_stats (pool, &stats);
  g_assert_cmpuint (stats.connect_failures_total, >=, 1);
  g_assert_cmpuint (stats.open, ==, 0);

  wb_test_pg_start_server ();

  /* The back-off is at most 5 s: the pool must be back well within 15. */
  deadline = g_get_monotonic_time () + 15 * G_USEC_PER_SEC;
  while (after == NULL && g_get_monotonic_time () < deadline)
    {
      g_clear_error (&error);
      if ((after = pool_query (pool, "SELECT 1", NULL, 0, &error)) == NULL)
        g_usleep (50 * 1000);
    }
  g_assert_no_error (error);
  g_assert_nonnull (after);
  g_assert_true (pool_ping (pool, &error));
}

/* ---- the embedded cluster ------------------------------------------------------ */

static void
start_async_or_die (WbEmbeddedPostgres *cluster)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  wb_embedded_postgres_start_async (cluster, NULL, store_result, &result);
  wait_for (&result);
  g_assert_true (wb_embedded_postgres_start_finish (cluster, result, &error));
  g_assert_no_error (error);
}

static void
start_or_die (WbEmbeddedPostgres *cluster)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (wb_embedded_postgres_start (cluster, NULL, &error));
  g_assert_no_error (error);
}

static void
stop_or_die (WbEmbeddedPostgres *cluster)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (wb_embedded_postgres_stop (cluster, &error));
  g_assert_no_error (error);
  g_assert_false (wb_embedded_postgres_get_running (cluster));
}

static void
assert_socket_only (WbEmbeddedPostgres *cluster,
                    PGconn             *conn)
{
  g_autoptr(PQconninfoOption) options = PQconninfoParse (wb_embedded_postgres_get_conninfo (cluster), NULL);
  g_autofree char *listen = query_value (conn, "SHOW listen_addresses");
  g_autofree char *permissions = query_value (conn, "SHOW unix_socket_permissions");
  const char *host = NULL;

  for (PQconninfoOption *option = options; option->keyword != NULL; option++)
    if (g_str_equal (option->keyword, "host"))
      host = option->val;

  g_assert_nonnull (host);
  g_assert_true (g_path_is_absolute (host));
  g_assert_true (g_file_test (host, G_FILE_TEST_IS_DIR));
  g_assert_cmpstr (host, ==, wb_embedded_postgres_get_data_dir (cluster));
  g_assert_cmpstr (PQhost (conn), ==, host);
  g_assert_cmpstr (listen, ==, "");
  g_assert_cmpstr (permissions, ==, "0700");
}

static void
write_pid_file (WbEmbeddedPostgres *cluster,
                pid_t               pid)
{
  g_autofree char *path = g_build_filename (wb_embedded_postgres_get_data_dir (cluster), "postmaster.pid", NULL);
  g_autofree char *contents = g_strdup_printf ("%d\n%s\n0\n5432\n", (int) pid,
                                               wb_embedded_postgres_get_data_dir (cluster));
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
}

static pid_t
dead_pid (void)
{
  const char *argv[] = { "/bin/true", NULL };
  g_autoptr(GError) error = NULL;
  GPid pid;
  int status;

  g_spawn_async (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid, &error);
  g_assert_no_error (error);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  return pid;
}

static void
test_embedded_lifecycle (void)
{
  g_autofree char *root = wb_test_pg_make_state_dir ();
  g_autofree char *state_dir = g_build_filename (root, "first", NULL);
  g_autofree char *moved_dir = g_build_filename (root, "moved 'quoted' dir", NULL);
  g_autoptr(WbEmbeddedPostgres) cluster = wb_embedded_postgres_new (state_dir);
  g_autoptr(WbEmbeddedPostgres) moved = NULL;
  g_autofree char *log_path = g_build_filename (state_dir, "postgres.log", NULL);
  g_autofree char *socket_path = NULL;

  start_async_or_die (cluster);
  g_assert_true (wb_embedded_postgres_get_created (cluster));
  g_assert_true (wb_embedded_postgres_get_running (cluster));
  socket_path = g_build_filename (wb_embedded_postgres_get_data_dir (cluster), ".s.PGSQL.5432", NULL);
  g_assert_true (g_file_test (socket_path, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (log_path, G_FILE_TEST_IS_REGULAR));
  {
    g_autoptr(PGconn) conn = connect_or_die (wb_embedded_postgres_get_conninfo (cluster));

    assert_socket_only (cluster, conn);
    exec_or_die (conn, "CREATE TABLE kept (value int)");
    exec_or_die (conn, "INSERT INTO kept VALUES (42)");
  }

  stop_or_die (cluster);
  g_assert_false (g_file_test (socket_path, G_FILE_TEST_EXISTS));
  stop_or_die (cluster);

  start_or_die (cluster);
  g_assert_false (wb_embedded_postgres_get_created (cluster));
  {
    g_autoptr(PGconn) conn = connect_or_die (wb_embedded_postgres_get_conninfo (cluster));
    g_autofree char *kept = query_value (conn, "SELECT value FROM kept");

    g_assert_cmpstr (kept, ==, "42");
  }
  stop_or_die (cluster);

  /* Our settings are rewritten at each start, so a moved state directory
   * (with a name that needs quoting) still works. */
  g_assert_no_errno (g_rename (state_dir, moved_dir));
  moved = wb_embedded_postgres_new (moved_dir);
  start_or_die (moved);
  g_assert_false (wb_embedded_postgres_get_created (moved));
  {
    g_autoptr(PGconn) conn = connect_or_die (wb_embedded_postgres_get_conninfo (moved));
    g_autofree char *kept = query_value (conn, "SELECT value FROM kept");

    assert_socket_only (moved, conn);
    g_assert_cmpstr (kept, ==, "42");
  }
  stop_or_die (moved);

  remove_state_dir (root);
}

static void
test_embedded_stale_pid_file (void)
{
  g_autofree char *state_dir = wb_test_pg_make_state_dir ();
  g_autoptr(WbEmbeddedPostgres) cluster = wb_embedded_postgres_new (state_dir);
  pid_t stale_pids[] = { dead_pid (), getpid () };

  start_or_die (cluster);
  stop_or_die (cluster);

  /* A crash leaves the pid file behind; its pid is either gone or, after
   * a reboot, some other process's. */
  for (guint i = 0; i < G_N_ELEMENTS (stale_pids); i++)
    {
      g_autoptr(PGconn) conn = NULL;
      g_autofree char *answer = NULL;

      write_pid_file (cluster, stale_pids[i]);
      start_or_die (cluster);
      g_assert_false (wb_embedded_postgres_get_created (cluster));
      conn = connect_or_die (wb_embedded_postgres_get_conninfo (cluster));
      answer = query_value (conn, "SELECT 1");
      g_assert_cmpstr (answer, ==, "1");
      g_clear_pointer (&conn, PQfinish);
      stop_or_die (cluster);
    }

  remove_state_dir (state_dir);
}

static void
test_embedded_adopts_running_server (void)
{
  g_autofree char *state_dir = wb_test_pg_make_state_dir ();
  g_autoptr(WbEmbeddedPostgres) first = wb_embedded_postgres_new (state_dir);
  g_autoptr(WbEmbeddedPostgres) second = wb_embedded_postgres_new (state_dir);
  g_autoptr(PGconn) conn = NULL;
  g_autofree char *answer = NULL;
  g_autoptr(GError) error = NULL;

  /* "first" plays a daemon that was killed and left its server running. */
  start_or_die (first);

  start_or_die (second);
  g_assert_false (wb_embedded_postgres_get_created (second));
  conn = connect_or_die (wb_embedded_postgres_get_conninfo (second));
  answer = query_value (conn, "SELECT 1");
  g_assert_cmpstr (answer, ==, "1");
  g_clear_pointer (&conn, PQfinish);

  /* The adopter stops it at shutdown. */
  stop_or_die (second);
  conn = wb_db_connect (wb_embedded_postgres_get_conninfo (first), &error);
  g_assert_null (conn);
  g_assert_error (error, WB_DB_ERROR, WB_DB_ERROR_CONNECT);

  stop_or_die (first);
  remove_state_dir (state_dir);
}

static void
test_embedded_socket_path_too_long (void)
{
  g_autofree char *padding = g_strnfill (120, 'x');
  g_autofree char *state_dir = g_build_filename (g_get_tmp_dir (), padding, NULL);
  g_autoptr(WbEmbeddedPostgres) cluster = wb_embedded_postgres_new (state_dir);
  g_autoptr(GError) error = NULL;

  g_assert_false (wb_embedded_postgres_start (cluster, NULL, &error));
  g_assert_error (error, WB_DB_ERROR, WB_DB_ERROR_CLUSTER);
  g_assert_nonnull (strstr (error->message, "107"));
  g_assert_nonnull (strstr (error->message, padding));
  g_assert_false (g_file_test (state_dir, G_FILE_TEST_EXISTS));
}

static void
test_embedded_comma_in_state_dir (void)
{
  g_autofree char *state_dir = g_build_filename (g_get_tmp_dir (), "waybill,test", NULL);
  g_autoptr(WbEmbeddedPostgres) cluster = wb_embedded_postgres_new (state_dir);
  g_autoptr(GError) error = NULL;

  g_assert_false (wb_embedded_postgres_start (cluster, NULL, &error));
  g_assert_error (error, WB_DB_ERROR, WB_DB_ERROR_CLUSTER);
  g_assert_nonnull (strstr (error->message, state_dir));
  g_assert_false (g_file_test (state_dir, G_FILE_TEST_EXISTS));
}

static void
test_embedded_untraversable_state_dir (void)
{
  g_autofree char *parent = NULL;
  g_autofree char *state_dir = NULL;
  g_autoptr(WbEmbeddedPostgres) cluster = NULL;
  g_autoptr(GError) error = NULL;

  if (geteuid () != 0)
    {
      g_test_skip ("only root hands the cluster to the postgres user");
      return;
    }

  parent = g_dir_make_tmp ("waybill-test-private-XXXXXX", &error);
  g_assert_no_error (error);
  g_assert_no_errno (g_chmod (parent, 0700));
  state_dir = g_build_filename (parent, "state", NULL);
  cluster = wb_embedded_postgres_new (state_dir);

  g_assert_false (wb_embedded_postgres_start (cluster, NULL, &error));
  g_assert_error (error, WB_DB_ERROR, WB_DB_ERROR_CLUSTER);
  g_assert_nonnull (strstr (error->message, "initdb"));
  g_assert_nonnull (strstr (error->message, "hint"));
  g_assert_nonnull (strstr (error->message, parent));

  remove_state_dir (parent);
}

/* Run as root, the cluster needs its unprivileged user: missing, it is
 * a clear refusal, and the user is not made up. */
static void
test_embedded_no_such_server_user (void)
{
  const char *user = "waybill-no-such-user";
  g_autofree char *state_dir = NULL;
  g_autofree char *version_file = NULL;
  g_autoptr(WbEmbeddedPostgres) cluster = NULL;
  g_autoptr(GError) error = NULL;

  if (geteuid () != 0)
    {
      g_test_skip ("only root runs the cluster as another user");
      return;
    }
  g_assert_null (getpwnam (user));

  state_dir = wb_test_pg_make_state_dir ();
  cluster = g_object_new (WB_TYPE_EMBEDDED_POSTGRES, "state-dir", state_dir, "server-user", user, NULL);

  g_assert_false (wb_embedded_postgres_start (cluster, NULL, &error));
  g_assert_error (error, WB_DB_ERROR, WB_DB_ERROR_CLUSTER);
  g_assert_nonnull (strstr (error->message, "must run as the unprivileged “waybill-no-such-user” system user, "
                                            "which does not exist"));
  g_assert_nonnull (strstr (error->message, "install the postgresql package"));
  g_assert_null (strchr (error->message, '\n'));

  g_assert_null (getpwnam (user));
  g_assert_false (wb_embedded_postgres_get_running (cluster));
  version_file = g_build_filename (wb_embedded_postgres_get_data_dir (cluster), "PG_VERSION", NULL);
  g_assert_false (g_file_test (version_file, G_FILE_TEST_EXISTS));
  remove_state_dir (state_dir);
}

/* ---- transactions ----------------------------------------------------------- */

typedef struct
{
  PGconn       *other;            /* a second session, for a concurrent writer */
  const char   *raise;            /* a SQLSTATE the body raises after writing, or NULL */
  guint         raise_times;      /* in this many attempts */
  GCancellable *cancel_on_raise;  /* cancelled once the body has failed */
  guint         attempts;
} Body;

static gboolean
raise_sqlstate (PGconn        *conn,
                const char    *sqlstate,
                GCancellable  *cancellable,
                GError       **error)
{
  g_autofree char *sql = g_strdup_printf ("DO $$ BEGIN RAISE EXCEPTION 'raised by the test' "
                                          "USING ERRCODE = '%s'; END $$", sqlstate);

  return wb_db_exec_command (conn, sql, NULL, 0, cancellable, error);
}

/* Adds 10 to the one row, then fails as told. With @other set, that
 * session moves the row on after this transaction's snapshot, once, so the
 * first update is a real serialization failure. */
static gboolean
add_ten (PGconn        *conn,
         gpointer       user_data,
         GCancellable  *cancellable,
         GError       **error)
{
  Body *body = user_data;
  g_autoptr(PGresult) read = NULL;

  body->attempts++;
  g_assert_cmpint (PQtransactionStatus (conn), ==, PQTRANS_INTRANS);
  if (!wb_db_exec_command (conn, "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", NULL, 0, cancellable, error)
      || (read = wb_db_exec (conn, "SELECT v FROM counter", NULL, 0, cancellable, error)) == NULL)
    return FALSE;
  if (body->other != NULL && body->attempts == 1)
    exec_or_die (body->other, "UPDATE counter SET v = v + 1");
  if (!wb_db_exec_command (conn, "UPDATE counter SET v = v + 10", NULL, 0, cancellable, error))
    return FALSE;
  if (body->raise == NULL || body->attempts > body->raise_times)
    return TRUE;
  g_assert_false (raise_sqlstate (conn, body->raise, cancellable, error));
  if (body->cancel_on_raise != NULL)
    g_cancellable_cancel (body->cancel_on_raise);
  return FALSE;
}

static PGconn *
counter_database (const char *prefix)
{
  g_autofree char *conninfo = wb_test_pg_create_database (prefix);
  PGconn *conn = connect_or_die (conninfo);

  exec_or_die (conn, "CREATE TABLE counter (v int NOT NULL)");
  exec_or_die (conn, "INSERT INTO counter VALUES (0)");
  return conn;
}

static char *
counter_value (PGconn *conn)
{
  return query_value (conn, "SELECT v FROM counter");
}

static void
test_transaction_commits (void)
{
  g_autoptr(PGconn) conn = counter_database ("tx_commit");
  g_autoptr(GError) error = NULL;
  g_autofree char *value = NULL;
  Body body = { 0 };

  g_assert_true (wb_db_transaction_run (conn, add_ten, &body, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (body.attempts, ==, 1);
  g_assert_cmpint (PQtransactionStatus (conn), ==, PQTRANS_IDLE);
  value = counter_value (conn);
  g_assert_cmpstr (value, ==, "10");
}

/* Written, then failed: nothing stays, the error is the body's own, and
 * the connection is ready for the next transaction. */
static void
test_transaction_rolls_back (void)
{
  g_autoptr(PGconn) conn = counter_database ("tx_rollback");
  g_autoptr(GError) error = NULL;
  g_autofree char *value = NULL;
  Body body = { .raise = "23514", .raise_times = 1 };

  g_assert_false (wb_db_transaction_run (conn, add_ten, &body, NULL, &error));
  g_assert_error (error, WB_DB_ERROR, WB_DB_ERROR_QUERY);
  g_assert_cmpstr (wb_db_error_get_sqlstate (error), ==, "23514");
  g_assert_cmpint (PQtransactionStatus (conn), ==, PQTRANS_IDLE);
  value = counter_value (conn);
  g_assert_cmpstr (value, ==, "0");
}

static gboolean
write_then_fail (PGconn        *conn,
                 gpointer       user_data,
                 GCancellable  *cancellable,
                 GError       **error)
{
  guint *attempts = user_data;

  (*attempts)++;
  if (!wb_db_exec_command (conn, "UPDATE counter SET v = v + 100", NULL, 0, cancellable, error))
    return FALSE;
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "refused by the caller");
  return FALSE;
}

static void
test_transaction_rolls_back_caller_error (void)
{
  g_autoptr(PGconn) conn = counter_database ("tx_caller_error");
  g_autoptr(GError) error = NULL;
  g_autofree char *value = NULL;
  guint attempts = 0;

  g_assert_false (wb_db_transaction_run (conn, write_then_fail, &attempts, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_cmpuint (attempts, ==, 1);
  g_assert_cmpint (PQtransactionStatus (conn), ==, PQTRANS_IDLE);
  value = counter_value (conn);
  g_assert_cmpstr (value, ==, "0");
}

/* Two sessions, one row: the other commits an update after this
 * SERIALIZABLE transaction read the row, so this one's update fails with
 * 40001; run again, it sees the other's write and adds to it. */
static void
test_transaction_retries_serialization_failure (void)
{
  g_autofree char *conninfo = wb_test_pg_create_database ("tx_serialization");
  g_autoptr(PGconn) conn = connect_or_die (conninfo);
  g_autoptr(PGconn) other = connect_or_die (conninfo);
  g_autoptr(GError) error = NULL;
  g_autofree char *value = NULL;
  Body body = { .other = other };

  exec_or_die (conn, "CREATE TABLE counter (v int NOT NULL)");
  exec_or_die (conn, "INSERT INTO counter VALUES (0)");
  g_assert_true (wb_db_transaction_run (conn, add_ten, &body, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (body.attempts, ==, 2);
  value = counter_value (other);
  g_assert_cmpstr (value, ==, "11");
}

static void
test_transaction_retries_deadlock (void)
{
  g_autoptr(PGconn) conn = counter_database ("tx_deadlock");
  g_autoptr(GError) error = NULL;
  g_autofree char *value = NULL;
  Body body = { .raise = "40P01", .raise_times = 1 };

  g_assert_true (wb_db_transaction_run (conn, add_ten, &body, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (body.attempts, ==, 2);
  value = counter_value (conn);
  g_assert_cmpstr (value, ==, "10");
}

/* Unique violations, syntax errors, lost connections: repeating the same
 * transaction would only fail the same way, or apply something twice. */
static void
test_transaction_no_retry_on_other_errors (void)
{
  g_autoptr(PGconn) conn = counter_database ("tx_no_retry");
  const char *sqlstates[] = { "23505", "42601", "40002", "57014" };

  for (guint i = 0; i < G_N_ELEMENTS (sqlstates); i++)
    {
      g_autoptr(GError) error = NULL;
      Body body = { .raise = sqlstates[i], .raise_times = G_MAXUINT };

      g_assert_false (wb_db_transaction_run (conn, add_ten, &body, NULL, &error));
      g_assert_cmpstr (wb_db_error_get_sqlstate (error), ==, sqlstates[i]);
      g_assert_cmpuint (body.attempts, ==, 1);
      g_assert_false (wb_db_transaction_is_retryable (error));
    }
}

static void
test_transaction_attempts_bounded (void)
{
  g_autoptr(PGconn) conn = counter_database ("tx_bounded");
  g_autoptr(GError) error = NULL;
  g_autofree char *value = NULL;
  Body body = { .raise = "40001", .raise_times = G_MAXUINT };
  gint64 started = g_get_monotonic_time ();

  g_assert_false (wb_db_transaction_run (conn, add_ten, &body, NULL, &error));
  g_assert_cmpstr (wb_db_error_get_sqlstate (error), ==, "40001");
  g_assert_cmpuint (body.attempts, ==, WB_DB_TRANSACTION_MAX_ATTEMPTS);
  /* The pauses between attempts stay small. */
  g_assert_cmpint (g_get_monotonic_time () - started, <, 2 * G_USEC_PER_SEC);
  g_assert_cmpint (PQtransactionStatus (conn), ==, PQTRANS_IDLE);
  value = counter_value (conn);
  g_assert_cmpstr (value, ==, "0");
}

/* A caller that gives up between attempts is not kept for the next one. */
static void
test_transaction_cancellable (void)
{
  g_autoptr(PGconn) conn = counter_database ("tx_cancel");
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *value = NULL;
  Body body = { .raise = "40001", .raise_times = G_MAXUINT, .cancel_on_raise = cancellable };

  g_assert_false (wb_db_transaction_run (conn, add_ten, &body, cancellable, &error));
  g_assert_error (error, WB_DB_ERROR, WB_DB_ERROR_CANCELLED);
  g_assert_cmpuint (body.attempts, ==, 1);
  g_assert_cmpint (PQtransactionStatus (conn), ==, PQTRANS_IDLE);
  value = counter_value (conn);
  g_assert_cmpstr (value, ==, "0");
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/db/connect/defaults", test_connect_defaults);
  g_test_add_func ("/db/connect/error-hides-password", test_connect_error_hides_password);
  g_test_add_func ("/db/connect/malformed-hides-password", test_connect_malformed_hides_password);
  g_test_add_func ("/db/error/sqlstate", test_error_sqlstate);
  g_test_add_func ("/db/transaction/commits", test_transaction_commits);
  g_test_add_func ("/db/transaction/rolls-back", test_transaction_rolls_back);
  g_test_add_func ("/db/transaction/rolls-back-caller-error", test_transaction_rolls_back_caller_error);
  g_test_add_func ("/db/transaction/retries-serialization-failure", test_transaction_retries_serialization_failure);
  g_test_add_func ("/db/transaction/retries-deadlock", test_transaction_retries_deadlock);
  g_test_add_func ("/db/transaction/no-retry-on-other-errors", test_transaction_no_retry_on_other_errors);
  g_test_add_func ("/db/transaction/attempts-bounded", test_transaction_attempts_bounded);
  g_test_add_func ("/db/transaction/cancellable", test_transaction_cancellable);
  g_test_add_func ("/db/migrations/apply-twice", test_migrations_apply_twice);
  g_test_add_func ("/db/migrations/concurrent", test_migrations_concurrent);
  g_test_add_func ("/db/migrations/schema-too-new", test_migrations_schema_too_new);
  g_test_add_func ("/db/migrations/checksum-mismatch", test_migrations_checksum_mismatch);
  g_test_add_func ("/db/migrations/failure-rolls-back", test_migrations_failure_rolls_back);
  g_test_add_func ("/db/migrations/lock-wait-cancellable", test_migrations_lock_wait_cancellable);
  g_test_add_func ("/db/migrations/parse-names", test_migrations_parse_names);
  g_test_add_func ("/db/pool/parameters", test_pool_parameters);
  g_test_add_func ("/db/pool/errors-and-stats", test_pool_errors_and_stats);
  g_test_add_func ("/db/pool/size-limit", test_pool_size_limit);
  g_test_add_func ("/db/pool/cancel", test_pool_cancel);
  g_test_add_func ("/db/pool/run-rolls-back", test_pool_run_rolls_back);
  g_test_add_func ("/db/pool/acquire-release", test_pool_acquire_release);
  g_test_add_func ("/db/pool/close", test_pool_close);
  g_test_add_func ("/db/pool/close-async", test_pool_close_async);
  g_test_add_func ("/db/pool/server-restart", test_pool_server_restart);
  g_test_add_func ("/db/embedded/lifecycle", test_embedded_lifecycle);
  g_test_add_func ("/db/embedded/stale-pid-file", test_embedded_stale_pid_file);
  g_test_add_func ("/db/embedded/adopts-running-server", test_embedded_adopts_running_server);
  g_test_add_func ("/db/embedded/socket-path-too-long", test_embedded_socket_path_too_long);
  g_test_add_func ("/db/embedded/comma-in-state-dir", test_embedded_comma_in_state_dir);
  g_test_add_func ("/db/embedded/untraversable-state-dir", test_embedded_untraversable_state_dir);
  g_test_add_func ("/db/embedded/no-such-server-user", test_embedded_no_such_server_user);

  status = g_test_run ();
  wb_test_pg_teardown ();
  return status;
}
