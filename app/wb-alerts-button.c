// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include <glib/gi18n.h>

#include "wb-alerts-button.h"
#include "wb-shipment-format.h"

struct _WbAlertsButton
{
  GtkWidget       parent_instance;

  WbAlertCenter  *center;
  GtkMenuButton  *button;
  GtkLabel       *badge;
  GtkListBox     *list;
  GtkStack       *stack;
};

G_DEFINE_FINAL_TYPE (WbAlertsButton, wb_alerts_button, GTK_TYPE_WIDGET)

static void
on_acknowledge (GtkButton *button,
                WbAlert   *alert)
{
  wb_alert_set_read (alert, TRUE);
}

static void
sync_row (GtkWidget *row,
          GParamSpec *pspec,
          WbAlert    *alert)
{
  GtkWidget *dot = g_object_get_data (G_OBJECT (row), "dot");
  GtkWidget *ack = g_object_get_data (G_OBJECT (row), "ack");

  gtk_widget_set_opacity (dot, wb_alert_get_read (alert) ? 0 : 1);
  gtk_widget_set_sensitive (ack, !wb_alert_get_read (alert));
}

static GtkWidget *
create_row (gpointer item,
            gpointer data)
{
  WbAlert *alert = item;
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  GtkWidget *texts = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *dot = gtk_image_new_from_icon_name ("media-record-symbolic");
  GtkWidget *title = gtk_label_new (wb_alert_get_title (alert));
  GtkWidget *body = gtk_label_new (wb_alert_get_body (alert));
  g_autofree char *when = wb_shipment_format_time (wb_alert_get_time (alert));
  GtkWidget *time = gtk_label_new (when);
  GtkWidget *ack = gtk_button_new_from_icon_name ("object-select-symbolic");
  g_autofree char *accessible = g_strdup_printf ("%s: %s, %s", wb_alert_get_title (alert), wb_alert_get_body (alert),
                                                 when);

  gtk_widget_add_css_class (dot, "accent");
  gtk_widget_set_valign (dot, GTK_ALIGN_START);
  gtk_widget_set_margin_top (dot, 4);
  gtk_label_set_xalign (GTK_LABEL (title), 0);
  gtk_widget_add_css_class (title, "heading");
  gtk_label_set_xalign (GTK_LABEL (body), 0);
  gtk_label_set_wrap (GTK_LABEL (body), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (body), 40);
  gtk_label_set_xalign (GTK_LABEL (time), 0);
  gtk_widget_add_css_class (time, "dim-label");
  gtk_widget_add_css_class (time, "caption");
  gtk_widget_set_hexpand (texts, TRUE);
  gtk_box_append (GTK_BOX (texts), title);
  gtk_box_append (GTK_BOX (texts), body);
  gtk_box_append (GTK_BOX (texts), time);
  gtk_widget_add_css_class (ack, "flat");
  gtk_widget_set_valign (ack, GTK_ALIGN_CENTER);
  gtk_widget_set_tooltip_text (ack, _("Acknowledge"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (ack), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Acknowledge"), -1);
  g_signal_connect_object (ack, "clicked", G_CALLBACK (on_acknowledge), alert, 0);
  gtk_box_append (GTK_BOX (box), dot);
  gtk_box_append (GTK_BOX (box), texts);
  gtk_box_append (GTK_BOX (box), ack);
  gtk_widget_set_margin_top (box, 6);
  gtk_widget_set_margin_bottom (box, 6);
  gtk_widget_set_margin_start (box, 6);
  gtk_widget_set_margin_end (box, 6);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  gtk_accessible_update_property (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_PROPERTY_LABEL, accessible, -1);
  g_object_set_data (G_OBJECT (row), "dot", dot);
  g_object_set_data (G_OBJECT (row), "ack", ack);
  g_signal_connect_object (alert, "notify::read", G_CALLBACK (sync_row), row, G_CONNECT_SWAPPED);
  sync_row (row, NULL, alert);
  return row;
}

static void
update_badge (WbAlertsButton *self)
{
  guint unread = self->center ? wb_alert_center_get_unread (self->center) : 0;
  guint n = self->center ? g_list_model_get_n_items (wb_alert_center_get_alerts (self->center)) : 0;
  g_autofree char *text = unread == 0 ? g_strdup ("") : unread > 99 ? g_strdup ("99+") : g_strdup_printf ("%u", unread);
  /* Translators: the alerts button's accessible name, with the unread count */
  g_autofree char *label = g_strdup_printf (ngettext ("Alerts, %u unread", "Alerts, %u unread", unread), unread);

  gtk_label_set_text (self->badge, text);
  gtk_widget_set_visible (GTK_WIDGET (self->badge), unread > 0);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->button), GTK_ACCESSIBLE_PROPERTY_LABEL, label, -1);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->button), label);
  gtk_stack_set_visible_child_name (self->stack, n > 0 ? "list" : "empty");
}

static void
on_mark_all (WbAlertsButton *self)
{
  if (self->center != NULL)
    wb_alert_center_mark_all_read (self->center);
}

