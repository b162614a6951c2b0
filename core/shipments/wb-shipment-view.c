// SPDX-License-Identifier: GPL-3.0-or-later
/* The aggregated view and the SQL plumbing every part of the store shares. */

#include "config.h"

#include "wb-json-writer.h"
#include "wb-shipment-store-private.h"

#include <string.h>

static void
change_clear (gpointer data)
{
  WbShipmentChange *change = data;

  g_free (change->id);
}

GArray *
_wb_store_changes_new (void)
{
  GArray *changes = g_array_new (FALSE, TRUE, sizeof (WbShipmentChange));

  g_array_set_clear_func (changes, change_clear);
  return changes;
}

void
_wb_store_changes_add (GArray     *changes,
                       const char *id,
                       gint64      version)
{
  WbShipmentChange change = { g_strdup (id), version };

  g_array_append_val (changes, change);
}

GPtrArray *
_wb_sql_params_new (void)
{
  return g_ptr_array_new_with_free_func (g_free);
}

void
_wb_sql_params_add (GPtrArray  *params,
                    const char *value)
{
  g_ptr_array_add (params, g_strdup (value));
}

void
_wb_sql_params_take (GPtrArray *params,
                     char      *value)
{
  g_ptr_array_add (params, value);
}

void
_wb_sql_params_add_int (GPtrArray *params,
                        gint64     value)
{
  g_ptr_array_add (params, g_strdup_printf ("%" G_GINT64_FORMAT, value));
}

void
_wb_sql_params_add_bool (GPtrArray *params,
                         gboolean   value)
{
  g_ptr_array_add (params, g_strdup (value ? "t" : "f"));
}

/* Locale-independent, and NaN or infinity reach the CHECK constraints as
 * such instead of turning into a parse error. */
void
_wb_sql_params_add_double (GPtrArray *params,
                           gboolean   present,
                           double     value)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  if (!present)
    {
      g_ptr_array_add (params, NULL);
      return;
    }

  g_ptr_array_add (params, g_strdup (g_ascii_dtostr (buffer, sizeof buffer, value)));
}

/* Constraint and column names → the camelCase field a client sent. */
static const struct
{
  const char *name;
  const char *field;
} field_names[] = {
  { "recipients_phone_check", "recipient.phone" },
  { "addresses_country_check", "country" },
  { "addresses_lat_check", "lat" },
  { "addresses_lon_check", "lon" },
  { "addresses_coordinates_check", "lat" },
  { "shipments_client_id_check", "clientId" },
  { "shipments_status_check", "status" },
  { "trackings_carrier_check", "carrier" },
  { "trackings_track_number_check", "trackNumber" },
  { "trackings_carrier_track_number_key", "trackNumber" },
  { "shipment_events_source_check", "source" },
  { "shipment_events_event_id_check", "eventId" },
  { "shipment_events_status_check", "status" },
  { "shipment_events_lat_check", "lat" },
  { "shipment_events_lon_check", "lon" },
  { "shipment_events_coordinates_check", "lat" },
  { "client_id", "clientId" },
  { "carrier", "carrier" },
  { "track_number", "trackNumber" },
  { "source", "source" },
  { "event_id", "eventId" },
  { "occurred_at", "occurredAt" },
  { "promised_at", "promisedAt" },
};

/* The name in quotes after @marker in a server message, e.g. the
 * constraint in “violates check constraint "addresses_lat_check"”. */
static char *
quoted_name_after (const char *message,
                   const char *marker)
{
  const char *start = strstr (message, marker);
  const char *end;

  if (start == NULL)
    return NULL;
  start += strlen (marker);
  if ((end = strchr (start, '"')) == NULL)
    return NULL;
  return g_strndup (start, end - start);
}

static const char *
field_for (const GError *db_error)
{
  g_autofree char *name = quoted_name_after (db_error->message, "constraint \"");

  if (name == NULL)
    name = quoted_name_after (db_error->message, "column \"");
  if (name == NULL)
    return NULL;

  for (guint i = 0; i < G_N_ELEMENTS (field_names); i++)
    if (g_str_equal (name, field_names[i].name))
      return field_names[i].field;
  return NULL;
}

static void
set_client_fault (GError       **error,
                  const GError  *db_error)
{
  const char *sqlstate = wb_db_error_get_sqlstate (db_error);
  const char *field = field_for (db_error);

  if (g_strcmp0 (sqlstate, "23505") == 0 && field != NULL)
    _wb_store_set_field_error (error, WB_SHIPMENT_ERROR_INVALID, field, "already in use");
  else if (field != NULL)
    _wb_store_set_field_error (error, WB_SHIPMENT_ERROR_INVALID, field, "invalid value");
  else
    g_set_error (error, WB_SHIPMENT_ERROR, WB_SHIPMENT_ERROR_INVALID,
                 "invalid value (SQLSTATE %s)", sqlstate);
}

