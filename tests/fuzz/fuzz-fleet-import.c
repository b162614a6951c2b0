// SPDX-License-Identifier: GPL-3.0-or-later
/* Bulk import bodies (POST /companies:import, …): the same bytes as NDJSON
 * and as CSV for every kind. A body is refused as a whole with an error, or
 * read into rows where every row is either a valid update or a refusal with
 * its row, code and message, and the answer written from them is JSON. */

#include "config.h"

#include <string.h>

#include "fuzz-common.h"
#include "wb-fleet-import.h"

/* Small, so that the too-many-rows refusal is reached too. */
#define FUZZ_MAX_ROWS 64

static void
check_refusal (const GError *error)
{
  fuzz_require (error->domain == WB_FLEET_ERROR || error->domain == WB_JSON_ERROR,
                "a body is refused with WB_FLEET_ERROR or a header's WB_JSON_ERROR");
  fuzz_require (error->domain != WB_JSON_ERROR || wb_json_error_get_field (error) != NULL,
                "a header refusal names its column");
}

static void
check_rows (const WbFleetImport *import,
            WbFleetKind          kind)
{
  g_autofree char *report = NULL;
  g_autoptr(JsonNode) answer = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) rows = g_hash_table_new (NULL, NULL);

  fuzz_require (import->kind == kind, "the import is of the kind asked for");
  fuzz_require (import->received <= FUZZ_MAX_ROWS, "no more rows than allowed");
  fuzz_require (import->received == import->updates->len + import->errors->len,
                "every row read is either an update or a refusal");
  fuzz_require (import->rows->len == import->updates->len, "every update has its row");
  for (guint i = 0; i < import->updates->len; i++)
    {
      const WbFleetUpdate *update = g_ptr_array_index (import->updates, i);
      guint row = g_array_index (import->rows, guint, i);

      fuzz_require (update->kind == kind && update->id != NULL, "an update has the kind and an id");
      fuzz_require (wb_fleet_update_validate (update, NULL), "an update passes the store's checks");
      fuzz_require (row >= 1 && (i == 0 || row > g_array_index (import->rows, guint, i - 1)),
                    "updates are in body order, each on its own row");
      g_hash_table_add (rows, GUINT_TO_POINTER (row));
    }
  for (guint i = 0; i < import->errors->len; i++)
    {
      const WbFleetImportError *e = &g_array_index (import->errors, WbFleetImportError, i);

      fuzz_require (e->row >= 1 && e->code != NULL && e->message != NULL,
                    "a refused row has its row, code and message");
      fuzz_require (e->id == NULL || wb_fleet_id_is_valid (e->id), "a refused row's id is a valid id or none");
      /* A refused record must not leave a part of itself to be read as
       * another row. */
      fuzz_require (g_hash_table_add (rows, GUINT_TO_POINTER (e->row)), "a row is either taken or refused, once");
    }
  report = wb_fleet_import_report (import, NULL);
  answer = wb_json_parse (report, strlen (report), NULL, &error);
  fuzz_require (answer != NULL && JSON_NODE_HOLDS_OBJECT (answer), "the answer is a JSON object");
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  const WbFleetKind kinds[] = { WB_FLEET_KIND_COMPANY, WB_FLEET_KIND_DRIVER, WB_FLEET_KIND_VEHICLE,
                                WB_FLEET_KIND_DEVICE };
  const WbFleetImportFormat formats[] = { WB_FLEET_IMPORT_NDJSON, WB_FLEET_IMPORT_CSV };
  g_autoptr(GBytes) body = g_bytes_new (data, size);

  for (guint f = 0; f < G_N_ELEMENTS (formats); f++)
    for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
      {
        g_autoptr(GError) error = NULL;
        g_autoptr(WbFleetImport) import = wb_fleet_import_parse (kinds[k], formats[f], body, FUZZ_MAX_ROWS,
                                                                 &error);

        fuzz_require ((import == NULL) == (error != NULL), "an error is set exactly on failure");
        if (import == NULL)
          check_refusal (error);
        else
          check_rows (import, kinds[k]);
      }
  return 0;
}
