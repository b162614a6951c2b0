// SPDX-License-Identifier: GPL-3.0-or-later
/* One /ws/locations connection.
 *
 * libsoup 3.2 queues whatever is sent without bound and cannot say how
 * much is waiting, so a frame goes out only when the socket is writable
 * again: until then libsoup holds at most about one frame, and updates
 * wait coalesced in the outbox (one entry per vehicle). It also leaves two
 * holes this closes: pings are sent (the keepalive interval) but an
 * unanswered one closes nothing, so silence past the pong timeout closes
 * here; and its size limit applies per frame, so a message sent as many
 * fragments could grow without bound: the bytes the kernel has received
 * since the last whole message are checked as they arrive. */

#include "config.h"

#include <netinet/in.h>
#include <linux/tcp.h>
#include <sys/socket.h>

#include "wb-json-reader.h"
#include "wb-json-writer.h"
#include "wb-live-client.h"

#define CLOSE_REASON_MAX 120   /* a close frame's reason is at most 123 bytes */
/* The kernel's share of a stalled client: with Linux's default autotuning
 * a socket may buffer megabytes, ten thousand times over. */
#define SEND_BUFFER      (64 * 1024)

struct _WbLiveClient
{
  guint64                  id;
  SoupWebsocketConnection *connection;
  GSocket                 *socket;
  char                    *peer;
  WbLiveClientLimits       limits;
  WbLiveOutbox            *outbox;
  WbLiveView              *view;
  WbLiveClientSubscribe    on_subscribe;
  WbLiveClientClosed       on_closed;
  gpointer                 user_data;
  GSource                 *read_watch;
  guint64                  received_at_message;  /* kernel's byte count after the last whole message */
  gint64                   last_activity;
  gint64                   over_bound_since;
  gint64                   expires_at;           /* unix s, 0: never */
  guint64                  frames;
  char                    *close_reason;         /* for the metrics, once closing */
};

static guint64
bytes_received (WbLiveClient *self)
{
  struct tcp_info info = { 0 };
  socklen_t length = sizeof info;

  if (getsockopt (g_socket_get_fd (self->socket), IPPROTO_TCP, TCP_INFO, &info, &length) != 0
      || length < G_STRUCT_OFFSET (struct tcp_info, tcpi_bytes_received) + sizeof info.tcpi_bytes_received)
    return 0;
  return info.tcpi_bytes_received;
}

static void
stop_watching (WbLiveClient *self)
{
  if (self->read_watch == NULL)
    return;
  g_source_destroy (self->read_watch);
  g_clear_pointer (&self->read_watch, g_source_unref);
}

void
wb_live_client_close (WbLiveClient *self,
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
}

/* Same priority as libsoup's own reader, so both run in one pass and
 * libsoup drains what woke this. */
static gboolean
on_readable (GSocket      *socket,
             GIOCondition  condition,
             gpointer      data)
{
  WbLiveClient *self = data;
  guint64 received = bytes_received (self);

  if (received > self->received_at_message
      && received - self->received_at_message > self->limits.max_message_size + 64)
    {
      g_autofree char *reason = g_strdup_printf ("A message may be at most %" G_GUINT64_FORMAT " bytes",
                                                 self->limits.max_message_size);

      g_clear_pointer (&self->read_watch, g_source_unref);
      wb_live_client_close (self, SOUP_WEBSOCKET_CLOSE_TOO_BIG, reason, "too_big");
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

static gboolean
read_number (JsonArray  *array,
             guint       index,
             double     *out_value)
{
  JsonNode *node = json_array_get_element (array, index);

  if (!JSON_NODE_HOLDS_VALUE (node))
    return FALSE;
  if (json_node_get_value_type (node) == G_TYPE_DOUBLE)
    *out_value = json_node_get_double (node);
  else if (json_node_get_value_type (node) == G_TYPE_INT64)
    *out_value = json_node_get_int (node);
  else
    return FALSE;
  return TRUE;
}

static gboolean
read_bbox (WbJsonReader  *reader,
           WbLiveBbox    *out_bbox,
           GError       **error)
{
  JsonArray *array = NULL;
  double v[4];

  if (!wb_json_reader_peek_array (reader, "bbox", TRUE, &array, error))
    return FALSE;
  if (json_array_get_length (array) != 4)
    return wb_json_reader_fail (reader, "bbox", error, "bbox is [minLon, minLat, maxLon, maxLat]");
  for (guint i = 0; i < 4; i++)
    if (!read_number (array, i, &v[i]))
      return wb_json_reader_fail (reader, "bbox", error, "bbox holds four numbers");
  *out_bbox = (WbLiveBbox) { v[0], v[1], v[2], v[3] };
  return wb_live_bbox_validate (out_bbox, error);
}

static GStrv
read_company_ids (WbJsonReader  *reader,
                  GError       **error)
{
  g_autoptr(GStrvBuilder) ids = g_strv_builder_new ();
  JsonArray *array = NULL;

  if (!wb_json_reader_peek_array (reader, "companyIds", FALSE, &array, error))
    return NULL;
  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++)
    {
      JsonNode *node = json_array_get_element (array, i);

      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING
          || *json_node_get_string (node) == '\0' || i >= 1000)
        {
          wb_json_reader_fail (reader, "companyIds", error, "companyIds holds at most 1000 company ids");
          return NULL;
        }
      g_strv_builder_add (ids, json_node_get_string (node));
    }
  return g_strv_builder_end (ids);
}

