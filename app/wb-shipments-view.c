// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include <glib/gi18n.h>

#include "wb-page-loader.h"
#include "wb-date-button.h"
#include "wb-shipment-editor.h"
#include "wb-shipment-format.h"
#include "wb-shipments-view.h"
#include "wb-text-column.h"

struct _WbShipmentsView
{
  GtkWidget              parent_instance;

  WbClient              *client;
  WbShipmentSearchModel *results;
  GtkWidget             *editor;   /* weak: the open editor */
  GCancellable          *whoami;
  gboolean               may_write;
  GtkSingleSelection    *selection;
  guint                  page_size;

  AdwLeaflet            *leaflet;
  GtkWidget             *results_page;
  GtkSearchEntry        *phone_entry;
  GtkEntry              *client_entry;
  GtkDropDown           *status_dropdown;
  WbDateButton          *from_button;
  WbDateButton          *to_button;
  GtkCheckButton        *overdue_check;
  GtkLabel              *error_label;
  GtkStack              *results_stack;
  GtkScrolledWindow     *scrolled;
  WbPageLoader         *loader;
  GtkColumnView         *column_view;
  GtkLabel              *count_label;
  WbShipmentDetail      *detail;
};

G_DEFINE_FINAL_TYPE (WbShipmentsView, wb_shipments_view, GTK_TYPE_WIDGET)

/* ---- columns ---------------------------------------------------------------- */

static char *
reference_text (gpointer shipment,
                gpointer user_data)
{
  const char *reference = wb_client_shipment_get_reference (shipment);

  return g_strdup (reference != NULL ? reference : wb_client_shipment_get_id (shipment));
}

static char *
recipient_text (gpointer shipment,
                gpointer user_data)
{
  return g_strdup (wb_client_shipment_get_recipient_name (shipment) ?: "—");
}

static char *
phone_text (gpointer shipment,
            gpointer user_data)
{
  return g_strdup (wb_client_shipment_get_recipient_phone (shipment) ?: "—");
}

static char *
status_text (gpointer shipment,
             gpointer user_data)
{
  return g_strdup (wb_shipment_format_status (wb_client_shipment_get_status (shipment)));
}

static char *
eta_text (gpointer shipment,
          gpointer user_data)
{
  return wb_shipment_format_time (wb_client_shipment_get_eta (shipment));
}

static char *
sla_text (gpointer shipment,
          gpointer user_data)
{
  return g_strdup (wb_shipment_format_sla_state (wb_client_shipment_get_sla_state (shipment)));
}

static char *
client_text (gpointer shipment,
             gpointer user_data)
{
  return g_strdup (wb_client_shipment_get_client_id (shipment));
}

static char *
created_text (gpointer shipment,
              gpointer user_data)
{
  return wb_shipment_format_time (wb_client_shipment_get_created_at (shipment));
}

/* Overdue and late in the error colour, at risk in the warning one. */
static const char *
sla_style (gpointer shipment,
           gpointer user_data)
{
  const char *state = wb_client_shipment_get_sla_state (shipment);

  if (g_strcmp0 (state, "overdue") == 0 || g_strcmp0 (state, "delivered_late") == 0)
    return "error";
  if (g_strcmp0 (state, "at_risk") == 0)
    return "warning";
  return NULL;
}

static void
add_columns (WbShipmentsView *self)
{
  GtkColumnView *view = self->column_view;

  wb_text_column_append (view, _("Reference"), reference_text, NULL, NULL, WB_TEXT_COLUMN_DEFAULT);
  wb_text_column_append (view, _("Recipient"), recipient_text, NULL, NULL, WB_TEXT_COLUMN_EXPAND);
  wb_text_column_append (view, _("Phone"), phone_text, NULL, NULL, WB_TEXT_COLUMN_DEFAULT);
  wb_text_column_append (view, _("Status"), status_text, NULL, NULL, WB_TEXT_COLUMN_DEFAULT);
  wb_text_column_append (view, _("ETA"), eta_text, NULL, NULL, WB_TEXT_COLUMN_DEFAULT);
  wb_text_column_append (view, _("SLA"), sla_text, sla_style, NULL, WB_TEXT_COLUMN_DEFAULT);
  wb_text_column_append (view, _("Client"), client_text, NULL, NULL, WB_TEXT_COLUMN_DEFAULT);
  wb_text_column_append (view, _("Created"), created_text, NULL, NULL, WB_TEXT_COLUMN_DEFAULT);
}

