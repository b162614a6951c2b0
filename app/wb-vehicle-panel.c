// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include <glib/gi18n.h>

#include <adwaita.h>
#include <math.h>

#include "wb-vehicle-panel.h"
#include "wb-vehicle-row.h"
#include "wb-units.h"

struct _WbVehiclePanel
{
  GtkWidget        parent_instance;

  WbClientVehicle *vehicle;
  gulong           notify_id;
  WbClient        *client;
  WbClientTrack   *track;
  GCancellable    *track_cancellable;
  guint            age_source;

  gint64           track_start;
  gint64           track_end;
  gint64           replay_time;
  double           replay_speed;
  gboolean         playing;
  guint            tick_id;
  gint64           last_frame;
  gboolean         moving_scale;   /* the clock moves the scale: not a user seek */

  GtkLabel        *title_label;
  AdwActionRow    *driver_row;
  AdwActionRow    *company_row;
  AdwActionRow    *plate_row;
  AdwActionRow    *device_row;
  AdwActionRow    *fix_row;
  AdwActionRow    *state_row;
  AdwActionRow    *speed_row;
  AdwActionRow    *course_row;
  AdwActionRow    *ignition_row;
  AdwActionRow    *trip_row;
  AdwComboRow     *period_row;
  AdwActionRow    *track_row;
  AdwActionRow    *replay_row;
  GtkButton       *play_button;
  GtkAdjustment   *replay_adjustment;
  AdwComboRow     *speed_combo;
};

enum
{
  PROP_0,
  PROP_VEHICLE,
  PROP_REPLAY_TIME,
  PROP_REPLAY_SPEED,
  PROP_PLAYING,
  PROP_TRACK,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static const gint64 periods[] = { 3600, 6 * 3600, 24 * 3600, 7 * 24 * 3600 };
static const double speeds[] = { 1, 10, 60, 100, 300, 1000 };

G_DEFINE_FINAL_TYPE (WbVehiclePanel, wb_vehicle_panel, GTK_TYPE_WIDGET)

static void set_track           (WbVehiclePanel *self,
                                 WbClientTrack  *track);
static void update_track_action (WbVehiclePanel *self);

char *
wb_vehicle_panel_format_age (gint64 seconds)
{
  if (seconds < 0)
    seconds = 0;
  /* Ages past 48 h are whole days; an int holds any of these counts. */
  if (seconds < 60)
    return g_strdup_printf (_("%d s ago"), (int) seconds);
  if (seconds < 3600)
    return g_strdup_printf (_("%d min ago"), (int) (seconds / 60));
  if (seconds < 48 * 3600)
    return g_strdup_printf (_("%d h %02d min ago"), (int) (seconds / 3600), (int) (seconds / 60 % 60));
  return g_strdup_printf (ngettext ("%d day ago", "%d days ago", (unsigned long) (seconds / 86400)),
                          (int) MIN (seconds / 86400, G_MAXINT));
}

static char *
format_local_time (gint64 unix_us)
{
  g_autoptr(GDateTime) utc = g_date_time_new_from_unix_utc (unix_us / G_USEC_PER_SEC);
  g_autoptr(GDateTime) local = utc ? g_date_time_to_local (utc) : NULL;

  return local ? g_date_time_format (local, "%Y-%m-%d %H:%M:%S") : g_strdup ("—");
}

static void
set_value (AdwActionRow *row,
           const char   *value)
{
  adw_action_row_set_subtitle (row, value && *value ? value : "—");
}

static void
update_age (WbVehiclePanel *self)
{
  const WbLiveVehicle *state = wb_client_vehicle_get_state (self->vehicle);
  g_autofree char *when = NULL;
  g_autofree char *age = NULL;
  g_autofree char *text = NULL;

  if (state->fix_time <= 0)
    {
      set_value (self->fix_row, NULL);
      return;
    }
  when = format_local_time (state->fix_time);
  age = wb_vehicle_panel_format_age ((g_get_real_time () - state->fix_time) / G_USEC_PER_SEC);
  text = g_strdup_printf ("%s · %s", when, age);
  set_value (self->fix_row, text);
}

static const char *
ignition_text (WbLiveIgnition ignition)
{
  switch (ignition)
    {
    case WB_LIVE_IGNITION_ON:
      return _("On");
    case WB_LIVE_IGNITION_OFF:
      return _("Off");
    case WB_LIVE_IGNITION_UNKNOWN:
    default:
      return NULL;
    }
}

static void
update (WbVehiclePanel *self)
{
  const WbLiveVehicle *state = wb_client_vehicle_get_state (self->vehicle);
  g_autofree char *title = wb_vehicle_title (self->vehicle);
  g_autofree char *speed = isnan (state->speed) ? NULL : wb_units_format_speed (state->speed);
  g_autofree char *course = isnan (state->course) ? NULL : g_strdup_printf ("%.0f°", state->course);
  const char *company = wb_client_vehicle_get_company_name (self->vehicle);

  gtk_label_set_text (self->title_label, title);
  set_value (self->driver_row, wb_client_vehicle_get_driver_name (self->vehicle) ?: state->driver_id);
  set_value (self->company_row, company ? company : state->company_id);
  set_value (self->plate_row, wb_client_vehicle_get_plate (self->vehicle));
  set_value (self->device_row, state->device_id);
  set_value (self->state_row, wb_vehicle_state_label (self->vehicle));
  set_value (self->speed_row, speed);
  set_value (self->course_row, course);
  set_value (self->ignition_row, ignition_text (state->ignition));
  set_value (self->trip_row, state->trip_id ? state->trip_id : _("No active trip"));
  update_age (self);
}

static gboolean
on_age_tick (gpointer user_data)
{
  update_age (user_data);
  return G_SOURCE_CONTINUE;
}

static void
on_vehicle_notify (WbVehiclePanel *self)
{
  update (self);
}

void
wb_vehicle_panel_set_vehicle (WbVehiclePanel  *self,
                              WbClientVehicle *vehicle)
{
  g_return_if_fail (WB_IS_VEHICLE_PANEL (self));
  g_return_if_fail (vehicle == NULL || WB_IS_CLIENT_VEHICLE (vehicle));

  if (self->vehicle == vehicle)
    return;
  g_clear_signal_handler (&self->notify_id, self->vehicle);
  g_clear_handle_id (&self->age_source, g_source_remove);
  g_set_object (&self->vehicle, vehicle);
  g_cancellable_cancel (self->track_cancellable);
  set_track (self, NULL);
  adw_action_row_set_subtitle (self->track_row, _("Not loaded"));
  update_track_action (self);
  if (vehicle != NULL)
    {
      self->notify_id = g_signal_connect_swapped (vehicle, "notify", G_CALLBACK (on_vehicle_notify), self);
      /* The age is the one value that changes without a message. */
      self->age_source = g_timeout_add_seconds (1, on_age_tick, self);
      update (self);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VEHICLE]);
}

