// SPDX-License-Identifier: GPL-3.0-or-later
/* The console's map widgets under a real display (Xvfb in CI) with the
 * Cairo renderer: the vehicle layer's projection, culling, clustering,
 * hit-testing, selection, stale colouring, motion and filter, and a PNG
 * screenshot of a fleet on the map in the build directory; the graticule
 * labels clear of ShumateSimpleMap's controls; and, against a real
 * waybilld, the subscription following the map's size and the company
 * chosen. */

#include "config.h"

#include <math.h>
#include <shumate/shumate.h>

#include <libsoup/soup.h>

#include "wb-graticule-layer.h"
#include "wb-subscription-layer.h"
#include "wb-test-daemon.h"
#include "wb-test-pg.h"
#include "wb-tile-source.h"
#include "wb-track-layer.h"
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

/* A layer added to a shown map gets its size on the next frame. */
static void
wait_allocated (GtkWidget *widget)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (gtk_widget_get_width (widget) != WIDTH)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
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
test_accessible (MapFixture    *fixture,
                 gconstpointer  data)
{
  /* Glyphs are no accessible objects; the layer is one labelled image. */
  gtk_test_accessible_assert_role (GTK_ACCESSIBLE (fixture->layer), GTK_ACCESSIBLE_ROLE_IMG);
  gtk_test_accessible_assert_property (GTK_ACCESSIBLE (fixture->layer), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                       "Vehicles on the map");
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

  /* Past the cluster zoom, a crowded cell is still counted: 100 glyphs
   * within ~20 px would be a blot. */
  g_clear_pointer (&node, gsk_render_node_unref);
  shumate_map_center_on (fixture->map, CITY_LAT + 0.0014, CITY_LON + 0.0014);
  shumate_viewport_set_zoom_level (fixture->viewport, wb_vehicle_layer_get_cluster_zoom (fixture->layer) + 1);
  node = snapshot_layer (fixture);
  g_assert_cmpuint (wb_vehicle_layer_get_drawn_clusters (fixture->layer), >=, 1);
  g_assert_cmpuint (wb_vehicle_layer_get_drawn_glyphs (fixture->layer), <, 100);

  /* From the label zoom on every vehicle in view is its own glyph. */
  g_clear_pointer (&node, gsk_render_node_unref);
  shumate_map_center_on (fixture->map, CITY_LAT + 0.0014, CITY_LON + 0.0014);
  shumate_viewport_set_zoom_level (fixture->viewport, wb_vehicle_layer_get_label_zoom (fixture->layer));
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
on_vehicle_activated (WbVehicleLayer   *layer,
                      WbClientVehicle  *vehicle,
                      WbClientVehicle **out)
{
  *out = vehicle;
}

static void
on_cluster_activated (WbVehicleLayer *layer,
                      double          latitude,
                      double          longitude,
                      guint           count,
                      guint          *out)
{
  *out = count;
}

/* Delivers a primary-button click to the layer's own click gesture. */
static void
click (MapFixture *fixture,
       double      x,
       double      y)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (GTK_WIDGET (fixture->layer));

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GObject) controller = g_list_model_get_item (controllers, i);

      if (GTK_IS_GESTURE_CLICK (controller))
        g_signal_emit_by_name (controller, "released", 1, x, y);
    }
}

static void
test_activate (MapFixture    *fixture,
               gconstpointer  data)
{
  WbClientVehicle *a = put_vehicle (fixture, "a", CITY_LAT, CITY_LON, 0, WB_LIVE_STATE_MOVING);
  WbClientVehicle *activated = NULL;
  guint cluster_count = 0;
  WbVehiclePick pick;
  double x, y;

  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *id = g_strdup_printf ("c-%u", i);
      put_vehicle (fixture, id, CITY_LAT + 0.01 + i * 0.00001, CITY_LON, 0, WB_LIVE_STATE_MOVING);
    }
  g_signal_connect (fixture->layer, "vehicle-activated", G_CALLBACK (on_vehicle_activated), &activated);
  g_signal_connect (fixture->layer, "cluster-activated", G_CALLBACK (on_cluster_activated), &cluster_count);

  shumate_viewport_set_zoom_level (fixture->viewport, 15);
  wb_vehicle_layer_project (fixture->layer, CITY_LAT, CITY_LON, &x, &y);
  click (fixture, x, y);
  g_assert_true (activated == a);
  g_assert_true (wb_vehicle_layer_get_selected (fixture->layer) == a);

  /* Empty map: nothing happens, the selection stays. */
  activated = NULL;
  click (fixture, 5, 5);
  g_assert_null (activated);
  g_assert_true (wb_vehicle_layer_get_selected (fixture->layer) == a);

  /* A cluster reports its count. */
  wb_vehicle_layer_set_selected (fixture->layer, NULL);
  shumate_viewport_set_zoom_level (fixture->viewport, 8);
  wb_vehicle_layer_project (fixture->layer, CITY_LAT + 0.01, CITY_LON, &x, &y);
  g_assert_null (wb_vehicle_layer_pick (fixture->layer, x, y, &pick));
  g_assert_cmpuint (pick.count, >=, 5);
  click (fixture, x, y);
  g_assert_null (activated);
  g_assert_cmpuint (cluster_count, ==, pick.count);
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

static guint
count_drawn (const Pixels *pixels)
{
  guint drawn = 0;

  for (int y = 0; y < HEIGHT; y++)
    for (int x = 0; x < WIDTH; x++)
      drawn += pixel_alpha (pixels, x, y) > 0;
  return drawn;
}

/* 8 px blocks whose coverage differs by more than placement on whole
 * pixels (a shift of one) and antialiasing would: a glyph, label or
 * cluster missing or misplaced. */
