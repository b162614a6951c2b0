// SPDX-License-Identifier: GPL-3.0-or-later
/* The bus interface: code above it publishes and subscribes the same way
 * whether messages stay in this process (WbBusLocal) or travel through Kafka. */

#include "config.h"

#include "wb-bus.h"

G_DEFINE_QUARK (wb-bus-error-quark, wb_bus_error)

G_DEFINE_ABSTRACT_TYPE (WbBus, wb_bus, G_TYPE_OBJECT)

struct _WbBusBatch
{
  gatomicrefcount        ref_count;
  GPtrArray             *messages;
  const WbBusBatchFuncs *funcs;
  gpointer               backend_data;
  GDestroyNotify         backend_data_free;
  gint                   settled;
};

G_DEFINE_BOXED_TYPE (WbBusBatch, wb_bus_batch, wb_bus_batch_ref, wb_bus_batch_unref)

/**
 * wb_bus_batch_new: (skip)
 * @messages: (transfer full): #WbBusMessage array, with a free func
 *
 * For bus implementations only.
 */
WbBusBatch *
wb_bus_batch_new (GPtrArray             *messages,
                  const WbBusBatchFuncs *funcs,
                  gpointer               backend_data,
                  GDestroyNotify         backend_data_free)
{
  WbBusBatch *self = g_new0 (WbBusBatch, 1);

  g_atomic_ref_count_init (&self->ref_count);
  self->messages = messages;
  self->funcs = funcs;
  self->backend_data = backend_data;
  self->backend_data_free = backend_data_free;
  return self;
}

WbBusBatch *
wb_bus_batch_ref (WbBusBatch *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
wb_bus_batch_unref (WbBusBatch *self)
{
  g_return_if_fail (self != NULL);

  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;
  if (!g_atomic_int_get (&self->settled))
    g_critical ("A bus batch of %u messages was freed without ack or retry; "
                "its subscriber will receive nothing more", self->messages->len);
  g_ptr_array_unref (self->messages);
  if (self->backend_data_free)
    self->backend_data_free (self->backend_data);
  g_free (self);
}

guint
wb_bus_batch_get_length (WbBusBatch *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->messages->len;
}

/**
 * wb_bus_batch_get_message:
 *
 * Returns: (transfer none): the message at @index
 */
WbBusMessage *
wb_bus_batch_get_message (WbBusBatch *self,
                          guint       index)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (index < self->messages->len, NULL);
  return g_ptr_array_index (self->messages, index);
}

/* A batch is settled exactly once, by ack or by retry. */
static gboolean
settle (WbBusBatch *self)
{
  if (!g_atomic_int_compare_and_exchange (&self->settled, 0, 1))
    {
      g_critical ("A bus batch was acknowledged or retried twice");
      return FALSE;
    }
  return TRUE;
}

void
wb_bus_batch_ack (WbBusBatch *self)
{
  g_return_if_fail (self != NULL);

  if (settle (self))
    self->funcs->ack (self, self->backend_data);
}

void
wb_bus_batch_retry (WbBusBatch *self,
                    guint       delay_ms)
{
  g_return_if_fail (self != NULL);

  if (settle (self))
    self->funcs->retry (self, self->backend_data, delay_ms);
}

static void
wb_bus_class_init (WbBusClass *klass)
{
}

static void
wb_bus_init (WbBus *self)
{
}

/**
 * wb_bus_try_publish:
 *
 * Publishes without waiting. Fails with %WB_BUS_ERROR_FULL when a queue is
 * full, so an HTTP edge can answer 503 instead of buffering without bound.
 */
gboolean
wb_bus_try_publish (WbBus         *self,
                    WbBusMessage  *message,
                    GError       **error)
{
  g_return_val_if_fail (WB_IS_BUS (self), FALSE);
  g_return_val_if_fail (message != NULL, FALSE);

  return WB_BUS_GET_CLASS (self)->try_publish (self, message, error);
}

/**
 * wb_bus_publish_async:
 *
 * Publishes, waiting for room when the queues are full (back-pressure).
 */
void
wb_bus_publish_async (WbBus               *self,
                      WbBusMessage        *message,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  g_return_if_fail (WB_IS_BUS (self));
  g_return_if_fail (message != NULL);

  WB_BUS_GET_CLASS (self)->publish_async (self, message, cancellable, callback, user_data);
}

gboolean
wb_bus_publish_finish (WbBus         *self,
                       GAsyncResult  *result,
                       GError       **error)
{
  g_return_val_if_fail (WB_IS_BUS (self), FALSE);

  return WB_BUS_GET_CLASS (self)->publish_finish (self, result, error);
}

/**
 * wb_bus_subscribe:
 * @group: the consumer group: each group receives every message once
 * @topics: (array zero-terminated=1): topics to receive
 * @max_batch: the most messages handed over at once
 *
 * Like wb_bus_subscribe_batched() with no linger: a batch goes out as soon
 * as the previous one is settled, with whatever has arrived meanwhile.
 *
 * Returns: a subscription id for wb_bus_unsubscribe()
 */
