// SPDX-License-Identifier: GPL-3.0-or-later
/* The fleet role: telemetry.raw in; enriched positions, current states and
 * history out.
 *
 * The bus hands over a batch (up to max_batch positions, or what came within
 * linger_ms); a dedicated thread with its own connection decodes it, joins
 * each position with its vehicle from the in-memory index, works out the
 * vehicles' new states, and writes history and state snapshots in one
 * transaction. Only after COMMIT are the states made current in memory, the
 * enriched positions published and the batch acknowledged, so a crash or a
 * database fault at any point means the batch comes again, and writing it
 * again changes nothing (history is unique by device and device time; a
 * state only moves forward in device time).
 *
 * Why one thread: each batch is one transaction and the next batch is only
 * handed over once this one is acknowledged, so there is never a second
 * batch to run in parallel; a thread of our own keeps the blocking libpq
 * calls off the main loop without borrowing the request pool's connections.
 *
 * Trips. Each position is tagged with its vehicle's IN_TRANSIT trip from
 * the index. The thread loads every IN_TRANSIT trip before the first batch,
 * then, for each batch of trip.started, trip.completed, trip.cancelled and
 * trip.reassigned, reads those trips again from the database and puts what
 * it finds: the table, not the message, says where a trip is now, so a
 * message redelivered, replayed or overtaken by a newer one cannot put an
 * old state back. The trip topics are subscribed before the load and
 * handled on the same thread as positions, in the order they came, so no
 * change between the load and the subscription is missed. */

#include "config.h"

#include <math.h>

#include "wb-bus-dead-letter.h"
#include "wb-carrier-location.h"
#include "wb-time.h"
#include "wb-db.h"
#include "wb-fleet-processor.h"
#include "wb-fleet-index-private.h"
#include "wb-json-reader.h"
#include "wb-json-writer.h"
#include "wb-track.h"

#define TOPIC_TELEMETRY_RAW   "telemetry.raw"
#define GROUP                 "fleet"
#define RETRY_MIN_MS          250
#define RETRY_MAX_MS          5000
#define OFFLINE_CHECK_MAX_S   5
#define MAINTAIN_INTERVAL_S   3600

typedef enum
{
  JOB_START,
  JOB_POSITIONS,
  JOB_LOCATIONS,
  JOB_TRIPS,
  JOB_MAINTAIN,
  JOB_STOP,
} JobKind;

typedef struct
{
  JobKind     kind;
  WbBusBatch *batch;   /* POSITIONS, LOCATIONS, TRIPS */
  GTask      *task;    /* START */
} Job;

/* What the offline watch knows of one device. */
typedef struct
{
  char   *vehicle_id;
  gint64  last_server_time;
  gint64  last_device_time;
  gboolean offline;
} DeviceSeen;

struct _WbFleetProcessor
{
  GObject                   parent_instance;

  WbBus                    *bus;
  WbFleetIndex             *index;
  WbPositionHistory        *history;
  char                     *conninfo;
  WbFleetProcessorSettings  settings;
  GMainContext             *context;       /* where start was called */
  GCancellable             *cancellable;   /* cancelled by stop */

  GThread                  *thread;
  GAsyncQueue              *jobs;          /* Job* */
  PGconn                   *conn;          /* the thread's own */
  PGcancel                 *cancel;        /* for conn, under mutex: stop() may cut a stuck write */
  guint                     retry_ms;      /* the thread's back-off */
  gboolean                  loaded;        /* the thread's: states loaded, partitions made */

  GMutex                    mutex;         /* guards what follows */
  GHashTable               *states;        /* vehicle id → WbVehicleState* */
  GHashTable               *devices;       /* device id → DeviceSeen* */
  WbFleetProcessorStats     stats;

  guint                     positions_subscription;
  guint                     locations_subscription;
  guint                     trips_subscription;
  char                     *trips_group;   /* this instance's own consumer group */
  guint                     offline_source;
  guint                     maintain_source;
  gboolean                  started;
};

G_DEFINE_FINAL_TYPE (WbFleetProcessor, wb_fleet_processor, G_TYPE_OBJECT)

void
wb_fleet_processor_settings_init (WbFleetProcessorSettings *settings)
{
  g_return_if_fail (settings != NULL);

  settings->max_batch = 2000;
  settings->linger_ms = 20;
  settings->offline_after = 600 * G_USEC_PER_SEC;
  settings->moving_speed_kmh = 2.0;
}

static void
device_seen_free (gpointer data)
{
  DeviceSeen *seen = data;

  g_free (seen->vehicle_id);
  g_free (seen);
}

static void
job_free (Job *job)
{
  g_clear_pointer (&job->batch, wb_bus_batch_unref);
  g_clear_object (&job->task);
  g_free (job);
}

static void
push_job (WbFleetProcessor *self,
          JobKind           kind,
          WbBusBatch       *batch,
          GTask            *task)
{
  Job *job = g_new0 (Job, 1);

  job->kind = kind;
  job->batch = batch ? wb_bus_batch_ref (batch) : NULL;
  job->task = task ? g_object_ref (task) : NULL;
  g_async_queue_push (self->jobs, job);
}

/* ---- publishing from the thread ------------------------------------------ */

static void
store_result (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  *(GAsyncResult **) data = g_object_ref (result);
}

/* Publishes, waiting for room when the topic's consumers are behind: the
 * thread has nothing better to do, and waiting is what pushes back on
 * ingestion. stop() cancels the wait. */
