// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define WB_TYPE_PLACES_MAP (wb_places_map_get_type ())

G_DECLARE_FINAL_TYPE (WbPlacesMap, wb_places_map, WB, PLACES_MAP, GtkWidget)

/* A small map of a few places in order (a trip's stops, a shipment's
 * events): numbered markers, optionally joined by a line, and one live
 * pin (a vehicle) whose tip stands on its position. It frames itself to
 * hold them all. The tiles are the window's ("none": a plain background
 * with a graticule). */
GtkWidget *wb_places_map_new          (void);
void       wb_places_map_set_tiles    (WbPlacesMap *self,
                                       const char  *tiles);
void       wb_places_map_clear        (WbPlacesMap *self);
/* @reached: drawn as done (green) rather than ahead (accent). */
void       wb_places_map_add_place    (WbPlacesMap *self,
                                       const char  *label,
                                       double       lat,
                                       double       lon,
                                       gboolean     reached);
void       wb_places_map_set_joined   (WbPlacesMap *self,
                                       gboolean     joined);
void       wb_places_map_set_live     (WbPlacesMap *self,
                                       gboolean     shown,
                                       double       lat,
                                       double       lon);
gboolean   wb_places_map_get_live     (WbPlacesMap *self,
                                       double      *out_lat,
                                       double      *out_lon);
guint      wb_places_map_get_n_places (WbPlacesMap *self);
/* Centres on the places and the live pin at a zoom that holds them. */
void       wb_places_map_frame        (WbPlacesMap *self);

G_END_DECLS
