// SPDX-License-Identifier: GPL-3.0-or-later
/* The registry behind /metrics: exact exposition text (format 0.0.4),
 * collectors, the process collector, thread safety and misuse handling. */

#include <math.h>
#include <string.h>
#include <time.h>

#include "wb-metrics.h"

#define METRICS_DOMAIN "Waybill-Metrics"

static void
assert_render (WbMetrics  *metrics,
               const char *expected)
{
  g_autofree char *text = wb_metrics_render (metrics);

  g_assert_cmpstr (text, ==, expected);
}

/* The value of the first sample line that starts with @series. */
static double
sample_value (const char *text,
              const char *series)
{
  g_autofree char *prefix = g_strconcat ("\n", series, " ", NULL);
  const char *line = strstr (text, prefix);

  if (line == NULL)
    g_error ("no sample %s in:\n%s", series, text);
  return g_ascii_strtod (line + strlen (prefix), NULL);
}

static void
test_counter (void)
{
  g_autoptr(WbMetrics) metrics = wb_metrics_new ();

  wb_metrics_declare (metrics, "http_requests_total", WB_METRIC_COUNTER,
                      "HTTP requests handled.", NULL, 0);
  wb_metrics_counter_add (metrics, "http_requests_total", 1, "method", "GET", "code", "200", NULL);
  wb_metrics_counter_add (metrics, "http_requests_total", 2, "code", "200", "method", "GET", NULL);
  wb_metrics_counter_add (metrics, "http_requests_total", 1, "method", "POST", "code", "201", NULL);
  wb_metrics_counter_add (metrics, "http_requests_total", 1.5, "code", "404", "method", "GET", NULL);

  assert_render (metrics,
                 "# HELP http_requests_total HTTP requests handled.\n"
                 "# TYPE http_requests_total counter\n"
                 "http_requests_total{code=\"200\",method=\"GET\"} 3\n"
                 "http_requests_total{code=\"201\",method=\"POST\"} 1\n"
                 "http_requests_total{code=\"404\",method=\"GET\"} 1.5\n");
}

static void
test_counter_set (void)
{
  g_autoptr(WbMetrics) metrics = wb_metrics_new ();

  wb_metrics_declare (metrics, "db_connections_opened_total", WB_METRIC_COUNTER,
                      "Connections opened by the pool.", NULL, 0);
  wb_metrics_counter_set (metrics, "db_connections_opened_total", 12, NULL);
  wb_metrics_counter_set (metrics, "db_connections_opened_total", 17, NULL);

  assert_render (metrics,
                 "# HELP db_connections_opened_total Connections opened by the pool.\n"
                 "# TYPE db_connections_opened_total counter\n"
                 "db_connections_opened_total 17\n");
}

static void
test_gauge (void)
{
  g_autoptr(WbMetrics) metrics = wb_metrics_new ();

  wb_metrics_declare (metrics, "db_pool_connections", WB_METRIC_GAUGE,
                      "Open database connections by state.", NULL, 0);
  wb_metrics_declare (metrics, "http_requests_in_flight", WB_METRIC_GAUGE,
                      "Requests being handled.", NULL, 0);
  wb_metrics_gauge_set (metrics, "db_pool_connections", 4, "state", "idle", NULL);
  wb_metrics_gauge_set (metrics, "db_pool_connections", 2, "state", "busy", NULL);
  wb_metrics_gauge_set (metrics, "db_pool_connections", 3, "state", "idle", NULL);
  wb_metrics_gauge_add (metrics, "http_requests_in_flight", 1, NULL);
  wb_metrics_gauge_add (metrics, "http_requests_in_flight", 1, NULL);
  wb_metrics_gauge_add (metrics, "http_requests_in_flight", -3, NULL);

  assert_render (metrics,
                 "# HELP db_pool_connections Open database connections by state.\n"
                 "# TYPE db_pool_connections gauge\n"
                 "db_pool_connections{state=\"busy\"} 2\n"
                 "db_pool_connections{state=\"idle\"} 3\n"
                 "# HELP http_requests_in_flight Requests being handled.\n"
                 "# TYPE http_requests_in_flight gauge\n"
                 "http_requests_in_flight -1\n");
}

