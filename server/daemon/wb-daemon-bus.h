// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-bus.h"
#include "wb-config.h"
#include "wb-kafka-dev.h"
#include "wb-metrics.h"

G_BEGIN_DECLS

/* Every topic Waybill reads or writes, by the names the code uses. */
extern const char * const wb_daemon_topics[];
/* The topics consumed, each of which has a <topic>.dlq. */
extern const char * const wb_daemon_consumed_topics[];

/* The daemon's bus: in-process, or Kafka when kafka.brokers is set (or
 * @dev runs librdkafka's mock cluster in the process, for development).
 * With Kafka, topic names are mapped (kafka.topic-prefix,
 * kafka.topic-renames) and every topic is checked, or created, per
 * kafka.missing-topics, before the daemon serves. The Kafka client's
 * figures go to @metrics.
 *
 * Returns: (transfer full): the bus, or %NULL with @error (a
 * %WB_CONFIG_ERROR for configuration, else the bus's own) */
WbBus *wb_daemon_bus_new (WbConfig    *config,
                          WbKafkaDev  *dev,
                          WbMetrics   *metrics,
                          GError     **error);

G_END_DECLS
