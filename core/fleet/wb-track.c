// SPDX-License-Identifier: GPL-3.0-or-later
/* Track analysis: a period of one vehicle's positions turned into a
 * simplified route, its distance and speeds, and the trips and stops in it.
 *
 * A 30-day track at 10 s is some 260 000 points and the answer is awaited
 * by a person, so everything here is a few linear passes over flat arrays:
 * segment distances once (one cosine per point, not per segment), speeds
 * from them, stops and trips from those, and a Douglas–Peucker without
 * recursion. The JSON is written straight into one GString with core/json's
 * writer for the same reason; coordinates and figures are rounded to a
 * fixed number of decimals and formatted from integers, so no locale can
 * turn a '.' into a ','. */

#include "config.h"

#include <math.h>
#include <string.h>

#include "wb-json-writer.h"
#include "wb-time.h"
#include "wb-track.h"

#define EARTH_RADIUS_M 6371008.8
#define DEG_TO_RAD     (G_PI / 180.0)
#define MS_PER_DAY     G_GINT64_CONSTANT (86400000)

/* ---- distance ----------------------------------------------------------- */

static inline double
haversine (double lat1_rad,
           double cos_lat1,
           double lat2_rad,
           double cos_lat2,
           double delta_lon_rad)
{
  double sin_lat = sin ((lat2_rad - lat1_rad) / 2);
  double sin_lon = sin (delta_lon_rad / 2);
  double a = sin_lat * sin_lat + cos_lat1 * cos_lat2 * sin_lon * sin_lon;

  return 2 * EARTH_RADIUS_M * asin (sqrt (MIN (a, 1.0)));
}

double
wb_geo_distance_m (double lat1,
                   double lon1,
                   double lat2,
                   double lon2)
{
  double lat1_rad = lat1 * DEG_TO_RAD;
  double lat2_rad = lat2 * DEG_TO_RAD;

  return haversine (lat1_rad, cos (lat1_rad), lat2_rad, cos (lat2_rad),
                    (lon2 - lon1) * DEG_TO_RAD);
}

void
wb_track_params_init (WbTrackParams *params)
{
  static const WbTrackParams defaults = WB_TRACK_PARAMS_INIT;

  g_return_if_fail (params != NULL);
  *params = defaults;
}

/* ---- Douglas–Peucker ---------------------------------------------------- */

typedef struct
{
  double x;
  double y;
} PlanePoint;

typedef struct
{
  guint first;
  guint last;
} Range;

/* Equirectangular, in metres from the first point, except that east–west
 * distances are left unscaled here: each range scales them by the cosine
 * of its own middle latitude (farthest_point()), so the projection stays
 * local to the part of the track being simplified, even for a month of
 * long-haul driving. Longitudes are unwrapped, so crossing the antimeridian
 * is a short step. */
static PlanePoint *
project (const WbTrackPoint *points,
         guint               n_points)
{
  PlanePoint *plane = g_new (PlanePoint, n_points);
  double previous_lon = points[0].lon, lon_offset = 0;
  double scale = EARTH_RADIUS_M * DEG_TO_RAD;

  for (guint i = 0; i < n_points; i++)
    {
      double lon = points[i].lon + lon_offset;

      if (fabs (lon - previous_lon) > 180)
        {
          double turn = lon > previous_lon ? -360 : 360;

          lon_offset += turn;
          lon += turn;
        }
      previous_lon = lon;
      plane[i].x = (lon - points[0].lon) * scale;
      plane[i].y = (points[i].lat - points[0].lat) * scale;
    }
  return plane;
}

/* The point of (first, last) farthest from the segment first–last, and
 * its squared distance in @out_distance2. */
static guint
farthest_point (const PlanePoint *plane,
                double            lat0_rad,
                Range             range,
                double           *out_distance2)
{
  double middle_lat_rad = lat0_rad + (plane[range.first].y + plane[range.last].y) / 2 / EARTH_RADIUS_M;
  double scale_x = cos (middle_lat_rad);
  double ax = plane[range.first].x * scale_x, ay = plane[range.first].y;
  double dx = plane[range.last].x * scale_x - ax;
  double dy = plane[range.last].y - ay;
  double length2 = dx * dx + dy * dy;
  double inverse_length2 = length2 > 0 ? 1 / length2 : 0;
  double best = -1;
  guint best_index = range.first;

  for (guint i = range.first + 1; i < range.last; i++)
    {
      double px = plane[i].x * scale_x - ax, py = plane[i].y - ay;
      double t = CLAMP ((px * dx + py * dy) * inverse_length2, 0.0, 1.0);
      double ex = px - t * dx, ey = py - t * dy;
      double distance2 = ex * ex + ey * ey;

      if (distance2 > best)
        {
          best = distance2;
          best_index = i;
        }
    }
  *out_distance2 = best;
  return best_index;
}