static void
test_number_format (void)
{
  static const struct { double value; const char *text; } numbers[] = {
    { 0, "0" }, { 1e6, "1000000" }, { -42, "-42" }, { 9007199254740991.0, "9007199254740991" },
    { 0.1, "0.1" }, { 123456.789, "123456.789" }, { 1e-7, "1e-07" }, { 1.0 / 3, "0.3333333333333333" },
    { 1152921504606846976.0, "1.152921504606847e+18" },
    { INFINITY, "+Inf" }, { -INFINITY, "-Inf" }, { NAN, "NaN" },
  };
  g_autoptr(WbMetrics) metrics = wb_metrics_new ();
  g_autoptr(GString) expected = g_string_new ("# HELP value_test A value.\n# TYPE value_test gauge\n");

  wb_metrics_declare (metrics, "value_test", WB_METRIC_GAUGE, "A value.", NULL, 0);
  for (guint i = 0; i < G_N_ELEMENTS (numbers); i++)
    {
      char index[16];

      g_snprintf (index, sizeof index, "%02u", i);
      wb_metrics_gauge_set (metrics, "value_test", numbers[i].value, "i", index, NULL);
      g_string_append_printf (expected, "value_test{i=\"%s\"} %s\n", index, numbers[i].text);
    }

  assert_render (metrics, expected->str);
}

static void
test_histogram (void)
{
  static const double buckets[] = { 0.125, 0.5, 1 };
  g_autoptr(WbMetrics) metrics = wb_metrics_new ();

  wb_metrics_declare (metrics, "http_request_duration_seconds", WB_METRIC_HISTOGRAM,
                      "Request latency.", buckets, G_N_ELEMENTS (buckets));
  /* 0.125 sits on a bound, which is inclusive; 2 is above every bound. */
  wb_metrics_histogram_observe (metrics, "http_request_duration_seconds", 0.0625, "route", "/v1/shipments", NULL);
  wb_metrics_histogram_observe (metrics, "http_request_duration_seconds", 0.125, "route", "/v1/shipments", NULL);
  wb_metrics_histogram_observe (metrics, "http_request_duration_seconds", 0.25, "route", "/v1/shipments", NULL);
  wb_metrics_histogram_observe (metrics, "http_request_duration_seconds", 2, "route", "/v1/shipments", NULL);
  wb_metrics_histogram_observe (metrics, "http_request_duration_seconds", 0.75, "route", "/healthz", NULL);

  assert_render (metrics,
                 "# HELP http_request_duration_seconds Request latency.\n"
                 "# TYPE http_request_duration_seconds histogram\n"
                 "http_request_duration_seconds_bucket{route=\"/healthz\",le=\"0.125\"} 0\n"
                 "http_request_duration_seconds_bucket{route=\"/healthz\",le=\"0.5\"} 0\n"
                 "http_request_duration_seconds_bucket{route=\"/healthz\",le=\"1\"} 1\n"
                 "http_request_duration_seconds_bucket{route=\"/healthz\",le=\"+Inf\"} 1\n"
                 "http_request_duration_seconds_sum{route=\"/healthz\"} 0.75\n"
                 "http_request_duration_seconds_count{route=\"/healthz\"} 1\n"
                 "http_request_duration_seconds_bucket{route=\"/v1/shipments\",le=\"0.125\"} 2\n"
                 "http_request_duration_seconds_bucket{route=\"/v1/shipments\",le=\"0.5\"} 3\n"
                 "http_request_duration_seconds_bucket{route=\"/v1/shipments\",le=\"1\"} 3\n"
                 "http_request_duration_seconds_bucket{route=\"/v1/shipments\",le=\"+Inf\"} 4\n"
                 "http_request_duration_seconds_sum{route=\"/v1/shipments\"} 2.4375\n"
                 "http_request_duration_seconds_count{route=\"/v1/shipments\"} 4\n");
}

