// SPDX-License-Identifier: GPL-3.0-or-later
/* The console's widgets under Xvfb: the vehicle list's filters and live
 * counts, selection between list and map, follow mode, accessibility, the
 * replay clock, the connection strip, and the first-run page checked
 * against a real waybilld. Saves PNG screenshots of the main views into
 * $G_TEST_BUILDDIR/screenshots. */
#include "config.h"

#include <adwaita.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <math.h>
#include <shumate/shumate.h>

#include "wb-application.h"
#include "wb-console-init.h"
#include "wb-vehicle-layer.h"
#include "wb-first-run-page.h"
#include "wb-shipment-format.h"
#include "wb-shipments-view.h"
#include "wb-shipment-editor.h"
#include "wb-places-map.h"
#include "wb-trips-view.h"
#include "wb-trackings-view.h"
#include "wb-carrier-chart.h"
#include "wb-alerts-button.h"
#include "wb-overview-view.h"
#include "wb-units.h"
#include "wb-carrier-emulator.h"
#include "wb-date-button.h"
#include "wb-ref-picker.h"
#include "wb-jwt.h"
#include "wb-test-daemon.h"
#include "wb-test-pg.h"
#include "wb-vehicle-panel.h"
#include "wb-vehicle-row.h"
#include "wb-window.h"

#define SECRET "console-test-secret-of-enough-length-0123456789"

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

typedef struct
{
  WbVehicleModel *model;
  GSettings      *settings;
  WbWindow       *window;
} Fixture;

/* ---- helpers ------------------------------------------------------------ */

static WbClientVehicle *
put_vehicle (WbVehicleModel *model,
             const char     *id,
             WbLiveState     state,
             const char     *company_id,
             double          lat,
             double          lon)
{
  g_autoptr(WbLiveVehicle) live = wb_live_vehicle_new (id);

  live->state = state;
  live->company_id = g_strdup (company_id);
  live->device_id = g_strdup_printf ("imei-%s", id);
  live->lat = lat;
  live->lon = lon;
  live->speed = state == WB_LIVE_STATE_MOVING ? 42 : 0;
  live->course = 90;
  live->ignition = state == WB_LIVE_STATE_MOVING ? WB_LIVE_IGNITION_ON : WB_LIVE_IGNITION_OFF;
  live->fix_time = g_get_real_time () - 30 * G_USEC_PER_SEC;
  live->server_time = live->fix_time;
  return wb_vehicle_model_apply (model, live);
}

static void
move_vehicle (WbVehicleModel *model,
              const char     *id,
              WbLiveState     state,
              double          lat,
              double          lon)
{
  WbClientVehicle *vehicle = wb_vehicle_model_lookup (model, id);
  g_autoptr(WbLiveVehicle) live = wb_live_vehicle_copy (wb_client_vehicle_get_state (vehicle));

  live->state = state;
  live->lat = lat;
  live->lon = lon;
  live->fix_time = g_get_real_time ();
  wb_vehicle_model_apply (model, live);
}

/* Six vehicles of two companies: moving 3 (acme 2, north 1), stopped 2
 * (acme), offline 1 (north). */
static void
put_fleet (WbVehicleModel *model)
{
  struct { const char *id, *name, *plate, *driver, *company; WbLiveState state; double lat, lon; } fleet[] = {
    { "v1", "Truck 1", "AB 1001-7", "Ivan Petrov", "acme", WB_LIVE_STATE_MOVING, 53.90, 27.55 },
    { "v2", "Truck 2", "AB 1002-7", "Olga Ivanova", "acme", WB_LIVE_STATE_MOVING, 53.91, 27.57 },
    { "v3", "Van 3", "KX 2003-7", "Petr Sidorov", "north", WB_LIVE_STATE_MOVING, 53.88, 27.60 },
    { "v4", "Van 4", "KX 2004-7", "Anna Ivanenko", "acme", WB_LIVE_STATE_STOPPED, 53.93, 27.50 },
    { "v5", "Truck 5", "AB 1005-7", NULL, "acme", WB_LIVE_STATE_STOPPED, 53.87, 27.52 },
    { "v6", "Van 6", "KX 2006-7", "Maria Kovalenko", "north", WB_LIVE_STATE_OFFLINE, 53.95, 27.63 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (fleet); i++)
    {
      WbClientVehicle *vehicle = put_vehicle (model, fleet[i].id, fleet[i].state, fleet[i].company,
                                              fleet[i].lat, fleet[i].lon);

      wb_client_vehicle_set_names (vehicle, fleet[i].name, fleet[i].plate, fleet[i].driver,
                                   g_str_equal (fleet[i].company, "acme") ? "Acme Freight" : "North Lines");
    }
}

static GtkWidget *
find_child (GtkWidget *root,
            GType      type,
            const char *label)
{
  for (GtkWidget *child = gtk_widget_get_first_child (root); child; child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found;

      if (G_TYPE_CHECK_INSTANCE_TYPE (child, type)
          && (label == NULL || (GTK_IS_BUTTON (child) && g_str_has_prefix (gtk_button_get_label (GTK_BUTTON (child)) ?: "", label))))
        return child;
      /* Drop-downs and combo rows hold list views of their own. */
      if (GTK_IS_POPOVER (child) || GTK_IS_DROP_DOWN (child) || ADW_IS_COMBO_ROW (child))
        continue;
      if ((found = find_child (child, type, label)))
        return found;
    }
  return NULL;
}

static GtkWidget *
find_styled (GtkWidget  *root,
             const char *css_class)
{
  for (GtkWidget *child = gtk_widget_get_first_child (root); child; child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found;

      if (gtk_widget_has_css_class (child, css_class))
        return child;
      if ((found = find_styled (child, css_class)))
        return found;
    }
  return NULL;
}

/* A dialog would be one more visible toplevel. */
static guint
visible_toplevels (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();
  guint visible = 0;

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GtkWidget) window = g_list_model_get_item (toplevels, i);

      visible += gtk_widget_get_visible (window);
    }
  return visible;
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

static void
wait_frames (GtkWidget *widget,
             guint      count)
{
  guint frames = 0;
  guint id;

  WAIT_FOR (gtk_widget_get_mapped (widget));
  id = gtk_widget_add_tick_callback (widget, count_frame, &frames, NULL);
  WAIT_FOR (frames >= count);
  gtk_widget_remove_tick_callback (widget, id);
}

/* widget paintable → GskRenderer texture → PNG, kept as a build artefact. */
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
  int width, height;

  wait_frames (widget, 3);
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

static void
setup (Fixture       *f,
       gconstpointer  data)
{
  f->model = wb_vehicle_model_new ();
  f->settings = g_settings_new ("org.waybill.Waybill");
  g_settings_set_boolean (f->settings, "follow", FALSE);
  g_settings_set_boolean (f->settings, "sidebar-visible", TRUE);
  if (data != NULL)
    put_fleet (f->model);
  f->window = wb_window_new (NULL, f->model, f->settings);
  gtk_window_set_default_size (GTK_WINDOW (f->window), 1280, 800);
  wb_window_set_tiles (f->window, "none");
  wb_window_show_fleet (f->window, "http://127.0.0.1:8080");
  wb_window_set_connection_state (f->window, WB_CONNECTION_LIVE, NULL);
  gtk_window_present (GTK_WINDOW (f->window));
  WAIT_FOR (gtk_widget_get_mapped (GTK_WIDGET (f->window)));
}