/* ---- paging as the list scrolls ------------------------------------------- */

static void
update_count (WbShipmentsView *self)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->results));
  g_autofree char *text = NULL;

  if (wb_shipment_search_model_get_loading (self->results))
    text = g_strdup_printf (ngettext ("%u shipment shown, loading more…", "%u shipments shown, loading more…", n), n);
  else if (wb_shipment_search_model_get_has_more (self->results))
    text = g_strdup_printf (ngettext ("%u shipment shown, more as you scroll", "%u shipments shown, more as you scroll", n), n);
  else
    text = g_strdup_printf (ngettext ("%u shipment, all shown", "%u shipments, all shown", n), n);
  gtk_label_set_text (self->count_label, text);
}

static void
show_error (WbShipmentsView *self,
            const char      *message)
{
  gtk_label_set_text (self->error_label, message ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), message != NULL);
}

static const char *
field_label (const char *field)
{
  static const struct { const char *field, *label; } labels[] = {
    { "phone", N_("Recipient phone") }, { "country", N_("Recipient phone") }, { "clientId", N_("Client id") },
    { "createdFrom", N_("Created from") }, { "createdTo", N_("Created to") }, { "status", N_("Status") },
  };

  for (guint i = 0; field != NULL && i < G_N_ELEMENTS (labels); i++)
    if (g_str_equal (labels[i].field, field))
      return _(labels[i].label);
  return field;
}

static void
on_results_loading (WbShipmentsView *self)
{
  const GError *error = wb_shipment_search_model_get_error (self->results);
  gboolean empty = g_list_model_get_n_items (G_LIST_MODEL (self->results)) == 0;

  update_count (self);
  if (wb_shipment_search_model_get_loading (self->results))
    return;
  if (error != NULL)
    {
      const char *field = wb_client_error_get_field (error);
      g_autofree char *message = field != NULL
        /* Translators: a search field, then the server's reason */
        ? g_strdup_printf (_("%s: %s"), field_label (field), error->message)
        : g_strdup_printf (_("The search failed: %s"), error->message);

      show_error (self, message);
    }
  if (empty)
    gtk_stack_set_visible_child_name (self->results_stack, error != NULL ? "idle" : "empty");
  wb_page_loader_check (self->loader);
}

/* ---- the form --------------------------------------------------------------- */

static char *
entry_value (GtkEditable *editable)
{
  g_autofree char *text = g_strstrip (g_strdup (gtk_editable_get_text (editable)));

  return *text != '\0' ? g_steal_pointer (&text) : NULL;
}

static WbClientShipmentQuery *
read_form (WbShipmentsView *self)
{
  g_autoptr(WbClientShipmentQuery) query = wb_client_shipment_query_new ();
  guint status = gtk_drop_down_get_selected (self->status_dropdown);

  query->created_from = wb_date_button_get_local_us (self->from_button, FALSE);
  query->created_to = wb_date_button_get_local_us (self->to_button, TRUE);
  query->phone = entry_value (GTK_EDITABLE (self->phone_entry));
  query->client_id = entry_value (GTK_EDITABLE (self->client_entry));
  if (status != GTK_INVALID_LIST_POSITION && status > 0)
    {
      const char *statuses[] = { wb_shipment_format_statuses ()[status - 1], NULL };

      query->statuses = g_strdupv ((char **) statuses);
    }
  query->overdue = gtk_check_button_get_active (self->overdue_check);
  query->limit = self->page_size;
  return g_steal_pointer (&query);
}

