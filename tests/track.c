// SPDX-License-Identifier: GPL-3.0-or-later
/* Track analysis: distances, Douglas–Peucker, trips and stops, the summary
 * and the two renderings, on synthetic tracks whose answers are known by
 * construction. No database: wb_track_analyze() takes an array. */

#include "config.h"

#include <json-glib/json-glib.h>
#include <locale.h>
#include <math.h>
#include <string.h>

#include "wb-json.h"
#include "wb-time.h"
#include "wb-track.h"

#define EARTH_RADIUS_M 6371008.8
#define METRES_PER_DEGREE (EARTH_RADIUS_M * G_PI / 180.0)
#define SECOND_US G_USEC_PER_SEC
#define MINUTE_US (G_GINT64_CONSTANT (60) * G_USEC_PER_SEC)
#define HOUR_US (60 * MINUTE_US)
#define REPORT_US (10 * SECOND_US)

/* 2026-11-20T06:00:00Z */
#define DAY_START_US (G_GINT64_CONSTANT (1795154400) * G_USEC_PER_SEC)
#define HOME_LAT 53.9
#define HOME_LON 27.56

/* ---- building tracks ------------------------------------------------------ */

typedef struct
{
  GArray  *points;      /* WbTrackPoint */
  gint64   time;        /* of the last point */
  double   lat;
  double   lon;
  gboolean with_speed;  /* report speed_kmh, else NAN */
  int      ignition;
} TrackBuilder;

static void
builder_init (TrackBuilder *builder,
              gboolean      with_speed)
{
  *builder = (TrackBuilder) {
    .points = g_array_new (FALSE, FALSE, sizeof (WbTrackPoint)),
    .time = DAY_START_US, .lat = HOME_LAT, .lon = HOME_LON,
    .with_speed = with_speed, .ignition = -1,
  };
}

static void
builder_add (TrackBuilder *builder,
             double        speed_kmh)
{
  WbTrackPoint point = {
    builder->time, builder->lat, builder->lon,
    builder->with_speed ? speed_kmh : NAN, builder->ignition,
  };

  g_array_append_val (builder->points, point);
}

/* The first point, standing. */
static void
builder_start (TrackBuilder *builder)
{
  builder_add (builder, 0);
}

/* Standing still for @duration, a report every 10 s, ending with a point
 * at the end of it. */
static void
builder_park (TrackBuilder *builder,
              gint64        duration)
{
  for (gint64 t = REPORT_US; t <= duration; t += REPORT_US)
    {
      builder->time += REPORT_US;
      builder_add (builder, 0);
    }
}

/* Due north at a constant speed, a report every 10 s, arriving at the
 * last point (which stands: speed 0, the start of what follows). */
static void
builder_drive (TrackBuilder *builder,
               double        metres,
               gint64        duration)
{
  double speed = metres / ((double) duration / SECOND_US) * 3.6;
  double step = metres / METRES_PER_DEGREE * ((double) REPORT_US / (double) duration);

  for (gint64 t = REPORT_US; t <= duration; t += REPORT_US)
    {
      builder->time += REPORT_US;
      builder->lat += step;
      builder_add (builder, t < duration ? speed : 0);
    }
}

static WbTrackPoint *
builder_points (TrackBuilder *builder,
                guint        *out_n)
{
  *out_n = builder->points->len;
  return (WbTrackPoint *) (gpointer) g_array_free (builder->points, FALSE);
}

/* Parked 1 h, 10 km in 15 min, parked 20 min, a 200 m hop in 2 min (no
 * trip), parked 30 min, 5 km in 6 min. */
static WbTrackPoint *
make_day (gboolean  with_speed,
          guint    *out_n)
{
  TrackBuilder builder;

  builder_init (&builder, with_speed);
  builder_start (&builder);
  builder_park (&builder, HOUR_US);
  builder_drive (&builder, 10000, 15 * MINUTE_US);
  builder_park (&builder, 20 * MINUTE_US);
  builder_drive (&builder, 200, 2 * MINUTE_US);
  builder_park (&builder, 30 * MINUTE_US);
  builder_drive (&builder, 5000, 6 * MINUTE_US);
  return builder_points (&builder, out_n);
}

#define T(minutes) (DAY_START_US + (gint64) ((minutes) * MINUTE_US))

static void
assert_trip (const WbTrip *trip,
             gint64        start,
             gint64        end,
             double        metres)
{
  g_assert_cmpint (trip->start_time, ==, start);
  g_assert_cmpint (trip->end_time, ==, end);
  g_assert_cmpint (trip->duration, ==, end - start);
  g_assert_cmpfloat_with_epsilon (trip->distance_m, metres, 1.0);
}

static void
assert_stop (const WbStop *stop,
             gint64        start,
             gint64        end)
{
  g_assert_cmpint (stop->start_time, ==, start);
  g_assert_cmpint (stop->end_time, ==, end);
  g_assert_cmpint (stop->duration, ==, end - start);
}

static WbTrackAnalysis *
analyze (const WbTrackPoint *points,
         guint               n,
         double              tolerance_m)
{
  return wb_track_analyze (points, n, tolerance_m, NULL);
}

/* ---- distance ------------------------------------------------------------- */

static void
test_distance_known (void)
{
  /* Minsk to Brest, city centres: some 326 km. */
  g_assert_cmpfloat_with_epsilon (wb_geo_distance_m (53.9045, 27.5615, 52.0976, 23.7341),
                                  326000, 1000);
  /* A degree of latitude anywhere, a degree of longitude on the equator. */
  g_assert_cmpfloat_with_epsilon (wb_geo_distance_m (10, 20, 11, 20), 111195.08, 0.5);
  g_assert_cmpfloat_with_epsilon (wb_geo_distance_m (0, 0, 0, 1), 111195.08, 0.5);
  /* Half as much at 60°N. */
  g_assert_cmpfloat_with_epsilon (wb_geo_distance_m (60, 0, 60, 1), 55597.5, 30);
  /* Across the antimeridian, the short way. */
  g_assert_cmpfloat_with_epsilon (wb_geo_distance_m (0, 179.5, 0, -179.5), 111195.08, 0.5);
  g_assert_cmpfloat (wb_geo_distance_m (HOME_LAT, HOME_LON, HOME_LAT, HOME_LON), ==, 0);
  /* Symmetric. */
  g_assert_cmpfloat_with_epsilon (wb_geo_distance_m (52.0976, 23.7341, 53.9045, 27.5615),
                                  wb_geo_distance_m (53.9045, 27.5615, 52.0976, 23.7341), 1e-6);
}

