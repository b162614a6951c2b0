// SPDX-License-Identifier: GPL-3.0-or-later
/* The event path: store every event once, move the shipment by the
 * milestone rule (docs/shipments.md), queue one message per status change
 * and one per breach — all in the caller's transaction. */

#include "config.h"

#include "wb-shipment-store-private.h"

/* The shipment an event names, locked for the rest of the transaction so
 * that concurrent events for one shipment apply one after the other. */
typedef struct
{
  char     *id;
  WbStatus  status;
  char     *reason;
  gint64    status_at_us;
  int       milestone_rank;
  gboolean  closed;
  gint64    version;
  char     *tracking_id;      /* the tracking the event came through, or NULL */
  gboolean  may_be_overdue;   /* past its promise and not flagged yet */
  gboolean  from_event;       /* the current status came from an event, not from creation */
} Shipment;

/* What the milestone rule makes of one event. */
typedef struct
{
  gboolean applies;           /* it becomes the shipment's current state */
  gboolean status_changed;    /* … and changes its status or reason */
  gboolean restamp;           /* status_at (and delivered_at) take its time */
  int      milestone_rank;
} Decision;

static void
shipment_clear (Shipment *shipment)
{
  g_free (shipment->id);
  g_free (shipment->reason);
  g_free (shipment->tracking_id);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Shipment, shipment_clear)

static gboolean
fail_item (GError       **error,
           WbShipmentError code,
           const char    *message)
{
  g_set_error_literal (error, WB_SHIPMENT_ERROR, code, message);
  return FALSE;
}

static gboolean
validate_event (const WbStatusEvent  *event,
                GError              **error)
{
  if (event->source == NULL || event->source[0] == '\0')
    return fail_item (error, WB_SHIPMENT_ERROR_INVALID, "source: required");
  if (event->event_id == NULL || event->event_id[0] == '\0')
    return fail_item (error, WB_SHIPMENT_ERROR_INVALID, "eventId: required");
  if (wb_status_to_string (event->status) == NULL)
    return fail_item (error, WB_SHIPMENT_ERROR_INVALID, "status: not a canonical status");
  return TRUE;
}

#define SHIPMENT_STATE_COLUMNS \
  "s.id, s.status, s.status_reason, " WB_SQL_TO_US ("s.status_at") ", s.milestone_rank," \
  " s.closed_at IS NOT NULL, s.version, t.id," \
  " s.overdue_at IS NULL AND s.promised_at < now(), s.last_event_id IS NOT NULL"

static PGresult *
query_shipment (PGconn               *conn,
                const WbStatusEvent  *event,
                GCancellable         *cancellable,
                GError              **error)
{
  g_autoptr(GPtrArray) params = _wb_sql_params_new ();

  _wb_sql_params_add (params, event->carrier);
  _wb_sql_params_add (params, event->track_number);

  if (event->shipment_id != NULL)
    {
      _wb_sql_params_add (params, event->shipment_id);
      return _wb_store_exec (conn,
                             "SELECT " SHIPMENT_STATE_COLUMNS " FROM shipments s"
                             " LEFT JOIN trackings t"
                             "   ON t.shipment_id = s.id AND t.carrier = $1 AND t.track_number = $2"
                             " WHERE s.id = $3 FOR UPDATE OF s",
                             params, cancellable, error);
    }

  return _wb_store_exec (conn,
                         "SELECT " SHIPMENT_STATE_COLUMNS " FROM trackings t"
                         " JOIN shipments s ON s.id = t.shipment_id"
                         " WHERE t.carrier = $1 AND t.track_number = $2 FOR UPDATE OF s",
                         params, cancellable, error);
}

