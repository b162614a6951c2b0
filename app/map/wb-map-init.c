// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include <shumate/shumate.h>

#include "wb-graticule-layer.h"
#include "wb-map-init.h"
#include "wb-tile-source.h"
#include "wb-track-layer.h"
#include "wb-vehicle-layer.h"

void
wb_map_init (void)
{
  g_type_ensure (SHUMATE_TYPE_SIMPLE_MAP);
  g_type_ensure (WB_TYPE_VEHICLE_LAYER);
  g_type_ensure (WB_TYPE_GRATICULE_LAYER);
  g_type_ensure (WB_TYPE_TRACK_LAYER);
  g_type_ensure (WB_TYPE_TILE_SOURCE);
}
