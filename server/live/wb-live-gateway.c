// SPDX-License-Identifier: GPL-3.0-or-later
/* The gateway role's wiring: bus in, memory, snapshots and streams out.
 *
 * The gateway's own thread and main context, off the daemon's main loop,
 * apply what the bus hands over (it subscribes from that thread): one
 * index and one replay window number every change. /ws/events runs there
 * too. The /ws/locations streams are spread over gateway.threads shares
 * (wb-live-fanout.c): the first in this thread, the others each in a
 * thread and context of its own; the HTTP server hands each upgraded
 * connection to the share with the fewest streams. Each applied batch
 * goes to every share, which fans it out to its own streams; how a
 * subscribe still joins the stream exactly is told there. GET /locations
 * is answered on the server's thread, under a read lock the gateway takes
 * for writing while it applies a batch. Reading positions never touches
 * the database. */

#include "config.h"

#include <math.h>

#include "wb-api-errors.h"
#include "wb-json-reader.h"
#include "wb-json-writer.h"
#include "wb-live-admission.h"
#include "wb-live-events.h"
#include "wb-live-fanout.h"
#include "wb-live-gateway.h"
#include "wb-live-gateway-private.h"
#include "wb-live-index.h"
#include "wb-live-loader.h"
#include "wb-replay-window.h"
#include "wb-vehicle-state.h"

#define BUS_BATCH     500
#define MOVING_KMH    3.0
#define MAX_FILTER_IDS 1000
#define MAX_AUTO_THREADS 8
/* Updates a stream thread may have waiting before the gateway holds the
 * bus back: two seconds of 5 000 vehicles at 1 Hz. */
#define MAX_BACKLOG   10000
#define BACKLOG_CHECK_MS 5

struct _WbLiveGateway
{
  GObject              parent_instance;

  WbBus               *bus;
  WbMetrics           *metrics;
  WbDbPool            *pool;             /* nullable: nothing to load the map from */
  GCancellable        *loading;          /* while the map is loaded at start */
  gint                 loaded;            /* atomic: the map is loaded (or nothing to load) */
  GSource             *load_retry_source;
  guint                load_retry_s;
  gint64               offline_after_s;
  WbLiveIndex         *index;
  WbReplayWindow      *replay;
  WbLiveEvents        *events;           /* /ws/events */
  WbLiveAdmission     *admission;
  WbLiveFanoutShared   shared;           /* what the shares of the streams read */
  GPtrArray           *fanouts;          /* WbLiveFanout: [0] in this thread */
  GPtrArray           *pending;          /* WbLiveUpdate of the batch being applied */
  GMainContext        *context;          /* the gateway thread's */
  GMainLoop           *loop;
  GThread             *thread;
  GRWLock              lock;              /* index and replay window, for GET /locations */
  guint                subscription;
  WbBusBatch          *held_batch;       /* applied, its ack held while a thread catches up */
  GSource             *backlog_source;
  char                *group;            /* this instance's own consumer group */
};

G_DEFINE_FINAL_TYPE (WbLiveGateway, wb_live_gateway, G_TYPE_OBJECT)

/* ---- from the bus ---------------------------------------------------------- */

static gint64
read_time (WbJsonReader *reader,
           const char   *member)
{
  const char *text = NULL;
  g_autoptr(GDateTime) time = NULL;

  if (!wb_json_reader_peek_string (reader, member, FALSE, 64, &text, NULL) || text == NULL)
    return 0;
  time = g_date_time_new_from_iso8601 (text, NULL);
  return time ? g_date_time_to_unix (time) * G_USEC_PER_SEC + g_date_time_get_microsecond (time) : 0;
}

static void
read_optional_string (WbJsonReader  *reader,
                      const char    *member,
                      char         **inout_value)
{
  char *value = NULL;

  if (wb_json_reader_get_string (reader, member, FALSE, &value, NULL) && value != NULL)
    {
      g_free (*inout_value);
      *inout_value = value;
    }
}

static double
read_optional_double (WbJsonReader *reader,
                      const char   *member)
{
  gboolean present = FALSE;
  double value = NAN;

  if (!wb_json_reader_get_double (reader, member, -G_MAXDOUBLE, G_MAXDOUBLE, &present, &value, NULL) || !present)
    return NAN;
  return value;
}

