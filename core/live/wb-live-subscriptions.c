// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include "wb-live-index-private.h"
#include "wb-live-subscriptions.h"

/* A view covering more cells than this (about 0.4° x 0.4°, a large city)
 * goes to the wide list rather than into every cell: a whole-fleet view
 * would otherwise fill hundreds of millions of cells. */
#define WIDE_VIEW_CELLS 1600

typedef struct
{
  guint64          id;
  WbLiveView      *view;
  WbLiveCellRange  range;
  gboolean         wide;
  gpointer         data;
} Subscription;

/* A cell's list holds each subscription's bbox beside it: most of the
 * subscriptions a change looks at are rejected by their bbox alone, read
 * in one pass over the cell's array rather than one view at a time. */
typedef struct
{
  WbLiveBbox    bbox;
  Subscription *subscription;
} CellEntry;

struct _WbLiveSubscriptions
{
  GObject     parent_instance;

  GRWLock     lock;
  GHashTable *by_id;   /* &Subscription.id -> Subscription */
  GHashTable *cells;   /* cell number -> GArray of CellEntry */
  GPtrArray  *wide;    /* Subscription */
};

G_DEFINE_FINAL_TYPE (WbLiveSubscriptions, wb_live_subscriptions, G_TYPE_OBJECT)

static void
subscription_free (gpointer data)
{
  Subscription *subscription = data;

  g_clear_pointer (&subscription->view, wb_live_view_free);
  g_free (subscription);
}

static void
wb_live_subscriptions_finalize (GObject *object)
{
  WbLiveSubscriptions *self = WB_LIVE_SUBSCRIPTIONS (object);

  g_clear_pointer (&self->wide, g_ptr_array_unref);
  g_clear_pointer (&self->cells, g_hash_table_unref);
  g_clear_pointer (&self->by_id, g_hash_table_unref);
  g_rw_lock_clear (&self->lock);

  G_OBJECT_CLASS (wb_live_subscriptions_parent_class)->finalize (object);
}

static void
wb_live_subscriptions_class_init (WbLiveSubscriptionsClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = wb_live_subscriptions_finalize;
}

static void
wb_live_subscriptions_init (WbLiveSubscriptions *self)
{
  g_rw_lock_init (&self->lock);
  self->by_id = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, subscription_free);
  self->cells = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) g_array_unref);
  self->wide = g_ptr_array_new ();
}

WbLiveSubscriptions *
wb_live_subscriptions_new (void)
{
  return g_object_new (WB_TYPE_LIVE_SUBSCRIPTIONS, NULL);
}

guint
wb_live_subscriptions_get_size (WbLiveSubscriptions *self)
{
  guint size;

  g_return_val_if_fail (WB_IS_LIVE_SUBSCRIPTIONS (self), 0);

  g_rw_lock_reader_lock (&self->lock);
  size = g_hash_table_size (self->by_id);
  g_rw_lock_reader_unlock (&self->lock);
  return size;
}

static void
grid_add (WbLiveSubscriptions *self,
          Subscription        *subscription)
{
  const WbLiveCellRange *range = &subscription->range;

  if (subscription->wide)
    {
      g_ptr_array_add (self->wide, subscription);
      return;
    }
  for (guint row = range->row_min; row <= range->row_max; row++)
    for (guint column = range->column_min; column <= range->column_max; column++)
      {
        gpointer key = GUINT_TO_POINTER (_wb_live_cell_number (&_wb_live_view_grid, row, column));
        GArray *cell = g_hash_table_lookup (self->cells, key);
        CellEntry entry = { subscription->view->bbox, subscription };

        if (cell == NULL)
          g_hash_table_insert (self->cells, key, cell = g_array_new (FALSE, FALSE, sizeof (CellEntry)));
        g_array_append_val (cell, entry);
      }
}

static void
grid_remove (WbLiveSubscriptions *self,
             Subscription        *subscription)
{
  const WbLiveCellRange *range = &subscription->range;

  if (subscription->wide)
    {
      g_ptr_array_remove_fast (self->wide, subscription);
      return;
    }
  for (guint row = range->row_min; row <= range->row_max; row++)
    for (guint column = range->column_min; column <= range->column_max; column++)
      {
        gpointer key = GUINT_TO_POINTER (_wb_live_cell_number (&_wb_live_view_grid, row, column));
        GArray *cell = g_hash_table_lookup (self->cells, key);
        guint i = 0;

        g_assert (cell != NULL);
        while (i < cell->len && g_array_index (cell, CellEntry, i).subscription != subscription)
          i++;
        g_assert (i < cell->len);
        g_array_remove_index_fast (cell, i);
        if (cell->len == 0)
          g_hash_table_remove (self->cells, key);
      }
}

void
wb_live_subscriptions_set (WbLiveSubscriptions *self,
                           guint64              subscription_id,
                           const WbLiveView    *view,
                           gpointer             data)
{
  Subscription *subscription;
  guint64 cells;

  g_return_if_fail (WB_IS_LIVE_SUBSCRIPTIONS (self));
  g_return_if_fail (view != NULL);
  g_return_if_fail (wb_live_bbox_validate (&view->bbox, NULL));

  g_rw_lock_writer_lock (&self->lock);
  subscription = g_hash_table_lookup (self->by_id, &subscription_id);
  if (subscription != NULL)
    {
      grid_remove (self, subscription);
      wb_live_view_free (subscription->view);
    }
  else
    {
      subscription = g_new0 (Subscription, 1);
      subscription->id = subscription_id;
      g_hash_table_insert (self->by_id, &subscription->id, subscription);
    }
  subscription->view = wb_live_view_copy (view);
  subscription->data = data;
  _wb_live_cell_range (&_wb_live_view_grid, &view->bbox, &subscription->range);
  cells = (guint64) (subscription->range.column_max - subscription->range.column_min + 1)
          * (subscription->range.row_max - subscription->range.row_min + 1);
  subscription->wide = cells > WIDE_VIEW_CELLS;
  grid_add (self, subscription);
  g_rw_lock_writer_unlock (&self->lock);
}

