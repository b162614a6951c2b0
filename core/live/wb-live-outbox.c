// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include <string.h>

#include "wb-live-outbox.h"

/* The pending items sit in one array, in the order their vehicle first
 * became pending, found by vehicle through an open-addressing table of
 * their positions. Both are kept from one frame to the next, so that a
 * connection's steady stream of updates allocates nothing per update:
 * with thousands of connections each taking a hundred updates per
 * batching window, a node, a key copy and a hash table resize per update
 * and window were most of the fan-out's time in the allocator. */
typedef struct
{
  WbLiveOutboxItem  item;       /* item.vehicle_id is the vehicle's own, or owned_id */
  WbLiveVehicle    *id_holder;  /* a state whose vehicle_id item.vehicle_id is */
  char             *owned_id;
  guint             hash;
  guint             table_position;
} Slot;

#define TABLE_MIN    16
/* Arrays this much larger than what the last SHRINK_EVERY frames needed
 * are given back. */
#define SHRINK_SLACK 8
#define SHRINK_EVERY 256

struct _WbLiveOutbox
{
  guint       bound;
  guint       hard_limit;
  gboolean    overflowed;
  guint64     seq;
  Slot       *slots;
  guint       length;
  guint       slots_size;
  guint32    *table;          /* slot index + 1; 0: free */
  guint       table_size;     /* a power of two */
  guint       peak;           /* the longest of the last clears */
  guint       clears;
};

static const char * const kind_names[] = {
  [WB_LIVE_OUTBOX_ENTERED] = "entered",
  [WB_LIVE_OUTBOX_UPDATE] = "update",
  [WB_LIVE_OUTBOX_LEFT] = "left",
};

/**
 * wb_live_outbox_new:
 * @bound: vehicles pending before the connection counts as slow
 * @hard_limit: vehicles pending before the outbox gives up (>= @bound)
 */
WbLiveOutbox *
wb_live_outbox_new (guint bound,
                    guint hard_limit)
{
  WbLiveOutbox *self;

  g_return_val_if_fail (bound > 0 && hard_limit >= bound, NULL);

  self = g_new0 (WbLiveOutbox, 1);
  self->bound = bound;
  self->hard_limit = hard_limit;
  return self;
}

void
wb_live_outbox_item_free (WbLiveOutboxItem *item)
{
  if (item == NULL)
    return;
  g_clear_pointer (&item->vehicle, wb_live_vehicle_unref);
  g_clear_pointer (&item->vehicle_id, g_free);
  g_free (item);
}

static void
slot_clear (Slot *slot)
{
  g_clear_pointer (&slot->item.vehicle, wb_live_vehicle_unref);
  g_clear_pointer (&slot->id_holder, wb_live_vehicle_unref);
  g_clear_pointer (&slot->owned_id, g_free);
}

static void
table_insert (WbLiveOutbox *self,
              guint         index)
{
  guint mask = self->table_size - 1;
  guint position = self->slots[index].hash & mask;

  while (self->table[position] != 0)
    position = (position + 1) & mask;
  self->table[position] = index + 1;
  self->slots[index].table_position = position;
}

static void
table_rebuild (WbLiveOutbox *self,
               guint         size)
{
  g_free (self->table);
  self->table_size = size;
  self->table = g_new0 (guint32, size);
  for (guint i = 0; i < self->length; i++)
    table_insert (self, i);
}

static Slot *
table_lookup (WbLiveOutbox *self,
              const char   *vehicle_id,
              guint         hash)
{
  guint mask = self->table_size - 1;

  for (guint position = hash & mask; self->table_size > 0 && self->table[position] != 0;
       position = (position + 1) & mask)
    {
      Slot *slot = &self->slots[self->table[position] - 1];

      if (slot->hash == hash && strcmp (slot->item.vehicle_id, vehicle_id) == 0)
        return slot;
    }
  return NULL;
}

