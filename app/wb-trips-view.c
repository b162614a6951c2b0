// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include <glib/gi18n.h>

#include "wb-page-loader.h"
#include "wb-date-button.h"
#include "wb-ref-picker.h"
#include "wb-shipment-format.h"
#include "wb-trip-format.h"
#include "wb-trips-view.h"
#include "wb-text-column.h"

struct _WbTripsView
{
  GtkWidget           parent_instance;

  WbClient           *client;
  GCancellable       *whoami;
  char               *role;
  WbTripListModel    *results;
  GtkSingleSelection *selection;
  guint               page_size;

  AdwLeaflet         *leaflet;
  GtkWidget          *list_page;
  GtkDropDown        *status_dropdown;
  WbRefPicker        *company_picker;
  WbRefPicker        *vehicle_picker;
  WbRefPicker        *driver_picker;
  WbDateButton       *from_button;
  WbDateButton       *to_button;
  WbDirectory        *directory;
  GtkLabel           *error_label;
  GtkStack           *results_stack;
  GtkScrolledWindow  *scrolled;
  WbPageLoader         *loader;
  GtkColumnView      *column_view;
  GtkLabel           *count_label;
  WbTripDetail       *detail;
};

G_DEFINE_FINAL_TYPE (WbTripsView, wb_trips_view, GTK_TYPE_WIDGET)

/* ---- columns ---------------------------------------------------------------- */

static char *
route_text (gpointer trip,
            gpointer view)
{
  WbTripsView *self = view;

  return wb_trip_format_route (trip, self->directory);
}

static char *
status_text (gpointer trip,
             gpointer view)
{
  return g_strdup (wb_trip_format_status (wb_client_trip_get_status (trip)));
}

static char *
name_text (WbTripsView     *self,
           WbDirectoryKind  kind,
           const char      *id)
{
  return g_strdup (wb_directory_label (self->directory, kind, id) ?: "—");
}

static char *
vehicle_text (gpointer trip,
              gpointer view)
{
  WbTripsView *self = view;

  return name_text (self, WB_DIRECTORY_VEHICLES, wb_client_trip_get_vehicle_id (trip));
}

static char *
driver_text (gpointer trip,
             gpointer view)
{
  WbTripsView *self = view;

  return name_text (self, WB_DIRECTORY_DRIVERS, wb_client_trip_get_driver_id (trip));
}

static char *
company_text (gpointer trip,
              gpointer view)
{
  WbTripsView *self = view;

  return name_text (self, WB_DIRECTORY_COMPANIES, wb_client_trip_get_company_id (trip));
}

static char *
planned_text (gpointer trip,
              gpointer view)
{
  return wb_shipment_format_time (wb_client_trip_get_planned_start (trip));
}

static char *
stops_text (gpointer trip,
            gpointer view)
{
  /* Translators: stops reached / all stops */
  return g_strdup_printf (_("%u / %u"), wb_client_trip_count_arrived (trip), wb_client_trip_get_n_stops (trip));
}

static void
add_columns (WbTripsView *self)
{
  GtkColumnView *view = self->column_view;

  wb_text_column_append (view, _("Route"), route_text, NULL, self, WB_TEXT_COLUMN_EXPAND);
  wb_text_column_append (view, _("Status"), status_text, NULL, self, WB_TEXT_COLUMN_DEFAULT);
  wb_text_column_append (view, _("Vehicle"), vehicle_text, NULL, self, WB_TEXT_COLUMN_DEFAULT);
  wb_text_column_append (view, _("Driver"), driver_text, NULL, self, WB_TEXT_COLUMN_DEFAULT);
  wb_text_column_append (view, _("Company"), company_text, NULL, self, WB_TEXT_COLUMN_DEFAULT);
  wb_text_column_append (view, _("Planned start"), planned_text, NULL, self, WB_TEXT_COLUMN_DEFAULT);
  wb_text_column_append (view, _("Stops reached"), stops_text, NULL, self, WB_TEXT_COLUMN_DEFAULT);
}