static guint
count_different_blocks (const Pixels *a,
                        const Pixels *b,
                        guint        *covered)
{
  guint different = 0;

  *covered = 0;
  for (int by = 0; by < HEIGHT; by += 8)
    for (int bx = 0; bx < WIDTH; bx += 8)
      {
        int sum_a = 0, sum_b = 0;

        for (int y = by; y < by + 8; y++)
          for (int x = bx; x < bx + 8; x++)
            {
              sum_a += pixel_alpha (a, x, y);
              sum_b += pixel_alpha (b, x, y);
            }
        *covered += MAX (sum_a, sum_b) > 0;
        if (ABS (sum_a - sum_b) > MAX (MAX (sum_a, sum_b) / 4, 255 * 12))
          different++;
      }
  return different;
}

/* The frame painted into one image (the Cairo renderer's way past a
 * few thousand nodes) shows what the node per glyph shows: glyphs, the
 * selection ring, labels and clusters, in the same places. */
static void
test_compose_image (MapFixture    *fixture,
                    gconstpointer  data)
{
  WbClientVehicle *selected = NULL;
  guint glyphs, labels;

  for (guint i = 0; i < 40; i++)
    {
      g_autofree char *id = g_strdup_printf ("veh-%02u", i);
      WbClientVehicle *vehicle = put_vehicle (fixture, id, CITY_LAT + 0.002 * (i / 8) - 0.004,
                                              CITY_LON + 0.004 * (i % 8) - 0.014, i * 37 % 360,
                                              i % 3 == 0 ? WB_LIVE_STATE_OFFLINE : WB_LIVE_STATE_MOVING);

      if (i == 17)
        selected = vehicle;
    }
  wb_vehicle_layer_set_selected (fixture->layer, selected);
  for (guint zoom = 0; zoom < 2; zoom++)
    {
      g_autoptr(Pixels) nodes = NULL;
      g_autoptr(Pixels) image = NULL;
      guint drawn, different, covered;

      /* Labelled glyphs first, then clusters. */
      shumate_viewport_set_zoom_level (fixture->viewport, zoom == 0 ? 15 : 11);
      wb_vehicle_layer_set_compose (fixture->layer, WB_VEHICLE_COMPOSE_NODES);
      nodes = render_layer (fixture);
      glyphs = wb_vehicle_layer_get_drawn_glyphs (fixture->layer);
      labels = wb_vehicle_layer_get_drawn_labels (fixture->layer);
      wb_vehicle_layer_set_compose (fixture->layer, WB_VEHICLE_COMPOSE_IMAGE);
      image = render_layer (fixture);
      g_assert_cmpuint (wb_vehicle_layer_get_drawn_glyphs (fixture->layer), ==, glyphs);
      g_assert_cmpuint (wb_vehicle_layer_get_drawn_labels (fixture->layer), ==, labels);
      if (zoom == 0)
        {
          double x, y;

          g_assert_cmpuint (glyphs, ==, 40);
          g_assert_cmpuint (labels, ==, 40);
          g_assert_true (wb_vehicle_layer_get_vehicle_point (fixture->layer, selected, &x, &y));
          assert_pixel (image, (int) x, (int) y, wb_vehicle_look_get_color (WB_VEHICLE_LOOK_MOVING));
        }
      else
        g_assert_cmpuint (wb_vehicle_layer_get_drawn_clusters (fixture->layer), >, 0);
      drawn = count_drawn (nodes);
      g_assert_cmpuint (drawn, >, 1000);
      /* Label backings land on whole pixels: fewer faint edge pixels. */
      g_assert_cmpuint (count_drawn (image), >, drawn * 90 / 100);
      g_assert_cmpuint (count_drawn (image), <, drawn * 105 / 100);
      different = count_different_blocks (nodes, image, &covered);
      g_assert_cmpuint (covered, >, 20);
      g_assert_cmpuint (different, <=, covered / 50);
    }
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


/* Real frames: the window paints under Xvfb, so the widget paintable
 * holds what a user would see. */
static guint paints;

static void
on_after_paint (GdkFrameClock *clock,
                gpointer       user_data)
{
  paints++;
}

static void
wait_for_paint (MapFixture *fixture)
{
  GdkFrameClock *clock = gtk_widget_get_frame_clock (GTK_WIDGET (fixture->window));
  guint target = paints + 2;
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  gulong id = g_signal_connect (clock, "after-paint", G_CALLBACK (on_after_paint), NULL);

  gtk_widget_queue_draw (GTK_WIDGET (fixture->map));
  while (paints < target)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
      /* Never after the last paint: a queued draw drops the widget's
       * render node, which the paintable shows. */
      if (paints < target)
        gtk_widget_queue_draw (GTK_WIDGET (fixture->map));
    }
  g_signal_handler_disconnect (clock, id);
}

/* Widget paintable → Cairo renderer → PNG, kept in the build dir. */
static void
save_screenshot (MapFixture *fixture,
                 const char *name)
{
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (GTK_WIDGET (fixture->map));
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GskRenderer) renderer = gsk_cairo_renderer_new ();
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree char *path = NULL;

  gdk_paintable_snapshot (paintable, snapshot, WIDTH, HEIGHT);
  node = gtk_snapshot_free_to_node (snapshot);
  g_assert_nonnull (node);
  g_assert_true (gsk_renderer_realize (renderer, NULL, NULL));
  texture = gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, WIDTH, HEIGHT));
  gsk_renderer_unrealize (renderer);
  path = g_test_build_filename (G_TEST_BUILT, name, NULL);
  g_assert_true (gdk_texture_save_to_png (texture, path));
  g_test_message ("screenshot: %s", path);
}

