// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-bus.h"

G_BEGIN_DECLS

#define WB_TYPE_BUS_KAFKA (wb_bus_kafka_get_type ())

G_DECLARE_FINAL_TYPE (WbBusKafka, wb_bus_kafka, WB, BUS_KAFKA, WbBus)

/**
 * WbBusKafkaCounters:
 * @delivered: messages the brokers acknowledged
 * @failed: messages whose delivery finally failed (each one is logged)
 * @in_flight: messages produced and not yet acknowledged or failed
 * @waiting: publish_async() calls waiting for room in the producer queue
 * @consumed: messages handed to subscribers
 * @commits: offset commits made after an ack
 * @commit_failures: offset commits the group coordinator refused or lost;
 *   their messages come again, which the idempotent effects absorb
 * @commits_skipped: acked batches whose partitions were revoked meanwhile,
 *   so their offsets were left for the new owner
 *
 * For /metrics.
 */
typedef struct
{
  guint64 delivered;
  guint64 failed;
  guint64 in_flight;
  guint64 waiting;
  guint64 consumed;
  guint64 commits;
  guint64 commit_failures;
  guint64 commits_skipped;
} WbBusKafkaCounters;

WbBus    *wb_bus_kafka_new                 (const char          *brokers,
                                            const char          *group_id,
                                            guint                timeout_ms,
                                            GError             **error);
WbBus    *wb_bus_kafka_new_with_properties (const char          *brokers,
                                            const char          *group_id,
                                            guint                timeout_ms,
                                            const char * const  *properties,
                                            GError             **error);
void      wb_bus_kafka_get_counters        (WbBusKafka          *self,
                                            WbBusKafkaCounters  *counters);
char     *wb_bus_kafka_dup_group_id        (WbBusKafka          *self,
                                            const char          *group);
gboolean  wb_bus_kafka_ensure_topics       (WbBusKafka          *self,
                                            const char * const  *topics,
                                            gboolean             create,
                                            guint                partitions,
                                            GError             **error);

gboolean  wb_bus_kafka_set_topic_names     (WbBusKafka          *self,
                                            const char          *prefix,
                                            const char * const  *renames,
                                            GError             **error);

G_END_DECLS
