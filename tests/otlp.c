// SPDX-License-Identifier: GPL-3.0-or-later
/* OpenTelemetry export: the registry read as values, what a real collector
 * (a SoupServer on loopback, on a thread of its own) receives as OTLP/JSON,
 * request spans with W3C traceparent continuation, a collector that is
 * down, refusing or silent, and last the built waybilld exporting to the
 * test collector. The exporter runs on the test thread's main context. */

#include "config.h"

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <string.h>

#include "wb-http-server.h"
#include "wb-otlp-exporter.h"
#include "wb-test-daemon.h"
#include "wb-test-pg.h"
#include "wb-test-server-thread.h"

#define METRICS_DOMAIN "Waybill-Metrics"
#define TRACEPARENT "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
#define TRACE_ID    "4bf92f3577b34da6a3ce929d0e0e4736"
#define PARENT_ID   "00f067aa0ba902b7"

/* ---- the collector ------------------------------------------------------ */

typedef struct
{
  char     *path;
  char     *content_type;
  JsonNode *body;
} Received;

typedef struct
{
  WbTestServerThread *thread;
  SoupServer         *server;
  guint               port;
  GMutex              mutex;
  GPtrArray          *received;      /* Received */
  guint               status;        /* the answer; 0: never answer */
} Collector;

static void
received_free (gpointer data)
{
  Received *received = data;

  g_free (received->path);
  g_free (received->content_type);
  json_node_unref (received->body);
  g_free (received);
}

static void
collector_handler (SoupServer        *server,
                   SoupServerMessage *message,
                   const char        *path,
                   GHashTable        *query,
                   gpointer           user_data)
{
  Collector *collector = user_data;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (message);
  g_autoptr(GBytes) bytes = soup_message_body_flatten (soup_server_message_get_request_body (message));
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  Received *received = g_new0 (Received, 1);
  guint status;

  json_parser_load_from_data (parser, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), &error);
  g_assert_no_error (error);
  received->path = g_strdup (path);
  received->content_type = g_strdup (soup_message_headers_get_content_type (headers, NULL));
  received->body = json_node_ref (json_parser_get_root (parser));

  g_mutex_lock (&collector->mutex);
  g_ptr_array_add (collector->received, received);
  status = collector->status;
  g_mutex_unlock (&collector->mutex);

  if (status == 0)
    {
      soup_server_message_pause (message);
      return;
    }
  soup_server_message_set_status (message, status, NULL);
  soup_server_message_set_response (message, "application/json", SOUP_MEMORY_STATIC, "{}", 2);
}

static guint
collector_listen (gpointer data)
{
  Collector *collector = data;
  g_autoptr(GError) error = NULL;
  GSList *uris;
  guint port;

  collector->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (collector->server, NULL, collector_handler, collector, NULL);
  soup_server_listen_local (collector->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error);
  g_assert_no_error (error);
  uris = soup_server_get_uris (collector->server);
  port = g_uri_get_port (uris->data);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  return port;
}

static void
collector_unlisten (gpointer data)
{
  Collector *collector = data;

  soup_server_disconnect (collector->server);
  g_clear_object (&collector->server);
}

static Collector *
collector_new (void)
{
  Collector *collector = g_new0 (Collector, 1);

  g_mutex_init (&collector->mutex);
  collector->received = g_ptr_array_new_with_free_func (received_free);
  collector->status = SOUP_STATUS_OK;
  collector->thread = wb_test_server_thread_start ("collector", collector_listen, collector_unlisten, collector);
  collector->port = wb_test_server_thread_get_port (collector->thread);
  return collector;
}

static void
collector_free (Collector *collector)
{
  wb_test_server_thread_stop (collector->thread);
  g_ptr_array_unref (collector->received);
  g_mutex_clear (&collector->mutex);
  g_free (collector);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Collector, collector_free)

static char *
collector_url (Collector  *collector,
               const char *path)
{
  return g_strdup_printf ("http://127.0.0.1:%u%s", collector->port, path);
}

static void
collector_set_status (Collector *collector,
                      guint      status)
{
  g_mutex_lock (&collector->mutex);
  collector->status = status;
  g_mutex_unlock (&collector->mutex);
}

static guint
collector_count (Collector  *collector,
                 const char *path)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&collector->mutex);
  guint count = 0;

  for (guint i = 0; i < collector->received->len; i++)
    count += g_str_equal (((Received *) g_ptr_array_index (collector->received, i))->path, path);
  return count;
}

/* The @index-th request to @path, or NULL. */
static Received *
collector_get (Collector  *collector,
               const char *path,
               guint       index)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&collector->mutex);

  for (guint i = 0; i < collector->received->len; i++)
    {
      Received *received = g_ptr_array_index (collector->received, i);

      if (g_str_equal (received->path, path) && index-- == 0)
        return received;
    }
  return NULL;
}

/* ---- running the exporter's context ------------------------------------- */

static gboolean
quit_loop (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

static void
run_for (guint ms)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);

  g_timeout_add (ms, quit_loop, loop);
  g_main_loop_run (loop);
}

static void
wait_for_requests (Collector  *collector,
                   const char *path,
                   guint       count,
                   guint       timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + timeout_ms * (gint64) 1000;

  while (collector_count (collector, path) < count)
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("%s got %u requests, not %u, within %u ms", path, collector_count (collector, path), count,
                 timeout_ms);
      run_for (5);
    }
}

static void
on_result (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  *(GAsyncResult **) data = g_object_ref (result);
}

