// SPDX-License-Identifier: GPL-3.0-or-later
/* The console's desktop integration under Xvfb: the About window and its
 * facts, the primary menu and shortcuts that reach it and the
 * Preferences, and the Preferences window reading and writing the
 * settings, with new tiles and a new server taking effect at once against
 * real waybillds. */
#include "config.h"

#include <adwaita.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <shumate/shumate.h>
#include <string.h>

#include "wb-application.h"
#include "wb-console-init.h"
#include "wb-jwt.h"
#include "wb-preferences-window.h"
#include "wb-test-daemon.h"
#include "wb-test-pg.h"
#include "wb-text-column.h"
#include "wb-tile-source.h"
#include "wb-window.h"

#define SECRET "desktop-test-secret-of-enough-length-0123456789"

#define WAIT_FOR(condition) \
  G_STMT_START { \
    gint64 wait_deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC; \
    while (!(condition)) \
      { \
        if (g_get_monotonic_time () > wait_deadline) \
          g_error ("timed out waiting for %s", #condition); \
        if (!g_main_context_iteration (NULL, FALSE)) \
          g_usleep (2000); \
      } \
  } G_STMT_END

/* ---- helpers ------------------------------------------------------------ */

/* The first visible toplevel of @type, or NULL. */
static GtkWidget *
find_toplevel (GType type)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GtkWidget) window = g_list_model_get_item (toplevels, i);

      if (G_TYPE_CHECK_INSTANCE_TYPE (window, type) && gtk_widget_get_visible (window))
        return window;
    }
  return NULL;
}

static void
collect (GtkWidget *root,
         GType      type,
         GPtrArray *found)
{
  for (GtkWidget *child = gtk_widget_get_first_child (root); child; child = gtk_widget_get_next_sibling (child))
    {
      if (G_TYPE_CHECK_INSTANCE_TYPE (child, type))
        g_ptr_array_add (found, child);
      collect (child, type, found);
    }
}

static GtkWidget *
find_child (GtkWidget *root,
            GType      type)
{
  g_autoptr(GPtrArray) found = g_ptr_array_new ();

  collect (root, type, found);
  return found->len > 0 ? g_ptr_array_index (found, 0) : NULL;
}

/* The preferences row titled @title. */
static GtkWidget *
find_row (GtkWidget  *root,
          const char *title)
{
  g_autoptr(GPtrArray) rows = g_ptr_array_new ();

  collect (root, ADW_TYPE_PREFERENCES_ROW, rows);
  for (guint i = 0; i < rows->len; i++)
    if (g_str_equal (adw_preferences_row_get_title (g_ptr_array_index (rows, i)), title))
      return g_ptr_array_index (rows, i);
  g_error ("no row titled %s", title);
}

/* The switch in the row titled @title. */
static GtkSwitch *
row_switch (GtkWidget  *root,
            const char *title)
{
  GtkWidget *found = find_child (find_row (root, title), GTK_TYPE_SWITCH);

  g_assert_nonnull (found);
  return GTK_SWITCH (found);
}

static gboolean
menu_has_action (GMenuModel *menu,
                 const char *action)
{
  for (int i = 0; i < g_menu_model_get_n_items (menu); i++)
    {
      g_autofree char *name = NULL;
      g_autoptr(GMenuModel) section = g_menu_model_get_item_link (menu, i, G_MENU_LINK_SECTION);

      if (g_menu_model_get_item_attribute (menu, i, G_MENU_ATTRIBUTE_ACTION, "s", &name)
          && g_str_equal (name, action))
        return TRUE;
      if (section != NULL && menu_has_action (section, action))
        return TRUE;
    }
  return FALSE;
}

/* The header bar's primary menu: the menu button whose menu quits. */
static GMenuModel *
primary_menu (GtkWidget *window)
{
  g_autoptr(GPtrArray) buttons = g_ptr_array_new ();

  collect (window, GTK_TYPE_MENU_BUTTON, buttons);
  for (guint i = 0; i < buttons->len; i++)
    {
      GMenuModel *menu = gtk_menu_button_get_menu_model (g_ptr_array_index (buttons, i));

      if (menu != NULL && menu_has_action (menu, "app.about"))
        return menu;
    }
  return NULL;
}

static void
assert_accel (GApplication *application,
              const char   *action,
              const char   *accel)
{
  g_auto(GStrv) accels = gtk_application_get_accels_for_action (GTK_APPLICATION (application), action);

  g_assert_true (accels != NULL && accels[0] != NULL);
  g_assert_cmpstr (accels[0], ==, accel);
}

