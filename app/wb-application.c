// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include <glib/gi18n.h>
#include <glib-unix.h>
#include <signal.h>

#include "wb-application.h"
#include "wb-client.h"
#include "wb-console-init.h"
#include "wb-local-server.h"
#include "wb-location-stream.h"
#include "wb-preferences-window.h"
#include "wb-token-store.h"
#include "wb-units.h"
#include "wb-window.h"

struct _WbApplication
{
  AdwApplication  parent_instance;

  GSettings      *settings;
  WbVehicleModel *model;
  GCancellable   *cancellable;
  WbClient       *client;
  WbLocationStream *stream;
  WbLocalServer  *local;          /* "run on this computer"; nullable */
  WbAlertCenter  *alerts;
  GPtrArray      *demo;           /* GSubprocess: the demo's simulators */
  gboolean        local_option;
  char           *local_dir_option;
  guint           signal_sources[2];
  gboolean        demo_option;

  /* Command-line overrides, for scripted and test runs. */
  char           *server_option;
  char           *tiles_option;
  char           *token_file_option;

  char           *server_url;
  char           *token;
  char           *tiles;
};

G_DEFINE_FINAL_TYPE (WbApplication, wb_application, ADW_TYPE_APPLICATION)

static const GOptionEntry option_entries[] = {
  { "server", 0, 0, G_OPTION_ARG_STRING, NULL, N_("The waybilld to talk to, for this run"), "URL" },
  { "tiles", 0, 0, G_OPTION_ARG_STRING, NULL, N_("Map tile URL template, or “none” for a plain background"), "URL-TEMPLATE" },
  { "token-file", 0, 0, G_OPTION_ARG_FILENAME, NULL, N_("Read the access token from FILE instead of the keyring"), "FILE" },
  { "local", 0, 0, G_OPTION_ARG_NONE, NULL, N_("Run a server on this computer and connect to it"), NULL },
  { "demo", 0, 0, G_OPTION_ARG_NONE, NULL, N_("With --local: a simulated fleet and emulated carriers"), NULL },
  { "local-dir", 0, 0, G_OPTION_ARG_FILENAME, NULL, N_("With --local: keep the server's data in DIR"), "DIR" },
  { NULL }
};

/* The main window, even while the preferences or the About window is the
 * active one. */
static WbWindow *
get_window (WbApplication *self)
{
  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (self)); l != NULL; l = l->next)
    if (WB_IS_WINDOW (l->data))
      return WB_WINDOW (l->data);
  return NULL;
}

static const char *
tiles (WbApplication *self)
{
  if (self->tiles_option != NULL)
    return self->tiles_option;
  g_free (self->tiles);
  self->tiles = g_settings_get_string (self->settings, "tile-url-template");
  return self->tiles;
}

static void
on_token_saved (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(WbApplication) self = user_data;
  g_autoptr(GError) error = NULL;

  /* Without a keyring the token still serves this run; say so once. */
  if (!wb_token_store_save_finish (result, &error))
    g_warning ("The access token could not be saved in the keyring: %s", error->message);
}

/* Reference names make the list searchable by plate, driver and company,
 * and give the other views names for ids. */
