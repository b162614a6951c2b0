// SPDX-License-Identifier: GPL-3.0-or-later
/* Live index benchmark: the gateway's memory at the scale it is built
 * for. 100 000 vehicles at random over a country (Belarus' extent,
 * 23.2–32.8°E, 51.3–56.2°N) and 10 000 subscribed views. Prints, as
 * medians of --runs runs:
 *
 *   - a city-sized bbox query (0.35° x 0.2°, Minsk's size) through the
 *     grid, against a scan of a flat array of every vehicle's state with
 *     the same test (the baseline, in the same run), and the ratio;
 *   - the same for a region (2° x 1.5°);
 *   - position updates per second into the index (a new state per
 *     update, most moving within their cell, some across);
 *   - subscription matching per update with 10 000 views (9 990 district
 *     views of 0.1° x 0.07°, 10 of the whole country), against checking
 *     every view, and the ratio;
 *   - the diff of a pan (a district view moved by a third of its width):
 *     vehicles entered and left;
 *   - the fan-out into 10 000 connections' outboxes (each watching 100 of
 *     5 000 vehicles; a twentieth of the vehicles move per window, then
 *     every outbox is read as a frame and emptied), per update delivered,
 *     against appending the same (state, seq) pairs to a plain array per
 *     connection (the baseline: no coalescing), and the ratio. */

#include "config.h"

#include "wb-bench.h"
#include "wb-live-index.h"
#include "wb-live-outbox.h"
#include "wb-live-subscriptions.h"

#define VEHICLES 100000
#define VIEWS 10000
#define WHOLE_COUNTRY_VIEWS 10
#define QUERIES 200
#define UPDATES 500000
#define MATCHES 200000
#define SCANNED_MATCHES 2000
#define OUTBOXES 10000
#define OUTBOX_FLEET 5000
#define OUTBOX_VIEW 100
#define OUTBOX_WINDOWS 40

static const WbLiveBbox country = { 23.2, 51.3, 32.8, 56.2 };

static int runs = 5;

static GOptionEntry entries[] = {
  { "runs", 0, 0, G_OPTION_ARG_INT, &runs, "Runs per figure (median reported)", "N" },
  { NULL }
};

/* live-bench's city, where 10 000 views of a 50th of it share a few
 * dozen cells. */
static const WbLiveBbox city = { 27.40, 53.83, 27.70, 53.97 };

static double
random_lon_in (GRand *rand, const WbLiveBbox *area, double margin)
{
  return g_rand_double_range (rand, area->min_lon, area->max_lon - margin);
}

static double
random_lat_in (GRand *rand, const WbLiveBbox *area, double margin)
{
  return g_rand_double_range (rand, area->min_lat, area->max_lat - margin);
}

static double
random_lon (GRand *rand, double margin)
{
  return random_lon_in (rand, &country, margin);
}

static double
random_lat (GRand *rand, double margin)
{
  return random_lat_in (rand, &country, margin);
}

static WbLiveIndex *
fill_index (GRand *rand)
{
  WbLiveIndex *index = wb_live_index_new ();

  for (guint i = 0; i < VEHICLES; i++)
    {
      g_autofree char *id = g_strdup_printf ("vehicle-%06u", i);
      g_autoptr(WbLiveVehicle) vehicle = wb_live_vehicle_new (id);
      g_autoptr(WbLiveVehicle) old_state = NULL;

      vehicle->company_id = g_strdup_printf ("company-%u", i % 50);
      vehicle->lon = random_lon (rand, 0);
      vehicle->lat = random_lat (rand, 0);
      vehicle->trip_id = i % 3 == 0 ? g_strdup_printf ("trip-%u", i) : NULL;
      old_state = wb_live_index_update (index, vehicle);
    }
  return index;
}

/* µs per query over the same random boxes: through the grid, and as a
 * scan of a flat array of every state (@all), the best a scan can do. */
