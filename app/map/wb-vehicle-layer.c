// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include <math.h>

#include "wb-map-view.h"
#include "wb-vehicle-glyphs.h"
#include "wb-vehicle-layer.h"

/* How long a glyph takes to glide from its old position to a new one:
 * about the interval between two fixes of a moving vehicle. */
#define MOTION_USEC        (G_USEC_PER_SEC)
/* Jumps longer than this (map units, ~40 km) are not animated: a glyph
 * sliding across a region would suggest a route it never drove. */
#define MAX_ANIMATED_JUMP  1e-3
/* Pixels past the widget's edge still drawn, so glyphs and labels slide
 * in rather than pop in. */
#define CULL_MARGIN        48.0
#define PICK_SLOP          2.0
/* Glyphs in one cluster cell past which it is counted, not drawn. */
#define DENSE_CELL         8

/* One model item as the layer keeps it between frames. */
typedef struct
{
  WbVehicleLayer  *layer;
  WbClientVehicle *vehicle;
  gulong           notify_id;
  double           from_x;        /* map units; where the glide started */
  double           from_y;
  double           to_x;          /* the newest fix, projected once */
  double           to_y;
  gint64           motion_start;  /* monotonic µs, 0 when at rest */
  float            course;        /* degrees from north, NAN unknown */
  guint8           look;          /* WbVehicleLook */
  guint8           visible : 1;   /* passes the filter */
  PangoLayout     *label;         /* made on first use, dropped on rename */
  cairo_surface_t *label_image;   /* the label painted, for the image path; likewise */
  pixman_image_t  *label_pixels;  /* its pixels for pixman */
  guint8           label_scale;   /* the scale factor it was painted at */
} Glyph;

/* One thing the last frame drew, in widget coordinates. */
typedef struct
{
  Glyph  *glyph;                  /* NULL for a cluster */
  float   x;
  float   y;
  guint   count;
  double  map_x;                  /* cluster centroid */
  double  map_y;
} DrawItem;

typedef struct
{
  guint   count;
  guint   first;                  /* 1 + index in members, 0 for none */
  double  sum_x;
  double  sum_y;
} Cell;

/* A glyph in a grid cell, chained to the cell's next one. */
typedef struct
{
  Glyph  *glyph;
  double  x;
  double  y;
  guint   next;                   /* 1 + index in members, 0 at the end */
} Member;

struct _WbVehicleLayer
{
  ShumateLayer      parent_instance;

  GListModel       *model;
  GPtrArray        *glyphs;       /* Glyph*, in model order */
  GHashTable       *by_vehicle;   /* WbClientVehicle* → Glyph* */
  WbClientVehicle  *selected;
  GtkFilter        *filter;
  double            cluster_zoom;
  double            label_zoom;

  WbVehicleGlyphs  *nodes;
  GHashTable       *cluster_labels;  /* count → PangoLayout, a frame's worth reused */
  WbVehicleCompose  compose;
  GArray           *items;        /* DrawItem: the frame, for drawing and picking */
  GArray           *cells;        /* Cell: the cluster grid, reused */
  GArray           *members;      /* Member: the glyphs in the grid, reused */
  gboolean          frame_valid;
  gint64            motion_until;
  guint             tick_id;
  gint64            clock_override;
  guint             drawn_glyphs;
  guint             drawn_clusters;
  guint             drawn_labels;
};

G_DEFINE_FINAL_TYPE (WbVehicleLayer, wb_vehicle_layer, SHUMATE_TYPE_LAYER)

enum {
  PROP_0,
  PROP_MODEL,
  PROP_SELECTED,
  PROP_FILTER,
  PROP_CLUSTER_ZOOM,
  PROP_LABEL_ZOOM,
  N_PROPS
};