static gboolean
lock_shipment (PGconn               *conn,
               const WbStatusEvent  *event,
               Shipment             *out_shipment,
               GCancellable         *cancellable,
               GError              **error)
{
  g_autoptr(PGresult) result = NULL;

  if (event->shipment_id == NULL && (event->carrier == NULL || event->track_number == NULL))
    return fail_item (error, WB_SHIPMENT_ERROR_INVALID,
                      "shipmentId: required, or carrier and trackNumber");
  if (event->shipment_id != NULL && !_wb_store_id_is_valid (event->shipment_id))
    return _wb_store_set_not_found (error, event->shipment_id);

  if ((result = query_shipment (conn, event, cancellable, error)) == NULL)
    return FALSE;

  if (PQntuples (result) == 0 && event->shipment_id != NULL)
    return _wb_store_set_not_found (error, event->shipment_id);
  if (PQntuples (result) == 0)
    {
      g_set_error (error, WB_SHIPMENT_ERROR, WB_SHIPMENT_ERROR_NOT_FOUND,
                   "no shipment tracked as %s %s", event->carrier, event->track_number);
      return FALSE;
    }

  out_shipment->id = g_strdup (PQgetvalue (result, 0, 0));
  out_shipment->status = wb_status_from_string (PQgetvalue (result, 0, 1));
  out_shipment->reason = PQgetisnull (result, 0, 2) ? NULL : g_strdup (PQgetvalue (result, 0, 2));
  out_shipment->status_at_us = _wb_store_get_int (result, 0, 3);
  out_shipment->milestone_rank = (int) _wb_store_get_int (result, 0, 4);
  out_shipment->closed = g_str_equal (PQgetvalue (result, 0, 5), "t");
  out_shipment->version = _wb_store_get_int (result, 0, 6);
  out_shipment->tracking_id = PQgetisnull (result, 0, 7) ? NULL : g_strdup (PQgetvalue (result, 0, 7));
  out_shipment->may_be_overdue = g_str_equal (PQgetvalue (result, 0, 8), "t");
  out_shipment->from_event = g_str_equal (PQgetvalue (result, 0, 9), "t");
  return TRUE;
}

/* The milestone rule. A correction always applies and resets the rank to
 * its own (EXCEPTION ranks 0, so the next ordinary event applies);
 * otherwise a terminal status holds, an event older than the event that set
 * the current status is history only (the PENDING a shipment is created with
 * is no such barrier: carriers often scan a parcel before the record exists),
 * and a
 * lower milestone does not move the shipment back; EXCEPTION shows on top
 * of whatever milestone was reached, keeping the rank. */
static Decision
decide (const Shipment      *shipment,
        const WbStatusEvent *event)
{
  Decision decision = { .milestone_rank = shipment->milestone_rank };
  int rank = wb_status_rank (event->status);

  if (event->correction)
    {
      decision.applies = TRUE;
      decision.milestone_rank = rank;
    }
  else if (!wb_status_is_terminal (shipment->status) &&
           (!shipment->from_event || event->occurred_at >= shipment->status_at_us) &&
           (!wb_status_is_milestone (event->status) || rank >= shipment->milestone_rank))
    {
      decision.applies = TRUE;
      if (wb_status_is_milestone (event->status))
        decision.milestone_rank = MAX (rank, shipment->milestone_rank);
    }

  decision.status_changed = decision.applies &&
                            (event->status != shipment->status ||
                             g_strcmp0 (event->reason, shipment->reason) != 0);
  decision.restamp = decision.status_changed || (decision.applies && event->correction);
  return decision;
}

static void
add_time_or_null (GPtrArray *params,
                  gint64     us)
{
  _wb_sql_params_take (params, us != 0 ? g_strdup_printf ("%" G_GINT64_FORMAT, us) : NULL);
}

static GPtrArray *
insert_params (const WbStatusEvent *event,
               const Shipment      *shipment,
               gboolean             applied)
{
  GPtrArray *params = _wb_sql_params_new ();

  _wb_sql_params_add (params, shipment->id);
  _wb_sql_params_add (params, shipment->tracking_id);
  _wb_sql_params_add (params, event->source);
  _wb_sql_params_add (params, event->event_id);
  _wb_sql_params_add (params, wb_status_to_string (event->status));
  _wb_sql_params_add (params, event->reason);
  _wb_sql_params_add (params, event->status_raw);
  _wb_sql_params_add_int (params, event->occurred_at);
  _wb_sql_params_add (params, event->occurred_at_raw);
  _wb_sql_params_add_bool (params, event->zone_guessed);
  _wb_sql_params_add (params, event->location_text);
  _wb_sql_params_add_double (params, event->has_coordinates, event->lat);
  _wb_sql_params_add_double (params, event->has_coordinates, event->lon);
  _wb_sql_params_add (params, event->description);
  _wb_sql_params_add_bool (params, event->correction);
  _wb_sql_params_add_bool (params, applied);
  add_time_or_null (params, event->carrier_eta);
  return params;
}

/* The database decides what is a duplicate: a concurrent insert of the
 * same (source, event_id) waits for the other transaction and then does
 * nothing. Returns the new row's id, 0 for a duplicate, -1 on error. */
