// SPDX-License-Identifier: GPL-3.0-or-later
/* OpenTelemetry export over OTLP/HTTP with JSON bodies (the protobuf JSON
 * mapping with OTLP's exceptions: lowerCamelCase names, enums as numbers,
 * 64-bit integers as decimal strings, trace and span ids as hex).
 *
 * Metrics are cumulative, so a failed metrics export loses nothing: the
 * next one carries the totals. Spans wait in a bounded queue; a batch that
 * fails for a transient reason goes back to its head, and whatever the
 * bound pushes out (oldest first) is counted, never kept. One export per
 * signal is in flight from the timers, each with a time limit, so a
 * collector that is down or silent costs a request per period and a fixed
 * amount of memory. */

#include "config.h"

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <math.h>
#include <string.h>

#include "wb-json-writer.h"
#include "wb-otlp-exporter.h"

#define DEFAULT_EXPORT_INTERVAL_MS 60000
#define DEFAULT_SPAN_DELAY_MS      5000   /* OTEL_BSP_SCHEDULE_DELAY's default */
#define DEFAULT_TIMEOUT_MS         10000  /* OTEL_EXPORTER_OTLP_TIMEOUT's default */
/* Bounds the memory of a queued span: a URL path may be up to the header limit. */
#define MAX_STRING_LENGTH          1024

#define SERVICE_NAME "waybilld"
#define SCOPE_NAME   "waybill"

G_DEFINE_QUARK (wb-otlp-error-quark, wb_otlp_error)

typedef enum
{
  SIGNAL_METRICS,
  SIGNAL_TRACES,
  N_SIGNALS,
} Signal;

static const char *signal_names[N_SIGNALS] = { "metrics", "traces" };
static const char *signal_paths[N_SIGNALS] = { "/v1/metrics", "/v1/traces" };

/* A recorded span, with its strings packed after it in one allocation. */
typedef struct
{
  WbOtlpSpan      span;
  WbOtlpAttribute attributes[];
} QueuedSpan;

typedef struct
{
  WbOtlpExporter *exporter;
  Signal          signal;
  SoupMessage    *message;
  GPtrArray      *spans;         /* QueuedSpan: the batch, NULL for metrics */
  GCancellable   *cancellable;
  GSource        *timeout;
  gboolean        timed_out;
} Export;

typedef struct
{
  GSource *cancel_source;
  guint    failures;
  char    *last_failure;
} Flush;

struct _WbOtlpExporter
{
  GObject       parent_instance;

  WbMetrics    *metrics;
  SoupSession  *session;
  GMainContext *context;
  GUri         *urls[N_SIGNALS];
  char         *log_urls[N_SIGNALS];    /* without a password */
  char         *host_name;
  char         *instance_id;
  guint         export_interval_ms;
  guint         span_delay_ms;
  guint         timeout_ms;
  GSource      *metrics_timer;
  GSource      *span_timer;
  GSource      *span_kick;              /* ready time set when a batch is waiting */

  GMutex        mutex;                  /* guards spans */
  GQueue        spans;                  /* QueuedSpan, oldest first */

  /* Main context only. */
  GPtrArray    *exports;                /* Export in flight */
  guint         in_flight[N_SIGNALS];
  gboolean      failing[N_SIGNALS];     /* said once per outage */
  gboolean      stopped;
  GPtrArray    *flushes;                /* GTask waiting for exports to end */
};

G_DEFINE_FINAL_TYPE (WbOtlpExporter, wb_otlp_exporter, G_TYPE_OBJECT)

/* ---- ids ---------------------------------------------------------------- */

static gboolean
is_all_zero (const guint8 *bytes,
             gsize         size)
{
  for (gsize i = 0; i < size; i++)
    {
      if (bytes[i] != 0)
        return FALSE;
    }
  return TRUE;
}

/* W3C Trace Context allows lowercase hex only. */
static gboolean
parse_hex (const char *text,
           guint8     *out,
           gsize       size)
{
  for (gsize i = 0; i < 2 * size; i++)
    {
      if (!g_ascii_isxdigit (text[i]) || g_ascii_isupper (text[i]))
        return FALSE;
    }
  for (gsize i = 0; i < size; i++)
    out[i] = g_ascii_xdigit_value (text[2 * i]) << 4 | g_ascii_xdigit_value (text[2 * i + 1]);
  return TRUE;
}

/**
 * wb_otlp_parse_traceparent:
 * @header: (nullable): a W3C `traceparent` header value
 * @trace_id: (out caller-allocates): the trace id
 * @parent_span_id: (out caller-allocates): the caller's span id
 *
 * Accepts version 00 exactly and later versions by their first four
 * fields, as W3C Trace Context asks.
 *
 * Returns: whether @header is a valid traceparent
 */
