// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#if !defined (WB_POLLING_COMPILATION)
#error "wb-carrier-exchange-private.h is core/polling's own"
#endif

#include "wb-carrier-http-private.h"

G_BEGIN_DECLS

/* Reads a carrier's answer, whatever its status: carriers that put their
 * errors in the body (a SOAP fault with a 500, CDEK's errors[] with a 400)
 * need to see it. Unknown statuses go to _wb_carrier_reply_for_status(). */
typedef WbCarrierReply *(*WbCarrierAnswerFunc) (gpointer      driver,
                                                const char   *track_number,
                                                SoupMessage  *message,
                                                GBytes       *body);

/* Sends @message on @session; the task returns a WbCarrierReply (from
 * @answer when a body came back, FAILED on a transport error), with
 * http_status set. Cancellation is the only GError. */
void            _wb_carrier_exchange_async  (gpointer              driver,
                                             SoupSession          *session,
                                             SoupMessage          *message,
                                             const char           *track_number,
                                             WbCarrierAnswerFunc   answer,
                                             GCancellable         *cancellable,
                                             GAsyncReadyCallback   callback,
                                             gpointer              user_data);
WbCarrierReply *_wb_carrier_exchange_finish (GAsyncResult         *result,
                                             GError              **error);

/* The common reading of a status that is not a 200: 404 NOT_FOUND, 429
 * RATE_LIMITED until its Retry-After, anything else FAILED; @carrier names
 * the carrier in the error. */
WbCarrierReply *_wb_carrier_reply_for_status (SoupMessage         *message,
                                              const char          *carrier);

/* @text of a timestamp, parsed, or FALSE with a message. Times without a
 * zone are read in @assume_zone (NULL: UTC) and flagged on @event. */
gboolean        _wb_carrier_event_set_time   (WbStatusEvent       *event,
                                              const char          *text,
                                              const char          *assume_zone,
                                              GError             **error);

/* Looks @code up in @table, then @fallback (may be NULL). FALSE when
 * neither is mapped: the caller skips the event and says so once. */
gboolean        _wb_carrier_event_map        (WbStatusEvent       *event,
                                              WbStatusMap         *map,
                                              const char          *table,
                                              const char          *code,
                                              const char          *fallback);

/* The status table a driver reads: the carrier's status-map, or @own when
 * the carriers file gives none (the default, "generic", has no carrier's
 * codes). */
const char     *_wb_carrier_status_table     (const WbCarrierConfig *config,
                                              const char          *own);

/* Sorts @events (WbStatusEvent*) oldest first, keeping the carrier's
 * order between equal instants. */
void            _wb_carrier_events_sort      (GPtrArray           *events);

GType _wb_russian_post_driver_get_type (void);
GType _wb_cdek_driver_get_type         (void);
GType _wb_correios_driver_get_type     (void);
WbCarrierDriver *_wb_russian_post_driver_new (const WbCarrierConfig *config,
                                              WbStatusMap           *map);
WbCarrierDriver *_wb_cdek_driver_new         (const WbCarrierConfig *config,
                                              WbStatusMap           *map);
WbCarrierDriver *_wb_correios_driver_new     (const WbCarrierConfig *config,
                                              WbStatusMap           *map);

G_END_DECLS
