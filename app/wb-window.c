// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include <glib/gi18n.h>

#include <shumate/shumate.h>

#include "wb-application.h"
#include "wb-graticule-layer.h"
#include "wb-location-stream.h"
#include "wb-map-init.h"
#include "wb-subscription-layer.h"
#include "wb-tile-source.h"
#include "wb-track-layer.h"
#include "wb-vehicle-layer.h"
#include "wb-first-run-page.h"
#include "wb-shipments-view.h"
#include "wb-alerts-button.h"
#include "wb-overview-view.h"
#include "wb-trackings-view.h"
#include "wb-trips-view.h"
#include "wb-vehicle-filter.h"
#include "wb-vehicle-panel.h"
#include "wb-vehicle-row.h"
#include "wb-window.h"

/* Counts and the state filter follow vehicles' changes at most this often:
 * thousands of vehicles report every second, recounting each time would
 * cost more than the drawing. */
#define RECOUNT_INTERVAL_MS 250

struct _WbWindow
{
  AdwApplicationWindow  parent_instance;

  GSettings            *settings;
  WbVehicleModel       *model;
  WbVehicleFilter      *filter;
  GtkFilterListModel   *filter_model;
  GtkSortListModel     *sort_model;
  GtkSingleSelection   *selection;
  GHashTable           *watched;          /* WbClientVehicle → notify handler id */
  guint                 recount_source;
  gboolean              refilter_pending;  /* a vehicle changed since the last recount */
  guint                 state_counts[3];
  GHashTable           *company_counts;   /* company id → count */
  /* company id → name, of every company seen since connecting: with one
   * company chosen the stream carries only its vehicles, and the others
   * stay in the drop-down to choose. */
  GHashTable           *company_names;
  GPtrArray            *company_ids;      /* dropdown position → id; 0 is "all" (NULL) */
  gboolean              updating_companies;

  WbClientVehicle      *selected;
  gulong                selected_notify_id;
  gboolean              selecting_from_map;
  WbConnectionState     connection_state;
  char                 *tiles;

  WbTileSource         *tile_source;
  WbGraticuleLayer     *graticule;
  WbTrackLayer         *track_layer;
  WbVehicleLayer       *vehicle_layer;
  WbSubscriptionLayer  *subscription;
  WbClient             *client;
  WbLocationStream     *stream;

  GtkStack             *main_stack;
  WbFirstRunPage       *first_run_page;
  AdwViewSwitcherTitle *window_title;
  AdwViewStack         *view_stack;
  WbShipmentsView      *shipments_view;
  WbTripsView          *trips_view;
  WbTrackingsView      *trackings_view;
  WbOverviewView       *overview_view;
  WbAlertsButton       *alerts_button;
  AdwToastOverlay      *alert_toasts;
  WbAlertCenter        *alert_center;
  gboolean              last_alert_notified;
  GtkWidget            *sidebar_button;
  GtkWidget            *follow_button;
  AdwToastOverlay      *toast_overlay;
  AdwFlap              *flap;
  GtkSearchEntry       *search_entry;
  GtkToggleButton      *moving_button;
  GtkToggleButton      *stopped_button;
  GtkToggleButton      *offline_button;
  GtkDropDown          *company_dropdown;
  GtkStringList        *company_labels;
  GtkLabel             *count_label;
  GtkListView          *list_view;
  ShumateSimpleMap     *map;
  GtkRevealer          *connection_revealer;
  GtkSpinner           *connection_spinner;
  GtkLabel             *connection_label;
  GtkRevealer          *panel_revealer;
  WbVehiclePanel       *panel;
};

enum
{
  PROP_0,
  PROP_MODEL,
  PROP_SETTINGS,
  PROP_SHOW_MOVING,
  PROP_SHOW_STOPPED,
  PROP_SHOW_OFFLINE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (WbWindow, wb_window, ADW_TYPE_APPLICATION_WINDOW)

static const char * const state_titles[] = { N_("Moving"), N_("Stopped"), N_("Offline") };

/* ---- counts ------------------------------------------------------------- */

static void
update_state_buttons (WbWindow *self)
{
  GtkToggleButton *buttons[] = { self->moving_button, self->stopped_button, self->offline_button };

  for (guint i = 0; i < G_N_ELEMENTS (buttons); i++)
    {
      g_autofree char *label = g_strdup_printf ("%s %u", _(state_titles[i]), self->state_counts[i]);

      gtk_button_set_label (GTK_BUTTON (buttons[i]), label);
    }
}

static char *
company_label (WbWindow   *self,
               const char *company_id,
               const char *name)
{
  guint count = GPOINTER_TO_UINT (g_hash_table_lookup (self->company_counts, company_id));

  return g_strdup_printf ("%s (%u)", name ? name : company_id, count);
}

static gboolean
same_strings (GtkStringList *list,
              GPtrArray     *strings)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (list));

  if (n + 1 != strings->len)
    return FALSE;
  for (guint i = 0; i < n; i++)
    if (g_strcmp0 (gtk_string_list_get_string (list, i), g_ptr_array_index (strings, i)) != 0)
      return FALSE;
  return TRUE;
}

static void
update_company_dropdown (WbWindow   *self,
                         GHashTable *names,
                         guint       any_count)
{
  const char *chosen = wb_vehicle_filter_get_company_id (self->filter);
  g_autofree char *keep = g_strdup (chosen);
  g_autoptr(GPtrArray) labels = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GList) ids = g_list_sort (g_hash_table_get_keys (names), (GCompareFunc) g_strcmp0);
  guint selected = 0;

  self->updating_companies = TRUE;
  g_ptr_array_set_size (self->company_ids, 0);
  g_ptr_array_add (self->company_ids, NULL);
  g_ptr_array_add (labels, g_strdup_printf (_("All companies (%u)"), any_count));
  for (GList *l = ids; l != NULL; l = l->next)
    {
      if (g_strcmp0 (keep, l->data) == 0)
        selected = self->company_ids->len;
      g_ptr_array_add (self->company_ids, g_strdup (l->data));
      g_ptr_array_add (labels, company_label (self, l->data, g_hash_table_lookup (names, l->data)));
    }
  g_ptr_array_add (labels, NULL);
  if (!same_strings (self->company_labels, labels))
    gtk_string_list_splice (self->company_labels, 0, g_list_model_get_n_items (G_LIST_MODEL (self->company_labels)),
                            (const char * const *) labels->pdata);
  if (gtk_drop_down_get_selected (self->company_dropdown) != selected)
    gtk_drop_down_set_selected (self->company_dropdown, selected);
  self->updating_companies = FALSE;
}