gboolean
wb_otlp_parse_traceparent (const char *header,
                           guint8      trace_id[16],
                           guint8      parent_span_id[8])
{
  /* version "-" trace-id "-" parent-id "-" flags */
  const gsize length = 2 + 1 + 32 + 1 + 16 + 1 + 2;
  guint8 version, flags, trace[16], parent[8];

  if (header == NULL || strlen (header) < length
      || header[2] != '-' || header[35] != '-' || header[52] != '-')
    return FALSE;
  if (!parse_hex (header, &version, 1) || version == 0xff
      || !parse_hex (header + 3, trace, 16) || !parse_hex (header + 36, parent, 8)
      || !parse_hex (header + 53, &flags, 1))
    return FALSE;
  if (header[length] != '\0' && (version == 0 || header[length] != '-'))
    return FALSE;
  if (is_all_zero (trace, 16) || is_all_zero (parent, 8))
    return FALSE;

  memcpy (trace_id, trace, 16);
  memcpy (parent_span_id, parent, 8);
  return TRUE;
}

/**
 * wb_otlp_random_id:
 * @id: (out caller-allocates) (array length=size): where the id goes
 *
 * Fills @id with random bytes, never all zero (an invalid id).
 */
void
wb_otlp_random_id (guint8 *id,
                   gsize   size)
{
  g_return_if_fail (id != NULL && size > 0);

  do
    {
      for (gsize i = 0; i < size; i += 4)
        {
          guint32 random = g_random_int ();

          memcpy (id + i, &random, MIN (4, size - i));
        }
    }
  while (is_all_zero (id, size));
}

static void
hex_encode (const guint8 *bytes,
            gsize         size,
            char         *out)
{
  static const char digits[] = "0123456789abcdef";

  for (gsize i = 0; i < size; i++)
    {
      out[2 * i] = digits[bytes[i] >> 4];
      out[2 * i + 1] = digits[bytes[i] & 0xf];
    }
  out[2 * size] = '\0';
}

/* ---- the span queue ----------------------------------------------------- */

static gsize
bounded_length (const char *text)
{
  return strnlen (text, MAX_STRING_LENGTH);
}

static const char *
pack_string (char       **cursor,
             const char  *text)
{
  gsize length = bounded_length (text);
  char *copy = *cursor;

  memcpy (copy, text, length);
  copy[length] = '\0';
  *cursor += length + 1;
  return copy;
}

/* One allocation per span: recording runs on request paths. Strings are
 * cut at MAX_STRING_LENGTH bytes here and made valid UTF-8 at export. */
static QueuedSpan *
queued_span_new (const WbOtlpSpan *span)
{
  gsize strings = bounded_length (span->name) + 1;
  QueuedSpan *copy;
  char *cursor;

  for (guint i = 0; i < span->n_attributes; i++)
    {
      strings += bounded_length (span->attributes[i].key) + 1;
      if (span->attributes[i].string_value != NULL)
        strings += bounded_length (span->attributes[i].string_value) + 1;
    }

  copy = g_malloc (sizeof (QueuedSpan) + span->n_attributes * sizeof (WbOtlpAttribute) + strings);
  cursor = (char *) &copy->attributes[span->n_attributes];
  copy->span = *span;
  copy->span.name = pack_string (&cursor, span->name);
  copy->span.attributes = copy->attributes;
  for (guint i = 0; i < span->n_attributes; i++)
    {
      const WbOtlpAttribute *attribute = &span->attributes[i];

      copy->attributes[i].key = pack_string (&cursor, attribute->key);
      copy->attributes[i].string_value = attribute->string_value
                                         ? pack_string (&cursor, attribute->string_value) : NULL;
      copy->attributes[i].int_value = attribute->int_value;
    }
  return copy;
}

static void
count_dropped_spans (WbOtlpExporter *self,
                     guint           dropped)
{
  if (dropped > 0)
    wb_metrics_counter_add (self->metrics, "waybill_otlp_spans_dropped_total", dropped, NULL);
}

static guint
trim_spans_locked (WbOtlpExporter *self)
{
  guint dropped = 0;

  while (self->spans.length > WB_OTLP_MAX_QUEUED_SPANS)
    {
      g_free (g_queue_pop_head (&self->spans));
      dropped++;
    }
  return dropped;
}

static GPtrArray *
take_span_batch (WbOtlpExporter *self)
{
  g_autoptr(GPtrArray) batch = g_ptr_array_new_with_free_func (g_free);
  QueuedSpan *span;

  g_mutex_lock (&self->mutex);
  while (batch->len < WB_OTLP_SPAN_BATCH_SIZE && (span = g_queue_pop_head (&self->spans)) != NULL)
    g_ptr_array_add (batch, span);
  g_mutex_unlock (&self->mutex);

  return batch->len > 0 ? g_steal_pointer (&batch) : NULL;
}

/* A batch that may succeed later goes back where it was, at the head; the
 * bound then drops the oldest, which may be this very batch. */
static void
requeue_span_batch (WbOtlpExporter *self,
                    GPtrArray      *batch)
{
  guint dropped;

  g_mutex_lock (&self->mutex);
  for (guint i = batch->len; i > 0; i--)
    g_queue_push_head (&self->spans, g_ptr_array_steal_index (batch, i - 1));
  dropped = trim_spans_locked (self);
  g_mutex_unlock (&self->mutex);
  count_dropped_spans (self, dropped);
}

