// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A city for simulated vehicles: a street grid a few kilometres across,
 * streets every 200 to 400 m, and a few diagonal avenues, as a graph of
 * intersections in local metres (x east, y north) around a centre. The
 * same seed builds the same city. */
typedef struct _WbSimCity WbSimCity;

/* Intersections have at most this many streets. */
#define WB_SIM_CITY_MAX_LINKS 8

WbSimCity   *wb_sim_city_new            (double          center_lat,
                                         double          center_lon,
                                         guint32         seed);
void         wb_sim_city_free           (WbSimCity      *city);

guint        wb_sim_city_get_n_nodes    (const WbSimCity *city);
void         wb_sim_city_get_node       (const WbSimCity *city,
                                         guint            node,
                                         double          *out_x,
                                         double          *out_y);
/* Returns: (array length=out_n_links): the intersections one street away. */
const guint *wb_sim_city_get_links      (const WbSimCity *city,
                                         guint            node,
                                         guint           *out_n_links);

/* Local metres to degrees (an equirectangular projection: exact enough a
 * few kilometres from the centre, and it keeps bearings). */
void         wb_sim_city_to_lat_lon     (const WbSimCity *city,
                                         double           x,
                                         double           y,
                                         double          *out_lat,
                                         double          *out_lon);
/* Degrees to local metres (the inverse of wb_sim_city_to_lat_lon()). */
void         wb_sim_city_from_lat_lon   (const WbSimCity *city,
                                         double           lat,
                                         double           lon,
                                         double          *out_x,
                                         double          *out_y);
/* The intersection nearest a point, in local metres. */
guint        wb_sim_city_nearest_node   (const WbSimCity *city,
                                         double           x,
                                         double           y);
/* Returns: (transfer full) (element-type guint): the shortest way along
 * streets from @from to @to, both included. */
GArray      *wb_sim_city_route          (const WbSimCity *city,
                                         guint            from,
                                         guint            to);
/* The box every street lies in, in degrees. */
void         wb_sim_city_get_bbox       (const WbSimCity *city,
                                         double          *out_south,
                                         double          *out_west,
                                         double          *out_north,
                                         double          *out_east);

/* Named cities --city accepts besides "LAT,LON". */
gboolean     wb_sim_city_lookup         (const char      *name,
                                         double          *out_lat,
                                         double          *out_lon);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbSimCity, wb_sim_city_free)

G_END_DECLS