static void
test_screenshot (MapFixture    *fixture,
                 gconstpointer  data)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  WbGraticuleLayer *graticule = wb_graticule_layer_new (fixture->viewport);
  WbTrackLayer *track = wb_track_layer_new (fixture->viewport);
  WbTrackPoint points[120];
  WbTrackTrip trip = { 0, 0 };
  WbTrackStop stop = { 0, 0, 0, 0 };
  WbClientVehicle *selected = NULL;

  shumate_map_insert_layer_behind (fixture->map, SHUMATE_LAYER (graticule), SHUMATE_LAYER (fixture->layer));
  shumate_map_insert_layer_behind (fixture->map, SHUMATE_LAYER (track), SHUMATE_LAYER (fixture->layer));
  for (guint i = 0; i < 300; i++)
    {
      g_autofree char *id = g_strdup_printf ("veh-%03u", i);
      g_autofree char *name = g_strdup_printf ("Truck %u", i);
      WbLiveState state = i % 7 == 0 ? WB_LIVE_STATE_OFFLINE : i % 3 == 0 ? WB_LIVE_STATE_STOPPED : WB_LIVE_STATE_MOVING;
      WbClientVehicle *vehicle = put_vehicle (fixture, id,
                                              CITY_LAT + g_rand_double_range (rand, -0.08, 0.08),
                                              CITY_LON + g_rand_double_range (rand, -0.14, 0.14),
                                              g_rand_double_range (rand, 0, 360), state);

      wb_client_vehicle_set_names (vehicle, name, NULL, NULL, NULL);
      if (i % 11 == 0)
        wb_client_vehicle_set_stale (vehicle, TRUE);
      if (i == 42)
        selected = vehicle;
    }
  wb_vehicle_layer_set_selected (fixture->layer, selected);
  for (guint i = 0; i < G_N_ELEMENTS (points); i++)
    {
      points[i].latitude = CITY_LAT - 0.03 + 0.0005 * i + 0.004 * sin (i / 8.0);
      points[i].longitude = CITY_LON - 0.08 + 0.0013 * i;
      points[i].time = (gint64) i * 30 * G_USEC_PER_SEC + G_USEC_PER_SEC;
    }
  trip.start = points[10].time;
  trip.end = points[90].time;
  stop.latitude = points[100].latitude;
  stop.longitude = points[100].longitude;
  stop.start = points[95].time;
  stop.end = points[105].time;
  wb_track_layer_set_track (track, points, G_N_ELEMENTS (points), &trip, 1, &stop, 1);
  wb_track_layer_set_replay_time (track, points[50].time + 10 * G_USEC_PER_SEC);
  shumate_viewport_set_zoom_level (fixture->viewport, 12.5);
  wait_for_paint (fixture);
  g_assert_cmpuint (wb_vehicle_layer_get_drawn_glyphs (fixture->layer), >, 50);
  g_assert_cmpuint (wb_vehicle_layer_get_drawn_glyphs (fixture->layer)
                    + wb_vehicle_layer_get_drawn_clusters (fixture->layer), <=, 300);
  g_assert_cmpuint (wb_graticule_layer_get_drawn_lines (graticule), >, 2);
  g_assert_cmpuint (wb_track_layer_get_drawn_vertices (track), >, 10);

  save_screenshot (fixture, "console-map-fleet.png");

  /* Zoomed out: counted clusters. */
  shumate_viewport_set_zoom_level (fixture->viewport, 10.5);
  wait_for_paint (fixture);
  g_assert_cmpuint (wb_vehicle_layer_get_drawn_clusters (fixture->layer), >, 0);
  save_screenshot (fixture, "console-map-clusters.png");
}

static void
test_graticule (MapFixture    *fixture,
                gconstpointer  data)
{
  WbGraticuleLayer *graticule = wb_graticule_layer_new (fixture->viewport);
  g_autoptr(GskRenderNode) node = NULL;
  double coarse, fine;

  shumate_map_insert_layer_behind (fixture->map, SHUMATE_LAYER (graticule), SHUMATE_LAYER (fixture->layer));
  wait_allocated (GTK_WIDGET (graticule));
  shumate_viewport_set_zoom_level (fixture->viewport, 3);
  coarse = wb_graticule_layer_get_step (graticule);
  shumate_viewport_set_zoom_level (fixture->viewport, 14);
  fine = wb_graticule_layer_get_step (graticule);
  g_assert_cmpfloat (fine, <, coarse);
  /* Lines stay at least 80 px apart: 256·2^14/360 px per degree. */
  g_assert_cmpfloat (fine * 256 * exp2 (14) / 360, >=, 80);
  g_assert_cmpfloat (fine * 256 * exp2 (14) / 360, <, 250);
  {
    GtkSnapshot *snapshot = gtk_snapshot_new ();

    GTK_WIDGET_GET_CLASS (graticule)->snapshot (GTK_WIDGET (graticule), snapshot);
    node = gtk_snapshot_free_to_node (snapshot);
  }
  /* 800 x 600 px at ≥ 80 px spacing: a handful of lines each way. */
  g_assert_cmpuint (wb_graticule_layer_get_drawn_lines (graticule), >=, 6);
  g_assert_cmpuint (wb_graticule_layer_get_drawn_lines (graticule), <=, 20);
}

static GskRenderNode *
snapshot_widget (GtkWidget *widget)
{
  GtkSnapshot *snapshot = gtk_snapshot_new ();

  GTK_WIDGET_GET_CLASS (widget)->snapshot (widget, snapshot);
  return gtk_snapshot_free_to_node (snapshot);
}

