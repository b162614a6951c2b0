// SPDX-License-Identifier: GPL-3.0-or-later
/* Technical validation: is this a position a device could really have
 * taken? Plausibility only; whether the device may send at all is the
 * device registry's question. */

#include "config.h"

#include <math.h>

#include "wb-time.h"
#include "wb-position-validate.h"

/* An empty slot in a device's ring of recent times. */
#define NO_TIME G_MININT64

static const char * const reason_names[WB_N_REJECT_REASONS] = {
  [WB_REJECT_NONE] = "none",
  [WB_REJECT_MISSING_DEVICE] = "missing_device",
  [WB_REJECT_MISSING_TIME] = "missing_time",
  [WB_REJECT_INVALID_LATITUDE] = "invalid_latitude",
  [WB_REJECT_INVALID_LONGITUDE] = "invalid_longitude",
  [WB_REJECT_NULL_ISLAND] = "null_island",
  [WB_REJECT_FUTURE] = "future",
  [WB_REJECT_TOO_OLD] = "too_old",
  [WB_REJECT_SPEED] = "speed",
  [WB_REJECT_DUPLICATE] = "duplicate",
};

const char *
wb_reject_reason_to_string (WbRejectReason reason)
{
  g_return_val_if_fail ((guint) reason < WB_N_REJECT_REASONS, NULL);

  return reason_names[reason];
}

static WbRejectReason
check (const WbPosition *p,
       gint64            now_us,
       gint64            max_age_us)
{
  if (p->device_id == NULL || *p->device_id == '\0')
    return WB_REJECT_MISSING_DEVICE;
  if (p->device_time == 0)
    return WB_REJECT_MISSING_TIME;
  if (!(p->lat >= -90 && p->lat <= 90))
    return WB_REJECT_INVALID_LATITUDE;
  if (!(p->lon >= -180 && p->lon <= 180))
    return WB_REJECT_INVALID_LONGITUDE;
  if (p->lat == 0 && p->lon == 0)
    return WB_REJECT_NULL_ISLAND;
  if (p->device_time > now_us && p->device_time - now_us > WB_POSITION_MAX_AHEAD_US)
    return WB_REJECT_FUTURE;
  if (max_age_us > 0 && p->device_time < now_us && now_us - p->device_time > max_age_us)
    return WB_REJECT_TOO_OLD;
  if (p->speed_kmh >= WB_POSITION_MAX_SPEED_KMH)
    return WB_REJECT_SPEED;
  return WB_REJECT_NONE;
}

static char *
coordinate_problem (const char *name,
                    double      value,
                    int         limit)
{
  if (isnan (value))
    return g_strdup_printf ("%s is unknown", name);
  return g_strdup_printf ("%s %.10g is outside [-%d, %d]", name, value, limit, limit);
}

static char *
describe (const WbPosition *p,
          WbRejectReason    reason,
          gint64            now_us)
{
  g_autofree char *time = p->device_time ? wb_time_format (p->device_time) : NULL;
  g_autofree char *now = wb_time_format (now_us);

  switch (reason)
    {
    case WB_REJECT_MISSING_DEVICE:    return g_strdup ("The position names no device");
    case WB_REJECT_MISSING_TIME:      return g_strdup ("The position has no device time");
    case WB_REJECT_INVALID_LATITUDE:  return coordinate_problem ("Latitude", p->lat, 90);
    case WB_REJECT_INVALID_LONGITUDE: return coordinate_problem ("Longitude", p->lon, 180);
    case WB_REJECT_NULL_ISLAND:       return g_strdup ("The position is exactly (0, 0), a tracker without a fix");
    case WB_REJECT_FUTURE:            return g_strdup_printf ("Device time %s is more than 5 minutes after %s",
                                                              time, now);
    case WB_REJECT_TOO_OLD:           return g_strdup_printf ("Device time %s is older than the accepted age", time);
    case WB_REJECT_SPEED:             return g_strdup_printf ("Speed %g km/h is not plausible", p->speed_kmh);
    case WB_REJECT_DUPLICATE:
    case WB_REJECT_NONE:
    case WB_N_REJECT_REASONS:
    default:                          g_assert_not_reached ();
    }
}

/**
 * wb_position_validate:
 * @now_us: the current time, unix microseconds
 * @max_age_us: the oldest device time accepted, relative to @now_us; 0 for
 *   no limit
 * @out_reason: (out) (optional): why it was refused, or %WB_REJECT_NONE
 *
 * Exactly 90° latitude, exactly 5 minutes ahead and exactly @max_age_us
 * old are accepted; 1000 km/h is not.
 */
