// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#if !defined (WB_CLIENT_COMPILATION)
# error "wb-client-private.h is private to core/client"
#endif

#include <libsoup/soup.h>

#include "wb-client.h"

G_BEGIN_DECLS

SoupSession *_wb_client_get_session           (WbClient   *self);
/* A WebSocket handshake for @path ("/ws/locations") on the same server,
 * ws:// or wss:// after the base URL's scheme, with the bearer token. */
SoupMessage *_wb_client_new_websocket_message (WbClient   *self,
                                               const char *path);

G_END_DECLS
