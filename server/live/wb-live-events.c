// SPDX-License-Identifier: GPL-3.0-or-later
/* The /ws/events stream.
 *
 * Every event is a fact a console must show, so unlike the map stream
 * nothing is coalesced: a connection's queue holds whole events, sent as
 * one frame per batching window once the previous frame has left (libsoup
 * 3.2 queues without bound and cannot say how much waits). Trip changes
 * (the trip.* topics of dispatch) are the kind "trip", and the outcomes
 * of reassignment commands (applied: trip.reassigned, rejected:
 * trip.reassign_rejected) the kind "command", each sent only to streams
 * that ask for it. */

#include "config.h"

#include "wb-json-reader.h"
#include "wb-json-writer.h"
#include "wb-live-admission.h"
#include "wb-live-events.h"

#define BUS_BATCH        500
#define MAX_FILTER_IDS   1000
/* A resume may owe a client the whole window: it leaves in frames of at
 * most this many events, one per batching window once the last has left. */
#define MAX_FRAME_EVENTS 1000

typedef enum
{
  KIND_SHIPMENT = 1 << 0,
  KIND_SLA      = 1 << 1,
  KIND_DEVICE   = 1 << 2,
  KIND_TRIP     = 1 << 3,
  KIND_COMMAND  = 1 << 4,
} EventKind;

static const char * const kind_names[] = { "shipment", "sla", "device", "trip", "command", NULL };

/* Without "kinds": what a stream got before trips and commands were on it. */
#define DEFAULT_KINDS (KIND_SHIPMENT | KIND_SLA | KIND_DEVICE)

typedef struct
{
  guint64    seq;
  gint64     at;            /* monotonic, for the window's age */
  EventKind  kind;
  char      *client_id;     /* nullable */
  char      *shipment_id;   /* nullable */
  char      *trip_id;       /* nullable */
  char      *json;          /* the event as sent, its seq included */
} Event;

typedef struct
{
  WbLiveEvents            *owner;
  guint64                  id;
  WbLiveStream            *stream;
  guint                    kinds;         /* 0 until subscribed */
  GHashTable              *client_ids;    /* nullable: all */
  GHashTable              *shipment_ids;  /* nullable: all */
  GHashTable              *trip_ids;      /* nullable: all */
  GQueue                   pending;       /* Event, shared with the window */
  gint64                   over_bound_since;
} Stream;

struct _WbLiveEvents
{
  GObject             parent_instance;

  WbBus              *bus;
  WbMetrics          *metrics;
  WbLiveStreamLimits  limits;
  GQueue              window;             /* Event, oldest first */
  guint               replay_size;
  GTimeSpan           replay_age;
  char               *epoch;
  guint64             seq;
  GHashTable         *streams;            /* id → Stream */
  guint64             next_stream_id;
  WbLiveAdmission    *admission;
  guint               window_ms;
  guint               subscription;
  GSource            *tick_source;
};

G_DEFINE_FINAL_TYPE (WbLiveEvents, wb_live_events, G_TYPE_OBJECT)

static Event *
event_ref (Event *event)
{
  return g_atomic_rc_box_acquire (event);
}

static void
event_clear (Event *event)
{
  g_free (event->client_id);
  g_free (event->shipment_id);
  g_free (event->trip_id);
  g_free (event->json);
}

static void
event_unref (Event *event)
{
  g_atomic_rc_box_release_full (event, (GDestroyNotify) event_clear);
}

/* ---- the replay window --------------------------------------------------- */

static void
expire (WbLiveEvents *self,
        gint64        now)
{
  Event *oldest;

  while ((oldest = g_queue_peek_head (&self->window)) != NULL
         && (self->window.length > self->replay_size || now - oldest->at > self->replay_age))
    event_unref (g_queue_pop_head (&self->window));
}

/* The seq of the oldest event the window can still give. */
static guint64
first_kept (WbLiveEvents *self)
{
  Event *oldest = g_queue_peek_head (&self->window);

  return oldest ? oldest->seq : self->seq + 1;
}

/* ---- one connection ------------------------------------------------------ */

