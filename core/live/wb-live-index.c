// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include "wb-live-index-private.h"

/* One vehicle in the index: its current state and where it sits in the
 * grid, so a move is two O(1) array operations. */
typedef struct
{
  WbLiveVehicle *vehicle;
  guint          cell;    /* 0: not in the grid */
  guint          slot;    /* index in its cell's array */
} Entry;

struct _WbLiveIndex
{
  GObject     parent_instance;

  GRWLock     lock;
  GHashTable *by_id;     /* vehicle id (the entry's state's) -> Entry */
  GHashTable *cells;     /* cell number -> GPtrArray of Entry, only cells with vehicles */
  GHashTable *on_trip;   /* Entry set: vehicles with a trip, the default answer */
};

/* A cell holds copies of its vehicles' positions next to their entries:
 * a bbox test reads one contiguous array and follows a pointer only for
 * the vehicles it keeps. */
typedef struct
{
  double  lon;
  double  lat;
  Entry  *entry;
} CellItem;

G_DEFINE_FINAL_TYPE (WbLiveIndex, wb_live_index, G_TYPE_OBJECT)

static void
entry_free (gpointer data)
{
  Entry *entry = data;

  g_clear_pointer (&entry->vehicle, wb_live_vehicle_unref);
  g_free (entry);
}

static void
wb_live_index_finalize (GObject *object)
{
  WbLiveIndex *self = WB_LIVE_INDEX (object);

  g_clear_pointer (&self->on_trip, g_hash_table_unref);
  g_clear_pointer (&self->cells, g_hash_table_unref);
  g_clear_pointer (&self->by_id, g_hash_table_unref);
  g_rw_lock_clear (&self->lock);

  G_OBJECT_CLASS (wb_live_index_parent_class)->finalize (object);
}

static void
wb_live_index_class_init (WbLiveIndexClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = wb_live_index_finalize;
}

static void
wb_live_index_init (WbLiveIndex *self)
{
  g_rw_lock_init (&self->lock);
  /* Keys are the entry's own state's id: replaced with the state (see
   * entry_set_vehicle()), never freed by the table. */
  self->by_id = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, entry_free);
  self->cells = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) g_array_unref);
  self->on_trip = g_hash_table_new (NULL, NULL);
}

WbLiveIndex *
wb_live_index_new (void)
{
  return g_object_new (WB_TYPE_LIVE_INDEX, NULL);
}

guint
wb_live_index_get_size (WbLiveIndex *self)
{
  guint size;

  g_return_val_if_fail (WB_IS_LIVE_INDEX (self), 0);

  g_rw_lock_reader_lock (&self->lock);
  size = g_hash_table_size (self->by_id);
  g_rw_lock_reader_unlock (&self->lock);
  return size;
}

static void
grid_remove (WbLiveIndex *self,
             Entry       *entry)
{
  GArray *cell;

  if (entry->cell == 0)
    return;
  cell = g_hash_table_lookup (self->cells, GUINT_TO_POINTER (entry->cell));
  g_assert (cell != NULL && g_array_index (cell, CellItem, entry->slot).entry == entry);
  g_array_remove_index_fast (cell, entry->slot);
  if (entry->slot < cell->len)
    g_array_index (cell, CellItem, entry->slot).entry->slot = entry->slot;
  if (cell->len == 0)
    g_hash_table_remove (self->cells, GUINT_TO_POINTER (entry->cell));
  entry->cell = 0;
}

static void
grid_insert (WbLiveIndex *self,
             Entry       *entry,
             guint        cell_number)
{
  CellItem item = { entry->vehicle->lon, entry->vehicle->lat, entry };
  GArray *cell;

  entry->cell = cell_number;
  if (cell_number == 0)
    return;
  cell = g_hash_table_lookup (self->cells, GUINT_TO_POINTER (cell_number));
  if (cell == NULL)
    {
      cell = g_array_new (FALSE, FALSE, sizeof (CellItem));
      g_hash_table_insert (self->cells, GUINT_TO_POINTER (cell_number), cell);
    }
  entry->slot = cell->len;
  g_array_append_val (cell, item);
}

/* Puts @vehicle in @entry (taking a reference) and returns the state it
 * replaces. */
