// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include <glib/gi18n.h>

#include "wb-client-trackings.h"
#include "wb-live-vehicle.h"
#include "wb-overview-view.h"
#include "wb-shipment-format.h"

#define RELOAD_INTERVAL_S  30

struct _WbOverviewView
{
  GtkWidget       parent_instance;

  WbVehicleModel *model;
  WbClient       *client;
  GCancellable   *cancellable;
  guint           pending;          /* server reads on their way */
  guint           reload_source;
  GHashTable     *counts;           /* name → count text, as shown */

  GtkLabel       *error_label;
  GtkFlowBox     *vehicles_box;
  GtkFlowBox     *shipments_box;
  GtkFlowBox     *carriers_box;
};

G_DEFINE_FINAL_TYPE (WbOverviewView, wb_overview_view, GTK_TYPE_WIDGET)

/* A tile: the count, what it counts, a detail; a button that opens the
 * view it counts. */
static GtkWidget *
tile (WbOverviewView *self,
      const char     *name,
      const char     *count,
      const char     *title,
      const char     *detail,
      const char     *action,
      GVariant       *target,
      const char     *style)
{
  GtkWidget *button = gtk_button_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *number = gtk_label_new (count);
  GtkWidget *label = gtk_label_new (title);
  g_autofree char *accessible = detail ? g_strdup_printf ("%s %s, %s", count, title, detail)
                                       : g_strdup_printf ("%s %s", count, title);

  gtk_widget_add_css_class (number, "title-1");
  if (style != NULL)
    gtk_widget_add_css_class (number, style);
  gtk_label_set_xalign (GTK_LABEL (number), 0);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_box_append (GTK_BOX (box), number);
  gtk_box_append (GTK_BOX (box), label);
  if (detail != NULL)
    {
      GtkWidget *small = gtk_label_new (detail);

      gtk_label_set_xalign (GTK_LABEL (small), 0);
      gtk_label_set_wrap (GTK_LABEL (small), TRUE);
      gtk_widget_add_css_class (small, "dim-label");
      gtk_widget_add_css_class (small, "caption");
      gtk_box_append (GTK_BOX (box), small);
    }
  gtk_widget_set_margin_top (box, 6);
  gtk_widget_set_margin_bottom (box, 6);
  gtk_widget_set_margin_start (box, 6);
  gtk_widget_set_margin_end (box, 6);
  gtk_button_set_child (GTK_BUTTON (button), box);
  gtk_widget_add_css_class (button, "card");
  gtk_widget_add_css_class (button, "overview-tile");
  gtk_widget_set_name (button, name);
  gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL, accessible, -1);
  if (action != NULL)
    {
      gtk_actionable_set_action_target_value (GTK_ACTIONABLE (button), target);
      gtk_actionable_set_action_name (GTK_ACTIONABLE (button), action);
    }
  g_hash_table_replace (self->counts, g_strdup (name), g_strdup (count));
  return button;
}

/* The counts named @prefix… are redrawn: none of the last drawing stays. */
static void
forget (WbOverviewView *self,
        const char     *prefix)
{
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, self->counts);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (g_str_has_prefix (key, prefix))
      g_hash_table_iter_remove (&iter);
}

static void
clear_box (GtkFlowBox *box)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (box))) != NULL)
    gtk_flow_box_remove (box, child);
}

static void
show_error (WbOverviewView *self,
            const char     *message)
{
  gtk_label_set_text (self->error_label, message ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), message != NULL);
}

/* ---- vehicles, from the gateway's snapshot ---------------------------------------- */

/* The whole fleet's states from GET /locations (the live map's own model
 * holds only what its view shows). */
static void
show_vehicles (WbOverviewView *self,
               GPtrArray      *vehicles)
{
  static const struct { WbLiveState state; const char *name; const char *title; const char *style; } states[] = {
    { WB_LIVE_STATE_MOVING, "moving", N_("Moving"), "success" },
    { WB_LIVE_STATE_STOPPED, "stopped", N_("Stopped"), "accent" },
    { WB_LIVE_STATE_OFFLINE, "offline", N_("Offline"), "dim-label" },
  };
  guint counts[G_N_ELEMENTS (states)] = { 0 };
  g_autofree char *all = g_strdup_printf ("%u", vehicles->len);
  g_autofree char *online = NULL;

  for (guint i = 0; i < vehicles->len; i++)
    {
      const WbLiveVehicle *vehicle = g_ptr_array_index (vehicles, i);

      for (guint s = 0; s < G_N_ELEMENTS (states); s++)
        counts[s] += states[s].state == vehicle->state;
    }
  online = g_strdup_printf ("%u", vehicles->len - counts[2]);
  clear_box (self->vehicles_box);
  forget (self, "vehicles-");
  gtk_flow_box_append (self->vehicles_box, tile (self, "vehicles-online", online, _("Online"), NULL,
                                                 "win.show-vehicles", g_variant_new_string ("all"), NULL));
  for (guint s = 0; s < G_N_ELEMENTS (states); s++)
    {
      g_autofree char *count = g_strdup_printf ("%u", counts[s]);
      g_autofree char *name = g_strconcat ("vehicles-", states[s].name, NULL);

      gtk_flow_box_append (self->vehicles_box, tile (self, name, count, _(states[s].title), NULL, "win.show-vehicles",
                                                     g_variant_new_string (states[s].name), states[s].style));
    }
  g_hash_table_replace (self->counts, g_strdup ("vehicles-all"), g_steal_pointer (&all));
}

