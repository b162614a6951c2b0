// SPDX-License-Identifier: GPL-3.0-or-later
/* One gateway WebSocket, whichever endpoint, spoken here rather than by
 * libsoup once the handshake is answered (RFC 6455, server side, no
 * extensions).
 *
 * Why not SoupWebsocketConnection: each of its connections is a GSource of
 * its own, and GLib polls every source's descriptor on every wakeup of the
 * thread. With thousands of streams per gateway thread that poll, not the
 * sending, was the cost of each wakeup. Here every stream of a thread sits
 * in one epoll set, itself one descriptor of the thread's main context, so
 * a wakeup costs what is ready, not what is open. Owning the socket also
 * closes what libsoup 3.2 leaves open: its send queue has no bound and no
 * size getter (here a frame goes straight to the kernel, and what the
 * kernel refuses waits in one buffer whose length is known), an
 * unanswered ping closes nothing (here silence past the pong timeout
 * does), and its size limit applies per frame (here to the whole message,
 * however fragmented). */

#include "config.h"

#include <errno.h>
#include <linux/sockios.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <glib-unix.h>

#include "wb-json-reader.h"
#include "wb-live-stream.h"

#define CLOSE_REASON_MAX 120   /* a close frame's reason is at most 123 bytes */
/* The kernel's share of a stalled client: with Linux's default autotuning
 * a socket may buffer megabytes, ten thousand times over. */
#define SEND_BUFFER      (64 * 1024)
/* What the kernel may hold for a client before frames wait (the kernel
 * doubles SEND_BUFFER for its bookkeeping). */
#define SEND_QUEUED_MAX  (SEND_BUFFER / 2)
/* How long a closing stream waits for the client's close frame before the
 * socket is closed anyway. A client closed for not answering pings is
 * aborted then (a reset, not a FIN): its FIN would wait behind the frames
 * the kernel still holds for it, and so would that memory. Any other
 * client gets a FIN after its close frame, so one that reads again,
 * however late, finds the reason. */
#define CLOSE_GRACE_MS   2000
#define READ_CHUNK       (16 * 1024)
#define EVENTS_PER_WAIT  256

typedef enum
{
  OPCODE_CONTINUATION = 0x0,
  OPCODE_TEXT         = 0x1,
  OPCODE_BINARY       = 0x2,
  OPCODE_CLOSE        = 0x8,
  OPCODE_PING         = 0x9,
  OPCODE_PONG         = 0xA,
} Opcode;

/* The epoll set of one main context, shared by its streams. */
typedef struct
{
  gint                ref_count;
  GMainContext       *context;
  int                 epoll_fd;
  GSource            *source;
  guint8             *scratch;         /* READ_CHUNK bytes */
  struct epoll_event *batch;           /* while dispatching */
  int                 batch_length;
  gboolean            dispatching;
  gboolean            doomed;          /* last stream gone while dispatching */
} Poller;

struct _WbLiveStream
{
  Poller                  *poller;
  GIOStream               *io_stream;  /* keeps the connection; closed last */
  GSocket                 *socket;
  int                      fd;
  char                    *peer;
  WbLiveStreamLimits       limits;
  gint64                   expires_at;           /* unix s, 0: never */
  WbLiveStreamMessage      on_message;
  WbLiveStreamClosed       on_closed;
  gpointer                 user_data;

  guint32                  interest;             /* epoll events asked for */
  gboolean                 reading;
  GByteArray              *input;                /* an incomplete frame, else NULL */
  GByteArray              *message;              /* fragments so far, else NULL */
  Opcode                   message_opcode;
  GByteArray              *output;               /* what the kernel has not taken yet */
  gboolean                 write_failed;

  gint64                   last_activity;
  gint64                   last_ping;
  guint64                  frames;
  char                    *close_reason;         /* for the metrics, once closing */
  gboolean                 close_sent;
  gboolean                 close_received;
  gboolean                 finished;             /* socket closed, on_closed called */
  GSource                  *close_grace;
  GSource                  *early_input;         /* bytes libsoup had buffered */
};

/* ---- the poller -------------------------------------------------------------- */

