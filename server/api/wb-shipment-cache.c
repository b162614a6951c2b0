// SPDX-License-Identifier: GPL-3.0-or-later
/* Shipment views for GET /shipments/{id}, kept in memory.
 *
 * Ordering: every write through this process stamps the id with a new epoch
 * (wb_shipment_cache_put, wb_shipment_cache_invalidate). A read-through fill
 * carries the epoch from before its database read and is refused when the
 * id was stamped later, or when an entry that may have carried such a stamp
 * has since been dropped (evicted_epoch). Versions only grow, so a write's
 * view never replaces a newer one either. Together: once a write has been
 * answered, no later GET in this process sees the state before it.
 *
 * Two views of one version show the same state: every write that changes
 * the view bumps the version, except flagging a breach, which only shows
 * in a view's SLA state, and that state is also the clock's: an entry goes
 * at its expires_at, when the clock alone would change it.
 *
 * Writes made by other processes (another waybilld on the same database)
 * are not seen here: the shipments API checks a hit's version in the
 * database first when several daemons share one (docs/shipments.md). */

#include "config.h"

#include <string.h>

#include "wb-shipment-cache.h"

typedef struct
{
  char   *id;
  GBytes *json;        /* NULL: an invalidation marker, never served */
  gint64  version;     /* views below it are refused */
  gint64  stored_us;   /* monotonic time the entry was written */
  gint64  expires_at;  /* unix µs the clock changes the view, 0 = never */
  guint64 epoch;       /* the last write through this process */
  GList   link;        /* in lru, most recent first */
} Entry;

struct _WbShipmentCache
{
  GMutex      mutex;
  GHashTable *entries;        /* id → Entry */
  GQueue      lru;
  guint       capacity;
  gint64      ttl_us;
  guint64     epoch;
  guint64     evicted_epoch;  /* highest epoch among dropped entries */
};

static void
entry_free (gpointer data)
{
  Entry *entry = data;

  g_free (entry->id);
  g_clear_pointer (&entry->json, g_bytes_unref);
  g_free (entry);
}

/**
 * wb_shipment_cache_new:
 * @capacity: the most entries held
 * @ttl_us: how long an entry is served, in microseconds
 */
WbShipmentCache *
wb_shipment_cache_new (guint  capacity,
                       gint64 ttl_us)
{
  WbShipmentCache *self;

  g_return_val_if_fail (capacity > 0, NULL);
  g_return_val_if_fail (ttl_us > 0, NULL);

  self = g_new0 (WbShipmentCache, 1);
  g_mutex_init (&self->mutex);
  self->entries = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, entry_free);
  g_queue_init (&self->lru);
  self->capacity = capacity;
  self->ttl_us = ttl_us;
  return self;
}

void
wb_shipment_cache_free (WbShipmentCache *self)
{
  if (self == NULL)
    return;
  g_hash_table_unref (self->entries);
  g_mutex_clear (&self->mutex);
  g_free (self);
}

static void
drop_entry (WbShipmentCache *self,
            Entry           *entry)
{
  self->evicted_epoch = MAX (self->evicted_epoch, entry->epoch);
  g_queue_unlink (&self->lru, &entry->link);
  g_hash_table_remove (self->entries, entry->id);
}

static void
touch (WbShipmentCache *self,
       Entry           *entry)
{
  g_queue_unlink (&self->lru, &entry->link);
  g_queue_push_head_link (&self->lru, &entry->link);
}

static Entry *
insert_entry (WbShipmentCache *self,
              const char      *id)
{
  Entry *entry;

  while (self->lru.length >= self->capacity)
    drop_entry (self, self->lru.tail->data);

  entry = g_new0 (Entry, 1);
  entry->id = g_strdup (id);
  entry->link.data = entry;
  g_hash_table_insert (self->entries, entry->id, entry);
  g_queue_push_head_link (&self->lru, &entry->link);
  return entry;
}

static void
set_view (Entry      *entry,
          gint64      version,
          const char *json,
          gint64      expires_at)
{
  g_clear_pointer (&entry->json, g_bytes_unref);
  entry->json = g_bytes_new (json, strlen (json));
  entry->version = version;
  entry->stored_us = g_get_monotonic_time ();
  entry->expires_at = expires_at;
}

static gboolean
is_expired (WbShipmentCache *self,
            Entry           *entry)
{
  return g_get_monotonic_time () - entry->stored_us >= self->ttl_us ||
         (entry->expires_at != 0 && g_get_real_time () >= entry->expires_at);
}

/**
 * wb_shipment_cache_lookup:
 * @out_version: (out) (optional): the view's version
 *
 * Returns: (transfer full) (nullable): the view's JSON text, or %NULL on a
 *   miss (absent, invalidated or expired)
 */