static void
measure_queries (WbLiveIndex *index,
                 GPtrArray   *all,
                 GRand       *rand,
                 double       width,
                 double       height,
                 double      *out_grid_us,
                 double      *out_scan_us,
                 double      *out_found)
{
  g_autoptr(GArray) boxes = g_array_new (FALSE, FALSE, sizeof (WbLiveBbox));
  gint64 start;
  guint found = 0;

  for (guint i = 0; i < QUERIES; i++)
    {
      double lon = random_lon (rand, width), lat = random_lat (rand, height);
      WbLiveBbox bbox = { lon, lat, lon + width, lat + height };

      g_array_append_val (boxes, bbox);
    }
  start = g_get_monotonic_time ();
  for (guint i = 0; i < QUERIES; i++)
    {
      WbLiveQuery query = { .has_bbox = TRUE, .bbox = g_array_index (boxes, WbLiveBbox, i) };
      g_autoptr(GPtrArray) vehicles = wb_live_index_query (index, &query, NULL);

      found += vehicles->len;
    }
  *out_grid_us = (double) (g_get_monotonic_time () - start) / QUERIES;
  *out_found = (double) found / QUERIES;
  start = g_get_monotonic_time ();
  for (guint i = 0; i < QUERIES / 10; i++)
    {
      const WbLiveBbox *bbox = &g_array_index (boxes, WbLiveBbox, i);
      g_autoptr(GPtrArray) vehicles = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_live_vehicle_unref);

      for (guint v = 0; v < all->len; v++)
        {
          WbLiveVehicle *vehicle = g_ptr_array_index (all, v);

          if (wb_live_bbox_contains (bbox, vehicle->lon, vehicle->lat))
            g_ptr_array_add (vehicles, wb_live_vehicle_ref (vehicle));
        }
    }
  *out_scan_us = (double) (g_get_monotonic_time () - start) / (QUERIES / 10);
}

/* Updates per second: each a new state of a random vehicle, moved by up
 * to ±0.01° (a few hundred metres: a 1 Hz fleet moves far less). */
static double
measure_updates (WbLiveIndex *index,
                 GRand       *rand)
{
  char id[32];
  gint64 start = g_get_monotonic_time ();

  for (guint i = 0; i < UPDATES; i++)
    {
      g_autoptr(WbLiveVehicle) current = NULL;
      g_autoptr(WbLiveVehicle) next = NULL;
      g_autoptr(WbLiveVehicle) old_state = NULL;

      g_snprintf (id, sizeof id, "vehicle-%06u", g_rand_int_range (rand, 0, VEHICLES));
      current = wb_live_index_lookup (index, id);
      next = wb_live_vehicle_copy (current);
      next->lon = CLAMP (next->lon + g_rand_double_range (rand, -0.01, 0.01), country.min_lon, country.max_lon);
      next->lat = CLAMP (next->lat + g_rand_double_range (rand, -0.01, 0.01), country.min_lat, country.max_lat);
      old_state = wb_live_index_update (index, next);
    }
  return UPDATES / ((g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC);
}

static GPtrArray *
make_views (GRand            *rand,
            const WbLiveBbox *area,
            double            width,
            double            height)
{
  GPtrArray *views = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_live_view_free);

  for (guint i = 0; i < VIEWS; i++)
    {
      double lon = random_lon_in (rand, area, width), lat = random_lat_in (rand, area, height);
      WbLiveBbox district = { lon, lat, lon + width, lat + height };

      g_ptr_array_add (views, wb_live_view_new (i < WHOLE_COUNTRY_VIEWS ? area : &district, NULL, NULL));
    }
  return views;
}

typedef struct
{
  WbLiveVehicle *from;
  WbLiveVehicle *to;
} Move;

static void
move_clear (gpointer data)
{
  Move *move = data;

  g_clear_pointer (&move->from, wb_live_vehicle_unref);
  g_clear_pointer (&move->to, wb_live_vehicle_unref);
}

static GArray *
make_moves (GRand            *rand,
            const WbLiveBbox *area)
{
  GArray *moves = g_array_sized_new (FALSE, FALSE, sizeof (Move), MATCHES);

  g_array_set_clear_func (moves, move_clear);
  for (guint i = 0; i < MATCHES; i++)
    {
      Move move = { wb_live_vehicle_new ("v"), NULL };

      move.from->lon = random_lon_in (rand, area, 0);
      move.from->lat = random_lat_in (rand, area, 0);
      move.to = wb_live_vehicle_copy (move.from);
      move.to->lon += g_rand_double_range (rand, -0.005, 0.005);
      move.to->lat += g_rand_double_range (rand, -0.005, 0.005);
      g_array_append_val (moves, move);
    }
  return moves;
}

