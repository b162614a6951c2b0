// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include <math.h>

#include "wb-map-view.h"
#include "wb-track-layer.h"

/* Vertices closer than this to the previous one kept add nothing visible. */
#define DECIMATE_PX  1.5
#define MARGIN_PX    16.0

typedef struct
{
  double x;           /* map units */
  double y;
  gint64 time;
  guint8 in_trip;
} Vertex;

struct _WbTrackLayer
{
  ShumateLayer  parent_instance;
  GArray       *vertices;     /* Vertex */
  GArray       *stops;        /* WbTrackStop */
  GArray       *trip_ends;    /* Vertex: each trip's first and last fix */
  gint64        replay_time;
  guint         drawn_vertices;
};

G_DEFINE_FINAL_TYPE (WbTrackLayer, wb_track_layer, SHUMATE_TYPE_LAYER)

enum {
  PROP_0,
  PROP_REPLAY_TIME,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static const GdkRGBA trip_color = { 0.110f, 0.443f, 0.847f, 0.9f };   /* #1c71d8 */
static const GdkRGBA idle_color = { 0.467f, 0.463f, 0.482f, 0.8f };   /* #77767b */
static const GdkRGBA stop_color = { 0.902f, 0.380f, 0.000f, 1.0f };   /* #e66100 */
static const GdkRGBA start_color = { 0.180f, 0.761f, 0.494f, 1.0f };  /* #2ec27e */
static const GdkRGBA end_color = { 0.753f, 0.110f, 0.157f, 1.0f };    /* #c01c28 */
static const GdkRGBA marker_color = { 0.141f, 0.122f, 0.192f, 1.0f }; /* #241f31 */

static gboolean
segment_visible (const Vertex *a,
                 const Vertex *b,
                 const double  bounds[4])
{
  return !((a->x < bounds[0] && b->x < bounds[0]) || (a->x > bounds[2] && b->x > bounds[2])
           || (a->y < bounds[1] && b->y < bounds[1]) || (a->y > bounds[3] && b->y > bounds[3]));
}

/* One run of vertices with the same trip flag, culled and decimated. */
static void
path_run (WbTrackLayer    *self,
          cairo_t         *cr,
          const WbMapView *view,
          const double     bounds[4],
          gboolean         in_trip)
{
  double last_x = NAN, last_y = NAN;
  gboolean pen_down = FALSE;

  for (guint i = 1; i < self->vertices->len; i++)
    {
      const Vertex *a = &g_array_index (self->vertices, Vertex, i - 1);
      const Vertex *b = &g_array_index (self->vertices, Vertex, i);
      double x, y;

      if ((b->in_trip != 0) != in_trip || !segment_visible (a, b, bounds))
        {
          pen_down = FALSE;
          continue;
        }
      if (!pen_down)
        {
          wb_map_view_to_widget (view, a->x, a->y, &last_x, &last_y);
          cairo_move_to (cr, last_x, last_y);
          self->drawn_vertices++;
          pen_down = TRUE;
        }
      wb_map_view_to_widget (view, b->x, b->y, &x, &y);
      if (fabs (x - last_x) < DECIMATE_PX && fabs (y - last_y) < DECIMATE_PX
          && i + 1 < self->vertices->len)
        continue;
      cairo_line_to (cr, x, y);
      self->drawn_vertices++;
      last_x = x;
      last_y = y;
    }
}

static void
stroke_path (WbTrackLayer    *self,
             cairo_t         *cr,
             const WbMapView *view,
             const double     bounds[4])
{
  static const double dash[] = { 6, 4 };

  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
  path_run (self, cr, view, bounds, FALSE);
  cairo_set_dash (cr, dash, G_N_ELEMENTS (dash), 0);
  cairo_set_line_width (cr, 2);
  gdk_cairo_set_source_rgba (cr, &idle_color);
  cairo_stroke (cr);

  path_run (self, cr, view, bounds, TRUE);
  cairo_set_dash (cr, NULL, 0, 0);
  cairo_set_line_width (cr, 4);
  gdk_cairo_set_source_rgba (cr, &trip_color);
  cairo_stroke (cr);
}

static void
disc (cairo_t       *cr,
      double         x,
      double         y,
      double         radius,
      const GdkRGBA *fill)
{
  cairo_new_sub_path (cr);
  cairo_arc (cr, x, y, radius, 0, 2 * G_PI);
  gdk_cairo_set_source_rgba (cr, fill);
  cairo_fill_preserve (cr);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_set_line_width (cr, 1.5);
  cairo_stroke (cr);
}

static void
draw_marks (WbTrackLayer    *self,
            cairo_t         *cr,
            const WbMapView *view)
{
  double x, y, map_x, map_y, latitude, longitude;

  for (guint i = 0; i < self->trip_ends->len; i++)
    {
      const Vertex *end = &g_array_index (self->trip_ends, Vertex, i);

      wb_map_view_to_widget (view, end->x, end->y, &x, &y);
      disc (cr, x, y, 4, i % 2 == 0 ? &start_color : &end_color);
    }
  for (guint i = 0; i < self->stops->len; i++)
    {
      const WbTrackStop *stop = &g_array_index (self->stops, WbTrackStop, i);

      wb_map_project (stop->latitude, stop->longitude, &map_x, &map_y);
      wb_map_view_to_widget (view, map_x, map_y, &x, &y);
      disc (cr, x, y, 6, &stop_color);
    }
  if (wb_track_layer_get_replay_location (self, &latitude, &longitude))
    {
      wb_map_project (latitude, longitude, &map_x, &map_y);
      wb_map_view_to_widget (view, map_x, map_y, &x, &y);
      disc (cr, x, y, 8, &marker_color);
    }
}

static void
wb_track_layer_snapshot (GtkWidget   *widget,
                         GtkSnapshot *snapshot)
{
  WbTrackLayer *self = WB_TRACK_LAYER (widget);
  WbMapView view;
  double bounds[4];
  cairo_t *cr;

  self->drawn_vertices = 0;
  if (self->vertices->len == 0
      || !wb_map_view_init (&view, shumate_layer_get_viewport (SHUMATE_LAYER (self)), widget))
    return;
  wb_map_view_visible_bounds (&view, MARGIN_PX, &bounds[0], &bounds[1], &bounds[2], &bounds[3]);
  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, view.width, view.height));
  stroke_path (self, cr, &view, bounds);
  draw_marks (self, cr, &view);
  cairo_destroy (cr);
}

