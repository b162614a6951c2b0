// SPDX-License-Identifier: GPL-3.0-or-later
/* A Kafka cluster inside this process, for `waybilld --kafka-dev` and the
 * tests: librdkafka's mock brokers listen on loopback ports and speak enough
 * of the protocol for producers (idempotent too), consumer groups with offset
 * commits and metadata. They keep partitions in memory and do not implement
 * the CreateTopics admin request, so topics are made here or auto-created by
 * a producer's metadata request (four partitions). Nothing survives the
 * process. */

#include "config.h"

#include "wb-bus.h"
#include "wb-kafka-private.h"

struct _WbKafkaDev
{
  GObject                  parent_instance;

  rd_kafka_t              *owner;      /* the mock cluster needs a handle to live on */
  rd_kafka_mock_cluster_t *cluster;
};

G_DEFINE_FINAL_TYPE (WbKafkaDev, wb_kafka_dev, G_TYPE_OBJECT)

static void
wb_kafka_dev_finalize (GObject *object)
{
  WbKafkaDev *self = WB_KAFKA_DEV (object);

  g_clear_pointer (&self->cluster, rd_kafka_mock_cluster_destroy);
  g_clear_pointer (&self->owner, rd_kafka_destroy);

  G_OBJECT_CLASS (wb_kafka_dev_parent_class)->finalize (object);
}

static void
wb_kafka_dev_class_init (WbKafkaDevClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = wb_kafka_dev_finalize;
}

static void
wb_kafka_dev_init (WbKafkaDev *self)
{
}

/**
 * wb_kafka_dev_new:
 * @n_brokers: how many mock brokers, at least 1
 *
 * Returns: (transfer full): a running mock cluster, or %NULL
 */
WbKafkaDev *
wb_kafka_dev_new (guint    n_brokers,
                  GError **error)
{
  g_autoptr(WbKafkaDev) self = NULL;
  g_autoptr(rd_kafka_conf_t) conf = rd_kafka_conf_new ();
  char errstr[512];

  g_return_val_if_fail (n_brokers > 0, NULL);

  rd_kafka_conf_set_log_cb (conf, _wb_kafka_log_cb);
  self = g_object_new (WB_TYPE_KAFKA_DEV, NULL);
  self->owner = rd_kafka_new (RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (self->owner == NULL)
    {
      g_set_error (error, WB_BUS_ERROR, WB_BUS_ERROR_INVALID,
                   "Cannot start the Kafka mock cluster: %s", errstr);
      return NULL;
    }
  g_steal_pointer (&conf);
  self->cluster = rd_kafka_mock_cluster_new (self->owner, (int) n_brokers);
  if (self->cluster == NULL)
    {
      g_set_error_literal (error, WB_BUS_ERROR, WB_BUS_ERROR_INVALID,
                           "Cannot start the Kafka mock cluster");
      return NULL;
    }
  return g_steal_pointer (&self);
}

/**
 * wb_kafka_dev_get_bootstrap_servers:
 *
 * Returns: the brokers' addresses, for KAFKA_BROKERS or `kcat -b`
 */
const char *
wb_kafka_dev_get_bootstrap_servers (WbKafkaDev *self)
{
  g_return_val_if_fail (WB_IS_KAFKA_DEV (self), NULL);

  return rd_kafka_mock_cluster_bootstraps (self->cluster);
}

gboolean
wb_kafka_dev_create_topic (WbKafkaDev  *self,
                           const char  *topic,
                           guint        partitions,
                           GError     **error)
{
  rd_kafka_resp_err_t err;

  g_return_val_if_fail (WB_IS_KAFKA_DEV (self), FALSE);
  g_return_val_if_fail (topic != NULL && partitions > 0, FALSE);

  err = rd_kafka_mock_topic_create (self->cluster, topic, (int) partitions, 1);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    {
      g_set_error (error, WB_BUS_ERROR, WB_BUS_ERROR_INVALID,
                   "Cannot create topic %s on the mock cluster: %s", topic, rd_kafka_err2str (err));
      return FALSE;
    }
  return TRUE;
}

/* For tests that inject faults. */
rd_kafka_mock_cluster_t *
_wb_kafka_dev_get_mock_cluster (WbKafkaDev *self)
{
  g_return_val_if_fail (WB_IS_KAFKA_DEV (self), NULL);

  return self->cluster;
}
