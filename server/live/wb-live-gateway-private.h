// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-live-vehicle.h"
#include "wb-vehicle-state.h"

G_BEGIN_DECLS

/* The new map state of a vehicle a positions.enriched message makes of
 * @old (nullable): from the fleet role's struct, as it travels the
 * in-process bus, and from its JSON body, as it comes over Kafka. Both
 * give the same state; %NULL for a position off the map (no vehicle, no
 * coordinates). Exposed for the tests that hold them to that. */
WbLiveVehicle *wb_live_vehicle_from_enriched (const WbEnrichedPosition *enriched,
                                              const WbLiveVehicle      *old);
WbLiveVehicle *wb_live_vehicle_from_json     (GBytes                   *payload,
                                              const WbLiveVehicle      *old);

G_END_DECLS