/* An explicit stack instead of recursion: a long track that keeps
 * splitting at one end would otherwise be as deep as it is long. */
static void
mark_kept (const PlanePoint *plane,
           double            lat0_rad,
           guint             n_points,
           double            tolerance_m,
           guint8           *keep)
{
  g_autoptr(GArray) stack = g_array_new (FALSE, FALSE, sizeof (Range));
  Range whole = { 0, n_points - 1 };
  double tolerance2 = tolerance_m * tolerance_m;

  g_array_append_val (stack, whole);
  while (stack->len > 0)
    {
      Range range = g_array_index (stack, Range, stack->len - 1);
      Range before, after;
      double distance2;
      guint split;

      g_array_set_size (stack, stack->len - 1);
      if (range.last - range.first < 2)
        continue;
      split = farthest_point (plane, lat0_rad, range, &distance2);
      if (distance2 <= tolerance2)
        continue;
      keep[split] = TRUE;
      before = (Range) { range.first, split };
      after = (Range) { split, range.last };
      g_array_append_val (stack, after);
      g_array_append_val (stack, before);
    }
}

GArray *
wb_track_simplify (const WbTrackPoint *points,
                   guint               n_points,
                   double              tolerance_m)
{
  g_autofree PlanePoint *plane = NULL;
  g_autofree guint8 *keep = NULL;
  GArray *kept;

  g_return_val_if_fail (points != NULL || n_points == 0, NULL);
  g_return_val_if_fail (tolerance_m >= 0, NULL);

  kept = g_array_sized_new (FALSE, FALSE, sizeof (guint), MIN (n_points, 1024));
  if (n_points < 3 || tolerance_m == 0)
    {
      g_array_set_size (kept, n_points);
      for (guint i = 0; i < n_points; i++)
        g_array_index (kept, guint, i) = i;
      return kept;
    }

  plane = project (points, n_points);
  keep = g_new0 (guint8, n_points);
  keep[0] = keep[n_points - 1] = TRUE;
  mark_kept (plane, points[0].lat * DEG_TO_RAD, n_points, tolerance_m, keep);
  for (guint i = 0; i < n_points; i++)
    if (keep[i])
      g_array_append_val (kept, i);
  return kept;
}

/* ---- speeds and motion -------------------------------------------------- */

typedef struct
{
  const WbTrackPoint  *points;
  guint                n_points;
  const WbTrackParams *params;
  double              *segments;     /* n - 1: metres from point i to i + 1 */
  double              *speeds;       /* n: reported km/h, else derived */
  gboolean             any_reported;
} Track;

static void
measure_segments (Track *track)
{
  const WbTrackPoint *points = track->points;
  double lat_rad, cos_lat;

  if (track->n_points < 2)
    return;
  lat_rad = points[0].lat * DEG_TO_RAD;
  cos_lat = cos (lat_rad);
  for (guint i = 0; i + 1 < track->n_points; i++)
    {
      double next_lat_rad = points[i + 1].lat * DEG_TO_RAD;
      double next_cos_lat = cos (next_lat_rad);

      track->segments[i] = haversine (lat_rad, cos_lat, next_lat_rad, next_cos_lat,
                                      (points[i + 1].lon - points[i].lon) * DEG_TO_RAD);
      lat_rad = next_lat_rad;
      cos_lat = next_cos_lat;
    }
}

/* NAN for no time at all. */
static double
kmh (double  metres,
     gint64  duration)
{
  return duration > 0 ? metres / ((double) duration / G_USEC_PER_SEC) * 3.6 : NAN;
}

static double
segment_speed_kmh (const Track *track,
                   guint        i)
{
  gint64 elapsed = track->points[i + 1].time - track->points[i].time;

  /* The caller promises strictly ascending times; if not, no speed rather
   * than a division by zero. */
  return elapsed > 0 ? kmh (track->segments[i], elapsed) : 0;
}

