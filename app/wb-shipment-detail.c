// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include <glib/gi18n.h>

#include "wb-client-trackings.h"
#include "wb-event-stream.h"
#include "wb-places-map.h"
#include "wb-shipment-detail.h"
#include "wb-shipment-format.h"

/* A shipment's history rarely runs past a few dozen events; the timeline
 * shows the newest this many. */
#define TIMELINE_LIMIT 500

struct _WbShipmentDetail
{
  GtkWidget         parent_instance;

  WbClient         *client;
  char             *shipment_id;
  WbClientShipment *shipment;
  GListStore       *timeline;
  WbEventStream    *stream;
  GCancellable     *refreshing;     /* non-NULL while a read is on its way */
  gboolean          refresh_again;  /* a change came meanwhile: read once more */
  GError           *error;

  GtkLabel         *title_label;
  GtkLabel         *id_label;
  GtkLabel         *live_label;
  AdwActionRow     *status_row;
  AdwActionRow     *eta_row;
  AdwActionRow     *sla_row;
  AdwActionRow     *promised_row;
  AdwActionRow     *client_row;
  AdwActionRow     *recipient_row;
  AdwActionRow     *phone_row;
  AdwActionRow     *email_row;
  AdwActionRow     *origin_row;
  AdwActionRow     *destination_row;
  GtkListBox       *timeline_list;
  AdwPreferencesGroup *trackings_group;
  GPtrArray        *tracking_rows;   /* the rows trackings_group holds now */
  WbPlacesMap      *places_map;
};

G_DEFINE_FINAL_TYPE (WbShipmentDetail, wb_shipment_detail, GTK_TYPE_WIDGET)

static void refresh (WbShipmentDetail *self);

/* ---- the timeline ----------------------------------------------------------- */

static GtkWidget *
new_caption (const char *text,
             const char *style)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_widget_add_css_class (label, "caption");
  if (style != NULL)
    gtk_widget_add_css_class (label, style);
  return label;
}

/* "PU / Picked up · Brest hub · dhl": the carrier's own code, the place
 * and who reported it. */
static char *
event_details (WbClientShipmentEvent *event)
{
  const char *parts[] = {
    wb_client_shipment_event_get_status_raw (event),
    wb_client_shipment_event_get_location_text (event),
    wb_client_shipment_event_get_source (event),
  };
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (parts); i++)
    if (parts[i] != NULL && *parts[i] != '\0')
      g_string_append_printf (text, "%s%s", text->len > 0 ? " · " : "", parts[i]);
  return g_string_free (text, FALSE);
}

