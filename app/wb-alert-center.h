// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-alert.h"
#include "wb-client.h"

G_BEGIN_DECLS

#define WB_TYPE_ALERT_CENTER (wb_alert_center_get_type ())

G_DECLARE_FINAL_TYPE (WbAlertCenter, wb_alert_center, WB, ALERT_CENTER, GObject)

/* What the console raises alerts for, from the server as it happens: SLA
 * breaches and vehicles gone offline (/ws/events, resumed without gaps
 * across reconnects), rejected reassignments (their outcome events), and
 * carrier breakers opening (GET /carriers, read every 30 s). The alerts,
 * newest first (the last 500), are a GListModel of WbAlert; "unread"
 * counts those not acknowledged.
 *
 * Signals: "alert" (WbAlert *): one was raised. */
WbAlertCenter *wb_alert_center_new                  (void);
void           wb_alert_center_set_client           (WbAlertCenter *self,
                                                     WbClient      *client);
/* Plates and names for the alerts' sentences; nullable. */
void           wb_alert_center_set_directory        (WbAlertCenter *self,
                                                     WbDirectory   *directory);
GListModel    *wb_alert_center_get_alerts           (WbAlertCenter *self);
guint          wb_alert_center_get_unread           (WbAlertCenter *self);
void           wb_alert_center_mark_all_read        (WbAlertCenter *self);
/* Raises one (the sources above call this). */
void           wb_alert_center_add                  (WbAlertCenter *self,
                                                     WbAlert       *alert);
/* How often the carriers' breakers are read; for tests. */
void           wb_alert_center_set_carrier_interval (WbAlertCenter *self,
                                                     guint          interval_ms);

G_END_DECLS