G_LOCK_DEFINE_STATIC (pollers);
static GHashTable *pollers;   /* GMainContext → Poller */

static void stream_on_events (WbLiveStream *self,
                              guint32       events);

static void
poller_destroy (Poller *poller)
{
  G_LOCK (pollers);
  g_hash_table_remove (pollers, poller->context);
  if (g_hash_table_size (pollers) == 0)
    g_clear_pointer (&pollers, g_hash_table_unref);
  G_UNLOCK (pollers);
  g_source_destroy (poller->source);
  g_source_unref (poller->source);
  close (poller->epoll_fd);
  g_main_context_unref (poller->context);
  g_free (poller->scratch);
  g_free (poller);
}

/* Level-triggered: a stream not drained in one round (a chunk per wakeup)
 * is reported again, so one busy client cannot hold the others back. */
static gboolean
on_poller_ready (int          fd,
                 GIOCondition condition,
                 gpointer     data)
{
  Poller *poller = data;
  struct epoll_event events[EVENTS_PER_WAIT];
  int n;

  poller->dispatching = TRUE;
  do
    {
      n = epoll_wait (poller->epoll_fd, events, G_N_ELEMENTS (events), 0);
      poller->batch = events;
      poller->batch_length = MAX (n, 0);
      for (int i = 0; i < n; i++)
        if (events[i].data.ptr != NULL)
          stream_on_events (events[i].data.ptr, events[i].events);
      poller->batch = NULL;
    }
  while (n == G_N_ELEMENTS (events) && !poller->doomed);
  poller->dispatching = FALSE;
  if (poller->doomed)
    {
      poller_destroy (poller);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static Poller *
poller_get (GError **error)
{
  GMainContext *context = g_main_context_ref_thread_default ();
  Poller *poller;

  G_LOCK (pollers);
  if (pollers == NULL)
    pollers = g_hash_table_new (NULL, NULL);
  poller = g_hash_table_lookup (pollers, context);
  if (poller != NULL)
    {
      poller->ref_count++;
      G_UNLOCK (pollers);
      g_main_context_unref (context);
      return poller;
    }
  poller = g_new0 (Poller, 1);
  poller->ref_count = 1;
  poller->context = context;
  poller->epoll_fd = epoll_create1 (EPOLL_CLOEXEC);
  if (poller->epoll_fd < 0)
    {
      int saved = errno;

      G_UNLOCK (pollers);
      g_main_context_unref (context);
      g_free (poller);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "epoll_create1: %s", g_strerror (saved));
      return NULL;
    }
  poller->scratch = g_malloc (READ_CHUNK);
  poller->source = g_unix_fd_source_new (poller->epoll_fd, G_IO_IN);
  g_source_set_callback (poller->source, G_SOURCE_FUNC (on_poller_ready), poller, NULL);
  g_source_attach (poller->source, context);
  g_hash_table_insert (pollers, context, poller);
  G_UNLOCK (pollers);
  return poller;
}

static void
poller_release (Poller *poller)
{
  if (--poller->ref_count > 0)
    return;
  if (poller->dispatching)
    poller->doomed = TRUE;
  else
    poller_destroy (poller);
}

/* A stream leaving the set while the poller walks a batch: its later
 * events in the batch are dropped, not dispatched to freed memory. */
static void
poller_forget (Poller       *poller,
               WbLiveStream *stream)
{
  for (int i = 0; poller->batch != NULL && i < poller->batch_length; i++)
    if (poller->batch[i].data.ptr == stream)
      poller->batch[i].data.ptr = NULL;
}

/* ---- interest and the end ------------------------------------------------------ */

static void
update_interest (WbLiveStream *self)
{
  guint32 interest = (self->reading ? EPOLLIN | EPOLLRDHUP : 0)
                     | (self->output != NULL && self->output->len > 0 ? EPOLLOUT : 0);
  struct epoll_event event = { .events = interest, .data.ptr = self };

  if (self->finished || interest == self->interest)
    return;
  self->interest = interest;
  if (epoll_ctl (self->poller->epoll_fd, EPOLL_CTL_MOD, self->fd, &event) < 0)
    g_warning ("WebSocket from %s: epoll_ctl: %s", self->peer, g_strerror (errno));
}

static void
stop_close_grace (WbLiveStream *self)
{
  if (self->close_grace == NULL)
    return;
  g_source_destroy (self->close_grace);
  g_clear_pointer (&self->close_grace, g_source_unref);
}

/* Leaves the epoll set and closes the socket; with @abort, a reset. */
static void
release_socket (WbLiveStream *self,
                gboolean      abort)
{
  if (self->finished)
    return;
  self->finished = TRUE;
  stop_close_grace (self);
  poller_forget (self->poller, self);
  (void) epoll_ctl (self->poller->epoll_fd, EPOLL_CTL_DEL, self->fd, NULL);
  if (abort)
    {
      struct linger abort_on_close = { .l_onoff = 1, .l_linger = 0 };

      (void) setsockopt (self->fd, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
    }
  (void) g_io_stream_close (self->io_stream, NULL, NULL);
  (void) g_socket_close (self->socket, NULL);
  g_clear_pointer (&self->input, g_byte_array_unref);
  g_clear_pointer (&self->message, g_byte_array_unref);
  g_clear_pointer (&self->output, g_byte_array_unref);
}

/* The connection is over; the owner hears it once. */
static void
finish (WbLiveStream *self,
        gboolean      abort)
{
  if (self->finished)
    return;
  release_socket (self, abort);
  if (self->on_closed != NULL)
    self->on_closed (self, self->close_reason ? self->close_reason : "client", self->user_data);
}

/* ---- writing ------------------------------------------------------------------- */

static gsize
write_header (guint8  header[10],
              Opcode  opcode,
              gsize   length)
{
  header[0] = 0x80 | opcode;
  if (length < 126)
    {
      header[1] = length;
      return 2;
    }
  if (length <= G_MAXUINT16)
    {
      header[1] = 126;
      header[2] = length >> 8;
      header[3] = length & 0xff;
      return 4;
    }
  header[1] = 127;
  for (int i = 0; i < 8; i++)
    header[2 + i] = ((guint64) length >> (56 - 8 * i)) & 0xff;
  return 10;
}

/* Whatever the kernel does not take now waits in self->output, sent as
 * the socket drains. A failed send is not reported from here, inside the
 * owner's own call: the epoll set reports the broken socket next. */
static void
send_frame (WbLiveStream *self,
            Opcode        opcode,
            const void   *payload,
            gsize         length)
{
  guint8 header[10];
  gsize header_length = write_header (header, opcode, length);
  gsize sent = 0;

  if (self->finished || self->write_failed)
    return;
  if (self->output == NULL || self->output->len == 0)
    {
      struct iovec parts[2] = { { header, header_length }, { (void *) payload, length } };
      struct msghdr message = { .msg_iov = parts, .msg_iovlen = 2 };
      ssize_t n;

      do
        n = sendmsg (self->fd, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
      while (n < 0 && errno == EINTR);
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
        {
          self->write_failed = TRUE;
          return;
        }
      sent = MAX (n, 0);
      if (sent == header_length + length)
        return;
    }
  if (self->output == NULL)
    self->output = g_byte_array_new ();
  if (sent < header_length)
    g_byte_array_append (self->output, header + sent, header_length - sent);
  sent = sent > header_length ? sent - header_length : 0;
  g_byte_array_append (self->output, (const guint8 *) payload + sent, length - sent);
  update_interest (self);
}

static void
send_close_frame (WbLiveStream *self,
                  gushort       code,
                  const char   *reason)
{
  guint8 payload[2 + CLOSE_REASON_MAX + 3];
  gsize length = 0;

  if (self->close_sent)
    return;
  self->close_sent = TRUE;
  if (code != 0)
    {
      g_autofree char *shortened = g_utf8_make_valid (reason, MIN (strlen (reason), CLOSE_REASON_MAX));

      /* g_utf8_make_valid() may lengthen what it shortened. */
      length = MIN (strlen (shortened), CLOSE_REASON_MAX);
      while (length > 0 && (shortened[length] & 0xc0) == 0x80)
        length--;
      payload[0] = code >> 8;
      payload[1] = code & 0xff;
      memcpy (payload + 2, shortened, length);
      length += 2;
    }
  send_frame (self, OPCODE_CLOSE, payload, length);
}

/* Both close frames have passed, and ours has left: the server closes
 * the TCP connection first (RFC 6455, 7.1.1). */
static gboolean
close_handshake_done (WbLiveStream *self)
{
  return self->close_sent && self->close_received && (self->output == NULL || self->output->len == 0);
}

static void
flush_output (WbLiveStream *self)
{
  ssize_t n;

  if (self->output == NULL || self->output->len == 0)
    return;
  do
    n = send (self->fd, self->output->data, self->output->len, MSG_NOSIGNAL | MSG_DONTWAIT);
  while (n < 0 && errno == EINTR);
  if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
    {
      self->write_failed = TRUE;
      g_byte_array_set_size (self->output, 0);
    }
  else if (n > 0)
    g_byte_array_remove_range (self->output, 0, n);
  if (self->output->len == 0)
    g_clear_pointer (&self->output, g_byte_array_unref);
  update_interest (self);
}

/* ---- closing ------------------------------------------------------------------- */

static gboolean
on_close_grace_over (gpointer data)
{
  WbLiveStream *self = data;

  g_clear_pointer (&self->close_grace, g_source_unref);
  finish (self, g_strcmp0 (self->close_reason, "pong_timeout") == 0);
  return G_SOURCE_REMOVE;
}

/* (Re)starts the wait for the close handshake to end. */
static void
start_close_grace (WbLiveStream *self)
{
  stop_close_grace (self);
  self->close_grace = g_timeout_source_new (CLOSE_GRACE_MS);
  g_source_set_callback (self->close_grace, on_close_grace_over, self, NULL);
  g_source_attach (self->close_grace, self->poller->context);
}

void
wb_live_stream_close (WbLiveStream *self,
                      gushort       code,
                      const char   *reason,
                      const char   *metric_reason)
{
  g_return_if_fail (self != NULL);

  if (self->close_reason != NULL || self->finished)
    return;
  self->close_reason = g_strdup (metric_reason);
  g_clear_pointer (&self->message, g_byte_array_unref);
  send_close_frame (self, code, reason);
  if (self->close_grace == NULL)
    start_close_grace (self);
}

void
wb_live_stream_close_bad_message (WbLiveStream *self,
                                  const GError *error)
{
  /* A field error's message already reads "<field>: <problem>". */
  g_autofree char *reason = error->domain == WB_JSON_ERROR && error->code == WB_JSON_ERROR_FIELD
    ? g_strdup (error->message)
    : g_strdup_printf ("Not valid JSON: %s", error->message);

  wb_live_stream_close (self, SOUP_WEBSOCKET_CLOSE_BAD_DATA, reason, "bad_message");
}

/* A client that breaks the framing rules: closed, and nothing more of
 * what it sends is read. */
static void
refuse_input (WbLiveStream *self,
              gushort       code,
              const char   *reason,
              const char   *metric_reason)
{
  wb_live_stream_close (self, code, reason, metric_reason);
  self->reading = FALSE;
  (void) shutdown (self->fd, SHUT_RD);
  update_interest (self);
}

/* ---- reading ------------------------------------------------------------------- */

static void
deliver_message (WbLiveStream *self,
                 Opcode        opcode,
                 const guint8 *data,
                 gsize         length)
{
  g_autoptr(GBytes) bytes = NULL;

  if (self->close_reason != NULL)
    return;
  if (opcode != OPCODE_TEXT)
    return wb_live_stream_close (self, SOUP_WEBSOCKET_CLOSE_UNSUPPORTED_DATA,
                                 "Only text subscribe messages are accepted", "bad_message");
  if (!g_utf8_validate ((const char *) data, length, NULL))
    return wb_live_stream_close (self, SOUP_WEBSOCKET_CLOSE_BAD_DATA, "A text message must be UTF-8",
                                 "bad_message");
  bytes = g_bytes_new (data, length);
  if (self->on_message != NULL)
    self->on_message (self, bytes, self->user_data);
}

static void
on_close_frame (WbLiveStream *self,
                const guint8 *payload,
                gsize         length)
{
  gushort code = length >= 2 ? (payload[0] << 8) | payload[1] : 0;

  self->close_received = TRUE;
  if (self->close_reason == NULL)
    self->close_reason = g_strdup ("client");
  /* Echoed with the client's code, as RFC 6455 5.5.1 asks. */
  if (!self->close_sent)
    send_close_frame (self, code, "");
  start_close_grace (self);
}

static void
on_frame (WbLiveStream *self,
          gboolean      fin,
          Opcode        opcode,
          const guint8 *payload,
          gsize         length)
{
  self->last_activity = g_get_monotonic_time ();
  switch (opcode)
    {
    case OPCODE_PING:
      if (!self->close_sent)
        send_frame (self, OPCODE_PONG, payload, length);
      return;
    case OPCODE_PONG:
      return;
    case OPCODE_CLOSE:
      return on_close_frame (self, payload, length);
    case OPCODE_TEXT:
    case OPCODE_BINARY:
      if (fin)
        return deliver_message (self, opcode, payload, length);
      self->message = g_byte_array_sized_new (length);
      self->message_opcode = opcode;
      g_byte_array_append (self->message, payload, length);
      return;
    case OPCODE_CONTINUATION:
    default:
      g_byte_array_append (self->message, payload, length);
      if (fin)
        {
          g_autoptr(GByteArray) message = g_steal_pointer (&self->message);

          deliver_message (self, self->message_opcode, message->data, message->len);
        }
      return;
    }
}

/* Checks one frame's header; returns whether it may be read. */
static gboolean
header_is_acceptable (WbLiveStream *self,
                      guint8        first,
                      gboolean      masked,
                      guint64       length)
{
  Opcode opcode = first & 0x0f;
  gboolean control = (opcode & 0x8) != 0;
  guint64 so_far = self->message != NULL ? self->message->len : 0;

  if ((first & 0x70) != 0)
    refuse_input (self, SOUP_WEBSOCKET_CLOSE_PROTOCOL_ERROR, "Reserved bits set: no extension was agreed",
                  "bad_message");
  else if (!masked)
    refuse_input (self, SOUP_WEBSOCKET_CLOSE_PROTOCOL_ERROR, "A client's frames must be masked", "bad_message");
  else if (control && (!(first & 0x80) || length > 125))
    refuse_input (self, SOUP_WEBSOCKET_CLOSE_PROTOCOL_ERROR,
                  "A control frame must be whole and at most 125 bytes", "bad_message");
  else if (control ? opcode > OPCODE_PONG
                   : opcode > OPCODE_BINARY || (opcode == OPCODE_CONTINUATION) != (self->message != NULL))
    refuse_input (self, SOUP_WEBSOCKET_CLOSE_PROTOCOL_ERROR, "Unexpected frame opcode", "bad_message");
  else if (!control && length > self->limits.max_message_size - MIN (so_far, self->limits.max_message_size))
    {
      g_autofree char *reason = g_strdup_printf ("A message may be at most %" G_GUINT64_FORMAT " bytes",
                                                 self->limits.max_message_size);

      refuse_input (self, SOUP_WEBSOCKET_CLOSE_TOO_BIG, reason, "too_big");
    }
  else
    return TRUE;
  return FALSE;
}

/* Reads the whole frames at the start of @data (unmasking them in place);
 * returns how many bytes they took. Stops early once reading stops. */
static gsize
read_frames (WbLiveStream *self,
             guint8       *data,
             gsize         length)
{
  gsize at = 0;

  while (self->reading && !self->finished && length - at >= 2)
    {
      guint8 *frame = data + at;
      gsize available = length - at, header = 2;
      guint64 payload_length = frame[1] & 0x7f;
      guint8 *mask, *payload;

      if (payload_length == 126 && available >= 4)
        payload_length = (frame[2] << 8) | frame[3], header = 4;
      else if (payload_length == 127 && available >= 10)
        {
          payload_length = 0;
          for (int i = 0; i < 8; i++)
            payload_length = (payload_length << 8) | frame[2 + i];
          header = 10;
        }
      else if (payload_length >= 126)
        break;
      if (!header_is_acceptable (self, frame[0], (frame[1] & 0x80) != 0, payload_length))
        break;
      if (available < header + 4 || available - header - 4 < payload_length)
        break;
      mask = frame + header;
      payload = mask + 4;
      for (guint64 i = 0; i < payload_length; i++)
        payload[i] ^= mask[i & 3];
      at += header + 4 + payload_length;
      on_frame (self, (frame[0] & 0x80) != 0, frame[0] & 0x0f, payload, payload_length);
    }
  return at;
}

/* An incomplete frame waits in self->input; complete ones are read where
 * they lie, so the common case (a whole small message) copies nothing. */
static void
take_input (WbLiveStream *self,
            guint8       *data,
            gsize         length)
{
  gsize used;

  if (self->input != NULL)
    {
      g_byte_array_append (self->input, data, length);
      used = read_frames (self, self->input->data, self->input->len);
      if (self->input != NULL)
        g_byte_array_remove_range (self->input, 0, used);
      if (self->input != NULL && self->input->len == 0)
        g_clear_pointer (&self->input, g_byte_array_unref);
      return;
    }
  used = read_frames (self, data, length);
  if (used < length && self->reading && !self->finished)
    self->input = g_byte_array_new_take (g_memdup2 (data + used, length - used), length - used);
}

static void
read_socket (WbLiveStream *self)
{
  ssize_t n;

  do
    n = recv (self->fd, self->poller->scratch, READ_CHUNK, MSG_DONTWAIT);
  while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
    return;
  if (n <= 0)
    return finish (self, FALSE);   /* the client is gone */
  take_input (self, self->poller->scratch, n);
}

static void
stream_on_events (WbLiveStream *self,
                  guint32       events)
{
  if ((events & EPOLLOUT) || self->write_failed)
    flush_output (self);
  if (self->write_failed || (events & EPOLLERR) || ((events & EPOLLHUP) && !(events & EPOLLIN)))
    return finish (self, FALSE);
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) && self->reading)
    read_socket (self);
  if (!self->finished && close_handshake_done (self))
    finish (self, FALSE);
}

/* Whatever libsoup had read past the handshake is the start of the
 * stream; it is read from the main loop, once the owner holds the
 * stream. */
static gboolean
on_early_input (gpointer data)
{
  WbLiveStream *self = data;
  g_autoptr(GByteArray) early = g_steal_pointer (&self->input);

  g_clear_pointer (&self->early_input, g_source_unref);
  take_input (self, early->data, early->len);
  if (!self->finished && close_handshake_done (self))
    finish (self, FALSE);
  return G_SOURCE_REMOVE;
}

static void
take_buffered (WbLiveStream *self)
{
  GInputStream *input = g_io_stream_get_input_stream (self->io_stream);
  guint8 buffer[4096];
  gssize n;

  if (!G_IS_POLLABLE_INPUT_STREAM (input))
    return;
  while ((n = g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (input), buffer, sizeof buffer,
                                                         NULL, NULL)) > 0)
    {
      if (self->input == NULL)
        self->input = g_byte_array_new ();
      g_byte_array_append (self->input, buffer, n);
    }
  if (self->input == NULL)
    return;
  self->early_input = g_idle_source_new ();
  g_source_set_callback (self->early_input, on_early_input, self, NULL);
  g_source_attach (self->early_input, self->poller->context);
}

