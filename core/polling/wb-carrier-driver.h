// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>

#include "wb-carrier-table.h"
#include "wb-shipment-store.h"
#include "wb-status-map.h"

G_BEGIN_DECLS

typedef enum
{
  WB_CARRIER_REPLY_OK,            /* events (maybe none) */
  WB_CARRIER_REPLY_NOT_FOUND,     /* the carrier knows nothing of the number yet */
  WB_CARRIER_REPLY_RATE_LIMITED,  /* 429: no fault of the tracking; see retry_at */
  WB_CARRIER_REPLY_FAILED,        /* 5xx, timeout, an answer that cannot be read: counts for the breaker */
} WbCarrierReplyKind;

/* What one request to a carrier gave. */
typedef struct
{
  WbCarrierReplyKind kind;
  GPtrArray *events;     /* WbStatusEvent*, oldest first; source = the carrier code */
  gint64     retry_at;   /* RATE_LIMITED: unix µs the carrier takes calls again; 0 = it did not say */
  char      *error;      /* what went wrong, for last_error and the log (never a secret) */
  guint      http_status;
} WbCarrierReply;

WbCarrierReply *wb_carrier_reply_new   (WbCarrierReplyKind kind);
void            wb_carrier_reply_free  (WbCarrierReply    *reply);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbCarrierReply, wb_carrier_reply_free)

/* Retry-After in either form (RFC 9110 §10.2.3): delay-seconds or an
 * HTTP-date. Returns FALSE for anything else. */
gboolean wb_retry_after_parse (const char *value,
                               gint64      now_us,
                               gint64     *out_at_us);

#define WB_TYPE_CARRIER_DRIVER (wb_carrier_driver_get_type ())

G_DECLARE_INTERFACE (WbCarrierDriver, wb_carrier_driver, WB, CARRIER_DRIVER, GObject)

/**
 * WbCarrierDriverInterface:
 * @fetch_async: asks the carrier about one number; one HTTP request, one
 *   permit of the carrier's limiter
 * @fetch_finish: the reply; a carrier's fault is a reply, never a GError
 *   (that is for cancellation only)
 *
 * The extension point for carriers: a driver speaks one carrier's API and
 * hands back normalized status events, raw codes mapped through
 * data/status-maps/.
 */
struct _WbCarrierDriverInterface
{
  GTypeInterface parent_iface;

  void            (*fetch_async)  (WbCarrierDriver     *self,
                                   const char          *track_number,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data);
  WbCarrierReply *(*fetch_finish) (WbCarrierDriver     *self,
                                   GAsyncResult        *result,
                                   GError             **error);
};

void             wb_carrier_driver_fetch_async  (WbCarrierDriver       *self,
                                                 const char            *track_number,
                                                 GCancellable          *cancellable,
                                                 GAsyncReadyCallback    callback,
                                                 gpointer               user_data);
WbCarrierReply  *wb_carrier_driver_fetch_finish (WbCarrierDriver       *self,
                                                 GAsyncResult          *result,
                                                 GError               **error);
/* The driver @config names ("emulator", "dhl-unified", "russian-post",
 * "cdek", "correios"), or %NULL with
 * %WB_POLLING_ERROR_CONFIG. Its HTTP runs on the thread-default main
 * context of this call. */
WbCarrierDriver *wb_carrier_driver_new          (const WbCarrierConfig *config,
                                                 WbStatusMap           *map,
                                                 GError               **error);

G_END_DECLS