static GtkWidget *
new_zone_flag (WbClientShipmentEvent *event)
{
  GtkWidget *flag = gtk_image_new_from_icon_name ("dialog-warning-symbolic");
  g_autofree char *tip = g_strdup_printf (_("The carrier sent “%s” without a time zone; a zone was assumed"),
                                          wb_client_shipment_event_get_occurred_at_raw (event) ?: "");

  gtk_widget_set_tooltip_text (flag, tip);
  gtk_widget_add_css_class (flag, "warning");
  gtk_accessible_update_property (GTK_ACCESSIBLE (flag), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Time zone assumed"), -1);
  gtk_widget_set_name (flag, "zone-guessed");
  return flag;
}

static GtkWidget *
create_event_row (gpointer item,
                  gpointer user_data)
{
  WbClientShipmentEvent *event = item;
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *line = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *status = gtk_label_new (wb_shipment_format_status (wb_client_shipment_event_get_status (event)));
  g_autofree char *time = wb_shipment_format_time (wb_client_shipment_event_get_occurred_at (event));
  g_autofree char *details = event_details (event);
  g_autofree char *label = NULL;
  GtkWidget *time_label = gtk_label_new (time);

  gtk_widget_set_margin_top (box, 8);
  gtk_widget_set_margin_bottom (box, 8);
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);
  gtk_widget_add_css_class (status, "heading");
  gtk_box_append (GTK_BOX (line), status);
  if (wb_client_shipment_event_get_zone_guessed (event))
    gtk_box_append (GTK_BOX (line), new_zone_flag (event));
  gtk_widget_set_hexpand (time_label, TRUE);
  gtk_widget_set_halign (time_label, GTK_ALIGN_END);
  gtk_widget_add_css_class (time_label, "dim-label");
  gtk_box_append (GTK_BOX (line), time_label);
  gtk_box_append (GTK_BOX (box), line);
  if (*details != '\0')
    gtk_box_append (GTK_BOX (box), new_caption (details, "dim-label"));
  if (wb_client_shipment_event_get_zone_guessed (event))
    {
      g_autofree char *note = g_strdup_printf (_("Carrier time “%s” had no zone; assumed"),
                                               wb_client_shipment_event_get_occurred_at_raw (event) ?: "");

      gtk_box_append (GTK_BOX (box), new_caption (note, "warning"));
    }
  if (wb_client_shipment_event_get_description (event) != NULL)
    gtk_box_append (GTK_BOX (box), new_caption (wb_client_shipment_event_get_description (event), NULL));
  if (wb_client_shipment_event_get_correction (event))
    gtk_box_append (GTK_BOX (box), new_caption (_("Correction"), "accent"));
  else if (!wb_client_shipment_event_get_applied (event))
    gtk_box_append (GTK_BOX (box), new_caption (_("Did not change the status"), "dim-label"));

  label = g_strdup_printf ("%s, %s%s%s%s", gtk_label_get_text (GTK_LABEL (status)), time,
                           *details != '\0' ? ", " : "", details,
                           wb_client_shipment_event_get_zone_guessed (event) ? _(", time zone assumed") : "");
  gtk_accessible_update_property (GTK_ACCESSIBLE (box), GTK_ACCESSIBLE_PROPERTY_LABEL, label, -1);
  return box;
}

/* Each stored event once, in the server's order (newest first). Items
 * already shown keep their object, so an unchanged timeline is not
 * rebuilt; the stored id and (source, eventId) both identify an event. */
static void
apply_events (WbShipmentDetail *self,
              GPtrArray        *events)
{
  /* Holds its own reference: the splice drops the store's before it adds. */
  g_autoptr(GHashTable) shown = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_object_unref);
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GPtrArray) items = g_ptr_array_new ();
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->timeline));
  gboolean same;

  for (guint i = 0; i < n; i++)
    {
      WbClientShipmentEvent *event = g_list_model_get_item (G_LIST_MODEL (self->timeline), i);

      g_hash_table_insert (shown, (gpointer) wb_client_shipment_event_get_id (event), event);
    }
  for (guint i = 0; i < events->len; i++)
    {
      WbClientShipmentEvent *event = g_ptr_array_index (events, i);
      g_autofree char *origin = g_strconcat (wb_client_shipment_event_get_source (event), "\x1f",
                                             wb_client_shipment_event_get_event_id (event), NULL);
      const char *id = wb_client_shipment_event_get_id (event);
      WbClientShipmentEvent *held;

      if (g_hash_table_contains (seen, id) || g_hash_table_contains (seen, origin))
        continue;
      g_hash_table_add (seen, g_strdup (id));
      g_hash_table_add (seen, g_steal_pointer (&origin));
      held = g_hash_table_lookup (shown, id);
      g_ptr_array_add (items, held != NULL ? held : event);
    }
  same = items->len == n;
  for (guint i = 0; same && i < n; i++)
    {
      g_autoptr(GObject) item = g_list_model_get_item (G_LIST_MODEL (self->timeline), i);

      same = item == g_ptr_array_index (items, i);
    }
  if (!same)
    g_list_store_splice (self->timeline, 0, n, items->pdata, items->len);
}

/* ---- the shipment ----------------------------------------------------------- */

