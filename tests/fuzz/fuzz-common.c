// SPDX-License-Identifier: GPL-3.0-or-later
/* Invariants shared by the fuzz targets: a decoder must not only survive
 * any input, what it returns must be fit for the rest of the pipeline. */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz-common.h"
#include "wb-position-validate.h"

/* A fixed "now", so a run is the same on every machine and day. */
#define FUZZ_NOW_US  (G_GINT64_CONSTANT (1767225600) * G_USEC_PER_SEC)
#define FUZZ_DAY_US  (G_GINT64_CONSTANT (86400) * G_USEC_PER_SEC)

void
fuzz_require (gboolean    condition,
              const char *what)
{
  if (condition)
    return;
  g_printerr ("fuzz: invariant broken: %s\n", what);
  abort ();
}

static void
check_validation (const WbPosition *position)
{
  g_autoptr(GError) error = NULL;
  WbRejectReason reason = WB_N_REJECT_REASONS;
  gboolean accepted = wb_position_validate (position, FUZZ_NOW_US, FUZZ_DAY_US, &reason, &error);

  fuzz_require (accepted == (error == NULL), "validation sets an error exactly when it refuses");
  fuzz_require (accepted == (reason == WB_REJECT_NONE), "validation gives a reason exactly when it refuses");
  fuzz_require (wb_reject_reason_to_string (reason) != NULL, "every reason has a name");
}

void
fuzz_check_position (const WbPosition *position)
{
  g_autofree char *first = wb_position_to_json (position);
  g_autofree char *second = NULL;
  g_autoptr(WbPosition) back = NULL;
  g_autoptr(WbPosition) copy = NULL;
  g_autoptr(GError) error = NULL;

  fuzz_require (position->attributes == NULL || json_object_get_size (position->attributes) > 0,
                "attributes are NULL or hold something");
  back = wb_position_from_json (first, &error);
  if (back == NULL)
    {
      g_printerr ("fuzz: telemetry.raw does not read back: %s\n%s\n", error->message, first);
      abort ();
    }
  second = wb_position_to_json (back);
  if (strcmp (first, second) != 0)
    {
      g_printerr ("fuzz: telemetry.raw changes on a round trip:\n%s\n%s\n", first, second);
      abort ();
    }
  copy = wb_position_copy (position);
  fuzz_require (wb_position_equal (position, copy), "a copy is equal");
  check_validation (position);
}
