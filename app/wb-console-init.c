// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include <adwaita.h>

#include "wb-console-init.h"
#include "wb-console-resources.h"
#include "wb-first-run-page.h"
#include "wb-map-init.h"
#include "wb-vehicle-panel.h"
#include "wb-vehicle-row.h"

void
wb_console_init (void)
{
  static gsize done = 0;

  if (!g_once_init_enter (&done))
    return;
  /* A static library drops the resource's constructor unless it is named. */
  g_resources_register (wb_console_get_resource ());
  wb_map_init ();
  g_type_ensure (WB_TYPE_FIRST_RUN_PAGE);
  g_type_ensure (WB_TYPE_VEHICLE_PANEL);
  g_type_ensure (WB_TYPE_VEHICLE_ROW);
  g_once_init_leave (&done, 1);
}