/* ---- Douglas–Peucker ------------------------------------------------------ */

static WbTrackPoint
point_at (guint  i,
          double lat,
          double lon)
{
  return (WbTrackPoint) { DAY_START_US + i * REPORT_US, lat, lon, NAN, -1 };
}

/* The largest distance, in metres, from an input point to the simplified
 * segment that stands in for it: Douglas–Peucker's promise is that it is
 * within the tolerance. Measured on a flat projection at each segment. */
static double
max_deviation (const WbTrackPoint *points,
               const GArray       *kept)
{
  double worst = 0;

  for (guint k = 0; k + 1 < kept->len; k++)
    {
      const WbTrackPoint *a = &points[g_array_index (kept, guint, k)];
      const WbTrackPoint *b = &points[g_array_index (kept, guint, k + 1)];
      double scale_x = METRES_PER_DEGREE * cos ((a->lat + b->lat) / 2 * G_PI / 180);
      double dx = (b->lon - a->lon) * scale_x, dy = (b->lat - a->lat) * METRES_PER_DEGREE;
      double length2 = dx * dx + dy * dy;

      for (guint i = g_array_index (kept, guint, k) + 1; i < g_array_index (kept, guint, k + 1); i++)
        {
          double px = (points[i].lon - a->lon) * scale_x;
          double py = (points[i].lat - a->lat) * METRES_PER_DEGREE;
          double t = length2 > 0 ? CLAMP ((px * dx + py * dy) / length2, 0, 1) : 0;

          worst = MAX (worst, hypot (px - t * dx, py - t * dy));
        }
    }
  return worst;
}

static void
assert_indices (const GArray *kept,
                const guint  *expected,
                guint         n_expected)
{
  g_assert_cmpmem (kept->data, kept->len * sizeof (guint), expected, n_expected * sizeof (guint));
}

static void
test_simplify_straight_line (void)
{
  g_autofree WbTrackPoint *points = g_new (WbTrackPoint, 1000);
  g_autoptr(GArray) kept = NULL;
  static const guint ends[] = { 0, 999 };

  /* Diagonal, some 14 km: straight in the projection. */
  for (guint i = 0; i < 1000; i++)
    points[i] = point_at (i, HOME_LAT + i * 1e-4, HOME_LON + i * 1e-4);
  kept = wb_track_simplify (points, 1000, 1.0);
  assert_indices (kept, ends, G_N_ELEMENTS (ends));
}

/* A closed 1 km square, 100 points a side: the corners stay, nothing else. */
static void
test_simplify_square (void)
{
  g_autofree WbTrackPoint *points = g_new (WbTrackPoint, 401);
  g_autoptr(GArray) kept = NULL;
  static const guint corners[] = { 0, 100, 200, 300, 400 };
  double side_lat = 1000 / METRES_PER_DEGREE;
  double side_lon = side_lat / cos (HOME_LAT * G_PI / 180);

  for (guint i = 0; i <= 400; i++)
    {
      double f = (i % 100) / 100.0;
      double lat = HOME_LAT, lon = HOME_LON;

      switch (i / 100)
        {
        case 0: lon += f * side_lon; break;
        case 1: lon += side_lon; lat += f * side_lat; break;
        case 2: lon += (1 - f) * side_lon; lat += side_lat; break;
        case 3: lat += (1 - f) * side_lat; break;
        default: break;
        }
      points[i] = point_at (i, lat, lon);
    }
  kept = wb_track_simplify (points, 401, 5.0);
  assert_indices (kept, corners, G_N_ELEMENTS (corners));
}

static void
test_simplify_tolerance_zero (void)
{
  g_autofree WbTrackPoint *points = g_new (WbTrackPoint, 50);
  g_autoptr(GArray) kept = NULL;

  /* Collinear and repeated points too: 0 means keep everything. */
  for (guint i = 0; i < 50; i++)
    points[i] = point_at (i, HOME_LAT + (i / 2) * 1e-5, HOME_LON);
  kept = wb_track_simplify (points, 50, 0);
  g_assert_cmpuint (kept->len, ==, 50);
  for (guint i = 0; i < 50; i++)
    g_assert_cmpuint (g_array_index (kept, guint, i), ==, i);
}

/* Three points, the middle one @offset_m off the line between the others:
 * how many stay at a tolerance of 10 m. */
static guint
kept_with_offset (double offset_m)
{
  WbTrackPoint points[3] = {
    point_at (0, 0, 0),
    point_at (1, offset_m / METRES_PER_DEGREE, 0.005),
    point_at (2, 0, 0.01),
  };
  g_autoptr(GArray) kept = wb_track_simplify (points, 3, 10.0);

  return kept->len;
}

/* The contract: a point must lie farther than the tolerance to stay; one
 * at it goes. Floating point decides the last bit, so "at" is checked to
 * the millimetre either side. */
static void
test_simplify_at_tolerance (void)
{
  g_assert_cmpuint (kept_with_offset (9.999), ==, 2);
  g_assert_cmpuint (kept_with_offset (10.001), ==, 3);
  g_assert_cmpuint (kept_with_offset (-10.001), ==, 3);
  g_assert_cmpuint (kept_with_offset (0), ==, 2);
}

/* Short input, and the ends of a segment are not inside it: a point beyond
 * the end of the chord is measured to that end (clamped), not to the line. */
static void
test_simplify_small_and_clamped (void)
{
  WbTrackPoint points[3] = {
    point_at (0, 0, 0),
    point_at (1, 0, 0.002),   /* ~222 m east, beyond the end, on the line */
    point_at (2, 0, 0.001),
  };
  g_autoptr(GArray) none = wb_track_simplify (NULL, 0, 10);
  g_autoptr(GArray) one = wb_track_simplify (points, 1, 10);
  g_autoptr(GArray) two = wb_track_simplify (points, 2, 10);
  g_autoptr(GArray) clamped = wb_track_simplify (points, 3, 10);

  g_assert_cmpuint (none->len, ==, 0);
  g_assert_cmpuint (one->len, ==, 1);
  g_assert_cmpuint (two->len, ==, 2);
  g_assert_cmpuint (clamped->len, ==, 3);
}

