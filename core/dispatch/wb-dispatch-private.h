// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#if !defined (WB_DISPATCH_COMPILATION)
#error "wb-dispatch-private.h is core/dispatch's own; other code uses the area's public headers"
#endif

#include "wb-dispatch-store.h"

G_BEGIN_DECLS

/* The store's pieces (wb-dispatch-store.c: object, transactions, errors;
 * wb-dispatch-places.c: pickup points, batches, handover;
 * wb-dispatch-trips.c: trips and their transitions;
 * wb-dispatch-commands.c: reassignment commands) share this header.
 * Everything here runs on a pool thread inside the request's transaction. */

#define WB_DISPATCH_SOURCE "dispatch"
#define WB_DISPATCH_DEFAULT_PAGE_SIZE 50

/* RFC 3339 UTC with milliseconds, formatted by the database so that views
 * and messages agree. */
#define WB_DISPATCH_SQL_TIME(col) "to_char((" col ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
#define WB_DISPATCH_SQL_FROM_US(param) "(timestamptz 'epoch' + (" param ")::bigint * interval '1 microsecond')"
#define WB_DISPATCH_SQL_TO_US(col) "(extract(epoch FROM (" col ")) * 1000000)::bigint"

/* One attempt of one request's transaction. */
typedef struct
{
  WbDispatchStore   *store;
  WbShipmentStore   *shipments;
  PGconn            *conn;
  GCancellable      *cancellable;
  WbDispatchRequest *request;
  GArray            *shipment_changes;  /* nullable: for wb_shipment_store_committed() */
  gboolean           wrote_outbox;
} WbDispatchTx;

/* wb_db_exec() whose integrity failures the caller may map; NULL params
 * are SQL NULL. */
PGresult         *_wb_dispatch_exec        (WbDispatchTx        *tx,
                                            const char          *sql,
                                            const char * const  *params,
                                            int                  n_params,
                                            GError             **error);
/* A WB_DISPATCH_ERROR; @field, @status may be NULL, @version 0. Returns NULL. */
gpointer          _wb_dispatch_fail        (GError             **error,
                                            WbDispatchError      code,
                                            const char          *field,
                                            const char          *status,
                                            gint64               version,
                                            const char          *format,
                                            ...) G_GNUC_PRINTF (6, 7);
/* Whether a failed statement broke @constraint (an integrity violation
 * naming it). */
gboolean          _wb_dispatch_broke       (const GError        *error,
                                            const char          *constraint);
/* Queues a trip.* message in the outbox: the trip's identity and state,
 * with @extra_sql (a jsonb expression over t, the trips row, and $2) merged
 * in. */
gboolean          _wb_dispatch_queue_trip  (WbDispatchTx        *tx,
                                            const char          *topic,
                                            const char          *trip_id,
                                            const char          *extra_sql,
                                            const char          *extra_param,
                                            GError             **error);
/* Status events (source "dispatch") for the shipments @sql selects (the
 * shipment id first; optionally then a place's name, lat and lon, the
 * event's location), each with the event id
 * "dispatch:<scope>:<shipment>:<what>". Duplicates change nothing. */
gboolean          _wb_dispatch_move_shipments (WbDispatchTx     *tx,
                                            const char          *sql,
                                            const char * const  *params,
                                            int                  n_params,
                                            const char          *scope,
                                            const char          *what,
                                            WbStatus             status,
                                            GError             **error);
WbDispatchResult *_wb_dispatch_result_new  (const char          *id,
                                            char                *json,
                                            gint64               version);

WbDispatchResult *_wb_dispatch_places_run  (WbDispatchTx        *tx,
                                            GError             **error);
WbDispatchResult *_wb_dispatch_trips_run   (WbDispatchTx        *tx,
                                            GError             **error);
WbDispatchResult *_wb_dispatch_commands_run (WbDispatchTx       *tx,
                                            GError             **error);
WbDispatchResult *_wb_dispatch_stops_run   (WbDispatchTx        *tx,
                                            GError             **error);
/* Great-circle distance in metres. */
double            _wb_dispatch_distance_m  (double               lat1,
                                            double               lon1,
                                            double               lat2,
                                            double               lon2);
/* Arrival at stop @seq of @trip_id (already recorded on the stop): its
 * batches close, the parcels it brings to a pickup point wait there, and
 * trip.stop_arrived is queued. */
gboolean          _wb_dispatch_arrive      (WbDispatchTx        *tx,
                                            const char          *trip_id,
                                            const char          *seq,
                                            GError             **error);
/* Departure from stop @seq of @trip_id (already recorded on the stop):
 * trip.stop_departed is queued. */
gboolean          _wb_dispatch_depart      (WbDispatchTx        *tx,
                                            const char          *trip_id,
                                            const char          *seq,
                                            GError             **error);

G_END_DECLS
