// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Speeds and distances as the user reads them: kilometres (metric) or
 * miles (imperial), the console's "units" setting, set by the
 * application at start and on every change. Main thread only. */
void     wb_units_set_imperial    (gboolean imperial);
gboolean wb_units_get_imperial    (void);
/* "42 km/h" or "26 mph"; from km/h. */
char    *wb_units_format_speed    (double   kmh);
/* "850 m", "1.2 km"; or "930 ft", "0.7 mi". */
char    *wb_units_format_distance (double   metres);

G_END_DECLS