/* µs per update through the subscription grid and through every view. */
static void
measure_matching (WbLiveSubscriptions *subscriptions,
                  GPtrArray           *views,
                  GArray              *moves,
                  double              *out_grid_us,
                  double              *out_scan_us,
                  double              *out_matched)
{
  g_autoptr(GArray) matches = g_array_new (FALSE, FALSE, sizeof (WbLiveSubscriptionMatch));
  guint64 matched = 0;
  gint64 start = g_get_monotonic_time ();

  for (guint i = 0; i < moves->len; i++)
    {
      Move *move = &g_array_index (moves, Move, i);

      g_array_set_size (matches, 0);
      matched += wb_live_subscriptions_match (subscriptions, move->from, move->to, matches);
    }
  *out_grid_us = (double) (g_get_monotonic_time () - start) / moves->len;
  *out_matched = (double) matched / moves->len;
  start = g_get_monotonic_time ();
  for (guint i = 0; i < SCANNED_MATCHES; i++)
    {
      Move *move = &g_array_index (moves, Move, i);

      for (guint v = 0; v < views->len; v++)
        if (wb_live_view_classify (g_ptr_array_index (views, v), move->from, move->to) != WB_LIVE_MATCH_NONE)
          g_array_set_size (matches, 0);
    }
  *out_scan_us = (double) (g_get_monotonic_time () - start) / SCANNED_MATCHES;
}

/* µs per pan of a district view by a third of its width, entered and
 * left computed. */
static double
measure_pans (WbLiveIndex *index,
              GRand       *rand)
{
  gint64 start = g_get_monotonic_time ();

  for (guint i = 0; i < QUERIES; i++)
    {
      double lon = random_lon (rand, 0.14), lat = random_lat (rand, 0.07);
      WbLiveBbox before_bbox = { lon, lat, lon + 0.1, lat + 0.07 };
      WbLiveBbox after_bbox = { lon + 0.033, lat, lon + 0.133, lat + 0.07 };
      g_autoptr(WbLiveView) before = wb_live_view_new (&before_bbox, NULL, NULL);
      g_autoptr(WbLiveView) after = wb_live_view_new (&after_bbox, NULL, NULL);
      g_autoptr(GPtrArray) entered = NULL;
      g_autoptr(GPtrArray) left = NULL;

      wb_live_index_diff_views (index, before, after, &entered, &left);
    }
  return (double) (g_get_monotonic_time () - start) / QUERIES;
}

typedef struct
{
  WbLiveVehicle *vehicle;
  guint64        seq;
} PlainItem;

/* Nanoseconds per update delivered into the outboxes (@use_outboxes) or
 * into plain arrays. */
