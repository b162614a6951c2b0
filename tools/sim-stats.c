// SPDX-License-Identifier: GPL-3.0-or-later

#include "config.h"

#include "sim-stats.h"

void
wb_sim_stats_init (WbSimStats *stats)
{
  *stats = (WbSimStats) { 0 };
  stats->started = g_get_monotonic_time ();
  stats->reasons = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

void
wb_sim_stats_clear (WbSimStats *stats)
{
  g_clear_pointer (&stats->reasons, g_hash_table_unref);
}

void
wb_sim_stats_add_refused (WbSimStats *stats,
                          const char *reason,
                          guint64     count)
{
  guint64 *total = g_hash_table_lookup (stats->reasons, reason);

  if (total == NULL)
    {
      total = g_new0 (guint64, 1);
      g_hash_table_insert (stats->reasons, g_strdup (reason), total);
    }
  *total += count;
  stats->refused += count;
}

static void
append_reasons (const WbSimStats *stats,
                GString          *out)
{
  g_autoptr(GList) keys = g_hash_table_get_keys (stats->reasons);

  keys = g_list_sort (keys, (GCompareFunc) g_strcmp0);
  for (GList *l = keys; l != NULL; l = l->next)
    g_string_append_printf (out, "\n  refused %-32s %" G_GUINT64_FORMAT, (const char *) l->data,
                            *(guint64 *) g_hash_table_lookup (stats->reasons, l->data));
}

char *
wb_sim_stats_format (const WbSimStats *stats,
                     const char       *heading)
{
  double elapsed = (g_get_monotonic_time () - stats->started) / (double) G_USEC_PER_SEC;
  GString *out = g_string_new (NULL);

  g_string_append_printf (out, "%s: %.1f s, sent %" G_GUINT64_FORMAT ", accepted %" G_GUINT64_FORMAT
                          ", refused %" G_GUINT64_FORMAT ", failed %" G_GUINT64_FORMAT ", retries %"
                          G_GUINT64_FORMAT ", %.1f/s accepted",
                          heading, elapsed, stats->sent, stats->accepted, stats->refused, stats->failed,
                          stats->retries, elapsed > 0 ? stats->accepted / elapsed : 0.0);
  append_reasons (stats, out);
  return g_string_free (out, FALSE);
}
