// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <json-glib/json-glib.h>

#include "wb-json-reader.h"

G_BEGIN_DECLS

/* An address as the API writes it; absent parts are %NULL, and lat/lon
 * count only when has_position. */
typedef struct
{
  char     *country;
  char     *region;
  char     *city;
  char     *line1;
  char     *line2;
  char     *postal_code;
  gboolean  has_position;
  double    lat;
  double    lon;
} WbClientAddress;

#define WB_TYPE_CLIENT_SHIPMENT (wb_client_shipment_get_type ())

G_DECLARE_FINAL_TYPE (WbClientShipment, wb_client_shipment, WB, CLIENT_SHIPMENT, GObject)

/* A shipment's aggregated view as GET /shipments/{id} and the search answer
 * it: immutable once read (a newer view is a new object). Times are unix
 * µs, 0 where the API says null. */
WbClientShipment      *wb_client_shipment_read                (WbJsonReader      *reader,
                                                               GError           **error);
const char            *wb_client_shipment_get_id              (WbClientShipment  *self);
const char            *wb_client_shipment_get_client_id       (WbClientShipment  *self);
const char            *wb_client_shipment_get_reference       (WbClientShipment  *self);
const char            *wb_client_shipment_get_service_level   (WbClientShipment  *self);
gint64                 wb_client_shipment_get_version         (WbClientShipment  *self);
const char            *wb_client_shipment_get_recipient_name  (WbClientShipment  *self);
/* E.164, as the server stores it. */
const char            *wb_client_shipment_get_recipient_phone (WbClientShipment  *self);
const char            *wb_client_shipment_get_recipient_email (WbClientShipment  *self);
/* %NULL when the shipment has no origin. */
const WbClientAddress *wb_client_shipment_get_origin          (WbClientShipment  *self);
const WbClientAddress *wb_client_shipment_get_destination     (WbClientShipment  *self);
/* The canonical status ("IN_TRANSIT") and its reason (nullable). */
const char            *wb_client_shipment_get_status          (WbClientShipment  *self);
const char            *wb_client_shipment_get_status_reason   (WbClientShipment  *self);
gint64                 wb_client_shipment_get_status_at       (WbClientShipment  *self);
gint64                 wb_client_shipment_get_promised_at     (WbClientShipment  *self);
gint64                 wb_client_shipment_get_eta             (WbClientShipment  *self);
/* "carrier", "promise" or "vehicle". */
const char            *wb_client_shipment_get_eta_source      (WbClientShipment  *self);
/* "on_time", "at_risk", "overdue", "delivered_on_time", "delivered_late". */
const char            *wb_client_shipment_get_sla_state       (WbClientShipment  *self);
gint64                 wb_client_shipment_get_overdue_since   (WbClientShipment  *self);
/* -1 when the API says null. */
gint64                 wb_client_shipment_get_late_by_seconds (WbClientShipment  *self);
gint64                 wb_client_shipment_get_created_at      (WbClientShipment  *self);
gint64                 wb_client_shipment_get_updated_at      (WbClientShipment  *self);
gint64                 wb_client_shipment_get_closed_at       (WbClientShipment  *self);

G_END_DECLS
