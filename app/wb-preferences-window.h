// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define WB_TYPE_PREFERENCES_WINDOW (wb_preferences_window_get_type ())

G_DECLARE_FINAL_TYPE (WbPreferencesWindow, wb_preferences_window, WB, PREFERENCES_WINDOW, AdwPreferencesWindow)

/* The console's preferences, bound to @settings (org.waybill.Waybill):
 * server URL and tile template (written when applied, and only when
 * valid), units, and alert sounds per event kind. */
GtkWidget *wb_preferences_window_new (GtkWindow *parent,
                                      GSettings *settings);

/* Whether @url is one the console can talk to: http:// or https:// with a
 * host. */
gboolean   wb_preferences_server_url_is_valid    (const char *url);
/* Whether @template is "none" or a tile address with {z}, {x} and {y}. */
gboolean   wb_preferences_tile_template_is_valid (const char *template_text);

G_END_DECLS
