// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/* Registers the map's types, so .ui templates can name them. */
void wb_map_init (void);

G_END_DECLS
