// SPDX-License-Identifier: GPL-3.0-or-later
/* The console's map widgets under a real display (Xvfb in CI) with the
 * Cairo renderer: the vehicle layer's projection, culling, clustering,
 * hit-testing, selection, stale colouring, motion and filter, and a PNG
 * screenshot of a fleet on the map in the build directory. */

#include "config.h"

#include <math.h>
#include <shumate/shumate.h>

#include "wb-vehicle-glyphs.h"
#include "wb-vehicle-layer.h"
#include "wb-vehicle-model.h"

/* Minsk. */
#define CITY_LAT 53.90
#define CITY_LON 27.56
#define WIDTH    800
#define HEIGHT   600

typedef struct
{
  GtkWindow        *window;
  ShumateMap       *map;
  ShumateViewport  *viewport;
  ShumateMapSource *source;
  WbVehicleModel   *model;
  WbVehicleLayer   *layer;
} MapFixture;

static void
wait_for (gboolean (*done) (MapFixture *), MapFixture *fixture)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (!done (fixture))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
}

static gboolean
layer_allocated (MapFixture *fixture)
{
  return gtk_widget_get_width (GTK_WIDGET (fixture->layer)) == WIDTH
         && gtk_widget_get_height (GTK_WIDGET (fixture->layer)) == HEIGHT;
}

static void
fixture_setup (MapFixture    *fixture,
               gconstpointer  data)
{
  fixture->window = GTK_WINDOW (gtk_window_new ());
  fixture->map = shumate_map_new ();
  fixture->viewport = shumate_map_get_viewport (fixture->map);
  /* The projection's reference only: no map layer, so nothing loads. */
  fixture->source = SHUMATE_MAP_SOURCE (shumate_raster_renderer_new_full_from_url (
      "test", "Test", "", "", 0, 20, 256, SHUMATE_MAP_PROJECTION_MERCATOR,
      "http://127.0.0.1:9/{z}/{x}/{y}.png"));
  shumate_map_set_map_source (fixture->map, fixture->source);
  fixture->model = wb_vehicle_model_new ();
  fixture->layer = wb_vehicle_layer_new (fixture->viewport);
  wb_vehicle_layer_set_model (fixture->layer, G_LIST_MODEL (fixture->model));
  shumate_map_add_layer (fixture->map, SHUMATE_LAYER (fixture->layer));
  gtk_widget_set_size_request (GTK_WIDGET (fixture->map), WIDTH, HEIGHT);
  gtk_window_set_child (fixture->window, GTK_WIDGET (fixture->map));
  gtk_window_set_resizable (fixture->window, FALSE);
  shumate_map_center_on (fixture->map, CITY_LAT, CITY_LON);
  shumate_viewport_set_zoom_level (fixture->viewport, 14);
  gtk_window_present (fixture->window);
  wait_for (layer_allocated, fixture);
}

static void
fixture_teardown (MapFixture    *fixture,
                  gconstpointer  data)
{
  gtk_window_destroy (fixture->window);
  g_clear_object (&fixture->model);
  g_clear_object (&fixture->source);
}

static WbClientVehicle *
put_vehicle (MapFixture  *fixture,
             const char  *id,
             double       lat,
             double       lon,
             double       course,
             WbLiveState  state)
{
  g_autoptr(WbLiveVehicle) vehicle = wb_live_vehicle_new (id);

  vehicle->lat = lat;
  vehicle->lon = lon;
  vehicle->course = course;
  vehicle->speed = state == WB_LIVE_STATE_MOVING ? 40 : 0;
  vehicle->state = state;
  return wb_vehicle_model_apply (fixture->model, vehicle);
}

/* Runs the layer's snapshot as a frame would and returns its node. */
static GskRenderNode *
snapshot_layer (MapFixture *fixture)
{
  GtkSnapshot *snapshot = gtk_snapshot_new ();

  GTK_WIDGET_GET_CLASS (fixture->layer)->snapshot (GTK_WIDGET (fixture->layer), snapshot);
  return gtk_snapshot_free_to_node (snapshot);
}

/* The layer alone, rendered by the Cairo renderer, as 32-bit pixels. */
typedef struct
{
  guchar *data;
  gsize   stride;
} Pixels;