static gboolean
has_accessible_name (GtkWidget *widget)
{
  if (gtk_test_accessible_has_property (GTK_ACCESSIBLE (widget), GTK_ACCESSIBLE_PROPERTY_LABEL)
      || gtk_test_accessible_has_relation (GTK_ACCESSIBLE (widget), GTK_ACCESSIBLE_RELATION_LABELLED_BY))
    return TRUE;
  if (GTK_IS_BUTTON (widget) && gtk_button_get_label (GTK_BUTTON (widget)) != NULL)
    return TRUE;
  if (ADW_IS_PREFERENCES_ROW (widget) && *adw_preferences_row_get_title (ADW_PREFERENCES_ROW (widget)) != '\0')
    return TRUE;
  return FALSE;
}

/* Every visible row, switch and text button in @root has an accessible
 * name; returns how many were checked. */
static guint
assert_controls_named (GtkWidget *root)
{
  guint checked = 0;

  for (GtkWidget *child = gtk_widget_get_first_child (root); child; child = gtk_widget_get_next_sibling (child))
    {
      if (!gtk_widget_get_visible (child))
        continue;
      if (ADW_IS_PREFERENCES_ROW (child) || GTK_IS_SWITCH (child)
          || (GTK_IS_BUTTON (child) && gtk_button_get_label (GTK_BUTTON (child)) != NULL))
        {
          if (!has_accessible_name (child))
            g_error ("%s in %s has no accessible name", G_OBJECT_TYPE_NAME (child),
                     G_OBJECT_TYPE_NAME (gtk_widget_get_parent (child)));
          checked++;
        }
      /* A combo row's popover lists its choices, named by their text. */
      if (!ADW_IS_COMBO_ROW (child))
        checked += assert_controls_named (child);
    }
  return checked;
}

static gboolean
count_frame (GtkWidget     *widget,
             GdkFrameClock *clock,
             gpointer       user_data)
{
  guint *frames = user_data;

  (*frames)++;
  return G_SOURCE_CONTINUE;
}

/* widget paintable → the window's renderer → PNG in
 * $G_TEST_BUILDDIR/screenshots, after a few frames. */
static void
save_screenshot (GtkWidget  *widget,
                 const char *name)
{
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree char *dir = g_build_filename (g_getenv ("G_TEST_BUILDDIR") ?: ".", "screenshots", NULL);
  g_autofree char *path = g_build_filename (dir, name, NULL);
  guint frames = 0;
  guint id = gtk_widget_add_tick_callback (widget, count_frame, &frames, NULL);
  int width, height;

  /* Past the window's opening transitions. */
  WAIT_FOR (frames >= 20);
  gtk_widget_remove_tick_callback (widget, id);
  width = gtk_widget_get_width (widget);
  height = gtk_widget_get_height (widget);
  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node (snapshot);
  g_assert_nonnull (node);
  texture = gsk_renderer_render_texture (gtk_native_get_renderer (gtk_widget_get_native (widget)), node,
                                         &GRAPHENE_RECT_INIT (0, 0, width, height));
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_true (gdk_texture_save_to_png (texture, path));
  g_test_message ("screenshot: %s", path);
}

/* A waybilld on a database of its own, with the test's secret, once ready. */
static WbTestDaemon *
start_daemon (const char *name)
{
  g_autofree char *conninfo = wb_test_pg_create_database (name);
  g_autofree char *dsn = g_strconcat ("DB_DSN=", conninfo, NULL);
  const char *env[] = { dsn, "SERVER_PORT=0", "AUTH_HS256SECRET=" SECRET, NULL };
  g_autoptr(SoupSession) session = soup_session_new ();
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  WbTestDaemon *daemon = wb_test_daemon_spawn (env, NULL);

  while (g_get_monotonic_time () < deadline)
    {
      g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u/readyz", wb_test_daemon_port (daemon));
      g_autoptr(SoupMessage) message = soup_message_new ("GET", uri);
      g_autoptr(GBytes) body = soup_session_send_and_read (session, message, NULL, NULL);

      if (soup_message_get_status (message) == 200)
        return daemon;
      g_usleep (50 * 1000);
    }
  g_error ("waybilld did not become ready");
}

static char *
daemon_url (WbTestDaemon *daemon)
{
  return g_strdup_printf ("http://127.0.0.1:%u", wb_test_daemon_port (daemon));
}

/* ---- the About window --------------------------------------------------- */

typedef struct
{
  gboolean done;
} About;

