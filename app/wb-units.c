// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include <glib/gi18n.h>

#include "wb-units.h"

#define METRES_PER_MILE 1609.344
#define METRES_PER_FOOT 0.3048

static gboolean imperial;

void
wb_units_set_imperial (gboolean value)
{
  imperial = !!value;
}

gboolean
wb_units_get_imperial (void)
{
  return imperial;
}

char *
wb_units_format_speed (double kmh)
{
  if (imperial)
    return g_strdup_printf (_("%.0f mph"), kmh * 1000 / METRES_PER_MILE);
  return g_strdup_printf (_("%.0f km/h"), kmh);
}

char *
wb_units_format_distance (double metres)
{
  if (imperial)
    {
      /* Feet up to a tenth of a mile, as road signs count. */
      if (metres < METRES_PER_MILE / 10)
        return g_strdup_printf (_("%.0f ft"), metres / METRES_PER_FOOT);
      return g_strdup_printf (_("%.1f mi"), metres / METRES_PER_MILE);
    }
  if (metres < 1000)
    return g_strdup_printf (_("%.0f m"), metres);
  return g_strdup_printf (_("%.1f km"), metres / 1000);
}