static gboolean
flush_sync (WbOtlpExporter  *exporter,
            GCancellable    *cancellable,
            GError         **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  wb_otlp_exporter_flush_async (exporter, cancellable, on_result, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return wb_otlp_exporter_flush_finish (exporter, result, error);
}

/* ---- reading the registry ----------------------------------------------- */

typedef struct
{
  const char *name;
  const char *labels;       /* "name=value,…" sorted by name */
  double      value;
  gboolean    found;
} SeriesQuery;

static char *
join_labels (const char * const *labels)
{
  GString *text = g_string_new (NULL);

  for (guint i = 0; labels[i] != NULL; i += 2)
    g_string_append_printf (text, "%s%s=%s", i > 0 ? "," : "", labels[i], labels[i + 1]);
  return g_string_free (text, FALSE);
}

static void
find_series (const WbMetricFamily *family,
             gpointer              user_data)
{
  SeriesQuery *query = user_data;

  if (!g_str_equal (family->name, query->name))
    return;
  for (guint i = 0; i < family->n_series; i++)
    {
      g_autofree char *labels = join_labels (family->series[i].labels);

      if (g_str_equal (labels, query->labels))
        {
          query->value = family->series[i].value;
          query->found = TRUE;
        }
    }
}

/* A counter's or gauge's value; 0 for a series not reported yet. */
static double
series_value (WbMetrics  *metrics,
              const char *name,
              const char *labels)
{
  SeriesQuery query = { name, labels, 0, FALSE };

  wb_metrics_foreach_family (metrics, find_series, &query);
  return query.value;
}

static double
exports (WbMetrics  *metrics,
         const char *signal,
         const char *outcome)
{
  g_autofree char *labels = g_strdup_printf ("outcome=%s,signal=%s", outcome, signal);

  return series_value (metrics, "waybill_otlp_exports_total", labels);
}

/* ---- reading OTLP/JSON -------------------------------------------------- */

static JsonObject *
first_scope (JsonNode   *request,
             const char *resource_list,
             const char *scope_list)
{
  JsonObject *root = json_node_get_object (request);
  JsonObject *resource = json_array_get_object_element (json_object_get_array_member (root, resource_list), 0);

  return json_array_get_object_element (json_object_get_array_member (resource, scope_list), 0);
}

static JsonArray *
metrics_of (JsonNode *request)
{
  return json_object_get_array_member (first_scope (request, "resourceMetrics", "scopeMetrics"), "metrics");
}

static JsonArray *
spans_of (JsonNode *request)
{
  return json_object_get_array_member (first_scope (request, "resourceSpans", "scopeSpans"), "spans");
}

static JsonObject *
find_metric (JsonNode   *request,
             const char *name)
{
  JsonArray *metrics = metrics_of (request);

  for (guint i = 0; i < json_array_get_length (metrics); i++)
    {
      JsonObject *metric = json_array_get_object_element (metrics, i);

      if (g_str_equal (json_object_get_string_member (metric, "name"), name))
        return metric;
    }
  return NULL;
}

/* The value object of attribute @key, or NULL. */
static JsonObject *
attribute (JsonArray  *attributes,
           const char *key)
{
  for (guint i = 0; i < json_array_get_length (attributes); i++)
    {
      JsonObject *item = json_array_get_object_element (attributes, i);

      if (g_str_equal (json_object_get_string_member (item, "key"), key))
        return json_object_get_object_member (item, "value");
    }
  return NULL;
}

static const char *
string_attribute (JsonObject *object,
                  const char *key)
{
  JsonObject *value = attribute (json_object_get_array_member (object, "attributes"), key);

  return value ? json_object_get_string_member_with_default (value, "stringValue", NULL) : NULL;
}

static const char *
int_attribute (JsonObject *object,
               const char *key)
{
  JsonObject *value = attribute (json_object_get_array_member (object, "attributes"), key);

  return value ? json_object_get_string_member_with_default (value, "intValue", NULL) : NULL;
}

static const char *
resource_attribute (JsonNode   *request,
                    const char *resource_list,
                    const char *key)
{
  JsonObject *root = json_node_get_object (request);
  JsonObject *resource = json_array_get_object_element (json_object_get_array_member (root, resource_list), 0);

  return string_attribute (json_object_get_object_member (resource, "resource"), key);
}

static guint64
nanoseconds (JsonObject *object,
             const char *member)
{
  const char *text = json_object_get_string_member (object, member);
  guint64 value = 0;

  g_assert_true (g_ascii_string_to_unsigned (text, 10, 1, G_MAXUINT64, &value, NULL));
  return value;
}

static JsonObject *
data_point (JsonObject *metric,
            const char *data,
            guint       index)
{
  JsonObject *object = json_object_get_object_member (metric, data);

  return json_array_get_object_element (json_object_get_array_member (object, "dataPoints"), index);
}

static void
assert_resource (JsonNode   *request,
                 const char *resource_list)
{
  g_assert_cmpstr (resource_attribute (request, resource_list, "service.name"), ==, "waybilld");
  g_assert_cmpstr (resource_attribute (request, resource_list, "service.version"), ==, PACKAGE_VERSION);
  g_assert_cmpstr (resource_attribute (request, resource_list, "host.name"), ==, g_get_host_name ());
  g_assert_true (g_uuid_string_is_valid (resource_attribute (request, resource_list, "service.instance.id")));
}

/* ---- the registry as values --------------------------------------------- */

typedef struct
{
  WbMetrics *metrics;
  GString   *out;
} Description;

static void
describe_family (const WbMetricFamily *family,
                 gpointer              user_data)
{
  Description *description = user_data;
  GString *out = description->out;

  g_string_append_printf (out, "%s %d %s [", family->name, family->type, family->help);
  for (guint i = 0; i < family->n_buckets; i++)
    g_string_append_printf (out, "%s%g", i ? " " : "", family->buckets[i]);
  g_string_append (out, "]\n");
  for (guint i = 0; i < family->n_series; i++)
    {
      const WbMetricSeries *series = &family->series[i];
      g_autofree char *labels = join_labels (series->labels);

      g_assert_cmpint (series->start_time_us, >, 0);
      g_assert_cmpint (series->start_time_us, <=, g_get_real_time ());
      g_string_append_printf (out, "  {%s} ", labels);
      if (family->type != WB_METRIC_HISTOGRAM)
        g_string_append_printf (out, "%g\n", series->value);
      else
        {
          g_string_append_printf (out, "count=%" G_GUINT64_FORMAT " sum=%g buckets=", series->count, series->sum);
          for (guint b = 0; b <= family->n_buckets; b++)
            g_string_append_printf (out, "%s%" G_GUINT64_FORMAT, b ? "," : "", series->bucket_counts[b]);
          g_string_append_c (out, '\n');
        }
    }
  /* No lock is held: reporting from here must not deadlock. */
  wb_metrics_counter_add (description->metrics, "never_reported_total", 0, "from", "foreach", NULL);
}

static void
collect_queue_length (WbMetrics *metrics,
                      gpointer   user_data)
{
  wb_metrics_gauge_set (metrics, "queue_length", 7, "queue", "positions", NULL);
}

static WbMetrics *
sample_registry (void)
{
  static const double buckets[] = { 0.125, 0.5, 1 };
  WbMetrics *metrics = wb_metrics_new ();

  wb_metrics_declare (metrics, "requests_total", WB_METRIC_COUNTER, "Requests.", NULL, 0);
  wb_metrics_declare (metrics, "queue_length", WB_METRIC_GAUGE, "Queue length.", NULL, 0);
  wb_metrics_declare (metrics, "duration_seconds", WB_METRIC_HISTOGRAM, "Durations.", buckets, 3);
  wb_metrics_declare (metrics, "never_reported_total", WB_METRIC_COUNTER, "Nothing yet.", NULL, 0);
  wb_metrics_add_collector (metrics, collect_queue_length, NULL, NULL);

  wb_metrics_counter_add (metrics, "requests_total", 2, "route", "/b", "method", "GET", NULL);
  wb_metrics_counter_add (metrics, "requests_total", 1, "method", "GET", "route", "/b", NULL);
  wb_metrics_counter_add (metrics, "requests_total", 1, "route", "/a", "method", "POST", NULL);
  wb_metrics_gauge_set (metrics, "queue_length", -1.5, "queue", "events", NULL);
  wb_metrics_histogram_observe (metrics, "duration_seconds", 0.0625, NULL);
  wb_metrics_histogram_observe (metrics, "duration_seconds", 0.125, NULL);
  wb_metrics_histogram_observe (metrics, "duration_seconds", 0.25, NULL);
  wb_metrics_histogram_observe (metrics, "duration_seconds", 2, NULL);
  return metrics;
}
static void
test_registry_values (void)
{
  g_autoptr(WbMetrics) metrics = sample_registry ();
  g_autoptr(GString) first = g_string_new (NULL);
  g_autoptr(GString) second = g_string_new (NULL);
  Description description = { metrics, first };

  /* Declaration order; series sorted by labels, labels by name; histogram
   * counts per bucket (not cumulative), +Inf last; collectors run first. */
  wb_metrics_foreach_family (metrics, describe_family, &description);
  g_assert_cmpstr (first->str, ==,
                   "requests_total 0 Requests. []\n"
                   "  {method=GET,route=/b} 3\n"
                   "  {method=POST,route=/a} 1\n"
                   "queue_length 1 Queue length. []\n"
                   "  {queue=events} -1.5\n"
                   "  {queue=positions} 7\n"
                   "duration_seconds 2 Durations. [0.125 0.5 1]\n"
                   "  {} count=4 sum=2.4375 buckets=2,1,0,1\n"
                   "never_reported_total 0 Nothing yet. []\n");

  /* The callbacks' own report landed after the copy was taken. */
  description.out = second;
  wb_metrics_foreach_family (metrics, describe_family, &description);
  g_assert_true (g_str_has_suffix (second->str, "never_reported_total 0 Nothing yet. []\n  {from=foreach} 0\n"));
}

/* ---- endpoints ---------------------------------------------------------- */

static void
test_endpoint_paths (void)
{
  static const struct { const char *endpoint, *metrics, *traces; } cases[] = {
    { "http://collector:4318", "http://collector:4318/v1/metrics", "http://collector:4318/v1/traces" },
    { "http://collector:4318/", "http://collector:4318/v1/metrics", "http://collector:4318/v1/traces" },
    { "https://collector:4318/v1/traces", "https://collector:4318/v1/metrics", "https://collector:4318/v1/traces" },
    { "https://collector:4318/v1/metrics", "https://collector:4318/v1/metrics", "https://collector:4318/v1/traces" },
    { "http://collector/otlp", "http://collector/otlp/v1/metrics", "http://collector/otlp/v1/traces" },
    { "http://collector/otlp/v1/traces/", "http://collector/otlp/v1/metrics", "http://collector/otlp/v1/traces" },
    { "http://collector/v1/tracesx", "http://collector/v1/tracesx/v1/metrics", "http://collector/v1/tracesx/v1/traces" },
    { "http://collector:4318?tenant=a", "http://collector:4318/v1/metrics?tenant=a", "http://collector:4318/v1/traces?tenant=a" },
    /* The password is used, never shown. */
    { "http://user:hunter2@collector:4318", "http://user@collector:4318/v1/metrics", "http://user@collector:4318/v1/traces" },
  };
  static const char *invalid[] = { "", "collector:4318", "ftp://collector", "http://" };
  g_autoptr(WbMetrics) metrics = wb_metrics_new ();

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(WbOtlpExporter) exporter = wb_otlp_exporter_new (cases[i].endpoint, metrics, &error);

      g_assert_no_error (error);
      g_assert_cmpstr (wb_otlp_exporter_get_metrics_url (exporter), ==, cases[i].metrics);
      g_assert_cmpstr (wb_otlp_exporter_get_traces_url (exporter), ==, cases[i].traces);
    }
  for (guint i = 0; i < G_N_ELEMENTS (invalid); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(WbOtlpExporter) exporter = wb_otlp_exporter_new (invalid[i], metrics, &error);

      g_assert_null (exporter);
      g_assert_error (error, WB_OTLP_ERROR, WB_OTLP_ERROR_INVALID_ENDPOINT);
    }
}

