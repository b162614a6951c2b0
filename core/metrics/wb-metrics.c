// SPDX-License-Identifier: GPL-3.0-or-later
/* A metrics registry rendered in the Prometheus text exposition format,
 * version 0.0.4, and read as values by other exporters (OTLP) through
 * wb_metrics_foreach_family(). Any thread may report into it; one mutex
 * guards everything, and an observation is two hash lookups (family by
 * name, series by its rendered labels) plus an addition.
 *
 * Misuse (an undeclared family, a bad label name, a counter going down) is a
 * programming error: it logs a critical and is ignored. Criticals are always
 * emitted with the mutex released, because a log handler may itself count
 * log records in this registry. */

#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wb-metrics.h"

/* Prometheus' own defaults (client_golang DefBuckets), in seconds. */
static const double default_buckets[] = {
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

static const char *type_names[] = {
  [WB_METRIC_COUNTER] = "counter",
  [WB_METRIC_GAUGE] = "gauge",
  [WB_METRIC_HISTOGRAM] = "histogram",
};

typedef enum
{
  OPERATION_COUNTER_ADD,
  OPERATION_COUNTER_SET,
  OPERATION_GAUGE_SET,
  OPERATION_GAUGE_ADD,
  OPERATION_HISTOGRAM_OBSERVE,
} Operation;

static const struct {
  const char   *function;
  WbMetricType  type;
} operations[] = {
  [OPERATION_COUNTER_ADD] = { "wb_metrics_counter_add", WB_METRIC_COUNTER },
  [OPERATION_COUNTER_SET] = { "wb_metrics_counter_set", WB_METRIC_COUNTER },
  [OPERATION_GAUGE_SET] = { "wb_metrics_gauge_set", WB_METRIC_GAUGE },
  [OPERATION_GAUGE_ADD] = { "wb_metrics_gauge_add", WB_METRIC_GAUGE },
  [OPERATION_HISTOGRAM_OBSERVE] = { "wb_metrics_histogram_observe", WB_METRIC_HISTOGRAM },
};

typedef enum
{
  LOOKUP_FOUND,
  LOOKUP_UNDECLARED,
  LOOKUP_WRONG_TYPE,
} LookupResult;

typedef struct
{
  const char *name;
  const char *value;
} Label;

typedef struct
{
  char    *key;               /* rendered label pairs, "" without labels */
  char   **labels;            /* name, value, …, sorted by name, for readers */
  gint64   start_time_us;     /* first reported, wall clock */
  double   value;             /* counter or gauge */
  double   sum;               /* histogram */
  guint64  count;
  guint64  bucket_counts[];   /* histogram, per bucket (not cumulative), +Inf last */
} Series;

typedef struct
{
  char         *name;
  char         *help;
  WbMetricType  type;
  double       *buckets;      /* upper bounds, ascending, without +Inf */
  guint         n_buckets;
  GHashTable   *series;       /* key → Series */
} Family;

typedef struct
{
  WbMetricsCollectFunc func;
  gpointer             user_data;
  GDestroyNotify       destroy;
} Collector;

struct _WbMetrics
{
  GObject     parent_instance;

  GMutex      mutex;
  GPtrArray  *families;          /* Family, in declaration order */
  GHashTable *families_by_name;  /* name → Family, borrowed from families */
  GArray     *collectors;        /* Collector */
};

G_DEFINE_FINAL_TYPE (WbMetrics, wb_metrics, G_TYPE_OBJECT)

static void
series_free (gpointer data)
{
  Series *series = data;

  g_free (series->key);
  g_strfreev (series->labels);
  g_free (series);
}

static void
family_free (gpointer data)
{
  Family *family = data;

  g_free (family->name);
  g_free (family->help);
  g_free (family->buckets);
  g_hash_table_unref (family->series);
  g_free (family);
}

static void
collector_clear (gpointer data)
{
  Collector *collector = data;

  if (collector->destroy != NULL)
    collector->destroy (collector->user_data);
}

static void
wb_metrics_finalize (GObject *object)
{
  WbMetrics *self = WB_METRICS (object);

  g_clear_pointer (&self->collectors, g_array_unref);
  g_clear_pointer (&self->families_by_name, g_hash_table_unref);
  g_clear_pointer (&self->families, g_ptr_array_unref);
  g_mutex_clear (&self->mutex);

  G_OBJECT_CLASS (wb_metrics_parent_class)->finalize (object);
}

static void
wb_metrics_class_init (WbMetricsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = wb_metrics_finalize;
}

static void
wb_metrics_init (WbMetrics *self)
{
  g_mutex_init (&self->mutex);
  self->families = g_ptr_array_new_with_free_func (family_free);
  self->families_by_name = g_hash_table_new (g_str_hash, g_str_equal);
  self->collectors = g_array_new (FALSE, FALSE, sizeof (Collector));
  g_array_set_clear_func (self->collectors, collector_clear);
}

/**
 * wb_metrics_new:
 *
 * Returns: (transfer full): an empty registry
 */
WbMetrics *
wb_metrics_new (void)
{
  return g_object_new (WB_TYPE_METRICS, NULL);
}

static gboolean
is_valid_name (const char *name,
               gboolean    allow_colon)
{
  if (name[0] == '\0' || g_ascii_isdigit (name[0]))
    return FALSE;
  for (const char *p = name; *p != '\0'; p++)
    {
      if (!g_ascii_isalnum (*p) && *p != '_' && !(allow_colon && *p == ':'))
        return FALSE;
    }
  return TRUE;
}

static gboolean
check_buckets (const char   *name,
               const double *buckets,
               guint         n_buckets)
{
  for (guint i = 0; i < n_buckets; i++)
    {
      if (isnan (buckets[i]) || (i > 0 && buckets[i] <= buckets[i - 1]))
        {
          g_critical ("Buckets of histogram %s must be strictly ascending numbers", name);
          return FALSE;
        }
    }
  return TRUE;
}

static Family *
family_new (const char   *name,
            WbMetricType  type,
            const char   *help,
            const double *buckets,
            guint         n_buckets)
{
  Family *family = g_new0 (Family, 1);

  if (type == WB_METRIC_HISTOGRAM && n_buckets == 0)
    {
      buckets = default_buckets;
      n_buckets = G_N_ELEMENTS (default_buckets);
    }
  /* "+Inf" is always rendered; an explicit one would be a duplicate. */
  if (n_buckets > 0 && isinf (buckets[n_buckets - 1]) && buckets[n_buckets - 1] > 0)
    n_buckets--;

  family->name = g_strdup (name);
  family->help = g_strdup (help);
  family->type = type;
  family->buckets = g_memdup2 (buckets, n_buckets * sizeof (double));
  family->n_buckets = n_buckets;
  family->series = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, series_free);
  return family;
}

