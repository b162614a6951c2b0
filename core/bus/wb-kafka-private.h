// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#if !defined (WB_BUS_COMPILATION)
#error "wb-kafka-private.h is core/bus's own; other code uses the area's public headers"
#endif

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "wb-kafka-dev.h"

G_BEGIN_DECLS

G_DEFINE_AUTOPTR_CLEANUP_FUNC (rd_kafka_t, rd_kafka_destroy)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (rd_kafka_conf_t, rd_kafka_conf_destroy)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (rd_kafka_queue_t, rd_kafka_queue_destroy)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (rd_kafka_event_t, rd_kafka_event_destroy)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (rd_kafka_error_t, rd_kafka_error_destroy)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (rd_kafka_topic_t, rd_kafka_topic_destroy)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (rd_kafka_headers_t, rd_kafka_headers_destroy)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (rd_kafka_AdminOptions_t, rd_kafka_AdminOptions_destroy)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (rd_kafka_NewTopic_t, rd_kafka_NewTopic_destroy)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (rd_kafka_topic_partition_list_t, rd_kafka_topic_partition_list_destroy)

void                     _wb_kafka_log_cb                (const rd_kafka_t *rk,
                                                          int               level,
                                                          const char       *facility,
                                                          const char       *message);
rd_kafka_mock_cluster_t *_wb_kafka_dev_get_mock_cluster  (WbKafkaDev       *self);

G_END_DECLS
