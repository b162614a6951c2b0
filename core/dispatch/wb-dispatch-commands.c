// SPDX-License-Identifier: GPL-3.0-or-later
/* Reassignment commands: accepted (pending) by the api role, which queues
 * commands.trip.reassign through the outbox; decided once (applied or
 * rejected, with the reason) by the dispatch role. */

#include "config.h"

#include "wb-dispatch-private.h"

#define T(col) WB_DISPATCH_SQL_TIME (col)

#define COMMAND_JSON(c) \
  "json_build_object('id', " c ".id, 'kind', " c ".kind, 'tripId', " c ".trip_id, 'vehicleId', " c ".vehicle_id," \
  " 'driverId', " c ".driver_id, 'reason', " c ".reason, 'requestedBy', " c ".requested_by," \
  " 'requestedAt', " T (c ".requested_at") ", 'status', " c ".status, 'outcome', " c ".outcome," \
  " 'decidedAt', " T (c ".decided_at") ")"

static WbDispatchResult *
command_result (WbDispatchTx  *tx,
                const char    *id,
                GError       **error)
{
  const char *params[] = { id };
  g_autoptr(PGresult) result = _wb_dispatch_exec (tx, "SELECT " COMMAND_JSON ("c") ", c.status FROM commands c WHERE c.id = $1",
                                                  params, 1, error);
  WbDispatchResult *out;

  if (result == NULL)
    return NULL;
  if (PQntuples (result) == 0)
    return _wb_dispatch_fail (error, WB_DISPATCH_ERROR_NOT_FOUND, NULL, NULL, 0, "No such command");
  out = _wb_dispatch_result_new (id, g_strdup (PQgetvalue (result, 0, 0)), 0);
  out->status = g_strdup (PQgetvalue (result, 0, 1));
  return out;
}

/* Records the command unless its id is known; returns whether it did. */
static gboolean
insert_command (WbDispatchTx  *tx,
                gboolean      *out_inserted,
                GError       **error)
{
  static const char sql[] =
    "INSERT INTO commands (id, kind, trip_id, vehicle_id, driver_id, reason, requested_by)"
    " VALUES ($1, 'trip.reassign', $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING";
  WbDispatchRequest *r = tx->request;
  const char *params[] = { r->command_id, r->id, r->vehicle_id, r->driver_id, r->reason, r->requested_by };
  g_autoptr(PGresult) result = _wb_dispatch_exec (tx, sql, params, 6, error);

  if (result == NULL)
    return FALSE;
  *out_inserted = !g_str_equal (PQcmdTuples (result), "0");
  return TRUE;
}

/* An Idempotency-Key names one command: the same key for another trip or
 * target is a client's mistake, not a retry. */
static gboolean
check_same_command (WbDispatchTx  *tx,
                    GError       **error)
{
  static const char sql[] =
    "SELECT 1 FROM commands WHERE id = $1 AND trip_id = $2 AND vehicle_id IS NOT DISTINCT FROM $3"
    " AND driver_id IS NOT DISTINCT FROM $4";
  WbDispatchRequest *r = tx->request;
  const char *params[] = { r->command_id, r->id, r->vehicle_id, r->driver_id };
  g_autoptr(PGresult) result = _wb_dispatch_exec (tx, sql, params, 4, error);

  if (result == NULL)
    return FALSE;
  if (PQntuples (result) == 0)
    return _wb_dispatch_fail (error, WB_DISPATCH_ERROR_CONFLICT, "Idempotency-Key", NULL, 0,
                              "already names another command") != NULL;
  return TRUE;
}

