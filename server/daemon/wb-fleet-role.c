// SPDX-License-Identifier: GPL-3.0-or-later
/* The fleet role's wiring: configuration in, figures out. */

#include "config.h"

#include "wb-fleet-reference-consumer.h"
#include "wb-fleet-role.h"
#include "wb-position-history.h"

#define START_RETRY_MAX_MS 5000
#define DAY_MS             (24 * 3600 * 1000LL)

struct _WbFleetRole
{
  GObject                   parent_instance;

  WbMetrics                *metrics;
  WbPositionHistory        *history;
  WbFleetProcessor         *processor;
  WbFleetReferenceConsumer *reference;
  GCancellable             *cancellable;
  guint                     retry_ms;
  guint                     retry_source;
  gboolean                  started;
  char                     *problem;      /* why not started, for /readyz */
};

G_DEFINE_FINAL_TYPE (WbFleetRole, wb_fleet_role, G_TYPE_OBJECT)

static void start_processor (WbFleetRole *self);

static gboolean
retry_start (gpointer data)
{
  WbFleetRole *self = data;

  self->retry_source = 0;
  start_processor (self);
  return G_SOURCE_REMOVE;
}

static void
on_started (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  g_autoptr(WbFleetRole) self = data;
  g_autoptr(GError) error = NULL;

  if (wb_fleet_processor_start_finish (WB_FLEET_PROCESSOR (source), result, &error))
    {
      self->started = TRUE;
      g_clear_pointer (&self->problem, g_free);
      self->retry_ms = 0;
      g_message ("Fleet processing started");
      return;
    }
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self->retry_ms = self->retry_ms ? MIN (self->retry_ms * 2, START_RETRY_MAX_MS) : 250;
  g_warning ("Fleet processing could not start (%s); retrying in %u ms", error->message, self->retry_ms);
  g_free (self->problem);
  self->problem = g_strdup_printf ("fleet processing: %s", error->message);
  self->retry_source = g_timeout_add (self->retry_ms, retry_start, self);
}

static void
start_processor (WbFleetRole *self)
{
  wb_fleet_processor_start_async (self->processor, self->cancellable, on_started, g_object_ref (self));
}

void
wb_fleet_role_start (WbFleetRole *self)
{
  g_return_if_fail (WB_IS_FLEET_ROLE (self));

  /* Subscribed at once, as the processor is: the in-process bus drops what
   * nobody consumes, and a late database only makes these wait. */
  wb_fleet_reference_consumer_start (self->reference);
  start_processor (self);
}

void
wb_fleet_role_stop (WbFleetRole *self)
{
  g_return_if_fail (WB_IS_FLEET_ROLE (self));

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->retry_source, g_source_remove);
  wb_fleet_reference_consumer_stop (self->reference);
  wb_fleet_processor_stop (self->processor);
}

gboolean
wb_fleet_role_is_ready (WbFleetRole  *self,
                        char        **out_reason)
{
  WbFleetProcessorStats stats;

  g_return_val_if_fail (WB_IS_FLEET_ROLE (self), FALSE);

  if (!self->started)
    {
      if (out_reason)
        *out_reason = g_strdup (self->problem ? self->problem : "fleet processing is starting");
      return FALSE;
    }
  wb_fleet_processor_get_stats (self->processor, &stats);
  if (!stats.db_up)
    {
      if (out_reason)
        *out_reason = g_strdup ("fleet processing: the database is unavailable, positions wait on the bus");
      return FALSE;
    }
  return TRUE;
}
static void
collect (WbMetrics *m,
         gpointer   data)
{
  WbFleetRole *self = data;
  WbFleetProcessorStats s;
  guint64 applied = 0, ignored = 0, dead = 0;

  wb_fleet_processor_get_stats (self->processor, &s);
  wb_fleet_reference_consumer_get_counts (self->reference, &applied, &ignored, &dead);
  wb_metrics_counter_set (m, "waybill_fleet_batches_total", s.batches, NULL);
  wb_metrics_counter_set (m, "waybill_fleet_positions_total", s.stored, "outcome", "stored", NULL);
  wb_metrics_counter_set (m, "waybill_fleet_positions_total", s.repeated, "outcome", "repeated", NULL);
  wb_metrics_counter_set (m, "waybill_fleet_positions_total", s.expired, "outcome", "expired", NULL);
  wb_metrics_counter_set (m, "waybill_fleet_positions_unassigned_total", s.unassigned, NULL);
  wb_metrics_counter_set (m, "waybill_fleet_retries_total", s.retries, NULL);
  wb_metrics_counter_set (m, "waybill_fleet_carrier_locations_total", s.carrier_locations, NULL);
  wb_metrics_counter_set (m, "waybill_dead_letters_total", s.dead_letters, "consumer", "fleet", NULL);
  wb_metrics_counter_set (m, "waybill_dead_letters_total", dead, "consumer", "fleet-reference", NULL);
  wb_metrics_counter_set (m, "waybill_fleet_reference_updates_total", applied, "outcome", "applied", NULL);
  wb_metrics_counter_set (m, "waybill_fleet_reference_updates_total", ignored, "outcome", "not_newer", NULL);
  wb_metrics_gauge_set (m, "waybill_fleet_vehicles", s.vehicles, NULL);
  wb_metrics_gauge_set (m, "waybill_fleet_devices_offline", s.offline_devices, NULL);
}