gboolean
wb_position_validate (const WbPosition  *position,
                      gint64             now_us,
                      gint64             max_age_us,
                      WbRejectReason    *out_reason,
                      GError           **error)
{
  WbRejectReason reason;

  g_return_val_if_fail (position != NULL, FALSE);
  g_return_val_if_fail (max_age_us >= 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  reason = check (position, now_us, max_age_us);
  if (out_reason)
    *out_reason = reason;
  if (reason == WB_REJECT_NONE)
    return TRUE;
  if (error)
    {
      g_autofree char *why = describe (position, reason, now_us);

      g_set_error (error, WB_TELEMETRY_ERROR, WB_TELEMETRY_ERROR_REJECTED, "%s (%s)", why,
                   wb_reject_reason_to_string (reason));
    }
  return FALSE;
}

/* ---- the duplicate filter ---------------------------------------------------- */

typedef struct
{
  char   *device_id;
  GList   lru_link;        /* in the filter's queue; data points back here */
  guint   next;            /* the slot the next time overwrites */
  gint64  times[];         /* NO_TIME when empty */
} DeviceTimes;

struct _WbDuplicateFilter
{
  GMutex      mutex;
  GHashTable *devices;     /* device id (owned by the entry) → DeviceTimes */
  GQueue      lru;         /* most recently active first */
  guint       max_devices;
  guint       times_per_device;
};

static void
device_times_free (DeviceTimes *entry)
{
  g_free (entry->device_id);
  g_free (entry);
}

WbDuplicateFilter *
wb_duplicate_filter_new_full (guint max_devices,
                              guint times_per_device)
{
  WbDuplicateFilter *filter;

  g_return_val_if_fail (max_devices > 0 && times_per_device > 0, NULL);

  filter = g_new0 (WbDuplicateFilter, 1);
  g_mutex_init (&filter->mutex);
  filter->devices = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) device_times_free);
  g_queue_init (&filter->lru);
  filter->max_devices = max_devices;
  filter->times_per_device = times_per_device;
  return filter;
}

WbDuplicateFilter *
wb_duplicate_filter_new (void)
{
  return wb_duplicate_filter_new_full (WB_DUPLICATE_FILTER_DEVICES, WB_DUPLICATE_FILTER_TIMES);
}

void
wb_duplicate_filter_free (WbDuplicateFilter *filter)
{
  if (filter == NULL)
    return;
  g_hash_table_unref (filter->devices);
  g_mutex_clear (&filter->mutex);
  g_free (filter);
}

static DeviceTimes *
add_device (WbDuplicateFilter *filter,
            const char        *device_id)
{
  DeviceTimes *entry = g_malloc0 (sizeof (DeviceTimes) + filter->times_per_device * sizeof (gint64));

  entry->device_id = g_strdup (device_id);
  entry->lru_link.data = entry;
  for (guint i = 0; i < filter->times_per_device; i++)
    entry->times[i] = NO_TIME;
  g_hash_table_insert (filter->devices, entry->device_id, entry);
  g_queue_push_head_link (&filter->lru, &entry->lru_link);

  if (filter->lru.length > filter->max_devices)
    {
      GList *oldest = g_queue_pop_tail_link (&filter->lru);

      g_hash_table_remove (filter->devices, ((DeviceTimes *) oldest->data)->device_id);
    }
  return entry;
}

static int
find_time (WbDuplicateFilter *filter,
           DeviceTimes       *entry,
           gint64             device_time)
{
  for (guint i = 0; i < filter->times_per_device; i++)
    if (entry->times[i] == device_time)
      return i;
  return -1;
}

gboolean
wb_duplicate_filter_check_and_add (WbDuplicateFilter *filter,
                                   const char        *device_id,
                                   gint64             device_time)
{
  g_autoptr(GMutexLocker) locker = NULL;
  DeviceTimes *entry;

  g_return_val_if_fail (filter != NULL, FALSE);
  g_return_val_if_fail (device_id != NULL, FALSE);

  if (device_time == NO_TIME)
    return TRUE;
  locker = g_mutex_locker_new (&filter->mutex);
  entry = g_hash_table_lookup (filter->devices, device_id);
  if (entry == NULL)
    entry = add_device (filter, device_id);
  else
    {
      g_queue_unlink (&filter->lru, &entry->lru_link);
      g_queue_push_head_link (&filter->lru, &entry->lru_link);
      if (find_time (filter, entry, device_time) >= 0)
        return FALSE;
    }
  entry->times[entry->next] = device_time;
  entry->next = (entry->next + 1) % filter->times_per_device;
  return TRUE;
}

void
wb_duplicate_filter_forget (WbDuplicateFilter *filter,
                            const char        *device_id,
                            gint64             device_time)
{
  g_autoptr(GMutexLocker) locker = NULL;
  DeviceTimes *entry;
  int slot;

  g_return_if_fail (filter != NULL);
  g_return_if_fail (device_id != NULL);

  locker = g_mutex_locker_new (&filter->mutex);
  entry = g_hash_table_lookup (filter->devices, device_id);
  if (entry == NULL || device_time == NO_TIME)
    return;
  slot = find_time (filter, entry, device_time);
  if (slot >= 0)
    entry->times[slot] = NO_TIME;
}

guint
wb_duplicate_filter_get_n_devices (WbDuplicateFilter *filter)
{
  g_autoptr(GMutexLocker) locker = NULL;

  g_return_val_if_fail (filter != NULL, 0);

  locker = g_mutex_locker_new (&filter->mutex);
  return g_hash_table_size (filter->devices);
}