static void
test_track (MapFixture    *fixture,
            gconstpointer  data)
{
  WbTrackLayer *track = wb_track_layer_new (fixture->viewport);
  g_autofree WbTrackPoint *points = g_new0 (WbTrackPoint, 10000);
  WbTrackTrip trip;
  g_autoptr(GskRenderNode) far = NULL;
  g_autoptr(GskRenderNode) near = NULL;
  double lat, lon;

  shumate_map_add_layer (fixture->map, SHUMATE_LAYER (track));
  wait_allocated (GTK_WIDGET (track));
  /* 10 000 fixes a second apart, ~1 m each, north-east over ~14 km. */
  for (guint i = 0; i < 10000; i++)
    {
      points[i].latitude = CITY_LAT + i * 0.00001;
      points[i].longitude = CITY_LON + i * 0.00001;
      points[i].time = G_USEC_PER_SEC * (1000 + (gint64) i);
    }
  trip.start = points[0].time;
  trip.end = points[5000].time;
  wb_track_layer_set_track (track, points, 10000, &trip, 1, NULL, 0);
  g_assert_cmpuint (wb_track_layer_get_n_points (track), ==, 10000);

  /* Zoomed out, pixels-close vertices are dropped. */
  shumate_map_center_on (fixture->map, CITY_LAT + 0.05, CITY_LON + 0.05);
  shumate_viewport_set_zoom_level (fixture->viewport, 11);
  far = snapshot_widget (GTK_WIDGET (track));
  g_assert_cmpuint (wb_track_layer_get_drawn_vertices (track), >, 2);
  g_assert_cmpuint (wb_track_layer_get_drawn_vertices (track), <, 500);

  /* Zoomed in on the middle, only the part in view is drawn. */
  shumate_map_center_on (fixture->map, points[7000].latitude, points[7000].longitude);
  shumate_viewport_set_zoom_level (fixture->viewport, 19);
  near = snapshot_widget (GTK_WIDGET (track));
  g_assert_cmpuint (wb_track_layer_get_drawn_vertices (track), >, 10);
  g_assert_cmpuint (wb_track_layer_get_drawn_vertices (track), <, 2000);

  /* The replay marker interpolates between fixes and stays on the track. */
  g_assert_false (wb_track_layer_get_replay_location (track, &lat, &lon));
  wb_track_layer_set_replay_time (track, points[100].time + G_USEC_PER_SEC / 2);
  g_assert_true (wb_track_layer_get_replay_location (track, &lat, &lon));
  g_assert_cmpfloat_with_epsilon (lat, CITY_LAT + 100.5 * 0.00001, 1e-7);
  g_assert_cmpfloat_with_epsilon (lon, CITY_LON + 100.5 * 0.00001, 1e-7);
  wb_track_layer_set_replay_time (track, G_MAXINT64 / 2);
  g_assert_cmpint (wb_track_layer_get_replay_time (track), ==, points[9999].time);
  g_assert_true (wb_track_layer_get_replay_location (track, &lat, &lon));
  g_assert_cmpfloat_with_epsilon (lat, points[9999].latitude, 1e-7);
}

/* A tile server on 127.0.0.1 that records what it was asked. */
typedef struct
{
  SoupServer *server;
  GUri       *uri;
  guint       requests;
  char       *user_agent;
} TileServer;

static const char tile_bytes[] = "\x89PNG-not-really-a-tile";