static void
count_vehicle (WbWindow        *self,
               WbClientVehicle *vehicle,
               GHashTable      *names,
               guint           *any_company)
{
  const WbLiveVehicle *state = wb_client_vehicle_get_state (vehicle);

  if (wb_vehicle_filter_match_except (self->filter, vehicle, WB_VEHICLE_FACET_STATE))
    self->state_counts[state->state]++;
  if (state->company_id != NULL)
    g_hash_table_insert (names, g_strdup (state->company_id), g_strdup (wb_client_vehicle_get_company_name (vehicle)));
  if (!wb_vehicle_filter_match_except (self->filter, vehicle, WB_VEHICLE_FACET_COMPANY))
    return;
  (*any_company)++;
  if (state->company_id != NULL)
    {
      guint count = GPOINTER_TO_UINT (g_hash_table_lookup (self->company_counts, state->company_id));

      g_hash_table_insert (self->company_counts, g_strdup (state->company_id), GUINT_TO_POINTER (count + 1));
    }
}

void
wb_window_update_counts (WbWindow *self)
{
  GHashTable *names = self->company_names;
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->model));
  guint any_company = 0;
  g_autofree char *shown = NULL;

  g_return_if_fail (WB_IS_WINDOW (self));

  g_clear_handle_id (&self->recount_source, g_source_remove);
  memset (self->state_counts, 0, sizeof self->state_counts);
  g_hash_table_remove_all (self->company_counts);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(WbClientVehicle) vehicle = g_list_model_get_item (G_LIST_MODEL (self->model), i);

      count_vehicle (self, vehicle, names, &any_company);
    }
  update_state_buttons (self);
  update_company_dropdown (self, names, any_company);
  shown = g_strdup_printf (_("%u of %u vehicles"), g_list_model_get_n_items (G_LIST_MODEL (self->filter_model)), n);
  gtk_label_set_text (self->count_label, shown);
}

static gboolean
on_recount (gpointer user_data)
{
  WbWindow *self = user_data;

  self->recount_source = 0;
  /* A vehicle that changed state may now pass or fail the filter. */
  if (self->refilter_pending && gtk_filter_get_strictness (GTK_FILTER (self->filter)) == GTK_FILTER_MATCH_SOME)
    gtk_filter_changed (GTK_FILTER (self->filter), GTK_FILTER_CHANGE_DIFFERENT);
  self->refilter_pending = FALSE;
  wb_window_update_counts (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_recount (WbWindow *self)
{
  if (self->recount_source == 0)
    self->recount_source = g_timeout_add (RECOUNT_INTERVAL_MS, on_recount, self);
}

/* ---- watching the model's vehicles -------------------------------------- */

static void
on_vehicle_notify (WbWindow *self)
{
  self->refilter_pending = TRUE;
  schedule_recount (self);
}

static void
unwatch (gpointer key,
         gpointer value,
         gpointer user_data)
{
  g_signal_handler_disconnect (key, GPOINTER_TO_SIZE (value));
}

static gboolean
unwatch_if_gone (gpointer key,
                 gpointer value,
                 gpointer user_data)
{
  GHashTable *present = user_data;

  if (g_hash_table_contains (present, key))
    return FALSE;
  unwatch (key, value, NULL);
  g_object_unref (key);
  return TRUE;
}

static void
watch_range (WbWindow *self,
             guint     position,
             guint     added)
{
  for (guint i = position; i < position + added; i++)
    {
      WbClientVehicle *vehicle = g_list_model_get_item (G_LIST_MODEL (self->model), i);
      gulong id;

      if (g_hash_table_contains (self->watched, vehicle))
        {
          g_object_unref (vehicle);
          continue;
        }
      id = g_signal_connect_swapped (vehicle, "notify", G_CALLBACK (on_vehicle_notify), self);
      g_hash_table_insert (self->watched, vehicle, GSIZE_TO_POINTER (id));
    }
}

static void
unwatch_removed (WbWindow *self)
{
  g_autoptr(GHashTable) present = g_hash_table_new (NULL, NULL);
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->model));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GObject) item = g_list_model_get_item (G_LIST_MODEL (self->model), i);

      g_hash_table_add (present, item);
    }
  g_hash_table_foreach_remove (self->watched, unwatch_if_gone, present);
}

static void
on_model_items_changed (WbWindow   *self,
                        guint       position,
                        guint       removed,
                        guint       added,
                        GListModel *model)
{
  if (removed > 0)
    unwatch_removed (self);
  watch_range (self, position, added);
  if (self->selected != NULL && wb_vehicle_model_find (self->model, wb_client_vehicle_get_id (self->selected)) == G_MAXUINT)
    wb_window_select_vehicle (self, NULL);
  schedule_recount (self);
}

static void
clear_watched (WbWindow *self)
{
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, self->watched);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      unwatch (key, value, NULL);
      g_object_unref (key);
      g_hash_table_iter_remove (&iter);
    }
}

/* ---- selection ---------------------------------------------------------- */

static void
center_on_selected (WbWindow *self)
{
  ShumateMap *map = shumate_simple_map_get_map (self->map);

  if (self->selected == NULL)
    return;
  shumate_map_center_on (map, wb_client_vehicle_get_latitude (self->selected),
                         wb_client_vehicle_get_longitude (self->selected));
}

static gboolean
following (WbWindow *self)
{
  return g_settings_get_boolean (self->settings, "follow");
}

static void
on_selected_changed (WbWindow *self)
{
  if (following (self))
    center_on_selected (self);
}