static double
fan_out_ns (GPtrArray  *fleet,
            GPtrArray  *watchers,
            gboolean    use_outboxes)
{
  g_autoptr(GPtrArray) outboxes = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_live_outbox_free);
  g_autoptr(GPtrArray) plain = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  guint64 seq = 0, delivered = 0, checksum = 0;
  gint64 start;

  for (guint i = 0; i < OUTBOXES; i++)
    {
      g_ptr_array_add (outboxes, wb_live_outbox_new (5000, 100000));
      g_ptr_array_add (plain, g_array_sized_new (FALSE, FALSE, sizeof (PlainItem), 16));
    }
  start = g_get_monotonic_time ();
  for (guint window = 0; window < OUTBOX_WINDOWS; window++)
    {
      for (guint k = 0; k < OUTBOX_FLEET / 20; k++)
        {
          guint v = (window * (OUTBOX_FLEET / 20) + k) % OUTBOX_FLEET;
          WbLiveVehicle *vehicle = g_ptr_array_index (fleet, v);
          GArray *watching = g_ptr_array_index (watchers, v);

          seq++;
          for (guint w = 0; w < watching->len; w++)
            {
              guint o = g_array_index (watching, guint, w);

              if (use_outboxes)
                wb_live_outbox_push (g_ptr_array_index (outboxes, o), WB_LIVE_OUTBOX_UPDATE, vehicle->vehicle_id,
                                     vehicle, seq);
              else
                g_array_append_val ((GArray *) g_ptr_array_index (plain, o), ((PlainItem) { vehicle, seq }));
            }
          delivered += watching->len;
        }
      /* Each connection's frame: its items read, then emptied. */
      for (guint o = 0; o < OUTBOXES; o++)
        if (use_outboxes)
          {
            WbLiveOutbox *outbox = g_ptr_array_index (outboxes, o);

            for (guint i = 0; i < wb_live_outbox_get_length (outbox); i++)
              checksum += wb_live_outbox_peek_nth (outbox, i)->seq;
            wb_live_outbox_clear (outbox);
          }
        else
          {
            GArray *items = g_ptr_array_index (plain, o);

            for (guint i = 0; i < items->len; i++)
              checksum += g_array_index (items, PlainItem, i).seq;
            g_array_set_size (items, 0);
          }
    }
  g_assert_cmpuint (checksum, >, 0);
  return (g_get_monotonic_time () - start) * 1000.0 / delivered;
}

static void
measure_outboxes (GRand  *rand,
                  double *out_outbox_ns,
                  double *out_plain_ns)
{
  g_autoptr(GPtrArray) fleet = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_live_vehicle_unref);
  g_autoptr(GPtrArray) watchers = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);

  for (guint v = 0; v < OUTBOX_FLEET; v++)
    {
      g_autofree char *id = g_strdup_printf ("vehicle-%06u", v);

      g_ptr_array_add (fleet, wb_live_vehicle_new (id));
      g_ptr_array_add (watchers, g_array_new (FALSE, FALSE, sizeof (guint)));
    }
  for (guint o = 0; o < OUTBOXES; o++)
    {
      guint first = g_rand_int_range (rand, 0, OUTBOX_FLEET);

      /* A district: a run of neighbouring vehicles. */
      for (guint k = 0; k < OUTBOX_VIEW; k++)
        g_array_append_val ((GArray *) g_ptr_array_index (watchers, (first + k * 7) % OUTBOX_FLEET), o);
    }
  *out_plain_ns = fan_out_ns (fleet, watchers, FALSE);
  *out_outbox_ns = fan_out_ns (fleet, watchers, TRUE);
}