static gboolean
publish_blocking (WbFleetProcessor  *self,
                  WbBusMessage      *message,
                  GError           **error)
{
  g_autoptr(GMainContext) context = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) local_error = NULL;

  if (wb_bus_try_publish (self->bus, message, &local_error))
    return TRUE;
  if (!g_error_matches (local_error, WB_BUS_ERROR, WB_BUS_ERROR_FULL))
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  context = g_main_context_new ();
  g_main_context_push_thread_default (context);
  wb_bus_publish_async (self->bus, message, self->cancellable, store_result, &result);
  while (result == NULL)
    g_main_context_iteration (context, TRUE);
  g_main_context_pop_thread_default (context);
  return wb_bus_publish_finish (self->bus, result, error);
}

/* An undecodable message goes to <topic>.dlq with the reason and where it
 * came from; it would fail the same way every time it came again. */
static gboolean
dead_letter (WbFleetProcessor  *self,
             WbBusMessage      *message,
             const char        *reason,
             GError           **error)
{
  g_autoptr(WbBusMessage) letter = wb_bus_dead_letter_new (self->bus, message, reason);

  return publish_blocking (self, letter, error);
}

/* ---- the thread's connection ---------------------------------------------- */

static void
close_connection (WbFleetProcessor *self)
{
  g_mutex_lock (&self->mutex);
  g_clear_pointer (&self->cancel, PQfreeCancel);
  g_mutex_unlock (&self->mutex);
  g_clear_pointer (&self->conn, PQfinish);
}

static gboolean
ensure_connection (WbFleetProcessor  *self,
                   GError           **error)
{
  if (self->conn != NULL && PQstatus (self->conn) == CONNECTION_OK)
    return TRUE;
  close_connection (self);
  self->conn = wb_db_connect (self->conninfo, error);
  if (self->conn != NULL)
    {
      g_mutex_lock (&self->mutex);
      self->cancel = PQgetCancel (self->conn);
      g_mutex_unlock (&self->mutex);
    }
  return self->conn != NULL;
}

static void
set_db_up (WbFleetProcessor *self,
           gboolean          up)
{
  g_mutex_lock (&self->mutex);
  self->stats.db_up = up;
  g_mutex_unlock (&self->mutex);
}

/* A database fault is transient: put the batch back and try again later,
 * backing off; the bus keeps everything after it waiting, in order. */
static void
retry_later (WbFleetProcessor *self,
             WbBusBatch       *batch,
             const GError     *error)
{
  if (self->conn != NULL && PQstatus (self->conn) != CONNECTION_OK)
    close_connection (self);
  self->retry_ms = self->retry_ms ? MIN (self->retry_ms * 2, RETRY_MAX_MS) : RETRY_MIN_MS;
  g_message ("Fleet: storing a batch failed (%s); retrying in %u ms", error->message, self->retry_ms);
  g_mutex_lock (&self->mutex);
  self->stats.retries++;
  self->stats.db_up = FALSE;
  g_mutex_unlock (&self->mutex);
  wb_bus_batch_retry (batch, self->retry_ms);
}

/* ---- current state --------------------------------------------------------- */

static WbMotion
motion_of (WbFleetProcessor     *self,
           const WbVehicleState *before,
           const WbPosition     *position)
{
  double speed = position->speed_kmh;

  if (position->ignition == 0)
    return WB_MOTION_STOPPED;
  /* Some trackers send no speed: derive it from the last known place. */
  if (isnan (speed) && before != NULL && position->device_time > before->device_time)
    speed = wb_geo_distance_m (before->lat, before->lon, position->lat, position->lon)
            / ((position->device_time - before->device_time) / (double) G_USEC_PER_SEC) * 3.6;
  if (isnan (speed))
    return position->moving < 0 ? WB_MOTION_UNKNOWN : position->moving ? WB_MOTION_MOVING : WB_MOTION_STOPPED;
  return speed >= self->settings.moving_speed_kmh ? WB_MOTION_MOVING : WB_MOTION_STOPPED;
}

static double
known_or (double value,
          double fallback)
{
  return isnan (value) ? fallback : value;
}

static void
replace_string (char       **field,
                const char  *value)
{
  if (g_strcmp0 (*field, value) == 0)
    return;
  g_free (*field);
  *field = g_strdup (value);
}

/* Moves @state to @enriched's position. @before is where the vehicle was;
 * it may be @state itself, so everything taken from it is read before
 * anything is written. */
static void
state_apply (WbFleetProcessor         *self,
             WbVehicleState           *state,
             const WbVehicleState     *before,
             const WbEnrichedPosition *enriched)
{
  const WbPosition *position = enriched->position;
  WbMotion motion = motion_of (self, before, position);
  /* What a device reports only now and then stays known in between. */
  int ignition = position->ignition >= 0 || before == NULL ? position->ignition : before->ignition;
  double fuel = known_or (position->fuel, before ? before->fuel : NAN);
  double odometer = known_or (position->odometer, before ? before->odometer : NAN);
  gint64 motion_since = before != NULL && before->motion == motion ? before->motion_since
                                                                   : position->device_time;

  replace_string (&state->vehicle_id, enriched->enrichment->vehicle_id);
  replace_string (&state->device_id, position->device_id);
  replace_string (&state->driver_id, enriched->enrichment->driver_id);
  state->device_time = position->device_time;
  state->server_time = position->server_time;
  state->lat = position->lat;
  state->lon = position->lon;
  state->speed_kmh = position->speed_kmh;
  state->heading = position->heading;
  state->altitude = position->altitude;
  state->motion = motion;
  state->ignition = ignition;
  state->fuel = fuel;
  state->odometer = odometer;
  state->motion_since = motion_since;
}