/* {"type":"subscribe","bbox":[…],"companyIds":[…]?,"since":{"epoch","seq"}?} */
static WbLiveView *
read_subscribe (WbLiveClient  *self,
                GBytes        *message,
                char         **out_epoch,
                guint64       *out_seq,
                GError       **error)
{
  static const char * const known[] = { "type", "bbox", "companyIds", "since", NULL };
  WbJsonLimits limits = { self->limits.max_message_size, 4 };
  g_autoptr(WbJsonReader) reader = wb_json_reader_new_from_bytes (message, &limits, error);
  g_autoptr(WbJsonReader) since = NULL;
  g_autofree char *type = NULL;
  g_auto(GStrv) company_ids = NULL;
  WbLiveBbox bbox;
  gint64 seq = 0;
  gboolean has_seq = FALSE;

  if (reader == NULL || !wb_json_reader_get_string (reader, "type", TRUE, &type, error))
    return NULL;
  if (!g_str_equal (type, "subscribe"))
    {
      wb_json_reader_fail (reader, "type", error, "Only \"subscribe\" messages are accepted");
      return NULL;
    }
  if (!wb_json_reader_reject_unknown (reader, known, error) || !read_bbox (reader, &bbox, error))
    return NULL;
  company_ids = read_company_ids (reader, error);
  if (company_ids == NULL)
    return NULL;
  if (wb_json_reader_has_member (reader, "since"))
    {
      since = wb_json_reader_get_object_member (reader, "since", TRUE, error);
      if (since == NULL || !wb_json_reader_get_string (since, "epoch", TRUE, out_epoch, error)
          || !wb_json_reader_get_int64 (since, "seq", 0, G_MAXINT64, &has_seq, &seq, error))
        return NULL;
      if (!has_seq)
        {
          wb_json_reader_fail (since, "seq", error, "since needs seq");
          return NULL;
        }
    }
  *out_seq = seq;
  return wb_live_view_new (&bbox, (const char * const *) company_ids, error);
}

static void
on_message (SoupWebsocketConnection *connection,
            gint                     type,
            GBytes                  *message,
            gpointer                 data)
{
  WbLiveClient *self = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *epoch = NULL;
  guint64 seq = 0;
  WbLiveView *view;

  if (self->close_reason != NULL)
    return;
  self->last_activity = g_get_monotonic_time ();
  self->received_at_message = bytes_received (self);
  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    {
      wb_live_client_close (self, SOUP_WEBSOCKET_CLOSE_UNSUPPORTED_DATA,
                            "Only text subscribe messages are accepted", "bad_message");
      return;
    }
  view = read_subscribe (self, message, &epoch, &seq, &error);
  if (view == NULL)
    {
      g_autofree char *reason = error->domain == WB_JSON_ERROR && error->code == WB_JSON_ERROR_FIELD
        ? g_strdup_printf ("%s: %s", wb_json_error_get_field (error), error->message)
        : g_strdup_printf ("Not valid JSON: %s", error->message);

      wb_live_client_close (self, SOUP_WEBSOCKET_CLOSE_BAD_DATA, reason, "bad_message");
      return;
    }
  self->on_subscribe (self, view, epoch, seq, self->user_data);
}

static void
on_pong (SoupWebsocketConnection *connection,
         GBytes                  *message,
         gpointer                 data)
{
  WbLiveClient *self = data;

  self->last_activity = g_get_monotonic_time ();
  self->received_at_message = bytes_received (self);
}

static void
on_closed (SoupWebsocketConnection *connection,
           gpointer                 data)
{
  WbLiveClient *self = data;

  stop_watching (self);
  self->on_closed (self, self->close_reason ? self->close_reason : "client", self->user_data);
}

