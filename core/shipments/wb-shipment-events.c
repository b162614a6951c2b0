// SPDX-License-Identifier: GPL-3.0-or-later
/* The event path: store every event once, move the shipment by the
 * milestone rule (docs/shipments.md), queue one message per status change
 * and one per breach — all in the caller's transaction.
 *
 * A call is set-based: whatever the number of events, it runs the same
 * few statements — resolve trackings (only when an event names one), lock
 * the shipments, look up the events already stored, insert the new ones,
 * update the shipments, queue the messages; two more only when a
 * concurrent call stored one of its events first. The milestone rule runs
 * here in C, in input order, on the locked state, so several events for
 * one shipment end exactly as if they had come one call each. Rows travel
 * as one JSON parameter per statement (json_to_recordset), so every value
 * stays a parameter. */

#include "config.h"

#include <json-glib/json-glib.h>

#include "wb-json-writer.h"
#include "wb-shipment-store-private.h"

/* The instants a µs count may name: PostgreSQL's first timestamp
 * (4714-11-24 BC), and the largest count that WB_SQL_FROM_US, which
 * multiplies in double precision, still turns into an interval. Checked
 * here so that one bad item cannot fail a whole batch statement. */
#define MIN_TIME_US G_GINT64_CONSTANT (-210866803200000000)
#define MAX_TIME_US G_GINT64_CONSTANT (9223372036854774784)

#define NO_OWNER G_MAXUINT

/* A shipment as the milestone rule sees it, and what the call changed. */
typedef struct
{
  WbStatus    status;
  const char *reason;         /* borrowed: the locked row's or an event's */
  gint64      status_at_us;
  int         milestone_rank;
  gint64      version;
  gint64      promised_at_us;
  gboolean    past_promise;   /* promised_at < now() */
  gboolean    breached;       /* flagged overdue: its breach has had its shipment.delayed */
  gboolean    from_event;     /* the current status came from an event, not from creation */

  gboolean    moved;          /* an event applied: status, reason, rank, version are new */
  gboolean    restamped;      /* status_at = status_at_us */
  gboolean    delivered_set;  /* delivered_at = has_delivered_at ? delivered_at_us : NULL */
  gboolean    has_delivered_at;
  gint64      delivered_at_us;
  gint64      carrier_eta;    /* the last applied event's ETA; 0 = unchanged */
  gint64      last_event_id;  /* 0 = unchanged */
  gboolean    flagged;        /* newly overdue: overdue_at = now() */
} ShipmentState;

/* A shipment the call names, locked for the rest of the transaction so
 * that concurrent calls apply their events one after the other. */
typedef struct
{
  char          *id;
  char          *reason;      /* as locked */
  gboolean       closed;
  ShipmentState  locked;
  ShipmentState  state;       /* after the events planned so far */
} Shipment;

/* What the milestone rule makes of one event. */
typedef struct
{
  gboolean applies;           /* it becomes the shipment's current state */
  gboolean status_changed;    /* … and changes its status or reason */
  gboolean restamp;           /* status_at (and delivered_at) take its time */
  int      milestone_rank;
} Decision;

/* One (source, event_id) of the call. Its owner is the first item that
 * names an open shipment: the only one that may store it; later items
 * with the same pair are duplicates of whatever the owner got. */
typedef struct
{
  const char *source;         /* borrowed from an event */
  const char *event_id;
  guint       owner;          /* index of that item, or NO_OWNER */
  gboolean    inserted;       /* this call stores it (before the INSERT: is to) */
  gint64      row_id;         /* the stored row, this call's or an earlier one; 0 = none */
  char       *stored_for;     /* the shipment of an earlier call's row */
} EventKey;

typedef struct
{
  const WbStatusEvent *event;
  char                *shipment_id;   /* resolved, as the database spells it */
  char                *tracking_id;   /* the tracking the event came through, or NULL */
  Shipment            *shipment;      /* locked; borrowed from the batch */
  EventKey            *key;           /* borrowed from the batch */
  GError              *error;         /* a failure of this item alone */
  gboolean             applies;       /* by the last plan */
  gboolean             stored_applied; /* as the INSERT wrote it */
} Item;

typedef struct
{
  PGconn        *conn;
  GCancellable  *cancellable;
  Item          *items;
  guint          n_items;
  GArray        *results;             /* WbEventResult, one per item */
  GHashTable    *shipments;           /* id → Shipment* */
  GHashTable    *keys;                /* key_for () → EventKey* */
  JsonBuilder   *messages;            /* the outbox rows of the last plan, in queue order */
  guint          n_messages;
} Batch;

static void
shipment_free (gpointer data)
{
  Shipment *shipment = data;

  g_free (shipment->id);
  g_free (shipment->reason);
  g_free (shipment);
}

static void
event_key_free (gpointer data)
{
  EventKey *key = data;

  g_free (key->stored_for);
  g_free (key);
}

