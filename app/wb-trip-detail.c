// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>
#include <shumate/shumate.h>

#include "wb-graticule-layer.h"
#include "wb-live-vehicle.h"
#include "wb-shipment-format.h"
#include "wb-tile-source.h"
#include "wb-trip-detail.h"
#include "wb-trip-format.h"

struct _WbTripDetail
{
  GtkWidget           parent_instance;

  WbClient           *client;
  WbDirectory        *directory;        /* nullable: names for ids */
  WbClientTrip       *trip;
  char               *trip_id;
  GCancellable       *cancellable;     /* the shown trip's reads */
  gboolean            loading;
  gboolean            allowed;
  char               *denied_reason;
  guint               position_interval_ms;
  guint               position_source;
  gboolean            has_position;
  double              vehicle_lat;
  double              vehicle_lon;
  WbReassignDialog   *reassign_dialog;  /* weak */

  WbTileSource       *tile_source;
  ShumateMarkerLayer *stop_layer;
  ShumateMarkerLayer *vehicle_layer;
  ShumatePathLayer   *path_layer;
  ShumateMarker      *vehicle_marker;

  GtkLabel           *title_label;
  GtkLabel           *status_label;
  GtkLabel           *error_label;
  GtkButton          *start_button;
  GtkButton          *complete_button;
  GtkButton          *cancel_button;
  GtkButton          *reassign_button;
  AdwActionRow       *vehicle_row;
  AdwActionRow       *driver_row;
  AdwActionRow       *company_row;
  AdwActionRow       *times_row;
  AdwActionRow       *progress_row;
  GtkListBox         *stops_list;
  ShumateSimpleMap   *map;
};

G_DEFINE_FINAL_TYPE (WbTripDetail, wb_trip_detail, GTK_TYPE_WIDGET)

static void read_trip (WbTripDetail *self);

static void
show_error (WbTripDetail *self,
            const char   *message)
{
  gtk_label_set_text (self->error_label, message ?: "");
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), message != NULL);
}

/* ---- the actions and their reasons ------------------------------------------ */

static gboolean
status_is (WbTripDetail *self,
           const char   *status)
{
  return self->trip != NULL && g_strcmp0 (wb_client_trip_get_status (self->trip), status) == 0;
}

static void
set_action (WbTripDetail *self,
            const char   *action,
            GtkButton    *button,
            gboolean      status_allows,
            const char   *what,
            const char   *forbidden)
{
  gboolean enabled = self->trip != NULL && self->allowed && status_allows && !self->loading;

  gtk_widget_action_set_enabled (GTK_WIDGET (self), action, enabled);
  if (self->trip != NULL && !self->allowed)
    gtk_widget_set_tooltip_text (GTK_WIDGET (button), self->denied_reason);
  else if (self->trip != NULL && !status_allows)
    gtk_widget_set_tooltip_text (GTK_WIDGET (button), forbidden);
  else
    gtk_widget_set_tooltip_text (GTK_WIDGET (button), what);
}

static void
update_actions (WbTripDetail *self)
{
  gboolean open = status_is (self, "PLANNED") || status_is (self, "IN_TRANSIT");
  const char *status = wb_trip_format_status (self->trip != NULL ? wb_client_trip_get_status (self->trip) : NULL);
  /* Translators: %s is the trip's status */
  g_autofree char *no_start = g_strdup_printf (_("The trip is %s; only a planned trip can start"), status);
  g_autofree char *no_complete = g_strdup_printf (_("The trip is %s; only a trip in transit can complete"), status);
  g_autofree char *no_cancel = g_strdup_printf (_("The trip is %s; it cannot be cancelled"), status);
  g_autofree char *no_reassign = g_strdup_printf (_("The trip is %s; it cannot be reassigned"), status);

  set_action (self, "trip.start", self->start_button, status_is (self, "PLANNED"),
              _("Start the trip: it and its shipments go in transit"), no_start);
  set_action (self, "trip.complete", self->complete_button, status_is (self, "IN_TRANSIT"),
              _("Complete the trip: every stop not reached is served now"), no_complete);
  set_action (self, "trip.cancel", self->cancel_button, open,
              _("Cancel the trip; its batches stay open for another trip"), no_cancel);
  set_action (self, "trip.reassign", self->reassign_button, open, _("Give the trip another vehicle"), no_reassign);
}

/* ---- showing a trip ----------------------------------------------------------- */

