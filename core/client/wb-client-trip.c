// SPDX-License-Identifier: GPL-3.0-or-later
/* A trip, an operator command and the trips query, as the console reads
 * and asks for them. */
#include "config.h"

#include "wb-client-json-private.h"
#include "wb-client-trip.h"
#include "wb-time.h"

struct _WbClientTrip
{
  GObject  parent_instance;
  char    *id;
  char    *company_id;
  char    *vehicle_id;
  char    *driver_id;
  char    *status;
  char    *cancel_reason;
  gint64   version;
  gint64   planned_start;
  gint64   started_at;
  gint64   finished_at;
  gint64   created_at;
  GArray  *stops;   /* WbClientTripStop */
};

G_DEFINE_FINAL_TYPE (WbClientTrip, wb_client_trip, G_TYPE_OBJECT)

static void
stop_clear (gpointer data)
{
  WbClientTripStop *stop = data;

  g_clear_pointer (&stop->pickup_point_id, g_free);
  g_clear_pointer (&stop->address, g_free);
}

static void
wb_client_trip_finalize (GObject *object)
{
  WbClientTrip *self = WB_CLIENT_TRIP (object);

  g_free (self->id);
  g_free (self->company_id);
  g_free (self->vehicle_id);
  g_free (self->driver_id);
  g_free (self->status);
  g_free (self->cancel_reason);
  g_clear_pointer (&self->stops, g_array_unref);
  G_OBJECT_CLASS (wb_client_trip_parent_class)->finalize (object);
}

static void
wb_client_trip_class_init (WbClientTripClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = wb_client_trip_finalize;
}

static void
wb_client_trip_init (WbClientTrip *self)
{
  self->stops = g_array_new (FALSE, TRUE, sizeof (WbClientTripStop));
  g_array_set_clear_func (self->stops, stop_clear);
}

static gboolean
read_stop (WbJsonReader      *reader,
           WbClientTripStop  *stop,
           GError           **error)
{
  gint64 seq = 0;
  gboolean present = FALSE;

  if (!wb_json_reader_get_int64 (reader, "seq", 0, G_MAXUINT32, &present, &seq, error))
    return FALSE;
  if (!present)
    return wb_json_reader_fail (reader, "seq", error, "is required");
  stop->seq = (guint) seq;
  return wb_json_reader_get_string (reader, "pickupPointId", FALSE, &stop->pickup_point_id, error)
         && wb_json_reader_get_string (reader, "address", FALSE, &stop->address, error)
         && _wb_client_read_number (reader, "lat", -90, 90, &stop->lat, error)
         && _wb_client_read_number (reader, "lon", -180, 180, &stop->lon, error)
         && _wb_client_read_time (reader, "arrivedAt", FALSE, &stop->arrived_at, error)
         && _wb_client_read_time (reader, "departedAt", FALSE, &stop->departed_at, error)
         && wb_json_reader_get_array_length (reader, "batchIds", &stop->n_batches, error);
}

static gboolean
read_stops (WbJsonReader  *reader,
            WbClientTrip  *self,
            GError       **error)
{
  guint length = 0;

  if (!wb_json_reader_get_array_length (reader, "stops", &length, error))
    return FALSE;
  for (guint i = 0; i < length; i++)
    {
      g_autoptr(WbJsonReader) element = wb_json_reader_get_array_element (reader, "stops", i, error);
      WbClientTripStop stop = { 0 };

      if (element == NULL || !read_stop (element, &stop, error))
        {
          stop_clear (&stop);
          return FALSE;
        }
      g_array_append_val (self->stops, stop);
    }
  return TRUE;
}

/**
 * wb_client_trip_read:
 *
 * Returns: (transfer full) (nullable): the trip, or %NULL with a
 *   WB_JSON_ERROR naming the member at fault
 */
