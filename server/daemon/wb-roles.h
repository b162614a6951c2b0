// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-bus.h"
#include "wb-config.h"
#include "wb-db-pool.h"
#include "wb-fleet-store.h"
#include "wb-http-server.h"
#include "wb-metrics.h"
#include "wb-shipment-store.h"
#include "wb-sla.h"

G_BEGIN_DECLS

/* What the daemon shares with its pipelines. Borrowed: the daemon
 * outlives them. */
typedef struct
{
  WbConfig        *config;
  WbBus           *bus;
  WbMetrics       *metrics;
  WbDbPool        *pool;
  WbSlaTable      *sla;
  WbShipmentStore *shipments;
  WbFleetStore    *fleet;
  gboolean         revalidate_cache;  /* shipments.cache-revalidation, resolved */
} WbRoleContext;

/* One pipeline of waybilld (docs/operations.md). create and free are
 * required; a hook left NULL has nothing to do. */
typedef struct
{
  gpointer (*create)     (const WbRoleContext  *context,
                          GError              **error);
  /* While the HTTP server is set up, before it listens. */
  void     (*add_routes) (gpointer              pipeline,
                          WbHttpServer         *http);
  /* Once the schema is migrated and the fleet reference data loaded. */
  gboolean (*start)      (gpointer              pipeline,
                          GError              **error);
  void     (*stop)       (gpointer              pipeline);
  gboolean (*is_ready)   (gpointer              pipeline,
                          char                **out_reason);
  GDestroyNotify free;
  /* Takes work from outside (requests, devices): started after the
   * pipelines that consume what it publishes, and stopped as soon as
   * shutdown begins rather than once the bus is flushed. */
  gboolean intake;
} WbRolePipeline;

/* The roles a daemon runs, in the table's order. */
typedef struct _WbRoles WbRoles;

char               *wb_roles_list_available (void);
WbRoles            *wb_roles_new            (const char * const   *names,
                                             GError              **error);
gboolean            wb_roles_create         (WbRoles              *self,
                                             const WbRoleContext  *context,
                                             GError              **error);
gboolean            wb_roles_has            (WbRoles              *self,
                                             const char           *name);
gboolean            wb_roles_has_every      (WbRoles              *self);
const char * const *wb_roles_get_names      (WbRoles              *self);
void                wb_roles_add_routes     (WbRoles              *self,
                                             WbHttpServer         *http);
gboolean            wb_roles_start          (WbRoles              *self,
                                             GError              **error);
void                wb_roles_stop_intake    (WbRoles              *self);
void                wb_roles_stop           (WbRoles              *self);
gboolean            wb_roles_is_ready       (WbRoles              *self,
                                             const char           *name,
                                             char                **out_reason);
void                wb_roles_free           (WbRoles              *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbRoles, wb_roles_free)

G_END_DECLS