static void
batch_clear (Batch *batch)
{
  for (guint i = 0; i < batch->n_items; i++)
    {
      g_free (batch->items[i].shipment_id);
      g_free (batch->items[i].tracking_id);
      g_clear_error (&batch->items[i].error);
    }
  g_free (batch->items);
  g_clear_pointer (&batch->results, g_array_unref);
  g_clear_pointer (&batch->shipments, g_hash_table_unref);
  g_clear_pointer (&batch->keys, g_hash_table_unref);
  g_clear_object (&batch->messages);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Batch, batch_clear)

/* ---- parameters ------------------------------------------------------------ */

static void
member_string (JsonBuilder *builder,
               const char  *name,
               const char  *value)
{
  json_builder_set_member_name (builder, name);
  if (value != NULL)
    json_builder_add_string_value (builder, value);
  else
    json_builder_add_null_value (builder);
}

static void
member_int (JsonBuilder *builder,
            const char  *name,
            gboolean     present,
            gint64       value)
{
  json_builder_set_member_name (builder, name);
  if (present)
    json_builder_add_int_value (builder, value);
  else
    json_builder_add_null_value (builder);
}

static void
member_bool (JsonBuilder *builder,
             const char  *name,
             gboolean     value)
{
  json_builder_set_member_name (builder, name);
  json_builder_add_boolean_value (builder, value);
}

/* As text the SQL casts to float8, exactly as a text parameter would
 * travel: the same digits reach the same CHECK constraints. */
static void
member_double (JsonBuilder *builder,
               const char  *name,
               gboolean     present,
               double       value)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  member_string (builder, name, present ? g_ascii_dtostr (buffer, sizeof buffer, value) : NULL);
}

static JsonBuilder *
rows_new (void)
{
  JsonBuilder *builder = json_builder_new ();

  json_builder_begin_array (builder);
  return builder;
}

/* Ends the array of rows and adds it to @params as JSON text. */
static void
rows_add (GPtrArray   *params,
          JsonBuilder *builder)
{
  g_autoptr(JsonNode) root = NULL;

  json_builder_end_array (builder);
  root = json_builder_get_root (builder);
  _wb_sql_params_take (params, wb_json_to_string (root));
}

/* uuid[] or bigint[] literal; the elements are checked uuids or numbers,
 * which need no quoting, and it travels as a parameter all the same. */
static void
array_take (GPtrArray *params,
            GString   *literal)
{
  g_string_append_c (literal, '}');
  _wb_sql_params_take (params, g_string_free (literal, FALSE));
}

/* Unambiguous whatever the strings hold. */
static char *
key_for (const char *source,
         const char *event_id)
{
  return g_strdup_printf ("%zu:%s%s", strlen (source), source, event_id);
}

/* ---- checks that need no database ------------------------------------------ */

static gboolean
fail_item (GError      **error,
           const char   *field,
           const char   *problem)
{
  return _wb_store_set_field_error (error, WB_SHIPMENT_ERROR_INVALID, field, "%s", problem);
}

static gboolean
validate_event (const WbStatusEvent  *event,
                GError              **error)
{
  if (event->source == NULL || event->source[0] == '\0')
    return fail_item (error, "source", "required");
  if (event->event_id == NULL || event->event_id[0] == '\0')
    return fail_item (error, "eventId", "required");
  if (wb_status_to_string (event->status) == NULL)
    return fail_item (error, "status", "not a canonical status");
  return TRUE;
}

static gboolean
check_text (const char  *value,
            const char  *field,
            GError     **error)
{
  if (value == NULL || g_utf8_validate (value, -1, NULL))
    return TRUE;
  return fail_item (error, field, "not valid UTF-8");
}

static gboolean
check_reference (const WbStatusEvent  *event,
                 GError              **error)
{
  if (event->shipment_id == NULL && (event->carrier == NULL || event->track_number == NULL))
    return fail_item (error, "shipmentId", "required, or carrier and trackNumber");
  if (event->shipment_id != NULL && !_wb_store_id_is_valid (event->shipment_id))
    return _wb_store_set_not_found (error, event->shipment_id);
  return check_text (event->carrier, "carrier", error) &&
         check_text (event->track_number, "trackNumber", error);
}

static gboolean
check_time (gint64       us,
            const char  *field,
            GError     **error)
{
  if (us >= MIN_TIME_US && us <= MAX_TIME_US)
    return TRUE;
  return fail_item (error, field, "out of range");
}

/**
 * wb_status_event_time_is_plausible:
 * @now_us: the receiving server's clock, unix µs
 *
 * Returns: whether an event may have occurred at @occurred_at_us: from
 *   %WB_EVENT_EARLIEST_US to %WB_EVENT_MAX_AHEAD_US after @now_us
 */
gboolean
wb_status_event_time_is_plausible (gint64 occurred_at_us,
                                   gint64 now_us)
{
  return occurred_at_us >= WB_EVENT_EARLIEST_US && occurred_at_us <= now_us + WB_EVENT_MAX_AHEAD_US;
}

/* "0001-01-01T00:00:00Z" parses, and would sort before every real event
 * for good: the edge refuses it, and so does the store for every caller. */
static gboolean
check_occurred_at (gint64       us,
                   GError     **error)
{
  if (wb_status_event_time_is_plausible (us, g_get_real_time ()))
    return TRUE;
  return fail_item (error, "occurredAt", "implausible; events are accepted from 1990-01-01T00:00:00Z"
                                         " to one day after the server's clock");
}