WbClientTrip *
wb_client_trip_read (WbJsonReader  *reader,
                     GError       **error)
{
  g_autoptr(WbClientTrip) self = g_object_new (WB_TYPE_CLIENT_TRIP, NULL);
  gboolean present = FALSE;

  if (!wb_json_reader_get_string (reader, "id", TRUE, &self->id, error)
      || !wb_json_reader_get_string (reader, "companyId", FALSE, &self->company_id, error)
      || !wb_json_reader_get_string (reader, "vehicleId", FALSE, &self->vehicle_id, error)
      || !wb_json_reader_get_string (reader, "driverId", FALSE, &self->driver_id, error)
      || !wb_json_reader_get_string (reader, "status", TRUE, &self->status, error)
      || !wb_json_reader_get_string (reader, "cancelReason", FALSE, &self->cancel_reason, error)
      || !wb_json_reader_get_int64 (reader, "version", 1, G_MAXINT64, &present, &self->version, error)
      || (!present && !wb_json_reader_fail (reader, "version", error, "is required"))
      || !_wb_client_read_time (reader, "plannedStart", FALSE, &self->planned_start, error)
      || !_wb_client_read_time (reader, "startedAt", FALSE, &self->started_at, error)
      || !_wb_client_read_time (reader, "finishedAt", FALSE, &self->finished_at, error)
      || !_wb_client_read_time (reader, "createdAt", TRUE, &self->created_at, error)
      || !read_stops (reader, self, error))
    return NULL;
  return g_steal_pointer (&self);
}

const char *
wb_client_trip_get_id (WbClientTrip *self)
{
  g_return_val_if_fail (WB_IS_CLIENT_TRIP (self), NULL);
  return self->id;
}

const char *
wb_client_trip_get_company_id (WbClientTrip *self)
{
  g_return_val_if_fail (WB_IS_CLIENT_TRIP (self), NULL);
  return self->company_id;
}

const char *
wb_client_trip_get_vehicle_id (WbClientTrip *self)
{
  g_return_val_if_fail (WB_IS_CLIENT_TRIP (self), NULL);
  return self->vehicle_id;
}

const char *
wb_client_trip_get_driver_id (WbClientTrip *self)
{
  g_return_val_if_fail (WB_IS_CLIENT_TRIP (self), NULL);
  return self->driver_id;
}

const char *
wb_client_trip_get_status (WbClientTrip *self)
{
  g_return_val_if_fail (WB_IS_CLIENT_TRIP (self), NULL);
  return self->status;
}

const char *
wb_client_trip_get_cancel_reason (WbClientTrip *self)
{
  g_return_val_if_fail (WB_IS_CLIENT_TRIP (self), NULL);
  return self->cancel_reason;
}

gint64
wb_client_trip_get_version (WbClientTrip *self)
{
  g_return_val_if_fail (WB_IS_CLIENT_TRIP (self), 0);
  return self->version;
}

gint64
wb_client_trip_get_planned_start (WbClientTrip *self)
{
  g_return_val_if_fail (WB_IS_CLIENT_TRIP (self), 0);
  return self->planned_start;
}

gint64
wb_client_trip_get_started_at (WbClientTrip *self)
{
  g_return_val_if_fail (WB_IS_CLIENT_TRIP (self), 0);
  return self->started_at;
}

gint64
wb_client_trip_get_finished_at (WbClientTrip *self)
{
  g_return_val_if_fail (WB_IS_CLIENT_TRIP (self), 0);
  return self->finished_at;
}

gint64
wb_client_trip_get_created_at (WbClientTrip *self)
{
  g_return_val_if_fail (WB_IS_CLIENT_TRIP (self), 0);
  return self->created_at;
}

guint
wb_client_trip_get_n_stops (WbClientTrip *self)
{
  g_return_val_if_fail (WB_IS_CLIENT_TRIP (self), 0);
  return self->stops->len;
}

const WbClientTripStop *
wb_client_trip_get_stop (WbClientTrip *self,
                         guint         index)
{
  g_return_val_if_fail (WB_IS_CLIENT_TRIP (self), NULL);
  g_return_val_if_fail (index < self->stops->len, NULL);
  return &g_array_index (self->stops, WbClientTripStop, index);
}