#define LARGE_N 260000

static double
elapsed_ms (gint64 since)
{
  return (g_get_monotonic_time () - since) / 1000.0;
}

static void
test_simplify_large (void)
{
  g_autofree WbTrackPoint *points = g_new (WbTrackPoint, LARGE_N);
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  GArray *kept;
  gint64 start;
  double lat, lon;

  /* A straight line: one scan, two points. */
  for (guint i = 0; i < LARGE_N; i++)
    points[i] = point_at (i, HOME_LAT + i * 1e-6, HOME_LON + i * 2e-6);
  start = g_get_monotonic_time ();
  kept = wb_track_simplify (points, LARGE_N, 10);
  g_test_message ("straight line, %d points: %u kept in %.1f ms", LARGE_N, kept->len, elapsed_ms (start));
  g_assert_cmpuint (kept->len, ==, 2);
  g_array_unref (kept);

  /* A spiral of 100 turns out to 5 km: splits keep peeling a turn off one end. */
  for (guint i = 0; i < LARGE_N; i++)
    {
      double turn = (double) i / LARGE_N * 100;
      double radius = 50 + turn * 50;

      points[i] = point_at (i, HOME_LAT + radius * sin (turn * 2 * G_PI) / METRES_PER_DEGREE,
                            HOME_LON + radius * cos (turn * 2 * G_PI) / METRES_PER_DEGREE / cos (HOME_LAT * G_PI / 180));
    }
  start = g_get_monotonic_time ();
  kept = wb_track_simplify (points, LARGE_N, 10);
  g_test_message ("spiral, %d points: %u kept in %.1f ms, deviation %.2f m",
                  LARGE_N, kept->len, elapsed_ms (start), max_deviation (points, kept));
  g_assert_cmpuint (kept->len, >, 100 * 8);
  g_assert_cmpuint (kept->len, <, LARGE_N / 10);
  g_assert_cmpfloat (max_deviation (points, kept), <=, 10.1);
  g_array_unref (kept);

  /* A noisy random walk: GPS jitter of a few metres around 10 s steps. */
  lat = HOME_LAT, lon = HOME_LON;
  for (guint i = 0; i < LARGE_N; i++)
    {
      lat += g_rand_double_range (rand, -1, 1) * 150 / METRES_PER_DEGREE;
      lon += g_rand_double_range (rand, -1, 1) * 250 / METRES_PER_DEGREE;
      points[i] = point_at (i, lat, lon);
    }
  start = g_get_monotonic_time ();
  kept = wb_track_simplify (points, LARGE_N, 10);
  g_test_message ("random walk, %d points: %u kept in %.1f ms, deviation %.2f m",
                  LARGE_N, kept->len, elapsed_ms (start), max_deviation (points, kept));
  g_assert_cmpfloat (max_deviation (points, kept), <=, 10.1);
  g_assert_cmpuint (g_array_index (kept, guint, 0), ==, 0);
  g_assert_cmpuint (g_array_index (kept, guint, kept->len - 1), ==, LARGE_N - 1);
  g_array_unref (kept);
}

/* ---- trips and stops ------------------------------------------------------ */

static void
assert_day (const WbTrackAnalysis *analysis)
{
  const WbTrip *trips = (const WbTrip *) (gpointer) analysis->trips->data;
  const WbStop *stops = (const WbStop *) (gpointer) analysis->stops->data;

  g_assert_cmpuint (analysis->trips->len, ==, 2);
  g_assert_cmpuint (analysis->stops->len, ==, 2);
  assert_stop (&stops[0], T (0), T (60));
  assert_trip (&trips[0], T (60), T (75), 10000);
  /* The 200 m hop is no trip: the two stops around it are one. */
  assert_stop (&stops[1], T (75), T (127));
  assert_trip (&trips[1], T (127), T (133), 5000);

  g_assert_cmpfloat_with_epsilon (trips[0].avg_speed_kmh, 40, 0.01);
  g_assert_cmpfloat_with_epsilon (trips[1].avg_speed_kmh, 50, 0.01);
  g_assert_cmpfloat_with_epsilon (trips[0].max_speed_kmh, 40, 0.01);
  g_assert_cmpfloat_with_epsilon (trips[1].max_speed_kmh, 50, 0.01);
  g_assert_cmpfloat_with_epsilon (trips[0].start_lat, HOME_LAT, 1e-9);
  g_assert_cmpfloat_with_epsilon (trips[0].end_lat, HOME_LAT + 10000 / METRES_PER_DEGREE, 1e-6);
  g_assert_cmpfloat_with_epsilon (stops[1].lat, trips[0].end_lat, 1e-9);
  g_assert_cmpfloat_with_epsilon (stops[1].lon, HOME_LON, 1e-9);
  g_assert_cmpuint (trips[0].end_index, ==, stops[1].start_index);
  g_assert_cmpuint (stops[1].end_index, ==, trips[1].start_index);
}

static void
test_trips_day (void)
{
  guint n;
  g_autofree WbTrackPoint *points = make_day (TRUE, &n);
  g_autoptr(WbTrackAnalysis) analysis = analyze (points, n, 10);

  assert_day (analysis);
}

/* No speed reported anywhere: derived from distance and time, the same
 * trips and stops to the point. */
static void
test_trips_unknown_speed (void)
{
  guint n;
  g_autofree WbTrackPoint *points = make_day (FALSE, &n);
  g_autoptr(WbTrackAnalysis) analysis = analyze (points, n, 10);

  assert_day (analysis);
}

/* The hop's distance and duration both count: 1 km in 4 min is far
 * enough but too brief, so it joins the stops around it too. */