static void
on_directory_loaded (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(WbApplication) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(WbDirectory) directory = wb_client_load_directory_finish (WB_CLIENT (source), result, &error);
  WbWindow *window = get_window (self);

  if (directory != NULL && WB_CLIENT (source) == self->client)
    {
      wb_vehicle_model_set_references (self->model, wb_directory_get_vehicles (directory));
      wb_alert_center_set_directory (self->alerts, directory);
      if (window != NULL)
        wb_window_set_directory (window, directory);
    }
  else if (error != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_message ("The vehicle list could not be read: %s", error->message);
}

static void
disconnect (WbApplication *self)
{
  WbWindow *window = get_window (self);

  if (window != NULL)
    {
      wb_window_set_stream (window, NULL, NULL);
      wb_window_set_directory (window, NULL);
    }
  if (self->stream != NULL)
    wb_location_stream_stop (self->stream);
  g_clear_object (&self->stream);
  g_clear_object (&self->client);
  wb_alert_center_set_client (self->alerts, NULL);
  wb_vehicle_model_clear (self->model);
}

void
wb_application_connect (WbApplication *self,
                        const char    *server_url,
                        const char    *token,
                        gboolean       remember)
{
  WbWindow *window = get_window (self);

  g_return_if_fail (WB_IS_APPLICATION (self));
  g_return_if_fail (server_url != NULL);

  /* A daemon without a secret serves its loopback address without one. */
  if (token != NULL && *token == '\0')
    token = NULL;
  g_free (self->server_url);
  self->server_url = g_strdup (server_url);
  g_free (self->token);
  self->token = g_strdup (token);
  if (remember)
    {
      g_settings_set_string (self->settings, "server-url", server_url);
      if (token != NULL)
        wb_token_store_save_async (server_url, token, self->cancellable, on_token_saved, g_object_ref (self));
    }
  disconnect (self);
  self->client = wb_client_new (server_url, token);
  self->stream = wb_location_stream_new (self->client, self->model);
  wb_alert_center_set_client (self->alerts, self->client);
  wb_client_load_directory_async (self->client, self->cancellable, on_directory_loaded, g_object_ref (self));
  if (window != NULL)
    {
      wb_window_show_fleet (window, server_url);
      wb_window_set_stream (window, self->client, self->stream);
    }
  wb_location_stream_start (self->stream);
}

static void
on_token_looked_up (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(WbApplication) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *token = wb_token_store_lookup_finish (result, &error);
  g_autofree char *url = g_strdup (self->server_url);

  if (error != NULL)
    g_warning ("The keyring did not answer: %s", error->message);
  /* No token is no error: a server may let viewers in without one. */
  wb_application_connect (self, url, token, FALSE);
}

/* The token for @url: from --token-file when given, else the keyring's. */
static void
connect_to (WbApplication *self,
            const char    *url)
{
  WbWindow *window = get_window (self);
  g_autoptr(GError) error = NULL;
  g_autofree char *token = NULL;

  if (self->token_file_option == NULL)
    {
      g_free (self->server_url);
      self->server_url = g_strdup (url);
      wb_window_show_fleet (window, self->server_url);
      wb_window_set_connection_state (window, WB_CONNECTION_CONNECTING, NULL);
      wb_token_store_lookup_async (self->server_url, self->cancellable, on_token_looked_up, g_object_ref (self));
      return;
    }
  token = wb_token_store_read_file (self->token_file_option, &error);
  if (token == NULL)
    g_warning ("%s", error->message);
  wb_application_connect (self, url, token, FALSE);
}

/* ---- local mode ---------------------------------------------------------------- */

static void
spawn_demo (WbApplication *self,
            const char    *sim,
            const char    *title,
            ...) G_GNUC_NULL_TERMINATED;

/* One simulator of the demo, its output dropped: waybill-sim prints
 * progress a person at a terminal wants, not the console. */
static void
spawn_demo (WbApplication *self,
            const char    *sim,
            const char    *title,
            ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  GSubprocess *process;
  const char *arg;
  va_list args;

  g_ptr_array_add (argv, (gpointer) sim);
  va_start (args, title);
  while ((arg = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (argv, (gpointer) arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);
  process = wb_local_server_spawn_helper ((const char * const *) argv->pdata, &error);
  if (process == NULL)
    {
      g_warning ("The demo's %s did not start: %s", title, error->message);
      return;
    }
  g_ptr_array_add (self->demo, process);
}

/* The demo: a registered fleet driving around Minsk, the carrier emulator
 * the default carriers file points at, and track numbers for it to move
 * along, all against the local server with its admin token. */
static void
start_demo (WbApplication *self)
{
  g_autofree char *sim = wb_local_server_find_program ("waybill-sim");
  const char *url = wb_local_server_get_url (self->local);
  g_autofree char *token = g_strconcat ("--token=", wb_local_server_get_token (self->local), NULL);
  g_autofree char *url_arg = g_strconcat ("--url=", url, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) reference = NULL;

  if (sim == NULL)
    {
      g_warning ("The demo needs waybill-sim, which is not installed beside the console");
      return;
    }
  /* The fleet's reference data first (a few seconds), then the rest. */
  reference = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error,
                                sim, "reference", "--vehicles=40", "--companies=2", url_arg, token, NULL);
  if (reference == NULL || !g_subprocess_wait_check (reference, NULL, &error))
    g_warning ("The demo's fleet could not be registered: %s", error->message);
  spawn_demo (self, sim, "fleet", "fleet", "--vehicles=40", url_arg, token, NULL);
  spawn_demo (self, sim, "carrier emulator", "carriers", "--step=15s", NULL);
  spawn_demo (self, sim, "track numbers", "trackings", "--count=60", "--rate=5", url_arg, token, NULL);
}

static void
stop_demo (WbApplication *self)
{
  for (guint i = 0; self->demo != NULL && i < self->demo->len; i++)
    g_subprocess_send_signal (g_ptr_array_index (self->demo, i), SIGTERM);
  if (self->demo != NULL)
    g_ptr_array_set_size (self->demo, 0);
}

static void
on_local_state (WbApplication *self)
{
  WbWindow *window = get_window (self);

  switch (wb_local_server_get_state (self->local))
    {
    case WB_LOCAL_SERVER_READY:
      wb_application_connect (self, wb_local_server_get_url (self->local), wb_local_server_get_token (self->local),
                              FALSE);
      if (self->demo_option && (self->demo == NULL || self->demo->len == 0))
        start_demo (self);
      break;
    case WB_LOCAL_SERVER_FAILED:
      if (window != NULL)
        wb_window_set_connection_state (window, WB_CONNECTION_DISCONNECTED, wb_local_server_get_error (self->local));
      break;
    case WB_LOCAL_SERVER_STARTING:
      if (window != NULL)
        wb_window_set_connection_state (window, WB_CONNECTION_CONNECTING, _("Starting the server on this computer…"));
      break;
    case WB_LOCAL_SERVER_STOPPED:
    case WB_LOCAL_SERVER_STOPPING:
    default:
      break;
    }
}

static void
run_local (WbApplication *self)
{
  WbWindow *window = get_window (self);

  if (self->local == NULL)
    {
      self->local = wb_local_server_new (self->local_dir_option);
      /* The demo's statuses move in seconds, not hours. */
      if (self->demo_option)
        wb_local_server_set_extra_args (self->local, (const char * const[]) { "--polling-profile=demo", NULL });
      g_signal_connect_object (self->local, "notify::state", G_CALLBACK (on_local_state), self, G_CONNECT_SWAPPED);
    }
  g_simple_action_set_enabled (G_SIMPLE_ACTION (g_action_map_lookup_action (G_ACTION_MAP (self), "local-server")),
                               TRUE);
  if (window != NULL)
    wb_window_show_fleet (window, _("this computer"));
  wb_local_server_start (self->local);
}

WbAlertCenter *
wb_application_get_alert_center (WbApplication *self)
{
  g_return_val_if_fail (WB_IS_APPLICATION (self), NULL);
  return self->alerts;
}

WbLocalServer *
wb_application_get_local_server (WbApplication *self)
{
  g_return_val_if_fail (WB_IS_APPLICATION (self), NULL);
  return self->local;
}

static void
start (WbApplication *self)
{
  WbWindow *window = get_window (self);
  g_autofree char *url = self->server_option ? g_strdup (self->server_option)
                                             : g_settings_get_string (self->settings, "server-url");

  wb_window_set_tiles (window, tiles (self));
  if (self->local_option || (self->server_option == NULL && g_settings_get_boolean (self->settings, "run-locally")))
    {
      run_local (self);
      return;
    }
  if (*url == '\0')
    {
      wb_window_show_first_run (window);
      return;
    }
  connect_to (self, url);
}

/* A server URL saved while running (the preferences) reconnects at once;
 * one the console saved itself on connecting is already in use. With
 * --server the option rules the run. */
static void
on_server_url_changed (WbApplication *self)
{
  WbWindow *window = get_window (self);
  g_autofree char *url = g_settings_get_string (self->settings, "server-url");

  if (window == NULL || self->server_option != NULL || g_strcmp0 (url, self->server_url) == 0)
    return;
  if (*url == '\0')
    {
      disconnect (self);
      g_clear_pointer (&self->server_url, g_free);
      wb_window_show_first_run (window);
      return;
    }
  connect_to (self, url);
}

/* Units apply to what is drawn from now on (each row's next update). */
static void
on_units_changed (WbApplication *self)
{
  wb_units_set_imperial (g_settings_get_enum (self->settings, "units") == 1);
}

/* New tiles show at once, unless --tiles rules the run. */
static void
on_tiles_changed (WbApplication *self)
{
  WbWindow *window = get_window (self);

  if (window != NULL && self->tiles_option == NULL)
    wb_window_set_tiles (window, tiles (self));
}

static void
wb_application_activate (GApplication *application)
{
  WbApplication *self = WB_APPLICATION (application);
  WbWindow *window = get_window (self);

  if (window == NULL)
    {
      window = wb_window_new (GTK_APPLICATION (self), self->model, self->settings);
      wb_window_set_alert_center (window, self->alerts);
      start (self);
    }
  gtk_window_present (GTK_WINDOW (window));
}

static int
wb_application_handle_local_options (GApplication *application,
                                     GVariantDict *options)
{
  WbApplication *self = WB_APPLICATION (application);

  g_variant_dict_lookup (options, "server", "s", &self->server_option);
  g_variant_dict_lookup (options, "tiles", "s", &self->tiles_option);
  g_variant_dict_lookup (options, "token-file", "^ay", &self->token_file_option);
  g_variant_dict_lookup (options, "local-dir", "^ay", &self->local_dir_option);
  self->local_option = g_variant_dict_contains (options, "local");
  self->demo_option = g_variant_dict_contains (options, "demo");
  if (self->demo_option)
    self->local_option = TRUE;
  return -1;
}

static void
quit_action (GSimpleAction *action,
             GVariant      *parameter,
             gpointer       user_data)
{
  GtkWindow *window = GTK_WINDOW (get_window (WB_APPLICATION (user_data)));

  /* Closing (not just quitting) lets the window save its state. */
  if (window != NULL)
    gtk_window_close (window);
  g_application_quit (G_APPLICATION (user_data));
}

static void
about_action (GSimpleAction *action,
              GVariant      *parameter,
              gpointer       user_data)
{
  GtkWindow *window = GTK_WINDOW (get_window (WB_APPLICATION (user_data)));

  /* GTK_LICENSE_GPL_3_0 is GPL-3.0-or-later. */
  adw_show_about_window (window,
                         "application-name", _("Waybill"),
                         "application-icon", "org.waybill.Waybill",
                         "version", PACKAGE_VERSION,
                         "developer-name", _("The Waybill developers"),
                         "comments", _("The live fleet of a Waybill server"),
                         "license-type", GTK_LICENSE_GPL_3_0,
                         "website", PACKAGE_URL,
                         "issue-url", PACKAGE_BUGREPORT,
                         "copyright", "© 2026 The Waybill developers",
                         NULL);
}

static void
preferences_action (GSimpleAction *action,
                    GVariant      *parameter,
                    gpointer       user_data)
{
  WbApplication *self = WB_APPLICATION (user_data);
  GtkWidget *preferences = wb_preferences_window_new (GTK_WINDOW (get_window (self)), self->settings);

  gtk_window_set_application (GTK_WINDOW (preferences), GTK_APPLICATION (self));
  gtk_window_present (GTK_WINDOW (preferences));
}

/* "Run Locally" on the first-run page: from now on at each start. */
static void
run_local_action (GSimpleAction *action,
                  GVariant      *parameter,
                  gpointer       user_data)
{
  WbApplication *self = WB_APPLICATION (user_data);

  g_settings_set_boolean (self->settings, "run-locally", TRUE);
  run_local (self);
}

static void
on_log_line (GtkTextBuffer *buffer,
             const char    *line)
{
  GtkTextIter end;

  gtk_text_buffer_get_end_iter (buffer, &end);
  gtk_text_buffer_insert (buffer, &end, line, -1);
  gtk_text_buffer_insert (buffer, &end, "\n", 1);
}

/* The local server's state, folder and log, live. */
static void
local_server_action (GSimpleAction *action,
                     GVariant      *parameter,
                     gpointer       user_data)
{
  WbApplication *self = WB_APPLICATION (user_data);
  GtkWidget *window, *box, *header, *status, *scrolled, *view;
  g_autofree char *log = NULL;
  g_autofree char *summary = NULL;
  static const char *states[] = { NC_("local server", "Stopped"), NC_("local server", "Starting"),
                                  NC_("local server", "Running"), NC_("local server", "Stopping"),
                                  NC_("local server", "Failed") };

  if (self->local == NULL)
    return;
  window = adw_window_new ();
  gtk_window_set_title (GTK_WINDOW (window), _("Server on This Computer"));
  gtk_window_set_default_size (GTK_WINDOW (window), 760, 480);
  gtk_window_set_transient_for (GTK_WINDOW (window), GTK_WINDOW (get_window (self)));
  box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  header = adw_header_bar_new ();
  gtk_box_append (GTK_BOX (box), header);
  /* Translators: the local server's state, its address and its folder */
  summary = g_strdup_printf (_("%s · %s · data in %s"), g_dpgettext2 (NULL, "local server", states[wb_local_server_get_state (self->local)]),
                             wb_local_server_get_url (self->local) ?: "—", wb_local_server_get_dir (self->local));
  status = gtk_label_new (summary);
  gtk_widget_set_name (status, "local-status");
  gtk_label_set_wrap (GTK_LABEL (status), TRUE);
  gtk_label_set_xalign (GTK_LABEL (status), 0);
  gtk_widget_set_margin_start (status, 12);
  gtk_widget_set_margin_end (status, 12);
  gtk_widget_set_margin_top (status, 6);
  gtk_widget_set_margin_bottom (status, 6);
  gtk_box_append (GTK_BOX (box), status);
  scrolled = gtk_scrolled_window_new ();
  gtk_widget_set_vexpand (scrolled, TRUE);
  view = gtk_text_view_new ();
  gtk_widget_set_name (view, "local-log");
  gtk_text_view_set_editable (GTK_TEXT_VIEW (view), FALSE);
  gtk_text_view_set_monospace (GTK_TEXT_VIEW (view), TRUE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (view), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Server log"), -1);
  log = wb_local_server_dup_log (self->local);
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (GTK_TEXT_VIEW (view)), log, -1);
  g_signal_connect_object (self->local, "log-line", G_CALLBACK (on_log_line),
                           gtk_text_view_get_buffer (GTK_TEXT_VIEW (view)), G_CONNECT_SWAPPED);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scrolled), view);
  gtk_box_append (GTK_BOX (box), scrolled);
  adw_window_set_content (ADW_WINDOW (window), box);
  gtk_window_present (GTK_WINDOW (window));
}

