// SPDX-License-Identifier: GPL-3.0-or-later
/* POST /telemetry: the fast path against the json-glib reference. What the
 * fast path decodes must be the reference's positions bit for bit, and the
 * public decoder must answer as the reference does, errors word for word.
 * The seeds are bodies the fast path takes, so that mutations land on both
 * sides of the line where it hands over. */

#include "config.h"

#include "fuzz-common.h"
#include "wb-telemetry-fastjson.h"
#include "wb-telemetry-json.h"
#include "wb-telemetry-private.h"

static gboolean
identical (GPtrArray *a,
           GPtrArray *b)
{
  if (a == NULL || b == NULL || a->len != b->len)
    return FALSE;
  for (guint i = 0; i < a->len; i++)
    if (!_wb_telemetry_position_identical (g_ptr_array_index (a, i), g_ptr_array_index (b, i)))
      return FALSE;
  return TRUE;
}

static gboolean
same_error (const GError *a,
            const GError *b)
{
  return a != NULL && b != NULL && a->domain == b->domain && a->code == b->code
         && g_str_equal (a->message, b->message);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  const char *body = (const char *) data;
  g_autoptr(GError) reference_error = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) reference = _wb_telemetry_json_decode_reference (body, size, &reference_error);
  g_autoptr(GPtrArray) fast = _wb_telemetry_fastjson_decode (body, size);
  g_autoptr(GPtrArray) decoded = wb_telemetry_json_decode (body, size, &error);

  fuzz_require ((reference == NULL) == (reference_error != NULL), "the reference sets an error exactly on failure");
  if (fast != NULL)
    fuzz_require (identical (fast, reference), "what the fast path decodes, the reference decodes the same");
  if (reference == NULL)
    fuzz_require (decoded == NULL && same_error (error, reference_error), "the decoder refuses as the reference");
  else
    fuzz_require (error == NULL && identical (decoded, reference), "the decoder accepts as the reference");
  return 0;
}
