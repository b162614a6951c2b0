// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define WB_TYPE_BUS_MESSAGE (wb_bus_message_get_type ())

/**
 * WbBusMessage:
 *
 * One message on the bus: a topic, a key that keeps one entity's messages in
 * order, a payload and headers. Immutable once published; reference counted,
 * so a batch can be handed to several places without copying.
 */
typedef struct _WbBusMessage WbBusMessage;

/* Returns the payload text (transfer full) of a message's object. */
typedef char *(*WbBusMessageSerializeFunc) (gconstpointer object);

GType          wb_bus_message_get_type      (void) G_GNUC_CONST;
WbBusMessage  *wb_bus_message_new           (const char   *topic,
                                             const char   *key,
                                             GBytes       *payload);
WbBusMessage  *wb_bus_message_new_take      (const char   *topic,
                                             const char   *key,
                                             char         *payload);
WbBusMessage  *wb_bus_message_new_for_object (const char                *topic,
                                              const char                *key,
                                              GType                      object_type,
                                              gpointer                   object,
                                              WbBusMessageSerializeFunc  serialize);
gconstpointer  wb_bus_message_peek_object   (WbBusMessage *message,
                                             GType         object_type);
WbBusMessage  *wb_bus_message_ref           (WbBusMessage *message);
void           wb_bus_message_unref         (WbBusMessage *message);
void           wb_bus_message_add_header    (WbBusMessage *message,
                                             const char   *name,
                                             const char   *value);
const char    *wb_bus_message_get_header    (WbBusMessage *message,
                                             const char   *name);
const char * const *wb_bus_message_get_header_names (WbBusMessage *message);
const char    *wb_bus_message_get_topic     (WbBusMessage *message);
const char    *wb_bus_message_get_key       (WbBusMessage *message);
GBytes        *wb_bus_message_get_payload   (WbBusMessage *message);
gint64         wb_bus_message_get_timestamp (WbBusMessage *message);
gint           wb_bus_message_get_partition (WbBusMessage *message);
gint64         wb_bus_message_get_offset    (WbBusMessage *message);
void           wb_bus_message_set_position  (WbBusMessage *message,
                                             gint          partition,
                                             gint64        offset);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbBusMessage, wb_bus_message_unref)

G_END_DECLS
