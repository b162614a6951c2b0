// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "wb-client.h"
#include "wb-local-server.h"

#define MAX_LOG_LINES   2000
#define READY_POLL_MS   300
#define READY_WITHIN_S  180     /* a first start creates the database */
#define TOKEN_TTL       "720h"

struct _WbLocalServer
{
  GObject             parent_instance;

  char               *dir;
  WbLocalServerState  state;
  char               *url;
  char               *token;
  char               *error;
  char               *secret;
  GSubprocess        *process;
  GDataInputStream   *output;
  gboolean            reading;      /* its output not at its end yet */
  GCancellable       *cancellable;
  WbClient           *probe;
  guint               probe_source;
  gint64              ready_deadline;
  GQueue              log;          /* char *, oldest first */
  GStrv               extra_args;
};

enum { PROP_0, PROP_STATE, PROP_URL, PROP_TOKEN, PROP_ERROR, N_PROPS };
static GParamSpec *properties[N_PROPS];

enum { LOG_LINE, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (WbLocalServer, wb_local_server, G_TYPE_OBJECT)

static void
set_state (WbLocalServer      *self,
           WbLocalServerState  state)
{
  if (self->state == state)
    return;
  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

static void
fail (WbLocalServer *self,
      const char    *message)
{
  g_free (self->error);
  self->error = g_strdup (message);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ERROR]);
  g_clear_handle_id (&self->probe_source, g_source_remove);
  set_state (self, WB_LOCAL_SERVER_FAILED);
  /* A daemon that is still there but never got ready is told to go. */
  if (self->process != NULL)
    g_subprocess_send_signal (self->process, SIGTERM);
}

static void
add_log (WbLocalServer *self,
         const char    *line)
{
  g_queue_push_tail (&self->log, g_strdup (line));
  while (self->log.length > MAX_LOG_LINES)
    g_free (g_queue_pop_head (&self->log));
  g_signal_emit (self, signals[LOG_LINE], 0, line);
}

/* ---- finding the programs ------------------------------------------------------ */

/* Should the console die without stopping them, its children (the daemon,
 * the demo's simulators) are told to stop rather than left running
 * unseen. */
static void
child_setup (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

char *
wb_local_server_find_program (const char *name)
{
  const char *env = g_str_equal (name, "waybilld") ? g_getenv ("WAYBILLD")
                    : g_str_equal (name, "waybill-sim") ? g_getenv ("WAYBILL_SIM") : NULL;
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *exe_dir = exe ? g_path_get_dirname (exe) : NULL;

  if (env != NULL && g_file_test (env, G_FILE_TEST_IS_EXECUTABLE))
    return g_strdup (env);
  if (exe_dir != NULL)
    {
      /* Installed side by side; or the build tree's app/, server/, tools/. */
      const char *places[] = { ".", "../server", "../tools" };

      for (guint i = 0; i < G_N_ELEMENTS (places); i++)
        {
          g_autofree char *path = g_build_filename (exe_dir, places[i], name, NULL);

          if (g_file_test (path, G_FILE_TEST_IS_EXECUTABLE) && !g_file_test (path, G_FILE_TEST_IS_DIR))
            return g_canonicalize_filename (path, NULL);
        }
    }
  return g_find_program_in_path (name);
}

GSubprocess *
wb_local_server_spawn_helper (const char * const  *argv,
                              GError             **error)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE
                                                                       | G_SUBPROCESS_FLAGS_STDERR_SILENCE);

  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
  return g_subprocess_launcher_spawnv (launcher, argv, error);
}

char *
wb_local_server_default_dir (void)
{
  /* As root, where waybilld keeps its own state: root's home is closed
   * to the postgres user the embedded cluster runs as. */
  if (getuid () == 0)
    return g_strdup ("/var/lib/waybill/local");
  return g_build_filename (g_get_user_state_dir (), "waybill", "local", NULL);
}

/* ---- the secret and the port ----------------------------------------------------- */

/* The secret the daemon signs tokens with: made once, kept beside its data
 * (mode 0600), so tokens and data outlive a restart. */
static char *
load_secret (const char  *dir,
             GError     **error)
{
  g_autofree char *path = g_build_filename (dir, "secret", NULL);
  g_autofree char *text = NULL;
  guint8 bytes[32];
  int fd;
  ssize_t got;

  if (g_file_get_contents (path, &text, NULL, NULL) && strlen (g_strstrip (text)) >= 32)
    return g_steal_pointer (&text);
  fd = g_open ("/dev/urandom", O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "/dev/urandom: %s", g_strerror (errno));
      return NULL;
    }
  got = read (fd, bytes, sizeof bytes);
  close (fd);
  if (got != sizeof bytes)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "/dev/urandom gave too few bytes");
      return NULL;
    }
  g_free (text);
  text = g_malloc0 (sizeof bytes * 2 + 1);
  for (guint i = 0; i < sizeof bytes; i++)
    g_snprintf (text + 2 * i, 3, "%02x", bytes[i]);
  if (!g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error))
    return NULL;
  return g_steal_pointer (&text);
}

