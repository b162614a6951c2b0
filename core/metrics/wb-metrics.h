// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

typedef enum
{
  WB_METRIC_COUNTER,
  WB_METRIC_GAUGE,
  WB_METRIC_HISTOGRAM,
} WbMetricType;

/* Label pairs per observation; more is a programming error. */
#define WB_METRICS_MAX_LABELS 16

#define WB_TYPE_METRICS (wb_metrics_get_type ())

G_DECLARE_FINAL_TYPE (WbMetrics, wb_metrics, WB, METRICS, GObject)

/**
 * WbMetricsCollectFunc:
 * @metrics: the registry being rendered
 * @user_data: the data given to wb_metrics_add_collector()
 *
 * Refreshes figures computed on demand (pool sizes, process figures). Runs
 * at the start of every render, with no lock held, so it may call the
 * setters.
 */
typedef void (*WbMetricsCollectFunc) (WbMetrics *metrics,
                                      gpointer   user_data);

/**
 * WbMetricSeries:
 * @labels: name, value, name, value, …, %NULL; sorted by name
 * @start_time_us: when the series was first reported, g_get_real_time()
 * @value: a counter's or a gauge's value
 * @count: a histogram's number of observations
 * @sum: a histogram's sum of observations
 * @bucket_counts: a histogram's count per bucket, not cumulative: one per
 *   bound of its family, then one for +Inf
 *
 * One series of a family, as read by wb_metrics_foreach_family().
 */
typedef struct
{
  const char * const *labels;
  gint64              start_time_us;
  double              value;
  guint64             count;
  double              sum;
  const guint64      *bucket_counts;
} WbMetricSeries;

/**
 * WbMetricFamily:
 * @buckets: a histogram's upper bounds, ascending, without +Inf
 * @series: the family's series, sorted by their labels
 */
typedef struct
{
  const char           *name;
  const char           *help;
  WbMetricType          type;
  const double         *buckets;
  guint                 n_buckets;
  const WbMetricSeries *series;
  guint                 n_series;
} WbMetricFamily;

typedef void (*WbMetricsFamilyFunc) (const WbMetricFamily *family,
                                     gpointer              user_data);

WbMetrics *wb_metrics_new                   (void);
void       wb_metrics_declare               (WbMetrics            *self,
                                             const char           *name,
                                             WbMetricType          type,
                                             const char           *help,
                                             const double         *buckets,
                                             guint                 n_buckets);
void       wb_metrics_counter_add           (WbMetrics            *self,
                                             const char           *name,
                                             double                value,
                                             ...) G_GNUC_NULL_TERMINATED;
void       wb_metrics_counter_set           (WbMetrics            *self,
                                             const char           *name,
                                             double                value,
                                             ...) G_GNUC_NULL_TERMINATED;
void       wb_metrics_gauge_set             (WbMetrics            *self,
                                             const char           *name,
                                             double                value,
                                             ...) G_GNUC_NULL_TERMINATED;
void       wb_metrics_gauge_add             (WbMetrics            *self,
                                             const char           *name,
                                             double                value,
                                             ...) G_GNUC_NULL_TERMINATED;
void       wb_metrics_histogram_observe     (WbMetrics            *self,
                                             const char           *name,
                                             double                value,
                                             ...) G_GNUC_NULL_TERMINATED;
void       wb_metrics_add_collector         (WbMetrics            *self,
                                             WbMetricsCollectFunc  func,
                                             gpointer              user_data,
                                             GDestroyNotify        destroy);
void       wb_metrics_add_process_collector (WbMetrics            *self);
char      *wb_metrics_render                (WbMetrics            *self);
void       wb_metrics_foreach_family        (WbMetrics            *self,
                                             WbMetricsFamilyFunc   func,
                                             gpointer              user_data);

G_END_DECLS