static void
set_subtitle (AdwActionRow *row,
              const char   *text)
{
  adw_action_row_set_subtitle (row, text != NULL && *text != '\0' ? text : "—");
}

static void
show_status (WbShipmentDetail *self,
             WbClientShipment *shipment)
{
  const char *reason = wb_client_shipment_get_status_reason (shipment);
  g_autofree char *status = NULL;
  g_autofree char *at = wb_shipment_format_time (wb_client_shipment_get_status_at (shipment));
  g_autofree char *eta_time = wb_shipment_format_time (wb_client_shipment_get_eta (shipment));
  g_autofree char *eta = NULL;
  g_autofree char *sla = NULL;
  g_autofree char *promised = wb_shipment_format_time (wb_client_shipment_get_promised_at (shipment));
  gint64 late = wb_client_shipment_get_late_by_seconds (shipment);

  /* Translators: a status, its reason (if any) and since when */
  status = g_strdup_printf (_("%s%s%s since %s"), wb_shipment_format_status (wb_client_shipment_get_status (shipment)),
                            reason ? " · " : "", reason ? reason : "", at);
  /* Translators: an ETA and where it comes from ("from the carrier") */
  eta = g_strdup_printf (_("%s, %s"), eta_time, wb_shipment_format_eta_source (wb_client_shipment_get_eta_source (shipment)));
  if (late > 0)
    sla = g_strdup_printf (_("%s, late by %d h %02d min"), wb_shipment_format_sla_state (wb_client_shipment_get_sla_state (shipment)),
                           (int) (late / 3600), (int) (late / 60 % 60));
  else
    sla = g_strdup (wb_shipment_format_sla_state (wb_client_shipment_get_sla_state (shipment)));
  set_subtitle (self->status_row, status);
  set_subtitle (self->eta_row, eta);
  set_subtitle (self->sla_row, sla);
  set_subtitle (self->promised_row, promised);
}

/* ---- trackings and places ------------------------------------------------------ */

static void
show_trackings (WbShipmentDetail *self,
                WbClientShipment *shipment)
{
  guint n = wb_client_shipment_get_n_trackings (shipment);

  for (guint i = 0; i < self->tracking_rows->len; i++)
    adw_preferences_group_remove (self->trackings_group, g_ptr_array_index (self->tracking_rows, i));
  g_ptr_array_set_size (self->tracking_rows, 0);
  for (guint i = 0; i < n; i++)
    {
      const WbClientShipmentTracking *tracking = wb_client_shipment_get_tracking (shipment, i);
      GtkWidget *row = adw_action_row_new ();
      g_autofree char *title = g_strdup_printf ("%s %s", tracking->carrier, tracking->track_number);
      g_autofree char *checked = tracking->last_checked_at ? wb_shipment_format_time (tracking->last_checked_at) : NULL;
      /* Translators: a tracking's status and when the carrier was last asked */
      g_autofree char *subtitle = checked ? g_strdup_printf (_("%s · checked %s"),
                                                             wb_shipment_format_status (tracking->status ?: "PENDING"),
                                                             checked)
                                          : g_strdup (_("Not checked yet"));
      g_autofree char *name = g_strdup_printf ("tracking-%u", i);

      gtk_widget_set_name (row, name);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
      if (tracking->id > 0)
        {
          GtkWidget *button = gtk_button_new_from_icon_name ("view-refresh-symbolic");
          /* Translators: a button's accessible name, %s a track number */
          g_autofree char *label = g_strdup_printf (_("Check %s now"), tracking->track_number);

          gtk_widget_add_css_class (button, "flat");
          gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
          gtk_widget_set_tooltip_text (button, _("Check now"));
          gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL, label, -1);
          gtk_actionable_set_action_target (GTK_ACTIONABLE (button), "x", tracking->id);
          gtk_actionable_set_action_name (GTK_ACTIONABLE (button), "shipment.check-tracking");
          adw_action_row_add_suffix (ADW_ACTION_ROW (row), button);
        }
      adw_preferences_group_add (self->trackings_group, row);
      g_ptr_array_add (self->tracking_rows, row);
    }
  if (n == 0)
    {
      GtkWidget *row = adw_action_row_new ();

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), _("No carrier tracks it"));
      gtk_widget_add_css_class (row, "dim-label");
      adw_preferences_group_add (self->trackings_group, row);
      g_ptr_array_add (self->tracking_rows, row);
    }
}