static void
pixels_free (Pixels *pixels)
{
  g_free (pixels->data);
  g_free (pixels);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Pixels, pixels_free)

static Pixels *
render_layer (MapFixture *fixture)
{
  g_autoptr(GskRenderNode) node = snapshot_layer (fixture);
  g_autoptr(GskRenderer) renderer = gsk_cairo_renderer_new ();
  g_autoptr(GdkTexture) texture = NULL;
  g_autoptr(GError) error = NULL;
  Pixels *pixels = g_new0 (Pixels, 1);

  g_assert_true (gsk_renderer_realize (renderer, NULL, &error));
  g_assert_no_error (error);
  texture = gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, WIDTH, HEIGHT));
  gsk_renderer_unrealize (renderer);
  pixels->stride = WIDTH * 4;
  pixels->data = g_malloc (pixels->stride * HEIGHT);
  gdk_texture_download (texture, pixels->data, pixels->stride);
  return pixels;
}

/* Asserts the pixel at (x, y) is @color, opaque, within a rounding step. */
static void
assert_pixel (const Pixels  *pixels,
              int            x,
              int            y,
              const GdkRGBA *color)
{
  /* gdk_texture_download() gives cairo's ARGB32: B, G, R, A in memory on
   * little-endian, premultiplied. */
  const guchar *p = pixels->data + y * pixels->stride + x * 4;

  g_assert_cmpint (p[3], ==, 255);
  g_assert_cmpint (ABS (p[2] - (int) lround (color->red * 255)), <=, 2);
  g_assert_cmpint (ABS (p[1] - (int) lround (color->green * 255)), <=, 2);
  g_assert_cmpint (ABS (p[0] - (int) lround (color->blue * 255)), <=, 2);
}

static guint8
pixel_alpha (const Pixels *pixels,
             int           x,
             int           y)
{
  return pixels->data[y * pixels->stride + x * 4 + 3];
}

static void
test_projection (MapFixture    *fixture,
                 gconstpointer  data)
{
  double x, y, sx, sy;

  /* At zoom 2 the world is 1024 px across; the centre is the widget's. */
  shumate_map_center_on (fixture->map, 0, 0);
  shumate_viewport_set_zoom_level (fixture->viewport, 2);
  wb_vehicle_layer_project (fixture->layer, 0, 0, &x, &y);
  g_assert_cmpfloat_with_epsilon (x, WIDTH / 2, 1e-9);
  g_assert_cmpfloat_with_epsilon (y, HEIGHT / 2, 1e-9);
  wb_vehicle_layer_project (fixture->layer, 0, 90, &x, &y);
  g_assert_cmpfloat_with_epsilon (x, WIDTH / 2 + 256, 1e-9);
  /* Web Mercator's y of 45°N is 0.359726 of the world. */
  wb_vehicle_layer_project (fixture->layer, 45, -180, &x, &y);
  g_assert_cmpfloat_with_epsilon (x, WIDTH / 2 - 512, 1e-9);
  g_assert_cmpfloat_with_epsilon (y, HEIGHT / 2 - (0.5 - 0.359726) * 1024, 0.01);
  /* The edge of the square world. */
  wb_vehicle_layer_project (fixture->layer, SHUMATE_MAX_LATITUDE, 0, &x, &y);
  g_assert_cmpfloat_with_epsilon (y, HEIGHT / 2 - 512, 1e-6);

  /* At a city zoom it agrees with libshumate's own transform. */
  shumate_map_center_on (fixture->map, CITY_LAT, CITY_LON);
  shumate_viewport_set_zoom_level (fixture->viewport, 15.5);
  wb_vehicle_layer_project (fixture->layer, CITY_LAT + 0.003, CITY_LON - 0.004, &x, &y);
  shumate_viewport_location_to_widget_coords (fixture->viewport, GTK_WIDGET (fixture->layer),
                                              CITY_LAT + 0.003, CITY_LON - 0.004, &sx, &sy);
  g_assert_cmpfloat_with_epsilon (x, sx, 1e-6);
  g_assert_cmpfloat_with_epsilon (y, sy, 1e-6);
  g_assert_cmpfloat (x, <, WIDTH / 2);
  g_assert_cmpfloat (y, <, HEIGHT / 2);

  /* And when the map is rotated. */
  shumate_viewport_set_rotation (fixture->viewport, G_PI / 6);
  wb_vehicle_layer_project (fixture->layer, CITY_LAT + 0.003, CITY_LON - 0.004, &x, &y);
  shumate_viewport_location_to_widget_coords (fixture->viewport, GTK_WIDGET (fixture->layer),
                                              CITY_LAT + 0.003, CITY_LON - 0.004, &sx, &sy);
  g_assert_cmpfloat_with_epsilon (x, sx, 1e-6);
  g_assert_cmpfloat_with_epsilon (y, sy, 1e-6);
}

