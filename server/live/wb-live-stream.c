// SPDX-License-Identifier: GPL-3.0-or-later
/* One gateway WebSocket, whichever endpoint.
 *
 * libsoup 3.2 leaves holes this closes: pings are sent (the keepalive
 * interval) but an unanswered one closes nothing, so silence past the pong
 * timeout closes here; its size limit applies per frame, so a message sent
 * as many fragments could grow without bound: the bytes the kernel has
 * received since the last whole message are checked as they arrive; and it
 * queues whatever is sent without bound, so callers send only when the
 * socket is writable again. */

#include "config.h"

#include <netinet/in.h>
#include <linux/tcp.h>
#include <sys/socket.h>

#include "wb-json-reader.h"
#include "wb-live-stream.h"

#define CLOSE_REASON_MAX 120   /* a close frame's reason is at most 123 bytes */
/* The kernel's share of a stalled client: with Linux's default autotuning
 * a socket may buffer megabytes, ten thousand times over. */
#define SEND_BUFFER      (64 * 1024)
/* How long a closing stream waits for the client's close frame. libsoup
 * would wait 5 s, and its timer, once it fires, is never freed (3.2.3):
 * this one ends the wait first, the client's side shut, and libsoup then
 * closes the connection with its timer stopped. A client closed for not
 * answering pings is aborted then (a reset, not a FIN): its FIN would wait
 * behind the frames the kernel still holds for it, and so would that
 * memory. Any other client gets a FIN after its close frame, so one that
 * reads again, however late, finds the reason. */
#define CLOSE_GRACE_MS   2000

struct _WbLiveStream
{
  SoupWebsocketConnection *connection;
  GSocket                 *socket;
  char                    *peer;
  WbLiveStreamLimits       limits;
  gint64                   expires_at;           /* unix s, 0: never */
  WbLiveStreamMessage      on_message;
  WbLiveStreamClosed       on_closed;
  gpointer                 user_data;
  GSource                 *read_watch;
  GSource                 *close_grace;
  guint64                  received_at_message;  /* kernel's byte count after the last whole message */
  gint64                   last_activity;
  guint64                  frames;
  char                    *close_reason;         /* for the metrics, once closing */
};

static guint64
bytes_received (WbLiveStream *self)
{
  struct tcp_info info = { 0 };
  socklen_t length = sizeof info;

  if (getsockopt (g_socket_get_fd (self->socket), IPPROTO_TCP, TCP_INFO, &info, &length) != 0
      || length < G_STRUCT_OFFSET (struct tcp_info, tcpi_bytes_received) + sizeof info.tcpi_bytes_received)
    return 0;
  return info.tcpi_bytes_received;
}

static void
stop_watching (WbLiveStream *self)
{
  if (self->read_watch == NULL)
    return;
  g_source_destroy (self->read_watch);
  g_clear_pointer (&self->read_watch, g_source_unref);
}

static gboolean
on_close_grace_over (gpointer data)
{
  WbLiveStream *self = data;

  g_clear_pointer (&self->close_grace, g_source_unref);
  if (soup_websocket_connection_get_state (self->connection) != SOUP_WEBSOCKET_STATE_CLOSED
      && g_strcmp0 (self->close_reason, "pong_timeout") == 0)
    {
      struct linger abort_on_close = { .l_onoff = 1, .l_linger = 0 };

      /* No FIN: libsoup, finding the reading side shut, closes the socket,
       * and with no linger that close is the reset. */
      (void) setsockopt (g_socket_get_fd (self->socket), SOL_SOCKET, SO_LINGER, &abort_on_close,
                         sizeof abort_on_close);
      (void) g_socket_shutdown (self->socket, TRUE, FALSE, NULL);
    }
  else if (soup_websocket_connection_get_state (self->connection) != SOUP_WEBSOCKET_STATE_CLOSED)
    (void) g_socket_shutdown (self->socket, TRUE, TRUE, NULL);
  return G_SOURCE_REMOVE;
}