static void
on_viewport_notify (WbTrackLayer *self)
{
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
wb_track_layer_constructed (GObject *object)
{
  G_OBJECT_CLASS (wb_track_layer_parent_class)->constructed (object);

  g_signal_connect_object (shumate_layer_get_viewport (SHUMATE_LAYER (object)), "notify",
                           G_CALLBACK (on_viewport_notify), object, G_CONNECT_SWAPPED);
}

static void
wb_track_layer_finalize (GObject *object)
{
  WbTrackLayer *self = WB_TRACK_LAYER (object);

  g_clear_pointer (&self->vertices, g_array_unref);
  g_clear_pointer (&self->stops, g_array_unref);
  g_clear_pointer (&self->trip_ends, g_array_unref);

  G_OBJECT_CLASS (wb_track_layer_parent_class)->finalize (object);
}

static void
wb_track_layer_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  switch (prop_id)
    {
    case PROP_REPLAY_TIME:
      g_value_set_int64 (value, WB_TRACK_LAYER (object)->replay_time);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_track_layer_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  switch (prop_id)
    {
    case PROP_REPLAY_TIME:
      wb_track_layer_set_replay_time (WB_TRACK_LAYER (object), g_value_get_int64 (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_track_layer_class_init (WbTrackLayerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = wb_track_layer_constructed;
  object_class->finalize = wb_track_layer_finalize;
  object_class->get_property = wb_track_layer_get_property;
  object_class->set_property = wb_track_layer_set_property;
  widget_class->snapshot = wb_track_layer_snapshot;

  properties[PROP_REPLAY_TIME] =
    g_param_spec_int64 ("replay-time", NULL, NULL, 0, G_MAXINT64, 0,
                        G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);
  gtk_widget_class_set_css_name (widget_class, "track-layer");
}

static void
wb_track_layer_init (WbTrackLayer *self)
{
  self->vertices = g_array_new (FALSE, FALSE, sizeof (Vertex));
  self->stops = g_array_new (FALSE, FALSE, sizeof (WbTrackStop));
  self->trip_ends = g_array_new (FALSE, FALSE, sizeof (Vertex));
}

WbTrackLayer *
wb_track_layer_new (ShumateViewport *viewport)
{
  g_return_val_if_fail (SHUMATE_IS_VIEWPORT (viewport), NULL);
  return g_object_new (WB_TYPE_TRACK_LAYER, "viewport", viewport, NULL);
}

static gboolean
time_in_trips (gint64             time,
               const WbTrackTrip *trips,
               guint              n_trips)
{
  for (guint i = 0; i < n_trips; i++)
    if (time >= trips[i].start && time <= trips[i].end)
      return TRUE;
  return FALSE;
}

/* The first vertex at or after @time (binary search). */
static guint
vertex_at (WbTrackLayer *self,
           gint64        time)
{
  guint low = 0, high = self->vertices->len;

  while (low < high)
    {
      guint mid = low + (high - low) / 2;

      if (g_array_index (self->vertices, Vertex, mid).time < time)
        low = mid + 1;
      else
        high = mid;
    }
  return low;
}

static void
add_trip_end (WbTrackLayer *self,
              gint64        time)
{
  guint i = MIN (vertex_at (self, time), self->vertices->len - 1);

  g_array_append_val (self->trip_ends, g_array_index (self->vertices, Vertex, i));
}

void
wb_track_layer_set_track (WbTrackLayer       *self,
                          const WbTrackPoint *points,
                          guint               n_points,
                          const WbTrackTrip  *trips,
                          guint               n_trips,
                          const WbTrackStop  *stops,
                          guint               n_stops)
{
  g_return_if_fail (WB_IS_TRACK_LAYER (self));
  g_return_if_fail (points != NULL || n_points == 0);
  g_return_if_fail (trips != NULL || n_trips == 0);
  g_return_if_fail (stops != NULL || n_stops == 0);

  wb_track_layer_clear (self);
  g_array_set_size (self->vertices, n_points);
  for (guint i = 0; i < n_points; i++)
    {
      Vertex *vertex = &g_array_index (self->vertices, Vertex, i);

      wb_map_project (points[i].latitude, points[i].longitude, &vertex->x, &vertex->y);
      vertex->time = points[i].time;
      /* A segment belongs to a trip when the fix ending it does. */
      vertex->in_trip = time_in_trips (points[i].time, trips, n_trips)
                        && (i == 0 || time_in_trips (points[i - 1].time, trips, n_trips));
    }
  for (guint i = 0; i < n_trips && n_points > 0; i++)
    {
      add_trip_end (self, trips[i].start);
      add_trip_end (self, trips[i].end);
    }
  g_array_append_vals (self->stops, stops, n_stops);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
wb_track_layer_clear (WbTrackLayer *self)
{
  g_return_if_fail (WB_IS_TRACK_LAYER (self));

  g_array_set_size (self->vertices, 0);
  g_array_set_size (self->stops, 0);
  g_array_set_size (self->trip_ends, 0);
  wb_track_layer_set_replay_time (self, 0);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

guint
wb_track_layer_get_n_points (WbTrackLayer *self)
{
  g_return_val_if_fail (WB_IS_TRACK_LAYER (self), 0);
  return self->vertices->len;
}

gint64
wb_track_layer_get_start_time (WbTrackLayer *self)
{
  g_return_val_if_fail (WB_IS_TRACK_LAYER (self), 0);
  return self->vertices->len > 0 ? g_array_index (self->vertices, Vertex, 0).time : 0;
}

gint64
wb_track_layer_get_end_time (WbTrackLayer *self)
{
  g_return_val_if_fail (WB_IS_TRACK_LAYER (self), 0);
  return self->vertices->len > 0 ? g_array_index (self->vertices, Vertex, self->vertices->len - 1).time : 0;
}

gint64
wb_track_layer_get_replay_time (WbTrackLayer *self)
{
  g_return_val_if_fail (WB_IS_TRACK_LAYER (self), 0);
  return self->replay_time;
}

void
wb_track_layer_set_replay_time (WbTrackLayer *self,
                                gint64        time)
{
  g_return_if_fail (WB_IS_TRACK_LAYER (self));

  if (time != 0 && self->vertices->len > 0)
    time = CLAMP (time, wb_track_layer_get_start_time (self), wb_track_layer_get_end_time (self));
  if (self->replay_time == time)
    return;
  self->replay_time = time;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REPLAY_TIME]);
}

gboolean
wb_track_layer_get_replay_location (WbTrackLayer *self,
                                    double       *latitude,
                                    double       *longitude)
{
  const Vertex *a, *b;
  double t = 0;
  guint i;

  g_return_val_if_fail (WB_IS_TRACK_LAYER (self), FALSE);

  if (self->replay_time == 0 || self->vertices->len == 0)
    return FALSE;
  i = MIN (vertex_at (self, self->replay_time), self->vertices->len - 1);
  b = &g_array_index (self->vertices, Vertex, i);
  a = i > 0 ? &g_array_index (self->vertices, Vertex, i - 1) : b;
  if (b->time > a->time)
    t = (double) (self->replay_time - a->time) / (double) (b->time - a->time);
  t = CLAMP (t, 0.0, 1.0);
  wb_map_unproject (a->x + (b->x - a->x) * t, a->y + (b->y - a->y) * t, latitude, longitude);
  return TRUE;
}

guint
wb_track_layer_get_drawn_vertices (WbTrackLayer *self)
{
  g_return_val_if_fail (WB_IS_TRACK_LAYER (self), 0);
  return self->drawn_vertices;
}
