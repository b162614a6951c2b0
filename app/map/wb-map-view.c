// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include <math.h>

#include "wb-map-view.h"

void
wb_map_project (double  latitude,
                double  longitude,
                double *map_x,
                double *map_y)
{
  double sin_latitude;

  latitude = CLAMP (latitude, SHUMATE_MIN_LATITUDE, SHUMATE_MAX_LATITUDE);
  longitude = CLAMP (longitude, SHUMATE_MIN_LONGITUDE, SHUMATE_MAX_LONGITUDE);
  sin_latitude = sin (latitude * G_PI / 180.0);
  *map_x = (longitude + 180.0) / 360.0;
  *map_y = 0.5 - log ((1.0 + sin_latitude) / (1.0 - sin_latitude)) / (4.0 * G_PI);
}

void
wb_map_unproject (double  map_x,
                  double  map_y,
                  double *latitude,
                  double *longitude)
{
  *longitude = map_x * 360.0 - 180.0;
  *latitude = atan (sinh (G_PI * (1.0 - 2.0 * map_y))) * 180.0 / G_PI;
}

gboolean
wb_map_view_init (WbMapView       *view,
                  ShumateViewport *viewport,
                  GtkWidget       *widget)
{
  ShumateMapSource *source = shumate_viewport_get_reference_map_source (viewport);
  double rotation = shumate_viewport_get_rotation (viewport);

  view->width = gtk_widget_get_width (widget);
  view->height = gtk_widget_get_height (widget);
  if (source == NULL || view->width <= 0 || view->height <= 0)
    return FALSE;

  view->zoom = shumate_viewport_get_zoom_level (viewport);
  view->world_size = shumate_map_source_get_tile_size (source) * exp2 (view->zoom);
  wb_map_project (shumate_location_get_latitude (SHUMATE_LOCATION (viewport)),
                  shumate_location_get_longitude (SHUMATE_LOCATION (viewport)),
                  &view->center_x, &view->center_y);
  view->cos_rotation = cos (rotation);
  view->sin_rotation = sin (rotation);
  return TRUE;
}

void
wb_map_view_to_widget (const WbMapView *view,
                       double           map_x,
                       double           map_y,
                       double          *x,
                       double          *y)
{
  double dx = (map_x - view->center_x) * view->world_size;
  double dy = (map_y - view->center_y) * view->world_size;

  *x = view->width / 2 + dx * view->cos_rotation - dy * view->sin_rotation;
  *y = view->height / 2 + dx * view->sin_rotation + dy * view->cos_rotation;
}

void
wb_map_view_from_widget (const WbMapView *view,
                         double           x,
                         double           y,
                         double          *map_x,
                         double          *map_y)
{
  double dx = x - view->width / 2;
  double dy = y - view->height / 2;

  *map_x = view->center_x + (dx * view->cos_rotation + dy * view->sin_rotation) / view->world_size;
  *map_y = view->center_y + (-dx * view->sin_rotation + dy * view->cos_rotation) / view->world_size;
}

void
wb_map_view_visible_bounds (const WbMapView *view,
                            double           margin,
                            double          *min_x,
                            double          *min_y,
                            double          *max_x,
                            double          *max_y)
{
  /* Half the extent of the rotated widget, in unrotated pixels. */
  double half_w = (fabs (view->cos_rotation) * view->width + fabs (view->sin_rotation) * view->height) / 2 + margin;
  double half_h = (fabs (view->sin_rotation) * view->width + fabs (view->cos_rotation) * view->height) / 2 + margin;

  *min_x = view->center_x - half_w / view->world_size;
  *max_x = view->center_x + half_w / view->world_size;
  *min_y = view->center_y - half_h / view->world_size;
  *max_y = view->center_y + half_h / view->world_size;
}