static void
clear_results (WbShipmentsView *self)
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
  WbShipmentsView *self = WB_SHIPMENTS_VIEW (widget);
  g_autoptr(WbClientShipmentQuery) query = NULL;

  if (self->client == NULL)
    return;
  show_error (self, NULL);
  query = read_form (self);
  if (query == NULL)
    return;
  clear_results (self);
  self->results = wb_shipment_search_model_new (self->client, query);
  g_signal_connect_swapped (self->results, "notify::loading", G_CALLBACK (on_results_loading), self);
  gtk_single_selection_set_model (self->selection, G_LIST_MODEL (self->results));
  wb_page_loader_set_model (self->loader, WB_PAGED_MODEL (self->results));
  gtk_adjustment_set_value (gtk_scrolled_window_get_vadjustment (self->scrolled), 0);
  gtk_stack_set_visible_child_name (self->results_stack, "list");
  wb_shipment_search_model_load_more (self->results);
}

static void
on_entry_activate (WbShipmentsView *self)
{
  gtk_widget_activate_action (GTK_WIDGET (self), "shipments.search", NULL);
}

/* A status, a day or "overdue" picked applies at once; typed text waits
 * for Enter or Search. Before the first search there is nothing to
 * narrow. */
static void
on_filter_changed (WbShipmentsView *self)
{
  if (self->results != NULL)
    gtk_widget_activate_action (GTK_WIDGET (self), "shipments.search", NULL);
}

/* ---- the detail --------------------------------------------------------------- */

static void
open_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  WbShipmentsView *self = WB_SHIPMENTS_VIEW (widget);

  wb_shipment_detail_show (self->detail, g_variant_get_string (parameter, NULL));
  adw_leaflet_set_visible_child (self->leaflet, GTK_WIDGET (self->detail));
  gtk_widget_child_focus (GTK_WIDGET (self->detail), GTK_DIR_TAB_FORWARD);
}

static void
back_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  WbShipmentsView *self = WB_SHIPMENTS_VIEW (widget);

  adw_leaflet_set_visible_child (self->leaflet, self->results_page);
}

/* Leaving the detail (the back button, a swipe, Alt+Left) stops its
 * stream; the list keeps its rows and place. */
static void
on_leaflet_page (WbShipmentsView *self)
{
  if (adw_leaflet_get_visible_child (self->leaflet) != self->results_page)
    return;
  wb_shipment_detail_show (self->detail, NULL);
  gtk_widget_grab_focus (GTK_WIDGET (self->column_view));
}

static void
on_row_activated (WbShipmentsView *self,
                  guint            position)
{
  g_autoptr(WbClientShipment) shipment = NULL;

  if (self->results == NULL)
    return;
  shipment = g_list_model_get_item (G_LIST_MODEL (self->results), position);
  if (shipment != NULL)
    gtk_widget_activate_action (GTK_WIDGET (self), "shipments.open", "s", wb_client_shipment_get_id (shipment));
}

/* ---- the widget ------------------------------------------------------------- */

static void
fill_statuses (WbShipmentsView *self)
{
  g_autoptr(GtkStringList) labels = gtk_string_list_new (NULL);
  const char * const *statuses = wb_shipment_format_statuses ();

  gtk_string_list_append (labels, _("Any status"));
  for (guint i = 0; statuses[i] != NULL; i++)
    gtk_string_list_append (labels, wb_shipment_format_status (statuses[i]));
  gtk_drop_down_set_model (self->status_dropdown, G_LIST_MODEL (labels));
}

static GtkWidget *
find_button (GtkWidget  *root,
             const char *name)
{
  for (GtkWidget *child = gtk_widget_get_first_child (root); child; child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found;

      if (GTK_IS_BUTTON (child) && g_strcmp0 (gtk_widget_get_name (child), name) == 0)
        return child;
      if ((found = find_button (child, name)) != NULL)
        return found;
    }
  return NULL;
}

