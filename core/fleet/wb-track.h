// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* One point of a vehicle's history, as read back for a track: small and
 * plain, since a 30-day track at 10 s is some 260 000 of them. */
typedef struct
{
  gint64 time;        /* device time, unix µs */
  double lat;
  double lon;
  double speed_kmh;   /* NAN unknown */
  int    ignition;    /* -1 unknown, 0 off, 1 on */
} WbTrackPoint;

/**
 * WbTrackParams:
 * @min_trip_distance_m: a movement shorter than this is no trip
 * @min_trip_duration: (µs) a movement briefer than this is no trip
 * @min_parking_duration: (µs) standing still at least this long is a
 *   stop; so is a silence at least this long between two points closer
 *   together than @min_trip_distance_m (trackers often fall silent when
 *   parked)
 * @moving_speed_kmh: a point at this speed or faster is moving (unless its
 *   ignition is off)
 *
 * How trips and stops are told apart. WB_TRACK_PARAMS_INIT gives defaults
 * close to Traccar's reports: 500 m, 300 s, 300 s, 2 km/h.
 */
typedef struct
{
  double min_trip_distance_m;
  gint64 min_trip_duration;
  gint64 min_parking_duration;
  double moving_speed_kmh;
} WbTrackParams;

#define WB_TRACK_PARAMS_INIT { 500.0, G_GINT64_CONSTANT (300) * G_USEC_PER_SEC, \
                               G_GINT64_CONSTANT (300) * G_USEC_PER_SEC, 2.0 }

/**
 * WbTrip:
 *
 * A movement between two stops (or the ends of the range) that went at
 * least the minimal distance for at least the minimal time. It begins at
 * the last point of the stop before it and ends at the first point of the
 * stop after it, so trips and stops share their boundary points and every
 * segment of the track belongs to at most one of them.
 *
 * @distance_m is the sum of the haversine segments, @avg_speed_kmh is
 * @distance_m / @duration (NAN for a zero duration), @max_speed_kmh the
 * highest point speed (reported, else derived) from @start_index to
 * @end_index, indices into the analysed array.
 */
typedef struct
{
  gint64 start_time;      /* unix µs */
  gint64 end_time;
  double start_lat;
  double start_lon;
  double end_lat;
  double end_lon;
  double distance_m;
  gint64 duration;        /* µs */
  double max_speed_kmh;
  double avg_speed_kmh;
  guint  start_index;
  guint  end_index;
} WbTrip;

/**
 * WbStop:
 *
 * Standing still for at least the minimal parking duration: a run of
 * points that are not moving, a silence in reporting that covers it, or
 * both. A movement between two stops that is too short or too brief to be
 * a trip does not end the stop: the two stops and the hop become one.
 * (Such a movement before the first stop or after the last is neither:
 * the range cuts it, so it is left out.)
 * @lat and @lon are where the vehicle stopped (the first point).
 */
typedef struct
{
  gint64 start_time;      /* unix µs */
  gint64 end_time;
  double lat;
  double lon;
  gint64 duration;        /* µs */
  guint  start_index;
  guint  end_index;
} WbStop;

/**
 * WbTrackSummary:
 * @n_points: points analysed (before simplification)
 * @distance_m: the sum of the haversine distances between consecutive
 *   points, trips or not
 * @duration: (µs) from the first point's time to the last's
 * @moving_duration: (µs) the summed durations of the trips
 * @max_speed_kmh: the highest reported speed; when no point reports one,
 *   the highest derived speed; NAN when there is neither
 * @avg_speed_kmh: the trips' summed distance over @moving_duration; when
 *   there is no trip, @distance_m over @duration; NAN when that duration
 *   is zero
 *
 * A derived speed (for a point with no reported speed) is the slower of
 * the two segments next to it, distance over time: a point is moving only
 * when the vehicle moves on both sides of it, so the points where it sets
 * off and arrives count as stopped, as a reported speed of 0 would.
 */
