// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <adwaita.h>

#include "wb-alert-center.h"
#include "wb-local-server.h"
#include "wb-vehicle-model.h"

G_BEGIN_DECLS

#define WB_TYPE_APPLICATION (wb_application_get_type ())

G_DECLARE_FINAL_TYPE (WbApplication, wb_application, WB, APPLICATION, AdwApplication)

/* The console: org.waybill.Waybill. Options --server, --tiles and
 * --token-file override the settings for this run; the token otherwise
 * comes from the keyring. A server URL or tile template saved while it
 * runs (app.preferences) takes effect at once.
 *
 * Local mode (--local, the first-run page's Run Locally, or the
 * run-locally setting): the console starts a waybilld of its own
 * (WbLocalServer) and connects to it once ready; --demo adds a simulated
 * fleet and emulated carriers. Quitting stops them. app.local-server shows
 * the server's state and log. */
WbApplication  *wb_application_new        (void);
WbVehicleModel *wb_application_get_model  (WbApplication *self);
WbAlertCenter  *wb_application_get_alert_center (WbApplication *self);
/* The local server, once local mode started one; else %NULL. */
WbLocalServer  *wb_application_get_local_server (WbApplication *self);
/* Points the console at a server with that token. @remember saves the URL
 * in the settings and the token in the keyring (the first-run page's
 * checked answers), otherwise both last for this run only. */
void            wb_application_connect    (WbApplication *self,
                                           const char    *server_url,
                                           const char    *token,
                                           gboolean       remember);

G_END_DECLS