/* No buckets means Prometheus' defaults; an explicit +Inf bound is not
 * rendered twice. */
static void
test_histogram_buckets (void)
{
  static const double with_infinity[] = { 1024, INFINITY };
  g_autoptr(WbMetrics) metrics = wb_metrics_new ();
  g_autofree char *text = NULL;

  wb_metrics_declare (metrics, "default_seconds", WB_METRIC_HISTOGRAM, "Defaults.", NULL, 0);
  wb_metrics_declare (metrics, "body_bytes", WB_METRIC_HISTOGRAM, "Sizes.",
                      with_infinity, G_N_ELEMENTS (with_infinity));
  wb_metrics_histogram_observe (metrics, "default_seconds", 0.003, NULL);
  wb_metrics_histogram_observe (metrics, "body_bytes", 4096, NULL);

  text = wb_metrics_render (metrics);
  g_assert_nonnull (strstr (text,
                            "default_seconds_bucket{le=\"0.005\"} 1\n"
                            "default_seconds_bucket{le=\"0.01\"} 1\n"
                            "default_seconds_bucket{le=\"0.025\"} 1\n"
                            "default_seconds_bucket{le=\"0.05\"} 1\n"
                            "default_seconds_bucket{le=\"0.1\"} 1\n"
                            "default_seconds_bucket{le=\"0.25\"} 1\n"
                            "default_seconds_bucket{le=\"0.5\"} 1\n"
                            "default_seconds_bucket{le=\"1\"} 1\n"
                            "default_seconds_bucket{le=\"2.5\"} 1\n"
                            "default_seconds_bucket{le=\"5\"} 1\n"
                            "default_seconds_bucket{le=\"10\"} 1\n"
                            "default_seconds_bucket{le=\"+Inf\"} 1\n"
                            "default_seconds_sum 0.003\n"
                            "default_seconds_count 1\n"));
  g_assert_nonnull (strstr (text,
                            "# TYPE body_bytes histogram\n"
                            "body_bytes_bucket{le=\"1024\"} 0\n"
                            "body_bytes_bucket{le=\"+Inf\"} 1\n"
                            "body_bytes_sum 4096\n"
                            "body_bytes_count 1\n"));
}

static void
test_label_escaping (void)
{
  g_autoptr(WbMetrics) metrics = wb_metrics_new ();

  wb_metrics_declare (metrics, "carrier_errors_total", WB_METRIC_COUNTER, "Carrier errors.", NULL, 0);
  wb_metrics_counter_add (metrics, "carrier_errors_total", 1,
                          "message", "C:\\temp \"quoted\"\nsecond line", NULL);
  /* Outside input may be bad UTF-8; it is repaired, not refused. */
  wb_metrics_counter_add (metrics, "carrier_errors_total", 1, "message", "bad \xff byte", NULL);

  assert_render (metrics,
                 "# HELP carrier_errors_total Carrier errors.\n"
                 "# TYPE carrier_errors_total counter\n"
                 "carrier_errors_total{message=\"C:\\\\temp \\\"quoted\\\"\\nsecond line\"} 1\n"
                 "carrier_errors_total{message=\"bad \xef\xbf\xbd byte\"} 1\n");
}

static void
test_help_escaping (void)
{
  g_autoptr(WbMetrics) metrics = wb_metrics_new ();

  wb_metrics_declare (metrics, "escape_test", WB_METRIC_GAUGE,
                      "First line\nsecond \\ line with \"quotes\"", NULL, 0);

  /* HELP escapes backslash and newline only; a family with no series yet
   * is still announced. */
  assert_render (metrics,
                 "# HELP escape_test First line\\nsecond \\\\ line with \"quotes\"\n"
                 "# TYPE escape_test gauge\n");
}

