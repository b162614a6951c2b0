// SPDX-License-Identifier: GPL-3.0-or-later
/* Console map benchmark: 5 000 vehicles over a city (Minsk, 0.35° x 0.2°)
 * updating at 1 Hz (a sixtieth of the fleet gets a new state each frame
 * of a simulated 60 Hz clock) while the map pans and zooms continuously
 * (zoom 11–14.5, so frames range from clusters to every glyph in view).
 * Each frame is built offscreen as the frame clock would — layout, the
 * layer's snapshot, render with the Cairo renderer to a texture — and
 * timed whole. Prints per-frame p50, p95 and max and the process CPU for:
 *
 *   - WbVehicleLayer on a WbVehicleModel, as it draws for the Cairo
 *     renderer (the frame painted into one image);
 *   - the same layer drawing a shared node per glyph, as it does for GL
 *     renderers (and did for Cairo too);
 *   - the baseline, the same 5 000 as ShumateMarkerLayer markers (one
 *     widget each, a shared 18 px texture, moved with
 *     shumate_location_set_location) on the same path, same run;
 *
 * and the ratios of the medians. Then the vehicle layer runs live in the
 * window for 5 s on the same path, driven by the frame clock, both ways,
 * and the frames' work (update phase to end of paint), intervals and the
 * ratio are printed: under Xvfb the Cairo renderer paints into an X
 * server pixmap, which is where the two ways differ. --runs=N repeats
 * the live pair and prints the medians of the runs' p50 and p95. Needs
 * a display: run under xvfb-run. WB_BENCH_SAVE=/tmp/frame saves each
 * layer's frames as /tmp/frame-<type>.png (the last one stays), to look
 * at what was measured; it slows the run. */

#include "config.h"

#include <math.h>
#include <sys/resource.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wb-map-view.h"
#include "wb-vehicle-layer.h"
#include "wb-vehicle-model.h"

#define VEHICLES       5000
#define WIDTH          1280
#define HEIGHT         800
#define FRAME_USEC     (G_USEC_PER_SEC / 60)
#define CITY_LAT       53.90
#define CITY_LON       27.56

static int frames = 600;
static int runs = 1;
static gboolean live_only;
static char *live_path;
static gboolean depot;
/* The fleet's spread: 1 over the city, a sixteenth for --depot. */
static double area = 0;

static GOptionEntry entries[] = {
  { "frames", 0, 0, G_OPTION_ARG_INT, &frames, "Frames per layer", "N" },
  { "runs", 0, 0, G_OPTION_ARG_INT, &runs, "Live runs of each drawing path", "N" },
  { "live-only", 0, 0, G_OPTION_ARG_NONE, &live_only, "Only the live runs in the window", NULL },
  { "depot", 0, 0, G_OPTION_ARG_NONE, &depot, "The worst case: every vehicle a labelled glyph in view (zoom 15)", NULL },
  { "area", 0, 0, G_OPTION_ARG_DOUBLE, &area, "The fleet's spread, 1 the city (default; 1/16 with --depot)", "F" },
  { "live-path", 0, 0, G_OPTION_ARG_STRING, &live_path, "Only this drawing path live (image, nodes), e.g. to profile it", "PATH" },
  { NULL }
};

typedef struct
{
  double lat;
  double lon;
  double course;
  double speed;   /* degrees per second, roughly 30–60 km/h */
} Mover;

typedef struct
{
  GtkWindow        *window;
  ShumateMap       *map;
  ShumateViewport  *viewport;
  GskRenderer      *renderer;
  Mover            *movers;
  double            build_ms;   /* CPU in layout and snapshot, summed */
  guint64           glyphs;     /* drawn by the vehicle layer, summed */
  guint64           clusters;
} Bench;

typedef struct
{
  GArray *ms;          /* double, wall time per frame */
  GArray *cpu_ms;      /* double, this thread's CPU time per frame */
  double  cpu_percent;
  double  wall_s;
  double  build_ms;    /* mean CPU per frame in layout and snapshot, the rest is rendering */
} Figures;

static void
movers_init (Bench *bench)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (13);

  g_free (bench->movers);
  bench->movers = g_new0 (Mover, VEHICLES);
  for (guint i = 0; i < VEHICLES; i++)
    {
      Mover *m = &bench->movers[i];

      m->lat = CITY_LAT + g_rand_double_range (rand, -0.1, 0.1) * area;
      m->lon = CITY_LON + g_rand_double_range (rand, -0.175, 0.175) * area;
      m->course = g_rand_double_range (rand, 0, 360);
      m->speed = i % 5 == 0 ? 0 : g_rand_double_range (rand, 0.0001, 0.0002) * area;
    }
}