static gboolean
stream_wants (Stream      *stream,
              const Event *event)
{
  if ((stream->kinds & event->kind) == 0)
    return FALSE;
  /* A command is about a trip: tripIds select both. */
  if (event->kind == KIND_TRIP || event->kind == KIND_COMMAND)
    return stream->trip_ids == NULL || (event->trip_id != NULL && g_hash_table_contains (stream->trip_ids, event->trip_id));
  if (stream->client_ids != NULL && event->kind != KIND_DEVICE
      && (event->client_id == NULL || !g_hash_table_contains (stream->client_ids, event->client_id)))
    return FALSE;
  if (stream->shipment_ids != NULL && event->kind != KIND_DEVICE
      && (event->shipment_id == NULL || !g_hash_table_contains (stream->shipment_ids, event->shipment_id)))
    return FALSE;
  return TRUE;
}

static void
stream_close (Stream     *stream,
              gushort     code,
              const char *reason,
              const char *metric_reason)
{
  g_queue_clear_full (&stream->pending, (GDestroyNotify) event_unref);
  wb_live_stream_close (stream->stream, code, reason, metric_reason);
}

static void
stream_push (Stream *stream,
             Event  *event)
{
  if (!wb_live_stream_is_open (stream->stream))
    return;
  g_queue_push_tail (&stream->pending, event_ref (event));
  /* Past the hard limit nothing waits for the deadline: memory is bounded. */
  if (stream->pending.length > MAX (stream->owner->limits.outbox_hard_limit, 1))
    stream_close (stream, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION,
                  "Too slow: more events pending than the gateway keeps", "slow");
}

static void
send_position (Stream     *stream,
               const char *type)
{
  g_autoptr(GString) out = g_string_new ("{\"type\":");

  wb_json_write_string (out, type);
  g_string_append (out, ",\"epoch\":");
  wb_json_write_string (out, stream->owner->epoch);
  g_string_append (out, ",\"seq\":");
  wb_json_write_int (out, (gint64) stream->owner->seq);
  g_string_append_c (out, '}');
  wb_live_stream_send_text (stream->stream, out->str);
}

/* {"type":"events","epoch","seq","events":[…]}; seq is the last one sent. */
static void
stream_flush (Stream *stream)
{
  g_autoptr(GString) out = g_string_new ("{\"type\":\"events\",\"epoch\":");
  guint64 last = 0;
  Event *event;

  wb_json_write_string (out, stream->owner->epoch);
  g_string_append (out, ",\"events\":[");
  for (guint i = 0; i < MAX_FRAME_EVENTS && (event = g_queue_pop_head (&stream->pending)) != NULL; i++)
    {
      if (i > 0)
        g_string_append_c (out, ',');
      g_string_append (out, event->json);
      last = event->seq;
      event_unref (event);
    }
  g_string_append (out, "],\"seq\":");
  wb_json_write_int (out, (gint64) last);
  g_string_append_c (out, '}');
  wb_live_stream_send_text (stream->stream, out->str);
  wb_metrics_counter_add (stream->owner->metrics, "waybill_events_frames_total", 1, NULL);
}

/* Sends what is pending as one frame, if the previous one has left. */
static void
stream_send_pending (Stream *stream)
{
  if (stream->pending.length > 0 && wb_live_stream_can_send (stream->stream))
    stream_flush (stream);
}

static void
stream_tick (Stream *stream,
             gint64  now)
{
  const WbLiveStreamLimits *limits = &stream->owner->limits;

  if (!wb_live_stream_check (stream->stream, now))
    return;
  if (stream->pending.length <= limits->outbox_bound)
    stream->over_bound_since = 0;
  else if (stream->over_bound_since == 0)
    stream->over_bound_since = now;
  else if (now - stream->over_bound_since > (gint64) limits->slow_deadline_ms * 1000)
    return stream_close (stream, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION,
                         "Too slow: events stayed pending past the deadline", "slow");
  stream_send_pending (stream);
}

static void
stream_free (Stream *stream)
{
  g_clear_pointer (&stream->stream, wb_live_stream_free);
  g_queue_clear_full (&stream->pending, (GDestroyNotify) event_unref);
  g_clear_pointer (&stream->client_ids, g_hash_table_unref);
  g_clear_pointer (&stream->shipment_ids, g_hash_table_unref);
  g_clear_pointer (&stream->trip_ids, g_hash_table_unref);
  g_free (stream);
}

/* ---- subscribe ------------------------------------------------------------ */

