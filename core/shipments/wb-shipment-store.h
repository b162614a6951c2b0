// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <gio/gio.h>

#include "wb-db-pool.h"
#include "wb-outbox-relay.h"
#include "wb-sla.h"
#include "wb-status.h"

G_BEGIN_DECLS

#define WB_SHIPMENT_ERROR (wb_shipment_error_quark ())

typedef enum
{
  WB_SHIPMENT_ERROR_NOT_FOUND,        /* no such shipment (or tracking) */
  WB_SHIPMENT_ERROR_VERSION_MISMATCH, /* If-Match was stale: see WbShipmentView.version of the error's shipment */
  WB_SHIPMENT_ERROR_CLOSED,           /* the shipment is closed: no more changes */
  WB_SHIPMENT_ERROR_INVALID,          /* a value the database refuses (unknown service level, …):
                                       * see wb_shipment_error_get_field() */
  WB_SHIPMENT_ERROR_EVENT_CONFLICT,   /* the event's (source, eventId) is stored for another shipment:
                                       * see wb_shipment_error_get_holder() */
} WbShipmentError;

GQuark      wb_shipment_error_quark      (void);
const char *wb_shipment_error_get_field  (const GError *error);
char       *wb_shipment_error_get_holder (const GError *error);

/* When an event may have occurred: not before 1990-01-01T00:00:00Z (no
 * parcel was scanned by these systems before), and not more than a day
 * after the receiving server's clock (carriers' clocks drift, and a local
 * time taken for UTC can be up to 14 hours ahead). */
#define WB_EVENT_EARLIEST_US     G_GINT64_CONSTANT (631152000000000)
#define WB_EVENT_MAX_AHEAD_US    (24 * G_GINT64_CONSTANT (3600000000))

gboolean wb_status_event_time_is_plausible (gint64 occurred_at_us,
                                            gint64 now_us);

typedef struct
{
  char    *country;       /* ISO 3166-1 alpha-2, upper case */
  char    *region;
  char    *city;
  char    *line1;
  char    *line2;
  char    *postal_code;
  gboolean has_coordinates;
  double   lat;
  double   lon;
} WbAddress;

/* A validated POST /shipments body. Strings are owned; NULL = absent. */
typedef struct
{
  char     *client_id;
  char     *reference;            /* the client's own order/reference number */
  char     *service_level;
  char     *recipient_name;
  char     *recipient_phone;      /* E.164, already normalized */
  char     *recipient_phone_raw;  /* as given */
  char     *recipient_email;
  gboolean  has_origin;
  WbAddress origin;
  WbAddress destination;
  gint64    promised_at;          /* unix µs; 0 = from the service level's SLA */
  char     *carrier;              /* optional first tracking */
  char     *track_number;
  char     *pickup_point_id;      /* instead of a street address: the destination becomes the
                                   * point's address; recipient_phone is then NULL and
                                   * recipient_phone_raw is normalized with the point's country */
} WbShipmentDraft;

/* A validated PATCH body: only fields whose has_* flag is set change. */
typedef struct
{
  gboolean  has_service_level;    char     *service_level;
  gboolean  has_reference;        char     *reference;
  gboolean  has_recipient_name;   char     *recipient_name;
  gboolean  has_recipient_phone;  char     *recipient_phone;  char *recipient_phone_raw;
  gboolean  has_recipient_email;  char     *recipient_email;
  gboolean  has_destination;      WbAddress destination;
  gboolean  has_promised_at;      gint64    promised_at;
  gboolean  has_eta;              gint64    eta;              /* carrier ETA, unix µs; 0 clears */
  gboolean  has_tracking;         char     *carrier;          char *track_number;  /* adds a tracking */
  gboolean  has_pickup_point;     char     *pickup_point_id;  /* NULL: addressed to a street address again */
} WbShipmentPatch;

/* A validated status event (REST, batch, or a carrier message). */
typedef struct
{
  char     *event_id;             /* unique per source */
  char     *source;               /* "dhl", "api", … */
  char     *shipment_id;          /* either this … */
  char     *carrier;              /* … or carrier + track_number names the shipment */
  char     *track_number;
  WbStatus  status;
  char     *reason;               /* reason code, optional */
  char     *status_raw;           /* the carrier's own code/text */
  gint64    occurred_at;          /* unix µs, UTC */
  char     *occurred_at_raw;      /* as received */
  gboolean  zone_guessed;         /* the carrier gave no zone: occurred_at assumed one */
  char     *location_text;
  gboolean  has_coordinates;
  double    lat;
  double    lon;
  char     *description;
  gint64    carrier_eta;          /* unix µs, 0 = none */
  gboolean  correction;           /* may move a terminal status, and below the milestone */
} WbStatusEvent;