static gboolean
check_declaration (const char   *name,
                   WbMetricType  type,
                   const double *buckets,
                   guint         n_buckets)
{
  if (!is_valid_name (name, TRUE))
    {
      g_critical ("Invalid metric name “%s”", name);
      return FALSE;
    }
  if (type != WB_METRIC_HISTOGRAM && (buckets != NULL || n_buckets != 0))
    {
      g_critical ("Metric %s: only histograms have buckets", name);
      return FALSE;
    }
  return type != WB_METRIC_HISTOGRAM || check_buckets (name, buckets, n_buckets);
}

/**
 * wb_metrics_declare:
 * @self: a #WbMetrics
 * @name: the family name, [a-zA-Z_:][a-zA-Z0-9_:]*
 * @type: counter, gauge or histogram
 * @help: the HELP text
 * @buckets: (array length=n_buckets) (nullable): histogram upper bounds,
 *   strictly ascending; %NULL for Prometheus' default buckets
 * @n_buckets: number of @buckets
 *
 * Declares a family once, before it is used. Declaring the same name again
 * with the same type does nothing, so components may declare what they use
 * independently; a different type is a programming error.
 */
void
wb_metrics_declare (WbMetrics    *self,
                    const char   *name,
                    WbMetricType  type,
                    const char   *help,
                    const double *buckets,
                    guint         n_buckets)
{
  Family *existing;
  WbMetricType existing_type = type;

  g_return_if_fail (WB_IS_METRICS (self));
  g_return_if_fail (name != NULL);
  g_return_if_fail (type <= WB_METRIC_HISTOGRAM);
  g_return_if_fail (help != NULL);
  g_return_if_fail (buckets != NULL || n_buckets == 0);

  if (!check_declaration (name, type, buckets, n_buckets))
    return;

  g_mutex_lock (&self->mutex);
  existing = g_hash_table_lookup (self->families_by_name, name);
  if (existing != NULL)
    existing_type = existing->type;
  else
    {
      Family *family = family_new (name, type, help, buckets, n_buckets);

      g_ptr_array_add (self->families, family);
      g_hash_table_insert (self->families_by_name, family->name, family);
    }
  g_mutex_unlock (&self->mutex);

  if (existing_type != type)
    g_critical ("Metric %s is already declared as a %s, not a %s",
                name, type_names[existing_type], type_names[type]);
}