/* The events the carriers placed, numbered oldest first, and the vehicle
 * while the parcel rides a trip. Hidden when there is nothing to place. */
static void
show_places (WbShipmentDetail *self)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->timeline));
  double lat = 0, lon = 0;
  gboolean live = self->shipment && wb_client_shipment_get_live_location (self->shipment, &lat, &lon, NULL);
  guint number = 0;

  wb_places_map_clear (self->places_map);
  wb_places_map_set_joined (self->places_map, TRUE);
  /* The timeline is newest first. */
  for (guint i = n; i > 0; i--)
    {
      g_autoptr(WbClientShipmentEvent) event = g_list_model_get_item (G_LIST_MODEL (self->timeline), i - 1);
      double event_lat, event_lon;

      if (wb_client_shipment_event_get_position (event, &event_lat, &event_lon))
        {
          g_autofree char *label = g_strdup_printf ("%u", ++number);

          wb_places_map_add_place (self->places_map, label, event_lat, event_lon, TRUE);
        }
    }
  wb_places_map_set_live (self->places_map, live, lat, lon);
  gtk_widget_set_visible (GTK_WIDGET (self->places_map), number > 0 || live);
  wb_places_map_frame (self->places_map);
}

static void
on_checked (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  g_autoptr(WbShipmentDetail) self = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(WbClientTracking) tracking = wb_client_refresh_tracking_finish (WB_CLIENT (source), result, &error);

  if (tracking == NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_autofree char *message = g_strdup_printf (_("Not checked now: %s"), error->message);

      gtk_label_set_text (self->live_label, message);
    }
}

static void
check_tracking_action (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *parameter)
{
  WbShipmentDetail *self = WB_SHIPMENT_DETAIL (widget);

  if (self->client != NULL)
    wb_client_refresh_tracking_async (self->client, g_variant_get_int64 (parameter), NULL, on_checked,
                                      g_object_ref (self));
}

static void
show_shipment (WbShipmentDetail *self,
               WbClientShipment *shipment)
{
  g_autofree char *origin = wb_shipment_format_address (wb_client_shipment_get_origin (shipment));
  g_autofree char *destination = wb_shipment_format_address (wb_client_shipment_get_destination (shipment));
  const char *reference = wb_client_shipment_get_reference (shipment);

  g_set_object (&self->shipment, shipment);
  gtk_label_set_text (self->title_label, reference ? reference : _("Shipment"));
  gtk_label_set_text (self->id_label, wb_client_shipment_get_id (shipment));
  show_status (self, shipment);
  set_subtitle (self->client_row, wb_client_shipment_get_client_id (shipment));
  set_subtitle (self->recipient_row, wb_client_shipment_get_recipient_name (shipment));
  set_subtitle (self->phone_row, wb_client_shipment_get_recipient_phone (shipment));
  set_subtitle (self->email_row, wb_client_shipment_get_recipient_email (shipment));
  set_subtitle (self->origin_row, origin);
  set_subtitle (self->destination_row, destination);
  show_trackings (self, shipment);
}

/* ---- reading over REST ------------------------------------------------------ */

typedef struct
{
  WbShipmentDetail *self;
  GCancellable     *cancellable;
  WbClientShipment *shipment;
  GPtrArray        *events;
  GError           *error;
  guint             pending;
} Refresh;

