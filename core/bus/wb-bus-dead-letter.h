// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-bus.h"

G_BEGIN_DECLS

/* A dead letter carries the payload only up to this size, under the
 * 1 MB that Kafka's brokers and producers take by default
 * (message.max.bytes); a larger one says so in x-payload-omitted. */
#define WB_BUS_DEAD_LETTER_MAX_PAYLOAD 900000

WbBusMessage *wb_bus_dead_letter_new    (WbBus                *bus,
                                         WbBusMessage         *message,
                                         const char           *reason);
void          wb_bus_dead_letter_async  (WbBus                *bus,
                                         WbBusMessage         *message,
                                         const char           *reason,
                                         GCancellable         *cancellable,
                                         GAsyncReadyCallback   callback,
                                         gpointer              user_data);
gboolean      wb_bus_dead_letter_finish (WbBus                *bus,
                                         GAsyncResult         *result,
                                         GError              **error);

G_END_DECLS
