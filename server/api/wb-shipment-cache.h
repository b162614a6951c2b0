// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* In-process cache of shipment views (id → view JSON text + version) for
 * GET /shipments/{id}. Bounded (least recently used entries go first),
 * entries expire after a TTL or when the clock alone changes the view
 * (its expires_at), and every call is thread-safe.
 *
 * Reads fill it through a ticket: wb_shipment_cache_begin_fill() before the
 * database read, wb_shipment_cache_fill() after it. A fill is refused when a
 * write touched that id in between, so a slow read can never put back a
 * view older than one a write already published. Writes reach it through
 * wb_shipment_cache_invalidate() (every committed change, from
 * WbShipmentStore::changed) and wb_shipment_cache_put() (the view a REST
 * write committed). */
typedef struct _WbShipmentCache WbShipmentCache;

#define WB_SHIPMENT_CACHE_DEFAULT_CAPACITY 10000
#define WB_SHIPMENT_CACHE_DEFAULT_TTL_US   (5 * G_USEC_PER_SEC)

WbShipmentCache *wb_shipment_cache_new         (guint            capacity,
                                                gint64           ttl_us);
void             wb_shipment_cache_free        (WbShipmentCache *self);
GBytes          *wb_shipment_cache_lookup      (WbShipmentCache *self,
                                                const char      *id,
                                                gint64          *out_version);
guint64          wb_shipment_cache_begin_fill  (WbShipmentCache *self);
gboolean         wb_shipment_cache_fill        (WbShipmentCache *self,
                                                const char      *id,
                                                guint64          ticket,
                                                gint64           version,
                                                const char      *json,
                                                gint64           expires_at);
void             wb_shipment_cache_put         (WbShipmentCache *self,
                                                const char      *id,
                                                gint64           version,
                                                const char      *json,
                                                gint64           expires_at);
void             wb_shipment_cache_invalidate  (WbShipmentCache *self,
                                                const char      *id,
                                                gint64           min_version);
guint            wb_shipment_cache_get_size    (WbShipmentCache *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbShipmentCache, wb_shipment_cache_free)

G_END_DECLS