static void
teardown (Fixture       *f,
          gconstpointer  data)
{
  gtk_window_destroy (GTK_WINDOW (f->window));
  g_clear_object (&f->model);
  g_clear_object (&f->settings);
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static guint
list_count (Fixture *f)
{
  return g_list_model_get_n_items (wb_window_get_list_model (f->window));
}

static const char *
button_label (Fixture    *f,
              const char *prefix)
{
  GtkWidget *button = find_child (GTK_WIDGET (f->window), GTK_TYPE_TOGGLE_BUTTON, prefix);

  g_assert_nonnull (button);
  return gtk_button_get_label (GTK_BUTTON (button));
}

/* ---- filters and counts ------------------------------------------------- */

static void
test_filter_counts (Fixture       *f,
                    gconstpointer  data)
{
  GtkDropDown *companies = GTK_DROP_DOWN (find_child (GTK_WIDGET (f->window), GTK_TYPE_DROP_DOWN, NULL));
  GtkEditable *search = GTK_EDITABLE (find_child (GTK_WIDGET (f->window), GTK_TYPE_SEARCH_ENTRY, NULL));

  g_assert_cmpuint (list_count (f), ==, 6);
  g_assert_cmpstr (button_label (f, "Moving"), ==, "Moving 3");
  g_assert_cmpstr (button_label (f, "Stopped"), ==, "Stopped 2");
  g_assert_cmpstr (button_label (f, "Offline"), ==, "Offline 1");
  g_assert_cmpuint (g_list_model_get_n_items (gtk_drop_down_get_model (companies)), ==, 3);
  g_assert_cmpstr (gtk_string_list_get_string (GTK_STRING_LIST (gtk_drop_down_get_model (companies)), 0), ==,
                   "All companies (6)");
  g_assert_cmpstr (gtk_string_list_get_string (GTK_STRING_LIST (gtk_drop_down_get_model (companies)), 1), ==,
                   "Acme Freight (4)");

  /* Search: driver, plate, device, name. */
  gtk_editable_set_text (search, "ivan");
  WAIT_FOR (list_count (f) == 3);   /* Ivan Petrov, Olga Ivanova, Anna Ivanenko */
  g_assert_cmpuint (wb_window_get_state_count (f->window, WB_LIVE_STATE_MOVING), ==, 2);
  g_assert_cmpuint (wb_window_get_state_count (f->window, WB_LIVE_STATE_STOPPED), ==, 1);
  g_assert_cmpuint (wb_window_get_state_count (f->window, WB_LIVE_STATE_OFFLINE), ==, 0);
  gtk_editable_set_text (search, "kx 2006");
  WAIT_FOR (list_count (f) == 1);
  gtk_editable_set_text (search, "imei-v5");
  WAIT_FOR (list_count (f) == 1);
  gtk_editable_set_text (search, "truck");
  WAIT_FOR (list_count (f) == 3);
  gtk_editable_set_text (search, "");
  WAIT_FOR (list_count (f) == 6);

  /* Company: the state buttons count within it; the company list counts
   * under the state filter. */
  gtk_drop_down_set_selected (companies, 2);   /* North Lines */
  g_assert_cmpuint (list_count (f), ==, 2);
  g_assert_cmpstr (button_label (f, "Moving"), ==, "Moving 1");
  g_assert_cmpstr (button_label (f, "Stopped"), ==, "Stopped 0");
  gtk_drop_down_set_selected (companies, 0);
  g_assert_cmpuint (list_count (f), ==, 6);

  /* A state button hides its state; its own count stays what it would show. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.show-moving", NULL));
  g_assert_cmpuint (list_count (f), ==, 3);
  g_assert_cmpstr (button_label (f, "Moving"), ==, "Moving 3");
  g_assert_false (gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (find_child (GTK_WIDGET (f->window),
                                                                                GTK_TYPE_TOGGLE_BUTTON, "Moving"))));
  g_assert_cmpstr (gtk_string_list_get_string (GTK_STRING_LIST (gtk_drop_down_get_model (companies)), 0), ==,
                   "All companies (3)");

  /* Live: a stopped vehicle moves off, a new one arrives, the counts and
   * the filtered list follow without anyone touching the filters. */
  move_vehicle (f->model, "v4", WB_LIVE_STATE_MOVING, 53.93, 27.51);
  put_vehicle (f->model, "v7", WB_LIVE_STATE_OFFLINE, "north", 53.99, 27.70);
  WAIT_FOR (wb_window_get_state_count (f->window, WB_LIVE_STATE_MOVING) == 4);
  g_assert_cmpuint (wb_window_get_state_count (f->window, WB_LIVE_STATE_STOPPED), ==, 1);
  g_assert_cmpuint (wb_window_get_state_count (f->window, WB_LIVE_STATE_OFFLINE), ==, 2);
  g_assert_cmpuint (list_count (f), ==, 3);   /* v5, v6, v7: v4 is moving now, hidden */
  g_assert_cmpstr (button_label (f, "Offline"), ==, "Offline 2");
  wb_vehicle_model_remove (f->model, "v6");
  WAIT_FOR (wb_window_get_state_count (f->window, WB_LIVE_STATE_OFFLINE) == 1);
  g_assert_cmpuint (list_count (f), ==, 2);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.show-moving", NULL));
  g_assert_cmpuint (list_count (f), ==, 6);
}

/* "Map shows filtered only" hands the list's filter to the vehicle layer. */
static void
test_map_filtered_only (Fixture       *f,
                        gconstpointer  data)
{
  WbVehicleLayer *layer = WB_VEHICLE_LAYER (find_child (GTK_WIDGET (f->window), WB_TYPE_VEHICLE_LAYER, NULL));
  GtkCheckButton *check = GTK_CHECK_BUTTON (find_child (GTK_WIDGET (f->window), GTK_TYPE_CHECK_BUTTON, NULL));
  GtkFilter *filter;

  g_settings_set_boolean (f->settings, "map-filtered-only", FALSE);
  g_assert_null (wb_vehicle_layer_get_filter (layer));
  g_assert_false (gtk_check_button_get_active (check));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.map-filtered-only", NULL));
  g_assert_true (gtk_check_button_get_active (check));
  filter = wb_vehicle_layer_get_filter (layer);
  g_assert_nonnull (filter);
  gtk_editable_set_text (GTK_EDITABLE (find_child (GTK_WIDGET (f->window), GTK_TYPE_SEARCH_ENTRY, NULL)), "kx");
  WAIT_FOR (list_count (f) == 3);
  g_assert_false (gtk_filter_match (filter, wb_vehicle_model_lookup (f->model, "v1")));
  g_assert_true (gtk_filter_match (filter, wb_vehicle_model_lookup (f->model, "v3")));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.map-filtered-only", NULL));
  g_assert_null (wb_vehicle_layer_get_filter (layer));
}

/* ---- selection ---------------------------------------------------------- */

static ShumateViewport *
viewport (Fixture *f)
{
  ShumateSimpleMap *map = SHUMATE_SIMPLE_MAP (find_child (GTK_WIDGET (f->window), SHUMATE_TYPE_SIMPLE_MAP, NULL));

  return shumate_simple_map_get_viewport (map);
}

static void
assert_centred_on (Fixture *f,
                   double   lat,
                   double   lon)
{
  ShumateLocation *centre = SHUMATE_LOCATION (viewport (f));

  g_assert_cmpfloat_with_epsilon (shumate_location_get_latitude (centre), lat, 1e-6);
  g_assert_cmpfloat_with_epsilon (shumate_location_get_longitude (centre), lon, 1e-6);
}

static WbVehiclePanel *
panel (Fixture *f)
{
  return WB_VEHICLE_PANEL (find_child (GTK_WIDGET (f->window), WB_TYPE_VEHICLE_PANEL, NULL));
}

static void
test_selection_list_to_map (Fixture       *f,
                            gconstpointer  data)
{
  GtkSingleSelection *selection = GTK_SINGLE_SELECTION (wb_window_get_list_model (f->window));
  g_autoptr(WbClientVehicle) third = g_list_model_get_item (G_LIST_MODEL (selection), 2);

  g_assert_null (wb_window_get_selected (f->window));
  gtk_single_selection_set_selected (selection, 2);
  g_assert_true (wb_window_get_selected (f->window) == third);
  g_assert_true (wb_vehicle_panel_get_vehicle (panel (f)) == third);
  assert_centred_on (f, wb_client_vehicle_get_latitude (third), wb_client_vehicle_get_longitude (third));
  save_screenshot (GTK_WIDGET (f->window), "console-panel.png");

  /* Escape's action closes the panel. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.unselect", NULL));
  g_assert_null (wb_window_get_selected (f->window));
  g_assert_null (wb_vehicle_panel_get_vehicle (panel (f)));
}

static void
test_selection_map_to_list (Fixture       *f,
                            gconstpointer  data)
{
  GtkSingleSelection *selection = GTK_SINGLE_SELECTION (wb_window_get_list_model (f->window));
  GtkListView *list = GTK_LIST_VIEW (find_child (GTK_WIDGET (f->window), GTK_TYPE_LIST_VIEW, NULL));
  GtkAdjustment *scroll = gtk_scrollable_get_vadjustment (GTK_SCROLLABLE (list));
  g_autoptr(WbClientVehicle) chosen = NULL;

  /* Enough rows that the last is far below the fold. */
  for (guint i = 0; i < 300; i++)
    {
      g_autofree char *id = g_strdup_printf ("z%03u", i);

      put_vehicle (f->model, id, WB_LIVE_STATE_STOPPED, "acme", 53.8 + i * 0.0005, 27.4 + i * 0.0005);
    }
  wait_frames (GTK_WIDGET (f->window), 2);
  g_assert_cmpfloat (gtk_adjustment_get_value (scroll), ==, 0);

  /* What the vehicle layer's vehicle-activated does. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.select-vehicle", "s", "z299"));
  chosen = g_object_ref (wb_vehicle_model_lookup (f->model, "z299"));
  g_assert_true (gtk_single_selection_get_selected_item (selection) == chosen);
  g_assert_true (wb_vehicle_panel_get_vehicle (panel (f)) == chosen);
  WAIT_FOR (gtk_adjustment_get_value (scroll) > 0);
  wait_frames (GTK_WIDGET (f->window), 2);
  g_assert_cmpfloat (gtk_adjustment_get_value (scroll) + gtk_adjustment_get_page_size (scroll), >=,
                     gtk_adjustment_get_upper (scroll) - 1);

  /* A click on the map does not recentre it: the vehicle is where the
   * dispatcher clicked. */
  shumate_map_center_on (shumate_simple_map_get_map (SHUMATE_SIMPLE_MAP (find_child (GTK_WIDGET (f->window),
                                                                                      SHUMATE_TYPE_SIMPLE_MAP,
                                                                                      NULL))),
                         10, 10);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.select-vehicle", "s", "v1"));
  assert_centred_on (f, 10, 10);
  g_assert_cmpstr (wb_client_vehicle_get_id (wb_window_get_selected (f->window)), ==, "v1");

  /* A vehicle the list filters away still opens its panel. */
  gtk_editable_set_text (GTK_EDITABLE (find_child (GTK_WIDGET (f->window), GTK_TYPE_SEARCH_ENTRY, NULL)), "kx");
  WAIT_FOR (list_count (f) == 3);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.select-vehicle", "s", "v1"));
  g_assert_cmpuint (gtk_single_selection_get_selected (selection), ==, GTK_INVALID_LIST_POSITION);
  g_assert_cmpstr (wb_client_vehicle_get_id (wb_vehicle_panel_get_vehicle (panel (f))), ==, "v1");
}

static void
test_follow_mode (Fixture       *f,
                  gconstpointer  data)
{
  ShumateMap *map = shumate_simple_map_get_map (SHUMATE_SIMPLE_MAP (find_child (GTK_WIDGET (f->window),
                                                                                 SHUMATE_TYPE_SIMPLE_MAP, NULL)));

  shumate_map_center_on (map, 10, 10);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.select-vehicle", "s", "v2"));
  move_vehicle (f->model, "v2", WB_LIVE_STATE_MOVING, 53.92, 27.58);
  assert_centred_on (f, 10, 10);   /* not following: the map stays */

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.follow", NULL));
  g_assert_true (g_settings_get_boolean (f->settings, "follow"));
  assert_centred_on (f, 53.92, 27.58);   /* turning it on centres at once */
  move_vehicle (f->model, "v2", WB_LIVE_STATE_MOVING, 53.93, 27.60);
  assert_centred_on (f, 53.93, 27.60);
  move_vehicle (f->model, "v3", WB_LIVE_STATE_MOVING, 50, 20);   /* another vehicle moves nothing */
  assert_centred_on (f, 53.93, 27.60);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.follow", NULL));
  move_vehicle (f->model, "v2", WB_LIVE_STATE_MOVING, 53.95, 27.62);
  assert_centred_on (f, 53.93, 27.60);
}

/* ---- accessibility ------------------------------------------------------ */

static gboolean
has_accessible_name (GtkWidget *widget)
{
  if (gtk_test_accessible_has_property (GTK_ACCESSIBLE (widget), GTK_ACCESSIBLE_PROPERTY_LABEL)
      || gtk_test_accessible_has_relation (GTK_ACCESSIBLE (widget), GTK_ACCESSIBLE_RELATION_LABELLED_BY))
    return TRUE;
  if (GTK_IS_BUTTON (widget) && gtk_button_get_label (GTK_BUTTON (widget)) != NULL)
    return TRUE;
  if (GTK_IS_CHECK_BUTTON (widget) && gtk_check_button_get_label (GTK_CHECK_BUTTON (widget)) != NULL)
    return TRUE;
  if (ADW_IS_PREFERENCES_ROW (widget) && *adw_preferences_row_get_title (ADW_PREFERENCES_ROW (widget)) != '\0')
    return TRUE;
  return FALSE;
}

static gboolean
is_control (GtkWidget *widget)
{
  return GTK_IS_BUTTON (widget) || GTK_IS_CHECK_BUTTON (widget) || GTK_IS_DROP_DOWN (widget)
         || GTK_IS_SEARCH_ENTRY (widget) || GTK_IS_ENTRY (widget) || GTK_IS_SCALE (widget)
         || GTK_IS_LIST_VIEW (widget) || GTK_IS_MENU_BUTTON (widget) || ADW_IS_PREFERENCES_ROW (widget);
}

/* Every visible control, everywhere in @root, has an accessible name. */
static guint
assert_controls_named (GtkWidget *root)
{
  guint checked = 0;

  for (GtkWidget *child = gtk_widget_get_first_child (root); child; child = gtk_widget_get_next_sibling (child))
    {
      if (!gtk_widget_get_visible (child))
        continue;
      if (is_control (child))
        {
          if (!has_accessible_name (child))
            for (GtkWidget *w = child; w; w = gtk_widget_get_parent (w))
              g_test_message ("unnamed: %s %s %s", G_OBJECT_TYPE_NAME (w), gtk_widget_get_css_name (w),
                              GTK_IS_ACTIONABLE (w) ? gtk_actionable_get_action_name (GTK_ACTIONABLE (w)) : "");
          if (!has_accessible_name (child))
            g_error ("%s (icon %s, in %s in %s) has no accessible name", G_OBJECT_TYPE_NAME (child),
                     GTK_IS_BUTTON (child) ? gtk_button_get_icon_name (GTK_BUTTON (child)) : "-",
                     G_OBJECT_TYPE_NAME (root), G_OBJECT_TYPE_NAME (gtk_widget_get_parent (root)));
          checked++;
        }
      /* A menu button's inner toggle is named by the menu button; an
       * entry's text by its entry. */
      if (!GTK_IS_MENU_BUTTON (child) && !GTK_IS_SEARCH_ENTRY (child) && !GTK_IS_DROP_DOWN (child)
          && !ADW_IS_COMBO_ROW (child))
        checked += assert_controls_named (child);
    }
  return checked;
}

static void
test_accessibility (Fixture       *f,
                    gconstpointer  data)
{
  GtkWidget *list = find_child (GTK_WIDGET (f->window), GTK_TYPE_LIST_VIEW, NULL);
  GtkWidget *map = find_child (GTK_WIDGET (f->window), SHUMATE_TYPE_SIMPLE_MAP, NULL);
  GtkWidget *row;
  guint checked;

  gtk_test_accessible_assert_role (list, GTK_ACCESSIBLE_ROLE_LIST);
  gtk_test_accessible_assert_property (list, GTK_ACCESSIBLE_PROPERTY_LABEL, "Vehicles");
  gtk_test_accessible_assert_property (map, GTK_ACCESSIBLE_PROPERTY_LABEL, "Fleet map");
  gtk_test_accessible_assert_property (find_child (GTK_WIDGET (f->window), GTK_TYPE_SEARCH_ENTRY, NULL),
                                       GTK_ACCESSIBLE_PROPERTY_LABEL, "Search vehicles");

  /* The list speaks for the map: each row says what the glyph shows. */
  wait_frames (GTK_WIDGET (f->window), 2);
  row = find_child (list, WB_TYPE_VEHICLE_ROW, NULL);
  g_assert_nonnull (row);
  gtk_test_accessible_assert_property (row, GTK_ACCESSIBLE_PROPERTY_LABEL,
                                       "Truck 1, moving, AB 1001-7 · Ivan Petrov · Acme Freight, 42 km/h");
  move_vehicle (f->model, "v1", WB_LIVE_STATE_STOPPED, 53.90, 27.55);
  gtk_test_accessible_assert_property (row, GTK_ACCESSIBLE_PROPERTY_LABEL,
                                       "Truck 1, stopped, AB 1001-7 · Ivan Petrov · Acme Freight, 42 km/h");
  wb_vehicle_model_set_stale (f->model, TRUE);
  gtk_test_accessible_assert_property (row, GTK_ACCESSIBLE_PROPERTY_LABEL,
                                       "Truck 1, stale, AB 1001-7 · Ivan Petrov · Acme Freight, 42 km/h");

  /* The connection strip is a status, read out when it changes. */
  wb_window_set_connection_state (f->window, WB_CONNECTION_RECONNECTING, NULL);
  gtk_test_accessible_assert_role (find_styled (GTK_WIDGET (f->window), "connection-strip"),
                                   GTK_ACCESSIBLE_ROLE_STATUS);

  /* Every control, with the panel open too. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.select-vehicle", "s", "v1"));
  wait_frames (GTK_WIDGET (f->window), 2);
  checked = assert_controls_named (GTK_WIDGET (f->window));
  g_assert_cmpuint (checked, >=, 25);
}

/* ---- connection state --------------------------------------------------- */

static void
test_connection_strip (Fixture       *f,
                       gconstpointer  data)
{
  GtkRevealer *strip = GTK_REVEALER (gtk_widget_get_parent (find_styled (GTK_WIDGET (f->window), "connection-strip")));
  GtkLabel *label = GTK_LABEL (find_child (GTK_WIDGET (strip), GTK_TYPE_LABEL, NULL));

  g_assert_false (gtk_revealer_get_reveal_child (strip));
  wb_window_set_connection_state (f->window, WB_CONNECTION_RECONNECTING, NULL);
  g_assert_true (gtk_revealer_get_reveal_child (strip));
  g_assert_nonnull (strstr (gtk_label_get_text (label), "stale"));
  g_assert_true (gtk_widget_has_css_class (GTK_WIDGET (strip), "stale"));
  /* Non-modal: the window keeps working, no other toplevel appeared. */
  g_assert_cmpuint (visible_toplevels (), ==, 1);
  WAIT_FOR (gtk_revealer_get_child_revealed (strip));
  save_screenshot (GTK_WIDGET (f->window), "console-stale.png");
  wb_window_set_connection_state (f->window, WB_CONNECTION_LIVE, NULL);
  g_assert_false (gtk_revealer_get_reveal_child (strip));
  g_assert_false (gtk_widget_has_css_class (GTK_WIDGET (strip), "stale"));
}

/* ---- replay ------------------------------------------------------------- */

static void
test_replay_clock (Fixture       *f,
                   gconstpointer  data)
{
  WbVehiclePanel *p = panel (f);
  gint64 start = g_get_real_time () - (gint64) 3600 * G_USEC_PER_SEC;
  gint64 end = start + 600 * G_USEC_PER_SEC;
  gint64 began, elapsed, advanced;

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.select-vehicle", "s", "v1"));
  g_assert_false (gtk_widget_activate_action (GTK_WIDGET (p), "panel.replay-play", NULL) &&
                  wb_vehicle_panel_get_playing (p));   /* nothing to play yet */
  wb_vehicle_panel_set_track_span (p, start, end);
  g_assert_cmpint (wb_vehicle_panel_get_replay_time (p), ==, start);
  wb_vehicle_panel_set_replay_speed (p, 100);
  began = g_get_monotonic_time ();
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (p), "panel.replay-play", NULL));
  g_assert_true (wb_vehicle_panel_get_playing (p));
  wait_frames (GTK_WIDGET (p), 20);
  elapsed = g_get_monotonic_time () - began;
  advanced = wb_vehicle_panel_get_replay_time (p) - start;
  /* Track time runs at 100× real time, measured on the frame clock. */
  g_assert_cmpint (advanced, >, 0);
  g_assert_cmpint (advanced, <=, elapsed * 100 + G_USEC_PER_SEC);
  g_assert_cmpint (advanced, >=, (elapsed - 200 * 1000) * 100 / 2);

  /* 1000×: the rest of the 10 minutes takes well under a second, and the
   * replay stops at the end. */
  wb_vehicle_panel_set_replay_speed (p, 1000);
  WAIT_FOR (!wb_vehicle_panel_get_playing (p));
  g_assert_cmpint (wb_vehicle_panel_get_replay_time (p), ==, end);
  wb_vehicle_panel_set_replay_speed (p, 5000);
  g_assert_cmpfloat (wb_vehicle_panel_get_replay_speed (p), ==, 1000);
}

static void
test_format_age (void)
{
  g_autofree char *seconds = wb_vehicle_panel_format_age (12);
  g_autofree char *minutes = wb_vehicle_panel_format_age (150);
  g_autofree char *hours = wb_vehicle_panel_format_age (3 * 3600 + 5 * 60);
  g_autofree char *days = wb_vehicle_panel_format_age (5 * 86400);

  g_assert_cmpstr (seconds, ==, "12 s ago");
  g_assert_cmpstr (minutes, ==, "2 min ago");
  g_assert_cmpstr (hours, ==, "3 h 05 min ago");
  g_assert_cmpstr (days, ==, "5 days ago");
}

/* ---- screenshots of the fleet ------------------------------------------- */

static void
test_screenshot_fleet (Fixture       *f,
                       gconstpointer  data)
{
  save_screenshot (GTK_WIDGET (f->window), "console-fleet.png");
}

/* ---- first run against a real waybilld ---------------------------------- */

typedef struct
{
  WbTestDaemon   *daemon;
  char           *url;
  WbFirstRunPage *page;
  GtkWindow      *window;
  char           *connected_role;
  char           *connected_url;
} FirstRun;

static void
on_connected (WbFirstRunPage *page,
              const char     *url,
              const char     *token,
              const char     *role,
              FirstRun       *run)
{
  g_free (run->connected_role);
  run->connected_role = g_strdup (role);
  g_free (run->connected_url);
  run->connected_url = g_strdup (url);
}

/* A waybilld on @conninfo's database, on @port (0: any), with @args
 * (nullable), once ready. */
static WbTestDaemon *
start_daemon_args (const char         *conninfo,
                   guint               port,
                   gboolean            with_secret,
                   const char * const *args)
{
  g_autofree char *dsn = g_strconcat ("DB_DSN=", conninfo, NULL);
  g_autofree char *port_env = g_strdup_printf ("SERVER_PORT=%u", port);
  const char *env[] = { dsn, port_env, with_secret ? "AUTH_HS256SECRET=" SECRET : NULL, NULL };
  g_autoptr(SoupSession) session = soup_session_new ();
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  WbTestDaemon *daemon = wb_test_daemon_spawn (env, args);

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

static WbTestDaemon *
start_daemon_full (const char *conninfo,
                   guint       port,
                   gboolean    with_secret)
{
  return start_daemon_args (conninfo, port, with_secret, NULL);
}

static WbTestDaemon *
start_daemon (const char *conninfo,
              guint       port)
{
  return start_daemon_full (conninfo, port, TRUE);
}

static void
spawn_daemon (FirstRun *run)
{
  g_autofree char *conninfo = wb_test_pg_create_database ("console");

  run->daemon = start_daemon (conninfo, 0);
  run->url = g_strdup_printf ("http://127.0.0.1:%u", wb_test_daemon_port (run->daemon));
}

static void
check (FirstRun   *run,
       const char *url,
       const char *token)
{
  g_clear_pointer (&run->connected_role, g_free);
  wb_first_run_page_set_url (run->page, url);
  wb_first_run_page_set_token (run->page, token);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (run->page), "first-run.connect", NULL));
  WAIT_FOR (!wb_first_run_page_get_checking (run->page));
}

static void
assert_refused (FirstRun   *run,
                const char *url,
                const char *token,
                int         code)
{
  check (run, url, token);
  g_assert_null (run->connected_role);
  g_assert_error ((GError *) wb_first_run_page_get_error (run->page), WB_FIRST_RUN_ERROR, code);
}