/* A loopback port nobody holds now. */
static guint
free_port (GError **error)
{
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  if (socket == NULL || !g_socket_bind (socket, any, FALSE, error))
    return 0;
  bound = g_socket_get_local_address (socket, error);
  return bound ? g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)) : 0;
}

static GSubprocessLauncher *
launcher_new (WbLocalServer *self)
{
  GSubprocessLauncher *launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                                             | G_SUBPROCESS_FLAGS_STDERR_MERGE);

  /* Embedded defaults: none of a shell's database or port settings. */
  g_subprocess_launcher_unsetenv (launcher, "DB_DSN");
  g_subprocess_launcher_unsetenv (launcher, "SERVER_PORT");
  g_subprocess_launcher_unsetenv (launcher, "KAFKA_BROKERS");
  g_subprocess_launcher_setenv (launcher, "AUTH_HS256SECRET", self->secret, TRUE);
  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
  return launcher;
}

/* ---- readiness ----------------------------------------------------------------------- */

static gboolean probe (gpointer data);

static void
on_readyz (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  g_autoptr(WbLocalServer) self = data;
  g_autoptr(GError) error = NULL;

  if (!wb_client_readyz_finish (WB_CLIENT (source), result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || self->state != WB_LOCAL_SERVER_STARTING)
        return;
      if (g_get_monotonic_time () > self->ready_deadline)
        {
          g_autofree char *message = g_strdup_printf (_("The local server did not get ready: %s"), error->message);

          return fail (self, message);
        }
      self->probe_source = g_timeout_add (READY_POLL_MS, probe, self);
      return;
    }
  if (self->state == WB_LOCAL_SERVER_STARTING && self->token != NULL)
    set_state (self, WB_LOCAL_SERVER_READY);
}

static gboolean
probe (gpointer data)
{
  WbLocalServer *self = data;

  self->probe_source = 0;
  wb_client_readyz_async (self->probe, self->cancellable, on_readyz, g_object_ref (self));
  return G_SOURCE_REMOVE;
}

static void
on_token (GObject      *source,
          GAsyncResult *result,
          gpointer      data)
{
  g_autoptr(WbLocalServer) self = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;

  if (!g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), result, &out, NULL, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        fail (self, error->message);
      return;
    }
  if (!g_subprocess_get_successful (G_SUBPROCESS (source)) || out == NULL || *g_strstrip (out) == '\0')
    {
      g_autofree char *message = g_strdup_printf (_("waybilld token failed: %s"), out ? out : "");

      return fail (self, message);
    }
  g_free (self->token);
  self->token = g_strdup (out);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TOKEN]);
  g_clear_object (&self->probe);
  self->probe = wb_client_new (self->url, self->token);
  probe (self);
}

/* ---- the daemon's output and exit ------------------------------------------------------ */

static void read_line (WbLocalServer *self);

static void
on_line (GObject      *source,
         GAsyncResult *result,
         gpointer      data)
{
  g_autoptr(WbLocalServer) self = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), result, NULL,
                                                                      &error);

  if (line == NULL)
    {
      self->reading = FALSE;
      return;
    }
  add_log (self, line);
  read_line (self);
}

static void
read_line (WbLocalServer *self)
{
  g_data_input_stream_read_line_async (self->output, G_PRIORITY_DEFAULT, self->cancellable, on_line,
                                       g_object_ref (self));
}

static void
on_exited (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  g_autoptr(WbLocalServer) self = data;
  g_autoptr(GError) error = NULL;
  GSubprocess *process = G_SUBPROCESS (source);

  if (!g_subprocess_wait_finish (process, result, &error))
    return;
  if (process != self->process)
    return;
  g_clear_object (&self->process);
  g_clear_handle_id (&self->probe_source, g_source_remove);
  if (self->state == WB_LOCAL_SERVER_STOPPING || self->state == WB_LOCAL_SERVER_FAILED)
    {
      set_state (self, self->state == WB_LOCAL_SERVER_FAILED ? WB_LOCAL_SERVER_FAILED : WB_LOCAL_SERVER_STOPPED);
      return;
    }
  {
    const char *last = self->log.tail ? self->log.tail->data : "";

    /* The reason is the last critical line, not the goodbyes after it. */
    for (GList *l = self->log.tail; l != NULL; l = l->prev)
      if (strstr (l->data, " critical ") != NULL || strstr (l->data, " error ") != NULL)
        {
          last = l->data;
          break;
        }

    g_autofree char *message = g_subprocess_get_if_exited (process)
      /* Translators: the local server stopped by itself; its exit status and last line */
      ? g_strdup_printf (_("The local server stopped (exit status %d): %s"), g_subprocess_get_exit_status (process),
                         last)
      : g_strdup_printf (_("The local server was killed by signal %d"), g_subprocess_get_term_sig (process));

    fail (self, message);
  }
}

