// SPDX-License-Identifier: GPL-3.0-or-later
/* The client side of /ws/events (docs/live.md, docs/client.md). */

#include "config.h"

#include "wb-event-stream-private.h"
#include "wb-json-reader.h"
#include "wb-json-writer.h"

struct _WbEventStream
{
  GObject        parent_instance;
  WbStreamLink  *link;
  WbStreamState  state;
  GStrv          kinds;
  GStrv          client_ids;
  GStrv          shipment_ids;
  GStrv          trip_ids;
  gboolean       subscribed;   /* a subscribe went out on this connection */
  char          *epoch;
  guint64        seq;
};

G_DEFINE_FINAL_TYPE (WbEventStream, wb_event_stream, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_STATE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  SIGNAL_EVENT,
  SIGNAL_RESYNC,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
write_list (GString    *out,
            const char *name,
            GStrv       values)
{
  if (values == NULL)
    return;
  g_string_append_printf (out, ",\"%s\":[", name);
  for (guint i = 0; values[i] != NULL; i++)
    {
      if (i > 0)
        g_string_append_c (out, ',');
      wb_json_write_string (out, values[i]);
    }
  g_string_append_c (out, ']');
}

static void
send_subscribe (WbEventStream *self)
{
  g_autoptr(GString) out = g_string_new ("{\"type\":\"subscribe\"");

  write_list (out, "kinds", self->kinds);
  write_list (out, "clientIds", self->client_ids);
  write_list (out, "shipmentIds", self->shipment_ids);
  write_list (out, "tripIds", self->trip_ids);
  /* since counts in the first subscribe of a connection only. */
  if (!self->subscribed && self->epoch != NULL)
    {
      g_string_append (out, ",\"since\":{\"epoch\":");
      wb_json_write_string (out, self->epoch);
      g_string_append (out, ",\"seq\":");
      wb_json_write_int (out, (gint64) self->seq);
      g_string_append_c (out, '}');
    }
  g_string_append_c (out, '}');
  if (_wb_stream_link_send (self->link, out->str))
    self->subscribed = TRUE;
}

static void
on_opened (gpointer user_data)
{
  WbEventStream *self = user_data;

  self->subscribed = FALSE;
  send_subscribe (self);
}

static void
set_position (WbEventStream *self,
              const char    *epoch,
              guint64        seq)
{
  if (g_strcmp0 (self->epoch, epoch) != 0)
    {
      g_free (self->epoch);
      self->epoch = g_strdup (epoch);
    }
  self->seq = seq;
}

typedef enum
{
  FRAME_SUBSCRIBED,
  FRAME_RESYNC,
  FRAME_EVENTS,
} FrameType;

/* One message, read on a worker thread (wb-stream-link-private.h). */
typedef struct
{
  FrameType  type;
  char      *epoch;
  guint64    seq;
  JsonNode  *message;  /* holds the events */
  GPtrArray *events;   /* JsonObject, borrowed from message */
} Frame;

static void
frame_free (gpointer data)
{
  Frame *frame = data;

  g_free (frame->epoch);
  g_ptr_array_unref (frame->events);
  json_node_unref (frame->message);
  g_free (frame);
}

/* Every event is checked before any is emitted, so a bad frame emits
 * nothing and the stream resumes from the last good position. */
static gboolean
read_events (WbJsonReader  *reader,
             Frame         *frame,
             GError       **error)
{
  guint length = 0;

  if (!wb_json_reader_get_array_length (reader, "events", &length, error))
    return FALSE;
  for (guint i = 0; i < length; i++)
    {
      g_autoptr(WbJsonReader) event = wb_json_reader_get_array_element (reader, "events", i, error);
      const char *kind = NULL;
      gboolean present = FALSE;
      gint64 seq = 0;

      if (event == NULL
          || !wb_json_reader_peek_string (event, "kind", TRUE, 32, &kind, error)
          || !wb_json_reader_get_int64 (event, "seq", 1, G_MAXINT64, &present, &seq, error))
        return FALSE;
      if (!present)
        return wb_json_reader_fail (event, "seq", error, "is required");
      g_ptr_array_add (frame->events, wb_json_reader_get_object (event));
    }
  return TRUE;
}

static gboolean
read_frame_type (WbJsonReader  *reader,
                 Frame         *frame,
                 GError       **error)
{
  const char *type = NULL;

  if (!wb_json_reader_peek_string (reader, "type", TRUE, 16, &type, error))
    return FALSE;
  if (g_str_equal (type, "subscribed"))
    frame->type = FRAME_SUBSCRIBED;
  else if (g_str_equal (type, "resync"))
    frame->type = FRAME_RESYNC;
  else if (g_str_equal (type, "events"))
    frame->type = FRAME_EVENTS;
  else
    return wb_json_reader_fail (reader, "type", error, "must be subscribed, resync or events");
  return TRUE;
}

static gpointer
read_frame (JsonNode  *message,
            GError   **error)
{
  g_autoptr(WbJsonReader) reader = wb_json_reader_new_for_node (message, "", error);
  Frame *frame = g_new0 (Frame, 1);
  gboolean present = FALSE;
  gint64 seq = 0;

  frame->message = json_node_ref (message);
  frame->events = g_ptr_array_new ();
  if (reader == NULL
      || !read_frame_type (reader, frame, error)
      || !wb_json_reader_get_string (reader, "epoch", TRUE, &frame->epoch, error)
      || !wb_json_reader_get_int64 (reader, "seq", 0, G_MAXINT64, &present, &seq, error)
      || (!present && !wb_json_reader_fail (reader, "seq", error, "is required"))
      || (frame->type == FRAME_EVENTS && !read_events (reader, frame, error)))
    {
      frame_free (frame);
      return NULL;
    }
  frame->seq = (guint64) seq;
  return frame;
}

static void
emit_events (WbEventStream *self,
             GPtrArray     *events)
{
  for (guint i = 0; i < events->len; i++)
    {
      JsonObject *event = g_ptr_array_index (events, i);
      guint64 seq = (guint64) json_object_get_int_member (event, "seq");

      /* A resumed stream never repeats one, but a second subscribe's
       * queue might: the seq says. */
      if (seq <= self->seq)
        continue;
      self->seq = seq;
      g_signal_emit (self, signals[SIGNAL_EVENT], 0, event);
    }
}

static void
on_frame (gpointer data,
          gpointer user_data)
{
  WbEventStream *self = user_data;
  Frame *frame = data;

  switch (frame->type)
    {
    case FRAME_EVENTS:
      if (g_strcmp0 (frame->epoch, self->epoch) != 0)
        set_position (self, frame->epoch, 0);
      emit_events (self, frame->events);
      break;
    case FRAME_RESYNC:
      set_position (self, frame->epoch, frame->seq);
      g_signal_emit (self, signals[SIGNAL_RESYNC], 0);
      break;
    case FRAME_SUBSCRIBED:
      /* A resuming stream's subscribed stands at the server's position,
       * and the missed events follow: only a fresh start takes it. */
      if (g_strcmp0 (frame->epoch, self->epoch) != 0)
        set_position (self, frame->epoch, frame->seq);
      break;
    }
  _wb_stream_link_set_live (self->link);
}

static void
on_state_changed (WbStreamState state,
                  gpointer      user_data)
{
  WbEventStream *self = user_data;

  if (self->state == state)
    return;
  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

static const WbStreamLinkCallbacks link_callbacks = {
  .opened = on_opened,
  .read = read_frame,
  .frame = on_frame,
  .free_frame = frame_free,
  .state_changed = on_state_changed,
};

static void
wb_event_stream_dispose (GObject *object)
{
  WbEventStream *self = WB_EVENT_STREAM (object);

  if (self->link != NULL)
    _wb_stream_link_detach (self->link);
  g_clear_object (&self->link);

  G_OBJECT_CLASS (wb_event_stream_parent_class)->dispose (object);
}

static void
wb_event_stream_finalize (GObject *object)
{
  WbEventStream *self = WB_EVENT_STREAM (object);

  g_clear_pointer (&self->kinds, g_strfreev);
  g_clear_pointer (&self->client_ids, g_strfreev);
  g_clear_pointer (&self->shipment_ids, g_strfreev);
  g_clear_pointer (&self->trip_ids, g_strfreev);
  g_clear_pointer (&self->epoch, g_free);

  G_OBJECT_CLASS (wb_event_stream_parent_class)->finalize (object);
}

static void
wb_event_stream_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  WbEventStream *self = WB_EVENT_STREAM (object);

  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_event_stream_class_init (WbEventStreamClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = wb_event_stream_dispose;
  object_class->finalize = wb_event_stream_finalize;
  object_class->get_property = wb_event_stream_get_property;

  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL, WB_TYPE_STREAM_STATE, WB_STREAM_STATE_DISCONNECTED,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[SIGNAL_EVENT] =
    g_signal_new ("event", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, JSON_TYPE_OBJECT);
  signals[SIGNAL_RESYNC] =
    g_signal_new ("resync", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
}

static void
wb_event_stream_init (WbEventStream *self)
{
}

WbEventStream *
wb_event_stream_new (WbClient *client)
{
  WbEventStream *self;

  g_return_val_if_fail (WB_IS_CLIENT (client), NULL);

  self = g_object_new (WB_TYPE_EVENT_STREAM, NULL);
  self->link = _wb_stream_link_new (client, "/ws/events", &link_callbacks, self);
  return self;
}

/**
 * wb_event_stream_set_filter:
 * @kinds: (nullable) (array zero-terminated=1)
 * @client_ids: (nullable) (array zero-terminated=1)
 * @shipment_ids: (nullable) (array zero-terminated=1)
 */
void
wb_event_stream_set_filter (WbEventStream      *self,
                            const char * const *kinds,
                            const char * const *client_ids,
                            const char * const *shipment_ids)
{
  g_return_if_fail (WB_IS_EVENT_STREAM (self));
  g_return_if_fail (kinds == NULL || kinds[0] != NULL);

  g_strfreev (self->kinds);
  self->kinds = g_strdupv ((char **) kinds);
  g_strfreev (self->client_ids);
  self->client_ids = g_strdupv ((char **) client_ids);
  g_strfreev (self->shipment_ids);
  self->shipment_ids = g_strdupv ((char **) shipment_ids);
  if (_wb_stream_link_is_open (self->link))
    send_subscribe (self);
}

/**
 * wb_event_stream_set_trip_ids:
 * @trip_ids: (nullable) (array zero-terminated=1)
 */
void
wb_event_stream_set_trip_ids (WbEventStream      *self,
                              const char * const *trip_ids)
{
  g_return_if_fail (WB_IS_EVENT_STREAM (self));

  g_strfreev (self->trip_ids);
  self->trip_ids = g_strdupv ((char **) trip_ids);
  if (_wb_stream_link_is_open (self->link))
    send_subscribe (self);
}

void
wb_event_stream_set_backoff (WbEventStream *self,
                             guint          min_ms,
                             guint          max_ms)
{
  g_return_if_fail (WB_IS_EVENT_STREAM (self));
  _wb_stream_link_set_backoff (self->link, min_ms, max_ms);
}

void
wb_event_stream_start (WbEventStream *self)
{
  g_return_if_fail (WB_IS_EVENT_STREAM (self));
  _wb_stream_link_start (self->link);
}

void
wb_event_stream_stop (WbEventStream *self)
{
  g_return_if_fail (WB_IS_EVENT_STREAM (self));
  _wb_stream_link_stop (self->link);
}

WbStreamState
wb_event_stream_get_state (WbEventStream *self)
{
  g_return_val_if_fail (WB_IS_EVENT_STREAM (self), WB_STREAM_STATE_DISCONNECTED);
  return self->state;
}

const char *
wb_event_stream_get_epoch (WbEventStream *self)
{
  g_return_val_if_fail (WB_IS_EVENT_STREAM (self), NULL);
  return self->epoch;
}

guint64
wb_event_stream_get_seq (WbEventStream *self)
{
  g_return_val_if_fail (WB_IS_EVENT_STREAM (self), 0);
  return self->seq;
}

const GError *
wb_event_stream_get_error (WbEventStream *self)
{
  g_return_val_if_fail (WB_IS_EVENT_STREAM (self), NULL);
  return _wb_stream_link_get_error (self->link);
}

WbStreamLink *
_wb_event_stream_get_link (WbEventStream *self)
{
  return self->link;
}
