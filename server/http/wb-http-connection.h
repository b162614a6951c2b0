// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define WB_TYPE_HTTP_CONNECTION (wb_http_connection_get_type ())
G_DECLARE_FINAL_TYPE (WbHttpConnection, wb_http_connection, WB, HTTP_CONNECTION, GIOStream)

WbHttpConnection *wb_http_connection_new                  (GSocketConnection *base);
GSocket          *wb_http_connection_get_socket           (WbHttpConnection  *self);
void              wb_http_connection_set_between_requests (WbHttpConnection  *self,
                                                           gboolean           between);
gboolean          wb_http_connection_get_peer_ended       (WbHttpConnection  *self);

G_END_DECLS