static void
test_culling (MapFixture    *fixture,
              gconstpointer  data)
{
  g_autoptr(GskRenderNode) first = NULL;
  g_autoptr(GskRenderNode) second = NULL;

  /* 10 in view, 20 half a degree north: far outside at zoom 14. */
  for (guint i = 0; i < 10; i++)
    {
      g_autofree char *id = g_strdup_printf ("in-%u", i);
      put_vehicle (fixture, id, CITY_LAT + i * 0.001, CITY_LON, 90, WB_LIVE_STATE_MOVING);
    }
  for (guint i = 0; i < 20; i++)
    {
      g_autofree char *id = g_strdup_printf ("out-%u", i);
      put_vehicle (fixture, id, CITY_LAT + 0.5, CITY_LON + i * 0.001, 90, WB_LIVE_STATE_MOVING);
    }
  first = snapshot_layer (fixture);
  g_assert_cmpuint (wb_vehicle_layer_get_drawn_glyphs (fixture->layer), ==, 10);

  shumate_map_center_on (fixture->map, CITY_LAT + 0.5, CITY_LON + 0.01);
  second = snapshot_layer (fixture);
  g_assert_cmpuint (wb_vehicle_layer_get_drawn_glyphs (fixture->layer), ==, 20);
  g_assert_cmpuint (wb_vehicle_layer_get_drawn_clusters (fixture->layer), ==, 0);
}

static void
test_clustering (MapFixture    *fixture,
                 gconstpointer  data)
{
  g_autoptr(GskRenderNode) node = NULL;
  double x, y;
  WbVehiclePick pick;

  /* 100 vehicles within ~300 m, and 50 more ~60 km east. */
  for (guint i = 0; i < 150; i++)
    {
      g_autofree char *id = g_strdup_printf ("v-%u", i);
      double lon = i < 100 ? CITY_LON : CITY_LON + 0.9;

      put_vehicle (fixture, id, CITY_LAT + (i % 10) * 0.0003, lon + (i / 10 % 10) * 0.0003, i, WB_LIVE_STATE_MOVING);
    }
  shumate_map_center_on (fixture->map, CITY_LAT, CITY_LON + 0.45);
  shumate_viewport_set_zoom_level (fixture->viewport, 8);
  node = snapshot_layer (fixture);
  g_assert_cmpuint (wb_vehicle_layer_get_drawn_clusters (fixture->layer), ==, 2);
  g_assert_cmpuint (wb_vehicle_layer_get_drawn_glyphs (fixture->layer), ==, 0);

  wb_vehicle_layer_project (fixture->layer, CITY_LAT + 0.0014, CITY_LON + 0.0014, &x, &y);
  g_assert_null (wb_vehicle_layer_pick (fixture->layer, x, y, &pick));
  g_assert_cmpuint (pick.count, ==, 100);
  g_assert_cmpfloat_with_epsilon (pick.latitude, CITY_LAT + 0.00135, 1e-4);
  wb_vehicle_layer_project (fixture->layer, CITY_LAT + 0.0014, CITY_LON + 0.9014, &x, &y);
  g_assert_null (wb_vehicle_layer_pick (fixture->layer, x, y, &pick));
  g_assert_cmpuint (pick.count, ==, 50);

  /* Past the cluster zoom every vehicle in view is its own glyph. */
  g_clear_pointer (&node, gsk_render_node_unref);
  shumate_map_center_on (fixture->map, CITY_LAT + 0.0014, CITY_LON + 0.0014);
  shumate_viewport_set_zoom_level (fixture->viewport, wb_vehicle_layer_get_cluster_zoom (fixture->layer) + 4);
  node = snapshot_layer (fixture);
  g_assert_cmpuint (wb_vehicle_layer_get_drawn_clusters (fixture->layer), ==, 0);
  g_assert_cmpuint (wb_vehicle_layer_get_drawn_glyphs (fixture->layer), ==, 100);
}

