// SPDX-License-Identifier: GPL-3.0-or-later
/* The ingest role. Every position, whatever protocol it came in by, goes
 * through accept_position(): device identity, technical validation, the
 * duplicate filter, a server timestamp, and then the bus. A full bus pushes
 * back: HTTP answers 503 with Retry-After, and a Teltonika connection stops
 * reading until there is room. Nothing is acknowledged before the bus took
 * it, so nothing acknowledged is lost.
 *
 * Teltonika connections, one per device and thousands of them, live on a
 * thread of their own with its own GMainContext, all in one epoll set:
 * GLib's main loop polls every descriptor on each pass, so on the daemon's
 * loop they would slow every request, and even on a loop of their own each
 * wakeup would poll them all. What they share with the rest (the duplicate filter, the
 * first-appearance queue) is under a lock; the bus and the metrics are
 * thread-safe, and the first-appearance writes stay on the main context. */

#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib-unix.h>

#include "wb-api-errors.h"
#include "wb-ingest.h"
#include "wb-json.h"
#include "wb-json-writer.h"
#include "wb-osmand.h"
#include "wb-position-validate.h"
#include "wb-position.h"
#include "wb-telemetry-json.h"
#include "wb-teltonika.h"
#include "wb-time.h"

#define TELTONIKA_BUFFER_MAX  (64 * 1024 + 64)
#define TELTONIKA_READ_SIZE   4096
#define TELTONIKA_IDLE_S      300
#define TELTONIKA_BACKLOG     1024
/* How long stopping waits for the connections to finish their callbacks. */
#define TELTONIKA_DRAIN_MS    2000

/* First appearances are written in batches, one statement each and one at a
 * time, so a fleet coming online never queues more than one write on the
 * database pool ahead of the API's reads. */
#define SEEN_BATCH_MAX        500
#define SEEN_FLUSH_MS         100
#define SEEN_QUEUE_MAX        20000   /* beyond: noted again at a later position */

typedef enum
{
  ACCEPT_OK,
  ACCEPT_REJECTED,        /* invalid: counted by reason, not retried */
  ACCEPT_UNKNOWN_DEVICE,
  ACCEPT_FULL,            /* the bus is full: push back, the sender retries */
} AcceptResult;

struct _WbIngest
{
  GObject            parent_instance;

  WbBus             *bus;
  WbFleetIndex      *index;
  WbFleetStore      *store;
  WbMetrics         *metrics;
  GMutex             lock;              /* duplicates, seen, seen_queue */
  WbDuplicateFilter *duplicates;
  gint64             max_age_us;
  gboolean           quarantine_unknown;
  GHashTable        *seen;              /* devices whose first appearance was recorded */
  GPtrArray         *seen_queue;        /* …or is waiting to be */
  GSource           *seen_flush;        /* main context only, as seen_writing */
  gboolean           seen_writing;      /* a batch is on the pool */
  GMainContext      *main_context;
  WbHttpServer      *osmand;
  GSocketService    *teltonika;
  guint              teltonika_port;
  GMainContext      *teltonika_context;
  GMainLoop         *teltonika_loop;
  GThread           *teltonika_thread;
  GCancellable      *teltonika_cancellable; /* cancelled on that thread, where its sources are */
  int                teltonika_epoll;   /* every connection's socket */
  GHashTable        *teltonika_clients; /* TeltonikaClient; Teltonika thread only */
  gboolean           teltonika_stopping;
  GCancellable      *cancellable;
};

G_DEFINE_FINAL_TYPE (WbIngest, wb_ingest, G_TYPE_OBJECT)

/* ---- the one path every position takes ----------------------------------- */

static void
count_rejected (WbIngest   *self,
                const char *protocol,
                const char *reason)
{
  wb_metrics_counter_add (self->metrics, "waybill_positions_rejected_total", 1,
                          "protocol", protocol, "reason", reason, NULL);
}

static const char *
protocol_name (WbProtocol protocol)
{
  switch (protocol)
    {
    case WB_PROTOCOL_OSMAND:    return "osmand";
    case WB_PROTOCOL_TELTONIKA: return "teltonika";
    case WB_PROTOCOL_JSON:
    default:                    return "json";
    }
}

typedef struct
{
  WbIngest  *ingest;
  GPtrArray *device_ids;
} SeenBatch;

static void
publish_first_seen (WbIngest   *self,
                    const char *device_id)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(WbBusMessage) message = NULL;
  g_autofree char *now = wb_time_format (g_get_real_time ());

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "device_id");
  json_builder_add_string_value (builder, device_id);
  json_builder_set_member_name (builder, "first_seen_at");
  json_builder_add_string_value (builder, now);
  json_builder_end_object (builder);
  node = json_builder_get_root (builder);
  message = wb_bus_message_new_take (WB_TOPIC_DEVICE_FIRST_SEEN, device_id, wb_json_to_string (node));
  wb_bus_message_add_header (message, "type", WB_TOPIC_DEVICE_FIRST_SEEN);
  wb_bus_publish_async (self->bus, message, self->cancellable, NULL, NULL);
}

static void write_seen_batch (WbIngest *self);

static gboolean
on_seen_flush (gpointer data)
{
  WbIngest *self = data;

  g_clear_pointer (&self->seen_flush, g_source_unref);
  write_seen_batch (self);
  return G_SOURCE_REMOVE;
}

/* A full batch goes at once, a partial one after SEEN_FLUSH_MS; never while
 * the previous batch is still being written. */