static void
append_escaped (GString    *out,
                const char *text,
                gboolean    escape_quotes)
{
  for (const char *p = text; *p != '\0'; p++)
    {
      if (*p == '\\')
        g_string_append (out, "\\\\");
      else if (*p == '\n')
        g_string_append (out, "\\n");
      else if (*p == '"' && escape_quotes)
        g_string_append (out, "\\\"");
      else
        g_string_append_c (out, *p);
    }
}

/* Label values often come from outside (a route, a carrier name), so bad
 * UTF-8 is repaired rather than treated as a programming error. */
static char *
repaired_value (const Label *label)
{
  if (g_utf8_validate (label->value, -1, NULL))
    return g_strdup (label->value);
  return g_utf8_make_valid (label->value, -1);
}

static void
append_label (GString     *out,
              const Label *label)
{
  g_autofree char *value = repaired_value (label);

  g_string_append (out, label->name);
  g_string_append (out, "=\"");
  append_escaped (out, value, TRUE);
  g_string_append_c (out, '"');
}

static int
compare_labels (const void *a,
                const void *b)
{
  return strcmp (((const Label *) a)->name, ((const Label *) b)->name);
}

static gboolean
check_label (const char  *metric,
             Operation    operation,
             const Label *label)
{
  if (!is_valid_name (label->name, FALSE) || g_str_has_prefix (label->name, "__"))
    {
      g_critical ("%s: invalid label name “%s” for %s", operations[operation].function, label->name, metric);
      return FALSE;
    }
  if (label->value == NULL)
    {
      g_critical ("%s: label %s of %s has no value", operations[operation].function, label->name, metric);
      return FALSE;
    }
  if (operation == OPERATION_HISTOGRAM_OBSERVE && g_str_equal (label->name, "le"))
    {
      g_critical ("%s: label “le” is reserved for buckets (%s)", operations[operation].function, metric);
      return FALSE;
    }
  return TRUE;
}

static guint
collect_labels (const char *metric,
                Operation   operation,
                va_list     args,
                Label       labels[WB_METRICS_MAX_LABELS])
{
  const char *name;
  guint n_labels = 0;

  while ((name = va_arg (args, const char *)) != NULL)
    {
      if (n_labels == WB_METRICS_MAX_LABELS)
        {
          g_critical ("%s: more than %d labels for %s", operations[operation].function, WB_METRICS_MAX_LABELS, metric);
          return G_MAXUINT;
        }
      labels[n_labels].name = name;
      labels[n_labels].value = va_arg (args, const char *);
      if (!check_label (metric, operation, &labels[n_labels]))
        return G_MAXUINT;
      n_labels++;
    }
  return n_labels;
}

/* The key is the rendered label set with names sorted, so the same labels
 * given in any order land on the same series, and sorting keys sorts the
 * output. Sorts @labels in place. */
