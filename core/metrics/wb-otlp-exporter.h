// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <gio/gio.h>

#include "wb-metrics.h"

G_BEGIN_DECLS

#define WB_OTLP_ERROR (wb_otlp_error_quark ())

typedef enum
{
  WB_OTLP_ERROR_INVALID_ENDPOINT,
  WB_OTLP_ERROR_EXPORT_FAILED,
} WbOtlpError;

/* Spans waiting for export at most; beyond, the oldest are dropped. */
#define WB_OTLP_MAX_QUEUED_SPANS 2048
/* Spans per request; this many waiting also starts an export at once. */
#define WB_OTLP_SPAN_BATCH_SIZE  512

/* The values of OTLP's Span.SpanKind and Status.StatusCode. */
typedef enum
{
  WB_OTLP_SPAN_KIND_INTERNAL = 1,
  WB_OTLP_SPAN_KIND_SERVER = 2,
  WB_OTLP_SPAN_KIND_CLIENT = 3,
} WbOtlpSpanKind;

typedef enum
{
  WB_OTLP_STATUS_UNSET = 0,
  WB_OTLP_STATUS_OK = 1,
  WB_OTLP_STATUS_ERROR = 2,
} WbOtlpStatusCode;

/**
 * WbOtlpAttribute:
 * @string_value: (nullable): the value; %NULL for @int_value
 */
typedef struct
{
  const char *key;
  const char *string_value;
  gint64      int_value;
} WbOtlpAttribute;

/**
 * WbOtlpSpan:
 * @parent_span_id: all zero for a root span
 * @start_time_us: wall clock, as g_get_real_time()
 *
 * A finished span, handed to wb_otlp_exporter_record_span(), which copies
 * it: the caller keeps what it points to.
 */
typedef struct
{
  guint8                 trace_id[16];
  guint8                 span_id[8];
  guint8                 parent_span_id[8];
  const char            *name;
  WbOtlpSpanKind         kind;
  WbOtlpStatusCode       status;
  gint64                 start_time_us;
  gint64                 end_time_us;
  const WbOtlpAttribute *attributes;
  guint                  n_attributes;
} WbOtlpSpan;

#define WB_TYPE_OTLP_EXPORTER (wb_otlp_exporter_get_type ())

G_DECLARE_FINAL_TYPE (WbOtlpExporter, wb_otlp_exporter, WB, OTLP_EXPORTER, GObject)

GQuark          wb_otlp_error_quark                  (void);

/**
 * WbOtlpExporter:
 *
 * Sends a #WbMetrics registry and recorded spans to an OpenTelemetry
 * collector over OTLP/HTTP with JSON bodies: metrics every export interval,
 * spans in batches every few seconds or as soon as a batch is waiting.
 * Exports run on the thread-default main context of wb_otlp_exporter_new(),
 * never blocking it. Spans may be recorded from any thread; the other calls
 * belong on that context's thread.
 */
WbOtlpExporter *wb_otlp_exporter_new                 (const char           *endpoint,
                                                      WbMetrics            *metrics,
                                                      GError              **error);
void            wb_otlp_exporter_set_export_interval (WbOtlpExporter       *self,
                                                      guint                 interval_ms);
void            wb_otlp_exporter_set_span_delay      (WbOtlpExporter       *self,
                                                      guint                 delay_ms);
void            wb_otlp_exporter_set_timeout         (WbOtlpExporter       *self,
                                                      guint                 timeout_ms);
const char     *wb_otlp_exporter_get_metrics_url     (WbOtlpExporter       *self);
const char     *wb_otlp_exporter_get_traces_url      (WbOtlpExporter       *self);
void            wb_otlp_exporter_record_span         (WbOtlpExporter       *self,
                                                      const WbOtlpSpan     *span);
guint           wb_otlp_exporter_get_spans_waiting   (WbOtlpExporter       *self);
void            wb_otlp_exporter_stop                (WbOtlpExporter       *self);
void            wb_otlp_exporter_flush_async         (WbOtlpExporter       *self,
                                                      GCancellable         *cancellable,
                                                      GAsyncReadyCallback   callback,
                                                      gpointer              user_data);
gboolean        wb_otlp_exporter_flush_finish        (WbOtlpExporter       *self,
                                                      GAsyncResult         *result,
                                                      GError              **error);

gboolean        wb_otlp_parse_traceparent            (const char           *header,
                                                      guint8                trace_id[16],
                                                      guint8                parent_span_id[8]);
void            wb_otlp_random_id                    (guint8               *id,
                                                      gsize                 size);

G_END_DECLS