/* ---- paging as the list scrolls ------------------------------------------- */

static void
update_count (WbTripsView *self)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->results));
  g_autofree char *text = NULL;

  if (wb_trip_list_model_get_loading (self->results))
    text = g_strdup_printf (ngettext ("%u trip shown, loading more…", "%u trips shown, loading more…", n), n);
  else if (wb_trip_list_model_get_has_more (self->results))
    text = g_strdup_printf (ngettext ("%u trip shown, more as you scroll", "%u trips shown, more as you scroll", n), n);
  else
    text = g_strdup_printf (ngettext ("%u trip, all shown", "%u trips, all shown", n), n);
  gtk_label_set_text (self->count_label, text);
}

static void
show_error (WbTripsView *self,
            const char  *message)
{
  gtk_label_set_text (self->error_label, message ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), message != NULL);
}

static const char *
field_label (const char *field)
{
  static const struct { const char *field, *label; } labels[] = {
    { "status", N_("Status") }, { "companyId", N_("Company id") }, { "vehicleId", N_("Vehicle id") },
    { "driverId", N_("Driver id") }, { "from", N_("Planned from") }, { "to", N_("Planned to") },
  };

  for (guint i = 0; field != NULL && i < G_N_ELEMENTS (labels); i++)
    if (g_str_equal (labels[i].field, field))
      return _(labels[i].label);
  return field;
}

static void
on_results_loading (WbTripsView *self)
{
  const GError *error = wb_trip_list_model_get_error (self->results);
  gboolean empty = g_list_model_get_n_items (G_LIST_MODEL (self->results)) == 0;

  update_count (self);
  if (wb_trip_list_model_get_loading (self->results))
    return;
  if (error != NULL)
    {
      const char *field = wb_client_error_get_field (error);
      g_autofree char *message = field != NULL
        /* Translators: a filter, then the server's reason */
        ? g_strdup_printf (_("%s: %s"), field_label (field), error->message)
        : g_strdup_printf (_("The trips cannot be read: %s"), error->message);

      show_error (self, message);
    }
  if (empty)
    gtk_stack_set_visible_child_name (self->results_stack, error != NULL ? "idle" : "empty");
  wb_page_loader_check (self->loader);
}

/* ---- the filters ------------------------------------------------------------- */

static WbClientTripQuery *
read_filters (WbTripsView *self)
{
  g_autoptr(WbClientTripQuery) query = wb_client_trip_query_new ();
  guint status = gtk_drop_down_get_selected (self->status_dropdown);

  query->from = wb_date_button_get_local_us (self->from_button, FALSE);
  query->to = wb_date_button_get_local_us (self->to_button, TRUE);
  if (status != GTK_INVALID_LIST_POSITION && status > 0)
    query->status = g_strdup (wb_trip_format_statuses ()[status - 1]);
  query->company_id = g_strdup (wb_ref_picker_get_selected_id (self->company_picker));
  query->vehicle_id = g_strdup (wb_ref_picker_get_selected_id (self->vehicle_picker));
  query->driver_id = g_strdup (wb_ref_picker_get_selected_id (self->driver_picker));
  query->limit = self->page_size;
  return g_steal_pointer (&query);
}

static void
clear_results (WbTripsView *self)
{
  if (self->results != NULL)
    g_signal_handlers_disconnect_by_data (self->results, self);
  g_clear_object (&self->results);
  if (self->loader != NULL)
    wb_page_loader_set_model (self->loader, NULL);
  gtk_single_selection_set_model (self->selection, NULL);
  gtk_label_set_text (self->count_label, "");
}