static WbLiveVehicle *
entry_set_vehicle (WbLiveIndex   *self,
                   Entry         *entry,
                   WbLiveVehicle *vehicle)
{
  WbLiveVehicle *old_state = g_steal_pointer (&entry->vehicle);
  guint cell = _wb_live_cell_of (&_wb_live_vehicle_grid, vehicle->lon, vehicle->lat);

  entry->vehicle = wb_live_vehicle_ref (vehicle);
  /* The key must be the id of the state the entry holds. */
  g_hash_table_steal (self->by_id, vehicle->vehicle_id);
  g_hash_table_insert (self->by_id, entry->vehicle->vehicle_id, entry);
  if (cell != entry->cell)
    {
      grid_remove (self, entry);
      grid_insert (self, entry, cell);
    }
  else if (cell != 0)
    {
      GArray *items = g_hash_table_lookup (self->cells, GUINT_TO_POINTER (cell));
      CellItem *item = &g_array_index (items, CellItem, entry->slot);

      item->lon = vehicle->lon;
      item->lat = vehicle->lat;
    }
  if (vehicle->trip_id != NULL)
    g_hash_table_add (self->on_trip, entry);
  else
    g_hash_table_remove (self->on_trip, entry);
  return old_state;
}

WbLiveVehicle *
wb_live_index_lookup (WbLiveIndex *self,
                      const char  *vehicle_id)
{
  WbLiveVehicle *vehicle = NULL;
  Entry *entry;

  g_return_val_if_fail (WB_IS_LIVE_INDEX (self), NULL);
  g_return_val_if_fail (vehicle_id != NULL, NULL);

  g_rw_lock_reader_lock (&self->lock);
  entry = g_hash_table_lookup (self->by_id, vehicle_id);
  if (entry != NULL)
    vehicle = wb_live_vehicle_ref (entry->vehicle);
  g_rw_lock_reader_unlock (&self->lock);
  return vehicle;
}

WbLiveVehicle *
wb_live_index_update (WbLiveIndex   *self,
                      WbLiveVehicle *vehicle)
{
  WbLiveVehicle *old_state;
  Entry *entry;

  g_return_val_if_fail (WB_IS_LIVE_INDEX (self), NULL);
  g_return_val_if_fail (vehicle != NULL && vehicle->vehicle_id != NULL, NULL);

  g_rw_lock_writer_lock (&self->lock);
  entry = g_hash_table_lookup (self->by_id, vehicle->vehicle_id);
  if (entry == NULL)
    entry = g_new0 (Entry, 1);
  old_state = entry_set_vehicle (self, entry, vehicle);
  g_rw_lock_writer_unlock (&self->lock);
  return old_state;
}

gboolean
wb_live_index_update_if_newer (WbLiveIndex    *self,
                               WbLiveVehicle  *vehicle,
                               WbLiveVehicle **out_old)
{
  g_autoptr(WbLiveVehicle) old_state = NULL;
  gboolean applied;
  Entry *entry;

  g_return_val_if_fail (WB_IS_LIVE_INDEX (self), FALSE);
  g_return_val_if_fail (vehicle != NULL && vehicle->vehicle_id != NULL, FALSE);

  g_rw_lock_writer_lock (&self->lock);
  entry = g_hash_table_lookup (self->by_id, vehicle->vehicle_id);
  applied = entry == NULL || vehicle->fix_time == 0 || vehicle->fix_time >= entry->vehicle->fix_time;
  if (applied)
    {
      if (entry == NULL)
        entry = g_new0 (Entry, 1);
      old_state = entry_set_vehicle (self, entry, vehicle);
    }
  g_rw_lock_writer_unlock (&self->lock);
  if (out_old != NULL)
    *out_old = g_steal_pointer (&old_state);
  return applied;
}

gboolean
wb_live_index_set_state (WbLiveIndex    *self,
                         const char     *vehicle_id,
                         WbLiveState     state,
                         gint64          server_time,
                         WbLiveVehicle **out_old,
                         WbLiveVehicle **out_new)
{
  g_autoptr(WbLiveVehicle) new_state = NULL;
  g_autoptr(WbLiveVehicle) old_state = NULL;
  Entry *entry;

  g_return_val_if_fail (WB_IS_LIVE_INDEX (self), FALSE);
  g_return_val_if_fail (vehicle_id != NULL, FALSE);

  g_rw_lock_writer_lock (&self->lock);
  entry = g_hash_table_lookup (self->by_id, vehicle_id);
  if (entry != NULL)
    {
      new_state = wb_live_vehicle_copy (entry->vehicle);
      new_state->state = state;
      if (server_time != 0)
        new_state->server_time = server_time;
      old_state = entry_set_vehicle (self, entry, new_state);
    }
  g_rw_lock_writer_unlock (&self->lock);
  if (out_old != NULL)
    *out_old = g_steal_pointer (&old_state);
  if (out_new != NULL)
    *out_new = g_steal_pointer (&new_state);
  return entry != NULL;
}

