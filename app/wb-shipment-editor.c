// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include <glib/gi18n.h>

#include "wb-shipment-editor.h"

static const char * const service_levels[] = { "standard", "express", "same-day", "economy", NULL };

struct _WbShipmentEditor
{
  AdwWindow         parent_instance;

  WbClient         *client;
  WbClientShipment *shipment;     /* nullable: creating */
  GCancellable     *cancellable;
  gboolean          saving;
  char             *error_field;

  AdwWindowTitle   *window_title;
  GtkButton        *save_button;
  GtkLabel         *error_label;
  AdwEntryRow      *client_row;
  AdwEntryRow      *reference_row;
  AdwComboRow      *service_row;
  AdwEntryRow      *name_row;
  AdwEntryRow      *phone_row;
  AdwEntryRow      *email_row;
  AdwEntryRow      *country_row;
  AdwEntryRow      *city_row;
  AdwEntryRow      *line1_row;
  AdwEntryRow      *line2_row;
  AdwEntryRow      *postal_row;
  AdwEntryRow      *rows[10];
};

enum { SAVED, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (WbShipmentEditor, wb_shipment_editor, ADW_TYPE_WINDOW)

/* Each text row is named after the API's field ("recipient.phone"). */
static AdwEntryRow *
row_for (WbShipmentEditor *self,
         const char       *field)
{
  for (guint i = 0; field != NULL && i < G_N_ELEMENTS (self->rows); i++)
    if (g_str_equal (gtk_widget_get_name (GTK_WIDGET (self->rows[i])), field))
      return self->rows[i];
  return NULL;
}

static char *
text_of (AdwEntryRow *row)
{
  g_autofree char *text = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (row))));

  return *text != '\0' ? g_steal_pointer (&text) : NULL;
}

static void
add_text (JsonBuilder *builder,
          const char  *member,
          AdwEntryRow *row,
          gboolean     null_when_empty)
{
  g_autofree char *text = text_of (row);

  if (text == NULL && !null_when_empty)
    return;
  json_builder_set_member_name (builder, member);
  if (text != NULL)
    json_builder_add_string_value (builder, text);
  else
    json_builder_add_null_value (builder);
}

/* The form as the API takes it: everything on create; on edit, the
 * members a PATCH may change, emptied optional ones as null. */
static JsonNode *
build_body (WbShipmentEditor *self)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  gboolean edit = self->shipment != NULL;
  guint level = adw_combo_row_get_selected (self->service_row);

  json_builder_begin_object (builder);
  if (!edit)
    add_text (builder, "clientId", self->client_row, FALSE);
  add_text (builder, "reference", self->reference_row, edit);
  if (level < g_strv_length ((char **) service_levels))
    {
      json_builder_set_member_name (builder, "serviceLevel");
      json_builder_add_string_value (builder, service_levels[level]);
    }
  json_builder_set_member_name (builder, "recipient");
  json_builder_begin_object (builder);
  add_text (builder, "name", self->name_row, FALSE);
  add_text (builder, "phone", self->phone_row, FALSE);
  add_text (builder, "email", self->email_row, edit);
  json_builder_end_object (builder);
  json_builder_set_member_name (builder, "destination");
  json_builder_begin_object (builder);
  add_text (builder, "country", self->country_row, FALSE);
  add_text (builder, "city", self->city_row, FALSE);
  add_text (builder, "line1", self->line1_row, FALSE);
  add_text (builder, "line2", self->line2_row, edit);
  add_text (builder, "postalCode", self->postal_row, edit);
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

static void
clear_error (WbShipmentEditor *self)
{
  for (guint i = 0; i < G_N_ELEMENTS (self->rows); i++)
    gtk_widget_remove_css_class (GTK_WIDGET (self->rows[i]), "error");
  gtk_widget_remove_css_class (GTK_WIDGET (self->service_row), "error");
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), FALSE);
  g_clear_pointer (&self->error_field, g_free);
}

/* The refusal on the field it names, said above the form in the words of
 * the field's own title. */
static void
show_error (WbShipmentEditor *self,
            const GError     *error)
{
  const char *field = wb_client_error_get_field (error);
  AdwEntryRow *row = row_for (self, field);
  GtkWidget *marked = row ? GTK_WIDGET (row)
                      : g_strcmp0 (field, "serviceLevel") == 0 ? GTK_WIDGET (self->service_row) : NULL;
  g_autofree char *message = NULL;
  g_autofree char *prefix = field ? g_strconcat (field, ": ", NULL) : NULL;
  /* The server's message names its field first; the form says it in the
   * field's own words instead. */
  const char *reason = prefix && g_str_has_prefix (error->message, prefix) ? error->message + strlen (prefix)
                                                                           : error->message;

  g_free (self->error_field);
  self->error_field = g_strdup (field);
  if (marked != NULL)
    {
      /* Translators: a form field's title, then the server's reason */
      message = g_strdup_printf (_("%s: %s"), adw_preferences_row_get_title (ADW_PREFERENCES_ROW (marked)), reason);
      gtk_widget_add_css_class (marked, "error");
      gtk_widget_grab_focus (marked);
    }
  else
    message = g_strdup_printf (_("Not saved: %s"), error->message);
  gtk_label_set_text (self->error_label, message);
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), TRUE);
}