/* Class 22 (data exception: out of range, bad encoding) and class 23
 * (integrity: CHECK, NOT NULL, UNIQUE) come from what the client sent;
 * anything else is the server's problem. */
static gboolean
is_client_fault (const GError *error)
{
  const char *sqlstate = wb_db_error_get_sqlstate (error);

  return sqlstate != NULL &&
         (g_str_has_prefix (sqlstate, "22") || g_str_has_prefix (sqlstate, "23"));
}

PGresult *
_wb_store_exec (PGconn        *conn,
                const char    *sql,
                GPtrArray     *params,
                GCancellable  *cancellable,
                GError       **error)
{
  g_autoptr(GError) local_error = NULL;
  PGresult *result;

  result = wb_db_exec (conn, sql,
                       params ? (const char * const *) params->pdata : NULL,
                       params ? (int) params->len : 0,
                       cancellable, &local_error);
  if (result != NULL)
    return result;

  if (is_client_fault (local_error))
    set_client_fault (error, local_error);
  else
    g_propagate_error (error, g_steal_pointer (&local_error));
  return NULL;
}

gint64
_wb_store_get_int (const PGresult *result,
                   int             row,
                   int             column)
{
  if (PQgetisnull (result, row, column))
    return 0;
  return g_ascii_strtoll (PQgetvalue (result, row, column), NULL, 10);
}

/* Checked before any statement, so that "abc" is simply not found rather
 * than a uuid syntax error from the server. */
gboolean
_wb_store_id_is_valid (const char *id)
{
  return id != NULL && g_uuid_string_is_valid (id);
}

gboolean
_wb_store_set_not_found (GError     **error,
                         const char  *id)
{
  g_set_error (error, WB_SHIPMENT_ERROR, WB_SHIPMENT_ERROR_NOT_FOUND,
               "no shipment %s", id);
  return FALSE;
}

#define ADDRESS_JSON(a) \
  "json_build_object('country', " a ".country, 'region', " a ".region, 'city', " a ".city," \
  " 'line1', " a ".line1, 'line2', " a ".line2, 'postalCode', " a ".postal_code," \
  " 'lat', " a ".lat, 'lon', " a ".lon)"

/* "at_risk": less than a tenth of the promise window left. Terminal or
 * closed shipments that were never flagged stay on_time: they can no
 * longer breach. */
#define SLA_STATE \
  "CASE" \
  "  WHEN s.status = 'DELIVERED' THEN" \
  "    CASE WHEN s.delivered_at > s.promised_at THEN 'delivered_late' ELSE 'delivered_on_time' END" \
  "  WHEN s.status IN " WB_SQL_TERMINAL " OR s.closed_at IS NOT NULL THEN" \
  "    CASE WHEN s.overdue_at IS NOT NULL THEN 'overdue' ELSE 'on_time' END" \
  "  WHEN now() > s.promised_at THEN 'overdue'" \
  "  WHEN s.promised_at - now() < (s.promised_at - s.created_at) / 10 THEN 'at_risk'" \
  "  ELSE 'on_time' END"

/* While the shipment rides an IN_TRANSIT trip (in an open batch of one
 * of its stops), its vehicle's last fix, and the vehicle ETA: the fix's
 * time plus the distance left (from the fix through the stops not yet
 * reached, up to the shipment's) over the vehicle's average speed while
 * moving in the 15 minutes before the fix (30 km/h when unknown, never
 * under 5). A carrier's ETA still wins (docs/dispatch.md). */