static void
set_selected (WbWindow        *self,
              WbClientVehicle *vehicle)
{
  if (self->selected == vehicle)
    return;
  g_clear_signal_handler (&self->selected_notify_id, self->selected);
  g_set_object (&self->selected, vehicle);
  if (vehicle != NULL)
    self->selected_notify_id = g_signal_connect_swapped (vehicle, "notify::state",
                                                         G_CALLBACK (on_selected_changed), self);
  wb_vehicle_panel_set_vehicle (self->panel, vehicle);
  wb_vehicle_layer_set_selected (self->vehicle_layer, vehicle);
  gtk_revealer_set_reveal_child (self->panel_revealer, vehicle != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.unselect", vehicle != NULL);
}

static void
on_list_selection (WbWindow *self)
{
  WbClientVehicle *vehicle = gtk_single_selection_get_selected_item (self->selection);

  if (vehicle == NULL)
    {
      /* Filtering the selected row away keeps the panel open. */
      return;
    }
  set_selected (self, vehicle);
  if (!self->selecting_from_map)
    center_on_selected (self);
}

static guint
list_position_of (WbWindow        *self,
                  WbClientVehicle *vehicle)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->selection));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(WbClientVehicle) item = g_list_model_get_item (G_LIST_MODEL (self->selection), i);

      if (item == vehicle)
        return i;
    }
  return GTK_INVALID_LIST_POSITION;
}

void
wb_window_select_vehicle (WbWindow   *self,
                          const char *vehicle_id)
{
  WbClientVehicle *vehicle;
  guint position;

  g_return_if_fail (WB_IS_WINDOW (self));

  vehicle = vehicle_id ? wb_vehicle_model_lookup (self->model, vehicle_id) : NULL;
  position = vehicle ? list_position_of (self, vehicle) : GTK_INVALID_LIST_POSITION;
  self->selecting_from_map = TRUE;
  gtk_single_selection_set_selected (self->selection, position);
  self->selecting_from_map = FALSE;
  set_selected (self, vehicle);
  if (position != GTK_INVALID_LIST_POSITION)
    gtk_widget_activate_action (GTK_WIDGET (self->list_view), "list.scroll-to-item", "u", position);
}

WbClientVehicle *
wb_window_get_selected (WbWindow *self)
{
  g_return_val_if_fail (WB_IS_WINDOW (self), NULL);
  return self->selected;
}

/* ---- the list ----------------------------------------------------------- */

static void
on_row_setup (GtkSignalListItemFactory *factory,
              GtkListItem              *item)
{
  gtk_list_item_set_child (item, wb_vehicle_row_new ());
}

static void
on_row_bind (GtkSignalListItemFactory *factory,
             GtkListItem              *item)
{
  wb_vehicle_row_set_vehicle (WB_VEHICLE_ROW (gtk_list_item_get_child (item)), gtk_list_item_get_item (item));
}

static void
on_row_unbind (GtkSignalListItemFactory *factory,
               GtkListItem              *item)
{
  wb_vehicle_row_set_vehicle (WB_VEHICLE_ROW (gtk_list_item_get_child (item)), NULL);
}

static int
compare_vehicles (gconstpointer a,
                  gconstpointer b,
                  gpointer      user_data)
{
  g_autofree char *title_a = wb_vehicle_title ((WbClientVehicle *) a);
  g_autofree char *title_b = wb_vehicle_title ((WbClientVehicle *) b);

  return g_utf8_collate (title_a, title_b);
}

static void
setup_list (WbWindow *self)
{
  g_autoptr(GtkListItemFactory) factory = gtk_signal_list_item_factory_new ();
  g_autoptr(GtkCustomSorter) sorter = gtk_custom_sorter_new (compare_vehicles, NULL, NULL);

  self->filter_model = gtk_filter_list_model_new (g_object_ref (G_LIST_MODEL (self->model)),
                                                  g_object_ref (GTK_FILTER (self->filter)));
  self->sort_model = gtk_sort_list_model_new (g_object_ref (G_LIST_MODEL (self->filter_model)),
                                              g_object_ref (GTK_SORTER (sorter)));
  self->selection = gtk_single_selection_new (g_object_ref (G_LIST_MODEL (self->sort_model)));
  gtk_single_selection_set_autoselect (self->selection, FALSE);
  gtk_single_selection_set_can_unselect (self->selection, TRUE);
  gtk_single_selection_set_selected (self->selection, GTK_INVALID_LIST_POSITION);
  g_signal_connect_swapped (self->selection, "notify::selected-item", G_CALLBACK (on_list_selection), self);
  g_signal_connect (factory, "setup", G_CALLBACK (on_row_setup), NULL);
  g_signal_connect (factory, "bind", G_CALLBACK (on_row_bind), NULL);
  g_signal_connect (factory, "unbind", G_CALLBACK (on_row_unbind), NULL);
  gtk_list_view_set_factory (self->list_view, factory);
  gtk_list_view_set_model (self->list_view, GTK_SELECTION_MODEL (self->selection));
  g_signal_connect_object (self->model, "items-changed", G_CALLBACK (on_model_items_changed), self, G_CONNECT_SWAPPED);
  watch_range (self, 0, g_list_model_get_n_items (G_LIST_MODEL (self->model)));
  wb_window_update_counts (self);
  wb_overview_view_set_model (self->overview_view, self->model);
}

static void
on_search_changed (WbWindow *self)
{
  wb_vehicle_filter_set_search (self->filter, gtk_editable_get_text (GTK_EDITABLE (self->search_entry)));
  wb_window_update_counts (self);
}

static void
on_company_selected (WbWindow *self)
{
  guint selected = gtk_drop_down_get_selected (self->company_dropdown);

  if (self->updating_companies || selected >= self->company_ids->len)
    return;
  wb_vehicle_filter_set_company_id (self->filter, g_ptr_array_index (self->company_ids, selected));
  /* Company counts leave the company filter out, so this recount keeps
   * the dropdown's own model as it is. */
  wb_window_update_counts (self);
}

GListModel *
wb_window_get_list_model (WbWindow *self)
{
  g_return_val_if_fail (WB_IS_WINDOW (self), NULL);
  return G_LIST_MODEL (self->selection);
}

guint
wb_window_get_state_count (WbWindow    *self,
                           WbLiveState  state)
{
  g_return_val_if_fail (WB_IS_WINDOW (self), 0);
  g_return_val_if_fail (state <= WB_LIVE_STATE_OFFLINE, 0);
  return self->state_counts[state];
}

guint
wb_window_get_company_count (WbWindow   *self,
                             const char *company_id)
{
  g_return_val_if_fail (WB_IS_WINDOW (self), 0);
  return GPOINTER_TO_UINT (g_hash_table_lookup (self->company_counts, company_id));
}

/* ---- state filter properties (their actions drive the toggle buttons) --- */

static gboolean
shows_state (WbWindow    *self,
             WbLiveState  state)
{
  return (wb_vehicle_filter_get_states (self->filter) & (1u << state)) != 0;
}