WbLiveClient *
wb_live_client_new (guint64                   id,
                    SoupWebsocketConnection  *connection,
                    GSocket                  *socket,
                    const char               *peer,
                    gint64                    expires_at,
                    const WbLiveClientLimits *limits,
                    WbLiveClientSubscribe     on_subscribe,
                    WbLiveClientClosed        on_closed_func,
                    gpointer                  user_data)
{
  WbLiveClient *self = g_new0 (WbLiveClient, 1);

  self->id = id;
  self->connection = g_object_ref (connection);
  self->socket = g_object_ref (socket);
  self->peer = g_strdup (peer);
  self->expires_at = expires_at;
  self->limits = *limits;
  self->outbox = wb_live_outbox_new (limits->outbox_bound, limits->outbox_hard_limit);
  self->on_subscribe = on_subscribe;
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
wb_live_client_free (WbLiveClient *self)
{
  if (self == NULL)
    return;
  stop_watching (self);
  g_signal_handlers_disconnect_by_data (self->connection, self);
  if (soup_websocket_connection_get_state (self->connection) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (self->connection, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, "The gateway stops");
  g_clear_object (&self->connection);
  g_clear_object (&self->socket);
  g_clear_pointer (&self->outbox, wb_live_outbox_free);
  g_clear_pointer (&self->view, wb_live_view_free);
  g_free (self->peer);
  g_free (self->close_reason);
  g_free (self);
}

guint64
wb_live_client_get_id (WbLiveClient *self)
{
  return self->id;
}

const char *
wb_live_client_get_peer (WbLiveClient *self)
{
  return self->peer;
}

WbLiveOutbox *
wb_live_client_get_outbox (WbLiveClient *self)
{
  return self->outbox;
}

const WbLiveView *
wb_live_client_get_view (WbLiveClient *self)
{
  return self->view;
}

void
wb_live_client_set_view (WbLiveClient *self,
                         WbLiveView   *view)
{
  g_clear_pointer (&self->view, wb_live_view_free);
  self->view = view;
}

guint64
wb_live_client_get_frames (WbLiveClient *self)
{
  return self->frames;
}

void
wb_live_client_send_now (WbLiveClient *self,
                         const char   *text)
{
  if (self->close_reason != NULL
      || soup_websocket_connection_get_state (self->connection) != SOUP_WEBSOCKET_STATE_OPEN)
    return;
  soup_websocket_connection_send_text (self->connection, text);
  self->frames++;
}

/* {"type":"updates","epoch","seq","updates":[{"type","seq","vehicle"|"vehicleId"}]} */
static char *
write_frame (GPtrArray  *items,
             const char *epoch,
             guint64     seq)
{
  GString *out = g_string_new ("{\"type\":\"updates\",\"epoch\":");

  wb_json_write_string (out, epoch);
  g_string_append (out, ",\"seq\":");
  wb_json_write_int (out, (gint64) seq);
  g_string_append (out, ",\"updates\":[");
  for (guint i = 0; i < items->len; i++)
    {
      WbLiveOutboxItem *item = g_ptr_array_index (items, i);

      g_string_append (out, i ? ",{\"type\":" : "{\"type\":");
      wb_json_write_string (out, wb_live_outbox_kind_to_string (item->kind));
      g_string_append (out, ",\"seq\":");
      wb_json_write_int (out, (gint64) item->seq);
      if (item->vehicle != NULL)
        {
          g_string_append (out, ",\"vehicle\":");
          wb_live_vehicle_write_json (item->vehicle, WB_LIVE_JSON_ACCEPTED_AT, out);
        }
      else
        {
          g_string_append (out, ",\"vehicleId\":");
          wb_json_write_string (out, item->vehicle_id);
        }
      g_string_append_c (out, '}');
    }
  g_string_append (out, "]}");
  return g_string_free (out, FALSE);
}

/* Returns whether it is still open. */
static gboolean
check_slow (WbLiveClient *self,
            gint64        now)
{
  if (wb_live_outbox_is_overflowed (self->outbox))
    {
      wb_live_client_close (self, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION,
                            "Too slow: more updates pending than the gateway keeps", "slow");
      return FALSE;
    }
  if (!wb_live_outbox_is_over_bound (self->outbox))
    {
      self->over_bound_since = 0;
      return TRUE;
    }
  if (self->over_bound_since == 0)
    self->over_bound_since = now;
  else if (now - self->over_bound_since > (gint64) self->limits.slow_deadline_ms * 1000)
    {
      wb_live_client_close (self, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION,
                            "Too slow: updates stayed pending past the deadline", "slow");
      return FALSE;
    }
  return TRUE;
}

void
wb_live_client_tick (WbLiveClient *self,
                     const char   *epoch,
                     guint64       seq,
                     gint64        now)
{
  g_autoptr(GPtrArray) items = NULL;
  g_autofree char *frame = NULL;

  if (self->close_reason != NULL
      || soup_websocket_connection_get_state (self->connection) != SOUP_WEBSOCKET_STATE_OPEN)
    return;
  if (now - self->last_activity > (gint64) self->limits.pong_timeout_ms * 1000)
    {
      wb_live_client_close (self, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, "No pong or message within the timeout",
                            "pong_timeout");
      return;
    }
  /* The handshake was the only check of the token: what a token no longer
   * admits over REST it no longer admits here. */
  if (self->expires_at != 0 && g_get_real_time () / G_USEC_PER_SEC >= self->expires_at)
    {
      wb_live_client_close (self, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION, "Token expired", "token_expired");
      return;
    }
  if (!check_slow (self, now) || wb_live_outbox_get_length (self->outbox) == 0)
    return;
  /* The previous frame has not left yet: keep coalescing. */
  if ((g_socket_condition_check (self->socket, G_IO_OUT) & G_IO_OUT) == 0)
    return;
  items = wb_live_outbox_drain (self->outbox);
  if (items == NULL)
    return;
  frame = write_frame (items, epoch, seq);
  soup_websocket_connection_send_text (self->connection, frame);
  self->frames++;
}