static void
run_about_scenario (GApplication *application,
                    About        *about)
{
  GtkWidget *window = GTK_WIDGET (gtk_application_get_active_window (GTK_APPLICATION (application)));
  GMenuModel *menu;
  AdwAboutWindow *about_window;

  g_assert_true (WB_IS_WINDOW (window));
  WAIT_FOR (gtk_widget_get_mapped (window));

  /* Reachable from the primary menu; the Preferences too, and Ctrl+comma. */
  menu = primary_menu (window);
  g_assert_nonnull (menu);
  g_assert_true (menu_has_action (menu, "app.preferences"));
  assert_accel (application, "app.preferences", "<Control>comma");

  g_assert_null (find_toplevel (ADW_TYPE_ABOUT_WINDOW));
  g_action_group_activate_action (G_ACTION_GROUP (application), "about", NULL);
  WAIT_FOR (find_toplevel (ADW_TYPE_ABOUT_WINDOW) != NULL);
  about_window = ADW_ABOUT_WINDOW (find_toplevel (ADW_TYPE_ABOUT_WINDOW));
  WAIT_FOR (gtk_widget_get_mapped (GTK_WIDGET (about_window)));

  /* The version is meson's project version. */
  save_screenshot (GTK_WIDGET (about_window), "console-about.png");
  g_assert_cmpstr (adw_about_window_get_version (about_window), ==, WB_EXPECTED_VERSION);
  g_assert_cmpstr (adw_about_window_get_application_name (about_window), ==, "Waybill");
  g_assert_cmpstr (adw_about_window_get_application_icon (about_window), ==, "org.waybill.Waybill");
  g_assert_cmpstr (adw_about_window_get_developer_name (about_window), ==, "The Waybill developers");
  g_assert_cmpint (adw_about_window_get_license_type (about_window), ==, GTK_LICENSE_GPL_3_0);
  g_assert_cmpstr (adw_about_window_get_website (about_window), ==, WB_EXPECTED_URL);
  g_assert_cmpstr (adw_about_window_get_issue_url (about_window), ==, WB_EXPECTED_ISSUE_URL);
  g_assert_true (gtk_window_get_transient_for (GTK_WINDOW (about_window)) == GTK_WINDOW (window));
  /* The icon is found uninstalled too, from the application's resources. */
  g_assert_true (gtk_icon_theme_has_icon (gtk_icon_theme_get_for_display (gtk_widget_get_display (window)),
                                          "org.waybill.Waybill"));
  g_assert_true (gtk_icon_theme_has_icon (gtk_icon_theme_get_for_display (gtk_widget_get_display (window)),
                                          "org.waybill.Waybill-symbolic"));

  gtk_window_destroy (GTK_WINDOW (about_window));
  about->done = TRUE;
  g_action_group_activate_action (G_ACTION_GROUP (application), "quit", NULL);
}

static void
test_about (void)
{
  About about = { 0 };
  g_autoptr(WbApplication) application = wb_application_new ();
  g_autoptr(GSettings) settings = g_settings_new ("org.waybill.Waybill");
  const char *argv[] = { "waybill", "--tiles", "none", NULL };

  /* No server: the first-run page, no network. */
  g_settings_set_string (settings, "server-url", "");
  g_signal_connect_after (application, "activate", G_CALLBACK (run_about_scenario), &about);
  g_assert_cmpint (g_application_run (G_APPLICATION (application), G_N_ELEMENTS (argv) - 1, (char **) argv), ==, 0);
  g_assert_true (about.done);
}

/* ---- the Preferences window --------------------------------------------- */

typedef struct
{
  WbTestDaemon *first;
  WbTestDaemon *second;
  gboolean      done;
} Preferences;

/* The tile template the map draws now: its raster renderer's data source
 * is the window's WbTileSource. */
static char *
map_template (GtkWidget *window)
{
  GtkWidget *map = find_child (window, SHUMATE_TYPE_SIMPLE_MAP);
  g_autoptr(ShumateDataSource) data_source = NULL;

  g_assert_nonnull (map);
  g_object_get (shumate_simple_map_get_map_source (SHUMATE_SIMPLE_MAP (map)), "data-source", &data_source, NULL);
  g_assert_true (WB_IS_TILE_SOURCE (data_source));
  return g_strdup (wb_tile_source_get_url_template (WB_TILE_SOURCE (data_source)));
}

#define assert_map_template(window, expected) \
  G_STMT_START { \
    g_autofree char *drawn = map_template (window); \
    g_assert_cmpstr (drawn, ==, expected); \
  } G_STMT_END

static void
apply_text (GtkWidget  *row,
            const char *text)
{
  gtk_editable_set_text (GTK_EDITABLE (row), text);
  g_signal_emit_by_name (row, "apply");
}