static void
schedule_seen_batch (WbIngest *self)
{
  guint queued;

  g_mutex_lock (&self->lock);
  queued = self->seen_queue->len;
  g_mutex_unlock (&self->lock);
  if (self->seen_writing || queued == 0 || g_cancellable_is_cancelled (self->cancellable))
    return;
  if (queued >= SEEN_BATCH_MAX)
    {
      write_seen_batch (self);
      return;
    }
  if (self->seen_flush != NULL)
    return;
  self->seen_flush = g_timeout_source_new (SEEN_FLUSH_MS);
  g_source_set_callback (self->seen_flush, on_seen_flush, self, NULL);
  g_source_attach (self->seen_flush, g_main_context_get_thread_default ());
}

static void
on_devices_seen (GObject      *source,
                 GAsyncResult *result,
                 gpointer      data)
{
  SeenBatch *batch = data;
  WbIngest *self = batch->ingest;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) first_seen = wb_fleet_store_devices_seen_finish (WB_FLEET_STORE (source), result, &error);

  self->seen_writing = FALSE;
  if (first_seen == NULL)
    {
      /* Ask again at the next position from each. */
      g_mutex_lock (&self->lock);
      for (guint i = 0; i < batch->device_ids->len; i++)
        g_hash_table_remove (self->seen, g_ptr_array_index (batch->device_ids, i));
      g_mutex_unlock (&self->lock);
      g_debug ("Could not record %u devices as seen: %s", batch->device_ids->len, error->message);
    }
  else
    for (guint i = 0; i < first_seen->len; i++)
      publish_first_seen (self, g_ptr_array_index (first_seen, i));
  schedule_seen_batch (self);

  g_ptr_array_unref (batch->device_ids);
  g_object_unref (batch->ingest);
  g_free (batch);
}

static void
write_seen_batch (WbIngest *self)
{
  g_autoptr(GPtrArray) device_ids = g_ptr_array_new_with_free_func (g_free);
  SeenBatch *batch;
  guint n;

  if (self->seen_flush != NULL)
    {
      g_source_destroy (self->seen_flush);
      g_clear_pointer (&self->seen_flush, g_source_unref);
    }
  g_mutex_lock (&self->lock);
  n = MIN (self->seen_queue->len, SEEN_BATCH_MAX);
  for (guint i = 0; i < n; i++)
    g_ptr_array_add (device_ids, g_strdup (g_ptr_array_index (self->seen_queue, i)));
  g_ptr_array_remove_range (self->seen_queue, 0, n);
  g_mutex_unlock (&self->lock);
  if (n == 0)
    return;
  batch = g_new0 (SeenBatch, 1);
  batch->ingest = g_object_ref (self);
  batch->device_ids = g_steal_pointer (&device_ids);
  self->seen_writing = TRUE;
  wb_fleet_store_devices_seen_async (self->store, batch->device_ids, self->cancellable, on_devices_seen, batch);
}

/* The database decides whether this is a device's first appearance ever,
 * once per device per process, so there is no round trip per position. */
static gboolean
schedule_seen_batch_cb (gpointer data)
{
  schedule_seen_batch (data);
  return G_SOURCE_REMOVE;
}

static void
note_device_seen (WbIngest   *self,
                  const char *device_id)
{
  gboolean added = FALSE;

  if (self->store == NULL)
    return;
  g_mutex_lock (&self->lock);
  if (!g_hash_table_contains (self->seen, device_id) && self->seen_queue->len < SEEN_QUEUE_MAX)
    {
      g_hash_table_add (self->seen, g_strdup (device_id));
      g_ptr_array_add (self->seen_queue, g_strdup (device_id));
      added = TRUE;
    }
  g_mutex_unlock (&self->lock);
  /* At once on the main context; from the Teltonika thread, on its next pass. */
  if (added)
    g_main_context_invoke_full (self->main_context, G_PRIORITY_DEFAULT, schedule_seen_batch_cb,
                                g_object_ref (self), g_object_unref);
}

/* Identity, validation and duplicates: everything but the publishing. */
static AcceptResult
check_position (WbIngest    *self,
                WbPosition  *position,
                const char  *token,
                gboolean    *out_quarantined,
                const char **out_reason)
{
  WbRejectReason reason;
  gboolean quarantined = FALSE, duplicate;
  const char *protocol = protocol_name (position->protocol);
  const char *unused;

  if (out_reason == NULL)
    out_reason = &unused;
  *out_quarantined = FALSE;
  if (position->device_id == NULL || *position->device_id == '\0')
    {
      *out_reason = wb_reject_reason_to_string (WB_REJECT_MISSING_DEVICE);
      count_rejected (self, protocol, *out_reason);
      return ACCEPT_REJECTED;
    }
  if (!wb_fleet_index_check_device (self->index, position->device_id, token, &quarantined))
    {
      if (!self->quarantine_unknown)
        {
          *out_reason = "unknown_device";
          count_rejected (self, protocol, *out_reason);
          return ACCEPT_UNKNOWN_DEVICE;
        }
      quarantined = TRUE;
    }
  if (!wb_position_validate (position, g_get_real_time (), self->max_age_us, &reason, NULL))
    {
      *out_reason = wb_reject_reason_to_string (reason);
      count_rejected (self, protocol, *out_reason);
      return ACCEPT_REJECTED;
    }
  g_mutex_lock (&self->lock);
  duplicate = !wb_duplicate_filter_check_and_add (self->duplicates, position->device_id, position->device_time);
  g_mutex_unlock (&self->lock);
  if (duplicate)
    {
      *out_reason = "duplicate";
      count_rejected (self, protocol, *out_reason);
      return ACCEPT_REJECTED;
    }
  *out_quarantined = quarantined;
  return ACCEPT_OK;
}

