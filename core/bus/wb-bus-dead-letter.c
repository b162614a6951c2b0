// SPDX-License-Identifier: GPL-3.0-or-later
/* Dead letters: a message a consumer cannot use (bad input from outside) is
 * not dropped but published to "<topic>.dlq" with the reason and where it
 * came from, so that an operator can look at it and replay it. Works on any
 * WbBus.
 *
 * A dead letter must never be what stops a stream: one the bus refuses for
 * its size (a 10 MB poison message, when the producer's message.max.bytes
 * is 1 MB) goes out without the payload, which stays readable at its source
 * topic, partition and offset. */

#include "config.h"

#include "wb-bus-dead-letter.h"

/* The letter without its payload, and the size it had. */
static WbBusMessage *
letter_without_payload (WbBusMessage *letter)
{
  g_autoptr(GBytes) empty = g_bytes_new_static ("", 0);
  const char * const *names = wb_bus_message_get_header_names (letter);
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  WbBusMessage *bare = wb_bus_message_new (wb_bus_message_get_topic (letter), wb_bus_message_get_key (letter),
                                           empty);
  char size[32];

  for (guint i = 0; names[i] != NULL; i++)
    if (g_hash_table_add (seen, (gpointer) names[i]))
      wb_bus_message_add_header (bare, names[i], wb_bus_message_get_header (letter, names[i]));
  g_snprintf (size, sizeof size, "%" G_GSIZE_FORMAT, g_bytes_get_size (wb_bus_message_get_payload (letter)));
  wb_bus_message_add_header (bare, "x-payload-omitted", size);
  return bare;
}

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
 * partition and offset it points at the very record. A payload larger than
 * %WB_BUS_DEAD_LETTER_MAX_PAYLOAD is left there: the letter is empty and
 * x-payload-omitted gives its size.
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
  if (g_bytes_get_size (wb_bus_message_get_payload (message)) > WB_BUS_DEAD_LETTER_MAX_PAYLOAD)
    {
      WbBusMessage *bare = letter_without_payload (letter);

      wb_bus_message_unref (letter);
      return bare;
    }
  return letter;
}

/* Refused for what it is (a producer configured below the payload's
 * size): a letter without the payload would go. A closed bus, a failed
 * delivery or a cancelled wait would not fare better. */
static gboolean
is_too_large (WbBusMessage *letter,
              const GError *error)
{
  return g_bytes_get_size (wb_bus_message_get_payload (letter)) > 0
         && g_error_matches (error, WB_BUS_ERROR, WB_BUS_ERROR_INVALID);
}

static void
on_dead_letter_published (GObject      *object,
                          GAsyncResult *result,
                          gpointer      data)
{
  g_autoptr(GTask) task = data;
  WbBusMessage *letter = g_task_get_task_data (task);
  GError *error = NULL;

  if (wb_bus_publish_finish (WB_BUS (object), result, &error))
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  if (is_too_large (letter, error))
    {
      g_autoptr(WbBusMessage) bare = letter_without_payload (letter);

      g_message ("dead letter to %s refused (%s); sending it without its payload",
                 wb_bus_message_get_topic (letter), error->message);
      g_error_free (error);
      g_task_set_task_data (task, wb_bus_message_ref (bare), (GDestroyNotify) wb_bus_message_unref);
      wb_bus_publish_async (WB_BUS (object), bare, g_task_get_cancellable (task), on_dead_letter_published,
                            g_object_ref (task));
      return;
    }
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
  g_task_set_task_data (task, wb_bus_message_ref (letter), (GDestroyNotify) wb_bus_message_unref);
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
