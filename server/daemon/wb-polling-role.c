// SPDX-License-Identifier: GPL-3.0-or-later
/* Carrier polling in waybilld: the api role's trackings resources, and the
 * scheduler and carrier-worker roles (docs/polling.md). */

#include "config.h"

#include <unistd.h>

#include "wb-carrier-worker.h"
#include "wb-polling-role.h"
#include "wb-polling-scheduler.h"
#include "wb-status-map.h"

gboolean
wb_polling_settings_load (WbConfig          *config,
                          WbCarrierTable   **out_carriers,
                          WbPollingLadder  **out_ladder,
                          GError           **error)
{
  const char *ladder_file = wb_config_get_string (config, "polling.ladder-file");
  g_autofree char *ladder_text = NULL;
  g_autoptr(GError) local_error = NULL;

  if (ladder_file != NULL && *ladder_file != '\0'
      && !g_file_get_contents (ladder_file, &ladder_text, NULL, &local_error))
    {
      g_set_error (error, WB_CONFIG_ERROR, WB_CONFIG_ERROR_INVALID_VALUE, "polling.ladder-file: %s",
                   local_error->message);
      return FALSE;
    }
  *out_carriers = wb_carrier_table_load (wb_config_get_string (config, "polling.carriers-file"), error);
  if (*out_carriers == NULL)
    return FALSE;
  *out_ladder = wb_polling_ladder_load (ladder_text, wb_config_get_string (config, "polling.profile"), error);
  if (*out_ladder == NULL)
    {
      g_clear_object (out_carriers);
      return FALSE;
    }
  return TRUE;
}

/* The carrier workers' figures of this daemon, shared by its API (GET
 * /carriers) and its carrier-worker role, whichever is created first. */
static WbCarrierStats *
daemon_carrier_stats (void)
{
  static WbCarrierStats *stats;

  if (g_once_init_enter (&stats))
    g_once_init_leave (&stats, wb_carrier_stats_new ());
  return stats;
}

WbTrackingsApi *
wb_polling_api_new (const WbRoleContext  *context,
                    GError              **error)
{
  g_autoptr(WbCarrierTable) carriers = NULL;
  g_autoptr(WbPollingLadder) ladder = NULL;
  g_autoptr(WbTrackingStore) store = NULL;
  WbTrackingsApi *api;

  if (!wb_polling_settings_load (context->config, &carriers, &ladder, error))
    return NULL;
  store = wb_tracking_store_new (context->pool);
  api = wb_trackings_api_new (store, carriers, ladder->refresh_interval);
  wb_trackings_api_set_stats (api, daemon_carrier_stats ());
  return api;
}

/* ---- scheduler ---------------------------------------------------------------- */

typedef struct
{
  WbPollingScheduler *scheduler;
  WbCarrierTable     *carriers;
} SchedulerMetrics;

static void
scheduler_metrics_free (gpointer data)
{
  SchedulerMetrics *metrics = data;

  g_object_unref (metrics->scheduler);
  g_object_unref (metrics->carriers);
  g_free (metrics);
}

/* The shared limits as this scheduler's latest claim read them: a gauge
 * per breaker state (1 for the current one), the quota, the block. */
static void
collect_carrier_limits (WbMetrics             *m,
                        const WbCarrierConfig *carrier,
                        const WbCarrierLimitsView *view)
{
  if (!view->known)
    return;
  for (WbBreakerState state = WB_BREAKER_CLOSED; state <= WB_BREAKER_HALF_OPEN; state++)
    wb_metrics_gauge_set (m, "waybill_carrier_breaker_state", view->breaker == state, "carrier", carrier->code,
                          "state", wb_breaker_state_to_string (state), NULL);
  wb_metrics_gauge_set (m, "waybill_carrier_quota_used", view->quota_used, "carrier", carrier->code, NULL);
  if (carrier->daily_quota > 0)
    wb_metrics_gauge_set (m, "waybill_carrier_quota_left", MAX (0, (gint64) carrier->daily_quota - view->quota_used),
                          "carrier", carrier->code, NULL);
  wb_metrics_gauge_set (m, "waybill_carrier_blocked", view->blocked, "carrier", carrier->code, NULL);
}

