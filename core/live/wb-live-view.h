// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-live-vehicle.h"

G_BEGIN_DECLS

/* A map rectangle in degrees (WGS 84). min_lon <= max_lon: a box crossing
 * the antimeridian is refused rather than split, as the API says; a client
 * showing the Pacific asks for two boxes. Edges are inclusive. */
typedef struct
{
  double min_lon;
  double min_lat;
  double max_lon;
  double max_lat;
} WbLiveBbox;

/* Errors are WB_JSON_ERROR_FIELD naming the field "bbox", so the HTTP and
 * WebSocket edges answer them like any other bad field. */
gboolean wb_live_bbox_validate (const WbLiveBbox *bbox,
                                GError          **error);
/* Parses the query parameter form "minLon,minLat,maxLon,maxLat" and
 * validates it. */
gboolean wb_live_bbox_parse    (const char       *text,
                                WbLiveBbox       *out_bbox,
                                GError          **error);
gboolean wb_live_bbox_contains (const WbLiveBbox *bbox,
                                double            lon,
                                double            lat);

/* What one client looks at: a validated bbox and optionally some
 * companies (an empty or %NULL list means every company). */
typedef struct
{
  WbLiveBbox   bbox;
  char       **company_ids;   /* nullable, %NULL-terminated */
} WbLiveView;

typedef enum
{
  WB_LIVE_MATCH_NONE,      /* outside the view before and after */
  WB_LIVE_MATCH_ENTERED,   /* new state inside, old state outside (or none) */
  WB_LIVE_MATCH_LEFT,      /* old state inside, new state outside (or none) */
  WB_LIVE_MATCH_MOVED,     /* inside before and after */
} WbLiveMatch;

#define WB_TYPE_LIVE_VIEW (wb_live_view_get_type ())

GType        wb_live_view_get_type (void) G_GNUC_CONST;
/* Returns %NULL and sets @error if @bbox is not valid. */
WbLiveView  *wb_live_view_new      (const WbLiveBbox    *bbox,
                                    const char * const  *company_ids,
                                    GError             **error);
WbLiveView  *wb_live_view_copy     (const WbLiveView    *view);
void         wb_live_view_free     (WbLiveView          *view);
gboolean     wb_live_view_contains (const WbLiveView    *view,
                                    const WbLiveVehicle *vehicle);
/* How one change, from @old_state to @new_state (either nullable: a vehicle
 * that appears or goes away), looks from @view. The company filter applies
 * to each state's own company, so a vehicle moved to another company
 * leaves a view filtered on the first. */
WbLiveMatch  wb_live_view_classify (const WbLiveView    *view,
                                    const WbLiveVehicle *old_state,
                                    const WbLiveVehicle *new_state);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbLiveView, wb_live_view_free)

G_END_DECLS