static void
set_shows_state (WbWindow    *self,
                 WbLiveState  state,
                 gboolean     shown)
{
  guint states = wb_vehicle_filter_get_states (self->filter);

  if (shows_state (self, state) == shown)
    return;
  wb_vehicle_filter_set_states (self->filter, shown ? states | (1u << state) : states & ~(1u << state));
  wb_window_update_counts (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SHOW_MOVING + state]);
}

/* ---- connection state and map ------------------------------------------- */

void
wb_window_set_connection_state (WbWindow          *self,
                                WbConnectionState  state,
                                const char        *detail)
{
  const char *text = NULL;
  g_autofree char *full = NULL;

  g_return_if_fail (WB_IS_WINDOW (self));

  self->connection_state = state;
  switch (state)
    {
    case WB_CONNECTION_DISCONNECTED:
      text = _("Not connected");
      break;
    case WB_CONNECTION_CONNECTING:
      text = _("Connecting…");
      break;
    case WB_CONNECTION_RECONNECTING:
      text = _("Connection lost, reconnecting: the map is stale");
      break;
    case WB_CONNECTION_LIVE:
    default:
      text = _("Live");
      break;
    }
  full = detail ? g_strdup_printf ("%s\n%s", text, detail) : g_strdup (text);
  gtk_label_set_text (self->connection_label, full);
  gtk_spinner_set_spinning (self->connection_spinner, state == WB_CONNECTION_CONNECTING
                                                      || state == WB_CONNECTION_RECONNECTING);
  gtk_revealer_set_reveal_child (self->connection_revealer, state != WB_CONNECTION_LIVE);
  if (state == WB_CONNECTION_RECONNECTING)
    gtk_widget_add_css_class (GTK_WIDGET (self->connection_revealer), "stale");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->connection_revealer), "stale");
}

WbConnectionState
wb_window_get_connection_state (WbWindow *self)
{
  g_return_val_if_fail (WB_IS_WINDOW (self), WB_CONNECTION_DISCONNECTED);
  return self->connection_state;
}

/* The graticule stands in for tiles: always with "none", and while the
 * tile server is unreachable. */
static void
update_graticule (WbWindow *self)
{
  gboolean plain = self->tile_source == NULL || wb_tile_source_is_none (self->tile_source)
                   || !wb_tile_source_get_reachable (self->tile_source);

  gtk_widget_set_visible (GTK_WIDGET (self->graticule), plain);
}

void
wb_window_set_tiles (WbWindow   *self,
                     const char *tiles)
{
  g_autoptr(ShumateMapSource) source = NULL;

  g_return_if_fail (WB_IS_WINDOW (self));

  g_free (self->tiles);
  self->tiles = g_strdup (tiles);
  if (self->tile_source != NULL)
    g_signal_handlers_disconnect_by_data (self->tile_source, self);
  g_clear_object (&self->tile_source);
  self->tile_source = wb_tile_source_new (tiles != NULL && *tiles != '\0' ? tiles : "none");
  g_signal_connect_swapped (self->tile_source, "notify::reachable", G_CALLBACK (update_graticule), self);
  /* Even "none" gives the viewport its projection, for the layers and the
   * scale; its tiles fail at once without a request. */
  source = wb_tile_source_create_map_source (self->tile_source);
  shumate_simple_map_set_map_source (self->map, source);
  wb_trips_view_set_tiles (self->trips_view, self->tiles);
  wb_shipments_view_set_tiles (self->shipments_view, self->tiles);
  update_graticule (self);
}

/* ---- the map's layers --------------------------------------------------- */

static void
on_vehicle_activated (WbWindow        *self,
                      WbClientVehicle *vehicle)
{
  wb_window_select_vehicle (self, wb_client_vehicle_get_id (vehicle));
}

/* A click on a cluster zooms in on it. */
static void
on_cluster_activated (WbWindow *self,
                      double    latitude,
                      double    longitude,
                      guint     count)
{
  ShumateViewport *viewport = shumate_simple_map_get_viewport (self->map);

  shumate_viewport_set_zoom_level (viewport, shumate_viewport_get_zoom_level (viewport) + 2);
  shumate_map_center_on (shumate_simple_map_get_map (self->map), latitude, longitude);
}

static void
on_map_filtered_only_changed (WbWindow *self)
{
  gboolean filtered = g_settings_get_boolean (self->settings, "map-filtered-only");

  wb_vehicle_layer_set_filter (self->vehicle_layer, filtered ? GTK_FILTER (self->filter) : NULL);
}

static void
on_panel_track (WbWindow *self)
{
  WbClientTrack *track = wb_vehicle_panel_get_track (self->panel);
  g_autoptr(GArray) points = g_array_new (FALSE, FALSE, sizeof (WbTrackPoint));
  g_autoptr(GArray) trips = g_array_new (FALSE, FALSE, sizeof (WbTrackTrip));
  g_autoptr(GArray) stops = g_array_new (FALSE, FALSE, sizeof (WbTrackStop));

  if (track == NULL)
    {
      wb_track_layer_clear (self->track_layer);
      return;
    }
  for (guint i = 0; i < track->points->len; i++)
    {
      const WbClientTrackPoint *point = &g_array_index (track->points, WbClientTrackPoint, i);
      WbTrackPoint item = { point->lat, point->lon, point->time };

      g_array_append_val (points, item);
    }
  for (guint i = 0; i < track->trips->len; i++)
    {
      const WbClientTrackTrip *trip = &g_array_index (track->trips, WbClientTrackTrip, i);
      WbTrackTrip item = { trip->start.time, trip->end.time };

      g_array_append_val (trips, item);
    }
  for (guint i = 0; i < track->stops->len; i++)
    {
      const WbClientTrackStop *stop = &g_array_index (track->stops, WbClientTrackStop, i);
      WbTrackStop item = { stop->lat, stop->lon, stop->start, stop->end };

      g_array_append_val (stops, item);
    }
  wb_track_layer_set_track (self->track_layer, (WbTrackPoint *) (gpointer) points->data, points->len,
                            (WbTrackTrip *) (gpointer) trips->data, trips->len,
                            (WbTrackStop *) (gpointer) stops->data, stops->len);
}