static gboolean
match_nothing (gpointer item,
               gpointer user_data)
{
  return FALSE;
}

static void
test_pick (MapFixture    *fixture,
           gconstpointer  data)
{
  WbClientVehicle *a = put_vehicle (fixture, "a", CITY_LAT, CITY_LON, 0, WB_LIVE_STATE_MOVING);
  WbClientVehicle *b = put_vehicle (fixture, "b", CITY_LAT + 0.001, CITY_LON + 0.001, NAN, WB_LIVE_STATE_STOPPED);
  WbVehiclePick pick;
  double x, y;

  shumate_viewport_set_zoom_level (fixture->viewport, 15);
  wb_vehicle_layer_project (fixture->layer, CITY_LAT, CITY_LON, &x, &y);
  g_assert_true (wb_vehicle_layer_pick (fixture->layer, x, y, &pick) == a);
  g_assert_cmpuint (pick.count, ==, 1);
  g_assert_true (wb_vehicle_layer_pick (fixture->layer, x + 5, y - 5, NULL) == a);
  g_assert_true (gtk_widget_contains (GTK_WIDGET (fixture->layer), x, y));

  wb_vehicle_layer_project (fixture->layer, CITY_LAT + 0.001, CITY_LON + 0.001, &x, &y);
  g_assert_true (wb_vehicle_layer_pick (fixture->layer, x, y, NULL) == b);

  /* Empty map: nothing, and clicks fall through to the map. */
  g_assert_null (wb_vehicle_layer_pick (fixture->layer, 20, 20, &pick));
  g_assert_cmpuint (pick.count, ==, 0);
  g_assert_false (gtk_widget_contains (GTK_WIDGET (fixture->layer), 20, 20));
  g_assert_true (gtk_widget_pick (GTK_WIDGET (fixture->map), 20, 20, GTK_PICK_DEFAULT) != GTK_WIDGET (fixture->layer));
  wb_vehicle_layer_project (fixture->layer, CITY_LAT, CITY_LON, &x, &y);
  g_assert_true (gtk_widget_pick (GTK_WIDGET (fixture->map), x, y, GTK_PICK_DEFAULT) == GTK_WIDGET (fixture->layer));

  /* A filtered-out vehicle cannot be picked. */
  {
    g_autoptr(GtkFilter) none = GTK_FILTER (gtk_custom_filter_new (match_nothing, NULL, NULL));

    wb_vehicle_layer_set_filter (fixture->layer, none);
    g_assert_null (wb_vehicle_layer_pick (fixture->layer, x, y, NULL));
    wb_vehicle_layer_set_filter (fixture->layer, NULL);
  }
}