/* Empties the outbox, keeping its arrays unless they have grown far
 * beyond what the recent frames needed (a client that zoomed out once). */
static void
clear_pending (WbLiveOutbox *self)
{
  for (guint i = 0; i < self->length; i++)
    {
      self->table[self->slots[i].table_position] = 0;
      slot_clear (&self->slots[i]);
    }
  self->peak = MAX (self->peak, self->length);
  self->length = 0;
  if (++self->clears < SHRINK_EVERY)
    return;
  if (self->slots_size > TABLE_MIN * SHRINK_SLACK && self->peak * SHRINK_SLACK < self->slots_size)
    {
      g_clear_pointer (&self->slots, g_free);
      g_clear_pointer (&self->table, g_free);
      self->slots_size = self->table_size = 0;
    }
  self->peak = self->clears = 0;
}

void
wb_live_outbox_free (WbLiveOutbox *self)
{
  if (self == NULL)
    return;
  clear_pending (self);
  g_free (self->slots);
  g_free (self->table);
  g_free (self);
}

/* ENTERED then LEFT in one window: the client never hears of it. Rare, so
 * the order is kept by moving the later slots down. */
static void
forget (WbLiveOutbox *self,
        Slot         *slot)
{
  guint index = slot - self->slots;

  slot_clear (slot);
  memmove (slot, slot + 1, (self->length - index - 1) * sizeof (Slot));
  self->length--;
  memset (self->table, 0, self->table_size * sizeof (guint32));
  for (guint i = 0; i < self->length; i++)
    table_insert (self, i);
}

static void
add_pending (WbLiveOutbox     *self,
             WbLiveOutboxKind  kind,
             const char       *vehicle_id,
             guint             hash,
             WbLiveVehicle    *vehicle,
             guint64           seq)
{
  Slot *slot;

  if (self->length == self->slots_size)
    {
      self->slots_size = MAX (TABLE_MIN, self->slots_size * 2);
      self->slots = g_renew (Slot, self->slots, self->slots_size);
    }
  if ((self->length + 1) * 2 > self->table_size)
    table_rebuild (self, MAX (TABLE_MIN, self->table_size * 2));
  slot = &self->slots[self->length];
  *slot = (Slot) { .item = { .kind = kind, .seq = seq }, .hash = hash };
  if (kind != WB_LIVE_OUTBOX_LEFT && vehicle != NULL)
    slot->item.vehicle = wb_live_vehicle_ref (vehicle);
  /* The vehicle's own id when that is the one given (the fan-out's
   * case): no copy, and no second reference while the item holds the
   * state anyway. */
  if (vehicle != NULL && vehicle->vehicle_id == vehicle_id)
    {
      if (slot->item.vehicle == NULL)
        slot->id_holder = wb_live_vehicle_ref (vehicle);
      slot->item.vehicle_id = vehicle->vehicle_id;
    }
  else
    slot->item.vehicle_id = slot->owned_id = g_strdup (vehicle_id);
  table_insert (self, self->length++);
}

/* The state the item's id lies in is let go: its id then lies in the
 * new state, when that is the one given, else the old one is kept for it. */
static void
replace_state (Slot          *slot,
               const char    *vehicle_id,
               WbLiveVehicle *vehicle)
{
  WbLiveVehicle *old = g_steal_pointer (&slot->item.vehicle);

  slot->item.vehicle = vehicle != NULL ? wb_live_vehicle_ref (vehicle) : NULL;
  if (old == NULL)
    return;
  if (slot->owned_id != NULL || slot->id_holder != NULL)
    wb_live_vehicle_unref (old);
  else if (vehicle != NULL && vehicle->vehicle_id == vehicle_id)
    {
      slot->item.vehicle_id = vehicle->vehicle_id;
      wb_live_vehicle_unref (old);
    }
  else
    slot->id_holder = old;
}