static void
test_first_run (void)
{
  FirstRun run = { 0 };
  g_autofree char *viewer = wb_jwt_sign ((const guint8 *) SECRET, strlen (SECRET), "dispatch-desk",
                                         WB_ACCESS_ROLE_VIEWER, g_get_real_time () / G_USEC_PER_SEC, 600);
  g_autofree char *forged = wb_jwt_sign ((const guint8 *) "another-secret-entirely-0123456789abcdef", 40,
                                         "dispatch-desk", WB_ACCESS_ROLE_ADMIN,
                                         g_get_real_time () / G_USEC_PER_SEC, 600);
  g_autofree char *with_slash = NULL;
  g_autofree char *closed_port = NULL;
  g_autoptr(GSocket) reserved = NULL;
  g_autoptr(GSocketAddress) address = NULL;

  spawn_daemon (&run);
  run.window = GTK_WINDOW (adw_window_new ());
  run.page = WB_FIRST_RUN_PAGE (wb_first_run_page_new ());
  adw_window_set_content (ADW_WINDOW (run.window), GTK_WIDGET (run.page));
  gtk_window_set_default_size (run.window, 900, 700);
  g_signal_connect (run.page, "connected", G_CALLBACK (on_connected), &run);
  gtk_window_present (run.window);

  /* The form is checked before any request. */
  assert_refused (&run, "ftp://127.0.0.1/", viewer, WB_FIRST_RUN_ERROR_BAD_URL);
  assert_refused (&run, "127.0.0.1:8080", viewer, WB_FIRST_RUN_ERROR_BAD_URL);
  assert_refused (&run, "http:///nohost", viewer, WB_FIRST_RUN_ERROR_BAD_URL);
  save_screenshot (GTK_WIDGET (run.window), "console-first-run.png");
  /* This server has a secret: no token is not enough. */
  assert_refused (&run, run.url, "   ", WB_FIRST_RUN_ERROR_NO_TOKEN);

  /* Nothing listens there: /readyz cannot answer. */
  reserved = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  address = g_inet_socket_address_new_from_string ("127.0.0.1", 0);
  g_assert_true (g_socket_bind (reserved, address, FALSE, NULL));
  g_clear_object (&address);
  address = g_socket_get_local_address (reserved, NULL);
  closed_port = g_strdup_printf ("http://127.0.0.1:%u", g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address)));
  assert_refused (&run, closed_port, viewer, WB_FIRST_RUN_ERROR_NOT_READY);

  /* The server is up but the token is not its own. */
  assert_refused (&run, run.url, forged, WB_FIRST_RUN_ERROR_REFUSED);
  assert_refused (&run, run.url, "not-a-jwt", WB_FIRST_RUN_ERROR_REFUSED);

  /* Both checks pass: the page hands over the URL (trailing slash gone)
   * and the role the server gave the token. */
  with_slash = g_strconcat (run.url, "/", NULL);
  check (&run, with_slash, viewer);
  g_assert_null (wb_first_run_page_get_error (run.page));
  g_assert_cmpstr (run.connected_role, ==, "viewer");
  g_assert_cmpstr (run.connected_url, ==, run.url);

  /* A server that is not ready is refused even with a good token. */
  g_assert_cmpint (wb_test_daemon_terminate (run.daemon), ==, 0);
  assert_refused (&run, run.url, viewer, WB_FIRST_RUN_ERROR_NOT_READY);
  wb_test_daemon_free (run.daemon);

  /* A daemon without a secret (the README's first command) serves its
   * loopback address without a token, and the page accepts none. */
  {
    g_autofree char *conninfo = wb_test_pg_create_database ("console_open");

    run.daemon = start_daemon_full (conninfo, 0, FALSE);
    g_free (run.url);
    run.url = g_strdup_printf ("http://127.0.0.1:%u", wb_test_daemon_port (run.daemon));
    check (&run, run.url, "");
    g_assert_null (wb_first_run_page_get_error (run.page));
    g_assert_nonnull (run.connected_role);
    g_assert_cmpint (wb_test_daemon_terminate (run.daemon), ==, 0);
  }

  gtk_window_destroy (run.window);
  wb_test_daemon_free (run.daemon);
  g_free (run.url);
  g_free (run.connected_role);
  g_free (run.connected_url);
}

/* AdwApplication loads the stylesheet at the resource base path; these
 * windows have no application, so load the same file. */
static void
load_style (void)
{
  g_autoptr(GtkCssProvider) provider = gtk_css_provider_new ();

  gtk_css_provider_load_from_resource (provider, "/org/waybill/Waybill/style.css");
  gtk_style_context_add_provider_for_display (gdk_display_get_default (), GTK_STYLE_PROVIDER (provider),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
}

/* ---- end to end: the application against a real waybilld ---------------- */

#define FLEET 5

typedef struct
{
  char         *conninfo;
  WbTestDaemon *daemon;
  guint         port;
  SoupSession  *session;
  char         *admin;
  char         *dispatcher;
  gint64        next_fix;     /* ms */
  gboolean      done;
} Live;

static guint
http (Live       *live,
      const char *method,
      const char *path,
      const char *token,
      const char *body)
{
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u%s", live->port, path);
  g_autoptr(SoupMessage) message = soup_message_new (method, uri);
  g_autofree char *bearer = g_strconcat ("Bearer ", token, NULL);
  g_autoptr(GBytes) answer = NULL;

  soup_message_headers_replace (soup_message_get_request_headers (message), "Authorization", bearer);
  if (body != NULL)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));

      soup_message_set_request_body_from_bytes (message, "application/json", bytes);
    }
  answer = soup_session_send_and_read (live->session, message, NULL, NULL);
  return soup_message_get_status (message);
}

/* Vehicles v1…v5 of two companies, each with device dN. */
static void
register_fleet (Live *live)
{
  g_assert_cmpuint (http (live, "PUT", "/companies/c1", live->admin, "{\"name\":\"West Logistics\"}"), ==, 200);
  g_assert_cmpuint (http (live, "PUT", "/companies/c2", live->admin, "{\"name\":\"East Logistics\"}"), ==, 200);
  for (guint i = 1; i <= FLEET; i++)
    {
      g_autofree char *vehicle = g_strdup_printf ("/vehicles/v%u", i);
      g_autofree char *vehicle_body = g_strdup_printf ("{\"plate\":\"%04u AB-7\",\"companyId\":\"c%u\"}", i, 2 - i % 2);
      g_autofree char *device = g_strdup_printf ("/devices/d%u", i);
      g_autofree char *device_body = g_strdup_printf ("{\"vehicleId\":\"v%u\",\"token\":null}", i);

      g_assert_cmpuint (http (live, "PUT", vehicle, live->admin, vehicle_body), ==, 200);
      g_assert_cmpuint (http (live, "PUT", device, live->admin, device_body), ==, 200);
    }
}

static void
post_position (Live   *live,
               guint   device,
               double  lat,
               double  lon)
{
  gint64 ms = live->next_fix++;
  g_autoptr(GDateTime) fix = g_date_time_new_from_unix_utc (ms / 1000);
  g_autofree char *seconds = g_date_time_format (fix, "%Y-%m-%dT%H:%M:%S");
  g_autofree char *body = g_strdup_printf ("[{\"deviceId\":\"d%u\",\"timestamp\":\"%s.%03dZ\",\"lat\":%.6f,"
                                           "\"lon\":%.6f,\"speed\":30,\"course\":45}]",
                                           device, seconds, (int) (ms % 1000), lat, lon);

  g_assert_cmpuint (http (live, "POST", "/telemetry", live->dispatcher, body), ==, 200);
}

static void
post_fleet (Live   *live,
            double  offset)
{
  for (guint i = 1; i <= FLEET; i++)
    post_position (live, i, 53.88 + 0.01 * i + offset, 27.50 + 0.02 * i + offset);
}

static WbClientVehicle *
vehicle (WbVehicleModel *model,
         const char     *id)
{
  return wb_vehicle_model_lookup (model, id);
}

static gboolean
all_stale (WbVehicleModel *model,
           gboolean        stale)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (model));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(WbClientVehicle) item = g_list_model_get_item (G_LIST_MODEL (model), i);

      if (wb_client_vehicle_get_stale (item) != stale)
        return FALSE;
    }
  return n > 0;
}

static void
run_live_scenario (GApplication *application,
                   Live         *live)
{
  WbWindow *window = WB_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (application)));
  WbVehicleModel *model = wb_application_get_model (WB_APPLICATION (application));
  WbVehicleLayer *layer;
  WbClientVehicle *v1;
  WbClientVehicle *picked;
  double x0, y0, x1, y1;

  g_assert_nonnull (window);
  gtk_window_set_default_size (GTK_WINDOW (window), 1280, 800);

  /* The shortcuts, and their window (Ctrl+?) from gtk/help-overlay.ui. */
  {
    struct { const char *action, *accel; } shortcuts[] = {
      { "win.search", "<Control>f" }, { "win.follow", "<Control>l" }, { "win.sidebar-visible", "F9" },
      { "app.quit", "<Control>q" }, { "win.show-help-overlay", "<Control>question" },
    };

    for (guint i = 0; i < G_N_ELEMENTS (shortcuts); i++)
      {
        g_auto(GStrv) accels = gtk_application_get_accels_for_action (GTK_APPLICATION (application),
                                                                      shortcuts[i].action);

        g_assert_true (accels != NULL && accels[0] != NULL);
        g_assert_cmpstr (accels[0], ==, shortcuts[i].accel);
      }
    g_assert_nonnull (gtk_application_window_get_help_overlay (GTK_APPLICATION_WINDOW (window)));
  }
  layer = WB_VEHICLE_LAYER (find_child (GTK_WIDGET (window), WB_TYPE_VEHICLE_LAYER, NULL));
  g_assert_nonnull (layer);

  /* --server, --tiles none and --token-file took: the stream is live and
   * the model reaches the fleet, with names from the vehicle list. */
  WAIT_FOR (wb_window_get_connection_state (window) == WB_CONNECTION_LIVE);
  WAIT_FOR (g_list_model_get_n_items (G_LIST_MODEL (model)) == FLEET);
  v1 = vehicle (model, "v1");
  WAIT_FOR (g_strcmp0 (wb_client_vehicle_get_plate (v1), "0001 AB-7") == 0);
  g_assert_cmpstr (wb_client_vehicle_get_company_name (v1), ==, "West Logistics");
  WAIT_FOR (g_list_model_get_n_items (wb_window_get_list_model (window)) == FLEET);

  /* A vehicle moves on the map. */
  wait_frames (GTK_WIDGET (window), 3);
  g_assert_true (wb_vehicle_layer_get_vehicle_point (layer, v1, &x0, &y0));
  post_position (live, 1, 53.95, 27.60);
  WAIT_FOR (fabs (wb_client_vehicle_get_latitude (v1) - 53.95) < 1e-6);
  wb_vehicle_layer_set_clock_override (layer, g_get_monotonic_time () + 10 * G_USEC_PER_SEC);
  wait_frames (GTK_WIDGET (window), 3);
  g_assert_true (wb_vehicle_layer_get_vehicle_point (layer, v1, &x1, &y1));
  g_assert_cmpfloat (hypot (x1 - x0, y1 - y0), >, 5);

  /* What a click there does: the layer hit-tests the glyph and activates
   * its vehicle, which opens the panel and selects the list row. */
  picked = wb_vehicle_layer_pick (layer, x1, y1, NULL);
  wb_vehicle_layer_set_clock_override (layer, 0);
  g_assert_true (picked == v1);
  g_signal_emit_by_name (layer, "vehicle-activated", picked);
  g_assert_true (wb_window_get_selected (window) == v1);
  g_assert_true (wb_vehicle_panel_get_vehicle (WB_VEHICLE_PANEL (find_child (GTK_WIDGET (window),
                                                                             WB_TYPE_VEHICLE_PANEL, NULL))) == v1);
  g_assert_true (gtk_single_selection_get_selected_item (GTK_SINGLE_SELECTION (wb_window_get_list_model (window))) == v1);

  /* Its track over the last hour, through the client. */
  {
    WbVehiclePanel *panel_widget = WB_VEHICLE_PANEL (find_child (GTK_WIDGET (window), WB_TYPE_VEHICLE_PANEL, NULL));

    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (panel_widget), "panel.load-track", NULL));
    WAIT_FOR (wb_vehicle_panel_get_track (panel_widget) != NULL);
    g_assert_cmpuint (wb_vehicle_panel_get_track (panel_widget)->points->len, >=, 2);
    /* Taken as a dispatcher sees it once it settles: the panel all the
     * way in, the counts caught up with the fleet. */
    WAIT_FOR (gtk_revealer_get_child_revealed (GTK_REVEALER (gtk_widget_get_parent (GTK_WIDGET (panel_widget)))));
  }
  WAIT_FOR (wb_window_get_state_count (window, WB_LIVE_STATE_MOVING) == FLEET);
  wait_frames (GTK_WIDGET (window), 3);
  save_screenshot (GTK_WIDGET (window), "console-live.png");

  /* The server goes away: the strip says stale, the map keeps its picture. */
  g_assert_cmpint (wb_test_daemon_terminate (live->daemon), ==, 0);
  g_clear_pointer (&live->daemon, wb_test_daemon_free);
  WAIT_FOR (wb_window_get_connection_state (window) == WB_CONNECTION_RECONNECTING);
  WAIT_FOR (all_stale (model, TRUE));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, FLEET);
  g_assert_cmpuint (visible_toplevels (), ==, 1);
  save_screenshot (GTK_WIDGET (window), "console-live-stale.png");

  /* It comes back on the same address: live again, and the fleet as it
   * reports after the restart. */
  live->daemon = start_daemon (live->conninfo, live->port);
  WAIT_FOR (wb_window_get_connection_state (window) == WB_CONNECTION_LIVE);
  post_fleet (live, 0.005);
  WAIT_FOR (g_list_model_get_n_items (G_LIST_MODEL (model)) == FLEET && all_stale (model, FALSE));
  WAIT_FOR (fabs (wb_client_vehicle_get_latitude (vehicle (model, "v3")) - (53.88 + 0.03 + 0.005)) < 1e-6);

  live->done = TRUE;
  g_application_quit (application);
}

static void
test_live (void)
{
  Live live = { 0 };
  g_autoptr(WbApplication) application = NULL;
  g_autofree char *viewer = NULL;
  g_autofree char *token_file = NULL;
  g_autofree char *server = NULL;
  int status;

  live.conninfo = wb_test_pg_create_database ("console_live");
  live.daemon = start_daemon (live.conninfo, 0);
  live.port = wb_test_daemon_port (live.daemon);
  live.session = soup_session_new_with_options ("timeout", 30, NULL);
  live.admin = wb_jwt_sign ((const guint8 *) SECRET, strlen (SECRET), "admin", WB_ACCESS_ROLE_ADMIN,
                            g_get_real_time () / G_USEC_PER_SEC, 3600);
  live.dispatcher = wb_jwt_sign ((const guint8 *) SECRET, strlen (SECRET), "dispatcher", WB_ACCESS_ROLE_DISPATCHER,
                                 g_get_real_time () / G_USEC_PER_SEC, 3600);
  viewer = wb_jwt_sign ((const guint8 *) SECRET, strlen (SECRET), "desk", WB_ACCESS_ROLE_VIEWER,
                        g_get_real_time () / G_USEC_PER_SEC, 3600);
  live.next_fix = g_get_real_time () / 1000 - 30 * 60 * 1000;
  register_fleet (&live);
  post_fleet (&live, 0);
  post_fleet (&live, 0.002);

  token_file = g_build_filename (g_get_tmp_dir (), "waybill-console-test-token", NULL);
  g_assert_true (g_file_set_contents (token_file, viewer, -1, NULL));
  server = g_strdup_printf ("http://127.0.0.1:%u", live.port);
  {
    const char *argv[] = { "waybill", "--server", server, "--tiles", "none", "--token-file", token_file, NULL };
    g_autoptr(GSettings) settings = g_settings_new ("org.waybill.Waybill");

    g_settings_set_double (settings, "map-latitude", 53.92);
    g_settings_set_double (settings, "map-longitude", 27.56);
    /* Not below the layer's cluster zoom: one glyph per vehicle. */
    g_settings_set_double (settings, "map-zoom", 12);
    g_settings_set_string (settings, "server-url", "");
    application = wb_application_new ();
    g_signal_connect_after (application, "activate", G_CALLBACK (run_live_scenario), &live);
    status = g_application_run (G_APPLICATION (application), G_N_ELEMENTS (argv) - 1, (char **) argv);
  }
  g_assert_cmpint (status, ==, 0);
  g_assert_true (live.done);
  /* Options override for the run only: nothing was saved. */
  {
    g_autoptr(GSettings) settings = g_settings_new ("org.waybill.Waybill");
    g_autofree char *saved = g_settings_get_string (settings, "server-url");

    g_assert_cmpstr (saved, ==, "");
  }

  g_unlink (token_file);
  g_assert_cmpint (wb_test_daemon_terminate (live.daemon), ==, 0);
  wb_test_daemon_free (live.daemon);
  g_object_unref (live.session);
  g_free (live.admin);
  g_free (live.dispatcher);
  g_free (live.conninfo);
}

/* ---- the Shipments view against a real waybilld ------------------------- */

#define BULK 80

static GtkWidget *
find_named (GtkWidget  *root,
            const char *name)
{
  for (GtkWidget *child = gtk_widget_get_first_child (root); child; child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found;

      if (g_strcmp0 (gtk_widget_get_name (child), name) == 0)
        return child;
      if ((found = find_named (child, name)))
        return found;
    }
  return NULL;
}

static guint
count_children (GtkWidget *widget)
{
  guint n = 0;

  for (GtkWidget *child = gtk_widget_get_first_child (widget); child; child = gtk_widget_get_next_sibling (child))
    n++;
  return n;
}