/* Works out @enriched's effect on its vehicle's state within the batch
 * (@changed: vehicle id → new state); the table itself changes only after
 * COMMIT. A position older than the state's goes to history only. A
 * vehicle's state is copied once per batch and then moved in place. */
static void
advance_state (WbFleetProcessor         *self,
               GHashTable               *changed,
               const WbEnrichedPosition *enriched)
{
  const char *vehicle_id = enriched->enrichment->vehicle_id;
  WbVehicleState *state = g_hash_table_lookup (changed, vehicle_id);

  if (state == NULL)
    {
      const WbVehicleState *committed;

      g_mutex_lock (&self->mutex);
      committed = g_hash_table_lookup (self->states, vehicle_id);
      /* Trackers replay what they buffered offline: such positions must not
       * cost a copy each. */
      if (committed != NULL && enriched->position->device_time <= committed->device_time)
        {
          g_mutex_unlock (&self->mutex);
          return;
        }
      state = committed ? wb_vehicle_state_copy (committed) : NULL;
      g_mutex_unlock (&self->mutex);
      if (state == NULL)
        {
          state = wb_vehicle_state_new ();
          state_apply (self, state, NULL, enriched);
        }
      else
        state_apply (self, state, state, enriched);
      g_hash_table_insert (changed, state->vehicle_id, state);
      return;
    }
  if (enriched->position->device_time <= state->device_time)
    return;
  state_apply (self, state, state, enriched);
}

/* ---- positions --------------------------------------------------------------- */

/* The body of device.online (@at_member "online_at") or device.offline
 * ("offline_at", with how long it has been silent). */
static char *
device_message (const char *device_id,
                const char *vehicle_id,
                gint64      last_seen,
                const char *at_member,
                gint64      now)
{
  g_autofree char *last = wb_time_format (last_seen);
  g_autofree char *at = wb_time_format (now);
  GString *out = g_string_new ("{\"device_id\":");

  wb_json_write_string (out, device_id);
  if (vehicle_id)
    {
      g_string_append (out, ",\"vehicle_id\":");
      wb_json_write_string (out, vehicle_id);
    }
  g_string_append (out, ",\"last_seen_at\":");
  wb_json_write_string (out, last);
  g_string_append_c (out, ',');
  wb_json_write_string (out, at_member);
  g_string_append_c (out, ':');
  wb_json_write_string (out, at);
  if (g_str_equal (at_member, "offline_at"))
    {
      g_string_append (out, ",\"silent_seconds\":");
      wb_json_write_int (out, (now - last_seen) / G_USEC_PER_SEC);
    }
  g_string_append_c (out, '}');
  return g_string_free (out, FALSE);
}

/* After COMMIT: the new states become current, and devices that were
 * offline are back. Returns the device.online messages to publish. */
static GPtrArray *
commit_states (WbFleetProcessor *self,
               GHashTable       *changed,
               GPtrArray        *rows)
{
  GPtrArray *online = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_bus_message_unref);
  gint64 now = g_get_real_time ();
  GHashTableIter iter;
  gpointer value;

  g_mutex_lock (&self->mutex);
  g_hash_table_iter_init (&iter, changed);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      WbVehicleState *state = value;

      g_hash_table_iter_steal (&iter);
      g_hash_table_replace (self->states, state->vehicle_id, state);
    }
  for (guint i = 0; i < rows->len; i++)
    {
      const WbEnrichedPosition *enriched = g_ptr_array_index (rows, i);
      const WbPosition *position = enriched->position;
      const char *vehicle_id = enriched->enrichment ? enriched->enrichment->vehicle_id : NULL;
      DeviceSeen *seen = g_hash_table_lookup (self->devices, position->device_id);

      if (seen == NULL)
        {
          seen = g_new0 (DeviceSeen, 1);
          g_hash_table_insert (self->devices, g_strdup (position->device_id), seen);
        }
      else if (seen->offline)
        {
          g_ptr_array_add (online, wb_bus_message_new_take (WB_TOPIC_DEVICE_ONLINE, position->device_id,
                                                            device_message (position->device_id, vehicle_id,
                                                                            seen->last_server_time, "online_at",
                                                                            now)));
          self->stats.offline_devices--;
        }
      seen->offline = FALSE;
      seen->last_server_time = MAX (seen->last_server_time, position->server_time);
      seen->last_device_time = MAX (seen->last_device_time, position->device_time);
      if (g_strcmp0 (seen->vehicle_id, vehicle_id) != 0)
        {
          g_free (seen->vehicle_id);
          seen->vehicle_id = g_strdup (vehicle_id);
        }
    }
  self->stats.vehicles = g_hash_table_size (self->states);
  g_mutex_unlock (&self->mutex);
  return online;
}

typedef struct
{
  GPtrArray  *rows;       /* WbEnrichedPosition* */
  GHashTable *changed;    /* vehicle id → WbVehicleState* */
  GPtrArray  *invalid;    /* WbBusMessage* */
  GPtrArray  *reasons;    /* char*, one per invalid message */
  guint       unassigned;
} Decoded;