static WbDispatchResult *
submit_reassign (WbDispatchTx  *tx,
                 GError       **error)
{
  static const char queue[] =
    "INSERT INTO outbox (topic, key, type, payload)"
    " SELECT '" WB_TOPIC_COMMANDS_TRIP_REASSIGN "', c.trip_id, '" WB_TOPIC_COMMANDS_TRIP_REASSIGN "',"
    "   jsonb_strip_nulls(jsonb_build_object('command_id', c.id, 'trip_id', c.trip_id, 'vehicle_id', c.vehicle_id,"
    "   'driver_id', c.driver_id, 'reason', c.reason, 'requested_by', c.requested_by,"
    "   'requested_at', " T ("c.requested_at") "))"
    " FROM commands c WHERE c.id = $1";
  WbDispatchRequest *r = tx->request;
  const char *trip[] = { r->id };
  g_autoptr(PGresult) exists = _wb_dispatch_exec (tx, "SELECT 1 FROM trips WHERE id = $1", trip, 1, error);
  g_autoptr(PGresult) queued = NULL;
  gboolean inserted = FALSE;
  WbDispatchResult *result;

  if (exists == NULL)
    return NULL;
  if (PQntuples (exists) == 0)
    return _wb_dispatch_fail (error, WB_DISPATCH_ERROR_NOT_FOUND, NULL, NULL, 0, "No such trip");
  if (!insert_command (tx, &inserted, error))
    return NULL;
  if (!inserted)
    return check_same_command (tx, error) ? command_result (tx, r->command_id, error) : NULL;
  if ((queued = _wb_dispatch_exec (tx, queue, (const char *[]) { r->command_id }, 1, error)) == NULL)
    return NULL;
  tx->wrote_outbox = TRUE;
  if ((result = command_result (tx, r->command_id, error)) != NULL)
    result->created = TRUE;
  return result;
}

/* ---- applying ------------------------------------------------------------------ */

/* Why the target cannot take the trip, or NULL when it can: it must exist,
 * be the trip's company's (when it names one) and be on no other
 * IN_TRANSIT trip. */
static char *
check_target (WbDispatchTx  *tx,
              const char    *table,
              const char    *column,
              const char    *id,
              const char    *trip_id,
              GError       **error)
{
  g_autofree char *sql = g_strdup_printf (
    "SELECT x.company_id IS NULL OR t.company_id IS NULL OR x.company_id = t.company_id,"
    "   (SELECT o.id FROM trips o WHERE o.%s = x.id AND o.status = 'IN_TRANSIT' AND o.id <> t.id LIMIT 1)"
    " FROM %s x, trips t WHERE x.id = $1 AND t.id = $2", column, table);
  const char *params[] = { id, trip_id };
  g_autoptr(PGresult) result = NULL;
  const char *what = table[0] == 'v' ? "vehicle" : "driver";

  if (id == NULL)
    return g_strdup ("");
  if ((result = _wb_dispatch_exec (tx, sql, params, 2, error)) == NULL)
    return NULL;
  if (PQntuples (result) == 0)
    return g_strdup_printf ("no such %s: %s", what, id);
  if (!g_str_equal (PQgetvalue (result, 0, 0), "t"))
    return g_strdup_printf ("the %s %s belongs to another company", what, id);
  if (!PQgetisnull (result, 0, 1))
    return g_strdup_printf ("the %s %s is busy on IN_TRANSIT trip %s", what, id, PQgetvalue (result, 0, 1));
  return g_strdup ("");
}

/* Why the command cannot be applied ("" when it can), or NULL on a
 * database error. */
static char *
check_reassign (WbDispatchTx  *tx,
                GError       **error)
{
  WbDispatchRequest *r = tx->request;
  const char *params[] = { r->id };
  g_autoptr(PGresult) trip = _wb_dispatch_exec (tx, "SELECT status FROM trips WHERE id = $1 FOR UPDATE", params, 1, error);
  g_autofree char *vehicle = NULL;
  const char *status;

  if (trip == NULL)
    return NULL;
  if (PQntuples (trip) == 0)
    return g_strdup_printf ("no such trip: %s", r->id);
  status = PQgetvalue (trip, 0, 0);
  if (!g_str_equal (status, "PLANNED") && !g_str_equal (status, "IN_TRANSIT"))
    return g_strdup_printf ("the trip is %s", status);
  vehicle = check_target (tx, "vehicles", "vehicle_id", r->vehicle_id, r->id, error);
  if (vehicle == NULL || *vehicle != '\0')
    return g_steal_pointer (&vehicle);
  return check_target (tx, "drivers", "driver_id", r->driver_id, r->id, error);
}