static void
on_panel_replay_time (WbWindow *self)
{
  double latitude, longitude;

  wb_track_layer_set_replay_time (self->track_layer, wb_vehicle_panel_get_replay_time (self->panel));
  if (following (self) && wb_track_layer_get_replay_location (self->track_layer, &latitude, &longitude))
    shumate_map_center_on (shumate_simple_map_get_map (self->map), latitude, longitude);
}

static void
setup_map (WbWindow *self)
{
  ShumateViewport *viewport = shumate_simple_map_get_viewport (self->map);

  self->graticule = wb_graticule_layer_new (viewport);
  self->track_layer = wb_track_layer_new (viewport);
  self->vehicle_layer = wb_vehicle_layer_new (viewport);
  wb_vehicle_layer_set_model (self->vehicle_layer, G_LIST_MODEL (self->model));
  shumate_simple_map_add_overlay_layer (self->map, SHUMATE_LAYER (self->graticule));
  shumate_simple_map_add_overlay_layer (self->map, SHUMATE_LAYER (self->track_layer));
  shumate_simple_map_add_overlay_layer (self->map, SHUMATE_LAYER (self->vehicle_layer));
  /* The subscription follows the map's box and size and the company
   * chosen: the server sends only what the window can show. */
  self->subscription = wb_subscription_layer_new (viewport);
  shumate_simple_map_add_overlay_layer (self->map, SHUMATE_LAYER (self->subscription));
  g_object_bind_property (self->filter, "company-id", self->subscription, "company-id", G_BINDING_SYNC_CREATE);
  g_signal_connect_swapped (self->vehicle_layer, "vehicle-activated", G_CALLBACK (on_vehicle_activated), self);
  g_signal_connect_swapped (self->vehicle_layer, "cluster-activated", G_CALLBACK (on_cluster_activated), self);
  g_signal_connect_object (self->settings, "changed::map-filtered-only", G_CALLBACK (on_map_filtered_only_changed),
                           self, G_CONNECT_SWAPPED);
  on_map_filtered_only_changed (self);
  g_signal_connect_swapped (self->panel, "notify::track", G_CALLBACK (on_panel_track), self);
  g_signal_connect_swapped (self->panel, "notify::replay-time", G_CALLBACK (on_panel_replay_time), self);
  wb_window_set_tiles (self, "none");
}

/* ---- the live stream ---------------------------------------------------- */

static void
on_stream_state (WbWindow *self)
{
  const GError *error = wb_location_stream_get_error (self->stream);
  const char *detail = error ? error->message : NULL;

  switch (wb_location_stream_get_state (self->stream))
    {
    case WB_STREAM_STATE_CONNECTING:
      wb_window_set_connection_state (self, WB_CONNECTION_CONNECTING, NULL);
      break;
    case WB_STREAM_STATE_LIVE:
      wb_window_set_connection_state (self, WB_CONNECTION_LIVE, NULL);
      break;
    case WB_STREAM_STATE_RECONNECTING:
      wb_window_set_connection_state (self, WB_CONNECTION_RECONNECTING, detail);
      break;
    case WB_STREAM_STATE_DISCONNECTED:
    default:
      wb_window_set_connection_state (self, WB_CONNECTION_DISCONNECTED, detail);
      break;
    }
}

void
wb_window_set_stream (WbWindow         *self,
                      WbClient         *client,
                      WbLocationStream *stream)
{
  g_return_if_fail (WB_IS_WINDOW (self));
  g_return_if_fail (client == NULL || WB_IS_CLIENT (client));
  g_return_if_fail (stream == NULL || WB_IS_LOCATION_STREAM (stream));

  if (self->stream != NULL)
    g_signal_handlers_disconnect_by_data (self->stream, self);
  if (g_set_object (&self->client, client))
    g_hash_table_remove_all (self->company_names);
  g_set_object (&self->stream, stream);
  wb_vehicle_panel_set_client (self->panel, client);
  wb_shipments_view_set_client (self->shipments_view, client);
  wb_subscription_layer_set_stream (self->subscription, stream);
  wb_trips_view_set_client (self->trips_view, client);
  wb_trackings_view_set_client (self->trackings_view, client);
  wb_overview_view_set_client (self->overview_view, client);
  if (stream == NULL)
    return;
  g_signal_connect_swapped (stream, "notify::state", G_CALLBACK (on_stream_state), self);
  on_stream_state (self);
}

/* Which setting asks for a sound on an alert of @kind. */
static const char *
sound_key (const char *kind)
{
  if (g_strcmp0 (kind, "sla") == 0)
    return "alert-sound-sla";
  if (g_strcmp0 (kind, "device") == 0)
    return "alert-sound-device";
  if (g_strcmp0 (kind, "command") == 0)
    return "alert-sound-command";
  if (g_strcmp0 (kind, "carrier") == 0)
    return "alert-sound-carrier";
  return NULL;
}

/* Whether the session has a notification server: GApplication warns on
 * every notification otherwise (a bare X session, a test's bus). Asked
 * once. */
static gboolean
notifications_available (void)
{
  static gsize checked;
  static gboolean available;

  if (g_once_init_enter (&checked))
    {
      g_autoptr(GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, NULL);
      const char *names[] = { "org.gtk.Notifications", "org.freedesktop.Notifications" };

      /* In a Flatpak, GLib sends them through the notification portal. */
      available = g_file_test ("/.flatpak-info", G_FILE_TEST_EXISTS);

      for (guint i = 0; bus != NULL && !available && i < G_N_ELEMENTS (names); i++)
        {
          g_autoptr(GVariant) owned = g_dbus_connection_call_sync (bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                                                   "org.freedesktop.DBus", "NameHasOwner",
                                                                   g_variant_new ("(s)", names[i]),
                                                                   G_VARIANT_TYPE ("(b)"), G_DBUS_CALL_FLAGS_NONE,
                                                                   1000, NULL, NULL);
          g_autoptr(GVariant) activatable = NULL;

          if (owned != NULL)
            g_variant_get (owned, "(b)", &available);
          if (available)
            break;
          activatable = g_dbus_connection_call_sync (bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                                     "org.freedesktop.DBus", "ListActivatableNames", NULL,
                                                     G_VARIANT_TYPE ("(as)"), G_DBUS_CALL_FLAGS_NONE, 1000, NULL,
                                                     NULL);
          if (activatable != NULL)
            {
              g_autofree const char **list = NULL;

              g_variant_get (activatable, "(^a&s)", &list);
              available = list != NULL && g_strv_contains ((const char * const *) list, names[i]);
            }
        }
      g_once_init_leave (&checked, 1);
    }
  return available;
}