static void
test_selection (MapFixture    *fixture,
                gconstpointer  data)
{
  WbClientVehicle *a = put_vehicle (fixture, "a", CITY_LAT, CITY_LON, NAN, WB_LIVE_STATE_MOVING);
  g_autoptr(Pixels) before = NULL;
  g_autoptr(Pixels) after = NULL;
  g_autoptr(GskRenderNode) node = NULL;
  GdkRGBA halo;
  double x, y;

  wb_vehicle_layer_project (fixture->layer, CITY_LAT, CITY_LON, &x, &y);
  before = render_layer (fixture);
  /* The halo ring lies just outside the glyph. */
  g_assert_cmpint (pixel_alpha (before, (int) x - 12, (int) y), ==, 0);

  wb_vehicle_layer_set_selected (fixture->layer, a);
  g_assert_true (wb_vehicle_layer_get_selected (fixture->layer) == a);
  after = render_layer (fixture);
  g_assert_cmpint (pixel_alpha (after, (int) x - 12, (int) y), >, 128);
  gdk_rgba_parse (&halo, "#1c71d8");
  g_assert_cmpint (ABS (after->data[(int) y * after->stride + ((int) x - 12) * 4 + 0] - 216), <, 40);
  assert_pixel (after, (int) x, (int) y, wb_vehicle_look_get_color (WB_VEHICLE_LOOK_MOVING));

  /* The selected vehicle stays a glyph among clustered ones. */
  for (guint i = 0; i < 30; i++)
    {
      g_autofree char *id = g_strdup_printf ("n-%u", i);
      put_vehicle (fixture, id, CITY_LAT + i * 0.00001, CITY_LON, NAN, WB_LIVE_STATE_STOPPED);
    }
  shumate_viewport_set_zoom_level (fixture->viewport, 6);
  node = snapshot_layer (fixture);
  g_assert_cmpuint (wb_vehicle_layer_get_drawn_glyphs (fixture->layer), ==, 1);
  g_assert_cmpuint (wb_vehicle_layer_get_drawn_clusters (fixture->layer), ==, 1);

  /* Removing the vehicle clears the selection. */
  g_assert_true (wb_vehicle_model_remove (fixture->model, "a"));
  g_assert_null (wb_vehicle_layer_get_selected (fixture->layer));
}

static void
test_stale (MapFixture    *fixture,
            gconstpointer  data)
{
  WbClientVehicle *a = put_vehicle (fixture, "a", CITY_LAT, CITY_LON, NAN, WB_LIVE_STATE_MOVING);
  WbClientVehicle *b = put_vehicle (fixture, "b", CITY_LAT + 0.002, CITY_LON, NAN, WB_LIVE_STATE_OFFLINE);
  g_autoptr(Pixels) fresh = NULL;
  g_autoptr(Pixels) stale = NULL;
  double ax, ay, bx, by;

  wb_vehicle_layer_project (fixture->layer, CITY_LAT, CITY_LON, &ax, &ay);
  wb_vehicle_layer_project (fixture->layer, CITY_LAT + 0.002, CITY_LON, &bx, &by);
  fresh = render_layer (fixture);
  assert_pixel (fresh, (int) ax, (int) ay, wb_vehicle_look_get_color (WB_VEHICLE_LOOK_MOVING));
  assert_pixel (fresh, (int) bx, (int) by, wb_vehicle_look_get_color (WB_VEHICLE_LOOK_OFFLINE));

  /* The stream went down: every glyph says so. */
  wb_vehicle_model_set_stale (fixture->model, TRUE);
  g_assert_true (wb_client_vehicle_get_stale (a));
  g_assert_true (wb_client_vehicle_get_stale (b));
  stale = render_layer (fixture);
  assert_pixel (stale, (int) ax, (int) ay, wb_vehicle_look_get_color (WB_VEHICLE_LOOK_STALE));
  assert_pixel (stale, (int) bx, (int) by, wb_vehicle_look_get_color (WB_VEHICLE_LOOK_STALE));
}

static void
test_motion (MapFixture    *fixture,
             gconstpointer  data)
{
  gint64 t0 = g_get_monotonic_time ();
  WbClientVehicle *a;
  g_autoptr(WbLiveVehicle) next = NULL;
  double x0, y0, x1, y1, x, y;

  wb_vehicle_layer_set_clock_override (fixture->layer, t0);
  a = put_vehicle (fixture, "a", CITY_LAT, CITY_LON, 90, WB_LIVE_STATE_MOVING);
  wb_vehicle_layer_project (fixture->layer, CITY_LAT, CITY_LON, &x0, &y0);
  wb_vehicle_layer_project (fixture->layer, CITY_LAT + 0.001, CITY_LON + 0.002, &x1, &y1);

  next = wb_live_vehicle_copy (wb_client_vehicle_get_state (a));
  next->lat = CITY_LAT + 0.001;
  next->lon = CITY_LON + 0.002;
  wb_vehicle_model_apply (fixture->model, next);

  /* The glyph glides from the old fix to the new one over a second. */
  g_assert_true (wb_vehicle_layer_get_vehicle_point (fixture->layer, a, &x, &y));
  g_assert_cmpfloat_with_epsilon (x, x0, 1e-6);
  g_assert_cmpfloat_with_epsilon (y, y0, 1e-6);
  wb_vehicle_layer_set_clock_override (fixture->layer, t0 + G_USEC_PER_SEC / 2);
  g_assert_true (wb_vehicle_layer_get_vehicle_point (fixture->layer, a, &x, &y));
  g_assert_cmpfloat_with_epsilon (x, (x0 + x1) / 2, 1e-3);
  g_assert_cmpfloat_with_epsilon (y, (y0 + y1) / 2, 1e-3);
  g_assert_true (wb_vehicle_layer_pick (fixture->layer, x, y, NULL) == a);
  wb_vehicle_layer_set_clock_override (fixture->layer, t0 + 2 * G_USEC_PER_SEC);
  g_assert_true (wb_vehicle_layer_get_vehicle_point (fixture->layer, a, &x, &y));
  g_assert_cmpfloat_with_epsilon (x, x1, 1e-6);
  g_assert_cmpfloat_with_epsilon (y, y1, 1e-6);
}