/* The new state a positions.enriched body makes of @old (nullable). */
static WbLiveVehicle *
vehicle_from_position (WbJsonReader        *reader,
                       const char          *vehicle_id,
                       const WbLiveVehicle *old)
{
  WbLiveVehicle *vehicle = old ? wb_live_vehicle_copy (old) : wb_live_vehicle_new (vehicle_id);
  gboolean ignition = FALSE, moving = FALSE, has_lat = FALSE, has_lon = FALSE;
  double lat = NAN, lon = NAN;

  if (!wb_json_reader_get_double (reader, "lat", -90, 90, &has_lat, &lat, NULL)
      || !wb_json_reader_get_double (reader, "lon", -180, 180, &has_lon, &lon, NULL) || !has_lat || !has_lon)
    {
      wb_live_vehicle_unref (vehicle);
      return NULL;
    }
  vehicle->lat = lat;
  vehicle->lon = lon;
  read_optional_string (reader, "device_id", &vehicle->device_id);
  read_optional_string (reader, "company_id", &vehicle->company_id);
  read_optional_string (reader, "driver_id", &vehicle->driver_id);
  g_clear_pointer (&vehicle->trip_id, g_free);
  read_optional_string (reader, "trip_id", &vehicle->trip_id);
  vehicle->speed = read_optional_double (reader, "speed_kmh");
  vehicle->course = read_optional_double (reader, "heading");
  vehicle->fix_time = read_time (reader, "device_time");
  vehicle->server_time = read_time (reader, "server_time");
  /* server_time is when ingest accepted the position. */
  vehicle->accepted_at = vehicle->server_time;
  vehicle->ignition = WB_LIVE_IGNITION_UNKNOWN;
  if (wb_json_reader_contains (reader, "ignition") && wb_json_reader_get_boolean (reader, "ignition", &ignition, NULL))
    vehicle->ignition = ignition ? WB_LIVE_IGNITION_ON : WB_LIVE_IGNITION_OFF;
  if (!wb_json_reader_contains (reader, "moving") || !wb_json_reader_get_boolean (reader, "moving", &moving, NULL))
    moving = !isnan (vehicle->speed) && vehicle->speed >= MOVING_KMH;
  vehicle->state = moving ? WB_LIVE_STATE_MOVING : WB_LIVE_STATE_STOPPED;
  return vehicle;
}

static void
take_optional_string (const char  *value,
                      char       **inout_value)
{
  if (value != NULL)
    {
      g_free (*inout_value);
      *inout_value = g_strdup (value);
    }
}

/* The same as vehicle_from_position(), from the fleet role's struct: on the
 * in-process bus a position is never turned into JSON and read back. */
WbLiveVehicle *
wb_live_vehicle_from_enriched (const WbEnrichedPosition *enriched,
                               const WbLiveVehicle      *old)
{
  const WbPosition *position = enriched->position;
  const WbFleetEnrichment *e = enriched->enrichment;
  WbLiveVehicle *vehicle;
  gboolean moving;

  if (e == NULL || e->vehicle_id == NULL)
    return NULL;
  if (isnan (position->lat) || isnan (position->lon) || fabs (position->lat) > 90 || fabs (position->lon) > 180)
    return NULL;
  vehicle = old ? wb_live_vehicle_copy (old) : wb_live_vehicle_new (e->vehicle_id);
  vehicle->lat = position->lat;
  vehicle->lon = position->lon;
  take_optional_string (position->device_id, &vehicle->device_id);
  take_optional_string (e->company_id, &vehicle->company_id);
  take_optional_string (e->driver_id, &vehicle->driver_id);
  g_clear_pointer (&vehicle->trip_id, g_free);
  vehicle->trip_id = g_strdup (e->trip_id);
  vehicle->speed = position->speed_kmh;
  vehicle->course = position->heading;
  vehicle->fix_time = position->device_time;
  vehicle->server_time = position->server_time;
  vehicle->accepted_at = vehicle->server_time;
  vehicle->ignition = position->ignition < 0 ? WB_LIVE_IGNITION_UNKNOWN
                      : position->ignition ? WB_LIVE_IGNITION_ON : WB_LIVE_IGNITION_OFF;
  moving = position->moving >= 0 ? position->moving > 0 : !isnan (vehicle->speed) && vehicle->speed >= MOVING_KMH;
  vehicle->state = moving ? WB_LIVE_STATE_MOVING : WB_LIVE_STATE_STOPPED;
  return vehicle;
}

WbLiveVehicle *
wb_live_vehicle_from_json (GBytes              *payload,
                           const WbLiveVehicle *old)
{
  g_autoptr(WbJsonReader) reader = wb_json_reader_new_from_bytes (payload, NULL, NULL);
  const char *vehicle_id = NULL;

  if (reader == NULL || !wb_json_reader_peek_string (reader, "vehicle_id", FALSE, 128, &vehicle_id, NULL)
      || vehicle_id == NULL)
    return NULL;
  return vehicle_from_position (reader, vehicle_id, old);
}

/* One change: its seq, the replay window, and the batch for the streams. */
static void
publish (WbLiveGateway *self,
         WbLiveVehicle *old_state,
         WbLiveVehicle *new_state)
{
  g_ptr_array_add (self->pending, wb_replay_window_append (self->replay, old_state, new_state,
                                                           g_get_monotonic_time ()));
}