static gboolean
apply_change (WbDispatchTx  *tx,
              GError       **error)
{
  static const char sql[] =
    "WITH before AS (SELECT id, vehicle_id, driver_id FROM trips WHERE id = $1)"
    " UPDATE trips t SET vehicle_id = coalesce($2, t.vehicle_id), driver_id = coalesce($3, t.driver_id),"
    "   version = t.version + 1, updated_at = now()"
    " FROM before WHERE t.id = before.id"
    " RETURNING before.vehicle_id, before.driver_id";
  WbDispatchRequest *r = tx->request;
  const char *params[] = { r->id, r->vehicle_id, r->driver_id };
  g_autoptr(PGresult) result = _wb_dispatch_exec (tx, sql, params, 3, error);
  g_autoptr(PGresult) decided = NULL;

  if (result == NULL)
    return FALSE;
  decided = _wb_dispatch_exec (tx, "UPDATE commands SET status = 'applied', decided_at = now() WHERE id = $1",
                               (const char *[]) { r->command_id }, 1, error);
  if (decided == NULL)
    return FALSE;
  return _wb_dispatch_queue_trip (tx, "trip.reassigned", r->id,
                                  "(SELECT jsonb_build_object('command_id', c.id, 'reason', c.reason,"
                                  "   'requested_by', c.requested_by) FROM commands c WHERE c.id = $2)",
                                  r->command_id, error);
}

/* The refusal is a fact the operator waits for, like an application: it
 * is announced (trip.reassign_rejected, after the commit) from the command
 * itself, so that a command naming no trip is announced too. */
static gboolean
reject (WbDispatchTx  *tx,
        const char    *why,
        GError       **error)
{
  static const char queue[] =
    "INSERT INTO outbox (topic, key, type, payload)"
    " SELECT '" WB_TOPIC_TRIP_REASSIGN_REJECTED "', c.trip_id, '" WB_TOPIC_TRIP_REASSIGN_REJECTED "',"
    "   jsonb_build_object('trip_id', c.trip_id, 'command_id', c.id, 'vehicle_id', c.vehicle_id,"
    "   'driver_id', c.driver_id, 'reason', c.reason, 'outcome', c.outcome, 'requested_by', c.requested_by,"
    "   'requested_at', " T ("c.requested_at") ", 'occurred_at', " T ("c.decided_at") ")"
    " FROM commands c WHERE c.id = $1";
  const char *params[] = { tx->request->command_id, why };
  g_autoptr(PGresult) result = _wb_dispatch_exec (tx, "UPDATE commands SET status = 'rejected', outcome = $2,"
                                                      " decided_at = now() WHERE id = $1", params, 2, error);
  g_autoptr(PGresult) queued = NULL;

  if (result == NULL || (queued = _wb_dispatch_exec (tx, queue, params, 1, error)) == NULL)
    return FALSE;
  tx->wrote_outbox = TRUE;
  return TRUE;
}

/* A command is decided once: a redelivered message finds it decided and
 * changes nothing. */
static WbDispatchResult *
apply_reassign (WbDispatchTx  *tx,
                GError       **error)
{
  WbDispatchRequest *r = tx->request;
  g_autoptr(PGresult) state = NULL;
  g_autofree char *why = NULL;
  gboolean inserted = FALSE;
  WbDispatchResult *result;

  if (!insert_command (tx, &inserted, error))
    return NULL;
  state = _wb_dispatch_exec (tx, "SELECT status FROM commands WHERE id = $1 FOR UPDATE",
                             (const char *[]) { r->command_id }, 1, error);
  if (state == NULL)
    return NULL;
  if (!g_str_equal (PQgetvalue (state, 0, 0), "pending"))
    return command_result (tx, r->command_id, error);
  if ((why = check_reassign (tx, error)) == NULL)
    return NULL;
  if (*why != '\0' ? !reject (tx, why, error) : !apply_change (tx, error))
    return NULL;
  if ((result = command_result (tx, r->command_id, error)) != NULL)
    result->created = TRUE;
  return result;
}