static gboolean
match_moving (gpointer item,
              gpointer user_data)
{
  return wb_client_vehicle_get_state (item)->state == WB_LIVE_STATE_MOVING;
}

static void
test_filter_and_labels (MapFixture    *fixture,
                        gconstpointer  data)
{
  g_autoptr(GtkCustomFilter) filter = gtk_custom_filter_new (match_moving, NULL, NULL);
  g_autoptr(GskRenderNode) all = NULL;
  g_autoptr(GskRenderNode) moving = NULL;
  g_autoptr(GskRenderNode) labelled = NULL;
  g_autoptr(WbLiveVehicle) next = NULL;
  WbClientVehicle *c;

  put_vehicle (fixture, "a", CITY_LAT, CITY_LON, 10, WB_LIVE_STATE_MOVING);
  put_vehicle (fixture, "b", CITY_LAT + 0.001, CITY_LON, 10, WB_LIVE_STATE_STOPPED);
  c = put_vehicle (fixture, "c", CITY_LAT - 0.001, CITY_LON, 10, WB_LIVE_STATE_OFFLINE);
  all = snapshot_layer (fixture);
  g_assert_cmpuint (wb_vehicle_layer_get_drawn_glyphs (fixture->layer), ==, 3);
  g_assert_cmpuint (wb_vehicle_layer_get_drawn_labels (fixture->layer), ==, 0);

  wb_vehicle_layer_set_filter (fixture->layer, GTK_FILTER (filter));
  moving = snapshot_layer (fixture);
  g_assert_cmpuint (wb_vehicle_layer_get_drawn_glyphs (fixture->layer), ==, 1);

  /* A vehicle that starts moving enters the filtered map. */
  next = wb_live_vehicle_copy (wb_client_vehicle_get_state (c));
  next->state = WB_LIVE_STATE_MOVING;
  wb_vehicle_model_apply (fixture->model, next);
  g_clear_pointer (&moving, gsk_render_node_unref);
  moving = snapshot_layer (fixture);
  g_assert_cmpuint (wb_vehicle_layer_get_drawn_glyphs (fixture->layer), ==, 2);

  wb_client_vehicle_set_names (c, "Truck 7", NULL, NULL, NULL);
  shumate_viewport_set_zoom_level (fixture->viewport, wb_vehicle_layer_get_label_zoom (fixture->layer));
  labelled = snapshot_layer (fixture);
  g_assert_cmpuint (wb_vehicle_layer_get_drawn_labels (fixture->layer), ==, 2);
}

int
main (int   argc,
      char *argv[])
{
  gtk_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func) g_test_add (path, MapFixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/console-map/projection", test_projection);
  ADD ("/console-map/culling", test_culling);
  ADD ("/console-map/clustering", test_clustering);
  ADD ("/console-map/pick", test_pick);
  ADD ("/console-map/selection", test_selection);
  ADD ("/console-map/stale", test_stale);
  ADD ("/console-map/motion", test_motion);
  ADD ("/console-map/filter-and-labels", test_filter_and_labels);
#undef ADD

  return g_test_run ();
}
