// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-bus.h"
#include "wb-fleet-store.h"

G_BEGIN_DECLS

#define WB_TYPE_FLEET_REFERENCE_CONSUMER (wb_fleet_reference_consumer_get_type ())

G_DECLARE_FINAL_TYPE (WbFleetReferenceConsumer, wb_fleet_reference_consumer, WB, FLEET_REFERENCE_CONSUMER, GObject)

/* Applies company.updated, driver.updated and vehicle.updated from the bus
 * through the same store path as the REST PUTs. */
WbFleetReferenceConsumer *wb_fleet_reference_consumer_new  (WbBus                    *bus,
                                                            WbFleetStore             *store);
void                      wb_fleet_reference_consumer_start (WbFleetReferenceConsumer *self);
void                      wb_fleet_reference_consumer_stop  (WbFleetReferenceConsumer *self);
/* Totals: updates applied (newer versions), ignored (not newer), and
 * dead-lettered. */
void                      wb_fleet_reference_consumer_get_counts (WbFleetReferenceConsumer *self,
                                                                  guint64                  *out_applied,
                                                                  guint64                  *out_ignored,
                                                                  guint64                  *out_dead_letters);

G_END_DECLS