/**
 * wb_otlp_exporter_record_span:
 * @self: a #WbOtlpExporter
 * @span: a finished span; copied
 *
 * Queues @span for export. Callable from any thread; takes a lock and one
 * allocation. When the queue holds %WB_OTLP_MAX_QUEUED_SPANS, the oldest
 * span is dropped and counted in waybill_otlp_spans_dropped_total.
 */
void
wb_otlp_exporter_record_span (WbOtlpExporter   *self,
                              const WbOtlpSpan *span)
{
  QueuedSpan *copy;
  guint dropped, waiting;

  g_return_if_fail (WB_IS_OTLP_EXPORTER (self));
  g_return_if_fail (span != NULL && span->name != NULL);
  g_return_if_fail (span->attributes != NULL || span->n_attributes == 0);

  copy = queued_span_new (span);
  g_mutex_lock (&self->mutex);
  g_queue_push_tail (&self->spans, copy);
  dropped = trim_spans_locked (self);
  waiting = self->spans.length;
  g_mutex_unlock (&self->mutex);

  count_dropped_spans (self, dropped);
  /* A no-op once the exporter is stopped and its source destroyed. */
  if (waiting >= WB_OTLP_SPAN_BATCH_SIZE)
    g_source_set_ready_time (self->span_kick, 0);
}

/**
 * wb_otlp_exporter_get_spans_waiting:
 *
 * Returns: the number of spans queued and not yet in an export
 */
guint
wb_otlp_exporter_get_spans_waiting (WbOtlpExporter *self)
{
  g_autoptr(GMutexLocker) locker = NULL;

  g_return_val_if_fail (WB_IS_OTLP_EXPORTER (self), 0);

  locker = g_mutex_locker_new (&self->mutex);
  return self->spans.length;
}

/* ---- JSON --------------------------------------------------------------- */

static void
begin_member_object (JsonBuilder *builder,
                     const char  *name)
{
  json_builder_set_member_name (builder, name);
  json_builder_begin_object (builder);
}

static void
begin_member_array (JsonBuilder *builder,
                    const char  *name)
{
  json_builder_set_member_name (builder, name);
  json_builder_begin_array (builder);
}

static void
add_string_member (JsonBuilder *builder,
                   const char  *name,
                   const char  *value)
{
  json_builder_set_member_name (builder, name);
  json_builder_add_string_value (builder, value);
}

/* Outside input (a path, a label) may be bad UTF-8, which would make the
 * whole request invalid JSON: repaired here. */
static void
add_text_member (JsonBuilder *builder,
                 const char  *name,
                 const char  *text)
{
  g_autofree char *repaired = NULL;

  if (!g_utf8_validate (text, -1, NULL))
    text = repaired = g_utf8_make_valid (text, -1);
  add_string_member (builder, name, text);
}

/* What JSON cannot hold as a number, proto3's JSON mapping spells out. */
static void
add_double_member (JsonBuilder *builder,
                   const char  *name,
                   double       value)
{
  json_builder_set_member_name (builder, name);
  if (isnan (value))
    json_builder_add_string_value (builder, "NaN");
  else if (isinf (value))
    json_builder_add_string_value (builder, value > 0 ? "Infinity" : "-Infinity");
  else
    json_builder_add_double_value (builder, value);
}

/* 64-bit integers are decimal strings in OTLP/JSON. */
static void
add_uint64_member (JsonBuilder *builder,
                   const char  *name,
                   guint64      value)
{
  char text[24];

  g_snprintf (text, sizeof text, "%" G_GUINT64_FORMAT, value);
  add_string_member (builder, name, text);
}

static void
add_time_member (JsonBuilder *builder,
                 const char  *name,
                 gint64       time_us)
{
  add_uint64_member (builder, name, (guint64) MAX (time_us, 0) * 1000);
}

static void
add_attribute (JsonBuilder *builder,
               const char  *key,
               const char  *string_value,
               gint64       int_value)
{
  json_builder_begin_object (builder);
  add_string_member (builder, "key", key);
  begin_member_object (builder, "value");
  if (string_value == NULL)
    {
      char text[24];

      g_snprintf (text, sizeof text, "%" G_GINT64_FORMAT, int_value);
      add_string_member (builder, "intValue", text);
    }
  else
    add_text_member (builder, "stringValue", string_value);
  json_builder_end_object (builder);
  json_builder_end_object (builder);
}

static void
add_resource (WbOtlpExporter *self,
              JsonBuilder    *builder)
{
  begin_member_object (builder, "resource");
  begin_member_array (builder, "attributes");
  add_attribute (builder, "service.name", SERVICE_NAME, 0);
  add_attribute (builder, "service.version", PACKAGE_VERSION, 0);
  add_attribute (builder, "service.instance.id", self->instance_id, 0);
  add_attribute (builder, "host.name", self->host_name, 0);
  json_builder_end_array (builder);
  json_builder_end_object (builder);
}

/* {"resource<Signal>s":[{"resource":…,"scope<Signal>s":[{"scope":…,"<items>":[ */
static JsonBuilder *
begin_request (WbOtlpExporter *self,
               const char     *resource_list,
               const char     *scope_list,
               const char     *items)
{
  JsonBuilder *builder = json_builder_new ();

  json_builder_begin_object (builder);
  begin_member_array (builder, resource_list);
  json_builder_begin_object (builder);
  add_resource (self, builder);
  begin_member_array (builder, scope_list);
  json_builder_begin_object (builder);
  begin_member_object (builder, "scope");
  add_string_member (builder, "name", SCOPE_NAME);
  add_string_member (builder, "version", PACKAGE_VERSION);
  json_builder_end_object (builder);
  begin_member_array (builder, items);
  return builder;
}

