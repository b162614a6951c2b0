// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-live-vehicle.h"

G_BEGIN_DECLS

typedef enum
{
  WB_LIVE_OUTBOX_ENTERED,   /* full state; the client did not hold the vehicle */
  WB_LIVE_OUTBOX_UPDATE,    /* full state; the client holds the vehicle */
  WB_LIVE_OUTBOX_LEFT,      /* id only: the client drops the vehicle */
} WbLiveOutboxKind;

/* One unsent message of a batch. */
typedef struct
{
  WbLiveOutboxKind  kind;
  char             *vehicle_id;
  WbLiveVehicle    *vehicle;   /* owned ref; %NULL for LEFT */
  guint64           seq;       /* stream position of the newest change it carries */
} WbLiveOutboxItem;

typedef struct _WbLiveOutbox WbLiveOutbox;

/* The unsent updates of one connection, coalesced per vehicle: whatever
 * number of changes a vehicle has in one window, the client gets one
 * message with the newest state. The rules, for what is pending and what
 * comes:
 *
 *   ENTERED + UPDATE  -> ENTERED, newest state
 *   ENTERED + LEFT    -> nothing (the client never held it)
 *   UPDATE  + UPDATE  -> UPDATE, newest state
 *   UPDATE  + LEFT    -> LEFT
 *   LEFT    + ENTERED -> UPDATE, newest state (the client still holds it)
 *
 * Items keep the order in which their vehicle first became pending.
 *
 * @bound is what the connection may hold before it counts as slow: a push
 * that leaves more than @bound vehicles pending returns %FALSE, and the
 * gateway starts the slow-client deadline. Coalescing caps memory by the
 * vehicles in view; @hard_limit caps it below that: a push past
 * @hard_limit empties the outbox and marks it overflowed, after which it
 * takes nothing more and the connection must be closed or resynced.
 *
 * Not thread-safe: owned by the thread of its connection. */
WbLiveOutbox     *wb_live_outbox_new            (guint                bound,
                                                 guint                hard_limit);
void              wb_live_outbox_free           (WbLiveOutbox        *self);
/* @vehicle: nullable for LEFT; the outbox takes its own reference.
 * Returns: %FALSE if the outbox is now over its bound or overflowed. */
gboolean          wb_live_outbox_push           (WbLiveOutbox        *self,
                                                 WbLiveOutboxKind     kind,
                                                 const char          *vehicle_id,
                                                 WbLiveVehicle       *vehicle,
                                                 guint64              seq);
guint             wb_live_outbox_get_length     (WbLiveOutbox        *self);
gboolean          wb_live_outbox_is_over_bound  (WbLiveOutbox        *self);
gboolean          wb_live_outbox_is_overflowed  (WbLiveOutbox        *self);
/* The newest seq pushed so far (what the client will have seen once it
 * has the next batch). */
guint64           wb_live_outbox_get_seq        (WbLiveOutbox        *self);
/* The @index-th pending item (of wb_live_outbox_get_length()), in order,
 * to write one frame from without copying: valid until the next push or
 * clear; wb_live_outbox_clear() then empties the outbox. */
const WbLiveOutboxItem *
                  wb_live_outbox_peek_nth       (WbLiveOutbox        *self,
                                                 guint                index);
void              wb_live_outbox_clear          (WbLiveOutbox        *self);
/* Everything pending, as one batch (one frame) of copies, and empties
 * the outbox. %NULL when nothing is pending.
 *
 * Returns: (transfer full) (element-type WbLiveOutboxItem) (nullable) */
GPtrArray        *wb_live_outbox_drain          (WbLiveOutbox        *self);
void              wb_live_outbox_item_free      (WbLiveOutboxItem    *item);
const char       *wb_live_outbox_kind_to_string (WbLiveOutboxKind     kind);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbLiveOutbox, wb_live_outbox_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbLiveOutboxItem, wb_live_outbox_item_free)

G_END_DECLS
