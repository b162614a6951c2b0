// SPDX-License-Identifier: GPL-3.0-or-later
/* The fleet index: reference data in memory, for enrichment without a
 * database round trip per position.
 *
 * Each vehicle carries a ready-made enrichment snapshot, rebuilt under the
 * write lock whenever the vehicle, its driver or its company changes, so a
 * lookup is a hash lookup and a reference under the read lock. A driver or
 * company change scans the vehicles for the ones it touches: reference data
 * changes rarely, positions arrive all the time.
 *
 * Trips are two maps kept in step: an IN_TRANSIT trip → its vehicle, and a
 * vehicle → its trip. The database lets a vehicle be on one IN_TRANSIT
 * trip at most, but trips' messages come on partitions of their own, so
 * one trip's start may be put before another's end on the same vehicle:
 * a trip leaving a vehicle only clears the vehicle's trip when it is that
 * trip. */

#include "config.h"

#include <string.h>

#include "wb-fleet-index-private.h"

#define TOKEN_HASH_LENGTH 32   /* SHA-256 */

/* One indexed company, driver, vehicle or device: the members its kind has
 * are set (see WbFleetUpdate), the others NULL. */
typedef struct
{
  gint64             version;
  char              *name;
  char              *phone;
  char              *company_id;
  char              *plate;
  char              *driver_id;
  char              *group_id;
  char              *tariff_id;
  char              *vehicle_id;
  gboolean           has_token;
  guint8             token_hash[TOKEN_HASH_LENGTH];
  gboolean           quarantined;
  WbFleetEnrichment *snapshot;       /* vehicles: the enrichment as of now */
} Entry;

struct _WbFleetIndex
{
  GObject            parent_instance;

  GRWLock            lock;
  GHashTable        *tables[WB_FLEET_KIND_DEVICE + 1];  /* id → Entry, by WbFleetKind */
  GHashTable        *trip_vehicles;  /* IN_TRANSIT trip id → vehicle id */
  GHashTable        *vehicle_trips;  /* vehicle id → IN_TRANSIT trip id */
  WbFleetEnrichment *no_vehicle;     /* for a device fitted to no vehicle */
};

G_DEFINE_FINAL_TYPE (WbFleetIndex, wb_fleet_index, G_TYPE_OBJECT)

/* ---- enrichment snapshots ------------------------------------------------- */

static void
enrichment_clear (gpointer data)
{
  WbFleetEnrichment *enrichment = data;

  g_free (enrichment->vehicle_id);
  g_free (enrichment->plate);
  g_free (enrichment->driver_id);
  g_free (enrichment->driver_name);
  g_free (enrichment->company_id);
  g_free (enrichment->company_name);
  g_free (enrichment->group_id);
  g_free (enrichment->tariff_id);
  g_free (enrichment->trip_id);
}

WbFleetEnrichment *
wb_fleet_enrichment_ref (WbFleetEnrichment *enrichment)
{
  g_return_val_if_fail (enrichment != NULL, NULL);
  return g_atomic_rc_box_acquire (enrichment);
}

void
wb_fleet_enrichment_unref (WbFleetEnrichment *enrichment)
{
  g_return_if_fail (enrichment != NULL);
  g_atomic_rc_box_release_full (enrichment, enrichment_clear);
}

G_DEFINE_BOXED_TYPE (WbFleetEnrichment, wb_fleet_enrichment, wb_fleet_enrichment_ref, wb_fleet_enrichment_unref)

static WbFleetEnrichment *
enrichment_new (const char *vehicle_id)
{
  WbFleetEnrichment *enrichment = g_atomic_rc_box_new0 (WbFleetEnrichment);

  enrichment->vehicle_id = g_strdup (vehicle_id);
  return enrichment;
}

/* ---- entries -------------------------------------------------------------- */

static void
entry_free (gpointer data)
{
  Entry *entry = data;

  g_free (entry->name);
  g_free (entry->phone);
  g_free (entry->company_id);
  g_free (entry->plate);
  g_free (entry->driver_id);
  g_free (entry->group_id);
  g_free (entry->tariff_id);
  g_free (entry->vehicle_id);
  g_clear_pointer (&entry->snapshot, wb_fleet_enrichment_unref);
  g_free (entry);
}

