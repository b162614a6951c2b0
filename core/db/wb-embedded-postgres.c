// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include "wb-embedded-postgres.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define DATABASE_NAME     "waybill"
#define DATABASE_USER     "waybill"
#define SERVER_USER       "postgres"   /* Debian's, made by the postgresql package */
#define PORT              "5432"
#define SOCKET_NAME       ".s.PGSQL." PORT
#define SETTINGS_FILE     "waybill.conf"
#define INCLUDE_LINE      "include = '" SETTINGS_FILE "'"
#define PG_CTL_TIMEOUT    "60"
#define ADOPT_TIMEOUT_US  (60 * G_USEC_PER_SEC)
#define ORPHAN_TIMEOUT_US (10 * G_USEC_PER_SEC)
#define LOG_TAIL_BYTES    2048

typedef struct
{
  gboolean switch_user;   /* we are root: run the server as the server user */
  uid_t    uid;
  gid_t    gid;
  char     failure[160];  /* said by the child if switching fails: no allocation there */
} RunAs;

typedef enum
{
  POSTMASTER_NONE,
  POSTMASTER_STALE,
  POSTMASTER_RUNNING,
} PostmasterState;

struct _WbEmbeddedPostgres
{
  GObject   parent_instance;

  char     *state_dir;      /* absolute */
  char     *data_dir;       /* <state_dir>/postgres, also the socket directory */
  char     *log_path;       /* <state_dir>/postgres.log */
  char     *conninfo;
  char     *server_user;    /* run as, when we are root */

  /* start and stop may come from different threads */
  GMutex    mutex;
  char     *bindir;
  RunAs     run_as;
  gboolean  running;        /* a server we started or adopted, so ours to stop */
  gboolean  created;
};

G_DEFINE_FINAL_TYPE (WbEmbeddedPostgres, wb_embedded_postgres, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_STATE_DIR,
  PROP_SERVER_USER,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
set_cluster_error (GError     **error,
                   const char  *format,
                   ...) G_GNUC_PRINTF (2, 3);

static void
set_cluster_error (GError     **error,
                   const char  *format,
                   ...)
{
  va_list args;

  va_start (args, format);
  g_propagate_error (error, g_error_new_valist (WB_DB_ERROR, WB_DB_ERROR_CLUSTER, format, args));
  va_end (args);
}

static gboolean
check_cancelled (GCancellable  *cancellable,
                 GError       **error)
{
  if (!g_cancellable_is_cancelled (cancellable))
    return FALSE;

  g_set_error_literal (error, WB_DB_ERROR, WB_DB_ERROR_CANCELLED,
                       "starting the embedded PostgreSQL was cancelled");
  return TRUE;
}

/* Values in libpq conninfo strings are single-quoted with backslash escapes. */
static void
append_conninfo_value (GString    *out,
                       const char *keyword,
                       const char *value)
{
  g_string_append_printf (out, "%s%s='", out->len > 0 ? " " : "", keyword);
  for (const char *p = value; *p != '\0'; p++)
    {
      if (*p == '\'' || *p == '\\')
        g_string_append_c (out, '\\');
      g_string_append_c (out, *p);
    }
  g_string_append_c (out, '\'');
}

static char *
build_conninfo (const char *socket_dir,
                const char *dbname)
{
  GString *out = g_string_new (NULL);

  append_conninfo_value (out, "host", socket_dir);
  append_conninfo_value (out, "port", PORT);
  append_conninfo_value (out, "dbname", dbname);
  append_conninfo_value (out, "user", DATABASE_USER);
  return g_string_free (out, FALSE);
}

/* postgresql.conf strings: single quotes doubled, backslashes escaped. */
static void
append_conf_string (GString    *out,
                    const char *value)
{
  g_string_append_c (out, '\'');
  for (const char *p = value; *p != '\0'; p++)
    {
      if (*p == '\'')
        g_string_append (out, "''");
      else if (*p == '\\')
        g_string_append (out, "\\\\");
      else
        g_string_append_c (out, *p);
    }
  g_string_append_c (out, '\'');
}

/* unix_socket_directories is a list: a double-quoted element may hold
 * commas and spaces, with "" for a literal double quote. */
static char *
quote_list_element (const char *value)
{
  GString *out = g_string_new ("\"");

  for (const char *p = value; *p != '\0'; p++)
    {
      if (*p == '"')
        g_string_append_c (out, '"');
      g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
  return g_string_free (out, FALSE);
}

/* ---- finding the server programs ---------------------------------------- */

static gboolean
has_server_programs (const char *dir)
{
  g_autofree char *initdb = g_build_filename (dir, "initdb", NULL);
  g_autofree char *pg_ctl = g_build_filename (dir, "pg_ctl", NULL);

  return g_file_test (initdb, G_FILE_TEST_IS_EXECUTABLE) &&
         g_file_test (pg_ctl, G_FILE_TEST_IS_EXECUTABLE);
}

static char *
bindir_from_pg_config (void)
{
  g_autofree char *pg_config = g_find_program_in_path ("pg_config");
  g_autofree char *output = NULL;
  const char *argv[] = { pg_config, "--bindir", NULL };
  int status;

  if (pg_config == NULL ||
      !g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL,
                     NULL, NULL, &output, NULL, &status, NULL) ||
      !g_spawn_check_wait_status (status, NULL))
    return NULL;

  g_strstrip (output);
  return has_server_programs (output) ? g_steal_pointer (&output) : NULL;
}

/* Debian installs each major version side by side under /usr/lib/postgresql. */
static char *
bindir_from_debian_layout (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/usr/lib/postgresql", 0, NULL);
  g_autofree char *best = NULL;
  double best_version = -1;
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *bindir = g_build_filename ("/usr/lib/postgresql", name, "bin", NULL);
      double version = g_ascii_strtod (name, NULL);

      if (version > best_version && has_server_programs (bindir))
        {
          best_version = version;
          g_free (best);
          best = g_steal_pointer (&bindir);
        }
    }

  return g_steal_pointer (&best);
}