static GHashTable *
read_id_set (WbJsonReader  *reader,
             const char    *member,
             gboolean      *out_ok,
             GError       **error)
{
  g_autoptr(GHashTable) ids = NULL;
  JsonArray *array = NULL;

  *out_ok = wb_json_reader_peek_array (reader, member, FALSE, &array, error);
  if (!*out_ok || array == NULL)
    return NULL;
  ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *node = json_array_get_element (array, i);

      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING
          || *json_node_get_string (node) == '\0' || i >= MAX_FILTER_IDS)
        {
          *out_ok = wb_json_reader_fail (reader, member, error, "%s holds at most %u non-empty strings",
                                         member, MAX_FILTER_IDS);
          return NULL;
        }
      g_hash_table_add (ids, g_strdup (json_node_get_string (node)));
    }
  return g_steal_pointer (&ids);
}

static gboolean
read_kinds (WbJsonReader  *reader,
            guint         *out_kinds,
            GError       **error)
{
  JsonArray *array = NULL;

  if (!wb_json_reader_peek_array (reader, "kinds", FALSE, &array, error))
    return FALSE;
  *out_kinds = array == NULL ? DEFAULT_KINDS : 0;
  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++)
    {
      JsonNode *node = json_array_get_element (array, i);
      gboolean known = FALSE;

      for (guint k = 0; kind_names[k] != NULL && JSON_NODE_HOLDS_VALUE (node)
                        && json_node_get_value_type (node) == G_TYPE_STRING; k++)
        if (g_str_equal (json_node_get_string (node), kind_names[k]))
          {
            *out_kinds |= 1 << k;
            known = TRUE;
          }
      if (!known)
        return wb_json_reader_fail (reader, "kinds", error, "kinds holds shipment, sla, device, trip or command");
    }
  if (*out_kinds == 0)
    return wb_json_reader_fail (reader, "kinds", error, "kinds must not be empty");
  return TRUE;
}

/* {"type":"subscribe","kinds"?,"clientIds"?,"shipmentIds"?,"tripIds"?,"since"?:{"epoch","seq"}} */
static gboolean
read_subscribe (Stream   *stream,
                GBytes   *message,
                char    **out_epoch,
                guint64  *out_seq,
                GError  **error)
{
  static const char * const known[] = { "type", "kinds", "clientIds", "shipmentIds", "tripIds", "since", NULL };
  WbJsonLimits limits = { stream->owner->limits.max_message_size, 4 };
  g_autoptr(WbJsonReader) reader = wb_json_reader_new_from_bytes (message, &limits, error);
  g_autoptr(WbJsonReader) since = NULL;
  g_autofree char *type = NULL;
  gint64 seq = 0;
  gboolean has_seq = FALSE, ok = TRUE;

  if (reader == NULL || !wb_json_reader_get_string (reader, "type", TRUE, &type, error))
    return FALSE;
  if (!g_str_equal (type, "subscribe"))
    return wb_json_reader_fail (reader, "type", error, "Only \"subscribe\" messages are accepted");
  if (!wb_json_reader_reject_unknown (reader, known, error) || !read_kinds (reader, &stream->kinds, error))
    return FALSE;
  g_clear_pointer (&stream->client_ids, g_hash_table_unref);
  g_clear_pointer (&stream->shipment_ids, g_hash_table_unref);
  stream->client_ids = read_id_set (reader, "clientIds", &ok, error);
  if (!ok)
    return FALSE;
  stream->shipment_ids = read_id_set (reader, "shipmentIds", &ok, error);
  if (!ok)
    return FALSE;
  g_clear_pointer (&stream->trip_ids, g_hash_table_unref);
  stream->trip_ids = read_id_set (reader, "tripIds", &ok, error);
  if (!ok)
    return FALSE;
  if (wb_json_reader_has_member (reader, "since"))
    {
      since = wb_json_reader_get_object_member (reader, "since", TRUE, error);
      if (since == NULL || !wb_json_reader_get_string (since, "epoch", TRUE, out_epoch, error)
          || !wb_json_reader_get_int64 (since, "seq", 0, G_MAXINT64, &has_seq, &seq, error))
        return FALSE;
      if (!has_seq)
        return wb_json_reader_fail (since, "seq", error, "since needs seq");
    }
  *out_seq = seq;
  return TRUE;
}

