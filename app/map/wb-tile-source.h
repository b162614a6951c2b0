// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <shumate/shumate.h>

G_BEGIN_DECLS

#define WB_TILE_SOURCE_ERROR (wb_tile_source_error_quark ())

typedef enum
{
  WB_TILE_SOURCE_ERROR_NONE,        /* the "none" source has no tiles */
  WB_TILE_SOURCE_ERROR_HTTP,        /* the server answered other than 200 */
  WB_TILE_SOURCE_ERROR_TEMPLATE,    /* the template gives no usable address */
} WbTileSourceError;

GQuark wb_tile_source_error_quark (void);

/* OpenStreetMap's standard tiles, the default, and their attribution. */
#define WB_TILE_SOURCE_OSM_TEMPLATE     "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
#define WB_TILE_SOURCE_OSM_ATTRIBUTION  "© OpenStreetMap contributors"
/* The User-Agent tile servers see (OSM's usage policy asks for one that
 * names the application). */
#define WB_TILE_SOURCE_USER_AGENT       "Waybill/" PACKAGE_VERSION " (+https://waybill.example/)"

#define WB_TYPE_TILE_SOURCE (wb_tile_source_get_type ())

G_DECLARE_FINAL_TYPE (WbTileSource, wb_tile_source, WB, TILE_SOURCE, ShumateDataSource)

/* Raster tiles from a URL template with {z}, {x} and {y}:
 * - "http(s)://…": fetched with the source's own SoupSession and
 *   WB_TILE_SOURCE_USER_AGENT, kept in a memory LRU and on disk under
 *   $XDG_CACHE_HOME/waybill/tiles/<cache id>/z/x/y;
 * - "file://…" or a path ("/srv/tiles/{z}/{x}/{y}.png"): a local tile
 *   directory, read with GIO;
 * - "none" (or %NULL): no tiles; every request fails at once, and the
 *   console draws a WbGraticuleLayer instead.
 * Feed it to shumate_raster_renderer_new_full() or use
 * wb_tile_source_create_map_source(). */
WbTileSource     *wb_tile_source_new                (const char   *url_template);
const char       *wb_tile_source_get_url_template   (WbTileSource *self);
gboolean          wb_tile_source_is_none            (WbTileSource *self);
/* Shown on the map (ShumateLicense reads it from the map source). */
const char       *wb_tile_source_get_attribution    (WbTileSource *self);
void              wb_tile_source_set_attribution    (WbTileSource *self,
                                                     const char   *attribution);
/* FALSE after several fetches in a row failed, TRUE again on the next
 * success: the console shows the graticule while the server is away. */
gboolean          wb_tile_source_get_reachable      (WbTileSource *self);
/* (nullable): the on-disk cache folder; %NULL for local and "none". */
const char       *wb_tile_source_get_cache_dir      (WbTileSource *self);
/* Tiles kept in memory (least recently used go first); default 512. */
void              wb_tile_source_set_memory_tiles   (WbTileSource *self,
                                                     guint         max_tiles);
/* Returns: (transfer full): a raster map source (256-px tiles, zoom
 * 0–19) drawing this source's tiles, its license the attribution. */
ShumateMapSource *wb_tile_source_create_map_source  (WbTileSource *self);

/* For tests: fetches that reached the network, and memory hits. */
guint             wb_tile_source_get_network_fetches (WbTileSource *self);
guint             wb_tile_source_get_memory_hits     (WbTileSource *self);

G_END_DECLS