static void
on_tile_request (SoupServer        *server,
                 SoupServerMessage *message,
                 const char        *path,
                 GHashTable        *query,
                 gpointer           user_data)
{
  TileServer *tiles = user_data;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (message);

  tiles->requests++;
  g_free (tiles->user_agent);
  tiles->user_agent = g_strdup (soup_message_headers_get_one (headers, "User-Agent"));
  if (!g_str_has_suffix (path, ".png"))
    {
      soup_server_message_set_status (message, SOUP_STATUS_NOT_FOUND, NULL);
      return;
    }
  soup_server_message_set_status (message, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (message, "image/png", SOUP_MEMORY_STATIC, tile_bytes, sizeof tile_bytes - 1);
}

static void
tile_server_start (TileServer *tiles)
{
  g_autoptr(GError) error = NULL;
  GSList *uris;

  tiles->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (tiles->server, NULL, on_tile_request, tiles, NULL);
  g_assert_true (soup_server_listen_local (tiles->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error));
  g_assert_no_error (error);
  uris = soup_server_get_uris (tiles->server);
  tiles->uri = g_uri_ref (uris->data);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
}

static void
tile_server_stop (TileServer *tiles)
{
  soup_server_disconnect (tiles->server);
  g_clear_object (&tiles->server);
  g_clear_pointer (&tiles->uri, g_uri_unref);
  g_clear_pointer (&tiles->user_agent, g_free);
}

static void
on_tile_fetched (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static GBytes *
fetch_tile (WbTileSource *source,
            int           x,
            int           y,
            int           z,
            GError      **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  shumate_data_source_get_tile_data_async (SHUMATE_DATA_SOURCE (source), x, y, z, NULL, on_tile_fetched, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return shumate_data_source_get_tile_data_finish (SHUMATE_DATA_SOURCE (source), result, error);
}

static void
on_received_data (ShumateDataSource *source,
                  int                x,
                  int                y,
                  int                z,
                  GBytes            *bytes,
                  guint             *count)
{
  (*count)++;
}

static void
test_tile_source_http (void)
{
  TileServer tiles = { 0 };
  g_autofree char *template = NULL;
  g_autoptr(WbTileSource) source = NULL;
  g_autoptr(WbTileSource) again = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GBytes) cached = NULL;
  g_autoptr(GBytes) from_disk = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *on_disk = NULL;
  guint received = 0;

  tile_server_start (&tiles);
  template = g_strdup_printf ("http://127.0.0.1:%d/{z}/{x}/{y}.png", g_uri_get_port (tiles.uri));
  source = wb_tile_source_new (template);
  g_assert_false (wb_tile_source_is_none (source));
  g_signal_connect (source, "received-data", G_CALLBACK (on_received_data), &received);

  bytes = fetch_tile (source, 3, 5, 4, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), tile_bytes, sizeof tile_bytes - 1);
  g_assert_cmpuint (tiles.requests, ==, 1);
  g_assert_cmpuint (received, ==, 1);
  /* The application's own User-Agent, not libshumate's. */
  g_assert_cmpstr (tiles.user_agent, ==, WB_TILE_SOURCE_USER_AGENT);
  g_assert_true (g_str_has_prefix (tiles.user_agent, "Waybill/" PACKAGE_VERSION " (+"));

  /* Again: from memory, no request. */
  cached = fetch_tile (source, 3, 5, 4, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (tiles.requests, ==, 1);
  g_assert_cmpuint (wb_tile_source_get_memory_hits (source), ==, 1);

  /* A new source on the same template reads the disk cache. */
  on_disk = g_build_filename (wb_tile_source_get_cache_dir (source), "4", "3", "5", NULL);
  g_assert_true (g_str_has_prefix (on_disk, g_get_user_cache_dir ()));
  while (!g_file_test (on_disk, G_FILE_TEST_EXISTS))
    g_main_context_iteration (NULL, FALSE);
  again = wb_tile_source_new (template);
  from_disk = fetch_tile (again, 3, 5, 4, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (from_disk, bytes));
  g_assert_cmpuint (tiles.requests, ==, 1);
  g_assert_cmpuint (wb_tile_source_get_network_fetches (again), ==, 0);

  /* A 404 is an error, not a tile. */
  {
    g_autofree char *bad = g_strdup_printf ("http://127.0.0.1:%d/{z}/{x}/{y}.jpg", g_uri_get_port (tiles.uri));
    g_autoptr(WbTileSource) missing = wb_tile_source_new (bad);
    g_autoptr(GBytes) none = fetch_tile (missing, 1, 1, 1, &error);

    g_assert_null (none);
    g_assert_error (error, WB_TILE_SOURCE_ERROR, WB_TILE_SOURCE_ERROR_HTTP);
    g_clear_error (&error);
  }
  tile_server_stop (&tiles);
}

static void
test_tile_source_unreachable (void)
{
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr(GInetSocketAddress) any = G_INET_SOCKET_ADDRESS (g_inet_socket_address_new_from_string ("127.0.0.1", 0));
  g_autoptr(GSocketAddress) bound = NULL;
  g_autofree char *template = NULL;
  g_autoptr(WbTileSource) source = NULL;
  guint port;

  /* A port nothing listens on: bound, never listening. */
  g_assert_true (g_socket_bind (socket, G_SOCKET_ADDRESS (any), FALSE, NULL));
  bound = g_socket_get_local_address (socket, NULL);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  template = g_strdup_printf ("http://127.0.0.1:%u/{z}/{x}/{y}.png", port);
  source = wb_tile_source_new (template);
  g_assert_true (wb_tile_source_get_reachable (source));
  for (int i = 0; i < 3; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) bytes = fetch_tile (source, i, 0, 2, &error);

      g_assert_null (bytes);
      g_assert_nonnull (error);
    }
  g_assert_false (wb_tile_source_get_reachable (source));
}

static void
test_tile_source_local (void)
{
  g_autofree char *root = g_build_filename (g_get_user_data_dir (), "tiles", NULL);
  g_autofree char *dir = g_build_filename (root, "7", "70", NULL);
  g_autofree char *template = g_build_filename (root, "{z}", "{x}", "{y}.png", NULL);
  g_autofree char *uri_template = g_strconcat ("file://", template, NULL);
  g_autoptr(WbTileSource) by_path = NULL;
  g_autoptr(WbTileSource) by_uri = NULL;
  g_autoptr(WbTileSource) none = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  for (int y = 40; y < 43; y++)
    {
      g_autofree char *name = g_strdup_printf ("%d.png", y);
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_assert_true (g_file_set_contents (path, name, -1, NULL));
    }

  by_path = wb_tile_source_new (template);
  by_uri = wb_tile_source_new (uri_template);
  g_assert_null (wb_tile_source_get_cache_dir (by_path));
  {
    g_autoptr(GBytes) a = fetch_tile (by_path, 70, 41, 7, &error);
    g_autoptr(GBytes) b = NULL;

    g_assert_no_error (error);
    g_assert_cmpmem (g_bytes_get_data (a, NULL), g_bytes_get_size (a), "41.png", 6);
    b = fetch_tile (by_uri, 70, 42, 7, &error);
    g_assert_no_error (error);
    g_assert_cmpmem (g_bytes_get_data (b, NULL), g_bytes_get_size (b), "42.png", 6);
  }

  /* The memory cache keeps the most recently used tiles only. */
  wb_tile_source_set_memory_tiles (by_path, 2);
  for (int y = 40; y < 43; y++)
    {
      g_autoptr(GBytes) tile = fetch_tile (by_path, 70, y, 7, &error);
      g_assert_no_error (error);
    }
  g_assert_cmpuint (wb_tile_source_get_memory_hits (by_path), ==, 1);    /* 41 again */
  {
    g_autoptr(GBytes) newest = fetch_tile (by_path, 70, 42, 7, &error);
    g_autoptr(GBytes) evicted = fetch_tile (by_path, 70, 40, 7, &error);
  }
  g_assert_cmpuint (wb_tile_source_get_memory_hits (by_path), ==, 2);

  /* A missing local tile is an error. */
  {
    g_autoptr(GBytes) missing = fetch_tile (by_path, 1, 1, 1, &error);
    g_assert_null (missing);
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
    g_clear_error (&error);
  }

  /* "none" has no tiles at all, and OSM's default carries its credit. */
  none = wb_tile_source_new ("none");
  g_assert_true (wb_tile_source_is_none (none));
  {
    g_autoptr(GBytes) nothing = fetch_tile (none, 0, 0, 0, &error);
    g_assert_null (nothing);
    g_assert_error (error, WB_TILE_SOURCE_ERROR, WB_TILE_SOURCE_ERROR_NONE);
  }
  {
    g_autoptr(WbTileSource) osm = wb_tile_source_new (WB_TILE_SOURCE_OSM_TEMPLATE);
    g_autoptr(ShumateMapSource) map_source = wb_tile_source_create_map_source (osm);

    g_assert_cmpstr (wb_tile_source_get_attribution (osm), ==, "© OpenStreetMap contributors");
    g_assert_cmpstr (shumate_map_source_get_license (map_source), ==, "© OpenStreetMap contributors");
  }
}


/* ---- graticule labels and the map's controls ------------------------------ */

/* The controls floating over a ShumateSimpleMap (its children besides
 * the map), in @widget's coordinates. */
static GArray *
overlay_controls (ShumateSimpleMap *map,
                  GtkWidget        *widget)
{
  GArray *controls = g_array_new (FALSE, FALSE, sizeof (graphene_rect_t));
  GtkWidget *inner = GTK_WIDGET (shumate_simple_map_get_map (map));

  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (map)); child; child = gtk_widget_get_next_sibling (child))
    {
      graphene_rect_t bounds;

      if (child == inner || !gtk_widget_get_mapped (child)
          || !gtk_widget_compute_bounds (child, widget, &bounds) || bounds.size.width <= 0)
        continue;
      g_array_append_val (controls, bounds);
    }
  return controls;
}