static void
test_trips_too_brief (void)
{
  TrackBuilder builder;
  guint n;
  g_autofree WbTrackPoint *points = NULL;
  g_autoptr(WbTrackAnalysis) analysis = NULL;
  WbTrackParams params;

  builder_init (&builder, TRUE);
  builder_start (&builder);
  builder_park (&builder, 10 * MINUTE_US);
  builder_drive (&builder, 1000, 4 * MINUTE_US);
  builder_park (&builder, 10 * MINUTE_US);
  points = builder_points (&builder, &n);

  analysis = analyze (points, n, 10);
  g_assert_cmpuint (analysis->trips->len, ==, 0);
  g_assert_cmpuint (analysis->stops->len, ==, 1);
  assert_stop (&g_array_index (analysis->stops, WbStop, 0), T (0), T (24));
  g_clear_pointer (&analysis, wb_track_analysis_free);

  /* With a 3 min minimum it is a trip. */
  wb_track_params_init (&params);
  params.min_trip_duration = 3 * MINUTE_US;
  analysis = wb_track_analyze (points, n, 10, &params);
  g_assert_cmpuint (analysis->trips->len, ==, 1);
  g_assert_cmpuint (analysis->stops->len, ==, 2);
  assert_trip (&g_array_index (analysis->trips, WbTrip, 0), T (10), T (14), 1000);
}

/* Drive, fall silent for 2 h where it parked (the tracker sleeps), drive
 * on: the silence is a stop, though no point in it says "stopped". */
static void
test_trips_reporting_gap (void)
{
  TrackBuilder builder;
  guint n;
  g_autofree WbTrackPoint *points = NULL;
  g_autoptr(WbTrackAnalysis) analysis = NULL;
  const WbStop *stop;

  builder_init (&builder, TRUE);
  builder_start (&builder);
  builder_drive (&builder, 5000, 10 * MINUTE_US);
  g_array_index (builder.points, WbTrackPoint, builder.points->len - 1).speed_kmh = 30;
  builder.time += 2 * HOUR_US;
  builder.lat += 50 / METRES_PER_DEGREE;
  builder_add (&builder, 30);
  builder_drive (&builder, 5000, 10 * MINUTE_US);
  points = builder_points (&builder, &n);

  analysis = analyze (points, n, 10);
  g_assert_cmpuint (analysis->stops->len, ==, 1);
  stop = &g_array_index (analysis->stops, WbStop, 0);
  assert_stop (stop, T (10), T (130));
  g_assert_cmpuint (stop->end_index, ==, stop->start_index + 1);
  g_assert_cmpuint (analysis->trips->len, ==, 2);
  assert_trip (&g_array_index (analysis->trips, WbTrip, 0), T (0), T (10), 5000);
  /* The 50 m crept during the silence belong to the stop. */
  assert_trip (&g_array_index (analysis->trips, WbTrip, 1), T (130), T (140), 5000);
  g_assert_cmpfloat_with_epsilon (analysis->summary.distance_m, 10050, 1);
}

/* A silence between points far apart is a lost signal on the road
 * (a tunnel), not a stop. */
static void
test_trips_gap_while_driving (void)
{
  TrackBuilder builder;
  guint n;
  g_autofree WbTrackPoint *points = NULL;
  g_autoptr(WbTrackAnalysis) analysis = NULL;

  builder_init (&builder, TRUE);
  builder_start (&builder);
  builder_drive (&builder, 5000, 10 * MINUTE_US);
  g_array_index (builder.points, WbTrackPoint, builder.points->len - 1).speed_kmh = 30;
  builder.time += 10 * MINUTE_US;
  builder.lat += 5000 / METRES_PER_DEGREE;
  builder_add (&builder, 30);
  builder_drive (&builder, 5000, 10 * MINUTE_US);
  points = builder_points (&builder, &n);

  analysis = analyze (points, n, 10);
  g_assert_cmpuint (analysis->stops->len, ==, 0);
  g_assert_cmpuint (analysis->trips->len, ==, 1);
  assert_trip (&g_array_index (analysis->trips, WbTrip, 0), T (0), T (30), 15000);
}

/* Parked with the ignition off while GPS drift reports 8 km/h: stopped.
 * The same drift with the ignition unknown is movement. */
static void
test_trips_ignition_off (void)
{
  TrackBuilder builder;
  guint n, middle_first, middle_last;
  g_autofree WbTrackPoint *points = NULL;
  g_autoptr(WbTrackAnalysis) analysis = NULL;

  builder_init (&builder, TRUE);
  builder_start (&builder);
  builder_drive (&builder, 5000, 10 * MINUTE_US);
  middle_first = builder.points->len;
  for (guint i = 0; i < 120; i++)
    {
      builder.time += REPORT_US;
      builder.lon += (i % 2 ? 1 : -1) * 3 / METRES_PER_DEGREE;
      builder_add (&builder, 8);
    }
  middle_last = builder.points->len - 1;
  builder_drive (&builder, 5000, 10 * MINUTE_US);
  points = builder_points (&builder, &n);

  analysis = analyze (points, n, 10);
  g_assert_cmpuint (analysis->stops->len, ==, 0);
  g_assert_cmpuint (analysis->trips->len, ==, 1);
  g_clear_pointer (&analysis, wb_track_analysis_free);

  for (guint i = middle_first; i <= middle_last; i++)
    points[i].ignition = 0;
  analysis = analyze (points, n, 10);
  g_assert_cmpuint (analysis->stops->len, ==, 1);
  g_assert_cmpuint (analysis->trips->len, ==, 2);
  /* From the arrival (speed 0) to the last point with the ignition off. */
  g_assert_cmpuint (g_array_index (analysis->stops, WbStop, 0).start_index, ==, middle_first - 1);
  g_assert_cmpuint (g_array_index (analysis->stops, WbStop, 0).end_index, ==, middle_last);
}

/* Standing still but not for long enough is no stop: a 4 min wait at
 * 300 s minimum parking stays inside the trip. */
static void
test_trips_short_wait (void)
{
  TrackBuilder builder;
  guint n;
  g_autofree WbTrackPoint *points = NULL;
  g_autoptr(WbTrackAnalysis) analysis = NULL;

  builder_init (&builder, TRUE);
  builder_start (&builder);
  builder_drive (&builder, 5000, 10 * MINUTE_US);
  builder_park (&builder, 4 * MINUTE_US);
  builder_drive (&builder, 5000, 10 * MINUTE_US);
  points = builder_points (&builder, &n);

  analysis = analyze (points, n, 10);
  g_assert_cmpuint (analysis->stops->len, ==, 0);
  g_assert_cmpuint (analysis->trips->len, ==, 1);
  assert_trip (&g_array_index (analysis->trips, WbTrip, 0), T (0), T (24), 10000);
}