static void
set_saving (WbShipmentEditor *self,
            gboolean          saving)
{
  self->saving = saving;
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "editor.save", !saving);
}

static void
on_saved (GObject      *source,
          GAsyncResult *result,
          gpointer      data)
{
  g_autoptr(WbShipmentEditor) self = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) answer = wb_client_call_json_finish (WB_CLIENT (source), result, &error);
  const char *id = NULL;

  if (answer == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  set_saving (self, FALSE);
  if (answer == NULL)
    return show_error (self, error);
  if (JSON_NODE_HOLDS_OBJECT (answer))
    id = json_object_get_string_member_with_default (json_node_get_object (answer), "id", NULL);
  g_signal_emit (self, signals[SAVED], 0, id ? id : (self->shipment ? wb_client_shipment_get_id (self->shipment) : ""));
  gtk_window_destroy (GTK_WINDOW (self));
}

static void
save_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  WbShipmentEditor *self = WB_SHIPMENT_EDITOR (widget);
  g_autoptr(JsonNode) body = NULL;

  if (self->saving)
    return;
  clear_error (self);
  body = build_body (self);
  set_saving (self, TRUE);
  if (self->shipment == NULL)
    {
      wb_client_call_json_async (self->client, "POST", "/shipments", body, self->cancellable, on_saved,
                                 g_object_ref (self));
      return;
    }
  {
    g_autofree char *path = g_strdup_printf ("/shipments/%s", wb_client_shipment_get_id (self->shipment));
    g_autofree char *etag = g_strdup_printf ("\"%" G_GINT64_FORMAT "\"", wb_client_shipment_get_version (self->shipment));

    wb_client_call_json_if_match_async (self->client, "PATCH", path, body, etag, self->cancellable, on_saved,
                                        g_object_ref (self));
  }
}

static void
fill (WbShipmentEditor *self)
{
  WbClientShipment *shipment = self->shipment;
  const WbClientAddress *to;
  const char *level;

  if (shipment == NULL)
    return;
  to = wb_client_shipment_get_destination (shipment);
  gtk_editable_set_text (GTK_EDITABLE (self->client_row), wb_client_shipment_get_client_id (shipment) ?: "");
  gtk_widget_set_sensitive (GTK_WIDGET (self->client_row), FALSE);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->client_row), _("A shipment keeps its client"));
  gtk_editable_set_text (GTK_EDITABLE (self->reference_row), wb_client_shipment_get_reference (shipment) ?: "");
  gtk_editable_set_text (GTK_EDITABLE (self->name_row), wb_client_shipment_get_recipient_name (shipment) ?: "");
  gtk_editable_set_text (GTK_EDITABLE (self->phone_row), wb_client_shipment_get_recipient_phone (shipment) ?: "");
  gtk_editable_set_text (GTK_EDITABLE (self->email_row), wb_client_shipment_get_recipient_email (shipment) ?: "");
  if (to != NULL)
    {
      gtk_editable_set_text (GTK_EDITABLE (self->country_row), to->country ?: "");
      gtk_editable_set_text (GTK_EDITABLE (self->city_row), to->city ?: "");
      gtk_editable_set_text (GTK_EDITABLE (self->line1_row), to->line1 ?: "");
      gtk_editable_set_text (GTK_EDITABLE (self->line2_row), to->line2 ?: "");
      gtk_editable_set_text (GTK_EDITABLE (self->postal_row), to->postal_code ?: "");
    }
  level = wb_client_shipment_get_service_level (shipment);
  for (guint i = 0; service_levels[i] != NULL; i++)
    if (g_strcmp0 (level, service_levels[i]) == 0)
      adw_combo_row_set_selected (self->service_row, i);
}

static void
wb_shipment_editor_dispose (GObject *object)
{
  WbShipmentEditor *self = WB_SHIPMENT_EDITOR (object);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->client);
  g_clear_object (&self->shipment);
  gtk_widget_dispose_template (GTK_WIDGET (self), WB_TYPE_SHIPMENT_EDITOR);
  G_OBJECT_CLASS (wb_shipment_editor_parent_class)->dispose (object);
}

static void
wb_shipment_editor_finalize (GObject *object)
{
  g_free (WB_SHIPMENT_EDITOR (object)->error_field);
  G_OBJECT_CLASS (wb_shipment_editor_parent_class)->finalize (object);
}

