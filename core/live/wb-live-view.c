// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include <math.h>
#include <stdlib.h>

#include "wb-json.h"
#include "wb-live-view.h"

G_DEFINE_BOXED_TYPE (WbLiveView, wb_live_view, wb_live_view_copy, wb_live_view_free)

static gboolean
in_range (double value,
          double limit)
{
  return isfinite (value) && value >= -limit && value <= limit;
}

/**
 * wb_live_bbox_validate:
 *
 * A bbox is four finite numbers within [-180,180] and [-90,90], with its
 * minimums at or below its maximums. min_lon > max_lon is what a box
 * across the antimeridian looks like; it is refused with its own message
 * so the client knows to split it.
 */
gboolean
wb_live_bbox_validate (const WbLiveBbox *bbox,
                       GError          **error)
{
  g_return_val_if_fail (bbox != NULL, FALSE);

  if (!in_range (bbox->min_lon, 180) || !in_range (bbox->max_lon, 180))
    return wb_json_set_field_error (error, "bbox", "longitudes must be within [-180, 180]"), FALSE;
  if (!in_range (bbox->min_lat, 90) || !in_range (bbox->max_lat, 90))
    return wb_json_set_field_error (error, "bbox", "latitudes must be within [-90, 90]"), FALSE;
  if (bbox->min_lat > bbox->max_lat)
    return wb_json_set_field_error (error, "bbox", "minLat is above maxLat"), FALSE;
  if (bbox->min_lon > bbox->max_lon)
    return wb_json_set_field_error (error, "bbox",
                                    "minLon is east of maxLon: a box across the antimeridian "
                                    "is not supported, ask for two boxes"), FALSE;
  return TRUE;
}

static gboolean
parse_degrees (const char *text,
               double     *out_value)
{
  char *end = NULL;

  if (*text == '\0' || g_ascii_isspace (*text))
    return FALSE;
  *out_value = g_ascii_strtod (text, &end);
  return end != text && *end == '\0';
}

gboolean
wb_live_bbox_parse (const char  *text,
                    WbLiveBbox  *out_bbox,
                    GError     **error)
{
  g_auto(GStrv) parts = NULL;
  double values[4];

  g_return_val_if_fail (text != NULL, FALSE);
  g_return_val_if_fail (out_bbox != NULL, FALSE);

  parts = g_strsplit (text, ",", 5);
  if (g_strv_length (parts) != 4)
    return wb_json_set_field_error (error, "bbox", "expected minLon,minLat,maxLon,maxLat"), FALSE;
  for (guint i = 0; i < 4; i++)
    if (!parse_degrees (parts[i], &values[i]))
      return wb_json_set_field_error (error, "bbox", "\"%s\" is not a number", parts[i]), FALSE;
  *out_bbox = (WbLiveBbox) { values[0], values[1], values[2], values[3] };
  return wb_live_bbox_validate (out_bbox, error);
}

gboolean
wb_live_bbox_contains (const WbLiveBbox *bbox,
                       double            lon,
                       double            lat)
{
  return lon >= bbox->min_lon && lon <= bbox->max_lon
         && lat >= bbox->min_lat && lat <= bbox->max_lat;
}

/**
 * wb_live_view_new:
 *
 * Returns: (transfer full) (nullable): the view, or %NULL with @error set
 *   if @bbox is not valid
 */
WbLiveView *
wb_live_view_new (const WbLiveBbox   *bbox,
                  const char * const *company_ids,
                  GError            **error)
{
  WbLiveView *view;

  g_return_val_if_fail (bbox != NULL, NULL);

  if (!wb_live_bbox_validate (bbox, error))
    return NULL;
  view = g_new0 (WbLiveView, 1);
  view->bbox = *bbox;
  if (company_ids != NULL && company_ids[0] != NULL)
    view->company_ids = g_strdupv ((char **) company_ids);
  return view;
}

WbLiveView *
wb_live_view_copy (const WbLiveView *view)
{
  WbLiveView *copy;

  g_return_val_if_fail (view != NULL, NULL);

  copy = g_new0 (WbLiveView, 1);
  copy->bbox = view->bbox;
  copy->company_ids = g_strdupv (view->company_ids);
  return copy;
}

void
wb_live_view_free (WbLiveView *view)
{
  if (view == NULL)
    return;
  g_strfreev (view->company_ids);
  g_free (view);
}

gboolean
wb_live_view_contains (const WbLiveView    *view,
                       const WbLiveVehicle *vehicle)
{
  g_return_val_if_fail (view != NULL, FALSE);

  if (vehicle == NULL || !wb_live_bbox_contains (&view->bbox, vehicle->lon, vehicle->lat))
    return FALSE;
  if (view->company_ids == NULL)
    return TRUE;
  return vehicle->company_id != NULL
         && g_strv_contains ((const char * const *) view->company_ids, vehicle->company_id);
}

WbLiveMatch
wb_live_view_classify (const WbLiveView    *view,
                       const WbLiveVehicle *old_state,
                       const WbLiveVehicle *new_state)
{
  gboolean was_inside = wb_live_view_contains (view, old_state);
  gboolean is_inside = wb_live_view_contains (view, new_state);

  if (was_inside && is_inside)
    return WB_LIVE_MATCH_MOVED;
  if (is_inside)
    return WB_LIVE_MATCH_ENTERED;
  if (was_inside)
    return WB_LIVE_MATCH_LEFT;
  return WB_LIVE_MATCH_NONE;
}