static void
search_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  WbTripsView *self = WB_TRIPS_VIEW (widget);
  g_autoptr(WbClientTripQuery) query = NULL;

  if (self->client == NULL)
    return;
  show_error (self, NULL);
  query = read_filters (self);
  if (query == NULL)
    return;
  clear_results (self);
  self->results = wb_trip_list_model_new (self->client, query);
  g_signal_connect_swapped (self->results, "notify::loading", G_CALLBACK (on_results_loading), self);
  gtk_single_selection_set_model (self->selection, G_LIST_MODEL (self->results));
  wb_page_loader_set_model (self->loader, WB_PAGED_MODEL (self->results));
  gtk_adjustment_set_value (gtk_scrolled_window_get_vadjustment (self->scrolled), 0);
  gtk_stack_set_visible_child_name (self->results_stack, "list");
  wb_trip_list_model_load_more (self->results);
}

/* Every filter applies as it changes. */
static void
on_filter_changed (WbTripsView *self)
{
  gtk_widget_activate_action (GTK_WIDGET (self), "trips.search", NULL);
}

/* ---- the role ------------------------------------------------------------------ */

static void
on_whoami (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  g_autoptr(WbTripsView) self = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *role = NULL;
  g_autofree char *reason = NULL;

  if (!wb_client_whoami_finish (WB_CLIENT (source), result, &role, NULL, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      reason = g_strdup_printf (_("What your token may do is not known: %s"), error->message);
      wb_trip_detail_set_permission (self->detail, FALSE, reason);
      return;
    }
  g_free (self->role);
  self->role = g_steal_pointer (&role);
  if (g_strcmp0 (self->role, "dispatcher") == 0 || g_strcmp0 (self->role, "admin") == 0)
    return wb_trip_detail_set_permission (self->detail, TRUE, NULL);
  /* Translators: %s is the token's role, e.g. "viewer" */
  reason = g_strdup_printf (_("Your token's role (%s) may look at trips but not change them; "
                              "a dispatcher's token is needed"), self->role);
  wb_trip_detail_set_permission (self->detail, FALSE, reason);
}

static void
read_role (WbTripsView *self)
{
  if (self->whoami != NULL)
    g_cancellable_cancel (self->whoami);
  g_clear_object (&self->whoami);
  g_clear_pointer (&self->role, g_free);
  wb_trip_detail_set_permission (self->detail, FALSE, _("Checking what your token may do…"));
  if (self->client == NULL)
    return;
  self->whoami = g_cancellable_new ();
  wb_client_whoami_async (self->client, self->whoami, on_whoami, g_object_ref (self));
}

/* ---- the detail --------------------------------------------------------------- */

static void
open_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  WbTripsView *self = WB_TRIPS_VIEW (widget);

  wb_trip_detail_show (self->detail, g_variant_get_string (parameter, NULL));
  adw_leaflet_set_visible_child (self->leaflet, GTK_WIDGET (self->detail));
  gtk_widget_child_focus (GTK_WIDGET (self->detail), GTK_DIR_TAB_FORWARD);
}

static void
back_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  WbTripsView *self = WB_TRIPS_VIEW (widget);

  adw_leaflet_set_visible_child (self->leaflet, self->list_page);
}

/* Leaving the detail (the back button, a swipe, Alt+Left) stops its
 * reads; the list keeps its rows and place. */
static void
on_leaflet_page (WbTripsView *self)
{
  if (adw_leaflet_get_visible_child (self->leaflet) != self->list_page)
    return;
  wb_trip_detail_show (self->detail, NULL);
  gtk_widget_grab_focus (GTK_WIDGET (self->column_view));
}

static void
on_row_activated (WbTripsView *self,
                  guint        position)
{
  g_autoptr(WbClientTrip) trip = NULL;

  if (self->results == NULL)
    return;
  trip = g_list_model_get_item (G_LIST_MODEL (self->results), position);
  if (trip != NULL)
    gtk_widget_activate_action (GTK_WIDGET (self), "trips.open", "s", wb_client_trip_get_id (trip));
}

/* ---- the widget ------------------------------------------------------------- */