static void
wb_shipment_editor_class_init (WbShipmentEditorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = wb_shipment_editor_dispose;
  object_class->finalize = wb_shipment_editor_finalize;
  signals[SAVED] = g_signal_new ("saved", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                 G_TYPE_NONE, 1, G_TYPE_STRING);
  gtk_widget_class_install_action (widget_class, "editor.save", NULL, save_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_s, GDK_CONTROL_MASK, "editor.save", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
  gtk_widget_class_set_template_from_resource (widget_class, "/org/waybill/Waybill/wb-shipment-editor.ui");
  gtk_widget_class_bind_template_child (widget_class, WbShipmentEditor, window_title);
  gtk_widget_class_bind_template_child (widget_class, WbShipmentEditor, save_button);
  gtk_widget_class_bind_template_child (widget_class, WbShipmentEditor, error_label);
  gtk_widget_class_bind_template_child (widget_class, WbShipmentEditor, client_row);
  gtk_widget_class_bind_template_child (widget_class, WbShipmentEditor, reference_row);
  gtk_widget_class_bind_template_child (widget_class, WbShipmentEditor, service_row);
  gtk_widget_class_bind_template_child (widget_class, WbShipmentEditor, name_row);
  gtk_widget_class_bind_template_child (widget_class, WbShipmentEditor, phone_row);
  gtk_widget_class_bind_template_child (widget_class, WbShipmentEditor, email_row);
  gtk_widget_class_bind_template_child (widget_class, WbShipmentEditor, country_row);
  gtk_widget_class_bind_template_child (widget_class, WbShipmentEditor, city_row);
  gtk_widget_class_bind_template_child (widget_class, WbShipmentEditor, line1_row);
  gtk_widget_class_bind_template_child (widget_class, WbShipmentEditor, line2_row);
  gtk_widget_class_bind_template_child (widget_class, WbShipmentEditor, postal_row);
}

static void
wb_shipment_editor_init (WbShipmentEditor *self)
{
  g_autoptr(GtkStringList) levels = gtk_string_list_new (NULL);

  gtk_widget_init_template (GTK_WIDGET (self));
  {
    AdwEntryRow *rows[] = { self->client_row, self->reference_row, self->name_row, self->phone_row, self->email_row,
                            self->country_row, self->city_row, self->line1_row, self->line2_row, self->postal_row };

    G_STATIC_ASSERT (G_N_ELEMENTS (rows) == G_N_ELEMENTS (self->rows));
    memcpy (self->rows, rows, sizeof rows);
  }
  self->cancellable = g_cancellable_new ();
  gtk_string_list_append (levels, C_("service level", "Standard"));
  gtk_string_list_append (levels, C_("service level", "Express"));
  gtk_string_list_append (levels, C_("service level", "Same day"));
  gtk_string_list_append (levels, C_("service level", "Economy"));
  adw_combo_row_set_model (self->service_row, G_LIST_MODEL (levels));
  gtk_editable_set_text (GTK_EDITABLE (self->country_row), "BY");
}

static WbShipmentEditor *
editor_new (WbClient         *client,
            WbClientShipment *shipment)
{
  WbShipmentEditor *self = g_object_new (WB_TYPE_SHIPMENT_EDITOR, NULL);

  self->client = g_object_ref (client);
  self->shipment = shipment ? g_object_ref (shipment) : NULL;
  adw_window_title_set_title (self->window_title, shipment ? _("Edit Shipment") : _("New Shipment"));
  if (shipment != NULL)
    adw_window_title_set_subtitle (self->window_title, wb_client_shipment_get_reference (shipment)
                                                       ?: wb_client_shipment_get_id (shipment));
  gtk_button_set_label (self->save_button, shipment ? _("_Save") : _("C_reate"));
  fill (self);
  return self;
}

GtkWidget *
wb_shipment_editor_new_create (WbClient *client)
{
  g_return_val_if_fail (WB_IS_CLIENT (client), NULL);
  return GTK_WIDGET (editor_new (client, NULL));
}

GtkWidget *
wb_shipment_editor_new_edit (WbClient         *client,
                             WbClientShipment *shipment)
{
  g_return_val_if_fail (WB_IS_CLIENT (client), NULL);
  g_return_val_if_fail (WB_IS_CLIENT_SHIPMENT (shipment), NULL);
  return GTK_WIDGET (editor_new (client, shipment));
}

gboolean
wb_shipment_editor_set_field (WbShipmentEditor *self,
                              const char       *field,
                              const char       *value)
{
  AdwEntryRow *row;

  g_return_val_if_fail (WB_IS_SHIPMENT_EDITOR (self), FALSE);

  if (g_strcmp0 (field, "serviceLevel") == 0)
    {
      for (guint i = 0; service_levels[i] != NULL; i++)
        if (g_strcmp0 (value, service_levels[i]) == 0)
          {
            adw_combo_row_set_selected (self->service_row, i);
            return TRUE;
          }
      return FALSE;
    }
  row = row_for (self, field);
  if (row == NULL)
    return FALSE;
  gtk_editable_set_text (GTK_EDITABLE (row), value ?: "");
  return TRUE;
}

const char *
wb_shipment_editor_get_error_field (WbShipmentEditor *self)
{
  g_return_val_if_fail (WB_IS_SHIPMENT_EDITOR (self), NULL);
  return self->error_field;
}

gboolean
wb_shipment_editor_get_saving (WbShipmentEditor *self)
{
  g_return_val_if_fail (WB_IS_SHIPMENT_EDITOR (self), FALSE);
  return self->saving;
}