typedef struct
{
  guint  n_points;
  double distance_m;
  gint64 duration;
  gint64 moving_duration;
  double max_speed_kmh;
  double avg_speed_kmh;
} WbTrackSummary;

/**
 * WbTrackAnalysis:
 * @tolerance_m: the Douglas–Peucker tolerance the polyline was simplified with
 * @summary: figures over the whole range
 * @polyline: (element-type WbTrackPoint): the simplified route, copies of the
 *   kept points in time order
 * @polyline_indices: (element-type guint): each kept point's index in the
 *   analysed array
 * @trips: (element-type WbTrip): in time order
 * @stops: (element-type WbStop): in time order
 *
 * The answer to GET /vehicles/{id}/track: what wb_track_analyze() found in
 * one vehicle's positions over a period.
 */
typedef struct
{
  double          tolerance_m;
  WbTrackSummary  summary;
  GArray         *polyline;
  GArray         *polyline_indices;
  GArray         *trips;
  GArray         *stops;
} WbTrackAnalysis;

/* Great-circle distance in metres (haversine, mean Earth radius
 * 6 371 008.8 m), in degrees. */
double           wb_geo_distance_m            (double               lat1,
                                               double               lon1,
                                               double               lat2,
                                               double               lon2);

void             wb_track_params_init         (WbTrackParams       *params);

/* Douglas–Peucker with @tolerance_m in metres, on a local equirectangular
 * projection of the points, iterative. A point is kept when it lies
 * farther than @tolerance_m from the segment (clamped to its ends) that
 * would replace it; one exactly at the tolerance goes. The first and last
 * points are always kept; a tolerance of 0 keeps every point.
 * Returns: (transfer full) (element-type guint): the kept indices, ascending. */
GArray          *wb_track_simplify            (const WbTrackPoint  *points,
                                               guint                n_points,
                                               double               tolerance_m);

/* @points must be in ascending time order with no two at the same time.
 * @params: (nullable): %NULL for WB_TRACK_PARAMS_INIT.
 * Returns: (transfer full): never %NULL for valid arguments. */
WbTrackAnalysis *wb_track_analyze             (const WbTrackPoint  *points,
                                               guint                n_points,
                                               double               tolerance_m,
                                               const WbTrackParams *params);
void             wb_track_analysis_free       (WbTrackAnalysis     *analysis);

/* The GET /vehicles/{id}/track body (camelCase; times RFC 3339 UTC with
 * milliseconds; distances in metres, speeds in km/h, durations in seconds,
 * unknown figures null):
 *
 *   {"vehicleId", "from", "to", "tolerance", "points": n analysed,
 *    "distance", "maxSpeed", "avgSpeed", "duration", "movingDuration",
 *    "polyline": [{"lat", "lon", "time", "speed": reported or null}, …],
 *    "trips": [{"start": {"time", "lat", "lon"}, "end": {…}, "distance",
 *               "duration", "maxSpeed", "avgSpeed"}, …],
 *    "stops": [{"start", "end", "lat", "lon", "duration"}, …]}
 *
 * @vehicle_id: (nullable): valid UTF-8; @from, @to: the requested range,
 * unix µs. Returns: (transfer full). */
char            *wb_track_analysis_to_json    (const WbTrackAnalysis *analysis,
                                               const char          *vehicle_id,
                                               gint64               from,
                                               gint64               to);

/* The same as an RFC 7946 FeatureCollection, positions [lon, lat]: first a
 * LineString Feature of the polyline (kind "track", with the summary and
 * a "times" array parallel to the coordinates; a null geometry when it has
 * fewer than two points), then a Point Feature per stop (kind "stop":
 * start, end, duration), then a LineString Feature per trip (kind "trip":
 * its ends and the polyline's points between them; start, end, distance,
 * duration, maxSpeed, avgSpeed). Returns: (transfer full). */
char            *wb_track_analysis_to_geojson (const WbTrackAnalysis *analysis,
                                               const char          *vehicle_id,
                                               gint64               from,
                                               gint64               to);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbTrackAnalysis, wb_track_analysis_free)

G_END_DECLS