static gint64
insert_event (PGconn               *conn,
              const WbStatusEvent  *event,
              const Shipment       *shipment,
              gboolean              applied,
              GCancellable         *cancellable,
              GError              **error)
{
  g_autoptr(GPtrArray) params = insert_params (event, shipment, applied);
  g_autoptr(PGresult) result = NULL;

  result = _wb_store_exec (conn,
                           "INSERT INTO shipment_events (shipment_id, tracking_id, source, event_id,"
                           "  status, reason, status_raw, occurred_at, occurred_at_raw, zone_guessed,"
                           "  location_text, lat, lon, description, correction, applied, carrier_eta)"
                           " VALUES ($1, $2, $3, $4, $5, $6, $7, " WB_SQL_FROM_US ("$8") ", $9, $10,"
                           "  $11, $12::float8, $13::float8, $14, $15, $16, " WB_SQL_FROM_US ("$17") ")"
                           " ON CONFLICT (source, event_id) DO NOTHING RETURNING id",
                           params, cancellable, error);
  if (result == NULL)
    return -1;
  return PQntuples (result) == 1 ? _wb_store_get_int (result, 0, 0) : 0;
}

static gint64
find_event (PGconn               *conn,
            const WbStatusEvent  *event,
            GCancellable         *cancellable,
            GError              **error)
{
  g_autoptr(GPtrArray) params = _wb_sql_params_new ();
  g_autoptr(PGresult) result = NULL;

  _wb_sql_params_add (params, event->source);
  _wb_sql_params_add (params, event->event_id);
  result = _wb_store_exec (conn, "SELECT id FROM shipment_events WHERE source = $1 AND event_id = $2",
                           params, cancellable, error);
  if (result == NULL)
    return -1;
  return PQntuples (result) == 1 ? _wb_store_get_int (result, 0, 0) : 0;
}

/* Moves the shipment to the event and, for a change of status, queues the
 * shipment.status_changed message in the same statement. */
static const char apply_sql[] =
  "WITH moved AS ("
  "  UPDATE shipments s SET status = e.status, status_reason = e.reason,"
  "    status_at = CASE WHEN $3::boolean THEN e.occurred_at ELSE s.status_at END,"
  "    delivered_at = CASE WHEN e.status <> 'DELIVERED' THEN NULL"
  "                        WHEN $3::boolean THEN e.occurred_at ELSE s.delivered_at END,"
  "    milestone_rank = $4, last_event_id = e.id,"
  "    carrier_eta = coalesce(e.carrier_eta, s.carrier_eta),"
  "    version = s.version + 1, updated_at = now()"
  "  FROM shipment_events e"
  "  WHERE s.id = $1 AND e.id = $2"
  "  RETURNING s.id, s.client_id, s.status, s.version, e.event_id, e.source, e.reason,"
  "    e.status_raw, e.occurred_at, e.zone_guessed, e.location_text, e.lat, e.lon),"
  " queued AS ("
  "  INSERT INTO outbox (topic, key, type, payload)"
  "  SELECT '" WB_TOPIC_TRACKING_EVENTS "', m.id::text, 'shipment.status_changed', json_build_object("
  "    'type', 'shipment.status_changed', 'shipmentId', m.id, 'clientId', m.client_id,"
  "    'eventId', m.event_id, 'source', m.source, 'status', m.status,"
  "    'previousStatus', $6::text, 'reason', m.reason, 'statusRaw', m.status_raw,"
  "    'occurredAt', " WB_SQL_TIME ("m.occurred_at") ", 'zoneGuessed', m.zone_guessed,"
  "    'location', json_build_object('text', m.location_text, 'lat', m.lat, 'lon', m.lon),"
  "    'version', m.version, 'emittedAt', " WB_SQL_TIME ("clock_timestamp()") ")"
  "  FROM moved m WHERE $5::boolean"
  "  RETURNING 1)"
  " SELECT version FROM moved";

static gboolean
apply_event (PGconn          *conn,
             const Shipment  *shipment,
             const Decision  *decision,
             gint64           row_id,
             gint64          *out_version,
             GCancellable    *cancellable,
             GError         **error)
{
  g_autoptr(GPtrArray) params = _wb_sql_params_new ();
  g_autoptr(PGresult) result = NULL;

  _wb_sql_params_add (params, shipment->id);
  _wb_sql_params_add_int (params, row_id);
  _wb_sql_params_add_bool (params, decision->restamp);
  _wb_sql_params_add_int (params, decision->milestone_rank);
  _wb_sql_params_add_bool (params, decision->status_changed);
  _wb_sql_params_add (params, wb_status_to_string (shipment->status));

  if ((result = _wb_store_exec (conn, apply_sql, params, cancellable, error)) == NULL)
    return FALSE;
  g_assert (PQntuples (result) == 1);
  *out_version = _wb_store_get_int (result, 0, 0);
  return TRUE;
}