static void
check_units_and_sounds (GtkWidget *preferences,
                        GSettings *settings)
{
  AdwComboRow *units = ADW_COMBO_ROW (find_row (preferences, "Distances and Speeds"));
  GtkSwitch *shipment = row_switch (preferences, "Shipment Status Changes");
  GtkSwitch *sla = row_switch (preferences, "SLA Breaches");
  GtkSwitch *device = row_switch (preferences, "Trackers Offline");

  /* What the window shows is what is stored... */
  g_assert_cmpuint (adw_combo_row_get_selected (units), ==, 0);
  g_assert_cmpint (g_settings_get_enum (settings, "units"), ==, 0);
  g_assert_false (gtk_switch_get_active (shipment));
  g_assert_true (gtk_switch_get_active (sla));
  g_assert_true (gtk_switch_get_active (device));

  /* ...what it is set to is stored... */
  adw_combo_row_set_selected (units, 1);
  g_assert_cmpint (g_settings_get_enum (settings, "units"), ==, 1);
  gtk_switch_set_active (shipment, TRUE);
  g_assert_true (g_settings_get_boolean (settings, "alert-sound-shipment"));
  gtk_switch_set_active (device, FALSE);
  g_assert_false (g_settings_get_boolean (settings, "alert-sound-device"));

  /* ...and a setting changed elsewhere shows. */
  g_settings_set_enum (settings, "units", 0);
  g_assert_cmpuint (adw_combo_row_get_selected (units), ==, 0);
  g_settings_set_boolean (settings, "alert-sound-sla", FALSE);
  g_assert_false (gtk_switch_get_active (sla));
}

static void
check_tiles (GtkWidget *preferences,
             GtkWidget *window,
             GSettings *settings)
{
  GtkWidget *tiles = find_row (preferences, "Tile URL template");
  GtkWidget *use_none = find_child (find_row (preferences, "No Map Tiles"), GTK_TYPE_BUTTON);
  g_autofree char *saved = NULL;

  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (tiles)), ==, "none");
  assert_map_template (window, "none");

  /* A template without {x} is refused, marked, and nothing changes. */
  apply_text (tiles, "file:///srv/tiles/{z}/{y}.png");
  saved = g_settings_get_string (settings, "tile-url-template");
  g_assert_cmpstr (saved, ==, "none");
  g_assert_true (gtk_widget_has_css_class (tiles, "error"));
  assert_map_template (window, "none");

  /* A good one is saved and the map takes it at once. */
  apply_text (tiles, "file:///srv/waybill-test-tiles/{z}/{x}/{y}.png");
  g_assert_false (gtk_widget_has_css_class (tiles, "error"));
  g_clear_pointer (&saved, g_free);
  saved = g_settings_get_string (settings, "tile-url-template");
  g_assert_cmpstr (saved, ==, "file:///srv/waybill-test-tiles/{z}/{x}/{y}.png");
  assert_map_template (window, "file:///srv/waybill-test-tiles/{z}/{x}/{y}.png");

  /* "Use None" goes back to the plain background. */
  g_signal_emit_by_name (use_none, "clicked");
  g_clear_pointer (&saved, g_free);
  saved = g_settings_get_string (settings, "tile-url-template");
  g_assert_cmpstr (saved, ==, "none");
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (tiles)), ==, "none");
  assert_map_template (window, "none");
}

static void
check_server (GtkWidget   *preferences,
              WbWindow    *window,
              GSettings   *settings,
              Preferences *run)
{
  GtkWidget *server = find_row (preferences, "Server URL");
  g_autofree char *first = daemon_url (run->first);
  g_autofree char *second = daemon_url (run->second);
  g_autofree char *saved = NULL;

  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (server)), ==, first);

  /* Not a URL the console can use: refused, the setting kept. */
  apply_text (server, "ftp://127.0.0.1/");
  saved = g_settings_get_string (settings, "server-url");
  g_assert_cmpstr (saved, ==, first);
  g_assert_true (gtk_widget_has_css_class (server, "error"));
  gtk_test_accessible_assert_state (server, GTK_ACCESSIBLE_STATE_INVALID, GTK_ACCESSIBLE_INVALID_TRUE);
  gtk_editable_set_text (GTK_EDITABLE (server), "http://");
  g_assert_false (gtk_widget_has_css_class (server, "error"));

  /* The first server goes away; applying the second reconnects to it. */
  g_assert_cmpint (wb_test_daemon_terminate (run->first), ==, 0);
  WAIT_FOR (wb_window_get_connection_state (window) == WB_CONNECTION_RECONNECTING);
  apply_text (server, second);
  g_clear_pointer (&saved, g_free);
  saved = g_settings_get_string (settings, "server-url");
  g_assert_cmpstr (saved, ==, second);
  WAIT_FOR (wb_window_get_connection_state (window) == WB_CONNECTION_LIVE);
}