/* SIGTERM or SIGINT (a session ending, Ctrl+C in a terminal) quit as the
 * menu does, so a local server stops cleanly too. */
static gboolean
on_quit_signal (gpointer data)
{
  g_application_quit (G_APPLICATION (data));
  return G_SOURCE_CONTINUE;
}

/* A desktop notification's click: the window, in front. */
static void
activate_action (GSimpleAction *action,
                 GVariant      *parameter,
                 gpointer       user_data)
{
  g_application_activate (G_APPLICATION (user_data));
}

static const GActionEntry app_actions[] = {
  { "activate", activate_action },
  { "run-local", run_local_action },
  { "local-server", local_server_action },
  { "quit", quit_action },
  { "about", about_action },
  { "preferences", preferences_action },
};

static void
wb_application_startup (GApplication *application)
{
  WbApplication *self = WB_APPLICATION (application);
  static const struct { const char *action; const char *accels[2]; } shortcuts[] = {
    { "app.quit", { "<Primary>q", NULL } },
    { "app.preferences", { "<Primary>comma", NULL } },
    { "win.search", { "<Primary>f", NULL } },
    { "win.follow", { "<Primary>l", NULL } },
    { "win.sidebar-visible", { "F9", NULL } },
  };

  wb_console_init ();
  G_APPLICATION_CLASS (wb_application_parent_class)->startup (application);

  self->settings = g_settings_new ("org.waybill.Waybill");
  g_signal_connect_object (self->settings, "changed::server-url", G_CALLBACK (on_server_url_changed), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->settings, "changed::tile-url-template", G_CALLBACK (on_tiles_changed), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->settings, "changed::units", G_CALLBACK (on_units_changed), self, G_CONNECT_SWAPPED);
  on_units_changed (self);
  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions, G_N_ELEMENTS (app_actions), self);
  g_simple_action_set_enabled (G_SIMPLE_ACTION (g_action_map_lookup_action (G_ACTION_MAP (self), "local-server")),
                               FALSE);
  self->signal_sources[0] = g_unix_signal_add (SIGTERM, on_quit_signal, self);
  self->signal_sources[1] = g_unix_signal_add (SIGINT, on_quit_signal, self);
  for (guint i = 0; i < G_N_ELEMENTS (shortcuts); i++)
    gtk_application_set_accels_for_action (GTK_APPLICATION (self), shortcuts[i].action, shortcuts[i].accels);
}

