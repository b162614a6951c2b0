// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <glib-object.h>

#include "wb-status.h"

G_BEGIN_DECLS

#define WB_STATUS_MAP_ERROR (wb_status_map_error_quark ())

typedef enum
{
  WB_STATUS_MAP_ERROR_PARSE,            /* a data file is malformed: the message names file and line */
  WB_STATUS_MAP_ERROR_UNKNOWN_CARRIER,
  WB_STATUS_MAP_ERROR_UNKNOWN_CODE,
} WbStatusMapError;

/* Carrier code → canonical status and reason. The tables are data
 * (data/status-maps/<carrier>.tsv), never code, so a carrier's new code is a
 * one-line change. Immutable once loaded: safe to read from any thread. */
typedef struct _WbStatusMap WbStatusMap;

#define WB_TYPE_STATUS_MAP (wb_status_map_get_type ())

GQuark       wb_status_map_error_quark     (void);
GType        wb_status_map_get_type        (void) G_GNUC_CONST;

WbStatusMap *wb_status_map_load_default    (GError      **error);
WbStatusMap *wb_status_map_load_from_data  (const char   *carrier,
                                            const char   *tsv_text,
                                            GError      **error);
gboolean     wb_status_map_lookup          (WbStatusMap  *map,
                                            const char   *carrier,
                                            const char   *code,
                                            WbStatus     *out_status,
                                            const char  **out_reason,
                                            GError      **error);
const char  *wb_status_map_describe        (WbStatusMap  *map,
                                            const char   *carrier,
                                            const char   *code);
GStrv        wb_status_map_list_carriers   (WbStatusMap  *map);
GStrv        wb_status_map_list_codes      (WbStatusMap  *map,
                                            const char   *carrier);
WbStatusMap *wb_status_map_ref             (WbStatusMap  *map);
void         wb_status_map_unref           (WbStatusMap  *map);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbStatusMap, wb_status_map_unref)

G_END_DECLS
