// SPDX-License-Identifier: GPL-3.0-or-later
/* One accepted TCP connection, as the HTTP server hands it to libsoup.
 *
 * libsoup 3.2 waits for a kept-alive connection's next request with a
 * message nobody else has seen. When that wait ends in the client's end of
 * stream, an error or the socket timeout, libsoup drops the message but
 * keeps the connection, half torn down: nothing releases it any more, and
 * taking it back (soup_server_message_steal_connection()) crashes. A poll
 * cannot tell libsoup's read from ours first: Linux may report a closing
 * socket readable a moment before it reports the hang-up.
 *
 * So the server reads through this stream. Between requests (the server
 * says when), the end of stream or an error, met before any byte of a next
 * request, is held back: libsoup is told the read would block, waits on a
 * source that never fires, and "peer-ended" is emitted from the main loop,
 * where the server takes the connection back and closes it. Within a
 * request, and once libsoup has let the connection go (a WebSocket), the
 * stream passes everything through. Writes go straight to the socket's own
 * output stream. */

#include "config.h"

#include "wb-http-connection.h"

/* ---- the input side ----------------------------------------------------- */

#define WB_TYPE_HTTP_INPUT (wb_http_input_get_type ())
G_DECLARE_FINAL_TYPE (WbHttpInput, wb_http_input, WB, HTTP_INPUT, GInputStream)

struct _WbHttpInput
{
  GInputStream          parent_instance;

  GPollableInputStream *base;
  WbHttpConnection     *owner;          /* weak */
  gboolean              between;        /* the server waits for a next request */
  gboolean              request_bytes;  /* …and some of it has arrived */
  gboolean              held;           /* the end was held back */
};

static void wb_http_input_pollable_init (GPollableInputStreamInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (WbHttpInput, wb_http_input, G_TYPE_INPUT_STREAM,
                               G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_INPUT_STREAM,
                                                      wb_http_input_pollable_init))

struct _WbHttpConnection
{
  GIOStream          parent_instance;

  GSocketConnection *base;
  WbHttpInput       *input;
  GMainContext      *context;
};

G_DEFINE_FINAL_TYPE (WbHttpConnection, wb_http_connection, G_TYPE_IO_STREAM)

enum { PEER_ENDED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void connection_peer_ended_later (WbHttpConnection *self);

static gssize
input_read (WbHttpInput   *self,
            void          *buffer,
            gsize          count,
            gboolean       blocking,
            GCancellable  *cancellable,
            GError       **error)
{
  g_autoptr(GError) local_error = NULL;
  gssize n;

  if (self->held)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "The connection is closing");
      return -1;
    }
  n = g_pollable_stream_read (G_INPUT_STREAM (self->base), buffer, count, blocking, cancellable, &local_error);
  if (n > 0)
    {
      self->request_bytes = TRUE;
      return n;
    }
  if (n < 0 && g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return -1;
    }
  if (self->between && !self->request_bytes && self->owner != NULL)
    {
      self->held = TRUE;
      connection_peer_ended_later (self->owner);
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "The connection is closing");
      return -1;
    }
  if (local_error != NULL)
    g_propagate_error (error, g_steal_pointer (&local_error));
  return n;
}

static gssize
wb_http_input_read (GInputStream  *stream,
                    void          *buffer,
                    gsize          count,
                    GCancellable  *cancellable,
                    GError       **error)
{
  return input_read (WB_HTTP_INPUT (stream), buffer, count, TRUE, cancellable, error);
}

static gssize
wb_http_input_read_nonblocking (GPollableInputStream  *stream,
                                void                  *buffer,
                                gsize                  count,
                                GError               **error)
{
  return input_read (WB_HTTP_INPUT (stream), buffer, count, FALSE, NULL, error);
}

static gboolean
wb_http_input_can_poll (GPollableInputStream *stream)
{
  return TRUE;
}

static gboolean
wb_http_input_is_readable (GPollableInputStream *stream)
{
  WbHttpInput *self = WB_HTTP_INPUT (stream);

  return !self->held && g_pollable_input_stream_is_readable (self->base);
}

/* Once the end is held back, a source with nothing to wait on. */
static GSource *
wb_http_input_create_source (GPollableInputStream *stream,
                             GCancellable         *cancellable)
{
  WbHttpInput *self = WB_HTTP_INPUT (stream);
  g_autoptr(GSource) base_source = NULL;

  if (self->held)
    return g_pollable_source_new_full (stream, NULL, cancellable);
  base_source = g_pollable_input_stream_create_source (self->base, NULL);
  return g_pollable_source_new_full (stream, base_source, cancellable);
}

/* The connection closes the socket. */
static gboolean
wb_http_input_close (GInputStream  *stream,
                     GCancellable  *cancellable,
                     GError       **error)
{
  return TRUE;
}

static void
wb_http_input_finalize (GObject *object)
{
  WbHttpInput *self = WB_HTTP_INPUT (object);

  g_clear_object (&self->base);
  G_OBJECT_CLASS (wb_http_input_parent_class)->finalize (object);
}

static void
wb_http_input_pollable_init (GPollableInputStreamInterface *iface)
{
  iface->can_poll = wb_http_input_can_poll;
  iface->is_readable = wb_http_input_is_readable;
  iface->create_source = wb_http_input_create_source;
  iface->read_nonblocking = wb_http_input_read_nonblocking;
}