/* Still under the lock for writing: a share that then takes the lock for
 * reading finds every change up to the current seq in its inbox. */
static void
publish_pending (WbLiveGateway *self)
{
  g_autoptr(GPtrArray) updates = NULL;

  if (self->pending->len == 0)
    return;
  updates = g_steal_pointer (&self->pending);
  self->pending = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_live_update_unref);
  for (guint i = 0; i < self->fanouts->len; i++)
    wb_live_fanout_publish (g_ptr_array_index (self->fanouts, i), updates);
  wb_metrics_counter_add (self->metrics, "waybill_live_updates_total", updates->len, NULL);
}

/* @enriched, or else @reader. */
static void
apply_position (WbLiveGateway            *self,
                const WbEnrichedPosition *enriched,
                WbJsonReader             *reader)
{
  const char *vehicle_id = NULL;
  g_autoptr(WbLiveVehicle) current = NULL;
  g_autoptr(WbLiveVehicle) vehicle = NULL;
  g_autoptr(WbLiveVehicle) old = NULL;

  /* A device with no vehicle is not on the map. */
  if (enriched != NULL)
    vehicle_id = enriched->enrichment ? enriched->enrichment->vehicle_id : NULL;
  else if (!wb_json_reader_peek_string (reader, "vehicle_id", FALSE, 128, &vehicle_id, NULL))
    return;
  if (vehicle_id == NULL)
    return;
  current = wb_live_index_lookup (self->index, vehicle_id);
  vehicle = enriched ? wb_live_vehicle_from_enriched (enriched, current)
                     : vehicle_from_position (reader, vehicle_id, current);
  if (vehicle == NULL)
    return;
  /* Redelivered or late: the map keeps the newest fix. */
  if (current != NULL && vehicle->fix_time != 0 && vehicle->fix_time < current->fix_time)
    return;
  old = wb_live_index_update (self->index, vehicle);
  publish (self, old, vehicle);
}

static void
apply_online (WbLiveGateway *self,
              WbJsonReader  *reader,
              gboolean       online)
{
  const char *vehicle_id = NULL;
  g_autoptr(WbLiveVehicle) current = NULL;
  g_autoptr(WbLiveVehicle) old = NULL;
  g_autoptr(WbLiveVehicle) changed = NULL;
  WbLiveState state;

  if (!wb_json_reader_peek_string (reader, "vehicle_id", FALSE, 128, &vehicle_id, NULL) || vehicle_id == NULL)
    return;
  current = wb_live_index_lookup (self->index, vehicle_id);
  if (current == NULL)
    return;
  state = online ? (!isnan (current->speed) && current->speed >= MOVING_KMH ? WB_LIVE_STATE_MOVING
                                                                            : WB_LIVE_STATE_STOPPED)
                 : WB_LIVE_STATE_OFFLINE;
  if (current->state == state)
    return;
  if (wb_live_index_set_state (self->index, vehicle_id, state, 0, &old, &changed))
    publish (self, old, changed);
}

/* A trip that ends, or moves to another vehicle, leaves the vehicles that
 * carried it at once: a vehicle parked at its last stop may not report
 * again for hours, and must not stay on the map's default answer until it
 * does. Tags are only ever put by positions (the fleet role's, in step
 * with the trips table): setting one from a trip.started here would let a
 * replayed old start cover a newer trip. */
static void
apply_trip (WbLiveGateway *self,
            WbJsonReader  *reader,
            const char    *topic)
{
  WbLiveQuery query = { .trip_active = TRUE };
  const char *trip_id = NULL, *keeper = NULL;
  g_autoptr(GPtrArray) carriers = NULL;

  if (!wb_json_reader_peek_string (reader, "trip_id", FALSE, 128, &trip_id, NULL) || trip_id == NULL)
    return;
  /* A reassigned trip stays on its new vehicle. */
  if (g_str_equal (topic, "trip.reassigned")
      && !wb_json_reader_peek_string (reader, "vehicle_id", FALSE, 128, &keeper, NULL))
    return;
  carriers = wb_live_index_query (self->index, &query, NULL);
  for (guint i = 0; carriers != NULL && i < carriers->len; i++)
    {
      WbLiveVehicle *carrier = g_ptr_array_index (carriers, i);
      g_autoptr(WbLiveVehicle) changed = NULL;
      g_autoptr(WbLiveVehicle) old = NULL;

      if (g_strcmp0 (carrier->trip_id, trip_id) != 0 || g_strcmp0 (carrier->vehicle_id, keeper) == 0)
        continue;
      changed = wb_live_vehicle_copy (carrier);
      g_clear_pointer (&changed->trip_id, g_free);
      old = wb_live_index_update (self->index, changed);
      publish (self, old, changed);
    }
}