/* ---- creating and editing ----------------------------------------------------- */

/* Creating and editing need a dispatcher's token; a viewer sees the
 * buttons disabled, the reason in their tooltips. */
static void
set_may_write (WbShipmentsView *self,
               gboolean         may_write,
               const char      *reason)
{
  GtkWidget *buttons[] = { find_button (GTK_WIDGET (self), "new-shipment"), find_button (GTK_WIDGET (self), "edit") };

  self->may_write = may_write;
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "shipments.new", may_write);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "shipments.edit", may_write);
  for (guint i = 0; i < G_N_ELEMENTS (buttons); i++)
    if (buttons[i] != NULL)
      gtk_widget_set_tooltip_text (buttons[i], may_write ? NULL : reason);
}

static void
on_whoami (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  g_autoptr(WbShipmentsView) self = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *role = NULL;
  g_autofree char *reason = NULL;

  if (!wb_client_whoami_finish (WB_CLIENT (source), result, &role, NULL, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          reason = g_strdup_printf (_("What your token may do is not known: %s"), error->message);
          set_may_write (self, FALSE, reason);
        }
      return;
    }
  if (g_strcmp0 (role, "dispatcher") == 0 || g_strcmp0 (role, "admin") == 0)
    return set_may_write (self, TRUE, NULL);
  /* Translators: %s is the token's role, e.g. "viewer" */
  reason = g_strdup_printf (_("Your token's role (%s) may look at shipments but not change them; "
                              "a dispatcher's token is needed"), role);
  set_may_write (self, FALSE, reason);
}

static void
read_role (WbShipmentsView *self)
{
  if (self->whoami != NULL)
    g_cancellable_cancel (self->whoami);
  g_clear_object (&self->whoami);
  set_may_write (self, FALSE, _("Checking what your token may do…"));
  if (self->client == NULL)
    return;
  self->whoami = g_cancellable_new ();
  wb_client_whoami_async (self->client, self->whoami, on_whoami, g_object_ref (self));
}

gboolean
wb_shipments_view_get_may_write (WbShipmentsView *self)
{
  g_return_val_if_fail (WB_IS_SHIPMENTS_VIEW (self), FALSE);
  return self->may_write;
}

static void
on_created (WbShipmentsView *self,
            const char      *shipment_id)
{
  if (shipment_id != NULL && *shipment_id != '\0')
    gtk_widget_activate_action (GTK_WIDGET (self), "shipments.open", "s", shipment_id);
}

static void
on_edited (WbShipmentsView *self,
           const char      *shipment_id)
{
  wb_shipment_detail_show (self->detail, shipment_id);
}

static void
present_editor (WbShipmentsView *self,
                GtkWidget       *editor,
                GCallback        on_saved)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));

  if (GTK_IS_WINDOW (root))
    gtk_window_set_transient_for (GTK_WINDOW (editor), GTK_WINDOW (root));
  g_signal_connect_object (editor, "saved", on_saved, self, G_CONNECT_SWAPPED);
  g_set_weak_pointer (&self->editor, editor);
  gtk_window_present (GTK_WINDOW (editor));
}

static void
new_action (GtkWidget  *widget,
            const char *action_name,
            GVariant   *parameter)
{
  WbShipmentsView *self = WB_SHIPMENTS_VIEW (widget);

  if (self->client != NULL)
    present_editor (self, wb_shipment_editor_new_create (self->client), G_CALLBACK (on_created));
}

static void
edit_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  WbShipmentsView *self = WB_SHIPMENTS_VIEW (widget);
  WbClientShipment *shipment = wb_shipment_detail_get_shipment (self->detail);

  if (self->client != NULL && shipment != NULL)
    present_editor (self, wb_shipment_editor_new_edit (self->client, shipment), G_CALLBACK (on_edited));
}