/* ---- the object ---------------------------------------------------------------------- */

static void
wb_local_server_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  WbLocalServer *self = WB_LOCAL_SERVER (object);

  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_int (value, self->state);
      break;
    case PROP_URL:
      g_value_set_string (value, self->url);
      break;
    case PROP_TOKEN:
      g_value_set_string (value, self->token);
      break;
    case PROP_ERROR:
      g_value_set_string (value, self->error);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_local_server_dispose (GObject *object)
{
  WbLocalServer *self = WB_LOCAL_SERVER (object);

  g_clear_handle_id (&self->probe_source, g_source_remove);
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  /* Never leave a daemon behind. */
  if (self->process != NULL)
    g_subprocess_send_signal (self->process, SIGTERM);
  g_clear_object (&self->process);
  g_clear_object (&self->output);
  g_clear_object (&self->probe);
  g_clear_object (&self->cancellable);
  G_OBJECT_CLASS (wb_local_server_parent_class)->dispose (object);
}

static void
wb_local_server_finalize (GObject *object)
{
  WbLocalServer *self = WB_LOCAL_SERVER (object);

  g_free (self->dir);
  g_free (self->url);
  g_free (self->token);
  g_free (self->error);
  g_free (self->secret);
  g_strfreev (self->extra_args);
  g_queue_clear_full (&self->log, g_free);
  G_OBJECT_CLASS (wb_local_server_parent_class)->finalize (object);
}

static void
wb_local_server_class_init (WbLocalServerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = wb_local_server_get_property;
  object_class->dispose = wb_local_server_dispose;
  object_class->finalize = wb_local_server_finalize;

  properties[PROP_STATE] = g_param_spec_int ("state", NULL, NULL, WB_LOCAL_SERVER_STOPPED, WB_LOCAL_SERVER_FAILED,
                                             WB_LOCAL_SERVER_STOPPED,
                                             G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_URL] = g_param_spec_string ("url", NULL, NULL, NULL,
                                              G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_TOKEN] = g_param_spec_string ("token", NULL, NULL, NULL,
                                                G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ERROR] = g_param_spec_string ("error", NULL, NULL, NULL,
                                                G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
  signals[LOG_LINE] = g_signal_new ("log-line", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                    G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
wb_local_server_init (WbLocalServer *self)
{
  g_queue_init (&self->log);
}

WbLocalServer *
wb_local_server_new (const char *state_dir)
{
  WbLocalServer *self = g_object_new (WB_TYPE_LOCAL_SERVER, NULL);

  self->dir = state_dir ? g_strdup (state_dir) : wb_local_server_default_dir ();
  return self;
}

void
wb_local_server_start (WbLocalServer *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) token = NULL;
  g_autofree char *daemon = NULL;
  g_autofree char *state_arg = NULL;
  g_autofree char *port_arg = NULL;
  g_autofree char *osmand_arg = NULL;
  g_autofree char *teltonika_arg = NULL;
  guint port, osmand, teltonika;

  g_return_if_fail (WB_IS_LOCAL_SERVER (self));

  if (self->state == WB_LOCAL_SERVER_STARTING || self->state == WB_LOCAL_SERVER_READY)
    return;
  g_clear_pointer (&self->error, g_free);
  g_clear_pointer (&self->token, g_free);
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  set_state (self, WB_LOCAL_SERVER_STARTING);

  daemon = wb_local_server_find_program ("waybilld");
  if (daemon == NULL)
    return fail (self, _("waybilld is not installed beside the console"));
  /* Private to the user; as root the embedded PostgreSQL runs as the
   * postgres user, who must be able to pass through. */
  if (g_mkdir_with_parents (self->dir, getuid () == 0 ? 0711 : 0700) != 0)
    {
      g_autofree char *message = g_strdup_printf ("%s: %s", self->dir, g_strerror (errno));

      return fail (self, message);
    }
  g_free (self->secret);
  self->secret = load_secret (self->dir, &error);
  /* It listens on loopback only, devices included: free ports, so it
   * never fights another waybilld on this computer for the usual ones. */
  if (self->secret == NULL || (port = free_port (&error)) == 0 || (osmand = free_port (&error)) == 0
      || (teltonika = free_port (&error)) == 0)
    return fail (self, error->message);

  g_free (self->url);
  self->url = g_strdup_printf ("http://127.0.0.1:%u", port);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_URL]);
  state_arg = g_strconcat ("--state-dir=", self->dir, NULL);
  port_arg = g_strdup_printf ("--port=%u", port);
  osmand_arg = g_strdup_printf ("--osmand-port=%u", osmand);
  teltonika_arg = g_strdup_printf ("--teltonika-port=%u", teltonika);
  launcher = launcher_new (self);
  add_log (self, daemon);
  g_clear_object (&self->process);
  {
    g_autoptr(GPtrArray) argv = g_ptr_array_new ();
    const char *fixed[] = { daemon, state_arg, "--listen-address=127.0.0.1", port_arg, osmand_arg, teltonika_arg };

    for (guint i = 0; i < G_N_ELEMENTS (fixed); i++)
      g_ptr_array_add (argv, (gpointer) fixed[i]);
    for (guint i = 0; self->extra_args != NULL && self->extra_args[i] != NULL; i++)
      g_ptr_array_add (argv, self->extra_args[i]);
    g_ptr_array_add (argv, NULL);
    self->process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  }
  if (self->process == NULL)
    return fail (self, error->message);
  g_clear_object (&self->output);
  self->output = g_data_input_stream_new (g_subprocess_get_stdout_pipe (self->process));
  self->reading = TRUE;
  read_line (self);
  g_subprocess_wait_async (self->process, NULL, on_exited, g_object_ref (self));

  token = g_subprocess_launcher_spawn (launcher, &error, daemon, "token", "--role", "admin", "--ttl", TOKEN_TTL, NULL);
  if (token == NULL)
    return fail (self, error->message);
  self->ready_deadline = g_get_monotonic_time () + READY_WITHIN_S * G_USEC_PER_SEC;
  g_subprocess_communicate_utf8_async (token, NULL, self->cancellable, on_token, g_object_ref (self));
}