static WbBusMessage *
message_for (WbPosition *position,
             gboolean    quarantined)
{
  WbBusMessage *message;

  /* To the millisecond, the precision of telemetry.raw. */
  position->server_time = g_get_real_time () / 1000 * 1000;
  /* In process, the fleet role takes the position itself; it becomes JSON
   * only on its way out (Kafka, a dead-letter topic). */
  message = wb_bus_message_new_for_object (WB_TOPIC_TELEMETRY_RAW, position->device_id, WB_TYPE_POSITION,
                                           wb_position_ref (position),
                                           (WbBusMessageSerializeFunc) wb_position_to_json);
  wb_bus_message_add_header (message, "protocol", protocol_name (position->protocol));
  if (quarantined)
    wb_bus_message_add_header (message, "quarantined", "true");
  return message;
}

/* Counted by the batch or frame, not by the position: a labelled counter
 * costs a series lookup. */
static void
count_accepted (WbIngest   *self,
                WbProtocol  protocol,
                guint       n)
{
  if (n > 0)
    wb_metrics_counter_add (self->metrics, "waybill_positions_accepted_total", n,
                            "protocol", protocol_name (protocol), NULL);
}

/* For HTTP: publish without waiting; a full bus is the sender's problem. */
static AcceptResult
accept_position (WbIngest    *self,
                 WbPosition  *position,
                 const char  *token,
                 const char **out_reason)
{
  g_autoptr(WbBusMessage) message = NULL;
  g_autoptr(GError) error = NULL;
  gboolean quarantined;
  AcceptResult result = check_position (self, position, token, &quarantined, out_reason);

  if (result != ACCEPT_OK)
    return result;
  message = message_for (position, quarantined);
  if (!wb_bus_try_publish (self->bus, message, &error))
    {
      /* Not taken: the retry must not be refused as a duplicate. */
      wb_duplicate_filter_forget (self->duplicates, position->device_id, position->device_time);
      return ACCEPT_FULL;
    }
  note_device_seen (self, position->device_id);
  count_accepted (self, position->protocol, 1);
  return ACCEPT_OK;
}

static void
respond_full (WbHttpRequest *request)
{
  wb_http_request_set_header (request, "Retry-After", "1");
  wb_http_request_respond_error (request, SOUP_STATUS_SERVICE_UNAVAILABLE, "busy",
                                 "The pipeline is full; retry shortly");
}

/* ---- POST /telemetry ------------------------------------------------------ */

#define BATCH_WAIT_MS 2000

/* A batch in progress: positions are published in order; when the bus is
 * full the batch waits for room (the request stays paused), and only if no
 * room comes within BATCH_WAIT_MS does it answer 503. */
typedef struct
{
  WbIngest      *ingest;
  WbHttpRequest *request;
  GObject       *message;     /* keeps the request alive while paused */
  GPtrArray     *positions;
  guint          next;
  guint          accepted;
  JsonBuilder   *rejected;    /* open array of {index, reason} */
  GCancellable  *deadline;
  guint          deadline_source;
  gboolean       paused;
} Batch;

static void batch_continue (Batch *batch);

static void
batch_free (Batch *batch)
{
  count_accepted (batch->ingest, WB_PROTOCOL_JSON, batch->accepted);
  g_clear_handle_id (&batch->deadline_source, g_source_remove);
  g_clear_object (&batch->deadline);
  g_clear_object (&batch->rejected);
  g_ptr_array_unref (batch->positions);
  g_object_unref (batch->message);
  g_object_unref (batch->ingest);
  g_free (batch);
}

static void
batch_answer (Batch *batch)
{
  g_autoptr(JsonNode) answer = NULL;

  json_builder_end_array (batch->rejected);
  json_builder_set_member_name (batch->rejected, "accepted");
  json_builder_add_int_value (batch->rejected, batch->accepted);
  json_builder_end_object (batch->rejected);
  answer = json_builder_get_root (batch->rejected);
  wb_http_request_respond_json (batch->request, SOUP_STATUS_OK, answer);
  batch_free (batch);
}

static gboolean
on_batch_deadline (gpointer data)
{
  Batch *batch = data;

  batch->deadline_source = 0;
  g_cancellable_cancel (batch->deadline);
  return G_SOURCE_REMOVE;
}

static void
on_batch_published (GObject      *source,
                    GAsyncResult *result,
                    gpointer      data)
{
  Batch *batch = data;
  g_autoptr(GError) error = NULL;
  WbPosition *position = g_ptr_array_index (batch->positions, batch->next);

  if (!wb_bus_publish_finish (WB_BUS (source), result, &error))
    {
      /* No room in time (or the bus closed): what was published stays; a
       * retry of the whole batch is safe, repeats are duplicates. */
      wb_duplicate_filter_forget (batch->ingest->duplicates, position->device_id, position->device_time);
      respond_full (batch->request);
      batch_free (batch);
      return;
    }
  note_device_seen (batch->ingest, position->device_id);
  batch->accepted++;
  batch->next++;
  batch_continue (batch);
}

static void
batch_reject (Batch      *batch,
              const char *reason)
{
  json_builder_begin_object (batch->rejected);
  json_builder_set_member_name (batch->rejected, "index");
  json_builder_add_int_value (batch->rejected, batch->next);
  json_builder_set_member_name (batch->rejected, "reason");
  json_builder_add_string_value (batch->rejected, reason);
  json_builder_end_object (batch->rejected);
}

static void
batch_continue (Batch *batch)
{
  WbIngest *self = batch->ingest;

  for (; batch->next < batch->positions->len; batch->next++)
    {
      WbPosition *position = g_ptr_array_index (batch->positions, batch->next);
      g_autoptr(WbBusMessage) message = NULL;
      const char *reason = NULL;
      gboolean quarantined;

      if (check_position (self, position, NULL, &quarantined, &reason) != ACCEPT_OK)
        {
          batch_reject (batch, reason);
          continue;
        }
      message = message_for (position, quarantined);
      if (wb_bus_try_publish (self->bus, message, NULL))
        {
          note_device_seen (self, position->device_id);
          batch->accepted++;
          continue;
        }

      /* Full: wait for room, paused, within the deadline. */
      if (!batch->paused)
        {
          batch->paused = TRUE;
          wb_http_request_pause (batch->request);
          batch->deadline = g_cancellable_new ();
          batch->deadline_source = g_timeout_add (BATCH_WAIT_MS, on_batch_deadline, batch);
        }
      wb_bus_publish_async (self->bus, message, batch->deadline, on_batch_published, batch);
      return;
    }
  batch_answer (batch);
}