/* ---- summary -------------------------------------------------------------- */

static void
test_summary (void)
{
  guint n;
  g_autofree WbTrackPoint *points = make_day (TRUE, &n);
  g_autofree WbTrackPoint *unreported = make_day (FALSE, &n);
  g_autoptr(WbTrackAnalysis) analysis = analyze (points, n, 10);
  g_autoptr(WbTrackAnalysis) derived = analyze (unreported, n, 10);
  const WbTrackSummary *summary = &analysis->summary;

  g_assert_cmpuint (summary->n_points, ==, n);
  g_assert_cmpfloat_with_epsilon (summary->distance_m, 15200, 1);
  g_assert_cmpint (summary->duration, ==, T (133) - T (0));
  g_assert_cmpint (summary->moving_duration, ==, 21 * MINUTE_US);
  /* Reported speeds: the 50 km/h of the second drive. */
  g_assert_cmpfloat_with_epsilon (summary->max_speed_kmh, 50, 1e-9);
  /* The trips' 15 km over their 21 min, not the hop. */
  g_assert_cmpfloat_with_epsilon (summary->avg_speed_kmh, 15000 / (21 * 60.0) * 3.6, 0.01);

  /* Nothing reported: derived from distance and time. */
  g_assert_cmpfloat_with_epsilon (derived->summary.max_speed_kmh, 50, 0.01);
  g_assert_cmpfloat_with_epsilon (derived->summary.avg_speed_kmh, summary->avg_speed_kmh, 0.01);
}

/* A range without trips averages over its whole span. */
static void
test_summary_no_trips (void)
{
  TrackBuilder builder;
  guint n;
  g_autofree WbTrackPoint *points = NULL;
  g_autoptr(WbTrackAnalysis) analysis = NULL;

  builder_init (&builder, TRUE);
  builder_start (&builder);
  builder_park (&builder, 10 * MINUTE_US);
  builder_drive (&builder, 300, 2 * MINUTE_US);
  points = builder_points (&builder, &n);

  analysis = analyze (points, n, 10);
  g_assert_cmpuint (analysis->trips->len, ==, 0);
  g_assert_cmpuint (analysis->stops->len, ==, 1);
  g_assert_cmpfloat_with_epsilon (analysis->summary.avg_speed_kmh, 300 / (12 * 60.0) * 3.6, 0.01);
}

/* Reported speeds win: one point without a speed, whose derived speed
 * would be far higher, does not become the maximum. */
static void
test_summary_reported_max (void)
{
  WbTrackPoint points[4] = {
    { T (0), HOME_LAT, HOME_LON, 30, 1 },
    { T (0) + REPORT_US, HOME_LAT + 80 / METRES_PER_DEGREE, HOME_LON, 30, 1 },
    { T (0) + 2 * REPORT_US, HOME_LAT + 2080 / METRES_PER_DEGREE, HOME_LON, NAN, 1 },
    { T (0) + 3 * REPORT_US, HOME_LAT + 4080 / METRES_PER_DEGREE, HOME_LON, 30, 1 },
  };
  g_autoptr(WbTrackAnalysis) analysis = analyze (points, 4, 10);

  g_assert_cmpfloat (analysis->summary.max_speed_kmh, ==, 30);
  points[0].speed_kmh = points[1].speed_kmh = points[3].speed_kmh = NAN;
  g_clear_pointer (&analysis, wb_track_analysis_free);
  analysis = analyze (points, 4, 10);
  g_assert_cmpfloat_with_epsilon (analysis->summary.max_speed_kmh, 2000 / 10.0 * 3.6, 0.1);
}

static void
test_empty_and_single (void)
{
  WbTrackPoint point = point_at (0, HOME_LAT, HOME_LON);
  g_autoptr(WbTrackAnalysis) empty = analyze (NULL, 0, 10);
  g_autoptr(WbTrackAnalysis) single = analyze (&point, 1, 10);
  g_autofree char *empty_json = wb_track_analysis_to_json (empty, "v1", T (0), T (60));
  g_autofree char *single_geojson = wb_track_analysis_to_geojson (single, "v1", T (0), T (60));
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonObject *root;

  g_assert_cmpuint (empty->summary.n_points, ==, 0);
  g_assert_cmpuint (empty->polyline->len, ==, 0);
  g_assert_cmpuint (single->polyline->len, ==, 1);
  g_assert_cmpuint (single->trips->len + single->stops->len, ==, 0);
  g_assert_cmpfloat (single->summary.distance_m, ==, 0);
  g_assert_true (isnan (single->summary.max_speed_kmh));

  json_parser_load_from_data (parser, empty_json, -1, &error);
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpint (json_object_get_int_member (root, "points"), ==, 0);
  g_assert_true (json_object_get_null_member (root, "maxSpeed"));
  g_assert_true (json_object_get_null_member (root, "avgSpeed"));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (root, "polyline")), ==, 0);

  json_parser_load_from_data (parser, single_geojson, -1, &error);
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  root = json_array_get_object_element (json_object_get_array_member (root, "features"), 0);
  g_assert_true (json_object_get_null_member (root, "geometry"));
}

/* ---- rendering ------------------------------------------------------------ */

static JsonObject *
parse_object (JsonParser *parser,
              const char *text)
{
  g_autoptr(GError) error = NULL;

  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  return json_node_get_object (json_parser_get_root (parser));
}

static void
assert_time_member (JsonObject *object,
                    const char *name,
                    gint64      expected)
{
  g_autofree char *text = wb_time_format (expected);

  g_assert_cmpstr (json_object_get_string_member (object, name), ==, text);
}

