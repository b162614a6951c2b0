// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define WB_POLLING_ERROR (wb_polling_error_quark ())

typedef enum
{
  WB_POLLING_ERROR_NOT_FOUND,   /* no such tracking (or it was deleted) */
  WB_POLLING_ERROR_INVALID,     /* a value at fault: the message names the field */
  WB_POLLING_ERROR_THROTTLED,   /* refreshed too recently */
  WB_POLLING_ERROR_CONFIG,      /* polling.conf or the carriers file is wrong */
  WB_POLLING_ERROR_CARRIER,     /* a carrier's answer could not be used */
} WbPollingError;

GQuark wb_polling_error_quark (void);

/* Topics of the polling pipeline. */
#define WB_TOPIC_TRACKING_UPDATE  "TRACKING_UPDATE"
#define WB_TOPIC_TRACKING_UPDATED "tracking.updated"

G_END_DECLS
