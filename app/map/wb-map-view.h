// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <shumate/shumate.h>

G_BEGIN_DECLS

/* Web Mercator in map units: both axes run 0..1 over the whole world, x
 * east from 180°W, y south from 85.05°N, so a position is projected once
 * and every zoom and pan after that is a scale and an offset. */
void     wb_map_project             (double latitude,
                                     double longitude,
                                     double *map_x,
                                     double *map_y);
void     wb_map_unproject           (double map_x,
                                     double map_y,
                                     double *latitude,
                                     double *longitude);

/* What a map layer needs of its viewport for one frame, read once: the
 * same transform as shumate_viewport_location_to_widget_coords(), without
 * a property lookup per point. */
typedef struct
{
  double width;        /* widget size in pixels */
  double height;
  double zoom;
  double world_size;   /* pixels across the world at this zoom */
  double center_x;     /* the viewport's centre in map units */
  double center_y;
  double cos_rotation;
  double sin_rotation;
} WbMapView;

/* Returns: FALSE when the viewport has no reference map source or the
 * widget has no size yet (nothing can be drawn). */
gboolean wb_map_view_init           (WbMapView       *view,
                                     ShumateViewport *viewport,
                                     GtkWidget       *widget);
void     wb_map_view_to_widget      (const WbMapView *view,
                                     double           map_x,
                                     double           map_y,
                                     double          *x,
                                     double          *y);
void     wb_map_view_from_widget    (const WbMapView *view,
                                     double           x,
                                     double           y,
                                     double          *map_x,
                                     double          *map_y);
/* The map-unit box the widget shows (its rotated corners' bounds),
 * grown by @margin pixels on every side. */
void     wb_map_view_visible_bounds (const WbMapView *view,
                                     double           margin,
                                     double          *min_x,
                                     double          *min_y,
                                     double          *max_x,
                                     double          *max_y);

G_END_DECLS