/* What the database would refuse in the event's own row: checked here,
 * so that one bad item cannot fail the INSERT of everybody's. The order
 * is the database's (parameters, then times, then the CHECK constraints
 * by name), so the same failure wins when several apply. */
static gboolean
validate_values (const WbStatusEvent  *event,
                 GError              **error)
{
  if (!check_text (event->source, "source", error) ||
      !check_text (event->event_id, "eventId", error) ||
      !check_text (event->reason, "reason", error) ||
      !check_text (event->status_raw, "statusRaw", error) ||
      !check_text (event->occurred_at_raw, "occurredAtRaw", error) ||
      !check_text (event->location_text, "location.text", error) ||
      !check_text (event->description, "description", error) ||
      !check_occurred_at (event->occurred_at, error) ||
      (event->carrier_eta != 0 && !check_time (event->carrier_eta, "estimatedDeliveryAt", error)))
    return FALSE;

  /* Written so that NaN fails, as it does BETWEEN in the CHECK. */
  if (event->has_coordinates && !(event->lat >= -90 && event->lat <= 90))
    return fail_item (error, "lat", "invalid value");
  if (event->has_coordinates && !(event->lon >= -180 && event->lon <= 180))
    return fail_item (error, "lon", "invalid value");
  return TRUE;
}

static void
check_items (Batch     *batch,
             GPtrArray *events)
{
  for (guint i = 0; i < batch->n_items; i++)
    {
      Item *item = &batch->items[i];

      item->event = g_ptr_array_index (events, i);
      if (validate_event (item->event, &item->error) &&
          check_reference (item->event, &item->error) &&
          item->event->shipment_id != NULL)
        item->shipment_id = g_ascii_strdown (item->event->shipment_id, -1);
    }
}

/* ---- resolving and locking -------------------------------------------------- */

static gboolean
names_tracking (const Item *item)
{
  return item->error == NULL && item->event->carrier != NULL && item->event->track_number != NULL;
}

static const char resolve_sql[] =
  "SELECT r.i, t.id, t.shipment_id"
  " FROM json_to_recordset($1::json) AS r(i integer, carrier text, track_number text)"
  " JOIN trackings t ON t.carrier = r.carrier AND t.track_number = r.track_number";

/* An event names its shipment by id, or by carrier and track number; the
 * tracking is recorded either way when it belongs to that shipment. */
static gboolean
resolve_trackings (Batch   *batch,
                   GError **error)
{
  g_autoptr(GPtrArray) params = _wb_sql_params_new ();
  g_autoptr(JsonBuilder) rows = rows_new ();
  g_autoptr(PGresult) result = NULL;
  guint n_rows = 0;

  for (guint i = 0; i < batch->n_items; i++)
    {
      if (!names_tracking (&batch->items[i]))
        continue;
      json_builder_begin_object (rows);
      member_int (rows, "i", TRUE, i);
      member_string (rows, "carrier", batch->items[i].event->carrier);
      member_string (rows, "track_number", batch->items[i].event->track_number);
      json_builder_end_object (rows);
      n_rows++;
    }
  if (n_rows == 0)
    return TRUE;

  rows_add (params, rows);
  if ((result = _wb_store_exec (batch->conn, resolve_sql, params, batch->cancellable, error)) == NULL)
    return FALSE;

  for (int row = 0; row < PQntuples (result); row++)
    {
      Item *item = &batch->items[_wb_store_get_int (result, row, 0)];
      const char *shipment_id = PQgetvalue (result, row, 2);

      if (item->shipment_id == NULL)
        item->shipment_id = g_strdup (shipment_id);
      if (g_str_equal (item->shipment_id, shipment_id))
        item->tracking_id = g_strdup (PQgetvalue (result, row, 1));
    }
  return TRUE;
}

static const char lock_sql[] =
  "SELECT s.id, s.status, s.status_reason, " WB_SQL_TO_US ("s.status_at") ", s.milestone_rank,"
  "  s.closed_at IS NOT NULL, s.version, s.last_event_id IS NOT NULL,"
  "  " WB_SQL_TO_US ("s.promised_at") ", s.promised_at < now(), s.overdue_at IS NOT NULL"
  " FROM shipments s WHERE s.id = ANY ($1::uuid[])"
  " ORDER BY s.id FOR UPDATE";

static Shipment *
shipment_new (const PGresult *result,
              int             row)
{
  Shipment *shipment = g_new0 (Shipment, 1);
  ShipmentState *locked = &shipment->locked;

  shipment->id = g_strdup (PQgetvalue (result, row, 0));
  shipment->reason = PQgetisnull (result, row, 2) ? NULL : g_strdup (PQgetvalue (result, row, 2));
  shipment->closed = g_str_equal (PQgetvalue (result, row, 5), "t");
  locked->status = wb_status_from_string (PQgetvalue (result, row, 1));
  locked->reason = shipment->reason;
  locked->status_at_us = _wb_store_get_int (result, row, 3);
  locked->milestone_rank = (int) _wb_store_get_int (result, row, 4);
  locked->version = _wb_store_get_int (result, row, 6);
  locked->from_event = g_str_equal (PQgetvalue (result, row, 7), "t");
  locked->promised_at_us = _wb_store_get_int (result, row, 8);
  locked->past_promise = g_str_equal (PQgetvalue (result, row, 9), "t");
  locked->breached = g_str_equal (PQgetvalue (result, row, 10), "t");
  shipment->state = *locked;
  return shipment;
}