/* ---- metrics ------------------------------------------------------------ */

static void
assert_sample_metrics (JsonNode *request,
                       gint64    before_us)
{
  JsonObject *requests = find_metric (request, "requests_total");
  JsonObject *queue = find_metric (request, "queue_length");
  JsonObject *durations = find_metric (request, "duration_seconds");
  JsonObject *sum, *point;
  JsonArray *buckets, *bounds;

  g_assert_nonnull (requests);
  g_assert_cmpstr (json_object_get_string_member (requests, "description"), ==, "Requests.");
  sum = json_object_get_object_member (requests, "sum");
  g_assert_true (json_object_get_boolean_member (sum, "isMonotonic"));
  g_assert_cmpint (json_object_get_int_member (sum, "aggregationTemporality"), ==, 2);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (sum, "dataPoints")), ==, 2);
  point = data_point (requests, "sum", 0);
  g_assert_cmpstr (string_attribute (point, "method"), ==, "GET");
  g_assert_cmpstr (string_attribute (point, "route"), ==, "/b");
  g_assert_cmpfloat (json_object_get_double_member (point, "asDouble"), ==, 3);
  g_assert_cmpuint (nanoseconds (point, "startTimeUnixNano"), >=, (guint64) before_us * 1000);
  g_assert_cmpuint (nanoseconds (point, "startTimeUnixNano"), <=, nanoseconds (point, "timeUnixNano"));
  g_assert_cmpuint (nanoseconds (point, "timeUnixNano"), <=, (guint64) g_get_real_time () * 1000);
  point = data_point (requests, "sum", 1);
  g_assert_cmpstr (string_attribute (point, "method"), ==, "POST");
  g_assert_cmpfloat (json_object_get_double_member (point, "asDouble"), ==, 1);

  g_assert_nonnull (queue);
  g_assert_false (json_object_has_member (queue, "sum"));
  point = data_point (queue, "gauge", 0);
  g_assert_cmpstr (string_attribute (point, "queue"), ==, "events");
  g_assert_cmpfloat (json_object_get_double_member (point, "asDouble"), ==, -1.5);
  g_assert_false (json_object_has_member (point, "startTimeUnixNano"));
  g_assert_cmpfloat (json_object_get_double_member (data_point (queue, "gauge", 1), "asDouble"), ==, 7);

  g_assert_nonnull (durations);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (durations, "histogram"),
                                               "aggregationTemporality"), ==, 2);
  point = data_point (durations, "histogram", 0);
  g_assert_cmpstr (json_object_get_string_member (point, "count"), ==, "4");
  g_assert_cmpfloat (json_object_get_double_member (point, "sum"), ==, 2.4375);
  buckets = json_object_get_array_member (point, "bucketCounts");
  bounds = json_object_get_array_member (point, "explicitBounds");
  g_assert_cmpuint (json_array_get_length (buckets), ==, 4);
  g_assert_cmpuint (json_array_get_length (bounds), ==, 3);
  g_assert_cmpstr (json_array_get_string_element (buckets, 0), ==, "2");
  g_assert_cmpstr (json_array_get_string_element (buckets, 1), ==, "1");
  g_assert_cmpstr (json_array_get_string_element (buckets, 2), ==, "0");
  g_assert_cmpstr (json_array_get_string_element (buckets, 3), ==, "1");
  g_assert_cmpfloat (json_array_get_double_element (bounds, 0), ==, 0.125);
  g_assert_cmpfloat (json_array_get_double_element (bounds, 1), ==, 0.5);
  g_assert_cmpfloat (json_array_get_double_element (bounds, 2), ==, 1);

  /* A family without a series yet is not sent. */
  g_assert_null (find_metric (request, "never_reported_total"));
}