static char *
build_series_key (const char *metric,
                  Operation   operation,
                  Label      *labels,
                  guint       n_labels)
{
  GString *key;

  qsort (labels, n_labels, sizeof (Label), compare_labels);
  for (guint i = 1; i < n_labels; i++)
    {
      if (g_str_equal (labels[i].name, labels[i - 1].name))
        {
          g_critical ("%s: label %s given twice for %s", operations[operation].function, labels[i].name, metric);
          return NULL;
        }
    }

  key = g_string_new (NULL);
  for (guint i = 0; i < n_labels; i++)
    {
      if (i > 0)
        g_string_append_c (key, ',');
      append_label (key, &labels[i]);
    }
  return g_string_free (key, FALSE);
}

static gboolean
check_value (const char *metric,
             Operation   operation,
             double      value)
{
  gboolean counter = operations[operation].type == WB_METRIC_COUNTER;

  if (counter && (isnan (value) || value < 0))
    {
      g_critical ("%s: counter %s cannot take a negative or NaN value", operations[operation].function, metric);
      return FALSE;
    }
  return TRUE;
}

static char **
labels_to_strv (const Label *labels,
                guint        n_labels)
{
  char **strv = g_new (char *, 2 * n_labels + 1);

  for (guint i = 0; i < n_labels; i++)
    {
      strv[2 * i] = g_strdup (labels[i].name);
      strv[2 * i + 1] = repaired_value (&labels[i]);
    }
  strv[2 * n_labels] = NULL;
  return strv;
}

/* The labels are copied once, when the series is new: readers of the
 * registry get them without parsing the key back. */
static Series *
family_get_series (Family      *family,
                   char       **key,
                   const Label *labels,
                   guint        n_labels)
{
  Series *series = g_hash_table_lookup (family->series, *key);
  guint n_counts = family->type == WB_METRIC_HISTOGRAM ? family->n_buckets + 1 : 0;

  if (series == NULL)
    {
      series = g_malloc0 (sizeof (Series) + n_counts * sizeof (guint64));
      series->key = g_steal_pointer (key);
      series->labels = labels_to_strv (labels, n_labels);
      series->start_time_us = g_get_real_time ();
      g_hash_table_insert (family->series, series->key, series);
    }
  return series;
}

static void
series_apply (Series       *series,
              const Family *family,
              Operation     operation,
              double        value)
{
  guint bucket = 0;

  switch (operation)
    {
    case OPERATION_COUNTER_ADD:
    case OPERATION_GAUGE_ADD:
      series->value += value;
      break;
    case OPERATION_COUNTER_SET:
    case OPERATION_GAUGE_SET:
      series->value = value;
      break;
    case OPERATION_HISTOGRAM_OBSERVE:
      /* Bounds are inclusive ("le"); NaN fails every comparison and is
       * counted under +Inf only. */
      while (bucket < family->n_buckets && !(value <= family->buckets[bucket]))
        bucket++;
      series->bucket_counts[bucket]++;
      series->sum += value;
      series->count++;
      break;
    default:
      g_assert_not_reached ();
    }
}

static LookupResult
update_locked (WbMetrics     *self,
               const char    *name,
               Operation      operation,
               double         value,
               char         **key,
               const Label   *labels,
               guint          n_labels,
               WbMetricType  *out_type)
{
  Family *family = g_hash_table_lookup (self->families_by_name, name);

  if (family == NULL)
    return LOOKUP_UNDECLARED;
  if (family->type != operations[operation].type)
    {
      *out_type = family->type;
      return LOOKUP_WRONG_TYPE;
    }

  series_apply (family_get_series (family, key, labels, n_labels), family, operation, value);
  return LOOKUP_FOUND;
}

