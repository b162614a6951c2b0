// SPDX-License-Identifier: GPL-3.0-or-later
/* Pickup points, batches of shipments, and the handover of a parcel at a
 * pickup point. */

#include "config.h"

#include "wb-dispatch-private.h"

#define T(col) WB_DISPATCH_SQL_TIME (col)

#define PICKUP_POINT_JSON(p) \
  "json_build_object('id', " p ".id, 'name', " p ".name," \
  " 'address', json_build_object('country', " p ".country, 'city', " p ".city, 'line1', " p ".line1," \
  "   'postalCode', " p ".postal_code)," \
  " 'lat', " p ".lat, 'lon', " p ".lon, 'openingHours', " p ".opening_hours, 'capacity', " p ".capacity," \
  " 'version', " p ".version, 'updatedAt', " T (p ".updated_at") ")"

#define BATCH_JSON(b) \
  "json_build_object('id', " b ".id, 'pickupPointId', " b ".pickup_point_id, 'address', " b ".address," \
  " 'lat', " b ".lat, 'lon', " b ".lon, 'status', " b ".status," \
  " 'shipmentIds', coalesce((SELECT json_agg(x.shipment_id ORDER BY x.shipment_id) FROM batch_shipments x" \
  "   WHERE x.batch_id = " b ".id), '[]')," \
  " 'tripId', (SELECT t.id FROM trip_stop_batches y JOIN trips t ON t.id = y.trip_id" \
  "   WHERE y.batch_id = " b ".id ORDER BY t.created_at DESC LIMIT 1)," \
  " 'createdAt', " T (b ".created_at") ", 'closedAt', " T (b ".closed_at") ")"

static char *
limit_text (guint limit)
{
  return g_strdup_printf ("%u", limit == 0 ? WB_DISPATCH_DEFAULT_PAGE_SIZE : MIN (limit, WB_DISPATCH_MAX_PAGE_SIZE));
}

/* ---- pickup points ---------------------------------------------------------- */

static WbDispatchResult *
put_pickup_point (WbDispatchTx  *tx,
                  GError       **error)
{
  static const char sql[] =
    "WITH b AS (SELECT * FROM json_to_record($2::json) AS b (name text, country text, city text, line1 text,"
    "   \"postalCode\" text, lat double precision, lon double precision, \"openingHours\" text, capacity integer))"
    " INSERT INTO pickup_points AS p (id, name, country, city, line1, postal_code, lat, lon, opening_hours, capacity)"
    " SELECT $1, b.name, b.country, b.city, b.line1, b.\"postalCode\", b.lat, b.lon, b.\"openingHours\", b.capacity"
    " FROM b"
    " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, country = EXCLUDED.country, city = EXCLUDED.city,"
    "   line1 = EXCLUDED.line1, postal_code = EXCLUDED.postal_code, lat = EXCLUDED.lat, lon = EXCLUDED.lon,"
    "   opening_hours = EXCLUDED.opening_hours, capacity = EXCLUDED.capacity,"
    "   version = p.version + 1, updated_at = now()"
    " RETURNING " PICKUP_POINT_JSON ("p") ", p.version, p.xmax = 0";
  const char *params[] = { tx->request->id, tx->request->body };
  g_autoptr(PGresult) result = _wb_dispatch_exec (tx, sql, params, 2, error);
  WbDispatchResult *out;

  if (result == NULL)
    return NULL;
  out = _wb_dispatch_result_new (tx->request->id, g_strdup (PQgetvalue (result, 0, 0)),
                                 g_ascii_strtoll (PQgetvalue (result, 0, 1), NULL, 10));
  out->created = g_str_equal (PQgetvalue (result, 0, 2), "t");
  return out;
}

/* A bulk import in one statement: the rows as a set, one upsert locking
 * them in id order, a row equal to the stored one left alone (so the same
 * file twice changes nothing). The rows were checked one by one as PUT
 * bodies are. The answer lists the rows written, a line each (ids have
 * no spaces), which the main loop reads far faster than JSON; the others
 * were unchanged. Nothing joins the rows with the upsert's result: the
 * planner takes json_to_recordset() for a hundred rows, and a nested loop
 * over ten thousand would be quadratic. */
