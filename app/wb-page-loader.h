// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <gtk/gtk.h>

#include "wb-paged-model.h"

G_BEGIN_DECLS

#define WB_TYPE_PAGE_LOADER (wb_page_loader_get_type ())

G_DECLARE_FINAL_TYPE (WbPageLoader, wb_page_loader, WB, PAGE_LOADER, GObject)

/* Reads a paged list's next page as its view scrolls near the end: once
 * less than a screen of rows is left below the view, and at once while
 * the rows do not fill it. One per scrolled list (the shipments, trips and
 * trackings views); the list it pages is set as each query replaces the
 * last. */
WbPageLoader *wb_page_loader_new       (GtkScrolledWindow *scrolled);
/* @model: (nullable): the list now shown */
void          wb_page_loader_set_model (WbPageLoader      *self,
                                        WbPagedModel      *model);
/* Looks again soon (after the rows have been laid out). */
void          wb_page_loader_check     (WbPageLoader      *self);

G_END_DECLS