static void
mover_step (Mover *m)
{
  m->lat += cos (m->course * G_PI / 180) * m->speed;
  m->lon += sin (m->course * G_PI / 180) * m->speed * 1.7;
  if (fabs (m->lat - CITY_LAT) > 0.1 * area || fabs (m->lon - CITY_LON) > 0.175 * area)
    m->course = fmod (m->course + 180, 360);
}

/* The same path for both layers: a circle over the city every 19 s and
 * the zoom breathing between 11 and 14.5 every 5 s (from clusters, through
 * the whole fleet as glyphs at 12–12.5, to a few hundred in a district). */
static void
move_camera (Bench *bench,
             guint  frame)
{
  double t = frame / 60.0;

  shumate_location_set_location (SHUMATE_LOCATION (bench->viewport),
                                 CITY_LAT + 0.04 * area * sin (t / 3),
                                 CITY_LON + 0.07 * area * cos (t / 3));
  if (depot)
    shumate_viewport_set_zoom_level (bench->viewport, 15.1 + 0.1 * sin (t * 1.25));
  else
    shumate_viewport_set_zoom_level (bench->viewport, 12.75 + 1.75 * sin (t * 1.25));
}

static double
process_cpu_seconds (void)
{
  struct rusage usage;

  getrusage (RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6
         + usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

/* On a shared machine wall time includes other processes' turns; the
 * thread's own CPU time per frame does not. */
static double
thread_cpu_ms (void)
{
  struct timespec now;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &now);
  return now.tv_sec * 1e3 + now.tv_nsec / 1e6;
}

/* The X server's CPU time in seconds, or -1 when it is not found: under
 * xvfb-run the server is our parent shell's other child. With the Cairo
 * renderer on X11 part of each frame is the server's work. */
static double
xserver_cpu_seconds (void)
{
  g_autofree char *children_path = g_strdup_printf ("/proc/%d/task/%d/children", (int) getppid (), (int) getppid ());
  g_autofree char *children = NULL;
  g_auto(GStrv) pids = NULL;

  if (!g_file_get_contents (children_path, &children, NULL, NULL))
    return -1;
  pids = g_strsplit (g_strstrip (children), " ", -1);
  for (guint i = 0; pids[i] != NULL; i++)
    {
      g_autofree char *comm_path = g_strdup_printf ("/proc/%s/comm", pids[i]);
      g_autofree char *stat_path = g_strdup_printf ("/proc/%s/stat", pids[i]);
      g_autofree char *comm = NULL;
      g_autofree char *stat = NULL;
      g_auto(GStrv) fields = NULL;
      const char *after_name;

      if (!g_file_get_contents (comm_path, &comm, NULL, NULL) || !g_str_has_prefix (comm, "Xvfb")
          || !g_file_get_contents (stat_path, &stat, NULL, NULL) || (after_name = strrchr (stat, ')')) == NULL)
        continue;
      /* After "pid (comm)": state is field 3, utime 14 and stime 15. */
      fields = g_strsplit (after_name + 2, " ", -1);
      if (g_strv_length (fields) < 13)
        continue;
      return (g_ascii_strtod (fields[11], NULL) + g_ascii_strtod (fields[12], NULL)) / sysconf (_SC_CLK_TCK);
    }
  return -1;
}

/* One frame as the frame clock runs it: layout, snapshot, render. */
static void
render_frame (Bench     *bench,
              GtkWidget *layer)
{
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  GtkSnapshot *snapshot = gtk_snapshot_new ();

  double start = thread_cpu_ms ();

  gtk_widget_allocate (GTK_WIDGET (bench->map), WIDTH, HEIGHT, -1, NULL);
  gtk_widget_snapshot_child (GTK_WIDGET (bench->map), layer, snapshot);
  node = gtk_snapshot_free_to_node (snapshot);
  bench->build_ms += thread_cpu_ms () - start;
  if (node != NULL)
    texture = gsk_renderer_render_texture (bench->renderer, node, &GRAPHENE_RECT_INIT (0, 0, WIDTH, HEIGHT));
  if (texture != NULL && g_getenv ("WB_BENCH_SAVE") != NULL)
    {
      g_autofree char *path = g_strdup_printf ("%s-%s.png", g_getenv ("WB_BENCH_SAVE"), G_OBJECT_TYPE_NAME (layer));
      gdk_texture_save_to_png (texture, path);
    }
}

typedef void (*UpdateFunc) (Bench *bench, gpointer target, guint index, gint64 now);

static Figures
run_layer (Bench      *bench,
           GtkWidget  *layer,
           UpdateFunc  update,
           gpointer    target)
{
  Figures figures = { g_array_new (FALSE, FALSE, sizeof (double)), g_array_new (FALSE, FALSE, sizeof (double)), 0, 0, 0 };
  gint64 wall_start = g_get_monotonic_time ();
  double cpu_start = process_cpu_seconds ();
  gint64 clock = wall_start;

  for (int frame = 0; frame < frames; frame++)
    {
      gint64 start;
      double ms, cpu_start_ms;

      clock += FRAME_USEC;
      for (guint i = frame % 60; i < VEHICLES; i += 60)
        {
          mover_step (&bench->movers[i]);
          update (bench, target, i, clock);
        }
      if (WB_IS_VEHICLE_LAYER (layer))
        wb_vehicle_layer_set_clock_override (WB_VEHICLE_LAYER (layer), clock);
      move_camera (bench, frame);
      start = g_get_monotonic_time ();
      cpu_start_ms = thread_cpu_ms ();
      render_frame (bench, layer);
      ms = (g_get_monotonic_time () - start) / 1000.0;
      g_array_append_val (figures.ms, ms);
      ms = thread_cpu_ms () - cpu_start_ms;
      g_array_append_val (figures.cpu_ms, ms);
      if (WB_IS_VEHICLE_LAYER (layer))
        {
          bench->glyphs += wb_vehicle_layer_get_drawn_glyphs (WB_VEHICLE_LAYER (layer));
          bench->clusters += wb_vehicle_layer_get_drawn_clusters (WB_VEHICLE_LAYER (layer));
        }
    }
  figures.wall_s = (g_get_monotonic_time () - wall_start) / (double) G_USEC_PER_SEC;
  figures.build_ms = bench->build_ms / frames;
  bench->build_ms = 0;
  figures.cpu_percent = 100.0 * (process_cpu_seconds () - cpu_start) / figures.wall_s;
  return figures;
}

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

static double
percentile (GArray *values,
            double  p)
{
  g_array_sort (values, compare_doubles);
  return g_array_index (values, double, (guint) MIN (values->len - 1, floor (p * values->len)));
}

static void
print_figures (const char *name,
               Figures    *figures)
{
  g_print ("%-20s wall p50 %7.2f  p95 %7.2f  max %7.2f ms | CPU p50 %7.2f  p95 %7.2f  max %7.2f ms | process CPU %5.1f %% (%u frames, %.1f s; layout+snapshot mean %.2f ms)\n",
           name, percentile (figures->ms, 0.5), percentile (figures->ms, 0.95), percentile (figures->ms, 1.0),
           percentile (figures->cpu_ms, 0.5), percentile (figures->cpu_ms, 0.95), percentile (figures->cpu_ms, 1.0),
           figures->cpu_percent, figures->ms->len, figures->wall_s, figures->build_ms);
}

static void
update_model (Bench    *bench,
              gpointer  target,
              guint     index,
              gint64    now)
{
  WbVehicleModel *model = target;
  g_autofree char *id = g_strdup_printf ("veh-%04u", index);
  g_autoptr(WbLiveVehicle) state = wb_live_vehicle_new (id);
  const Mover *m = &bench->movers[index];

  state->lat = m->lat;
  state->lon = m->lon;
  state->course = m->course;
  state->speed = m->speed > 0 ? 40 : 0;
  state->state = m->speed > 0 ? WB_LIVE_STATE_MOVING : WB_LIVE_STATE_STOPPED;
  state->fix_time = state->server_time = g_get_real_time ();
  wb_vehicle_model_apply (model, state);
}

static void
update_marker (Bench    *bench,
               gpointer  target,
               guint     index,
               gint64    now)
{
  GPtrArray *markers = target;

  shumate_location_set_location (g_ptr_array_index (markers, index),
                                 bench->movers[index].lat, bench->movers[index].lon);
}

static GdkTexture *
marker_texture (void)
{
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 18, 18);
  cairo_t *cr = cairo_create (surface);
  g_autoptr(GBytes) bytes = NULL;
  GdkTexture *texture;

  cairo_arc (cr, 9, 9, 7, 0, 2 * G_PI);
  cairo_set_source_rgb (cr, 0.18, 0.76, 0.49);
  cairo_fill_preserve (cr);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_stroke (cr);
  cairo_destroy (cr);
  cairo_surface_flush (surface);
  bytes = g_bytes_new (cairo_image_surface_get_data (surface), cairo_image_surface_get_stride (surface) * 18);
  texture = gdk_memory_texture_new (18, 18, GDK_MEMORY_DEFAULT, bytes, cairo_image_surface_get_stride (surface));
  cairo_surface_destroy (surface);
  return texture;
}

