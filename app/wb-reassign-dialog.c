// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "wb-event-stream.h"
#include "wb-reassign-dialog.h"
#include "wb-trip-format.h"

/* After a failed read of the command, the wait before the next one. */
#define COMMAND_RETRY_MS 1000

typedef struct
{
  char   *vehicle_id;
  char   *plate;
  double  distance_m;   /* NAN: no position */
} Candidate;

struct _WbReassignDialog
{
  AdwWindow         parent_instance;

  WbClient         *client;
  WbClientTrip     *trip;
  GCancellable     *cancellable;
  guint             pending;        /* reads still on their way */
  GPtrArray        *vehicles;       /* WbVehicleRef */
  GPtrArray        *locations;      /* WbLiveVehicle */
  GHashTable       *busy;           /* vehicle ids on IN_TRANSIT trips */
  GError           *load_error;
  GArray           *candidates;     /* Candidate, nearest first */
  gboolean          ready;
  WbClientCommand  *command;
  WbEventStream    *events;         /* the trip's command outcomes */
  gboolean          read_wanted;    /* a pending command, not yet read since the stream went live */
  guint             retry_source;

  AdwWindowTitle   *window_title;
  GtkStack         *candidates_stack;
  AdwStatusPage    *empty_page;
  GtkListBox       *candidates_list;
  GtkEntry         *reason_entry;
  GtkLabel         *outcome_label;
  GtkButton        *send_button;
};

G_DEFINE_FINAL_TYPE (WbReassignDialog, wb_reassign_dialog, ADW_TYPE_WINDOW)

enum { DECIDED, N_SIGNALS };

static guint signals[N_SIGNALS];

static void
candidate_clear (gpointer data)
{
  Candidate *candidate = data;

  g_free (candidate->vehicle_id);
  g_free (candidate->plate);
}

/* ---- the candidates --------------------------------------------------------- */

static const WbLiveVehicle *
find_location (WbReassignDialog *self,
               const char       *vehicle_id)
{
  for (guint i = 0; self->locations != NULL && i < self->locations->len; i++)
    {
      const WbLiveVehicle *live = g_ptr_array_index (self->locations, i);

      if (g_strcmp0 (live->vehicle_id, vehicle_id) == 0)
        return live;
    }
  return NULL;
}

/* Where distances are measured from: the trip's vehicle as it reports,
 * else the next stop not reached, else the last stop. */
static gboolean
reference_point (WbReassignDialog *self,
                 double           *lat,
                 double           *lon)
{
  const WbLiveVehicle *live = find_location (self, wb_client_trip_get_vehicle_id (self->trip));
  guint n = wb_client_trip_get_n_stops (self->trip);

  if (live != NULL)
    {
      *lat = live->lat;
      *lon = live->lon;
      return TRUE;
    }
  for (guint i = 0; i < n; i++)
    {
      const WbClientTripStop *stop = wb_client_trip_get_stop (self->trip, i);

      if (stop->arrived_at == 0 || i == n - 1)
        {
          *lat = stop->lat;
          *lon = stop->lon;
          return TRUE;
        }
    }
  return FALSE;
}

static int
compare_candidates (gconstpointer a,
                    gconstpointer b)
{
  const Candidate *x = a, *y = b;

  if (isnan (x->distance_m) != isnan (y->distance_m))
    return isnan (x->distance_m) ? 1 : -1;
  if (!isnan (x->distance_m) && x->distance_m != y->distance_m)
    return x->distance_m < y->distance_m ? -1 : 1;
  return g_strcmp0 (x->vehicle_id, y->vehicle_id);
}

static GtkWidget *
candidate_row (const Candidate *candidate)
{
  GtkWidget *row = adw_action_row_new ();
  g_autofree char *name = g_strconcat ("candidate-", candidate->vehicle_id, NULL);
  g_autofree char *title = g_strdup_printf ("%s (%s)", candidate->plate ?: candidate->vehicle_id,
                                            candidate->vehicle_id);
  g_autofree char *distance = NULL;
  g_autofree char *subtitle = NULL;

  if (!isnan (candidate->distance_m))
    {
      distance = wb_trip_format_distance (candidate->distance_m);
      /* Translators: a vehicle's distance from the trip's vehicle or next stop */
      subtitle = g_strdup_printf (_("%s away"), distance);
    }
  else
    subtitle = g_strdup (_("No position"));
  gtk_widget_set_name (row, name);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  return row;
}