static void
update (WbMetrics  *self,
        const char *name,
        Operation   operation,
        double      value,
        va_list     args)
{
  Label labels[WB_METRICS_MAX_LABELS];
  guint n_labels;
  g_autofree char *key = NULL;
  WbMetricType actual_type = WB_METRIC_COUNTER;
  LookupResult result;

  if (!check_value (name, operation, value))
    return;
  n_labels = collect_labels (name, operation, args, labels);
  if (n_labels == G_MAXUINT || (key = build_series_key (name, operation, labels, n_labels)) == NULL)
    return;

  g_mutex_lock (&self->mutex);
  result = update_locked (self, name, operation, value, &key, labels, n_labels, &actual_type);
  g_mutex_unlock (&self->mutex);

  if (result == LOOKUP_UNDECLARED)
    g_critical ("%s: metric %s is undeclared", operations[operation].function, name);
  else if (result == LOOKUP_WRONG_TYPE)
    g_critical ("%s: metric %s is a %s", operations[operation].function, name, type_names[actual_type]);
}

/**
 * wb_metrics_counter_add:
 * @self: a #WbMetrics
 * @name: a declared counter
 * @value: how much to add, not negative
 * @...: label name, value, …, %NULL
 */
void
wb_metrics_counter_add (WbMetrics  *self,
                        const char *name,
                        double      value,
                        ...)
{
  va_list args;

  g_return_if_fail (WB_IS_METRICS (self));
  g_return_if_fail (name != NULL);

  va_start (args, value);
  update (self, name, OPERATION_COUNTER_ADD, value, args);
  va_end (args);
}

/**
 * wb_metrics_counter_set:
 * @self: a #WbMetrics
 * @name: a declared counter
 * @value: the counter's total, not negative
 * @...: label name, value, …, %NULL
 *
 * For collectors mirroring a total kept elsewhere (CPU seconds, a pool's
 * connection count). A value lower than the last one reads as a counter
 * reset, which Prometheus handles.
 */
void
wb_metrics_counter_set (WbMetrics  *self,
                        const char *name,
                        double      value,
                        ...)
{
  va_list args;

  g_return_if_fail (WB_IS_METRICS (self));
  g_return_if_fail (name != NULL);

  va_start (args, value);
  update (self, name, OPERATION_COUNTER_SET, value, args);
  va_end (args);
}

/**
 * wb_metrics_gauge_set:
 * @self: a #WbMetrics
 * @name: a declared gauge
 * @value: the new value
 * @...: label name, value, …, %NULL
 */
void
wb_metrics_gauge_set (WbMetrics  *self,
                      const char *name,
                      double      value,
                      ...)
{
  va_list args;

  g_return_if_fail (WB_IS_METRICS (self));
  g_return_if_fail (name != NULL);

  va_start (args, value);
  update (self, name, OPERATION_GAUGE_SET, value, args);
  va_end (args);
}

/**
 * wb_metrics_gauge_add:
 * @self: a #WbMetrics
 * @name: a declared gauge
 * @value: how much to add; negative to subtract (requests in flight)
 * @...: label name, value, …, %NULL
 */
void
wb_metrics_gauge_add (WbMetrics  *self,
                      const char *name,
                      double      value,
                      ...)
{
  va_list args;

  g_return_if_fail (WB_IS_METRICS (self));
  g_return_if_fail (name != NULL);

  va_start (args, value);
  update (self, name, OPERATION_GAUGE_ADD, value, args);
  va_end (args);
}

/**
 * wb_metrics_histogram_observe:
 * @self: a #WbMetrics
 * @name: a declared histogram
 * @value: the observation (a duration in seconds, a size in bytes)
 * @...: label name, value, …, %NULL; "le" is reserved
 */
void
wb_metrics_histogram_observe (WbMetrics  *self,
                              const char *name,
                              double      value,
                              ...)
{
  va_list args;

  g_return_if_fail (WB_IS_METRICS (self));
  g_return_if_fail (name != NULL);

  va_start (args, value);
  update (self, name, OPERATION_HISTOGRAM_OBSERVE, value, args);
  va_end (args);
}

/**
 * wb_metrics_add_collector:
 * @self: a #WbMetrics
 * @func: called at the start of every render
 * @user_data: passed to @func
 * @destroy: (nullable): frees @user_data when @self is finalized
 */