void
wb_local_server_set_extra_args (WbLocalServer      *self,
                                const char * const *args)
{
  g_return_if_fail (WB_IS_LOCAL_SERVER (self));
  g_strfreev (self->extra_args);
  self->extra_args = g_strdupv ((char **) args);
}

void
wb_local_server_stop (WbLocalServer *self)
{
  g_return_if_fail (WB_IS_LOCAL_SERVER (self));

  g_clear_handle_id (&self->probe_source, g_source_remove);
  if (self->process == NULL)
    {
      if (self->state != WB_LOCAL_SERVER_FAILED)
        set_state (self, WB_LOCAL_SERVER_STOPPED);
      return;
    }
  set_state (self, WB_LOCAL_SERVER_STOPPING);
  g_subprocess_send_signal (self->process, SIGTERM);
}

void
wb_local_server_stop_sync (WbLocalServer *self,
                           guint          timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  GMainContext *context = g_main_context_get_thread_default ();

  g_return_if_fail (WB_IS_LOCAL_SERVER (self));

  wb_local_server_stop (self);
  /* Until it is gone and its last words are in the log. */
  while ((self->process != NULL || self->reading) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (context, FALSE) || (g_usleep (10 * 1000), TRUE);
  if (self->process != NULL)
    {
      g_subprocess_force_exit (self->process);
      g_clear_object (&self->process);
      set_state (self, WB_LOCAL_SERVER_STOPPED);
    }
}

WbLocalServerState
wb_local_server_get_state (WbLocalServer *self)
{
  g_return_val_if_fail (WB_IS_LOCAL_SERVER (self), WB_LOCAL_SERVER_STOPPED);
  return self->state;
}

const char *
wb_local_server_get_url (WbLocalServer *self)
{
  g_return_val_if_fail (WB_IS_LOCAL_SERVER (self), NULL);
  return self->url;
}

const char *
wb_local_server_get_token (WbLocalServer *self)
{
  g_return_val_if_fail (WB_IS_LOCAL_SERVER (self), NULL);
  return self->token;
}

const char *
wb_local_server_get_error (WbLocalServer *self)
{
  g_return_val_if_fail (WB_IS_LOCAL_SERVER (self), NULL);
  return self->error;
}

const char *
wb_local_server_get_dir (WbLocalServer *self)
{
  g_return_val_if_fail (WB_IS_LOCAL_SERVER (self), NULL);
  return self->dir;
}

char *
wb_local_server_dup_log (WbLocalServer *self)
{
  GString *text = g_string_new (NULL);

  g_return_val_if_fail (WB_IS_LOCAL_SERVER (self), NULL);

  for (GList *l = self->log.head; l != NULL; l = l->next)
    {
      g_string_append (text, l->data);
      g_string_append_c (text, '\n');
    }
  return g_string_free (text, FALSE);
}