static gboolean
caught_up (WbLiveGateway *self)
{
  for (guint i = 0; i < self->fanouts->len; i++)
    if (wb_live_fanout_get_backlog (g_ptr_array_index (self->fanouts, i)) > MAX_BACKLOG)
      return FALSE;
  return TRUE;
}

static void
release_held_batch (WbLiveGateway *self)
{
  if (self->backlog_source != NULL)
    g_source_destroy (self->backlog_source);
  g_clear_pointer (&self->backlog_source, g_source_unref);
  if (self->held_batch != NULL)
    wb_bus_batch_ack (self->held_batch);
  g_clear_pointer (&self->held_batch, wb_bus_batch_unref);
}

static gboolean
on_backlog_check (gpointer data)
{
  WbLiveGateway *self = data;

  if (!caught_up (self))
    return G_SOURCE_CONTINUE;
  release_held_batch (self);
  return G_SOURCE_REMOVE;
}

/* The bus sends the next batch only after this one's ack: holding it
 * while a stream thread is far behind pushes back on the pipeline (and in
 * the end on ingest) instead of letting the inboxes grow without bound.
 * The gateway's own loop keeps running meanwhile, so its own share of
 * the streams drains too. */
static void
ack_when_caught_up (WbLiveGateway *self,
                    WbBusBatch    *batch)
{
  if (caught_up (self))
    return wb_bus_batch_ack (batch);
  self->held_batch = wb_bus_batch_ref (batch);
  self->backlog_source = wb_live_timeout_add (BACKLOG_CHECK_MS, on_backlog_check, self);
}

static void
on_batch (WbBus      *bus,
          WbBusBatch *batch,
          gpointer    data)
{
  WbLiveGateway *self = data;
  WbJsonLimits limits = { WB_JSON_DEFAULT_MAX_SIZE, WB_JSON_DEFAULT_MAX_DEPTH };
  g_autoptr(GRWLockWriterLocker) locker = g_rw_lock_writer_locker_new (&self->lock);

  for (guint i = 0; i < wb_bus_batch_get_length (batch); i++)
    {
      WbBusMessage *message = wb_bus_batch_get_message (batch, i);
      const char *topic = wb_bus_message_get_topic (message);
      const WbEnrichedPosition *enriched = wb_bus_message_peek_object (message, WB_TYPE_ENRICHED_POSITION);
      g_autoptr(GError) error = NULL;
      g_autoptr(WbJsonReader) reader = NULL;

      if (enriched != NULL)
        {
          apply_position (self, enriched, NULL);
          continue;
        }
      /* The fleet role wrote it; one that cannot be read is skipped and
       * counted, never retried: the next position replaces it anyway. */
      reader = wb_json_reader_new_from_bytes (wb_bus_message_get_payload (message), &limits, &error);
      if (reader == NULL)
        {
          wb_metrics_counter_add (self->metrics, "waybill_live_messages_skipped_total", 1, NULL);
          continue;
        }
      if (g_str_equal (topic, "positions.enriched"))
        apply_position (self, NULL, reader);
      else if (g_str_has_prefix (topic, "trip."))
        apply_trip (self, reader, topic);
      else
        apply_online (self, reader, g_str_equal (topic, "device.online"));
    }
  publish_pending (self);
  ack_when_caught_up (self, batch);
  wb_metrics_gauge_set (self->metrics, "waybill_live_vehicles", wb_live_index_get_size (self->index), NULL);
}

/* ---- the map at start ---------------------------------------------------------- */

static void load_map (WbLiveGateway *self);

static gboolean
retry_load (gpointer data)
{
  WbLiveGateway *self = data;

  g_clear_pointer (&self->load_retry_source, g_source_unref);
  load_map (self);
  return G_SOURCE_REMOVE;
}

/* Each stored state goes through the stream like any change, so a client
 * already subscribed sees it enter; a position that arrived meanwhile is
 * newer and stays. */
static void
seed (WbLiveGateway *self,
      GPtrArray     *vehicles)
{
  g_autoptr(GRWLockWriterLocker) locker = g_rw_lock_writer_locker_new (&self->lock);

  for (guint i = 0; i < vehicles->len; i++)
    {
      WbLiveVehicle *vehicle = g_ptr_array_index (vehicles, i);
      g_autoptr(WbLiveVehicle) old = NULL;

      if (wb_live_index_update_if_newer (self->index, vehicle, &old))
        publish (self, old, vehicle);
    }
  publish_pending (self);
  wb_metrics_gauge_set (self->metrics, "waybill_live_vehicles", wb_live_index_get_size (self->index), NULL);
}