/* Settings changed after the run (another instance, a test) reach no one. */
static void
wb_application_shutdown (GApplication *application)
{
  WbApplication *self = WB_APPLICATION (application);

  g_signal_handlers_disconnect_by_data (self->settings, self);
  g_clear_handle_id (&self->signal_sources[0], g_source_remove);
  g_clear_handle_id (&self->signal_sources[1], g_source_remove);
  /* Its events stream and carrier reads stop with the run, whoever still
   * holds the center; and no window outlives it, drawing and reading. */
  wb_alert_center_set_client (self->alerts, NULL);
  {
    GList *windows;

    while ((windows = gtk_application_get_windows (GTK_APPLICATION (self))) != NULL)
      gtk_window_destroy (windows->data);
  }
  /* The local server and the demo end with the console, cleanly. */
  stop_demo (self);
  if (self->local != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->local, self);
      wb_local_server_stop_sync (self->local, 15000);
    }
  G_APPLICATION_CLASS (wb_application_parent_class)->shutdown (application);
}

static void
wb_application_dispose (GObject *object)
{
  WbApplication *self = WB_APPLICATION (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->stream != NULL)
    wb_location_stream_stop (self->stream);
  g_clear_object (&self->stream);
  g_clear_object (&self->client);
  g_clear_object (&self->settings);
  g_clear_object (&self->model);
  g_clear_object (&self->local);
  g_clear_object (&self->alerts);
  g_clear_pointer (&self->demo, g_ptr_array_unref);
  G_OBJECT_CLASS (wb_application_parent_class)->dispose (object);
}