/* One statement locks every shipment of the call, in id order: two
 * calls naming the same shipments in any order queue up instead of
 * deadlocking. */
static gboolean
lock_shipments (Batch   *batch,
                GError **error)
{
  g_autoptr(GPtrArray) params = _wb_sql_params_new ();
  g_autoptr(GHashTable) named = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(PGresult) result = NULL;
  GString *literal = g_string_new ("{");

  for (guint i = 0; i < batch->n_items; i++)
    {
      const char *id = batch->items[i].shipment_id;

      if (batch->items[i].error != NULL || id == NULL || !g_hash_table_add (named, (gpointer) id))
        continue;
      g_string_append_printf (literal, "%s%s", literal->len > 1 ? "," : "", id);
    }
  array_take (params, literal);
  if (g_hash_table_size (named) == 0)
    return TRUE;

  if ((result = _wb_store_exec (batch->conn, lock_sql, params, batch->cancellable, error)) == NULL)
    return FALSE;
  for (int row = 0; row < PQntuples (result); row++)
    {
      Shipment *shipment = shipment_new (result, row);

      g_hash_table_insert (batch->shipments, shipment->id, shipment);
    }
  return TRUE;
}

/* Attaches each item to its locked shipment, or fails it, then checks
 * its values, as its INSERT used to. */
static void
attach_items (Batch *batch)
{
  for (guint i = 0; i < batch->n_items; i++)
    {
      Item *item = &batch->items[i];
      const WbStatusEvent *event = item->event;

      if (item->error != NULL)
        continue;
      if (item->shipment_id != NULL)
        item->shipment = g_hash_table_lookup (batch->shipments, item->shipment_id);

      if (item->shipment == NULL && event->shipment_id != NULL)
        _wb_store_set_not_found (&item->error, event->shipment_id);
      else if (item->shipment == NULL)
        g_set_error (&item->error, WB_SHIPMENT_ERROR, WB_SHIPMENT_ERROR_NOT_FOUND,
                     "no shipment tracked as %s %s", event->carrier, event->track_number);
      else
        validate_values (event, &item->error);
    }
}

/* ---- storing ---------------------------------------------------------------- */

/* Gives every remaining item its key; the first one naming an open
 * shipment owns it. A closed shipment takes no event, so its items own
 * nothing: they are duplicates or failures. */
static void
assign_keys (Batch *batch)
{
  for (guint i = 0; i < batch->n_items; i++)
    {
      Item *item = &batch->items[i];
      g_autofree char *name = NULL;
      EventKey *key;

      if (item->error != NULL)
        continue;
      name = key_for (item->event->source, item->event->event_id);
      if ((key = g_hash_table_lookup (batch->keys, name)) == NULL)
        {
          key = g_new0 (EventKey, 1);
          key->source = item->event->source;
          key->event_id = item->event->event_id;
          key->owner = NO_OWNER;
          g_hash_table_insert (batch->keys, g_steal_pointer (&name), key);
        }
      if (key->owner == NO_OWNER && !item->shipment->closed)
        key->owner = i;
      item->key = key;
    }
}

static EventKey *
key_of_row (Batch          *batch,
            const PGresult *result,
            int             row)
{
  g_autofree char *name = key_for (PQgetvalue (result, row, 0), PQgetvalue (result, row, 1));

  return g_hash_table_lookup (batch->keys, name);
}

static const char find_sql[] =
  "SELECT e.source, e.event_id, e.id, e.shipment_id"
  " FROM json_to_recordset($1::json) AS k(source text, event_id text)"
  " JOIN shipment_events e ON e.source = k.source AND e.event_id = k.event_id";

/* The rows already stored for the keys that have none yet: all of them
 * before the INSERT, those it skipped after. Duplicates answer with the
 * row they repeat. */
static gboolean
find_stored (Batch   *batch,
             GError **error)
{
  g_autoptr(GPtrArray) params = _wb_sql_params_new ();
  g_autoptr(JsonBuilder) rows = rows_new ();
  g_autoptr(PGresult) result = NULL;
  GHashTableIter iter;
  EventKey *key;
  guint n_rows = 0;

  g_hash_table_iter_init (&iter, batch->keys);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &key))
    {
      if (key->inserted || key->row_id != 0)
        continue;
      json_builder_begin_object (rows);
      member_string (rows, "source", key->source);
      member_string (rows, "event_id", key->event_id);
      json_builder_end_object (rows);
      n_rows++;
    }
  if (n_rows == 0)
    return TRUE;

  rows_add (params, rows);
  if ((result = _wb_store_exec (batch->conn, find_sql, params, batch->cancellable, error)) == NULL)
    return FALSE;
  for (int row = 0; row < PQntuples (result); row++)
    if ((key = key_of_row (batch, result, row)) != NULL)
      {
        key->row_id = _wb_store_get_int (result, row, 2);
        g_free (key->stored_for);
        key->stored_for = g_strdup (PQgetvalue (result, row, 3));
      }
  return TRUE;
}