static void
test_metrics_export (void)
{
  gint64 before_us = g_get_real_time ();
  g_autoptr(WbMetrics) metrics = sample_registry ();
  g_autoptr(Collector) collector = collector_new ();
  g_autofree char *endpoint = collector_url (collector, "/prefix/v1/traces");
  g_autoptr(GError) error = NULL;
  g_autoptr(WbOtlpExporter) exporter = wb_otlp_exporter_new (endpoint, metrics, &error);
  Received *received;
  JsonObject *scope;

  g_assert_no_error (error);
  wb_otlp_exporter_set_export_interval (exporter, 50);
  wait_for_requests (collector, "/prefix/v1/metrics", 2, 5000);

  received = collector_get (collector, "/prefix/v1/metrics", 0);
  g_assert_cmpstr (received->content_type, ==, "application/json");
  assert_resource (received->body, "resourceMetrics");
  scope = json_object_get_object_member (first_scope (received->body, "resourceMetrics", "scopeMetrics"), "scope");
  g_assert_cmpstr (json_object_get_string_member (scope, "name"), ==, "waybill");
  assert_sample_metrics (received->body, before_us);

  /* The exporter counts itself: the first export's success is in the second. */
  g_assert_cmpfloat (exports (metrics, "metrics", "success"), >=, 1);
  g_assert_cmpfloat (exports (metrics, "metrics", "failure"), ==, 0);
  received = collector_get (collector, "/prefix/v1/metrics", 1);
  g_assert_nonnull (find_metric (received->body, "waybill_otlp_exports_total"));
  g_assert_nonnull (find_metric (received->body, "waybill_otlp_spans_dropped_total"));
  /* No span recorded, none sent. */
  g_assert_cmpuint (collector_count (collector, "/prefix/v1/traces"), ==, 0);
}

/* ---- spans -------------------------------------------------------------- */

static void
fill_bytes (guint8 *bytes,
            gsize   size,
            guint8  first)
{
  for (gsize i = 0; i < size; i++)
    bytes[i] = first + i;
}

static gpointer
record_spans (gpointer data)
{
  WbOtlpExporter *exporter = data;
  g_autofree char *long_path = g_strnfill (5000, 'x');
  const WbOtlpAttribute child_attributes[] = {
    { "http.route", "/things/{id}" },
    { "http.response.status_code", NULL, 201 },
    { "note", "bad \xff byte" },
  };
  const WbOtlpAttribute root_attributes[] = { { "url.path", long_path } };
  WbOtlpSpan child = {
    .name = "POST /things/{id}",
    .kind = WB_OTLP_SPAN_KIND_SERVER,
    .status = WB_OTLP_STATUS_UNSET,
    .start_time_us = 1700000000000000,
    .end_time_us = 1700000000250000,
    .attributes = child_attributes,
    .n_attributes = G_N_ELEMENTS (child_attributes),
  };
  WbOtlpSpan root = {
    .name = "GET",
    .kind = WB_OTLP_SPAN_KIND_SERVER,
    .status = WB_OTLP_STATUS_ERROR,
    .start_time_us = 1700000001000000,
    .end_time_us = 1700000001000001,
    .attributes = root_attributes,
    .n_attributes = G_N_ELEMENTS (root_attributes),
  };

  fill_bytes (child.trace_id, 16, 0x01);
  fill_bytes (child.span_id, 8, 0xa0);
  fill_bytes (child.parent_span_id, 8, 0xf0);
  fill_bytes (root.trace_id, 16, 0x11);
  fill_bytes (root.span_id, 8, 0xb0);
  wb_otlp_exporter_record_span (exporter, &child);
  wb_otlp_exporter_record_span (exporter, &root);
  return NULL;
}

static void
test_spans_export (void)
{
  g_autoptr(WbMetrics) metrics = wb_metrics_new ();
  g_autoptr(Collector) collector = collector_new ();
  g_autofree char *endpoint = collector_url (collector, "");
  g_autoptr(GError) error = NULL;
  g_autoptr(WbOtlpExporter) exporter = wb_otlp_exporter_new (endpoint, metrics, &error);
  JsonArray *spans;
  JsonObject *child, *root;
  Received *received;

  g_assert_no_error (error);
  /* Recorded on another thread, exported on this one. */
  g_thread_join (g_thread_new ("record", record_spans, exporter));
  g_assert_cmpuint (wb_otlp_exporter_get_spans_waiting (exporter), ==, 2);
  g_assert_true (flush_sync (exporter, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (wb_otlp_exporter_get_spans_waiting (exporter), ==, 0);

  g_assert_cmpuint (collector_count (collector, "/v1/traces"), ==, 1);
  g_assert_cmpuint (collector_count (collector, "/v1/metrics"), ==, 1);
  received = collector_get (collector, "/v1/traces", 0);
  g_assert_cmpstr (received->content_type, ==, "application/json");
  assert_resource (received->body, "resourceSpans");
  spans = spans_of (received->body);
  g_assert_cmpuint (json_array_get_length (spans), ==, 2);

  child = json_array_get_object_element (spans, 0);
  g_assert_cmpstr (json_object_get_string_member (child, "traceId"), ==, "0102030405060708090a0b0c0d0e0f10");
  g_assert_cmpstr (json_object_get_string_member (child, "spanId"), ==, "a0a1a2a3a4a5a6a7");
  g_assert_cmpstr (json_object_get_string_member (child, "parentSpanId"), ==, "f0f1f2f3f4f5f6f7");
  g_assert_cmpstr (json_object_get_string_member (child, "name"), ==, "POST /things/{id}");
  g_assert_cmpint (json_object_get_int_member (child, "kind"), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (child, "startTimeUnixNano"), ==, "1700000000000000000");
  g_assert_cmpstr (json_object_get_string_member (child, "endTimeUnixNano"), ==, "1700000000250000000");
  g_assert_cmpstr (string_attribute (child, "http.route"), ==, "/things/{id}");
  g_assert_cmpstr (int_attribute (child, "http.response.status_code"), ==, "201");
  g_assert_cmpstr (string_attribute (child, "note"), ==, "bad \xef\xbf\xbd byte");
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (child, "status"), "code"), ==, 0);

  root = json_array_get_object_element (spans, 1);
  g_assert_cmpstr (json_object_get_string_member (root, "traceId"), ==, "1112131415161718191a1b1c1d1e1f20");
  g_assert_false (json_object_has_member (root, "parentSpanId"));
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (root, "status"), "code"), ==, 2);
  /* Strings are cut so that a queued span has a bounded size. */
  g_assert_cmpuint (strlen (string_attribute (root, "url.path")), ==, 1024);

  g_assert_cmpfloat (exports (metrics, "traces", "success"), ==, 1);
}

