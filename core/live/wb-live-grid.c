// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include <math.h>

#include "wb-live-index-private.h"

/* Cell arithmetic shared by the vehicle and the subscription index. A
 * position on the east or north edge of the world (180°, 90°) belongs to
 * the last cell rather than one past it. */

const WbLiveGrid _wb_live_vehicle_grid = { WB_LIVE_CELL_DEGREES, 7200, 3600 };
const WbLiveGrid _wb_live_view_grid = { WB_LIVE_CELL_DEGREES / 5, 36000, 18000 };

static guint
cell_column (const WbLiveGrid *grid,
             double            lon)
{
  double column = floor ((lon + 180.0) / grid->degrees);

  return (guint) CLAMP (column, 0, grid->columns - 1);
}

static guint
cell_row (const WbLiveGrid *grid,
          double            lat)
{
  double row = floor ((lat + 90.0) / grid->degrees);

  return (guint) CLAMP (row, 0, grid->rows - 1);
}

guint
_wb_live_cell_number (const WbLiveGrid *grid,
                      guint             row,
                      guint             column)
{
  return row * grid->columns + column + 1;
}

guint
_wb_live_cell_of (const WbLiveGrid *grid,
                  double            lon,
                  double            lat)
{
  if (!(lon >= -180.0 && lon <= 180.0 && lat >= -90.0 && lat <= 90.0))
    return 0;
  return _wb_live_cell_number (grid, cell_row (grid, lat), cell_column (grid, lon));
}

void
_wb_live_cell_range (const WbLiveGrid *grid,
                     const WbLiveBbox *bbox,
                     WbLiveCellRange  *out_range)
{
  out_range->column_min = cell_column (grid, bbox->min_lon);
  out_range->column_max = cell_column (grid, bbox->max_lon);
  out_range->row_min = cell_row (grid, bbox->min_lat);
  out_range->row_max = cell_row (grid, bbox->max_lat);
}

gboolean
_wb_live_cell_range_has (const WbLiveGrid      *grid,
                         const WbLiveCellRange *range,
                         guint                  cell)
{
  guint column, row;

  if (cell == 0)
    return FALSE;
  column = (cell - 1) % grid->columns;
  row = (cell - 1) / grid->columns;
  return column >= range->column_min && column <= range->column_max
         && row >= range->row_min && row <= range->row_max;
}
