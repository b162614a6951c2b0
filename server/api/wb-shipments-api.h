// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-http-server.h"
#include "wb-metrics.h"
#include "wb-shipment-store.h"
#include "wb-sla.h"

G_BEGIN_DECLS

/* The shipments REST resources (/shipments…): request validation, the view
 * cache for GET /shipments/{id}, ETags and the error mapping. The store does
 * the storage; this layer never touches the database itself. */
typedef struct _WbShipmentsApi WbShipmentsApi;

/* Largest POST /shipments/events:batch. */
#define WB_SHIPMENTS_API_MAX_BATCH 1000
/* shipments.phone-region's default. */
#define WB_SHIPMENTS_API_DEFAULT_PHONE_REGION "BY"

WbShipmentsApi *wb_shipments_api_new      (WbShipmentStore *store,
                                           WbSlaTable      *sla,
                                           WbMetrics       *metrics);
gboolean        wb_shipments_api_set_phone_region       (WbShipmentsApi *self,
                                                         const char     *region);
void            wb_shipments_api_set_cache_revalidation (WbShipmentsApi *self,
                                                         gboolean        revalidate);
void            wb_shipments_api_register (WbShipmentsApi  *self,
                                           WbHttpServer    *http);
void            wb_shipments_api_free     (WbShipmentsApi  *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbShipmentsApi, wb_shipments_api_free)

G_END_DECLS
