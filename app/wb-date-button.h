// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define WB_TYPE_DATE_BUTTON (wb_date_button_get_type ())

G_DECLARE_FINAL_TYPE (WbDateButton, wb_date_button, WB, DATE_BUTTON, GtkWidget)

/* A day picked from a calendar in a popover, or none: a filter's "from"
 * or "to". The button shows the day in the user's locale, or its
 * placeholder ("Any day") when none is picked. */
GtkWidget  *wb_date_button_new             (void);
/* The day as "YYYY-MM-DD", or %NULL. */
const char *wb_date_button_get_date        (WbDateButton *self);
/* @date: "YYYY-MM-DD", or %NULL (or "") for none; FALSE for anything else. */
gboolean    wb_date_button_set_date        (WbDateButton *self,
                                            const char   *date);
/* The day's first instant in the local time zone (@end: the next day's,
 * for an inclusive end) as unix µs; 0 with no day picked. */
gint64      wb_date_button_get_local_us    (WbDateButton *self,
                                            gboolean      end);
void        wb_date_button_set_placeholder (WbDateButton *self,
                                            const char   *placeholder);

G_END_DECLS