enum {
  VEHICLE_ACTIVATED,
  CLUSTER_ACTIVATED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static gint64
layer_now (WbVehicleLayer *self)
{
  GdkFrameClock *clock;

  if (self->clock_override != 0)
    return self->clock_override;
  clock = gtk_widget_get_frame_clock (GTK_WIDGET (self));
  if (clock != NULL)
    return MAX (gdk_frame_clock_get_frame_time (clock), g_get_monotonic_time ());
  return g_get_monotonic_time ();
}

static void
invalidate (WbVehicleLayer *self)
{
  self->frame_valid = FALSE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* Where @glyph is at @now, in map units; FALSE once its glide is over. */
static gboolean
glyph_position (Glyph  *glyph,
                gint64  now,
                double *x,
                double *y)
{
  double t;

  if (glyph->motion_start == 0 || now >= glyph->motion_start + MOTION_USEC)
    {
      glyph->motion_start = 0;
      *x = glyph->to_x;
      *y = glyph->to_y;
      return FALSE;
    }
  t = MAX (now - glyph->motion_start, 0) / (double) MOTION_USEC;
  *x = glyph->from_x + (glyph->to_x - glyph->from_x) * t;
  *y = glyph->from_y + (glyph->to_y - glyph->from_y) * t;
  return TRUE;
}

static gboolean
on_tick (GtkWidget     *widget,
         GdkFrameClock *clock,
         gpointer       user_data)
{
  WbVehicleLayer *self = WB_VEHICLE_LAYER (widget);

  invalidate (self);
  if (layer_now (self) < self->motion_until)
    return G_SOURCE_CONTINUE;
  self->tick_id = 0;
  return G_SOURCE_REMOVE;
}

/* Frames are asked for only while something glides. */
static void
start_motion (WbVehicleLayer *self,
              gint64          until)
{
  self->motion_until = MAX (self->motion_until, until);
  if (self->tick_id == 0)
    self->tick_id = gtk_widget_add_tick_callback (GTK_WIDGET (self), on_tick, NULL, NULL);
}

static void
glyph_update_filter (Glyph *glyph)
{
  GtkFilter *filter = glyph->layer->filter;

  glyph->visible = filter == NULL || gtk_filter_match (filter, glyph->vehicle);
}

/* A new fix: projected here, once, then only scaled and offset per frame. */
static void
glyph_update_state (Glyph    *glyph,
                    gboolean  animate)
{
  const WbLiveVehicle *state = wb_client_vehicle_get_state (glyph->vehicle);
  double x, y;

  wb_map_project (state->lat, state->lon, &x, &y);
  glyph->course = isfinite (state->course) ? (float) state->course : NAN;
  if (animate)
    {
      gint64 now = layer_now (glyph->layer);

      glyph_position (glyph, now, &glyph->from_x, &glyph->from_y);
      animate = hypot (x - glyph->from_x, y - glyph->from_y) < MAX_ANIMATED_JUMP
                && (x != glyph->from_x || y != glyph->from_y);
      if (animate)
        {
          glyph->motion_start = now;
          start_motion (glyph->layer, now + MOTION_USEC);
        }
    }
  if (!animate)
    {
      glyph->from_x = x;
      glyph->from_y = y;
      glyph->motion_start = 0;
    }
  glyph->to_x = x;
  glyph->to_y = y;
}

static void
glyph_clear_label_image (Glyph *glyph)
{
  g_clear_pointer (&glyph->label_pixels, pixman_image_unref);
  g_clear_pointer (&glyph->label_image, cairo_surface_destroy);
}

static void
on_vehicle_notify (WbClientVehicle *vehicle,
                   GParamSpec      *pspec,
                   Glyph           *glyph)
{
  const char *name = g_param_spec_get_name (pspec);

  if (g_str_equal (name, "state"))
    glyph_update_state (glyph, TRUE);
  else if (g_str_equal (name, "name"))
    {
      g_clear_object (&glyph->label);
      glyph_clear_label_image (glyph);
    }
  glyph->look = wb_vehicle_look_for (vehicle);
  glyph_update_filter (glyph);
  invalidate (glyph->layer);
}

static Glyph *
glyph_new (WbVehicleLayer  *self,
           WbClientVehicle *vehicle)
{
  Glyph *glyph = g_new0 (Glyph, 1);

  glyph->layer = self;
  glyph->vehicle = g_object_ref (vehicle);
  glyph->look = wb_vehicle_look_for (vehicle);
  glyph_update_state (glyph, FALSE);
  glyph_update_filter (glyph);
  glyph->notify_id = g_signal_connect (vehicle, "notify", G_CALLBACK (on_vehicle_notify), glyph);
  return glyph;
}

static void
glyph_free (gpointer data)
{
  Glyph *glyph = data;

  g_clear_signal_handler (&glyph->notify_id, glyph->vehicle);
  g_clear_object (&glyph->vehicle);
  g_clear_object (&glyph->label);
  glyph_clear_label_image (glyph);
  g_free (glyph);
}

static void
on_items_changed (GListModel     *model,
                  guint           position,
                  guint           removed,
                  guint           added,
                  WbVehicleLayer *self)
{
  for (guint i = 0; i < removed; i++)
    {
      Glyph *glyph = g_ptr_array_index (self->glyphs, position + i);

      if (glyph->vehicle == self->selected)
        wb_vehicle_layer_set_selected (self, NULL);
      g_hash_table_remove (self->by_vehicle, glyph->vehicle);
    }
  g_ptr_array_remove_range (self->glyphs, position, removed);
  for (guint i = 0; i < added; i++)
    {
      g_autoptr(WbClientVehicle) vehicle = g_list_model_get_item (model, position + i);
      Glyph *glyph = glyph_new (self, vehicle);

      g_ptr_array_insert (self->glyphs, position + i, glyph);
      g_hash_table_insert (self->by_vehicle, vehicle, glyph);
    }
  invalidate (self);
}

static void
on_filter_changed (GtkFilter          *filter,
                   GtkFilterChange     change,
                   WbVehicleLayer     *self)
{
  for (guint i = 0; i < self->glyphs->len; i++)
    glyph_update_filter (g_ptr_array_index (self->glyphs, i));
  invalidate (self);
}

static void
on_viewport_notify (WbVehicleLayer *self)
{
  invalidate (self);
}

static void
add_item (WbVehicleLayer  *self,
          const WbMapView *view,
          Glyph           *glyph,
          guint            count,
          double           map_x,
          double           map_y)
{
  DrawItem item = { glyph, 0, 0, count, map_x, map_y };
  double x, y;

  wb_map_view_to_widget (view, map_x, map_y, &x, &y);
  item.x = (float) x;
  item.y = (float) y;
  g_array_append_val (self->items, item);
}

typedef struct
{
  double min_x, min_y, max_x, max_y;
  double cell;                         /* map units per grid cell */
  gint64 first_col, first_row;
  guint  cols, rows;
} Grid;

static void
grid_init (WbVehicleLayer  *self,
           Grid            *grid,
           const WbMapView *view)
{
  wb_map_view_visible_bounds (view, CULL_MARGIN, &grid->min_x, &grid->min_y, &grid->max_x, &grid->max_y);
  /* Cells are anchored to the world, not the widget, so clusters keep
   * their members while the map pans. */
  grid->cell = WB_VEHICLE_CLUSTER_CELL / view->world_size;
  grid->first_col = (gint64) floor (grid->min_x / grid->cell);
  grid->first_row = (gint64) floor (grid->min_y / grid->cell);
  grid->cols = (guint) (floor (grid->max_x / grid->cell) - grid->first_col + 1);
  grid->rows = (guint) (floor (grid->max_y / grid->cell) - grid->first_row + 1);
  g_array_set_size (self->cells, 0);
  g_array_set_size (self->cells, (guint) grid->cols * grid->rows);
  g_array_set_size (self->members, 0);
}

static void
grid_add (WbVehicleLayer *self,
          const Grid     *grid,
          Glyph          *glyph,
          double          x,
          double          y)
{
  gint64 col = (gint64) floor (x / grid->cell) - grid->first_col;
  gint64 row = (gint64) floor (y / grid->cell) - grid->first_row;
  Cell *cell;

  col = CLAMP (col, 0, (gint64) grid->cols - 1);
  row = CLAMP (row, 0, (gint64) grid->rows - 1);
  cell = &g_array_index (self->cells, Cell, row * grid->cols + col);
  {
    Member member = { glyph, x, y, cell->first };

    g_array_append_val (self->members, member);
  }
  cell->first = self->members->len;
  cell->count++;
  cell->sum_x += x;
  cell->sum_y += y;
}

/* A cell with @threshold glyphs or more becomes one counted cluster; the
 * glyphs of the others are drawn each. */
static void
grid_emit (WbVehicleLayer  *self,
           const WbMapView *view,
           guint            threshold)
{
  for (guint i = 0; i < self->cells->len; i++)
    {
      Cell *cell = &g_array_index (self->cells, Cell, i);

      if (cell->count >= threshold)
        {
          add_item (self, view, NULL, cell->count, cell->sum_x / cell->count, cell->sum_y / cell->count);
          continue;
        }
      for (guint m = cell->first; m != 0; )
        {
          const Member *member = &g_array_index (self->members, Member, m - 1);

          add_item (self, view, member->glyph, 1, member->x, member->y);
          m = member->next;
        }
    }
}

/* Below the cluster zoom any two glyphs in a cell are a cluster. Above
 * it, a cell gets too crowded to read at DENSE_CELL glyphs (a 64 px cell
 * holds about a dozen 18 px glyphs side by side) and is counted instead;
 * from the label zoom on every glyph is drawn, to carry its label. */
static guint
cluster_threshold (WbVehicleLayer  *self,
                   const WbMapView *view)
{
  if (view->zoom < self->cluster_zoom)
    return 2;
  if (view->zoom < self->label_zoom)
    return DENSE_CELL;
  return G_MAXUINT;
}

/* Culls, glides and clusters every glyph for the current viewport and
 * time into self->items: what a snapshot draws and a pick tests. */
static void
compute_frame (WbVehicleLayer *self)
{
  ShumateViewport *viewport = shumate_layer_get_viewport (SHUMATE_LAYER (self));
  gint64 now = layer_now (self);
  Glyph *selected = NULL;
  double selected_x = 0, selected_y = 0;
  guint threshold;
  WbMapView view;
  Grid grid;

  g_array_set_size (self->items, 0);
  self->frame_valid = TRUE;
  if (!wb_map_view_init (&view, viewport, GTK_WIDGET (self)))
    return;

  threshold = cluster_threshold (self, &view);
  grid_init (self, &grid, &view);
  for (guint i = 0; i < self->glyphs->len; i++)
    {
      Glyph *glyph = g_ptr_array_index (self->glyphs, i);
      double x, y;

      if (!glyph->visible)
        continue;
      glyph_position (glyph, now, &x, &y);
      if (x < grid.min_x || x > grid.max_x || y < grid.min_y || y > grid.max_y)
        continue;
      if (glyph->vehicle == self->selected)
        {
          selected = glyph;
          selected_x = x;
          selected_y = y;
        }
      else if (threshold != G_MAXUINT)
        grid_add (self, &grid, glyph, x, y);
      else
        add_item (self, &view, glyph, 1, x, y);
    }
  if (threshold != G_MAXUINT)
    grid_emit (self, &view, threshold);
  /* The selected vehicle is never hidden in a cluster, and drawn last,
   * on top. */
  if (selected != NULL)
    add_item (self, &view, selected, 1, selected_x, selected_y);
}

static void
ensure_frame (WbVehicleLayer *self)
{
  if (!self->frame_valid)
    compute_frame (self);
}

static gboolean
uses_cairo_renderer (WbVehicleLayer *self)
{
  GtkNative *native = gtk_widget_get_native (GTK_WIDGET (self));
  GskRenderer *renderer = native != NULL ? gtk_native_get_renderer (native) : NULL;

  return renderer == NULL || GSK_IS_CAIRO_RENDERER (renderer);
}

/* Glyph nodes are made for the window's scale and renderer. */
static WbVehicleGlyphs *
ensure_nodes (WbVehicleLayer *self)
{
  int scale = gtk_widget_get_scale_factor (GTK_WIDGET (self));
  gboolean for_cairo = uses_cairo_renderer (self);

  if (self->nodes != NULL
      && (wb_vehicle_glyphs_get_scale (self->nodes) != scale
          || wb_vehicle_glyphs_is_for_cairo (self->nodes) != for_cairo))
    g_clear_pointer (&self->nodes, wb_vehicle_glyphs_free);
  if (self->nodes == NULL)
    self->nodes = wb_vehicle_glyphs_new (scale, for_cairo);
  return self->nodes;
}

/* Places a shared node: the only per-glyph work is one transform node.
 * Positions snap to device pixels, so the Cairo renderer copies the
 * glyph's pixels instead of resampling them. */
static GskRenderNode *
place_shared (GskRenderNode *node,
              float          x,
              float          y,
              int            scale)
{
  GskTransform *transform;

  x = roundf (x * scale) / scale;
  y = roundf (y * scale) / scale;
  transform = gsk_transform_translate (NULL, &GRAPHENE_POINT_INIT (x, y));
  if (scale != 1)
    transform = gsk_transform_scale (transform, 1.0f / scale, 1.0f / scale);
  node = gsk_transform_node_new (node, transform);
  gsk_transform_unref (transform);
  return node;
}

static void
append_shared (WbVehicleLayer      *self,
               GtkSnapshot         *snapshot,
               const WbGlyphSprite *sprite,
               float                x,
               float                y,
               int                  scale)
{
  g_autoptr(GskRenderNode) placed = place_shared (wb_vehicle_glyphs_get_node (self->nodes, sprite), x, y, scale);

  gtk_snapshot_append_node (snapshot, placed);
}

static PangoLayout *
glyph_label (WbVehicleLayer *self,
             Glyph          *glyph)
{
  const char *text;

  if (glyph->label != NULL)
    return glyph->label;
  text = wb_client_vehicle_get_name (glyph->vehicle);
  if (text == NULL || *text == '\0')
    text = wb_client_vehicle_get_id (glyph->vehicle);
  glyph->label = gtk_widget_create_pango_layout (GTK_WIDGET (self), text);
  return glyph->label;
}

static const GdkRGBA label_text = { 0.12f, 0.12f, 0.12f, 1.0f };
static const GdkRGBA label_back = { 1.0f, 1.0f, 1.0f, 0.8f };

static void
append_label (WbVehicleLayer *self,
              GtkSnapshot    *snapshot,
              Glyph          *glyph,
              float           x,
              float           y)
{
  PangoLayout *layout = glyph_label (self, glyph);
  int width, height;

  pango_layout_get_pixel_size (layout, &width, &height);
  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (x - width / 2.0f, y + WB_VEHICLE_GLYPH_RADIUS + 2));
  gtk_snapshot_append_color (snapshot, &label_back, &GRAPHENE_RECT_INIT (-3, 0, width + 6, height));
  gtk_snapshot_append_layout (snapshot, layout, &label_text);
  gtk_snapshot_restore (snapshot);
}

/* Cluster counts repeat from frame to frame while the map pans: their
 * layouts are kept rather than shaped again each frame. */
#define MAX_CLUSTER_LABELS 512

static PangoLayout *
cluster_label (WbVehicleLayer *self,
               guint           count)
{
  PangoLayout *layout = g_hash_table_lookup (self->cluster_labels, GUINT_TO_POINTER (count));
  char text[16];

  if (layout != NULL)
    return layout;
  if (g_hash_table_size (self->cluster_labels) >= MAX_CLUSTER_LABELS)
    g_hash_table_remove_all (self->cluster_labels);
  g_snprintf (text, sizeof text, "%u", count);
  layout = gtk_widget_create_pango_layout (GTK_WIDGET (self), text);
  g_hash_table_insert (self->cluster_labels, GUINT_TO_POINTER (count), layout);
  return layout;
}

static const GdkRGBA cluster_text = { 1.0f, 1.0f, 1.0f, 1.0f };

static void
append_cluster (WbVehicleLayer  *self,
                GtkSnapshot     *snapshot,
                const DrawItem  *item,
                int              scale)
{
  PangoLayout *layout = cluster_label (self, item->count);
  int width, height;

  append_shared (self, snapshot, wb_vehicle_glyphs_get_cluster (self->nodes, item->count), item->x, item->y, scale);
  pango_layout_get_pixel_size (layout, &width, &height);
  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (item->x - width / 2.0f, item->y - height / 2.0f));
  gtk_snapshot_append_layout (snapshot, layout, &cluster_text);
  gtk_snapshot_restore (snapshot);
}