/* Automatic reassignment: the IN_TRANSIT trip of a vehicle silent for
 * silent_ms goes, through the same command path as an operator's (so it is
 * recorded and decided alike), to the nearest vehicle of the trip's company
 * that reports and is on no IN_TRANSIT trip. The command id names the trip
 * and the silence, so one silence asks once. */
static WbDispatchResult *
auto_reassign (WbDispatchTx  *tx,
               GError       **error)
{
  static const char trip_sql[] =
    "SELECT t.id, t.company_id, v.lat, v.lon, " WB_DISPATCH_SQL_TO_US ("v.server_time") ","
    "   " T ("v.server_time")
    " FROM trips t JOIN vehicle_states v ON v.vehicle_id = t.vehicle_id"
    " WHERE t.vehicle_id = $1 AND t.status = 'IN_TRANSIT' AND v.server_time < now() - $2::bigint * interval '1 millisecond'";
  static const char nearest_sql[] =
    "SELECT x.id FROM vehicles x JOIN vehicle_states s ON s.vehicle_id = x.id"
    " WHERE x.company_id = $1 AND x.id <> $2 AND s.server_time >= now() - $5::bigint * interval '1 millisecond'"
    "   AND NOT EXISTS (SELECT 1 FROM trips o WHERE o.vehicle_id = x.id AND o.status = 'IN_TRANSIT')"
    " ORDER BY waybill_distance_m(s.lat, s.lon, $3::double precision, $4::double precision), x.id LIMIT 1";
  WbDispatchRequest *r = tx->request;
  g_autofree char *silent = g_strdup_printf ("%" G_GINT64_FORMAT, r->silent_ms);
  const char *trip_params[] = { r->silent_vehicle_id, silent };
  g_autoptr(PGresult) trip = _wb_dispatch_exec (tx, trip_sql, trip_params, 2, error);
  g_autoptr(PGresult) nearest = NULL;

  if (trip == NULL)
    return NULL;
  if (PQntuples (trip) == 0 || PQgetisnull (trip, 0, 1))
    return _wb_dispatch_result_new (NULL, NULL, 0);
  {
    const char *params[] = { PQgetvalue (trip, 0, 1), r->silent_vehicle_id, PQgetvalue (trip, 0, 2),
                             PQgetvalue (trip, 0, 3), silent };

    if ((nearest = _wb_dispatch_exec (tx, nearest_sql, params, 5, error)) == NULL)
      return NULL;
  }
  if (PQntuples (nearest) == 0)
    {
      g_message ("Automatic reassignment: trip %s has no free vehicle to go to", PQgetvalue (trip, 0, 0));
      return _wb_dispatch_result_new (NULL, NULL, 0);
    }
  /* The request becomes the command (again on a repeated attempt). */
  g_free (r->command_id);
  r->command_id = g_strdup_printf ("auto:%s:%s", PQgetvalue (trip, 0, 0), PQgetvalue (trip, 0, 4));
  g_free (r->reason);
  r->reason = g_strdup_printf ("vehicle %s silent since %s", r->silent_vehicle_id, PQgetvalue (trip, 0, 5));
  g_free (r->requested_by);
  r->requested_by = g_strdup ("auto");
  g_free (r->id);
  r->id = g_strdup (PQgetvalue (trip, 0, 0));
  g_free (r->vehicle_id);
  r->vehicle_id = g_strdup (PQgetvalue (nearest, 0, 0));
  return submit_reassign (tx, error);
}

WbDispatchResult *
_wb_dispatch_commands_run (WbDispatchTx  *tx,
                           GError       **error)
{
  switch (tx->request->op)
    {
    case WB_DISPATCH_OP_SUBMIT_REASSIGN:
      return submit_reassign (tx, error);
    case WB_DISPATCH_OP_GET_COMMAND:
      return command_result (tx, tx->request->id, error);
    case WB_DISPATCH_OP_AUTO_REASSIGN:
      return auto_reassign (tx, error);
    case WB_DISPATCH_OP_APPLY_REASSIGN:
    default:
      return apply_reassign (tx, error);
    }
}