static WbDispatchResult *
import_pickup_points (WbDispatchTx  *tx,
                      GError       **error)
{
  static const char sql[] =
    "WITH w AS (INSERT INTO pickup_points AS p (id, name, country, city, line1, postal_code, lat, lon,"
    "   opening_hours, capacity)"
    "   SELECT r.id, r.name, r.country, r.city, r.line1, r.\"postalCode\", r.lat, r.lon, r.\"openingHours\","
    "     r.capacity"
    "   FROM json_to_recordset($1::json) AS r (id text, name text, country text, city text, line1 text,"
    "     \"postalCode\" text, lat double precision, lon double precision, \"openingHours\" text, capacity integer)"
    "   ORDER BY r.id COLLATE \"C\""
    "   ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, country = EXCLUDED.country, city = EXCLUDED.city,"
    "     line1 = EXCLUDED.line1, postal_code = EXCLUDED.postal_code, lat = EXCLUDED.lat, lon = EXCLUDED.lon,"
    "     opening_hours = EXCLUDED.opening_hours, capacity = EXCLUDED.capacity,"
    "     version = p.version + 1, updated_at = now()"
    "   WHERE ROW(p.name, p.country, p.city, p.line1, p.postal_code, p.lat, p.lon, p.opening_hours, p.capacity)"
    "     IS DISTINCT FROM ROW(EXCLUDED.name, EXCLUDED.country, EXCLUDED.city, EXCLUDED.line1,"
    "     EXCLUDED.postal_code, EXCLUDED.lat, EXCLUDED.lon, EXCLUDED.opening_hours, EXCLUDED.capacity)"
    "   RETURNING p.id, p.version, p.xmax = 0 AS created)"
    " SELECT coalesce(string_agg(CASE WHEN w.created THEN 'c ' ELSE 'u ' END || w.version || ' ' || w.id, E'\\n'),"
    "   '') FROM w";
  const char *params[] = { tx->request->body };
  g_autoptr(PGresult) result = _wb_dispatch_exec (tx, sql, params, 1, error);
  WbDispatchResult *out;

  if (result == NULL)
    return NULL;
  /* Text, not JSON: not compacted. */
  out = _wb_dispatch_result_new (NULL, NULL, 0);
  out->json = g_strdup (PQgetvalue (result, 0, 0));
  return out;
}

static WbDispatchResult *
get_one (WbDispatchTx  *tx,
         const char    *sql,
         const char    *what,
         GError       **error)
{
  const char *params[] = { tx->request->id };
  g_autoptr(PGresult) result = _wb_dispatch_exec (tx, sql, params, 1, error);

  if (result == NULL)
    return NULL;
  if (PQntuples (result) == 0)
    return _wb_dispatch_fail (error, WB_DISPATCH_ERROR_NOT_FOUND, NULL, NULL, 0, "No such %s", what);
  return _wb_dispatch_result_new (tx->request->id, g_strdup (PQgetvalue (result, 0, 0)), 0);
}