/* POST /shipments as the dispatcher; the new id. */
static char *
create_shipment (Live       *live,
                 const char *client_id,
                 const char *reference,
                 const char *phone)
{
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u/shipments", live->port);
  g_autoptr(SoupMessage) message = soup_message_new ("POST", uri);
  g_autofree char *bearer = g_strconcat ("Bearer ", live->dispatcher, NULL);
  g_autofree char *body = g_strdup_printf ("{\"clientId\":\"%s\",\"serviceLevel\":\"standard\",\"reference\":\"%s\","
                                           "\"recipient\":{\"name\":\"Ann Smith\",\"phone\":\"%s\","
                                           "\"email\":\"ann@example.org\"},"
                                           "\"origin\":{\"country\":\"BY\",\"city\":\"Brest\"},"
                                           "\"destination\":{\"country\":\"BY\",\"city\":\"Minsk\","
                                           "\"line1\":\"Nezavisimosti 1\",\"postalCode\":\"220030\"}}",
                                           client_id, reference, phone);
  g_autoptr(GBytes) request = g_bytes_new (body, strlen (body));
  g_autoptr(GBytes) answer = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();

  soup_message_headers_replace (soup_message_get_request_headers (message), "Authorization", bearer);
  soup_message_set_request_body_from_bytes (message, "application/json", request);
  answer = soup_session_send_and_read (live->session, message, NULL, NULL);
  g_assert_cmpuint (soup_message_get_status (message), ==, 201);
  g_assert_true (json_parser_load_from_data (parser, g_bytes_get_data (answer, NULL), g_bytes_get_size (answer), NULL));
  return g_strdup (json_object_get_string_member (json_node_get_object (json_parser_get_root (parser)), "id"));
}

static guint
post_event (Live       *live,
            const char *shipment_id,
            const char *body)
{
  g_autofree char *path = g_strdup_printf ("/shipments/%s/events", shipment_id);

  return http (live, "POST", path, live->dispatcher, body);
}

typedef struct
{
  Live  live;
  char *shipment_id;
} Shipments;

static WbClientShipmentEvent *
timeline_item (WbShipmentDetail *detail,
               guint             position)
{
  g_autoptr(WbClientShipmentEvent) event = g_list_model_get_item (wb_shipment_detail_get_timeline (detail), position);

  return event;   /* the store keeps it */
}

static void
wait_settled (WbShipmentsView *view)
{
  WbShipmentSearchModel *results = wb_shipments_view_get_results (view);

  for (guint quiet = 0; quiet < 10;)
    {
      wait_frames (GTK_WIDGET (view), 2);
      quiet = wb_shipment_search_model_get_loading (results) ? 0 : quiet + 1;
    }
}

static void
search_in_form (WbShipmentsView *view,
                const char      *phone,
                const char      *client_id)
{
  gtk_editable_set_text (GTK_EDITABLE (find_named (GTK_WIDGET (view), "phone")), phone);
  gtk_editable_set_text (GTK_EDITABLE (find_named (GTK_WIDGET (view), "client")), client_id);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (view), "shipments.search", NULL));
  g_assert_nonnull (wb_shipments_view_get_results (view));
  wait_settled (view);
}

static void
check_detail_and_live_status (Shipments        *shipments,
                              WbShipmentsView  *view,
                              GtkWidget        *window)
{
  WbShipmentDetail *detail = wb_shipments_view_get_detail (view);
  GtkWidget *timeline = find_named (GTK_WIDGET (detail), "timeline");
  WbClientShipment *shipment;
  WbClientShipmentEvent *event;

  /* Enter on the row opens the detail. */
  g_signal_emit_by_name (wb_shipments_view_get_column_view (view), "activate", 0);
  g_assert_true (wb_shipments_view_get_detail_shown (view));
  WAIT_FOR (wb_shipment_detail_get_shipment (detail) != NULL
            && g_list_model_get_n_items (wb_shipment_detail_get_timeline (detail)) > 0);
  shipment = wb_shipment_detail_get_shipment (detail);
  g_assert_cmpstr (wb_client_shipment_get_id (shipment), ==, shipments->shipment_id);
  g_assert_cmpstr (wb_client_shipment_get_status (shipment), ==, "IN_TRANSIT");
  g_assert_cmpstr (wb_client_shipment_get_eta_source (shipment), ==, "promise");
  g_assert_cmpstr (wb_client_shipment_get_destination (shipment)->city, ==, "Minsk");
  g_assert_cmpstr (wb_client_shipment_get_origin (shipment)->city, ==, "Brest");

  /* The carrier's event was posted twice: it shows once, with its raw
   * code, its place, and the flag for a time that had no zone. */
  g_assert_cmpuint (g_list_model_get_n_items (wb_shipment_detail_get_timeline (detail)), ==, 1);
  wait_frames (window, 2);
  g_assert_cmpuint (count_children (timeline), ==, 1);
  event = timeline_item (detail, 0);
  g_assert_cmpstr (wb_client_shipment_event_get_status_raw (event), ==, "PU / Picked up");
  g_assert_cmpstr (wb_client_shipment_event_get_location_text (event), ==, "Brest hub");
  g_assert_true (wb_client_shipment_event_get_zone_guessed (event));
  g_assert_nonnull (find_named (timeline, "zone-guessed"));

  /* A status posted to the API reaches the open detail by /ws/events:
   * once the stream is live and no read is on its way, only an event can
   * make the detail read again. */
  WAIT_FOR (wb_shipment_detail_get_stream_state (detail) == WB_STREAM_STATE_LIVE
            && !wb_shipment_detail_get_loading (detail));
  wait_frames (window, 2);
  g_assert_false (wb_shipment_detail_get_loading (detail));
  g_assert_cmpuint (post_event (&shipments->live, shipments->shipment_id,
                                "{\"eventId\":\"ofd-1\",\"source\":\"dhl\",\"status\":\"OUT_FOR_DELIVERY\","
                                "\"statusRaw\":\"OD / With courier\",\"occurredAt\":\"2026-12-01T12:00:00Z\","
                                "\"location\":{\"text\":\"Minsk depot\",\"lat\":53.9,\"lon\":27.56}}"), ==, 201);
  WAIT_FOR (g_list_model_get_n_items (wb_shipment_detail_get_timeline (detail)) == 2);
  WAIT_FOR (g_strcmp0 (wb_client_shipment_get_status (wb_shipment_detail_get_shipment (detail)), "OUT_FOR_DELIVERY") == 0);
  event = timeline_item (detail, 0);
  g_assert_cmpstr (wb_client_shipment_event_get_status (event), ==, "OUT_FOR_DELIVERY");
  g_assert_false (wb_client_shipment_event_get_zone_guessed (event));
  wait_frames (window, 2);
  g_assert_cmpuint (count_children (timeline), ==, 2);
  /* The event the carrier placed is on the small map; the tracking is
   * listed with its own Check Now. */
  WAIT_FOR (wb_places_map_get_n_places (WB_PLACES_MAP (wb_shipment_detail_get_places_map (detail))) == 1);
  g_assert_true (gtk_widget_get_visible (wb_shipment_detail_get_places_map (detail)));
  g_assert_false (wb_places_map_get_live (WB_PLACES_MAP (wb_shipment_detail_get_places_map (detail)), NULL, NULL));
  g_assert_cmpuint (wb_client_shipment_get_n_trackings (wb_shipment_detail_get_shipment (detail)), ==, 1);
  g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (find_named (GTK_WIDGET (detail), "tracking-0"))),
                   ==, "CDEK CD777");
  g_assert_cmpint (wb_client_shipment_get_tracking (wb_shipment_detail_get_shipment (detail), 0)->id, >, 0);
  save_screenshot (window, "console-shipment-detail.png");
  g_assert_cmpuint (assert_controls_named (GTK_WIDGET (view)), >=, 10);

  /* Back to the results: the detail stops listening. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (view), "shipments.back", NULL));
  g_assert_false (wb_shipments_view_get_detail_shown (view));
  g_assert_cmpint (wb_shipment_detail_get_stream_state (detail), ==, WB_STREAM_STATE_DISCONNECTED);
}

/* The form's other fields reach the query: status, creation dates (the
 * end day inclusive), overdue; a date it cannot read is refused before
 * any request. */
static void
check_form_filters (Shipments       *shipments,
                    WbShipmentsView *view)
{
  GtkDropDown *status = GTK_DROP_DOWN (find_named (GTK_WIDGET (view), "status"));
  WbDateButton *from = WB_DATE_BUTTON (find_named (GTK_WIDGET (view), "created-from"));
  WbDateButton *to = WB_DATE_BUTTON (find_named (GTK_WIDGET (view), "created-to"));
  GtkCheckButton *overdue = GTK_CHECK_BUTTON (find_named (GTK_WIDGET (view), "overdue"));
  GtkWidget *error_label = find_styled (GTK_WIDGET (view), "error");
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autoptr(GDateTime) tomorrow = g_date_time_add_days (now, 1);
  g_autofree char *today_text = g_date_time_format (now, "%Y-%m-%d");
  g_autofree char *tomorrow_text = g_date_time_format (tomorrow, "%Y-%m-%d");
  const char * const *statuses = wb_shipment_format_statuses ();
  WbShipmentSearchModel *results;
  g_autoptr(WbClientShipment) found = NULL;
  guint out_for_delivery = 0;

  for (guint i = 0; statuses[i] != NULL; i++)
    if (g_str_equal (statuses[i], "OUT_FOR_DELIVERY"))
      out_for_delivery = i + 1;   /* after "Any status" */
  gtk_drop_down_set_selected (status, out_for_delivery);
  g_assert_true (wb_date_button_set_date (from, today_text));
  g_assert_true (wb_date_button_set_date (to, today_text));
  search_in_form (view, "", "acme");
  results = wb_shipments_view_get_results (view);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (results)), ==, 1);
  found = g_list_model_get_item (G_LIST_MODEL (results), 0);
  g_assert_cmpstr (wb_client_shipment_get_id (found), ==, shipments->shipment_id);

  /* Any status: both of acme's; created from tomorrow: none. */
  gtk_drop_down_set_selected (status, 0);
  search_in_form (view, "", "acme");
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (wb_shipments_view_get_results (view))), ==, 2);
  g_assert_true (wb_date_button_set_date (from, tomorrow_text));
  g_assert_true (wb_date_button_set_date (to, NULL));
  search_in_form (view, "", "acme");
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (wb_shipments_view_get_results (view))), ==, 0);
  g_assert_false (wb_shipment_search_model_get_has_more (wb_shipments_view_get_results (view)));

  /* Nothing of acme's is overdue. */
  g_assert_true (wb_date_button_set_date (from, NULL));
  gtk_check_button_set_active (overdue, TRUE);
  search_in_form (view, "", "acme");
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (wb_shipments_view_get_results (view))), ==, 0);
  gtk_check_button_set_active (overdue, FALSE);

  /* A day picked applies at once, without Search: created from
   * tomorrow, none of acme's. The button shows the day, not its ISO form;
   * a day that does not exist is refused and the pick kept. */
  g_assert_true (wb_date_button_set_date (from, tomorrow_text));
  wait_settled (view);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (wb_shipments_view_get_results (view))), ==, 0);
  g_assert_false (wb_date_button_set_date (from, "2026-13-45"));
  g_assert_cmpstr (wb_date_button_get_date (from), ==, tomorrow_text);
  g_assert_false (gtk_widget_get_visible (error_label));
  g_assert_true (wb_date_button_set_date (from, NULL));
}

/* A dispatcher creates a shipment: a phone the server refuses is marked
 * on its field and nothing in the form is lost; corrected, it is created
 * and opens. Then edited: the change is saved against the version read
 * (If-Match) and shows in the detail. */
static void
check_create_and_edit (WbShipmentsView *view,
                       GtkWidget       *window)
{
  WbShipmentDetail *detail = wb_shipments_view_get_detail (view);
  WbShipmentEditor *editor;
  GtkWidget *phone;
  WbClientShipment *created;

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (view), "shipments.new", NULL));
  editor = WB_SHIPMENT_EDITOR (wb_shipments_view_get_editor (view));
  g_assert_nonnull (editor);
  g_assert_true (wb_shipment_editor_set_field (editor, "clientId", "globex"));
  g_assert_true (wb_shipment_editor_set_field (editor, "reference", "ORD-NEW-1"));
  g_assert_true (wb_shipment_editor_set_field (editor, "serviceLevel", "express"));
  g_assert_true (wb_shipment_editor_set_field (editor, "recipient.name", "Olga Ivanova"));
  g_assert_true (wb_shipment_editor_set_field (editor, "recipient.phone", "call me"));
  g_assert_true (wb_shipment_editor_set_field (editor, "destination.city", "Minsk"));
  g_assert_true (wb_shipment_editor_set_field (editor, "destination.line1", "Lenina 5"));
  g_assert_false (wb_shipment_editor_set_field (editor, "colour", "red"));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (editor), "editor.save", NULL));
  g_assert_true (wb_shipment_editor_get_saving (editor));
  WAIT_FOR (!wb_shipment_editor_get_saving (editor));
  g_assert_cmpstr (wb_shipment_editor_get_error_field (editor), ==, "recipient.phone");
  phone = find_named (GTK_WIDGET (editor), "recipient.phone");
  g_assert_true (gtk_widget_has_css_class (phone, "error"));
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (find_named (GTK_WIDGET (editor), "recipient.name"))), ==,
                   "Olga Ivanova");
  g_assert_true (gtk_widget_get_visible (find_named (GTK_WIDGET (editor), "error")));
  wait_frames (GTK_WIDGET (editor), 3);
  save_screenshot (GTK_WIDGET (editor), "console-shipment-editor.png");

  g_assert_true (wb_shipment_editor_set_field (editor, "recipient.phone", "8 029 777 12 34"));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (editor), "editor.save", NULL));
  WAIT_FOR (wb_shipments_view_get_editor (view) == NULL);
  g_assert_true (wb_shipments_view_get_detail_shown (view));
  WAIT_FOR (wb_shipment_detail_get_shipment (detail) != NULL && !wb_shipment_detail_get_loading (detail));
  created = wb_shipment_detail_get_shipment (detail);
  g_assert_cmpstr (wb_client_shipment_get_reference (created), ==, "ORD-NEW-1");
  g_assert_cmpstr (wb_client_shipment_get_service_level (created), ==, "express");
  g_assert_cmpstr (wb_client_shipment_get_recipient_phone (created), ==, "+375297771234");
  g_assert_cmpint (wb_client_shipment_get_version (created), ==, 1);

  /* Edit it: the form opens filled, the client fixed. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (view), "shipments.edit", NULL));
  editor = WB_SHIPMENT_EDITOR (wb_shipments_view_get_editor (view));
  g_assert_nonnull (editor);
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (find_named (GTK_WIDGET (editor), "destination.line1"))), ==,
                   "Lenina 5");
  g_assert_false (gtk_widget_get_sensitive (find_named (GTK_WIDGET (editor), "clientId")));
  g_assert_true (wb_shipment_editor_set_field (editor, "destination.line1", "Lenina 7"));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (editor), "editor.save", NULL));
  WAIT_FOR (wb_shipments_view_get_editor (view) == NULL);
  WAIT_FOR (wb_shipment_detail_get_shipment (detail) != NULL && !wb_shipment_detail_get_loading (detail)
            && wb_client_shipment_get_version (wb_shipment_detail_get_shipment (detail)) == 2);
  g_assert_cmpstr (wb_client_shipment_get_destination (wb_shipment_detail_get_shipment (detail))->line1, ==,
                   "Lenina 7");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (view), "shipments.back", NULL));
}

static void
check_paging (WbShipmentsView *view)
{
  WbShipmentSearchModel *results;
  GtkAdjustment *adjustment;
  g_autoptr(GHashTable) ids = g_hash_table_new (g_str_hash, g_str_equal);
  guint first_fill;
  gint64 deadline;

  wb_shipments_view_set_page_size (view, 10);
  search_in_form (view, "", "bulk");
  results = wb_shipments_view_get_results (view);

  /* Enough pages to fill the view and a screen below it, not all. */
  first_fill = g_list_model_get_n_items (G_LIST_MODEL (results));
  g_test_message ("rows after the first fill: %u", first_fill);
  g_assert_cmpuint (first_fill, >=, 10);
  g_assert_cmpuint (first_fill, <, BULK);
  g_assert_cmpuint (first_fill % 10, ==, 0);
  g_assert_true (wb_shipment_search_model_get_has_more (results));

  /* Scrolling to the end reads the next pages, until the last. */
  adjustment = gtk_scrollable_get_vadjustment (GTK_SCROLLABLE (wb_shipments_view_get_column_view (view)));
  deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (wb_shipment_search_model_get_has_more (results))
    {
      guint before = g_list_model_get_n_items (G_LIST_MODEL (results));

      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      gtk_adjustment_set_value (adjustment, gtk_adjustment_get_upper (adjustment));
      WAIT_FOR (g_list_model_get_n_items (G_LIST_MODEL (results)) > before
                || !wb_shipment_search_model_get_has_more (results));
      wait_settled (view);
    }
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (results)), ==, BULK);
  g_assert_cmpuint (wb_shipment_search_model_get_pages (results), ==, BULK / 10);
  for (guint i = 0; i < BULK; i++)
    {
      g_autoptr(WbClientShipment) shipment = g_list_model_get_item (G_LIST_MODEL (results), i);

      g_assert_cmpstr (wb_client_shipment_get_client_id (shipment), ==, "bulk");
      g_assert_true (g_hash_table_add (ids, (gpointer) wb_client_shipment_get_id (shipment)));
    }
}