static const WbGlyphSprite *
glyph_sprite (WbVehicleLayer *self,
              Glyph          *glyph,
              double          rotation)
{
  if (isnan (glyph->course))
    return wb_vehicle_glyphs_get_dot (self->nodes, glyph->look);
  return wb_vehicle_glyphs_get_arrow (self->nodes, glyph->look, glyph->course + rotation);
}

static void
add_glyph (WbVehicleLayer *self,
           GPtrArray      *nodes,
           const DrawItem *item,
           double          rotation,
           int             scale)
{
  Glyph *glyph = item->glyph;

  if (glyph->vehicle == self->selected)
    g_ptr_array_add (nodes, place_shared (wb_vehicle_glyphs_get_node (self->nodes, wb_vehicle_glyphs_get_halo (self->nodes)),
                                          item->x, item->y, scale));
  g_ptr_array_add (nodes, place_shared (wb_vehicle_glyphs_get_node (self->nodes, glyph_sprite (self, glyph, rotation)),
                                        item->x, item->y, scale));
}

/* Glyphs go into one container node built here rather than through
 * GtkSnapshot's per-node state: thousands of them are the hot path. */
static void
append_glyphs (WbVehicleLayer *self,
               GtkSnapshot    *snapshot,
               double          rotation,
               int             scale)
{
  g_autoptr(GPtrArray) nodes = g_ptr_array_new_full (self->items->len, (GDestroyNotify) gsk_render_node_unref);
  g_autoptr(GskRenderNode) container = NULL;

  for (guint i = 0; i < self->items->len; i++)
    {
      const DrawItem *item = &g_array_index (self->items, DrawItem, i);

      if (item->glyph == NULL)
        continue;
      add_glyph (self, nodes, item, rotation, scale);
      self->drawn_glyphs++;
    }
  if (nodes->len == 0)
    return;
  container = gsk_container_node_new ((GskRenderNode **) nodes->pdata, nodes->len);
  gtk_snapshot_append_node (snapshot, container);
}