static GtkWidget *
stop_marker (const WbClientTripStop *stop)
{
  ShumateMarker *marker = shumate_marker_new ();
  g_autofree char *number = g_strdup_printf ("%u", stop->seq + 1);
  GtkWidget *label = gtk_label_new (number);

  gtk_widget_add_css_class (label, "trip-stop-marker");
  if (stop->arrived_at != 0)
    gtk_widget_add_css_class (label, "reached");
  shumate_marker_set_child (marker, label);
  shumate_location_set_location (SHUMATE_LOCATION (marker), stop->lat, stop->lon);
  return GTK_WIDGET (marker);
}

static void
place_vehicle (WbTripDetail *self)
{
  gtk_widget_set_visible (GTK_WIDGET (self->vehicle_marker), self->has_position);
  if (self->has_position)
    shumate_location_set_location (SHUMATE_LOCATION (self->vehicle_marker), self->vehicle_lat, self->vehicle_lon);
}

/* Centres the map on the stops (and the vehicle) at a zoom that holds
 * them all. */
static void
frame_map (WbTripDetail *self)
{
  ShumateViewport *viewport = shumate_simple_map_get_viewport (self->map);
  double min_lat = 90, max_lat = -90, min_lon = 180, max_lon = -180, span;
  guint n = wb_client_trip_get_n_stops (self->trip);

  for (guint i = 0; i < n; i++)
    {
      const WbClientTripStop *stop = wb_client_trip_get_stop (self->trip, i);

      min_lat = MIN (min_lat, stop->lat), max_lat = MAX (max_lat, stop->lat);
      min_lon = MIN (min_lon, stop->lon), max_lon = MAX (max_lon, stop->lon);
    }
  if (self->has_position)
    {
      min_lat = MIN (min_lat, self->vehicle_lat), max_lat = MAX (max_lat, self->vehicle_lat);
      min_lon = MIN (min_lon, self->vehicle_lon), max_lon = MAX (max_lon, self->vehicle_lon);
    }
  if (min_lat > max_lat)
    return;
  /* Mercator stretches latitude by 1 / cos (latitude). */
  span = MAX ((max_lat - min_lat) / cos ((min_lat + max_lat) / 2 * G_PI / 180), max_lon - min_lon);
  span = MAX (span, 0.002);
  /* The map's 300 px hold twice the span: 256 px cover 360° / 2^zoom. */
  shumate_viewport_set_zoom_level (viewport, CLAMP (log2 (300 * 360.0 / (256 * 2 * span)), 2, 17));
  shumate_location_set_location (SHUMATE_LOCATION (viewport), (min_lat + max_lat) / 2, (min_lon + max_lon) / 2);
}

static void
show_stops (WbTripDetail *self)
{
  GtkWidget *child;
  guint n = wb_client_trip_get_n_stops (self->trip);

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->stops_list))) != NULL)
    gtk_list_box_remove (self->stops_list, child);
  shumate_marker_layer_remove_all (self->stop_layer);
  shumate_path_layer_remove_all (self->path_layer);
  for (guint i = 0; i < n; i++)
    {
      const WbClientTripStop *stop = wb_client_trip_get_stop (self->trip, i);
      GtkWidget *row = adw_action_row_new ();
      g_autofree char *place = wb_trip_format_stop (stop, self->directory);
      g_autofree char *title = g_strdup_printf ("%u. %s", stop->seq + 1, place);
      g_autofree char *progress = wb_trip_format_progress (stop);
      g_autofree char *name = g_strdup_printf ("stop-%u", stop->seq);
      g_autoptr(ShumateCoordinate) node = g_object_ref_sink (shumate_coordinate_new_full (stop->lat, stop->lon));
      GtkWidget *icon = gtk_image_new_from_icon_name (stop->departed_at != 0 ? "emblem-ok-symbolic"
                                                      : stop->arrived_at != 0 ? "mark-location-symbolic"
                                                      : "media-record-symbolic");

      /* Not reached yet: a dim dot, where reached stops have their mark. */
      if (stop->arrived_at == 0)
        gtk_widget_add_css_class (icon, "dim-label");

      gtk_widget_set_name (row, name);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), progress);
      adw_action_row_add_prefix (ADW_ACTION_ROW (row), icon);
      gtk_list_box_append (self->stops_list, row);
      shumate_marker_layer_add_marker (self->stop_layer, SHUMATE_MARKER (stop_marker (stop)));
      shumate_path_layer_add_node (self->path_layer, SHUMATE_LOCATION (node));
    }
}

/* A vehicle's plate, a driver's or company's name; the id in the
 * tooltip, for telling the server's support which one. */
