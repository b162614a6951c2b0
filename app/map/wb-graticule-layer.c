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
  GArray      *controls;      /* graphene_rect_t: what floats over the map, this frame */
  GArray      *label_rects;   /* graphene_rect_t: where the last frame's labels went */
  double       rotation;      /* degrees, this frame */
  WbMapView    view;
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

/* A revealer (a window's connection strip) changes what it covers
 * without the map moving: redraw when it has shown or hidden. */
static void
watch_revealer (WbGraticuleLayer *self,
                GtkWidget        *child)
{
  if (!GTK_IS_REVEALER (child) || g_object_get_data (G_OBJECT (child), "wb-graticule-layer") == self)
    return;
  g_object_set_data (G_OBJECT (child), "wb-graticule-layer", self);
  g_signal_connect_object (child, "notify::child-revealed", G_CALLBACK (gtk_widget_queue_draw), self,
                           G_CONNECT_SWAPPED);
}

static void
add_controls (WbGraticuleLayer *self,
              GtkWidget        *parent,
              GtkWidget        *skip)
{
  for (GtkWidget *child = gtk_widget_get_first_child (parent); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      graphene_rect_t bounds;

      if (child != skip)
        watch_revealer (self, child);
      /* A revealer that hides its child (the connection strip while
       * live) keeps its place but shows nothing. */
      if (child == skip || !gtk_widget_get_mapped (child)
          || (GTK_IS_REVEALER (child) && !gtk_revealer_get_child_revealed (GTK_REVEALER (child)))
          || !gtk_widget_compute_bounds (child, GTK_WIDGET (self), &bounds)
          || bounds.size.width <= 0 || bounds.size.height <= 0)
        continue;
      g_array_append_val (self->controls, bounds);
    }
}

/* What floats over the map, in this layer's coordinates: the map's
 * siblings (ShumateSimpleMap's zoom buttons, compass, scale and
 * licence) and the overlays of any GtkOverlay it lies in (a window's
 * connection strip). Labels keep clear of them. */
static void
collect_controls (WbGraticuleLayer *self)
{
  GtkWidget *map = gtk_widget_get_ancestor (GTK_WIDGET (self), SHUMATE_TYPE_MAP);

  g_array_set_size (self->controls, 0);
  if (map == NULL || gtk_widget_get_parent (map) == NULL)
    return;
  add_controls (self, gtk_widget_get_parent (map), map);
  for (GtkWidget *overlay = gtk_widget_get_ancestor (map, GTK_TYPE_OVERLAY); overlay != NULL;
       overlay = gtk_widget_get_ancestor (gtk_widget_get_parent (overlay), GTK_TYPE_OVERLAY))
    {
      add_controls (self, overlay, gtk_overlay_get_child (GTK_OVERLAY (overlay)));
      if (gtk_widget_get_parent (overlay) == NULL)
        break;
    }
}

/* A rectangle of the rotated frame (centred on the widget) as the
 * widget's axis-aligned bounds. */
static void
frame_to_widget (WbGraticuleLayer      *self,
                 const graphene_rect_t *rect,
                 graphene_rect_t       *out)
{
  double radians = self->rotation * G_PI / 180.0;
  double c = cos (radians), s = sin (radians);
  graphene_point_t corners[4];
  float min_x = G_MAXFLOAT, min_y = G_MAXFLOAT, max_x = -G_MAXFLOAT, max_y = -G_MAXFLOAT;

  graphene_rect_get_top_left (rect, &corners[0]);
  graphene_rect_get_top_right (rect, &corners[1]);
  graphene_rect_get_bottom_left (rect, &corners[2]);
  graphene_rect_get_bottom_right (rect, &corners[3]);
  for (guint i = 0; i < 4; i++)
    {
      float x = (float) (corners[i].x * c - corners[i].y * s + self->view.width / 2);
      float y = (float) (corners[i].x * s + corners[i].y * c + self->view.height / 2);

      min_x = MIN (min_x, x), max_x = MAX (max_x, x);
      min_y = MIN (min_y, y), max_y = MAX (max_y, y);
    }
  graphene_rect_init (out, min_x, min_y, max_x - min_x, max_y - min_y);
}