static Figures
bench_vehicle_layer (Bench            *bench,
                     WbVehicleCompose  compose)
{
  g_autoptr(WbVehicleModel) model = wb_vehicle_model_new ();
  WbVehicleLayer *layer = wb_vehicle_layer_new (bench->viewport);
  Figures figures;

  wb_vehicle_layer_set_compose (layer, compose);
  for (guint i = 0; i < VEHICLES; i++)
    update_model (bench, model, i, 0);
  wb_vehicle_layer_set_model (layer, G_LIST_MODEL (model));
  shumate_map_add_layer (bench->map, SHUMATE_LAYER (layer));
  figures = run_layer (bench, GTK_WIDGET (layer), update_model, model);
  shumate_map_remove_layer (bench->map, SHUMATE_LAYER (layer));
  return figures;
}

static Figures
bench_marker_layer (Bench *bench)
{
  g_autoptr(GdkTexture) texture = marker_texture ();
  g_autoptr(GPtrArray) markers = g_ptr_array_new ();
  ShumateMarkerLayer *layer = shumate_marker_layer_new (bench->viewport);
  Figures figures;

  for (guint i = 0; i < VEHICLES; i++)
    {
      ShumateMarker *marker = shumate_marker_new ();

      shumate_marker_set_child (marker, gtk_image_new_from_paintable (GDK_PAINTABLE (texture)));
      shumate_location_set_location (SHUMATE_LOCATION (marker), bench->movers[i].lat, bench->movers[i].lon);
      shumate_marker_layer_add_marker (layer, marker);
      g_ptr_array_add (markers, marker);
    }
  shumate_map_add_layer (bench->map, SHUMATE_LAYER (layer));
  figures = run_layer (bench, GTK_WIDGET (layer), update_marker, markers);
  shumate_map_remove_layer (bench->map, SHUMATE_LAYER (layer));
  return figures;
}