/* The slower side, so a point moves only when the vehicle moves on both
 * sides of it: departure and arrival points count as stopped, as a device
 * reporting speed would have them, and a silence (a long segment in time)
 * reads as standing still. */
static double
derived_speed_kmh (const Track *track,
                   guint        i)
{
  gboolean has_before = i > 0, has_after = i + 1 < track->n_points;

  if (has_before && has_after)
    return MIN (segment_speed_kmh (track, i - 1), segment_speed_kmh (track, i));
  if (has_before)
    return segment_speed_kmh (track, i - 1);
  if (has_after)
    return segment_speed_kmh (track, i);
  return NAN;
}

static void
measure_speeds (Track *track)
{
  for (guint i = 0; i < track->n_points; i++)
    {
      double reported = track->points[i].speed_kmh;

      track->any_reported |= !isnan (reported);
      track->speeds[i] = isnan (reported) ? derived_speed_kmh (track, i) : reported;
    }
}

static gboolean
is_moving (const Track *track,
           guint        i)
{
  /* A NAN speed (a lone point) compares false: not moving. */
  return track->points[i].ignition != 0 &&
         track->speeds[i] >= track->params->moving_speed_kmh;
}

/* A silence long enough to park in, between two points too close together
 * for a trip: trackers often stop reporting once parked. */
static gboolean
is_parked_gap (const Track *track,
               guint        i)
{
  return track->points[i + 1].time - track->points[i].time >= track->params->min_parking_duration &&
         track->segments[i] < track->params->min_trip_distance_m;
}

/* ---- stops and trips ---------------------------------------------------- */

static gint64
range_duration (const Track *track,
                Range        range)
{
  return track->points[range.last].time - track->points[range.first].time;
}

/* Stop candidates as they are found: @current is open while @open. */
typedef struct
{
  const Track *track;
  GArray      *candidates;
  Range        current;
  gboolean     open;
} CandidateScan;

/* Closes the open range, keeping it when it lasts long enough to park. */
static void
scan_close (CandidateScan *scan)
{
  if (scan->open && range_duration (scan->track, scan->current) >= scan->track->params->min_parking_duration)
    g_array_append_val (scan->candidates, scan->current);
  scan->open = FALSE;
}

/* Point @i is not moving: it continues the open range when it is already
 * in it (the end of a parked gap) or follows a point that is not moving
 * either; else it opens a new one. */
static void
scan_standing_point (CandidateScan *scan,
                     guint          i)
{
  Range *current = &scan->current;

  if (scan->open && (current->last == i ||
                     (current->last + 1 == i && !is_moving (scan->track, i - 1))))
    {
      current->last = i;
      return;
    }
  scan_close (scan);
  *current = (Range) { i, i };
  scan->open = TRUE;
}

/* A parked gap from @i to @i + 1 joins the open range when @i is in it. */
static void
scan_parked_gap (CandidateScan *scan,
                 guint          i)
{
  if (!(scan->open && scan->current.last >= i))
    {
      scan_close (scan);
      scan->current.first = i;
      scan->open = TRUE;
    }
  scan->current.last = i + 1;
}

/* Ranges of points standing still long enough to park: runs of points not
 * moving, joined with any parked gap they touch. Disjoint, in order. */
static GArray *
find_stop_candidates (const Track *track)
{
  CandidateScan scan = { track, g_array_new (FALSE, FALSE, sizeof (Range)), { 0, 0 }, FALSE };

  for (guint i = 0; i < track->n_points; i++)
    {
      if (!is_moving (track, i))
        scan_standing_point (&scan, i);
      if (i + 1 < track->n_points && is_parked_gap (track, i))
        scan_parked_gap (&scan, i);
    }
  scan_close (&scan);
  return scan.candidates;
}

static void
measure_trip (const Track *track,
              Range        span,
              WbTrip      *trip)
{
  const WbTrackPoint *start = &track->points[span.first];
  const WbTrackPoint *end = &track->points[span.last];

  *trip = (WbTrip) {
    .start_time = start->time, .end_time = end->time,
    .start_lat = start->lat, .start_lon = start->lon,
    .end_lat = end->lat, .end_lon = end->lon,
    .duration = end->time - start->time,
    .max_speed_kmh = NAN,
    .start_index = span.first, .end_index = span.last,
  };
  for (guint i = span.first; i < span.last; i++)
    trip->distance_m += track->segments[i];
  for (guint i = span.first; i <= span.last; i++)
    if (!isnan (track->speeds[i]))
      trip->max_speed_kmh = isnan (trip->max_speed_kmh) ? track->speeds[i]
                                                        : MAX (trip->max_speed_kmh, track->speeds[i]);
  trip->avg_speed_kmh = kmh (trip->distance_m, trip->duration);
}