static void
on_map_loaded (GObject      *source,
               GAsyncResult *result,
               gpointer      data)
{
  WbLiveGateway *self = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) vehicles = wb_live_load_vehicles_finish (WB_DB_POOL (source), result, &error);

  /* Stopped meanwhile. */
  if (self->loading == NULL || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_object_unref (self);
      return;
    }
  if (vehicles == NULL)
    {
      /* The database may still be on its way: /readyz says so meanwhile. */
      g_warning ("Live map: cannot load the vehicles' last states (again in %u s): %s", self->load_retry_s,
                 error->message);
      self->load_retry_source = wb_live_timeout_add (self->load_retry_s * 1000, retry_load, self);
      self->load_retry_s = MIN (self->load_retry_s * 2, 30);
      g_object_unref (self);
      return;
    }
  seed (self, vehicles);
  g_clear_object (&self->loading);
  g_atomic_int_set (&self->loaded, TRUE);
  g_message ("Live map: %u vehicles loaded from the database", vehicles->len);
  g_object_unref (self);
}

static void
load_map (WbLiveGateway *self)
{
  wb_live_load_vehicles_async (self->pool, self->offline_after_s, self->loading, on_map_loaded,
                               g_object_ref (self));
}

/* ---- GET /locations -------------------------------------------------------- */

typedef struct
{
  GPtrArray *company_ids;
  GPtrArray *vehicle_ids;
  char      *bbox;
  char      *state;
  char      *trip;
  guint      count;
} LocationParams;

static void
location_params_clear (LocationParams *p)
{
  g_clear_pointer (&p->company_ids, g_ptr_array_unref);
  g_clear_pointer (&p->vehicle_ids, g_ptr_array_unref);
  g_clear_pointer (&p->bbox, g_free);
  g_clear_pointer (&p->state, g_free);
  g_clear_pointer (&p->trip, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (LocationParams, location_params_clear)

/* companyId and vehicleId repeat, which the router's one value per name
 * cannot say. Returns the unknown or malformed parameter, or NULL. */
static const char *
read_location_params (WbHttpRequest  *request,
                      LocationParams *p)
{
  const char *query = g_uri_get_query (soup_server_message_get_uri (wb_http_request_get_message (request)));
  g_auto(GStrv) pairs = query ? g_strsplit (query, "&", -1) : g_new0 (char *, 1);

  p->company_ids = g_ptr_array_new_with_free_func (g_free);
  p->vehicle_ids = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; pairs[i] != NULL; i++)
    {
      const char *eq = strchr (pairs[i], '=');
      g_autofree char *name = g_uri_unescape_segment (pairs[i], eq, NULL);
      char *value = eq ? g_uri_unescape_string (eq + 1, NULL) : g_strdup ("");

      if (*pairs[i] == '\0')
        {
          g_free (value);
          continue;
        }
      if (name == NULL || value == NULL || ++p->count > 2 * MAX_FILTER_IDS)
        {
          g_free (value);
          return name && g_str_equal (name, "vehicleId") ? "vehicleId" : "companyId";
        }
      if (g_str_equal (name, "companyId"))
        g_ptr_array_add (p->company_ids, value);
      else if (g_str_equal (name, "vehicleId"))
        g_ptr_array_add (p->vehicle_ids, value);
      else if (g_str_equal (name, "bbox"))
        g_free (p->bbox), p->bbox = value;
      else if (g_str_equal (name, "state"))
        g_free (p->state), p->state = value;
      else if (g_str_equal (name, "trip"))
        g_free (p->trip), p->trip = value;
      else
        g_free (value);
    }
  g_ptr_array_add (p->company_ids, NULL);
  g_ptr_array_add (p->vehicle_ids, NULL);
  return NULL;
}

static void
respond_bad_param (WbHttpRequest *request,
                   const char    *field,
                   const char    *message)
{
  wb_api_respond_error (request, SOUP_STATUS_BAD_REQUEST, "invalid_field", field, message, 0);
}

static char *
write_locations (WbLiveGateway *self,
                 GPtrArray     *vehicles)
{
  GString *out = g_string_new ("{\"epoch\":");

  wb_json_write_string (out, wb_replay_window_get_epoch (self->replay));
  g_string_append (out, ",\"seq\":");
  wb_json_write_int (out, (gint64) wb_replay_window_get_seq (self->replay));
  g_string_append (out, ",\"items\":[");
  for (guint i = 0; i < vehicles->len; i++)
    {
      if (i > 0)
        g_string_append_c (out, ',');
      wb_live_vehicle_write_json (g_ptr_array_index (vehicles, i), WB_LIVE_JSON_DEFAULT, out);
    }
  g_string_append (out, "]}");
  return g_string_free (out, FALSE);
}

static void
get_locations (WbHttpRequest *request,
               gpointer       data)
{
  WbLiveGateway *self = data;
  g_auto(LocationParams) p = { 0 };
  WbLiveQuery query = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) vehicles = NULL;
  g_autofree char *body = NULL;
  const char *bad;

  if (!g_atomic_int_get (&self->loaded))
    {
      wb_http_request_set_header (request, "Retry-After", "1");
      return wb_api_respond_error (request, SOUP_STATUS_SERVICE_UNAVAILABLE, "unavailable", NULL,
                                   "The live map is being loaded", 0);
    }
  bad = read_location_params (request, &p);
  if (bad != NULL)
    return respond_bad_param (request, bad, "Too many or malformed query parameters");
  if (p.bbox != NULL && !wb_live_bbox_parse (p.bbox, &query.bbox, &error))
    return respond_bad_param (request, "bbox", error->message);
  query.has_bbox = p.bbox != NULL;
  if (p.state != NULL && !wb_live_state_from_string (p.state, &query.state))
    return respond_bad_param (request, "state", "state is moving, stopped or offline");
  query.has_state = p.state != NULL;
  if (p.trip != NULL && !g_str_equal (p.trip, "active"))
    return respond_bad_param (request, "trip", "trip takes the value active");
  query.trip_active = p.trip != NULL;
  query.company_ids = p.company_ids->len > 1 ? (const char * const *) p.company_ids->pdata : NULL;
  query.vehicle_ids = p.vehicle_ids->len > 1 ? (const char * const *) p.vehicle_ids->pdata : NULL;

  /* The items and the stream position they were taken at, together. */
  g_rw_lock_reader_lock (&self->lock);
  vehicles = wb_live_index_query (self->index, &query, &error);
  body = vehicles ? write_locations (self, vehicles) : NULL;
  g_rw_lock_reader_unlock (&self->lock);
  if (vehicles == NULL)
    return respond_bad_param (request, "bbox", error->message);
  wb_api_respond_json_text (request, SOUP_STATUS_OK, body);
}