static char *
bindir_from_path (void)
{
  g_autofree char *initdb = g_find_program_in_path ("initdb");
  g_autofree char *dir = NULL;

  if (initdb == NULL)
    return NULL;

  dir = g_path_get_dirname (initdb);
  return has_server_programs (dir) ? g_steal_pointer (&dir) : NULL;
}

static char *
find_bindir (GError **error)
{
  const char *from_env = g_getenv ("WB_PG_BINDIR");
  char *bindir;

  if (from_env != NULL && from_env[0] != '\0')
    {
      if (has_server_programs (from_env))
        return g_strdup (from_env);

      set_cluster_error (error, "WB_PG_BINDIR is %s, which has no initdb and pg_ctl", from_env);
      return NULL;
    }

  if ((bindir = bindir_from_pg_config ()) != NULL ||
      (bindir = bindir_from_debian_layout ()) != NULL ||
      (bindir = bindir_from_path ()) != NULL)
    return bindir;

  set_cluster_error (error,
                     "the PostgreSQL server programs (initdb, pg_ctl) were not found; "
                     "install them (Debian: apt-get install postgresql), set WB_PG_BINDIR "
                     "or point DB_DSN at an existing server");
  return NULL;
}

/* ---- running the server programs ----------------------------------------- */

static gboolean
resolve_run_as (RunAs       *run_as,
                const char  *user,
                GError     **error)
{
  struct passwd entry;
  struct passwd *found = NULL;
  char buffer[16384];

  *run_as = (RunAs) { .switch_user = FALSE };

  /* initdb and pg_ctl refuse to run as root, and a root-owned cluster would
   * be a needless risk; we never create users, though. */
  if (geteuid () != 0)
    return TRUE;

  if (getpwnam_r (user, &entry, buffer, sizeof buffer, &found) != 0 || found == NULL)
    {
      set_cluster_error (error,
                         "running as root, the embedded PostgreSQL must run as the unprivileged "
                         "“%s” system user, which does not exist; install the postgresql package "
                         "(which creates it) or run waybilld as an ordinary user",
                         user);
      return FALSE;
    }

  *run_as = (RunAs) { .switch_user = TRUE, .uid = found->pw_uid, .gid = found->pw_gid };
  g_snprintf (run_as->failure, sizeof run_as->failure, "waybill: cannot switch to the %s user\n", user);
  return TRUE;
}

/* Runs in the forked child before exec: async-signal-safe calls only. */
static void
switch_user (gpointer user_data)
{
  const RunAs *run_as = user_data;

  if (setgroups (1, &run_as->gid) != 0 ||
      setgid (run_as->gid) != 0 ||
      setuid (run_as->uid) != 0)
    {
      if (write (STDERR_FILENO, run_as->failure, strlen (run_as->failure)) < 0)
        _exit (126);
      _exit (127);
    }
}

/* libpq and the server programs read PG* variables; the cluster must not
 * depend on whatever the daemon's environment happens to hold. */
static char **
tool_environment (void)
{
  g_auto(GStrv) inherited = g_get_environ ();
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  for (guint i = 0; inherited[i] != NULL; i++)
    if (!g_str_has_prefix (inherited[i], "PG"))
      g_strv_builder_add (builder, inherited[i]);

  return g_strv_builder_end (builder);
}

static gboolean
is_traversable_by (const GStatBuf *st,
                   const RunAs    *run_as)
{
  if (st->st_uid == run_as->uid)
    return (st->st_mode & S_IXUSR) != 0;
  if (st->st_gid == run_as->gid)
    return (st->st_mode & S_IXGRP) != 0;
  return (st->st_mode & S_IXOTH) != 0;
}