static void
show_name (AdwActionRow    *row,
           WbDirectory     *directory,
           WbDirectoryKind  kind,
           const char      *id)
{
  const char *label = wb_directory_label (directory, kind, id);

  adw_action_row_set_subtitle (row, label ?: "—");
  gtk_widget_set_tooltip_text (GTK_WIDGET (row), id != NULL && g_strcmp0 (label, id) != 0 ? id : NULL);
}

static void
show_trip (WbTripDetail *self)
{
  WbClientTrip *trip = self->trip;
  g_autofree char *title = wb_trip_format_route (trip, self->directory);
  /* Translators: a tooltip on a trip's title, %s its id */
  g_autofree char *id_tip = g_strdup_printf (_("Trip %s"), wb_client_trip_get_id (trip));
  g_autofree char *planned = wb_shipment_format_time (wb_client_trip_get_planned_start (trip));
  g_autofree char *progress = NULL;
  const char *status = wb_client_trip_get_status (trip);
  guint n = wb_client_trip_get_n_stops (trip);

  gtk_label_set_text (self->title_label, title);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->title_label), id_tip);
  gtk_label_set_text (self->status_label, wb_trip_format_status (status));
  gtk_widget_remove_css_class (GTK_WIDGET (self->status_label), "accent");
  gtk_widget_remove_css_class (GTK_WIDGET (self->status_label), "success");
  gtk_widget_remove_css_class (GTK_WIDGET (self->status_label), "dim-label");
  gtk_widget_add_css_class (GTK_WIDGET (self->status_label),
                            g_str_equal (status, "IN_TRANSIT") ? "accent"
                            : g_str_equal (status, "COMPLETED") ? "success" : "dim-label");
  show_name (self->vehicle_row, self->directory, WB_DIRECTORY_VEHICLES, wb_client_trip_get_vehicle_id (trip));
  show_name (self->driver_row, self->directory, WB_DIRECTORY_DRIVERS, wb_client_trip_get_driver_id (trip));
  show_name (self->company_row, self->directory, WB_DIRECTORY_COMPANIES, wb_client_trip_get_company_id (trip));
  adw_action_row_set_subtitle (self->times_row, planned);
  /* Translators: stops reached of all stops */
  progress = g_strdup_printf (ngettext ("%u of %u stop reached", "%u of %u stops reached", n),
                              wb_client_trip_count_arrived (trip), n);
  adw_action_row_set_subtitle (self->progress_row, progress);
  show_stops (self);
  frame_map (self);
  update_actions (self);
}

static void
set_trip (WbTripDetail *self,
          WbClientTrip *trip)
{
  if (!g_set_object (&self->trip, trip))
    return;
  show_trip (self);
}