static void
run_preferences_scenario (GApplication *application,
                          Preferences  *run)
{
  WbWindow *window = WB_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (application)));
  g_autoptr(GSettings) settings = g_settings_new ("org.waybill.Waybill");
  GtkWidget *preferences;

  g_assert_nonnull (window);
  WAIT_FOR (wb_window_get_connection_state (window) == WB_CONNECTION_LIVE);

  g_assert_null (find_toplevel (WB_TYPE_PREFERENCES_WINDOW));
  g_action_group_activate_action (G_ACTION_GROUP (application), "preferences", NULL);
  WAIT_FOR (find_toplevel (WB_TYPE_PREFERENCES_WINDOW) != NULL);
  preferences = find_toplevel (WB_TYPE_PREFERENCES_WINDOW);
  WAIT_FOR (gtk_widget_get_mapped (preferences));
  g_assert_true (gtk_window_get_transient_for (GTK_WINDOW (preferences)) == GTK_WINDOW (window));

  /* Every row and switch is named; the switches say what they switch. */
  g_assert_cmpuint (assert_controls_named (preferences), >=, 10);
  gtk_test_accessible_assert_property (row_switch (preferences, "SLA Breaches"), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                       "Sound on SLA breaches");

  save_screenshot (preferences, "console-preferences.png");
  check_units_and_sounds (preferences, settings);
  check_tiles (preferences, GTK_WIDGET (window), settings);
  check_server (preferences, window, settings, run);

  gtk_window_destroy (GTK_WINDOW (preferences));
  run->done = TRUE;
  g_action_group_activate_action (G_ACTION_GROUP (application), "quit", NULL);
}

static void
test_preferences (void)
{
  Preferences run = { 0 };
  g_autoptr(WbApplication) application = NULL;
  g_autoptr(GSettings) settings = g_settings_new ("org.waybill.Waybill");
  g_autofree char *token_file = g_build_filename (g_get_tmp_dir (), "waybill-desktop-test-token", NULL);
  g_autofree char *viewer = wb_jwt_sign ((const guint8 *) SECRET, strlen (SECRET), "desk", WB_ACCESS_ROLE_VIEWER,
                                         g_get_real_time () / G_USEC_PER_SEC, 3600);
  g_autofree char *first_url = NULL;
  const char *argv[] = { "waybill", "--token-file", token_file, NULL };

  run.first = start_daemon ("desktop_first");
  run.second = start_daemon ("desktop_second");
  first_url = daemon_url (run.first);
  g_assert_true (g_file_set_contents (token_file, viewer, -1, NULL));

  /* Server and tiles come from the settings, so changing them counts. */
  g_settings_reset (settings, "units");
  g_settings_reset (settings, "alert-sound-shipment");
  g_settings_reset (settings, "alert-sound-sla");
  g_settings_reset (settings, "alert-sound-device");
  g_settings_set_string (settings, "server-url", first_url);
  g_settings_set_string (settings, "tile-url-template", "none");
  application = wb_application_new ();
  g_signal_connect_after (application, "activate", G_CALLBACK (run_preferences_scenario), &run);
  g_assert_cmpint (g_application_run (G_APPLICATION (application), G_N_ELEMENTS (argv) - 1, (char **) argv), ==, 0);
  g_assert_true (run.done);

  g_unlink (token_file);
  g_assert_cmpint (wb_test_daemon_terminate (run.second), ==, 0);
  wb_test_daemon_free (run.second);
  wb_test_daemon_free (run.first);
}

/* ---- validation helpers ------------------------------------------------- */

static void
test_validation (void)
{
  g_assert_true (wb_preferences_server_url_is_valid ("http://127.0.0.1:8080"));
  g_assert_true (wb_preferences_server_url_is_valid ("https://fleet.example.com/"));
  g_assert_false (wb_preferences_server_url_is_valid (""));
  g_assert_false (wb_preferences_server_url_is_valid ("fleet.example.com"));
  g_assert_false (wb_preferences_server_url_is_valid ("ftp://fleet.example.com/"));
  g_assert_false (wb_preferences_server_url_is_valid ("http://"));

  g_assert_true (wb_preferences_tile_template_is_valid ("none"));
  g_assert_true (wb_preferences_tile_template_is_valid ("https://tile.openstreetmap.org/{z}/{x}/{y}.png"));
  g_assert_true (wb_preferences_tile_template_is_valid ("/srv/tiles/{z}/{x}/{y}.png"));
  g_assert_false (wb_preferences_tile_template_is_valid (""));
  g_assert_false (wb_preferences_tile_template_is_valid ("https://tile.example/{z}/{x}.png"));
}

