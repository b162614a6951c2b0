// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <gio/gio.h>

#include "wb-db-pool.h"
#include "wb-fleet-import.h"
#include "wb-fleet-index.h"
#include "wb-fleet-update.h"
#include "wb-track.h"

G_BEGIN_DECLS

/* Silence after which a vehicle's currentState says offline, unless told. */
#define WB_FLEET_DEFAULT_OFFLINE_AFTER (G_GINT64_CONSTANT (600) * G_USEC_PER_SEC)
/* The most positions one track request reads (a 30-day track at 2 s). */
#define WB_FLEET_TRACK_MAX_POINTS 1500000

typedef struct
{
  char          *vehicle_id;
  gint64         from;          /* unix µs, inclusive */
  gint64         to;            /* unix µs, exclusive */
  double         tolerance_m;   /* Douglas–Peucker; 0 keeps every point */
  WbTrackParams  params;
  gboolean       geojson;
} WbTrackQuery;

void wb_track_query_free (WbTrackQuery *query);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbTrackQuery, wb_track_query_free)

/* Largest page of GET /companies, /drivers, /vehicles. */
#define WB_FLEET_MAX_PAGE_SIZE 500

/**
 * WbFleetApplyResult:
 * @applied: %FALSE when the update was stale: the stored version is not
 *   older than the update's (not an error; nothing changed)
 * @version: the stored version after the call (the current one when stale)
 * @json: the stored object after the call, as the camelCase JSON text REST
 *   answers with
 */
typedef struct
{
  gboolean  applied;
  gint64    version;
  char     *json;
} WbFleetApplyResult;

/**
 * WbFleetQuery:
 * @kind: companies, drivers or vehicles (not devices)
 * @company_id: (nullable): drivers and vehicles of this company only
 * @group_id: (nullable): vehicles of this group only
 * @limit: page size, 1 to %WB_FLEET_MAX_PAGE_SIZE; 0 = 50
 * @after: (nullable): the cursor: the page starts after this id
 *
 * One page of a list, ordered by id.
 */
typedef struct
{
  WbFleetKind  kind;
  char        *company_id;
  char        *group_id;
  guint        limit;
  char        *after;
} WbFleetQuery;

void wb_fleet_apply_result_free (WbFleetApplyResult *result);
void wb_fleet_query_free        (WbFleetQuery       *query);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbFleetApplyResult, wb_fleet_apply_result_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbFleetQuery, wb_fleet_query_free)

#define WB_TYPE_FLEET_STORE (wb_fleet_store_get_type ())

/**
 * WbFleetStore:
 *
 * The fleet reference data in PostgreSQL (companies, drivers, vehicles,
 * devices), and the one path every write takes, whether it came from a bus
 * message or REST. Each call is one transaction on a pool thread; the
 * callback runs on the caller's thread-default main context. After a write
 * commits, the store puts the stored row into its WbFleetIndex before the
 * callback runs, so a caller that reads the index after its write sees it.
 */
G_DECLARE_FINAL_TYPE (WbFleetStore, wb_fleet_store, WB, FLEET_STORE, GObject)

WbFleetStore       *wb_fleet_store_new                (WbDbPool            *pool,
                                                       WbFleetIndex        *index);
WbFleetIndex       *wb_fleet_store_get_index          (WbFleetStore        *self);

/* Fills the index from the tables (at start, or again at any time: what
 * the index has that is newer stays). */
void                wb_fleet_store_load_async         (WbFleetStore        *self,
                                                       GCancellable        *cancellable,
                                                       GAsyncReadyCallback  callback,
                                                       gpointer             user_data);
gboolean            wb_fleet_store_load_finish        (WbFleetStore        *self,
                                                       GAsyncResult        *result,
                                                       GError             **error);

/* Last writer wins by version: @update (copied) applies only when its
 * version is greater than the stored one (or is 0: stored + 1). A stale
 * one is a result with applied FALSE, not an error; a malformed one fails
 * with WB_FLEET_ERROR_INVALID. */