/* What the INSERT is to store: the owned keys not stored yet. */
static void
expect_inserts (Batch *batch)
{
  GHashTableIter iter;
  EventKey *key;

  g_hash_table_iter_init (&iter, batch->keys);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &key))
    key->inserted = key->owner != NO_OWNER && key->row_id == 0;
}

static gboolean
is_inserted (const Item *item,
             guint       index)
{
  return item->key->owner == index && item->key->inserted;
}

static void
add_insert_row (JsonBuilder *rows,
                const Item  *item,
                guint        index)
{
  const WbStatusEvent *event = item->event;

  json_builder_begin_object (rows);
  member_int (rows, "n", TRUE, index);
  member_string (rows, "shipment_id", item->shipment->id);
  member_string (rows, "tracking_id", item->tracking_id);
  member_string (rows, "source", event->source);
  member_string (rows, "event_id", event->event_id);
  member_string (rows, "status", wb_status_to_string (event->status));
  member_string (rows, "reason", event->reason);
  member_string (rows, "status_raw", event->status_raw);
  member_int (rows, "occurred_at", TRUE, event->occurred_at);
  member_string (rows, "occurred_at_raw", event->occurred_at_raw);
  member_bool (rows, "zone_guessed", event->zone_guessed);
  member_string (rows, "location_text", event->location_text);
  member_double (rows, "lat", event->has_coordinates, event->lat);
  member_double (rows, "lon", event->has_coordinates, event->lon);
  member_string (rows, "description", event->description);
  member_bool (rows, "correction", event->correction);
  member_bool (rows, "applied", item->applies);
  member_int (rows, "carrier_eta", event->carrier_eta != 0, event->carrier_eta);
  json_builder_end_object (rows);
}

/* The database decides what is a duplicate: a concurrent insert of the
 * same (source, event_id) waits for the other transaction and then does
 * nothing. Rows go in input order, so ids (which break ties of time in
 * the history) follow it. */
static const char insert_sql[] =
  "INSERT INTO shipment_events (shipment_id, tracking_id, source, event_id,"
  "  status, reason, status_raw, occurred_at, occurred_at_raw, zone_guessed,"
  "  location_text, lat, lon, description, correction, applied, carrier_eta)"
  " SELECT r.shipment_id, r.tracking_id, r.source, r.event_id, r.status, r.reason, r.status_raw,"
  "  " WB_SQL_FROM_US ("r.occurred_at") ", r.occurred_at_raw, r.zone_guessed,"
  "  r.location_text, r.lat::float8, r.lon::float8, r.description, r.correction, r.applied,"
  "  " WB_SQL_FROM_US ("r.carrier_eta")
  " FROM json_to_recordset($1::json) AS r(n integer, shipment_id uuid, tracking_id bigint,"
  "  source text, event_id text, status text, reason text, status_raw text, occurred_at bigint,"
  "  occurred_at_raw text, zone_guessed boolean, location_text text, lat text, lon text,"
  "  description text, correction boolean, applied boolean, carrier_eta bigint)"
  " ORDER BY r.n"
  " ON CONFLICT (source, event_id) DO NOTHING RETURNING source, event_id, id";

/* Returns how many keys a concurrent call stored first (their rows are
 * found next), or -1 on error. */
static gint64
insert_events (Batch   *batch,
               GError **error)
{
  g_autoptr(GPtrArray) params = _wb_sql_params_new ();
  g_autoptr(JsonBuilder) rows = rows_new ();
  g_autoptr(PGresult) result = NULL;
  guint n_rows = 0;

  for (guint i = 0; i < batch->n_items; i++)
    {
      Item *item = &batch->items[i];

      if (item->key == NULL || !is_inserted (item, i))
        continue;
      item->stored_applied = item->applies;
      item->key->inserted = FALSE;
      add_insert_row (rows, item, i);
      n_rows++;
    }
  if (n_rows == 0)
    return 0;

  rows_add (params, rows);
  if ((result = _wb_store_exec (batch->conn, insert_sql, params, batch->cancellable, error)) == NULL)
    return -1;
  for (int row = 0; row < PQntuples (result); row++)
    {
      EventKey *key = key_of_row (batch, result, row);

      g_assert (key != NULL);
      key->inserted = TRUE;
      key->row_id = _wb_store_get_int (result, row, 2);
    }
  return n_rows - PQntuples (result);
}

/* ---- the milestone rule, in input order --------------------------------------- */

/* The milestone rule. A correction always applies and resets the rank to
 * its own (EXCEPTION ranks 0, so the next ordinary event applies);
 * otherwise a terminal status holds, an event older than the event that set
 * the current status is history only (the PENDING a shipment is created with
 * is no such barrier: carriers often scan a parcel before the record exists),
 * and a
 * lower milestone does not move the shipment back; EXCEPTION shows on top
 * of whatever milestone was reached, keeping the rank. */