/* The coalescing rules of the header's table. */
static void
coalesce (WbLiveOutbox     *self,
          Slot             *slot,
          WbLiveOutboxKind  kind,
          const char       *vehicle_id,
          WbLiveVehicle    *vehicle,
          guint64           seq)
{
  WbLiveOutboxItem *pending = &slot->item;

  if (kind == WB_LIVE_OUTBOX_LEFT && pending->kind == WB_LIVE_OUTBOX_ENTERED)
    {
      forget (self, slot);
      return;
    }
  if (kind == WB_LIVE_OUTBOX_LEFT)
    {
      pending->kind = WB_LIVE_OUTBOX_LEFT;
      replace_state (slot, vehicle_id, NULL);
    }
  else
    {
      if (pending->kind != WB_LIVE_OUTBOX_ENTERED)
        pending->kind = WB_LIVE_OUTBOX_UPDATE;
      replace_state (slot, vehicle_id, vehicle);
    }
  pending->seq = MAX (pending->seq, seq);
}

gboolean
wb_live_outbox_push (WbLiveOutbox     *self,
                     WbLiveOutboxKind  kind,
                     const char       *vehicle_id,
                     WbLiveVehicle    *vehicle,
                     guint64           seq)
{
  Slot *pending;
  guint hash;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (vehicle_id != NULL, FALSE);
  g_return_val_if_fail (kind == WB_LIVE_OUTBOX_LEFT || vehicle != NULL, FALSE);

  if (self->overflowed)
    return FALSE;
  self->seq = MAX (self->seq, seq);
  hash = g_str_hash (vehicle_id);
  pending = table_lookup (self, vehicle_id, hash);
  if (pending != NULL)
    coalesce (self, pending, kind, vehicle_id, vehicle, seq);
  else
    add_pending (self, kind, vehicle_id, hash, vehicle, seq);
  /* Past the hard limit the client cannot be brought up to date by
   * updates any more; holding more would only grow the daemon. */
  if (self->length > self->hard_limit)
    {
      clear_pending (self);
      self->overflowed = TRUE;
    }
  return !wb_live_outbox_is_over_bound (self);
}

guint
wb_live_outbox_get_length (WbLiveOutbox *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->length;
}

gboolean
wb_live_outbox_is_over_bound (WbLiveOutbox *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->overflowed || self->length > self->bound;
}

gboolean
wb_live_outbox_is_overflowed (WbLiveOutbox *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->overflowed;
}

guint64
wb_live_outbox_get_seq (WbLiveOutbox *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->seq;
}

const WbLiveOutboxItem *
wb_live_outbox_peek_nth (WbLiveOutbox *self,
                         guint         index)
{
  g_return_val_if_fail (self != NULL && index < self->length, NULL);

  return &self->slots[index].item;
}

void
wb_live_outbox_clear (WbLiveOutbox *self)
{
  g_return_if_fail (self != NULL);

  clear_pending (self);
}

GPtrArray *
wb_live_outbox_drain (WbLiveOutbox *self)
{
  GPtrArray *batch;

  g_return_val_if_fail (self != NULL, NULL);

  if (self->length == 0)
    return NULL;
  batch = g_ptr_array_new_full (self->length, (GDestroyNotify) wb_live_outbox_item_free);
  for (guint i = 0; i < self->length; i++)
    {
      const WbLiveOutboxItem *pending = &self->slots[i].item;
      WbLiveOutboxItem *item = g_new (WbLiveOutboxItem, 1);

      *item = (WbLiveOutboxItem) {
        .kind = pending->kind, .vehicle_id = g_strdup (pending->vehicle_id),
        .vehicle = pending->vehicle ? wb_live_vehicle_ref (pending->vehicle) : NULL, .seq = pending->seq,
      };
      g_ptr_array_add (batch, item);
    }
  clear_pending (self);
  return batch;
}

const char *
wb_live_outbox_kind_to_string (WbLiveOutboxKind kind)
{
  g_return_val_if_fail ((guint) kind < G_N_ELEMENTS (kind_names), NULL);

  return kind_names[kind];
}