static gboolean
hits_control (WbGraticuleLayer      *self,
              const graphene_rect_t *label)
{
  for (guint i = 0; i < self->controls->len; i++)
    if (graphene_rect_intersection (label, &g_array_index (self->controls, graphene_rect_t, i), NULL))
      return TRUE;
  return FALSE;
}

/* Labels sit at the widget's edge, where ShumateSimpleMap puts its zoom
 * buttons (top right), scale (bottom left) and licence (bottom right). A label under one slides
 * along its own line, away from the edge (@dx, @dy a step in the rotated
 * frame), until it is clear of every control. */
static void
append_label (WbGraticuleLayer *self,
              GtkSnapshot      *snapshot,
              const char       *text,
              float             x,
              float             y,
              float             dx,
              float             dy)
{
  g_autoptr(PangoLayout) layout = gtk_widget_create_pango_layout (GTK_WIDGET (self), text);
  graphene_rect_t bounds;
  int width, height;

  pango_layout_get_pixel_size (layout, &width, &height);
  for (guint tries = 0; ; tries++)
    {
      frame_to_widget (self, &GRAPHENE_RECT_INIT (x - 1, y - 1, width + 2, height + 2), &bounds);
      if (!hits_control (self, &bounds))
        break;
      /* Past a third of the widget it would only mislead: leave it out. */
      if (tries * MAX (fabsf (dx), fabsf (dy)) > MIN (self->view.width, self->view.height) / 3)
        return;
      x += dx;
      y += dy;
    }
  /* Cut by the widget's edge it would read as another value (27.65 for
   * 27.65°E): leave it out. */
  if (bounds.origin.x < 0 || bounds.origin.y < 0 || bounds.origin.x + bounds.size.width > self->view.width
      || bounds.origin.y + bounds.size.height > self->view.height)
    return;
  g_array_append_val (self->label_rects, bounds);
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
      append_label (self, snapshot, text, x + 3, -view->height / 2 + 2, 0, 4);
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
      append_label (self, snapshot, text, -view->width / 2 + 3, y + 1, 4, 0);
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
  g_array_set_size (self->label_rects, 0);
  if (!wb_map_view_init (&view, viewport, widget))
    return;
  self->view = view;
  self->rotation = shumate_viewport_get_rotation (viewport) * 180.0 / G_PI;
  collect_controls (self);
  gtk_snapshot_append_color (snapshot, &background, &GRAPHENE_RECT_INIT (0, 0, view.width, view.height));
  wb_map_view_visible_bounds (&view, 0, &min_x, &min_y, &max_x, &max_y);
  half_w = (max_x - min_x) * view.world_size / 2;
  half_h = (max_y - min_y) * view.world_size / 2;
  step = step_for_zoom (view.world_size);

  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (view.width / 2, view.height / 2));
  gtk_snapshot_rotate (snapshot, self->rotation);
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
wb_graticule_layer_finalize (GObject *object)
{
  WbGraticuleLayer *self = WB_GRATICULE_LAYER (object);

  g_clear_pointer (&self->controls, g_array_unref);
  g_clear_pointer (&self->label_rects, g_array_unref);

  G_OBJECT_CLASS (wb_graticule_layer_parent_class)->finalize (object);
}

static void
wb_graticule_layer_class_init (WbGraticuleLayerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = wb_graticule_layer_constructed;
  object_class->finalize = wb_graticule_layer_finalize;
  widget_class->snapshot = wb_graticule_layer_snapshot;
  gtk_widget_class_set_css_name (widget_class, "graticule-layer");
}

static void
wb_graticule_layer_init (WbGraticuleLayer *self)
{
  self->controls = g_array_new (FALSE, FALSE, sizeof (graphene_rect_t));
  self->label_rects = g_array_new (FALSE, FALSE, sizeof (graphene_rect_t));
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

GArray *
wb_graticule_layer_get_label_bounds (WbGraticuleLayer *self)
{
  g_return_val_if_fail (WB_IS_GRATICULE_LAYER (self), NULL);
  return self->label_rects;
}
