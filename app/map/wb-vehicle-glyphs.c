// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include <math.h>

#include "wb-vehicle-glyphs.h"

#define N_CLUSTER_SIZES 4

struct _WbVehicleGlyphs
{
  int            scale;
  gboolean       for_cairo;
  GskRenderNode *arrows[WB_VEHICLE_N_LOOKS][WB_VEHICLE_HEADING_STEPS];
  GskRenderNode *dots[WB_VEHICLE_N_LOOKS];
  GskRenderNode *halo;
  GskRenderNode *clusters[N_CLUSTER_SIZES];
};

/* GNOME's palette: green moves, blue waits, grey is gone; amber says the
 * picture may be out of date, whatever the state was. */
static const GdkRGBA look_colors[WB_VEHICLE_N_LOOKS] = {
  { 0.180f, 0.761f, 0.494f, 1.0f },   /* #2ec27e */
  { 0.208f, 0.518f, 0.894f, 1.0f },   /* #3584e4 */
  { 0.467f, 0.463f, 0.482f, 1.0f },   /* #77767b */
  { 0.961f, 0.761f, 0.067f, 1.0f },   /* #f5c211 */
};

static const GdkRGBA outline_color = { 1.0f, 1.0f, 1.0f, 1.0f };
static const GdkRGBA halo_color = { 0.110f, 0.443f, 0.847f, 0.9f };    /* #1c71d8 */
static const GdkRGBA cluster_color = { 0.110f, 0.443f, 0.847f, 0.85f };

WbVehicleLook
wb_vehicle_look_for (WbClientVehicle *vehicle)
{
  const WbLiveVehicle *state = wb_client_vehicle_get_state (vehicle);

  if (wb_client_vehicle_get_stale (vehicle))
    return WB_VEHICLE_LOOK_STALE;
  switch (state->state)
    {
    case WB_LIVE_STATE_MOVING:
      return WB_VEHICLE_LOOK_MOVING;
    case WB_LIVE_STATE_OFFLINE:
      return WB_VEHICLE_LOOK_OFFLINE;
    case WB_LIVE_STATE_STOPPED:
    default:
      return WB_VEHICLE_LOOK_STOPPED;
    }
}

const GdkRGBA *
wb_vehicle_look_get_color (WbVehicleLook look)
{
  g_return_val_if_fail (look < WB_VEHICLE_N_LOOKS, &look_colors[0]);
  return &look_colors[look];
}

/* Glyphs are drawn once into pixels. For GL renderers they are shared as
 * texture nodes (uploaded once, kept across frames). The Cairo renderer
 * copies a texture node's pixels into a new surface on every paint, so
 * for it they are cairo nodes whose only operation is painting the
 * finished image: half the time per glyph. A cairo node holding the
 * vector drawing itself would replay the arcs and strokes every paint.
 * @radius is in logical pixels around (0, 0); the node is in device
 * pixels. */
typedef struct
{
  cairo_surface_t *surface;
  double           half;       /* device pixels from the centre to an edge */
  gboolean         for_cairo;
} Canvas;

static cairo_t *
begin_node (Canvas          *canvas,
            double           radius,
            WbVehicleGlyphs *glyphs)
{
  int scale = glyphs->scale;
  int size;
  cairo_t *cr;

  canvas->half = ceil (radius * scale);
  size = (int) (2 * canvas->half);
  canvas->for_cairo = glyphs->for_cairo;
  canvas->surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, size, size);
  cr = cairo_create (canvas->surface);
  cairo_translate (cr, canvas->half, canvas->half);
  cairo_scale (cr, scale, scale);
  return cr;
}

static GskRenderNode *
end_node (Canvas  *canvas,
          cairo_t *cr)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  int size = cairo_image_surface_get_width (canvas->surface);
  int stride = cairo_image_surface_get_stride (canvas->surface);
  graphene_rect_t bounds = GRAPHENE_RECT_INIT (-canvas->half, -canvas->half, size, size);

  cairo_destroy (cr);
  cairo_surface_flush (canvas->surface);
  if (canvas->for_cairo)
    {
      GskRenderNode *node = gsk_cairo_node_new (&bounds);

      cr = gsk_cairo_node_get_draw_context (node);
      cairo_set_source_surface (cr, canvas->surface, -canvas->half, -canvas->half);
      cairo_paint (cr);
      cairo_destroy (cr);
      cairo_surface_destroy (canvas->surface);
      return node;
    }
  bytes = g_bytes_new (cairo_image_surface_get_data (canvas->surface), (gsize) stride * size);
  /* GDK_MEMORY_DEFAULT is cairo's ARGB32 layout. */
  texture = gdk_memory_texture_new (size, size, GDK_MEMORY_DEFAULT, bytes, stride);
  cairo_surface_destroy (canvas->surface);
  return gsk_texture_node_new (texture, &bounds);
}

static void
fill_and_outline (cairo_t       *cr,
                  const GdkRGBA *fill)
{
  gdk_cairo_set_source_rgba (cr, fill);
  cairo_fill_preserve (cr);
  gdk_cairo_set_source_rgba (cr, &outline_color);
  cairo_set_line_width (cr, 1.5);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  cairo_stroke (cr);
}