static void
record_in_order (WbMetrics *metrics,
                 gboolean   reversed)
{
  static const char *routes[] = { "/v1/trips", "/v1/shipments", "/metrics", "/v1/vehicles" };

  wb_metrics_declare (metrics, "zeta_total", WB_METRIC_COUNTER, "Declared first.", NULL, 0);
  wb_metrics_declare (metrics, "alpha_total", WB_METRIC_COUNTER, "Declared second.", NULL, 0);
  for (guint i = 0; i < G_N_ELEMENTS (routes); i++)
    {
      const char *route = routes[reversed ? G_N_ELEMENTS (routes) - 1 - i : i];

      wb_metrics_counter_add (metrics, "alpha_total", 1, "route", route, "method", "GET", NULL);
      wb_metrics_counter_add (metrics, "zeta_total", 1, "method", "GET", "route", route, NULL);
    }
}

static void
test_stable_order (void)
{
  g_autoptr(WbMetrics) forward = wb_metrics_new ();
  g_autoptr(WbMetrics) backward = wb_metrics_new ();
  g_autofree char *forward_text = NULL;
  g_autofree char *backward_text = NULL;
  g_autofree char *again = NULL;

  record_in_order (forward, FALSE);
  record_in_order (backward, TRUE);
  forward_text = wb_metrics_render (forward);
  backward_text = wb_metrics_render (backward);
  again = wb_metrics_render (forward);

  g_assert_cmpstr (forward_text, ==, backward_text);
  g_assert_cmpstr (forward_text, ==, again);
  /* Families in declaration order, series sorted by labels. */
  g_assert_true (g_str_has_prefix (forward_text, "# HELP zeta_total Declared first.\n"));
  g_assert_nonnull (strstr (forward_text,
                            "alpha_total{method=\"GET\",route=\"/metrics\"} 1\n"
                            "alpha_total{method=\"GET\",route=\"/v1/shipments\"} 1\n"
                            "alpha_total{method=\"GET\",route=\"/v1/trips\"} 1\n"
                            "alpha_total{method=\"GET\",route=\"/v1/vehicles\"} 1\n"));
}

typedef struct
{
  guint calls;
  guint destroyed;
} CollectorState;

static void
collect_pool (WbMetrics *metrics,
              gpointer   user_data)
{
  CollectorState *state = user_data;

  state->calls++;
  wb_metrics_gauge_set (metrics, "collector_calls", state->calls, NULL);
}

static void
collector_destroyed (gpointer user_data)
{
  CollectorState *state = user_data;

  state->destroyed++;
}

static void
test_collectors (void)
{
  WbMetrics *metrics = wb_metrics_new ();
  CollectorState state = { 0, 0 };
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;

  wb_metrics_declare (metrics, "collector_calls", WB_METRIC_GAUGE, "Times the collector ran.", NULL, 0);
  wb_metrics_add_collector (metrics, collect_pool, &state, collector_destroyed);
  g_assert_cmpuint (state.calls, ==, 0);

  first = wb_metrics_render (metrics);
  second = wb_metrics_render (metrics);
  g_assert_cmpuint (state.calls, ==, 2);
  g_assert_nonnull (strstr (first, "\ncollector_calls 1\n"));
  g_assert_nonnull (strstr (second, "\ncollector_calls 2\n"));

  g_assert_cmpuint (state.destroyed, ==, 0);
  g_object_unref (metrics);
  g_assert_cmpuint (state.destroyed, ==, 1);
}

static void
test_process_collector (void)
{
  g_autoptr(WbMetrics) metrics = wb_metrics_new ();
  g_autofree char *text = NULL;
  double now = (double) time (NULL);
  double start_time;

  wb_metrics_add_process_collector (metrics);
  text = wb_metrics_render (metrics);

  g_assert_nonnull (strstr (text, "# TYPE process_cpu_seconds_total counter\n"));
  g_assert_cmpfloat (sample_value (text, "process_cpu_seconds_total"), >=, 0);
  g_assert_cmpfloat (sample_value (text, "process_resident_memory_bytes"), >, 0);
  g_assert_cmpfloat (sample_value (text, "process_virtual_memory_bytes"), >=,
                     sample_value (text, "process_resident_memory_bytes"));
  g_assert_cmpfloat (sample_value (text, "process_open_fds"), >, 0);
  g_assert_cmpfloat (sample_value (text, "process_max_fds"), >=, sample_value (text, "process_open_fds"));
  g_assert_cmpfloat (sample_value (text, "process_threads"), >=, 1);

  /* Clock ticks make the start time coarse; a few seconds either way. */
  start_time = sample_value (text, "process_start_time_seconds");
  g_assert_cmpfloat (start_time, >, now - 3600);
  g_assert_cmpfloat (start_time, <=, now + 5);
}

