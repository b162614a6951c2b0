// SPDX-License-Identifier: GPL-3.0-or-later
/* WbDirectory: names for ids, and the sorted lists pickers offer. */

#include "config.h"

#include "wb-directory-private.h"
#include "wb-vehicle-ref.h"

typedef struct
{
  WbDirectoryEntry  entry;
  char             *sort_key;
} Entry;

typedef struct
{
  GArray     *entries;   /* Entry, sorted */
  GHashTable *by_id;     /* id → position in entries */
} Kind;

struct _WbDirectory
{
  Kind       kinds[WB_DIRECTORY_N_KINDS];
  GPtrArray *vehicles;   /* WbVehicleRef, by id */
  GStringChunk *strings;
};

G_DEFINE_BOXED_TYPE (WbDirectory, wb_directory, wb_directory_ref, wb_directory_unref)

static void
entry_clear (gpointer data)
{
  g_free (((Entry *) data)->sort_key);
}

static void
add_entry (WbDirectory     *self,
           WbDirectoryKind  kind,
           const char      *id,
           const char      *label,
           const char      *detail)
{
  g_autofree char *key_label = NULL;
  Entry entry = { 0 };

  if (label == NULL || *label == '\0')
    label = id;
  entry.entry.id = g_string_chunk_insert_const (self->strings, id);
  entry.entry.label = g_string_chunk_insert_const (self->strings, label);
  entry.entry.detail = detail && *detail ? g_string_chunk_insert_const (self->strings, detail) : NULL;
  /* The label as the locale sorts it, then the id, so equal names keep
   * one order. */
  key_label = g_utf8_collate_key (label, -1);
  entry.sort_key = g_strconcat (key_label, "\x01", id, NULL);
  g_array_append_val (self->kinds[kind].entries, entry);
}

static int
compare_entries (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (((const Entry *) a)->sort_key, ((const Entry *) b)->sort_key);
}

static void
index_kind (Kind *kind)
{
  g_array_sort (kind->entries, compare_entries);
  for (guint i = 0; i < kind->entries->len; i++)
    g_hash_table_insert (kind->by_id, (gpointer) g_array_index (kind->entries, Entry, i).entry.id,
                         GUINT_TO_POINTER (i + 1));
}

WbDirectory *
_wb_directory_new (GHashTable *company_names,
                   GHashTable *driver_names,
                   GHashTable *driver_companies,
                   GPtrArray  *vehicles,
                   GHashTable *point_names,
                   GHashTable *point_addresses)
{
  WbDirectory *self = g_atomic_rc_box_new0 (WbDirectory);
  GHashTableIter iter;
  gpointer key, value;

  self->strings = g_string_chunk_new (4096);
  for (guint k = 0; k < WB_DIRECTORY_N_KINDS; k++)
    {
      self->kinds[k].entries = g_array_new (FALSE, FALSE, sizeof (Entry));
      g_array_set_clear_func (self->kinds[k].entries, entry_clear);
      self->kinds[k].by_id = g_hash_table_new (g_str_hash, g_str_equal);
    }
  g_hash_table_iter_init (&iter, company_names);
  while (g_hash_table_iter_next (&iter, &key, &value))
    add_entry (self, WB_DIRECTORY_COMPANIES, key, value, NULL);
  g_hash_table_iter_init (&iter, driver_names);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      const char *company = g_hash_table_lookup (driver_companies, key);

      add_entry (self, WB_DIRECTORY_DRIVERS, key, value,
                 company ? (g_hash_table_lookup (company_names, company) ?: company) : NULL);
    }
  for (guint i = 0; i < vehicles->len; i++)
    {
      WbVehicleRef *ref = g_ptr_array_index (vehicles, i);

      add_entry (self, WB_DIRECTORY_VEHICLES, ref->vehicle_id, ref->plate, ref->driver_name);
    }
  g_hash_table_iter_init (&iter, point_names);
  while (g_hash_table_iter_next (&iter, &key, &value))
    add_entry (self, WB_DIRECTORY_PICKUP_POINTS, key, value, g_hash_table_lookup (point_addresses, key));
  for (guint k = 0; k < WB_DIRECTORY_N_KINDS; k++)
    index_kind (&self->kinds[k]);
  self->vehicles = g_ptr_array_ref (vehicles);
  return self;
}

WbDirectory *
wb_directory_ref (WbDirectory *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return g_atomic_rc_box_acquire (self);
}

static void
directory_clear (gpointer data)
{
  WbDirectory *self = data;

  for (guint k = 0; k < WB_DIRECTORY_N_KINDS; k++)
    {
      g_array_unref (self->kinds[k].entries);
      g_hash_table_unref (self->kinds[k].by_id);
    }
  g_ptr_array_unref (self->vehicles);
  g_string_chunk_free (self->strings);
}

void
wb_directory_unref (WbDirectory *self)
{
  g_return_if_fail (self != NULL);
  g_atomic_rc_box_release_full (self, directory_clear);
}

guint
wb_directory_get_n_entries (WbDirectory     *self,
                            WbDirectoryKind  kind)
{
  g_return_val_if_fail (self != NULL, 0);
  g_return_val_if_fail (kind < WB_DIRECTORY_N_KINDS, 0);
  return self->kinds[kind].entries->len;
}

const WbDirectoryEntry *
wb_directory_get_entry (WbDirectory     *self,
                        WbDirectoryKind  kind,
                        guint            position)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (kind < WB_DIRECTORY_N_KINDS, NULL);
  if (position >= self->kinds[kind].entries->len)
    return NULL;
  return &g_array_index (self->kinds[kind].entries, Entry, position).entry;
}

const WbDirectoryEntry *
wb_directory_lookup (WbDirectory     *self,
                     WbDirectoryKind  kind,
                     const char      *id)
{
  guint position;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (kind < WB_DIRECTORY_N_KINDS, NULL);
  if (id == NULL)
    return NULL;
  position = GPOINTER_TO_UINT (g_hash_table_lookup (self->kinds[kind].by_id, id));
  return position ? &g_array_index (self->kinds[kind].entries, Entry, position - 1).entry : NULL;
}

const char *
wb_directory_label (WbDirectory     *self,
                    WbDirectoryKind  kind,
                    const char      *id)
{
  const WbDirectoryEntry *entry;

  if (self == NULL || id == NULL)
    return id;
  entry = wb_directory_lookup (self, kind, id);
  return entry ? entry->label : id;
}

GPtrArray *
wb_directory_get_vehicles (WbDirectory *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->vehicles;
}
