// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

/* The limits of one stream, from the gateway.* keys; /ws/locations and
 * /ws/events share them. */
typedef struct
{
  guint   keepalive_s;        /* ping interval */
  guint   pong_timeout_ms;    /* silence (no pong, no message) that closes */
  guint64 max_message_size;   /* a whole message, fragments included */
  guint   outbox_bound;       /* pending before the client counts as slow */
  guint   outbox_hard_limit;
  guint   slow_deadline_ms;   /* over the bound this long: closed */
} WbLiveStreamLimits;

typedef struct _WbLiveStream WbLiveStream;

/* A whole text message; binary ones are refused here (1003). */
typedef void (*WbLiveStreamMessage) (WbLiveStream *stream,
                                     GBytes       *message,
                                     gpointer      user_data);
/* Once, when the connection is over, with the reason for the metrics:
 * "client" when the client closed or went away, else the one given to
 * wb_live_stream_close() ("slow", "pong_timeout", "too_big", …). */
typedef void (*WbLiveStreamClosed)  (WbLiveStream *stream,
                                     const char   *reason,
                                     gpointer      user_data);

/* One upgraded WebSocket connection of the gateway (RFC 6455, the server
 * side, no extensions): every stream of a main context is in one epoll
 * set. It keeps a small kernel send buffer, sends keepalive pings and
 * closes on a pong timeout, caps whole messages however fragmented, ends
 * with the token's expiry, and says when the previous frame has left
 * (wb_live_stream_can_send()).
 * @io_stream: the connection as the HTTP server hands it over after the
 *   101; whatever it had read past the handshake is the stream's start
 * @expires_at: unix seconds at which it closes with 1008 "Token expired",
 *   0 for never.
 * Returns: the stream, or %NULL (logged) if it could not be watched */
WbLiveStream *wb_live_stream_new               (GIOStream                *io_stream,
                                                GSocket                  *socket,
                                                const char               *peer,
                                                gint64                    expires_at,
                                                const WbLiveStreamLimits *limits,
                                                WbLiveStreamMessage       on_message,
                                                WbLiveStreamClosed        on_closed,
                                                gpointer                  user_data);
/* Closes with 1001 "The gateway stops" if still open; on_closed is not
 * called any more. */
void          wb_live_stream_free              (WbLiveStream             *self);
/* Answers an upgraded connection with a close frame (@code, @reason),
 * waits for the client's close as any stream does, and frees itself. */
void          wb_live_stream_refuse            (GIOStream                *io_stream,
                                                GSocket                  *socket,
                                                const char               *peer,
                                                gushort                   code,
                                                const char               *reason);
void          wb_live_idle_add                 (GSourceFunc               func,
                                                gpointer                  data);
GSource      *wb_live_timeout_add              (guint                     interval_ms,
                                                GSourceFunc               func,
                                                gpointer                  data);
const char   *wb_live_stream_get_peer          (WbLiveStream             *self);
const WbLiveStreamLimits *
              wb_live_stream_get_limits        (WbLiveStream             *self);
/* Open and not closing. */
gboolean      wb_live_stream_is_open           (WbLiveStream             *self);
/* Open, and the previous frame has left for the kernel: a frame goes out
 * only then, so at most one waits in the stream. */
gboolean      wb_live_stream_can_send          (WbLiveStream             *self);
void          wb_live_stream_send_text         (WbLiveStream             *self,
                                                const char               *text);
guint64       wb_live_stream_get_frames        (WbLiveStream             *self);
/* Closes once with @code and @reason (shortened to fit a close frame). */
void          wb_live_stream_close             (WbLiveStream             *self,
                                                gushort                   code,
                                                const char               *reason,
                                                const char               *metric_reason);
/* 1007 with the field at fault, for a message that is not what the
 * stream takes; counted as "bad_message". */
void          wb_live_stream_close_bad_message (WbLiveStream             *self,
                                                const GError             *error);
/* Each batching window: closes a stream silent past the pong timeout, or
 * whose token has expired, and sends the keepalive ping when it is due.
 * Returns whether it is still open. */
gboolean      wb_live_stream_check             (WbLiveStream             *self,
                                                gint64                    now);

G_END_DECLS
