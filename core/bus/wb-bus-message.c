// SPDX-License-Identifier: GPL-3.0-or-later

#include "config.h"

#include <string.h>

#include "wb-bus-message.h"

struct _WbBusMessage
{
  gatomicrefcount  ref_count;
  char            *topic;
  char            *key;
  GBytes          *payload;        /* NULL until serialized, for a message built from an object */
  GType            object_type;
  gpointer         object;         /* the decoded form, for in-process consumers */
  WbBusMessageSerializeFunc serialize;
  /* Packed, "name\0value\0" after one another, in one allocation (NULL
   * until the first header): in process nobody but Kafka and dead letters
   * reads them, so the names array is made only when asked for. */
  char            *headers;
  gsize            headers_size;
  const char     **header_names;   /* NULL-terminated, built on demand */
  gint64           timestamp;      /* unix milliseconds at creation */
  gint             partition;
  gint64           offset;
  char             strings[];      /* topic and key, allocated with the message */
};


G_DEFINE_BOXED_TYPE (WbBusMessage, wb_bus_message, wb_bus_message_ref, wb_bus_message_unref)

static WbBusMessage *
message_alloc (const char *topic,
               const char *key)
{
  /* One allocation for the message and its strings: a busy pipeline
   * publishes a message per position. */
  gsize topic_size = strlen (topic) + 1;
  gsize key_size = key ? strlen (key) + 1 : 0;
  WbBusMessage *self = g_malloc0 (sizeof (WbBusMessage) + topic_size + key_size);

  g_atomic_ref_count_init (&self->ref_count);
  self->topic = memcpy (self->strings, topic, topic_size);
  if (key != NULL)
    self->key = memcpy (self->strings + topic_size, key, key_size);
  self->timestamp = g_get_real_time () / 1000;
  self->partition = -1;
  self->offset = -1;
  return self;
}

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

  self = message_alloc (topic, key);
  self->payload = g_bytes_ref (payload);
  return self;
}

/**
 * wb_bus_message_new_for_object:
 * @topic: the topic
 * @key: (nullable): the entity id that orders this message
 * @object_type: a boxed type
 * @object: (transfer full): the message's content, decoded
 * @serialize: turns @object into the payload's text
 *
 * A message whose payload is made only when someone asks for it. The
 * in-process bus hands the same message to its consumers, who take the
 * object itself (wb_bus_message_peek_object()) and skip a round trip
 * through JSON; a message nobody consumes is never serialized. A bus that
 * leaves the process (Kafka) asks for the payload.
 *
 * Returns: (transfer full): a new message
 */
WbBusMessage *
wb_bus_message_new_for_object (const char                *topic,
                               const char                *key,
                               GType                      object_type,
                               gpointer                   object,
                               WbBusMessageSerializeFunc  serialize)
{
  WbBusMessage *self;

  g_return_val_if_fail (topic != NULL && *topic != '\0', NULL);
  g_return_val_if_fail (G_TYPE_IS_BOXED (object_type), NULL);
  g_return_val_if_fail (object != NULL, NULL);
  g_return_val_if_fail (serialize != NULL, NULL);

  self = message_alloc (topic, key);
  self->object_type = object_type;
  self->object = object;
  self->serialize = serialize;
  return self;
}

/**
 * wb_bus_message_peek_object:
 *
 * Returns: (transfer none) (nullable): the decoded content, when the message
 *   was built from an object of @object_type (and has not left the process)
 */
gconstpointer
wb_bus_message_peek_object (WbBusMessage *self,
                            GType         object_type)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->object != NULL && self->object_type == object_type ? self->object : NULL;
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
  g_clear_pointer (&self->payload, g_bytes_unref);
  if (self->object != NULL)
    g_boxed_free (self->object_type, self->object);
  g_free (self->headers);
  g_free (self->header_names);
  g_free (self);
}

void
wb_bus_message_add_header (WbBusMessage *self,
                           const char   *name,
                           const char   *value)
{
  gsize name_size, value_size;

  g_return_if_fail (self != NULL);
  g_return_if_fail (name != NULL && value != NULL);
  g_return_if_fail (self->header_names == NULL);

  name_size = strlen (name) + 1;
  value_size = strlen (value) + 1;
  self->headers = g_realloc (self->headers, self->headers_size + name_size + value_size);
  memcpy (self->headers + self->headers_size, name, name_size);
  memcpy (self->headers + self->headers_size + name_size, value, value_size);
  self->headers_size += name_size + value_size;
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
  const char *found = NULL;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  for (gsize at = 0; at < self->headers_size;)
    {
      const char *entry = self->headers + at;
      const char *value = entry + strlen (entry) + 1;

      if (g_str_equal (entry, name))
        found = value;
      at = value + strlen (value) + 1 - self->headers;
    }
  return found;
}

/**
 * wb_bus_message_get_header_names:
 *
 * Safe from any thread. Once asked for, the message takes no more headers.
 *
 * Returns: (array zero-terminated=1) (transfer none): the header names, in
 *   order, a name as often as it was added
 */
const char * const *
wb_bus_message_get_header_names (WbBusMessage *self)
{
  g_autoptr(GPtrArray) names = NULL;
  const char **built;

  g_return_val_if_fail (self != NULL, NULL);

  built = g_atomic_pointer_get (&self->header_names);
  if (built != NULL)
    return built;
  names = g_ptr_array_new ();
  for (gsize at = 0; at < self->headers_size;)
    {
      const char *entry = self->headers + at;
      const char *value = entry + strlen (entry) + 1;

      g_ptr_array_add (names, (gpointer) entry);
      at = value + strlen (value) + 1 - self->headers;
    }
  g_ptr_array_add (names, NULL);
  built = (const char **) g_ptr_array_free (g_steal_pointer (&names), FALSE);
  if (!g_atomic_pointer_compare_and_exchange (&self->header_names, NULL, built))
    {
      /* Another thread got there first; its array is the same. */
      g_free (built);
      built = g_atomic_pointer_get (&self->header_names);
    }
  return built;
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

/**
 * wb_bus_message_get_payload:
 *
 * Safe from any thread: a message built from an object is serialized on
 * first use, once.
 *
 * Returns: (transfer none): the payload
 */
GBytes *
wb_bus_message_get_payload (WbBusMessage *self)
{
  GBytes *payload;
  char *text;

  g_return_val_if_fail (self != NULL, NULL);

  payload = g_atomic_pointer_get (&self->payload);
  if (payload != NULL)
    return payload;
  text = self->serialize (self->object);
  payload = g_bytes_new_take (text, strlen (text));
  if (!g_atomic_pointer_compare_and_exchange (&self->payload, NULL, payload))
    {
      /* Another thread got there first; its bytes are the same. */
      g_bytes_unref (payload);
      payload = g_atomic_pointer_get (&self->payload);
    }
  return payload;
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