gboolean
wb_live_subscriptions_remove (WbLiveSubscriptions *self,
                              guint64              subscription_id)
{
  Subscription *subscription;

  g_return_val_if_fail (WB_IS_LIVE_SUBSCRIPTIONS (self), FALSE);

  g_rw_lock_writer_lock (&self->lock);
  subscription = g_hash_table_lookup (self->by_id, &subscription_id);
  if (subscription != NULL)
    {
      grid_remove (self, subscription);
      g_hash_table_remove (self->by_id, &subscription_id);
    }
  g_rw_lock_writer_unlock (&self->lock);
  return subscription != NULL;
}

WbLiveView *
wb_live_subscriptions_lookup (WbLiveSubscriptions *self,
                              guint64              subscription_id)
{
  WbLiveView *view = NULL;
  Subscription *subscription;

  g_return_val_if_fail (WB_IS_LIVE_SUBSCRIPTIONS (self), NULL);

  g_rw_lock_reader_lock (&self->lock);
  subscription = g_hash_table_lookup (self->by_id, &subscription_id);
  if (subscription != NULL)
    view = wb_live_view_copy (subscription->view);
  g_rw_lock_reader_unlock (&self->lock);
  return view;
}

static gboolean
judge (Subscription        *subscription,
       const WbLiveVehicle *old_state,
       const WbLiveVehicle *new_state,
       guint                skip_cell,
       GArray              *out_matches)
{
  WbLiveSubscriptionMatch match = { subscription->id, WB_LIVE_MATCH_NONE, subscription->data };

  /* Listed in both cells: already judged with the other one. */
  if (_wb_live_cell_range_has (&_wb_live_view_grid, &subscription->range, skip_cell))
    return FALSE;
  match.match = wb_live_view_classify (subscription->view, old_state, new_state);
  if (match.match == WB_LIVE_MATCH_NONE)
    return FALSE;
  g_array_append_val (out_matches, match);
  return TRUE;
}

static gboolean
near (const WbLiveBbox    *bbox,
      const WbLiveVehicle *state)
{
  return state != NULL && wb_live_bbox_contains (bbox, state->lon, state->lat);
}

static guint
match_cell (GArray              *cell,
            const WbLiveVehicle *old_state,
            const WbLiveVehicle *new_state,
            guint                skip_cell,
            GArray              *out_matches)
{
  guint added = 0;

  for (guint i = 0; cell != NULL && i < cell->len; i++)
    {
      const CellEntry *entry = &g_array_index (cell, CellEntry, i);

      if ((near (&entry->bbox, new_state) || near (&entry->bbox, old_state))
          && judge (entry->subscription, old_state, new_state, skip_cell, out_matches))
        added++;
    }
  return added;
}

static guint
match_wide (GPtrArray           *subscriptions,
            const WbLiveVehicle *old_state,
            const WbLiveVehicle *new_state,
            GArray              *out_matches)
{
  guint added = 0;

  for (guint i = 0; i < subscriptions->len; i++)
    added += judge (g_ptr_array_index (subscriptions, i), old_state, new_state, 0, out_matches);
  return added;
}

static GArray *
cell_subscribers (WbLiveSubscriptions *self,
                  guint                cell)
{
  if (cell == 0)
    return NULL;
  return g_hash_table_lookup (self->cells, GUINT_TO_POINTER (cell));
}

/* A subscription concerned by a change has the old or the new position
 * inside its bbox, so it is listed in the old cell, the new cell or the
 * wide list: nothing else is looked at. */
guint
wb_live_subscriptions_match (WbLiveSubscriptions *self,
                             const WbLiveVehicle *old_state,
                             const WbLiveVehicle *new_state,
                             GArray              *out_matches)
{
  guint old_cell, new_cell, added;

  g_return_val_if_fail (WB_IS_LIVE_SUBSCRIPTIONS (self), 0);
  g_return_val_if_fail (out_matches != NULL, 0);
  g_return_val_if_fail (g_array_get_element_size (out_matches) == sizeof (WbLiveSubscriptionMatch), 0);

  old_cell = old_state != NULL ? _wb_live_cell_of (&_wb_live_view_grid, old_state->lon, old_state->lat) : 0;
  new_cell = new_state != NULL ? _wb_live_cell_of (&_wb_live_view_grid, new_state->lon, new_state->lat) : 0;
  g_rw_lock_reader_lock (&self->lock);
  added = match_cell (cell_subscribers (self, new_cell), old_state, new_state, 0, out_matches);
  if (old_cell != new_cell)
    added += match_cell (cell_subscribers (self, old_cell), old_state, new_state, new_cell, out_matches);
  added += match_wide (self->wide, old_state, new_state, out_matches);
  g_rw_lock_reader_unlock (&self->lock);
  return added;
}