static void
wb_application_finalize (GObject *object)
{
  WbApplication *self = WB_APPLICATION (object);

  g_clear_pointer (&self->server_option, g_free);
  g_clear_pointer (&self->tiles_option, g_free);
  g_clear_pointer (&self->token_file_option, g_free);
  g_clear_pointer (&self->local_dir_option, g_free);
  g_clear_pointer (&self->server_url, g_free);
  g_clear_pointer (&self->token, g_free);
  g_clear_pointer (&self->tiles, g_free);
  G_OBJECT_CLASS (wb_application_parent_class)->finalize (object);
}

static void
wb_application_class_init (WbApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *application_class = G_APPLICATION_CLASS (klass);

  object_class->dispose = wb_application_dispose;
  object_class->finalize = wb_application_finalize;
  application_class->activate = wb_application_activate;
  application_class->startup = wb_application_startup;
  application_class->shutdown = wb_application_shutdown;
  application_class->handle_local_options = wb_application_handle_local_options;
}

static void
wb_application_init (WbApplication *self)
{
  self->model = wb_vehicle_model_new ();
  self->cancellable = g_cancellable_new ();
  self->demo = g_ptr_array_new_with_free_func (g_object_unref);
  self->alerts = wb_alert_center_new ();
  g_application_add_main_option_entries (G_APPLICATION (self), option_entries);
}

WbApplication *
wb_application_new (void)
{
  return g_object_new (WB_TYPE_APPLICATION,
                       "application-id", "org.waybill.Waybill",
                       "flags", G_APPLICATION_DEFAULT_FLAGS,
                       "resource-base-path", "/org/waybill/Waybill",
                       NULL);
}

WbVehicleModel *
wb_application_get_model (WbApplication *self)
{
  g_return_val_if_fail (WB_IS_APPLICATION (self), NULL);
  return self->model;
}
