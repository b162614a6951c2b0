// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include <math.h>

#include "wb-vehicle-glyphs.h"

#define N_CLUSTER_SIZES 4

/* One glyph image, drawn once in device pixels around its centre. */
struct _WbGlyphSprite
{
  cairo_surface_t *surface;
  int              half;       /* device pixels from the centre to an edge */
  GskRenderNode   *node;       /* made on first use, for the node path */
  pixman_image_t  *pixels;     /* the surface's pixels for pixman, for the image path */
};

struct _WbVehicleGlyphs
{
  int            scale;
  gboolean       for_cairo;
  WbGlyphSprite *arrows[WB_VEHICLE_N_LOOKS][WB_VEHICLE_HEADING_STEPS];
  WbGlyphSprite *dots[WB_VEHICLE_N_LOOKS];
  WbGlyphSprite *halo;
  WbGlyphSprite *clusters[N_CLUSTER_SIZES];
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

/* Glyphs are drawn once into pixels. @radius is in logical pixels
 * around (0, 0); the image is in device pixels. */
static cairo_t *
begin_sprite (WbGlyphSprite  **out,
              double           radius,
              WbVehicleGlyphs *glyphs)
{
  WbGlyphSprite *sprite = g_new0 (WbGlyphSprite, 1);
  int scale = glyphs->scale;
  cairo_t *cr;

  sprite->half = (int) ceil (radius * scale);
  sprite->surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 2 * sprite->half, 2 * sprite->half);
  cr = cairo_create (sprite->surface);
  cairo_translate (cr, sprite->half, sprite->half);
  cairo_scale (cr, scale, scale);
  *out = sprite;
  return cr;
}

static WbGlyphSprite *
end_sprite (WbGlyphSprite *sprite,
            cairo_t       *cr)
{
  cairo_destroy (cr);
  cairo_surface_flush (sprite->surface);
  sprite->pixels = wb_pixman_image_for_surface (sprite->surface);
  return sprite;
}

static void
sprite_free (WbGlyphSprite *sprite)
{
  g_clear_pointer (&sprite->node, gsk_render_node_unref);
  g_clear_pointer (&sprite->pixels, pixman_image_unref);
  cairo_surface_destroy (sprite->surface);
  g_free (sprite);
}

/* For GL renderers a sprite is a texture node (uploaded once, kept
 * across frames). The Cairo renderer copies a texture node's pixels into
 * a new surface on every paint, so for it the node is a cairo node whose
 * only operation is painting the finished image. */
static GskRenderNode *
make_node (WbGlyphSprite *sprite,
           gboolean       for_cairo)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  int size = 2 * sprite->half;
  int stride = cairo_image_surface_get_stride (sprite->surface);
  graphene_rect_t bounds = GRAPHENE_RECT_INIT (-sprite->half, -sprite->half, size, size);

  if (for_cairo)
    {
      GskRenderNode *node = gsk_cairo_node_new (&bounds);
      cairo_t *cr = gsk_cairo_node_get_draw_context (node);

      cairo_set_source_surface (cr, sprite->surface, -sprite->half, -sprite->half);
      cairo_paint (cr);
      cairo_destroy (cr);
      return node;
    }
  bytes = g_bytes_new (cairo_image_surface_get_data (sprite->surface), (gsize) stride * size);
  /* GDK_MEMORY_DEFAULT is cairo's ARGB32 layout. */
  texture = gdk_memory_texture_new (size, size, GDK_MEMORY_DEFAULT, bytes, stride);
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

static WbGlyphSprite *
draw_arrow (WbVehicleGlyphs *glyphs,
            const GdkRGBA   *fill,
            guint            step)
{
  WbGlyphSprite *sprite;
  cairo_t *cr = begin_sprite (&sprite, WB_VEHICLE_GLYPH_RADIUS + 2, glyphs);
  double r = WB_VEHICLE_GLYPH_RADIUS - 3.5;

  cairo_rotate (cr, step * 2 * G_PI / WB_VEHICLE_HEADING_STEPS);

  /* A disc with a point towards the heading: readable both as "where"
   * and "which way". */
  cairo_move_to (cr, 0, -WB_VEHICLE_GLYPH_RADIUS - 1);
  cairo_arc (cr, 0, 0, r, -G_PI / 2 + 0.9, 3 * G_PI / 2 - 0.9);
  cairo_close_path (cr);
  fill_and_outline (cr, fill);
  return end_sprite (sprite, cr);
}