static void
test_json (void)
{
  guint n;
  g_autofree WbTrackPoint *points = make_day (TRUE, &n);
  g_autoptr(WbTrackAnalysis) analysis = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *json = NULL;
  JsonObject *root, *trip, *stop, *first;
  JsonArray *polyline;

  points[0].speed_kmh = NAN;
  analysis = analyze (points, n, 10);
  json = wb_track_analysis_to_json (analysis, "truck \"7\"", T (-30), T (180));
  root = parse_object (parser, json);

  g_assert_cmpstr (json_object_get_string_member (root, "vehicleId"), ==, "truck \"7\"");
  g_assert_cmpstr (json_object_get_string_member (root, "from"), ==, "2026-11-20T05:30:00.000Z");
  assert_time_member (root, "to", T (180));
  g_assert_cmpfloat (json_object_get_double_member (root, "tolerance"), ==, 10);
  g_assert_cmpint (json_object_get_int_member (root, "points"), ==, n);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (root, "distance"), 15200, 1);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (root, "maxSpeed"), 50, 1e-9);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (root, "avgSpeed"), 42.9, 1e-9);
  g_assert_cmpint (json_object_get_int_member (root, "duration"), ==, 133 * 60);
  g_assert_cmpint (json_object_get_int_member (root, "movingDuration"), ==, 21 * 60);

  /* Straight north, parked in between: start, the ends of each drive. */
  polyline = json_object_get_array_member (root, "polyline");
  g_assert_cmpuint (json_array_get_length (polyline), ==, analysis->polyline->len);
  g_assert_cmpuint (json_array_get_length (polyline), <, 10);
  first = json_array_get_object_element (polyline, 0);
  g_assert_cmpfloat (json_object_get_double_member (first, "lat"), ==, HOME_LAT);
  g_assert_cmpfloat (json_object_get_double_member (first, "lon"), ==, HOME_LON);
  assert_time_member (first, "time", T (0));
  g_assert_true (json_object_get_null_member (first, "speed"));

  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (root, "trips")), ==, 2);
  trip = json_array_get_object_element (json_object_get_array_member (root, "trips"), 0);
  assert_time_member (json_object_get_object_member (trip, "start"), "time", T (60));
  assert_time_member (json_object_get_object_member (trip, "end"), "time", T (75));
  g_assert_cmpfloat (json_object_get_double_member (json_object_get_object_member (trip, "start"), "lat"), ==, HOME_LAT);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (json_object_get_object_member (trip, "end"), "lat"),
                                  HOME_LAT + 10000 / METRES_PER_DEGREE, 1e-7);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (trip, "distance"), 10000, 0.2);
  g_assert_cmpint (json_object_get_int_member (trip, "duration"), ==, 900);
  g_assert_cmpfloat (json_object_get_double_member (trip, "maxSpeed"), ==, 40);
  g_assert_cmpfloat (json_object_get_double_member (trip, "avgSpeed"), ==, 40);

  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (root, "stops")), ==, 2);
  stop = json_array_get_object_element (json_object_get_array_member (root, "stops"), 1);
  assert_time_member (stop, "start", T (75));
  assert_time_member (stop, "end", T (127));
  g_assert_cmpint (json_object_get_int_member (stop, "duration"), ==, 52 * 60);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (stop, "lat"), HOME_LAT + 10000 / METRES_PER_DEGREE, 1e-7);
  g_assert_cmpfloat (json_object_get_double_member (stop, "lon"), ==, HOME_LON);
}

static void
test_json_numbers (void)
{
  WbTrackPoint points[2] = {
    { T (0) + 1500, -33.8688197, -151.2092955, 12.34, 1 },
    { T (0) + 61 * SECOND_US + 250000, -33.8688197, -151.2092955, 0, 0 },
  };
  g_autoptr(WbTrackAnalysis) analysis = analyze (points, 2, 0);
  g_autofree char *json = wb_track_analysis_to_json (analysis, NULL, -1000, T (1));

  /* Exact text: seven decimals, one for speeds, negative numbers, times
   * before 1970, milliseconds of durations. */
  g_assert_nonnull (strstr (json, "\"vehicleId\":null"));
  g_assert_nonnull (strstr (json, "\"from\":\"1969-12-31T23:59:59.999Z\""));
  g_assert_nonnull (strstr (json, "{\"lat\":-33.8688197,\"lon\":-151.2092955,"
                                  "\"time\":\"2026-11-20T06:00:00.001Z\",\"speed\":12.3}"));
  g_assert_nonnull (strstr (json, "\"duration\":61.248"));
  g_assert_nonnull (strstr (json, "\"distance\":0.0,"));
}

/* What has no fixed-decimal form goes through the JSON writer: 1e20 as a
 * JSON number, NAN and infinities as null, control characters escaped;
 * both renderings stay strict JSON. */
static void
test_extreme_numbers (void)
{
  WbTrackPoint points[3] = {
    { T (0), 53.9, 27.56, 10, 1 },
    { T (1), 53.91, 27.56, 10, 1 },
    { T (2), 53.92, 27.56, 10, 1 },
  };
  g_autoptr(WbTrackAnalysis) analysis = analyze (points, 3, 0);
  g_autofree char *json = NULL, *geojson = NULL;
  g_autoptr(JsonNode) json_root = NULL, geojson_root = NULL;
  g_autoptr(GError) error = NULL;
  WbTrackPoint *first;

  g_assert_cmpuint (analysis->polyline->len, >=, 2);
  first = &g_array_index (analysis->polyline, WbTrackPoint, 0);
  first->lon = 1e20;
  first->lat = -INFINITY;
  first->speed_kmh = 1e20;
  analysis->summary.max_speed_kmh = 1e20;
  analysis->summary.avg_speed_kmh = INFINITY;
  analysis->summary.distance_m = NAN;

  json = wb_track_analysis_to_json (analysis, "truck\x01", T (0), T (3));
  geojson = wb_track_analysis_to_geojson (analysis, "truck\x01", T (0), T (3));
  g_test_message ("%s\n%s", json, geojson);
  json_root = wb_json_parse (json, strlen (json), NULL, &error);
  g_assert_no_error (error);
  geojson_root = wb_json_parse (geojson, strlen (geojson), NULL, &error);
  g_assert_no_error (error);

  g_assert_nonnull (strstr (json, "\"vehicleId\":\"truck\\u0001\""));
  g_assert_nonnull (strstr (json, "\"maxSpeed\":1e+20,\"avgSpeed\":null"));
  g_assert_nonnull (strstr (json, "\"distance\":null"));
  g_assert_nonnull (strstr (json, "{\"lat\":null,\"lon\":1e+20,"));
  g_assert_nonnull (strstr (json, "\"speed\":1e+20}"));
  g_assert_nonnull (strstr (geojson, "\"coordinates\":[[1e+20,null],"));
  g_assert_nonnull (strstr (geojson, "\"maxSpeed\":1e+20,\"avgSpeed\":null"));
}