static gboolean
parse_token_hash (const char *hex,
                  guint8      out_hash[TOKEN_HASH_LENGTH])
{
  if (hex == NULL || strlen (hex) != TOKEN_HASH_LENGTH * 2)
    return FALSE;
  for (guint i = 0; i < TOKEN_HASH_LENGTH; i++)
    {
      int high = g_ascii_xdigit_value (hex[2 * i]);
      int low = g_ascii_xdigit_value (hex[2 * i + 1]);

      if (high < 0 || low < 0)
        return FALSE;
      out_hash[i] = (guint8) (high << 4 | low);
    }
  return TRUE;
}

static Entry *
entry_new (const WbFleetRow *row)
{
  Entry *entry = g_new0 (Entry, 1);

  entry->version = row->version;
  entry->name = g_strdup (row->name);
  entry->phone = g_strdup (row->phone);
  entry->company_id = g_strdup (row->company_id);
  entry->plate = g_strdup (row->plate);
  entry->driver_id = g_strdup (row->driver_id);
  entry->group_id = g_strdup (row->group_id);
  entry->tariff_id = g_strdup (row->tariff_id);
  entry->vehicle_id = g_strdup (row->vehicle_id);
  entry->quarantined = row->quarantined;
  entry->has_token = parse_token_hash (row->token_hash, entry->token_hash);
  /* The table's CHECK makes this impossible; should it happen, refusing
   * every token is the safe way to be wrong. */
  if (row->token_hash != NULL && !entry->has_token)
    {
      g_warning ("Device %s has a malformed token hash; it is refused until rewritten", row->id);
      entry->has_token = TRUE;
      memset (entry->token_hash, 0, sizeof entry->token_hash);
    }
  return entry;
}

static Entry *
find (WbFleetIndex *self,
      WbFleetKind   kind,
      const char   *id)
{
  return id != NULL ? g_hash_table_lookup (self->tables[kind], id) : NULL;
}

/* Under the write lock. */
static void
refresh_snapshot (WbFleetIndex *self,
                  const char   *vehicle_id,
                  Entry        *vehicle)
{
  Entry *driver = find (self, WB_FLEET_KIND_DRIVER, vehicle->driver_id);
  const char *company_id = driver && driver->company_id ? driver->company_id : vehicle->company_id;
  Entry *company = find (self, WB_FLEET_KIND_COMPANY, company_id);
  WbFleetEnrichment *snapshot = enrichment_new (vehicle_id);

  snapshot->plate = g_strdup (vehicle->plate);
  snapshot->driver_id = g_strdup (vehicle->driver_id);
  snapshot->driver_name = driver ? g_strdup (driver->name) : NULL;
  snapshot->company_id = g_strdup (company_id);
  snapshot->company_name = company ? g_strdup (company->name) : NULL;
  snapshot->group_id = g_strdup (vehicle->group_id);
  snapshot->tariff_id = g_strdup (vehicle->tariff_id);
  snapshot->trip_id = g_strdup (g_hash_table_lookup (self->vehicle_trips, vehicle_id));
  g_clear_pointer (&vehicle->snapshot, wb_fleet_enrichment_unref);
  vehicle->snapshot = snapshot;
}

/* Every vehicle's snapshot. */
static void
refresh_all (WbFleetIndex *self)
{
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, self->tables[WB_FLEET_KIND_VEHICLE]);
  while (g_hash_table_iter_next (&iter, &key, &value))
    refresh_snapshot (self, key, value);
}

static gboolean
put_row (WbFleetIndex     *self,
         const WbFleetRow *row)
{
  Entry *old = find (self, row->kind, row->id);
  Entry *entry;

  if (old != NULL && old->version >= row->version)
    return FALSE;
  entry = entry_new (row);
  g_hash_table_replace (self->tables[row->kind], g_strdup (row->id), entry);
  return TRUE;
}

/* Under the write lock: the snapshots the rows just put touch. A vehicle's
 * own row refreshes that vehicle; a driver or a company refreshes the
 * vehicles it enriches, found in one pass over the vehicles however many
 * rows came. An import of 10 000 vehicles into a fleet of 100 000 thus
 * rebuilds 10 000 snapshots, not 100 000. */