static void
decoded_clear (Decoded *decoded)
{
  g_clear_pointer (&decoded->rows, g_ptr_array_unref);
  g_clear_pointer (&decoded->changed, g_hash_table_unref);
  g_clear_pointer (&decoded->invalid, g_ptr_array_unref);
  g_clear_pointer (&decoded->reasons, g_ptr_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Decoded, decoded_clear)

/* In process the message carries the position itself; from Kafka, JSON. */
static WbPosition *
decode_position (WbBusMessage  *message,
                 GError       **error)
{
  const WbPosition *position = wb_bus_message_peek_object (message, WB_TYPE_POSITION);
  g_autofree char *json = NULL;
  GBytes *payload;

  /* Shared, not copied: nobody changes a position once it is published. */
  if (position != NULL)
    return wb_position_ref ((WbPosition *) position);
  payload = wb_bus_message_get_payload (message);
  json = g_strndup (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload));
  return wb_position_from_json (json, error);
}

static void
decode_batch (WbFleetProcessor *self,
              WbBusBatch       *batch,
              Decoded          *decoded)
{
  decoded->rows = g_ptr_array_new_full (wb_bus_batch_get_length (batch),
                                        (GDestroyNotify) wb_enriched_position_free);
  decoded->changed = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                            (GDestroyNotify) wb_vehicle_state_free);
  decoded->invalid = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_bus_message_unref);
  decoded->reasons = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < wb_bus_batch_get_length (batch); i++)
    {
      WbBusMessage *message = wb_bus_batch_get_message (batch, i);
      g_autoptr(GError) error = NULL;
      WbPosition *position = decode_position (message, &error);
      WbFleetEnrichment *enrichment;
      WbEnrichedPosition *enriched;

      if (position == NULL)
        {
          g_ptr_array_add (decoded->invalid, wb_bus_message_ref (message));
          g_ptr_array_add (decoded->reasons, g_strdup (error->message));
          continue;
        }
      enrichment = wb_fleet_index_lookup_device (self->index, position->device_id);
      if (enrichment != NULL && enrichment->vehicle_id == NULL)
        g_clear_pointer (&enrichment, wb_fleet_enrichment_unref);
      enriched = wb_enriched_position_new (position, enrichment);
      g_ptr_array_add (decoded->rows, enriched);
      if (enrichment != NULL)
        advance_state (self, decoded->changed, enriched);
      else
        decoded->unassigned++;
    }
}

static gboolean
write_batch (WbFleetProcessor  *self,
             Decoded           *decoded,
             guint             *out_inserted,
             guint             *out_expired,
             GError           **error)
{
  g_autoptr(GPtrArray) states = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, decoded->changed);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (states, value);

  return ensure_connection (self, error)
         && wb_position_history_write (self->history, self->conn,
                                       (WbEnrichedPosition **) decoded->rows->pdata, decoded->rows->len,
                                       (WbVehicleState **) states->pdata, states->len,
                                       out_inserted, out_expired, error);
}

/* After COMMIT: what others learn of the batch. A failure here (the bus
 * closing, stop() cancelling a wait) leaves the batch unacknowledged, so it
 * comes again; writing it again is harmless. */
static gboolean
publish_batch (WbFleetProcessor  *self,
               Decoded           *decoded,
               GPtrArray         *online,
               GError           **error)
{
  for (guint i = 0; i < decoded->invalid->len; i++)
    if (!dead_letter (self, g_ptr_array_index (decoded->invalid, i), g_ptr_array_index (decoded->reasons, i), error))
      return FALSE;
  for (guint i = 0; i < decoded->rows->len; i++)
    {
      WbEnrichedPosition *enriched = g_ptr_array_index (decoded->rows, i);
      const char *key = enriched->enrichment ? enriched->enrichment->vehicle_id : enriched->position->device_id;
      g_autoptr(WbBusMessage) message = NULL;

      /* The row is written: the message takes it, and makes JSON of it only
       * if it leaves the process. */
      message = wb_bus_message_new_for_object (WB_TOPIC_POSITIONS_ENRICHED, key, WB_TYPE_ENRICHED_POSITION,
                                               enriched,
                                               (WbBusMessageSerializeFunc) wb_enriched_position_to_json);
      g_ptr_array_index (decoded->rows, i) = NULL;
      if (!publish_blocking (self, message, error))
        return FALSE;
    }
  for (guint i = 0; i < online->len; i++)
    if (!publish_blocking (self, g_ptr_array_index (online, i), error))
      return FALSE;
  return TRUE;
}

static gboolean ensure_loaded (WbFleetProcessor *self, GError **error);