static void
record_plain_span (WbOtlpExporter *exporter,
                   guint           number)
{
  g_autofree char *name = g_strdup_printf ("span %u", number);
  WbOtlpSpan span = { .name = name, .kind = WB_OTLP_SPAN_KIND_INTERNAL, .start_time_us = 1, .end_time_us = 2 };

  wb_otlp_exporter_record_span (exporter, &span);
}

/* A full batch goes at once; fewer spans wait for the span delay. */
static void
test_span_batching (void)
{
  g_autoptr(WbMetrics) metrics = wb_metrics_new ();
  g_autoptr(Collector) collector = collector_new ();
  g_autofree char *endpoint = collector_url (collector, "");
  g_autoptr(WbOtlpExporter) exporter = wb_otlp_exporter_new (endpoint, metrics, NULL);
  Received *received;

  for (guint i = 0; i < WB_OTLP_SPAN_BATCH_SIZE - 1; i++)
    record_plain_span (exporter, i);
  run_for (200);
  g_assert_cmpuint (collector_count (collector, "/v1/traces"), ==, 0);

  /* The default delay is 5 s: only the full batch can send it this soon. */
  record_plain_span (exporter, WB_OTLP_SPAN_BATCH_SIZE - 1);
  wait_for_requests (collector, "/v1/traces", 1, 2000);
  received = collector_get (collector, "/v1/traces", 0);
  g_assert_cmpuint (json_array_get_length (spans_of (received->body)), ==, WB_OTLP_SPAN_BATCH_SIZE);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (spans_of (received->body), 0),
                                                  "name"), ==, "span 0");

  wb_otlp_exporter_set_span_delay (exporter, 50);
  record_plain_span (exporter, 1000);
  wait_for_requests (collector, "/v1/traces", 2, 2000);
  received = collector_get (collector, "/v1/traces", 1);
  g_assert_cmpuint (json_array_get_length (spans_of (received->body)), ==, 1);
}

/* ---- a collector that is down, refusing or silent ------------------------ */

typedef struct
{
  GPtrArray *lines;     /* "W: …" / "M: …" of the exporter's log domain */
} LogCapture;

static void
capture_log (const char     *domain,
             GLogLevelFlags  level,
             const char     *message,
             gpointer        user_data)
{
  LogCapture *capture = user_data;

  g_ptr_array_add (capture->lines, g_strdup_printf ("%s: %s", (level & G_LOG_LEVEL_WARNING) ? "W" : "M", message));
}

/* Export warnings are the behaviour under test here, not a failure. */
static gboolean
tolerate_export_warnings (const char     *domain,
                          GLogLevelFlags  level,
                          const char     *message,
                          gpointer        user_data)
{
  return !(g_strcmp0 (domain, METRICS_DOMAIN) == 0 && strstr (message, "OpenTelemetry export") != NULL);
}

static guint
start_capture (LogCapture *capture)
{
  capture->lines = g_ptr_array_new_with_free_func (g_free);
  g_test_log_set_fatal_handler (tolerate_export_warnings, NULL);
  /* Under g_test_init() warnings carry the fatal flag: the mask must too. */
  return g_log_set_handler (METRICS_DOMAIN, G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE | G_LOG_FLAG_FATAL,
                            capture_log, capture);
}

static void
stop_capture (LogCapture *capture,
              guint       handler)
{
  g_log_remove_handler (METRICS_DOMAIN, handler);
  g_test_log_set_fatal_handler (NULL, NULL);
  g_ptr_array_unref (capture->lines);
}

static guint
logged (LogCapture *capture,
        const char *pattern)
{
  guint count = 0;

  for (guint i = 0; i < capture->lines->len; i++)
    count += g_pattern_match_simple (pattern, g_ptr_array_index (capture->lines, i));
  return count;
}

static void
wait_for_exports (WbMetrics  *metrics,
                  const char *signal,
                  const char *outcome,
                  double      count)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (exports (metrics, signal, outcome) < count)
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("%s exports with outcome %s: %g, not %g", signal, outcome, exports (metrics, signal, outcome), count);
      run_for (5);
    }
}