#define N_THREADS 8
#define N_UPDATES 20000

static gpointer
hammer (gpointer data)
{
  WbMetrics *metrics = data;

  for (guint i = 0; i < N_UPDATES; i++)
    {
      wb_metrics_counter_add (metrics, "hammer_total", 1, "kind", "shared", NULL);
      wb_metrics_histogram_observe (metrics, "hammer_seconds", 0.25, NULL);
      wb_metrics_gauge_add (metrics, "hammer_in_flight", 1, NULL);
      wb_metrics_gauge_add (metrics, "hammer_in_flight", -1, NULL);
      if (i % 1000 == 0)
        g_free (wb_metrics_render (metrics));
    }
  return NULL;
}

static void
test_concurrent_updates (void)
{
  static const double buckets[] = { 0.5 };
  g_autoptr(WbMetrics) metrics = wb_metrics_new ();
  GThread *threads[N_THREADS];
  g_autofree char *text = NULL;
  double total = N_THREADS * N_UPDATES;

  wb_metrics_declare (metrics, "hammer_total", WB_METRIC_COUNTER, "Updates.", NULL, 0);
  wb_metrics_declare (metrics, "hammer_seconds", WB_METRIC_HISTOGRAM, "Observations.", buckets, 1);
  wb_metrics_declare (metrics, "hammer_in_flight", WB_METRIC_GAUGE, "Balanced.", NULL, 0);

  for (guint i = 0; i < N_THREADS; i++)
    threads[i] = g_thread_new ("metrics-hammer", hammer, metrics);
  for (guint i = 0; i < N_THREADS; i++)
    g_thread_join (threads[i]);

  text = wb_metrics_render (metrics);
  g_assert_cmpfloat (sample_value (text, "hammer_total{kind=\"shared\"}"), ==, total);
  g_assert_cmpfloat (sample_value (text, "hammer_seconds_bucket{le=\"0.5\"}"), ==, total);
  g_assert_cmpfloat (sample_value (text, "hammer_seconds_count"), ==, total);
  g_assert_cmpfloat (sample_value (text, "hammer_seconds_sum"), ==, total * 0.25);
  g_assert_cmpfloat (sample_value (text, "hammer_in_flight"), ==, 0);
}

static void
test_undeclared (void)
{
  g_autoptr(WbMetrics) metrics = wb_metrics_new ();
  g_autofree char *text = NULL;

  g_test_expect_message (METRICS_DOMAIN, G_LOG_LEVEL_CRITICAL, "*nowhere_total*undeclared*");
  wb_metrics_counter_add (metrics, "nowhere_total", 1, "route", "/", NULL);
  g_test_expect_message (METRICS_DOMAIN, G_LOG_LEVEL_CRITICAL, "*nowhere_seconds*undeclared*");
  wb_metrics_histogram_observe (metrics, "nowhere_seconds", 1, NULL);
  g_test_assert_expected_messages ();

  text = wb_metrics_render (metrics);
  g_assert_cmpstr (text, ==, "");
}