static void
process_positions (WbFleetProcessor *self,
                   WbBusBatch       *batch)
{
  g_auto(Decoded) decoded = { NULL };
  g_autoptr(GPtrArray) online = NULL;
  g_autoptr(GError) error = NULL;
  guint inserted = 0, expired = 0;
  gboolean published;

  if (!ensure_loaded (self, &error))
    {
      retry_later (self, batch, error);
      return;
    }
  decode_batch (self, batch, &decoded);
  if (!write_batch (self, &decoded, &inserted, &expired, &error))
    {
      retry_later (self, batch, error);
      return;
    }
  self->retry_ms = 0;
  online = commit_states (self, decoded.changed, decoded.rows);
  published = publish_batch (self, &decoded, online, &error);

  /* Counted once its messages are out, so a reader of the figures also
   * finds what was published. */
  g_mutex_lock (&self->mutex);
  self->stats.db_up = TRUE;
  self->stats.batches++;
  self->stats.positions += wb_bus_batch_get_length (batch);
  self->stats.stored += inserted;
  self->stats.expired += expired;
  self->stats.repeated += decoded.rows->len - inserted - expired;
  self->stats.unassigned += decoded.unassigned;
  self->stats.dead_letters += decoded.invalid->len;
  g_mutex_unlock (&self->mutex);

  if (!published)
    {
      g_warning ("Fleet: publishing after a stored batch failed (%s); it will come again", error->message);
      return;
    }
  wb_bus_batch_ack (batch);
}

/* ---- carrier locations from drivers' phones ---------------------------------- */

static void
process_locations (WbFleetProcessor *self,
                   WbBusBatch       *batch)
{
  g_autoptr(GPtrArray) locations = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_carrier_location_free);
  g_autoptr(GPtrArray) invalid = g_ptr_array_new ();
  g_autoptr(GPtrArray) reasons = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  guint applied = 0;

  for (guint i = 0; i < wb_bus_batch_get_length (batch); i++)
    {
      WbBusMessage *message = wb_bus_batch_get_message (batch, i);
      GBytes *payload = wb_bus_message_get_payload (message);
      g_autoptr(GError) decode_error = NULL;
      WbCarrierLocation *location = wb_carrier_location_from_json (g_bytes_get_data (payload, NULL),
                                                                   g_bytes_get_size (payload), &decode_error);

      if (location != NULL)
        g_ptr_array_add (locations, location);
      else
        {
          g_ptr_array_add (invalid, message);
          g_ptr_array_add (reasons, g_strdup (decode_error->message));
        }
    }
  if (!ensure_connection (self, &error)
      || !wb_carrier_locations_apply (self->conn, (WbCarrierLocation **) locations->pdata, locations->len,
                                      &applied, &error))
    {
      retry_later (self, batch, error);
      return;
    }
  self->retry_ms = 0;
  for (guint i = 0; i < invalid->len; i++)
    if (!dead_letter (self, g_ptr_array_index (invalid, i), g_ptr_array_index (reasons, i), &error))
      {
        g_warning ("Fleet: dead-lettering failed (%s); the batch will come again", error->message);
        return;
      }
  g_mutex_lock (&self->mutex);
  self->stats.db_up = TRUE;
  self->stats.carrier_locations += applied;
  self->stats.dead_letters += invalid->len;
  g_mutex_unlock (&self->mutex);
  wb_bus_batch_ack (batch);
}

/* ---- trips ---------------------------------------------------------------------- */

static const char load_trips_sql[] =
  "SELECT id, vehicle_id FROM trips WHERE status = 'IN_TRANSIT' AND vehicle_id IS NOT NULL";

/* $1: a JSON array of trip ids. A trip that is not IN_TRANSIT, or not
 * there at all, comes back without a vehicle. */
static const char read_trips_sql[] =
  "SELECT k.id, t.vehicle_id FROM json_array_elements_text($1::json) k (id)"
  " LEFT JOIN trips t ON t.id = k.id AND t.status = 'IN_TRANSIT'";

/* Puts the trips @result lists (trip id, vehicle id or NULL) in the index. */
static void
put_trips (WbFleetProcessor *self,
           PGresult         *result,
           gboolean          replace_all)
{
  g_autofree WbFleetTripRow *rows = g_new0 (WbFleetTripRow, PQntuples (result) + 1);

  for (int i = 0; i < PQntuples (result); i++)
    {
      rows[i].trip_id = PQgetvalue (result, i, 0);
      rows[i].vehicle_id = PQgetisnull (result, i, 1) ? NULL : PQgetvalue (result, i, 1);
    }
  _wb_fleet_index_put_trips (self->index, rows, PQntuples (result), replace_all);
}

static gboolean
load_trips (WbFleetProcessor  *self,
            GError           **error)
{
  g_autoptr(PGresult) result = wb_db_exec (self->conn, load_trips_sql, NULL, 0, NULL, error);

  if (result == NULL)
    return FALSE;
  put_trips (self, result, TRUE);
  g_debug ("Fleet: %d vehicles on IN_TRANSIT trips", PQntuples (result));
  return TRUE;
}

/* The trip a trip.* message names; NULL (and @error) when it names none. */
static char *
trip_of (WbBusMessage  *message,
         GError       **error)
{
  WbJsonLimits limits = { WB_JSON_DEFAULT_MAX_SIZE, WB_JSON_DEFAULT_MAX_DEPTH };
  g_autoptr(WbJsonReader) reader = wb_json_reader_new_from_bytes (wb_bus_message_get_payload (message), &limits,
                                                                  error);
  const char *trip_id = NULL;

  if (reader == NULL || !wb_json_reader_peek_string (reader, "trip_id", TRUE, 128, &trip_id, error))
    return NULL;
  if (*trip_id == '\0')
    {
      wb_json_reader_fail (reader, "trip_id", error, "must not be empty");
      return NULL;
    }
  return g_strdup (trip_id);
}