void
wb_live_stream_close (WbLiveStream *self,
                      gushort       code,
                      const char   *reason,
                      const char   *metric_reason)
{
  g_autofree char *shortened = NULL;

  g_return_if_fail (self != NULL);

  if (self->close_reason != NULL)
    return;
  self->close_reason = g_strdup (metric_reason);
  stop_watching (self);
  shortened = g_utf8_make_valid (reason, MIN (strlen (reason), CLOSE_REASON_MAX));
  if (soup_websocket_connection_get_state (self->connection) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (self->connection, code, shortened);
  if (self->close_grace == NULL)
    self->close_grace = wb_live_timeout_add (CLOSE_GRACE_MS, on_close_grace_over, self);
}

void
wb_live_stream_close_bad_message (WbLiveStream *self,
                                  const GError *error)
{
  g_autofree char *reason = error->domain == WB_JSON_ERROR && error->code == WB_JSON_ERROR_FIELD
    ? g_strdup_printf ("%s: %s", wb_json_error_get_field (error), error->message)
    : g_strdup_printf ("Not valid JSON: %s", error->message);

  wb_live_stream_close (self, SOUP_WEBSOCKET_CLOSE_BAD_DATA, reason, "bad_message");
}

/* Same priority as libsoup's own reader, so both run in one pass and
 * libsoup drains what woke this. */
static gboolean
on_readable (GSocket      *socket,
             GIOCondition  condition,
             gpointer      data)
{
  WbLiveStream *self = data;
  guint64 received = bytes_received (self);

  if (received > self->received_at_message
      && received - self->received_at_message > self->limits.max_message_size + 64)
    {
      g_autofree char *reason = g_strdup_printf ("A message may be at most %" G_GUINT64_FORMAT " bytes",
                                                 self->limits.max_message_size);

      g_clear_pointer (&self->read_watch, g_source_unref);
      wb_live_stream_close (self, SOUP_WEBSOCKET_CLOSE_TOO_BIG, reason, "too_big");
      /* libsoup would go on gathering the message while it waits for the
       * client's close: nothing more is read. */
      (void) g_socket_shutdown (self->socket, TRUE, FALSE, NULL);
      return G_SOURCE_REMOVE;
    }
  if (condition & (G_IO_HUP | G_IO_ERR))
    {
      g_clear_pointer (&self->read_watch, g_source_unref);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static void
on_message (SoupWebsocketConnection *connection,
            gint                     type,
            GBytes                  *message,
            gpointer                 data)
{
  WbLiveStream *self = data;

  if (self->close_reason != NULL)
    return;
  self->last_activity = g_get_monotonic_time ();
  self->received_at_message = bytes_received (self);
  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    {
      wb_live_stream_close (self, SOUP_WEBSOCKET_CLOSE_UNSUPPORTED_DATA,
                            "Only text subscribe messages are accepted", "bad_message");
      return;
    }
  self->on_message (self, message, self->user_data);
}

static void
on_pong (SoupWebsocketConnection *connection,
         GBytes                  *message,
         gpointer                 data)
{
  WbLiveStream *self = data;

  self->last_activity = g_get_monotonic_time ();
  self->received_at_message = bytes_received (self);
}

static void
on_closed (SoupWebsocketConnection *connection,
           gpointer                 data)
{
  WbLiveStream *self = data;

  stop_watching (self);
  self->on_closed (self, self->close_reason ? self->close_reason : "client", self->user_data);
}

WbLiveStream *
wb_live_stream_new (SoupWebsocketConnection  *connection,
                    GSocket                  *socket,
                    const char               *peer,
                    gint64                    expires_at,
                    const WbLiveStreamLimits *limits,
                    WbLiveStreamMessage       on_message_func,
                    WbLiveStreamClosed        on_closed_func,
                    gpointer                  user_data)
{
  WbLiveStream *self = g_new0 (WbLiveStream, 1);

  self->connection = g_object_ref (connection);
  self->socket = g_object_ref (socket);
  self->peer = g_strdup (peer);
  self->expires_at = expires_at;
  self->limits = *limits;
  self->on_message = on_message_func;
  self->on_closed = on_closed_func;
  self->user_data = user_data;
  self->last_activity = g_get_monotonic_time ();
  self->received_at_message = bytes_received (self);

  /* The HTTP side's idle timeout is for requests; here the pong timeout
   * decides. */
  g_socket_set_timeout (socket, 0);
  (void) g_socket_set_option (socket, SOL_SOCKET, SO_SNDBUF, SEND_BUFFER, NULL);
  soup_websocket_connection_set_keepalive_interval (connection, limits->keepalive_s);
  soup_websocket_connection_set_max_incoming_payload_size (connection, limits->max_message_size);
  g_signal_connect (connection, "message", G_CALLBACK (on_message), self);
  g_signal_connect (connection, "pong", G_CALLBACK (on_pong), self);
  g_signal_connect (connection, "closed", G_CALLBACK (on_closed), self);
  self->read_watch = g_socket_create_source (socket, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
  g_source_set_callback (self->read_watch, G_SOURCE_FUNC (on_readable), self, NULL);
  g_source_attach (self->read_watch, g_main_context_get_thread_default ());
  return self;
}

void
wb_live_stream_free (WbLiveStream *self)
{
  if (self == NULL)
    return;
  stop_watching (self);
  if (self->close_grace != NULL)
    g_source_destroy (self->close_grace);
  g_clear_pointer (&self->close_grace, g_source_unref);
  g_signal_handlers_disconnect_by_data (self->connection, self);
  if (soup_websocket_connection_get_state (self->connection) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (self->connection, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, "The gateway stops");
  g_clear_object (&self->connection);
  g_clear_object (&self->socket);
  g_free (self->peer);
  g_free (self->close_reason);
  g_free (self);
}

const char *
wb_live_stream_get_peer (WbLiveStream *self)
{
  return self->peer;
}

const WbLiveStreamLimits *
wb_live_stream_get_limits (WbLiveStream *self)
{
  return &self->limits;
}

gboolean
wb_live_stream_is_open (WbLiveStream *self)
{
  return self->close_reason == NULL
         && soup_websocket_connection_get_state (self->connection) == SOUP_WEBSOCKET_STATE_OPEN;
}

gboolean
wb_live_stream_can_send (WbLiveStream *self)
{
  return wb_live_stream_is_open (self) && (g_socket_condition_check (self->socket, G_IO_OUT) & G_IO_OUT) != 0;
}

void
wb_live_stream_send_text (WbLiveStream *self,
                          const char   *text)
{
  if (!wb_live_stream_is_open (self))
    return;
  soup_websocket_connection_send_text (self->connection, text);
  self->frames++;
}

guint64
wb_live_stream_get_frames (WbLiveStream *self)
{
  return self->frames;
}

gboolean
wb_live_stream_check (WbLiveStream *self,
                      gint64        now)
{
  if (!wb_live_stream_is_open (self))
    return FALSE;
  if (now - self->last_activity > (gint64) self->limits.pong_timeout_ms * 1000)
    {
      wb_live_stream_close (self, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, "No pong or message within the timeout",
                            "pong_timeout");
      return FALSE;
    }
  /* The handshake was the only check of the token: what a token no longer
   * admits over REST it no longer admits here. */
  if (self->expires_at != 0 && g_get_real_time () / G_USEC_PER_SEC >= self->expires_at)
    {
      wb_live_stream_close (self, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION, "Token expired", "token_expired");
      return FALSE;
    }
  return TRUE;
}

/* The live parts run in the thread-default main context of whoever owns
 * them (one of the gateway's threads), never in the global default one. */
void
wb_live_idle_add (GSourceFunc func,
                  gpointer    data)
{
  g_autoptr(GSource) source = g_idle_source_new ();

  g_source_set_callback (source, func, data, NULL);
  g_source_attach (source, g_main_context_get_thread_default ());
}

/* Returns: (transfer full): the attached timer; g_source_destroy() ends it */
GSource *
wb_live_timeout_add (guint       interval_ms,
                     GSourceFunc func,
                     gpointer    data)
{
  GSource *source = g_timeout_source_new (interval_ms);

  g_source_set_callback (source, func, data, NULL);
  g_source_attach (source, g_main_context_get_thread_default ());
  return source;
}