WbLiveVehicle *
wb_live_index_remove (WbLiveIndex *self,
                      const char  *vehicle_id)
{
  WbLiveVehicle *old_state = NULL;
  Entry *entry;

  g_return_val_if_fail (WB_IS_LIVE_INDEX (self), NULL);
  g_return_val_if_fail (vehicle_id != NULL, NULL);

  g_rw_lock_writer_lock (&self->lock);
  entry = g_hash_table_lookup (self->by_id, vehicle_id);
  if (entry != NULL)
    {
      old_state = wb_live_vehicle_ref (entry->vehicle);
      grid_remove (self, entry);
      g_hash_table_remove (self->on_trip, entry);
      g_hash_table_remove (self->by_id, vehicle_id);
    }
  g_rw_lock_writer_unlock (&self->lock);
  return old_state;
}

static gboolean
query_is_empty (const WbLiveQuery *query)
{
  return !query->has_bbox && !query->has_state && !query->trip_active
         && (query->company_ids == NULL || query->company_ids[0] == NULL)
         && (query->vehicle_ids == NULL || query->vehicle_ids[0] == NULL);
}

static gboolean
query_matches (const WbLiveQuery   *query,
               const WbLiveVehicle *vehicle)
{
  if (query->has_bbox && !wb_live_bbox_contains (&query->bbox, vehicle->lon, vehicle->lat))
    return FALSE;
  if (query->has_state && vehicle->state != query->state)
    return FALSE;
  if (query->trip_active && vehicle->trip_id == NULL)
    return FALSE;
  if (query->company_ids != NULL && query->company_ids[0] != NULL
      && (vehicle->company_id == NULL || !g_strv_contains (query->company_ids, vehicle->company_id)))
    return FALSE;
  if (query->vehicle_ids != NULL && query->vehicle_ids[0] != NULL
      && !g_strv_contains (query->vehicle_ids, vehicle->vehicle_id))
    return FALSE;
  return TRUE;
}

static void
collect_if_matches (const WbLiveQuery *query,
                    Entry             *entry,
                    GPtrArray         *out)
{
  if (query_matches (query, entry->vehicle))
    g_ptr_array_add (out, wb_live_vehicle_ref (entry->vehicle));
}

static void
collect_table (const WbLiveQuery *query,
               GHashTable        *entries,
               gboolean           keys_are_entries,
               GPtrArray         *out)
{
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, entries);
  while (g_hash_table_iter_next (&iter, &key, &value))
    collect_if_matches (query, keys_are_entries ? key : value, out);
}

static void
collect_cell (const WbLiveQuery *query,
              GArray            *cell,
              GPtrArray         *out)
{
  for (guint i = 0; i < cell->len; i++)
    {
      const CellItem *item = &g_array_index (cell, CellItem, i);

      if (wb_live_bbox_contains (&query->bbox, item->lon, item->lat))
        collect_if_matches (query, item->entry, out);
    }
}

/* Visits the cells the bbox covers; when they outnumber the cells that
 * hold any vehicle (a continent-wide view), the occupied cells instead. */
static void
collect_grid (WbLiveIndex       *self,
              const WbLiveQuery *query,
              GPtrArray         *out)
{
  WbLiveCellRange range;
  guint64 covered;
  GHashTableIter iter;
  gpointer key, value;

  _wb_live_cell_range (&_wb_live_vehicle_grid, &query->bbox, &range);
  covered = (guint64) (range.column_max - range.column_min + 1) * (range.row_max - range.row_min + 1);
  if (covered > g_hash_table_size (self->cells))
    {
      g_hash_table_iter_init (&iter, self->cells);
      while (g_hash_table_iter_next (&iter, &key, &value))
        if (_wb_live_cell_range_has (&_wb_live_vehicle_grid, &range, GPOINTER_TO_UINT (key)))
          collect_cell (query, value, out);
      return;
    }
  for (guint row = range.row_min; row <= range.row_max; row++)
    for (guint column = range.column_min; column <= range.column_max; column++)
      {
        guint cell_number = _wb_live_cell_number (&_wb_live_vehicle_grid, row, column);
        GArray *cell = g_hash_table_lookup (self->cells, GUINT_TO_POINTER (cell_number));

        if (cell != NULL)
          collect_cell (query, cell, out);
      }
}