typedef enum
{
  WB_EVENT_CREATED,               /* stored; status_changed says if it moved the shipment */
  WB_EVENT_DUPLICATE,             /* (source, event_id) was already stored: nothing changed */
  WB_EVENT_FAILED,                /* see error (batch only; a single call fails instead) */
} WbEventOutcome;

typedef struct
{
  WbEventOutcome  outcome;
  gboolean        applied;        /* it became the shipment's current state (history either way) */
  gboolean        status_changed; /* … and changed the status or reason (one message published) */
  char           *shipment_id;
  gint64          event_row_id;
  gint64          version;        /* the shipment's version after the event */
  GError         *error;
} WbEventResult;

/* The aggregated view, as the camelCase JSON text REST returns (compact:
 * no whitespace between tokens). */
typedef struct
{
  char   *id;
  gint64  version;
  char   *json;
  gint64  expires_at;             /* unix µs when the clock alone changes sla.state (at_risk,
                                   * overdue); 0 = never. A cache must not serve it after that. */
  char   *destination_country;    /* ISO 3166-1 alpha-2, as in json's destination.country */
} WbShipmentView;

/* GET /shipments/search. All filters optional; results newest first (createdAt, id). */
typedef struct
{
  GStrv     statuses;             /* canonical names; each one's own index scan, merged */
  char     *client_id;
  char     *phone;                /* E.164, already normalized */
  gint64    created_from, created_to;   /* unix µs, 0 = open; from inclusive, to exclusive */
  gint64    updated_from, updated_to;
  gboolean  overdue;              /* only open, not terminal, past promisedAt */
  guint     limit;                /* 1..500, 0 = 50 */
  char     *cursor;               /* opaque, from a previous page */
} WbShipmentQuery;

/* A TICKET_CREATED: a shipping label was made. The store creates its
 * shipment (with the draft's tracking, due for polling at once) exactly
 * once per ticket_id, whoever delivers it and however often. */
typedef struct
{
  char            *ticket_id;
  gint64           created_at;    /* unix µs: the service level's promise counts from here; 0 = now */
  WbShipmentDraft *draft;         /* owned; carrier and track_number required */
} WbTicket;

/* The outcome of one carrier check (tracking.updated). */
typedef struct
{
  gint64  tracking_id;            /* trackings.id … */
  char   *carrier;               /* … which must be this tracking */
  char   *track_number;
  gint64  checked_at;             /* unix µs */
  gint64  next_check_at;          /* unix µs, 0 = none planned */
  char   *error;                  /* NULL: the check succeeded */
} WbTrackingCheck;

/* What wb_shipment_store_apply_carrier_batch_async() did, item by item, in
 * the input order. Each array holds WbEventResult (clear func set):
 * tickets: CREATED = a new shipment, DUPLICATE = the ticket's shipment
 * already existed (shipment_id names it either way); checks: CREATED =
 * recorded, DUPLICATE = not newer than the tracking's last check;
 * events: as wb_shipment_store_add_events_async(). */
typedef struct
{
  GArray *tickets;
  GArray *checks;
  GArray *events;
} WbCarrierBatchResult;

void wb_address_clear          (WbAddress       *address);
void wb_shipment_draft_free    (WbShipmentDraft *draft);
void wb_shipment_patch_free    (WbShipmentPatch *patch);
void wb_status_event_free      (WbStatusEvent   *event);
void wb_event_result_clear     (WbEventResult   *result);
void wb_shipment_view_free     (WbShipmentView  *view);
void wb_shipment_query_free    (WbShipmentQuery *query);
void wb_ticket_free            (WbTicket        *ticket);
void wb_tracking_check_free    (WbTrackingCheck *check);
void wb_carrier_batch_result_free (WbCarrierBatchResult *result);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbShipmentDraft, wb_shipment_draft_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbShipmentPatch, wb_shipment_patch_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbStatusEvent, wb_status_event_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbShipmentView, wb_shipment_view_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbShipmentQuery, wb_shipment_query_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbTicket, wb_ticket_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbTrackingCheck, wb_tracking_check_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbCarrierBatchResult, wb_carrier_batch_result_free)