/* The node path: one shared node per glyph kind, placed per glyph. GL
 * renderers keep the nodes' textures on the GPU, so a frame only sends
 * transforms. */
static void
snapshot_nodes (WbVehicleLayer *self,
                GtkSnapshot    *snapshot,
                double          rotation,
                gboolean        labels,
                int             scale)
{
  append_glyphs (self, snapshot, rotation, scale);
  /* Clusters and labels are few (one per grid cell, or zoomed in). */
  for (guint i = 0; i < self->items->len; i++)
    {
      const DrawItem *item = &g_array_index (self->items, DrawItem, i);

      if (item->glyph == NULL)
        {
          append_cluster (self, snapshot, item, scale);
          self->drawn_clusters++;
        }
      else if (labels)
        {
          append_label (self, snapshot, item->glyph, item->x, item->y);
          self->drawn_labels++;
        }
    }
}

/* Logical pixels an item covers around its point, and below it for a
 * label. */
static void
item_extents (WbVehicleLayer       *self,
              const DrawItem       *item,
              gboolean              labels,
              graphene_rect_t      *extents)
{
  double radius;

  if (item->glyph == NULL)
    radius = wb_vehicle_cluster_radius (item->count) + 1;
  else if (item->glyph->vehicle == self->selected)
    radius = WB_VEHICLE_GLYPH_RADIUS + 6;
  else
    radius = WB_VEHICLE_GLYPH_RADIUS + 2;
  graphene_rect_init (extents, item->x - radius - 1, item->y - radius - 1, 2 * radius + 2, 2 * radius + 2);
  if (labels && item->glyph != NULL)
    {
      int width, height;
      graphene_rect_t label;

      pango_layout_get_pixel_size (glyph_label (self, item->glyph), &width, &height);
      graphene_rect_init (&label, item->x - width / 2.0f - 4, item->y, width + 8,
                          WB_VEHICLE_GLYPH_RADIUS + 3 + height);
      graphene_rect_union (extents, &label, extents);
    }
}

/* The frame's box in whole logical pixels, within the widget. */
static gboolean
frame_box (WbVehicleLayer        *self,
           gboolean               labels,
           cairo_rectangle_int_t *box)
{
  graphene_rect_t bounds = GRAPHENE_RECT_INIT (0, 0, 0, 0);
  graphene_rect_t widget = GRAPHENE_RECT_INIT (0, 0, gtk_widget_get_width (GTK_WIDGET (self)),
                                               gtk_widget_get_height (GTK_WIDGET (self)));

  for (guint i = 0; i < self->items->len; i++)
    {
      graphene_rect_t extents;

      item_extents (self, &g_array_index (self->items, DrawItem, i), labels, &extents);
      if (i == 0)
        bounds = extents;
      else
        graphene_rect_union (&bounds, &extents, &bounds);
    }
  if (self->items->len == 0 || !graphene_rect_intersection (&bounds, &widget, &bounds))
    return FALSE;
  box->x = (int) floorf (bounds.origin.x);
  box->y = (int) floorf (bounds.origin.y);
  box->width = (int) ceilf (bounds.origin.x + bounds.size.width) - box->x;
  box->height = (int) ceilf (bounds.origin.y + bounds.size.height) - box->y;
  return box->width > 0 && box->height > 0;
}