#define RIDE_JOINS \
  " LEFT JOIN LATERAL (SELECT t.id AS trip_id, t.vehicle_id, v.lat, v.lon, v.device_time, x.seq AS target_seq" \
  "   FROM batch_shipments m JOIN trip_stop_batches x ON x.batch_id = m.batch_id" \
  "   JOIN trips t ON t.id = x.trip_id AND t.status = 'IN_TRANSIT'" \
  "   JOIN vehicle_states v ON v.vehicle_id = t.vehicle_id" \
  "   WHERE m.shipment_id = s.id AND m.open LIMIT 1) ride ON true" \
  " LEFT JOIN LATERAL (SELECT sum(waybill_distance_m(l.lat0, l.lon0, l.lat, l.lon)) AS metres" \
  "   FROM (SELECT lag(p.lat) OVER (ORDER BY p.n) AS lat0, lag(p.lon) OVER (ORDER BY p.n) AS lon0, p.lat, p.lon" \
  "     FROM (SELECT -1 AS n, ride.lat, ride.lon UNION ALL" \
  "       SELECT st.seq, st.lat, st.lon FROM trip_stops st" \
  "       WHERE st.trip_id = ride.trip_id AND st.arrived_at IS NULL AND st.seq <= ride.target_seq) p) l) remaining" \
  "   ON ride.trip_id IS NOT NULL" \
  " LEFT JOIN LATERAL (SELECT avg(h.speed_kmh) FILTER (WHERE h.speed_kmh > 1) AS kmh FROM positions h" \
  "   WHERE h.vehicle_id = ride.vehicle_id AND h.device_time > ride.device_time - interval '15 minutes'" \
  "     AND h.device_time <= ride.device_time) pace ON ride.trip_id IS NOT NULL" \
  " CROSS JOIN LATERAL (SELECT ride.trip_id IS NOT NULL AND s.eta_source = 'promise' AS by_vehicle," \
  "   ride.device_time + coalesce(remaining.metres, 0) / (greatest(coalesce(pace.kmh, 30), 5) / 3.6)" \
  "     * interval '1 second' AS vehicle_eta) live"

static const char view_sql[] =
  "SELECT s.id, s.version, CASE WHEN ride.trip_id IS NULL THEN base.j ELSE left(base.j, -1)"
  "   || ', \"liveLocation\" : ' || json_build_object('lat', ride.lat, 'lon', ride.lon,"
  "     'at', " WB_SQL_TIME ("ride.device_time") ", 'vehicleId', ride.vehicle_id, 'tripId', ride.trip_id)::text || '}' END,"
  " CASE WHEN ride.trip_id IS NULL THEN " WB_SQL_VIEW_EXPIRES ("s")
  "   ELSE " WB_SQL_TO_US ("now() + interval '2 seconds'") " END, d.country"
  " FROM unnest($1::uuid[]) WITH ORDINALITY AS k (id, n)"
  " JOIN shipments s ON s.id = k.id"
  " JOIN recipients r ON r.id = s.recipient_id"
  " JOIN addresses d ON d.id = s.destination_id"
  " LEFT JOIN addresses o ON o.id = s.origin_id"
  " CROSS JOIN LATERAL (SELECT " SLA_STATE " AS state) sla"
  RIDE_JOINS
  " CROSS JOIN LATERAL (SELECT json_build_object("
  "  'id', s.id, 'clientId', s.client_id, 'reference', s.reference,"
  "  'serviceLevel', s.service_level, 'version', s.version,"
  "  'recipient', json_build_object('name', r.name, 'phone', r.phone, 'email', r.email),"
  "  'origin', CASE WHEN o.id IS NULL THEN NULL ELSE " ADDRESS_JSON ("o") " END,"
  "  'destination', " ADDRESS_JSON ("d") ", 'pickupPointId', s.pickup_point_id,"
  "  'status', s.status, 'statusReason', s.status_reason,"
  "  'statusAt', " WB_SQL_TIME ("s.status_at") ","
  "  'lastEvent', (SELECT " WB_SQL_EVENT_JSON ("e") " FROM shipment_events e WHERE e.id = s.last_event_id),"
  "  'trackings', coalesce((SELECT json_agg(json_build_object("
  "       'id', t.id, 'carrier', t.carrier, 'trackNumber', t.track_number,"
  "       'status', t.status, 'lastCheckedAt', " WB_SQL_TIME ("t.last_checked_at") ","
  "       'createdAt', " WB_SQL_TIME ("t.created_at") ") ORDER BY t.created_at, t.id)"
  "     FROM trackings t WHERE t.shipment_id = s.id), '[]'::json),"
  "  'promisedAt', " WB_SQL_TIME ("s.promised_at") ","
  "  'eta', " WB_SQL_TIME ("CASE WHEN live.by_vehicle THEN live.vehicle_eta ELSE s.eta END") ","
  "  'etaSource', CASE WHEN live.by_vehicle THEN 'vehicle' ELSE s.eta_source END,"
  "  'sla', json_build_object('state', sla.state,"
  "     'overdueSince', CASE WHEN sla.state = 'overdue' THEN " WB_SQL_TIME ("s.promised_at") " END,"
  "     'lateBySeconds', s.late_by_seconds),"
  "  'createdAt', " WB_SQL_TIME ("s.created_at") ","
  "  'updatedAt', " WB_SQL_TIME ("s.updated_at") ","
  "  'closedAt', " WB_SQL_TIME ("s.closed_at") ")::text AS j) base"
  " ORDER BY k.n";