/* A body the decoders refused: 413 when it is beyond the limits (bytes, or
 * positions in a batch), else 400 with the field at fault, when there is
 * one, as data beside the message. */
static void
respond_refused_body (WbHttpRequest *request,
                      const char    *code,
                      const GError  *error)
{
  const char *field = wb_json_error_get_field (error);
  g_autofree char *message = error->domain == WB_JSON_ERROR ? wb_api_json_error_message (error)
                                                            : g_strdup (error->message);

  if (g_error_matches (error, WB_JSON_ERROR, WB_JSON_ERROR_TOO_LARGE))
    wb_api_respond_error (request, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "body_too_large", NULL,
                          error->message, 0);
  else if (g_error_matches (error, WB_TELEMETRY_ERROR, WB_TELEMETRY_ERROR_TOO_LARGE))
    wb_api_respond_error (request, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "too_many_positions", NULL,
                          error->message, 0);
  else
    wb_api_respond_error (request, SOUP_STATUS_BAD_REQUEST, code, field != NULL && *field != '\0' ? field : NULL,
                          message, 0);
}

static void
handle_telemetry (WbHttpRequest *request,
                  gpointer       user_data)
{
  WbIngest *self = user_data;
  g_autoptr(GBytes) body = wb_http_request_get_body (request);
  g_autoptr(GError) error = NULL;
  GPtrArray *positions;
  Batch *batch;

  positions = wb_telemetry_json_decode (g_bytes_get_data (body, NULL), g_bytes_get_size (body), &error);
  if (positions == NULL)
    {
      respond_refused_body (request, "invalid_telemetry", error);
      return;
    }

  batch = g_new0 (Batch, 1);
  batch->ingest = g_object_ref (self);
  batch->request = request;
  batch->message = g_object_ref (G_OBJECT (wb_http_request_get_message (request)));
  batch->positions = positions;
  batch->rejected = json_builder_new ();
  json_builder_begin_object (batch->rejected);
  json_builder_set_member_name (batch->rejected, "rejected");
  json_builder_begin_array (batch->rejected);
  batch_continue (batch);
}

/* ---- OsmAnd ----------------------------------------------------------------- */

static gboolean
is_json_body (WbHttpRequest *request)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (wb_http_request_get_message (request));
  const char *type = soup_message_headers_get_content_type (headers, NULL);

  return type != NULL && g_str_equal (type, "application/json");
}

/* Query string and form body together, the form winning. */
static GHashTable *
osmand_params (WbHttpRequest *request)
{
  SoupServerMessage *message = wb_http_request_get_message (request);
  const char *query = g_uri_get_query (soup_server_message_get_uri (message));
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (message);
  const char *type = soup_message_headers_get_content_type (headers, NULL);
  GHashTable *params = query ? g_uri_parse_params (query, -1, "&", G_URI_PARAMS_WWW_FORM, NULL) : NULL;

  if (params == NULL)
    params = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  if (type != NULL && g_str_equal (type, "application/x-www-form-urlencoded"))
    {
      g_autoptr(GBytes) body = wb_http_request_get_body (request);
      g_autofree char *text = g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
      g_autoptr(GHashTable) form = g_uri_parse_params (text, -1, "&", G_URI_PARAMS_WWW_FORM, NULL);
      GHashTableIter iter;
      gpointer key, value;

      if (form != NULL)
        {
          g_hash_table_iter_init (&iter, form);
          while (g_hash_table_iter_next (&iter, &key, &value))
            g_hash_table_replace (params, g_strdup (key), g_strdup (value));
        }
    }
  return params;
}

static void
handle_osmand (WbHttpRequest *request,
               gpointer       user_data)
{
  WbIngest *self = user_data;
  gboolean json = is_json_body (request);
  g_autoptr(WbPosition) position = NULL;
  g_autoptr(GError) error = NULL;
  const char *token = NULL;
  const char *reason = NULL;
  AcceptResult result;

  if (json)
    {
      g_autoptr(GBytes) body = wb_http_request_get_body (request);

      position = wb_osmand_decode_json (g_bytes_get_data (body, NULL), g_bytes_get_size (body), &error);
    }
  else
    {
      g_autoptr(GHashTable) params = osmand_params (request);

      position = wb_osmand_decode_query (params, &error);
      if (position != NULL)
        token = wb_http_request_get_query (request, "token");
    }
  if (position == NULL)
    {
      count_rejected (self, "osmand", "malformed");
      respond_refused_body (request, "invalid_position", error);
      return;
    }

  result = accept_position (self, position, token, &reason);
  switch (result)
    {
    case ACCEPT_OK:
      wb_http_request_respond (request, SOUP_STATUS_OK, "text/plain", NULL);
      break;
    case ACCEPT_UNKNOWN_DEVICE:
      /* What Traccar Client expects: 400 on the query form, 404 on JSON. */
      wb_http_request_respond_error (request, json ? SOUP_STATUS_NOT_FOUND : SOUP_STATUS_BAD_REQUEST,
                                     "unknown_device", "Unknown device %s", position->device_id);
      break;
    case ACCEPT_REJECTED:
      wb_http_request_respond_error (request, SOUP_STATUS_BAD_REQUEST, "invalid_position",
                                     "The position was rejected: %s", reason);
      break;
    case ACCEPT_FULL:
      respond_full (request);
      break;
    }
}

/* ---- Teltonika ------------------------------------------------------------- */