static void
refresh_put (WbFleetIndex *self,
             GHashTable   *vehicles,
             GHashTable   *drivers,
             GHashTable   *companies)
{
  GHashTableIter iter;
  gpointer key, value;

  if (g_hash_table_size (drivers) == 0 && g_hash_table_size (companies) == 0)
    {
      g_hash_table_iter_init (&iter, vehicles);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        refresh_snapshot (self, key, find (self, WB_FLEET_KIND_VEHICLE, key));
      return;
    }
  g_hash_table_iter_init (&iter, self->tables[WB_FLEET_KIND_VEHICLE]);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      Entry *vehicle = value;

      if (vehicle->snapshot == NULL
          || g_hash_table_contains (vehicles, key)
          || (vehicle->driver_id != NULL && g_hash_table_contains (drivers, vehicle->driver_id))
          || (vehicle->snapshot->company_id != NULL && g_hash_table_contains (companies, vehicle->snapshot->company_id)))
        refresh_snapshot (self, key, vehicle);
    }
}

guint
_wb_fleet_index_put (WbFleetIndex     *self,
                     const WbFleetRow *rows,
                     guint             n_rows)
{
  /* The ids are the rows' own, alive for the call. */
  g_autoptr(GHashTable) vehicles = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) drivers = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) companies = g_hash_table_new (g_str_hash, g_str_equal);
  GHashTable *changed[] = {
    [WB_FLEET_KIND_COMPANY] = companies,
    [WB_FLEET_KIND_DRIVER] = drivers,
    [WB_FLEET_KIND_VEHICLE] = vehicles,
    [WB_FLEET_KIND_DEVICE] = NULL,
  };
  guint n_newer = 0;

  g_return_val_if_fail (WB_IS_FLEET_INDEX (self), 0);
  g_return_val_if_fail (rows != NULL || n_rows == 0, 0);

  g_rw_lock_writer_lock (&self->lock);
  for (guint i = 0; i < n_rows; i++)
    if (put_row (self, &rows[i]))
      {
        n_newer++;
        if (changed[rows[i].kind] != NULL)
          g_hash_table_add (changed[rows[i].kind], (gpointer) rows[i].id);
      }
  if (n_newer > 0)
    refresh_put (self, vehicles, drivers, companies);
  g_rw_lock_writer_unlock (&self->lock);
  return n_newer;
}

/* Under the write lock. Adds to @touched the vehicles whose trip changed. */
static void
put_trip (WbFleetIndex         *self,
          const WbFleetTripRow *row,
          GPtrArray            *touched)
{
  const char *old_vehicle = g_hash_table_lookup (self->trip_vehicles, row->trip_id);

  if (g_strcmp0 (old_vehicle, row->vehicle_id) == 0)
    return;
  if (old_vehicle != NULL)
    {
      if (g_strcmp0 (g_hash_table_lookup (self->vehicle_trips, old_vehicle), row->trip_id) == 0)
        {
          g_ptr_array_add (touched, g_strdup (old_vehicle));
          g_hash_table_remove (self->vehicle_trips, old_vehicle);
        }
      g_hash_table_remove (self->trip_vehicles, row->trip_id);
    }
  if (row->vehicle_id != NULL)
    {
      g_hash_table_replace (self->trip_vehicles, g_strdup (row->trip_id), g_strdup (row->vehicle_id));
      g_hash_table_replace (self->vehicle_trips, g_strdup (row->vehicle_id), g_strdup (row->trip_id));
      g_ptr_array_add (touched, g_strdup (row->vehicle_id));
    }
}

void
_wb_fleet_index_put_trips (WbFleetIndex         *self,
                           const WbFleetTripRow *rows,
                           guint                 n_rows,
                           gboolean              replace_all)
{
  g_autoptr(GPtrArray) touched = g_ptr_array_new_with_free_func (g_free);

  g_return_if_fail (WB_IS_FLEET_INDEX (self));
  g_return_if_fail (rows != NULL || n_rows == 0);

  g_rw_lock_writer_lock (&self->lock);
  if (replace_all)
    {
      g_hash_table_remove_all (self->trip_vehicles);
      g_hash_table_remove_all (self->vehicle_trips);
    }
  for (guint i = 0; i < n_rows; i++)
    put_trip (self, &rows[i], touched);
  if (replace_all)
    refresh_all (self);
  else
    for (guint i = 0; i < touched->len; i++)
      {
        Entry *vehicle = find (self, WB_FLEET_KIND_VEHICLE, g_ptr_array_index (touched, i));

        if (vehicle != NULL)
          refresh_snapshot (self, g_ptr_array_index (touched, i), vehicle);
      }
  g_rw_lock_writer_unlock (&self->lock);
}