static void
collect_scheduler_metrics (WbMetrics *m,
                           gpointer   data)
{
  SchedulerMetrics *metrics = data;
  WbSchedulerCounts c;

  wb_polling_scheduler_get_counts (metrics->scheduler, &c);
  wb_metrics_counter_set (m, "waybill_polling_claims_total", c.claimed, NULL);
  wb_metrics_counter_set (m, "waybill_polling_claim_failures_total", c.failures, NULL);
  for (guint i = 0; i < wb_carrier_table_get_n_carriers (metrics->carriers); i++)
    {
      WbCarrierLimitsView view;

      wb_polling_scheduler_get_limits (metrics->scheduler, i, &view);
      collect_carrier_limits (m, wb_carrier_table_get_nth (metrics->carriers, i), &view);
    }
}

static gpointer
scheduler_create (const WbRoleContext  *context,
                  GError              **error)
{
  WbPollingScheduler *scheduler;
  SchedulerMetrics *metrics;
  g_autoptr(WbCarrierTable) carriers = NULL;
  g_autoptr(WbPollingLadder) ladder = NULL;
  g_autofree char *owner = NULL;

  if (!wb_polling_settings_load (context->config, &carriers, &ladder, error))
    return NULL;
  /* Leases name their daemon, and differ after a restart: a lease of the
   * process before is never taken for one of ours. */
  owner = g_strdup_printf ("%s:%d:%08x", g_get_host_name (), (int) getpid (), g_random_int ());
  scheduler = wb_polling_scheduler_new (context->pool, context->bus, carriers, ladder, owner);
  wb_metrics_declare (context->metrics, "waybill_polling_claims_total", WB_METRIC_COUNTER,
                      "Due trackings the scheduler claimed, each with one permit of its carrier.", NULL, 0);
  wb_metrics_declare (context->metrics, "waybill_polling_claim_failures_total", WB_METRIC_COUNTER,
                      "Claim transactions that failed (the database was away).", NULL, 0);
  wb_metrics_declare (context->metrics, "waybill_carrier_breaker_state", WB_METRIC_GAUGE,
                      "Each carrier's circuit breaker: 1 for its state (closed, open, half-open), 0 for the others.",
                      NULL, 0);
  wb_metrics_declare (context->metrics, "waybill_carrier_quota_used", WB_METRIC_GAUGE,
                      "Requests each carrier's daily quota has given today (UTC), shared by every daemon.", NULL, 0);
  wb_metrics_declare (context->metrics, "waybill_carrier_quota_left", WB_METRIC_GAUGE,
                      "What is left of each carrier's daily quota today (UTC); carriers with a quota only.", NULL, 0);
  wb_metrics_declare (context->metrics, "waybill_carrier_blocked", WB_METRIC_GAUGE,
                      "1 while a carrier's 429 blocks every daemon from calling it.", NULL, 0);
  metrics = g_new0 (SchedulerMetrics, 1);
  metrics->scheduler = g_object_ref (scheduler);
  metrics->carriers = g_object_ref (carriers);
  wb_metrics_add_collector (context->metrics, collect_scheduler_metrics, metrics, scheduler_metrics_free);
  return scheduler;
}

static gboolean
scheduler_start (gpointer   pipeline,
                 GError   **error)
{
  wb_polling_scheduler_start (pipeline);
  return TRUE;
}

static void
scheduler_stop (gpointer pipeline)
{
  wb_polling_scheduler_stop (pipeline);
}

/* Intake: claims stop as soon as shutdown begins, so that the bus can
 * drain; a scheduler still claiming would refill it at the carriers' rate
 * and the flush would wait for the whole backlog. */
const WbRolePipeline wb_scheduler_pipeline = {
  .create = scheduler_create,
  .start = scheduler_start,
  .stop = scheduler_stop,
  .free = g_object_unref,
  .intake = TRUE,
};

/* ---- carrier-worker ------------------------------------------------------------ */

typedef struct
{
  WbCarrierWorker *worker;
  WbCarrierTable  *carriers;
} WorkerMetrics;