static void
run_shipments_scenario (GApplication *application,
                        Shipments    *shipments)
{
  GtkWidget *window = GTK_WIDGET (gtk_application_get_active_window (GTK_APPLICATION (application)));
  WbShipmentsView *view;
  AdwViewStack *stack;
  WbShipmentSearchModel *results;
  g_autoptr(WbClientShipment) found = NULL;

  gtk_window_set_default_size (GTK_WINDOW (window), 1280, 800);
  view = WB_SHIPMENTS_VIEW (find_child (window, WB_TYPE_SHIPMENTS_VIEW, NULL));
  stack = ADW_VIEW_STACK (find_child (window, ADW_TYPE_VIEW_STACK, NULL));
  g_assert_nonnull (view);
  WAIT_FOR (wb_window_get_connection_state (WB_WINDOW (window)) == WB_CONNECTION_LIVE);

  /* Beside the map, reached by Alt+2 (win.show-view). */
  g_assert_cmpstr (adw_view_stack_get_visible_child_name (stack), ==, "map");
  g_assert_true (gtk_widget_activate_action (window, "win.show-view", "s", "shipments"));
  g_assert_cmpstr (adw_view_stack_get_visible_child_name (stack), ==, "shipments");
  wait_frames (window, 2);
  g_assert_true (gtk_widget_get_mapped (GTK_WIDGET (view)));

  /* The phone as written in the national notation finds the shipment
   * created with its international one. */
  search_in_form (view, "8 029 555 12 34", "");
  results = wb_shipments_view_get_results (view);
  g_assert_null (wb_shipment_search_model_get_error (results));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (results)), ==, 1);
  g_assert_false (wb_shipment_search_model_get_has_more (results));
  found = g_list_model_get_item (G_LIST_MODEL (results), 0);
  g_assert_cmpstr (wb_client_shipment_get_id (found), ==, shipments->shipment_id);
  g_assert_cmpstr (wb_client_shipment_get_recipient_phone (found), ==, "+375295551234");
  save_screenshot (window, "console-shipments.png");
  g_assert_cmpuint (assert_controls_named (GTK_WIDGET (view)), >=, 8);

  check_detail_and_live_status (shipments, view, window);
  /* A viewer's token: New and Edit are disabled, saying why. */
  g_assert_false (wb_shipments_view_get_may_write (view));
  g_assert_false (gtk_widget_activate_action (GTK_WIDGET (view), "shipments.new", NULL)
                  && wb_shipments_view_get_editor (view) != NULL);
  g_assert_nonnull (strstr (gtk_widget_get_tooltip_text (find_named (GTK_WIDGET (view), "new-shipment")), "viewer"));
  check_form_filters (shipments, view);

  /* A phone the server cannot read: the form says which field. */
  search_in_form (view, "not a phone", "");
  g_assert_error ((GError *) wb_shipment_search_model_get_error (wb_shipments_view_get_results (view)),
                  WB_CLIENT_ERROR, WB_CLIENT_ERROR_BAD_REQUEST);
  g_assert_cmpstr (wb_client_error_get_field (wb_shipment_search_model_get_error (wb_shipments_view_get_results (view))),
                   ==, "phone");

  check_paging (view);
  save_screenshot (window, "console-shipments-paged.png");

  shipments->live.done = TRUE;
  g_application_quit (application);
}

static void
test_shipments (void)
{
  Shipments shipments = { 0 };
  Live *live = &shipments.live;
  g_autoptr(WbApplication) application = NULL;
  g_autofree char *viewer = NULL;
  g_autofree char *token_file = NULL;
  g_autofree char *server = NULL;
  g_autofree char *carriers_dir = NULL;
  g_autofree char *carriers_file = NULL;
  g_autofree char *carriers_arg = NULL;
  const char *picked_up = "{\"eventId\":\"pu-1\",\"source\":\"dhl\",\"status\":\"IN_TRANSIT\","
                          "\"statusRaw\":\"PU / Picked up\",\"occurredAt\":\"2026-12-01 09:30:00\","
                          "\"location\":{\"text\":\"Brest hub\"}}";
  int status;

  live->conninfo = wb_test_pg_create_database ("console_shipments");
  /* Its one carrier answers nothing (the discard port refuses): the
   * shipment's history is what this test posts, whatever else listens
   * on the default carriers file's emulator port. */
  carriers_dir = g_dir_make_tmp ("waybill-console-shipments-XXXXXX", NULL);
  carriers_file = g_build_filename (carriers_dir, "carriers.conf", NULL);
  g_assert_true (g_file_set_contents (carriers_file, "[CDEK]\ndriver=emulator\nbase-url=http://127.0.0.1:9\n"
                                      "api-key=k\nrate=1\nburst=1\nstatus-map=generic\nnumber-format=any\n", -1, NULL));
  carriers_arg = g_strconcat ("--carriers-file=", carriers_file, NULL);
  {
    const char *args[] = { carriers_arg, NULL };

    live->daemon = start_daemon_args (live->conninfo, 0, TRUE, args);
  }
  live->port = wb_test_daemon_port (live->daemon);
  live->session = soup_session_new_with_options ("timeout", 30, NULL);
  live->dispatcher = wb_jwt_sign ((const guint8 *) SECRET, strlen (SECRET), "dispatcher", WB_ACCESS_ROLE_DISPATCHER,
                                  g_get_real_time () / G_USEC_PER_SEC, 3600);
  viewer = wb_jwt_sign ((const guint8 *) SECRET, strlen (SECRET), "desk", WB_ACCESS_ROLE_VIEWER,
                        g_get_real_time () / G_USEC_PER_SEC, 3600);

  for (guint i = 0; i < BULK; i++)
    {
      g_autofree char *reference = g_strdup_printf ("BULK-%02u", i);

      g_free (create_shipment (live, "bulk", reference, "+375 29 700-00-00"));
    }
  g_free (create_shipment (live, "acme", "ORD-778", "+375 33 111-22-33"));
  shipments.shipment_id = create_shipment (live, "acme", "ORD-777", "+375 29 555-12-34");
  g_assert_cmpuint (post_event (live, shipments.shipment_id, picked_up), ==, 201);
  g_assert_cmpuint (post_event (live, shipments.shipment_id, picked_up), ==, 200);   /* a duplicate */
  {
    /* A carrier's number tracks it. */
    g_autofree char *tracking = g_strdup_printf ("{\"items\":[{\"carrierCode\":\"CDEK\",\"trackNumber\":\"CD777\","
                                                 "\"shipmentId\":\"%s\"}]}", shipments.shipment_id);

    g_assert_cmpuint (http (live, "POST", "/trackings", live->dispatcher, tracking), ==, 200);
  }

  token_file = g_build_filename (g_get_tmp_dir (), "waybill-console-shipments-token", NULL);
  g_assert_true (g_file_set_contents (token_file, viewer, -1, NULL));
  server = g_strdup_printf ("http://127.0.0.1:%u", live->port);
  {
    const char *argv[] = { "waybill", "--server", server, "--tiles", "none", "--token-file", token_file, NULL };

    application = wb_application_new ();
    g_signal_connect_after (application, "activate", G_CALLBACK (run_shipments_scenario), &shipments);
    status = g_application_run (G_APPLICATION (application), G_N_ELEMENTS (argv) - 1, (char **) argv);
  }
  g_assert_cmpint (status, ==, 0);
  g_assert_true (live->done);

  g_unlink (token_file);
  g_unlink (carriers_file);
  g_rmdir (carriers_dir);
  g_assert_cmpint (wb_test_daemon_terminate (live->daemon), ==, 0);
  wb_test_daemon_free (live->daemon);
  g_object_unref (live->session);
  g_free (live->dispatcher);
  g_free (live->conninfo);
  g_free (shipments.shipment_id);
}

/* ---- the Dispatch view --------------------------------------------------- */

typedef struct
{
  Live       live;
  char      *viewer;
  char      *first_trip;    /* v1, dr1, planned 2026-12-08 */
  char      *second_trip;   /* v2, dr2, planned 2026-12-09 */
} Trips;

/* @method @path as the dispatcher, expecting @status; the answer's "id". */
static char *
dispatch_call (Live       *live,
               const char *method,
               const char *path,
               const char *body,
               guint       status)
{
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u%s", live->port, path);
  g_autoptr(SoupMessage) message = soup_message_new (method, uri);
  g_autofree char *bearer = g_strconcat ("Bearer ", live->dispatcher, NULL);
  g_autoptr(GBytes) answer = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();

  soup_message_headers_replace (soup_message_get_request_headers (message), "Authorization", bearer);
  if (body != NULL)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));

      soup_message_set_request_body_from_bytes (message, "application/json", bytes);
    }
  answer = soup_session_send_and_read (live->session, message, NULL, NULL);
  g_assert_cmpuint (soup_message_get_status (message), ==, status);
  if (!json_parser_load_from_data (parser, g_bytes_get_data (answer, NULL), g_bytes_get_size (answer), NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return NULL;
  return g_strdup (json_object_get_string_member_with_default (json_node_get_object (json_parser_get_root (parser)),
                                                               "id", NULL));
}

/* A position of device dN, posted until ingest takes it (it refuses a
 * device it has not yet learnt of from the bus). */
static void
post_position_accepted (Live   *live,
                        guint   device,
                        double  lat,
                        double  lon)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  for (;;)
    {
      gint64 ms = live->next_fix++;
      g_autoptr(GDateTime) fix = g_date_time_new_from_unix_utc (ms / 1000);
      g_autofree char *seconds = g_date_time_format (fix, "%Y-%m-%dT%H:%M:%S");
      g_autofree char *body = g_strdup_printf ("[{\"deviceId\":\"d%u\",\"timestamp\":\"%s.%03dZ\",\"lat\":%.6f,"
                                               "\"lon\":%.6f,\"speed\":0}]", device, seconds, (int) (ms % 1000),
                                               lat, lon);
      g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u/telemetry", live->port);
      g_autoptr(SoupMessage) message = soup_message_new ("POST", uri);
      g_autofree char *bearer = g_strconcat ("Bearer ", live->dispatcher, NULL);
      g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));
      g_autoptr(GBytes) answer = NULL;

      soup_message_headers_replace (soup_message_get_request_headers (message), "Authorization", bearer);
      soup_message_set_request_body_from_bytes (message, "application/json", bytes);
      answer = soup_session_send_and_read (live->session, message, NULL, NULL);
      g_assert_cmpuint (soup_message_get_status (message), ==, 200);
      if (strstr (g_bytes_get_data (answer, NULL), "\"accepted\":1") != NULL)
        return;
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (50 * 1000);
    }
}

/* Company c1 with vehicles v1…v4 (devices d1…d4) and drivers dr1, dr2;
 * pickup points p1, p2; two PLANNED trips of three stops. v1 reports at
 * the first stop, v3 about 600 m from it, v2 about 4 km, v4 about 12 km. */
static void
create_dispatch (Trips *trips)
{
  Live *live = &trips->live;
  const double positions[][2] = { { 53.9000, 27.5600 }, { 53.9300, 27.6000 }, { 53.9050, 27.5650 },
                                   { 53.9500, 27.7200 } };

  g_assert_cmpuint (http (live, "PUT", "/companies/c1", live->admin, "{\"name\":\"West Logistics\"}"), ==, 200);
  g_assert_cmpuint (http (live, "PUT", "/drivers/dr1", live->admin, "{\"name\":\"Ivan Petrov\",\"companyId\":\"c1\"}"),
                    ==, 200);
  g_assert_cmpuint (http (live, "PUT", "/drivers/dr2", live->admin, "{\"name\":\"Olga Ivanova\",\"companyId\":\"c1\"}"),
                    ==, 200);
  for (guint i = 1; i <= 4; i++)
    {
      g_autofree char *vehicle = g_strdup_printf ("/vehicles/v%u", i);
      g_autofree char *vehicle_body = g_strdup_printf ("{\"plate\":\"%04u AB-7\",\"companyId\":\"c1\"}", i);
      g_autofree char *device = g_strdup_printf ("/devices/d%u", i);
      g_autofree char *device_body = g_strdup_printf ("{\"vehicleId\":\"v%u\",\"token\":null}", i);

      g_assert_cmpuint (http (live, "PUT", vehicle, live->admin, vehicle_body), ==, 200);
      g_assert_cmpuint (http (live, "PUT", device, live->admin, device_body), ==, 200);
    }
  g_assert_cmpuint (http (live, "PUT", "/pickup-points/p1", live->admin,
                          "{\"name\":\"Central\",\"lat\":53.90,\"lon\":27.56}"), ==, 201);
  g_assert_cmpuint (http (live, "PUT", "/pickup-points/p2", live->admin,
                          "{\"name\":\"North\",\"lat\":53.95,\"lon\":27.60}"), ==, 201);
  trips->first_trip = dispatch_call (live, "POST", "/trips",
                                     "{\"companyId\":\"c1\",\"vehicleId\":\"v1\",\"driverId\":\"dr1\","
                                     "\"plannedStart\":\"2026-12-08T08:00:00Z\",\"stops\":["
                                     "{\"pickupPointId\":\"p1\",\"batchIds\":[]},"
                                     "{\"address\":\"Lenina 1\",\"lat\":53.92,\"lon\":27.58,\"batchIds\":[]},"
                                     "{\"pickupPointId\":\"p2\",\"batchIds\":[]}]}", 201);
  trips->second_trip = dispatch_call (live, "POST", "/trips",
                                      "{\"companyId\":\"c1\",\"vehicleId\":\"v2\",\"driverId\":\"dr2\","
                                      "\"plannedStart\":\"2026-12-09T08:00:00Z\",\"stops\":["
                                      "{\"pickupPointId\":\"p2\",\"batchIds\":[]}]}", 201);
  g_assert_nonnull (trips->first_trip);
  g_assert_nonnull (trips->second_trip);
  for (guint i = 0; i < G_N_ELEMENTS (positions); i++)
    post_position_accepted (live, i + 1, positions[i][0], positions[i][1]);
}

static GListModel *
picker_rows (GtkWidget *picker)
{
  GtkDropDown *dropdown = GTK_DROP_DOWN (find_child (picker, GTK_TYPE_DROP_DOWN, NULL));

  return gtk_drop_down_get_model (dropdown);
}

static const char *
picker_row (GtkWidget *picker,
            guint      position)
{
  g_autoptr(GtkStringObject) row = g_list_model_get_item (picker_rows (picker), position);

  return row ? gtk_string_object_get_string (row) : NULL;
}

/* Each picker lists "any" then the directory's names, sorted; picking a
 * row picks its id, and an id the directory lacks is kept, shown as it is. */
static void
check_pickers (WbTripsView *view)
{
  GtkWidget *company = find_named (GTK_WIDGET (view), "company");
  GtkWidget *driver = find_named (GTK_WIDGET (view), "driver");
  GtkWidget *vehicle = find_named (GTK_WIDGET (view), "vehicle");
  GtkDropDown *dropdown = GTK_DROP_DOWN (find_child (driver, GTK_TYPE_DROP_DOWN, NULL));

  g_assert_cmpuint (g_list_model_get_n_items (picker_rows (company)), ==, 2);
  g_assert_cmpstr (picker_row (company, 0), ==, "Any company");
  g_assert_cmpstr (picker_row (company, 1), ==, "West Logistics");
  g_assert_cmpuint (g_list_model_get_n_items (picker_rows (driver)), ==, 3);
  g_assert_cmpstr (picker_row (driver, 1), ==, "Ivan Petrov · West Logistics");
  g_assert_cmpstr (picker_row (driver, 2), ==, "Olga Ivanova · West Logistics");
  g_assert_cmpuint (g_list_model_get_n_items (picker_rows (vehicle)), ==, 5);
  g_assert_cmpstr (picker_row (vehicle, 1), ==, "0001 AB-7");
  g_assert_true (gtk_drop_down_get_enable_search (dropdown));
  gtk_drop_down_set_selected (dropdown, 2);
  g_assert_cmpstr (wb_ref_picker_get_selected_id (WB_REF_PICKER (driver)), ==, "dr2");
  wb_ref_picker_set_selected_id (WB_REF_PICKER (driver), "dr9");
  g_assert_cmpstr (picker_row (driver, gtk_drop_down_get_selected (dropdown)), ==, "dr9");
  wb_ref_picker_set_selected_id (WB_REF_PICKER (driver), NULL);
  g_assert_cmpuint (gtk_drop_down_get_selected (dropdown), ==, 0);
  g_assert_cmpuint (g_list_model_get_n_items (picker_rows (driver)), ==, 3);
}

static void
wait_trips_settled (WbTripsView *view)
{
  /* No page on its way and, since this test's few trips never fill the
   * view, none left: the view asks for the next page only once the last
   * one is laid out, which a slow (sanitized) build may take a while to
   * do. Bounded, for a list that does fill the view. */
  for (guint quiet = 0, frames = 0; quiet < 10; frames++)
    {
      WbTripListModel *results;

      wait_frames (GTK_WIDGET (view), 2);
      results = wb_trips_view_get_results (view);
      if (wb_trip_list_model_get_loading (results) || (wb_trip_list_model_get_has_more (results) && frames < 300))
        quiet = 0;
      else
        quiet++;
    }
}