/* Every connection's socket is in one epoll set, and the thread's main
 * context polls only that set's descriptor: GLib's loop polls every
 * descriptor it holds on each pass, so with a GSource per connection five
 * thousand devices cost five thousand polls per wakeup. A connection is
 * taken out of the set while its frame waits for room on the bus (that is
 * the back-pressure: nothing more is read) and while its answer waits for
 * room in the socket. */

#define TELTONIKA_EVENTS_MAX  256
#define TELTONIKA_SWEEP_S     30

typedef struct
{
  WbIngest          *ingest;       /* owned */
  GSocketConnection *connection;
  int                fd;
  guint32            interest;     /* the events asked of epoll; 0: not in the set */
  GByteArray        *buffer;
  char              *imei;
  GPtrArray         *pending;      /* positions of the frame being published */
  guint              next;
  guint              records;      /* in the frame being published */
  guint              accepted;     /* …and published, not yet counted */
  gboolean           publishing;   /* waiting for room on the bus */
  gint64             last_read;    /* monotonic, for the idle limit */
  guint8             out[4];       /* the answer being written */
  gsize              out_length;
  gsize              out_sent;
} TeltonikaClient;

static void teltonika_process (TeltonikaClient *client);

static void
teltonika_interest (TeltonikaClient *client,
                    guint32          events)
{
  struct epoll_event event = { .events = events, .data.ptr = client };
  int op;

  if (events == client->interest)
    return;
  op = client->interest == 0 ? EPOLL_CTL_ADD : events == 0 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;
  if (epoll_ctl (client->ingest->teltonika_epoll, op, client->fd, &event) < 0)
    g_warning ("Teltonika: epoll_ctl: %s", g_strerror (errno));
  client->interest = events;
}

static void
teltonika_client_free (TeltonikaClient *client)
{
  WbIngest *self = client->ingest;

  teltonika_interest (client, 0);
  g_hash_table_remove (self->teltonika_clients, client);
  if (g_hash_table_size (self->teltonika_clients) == 0 && self->teltonika_stopping)
    g_main_loop_quit (self->teltonika_loop);
  g_io_stream_close (G_IO_STREAM (client->connection), NULL, NULL);
  g_clear_object (&client->connection);
  g_byte_array_unref (client->buffer);
  g_clear_pointer (&client->pending, g_ptr_array_unref);
  g_free (client->imei);
  g_object_unref (client->ingest);
  g_free (client);
}

static void
teltonika_drop (TeltonikaClient *client,
                const char      *why)
{
  count_accepted (client->ingest, WB_PROTOCOL_TELTONIKA, client->accepted);
  wb_metrics_counter_add (client->ingest->metrics, "waybill_teltonika_connections_dropped_total", 1,
                          "reason", why, NULL);
  g_debug ("Teltonika %s: closing the connection: %s", client->imei ? client->imei : "(no IMEI)", why);
  teltonika_client_free (client);
}

/* What is left of the answer goes out; FALSE once the client is gone or
 * the socket is full (then it waits to be writable). */
static gboolean
teltonika_flush (TeltonikaClient *client)
{
  while (client->out_sent < client->out_length)
    {
      gssize sent = send (client->fd, client->out + client->out_sent, client->out_length - client->out_sent,
                          MSG_DONTWAIT | MSG_NOSIGNAL);

      if (sent < 0 && errno == EINTR)
        continue;
      if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        {
          teltonika_interest (client, EPOLLOUT);
          return FALSE;
        }
      if (sent < 0)
        {
          teltonika_drop (client, "write_failed");
          return FALSE;
        }
      client->out_sent += (gsize) sent;
    }
  client->out_length = client->out_sent = 0;
  if (client->imei == NULL)
    {
      /* We told it 0x00: an unknown device. */
      teltonika_client_free (client);
      return FALSE;
    }
  return TRUE;
}

static gboolean
teltonika_write (TeltonikaClient *client,
                 const guint8    *data,
                 gsize            length)
{
  g_assert (length <= sizeof client->out);
  memcpy (client->out, data, length);
  client->out_length = length;
  client->out_sent = 0;
  return teltonika_flush (client);
}

static gboolean publish_records (TeltonikaClient *client);

static void
on_record_published (GObject      *source,
                     GAsyncResult *result,
                     gpointer      data)
{
  TeltonikaClient *client = data;
  g_autoptr(GError) error = NULL;
  WbPosition *position = g_ptr_array_index (client->pending, client->next);

  client->publishing = FALSE;
  if (!wb_bus_publish_finish (WB_BUS (source), result, &error))
    {
      teltonika_drop (client, "bus_closed");
      return;
    }
  note_device_seen (client->ingest, position->device_id);
  client->accepted++;
  client->next++;
  if (publish_records (client))
    teltonika_process (client);
}

/* One record at a time: straight onto the bus while it has room, else
 * waiting for room, and while it waits nothing more is read from the
 * socket, which is the TCP back-pressure. The acknowledgement goes out once
 * every record of the frame was handled. TRUE when it went out and the
 * client can go on. */
static gboolean
publish_records (TeltonikaClient *client)
{
  WbIngest *self = client->ingest;
  guint8 ack[4];

  while (client->next < client->pending->len)
    {
      WbPosition *position = g_ptr_array_index (client->pending, client->next);
      gboolean quarantined;

      if (check_position (self, position, NULL, &quarantined, NULL) == ACCEPT_OK)
        {
          g_autoptr(WbBusMessage) message = message_for (position, quarantined);
          g_autoptr(GError) error = NULL;

          if (!wb_bus_try_publish (self->bus, message, &error))
            {
              if (!g_error_matches (error, WB_BUS_ERROR, WB_BUS_ERROR_FULL))
                {
                  teltonika_drop (client, "bus_closed");
                  return FALSE;
                }
              teltonika_interest (client, 0);
              client->publishing = TRUE;
              wb_bus_publish_async (self->bus, message, self->teltonika_cancellable, on_record_published, client);
              return FALSE;
            }
          note_device_seen (self, position->device_id);
          client->accepted++;
        }
      client->next++;
    }
  count_accepted (self, WB_PROTOCOL_TELTONIKA, client->accepted);
  client->accepted = 0;

  /* Invalid records are counted and acknowledged too: a device whose record
   * is never acknowledged sends it again forever. */
  wb_teltonika_ack (client->records, ack);
  g_clear_pointer (&client->pending, g_ptr_array_unref);
  return teltonika_write (client, ack, sizeof ack);
}