static void
refresh_free (Refresh *read)
{
  g_object_unref (read->self);
  g_object_unref (read->cancellable);
  g_clear_object (&read->shipment);
  g_clear_pointer (&read->events, g_ptr_array_unref);
  g_clear_error (&read->error);
  g_free (read);
}

static void
refresh_done (Refresh *read)
{
  WbShipmentDetail *self = read->self;

  if (--read->pending > 0)
    return;
  if (g_cancellable_is_cancelled (read->cancellable))
    return refresh_free (read);
  g_clear_object (&self->refreshing);
  g_clear_error (&self->error);
  if (read->error != NULL)
    self->error = g_steal_pointer (&read->error);
  else
    {
      show_shipment (self, read->shipment);
      apply_events (self, read->events);
      show_places (self);
    }
  refresh_free (read);
  if (self->refresh_again)
    refresh (self);
}

static void
on_shipment_read (GObject      *source,
                  GAsyncResult *result,
                  gpointer      data)
{
  Refresh *read = data;

  read->shipment = wb_client_get_shipment_finish (WB_CLIENT (source), result,
                                                     read->error ? NULL : &read->error);
  refresh_done (read);
}

static void
on_events_read (GObject      *source,
                GAsyncResult *result,
                gpointer      data)
{
  Refresh *read = data;

  read->events = wb_client_list_shipment_events_finish (WB_CLIENT (source), result, NULL,
                                                           read->error ? NULL : &read->error);
  refresh_done (read);
}

static void
refresh (WbShipmentDetail *self)
{
  Refresh *read;

  if (self->client == NULL || self->shipment_id == NULL)
    return;
  if (self->refreshing != NULL)
    {
      self->refresh_again = TRUE;
      return;
    }
  self->refresh_again = FALSE;
  self->refreshing = g_cancellable_new ();
  read = g_new0 (Refresh, 1);
  read->self = g_object_ref (self);
  read->cancellable = g_object_ref (self->refreshing);
  read->pending = 2;
  wb_client_get_shipment_async (self->client, self->shipment_id, read->cancellable, on_shipment_read, read);
  wb_client_list_shipment_events_async (self->client, self->shipment_id, TIMELINE_LIMIT, 0, read->cancellable,
                                        on_events_read, read);
}

/* ---- /ws/events ------------------------------------------------------------- */

static void
on_stream_event (WbShipmentDetail *self,
                 JsonObject       *event)
{
  if (g_strcmp0 (json_object_get_string_member_with_default (event, "shipmentId", NULL), self->shipment_id) == 0)
    refresh (self);
}

static void
on_stream_state (WbShipmentDetail *self)
{
  WbStreamState state = wb_event_stream_get_state (self->stream);

  switch (state)
    {
    case WB_STREAM_STATE_LIVE:
      gtk_label_set_text (self->live_label, _("Live"));
      gtk_widget_remove_css_class (GTK_WIDGET (self->live_label), "dim-label");
      gtk_widget_add_css_class (GTK_WIDGET (self->live_label), "success");
      /* What changed between the first read and the subscription. */
      refresh (self);
      break;
    case WB_STREAM_STATE_RECONNECTING:
      gtk_label_set_text (self->live_label, _("Reconnecting…"));
      gtk_widget_remove_css_class (GTK_WIDGET (self->live_label), "success");
      gtk_widget_add_css_class (GTK_WIDGET (self->live_label), "dim-label");
      break;
    case WB_STREAM_STATE_CONNECTING:
    case WB_STREAM_STATE_DISCONNECTED:
    default:
      gtk_label_set_text (self->live_label, _("Connecting…"));
      gtk_widget_remove_css_class (GTK_WIDGET (self->live_label), "success");
      gtk_widget_add_css_class (GTK_WIDGET (self->live_label), "dim-label");
      break;
    }
}

static void
stop_stream (WbShipmentDetail *self)
{
  if (self->stream == NULL)
    return;
  g_signal_handlers_disconnect_by_data (self->stream, self);
  wb_event_stream_stop (self->stream);
  g_clear_object (&self->stream);
}