/* The first directory on the way to @path the server user cannot enter. */
static char *
find_untraversable_ancestor (const char  *path,
                             const RunAs *run_as)
{
  g_autoptr(GPtrArray) chain = g_ptr_array_new_with_free_func (g_free);
  char *current = g_strdup (path);

  while (TRUE)
    {
      char *parent = g_path_get_dirname (current);

      g_ptr_array_insert (chain, 0, current);
      if (g_str_equal (parent, current))
        {
          g_free (parent);
          break;
        }
      current = parent;
    }

  for (guint i = 0; i < chain->len; i++)
    {
      const char *dir = g_ptr_array_index (chain, i);
      GStatBuf st;

      if (g_stat (dir, &st) == 0 && S_ISDIR (st.st_mode) && !is_traversable_by (&st, run_as))
        return g_strdup (dir);
    }

  return NULL;
}

static void
append_to_error (GError     *error,
                 const char *text)
{
  char *message = g_strconcat (error->message, "\n", text, NULL);

  g_free (error->message);
  error->message = message;
}

static void
add_traversal_hint (WbEmbeddedPostgres *self,
                    GError             *error)
{
  g_autofree char *blocked = NULL;
  g_autofree char *hint = NULL;

  if (!self->run_as.switch_user ||
      (blocked = find_untraversable_ancestor (self->data_dir, &self->run_as)) == NULL)
    return;

  hint = g_strdup_printf ("hint: the %s user cannot enter %s; make it searchable "
                          "(chmod o+x) or choose a --state-dir it can reach",
                          self->server_user, blocked);
  append_to_error (error, hint);
}

/* Runs a server program, as the server user when we are root; on failure the
 * error holds the program's own explanation (its stderr). */
static gboolean
run_tool (WbEmbeddedPostgres  *self,
          const char          *tool,
          const char * const  *args,
          GError             **error)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autofree char *program = g_build_filename (self->bindir, tool, NULL);
  g_autofree char *errors = NULL;
  g_auto(GStrv) argv = NULL;
  g_auto(GStrv) envp = tool_environment ();
  g_autoptr(GError) local_error = NULL;
  int status;

  g_strv_builder_add (builder, program);
  g_strv_builder_addv (builder, (const char **) args);
  argv = g_strv_builder_end (builder);

  if (!g_spawn_sync ("/", argv, envp, G_SPAWN_STDOUT_TO_DEV_NULL,
                     self->run_as.switch_user ? switch_user : NULL, &self->run_as,
                     NULL, &errors, &status, &local_error))
    {
      set_cluster_error (error, "cannot run %s: %s", program, local_error->message);
      return FALSE;
    }

  if (!g_spawn_check_wait_status (status, &local_error))
    {
      set_cluster_error (error, "%s failed (%s): %s", tool, local_error->message,
                         g_strstrip (errors));
      return FALSE;
    }

  return TRUE;
}

/* ---- the data directory ---------------------------------------------------- */

static gboolean
set_errno_error (GError     **error,
                 int          saved_errno,
                 const char  *what,
                 const char  *path)
{
  set_cluster_error (error, "%s %s: %s", what, path, g_strerror (saved_errno));
  return FALSE;
}

static gboolean
chown_tree (const char   *path,
            const RunAs  *run_as,
            GError      **error)
{
  g_autoptr(GDir) dir = NULL;
  const char *name;
  GStatBuf st;

  if (lchown (path, run_as->uid, run_as->gid) != 0)
    return set_errno_error (error, errno, "cannot change the owner of", path);

  if (g_lstat (path, &st) != 0 || !S_ISDIR (st.st_mode))
    return TRUE;

  if ((dir = g_dir_open (path, 0, NULL)) == NULL)
    return set_errno_error (error, errno, "cannot read", path);

  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (!chown_tree (child, run_as, error))
        return FALSE;
    }

  return TRUE;
}

/* A cluster made by an earlier non-root run (or copied in) must belong to
 * the server user before the server can use it. */
static gboolean
give_data_dir_to_server_user (WbEmbeddedPostgres  *self,
                              GError             **error)
{
  GStatBuf st;

  if (g_lstat (self->data_dir, &st) != 0)
    return set_errno_error (error, errno, "cannot inspect", self->data_dir);

  if (st.st_uid == self->run_as.uid)
    return TRUE;

  return chown_tree (self->data_dir, &self->run_as, error);
}

/* pg_ctl opens the log as the server user, who may not create files in a
 * root-owned state directory: create it first and hand it over. */
