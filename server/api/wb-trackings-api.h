// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-carrier-stats.h"
#include "wb-carrier-table.h"
#include "wb-http-server.h"
#include "wb-tracking-store.h"

G_BEGIN_DECLS

/* The trackings REST resources (/trackings…, /carriers): validation at the
 * edge; the store does the storage. */
typedef struct _WbTrackingsApi WbTrackingsApi;

/* Largest POST /trackings. */
#define WB_TRACKINGS_API_MAX_ITEMS 1000

WbTrackingsApi *wb_trackings_api_new      (WbTrackingStore *store,
                                           WbCarrierTable  *carriers,
                                           gint64           refresh_interval_us);
void            wb_trackings_api_register (WbTrackingsApi  *self,
                                           WbHttpServer    *http);
void            wb_trackings_api_set_stats (WbTrackingsApi *self,
                                            WbCarrierStats *stats);
void            wb_trackings_api_free     (WbTrackingsApi  *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbTrackingsApi, wb_trackings_api_free)

G_END_DECLS