static void
fill_statuses (WbTripsView *self)
{
  g_autoptr(GtkStringList) labels = gtk_string_list_new (NULL);
  const char * const *statuses = wb_trip_format_statuses ();

  gtk_string_list_append (labels, _("Any status"));
  for (guint i = 0; statuses[i] != NULL; i++)
    gtk_string_list_append (labels, wb_trip_format_status (statuses[i]));
  gtk_drop_down_set_model (self->status_dropdown, G_LIST_MODEL (labels));
}

static void
wb_trips_view_dispose (GObject *object)
{
  GtkWidget *child;
  WbTripsView *self = WB_TRIPS_VIEW (object);

  g_clear_object (&self->loader);
  if (self->whoami != NULL)
    g_cancellable_cancel (self->whoami);
  g_clear_object (&self->whoami);
  clear_results (self);
  g_clear_object (&self->client);
  g_clear_pointer (&self->directory, wb_directory_unref);
  gtk_widget_dispose_template (GTK_WIDGET (self), WB_TYPE_TRIPS_VIEW);
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);
  g_clear_object (&self->selection);
  G_OBJECT_CLASS (wb_trips_view_parent_class)->dispose (object);
}

static void
wb_trips_view_finalize (GObject *object)
{
  g_free (WB_TRIPS_VIEW (object)->role);
  G_OBJECT_CLASS (wb_trips_view_parent_class)->finalize (object);
}

static void
wb_trips_view_class_init (WbTripsViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = wb_trips_view_dispose;
  object_class->finalize = wb_trips_view_finalize;

  gtk_widget_class_install_action (widget_class, "trips.search", NULL, search_action);
  gtk_widget_class_install_action (widget_class, "trips.open", "s", open_action);
  gtk_widget_class_install_action (widget_class, "trips.back", NULL, back_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Left, GDK_ALT_MASK, "trips.back", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "trips.back", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F5, 0, "trips.search", NULL);

  g_type_ensure (WB_TYPE_TRIP_DETAIL);
  g_type_ensure (WB_TYPE_REF_PICKER);
  g_type_ensure (WB_TYPE_DATE_BUTTON);
  gtk_widget_class_set_template_from_resource (widget_class, "/org/waybill/Waybill/wb-trips-view.ui");
  gtk_widget_class_bind_template_child (widget_class, WbTripsView, leaflet);
  gtk_widget_class_bind_template_child (widget_class, WbTripsView, list_page);
  gtk_widget_class_bind_template_child (widget_class, WbTripsView, status_dropdown);
  gtk_widget_class_bind_template_child (widget_class, WbTripsView, company_picker);
  gtk_widget_class_bind_template_child (widget_class, WbTripsView, vehicle_picker);
  gtk_widget_class_bind_template_child (widget_class, WbTripsView, driver_picker);
  gtk_widget_class_bind_template_child (widget_class, WbTripsView, from_button);
  gtk_widget_class_bind_template_child (widget_class, WbTripsView, to_button);
  gtk_widget_class_bind_template_child (widget_class, WbTripsView, error_label);
  gtk_widget_class_bind_template_child (widget_class, WbTripsView, results_stack);
  gtk_widget_class_bind_template_child (widget_class, WbTripsView, scrolled);
  gtk_widget_class_bind_template_child (widget_class, WbTripsView, column_view);
  gtk_widget_class_bind_template_child (widget_class, WbTripsView, count_label);
  gtk_widget_class_bind_template_child (widget_class, WbTripsView, detail);
  gtk_widget_class_bind_template_callback (widget_class, on_filter_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_row_activated);
  gtk_widget_class_bind_template_callback (widget_class, on_leaflet_page);
}

static void
wb_trips_view_init (WbTripsView *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->selection = gtk_single_selection_new (NULL);
  gtk_single_selection_set_autoselect (self->selection, FALSE);
  gtk_single_selection_set_can_unselect (self->selection, TRUE);
  gtk_column_view_set_model (self->column_view, GTK_SELECTION_MODEL (self->selection));
  add_columns (self);
  fill_statuses (self);
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->column_view)); child;
       child = gtk_widget_get_next_sibling (child))
    if (GTK_IS_LIST_VIEW (child))
      gtk_accessible_update_property (GTK_ACCESSIBLE (child), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                      _("Trips, newest first"), -1);
  self->loader = wb_page_loader_new (self->scrolled);
}

