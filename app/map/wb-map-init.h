// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Registers the map's types, so .ui templates can name them. */
void wb_map_init              (void);
/* libshumate 1.0's zoom buttons are bare icons: names them ("Zoom in",
 * "Zoom out") everywhere under @root, so a screen reader can tell them
 * apart. */
void wb_map_name_zoom_buttons (GtkWidget *root);

G_END_DECLS