static void
show_candidates (WbReassignDialog *self)
{
  const char *company = wb_client_trip_get_company_id (self->trip);
  double lat = 0, lon = 0;
  gboolean has_reference = reference_point (self, &lat, &lon);

  for (guint i = 0; i < self->vehicles->len; i++)
    {
      WbVehicleRef *ref = g_ptr_array_index (self->vehicles, i);
      const WbLiveVehicle *live = find_location (self, ref->vehicle_id);
      Candidate candidate = { 0 };

      if (g_strcmp0 (ref->company_id, company) != 0
          || g_strcmp0 (ref->vehicle_id, wb_client_trip_get_vehicle_id (self->trip)) == 0
          || g_hash_table_contains (self->busy, ref->vehicle_id))
        continue;
      candidate.vehicle_id = g_strdup (ref->vehicle_id);
      candidate.plate = g_strdup (ref->plate);
      candidate.distance_m = live != NULL && has_reference ? wb_trip_distance_m (lat, lon, live->lat, live->lon) : NAN;
      g_array_append_val (self->candidates, candidate);
    }
  g_array_sort (self->candidates, compare_candidates);
  for (guint i = 0; i < self->candidates->len; i++)
    gtk_list_box_append (self->candidates_list, candidate_row (&g_array_index (self->candidates, Candidate, i)));
  gtk_stack_set_visible_child_name (self->candidates_stack, self->candidates->len > 0 ? "list" : "empty");
}

static void
show_outcome (WbReassignDialog *self,
              const char       *text,
              const char       *css_class)
{
  gtk_widget_remove_css_class (GTK_WIDGET (self->outcome_label), "error");
  gtk_widget_remove_css_class (GTK_WIDGET (self->outcome_label), "success");
  if (css_class != NULL)
    gtk_widget_add_css_class (GTK_WIDGET (self->outcome_label), css_class);
  gtk_label_set_text (self->outcome_label, text);
  gtk_widget_set_visible (GTK_WIDGET (self->outcome_label), TRUE);
}

static void
update_send (WbReassignDialog *self)
{
  g_autofree char *reason = NULL;
  gboolean sent = self->command != NULL;

  /* The list box unselects its rows as the dialog is disposed. */
  if (self->reason_entry == NULL)
    return;
  reason = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->reason_entry))));

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "reassign.send",
                                 self->ready && !sent && *reason != '\0'
                                 && gtk_list_box_get_selected_row (self->candidates_list) != NULL);
}

static void
on_row_selected (WbReassignDialog *self)
{
  update_send (self);
}

