// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <adwaita.h>

#include "wb-client.h"
#include "wb-stream-state.h"

G_BEGIN_DECLS

#define WB_TYPE_SHIPMENT_DETAIL (wb_shipment_detail_get_type ())

G_DECLARE_FINAL_TYPE (WbShipmentDetail, wb_shipment_detail, WB, SHIPMENT_DETAIL, GtkWidget)

/* One shipment: status, ETA and where it comes from, SLA state,
 * recipient and addresses, and its timeline of status events. While
 * shown it listens on /ws/events for that shipment alone and reads it
 * again over REST when an event says it changed, so a new status appears
 * without a reload. */
GtkWidget        *wb_shipment_detail_new              (void);
void              wb_shipment_detail_set_client       (WbShipmentDetail *self,
                                                       WbClient         *client);
/* Loads @shipment_id and starts listening; %NULL stops and clears. */
void              wb_shipment_detail_show             (WbShipmentDetail *self,
                                                       const char       *shipment_id);
const char       *wb_shipment_detail_get_shipment_id  (WbShipmentDetail *self);
/* The shipment as last read, %NULL until then. */
WbClientShipment *wb_shipment_detail_get_shipment     (WbShipmentDetail *self);
/* The timeline as shown: WbClientShipmentEvent, newest first, each stored
 * event once. */
GListModel       *wb_shipment_detail_get_timeline     (WbShipmentDetail *self);
/* The event stream's state: "live" once changes will show. */
WbStreamState     wb_shipment_detail_get_stream_state (WbShipmentDetail *self);
/* Whether a read over REST is on its way. */
gboolean          wb_shipment_detail_get_loading      (WbShipmentDetail *self);
/* Why the last read failed, %NULL after a success. */
const GError     *wb_shipment_detail_get_error        (WbShipmentDetail *self);

/* The small map's tiles, as the window's ("none": a plain background). */
void              wb_shipment_detail_set_tiles      (WbShipmentDetail *self,
                                                     const char       *tiles);
/* The map of the events' places and the live location (a WbPlacesMap). */
GtkWidget        *wb_shipment_detail_get_places_map (WbShipmentDetail *self);

G_END_DECLS