void                wb_fleet_store_apply_async        (WbFleetStore        *self,
                                                       const WbFleetUpdate *update,
                                                       GCancellable        *cancellable,
                                                       GAsyncReadyCallback  callback,
                                                       gpointer             user_data);
WbFleetApplyResult *wb_fleet_store_apply_finish       (WbFleetStore        *self,
                                                       GAsyncResult        *result,
                                                       GError             **error);

void                wb_fleet_store_import_async       (WbFleetStore        *self,
                                                       WbFleetKind          kind,
                                                       GPtrArray           *updates,
                                                       GCancellable        *cancellable,
                                                       GAsyncReadyCallback  callback,
                                                       gpointer             user_data);
GArray             *wb_fleet_store_import_finish      (WbFleetStore        *self,
                                                       GAsyncResult        *result,
                                                       GError             **error);

/* Records that @device_id sent a position: sets first_seen_at once and
 * last_seen_at each time. A device not in the table is added, quarantined,
 * with no vehicle (call this only for a device ingestion accepted). The
 * database decides *out_first_seen under the row's lock, so it is TRUE for
 * exactly one call per device across restarts and daemons: the one that
 * publishes device.first_seen. The stored device goes into the index. */
void                wb_fleet_store_device_seen_async  (WbFleetStore        *self,
                                                       const char          *device_id,
                                                       GCancellable        *cancellable,
                                                       GAsyncReadyCallback  callback,
                                                       gpointer             user_data);
gboolean            wb_fleet_store_device_seen_finish (WbFleetStore        *self,
                                                       GAsyncResult        *result,
                                                       gboolean            *out_first_seen,
                                                       GError             **error);
void                wb_fleet_store_devices_seen_async  (WbFleetStore        *self,
                                                        GPtrArray           *device_ids,
                                                        GCancellable        *cancellable,
                                                        GAsyncReadyCallback  callback,
                                                        gpointer             user_data);
GPtrArray          *wb_fleet_store_devices_seen_finish (WbFleetStore        *self,
                                                        GAsyncResult        *result,
                                                        GError             **error);

/* The REST view of one entity as camelCase JSON text: a company, a driver,
 * a device (never its token; hasToken says whether it has one), or a
 * vehicle with its driver and its operating company embedded (the same
 * company rule as WbFleetEnrichment) and "currentState": null. An unknown
 * id fails with WB_FLEET_ERROR_NOT_FOUND. */
void                wb_fleet_store_get_async          (WbFleetStore        *self,
                                                       WbFleetKind          kind,
                                                       const char          *id,
                                                       GCancellable        *cancellable,
                                                       GAsyncReadyCallback  callback,
                                                       gpointer             user_data);
char               *wb_fleet_store_get_finish         (WbFleetStore        *self,
                                                       GAsyncResult        *result,
                                                       GError             **error);

/* One page as JSON text {"items":[…],"nextCursor":"<id>"|null}; @query is
 * copied. */
void                wb_fleet_store_list_async         (WbFleetStore        *self,
                                                       const WbFleetQuery  *query,
                                                       GCancellable        *cancellable,
                                                       GAsyncReadyCallback  callback,
                                                       gpointer             user_data);
char               *wb_fleet_store_list_finish        (WbFleetStore        *self,
                                                       GAsyncResult        *result,
                                                       GError             **error);

/* Silence (µs) after which GET /vehicles/{id} shows a vehicle offline. */
void                wb_fleet_store_set_offline_after  (WbFleetStore        *self,
                                                       gint64               offline_after);

void                wb_fleet_store_track_async        (WbFleetStore        *self,
                                                       const WbTrackQuery  *query,
                                                       GCancellable        *cancellable,
                                                       GAsyncReadyCallback  callback,
                                                       gpointer             user_data);
char               *wb_fleet_store_track_finish       (WbFleetStore        *self,
                                                       GAsyncResult        *result,
                                                       GError             **error);

G_END_DECLS