static Decision
decide (const ShipmentState *shipment,
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

/* The shipment takes the event as its current state. */
static void
move_shipment (ShipmentState       *shipment,
               const WbStatusEvent *event,
               const Decision      *decision,
               gint64               row_id)
{
  shipment->status = event->status;
  shipment->reason = event->reason;
  if (decision->restamp)
    {
      shipment->status_at_us = event->occurred_at;
      shipment->restamped = TRUE;
    }
  if (event->status != WB_STATUS_DELIVERED || decision->restamp)
    {
      shipment->delivered_set = TRUE;
      shipment->has_delivered_at = event->status == WB_STATUS_DELIVERED;
      shipment->delivered_at_us = event->occurred_at;
    }
  shipment->milestone_rank = decision->milestone_rank;
  shipment->last_event_id = row_id;
  if (event->carrier_eta != 0)
    shipment->carrier_eta = event->carrier_eta;
  shipment->version++;
  shipment->from_event = TRUE;
  shipment->moved = TRUE;
}

/* An outbox row: the statement builds the payload from the stored event
 * and shipment, plus what only the plan knows. */
static void
queue_message (Batch          *batch,
               const char     *type,
               const Shipment *shipment,
               gint64          row_id,
               WbStatus        previous_status)
{
  JsonBuilder *rows = batch->messages;

  json_builder_begin_object (rows);
  member_int (rows, "n", TRUE, batch->n_messages);
  member_string (rows, "type", type);
  member_string (rows, "shipment_id", shipment->id);
  member_int (rows, "event_row_id", row_id != 0, row_id);
  member_string (rows, "previous_status", wb_status_to_string (previous_status));
  member_string (rows, "status", wb_status_to_string (shipment->state.status));
  member_int (rows, "version", TRUE, shipment->state.version);
  json_builder_end_object (rows);
  batch->n_messages++;
}

/* The event path's own breach check, for shipments the periodic job has
 * not reached yet: not delivered by the promise … */
static gboolean
is_open_past_promise (const ShipmentState *state)
{
  return state->past_promise && !wb_status_is_terminal (state->status);
}

/* … or delivered after it. The job never sees a delivered shipment, so a
 * delivery that is the first word after the promise (the job had not run)
 * is the breach's only chance to be told. */
static gboolean
delivers_late (const ShipmentState *state,
               const WbStatusEvent *event,
               const Decision      *decision)
{
  return decision->applies && event->status == WB_STATUS_DELIVERED &&
         event->occurred_at > state->promised_at_us;
}

static void
apply_event (Batch         *batch,
             Item          *item,
             WbEventResult *result)
{
  Shipment *shipment = item->shipment;
  ShipmentState *state = &shipment->state;
  WbStatus previous = state->status;
  Decision decision = decide (state, item->event);
  gint64 row_id = item->key->row_id;

  result->outcome = WB_EVENT_CREATED;
  result->event_row_id = row_id;
  result->status_changed = decision.status_changed;
  result->applied = decision.applies;
  item->applies = decision.applies;
  if (decision.applies)
    {
      move_shipment (state, item->event, &decision, row_id);
      result->version = state->version;
    }
  if (decision.status_changed)
    queue_message (batch, "shipment.status_changed", shipment, row_id, previous);

  if (!state->breached && (is_open_past_promise (state) || delivers_late (state, item->event, &decision)))
    {
      state->breached = TRUE;
      state->flagged = TRUE;
      queue_message (batch, "shipment.delayed", shipment, 0, WB_STATUS_INVALID);
    }
}

/* For an item whose shipment is closed: a repeat of a stored event is
 * still a duplicate (as it would have been of an earlier item of this
 * call), anything else fails. */
static gboolean
repeats_stored_event (const Item *item,
                      guint       index)
{
  const EventKey *key = item->key;

  if (key->owner != NO_OWNER && key->owner < index)
    return TRUE;
  return !key->inserted && key->row_id != 0;
}

/* The shipment a key's event belongs to: an earlier call's row, or the
 * item of this call that stores it; NULL when nobody does. */
static const char *
key_holder (Batch          *batch,
            const EventKey *key)
{
  if (key->inserted)
    return batch->items[key->owner].shipment->id;
  return key->row_id != 0 ? key->stored_for : NULL;
}

static void
settle_item (Batch *batch,
             guint  index)
{
  Item *item = &batch->items[index];
  WbEventResult *result = &g_array_index (batch->results, WbEventResult, index);
  const char *holder;

  /* The shipment, when it was found, stays named: "closed" is about it. */
  if (item->shipment != NULL)
    {
      result->shipment_id = g_strdup (item->shipment->id);
      result->version = item->shipment->state.version;
    }

  if (item->error != NULL)
    {
      result->outcome = WB_EVENT_FAILED;
      result->error = g_error_copy (item->error);
    }
  else if ((holder = key_holder (batch, item->key)) != NULL && !g_str_equal (holder, item->shipment->id))
    {
      result->outcome = WB_EVENT_FAILED;
      _wb_store_set_conflict (&result->error, item->event->event_id, item->event->source, holder);
    }
  else if (item->shipment->closed && !repeats_stored_event (item, index))
    {
      result->outcome = WB_EVENT_FAILED;
      g_set_error (&result->error, WB_SHIPMENT_ERROR, WB_SHIPMENT_ERROR_CLOSED,
                   "shipment %s is closed", item->shipment->id);
    }
  else if (!is_inserted (item, index))
    {
      result->outcome = WB_EVENT_DUPLICATE;
      result->event_row_id = item->key->row_id;
    }
  else
    apply_event (batch, item, result);
}

/* Runs the milestone rule over the items in order, from the locked
 * state: the results, the shipments' new state and the messages. */
static void
plan (Batch *batch)
{
  GHashTableIter iter;
  Shipment *shipment;

  g_hash_table_iter_init (&iter, batch->shipments);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &shipment))
    shipment->state = shipment->locked;
  g_array_set_size (batch->results, 0);
  g_array_set_size (batch->results, batch->n_items);
  g_clear_object (&batch->messages);
  batch->messages = rows_new ();
  batch->n_messages = 0;

  for (guint i = 0; i < batch->n_items; i++)
    {
      batch->items[i].applies = FALSE;
      settle_item (batch, i);
    }
}

