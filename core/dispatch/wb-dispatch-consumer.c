// SPDX-License-Identifier: GPL-3.0-or-later
/* The dispatch role's command consumer. Messages of a batch are decided
 * one after the other, in order (a trip's commands share its key, so they
 * arrive in the order they were accepted); the batch is acknowledged after
 * the last commit and after its dead letters are out. A transient database
 * fault puts the batch back with back-off: commands already decided are
 * found decided the second time and change nothing. */

#include "config.h"

#include <math.h>
#include <string.h>

#include "wb-bus-dead-letter.h"
#include "wb-db.h"
#include "wb-dispatch-consumer.h"
#include "wb-json-reader.h"
#include "wb-time.h"
#include "wb-vehicle-state.h"

#define GROUP         "dispatch"
#define MAX_BATCH     64
#define RETRY_MIN_MS  100
#define RETRY_MAX_MS  5000
#define ID_MAX_LENGTH 128
#define POSITIONS_BATCH   2000
#define POSITIONS_LINGER  100
#define TOPIC_POSITIONS   "positions.enriched"
#define TOPIC_OFFLINE     "device.offline"

struct _WbDispatchConsumer
{
  GObject           parent_instance;

  WbBus            *bus;
  WbDispatchStore  *store;
  GCancellable     *cancellable;
  guint             subscription;
  guint             position_subscription;
  guint             retry_ms;
  guint             auto_reassign_ms;
  guint             offline_subscription;
  GHashTable       *silences;         /* vehicle id → pending timeout source id */
  guint             auto_batch_ms;
  guint             auto_batch_source;
  gboolean          auto_batching;    /* a pass is in flight */
  double            stop_radius_m;
  gint64            stop_dwell_us;
  WbDispatchCounts  counts;
};

G_DEFINE_FINAL_TYPE (WbDispatchConsumer, wb_dispatch_consumer, G_TYPE_OBJECT)

static const char * const reassign_members[] = {
  "command_id", "trip_id", "vehicle_id", "driver_id", "reason", "requested_by", "requested_at", NULL
};

typedef struct
{
  WbDispatchConsumer *self;
  WbBusBatch         *batch;
  guint               next;
} Pass;

static void
pass_free (Pass *pass)
{
  wb_bus_batch_unref (pass->batch);
  g_object_unref (pass->self);
  g_free (pass);
}

static gboolean
id_is_valid (const char *id)
{
  gsize length = id != NULL ? strlen (id) : 0;

  if (length == 0 || length > ID_MAX_LENGTH)
    return FALSE;
  for (const char *p = id; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '.' && *p != '_' && *p != ':' && *p != '-')
      return FALSE;
  return TRUE;
}

static gboolean
read_id (WbJsonReader  *body,
         const char    *member,
         gboolean       required,
         char         **out,
         GError       **error)
{
  if (!wb_json_reader_get_string (body, member, required, out, error))
    return FALSE;
  if (*out != NULL && !id_is_valid (*out))
    return wb_json_reader_fail (body, member, error, "must be 1 to 128 characters of letters, digits and . _ : -");
  return TRUE;
}

/**
 * wb_dispatch_decode_reassign:
 *
 * Returns: (transfer full): the request, or %NULL with @error set
 */
WbDispatchRequest *
wb_dispatch_decode_reassign (GBytes  *payload,
                             GError **error)
{
  g_autoptr(WbJsonReader) body = wb_json_reader_new_from_bytes (payload, NULL, error);
  g_autoptr(WbDispatchRequest) r = wb_dispatch_request_new (WB_DISPATCH_OP_APPLY_REASSIGN);

  if (body == NULL || !wb_json_reader_reject_unknown (body, reassign_members, error)
      || !read_id (body, "command_id", TRUE, &r->command_id, error)
      || !read_id (body, "trip_id", TRUE, &r->id, error)
      || !read_id (body, "vehicle_id", FALSE, &r->vehicle_id, error)
      || !read_id (body, "driver_id", FALSE, &r->driver_id, error)
      || !wb_json_reader_get_string (body, "reason", TRUE, &r->reason, error)
      || !wb_json_reader_get_string (body, "requested_by", TRUE, &r->requested_by, error))
    return NULL;
  if (r->vehicle_id == NULL && r->driver_id == NULL)
    return wb_json_reader_fail (body, "vehicle_id", error, "vehicle_id, driver_id or both are required"), NULL;
  return g_steal_pointer (&r);
}

