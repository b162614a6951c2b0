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

/* A GET of @path whose answer @read turns into a typed value (NULL with a
 * WB_JSON_ERROR naming the member at fault); the task then returns it, or
 * fails with WB_CLIENT_ERROR_INVALID_RESPONSE saying @what was asked. */
typedef gpointer (*WbClientReadAnswer) (JsonNode *node, GError **error);

void         _wb_client_call_typed            (WbClient             *self,
                                               const char           *path,
                                               const char           *what,
                                               WbClientReadAnswer    read,
                                               GDestroyNotify        free_result,
                                               gpointer              source_tag,
                                               GCancellable         *cancellable,
                                               GAsyncReadyCallback   callback,
                                               gpointer              user_data);

/* The same for any @method with an optional JSON @body. */
void         _wb_client_call_typed_full       (WbClient             *self,
                                               const char           *method,
                                               const char           *path,
                                               JsonNode             *body,
                                               const char           *what,
                                               WbClientReadAnswer    read,
                                               GDestroyNotify        free_result,
                                               gpointer              source_tag,
                                               GCancellable         *cancellable,
                                               GAsyncReadyCallback   callback,
                                               gpointer              user_data);

G_END_DECLS