/* Returns FALSE with a WB_SHIPMENT_ERROR for a failure of this item alone,
 * or with a WB_DB_ERROR for one that fails the whole call. */
static gboolean
add_event (PGconn               *conn,
           const WbStatusEvent  *event,
           WbEventResult        *result,
           gboolean             *wrote_outbox,
           GCancellable         *cancellable,
           GError              **error)
{
  g_auto(Shipment) shipment = { 0 };
  Decision decision;
  gint64 row_id, flagged = 0;

  if (!validate_event (event, error) ||
      !lock_shipment (conn, event, &shipment, cancellable, error))
    return FALSE;

  result->shipment_id = g_strdup (shipment.id);
  result->version = shipment.version;
  decision = decide (&shipment, event);

  if ((row_id = insert_event (conn, event, &shipment, decision.applies, cancellable, error)) < 0)
    return FALSE;
  if (row_id == 0)
    {
      result->outcome = WB_EVENT_DUPLICATE;
      return (result->event_row_id = find_event (conn, event, cancellable, error)) >= 0;
    }
  if (shipment.closed)
    {
      g_set_error (error, WB_SHIPMENT_ERROR, WB_SHIPMENT_ERROR_CLOSED,
                   "shipment %s is closed", shipment.id);
      return FALSE;
    }

  result->outcome = WB_EVENT_CREATED;
  result->event_row_id = row_id;
  if (decision.applies &&
      !apply_event (conn, &shipment, &decision, row_id, &result->version, cancellable, error))
    return FALSE;
  result->status_changed = decision.status_changed;

  /* The event path's own breach check, for shipments the periodic job has
   * not reached yet; the statement skips terminal ones. */
  if (shipment.may_be_overdue &&
      (flagged = _wb_store_flag_overdue (conn, shipment.id, cancellable, error)) < 0)
    return FALSE;

  *wrote_outbox = *wrote_outbox || decision.status_changed || flagged > 0;
  return TRUE;
}

static gboolean
exec_command (PGconn        *conn,
              const char    *sql,
              GCancellable  *cancellable,
              GError       **error)
{
  g_autoptr(PGresult) result = wb_db_exec (conn, sql, NULL, 0, cancellable, error);

  return result != NULL;
}

/* Each item runs under its own savepoint: a failure of one (unknown or
 * closed shipment, a value the database refuses) undoes that item only. */
static gboolean
add_event_isolated (PGconn               *conn,
                    const WbStatusEvent  *event,
                    WbEventResult        *result,
                    gboolean             *wrote_outbox,
                    GCancellable         *cancellable,
                    GError              **error)
{
  g_autoptr(GError) item_error = NULL;
  gboolean item_wrote_outbox = FALSE;

  if (!exec_command (conn, "SAVEPOINT event", cancellable, error))
    return FALSE;

  if (add_event (conn, event, result, &item_wrote_outbox, cancellable, &item_error))
    {
      *wrote_outbox = *wrote_outbox || item_wrote_outbox;
      return exec_command (conn, "RELEASE SAVEPOINT event", cancellable, error);
    }

  if (item_error->domain != WB_SHIPMENT_ERROR)
    {
      g_propagate_error (error, g_steal_pointer (&item_error));
      return FALSE;
    }

  /* The shipment, when it was found, stays named: "closed" is about it. */
  g_clear_error (&result->error);
  *result = (WbEventResult) {
    .outcome = WB_EVENT_FAILED,
    .shipment_id = g_steal_pointer (&result->shipment_id),
    .version = result->version,
    .error = g_steal_pointer (&item_error),
  };
  return exec_command (conn, "ROLLBACK TO SAVEPOINT event", cancellable, error) &&
         exec_command (conn, "RELEASE SAVEPOINT event", cancellable, error);
}

GArray *
_wb_store_add_events (PGconn        *conn,
                      GPtrArray     *events,
                      gboolean      *out_wrote_outbox,
                      GCancellable  *cancellable,
                      GError       **error)
{
  g_autoptr(GArray) results = g_array_sized_new (FALSE, TRUE, sizeof (WbEventResult), events->len);

  g_array_set_clear_func (results, (GDestroyNotify) wb_event_result_clear);
  g_array_set_size (results, events->len);
  *out_wrote_outbox = FALSE;

  for (guint i = 0; i < events->len; i++)
    if (!add_event_isolated (conn, g_ptr_array_index (events, i),
                             &g_array_index (results, WbEventResult, i),
                             out_wrote_outbox, cancellable, error))
      return NULL;

  return g_steal_pointer (&results);
}
