// SPDX-License-Identifier: GPL-3.0-or-later
/* When to ask a carrier again: by status, by how long nothing changed, and
 * after failures. Data, not code: data/polling.conf. */

#include "config.h"

#include <math.h>

#include "wb-polling.h"
#include "wb-polling-ladder.h"
#include "wb-polling-private.h"

typedef struct
{
  const char *key;
  gsize       offset;
} DurationKey;

static const DurationKey durations[] = {
  { "pending", G_STRUCT_OFFSET (WbPollingLadder, pending) },
  { "in-transit", G_STRUCT_OFFSET (WbPollingLadder, in_transit) },
  { "idle-max", G_STRUCT_OFFSET (WbPollingLadder, idle_max) },
  { "out-for-delivery", G_STRUCT_OFFSET (WbPollingLadder, out_for_delivery) },
  { "pickup", G_STRUCT_OFFSET (WbPollingLadder, pickup) },
  { "exception", G_STRUCT_OFFSET (WbPollingLadder, exception) },
  { "delivered", G_STRUCT_OFFSET (WbPollingLadder, delivered) },
  { "delivered-for", G_STRUCT_OFFSET (WbPollingLadder, delivered_for) },
  { "expire-after", G_STRUCT_OFFSET (WbPollingLadder, expire_after) },
  { "error-base", G_STRUCT_OFFSET (WbPollingLadder, error_base) },
  { "error-max", G_STRUCT_OFFSET (WbPollingLadder, error_max) },
  { "rate-limit-pause", G_STRUCT_OFFSET (WbPollingLadder, rate_limit_pause) },
  { "breaker-pause", G_STRUCT_OFFSET (WbPollingLadder, breaker_pause) },
  { "lease", G_STRUCT_OFFSET (WbPollingLadder, lease) },
  { "tick", G_STRUCT_OFFSET (WbPollingLadder, tick) },
  { "refresh-interval", G_STRUCT_OFFSET (WbPollingLadder, refresh_interval) },
};

static gboolean
fail (GError     **error,
      const char  *group,
      const char  *key,
      const char  *what)
{
  g_set_error (error, WB_POLLING_ERROR, WB_POLLING_ERROR_CONFIG, "polling.conf: [%s] %s %s", group, key, what);
  return FALSE;
}

static gboolean
read_number (GKeyFile    *file,
             const char  *group,
             const char  *key,
             double       min,
             double       max,
             double      *out_value,
             GError     **error)
{
  g_autofree char *text = g_key_file_get_string (file, group, key, NULL);
  char *end = NULL;
  double value;

  if (text == NULL)
    return TRUE;
  g_strstrip (text);
  value = g_ascii_strtod (text, &end);
  if (end == text || *end != '\0' || !(value >= min && value <= max))
    return fail (error, group, key, "is not a number in range");
  *out_value = value;
  return TRUE;
}

static gboolean
read_group (GKeyFile         *file,
            const char       *group,
            WbPollingLadder  *ladder,
            GError          **error)
{
  double retries = ladder->max_retries, failures = ladder->breaker_failures;

  for (guint i = 0; i < G_N_ELEMENTS (durations); i++)
    {
      g_autofree char *text = g_key_file_get_string (file, group, durations[i].key, NULL);
      gint64 *slot = G_STRUCT_MEMBER_P (ladder, durations[i].offset);

      if (text != NULL && !_wb_polling_parse_duration (text, slot))
        return fail (error, group, durations[i].key, "is not a duration (90s, 5m, 3h, 7d)");
    }
  if (!read_number (file, group, "idle-factor", 1, 100, &ladder->idle_factor, error)
      || !read_number (file, group, "jitter", 0, 0.5, &ladder->jitter, error)
      || !read_number (file, group, "max-retries", 0, 1000, &retries, error)
      || !read_number (file, group, "breaker-failures", 1, 1000, &failures, error))
    return FALSE;
  ladder->max_retries = retries;
  ladder->breaker_failures = failures;
  return TRUE;
}

static gboolean
check_ladder (const WbPollingLadder  *ladder,
              const char             *profile,
              GError                **error)
{
  for (guint i = 0; i < G_N_ELEMENTS (durations); i++)
    if (G_STRUCT_MEMBER (gint64, ladder, durations[i].offset) <= 0)
      return fail (error, profile, durations[i].key, "must be set and above 0");
  return TRUE;
}