/* ---- writing the outcome ------------------------------------------------------ */

/* Only when a concurrent call stored one of our events first, so that the
 * plan the INSERT followed was not the final one. */
static gboolean
correct_applied (Batch   *batch,
                 GError **error)
{
  g_autoptr(GPtrArray) params = _wb_sql_params_new ();
  g_autoptr(PGresult) result = NULL;
  GString *literal = g_string_new ("{");

  for (guint i = 0; i < batch->n_items; i++)
    {
      Item *item = &batch->items[i];

      if (item->key == NULL || !is_inserted (item, i) || item->applies == item->stored_applied)
        continue;
      g_string_append_printf (literal, "%s%" G_GINT64_FORMAT, literal->len > 1 ? "," : "",
                              item->key->row_id);
    }
  if (literal->len == 1)
    {
      g_string_free (literal, TRUE);
      return TRUE;
    }

  array_take (params, literal);
  result = _wb_store_exec (batch->conn,
                           "UPDATE shipment_events SET applied = NOT applied WHERE id = ANY ($1::bigint[])",
                           params, batch->cancellable, error);
  return result != NULL;
}

/* Columns a shipment keeps unless this call changed them are NULL here;
 * a shipment only flagged overdue keeps its version and updated_at. */
static const char update_sql[] =
  "UPDATE shipments s SET status = u.status, status_reason = u.reason,"
  "  status_at = coalesce (" WB_SQL_FROM_US ("u.status_at") ", s.status_at),"
  "  delivered_at = CASE WHEN u.delivered_set THEN " WB_SQL_FROM_US ("u.delivered_at")
  "                      ELSE s.delivered_at END,"
  "  milestone_rank = u.milestone_rank,"
  "  last_event_id = coalesce (u.last_event_id, s.last_event_id),"
  "  carrier_eta = coalesce (" WB_SQL_FROM_US ("u.carrier_eta") ", s.carrier_eta),"
  "  version = u.version,"
  "  updated_at = CASE WHEN u.moved THEN now() ELSE s.updated_at END,"
  "  overdue_at = CASE WHEN u.flagged THEN now() ELSE s.overdue_at END"
  " FROM json_to_recordset($1::json) AS u(id uuid, status text, reason text, status_at bigint,"
  "  delivered_set boolean, delivered_at bigint, milestone_rank smallint, last_event_id bigint,"
  "  carrier_eta bigint, version integer, moved boolean, flagged boolean)"
  " WHERE s.id = u.id";

static void
add_update_row (JsonBuilder    *rows,
                const Shipment *shipment)
{
  const ShipmentState *state = &shipment->state;

  json_builder_begin_object (rows);
  member_string (rows, "id", shipment->id);
  member_string (rows, "status", wb_status_to_string (state->status));
  member_string (rows, "reason", state->reason);
  member_int (rows, "status_at", state->restamped, state->status_at_us);
  member_bool (rows, "delivered_set", state->delivered_set);
  member_int (rows, "delivered_at", state->has_delivered_at, state->delivered_at_us);
  member_int (rows, "milestone_rank", TRUE, state->milestone_rank);
  member_int (rows, "last_event_id", state->last_event_id != 0, state->last_event_id);
  member_int (rows, "carrier_eta", state->carrier_eta != 0, state->carrier_eta);
  member_int (rows, "version", TRUE, state->version);
  member_bool (rows, "moved", state->moved);
  member_bool (rows, "flagged", state->flagged);
  json_builder_end_object (rows);
}

static gboolean
update_shipments (Batch   *batch,
                  GError **error)
{
  g_autoptr(GPtrArray) params = _wb_sql_params_new ();
  g_autoptr(JsonBuilder) rows = rows_new ();
  g_autoptr(PGresult) result = NULL;
  GHashTableIter iter;
  Shipment *shipment;
  guint n_rows = 0;

  g_hash_table_iter_init (&iter, batch->shipments);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &shipment))
    if (shipment->state.moved || shipment->state.flagged)
      {
        add_update_row (rows, shipment);
        n_rows++;
      }
  if (n_rows == 0)
    return TRUE;

  rows_add (params, rows);
  result = _wb_store_exec (batch->conn, update_sql, params, batch->cancellable, error);
  return result != NULL;
}