static void
paint_text (cairo_t       *cr,
            PangoLayout   *layout,
            const GdkRGBA *color,
            double         x,
            double         y)
{
  cairo_move_to (cr, x, y);
  gdk_cairo_set_source_rgba (cr, color);
  pango_cairo_show_layout (cr, layout);
}

/* A label's text on its backing, painted once into an image at the
 * frame's scale and kept: thousands of labels a frame are then as many
 * copies of pixels, not as many text layouts shown. */
static pixman_image_t *
label_image (WbVehicleLayer *self,
             Glyph          *glyph,
             int             scale)
{
  PangoLayout *layout;
  int width, height;
  cairo_t *cr;

  if (glyph->label_pixels != NULL && glyph->label_scale == scale)
    return glyph->label_pixels;
  glyph_clear_label_image (glyph);
  layout = glyph_label (self, glyph);
  pango_layout_get_pixel_size (layout, &width, &height);
  glyph->label_image = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, (width + 6) * scale, height * scale);
  cairo_surface_set_device_scale (glyph->label_image, scale, scale);
  cr = cairo_create (glyph->label_image);
  gdk_cairo_set_source_rgba (cr, &label_back);
  cairo_paint (cr);
  paint_text (cr, layout, &label_text, 3, 0);
  cairo_destroy (cr);
  cairo_surface_flush (glyph->label_image);
  glyph->label_pixels = wb_pixman_image_for_surface (glyph->label_image);
  glyph->label_scale = scale;
  return glyph->label_pixels;
}

/* Centred under the glyph, on whole device pixels of the frame's image,
 * whose corner is @box's. */
static void
blit_label (WbVehicleLayer              *self,
            pixman_image_t              *pixels,
            const DrawItem              *item,
            const cairo_rectangle_int_t *box,
            int                          scale)
{
  pixman_image_t *label = label_image (self, item->glyph, scale);

  wb_pixman_blit (pixels, label,
                  (int) round ((item->x - box->x) * scale - pixman_image_get_width (label) / 2.0),
                  (int) round ((item->y + WB_VEHICLE_GLYPH_RADIUS + 2 - box->y) * scale));
}

/* Cluster counts over their discs; @cr is in logical pixels of the
 * widget. */
static void
paint_cluster_counts (WbVehicleLayer *self,
                      cairo_t        *cr)
{
  for (guint i = 0; i < self->items->len; i++)
    {
      const DrawItem *item = &g_array_index (self->items, DrawItem, i);
      PangoLayout *layout;
      int width, height;

      if (item->glyph != NULL)
        continue;
      layout = cluster_label (self, item->count);
      pango_layout_get_pixel_size (layout, &width, &height);
      paint_text (cr, layout, &cluster_text, item->x - width / 2.0, item->y - height / 2.0);
      self->drawn_clusters++;
    }
}

/* The image path, for the Cairo renderer. On X11 it draws into a
 * server-side pixmap, where every node is a round of requests to the X
 * server: thousands of glyph nodes took 100 ms and more a frame under
 * Xvfb. Here the frame's glyphs, clusters and labels are painted into one
 * image on the client (pixman copies each cached sprite to whole pixels)
 * and the layer is one cairo node showing it: one upload a frame, sized
 * to what the frame covers. */
static void
snapshot_image (WbVehicleLayer *self,
                GtkSnapshot    *snapshot,
                double          rotation,
                gboolean        labels,
                int             scale)
{
  cairo_rectangle_int_t box;
  cairo_surface_t *image;
  pixman_image_t *pixels;
  cairo_t *cr;

  if (!frame_box (self, labels, &box))
    return;
  image = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, box.width * scale, box.height * scale);
  cairo_surface_flush (image);
  pixels = wb_pixman_image_for_surface (image);
  /* Glyphs first, then clusters over them as on the node path, then
   * labels: device pixels of the image. */
  for (guint i = 0; i < self->items->len; i++)
    {
      const DrawItem *item = &g_array_index (self->items, DrawItem, i);
      double x = (item->x - box.x) * scale, y = (item->y - box.y) * scale;

      if (item->glyph == NULL)
        continue;
      if (item->glyph->vehicle == self->selected)
        wb_glyph_sprite_blit (wb_vehicle_glyphs_get_halo (self->nodes), pixels, x, y);
      wb_glyph_sprite_blit (glyph_sprite (self, item->glyph, rotation), pixels, x, y);
      self->drawn_glyphs++;
    }
  for (guint i = 0; i < self->items->len; i++)
    {
      const DrawItem *item = &g_array_index (self->items, DrawItem, i);

      if (item->glyph == NULL)
        wb_glyph_sprite_blit (wb_vehicle_glyphs_get_cluster (self->nodes, item->count), pixels,
                              (item->x - box.x) * scale, (item->y - box.y) * scale);
      else if (labels)
        {
          blit_label (self, pixels, item, &box, scale);
          self->drawn_labels++;
        }
    }
  pixman_image_unref (pixels);
  cairo_surface_mark_dirty (image);
  /* Cluster counts are text, and few. */
  cr = cairo_create (image);
  cairo_scale (cr, scale, scale);
  cairo_translate (cr, -box.x, -box.y);
  paint_cluster_counts (self, cr);
  cairo_destroy (cr);

  cairo_surface_set_device_scale (image, scale, scale);
  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (box.x, box.y, box.width, box.height));
  cairo_set_source_surface (cr, image, box.x, box.y);
  cairo_paint (cr);
  cairo_destroy (cr);
  cairo_surface_destroy (image);
}