static WbDispatchResult *
delete_pickup_point (WbDispatchTx  *tx,
                     GError       **error)
{
  const char *params[] = { tx->request->id };
  g_autoptr(GError) local_error = NULL;
  g_autoptr(PGresult) result = _wb_dispatch_exec (tx, "DELETE FROM pickup_points WHERE id = $1", params, 1,
                                                  &local_error);

  if (result == NULL && wb_db_error_get_sqlstate (local_error) != NULL
      && g_str_equal (wb_db_error_get_sqlstate (local_error), "23503"))
    return _wb_dispatch_fail (error, WB_DISPATCH_ERROR_CONFLICT, "id", NULL, 0,
                              "the pickup point is used by shipments, batches or trips");
  if (result == NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  if (g_str_equal (PQcmdTuples (result), "0"))
    return _wb_dispatch_fail (error, WB_DISPATCH_ERROR_NOT_FOUND, NULL, NULL, 0, "No such pickup point");
  return _wb_dispatch_result_new (tx->request->id, NULL, 0);
}

/* Pages by id: $1 the cursor (the last id of the previous page), $2 the limit. */
static WbDispatchResult *
list_pickup_points (WbDispatchTx  *tx,
                    GError       **error)
{
  static const char sql[] =
    "WITH page AS (SELECT " PICKUP_POINT_JSON ("p") " AS item, p.id FROM pickup_points p"
    "   WHERE $1::text IS NULL OR p.id > $1 ORDER BY p.id LIMIT $2::int + 1)"
    " SELECT json_build_object("
    "   'items', coalesce((SELECT json_agg(item ORDER BY id) FROM (SELECT * FROM page ORDER BY id LIMIT $2::int) f), '[]'),"
    "   'nextCursor', CASE WHEN (SELECT count(*) FROM page) > $2::int"
    "     THEN (SELECT max(id) FROM (SELECT id FROM page ORDER BY id LIMIT $2::int) f) END)";
  g_autofree char *limit = limit_text (tx->request->limit);
  const char *params[] = { tx->request->cursor, limit };
  g_autoptr(PGresult) result = _wb_dispatch_exec (tx, sql, params, 2, error);

  if (result == NULL)
    return NULL;
  return _wb_dispatch_result_new (NULL, g_strdup (PQgetvalue (result, 0, 0)), 0);
}

/* ---- handover ------------------------------------------------------------------ */

/* The parcel must wait at this point (AVAILABLE_FOR_PICKUP, addressed to
 * it or carried there in a batch) and the caller must give the
 * recipient's phone. */
static WbDispatchResult *
handover (WbDispatchTx  *tx,
          GError       **error)
{
  static const char sql[] =
    "SELECT s.status, coalesce(s.recipient_phone, ''), s.closed_at IS NOT NULL,"
    "   s.pickup_point_id = $2 OR EXISTS (SELECT 1 FROM batch_shipments x JOIN batches b ON b.id = x.batch_id"
    "     WHERE x.shipment_id = s.id AND b.pickup_point_id = $2)"
    " FROM shipments s WHERE s.id = $1::uuid FOR UPDATE";
  WbDispatchRequest *r = tx->request;
  const char *params[] = { r->shipment_id, r->id };
  g_autoptr(PGresult) point = NULL;
  g_autoptr(PGresult) result = NULL;
  g_autofree char *scope = NULL;

  point = _wb_dispatch_exec (tx, "SELECT 1 FROM pickup_points WHERE id = $1", &params[1], 1, error);
  if (point == NULL)
    return NULL;
  if (PQntuples (point) == 0)
    return _wb_dispatch_fail (error, WB_DISPATCH_ERROR_NOT_FOUND, NULL, NULL, 0, "No such pickup point");
  if ((result = _wb_dispatch_exec (tx, sql, params, 2, error)) == NULL)
    return NULL;
  if (PQntuples (result) == 0)
    return _wb_dispatch_fail (error, WB_DISPATCH_ERROR_INVALID, "shipmentId", NULL, 0, "no such shipment");
  if (!g_str_equal (PQgetvalue (result, 0, 3), "t"))
    return _wb_dispatch_fail (error, WB_DISPATCH_ERROR_INVALID, "shipmentId", NULL, 0,
                              "the shipment is not for this pickup point");
  if (g_str_equal (PQgetvalue (result, 0, 2), "t"))
    return _wb_dispatch_fail (error, WB_DISPATCH_ERROR_CONFLICT, "shipmentId", NULL, 0, "the shipment is closed");
  if (!g_str_equal (PQgetvalue (result, 0, 0), "AVAILABLE_FOR_PICKUP"))
    return _wb_dispatch_fail (error, WB_DISPATCH_ERROR_CONFLICT, "shipmentId", PQgetvalue (result, 0, 0), 0,
                              "the shipment is %s, not AVAILABLE_FOR_PICKUP", PQgetvalue (result, 0, 0));
  if (!g_str_equal (PQgetvalue (result, 0, 1), r->phone))
    return _wb_dispatch_fail (error, WB_DISPATCH_ERROR_MISMATCH, "phone", NULL, 0,
                              "does not match the recipient's phone");
  scope = g_strdup_printf ("handover:%s", r->id);
  if (!_wb_dispatch_move_shipments (tx, "SELECT $1::uuid::text", (const char *[]) { r->shipment_id }, 1, scope, "delivered",
                                    WB_STATUS_DELIVERED, error))
    return NULL;
  return _wb_dispatch_result_new (r->shipment_id,
                                  g_strdup_printf ("{\"shipmentId\":\"%s\",\"pickupPointId\":\"%s\",\"status\":\"DELIVERED\"}",
                                                   r->shipment_id, r->id), 0);
}

/* ---- batches ---------------------------------------------------------------------- */

/* The first of $1's shipment ids (a JSON array) that names no shipment, or
 * that is in an open batch already, as its index and why. */
static gboolean
check_batch_shipments (WbDispatchTx  *tx,
                       const char    *ids_json,
                       GError       **error)
{
  static const char sql[] =
    "SELECT a.i - 1, s.id IS NULL, x.batch_id"
    " FROM json_array_elements_text($1::json) WITH ORDINALITY a (id, i)"
    " LEFT JOIN shipments s ON s.id = a.id::uuid"
    " LEFT JOIN batch_shipments x ON x.shipment_id = a.id::uuid AND x.open"
    " WHERE s.id IS NULL OR x.batch_id IS NOT NULL ORDER BY a.i LIMIT 1";
  const char *params[] = { ids_json };
  g_autoptr(PGresult) result = _wb_dispatch_exec (tx, sql, params, 1, error);
  g_autofree char *field = NULL;

  if (result == NULL)
    return FALSE;
  if (PQntuples (result) == 0)
    return TRUE;
  field = g_strdup_printf ("shipmentIds[%s]", PQgetvalue (result, 0, 0));
  if (g_str_equal (PQgetvalue (result, 0, 1), "t"))
    _wb_dispatch_fail (error, WB_DISPATCH_ERROR_INVALID, field, NULL, 0, "no such shipment");
  else
    _wb_dispatch_fail (error, WB_DISPATCH_ERROR_CONFLICT, field, "OPEN", 0,
                       "the shipment is already in open batch %s", PQgetvalue (result, 0, 2));
  return FALSE;
}

static gboolean
check_pickup_point (WbDispatchTx  *tx,
                    const char    *id,
                    const char    *field,
                    GError       **error)
{
  const char *params[] = { id };
  g_autoptr(PGresult) result = NULL;

  if (id == NULL)
    return TRUE;
  if ((result = _wb_dispatch_exec (tx, "SELECT 1 FROM pickup_points WHERE id = $1", params, 1, error)) == NULL)
    return FALSE;
  if (PQntuples (result) == 0)
    {
      _wb_dispatch_fail (error, WB_DISPATCH_ERROR_INVALID, field, NULL, 0, "no such pickup point");
      return FALSE;
    }
  return TRUE;
}

static WbDispatchResult *
create_batch (WbDispatchTx  *tx,
              GError       **error)
{
  static const char sql[] =
    "WITH b AS (SELECT * FROM json_to_record($1::json) AS b (\"pickupPointId\" text, address text,"
    "   lat double precision, lon double precision, \"shipmentIds\" json)),"
    " batch AS (INSERT INTO batches (pickup_point_id, address, lat, lon)"
    "   SELECT b.\"pickupPointId\", b.address, b.lat, b.lon FROM b RETURNING id),"
    " members AS (INSERT INTO batch_shipments (batch_id, shipment_id)"
    "   SELECT batch.id, s::uuid FROM batch, b, json_array_elements_text(b.\"shipmentIds\") s)"
    " SELECT id FROM batch";
  static const char view[] = "SELECT " BATCH_JSON ("b") " FROM batches b WHERE b.id = $1::uuid";
  g_autoptr(PGresult) ids = NULL;
  g_autoptr(PGresult) result = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autoptr(PGresult) inserted = NULL;
  const char *params[] = { tx->request->body };
  WbDispatchResult *batch;
  const char *id;

  ids = _wb_dispatch_exec (tx, "SELECT $1::json->>'pickupPointId', ($1::json->'shipmentIds')::text", params, 1, error);
  if (ids == NULL
      || !check_pickup_point (tx, PQgetisnull (ids, 0, 0) ? NULL : PQgetvalue (ids, 0, 0), "pickupPointId", error)
      || !check_batch_shipments (tx, PQgetvalue (ids, 0, 1), error))
    return NULL;
  inserted = _wb_dispatch_exec (tx, sql, params, 1, &local_error);
  /* A concurrent batch took a shipment between the check and the insert. */
  if (inserted == NULL && _wb_dispatch_broke (local_error, "batch_shipments_open_shipment_key"))
    return _wb_dispatch_fail (error, WB_DISPATCH_ERROR_CONFLICT, "shipmentIds", "OPEN", 0,
                              "a shipment is already in an open batch");
  if (inserted == NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  id = PQgetvalue (inserted, 0, 0);
  if ((result = _wb_dispatch_exec (tx, view, &id, 1, error)) == NULL)
    return NULL;
  batch = _wb_dispatch_result_new (id, g_strdup (PQgetvalue (result, 0, 0)), 0);
  batch->created = TRUE;
  return batch;
}

/* Newest first, keyset on (created_at, id): the cursor is "<µs>_<uuid>". */
static WbDispatchResult *
list_batches (WbDispatchTx  *tx,
              GError       **error)
{
  static const char sql[] =
    "WITH page AS (SELECT " BATCH_JSON ("b") " AS item, b.created_at, b.id,"
    "     row_number() OVER (ORDER BY b.created_at DESC, b.id DESC) AS n"
    "   FROM batches b"
    "   WHERE ($1::text IS NULL OR (b.created_at, b.id) < (" WB_DISPATCH_SQL_FROM_US ("split_part($1, '_', 1)")
    "          , split_part($1, '_', 2)::uuid))"
    "     AND ($3::text IS NULL OR b.status = $3) AND ($4::text IS NULL OR b.pickup_point_id = $4)"
    "   ORDER BY b.created_at DESC, b.id DESC LIMIT $2::int + 1)"
    " SELECT json_build_object('items', coalesce((SELECT json_agg(item ORDER BY n) FROM page WHERE n <= $2::int), '[]'),"
    "   'nextCursor', (SELECT " WB_DISPATCH_SQL_TO_US ("created_at") " || '_' || id FROM page"
    "     WHERE n = $2::int AND EXISTS (SELECT 1 FROM page WHERE n > $2::int)))";
  g_autofree char *limit = limit_text (tx->request->limit);
  const char *params[] = { tx->request->cursor, limit, tx->request->status, tx->request->pickup_point_id };
  g_autoptr(PGresult) result = _wb_dispatch_exec (tx, sql, params, 4, error);

  if (result == NULL)
    return NULL;
  return _wb_dispatch_result_new (NULL, g_strdup (PQgetvalue (result, 0, 0)), 0);
}

/* Automatic batching: the shipments addressed to a pickup point that are
 * ready (PENDING or INFO_RECEIVED, open) and in no open batch, one new
 * batch per point, oldest first, up to the point's capacity. A shipment a
 * concurrent batch took first breaks the unique index and the whole pass
 * is tried again at the next tick. */
static WbDispatchResult *
auto_batch (WbDispatchTx  *tx,
            GError       **error)
{
  static const char sql[] =
    "WITH ready AS (SELECT s.id, s.pickup_point_id, p.capacity,"
    "     row_number() OVER (PARTITION BY s.pickup_point_id ORDER BY s.created_at, s.id) AS n"
    "   FROM shipments s JOIN pickup_points p ON p.id = s.pickup_point_id"
    "   WHERE s.closed_at IS NULL AND s.status IN ('PENDING', 'INFO_RECEIVED')"
    "     AND NOT EXISTS (SELECT 1 FROM batch_shipments m WHERE m.shipment_id = s.id AND m.open)),"
    " picked AS (SELECT * FROM ready WHERE capacity IS NULL OR n <= capacity),"
    " made AS (INSERT INTO batches (pickup_point_id) SELECT DISTINCT pickup_point_id FROM picked"
    "   RETURNING id, pickup_point_id),"
    " members AS (INSERT INTO batch_shipments (batch_id, shipment_id)"
    "   SELECT made.id, picked.id FROM picked JOIN made USING (pickup_point_id))"
    " SELECT count(*) FROM made";
  g_autoptr(PGresult) result = _wb_dispatch_exec (tx, sql, NULL, 0, error);
  WbDispatchResult *out;

  if (result == NULL)
    return NULL;
  out = _wb_dispatch_result_new (NULL, NULL, 0);
  out->n_batches = g_ascii_strtoull (PQgetvalue (result, 0, 0), NULL, 10);
  return out;
}

WbDispatchResult *
_wb_dispatch_places_run (WbDispatchTx  *tx,
                         GError       **error)
{
  switch (tx->request->op)
    {
    case WB_DISPATCH_OP_PUT_PICKUP_POINT:
      return put_pickup_point (tx, error);
    case WB_DISPATCH_OP_GET_PICKUP_POINT:
      return get_one (tx, "SELECT " PICKUP_POINT_JSON ("p") " FROM pickup_points p WHERE p.id = $1",
                      "pickup point", error);
    case WB_DISPATCH_OP_DELETE_PICKUP_POINT:
      return delete_pickup_point (tx, error);
    case WB_DISPATCH_OP_LIST_PICKUP_POINTS:
      return list_pickup_points (tx, error);
    case WB_DISPATCH_OP_HANDOVER:
      return handover (tx, error);
    case WB_DISPATCH_OP_CREATE_BATCH:
      return create_batch (tx, error);
    case WB_DISPATCH_OP_GET_BATCH:
      return get_one (tx, "SELECT " BATCH_JSON ("b") " FROM batches b WHERE b.id = $1::uuid", "batch", error);
    case WB_DISPATCH_OP_AUTO_BATCH:
      return auto_batch (tx, error);
    case WB_DISPATCH_OP_IMPORT_PICKUP_POINTS:
      return import_pickup_points (tx, error);
    case WB_DISPATCH_OP_LIST_BATCHES:
    default:
      return list_batches (tx, error);
    }
}
