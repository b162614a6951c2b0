// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <gtk/gtk.h>

#include "wb-directory.h"

G_BEGIN_DECLS

#define WB_TYPE_REF_PICKER (wb_ref_picker_get_type ())

G_DECLARE_FINAL_TYPE (WbRefPicker, wb_ref_picker, WB, REF_PICKER, GtkWidget)

/* A filter's company, driver or vehicle, picked by name from the
 * directory (searchable as you type), or "any". Its "kind" property is
 * "company", "driver" or "vehicle". */
GtkWidget  *wb_ref_picker_new             (void);
void        wb_ref_picker_set_directory   (WbRefPicker *self,
                                           WbDirectory *directory);
/* The picked id, or %NULL for any. */
const char *wb_ref_picker_get_selected_id (WbRefPicker *self);
/* Picks @id (%NULL: any). An id the directory does not list yet is kept
 * and shown as it is, so a filter never silently widens. */
void        wb_ref_picker_set_selected_id (WbRefPicker *self,
                                           const char  *id);

G_END_DECLS