/* Nodes a frame takes on the node path past which, for the Cairo
 * renderer, one image costs less. The image's cost grows with the box it
 * covers, however sparse, the nodes' with their count, text nodes the
 * most. console-bench, CPU a frame (ours and the X server's) under Xvfb,
 * nodes against image: the city sweep (~470 nodes) 5.3 against 7.7 ms;
 * 300 labelled glyphs (~900 nodes) 6.4 against 9.9 ms; 1 250 labelled
 * glyphs (~3 750 nodes) 16.6 against 14.8 ms; 5 000 labelled glyphs
 * (15 000 nodes) 45 against 14 ms. Even at about 2 800. */
#define IMAGE_PATH_NODES 2800

static gboolean
uses_image_path (WbVehicleLayer *self,
                 gboolean        labels)
{
  guint nodes = 0;

  switch (self->compose)
    {
    case WB_VEHICLE_COMPOSE_NODES:
      return FALSE;
    case WB_VEHICLE_COMPOSE_IMAGE:
      return TRUE;
    case WB_VEHICLE_COMPOSE_AUTO:
    default:
      if (!wb_vehicle_glyphs_is_for_cairo (self->nodes))
        return FALSE;
      /* A glyph is one node, a cluster two (disc and count), a label
       * two (backing and text). */
      for (guint i = 0; i < self->items->len; i++)
        {
          const DrawItem *item = &g_array_index (self->items, DrawItem, i);

          nodes += item->glyph == NULL ? 2 : labels ? 3 : 1;
        }
      return nodes >= IMAGE_PATH_NODES;
    }
}

static void
wb_vehicle_layer_snapshot (GtkWidget   *widget,
                           GtkSnapshot *snapshot)
{
  WbVehicleLayer *self = WB_VEHICLE_LAYER (widget);
  ShumateViewport *viewport = shumate_layer_get_viewport (SHUMATE_LAYER (self));
  double rotation = shumate_viewport_get_rotation (viewport) * 180.0 / G_PI;
  gboolean labels = shumate_viewport_get_zoom_level (viewport) >= self->label_zoom;
  int scale;

  compute_frame (self);
  scale = wb_vehicle_glyphs_get_scale (ensure_nodes (self));
  self->drawn_glyphs = self->drawn_clusters = self->drawn_labels = 0;
  if (uses_image_path (self, labels))
    snapshot_image (self, snapshot, rotation, labels, scale);
  else
    snapshot_nodes (self, snapshot, rotation, labels, scale);
}

static const DrawItem *
find_item (WbVehicleLayer *self,
           double          x,
           double          y)
{
  ensure_frame (self);
  /* Topmost first: the reverse of drawing order. */
  for (guint i = self->items->len; i > 0; i--)
    {
      const DrawItem *item = &g_array_index (self->items, DrawItem, i - 1);
      double radius = item->glyph != NULL ? WB_VEHICLE_GLYPH_RADIUS : wb_vehicle_cluster_radius (item->count);
      double dx = x - item->x, dy = y - item->y;

      radius += PICK_SLOP;
      if (dx * dx + dy * dy <= radius * radius)
        return item;
    }
  return NULL;
}

WbClientVehicle *
wb_vehicle_layer_pick (WbVehicleLayer *self,
                       double          x,
                       double          y,
                       WbVehiclePick  *pick)
{
  const DrawItem *item;
  WbVehiclePick result = { NULL, 0, 0, 0 };

  g_return_val_if_fail (WB_IS_VEHICLE_LAYER (self), NULL);

  item = find_item (self, x, y);
  if (item != NULL)
    {
      result.vehicle = item->glyph != NULL ? item->glyph->vehicle : NULL;
      result.count = item->count;
      wb_map_unproject (item->map_x, item->map_y, &result.latitude, &result.longitude);
    }
  if (pick != NULL)
    *pick = result;
  return result.vehicle;
}

/* ShumateLayer says FALSE everywhere so clicks reach the map; this layer
 * takes the ones on a glyph or cluster and lets the rest through. */
static gboolean
wb_vehicle_layer_contains (GtkWidget *widget,
                           double     x,
                           double     y)
{
  return find_item (WB_VEHICLE_LAYER (widget), x, y) != NULL;
}

static gboolean
on_query_tooltip (GtkWidget  *widget,
                  int         x,
                  int         y,
                  gboolean    keyboard_mode,
                  GtkTooltip *tooltip)
{
  WbVehiclePick pick;
  WbClientVehicle *vehicle = wb_vehicle_layer_pick (WB_VEHICLE_LAYER (widget), x, y, &pick);
  g_autofree char *text = NULL;

  if (pick.count == 0)
    return FALSE;
  if (vehicle != NULL)
    {
      const char *name = wb_client_vehicle_get_name (vehicle);
      text = g_strdup (name != NULL ? name : wb_client_vehicle_get_id (vehicle));
    }
  else
    text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u vehicle", "%u vehicles", pick.count), pick.count);
  gtk_tooltip_set_text (tooltip, text);
  return TRUE;
}

static void
on_click_released (GtkGestureClick *gesture,
                   int              n_press,
                   double           x,
                   double           y,
                   WbVehicleLayer  *self)
{
  WbVehiclePick pick;
  WbClientVehicle *vehicle = wb_vehicle_layer_pick (self, x, y, &pick);

  if (pick.count == 0)
    return;
  gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_CLAIMED);
  if (vehicle != NULL)
    {
      g_autoptr(WbClientVehicle) hold = g_object_ref (vehicle);

      wb_vehicle_layer_set_selected (self, hold);
      g_signal_emit (self, signals[VEHICLE_ACTIVATED], 0, hold);
    }
  else
    g_signal_emit (self, signals[CLUSTER_ACTIVATED], 0, pick.latitude, pick.longitude, pick.count);
}

static void
wb_vehicle_layer_size_allocate (GtkWidget *widget,
                                int        width,
                                int        height,
                                int        baseline)
{
  WB_VEHICLE_LAYER (widget)->frame_valid = FALSE;
}

static void
wb_vehicle_layer_constructed (GObject *object)
{
  WbVehicleLayer *self = WB_VEHICLE_LAYER (object);
  ShumateViewport *viewport;

  G_OBJECT_CLASS (wb_vehicle_layer_parent_class)->constructed (object);

  viewport = shumate_layer_get_viewport (SHUMATE_LAYER (self));
  g_signal_connect_object (viewport, "notify", G_CALLBACK (on_viewport_notify), self, G_CONNECT_SWAPPED);
}