/* An alert as a toast; as a desktop notification too while the window
 * is not the one in use; and a sound for the kinds the user chose. */
static void
on_alert (WbWindow *self,
          WbAlert  *alert)
{
  g_autofree char *text = g_strdup_printf ("%s: %s", wb_alert_get_title (alert), wb_alert_get_body (alert));
  AdwToast *toast = adw_toast_new (text);
  const char *key = sound_key (wb_alert_get_kind (alert));
  GApplication *application = G_APPLICATION (gtk_window_get_application (GTK_WINDOW (self)));

  adw_toast_set_timeout (toast, 6);
  adw_toast_overlay_add_toast (self->alert_toasts, toast);
  self->last_alert_notified = FALSE;
  if (!gtk_window_is_active (GTK_WINDOW (self)) && application != NULL && notifications_available ())
    {
      g_autoptr(GNotification) notification = g_notification_new (wb_alert_get_title (alert));
      g_autofree char *id = g_strdup_printf ("alert-%s-%s", wb_alert_get_kind (alert),
                                             wb_alert_get_subject (alert) ?: "");

      g_notification_set_body (notification, wb_alert_get_body (alert));
      g_notification_set_priority (notification, G_NOTIFICATION_PRIORITY_HIGH);
      g_notification_set_default_action (notification, "app.activate");
      g_application_send_notification (application, id, notification);
      self->last_alert_notified = TRUE;
    }
  if (key != NULL && g_settings_get_boolean (self->settings, key))
    gdk_display_beep (gtk_widget_get_display (GTK_WIDGET (self)));
}

void
wb_window_set_alert_center (WbWindow      *self,
                            WbAlertCenter *center)
{
  g_return_if_fail (WB_IS_WINDOW (self));

  if (self->alert_center != NULL)
    g_signal_handlers_disconnect_by_data (self->alert_center, self);
  g_set_object (&self->alert_center, center);
  wb_alerts_button_set_center (self->alerts_button, center);
  if (center != NULL)
    g_signal_connect_swapped (center, "alert", G_CALLBACK (on_alert), self);
}

gboolean
wb_window_get_last_alert_notified (WbWindow *self)
{
  g_return_val_if_fail (WB_IS_WINDOW (self), FALSE);
  return self->last_alert_notified;
}

void
wb_window_set_directory (WbWindow    *self,
                         WbDirectory *directory)
{
  g_return_if_fail (WB_IS_WINDOW (self));
  wb_trips_view_set_directory (self->trips_view, directory);
}

void
wb_window_show_first_run (WbWindow *self)
{
  g_return_if_fail (WB_IS_WINDOW (self));
  gtk_stack_set_visible_child_name (self->main_stack, "first-run");
}

void
wb_window_show_fleet (WbWindow   *self,
                      const char *server_url)
{
  g_return_if_fail (WB_IS_WINDOW (self));
  adw_view_switcher_title_set_subtitle (self->window_title, server_url ? server_url : "");
  gtk_stack_set_visible_child_name (self->main_stack, "fleet");
}

WbVehicleModel *
wb_window_get_model (WbWindow *self)
{
  g_return_val_if_fail (WB_IS_WINDOW (self), NULL);
  return self->model;
}

/* ---- actions ------------------------------------------------------------ */

static void
search_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  WbWindow *self = WB_WINDOW (widget);

  if (g_strcmp0 (adw_view_stack_get_visible_child_name (self->view_stack), "shipments") == 0)
    return wb_shipments_view_focus_search (self->shipments_view);
  if (g_strcmp0 (adw_view_stack_get_visible_child_name (self->view_stack), "trips") == 0)
    return wb_trips_view_focus_search (self->trips_view);
  adw_flap_set_reveal_flap (self->flap, TRUE);
  gtk_widget_grab_focus (GTK_WIDGET (self->search_entry));
}

/* The overview's vehicle counts: the map with that state only ("all":
 * every state), the list shown. */
static void
show_vehicles_action (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *parameter)
{
  WbWindow *self = WB_WINDOW (widget);
  const char *state = g_variant_get_string (parameter, NULL);
  const char *names[] = { "moving", "stopped", "offline" };
  gboolean all = g_str_equal (state, "all");

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    set_shows_state (self, i, all || g_str_equal (state, names[i]));
  adw_view_stack_set_visible_child_name (self->view_stack, "map");
  adw_flap_set_reveal_flap (self->flap, TRUE);
}

/* The overview's shipment counts: the results of that status, or the
 * overdue ones ("overdue"; "": every open one). */
static void
show_shipments_action (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *parameter)
{
  WbWindow *self = WB_WINDOW (widget);
  const char *what = g_variant_get_string (parameter, NULL);
  gboolean overdue = g_str_equal (what, "overdue");

  adw_view_stack_set_visible_child_name (self->view_stack, "shipments");
  wb_shipments_view_search_status (self->shipments_view, overdue || *what == '\0' ? NULL : what, overdue);
}

static void
show_carriers_action (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *parameter)
{
  WbWindow *self = WB_WINDOW (widget);

  adw_view_stack_set_visible_child_name (self->view_stack, "trackings");
  wb_trackings_view_show_page (self->trackings_view, "carriers");
}

static void
show_view_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  WbWindow *self = WB_WINDOW (widget);
  const char *name = g_variant_get_string (parameter, NULL);

  if (adw_view_stack_get_child_by_name (self->view_stack, name) != NULL)
    adw_view_stack_set_visible_child_name (self->view_stack, name);
}

/* The list and follow buttons act on the map only. */
static void
on_view_changed (WbWindow *self)
{
  gboolean map = g_strcmp0 (adw_view_stack_get_visible_child_name (self->view_stack), "map") == 0;

  gtk_widget_set_visible (self->sidebar_button, map);
  gtk_widget_set_visible (self->follow_button, map);
}

static void
unselect_action (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  wb_window_select_vehicle (WB_WINDOW (widget), NULL);
}

static void
select_vehicle_action (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *parameter)
{
  wb_window_select_vehicle (WB_WINDOW (widget), g_variant_get_string (parameter, NULL));
}

static void
on_follow_changed (WbWindow *self)
{
  if (following (self))
    center_on_selected (self);
}