/* Each misuse logs a critical and leaves the registry as it was. */
static void
test_misuse (void)
{
  g_autoptr(WbMetrics) metrics = wb_metrics_new ();
  static const double descending[] = { 1, 0.5 };
  const char *expected =
    "# HELP jobs_total Jobs.\n"
    "# TYPE jobs_total counter\n"
    "jobs_total 2\n"
    "# HELP wait_seconds Waits.\n"
    "# TYPE wait_seconds histogram\n";

  wb_metrics_declare (metrics, "jobs_total", WB_METRIC_COUNTER, "Jobs.", NULL, 0);
  wb_metrics_declare (metrics, "wait_seconds", WB_METRIC_HISTOGRAM, "Waits.", NULL, 0);
  wb_metrics_counter_add (metrics, "jobs_total", 2, NULL);
  /* Declaring again with the same type is allowed and changes nothing. */
  wb_metrics_declare (metrics, "jobs_total", WB_METRIC_COUNTER, "Jobs again.", NULL, 0);

  g_test_expect_message (METRICS_DOMAIN, G_LOG_LEVEL_CRITICAL, "*negative*");
  wb_metrics_counter_add (metrics, "jobs_total", -1, NULL);
  g_test_expect_message (METRICS_DOMAIN, G_LOG_LEVEL_CRITICAL, "*jobs_total is a counter*");
  wb_metrics_gauge_set (metrics, "jobs_total", 5, NULL);
  g_test_expect_message (METRICS_DOMAIN, G_LOG_LEVEL_CRITICAL, "*invalid label name*1st*");
  wb_metrics_counter_add (metrics, "jobs_total", 1, "1st", "x", NULL);
  g_test_expect_message (METRICS_DOMAIN, G_LOG_LEVEL_CRITICAL, "*invalid label name*__name__*");
  wb_metrics_counter_add (metrics, "jobs_total", 1, "__name__", "x", NULL);
  g_test_expect_message (METRICS_DOMAIN, G_LOG_LEVEL_CRITICAL, "*label queue given twice*");
  wb_metrics_counter_add (metrics, "jobs_total", 1, "queue", "a", "queue", "b", NULL);
  g_test_expect_message (METRICS_DOMAIN, G_LOG_LEVEL_CRITICAL, "*“le” is reserved*");
  wb_metrics_histogram_observe (metrics, "wait_seconds", 1, "le", "1", NULL);
  g_test_expect_message (METRICS_DOMAIN, G_LOG_LEVEL_CRITICAL, "*already declared as a counter*");
  wb_metrics_declare (metrics, "jobs_total", WB_METRIC_GAUGE, "Jobs.", NULL, 0);
  g_test_expect_message (METRICS_DOMAIN, G_LOG_LEVEL_CRITICAL, "*Invalid metric name*");
  wb_metrics_declare (metrics, "jobs-total", WB_METRIC_COUNTER, "Jobs.", NULL, 0);
  g_test_expect_message (METRICS_DOMAIN, G_LOG_LEVEL_CRITICAL, "*strictly ascending*");
  wb_metrics_declare (metrics, "bad_seconds", WB_METRIC_HISTOGRAM, "Bad.", descending, 2);
  g_test_expect_message (METRICS_DOMAIN, G_LOG_LEVEL_CRITICAL, "*only histograms have buckets*");
  wb_metrics_declare (metrics, "bad_gauge", WB_METRIC_GAUGE, "Bad.", descending, 1);
  g_test_assert_expected_messages ();

  assert_render (metrics, expected);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/metrics/counter", test_counter);
  g_test_add_func ("/metrics/counter-set", test_counter_set);
  g_test_add_func ("/metrics/gauge", test_gauge);
  g_test_add_func ("/metrics/number-format", test_number_format);
  g_test_add_func ("/metrics/histogram", test_histogram);
  g_test_add_func ("/metrics/histogram-buckets", test_histogram_buckets);
  g_test_add_func ("/metrics/label-escaping", test_label_escaping);
  g_test_add_func ("/metrics/help-escaping", test_help_escaping);
  g_test_add_func ("/metrics/stable-order", test_stable_order);
  g_test_add_func ("/metrics/collectors", test_collectors);
  g_test_add_func ("/metrics/process-collector", test_process_collector);
  g_test_add_func ("/metrics/concurrent-updates", test_concurrent_updates);
  g_test_add_func ("/metrics/undeclared", test_undeclared);
  g_test_add_func ("/metrics/misuse", test_misuse);

  return g_test_run ();
}