/* The layer in the shown window, the camera moved by a tick callback:
 * what the frame clock sees under Xvfb. */
typedef struct
{
  Bench          *bench;
  WbVehicleModel *model;
  GArray         *work_ms;
  GArray         *interval_ms;
  gint64          layout_start;
  gint64          last_paint;
  gint64          end;
  guint           frame;
} Live;

static gboolean
live_tick (GtkWidget     *widget,
           GdkFrameClock *clock,
           gpointer       user_data)
{
  Live *live = user_data;

  for (guint i = live->frame % 60; i < g_list_model_get_n_items (G_LIST_MODEL (live->model)); i += 60)
    {
      mover_step (&live->bench->movers[i]);
      update_model (live->bench, live->model, i, 0);
    }
  move_camera (live->bench, live->frame++);
  return G_SOURCE_CONTINUE;
}

static void
on_live_layout (GdkFrameClock *clock,
                Live          *live)
{
  live->layout_start = g_get_monotonic_time ();
}

static void
on_live_after_paint (GdkFrameClock *clock,
                     Live          *live)
{
  gint64 now = g_get_monotonic_time ();
  double ms;

  if (live->layout_start == 0)
    return;
  ms = (now - live->layout_start) / 1000.0;
  g_array_append_val (live->work_ms, ms);
  if (live->last_paint != 0)
    {
      ms = (now - live->last_paint) / 1000.0;
      g_array_append_val (live->interval_ms, ms);
    }
  live->last_paint = now;
  live->layout_start = 0;
}

typedef struct
{
  double work_p50;
  double work_p95;
  double interval_p50;
  double interval_p95;
  double client_ms;    /* this process's CPU per frame */
  double server_ms;    /* the X server's CPU per frame, or < 0 */
} LiveFigures;