static void
process_trips (WbFleetProcessor *self,
               WbBusBatch       *batch)
{
  g_autoptr(GString) ids = g_string_new ("[");
  g_autoptr(GPtrArray) invalid = g_ptr_array_new ();
  g_autoptr(GPtrArray) reasons = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(PGresult) result = NULL;
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < wb_bus_batch_get_length (batch); i++)
    {
      WbBusMessage *message = wb_bus_batch_get_message (batch, i);
      g_autoptr(GError) decode_error = NULL;
      g_autofree char *trip_id = trip_of (message, &decode_error);

      if (trip_id == NULL)
        {
          g_ptr_array_add (invalid, message);
          g_ptr_array_add (reasons, g_strdup (decode_error->message));
          continue;
        }
      if (ids->len > 1)
        g_string_append_c (ids, ',');
      wb_json_write_string (ids, trip_id);
    }
  g_string_append_c (ids, ']');
  if (!ensure_loaded (self, &error)
      || (result = wb_db_exec (self->conn, read_trips_sql, (const char *[]) { ids->str }, 1, NULL, &error)) == NULL)
    {
      retry_later (self, batch, error);
      return;
    }
  self->retry_ms = 0;
  put_trips (self, result, FALSE);
  for (guint i = 0; i < invalid->len; i++)
    if (!dead_letter (self, g_ptr_array_index (invalid, i), g_ptr_array_index (reasons, i), &error))
      {
        g_warning ("Fleet: dead-lettering failed (%s); the batch will come again", error->message);
        return;
      }
  g_mutex_lock (&self->mutex);
  self->stats.db_up = TRUE;
  self->stats.dead_letters += invalid->len;
  g_mutex_unlock (&self->mutex);
  wb_bus_batch_ack (batch);
}

/* ---- start, maintenance and the thread ----------------------------------------- */

static gboolean
return_started (gpointer data)
{
  GTask *task = data;
  GError *error = g_task_get_task_data (task);

  if (error != NULL)
    g_task_return_error (task, g_error_copy (error));
  else if (!g_task_return_error_if_cancelled (task))
    g_task_return_boolean (task, TRUE);
  return G_SOURCE_REMOVE;
}

static gboolean
load_states (WbFleetProcessor  *self,
             GError           **error)
{
  g_autoptr(GPtrArray) loaded = wb_position_history_load_states (self->conn, error);
  g_autofree WbVehicleState **states = NULL;
  gint64 now = g_get_real_time ();
  gsize n_states;

  if (loaded == NULL)
    return FALSE;
  states = (WbVehicleState **) g_ptr_array_steal (loaded, &n_states);
  g_mutex_lock (&self->mutex);
  self->stats.offline_devices = 0;
  for (gsize i = 0; i < n_states; i++)
    {
      WbVehicleState *state = states[i];
      DeviceSeen *seen = g_new0 (DeviceSeen, 1);

      seen->vehicle_id = g_strdup (state->vehicle_id);
      seen->last_server_time = state->server_time;
      seen->last_device_time = state->device_time;
      seen->offline = wb_vehicle_state_is_offline (state, now, self->settings.offline_after);
      self->stats.offline_devices += seen->offline;
      g_hash_table_replace (self->devices, g_strdup (state->device_id), seen);
      g_hash_table_replace (self->states, state->vehicle_id, state);
    }
  self->stats.vehicles = g_hash_table_size (self->states);
  g_mutex_unlock (&self->mutex);
  return TRUE;
}

/* Before the first batch is written: the states as stored, and the
 * partitions ahead. Until this succeeds, batches wait on the bus. */
static gboolean
ensure_loaded (WbFleetProcessor  *self,
               GError           **error)
{
  guint created = 0, dropped = 0;

  if (self->loaded)
    return TRUE;
  if (!ensure_connection (self, error)
      || !load_states (self, error)
      || !load_trips (self, error)
      || !wb_position_history_maintain (self->history, self->conn, g_get_real_time (), &created, &dropped, error))
    return FALSE;
  g_debug ("Fleet: %u day partitions created, %u dropped", created, dropped);
  self->loaded = TRUE;
  set_db_up (self, TRUE);
  return TRUE;
}

static void
run_start (WbFleetProcessor *self,
           GTask            *task)
{
  g_autoptr(GError) error = NULL;

  if (!ensure_loaded (self, &error))
    g_task_set_task_data (task, g_steal_pointer (&error), (GDestroyNotify) g_error_free);
  g_main_context_invoke_full (self->context, G_PRIORITY_DEFAULT, return_started,
                              g_object_ref (task), g_object_unref);
}

static void
run_maintain (WbFleetProcessor *self)
{
  g_autoptr(GError) error = NULL;
  guint created = 0, dropped = 0;

  if (!ensure_connection (self, &error)
      || !wb_position_history_maintain (self->history, self->conn, g_get_real_time (), &created, &dropped, &error))
    {
      g_warning ("Fleet: history maintenance failed (%s); trying again in an hour", error->message);
      return;
    }
  if (created || dropped)
    g_message ("Fleet history: %u day partitions created, %u dropped past the retention", created, dropped);
}