static guint
show_trips (WbTripsView *view,
            guint        status,
            const char  *vehicle_id)
{
  gtk_drop_down_set_selected (GTK_DROP_DOWN (find_named (GTK_WIDGET (view), "trip-status-filter")), status);
  wb_ref_picker_set_selected_id (WB_REF_PICKER (find_named (GTK_WIDGET (view), "vehicle")), vehicle_id);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (view), "trips.search", NULL));
  g_assert_nonnull (wb_trips_view_get_results (view));
  wait_trips_settled (view);
  g_assert_null (wb_trip_list_model_get_error (wb_trips_view_get_results (view)));
  return g_list_model_get_n_items (G_LIST_MODEL (wb_trips_view_get_results (view)));
}

static const char *
tooltip_of (WbTripDetail *detail,
            const char   *name)
{
  return gtk_widget_get_tooltip_text (find_named (GTK_WIDGET (detail), name));
}

static gboolean
action_enabled (WbTripDetail *detail,
                const char   *name)
{
  return gtk_widget_get_sensitive (find_named (GTK_WIDGET (detail), name));
}

/* Opens the reassign dialog on the trip shown and waits for its
 * candidates. */
static WbReassignDialog *
open_reassign (WbTripDetail *detail)
{
  WbReassignDialog *dialog;

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (detail), "trip.reassign", NULL));
  dialog = wb_trip_detail_get_reassign_dialog (detail);
  g_assert_nonnull (dialog);
  WAIT_FOR (wb_reassign_dialog_get_ready (dialog));
  return dialog;
}

static void
send_reassign (WbReassignDialog *dialog,
               const char       *vehicle_id)
{
  g_assert_true (wb_reassign_dialog_select (dialog, vehicle_id));
  g_assert_false (gtk_widget_get_sensitive (find_named (GTK_WIDGET (dialog), "send")));   /* no reason yet */
  gtk_editable_set_text (GTK_EDITABLE (find_named (GTK_WIDGET (dialog), "reason")), "breakdown");
  g_assert_true (gtk_widget_get_sensitive (find_named (GTK_WIDGET (dialog), "send")));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (dialog), "reassign.send", NULL));
  /* The server answers the request with the command pending; the
   * decision comes later. */
  WAIT_FOR (wb_reassign_dialog_get_command_status (dialog) != NULL);
  g_assert_cmpstr (wb_reassign_dialog_get_command_status (dialog), ==, "pending");
  g_assert_true (g_str_has_prefix (wb_reassign_dialog_get_outcome_text (dialog), "Pending"));
}

/* How many GET /commands/{id} the daemon has answered, from /metrics. */
static guint
command_reads (Live *live)
{
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u/metrics", live->port);
  g_autoptr(SoupMessage) message = soup_message_new ("GET", uri);
  g_autoptr(GBytes) answer = soup_session_send_and_read (live->session, message, NULL, NULL);
  g_autofree char *text = g_strndup (g_bytes_get_data (answer, NULL), g_bytes_get_size (answer));
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  guint reads = 0;

  g_assert_cmpuint (soup_message_get_status (message), ==, 200);
  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], "waybill_http_requests_total{") && strstr (lines[i], "route=\"/commands/{id}\"")
        && strstr (lines[i], "method=\"GET\""))
      reads += (guint) g_ascii_strtoull (strrchr (lines[i], ' ') + 1, NULL, 10);
  return reads;
}

/* Runs the main loop for @ms. */
static void
run_for_ms (guint ms)
{
  gint64 until = g_get_monotonic_time () + ms * 1000;

  while (g_get_monotonic_time () < until)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (2000);
}

static void
wait_command_reads (Live  *live,
                    guint  want)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  while (command_reads (live) < want)
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("the reassign dialog never read its command");
      run_for_ms (50);
    }
}

/* A transaction holding trip @id's row, so that the dispatch role, which
 * locks it to decide a command on the trip, waits until it ends. */
static PGconn *
hold_trip (Live       *live,
           const char *id)
{
  PGconn *conn = PQconnectdb (live->conninfo);
  const char *params[] = { id };
  PGresult *result;

  g_assert_cmpint (PQstatus (conn), ==, CONNECTION_OK);
  PQclear (PQexec (conn, "BEGIN"));
  result = PQexecParams (conn, "SELECT 1 FROM trips WHERE id = $1 FOR UPDATE", 1, NULL, params, NULL, NULL, 0);
  g_assert_cmpint (PQresultStatus (result), ==, PGRES_TUPLES_OK);
  g_assert_cmpint (PQntuples (result), ==, 1);
  PQclear (result);
  return conn;
}

static void
release_trip (PGconn *conn)
{
  PQclear (PQexec (conn, "COMMIT"));
  PQfinish (conn);
}

/* The visible toplevel of @type, NULL when none. */
static GtkWidget *
find_toplevel (GType type)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GtkWidget) window = g_list_model_get_item (toplevels, i);

      if (G_TYPE_CHECK_INSTANCE_TYPE (window, type) && gtk_widget_get_visible (window))
        return window;   /* the toplevels list keeps it */
    }
  return NULL;
}

static WbAlert *find_alert (WbAlertCenter *center,
                           const char    *kind);

static void
check_reassign (Trips        *trips,
                WbTripDetail *detail,
                GtkWidget    *window)
{
  WbReassignDialog *dialog = open_reassign (detail);
  g_autofree char *start_path = NULL;
  double previous = 0, distance;
  guint reads;
  PGconn *hold;

  /* The company's free vehicles, nearest to v1 first, v1 itself left out;
   * v2 is on a PLANNED trip only, so it is free. */
  g_assert_cmpuint (wb_reassign_dialog_get_n_candidates (dialog), ==, 3);
  g_assert_cmpstr (wb_reassign_dialog_get_candidate (dialog, 0, &distance), ==, "v3");
  g_assert_cmpfloat (distance, >, 400);
  g_assert_cmpfloat (distance, <, 900);
  g_assert_cmpstr (wb_reassign_dialog_get_candidate (dialog, 1, NULL), ==, "v2");
  g_assert_cmpstr (wb_reassign_dialog_get_candidate (dialog, 2, NULL), ==, "v4");
  for (guint i = 0; i < 3; i++)
    {
      wb_reassign_dialog_get_candidate (dialog, i, &distance);
      g_assert_cmpfloat (distance, >=, previous);
      previous = distance;
    }
  g_assert_nonnull (find_named (GTK_WIDGET (dialog), "candidate-v3"));
  g_assert_cmpuint (assert_controls_named (GTK_WIDGET (dialog)), >=, 3);

  /* Applied: the outcome shows, and the detail reads the trip again.
   * While the dispatch role waits on the trip's row, the dialog reads its
   * command once (pending) and never again: the decision comes from
   * /ws/events. */
  reads = command_reads (&trips->live);
  hold = hold_trip (&trips->live, trips->first_trip);
  send_reassign (dialog, "v3");
  wait_command_reads (&trips->live, reads + 1);
  run_for_ms (1500);
  g_assert_cmpstr (wb_reassign_dialog_get_command_status (dialog), ==, "pending");
  g_assert_cmpuint (command_reads (&trips->live), ==, reads + 1);
  release_trip (hold);
  WAIT_FOR (g_strcmp0 (wb_reassign_dialog_get_command_status (dialog), "applied") == 0);
  g_assert_true (g_str_has_prefix (wb_reassign_dialog_get_outcome_text (dialog), "Applied"));
  g_assert_cmpuint (command_reads (&trips->live), ==, reads + 1);
  g_assert_nonnull (find_styled (GTK_WIDGET (dialog), "success"));
  WAIT_FOR (g_strcmp0 (wb_client_trip_get_vehicle_id (wb_trip_detail_get_trip (detail)), "v3") == 0);
  wait_frames (GTK_WIDGET (dialog), 3);
  save_screenshot (GTK_WIDGET (dialog), "console-reassign.png");
  gtk_window_close (GTK_WINDOW (dialog));
  WAIT_FOR (wb_trip_detail_get_reassign_dialog (detail) == NULL);

  /* Rejected: v2 goes on its own trip after the dialog offered it; the
   * dispatch role's reason shows. */
  dialog = open_reassign (detail);
  g_assert_cmpstr (wb_reassign_dialog_get_candidate (dialog, 0, NULL), ==, "v1");   /* v3 now has the trip */
  start_path = g_strdup_printf ("/trips/%s/start", trips->second_trip);
  g_free (dispatch_call (&trips->live, "POST", start_path, NULL, 200));
  reads = command_reads (&trips->live);
  send_reassign (dialog, "v2");
  WAIT_FOR (g_strcmp0 (wb_reassign_dialog_get_command_status (dialog), "rejected") == 0);
  g_assert_true (g_str_has_prefix (wb_reassign_dialog_get_outcome_text (dialog), "Rejected: "));
  g_assert_nonnull (strstr (wb_reassign_dialog_get_outcome_text (dialog), "busy"));
  /* The rejection is an alert as well, with its reason. */
  {
    WbAlertCenter *center = wb_application_get_alert_center (
      WB_APPLICATION (gtk_window_get_application (GTK_WINDOW (gtk_widget_get_root (GTK_WIDGET (detail))))));

    WAIT_FOR (find_alert (center, "command") != NULL);
    g_assert_nonnull (strstr (wb_alert_get_body (find_alert (center, "command")), "busy"));
  }
  /* At most the one read after the 202, whichever came first. */
  run_for_ms (1000);
  g_assert_cmpuint (command_reads (&trips->live), <=, reads + 1);
  wait_frames (GTK_WIDGET (dialog), 3);
  save_screenshot (GTK_WIDGET (dialog), "console-reassign-rejected.png");
  g_assert_cmpstr (wb_client_trip_get_vehicle_id (wb_trip_detail_get_trip (detail)), ==, "v3");
  gtk_window_close (GTK_WINDOW (dialog));
  WAIT_FOR (wb_trip_detail_get_reassign_dialog (detail) == NULL);
}

static void
check_detail_and_start (Trips        *trips,
                        WbTripsView  *view,
                        GtkWidget    *window)
{
  WbTripDetail *detail = wb_trips_view_get_detail (view);
  GtkWidget *stops = find_named (GTK_WIDGET (detail), "stops");
  WbClientTrip *trip;
  AdwMessageDialog *confirm;
  double lat = 0, lon = 0;

  /* Enter on the row opens the detail: stops in order, the actions a
   * PLANNED trip allows. */
  wb_trip_detail_set_position_interval (detail, 200);
  g_assert_cmpuint (show_trips (view, 0, "v1"), ==, 1);
  g_signal_emit_by_name (wb_trips_view_get_column_view (view), "activate", 0);
  g_assert_true (wb_trips_view_get_detail_shown (view));
  WAIT_FOR (wb_trip_detail_get_trip (detail) != NULL && !wb_trip_detail_get_loading (detail));
  trip = wb_trip_detail_get_trip (detail);
  g_assert_cmpstr (wb_client_trip_get_id (trip), ==, trips->first_trip);
  g_assert_cmpuint (count_children (stops), ==, 3);
  /* Named as people call them: the pickup point, the plate, the driver
   * and the company, the route as the title; ids in the tooltips. */
  g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (find_named (stops, "stop-0"))), ==,
                   "1. Central");
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (find_named (GTK_WIDGET (detail), "trip-title"))), ==,
                   "Central → Lenina 1 → North");
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (find_named (GTK_WIDGET (detail), "trip-vehicle"))), ==,
                   "0001 AB-7");
  g_assert_cmpstr (gtk_widget_get_tooltip_text (find_named (GTK_WIDGET (detail), "trip-vehicle")), ==, "v1");
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (find_named (GTK_WIDGET (detail), "trip-driver"))), ==,
                   "Ivan Petrov");
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (find_named (GTK_WIDGET (detail), "trip-company"))), ==,
                   "West Logistics");
  g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (find_named (stops, "stop-1"))), ==,
                   "2. Lenina 1");
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (find_named (stops, "stop-2"))), ==, "Not reached");
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (find_named (GTK_WIDGET (detail), "trip-status"))), ==, "Planned");
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (find_named (GTK_WIDGET (detail), "progress"))), ==,
                   "0 of 3 stops reached");
  g_assert_true (action_enabled (detail, "start"));
  g_assert_false (action_enabled (detail, "complete"));
  g_assert_nonnull (strstr (tooltip_of (detail, "complete"), "Planned"));
  g_assert_true (action_enabled (detail, "reassign"));

  /* The vehicle's live position reaches the map. */
  WAIT_FOR (wb_trip_detail_get_vehicle_position (detail, &lat, &lon));
  g_assert_cmpfloat_with_epsilon (lat, 53.90, 1e-6);
  g_assert_cmpfloat_with_epsilon (lon, 27.56, 1e-6);

  /* Start: the answer is the trip in transit. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (detail), "trip.start", NULL));
  WAIT_FOR (g_strcmp0 (wb_client_trip_get_status (wb_trip_detail_get_trip (detail)), "IN_TRANSIT") == 0
            && !wb_trip_detail_get_loading (detail));
  g_assert_cmpint (wb_client_trip_get_version (wb_trip_detail_get_trip (detail)), ==, 2);
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (find_named (GTK_WIDGET (detail), "trip-status"))), ==,
                   "In transit");
  g_assert_false (action_enabled (detail, "start"));
  g_assert_nonnull (strstr (tooltip_of (detail, "start"), "In transit"));
  g_assert_true (action_enabled (detail, "complete"));
  WAIT_FOR (!adw_leaflet_get_child_transition_running (ADW_LEAFLET (find_child (GTK_WIDGET (view), ADW_TYPE_LEAFLET,
                                                                                 NULL))));
  wait_frames (window, 3);
  save_screenshot (window, "console-trip-detail.png");
  g_assert_cmpuint (assert_controls_named (GTK_WIDGET (detail)), >=, 8);

  check_reassign (trips, detail, window);

  /* Cancel asks first; "Keep" changes nothing, "Cancel Trip" cancels. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (detail), "trip.cancel", NULL));
  confirm = ADW_MESSAGE_DIALOG (find_toplevel (ADW_TYPE_MESSAGE_DIALOG));
  g_assert_nonnull (confirm);
  adw_message_dialog_response (confirm, "keep");
  wait_frames (window, 2);
  g_assert_false (wb_trip_detail_get_loading (detail));
  g_assert_cmpstr (wb_client_trip_get_status (wb_trip_detail_get_trip (detail)), ==, "IN_TRANSIT");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (detail), "trip.cancel", NULL));
  confirm = ADW_MESSAGE_DIALOG (find_toplevel (ADW_TYPE_MESSAGE_DIALOG));
  g_assert_nonnull (confirm);
  adw_message_dialog_response (confirm, "cancel-trip");
  WAIT_FOR (g_strcmp0 (wb_client_trip_get_status (wb_trip_detail_get_trip (detail)), "CANCELLED") == 0);
  g_assert_false (action_enabled (detail, "reassign"));
  g_assert_nonnull (strstr (tooltip_of (detail, "reassign"), "Cancelled"));

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (view), "trips.back", NULL));
  g_assert_false (wb_trips_view_get_detail_shown (view));
}

/* A viewer's token: the same trip, every action disabled, the reason in
 * each button's tooltip. */
static void
check_viewer (Trips       *trips,
              WbTripsView *view,
              GtkWidget   *window)
{
  g_autofree char *server = g_strdup_printf ("http://127.0.0.1:%u", trips->live.port);
  g_autoptr(WbClient) viewer = wb_client_new (server, trips->viewer);
  WbTripDetail *detail = wb_trips_view_get_detail (view);
  const char *actions[] = { "start", "complete", "cancel", "reassign" };

  wb_trips_view_set_client (view, viewer);
  WAIT_FOR (g_strcmp0 (wb_trips_view_get_role (view), "viewer") == 0);
  g_assert_cmpuint (show_trips (view, 0, NULL), ==, 2);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (view), "trips.open", "s", trips->second_trip));
  WAIT_FOR (wb_trip_detail_get_trip (detail) != NULL && !wb_trip_detail_get_loading (detail));
  g_assert_cmpstr (wb_client_trip_get_status (wb_trip_detail_get_trip (detail)), ==, "IN_TRANSIT");
  for (guint i = 0; i < G_N_ELEMENTS (actions); i++)
    {
      g_assert_false (action_enabled (detail, actions[i]));
      g_assert_nonnull (strstr (tooltip_of (detail, actions[i]), "viewer"));
    }
  /* Disabled means disabled: nothing is sent, no dialog opens. */
  gtk_widget_activate_action (GTK_WIDGET (detail), "trip.start", NULL);
  g_assert_false (wb_trip_detail_get_loading (detail));
  gtk_widget_activate_action (GTK_WIDGET (detail), "trip.reassign", NULL);
  g_assert_null (wb_trip_detail_get_reassign_dialog (detail));
  WAIT_FOR (!adw_leaflet_get_child_transition_running (ADW_LEAFLET (find_child (GTK_WIDGET (view), ADW_TYPE_LEAFLET,
                                                                                 NULL))));
  wait_frames (window, 3);
  save_screenshot (window, "console-trip-viewer.png");
}

