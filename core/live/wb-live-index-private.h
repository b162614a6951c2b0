// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#if !defined (WB_LIVE_COMPILATION)
# error "wb-live-index-private.h is private to core/live"
#endif

#include "wb-live-index.h"

G_BEGIN_DECLS

/* A grid over the world: cells are numbered from 1 (0 is "no cell", for
 * a position outside the world or unknown), row by row from the
 * south-west. */
typedef struct
{
  double degrees;   /* a cell's side */
  guint  columns;   /* 360° / degrees */
  guint  rows;      /* 180° / degrees */
} WbLiveGrid;

/* The vehicles' (WB_LIVE_CELL_DEGREES). */
extern const WbLiveGrid _wb_live_vehicle_grid;
/* The views': five times finer, so that a change looks at the views near
 * it, not at every view of its district (a city's ten thousand views
 * share a few dozen vehicle cells). */
extern const WbLiveGrid _wb_live_view_grid;

typedef struct
{
  guint column_min;
  guint column_max;
  guint row_min;
  guint row_max;
} WbLiveCellRange;

/* 0 for a position outside the world or NAN. */
guint      _wb_live_cell_of            (const WbLiveGrid     *grid,
                                        double                lon,
                                        double                lat);
guint      _wb_live_cell_number        (const WbLiveGrid     *grid,
                                        guint                 row,
                                        guint                 column);
void       _wb_live_cell_range         (const WbLiveGrid     *grid,
                                        const WbLiveBbox     *bbox,
                                        WbLiveCellRange      *out_range);
gboolean   _wb_live_cell_range_has     (const WbLiveGrid     *grid,
                                        const WbLiveCellRange *range,
                                        guint                 cell);

/* The same answer as wb_live_index_query() without the grid or any other
 * index: every vehicle tested against the filters. The baseline the
 * benchmark measures the grid against, and the reference the tests
 * compare it with. @query must be valid. */
GPtrArray *_wb_live_index_query_linear (WbLiveIndex          *self,
                                        const WbLiveQuery    *query);

G_END_DECLS