/* Whether the window still holds every event after @seq of @epoch. */
static gboolean
replay (WbLiveEvents *self,
        Stream       *stream,
        const char   *epoch,
        guint64       seq)
{
  expire (self, g_get_monotonic_time ());
  if (!g_str_equal (epoch, self->epoch) || seq > self->seq || seq + 1 < first_kept (self))
    return FALSE;
  for (GList *l = self->window.head; l != NULL; l = l->next)
    {
      Event *event = l->data;

      if (event->seq > seq && stream_wants (stream, event))
        stream_push (stream, event);
    }
  return TRUE;
}

static void
on_message (WbLiveStream *live_stream,
            GBytes       *message,
            gpointer      data)
{
  Stream *stream = data;
  WbLiveEvents *self = stream->owner;
  gboolean first = stream->kinds == 0;
  g_autoptr(GError) error = NULL;
  g_autofree char *epoch = NULL;
  guint64 seq = 0;

  if (!read_subscribe (stream, message, &epoch, &seq, &error))
    return wb_live_stream_close_bad_message (stream->stream, error);
  /* A new subscribe changes the filter from now on; what is queued stays. */
  send_position (stream, "subscribed");
  if (first && epoch != NULL)
    {
      gboolean replayed = replay (self, stream, epoch, seq);

      wb_metrics_counter_add (self->metrics, "waybill_events_resumes_total", 1,
                              "outcome", replayed ? "replayed" : "resync", NULL);
      if (!replayed)
        send_position (stream, "resync");
      else
        stream_send_pending (stream);
    }
}

static gboolean
free_stream_later (gpointer data)
{
  stream_free (data);
  return G_SOURCE_REMOVE;
}

static void
update_gauge (WbLiveEvents *self)
{
  wb_metrics_gauge_set (self->metrics, "waybill_events_connections", g_hash_table_size (self->streams), NULL);
}

static void
on_closed (WbLiveStream *live_stream,
           const char   *reason,
           gpointer      data)
{
  Stream *stream = data;
  WbLiveEvents *self = stream->owner;

  wb_metrics_counter_add (self->metrics, "waybill_events_connections_closed_total", 1, "reason", reason, NULL);
  g_hash_table_steal (self->streams, &stream->id);
  wb_live_admission_release (self->admission, wb_live_stream_get_peer (live_stream));
  update_gauge (self);
  /* Inside the connection's own signal. */
  wb_live_idle_add (free_stream_later, stream);
}

static void
on_websocket (GIOStream               *io_stream,
              GSocket                 *socket,
              const char              *peer,
              WbAccessRole             role,
              const char              *subject,
              gint64                   expires_at,
              gpointer                 data)
{
  WbLiveEvents *self = data;
  Stream *stream;

  if (!wb_live_admission_admit (self->admission, io_stream, socket, peer))
    return;
  stream = g_new0 (Stream, 1);
  stream->owner = self;
  stream->id = ++self->next_stream_id;
  stream->stream = wb_live_stream_new (io_stream, socket, peer, expires_at, &self->limits, on_message, on_closed,
                                       stream);
  if (stream->stream == NULL)
    {
      wb_live_admission_release (self->admission, peer);
      stream_free (stream);
      return;
    }
  g_hash_table_insert (self->streams, &stream->id, stream);
  update_gauge (self);
}

static gboolean
on_tick (gpointer data)
{
  WbLiveEvents *self = data;
  gint64 now = g_get_monotonic_time ();
  g_autoptr(GList) streams = g_hash_table_get_values (self->streams);

  for (GList *l = streams; l != NULL; l = l->next)
    stream_tick (l->data, now);
  expire (self, now);
  return G_SOURCE_CONTINUE;
}

/* ---- from the bus ---------------------------------------------------------- */

static void
copy_string (WbJsonReader *reader,
             GString      *out,
             const char   *member,
             const char   *name)
{
  const char *value = NULL;

  g_string_append_printf (out, ",\"%s\":", name);
  if (wb_json_reader_peek_string (reader, member, FALSE, 1024, &value, NULL) && value != NULL)
    wb_json_write_string (out, value);
  else
    g_string_append (out, "null");
}

static void
copy_int (WbJsonReader *reader,
          GString      *out,
          const char   *member)
{
  gboolean present = FALSE;
  gint64 value = 0;

  g_string_append_printf (out, ",\"%s\":", member);
  if (wb_json_reader_get_int64 (reader, member, G_MININT64, G_MAXINT64, &present, &value, NULL) && present)
    wb_json_write_int (out, value);
  else
    g_string_append (out, "null");
}