/* ---- the object ---------------------------------------------------------------- */

WbLiveStream *
wb_live_stream_new (GIOStream                *io_stream,
                    GSocket                  *socket,
                    const char               *peer,
                    gint64                    expires_at,
                    const WbLiveStreamLimits *limits,
                    WbLiveStreamMessage       on_message_func,
                    WbLiveStreamClosed        on_closed_func,
                    gpointer                  user_data)
{
  g_autoptr(GError) error = NULL;
  WbLiveStream *self;
  Poller *poller;
  struct epoll_event event = { .events = EPOLLIN | EPOLLRDHUP };

  g_return_val_if_fail (G_IS_IO_STREAM (io_stream), NULL);
  g_return_val_if_fail (G_IS_SOCKET (socket), NULL);

  poller = poller_get (&error);
  if (poller == NULL)
    {
      g_warning ("WebSocket from %s refused: %s", peer, error->message);
      (void) g_io_stream_close (io_stream, NULL, NULL);
      return NULL;
    }
  self = g_new0 (WbLiveStream, 1);
  self->poller = poller;
  self->io_stream = g_object_ref (io_stream);
  self->socket = g_object_ref (socket);
  self->fd = g_socket_get_fd (socket);
  self->peer = g_strdup (peer);
  self->expires_at = expires_at;
  self->limits = *limits;
  self->on_message = on_message_func;
  self->on_closed = on_closed_func;
  self->user_data = user_data;
  self->last_activity = self->last_ping = g_get_monotonic_time ();
  self->reading = TRUE;

  (void) g_socket_set_option (socket, SOL_SOCKET, SO_SNDBUF, SEND_BUFFER, NULL);
  take_buffered (self);
  self->interest = event.events;
  event.data.ptr = self;
  if (epoll_ctl (poller->epoll_fd, EPOLL_CTL_ADD, self->fd, &event) < 0)
    {
      g_warning ("WebSocket from %s: epoll_ctl: %s", peer, g_strerror (errno));
      self->write_failed = TRUE;
    }
  return self;
}