static void
start_stream (WbShipmentDetail *self)
{
  const char *kinds[] = { "shipment", "sla", NULL };
  const char *shipment_ids[] = { self->shipment_id, NULL };

  self->stream = wb_event_stream_new (self->client);
  wb_event_stream_set_filter (self->stream, kinds, NULL, shipment_ids);
  g_signal_connect_swapped (self->stream, "event", G_CALLBACK (on_stream_event), self);
  g_signal_connect_swapped (self->stream, "resync", G_CALLBACK (refresh), self);
  g_signal_connect_swapped (self->stream, "notify::state", G_CALLBACK (on_stream_state), self);
  wb_event_stream_start (self->stream);
  on_stream_state (self);
}

/* ---- the widget ------------------------------------------------------------- */

static void
cancel_refresh (WbShipmentDetail *self)
{
  if (self->refreshing != NULL)
    g_cancellable_cancel (self->refreshing);
  g_clear_object (&self->refreshing);
  self->refresh_again = FALSE;
}

static void
wb_shipment_detail_dispose (GObject *object)
{
  GtkWidget *child;
  WbShipmentDetail *self = WB_SHIPMENT_DETAIL (object);

  stop_stream (self);
  cancel_refresh (self);
  g_clear_object (&self->client);
  g_clear_object (&self->shipment);
  gtk_widget_dispose_template (GTK_WIDGET (self), WB_TYPE_SHIPMENT_DETAIL);
  /* Template children without an id are ours to unparent too. */
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);
  G_OBJECT_CLASS (wb_shipment_detail_parent_class)->dispose (object);
}

static void
wb_shipment_detail_finalize (GObject *object)
{
  WbShipmentDetail *self = WB_SHIPMENT_DETAIL (object);

  g_free (self->shipment_id);
  g_clear_object (&self->timeline);
  g_ptr_array_unref (self->tracking_rows);
  g_clear_error (&self->error);
  G_OBJECT_CLASS (wb_shipment_detail_parent_class)->finalize (object);
}

static void
wb_shipment_detail_class_init (WbShipmentDetailClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = wb_shipment_detail_dispose;
  object_class->finalize = wb_shipment_detail_finalize;

  gtk_widget_class_set_template_from_resource (widget_class, "/org/waybill/Waybill/wb-shipment-detail.ui");
  gtk_widget_class_bind_template_child (widget_class, WbShipmentDetail, title_label);
  gtk_widget_class_bind_template_child (widget_class, WbShipmentDetail, id_label);
  gtk_widget_class_bind_template_child (widget_class, WbShipmentDetail, live_label);
  gtk_widget_class_bind_template_child (widget_class, WbShipmentDetail, status_row);
  gtk_widget_class_bind_template_child (widget_class, WbShipmentDetail, eta_row);
  gtk_widget_class_bind_template_child (widget_class, WbShipmentDetail, sla_row);
  gtk_widget_class_bind_template_child (widget_class, WbShipmentDetail, promised_row);
  gtk_widget_class_bind_template_child (widget_class, WbShipmentDetail, client_row);
  gtk_widget_class_bind_template_child (widget_class, WbShipmentDetail, recipient_row);
  gtk_widget_class_bind_template_child (widget_class, WbShipmentDetail, phone_row);
  gtk_widget_class_bind_template_child (widget_class, WbShipmentDetail, email_row);
  gtk_widget_class_bind_template_child (widget_class, WbShipmentDetail, origin_row);
  gtk_widget_class_bind_template_child (widget_class, WbShipmentDetail, destination_row);
  gtk_widget_class_bind_template_child (widget_class, WbShipmentDetail, timeline_list);
  gtk_widget_class_bind_template_child (widget_class, WbShipmentDetail, trackings_group);
  gtk_widget_class_bind_template_child (widget_class, WbShipmentDetail, places_map);
  gtk_widget_class_install_action (widget_class, "shipment.check-tracking", "x", check_tracking_action);
  g_type_ensure (WB_TYPE_PLACES_MAP);
}

