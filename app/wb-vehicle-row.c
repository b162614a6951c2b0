// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include <glib/gi18n.h>

#include <math.h>

#include "wb-vehicle-row.h"
#include "wb-units.h"

struct _WbVehicleRow
{
  GtkWidget        parent_instance;

  WbClientVehicle *vehicle;
  gulong           notify_id;

  GtkImage        *state_icon;
  GtkLabel        *title_label;
  GtkLabel        *subtitle_label;
  GtkLabel        *speed_label;
};

enum
{
  PROP_0,
  PROP_VEHICLE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (WbVehicleRow, wb_vehicle_row, GTK_TYPE_WIDGET)

static const char * const state_classes[] = { "moving", "stopped", "offline", "stale" };

const char *
wb_vehicle_state_label (WbClientVehicle *vehicle)
{
  if (wb_client_vehicle_get_stale (vehicle))
    return "stale";
  return wb_live_state_to_string (wb_client_vehicle_get_state (vehicle)->state);
}

char *
wb_vehicle_title (WbClientVehicle *vehicle)
{
  const char *name = wb_client_vehicle_get_name (vehicle);

  return g_strdup (name ? name : wb_client_vehicle_get_id (vehicle));
}

static char *
subtitle_text (WbClientVehicle *vehicle)
{
  const WbLiveVehicle *state = wb_client_vehicle_get_state (vehicle);
  const char *plate = wb_client_vehicle_get_plate (vehicle);
  const char *parts[4] = { NULL };
  guint n = 0;

  /* The plate once: here only when the title is a name, not the plate. */
  if (plate != NULL && g_strcmp0 (plate, wb_client_vehicle_get_name (vehicle)) != 0)
    parts[n++] = plate;
  if (wb_client_vehicle_get_driver_name (vehicle))
    parts[n++] = wb_client_vehicle_get_driver_name (vehicle);
  else if (state->device_id)
    parts[n++] = state->device_id;
  if (wb_client_vehicle_get_company_name (vehicle))
    parts[n++] = wb_client_vehicle_get_company_name (vehicle);
  return g_strjoinv (" · ", (char **) parts);
}

static void
update (WbVehicleRow *self)
{
  const WbLiveVehicle *state = wb_client_vehicle_get_state (self->vehicle);
  const char *state_label = wb_vehicle_state_label (self->vehicle);
  g_autofree char *title = wb_vehicle_title (self->vehicle);
  g_autofree char *subtitle = subtitle_text (self->vehicle);
  g_autofree char *speed = isnan (state->speed) ? g_strdup ("") : wb_units_format_speed (state->speed);
  g_autofree char *accessible = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (state_classes); i++)
    gtk_widget_remove_css_class (GTK_WIDGET (self->state_icon), state_classes[i]);
  gtk_widget_add_css_class (GTK_WIDGET (self->state_icon), state_label);
  gtk_label_set_text (self->title_label, title);
  gtk_label_set_text (self->subtitle_label, subtitle);
  gtk_label_set_text (self->speed_label, speed);
  accessible = g_strjoin (", ", title, state_label, subtitle, speed, NULL);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL, accessible, -1);
}

static void
on_vehicle_notify (WbVehicleRow *self)
{
  update (self);
}

void
wb_vehicle_row_set_vehicle (WbVehicleRow    *self,
                            WbClientVehicle *vehicle)
{
  g_return_if_fail (WB_IS_VEHICLE_ROW (self));
  g_return_if_fail (vehicle == NULL || WB_IS_CLIENT_VEHICLE (vehicle));

  if (self->vehicle == vehicle)
    return;
  g_clear_signal_handler (&self->notify_id, self->vehicle);
  g_set_object (&self->vehicle, vehicle);
  if (vehicle != NULL)
    {
      self->notify_id = g_signal_connect_swapped (vehicle, "notify", G_CALLBACK (on_vehicle_notify), self);
      update (self);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VEHICLE]);
}

WbClientVehicle *
wb_vehicle_row_get_vehicle (WbVehicleRow *self)
{
  g_return_val_if_fail (WB_IS_VEHICLE_ROW (self), NULL);
  return self->vehicle;
}

static void
wb_vehicle_row_dispose (GObject *object)
{
  GtkWidget *child;
  WbVehicleRow *self = WB_VEHICLE_ROW (object);

  g_clear_signal_handler (&self->notify_id, self->vehicle);
  g_clear_object (&self->vehicle);
  gtk_widget_dispose_template (GTK_WIDGET (self), WB_TYPE_VEHICLE_ROW);
  /* Template children without an id are ours to unparent too. */
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);
  G_OBJECT_CLASS (wb_vehicle_row_parent_class)->dispose (object);
}

static void
wb_vehicle_row_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  WbVehicleRow *self = WB_VEHICLE_ROW (object);

  switch (prop_id)
    {
    case PROP_VEHICLE:
      g_value_set_object (value, self->vehicle);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_vehicle_row_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  WbVehicleRow *self = WB_VEHICLE_ROW (object);

  switch (prop_id)
    {
    case PROP_VEHICLE:
      wb_vehicle_row_set_vehicle (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_vehicle_row_class_init (WbVehicleRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = wb_vehicle_row_dispose;
  object_class->get_property = wb_vehicle_row_get_property;
  object_class->set_property = wb_vehicle_row_set_property;

  properties[PROP_VEHICLE] =
    g_param_spec_object ("vehicle", NULL, NULL, WB_TYPE_CLIENT_VEHICLE,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/waybill/Waybill/wb-vehicle-row.ui");
  gtk_widget_class_bind_template_child (widget_class, WbVehicleRow, state_icon);
  gtk_widget_class_bind_template_child (widget_class, WbVehicleRow, title_label);
  gtk_widget_class_bind_template_child (widget_class, WbVehicleRow, subtitle_label);
  gtk_widget_class_bind_template_child (widget_class, WbVehicleRow, speed_label);
  gtk_widget_class_set_css_name (widget_class, "vehiclerow");
}

static void
wb_vehicle_row_init (WbVehicleRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
wb_vehicle_row_new (void)
{
  return g_object_new (WB_TYPE_VEHICLE_ROW, NULL);
}
