// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include "wb-vehicle-ref.h"

G_DEFINE_BOXED_TYPE (WbVehicleRef, wb_vehicle_ref, wb_vehicle_ref_ref, wb_vehicle_ref_unref)

WbVehicleRef *
wb_vehicle_ref_new (const char *vehicle_id)
{
  WbVehicleRef *self;

  g_return_val_if_fail (vehicle_id != NULL, NULL);

  self = g_atomic_rc_box_new0 (WbVehicleRef);
  self->vehicle_id = g_strdup (vehicle_id);
  return self;
}

WbVehicleRef *
wb_vehicle_ref_ref (WbVehicleRef *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return g_atomic_rc_box_acquire (self);
}

static void
vehicle_ref_clear (gpointer data)
{
  WbVehicleRef *self = data;

  g_free (self->vehicle_id);
  g_free (self->plate);
  g_free (self->company_id);
  g_free (self->company_name);
  g_free (self->driver_id);
  g_free (self->driver_name);
}

void
wb_vehicle_ref_unref (WbVehicleRef *self)
{
  g_return_if_fail (self != NULL);
  g_atomic_rc_box_release_full (self, vehicle_ref_clear);
}