static void
worker_metrics_free (gpointer data)
{
  WorkerMetrics *metrics = data;

  g_object_unref (metrics->worker);
  g_object_unref (metrics->carriers);
  g_free (metrics);
}

static void
collect_worker_metrics (WbMetrics *m,
                        gpointer   data)
{
  WorkerMetrics *metrics = data;
  WbCarrierStats *stats = wb_carrier_worker_get_stats (metrics->worker);

  for (guint i = 0; i < wb_carrier_table_get_n_carriers (metrics->carriers); i++)
    {
      const char *code = wb_carrier_table_get_nth (metrics->carriers, i)->code;
      WbCarrierStatsTotals totals;
      WbWorkerCounts c;

      wb_carrier_worker_get_carrier_counts (metrics->worker, code, &c);
      wb_carrier_stats_get_totals (stats, code, &totals);
      for (WbCarrierOutcome outcome = 0; outcome < WB_CARRIER_N_OUTCOMES; outcome++)
        wb_metrics_counter_set (m, "waybill_carrier_requests_total", totals.outcomes[outcome], "carrier", code,
                                "outcome", wb_carrier_outcome_to_string (outcome), NULL);
      wb_metrics_counter_set (m, "waybill_carrier_new_events_total", c.new_events, "carrier", code, NULL);
      wb_metrics_counter_set (m, "waybill_carrier_permit_wait_seconds_total", totals.wait_us_sum / (double) G_USEC_PER_SEC,
                              "carrier", code, NULL);
      wb_metrics_counter_set (m, "waybill_carrier_permit_waits_total", totals.waits, "carrier", code, NULL);
    }
}

static gpointer
worker_create (const WbRoleContext  *context,
               GError              **error)
{
  g_autoptr(WbCarrierTable) carriers = NULL;
  g_autoptr(WbPollingLadder) ladder = NULL;
  g_autoptr(WbStatusMap) map = NULL;
  WbCarrierWorker *worker;
  WorkerMetrics *metrics;

  if (!wb_polling_settings_load (context->config, &carriers, &ladder, error)
      || (map = wb_status_map_load_default (error)) == NULL
      || (worker = wb_carrier_worker_new (context->pool, context->bus, carriers, ladder, map, error)) == NULL)
    return NULL;
  wb_carrier_worker_set_stats (worker, daemon_carrier_stats ());
  wb_metrics_declare (context->metrics, "waybill_carrier_requests_total", WB_METRIC_COUNTER,
                      "Requests to each carrier, by outcome (ok, not_found, throttled: 429, error: 5xx or another "
                      "status, unreadable: a 200 that could not be read, timeout: no answer; stale: answered after "
                      "the lease had moved on, nothing written).", NULL, 0);
  wb_metrics_declare (context->metrics, "waybill_carrier_permit_wait_seconds_total", WB_METRIC_COUNTER,
                      "Time checks waited in this daemon's workers for their carrier's permits, in all.", NULL, 0);
  wb_metrics_declare (context->metrics, "waybill_carrier_permit_waits_total", WB_METRIC_COUNTER,
                      "Checks that waited for a permit (the calls made).", NULL, 0);
  wb_metrics_declare (context->metrics, "waybill_carrier_new_events_total", WB_METRIC_COUNTER,
                      "Tracking events each carrier reported that were not stored before.", NULL, 0);
  metrics = g_new0 (WorkerMetrics, 1);
  metrics->worker = g_object_ref (worker);
  metrics->carriers = g_object_ref (carriers);
  wb_metrics_add_collector (context->metrics, collect_worker_metrics, metrics, worker_metrics_free);
  return worker;
}

static gboolean
worker_start (gpointer   pipeline,
              GError   **error)
{
  wb_carrier_worker_start (pipeline);
  return TRUE;
}

static void
worker_stop (gpointer pipeline)
{
  wb_carrier_worker_stop (pipeline);
}

const WbRolePipeline wb_carrier_worker_pipeline = {
  .create = worker_create,
  .start = worker_start,
  .stop = worker_stop,
  .free = g_object_unref,
};
