// SPDX-License-Identifier: GPL-3.0-or-later
/* Per-carrier request figures of one daemon. They stay in memory: they are
 * this daemon's view (its workers' calls), cheap to keep on every request,
 * and a restart starting them over is what Prometheus counters expect.
 * The limits every daemon shares (quota, block, breaker) are read from
 * carrier_limits instead. */

#include "config.h"

#include "wb-carrier-stats.h"

#define MINUTE_US (G_GINT64_CONSTANT (60) * G_USEC_PER_SEC)

typedef struct
{
  gint64 minute;        /* its start, unix µs; 0: unused */
  guint  ok;
  guint  error;
  guint  throttled;
} Minute;

typedef struct
{
  WbCarrierStatsTotals totals;
  Minute               minutes[WB_CARRIER_STATS_MINUTES];   /* a ring by minute number */
} CarrierStats;

struct _WbCarrierStats
{
  GObject     parent_instance;
  GMutex      mutex;
  GHashTable *carriers;    /* code → CarrierStats* */
  gboolean    recording;
};

G_DEFINE_FINAL_TYPE (WbCarrierStats, wb_carrier_stats, G_TYPE_OBJECT)

static const char * const outcome_names[WB_CARRIER_N_OUTCOMES] = {
  "ok", "not_found", "throttled", "error", "unreadable", "timeout", "stale",
};

const char *
wb_carrier_outcome_to_string (WbCarrierOutcome outcome)
{
  g_return_val_if_fail (outcome < WB_CARRIER_N_OUTCOMES, NULL);

  return outcome_names[outcome];
}

static void
wb_carrier_stats_finalize (GObject *object)
{
  WbCarrierStats *self = WB_CARRIER_STATS (object);

  g_hash_table_unref (self->carriers);
  g_mutex_clear (&self->mutex);
  G_OBJECT_CLASS (wb_carrier_stats_parent_class)->finalize (object);
}

static void
wb_carrier_stats_class_init (WbCarrierStatsClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = wb_carrier_stats_finalize;
}

