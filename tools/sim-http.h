// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

#define WB_TYPE_SIM_HTTP (wb_sim_http_get_type ())

/* An HTTP client for the simulator: one SoupSession, a bearer token on
 * every request, and Waybill's back-pressure honoured: a 503 is sent again
 * after its Retry-After (never dropped), a failed connection again after a
 * second, a few times. */
G_DECLARE_FINAL_TYPE (WbSimHttp, wb_sim_http, WB, SIM_HTTP, GObject)

/* Transport failures in a row before a request is given up. */
#define WB_SIM_HTTP_MAX_FAILURES 5

WbSimHttp *wb_sim_http_new          (const char          *token,
                                     guint                max_connections);

/* @body: (nullable): sent with @content_type. */
void       wb_sim_http_send_async   (WbSimHttp           *self,
                                     const char          *method,
                                     const char          *uri,
                                     const char          *content_type,
                                     GBytes              *body,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data);
/* Returns: (transfer full): the final answer's body; @out_status its status
 * (never 503 unless cancelled), @out_retries how many times it was sent
 * again. */
GBytes    *wb_sim_http_send_finish  (WbSimHttp           *self,
                                     GAsyncResult        *result,
                                     guint               *out_status,
                                     guint               *out_retries,
                                     GError             **error);

G_END_DECLS