/* A unique violation is a race lost to another transaction (the vehicle
 * started another trip meanwhile): decided again, the command sees why. */
static gboolean
is_transient (const GError *error)
{
  const char *sqlstate = wb_db_error_get_sqlstate (error);

  return g_strcmp0 (sqlstate, "23505") == 0
         || g_error_matches (error, WB_DB_ERROR, WB_DB_ERROR_CONNECT)
         || g_error_matches (error, WB_DB_ERROR, WB_DB_ERROR_UNAVAILABLE)
         || g_error_matches (error, WB_DB_ERROR, WB_DB_ERROR_CANCELLED)
         || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static void
retry_batch (Pass         *pass,
             const GError *error)
{
  WbDispatchConsumer *self = pass->self;

  if (!g_cancellable_is_cancelled (self->cancellable))
    {
      self->retry_ms = self->retry_ms ? MIN (self->retry_ms * 2, RETRY_MAX_MS) : RETRY_MIN_MS;
      self->counts.retries++;
      g_message ("Dispatch batch failed (%s); retrying in %u ms", error->message, self->retry_ms);
    }
  wb_bus_batch_retry (pass->batch, self->retry_ms);
  pass_free (pass);
}

static void apply_next (Pass *pass);

static void
on_dead_lettered (GObject      *source,
                  GAsyncResult *result,
                  gpointer      data)
{
  Pass *pass = data;
  g_autoptr(GError) error = NULL;

  if (!wb_bus_dead_letter_finish (WB_BUS (source), result, &error))
    {
      retry_batch (pass, error);
      return;
    }
  pass->self->counts.dead_letters++;
  apply_next (pass);
}

static void
dead_letter (Pass       *pass,
             const char *reason)
{
  WbBusMessage *message = wb_bus_batch_get_message (pass->batch, pass->next - 1);

  g_message ("Dispatch: %s message to the dead-letter topic: %s", wb_bus_message_get_topic (message), reason);
  wb_bus_dead_letter_async (pass->self->bus, message, reason, pass->self->cancellable, on_dead_lettered, pass);
}

static void
on_applied (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  Pass *pass = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(WbDispatchResult) done = wb_dispatch_store_run_finish (WB_DISPATCH_STORE (source), result, &error);
  WbDispatchCounts *counts = &pass->self->counts;

  if (done == NULL && is_transient (error))
    {
      retry_batch (pass, error);
      return;
    }
  /* Anything else will fail the same way every time: set it aside. */
  if (done == NULL)
    {
      dead_letter (pass, error->message);
      return;
    }
  if (!done->created)
    counts->duplicates++;
  else if (g_strcmp0 (done->status, "applied") == 0)
    counts->applied++;
  else
    counts->rejected++;
  apply_next (pass);
}

static void
apply_next (Pass *pass)
{
  WbBusMessage *message;
  g_autoptr(GError) error = NULL;
  WbDispatchRequest *request;

  if (pass->next >= wb_bus_batch_get_length (pass->batch))
    {
      pass->self->retry_ms = 0;
      wb_bus_batch_ack (pass->batch);
      pass_free (pass);
      return;
    }
  message = wb_bus_batch_get_message (pass->batch, pass->next++);
  if ((request = wb_dispatch_decode_reassign (wb_bus_message_get_payload (message), &error)) == NULL)
    {
      dead_letter (pass, error->message);
      return;
    }
  wb_dispatch_store_run_async (pass->self->store, request, pass->self->cancellable, on_applied, pass);
}

static void
on_batch (WbBus      *bus,
          WbBusBatch *batch,
          gpointer    user_data)
{
  Pass *pass = g_new0 (Pass, 1);

  pass->self = g_object_ref (user_data);
  pass->batch = wb_bus_batch_ref (batch);
  apply_next (pass);
}

/* ---- stop detection ----------------------------------------------------------- */

/**
 * wb_dispatch_decode_position:
 *
 * Returns: (transfer full): the position, or %NULL with @error set
 */
WbDispatchPosition *
wb_dispatch_decode_position (GBytes  *payload,
                             GError **error)
{
  g_autoptr(WbJsonReader) body = wb_json_reader_new_from_bytes (payload, NULL, error);
  g_autoptr(WbDispatchPosition) position = g_new0 (WbDispatchPosition, 1);
  g_autofree char *time = NULL;
  gboolean present = FALSE, guessed = FALSE;

  if (body == NULL || !read_id (body, "vehicle_id", TRUE, &position->vehicle_id, error)
      || !wb_json_reader_get_string (body, "device_time", TRUE, &time, error)
      || !wb_json_reader_get_double (body, "lat", -90, 90, &present, &position->lat, error)
      || !wb_json_reader_get_double (body, "lon", -180, 180, &present, &position->lon, error))
    return NULL;
  if (!wb_time_parse (time, NULL, &position->device_time, &guessed, NULL) || guessed)
    return wb_json_reader_fail (body, "device_time", error, "must be an RFC 3339 time with a zone"), NULL;
  return g_steal_pointer (&position);
}

/* On the in-process bus a position travels as the fleet role's struct;
 * only one that came over Kafka is read from its JSON body. */
static WbDispatchPosition *
position_of (WbBusMessage *message)
{
  const WbEnrichedPosition *enriched = wb_bus_message_peek_object (message, WB_TYPE_ENRICHED_POSITION);
  WbDispatchPosition *position;

  if (enriched == NULL)
    return wb_dispatch_decode_position (wb_bus_message_get_payload (message), NULL);
  if (enriched->enrichment == NULL || enriched->enrichment->vehicle_id == NULL
      || enriched->position->device_time == 0 || isnan (enriched->position->lat) || isnan (enriched->position->lon))
    return NULL;
  position = g_new0 (WbDispatchPosition, 1);
  position->vehicle_id = g_strdup (enriched->enrichment->vehicle_id);
  position->device_time = enriched->position->device_time;
  position->lat = enriched->position->lat;
  position->lon = enriched->position->lon;
  return position;
}

static void
on_positions_judged (GObject      *source,
                     GAsyncResult *result,
                     gpointer      data)
{
  Pass *pass = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(WbDispatchResult) done = wb_dispatch_store_run_finish (WB_DISPATCH_STORE (source), result, &error);

  if (done == NULL)
    {
      /* Stops wait for the next try rather than being missed. */
      retry_batch (pass, error);
      return;
    }
  pass->self->counts.arrivals += done->n_arrived;
  pass->self->counts.departures += done->n_departed;
  pass->self->retry_ms = 0;
  wb_bus_batch_ack (pass->batch);
  pass_free (pass);
}

/* Positions without a vehicle, or that cannot be read, are no stop's
 * concern: they are skipped, not dead-lettered (the fleet role made them). */
static void
on_positions (WbBus      *bus,
              WbBusBatch *batch,
              gpointer    user_data)
{
  WbDispatchConsumer *self = user_data;
  WbDispatchRequest *request = wb_dispatch_request_new (WB_DISPATCH_OP_OBSERVE_POSITIONS);
  Pass *pass;

  request->positions = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_dispatch_position_free);
  request->stop_radius_m = self->stop_radius_m;
  request->stop_dwell_us = self->stop_dwell_us;
  for (guint i = 0; i < wb_bus_batch_get_length (batch); i++)
    {
      WbDispatchPosition *p = position_of (wb_bus_batch_get_message (batch, i));

      if (p != NULL)
        g_ptr_array_add (request->positions, p);
    }
  self->counts.positions += request->positions->len;
  if (request->positions->len == 0)
    {
      wb_dispatch_request_free (request);
      wb_bus_batch_ack (batch);
      return;
    }
  pass = g_new0 (Pass, 1);
  pass->self = g_object_ref (self);
  pass->batch = wb_bus_batch_ref (batch);
  wb_dispatch_store_run_async (self->store, request, self->cancellable, on_positions_judged, pass);
}

