// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include <math.h>

#include "wb-json-writer.h"
#include "wb-live-vehicle.h"
#include "wb-time.h"

G_DEFINE_BOXED_TYPE (WbLiveVehicle, wb_live_vehicle, wb_live_vehicle_ref, wb_live_vehicle_unref)

static const char * const state_names[] = {
  [WB_LIVE_STATE_MOVING] = "moving",
  [WB_LIVE_STATE_STOPPED] = "stopped",
  [WB_LIVE_STATE_OFFLINE] = "offline",
};

/**
 * wb_live_vehicle_new:
 * @vehicle_id: the vehicle's id
 *
 * Returns: (transfer full): a state to fill in before publishing it
 */
WbLiveVehicle *
wb_live_vehicle_new (const char *vehicle_id)
{
  WbLiveVehicle *vehicle;

  g_return_val_if_fail (vehicle_id != NULL, NULL);

  vehicle = g_atomic_rc_box_new0 (WbLiveVehicle);
  vehicle->vehicle_id = g_strdup (vehicle_id);
  vehicle->speed = NAN;
  vehicle->course = NAN;
  vehicle->ignition = WB_LIVE_IGNITION_UNKNOWN;
  vehicle->state = WB_LIVE_STATE_STOPPED;
  return vehicle;
}

WbLiveVehicle *
wb_live_vehicle_copy (const WbLiveVehicle *vehicle)
{
  WbLiveVehicle *copy;

  g_return_val_if_fail (vehicle != NULL, NULL);

  copy = g_atomic_rc_box_new (WbLiveVehicle);
  *copy = *vehicle;
  copy->vehicle_id = g_strdup (vehicle->vehicle_id);
  copy->device_id = g_strdup (vehicle->device_id);
  copy->company_id = g_strdup (vehicle->company_id);
  copy->driver_id = g_strdup (vehicle->driver_id);
  copy->trip_id = g_strdup (vehicle->trip_id);
  copy->stream_json = NULL;
  copy->stream_json_length = 0;
  return copy;
}

WbLiveVehicle *
wb_live_vehicle_ref (WbLiveVehicle *vehicle)
{
  g_return_val_if_fail (vehicle != NULL, NULL);

  return g_atomic_rc_box_acquire (vehicle);
}

static void
vehicle_clear (gpointer data)
{
  WbLiveVehicle *vehicle = data;

  g_clear_pointer (&vehicle->vehicle_id, g_free);
  g_clear_pointer (&vehicle->device_id, g_free);
  g_clear_pointer (&vehicle->company_id, g_free);
  g_clear_pointer (&vehicle->driver_id, g_free);
  g_clear_pointer (&vehicle->trip_id, g_free);
  g_clear_pointer (&vehicle->stream_json, g_free);
}

void
wb_live_vehicle_unref (WbLiveVehicle *vehicle)
{
  g_return_if_fail (vehicle != NULL);

  g_atomic_rc_box_release_full (vehicle, vehicle_clear);
}

static void
write_member (GString    *out,
              const char *name)
{
  if (out->len > 0 && out->str[out->len - 1] != '{')
    g_string_append_c (out, ',');
  wb_json_write_string (out, name);
  g_string_append_c (out, ':');
}

static void
write_string_member (GString    *out,
                     const char *name,
                     const char *value)
{
  write_member (out, name);
  if (value != NULL)
    wb_json_write_string (out, value);
  else
    g_string_append (out, "null");
}

static void
write_time_member (GString    *out,
                   const char *name,
                   gint64      us)
{
  g_autofree char *text = us != 0 ? wb_time_format (us) : NULL;

  write_string_member (out, name, text);
}

static void
write_double_member (GString    *out,
                     const char *name,
                     double      value)
{
  write_member (out, name);
  wb_json_write_double (out, value);
}

void
wb_live_vehicle_write_json (const WbLiveVehicle *vehicle,
                            WbLiveJsonFlags      flags,
                            GString             *out)
{
  static const char * const ignition_values[] = {
    [WB_LIVE_IGNITION_UNKNOWN] = "null",
    [WB_LIVE_IGNITION_OFF] = "false",
    [WB_LIVE_IGNITION_ON] = "true",
  };

  g_return_if_fail (vehicle != NULL);
  g_return_if_fail (out != NULL);

  g_string_append_c (out, '{');
  write_string_member (out, "vehicleId", vehicle->vehicle_id);
  write_string_member (out, "deviceId", vehicle->device_id);
  write_string_member (out, "companyId", vehicle->company_id);
  write_string_member (out, "driverId", vehicle->driver_id);
  write_string_member (out, "tripId", vehicle->trip_id);
  write_double_member (out, "lat", vehicle->lat);
  write_double_member (out, "lon", vehicle->lon);
  write_double_member (out, "speed", vehicle->speed);
  write_double_member (out, "course", vehicle->course);
  write_time_member (out, "fixTime", vehicle->fix_time);
  write_time_member (out, "serverTime", vehicle->server_time);
  write_member (out, "ignition");
  g_string_append (out, ignition_values[vehicle->ignition]);
  write_string_member (out, "state", wb_live_state_to_string (vehicle->state));
  /* Unknown (a state loaded from the database at start): left out. */
  if ((flags & WB_LIVE_JSON_ACCEPTED_AT) && vehicle->accepted_at != 0)
    {
      write_member (out, "acceptedAt");
      wb_json_write_int (out, vehicle->accepted_at);
    }
  g_string_append_c (out, '}');
}

const char *
wb_live_vehicle_get_stream_json (WbLiveVehicle *vehicle,
                                 gsize         *out_length)
{
  GString *out;
  char *text;

  g_return_val_if_fail (vehicle != NULL, NULL);

  if ((text = g_atomic_pointer_get (&vehicle->stream_json)) != NULL)
    {
      if (out_length != NULL)
        *out_length = g_atomic_int_get (&vehicle->stream_json_length);
      return text;
    }
  out = g_string_sized_new (320);
  wb_live_vehicle_write_json (vehicle, WB_LIVE_JSON_ACCEPTED_AT, out);
  if (out_length != NULL)
    *out_length = out->len;
  /* Before the text is published; every writer writes the same length. */
  g_atomic_int_set (&vehicle->stream_json_length, out->len);
  text = g_string_free (out, FALSE);
  /* Another thread may have written it meanwhile: the first one stays. */
  if (!g_atomic_pointer_compare_and_exchange (&vehicle->stream_json, NULL, text))
    {
      g_free (text);
      text = g_atomic_pointer_get (&vehicle->stream_json);
    }
  return text;
}

const char *
wb_live_state_to_string (WbLiveState state)
{
  g_return_val_if_fail ((guint) state < G_N_ELEMENTS (state_names), NULL);

  return state_names[state];
}

gboolean
wb_live_state_from_string (const char  *text,
                           WbLiveState *out_state)
{
  g_return_val_if_fail (text != NULL, FALSE);

  for (guint i = 0; i < G_N_ELEMENTS (state_names); i++)
    if (g_str_equal (text, state_names[i]))
      {
        *out_state = (WbLiveState) i;
        return TRUE;
      }
  return FALSE;
}
