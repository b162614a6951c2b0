// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <gio/gio.h>

#include "wb-db-pool.h"
#include "wb-shipment-store.h"

G_BEGIN_DECLS

#define WB_DISPATCH_ERROR (wb_dispatch_error_quark ())

typedef enum
{
  WB_DISPATCH_ERROR_NOT_FOUND,        /* no such pickup point, batch, trip or command */
  WB_DISPATCH_ERROR_INVALID,          /* a value refers to nothing usable: see the field */
  WB_DISPATCH_ERROR_CONFLICT,         /* the state forbids it: see the field and the current status */
  WB_DISPATCH_ERROR_VERSION_MISMATCH, /* If-Match was stale: see the current version */
  WB_DISPATCH_ERROR_BUSY,             /* the vehicle or driver is on another IN_TRANSIT trip */
  WB_DISPATCH_ERROR_MISMATCH,         /* the recipient check failed */
} WbDispatchError;

GQuark      wb_dispatch_error_quark              (void);
/* The member a WB_DISPATCH_ERROR is about ("stops[1].pickupPointId"), or NULL. */
const char *wb_dispatch_error_get_field          (const GError *error);
/* CONFLICT: the state it was in ("COMPLETED"), or NULL. */
const char *wb_dispatch_error_get_current_status (const GError *error);
/* VERSION_MISMATCH: the current version, else 0. */
gint64      wb_dispatch_error_get_current_version (const GError *error);

typedef enum
{
  WB_DISPATCH_OP_PUT_PICKUP_POINT,    /* id, body */
  WB_DISPATCH_OP_GET_PICKUP_POINT,    /* id */
  WB_DISPATCH_OP_DELETE_PICKUP_POINT, /* id */
  WB_DISPATCH_OP_LIST_PICKUP_POINTS,  /* cursor, limit */
  WB_DISPATCH_OP_HANDOVER,            /* id (pickup point), shipment_id, phone (E.164) */
  WB_DISPATCH_OP_CREATE_BATCH,        /* body */
  WB_DISPATCH_OP_GET_BATCH,           /* id */
  WB_DISPATCH_OP_LIST_BATCHES,        /* cursor, limit, status, pickup_point_id */
  WB_DISPATCH_OP_CREATE_TRIP,         /* body */
  WB_DISPATCH_OP_GET_TRIP,            /* id */
  WB_DISPATCH_OP_LIST_TRIPS,          /* cursor, limit, status, company_id, vehicle_id, driver_id, from, to */
  WB_DISPATCH_OP_PATCH_TRIP,          /* id, expected_versions, body */
  WB_DISPATCH_OP_START_TRIP,          /* id */
  WB_DISPATCH_OP_COMPLETE_TRIP,       /* id */
  WB_DISPATCH_OP_CANCEL_TRIP,         /* id, reason */
  WB_DISPATCH_OP_SUBMIT_REASSIGN,     /* id (trip), command_id, vehicle_id, driver_id, reason, requested_by */
  WB_DISPATCH_OP_GET_COMMAND,         /* id */
  WB_DISPATCH_OP_APPLY_REASSIGN,      /* command_id, id (trip), vehicle_id, driver_id, reason, requested_by */
  WB_DISPATCH_OP_OBSERVE_POSITIONS,   /* positions, stop_radius_m, stop_dwell_us */
  WB_DISPATCH_OP_AUTO_BATCH,          /* (none) */
  WB_DISPATCH_OP_AUTO_REASSIGN,       /* silent_vehicle_id, silent_ms */
  WB_DISPATCH_OP_IMPORT_PICKUP_POINTS, /* body: a JSON array of checked pickup points, each with its "id";
                                        * the answer's json holds text, not JSON: a line per row written,
                                        * "c|u <version> <id>"; the others were unchanged */
} WbDispatchOp;

/* A vehicle's position, as stop detection needs it. */
typedef struct
{
  char   *vehicle_id;
  gint64  device_time;   /* unix µs */
  double  lat;
  double  lon;
} WbDispatchPosition;

