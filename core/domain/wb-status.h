// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The canonical status set every carrier dialect is mapped to. */
typedef enum
{
  WB_STATUS_INVALID = -1,
  WB_STATUS_PENDING = 0,
  WB_STATUS_INFO_RECEIVED,
  WB_STATUS_IN_TRANSIT,
  WB_STATUS_OUT_FOR_DELIVERY,
  WB_STATUS_FAILED_ATTEMPT,
  WB_STATUS_AVAILABLE_FOR_PICKUP,
  WB_STATUS_DELIVERED,
  WB_STATUS_EXCEPTION,
  WB_STATUS_RETURNED_TO_SENDER,
  WB_STATUS_CANCELLED,
  WB_STATUS_EXPIRED,
  WB_N_STATUSES
} WbStatus;

const char *wb_status_to_string   (WbStatus    status);   /* "IN_TRANSIT" */
WbStatus    wb_status_from_string (const char *text);     /* exact canonical name, else WB_STATUS_INVALID */
gboolean    wb_status_is_terminal (WbStatus    status);   /* DELIVERED, RETURNED_TO_SENDER, CANCELLED, EXPIRED */
/* Milestone strength: a status moves a shipment only if its rank is at least
 * the highest rank reached so far (EXCEPTION is the exception: see
 * wb_status_is_milestone). Terminal statuses have the highest rank. */
int         wb_status_rank        (WbStatus    status);
gboolean    wb_status_is_milestone (WbStatus   status);   /* FALSE for EXCEPTION */
gboolean    wb_status_reason_is_known (const char *reason); /* customs_delay, address_incorrect, refused, damaged, lost, … */
const char * const *wb_status_list_reasons (void);          /* every known reason code, NULL-terminated */

G_END_DECLS
