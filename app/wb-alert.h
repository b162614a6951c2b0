// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define WB_TYPE_ALERT (wb_alert_get_type ())

G_DECLARE_FINAL_TYPE (WbAlert, wb_alert, WB, ALERT, GObject)

/* Something a dispatcher must see at once: its kind ("sla", "device",
 * "command", "carrier"), a title and a sentence, when it happened (unix
 * µs), what it is about (a shipment, vehicle, trip or carrier id) and
 * whether it was acknowledged ("read", notified). */
WbAlert    *wb_alert_new         (const char *kind,
                                  const char *title,
                                  const char *body,
                                  const char *subject,
                                  gint64      time);
const char *wb_alert_get_kind    (WbAlert    *self);
const char *wb_alert_get_title   (WbAlert    *self);
const char *wb_alert_get_body    (WbAlert    *self);
const char *wb_alert_get_subject (WbAlert    *self);
gint64      wb_alert_get_time    (WbAlert    *self);
gboolean    wb_alert_get_read    (WbAlert    *self);
void        wb_alert_set_read    (WbAlert    *self,
                                  gboolean    read);

G_END_DECLS
