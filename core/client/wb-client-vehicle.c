// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include "wb-client-vehicle.h"

struct _WbClientVehicle
{
  GObject        parent_instance;
  WbLiveVehicle *state;
  char          *name;
  char          *plate;
  char          *driver_name;
  char          *company_name;
  guint          stale : 1;
};

G_DEFINE_FINAL_TYPE (WbClientVehicle, wb_client_vehicle, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_ID,
  PROP_STATE,
  PROP_STALE,
  PROP_NAME,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* g_set_str() is GLib 2.76; Debian 12 has 2.74. */
static gboolean
set_str (char       **field,
         const char  *value)
{
  if (g_strcmp0 (*field, value) == 0)
    return FALSE;
  g_free (*field);
  *field = g_strdup (value);
  return TRUE;
}

static void
wb_client_vehicle_finalize (GObject *object)
{
  WbClientVehicle *self = WB_CLIENT_VEHICLE (object);

  g_clear_pointer (&self->state, wb_live_vehicle_unref);
  g_clear_pointer (&self->name, g_free);
  g_clear_pointer (&self->plate, g_free);
  g_clear_pointer (&self->driver_name, g_free);
  g_clear_pointer (&self->company_name, g_free);

  G_OBJECT_CLASS (wb_client_vehicle_parent_class)->finalize (object);
}

static void
wb_client_vehicle_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  WbClientVehicle *self = WB_CLIENT_VEHICLE (object);

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_string (value, wb_client_vehicle_get_id (self));
      break;
    case PROP_STATE:
      g_value_set_boxed (value, self->state);
      break;
    case PROP_STALE:
      g_value_set_boolean (value, self->stale);
      break;
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_client_vehicle_class_init (WbClientVehicleClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = wb_client_vehicle_finalize;
  object_class->get_property = wb_client_vehicle_get_property;

  properties[PROP_ID] =
    g_param_spec_string ("id", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_STATE] =
    g_param_spec_boxed ("state", NULL, NULL, WB_TYPE_LIVE_VEHICLE,
                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_STALE] =
    g_param_spec_boolean ("stale", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
wb_client_vehicle_init (WbClientVehicle *self)
{
}

WbClientVehicle *
wb_client_vehicle_new (WbLiveVehicle *state)
{
  WbClientVehicle *self;

  g_return_val_if_fail (state != NULL, NULL);
  g_return_val_if_fail (state->vehicle_id != NULL, NULL);

  self = g_object_new (WB_TYPE_CLIENT_VEHICLE, NULL);
  self->state = wb_live_vehicle_ref (state);
  return self;
}

const char *
wb_client_vehicle_get_id (WbClientVehicle *self)
{
  g_return_val_if_fail (WB_IS_CLIENT_VEHICLE (self), NULL);
  return self->state->vehicle_id;
}

const WbLiveVehicle *
wb_client_vehicle_get_state (WbClientVehicle *self)
{
  g_return_val_if_fail (WB_IS_CLIENT_VEHICLE (self), NULL);
  return self->state;
}

void
wb_client_vehicle_set_state (WbClientVehicle *self,
                             WbLiveVehicle   *state)
{
  g_return_if_fail (WB_IS_CLIENT_VEHICLE (self));
  g_return_if_fail (state != NULL);
  g_return_if_fail (g_strcmp0 (state->vehicle_id, self->state->vehicle_id) == 0);

  if (state == self->state)
    return;
  wb_live_vehicle_ref (state);
  g_clear_pointer (&self->state, wb_live_vehicle_unref);
  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
  wb_client_vehicle_set_stale (self, FALSE);
}

double
wb_client_vehicle_get_latitude (WbClientVehicle *self)
{
  g_return_val_if_fail (WB_IS_CLIENT_VEHICLE (self), 0.0);
  return self->state->lat;
}

double
wb_client_vehicle_get_longitude (WbClientVehicle *self)
{
  g_return_val_if_fail (WB_IS_CLIENT_VEHICLE (self), 0.0);
  return self->state->lon;
}

gboolean
wb_client_vehicle_get_stale (WbClientVehicle *self)
{
  g_return_val_if_fail (WB_IS_CLIENT_VEHICLE (self), FALSE);
  return self->stale;
}

void
wb_client_vehicle_set_stale (WbClientVehicle *self,
                             gboolean         stale)
{
  g_return_if_fail (WB_IS_CLIENT_VEHICLE (self));

  stale = !!stale;
  if (self->stale == stale)
    return;
  self->stale = stale;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STALE]);
}

const char *
wb_client_vehicle_get_name (WbClientVehicle *self)
{
  g_return_val_if_fail (WB_IS_CLIENT_VEHICLE (self), NULL);
  return self->name;
}

const char *
wb_client_vehicle_get_plate (WbClientVehicle *self)
{
  g_return_val_if_fail (WB_IS_CLIENT_VEHICLE (self), NULL);
  return self->plate;
}

const char *
wb_client_vehicle_get_driver_name (WbClientVehicle *self)
{
  g_return_val_if_fail (WB_IS_CLIENT_VEHICLE (self), NULL);
  return self->driver_name;
}

const char *
wb_client_vehicle_get_company_name (WbClientVehicle *self)
{
  g_return_val_if_fail (WB_IS_CLIENT_VEHICLE (self), NULL);
  return self->company_name;
}

void
wb_client_vehicle_set_names (WbClientVehicle *self,
                             const char      *name,
                             const char      *plate,
                             const char      *driver_name,
                             const char      *company_name)
{
  gboolean changed;

  g_return_if_fail (WB_IS_CLIENT_VEHICLE (self));

  changed = set_str (&self->name, name);
  changed |= set_str (&self->plate, plate);
  changed |= set_str (&self->driver_name, driver_name);
  changed |= set_str (&self->company_name, company_name);
  if (changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NAME]);
}