guint
wb_bus_subscribe (WbBus              *self,
                  const char         *group,
                  const char * const *topics,
                  guint               max_batch,
                  WbBusHandler        handler,
                  gpointer            user_data,
                  GDestroyNotify      destroy)
{
  return wb_bus_subscribe_batched (self, group, topics, max_batch, 0, handler, user_data, destroy);
}

/**
 * wb_bus_subscribe_batched:
 * @max_batch: the most messages handed over at once
 * @linger_ms: how long a batch smaller than @max_batch may wait for more
 *   messages, counted from the oldest message waiting
 *
 * A consumer that commits each batch in one transaction (positions written
 * with COPY) wants few, full batches: it gets one when @max_batch messages
 * are waiting, or when the oldest has waited @linger_ms, whichever is first.
 *
 * Returns: a subscription id for wb_bus_unsubscribe()
 */
guint
wb_bus_subscribe_batched (WbBus              *self,
                          const char         *group,
                          const char * const *topics,
                          guint               max_batch,
                          guint               linger_ms,
                          WbBusHandler        handler,
                          gpointer            user_data,
                          GDestroyNotify      destroy)
{
  g_return_val_if_fail (WB_IS_BUS (self), 0);
  g_return_val_if_fail (group != NULL && *group != '\0', 0);
  g_return_val_if_fail (topics != NULL && topics[0] != NULL, 0);
  g_return_val_if_fail (max_batch > 0, 0);
  g_return_val_if_fail (handler != NULL, 0);

  return WB_BUS_GET_CLASS (self)->subscribe (self, group, topics, max_batch, linger_ms,
                                             handler, user_data, destroy);
}

/**
 * wb_bus_set_prefetch:
 * @batches: how many batches may be handed over before the first is
 *   settled; 1, the default, hands the next over only after an ack
 *
 * For a consumer with a pipeline of its own (it stores one batch while it
 * decodes the next): with more than one batch out, it never waits for the
 * bus between batches. The price is order across batches: a batch put back
 * with retry comes again after those already handed over, so only a
 * consumer whose effects do not depend on that order may ask. An
 * implementation that cannot hand over more than one keeps one.
 */
void
wb_bus_set_prefetch (WbBus *self,
                     guint  subscription_id,
                     guint  batches)
{
  g_return_if_fail (WB_IS_BUS (self));
  g_return_if_fail (subscription_id != 0);
  g_return_if_fail (batches > 0);

  if (WB_BUS_GET_CLASS (self)->set_prefetch != NULL)
    WB_BUS_GET_CLASS (self)->set_prefetch (self, subscription_id, batches);
}

void
wb_bus_unsubscribe (WbBus *self,
                    guint  subscription_id)
{
  g_return_if_fail (WB_IS_BUS (self));
  g_return_if_fail (subscription_id != 0);

  WB_BUS_GET_CLASS (self)->unsubscribe (self, subscription_id);
}

/**
 * wb_bus_flush_async:
 *
 * Completes once everything published so far has been delivered and
 * acknowledged (or, for a remote bus, acknowledged by the broker).
 */
void
wb_bus_flush_async (WbBus               *self,
                    GCancellable        *cancellable,
                    GAsyncReadyCallback  callback,
                    gpointer             user_data)
{
  g_return_if_fail (WB_IS_BUS (self));

  WB_BUS_GET_CLASS (self)->flush_async (self, cancellable, callback, user_data);
}

gboolean
wb_bus_flush_finish (WbBus         *self,
                     GAsyncResult  *result,
                     GError       **error)
{
  g_return_val_if_fail (WB_IS_BUS (self), FALSE);

  return WB_BUS_GET_CLASS (self)->flush_finish (self, result, error);
}

/**
 * wb_bus_is_ready:
 * @out_reason: (out) (optional) (nullable): why not, for /readyz
 */
gboolean
wb_bus_is_ready (WbBus  *self,
                 char  **out_reason)
{
  g_return_val_if_fail (WB_IS_BUS (self), FALSE);

  return WB_BUS_GET_CLASS (self)->is_ready (self, out_reason);
}

void
wb_bus_close (WbBus *self)
{
  g_return_if_fail (WB_IS_BUS (self));

  WB_BUS_GET_CLASS (self)->close (self);
}

/**
 * wb_bus_dup_broker_topic:
 *
 * Returns: (transfer full): the name the brokers know @topic by (a Kafka
 *   deployment may prefix or rename topics); @topic itself in process
 */
char *
wb_bus_dup_broker_topic (WbBus      *self,
                         const char *topic)
{
  g_return_val_if_fail (WB_IS_BUS (self), NULL);
  g_return_val_if_fail (topic != NULL, NULL);

  if (WB_BUS_GET_CLASS (self)->dup_broker_topic == NULL)
    return g_strdup (topic);
  return WB_BUS_GET_CLASS (self)->dup_broker_topic (self, topic);
}