char *
_wb_fleet_token_hash (const char *token)
{
  g_return_val_if_fail (token != NULL, NULL);
  return g_compute_checksum_for_string (G_CHECKSUM_SHA256, token, -1);
}

/* ---- the object ----------------------------------------------------------- */

static void
wb_fleet_index_finalize (GObject *object)
{
  WbFleetIndex *self = WB_FLEET_INDEX (object);

  for (guint kind = 0; kind < G_N_ELEMENTS (self->tables); kind++)
    g_clear_pointer (&self->tables[kind], g_hash_table_unref);
  g_clear_pointer (&self->trip_vehicles, g_hash_table_unref);
  g_clear_pointer (&self->vehicle_trips, g_hash_table_unref);
  g_clear_pointer (&self->no_vehicle, wb_fleet_enrichment_unref);
  g_rw_lock_clear (&self->lock);

  G_OBJECT_CLASS (wb_fleet_index_parent_class)->finalize (object);
}

static void
wb_fleet_index_class_init (WbFleetIndexClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = wb_fleet_index_finalize;
}

static void
wb_fleet_index_init (WbFleetIndex *self)
{
  g_rw_lock_init (&self->lock);
  for (guint kind = 0; kind < G_N_ELEMENTS (self->tables); kind++)
    self->tables[kind] = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, entry_free);
  self->trip_vehicles = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->vehicle_trips = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->no_vehicle = enrichment_new (NULL);
}

/**
 * wb_fleet_index_new:
 *
 * Returns: (transfer full): an empty index; a WbFleetStore fills it
 */
WbFleetIndex *
wb_fleet_index_new (void)
{
  return g_object_new (WB_TYPE_FLEET_INDEX, NULL);
}

/**
 * wb_fleet_index_lookup_device:
 *
 * A device whose vehicle has no vehicle.updated yet gets a snapshot with
 * only vehicle_id; one fitted to no vehicle, a snapshot with none.
 *
 * Returns: (transfer full) (nullable): the enrichment, %NULL for an
 *   unknown device
 */
WbFleetEnrichment *
wb_fleet_index_lookup_device (WbFleetIndex *self,
                              const char   *device_id)
{
  WbFleetEnrichment *result = NULL;
  g_autofree char *unknown_vehicle = NULL;
  g_autofree char *unknown_vehicle_trip = NULL;
  Entry *device, *vehicle;

  g_return_val_if_fail (WB_IS_FLEET_INDEX (self), NULL);
  g_return_val_if_fail (device_id != NULL, NULL);

  g_rw_lock_reader_lock (&self->lock);
  device = find (self, WB_FLEET_KIND_DEVICE, device_id);
  vehicle = device ? find (self, WB_FLEET_KIND_VEHICLE, device->vehicle_id) : NULL;
  if (vehicle != NULL)
    result = wb_fleet_enrichment_ref (vehicle->snapshot);
  else if (device != NULL && device->vehicle_id == NULL)
    result = wb_fleet_enrichment_ref (self->no_vehicle);
  else if (device != NULL)
    {
      unknown_vehicle = g_strdup (device->vehicle_id);
      unknown_vehicle_trip = g_strdup (g_hash_table_lookup (self->vehicle_trips, device->vehicle_id));
    }
  g_rw_lock_reader_unlock (&self->lock);

  if (unknown_vehicle != NULL)
    {
      result = enrichment_new (unknown_vehicle);
      result->trip_id = g_steal_pointer (&unknown_vehicle_trip);
    }
  return result;
}