void
wb_metrics_add_collector (WbMetrics            *self,
                          WbMetricsCollectFunc  func,
                          gpointer              user_data,
                          GDestroyNotify        destroy)
{
  Collector collector = { func, user_data, destroy };

  g_return_if_fail (WB_IS_METRICS (self));
  g_return_if_fail (func != NULL);

  g_mutex_lock (&self->mutex);
  g_array_append_val (self->collectors, collector);
  g_mutex_unlock (&self->mutex);
}

/* Collectors call the setters, which take the mutex: run them from a copy
 * made under the lock, with the lock released. */
static void
run_collectors (WbMetrics *self)
{
  g_autofree Collector *snapshot = NULL;
  guint n_collectors;

  g_mutex_lock (&self->mutex);
  n_collectors = self->collectors->len;
  snapshot = g_memdup2 (self->collectors->data, n_collectors * sizeof (Collector));
  g_mutex_unlock (&self->mutex);

  for (guint i = 0; i < n_collectors; i++)
    snapshot[i].func (self, snapshot[i].user_data);
}

/* Integers print as integers (not 1e+06), other values as the shortest of
 * %.15g…%.17g that reads back exactly (0.1, not 0.10000000000000001), and
 * the specials as Prometheus spells them. */
static const char *
format_number (double  value,
               char   *buffer,
               gsize   size)
{
  if (isnan (value))
    return "NaN";
  if (isinf (value))
    return value > 0 ? "+Inf" : "-Inf";

  if (value == floor (value) && fabs (value) < 9007199254740992.0)
    {
      g_snprintf (buffer, size, "%" G_GINT64_FORMAT, (gint64) value);
      return buffer;
    }

  for (int precision = 15; precision <= 17; precision++)
    {
      char format[8];

      g_snprintf (format, sizeof format, "%%.%dg", precision);
      g_ascii_formatd (buffer, size, format, value);
      if (g_ascii_strtod (buffer, NULL) == value)
        break;
    }
  return buffer;
}

static void
append_sample (GString    *out,
               const char *name,
               const char *suffix,
               const char *key,
               const char *le,
               double      value)
{
  char number[G_ASCII_DTOSTR_BUF_SIZE];

  g_string_append (out, name);
  g_string_append (out, suffix);
  if (key[0] != '\0' || le != NULL)
    {
      g_string_append_c (out, '{');
      g_string_append (out, key);
      if (le != NULL)
        g_string_append_printf (out, "%sle=\"%s\"", key[0] != '\0' ? "," : "", le);
      g_string_append_c (out, '}');
    }
  g_string_append_c (out, ' ');
  g_string_append (out, format_number (value, number, sizeof number));
  g_string_append_c (out, '\n');
}

static void
append_histogram (GString      *out,
                  const Family *family,
                  const Series *series)
{
  char bound[G_ASCII_DTOSTR_BUF_SIZE];
  guint64 cumulative = 0;

  for (guint i = 0; i <= family->n_buckets; i++)
    {
      const char *le = i < family->n_buckets
                       ? format_number (family->buckets[i], bound, sizeof bound)
                       : "+Inf";

      cumulative += series->bucket_counts[i];
      append_sample (out, family->name, "_bucket", series->key, le, (double) cumulative);
    }
  append_sample (out, family->name, "_sum", series->key, NULL, series->sum);
  append_sample (out, family->name, "_count", series->key, NULL, (double) series->count);
}

static int
compare_series (gconstpointer a,
                gconstpointer b)
{
  return strcmp (((const Series *) a)->key, ((const Series *) b)->key);
}

static void
append_family (GString      *out,
               const Family *family)
{
  GList *series_list = g_list_sort (g_hash_table_get_values (family->series), compare_series);

  g_string_append_printf (out, "# HELP %s ", family->name);
  append_escaped (out, family->help, FALSE);
  g_string_append_printf (out, "\n# TYPE %s %s\n", family->name, type_names[family->type]);

  for (const GList *l = series_list; l != NULL; l = l->next)
    {
      const Series *series = l->data;

      if (family->type == WB_METRIC_HISTOGRAM)
        append_histogram (out, family, series);
      else
        append_sample (out, family->name, "", series->key, NULL, series->value);
    }
  g_list_free (series_list);
}