static void
copy_double (WbJsonReader *reader,
             GString      *out,
             const char   *member)
{
  gboolean present = FALSE;
  double value = 0;

  g_string_append_printf (out, ",\"%s\":", member);
  if (wb_json_reader_get_double (reader, member, -G_MAXDOUBLE, G_MAXDOUBLE, &present, &value, NULL) && present)
    wb_json_write_double (out, value);
  else
    g_string_append (out, "null");
}

/* A trip.* message: the same members for every change, null where the
 * change has none (a stop's, a cancellation's reason, a command's id). */
static void
write_trip_body (WbJsonReader *reader,
                 const char   *topic,
                 GString      *out)
{
  gboolean has_stop = FALSE;
  gint64 stop = 0;

  g_string_append (out, ",\"type\":");
  wb_json_write_string (out, topic);
  copy_string (reader, out, "trip_id", "tripId");
  copy_string (reader, out, "company_id", "companyId");
  copy_string (reader, out, "vehicle_id", "vehicleId");
  copy_string (reader, out, "driver_id", "driverId");
  copy_string (reader, out, "status", "status");
  copy_int (reader, out, "version");
  copy_string (reader, out, "occurred_at", "occurredAt");
  /* The stop's place in the trip; the event's own seq is the stream's. */
  if (wb_json_reader_get_int64 (reader, "seq", 0, G_MAXINT64, &has_stop, &stop, NULL) && has_stop)
    g_string_append_printf (out, ",\"stopSeq\":%" G_GINT64_FORMAT, stop);
  else
    g_string_append (out, ",\"stopSeq\":null");
  copy_string (reader, out, "pickup_point_id", "pickupPointId");
  copy_double (reader, out, "lat");
  copy_double (reader, out, "lon");
  copy_string (reader, out, "reason", "reason");
  copy_string (reader, out, "command_id", "commandId");
}

/* A reassignment command's outcome, from trip.reassigned (applied: the
 * trip's vehicle and driver now) or trip.reassign_rejected (rejected: the
 * ones asked for, and why not in outcome). */
static void
write_command_body (WbJsonReader *reader,
                    gboolean      applied,
                    GString      *out)
{
  g_string_append (out, ",\"type\":\"trip.reassign\"");
  copy_string (reader, out, "command_id", "commandId");
  copy_string (reader, out, "trip_id", "tripId");
  g_string_append (out, applied ? ",\"status\":\"applied\"" : ",\"status\":\"rejected\"");
  copy_string (reader, out, "vehicle_id", "vehicleId");
  copy_string (reader, out, "driver_id", "driverId");
  copy_string (reader, out, "reason", "reason");
  copy_string (reader, out, "outcome", "outcome");
  copy_string (reader, out, "requested_by", "requestedBy");
  copy_string (reader, out, "occurred_at", "occurredAt");
}

/* The event's members after kind, seq and type, camelCase. */
static gboolean
write_body (WbJsonReader *reader,
            const char   *topic,
            EventKind    *out_kind,
            GString      *out)
{
  const char *type = NULL;

  if (g_str_equal (topic, "trip.reassign_rejected"))
    {
      *out_kind = KIND_COMMAND;
      write_command_body (reader, FALSE, out);
      return TRUE;
    }
  if (g_str_has_prefix (topic, "trip."))
    {
      *out_kind = KIND_TRIP;
      write_trip_body (reader, topic, out);
      return TRUE;
    }
  if (!g_str_equal (topic, "tracking.events"))
    {
      gboolean online = g_str_equal (topic, "device.online");

      *out_kind = KIND_DEVICE;
      g_string_append (out, online ? ",\"type\":\"device.online\"" : ",\"type\":\"device.offline\"");
      copy_string (reader, out, "device_id", "deviceId");
      copy_string (reader, out, "vehicle_id", "vehicleId");
      copy_string (reader, out, "last_seen_at", "lastSeenAt");
      copy_string (reader, out, online ? "online_at" : "offline_at", "at");
      return TRUE;
    }
  if (!wb_json_reader_peek_string (reader, "type", TRUE, 64, &type, NULL))
    return FALSE;
  g_string_append (out, ",\"type\":");
  wb_json_write_string (out, type);
  copy_string (reader, out, "shipmentId", "shipmentId");
  copy_string (reader, out, "clientId", "clientId");
  copy_string (reader, out, "status", "status");
  copy_int (reader, out, "version");
  if (g_str_equal (type, "shipment.status_changed"))
    {
      *out_kind = KIND_SHIPMENT;
      copy_string (reader, out, "previousStatus", "previousStatus");
      copy_string (reader, out, "reason", "reason");
      copy_string (reader, out, "occurredAt", "occurredAt");
      return TRUE;
    }
  if (g_str_equal (type, "shipment.delayed"))
    {
      *out_kind = KIND_SLA;
      copy_string (reader, out, "promisedAt", "promisedAt");
      copy_string (reader, out, "detectedAt", "detectedAt");
      copy_int (reader, out, "lateBySeconds");
      return TRUE;
    }
  return FALSE;
}