static void
print_query_figures (const char  *name,
                     GArray      *grid,
                     GArray      *scan,
                     GArray      *found)
{
  double grid_us = wb_bench_median (grid), scan_us = wb_bench_median (scan);

  g_print ("%-30s grid %9.1f us   scan %9.1f us   scan/grid %6.1f   (%.0f vehicles found)\n",
           name, grid_us, scan_us, scan_us / grid_us, wb_bench_median (found));
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = g_option_context_new ("- live index benchmark");
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) city_grid = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) city_scan = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) city_found = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) region_grid = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) region_scan = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) region_found = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) update_rates = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) match_grid = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) match_scan = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) matched = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) pans = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) outbox_ns = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) plain_ns = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(WbLiveIndex) index = NULL;
  g_autoptr(WbLiveSubscriptions) subscriptions = wb_live_subscriptions_new ();
  g_autoptr(GPtrArray) views = NULL;
  g_autoptr(GArray) moves = NULL;
  g_autoptr(WbLiveSubscriptions) city_subscriptions = wb_live_subscriptions_new ();
  g_autoptr(GPtrArray) city_views = NULL;
  g_autoptr(GArray) city_moves = NULL;
  g_autoptr(GArray) city_match_grid = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) city_match_scan = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) city_matched = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GPtrArray) all = NULL;
  WbLiveQuery whole_world = { .has_bbox = TRUE, .bbox = { -180, -90, 180, 90 } };
  GRand *rand = g_rand_new_with_seed (2026);
  gint64 start;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    g_error ("%s", error->message);

  start = g_get_monotonic_time ();
  index = fill_index (rand);
  g_print ("%u vehicles indexed in %.0f ms (cell %.2f deg)\n", wb_live_index_get_size (index),
           (g_get_monotonic_time () - start) / 1000.0, WB_LIVE_CELL_DEGREES);
  all = wb_live_index_query (index, &whole_world, NULL);
  views = make_views (rand, &country, 0.1, 0.07);
  for (guint i = 0; i < views->len; i++)
    wb_live_subscriptions_set (subscriptions, i, g_ptr_array_index (views, i), NULL);
  moves = make_moves (rand, &country);
  city_views = make_views (rand, &city, 0.042, 0.02);
  for (guint i = 0; i < city_views->len; i++)
    wb_live_subscriptions_set (city_subscriptions, i, g_ptr_array_index (city_views, i), NULL);
  city_moves = make_moves (rand, &city);

  for (int run = 0; run < runs; run++)
    {
      double grid_us, scan_us, found, rate, pan_us;

      measure_queries (index, all, rand, 0.35, 0.2, &grid_us, &scan_us, &found);
      g_array_append_val (city_grid, grid_us);
      g_array_append_val (city_scan, scan_us);
      g_array_append_val (city_found, found);
      measure_queries (index, all, rand, 2.0, 1.5, &grid_us, &scan_us, &found);
      g_array_append_val (region_grid, grid_us);
      g_array_append_val (region_scan, scan_us);
      g_array_append_val (region_found, found);
      rate = measure_updates (index, rand);
      g_array_append_val (update_rates, rate);
      measure_matching (subscriptions, views, moves, &grid_us, &scan_us, &found);
      g_array_append_val (match_grid, grid_us);
      g_array_append_val (match_scan, scan_us);
      g_array_append_val (matched, found);
      measure_matching (city_subscriptions, city_views, city_moves, &grid_us, &scan_us, &found);
      g_array_append_val (city_match_grid, grid_us);
      g_array_append_val (city_match_scan, scan_us);
      g_array_append_val (city_matched, found);
      pan_us = measure_pans (index, rand);
      g_array_append_val (pans, pan_us);
      measure_outboxes (rand, &grid_us, &scan_us);
      g_array_append_val (outbox_ns, grid_us);
      g_array_append_val (plain_ns, scan_us);
    }

  g_print ("medians of %d runs, %u vehicles, %u views\n", runs, VEHICLES, VIEWS);
  print_query_figures ("city bbox query (0.35x0.2 deg)", city_grid, city_scan, city_found);
  print_query_figures ("region bbox query (2x1.5 deg)", region_grid, region_scan, region_found);
  g_print ("%-30s %9.0f updates/s\n", "index updates", wb_bench_median (update_rates));
  {
    double grid_us = wb_bench_median (match_grid), scan_us = wb_bench_median (match_scan);

    g_print ("%-30s grid %9.2f us   scan %9.1f us   scan/grid %6.0f   (%.1f views concerned per update)\n",
             "subscription match/update", grid_us, scan_us, scan_us / grid_us, wb_bench_median (matched));
    g_print ("%-30s %9.0f updates/s\n", "subscription matching", G_USEC_PER_SEC / grid_us);
    grid_us = wb_bench_median (city_match_grid);
    scan_us = wb_bench_median (city_match_scan);
    g_print ("%-30s grid %9.2f us   scan %9.1f us   scan/grid %6.0f   (%.1f views concerned per update)\n",
             "the same, 10 000 views in a city", grid_us, scan_us, scan_us / grid_us, wb_bench_median (city_matched));
  }
  g_print ("%-30s %9.1f us\n", "pan diff (district view)", wb_bench_median (pans));
  g_print ("%-30s outboxes %6.1f ns   plain arrays %6.1f ns   ratio %.2f   (per update delivered, %u connections)\n",
           "fan-out into outboxes", wb_bench_median (outbox_ns), wb_bench_median (plain_ns),
           wb_bench_median (outbox_ns) / wb_bench_median (plain_ns), OUTBOXES);
  g_rand_free (rand);
  return 0;
}