#define WB_TYPE_SHIPMENT_STORE (wb_shipment_store_get_type ())

G_DECLARE_FINAL_TYPE (WbShipmentStore, wb_shipment_store, WB, SHIPMENT_STORE, GObject)

/* Signal "changed" (const char *id, gint64 version): after the commit of
 * every write through the store that changed a shipment's view, whoever
 * made it (REST, the tracker role, the SLA job), on the pool thread that
 * committed it and before the call's callback runs, so a cache that drops
 * @id there is never behind a write its caller has heard of. Creation is
 * not announced: nobody can hold a view of a new id. */
WbShipmentStore *wb_shipment_store_new              (WbDbPool         *pool,
                                                     WbSlaTable       *sla);
/* The relay to kick after a commit that queued messages (optional; without
 * one, its periodic sweep still finds them). */
void             wb_shipment_store_set_relay        (WbShipmentStore  *self,
                                                     WbOutboxRelay    *relay);

/* Each call is one transaction on a pool thread; the callback runs on the
 * caller's thread-default main context. Views are the post-commit state. */
void             wb_shipment_store_create_async     (WbShipmentStore  *self,
                                                     WbShipmentDraft  *draft,      /* borrowed until the callback */
                                                     GCancellable     *cancellable,
                                                     GAsyncReadyCallback callback,
                                                     gpointer          user_data);
WbShipmentView  *wb_shipment_store_create_finish    (WbShipmentStore  *self,
                                                     GAsyncResult     *result,
                                                     GError          **error);
void             wb_shipment_store_get_async        (WbShipmentStore  *self,
                                                     const char       *id,
                                                     GCancellable     *cancellable,
                                                     GAsyncReadyCallback callback,
                                                     gpointer          user_data);
WbShipmentView  *wb_shipment_store_get_finish       (WbShipmentStore  *self,
                                                     GAsyncResult     *result,
                                                     GError          **error);
/* The shipment's current version by its primary key alone (a cached view's
 * check); fails with NOT_FOUND. */
void             wb_shipment_store_get_version_async (WbShipmentStore *self,
                                                     const char       *id,
                                                     GCancellable     *cancellable,
                                                     GAsyncReadyCallback callback,
                                                     gpointer          user_data);
gint64           wb_shipment_store_get_version_finish (WbShipmentStore *self,
                                                     GAsyncResult     *result,
                                                     GError          **error);
/* The view and one of its stored events (as the history shows it), read
 * together: what POST /shipments/{id}/events answers. */
void             wb_shipment_store_get_with_event_async (WbShipmentStore *self,
                                                     const char       *id,
                                                     gint64            event_row_id,
                                                     GCancellable     *cancellable,
                                                     GAsyncReadyCallback callback,
                                                     gpointer          user_data);
WbShipmentView  *wb_shipment_store_get_with_event_finish (WbShipmentStore *self,
                                                     GAsyncResult     *result,
                                                     char            **out_event_json,
                                                     GError          **error);
/* expected_versions: the If-Match precondition, a GArray of gint64: the write
 * goes ahead only at one of them (an empty array matches none); NULL =
 * unconditional. A miss fails with VERSION_MISMATCH and out_current_version
 * (via wb_shipment_store_update_finish) set; a missing shipment is NOT_FOUND
 * whatever the precondition. */
void             wb_shipment_store_update_async     (WbShipmentStore  *self,
                                                     const char       *id,
                                                     GArray           *expected_versions,
                                                     WbShipmentPatch  *patch,
                                                     GCancellable     *cancellable,
                                                     GAsyncReadyCallback callback,
                                                     gpointer          user_data);
WbShipmentView  *wb_shipment_store_update_finish    (WbShipmentStore  *self,
                                                     GAsyncResult     *result,
                                                     gint64           *out_current_version,
                                                     GError          **error);
/* Closes (DELETE): sets closed_at, keeps the history. expected_versions as for an update. */
void             wb_shipment_store_close_async      (WbShipmentStore  *self,
                                                     const char       *id,
                                                     GArray           *expected_versions,
                                                     GCancellable     *cancellable,
                                                     GAsyncReadyCallback callback,
                                                     gpointer          user_data);
WbShipmentView  *wb_shipment_store_close_finish     (WbShipmentStore  *self,
                                                     GAsyncResult     *result,
                                                     gint64           *out_current_version,
                                                     GError          **error);
