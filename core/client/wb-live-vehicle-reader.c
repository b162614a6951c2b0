// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include <math.h>

#include "wb-client-json-private.h"
#include "wb-live-vehicle-reader.h"

/* Ids are at most 128 characters on the server side. */
#define MAX_ID 128

static gboolean
read_optional_number (WbJsonReader  *reader,
                      const char    *member,
                      double         min,
                      double         max,
                      double        *out_value,
                      GError       **error)
{
  gboolean present = FALSE;

  if (!wb_json_reader_get_double (reader, member, min, max, &present, out_value, error))
    return FALSE;
  if (!present)
    *out_value = NAN;
  return TRUE;
}

static gboolean
read_ids (WbJsonReader   *reader,
          WbLiveVehicle  *vehicle,
          GError        **error)
{
  return wb_json_reader_get_string (reader, "deviceId", FALSE, &vehicle->device_id, error)
         && wb_json_reader_get_string (reader, "companyId", FALSE, &vehicle->company_id, error)
         && wb_json_reader_get_string (reader, "driverId", FALSE, &vehicle->driver_id, error)
         && wb_json_reader_get_string (reader, "tripId", FALSE, &vehicle->trip_id, error);
}

static gboolean
read_ignition (WbJsonReader   *reader,
               WbLiveVehicle  *vehicle,
               GError        **error)
{
  gboolean on = FALSE;

  if (wb_json_reader_get_node (reader, "ignition") == NULL)
    {
      vehicle->ignition = WB_LIVE_IGNITION_UNKNOWN;
      return TRUE;
    }
  if (!wb_json_reader_get_boolean (reader, "ignition", &on, error))
    return FALSE;
  vehicle->ignition = on ? WB_LIVE_IGNITION_ON : WB_LIVE_IGNITION_OFF;
  return TRUE;
}

static gboolean
read_state (WbJsonReader   *reader,
            WbLiveVehicle  *vehicle,
            GError        **error)
{
  const char *state = NULL;

  if (!wb_json_reader_peek_string (reader, "state", TRUE, 16, &state, error))
    return FALSE;
  if (!wb_live_state_from_string (state, &vehicle->state))
    return wb_json_reader_fail (reader, "state", error, "must be moving, stopped or offline");
  return TRUE;
}

static gboolean
read_accepted_at (WbJsonReader   *reader,
                  WbLiveVehicle  *vehicle,
                  GError        **error)
{
  gboolean present = FALSE;

  return wb_json_reader_get_int64 (reader, "acceptedAt", 0, G_MAXINT64, &present, &vehicle->accepted_at, error);
}

WbLiveVehicle *
wb_live_vehicle_read (WbJsonReader  *reader,
                      GError       **error)
{
  g_autoptr(WbLiveVehicle) vehicle = NULL;
  const char *id = NULL;

  g_return_val_if_fail (reader != NULL, NULL);

  if (!wb_json_reader_peek_string (reader, "vehicleId", TRUE, MAX_ID, &id, error))
    return NULL;
  if (*id == '\0')
    {
      wb_json_reader_fail (reader, "vehicleId", error, "must not be empty");
      return NULL;
    }
  vehicle = wb_live_vehicle_new (id);
  if (!read_ids (reader, vehicle, error)
      || !_wb_client_read_number (reader, "lat", -90, 90, &vehicle->lat, error)
      || !_wb_client_read_number (reader, "lon", -180, 180, &vehicle->lon, error)
      || !read_optional_number (reader, "speed", -1e6, 1e6, &vehicle->speed, error)
      || !read_optional_number (reader, "course", -360, 360, &vehicle->course, error)
      || !_wb_client_read_time (reader, "fixTime", FALSE, &vehicle->fix_time, error)
      || !_wb_client_read_time (reader, "serverTime", FALSE, &vehicle->server_time, error)
      || !read_ignition (reader, vehicle, error)
      || !read_state (reader, vehicle, error)
      || !read_accepted_at (reader, vehicle, error))
    return NULL;
  return g_steal_pointer (&vehicle);
}
