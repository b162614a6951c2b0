// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include "wb-migrations-private.h"
#include "wb-data-resources.h"
#include "wb-db-private.h"
#include "wb-db-transaction.h"

#include <errno.h>
#include <string.h>

#define MIGRATIONS_PATH "/org/waybill/Waybill/migrations/"

/* Session-level advisory lock serializing migrators across daemons that
 * share one database: "Waybill" read as a big-endian integer. It is taken
 * with pg_try_advisory_lock in a loop rather than pg_advisory_lock, which
 * would wait in the server where no cancellation reaches it. */
#define MIGRATION_LOCK_KEY      "24595496943840364"
#define MIGRATION_TRY_LOCK_SQL  "SELECT pg_try_advisory_lock(" MIGRATION_LOCK_KEY ")"
#define MIGRATION_UNLOCK_SQL    "SELECT pg_advisory_unlock(" MIGRATION_LOCK_KEY ")"
#define LOCK_RETRY_MS           100

/* A bigint advisory key shows in pg_locks as classid (high half) and objid. */
#define LOCK_HOLDER_SQL \
  "SELECT a.pid, coalesce(nullif(a.application_name, ''), 'no application name'), " \
  "       coalesce(host(a.client_addr), 'a local socket') " \
  "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid " \
  "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 " \
  "  AND (l.classid::bigint << 32 | l.objid::bigint) = " MIGRATION_LOCK_KEY " " \
  "LIMIT 1"

#define CREATE_SCHEMA_MIGRATIONS_SQL \
  "CREATE TABLE IF NOT EXISTS schema_migrations (" \
  "  version    integer     PRIMARY KEY," \
  "  name       text        NOT NULL," \
  "  checksum   text        NOT NULL," \
  "  applied_at timestamptz NOT NULL DEFAULT now()" \
  ")"

void
_wb_migration_free (WbMigration *migration)
{
  g_free (migration->name);
  g_free (migration->file_name);
  g_clear_pointer (&migration->sql, g_bytes_unref);
  g_free (migration->checksum);
  g_free (migration);
}

WbMigration *
_wb_migration_new (int         version,
                   const char *name,
                   const char *sql)
{
  WbMigration *migration = g_new0 (WbMigration, 1);

  migration->version = version;
  migration->name = g_strdup (name);
  migration->file_name = g_strdup_printf ("%04d_%s.sql", version, name);
  migration->sql = g_bytes_new_take (g_strdup (sql), strlen (sql));
  migration->checksum = g_compute_checksum_for_string (G_CHECKSUM_SHA256, sql, -1);
  return migration;
}

static WbMigration *
parse_file_name (const char *file_name)
{
  g_autoptr(WbMigration) migration = NULL;
  const char *underscore = strchr (file_name, '_');
  guint64 version;

  if (underscore == NULL || !g_str_has_suffix (underscore, ".sql") ||
      strlen (underscore) <= strlen ("_.sql"))
    return NULL;

  for (const char *p = file_name; p < underscore; p++)
    if (!g_ascii_isdigit (*p))
      return NULL;

  version = g_ascii_strtoull (file_name, NULL, 10);
  if (underscore == file_name || version == 0 || version > G_MAXINT)
    return NULL;

  migration = g_new0 (WbMigration, 1);
  migration->version = (int) version;
  migration->name = g_strndup (underscore + 1, strlen (underscore + 1) - strlen (".sql"));
  migration->file_name = g_strdup (file_name);
  return g_steal_pointer (&migration);
}

static int
compare_versions (gconstpointer a,
                  gconstpointer b)
{
  const WbMigration *first = *(WbMigration **) a;
  const WbMigration *second = *(WbMigration **) b;

  return (first->version > second->version) - (first->version < second->version);
}

GPtrArray *
_wb_migrations_parse (const char * const  *file_names,
                      GError             **error)
{
  g_autoptr(GPtrArray) migrations = NULL;

  migrations = g_ptr_array_new_with_free_func ((GDestroyNotify) _wb_migration_free);
  for (guint i = 0; file_names[i] != NULL; i++)
    {
      WbMigration *migration = parse_file_name (file_names[i]);

      if (migration == NULL)
        {
          g_set_error (error, WB_DB_ERROR, WB_DB_ERROR_MIGRATION,
                       "migration file name “%s” is not NNNN_name.sql", file_names[i]);
          return NULL;
        }
      g_ptr_array_add (migrations, migration);
    }

  g_ptr_array_sort (migrations, compare_versions);

  for (guint i = 1; i < migrations->len; i++)
    {
      const WbMigration *previous = g_ptr_array_index (migrations, i - 1);
      const WbMigration *current = g_ptr_array_index (migrations, i);

      if (previous->version == current->version)
        {
          g_set_error (error, WB_DB_ERROR, WB_DB_ERROR_MIGRATION,
                       "migrations “%s” and “%s” share the number %d",
                       previous->file_name, current->file_name, current->version);
          return NULL;
        }
    }

  return g_steal_pointer (&migrations);
}