/* Handles every whole message in the buffer, then waits for more. */
static void
teltonika_process (TeltonikaClient *client)
{
  for (;;)
    {
      g_autoptr(GError) error = NULL;
      WbTeltonikaResult result;
      gsize consumed = 0;

      if (client->imei == NULL)
        {
          g_autofree char *imei = NULL;
          guint8 answer;
          gboolean quarantined;

          result = wb_teltonika_parse_imei (client->buffer->data, client->buffer->len, &consumed, &imei, &error);
          if (result == WB_TELTONIKA_NEED_MORE)
            break;
          if (result == WB_TELTONIKA_ERROR)
            {
              teltonika_drop (client, "bad_handshake");
              return;
            }
          g_byte_array_remove_range (client->buffer, 0, consumed);
          if (wb_fleet_index_check_device (client->ingest->index, imei, NULL, &quarantined)
              || client->ingest->quarantine_unknown)
            {
              client->imei = g_steal_pointer (&imei);
              answer = WB_TELTONIKA_ACCEPT;
            }
          else
            {
              count_rejected (client->ingest, "teltonika", "unknown_device");
              answer = WB_TELTONIKA_REFUSE;
            }
          if (!teltonika_write (client, &answer, 1))
            return;
          continue;
        }

      result = wb_teltonika_parse_frame (client->buffer->data, client->buffer->len, client->imei,
                                         &consumed, &client->pending, &error);
      if (result == WB_TELTONIKA_NEED_MORE)
        break;
      if (result == WB_TELTONIKA_ERROR)
        {
          wb_metrics_counter_add (client->ingest->metrics, "waybill_teltonika_frames_rejected_total", 1, NULL);
          g_message ("Teltonika %s: malformed frame: %s", client->imei, error->message);
          teltonika_drop (client, "malformed_frame");
          return;
        }
      g_byte_array_remove_range (client->buffer, 0, consumed);
      client->records = client->pending->len;
      client->next = 0;
      if (!publish_records (client))
        return;
    }
  teltonika_interest (client, EPOLLIN | EPOLLRDHUP);
}

/* Reads what the socket holds; FALSE once the client is gone. */
static gboolean
teltonika_read (TeltonikaClient *client)
{
  for (;;)
    {
      guint8 data[TELTONIKA_READ_SIZE];
      gssize got = recv (client->fd, data, sizeof data, MSG_DONTWAIT);

      if (got < 0 && errno == EINTR)
        continue;
      if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return TRUE;
      if (got < 0)
        {
          teltonika_drop (client, "read_failed");
          return FALSE;
        }
      if (got == 0)
        {
          teltonika_client_free (client);
          return FALSE;
        }
      if (client->buffer->len + (gsize) got > TELTONIKA_BUFFER_MAX)
        {
          teltonika_drop (client, "oversized");
          return FALSE;
        }
      g_byte_array_append (client->buffer, data, (guint) got);
      client->last_read = g_get_monotonic_time ();
      if ((gsize) got < sizeof data)
        return TRUE;
    }
}

static void
teltonika_ready (TeltonikaClient *client)
{
  if (client->out_length > 0)
    {
      /* Writable (or failed: send says which). */
      if (teltonika_flush (client))
        teltonika_process (client);
      return;
    }
  if (teltonika_read (client))
    teltonika_process (client);
}

static gboolean
on_teltonika_events (int           fd,
                     GIOCondition  condition,
                     gpointer      data)
{
  struct epoll_event events[TELTONIKA_EVENTS_MAX];
  int n;

  do
    n = epoll_wait (fd, events, G_N_ELEMENTS (events), 0);
  while (n < 0 && errno == EINTR);
  /* One client's handling never frees another, so every pointer here
   * stays good through the loop. */
  for (int i = 0; i < n; i++)
    teltonika_ready (events[i].data.ptr);
  return G_SOURCE_CONTINUE;
}

/* Devices silent for TELTONIKA_IDLE_S are closed, as a TCP keepalive would
 * not notice a device gone without a word. */
static gboolean
on_teltonika_sweep (gpointer data)
{
  WbIngest *self = data;
  gint64 oldest = g_get_monotonic_time () - (gint64) TELTONIKA_IDLE_S * G_USEC_PER_SEC;
  g_autoptr(GPtrArray) idle = g_ptr_array_new ();
  GHashTableIter iter;
  TeltonikaClient *client;

  g_hash_table_iter_init (&iter, self->teltonika_clients);
  while (g_hash_table_iter_next (&iter, (gpointer *) &client, NULL))
    if (!client->publishing && client->last_read < oldest)
      g_ptr_array_add (idle, client);
  for (guint i = 0; i < idle->len; i++)
    teltonika_drop (g_ptr_array_index (idle, i), "idle");
  return G_SOURCE_CONTINUE;
}

static gboolean
on_teltonika_incoming (GSocketService    *service,
                       GSocketConnection *connection,
                       GObject           *source_object,
                       WbIngest          *self)
{
  TeltonikaClient *client = g_new0 (TeltonikaClient, 1);

  client->ingest = g_object_ref (self);
  client->connection = g_object_ref (connection);
  client->fd = g_socket_get_fd (g_socket_connection_get_socket (connection));
  client->buffer = g_byte_array_new ();
  client->last_read = g_get_monotonic_time ();
  g_hash_table_add (self->teltonika_clients, client);
  teltonika_interest (client, EPOLLIN | EPOLLRDHUP);
  return TRUE;
}