static void read_done (WbOverviewView *self);

static void
on_locations (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  g_autoptr(WbOverviewView) self = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) vehicles = wb_client_get_locations_finish (WB_CLIENT (source), result, NULL, NULL, &error);

  if (vehicles == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  read_done (self);
  if (vehicles != NULL)
    show_vehicles (self, vehicles);
}

/* ---- shipments and carriers, from the server ------------------------------------ */

static void
read_done (WbOverviewView *self)
{
  /* The three reads of one reload answer apart. */
  if (self->pending > 0)
    self->pending--;
}

static void
on_summary (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  g_autoptr(WbOverviewView) self = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) answer = wb_client_call_json_finish (WB_CLIENT (source), result, &error);
  JsonObject *summary, *by_status;
  const char * const *statuses = wb_shipment_format_statuses ();
  g_autofree char *open = NULL;
  g_autofree char *overdue = NULL;

  if (answer == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  read_done (self);
  if (answer == NULL || !JSON_NODE_HOLDS_OBJECT (answer))
    {
      g_autofree char *message = g_strdup_printf (_("The shipments cannot be counted: %s"),
                                                  error ? error->message : _("not the answer the API describes"));

      return show_error (self, message);
    }
  show_error (self, NULL);
  summary = json_node_get_object (answer);
  by_status = json_object_get_object_member (summary, "byStatus");
  open = g_strdup_printf ("%" G_GINT64_FORMAT, json_object_get_int_member_with_default (summary, "open", 0));
  overdue = g_strdup_printf ("%" G_GINT64_FORMAT, json_object_get_int_member_with_default (summary, "overdue", 0));
  clear_box (self->shipments_box);
  forget (self, "shipments-");
  gtk_flow_box_append (self->shipments_box, tile (self, "shipments-open", open, _("Open"), NULL, "win.show-shipments",
                                                  g_variant_new_string (""), NULL));
  gtk_flow_box_append (self->shipments_box,
                       tile (self, "shipments-overdue", overdue, _("Overdue now"), _("Past their promise"),
                             "win.show-shipments", g_variant_new_string ("overdue"),
                             g_str_equal (overdue, "0") ? NULL : "error"));
  for (guint i = 0; statuses[i] != NULL; i++)
    {
      gint64 n = by_status ? json_object_get_int_member_with_default (by_status, statuses[i], 0) : 0;
      g_autofree char *count = NULL;
      g_autofree char *name = NULL;

      if (n == 0)
        continue;
      count = g_strdup_printf ("%" G_GINT64_FORMAT, n);
      name = g_strconcat ("shipments-", statuses[i], NULL);
      gtk_flow_box_append (self->shipments_box, tile (self, name, count, wb_shipment_format_status (statuses[i]), NULL,
                                                      "win.show-shipments", g_variant_new_string (statuses[i]), NULL));
    }
}

static void
on_carriers (GObject      *source,
             GAsyncResult *result,
             gpointer      data)
{
  g_autoptr(WbOverviewView) self = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) carriers = wb_client_list_carriers_finish (WB_CLIENT (source), result, &error);

  if (carriers == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  read_done (self);
  clear_box (self->carriers_box);
  forget (self, "carrier-");
  for (guint i = 0; carriers != NULL && i < carriers->len; i++)
    {
      WbClientCarrier *carrier = g_ptr_array_index (carriers, i);
      g_autofree char *name = g_strconcat ("carrier-", carrier->code, NULL);
      g_autofree char *count = NULL;
      g_autofree char *detail = NULL;
      gboolean open = g_strcmp0 (carrier->breaker, "open") == 0;

      if (carrier->has_limits && carrier->quota_left_today >= 0)
        {
          count = g_strdup_printf ("%" G_GINT64_FORMAT, carrier->quota_left_today);
          /* Translators: a carrier's daily quota: left today, of the quota */
          detail = g_strdup_printf (_("left today of %u"), carrier->daily_quota);
        }
      else
        {
          count = g_strdup_printf ("%" G_GINT64_FORMAT, carrier->has_limits ? carrier->quota_used_today : 0);
          detail = g_strdup (_("requests today; no daily quota"));
        }
      if (open)
        {
          g_autofree char *with = g_strdup_printf ("%s · %s", detail, _("breaker open"));

          g_free (detail);
          detail = g_steal_pointer (&with);
        }
      gtk_flow_box_append (self->carriers_box, tile (self, name, count, carrier->code, detail, "win.show-carriers",
                                                     NULL, open ? "error" : NULL));
    }
}

