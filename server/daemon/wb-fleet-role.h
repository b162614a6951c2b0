// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-bus.h"
#include "wb-config.h"
#include "wb-fleet-processor.h"
#include "wb-fleet-store.h"
#include "wb-metrics.h"

G_BEGIN_DECLS

#define WB_TYPE_FLEET_ROLE (wb_fleet_role_get_type ())

G_DECLARE_FINAL_TYPE (WbFleetRole, wb_fleet_role, WB, FLEET_ROLE, GObject)

/* The `fleet` role of waybilld: position processing (telemetry.raw →
 * history, current state, positions.enriched, device.offline/online),
 * carrier locations, and the reference-data topics, configured from the
 * fleet.* keys, with its figures in /metrics. */
WbFleetRole      *wb_fleet_role_new           (WbConfig     *config,
                                               WbBus        *bus,
                                               WbFleetStore *store,
                                               const char   *conninfo,
                                               WbMetrics    *metrics);
/* Starts consuming once the schema exists; a database that is not there
 * yet is retried with back-off. */
void              wb_fleet_role_start         (WbFleetRole  *self);
void              wb_fleet_role_stop          (WbFleetRole  *self);
gboolean          wb_fleet_role_is_ready      (WbFleetRole  *self,
                                               char        **out_reason);

G_END_DECLS