static JsonNode *
end_request (JsonBuilder *builder)
{
  json_builder_end_array (builder);   /* items */
  json_builder_end_object (builder);
  json_builder_end_array (builder);   /* scope list */
  json_builder_end_object (builder);
  json_builder_end_array (builder);   /* resource list */
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

typedef struct
{
  JsonBuilder *builder;
  gint64       now_us;
} MetricsRequest;

static void
add_labels (JsonBuilder        *builder,
            const char * const *labels)
{
  begin_member_array (builder, "attributes");
  for (guint i = 0; labels[i] != NULL; i += 2)
    add_attribute (builder, labels[i], labels[i + 1], 0);
  json_builder_end_array (builder);
}

static void
add_histogram_values (JsonBuilder          *builder,
                      const WbMetricFamily *family,
                      const WbMetricSeries *series)
{
  add_uint64_member (builder, "count", series->count);
  add_double_member (builder, "sum", series->sum);
  begin_member_array (builder, "bucketCounts");
  for (guint i = 0; i <= family->n_buckets; i++)
    {
      char text[24];

      g_snprintf (text, sizeof text, "%" G_GUINT64_FORMAT, series->bucket_counts[i]);
      json_builder_add_string_value (builder, text);
    }
  json_builder_end_array (builder);
  begin_member_array (builder, "explicitBounds");
  for (guint i = 0; i < family->n_buckets; i++)
    json_builder_add_double_value (builder, family->buckets[i]);
  json_builder_end_array (builder);
}

static void
add_data_point (JsonBuilder          *builder,
                const WbMetricFamily *family,
                const WbMetricSeries *series,
                gint64                now_us)
{
  json_builder_begin_object (builder);
  add_labels (builder, series->labels);
  /* A gauge has no start: each point stands alone. */
  if (family->type != WB_METRIC_GAUGE)
    add_time_member (builder, "startTimeUnixNano", MIN (series->start_time_us, now_us));
  add_time_member (builder, "timeUnixNano", now_us);
  if (family->type == WB_METRIC_HISTOGRAM)
    add_histogram_values (builder, family, series);
  else
    add_double_member (builder, "asDouble", series->value);
  json_builder_end_object (builder);
}

/* Counters are cumulative monotonic sums, as Prometheus counters are. */
static void
add_metric (const WbMetricFamily *family,
            gpointer              user_data)
{
  MetricsRequest *request = user_data;
  JsonBuilder *builder = request->builder;
  static const char *data_names[] = {
    [WB_METRIC_COUNTER] = "sum",
    [WB_METRIC_GAUGE] = "gauge",
    [WB_METRIC_HISTOGRAM] = "histogram",
  };

  if (family->n_series == 0)
    return;

  json_builder_begin_object (builder);
  add_string_member (builder, "name", family->name);
  add_string_member (builder, "description", family->help);
  begin_member_object (builder, data_names[family->type]);
  if (family->type != WB_METRIC_GAUGE)
    {
      json_builder_set_member_name (builder, "aggregationTemporality");
      json_builder_add_int_value (builder, 2);  /* AGGREGATION_TEMPORALITY_CUMULATIVE */
    }
  if (family->type == WB_METRIC_COUNTER)
    {
      json_builder_set_member_name (builder, "isMonotonic");
      json_builder_add_boolean_value (builder, TRUE);
    }
  begin_member_array (builder, "dataPoints");
  for (guint i = 0; i < family->n_series; i++)
    add_data_point (builder, family, &family->series[i], request->now_us);
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  json_builder_end_object (builder);
}

static JsonNode *
build_metrics_request (WbOtlpExporter *self)
{
  g_autoptr(JsonBuilder) builder = begin_request (self, "resourceMetrics", "scopeMetrics", "metrics");
  MetricsRequest request = { builder, g_get_real_time () };

  wb_metrics_foreach_family (self->metrics, add_metric, &request);
  return end_request (builder);
}

static void
add_span (JsonBuilder      *builder,
          const WbOtlpSpan *span)
{
  char hex[33];

  json_builder_begin_object (builder);
  hex_encode (span->trace_id, 16, hex);
  add_string_member (builder, "traceId", hex);
  hex_encode (span->span_id, 8, hex);
  add_string_member (builder, "spanId", hex);
  if (!is_all_zero (span->parent_span_id, 8))
    {
      hex_encode (span->parent_span_id, 8, hex);
      add_string_member (builder, "parentSpanId", hex);
    }
  add_text_member (builder, "name", span->name);
  json_builder_set_member_name (builder, "kind");
  json_builder_add_int_value (builder, span->kind);
  add_time_member (builder, "startTimeUnixNano", span->start_time_us);
  add_time_member (builder, "endTimeUnixNano", span->end_time_us);
  begin_member_array (builder, "attributes");
  for (guint i = 0; i < span->n_attributes; i++)
    add_attribute (builder, span->attributes[i].key, span->attributes[i].string_value,
                   span->attributes[i].int_value);
  json_builder_end_array (builder);
  begin_member_object (builder, "status");
  json_builder_set_member_name (builder, "code");
  json_builder_add_int_value (builder, span->status);
  json_builder_end_object (builder);
  json_builder_end_object (builder);
}

static JsonNode *
build_traces_request (WbOtlpExporter *self,
                      GPtrArray      *batch)
{
  g_autoptr(JsonBuilder) builder = begin_request (self, "resourceSpans", "scopeSpans", "spans");

  for (guint i = 0; i < batch->len; i++)
    add_span (builder, &((QueuedSpan *) g_ptr_array_index (batch, i))->span);
  return end_request (builder);
}

/* ---- exports ------------------------------------------------------------ */

static void
export_free (Export *export)
{
  if (export->timeout != NULL)
    g_source_destroy (export->timeout);
  g_clear_pointer (&export->timeout, g_source_unref);
  g_clear_pointer (&export->spans, g_ptr_array_unref);
  g_clear_object (&export->cancellable);
  g_clear_object (&export->message);
  g_clear_object (&export->exporter);
  g_free (export);
}

static void
flush_free (gpointer data)
{
  Flush *flush = data;

  if (flush->cancel_source != NULL)
    g_source_destroy (flush->cancel_source);
  g_clear_pointer (&flush->cancel_source, g_source_unref);
  g_free (flush->last_failure);
  g_free (flush);
}

static void
complete_flushes_if_idle (WbOtlpExporter *self)
{
  g_autoptr(GPtrArray) flushes = NULL;

  if (self->exports->len > 0 || self->flushes->len == 0)
    return;

  flushes = g_steal_pointer (&self->flushes);
  self->flushes = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < flushes->len; i++)
    {
      GTask *task = g_ptr_array_index (flushes, i);
      Flush *flush = g_task_get_task_data (task);

      if (flush->failures == 0)
        g_task_return_boolean (task, TRUE);
      else
        g_task_return_new_error (task, WB_OTLP_ERROR, WB_OTLP_ERROR_EXPORT_FAILED,
                                 "%u exports failed, the last: %s", flush->failures, flush->last_failure);
    }
}