static gboolean
load_sql (WbMigration  *migration,
          GError      **error)
{
  g_autofree char *path = g_strconcat (MIGRATIONS_PATH, migration->file_name, NULL);

  migration->sql = g_resources_lookup_data (path, G_RESOURCE_LOOKUP_FLAGS_NONE, error);
  if (migration->sql == NULL)
    return FALSE;

  migration->checksum = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, migration->sql);
  return TRUE;
}

GPtrArray *
_wb_migrations_load_compiled (GError **error)
{
  g_autoptr(GPtrArray) migrations = NULL;
  g_autoptr(GError) local_error = NULL;
  g_auto(GStrv) names = NULL;

  /* Referencing the resource keeps its object (and the constructor that
   * registers it) in binaries linking the static library. */
  if (wb_data_get_resource () == NULL)
    {
      g_set_error_literal (error, WB_DB_ERROR, WB_DB_ERROR_MIGRATION,
                           "the data resource holding the migrations is missing");
      return NULL;
    }

  names = g_resources_enumerate_children (MIGRATIONS_PATH, G_RESOURCE_LOOKUP_FLAGS_NONE,
                                          &local_error);
  if (names == NULL)
    {
      g_set_error (error, WB_DB_ERROR, WB_DB_ERROR_MIGRATION,
                   "no migrations compiled in: %s", local_error->message);
      return NULL;
    }

  if ((migrations = _wb_migrations_parse ((const char * const *) names, error)) == NULL)
    return NULL;

  for (guint i = 0; i < migrations->len; i++)
    if (!load_sql (g_ptr_array_index (migrations, i), error))
      return NULL;

  return g_steal_pointer (&migrations);
}

/* A migration file holds several statements, so it goes through the simple
 * query protocol; it is compiled-in SQL, never built from input. Resources
 * end with a NUL the size does not count. */
static gboolean
exec_script (PGconn        *conn,
             GBytes        *sql,
             GCancellable  *cancellable,
             GError       **error)
{
  g_autoptr(PGresult) result = _wb_db_exec_script (conn, g_bytes_get_data (sql, NULL), cancellable, error);

  return result != NULL;
}

/* The migration and its record commit together. */
static gboolean
apply_in_transaction (PGconn        *conn,
                      gpointer       user_data,
                      GCancellable  *cancellable,
                      GError       **error)
{
  WbMigration *migration = user_data;
  g_autofree char *version = g_strdup_printf ("%d", migration->version);
  const char *params[] = { version, migration->name, migration->checksum };

  return exec_script (conn, migration->sql, cancellable, error)
         && wb_db_exec_command (conn, "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                                params, G_N_ELEMENTS (params), cancellable, error);
}

static gboolean
apply_one (PGconn        *conn,
           WbMigration   *migration,
           GCancellable  *cancellable,
           GError       **error)
{
  g_autoptr(GError) local_error = NULL;

  if (!wb_db_transaction_run (conn, apply_in_transaction, migration, cancellable, &local_error))
    {
      if (local_error->code == WB_DB_ERROR_QUERY)
        local_error->code = WB_DB_ERROR_MIGRATION;
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                  "migration %s: ", migration->file_name);
      return FALSE;
    }

  g_info ("applied migration %s", migration->file_name);
  return TRUE;
}

static const WbMigration *
find_migration (GPtrArray *migrations,
                int        version)
{
  for (guint i = 0; i < migrations->len; i++)
    {
      const WbMigration *migration = g_ptr_array_index (migrations, i);

      if (migration->version == version)
        return migration;
    }

  return NULL;
}

static int
latest_of (GPtrArray *migrations)
{
  const WbMigration *last;

  if (migrations->len == 0)
    return 0;

  last = g_ptr_array_index (migrations, migrations->len - 1);
  return last->version;
}

/* What the database recorded must be a prefix-compatible subset of what we
 * carry: nothing newer, nothing unknown, nothing edited after the fact. */