static LiveFigures
bench_live (Bench            *bench,
            guint             count,
            WbVehicleCompose  compose,
            const char       *name)
{
  g_autoptr(WbVehicleModel) model = wb_vehicle_model_new ();
  WbVehicleLayer *layer = wb_vehicle_layer_new (bench->viewport);
  LiveFigures figures = { 0 };
  GdkFrameClock *clock = gtk_widget_get_frame_clock (GTK_WIDGET (bench->map));
  Live live = { bench, model, g_array_new (FALSE, FALSE, sizeof (double)),
                g_array_new (FALSE, FALSE, sizeof (double)), 0, 0, 0, 0 };
  guint tick, layout_id, paint_id;
  double server_start, server_end, client_start, client_end;

  movers_init (bench);
  for (guint i = 0; i < count; i++)
    update_model (bench, model, i, 0);
  wb_vehicle_layer_set_compose (layer, compose);
  wb_vehicle_layer_set_model (layer, G_LIST_MODEL (model));
  shumate_map_add_layer (bench->map, SHUMATE_LAYER (layer));
  layout_id = g_signal_connect (clock, "update", G_CALLBACK (on_live_layout), &live);
  paint_id = g_signal_connect (clock, "after-paint", G_CALLBACK (on_live_after_paint), &live);
  tick = gtk_widget_add_tick_callback (GTK_WIDGET (bench->map), live_tick, &live, NULL);
  server_start = xserver_cpu_seconds ();
  client_start = process_cpu_seconds ();
  live.end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < live.end)
    g_main_context_iteration (NULL, TRUE);
  client_end = process_cpu_seconds ();
  server_end = xserver_cpu_seconds ();
  gtk_widget_remove_tick_callback (GTK_WIDGET (bench->map), tick);
  g_signal_handler_disconnect (clock, layout_id);
  g_signal_handler_disconnect (clock, paint_id);
  shumate_map_remove_layer (bench->map, SHUMATE_LAYER (layer));

  if (live.work_ms->len > 1)
    {
      figures.work_p50 = percentile (live.work_ms, 0.5);
      figures.work_p95 = percentile (live.work_ms, 0.95);
      figures.interval_p50 = percentile (live.interval_ms, 0.5);
      figures.interval_p95 = percentile (live.interval_ms, 0.95);
      figures.client_ms = 1e3 * (client_end - client_start) / live.work_ms->len;
      figures.server_ms = server_start >= 0 && server_end >= 0 ? 1e3 * (server_end - server_start) / live.work_ms->len : -1;
      g_print ("live, %4u vehicles, %-6s %3u frames in 5 s: work p50 %6.2f  p95 %6.2f  max %6.2f ms | interval p50 %6.2f  p95 %6.2f ms"
               " | CPU a frame: ours %5.2f ms, X server %5.2f ms\n",
               count, name, live.work_ms->len, figures.work_p50, figures.work_p95,
               percentile (live.work_ms, 1.0), figures.interval_p50, figures.interval_p95,
               figures.client_ms, figures.server_ms);
    }
  g_array_unref (live.work_ms);
  g_array_unref (live.interval_ms);
  return figures;
}

static double
median_of (GArray *values)
{
  return percentile (values, 0.5);
}

/* The live pair @runs times, alternating, and the medians of the runs'
 * figures: one run moves with whatever else the machine does. */
typedef struct
{
  const char       *name;
  WbVehicleCompose  compose;
  GArray           *p50;
  GArray           *p95;
  GArray           *interval;
  GArray           *cpu;
} LivePath;

static void
live_path_add (LivePath          *path,
               const LiveFigures *figures)
{
  double cpu = figures->client_ms + MAX (figures->server_ms, 0);

  g_array_append_val (path->p50, figures->work_p50);
  g_array_append_val (path->p95, figures->work_p95);
  g_array_append_val (path->interval, figures->interval_p50);
  g_array_append_val (path->cpu, cpu);
}

/* The live runs @runs times, the paths alternating, and the medians of
 * the runs' figures: one run moves with whatever else the machine does.
 * "auto" is what the layer does on its own; "nodes" is the node per
 * glyph it draws for GL renderers, and drew for Cairo too. */
