// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <gio/gio.h>

#include "wb-bus.h"
#include "wb-db-pool.h"

G_BEGIN_DECLS

#define WB_TYPE_OUTBOX_RELAY (wb_outbox_relay_get_type ())

G_DECLARE_FINAL_TYPE (WbOutboxRelay, wb_outbox_relay, WB, OUTBOX_RELAY, GObject)

/**
 * WbOutboxRelay:
 *
 * Publishes the rows of the outbox table to the bus after the transactions
 * that wrote them have committed, then deletes them. A row is deleted only
 * once the bus accepted its message (at-least-once); rows are claimed with
 * FOR UPDATE SKIP LOCKED, so the relays of several daemons sharing one
 * database never publish the same row at the same time. It runs when
 * kicked and every second, which picks up rows a crash left behind.
 * Works on the thread-default main context of wb_outbox_relay_new().
 */
WbOutboxRelay *wb_outbox_relay_new           (WbDbPool      *pool,
                                              WbBus         *bus);
/* Asks for a pass soon; callable from any thread. */
void           wb_outbox_relay_kick          (WbOutboxRelay *self);
/* Stops the timer and any further pass; one in progress finishes. */
void           wb_outbox_relay_stop          (WbOutboxRelay *self);
/* Messages published since creation. */
guint64        wb_outbox_relay_get_published (WbOutboxRelay *self);

G_END_DECLS
