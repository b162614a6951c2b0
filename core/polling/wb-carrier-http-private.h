// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#if !defined (WB_POLLING_COMPILATION)
#error "wb-carrier-http-private.h is core/polling's own"
#endif

#include "wb-carrier-driver.h"

G_BEGIN_DECLS

/* Turns a carrier's 200 body into a reply (OK, NOT_FOUND or FAILED). */
typedef WbCarrierReply *(*WbCarrierParseFunc) (gpointer     driver,
                                               const char  *track_number,
                                               GBytes      *body);

/* GET @uri with @headers (name, value, …, NULL) on @session; 429s, 5xx,
 * timeouts and other statuses become replies here, a 200 goes to @parse,
 * a 404 is NOT_FOUND. The task returns a WbCarrierReply. */
void _wb_carrier_http_get (gpointer             driver,
                           SoupSession         *session,
                           const char          *uri,
                           const char * const  *headers,
                           const char          *track_number,
                           WbCarrierParseFunc   parse,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data);
WbCarrierReply *_wb_carrier_http_finish (GAsyncResult  *result,
                                         GError       **error);
WbCarrierReply *_wb_carrier_reply_failed (const char *format,
                                          ...) G_GNUC_PRINTF (1, 2);
SoupSession    *_wb_carrier_session_new  (const WbCarrierConfig *config);

GType _wb_emulator_driver_get_type (void);
GType _wb_dhl_driver_get_type      (void);
WbCarrierDriver *_wb_emulator_driver_new (const WbCarrierConfig *config,
                                          WbStatusMap           *map);
WbCarrierDriver *_wb_dhl_driver_new      (const WbCarrierConfig *config,
                                          WbStatusMap           *map);

G_END_DECLS
