// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <gtk/gtk.h>
#include <pixman.h>

#include "wb-client-vehicle.h"

G_BEGIN_DECLS

/* How a vehicle looks on the map: its state's colour, or the stale colour
 * whatever its state while the stream is down. */
typedef enum
{
  WB_VEHICLE_LOOK_MOVING,
  WB_VEHICLE_LOOK_STOPPED,
  WB_VEHICLE_LOOK_OFFLINE,
  WB_VEHICLE_LOOK_STALE,
  WB_VEHICLE_N_LOOKS,
} WbVehicleLook;

/* Glyph radius and the cluster grid, in logical pixels. */
#define WB_VEHICLE_GLYPH_RADIUS   9.0
#define WB_VEHICLE_CLUSTER_CELL  64.0

WbVehicleLook  wb_vehicle_look_for        (WbClientVehicle *vehicle);
/* The fill colour of glyphs of @look. */
const GdkRGBA *wb_vehicle_look_get_color  (WbVehicleLook    look);

/* The images every glyph of a kind shares, drawn once at a scale
 * factor, each centred on (0, 0) and measured in device pixels. Arrows
 * are drawn once per heading step and look, on first use: a rotated
 * paint costs the Cairo renderer several times an unrotated one, and 10°
 * steps are finer than a 20-pixel glyph can show. A frame either paints
 * them into one image of its own (wb_glyph_sprite_blit()) or places
 * their shared render nodes (wb_vehicle_glyphs_get_node()) with a
 * translation and a 1/scale. */
#define WB_VEHICLE_HEADING_STEPS 36
typedef struct _WbVehicleGlyphs WbVehicleGlyphs;
typedef struct _WbGlyphSprite WbGlyphSprite;

/* @for_cairo: nodes for the Cairo renderer (cairo nodes) rather than a
 * GL one (texture nodes). */
WbVehicleGlyphs     *wb_vehicle_glyphs_new          (int                  scale,
                                                     gboolean             for_cairo);
gboolean             wb_vehicle_glyphs_is_for_cairo (WbVehicleGlyphs     *self);
void                 wb_vehicle_glyphs_free         (WbVehicleGlyphs     *self);
int                  wb_vehicle_glyphs_get_scale    (WbVehicleGlyphs     *self);
/* Pointing @heading degrees clockwise from up, to the nearest step. */
const WbGlyphSprite *wb_vehicle_glyphs_get_arrow    (WbVehicleGlyphs     *self,
                                                     WbVehicleLook        look,
                                                     double               heading);
/* For a vehicle with no known course. */
const WbGlyphSprite *wb_vehicle_glyphs_get_dot      (WbVehicleGlyphs     *self,
                                                     WbVehicleLook        look);
/* The ring behind the selected vehicle. */
const WbGlyphSprite *wb_vehicle_glyphs_get_halo     (WbVehicleGlyphs     *self);
/* A cluster disc sized for @count members (one image per size step). */
const WbGlyphSprite *wb_vehicle_glyphs_get_cluster  (WbVehicleGlyphs     *self,
                                                     guint                count);
/* The sprite as a shared node centred on (0, 0), in device pixels; made
 * on first use and kept. */
GskRenderNode       *wb_vehicle_glyphs_get_node     (WbVehicleGlyphs     *self,
                                                     const WbGlyphSprite *sprite);
/* Composites @sprite over @dest centred on (@x, @y), device pixels,
 * rounded to whole pixels: pixman directly, without cairo's set-up per
 * paint (a frame may hold thousands). */
void                 wb_glyph_sprite_blit           (const WbGlyphSprite *sprite,
                                                     pixman_image_t      *dest,
                                                     double               x,
                                                     double               y);
/* An image surface's pixels as a pixman image (no copy; unref it before
 * the surface goes). */
pixman_image_t      *wb_pixman_image_for_surface    (cairo_surface_t     *surface);
/* @source over @dest with its top left at (@x, @y), clipped to @dest. */
void                 wb_pixman_blit                 (pixman_image_t      *dest,
                                                     pixman_image_t      *source,
                                                     int                  x,
                                                     int                  y);
/* Device pixels from the sprite's centre to its edge. */
int                  wb_glyph_sprite_get_half       (const WbGlyphSprite *sprite);
/* Radius in logical pixels of the cluster disc for @count members. */
double           wb_vehicle_cluster_radius      (guint            count);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbVehicleGlyphs, wb_vehicle_glyphs_free)

G_END_DECLS