/* One line when an outage starts and one when it ends, however many
 * attempts fail in between; every attempt is counted. */
static void
note_outcome (WbOtlpExporter *self,
              Signal          signal,
              const GError   *error)
{
  wb_metrics_counter_add (self->metrics, "waybill_otlp_exports_total", 1,
                          "signal", signal_names[signal], "outcome", error ? "failure" : "success", NULL);
  if (error != NULL && !self->failing[signal])
    g_warning ("OpenTelemetry export of %s to %s failed: %s; retrying (said once until it works again)",
               signal_names[signal], self->log_urls[signal], error->message);
  else if (error == NULL && self->failing[signal])
    g_message ("OpenTelemetry export of %s to %s works again", signal_names[signal], self->log_urls[signal]);
  self->failing[signal] = error != NULL;

  for (guint i = 0; error != NULL && i < self->flushes->len; i++)
    {
      Flush *flush = g_task_get_task_data (g_ptr_array_index (self->flushes, i));

      flush->failures++;
      g_free (flush->last_failure);
      flush->last_failure = g_strdup_printf ("%s: %s", signal_names[signal], error->message);
    }
}

/* OTLP/HTTP: these answers and any transport fault may succeed later;
 * anything else means the collector will never take the batch. */
static gboolean
is_retryable (guint status)
{
  return status == 0 || status == 429 || status == 502 || status == 503 || status == 504;
}

static GError *
export_error (Export *export,
              GBytes *reply,
              GError *transport_error)
{
  guint status = soup_message_get_status (export->message);

  if (export->timed_out)
    return g_error_new (WB_OTLP_ERROR, WB_OTLP_ERROR_EXPORT_FAILED, "no answer within %u ms",
                        export->exporter->timeout_ms);
  if (reply == NULL)
    return g_error_copy (transport_error);
  if (!SOUP_STATUS_IS_SUCCESSFUL (status))
    return g_error_new (WB_OTLP_ERROR, WB_OTLP_ERROR_EXPORT_FAILED, "HTTP %u %s", status,
                        soup_message_get_reason_phrase (export->message));
  return NULL;
}

static void
on_export_done (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  Export *export = user_data;
  WbOtlpExporter *self = export->exporter;
  g_autoptr(GError) transport_error = NULL;
  g_autoptr(GBytes) reply = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &transport_error);
  g_autoptr(GError) error = export_error (export, reply, transport_error);
  guint status = reply != NULL ? soup_message_get_status (export->message) : 0;

  /* The export holds the last reference to the exporter, perhaps: freed last. */
  g_ptr_array_remove_fast (self->exports, export);
  self->in_flight[export->signal]--;
  note_outcome (self, export->signal, error);
  if (error != NULL && export->spans != NULL)
    {
      if (is_retryable (status))
        requeue_span_batch (self, export->spans);
      else
        count_dropped_spans (self, export->spans->len);
    }
  /* A backlog drains batch after batch while the collector keeps up. */
  if (error == NULL && export->spans != NULL && !self->stopped
      && wb_otlp_exporter_get_spans_waiting (self) >= WB_OTLP_SPAN_BATCH_SIZE)
    g_source_set_ready_time (self->span_kick, 0);

  complete_flushes_if_idle (self);
  export_free (export);
}

