// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define WB_SLA_ERROR (wb_sla_error_quark ())

typedef enum
{
  WB_SLA_ERROR_PARSE,
  WB_SLA_ERROR_UNKNOWN_LEVEL,
} WbSlaError;

#define WB_TYPE_SLA_TABLE (wb_sla_table_get_type ())

G_DECLARE_FINAL_TYPE (WbSlaTable, wb_sla_table, WB, SLA_TABLE, GObject)

GQuark       wb_sla_error_quark            (void);

WbSlaTable  *wb_sla_table_load_default     (GError      **error);
WbSlaTable  *wb_sla_table_new_from_data    (const char   *keyfile_text,
                                            GError      **error);
gboolean     wb_sla_table_has_level        (WbSlaTable   *self,
                                            const char   *level);
gint64       wb_sla_table_get_promise_hours (WbSlaTable  *self,
                                            const char   *level);
gint64       wb_sla_table_promise          (WbSlaTable   *self,
                                            const char   *level,
                                            gint64        created_at_us);
GStrv        wb_sla_table_list_levels      (WbSlaTable   *self);

G_END_DECLS