static WbGlyphSprite *
draw_dot (WbVehicleGlyphs *glyphs,
          const GdkRGBA   *fill)
{
  WbGlyphSprite *sprite;
  cairo_t *cr = begin_sprite (&sprite, WB_VEHICLE_GLYPH_RADIUS, glyphs);

  cairo_arc (cr, 0, 0, WB_VEHICLE_GLYPH_RADIUS - 2.5, 0, 2 * G_PI);
  fill_and_outline (cr, fill);
  return end_sprite (sprite, cr);
}

static WbGlyphSprite *
draw_halo (WbVehicleGlyphs *glyphs)
{
  WbGlyphSprite *sprite;
  cairo_t *cr = begin_sprite (&sprite, WB_VEHICLE_GLYPH_RADIUS + 6, glyphs);

  cairo_arc (cr, 0, 0, WB_VEHICLE_GLYPH_RADIUS + 3, 0, 2 * G_PI);
  gdk_cairo_set_source_rgba (cr, &halo_color);
  cairo_set_line_width (cr, 4);
  cairo_stroke (cr);
  return end_sprite (sprite, cr);
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

static WbGlyphSprite *
draw_cluster (WbVehicleGlyphs *glyphs,
              guint            step)
{
  static const guint sample_counts[N_CLUSTER_SIZES] = { 2, 10, 100, 1000 };
  double radius = wb_vehicle_cluster_radius (sample_counts[step]);
  WbGlyphSprite *sprite;
  cairo_t *cr = begin_sprite (&sprite, radius + 1, glyphs);

  cairo_arc (cr, 0, 0, radius - 1, 0, 2 * G_PI);
  fill_and_outline (cr, &cluster_color);
  return end_sprite (sprite, cr);
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
        g_clear_pointer (&self->arrows[look][step], sprite_free);
      g_clear_pointer (&self->dots[look], sprite_free);
    }
  g_clear_pointer (&self->halo, sprite_free);
  for (guint step = 0; step < N_CLUSTER_SIZES; step++)
    g_clear_pointer (&self->clusters[step], sprite_free);
  g_free (self);
}

int
wb_vehicle_glyphs_get_scale (WbVehicleGlyphs *self)
{
  return self->scale;
}

const WbGlyphSprite *
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

const WbGlyphSprite *
wb_vehicle_glyphs_get_dot (WbVehicleGlyphs *self,
                           WbVehicleLook    look)
{
  return self->dots[look];
}

const WbGlyphSprite *
wb_vehicle_glyphs_get_halo (WbVehicleGlyphs *self)
{
  return self->halo;
}

const WbGlyphSprite *
wb_vehicle_glyphs_get_cluster (WbVehicleGlyphs *self,
                               guint            count)
{
  return self->clusters[cluster_size_step (count)];
}

GskRenderNode *
wb_vehicle_glyphs_get_node (WbVehicleGlyphs     *self,
                            const WbGlyphSprite *sprite)
{
  WbGlyphSprite *mutable_sprite = (WbGlyphSprite *) sprite;

  if (mutable_sprite->node == NULL)
    mutable_sprite->node = make_node (mutable_sprite, self->for_cairo);
  return mutable_sprite->node;
}

pixman_image_t *
wb_pixman_image_for_surface (cairo_surface_t *surface)
{
  /* Cairo's ARGB32 is pixman's a8r8g8b8, premultiplied. */
  return pixman_image_create_bits_no_clear (PIXMAN_a8r8g8b8,
                                            cairo_image_surface_get_width (surface),
                                            cairo_image_surface_get_height (surface),
                                            (uint32_t *) (gpointer) cairo_image_surface_get_data (surface),
                                            cairo_image_surface_get_stride (surface));
}

void
wb_pixman_blit (pixman_image_t *dest,
                pixman_image_t *source,
                int             x,
                int             y)
{
  pixman_image_composite32 (PIXMAN_OP_OVER, source, NULL, dest, 0, 0, 0, 0, x, y,
                            pixman_image_get_width (source), pixman_image_get_height (source));
}

void
wb_glyph_sprite_blit (const WbGlyphSprite *sprite,
                      pixman_image_t      *dest,
                      double               x,
                      double               y)
{
  wb_pixman_blit (dest, sprite->pixels, (int) round (x) - sprite->half, (int) round (y) - sprite->half);
}

int
wb_glyph_sprite_get_half (const WbGlyphSprite *sprite)
{
  return sprite->half;
}