GtkWidget *
wb_trips_view_new (void)
{
  return g_object_new (WB_TYPE_TRIPS_VIEW, NULL);
}

void
wb_trips_view_set_client (WbTripsView *self,
                          WbClient    *client)
{
  g_return_if_fail (WB_IS_TRIPS_VIEW (self));
  g_return_if_fail (client == NULL || WB_IS_CLIENT (client));

  if (self->client == client)
    return;
  clear_results (self);
  gtk_stack_set_visible_child_name (self->results_stack, "idle");
  g_set_object (&self->client, client);
  wb_trip_detail_set_client (self->detail, client);
  adw_leaflet_set_visible_child (self->leaflet, self->list_page);
  read_role (self);
  /* The newest trips show at once; the filters narrow them. */
  if (client != NULL)
    gtk_widget_activate_action (GTK_WIDGET (self), "trips.search", NULL);
}

void
wb_trips_view_set_directory (WbTripsView *self,
                             WbDirectory *directory)
{
  g_return_if_fail (WB_IS_TRIPS_VIEW (self));

  if (self->directory == directory)
    return;
  g_clear_pointer (&self->directory, wb_directory_unref);
  self->directory = directory ? wb_directory_ref (directory) : NULL;
  wb_ref_picker_set_directory (self->company_picker, directory);
  wb_ref_picker_set_directory (self->vehicle_picker, directory);
  wb_ref_picker_set_directory (self->driver_picker, directory);
  wb_trip_detail_set_directory (self->detail, directory);
  /* Read again, so the rows name what the directory now knows. */
  if (self->results != NULL)
    gtk_widget_activate_action (GTK_WIDGET (self), "trips.search", NULL);
}

void
wb_trips_view_set_tiles (WbTripsView *self,
                         const char  *tiles)
{
  g_return_if_fail (WB_IS_TRIPS_VIEW (self));
  wb_trip_detail_set_tiles (self->detail, tiles);
}

void
wb_trips_view_set_page_size (WbTripsView *self,
                             guint        page_size)
{
  g_return_if_fail (WB_IS_TRIPS_VIEW (self));
  self->page_size = page_size;
}

void
wb_trips_view_focus_search (WbTripsView *self)
{
  g_return_if_fail (WB_IS_TRIPS_VIEW (self));
  adw_leaflet_set_visible_child (self->leaflet, self->list_page);
  gtk_widget_grab_focus (GTK_WIDGET (self->status_dropdown));
}

const char *
wb_trips_view_get_role (WbTripsView *self)
{
  g_return_val_if_fail (WB_IS_TRIPS_VIEW (self), NULL);
  return self->role;
}

WbTripListModel *
wb_trips_view_get_results (WbTripsView *self)
{
  g_return_val_if_fail (WB_IS_TRIPS_VIEW (self), NULL);
  return self->results;
}

GtkColumnView *
wb_trips_view_get_column_view (WbTripsView *self)
{
  g_return_val_if_fail (WB_IS_TRIPS_VIEW (self), NULL);
  return self->column_view;
}

WbDirectory *
wb_trips_view_get_directory (WbTripsView *self)
{
  g_return_val_if_fail (WB_IS_TRIPS_VIEW (self), NULL);
  return self->directory;
}

WbTripDetail *
wb_trips_view_get_detail (WbTripsView *self)
{
  g_return_val_if_fail (WB_IS_TRIPS_VIEW (self), NULL);
  return self->detail;
}

gboolean
wb_trips_view_get_detail_shown (WbTripsView *self)
{
  g_return_val_if_fail (WB_IS_TRIPS_VIEW (self), FALSE);
  return adw_leaflet_get_visible_child (self->leaflet) == GTK_WIDGET (self->detail);
}
