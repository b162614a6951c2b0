// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/**
 * WbFleetEnrichment:
 * @vehicle_id: the vehicle the device is fitted to; %NULL for a device
 *   with no vehicle (one accepted into quarantine)
 * @plate: (nullable): the vehicle's plate
 * @driver_id: (nullable): the vehicle's driver
 * @driver_name: (nullable): that driver's name, once driver.updated arrived
 * @company_id: (nullable): the operating company: the driver's when the
 *   vehicle's driver names one (a driver moving company takes the vehicle's
 *   positions with them), else the vehicle's own
 * @company_name: (nullable): that company's name, once known
 * @group_id: (nullable): the vehicle's group
 * @tariff_id: (nullable): the vehicle's tariff
 * @trip_id: (nullable): the trip the vehicle is on, while that trip is
 *   IN_TRANSIT
 *
 * What a position is joined with: an immutable, reference-counted
 * snapshot. References are soft (reference data arrives on independent
 * topics), so any member but @vehicle_id may be %NULL because what it
 * refers to is not known yet. A later change makes a new snapshot; one in
 * hand never changes.
 */
typedef struct
{
  char *vehicle_id;
  char *plate;
  char *driver_id;
  char *driver_name;
  char *company_id;
  char *company_name;
  char *group_id;
  char *tariff_id;
  char *trip_id;
} WbFleetEnrichment;

#define WB_TYPE_FLEET_ENRICHMENT (wb_fleet_enrichment_get_type ())

GType              wb_fleet_enrichment_get_type (void) G_GNUC_CONST;
WbFleetEnrichment *wb_fleet_enrichment_ref      (WbFleetEnrichment *enrichment);
void               wb_fleet_enrichment_unref    (WbFleetEnrichment *enrichment);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbFleetEnrichment, wb_fleet_enrichment_unref)

#define WB_TYPE_FLEET_INDEX (wb_fleet_index_get_type ())

/**
 * WbFleetIndex:
 *
 * The fleet's reference data in memory: device → vehicle (with the device's
 * token hash and quarantine flag), vehicle → driver → company, group and
 * tariff, and vehicle → the trip it is on while that trip is IN_TRANSIT.
 * Thread-safe and read-mostly: lookups take a read lock for a hash lookup
 * and a reference; they never touch the database.
 *
 * A WbFleetStore writes the reference data: filled by
 * wb_fleet_store_load_async(), then updated after each committed write,
 * newest version winning, so a slow writer cannot put an older state back.
 * The fleet processor writes the trips: loaded from the trips table at
 * start, then read again from it for each trip lifecycle message.
 */
G_DECLARE_FINAL_TYPE (WbFleetIndex, wb_fleet_index, WB, FLEET_INDEX, GObject)

WbFleetIndex      *wb_fleet_index_new            (void);

/* Returns: (transfer full) (nullable): the enrichment of @device_id's
 * vehicle, %NULL when the device is unknown. */
WbFleetEnrichment *wb_fleet_index_lookup_device  (WbFleetIndex *self,
                                                  const char   *device_id);
/* Returns: (transfer full) (nullable): %NULL when no vehicle.updated (or
 * PUT) for @vehicle_id has been applied. */
WbFleetEnrichment *wb_fleet_index_lookup_vehicle (WbFleetIndex *self,
                                                  const char   *vehicle_id);

/* Returns: (transfer full) (nullable): the IN_TRANSIT trip @vehicle_id is
 * on, %NULL when none. */
char              *wb_fleet_index_lookup_trip    (WbFleetIndex *self,
                                                  const char   *vehicle_id);

/* Whether @device_id may send positions: it is known and @token matches
 * its token (constant-time comparison of SHA-256 hashes). A device
 * registered without a token accepts any token or none; one with a token
 * refuses a wrong one and none. @out_quarantined: (out) (optional): set
 * when the device is known, whatever the token. */
gboolean           wb_fleet_index_check_device   (WbFleetIndex *self,
                                                  const char   *device_id,
                                                  const char   *token,
                                                  gboolean     *out_quarantined);
/* Whether @device_id is in the index at all: tells an unknown device from a
 * wrong token when wb_fleet_index_check_device() says no. */
gboolean           wb_fleet_index_has_device     (WbFleetIndex *self,
                                                  const char   *device_id);

/* How many of each are indexed (for /metrics and tests). */
void               wb_fleet_index_get_counts     (WbFleetIndex *self,
                                                  guint        *out_companies,
                                                  guint        *out_drivers,
                                                  guint        *out_vehicles,
                                                  guint        *out_devices);

G_END_DECLS
