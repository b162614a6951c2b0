// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <glib.h>

#include "wb-json.h"
#include "wb-shipment-store.h"
#include "wb-status-map.h"

G_BEGIN_DECLS

/* The tracker role's consumed topics (docs/tracker.md); each has a JSON
 * Schema in data/schemas/<default topic>.schema.json. */
typedef enum
{
  WB_CARRIER_MESSAGE_DHL_RESPONSE,    /* external.dhl.responses */
  WB_CARRIER_MESSAGE_POST_RESPONSE,   /* external.post.responses */
  WB_CARRIER_MESSAGE_TICKET_CREATED,  /* TICKET_CREATED */
  WB_CARRIER_MESSAGE_TRACKING_EVENT,  /* TRACKING_EVENT */
  WB_CARRIER_MESSAGE_TRACKING_UPDATED, /* tracking.updated */
  WB_CARRIER_MESSAGE_N_KINDS
} WbCarrierMessageKind;

/* Produced by the scheduler role (core/polling); not consumed here. */
#define WB_TOPIC_TRACKING_UPDATE "TRACKING_UPDATE"

/**
 * WbCarrierMessage:
 * @ticket: (nullable): TICKET_CREATED's shipment to create
 * @check: (nullable): tracking.updated's check to record
 * @events: WbStatusEvent*, owned, oldest first
 * @rejected: GError*, a %WB_JSON_ERROR_FIELD for each event refused while
 *   the rest of the message was usable ("events[2].status: …"); the consumer
 *   applies the rest and dead-letters the message with the first reason
 *
 * One decoded message: what it asks the store to do.
 */
typedef struct
{
  WbCarrierMessageKind  kind;
  WbTicket             *ticket;
  WbTrackingCheck      *check;
  GPtrArray            *events;
  GPtrArray            *rejected;
} WbCarrierMessage;

/* The default topic names, indexed by WbCarrierMessageKind, NULL-terminated. */
const char * const *wb_carrier_message_default_topics  (void);
/* Decodes and checks a message body against everything its schema says
 * (unknown members are ignored). Fails with a %WB_JSON_ERROR when the
 * message is unusable, including when every one of its events was refused:
 * %WB_JSON_ERROR_FIELD names the member (wb_json_error_get_field()) and
 * reads "<field>: <problem>"; the other codes say the body is not one
 * acceptable JSON document. */
WbCarrierMessage   *wb_carrier_message_decode          (WbCarrierMessageKind  kind,
                                                        const char           *json,
                                                        gsize                 length,
                                                        WbStatusMap          *map,
                                                        GError              **error);
void                wb_carrier_message_free            (WbCarrierMessage     *message);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbCarrierMessage, wb_carrier_message_free)

G_END_DECLS
