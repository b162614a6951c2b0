// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include "wb-page-loader.h"

struct _WbPageLoader
{
  GObject            parent_instance;

  GtkScrolledWindow *scrolled;    /* weak */
  WbPagedModel      *model;
  guint              check_idle;
};

G_DEFINE_FINAL_TYPE (WbPageLoader, wb_page_loader, G_TYPE_OBJECT)

static void
load_if_near_end (WbPageLoader *self)
{
  GtkAdjustment *adjustment;
  double page, left;

  if (self->scrolled == NULL || self->model == NULL || !gtk_widget_get_mapped (GTK_WIDGET (self->scrolled)))
    return;
  adjustment = gtk_scrolled_window_get_vadjustment (self->scrolled);
  page = gtk_adjustment_get_page_size (adjustment);
  left = gtk_adjustment_get_upper (adjustment) - gtk_adjustment_get_value (adjustment) - page;
  if (page > 0 && left < page)
    wb_paged_model_load_more (self->model);
}

static gboolean
check_idle (gpointer data)
{
  WbPageLoader *self = data;

  self->check_idle = 0;
  load_if_near_end (self);
  return G_SOURCE_REMOVE;
}

void
wb_page_loader_check (WbPageLoader *self)
{
  g_return_if_fail (WB_IS_PAGE_LOADER (self));

  /* Low priority: after the rows of the last page are laid out. */
  if (self->check_idle == 0)
    self->check_idle = g_idle_add_full (G_PRIORITY_LOW, check_idle, self, NULL);
}

static void
wb_page_loader_dispose (GObject *object)
{
  WbPageLoader *self = WB_PAGE_LOADER (object);

  g_clear_handle_id (&self->check_idle, g_source_remove);
  wb_page_loader_set_model (self, NULL);
  if (self->scrolled != NULL)
    {
      g_signal_handlers_disconnect_by_data (gtk_scrolled_window_get_vadjustment (self->scrolled), self);
      g_signal_handlers_disconnect_by_data (self->scrolled, self);
    }
  g_clear_weak_pointer (&self->scrolled);
  G_OBJECT_CLASS (wb_page_loader_parent_class)->dispose (object);
}

static void
wb_page_loader_class_init (WbPageLoaderClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = wb_page_loader_dispose;
}

static void
wb_page_loader_init (WbPageLoader *self)
{
}

WbPageLoader *
wb_page_loader_new (GtkScrolledWindow *scrolled)
{
  WbPageLoader *self;
  GtkAdjustment *adjustment;

  g_return_val_if_fail (GTK_IS_SCROLLED_WINDOW (scrolled), NULL);

  self = g_object_new (WB_TYPE_PAGE_LOADER, NULL);
  g_set_weak_pointer (&self->scrolled, scrolled);
  adjustment = gtk_scrolled_window_get_vadjustment (scrolled);
  g_signal_connect_swapped (adjustment, "value-changed", G_CALLBACK (load_if_near_end), self);
  g_signal_connect_swapped (adjustment, "changed", G_CALLBACK (wb_page_loader_check), self);
  g_signal_connect_swapped (scrolled, "map", G_CALLBACK (wb_page_loader_check), self);
  return self;
}

void
wb_page_loader_set_model (WbPageLoader *self,
                          WbPagedModel *model)
{
  g_return_if_fail (WB_IS_PAGE_LOADER (self));
  g_return_if_fail (model == NULL || WB_IS_PAGED_MODEL (model));

  if (self->model == model)
    return;
  if (self->model != NULL)
    g_signal_handlers_disconnect_by_data (self->model, self);
  g_set_object (&self->model, model);
  /* A page that arrived may leave the view still unfilled. */
  if (model != NULL)
    g_signal_connect_swapped (model, "notify::loading", G_CALLBACK (wb_page_loader_check), self);
}
