// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <gio/gio.h>

#include "wb-bus.h"
#include "wb-fleet-index.h"
#include "wb-position-history.h"
#include "wb-vehicle-state.h"

G_BEGIN_DECLS

#define WB_TOPIC_POSITIONS_ENRICHED "positions.enriched"
#define WB_TOPIC_DEVICE_OFFLINE     "device.offline"
#define WB_TOPIC_DEVICE_ONLINE      "device.online"
#define WB_TOPIC_CARRIER_LOCATION   "events.carrier_location"

typedef struct
{
  guint   max_batch;          /* positions per transaction */
  guint   linger_ms;          /* how long a smaller batch may wait for more */
  gint64  offline_after;      /* µs of silence before device.offline */
  double  moving_speed_kmh;   /* at or above: moving */
} WbFleetProcessorSettings;

/* Running totals, for /metrics and tests. */
typedef struct
{
  guint64 batches;
  guint64 positions;          /* taken off the bus */
  guint64 stored;             /* new history rows */
  guint64 repeated;           /* already in history (a redelivery) */
  guint64 expired;            /* older than the retention */
  guint64 unassigned;         /* from devices with no vehicle */
  guint64 dead_letters;       /* undecodable messages sent to <topic>.dlq */
  guint64 retries;            /* batches put back after a database fault */
  guint64 carrier_locations;  /* events.carrier_location applied */
  guint   vehicles;           /* in the current-state table */
  guint   offline_devices;
  gboolean db_up;
} WbFleetProcessorStats;

#define WB_TYPE_FLEET_PROCESSOR (wb_fleet_processor_get_type ())

G_DECLARE_FINAL_TYPE (WbFleetProcessor, wb_fleet_processor, WB, FLEET_PROCESSOR, GObject)

void              wb_fleet_processor_settings_init  (WbFleetProcessorSettings *settings);

WbFleetProcessor *wb_fleet_processor_new            (WbBus                          *bus,
                                                     WbFleetIndex                   *index,
                                                     WbPositionHistory              *history,
                                                     const char                     *conninfo,
                                                     const WbFleetProcessorSettings *settings);
/* Subscribes at once (positions wait on the bus meanwhile), rebuilds the
 * current-state table from its snapshot and creates the history
 * partitions ahead. On error, call it again: it does not subscribe twice,
 * and a batch that comes first retries the loading itself. */
void              wb_fleet_processor_start_async    (WbFleetProcessor               *self,
                                                     GCancellable                   *cancellable,
                                                     GAsyncReadyCallback             callback,
                                                     gpointer                        user_data);
gboolean          wb_fleet_processor_start_finish   (WbFleetProcessor               *self,
                                                     GAsyncResult                   *result,
                                                     GError                        **error);
/* Stops consuming; a batch being written is finished (and acknowledged)
 * first. Blocks for at most that batch. */
void              wb_fleet_processor_stop           (WbFleetProcessor               *self);

/* Returns: (transfer full) (nullable): a copy of @vehicle_id's state */
WbVehicleState   *wb_fleet_processor_get_state      (WbFleetProcessor               *self,
                                                     const char                     *vehicle_id);
void              wb_fleet_processor_get_stats      (WbFleetProcessor               *self,
                                                     WbFleetProcessorStats          *out_stats);
/* Looks for devices silent longer than the threshold now (the processor
 * also does so on its own every few seconds). */
void              wb_fleet_processor_check_offline  (WbFleetProcessor               *self);

G_END_DECLS
