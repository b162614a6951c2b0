// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include "wb-text-column.h"

typedef struct
{
  WbTextColumnFunc  text;
  WbTextColumnStyle style;
  gpointer          user_data;
  WbTextColumnFlags flags;
} Column;

static void
setup_cell (GtkSignalListItemFactory *factory,
            GtkListItem              *item,
            Column                   *column)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  gtk_list_item_set_child (item, label);
}

static void
bind_cell (GtkSignalListItemFactory *factory,
           GtkListItem              *item,
           Column                   *column)
{
  GtkWidget *label = gtk_list_item_get_child (item);
  gpointer row = gtk_list_item_get_item (item);
  g_autofree char *value = column->text (row, column->user_data);
  const char *had = g_object_get_data (G_OBJECT (label), "wb-style");
  const char *style = column->style ? column->style (row, column->user_data) : NULL;

  gtk_label_set_text (GTK_LABEL (label), value);
  if (column->flags & WB_TEXT_COLUMN_TOOLTIP)
    gtk_widget_set_tooltip_text (label, *value != '\0' ? value : NULL);
  /* Rows are recycled: the class a cell had for its last row goes. */
  if (had != NULL && g_strcmp0 (had, style) != 0)
    gtk_widget_remove_css_class (label, had);
  if (style != NULL)
    gtk_widget_add_css_class (label, style);
  g_object_set_data (G_OBJECT (label), "wb-style", (gpointer) style);
}

GtkColumnViewColumn *
wb_text_column_append (GtkColumnView     *view,
                       const char        *title,
                       WbTextColumnFunc   text,
                       WbTextColumnStyle  style,
                       gpointer           user_data,
                       WbTextColumnFlags  flags)
{
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
  Column *column = g_new0 (Column, 1);
  GtkColumnViewColumn *view_column;

  g_return_val_if_fail (GTK_IS_COLUMN_VIEW (view), NULL);
  g_return_val_if_fail (text != NULL, NULL);

  column->text = text;
  column->style = style;
  column->user_data = user_data;
  column->flags = flags;
  g_object_set_data_full (G_OBJECT (factory), "wb-text-column", column, g_free);
  g_signal_connect (factory, "setup", G_CALLBACK (setup_cell), column);
  g_signal_connect (factory, "bind", G_CALLBACK (bind_cell), column);
  view_column = gtk_column_view_column_new (title, factory);
  gtk_column_view_column_set_expand (view_column, (flags & WB_TEXT_COLUMN_EXPAND) != 0);
  gtk_column_view_column_set_resizable (view_column, TRUE);
  gtk_column_view_append_column (view, view_column);
  g_object_unref (view_column);
  return view_column;
}