static gboolean
array_has_string (JsonArray  *array,
                  const char *value)
{
  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++)
    if (g_strcmp0 (json_array_get_string_element (array, i), value) == 0)
      return TRUE;
  return FALSE;
}

static gboolean
is_hex (const char *text,
        gsize       length)
{
  if (text == NULL || strlen (text) != length)
    return FALSE;
  for (gsize i = 0; i < length; i++)
    if (!g_ascii_isxdigit (text[i]))
      return FALSE;
  return TRUE;
}

/* Every source of @module is pinned: a git source by its commit, an
 * archive or file by its sha256; only Waybill comes from this tree. */
static void
assert_sources_pinned (JsonObject *module)
{
  const char *name = json_object_get_string_member (module, "name");
  JsonArray *sources = json_object_get_array_member (module, "sources");

  g_assert_nonnull (sources);
  g_assert_cmpuint (json_array_get_length (sources), >, 0);
  for (guint i = 0; i < json_array_get_length (sources); i++)
    {
      JsonObject *source = json_array_get_object_element (sources, i);
      const char *type = json_object_get_string_member (source, "type");

      if (g_strcmp0 (type, "git") == 0)
        {
          if (!is_hex (json_object_get_string_member_with_default (source, "commit", NULL), 40))
            g_error ("module %s: its git source is not pinned by a commit", name);
        }
      else if (g_strcmp0 (type, "archive") == 0 || g_strcmp0 (type, "file") == 0)
        {
          if (!is_hex (json_object_get_string_member_with_default (source, "sha256", NULL), 64))
            g_error ("module %s: its %s source has no sha256", name, type);
        }
      else if (g_strcmp0 (type, "dir") != 0 || g_strcmp0 (name, "waybill") != 0)
        g_error ("module %s: a %s source cannot be pinned", name, type);
    }
}

/* flatpak-builder reads the manifest as it will build it: an unknown
 * property (a misspelt sha256) is only a warning there, so any warning
 * fails. Where flatpak-builder is not installed this part says so. */
static void
assert_flatpak_builder_reads (const char *path)
{
  g_autofree char *builder = g_find_program_in_path ("flatpak-builder");
  g_autofree char *manifest = g_canonicalize_filename (path, NULL);
  g_autofree char *scratch = NULL;
  const char *argv[] = { builder, "--show-manifest", manifest, NULL };
  const char *rm[] = { "rm", "-rf", NULL, NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  int status = 0, rm_status = 0;

  if (builder == NULL)
    {
      g_test_message ("flatpak-builder is not installed: the manifest was not read by it");
      return;
    }
  /* It keeps its state (.flatpak-builder/) where it runs: not in the tree. */
  scratch = g_dir_make_tmp ("waybill-flatpak-XXXXXX", &error);
  g_assert_no_error (error);
  rm[2] = scratch;
  g_spawn_sync (scratch, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, &error);
  g_assert_no_error (error);
  /* What it left there goes too: a failed removal fails the test. */
  g_spawn_sync (NULL, (char **) rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, &rm_status, &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (rm_status, NULL));
  if (!g_spawn_check_wait_status (status, NULL) || strstr (err, "WARNING") != NULL)
    g_error ("flatpak-builder --show-manifest %s: %s", path, err);
  g_assert_nonnull (strstr (out, "\"id\" : \"org.waybill.Waybill\""));
}

/* @text of the source tree's @file (below data/) holds @needle. */
static void
assert_data_file_has (const char *file,
                      const char *needle)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "..", "data", file, NULL);
  g_autofree char *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    g_error ("data/%s: missing", file);
  if (strstr (text, needle) == NULL)
    g_error ("data/%s does not say %s", file, needle);
}

/* The app id is the one of the desktop file, the metainfo (its id and
 * launchable), the settings schema and both icons. */