static GskRenderNode *
draw_arrow (WbVehicleGlyphs *glyphs,
            const GdkRGBA   *fill,
            guint            step)
{
  Canvas canvas;
  cairo_t *cr = begin_node (&canvas, WB_VEHICLE_GLYPH_RADIUS + 2, glyphs);
  double r = WB_VEHICLE_GLYPH_RADIUS - 3.5;

  cairo_rotate (cr, step * 2 * G_PI / WB_VEHICLE_HEADING_STEPS);

  /* A disc with a point towards the heading: readable both as "where"
   * and "which way". */
  cairo_move_to (cr, 0, -WB_VEHICLE_GLYPH_RADIUS - 1);
  cairo_arc (cr, 0, 0, r, -G_PI / 2 + 0.9, 3 * G_PI / 2 - 0.9);
  cairo_close_path (cr);
  fill_and_outline (cr, fill);
  return end_node (&canvas, cr);
}

static GskRenderNode *
draw_dot (WbVehicleGlyphs *glyphs,
          const GdkRGBA   *fill)
{
  Canvas canvas;
  cairo_t *cr = begin_node (&canvas, WB_VEHICLE_GLYPH_RADIUS, glyphs);

  cairo_arc (cr, 0, 0, WB_VEHICLE_GLYPH_RADIUS - 2.5, 0, 2 * G_PI);
  fill_and_outline (cr, fill);
  return end_node (&canvas, cr);
}

static GskRenderNode *
draw_halo (WbVehicleGlyphs *glyphs)
{
  Canvas canvas;
  cairo_t *cr = begin_node (&canvas, WB_VEHICLE_GLYPH_RADIUS + 6, glyphs);

  cairo_arc (cr, 0, 0, WB_VEHICLE_GLYPH_RADIUS + 3, 0, 2 * G_PI);
  gdk_cairo_set_source_rgba (cr, &halo_color);
  cairo_set_line_width (cr, 4);
  cairo_stroke (cr);
  return end_node (&canvas, cr);
}

static guint
cluster_size_step (guint count)
{
  if (count < 10)
    return 0;
  if (count < 100)
    return 1;
  if (count < 1000)
    return 2;
  return 3;
}

double
wb_vehicle_cluster_radius (guint count)
{
  return 13.0 + 4.0 * cluster_size_step (count);
}

static GskRenderNode *
draw_cluster (WbVehicleGlyphs *glyphs,
              guint            step)
{
  static const guint sample_counts[N_CLUSTER_SIZES] = { 2, 10, 100, 1000 };
  double radius = wb_vehicle_cluster_radius (sample_counts[step]);
  Canvas canvas;
  cairo_t *cr = begin_node (&canvas, radius + 1, glyphs);

  cairo_arc (cr, 0, 0, radius - 1, 0, 2 * G_PI);
  fill_and_outline (cr, &cluster_color);
  return end_node (&canvas, cr);
}

WbVehicleGlyphs *
wb_vehicle_glyphs_new (int      scale,
                       gboolean for_cairo)
{
  WbVehicleGlyphs *self = g_new0 (WbVehicleGlyphs, 1);

  self->scale = MAX (scale, 1);
  self->for_cairo = for_cairo;
  for (guint look = 0; look < WB_VEHICLE_N_LOOKS; look++)
    self->dots[look] = draw_dot (self, &look_colors[look]);
  self->halo = draw_halo (self);
  for (guint step = 0; step < N_CLUSTER_SIZES; step++)
    self->clusters[step] = draw_cluster (self, step);
  return self;
}

gboolean
wb_vehicle_glyphs_is_for_cairo (WbVehicleGlyphs *self)
{
  return self->for_cairo;
}

void
wb_vehicle_glyphs_free (WbVehicleGlyphs *self)
{
  for (guint look = 0; look < WB_VEHICLE_N_LOOKS; look++)
    {
      for (guint step = 0; step < WB_VEHICLE_HEADING_STEPS; step++)
        g_clear_pointer (&self->arrows[look][step], gsk_render_node_unref);
      g_clear_pointer (&self->dots[look], gsk_render_node_unref);
    }
  g_clear_pointer (&self->halo, gsk_render_node_unref);
  for (guint step = 0; step < N_CLUSTER_SIZES; step++)
    g_clear_pointer (&self->clusters[step], gsk_render_node_unref);
  g_free (self);
}

int
wb_vehicle_glyphs_get_scale (WbVehicleGlyphs *self)
{
  return self->scale;
}

GskRenderNode *
wb_vehicle_glyphs_get_arrow (WbVehicleGlyphs *self,
                             WbVehicleLook    look,
                             double           heading)
{
  double steps = round (heading * WB_VEHICLE_HEADING_STEPS / 360.0);
  guint step = (guint) fmod (fmod (steps, WB_VEHICLE_HEADING_STEPS) + WB_VEHICLE_HEADING_STEPS,
                             WB_VEHICLE_HEADING_STEPS);

  if (self->arrows[look][step] == NULL)
    self->arrows[look][step] = draw_arrow (self, &look_colors[look], step);
  return self->arrows[look][step];
}

GskRenderNode *
wb_vehicle_glyphs_get_dot (WbVehicleGlyphs *self,
                           WbVehicleLook    look)
{
  return self->dots[look];
}

GskRenderNode *
wb_vehicle_glyphs_get_halo (WbVehicleGlyphs *self)
{
  return self->halo;
}

GskRenderNode *
wb_vehicle_glyphs_get_cluster (WbVehicleGlyphs *self,
                               guint            count)
{
  return self->clusters[cluster_size_step (count)];
}