static void
on_trip (GObject      *source,
         GAsyncResult *result,
         gpointer      data)
{
  g_autoptr(WbTripDetail) self = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(WbClientTrip) trip = wb_client_get_trip_finish (WB_CLIENT (source), result, &error);

  if (trip == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self->loading = FALSE;
  if (trip == NULL)
    {
      g_autofree char *message = g_strdup_printf (_("The trip cannot be read: %s"), error->message);

      show_error (self, message);
      update_actions (self);
      return;
    }
  show_error (self, NULL);
  set_trip (self, trip);
  update_actions (self);
}

static void
read_trip (WbTripDetail *self)
{
  if (self->client == NULL || self->trip_id == NULL)
    return;
  self->loading = TRUE;
  update_actions (self);
  wb_client_get_trip_async (self->client, self->trip_id, self->cancellable, on_trip, g_object_ref (self));
}

/* ---- the vehicle's position ------------------------------------------------------ */

static void schedule_position (WbTripDetail *self);

static void
on_locations (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  g_autoptr(WbTripDetail) self = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) vehicles = wb_client_get_locations_finish (WB_CLIENT (source), result, NULL, NULL, &error);
  const char *vehicle_id = self->trip != NULL ? wb_client_trip_get_vehicle_id (self->trip) : NULL;
  gboolean was_known = self->has_position;

  if (vehicles == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  /* A failed read keeps the last position; the next one may do better. */
  if (vehicles != NULL)
    {
      self->has_position = FALSE;
      for (guint i = 0; i < vehicles->len; i++)
        {
          WbLiveVehicle *live = g_ptr_array_index (vehicles, i);

          if (g_strcmp0 (live->vehicle_id, vehicle_id) == 0)
            {
              self->has_position = TRUE;
              self->vehicle_lat = live->lat;
              self->vehicle_lon = live->lon;
            }
        }
      place_vehicle (self);
      if (self->has_position && !was_known && self->trip != NULL)
        frame_map (self);
    }
  schedule_position (self);
}

static gboolean
read_position (gpointer data)
{
  WbTripDetail *self = data;
  const char *company = self->trip != NULL ? wb_client_trip_get_company_id (self->trip) : NULL;
  const char *companies[] = { company, NULL };

  self->position_source = 0;
  if (self->client == NULL || self->trip_id == NULL)
    return G_SOURCE_REMOVE;
  if (self->trip == NULL || company == NULL)
    {
      schedule_position (self);
      return G_SOURCE_REMOVE;
    }
  wb_client_get_locations_async (self->client, NULL, companies, self->cancellable, on_locations,
                                 g_object_ref (self));
  return G_SOURCE_REMOVE;
}

static void
schedule_position (WbTripDetail *self)
{
  g_clear_handle_id (&self->position_source, g_source_remove);
  if (self->trip_id != NULL)
    self->position_source = g_timeout_add (self->trip != NULL ? self->position_interval_ms : 200,
                                           read_position, self);
}

/* ---- the actions ------------------------------------------------------------------- */

static void
on_transition (GObject      *source,
               GAsyncResult *result,
               gpointer      data)
{
  g_autoptr(WbTripDetail) self = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(WbClientTrip) trip = wb_client_transition_trip_finish (WB_CLIENT (source), result, &error);

  if (trip == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self->loading = FALSE;
  if (trip == NULL)
    {
      show_error (self, error->message);
      /* The trip may have moved on meanwhile: show it as it is. */
      read_trip (self);
      return;
    }
  show_error (self, NULL);
  set_trip (self, trip);
  update_actions (self);
}

static void
transition (WbTripDetail           *self,
            WbClientTripTransition  kind)
{
  if (self->trip == NULL || self->client == NULL)
    return;
  self->loading = TRUE;
  update_actions (self);
  wb_client_transition_trip_async (self->client, wb_client_trip_get_id (self->trip), kind, NULL,
                                   self->cancellable, on_transition, g_object_ref (self));
}

static void
start_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  transition (WB_TRIP_DETAIL (widget), WB_CLIENT_TRIP_START);
}

static void
complete_action (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  transition (WB_TRIP_DETAIL (widget), WB_CLIENT_TRIP_COMPLETE);
}

static void
on_cancel_response (WbTripDetail *self,
                    const char   *response)
{
  if (g_strcmp0 (response, "cancel-trip") == 0)
    transition (self, WB_CLIENT_TRIP_CANCEL);
}

static void
cancel_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  WbTripDetail *self = WB_TRIP_DETAIL (widget);
  GtkRoot *root = gtk_widget_get_root (widget);
  GtkWidget *dialog;

  if (self->trip == NULL)
    return;
  dialog = adw_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL, _("Cancel the Trip?"),
                                   _("Its batches stay open for another trip. This cannot be undone."));
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog), "keep", _("_Keep"),
                                    "cancel-trip", _("_Cancel Trip"), NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "cancel-trip",
                                              ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "keep");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "keep");
  g_signal_connect_object (dialog, "response", G_CALLBACK (on_cancel_response), self, G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
on_reassign_decided (WbTripDetail *self,
                     const char   *status)
{
  if (g_strcmp0 (status, "applied") == 0)
    {
      read_trip (self);
      schedule_position (self);
    }
}

static void
reassign_action (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  WbTripDetail *self = WB_TRIP_DETAIL (widget);
  GtkRoot *root = gtk_widget_get_root (widget);
  GtkWidget *dialog;

  if (self->trip == NULL || self->client == NULL)
    return;
  if (self->reassign_dialog != NULL)
    gtk_window_destroy (GTK_WINDOW (self->reassign_dialog));
  dialog = wb_reassign_dialog_new (self->client, self->trip);
  if (GTK_IS_WINDOW (root))
    gtk_window_set_transient_for (GTK_WINDOW (dialog), GTK_WINDOW (root));
  g_set_weak_pointer (&self->reassign_dialog, WB_REASSIGN_DIALOG (dialog));
  g_signal_connect_object (dialog, "decided", G_CALLBACK (on_reassign_decided), self, G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* ---- the widget -------------------------------------------------------------------- */

static void
setup_map (WbTripDetail *self)
{
  ShumateViewport *viewport = shumate_simple_map_get_viewport (self->map);
  GdkRGBA stroke = { 0.21, 0.52, 0.89, 0.9 };
  GtkWidget *pin;

  self->path_layer = shumate_path_layer_new (viewport);
  shumate_path_layer_set_stroke_color (self->path_layer, &stroke);
  shumate_path_layer_set_stroke_width (self->path_layer, 3);
  self->stop_layer = shumate_marker_layer_new (viewport);
  self->vehicle_layer = shumate_marker_layer_new (viewport);
  self->vehicle_marker = shumate_marker_new ();
  pin = gtk_image_new_from_icon_name ("mark-location-symbolic");
  /* The pin's tip, not its middle, stands on the position, so a stop's
   * number under the vehicle stays readable. */
  gtk_widget_set_margin_bottom (pin, 24);
  shumate_marker_set_child (self->vehicle_marker, pin);
  gtk_widget_add_css_class (GTK_WIDGET (self->vehicle_marker), "trip-vehicle-marker");
  gtk_widget_set_visible (GTK_WIDGET (self->vehicle_marker), FALSE);
  shumate_marker_layer_add_marker (self->vehicle_layer, self->vehicle_marker);
  shumate_simple_map_add_overlay_layer (self->map, SHUMATE_LAYER (wb_graticule_layer_new (viewport)));
  shumate_simple_map_add_overlay_layer (self->map, SHUMATE_LAYER (self->path_layer));
  shumate_simple_map_add_overlay_layer (self->map, SHUMATE_LAYER (self->stop_layer));
  shumate_simple_map_add_overlay_layer (self->map, SHUMATE_LAYER (self->vehicle_layer));
  wb_trip_detail_set_tiles (self, "none");
}

static void
wb_trip_detail_dispose (GObject *object)
{
  WbTripDetail *self = WB_TRIP_DETAIL (object);
  GtkWidget *child;

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->position_source, g_source_remove);
  if (self->reassign_dialog != NULL)
    gtk_window_destroy (GTK_WINDOW (self->reassign_dialog));
  g_clear_weak_pointer (&self->reassign_dialog);
  gtk_widget_dispose_template (GTK_WIDGET (self), WB_TYPE_TRIP_DETAIL);
  /* Template children without an id are ours to unparent too. */
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);
  G_OBJECT_CLASS (wb_trip_detail_parent_class)->dispose (object);
}

static void
wb_trip_detail_finalize (GObject *object)
{
  WbTripDetail *self = WB_TRIP_DETAIL (object);

  g_clear_object (&self->cancellable);
  g_clear_object (&self->client);
  g_clear_pointer (&self->directory, wb_directory_unref);
  g_clear_object (&self->trip);
  g_clear_object (&self->tile_source);
  g_free (self->trip_id);
  g_free (self->denied_reason);
  G_OBJECT_CLASS (wb_trip_detail_parent_class)->finalize (object);
}

static void
wb_trip_detail_class_init (WbTripDetailClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = wb_trip_detail_dispose;
  object_class->finalize = wb_trip_detail_finalize;

  gtk_widget_class_install_action (widget_class, "trip.start", NULL, start_action);
  gtk_widget_class_install_action (widget_class, "trip.complete", NULL, complete_action);
  gtk_widget_class_install_action (widget_class, "trip.cancel", NULL, cancel_action);
  gtk_widget_class_install_action (widget_class, "trip.reassign", NULL, reassign_action);

  g_type_ensure (SHUMATE_TYPE_SIMPLE_MAP);
  gtk_widget_class_set_template_from_resource (widget_class, "/org/waybill/Waybill/wb-trip-detail.ui");
  gtk_widget_class_bind_template_child (widget_class, WbTripDetail, title_label);
  gtk_widget_class_bind_template_child (widget_class, WbTripDetail, status_label);
  gtk_widget_class_bind_template_child (widget_class, WbTripDetail, error_label);
  gtk_widget_class_bind_template_child (widget_class, WbTripDetail, start_button);
  gtk_widget_class_bind_template_child (widget_class, WbTripDetail, complete_button);
  gtk_widget_class_bind_template_child (widget_class, WbTripDetail, cancel_button);
  gtk_widget_class_bind_template_child (widget_class, WbTripDetail, reassign_button);
  gtk_widget_class_bind_template_child (widget_class, WbTripDetail, vehicle_row);
  gtk_widget_class_bind_template_child (widget_class, WbTripDetail, driver_row);
  gtk_widget_class_bind_template_child (widget_class, WbTripDetail, company_row);
  gtk_widget_class_bind_template_child (widget_class, WbTripDetail, times_row);
  gtk_widget_class_bind_template_child (widget_class, WbTripDetail, progress_row);
  gtk_widget_class_bind_template_child (widget_class, WbTripDetail, stops_list);
  gtk_widget_class_bind_template_child (widget_class, WbTripDetail, map);
}

static void
wb_trip_detail_init (WbTripDetail *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
  self->position_interval_ms = 5000;
  self->denied_reason = g_strdup (_("Checking what your token may do…"));
  setup_map (self);
  update_actions (self);
}

GtkWidget *
wb_trip_detail_new (void)
{
  return g_object_new (WB_TYPE_TRIP_DETAIL, NULL);
}

void
wb_trip_detail_set_client (WbTripDetail *self,
                           WbClient     *client)
{
  g_return_if_fail (WB_IS_TRIP_DETAIL (self));
  g_return_if_fail (client == NULL || WB_IS_CLIENT (client));

  wb_trip_detail_show (self, NULL);
  g_set_object (&self->client, client);
}

void
wb_trip_detail_set_directory (WbTripDetail *self,
                              WbDirectory  *directory)
{
  g_return_if_fail (WB_IS_TRIP_DETAIL (self));

  if (self->directory == directory)
    return;
  g_clear_pointer (&self->directory, wb_directory_unref);
  self->directory = directory ? wb_directory_ref (directory) : NULL;
  if (self->trip != NULL)
    show_trip (self);
}

void
wb_trip_detail_set_permission (WbTripDetail *self,
                               gboolean      allowed,
                               const char   *reason)
{
  g_return_if_fail (WB_IS_TRIP_DETAIL (self));

  self->allowed = allowed;
  g_free (self->denied_reason);
  self->denied_reason = g_strdup (reason);
  update_actions (self);
}

void
wb_trip_detail_set_tiles (WbTripDetail *self,
                          const char   *tiles)
{
  g_autoptr(ShumateMapSource) source = NULL;

  g_return_if_fail (WB_IS_TRIP_DETAIL (self));

  g_clear_object (&self->tile_source);
  self->tile_source = wb_tile_source_new (tiles != NULL && *tiles != '\0' ? tiles : "none");
  source = wb_tile_source_create_map_source (self->tile_source);
  shumate_simple_map_set_map_source (self->map, source);
}

void
wb_trip_detail_show (WbTripDetail *self,
                     const char   *trip_id)
{
  g_return_if_fail (WB_IS_TRIP_DETAIL (self));

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  g_clear_handle_id (&self->position_source, g_source_remove);
  if (self->reassign_dialog != NULL)
    gtk_window_destroy (GTK_WINDOW (self->reassign_dialog));
  g_clear_object (&self->trip);
  g_free (self->trip_id);
  self->trip_id = g_strdup (trip_id);
  self->loading = FALSE;
  self->has_position = FALSE;
  place_vehicle (self);
  show_error (self, NULL);
  update_actions (self);
  if (trip_id == NULL)
    return;
  gtk_label_set_text (self->title_label, "");
  gtk_label_set_text (self->status_label, _("Loading…"));
  read_trip (self);
  schedule_position (self);
}

WbClientTrip *
wb_trip_detail_get_trip (WbTripDetail *self)
{
  g_return_val_if_fail (WB_IS_TRIP_DETAIL (self), NULL);
  return self->trip;
}

gboolean
wb_trip_detail_get_loading (WbTripDetail *self)
{
  g_return_val_if_fail (WB_IS_TRIP_DETAIL (self), FALSE);
  return self->loading;
}

gboolean
wb_trip_detail_get_vehicle_position (WbTripDetail *self,
                                     double       *lat,
                                     double       *lon)
{
  g_return_val_if_fail (WB_IS_TRIP_DETAIL (self), FALSE);

  if (self->has_position)
    {
      *lat = self->vehicle_lat;
      *lon = self->vehicle_lon;
    }
  return self->has_position;
}

WbReassignDialog *
wb_trip_detail_get_reassign_dialog (WbTripDetail *self)
{
  g_return_val_if_fail (WB_IS_TRIP_DETAIL (self), NULL);
  return self->reassign_dialog;
}

void
wb_trip_detail_set_position_interval (WbTripDetail *self,
                                      guint         interval_ms)
{
  g_return_if_fail (WB_IS_TRIP_DETAIL (self));
  self->position_interval_ms = MAX (interval_ms, 100);
}