static void
wb_vehicle_layer_dispose (GObject *object)
{
  WbVehicleLayer *self = WB_VEHICLE_LAYER (object);

  wb_vehicle_layer_set_model (self, NULL);
  wb_vehicle_layer_set_filter (self, NULL);
  if (self->tick_id != 0)
    {
      gtk_widget_remove_tick_callback (GTK_WIDGET (self), self->tick_id);
      self->tick_id = 0;
    }
  G_OBJECT_CLASS (wb_vehicle_layer_parent_class)->dispose (object);
}

static void
wb_vehicle_layer_finalize (GObject *object)
{
  WbVehicleLayer *self = WB_VEHICLE_LAYER (object);

  g_clear_object (&self->selected);
  g_clear_pointer (&self->by_vehicle, g_hash_table_unref);
  g_clear_pointer (&self->glyphs, g_ptr_array_unref);
  g_clear_pointer (&self->nodes, wb_vehicle_glyphs_free);
  g_clear_pointer (&self->cluster_labels, g_hash_table_unref);
  g_clear_pointer (&self->items, g_array_unref);
  g_clear_pointer (&self->cells, g_array_unref);
  g_clear_pointer (&self->members, g_array_unref);

  G_OBJECT_CLASS (wb_vehicle_layer_parent_class)->finalize (object);
}