static gboolean
is_trip (const Track  *track,
         const WbTrip *trip)
{
  return trip->distance_m >= track->params->min_trip_distance_m &&
         trip->duration >= track->params->min_trip_duration;
}

/* Measures @span and appends it to @trips when it qualifies. */
static gboolean
add_trip_if_qualifies (const Track *track,
                       Range        span,
                       GArray      *trips)
{
  WbTrip trip;

  measure_trip (track, span, &trip);
  if (!is_trip (track, &trip))
    return FALSE;
  g_array_append_val (trips, trip);
  return TRUE;
}

static void
add_stop (const Track *track,
          Range        range,
          GArray      *stops)
{
  const WbTrackPoint *start = &track->points[range.first];
  WbStop stop = {
    .start_time = start->time, .end_time = track->points[range.last].time,
    .lat = start->lat, .lon = start->lon,
    .duration = range_duration (track, range),
    .start_index = range.first, .end_index = range.last,
  };

  g_array_append_val (stops, stop);
}

/* Movement before the first stop or after the last one that is no trip is
 * dropped: the range begins or ends inside it, and it is no stop either.
 * Between two stops it joins them: the vehicle moved across the car park,
 * it did not go anywhere. */
static void
find_trips_and_stops (const Track *track,
                      GArray      *trips,
                      GArray      *stops)
{
  g_autoptr(GArray) candidates = find_stop_candidates (track);
  const Range *candidate = (const Range *) (gpointer) candidates->data;
  Range current;

  if (candidates->len == 0)
    {
      if (track->n_points >= 2)
        add_trip_if_qualifies (track, (Range) { 0, track->n_points - 1 }, trips);
      return;
    }

  if (candidate[0].first > 0)
    add_trip_if_qualifies (track, (Range) { 0, candidate[0].first }, trips);
  current = candidate[0];
  for (guint k = 1; k < candidates->len; k++)
    {
      if (add_trip_if_qualifies (track, (Range) { current.last, candidate[k].first }, trips))
        {
          add_stop (track, current, stops);
          current = candidate[k];
        }
      else
        current.last = candidate[k].last;
    }
  add_stop (track, current, stops);
  if (current.last + 1 < track->n_points)
    add_trip_if_qualifies (track, (Range) { current.last, track->n_points - 1 }, trips);
}

/* ---- summary and analysis ----------------------------------------------- */

static double
max_speed (const Track *track)
{
  double best = NAN;

  for (guint i = 0; i < track->n_points; i++)
    {
      double reported = track->points[i].speed_kmh;
      /* Derived speeds count only when no point reports one. */
      double speed = track->any_reported ? reported : track->speeds[i];

      if (!isnan (speed) && (isnan (best) || speed > best))
        best = speed;
    }
  return best;
}

static void
summarize (const Track     *track,
           const GArray    *trips,
           WbTrackSummary  *summary)
{
  double trips_distance = 0;

  *summary = (WbTrackSummary) { .n_points = track->n_points };
  for (guint i = 0; i + 1 < track->n_points; i++)
    summary->distance_m += track->segments[i];
  if (track->n_points > 0)
    summary->duration = track->points[track->n_points - 1].time - track->points[0].time;
  for (guint k = 0; k < trips->len; k++)
    {
      trips_distance += g_array_index (trips, WbTrip, k).distance_m;
      summary->moving_duration += g_array_index (trips, WbTrip, k).duration;
    }
  summary->max_speed_kmh = max_speed (track);
  summary->avg_speed_kmh = trips->len > 0 ? kmh (trips_distance, summary->moving_duration)
                                          : kmh (summary->distance_m, summary->duration);
}

static void
fill_polyline (WbTrackAnalysis    *analysis,
               const WbTrackPoint *points)
{
  GArray *indices = analysis->polyline_indices;

  g_array_set_size (analysis->polyline, indices->len);
  for (guint k = 0; k < indices->len; k++)
    g_array_index (analysis->polyline, WbTrackPoint, k) = points[g_array_index (indices, guint, k)];
}