static void
bench_live_runs (Bench *bench)
{
  LivePath paths[] = {
    { "auto", WB_VEHICLE_COMPOSE_AUTO },
    { "image", WB_VEHICLE_COMPOSE_IMAGE },
    { "nodes", WB_VEHICLE_COMPOSE_NODES },
  };

  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      paths[i].p50 = g_array_new (FALSE, FALSE, sizeof (double));
      paths[i].p95 = g_array_new (FALSE, FALSE, sizeof (double));
      paths[i].interval = g_array_new (FALSE, FALSE, sizeof (double));
      paths[i].cpu = g_array_new (FALSE, FALSE, sizeof (double));
    }
  for (int run = 0; run < runs; run++)
    for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
      {
        LiveFigures figures;

        if (live_path != NULL && !g_str_equal (live_path, paths[i].name))
          continue;
        figures = bench_live (bench, VEHICLES, paths[i].compose, paths[i].name);
        live_path_add (&paths[i], &figures);
      }
  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      if (paths[i].p50->len > 0)
        g_print ("live, %d vehicles, %-5s median of %d runs: work p50 %6.2f  p95 %6.2f ms | interval p50 %6.2f ms"
                 " | CPU a frame (ours + X server) %6.2f ms\n",
                 VEHICLES, paths[i].name, paths[i].p50->len, median_of (paths[i].p50), median_of (paths[i].p95),
                 median_of (paths[i].interval), median_of (paths[i].cpu));
    }
  if (paths[0].p50->len > 0 && paths[2].p50->len > 0)
    g_print ("live ratio (nodes, the previous path / auto): work p50 %.1fx  p95 %.1fx | CPU a frame %.1fx\n",
             median_of (paths[2].p50) / median_of (paths[0].p50), median_of (paths[2].p95) / median_of (paths[0].p95),
             median_of (paths[2].cpu) / median_of (paths[0].cpu));
  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      g_array_unref (paths[i].p50);
      g_array_unref (paths[i].p95);
      g_array_unref (paths[i].interval);
      g_array_unref (paths[i].cpu);
    }
}

static gboolean
is_mapped (Bench *bench)
{
  return gtk_widget_get_mapped (GTK_WIDGET (bench->map))
         && gtk_widget_get_width (GTK_WIDGET (bench->map)) == WIDTH;
}

/* One offscreen path's p50 and p95 (wall and CPU) over the runs. */
typedef struct
{
  const char *name;
  GArray     *wall_p50, *wall_p95, *cpu_p50, *cpu_p95;
} OffscreenPath;

static Figures
offscreen_run (Bench *bench,
               guint  path)
{
  movers_init (bench);
  if (path == 0)
    return bench_vehicle_layer (bench, WB_VEHICLE_COMPOSE_AUTO);
  if (path == 1)
    return bench_vehicle_layer (bench, WB_VEHICLE_COMPOSE_NODES);
  return bench_marker_layer (bench);
}

static void
print_median_ratio (const char    *name,
                    OffscreenPath *baseline,
                    OffscreenPath *layer)
{
  g_print ("ratio (%s / vehicle layer), medians: wall p50 %.1fx  p95 %.1fx | CPU p50 %.1fx  p95 %.1fx\n", name,
           median_of (baseline->wall_p50) / median_of (layer->wall_p50),
           median_of (baseline->wall_p95) / median_of (layer->wall_p95),
           median_of (baseline->cpu_p50) / median_of (layer->cpu_p50),
           median_of (baseline->cpu_p95) / median_of (layer->cpu_p95));
}

/* The three paths built offscreen, @runs times, alternating, after a
 * warm-up of each (glyph textures, label layouts and fonts are made on
 * first use, which would count against whichever runs first); then the
 * medians of the runs' figures. */