static void
wb_shipment_detail_init (WbShipmentDetail *self)
{
  self->timeline = g_list_store_new (WB_TYPE_CLIENT_SHIPMENT_EVENT);
  self->tracking_rows = g_ptr_array_new ();
  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_list_box_bind_model (self->timeline_list, G_LIST_MODEL (self->timeline), create_event_row, NULL, NULL);
}

void
wb_shipment_detail_set_tiles (WbShipmentDetail *self,
                              const char       *tiles)
{
  g_return_if_fail (WB_IS_SHIPMENT_DETAIL (self));
  wb_places_map_set_tiles (self->places_map, tiles);
}

GtkWidget *
wb_shipment_detail_get_places_map (WbShipmentDetail *self)
{
  g_return_val_if_fail (WB_IS_SHIPMENT_DETAIL (self), NULL);
  return GTK_WIDGET (self->places_map);
}

GtkWidget *
wb_shipment_detail_new (void)
{
  return g_object_new (WB_TYPE_SHIPMENT_DETAIL, NULL);
}

void
wb_shipment_detail_set_client (WbShipmentDetail *self,
                               WbClient         *client)
{
  g_return_if_fail (WB_IS_SHIPMENT_DETAIL (self));
  g_return_if_fail (client == NULL || WB_IS_CLIENT (client));

  if (self->client == client)
    return;
  wb_shipment_detail_show (self, NULL);
  g_set_object (&self->client, client);
}

void
wb_shipment_detail_show (WbShipmentDetail *self,
                         const char       *shipment_id)
{
  g_return_if_fail (WB_IS_SHIPMENT_DETAIL (self));

  stop_stream (self);
  cancel_refresh (self);
  g_clear_object (&self->shipment);
  g_clear_error (&self->error);
  g_list_store_remove_all (self->timeline);
  g_free (self->shipment_id);
  self->shipment_id = g_strdup (shipment_id);
  gtk_label_set_text (self->title_label, "");
  gtk_label_set_text (self->id_label, shipment_id ? shipment_id : "");
  if (shipment_id == NULL || self->client == NULL)
    return;
  refresh (self);
  start_stream (self);
}

const char *
wb_shipment_detail_get_shipment_id (WbShipmentDetail *self)
{
  g_return_val_if_fail (WB_IS_SHIPMENT_DETAIL (self), NULL);
  return self->shipment_id;
}

WbClientShipment *
wb_shipment_detail_get_shipment (WbShipmentDetail *self)
{
  g_return_val_if_fail (WB_IS_SHIPMENT_DETAIL (self), NULL);
  return self->shipment;
}

GListModel *
wb_shipment_detail_get_timeline (WbShipmentDetail *self)
{
  g_return_val_if_fail (WB_IS_SHIPMENT_DETAIL (self), NULL);
  return G_LIST_MODEL (self->timeline);
}

WbStreamState
wb_shipment_detail_get_stream_state (WbShipmentDetail *self)
{
  g_return_val_if_fail (WB_IS_SHIPMENT_DETAIL (self), WB_STREAM_STATE_DISCONNECTED);
  return self->stream != NULL ? wb_event_stream_get_state (self->stream) : WB_STREAM_STATE_DISCONNECTED;
}

gboolean
wb_shipment_detail_get_loading (WbShipmentDetail *self)
{
  g_return_val_if_fail (WB_IS_SHIPMENT_DETAIL (self), FALSE);
  return self->refreshing != NULL;
}

const GError *
wb_shipment_detail_get_error (WbShipmentDetail *self)
{
  g_return_val_if_fail (WB_IS_SHIPMENT_DETAIL (self), NULL);
  return self->error;
}