/* ---- the object ------------------------------------------------------------- */

static void
declare_metrics (WbMetrics *metrics)
{
  wb_metrics_declare (metrics, "waybill_positions_accepted_total", WB_METRIC_COUNTER,
                      "Positions accepted and published to telemetry.raw, by protocol.", NULL, 0);
  wb_metrics_declare (metrics, "waybill_positions_rejected_total", WB_METRIC_COUNTER,
                      "Positions refused, by protocol and reason.", NULL, 0);
  wb_metrics_declare (metrics, "waybill_teltonika_frames_rejected_total", WB_METRIC_COUNTER,
                      "Teltonika frames that failed to decode (the connection is closed).", NULL, 0);
  wb_metrics_declare (metrics, "waybill_teltonika_connections_dropped_total", WB_METRIC_COUNTER,
                      "Teltonika connections closed by the server, by reason.", NULL, 0);
}

static void
wb_ingest_dispose (GObject *object)
{
  WbIngest *self = WB_INGEST (object);

  wb_ingest_stop (self);
  g_clear_object (&self->osmand);
  g_clear_object (&self->teltonika);
  g_clear_pointer (&self->teltonika_loop, g_main_loop_unref);
  g_clear_pointer (&self->teltonika_context, g_main_context_unref);
  g_clear_object (&self->teltonika_cancellable);
  if (self->teltonika_epoll >= 0)
    close (self->teltonika_epoll);
  self->teltonika_epoll = -1;

  G_OBJECT_CLASS (wb_ingest_parent_class)->dispose (object);
}

static void
wb_ingest_finalize (GObject *object)
{
  WbIngest *self = WB_INGEST (object);

  g_clear_object (&self->bus);
  g_clear_object (&self->index);
  g_clear_object (&self->store);
  g_clear_object (&self->metrics);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->duplicates, wb_duplicate_filter_free);
  g_clear_pointer (&self->seen, g_hash_table_unref);
  g_clear_pointer (&self->seen_queue, g_ptr_array_unref);
  g_clear_pointer (&self->teltonika_clients, g_hash_table_unref);
  g_clear_pointer (&self->main_context, g_main_context_unref);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (wb_ingest_parent_class)->finalize (object);
}

static void
wb_ingest_class_init (WbIngestClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = wb_ingest_dispose;
  object_class->finalize = wb_ingest_finalize;
}

static void
wb_ingest_init (WbIngest *self)
{
  self->seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->seen_queue = g_ptr_array_new_with_free_func (g_free);
  self->teltonika_clients = g_hash_table_new (NULL, NULL);
  self->teltonika_epoll = -1;
  self->duplicates = wb_duplicate_filter_new ();
  self->cancellable = g_cancellable_new ();
  g_mutex_init (&self->lock);
  self->main_context = g_main_context_ref_thread_default ();
}

/**
 * wb_ingest_new:
 * @store: (nullable): where first appearances are recorded
 * @max_age_us: positions older than this are refused; 0 accepts any age
 * @quarantine_unknown: accept unknown devices, flagged quarantined
 */
WbIngest *
wb_ingest_new (WbBus        *bus,
               WbFleetIndex *index,
               WbFleetStore *store,
               WbMetrics    *metrics,
               gint64        max_age_us,
               gboolean      quarantine_unknown)
{
  WbIngest *self;

  g_return_val_if_fail (WB_IS_BUS (bus), NULL);
  g_return_val_if_fail (index != NULL, NULL);
  g_return_val_if_fail (WB_IS_METRICS (metrics), NULL);

  self = g_object_new (WB_TYPE_INGEST, NULL);
  self->bus = g_object_ref (bus);
  self->index = g_object_ref (index);
  self->store = store ? g_object_ref (store) : NULL;
  self->metrics = g_object_ref (metrics);
  self->max_age_us = max_age_us;
  self->quarantine_unknown = quarantine_unknown;
  declare_metrics (metrics);
  return self;
}

/* data/openapi/fleet.json describes POST /telemetry. */
void
wb_ingest_register_api (WbIngest     *self,
                        WbHttpServer *api)
{
  g_return_if_fail (WB_IS_INGEST (self));

  wb_http_server_add_route (api, "POST", "/telemetry", WB_ACCESS_ROLE_DISPATCHER, handle_telemetry, self);
}

gboolean
wb_ingest_listen_osmand (WbIngest            *self,
                         const char          *address,
                         guint                port,
                         const WbHttpLimits  *limits,
                         GError             **error)
{
  g_return_val_if_fail (WB_IS_INGEST (self), FALSE);

  /* Devices authenticate by their id (and optional token), not by JWT. */
  self->osmand = wb_http_server_new (self->metrics, limits);
  wb_http_server_add_route (self->osmand, "*", "/", WB_ACCESS_ROLE_NONE, handle_osmand, self);
  return wb_http_server_listen (self->osmand, address, port, error);
}

static gpointer
teltonika_thread_main (gpointer data)
{
  WbIngest *self = data;

  g_main_context_push_thread_default (self->teltonika_context);
  g_main_loop_run (self->teltonika_loop);
  g_main_context_pop_thread_default (self->teltonika_context);
  return NULL;
}

static gboolean
on_drain_timeout (gpointer data)
{
  WbIngest *self = data;

  if (g_hash_table_size (self->teltonika_clients) > 0)
    g_warning ("Teltonika: %u connections still closing at shutdown", g_hash_table_size (self->teltonika_clients));
  g_main_loop_quit (self->teltonika_loop);
  return G_SOURCE_REMOVE;
}