static void
on_first_run_connected (WbWindow   *self,
                        const char *url,
                        const char *token,
                        const char *role)
{
  GApplication *application = G_APPLICATION (gtk_window_get_application (GTK_WINDOW (self)));

  if (WB_IS_APPLICATION (application))
    wb_application_connect (WB_APPLICATION (application), url, token, TRUE);
}

static void
save_window_state (WbWindow *self)
{
  ShumateViewport *viewport = shumate_simple_map_get_viewport (self->map);
  int width, height;

  gtk_window_get_default_size (GTK_WINDOW (self), &width, &height);
  g_settings_delay (self->settings);
  g_settings_set_int (self->settings, "window-width", width);
  g_settings_set_int (self->settings, "window-height", height);
  g_settings_set_boolean (self->settings, "window-maximized", gtk_window_is_maximized (GTK_WINDOW (self)));
  g_settings_set_double (self->settings, "map-latitude", shumate_location_get_latitude (SHUMATE_LOCATION (viewport)));
  g_settings_set_double (self->settings, "map-longitude", shumate_location_get_longitude (SHUMATE_LOCATION (viewport)));
  g_settings_set_double (self->settings, "map-zoom", shumate_viewport_get_zoom_level (viewport));
  g_settings_apply (self->settings);
}

static gboolean
wb_window_close_request (GtkWindow *window)
{
  save_window_state (WB_WINDOW (window));
  return GTK_WINDOW_CLASS (wb_window_parent_class)->close_request (window);
}

static void
restore_window_state (WbWindow *self)
{
  ShumateViewport *viewport = shumate_simple_map_get_viewport (self->map);

  gtk_window_set_default_size (GTK_WINDOW (self), g_settings_get_int (self->settings, "window-width"),
                               g_settings_get_int (self->settings, "window-height"));
  if (g_settings_get_boolean (self->settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));
  shumate_viewport_set_zoom_level (viewport, g_settings_get_double (self->settings, "map-zoom"));
  shumate_map_center_on (shumate_simple_map_get_map (self->map), g_settings_get_double (self->settings, "map-latitude"),
                         g_settings_get_double (self->settings, "map-longitude"));
}

/* Settings that are toggles become stateful actions, so buttons, menus and
 * shortcuts share one state. */
static const char * const settings_actions[] = { "follow", "sidebar-visible", "map-filtered-only" };

static void
add_settings_actions (WbWindow *self)
{
  const char * const *keys = settings_actions;

  for (guint i = 0; i < G_N_ELEMENTS (settings_actions); i++)
    {
      g_autoptr(GAction) action = g_settings_create_action (self->settings, keys[i]);

      g_action_map_add_action (G_ACTION_MAP (self), action);
    }
  g_settings_bind (self->settings, "sidebar-visible", self->flap, "reveal-flap", G_SETTINGS_BIND_DEFAULT);
  g_signal_connect_object (self->settings, "changed::follow", G_CALLBACK (on_follow_changed), self, G_CONNECT_SWAPPED);
}

static void
wb_window_constructed (GObject *object)
{
  WbWindow *self = WB_WINDOW (object);

  G_OBJECT_CLASS (wb_window_parent_class)->constructed (object);

  g_assert (self->model != NULL);
  if (self->settings == NULL)
    self->settings = g_settings_new ("org.waybill.Waybill");
  setup_list (self);
  setup_map (self);
  wb_map_name_zoom_buttons (GTK_WIDGET (self->map));
  add_settings_actions (self);
  restore_window_state (self);
  wb_window_set_connection_state (self, WB_CONNECTION_DISCONNECTED, NULL);
}

/* ---- GObject ------------------------------------------------------------ */

static void
wb_window_dispose (GObject *object)
{
  WbWindow *self = WB_WINDOW (object);

  g_clear_handle_id (&self->recount_source, g_source_remove);
  if (self->watched != NULL)
    clear_watched (self);
  g_clear_signal_handler (&self->selected_notify_id, self->selected);
  g_clear_object (&self->selected);
  if (self->stream != NULL)
    g_signal_handlers_disconnect_by_data (self->stream, self);
  g_clear_object (&self->stream);
  g_clear_object (&self->client);
  if (self->alert_center != NULL)
    g_signal_handlers_disconnect_by_data (self->alert_center, self);
  g_clear_object (&self->alert_center);
  if (self->tile_source != NULL)
    g_signal_handlers_disconnect_by_data (self->tile_source, self);
  g_clear_object (&self->tile_source);
  /* A settings action outlives the window's action group otherwise, and
   * would tell the dead group about the next change of its key. */
  for (guint i = 0; i < G_N_ELEMENTS (settings_actions); i++)
    g_action_map_remove_action (G_ACTION_MAP (self), settings_actions[i]);
  gtk_widget_dispose_template (GTK_WIDGET (self), WB_TYPE_WINDOW);
  g_clear_object (&self->selection);
  g_clear_object (&self->sort_model);
  g_clear_object (&self->filter_model);
  g_clear_object (&self->filter);
  g_clear_object (&self->model);
  g_clear_object (&self->settings);
  G_OBJECT_CLASS (wb_window_parent_class)->dispose (object);
}

static void
wb_window_finalize (GObject *object)
{
  WbWindow *self = WB_WINDOW (object);

  g_clear_pointer (&self->watched, g_hash_table_unref);
  g_clear_pointer (&self->company_counts, g_hash_table_unref);
  g_clear_pointer (&self->company_names, g_hash_table_unref);
  g_clear_pointer (&self->company_ids, g_ptr_array_unref);
  g_clear_pointer (&self->tiles, g_free);
  G_OBJECT_CLASS (wb_window_parent_class)->finalize (object);
}