static void
one_read_done (WbReassignDialog *self,
               GError           *error)
{
  if (error != NULL && self->load_error == NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    self->load_error = g_error_copy (error);
  if (--self->pending > 0 || g_cancellable_is_cancelled (self->cancellable))
    return;
  if (self->load_error != NULL)
    {
      g_autofree char *text = g_strdup_printf (_("The free vehicles cannot be read: %s"), self->load_error->message);

      adw_status_page_set_title (self->empty_page, _("Vehicles Unavailable"));
      adw_status_page_set_description (self->empty_page, text);
      gtk_stack_set_visible_child_name (self->candidates_stack, "empty");
      return;
    }
  show_candidates (self);
  self->ready = TRUE;
  update_send (self);
}

static void
on_vehicles (GObject      *source,
             GAsyncResult *result,
             gpointer      data)
{
  g_autoptr(WbReassignDialog) self = data;
  g_autoptr(GError) error = NULL;

  self->vehicles = wb_client_list_vehicles_finish (WB_CLIENT (source), result, &error);
  one_read_done (self, error);
}

static void
on_locations (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  g_autoptr(WbReassignDialog) self = data;
  g_autoptr(GError) error = NULL;

  self->locations = wb_client_get_locations_finish (WB_CLIENT (source), result, NULL, NULL, &error);
  /* Without positions the vehicles are still offered, unmeasured. */
  one_read_done (self, NULL);
}

static void read_busy_page (WbReassignDialog *self, const char *cursor);

static void
on_busy_page (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  g_autoptr(WbReassignDialog) self = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *cursor = NULL;
  g_autoptr(GPtrArray) trips = wb_client_list_trips_finish (WB_CLIENT (source), result, &cursor, &error);

  for (guint i = 0; trips != NULL && i < trips->len; i++)
    {
      const char *vehicle = wb_client_trip_get_vehicle_id (g_ptr_array_index (trips, i));

      if (vehicle != NULL)
        g_hash_table_add (self->busy, g_strdup (vehicle));
    }
  if (trips != NULL && cursor != NULL)
    return read_busy_page (self, cursor);
  one_read_done (self, error);
}

static void
read_busy_page (WbReassignDialog *self,
                const char       *cursor)
{
  g_autoptr(WbClientTripQuery) query = wb_client_trip_query_new ();

  query->status = g_strdup ("IN_TRANSIT");
  query->company_id = g_strdup (wb_client_trip_get_company_id (self->trip));
  query->limit = 500;
  wb_client_list_trips_async (self->client, query, cursor, self->cancellable, on_busy_page, g_object_ref (self));
}

static void
load_candidates (WbReassignDialog *self)
{
  const char *company = wb_client_trip_get_company_id (self->trip);
  const char *companies[] = { company, NULL };

  self->pending = 3;
  wb_client_list_vehicles_async (self->client, self->cancellable, on_vehicles, g_object_ref (self));
  wb_client_get_locations_async (self->client, NULL, company != NULL ? companies : NULL, self->cancellable,
                                 on_locations, g_object_ref (self));
  read_busy_page (self, NULL);
}

/* ---- the command ------------------------------------------------------------- */

/* The outcome comes from /ws/events (kind "command", this trip only). One
 * GET /commands/{id} once the stream is live covers a decision made before
 * it was (between the 202 and the subscribe, or while the stream was
 * lost); after a resync, one more. Nothing is polled. */

static void maybe_read_command (WbReassignDialog *self);

static void
show_command (WbReassignDialog *self)
{
  g_autofree char *text = NULL;

  if (g_str_equal (self->command->status, "applied"))
    {
      text = g_strdup_printf (_("Applied: the trip now has vehicle %s"), self->command->vehicle_id);
      show_outcome (self, text, "success");
    }
  else if (g_str_equal (self->command->status, "rejected"))
    {
      text = g_strdup_printf (_("Rejected: %s"), self->command->outcome ?: _("no reason given"));
      show_outcome (self, text, "error");
    }
  else
    show_outcome (self, _("Pending: waiting for dispatch to decide…"), NULL);
}

static void
set_command (WbReassignDialog *self,
             WbClientCommand  *command)
{
  /* A late read never takes a decision back. */
  if (self->command != NULL && !g_str_equal (self->command->status, "pending"))
    {
      wb_client_command_free (command);
      return;
    }
  g_clear_pointer (&self->command, wb_client_command_free);
  self->command = command;
  show_command (self);
  if (g_str_equal (command->status, "pending"))
    return maybe_read_command (self);
  self->read_wanted = FALSE;
  g_clear_handle_id (&self->retry_source, g_source_remove);
  /* The stream stays until the dialog goes: this may run inside its
   * "event" signal. */
  g_signal_emit (self, signals[DECIDED], 0, command->status);
}

static gboolean
retry_read (gpointer data)
{
  WbReassignDialog *self = data;

  self->retry_source = 0;
  maybe_read_command (self);
  return G_SOURCE_REMOVE;
}

static void
on_command (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  g_autoptr(WbReassignDialog) self = data;
  g_autoptr(GError) error = NULL;
  WbClientCommand *command = wb_client_get_command_finish (WB_CLIENT (source), result, &error);

  if (command != NULL)
    {
      /* Still pending: the stream brings the decision. */
      if (!g_str_equal (command->status, "pending"))
        set_command (self, command);
      else
        wb_client_command_free (command);
      return;
    }
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  /* A lost answer: the decision may be in it; ask again, later. */
  if (self->retry_source == 0)
    self->retry_source = g_timeout_add (COMMAND_RETRY_MS, retry_read, self);
}

static void
maybe_read_command (WbReassignDialog *self)
{
  if (self->command == NULL || !g_str_equal (self->command->status, "pending"))
    return;
  if (wb_event_stream_get_state (self->events) != WB_STREAM_STATE_LIVE)
    {
      self->read_wanted = TRUE;
      return;
    }
  self->read_wanted = FALSE;
  wb_client_get_command_async (self->client, self->command->id, self->cancellable, on_command, g_object_ref (self));
}

static char *
dup_member (JsonObject *event,
            const char *name)
{
  return g_strdup (json_object_get_string_member_with_default (event, name, NULL));
}

/* A command event: the decision, if it is this dialog's command's. */
static void
on_event (WbEventStream *stream,
          JsonObject    *event,
          gpointer       data)
{
  WbReassignDialog *self = data;
  const char *status = json_object_get_string_member_with_default (event, "status", NULL);
  WbClientCommand *command;

  if (self->command == NULL
      || g_strcmp0 (json_object_get_string_member_with_default (event, "kind", NULL), "command") != 0
      || g_strcmp0 (json_object_get_string_member_with_default (event, "commandId", NULL), self->command->id) != 0
      || (g_strcmp0 (status, "applied") != 0 && g_strcmp0 (status, "rejected") != 0))
    return;
  command = g_new0 (WbClientCommand, 1);
  command->id = g_strdup (self->command->id);
  command->trip_id = g_strdup (self->command->trip_id);
  command->vehicle_id = dup_member (event, "vehicleId");
  command->driver_id = dup_member (event, "driverId");
  command->reason = dup_member (event, "reason");
  command->requested_by = dup_member (event, "requestedBy");
  command->status = g_strdup (status);
  command->outcome = dup_member (event, "outcome");
  set_command (self, command);
}

static void
on_resync (WbEventStream *stream,
           gpointer       data)
{
  WbReassignDialog *self = data;

  /* Events were missed: the decision may be among them. */
  maybe_read_command (self);
}

static void
on_stream_state (WbEventStream *stream,
                 GParamSpec    *pspec,
                 gpointer       data)
{
  WbReassignDialog *self = data;

  if (self->read_wanted && wb_event_stream_get_state (stream) == WB_STREAM_STATE_LIVE)
    maybe_read_command (self);
}

static void
follow_commands (WbReassignDialog *self)
{
  const char *kinds[] = { "command", NULL };
  const char *trips[] = { wb_client_trip_get_id (self->trip), NULL };

  self->events = wb_event_stream_new (self->client);
  wb_event_stream_set_filter (self->events, kinds, NULL, NULL);
  wb_event_stream_set_trip_ids (self->events, trips);
  g_signal_connect_object (self->events, "event", G_CALLBACK (on_event), self, 0);
  g_signal_connect_object (self->events, "resync", G_CALLBACK (on_resync), self, 0);
  g_signal_connect_object (self->events, "notify::state", G_CALLBACK (on_stream_state), self, 0);
  wb_event_stream_start (self->events);
}

static void
on_sent (GObject      *source,
         GAsyncResult *result,
         gpointer      data)
{
  g_autoptr(WbReassignDialog) self = data;
  g_autoptr(GError) error = NULL;
  WbClientCommand *command = wb_client_reassign_trip_finish (WB_CLIENT (source), result, &error);
  g_autofree char *text = NULL;

  if (command != NULL)
    return set_command (self, command);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  text = g_strdup_printf (_("Not sent: %s"), error->message);
  show_outcome (self, text, "error");
  update_send (self);
}

static void
send_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  WbReassignDialog *self = WB_REASSIGN_DIALOG (widget);
  GtkListBoxRow *row = gtk_list_box_get_selected_row (self->candidates_list);
  g_autofree char *reason = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->reason_entry))));
  const Candidate *candidate;

  if (row == NULL || *reason == '\0' || self->command != NULL)
    return;
  candidate = &g_array_index (self->candidates, Candidate, gtk_list_box_row_get_index (row));
  gtk_widget_action_set_enabled (widget, "reassign.send", FALSE);
  show_outcome (self, _("Sending…"), NULL);
  wb_client_reassign_trip_async (self->client, wb_client_trip_get_id (self->trip), candidate->vehicle_id, NULL,
                                 reason, self->cancellable, on_sent, g_object_ref (self));
}