/* On the Teltonika thread: no more accepting; the loop ends once every
 * connection has seen the cancellation, or after TELTONIKA_DRAIN_MS. */
static gboolean
teltonika_stop_in_thread (gpointer data)
{
  WbIngest *self = data;
  GSource *timeout = g_timeout_source_new (TELTONIKA_DRAIN_MS);

  g_autoptr(GPtrArray) idle = g_ptr_array_new ();
  GHashTableIter iter;
  TeltonikaClient *client;

  g_socket_service_stop (self->teltonika);
  g_socket_listener_close (G_SOCKET_LISTENER (self->teltonika));
  self->teltonika_stopping = TRUE;
  /* Those waiting for room on the bus are let go by the cancellation;
   * the others are closed now. */
  g_cancellable_cancel (self->teltonika_cancellable);
  g_hash_table_iter_init (&iter, self->teltonika_clients);
  while (g_hash_table_iter_next (&iter, (gpointer *) &client, NULL))
    if (!client->publishing)
      g_ptr_array_add (idle, client);
  for (guint i = 0; i < idle->len; i++)
    teltonika_client_free (g_ptr_array_index (idle, i));
  if (g_hash_table_size (self->teltonika_clients) == 0)
    g_main_loop_quit (self->teltonika_loop);
  g_source_set_callback (timeout, on_drain_timeout, self, NULL);
  g_source_attach (timeout, self->teltonika_context);
  g_source_unref (timeout);
  return G_SOURCE_REMOVE;
}

gboolean
wb_ingest_listen_teltonika (WbIngest    *self,
                            const char  *address,
                            guint        port,
                            GError     **error)
{
  g_autoptr(GInetAddress) inet = NULL;
  g_autoptr(GSocketAddress) wanted = NULL;
  g_autoptr(GSocketAddress) effective = NULL;
  gboolean all = g_str_equal (address, "*") || g_str_equal (address, "0.0.0.0") || g_str_equal (address, "::");

  g_return_val_if_fail (WB_IS_INGEST (self), FALSE);
  g_return_val_if_fail (self->teltonika == NULL, FALSE);

  self->teltonika = g_socket_service_new ();
  /* A new service is active: it would start accepting on this thread's
   * context as soon as a port is added. */
  g_socket_service_stop (self->teltonika);
  /* GSocketListener's default queue of 10 overflows when a fleet
   * reconnects at once (after a network outage, a restart). */
  g_socket_listener_set_backlog (G_SOCKET_LISTENER (self->teltonika), TELTONIKA_BACKLOG);
  g_signal_connect_object (self->teltonika, "incoming", G_CALLBACK (on_teltonika_incoming), self, 0);
  if (all)
    {
      if (!g_socket_listener_add_inet_port (G_SOCKET_LISTENER (self->teltonika), port, NULL, error))
        return FALSE;
      self->teltonika_port = port;
    }
  else
    {
      inet = g_str_equal (address, "localhost") ? g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4)
                                                  : g_inet_address_new_from_string (address);
      wanted = g_inet_socket_address_new (inet, port);
      if (!g_socket_listener_add_address (G_SOCKET_LISTENER (self->teltonika), wanted, G_SOCKET_TYPE_STREAM,
                                          G_SOCKET_PROTOCOL_TCP, NULL, &effective, error))
        return FALSE;
      self->teltonika_port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
    }
  /* Accepting, and every connection's I/O after it, happen on the context
   * that is the thread-default one when the service starts. */
  self->teltonika_epoll = epoll_create1 (EPOLL_CLOEXEC);
  if (self->teltonika_epoll < 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "epoll_create1: %s", g_strerror (saved));
      return FALSE;
    }
  self->teltonika_cancellable = g_cancellable_new ();
  self->teltonika_context = g_main_context_new ();
  self->teltonika_loop = g_main_loop_new (self->teltonika_context, FALSE);
  {
    g_autoptr(GSource) events = g_unix_fd_source_new (self->teltonika_epoll, G_IO_IN);
    g_autoptr(GSource) sweep = g_timeout_source_new_seconds (TELTONIKA_SWEEP_S);

    g_source_set_callback (events, G_SOURCE_FUNC (on_teltonika_events), self, NULL);
    g_source_attach (events, self->teltonika_context);
    g_source_set_callback (sweep, on_teltonika_sweep, self, NULL);
    g_source_attach (sweep, self->teltonika_context);
  }
  g_main_context_push_thread_default (self->teltonika_context);
  g_socket_service_start (self->teltonika);
  g_main_context_pop_thread_default (self->teltonika_context);
  self->teltonika_thread = g_thread_new ("teltonika", teltonika_thread_main, self);
  return TRUE;
}

guint
wb_ingest_get_osmand_port (WbIngest *self)
{
  g_return_val_if_fail (WB_IS_INGEST (self), 0);
  return self->osmand ? wb_http_server_get_port (self->osmand) : 0;
}

guint
wb_ingest_get_teltonika_port (WbIngest *self)
{
  g_return_val_if_fail (WB_IS_INGEST (self), 0);
  return self->teltonika_port;
}

/* Stops listening; connections in the middle of a frame are closed. */
void
wb_ingest_stop (WbIngest *self)
{
  g_return_if_fail (WB_IS_INGEST (self));

  g_cancellable_cancel (self->cancellable);
  if (self->seen_flush != NULL)
    {
      g_source_destroy (self->seen_flush);
      g_clear_pointer (&self->seen_flush, g_source_unref);
    }
  if (self->osmand)
    wb_http_server_disconnect (self->osmand);
  if (self->teltonika_thread != NULL)
    {
      g_main_context_invoke (self->teltonika_context, teltonika_stop_in_thread, self);
      g_clear_pointer (&self->teltonika_thread, g_thread_join);
    }
}
