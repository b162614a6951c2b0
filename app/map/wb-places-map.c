// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include <math.h>
#include <shumate/shumate.h>

#include "wb-graticule-layer.h"
#include "wb-map-init.h"
#include "wb-places-map.h"
#include "wb-tile-source.h"

typedef struct
{
  double lat;
  double lon;
} Place;

struct _WbPlacesMap
{
  GtkWidget           parent_instance;

  ShumateSimpleMap   *map;
  WbTileSource       *tile_source;
  ShumatePathLayer   *path_layer;
  ShumateMarkerLayer *place_layer;
  ShumateMarkerLayer *live_layer;
  ShumateMarker      *live_marker;
  GArray             *places;      /* Place */
  gboolean            joined;
  gboolean            has_live;
  double              live_lat;
  double              live_lon;
};

G_DEFINE_FINAL_TYPE (WbPlacesMap, wb_places_map, GTK_TYPE_WIDGET)

static void
wb_places_map_dispose (GObject *object)
{
  WbPlacesMap *self = WB_PLACES_MAP (object);

  if (self->map != NULL)
    gtk_widget_unparent (GTK_WIDGET (self->map));
  self->map = NULL;
  g_clear_object (&self->tile_source);
  G_OBJECT_CLASS (wb_places_map_parent_class)->dispose (object);
}

static void
wb_places_map_finalize (GObject *object)
{
  g_array_unref (WB_PLACES_MAP (object)->places);
  G_OBJECT_CLASS (wb_places_map_parent_class)->finalize (object);
}

/* A map would take any height offered; this one asks for a card's. */
static void
wb_places_map_measure (GtkWidget      *widget,
                       GtkOrientation  orientation,
                       int             for_size,
                       int            *minimum,
                       int            *natural,
                       int            *minimum_baseline,
                       int            *natural_baseline)
{
  WbPlacesMap *self = WB_PLACES_MAP (widget);

  gtk_widget_measure (GTK_WIDGET (self->map), orientation, for_size, minimum, natural, NULL, NULL);
  if (orientation == GTK_ORIENTATION_VERTICAL)
    *natural = MAX (*minimum, 220);
}

static void
wb_places_map_size_allocate (GtkWidget *widget,
                             int        width,
                             int        height,
                             int        baseline)
{
  gtk_widget_allocate (GTK_WIDGET (WB_PLACES_MAP (widget)->map), width, height, baseline, NULL);
}

static void
wb_places_map_class_init (WbPlacesMapClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = wb_places_map_dispose;
  object_class->finalize = wb_places_map_finalize;
  GTK_WIDGET_CLASS (klass)->measure = wb_places_map_measure;
  GTK_WIDGET_CLASS (klass)->size_allocate = wb_places_map_size_allocate;
  gtk_widget_class_set_css_name (GTK_WIDGET_CLASS (klass), "placesmap");
}

static void
wb_places_map_init (WbPlacesMap *self)
{
  ShumateViewport *viewport;
  GdkRGBA stroke = { 0.21, 0.52, 0.89, 0.9 };
  GtkWidget *pin;

  self->places = g_array_new (FALSE, FALSE, sizeof (Place));
  self->map = shumate_simple_map_new ();
  /* As tall as it is asked to be, not a share of the column. */
  gtk_widget_set_vexpand (GTK_WIDGET (self->map), FALSE);
  gtk_widget_set_parent (GTK_WIDGET (self->map), GTK_WIDGET (self));
  viewport = shumate_simple_map_get_viewport (self->map);
  self->path_layer = shumate_path_layer_new (viewport);
  shumate_path_layer_set_stroke_color (self->path_layer, &stroke);
  shumate_path_layer_set_stroke_width (self->path_layer, 3);
  self->place_layer = shumate_marker_layer_new (viewport);
  self->live_layer = shumate_marker_layer_new (viewport);
  self->live_marker = shumate_marker_new ();
  pin = gtk_image_new_from_icon_name ("mark-location-symbolic");
  /* The pin's tip, not its middle, stands on the position, so a place's
   * number under it stays readable. */
  gtk_widget_set_margin_bottom (pin, 24);
  shumate_marker_set_child (self->live_marker, pin);
  gtk_widget_add_css_class (GTK_WIDGET (self->live_marker), "trip-vehicle-marker");
  gtk_widget_set_visible (GTK_WIDGET (self->live_marker), FALSE);
  shumate_marker_layer_add_marker (self->live_layer, self->live_marker);
  shumate_simple_map_add_overlay_layer (self->map, SHUMATE_LAYER (wb_graticule_layer_new (viewport)));
  shumate_simple_map_add_overlay_layer (self->map, SHUMATE_LAYER (self->path_layer));
  shumate_simple_map_add_overlay_layer (self->map, SHUMATE_LAYER (self->place_layer));
  shumate_simple_map_add_overlay_layer (self->map, SHUMATE_LAYER (self->live_layer));
  wb_places_map_set_tiles (self, "none");
  wb_map_name_zoom_buttons (GTK_WIDGET (self->map));
}

