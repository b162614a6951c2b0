// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <shumate/shumate.h>

G_BEGIN_DECLS

#define WB_TYPE_GRATICULE_LAYER (wb_graticule_layer_get_type ())

G_DECLARE_FINAL_TYPE (WbGraticuleLayer, wb_graticule_layer, WB, GRATICULE_LAYER, ShumateLayer)

/* The map without tiles (`--tiles none`, or while the tile server is
 * unreachable): a plain background and lines of latitude and longitude
 * every N degrees, N chosen from the zoom so lines stay 80–200 px apart,
 * each labelled at the widget's edge, clear of the controls floating
 * over the map (a label under the zoom buttons moves down its line).
 * Drawn in one snapshot. Put it first
 * among the overlay layers, under the vehicles. */
WbGraticuleLayer *wb_graticule_layer_new        (ShumateViewport  *viewport);
/* The spacing of lines at the viewport's current zoom, in degrees. */
double            wb_graticule_layer_get_step   (WbGraticuleLayer *self);
/* For tests: lines drawn in the last snapshot. */
guint             wb_graticule_layer_get_drawn_lines (WbGraticuleLayer *self);
/* For tests: (transfer none) (element-type graphene_rect_t): the last
 * snapshot's labels, in widget coordinates. */
GArray           *wb_graticule_layer_get_label_bounds (WbGraticuleLayer *self);

G_END_DECLS
