// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include <math.h>

#include "wb-live-index-private.h"

/* Cell arithmetic shared by the vehicle and the subscription index. A
 * position on the east or north edge of the world (180°, 90°) belongs to
 * the last cell rather than one past it. */

guint
_wb_live_cell_column (double lon)
{
  double column = floor ((lon + 180.0) / WB_LIVE_CELL_DEGREES);

  return (guint) CLAMP (column, 0, WB_LIVE_GRID_COLUMNS - 1);
}

guint
_wb_live_cell_row (double lat)
{
  double row = floor ((lat + 90.0) / WB_LIVE_CELL_DEGREES);

  return (guint) CLAMP (row, 0, WB_LIVE_GRID_ROWS - 1);
}

guint
_wb_live_cell_of (double lon,
                  double lat)
{
  if (!(lon >= -180.0 && lon <= 180.0 && lat >= -90.0 && lat <= 90.0))
    return 0;
  return _wb_live_cell_row (lat) * WB_LIVE_GRID_COLUMNS + _wb_live_cell_column (lon) + 1;
}

void
_wb_live_cell_range (const WbLiveBbox *bbox,
                     WbLiveCellRange  *out_range)
{
  out_range->column_min = _wb_live_cell_column (bbox->min_lon);
  out_range->column_max = _wb_live_cell_column (bbox->max_lon);
  out_range->row_min = _wb_live_cell_row (bbox->min_lat);
  out_range->row_max = _wb_live_cell_row (bbox->max_lat);
}

gboolean
_wb_live_cell_range_has (const WbLiveCellRange *range,
                         guint                  cell)
{
  guint column, row;

  if (cell == 0)
    return FALSE;
  column = (cell - 1) % WB_LIVE_GRID_COLUMNS;
  row = (cell - 1) / WB_LIVE_GRID_COLUMNS;
  return column >= range->column_min && column <= range->column_max
         && row >= range->row_min && row <= range->row_max;
}
