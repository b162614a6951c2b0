// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#if !defined (WB_LIVE_COMPILATION)
# error "wb-live-index-private.h is private to core/live"
#endif

#include "wb-live-index.h"

G_BEGIN_DECLS

/* The grid's size: cells are numbered from 1 (0 is "no cell", for a
 * position outside the world or unknown), row by row from the south-west. */
#define WB_LIVE_GRID_COLUMNS 7200   /* 360° / WB_LIVE_CELL_DEGREES */
#define WB_LIVE_GRID_ROWS    3600   /* 180° / WB_LIVE_CELL_DEGREES */

typedef struct
{
  guint column_min;
  guint column_max;
  guint row_min;
  guint row_max;
} WbLiveCellRange;

guint      _wb_live_cell_column        (double                lon);
guint      _wb_live_cell_row           (double                lat);
/* 0 for a position outside the world or NAN. */
guint      _wb_live_cell_of            (double                lon,
                                        double                lat);
void       _wb_live_cell_range         (const WbLiveBbox     *bbox,
                                        WbLiveCellRange      *out_range);
gboolean   _wb_live_cell_range_has     (const WbLiveCellRange *range,
                                        guint                 cell);

/* The same answer as wb_live_index_query() without the grid or any other
 * index: every vehicle tested against the filters. The baseline the
 * benchmark measures the grid against, and the reference the tests
 * compare it with. @query must be valid. */
GPtrArray *_wb_live_index_query_linear (WbLiveIndex          *self,
                                        const WbLiveQuery    *query);

G_END_DECLS