GtkWidget *
wb_places_map_new (void)
{
  return g_object_new (WB_TYPE_PLACES_MAP, NULL);
}

void
wb_places_map_set_tiles (WbPlacesMap *self,
                         const char  *tiles)
{
  g_autoptr(ShumateMapSource) source = NULL;

  g_return_if_fail (WB_IS_PLACES_MAP (self));

  g_clear_object (&self->tile_source);
  self->tile_source = wb_tile_source_new (tiles != NULL && *tiles != '\0' ? tiles : "none");
  source = wb_tile_source_create_map_source (self->tile_source);
  shumate_simple_map_set_map_source (self->map, source);
}

void
wb_places_map_clear (WbPlacesMap *self)
{
  g_return_if_fail (WB_IS_PLACES_MAP (self));

  g_array_set_size (self->places, 0);
  shumate_marker_layer_remove_all (self->place_layer);
  shumate_path_layer_remove_all (self->path_layer);
}

void
wb_places_map_add_place (WbPlacesMap *self,
                         const char  *label,
                         double       lat,
                         double       lon,
                         gboolean     reached)
{
  ShumateMarker *marker;
  GtkWidget *text;
  Place place = { lat, lon };

  g_return_if_fail (WB_IS_PLACES_MAP (self));

  marker = shumate_marker_new ();
  text = gtk_label_new (label);
  gtk_widget_add_css_class (text, "trip-stop-marker");
  if (reached)
    gtk_widget_add_css_class (text, "reached");
  shumate_marker_set_child (marker, text);
  shumate_location_set_location (SHUMATE_LOCATION (marker), lat, lon);
  shumate_marker_layer_add_marker (self->place_layer, marker);
  if (self->joined)
    {
      g_autoptr(ShumateCoordinate) node = g_object_ref_sink (shumate_coordinate_new_full (lat, lon));

      shumate_path_layer_add_node (self->path_layer, SHUMATE_LOCATION (node));
    }
  g_array_append_val (self->places, place);
}

void
wb_places_map_set_joined (WbPlacesMap *self,
                          gboolean     joined)
{
  g_return_if_fail (WB_IS_PLACES_MAP (self));
  self->joined = joined;
}

void
wb_places_map_set_live (WbPlacesMap *self,
                        gboolean     shown,
                        double       lat,
                        double       lon)
{
  g_return_if_fail (WB_IS_PLACES_MAP (self));

  self->has_live = shown;
  self->live_lat = lat;
  self->live_lon = lon;
  gtk_widget_set_visible (GTK_WIDGET (self->live_marker), shown);
  if (shown)
    shumate_location_set_location (SHUMATE_LOCATION (self->live_marker), lat, lon);
}

gboolean
wb_places_map_get_live (WbPlacesMap *self,
                        double      *out_lat,
                        double      *out_lon)
{
  g_return_val_if_fail (WB_IS_PLACES_MAP (self), FALSE);

  if (!self->has_live)
    return FALSE;
  if (out_lat != NULL)
    *out_lat = self->live_lat;
  if (out_lon != NULL)
    *out_lon = self->live_lon;
  return TRUE;
}

guint
wb_places_map_get_n_places (WbPlacesMap *self)
{
  g_return_val_if_fail (WB_IS_PLACES_MAP (self), 0);
  return self->places->len;
}

void
wb_places_map_frame (WbPlacesMap *self)
{
  ShumateViewport *viewport;
  double min_lat = 90, max_lat = -90, min_lon = 180, max_lon = -180, span;
  int height;

  g_return_if_fail (WB_IS_PLACES_MAP (self));

  viewport = shumate_simple_map_get_viewport (self->map);
  for (guint i = 0; i < self->places->len; i++)
    {
      const Place *place = &g_array_index (self->places, Place, i);

      min_lat = MIN (min_lat, place->lat), max_lat = MAX (max_lat, place->lat);
      min_lon = MIN (min_lon, place->lon), max_lon = MAX (max_lon, place->lon);
    }
  if (self->has_live)
    {
      min_lat = MIN (min_lat, self->live_lat), max_lat = MAX (max_lat, self->live_lat);
      min_lon = MIN (min_lon, self->live_lon), max_lon = MAX (max_lon, self->live_lon);
    }
  if (min_lat > max_lat)
    return;
  /* Mercator stretches latitude by 1 / cos (latitude). */
  span = MAX ((max_lat - min_lat) / cos ((min_lat + max_lat) / 2 * G_PI / 180), max_lon - min_lon);
  /* One place alone: its neighbourhood, a few kilometres. */
  span = MAX (span, 0.02);
  /* The map's pixels hold twice the span: 256 px cover 360° / 2^zoom. */
  height = MAX (gtk_widget_get_height (GTK_WIDGET (self)), 200);
  shumate_viewport_set_zoom_level (viewport, CLAMP (log2 (height * 360.0 / (256 * 2 * span)), 2, 17));
  shumate_location_set_location (SHUMATE_LOCATION (viewport), (min_lat + max_lat) / 2, (min_lon + max_lon) / 2);
}
