// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <json-glib/json-glib.h>

#include "wb-json-reader.h"

G_BEGIN_DECLS

#define WB_TYPE_CLIENT_SHIPMENT_EVENT (wb_client_shipment_event_get_type ())

G_DECLARE_FINAL_TYPE (WbClientShipmentEvent, wb_client_shipment_event, WB, CLIENT_SHIPMENT_EVENT, GObject)

/* One stored status event of a shipment's history (GET
 * /shipments/{id}/events), immutable once read. Times are unix µs. */
WbClientShipmentEvent *wb_client_shipment_event_read              (WbJsonReader           *reader,
                                                                   GError                **error);
/* Waybill's own id of the stored event: the identity of a history item. */
const char            *wb_client_shipment_event_get_id            (WbClientShipmentEvent  *self);
/* The reporter's id, unique with the source. */
const char            *wb_client_shipment_event_get_event_id      (WbClientShipmentEvent  *self);
const char            *wb_client_shipment_event_get_source        (WbClientShipmentEvent  *self);
const char            *wb_client_shipment_event_get_status        (WbClientShipmentEvent  *self);
const char            *wb_client_shipment_event_get_reason        (WbClientShipmentEvent  *self);
/* The carrier's own code or text, as given (nullable). */
const char            *wb_client_shipment_event_get_status_raw    (WbClientShipmentEvent  *self);
gint64                 wb_client_shipment_event_get_occurred_at   (WbClientShipmentEvent  *self);
const char            *wb_client_shipment_event_get_occurred_at_raw (WbClientShipmentEvent *self);
/* TRUE when the carrier's time had no zone and one was assumed. */
gboolean               wb_client_shipment_event_get_zone_guessed  (WbClientShipmentEvent  *self);
const char            *wb_client_shipment_event_get_location_text (WbClientShipmentEvent  *self);
/* Where it happened, when the carrier said: FALSE without a position. */
gboolean               wb_client_shipment_event_get_position      (WbClientShipmentEvent  *self,
                                                                   double                 *out_lat,
                                                                   double                 *out_lon);
const char            *wb_client_shipment_event_get_description   (WbClientShipmentEvent  *self);
gboolean               wb_client_shipment_event_get_correction    (WbClientShipmentEvent  *self);
/* Whether the event moved the shipment's status. */
gboolean               wb_client_shipment_event_get_applied       (WbClientShipmentEvent  *self);
gint64                 wb_client_shipment_event_get_received_at   (WbClientShipmentEvent  *self);

G_END_DECLS