static void
declare_metrics (WbMetrics *m)
{
  wb_metrics_declare (m, "waybill_fleet_batches_total", WB_METRIC_COUNTER,
                      "Batches of positions committed to history.", NULL, 0);
  wb_metrics_declare (m, "waybill_fleet_positions_total", WB_METRIC_COUNTER,
                      "Positions processed: stored, repeated (already in history), expired (past the retention).",
                      NULL, 0);
  wb_metrics_declare (m, "waybill_fleet_positions_unassigned_total", WB_METRIC_COUNTER,
                      "Positions from devices with no vehicle (stored, no vehicle state).", NULL, 0);
  wb_metrics_declare (m, "waybill_fleet_retries_total", WB_METRIC_COUNTER,
                      "Batches put back on the bus after a database fault.", NULL, 0);
  wb_metrics_declare (m, "waybill_fleet_carrier_locations_total", WB_METRIC_COUNTER,
                      "events.carrier_location messages applied.", NULL, 0);
  wb_metrics_declare (m, "waybill_fleet_reference_updates_total", WB_METRIC_COUNTER,
                      "Reference-data messages from the bus: applied, or not newer than the stored version.",
                      NULL, 0);
  wb_metrics_declare (m, "waybill_fleet_vehicles", WB_METRIC_GAUGE, "Vehicles with a current state.", NULL, 0);
  wb_metrics_declare (m, "waybill_fleet_devices_offline", WB_METRIC_GAUGE,
                      "Devices silent longer than fleet.offline-after.", NULL, 0);
}

static void
wb_fleet_role_finalize (GObject *object)
{
  WbFleetRole *self = WB_FLEET_ROLE (object);

  g_clear_handle_id (&self->retry_source, g_source_remove);
  g_clear_object (&self->processor);
  g_clear_object (&self->reference);
  g_clear_object (&self->history);
  g_clear_object (&self->metrics);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->problem, g_free);
  G_OBJECT_CLASS (wb_fleet_role_parent_class)->finalize (object);
}

static void
wb_fleet_role_class_init (WbFleetRoleClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = wb_fleet_role_finalize;
}

static void
wb_fleet_role_init (WbFleetRole *self)
{
  self->cancellable = g_cancellable_new ();
}

static guint
days_of (gint64 ms)
{
  return ms <= 0 ? 0 : (guint) MAX (1, (ms + DAY_MS - 1) / DAY_MS);
}

WbFleetRole *
wb_fleet_role_new (WbConfig     *config,
                   WbBus        *bus,
                   WbFleetStore *store,
                   const char   *conninfo,
                   WbMetrics    *metrics)
{
  WbFleetProcessorSettings settings;
  WbFleetRole *self;

  g_return_val_if_fail (WB_IS_CONFIG (config), NULL);
  g_return_val_if_fail (WB_IS_BUS (bus), NULL);
  g_return_val_if_fail (WB_IS_FLEET_STORE (store), NULL);
  g_return_val_if_fail (WB_IS_METRICS (metrics), NULL);

  wb_fleet_processor_settings_init (&settings);
  settings.max_batch = wb_config_get_int (config, "fleet.batch-size");
  settings.linger_ms = wb_config_get_int (config, "fleet.batch-linger");
  settings.offline_after = wb_config_get_int (config, "fleet.offline-after") * 1000;

  self = g_object_new (WB_TYPE_FLEET_ROLE, NULL);
  self->metrics = g_object_ref (metrics);
  self->history = wb_position_history_new (days_of (wb_config_get_int (config, "fleet.history-retention")),
                                           wb_config_get_int (config, "fleet.partitions-ahead"));
  self->processor = wb_fleet_processor_new (bus, wb_fleet_store_get_index (store), self->history, conninfo,
                                            &settings);
  self->reference = wb_fleet_reference_consumer_new (bus, store);
  declare_metrics (metrics);
  wb_metrics_add_collector (metrics, collect, self, NULL);
  return self;
}
