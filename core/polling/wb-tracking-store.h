// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <gio/gio.h>

#include "wb-db-pool.h"
#include "wb-status.h"

G_BEGIN_DECLS

/* A validated item of POST /trackings. */
typedef struct
{
  char *carrier;
  char *track_number;
  char *shipment_id;     /* NULL: the tracking stands alone */
} WbTrackingDraft;

/* What became of one draft. */
typedef struct
{
  gint64   id;           /* 0 when refused */
  gboolean created;      /* FALSE: the carrier's number was tracked already */
  gboolean no_shipment;  /* refused: shipmentId names no shipment */
} WbTrackingAdded;

/* GET /trackings: every filter optional, pages in id order. */
typedef struct
{
  char    *carrier;
  WbStatus status;       /* WB_STATUS_INVALID: any */
  int      due;          /* -1 any, 0 not due, 1 due now */
  int      erroring;     /* -1 any, 0 last check fine, 1 last check failed */
  guint    limit;        /* 1..500 */
  gint64   after_id;     /* the cursor: 0 = from the start */
} WbTrackingQuery;

void wb_tracking_draft_free (WbTrackingDraft *draft);
void wb_tracking_query_free (WbTrackingQuery *query);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbTrackingDraft, wb_tracking_draft_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbTrackingQuery, wb_tracking_query_free)

#define WB_TYPE_TRACKING_STORE (wb_tracking_store_get_type ())

G_DECLARE_FINAL_TYPE (WbTrackingStore, wb_tracking_store, WB, TRACKING_STORE, GObject)

/* The trackings as the REST API sees them. Each call is one transaction on
 * a pool thread; answers are camelCase JSON text. */
WbTrackingStore *wb_tracking_store_new              (WbDbPool        *pool);
/* Returns a GArray of WbTrackingAdded, one per draft, in order. */
void             wb_tracking_store_add_async        (WbTrackingStore *self,
                                                     GPtrArray       *drafts,     /* WbTrackingDraft*, borrowed */
                                                     GCancellable    *cancellable,
                                                     GAsyncReadyCallback callback,
                                                     gpointer         user_data);
GArray          *wb_tracking_store_add_finish       (WbTrackingStore *self,
                                                     GAsyncResult    *result,
                                                     GError         **error);
/* {"items":[tracking…],"notFound":[id…]}, items in the order asked. */
void             wb_tracking_store_get_by_ids_async (WbTrackingStore *self,
                                                     GArray          *ids,        /* gint64 */
                                                     GCancellable    *cancellable,
                                                     GAsyncReadyCallback callback,
                                                     gpointer         user_data);
char            *wb_tracking_store_get_by_ids_finish (WbTrackingStore *self,
                                                     GAsyncResult    *result,
                                                     GError         **error);
/* {"items":[event…],"total","limit","offset"}, newest first; NOT_FOUND. */
void             wb_tracking_store_list_events_async (WbTrackingStore *self,
                                                     gint64           id,
                                                     guint            limit,
                                                     guint            offset,
                                                     GCancellable    *cancellable,
                                                     GAsyncReadyCallback callback,
                                                     gpointer         user_data);
char            *wb_tracking_store_list_events_finish (WbTrackingStore *self,
                                                     GAsyncResult    *result,
                                                     GError         **error);
/* Makes it due now unless refreshed within @min_interval_us: then
 * THROTTLED with *out_retry_after_s; NOT_FOUND. Returns the tracking. */
void             wb_tracking_store_refresh_async    (WbTrackingStore *self,
                                                     gint64           id,
                                                     gint64           min_interval_us,
                                                     GCancellable    *cancellable,
                                                     GAsyncReadyCallback callback,
                                                     gpointer         user_data);
char            *wb_tracking_store_refresh_finish   (WbTrackingStore *self,
                                                     GAsyncResult    *result,
                                                     gint64          *out_retry_after_s,
                                                     GError         **error);
/* {"items":[tracking…],"nextCursor":"…"|null}. */
void             wb_tracking_store_list_async       (WbTrackingStore *self,
                                                     const WbTrackingQuery *query,  /* borrowed */
                                                     GCancellable    *cancellable,
                                                     GAsyncReadyCallback callback,
                                                     gpointer         user_data);
char            *wb_tracking_store_list_finish      (WbTrackingStore *self,
                                                     GAsyncResult    *result,
                                                     GError         **error);
/* Stops polling it and hides it; NOT_FOUND. */
void             wb_tracking_store_delete_async     (WbTrackingStore *self,
                                                     gint64           id,
                                                     GCancellable    *cancellable,
                                                     GAsyncReadyCallback callback,
                                                     gpointer         user_data);
gboolean         wb_tracking_store_delete_finish    (WbTrackingStore *self,
                                                     GAsyncResult    *result,
                                                     GError         **error);
/* Every carrier's shared limits (carrier_limits) as one JSON object keyed
 * by carrier code: quotaUsedToday, breaker (closed, open, half-open),
 * breakerOpenUntil, consecutiveFailures, blockedUntil (null when not
 * blocked), permitsTotal. */
void             wb_tracking_store_get_limits_async (WbTrackingStore *self,
                                                     GCancellable    *cancellable,
                                                     GAsyncReadyCallback callback,
                                                     gpointer         user_data);
char            *wb_tracking_store_get_limits_finish (WbTrackingStore *self,
                                                     GAsyncResult    *result,
                                                     GError         **error);

G_END_DECLS