static void
wb_window_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  WbWindow *self = WB_WINDOW (object);

  switch (prop_id)
    {
    case PROP_MODEL:
      g_value_set_object (value, self->model);
      break;
    case PROP_SETTINGS:
      g_value_set_object (value, self->settings);
      break;
    case PROP_SHOW_MOVING:
    case PROP_SHOW_STOPPED:
    case PROP_SHOW_OFFLINE:
      g_value_set_boolean (value, shows_state (self, prop_id - PROP_SHOW_MOVING));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_window_set_property (GObject      *object,
                        guint         prop_id,
                        const GValue *value,
                        GParamSpec   *pspec)
{
  WbWindow *self = WB_WINDOW (object);

  switch (prop_id)
    {
    case PROP_MODEL:
      self->model = g_value_dup_object (value);
      break;
    case PROP_SETTINGS:
      self->settings = g_value_dup_object (value);
      break;
    case PROP_SHOW_MOVING:
    case PROP_SHOW_STOPPED:
    case PROP_SHOW_OFFLINE:
      set_shows_state (self, prop_id - PROP_SHOW_MOVING, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_window_class_init (WbWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->constructed = wb_window_constructed;
  object_class->dispose = wb_window_dispose;
  object_class->finalize = wb_window_finalize;
  object_class->get_property = wb_window_get_property;
  object_class->set_property = wb_window_set_property;
  window_class->close_request = wb_window_close_request;

  properties[PROP_MODEL] =
    g_param_spec_object ("model", NULL, NULL, WB_TYPE_VEHICLE_MODEL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SETTINGS] =
    g_param_spec_object ("settings", NULL, NULL, G_TYPE_SETTINGS,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SHOW_MOVING] =
    g_param_spec_boolean ("show-moving", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_SHOW_STOPPED] =
    g_param_spec_boolean ("show-stopped", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_SHOW_OFFLINE] =
    g_param_spec_boolean ("show-offline", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_install_action (widget_class, "win.search", NULL, search_action);
  gtk_widget_class_install_action (widget_class, "win.unselect", NULL, unselect_action);
  gtk_widget_class_install_action (widget_class, "win.select-vehicle", "s", select_vehicle_action);
  gtk_widget_class_install_property_action (widget_class, "win.show-moving", "show-moving");
  gtk_widget_class_install_property_action (widget_class, "win.show-stopped", "show-stopped");
  gtk_widget_class_install_property_action (widget_class, "win.show-offline", "show-offline");
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "win.unselect", NULL);
  gtk_widget_class_install_action (widget_class, "win.show-view", "s", show_view_action);
  gtk_widget_class_install_action (widget_class, "win.show-vehicles", "s", show_vehicles_action);
  gtk_widget_class_install_action (widget_class, "win.show-shipments", "s", show_shipments_action);
  gtk_widget_class_install_action (widget_class, "win.show-carriers", NULL, show_carriers_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_0, GDK_ALT_MASK, "win.show-view", "s", "overview");
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_1, GDK_ALT_MASK, "win.show-view", "s", "map");
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_2, GDK_ALT_MASK, "win.show-view", "s", "shipments");
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_3, GDK_ALT_MASK, "win.show-view", "s", "trips");
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_4, GDK_ALT_MASK, "win.show-view", "s", "trackings");

  g_type_ensure (WB_TYPE_SHIPMENTS_VIEW);
  g_type_ensure (WB_TYPE_TRIPS_VIEW);
  g_type_ensure (WB_TYPE_TRACKINGS_VIEW);
  g_type_ensure (WB_TYPE_OVERVIEW_VIEW);
  g_type_ensure (WB_TYPE_ALERTS_BUTTON);
  gtk_widget_class_set_template_from_resource (widget_class, "/org/waybill/Waybill/wb-window.ui");
  gtk_widget_class_bind_template_child (widget_class, WbWindow, main_stack);
  gtk_widget_class_bind_template_child (widget_class, WbWindow, first_run_page);
  gtk_widget_class_bind_template_child (widget_class, WbWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, WbWindow, view_stack);
  gtk_widget_class_bind_template_child (widget_class, WbWindow, shipments_view);
  gtk_widget_class_bind_template_child (widget_class, WbWindow, trips_view);
  gtk_widget_class_bind_template_child (widget_class, WbWindow, trackings_view);
  gtk_widget_class_bind_template_child (widget_class, WbWindow, overview_view);
  gtk_widget_class_bind_template_child (widget_class, WbWindow, alerts_button);
  gtk_widget_class_bind_template_child (widget_class, WbWindow, alert_toasts);
  gtk_widget_class_bind_template_child (widget_class, WbWindow, sidebar_button);
  gtk_widget_class_bind_template_child (widget_class, WbWindow, follow_button);
  gtk_widget_class_bind_template_child (widget_class, WbWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, WbWindow, flap);
  gtk_widget_class_bind_template_child (widget_class, WbWindow, search_entry);
  gtk_widget_class_bind_template_child (widget_class, WbWindow, moving_button);
  gtk_widget_class_bind_template_child (widget_class, WbWindow, stopped_button);
  gtk_widget_class_bind_template_child (widget_class, WbWindow, offline_button);
  gtk_widget_class_bind_template_child (widget_class, WbWindow, company_dropdown);
  gtk_widget_class_bind_template_child (widget_class, WbWindow, company_labels);
  gtk_widget_class_bind_template_child (widget_class, WbWindow, count_label);
  gtk_widget_class_bind_template_child (widget_class, WbWindow, list_view);
  gtk_widget_class_bind_template_child (widget_class, WbWindow, map);
  gtk_widget_class_bind_template_child (widget_class, WbWindow, connection_revealer);
  gtk_widget_class_bind_template_child (widget_class, WbWindow, connection_spinner);
  gtk_widget_class_bind_template_child (widget_class, WbWindow, connection_label);
  gtk_widget_class_bind_template_child (widget_class, WbWindow, panel_revealer);
  gtk_widget_class_bind_template_child (widget_class, WbWindow, panel);
  gtk_widget_class_bind_template_callback (widget_class, on_search_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_company_selected);
  gtk_widget_class_bind_template_callback (widget_class, on_first_run_connected);
  gtk_widget_class_bind_template_callback (widget_class, on_view_changed);
}

static void
wb_window_init (WbWindow *self)
{
  self->watched = g_hash_table_new (NULL, NULL);
  self->company_counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->company_names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->company_ids = g_ptr_array_new_with_free_func (g_free);
  self->filter = wb_vehicle_filter_new ();
  gtk_widget_init_template (GTK_WIDGET (self));
  /* The overview comes first in the switcher; the map is where a
   * dispatcher lands. */
  adw_view_stack_set_visible_child_name (self->view_stack, "map");
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.unselect", FALSE);
}

WbWindow *
wb_window_new (GtkApplication *application,
               WbVehicleModel *model,
               GSettings      *settings)
{
  g_return_val_if_fail (WB_IS_VEHICLE_MODEL (model), NULL);

  return g_object_new (WB_TYPE_WINDOW, "application", application, "model", model, "settings", settings, NULL);
}