void
wb_shipments_view_set_tiles (WbShipmentsView *self,
                             const char      *tiles)
{
  g_return_if_fail (WB_IS_SHIPMENTS_VIEW (self));
  wb_shipment_detail_set_tiles (self->detail, tiles);
}

void
wb_shipments_view_search_status (WbShipmentsView *self,
                                 const char      *status,
                                 gboolean         overdue)
{
  const char * const *statuses = wb_shipment_format_statuses ();
  guint selected = 0;

  g_return_if_fail (WB_IS_SHIPMENTS_VIEW (self));

  for (guint i = 0; status != NULL && statuses[i] != NULL; i++)
    if (g_str_equal (statuses[i], status))
      selected = i + 1;
  gtk_editable_set_text (GTK_EDITABLE (self->phone_entry), "");
  gtk_editable_set_text (GTK_EDITABLE (self->client_entry), "");
  wb_date_button_set_date (self->from_button, NULL);
  wb_date_button_set_date (self->to_button, NULL);
  gtk_drop_down_set_selected (self->status_dropdown, selected);
  gtk_check_button_set_active (self->overdue_check, overdue);
  adw_leaflet_set_visible_child (self->leaflet, self->results_page);
  gtk_widget_activate_action (GTK_WIDGET (self), "shipments.search", NULL);
}

GtkWidget *
wb_shipments_view_get_editor (WbShipmentsView *self)
{
  g_return_val_if_fail (WB_IS_SHIPMENTS_VIEW (self), NULL);
  return self->editor;
}

static void
wb_shipments_view_dispose (GObject *object)
{
  GtkWidget *child;
  WbShipmentsView *self = WB_SHIPMENTS_VIEW (object);

  g_clear_object (&self->loader);
  g_clear_weak_pointer (&self->editor);
  if (self->whoami != NULL)
    g_cancellable_cancel (self->whoami);
  g_clear_object (&self->whoami);
  clear_results (self);
  g_clear_object (&self->client);
  gtk_widget_dispose_template (GTK_WIDGET (self), WB_TYPE_SHIPMENTS_VIEW);
  /* Template children without an id are ours to unparent too. */
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);
  g_clear_object (&self->selection);
  G_OBJECT_CLASS (wb_shipments_view_parent_class)->dispose (object);
}

static void
wb_shipments_view_class_init (WbShipmentsViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = wb_shipments_view_dispose;

  gtk_widget_class_install_action (widget_class, "shipments.search", NULL, search_action);
  gtk_widget_class_install_action (widget_class, "shipments.open", "s", open_action);
  gtk_widget_class_install_action (widget_class, "shipments.back", NULL, back_action);
  gtk_widget_class_install_action (widget_class, "shipments.new", NULL, new_action);
  gtk_widget_class_install_action (widget_class, "shipments.edit", NULL, edit_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_n, GDK_CONTROL_MASK, "shipments.new", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Left, GDK_ALT_MASK, "shipments.back", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "shipments.back", NULL);

  g_type_ensure (WB_TYPE_SHIPMENT_DETAIL);
  g_type_ensure (WB_TYPE_DATE_BUTTON);
  gtk_widget_class_set_template_from_resource (widget_class, "/org/waybill/Waybill/wb-shipments-view.ui");
  gtk_widget_class_bind_template_child (widget_class, WbShipmentsView, leaflet);
  gtk_widget_class_bind_template_child (widget_class, WbShipmentsView, results_page);
  gtk_widget_class_bind_template_child (widget_class, WbShipmentsView, phone_entry);
  gtk_widget_class_bind_template_child (widget_class, WbShipmentsView, client_entry);
  gtk_widget_class_bind_template_child (widget_class, WbShipmentsView, status_dropdown);
  gtk_widget_class_bind_template_child (widget_class, WbShipmentsView, from_button);
  gtk_widget_class_bind_template_child (widget_class, WbShipmentsView, to_button);
  gtk_widget_class_bind_template_child (widget_class, WbShipmentsView, overdue_check);
  gtk_widget_class_bind_template_child (widget_class, WbShipmentsView, error_label);
  gtk_widget_class_bind_template_child (widget_class, WbShipmentsView, results_stack);
  gtk_widget_class_bind_template_child (widget_class, WbShipmentsView, scrolled);
  gtk_widget_class_bind_template_child (widget_class, WbShipmentsView, column_view);
  gtk_widget_class_bind_template_child (widget_class, WbShipmentsView, count_label);
  gtk_widget_class_bind_template_child (widget_class, WbShipmentsView, detail);
  gtk_widget_class_bind_template_callback (widget_class, on_entry_activate);
  gtk_widget_class_bind_template_callback (widget_class, on_filter_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_row_activated);
  gtk_widget_class_bind_template_callback (widget_class, on_leaflet_page);
}