static gpointer
thread_main (gpointer data)
{
  WbFleetProcessor *self = data;
  gboolean running = TRUE;

  while (running)
    {
      Job *job = g_async_queue_pop (self->jobs);

      switch (job->kind)
        {
        case JOB_START:
          run_start (self, job->task);
          break;
        case JOB_POSITIONS:
          /* Stopping: a batch still queued stays unacknowledged (from
           * Kafka it comes again); it must not meet the lock that the one
           * just cut was stuck behind. */
          if (!g_cancellable_is_cancelled (self->cancellable))
            process_positions (self, job->batch);
          break;
        case JOB_LOCATIONS:
          process_locations (self, job->batch);
          break;
        case JOB_TRIPS:
          if (!g_cancellable_is_cancelled (self->cancellable))
            process_trips (self, job->batch);
          break;
        case JOB_MAINTAIN:
          run_maintain (self);
          break;
        case JOB_STOP:
          running = FALSE;
          break;
        }
      job_free (job);
    }
  close_connection (self);
  return NULL;
}

/* ---- on the main context ----------------------------------------------------------- */

static void
on_positions (WbBus      *bus,
              WbBusBatch *batch,
              gpointer    data)
{
  push_job (data, JOB_POSITIONS, batch, NULL);
}

static void
on_trips (WbBus      *bus,
          WbBusBatch *batch,
          gpointer    data)
{
  push_job (data, JOB_TRIPS, batch, NULL);
}

static void
on_locations (WbBus      *bus,
              WbBusBatch *batch,
              gpointer    data)
{
  push_job (data, JOB_LOCATIONS, batch, NULL);
}

/**
 * wb_fleet_processor_check_offline:
 *
 * Publishes device.offline for each device silent longer than the
 * threshold since its last position (by the server's clock), once; the
 * next position from it publishes device.online.
 */
void
wb_fleet_processor_check_offline (WbFleetProcessor *self)
{
  g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_bus_message_unref);
  gint64 now = g_get_real_time ();
  GHashTableIter iter;
  gpointer key, value;

  g_return_if_fail (WB_IS_FLEET_PROCESSOR (self));

  g_mutex_lock (&self->mutex);
  g_hash_table_iter_init (&iter, self->devices);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      DeviceSeen *seen = value;
      g_autoptr(WbBusMessage) message = NULL;

      if (seen->offline || now - seen->last_server_time <= self->settings.offline_after)
        continue;
      message = wb_bus_message_new_take (WB_TOPIC_DEVICE_OFFLINE, key,
                                         device_message (key, seen->vehicle_id, seen->last_server_time,
                                                         "offline_at", now));
      /* A full bus: the next check tries again. */
      if (!wb_bus_try_publish (self->bus, message, NULL))
        continue;
      seen->offline = TRUE;
      self->stats.offline_devices++;
    }
  g_mutex_unlock (&self->mutex);
}

static gboolean
check_offline_cb (gpointer data)
{
  wb_fleet_processor_check_offline (data);
  return G_SOURCE_CONTINUE;
}

static gboolean
maintain_cb (gpointer data)
{
  push_job (data, JOB_MAINTAIN, NULL, NULL);
  return G_SOURCE_CONTINUE;
}

static void
subscribe (WbFleetProcessor *self)
{
  const char *positions[] = { TOPIC_TELEMETRY_RAW, NULL };
  const char *locations[] = { WB_TOPIC_CARRIER_LOCATION, NULL };
  const char *trips[] = { "trip.started", "trip.completed", "trip.cancelled", "trip.reassigned", NULL };
  guint check_s = CLAMP (self->settings.offline_after / G_USEC_PER_SEC / 4, 1, OFFLINE_CHECK_MAX_S);

  self->positions_subscription = wb_bus_subscribe_batched (self->bus, GROUP, positions,
                                                           self->settings.max_batch, self->settings.linger_ms,
                                                           on_positions, self, NULL);
  /* The next batch waits in the thread's queue while one is written, so
   * the database never waits for the bus. History, states and carrier
   * locations take the newer of two, whatever order batches come in. */
  wb_bus_set_prefetch (self->bus, self->positions_subscription, 2);
  self->locations_subscription = wb_bus_subscribe_batched (self->bus, GROUP, locations, 500,
                                                           self->settings.linger_ms, on_locations, self, NULL);
  /* Trips are keyed by trip, positions by vehicle: with Kafka each fleet
   * instance must read every trip's messages to tag the vehicles it gets,
   * so it reads them in a group of its own. */
  if (self->trips_group == NULL)
    self->trips_group = g_strdup_printf ("fleet-trips.%08x%08x", g_random_int (), g_random_int ());
  self->trips_subscription = wb_bus_subscribe_batched (self->bus, self->trips_group, trips, 500, self->settings.linger_ms,
                                                       on_trips, self, NULL);
  self->offline_source = g_timeout_add_seconds (check_s, check_offline_cb, self);
  self->maintain_source = g_timeout_add_seconds (MAINTAIN_INTERVAL_S, maintain_cb, self);
  self->started = TRUE;
}

