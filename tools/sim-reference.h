// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sim-stats.h"
#include "wb-position.h"

G_BEGIN_DECLS

/**
 * WbSimReferenceOptions:
 * @vehicles: drivers, vehicles and devices to register
 * @companies: companies the vehicles and drivers are spread over
 * @api_url: base of the REST API
 * @token: (nullable): a JWT with the admin role
 * @device_prefix: as for `waybill-sim fleet`
 * @protocol: the fleet's protocol, which decides the device ids
 * @connections: requests in flight at most
 */
typedef struct
{
  guint       vehicles;
  guint       companies;
  const char *api_url;
  const char *token;
  const char *device_prefix;
  WbProtocol  protocol;
  guint       connections;
  const char *kafka_brokers;   /* set: companies, drivers, vehicles go to their *.updated topics */
  gboolean    bulk;            /* POST /<kind>:import with NDJSON bodies instead of one PUT each */
  guint       bulk_rows;       /* rows an import carries at most */
} WbSimReferenceOptions;

/* Registers companies, drivers, vehicles and devices with PUTs (or, with
 * @bulk, imports of up to @bulk_rows rows), in that order, on the
 * thread-default main context; a write without a version is idempotent,
 * so running it again changes nothing that matters. @stats counts each
 * entity as one item. */
void wb_sim_reference_run (const WbSimReferenceOptions *options,
                           WbSimStats                  *stats);

G_END_DECLS