static gboolean
on_export_timeout (gpointer user_data)
{
  Export *export = user_data;

  export->timed_out = TRUE;
  g_cancellable_cancel (export->cancellable);
  return G_SOURCE_REMOVE;
}

static void
start_export (WbOtlpExporter *self,
              Signal          signal,
              JsonNode       *body,
              GPtrArray      *spans)
{
  Export *export = g_new0 (Export, 1);
  char *text = wb_json_to_string (body);
  g_autoptr(GBytes) bytes = g_bytes_new_take (text, strlen (text));

  export->exporter = g_object_ref (self);
  export->signal = signal;
  export->spans = spans;
  export->cancellable = g_cancellable_new ();
  export->message = soup_message_new_from_uri (SOUP_METHOD_POST, self->urls[signal]);
  soup_message_set_request_body_from_bytes (export->message, "application/json", bytes);
  export->timeout = g_timeout_source_new (self->timeout_ms);
  g_source_set_callback (export->timeout, on_export_timeout, export, NULL);
  g_source_set_static_name (export->timeout, "[waybill] OTLP export timeout");
  g_source_attach (export->timeout, self->context);

  g_ptr_array_add (self->exports, export);
  self->in_flight[signal]++;
  soup_session_send_and_read_async (self->session, export->message, G_PRIORITY_DEFAULT,
                                    export->cancellable, on_export_done, export);
}

static void
export_metrics (WbOtlpExporter *self)
{
  g_autoptr(JsonNode) body = build_metrics_request (self);

  start_export (self, SIGNAL_METRICS, body, NULL);
}

/* Returns whether a batch was waiting. */
static gboolean
export_span_batch (WbOtlpExporter *self)
{
  GPtrArray *batch = take_span_batch (self);
  g_autoptr(JsonNode) body = NULL;

  if (batch == NULL)
    return FALSE;
  body = build_traces_request (self, batch);
  start_export (self, SIGNAL_TRACES, body, batch);
  return TRUE;
}

/* ---- timers ------------------------------------------------------------- */