static void
publish_event (WbLiveEvents *self,
               WbJsonReader *reader,
               EventKind     kind,
               GString      *body)
{
  g_autoptr(GString) json = g_string_new ("{\"kind\":");
  g_autoptr(GList) streams = NULL;
  Event *event;

  event = g_atomic_rc_box_new0 (Event);
  event->seq = ++self->seq;
  event->at = g_get_monotonic_time ();
  event->kind = kind;
  (void) wb_json_reader_get_string (reader, "clientId", FALSE, &event->client_id, NULL);
  (void) wb_json_reader_get_string (reader, "shipmentId", FALSE, &event->shipment_id, NULL);
  if (kind == KIND_TRIP || kind == KIND_COMMAND)
    (void) wb_json_reader_get_string (reader, "trip_id", FALSE, &event->trip_id, NULL);
  wb_json_write_string (json, kind_names[g_bit_nth_lsf (kind, -1)]);
  g_string_append (json, ",\"seq\":");
  wb_json_write_int (json, (gint64) event->seq);
  g_string_append_len (json, body->str, body->len);
  g_string_append_c (json, '}');
  event->json = g_string_free (g_steal_pointer (&json), FALSE);
  g_queue_push_tail (&self->window, event);
  expire (self, event->at);

  streams = g_hash_table_get_values (self->streams);
  for (GList *l = streams; l != NULL; l = l->next)
    if (stream_wants (l->data, event))
      stream_push (l->data, event);
  wb_metrics_counter_add (self->metrics, "waybill_events_total", 1, "kind", kind_names[g_bit_nth_lsf (kind, -1)],
                          NULL);
}

static void
publish (WbLiveEvents *self,
         WbJsonReader *reader,
         const char   *topic)
{
  g_autoptr(GString) body = g_string_new (NULL);
  EventKind kind = 0;

  if (!write_body (reader, topic, &kind, body))
    return;
  publish_event (self, reader, kind, body);
  /* An applied reassignment is a trip change and a command's outcome. */
  if (g_str_equal (topic, "trip.reassigned"))
    {
      g_string_truncate (body, 0);
      write_command_body (reader, TRUE, body);
      publish_event (self, reader, KIND_COMMAND, body);
    }
}

static void
on_batch (WbBus      *bus,
          WbBusBatch *batch,
          gpointer    data)
{
  WbLiveEvents *self = data;
  WbJsonLimits limits = { WB_JSON_DEFAULT_MAX_SIZE, WB_JSON_DEFAULT_MAX_DEPTH };

  for (guint i = 0; i < wb_bus_batch_get_length (batch); i++)
    {
      WbBusMessage *message = wb_bus_batch_get_message (batch, i);
      g_autoptr(WbJsonReader) reader = wb_json_reader_new_from_bytes (wb_bus_message_get_payload (message),
                                                                      &limits, NULL);

      if (reader != NULL)
        publish (self, reader, wb_bus_message_get_topic (message));
    }
  wb_bus_batch_ack (batch);
}

/* ---- the object -------------------------------------------------------------- */

static void
declare_metrics (WbMetrics *m)
{
  wb_metrics_declare (m, "waybill_events_connections", WB_METRIC_GAUGE, "Open /ws/events streams.", NULL, 0);
  wb_metrics_declare (m, "waybill_events_connections_rejected_total", WB_METRIC_COUNTER,
                      "Event streams refused by a connection limit (total, per_peer).", NULL, 0);
  wb_metrics_declare (m, "waybill_events_connections_closed_total", WB_METRIC_COUNTER,
                      "Event streams closed, by reason: client, slow, pong_timeout, bad_message, token_expired.", NULL, 0);
  wb_metrics_declare (m, "waybill_events_total", WB_METRIC_COUNTER,
                      "Events on the /ws/events stream (its seq), by kind.", NULL, 0);
  wb_metrics_declare (m, "waybill_events_frames_total", WB_METRIC_COUNTER,
                      "Event frames sent to clients.", NULL, 0);
  wb_metrics_declare (m, "waybill_events_resumes_total", WB_METRIC_COUNTER,
                      "Event subscribes with a stream position: replayed, or resync.", NULL, 0);
  wb_metrics_gauge_set (m, "waybill_events_connections", 0, NULL);
}

