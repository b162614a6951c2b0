// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define WB_TYPE_KAFKA_DEV (wb_kafka_dev_get_type ())

G_DECLARE_FINAL_TYPE (WbKafkaDev, wb_kafka_dev, WB, KAFKA_DEV, GObject)

WbKafkaDev *wb_kafka_dev_new                   (guint        n_brokers,
                                                GError     **error);
const char *wb_kafka_dev_get_bootstrap_servers (WbKafkaDev  *self);
gboolean    wb_kafka_dev_create_topic          (WbKafkaDev  *self,
                                                const char  *topic,
                                                guint        partitions,
                                                GError     **error);

G_END_DECLS