static gboolean
on_metrics_timer (gpointer user_data)
{
  WbOtlpExporter *self = user_data;

  if (self->in_flight[SIGNAL_METRICS] == 0)
    export_metrics (self);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_span_timer (gpointer user_data)
{
  WbOtlpExporter *self = user_data;

  if (self->in_flight[SIGNAL_TRACES] == 0)
    export_span_batch (self);
  return G_SOURCE_CONTINUE;
}

/* Fires when its ready time is set: the thread-safe way for
 * wb_otlp_exporter_record_span() to wake the exporter's context. */
static gboolean
kick_source_dispatch (GSource     *source,
                      GSourceFunc  callback,
                      gpointer     user_data)
{
  g_source_set_ready_time (source, -1);
  return callback (user_data);
}

static GSourceFuncs kick_source_funcs = {
  .dispatch = kick_source_dispatch,
};

static GSource *
replace_source (WbOtlpExporter *self,
                GSource        *old,
                GSource        *source,
                GSourceFunc     func,
                const char     *name)
{
  if (old != NULL)
    {
      g_source_destroy (old);
      g_source_unref (old);
    }
  g_source_set_callback (source, func, self, NULL);
  g_source_set_static_name (source, name);
  g_source_attach (source, self->context);
  return source;
}

/**
 * wb_otlp_exporter_set_export_interval:
 * @interval_ms: time between metrics exports (default 60 s)
 */
void
wb_otlp_exporter_set_export_interval (WbOtlpExporter *self,
                                      guint           interval_ms)
{
  g_return_if_fail (WB_IS_OTLP_EXPORTER (self));
  g_return_if_fail (interval_ms > 0);

  self->export_interval_ms = interval_ms;
  if (!self->stopped)
    self->metrics_timer = replace_source (self, self->metrics_timer, g_timeout_source_new (interval_ms),
                                          on_metrics_timer, "[waybill] OTLP metrics export");
}

/**
 * wb_otlp_exporter_set_span_delay:
 * @delay_ms: the longest a span waits for a batch to fill (default 5 s)
 */
void
wb_otlp_exporter_set_span_delay (WbOtlpExporter *self,
                                 guint           delay_ms)
{
  g_return_if_fail (WB_IS_OTLP_EXPORTER (self));
  g_return_if_fail (delay_ms > 0);

  self->span_delay_ms = delay_ms;
  if (!self->stopped)
    self->span_timer = replace_source (self, self->span_timer, g_timeout_source_new (delay_ms),
                                       on_span_timer, "[waybill] OTLP span export");
}

/**
 * wb_otlp_exporter_set_timeout:
 * @timeout_ms: how long one export may take before it counts as failed
 *   (default 10 s); applies to exports started afterwards
 */
void
wb_otlp_exporter_set_timeout (WbOtlpExporter *self,
                              guint           timeout_ms)
{
  g_return_if_fail (WB_IS_OTLP_EXPORTER (self));
  g_return_if_fail (timeout_ms > 0);

  self->timeout_ms = timeout_ms;
}

/**
 * wb_otlp_exporter_stop:
 *
 * Stops the timers: nothing is exported any more but by
 * wb_otlp_exporter_flush_async(). Exports in flight go on. For shutdown,
 * so that no export starts after the final flush.
 */
void
wb_otlp_exporter_stop (WbOtlpExporter *self)
{
  g_return_if_fail (WB_IS_OTLP_EXPORTER (self));

  self->stopped = TRUE;
  if (self->metrics_timer != NULL)
    g_source_destroy (self->metrics_timer);
  if (self->span_timer != NULL)
    g_source_destroy (self->span_timer);
  if (self->span_kick != NULL)
    g_source_destroy (self->span_kick);
}

/* ---- flush -------------------------------------------------------------- */

static gboolean
on_flush_cancelled (GCancellable *cancellable,
                    gpointer      user_data)
{
  WbOtlpExporter *self = user_data;

  for (guint i = 0; i < self->exports->len; i++)
    g_cancellable_cancel (((Export *) g_ptr_array_index (self->exports, i))->cancellable);
  return G_SOURCE_REMOVE;
}

/**
 * wb_otlp_exporter_flush_async:
 * @cancellable: (nullable): cancelling it cuts every export in flight short
 *
 * Exports the metrics and every queued span now, and completes once no
 * export is in flight. The bound is @cancellable plus each export's own
 * time limit; call wb_otlp_exporter_stop() first for a final flush.
 */
void
wb_otlp_exporter_flush_async (WbOtlpExporter      *self,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  Flush *flush;

  g_return_if_fail (WB_IS_OTLP_EXPORTER (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, wb_otlp_exporter_flush_async);
  flush = g_new0 (Flush, 1);
  g_task_set_task_data (task, flush, flush_free);
  if (cancellable != NULL)
    {
      flush->cancel_source = g_cancellable_source_new (cancellable);
      g_source_set_callback (flush->cancel_source, G_SOURCE_FUNC (on_flush_cancelled), self, NULL);
      g_source_attach (flush->cancel_source, self->context);
    }
  g_ptr_array_add (self->flushes, g_steal_pointer (&task));

  export_metrics (self);
  while (export_span_batch (self))
    ;
  complete_flushes_if_idle (self);
}

/**
 * wb_otlp_exporter_flush_finish:
 *
 * Returns: %TRUE if every export during the flush succeeded
 */
gboolean
wb_otlp_exporter_flush_finish (WbOtlpExporter  *self,
                               GAsyncResult    *result,
                               GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- the object --------------------------------------------------------- */

/* OTEL_EXPORTER_OTLP_ENDPOINT's rule: the URL is a base, and the signal's
 * path goes after it. A URL that already ends in one signal's path is what
 * operators often paste, so that suffix is taken off first. */
static char *
base_path (const char *path)
{
  gsize length = strlen (path);

  while (length > 0 && path[length - 1] == '/')
    length--;
  for (guint i = 0; i < N_SIGNALS; i++)
    {
      gsize suffix = strlen (signal_paths[i]);

      if (length >= suffix && strncmp (path + length - suffix, signal_paths[i], suffix) == 0)
        {
          length -= suffix;
          break;
        }
    }
  while (length > 0 && path[length - 1] == '/')
    length--;
  return g_strndup (path, length);
}

static gboolean
set_urls (WbOtlpExporter  *self,
          const char      *endpoint,
          GError         **error)
{
  const GUriFlags flags = G_URI_FLAGS_HAS_PASSWORD | G_URI_FLAGS_ENCODED;
  g_autoptr(GUri) base = g_uri_parse (endpoint, flags, NULL);
  g_autofree char *path = NULL;

  if (base == NULL || g_uri_get_host (base) == NULL || *g_uri_get_host (base) == '\0'
      || (g_strcmp0 (g_uri_get_scheme (base), "http") != 0 && g_strcmp0 (g_uri_get_scheme (base), "https") != 0))
    {
      g_set_error (error, WB_OTLP_ERROR, WB_OTLP_ERROR_INVALID_ENDPOINT,
                   "The OTLP endpoint is not an http(s) URL with a host");
      return FALSE;
    }

  path = base_path (g_uri_get_path (base));
  for (guint i = 0; i < N_SIGNALS; i++)
    {
      g_autofree char *signal_path = g_strconcat (path, signal_paths[i], NULL);

      self->urls[i] = g_uri_build_with_user (flags, g_uri_get_scheme (base), g_uri_get_user (base),
                                             g_uri_get_password (base), NULL, g_uri_get_host (base),
                                             g_uri_get_port (base), signal_path, g_uri_get_query (base), NULL);
      self->log_urls[i] = g_uri_to_string_partial (self->urls[i], G_URI_HIDE_PASSWORD);
    }
  return TRUE;
}

static void
declare_metrics (WbMetrics *metrics)
{
  wb_metrics_declare (metrics, "waybill_otlp_exports_total", WB_METRIC_COUNTER,
                      "OpenTelemetry exports, by signal (metrics, traces) and outcome (success, failure).",
                      NULL, 0);
  wb_metrics_declare (metrics, "waybill_otlp_spans_dropped_total", WB_METRIC_COUNTER,
                      "Spans never exported: pushed out of the full queue or refused by the collector.",
                      NULL, 0);
  wb_metrics_counter_add (metrics, "waybill_otlp_spans_dropped_total", 0, NULL);
}

static void
free_queued_spans (WbOtlpExporter *self)
{
  QueuedSpan *span;

  while ((span = g_queue_pop_head (&self->spans)) != NULL)
    g_free (span);
}

static void
wb_otlp_exporter_dispose (GObject *object)
{
  WbOtlpExporter *self = WB_OTLP_EXPORTER (object);

  /* Exports and flushes in flight hold a reference: none is left here. */
  wb_otlp_exporter_stop (self);

  G_OBJECT_CLASS (wb_otlp_exporter_parent_class)->dispose (object);
}

static void
wb_otlp_exporter_finalize (GObject *object)
{
  WbOtlpExporter *self = WB_OTLP_EXPORTER (object);

  free_queued_spans (self);
  g_mutex_clear (&self->mutex);
  g_clear_pointer (&self->metrics_timer, g_source_unref);
  g_clear_pointer (&self->span_timer, g_source_unref);
  g_clear_pointer (&self->span_kick, g_source_unref);
  g_clear_pointer (&self->exports, g_ptr_array_unref);
  g_clear_pointer (&self->flushes, g_ptr_array_unref);
  for (guint i = 0; i < N_SIGNALS; i++)
    {
      g_clear_pointer (&self->urls[i], g_uri_unref);
      g_clear_pointer (&self->log_urls[i], g_free);
    }
  g_clear_pointer (&self->host_name, g_free);
  g_clear_pointer (&self->instance_id, g_free);
  g_clear_object (&self->session);
  g_clear_object (&self->metrics);
  g_clear_pointer (&self->context, g_main_context_unref);

  G_OBJECT_CLASS (wb_otlp_exporter_parent_class)->finalize (object);
}

static void
wb_otlp_exporter_class_init (WbOtlpExporterClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = wb_otlp_exporter_dispose;
  object_class->finalize = wb_otlp_exporter_finalize;
}

static void
wb_otlp_exporter_init (WbOtlpExporter *self)
{
  g_mutex_init (&self->mutex);
  g_queue_init (&self->spans);
  self->exports = g_ptr_array_new ();
  self->flushes = g_ptr_array_new_with_free_func (g_object_unref);
  self->timeout_ms = DEFAULT_TIMEOUT_MS;
  self->host_name = g_strdup (g_get_host_name ());
  self->instance_id = g_uuid_string_random ();
}

/**
 * wb_otlp_exporter_new:
 * @endpoint: the collector's base URL, e.g. http://collector:4318; a URL
 *   ending in /v1/traces or /v1/metrics is taken as its base
 * @metrics: the registry to export; the exporter's own figures go there too
 *
 * Starts exporting on the thread-default main context.
 *
 * Returns: (transfer full) (nullable): the exporter, or %NULL if @endpoint
 *   is not an http(s) URL
 */
WbOtlpExporter *
wb_otlp_exporter_new (const char  *endpoint,
                      WbMetrics   *metrics,
                      GError     **error)
{
  g_autoptr(WbOtlpExporter) self = NULL;

  g_return_val_if_fail (endpoint != NULL, NULL);
  g_return_val_if_fail (WB_IS_METRICS (metrics), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = g_object_new (WB_TYPE_OTLP_EXPORTER, NULL);
  self->context = g_main_context_ref_thread_default ();
  if (!set_urls (self, endpoint, error))
    return NULL;
  self->metrics = g_object_ref (metrics);
  declare_metrics (metrics);
  self->session = soup_session_new_with_options ("user-agent", "waybill/" PACKAGE_VERSION " ", NULL);
  self->span_kick = replace_source (self, NULL, g_source_new (&kick_source_funcs, sizeof (GSource)),
                                    on_span_timer, "[waybill] OTLP span batch ready");
  wb_otlp_exporter_set_export_interval (self, DEFAULT_EXPORT_INTERVAL_MS);
  wb_otlp_exporter_set_span_delay (self, DEFAULT_SPAN_DELAY_MS);
  return g_steal_pointer (&self);
}

/**
 * wb_otlp_exporter_get_metrics_url:
 *
 * Returns: where metrics go, without any password (for logs)
 */
const char *
wb_otlp_exporter_get_metrics_url (WbOtlpExporter *self)
{
  g_return_val_if_fail (WB_IS_OTLP_EXPORTER (self), NULL);
  return self->log_urls[SIGNAL_METRICS];
}

/**
 * wb_otlp_exporter_get_traces_url:
 *
 * Returns: where spans go, without any password (for logs)
 */
const char *
wb_otlp_exporter_get_traces_url (WbOtlpExporter *self)
{
  g_return_val_if_fail (WB_IS_OTLP_EXPORTER (self), NULL);
  return self->log_urls[SIGNAL_TRACES];
}