static void
wb_vehicle_layer_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  WbVehicleLayer *self = WB_VEHICLE_LAYER (object);

  switch (prop_id)
    {
    case PROP_MODEL:
      g_value_set_object (value, self->model);
      break;
    case PROP_SELECTED:
      g_value_set_object (value, self->selected);
      break;
    case PROP_FILTER:
      g_value_set_object (value, self->filter);
      break;
    case PROP_CLUSTER_ZOOM:
      g_value_set_double (value, self->cluster_zoom);
      break;
    case PROP_LABEL_ZOOM:
      g_value_set_double (value, self->label_zoom);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_vehicle_layer_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  WbVehicleLayer *self = WB_VEHICLE_LAYER (object);

  switch (prop_id)
    {
    case PROP_MODEL:
      wb_vehicle_layer_set_model (self, g_value_get_object (value));
      break;
    case PROP_SELECTED:
      wb_vehicle_layer_set_selected (self, g_value_get_object (value));
      break;
    case PROP_FILTER:
      wb_vehicle_layer_set_filter (self, g_value_get_object (value));
      break;
    case PROP_CLUSTER_ZOOM:
      wb_vehicle_layer_set_cluster_zoom (self, g_value_get_double (value));
      break;
    case PROP_LABEL_ZOOM:
      wb_vehicle_layer_set_label_zoom (self, g_value_get_double (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_vehicle_layer_class_init (WbVehicleLayerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = wb_vehicle_layer_constructed;
  object_class->dispose = wb_vehicle_layer_dispose;
  object_class->finalize = wb_vehicle_layer_finalize;
  object_class->get_property = wb_vehicle_layer_get_property;
  object_class->set_property = wb_vehicle_layer_set_property;
  widget_class->snapshot = wb_vehicle_layer_snapshot;
  widget_class->contains = wb_vehicle_layer_contains;
  widget_class->size_allocate = wb_vehicle_layer_size_allocate;
  widget_class->query_tooltip = on_query_tooltip;

  properties[PROP_MODEL] =
    g_param_spec_object ("model", NULL, NULL, G_TYPE_LIST_MODEL,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_SELECTED] =
    g_param_spec_object ("selected", NULL, NULL, WB_TYPE_CLIENT_VEHICLE,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_FILTER] =
    g_param_spec_object ("filter", NULL, NULL, GTK_TYPE_FILTER,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_CLUSTER_ZOOM] =
    g_param_spec_double ("cluster-zoom", NULL, NULL, 0, 30, 12,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_LABEL_ZOOM] =
    g_param_spec_double ("label-zoom", NULL, NULL, 0, 30, 15,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * WbVehicleLayer::vehicle-activated:
   * @vehicle: the clicked vehicle, now #WbVehicleLayer:selected
   */
  signals[VEHICLE_ACTIVATED] =
    g_signal_new ("vehicle-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, WB_TYPE_CLIENT_VEHICLE);
  /**
   * WbVehicleLayer::cluster-activated:
   * @latitude: the cluster's centroid
   * @longitude:
   * @count: vehicles in it
   *
   * A click on a cluster; the console zooms in on it.
   */
  signals[CLUSTER_ACTIVATED] =
    g_signal_new ("cluster-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 3, G_TYPE_DOUBLE, G_TYPE_DOUBLE, G_TYPE_UINT);

  gtk_widget_class_set_css_name (widget_class, "vehicle-layer");
  /* One picture to assistive technologies: the vehicle list on the same
   * model is the accessible way to reach each vehicle. */
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
wb_vehicle_layer_init (WbVehicleLayer *self)
{
  GtkGesture *click = gtk_gesture_click_new ();

  self->glyphs = g_ptr_array_new_with_free_func (glyph_free);
  self->by_vehicle = g_hash_table_new (NULL, NULL);
  self->items = g_array_new (FALSE, FALSE, sizeof (DrawItem));
  self->cluster_labels = g_hash_table_new_full (NULL, NULL, NULL, g_object_unref);
  self->cells = g_array_new (FALSE, TRUE, sizeof (Cell));
  self->members = g_array_new (FALSE, FALSE, sizeof (Member));
  self->cluster_zoom = 12;
  self->label_zoom = 15;

  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (click), GDK_BUTTON_PRIMARY);
  g_signal_connect (click, "released", G_CALLBACK (on_click_released), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (click));
  gtk_widget_set_has_tooltip (GTK_WIDGET (self), TRUE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, g_dgettext (GETTEXT_PACKAGE, "Vehicles on the map"),
                                  -1);
}

WbVehicleLayer *
wb_vehicle_layer_new (ShumateViewport *viewport)
{
  g_return_val_if_fail (SHUMATE_IS_VIEWPORT (viewport), NULL);
  return g_object_new (WB_TYPE_VEHICLE_LAYER, "viewport", viewport, NULL);
}

GListModel *
wb_vehicle_layer_get_model (WbVehicleLayer *self)
{
  g_return_val_if_fail (WB_IS_VEHICLE_LAYER (self), NULL);
  return self->model;
}

void
wb_vehicle_layer_set_model (WbVehicleLayer *self,
                            GListModel     *model)
{
  guint old_count;

  g_return_if_fail (WB_IS_VEHICLE_LAYER (self));
  g_return_if_fail (model == NULL || G_IS_LIST_MODEL (model));

  if (self->model == model)
    return;
  old_count = self->glyphs->len;
  if (self->model != NULL)
    g_signal_handlers_disconnect_by_func (self->model, on_items_changed, self);
  g_set_object (&self->model, model);
  on_items_changed (model, 0, old_count, 0, self);
  if (model != NULL)
    {
      g_signal_connect (model, "items-changed", G_CALLBACK (on_items_changed), self);
      on_items_changed (model, 0, 0, g_list_model_get_n_items (model), self);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODEL]);
}

WbClientVehicle *
wb_vehicle_layer_get_selected (WbVehicleLayer *self)
{
  g_return_val_if_fail (WB_IS_VEHICLE_LAYER (self), NULL);
  return self->selected;
}

void
wb_vehicle_layer_set_selected (WbVehicleLayer  *self,
                               WbClientVehicle *vehicle)
{
  g_return_if_fail (WB_IS_VEHICLE_LAYER (self));
  g_return_if_fail (vehicle == NULL || WB_IS_CLIENT_VEHICLE (vehicle));

  if (!g_set_object (&self->selected, vehicle))
    return;
  invalidate (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTED]);
}

GtkFilter *
wb_vehicle_layer_get_filter (WbVehicleLayer *self)
{
  g_return_val_if_fail (WB_IS_VEHICLE_LAYER (self), NULL);
  return self->filter;
}

void
wb_vehicle_layer_set_filter (WbVehicleLayer *self,
                             GtkFilter      *filter)
{
  g_return_if_fail (WB_IS_VEHICLE_LAYER (self));
  g_return_if_fail (filter == NULL || GTK_IS_FILTER (filter));

  if (self->filter == filter)
    return;
  if (self->filter != NULL)
    g_signal_handlers_disconnect_by_func (self->filter, on_filter_changed, self);
  g_set_object (&self->filter, filter);
  if (filter != NULL)
    g_signal_connect (filter, "changed", G_CALLBACK (on_filter_changed), self);
  on_filter_changed (filter, GTK_FILTER_CHANGE_DIFFERENT, self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FILTER]);
}

double
wb_vehicle_layer_get_cluster_zoom (WbVehicleLayer *self)
{
  g_return_val_if_fail (WB_IS_VEHICLE_LAYER (self), 0);
  return self->cluster_zoom;
}

void
wb_vehicle_layer_set_cluster_zoom (WbVehicleLayer *self,
                                   double          zoom)
{
  g_return_if_fail (WB_IS_VEHICLE_LAYER (self));

  if (self->cluster_zoom == zoom)
    return;
  self->cluster_zoom = zoom;
  invalidate (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CLUSTER_ZOOM]);
}

double
wb_vehicle_layer_get_label_zoom (WbVehicleLayer *self)
{
  g_return_val_if_fail (WB_IS_VEHICLE_LAYER (self), 0);
  return self->label_zoom;
}

void
wb_vehicle_layer_set_label_zoom (WbVehicleLayer *self,
                                 double          zoom)
{
  g_return_if_fail (WB_IS_VEHICLE_LAYER (self));

  if (self->label_zoom == zoom)
    return;
  self->label_zoom = zoom;
  invalidate (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LABEL_ZOOM]);
}

gboolean
wb_vehicle_layer_get_vehicle_point (WbVehicleLayer  *self,
                                    WbClientVehicle *vehicle,
                                    double          *x,
                                    double          *y)
{
  ShumateViewport *viewport;
  Glyph *glyph;
  WbMapView view;
  double map_x, map_y;

  g_return_val_if_fail (WB_IS_VEHICLE_LAYER (self), FALSE);
  g_return_val_if_fail (WB_IS_CLIENT_VEHICLE (vehicle), FALSE);

  glyph = g_hash_table_lookup (self->by_vehicle, vehicle);
  viewport = shumate_layer_get_viewport (SHUMATE_LAYER (self));
  if (glyph == NULL || !glyph->visible || !wb_map_view_init (&view, viewport, GTK_WIDGET (self)))
    return FALSE;
  glyph_position (glyph, layer_now (self), &map_x, &map_y);
  wb_map_view_to_widget (&view, map_x, map_y, x, y);
  return TRUE;
}

void
wb_vehicle_layer_project (WbVehicleLayer *self,
                          double          latitude,
                          double          longitude,
                          double         *x,
                          double         *y)
{
  WbMapView view;
  double map_x, map_y;

  g_return_if_fail (WB_IS_VEHICLE_LAYER (self));

  *x = *y = NAN;
  if (!wb_map_view_init (&view, shumate_layer_get_viewport (SHUMATE_LAYER (self)), GTK_WIDGET (self)))
    return;
  wb_map_project (latitude, longitude, &map_x, &map_y);
  wb_map_view_to_widget (&view, map_x, map_y, x, y);
}

guint
wb_vehicle_layer_get_drawn_glyphs (WbVehicleLayer *self)
{
  g_return_val_if_fail (WB_IS_VEHICLE_LAYER (self), 0);
  return self->drawn_glyphs;
}

guint
wb_vehicle_layer_get_drawn_clusters (WbVehicleLayer *self)
{
  g_return_val_if_fail (WB_IS_VEHICLE_LAYER (self), 0);
  return self->drawn_clusters;
}

guint
wb_vehicle_layer_get_drawn_labels (WbVehicleLayer *self)
{
  g_return_val_if_fail (WB_IS_VEHICLE_LAYER (self), 0);
  return self->drawn_labels;
}

void
wb_vehicle_layer_set_clock_override (WbVehicleLayer *self,
                                     gint64          time)
{
  g_return_if_fail (WB_IS_VEHICLE_LAYER (self));

  self->clock_override = time;
  invalidate (self);
}

void
wb_vehicle_layer_set_compose (WbVehicleLayer   *self,
                              WbVehicleCompose  compose)
{
  g_return_if_fail (WB_IS_VEHICLE_LAYER (self));

  self->compose = compose;
  invalidate (self);
}
