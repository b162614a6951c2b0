// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sim-stats.h"
#include "sim-stops.h"
#include "wb-position.h"

G_BEGIN_DECLS

/**
 * WbSimFleetOptions:
 * @vehicles: how many vehicles drive, numbered from 1
 * @rate_hz: positions per second per vehicle (0.1: one every 10 s)
 * @protocol: how positions go to waybilld
 * @api_url: base of the REST API (json)
 * @osmand_url: base of the OsmAnd listener
 * @teltonika_address: "host:port" of the Teltonika listener
 * @duration_s: how long to run (wall clock; in fast mode, device time); 0: no limit
 * @count: positions per vehicle; 0: no limit
 * @batch: json: positions per POST; teltonika: records per frame (at most 255)
 * @connections: HTTP requests in flight at most
 * @center_lat: the city's centre
 * @center_lon: the city's centre
 * @seed: the same seed drives the same routes
 * @token: (nullable): a JWT (dispatcher role) for POST /telemetry
 * @device_prefix: device ids are the prefix and the vehicle number
 * @fast: device times from @from_us on, sent as fast as the server takes them
 * @from_us: fast mode's first device time (unix µs); 0 picks one so the run
 *   ends about now
 * @verbose: a progress line every 5 s
 * @stops: (nullable) (array length=n_stops): every vehicle drives these
 *   stops in order (WbSimDriver) instead of roaming, and is done after
 *   the last one's dwell
 * @first_number: the first vehicle's number (device ids follow it); 0 is 1
 * @time_scale: real time only: the simulated clock runs this many times
 *   faster than the wall clock (0 or 1: as fast), with device times from
 *   the past so that the run ends about now
 */
typedef struct
{
  guint       vehicles;
  double      rate_hz;
  WbProtocol  protocol;
  const char *api_url;
  const char *osmand_url;
  const char *teltonika_address;
  double      duration_s;
  guint       count;
  guint       batch;
  guint       connections;
  double      center_lat;
  double      center_lon;
  guint32     seed;
  const char *token;
  const char *device_prefix;
  gboolean    fast;
  gint64      from_us;
  gboolean    verbose;
  const WbSimStop *stops;
  guint       n_stops;
  guint       first_number;
  double      time_scale;
} WbSimFleetOptions;

/* A fleet of simulated vehicles sending their positions, all on the thread
 * default main context: async HTTP and sockets, no thread per vehicle. */
typedef struct _WbSimFleet WbSimFleet;

WbSimFleet       *wb_sim_fleet_new       (const WbSimFleetOptions *options);
void              wb_sim_fleet_free      (WbSimFleet              *fleet);
/* Runs until every vehicle has sent what it was asked to (or was stopped)
 * and every answer is in. */
void              wb_sim_fleet_run       (WbSimFleet              *fleet);
/* No new positions from now on; what is generated still goes out. A second
 * call stops at once. */
void              wb_sim_fleet_stop      (WbSimFleet              *fleet);
const WbSimStats *wb_sim_fleet_get_stats (WbSimFleet              *fleet);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbSimFleet, wb_sim_fleet_free)

G_END_DECLS
