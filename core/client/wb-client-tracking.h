// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <gio/gio.h>

#include "wb-json-reader.h"

G_BEGIN_DECLS

#define WB_TYPE_CLIENT_TRACKING (wb_client_tracking_get_type ())

G_DECLARE_FINAL_TYPE (WbClientTracking, wb_client_tracking, WB, CLIENT_TRACKING, GObject)

/* A tracking as GET /trackings answers it: a carrier's number polled
 * within the carrier's limits, and what the last check found. Immutable
 * once read; times are unix µs, 0 where the API says null. */
WbClientTracking *wb_client_tracking_read                   (WbJsonReader      *reader,
                                                             GError           **error);
gint64            wb_client_tracking_get_id                 (WbClientTracking  *self);
const char       *wb_client_tracking_get_carrier_code       (WbClientTracking  *self);
const char       *wb_client_tracking_get_track_number       (WbClientTracking  *self);
const char       *wb_client_tracking_get_shipment_id        (WbClientTracking  *self);
/* The canonical status ("PENDING" before any answer) and the carrier's own. */
const char       *wb_client_tracking_get_status             (WbClientTracking  *self);
const char       *wb_client_tracking_get_status_raw         (WbClientTracking  *self);
gint64            wb_client_tracking_get_status_at          (WbClientTracking  *self);
gint64            wb_client_tracking_get_last_checked_at    (WbClientTracking  *self);
gint64            wb_client_tracking_get_next_check_at      (WbClientTracking  *self);
const char       *wb_client_tracking_get_last_error         (WbClientTracking  *self);
guint             wb_client_tracking_get_consecutive_errors (WbClientTracking  *self);

/* The filters of GET /trackings; every one not set is left out. */
typedef struct
{
  char     *carrier;    /* nullable */
  char     *status;     /* nullable */
  gboolean  erroring;
  guint     limit;      /* 0: the server's default */
} WbClientTrackingQuery;

WbClientTrackingQuery *wb_client_tracking_query_new     (void);
WbClientTrackingQuery *wb_client_tracking_query_copy    (const WbClientTrackingQuery *query);
void                   wb_client_tracking_query_free    (WbClientTrackingQuery       *query);
char                  *wb_client_tracking_query_to_path (const WbClientTrackingQuery *query,
                                                         const char                  *cursor);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbClientTrackingQuery, wb_client_tracking_query_free)

/* One item's outcome of POST /trackings: its tracking (created, or the one
 * that already tracked the number), or why it was refused. */
typedef struct
{
  guint   index;
  gint64  id;              /* 0 when refused */
  gboolean created;
  char   *error_field;     /* nullable: "items[2].trackNumber" */
  char   *error_message;   /* nullable */
} WbClientTrackingAdded;

void wb_client_tracking_added_free (WbClientTrackingAdded *added);

/* One minute of a carrier's requests. */
typedef struct
{
  gint64 minute;   /* unix µs, its start */
  guint  ok;
  guint  error;
  guint  throttled;
} WbClientCarrierMinute;

/* A carrier as GET /carriers answers it: its settings, the limits every
 * daemon shares, and, where the daemon runs carrier workers, what it
 * asked over the last hour. */
typedef struct
{
  char    *code;
  char    *driver;
  double   rate;              /* requests a second */
  guint    burst;
  guint    daily_quota;       /* 0: none */
  gboolean has_limits;
  gint64   quota_used_today;
  gint64   quota_left_today;  /* -1: no quota */
  char    *breaker;           /* "closed", "open", "half-open"; nullable */
  gint64   breaker_open_until;
  gint64   blocked_until;     /* after a 429; 0 when not blocked */
  gboolean has_requests;
  guint64  ok;
  guint64  throttled;
  guint64  failed;            /* errors, timeouts and unreadable answers */
  double   permit_wait_s;     /* total time spent waiting for permits */
  GArray  *last_hour;         /* WbClientCarrierMinute, oldest first; nullable */
} WbClientCarrier;

void wb_client_carrier_free (WbClientCarrier *carrier);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbClientCarrier, wb_client_carrier_free)

G_END_DECLS