static void
run_trips_scenario (GApplication *application,
                    Trips        *trips)
{
  GtkWidget *window = GTK_WIDGET (gtk_application_get_active_window (GTK_APPLICATION (application)));
  WbTripsView *view;
  AdwViewStack *stack;
  g_autoptr(WbClientTrip) newest = NULL;

  gtk_window_set_default_size (GTK_WINDOW (window), 1280, 800);
  view = WB_TRIPS_VIEW (find_child (window, WB_TYPE_TRIPS_VIEW, NULL));
  stack = ADW_VIEW_STACK (find_child (window, ADW_TYPE_VIEW_STACK, NULL));
  g_assert_nonnull (view);
  WAIT_FOR (wb_window_get_connection_state (WB_WINDOW (window)) == WB_CONNECTION_LIVE);

  /* The third view of the switcher, reached by Alt+3 (win.show-view). */
  g_assert_nonnull (adw_view_stack_get_child_by_name (stack, "trips"));
  g_assert_cmpstr (adw_view_stack_page_get_title (adw_view_stack_get_page (stack, GTK_WIDGET (view))), ==,
                   "_Dispatch");
  g_assert_true (gtk_widget_activate_action (window, "win.show-view", "s", "trips"));
  g_assert_cmpstr (adw_view_stack_get_visible_child_name (stack), ==, "trips");
  wait_frames (window, 2);
  g_assert_true (gtk_widget_get_mapped (GTK_WIDGET (view)));
  WAIT_FOR (g_strcmp0 (wb_trips_view_get_role (view), "dispatcher") == 0);

  /* The pickers offer the company's names, drivers with their company. */
  WAIT_FOR (wb_trips_view_get_directory (view) != NULL);
  check_pickers (view);

  /* Every trip, newest first, a page at a time; then each filter. */
  wb_trips_view_set_page_size (view, 1);
  g_assert_cmpuint (show_trips (view, 0, NULL), ==, 2);
  g_assert_cmpuint (wb_trip_list_model_get_pages (wb_trips_view_get_results (view)), >=, 2);
  newest = g_list_model_get_item (G_LIST_MODEL (wb_trips_view_get_results (view)), 0);
  g_assert_cmpstr (wb_client_trip_get_id (newest), ==, trips->second_trip);
  wb_trips_view_set_page_size (view, 0);
  save_screenshot (window, "console-trips.png");
  g_assert_cmpuint (assert_controls_named (GTK_WIDGET (view)), >=, 8);
  g_assert_cmpuint (show_trips (view, 2 /* In transit */, NULL), ==, 0);
  g_assert_cmpuint (show_trips (view, 1 /* Planned */, "v2"), ==, 1);
  g_assert_true (wb_date_button_set_date (WB_DATE_BUTTON (find_named (GTK_WIDGET (view), "planned-from")), "2026-12-09"));
  g_assert_true (wb_date_button_set_date (WB_DATE_BUTTON (find_named (GTK_WIDGET (view), "planned-to")), "2026-12-09"));
  g_assert_cmpuint (show_trips (view, 0, NULL), ==, 1);
  g_assert_true (wb_date_button_set_date (WB_DATE_BUTTON (find_named (GTK_WIDGET (view), "planned-from")), NULL));
  g_assert_true (wb_date_button_set_date (WB_DATE_BUTTON (find_named (GTK_WIDGET (view), "planned-to")), NULL));
  wb_ref_picker_set_selected_id (WB_REF_PICKER (find_named (GTK_WIDGET (view), "company")), "nobody");
  g_assert_cmpuint (show_trips (view, 0, NULL), ==, 0);
  wb_ref_picker_set_selected_id (WB_REF_PICKER (find_named (GTK_WIDGET (view), "company")), "c1");
  g_assert_cmpuint (show_trips (view, 0, NULL), ==, 2);

  check_detail_and_start (trips, view, window);

  /* A dispatcher creates and edits shipments. */
  {
    WbShipmentsView *shipments = WB_SHIPMENTS_VIEW (find_child (window, WB_TYPE_SHIPMENTS_VIEW, NULL));

    g_assert_true (gtk_widget_activate_action (window, "win.show-view", "s", "shipments"));
    wait_frames (window, 2);
    WAIT_FOR (wb_shipments_view_get_may_write (shipments));
    check_create_and_edit (shipments, window);
    g_assert_true (gtk_widget_activate_action (window, "win.show-view", "s", "trips"));
    wait_frames (window, 2);
  }
  check_viewer (trips, view, window);

  trips->live.done = TRUE;
  g_application_quit (application);
}

static void
test_trips (void)
{
  Trips trips = { 0 };
  Live *live = &trips.live;
  g_autoptr(WbApplication) application = NULL;
  g_autofree char *token_file = NULL;
  g_autofree char *server = NULL;
  int status;

  live->conninfo = wb_test_pg_create_database ("console_trips");
  live->daemon = start_daemon (live->conninfo, 0);
  live->port = wb_test_daemon_port (live->daemon);
  live->session = soup_session_new_with_options ("timeout", 30, NULL);
  live->admin = wb_jwt_sign ((const guint8 *) SECRET, strlen (SECRET), "admin", WB_ACCESS_ROLE_ADMIN,
                             g_get_real_time () / G_USEC_PER_SEC, 3600);
  live->dispatcher = wb_jwt_sign ((const guint8 *) SECRET, strlen (SECRET), "dispatcher", WB_ACCESS_ROLE_DISPATCHER,
                                  g_get_real_time () / G_USEC_PER_SEC, 3600);
  trips.viewer = wb_jwt_sign ((const guint8 *) SECRET, strlen (SECRET), "desk", WB_ACCESS_ROLE_VIEWER,
                              g_get_real_time () / G_USEC_PER_SEC, 3600);
  live->next_fix = g_get_real_time () / 1000 - 10 * 60 * 1000;
  create_dispatch (&trips);

  token_file = g_build_filename (g_get_tmp_dir (), "waybill-console-trips-token", NULL);
  g_assert_true (g_file_set_contents (token_file, live->dispatcher, -1, NULL));
  server = g_strdup_printf ("http://127.0.0.1:%u", live->port);
  {
    const char *argv[] = { "waybill", "--server", server, "--tiles", "none", "--token-file", token_file, NULL };

    application = wb_application_new ();
    g_signal_connect_after (application, "activate", G_CALLBACK (run_trips_scenario), &trips);
    status = g_application_run (G_APPLICATION (application), G_N_ELEMENTS (argv) - 1, (char **) argv);
  }
  g_assert_cmpint (status, ==, 0);
  g_assert_true (live->done);

  g_unlink (token_file);
  g_assert_cmpint (wb_test_daemon_terminate (live->daemon), ==, 0);
  wb_test_daemon_free (live->daemon);
  g_object_unref (live->session);
  g_free (live->admin);
  g_free (live->dispatcher);
  g_free (live->conninfo);
  g_free (trips.viewer);
  g_free (trips.first_trip);
  g_free (trips.second_trip);
}

/* ---- trackings: numbers pasted, outcomes, checks, the carriers page ------- */

typedef struct
{
  Live               live;
  WbCarrierEmulator *emulator;
} Trackings;

static void
wait_trackings_settled (WbTrackingsView *view)
{
  for (guint quiet = 0; quiet < 10;)
    {
      WbPagedModel *results;

      /* The frames may replace the list (a filter, an add): read it after. */
      wait_frames (GTK_WIDGET (view), 2);
      results = WB_PAGED_MODEL (wb_trackings_view_get_results (view));
      quiet = results != NULL && !wb_paged_model_get_loading (results) ? quiet + 1 : 0;
    }
}

static WbClientTracking *
tracking_by_number (WbTrackingsView *view,
                    const char      *number)
{
  GListModel *results = G_LIST_MODEL (wb_trackings_view_get_results (view));

  for (guint i = 0; results != NULL && i < g_list_model_get_n_items (results); i++)
    {
      g_autoptr(WbClientTracking) tracking = g_list_model_get_item (results, i);

      if (g_strcmp0 (wb_client_tracking_get_track_number (tracking), number) == 0)
        return tracking;
    }
  return NULL;
}

static void
run_trackings_scenario (GApplication *application,
                        Trackings    *trackings)
{
  GtkWidget *window = GTK_WIDGET (gtk_application_get_active_window (GTK_APPLICATION (application)));
  WbTrackingsView *view;
  GtkTextBuffer *buffer;
  GtkLabel *added;
  GtkDropDown *carrier;
  WbClientTracking *tracking;
  GPtrArray *carriers;
  const WbClientCarrier *cdek = NULL;
  GtkWidget *group;
  WbEmulatorCounts counts;

  gtk_window_set_default_size (GTK_WINDOW (window), 1280, 800);
  view = WB_TRACKINGS_VIEW (find_child (window, WB_TYPE_TRACKINGS_VIEW, NULL));
  g_assert_nonnull (view);
  WAIT_FOR (wb_window_get_connection_state (WB_WINDOW (window)) == WB_CONNECTION_LIVE);
  g_assert_true (gtk_widget_activate_action (window, "win.show-view", "s", "trackings"));
  wait_frames (window, 2);
  g_assert_true (gtk_widget_get_mapped (GTK_WIDGET (view)));

  /* The carriers the server lists fill the picker. */
  WAIT_FOR (wb_trackings_view_get_carriers (view) != NULL);
  carrier = GTK_DROP_DOWN (find_named (GTK_WIDGET (view), "add-carrier"));
  g_assert_cmpuint (g_list_model_get_n_items (gtk_drop_down_get_model (carrier)), ==, 2);
  gtk_drop_down_set_selected (carrier, 1);
  g_assert_cmpstr (gtk_string_object_get_string (gtk_drop_down_get_selected_item (carrier)), ==, "POST_RU");

  /* Pasted as people paste: lines, commas, a repeat. Each number gets its
   * outcome: two added, the bad check digit refused by name, the repeat
   * sent once; the refused one stays in the box to be fixed. */
  buffer = gtk_text_view_get_buffer (GTK_TEXT_VIEW (find_named (GTK_WIDGET (view), "numbers")));
  gtk_text_buffer_set_text (buffer, "RA123456785RU\nRA644000001RU, RB000000014RU\nRA123456785RU", -1);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (view), "trackings.add", NULL));
  added = GTK_LABEL (find_named (GTK_WIDGET (view), "added"));
  WAIT_FOR (g_str_has_prefix (gtk_label_get_text (added), "2 added"));
  g_assert_nonnull (strstr (gtk_label_get_text (added), "1 refused"));
  g_assert_nonnull (strstr (gtk_label_get_text (added), "RA644000001RU: "));
  g_assert_nonnull (strstr (gtk_label_get_text (added), "check digit"));
  g_assert_cmpint (gtk_text_buffer_get_char_count (buffer), >, 0);

  /* The same again: nothing new, both already tracked. */
  gtk_text_buffer_set_text (buffer, "RA123456785RU RB000000014RU", -1);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (view), "trackings.add", NULL));
  WAIT_FOR (g_str_has_prefix (gtk_label_get_text (added), "0 added, 2 already tracked, 0 refused"));
  g_assert_cmpint (gtk_text_buffer_get_char_count (buffer), ==, 0);

  /* The list: both, checked against the emulator within seconds (demo
   * profile), with their last and next check; one asked again now. */
  wait_trackings_settled (view);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (wb_trackings_view_get_results (view))), ==, 2);
  for (gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;;)
    {
      tracking = tracking_by_number (view, "RA123456785RU");
      if (tracking != NULL && wb_client_tracking_get_last_checked_at (tracking) != 0
          && g_strcmp0 (wb_client_tracking_get_status (tracking), "PENDING") != 0)
        break;
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      wait_frames (window, 10);
      g_usleep (200 * 1000);
      g_assert_true (gtk_widget_activate_action (GTK_WIDGET (view), "trackings.reload", NULL));
      wait_trackings_settled (view);
    }
  g_assert_cmpstr (wb_client_tracking_get_carrier_code (tracking), ==, "POST_RU");
  g_assert_nonnull (wb_client_tracking_get_status_raw (tracking));
  wb_carrier_emulator_get_counts (trackings->emulator, &counts);
  g_assert_cmpuint (counts.served, >=, 1);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (view), "trackings.refresh", "x",
                                             wb_client_tracking_get_id (tracking)));
  wait_trackings_settled (view);
  save_screenshot (window, "console-trackings.png");
  g_assert_cmpuint (assert_controls_named (GTK_WIDGET (view)), >=, 8);

  /* Filters: a carrier with none of them; then back. */
  gtk_drop_down_set_selected (GTK_DROP_DOWN (find_named (GTK_WIDGET (view), "carrier-filter")), 1 /* CDEK */);
  wait_trackings_settled (view);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (wb_trackings_view_get_results (view))), ==, 0);
  gtk_drop_down_set_selected (GTK_DROP_DOWN (find_named (GTK_WIDGET (view), "carrier-filter")), 0);
  wait_trackings_settled (view);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (wb_trackings_view_get_results (view))), ==, 2);

  /* The carriers page: a group per carrier with its limits, read again
   * while it shows. */
  wb_trackings_view_show_page (view, "carriers");
  wait_frames (window, 3);
  carriers = wb_trackings_view_get_carriers (view);
  g_assert_cmpuint (carriers->len, ==, 2);
  for (guint i = 0; i < carriers->len; i++)
    if (g_str_equal (((WbClientCarrier *) g_ptr_array_index (carriers, i))->code, "CDEK"))
      cdek = g_ptr_array_index (carriers, i);
  g_assert_nonnull (cdek);
  g_assert_cmpfloat (cdek->rate, ==, 20);
  g_assert_cmpuint (cdek->daily_quota, ==, 500);
  group = find_named (GTK_WIDGET (view), "carrier-POST_RU");
  g_assert_nonnull (group);
  g_assert_nonnull (find_named (group, "last-hour"));
  /* The numbers checked above are POST_RU's requests of this minute: the
   * chart's last bar. */
  WAIT_FOR (find_named (find_named (GTK_WIDGET (view), "carrier-POST_RU"), "chart") != NULL
            && wb_carrier_chart_get_peak (WB_CARRIER_CHART (find_named (find_named (GTK_WIDGET (view),
                                                                                    "carrier-POST_RU"),
                                                                        "chart"))) >= 1);
  if (cdek->has_limits)
    {
      g_assert_cmpint (cdek->quota_left_today, ==, 500 - cdek->quota_used_today);
      g_assert_nonnull (find_named (find_named (GTK_WIDGET (view), "carrier-CDEK"), "quota"));
    }
  wait_frames (window, 3);
  save_screenshot (window, "console-carriers.png");

  trackings->live.done = TRUE;
  g_application_quit (application);
}

static void
test_trackings (void)
{
  Trackings trackings = { 0 };
  Live *live = &trackings.live;
  g_autoptr(WbApplication) application = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("waybill-console-trackings-XXXXXX", &error);
  g_autofree char *carriers_file = NULL;
  g_autofree char *carriers = NULL;
  g_autofree char *carriers_arg = NULL;
  g_autofree char *token_file = NULL;
  g_autofree char *server = NULL;
  guint emulator_port;
  int status;

  g_assert_no_error (error);
  trackings.emulator = wb_carrier_emulator_new ();
  wb_carrier_emulator_set_step (trackings.emulator, 2 * G_USEC_PER_SEC);
  emulator_port = wb_carrier_emulator_listen (trackings.emulator, &error);
  g_assert_no_error (error);
  carriers = g_strdup_printf ("[CDEK]\ndriver=emulator\nbase-url=http://127.0.0.1:%u\napi-key=k\nrate=20\nburst=5\n"
                              "daily-quota=500\nstatus-map=generic\nnumber-format=any\n\n"
                              "[POST_RU]\ndriver=emulator\nbase-url=http://127.0.0.1:%u\napi-key=k\nrate=20\nburst=5\n"
                              "status-map=generic\nnumber-format=s10\nmax-length=13\n", emulator_port, emulator_port);
  carriers_file = g_build_filename (dir, "carriers.conf", NULL);
  g_assert_true (g_file_set_contents (carriers_file, carriers, -1, NULL));
  carriers_arg = g_strconcat ("--carriers-file=", carriers_file, NULL);

  live->conninfo = wb_test_pg_create_database ("console_trackings");
  {
    const char *args[] = { carriers_arg, "--polling-profile=demo", NULL };

    live->daemon = start_daemon_args (live->conninfo, 0, TRUE, args);
  }
  live->port = wb_test_daemon_port (live->daemon);
  live->session = soup_session_new_with_options ("timeout", 30, NULL);
  live->dispatcher = wb_jwt_sign ((const guint8 *) SECRET, strlen (SECRET), "dispatcher", WB_ACCESS_ROLE_DISPATCHER,
                                  g_get_real_time () / G_USEC_PER_SEC, 3600);
  token_file = g_build_filename (dir, "token", NULL);
  g_assert_true (g_file_set_contents (token_file, live->dispatcher, -1, NULL));
  server = g_strdup_printf ("http://127.0.0.1:%u", live->port);
  {
    const char *argv[] = { "waybill", "--server", server, "--tiles", "none", "--token-file", token_file, NULL };

    application = wb_application_new ();
    g_signal_connect_after (application, "activate", G_CALLBACK (run_trackings_scenario), &trackings);
    status = g_application_run (G_APPLICATION (application), G_N_ELEMENTS (argv) - 1, (char **) argv);
  }
  g_assert_cmpint (status, ==, 0);
  g_assert_true (live->done);

  g_assert_cmpint (wb_test_daemon_terminate (live->daemon), ==, 0);
  wb_test_daemon_free (live->daemon);
  wb_carrier_emulator_stop (trackings.emulator);
  g_object_unref (trackings.emulator);
  g_unlink (token_file);
  g_unlink (carriers_file);
  g_rmdir (dir);
  g_object_unref (live->session);
  g_free (live->dispatcher);
  g_free (live->conninfo);
}

