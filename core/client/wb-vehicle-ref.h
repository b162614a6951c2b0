// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/* A vehicle as the reference data names it, for search and labels: its
 * plate, and its driver and company with their names (GET /vehicles joined
 * with GET /drivers and GET /companies). Atomically refcounted, immutable
 * once built. */
typedef struct
{
  char *vehicle_id;
  char *plate;
  char *company_id;    /* nullable */
  char *company_name;  /* nullable: no company, or one the server does not list */
  char *driver_id;     /* nullable */
  char *driver_name;   /* nullable */
} WbVehicleRef;

#define WB_TYPE_VEHICLE_REF (wb_vehicle_ref_get_type ())

GType         wb_vehicle_ref_get_type (void) G_GNUC_CONST;
WbVehicleRef *wb_vehicle_ref_new      (const char   *vehicle_id);
WbVehicleRef *wb_vehicle_ref_ref      (WbVehicleRef *self);
void          wb_vehicle_ref_unref    (WbVehicleRef *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbVehicleRef, wb_vehicle_ref_unref)

G_END_DECLS