static void
collect_ids (WbLiveIndex       *self,
             const WbLiveQuery *query,
             GPtrArray         *out)
{
  for (guint i = 0; query->vehicle_ids[i] != NULL; i++)
    {
      Entry *entry = g_hash_table_lookup (self->by_id, query->vehicle_ids[i]);

      /* A repeated id must not answer the vehicle twice. */
      if (entry != NULL && !g_strv_contains (query->vehicle_ids + i + 1, query->vehicle_ids[i]))
        collect_if_matches (query, entry, out);
    }
}

/* Picks the narrowest index the query allows, then applies every filter
 * to what it yields. Called with the lock held. */
static void
collect (WbLiveIndex       *self,
         const WbLiveQuery *query,
         GPtrArray         *out)
{
  if (query->vehicle_ids != NULL && query->vehicle_ids[0] != NULL)
    collect_ids (self, query, out);
  else if (query->has_bbox)
    collect_grid (self, query, out);
  else if (query->trip_active)
    collect_table (query, self->on_trip, TRUE, out);
  else
    collect_table (query, self->by_id, FALSE, out);
}

GPtrArray *
wb_live_index_query (WbLiveIndex       *self,
                     const WbLiveQuery *query,
                     GError           **error)
{
  g_autoptr(GPtrArray) out = NULL;
  WbLiveQuery effective;

  g_return_val_if_fail (WB_IS_LIVE_INDEX (self), NULL);
  g_return_val_if_fail (query != NULL, NULL);

  if (query->has_bbox && !wb_live_bbox_validate (&query->bbox, error))
    return NULL;
  effective = *query;
  if (query_is_empty (query))
    effective.trip_active = TRUE;
  out = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_live_vehicle_unref);
  g_rw_lock_reader_lock (&self->lock);
  collect (self, &effective, out);
  g_rw_lock_reader_unlock (&self->lock);
  return g_steal_pointer (&out);
}

GPtrArray *
_wb_live_index_query_linear (WbLiveIndex       *self,
                             const WbLiveQuery *query)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_live_vehicle_unref);
  WbLiveQuery effective = *query;

  if (query_is_empty (query))
    effective.trip_active = TRUE;
  g_rw_lock_reader_lock (&self->lock);
  collect_table (&effective, self->by_id, FALSE, out);
  g_rw_lock_reader_unlock (&self->lock);
  return out;
}

static WbLiveQuery
query_for_view (const WbLiveView *view)
{
  return (WbLiveQuery) {
    .has_bbox = TRUE,
    .bbox = view->bbox,
    .company_ids = (const char * const *) view->company_ids,
  };
}

void
wb_live_index_diff_views (WbLiveIndex       *self,
                          const WbLiveView  *old_view,
                          const WbLiveView  *new_view,
                          GPtrArray        **out_entered,
                          GPtrArray        **out_left_ids)
{
  g_autoptr(GPtrArray) inside_new = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_live_vehicle_unref);
  g_autoptr(GPtrArray) inside_old = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_live_vehicle_unref);
  WbLiveQuery query;

  g_return_if_fail (WB_IS_LIVE_INDEX (self));
  g_return_if_fail (new_view != NULL);
  g_return_if_fail (out_entered != NULL && out_left_ids != NULL);

  /* One lock for both sides: the diff is of one moment. */
  g_rw_lock_reader_lock (&self->lock);
  query = query_for_view (new_view);
  collect (self, &query, inside_new);
  if (old_view != NULL)
    {
      query = query_for_view (old_view);
      collect (self, &query, inside_old);
    }
  g_rw_lock_reader_unlock (&self->lock);

  *out_entered = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_live_vehicle_unref);
  for (guint i = 0; i < inside_new->len; i++)
    {
      WbLiveVehicle *vehicle = g_ptr_array_index (inside_new, i);

      if (old_view == NULL || !wb_live_view_contains (old_view, vehicle))
        g_ptr_array_add (*out_entered, wb_live_vehicle_ref (vehicle));
    }
  *out_left_ids = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < inside_old->len; i++)
    {
      WbLiveVehicle *vehicle = g_ptr_array_index (inside_old, i);

      if (!wb_live_view_contains (new_view, vehicle))
        g_ptr_array_add (*out_left_ids, g_strdup (vehicle->vehicle_id));
    }
}