static gboolean
simple_map_allocated (GtkWidget *widget)
{
  return gtk_widget_get_width (widget) >= WIDTH && gtk_widget_get_mapped (widget);
}

/* ShumateSimpleMap puts its zoom buttons top right and its scale bottom
 * left, where the graticule's labels sit: as the map pans, every label
 * drawn stays clear of them, and some have had to move. */
static void
test_graticule_clear_of_controls (void)
{
  GtkWindow *window = GTK_WINDOW (gtk_window_new ());
  ShumateSimpleMap *map = shumate_simple_map_new ();
  ShumateViewport *viewport = shumate_simple_map_get_viewport (map);
  g_autoptr(ShumateMapSource) source = SHUMATE_MAP_SOURCE (shumate_raster_renderer_new_full_from_url (
      "test", "Test", "", "", 0, 20, 256, SHUMATE_MAP_PROJECTION_MERCATOR, "http://127.0.0.1:9/{z}/{x}/{y}.png"));
  WbGraticuleLayer *graticule = wb_graticule_layer_new (viewport);
  g_autoptr(GArray) controls = NULL;
  guint moved = 0, labels = 0;
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  double step;

  shumate_simple_map_set_map_source (map, source);
  shumate_simple_map_add_overlay_layer (map, SHUMATE_LAYER (graticule));
  gtk_widget_set_size_request (GTK_WIDGET (map), WIDTH, HEIGHT);
  gtk_window_set_child (window, GTK_WIDGET (map));
  gtk_window_set_resizable (window, FALSE);
  shumate_viewport_set_zoom_level (viewport, 13);
  gtk_window_present (window);
  while (!simple_map_allocated (GTK_WIDGET (graticule)))
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("graticule %d x %d, mapped %d", gtk_widget_get_width (GTK_WIDGET (graticule)),
                 gtk_widget_get_height (GTK_WIDGET (graticule)), gtk_widget_get_mapped (GTK_WIDGET (graticule)));
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  controls = overlay_controls (map, GTK_WIDGET (graticule));
  /* The zoom buttons, the scale, the licence. */
  g_assert_cmpuint (controls->len, >=, 3);
  step = wb_graticule_layer_get_step (graticule);

  /* A whole step of longitude and latitude, a tenth at a time: every
   * meridian passes under the zoom buttons once. */
  for (guint i = 0; i < 20; i++)
    {
      GtkSnapshot *snapshot = gtk_snapshot_new ();
      g_autoptr(GskRenderNode) node = NULL;
      GArray *bounds;

      shumate_location_set_location (SHUMATE_LOCATION (viewport), CITY_LAT + step * i / 20, CITY_LON + step * i / 20);
      GTK_WIDGET_GET_CLASS (graticule)->snapshot (GTK_WIDGET (graticule), snapshot);
      node = gtk_snapshot_free_to_node (snapshot);
      bounds = wb_graticule_layer_get_label_bounds (graticule);
      for (guint l = 0; l < bounds->len; l++)
        {
          const graphene_rect_t *label = &g_array_index (bounds, graphene_rect_t, l);

          labels++;
          /* Whole, never cut by the widget's edge. */
          g_assert_cmpfloat (label->origin.x, >=, 0);
          g_assert_cmpfloat (label->origin.y, >=, 0);
          g_assert_cmpfloat (label->origin.x + label->size.width, <=, gtk_widget_get_width (GTK_WIDGET (graticule)));
          g_assert_cmpfloat (label->origin.y + label->size.height, <=, gtk_widget_get_height (GTK_WIDGET (graticule)));
          for (guint c = 0; c < controls->len; c++)
            {
              const graphene_rect_t *control = &g_array_index (controls, graphene_rect_t, c);

              g_assert_false (graphene_rect_intersection (label, control, NULL));
              /* Below the top edge, yet over the controls' columns: a
               * meridian's label moved down its line. */
              if (label->origin.y > 10 && label->origin.x + label->size.width > control->origin.x
                  && label->origin.x < control->origin.x + control->size.width)
                moved++;
            }
        }
    }
  g_assert_cmpuint (labels, >, 40);
  g_assert_cmpuint (moved, >, 0);
  gtk_window_destroy (window);
}

/* ---- the subscription against a real waybilld ------------------------------- */

typedef struct
{
  WbTestDaemon     *daemon;
  SoupSession      *session;
  guint             port;
  gint64            next_fix;       /* unix ms */
  WbClient         *client;
  WbVehicleModel   *model;
  WbLocationStream *stream;
  GtkWindow        *window;
  ShumateMap       *map;
  ShumateViewport  *viewport;
  ShumateMapSource *source;
  WbSubscriptionLayer *subscription;
} LiveFixture;

#define WAIT_UNTIL(condition)                                           \
  G_STMT_START {                                                        \
    gint64 wait_deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC; \
    while (!(condition))                                                \
      {                                                                 \
        g_assert_cmpint (g_get_monotonic_time (), <, wait_deadline);    \
        g_main_context_iteration (NULL, FALSE);                         \
        g_usleep (1000);                                                \
      }                                                                 \
  } G_STMT_END

