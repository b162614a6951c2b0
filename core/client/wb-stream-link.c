// SPDX-License-Identifier: GPL-3.0-or-later
/* The reconnect machinery /ws/locations and /ws/events share. Everything
 * runs on the main context the link was started in; a connect in flight
 * holds a reference, so stopping (or dropping) the owner never leaves a
 * callback pointing at freed memory. */

#include "config.h"

#include "wb-client-json-private.h"
#include "wb-client-private.h"
#include "wb-stream-link-private.h"

#define DEFAULT_MIN_MS 500
#define DEFAULT_MAX_MS 30000
/* Messages received but not yet read. A client this far behind (a
 * stalled main loop, a slow machine) is better served by resuming: the
 * server's replay coalesces what it missed per vehicle. */
#define MAX_PENDING 64

struct _WbStreamLink
{
  GObject                      parent_instance;
  WbClient                    *client;
  char                        *path;
  const WbStreamLinkCallbacks *callbacks;   /* NULL once stopped for good */
  gpointer                     user_data;
  GMainContext                *context;
  WbStreamState                state;
  SoupWebsocketConnection     *connection;
  GCancellable                *cancellable;  /* the connect in flight */
  GSource                     *retry;
  GError                      *error;
  guint                        min_ms;
  guint                        max_ms;
  guint                        attempt;      /* failed attempts since the last live */
  gboolean                     running;
  GQueue                       pending;      /* GBytes: messages waiting to be read */
  gboolean                     reading;      /* one is on a worker thread */
  guint                        generation;   /* the connection; a read for an older one is dropped */
};

G_DEFINE_FINAL_TYPE (WbStreamLink, wb_stream_link, G_TYPE_OBJECT)

static void close_connection (WbStreamLink *self);

static void
clear_retry (WbStreamLink *self)
{
  if (self->retry == NULL)
    return;
  g_source_destroy (self->retry);
  g_clear_pointer (&self->retry, g_source_unref);
}

static void
wb_stream_link_dispose (GObject *object)
{
  _wb_stream_link_detach (WB_STREAM_LINK (object));
  G_OBJECT_CLASS (wb_stream_link_parent_class)->dispose (object);
}

static void
wb_stream_link_finalize (GObject *object)
{
  WbStreamLink *self = WB_STREAM_LINK (object);

  g_clear_object (&self->client);
  g_clear_pointer (&self->path, g_free);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_error (&self->error);

  G_OBJECT_CLASS (wb_stream_link_parent_class)->finalize (object);
}

static void
wb_stream_link_class_init (WbStreamLinkClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = wb_stream_link_dispose;
  object_class->finalize = wb_stream_link_finalize;
}

static void
wb_stream_link_init (WbStreamLink *self)
{
  self->min_ms = DEFAULT_MIN_MS;
  self->max_ms = DEFAULT_MAX_MS;
}

WbStreamLink *
_wb_stream_link_new (WbClient                    *client,
                     const char                  *path,
                     const WbStreamLinkCallbacks *callbacks,
                     gpointer                     user_data)
{
  WbStreamLink *self = g_object_new (WB_TYPE_STREAM_LINK, NULL);

  self->client = g_object_ref (client);
  self->path = g_strdup (path);
  self->callbacks = callbacks;
  self->user_data = user_data;
  return self;
}

void
_wb_stream_link_set_backoff (WbStreamLink *self,
                             guint         min_ms,
                             guint         max_ms)
{
  g_return_if_fail (min_ms > 0 && min_ms <= max_ms);

  self->min_ms = min_ms;
  self->max_ms = max_ms;
}

static void
set_state (WbStreamLink  *self,
           WbStreamState  state)
{
  if (self->state == state)
    return;
  self->state = state;
  if (self->callbacks != NULL)
    self->callbacks->state_changed (state, self->user_data);
}

static void
set_error (WbStreamLink *self,
           GError       *error)
{
  g_clear_error (&self->error);
  self->error = error;
}

/* Exponential, capped, with "equal jitter": half the delay is fixed, half
 * random, so clients dropped together do not come back together. */
static guint
next_delay (WbStreamLink *self)
{
  guint64 delay = self->min_ms;

  for (guint i = 0; i < self->attempt && delay < self->max_ms; i++)
    delay *= 2;
  delay = MIN (delay, self->max_ms);
  self->attempt++;
  return (guint) (delay / 2 + g_random_int_range (0, (gint32) (delay - delay / 2) + 1));
}

static void connect_now (WbStreamLink *self);

