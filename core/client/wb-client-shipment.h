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
/* One of the carriers' numbers the shipment is tracked by. */
typedef struct
{
  gint64  id;              /* the tracking's id (POST /trackings/{id}/refresh); 0 when not given */
  char   *carrier;
  char   *track_number;
  char   *status;          /* nullable */
  gint64  last_checked_at; /* 0: not yet */
} WbClientShipmentTracking;

guint                  wb_client_shipment_get_n_trackings     (WbClientShipment  *self);
const WbClientShipmentTracking *wb_client_shipment_get_tracking (WbClientShipment *self,
                                                                guint             index);
/* While the shipment rides a trip: the vehicle's last position and its
 * time (liveLocation); FALSE otherwise. */
gboolean               wb_client_shipment_get_live_location   (WbClientShipment  *self,
                                                               double            *out_lat,
                                                               double            *out_lon,
                                                               gint64            *out_at);
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
