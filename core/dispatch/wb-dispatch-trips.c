// SPDX-License-Identifier: GPL-3.0-or-later
/* Trips: creation, reads, PATCH, and the transitions
 * PLANNED → IN_TRANSIT → COMPLETED, PLANNED | IN_TRANSIT → CANCELLED. */

#include "config.h"

#include <string.h>

#include "wb-dispatch-private.h"

#define T(col) WB_DISPATCH_SQL_TIME (col)

#define TRIP_JSON(t) \
  "json_build_object('id', " t ".id, 'companyId', " t ".company_id, 'vehicleId', " t ".vehicle_id," \
  " 'driverId', " t ".driver_id, 'status', " t ".status, 'plannedStart', " T (t ".planned_start") "," \
  " 'startedAt', " T (t ".started_at") ", 'finishedAt', " T (t ".finished_at") "," \
  " 'cancelReason', " t ".cancel_reason, 'version', " t ".version," \
  " 'createdAt', " T (t ".created_at") ", 'updatedAt', " T (t ".updated_at") "," \
  " 'stops', coalesce((SELECT json_agg(json_build_object('seq', s.seq, 'pickupPointId', s.pickup_point_id," \
  "     'address', s.address, 'lat', s.lat, 'lon', s.lon, 'arrivedAt', " T ("s.arrived_at") "," \
  "     'departedAt', " T ("s.departed_at") "," \
  "     'batchIds', coalesce((SELECT json_agg(x.batch_id ORDER BY x.batch_id) FROM trip_stop_batches x" \
  "       WHERE x.trip_id = s.trip_id AND x.seq = s.seq), '[]')) ORDER BY s.seq)" \
  "   FROM trip_stops s WHERE s.trip_id = " t ".id), '[]'))"

/* The shipments of every batch a trip carries. */
#define TRIP_SHIPMENTS_SQL \
  "SELECT DISTINCT m.shipment_id::text FROM trip_stop_batches x JOIN batch_shipments m ON m.batch_id = x.batch_id" \
  " WHERE x.trip_id = $1 ORDER BY 1"

static WbDispatchResult *
trip_result (WbDispatchTx  *tx,
             const char    *id,
             GError       **error)
{
  const char *params[] = { id };
  g_autoptr(PGresult) result = _wb_dispatch_exec (tx, "SELECT " TRIP_JSON ("t") ", t.version FROM trips t WHERE t.id = $1",
                                                  params, 1, error);

  if (result == NULL)
    return NULL;
  if (PQntuples (result) == 0)
    return _wb_dispatch_fail (error, WB_DISPATCH_ERROR_NOT_FOUND, NULL, NULL, 0, "No such trip");
  return _wb_dispatch_result_new (id, g_strdup (PQgetvalue (result, 0, 0)),
                                  g_ascii_strtoll (PQgetvalue (result, 0, 1), NULL, 10));
}

/* ---- references ---------------------------------------------------------------- */

/* A vehicle or driver must exist and, when it names a company, be the
 * trip's company's. */
