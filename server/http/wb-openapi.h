// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-http-server.h"

G_BEGIN_DECLS

#define WB_OPENAPI_ERROR (wb_openapi_error_quark ())

typedef enum
{
  WB_OPENAPI_ERROR_UNDOCUMENTED,  /* a route has no operation: the message names METHOD PATTERN */
  WB_OPENAPI_ERROR_INVALID,       /* a route's operation is not usable: likewise */
} WbOpenapiError;

GQuark    wb_openapi_error_quark (void);

JsonNode *wb_openapi_build       (WbHttpServer  *http,
                                  GError       **error);
void      wb_openapi_register    (WbHttpServer  *http);

G_END_DECLS
