// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <gio/gio.h>

#include "wb-bus-message.h"

G_BEGIN_DECLS

#define WB_BUS_ERROR (wb_bus_error_quark ())

typedef enum
{
  WB_BUS_ERROR_FULL,       /* a bounded queue is full: push back on the sender */
  WB_BUS_ERROR_CLOSED,
  WB_BUS_ERROR_INVALID,
  WB_BUS_ERROR_DELIVERY,
} WbBusError;

GQuark wb_bus_error_quark (void);

/**
 * WbBusBatch:
 *
 * Messages handed to one subscriber at once. The subscriber calls
 * wb_bus_batch_ack() once their effects are committed, or
 * wb_bus_batch_retry() when a transient fault (the database is down) means
 * they should come again later. Until then no further batch reaches that
 * subscriber, which is what keeps per-key order and bounds the work in flight.
 */
typedef struct _WbBusBatch WbBusBatch;

typedef struct
{
  void (*ack)   (WbBusBatch *batch, gpointer backend_data);
  void (*retry) (WbBusBatch *batch, gpointer backend_data, guint delay_ms);
} WbBusBatchFuncs;

#define WB_TYPE_BUS_BATCH (wb_bus_batch_get_type ())

GType         wb_bus_batch_get_type    (void) G_GNUC_CONST;
WbBusBatch   *wb_bus_batch_new         (GPtrArray             *messages,
                                        const WbBusBatchFuncs *funcs,
                                        gpointer               backend_data,
                                        GDestroyNotify         backend_data_free);
WbBusBatch   *wb_bus_batch_ref         (WbBusBatch *batch);
void          wb_bus_batch_unref       (WbBusBatch *batch);
guint         wb_bus_batch_get_length  (WbBusBatch *batch);
WbBusMessage *wb_bus_batch_get_message (WbBusBatch *batch,
                                        guint       index);
void          wb_bus_batch_ack         (WbBusBatch *batch);
void          wb_bus_batch_retry       (WbBusBatch *batch,
                                        guint       delay_ms);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbBusBatch, wb_bus_batch_unref)

#define WB_TYPE_BUS (wb_bus_get_type ())

G_DECLARE_DERIVABLE_TYPE (WbBus, wb_bus, WB, BUS, GObject)

/**
 * WbBusHandler:
 *
 * Called on the thread-default main context of the subscribe() call, with a
 * batch it must eventually ack or retry (from any thread).
 */
typedef void (*WbBusHandler) (WbBus      *bus,
                              WbBusBatch *batch,
                              gpointer    user_data);

struct _WbBusClass
{
  GObjectClass parent_class;

  gboolean (*try_publish)    (WbBus               *self,
                              WbBusMessage        *message,
                              GError             **error);
  void     (*publish_async)  (WbBus               *self,
                              WbBusMessage        *message,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data);
  gboolean (*publish_finish) (WbBus               *self,
                              GAsyncResult        *result,
                              GError             **error);
  guint    (*subscribe)      (WbBus               *self,
                              const char          *group,
                              const char * const  *topics,
                              guint                max_batch,
                              guint                linger_ms,
                              WbBusHandler         handler,
                              gpointer             user_data,
                              GDestroyNotify       destroy);
  void     (*unsubscribe)    (WbBus               *self,
                              guint                subscription_id);
  void     (*flush_async)    (WbBus               *self,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data);
  gboolean (*flush_finish)   (WbBus               *self,
                              GAsyncResult        *result,
                              GError             **error);
  gboolean (*is_ready)       (WbBus               *self,
                              char               **out_reason);
  void     (*close)          (WbBus               *self);
  char    *(*dup_broker_topic) (WbBus             *self,
                                const char        *topic);
  void     (*set_prefetch)   (WbBus               *self,
                              guint                subscription_id,
                              guint                batches);

  gpointer padding[6];
};

gboolean wb_bus_try_publish    (WbBus               *self,
                                WbBusMessage        *message,
                                GError             **error);
void     wb_bus_publish_async  (WbBus               *self,
                                WbBusMessage        *message,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data);
gboolean wb_bus_publish_finish (WbBus               *self,
                                GAsyncResult        *result,
                                GError             **error);
guint    wb_bus_subscribe      (WbBus               *self,
                                const char          *group,
                                const char * const  *topics,
                                guint                max_batch,
                                WbBusHandler         handler,
                                gpointer             user_data,
                                GDestroyNotify       destroy);
guint    wb_bus_subscribe_batched (WbBus            *self,
                                const char          *group,
                                const char * const  *topics,
                                guint                max_batch,
                                guint                linger_ms,
                                WbBusHandler         handler,
                                gpointer             user_data,
                                GDestroyNotify       destroy);
void     wb_bus_unsubscribe    (WbBus               *self,
                                guint                subscription_id);
void     wb_bus_set_prefetch   (WbBus               *self,
                                guint                subscription_id,
                                guint                batches);
void     wb_bus_flush_async    (WbBus               *self,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data);
gboolean wb_bus_flush_finish   (WbBus               *self,
                                GAsyncResult        *result,
                                GError             **error);
gboolean wb_bus_is_ready       (WbBus               *self,
                                char               **out_reason);
void     wb_bus_close          (WbBus               *self);
char    *wb_bus_dup_broker_topic (WbBus             *self,
                                const char          *topic);

G_END_DECLS
