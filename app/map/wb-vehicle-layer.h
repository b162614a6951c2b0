// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <shumate/shumate.h>

#include "wb-client-vehicle.h"

G_BEGIN_DECLS

#define WB_TYPE_VEHICLE_LAYER (wb_vehicle_layer_get_type ())

G_DECLARE_FINAL_TYPE (WbVehicleLayer, wb_vehicle_layer, WB, VEHICLE_LAYER, ShumateLayer)

/* What lies under a point of the layer: one vehicle's glyph, or a
 * cluster of @count vehicles drawn as one counted disc. */
typedef struct
{
  WbClientVehicle *vehicle;    /* (nullable) (transfer none): the glyph's vehicle */
  guint            count;      /* vehicles under the hit: 1 for a glyph, more for a cluster */
  double           latitude;   /* the glyph's position or the cluster's centroid */
  double           longitude;
} WbVehiclePick;

/* Every vehicle of a GListModel of WbClientVehicle (a WbVehicleModel) on
 * a ShumateMap, drawn in one snapshot: a glyph per vehicle pointing along
 * its course and coloured by state (moving, stopped, offline; stale when
 * the stream is down), counted clusters when zoomed out or crowded,
 * labels from #WbVehicleLayer:label-zoom, smooth motion between updates.
 * A click on a glyph selects its vehicle and emits ::vehicle-activated; a
 * click on a cluster emits ::cluster-activated. Clicks elsewhere fall
 * through to the map. Glyphs are invisible to screen readers: the vehicle
 * list is the accessible equivalent. */
WbVehicleLayer  *wb_vehicle_layer_new               (ShumateViewport *viewport);

/* (nullable): a GListModel of WbClientVehicle. */
GListModel      *wb_vehicle_layer_get_model         (WbVehicleLayer  *self);
void             wb_vehicle_layer_set_model         (WbVehicleLayer  *self,
                                                     GListModel      *model);
/* (nullable): the vehicle drawn highlighted, never clustered. */
WbClientVehicle *wb_vehicle_layer_get_selected      (WbVehicleLayer  *self);
void             wb_vehicle_layer_set_selected      (WbVehicleLayer  *self,
                                                     WbClientVehicle *vehicle);
/* (nullable): only vehicles matching it are drawn ("map shows filtered
 * only"); its ::changed signal redraws. */
GtkFilter       *wb_vehicle_layer_get_filter        (WbVehicleLayer  *self);
void             wb_vehicle_layer_set_filter        (WbVehicleLayer  *self,
                                                     GtkFilter       *filter);
/* Below this zoom level, glyphs sharing a 64 px grid cell are a counted
 * cluster (default 12); from it up to the label zoom, only cells of 8
 * glyphs or more are. */
double           wb_vehicle_layer_get_cluster_zoom  (WbVehicleLayer  *self);
void             wb_vehicle_layer_set_cluster_zoom  (WbVehicleLayer  *self,
                                                     double           zoom);
/* From this zoom level on, each glyph carries its name or id (default 15). */
double           wb_vehicle_layer_get_label_zoom    (WbVehicleLayer  *self);
void             wb_vehicle_layer_set_label_zoom    (WbVehicleLayer  *self,
                                                     double           zoom);

/* Hit-tests widget coordinates against what the layer draws now.
 * Returns: (transfer none) (nullable): the vehicle whose glyph is at
 * (@x, @y); %NULL over a cluster (then @pick, if given, holds its count
 * and centroid) or empty map (@pick->count is 0). */
WbClientVehicle *wb_vehicle_layer_pick              (WbVehicleLayer  *self,
                                                     double           x,
                                                     double           y,
                                                     WbVehiclePick   *pick);
/* Where @vehicle is drawn now (mid-motion included), in widget
 * coordinates. Returns: FALSE if it is not in the model or filtered out. */
gboolean         wb_vehicle_layer_get_vehicle_point (WbVehicleLayer  *self,
                                                     WbClientVehicle *vehicle,
                                                     double          *x,
                                                     double          *y);
/* Projects a position to widget coordinates with the layer's own
 * projection (the same as the viewport's). */
void             wb_vehicle_layer_project           (WbVehicleLayer  *self,
                                                     double           latitude,
                                                     double           longitude,
                                                     double          *x,
                                                     double          *y);

/* For tests and benchmarks: what the last snapshot drew. */
guint            wb_vehicle_layer_get_drawn_glyphs   (WbVehicleLayer  *self);
guint            wb_vehicle_layer_get_drawn_clusters (WbVehicleLayer  *self);
guint            wb_vehicle_layer_get_drawn_labels   (WbVehicleLayer  *self);
/* How a frame is put together: one image painted on the client for the
 * Cairo renderer and shared glyph nodes for GL ones (AUTO, the default),
 * or either one whatever the renderer, for benchmarks and tests. */
typedef enum
{
  WB_VEHICLE_COMPOSE_AUTO,
  WB_VEHICLE_COMPOSE_NODES,
  WB_VEHICLE_COMPOSE_IMAGE,
} WbVehicleCompose;

void             wb_vehicle_layer_set_compose        (WbVehicleLayer  *self,
                                                      WbVehicleCompose compose);
/* For tests: the frame time (monotonic µs) motion is computed at;
 * 0 returns to the widget's frame clock. */
void             wb_vehicle_layer_set_clock_override (WbVehicleLayer  *self,
                                                      gint64           time);

G_END_DECLS
