// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  WB_LOG_FORMAT_AUTO,     /* journald when stderr is the journal, text otherwise */
  WB_LOG_FORMAT_TEXT,
  WB_LOG_FORMAT_JSON,     /* one JSON object per line */
  WB_LOG_FORMAT_JOURNAL,
} WbLogFormat;

gboolean wb_log_format_from_string (const char     *text,
                                    WbLogFormat    *out_format);
gboolean wb_log_level_from_string  (const char     *text,
                                    GLogLevelFlags *out_level);
void     wb_log_init               (WbLogFormat     format,
                                    GLogLevelFlags  max_level);
char    *wb_log_format_line        (WbLogFormat     format,
                                    gint64          real_time_us,
                                    GLogLevelFlags  level,
                                    const GLogField *fields,
                                    gsize           n_fields);

G_END_DECLS