static void
wb_http_input_class_init (WbHttpInputClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GInputStreamClass *input_class = G_INPUT_STREAM_CLASS (klass);

  object_class->finalize = wb_http_input_finalize;
  input_class->read_fn = wb_http_input_read;
  input_class->close_fn = wb_http_input_close;
}

static void
wb_http_input_init (WbHttpInput *self)
{
}

/* ---- the connection ----------------------------------------------------- */

static gboolean
emit_peer_ended (gpointer data)
{
  g_signal_emit (data, signals[PEER_ENDED], 0);
  return G_SOURCE_REMOVE;
}

/* Never inside libsoup's read: from the main loop, ahead of other I/O. */
static void
connection_peer_ended_later (WbHttpConnection *self)
{
  g_autoptr(GSource) source = g_idle_source_new ();

  g_source_set_priority (source, G_PRIORITY_HIGH);
  g_source_set_callback (source, emit_peer_ended, g_object_ref (self), g_object_unref);
  g_source_attach (source, self->context);
}

static GInputStream *
wb_http_connection_get_input_stream (GIOStream *stream)
{
  return G_INPUT_STREAM (WB_HTTP_CONNECTION (stream)->input);
}

static GOutputStream *
wb_http_connection_get_output_stream (GIOStream *stream)
{
  return g_io_stream_get_output_stream (G_IO_STREAM (WB_HTTP_CONNECTION (stream)->base));
}

static gboolean
wb_http_connection_close (GIOStream     *stream,
                          GCancellable  *cancellable,
                          GError       **error)
{
  return g_io_stream_close (G_IO_STREAM (WB_HTTP_CONNECTION (stream)->base), cancellable, error);
}

/* Closing a socket does not block: no thread for it. */
static void
wb_http_connection_close_async (GIOStream           *stream,
                                int                  io_priority,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (stream, cancellable, callback, user_data);
  GError *error = NULL;

  g_task_set_source_tag (task, wb_http_connection_close_async);
  if (wb_http_connection_close (stream, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static gboolean
wb_http_connection_close_finish (GIOStream     *stream,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
wb_http_connection_dispose (GObject *object)
{
  WbHttpConnection *self = WB_HTTP_CONNECTION (object);

  if (self->input != NULL)
    self->input->owner = NULL;
  G_OBJECT_CLASS (wb_http_connection_parent_class)->dispose (object);
}

static void
wb_http_connection_finalize (GObject *object)
{
  WbHttpConnection *self = WB_HTTP_CONNECTION (object);

  g_clear_object (&self->input);
  g_clear_object (&self->base);
  g_clear_pointer (&self->context, g_main_context_unref);
  G_OBJECT_CLASS (wb_http_connection_parent_class)->finalize (object);
}

static void
wb_http_connection_class_init (WbHttpConnectionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GIOStreamClass *stream_class = G_IO_STREAM_CLASS (klass);

  object_class->dispose = wb_http_connection_dispose;
  object_class->finalize = wb_http_connection_finalize;
  stream_class->get_input_stream = wb_http_connection_get_input_stream;
  stream_class->get_output_stream = wb_http_connection_get_output_stream;
  stream_class->close_fn = wb_http_connection_close;
  stream_class->close_async = wb_http_connection_close_async;
  stream_class->close_finish = wb_http_connection_close_finish;

  /**
   * WbHttpConnection::peer-ended:
   *
   * The client ended the connection (or it failed, or timed out) while
   * the server waited for its next request. Emitted once, from the main
   * loop of the thread that made the connection.
   */
  signals[PEER_ENDED] = g_signal_new ("peer-ended", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                      0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
wb_http_connection_init (WbHttpConnection *self)
{
}

/**
 * wb_http_connection_new:
 * @base: an accepted TCP connection
 *
 * Returns: (transfer full): @base, to hand to soup_server_accept_iostream()
 */
WbHttpConnection *
wb_http_connection_new (GSocketConnection *base)
{
  WbHttpConnection *self;

  g_return_val_if_fail (G_IS_SOCKET_CONNECTION (base), NULL);

  self = g_object_new (WB_TYPE_HTTP_CONNECTION, NULL);
  self->base = g_object_ref (base);
  self->context = g_main_context_ref_thread_default ();
  self->input = g_object_new (WB_TYPE_HTTP_INPUT, NULL);
  self->input->base = G_POLLABLE_INPUT_STREAM (g_object_ref (g_io_stream_get_input_stream (G_IO_STREAM (base))));
  self->input->owner = self;
  return self;
}

GSocket *
wb_http_connection_get_socket (WbHttpConnection *self)
{
  g_return_val_if_fail (WB_IS_HTTP_CONNECTION (self), NULL);
  return g_socket_connection_get_socket (self->base);
}

/**
 * wb_http_connection_set_between_requests:
 * @between: %TRUE once a request is answered and the server waits for the
 *   next, %FALSE when the next begins or libsoup lets the connection go
 */
void
wb_http_connection_set_between_requests (WbHttpConnection *self,
                                         gboolean          between)
{
  g_return_if_fail (WB_IS_HTTP_CONNECTION (self));

  self->input->between = between;
  self->input->request_bytes = FALSE;
}

/* Whether the end was held back ("peer-ended" is, or was, on its way). */
gboolean
wb_http_connection_get_peer_ended (WbHttpConnection *self)
{
  g_return_val_if_fail (WB_IS_HTTP_CONNECTION (self), FALSE);
  return self->input->held;
}
