// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-http-server.h"

G_BEGIN_DECLS

#define WB_OPENAPI_ERROR (wb_openapi_error_quark ())

typedef enum
{
  WB_OPENAPI_ERROR_UNDOCUMENTED,  /* a route has no operation: the message names METHOD PATTERN */
  WB_OPENAPI_ERROR_INVALID,       /* an operation or a schema is not usable: the message names it */
  WB_OPENAPI_ERROR_UNROUTED,      /* an operation has no route: the message names METHOD PATTERN */
} WbOpenapiError;

/* The OpenAPI operations, keyed by path and method as in an OpenAPI "paths"
 * object, and the JSON Schemas their bodies $ref by file name. The default
 * catalog is data/openapi/ and data/schemas/, compiled in. */
typedef struct _WbOpenapiCatalog WbOpenapiCatalog;

GQuark            wb_openapi_error_quark            (void);

WbOpenapiCatalog *wb_openapi_catalog_new            (JsonNode          *frame);
WbOpenapiCatalog *wb_openapi_catalog_get_default    (GError           **error);
void              wb_openapi_catalog_free           (WbOpenapiCatalog  *self);
gboolean          wb_openapi_catalog_add_paths      (WbOpenapiCatalog  *self,
                                                     const char        *name,
                                                     JsonNode          *document,
                                                     GError           **error);
void              wb_openapi_catalog_add_schema     (WbOpenapiCatalog  *self,
                                                     const char        *file_name,
                                                     JsonNode          *schema);
JsonNode         *wb_openapi_catalog_build          (WbOpenapiCatalog  *self,
                                                     WbHttpServer      *http,
                                                     GError           **error);
gboolean          wb_openapi_catalog_check_routed   (WbOpenapiCatalog  *self,
                                                     WbHttpServer      *http,
                                                     GError           **error);
char             *wb_openapi_schema_component_name  (const char        *file_name);

JsonNode         *wb_openapi_build                  (WbHttpServer      *http,
                                                     GError           **error);
gboolean          wb_openapi_check                  (WbHttpServer      *http,
                                                     GError           **error);
void              wb_openapi_register               (WbHttpServer      *http);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbOpenapiCatalog, wb_openapi_catalog_free)

G_END_DECLS