static void
test_geojson (void)
{
  guint n;
  g_autofree WbTrackPoint *points = make_day (TRUE, &n);
  g_autoptr(WbTrackAnalysis) analysis = analyze (points, n, 10);
  g_autofree char *geojson = wb_track_analysis_to_geojson (analysis, "truck-7", T (0), T (180));
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *root = parse_object (parser, geojson);
  JsonArray *features, *coordinates, *position;
  JsonObject *track, *geometry, *properties;
  guint n_stops = 0, n_trips = 0;

  g_assert_cmpstr (json_object_get_string_member (root, "type"), ==, "FeatureCollection");
  features = json_object_get_array_member (root, "features");
  g_assert_cmpuint (json_array_get_length (features), ==, 1 + 2 + 2);

  track = json_array_get_object_element (features, 0);
  g_assert_cmpstr (json_object_get_string_member (track, "type"), ==, "Feature");
  geometry = json_object_get_object_member (track, "geometry");
  g_assert_cmpstr (json_object_get_string_member (geometry, "type"), ==, "LineString");
  coordinates = json_object_get_array_member (geometry, "coordinates");
  g_assert_cmpuint (json_array_get_length (coordinates), ==, analysis->polyline->len);
  /* [lon, lat]: 27.56 first, 53.9 second. */
  position = json_array_get_array_element (coordinates, 0);
  g_assert_cmpuint (json_array_get_length (position), ==, 2);
  g_assert_cmpfloat (json_array_get_double_element (position, 0), ==, HOME_LON);
  g_assert_cmpfloat (json_array_get_double_element (position, 1), ==, HOME_LAT);
  properties = json_object_get_object_member (track, "properties");
  g_assert_cmpstr (json_object_get_string_member (properties, "kind"), ==, "track");
  g_assert_cmpstr (json_object_get_string_member (properties, "vehicleId"), ==, "truck-7");
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (properties, "distance"), 15200, 1);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (properties, "times")), ==,
                    json_array_get_length (coordinates));
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (properties, "times"), 0),
                   ==, "2026-11-20T06:00:00.000Z");

  for (guint k = 1; k < json_array_get_length (features); k++)
    {
      JsonObject *feature = json_array_get_object_element (features, k);
      const char *kind = json_object_get_string_member (json_object_get_object_member (feature, "properties"), "kind");

      geometry = json_object_get_object_member (feature, "geometry");
      coordinates = json_object_get_array_member (geometry, "coordinates");
      if (g_str_equal (kind, "stop"))
        {
          g_assert_cmpstr (json_object_get_string_member (geometry, "type"), ==, "Point");
          g_assert_cmpfloat (json_array_get_double_element (coordinates, 0), ==, HOME_LON);
          n_stops++;
        }
      else
        {
          g_assert_cmpstr (kind, ==, "trip");
          g_assert_cmpstr (json_object_get_string_member (geometry, "type"), ==, "LineString");
          /* Due north: the first position is the trip's start, [lon, lat]. */
          position = json_array_get_array_element (coordinates, 0);
          g_assert_cmpfloat (json_array_get_double_element (position, 0), ==, HOME_LON);
          g_assert_cmpfloat_with_epsilon (json_array_get_double_element (position, 1),
                                          g_array_index (analysis->trips, WbTrip, n_trips).start_lat, 1e-7);
          g_assert_cmpuint (json_array_get_length (coordinates), >=, 2);
          n_trips++;
        }
    }
  g_assert_cmpuint (n_stops, ==, 2);
  g_assert_cmpuint (n_trips, ==, 2);
}

/* Any installed locale whose decimal separator is ','. */
static gboolean
set_comma_locale (void)
{
  static const char *candidates[] = {
    "de_DE.UTF-8", "de_DE.utf8", "de_DE", "fr_FR.UTF-8", "ru_RU.UTF-8", "pt_BR.UTF-8",
  };

  for (guint i = 0; i < G_N_ELEMENTS (candidates); i++)
    if (setlocale (LC_ALL, candidates[i]) && g_str_equal (localeconv ()->decimal_point, ","))
      return TRUE;
  return FALSE;
}

static void
test_locale (void)
{
  g_autofree char *saved = g_strdup (setlocale (LC_ALL, NULL));
  guint n;
  g_autofree WbTrackPoint *points = make_day (TRUE, &n);
  g_autoptr(WbTrackAnalysis) analysis = NULL;
  g_autofree char *json = NULL;
  g_autofree char *geojson = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *root;

  if (!set_comma_locale ())
    {
      setlocale (LC_ALL, saved);
      g_test_skip ("no locale with a decimal comma is installed (de_DE.UTF-8)");
      return;
    }
  g_test_message ("rendering under %s", setlocale (LC_ALL, NULL));
  analysis = analyze (points, n, 10);
  json = wb_track_analysis_to_json (analysis, "v", T (0), T (180));
  geojson = wb_track_analysis_to_geojson (analysis, "v", T (0), T (180));
  setlocale (LC_ALL, saved);

  root = parse_object (parser, json);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (root, "distance"), 15200, 1);
  g_assert_nonnull (strstr (json, "\"lat\":53.9000000,\"lon\":27.5600000,"));
  root = parse_object (parser, geojson);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (root, "features")), ==, 5);
  g_assert_nonnull (strstr (geojson, "[27.5600000,53.9000000]"));
}

/* ---- a month of one vehicle ------------------------------------------------ */

/* 30 days at 10 s: parked at night, on the road by day with turns, short
 * waits and longer stops, a few metres of GPS noise everywhere. */