static guint
closed_port (void)
{
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any_port = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  g_assert_true (g_socket_bind (socket, any_port, FALSE, NULL));
  bound = g_socket_get_local_address (socket, NULL);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

/* Connection refused: every attempt counted, one warning per signal, the
 * span queue bounded with the overflow counted, nothing lost silently. */
static void
test_collector_down (void)
{
  const guint recorded = 5000;
  g_autoptr(WbMetrics) metrics = wb_metrics_new ();
  g_autofree char *endpoint = g_strdup_printf ("http://127.0.0.1:%u", closed_port ());
  g_autoptr(WbOtlpExporter) exporter = wb_otlp_exporter_new (endpoint, metrics, NULL);
  g_autoptr(GError) error = NULL;
  LogCapture capture;
  guint handler = start_capture (&capture);
  double dropped;
  guint waiting;

  wb_otlp_exporter_set_export_interval (exporter, 20);
  wb_otlp_exporter_set_span_delay (exporter, 20);
  for (guint i = 0; i < recorded; i++)
    {
      record_plain_span (exporter, i);
      g_assert_cmpuint (wb_otlp_exporter_get_spans_waiting (exporter), <=, WB_OTLP_MAX_QUEUED_SPANS);
      if (i % 100 == 0)
        run_for (5);
    }
  wait_for_exports (metrics, "metrics", "failure", 5);
  wait_for_exports (metrics, "traces", "failure", 5);

  g_assert_cmpuint (logged (&capture, "W: OpenTelemetry export of metrics to http://127.0.0.1:*/v1/metrics failed: *"),
                    ==, 1);
  g_assert_cmpuint (logged (&capture, "W: OpenTelemetry export of traces to *failed*"), ==, 1);
  g_assert_cmpuint (capture.lines->len, ==, 2);
  g_assert_cmpfloat (exports (metrics, "metrics", "success"), ==, 0);

  /* Nothing is in flight after a flush; every span is waiting or counted. */
  g_assert_false (flush_sync (exporter, NULL, &error));
  g_assert_error (error, WB_OTLP_ERROR, WB_OTLP_ERROR_EXPORT_FAILED);
  waiting = wb_otlp_exporter_get_spans_waiting (exporter);
  dropped = series_value (metrics, "waybill_otlp_spans_dropped_total", "");
  g_assert_cmpuint (waiting, ==, WB_OTLP_MAX_QUEUED_SPANS);
  g_assert_cmpfloat (dropped, ==, recorded - waiting);
  g_assert_cmpuint (capture.lines->len, ==, 2);

  stop_capture (&capture, handler);
}

/* 503 is transient: the spans come back to the queue and reach the
 * collector once it answers again; the end of the outage is said once. */
static void
test_collector_unavailable (void)
{
  g_autoptr(WbMetrics) metrics = wb_metrics_new ();
  g_autoptr(Collector) collector = collector_new ();
  g_autofree char *endpoint = collector_url (collector, "");
  g_autoptr(WbOtlpExporter) exporter = wb_otlp_exporter_new (endpoint, metrics, NULL);
  g_autoptr(GError) error = NULL;
  LogCapture capture;
  guint handler = start_capture (&capture);
  guint sent_spans = 0;

  collector_set_status (collector, SOUP_STATUS_SERVICE_UNAVAILABLE);
  wb_otlp_exporter_set_export_interval (exporter, 20);
  wb_otlp_exporter_set_span_delay (exporter, 20);
  for (guint i = 0; i < 10; i++)
    record_plain_span (exporter, i);
  wait_for_exports (metrics, "metrics", "failure", 3);
  wait_for_exports (metrics, "traces", "failure", 3);
  g_assert_cmpuint (logged (&capture, "W: *export of metrics*failed: HTTP 503 Service Unavailable*"), ==, 1);
  g_assert_cmpuint (logged (&capture, "W: *export of traces*failed: HTTP 503 Service Unavailable*"), ==, 1);
  g_assert_cmpfloat (series_value (metrics, "waybill_otlp_spans_dropped_total", ""), ==, 0);

  collector_set_status (collector, SOUP_STATUS_OK);
  wait_for_exports (metrics, "metrics", "success", 1);
  wait_for_exports (metrics, "traces", "success", 1);
  g_assert_true (flush_sync (exporter, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (logged (&capture, "M: *export of metrics*works again"), ==, 1);
  g_assert_cmpuint (logged (&capture, "M: *export of traces*works again"), ==, 1);
  g_assert_cmpuint (capture.lines->len, ==, 4);

  /* Every span arrived in the one successful traces request. */
  for (guint i = 0; i < collector_count (collector, "/v1/traces"); i++)
    {
      JsonArray *spans = spans_of (collector_get (collector, "/v1/traces", i)->body);

      g_assert_cmpuint (json_array_get_length (spans), ==, 10);
      sent_spans += json_array_get_length (spans);
    }
  g_assert_cmpfloat (exports (metrics, "traces", "success"), ==, 1);
  g_assert_cmpuint (sent_spans, ==, 10 * collector_count (collector, "/v1/traces"));
  g_assert_cmpuint (wb_otlp_exporter_get_spans_waiting (exporter), ==, 0);

  stop_capture (&capture, handler);
}

static gboolean
cancel_later (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

/* A collector that never answers: each export ends at the time limit, one
 * at a time per signal; a flush is bounded by its cancellable. */
static void
test_collector_silent (void)
{
  g_autoptr(WbMetrics) metrics = wb_metrics_new ();
  g_autoptr(Collector) collector = collector_new ();
  g_autofree char *endpoint = collector_url (collector, "");
  g_autoptr(WbOtlpExporter) exporter = wb_otlp_exporter_new (endpoint, metrics, NULL);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  LogCapture capture;
  guint handler = start_capture (&capture);
  gint64 started;

  collector_set_status (collector, 0);
  wb_otlp_exporter_set_timeout (exporter, 100);
  wb_otlp_exporter_set_export_interval (exporter, 10);
  wait_for_exports (metrics, "metrics", "failure", 3);
  g_assert_cmpuint (logged (&capture, "W: *export of metrics*failed: no answer within 100 ms*"), ==, 1);
  /* One in flight at a time, though the interval is ten times shorter. */
  g_assert_cmpuint (collector_count (collector, "/v1/metrics"), <=, exports (metrics, "metrics", "failure") + 1);

  wb_otlp_exporter_stop (exporter);
  wb_otlp_exporter_set_timeout (exporter, 60000);
  record_plain_span (exporter, 1);
  g_timeout_add (100, cancel_later, cancellable);
  started = g_get_monotonic_time ();
  g_assert_false (flush_sync (exporter, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (g_get_monotonic_time () - started, <, 5 * G_USEC_PER_SEC);
  /* The cut batch is back in the queue. */
  g_assert_cmpuint (wb_otlp_exporter_get_spans_waiting (exporter), ==, 1);

  stop_capture (&capture, handler);
}

/* ---- request spans from WbHttpServer ------------------------------------ */

typedef struct
{
  WbTestServerThread *thread;
  WbHttpServer       *server;
  WbMetrics          *metrics;
  WbOtlpExporter     *exporter;
} TracedServer;

static void
handle_thing (WbHttpRequest *request,
              gpointer       user_data)
{
  gboolean fail = g_str_equal (wb_http_request_get_param (request, "id"), "fail");
  g_autoptr(GBytes) body = g_bytes_new_static ("{}", 2);

  wb_http_request_respond (request, fail ? SOUP_STATUS_INTERNAL_SERVER_ERROR : SOUP_STATUS_OK,
                           "application/json", body);
}

static guint
traced_server_start (gpointer data)
{
  TracedServer *traced = data;
  WbHttpLimits limits = { 1024, 20, 2048, 1000, 64, 16 };
  g_autoptr(GError) error = NULL;

  traced->server = wb_http_server_new (traced->metrics, &limits);
  wb_http_server_set_tracing (traced->server, traced->exporter);
  wb_http_server_add_route (traced->server, "GET", "/things/{id}", WB_ACCESS_ROLE_NONE, handle_thing, NULL);
  wb_http_server_listen (traced->server, "127.0.0.1", 0, &error);
  g_assert_no_error (error);
  return wb_http_server_get_port (traced->server);
}

static void
traced_server_stop (gpointer data)
{
  TracedServer *traced = data;

  g_clear_object (&traced->server);
}

static char *
send_request (SoupSession *session,
              const char  *method,
              const char  *uri,
              const char  *traceparent,
              const char  *request_id,
              guint        expected_status)
{
  g_autoptr(SoupMessage) message = soup_message_new (method, uri);
  SoupMessageHeaders *headers = soup_message_get_request_headers (message);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;

  if (traceparent)
    soup_message_headers_replace (headers, "traceparent", traceparent);
  if (request_id)
    soup_message_headers_replace (headers, "X-Request-Id", request_id);
  body = soup_session_send_and_read (session, message, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (message), ==, expected_status);
  return g_strdup (soup_message_headers_get_one (soup_message_get_response_headers (message), "X-Request-Id"));
}

static JsonObject *
span_with_request_id (JsonArray  *spans,
                      const char *request_id)
{
  for (guint i = 0; i < json_array_get_length (spans); i++)
    {
      JsonObject *span = json_array_get_object_element (spans, i);

      if (g_strcmp0 (string_attribute (span, "waybill.request_id"), request_id) == 0)
        return span;
    }
  g_error ("no span with request id %s", request_id);
  return NULL;
}

static gboolean
is_hex (const char *text,
        gsize       length)
{
  if (strlen (text) != length)
    return FALSE;
  for (gsize i = 0; i < length; i++)
    {
      if (!g_ascii_isxdigit (text[i]) || g_ascii_isupper (text[i]))
        return FALSE;
    }
  return TRUE;
}

static void
test_http_request_spans (void)
{
  g_autoptr(Collector) collector = collector_new ();
  g_autofree char *endpoint = collector_url (collector, "");
  g_autoptr(SoupSession) session = soup_session_new_with_options ("timeout", 10, NULL);
  TracedServer traced = { 0 };
  g_autofree char *base = NULL;
  g_autofree char *uri = NULL;
  g_autofree char *id_fresh = NULL, *id_missing = NULL, *id_failed = NULL, *id_odd = NULL, *id_bad_parent = NULL;
  g_autoptr(GError) error = NULL;
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  JsonArray *spans;
  JsonObject *span;

  traced.metrics = wb_metrics_new ();
  traced.exporter = wb_otlp_exporter_new (endpoint, traced.metrics, NULL);
  traced.thread = wb_test_server_thread_start ("traced-server", traced_server_start, traced_server_stop, &traced);
  base = g_strdup_printf ("http://127.0.0.1:%u", wb_test_server_thread_get_port (traced.thread));

  uri = g_strconcat (base, "/things/42", NULL);
  g_free (send_request (session, "GET", uri, TRACEPARENT, "continued-1", SOUP_STATUS_OK));
  id_fresh = send_request (session, "GET", uri, NULL, NULL, SOUP_STATUS_OK);
  id_bad_parent = send_request (session, "GET", uri, "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01",
                                NULL, SOUP_STATUS_OK);
  g_free (uri);
  uri = g_strconcat (base, "/things/fail", NULL);
  id_failed = send_request (session, "GET", uri, NULL, NULL, SOUP_STATUS_INTERNAL_SERVER_ERROR);
  g_free (uri);
  uri = g_strconcat (base, "/nowhere", NULL);
  id_missing = send_request (session, "GET", uri, NULL, NULL, SOUP_STATUS_NOT_FOUND);
  g_free (uri);
  uri = g_strconcat (base, "/things/1", NULL);
  id_odd = send_request (session, "BREW", uri, NULL, NULL, SOUP_STATUS_METHOD_NOT_ALLOWED);

  /* A span is recorded when the server is done with the message, which may
   * be just after the client has its answer. */
  while (wb_otlp_exporter_get_spans_waiting (traced.exporter) < 6 && g_get_monotonic_time () < deadline)
    g_usleep (1000);
  g_assert_true (flush_sync (traced.exporter, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (collector_count (collector, "/v1/traces"), ==, 1);
  spans = spans_of (collector_get (collector, "/v1/traces", 0)->body);
  g_assert_cmpuint (json_array_get_length (spans), ==, 6);

  /* The caller's trace goes on: its trace id, its span as the parent. */
  span = span_with_request_id (spans, "continued-1");
  g_assert_cmpstr (json_object_get_string_member (span, "name"), ==, "GET /things/{id}");
  g_assert_cmpint (json_object_get_int_member (span, "kind"), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (span, "traceId"), ==, TRACE_ID);
  g_assert_cmpstr (json_object_get_string_member (span, "parentSpanId"), ==, PARENT_ID);
  g_assert_true (is_hex (json_object_get_string_member (span, "spanId"), 16));
  g_assert_cmpstr (json_object_get_string_member (span, "spanId"), !=, PARENT_ID);
  g_assert_cmpstr (string_attribute (span, "http.request.method"), ==, "GET");
  g_assert_cmpstr (string_attribute (span, "http.route"), ==, "/things/{id}");
  g_assert_cmpstr (string_attribute (span, "url.path"), ==, "/things/42");
  g_assert_cmpstr (int_attribute (span, "http.response.status_code"), ==, "200");
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (span, "status"), "code"), ==, 0);
  g_assert_cmpuint (nanoseconds (span, "startTimeUnixNano"), <=, nanoseconds (span, "endTimeUnixNano"));

  /* Without a (valid) traceparent, a new trace and a root span. */
  span = span_with_request_id (spans, id_fresh);
  g_assert_true (is_hex (json_object_get_string_member (span, "traceId"), 32));
  g_assert_cmpstr (json_object_get_string_member (span, "traceId"), !=, TRACE_ID);
  g_assert_false (json_object_has_member (span, "parentSpanId"));
  span = span_with_request_id (spans, id_bad_parent);
  g_assert_cmpstr (json_object_get_string_member (span, "traceId"), !=, TRACE_ID);
  g_assert_false (json_object_has_member (span, "parentSpanId"));

  span = span_with_request_id (spans, id_failed);
  g_assert_cmpstr (int_attribute (span, "http.response.status_code"), ==, "500");
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (span, "status"), "code"), ==, 2);

  /* No route: the method alone, and no http.route. */
  span = span_with_request_id (spans, id_missing);
  g_assert_cmpstr (json_object_get_string_member (span, "name"), ==, "GET");
  g_assert_null (string_attribute (span, "http.route"));
  g_assert_cmpstr (int_attribute (span, "http.response.status_code"), ==, "404");
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (span, "status"), "code"), ==, 0);

  /* A method outside HTTP's own is not a span name a client may choose. */
  span = span_with_request_id (spans, id_odd);
  g_assert_cmpstr (json_object_get_string_member (span, "name"), ==, "HTTP");
  g_assert_cmpstr (string_attribute (span, "http.request.method"), ==, "_OTHER");
  g_assert_cmpstr (int_attribute (span, "http.response.status_code"), ==, "405");

  wb_test_server_thread_stop (traced.thread);
  g_clear_object (&traced.exporter);
  g_clear_object (&traced.metrics);
}

static void
test_traceparent (void)
{
  static const struct { const char *header; gboolean valid; } cases[] = {
    { TRACEPARENT, TRUE },
    { "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", TRUE },
    /* A later version may add fields after the four it shares with 00. */
    { "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future", TRUE },
    { "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", FALSE },
    { "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", FALSE },
    { "00-00000000000000000000000000000000-00f067aa0ba902b7-01", FALSE },
    { "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", FALSE },
    { "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", FALSE },
    { "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01", FALSE },
    { "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7", FALSE },
    { "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902bz-01", FALSE },
    { "", FALSE },
    { NULL, FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      guint8 trace_id[16] = { 0 }, parent[8] = { 0 };
      char hex[33];

      if (wb_otlp_parse_traceparent (cases[i].header, trace_id, parent) != cases[i].valid)
        g_error ("“%s” should be %s", cases[i].header, cases[i].valid ? "valid" : "invalid");
      if (!cases[i].valid)
        continue;
      for (guint b = 0; b < 16; b++)
        g_snprintf (hex + 2 * b, 3, "%02x", trace_id[b]);
      g_assert_cmpstr (hex, ==, TRACE_ID);
      for (guint b = 0; b < 8; b++)
        g_snprintf (hex + 2 * b, 3, "%02x", parent[b]);
      g_assert_cmpstr (hex, ==, PARENT_ID);
    }
}

/* ---- waybilld, black box ------------------------------------------------ */

static guint
daemon_get (SoupSession *session,
            guint        port,
            const char  *path,
            const char  *traceparent)
{
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u%s", port, path);
  g_autoptr(SoupMessage) message = soup_message_new ("GET", uri);
  g_autoptr(GBytes) body = NULL;

  if (traceparent)
    soup_message_headers_replace (soup_message_get_request_headers (message), "traceparent", traceparent);
  body = soup_session_send_and_read (session, message, NULL, NULL);
  return soup_message_get_status (message);
}

/* The latest metrics request's value of the /healthz request counter. */
static double
healthz_requests (Collector *collector)
{
  guint count = collector_count (collector, "/v1/metrics");
  JsonObject *metric;
  JsonArray *points;

  if (count == 0)
    return 0;
  metric = find_metric (collector_get (collector, "/v1/metrics", count - 1)->body, "waybill_http_requests_total");
  if (metric == NULL)
    return 0;
  points = json_object_get_array_member (json_object_get_object_member (metric, "sum"), "dataPoints");
  for (guint i = 0; i < json_array_get_length (points); i++)
    {
      JsonObject *point = json_array_get_object_element (points, i);

      if (g_strcmp0 (string_attribute (point, "route"), "/healthz") == 0
          && g_strcmp0 (string_attribute (point, "status"), "200") == 0)
        return json_object_get_double_member (point, "asDouble");
    }
  return 0;
}

static JsonObject *
find_span_in_trace (Collector  *collector,
                    const char *trace_id)
{
  for (guint i = 0; i < collector_count (collector, "/v1/traces"); i++)
    {
      JsonArray *spans = spans_of (collector_get (collector, "/v1/traces", i)->body);

      for (guint s = 0; s < json_array_get_length (spans); s++)
        {
          JsonObject *span = json_array_get_object_element (spans, s);

          if (g_str_equal (json_object_get_string_member (span, "traceId"), trace_id))
            return span;
        }
    }
  return NULL;
}

static gboolean
span_named (Collector  *collector,
            const char *name)
{
  for (guint i = 0; i < collector_count (collector, "/v1/traces"); i++)
    {
      JsonArray *spans = spans_of (collector_get (collector, "/v1/traces", i)->body);

      for (guint s = 0; s < json_array_get_length (spans); s++)
        if (g_str_equal (json_object_get_string_member (json_array_get_object_element (spans, s), "name"), name))
          return TRUE;
    }
  return FALSE;
}

static void
test_daemon_exports (void)
{
  g_autoptr(Collector) collector = collector_new ();
  g_autofree char *conninfo = wb_test_pg_create_database ("otlp");
  g_autofree char *dsn = g_strconcat ("DB_DSN=", conninfo, NULL);
  g_autofree char *otlp = g_strdup_printf ("OTLP_ENDPOINT=http://127.0.0.1:%u/v1/traces", collector->port);
  const char *env[] = { dsn, otlp, "OTLP_EXPORT_INTERVAL=200ms", NULL };
  g_autoptr(SoupSession) session = soup_session_new_with_options ("timeout", 10, NULL);
  WbTestDaemon *d = wb_test_daemon_spawn (env, NULL);
  guint port = wb_test_daemon_port (d);
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  g_autofree char *announced = g_strdup_printf ("metrics every 0.2 s to http://127.0.0.1:%u/v1/metrics",
                                                collector->port);
  JsonObject *span;

  while (daemon_get (session, port, "/readyz", NULL) != SOUP_STATUS_OK && g_get_monotonic_time () < deadline)
    g_usleep (50 * 1000);
  g_assert_cmpuint (daemon_get (session, port, "/healthz", TRACEPARENT), ==, SOUP_STATUS_OK);
  g_assert_true (wb_test_daemon_log_contains (d, announced));

  /* The request's metric arrives with a periodic export. */
  while (healthz_requests (collector) < 1 && g_get_monotonic_time () < deadline)
    g_usleep (50 * 1000);
  g_assert_cmpfloat (healthz_requests (collector), ==, 1);
  assert_resource (collector_get (collector, "/v1/metrics", 0)->body, "resourceMetrics");

  /* Its span arrives with the spans' delay or, at the latest, with the
   * final flush of a graceful stop. */
  g_assert_cmpint (wb_test_daemon_terminate (d), ==, 0);
  span = find_span_in_trace (collector, TRACE_ID);
  if (span == NULL)
    g_error ("no span of the request's trace; log:\n%s", d->log->str);
  g_assert_cmpstr (json_object_get_string_member (span, "name"), ==, "GET /healthz");
  g_assert_cmpstr (json_object_get_string_member (span, "parentSpanId"), ==, PARENT_ID);
  g_assert_cmpstr (string_attribute (span, "http.route"), ==, "/healthz");
  g_assert_cmpstr (int_attribute (span, "http.response.status_code"), ==, "200");
  g_assert_nonnull (string_attribute (span, "waybill.request_id"));
  g_assert_false (wb_test_daemon_log_contains (d, "OpenTelemetry export of"));
  /* The readiness polls above, untraced probes, left no span. */
  g_assert_false (span_named (collector, "GET /readyz"));
  wb_test_daemon_free (d);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/otlp/registry-values", test_registry_values);
  g_test_add_func ("/otlp/endpoint-paths", test_endpoint_paths);
  g_test_add_func ("/otlp/traceparent", test_traceparent);
  g_test_add_func ("/otlp/metrics-export", test_metrics_export);
  g_test_add_func ("/otlp/spans-export", test_spans_export);
  g_test_add_func ("/otlp/span-batching", test_span_batching);
  g_test_add_func ("/otlp/collector-down", test_collector_down);
  g_test_add_func ("/otlp/collector-unavailable", test_collector_unavailable);
  g_test_add_func ("/otlp/collector-silent", test_collector_silent);
  g_test_add_func ("/otlp/http-request-spans", test_http_request_spans);
  g_test_add_func ("/otlp/daemon-exports", test_daemon_exports);

  return g_test_run ();
}
