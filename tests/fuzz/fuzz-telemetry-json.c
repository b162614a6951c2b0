// SPDX-License-Identifier: GPL-3.0-or-later
/* POST /telemetry bodies, and the same bytes as a telemetry.raw message. */

#include "config.h"

#include "fuzz-common.h"
#include "wb-telemetry-json.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) positions = wb_telemetry_json_decode ((const char *) data, size, &error);
  g_autofree char *text = g_strndup ((const char *) data, size);
  g_autoptr(WbPosition) message = NULL;

  fuzz_require ((positions == NULL) == (error != NULL), "an error is set exactly on failure");
  if (positions != NULL)
    {
      fuzz_require (positions->len >= 1 && positions->len <= WB_TELEMETRY_JSON_MAX_BATCH,
                    "a batch has 1 to 10000 positions");
      for (guint i = 0; i < positions->len; i++)
        fuzz_check_position (g_ptr_array_index (positions, i));
    }

  g_clear_error (&error);
  message = wb_position_from_json (text, &error);
  fuzz_require ((message == NULL) == (error != NULL), "telemetry.raw: an error is set exactly on failure");
  if (message != NULL)
    fuzz_check_position (message);
  return 0;
}
