// SPDX-License-Identifier: GPL-3.0-or-later
/* The canonical statuses, their milestone ranks (docs/shipments.md) and the
 * reason codes an event may carry. */

#include "config.h"

#include "wb-status.h"

static const char * const status_names[WB_N_STATUSES] = {
  [WB_STATUS_PENDING] = "PENDING",
  [WB_STATUS_INFO_RECEIVED] = "INFO_RECEIVED",
  [WB_STATUS_IN_TRANSIT] = "IN_TRANSIT",
  [WB_STATUS_OUT_FOR_DELIVERY] = "OUT_FOR_DELIVERY",
  [WB_STATUS_FAILED_ATTEMPT] = "FAILED_ATTEMPT",
  [WB_STATUS_AVAILABLE_FOR_PICKUP] = "AVAILABLE_FOR_PICKUP",
  [WB_STATUS_DELIVERED] = "DELIVERED",
  [WB_STATUS_EXCEPTION] = "EXCEPTION",
  [WB_STATUS_RETURNED_TO_SENDER] = "RETURNED_TO_SENDER",
  [WB_STATUS_CANCELLED] = "CANCELLED",
  [WB_STATUS_EXPIRED] = "EXPIRED",
};

/* Why a shipment is held up or failed, shared by every carrier's table so
 * clients can act on one vocabulary. */
static const char * const reasons[] = {
  "customs_delay",
  "address_incorrect",
  "refused",
  "damaged",
  "lost",
  "recipient_unavailable",
  "recipient_moved",
  "business_closed",
  "weather_delay",
  "transport_delay",
  "held_by_carrier",
  "payment_required",
  "missorted",
  "not_collected",
  "destroyed",
  "returned",
  "cancelled_by_sender",
  "other",
  NULL,
};

static gboolean
status_is_valid (WbStatus status)
{
  return status >= 0 && status < WB_N_STATUSES;
}

/**
 * wb_status_to_string:
 *
 * Returns: the canonical name, or %NULL for a value outside the enumeration
 */
const char *
wb_status_to_string (WbStatus status)
{
  return status_is_valid (status) ? status_names[status] : NULL;
}

WbStatus
wb_status_from_string (const char *text)
{
  if (text == NULL)
    return WB_STATUS_INVALID;

  for (int i = 0; i < WB_N_STATUSES; i++)
    if (g_str_equal (text, status_names[i]))
      return (WbStatus) i;
  return WB_STATUS_INVALID;
}

gboolean
wb_status_is_terminal (WbStatus status)
{
  switch (status)
    {
    case WB_STATUS_DELIVERED:
    case WB_STATUS_RETURNED_TO_SENDER:
    case WB_STATUS_CANCELLED:
    case WB_STATUS_EXPIRED:
      return TRUE;
    default:
      return FALSE;
    }
}

/**
 * wb_status_rank:
 *
 * EXCEPTION ranks 0: it holds no milestone of its own, so a correction to
 * EXCEPTION lets the next ordinary event apply whatever its rank.
 *
 * Returns: the milestone rank, or -1 for a value outside the enumeration
 */
int
wb_status_rank (WbStatus status)
{
  switch (status)
    {
    case WB_STATUS_PENDING:
    case WB_STATUS_EXCEPTION:
      return 0;
    case WB_STATUS_INFO_RECEIVED:
      return 1;
    case WB_STATUS_IN_TRANSIT:
      return 2;
    case WB_STATUS_OUT_FOR_DELIVERY:
    case WB_STATUS_FAILED_ATTEMPT:
    case WB_STATUS_AVAILABLE_FOR_PICKUP:
      return 3;
    case WB_STATUS_DELIVERED:
    case WB_STATUS_RETURNED_TO_SENDER:
    case WB_STATUS_CANCELLED:
    case WB_STATUS_EXPIRED:
      return 9;
    default:
      return -1;
    }
}

gboolean
wb_status_is_milestone (WbStatus status)
{
  return status_is_valid (status) && status != WB_STATUS_EXCEPTION;
}

gboolean
wb_status_reason_is_known (const char *reason)
{
  if (reason == NULL)
    return FALSE;

  return g_strv_contains (reasons, reason);
}

const char * const *
wb_status_list_reasons (void)
{
  return reasons;
}
