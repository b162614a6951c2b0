// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <libsoup/soup.h>

#include "wb-live-outbox.h"
#include "wb-live-stream.h"
#include "wb-live-view.h"

G_BEGIN_DECLS

typedef struct _WbLiveClient WbLiveClient;

/* What a client asked for; the gateway answers it. */
typedef void (*WbLiveClientSubscribe) (WbLiveClient     *client,
                                       WbLiveView       *view,       /* transfer full */
                                       const char       *since_epoch, /* nullable */
                                       guint64           since_seq,
                                       gpointer          user_data);
/* A close, with its reason for the metrics ("client", "slow", "pong_timeout", …). */
typedef void (*WbLiveClientClosed)    (WbLiveClient     *client,
                                       const char       *reason,
                                       gpointer          user_data);

/* @expires_at: unix seconds at which the stream closes with 1008 "Token
 * expired" (the token's own end), 0 for never.
 * Returns: (nullable): the client, or %NULL (logged, the connection
 *   closed) when its stream could not be watched */
WbLiveClient  *wb_live_client_new            (guint64                    id,
                                              GIOStream                 *stream,
                                              GSocket                   *socket,
                                              const char                *peer,
                                              gint64                     expires_at,
                                              const WbLiveStreamLimits  *limits,
                                              WbLiveClientSubscribe      on_subscribe,
                                              WbLiveClientClosed         on_closed,
                                              gpointer                   user_data);
void           wb_live_client_free           (WbLiveClient              *self);
guint64        wb_live_client_get_id         (WbLiveClient              *self);
const char    *wb_live_client_get_peer       (WbLiveClient              *self);
WbLiveOutbox  *wb_live_client_get_outbox     (WbLiveClient              *self);
const WbLiveView *wb_live_client_get_view    (WbLiveClient              *self);
void           wb_live_client_set_view       (WbLiveClient              *self,
                                              WbLiveView                *view);
/* Sends one text frame now, outside the batching (resync). */
void           wb_live_client_send_now       (WbLiveClient              *self,
                                              const char                *text);
/* Once per batching window: sends what is pending as one frame when the
 * previous frame has left, else keeps coalescing; closes a client over
 * its bound past the deadline, silent past the pong timeout, or whose
 * token has expired.
 * @epoch and @seq are the stream position the frame brings it to;
 * @scratch is where the frame is written (the thread's own, reused, so
 * that no frame costs an allocation of its size). Never calls on_closed.
 */
void           wb_live_client_tick           (WbLiveClient              *self,
                                              const char                *epoch,
                                              guint64                    seq,
                                              gint64                     now,
                                              GString                   *scratch);
/* Closes (once) with @code and @reason; on_closed follows once the
 * connection is over. */
void           wb_live_client_close          (WbLiveClient              *self,
                                              gushort                    code,
                                              const char                *reason,
                                              const char                *metric_reason);
guint64        wb_live_client_get_frames     (WbLiveClient              *self);

G_END_DECLS
