// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <glib-object.h>

#include "wb-config.h"

G_BEGIN_DECLS

/* Exit statuses of waybilld. */
#define WB_EXIT_OK     0
#define WB_EXIT_FATAL  1  /* a fault at run time: database, cluster, port */
#define WB_EXIT_CONFIG 2  /* the configuration is invalid; nothing was started */

#define WB_TYPE_DAEMON (wb_daemon_get_type ())

G_DECLARE_FINAL_TYPE (WbDaemon, wb_daemon, WB, DAEMON, GObject)

WbDaemon *wb_daemon_new (WbConfig *config);
void      wb_daemon_set_kafka_dev (WbDaemon *self,
                                   gboolean  kafka_dev);
int       wb_daemon_run (WbDaemon *self);

G_END_DECLS