WbTrackAnalysis *
wb_track_analyze (const WbTrackPoint  *points,
                  guint                n_points,
                  double               tolerance_m,
                  const WbTrackParams *params)
{
  static const WbTrackParams defaults = WB_TRACK_PARAMS_INIT;
  g_autofree double *segments = NULL;
  g_autofree double *speeds = NULL;
  WbTrackAnalysis *analysis;
  Track track;

  g_return_val_if_fail (points != NULL || n_points == 0, NULL);
  g_return_val_if_fail (tolerance_m >= 0, NULL);
  g_return_val_if_fail (params == NULL || (params->min_trip_distance_m >= 0 &&
                                           params->min_trip_duration >= 0 &&
                                           params->min_parking_duration >= 0 &&
                                           params->moving_speed_kmh >= 0), NULL);

  segments = g_new (double, MAX (n_points, 1));
  speeds = g_new (double, MAX (n_points, 1));
  track = (Track) { points, n_points, params ? params : &defaults, segments, speeds, FALSE };
  measure_segments (&track);
  measure_speeds (&track);

  analysis = g_new0 (WbTrackAnalysis, 1);
  analysis->tolerance_m = tolerance_m;
  analysis->trips = g_array_new (FALSE, FALSE, sizeof (WbTrip));
  analysis->stops = g_array_new (FALSE, FALSE, sizeof (WbStop));
  analysis->polyline = g_array_new (FALSE, FALSE, sizeof (WbTrackPoint));
  analysis->polyline_indices = wb_track_simplify (points, n_points, tolerance_m);
  fill_polyline (analysis, points);
  find_trips_and_stops (&track, analysis->trips, analysis->stops);
  summarize (&track, analysis->trips, &analysis->summary);
  return analysis;
}

void
wb_track_analysis_free (WbTrackAnalysis *analysis)
{
  if (analysis == NULL)
    return;
  g_clear_pointer (&analysis->polyline, g_array_unref);
  g_clear_pointer (&analysis->polyline_indices, g_array_unref);
  g_clear_pointer (&analysis->trips, g_array_unref);
  g_clear_pointer (&analysis->stops, g_array_unref);
  g_free (analysis);
}

/* ---- number and time formatting ------------------------------------------ */

static void
append_unsigned (GString *out,
                 guint64  value,
                 int      min_digits)
{
  char digits[24];
  char *p = digits + sizeof digits;

  do
    {
      *--p = (char) ('0' + value % 10);
      value /= 10;
    }
  while (value > 0 || digits + sizeof digits - p < min_digits);
  g_string_append_len (out, p, digits + sizeof digits - p);
}

/* Like printf's "%.Nf" in the C locale. Built from integers: faster than
 * printf for 10^5 coordinates, and no locale can get in. What has no fixed
 * form (NAN and infinities, magnitudes beyond 10^15) is the JSON writer's:
 * null, or the shortest exact number ("1e+20"). */
static void
append_fixed (GString *out,
              double   value,
              int      decimals)
{
  static const guint64 powers[] = { 1, 10, 100, 1000, 10000, 100000, 1000000, 10000000 };
  double scaled;
  guint64 whole;

  g_assert (decimals >= 0 && decimals < (int) G_N_ELEMENTS (powers));
  scaled = isfinite (value) ? round (fabs (value) * (double) powers[decimals]) : INFINITY;
  if (!(scaled < 1e15))
    {
      wb_json_write_double (out, value);
      return;
    }
  whole = (guint64) scaled;
  if (value < 0 && whole != 0)
    g_string_append_c (out, '-');
  append_unsigned (out, whole / powers[decimals], 1);
  if (decimals == 0)
    return;
  g_string_append_c (out, '.');
  append_unsigned (out, whole % powers[decimals], decimals);
}

/* Seconds, to the millisecond, without trailing zeros. */
static void
append_seconds (GString *out,
                gint64   duration)
{
  gint64 ms = duration / 1000;

  if (ms % 1000 == 0)
    {
      if (ms < 0)
        g_string_append_c (out, '-');
      append_unsigned (out, (guint64) ABS (ms / 1000), 1);
    }
  else
    append_fixed (out, (double) ms / 1000, 3);
}

