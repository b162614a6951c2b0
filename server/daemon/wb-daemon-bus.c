// SPDX-License-Identifier: GPL-3.0-or-later
/* Choosing and preparing the bus at start: the code above it is the same
 * either way (ARCHITECTURE.md, "Embedded defaults and scale-out"). */

#include "config.h"

#if WB_HAVE_KAFKA
#include "wb-bus-kafka.h"
#endif
#include "wb-bus-local.h"
#include "wb-daemon-bus.h"

const char * const wb_daemon_consumed_topics[] = {
  "telemetry.raw", "vehicle.updated", "driver.updated", "company.updated", "events.carrier_location",
  "external.dhl.responses", "external.post.responses", "TICKET_CREATED", "TRACKING_EVENT", "tracking.updated",
  "commands.trip.reassign", "trip.started", "trip.completed", "trip.cancelled", "trip.reassigned",
  NULL
};

const char * const wb_daemon_topics[] = {
  "telemetry.raw", "vehicle.updated", "driver.updated", "company.updated", "events.carrier_location",
  "external.dhl.responses", "external.post.responses", "TICKET_CREATED", "TRACKING_EVENT", "tracking.updated",
  "tracking.events", "TRACKING_UPDATE", "positions.enriched", "device.first_seen", "device.offline",
  "device.online", "commands.trip.reassign", "trip.created", "trip.started", "trip.stop_arrived",
  "trip.stop_departed", "trip.completed", "trip.cancelled", "trip.reassigned", "trip.reassign_rejected",
  NULL
};

#if WB_HAVE_KAFKA
/* Every topic and the dead-letter topic of each consumed one. */
static GPtrArray *
all_topics (void)
{
  GPtrArray *topics = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; wb_daemon_topics[i] != NULL; i++)
    g_ptr_array_add (topics, g_strdup (wb_daemon_topics[i]));
  for (guint i = 0; wb_daemon_consumed_topics[i] != NULL; i++)
    g_ptr_array_add (topics, g_strconcat (wb_daemon_consumed_topics[i], ".dlq", NULL));
  g_ptr_array_add (topics, NULL);
  return topics;
}

static void
collect_kafka (WbMetrics *m,
               gpointer   data)
{
  WbBusKafkaCounters c;

  wb_bus_kafka_get_counters (WB_BUS_KAFKA (data), &c);
  wb_metrics_counter_set (m, "waybill_kafka_deliveries_total", c.delivered, "outcome", "delivered", NULL);
  wb_metrics_counter_set (m, "waybill_kafka_deliveries_total", c.failed, "outcome", "failed", NULL);
  wb_metrics_gauge_set (m, "waybill_kafka_in_flight", c.in_flight, NULL);
  wb_metrics_gauge_set (m, "waybill_kafka_waiting", c.waiting, NULL);
  wb_metrics_counter_set (m, "waybill_kafka_consumed_total", c.consumed, NULL);
  wb_metrics_counter_set (m, "waybill_kafka_commits_total", c.commits, "outcome", "committed", NULL);
  wb_metrics_counter_set (m, "waybill_kafka_commits_total", c.commit_failures, "outcome", "failed", NULL);
  wb_metrics_counter_set (m, "waybill_kafka_commits_total", c.commits_skipped, "outcome", "skipped_revoked", NULL);
}

static void
declare_kafka_metrics (WbMetrics *m,
                       WbBus     *bus)
{
  wb_metrics_declare (m, "waybill_kafka_deliveries_total", WB_METRIC_COUNTER,
                      "Messages produced to Kafka: delivered, or failed after librdkafka's retries.", NULL, 0);
  wb_metrics_declare (m, "waybill_kafka_in_flight", WB_METRIC_GAUGE,
                      "Messages produced and not yet acknowledged by the brokers.", NULL, 0);
  wb_metrics_declare (m, "waybill_kafka_waiting", WB_METRIC_GAUGE,
                      "Publishers waiting for room in the producer queue.", NULL, 0);
  wb_metrics_declare (m, "waybill_kafka_consumed_total", WB_METRIC_COUNTER, "Messages consumed from Kafka.", NULL, 0);
  wb_metrics_declare (m, "waybill_kafka_commits_total", WB_METRIC_COUNTER,
                      "Offset commits after the database commit: committed, failed, or skipped because the "
                      "partitions were revoked meanwhile.", NULL, 0);
  wb_metrics_add_collector (m, collect_kafka, g_object_ref (bus), g_object_unref);
}

