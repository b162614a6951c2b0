// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define WB_PHONE_ERROR (wb_phone_error_quark ())

typedef enum
{
  WB_PHONE_ERROR_INVALID,       /* the message says what is wrong, fit for a 400 answer */
} WbPhoneError;

GQuark       wb_phone_error_quark          (void);

char        *wb_phone_normalize            (const char   *input,
                                            const char   *default_country,
                                            GError      **error);
const char  *wb_phone_country_calling_code (const char   *country);

G_END_DECLS