static gboolean
on_retry (gpointer data)
{
  WbStreamLink *self = data;

  g_clear_pointer (&self->retry, g_source_unref);
  connect_now (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_retry (WbStreamLink *self)
{
  guint delay = next_delay (self);

  g_debug ("%s: connecting again in %u ms (attempt %u)", self->path, delay, self->attempt);
  set_state (self, WB_STREAM_STATE_RECONNECTING);
  clear_retry (self);
  self->retry = g_timeout_source_new (delay);
  g_source_set_callback (self->retry, on_retry, self, NULL);
  g_source_attach (self->retry, self->context);
}

typedef struct
{
  GBytes        *message;
  gpointer     (*read) (JsonNode *message, GError **error);
  GDestroyNotify free_frame;
  guint          generation;
} Reading;

static void
reading_free (Reading *reading)
{
  g_bytes_unref (reading->message);
  g_free (reading);
}

static void
read_in_thread (GTask        *task,
                gpointer      source,
                gpointer      data,
                GCancellable *cancellable)
{
  const WbJsonLimits limits = { WB_CLIENT_MAX_ANSWER_SIZE, WB_JSON_DEFAULT_MAX_DEPTH };
  Reading *reading = data;
  GError *error = NULL;
  g_autoptr(JsonNode) node = wb_json_parse_bytes (reading->message, &limits, &error);
  gpointer frame = node ? reading->read (node, &error) : NULL;

  if (frame == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, frame, reading->free_frame);
}

static void read_next (WbStreamLink *self);

static void
on_read (GObject      *source,
         GAsyncResult *result,
         gpointer      data)
{
  WbStreamLink *self = WB_STREAM_LINK (source);
  Reading *reading = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  gpointer frame = g_task_propagate_pointer (G_TASK (result), &error);

  self->reading = FALSE;
  if (reading->generation != self->generation || self->callbacks == NULL)
    g_clear_pointer (&frame, reading->free_frame);
  else if (frame == NULL)
    return _wb_stream_link_reconnect (self, error->message);
  else
    {
      self->callbacks->frame (frame, self->user_data);
      reading->free_frame (frame);
    }
  read_next (self);
}

static void
read_next (WbStreamLink *self)
{
  g_autoptr(GTask) task = NULL;
  Reading *reading;

  if (self->reading || g_queue_is_empty (&self->pending) || self->callbacks == NULL)
    return;
  reading = g_new0 (Reading, 1);
  reading->message = g_queue_pop_head (&self->pending);
  reading->read = self->callbacks->read;
  reading->free_frame = self->callbacks->free_frame;
  reading->generation = self->generation;
  task = g_task_new (self, NULL, on_read, NULL);
  g_task_set_source_tag (task, read_next);
  g_task_set_task_data (task, reading, (GDestroyNotify) reading_free);
  self->reading = TRUE;
  g_task_run_in_thread (task, read_in_thread);
}

static void
on_message (SoupWebsocketConnection *connection,
            gint                     type,
            GBytes                  *message,
            gpointer                 data)
{
  WbStreamLink *self = data;

  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    return _wb_stream_link_reconnect (self, "a binary message");
  if (g_queue_get_length (&self->pending) >= MAX_PENDING)
    {
      g_message ("%s: %u messages behind: resuming instead", self->path, MAX_PENDING);
      set_error (self, g_error_new (WB_CLIENT_ERROR, WB_CLIENT_ERROR_NETWORK, "Fell %u messages behind",
                                    MAX_PENDING));
      return _wb_stream_link_drop (self);
    }
  g_queue_push_tail (&self->pending, g_bytes_ref (message));
  read_next (self);
}

static void
on_closed (SoupWebsocketConnection *connection,
           gpointer                 data)
{
  WbStreamLink *self = data;
  const char *reason = soup_websocket_connection_get_close_data (connection);

  set_error (self, g_error_new (WB_CLIENT_ERROR, WB_CLIENT_ERROR_NETWORK, "The stream closed (%u%s%s)",
                                soup_websocket_connection_get_close_code (connection),
                                reason && *reason ? ": " : "", reason ? reason : ""));
  close_connection (self);
  if (self->running)
    schedule_retry (self);
}

static void
close_connection (WbStreamLink *self)
{
  g_autoptr(SoupWebsocketConnection) connection = g_steal_pointer (&self->connection);

  /* Messages of this connection not yet applied are never applied. */
  self->generation++;
  g_queue_clear_full (&self->pending, (GDestroyNotify) g_bytes_unref);
  if (connection == NULL)
    return;
  g_signal_handlers_disconnect_by_data (connection, self);
  if (soup_websocket_connection_get_state (connection) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (connection, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
}

static GError *
handshake_error (SoupMessage *message,
                 GError      *cause)
{
  guint status = soup_message_get_status (message);

  if (g_error_matches (cause, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
    return g_error_new (WB_CLIENT_ERROR, WB_CLIENT_ERROR_CONNECTION_REFUSED, "%s", cause->message);
  if (status == SOUP_STATUS_UNAUTHORIZED)
    return g_error_new (WB_CLIENT_ERROR, WB_CLIENT_ERROR_UNAUTHORIZED, "The server refused the token");
  if (status == SOUP_STATUS_FORBIDDEN)
    return g_error_new (WB_CLIENT_ERROR, WB_CLIENT_ERROR_FORBIDDEN, "The token's role may not read this stream");
  return g_error_new (WB_CLIENT_ERROR, WB_CLIENT_ERROR_NETWORK, "%s", cause->message);
}

static void
on_connected (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  g_autoptr(WbStreamLink) self = data;
  SoupMessage *message = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  g_autoptr(GError) error = NULL;
  SoupWebsocketConnection *connection = soup_session_websocket_connect_finish (SOUP_SESSION (source), result,
                                                                                &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || !self->running)
    {
      g_clear_object (&connection);
      return;
    }
  g_clear_object (&self->cancellable);
  if (connection == NULL)
    {
      set_error (self, handshake_error (message, error));
      g_debug ("%s: %s", self->path, self->error->message);
      return schedule_retry (self);
    }
  self->connection = connection;
  /* A snapshot of a big view comes as one frame: libsoup's 128 KiB
   * default would close the stream with 1009. */
  soup_websocket_connection_set_max_incoming_payload_size (connection, WB_CLIENT_MAX_ANSWER_SIZE);
  g_signal_connect (connection, "message", G_CALLBACK (on_message), self);
  g_signal_connect (connection, "closed", G_CALLBACK (on_closed), self);
  if (self->callbacks != NULL)
    self->callbacks->opened (self->user_data);
}

static void
connect_now (WbStreamLink *self)
{
  g_autoptr(SoupMessage) message = _wb_client_new_websocket_message (self->client, self->path);

  if (message == NULL)
    {
      set_error (self, g_error_new (WB_CLIENT_ERROR, WB_CLIENT_ERROR_NETWORK, "Not a valid address: %s",
                                    wb_client_get_base_url (self->client)));
      return schedule_retry (self);
    }
  self->cancellable = g_cancellable_new ();
  soup_session_websocket_connect_async (_wb_client_get_session (self->client), message, NULL, NULL,
                                        G_PRIORITY_DEFAULT, self->cancellable, on_connected, g_object_ref (self));
}

void
_wb_stream_link_start (WbStreamLink *self)
{
  g_return_if_fail (WB_IS_STREAM_LINK (self));

  if (self->running)
    return;
  self->running = TRUE;
  self->attempt = 0;
  g_clear_pointer (&self->context, g_main_context_unref);
  self->context = g_main_context_ref_thread_default ();
  set_state (self, WB_STREAM_STATE_CONNECTING);
  connect_now (self);
}

void
_wb_stream_link_stop (WbStreamLink *self)
{
  g_return_if_fail (WB_IS_STREAM_LINK (self));

  self->running = FALSE;
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  clear_retry (self);
  close_connection (self);
  set_state (self, WB_STREAM_STATE_DISCONNECTED);
}

void
_wb_stream_link_detach (WbStreamLink *self)
{
  g_return_if_fail (WB_IS_STREAM_LINK (self));

  self->callbacks = NULL;
  _wb_stream_link_stop (self);
}

void
_wb_stream_link_set_live (WbStreamLink *self)
{
  g_return_if_fail (WB_IS_STREAM_LINK (self));

  if (!self->running || self->connection == NULL)
    return;
  self->attempt = 0;
  set_state (self, WB_STREAM_STATE_LIVE);
}

void
_wb_stream_link_reconnect (WbStreamLink *self,
                           const char   *why)
{
  g_return_if_fail (WB_IS_STREAM_LINK (self));

  g_warning ("%s: dropping the stream: %s", self->path, why);
  set_error (self, g_error_new (WB_CLIENT_ERROR, WB_CLIENT_ERROR_INVALID_RESPONSE, "%s", why));
  close_connection (self);
  if (self->running)
    schedule_retry (self);
}

void
_wb_stream_link_drop (WbStreamLink *self)
{
  g_return_if_fail (WB_IS_STREAM_LINK (self));

  close_connection (self);
  if (self->running)
    schedule_retry (self);
}

gboolean
_wb_stream_link_send (WbStreamLink *self,
                      const char   *text)
{
  g_return_val_if_fail (WB_IS_STREAM_LINK (self), FALSE);

  if (!_wb_stream_link_is_open (self))
    return FALSE;
  soup_websocket_connection_send_text (self->connection, text);
  return TRUE;
}

gboolean
_wb_stream_link_is_open (WbStreamLink *self)
{
  return self->connection != NULL
         && soup_websocket_connection_get_state (self->connection) == SOUP_WEBSOCKET_STATE_OPEN;
}

WbStreamState
_wb_stream_link_get_state (WbStreamLink *self)
{
  return self->state;
}

const GError *
_wb_stream_link_get_error (WbStreamLink *self)
{
  return self->error;
}

guint
_wb_stream_link_get_attempt (WbStreamLink *self)
{
  return self->attempt;
}