guint
wb_client_trip_count_arrived (WbClientTrip *self)
{
  guint arrived = 0;

  g_return_val_if_fail (WB_IS_CLIENT_TRIP (self), 0);
  for (guint i = 0; i < self->stops->len; i++)
    arrived += g_array_index (self->stops, WbClientTripStop, i).arrived_at != 0;
  return arrived;
}

/* ---- commands ---------------------------------------------------------------- */

/**
 * wb_client_command_read:
 *
 * Returns: (transfer full) (nullable): the command
 */
WbClientCommand *
wb_client_command_read (WbJsonReader  *reader,
                        GError       **error)
{
  g_autoptr(WbClientCommand) command = g_new0 (WbClientCommand, 1);

  if (!wb_json_reader_get_string (reader, "id", TRUE, &command->id, error)
      || !wb_json_reader_get_string (reader, "tripId", TRUE, &command->trip_id, error)
      || !wb_json_reader_get_string (reader, "vehicleId", FALSE, &command->vehicle_id, error)
      || !wb_json_reader_get_string (reader, "driverId", FALSE, &command->driver_id, error)
      || !wb_json_reader_get_string (reader, "reason", TRUE, &command->reason, error)
      || !wb_json_reader_get_string (reader, "requestedBy", TRUE, &command->requested_by, error)
      || !wb_json_reader_get_string (reader, "status", TRUE, &command->status, error)
      || !wb_json_reader_get_string (reader, "outcome", FALSE, &command->outcome, error)
      || !_wb_client_read_time (reader, "decidedAt", FALSE, &command->decided_at, error))
    return NULL;
  return g_steal_pointer (&command);
}

void
wb_client_command_free (WbClientCommand *command)
{
  if (command == NULL)
    return;
  g_free (command->id);
  g_free (command->trip_id);
  g_free (command->vehicle_id);
  g_free (command->driver_id);
  g_free (command->reason);
  g_free (command->requested_by);
  g_free (command->status);
  g_free (command->outcome);
  g_free (command);
}

/* ---- the query ----------------------------------------------------------------- */

WbClientTripQuery *
wb_client_trip_query_new (void)
{
  return g_new0 (WbClientTripQuery, 1);
}

WbClientTripQuery *
wb_client_trip_query_copy (const WbClientTripQuery *query)
{
  WbClientTripQuery *copy = g_memdup2 (query, sizeof *query);

  copy->status = g_strdup (query->status);
  copy->company_id = g_strdup (query->company_id);
  copy->vehicle_id = g_strdup (query->vehicle_id);
  copy->driver_id = g_strdup (query->driver_id);
  return copy;
}

void
wb_client_trip_query_free (WbClientTripQuery *query)
{
  if (query == NULL)
    return;
  g_free (query->status);
  g_free (query->company_id);
  g_free (query->vehicle_id);
  g_free (query->driver_id);
  g_free (query);
}

static void
append_parameter (GString    *path,
                  const char *name,
                  const char *value)
{
  if (value == NULL)
    return;
  g_string_append_c (path, strchr (path->str, '?') ? '&' : '?');
  g_string_append (path, name);
  g_string_append_c (path, '=');
  g_string_append_uri_escaped (path, value, NULL, FALSE);
}

char *
wb_client_trip_query_to_path (const WbClientTripQuery *query,
                              const char              *cursor)
{
  GString *path = g_string_new ("/trips");
  g_autofree char *from = query->from != 0 ? wb_time_format (query->from) : NULL;
  g_autofree char *to = query->to != 0 ? wb_time_format (query->to) : NULL;
  g_autofree char *limit = query->limit > 0 ? g_strdup_printf ("%u", query->limit) : NULL;

  append_parameter (path, "status", query->status);
  append_parameter (path, "companyId", query->company_id);
  append_parameter (path, "vehicleId", query->vehicle_id);
  append_parameter (path, "driverId", query->driver_id);
  append_parameter (path, "from", from);
  append_parameter (path, "to", to);
  append_parameter (path, "limit", limit);
  append_parameter (path, "cursor", cursor);
  return g_string_free (path, FALSE);
}