static void
view_free (gpointer data)
{
  wb_shipment_view_free (data);
}

/* A uuid[] literal; the ids were checked with _wb_store_id_is_valid(), and
 * it travels as a parameter all the same. */
static char *
uuid_array_literal (const char * const *ids,
                    guint               n_ids)
{
  GString *literal = g_string_new ("{");

  for (guint i = 0; i < n_ids; i++)
    g_string_append_printf (literal, "%s%s", i > 0 ? "," : "", ids[i]);
  g_string_append_c (literal, '}');
  return g_string_free (literal, FALSE);
}

GPtrArray *
_wb_store_fetch_views (PGconn             *conn,
                       const char * const *ids,
                       guint               n_ids,
                       GCancellable       *cancellable,
                       GError            **error)
{
  g_autoptr(GPtrArray) params = _wb_sql_params_new ();
  g_autoptr(GPtrArray) views = g_ptr_array_new_with_free_func (view_free);
  g_autoptr(PGresult) result = NULL;

  _wb_sql_params_take (params, uuid_array_literal (ids, n_ids));
  if ((result = _wb_store_exec (conn, view_sql, params, cancellable, error)) == NULL)
    return NULL;

  for (int row = 0; row < PQntuples (result); row++)
    {
      WbShipmentView *view = g_new0 (WbShipmentView, 1);

      view->id = g_strdup (PQgetvalue (result, row, 0));
      view->version = _wb_store_get_int (result, row, 1);
      view->json = wb_json_compact (PQgetvalue (result, row, 2));
      view->expires_at = _wb_store_get_int (result, row, 3);
      view->destination_country = PQgetisnull (result, row, 4) ? NULL : g_strdup (PQgetvalue (result, row, 4));
      g_ptr_array_add (views, view);
    }

  return g_steal_pointer (&views);
}

/* The UPDATE's own WHERE is what makes a breach queue one message: a
 * concurrent run (another daemon, or the event path) waits for the row
 * lock, re-checks overdue_at IS NULL and skips it. The queued CTE runs
 * whether or not the outer SELECT reads it. */
#define FLAG_OVERDUE_SQL(where) \
  "WITH flagged AS (" \
  "  UPDATE shipments SET overdue_at = now()" \
  "   WHERE overdue_at IS NULL AND closed_at IS NULL AND " where \
  "  RETURNING id, client_id, promised_at, overdue_at, status, version, late_by_seconds)," \
  " queued AS (" \
  "  INSERT INTO outbox (topic, key, type, payload)" \
  "  SELECT '" WB_TOPIC_TRACKING_EVENTS "', f.id::text, 'shipment.delayed', json_build_object(" \
  "    'type', 'shipment.delayed', 'shipmentId', f.id, 'clientId', f.client_id," \
  "    'promisedAt', " WB_SQL_TIME ("f.promised_at") "," \
  "    'detectedAt', " WB_SQL_TIME ("f.overdue_at") "," \
  "    'status', f.status, 'lateBySeconds', f.late_by_seconds, 'version', f.version," \
  "    'emittedAt', " WB_SQL_TIME ("clock_timestamp()") ")" \
  "  FROM flagged f ORDER BY f.promised_at, f.id" \
  "  RETURNING 1)" \
  " SELECT id, version FROM flagged"

/* Written as the partial index's predicate, so the job's scan uses it. */
#define OPEN_PAST_PROMISE "status NOT IN " WB_SQL_TERMINAL " AND promised_at < now()"

gint64
_wb_store_flag_overdue (PGconn        *conn,
                        const char    *id,
                        GArray        *changes,
                        GCancellable  *cancellable,
                        GError       **error)
{
  g_autoptr(GPtrArray) params = _wb_sql_params_new ();
  g_autoptr(PGresult) result = NULL;
  const char *sql = FLAG_OVERDUE_SQL (OPEN_PAST_PROMISE);

  if (id != NULL)
    {
      sql = FLAG_OVERDUE_SQL ("id = $1 AND ((" OPEN_PAST_PROMISE ")"
                              " OR (status = 'DELIVERED' AND delivered_at > promised_at))");
      _wb_sql_params_add (params, id);
    }

  if ((result = _wb_store_exec (conn, sql, params, cancellable, error)) == NULL)
    return -1;
  for (int row = 0; row < PQntuples (result); row++)
    _wb_store_changes_add (changes, PQgetvalue (result, row, 0), _wb_store_get_int (result, row, 1));
  return PQntuples (result);
}