/**
 * wb_polling_ladder_load:
 *
 * Returns: (transfer full): the ladder of @profile, or %NULL with
 *   %WB_POLLING_ERROR_CONFIG naming the key at fault
 */
WbPollingLadder *
wb_polling_ladder_load (const char  *text,
                        const char  *profile,
                        GError     **error)
{
  g_autoptr(GKeyFile) file = g_key_file_new ();
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(WbPollingLadder) ladder = g_new0 (WbPollingLadder, 1);
  g_autoptr(GError) local_error = NULL;

  if (profile == NULL || *profile == '\0')
    profile = "default";
  if (text == NULL)
    {
      if ((bytes = _wb_polling_data_lookup ("polling.conf", error)) == NULL)
        return NULL;
      text = g_bytes_get_data (bytes, NULL);
    }
  if (!g_key_file_load_from_data (file, text, bytes ? g_bytes_get_size (bytes) : (gsize) -1,
                                  G_KEY_FILE_NONE, &local_error))
    {
      g_set_error (error, WB_POLLING_ERROR, WB_POLLING_ERROR_CONFIG, "polling.conf: %s", local_error->message);
      return NULL;
    }
  if (!g_key_file_has_group (file, profile))
    {
      g_set_error (error, WB_POLLING_ERROR, WB_POLLING_ERROR_CONFIG, "polling.conf: no profile [%s]", profile);
      return NULL;
    }
  ladder->idle_factor = 2;
  ladder->max_retries = 8;
  ladder->breaker_failures = 5;
  if (!read_group (file, "default", ladder, error)
      || (!g_str_equal (profile, "default") && !read_group (file, profile, ladder, error))
      || !check_ladder (ladder, profile, error))
    return NULL;
  return g_steal_pointer (&ladder);
}

void
wb_polling_ladder_free (WbPollingLadder *ladder)
{
  g_free (ladder);
}

static gint64
idle_interval (const WbPollingLadder *ladder,
               gint64                 first,
               guint                  unchanged_checks)
{
  double interval = first * pow (ladder->idle_factor, MIN (unchanged_checks, 64));

  return interval > ladder->idle_max ? MAX (ladder->idle_max, first) : (gint64) interval;
}

gint64
wb_polling_ladder_interval (const WbPollingLadder *ladder,
                            const WbPollingState  *state,
                            gint64                 now,
                            gboolean              *out_expired)
{
  *out_expired = FALSE;
  switch (state->status)
    {
    case WB_STATUS_DELIVERED:
    case WB_STATUS_RETURNED_TO_SENDER:
      /* Late corrections come within days of the delivery. */
      return now + ladder->delivered <= state->status_at + ladder->delivered_for ? ladder->delivered : 0;
    case WB_STATUS_CANCELLED:
    case WB_STATUS_EXPIRED:
      return 0;
    default:
      break;
    }
  if (now - state->last_change_at >= ladder->expire_after)
    {
      *out_expired = TRUE;
      return 0;
    }
  switch (state->status)
    {
    case WB_STATUS_OUT_FOR_DELIVERY:
      return ladder->out_for_delivery;
    case WB_STATUS_AVAILABLE_FOR_PICKUP:
    case WB_STATUS_FAILED_ATTEMPT:
      return ladder->pickup;
    case WB_STATUS_EXCEPTION:
      return idle_interval (ladder, ladder->exception, state->unchanged_checks);
    case WB_STATUS_IN_TRANSIT:
      return idle_interval (ladder, ladder->in_transit, state->unchanged_checks);
    default:
      return idle_interval (ladder, ladder->pending, state->unchanged_checks);
    }
}

gint64
wb_polling_ladder_error_delay (const WbPollingLadder *ladder,
                               guint                  consecutive_errors)
{
  double delay = ladder->error_base * pow (2, MIN (MAX (consecutive_errors, 1) - 1, 62));

  return delay > ladder->error_max ? ladder->error_max : (gint64) delay;
}

gint64
wb_polling_ladder_jitter (const WbPollingLadder *ladder,
                          gint64                 interval,
                          double                 random01)
{
  return interval + (gint64) (interval * ladder->jitter * (2 * random01 - 1));
}