static void
assert_id_everywhere (const char *id)
{
  g_autofree char *desktop = g_strconcat (id, ".desktop.in", NULL);
  g_autofree char *metainfo = g_strconcat (id, ".metainfo.xml.in", NULL);
  g_autofree char *schema = g_strconcat (id, ".gschema.xml", NULL);
  g_autofree char *icon = g_strconcat ("icons/hicolor/scalable/apps/", id, ".svg", NULL);
  g_autofree char *symbolic = g_strconcat ("icons/hicolor/symbolic/apps/", id, "-symbolic.svg", NULL);
  g_autofree char *icon_line = g_strconcat ("Icon=", id, "\n", NULL);
  g_autofree char *id_element = g_strconcat ("<id>", id, "</id>", NULL);
  g_autofree char *launchable = g_strconcat (">", id, ".desktop</launchable>", NULL);
  g_autofree char *schema_id = g_strconcat ("<schema id=\"", id, "\"", NULL);

  assert_data_file_has (desktop, icon_line);
  assert_data_file_has (desktop, "Exec=waybill\n");
  assert_data_file_has (metainfo, id_element);
  assert_data_file_has (metainfo, launchable);
  assert_data_file_has (schema, schema_id);
  assert_data_file_has (icon, "<svg");
  assert_data_file_has (symbolic, "<svg");
}

/* The Flatpak manifest agrees with what the console is: its id, its
 * binary, permissions no wider than the window, the network and the
 * portals (the keyring's token through libsecret's portal backend,
 * alerts through the notification portal), the modules the runtime
 * lacks pinned, and Waybill built from this very tree without Kafka. */
static void
test_flatpak_manifest (void)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "..", "flatpak", "org.waybill.Waybill.json", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(WbApplication) application = wb_application_new ();
  g_autoptr(GHashTable) modules = g_hash_table_new (g_str_hash, g_str_equal);
  const char *allowed[] = { "--share=network", "--share=ipc", "--socket=wayland", "--socket=fallback-x11",
                            "--device=dri", NULL };
  JsonObject *manifest, *waybill, *source;
  JsonArray *finish, *list, *options;
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *tree = NULL;
  g_autofree char *meson = NULL;
  g_autofree char *meson_text = NULL;

  json_parser_load_from_file (parser, path, &error);
  g_assert_no_error (error);
  manifest = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (manifest, "id"), ==,
                   g_application_get_application_id (G_APPLICATION (application)));
  g_assert_cmpstr (json_object_get_string_member (manifest, "command"), ==, "waybill");
  g_assert_cmpstr (json_object_get_string_member (manifest, "runtime"), ==, "org.gnome.Platform");
  assert_id_everywhere (json_object_get_string_member (manifest, "id"));
  finish = json_object_get_array_member (manifest, "finish-args");
  g_assert_true (array_has_string (finish, "--share=network"));
  g_assert_true (array_has_string (finish, "--socket=wayland"));
  for (guint i = 0; i < json_array_get_length (finish); i++)
    if (!g_strv_contains (allowed, json_array_get_string_element (finish, i)))
      g_error ("finish-args: %s is wider than the console needs", json_array_get_string_element (finish, i));

  list = json_object_get_array_member (manifest, "modules");
  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      JsonObject *module = json_array_get_object_element (list, i);

      g_hash_table_insert (modules, (gpointer) json_object_get_string_member (module, "name"), module);
      assert_sources_pinned (module);
    }
  g_assert_true (g_hash_table_contains (modules, "libshumate"));
  g_assert_true (g_hash_table_contains (modules, "postgresql"));
  /* Local mode runs on the in-process bus: no librdkafka to build. */
  g_assert_false (g_hash_table_contains (modules, "librdkafka"));
  /* Waybill comes last (it needs the others), built with meson from here. */
  waybill = json_array_get_object_element (list, json_array_get_length (list) - 1);
  g_assert_cmpstr (json_object_get_string_member (waybill, "name"), ==, "waybill");
  g_assert_cmpstr (json_object_get_string_member (waybill, "buildsystem"), ==, "meson");
  options = json_object_get_array_member (waybill, "config-opts");
  g_assert_true (array_has_string (options, "-Dconsole=enabled"));
  g_assert_true (array_has_string (options, "-Dkafka=disabled"));
  source = json_array_get_object_element (json_object_get_array_member (waybill, "sources"), 0);
  g_assert_cmpstr (json_object_get_string_member (source, "type"), ==, "dir");
  tree = g_build_filename (dir, json_object_get_string_member (source, "path"), NULL);
  meson = g_build_filename (tree, "meson.build", NULL);
  g_assert_true (g_file_get_contents (meson, &meson_text, NULL, NULL));
  g_assert_nonnull (strstr (meson_text, "project('waybill'"));

  assert_flatpak_builder_reads (path);
}

static char *
shouted (gpointer item,
         gpointer user_data)
{
  guint *calls = user_data;

  (*calls)++;
  return g_ascii_strup (gtk_string_object_get_string (item), -1);
}

static const char *
late_style (gpointer item,
            gpointer user_data)
{
  return g_str_has_prefix (gtk_string_object_get_string (item), "late") ? "error" : NULL;
}