void
wb_dispatch_consumer_set_stop_rule (WbDispatchConsumer *self,
                                    double              radius_m,
                                    gint64              dwell_us)
{
  g_return_if_fail (WB_IS_DISPATCH_CONSUMER (self));

  self->stop_radius_m = radius_m;
  self->stop_dwell_us = dwell_us;
}

/* ---- automatic batching ------------------------------------------------------------ */

static void
on_auto_batched (GObject      *source,
                 GAsyncResult *result,
                 gpointer      data)
{
  g_autoptr(WbDispatchConsumer) self = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(WbDispatchResult) done = wb_dispatch_store_run_finish (WB_DISPATCH_STORE (source), result, &error);

  self->auto_batching = FALSE;
  if (done == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_message ("Automatic batching failed (%s); trying again at the next tick", error->message);
      return;
    }
  self->counts.batches += done->n_batches;
  if (done->n_batches > 0)
    g_message ("Automatic batching: %u new batches", done->n_batches);
}

static gboolean
on_auto_batch_tick (gpointer user_data)
{
  WbDispatchConsumer *self = user_data;

  if (!self->auto_batching)
    {
      self->auto_batching = TRUE;
      wb_dispatch_store_run_async (self->store, wb_dispatch_request_new (WB_DISPATCH_OP_AUTO_BATCH),
                                   self->cancellable, on_auto_batched, g_object_ref (self));
    }
  return G_SOURCE_CONTINUE;
}

