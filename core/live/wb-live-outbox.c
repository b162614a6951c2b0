// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include "wb-live-outbox.h"

/* An item while it is pending: the public item first, so that
 * wb_live_outbox_item_free() frees the whole allocation, and its link in
 * the order of arrival. */
typedef struct
{
  WbLiveOutboxItem item;
  GList            link;
} Pending;

struct _WbLiveOutbox
{
  guint       bound;
  guint       hard_limit;
  gboolean    overflowed;
  guint64     seq;
  GHashTable *by_vehicle;   /* item's vehicle id -> Pending */
  GQueue      order;        /* of Pending.link */
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
  self->by_vehicle = g_hash_table_new (g_str_hash, g_str_equal);
  g_queue_init (&self->order);
  return self;
}

void
wb_live_outbox_item_free (WbLiveOutboxItem *item)
{
  if (item == NULL)
    return;
  g_clear_pointer (&item->vehicle, wb_live_vehicle_unref);
  g_clear_pointer (&item->vehicle_id, g_free);
  g_free ((Pending *) item);
}

static void
clear_pending (WbLiveOutbox *self)
{
  GList *link;

  g_hash_table_remove_all (self->by_vehicle);
  while ((link = g_queue_pop_head_link (&self->order)) != NULL)
    wb_live_outbox_item_free (link->data);
}

void
wb_live_outbox_free (WbLiveOutbox *self)
{
  if (self == NULL)
    return;
  clear_pending (self);
  g_hash_table_unref (self->by_vehicle);
  g_free (self);
}

static void
forget (WbLiveOutbox *self,
        Pending      *pending)
{
  g_hash_table_remove (self->by_vehicle, pending->item.vehicle_id);
  g_queue_unlink (&self->order, &pending->link);
  wb_live_outbox_item_free (&pending->item);
}

static void
add_pending (WbLiveOutbox     *self,
             WbLiveOutboxKind  kind,
             const char       *vehicle_id,
             WbLiveVehicle    *vehicle,
             guint64           seq)
{
  Pending *pending = g_new0 (Pending, 1);

  pending->item.kind = kind;
  pending->item.vehicle_id = g_strdup (vehicle_id);
  pending->item.vehicle = kind != WB_LIVE_OUTBOX_LEFT && vehicle != NULL ? wb_live_vehicle_ref (vehicle) : NULL;
  pending->item.seq = seq;
  pending->link.data = pending;
  g_hash_table_insert (self->by_vehicle, pending->item.vehicle_id, pending);
  g_queue_push_tail_link (&self->order, &pending->link);
}

/* The coalescing rules of the header's table. */
static void
coalesce (WbLiveOutbox     *self,
          Pending          *pending,
          WbLiveOutboxKind  kind,
          WbLiveVehicle    *vehicle,
          guint64           seq)
{
  if (kind == WB_LIVE_OUTBOX_LEFT && pending->item.kind == WB_LIVE_OUTBOX_ENTERED)
    {
      forget (self, pending);
      return;
    }
  g_clear_pointer (&pending->item.vehicle, wb_live_vehicle_unref);
  if (kind == WB_LIVE_OUTBOX_LEFT)
    pending->item.kind = WB_LIVE_OUTBOX_LEFT;
  else
    {
      if (pending->item.kind != WB_LIVE_OUTBOX_ENTERED)
        pending->item.kind = WB_LIVE_OUTBOX_UPDATE;
      pending->item.vehicle = vehicle != NULL ? wb_live_vehicle_ref (vehicle) : NULL;
    }
  pending->item.seq = MAX (pending->item.seq, seq);
}

gboolean
wb_live_outbox_push (WbLiveOutbox     *self,
                     WbLiveOutboxKind  kind,
                     const char       *vehicle_id,
                     WbLiveVehicle    *vehicle,
                     guint64           seq)
{
  Pending *pending;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (vehicle_id != NULL, FALSE);
  g_return_val_if_fail (kind == WB_LIVE_OUTBOX_LEFT || vehicle != NULL, FALSE);

  if (self->overflowed)
    return FALSE;
  self->seq = MAX (self->seq, seq);
  pending = g_hash_table_lookup (self->by_vehicle, vehicle_id);
  if (pending != NULL)
    coalesce (self, pending, kind, vehicle, seq);
  else
    add_pending (self, kind, vehicle_id, vehicle, seq);
  /* Past the hard limit the client cannot be brought up to date by
   * updates any more; holding more would only grow the daemon. */
  if (self->order.length > self->hard_limit)
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

  return self->order.length;
}

gboolean
wb_live_outbox_is_over_bound (WbLiveOutbox *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->overflowed || self->order.length > self->bound;
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

GPtrArray *
wb_live_outbox_drain (WbLiveOutbox *self)
{
  GPtrArray *batch;
  GList *link;

  g_return_val_if_fail (self != NULL, NULL);

  if (self->order.length == 0)
    return NULL;
  batch = g_ptr_array_new_full (self->order.length, (GDestroyNotify) wb_live_outbox_item_free);
  g_hash_table_remove_all (self->by_vehicle);
  while ((link = g_queue_pop_head_link (&self->order)) != NULL)
    g_ptr_array_add (batch, link->data);
  return batch;
}

const char *
wb_live_outbox_kind_to_string (WbLiveOutboxKind kind)
{
  g_return_val_if_fail ((guint) kind < G_N_ELEMENTS (kind_names), NULL);

  return kind_names[kind];
}