static void
wb_carrier_stats_init (WbCarrierStats *self)
{
  g_mutex_init (&self->mutex);
  self->carriers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

WbCarrierStats *
wb_carrier_stats_new (void)
{
  return g_object_new (WB_TYPE_CARRIER_STATS, NULL);
}

/* Under the mutex. */
static CarrierStats *
carrier_stats (WbCarrierStats *self,
               const char     *carrier)
{
  CarrierStats *stats = g_hash_table_lookup (self->carriers, carrier);

  if (stats == NULL)
    {
      stats = g_new0 (CarrierStats, 1);
      g_hash_table_insert (self->carriers, g_strdup (carrier), stats);
    }
  return stats;
}

static Minute *
minute_of (CarrierStats *stats,
           gint64        now_us)
{
  gint64 start = now_us - now_us % MINUTE_US;
  Minute *minute = &stats->minutes[(start / MINUTE_US) % WB_CARRIER_STATS_MINUTES];

  /* A slot last used an hour or more ago starts over. */
  if (minute->minute != start)
    *minute = (Minute) { .minute = start };
  return minute;
}

void
wb_carrier_stats_record (WbCarrierStats   *self,
                         const char       *carrier,
                         WbCarrierOutcome  outcome,
                         gint64            now_us)
{
  CarrierStats *stats;
  Minute *minute;

  g_return_if_fail (WB_IS_CARRIER_STATS (self));
  g_return_if_fail (carrier != NULL && outcome < WB_CARRIER_N_OUTCOMES);

  g_mutex_lock (&self->mutex);
  stats = carrier_stats (self, carrier);
  stats->totals.outcomes[outcome]++;
  minute = minute_of (stats, now_us);
  switch (outcome)
    {
    case WB_CARRIER_OUTCOME_OK:
    case WB_CARRIER_OUTCOME_NOT_FOUND:
      minute->ok++;
      break;
    case WB_CARRIER_OUTCOME_THROTTLED:
      minute->throttled++;
      break;
    case WB_CARRIER_OUTCOME_STALE:
      break;
    default:
      minute->error++;
      break;
    }
  g_mutex_unlock (&self->mutex);
}

void
wb_carrier_stats_record_wait (WbCarrierStats *self,
                              const char     *carrier,
                              gint64          wait_us)
{
  CarrierStats *stats;

  g_return_if_fail (WB_IS_CARRIER_STATS (self));
  g_return_if_fail (carrier != NULL);

  g_mutex_lock (&self->mutex);
  stats = carrier_stats (self, carrier);
  stats->totals.waits++;
  stats->totals.wait_us_sum += MAX (0, wait_us);
  g_mutex_unlock (&self->mutex);
}

void
wb_carrier_stats_get_totals (WbCarrierStats       *self,
                             const char           *carrier,
                             WbCarrierStatsTotals *out_totals)
{
  CarrierStats *stats;

  g_return_if_fail (WB_IS_CARRIER_STATS (self));
  g_return_if_fail (carrier != NULL && out_totals != NULL);

  g_mutex_lock (&self->mutex);
  stats = g_hash_table_lookup (self->carriers, carrier);
  *out_totals = stats ? stats->totals : (WbCarrierStatsTotals) { 0, };
  g_mutex_unlock (&self->mutex);
}

/* Under the mutex; @stats may be NULL (a carrier not seen yet). */
static void
write_last_hour (const CarrierStats *stats,
                 gint64              now_us,
                 GString            *out)
{
  gint64 last = now_us - now_us % MINUTE_US;

  g_string_append_c (out, '[');
  for (gint64 i = WB_CARRIER_STATS_MINUTES - 1; i >= 0; i--)
    {
      gint64 start = last - i * MINUTE_US;
      const Minute *minute = stats ? &stats->minutes[(start / MINUTE_US) % WB_CARRIER_STATS_MINUTES] : NULL;
      gboolean current = minute != NULL && minute->minute == start;
      g_autoptr(GDateTime) time = g_date_time_new_from_unix_utc (start / G_USEC_PER_SEC);
      g_autofree char *text = g_date_time_format (time, "%Y-%m-%dT%H:%M:00Z");

      g_string_append_printf (out, "%s{\"minute\":\"%s\",\"ok\":%u,\"error\":%u,\"throttled\":%u}",
                              i < WB_CARRIER_STATS_MINUTES - 1 ? "," : "", text, current ? minute->ok : 0,
                              current ? minute->error : 0, current ? minute->throttled : 0);
    }
  g_string_append_c (out, ']');
}

void
wb_carrier_stats_write_last_hour (WbCarrierStats *self,
                                  const char     *carrier,
                                  gint64          now_us,
                                  GString        *out)
{
  g_return_if_fail (WB_IS_CARRIER_STATS (self));
  g_return_if_fail (carrier != NULL && out != NULL);

  g_mutex_lock (&self->mutex);
  write_last_hour (g_hash_table_lookup (self->carriers, carrier), now_us, out);
  g_mutex_unlock (&self->mutex);
}

/**
 * wb_carrier_stats_write_json:
 *
 * Appends `"requests":{…},"permitWait":{…},"lastHour":[…]` (GET
 * /carriers' members) for @carrier, all from one moment: the last hour's
 * minutes add up to the totals of the hour.
 */
void
wb_carrier_stats_write_json (WbCarrierStats *self,
                             const char     *carrier,
                             gint64          now_us,
                             GString        *out)
{
  const CarrierStats *stats;
  WbCarrierStatsTotals totals = { 0, };
  char sum[G_ASCII_DTOSTR_BUF_SIZE];

  g_return_if_fail (WB_IS_CARRIER_STATS (self));
  g_return_if_fail (carrier != NULL && out != NULL);

  g_mutex_lock (&self->mutex);
  stats = g_hash_table_lookup (self->carriers, carrier);
  if (stats != NULL)
    totals = stats->totals;
  g_string_append_printf (out, "\"requests\":{\"ok\":%" G_GUINT64_FORMAT ",\"notFound\":%" G_GUINT64_FORMAT
                          ",\"throttled\":%" G_GUINT64_FORMAT ",\"error\":%" G_GUINT64_FORMAT
                          ",\"unreadable\":%" G_GUINT64_FORMAT ",\"timeout\":%" G_GUINT64_FORMAT
                          ",\"stale\":%" G_GUINT64_FORMAT "},",
                          totals.outcomes[WB_CARRIER_OUTCOME_OK], totals.outcomes[WB_CARRIER_OUTCOME_NOT_FOUND],
                          totals.outcomes[WB_CARRIER_OUTCOME_THROTTLED], totals.outcomes[WB_CARRIER_OUTCOME_ERROR],
                          totals.outcomes[WB_CARRIER_OUTCOME_UNREADABLE], totals.outcomes[WB_CARRIER_OUTCOME_TIMEOUT],
                          totals.outcomes[WB_CARRIER_OUTCOME_STALE]);
  g_ascii_formatd (sum, sizeof sum, "%.6f", totals.wait_us_sum / (double) G_USEC_PER_SEC);
  g_string_append_printf (out, "\"permitWait\":{\"count\":%" G_GUINT64_FORMAT ",\"sumSeconds\":%s},\"lastHour\":",
                          totals.waits, sum);
  write_last_hour (stats, now_us, out);
  g_mutex_unlock (&self->mutex);
}

void
wb_carrier_stats_set_recording (WbCarrierStats *self,
                                gboolean        recording)
{
  g_return_if_fail (WB_IS_CARRIER_STATS (self));

  g_mutex_lock (&self->mutex);
  self->recording = recording;
  g_mutex_unlock (&self->mutex);
}

gboolean
wb_carrier_stats_get_recording (WbCarrierStats *self)
{
  gboolean recording;

  g_return_val_if_fail (WB_IS_CARRIER_STATS (self), FALSE);

  g_mutex_lock (&self->mutex);
  recording = self->recording;
  g_mutex_unlock (&self->mutex);
  return recording;
}