static void
build (WbAlertsButton *self)
{
  GtkWidget *overlay = gtk_overlay_new ();
  GtkWidget *icon = gtk_image_new_from_icon_name ("preferences-system-notifications-symbolic");
  GtkWidget *popover = gtk_popover_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *header = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *heading = gtk_label_new (_("Alerts"));
  GtkWidget *mark_all = gtk_button_new_with_mnemonic (_("_Mark All Read"));
  GtkWidget *scrolled = gtk_scrolled_window_new ();
  GtkWidget *empty = gtk_label_new (_("No alerts yet"));

  self->button = GTK_MENU_BUTTON (gtk_menu_button_new ());
  self->badge = GTK_LABEL (gtk_label_new (""));
  gtk_widget_add_css_class (GTK_WIDGET (self->badge), "alerts-badge");
  gtk_widget_set_halign (GTK_WIDGET (self->badge), GTK_ALIGN_END);
  gtk_widget_set_valign (GTK_WIDGET (self->badge), GTK_ALIGN_START);
  gtk_widget_set_can_target (GTK_WIDGET (self->badge), FALSE);
  gtk_overlay_set_child (GTK_OVERLAY (overlay), icon);
  gtk_overlay_add_overlay (GTK_OVERLAY (overlay), GTK_WIDGET (self->badge));
  gtk_menu_button_set_child (self->button, overlay);
  gtk_widget_set_name (GTK_WIDGET (self->button), "alerts");

  gtk_widget_add_css_class (heading, "heading");
  gtk_widget_set_hexpand (heading, TRUE);
  gtk_label_set_xalign (GTK_LABEL (heading), 0);
  gtk_widget_add_css_class (mark_all, "flat");
  gtk_widget_set_name (mark_all, "mark-all-read");
  g_signal_connect_swapped (mark_all, "clicked", G_CALLBACK (on_mark_all), self);
  gtk_box_append (GTK_BOX (header), heading);
  gtk_box_append (GTK_BOX (header), mark_all);
  self->list = GTK_LIST_BOX (gtk_list_box_new ());
  gtk_widget_set_name (GTK_WIDGET (self->list), "alerts-list");
  gtk_list_box_set_selection_mode (self->list, GTK_SELECTION_NONE);
  gtk_widget_add_css_class (GTK_WIDGET (self->list), "boxed-list");
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->list), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Alerts"), -1);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scrolled), GTK_WIDGET (self->list));
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scrolled), GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_propagate_natural_height (GTK_SCROLLED_WINDOW (scrolled), TRUE);
  gtk_scrolled_window_set_max_content_height (GTK_SCROLLED_WINDOW (scrolled), 420);
  gtk_widget_set_size_request (scrolled, 360, -1);
  gtk_widget_add_css_class (empty, "dim-label");
  gtk_widget_set_margin_top (empty, 24);
  gtk_widget_set_margin_bottom (empty, 24);
  self->stack = GTK_STACK (gtk_stack_new ());
  gtk_stack_add_named (self->stack, empty, "empty");
  gtk_stack_add_named (self->stack, scrolled, "list");
  gtk_box_append (GTK_BOX (box), header);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->stack));
  gtk_popover_set_child (GTK_POPOVER (popover), box);
  gtk_menu_button_set_popover (self->button, popover);
  gtk_widget_set_parent (GTK_WIDGET (self->button), GTK_WIDGET (self));
}

static void
wb_alerts_button_dispose (GObject *object)
{
  WbAlertsButton *self = WB_ALERTS_BUTTON (object);

  if (self->center != NULL)
    g_signal_handlers_disconnect_by_data (self->center, self);
  g_clear_object (&self->center);
  if (self->button != NULL)
    gtk_widget_unparent (GTK_WIDGET (self->button));
  self->button = NULL;
  G_OBJECT_CLASS (wb_alerts_button_parent_class)->dispose (object);
}

static void
wb_alerts_button_class_init (WbAlertsButtonClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = wb_alerts_button_dispose;
  gtk_widget_class_set_layout_manager_type (GTK_WIDGET_CLASS (klass), GTK_TYPE_BIN_LAYOUT);
}

static void
wb_alerts_button_init (WbAlertsButton *self)
{
  build (self);
  update_badge (self);
}

GtkWidget *
wb_alerts_button_new (void)
{
  return g_object_new (WB_TYPE_ALERTS_BUTTON, NULL);
}

void
wb_alerts_button_set_center (WbAlertsButton *self,
                             WbAlertCenter  *center)
{
  g_return_if_fail (WB_IS_ALERTS_BUTTON (self));

  if (self->center != NULL)
    g_signal_handlers_disconnect_by_data (self->center, self);
  g_set_object (&self->center, center);
  gtk_list_box_bind_model (self->list, center ? wb_alert_center_get_alerts (center) : NULL, create_row, NULL, NULL);
  if (center != NULL)
    {
      g_signal_connect_swapped (center, "notify::unread", G_CALLBACK (update_badge), self);
      g_signal_connect_swapped (wb_alert_center_get_alerts (center), "items-changed", G_CALLBACK (update_badge), self);
    }
  update_badge (self);
}

const char *
wb_alerts_button_get_badge (WbAlertsButton *self)
{
  g_return_val_if_fail (WB_IS_ALERTS_BUTTON (self), NULL);
  return gtk_label_get_text (self->badge);
}
