// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include <math.h>

#include "wb-graticule-layer.h"
#include "wb-map-view.h"

#define MIN_SPACING_PX 80.0

struct _WbGraticuleLayer
{
  ShumateLayer parent_instance;
  guint        drawn_lines;
};

G_DEFINE_FINAL_TYPE (WbGraticuleLayer, wb_graticule_layer, SHUMATE_TYPE_LAYER)

static const GdkRGBA background = { 0.965f, 0.961f, 0.957f, 1.0f };   /* #f6f5f4 */
static const GdkRGBA minor_line = { 0.753f, 0.749f, 0.737f, 1.0f };   /* #c0bfbc */
static const GdkRGBA label_color = { 0.467f, 0.463f, 0.482f, 1.0f };  /* #77767b */

/* Round steps in degrees, coarse to fine. */
static const double steps[] = {
  30, 10, 5, 2, 1, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001, 0.0005, 0.0002, 0.0001,
};

static double
step_for_zoom (double world_size)
{
  double px_per_degree = world_size / 360.0;
  double chosen = steps[0];

  for (guint i = 0; i < G_N_ELEMENTS (steps); i++)
    {
      if (steps[i] * px_per_degree < MIN_SPACING_PX)
        break;
      chosen = steps[i];
    }
  return chosen;
}

static char *
format_degrees (double value,
                double step,
                char   positive,
                char   negative)
{
  int decimals = step >= 1 ? 0 : (int) ceil (-log10 (step) - 1e-9);

  return g_strdup_printf ("%.*f°%c", decimals, fabs (value), value >= 0 ? positive : negative);
}

static void
append_label (WbGraticuleLayer *self,
              GtkSnapshot      *snapshot,
              const char       *text,
              float             x,
              float             y)
{
  g_autoptr(PangoLayout) layout = gtk_widget_create_pango_layout (GTK_WIDGET (self), text);

  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (x, y));
  gtk_snapshot_append_layout (snapshot, layout, &label_color);
  gtk_snapshot_restore (snapshot);
}

/* Lines are drawn in the unrotated frame centred on the widget; the
 * caller rotates the whole frame once. */
static void
draw_meridians (WbGraticuleLayer *self,
                GtkSnapshot      *snapshot,
                const WbMapView  *view,
                double            min_x,
                double            max_x,
                double            half_h,
                double            step)
{
  gint64 first = (gint64) ceil ((MAX (min_x, 0) * 360.0 - 180.0) / step);
  gint64 last = (gint64) floor ((MIN (max_x, 1) * 360.0 - 180.0) / step);

  /* Counted in steps, not summed, so labels never drift off round values. */
  for (gint64 n = first; n <= last; n++)
    {
      double lon = n * step;
      double x = ((lon + 180.0) / 360.0 - view->center_x) * view->world_size;
      g_autofree char *text = format_degrees (lon, step, 'E', 'W');

      gtk_snapshot_append_color (snapshot, &minor_line, &GRAPHENE_RECT_INIT (x - 0.5, -half_h, 1, 2 * half_h));
      append_label (self, snapshot, text, x + 3, -view->height / 2 + 2);
      self->drawn_lines++;
    }
}

static void
draw_parallels (WbGraticuleLayer *self,
                GtkSnapshot      *snapshot,
                const WbMapView  *view,
                double            min_y,
                double            max_y,
                double            half_w,
                double            step)
{
  double north, south, unused;

  wb_map_unproject (0, MAX (min_y, 0), &north, &unused);
  wb_map_unproject (0, MIN (max_y, 1), &south, &unused);
  for (gint64 n = (gint64) ceil (south / step); n <= (gint64) floor (north / step); n++)
    {
      double lat = n * step;
      double map_x, map_y;
      double y;
      g_autofree char *text = format_degrees (lat, step, 'N', 'S');

      wb_map_project (lat, 0, &map_x, &map_y);
      y = (map_y - view->center_y) * view->world_size;
      gtk_snapshot_append_color (snapshot, &minor_line, &GRAPHENE_RECT_INIT (-half_w, y - 0.5, 2 * half_w, 1));
      append_label (self, snapshot, text, -view->width / 2 + 3, y + 1);
      self->drawn_lines++;
    }
}

static void
wb_graticule_layer_snapshot (GtkWidget   *widget,
                             GtkSnapshot *snapshot)
{
  WbGraticuleLayer *self = WB_GRATICULE_LAYER (widget);
  ShumateViewport *viewport = shumate_layer_get_viewport (SHUMATE_LAYER (self));
  double min_x, min_y, max_x, max_y, step, half_w, half_h;
  WbMapView view;

  self->drawn_lines = 0;
  if (!wb_map_view_init (&view, viewport, widget))
    return;
  gtk_snapshot_append_color (snapshot, &background, &GRAPHENE_RECT_INIT (0, 0, view.width, view.height));
  wb_map_view_visible_bounds (&view, 0, &min_x, &min_y, &max_x, &max_y);
  half_w = (max_x - min_x) * view.world_size / 2;
  half_h = (max_y - min_y) * view.world_size / 2;
  step = step_for_zoom (view.world_size);

  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (view.width / 2, view.height / 2));
  gtk_snapshot_rotate (snapshot, shumate_viewport_get_rotation (viewport) * 180.0 / G_PI);
  draw_meridians (self, snapshot, &view, min_x, max_x, half_h, step);
  draw_parallels (self, snapshot, &view, min_y, max_y, half_w, step);
  gtk_snapshot_restore (snapshot);
}

static void
on_viewport_notify (WbGraticuleLayer *self)
{
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
wb_graticule_layer_constructed (GObject *object)
{
  G_OBJECT_CLASS (wb_graticule_layer_parent_class)->constructed (object);

  g_signal_connect_object (shumate_layer_get_viewport (SHUMATE_LAYER (object)), "notify",
                           G_CALLBACK (on_viewport_notify), object, G_CONNECT_SWAPPED);
}

static void
wb_graticule_layer_class_init (WbGraticuleLayerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = wb_graticule_layer_constructed;
  widget_class->snapshot = wb_graticule_layer_snapshot;
  gtk_widget_class_set_css_name (widget_class, "graticule-layer");
}

static void
wb_graticule_layer_init (WbGraticuleLayer *self)
{
}

WbGraticuleLayer *
wb_graticule_layer_new (ShumateViewport *viewport)
{
  g_return_val_if_fail (SHUMATE_IS_VIEWPORT (viewport), NULL);
  return g_object_new (WB_TYPE_GRATICULE_LAYER, "viewport", viewport, NULL);
}

double
wb_graticule_layer_get_step (WbGraticuleLayer *self)
{
  ShumateViewport *viewport;
  ShumateMapSource *source;

  g_return_val_if_fail (WB_IS_GRATICULE_LAYER (self), 0);

  viewport = shumate_layer_get_viewport (SHUMATE_LAYER (self));
  source = shumate_viewport_get_reference_map_source (viewport);
  if (source == NULL)
    return 0;
  return step_for_zoom (shumate_map_source_get_tile_size (source) * exp2 (shumate_viewport_get_zoom_level (viewport)));
}

guint
wb_graticule_layer_get_drawn_lines (WbGraticuleLayer *self)
{
  g_return_val_if_fail (WB_IS_GRATICULE_LAYER (self), 0);
  return self->drawn_lines;
}