WbFleetEnrichment *
wb_fleet_index_lookup_vehicle (WbFleetIndex *self,
                               const char   *vehicle_id)
{
  WbFleetEnrichment *result = NULL;
  Entry *vehicle;

  g_return_val_if_fail (WB_IS_FLEET_INDEX (self), NULL);
  g_return_val_if_fail (vehicle_id != NULL, NULL);

  g_rw_lock_reader_lock (&self->lock);
  vehicle = find (self, WB_FLEET_KIND_VEHICLE, vehicle_id);
  if (vehicle != NULL)
    result = wb_fleet_enrichment_ref (vehicle->snapshot);
  g_rw_lock_reader_unlock (&self->lock);
  return result;
}

char *
wb_fleet_index_lookup_trip (WbFleetIndex *self,
                            const char   *vehicle_id)
{
  char *trip_id;

  g_return_val_if_fail (WB_IS_FLEET_INDEX (self), NULL);
  g_return_val_if_fail (vehicle_id != NULL, NULL);

  g_rw_lock_reader_lock (&self->lock);
  trip_id = g_strdup (g_hash_table_lookup (self->vehicle_trips, vehicle_id));
  g_rw_lock_reader_unlock (&self->lock);
  return trip_id;
}

/* Every byte is compared whatever the first difference, so the time taken
 * tells nothing about how much of a guess was right. */
static gboolean
hashes_equal (const guint8 *a,
              const guint8 *b)
{
  guint8 difference = 0;

  for (guint i = 0; i < TOKEN_HASH_LENGTH; i++)
    difference |= a[i] ^ b[i];
  return difference == 0;
}

static void
hash_token (const char *token,
            guint8      out_hash[TOKEN_HASH_LENGTH])
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  gsize length = TOKEN_HASH_LENGTH;

  g_checksum_update (checksum, (const guchar *) token, strlen (token));
  g_checksum_get_digest (checksum, out_hash, &length);
}

gboolean
wb_fleet_index_check_device (WbFleetIndex *self,
                             const char   *device_id,
                             const char   *token,
                             gboolean     *out_quarantined)
{
  guint8 given[TOKEN_HASH_LENGTH] = { 0, };
  guint8 stored[TOKEN_HASH_LENGTH];
  gboolean known = FALSE, has_token = FALSE, quarantined = FALSE;
  Entry *device;

  g_return_val_if_fail (WB_IS_FLEET_INDEX (self), FALSE);
  g_return_val_if_fail (device_id != NULL, FALSE);

  if (token != NULL)
    hash_token (token, given);

  g_rw_lock_reader_lock (&self->lock);
  device = find (self, WB_FLEET_KIND_DEVICE, device_id);
  if (device != NULL)
    {
      known = TRUE;
      has_token = device->has_token;
      quarantined = device->quarantined;
      memcpy (stored, device->token_hash, sizeof stored);
    }
  g_rw_lock_reader_unlock (&self->lock);

  if (out_quarantined != NULL)
    *out_quarantined = quarantined;
  if (!known)
    return FALSE;
  if (!has_token)
    return TRUE;
  return token != NULL && hashes_equal (given, stored);
}

gboolean
wb_fleet_index_has_device (WbFleetIndex *self,
                           const char   *device_id)
{
  gboolean known;

  g_return_val_if_fail (WB_IS_FLEET_INDEX (self), FALSE);
  g_return_val_if_fail (device_id != NULL, FALSE);

  g_rw_lock_reader_lock (&self->lock);
  known = find (self, WB_FLEET_KIND_DEVICE, device_id) != NULL;
  g_rw_lock_reader_unlock (&self->lock);
  return known;
}

void
wb_fleet_index_get_counts (WbFleetIndex *self,
                           guint        *out_companies,
                           guint        *out_drivers,
                           guint        *out_vehicles,
                           guint        *out_devices)
{
  guint *outs[] = { out_companies, out_drivers, out_vehicles, out_devices };

  g_return_if_fail (WB_IS_FLEET_INDEX (self));

  g_rw_lock_reader_lock (&self->lock);
  for (guint kind = 0; kind < G_N_ELEMENTS (outs); kind++)
    if (outs[kind] != NULL)
      *outs[kind] = g_hash_table_size (self->tables[kind]);
  g_rw_lock_reader_unlock (&self->lock);
}