/**
 * wb_metrics_render:
 * @self: a #WbMetrics
 *
 * Runs the collectors, then renders every family in declaration order, each
 * family's series sorted by their labels. A family with no series yet is
 * rendered as its HELP and TYPE lines alone.
 *
 * Returns: (transfer full): the exposition text (text/plain; version=0.0.4)
 */
char *
wb_metrics_render (WbMetrics *self)
{
  GString *out;

  g_return_val_if_fail (WB_IS_METRICS (self), NULL);

  run_collectors (self);

  out = g_string_new (NULL);
  g_mutex_lock (&self->mutex);
  for (guint i = 0; i < self->families->len; i++)
    append_family (out, g_ptr_array_index (self->families, i));
  g_mutex_unlock (&self->mutex);

  return g_string_free (out, FALSE);
}

/* A family as it was at one moment: strings and bounds are borrowed from
 * the registry (families and series are never removed), values copied. */
typedef struct
{
  WbMetricFamily  family;
  WbMetricSeries *series;
  guint64        *bucket_counts;
} FamilySnapshot;

static void
family_snapshot_free (gpointer data)
{
  FamilySnapshot *snapshot = data;

  g_free (snapshot->series);
  g_free (snapshot->bucket_counts);
  g_free (snapshot);
}

static FamilySnapshot *
family_snapshot_new (const Family *family)
{
  FamilySnapshot *snapshot = g_new0 (FamilySnapshot, 1);
  GList *series_list = g_list_sort (g_hash_table_get_values (family->series), compare_series);
  guint n_series = g_hash_table_size (family->series);
  guint n_counts = family->type == WB_METRIC_HISTOGRAM ? family->n_buckets + 1 : 0;
  guint i = 0;

  snapshot->series = g_new0 (WbMetricSeries, n_series);
  snapshot->bucket_counts = g_new (guint64, n_series * n_counts);
  for (const GList *l = series_list; l != NULL; l = l->next, i++)
    {
      const Series *series = l->data;
      guint64 *counts = NULL;

      if (n_counts > 0)
        {
          counts = snapshot->bucket_counts + i * n_counts;
          memcpy (counts, series->bucket_counts, n_counts * sizeof (guint64));
        }
      snapshot->series[i] = (WbMetricSeries) {
        .labels = (const char * const *) series->labels,
        .start_time_us = series->start_time_us,
        .value = series->value,
        .count = series->count,
        .sum = series->sum,
        .bucket_counts = counts,
      };
    }
  g_list_free (series_list);

  snapshot->family = (WbMetricFamily) {
    .name = family->name,
    .help = family->help,
    .type = family->type,
    .buckets = family->buckets,
    .n_buckets = family->n_buckets,
    .series = snapshot->series,
    .n_series = n_series,
  };
  return snapshot;
}

/**
 * wb_metrics_foreach_family:
 * @self: a #WbMetrics
 * @func: called once per family, in declaration order
 * @user_data: passed to @func
 *
 * Reads the registry without going through the exposition text (for an
 * exporter in another format). Runs the collectors, as a render does, then
 * copies every family's values at one moment under the lock; @func runs
 * afterwards with no lock held, so it may report into the registry. What
 * @func is given is valid during the call only.
 */
void
wb_metrics_foreach_family (WbMetrics           *self,
                           WbMetricsFamilyFunc  func,
                           gpointer             user_data)
{
  g_autoptr(GPtrArray) snapshots = NULL;

  g_return_if_fail (WB_IS_METRICS (self));
  g_return_if_fail (func != NULL);

  run_collectors (self);

  g_mutex_lock (&self->mutex);
  snapshots = g_ptr_array_new_full (self->families->len, family_snapshot_free);
  for (guint i = 0; i < self->families->len; i++)
    g_ptr_array_add (snapshots, family_snapshot_new (g_ptr_array_index (self->families, i)));
  g_mutex_unlock (&self->mutex);

  for (guint i = 0; i < snapshots->len; i++)
    func (&((FamilySnapshot *) g_ptr_array_index (snapshots, i))->family, user_data);
}
