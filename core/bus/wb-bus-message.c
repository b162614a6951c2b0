// SPDX-License-Identifier: GPL-3.0-or-later

#include "config.h"

#include <string.h>

#include "wb-bus-message.h"

struct _WbBusMessage
{
  gatomicrefcount  ref_count;
  char            *topic;
  char            *key;
  GBytes          *payload;
  GPtrArray       *header_names;   /* NULL-terminated, parallel to header_values */
  GPtrArray       *header_values;
  gint64           timestamp;      /* unix milliseconds at creation */
  gint             partition;
  gint64           offset;
};

G_DEFINE_BOXED_TYPE (WbBusMessage, wb_bus_message, wb_bus_message_ref, wb_bus_message_unref)

/**
 * wb_bus_message_new:
 * @topic: the topic
 * @key: (nullable): the entity id that orders this message
 * @payload: the payload bytes
 *
 * Returns: (transfer full): a new message
 */
WbBusMessage *
wb_bus_message_new (const char *topic,
                    const char *key,
                    GBytes     *payload)
{
  WbBusMessage *self;

  g_return_val_if_fail (topic != NULL && *topic != '\0', NULL);
  g_return_val_if_fail (payload != NULL, NULL);

  self = g_new0 (WbBusMessage, 1);
  g_atomic_ref_count_init (&self->ref_count);
  self->topic = g_strdup (topic);
  self->key = g_strdup (key);
  self->payload = g_bytes_ref (payload);
  self->header_names = g_ptr_array_new_with_free_func (g_free);
  self->header_values = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (self->header_names, NULL);
  self->timestamp = g_get_real_time () / 1000;
  self->partition = -1;
  self->offset = -1;
  return self;
}

/**
 * wb_bus_message_new_take:
 * @topic: the topic
 * @key: (nullable): the entity id
 * @payload: (transfer full): a NUL-terminated payload, usually JSON
 *
 * Returns: (transfer full): a new message owning @payload
 */
WbBusMessage *
wb_bus_message_new_take (const char *topic,
                         const char *key,
                         char       *payload)
{
  g_autoptr(GBytes) bytes = NULL;

  g_return_val_if_fail (payload != NULL, NULL);

  bytes = g_bytes_new_take (payload, strlen (payload));
  return wb_bus_message_new (topic, key, bytes);
}

WbBusMessage *
wb_bus_message_ref (WbBusMessage *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
wb_bus_message_unref (WbBusMessage *self)
{
  g_return_if_fail (self != NULL);

  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;
  g_free (self->topic);
  g_free (self->key);
  g_bytes_unref (self->payload);
  g_ptr_array_unref (self->header_names);
  g_ptr_array_unref (self->header_values);
  g_free (self);
}

void
wb_bus_message_add_header (WbBusMessage *self,
                           const char   *name,
                           const char   *value)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (name != NULL && value != NULL);

  /* Keep the names array NULL-terminated for get_header_names(). */
  g_ptr_array_index (self->header_names, self->header_names->len - 1) = g_strdup (name);
  g_ptr_array_add (self->header_names, NULL);
  g_ptr_array_add (self->header_values, g_strdup (value));
}

/**
 * wb_bus_message_get_header:
 *
 * Returns: (nullable): the last value of header @name
 */
const char *
wb_bus_message_get_header (WbBusMessage *self,
                           const char   *name)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  for (guint i = self->header_values->len; i > 0; i--)
    if (g_str_equal (g_ptr_array_index (self->header_names, i - 1), name))
      return g_ptr_array_index (self->header_values, i - 1);
  return NULL;
}

const char * const *
wb_bus_message_get_header_names (WbBusMessage *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return (const char * const *) self->header_names->pdata;
}

const char *
wb_bus_message_get_topic (WbBusMessage *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->topic;
}

const char *
wb_bus_message_get_key (WbBusMessage *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->key;
}

GBytes *
wb_bus_message_get_payload (WbBusMessage *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->payload;
}

gint64
wb_bus_message_get_timestamp (WbBusMessage *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->timestamp;
}

gint
wb_bus_message_get_partition (WbBusMessage *self)
{
  g_return_val_if_fail (self != NULL, -1);
  return self->partition;
}

gint64
wb_bus_message_get_offset (WbBusMessage *self)
{
  g_return_val_if_fail (self != NULL, -1);
  return self->offset;
}

/* Set by the bus implementation when it accepts the message. */
void
wb_bus_message_set_position (WbBusMessage *self,
                             gint          partition,
                             gint64        offset)
{
  g_return_if_fail (self != NULL);
  self->partition = partition;
  self->offset = offset;
}