static guint
live_http (LiveFixture *f,
           const char  *method,
           const char  *path,
           const char  *body)
{
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u%s", f->port, path);
  g_autoptr(SoupMessage) message = soup_message_new (method, uri);
  g_autoptr(GBytes) answer = NULL;

  if (body != NULL)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));

      soup_message_set_request_body_from_bytes (message, "application/json", bytes);
    }
  answer = soup_session_send_and_read (f->session, message, NULL, NULL);
  return soup_message_get_status (message);
}

/* A loopback daemon without a secret serves without a token. */
static void
start_live_daemon (LiveFixture *f)
{
  g_autofree char *conninfo = wb_test_pg_create_database ("console_map");
  g_autofree char *dsn = g_strconcat ("DB_DSN=", conninfo, NULL);
  const char *env[] = { dsn, "SERVER_PORT=0", NULL };
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  f->daemon = wb_test_daemon_spawn (env, NULL);
  f->port = wb_test_daemon_port (f->daemon);
  while (live_http (f, "GET", "/readyz", NULL) != 200)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (50 * 1000);
    }
}

static void
register_vehicle (LiveFixture *f,
                  const char  *vehicle,
                  const char  *company)
{
  g_autofree char *vehicle_path = g_strdup_printf ("/vehicles/%s", vehicle);
  g_autofree char *vehicle_body = g_strdup_printf ("{\"plate\":\"%s\",\"companyId\":\"%s\"}", vehicle, company);
  g_autofree char *device_path = g_strdup_printf ("/devices/d-%s", vehicle);
  g_autofree char *device_body = g_strdup_printf ("{\"vehicleId\":\"%s\",\"token\":null}", vehicle);

  g_assert_cmpuint (live_http (f, "PUT", vehicle_path, vehicle_body), ==, 200);
  g_assert_cmpuint (live_http (f, "PUT", device_path, device_body), ==, 200);
}

static void
post_fix (LiveFixture *f,
          const char  *vehicle,
          double       lat,
          double       lon)
{
  gint64 ms = f->next_fix++;
  g_autoptr(GDateTime) fix = g_date_time_new_from_unix_utc (ms / 1000);
  g_autofree char *seconds = g_date_time_format (fix, "%Y-%m-%dT%H:%M:%S");
  g_autofree char *body = g_strdup_printf ("[{\"deviceId\":\"d-%s\",\"timestamp\":\"%s.%03dZ\",\"lat\":%.6f,"
                                           "\"lon\":%.6f,\"speed\":30,\"course\":90}]",
                                           vehicle, seconds, (int) (ms % 1000), lat, lon);

  g_assert_cmpuint (live_http (f, "POST", "/telemetry", body), ==, 200);
}

/* At zoom 12, 400 px are 0.137° of longitude: "near" is in the first
 * view, "east" 0.15° east of the centre only once the map is 1200 px
 * wide. "other" is near too, of another company. */
#define SMALL_WIDTH  400
#define LARGE_WIDTH  1200
#define LIVE_HEIGHT  300

static void
live_setup (LiveFixture   *f,
            gconstpointer  data)
{
  g_autofree char *url = NULL;

  f->session = soup_session_new_with_options ("timeout", 30, NULL);
  start_live_daemon (f);
  f->next_fix = g_get_real_time () / 1000 - 60 * 1000;
  g_assert_cmpuint (live_http (f, "PUT", "/companies/c1", "{\"name\":\"West Logistics\"}"), ==, 200);
  g_assert_cmpuint (live_http (f, "PUT", "/companies/c2", "{\"name\":\"East Logistics\"}"), ==, 200);
  register_vehicle (f, "near", "c1");
  register_vehicle (f, "east", "c1");
  register_vehicle (f, "other", "c2");
  post_fix (f, "near", CITY_LAT, CITY_LON + 0.01);
  post_fix (f, "east", CITY_LAT, CITY_LON + 0.15);
  post_fix (f, "other", CITY_LAT + 0.01, CITY_LON - 0.01);

  url = g_strdup_printf ("http://127.0.0.1:%u", f->port);
  f->client = wb_client_new (url, NULL);
  f->model = wb_vehicle_model_new ();
  f->stream = wb_location_stream_new (f->client, f->model);
  wb_location_stream_set_debounce (f->stream, 0);

  f->window = GTK_WINDOW (gtk_window_new ());
  f->map = shumate_map_new ();
  f->viewport = shumate_map_get_viewport (f->map);
  f->source = SHUMATE_MAP_SOURCE (shumate_raster_renderer_new_full_from_url (
      "test", "Test", "", "", 0, 20, 256, SHUMATE_MAP_PROJECTION_MERCATOR, "http://127.0.0.1:9/{z}/{x}/{y}.png"));
  shumate_map_set_map_source (f->map, f->source);
  f->subscription = wb_subscription_layer_new (f->viewport);
  shumate_map_add_layer (f->map, SHUMATE_LAYER (f->subscription));
  gtk_widget_set_size_request (GTK_WIDGET (f->map), SMALL_WIDTH, LIVE_HEIGHT);
  gtk_window_set_child (f->window, GTK_WIDGET (f->map));
  gtk_window_set_resizable (f->window, FALSE);
  shumate_map_center_on (f->map, CITY_LAT, CITY_LON);
  shumate_viewport_set_zoom_level (f->viewport, 12);
  wb_subscription_layer_set_stream (f->subscription, f->stream);
  wb_location_stream_start (f->stream);
  gtk_window_present (f->window);
}

static void
live_teardown (LiveFixture   *f,
               gconstpointer  data)
{
  wb_location_stream_stop (f->stream);
  gtk_window_destroy (f->window);
  g_clear_object (&f->stream);
  g_clear_object (&f->model);
  g_clear_object (&f->client);
  g_clear_object (&f->source);
  g_clear_object (&f->session);
  g_assert_cmpint (wb_test_daemon_terminate (f->daemon), ==, 0);
  wb_test_daemon_free (f->daemon);
}

