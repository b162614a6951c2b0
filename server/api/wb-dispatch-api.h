// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-dispatch-store.h"
#include "wb-http-server.h"

G_BEGIN_DECLS

/* The dispatch REST resources (docs/dispatch.md): pickup points, batches,
 * trips and their transitions, reassignment commands. Bodies and queries
 * are validated here; each request is one store call, so one transaction. */
typedef struct _WbDispatchApi WbDispatchApi;

WbDispatchApi *wb_dispatch_api_new              (WbDispatchStore *store);
/* The region a handover's phone is read in when it has no country code. */
void           wb_dispatch_api_set_phone_region (WbDispatchApi   *self,
                                                 const char      *region);
/* Adds the routes to @http; @self must outlive @http's routing. */
void           wb_dispatch_api_register         (WbDispatchApi   *self,
                                                 WbHttpServer    *http);
/* Drops the caller's hold; requests in flight keep what they need. */
void           wb_dispatch_api_free             (WbDispatchApi   *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbDispatchApi, wb_dispatch_api_free)

G_END_DECLS