WbClientVehicle *
wb_vehicle_panel_get_vehicle (WbVehiclePanel *self)
{
  g_return_val_if_fail (WB_IS_VEHICLE_PANEL (self), NULL);
  return self->vehicle;
}

gint64
wb_vehicle_panel_get_period (WbVehiclePanel *self)
{
  guint selected;

  g_return_val_if_fail (WB_IS_VEHICLE_PANEL (self), 0);

  selected = adw_combo_row_get_selected (self->period_row);
  return periods[MIN (selected, G_N_ELEMENTS (periods) - 1)];
}

/* ---- track ------------------------------------------------------------- */

static void
update_track_action (WbVehiclePanel *self)
{
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "panel.load-track", self->client != NULL && self->vehicle != NULL);
}

static void
set_track (WbVehiclePanel *self,
           WbClientTrack  *track)
{
  if (self->track == track)
    return;
  g_clear_pointer (&self->track, wb_client_track_unref);
  self->track = track ? wb_client_track_ref (track) : NULL;
  if (track != NULL && track->points->len > 0)
    wb_vehicle_panel_set_track_span (self, g_array_index (track->points, WbClientTrackPoint, 0).time,
                                     g_array_index (track->points, WbClientTrackPoint, track->points->len - 1).time);
  else
    wb_vehicle_panel_set_track_span (self, 0, 0);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TRACK]);
}