/* The payloads of docs/shipments.md, "Messages"; the shipments are
 * already updated, so detectedAt is the overdue_at just set. */
static const char queue_sql[] =
  "INSERT INTO outbox (topic, key, type, payload)"
  " SELECT '" WB_TOPIC_TRACKING_EVENTS "', m.shipment_id::text, m.type,"
  "  CASE WHEN m.type = 'shipment.status_changed' THEN json_build_object("
  "    'type', m.type, 'shipmentId', m.shipment_id, 'clientId', s.client_id,"
  "    'eventId', e.event_id, 'source', e.source, 'status', e.status,"
  "    'previousStatus', m.previous_status, 'reason', e.reason, 'statusRaw', e.status_raw,"
  "    'occurredAt', " WB_SQL_TIME ("e.occurred_at") ", 'zoneGuessed', e.zone_guessed,"
  "    'location', json_build_object('text', e.location_text, 'lat', e.lat, 'lon', e.lon),"
  "    'version', m.version, 'emittedAt', " WB_SQL_TIME ("clock_timestamp()") ")"
  "  ELSE json_build_object("
  "    'type', m.type, 'shipmentId', m.shipment_id, 'clientId', s.client_id,"
  "    'promisedAt', " WB_SQL_TIME ("s.promised_at") ","
  "    'detectedAt', " WB_SQL_TIME ("s.overdue_at") ","
  "    'status', m.status, 'lateBySeconds', s.late_by_seconds, 'version', m.version,"
  "    'emittedAt', " WB_SQL_TIME ("clock_timestamp()") ") END"
  " FROM json_to_recordset($1::json) AS m(n integer, type text, shipment_id uuid,"
  "  event_row_id bigint, previous_status text, status text, version integer)"
  " JOIN shipments s ON s.id = m.shipment_id"
  " LEFT JOIN shipment_events e ON e.id = m.event_row_id"
  " ORDER BY m.n";

static gboolean
queue_messages (Batch   *batch,
                GError **error)
{
  g_autoptr(GPtrArray) params = _wb_sql_params_new ();
  g_autoptr(PGresult) result = NULL;

  if (batch->n_messages == 0)
    return TRUE;

  rows_add (params, batch->messages);
  result = _wb_store_exec (batch->conn, queue_sql, params, batch->cancellable, error);
  return result != NULL;
}

/* ---- the call ------------------------------------------------------------------ */

static void
batch_init (Batch        *batch,
            PGconn       *conn,
            guint         n_items,
            GCancellable *cancellable)
{
  batch->conn = conn;
  batch->cancellable = cancellable;
  batch->n_items = n_items;
  batch->items = g_new0 (Item, n_items);
  batch->results = g_array_sized_new (FALSE, TRUE, sizeof (WbEventResult), n_items);
  g_array_set_clear_func (batch->results, (GDestroyNotify) wb_event_result_clear);
  batch->shipments = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, shipment_free);
  batch->keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, event_key_free);
}

/* Stores the events and plans their effect. Whether an event applies is
 * known before its INSERT, which writes it so; only when a concurrent
 * call stored one of them first (the INSERT skipped it) does a second
 * plan change that, and the rows that differ are corrected. */
static gboolean
store_events (Batch   *batch,
              GError **error)
{
  gint64 lost;

  if (!find_stored (batch, error))
    return FALSE;
  expect_inserts (batch);
  plan (batch);
  if ((lost = insert_events (batch, error)) < 0 ||
      (lost > 0 && !find_stored (batch, error)))
    return FALSE;
  plan (batch);
  return correct_applied (batch, error);
}

/* The shipments whose view the call changed, for WbShipmentStore::changed. */
static void
note_changes (Batch  *batch,
              GArray *changes)
{
  GHashTableIter iter;
  Shipment *shipment;

  g_hash_table_iter_init (&iter, batch->shipments);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &shipment))
    if (shipment->state.moved || shipment->state.flagged)
      _wb_store_changes_add (changes, shipment->id, shipment->state.version);
}

/* Each item fails on its own (unknown or closed shipment, a value the
 * database would refuse, an event another shipment holds) without
 * touching the others: everything that can fail alone is decided before
 * the statements that write. */
GArray *
_wb_store_add_events (PGconn        *conn,
                      GPtrArray     *events,
                      gboolean      *out_wrote_outbox,
                      GArray        *changes,
                      GCancellable  *cancellable,
                      GError       **error)
{
  g_auto(Batch) batch = { 0 };

  batch_init (&batch, conn, events->len, cancellable);
  *out_wrote_outbox = FALSE;

  check_items (&batch, events);
  if (!resolve_trackings (&batch, error) || !lock_shipments (&batch, error))
    return NULL;
  attach_items (&batch);
  assign_keys (&batch);

  if (!store_events (&batch, error) ||
      !update_shipments (&batch, error) ||
      !queue_messages (&batch, error))
    return NULL;

  *out_wrote_outbox = batch.n_messages > 0;
  note_changes (&batch, changes);
  return g_steal_pointer (&batch.results);
}
