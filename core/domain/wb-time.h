// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define WB_TIME_ERROR (wb_time_error_quark ())

typedef enum
{
  WB_TIME_ERROR_INVALID,        /* the message names the problem, fit for a 400 answer */
} WbTimeError;

GQuark       wb_time_error_quark           (void);

gboolean     wb_time_parse                 (const char   *text,
                                            const char   *assume_zone,
                                            gint64       *out_us,
                                            gboolean     *out_zone_guessed,
                                            GError      **error);
char        *wb_time_format                (gint64        us);

G_END_DECLS