GBytes *
wb_shipment_cache_lookup (WbShipmentCache *self,
                          const char      *id,
                          gint64          *out_version)
{
  GBytes *json = NULL;
  Entry *entry;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (id != NULL, NULL);

  g_mutex_lock (&self->mutex);
  entry = g_hash_table_lookup (self->entries, id);
  if (entry != NULL && entry->json != NULL)
    {
      if (is_expired (self, entry))
        drop_entry (self, entry);
      else
        {
          touch (self, entry);
          json = g_bytes_ref (entry->json);
          if (out_version)
            *out_version = entry->version;
        }
    }
  g_mutex_unlock (&self->mutex);
  return json;
}

/**
 * wb_shipment_cache_begin_fill:
 *
 * Call before reading a view from the database, to fill the cache with it
 * afterwards.
 *
 * Returns: the ticket for wb_shipment_cache_fill()
 */
guint64
wb_shipment_cache_begin_fill (WbShipmentCache *self)
{
  guint64 ticket;

  g_return_val_if_fail (self != NULL, 0);

  g_mutex_lock (&self->mutex);
  ticket = self->epoch;
  g_mutex_unlock (&self->mutex);
  return ticket;
}

/**
 * wb_shipment_cache_fill:
 * @ticket: from wb_shipment_cache_begin_fill() before the read
 * @expires_at: the view's own, unix µs (0 = none)
 *
 * Stores a view read from the database, unless a write through this process
 * touched @id since @ticket was taken.
 *
 * Returns: whether the view was stored
 */
gboolean
wb_shipment_cache_fill (WbShipmentCache *self,
                        const char      *id,
                        guint64          ticket,
                        gint64           version,
                        const char      *json,
                        gint64           expires_at)
{
  gboolean stored = FALSE;
  Entry *entry;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (id != NULL && json != NULL, FALSE);

  g_mutex_lock (&self->mutex);
  entry = g_hash_table_lookup (self->entries, id);
  if (entry == NULL && self->evicted_epoch <= ticket)
    entry = insert_entry (self, id);
  else if (entry != NULL && (entry->epoch > ticket || entry->version > version))
    entry = NULL;
  if (entry != NULL)
    {
      set_view (entry, version, json, expires_at);
      touch (self, entry);
      stored = TRUE;
    }
  g_mutex_unlock (&self->mutex);
  return stored;
}

/**
 * wb_shipment_cache_put:
 * @expires_at: the view's own, unix µs (0 = none)
 *
 * Publishes the view a write committed. Call it before answering the write,
 * so the writer's next GET sees it. A newer version already held, or
 * announced by an invalidation, is kept.
 */
void
wb_shipment_cache_put (WbShipmentCache *self,
                       const char      *id,
                       gint64           version,
                       const char      *json,
                       gint64           expires_at)
{
  Entry *entry;

  g_return_if_fail (self != NULL);
  g_return_if_fail (id != NULL && json != NULL);

  g_mutex_lock (&self->mutex);
  entry = g_hash_table_lookup (self->entries, id);
  if (entry == NULL)
    entry = insert_entry (self, id);
  entry->epoch = ++self->epoch;
  /* An invalidation marker holds the version a write reached: the store
   * announces every write before its caller can put the view it
   * committed, which is of that same version. */
  if (version >= entry->version)
    set_view (entry, version, json, expires_at);
  touch (self, entry);
  g_mutex_unlock (&self->mutex);
}

/**
 * wb_shipment_cache_invalidate:
 * @min_version: the version the write reached, when known (0 otherwise):
 *   views below it are refused from now on
 *
 * Forgets the view of @id after a write whose view is not at hand.
 */
void
wb_shipment_cache_invalidate (WbShipmentCache *self,
                              const char      *id,
                              gint64           min_version)
{
  Entry *entry;

  g_return_if_fail (self != NULL);
  g_return_if_fail (id != NULL);

  g_mutex_lock (&self->mutex);
  entry = g_hash_table_lookup (self->entries, id);
  if (entry == NULL)
    entry = insert_entry (self, id);
  g_clear_pointer (&entry->json, g_bytes_unref);
  entry->version = MAX (entry->version, min_version);
  entry->epoch = ++self->epoch;
  touch (self, entry);
  g_mutex_unlock (&self->mutex);
}

/**
 * wb_shipment_cache_get_size:
 *
 * Returns: the entries held, views and invalidation markers
 */
guint
wb_shipment_cache_get_size (WbShipmentCache *self)
{
  guint size;

  g_return_val_if_fail (self != NULL, 0);

  g_mutex_lock (&self->mutex);
  size = self->lru.length;
  g_mutex_unlock (&self->mutex);
  return size;
}