/* ---- WS /ws/locations -------------------------------------------------------- */

/* On the server's thread: the share with the fewest streams. */
static GMainContext *
pick_context (gpointer data)
{
  WbLiveGateway *self = data;
  WbLiveFanout *best = g_ptr_array_index (self->fanouts, 0);

  for (guint i = 1; i < self->fanouts->len; i++)
    {
      WbLiveFanout *fanout = g_ptr_array_index (self->fanouts, i);

      if (wb_live_fanout_get_load (fanout) < wb_live_fanout_get_load (best))
        best = fanout;
    }
  wb_live_fanout_reserve (best);
  return wb_live_fanout_get_context (best);
}

/* In the context pick_context() chose. */
static void
on_websocket (GIOStream               *stream,
              GSocket                 *socket,
              const char              *peer,
              WbAccessRole             role,
              const char              *subject,
              gint64                   expires_at,
              gpointer                 data)
{
  WbLiveGateway *self = data;
  GMainContext *here = g_main_context_get_thread_default ();

  for (guint i = 0; i < self->fanouts->len; i++)
    {
      WbLiveFanout *fanout = g_ptr_array_index (self->fanouts, i);

      if (wb_live_fanout_get_context (fanout) == here)
        return wb_live_fanout_take (fanout, stream, socket, peer, expires_at);
    }
  g_assert_not_reached ();
}

/* ---- the object -------------------------------------------------------------- */

static void
declare_metrics (WbMetrics *m)
{
  wb_metrics_declare (m, "waybill_live_vehicles", WB_METRIC_GAUGE, "Vehicles on the live map.", NULL, 0);
  wb_metrics_declare (m, "waybill_live_connections", WB_METRIC_GAUGE, "Open /ws/locations streams.", NULL, 0);
  wb_metrics_declare (m, "waybill_live_connections_rejected_total", WB_METRIC_COUNTER,
                      "Streams refused by a connection limit (total, per_peer).", NULL, 0);
  wb_metrics_declare (m, "waybill_live_connections_closed_total", WB_METRIC_COUNTER,
                      "Streams closed, by reason: client, slow, pong_timeout, too_big, bad_message, token_expired, shutdown.",
                      NULL, 0);
  wb_metrics_declare (m, "waybill_live_updates_total", WB_METRIC_COUNTER,
                      "Changes on the live stream (its seq).", NULL, 0);
  wb_metrics_declare (m, "waybill_live_frames_total", WB_METRIC_COUNTER,
                      "Batched update frames sent to clients.", NULL, 0);
  wb_metrics_declare (m, "waybill_live_resumes_total", WB_METRIC_COUNTER,
                      "Subscribes with a stream position: replayed, or resync.", NULL, 0);
  wb_metrics_declare (m, "waybill_live_messages_skipped_total", WB_METRIC_COUNTER,
                      "Bus messages the gateway could not read.", NULL, 0);
  wb_metrics_declare (m, "waybill_live_thread_connections", WB_METRIC_GAUGE,
                      "Open /ws/locations streams per gateway thread.", NULL, 0);
  wb_metrics_gauge_set (m, "waybill_live_connections", 0, NULL);
  wb_metrics_gauge_set (m, "waybill_live_vehicles", 0, NULL);
}

