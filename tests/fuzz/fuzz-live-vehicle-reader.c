// SPDX-License-Identifier: GPL-3.0-or-later
/* What the console reads of a server's live vehicle (an item of GET
 * /locations, the vehicle of a /ws/locations frame): the guarded parser,
 * then wb_live_vehicle_read(). A refusal is a WB_JSON_ERROR; a vehicle has
 * an id, coordinates and state in range, and what the server's writer makes
 * of it reads back to the same text. */

#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-common.h"
#include "wb-live-vehicle-reader.h"

static char *
write_vehicle (const WbLiveVehicle *vehicle)
{
  GString *out = g_string_new (NULL);

  wb_live_vehicle_write_json (vehicle, WB_LIVE_JSON_ACCEPTED_AT, out);
  return g_string_free (out, FALSE);
}

static WbLiveVehicle *
read_text (const char  *text,
           gsize        length,
           GError     **error)
{
  g_autoptr(WbJsonReader) reader = wb_json_reader_new_from_data (text, length, NULL, error);

  return reader ? wb_live_vehicle_read (reader, error) : NULL;
}

static void
check_vehicle (const WbLiveVehicle *vehicle)
{
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  g_autofree char *third = NULL;
  g_autoptr(WbLiveVehicle) back = NULL;
  g_autoptr(GError) error = NULL;

  fuzz_require (vehicle->vehicle_id != NULL && *vehicle->vehicle_id != '\0', "a vehicle has an id");
  fuzz_require (vehicle->lat >= -90 && vehicle->lat <= 90 && vehicle->lon >= -180 && vehicle->lon <= 180,
                "coordinates are in range");
  fuzz_require (isnan (vehicle->speed) || isfinite (vehicle->speed), "a speed is a number or unknown");
  fuzz_require (isnan (vehicle->course) || isfinite (vehicle->course), "a course is a number or unknown");
  fuzz_require (vehicle->state <= WB_LIVE_STATE_OFFLINE && vehicle->ignition <= WB_LIVE_IGNITION_ON,
                "state and ignition are known values");
  fuzz_require (vehicle->accepted_at >= 0, "acceptedAt is not negative");

  /* The writer may round (times to what RFC 3339 text holds): once
   * written, a vehicle must read back and write the same text again. */
  first = write_vehicle (vehicle);
  back = read_text (first, strlen (first), &error);
  if (back == NULL)
    {
      g_printerr ("fuzz: a written vehicle does not read back: %s\n%s\n", error->message, first);
      abort ();
    }
  second = write_vehicle (back);
  g_clear_pointer (&back, wb_live_vehicle_unref);
  back = read_text (second, strlen (second), NULL);
  fuzz_require (back != NULL, "a vehicle written twice reads back");
  third = write_vehicle (back);
  if (strcmp (second, third) != 0)
    {
      g_printerr ("fuzz: a vehicle changes on a round trip:\n%s\n%s\n", second, third);
      abort ();
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(WbLiveVehicle) vehicle = read_text ((const char *) data, size, &error);

  fuzz_require ((vehicle == NULL) == (error != NULL), "an error is set exactly on failure");
  if (vehicle != NULL)
    {
      check_vehicle (vehicle);
      return 0;
    }
  fuzz_require (error->domain == WB_JSON_ERROR, "a refusal is a WB_JSON_ERROR");
  fuzz_require (error->code != WB_JSON_ERROR_FIELD || wb_json_error_get_field (error) != NULL,
                "a field error names its field");
  return 0;
}