static void
on_track (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(WbVehiclePanel) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(WbClientTrack) track = wb_client_get_track_finish (WB_CLIENT (source), result, &error);
  g_autofree char *summary = NULL;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (track == NULL)
    {
      adw_action_row_set_subtitle (self->track_row, error->message);
      return;
    }
  summary = g_strdup_printf (_("%u points · %.1f km · %u trips · %u stops"), track->points->len,
                             track->distance / 1000, track->trips->len, track->stops->len);
  adw_action_row_set_subtitle (self->track_row, track->points->len ? summary : _("No positions in the period"));
  set_track (self, track);
}

void
wb_vehicle_panel_load_track (WbVehiclePanel *self)
{
  gint64 now = g_get_real_time ();

  g_return_if_fail (WB_IS_VEHICLE_PANEL (self));

  if (self->client == NULL || self->vehicle == NULL)
    return;
  g_cancellable_cancel (self->track_cancellable);
  g_clear_object (&self->track_cancellable);
  self->track_cancellable = g_cancellable_new ();
  adw_action_row_set_subtitle (self->track_row, _("Loading…"));
  wb_client_get_track_async (self->client, wb_client_vehicle_get_id (self->vehicle),
                             now - wb_vehicle_panel_get_period (self) * G_USEC_PER_SEC, now, -1,
                             self->track_cancellable, on_track, g_object_ref (self));
}

static void
load_track_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  wb_vehicle_panel_load_track (WB_VEHICLE_PANEL (widget));
}

void
wb_vehicle_panel_set_client (WbVehiclePanel *self,
                             WbClient       *client)
{
  g_return_if_fail (WB_IS_VEHICLE_PANEL (self));
  g_return_if_fail (client == NULL || WB_IS_CLIENT (client));

  g_set_object (&self->client, client);
  update_track_action (self);
}

WbClientTrack *
wb_vehicle_panel_get_track (WbVehiclePanel *self)
{
  g_return_val_if_fail (WB_IS_VEHICLE_PANEL (self), NULL);
  return self->track;
}

/* ---- replay ------------------------------------------------------------- */

static void
update_replay_row (WbVehiclePanel *self)
{
  g_autofree char *when = NULL;

  if (self->track_end <= self->track_start)
    {
      adw_action_row_set_subtitle (self->replay_row, _("No track loaded"));
      return;
    }
  when = format_local_time (self->replay_time);
  adw_action_row_set_subtitle (self->replay_row, when);
}

void
wb_vehicle_panel_set_replay_time (WbVehiclePanel *self,
                                  gint64          time)
{
  g_return_if_fail (WB_IS_VEHICLE_PANEL (self));

  time = CLAMP (time, self->track_start, self->track_end);
  if (time == self->replay_time)
    return;
  self->replay_time = time;
  self->moving_scale = TRUE;
  gtk_adjustment_set_value (self->replay_adjustment, (double) (time - self->track_start) / G_USEC_PER_SEC);
  self->moving_scale = FALSE;
  update_replay_row (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REPLAY_TIME]);
}

gint64
wb_vehicle_panel_get_replay_time (WbVehiclePanel *self)
{
  g_return_val_if_fail (WB_IS_VEHICLE_PANEL (self), 0);
  return self->replay_time;
}

void
wb_vehicle_panel_set_track_span (WbVehiclePanel *self,
                                 gint64          start,
                                 gint64          end)
{
  g_return_if_fail (WB_IS_VEHICLE_PANEL (self));

  wb_vehicle_panel_set_playing (self, FALSE);
  self->track_start = start;
  self->track_end = MAX (start, end);
  gtk_adjustment_configure (self->replay_adjustment, 0, 0, (double) (self->track_end - start) / G_USEC_PER_SEC,
                            1, 60, 0);
  self->replay_time = start - 1;   /* forces the notify below */
  wb_vehicle_panel_set_replay_time (self, start);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "panel.replay-play", self->track_end > self->track_start);
  update_replay_row (self);
}

static void
on_adjustment_changed (WbVehiclePanel *self)
{
  if (self->moving_scale)
    return;
  wb_vehicle_panel_set_replay_time (self, self->track_start
                                    + (gint64) (gtk_adjustment_get_value (self->replay_adjustment) * G_USEC_PER_SEC));
}

/* Advances by the real time between frames times the speed, so replay is
 * as smooth as the display whatever the speed, instead of a point per
 * fixed interval. */