static void
wb_shipments_view_init (WbShipmentsView *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->selection = gtk_single_selection_new (NULL);
  gtk_single_selection_set_autoselect (self->selection, FALSE);
  gtk_single_selection_set_can_unselect (self->selection, TRUE);
  gtk_column_view_set_model (self->column_view, GTK_SELECTION_MODEL (self->selection));
  add_columns (self);
  fill_statuses (self);
  /* The rows live in the column view's own list view: name it too, for
   * screen readers that land there. */
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->column_view)); child;
       child = gtk_widget_get_next_sibling (child))
    if (GTK_IS_LIST_VIEW (child))
      gtk_accessible_update_property (GTK_ACCESSIBLE (child), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                      _("Shipments, newest first"), -1);
  self->loader = wb_page_loader_new (self->scrolled);
}

GtkWidget *
wb_shipments_view_new (void)
{
  return g_object_new (WB_TYPE_SHIPMENTS_VIEW, NULL);
}

void
wb_shipments_view_set_client (WbShipmentsView *self,
                              WbClient        *client)
{
  g_return_if_fail (WB_IS_SHIPMENTS_VIEW (self));
  g_return_if_fail (client == NULL || WB_IS_CLIENT (client));

  if (self->client == client)
    return;
  clear_results (self);
  gtk_stack_set_visible_child_name (self->results_stack, "idle");
  g_set_object (&self->client, client);
  wb_shipment_detail_set_client (self->detail, client);
  adw_leaflet_set_visible_child (self->leaflet, self->results_page);
  read_role (self);
}

void
wb_shipments_view_set_page_size (WbShipmentsView *self,
                                 guint            page_size)
{
  g_return_if_fail (WB_IS_SHIPMENTS_VIEW (self));
  self->page_size = page_size;
}

void
wb_shipments_view_focus_search (WbShipmentsView *self)
{
  g_return_if_fail (WB_IS_SHIPMENTS_VIEW (self));
  adw_leaflet_set_visible_child (self->leaflet, self->results_page);
  gtk_widget_grab_focus (GTK_WIDGET (self->phone_entry));
}

WbShipmentSearchModel *
wb_shipments_view_get_results (WbShipmentsView *self)
{
  g_return_val_if_fail (WB_IS_SHIPMENTS_VIEW (self), NULL);
  return self->results;
}

GtkColumnView *
wb_shipments_view_get_column_view (WbShipmentsView *self)
{
  g_return_val_if_fail (WB_IS_SHIPMENTS_VIEW (self), NULL);
  return self->column_view;
}

WbShipmentDetail *
wb_shipments_view_get_detail (WbShipmentsView *self)
{
  g_return_val_if_fail (WB_IS_SHIPMENTS_VIEW (self), NULL);
  return self->detail;
}

gboolean
wb_shipments_view_get_detail_shown (WbShipmentsView *self)
{
  g_return_val_if_fail (WB_IS_SHIPMENTS_VIEW (self), FALSE);
  return adw_leaflet_get_visible_child (self->leaflet) == GTK_WIDGET (self->detail);
}
