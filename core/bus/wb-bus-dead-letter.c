// SPDX-License-Identifier: GPL-3.0-or-later
/* Dead letters: a message a consumer cannot use (bad input from outside) is
 * not dropped but published to "<topic>.dlq" with the reason and where it
 * came from, so that an operator can look at it and replay it. Works on any
 * WbBus. */

#include "config.h"

#include "wb-bus-dead-letter.h"

/**
 * wb_bus_dead_letter_new:
 * @bus: the bus @message came from
 * @message: the message that could not be used
 * @reason: why, for the x-error header
 *
 * The original key, payload and headers, plus x-error, x-source-topic,
 * x-source-partition and x-source-offset (these win over original headers of
 * the same names, since wb_bus_message_get_header() returns the last value).
 * x-source-topic is the topic's name on the brokers, so that with the
 * partition and offset it points at the very record.
 *
 * Returns: (transfer full): the message for "<topic>.dlq"
 */
WbBusMessage *
wb_bus_dead_letter_new (WbBus        *bus,
                        WbBusMessage *message,
                        const char   *reason)
{
  const char * const *names;
  g_autofree char *topic = NULL;
  g_autofree char *source = NULL;
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  WbBusMessage *letter;
  char number[32];

  g_return_val_if_fail (WB_IS_BUS (bus), NULL);
  g_return_val_if_fail (message != NULL, NULL);
  g_return_val_if_fail (reason != NULL, NULL);

  topic = g_strconcat (wb_bus_message_get_topic (message), ".dlq", NULL);
  letter = wb_bus_message_new (topic, wb_bus_message_get_key (message),
                               wb_bus_message_get_payload (message));
  names = wb_bus_message_get_header_names (message);
  for (guint i = 0; names[i] != NULL; i++)
    if (g_hash_table_add (seen, (gpointer) names[i]))
      wb_bus_message_add_header (letter, names[i], wb_bus_message_get_header (message, names[i]));

  wb_bus_message_add_header (letter, "x-error", reason);
  source = wb_bus_dup_broker_topic (bus, wb_bus_message_get_topic (message));
  wb_bus_message_add_header (letter, "x-source-topic", source);
  g_snprintf (number, sizeof number, "%d", wb_bus_message_get_partition (message));
  wb_bus_message_add_header (letter, "x-source-partition", number);
  g_snprintf (number, sizeof number, "%" G_GINT64_FORMAT, wb_bus_message_get_offset (message));
  wb_bus_message_add_header (letter, "x-source-offset", number);
  g_message ("dead letter to %s (from partition %d offset %" G_GINT64_FORMAT "): %s",
             topic, wb_bus_message_get_partition (message), wb_bus_message_get_offset (message), reason);
  return letter;
}

static void
on_dead_letter_published (GObject      *object,
                          GAsyncResult *result,
                          gpointer      data)
{
  g_autoptr(GTask) task = data;
  GError *error = NULL;

  if (wb_bus_publish_finish (WB_BUS (object), result, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

/**
 * wb_bus_dead_letter_async:
 *
 * Publishes the dead letter of @message, waiting for room when the bus
 * pushes back; completes once the bus accepted it (for Kafka: once the
 * brokers acknowledged it), so the caller acks the original only then.
 */
void
wb_bus_dead_letter_async (WbBus               *bus,
                          WbBusMessage        *message,
                          const char          *reason,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(WbBusMessage) letter = NULL;
  GTask *task;

  g_return_if_fail (WB_IS_BUS (bus));
  g_return_if_fail (message != NULL && reason != NULL);

  task = g_task_new (bus, cancellable, callback, user_data);
  g_task_set_source_tag (task, wb_bus_dead_letter_async);
  letter = wb_bus_dead_letter_new (bus, message, reason);
  wb_bus_publish_async (bus, letter, cancellable, on_dead_letter_published, task);
}

gboolean
wb_bus_dead_letter_finish (WbBus         *bus,
                           GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, bus), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