static gboolean
check_recorded_row (GPtrArray   *migrations,
                    int          version,
                    const char  *checksum,
                    GError     **error)
{
  const WbMigration *migration;

  if (version > latest_of (migrations))
    {
      g_set_error (error, WB_DB_ERROR, WB_DB_ERROR_SCHEMA_TOO_NEW,
                   "the database schema is at version %d, newer than this binary's %d; "
                   "run a newer Waybill against it",
                   version, latest_of (migrations));
      return FALSE;
    }

  if ((migration = find_migration (migrations, version)) == NULL)
    {
      g_set_error (error, WB_DB_ERROR, WB_DB_ERROR_MIGRATION,
                   "the database records migration %d, which this binary does not have",
                   version);
      return FALSE;
    }

  if (!g_str_equal (checksum, migration->checksum))
    {
      g_set_error (error, WB_DB_ERROR, WB_DB_ERROR_MIGRATION,
                   "migration %s differs from the one applied to the database "
                   "(sha256 %s here, %s recorded); applied migrations must never change",
                   migration->file_name, migration->checksum, checksum);
      return FALSE;
    }

  return TRUE;
}

static GHashTable *
check_recorded (PGconn     *conn,
                GPtrArray  *migrations,
                GError    **error)
{
  g_autoptr(GHashTable) applied = g_hash_table_new (g_direct_hash, g_direct_equal);
  g_autoptr(PGresult) result = NULL;

  result = wb_db_exec (conn,
                       "SELECT version, checksum FROM schema_migrations ORDER BY version DESC",
                       NULL, 0, NULL, error);
  if (result == NULL)
    return NULL;

  for (int row = 0; row < PQntuples (result); row++)
    {
      int version = (int) g_ascii_strtoll (PQgetvalue (result, row, 0), NULL, 10);

      if (!check_recorded_row (migrations, version, PQgetvalue (result, row, 1), error))
        return NULL;
      g_hash_table_add (applied, GINT_TO_POINTER (version));
    }

  return g_steal_pointer (&applied);
}

static gboolean
apply_locked (PGconn        *conn,
              GPtrArray     *migrations,
              GCancellable  *cancellable,
              guint         *out_applied,
              GError       **error)
{
  g_autoptr(GHashTable) applied = NULL;

  if (!wb_db_exec_command (conn, CREATE_SCHEMA_MIGRATIONS_SQL, NULL, 0, cancellable, error))
    return FALSE;

  if ((applied = check_recorded (conn, migrations, error)) == NULL)
    return FALSE;

  for (guint i = 0; i < migrations->len; i++)
    {
      WbMigration *migration = g_ptr_array_index (migrations, i);

      if (g_hash_table_contains (applied, GINT_TO_POINTER (migration->version)))
        continue;
      if (!apply_one (conn, migration, cancellable, error))
        return FALSE;
      (*out_applied)++;
    }

  return TRUE;
}

/* Who holds the lock, for an operator wondering why nothing happens. */
static char *
describe_lock_holder (PGconn *conn)
{
  g_autoptr(PGresult) result = wb_db_exec (conn, LOCK_HOLDER_SQL, NULL, 0, NULL, NULL);

  if (result == NULL || PQntuples (result) == 0)
    return g_strdup ("another database session");

  return g_strdup_printf ("PostgreSQL backend pid %s, %s, connected through %s",
                          PQgetvalue (result, 0, 0), PQgetvalue (result, 0, 1), PQgetvalue (result, 0, 2));
}

/* Returns FALSE at once if @cancellable fires during the pause. */
static gboolean
pause_unless_cancelled (GCancellable *cancellable,
                        guint         milliseconds)
{
  GPollFD fd = { 0 };

  if (cancellable == NULL || !g_cancellable_make_pollfd (cancellable, &fd))
    {
      g_usleep (milliseconds * 1000);
      return !g_cancellable_is_cancelled (cancellable);
    }

  while (g_poll (&fd, 1, milliseconds) < 0 && errno == EINTR)
    ;
  g_cancellable_release_fd (cancellable);
  return !g_cancellable_is_cancelled (cancellable);
}

static gboolean
take_lock (PGconn                *conn,
           GCancellable          *cancellable,
           WbMigrationsWaitFunc   waiting,
           gpointer               user_data,
           GError               **error)
{
  gboolean announced = FALSE;

  for (;;)
    {
      g_autoptr(PGresult) result = wb_db_exec (conn, MIGRATION_TRY_LOCK_SQL, NULL, 0, cancellable, error);

      if (result == NULL)
        return FALSE;
      if (g_str_equal (PQgetvalue (result, 0, 0), "t"))
        return TRUE;

      if (!announced && waiting != NULL)
        {
          g_autofree char *holder = describe_lock_holder (conn);

          waiting (holder, user_data);
        }
      announced = TRUE;

      if (!pause_unless_cancelled (cancellable, LOCK_RETRY_MS))
        {
          g_set_error_literal (error, WB_DB_ERROR, WB_DB_ERROR_CANCELLED,
                               "waiting for the schema migration lock was cancelled");
          return FALSE;
        }
    }
}

