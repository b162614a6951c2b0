// SPDX-License-Identifier: GPL-3.0-or-later
/* The OsmAnd listener's two inputs: the bytes as a JSON body (Traccar
 * Client 9), and as a query string or form, decoded the way the listener
 * decodes it. */

#include "config.h"

#include "fuzz-common.h"
#include "wb-osmand.h"

static void
check_result (WbPosition *position,
              GError     *error)
{
  fuzz_require ((position == NULL) == (error != NULL), "an error is set exactly on failure");
  if (position != NULL)
    {
      fuzz_require (position->protocol == WB_PROTOCOL_OSMAND, "the protocol is osmand");
      fuzz_check_position (position);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *text = g_strndup ((const char *) data, size);
  const GUriParamsFlags flags[] = { G_URI_PARAMS_WWW_FORM, G_URI_PARAMS_NONE };

  {
    g_autoptr(GError) error = NULL;
    g_autoptr(WbPosition) position = wb_osmand_decode_json ((const char *) data, size, &error);

    check_result (position, error);
  }
  for (guint i = 0; i < G_N_ELEMENTS (flags); i++)
    {
      g_autoptr(GHashTable) params = g_uri_parse_params (text, -1, "&", flags[i], NULL);
      g_autoptr(GError) error = NULL;
      g_autoptr(WbPosition) position = NULL;

      if (params == NULL)
        continue;
      position = wb_osmand_decode_query (params, &error);
      check_result (position, error);
    }
  return 0;
}