static void
wb_live_gateway_finalize (GObject *object)
{
  WbLiveGateway *self = WB_LIVE_GATEWAY (object);

  wb_live_gateway_stop (self);
  /* Before the context they may share and what they read. */
  g_clear_pointer (&self->fanouts, g_ptr_array_unref);
  g_clear_pointer (&self->pending, g_ptr_array_unref);
  g_clear_pointer (&self->loop, g_main_loop_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_rw_lock_clear (&self->lock);
  g_clear_pointer (&self->admission, wb_live_admission_free);
  g_clear_object (&self->index);
  g_clear_object (&self->replay);
  g_clear_object (&self->events);
  g_clear_object (&self->bus);
  g_clear_object (&self->pool);
  g_clear_object (&self->metrics);
  g_free (self->group);
  G_OBJECT_CLASS (wb_live_gateway_parent_class)->finalize (object);
}

static void
wb_live_gateway_class_init (WbLiveGatewayClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = wb_live_gateway_finalize;
}

static void
wb_live_gateway_init (WbLiveGateway *self)
{
  self->pending = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_live_update_unref);
  self->index = wb_live_index_new ();
  g_rw_lock_init (&self->lock);
  self->context = g_main_context_new ();
  self->loop = g_main_loop_new (self->context, FALSE);
}

static void
read_limits (WbConfig           *config,
             WbLiveStreamLimits *limits)
{
  limits->keepalive_s = MAX (1, wb_config_get_int (config, "gateway.keepalive") / 1000);
  limits->pong_timeout_ms = wb_config_get_int (config, "gateway.pong-timeout");
  limits->max_message_size = wb_config_get_int (config, "gateway.max-message-size");
  limits->outbox_bound = wb_config_get_int (config, "gateway.outbox-bound");
  limits->outbox_hard_limit = MAX (limits->outbox_bound * 4, 100000);
  limits->slow_deadline_ms = wb_config_get_int (config, "gateway.slow-deadline");
}

/* @threads: 0 for one per processor. One main loop polls every stream's
 * socket on each pass, so thousands of streams in one loop cap its
 * wakeups; a share per processor spreads both the polling and the
 * writing. The first share runs in the gateway's own thread. */
static void
make_fanouts (WbLiveGateway *self,
              guint          threads)
{
  if (threads == 0)
    threads = CLAMP (g_get_num_processors (), 1, MAX_AUTO_THREADS);
  self->shared.lock = &self->lock;
  self->shared.index = self->index;
  self->shared.replay = self->replay;
  self->shared.admission = self->admission;
  self->shared.metrics = self->metrics;
  self->fanouts = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_live_fanout_free);
  for (guint i = 0; i < threads; i++)
    g_ptr_array_add (self->fanouts, wb_live_fanout_new (&self->shared, i, i == 0 ? self->context : NULL));
}

WbLiveGateway *
wb_live_gateway_new (WbConfig  *config,
                     WbBus     *bus,
                     WbDbPool  *pool,
                     WbMetrics *metrics)
{
  WbLiveGateway *self;

  g_return_val_if_fail (WB_IS_CONFIG (config), NULL);
  g_return_val_if_fail (WB_IS_BUS (bus), NULL);
  g_return_val_if_fail (pool == NULL || WB_IS_DB_POOL (pool), NULL);
  g_return_val_if_fail (WB_IS_METRICS (metrics), NULL);

  self = g_object_new (WB_TYPE_LIVE_GATEWAY, NULL);
  self->bus = g_object_ref (bus);
  self->metrics = g_object_ref (metrics);
  self->pool = pool ? g_object_ref (pool) : NULL;
  self->offline_after_s = wb_config_get_int (config, "fleet.offline-after") / 1000;
  self->replay = wb_replay_window_new (wb_config_get_int (config, "gateway.replay-size"),
                                       wb_config_get_int (config, "gateway.replay-age") * (GTimeSpan) 1000);
  self->admission = wb_live_admission_new (metrics, "waybill_live_connections_rejected_total", "streams",
                                           wb_config_get_int (config, "gateway.max-connections"),
                                           wb_config_get_int (config, "gateway.max-connections-per-peer"));
  read_limits (config, &self->shared.limits);
  self->shared.window_ms = wb_config_get_int (config, "gateway.batch-window");
  /* With Kafka every gateway reads every position: a group of its own. */
  self->group = g_strdup_printf ("gateway.%08x%08x", g_random_int (), g_random_int ());
  declare_metrics (metrics);
  make_fanouts (self, wb_config_get_int (config, "gateway.threads"));
  self->events = wb_live_events_new (bus, metrics, &self->shared.limits,
                                     wb_config_get_int (config, "gateway.replay-size"),
                                     wb_config_get_int (config, "gateway.replay-age") * (GTimeSpan) 1000,
                                     wb_config_get_int (config, "gateway.max-connections"),
                                     wb_config_get_int (config, "gateway.max-connections-per-peer"),
                                     self->shared.window_ms);
  return self;
}