/* The label of the cell showing @text, or NULL. */
static GtkWidget *
find_label (GtkWidget  *root,
            const char *text)
{
  g_autoptr(GPtrArray) labels = g_ptr_array_new ();

  collect (root, GTK_TYPE_LABEL, labels);
  for (guint i = 0; i < labels->len; i++)
    if (g_strcmp0 (gtk_label_get_text (g_ptr_array_index (labels, i)), text) == 0)
      return g_ptr_array_index (labels, i);
  return NULL;
}

/* Every cell's label has the style class iff its text says late. */
static void
assert_styles_follow_rows (GtkWidget *view,
                           guint     *out_cells)
{
  g_autoptr(GPtrArray) labels = g_ptr_array_new ();

  *out_cells = 0;
  collect (view, GTK_TYPE_LABEL, labels);
  for (guint i = 0; i < labels->len; i++)
    {
      GtkWidget *label = g_ptr_array_index (labels, i);
      const char *text = gtk_label_get_text (GTK_LABEL (label));

      if (!g_str_has_prefix (text, "LATE ") && !g_str_has_prefix (text, "FINE "))
        continue;   /* the header */
      (*out_cells)++;
      if (gtk_widget_has_css_class (label, "error") != g_str_has_prefix (text, "LATE "))
        g_error ("the cell showing %s %s the error style", text,
                 gtk_widget_has_css_class (label, "error") ? "has" : "lacks");
      g_assert_cmpstr (gtk_widget_get_tooltip_text (label), ==, text);
    }
}

/* The lists' common text column: each cell its row's text, its tooltip,
 * and its style class, which a recycled cell loses with the row that
 * had it (scrolling rebinds the same cells to other rows). */
static void
test_text_column (void)
{
  g_autoptr(GtkStringList) strings = gtk_string_list_new (NULL);
  GtkNoSelection *selection = gtk_no_selection_new (g_object_ref (G_LIST_MODEL (strings)));
  GtkWidget *view = gtk_column_view_new (GTK_SELECTION_MODEL (selection));
  GtkWidget *scrolled = gtk_scrolled_window_new ();
  GtkWidget *window = gtk_window_new ();
  GtkColumnViewColumn *column;
  GtkAdjustment *adjustment;
  guint calls = 0, cells = 0;

  /* Runs of late and fine rows, so a cell scrolled on meets the other kind. */
  for (guint i = 0; i < 2000; i++)
    {
      g_autofree char *row = g_strdup_printf ("%s %u", (i / 3) % 2 ? "fine" : "late", i);

      gtk_string_list_append (strings, row);
    }
  column = wb_text_column_append (GTK_COLUMN_VIEW (view), "Name", shouted, late_style, &calls,
                                  WB_TEXT_COLUMN_TOOLTIP | WB_TEXT_COLUMN_EXPAND);
  g_assert_true (gtk_column_view_column_get_expand (column));
  g_assert_true (gtk_column_view_column_get_resizable (column));
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scrolled), view);
  gtk_window_set_child (GTK_WINDOW (window), scrolled);
  gtk_window_set_default_size (GTK_WINDOW (window), 300, 200);
  gtk_window_present (GTK_WINDOW (window));
  WAIT_FOR (find_label (view, "LATE 0") != NULL && find_label (view, "FINE 3") != NULL);
  assert_styles_follow_rows (view, &cells);
  g_assert_cmpuint (cells, >=, 4);

  adjustment = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (scrolled));
  WAIT_FOR (gtk_adjustment_get_upper (adjustment) > 2 * gtk_adjustment_get_page_size (adjustment)
            && gtk_adjustment_get_page_size (adjustment) > 0);
  for (guint step = 1; step <= 4; step++)
    {
      guint before = calls;

      gtk_adjustment_set_value (adjustment, gtk_adjustment_get_upper (adjustment) * step / 4.0);
      WAIT_FOR (calls > before);
      assert_styles_follow_rows (view, &cells);
      g_assert_cmpuint (cells, >=, 4);
    }

  gtk_window_destroy (GTK_WINDOW (window));
}

int
main (int   argc,
      char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();
  wb_console_init ();

  g_test_add_func ("/console-desktop/validation", test_validation);
  g_test_add_func ("/console-desktop/about", test_about);
  g_test_add_func ("/console-desktop/preferences", test_preferences);
  g_test_add_func ("/console-desktop/flatpak-manifest", test_flatpak_manifest);
  g_test_add_func ("/console-desktop/text-column", test_text_column);
  return g_test_run ();
}