static gboolean
has_vehicle (LiveFixture *f,
             const char  *id)
{
  return wb_vehicle_model_lookup (f->model, id) != NULL;
}

/* The box sent covers what the map shows: its four corners. */
static void
assert_bbox_covers_map (LiveFixture *f)
{
  GtkWidget *map = GTK_WIDGET (f->map);
  double width = gtk_widget_get_width (map), height = gtk_widget_get_height (map);
  double corners[4][2] = { { 0, 0 }, { width, 0 }, { 0, height }, { width, height } };
  WbLiveBbox bbox;

  g_assert_true (wb_subscription_layer_get_bbox (f->subscription, &bbox));
  for (guint i = 0; i < G_N_ELEMENTS (corners); i++)
    {
      double lat, lon;

      shumate_viewport_widget_coords_to_location (f->viewport, map, corners[i][0], corners[i][1], &lat, &lon);
      g_assert_cmpfloat (bbox.min_lon, <=, lon + 1e-9);
      g_assert_cmpfloat (bbox.max_lon, >=, lon - 1e-9);
      g_assert_cmpfloat (bbox.min_lat, <=, lat + 1e-9);
      g_assert_cmpfloat (bbox.max_lat, >=, lat - 1e-9);
    }
}

/* A wider map (the window resized, the sidebar hidden) shows more: the
 * subscription's box grows with it, without a pan or a zoom, and the
 * vehicle now in view arrives. */
static void
test_subscription_resize (LiveFixture   *f,
                          gconstpointer  data)
{
  WAIT_UNTIL (gtk_widget_get_width (GTK_WIDGET (f->map)) == SMALL_WIDTH);
  WAIT_UNTIL (wb_location_stream_get_state (f->stream) == WB_STREAM_STATE_LIVE && has_vehicle (f, "near"));
  assert_bbox_covers_map (f);
  g_assert_false (has_vehicle (f, "east"));

  gtk_widget_set_size_request (GTK_WIDGET (f->map), LARGE_WIDTH, LIVE_HEIGHT);
  WAIT_UNTIL (gtk_widget_get_width (GTK_WIDGET (f->map)) == LARGE_WIDTH);
  assert_bbox_covers_map (f);
  WAIT_UNTIL (has_vehicle (f, "east"));
  g_assert_true (has_vehicle (f, "near"));
  g_assert_true (has_vehicle (f, "other"));

  /* Narrower again: it leaves with the box. */
  gtk_widget_set_size_request (GTK_WIDGET (f->map), SMALL_WIDTH, LIVE_HEIGHT);
  WAIT_UNTIL (gtk_widget_get_width (GTK_WIDGET (f->map)) == SMALL_WIDTH);
  assert_bbox_covers_map (f);
  WAIT_UNTIL (!has_vehicle (f, "east"));
}

/* A company chosen goes into the subscription: only its vehicles arrive,
 * the others' leave, and their new fixes do not come; every company
 * again brings them back. */
static void
test_subscription_company (LiveFixture   *f,
                           gconstpointer  data)
{
  WAIT_UNTIL (wb_location_stream_get_state (f->stream) == WB_STREAM_STATE_LIVE
              && has_vehicle (f, "near") && has_vehicle (f, "other"));

  wb_subscription_layer_set_company_id (f->subscription, "c2");
  WAIT_UNTIL (!has_vehicle (f, "near"));
  g_assert_true (has_vehicle (f, "other"));
  post_fix (f, "near", CITY_LAT - 0.005, CITY_LON);
  post_fix (f, "other", CITY_LAT + 0.005, CITY_LON);
  WAIT_UNTIL (fabs (wb_client_vehicle_get_latitude (wb_vehicle_model_lookup (f->model, "other")) - (CITY_LAT + 0.005)) < 1e-6);
  g_assert_false (has_vehicle (f, "near"));
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (f->model)); i++)
    {
      g_autoptr(WbClientVehicle) vehicle = g_list_model_get_item (G_LIST_MODEL (f->model), i);

      g_assert_cmpstr (wb_client_vehicle_get_state (vehicle)->company_id, ==, "c2");
    }

  wb_subscription_layer_set_company_id (f->subscription, NULL);
  WAIT_UNTIL (has_vehicle (f, "near"));
  g_assert_cmpfloat (fabs (wb_client_vehicle_get_latitude (wb_vehicle_model_lookup (f->model, "near")) - (CITY_LAT - 0.005)), <, 1e-6);
}

int
main (int   argc,
      char *argv[])
{
  gtk_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func) g_test_add (path, MapFixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/console-map/projection", test_projection);
  ADD ("/console-map/accessible", test_accessible);
  ADD ("/console-map/culling", test_culling);
  ADD ("/console-map/clustering", test_clustering);
  ADD ("/console-map/pick", test_pick);
  ADD ("/console-map/selection", test_selection);
  ADD ("/console-map/activate", test_activate);
  ADD ("/console-map/stale", test_stale);
  ADD ("/console-map/compose-image", test_compose_image);
  ADD ("/console-map/motion", test_motion);
  ADD ("/console-map/filter-and-labels", test_filter_and_labels);
  ADD ("/console-map/graticule", test_graticule);
  ADD ("/console-map/track", test_track);
  ADD ("/console-map/screenshot", test_screenshot);
#undef ADD
  g_test_add_func ("/console-map/tile-source/http", test_tile_source_http);
  g_test_add_func ("/console-map/tile-source/unreachable", test_tile_source_unreachable);
  g_test_add_func ("/console-map/tile-source/local", test_tile_source_local);
  g_test_add_func ("/console-map/graticule/clear-of-controls", test_graticule_clear_of_controls);
  g_test_add ("/console-map/subscription/resize", LiveFixture, NULL, live_setup, test_subscription_resize, live_teardown);
  g_test_add ("/console-map/subscription/company", LiveFixture, NULL, live_setup, test_subscription_company, live_teardown);

  return g_test_run ();
}
