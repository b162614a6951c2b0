// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#if !defined (WB_SHIPMENTS_COMPILATION)
#error "wb-shipment-store-private.h is core/shipments's own; other code uses the area's public headers"
#endif

#include "wb-shipment-store.h"

G_BEGIN_DECLS

/* The store's pieces (wb-shipment-store.c: object and plain CRUD;
 * wb-shipment-events.c: the event path; wb-shipment-search.c: search;
 * wb-shipment-view.c: the one view builder and the SQL helpers) share this
 * header. Everything here runs on a pool thread inside the call's
 * transaction, which wb-shipment-store.c opens and commits. */

#define WB_TOPIC_TRACKING_EVENTS "tracking.events"

/* RFC 3339 UTC with milliseconds, and µs ↔ timestamptz, as SQL fragments:
 * the database formats every time it hands out, so the view, the history
 * and the messages all agree. */
#define WB_SQL_TIME(col) "to_char((" col ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
#define WB_SQL_FROM_US(param) "(timestamptz 'epoch' + (" param ")::bigint * interval '1 microsecond')"
#define WB_SQL_TO_US(col) "(extract(epoch FROM (" col ")) * 1000000)::bigint"
/* One event's JSON, for the history and the view's lastEvent. */
#define WB_SQL_EVENT_JSON(e) \
  "json_build_object(" \
  "  'id', " e ".id, 'eventId', " e ".event_id, 'source', " e ".source," \
  "  'status', " e ".status, 'reason', " e ".reason, 'statusRaw', " e ".status_raw," \
  "  'occurredAt', " WB_SQL_TIME (e ".occurred_at") "," \
  "  'occurredAtRaw', " e ".occurred_at_raw, 'zoneGuessed', " e ".zone_guessed," \
  "  'location', json_build_object('text', " e ".location_text, 'lat', " e ".lat, 'lon', " e ".lon)," \
  "  'description', " e ".description, 'correction', " e ".correction, 'applied', " e ".applied," \
  "  'receivedAt', " WB_SQL_TIME (e ".received_at") ")"
#define WB_SQL_TERMINAL "('DELIVERED', 'RETURNED_TO_SENDER', 'CANCELLED', 'EXPIRED')"

/* A shipment a transaction changed, announced by WbShipmentStore::changed
 * once it commits. */
typedef struct
{
  char   *id;
  gint64  version;
} WbShipmentChange;

/* A GArray of WbShipmentChange, freed with g_array_unref(). */
GArray      *_wb_store_changes_new     (void);
void         _wb_store_changes_add     (GArray       *changes,
                                        const char   *id,
                                        gint64        version);

/* Text parameters for wb_db_exec(): a GPtrArray of owned strings, NULL
 * entries being SQL NULL. */
GPtrArray   *_wb_sql_params_new        (void);
void         _wb_sql_params_add        (GPtrArray    *params,
                                        const char   *value);
void         _wb_sql_params_take       (GPtrArray    *params,
                                        char         *value);
void         _wb_sql_params_add_int    (GPtrArray    *params,
                                        gint64        value);
void         _wb_sql_params_add_bool   (GPtrArray    *params,
                                        gboolean      value);
void         _wb_sql_params_add_double (GPtrArray    *params,
                                        gboolean      present,
                                        double        value);

/* wb_db_exec() whose failures that are the client's fault (SQLSTATE class
 * 22 data exception, 23 integrity violation) become
 * WB_SHIPMENT_ERROR_INVALID with the field at fault; the rest pass through as
 * WB_DB_ERROR. */
PGresult    *_wb_store_exec            (PGconn              *conn,
                                        const char          *sql,
                                        GPtrArray           *params,
                                        GCancellable        *cancellable,
                                        GError             **error);
gint64       _wb_store_get_int         (const PGresult      *result,
                                        int                  row,
                                        int                  column);
gboolean     _wb_store_id_is_valid     (const char          *id);
gboolean     _wb_store_set_not_found   (GError             **error,
                                        const char          *id);
/* A WB_SHIPMENT_ERROR about @field (wb_shipment_error_get_field()); the
 * message reads "<field>: <problem>". Returns FALSE. */
gboolean     _wb_store_set_field_error (GError             **error,
                                        WbShipmentError      code,
                                        const char          *field,
                                        const char          *format,
                                        ...) G_GNUC_PRINTF (4, 5);
/* EVENT_CONFLICT about eventId, naming @holder (wb_shipment_error_get_holder()). */
void         _wb_store_set_conflict    (GError             **error,
                                        const char          *event_id,
                                        const char          *source,
                                        const char          *holder);


/* The aggregated view (docs/shipments.md) of each of @ids, in that order;
 * the one place that builds it. Ids that do not exist are skipped. */
GPtrArray   *_wb_store_fetch_views     (PGconn              *conn,
                                        const char * const  *ids,
                                        guint                n_ids,
                                        GCancellable        *cancellable,
                                        GError             **error);

/* Flags shipments newly overdue (only @id, or all if NULL) and queues one
 * shipment.delayed for each, adding them to @changes. For one @id, a
 * delivery after the promise counts too (a PATCH may move the promise
 * before it). Returns how many, or -1 with @error set. */
gint64       _wb_store_flag_overdue    (PGconn              *conn,
                                        const char          *id,
                                        GArray              *changes,
                                        GCancellable        *cancellable,
                                        GError             **error);

/* The event path: returns a GArray of WbEventResult; *out_wrote_outbox
 * tells whether any message was queued; the shipments it moved or flagged
 * go to @changes. */
GArray      *_wb_store_add_events      (PGconn              *conn,
                                        GPtrArray           *events,
                                        gboolean            *out_wrote_outbox,
                                        GArray              *changes,
                                        GCancellable        *cancellable,
                                        GError             **error);

/* The part of the view a cache must know: when the clock alone changes
 * it (WbShipmentView.expires_at). */
#define WB_SQL_VIEW_EXPIRES(s) \
  "CASE WHEN " s ".status IN " WB_SQL_TERMINAL " OR " s ".closed_at IS NOT NULL THEN NULL" \
  " WHEN now() < " s ".promised_at - (" s ".promised_at - " s ".created_at) / 10" \
  " THEN " WB_SQL_TO_US (s ".promised_at - (" s ".promised_at - " s ".created_at) / 10") \
  " WHEN now() <= " s ".promised_at THEN " WB_SQL_TO_US (s ".promised_at") " END"

/* Search: the page statement exactly as the store runs it, so tests can
 * EXPLAIN it. Fetches limit + 1 rows of (id, created_at µs). */
gboolean     _wb_store_build_search    (const WbShipmentQuery *query,
                                        char               **out_sql,
                                        GPtrArray          **out_params,
                                        GError             **error);
char        *_wb_store_search          (PGconn              *conn,
                                        const WbShipmentQuery *query,
                                        GCancellable        *cancellable,
                                        GError             **error);
char        *_wb_store_summary         (PGconn              *conn,
                                        GCancellable        *cancellable,
                                        GError             **error);

/* Carrier checks (wb-shipment-checks.c): records each of @checks on its
 * tracking. Returns a GArray of WbEventResult, one per check, in order. */
GArray      *_wb_store_record_checks   (PGconn              *conn,
                                        GPtrArray           *checks,
                                        GCancellable        *cancellable,
                                        GError             **error);

G_END_DECLS
