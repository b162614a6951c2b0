// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "wb-preferences-window.h"

struct _WbPreferencesWindow
{
  AdwPreferencesWindow  parent_instance;

  GSettings            *settings;

  AdwEntryRow          *server_row;
  AdwEntryRow          *tiles_row;
  AdwComboRow          *units_row;
  GtkSwitch            *sound_shipment_switch;
  GtkSwitch            *sound_sla_switch;
  GtkSwitch            *sound_device_switch;
  GtkSwitch            *sound_command_switch;
  GtkSwitch            *sound_carrier_switch;
};

enum
{
  PROP_0,
  PROP_SETTINGS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (WbPreferencesWindow, wb_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

/* The units key's nicks, in the combo row's order. */
static const char * const unit_nicks[] = { "metric", "imperial" };

gboolean
wb_preferences_server_url_is_valid (const char *url)
{
  g_autoptr(GUri) uri = NULL;
  const char *scheme;

  if (url == NULL || *url == '\0')
    return FALSE;
  uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  if (uri == NULL)
    return FALSE;
  scheme = g_uri_get_scheme (uri);
  return (g_str_equal (scheme, "http") || g_str_equal (scheme, "https"))
         && g_uri_get_host (uri) != NULL && *g_uri_get_host (uri) != '\0';
}

gboolean
wb_preferences_tile_template_is_valid (const char *template_text)
{
  if (template_text == NULL)
    return FALSE;
  if (g_str_equal (template_text, "none"))
    return TRUE;
  return strstr (template_text, "{z}") != NULL && strstr (template_text, "{x}") != NULL
         && strstr (template_text, "{y}") != NULL;
}

/* A refused value stays in the row, marked, and the setting keeps the old
 * one; the mark goes as soon as the text changes. */
static void
apply_row (WbPreferencesWindow *self,
           AdwEntryRow         *row,
           const char          *key,
           gboolean           (*is_valid) (const char *))
{
  g_autofree char *text = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (row))));

  if (!is_valid (text))
    {
      gtk_widget_add_css_class (GTK_WIDGET (row), "error");
      gtk_accessible_update_state (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_STATE_INVALID,
                                   GTK_ACCESSIBLE_INVALID_TRUE, -1);
      return;
    }
  g_settings_set_string (self->settings, key, text);
}

static void
on_server_apply (WbPreferencesWindow *self)
{
  apply_row (self, self->server_row, "server-url", wb_preferences_server_url_is_valid);
}

static void
on_tiles_apply (WbPreferencesWindow *self)
{
  apply_row (self, self->tiles_row, "tile-url-template", wb_preferences_tile_template_is_valid);
}

static void
on_no_tiles_clicked (WbPreferencesWindow *self)
{
  g_settings_set_string (self->settings, "tile-url-template", "none");
}

static void
on_row_changed (GtkEditable *row)
{
  gtk_widget_remove_css_class (GTK_WIDGET (row), "error");
  gtk_accessible_reset_state (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_STATE_INVALID);
}

static gboolean
units_to_selected (GValue   *value,
                   GVariant *variant,
                   gpointer  user_data)
{
  const char *nick = g_variant_get_string (variant, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (unit_nicks); i++)
    if (g_str_equal (nick, unit_nicks[i]))
      {
        g_value_set_uint (value, i);
        return TRUE;
      }
  return FALSE;
}

static GVariant *
selected_to_units (const GValue       *value,
                   const GVariantType *expected_type,
                   gpointer            user_data)
{
  guint selected = g_value_get_uint (value);

  if (selected >= G_N_ELEMENTS (unit_nicks))
    return NULL;
  return g_variant_new_string (unit_nicks[selected]);
}

