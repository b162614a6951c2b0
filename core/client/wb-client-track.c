// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include "wb-client-json-private.h"
#include "wb-client-track.h"

#define BIG 1e12

G_DEFINE_BOXED_TYPE (WbClientTrack, wb_client_track, wb_client_track_ref, wb_client_track_unref)

WbClientTrack *
wb_client_track_ref (WbClientTrack *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return g_atomic_rc_box_acquire (self);
}

static void
track_clear (gpointer data)
{
  WbClientTrack *self = data;

  g_free (self->vehicle_id);
  g_clear_pointer (&self->points, g_array_unref);
  g_clear_pointer (&self->trips, g_array_unref);
  g_clear_pointer (&self->stops, g_array_unref);
}

void
wb_client_track_unref (WbClientTrack *self)
{
  g_return_if_fail (self != NULL);
  g_atomic_rc_box_release_full (self, track_clear);
}

static gboolean
read_point (WbJsonReader  *reader,
            GArray        *points,
            GError       **error)
{
  WbClientTrackPoint point = { 0 };

  if (!_wb_client_read_number (reader, "lat", -90, 90, &point.lat, error)
      || !_wb_client_read_number (reader, "lon", -180, 180, &point.lon, error)
      || !_wb_client_read_time (reader, "time", TRUE, &point.time, error)
      || !_wb_client_read_number (reader, "speed", -BIG, BIG, &point.speed, error))
    return FALSE;
  g_array_append_val (points, point);
  return TRUE;
}

static gboolean
read_place (WbJsonReader        *parent,
            const char          *member,
            WbClientTrackPlace  *place,
            GError             **error)
{
  g_autoptr(WbJsonReader) reader = wb_json_reader_get_object_member (parent, member, TRUE, error);

  return reader != NULL
         && _wb_client_read_time (reader, "time", TRUE, &place->time, error)
         && _wb_client_read_number (reader, "lat", -90, 90, &place->lat, error)
         && _wb_client_read_number (reader, "lon", -180, 180, &place->lon, error);
}

static gboolean
read_trip (WbJsonReader  *reader,
           GArray        *trips,
           GError       **error)
{
  WbClientTrackTrip trip = { 0 };

  if (!read_place (reader, "start", &trip.start, error)
      || !read_place (reader, "end", &trip.end, error)
      || !_wb_client_read_number (reader, "distance", 0, BIG, &trip.distance, error)
      || !_wb_client_read_number (reader, "duration", 0, BIG, &trip.duration, error)
      || !_wb_client_read_number (reader, "maxSpeed", -BIG, BIG, &trip.max_speed, error)
      || !_wb_client_read_number (reader, "avgSpeed", -BIG, BIG, &trip.avg_speed, error))
    return FALSE;
  g_array_append_val (trips, trip);
  return TRUE;
}

static gboolean
read_stop (WbJsonReader  *reader,
           GArray        *stops,
           GError       **error)
{
  WbClientTrackStop stop = { 0 };

  if (!_wb_client_read_time (reader, "start", TRUE, &stop.start, error)
      || !_wb_client_read_time (reader, "end", TRUE, &stop.end, error)
      || !_wb_client_read_number (reader, "lat", -90, 90, &stop.lat, error)
      || !_wb_client_read_number (reader, "lon", -180, 180, &stop.lon, error)
      || !_wb_client_read_number (reader, "duration", 0, BIG, &stop.duration, error))
    return FALSE;
  g_array_append_val (stops, stop);
  return TRUE;
}

typedef gboolean (*ReadElement) (WbJsonReader *reader, GArray *into, GError **error);

static gboolean
read_array (WbJsonReader  *reader,
            const char    *member,
            ReadElement    read_element,
            GArray        *into,
            GError       **error)
{
  guint length = 0;

  if (!wb_json_reader_get_array_length (reader, member, &length, error))
    return FALSE;
  for (guint i = 0; i < length; i++)
    {
      g_autoptr(WbJsonReader) element = wb_json_reader_get_array_element (reader, member, i, error);

      if (element == NULL || !read_element (element, into, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
read_totals (WbJsonReader   *reader,
             WbClientTrack  *track,
             GError        **error)
{
  gboolean present = FALSE;

  if (!wb_json_reader_get_int64 (reader, "points", 0, G_MAXINT64, &present, &track->positions, error))
    return FALSE;
  return _wb_client_read_time (reader, "from", TRUE, &track->from, error)
         && _wb_client_read_time (reader, "to", TRUE, &track->to, error)
         && _wb_client_read_number (reader, "tolerance", 0, BIG, &track->tolerance, error)
         && _wb_client_read_number (reader, "distance", 0, BIG, &track->distance, error)
         && _wb_client_read_number (reader, "maxSpeed", -BIG, BIG, &track->max_speed, error)
         && _wb_client_read_number (reader, "avgSpeed", -BIG, BIG, &track->avg_speed, error)
         && _wb_client_read_number (reader, "duration", 0, BIG, &track->duration, error)
         && _wb_client_read_number (reader, "movingDuration", 0, BIG, &track->moving_duration, error);
}

WbClientTrack *
wb_client_track_read_json (JsonNode  *node,
                           GError   **error)
{
  g_autoptr(WbJsonReader) reader = NULL;
  g_autoptr(WbClientTrack) track = NULL;

  g_return_val_if_fail (node != NULL, NULL);

  reader = wb_json_reader_new_for_node (node, "", error);
  if (reader == NULL)
    return NULL;
  track = g_atomic_rc_box_new0 (WbClientTrack);
  track->points = g_array_new (FALSE, FALSE, sizeof (WbClientTrackPoint));
  track->trips = g_array_new (FALSE, FALSE, sizeof (WbClientTrackTrip));
  track->stops = g_array_new (FALSE, FALSE, sizeof (WbClientTrackStop));
  if (!wb_json_reader_get_string (reader, "vehicleId", TRUE, &track->vehicle_id, error)
      || !read_totals (reader, track, error)
      || !read_array (reader, "polyline", read_point, track->points, error)
      || !read_array (reader, "trips", read_trip, track->trips, error)
      || !read_array (reader, "stops", read_stop, track->stops, error))
    return NULL;
  return g_steal_pointer (&track);
}
