// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include <shumate/shumate.h>

#include "wb-map-init.h"

void
wb_map_init (void)
{
  g_type_ensure (SHUMATE_TYPE_SIMPLE_MAP);
}