void wb_dispatch_position_free (WbDispatchPosition *position);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbDispatchPosition, wb_dispatch_position_free)

/* One request to the store. Bodies are JSON text the caller has already
 * validated and normalized (camelCase members as the REST API takes them,
 * times as RFC 3339 UTC); the store checks what only the database knows
 * (references, states, uniqueness). Strings are owned; NULL = absent. */
typedef struct
{
  WbDispatchOp  op;
  char         *id;
  char         *body;
  GArray       *expected_versions;  /* gint64; NULL = unconditional */
  char         *cursor;
  guint         limit;              /* 1..500, 0 = 50 */
  char         *status;
  char         *company_id;
  char         *vehicle_id;
  char         *driver_id;
  char         *pickup_point_id;
  char         *shipment_id;
  char         *phone;
  char         *reason;
  char         *command_id;
  char         *requested_by;
  gint64        from, to;           /* unix µs, 0 = open; from inclusive, to exclusive */
  GPtrArray    *positions;          /* WbDispatchPosition* */
  double        stop_radius_m;
  gint64        stop_dwell_us;
  char         *silent_vehicle_id;
  gint64        silent_ms;
} WbDispatchRequest;

/* What a request produced. */
typedef struct
{
  char     *json;         /* camelCase JSON text of the resource or page; NULL after a delete */
  char     *id;           /* the resource's id */
  gint64    version;      /* trips: the ETag's version */
  gboolean  created;      /* a new resource (201 / 202), not an existing one; a command decided now */
  char     *status;       /* commands: pending, applied or rejected */
  guint     n_batches;    /* auto-batching: batches made */
  guint     n_arrived;    /* positions: stop arrivals and departures detected */
  guint     n_departed;
} WbDispatchResult;

WbDispatchRequest *wb_dispatch_request_new  (WbDispatchOp       op);
void               wb_dispatch_request_free (WbDispatchRequest *request);
void               wb_dispatch_result_free  (WbDispatchResult  *result);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbDispatchRequest, wb_dispatch_request_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbDispatchResult, wb_dispatch_result_free)

#define WB_DISPATCH_MAX_PAGE_SIZE 500
#define WB_TOPIC_COMMANDS_TRIP_REASSIGN "commands.trip.reassign"
/* A reassignment command refused, with why (trip.reassigned tells of one
 * applied). */
#define WB_TOPIC_TRIP_REASSIGN_REJECTED "trip.reassign_rejected"

#define WB_TYPE_DISPATCH_STORE (wb_dispatch_store_get_type ())

G_DECLARE_FINAL_TYPE (WbDispatchStore, wb_dispatch_store, WB, DISPATCH_STORE, GObject)

/* Trips, batches, pickup points and commands (docs/dispatch.md). Every
 * request is one transaction on a pool thread: the change, the effects on
 * shipments (through @shipments' event path, source "dispatch") and the
 * trip.* and command messages (through the outbox) commit together. */
WbDispatchStore   *wb_dispatch_store_new          (WbDbPool          *pool,
                                                   WbShipmentStore   *shipments);
void               wb_dispatch_store_run_async    (WbDispatchStore   *self,
                                                   WbDispatchRequest *request,  /* taken */
                                                   GCancellable      *cancellable,
                                                   GAsyncReadyCallback callback,
                                                   gpointer           user_data);
WbDispatchResult  *wb_dispatch_store_run_finish   (WbDispatchStore   *self,
                                                   GAsyncResult      *result,
                                                   GError           **error);
/* The same, blocking, on the caller's own connection (a pipeline thread). */
WbDispatchResult  *wb_dispatch_store_run          (WbDispatchStore   *self,
                                                   PGconn            *conn,
                                                   WbDispatchRequest *request,
                                                   GCancellable      *cancellable,
                                                   GError           **error);

G_END_DECLS