/* wb_time_format() allocates for every call, which a polyline of 10^5
 * points would feel. The date changes once a day along a track, so the
 * date part comes from wb_time_format() once per day and the time of day
 * is appended from integers. */
typedef struct
{
  gint64 day;
  char   date[32];   /* "2026-11-20T" */
} TimeCache;

#define TIME_CACHE_INIT { G_MININT64, "" }

static gint64
floor_div (gint64 a,
           gint64 b)
{
  return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static void
append_time (GString   *out,
             gint64     us,
             TimeCache *cache)
{
  gint64 ms = floor_div (us, 1000);
  gint64 day = floor_div (ms, MS_PER_DAY);
  gint64 ms_of_day = ms - day * MS_PER_DAY;

  if (day != cache->day)
    {
      g_autofree char *text = wb_time_format (day * MS_PER_DAY * 1000);
      const char *t = strchr (text, 'T');

      g_assert (t != NULL && (gsize) (t - text) + 1 < sizeof cache->date);
      memcpy (cache->date, text, (gsize) (t - text) + 1);
      cache->date[t - text + 1] = '\0';
      cache->day = day;
    }
  g_string_append_c (out, '"');
  g_string_append (out, cache->date);
  append_unsigned (out, (guint64) (ms_of_day / 3600000), 2);
  g_string_append_c (out, ':');
  append_unsigned (out, (guint64) (ms_of_day / 60000 % 60), 2);
  g_string_append_c (out, ':');
  append_unsigned (out, (guint64) (ms_of_day / 1000 % 60), 2);
  g_string_append_c (out, '.');
  append_unsigned (out, (guint64) (ms_of_day % 1000), 3);
  g_string_append (out, "Z\"");
}

static void
append_string_or_null (GString    *out,
                       const char *text)
{
  if (text == NULL)
    g_string_append (out, "null");
  else
    wb_json_write_string (out, text);
}

/* ,"name":value — the formatting helpers for one member. */
static void
append_key (GString    *out,
            const char *name)
{
  /* Not g_string_append_printf(): it allocates, once per member of every
   * polyline point. */
  g_string_append (out, ",\"");
  g_string_append (out, name);
  g_string_append (out, "\":");
}

static void
append_fixed_member (GString    *out,
                     const char *name,
                     double      value,
                     int         decimals)
{
  append_key (out, name);
  append_fixed (out, value, decimals);
}

static void
append_time_member (GString    *out,
                    const char *name,
                    gint64      us,
                    TimeCache  *cache)
{
  append_key (out, name);
  append_time (out, us, cache);
}

static void
append_seconds_member (GString    *out,
                       const char *name,
                       gint64      duration)
{
  append_key (out, name);
  append_seconds (out, duration);
}

/* [lon,lat], the GeoJSON position. */
static void
append_position (GString *out,
                 double   lat,
                 double   lon)
{
  g_string_append_c (out, '[');
  append_fixed (out, lon, 7);
  g_string_append_c (out, ',');
  append_fixed (out, lat, 7);
  g_string_append_c (out, ']');
}

/* ---- JSON --------------------------------------------------------------- */

/* The members both renderers share, after a first member already written. */
static void
append_summary_members (GString               *out,
                        const WbTrackAnalysis *analysis,
                        gint64                 from,
                        gint64                 to,
                        TimeCache             *cache)
{
  const WbTrackSummary *summary = &analysis->summary;

  append_time_member (out, "from", from, cache);
  append_time_member (out, "to", to, cache);
  append_fixed_member (out, "tolerance", analysis->tolerance_m, 1);
  append_key (out, "points");
  wb_json_write_int (out, summary->n_points);
  append_fixed_member (out, "distance", summary->distance_m, 1);
  append_fixed_member (out, "maxSpeed", summary->max_speed_kmh, 1);
  append_fixed_member (out, "avgSpeed", summary->avg_speed_kmh, 1);
  append_seconds_member (out, "duration", summary->duration);
  append_seconds_member (out, "movingDuration", summary->moving_duration);
}

static void
append_polyline_json (GString      *out,
                      const GArray *polyline,
                      TimeCache    *cache)
{
  g_string_append (out, ",\"polyline\":[");
  for (guint k = 0; k < polyline->len; k++)
    {
      const WbTrackPoint *point = &g_array_index (polyline, WbTrackPoint, k);

      g_string_append (out, k > 0 ? ",{\"lat\":" : "{\"lat\":");
      append_fixed (out, point->lat, 7);
      append_fixed_member (out, "lon", point->lon, 7);
      append_time_member (out, "time", point->time, cache);
      append_fixed_member (out, "speed", point->speed_kmh, 1);
      g_string_append_c (out, '}');
    }
  g_string_append_c (out, ']');
}

static void
append_trip_end (GString    *out,
                 const char *name,
                 gint64      time,
                 double      lat,
                 double      lon,
                 TimeCache  *cache)
{
  g_string_append_c (out, '"');
  g_string_append (out, name);
  g_string_append (out, "\":{\"time\":");
  append_time (out, time, cache);
  append_fixed_member (out, "lat", lat, 7);
  append_fixed_member (out, "lon", lon, 7);
  g_string_append_c (out, '}');
}

/* "distance"…"avgSpeed" of a trip, after a first member already written. */
static void
append_trip_figures (GString      *out,
                     const WbTrip *trip)
{
  append_fixed_member (out, "distance", trip->distance_m, 1);
  append_seconds_member (out, "duration", trip->duration);
  append_fixed_member (out, "maxSpeed", trip->max_speed_kmh, 1);
  append_fixed_member (out, "avgSpeed", trip->avg_speed_kmh, 1);
}

static void
append_trips_json (GString      *out,
                   const GArray *trips,
                   TimeCache    *cache)
{
  g_string_append (out, ",\"trips\":[");
  for (guint k = 0; k < trips->len; k++)
    {
      const WbTrip *trip = &g_array_index (trips, WbTrip, k);

      g_string_append (out, k > 0 ? ",{" : "{");
      append_trip_end (out, "start", trip->start_time, trip->start_lat, trip->start_lon, cache);
      g_string_append_c (out, ',');
      append_trip_end (out, "end", trip->end_time, trip->end_lat, trip->end_lon, cache);
      append_trip_figures (out, trip);
      g_string_append_c (out, '}');
    }
  g_string_append_c (out, ']');
}

static void
append_stops_json (GString      *out,
                   const GArray *stops,
                   TimeCache    *cache)
{
  g_string_append (out, ",\"stops\":[");
  for (guint k = 0; k < stops->len; k++)
    {
      const WbStop *stop = &g_array_index (stops, WbStop, k);

      g_string_append (out, k > 0 ? ",{\"start\":" : "{\"start\":");
      append_time (out, stop->start_time, cache);
      append_time_member (out, "end", stop->end_time, cache);
      append_fixed_member (out, "lat", stop->lat, 7);
      append_fixed_member (out, "lon", stop->lon, 7);
      append_seconds_member (out, "duration", stop->duration);
      g_string_append_c (out, '}');
    }
  g_string_append_c (out, ']');
}

char *
wb_track_analysis_to_json (const WbTrackAnalysis *analysis,
                           const char            *vehicle_id,
                           gint64                 from,
                           gint64                 to)
{
  TimeCache cache = TIME_CACHE_INIT;
  GString *out;

  g_return_val_if_fail (analysis != NULL, NULL);
  g_return_val_if_fail (vehicle_id == NULL || g_utf8_validate (vehicle_id, -1, NULL), NULL);

  /* Some 90 bytes per polyline point, so the string grows once at most. */
  out = g_string_sized_new (512 + (gsize) analysis->polyline->len * 90 +
                            (gsize) (analysis->trips->len + analysis->stops->len) * 200);
  g_string_append (out, "{\"vehicleId\":");
  append_string_or_null (out, vehicle_id);
  append_summary_members (out, analysis, from, to, &cache);
  append_polyline_json (out, analysis->polyline, &cache);
  append_trips_json (out, analysis->trips, &cache);
  append_stops_json (out, analysis->stops, &cache);
  g_string_append_c (out, '}');
  return g_string_free (out, FALSE);
}

/* ---- GeoJSON ------------------------------------------------------------- */

static void
append_track_feature (GString               *out,
                      const WbTrackAnalysis *analysis,
                      const char            *vehicle_id,
                      gint64                 from,
                      gint64                 to,
                      TimeCache             *cache)
{
  const GArray *polyline = analysis->polyline;

  /* RFC 7946 wants two positions in a LineString; fewer is no geometry. */
  if (polyline->len < 2)
    g_string_append (out, "{\"type\":\"Feature\",\"geometry\":null");
  else
    {
      g_string_append (out, "{\"type\":\"Feature\",\"geometry\":{\"type\":\"LineString\",\"coordinates\":[");
      for (guint k = 0; k < polyline->len; k++)
        {
          const WbTrackPoint *point = &g_array_index (polyline, WbTrackPoint, k);

          if (k > 0)
            g_string_append_c (out, ',');
          append_position (out, point->lat, point->lon);
        }
      g_string_append (out, "]}");
    }
  g_string_append (out, ",\"properties\":{\"kind\":\"track\",\"vehicleId\":");
  append_string_or_null (out, vehicle_id);
  append_summary_members (out, analysis, from, to, cache);
  g_string_append (out, ",\"times\":[");
  for (guint k = 0; k < polyline->len; k++)
    {
      if (k > 0)
        g_string_append_c (out, ',');
      append_time (out, g_array_index (polyline, WbTrackPoint, k).time, cache);
    }
  g_string_append (out, "]}}");
}

static void
append_stop_feature (GString      *out,
                     const WbStop *stop,
                     TimeCache    *cache)
{
  g_string_append (out, ",{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":");
  append_position (out, stop->lat, stop->lon);
  g_string_append (out, "},\"properties\":{\"kind\":\"stop\"");
  append_time_member (out, "start", stop->start_time, cache);
  append_time_member (out, "end", stop->end_time, cache);
  append_seconds_member (out, "duration", stop->duration);
  g_string_append (out, "}}");
}

/* The first polyline position whose point comes after input index @index. */
static guint
polyline_position_after (const GArray *indices,
                         guint         index)
{
  guint low = 0, high = indices->len;

  while (low < high)
    {
      guint middle = low + (high - low) / 2;

      if (g_array_index (indices, guint, middle) <= index)
        low = middle + 1;
      else
        high = middle;
    }
  return low;
}

/* The trip's own ends, with the simplified points between them. */
static void
append_trip_feature (GString               *out,
                     const WbTrackAnalysis *analysis,
                     const WbTrip          *trip,
                     TimeCache             *cache)
{
  const GArray *indices = analysis->polyline_indices;

  g_string_append (out, ",{\"type\":\"Feature\",\"geometry\":{\"type\":\"LineString\",\"coordinates\":[");
  append_position (out, trip->start_lat, trip->start_lon);
  for (guint k = polyline_position_after (indices, trip->start_index);
       k < indices->len && g_array_index (indices, guint, k) < trip->end_index; k++)
    {
      const WbTrackPoint *point = &g_array_index (analysis->polyline, WbTrackPoint, k);

      g_string_append_c (out, ',');
      append_position (out, point->lat, point->lon);
    }
  g_string_append_c (out, ',');
  append_position (out, trip->end_lat, trip->end_lon);
  g_string_append (out, "]},\"properties\":{\"kind\":\"trip\"");
  append_time_member (out, "start", trip->start_time, cache);
  append_time_member (out, "end", trip->end_time, cache);
  append_trip_figures (out, trip);
  g_string_append (out, "}}");
}

char *
wb_track_analysis_to_geojson (const WbTrackAnalysis *analysis,
                              const char            *vehicle_id,
                              gint64                 from,
                              gint64                 to)
{
  TimeCache cache = TIME_CACHE_INIT;
  GString *out;

  g_return_val_if_fail (analysis != NULL, NULL);
  g_return_val_if_fail (vehicle_id == NULL || g_utf8_validate (vehicle_id, -1, NULL), NULL);

  out = g_string_sized_new (512 + (gsize) analysis->polyline->len * 60 +
                            (gsize) (analysis->trips->len + analysis->stops->len) * 300);
  g_string_append (out, "{\"type\":\"FeatureCollection\",\"features\":[");
  append_track_feature (out, analysis, vehicle_id, from, to, &cache);
  for (guint k = 0; k < analysis->stops->len; k++)
    append_stop_feature (out, &g_array_index (analysis->stops, WbStop, k), &cache);
  for (guint k = 0; k < analysis->trips->len; k++)
    append_trip_feature (out, analysis, &g_array_index (analysis->trips, WbTrip, k), &cache);
  g_string_append (out, "]}");
  return g_string_free (out, FALSE);
}