static gboolean
on_replay_tick (GtkWidget     *widget,
                GdkFrameClock *clock,
                gpointer       user_data)
{
  WbVehiclePanel *self = WB_VEHICLE_PANEL (widget);
  gint64 now = gdk_frame_clock_get_frame_time (clock);

  if (self->last_frame != 0)
    wb_vehicle_panel_set_replay_time (self, self->replay_time
                                      + (gint64) ((double) (now - self->last_frame) * self->replay_speed));
  self->last_frame = now;
  if (self->replay_time >= self->track_end)
    {
      self->tick_id = 0;
      wb_vehicle_panel_set_playing (self, FALSE);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

gboolean
wb_vehicle_panel_get_playing (WbVehiclePanel *self)
{
  g_return_val_if_fail (WB_IS_VEHICLE_PANEL (self), FALSE);
  return self->playing;
}

void
wb_vehicle_panel_set_playing (WbVehiclePanel *self,
                              gboolean        playing)
{
  g_return_if_fail (WB_IS_VEHICLE_PANEL (self));

  playing = playing && self->track_end > self->track_start;
  if (playing == self->playing)
    return;
  self->playing = playing;
  if (playing)
    {
      if (self->replay_time >= self->track_end)
        wb_vehicle_panel_set_replay_time (self, self->track_start);
      self->last_frame = 0;
      self->tick_id = gtk_widget_add_tick_callback (GTK_WIDGET (self), on_replay_tick, NULL, NULL);
    }
  else if (self->tick_id != 0)
    {
      gtk_widget_remove_tick_callback (GTK_WIDGET (self), self->tick_id);
      self->tick_id = 0;
    }
  gtk_button_set_icon_name (self->play_button, playing ? "media-playback-pause-symbolic"
                                                       : "media-playback-start-symbolic");
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PLAYING]);
}

double
wb_vehicle_panel_get_replay_speed (WbVehiclePanel *self)
{
  g_return_val_if_fail (WB_IS_VEHICLE_PANEL (self), 1);
  return self->replay_speed;
}

void
wb_vehicle_panel_set_replay_speed (WbVehiclePanel *self,
                                   double          speed)
{
  g_return_if_fail (WB_IS_VEHICLE_PANEL (self));

  speed = CLAMP (speed, 1, 1000);
  if (speed == self->replay_speed)
    return;
  self->replay_speed = speed;
  for (guint i = 0; i < G_N_ELEMENTS (speeds); i++)
    if (speeds[i] == speed)
      adw_combo_row_set_selected (self->speed_combo, i);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REPLAY_SPEED]);
}

static void
on_speed_selected (WbVehiclePanel *self)
{
  guint selected = adw_combo_row_get_selected (self->speed_combo);

  if (selected < G_N_ELEMENTS (speeds))
    wb_vehicle_panel_set_replay_speed (self, speeds[selected]);
}

static void
replay_play_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  WbVehiclePanel *self = WB_VEHICLE_PANEL (widget);

  wb_vehicle_panel_set_playing (self, !self->playing);
}

/* ---- GObject ------------------------------------------------------------ */

static void
wb_vehicle_panel_dispose (GObject *object)
{
  GtkWidget *child;
  WbVehiclePanel *self = WB_VEHICLE_PANEL (object);

  g_clear_signal_handler (&self->notify_id, self->vehicle);
  g_clear_handle_id (&self->age_source, g_source_remove);
  g_clear_object (&self->vehicle);
  g_cancellable_cancel (self->track_cancellable);
  g_clear_object (&self->track_cancellable);
  g_clear_object (&self->client);
  g_clear_pointer (&self->track, wb_client_track_unref);
  gtk_widget_dispose_template (GTK_WIDGET (self), WB_TYPE_VEHICLE_PANEL);
  /* Template children without an id are ours to unparent too. */
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);
  G_OBJECT_CLASS (wb_vehicle_panel_parent_class)->dispose (object);
}