/* ---- the widget ------------------------------------------------------------ */

static void
wb_reassign_dialog_dispose (GObject *object)
{
  WbReassignDialog *self = WB_REASSIGN_DIALOG (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->retry_source, g_source_remove);
  if (self->events != NULL)
    wb_event_stream_stop (self->events);
  g_clear_object (&self->events);
  gtk_widget_dispose_template (GTK_WIDGET (self), WB_TYPE_REASSIGN_DIALOG);
  G_OBJECT_CLASS (wb_reassign_dialog_parent_class)->dispose (object);
}

static void
wb_reassign_dialog_finalize (GObject *object)
{
  WbReassignDialog *self = WB_REASSIGN_DIALOG (object);

  g_clear_object (&self->cancellable);
  g_clear_object (&self->client);
  g_clear_object (&self->trip);
  g_clear_pointer (&self->vehicles, g_ptr_array_unref);
  g_clear_pointer (&self->locations, g_ptr_array_unref);
  g_clear_pointer (&self->busy, g_hash_table_unref);
  g_clear_pointer (&self->candidates, g_array_unref);
  g_clear_pointer (&self->command, wb_client_command_free);
  g_clear_error (&self->load_error);
  G_OBJECT_CLASS (wb_reassign_dialog_parent_class)->finalize (object);
}

