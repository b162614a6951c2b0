// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <glib.h>
#include <libpq-fe.h>

#include "wb-json.h"

G_BEGIN_DECLS

/* Drivers' phone apps report where a trip's carrier is; the body has a JSON
 * Schema, data/schemas/events.carrier_location.schema.json. */
#define WB_TOPIC_CARRIER_LOCATION "events.carrier_location"

/**
 * WbCarrierLocation:
 * @trip_id: the trip, 1 to 128 characters
 * @lat: latitude, -90 to 90
 * @lng: longitude, -180 to 180
 * @recorded_at: when the phone took the fix, unix µs
 * @driver_id: (nullable): the driver who sent it
 * @accuracy: metres, NAN when unknown
 *
 * One events.carrier_location message. Strings are owned.
 */
typedef struct
{
  char   *trip_id;
  double  lat;
  double  lng;
  gint64  recorded_at;
  char   *driver_id;
  double  accuracy;
} WbCarrierLocation;

void               wb_carrier_location_free      (WbCarrierLocation  *location);

/* Decodes and checks a message body against everything its schema says.
 * Unknown members are ignored; a missing or wrong one fails with
 * %WB_JSON_ERROR_FIELD naming it (wb_json_error_get_field()) and the message
 * "<field>: <problem>", the dead-letter queue's reason; a body that is not
 * one acceptable JSON document fails with the guarded parser's error. */
WbCarrierLocation *wb_carrier_location_from_json (const char         *json,
                                                  gsize               length,
                                                  GError            **error);

/* Stores @locations as their trips' carrier locations (source 'phone') in
 * one statement: each replaces the stored one only when newer by
 * @recorded_at, the newest winning when a trip appears twice. Blocking, on
 * the caller's thread and connection. @out_applied: (out) (optional): how
 * many trips' locations changed. Errors are %WB_DB_ERROR. */
gboolean           wb_carrier_locations_apply    (PGconn             *conn,
                                                  WbCarrierLocation **locations,
                                                  guint               n_locations,
                                                  guint              *out_applied,
                                                  GError            **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbCarrierLocation, wb_carrier_location_free)

G_END_DECLS