static gboolean
check_member (WbDispatchTx  *tx,
              const char    *table,
              const char    *field,
              const char    *id,
              const char    *company_id,
              GError       **error)
{
  g_autofree char *sql = g_strdup_printf ("SELECT company_id FROM %s WHERE id = $1", table);
  const char *params[] = { id };
  g_autoptr(PGresult) result = NULL;

  if (id == NULL)
    return TRUE;
  if ((result = _wb_dispatch_exec (tx, sql, params, 1, error)) == NULL)
    return FALSE;
  if (PQntuples (result) == 0)
    {
      _wb_dispatch_fail (error, WB_DISPATCH_ERROR_INVALID, field, NULL, 0, "no such %s", table[0] == 'v' ? "vehicle" : "driver");
      return FALSE;
    }
  if (company_id != NULL && !PQgetisnull (result, 0, 0) && !g_str_equal (PQgetvalue (result, 0, 0), company_id))
    {
      _wb_dispatch_fail (error, WB_DISPATCH_ERROR_INVALID, field, NULL, 0, "belongs to company %s, not %s",
                         PQgetvalue (result, 0, 0), company_id);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_company (WbDispatchTx  *tx,
               const char    *company_id,
               GError       **error)
{
  const char *params[] = { company_id };
  g_autoptr(PGresult) result = _wb_dispatch_exec (tx, "SELECT 1 FROM companies WHERE id = $1", params, 1, error);

  if (result == NULL)
    return FALSE;
  if (PQntuples (result) == 0)
    {
      _wb_dispatch_fail (error, WB_DISPATCH_ERROR_INVALID, "companyId", NULL, 0, "no such company");
      return FALSE;
    }
  return TRUE;
}

/* The first stop naming an unknown pickup point, or a batch that is
 * unknown, closed or on another trip still PLANNED or IN_TRANSIT. */
static gboolean
check_stops (WbDispatchTx  *tx,
             const char    *stops_json,
             const char    *trip_id,
             GError       **error)
{
  static const char points[] =
    "SELECT s.i - 1 FROM json_array_elements($1::json) WITH ORDINALITY s (e, i)"
    " WHERE s.e->>'pickupPointId' IS NOT NULL"
    "   AND NOT EXISTS (SELECT 1 FROM pickup_points p WHERE p.id = s.e->>'pickupPointId')"
    " ORDER BY s.i LIMIT 1";
  static const char batches[] =
    "SELECT s.i - 1, k.j - 1, b.status, (SELECT t.id FROM trip_stop_batches y JOIN trips t ON t.id = y.trip_id"
    "     WHERE y.batch_id = b.id AND t.status IN ('PLANNED', 'IN_TRANSIT') AND t.id IS DISTINCT FROM $2 LIMIT 1)"
    " FROM json_array_elements($1::json) WITH ORDINALITY s (e, i),"
    "   json_array_elements_text(coalesce(s.e->'batchIds', '[]')) WITH ORDINALITY k (id, j)"
    " LEFT JOIN batches b ON b.id = k.id::uuid"
    " ORDER BY s.i, k.j";
  const char *params[] = { stops_json, trip_id };
  g_autoptr(PGresult) result = _wb_dispatch_exec (tx, points, params, 1, error);
  g_autofree char *field = NULL;

  if (result == NULL)
    return FALSE;
  if (PQntuples (result) > 0)
    {
      field = g_strdup_printf ("stops[%s].pickupPointId", PQgetvalue (result, 0, 0));
      _wb_dispatch_fail (error, WB_DISPATCH_ERROR_INVALID, field, NULL, 0, "no such pickup point");
      return FALSE;
    }
  g_clear_pointer (&result, PQclear);
  if ((result = _wb_dispatch_exec (tx, batches, params, 2, error)) == NULL)
    return FALSE;
  for (int i = 0; i < PQntuples (result); i++)
    {
      field = g_strdup_printf ("stops[%s].batchIds[%s]", PQgetvalue (result, i, 0), PQgetvalue (result, i, 1));
      if (PQgetisnull (result, i, 2))
        return _wb_dispatch_fail (error, WB_DISPATCH_ERROR_INVALID, field, NULL, 0, "no such batch") != NULL;
      if (!g_str_equal (PQgetvalue (result, i, 2), "OPEN"))
        return _wb_dispatch_fail (error, WB_DISPATCH_ERROR_CONFLICT, field, PQgetvalue (result, i, 2), 0,
                                  "the batch is %s", PQgetvalue (result, i, 2)) != NULL;
      if (!PQgetisnull (result, i, 3))
        return _wb_dispatch_fail (error, WB_DISPATCH_ERROR_CONFLICT, field, NULL, 0,
                                  "the batch is on trip %s", PQgetvalue (result, i, 3)) != NULL;
      g_clear_pointer (&field, g_free);
    }
  return TRUE;
}

static gboolean
insert_stops (WbDispatchTx  *tx,
              const char    *trip_id,
              const char    *stops_json,
              GError       **error)
{
  static const char stops[] =
    "INSERT INTO trip_stops (trip_id, seq, pickup_point_id, address, lat, lon)"
    " SELECT $1, s.i - 1, s.e->>'pickupPointId', s.e->>'address',"
    "   coalesce((s.e->>'lat')::double precision, p.lat), coalesce((s.e->>'lon')::double precision, p.lon)"
    " FROM json_array_elements($2::json) WITH ORDINALITY s (e, i)"
    " LEFT JOIN pickup_points p ON p.id = s.e->>'pickupPointId'";
  static const char batches[] =
    "INSERT INTO trip_stop_batches (trip_id, seq, batch_id)"
    " SELECT $1, s.i - 1, k.id::uuid FROM json_array_elements($2::json) WITH ORDINALITY s (e, i),"
    "   json_array_elements_text(coalesce(s.e->'batchIds', '[]')) k (id)";
  const char *params[] = { trip_id, stops_json };
  g_autoptr(PGresult) first = _wb_dispatch_exec (tx, stops, params, 2, error);
  g_autoptr(PGresult) second = first ? _wb_dispatch_exec (tx, batches, params, 2, error) : NULL;

  return second != NULL;
}

/* ---- create, read, list ------------------------------------------------------------ */

static WbDispatchResult *
create_trip (WbDispatchTx  *tx,
             GError       **error)
{
  static const char fields[] =
    "SELECT b->>'companyId', b->>'vehicleId', b->>'driverId', b->>'plannedStart', (b->'stops')::text"
    " FROM (SELECT $1::json AS b) x";
  static const char insert[] =
    "INSERT INTO trips (id, company_id, vehicle_id, driver_id, planned_start, status)"
    " VALUES (gen_random_uuid()::text, $1, $2, $3, $4::timestamptz, 'PLANNED') RETURNING id";
  const char *body[] = { tx->request->body };
  g_autoptr(PGresult) f = _wb_dispatch_exec (tx, fields, body, 1, error);
  g_autoptr(PGresult) trip = NULL;
  const char *values[4];
  g_autofree char *id = NULL;
  WbDispatchResult *result;

  if (f == NULL)
    return NULL;
  for (int i = 0; i < 4; i++)
    values[i] = PQgetisnull (f, 0, i) ? NULL : PQgetvalue (f, 0, i);
  if (!check_company (tx, values[0], error)
      || !check_member (tx, "vehicles", "vehicleId", values[1], values[0], error)
      || !check_member (tx, "drivers", "driverId", values[2], values[0], error)
      || !check_stops (tx, PQgetvalue (f, 0, 4), NULL, error)
      || (trip = _wb_dispatch_exec (tx, insert, values, 4, error)) == NULL)
    return NULL;
  id = g_strdup (PQgetvalue (trip, 0, 0));
  if (!insert_stops (tx, id, PQgetvalue (f, 0, 4), error)
      || !_wb_dispatch_queue_trip (tx, "trip.created", id,
                                   "jsonb_build_object('planned_start', " T ("t.planned_start") ","
                                   " 'stops', (SELECT jsonb_agg(jsonb_build_object('seq', s.seq,"
                                   "   'pickup_point_id', s.pickup_point_id, 'lat', s.lat, 'lon', s.lon) ORDER BY s.seq)"
                                   "   FROM trip_stops s WHERE s.trip_id = t.id))", NULL, error))
    return NULL;
  if ((result = trip_result (tx, id, error)) != NULL)
    result->created = TRUE;
  return result;
}

/* Newest first, keyset on (created_at, id): the cursor is "<µs>_<id>". */
static WbDispatchResult *
list_trips (WbDispatchTx  *tx,
            GError       **error)
{
  static const char sql[] =
    "WITH page AS (SELECT " TRIP_JSON ("t") " AS item, t.created_at, t.id,"
    "     row_number() OVER (ORDER BY t.created_at DESC, t.id DESC) AS n"
    "   FROM trips t"
    "   WHERE ($1::text IS NULL OR (t.created_at, t.id) < (" WB_DISPATCH_SQL_FROM_US ("split_part($1, '_', 1)")
    "          , substr($1, strpos($1, '_') + 1)))"
    "     AND ($3::text IS NULL OR t.status = $3) AND ($4::text IS NULL OR t.company_id = $4)"
    "     AND ($5::text IS NULL OR t.vehicle_id = $5) AND ($6::text IS NULL OR t.driver_id = $6)"
    "     AND ($7::bigint IS NULL OR t.planned_start >= " WB_DISPATCH_SQL_FROM_US ("$7") ")"
    "     AND ($8::bigint IS NULL OR t.planned_start < " WB_DISPATCH_SQL_FROM_US ("$8") ")"
    "   ORDER BY t.created_at DESC, t.id DESC LIMIT $2::int + 1)"
    " SELECT json_build_object('items', coalesce((SELECT json_agg(item ORDER BY n) FROM page WHERE n <= $2::int), '[]'),"
    "   'nextCursor', (SELECT " WB_DISPATCH_SQL_TO_US ("created_at") " || '_' || id FROM page"
    "     WHERE n = $2::int AND EXISTS (SELECT 1 FROM page WHERE n > $2::int)))";
  WbDispatchRequest *r = tx->request;
  g_autofree char *limit = g_strdup_printf ("%u", r->limit == 0 ? WB_DISPATCH_DEFAULT_PAGE_SIZE : r->limit);
  g_autofree char *from = r->from ? g_strdup_printf ("%" G_GINT64_FORMAT, r->from) : NULL;
  g_autofree char *to = r->to ? g_strdup_printf ("%" G_GINT64_FORMAT, r->to) : NULL;
  const char *params[] = { r->cursor, limit, r->status, r->company_id, r->vehicle_id, r->driver_id, from, to };
  g_autoptr(PGresult) result = _wb_dispatch_exec (tx, sql, params, 8, error);

  if (result == NULL)
    return NULL;
  return _wb_dispatch_result_new (NULL, g_strdup (PQgetvalue (result, 0, 0)), 0);
}

/* ---- state ----------------------------------------------------------------------------- */

/* Locks the trip; fails NOT_FOUND, or CONFLICT naming its status when it
 * is none of @allowed, or VERSION_MISMATCH when If-Match names another. */
static gboolean
lock_trip (WbDispatchTx        *tx,
           const char          *id,
           const char * const  *allowed,
           const char          *action,
           GError             **error)
{
  const char *params[] = { id };
  g_autoptr(PGresult) result = _wb_dispatch_exec (tx, "SELECT status, version FROM trips WHERE id = $1 FOR UPDATE",
                                                  params, 1, error);
  GArray *expected = tx->request->expected_versions;
  const char *status;
  gint64 version;
  gboolean matched;

  if (result == NULL)
    return FALSE;
  if (PQntuples (result) == 0)
    return _wb_dispatch_fail (error, WB_DISPATCH_ERROR_NOT_FOUND, NULL, NULL, 0, "No such trip") != NULL;
  status = PQgetvalue (result, 0, 0);
  version = g_ascii_strtoll (PQgetvalue (result, 0, 1), NULL, 10);
  matched = expected == NULL;
  for (guint i = 0; expected != NULL && i < expected->len; i++)
    matched |= g_array_index (expected, gint64, i) == version;
  if (!matched)
    return _wb_dispatch_fail (error, WB_DISPATCH_ERROR_VERSION_MISMATCH, NULL, NULL, version,
                              "The trip is at version %" G_GINT64_FORMAT "; read it again and retry",
                              version) != NULL;
  if (!g_strv_contains (allowed, status))
    return _wb_dispatch_fail (error, WB_DISPATCH_ERROR_CONFLICT, "status", status, 0,
                              "the trip is %s; it cannot %s", status, action) != NULL;
  return TRUE;
}

/* The statement that moves the trip; a second IN_TRANSIT trip for the
 * vehicle or driver breaks a unique index, which decides a race. */
static gboolean
update_trip (WbDispatchTx  *tx,
             const char    *sql,
             const char    *id,
             const char    *param,
             GError       **error)
{
  const char *params[] = { id, param };
  g_autoptr(GError) local_error = NULL;
  /* Only the statements that use $2 may be sent it. */
  g_autoptr(PGresult) result = _wb_dispatch_exec (tx, sql, params, strstr (sql, "$2") ? 2 : 1, &local_error);

  if (result != NULL)
    return TRUE;
  if (_wb_dispatch_broke (local_error, "trips_vehicle_in_transit_key"))
    return _wb_dispatch_fail (error, WB_DISPATCH_ERROR_BUSY, "vehicleId", NULL, 0,
                              "the vehicle is on another IN_TRANSIT trip") != NULL;
  if (_wb_dispatch_broke (local_error, "trips_driver_in_transit_key"))
    return _wb_dispatch_fail (error, WB_DISPATCH_ERROR_BUSY, "driverId", NULL, 0,
                              "the driver is on another IN_TRANSIT trip") != NULL;
  g_propagate_error (error, g_steal_pointer (&local_error));
  return FALSE;
}

static WbDispatchResult *
start_trip (WbDispatchTx  *tx,
            GError       **error)
{
  static const char * const allowed[] = { "PLANNED", NULL };
  const char *id = tx->request->id;

  if (!lock_trip (tx, id, allowed, "start", error)
      || !update_trip (tx, "UPDATE trips SET status = 'IN_TRANSIT', started_at = now(), version = version + 1,"
                           " updated_at = now() WHERE id = $1", id, NULL, error)
      || !_wb_dispatch_move_shipments (tx, TRIP_SHIPMENTS_SQL, &id, 1, id, "started", WB_STATUS_IN_TRANSIT, error)
      || !_wb_dispatch_queue_trip (tx, "trip.started", id, NULL, NULL, error))
    return NULL;
  return trip_result (tx, id, error);
}

/* Arrival at a stop: the stop's batches close, and the shipments they
 * carry to a pickup point wait there (their status event names the point
 * and its place). Shared with GPS stop detection. */
gboolean
_wb_dispatch_arrive (WbDispatchTx  *tx,
                     const char    *trip_id,
                     const char    *seq,
                     GError       **error)
{
  static const char close[] =
    "WITH c AS (UPDATE batches b SET status = 'CLOSED', closed_at = now()"
    "   FROM trip_stop_batches x WHERE x.trip_id = $1 AND x.seq = $2::int AND x.batch_id = b.id AND b.status = 'OPEN'"
    "   RETURNING b.id)"
    " UPDATE batch_shipments m SET open = false FROM c WHERE m.batch_id = c.id";
  g_autofree char *what = g_strdup_printf ("arrived:%s", seq);
  const char *params[] = { trip_id, seq };
  g_autoptr(PGresult) closed = NULL;

  if (!_wb_dispatch_move_shipments (tx,
         "SELECT DISTINCT m.shipment_id::text, p.name, s.lat, s.lon FROM trip_stop_batches x"
         " JOIN trip_stops s ON s.trip_id = x.trip_id AND s.seq = x.seq AND s.pickup_point_id IS NOT NULL"
         " JOIN pickup_points p ON p.id = s.pickup_point_id"
         " JOIN batch_shipments m ON m.batch_id = x.batch_id"
         " WHERE x.trip_id = $1 AND x.seq = $2::int ORDER BY 1",
         params, 2, trip_id, what, WB_STATUS_AVAILABLE_FOR_PICKUP, error))
    return FALSE;
  closed = _wb_dispatch_exec (tx, close, params, 2, error);
  return closed != NULL
         && _wb_dispatch_queue_trip (tx, "trip.stop_arrived", trip_id,
                                     "(SELECT jsonb_build_object('seq', s.seq, 'pickup_point_id', s.pickup_point_id,"
                                     "   'lat', s.lat, 'lon', s.lon, 'arrived_at', " T ("s.arrived_at") ")"
                                     " FROM trip_stops s WHERE s.trip_id = t.id AND s.seq = $2::int)", seq, error);
}

gboolean
_wb_dispatch_depart (WbDispatchTx  *tx,
                     const char    *trip_id,
                     const char    *seq,
                     GError       **error)
{
  return _wb_dispatch_queue_trip (tx, "trip.stop_departed", trip_id,
                                  "(SELECT jsonb_build_object('seq', s.seq, 'pickup_point_id', s.pickup_point_id,"
                                  "   'lat', s.lat, 'lon', s.lon, 'departed_at', " T ("s.departed_at") ")"
                                  " FROM trip_stops s WHERE s.trip_id = t.id AND s.seq = $2::int)", seq, error);
}

/* Completion serves every stop the GPS did not see: each is arrived at
 * (and announced) now, so no parcel stays IN_TRANSIT on a finished trip.
 * Then every stop not yet left is left (and announced): a vehicle ends its
 * trip standing at the last stop, and no later position of it belongs to
 * the trip. So each stop of a completed trip is announced arrived and
 * departed exactly once, in the order of its seq. */
static WbDispatchResult *
complete_trip (WbDispatchTx  *tx,
               GError       **error)
{
  static const char * const allowed[] = { "IN_TRANSIT", NULL };
  const char *id = tx->request->id;
  const char *params[] = { id };
  g_autoptr(PGresult) unserved = NULL;
  g_autoptr(PGresult) left = NULL;

  if (!lock_trip (tx, id, allowed, "complete", error))
    return NULL;
  unserved = _wb_dispatch_exec (tx, "WITH u AS (UPDATE trip_stops SET arrived_at = now()"
                                    "   WHERE trip_id = $1 AND arrived_at IS NULL RETURNING seq)"
                                    " SELECT seq::text FROM u ORDER BY seq",
                                params, 1, error);
  if (unserved == NULL)
    return NULL;
  for (int i = 0; i < PQntuples (unserved); i++)
    if (!_wb_dispatch_arrive (tx, id, PQgetvalue (unserved, i, 0), error))
      return NULL;
  left = _wb_dispatch_exec (tx, "WITH d AS (UPDATE trip_stops SET departed_at = now()"
                                "   WHERE trip_id = $1 AND departed_at IS NULL RETURNING seq)"
                                " SELECT seq::text FROM d ORDER BY seq",
                            params, 1, error);
  if (left == NULL)
    return NULL;
  for (int i = 0; i < PQntuples (left); i++)
    if (!_wb_dispatch_depart (tx, id, PQgetvalue (left, i, 0), error))
      return NULL;
  if (!update_trip (tx, "UPDATE trips SET status = 'COMPLETED', finished_at = now(), version = version + 1,"
                        " updated_at = now() WHERE id = $1", id, NULL, error)
      || !_wb_dispatch_queue_trip (tx, "trip.completed", id, NULL, NULL, error))
    return NULL;
  return trip_result (tx, id, error);
}

static WbDispatchResult *
cancel_trip (WbDispatchTx  *tx,
             GError       **error)
{
  static const char * const allowed[] = { "PLANNED", "IN_TRANSIT", NULL };
  const char *id = tx->request->id;

  if (!lock_trip (tx, id, allowed, "be cancelled", error)
      || !update_trip (tx, "UPDATE trips SET status = 'CANCELLED', finished_at = now(), cancel_reason = $2,"
                           " version = version + 1, updated_at = now() WHERE id = $1", id, tx->request->reason, error)
      || !_wb_dispatch_queue_trip (tx, "trip.cancelled", id, "jsonb_build_object('reason', $2::text)",
                                   tx->request->reason, error))
    return NULL;
  return trip_result (tx, id, error);
}

/* PATCH: plannedStart, vehicleId, driverId, while PLANNED (an IN_TRANSIT
 * trip changes hands through a reassignment command). */
static WbDispatchResult *
patch_trip (WbDispatchTx  *tx,
            GError       **error)
{
  static const char * const allowed[] = { "PLANNED", NULL };
  static const char sql[] =
    "UPDATE trips t SET"
    "   planned_start = CASE WHEN b::jsonb ? 'plannedStart' THEN (b->>'plannedStart')::timestamptz ELSE planned_start END,"
    "   vehicle_id = CASE WHEN b::jsonb ? 'vehicleId' THEN b->>'vehicleId' ELSE vehicle_id END,"
    "   driver_id = CASE WHEN b::jsonb ? 'driverId' THEN b->>'driverId' ELSE driver_id END,"
    "   version = version + 1, updated_at = now()"
    " FROM (SELECT $2::json AS b) x WHERE t.id = $1";
  const char *id = tx->request->id;
  const char *params[] = { id, tx->request->body };
  g_autoptr(PGresult) f = NULL;
  const char *company;

  if (!lock_trip (tx, id, allowed, "be changed", error))
    return NULL;
  f = _wb_dispatch_exec (tx, "SELECT company_id, $2::json->>'vehicleId', $2::json->>'driverId' FROM trips WHERE id = $1",
                         params, 2, error);
  if (f == NULL)
    return NULL;
  company = PQgetisnull (f, 0, 0) ? NULL : PQgetvalue (f, 0, 0);
  if (!check_member (tx, "vehicles", "vehicleId", PQgetisnull (f, 0, 1) ? NULL : PQgetvalue (f, 0, 1), company, error)
      || !check_member (tx, "drivers", "driverId", PQgetisnull (f, 0, 2) ? NULL : PQgetvalue (f, 0, 2), company, error)
      || !update_trip (tx, sql, id, tx->request->body, error))
    return NULL;
  return trip_result (tx, id, error);
}

WbDispatchResult *
_wb_dispatch_trips_run (WbDispatchTx  *tx,
                        GError       **error)
{
  switch (tx->request->op)
    {
    case WB_DISPATCH_OP_CREATE_TRIP:
      return create_trip (tx, error);
    case WB_DISPATCH_OP_GET_TRIP:
      return trip_result (tx, tx->request->id, error);
    case WB_DISPATCH_OP_LIST_TRIPS:
      return list_trips (tx, error);
    case WB_DISPATCH_OP_PATCH_TRIP:
      return patch_trip (tx, error);
    case WB_DISPATCH_OP_START_TRIP:
      return start_trip (tx, error);
    case WB_DISPATCH_OP_COMPLETE_TRIP:
      return complete_trip (tx, error);
    case WB_DISPATCH_OP_CANCEL_TRIP:
      return cancel_trip (tx, error);
    default:
      g_assert_not_reached ();
    }
}