static void
wb_reassign_dialog_class_init (WbReassignDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = wb_reassign_dialog_dispose;
  object_class->finalize = wb_reassign_dialog_finalize;

  /* ::decided (status): the command was applied or rejected. */
  signals[DECIDED] = g_signal_new ("decided", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                   G_TYPE_NONE, 1, G_TYPE_STRING);

  gtk_widget_class_install_action (widget_class, "reassign.send", NULL, send_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/waybill/Waybill/wb-reassign-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, WbReassignDialog, window_title);
  gtk_widget_class_bind_template_child (widget_class, WbReassignDialog, candidates_stack);
  gtk_widget_class_bind_template_child (widget_class, WbReassignDialog, empty_page);
  gtk_widget_class_bind_template_child (widget_class, WbReassignDialog, candidates_list);
  gtk_widget_class_bind_template_child (widget_class, WbReassignDialog, reason_entry);
  gtk_widget_class_bind_template_child (widget_class, WbReassignDialog, outcome_label);
  gtk_widget_class_bind_template_child (widget_class, WbReassignDialog, send_button);
  gtk_widget_class_bind_template_callback (widget_class, on_row_selected);
  gtk_widget_class_bind_template_callback (widget_class, update_send);
}

static void
wb_reassign_dialog_init (WbReassignDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
  self->busy = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->candidates = g_array_new (FALSE, TRUE, sizeof (Candidate));
  g_array_set_clear_func (self->candidates, candidate_clear);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "reassign.send", FALSE);
}

GtkWidget *
wb_reassign_dialog_new (WbClient     *client,
                        WbClientTrip *trip)
{
  WbReassignDialog *self;
  g_autofree char *subtitle = NULL;

  g_return_val_if_fail (WB_IS_CLIENT (client), NULL);
  g_return_val_if_fail (WB_IS_CLIENT_TRIP (trip), NULL);

  self = g_object_new (WB_TYPE_REASSIGN_DIALOG, NULL);
  self->client = g_object_ref (client);
  self->trip = g_object_ref (trip);
  /* Translators: the trip and its vehicle now */
  subtitle = g_strdup_printf (_("Trip %s, now vehicle %s"), wb_client_trip_get_id (trip),
                              wb_client_trip_get_vehicle_id (trip) ?: "—");
  adw_window_title_set_subtitle (self->window_title, subtitle);
  load_candidates (self);
  /* Live before a command is sent, so its outcome finds it listening. */
  follow_commands (self);
  return GTK_WIDGET (self);
}

gboolean
wb_reassign_dialog_get_ready (WbReassignDialog *self)
{
  g_return_val_if_fail (WB_IS_REASSIGN_DIALOG (self), FALSE);
  return self->ready;
}

guint
wb_reassign_dialog_get_n_candidates (WbReassignDialog *self)
{
  g_return_val_if_fail (WB_IS_REASSIGN_DIALOG (self), 0);
  return self->candidates->len;
}

const char *
wb_reassign_dialog_get_candidate (WbReassignDialog *self,
                                  guint             index,
                                  double           *out_distance_m)
{
  const Candidate *candidate;

  g_return_val_if_fail (WB_IS_REASSIGN_DIALOG (self), NULL);
  g_return_val_if_fail (index < self->candidates->len, NULL);

  candidate = &g_array_index (self->candidates, Candidate, index);
  if (out_distance_m != NULL)
    *out_distance_m = candidate->distance_m;
  return candidate->vehicle_id;
}

gboolean
wb_reassign_dialog_select (WbReassignDialog *self,
                           const char       *vehicle_id)
{
  g_return_val_if_fail (WB_IS_REASSIGN_DIALOG (self), FALSE);

  for (guint i = 0; i < self->candidates->len; i++)
    if (g_str_equal (g_array_index (self->candidates, Candidate, i).vehicle_id, vehicle_id))
      {
        gtk_list_box_select_row (self->candidates_list, gtk_list_box_get_row_at_index (self->candidates_list, (int) i));
        return TRUE;
      }
  return FALSE;
}

const char *
wb_reassign_dialog_get_command_status (WbReassignDialog *self)
{
  g_return_val_if_fail (WB_IS_REASSIGN_DIALOG (self), NULL);
  return self->command != NULL ? self->command->status : NULL;
}

const char *
wb_reassign_dialog_get_outcome_text (WbReassignDialog *self)
{
  g_return_val_if_fail (WB_IS_REASSIGN_DIALOG (self), NULL);
  return gtk_label_get_text (self->outcome_label);
}