static gboolean
prepare_dev_topics (WbKafkaDev  *dev,
                    guint        partitions,
                    GError     **error)
{
  g_autoptr(GPtrArray) topics = all_topics ();

  for (guint i = 0; g_ptr_array_index (topics, i) != NULL; i++)
    if (!wb_kafka_dev_create_topic (dev, g_ptr_array_index (topics, i), partitions, error))
      return FALSE;
  return TRUE;
}

static WbBus *
kafka_bus_new (WbConfig    *config,
               const char  *brokers,
               WbKafkaDev  *dev,
               GError     **error)
{
  const char *renames_text = wb_config_get_string (config, "kafka.topic-renames");
  g_auto(GStrv) renames = *renames_text ? g_strsplit (renames_text, ",", -1) : NULL;
  const char *properties_text = wb_config_get_string (config, "kafka.properties");
  g_auto(GStrv) properties = *properties_text ? g_strsplit (properties_text, ",", -1) : NULL;
  gboolean create = g_str_equal (wb_config_get_string (config, "kafka.missing-topics"), "create");
  guint partitions = wb_config_get_int (config, "kafka.topic-partitions");
  g_autoptr(GPtrArray) topics = all_topics ();
  g_autoptr(WbBus) bus = NULL;
  g_autoptr(GError) local_error = NULL;

  bus = wb_bus_kafka_new_with_properties (brokers, wb_config_get_string (config, "kafka.group-id"),
                                          wb_config_get_int (config, "kafka.timeout"),
                                          (const char * const *) properties, &local_error);
  if (bus == NULL
      || !wb_bus_kafka_set_topic_names (WB_BUS_KAFKA (bus), wb_config_get_string (config, "kafka.topic-prefix"),
                                        (const char * const *) renames, &local_error))
    {
      g_set_error (error, WB_CONFIG_ERROR, WB_CONFIG_ERROR_INVALID_VALUE, "kafka: %s", local_error->message);
      return NULL;
    }
  if (dev != NULL && !prepare_dev_topics (dev, partitions, error))
    return NULL;
  if (!wb_bus_kafka_ensure_topics (WB_BUS_KAFKA (bus), (const char * const *) topics->pdata, create, partitions,
                                   error))
    return NULL;
  return g_steal_pointer (&bus);
}

#endif

WbBus *
wb_daemon_bus_new (WbConfig    *config,
                   WbKafkaDev  *dev,
                   WbMetrics   *metrics,
                   GError     **error)
{
  const char *brokers = wb_config_get_string (config, "kafka.brokers");
  G_GNUC_UNUSED WbBus *bus;

  g_return_val_if_fail (WB_IS_CONFIG (config), NULL);

  if (dev != NULL && *brokers != '\0')
    {
      g_set_error (error, WB_CONFIG_ERROR, WB_CONFIG_ERROR_INVALID_VALUE,
                   "kafka.brokers: --kafka-dev runs its own cluster; unset KAFKA_BROKERS to use it");
      return NULL;
    }
  if (dev == NULL && *brokers == '\0')
    return wb_bus_local_new (wb_config_get_int (config, "bus.queue-size"));

#if WB_HAVE_KAFKA
  if (dev != NULL)
    brokers = wb_kafka_dev_get_bootstrap_servers (dev);
  bus = kafka_bus_new (config, brokers, dev, error);
  if (bus != NULL)
    {
      declare_kafka_metrics (metrics, bus);
      g_message ("Bus: Kafka at %s, consumer groups %s.<role>", brokers,
                 wb_config_get_string (config, "kafka.group-id"));
    }
  return bus;
#else
  g_set_error (error, WB_CONFIG_ERROR, WB_CONFIG_ERROR_INVALID_VALUE,
               "kafka.brokers: this waybilld was built without Kafka (-Dkafka=disabled); "
               "unset it to run every role on the in-process bus");
  return NULL;
#endif
}
