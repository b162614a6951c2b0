// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-client.h"
#include "wb-client-tracking.h"

G_BEGIN_DECLS

/* GET /trackings: one page matching @query, by id, after @cursor (%NULL:
 * the first page). */
void              wb_client_list_trackings_async    (WbClient                    *self,
                                                     const WbClientTrackingQuery *query,
                                                     const char                  *cursor,
                                                     GCancellable                *cancellable,
                                                     GAsyncReadyCallback          callback,
                                                     gpointer                     user_data);
GPtrArray        *wb_client_list_trackings_finish   (WbClient                    *self,
                                                     GAsyncResult                *result,
                                                     char                       **out_next_cursor,
                                                     GError                     **error);

/* POST /trackings: @numbers with one carrier; an outcome per number. */
void              wb_client_add_trackings_async     (WbClient                    *self,
                                                     const char                  *carrier_code,
                                                     const char * const          *numbers,
                                                     GCancellable                *cancellable,
                                                     GAsyncReadyCallback          callback,
                                                     gpointer                     user_data);
GPtrArray        *wb_client_add_trackings_finish    (WbClient                    *self,
                                                     GAsyncResult                *result,
                                                     GError                     **error);

/* POST /trackings/{id}/refresh. */
void              wb_client_refresh_tracking_async  (WbClient                    *self,
                                                     gint64                       tracking_id,
                                                     GCancellable                *cancellable,
                                                     GAsyncReadyCallback          callback,
                                                     gpointer                     user_data);
WbClientTracking *wb_client_refresh_tracking_finish (WbClient                    *self,
                                                     GAsyncResult                *result,
                                                     GError                     **error);

/* GET /carriers: every carrier with its limits and figures. */
void              wb_client_list_carriers_async     (WbClient                    *self,
                                                     GCancellable                *cancellable,
                                                     GAsyncReadyCallback          callback,
                                                     gpointer                     user_data);
GPtrArray        *wb_client_list_carriers_finish    (WbClient                    *self,
                                                     GAsyncResult                *result,
                                                     GError                     **error);

G_END_DECLS
