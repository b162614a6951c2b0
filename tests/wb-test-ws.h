// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

/* WebSocket clients for the gateway's tests: libsoup's client run
 * synchronously on the thread-default context, and a raw client on a
 * plain socket for what libsoup's will not do (never read, send
 * fragments, ignore pings). */

/* Iterates the thread-default main context until *@flag, failing the test
 * after @timeout_s seconds. */
void               wb_test_ws_iterate_until     (gboolean           *flag,
                                                 guint               timeout_s,
                                                 const char         *what);
/* libsoup's handshake to @uri, with @token (nullable) as a Bearer header;
 * NULL with @error when it is refused. */
SoupWebsocketConnection *
                   wb_test_ws_connect           (SoupSession        *session,
                                                 const char         *uri,
                                                 const char         *token,
                                                 guint               timeout_s,
                                                 GError            **error);
/* A raw client past the handshake to ws://127.0.0.1:@port@path, with a
 * tiny receive buffer (4 KiB), so that a client that never reads stalls
 * the server's sends soon. */
GSocketConnection *wb_test_ws_raw_connect       (guint               port,
                                                 const char         *path,
                                                 const char         *token);
/* One masked client frame whose first byte is @first_byte (FIN and
 * opcode); FALSE once the server has hung up. */
gboolean           wb_test_ws_send_frame        (GSocketConnection  *connection,
                                                 guint8              first_byte,
                                                 const char         *payload,
                                                 gsize               length);
/* Reads frames until the server's close frame and returns its code; 0 if
 * the server hangs up without one or @timeout_s passes. */
guint              wb_test_ws_read_close_code   (GSocketConnection  *connection,
                                                 guint               timeout_s);

G_END_DECLS
