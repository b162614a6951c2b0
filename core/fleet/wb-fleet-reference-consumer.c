// SPDX-License-Identifier: GPL-3.0-or-later
/* Reference data from the bus: each message of a batch is decoded and
 * applied in order (last writer wins by version, so a redelivered or
 * reordered message changes nothing); one that cannot be decoded goes to
 * <topic>.dlq with the reason. A database fault puts the whole batch back:
 * what was applied before the fault is applied again as a no-op. */

#include "config.h"

#include "wb-bus-dead-letter.h"
#include "wb-db.h"
#include "wb-fleet-reference-consumer.h"

#define GROUP          "fleet-reference"
#define MAX_BATCH      200
#define RETRY_MIN_MS   250
#define RETRY_MAX_MS   5000

struct _WbFleetReferenceConsumer
{
  GObject       parent_instance;

  WbBus        *bus;
  WbFleetStore *store;
  GCancellable *cancellable;
  guint         subscription;
  guint         retry_ms;
  guint64       applied;
  guint64       ignored;
  guint64       dead_letters;
};

G_DEFINE_FINAL_TYPE (WbFleetReferenceConsumer, wb_fleet_reference_consumer, G_TYPE_OBJECT)

typedef struct
{
  WbFleetReferenceConsumer *self;
  WbBusBatch               *batch;
  guint                     next;
} Pass;

static void
pass_free (Pass *pass)
{
  g_object_unref (pass->self);
  wb_bus_batch_unref (pass->batch);
  g_free (pass);
}

static void apply_next (Pass *pass);

static void
on_dead_lettered (GObject      *source,
                  GAsyncResult *result,
                  gpointer      data)
{
  Pass *pass = data;
  g_autoptr(GError) error = NULL;

  if (!wb_bus_dead_letter_finish (WB_BUS (source), result, &error))
    {
      /* Unacknowledged, the batch comes again: nothing is lost. */
      g_warning ("Dead-lettering a reference-data message failed: %s", error->message);
      pass_free (pass);
      return;
    }
  pass->self->dead_letters++;
  apply_next (pass);
}

static void
dead_letter (Pass         *pass,
             WbBusMessage *message,
             const char   *reason)
{
  wb_bus_dead_letter_async (pass->self->bus, message, reason, pass->self->cancellable, on_dead_lettered, pass);
}

static gboolean
is_transient (const GError *error)
{
  return g_error_matches (error, WB_DB_ERROR, WB_DB_ERROR_CONNECT)
         || g_error_matches (error, WB_DB_ERROR, WB_DB_ERROR_UNAVAILABLE)
         || g_error_matches (error, WB_DB_ERROR, WB_DB_ERROR_CANCELLED)
         || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static void
on_applied (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  Pass *pass = data;
  WbFleetReferenceConsumer *self = pass->self;
  g_autoptr(WbFleetApplyResult) applied = NULL;
  g_autoptr(GError) error = NULL;

  applied = wb_fleet_store_apply_finish (WB_FLEET_STORE (source), result, &error);
  if (applied == NULL && !is_transient (error))
    {
      /* Decoded but refused by the store's rules or the schema: it would
       * fail the same way every time, so it must not hold up the rest. */
      dead_letter (pass, wb_bus_batch_get_message (pass->batch, pass->next - 1), error->message);
      return;
    }
  if (applied == NULL)
    {
      self->retry_ms = self->retry_ms ? MIN (self->retry_ms * 2, RETRY_MAX_MS) : RETRY_MIN_MS;
      g_message ("Applying reference data failed (%s); retrying in %u ms", error->message, self->retry_ms);
      wb_bus_batch_retry (pass->batch, self->retry_ms);
      pass_free (pass);
      return;
    }
  self->retry_ms = 0;
  if (applied->applied)
    self->applied++;
  else
    self->ignored++;
  apply_next (pass);
}

static void
apply_next (Pass *pass)
{
  WbBusMessage *message;
  g_autoptr(WbFleetUpdate) update = NULL;
  g_autoptr(GError) error = NULL;

  if (pass->next == wb_bus_batch_get_length (pass->batch))
    {
      wb_bus_batch_ack (pass->batch);
      pass_free (pass);
      return;
    }
  message = wb_bus_batch_get_message (pass->batch, pass->next++);
  update = wb_fleet_update_from_message (wb_bus_message_get_topic (message),
                                         wb_bus_message_get_payload (message), &error);
  if (update == NULL)
    {
      dead_letter (pass, message, error->message);
      return;
    }
  wb_fleet_store_apply_async (pass->self->store, update, pass->self->cancellable, on_applied, pass);
}

static void
on_batch (WbBus      *bus,
          WbBusBatch *batch,
          gpointer    data)
{
  Pass *pass = g_new0 (Pass, 1);

  pass->self = g_object_ref (data);
  pass->batch = wb_bus_batch_ref (batch);
  apply_next (pass);
}

void
wb_fleet_reference_consumer_start (WbFleetReferenceConsumer *self)
{
  const char *topics[] = { WB_TOPIC_COMPANY_UPDATED, WB_TOPIC_DRIVER_UPDATED, WB_TOPIC_VEHICLE_UPDATED, NULL };

  g_return_if_fail (WB_IS_FLEET_REFERENCE_CONSUMER (self));
  g_return_if_fail (self->subscription == 0);

  self->subscription = wb_bus_subscribe (self->bus, GROUP, topics, MAX_BATCH, on_batch, self, NULL);
}

void
wb_fleet_reference_consumer_stop (WbFleetReferenceConsumer *self)
{
  g_return_if_fail (WB_IS_FLEET_REFERENCE_CONSUMER (self));

  if (self->subscription != 0)
    wb_bus_unsubscribe (self->bus, self->subscription);
  self->subscription = 0;
  g_cancellable_cancel (self->cancellable);
}

void
wb_fleet_reference_consumer_get_counts (WbFleetReferenceConsumer *self,
                                        guint64                  *out_applied,
                                        guint64                  *out_ignored,
                                        guint64                  *out_dead_letters)
{
  g_return_if_fail (WB_IS_FLEET_REFERENCE_CONSUMER (self));

  if (out_applied)
    *out_applied = self->applied;
  if (out_ignored)
    *out_ignored = self->ignored;
  if (out_dead_letters)
    *out_dead_letters = self->dead_letters;
}

static void
wb_fleet_reference_consumer_finalize (GObject *object)
{
  WbFleetReferenceConsumer *self = WB_FLEET_REFERENCE_CONSUMER (object);

  g_clear_object (&self->bus);
  g_clear_object (&self->store);
  g_clear_object (&self->cancellable);
  G_OBJECT_CLASS (wb_fleet_reference_consumer_parent_class)->finalize (object);
}

static void
wb_fleet_reference_consumer_class_init (WbFleetReferenceConsumerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = wb_fleet_reference_consumer_finalize;
}

static void
wb_fleet_reference_consumer_init (WbFleetReferenceConsumer *self)
{
  self->cancellable = g_cancellable_new ();
}

WbFleetReferenceConsumer *
wb_fleet_reference_consumer_new (WbBus        *bus,
                                 WbFleetStore *store)
{
  WbFleetReferenceConsumer *self;

  g_return_val_if_fail (WB_IS_BUS (bus), NULL);
  g_return_val_if_fail (WB_IS_FLEET_STORE (store), NULL);

  self = g_object_new (WB_TYPE_FLEET_REFERENCE_CONSUMER, NULL);
  self->bus = g_object_ref (bus);
  self->store = g_object_ref (store);
  return self;
}