static void
wb_vehicle_panel_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  WbVehiclePanel *self = WB_VEHICLE_PANEL (object);

  switch (prop_id)
    {
    case PROP_VEHICLE:
      g_value_set_object (value, self->vehicle);
      break;
    case PROP_REPLAY_TIME:
      g_value_set_int64 (value, self->replay_time);
      break;
    case PROP_REPLAY_SPEED:
      g_value_set_double (value, self->replay_speed);
      break;
    case PROP_PLAYING:
      g_value_set_boolean (value, self->playing);
      break;
    case PROP_TRACK:
      g_value_set_boxed (value, self->track);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_vehicle_panel_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  WbVehiclePanel *self = WB_VEHICLE_PANEL (object);

  switch (prop_id)
    {
    case PROP_VEHICLE:
      wb_vehicle_panel_set_vehicle (self, g_value_get_object (value));
      break;
    case PROP_REPLAY_TIME:
      wb_vehicle_panel_set_replay_time (self, g_value_get_int64 (value));
      break;
    case PROP_REPLAY_SPEED:
      wb_vehicle_panel_set_replay_speed (self, g_value_get_double (value));
      break;
    case PROP_PLAYING:
      wb_vehicle_panel_set_playing (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_vehicle_panel_class_init (WbVehiclePanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = wb_vehicle_panel_dispose;
  object_class->get_property = wb_vehicle_panel_get_property;
  object_class->set_property = wb_vehicle_panel_set_property;

  properties[PROP_VEHICLE] =
    g_param_spec_object ("vehicle", NULL, NULL, WB_TYPE_CLIENT_VEHICLE,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_REPLAY_TIME] =
    g_param_spec_int64 ("replay-time", NULL, NULL, 0, G_MAXINT64, 0,
                        G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_REPLAY_SPEED] =
    g_param_spec_double ("replay-speed", NULL, NULL, 1, 1000, 1,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_PLAYING] =
    g_param_spec_boolean ("playing", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_TRACK] =
    g_param_spec_boxed ("track", NULL, NULL, WB_TYPE_CLIENT_TRACK,
                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_install_action (widget_class, "panel.replay-play", NULL, replay_play_action);
  gtk_widget_class_install_action (widget_class, "panel.load-track", NULL, load_track_action);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/waybill/Waybill/wb-vehicle-panel.ui");
  gtk_widget_class_bind_template_child (widget_class, WbVehiclePanel, title_label);
  gtk_widget_class_bind_template_child (widget_class, WbVehiclePanel, driver_row);
  gtk_widget_class_bind_template_child (widget_class, WbVehiclePanel, company_row);
  gtk_widget_class_bind_template_child (widget_class, WbVehiclePanel, plate_row);
  gtk_widget_class_bind_template_child (widget_class, WbVehiclePanel, device_row);
  gtk_widget_class_bind_template_child (widget_class, WbVehiclePanel, fix_row);
  gtk_widget_class_bind_template_child (widget_class, WbVehiclePanel, state_row);
  gtk_widget_class_bind_template_child (widget_class, WbVehiclePanel, speed_row);
  gtk_widget_class_bind_template_child (widget_class, WbVehiclePanel, course_row);
  gtk_widget_class_bind_template_child (widget_class, WbVehiclePanel, ignition_row);
  gtk_widget_class_bind_template_child (widget_class, WbVehiclePanel, trip_row);
  gtk_widget_class_bind_template_child (widget_class, WbVehiclePanel, period_row);
  gtk_widget_class_bind_template_child (widget_class, WbVehiclePanel, track_row);
  gtk_widget_class_bind_template_child (widget_class, WbVehiclePanel, replay_row);
  gtk_widget_class_bind_template_child (widget_class, WbVehiclePanel, play_button);
  gtk_widget_class_bind_template_child (widget_class, WbVehiclePanel, replay_adjustment);
  gtk_widget_class_bind_template_child (widget_class, WbVehiclePanel, speed_combo);
  gtk_widget_class_set_css_name (widget_class, "vehiclepanel");
}

static void
wb_vehicle_panel_init (WbVehiclePanel *self)
{
  self->replay_speed = 1;
  gtk_widget_init_template (GTK_WIDGET (self));
  g_signal_connect_swapped (self->replay_adjustment, "value-changed", G_CALLBACK (on_adjustment_changed), self);
  g_signal_connect_swapped (self->speed_combo, "notify::selected", G_CALLBACK (on_speed_selected), self);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "panel.replay-play", FALSE);
  update_track_action (self);
  update_replay_row (self);
}

GtkWidget *
wb_vehicle_panel_new (void)
{
  return g_object_new (WB_TYPE_VEHICLE_PANEL, NULL);
}
