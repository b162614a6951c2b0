// SPDX-License-Identifier: GPL-3.0-or-later
/* The standard process_* metrics every Prometheus client library exports,
 * read from Linux's /proc the way client_golang's process collector does.
 * Where /proc is missing or unreadable the figures are simply not updated. */

#include "config.h"

#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "wb-metrics.h"

typedef struct
{
  double cpu_seconds;
  double threads;
  double start_ticks;       /* clock ticks after boot */
  double virtual_bytes;
  double resident_bytes;
} ProcessStat;

/* Fields of /proc/self/stat (proc(5)), counted from 1, as indexes into the
 * fields that follow the command name (which start at field 3). */
#define STAT_INDEX(field) ((field) - 3)
enum
{
  STAT_UTIME = STAT_INDEX (14),
  STAT_STIME = STAT_INDEX (15),
  STAT_NUM_THREADS = STAT_INDEX (20),
  STAT_STARTTIME = STAT_INDEX (22),
  STAT_VSIZE = STAT_INDEX (23),
  STAT_RSS = STAT_INDEX (24),
};

static double
stat_field (GStrv fields,
            guint index)
{
  return (double) g_ascii_strtoull (fields[index], NULL, 10);
}

static gboolean
read_process_stat (ProcessStat *stat)
{
  g_autofree char *contents = NULL;
  g_auto(GStrv) fields = NULL;
  const char *after_command;
  double ticks_per_second = (double) sysconf (_SC_CLK_TCK);

  if (!g_file_get_contents ("/proc/self/stat", &contents, NULL, NULL))
    return FALSE;

  /* The command name (field 2) may itself hold spaces and parentheses; the
   * numeric fields start after the last ')'. */
  after_command = strrchr (contents, ')');
  if (after_command == NULL || after_command[1] != ' ')
    return FALSE;
  fields = g_strsplit (after_command + 2, " ", -1);
  if (g_strv_length (fields) <= STAT_RSS || ticks_per_second <= 0)
    return FALSE;

  stat->cpu_seconds = (stat_field (fields, STAT_UTIME) + stat_field (fields, STAT_STIME)) / ticks_per_second;
  stat->threads = stat_field (fields, STAT_NUM_THREADS);
  stat->start_ticks = stat_field (fields, STAT_STARTTIME);
  stat->virtual_bytes = stat_field (fields, STAT_VSIZE);
  stat->resident_bytes = stat_field (fields, STAT_RSS) * (double) sysconf (_SC_PAGESIZE);
  return TRUE;
}

/* The "btime" line of /proc/stat: when the system booted, in unix seconds. */
static gboolean
read_boot_time (double *out_boot_time)
{
  g_autofree char *contents = NULL;
  const char *line;

  if (!g_file_get_contents ("/proc/stat", &contents, NULL, NULL))
    return FALSE;

  line = g_str_has_prefix (contents, "btime ") ? contents : strstr (contents, "\nbtime ");
  if (line == NULL)
    return FALSE;
  line = strchr (line + 1, ' ');
  *out_boot_time = (double) g_ascii_strtoull (line + 1, NULL, 10);
  return TRUE;
}

static gboolean
count_open_fds (double *out_count)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  guint count = 0;

  if (dir == NULL)
    return FALSE;
  while (g_dir_read_name (dir) != NULL)
    count++;
  *out_count = count;
  return TRUE;
}

static void
collect_process (WbMetrics *metrics,
                 gpointer   user_data)
{
  ProcessStat stat;
  struct rlimit limit;
  double boot_time, open_fds;

  if (read_process_stat (&stat))
    {
      wb_metrics_counter_set (metrics, "process_cpu_seconds_total", stat.cpu_seconds, NULL);
      wb_metrics_gauge_set (metrics, "process_resident_memory_bytes", stat.resident_bytes, NULL);
      wb_metrics_gauge_set (metrics, "process_virtual_memory_bytes", stat.virtual_bytes, NULL);
      wb_metrics_gauge_set (metrics, "process_threads", stat.threads, NULL);
      if (read_boot_time (&boot_time))
        wb_metrics_gauge_set (metrics, "process_start_time_seconds",
                              boot_time + stat.start_ticks / (double) sysconf (_SC_CLK_TCK), NULL);
    }
  if (count_open_fds (&open_fds))
    wb_metrics_gauge_set (metrics, "process_open_fds", open_fds, NULL);
  if (getrlimit (RLIMIT_NOFILE, &limit) == 0)
    wb_metrics_gauge_set (metrics, "process_max_fds", (double) limit.rlim_cur, NULL);
}

/**
 * wb_metrics_add_process_collector:
 * @self: a #WbMetrics
 *
 * Declares process_cpu_seconds_total, process_resident_memory_bytes,
 * process_virtual_memory_bytes, process_open_fds, process_max_fds,
 * process_start_time_seconds and process_threads, and refreshes them on
 * every render.
 */
void
wb_metrics_add_process_collector (WbMetrics *self)
{
  g_return_if_fail (WB_IS_METRICS (self));

  wb_metrics_declare (self, "process_cpu_seconds_total", WB_METRIC_COUNTER,
                      "Total user and system CPU time spent in seconds.", NULL, 0);
  wb_metrics_declare (self, "process_resident_memory_bytes", WB_METRIC_GAUGE,
                      "Resident memory size in bytes.", NULL, 0);
  wb_metrics_declare (self, "process_virtual_memory_bytes", WB_METRIC_GAUGE,
                      "Virtual memory size in bytes.", NULL, 0);
  wb_metrics_declare (self, "process_open_fds", WB_METRIC_GAUGE,
                      "Number of open file descriptors.", NULL, 0);
  wb_metrics_declare (self, "process_max_fds", WB_METRIC_GAUGE,
                      "Maximum number of open file descriptors.", NULL, 0);
  wb_metrics_declare (self, "process_start_time_seconds", WB_METRIC_GAUGE,
                      "Start time of the process since unix epoch in seconds.", NULL, 0);
  wb_metrics_declare (self, "process_threads", WB_METRIC_GAUGE,
                      "Number of OS threads in the process.", NULL, 0);

  wb_metrics_add_collector (self, collect_process, NULL, NULL);
}