static void
wb_live_events_finalize (GObject *object)
{
  WbLiveEvents *self = WB_LIVE_EVENTS (object);

  wb_live_events_stop (self);
  g_clear_pointer (&self->streams, g_hash_table_unref);
  g_clear_pointer (&self->admission, wb_live_admission_free);
  g_queue_clear_full (&self->window, (GDestroyNotify) event_unref);
  g_clear_object (&self->bus);
  g_clear_object (&self->metrics);
  g_free (self->epoch);
  G_OBJECT_CLASS (wb_live_events_parent_class)->finalize (object);
}

static void
wb_live_events_class_init (WbLiveEventsClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = wb_live_events_finalize;
}

static void
wb_live_events_init (WbLiveEvents *self)
{
  self->streams = g_hash_table_new (g_int64_hash, g_int64_equal);
  /* A restarted gateway has forgotten its window: a new epoch says so. */
  self->epoch = g_strdup_printf ("%08x%08x", g_random_int (), g_random_int ());
}

WbLiveEvents *
wb_live_events_new (WbBus                    *bus,
                    WbMetrics                *metrics,
                    const WbLiveStreamLimits *limits,
                    guint                     replay_size,
                    GTimeSpan                 replay_age,
                    guint                     max_connections,
                    guint                     max_per_peer,
                    guint                     window_ms)
{
  WbLiveEvents *self;

  g_return_val_if_fail (WB_IS_BUS (bus), NULL);
  g_return_val_if_fail (WB_IS_METRICS (metrics), NULL);
  g_return_val_if_fail (limits != NULL, NULL);

  self = g_object_new (WB_TYPE_LIVE_EVENTS, NULL);
  self->bus = g_object_ref (bus);
  self->metrics = g_object_ref (metrics);
  self->limits = *limits;
  self->replay_size = replay_size;
  self->replay_age = replay_age;
  self->admission = wb_live_admission_new (metrics, "waybill_events_connections_rejected_total", "event streams",
                                           max_connections, max_per_peer);
  self->window_ms = MAX (window_ms, 1);
  declare_metrics (metrics);
  return self;
}

/* @context: (nullable): where the streams run (see wb_live_events_start()) */
void
wb_live_events_register (WbLiveEvents *self,
                         WbHttpServer *http,
                         GMainContext *context)
{
  g_return_if_fail (WB_IS_LIVE_EVENTS (self));

  wb_http_server_add_websocket (http, "/ws/events", WB_ACCESS_ROLE_VIEWER, on_websocket, self, context);
}

void
wb_live_events_start (WbLiveEvents *self,
                      const char   *group)
{
  static const char * const topics[] = {
    "tracking.events", "device.online", "device.offline",
    "trip.created", "trip.started", "trip.stop_arrived", "trip.stop_departed",
    "trip.completed", "trip.cancelled", "trip.reassigned", "trip.reassign_rejected", NULL
  };

  g_return_if_fail (WB_IS_LIVE_EVENTS (self));

  if (self->subscription != 0)
    return;
  self->subscription = wb_bus_subscribe (self->bus, group, topics, BUS_BATCH, on_batch, self, NULL);
  self->tick_source = wb_live_timeout_add (self->window_ms, on_tick, self);
}

void
wb_live_events_stop (WbLiveEvents *self)
{
  g_autoptr(GList) streams = NULL;

  g_return_if_fail (WB_IS_LIVE_EVENTS (self));

  if (self->subscription != 0)
    wb_bus_unsubscribe (self->bus, self->subscription);
  self->subscription = 0;
  if (self->tick_source != NULL)
    g_source_destroy (self->tick_source);
  g_clear_pointer (&self->tick_source, g_source_unref);
  streams = g_hash_table_get_values (self->streams);
  g_hash_table_steal_all (self->streams);
  wb_live_admission_reset (self->admission);
  for (GList *l = streams; l != NULL; l = l->next)
    stream_free (l->data);
}
