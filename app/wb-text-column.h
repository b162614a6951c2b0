// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* A cell's text for @item (the row's object), newly allocated. */
typedef char       *(*WbTextColumnFunc)  (gpointer item,
                                          gpointer user_data);
/* The style class a cell's label takes for @item ("error", "warning"),
 * or NULL for none. */
typedef const char *(*WbTextColumnStyle) (gpointer item,
                                          gpointer user_data);

typedef enum
{
  WB_TEXT_COLUMN_DEFAULT = 0,
  WB_TEXT_COLUMN_EXPAND  = 1 << 0,   /* takes the width left over */
  WB_TEXT_COLUMN_TOOLTIP = 1 << 1,   /* the whole text as a tooltip, for ellipsized cells */
} WbTextColumnFlags;

/* Appends a resizable column of one ellipsized, start-aligned label a
 * row to @view, the lists' common cell: shipments, trips, trackings.
 * @style may be NULL. */
GtkColumnViewColumn *wb_text_column_append (GtkColumnView     *view,
                                            const char        *title,
                                            WbTextColumnFunc   text,
                                            WbTextColumnStyle  style,
                                            gpointer           user_data,
                                            WbTextColumnFlags  flags);

G_END_DECLS