/* History, newest first: JSON text {"items":[…],"total":N,"limit":L,"offset":O}. */
void             wb_shipment_store_list_events_async (WbShipmentStore *self,
                                                     const char       *id,
                                                     guint             limit,
                                                     guint             offset,
                                                     GCancellable     *cancellable,
                                                     GAsyncReadyCallback callback,
                                                     gpointer          user_data);
char            *wb_shipment_store_list_events_finish (WbShipmentStore *self,
                                                     GAsyncResult     *result,
                                                     GError          **error);
/* Adds events in one transaction (1 for POST …/events, ≤1000 for the batch).
 * Returns a GArray of WbEventResult (clear func set), one per event, in order. */
void             wb_shipment_store_add_events_async (WbShipmentStore  *self,
                                                     GPtrArray        *events,     /* WbStatusEvent*, borrowed */
                                                     GCancellable     *cancellable,
                                                     GAsyncReadyCallback callback,
                                                     gpointer          user_data);
GArray          *wb_shipment_store_add_events_finish (WbShipmentStore *self,
                                                     GAsyncResult     *result,
                                                     GError          **error);
/* The event path inside a transaction another area runs on @conn (a
 * pool connection, between its BEGIN and COMMIT), so that its own change
 * and the shipments' events commit together: as
 * wb_shipment_store_add_events_async() otherwise. *out_changes (pass it to
 * wb_shipment_store_committed() after the COMMIT, or unref it after a
 * rollback) holds what the events changed. Blocking: a pool thread only. */
GArray          *wb_shipment_store_add_events_in_transaction (WbShipmentStore *self,
                                                     PGconn           *conn,
                                                     GPtrArray        *events,     /* WbStatusEvent*, borrowed */
                                                     GArray          **out_changes,
                                                     GCancellable     *cancellable,
                                                     GError          **error);
/* After such a transaction committed: announces its changes ("changed")
 * and kicks the relay for the messages it queued. Any thread. */
void             wb_shipment_store_committed        (WbShipmentStore  *self,
                                                     GArray           *changes);
/* JSON text {"items":[view…],"nextCursor":"…"|null}. */
void             wb_shipment_store_search_async     (WbShipmentStore  *self,
                                                     WbShipmentQuery  *query,
                                                     GCancellable     *cancellable,
                                                     GAsyncReadyCallback callback,
                                                     gpointer          user_data);
char            *wb_shipment_store_search_finish    (WbShipmentStore  *self,
                                                     GAsyncResult     *result,
                                                     GError          **error);
/* GET /shipments/summary: JSON text {"byStatus":{status: n},"open":n,
 * "overdue":n,"at":…}, over the shipments not closed. */
void             wb_shipment_store_summary_async    (WbShipmentStore  *self,
                                                     GCancellable     *cancellable,
                                                     GAsyncReadyCallback callback,
                                                     gpointer          user_data);
char            *wb_shipment_store_summary_finish   (WbShipmentStore  *self,
                                                     GAsyncResult     *result,
                                                     GError          **error);
/* The periodic SLA job: flags newly overdue shipments and queues one
 * shipment.delayed each. Returns how many were newly flagged. (A late
 * delivery is flagged on the event path, by the event that delivers.) */
void             wb_shipment_store_check_overdue_async (WbShipmentStore *self,
                                                     GCancellable     *cancellable,
                                                     GAsyncReadyCallback callback,
                                                     gpointer          user_data);
gint64           wb_shipment_store_check_overdue_finish (WbShipmentStore *self,
                                                     GAsyncResult     *result,
                                                     GError          **error);

/* A batch of carrier input (the tracker role) in one transaction: the
 * tickets first (each on its own: one that fails leaves the others), then
 * the checks, then the events exactly as wb_shipment_store_add_events_async()
 * takes them. Per-item failures are results; the call itself fails only
 * with a database error. All three arrays are borrowed, any may be empty. */
void             wb_shipment_store_apply_carrier_batch_async (WbShipmentStore *self,
                                                     GPtrArray        *tickets,    /* WbTicket* */
                                                     GPtrArray        *checks,     /* WbTrackingCheck* */
                                                     GPtrArray        *events,     /* WbStatusEvent* */
                                                     GCancellable     *cancellable,
                                                     GAsyncReadyCallback callback,
                                                     gpointer          user_data);
WbCarrierBatchResult *wb_shipment_store_apply_carrier_batch_finish (WbShipmentStore *self,
                                                     GAsyncResult     *result,
                                                     GError          **error);

G_END_DECLS