void
wb_overview_view_reload (WbOverviewView *self)
{
  g_return_if_fail (WB_IS_OVERVIEW_VIEW (self));

  if (self->client == NULL || self->pending > 0)
    return;
  self->pending = 3;
  /* The whole world: without a bbox the API answers the vehicles on a
   * trip only. */
  wb_client_get_locations_async (self->client, &(WbLiveBbox) { -180, -90, 180, 90 }, NULL, self->cancellable,
                                 on_locations, g_object_ref (self));
  wb_client_get_json_async (self->client, "/shipments/summary", self->cancellable, on_summary, g_object_ref (self));
  wb_client_list_carriers_async (self->client, self->cancellable, on_carriers, g_object_ref (self));
}

static gboolean
reload_tick (gpointer data)
{
  wb_overview_view_reload (data);
  return G_SOURCE_CONTINUE;
}

/* ---- the widget ------------------------------------------------------------------ */

static void
wb_overview_view_map (GtkWidget *widget)
{
  WbOverviewView *self = WB_OVERVIEW_VIEW (widget);

  GTK_WIDGET_CLASS (wb_overview_view_parent_class)->map (widget);
  wb_overview_view_reload (self);
  g_clear_handle_id (&self->reload_source, g_source_remove);
  self->reload_source = g_timeout_add_seconds (RELOAD_INTERVAL_S, reload_tick, self);
}

static void
wb_overview_view_unmap (GtkWidget *widget)
{
  WbOverviewView *self = WB_OVERVIEW_VIEW (widget);

  g_clear_handle_id (&self->reload_source, g_source_remove);
  GTK_WIDGET_CLASS (wb_overview_view_parent_class)->unmap (widget);
}

static void
wb_overview_view_dispose (GObject *object)
{
  WbOverviewView *self = WB_OVERVIEW_VIEW (object);
  GtkWidget *child;

  g_clear_handle_id (&self->reload_source, g_source_remove);
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->client);
  g_clear_object (&self->model);
  gtk_widget_dispose_template (GTK_WIDGET (self), WB_TYPE_OVERVIEW_VIEW);
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);
  G_OBJECT_CLASS (wb_overview_view_parent_class)->dispose (object);
}

static void
wb_overview_view_finalize (GObject *object)
{
  g_hash_table_unref (WB_OVERVIEW_VIEW (object)->counts);
  G_OBJECT_CLASS (wb_overview_view_parent_class)->finalize (object);
}

static void
wb_overview_view_class_init (WbOverviewViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = wb_overview_view_dispose;
  object_class->finalize = wb_overview_view_finalize;
  widget_class->map = wb_overview_view_map;
  widget_class->unmap = wb_overview_view_unmap;
  gtk_widget_class_set_template_from_resource (widget_class, "/org/waybill/Waybill/wb-overview-view.ui");
  gtk_widget_class_bind_template_child (widget_class, WbOverviewView, error_label);
  gtk_widget_class_bind_template_child (widget_class, WbOverviewView, vehicles_box);
  gtk_widget_class_bind_template_child (widget_class, WbOverviewView, shipments_box);
  gtk_widget_class_bind_template_child (widget_class, WbOverviewView, carriers_box);
}

static void
wb_overview_view_init (WbOverviewView *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

GtkWidget *
wb_overview_view_new (void)
{
  return g_object_new (WB_TYPE_OVERVIEW_VIEW, NULL);
}

void
wb_overview_view_set_model (WbOverviewView *self,
                            WbVehicleModel *model)
{
  g_return_if_fail (WB_IS_OVERVIEW_VIEW (self));
  g_set_object (&self->model, model);
}

void
wb_overview_view_set_client (WbOverviewView *self,
                             WbClient       *client)
{
  g_return_if_fail (WB_IS_OVERVIEW_VIEW (self));

  if (self->client == client)
    return;
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  self->pending = 0;
  g_set_object (&self->client, client);
  clear_box (self->shipments_box);
  clear_box (self->carriers_box);
  if (client != NULL && gtk_widget_get_mapped (GTK_WIDGET (self)))
    wb_overview_view_reload (self);
}

const char *
wb_overview_view_get_count (WbOverviewView *self,
                            const char     *name)
{
  g_return_val_if_fail (WB_IS_OVERVIEW_VIEW (self), NULL);
  return g_hash_table_lookup (self->counts, name);
}

gboolean
wb_overview_view_get_loading (WbOverviewView *self)
{
  g_return_val_if_fail (WB_IS_OVERVIEW_VIEW (self), FALSE);
  return self->pending > 0;
}