gboolean
_wb_migrations_apply_list (PGconn                *conn,
                           GPtrArray             *migrations,
                           GCancellable          *cancellable,
                           WbMigrationsWaitFunc   waiting,
                           gpointer               user_data,
                           guint                 *out_applied,
                           GError               **error)
{
  guint applied = 0;
  gboolean ok;

  if (out_applied != NULL)
    *out_applied = 0;

  if (!take_lock (conn, cancellable, waiting, user_data, error))
    return FALSE;

  ok = apply_locked (conn, migrations, cancellable, &applied, error);

  /* After a failure the lock is only released on a usable connection;
   * otherwise it goes with the session. Cancelled or not, it is released. */
  if (!wb_db_exec_command (conn, MIGRATION_UNLOCK_SQL, NULL, 0, NULL, ok ? error : NULL))
    ok = FALSE;

  if (out_applied != NULL)
    *out_applied = applied;

  return ok;
}

/**
 * wb_migrations_apply_full:
 * @cancellable: (nullable): stops the wait for the lock and the migration
 *   running (which is rolled back), with %WB_DB_ERROR_CANCELLED
 * @waiting: (nullable): called once, on the calling thread, when another
 *   session holds the migration lock, with a description of that session
 * @out_applied: (out) (optional): how many migrations this call applied
 *
 * Brings the database to the compiled-in schema, applying what is missing
 * in order, each in its own transaction, under an advisory lock so that
 * daemons starting together apply each migration once. Refuses a database
 * migrated by a newer binary (%WB_DB_ERROR_SCHEMA_TOO_NEW) or one whose
 * applied migrations differ from ours (%WB_DB_ERROR_MIGRATION).
 */
gboolean
wb_migrations_apply_full (PGconn                *conn,
                          GCancellable          *cancellable,
                          WbMigrationsWaitFunc   waiting,
                          gpointer               user_data,
                          guint                 *out_applied,
                          GError               **error)
{
  g_autoptr(GPtrArray) migrations = NULL;

  g_return_val_if_fail (conn != NULL, FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (out_applied != NULL)
    *out_applied = 0;

  if ((migrations = _wb_migrations_load_compiled (error)) == NULL)
    return FALSE;

  return _wb_migrations_apply_list (conn, migrations, cancellable, waiting, user_data, out_applied, error);
}

/**
 * wb_migrations_apply:
 * @out_applied: (out) (optional): how many migrations this call applied
 *
 * wb_migrations_apply_full() without cancellation: waits for the lock as
 * long as another session holds it.
 */
gboolean
wb_migrations_apply (PGconn  *conn,
                     guint   *out_applied,
                     GError **error)
{
  g_return_val_if_fail (conn != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return wb_migrations_apply_full (conn, NULL, NULL, NULL, out_applied, error);
}

/**
 * wb_migrations_latest_version:
 *
 * Returns: the highest migration number compiled in
 */
int
wb_migrations_latest_version (void)
{
  g_autoptr(GPtrArray) migrations = NULL;
  g_autoptr(GError) error = NULL;

  if ((migrations = _wb_migrations_load_compiled (&error)) == NULL)
    {
      g_critical ("compiled-in migrations are broken: %s", error->message);
      return -1;
    }

  return latest_of (migrations);
}

/**
 * wb_migrations_current_version:
 *
 * Returns: the highest migration applied to the database, 0 if none, or
 *   -1 with @error set
 */
int
wb_migrations_current_version (PGconn  *conn,
                               GError **error)
{
  g_autoptr(PGresult) exists = NULL;
  g_autoptr(PGresult) result = NULL;

  g_return_val_if_fail (conn != NULL, -1);
  g_return_val_if_fail (error == NULL || *error == NULL, -1);

  exists = wb_db_exec (conn, "SELECT to_regclass('schema_migrations') IS NOT NULL",
                       NULL, 0, NULL, error);
  if (exists == NULL)
    return -1;
  if (g_str_equal (PQgetvalue (exists, 0, 0), "f"))
    return 0;

  result = wb_db_exec (conn, "SELECT coalesce(max(version), 0) FROM schema_migrations",
                       NULL, 0, NULL, error);
  if (result == NULL)
    return -1;

  return (int) g_ascii_strtoll (PQgetvalue (result, 0, 0), NULL, 10);
}