void
wb_live_gateway_register (WbLiveGateway *self,
                          WbHttpServer  *http)
{
  g_return_if_fail (WB_IS_LIVE_GATEWAY (self));

  wb_http_server_add_route (http, "GET", "/locations", WB_ACCESS_ROLE_VIEWER, get_locations, self);
  wb_http_server_add_websocket (http, "/ws/locations", WB_ACCESS_ROLE_VIEWER, on_websocket, self, self->context);
  wb_http_server_set_websocket_picker (http, "/ws/locations", pick_context);
  wb_live_events_register (self->events, http, self->context);
}

/* In the gateway thread. */
static void
start_here (WbLiveGateway *self)
{
  static const char * const topics[] = { "positions.enriched", "device.online", "device.offline",
                                         "trip.completed", "trip.cancelled", "trip.reassigned", NULL };
  g_autofree char *events_group = NULL;

  /* Subscribed first, so that no position falls between the load and
   * the live stream; the newest fix wins either way. */
  self->subscription = wb_bus_subscribe (self->bus, self->group, topics, BUS_BATCH, on_batch, self, NULL);
  if (self->pool != NULL)
    {
      self->loading = g_cancellable_new ();
      self->load_retry_s = 1;
      load_map (self);
    }
  for (guint i = 0; i < self->fanouts->len; i++)
    wb_live_fanout_start (g_ptr_array_index (self->fanouts, i));
  events_group = g_strconcat (self->group, ".events", NULL);
  wb_live_events_start (self->events, events_group);
  g_message ("Live map gateway started (epoch %s, consumer group %s, %u stream threads)",
             wb_replay_window_get_epoch (self->replay), self->group, self->fanouts->len);
}

static void
destroy_source (GSource **source)
{
  if (*source != NULL)
    g_source_destroy (*source);
  g_clear_pointer (source, g_source_unref);
}

/* In the gateway thread. */
static void
stop_here (WbLiveGateway *self)
{
  release_held_batch (self);
  if (self->subscription != 0)
    wb_bus_unsubscribe (self->bus, self->subscription);
  self->subscription = 0;
  destroy_source (&self->load_retry_source);
  if (self->loading != NULL)
    g_cancellable_cancel (self->loading);
  g_clear_object (&self->loading);
  if (self->events != NULL)
    wb_live_events_stop (self->events);
  for (guint i = 0; i < self->fanouts->len; i++)
    wb_live_fanout_stop (g_ptr_array_index (self->fanouts, i));
  wb_live_admission_reset (self->admission);
}

static gpointer
gateway_thread (gpointer data)
{
  WbLiveGateway *self = data;

  g_main_context_push_thread_default (self->context);
  start_here (self);
  g_main_loop_run (self->loop);
  stop_here (self);
  /* What the closing streams left queued (their last frames, the frees). */
  while (g_main_context_iteration (self->context, FALSE))
    ;
  g_main_context_pop_thread_default (self->context);
  g_object_unref (self);
  return NULL;
}

/* Starts the gateway's thread: it subscribes to the bus, loads the map and
 * serves the streams from there. */
void
wb_live_gateway_start (WbLiveGateway *self)
{
  g_return_if_fail (WB_IS_LIVE_GATEWAY (self));

  if (self->thread != NULL)
    return;
  g_atomic_int_set (&self->loaded, self->pool == NULL);
  self->thread = g_thread_new ("gateway", gateway_thread, g_object_ref (self));
}

/* Closes every stream and ends the thread; returns once it has. */
void
wb_live_gateway_stop (WbLiveGateway *self)
{
  g_return_if_fail (WB_IS_LIVE_GATEWAY (self));

  if (self->thread == NULL)
    return;
  g_main_loop_quit (self->loop);
  g_thread_join (g_steal_pointer (&self->thread));
}

gboolean
wb_live_gateway_is_ready (WbLiveGateway  *self,
                          char          **out_reason)
{
  g_return_val_if_fail (WB_IS_LIVE_GATEWAY (self), FALSE);

  if (g_atomic_int_get (&self->loaded))
    return TRUE;
  if (out_reason != NULL)
    *out_reason = g_strdup ("loading the live map from the database");
  return FALSE;
}

const char *
wb_live_gateway_get_epoch (WbLiveGateway *self)
{
  g_return_val_if_fail (WB_IS_LIVE_GATEWAY (self), NULL);
  return wb_replay_window_get_epoch (self->replay);
}