void
wb_fleet_processor_start_async (WbFleetProcessor    *self,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (WB_IS_FLEET_PROCESSOR (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, wb_fleet_processor_start_async);
  g_clear_pointer (&self->context, g_main_context_unref);
  self->context = g_main_context_ref_thread_default ();
  if (self->thread == NULL)
    self->thread = g_thread_new ("fleet-writer", thread_main, self);
  push_job (self, JOB_START, NULL, task);
  /* At once, even if loading fails and is retried: on the in-process bus a
   * position published while nobody consumes its topic would be lost.
   * Batches queue behind the start job, so they find the states loaded. */
  if (!self->started)
    subscribe (self);
}

gboolean
wb_fleet_processor_start_finish (WbFleetProcessor  *self,
                                 GAsyncResult      *result,
                                 GError           **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* By the time the daemon stops the processor, the bus flush has given any
 * batch in flight its time; one still stuck in the database (behind a
 * lock, say) is cut rather than holding the stop up. Uncommitted, it was
 * never acknowledged: from Kafka it comes again after a restart. */
static void
cancel_query (WbFleetProcessor *self)
{
  char reason[256];

  g_mutex_lock (&self->mutex);
  if (self->cancel != NULL && !PQcancel (self->cancel, reason, sizeof reason))
    g_debug ("Fleet: cancelling the writer's query failed: %s", reason);
  g_mutex_unlock (&self->mutex);
}

void
wb_fleet_processor_stop (WbFleetProcessor *self)
{
  g_return_if_fail (WB_IS_FLEET_PROCESSOR (self));

  if (self->positions_subscription)
    wb_bus_unsubscribe (self->bus, self->positions_subscription);
  if (self->locations_subscription)
    wb_bus_unsubscribe (self->bus, self->locations_subscription);
  if (self->trips_subscription)
    wb_bus_unsubscribe (self->bus, self->trips_subscription);
  self->positions_subscription = self->locations_subscription = self->trips_subscription = 0;
  g_clear_handle_id (&self->offline_source, g_source_remove);
  g_clear_handle_id (&self->maintain_source, g_source_remove);
  g_cancellable_cancel (self->cancellable);
  if (self->thread != NULL)
    {
      push_job (self, JOB_STOP, NULL, NULL);
      cancel_query (self);
      g_thread_join (g_steal_pointer (&self->thread));
    }
  self->started = FALSE;
}

WbVehicleState *
wb_fleet_processor_get_state (WbFleetProcessor *self,
                              const char       *vehicle_id)
{
  g_autoptr(GMutexLocker) locker = NULL;
  const WbVehicleState *state;

  g_return_val_if_fail (WB_IS_FLEET_PROCESSOR (self), NULL);
  g_return_val_if_fail (vehicle_id != NULL, NULL);

  locker = g_mutex_locker_new (&self->mutex);
  state = g_hash_table_lookup (self->states, vehicle_id);
  return state ? wb_vehicle_state_copy (state) : NULL;
}
void
wb_fleet_processor_get_stats (WbFleetProcessor      *self,
                              WbFleetProcessorStats *out_stats)
{
  g_return_if_fail (WB_IS_FLEET_PROCESSOR (self));
  g_return_if_fail (out_stats != NULL);

  g_mutex_lock (&self->mutex);
  *out_stats = self->stats;
  g_mutex_unlock (&self->mutex);
}

/* ---- GObject ------------------------------------------------------------------------ */

static void
wb_fleet_processor_dispose (GObject *object)
{
  WbFleetProcessor *self = WB_FLEET_PROCESSOR (object);

  wb_fleet_processor_stop (self);
  G_OBJECT_CLASS (wb_fleet_processor_parent_class)->dispose (object);
}

static void
wb_fleet_processor_finalize (GObject *object)
{
  WbFleetProcessor *self = WB_FLEET_PROCESSOR (object);

  g_clear_object (&self->bus);
  g_clear_object (&self->index);
  g_clear_object (&self->history);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_pointer (&self->conninfo, g_free);
  g_clear_pointer (&self->trips_group, g_free);
  g_clear_pointer (&self->jobs, g_async_queue_unref);
  g_clear_pointer (&self->states, g_hash_table_unref);
  g_clear_pointer (&self->devices, g_hash_table_unref);
  g_mutex_clear (&self->mutex);
  G_OBJECT_CLASS (wb_fleet_processor_parent_class)->finalize (object);
}

static void
wb_fleet_processor_class_init (WbFleetProcessorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = wb_fleet_processor_dispose;
  object_class->finalize = wb_fleet_processor_finalize;
}

static void
wb_fleet_processor_init (WbFleetProcessor *self)
{
  g_mutex_init (&self->mutex);
  self->jobs = g_async_queue_new_full ((GDestroyNotify) job_free);
  self->states = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) wb_vehicle_state_free);
  self->devices = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, device_seen_free);
  self->cancellable = g_cancellable_new ();
}

/**
 * wb_fleet_processor_new:
 * @conninfo: the database; the processor keeps one connection of its own
 */
WbFleetProcessor *
wb_fleet_processor_new (WbBus                          *bus,
                        WbFleetIndex                   *index,
                        WbPositionHistory              *history,
                        const char                     *conninfo,
                        const WbFleetProcessorSettings *settings)
{
  WbFleetProcessor *self;

  g_return_val_if_fail (WB_IS_BUS (bus), NULL);
  g_return_val_if_fail (WB_IS_FLEET_INDEX (index), NULL);
  g_return_val_if_fail (WB_IS_POSITION_HISTORY (history), NULL);
  g_return_val_if_fail (conninfo != NULL, NULL);
  g_return_val_if_fail (settings != NULL && settings->max_batch > 0, NULL);

  self = g_object_new (WB_TYPE_FLEET_PROCESSOR, NULL);
  self->bus = g_object_ref (bus);
  self->index = g_object_ref (index);
  self->history = g_object_ref (history);
  self->conninfo = g_strdup (conninfo);
  self->settings = *settings;
  return self;
}