static gboolean
prepare_log_file (WbEmbeddedPostgres  *self,
                  GError             **error)
{
  int fd = open (self->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

  if (fd < 0)
    return set_errno_error (error, errno, "cannot create", self->log_path);

  if (self->run_as.switch_user && fchown (fd, self->run_as.uid, self->run_as.gid) != 0)
    {
      int saved_errno = errno;

      close (fd);
      return set_errno_error (error, saved_errno, "cannot change the owner of", self->log_path);
    }

  close (fd);
  return TRUE;
}

static gboolean
prepare_directories (WbEmbeddedPostgres  *self,
                     GError             **error)
{
  /* As root, the server user must pass through the state directory (but
   * not list it) to reach its data directory. */
  int state_mode = self->run_as.switch_user ? 0711 : 0700;

  if (g_mkdir_with_parents (self->state_dir, state_mode) != 0)
    return set_errno_error (error, errno, "cannot create", self->state_dir);

  if (g_mkdir (self->data_dir, 0700) != 0 && errno != EEXIST)
    return set_errno_error (error, errno, "cannot create", self->data_dir);

  if (self->run_as.switch_user && !give_data_dir_to_server_user (self, error))
    return FALSE;

  return prepare_log_file (self, error);
}

static gboolean
check_paths (WbEmbeddedPostgres  *self,
             GError             **error)
{
  g_autofree char *socket_path = g_build_filename (self->data_dir, SOCKET_NAME, NULL);
  gsize limit = sizeof (((struct sockaddr_un *) NULL)->sun_path) - 1;

  if (strlen (socket_path) > limit)
    {
      set_cluster_error (error,
                         "the PostgreSQL socket path %s is %zu bytes long, over the %zu-byte "
                         "limit of Unix socket paths; choose a shorter --state-dir",
                         socket_path, strlen (socket_path), limit);
      return FALSE;
    }

  /* libpq reads a comma in "host" as a list separator, with no escape. */
  for (const char *p = self->data_dir; *p != '\0'; p++)
    if (g_ascii_iscntrl (*p) || *p == ',')
      {
        set_cluster_error (error, "the state directory %s contains a comma or a control "
                           "character, which a PostgreSQL socket directory cannot have",
                           self->state_dir);
        return FALSE;
      }

  return TRUE;
}

static gboolean
cluster_exists (WbEmbeddedPostgres *self)
{
  g_autofree char *version_file = g_build_filename (self->data_dir, "PG_VERSION", NULL);

  return g_file_test (version_file, G_FILE_TEST_EXISTS);
}

static gboolean
run_initdb (WbEmbeddedPostgres  *self,
            GError             **error)
{
  /* Trust is safe here: the only way in is the socket in a 0700 directory,
   * which only its owner (and root) can reach. */
  const char * const args[] = {
    "-D", self->data_dir,
    "--auth=trust",
    "--username=" DATABASE_USER,
    "--encoding=UTF8",
    "--locale=C.UTF-8",
    NULL,
  };
  g_autoptr(GError) local_error = NULL;

  g_message ("creating the embedded PostgreSQL cluster in %s", self->data_dir);

  if (!run_tool (self, "initdb", args, &local_error))
    {
      add_traversal_hint (self, local_error);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  return TRUE;
}

static gboolean
write_cluster_file (WbEmbeddedPostgres  *self,
                    const char          *name,
                    const char          *contents,
                    GError             **error)
{
  g_autofree char *path = g_build_filename (self->data_dir, name, NULL);
  g_autoptr(GError) local_error = NULL;

  if (!g_file_set_contents_full (path, contents, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600,
                                 &local_error))
    {
      set_cluster_error (error, "%s", local_error->message);
      return FALSE;
    }

  if (self->run_as.switch_user && chown (path, self->run_as.uid, self->run_as.gid) != 0)
    return set_errno_error (error, errno, "cannot change the owner of", path);

  return TRUE;
}

static gboolean
include_settings (WbEmbeddedPostgres  *self,
                  GError             **error)
{
  g_autofree char *conf_path = g_build_filename (self->data_dir, "postgresql.conf", NULL);
  g_autofree char *conf = NULL;
  g_autofree char *updated = NULL;
  g_autoptr(GError) local_error = NULL;

  if (!g_file_get_contents (conf_path, &conf, NULL, &local_error))
    {
      set_cluster_error (error, "%s", local_error->message);
      return FALSE;
    }

  if (strstr (conf, "\n" INCLUDE_LINE "\n") != NULL)
    return TRUE;

  updated = g_strconcat (conf, "\n# Waybill's settings, rewritten at every start\n",
                         INCLUDE_LINE "\n", NULL);
  return write_cluster_file (self, "postgresql.conf", updated, error);
}

/* Our settings live in their own file, rewritten at each start so that a
 * moved state directory still works; postgresql.conf includes it by a
 * relative name. */
static gboolean
write_settings (WbEmbeddedPostgres  *self,
                GError             **error)
{
  g_autoptr(GString) settings = g_string_new (NULL);
  g_autofree char *socket_dirs = quote_list_element (self->data_dir);

  g_string_append (settings,
                   "# Written by waybilld at every start: edits here are lost.\n"
                   "listen_addresses = ''\n"
                   "port = " PORT "\n"
                   "unix_socket_permissions = 0700\n"
                   "unix_socket_directories = ");
  append_conf_string (settings, socket_dirs);
  g_string_append_c (settings, '\n');

  return write_cluster_file (self, SETTINGS_FILE, settings->str, error) &&
         include_settings (self, error);
}

/* ---- stale and running servers ------------------------------------------- */

static gboolean
is_postgres_in (pid_t       pid,
                const char *real_data_dir)
{
  g_autofree char *comm_path = g_strdup_printf ("/proc/%d/comm", (int) pid);
  g_autofree char *cwd_path = g_strdup_printf ("/proc/%d/cwd", (int) pid);
  g_autofree char *comm = NULL;
  g_autofree char *cwd = NULL;

  if (!g_file_get_contents (comm_path, &comm, NULL, NULL) ||
      !g_str_equal (g_strchomp (comm), "postgres"))
    return FALSE;

  /* Every server process works in its data directory. */
  cwd = g_file_read_link (cwd_path, NULL);
  return cwd != NULL && g_str_equal (cwd, real_data_dir);
}

static char *
real_data_dir (WbEmbeddedPostgres *self)
{
  char *resolved = realpath (self->data_dir, NULL);
  char *result = g_strdup (resolved != NULL ? resolved : self->data_dir);

  free (resolved);
  return result;
}

static PostmasterState
inspect_pid_file (WbEmbeddedPostgres *self,
                  pid_t              *out_pid)
{
  g_autofree char *pid_path = g_build_filename (self->data_dir, "postmaster.pid", NULL);
  g_autofree char *real_dir = real_data_dir (self);
  g_autofree char *contents = NULL;
  gint64 pid;

  *out_pid = 0;
  if (!g_file_get_contents (pid_path, &contents, NULL, NULL))
    return POSTMASTER_NONE;

  pid = g_ascii_strtoll (contents, NULL, 10);
  if (pid <= 0 || pid > G_MAXINT)
    return POSTMASTER_STALE;

  *out_pid = (pid_t) pid;
  return is_postgres_in (*out_pid, real_dir) ? POSTMASTER_RUNNING : POSTMASTER_STALE;
}

/* Backends of a postmaster that died notice it and exit on their own; until
 * they have, a new server on the same data would be a disaster. */
static pid_t
find_postgres_process (WbEmbeddedPostgres *self)
{
  g_autoptr(GDir) proc = g_dir_open ("/proc", 0, NULL);
  g_autofree char *real_dir = real_data_dir (self);
  const char *name;

  while (proc != NULL && (name = g_dir_read_name (proc)) != NULL)
    {
      guint64 pid;

      if (g_ascii_string_to_unsigned (name, 10, 1, G_MAXINT, &pid, NULL) &&
          is_postgres_in ((pid_t) pid, real_dir))
        return (pid_t) pid;
    }

  return 0;
}

static gboolean
wait_for_leftover_processes (WbEmbeddedPostgres  *self,
                             GError             **error)
{
  gint64 deadline = g_get_monotonic_time () + ORPHAN_TIMEOUT_US;
  pid_t leftover;

  while ((leftover = find_postgres_process (self)) != 0)
    {
      if (g_get_monotonic_time () > deadline)
        {
          set_cluster_error (error,
                             "a PostgreSQL process (pid %d) from an earlier server is still "
                             "using %s; stop it before starting Waybill",
                             (int) leftover, self->data_dir);
          return FALSE;
        }
      g_usleep (100 * 1000);
    }

  return TRUE;
}

static void
remove_stale_files (WbEmbeddedPostgres *self,
                    pid_t               pid)
{
  const char * const names[] = { "postmaster.pid", SOCKET_NAME, SOCKET_NAME ".lock" };

  g_message ("removing the stale postmaster.pid in %s (pid %d is not its server)",
             self->data_dir, (int) pid);

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *path = g_build_filename (self->data_dir, names[i], NULL);

      if (g_unlink (path) != 0 && errno != ENOENT)
        g_warning ("cannot remove %s: %s", path, g_strerror (errno));
    }
}

static gboolean
wait_until_accepting (WbEmbeddedPostgres *self,
                      pid_t               pid)
{
  g_autofree char *conninfo = build_conninfo (self->data_dir, "postgres");
  g_autofree char *real_dir = real_data_dir (self);
  gint64 deadline = g_get_monotonic_time () + ADOPT_TIMEOUT_US;

  while (g_get_monotonic_time () < deadline)
    {
      if (PQping (conninfo) == PQPING_OK)
        return TRUE;
      if (!is_postgres_in (pid, real_dir))
        return FALSE;
      g_usleep (100 * 1000);
    }

  return FALSE;
}

/* A server left running by a daemon that was killed is adopted: we use it
 * and stop it at shutdown. A pid file whose process is gone, or is not a
 * server for this data directory, is removed. */
static gboolean
recover_previous_server (WbEmbeddedPostgres  *self,
                         gboolean            *out_adopted,
                         GError             **error)
{
  PostmasterState state;
  pid_t pid;

  *out_adopted = FALSE;
  state = inspect_pid_file (self, &pid);

  if (state == POSTMASTER_RUNNING)
    {
      if (wait_until_accepting (self, pid))
        {
          g_message ("adopting the PostgreSQL server (pid %d) already running on %s",
                     (int) pid, self->data_dir);
          *out_adopted = TRUE;
          return TRUE;
        }
      if ((state = inspect_pid_file (self, &pid)) == POSTMASTER_RUNNING)
        {
          set_cluster_error (error, "the PostgreSQL server (pid %d) running on %s does not "
                             "accept connections", (int) pid, self->data_dir);
          return FALSE;
        }
    }

  if (state == POSTMASTER_NONE)
    return TRUE;

  if (!wait_for_leftover_processes (self, error))
    return FALSE;

  remove_stale_files (self, pid);
  return TRUE;
}

/* ---- starting and stopping --------------------------------------------------- */

/* The end of the server log says why it did not start; the log only ever
 * grows, so read just that end. */
static char *
read_log_tail (const char *path)
{
  char buffer[LOG_TAIL_BYTES + 1];
  const char *start = buffer;
  ssize_t length;
  off_t end;
  int fd;

  if ((fd = open (path, O_RDONLY | O_CLOEXEC)) < 0)
    return g_strdup ("(no log)");

  end = lseek (fd, 0, SEEK_END);
  length = pread (fd, buffer, LOG_TAIL_BYTES, MAX (end - LOG_TAIL_BYTES, 0));
  close (fd);

  if (length < 0)
    return g_strdup ("(unreadable log)");

  buffer[length] = '\0';
  if (end > LOG_TAIL_BYTES && strchr (buffer, '\n') != NULL)
    start = strchr (buffer, '\n') + 1;

  return g_strstrip (g_strdup (start));
}

static gboolean
run_pg_ctl_start (WbEmbeddedPostgres  *self,
                  GError             **error)
{
  const char * const args[] = {
    "start", "-w", "-t", PG_CTL_TIMEOUT, "-D", self->data_dir, "-l", self->log_path, NULL,
  };
  g_autoptr(GError) local_error = NULL;

  if (!run_tool (self, "pg_ctl", args, &local_error))
    {
      g_autofree char *tail = read_log_tail (self->log_path);
      g_autofree char *log_note = g_strdup_printf ("end of %s:\n%s", self->log_path, tail);

      append_to_error (local_error, log_note);
      add_traversal_hint (self, local_error);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  g_message ("started the embedded PostgreSQL on %s", self->data_dir);
  return TRUE;
}

static gboolean
ensure_database (WbEmbeddedPostgres  *self,
                 GError             **error)
{
  g_autofree char *conninfo = build_conninfo (self->data_dir, "postgres");
  const char * const params[] = { DATABASE_NAME };
  g_autoptr(PGconn) conn = NULL;
  g_autoptr(PGresult) found = NULL;
  g_autoptr(PGresult) created = NULL;

  if ((conn = wb_db_connect (conninfo, error)) == NULL)
    return FALSE;

  found = wb_db_exec (conn, "SELECT 1 FROM pg_database WHERE datname = $1",
                      params, G_N_ELEMENTS (params), NULL, error);
  if (found == NULL)
    return FALSE;
  if (PQntuples (found) > 0)
    return TRUE;

  created = wb_db_exec (conn, "CREATE DATABASE " DATABASE_NAME, NULL, 0, NULL, error);
  return created != NULL;
}

static gboolean
stop_locked (WbEmbeddedPostgres  *self,
             GError             **error)
{
  const char * const args[] = {
    "stop", "-m", "fast", "-w", "-t", PG_CTL_TIMEOUT, "-D", self->data_dir, NULL,
  };
  pid_t pid;

  if (!self->running)
    return TRUE;

  /* Someone else may have stopped it already. */
  if (inspect_pid_file (self, &pid) != POSTMASTER_RUNNING)
    {
      self->running = FALSE;
      return TRUE;
    }

  if (!run_tool (self, "pg_ctl", args, error))
    return FALSE;

  g_message ("stopped the embedded PostgreSQL on %s", self->data_dir);
  self->running = FALSE;
  return TRUE;
}

static gboolean
prepare_cluster (WbEmbeddedPostgres  *self,
                 GCancellable        *cancellable,
                 GError             **error)
{
  if (!check_paths (self, error) || !resolve_run_as (&self->run_as, self->server_user, error))
    return FALSE;

  if (self->bindir == NULL && (self->bindir = find_bindir (error)) == NULL)
    return FALSE;

  if (!prepare_directories (self, error) || check_cancelled (cancellable, error))
    return FALSE;

  self->created = FALSE;
  if (!cluster_exists (self))
    {
      if (!run_initdb (self, error))
        return FALSE;
      self->created = TRUE;
    }

  return write_settings (self, error);
}

static gboolean
start_locked (WbEmbeddedPostgres  *self,
              GCancellable        *cancellable,
              GError             **error)
{
  g_autoptr(GError) local_error = NULL;
  gboolean adopted;

  if (self->running)
    return TRUE;

  if (!prepare_cluster (self, cancellable, error) ||
      check_cancelled (cancellable, error) ||
      !recover_previous_server (self, &adopted, error))
    return FALSE;

  if (!adopted && !run_pg_ctl_start (self, error))
    return FALSE;

  self->running = TRUE;

  if (!ensure_database (self, &local_error))
    {
      stop_locked (self, NULL);
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                  "cannot prepare the database “%s”: ", DATABASE_NAME);
      return FALSE;
    }

  return TRUE;
}

/**
 * wb_embedded_postgres_start:
 *
 * Creates the cluster on first use (initdb), recovers from a stale
 * postmaster.pid or adopts a server already running on the data directory,
 * starts it and makes sure the "waybill" database exists. Blocking (up to
 * about a minute); see wb_embedded_postgres_start_async(). Does nothing if
 * already started.
 */
gboolean
wb_embedded_postgres_start (WbEmbeddedPostgres  *self,
                            GCancellable        *cancellable,
                            GError             **error)
{
  gboolean ok;

  g_return_val_if_fail (WB_IS_EMBEDDED_POSTGRES (self), FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  g_mutex_lock (&self->mutex);
  ok = start_locked (self, cancellable, error);
  g_mutex_unlock (&self->mutex);

  return ok;
}

static void
start_in_thread (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  GError *error = NULL;

  if (wb_embedded_postgres_start (source_object, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

/**
 * wb_embedded_postgres_start_async:
 *
 * wb_embedded_postgres_start() on a worker thread.
 */
void
wb_embedded_postgres_start_async (WbEmbeddedPostgres  *self,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (WB_IS_EMBEDDED_POSTGRES (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, wb_embedded_postgres_start_async);
  /* A server that did start is reported as started, cancelled or not, so
   * the caller knows to stop it. */
  g_task_set_check_cancellable (task, FALSE);
  g_task_run_in_thread (task, start_in_thread);
}

gboolean
wb_embedded_postgres_start_finish (WbEmbeddedPostgres  *self,
                                   GAsyncResult        *result,
                                   GError             **error)
{
  g_return_val_if_fail (WB_IS_EMBEDDED_POSTGRES (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_async_result_is_tagged (result, wb_embedded_postgres_start_async), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * wb_embedded_postgres_stop:
 *
 * Stops the server we started or adopted (pg_ctl stop -m fast), waiting
 * for it to exit. Blocking; does nothing if it is not running.
 */
gboolean
wb_embedded_postgres_stop (WbEmbeddedPostgres  *self,
                           GError             **error)
{
  gboolean ok;

  g_return_val_if_fail (WB_IS_EMBEDDED_POSTGRES (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  g_mutex_lock (&self->mutex);
  ok = stop_locked (self, error);
  g_mutex_unlock (&self->mutex);

  return ok;
}

/**
 * wb_embedded_postgres_get_conninfo:
 *
 * Returns: the libpq conninfo of the "waybill" database, for use once
 *   started: "host='<data dir>' port='5432' dbname='waybill' user='waybill'"
 */
const char *
wb_embedded_postgres_get_conninfo (WbEmbeddedPostgres *self)
{
  g_return_val_if_fail (WB_IS_EMBEDDED_POSTGRES (self), NULL);

  return self->conninfo;
}

/**
 * wb_embedded_postgres_dup_conninfo:
 * @dbname: another database of the cluster
 *
 * Returns: (transfer full): the conninfo of @dbname on this cluster
 */
char *
wb_embedded_postgres_dup_conninfo (WbEmbeddedPostgres *self,
                                   const char         *dbname)
{
  g_return_val_if_fail (WB_IS_EMBEDDED_POSTGRES (self), NULL);
  g_return_val_if_fail (dbname != NULL, NULL);

  return build_conninfo (self->data_dir, dbname);
}

/**
 * wb_embedded_postgres_get_created:
 *
 * Returns: %TRUE if the last start ran initdb
 */
gboolean
wb_embedded_postgres_get_created (WbEmbeddedPostgres *self)
{
  gboolean created;

  g_return_val_if_fail (WB_IS_EMBEDDED_POSTGRES (self), FALSE);

  g_mutex_lock (&self->mutex);
  created = self->created;
  g_mutex_unlock (&self->mutex);

  return created;
}

/**
 * wb_embedded_postgres_get_running:
 *
 * Returns: %TRUE between a successful start and stop
 */
gboolean
wb_embedded_postgres_get_running (WbEmbeddedPostgres *self)
{
  gboolean running;

  g_return_val_if_fail (WB_IS_EMBEDDED_POSTGRES (self), FALSE);

  g_mutex_lock (&self->mutex);
  running = self->running;
  g_mutex_unlock (&self->mutex);

  return running;
}

const char *
wb_embedded_postgres_get_state_dir (WbEmbeddedPostgres *self)
{
  g_return_val_if_fail (WB_IS_EMBEDDED_POSTGRES (self), NULL);

  return self->state_dir;
}

/**
 * wb_embedded_postgres_get_data_dir:
 *
 * Returns: the cluster's data directory, which also holds its socket
 */
const char *
wb_embedded_postgres_get_data_dir (WbEmbeddedPostgres *self)
{
  g_return_val_if_fail (WB_IS_EMBEDDED_POSTGRES (self), NULL);

  return self->data_dir;
}

static void
wb_embedded_postgres_constructed (GObject *object)
{
  WbEmbeddedPostgres *self = WB_EMBEDDED_POSTGRES (object);
  g_autofree char *state_dir = g_steal_pointer (&self->state_dir);

  G_OBJECT_CLASS (wb_embedded_postgres_parent_class)->constructed (object);

  self->state_dir = g_canonicalize_filename (state_dir, NULL);
  self->data_dir = g_build_filename (self->state_dir, "postgres", NULL);
  self->log_path = g_build_filename (self->state_dir, "postgres.log", NULL);
  self->conninfo = build_conninfo (self->data_dir, DATABASE_NAME);
}

static void
wb_embedded_postgres_finalize (GObject *object)
{
  WbEmbeddedPostgres *self = WB_EMBEDDED_POSTGRES (object);
  g_autoptr(GError) error = NULL;

  if (!stop_locked (self, &error))
    g_warning ("%s", error->message);

  g_clear_pointer (&self->state_dir, g_free);
  g_clear_pointer (&self->data_dir, g_free);
  g_clear_pointer (&self->log_path, g_free);
  g_clear_pointer (&self->conninfo, g_free);
  g_clear_pointer (&self->server_user, g_free);
  g_clear_pointer (&self->bindir, g_free);
  g_mutex_clear (&self->mutex);

  G_OBJECT_CLASS (wb_embedded_postgres_parent_class)->finalize (object);
}

static void
wb_embedded_postgres_get_property (GObject    *object,
                                   guint       prop_id,
                                   GValue     *value,
                                   GParamSpec *pspec)
{
  WbEmbeddedPostgres *self = WB_EMBEDDED_POSTGRES (object);

  switch (prop_id)
    {
    case PROP_STATE_DIR:
      g_value_set_string (value, self->state_dir);
      break;

    case PROP_SERVER_USER:
      g_value_set_string (value, self->server_user);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_embedded_postgres_set_property (GObject      *object,
                                   guint         prop_id,
                                   const GValue *value,
                                   GParamSpec   *pspec)
{
  WbEmbeddedPostgres *self = WB_EMBEDDED_POSTGRES (object);

  switch (prop_id)
    {
    case PROP_STATE_DIR:
      self->state_dir = g_value_dup_string (value);
      break;

    case PROP_SERVER_USER:
      self->server_user = g_value_dup_string (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_embedded_postgres_class_init (WbEmbeddedPostgresClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = wb_embedded_postgres_constructed;
  object_class->finalize = wb_embedded_postgres_finalize;
  object_class->get_property = wb_embedded_postgres_get_property;
  object_class->set_property = wb_embedded_postgres_set_property;

  /**
   * WbEmbeddedPostgres:state-dir:
   *
   * The daemon's state directory; the cluster lives in its "postgres"
   * subdirectory and logs to "postgres.log" beside it.
   */
  properties[PROP_STATE_DIR] =
    g_param_spec_string ("state-dir", NULL, NULL,
                         NULL,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));

  /**
   * WbEmbeddedPostgres:server-user:
   *
   * The existing unprivileged system user the server runs as when the
   * process is root; it is never created. Only "postgres" (Debian's) is
   * used by waybilld; tests name a missing one to see the refusal.
   */
  properties[PROP_SERVER_USER] =
    g_param_spec_string ("server-user", NULL, NULL,
                         SERVER_USER,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
wb_embedded_postgres_init (WbEmbeddedPostgres *self)
{
  g_mutex_init (&self->mutex);
}

/**
 * wb_embedded_postgres_new:
 * @state_dir: the daemon's state directory (created if missing)
 *
 * Returns: (transfer full): a cluster handle; nothing happens on disk
 *   before wb_embedded_postgres_start()
 */
WbEmbeddedPostgres *
wb_embedded_postgres_new (const char *state_dir)
{
  g_return_val_if_fail (state_dir != NULL && state_dir[0] != '\0', NULL);

  return g_object_new (WB_TYPE_EMBEDDED_POSTGRES,
                       "state-dir", state_dir,
                       NULL);
}
