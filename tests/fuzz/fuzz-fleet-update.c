// SPDX-License-Identifier: GPL-3.0-or-later
/* company.updated, driver.updated and vehicle.updated on the same bytes: a
 * refusal is a WB_JSON_ERROR with its field as data; an update passes the
 * store's checks and reads back the same from the message it writes. */

#include "config.h"

#include <string.h>

#include "fuzz-common.h"
#include "wb-fleet-update.h"

static void
check_round_trip (const WbFleetUpdate *update)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(WbFleetUpdate) again = NULL;
  const char *topic;

  fuzz_require (wb_fleet_update_validate (update, NULL), "a decoded update passes the store's checks");
  text = wb_fleet_update_to_message (update, &topic);
  bytes = g_bytes_new (text, strlen (text));
  again = wb_fleet_update_from_message (topic, bytes, &error);
  fuzz_require (again != NULL, "what the encoder writes, the decoder reads");
  fuzz_require (g_strcmp0 (again->id, update->id) == 0 && again->version == update->version
                && again->updated_at == update->updated_at && g_strcmp0 (again->name, update->name) == 0
                && g_strcmp0 (again->plate, update->plate) == 0
                && g_strcmp0 (again->company_id, update->company_id) == 0,
                "an update reads back the same");
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  const char *topics[] = { WB_TOPIC_COMPANY_UPDATED, WB_TOPIC_DRIVER_UPDATED, WB_TOPIC_VEHICLE_UPDATED };
  g_autoptr(GBytes) payload = g_bytes_new (data, size);

  for (guint i = 0; i < G_N_ELEMENTS (topics); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(WbFleetUpdate) update = wb_fleet_update_from_message (topics[i], payload, &error);

      fuzz_require ((update == NULL) == (error != NULL), "an error is set exactly on failure");
      if (update != NULL)
        {
          check_round_trip (update);
          continue;
        }
      fuzz_require (error->domain == WB_JSON_ERROR, "a refusal is a WB_JSON_ERROR");
      fuzz_require (error->code != WB_JSON_ERROR_FIELD || wb_json_error_get_field (error) != NULL,
                    "a field error names its field");
    }
  return 0;
}
