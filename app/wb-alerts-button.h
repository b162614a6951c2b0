// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <gtk/gtk.h>

#include "wb-alert-center.h"

G_BEGIN_DECLS

#define WB_TYPE_ALERTS_BUTTON (wb_alerts_button_get_type ())

G_DECLARE_FINAL_TYPE (WbAlertsButton, wb_alerts_button, WB, ALERTS_BUTTON, GtkWidget)

/* The header bar's alerts: a bell with the unread count as a badge, and a
 * popover listing the alerts newest first, each acknowledged with its own
 * button, or all at once. */
GtkWidget *wb_alerts_button_new        (void);
void       wb_alerts_button_set_center (WbAlertsButton *self,
                                        WbAlertCenter  *center);
/* The badge's text ("" when nothing is unread, "99+" past 99). */
const char *wb_alerts_button_get_badge (WbAlertsButton *self);

G_END_DECLS
