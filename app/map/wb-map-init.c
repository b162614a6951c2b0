// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include <glib/gi18n.h>
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

void
wb_map_name_zoom_buttons (GtkWidget *root)
{
  for (GtkWidget *child = gtk_widget_get_first_child (root); child; child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *image = GTK_IS_BUTTON (child) ? gtk_widget_get_first_child (child) : NULL;
      const char *icon = GTK_IS_IMAGE (image) ? gtk_image_get_icon_name (GTK_IMAGE (image)) : NULL;

      if (g_strcmp0 (icon, "zoom-in-symbolic") == 0)
        gtk_accessible_update_property (GTK_ACCESSIBLE (child), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Zoom in"), -1);
      else if (g_strcmp0 (icon, "zoom-out-symbolic") == 0)
        gtk_accessible_update_property (GTK_ACCESSIBLE (child), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Zoom out"), -1);
      else
        wb_map_name_zoom_buttons (child);
    }
}