void
wb_live_stream_free (WbLiveStream *self)
{
  if (self == NULL)
    return;
  self->on_closed = NULL;
  if (!self->finished && !self->close_sent)
    {
      send_close_frame (self, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, "The gateway stops");
      flush_output (self);
    }
  release_socket (self, FALSE);
  if (self->early_input != NULL)
    g_source_destroy (self->early_input);
  g_clear_pointer (&self->early_input, g_source_unref);
  poller_release (self->poller);
  g_clear_object (&self->io_stream);
  g_clear_object (&self->socket);
  g_free (self->peer);
  g_free (self->close_reason);
  g_free (self);
}

static gboolean
free_refused (gpointer data)
{
  wb_live_stream_free (data);
  return G_SOURCE_REMOVE;
}

static void
on_refused_closed (WbLiveStream *self,
                   const char   *reason,
                   gpointer      user_data)
{
  wb_live_idle_add (free_refused, self);
}

void
wb_live_stream_refuse (GIOStream  *io_stream,
                       GSocket    *socket,
                       const char *peer,
                       gushort     code,
                       const char *reason)
{
  WbLiveStreamLimits limits = { .max_message_size = 4096 };
  WbLiveStream *self;

  if (socket == NULL)
    {
      (void) g_io_stream_close (io_stream, NULL, NULL);
      return;
    }
  self = wb_live_stream_new (io_stream, socket, peer, 0, &limits, NULL, on_refused_closed, NULL);
  if (self != NULL)
    wb_live_stream_close (self, code, reason, "refused");
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
  return self->close_reason == NULL && !self->finished && !self->write_failed;
}

/* A frame goes out only while the kernel holds little for the client, so
 * there is always room left for a close frame: a client that stops
 * reading finds, once it reads again, why it was closed. */
gboolean
wb_live_stream_can_send (WbLiveStream *self)
{
  int queued = 0;

  if (!wb_live_stream_is_open (self) || (self->output != NULL && self->output->len > 0))
    return FALSE;
  return ioctl (self->fd, SIOCOUTQ, &queued) != 0 || queued <= SEND_QUEUED_MAX;
}

void
wb_live_stream_send_text (WbLiveStream *self,
                          const char   *text)
{
  if (!wb_live_stream_is_open (self))
    return;
  send_frame (self, OPCODE_TEXT, text, strlen (text));
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
  /* Queued behind whatever waits: a client that stopped reading cannot
   * answer it, and the pong timeout closes it. */
  if (self->limits.keepalive_s > 0 && now - self->last_ping >= (gint64) self->limits.keepalive_s * G_USEC_PER_SEC)
    {
      self->last_ping = now;
      send_frame (self, OPCODE_PING, NULL, 0);
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
