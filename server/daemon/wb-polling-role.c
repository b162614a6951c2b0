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

WbTrackingsApi *
wb_polling_api_new (const WbRoleContext  *context,
                    GError              **error)
{
  g_autoptr(WbCarrierTable) carriers = NULL;
  g_autoptr(WbPollingLadder) ladder = NULL;
  g_autoptr(WbTrackingStore) store = NULL;

  if (!wb_polling_settings_load (context->config, &carriers, &ladder, error))
    return NULL;
  store = wb_tracking_store_new (context->pool);
  return wb_trackings_api_new (store, carriers, ladder->refresh_interval);
}

/* ---- scheduler ---------------------------------------------------------------- */

static void
collect_scheduler_metrics (WbMetrics *m,
                           gpointer   data)
{
  WbSchedulerCounts c;

  wb_polling_scheduler_get_counts (data, &c);
  wb_metrics_counter_set (m, "waybill_polling_claims_total", c.claimed, NULL);
  wb_metrics_counter_set (m, "waybill_polling_claim_failures_total", c.failures, NULL);
}

static gpointer
scheduler_create (const WbRoleContext  *context,
                  GError              **error)
{
  WbPollingScheduler *scheduler;
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
  wb_metrics_add_collector (context->metrics, collect_scheduler_metrics, g_object_ref (scheduler), g_object_unref);
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

const WbRolePipeline wb_scheduler_pipeline = {
  .create = scheduler_create,
  .start = scheduler_start,
  .stop = scheduler_stop,
  .free = g_object_unref,
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

  for (guint i = 0; i < wb_carrier_table_get_n_carriers (metrics->carriers); i++)
    {
      const char *code = wb_carrier_table_get_nth (metrics->carriers, i)->code;
      WbWorkerCounts c;

      wb_carrier_worker_get_carrier_counts (metrics->worker, code, &c);
      wb_metrics_counter_set (m, "waybill_carrier_requests_total", c.ok, "carrier", code, "outcome", "ok", NULL);
      wb_metrics_counter_set (m, "waybill_carrier_requests_total", c.not_found, "carrier", code, "outcome", "not_found", NULL);
      wb_metrics_counter_set (m, "waybill_carrier_requests_total", c.failed, "carrier", code, "outcome", "failed", NULL);
      wb_metrics_counter_set (m, "waybill_carrier_requests_total", c.rate_limited, "carrier", code, "outcome",
                              "rate_limited", NULL);
      wb_metrics_counter_set (m, "waybill_carrier_requests_total", c.stale, "carrier", code, "outcome", "stale", NULL);
      wb_metrics_counter_set (m, "waybill_carrier_new_events_total", c.new_events, "carrier", code, NULL);
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
  wb_metrics_declare (context->metrics, "waybill_carrier_requests_total", WB_METRIC_COUNTER,
                      "Checks at each carrier, by outcome (ok, not_found, failed, rate_limited; stale: the lease "
                      "had moved on and nothing was written).", NULL, 0);
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
