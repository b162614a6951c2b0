// SPDX-License-Identifier: GPL-3.0-or-later
/* events.carrier_location: a refusal is a WB_JSON_ERROR with its field as
 * data; a location is within the schema's ranges. */

#include "config.h"

#include <math.h>

#include "fuzz-common.h"
#include "wb-carrier-location.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(WbCarrierLocation) location = wb_carrier_location_from_json ((const char *) data, size, &error);

  fuzz_require ((location == NULL) == (error != NULL), "an error is set exactly on failure");
  if (location == NULL)
    {
      fuzz_require (error->domain == WB_JSON_ERROR, "a refusal is a WB_JSON_ERROR");
      fuzz_require (error->code != WB_JSON_ERROR_FIELD || wb_json_error_get_field (error) != NULL,
                    "a field error names its field");
      return 0;
    }
  fuzz_require (location->trip_id != NULL && *location->trip_id != '\0'
                && g_utf8_strlen (location->trip_id, -1) <= 128, "a trip id of 1 to 128 characters");
  fuzz_require (location->lat >= -90 && location->lat <= 90 && location->lng >= -180 && location->lng <= 180,
                "coordinates within range");
  fuzz_require (isnan (location->accuracy) || location->accuracy >= 0, "accuracy unknown or at least 0");
  return 0;
}