static void
bench_offscreen_runs (Bench *bench)
{
  OffscreenPath paths[] = { { "WbVehicleLayer" }, { "  node per glyph" }, { "ShumateMarkerLayer" } };
  int measured = frames;

  frames = MAX (measured / 10, 10);
  for (guint path = 0; path < G_N_ELEMENTS (paths); path++)
    {
      Figures warm = offscreen_run (bench, path);

      g_array_unref (warm.ms);
      g_array_unref (warm.cpu_ms);
      paths[path].wall_p50 = g_array_new (FALSE, FALSE, sizeof (double));
      paths[path].wall_p95 = g_array_new (FALSE, FALSE, sizeof (double));
      paths[path].cpu_p50 = g_array_new (FALSE, FALSE, sizeof (double));
      paths[path].cpu_p95 = g_array_new (FALSE, FALSE, sizeof (double));
    }
  frames = measured;
  bench->glyphs = bench->clusters = 0;

  for (int run = 0; run < MAX (runs, 1); run++)
    for (guint path = 0; path < G_N_ELEMENTS (paths); path++)
      {
        Figures figures = offscreen_run (bench, path);
        double value;

        g_print ("run %d: ", run + 1);
        print_figures (paths[path].name, &figures);
        if (path == 0 && run == 0)
          g_print ("%-20s a frame drew %.0f glyphs and %.0f clusters on average\n", "",
                   (double) bench->glyphs / frames, (double) bench->clusters / frames);
        value = percentile (figures.ms, 0.5);
        g_array_append_val (paths[path].wall_p50, value);
        value = percentile (figures.ms, 0.95);
        g_array_append_val (paths[path].wall_p95, value);
        value = percentile (figures.cpu_ms, 0.5);
        g_array_append_val (paths[path].cpu_p50, value);
        value = percentile (figures.cpu_ms, 0.95);
        g_array_append_val (paths[path].cpu_p95, value);
        g_array_unref (figures.ms);
        g_array_unref (figures.cpu_ms);
      }

  for (guint path = 0; path < G_N_ELEMENTS (paths); path++)
    g_print ("%-20s median of %d runs: wall p50 %7.2f  p95 %7.2f ms | CPU p50 %7.2f  p95 %7.2f ms\n",
             paths[path].name, MAX (runs, 1), median_of (paths[path].wall_p50), median_of (paths[path].wall_p95),
             median_of (paths[path].cpu_p50), median_of (paths[path].cpu_p95));
  print_median_ratio ("node per glyph", &paths[1], &paths[0]);
  print_median_ratio ("marker layer", &paths[2], &paths[0]);
  for (guint path = 0; path < G_N_ELEMENTS (paths); path++)
    {
      g_array_unref (paths[path].wall_p50);
      g_array_unref (paths[path].wall_p95);
      g_array_unref (paths[path].cpu_p50);
      g_array_unref (paths[path].cpu_p95);
    }
}

static void
bench_setup (Bench *bench)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ShumateMapSource) source = SHUMATE_MAP_SOURCE (shumate_raster_renderer_new_full_from_url (
      "bench", "Bench", "", "", 0, 20, 256, SHUMATE_MAP_PROJECTION_MERCATOR, "http://127.0.0.1:9/{z}/{x}/{y}.png"));

  bench->window = GTK_WINDOW (gtk_window_new ());
  bench->map = shumate_map_new ();
  bench->viewport = shumate_map_get_viewport (bench->map);
  shumate_map_set_map_source (bench->map, source);
  gtk_widget_set_size_request (GTK_WIDGET (bench->map), WIDTH, HEIGHT);
  gtk_window_set_child (bench->window, GTK_WIDGET (bench->map));
  gtk_window_set_resizable (bench->window, FALSE);
  gtk_window_present (bench->window);
  while (!is_mapped (bench))
    g_main_context_iteration (NULL, TRUE);
  bench->renderer = gsk_cairo_renderer_new ();
  if (!gsk_renderer_realize (bench->renderer, NULL, &error))
    g_error ("Cairo renderer: %s", error->message);
  movers_init (bench);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = g_option_context_new ("- console map benchmark");
  g_autoptr(GError) error = NULL;
  Bench bench = { 0 };

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    g_error ("%s", error->message);
  if (area <= 0)
    area = depot ? 1.0 / 16 : 1.0;
  if (!gtk_init_check ())
    g_error ("No display: run under xvfb-run");
  bench_setup (&bench);

  g_print ("%d vehicles, %dx%d, %d frames each, Cairo renderer\n", VEHICLES, WIDTH, HEIGHT, frames);
  if (live_only)
    goto live;
  bench_offscreen_runs (&bench);

  /* The window's own repaint under Xvfb, then with the fleet. */
live:
  bench_live (&bench, 0, WB_VEHICLE_COMPOSE_AUTO, "empty");
  bench_live_runs (&bench);

  gsk_renderer_unrealize (bench.renderer);
  g_clear_object (&bench.renderer);
  gtk_window_destroy (bench.window);
  g_free (bench.movers);
  return 0;
}