/* ---- local mode: the console's own waybilld -------------------------------- */

typedef struct
{
  char    *dir;
  guint    round;
  gboolean done;
  char    *company_seen;
} Local;

static void
run_local_scenario (GApplication *application,
                    Local        *local)
{
  GtkWidget *window = GTK_WIDGET (gtk_application_get_active_window (GTK_APPLICATION (application)));
  WbLocalServer *server;
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autoptr(SoupMessage) message = NULL;
  g_autoptr(GBytes) answer = NULL;
  g_autofree char *uri = NULL;
  g_autofree char *bearer = NULL;
  g_autofree char *log = NULL;
  g_autofree char *secret_path = g_build_filename (local->dir, "secret", NULL);
  GStatBuf st;
  GtkWindow *log_window = NULL;
  GListModel *toplevels = gtk_window_get_toplevels ();

  /* Started on its own, on a loopback port, and connected to. */
  WAIT_FOR (wb_application_get_local_server (WB_APPLICATION (application)) != NULL);
  server = wb_application_get_local_server (WB_APPLICATION (application));
  for (gint64 deadline = g_get_monotonic_time () + 120 * G_USEC_PER_SEC;
       wb_window_get_connection_state (WB_WINDOW (window)) != WB_CONNECTION_LIVE;)
    {
      g_assert_cmpint (wb_local_server_get_state (server), !=, WB_LOCAL_SERVER_FAILED);
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      wait_frames (window, 5);
      g_usleep (50 * 1000);
    }
  g_assert_cmpint (wb_local_server_get_state (server), ==, WB_LOCAL_SERVER_READY);
  g_assert_true (g_str_has_prefix (wb_local_server_get_url (server), "http://127.0.0.1:"));
  g_assert_cmpstr (wb_local_server_get_dir (server), ==, local->dir);
  /* Its secret is the user's alone. */
  g_assert_cmpint (g_stat (secret_path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  /* The token it made is an admin's: the first round writes a company,
   * the second finds it, so the data outlived the restart. */
  bearer = g_strconcat ("Bearer ", wb_local_server_get_token (server), NULL);
  if (local->round == 0)
    {
      uri = g_strdup_printf ("%s/companies/local-office", wb_local_server_get_url (server));
      message = soup_message_new ("PUT", uri);
      soup_message_headers_replace (soup_message_get_request_headers (message), "Authorization", bearer);
      soup_message_set_request_body_from_bytes (message, "application/json",
                                                g_bytes_new_static ("{\"name\":\"Field Office\"}", strlen ("{\"name\":\"Field Office\"}")));
    }
  else
    {
      uri = g_strdup_printf ("%s/companies/local-office", wb_local_server_get_url (server));
      message = soup_message_new ("GET", uri);
      soup_message_headers_replace (soup_message_get_request_headers (message), "Authorization", bearer);
    }
  answer = soup_session_send_and_read (session, message, NULL, NULL);
  g_assert_cmpuint (soup_message_get_status (message), ==, 200);
  if (local->round == 1)
    local->company_seen = g_strndup (g_bytes_get_data (answer, NULL), g_bytes_get_size (answer));

  /* Its state and log, from the menu. */
  g_action_group_activate_action (G_ACTION_GROUP (application), "local-server", NULL);
  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GtkWindow) candidate = g_list_model_get_item (toplevels, i);

      if (find_named (GTK_WIDGET (candidate), "local-log") != NULL)
        log_window = candidate;
    }
  g_assert_nonnull (log_window);
  log = wb_local_server_dup_log (server);
  g_assert_nonnull (strstr (log, "Ready in"));
  g_assert_nonnull (strstr (gtk_label_get_text (GTK_LABEL (find_named (GTK_WIDGET (log_window), "local-status"))),
                            "Running"));
  wait_frames (window, 3);
  if (local->round == 0)
    save_screenshot (GTK_WIDGET (log_window), "console-local-server.png");
  gtk_window_destroy (log_window);

  local->done = TRUE;
  g_application_quit (application);
}

static void
test_local_mode (void)
{
  Local local = { 0 };
  g_autoptr(GError) error = NULL;
  g_autofree char *dir_arg = NULL;

  local.dir = g_dir_make_tmp ("waybill-console-local-XXXXXX", &error);
  g_assert_no_error (error);
  /* As root the embedded PostgreSQL runs as postgres, who must pass. */
  g_chmod (local.dir, 0711);
  dir_arg = g_strconcat ("--local-dir=", local.dir, NULL);
  for (local.round = 0; local.round < 2; local.round++)
    {
      g_autoptr(WbApplication) application = wb_application_new ();
      const char *argv[] = { "waybill", "--local", dir_arg, "--tiles", "none", NULL };
      WbLocalServer *server;

      local.done = FALSE;
      g_signal_connect_after (application, "activate", G_CALLBACK (run_local_scenario), &local);
      g_assert_cmpint (g_application_run (G_APPLICATION (application), G_N_ELEMENTS (argv) - 1, (char **) argv), ==, 0);
      g_assert_true (local.done);
      /* Quitting stopped it. */
      server = wb_application_get_local_server (application);
      g_assert_cmpint (wb_local_server_get_state (server), ==, WB_LOCAL_SERVER_STOPPED);
      {
        g_autofree char *log = wb_local_server_dup_log (server);

        g_assert_nonnull (strstr (log, "Stopped"));
      }
    }
  g_assert_nonnull (strstr (local.company_seen, "Field Office"));
  g_free (local.company_seen);
  {
    const char *rm[] = { "rm", "-rf", local.dir, NULL };

    g_assert_true (g_spawn_sync (NULL, (char **) rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL));
  }
  g_free (local.dir);
}

/* ---- alerts: an SLA breach and a vehicle gone silent -------------------------- */

static WbAlert *
find_alert (WbAlertCenter *center,
            const char    *kind)
{
  GListModel *alerts = wb_alert_center_get_alerts (center);

  for (guint i = 0; i < g_list_model_get_n_items (alerts); i++)
    {
      g_autoptr(WbAlert) alert = g_list_model_get_item (alerts, i);

      if (g_strcmp0 (wb_alert_get_kind (alert), kind) == 0)
        return alert;
    }
  return NULL;
}

static void
run_alerts_scenario (GApplication *application,
                     Live         *live)
{
  GtkWidget *window = GTK_WIDGET (gtk_application_get_active_window (GTK_APPLICATION (application)));
  WbAlertCenter *center = wb_application_get_alert_center (WB_APPLICATION (application));
  WbAlertsButton *button = WB_ALERTS_BUTTON (find_child (window, WB_TYPE_ALERTS_BUTTON, NULL));
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr(GDateTime) soon = g_date_time_add_seconds (now, 1);
  g_autofree char *promised = g_date_time_format (soon, "%Y-%m-%dT%H:%M:%SZ");
  g_autofree char *shipment = g_strdup_printf (
    "{\"clientId\":\"acme\",\"serviceLevel\":\"standard\",\"reference\":\"ORD-9\",\"promisedAt\":\"%s\","
    "\"recipient\":{\"name\":\"Ann Smith\",\"phone\":\"+375291234567\"},"
    "\"destination\":{\"country\":\"BY\",\"city\":\"Minsk\",\"line1\":\"Nezavisimosti 1\"}}", promised);
  WbAlert *sla, *offline;
  GtkWidget *list;

  g_assert_nonnull (button);
  WAIT_FOR (wb_window_get_connection_state (WB_WINDOW (window)) == WB_CONNECTION_LIVE);
  /* Names come from the directory, read on connecting. */
  WAIT_FOR (wb_trips_view_get_directory (WB_TRIPS_VIEW (find_child (window, WB_TYPE_TRIPS_VIEW, NULL))) != NULL);
  g_assert_cmpstr (wb_alerts_button_get_badge (button), ==, "");

  /* A vehicle reports once, then falls silent past the offline time; a
   * shipment's promise passes. Both become alerts, unread, as toasts. */
  post_position_accepted (live, 1, 53.90, 27.56);
  g_assert_cmpuint (http (live, "POST", "/shipments", live->dispatcher, shipment), ==, 201);
  WAIT_FOR (find_alert (center, "sla") != NULL && find_alert (center, "device") != NULL);
  sla = find_alert (center, "sla");
  offline = find_alert (center, "device");
  g_assert_nonnull (strstr (wb_alert_get_body (sla), "acme"));
  /* The vehicle by its plate, from the directory. */
  g_assert_nonnull (strstr (wb_alert_get_body (offline), "0001 AB-7"));
  g_assert_cmpuint (wb_alert_center_get_unread (center), ==, 2);
  g_assert_cmpstr (wb_alerts_button_get_badge (button), ==, "2");

  /* The list, one acknowledged by its own button, then all. */
  gtk_menu_button_popup (GTK_MENU_BUTTON (find_child (GTK_WIDGET (button), GTK_TYPE_MENU_BUTTON, NULL)));
  wait_frames (window, 3);
  list = find_named (GTK_WIDGET (button), "alerts-list");
  g_assert_nonnull (list);
  g_assert_cmpuint (count_children (list), ==, 2);
  save_screenshot (window, "console-alerts.png");
  wb_alert_set_read (sla, TRUE);
  g_assert_cmpstr (wb_alerts_button_get_badge (button), ==, "1");
  g_signal_emit_by_name (find_named (GTK_WIDGET (button), "mark-all-read"), "clicked");
  g_assert_cmpuint (wb_alert_center_get_unread (center), ==, 0);
  g_assert_cmpstr (wb_alerts_button_get_badge (button), ==, "");

  /* The overview counts what the alerts were about: the silent vehicle
   * offline, the one open shipment overdue; its count opens the overdue
   * shipments. */
  {
    WbOverviewView *overview = WB_OVERVIEW_VIEW (find_child (window, WB_TYPE_OVERVIEW_VIEW, NULL));
    AdwViewStack *stack = ADW_VIEW_STACK (find_child (window, ADW_TYPE_VIEW_STACK, NULL));
    WbShipmentsView *shipments = WB_SHIPMENTS_VIEW (find_child (window, WB_TYPE_SHIPMENTS_VIEW, NULL));

    g_assert_true (gtk_widget_activate_action (window, "win.show-view", "s", "overview"));
    wait_frames (window, 2);
    WAIT_FOR (!wb_overview_view_get_loading (overview)
              && wb_overview_view_get_count (overview, "shipments-overdue") != NULL
              && wb_overview_view_get_count (overview, "vehicles-offline") != NULL
              && wb_overview_view_get_count (overview, "carrier-CDEK") != NULL);
    g_assert_cmpstr (wb_overview_view_get_count (overview, "shipments-open"), ==, "1");
    g_assert_cmpstr (wb_overview_view_get_count (overview, "shipments-overdue"), ==, "1");
    g_assert_cmpstr (wb_overview_view_get_count (overview, "shipments-PENDING"), ==, "1");
    g_assert_cmpstr (wb_overview_view_get_count (overview, "vehicles-offline"), ==, "1");
    g_assert_cmpstr (wb_overview_view_get_count (overview, "vehicles-online"), ==, "0");
    wait_frames (window, 3);
    save_screenshot (window, "console-overview.png");
    g_assert_cmpuint (assert_controls_named (GTK_WIDGET (overview)), >=, 6);
    g_signal_emit_by_name (find_named (GTK_WIDGET (overview), "shipments-overdue"), "clicked");
    g_assert_cmpstr (adw_view_stack_get_visible_child_name (stack), ==, "shipments");
    wait_settled (shipments);
    g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (wb_shipments_view_get_results (shipments))), ==, 1);
    g_assert_true (gtk_check_button_get_active (GTK_CHECK_BUTTON (find_named (GTK_WIDGET (shipments), "overdue"))));
  }

  /* The units setting reaches every speed and distance drawn from then on. */
  {
    g_autoptr(GSettings) settings = g_settings_new ("org.waybill.Waybill");
    g_autofree char *mph = NULL;
    g_autofree char *feet = NULL;
    g_autofree char *miles = NULL;
    g_autofree char *kmh = NULL;
    g_autofree char *km = NULL;

    g_settings_set_enum (settings, "units", 1);
    WAIT_FOR (wb_units_get_imperial ());
    mph = wb_units_format_speed (42);
    feet = wb_units_format_distance (100);
    miles = wb_units_format_distance (2000);
    g_assert_cmpstr (mph, ==, "26 mph");
    g_assert_cmpstr (feet, ==, "328 ft");
    g_assert_cmpstr (miles, ==, "1.2 mi");
    g_settings_set_enum (settings, "units", 0);
    WAIT_FOR (!wb_units_get_imperial ());
    kmh = wb_units_format_speed (42);
    km = wb_units_format_distance (2000);
    g_assert_cmpstr (kmh, ==, "42 km/h");
    g_assert_cmpstr (km, ==, "2.0 km");
  }

  live->done = TRUE;
  g_application_quit (application);
}

static void
test_alerts (void)
{
  Live live = { 0 };
  g_autoptr(WbApplication) application = NULL;
  g_autofree char *token_file = NULL;
  g_autofree char *server = NULL;
  const char *args[] = { "--offline-after=2s", "--overdue-check-interval=1s", NULL };
  int status;

  live.conninfo = wb_test_pg_create_database ("console_alerts");
  live.daemon = start_daemon_args (live.conninfo, 0, TRUE, args);
  live.port = wb_test_daemon_port (live.daemon);
  live.session = soup_session_new_with_options ("timeout", 30, NULL);
  live.admin = wb_jwt_sign ((const guint8 *) SECRET, strlen (SECRET), "admin", WB_ACCESS_ROLE_ADMIN,
                            g_get_real_time () / G_USEC_PER_SEC, 3600);
  live.dispatcher = wb_jwt_sign ((const guint8 *) SECRET, strlen (SECRET), "dispatcher", WB_ACCESS_ROLE_DISPATCHER,
                                 g_get_real_time () / G_USEC_PER_SEC, 3600);
  live.next_fix = g_get_real_time () / 1000 - 1000;
  register_fleet (&live);
  token_file = g_build_filename (g_get_tmp_dir (), "waybill-console-alerts-token", NULL);
  g_assert_true (g_file_set_contents (token_file, live.dispatcher, -1, NULL));
  server = g_strdup_printf ("http://127.0.0.1:%u", live.port);
  {
    const char *argv[] = { "waybill", "--server", server, "--tiles", "none", "--token-file", token_file, NULL };

    application = wb_application_new ();
    g_signal_connect_after (application, "activate", G_CALLBACK (run_alerts_scenario), &live);
    status = g_application_run (G_APPLICATION (application), G_N_ELEMENTS (argv) - 1, (char **) argv);
  }
  g_assert_cmpint (status, ==, 0);
  g_assert_true (live.done);
  g_unlink (token_file);
  g_assert_cmpint (wb_test_daemon_terminate (live.daemon), ==, 0);
  wb_test_daemon_free (live.daemon);
  g_object_unref (live.session);
  g_free (live.admin);
  g_free (live.dispatcher);
  g_free (live.conninfo);
}

int
main (int   argc,
      char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();
  wb_console_init ();
  load_style ();

  g_test_add ("/console/filter-counts", Fixture, "fleet", setup, test_filter_counts, teardown);
  g_test_add ("/console/map-filtered-only", Fixture, "fleet", setup, test_map_filtered_only, teardown);
  g_test_add ("/console/selection/list-to-map", Fixture, "fleet", setup, test_selection_list_to_map, teardown);
  g_test_add ("/console/selection/map-to-list", Fixture, "fleet", setup, test_selection_map_to_list, teardown);
  g_test_add ("/console/follow", Fixture, "fleet", setup, test_follow_mode, teardown);
  g_test_add ("/console/accessibility", Fixture, "fleet", setup, test_accessibility, teardown);
  g_test_add ("/console/connection-strip", Fixture, "fleet", setup, test_connection_strip, teardown);
  g_test_add ("/console/replay-clock", Fixture, "fleet", setup, test_replay_clock, teardown);
  g_test_add_func ("/console/age", test_format_age);
  g_test_add ("/console/screenshot/fleet", Fixture, "fleet", setup, test_screenshot_fleet, teardown);
  g_test_add_func ("/console/first-run", test_first_run);
  g_test_add_func ("/console/live", test_live);
  g_test_add_func ("/console/shipments", test_shipments);
  g_test_add_func ("/console/trips", test_trips);
  g_test_add_func ("/console/trackings", test_trackings);
  g_test_add_func ("/console/local-mode", test_local_mode);
  g_test_add_func ("/console/alerts", test_alerts);
  return g_test_run ();
}
