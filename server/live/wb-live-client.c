// SPDX-License-Identifier: GPL-3.0-or-later
/* One /ws/locations connection: a WbLiveStream (the WebSocket and its
 * limits), the client's view and its outbox. A frame goes out only when
 * the previous one has left the socket: until then updates wait coalesced
 * in the outbox, one entry per vehicle, so a stalled client costs at most
 * its view's worth of entries. */

#include "config.h"

#include "wb-json-reader.h"
#include "wb-json-writer.h"
#include "wb-live-client.h"

struct _WbLiveClient
{
  guint64                  id;
  WbLiveStream            *stream;
  WbLiveOutbox            *outbox;
  WbLiveView              *view;
  WbLiveClientSubscribe    on_subscribe;
  WbLiveClientClosed       on_closed;
  gpointer                 user_data;
  gint64                   over_bound_since;
};

void
wb_live_client_close (WbLiveClient *self,
                      gushort       code,
                      const char   *reason,
                      const char   *metric_reason)
{
  g_return_if_fail (self != NULL);

  wb_live_stream_close (self->stream, code, reason, metric_reason);
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
  WbJsonLimits limits = { wb_live_stream_get_limits (self->stream)->max_message_size, 4 };
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
on_message (WbLiveStream *stream,
            GBytes       *message,
            gpointer      data)
{
  WbLiveClient *self = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *epoch = NULL;
  guint64 seq = 0;
  WbLiveView *view = read_subscribe (self, message, &epoch, &seq, &error);

  if (view == NULL)
    {
      wb_live_stream_close_bad_message (self->stream, error);
      return;
    }
  self->on_subscribe (self, view, epoch, seq, self->user_data);
}

static void
on_closed (WbLiveStream *stream,
           const char   *reason,
           gpointer      data)
{
  WbLiveClient *self = data;

  self->on_closed (self, reason, self->user_data);
}

WbLiveClient *
wb_live_client_new (guint64                   id,
                    GIOStream                *stream,
                    GSocket                  *socket,
                    const char               *peer,
                    gint64                    expires_at,
                    const WbLiveStreamLimits *limits,
                    WbLiveClientSubscribe     on_subscribe,
                    WbLiveClientClosed        on_closed_func,
                    gpointer                  user_data)
{
  WbLiveClient *self = g_new0 (WbLiveClient, 1);

  self->id = id;
  self->outbox = wb_live_outbox_new (limits->outbox_bound, limits->outbox_hard_limit);
  self->on_subscribe = on_subscribe;
  self->on_closed = on_closed_func;
  self->user_data = user_data;
  self->stream = wb_live_stream_new (stream, socket, peer, expires_at, limits, on_message, on_closed, self);
  if (self->stream == NULL)
    g_clear_pointer (&self, wb_live_client_free);
  return self;
}

void
wb_live_client_free (WbLiveClient *self)
{
  if (self == NULL)
    return;
  g_clear_pointer (&self->stream, wb_live_stream_free);
  g_clear_pointer (&self->outbox, wb_live_outbox_free);
  g_clear_pointer (&self->view, wb_live_view_free);
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
  return wb_live_stream_get_peer (self->stream);
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
  return wb_live_stream_get_frames (self->stream);
}

void
wb_live_client_send_now (WbLiveClient *self,
                         const char   *text)
{
  wb_live_stream_send_text (self->stream, text);
}

/* {"type":"updates","epoch","seq","updates":[{"type","seq","vehicle"|"vehicleId"}]} */
static void
write_frame (WbLiveOutbox *outbox,
             const char   *epoch,
             guint64       seq,
             GString      *out)
{
  guint length = wb_live_outbox_get_length (outbox);

  /* Sized once for the usual vehicle: growing it by doubling cost more
   * than the rest of the frame's making. */
  g_string_set_size (out, 128 + length * 384);
  g_string_truncate (out, 0);
  g_string_append (out, "{\"type\":\"updates\",\"epoch\":");
  wb_json_write_string (out, epoch);
  g_string_append (out, ",\"seq\":");
  wb_json_write_int (out, (gint64) seq);
  g_string_append (out, ",\"updates\":[");
  for (guint i = 0; i < length; i++)
    {
      const WbLiveOutboxItem *item = wb_live_outbox_peek_nth (outbox, i);

      g_string_append (out, i ? ",{\"type\":" : "{\"type\":");
      wb_json_write_string (out, wb_live_outbox_kind_to_string (item->kind));
      g_string_append (out, ",\"seq\":");
      wb_json_write_int (out, (gint64) item->seq);
      if (item->vehicle != NULL)
        {
          gsize json_length;
          const char *json = wb_live_vehicle_get_stream_json (item->vehicle, &json_length);

          g_string_append (out, ",\"vehicle\":");
          g_string_append_len (out, json, json_length);
        }
      else
        {
          g_string_append (out, ",\"vehicleId\":");
          wb_json_write_string (out, item->vehicle_id);
        }
      g_string_append_c (out, '}');
    }
  g_string_append (out, "]}");
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
  else if (now - self->over_bound_since > (gint64) wb_live_stream_get_limits (self->stream)->slow_deadline_ms * 1000)
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
                     gint64        now,
                     GString      *scratch)
{
  if (!wb_live_stream_check (self->stream, now) || !check_slow (self, now)
      || wb_live_outbox_get_length (self->outbox) == 0)
    return;
  /* The previous frame has not left yet: keep coalescing. */
  if (!wb_live_stream_can_send (self->stream))
    return;
  write_frame (self->outbox, epoch, seq, scratch);
  wb_live_outbox_clear (self->outbox);
  wb_live_stream_send_text (self->stream, scratch->str);
}