static WbTrackPoint *
make_month (guint *out_n)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (42);
  guint n = 30 * 8640;
  WbTrackPoint *points = g_new (WbTrackPoint, n);
  double lat = HOME_LAT, lon = HOME_LON, heading = 0, speed = 0;
  double metres_per_lon_degree = METRES_PER_DEGREE * cos (HOME_LAT * G_PI / 180);
  int parked_left = 0;

  for (guint i = 0; i < n; i++)
    {
      guint second_of_day = (i % 8640) * 10;
      gboolean night = second_of_day < 7 * 3600 || second_of_day > 19 * 3600;

      if (night || parked_left > 0)
        {
          speed = 0;
          parked_left = MAX (parked_left - 1, 0);
        }
      else if (g_rand_int_range (rand, 0, 2000) == 0)
        parked_left = g_rand_int_range (rand, 10, 240);   /* 100 s to 40 min */
      else
        {
          double north = (lat - HOME_LAT) * METRES_PER_DEGREE;
          double east = (lon - HOME_LON) * metres_per_lon_degree;

          speed = CLAMP (speed + g_rand_double_range (rand, -5, 5), 20, 90);
          /* Regional work: turn for home beyond 50 km. */
          if (hypot (north, east) > 50000)
            heading = atan2 (-east, -north);
          else if (g_rand_int_range (rand, 0, 30) == 0)
            heading += g_rand_double_range (rand, -G_PI / 2, G_PI / 2);
          lat += speed / 3.6 * 10 * cos (heading) / METRES_PER_DEGREE;
          lon += speed / 3.6 * 10 * sin (heading) / metres_per_lon_degree;
        }
      points[i] = (WbTrackPoint) {
        DAY_START_US + (gint64) i * REPORT_US,
        lat + g_rand_double_range (rand, -3, 3) / METRES_PER_DEGREE,
        lon + g_rand_double_range (rand, -3, 3) / metres_per_lon_degree,
        speed > 0 ? speed : g_rand_double_range (rand, 0, 1.5),
        speed > 0 || g_rand_boolean (rand) ? 1 : 0,
      };
    }
  *out_n = n;
  return points;
}

static void
test_month (void)
{
  guint n;
  g_autofree WbTrackPoint *points = make_month (&n);
  g_autoptr(WbTrackAnalysis) analysis = NULL;
  g_autofree char *json = NULL;
  g_autofree char *geojson = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  gint64 start, analysed, rendered;
  JsonObject *root;

  start = g_get_monotonic_time ();
  analysis = analyze (points, n, 10);
  analysed = g_get_monotonic_time ();
  json = wb_track_analysis_to_json (analysis, "v", points[0].time, points[n - 1].time);
  rendered = g_get_monotonic_time ();
  geojson = wb_track_analysis_to_geojson (analysis, "v", points[0].time, points[n - 1].time);

  g_test_message ("30 days, %u points: analysis %.1f ms + JSON %.1f ms (%zu kB) = %.1f ms; "
                  "GeoJSON %.1f ms; polyline %u points, %u trips, %u stops, %.0f km",
                  n, (analysed - start) / 1000.0, (rendered - analysed) / 1000.0,
                  strlen (json) / 1024, (rendered - start) / 1000.0, elapsed_ms (rendered),
                  analysis->polyline->len, analysis->trips->len, analysis->stops->len,
                  analysis->summary.distance_m / 1000);

  /* At least a trip and a night's stop a day; the polyline much smaller. */
  g_assert_cmpuint (analysis->trips->len, >=, 30);
  g_assert_cmpuint (analysis->stops->len, >=, 29);
  g_assert_cmpuint (analysis->polyline->len, <, n / 4);
  g_assert_cmpfloat (max_deviation (points, analysis->polyline_indices), <=, 10.1);
  root = parse_object (parser, json);
  g_assert_cmpint (json_object_get_int_member (root, "points"), ==, n);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (root, "polyline")), ==,
                    analysis->polyline->len);
  parse_object (parser, geojson);

  /* The worst case for the renderer: no simplification at all. */
  g_clear_pointer (&analysis, wb_track_analysis_free);
  g_clear_pointer (&json, g_free);
  start = g_get_monotonic_time ();
  analysis = analyze (points, n, 0);
  analysed = g_get_monotonic_time ();
  json = wb_track_analysis_to_json (analysis, "v", points[0].time, points[n - 1].time);
  g_test_message ("tolerance 0: analysis %.1f ms + JSON %.1f ms (%zu kB)",
                  (analysed - start) / 1000.0, elapsed_ms (analysed), strlen (json) / 1024);
  g_assert_cmpuint (analysis->polyline->len, ==, n);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/track/distance/known", test_distance_known);
  g_test_add_func ("/track/simplify/straight-line", test_simplify_straight_line);
  g_test_add_func ("/track/simplify/square", test_simplify_square);
  g_test_add_func ("/track/simplify/tolerance-zero", test_simplify_tolerance_zero);
  g_test_add_func ("/track/simplify/at-tolerance", test_simplify_at_tolerance);
  g_test_add_func ("/track/simplify/small-and-clamped", test_simplify_small_and_clamped);
  g_test_add_func ("/track/simplify/large", test_simplify_large);
  g_test_add_func ("/track/trips/day", test_trips_day);
  g_test_add_func ("/track/trips/unknown-speed", test_trips_unknown_speed);
  g_test_add_func ("/track/trips/too-brief", test_trips_too_brief);
  g_test_add_func ("/track/trips/reporting-gap", test_trips_reporting_gap);
  g_test_add_func ("/track/trips/gap-while-driving", test_trips_gap_while_driving);
  g_test_add_func ("/track/trips/ignition-off", test_trips_ignition_off);
  g_test_add_func ("/track/trips/short-wait", test_trips_short_wait);
  g_test_add_func ("/track/summary/day", test_summary);
  g_test_add_func ("/track/summary/no-trips", test_summary_no_trips);
  g_test_add_func ("/track/summary/reported-max", test_summary_reported_max);
  g_test_add_func ("/track/summary/empty-and-single", test_empty_and_single);
  g_test_add_func ("/track/render/json", test_json);
  g_test_add_func ("/track/render/extreme-numbers", test_extreme_numbers);
  g_test_add_func ("/track/render/json-numbers", test_json_numbers);
  g_test_add_func ("/track/render/geojson", test_geojson);
  g_test_add_func ("/track/render/locale", test_locale);
  g_test_add_func ("/track/month", test_month);

  return g_test_run ();
}