static void
bind_settings (WbPreferencesWindow *self)
{
  /* The entries only read the settings: a half-typed URL must not
   * reconnect the console; "apply" writes them. */
  g_settings_bind (self->settings, "server-url", self->server_row, "text", G_SETTINGS_BIND_GET);
  g_settings_bind (self->settings, "tile-url-template", self->tiles_row, "text", G_SETTINGS_BIND_GET);
  g_settings_bind_with_mapping (self->settings, "units", self->units_row, "selected", G_SETTINGS_BIND_DEFAULT,
                                units_to_selected, selected_to_units, NULL, NULL);
  g_settings_bind (self->settings, "alert-sound-shipment", self->sound_shipment_switch, "active",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "alert-sound-sla", self->sound_sla_switch, "active", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "alert-sound-command", self->sound_command_switch, "active",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "alert-sound-carrier", self->sound_carrier_switch, "active",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "alert-sound-device", self->sound_device_switch, "active",
                   G_SETTINGS_BIND_DEFAULT);
}

static void
wb_preferences_window_constructed (GObject *object)
{
  WbPreferencesWindow *self = WB_PREFERENCES_WINDOW (object);

  G_OBJECT_CLASS (wb_preferences_window_parent_class)->constructed (object);
  if (self->settings == NULL)
    self->settings = g_settings_new ("org.waybill.Waybill");
  bind_settings (self);
}

static void
wb_preferences_window_dispose (GObject *object)
{
  WbPreferencesWindow *self = WB_PREFERENCES_WINDOW (object);

  gtk_widget_dispose_template (GTK_WIDGET (self), WB_TYPE_PREFERENCES_WINDOW);
  g_clear_object (&self->settings);
  G_OBJECT_CLASS (wb_preferences_window_parent_class)->dispose (object);
}

static void
wb_preferences_window_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  WbPreferencesWindow *self = WB_PREFERENCES_WINDOW (object);

  switch (prop_id)
    {
    case PROP_SETTINGS:
      g_value_set_object (value, self->settings);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_preferences_window_set_property (GObject      *object,
                                    guint         prop_id,
                                    const GValue *value,
                                    GParamSpec   *pspec)
{
  WbPreferencesWindow *self = WB_PREFERENCES_WINDOW (object);

  switch (prop_id)
    {
    case PROP_SETTINGS:
      self->settings = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_preferences_window_class_init (WbPreferencesWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = wb_preferences_window_constructed;
  object_class->dispose = wb_preferences_window_dispose;
  object_class->get_property = wb_preferences_window_get_property;
  object_class->set_property = wb_preferences_window_set_property;

  properties[PROP_SETTINGS] =
    g_param_spec_object ("settings", NULL, NULL, G_TYPE_SETTINGS,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/waybill/Waybill/wb-preferences-window.ui");
  gtk_widget_class_bind_template_child (widget_class, WbPreferencesWindow, server_row);
  gtk_widget_class_bind_template_child (widget_class, WbPreferencesWindow, tiles_row);
  gtk_widget_class_bind_template_child (widget_class, WbPreferencesWindow, units_row);
  gtk_widget_class_bind_template_child (widget_class, WbPreferencesWindow, sound_shipment_switch);
  gtk_widget_class_bind_template_child (widget_class, WbPreferencesWindow, sound_sla_switch);
  gtk_widget_class_bind_template_child (widget_class, WbPreferencesWindow, sound_device_switch);
  gtk_widget_class_bind_template_child (widget_class, WbPreferencesWindow, sound_command_switch);
  gtk_widget_class_bind_template_child (widget_class, WbPreferencesWindow, sound_carrier_switch);
  gtk_widget_class_bind_template_callback (widget_class, on_server_apply);
  gtk_widget_class_bind_template_callback (widget_class, on_tiles_apply);
  gtk_widget_class_bind_template_callback (widget_class, on_no_tiles_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_row_changed);
}

static void
wb_preferences_window_init (WbPreferencesWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
wb_preferences_window_new (GtkWindow *parent,
                           GSettings *settings)
{
  g_return_val_if_fail (parent == NULL || GTK_IS_WINDOW (parent), NULL);
  g_return_val_if_fail (settings == NULL || G_IS_SETTINGS (settings), NULL);

  return g_object_new (WB_TYPE_PREFERENCES_WINDOW, "transient-for", parent, "settings", settings, NULL);
}