void
wb_dispatch_consumer_set_auto_batch (WbDispatchConsumer *self,
                                     guint               interval_ms)
{
  g_return_if_fail (WB_IS_DISPATCH_CONSUMER (self));

  self->auto_batch_ms = interval_ms;
}

/* ---- automatic reassignment ---------------------------------------------------------- */

typedef struct
{
  WbDispatchConsumer *self;
  char               *vehicle_id;
} Silence;

static void
silence_free (gpointer data)
{
  Silence *silence = data;

  g_object_unref (silence->self);
  g_free (silence->vehicle_id);
  g_free (silence);
}

static void
on_auto_reassigned (GObject      *source,
                    GAsyncResult *result,
                    gpointer      data)
{
  g_autoptr(WbDispatchConsumer) self = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(WbDispatchResult) done = wb_dispatch_store_run_finish (WB_DISPATCH_STORE (source), result, &error);

  if (done == NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_message ("Automatic reassignment failed: %s", error->message);
  else if (done != NULL && done->created)
    {
      self->counts.auto_commands++;
      g_message ("Automatic reassignment: command %s for trip of a silent vehicle", done->id);
    }
}

/* The silence has lasted: the store checks it still does and asks. */
static gboolean
on_silence_long (gpointer data)
{
  Silence *silence = data;
  g_autoptr(WbDispatchConsumer) self = g_object_ref (silence->self);
  WbDispatchRequest *request = wb_dispatch_request_new (WB_DISPATCH_OP_AUTO_REASSIGN);

  request->silent_vehicle_id = g_strdup (silence->vehicle_id);
  request->silent_ms = self->auto_reassign_ms;
  wb_dispatch_store_run_async (self->store, request, self->cancellable, on_auto_reassigned, g_object_ref (self));
  g_hash_table_remove (self->silences, silence->vehicle_id);
  return G_SOURCE_REMOVE;
}

static void
watch_silence (WbDispatchConsumer *self,
               GBytes             *payload)
{
  g_autoptr(WbJsonReader) body = wb_json_reader_new_from_bytes (payload, NULL, NULL);
  g_autofree char *vehicle = NULL;
  gboolean present = FALSE;
  gint64 silent_s = 0;
  gint64 wait_ms;
  Silence *silence;

  if (body == NULL || !read_id (body, "vehicle_id", TRUE, &vehicle, NULL)
      || !wb_json_reader_get_int64 (body, "silent_seconds", 0, G_MAXINT32, &present, &silent_s, NULL)
      || g_hash_table_contains (self->silences, vehicle))
    return;
  wait_ms = MAX (0, (gint64) self->auto_reassign_ms - silent_s * 1000);
  silence = g_new0 (Silence, 1);
  silence->self = g_object_ref (self);
  silence->vehicle_id = g_strdup (vehicle);
  g_hash_table_insert (self->silences, g_steal_pointer (&vehicle),
                       GUINT_TO_POINTER (g_timeout_add_full (G_PRIORITY_DEFAULT, wait_ms, on_silence_long,
                                                             silence, silence_free)));
}

static void
on_offline (WbBus      *bus,
            WbBusBatch *batch,
            gpointer    user_data)
{
  for (guint i = 0; i < wb_bus_batch_get_length (batch); i++)
    watch_silence (user_data, wb_bus_message_get_payload (wb_bus_batch_get_message (batch, i)));
  wb_bus_batch_ack (batch);
}

void
wb_dispatch_consumer_set_auto_reassign (WbDispatchConsumer *self,
                                        guint               after_ms)
{
  g_return_if_fail (WB_IS_DISPATCH_CONSUMER (self));

  self->auto_reassign_ms = after_ms;
}

void
wb_dispatch_consumer_start (WbDispatchConsumer *self)
{
  const char * const topics[] = { WB_TOPIC_COMMANDS_TRIP_REASSIGN, NULL };
  const char * const positions[] = { TOPIC_POSITIONS, NULL };

  g_return_if_fail (WB_IS_DISPATCH_CONSUMER (self));
  g_return_if_fail (self->subscription == 0);

  self->subscription = wb_bus_subscribe (self->bus, GROUP, topics, MAX_BATCH, on_batch, self, NULL);
  self->position_subscription = wb_bus_subscribe_batched (self->bus, GROUP, positions, POSITIONS_BATCH,
                                                          POSITIONS_LINGER, on_positions, self, NULL);
  if (self->auto_batch_ms > 0)
    self->auto_batch_source = g_timeout_add (self->auto_batch_ms, on_auto_batch_tick, self);
  if (self->auto_reassign_ms > 0)
    {
      const char * const offline[] = { TOPIC_OFFLINE, NULL };

      self->offline_subscription = wb_bus_subscribe (self->bus, GROUP, offline, MAX_BATCH, on_offline, self, NULL);
    }
}

void
wb_dispatch_consumer_stop (WbDispatchConsumer *self)
{
  g_return_if_fail (WB_IS_DISPATCH_CONSUMER (self));

  if (self->subscription != 0)
    wb_bus_unsubscribe (self->bus, self->subscription);
  if (self->position_subscription != 0)
    wb_bus_unsubscribe (self->bus, self->position_subscription);
  if (self->offline_subscription != 0)
    wb_bus_unsubscribe (self->bus, self->offline_subscription);
  self->subscription = self->position_subscription = self->offline_subscription = 0;
  /* Each pending silence holds a reference: drop them. */
  g_hash_table_remove_all (self->silences);
  g_clear_handle_id (&self->auto_batch_source, g_source_remove);
  g_cancellable_cancel (self->cancellable);
}

void
wb_dispatch_consumer_get_counts (WbDispatchConsumer *self,
                                 WbDispatchCounts   *out_counts)
{
  g_return_if_fail (WB_IS_DISPATCH_CONSUMER (self));

  *out_counts = self->counts;
}

static void
remove_source (gpointer data)
{
  g_source_remove (GPOINTER_TO_UINT (data));
}

static void
wb_dispatch_consumer_finalize (GObject *object)
{
  WbDispatchConsumer *self = WB_DISPATCH_CONSUMER (object);

  g_clear_object (&self->bus);
  g_clear_object (&self->store);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->silences, g_hash_table_unref);
  G_OBJECT_CLASS (wb_dispatch_consumer_parent_class)->finalize (object);
}

static void
wb_dispatch_consumer_class_init (WbDispatchConsumerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = wb_dispatch_consumer_finalize;
}

static void
wb_dispatch_consumer_init (WbDispatchConsumer *self)
{
  self->cancellable = g_cancellable_new ();
  self->silences = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, remove_source);
  self->stop_radius_m = 150;
  self->stop_dwell_us = 60 * G_USEC_PER_SEC;
}

WbDispatchConsumer *
wb_dispatch_consumer_new (WbBus           *bus,
                          WbDispatchStore *store)
{
  WbDispatchConsumer *self;

  g_return_val_if_fail (WB_IS_BUS (bus), NULL);
  g_return_val_if_fail (WB_IS_DISPATCH_STORE (store), NULL);

  self = g_object_new (WB_TYPE_DISPATCH_CONSUMER, NULL);
  self->bus = g_object_ref (bus);
  self->store = g_object_ref (store);
  return self;
}
