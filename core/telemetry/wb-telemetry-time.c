// SPDX-License-Identifier: GPL-3.0-or-later
/* Device times as trackers write them, kept to the millisecond (the
 * precision of telemetry.raw). */

#include "config.h"

#include <math.h>
#include <string.h>

#include "wb-time.h"
#include "wb-telemetry-private.h"

gint64
_wb_telemetry_truncate_to_ms (gint64 us)
{
  gint64 remainder = us % 1000;

  return remainder < 0 ? us - remainder - 1000 : us - remainder;
}

/* "1609459200.250": what some OsmAnd-style clients send. */
static gboolean
is_decimal_seconds (const char *text)
{
  gsize digits = strspn (text, "0123456789");

  return digits > 0 && digits <= 12 && text[digits] == '.' && text[digits + 1] != '\0'
         && strspn (text + digits + 1, "0123456789") == strlen (text + digits + 1);
}

static gboolean
out_of_range (const char  *text,
              const char  *field,
              GError     **error)
{
  wb_json_set_field_error (error, field, "“%s” is not between 1970 and 9999", text);
  return FALSE;
}

gboolean
_wb_telemetry_parse_time (const char  *text,
                          const char  *field,
                          gint64      *out_us,
                          GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  gint64 us;

  if (is_decimal_seconds (text))
    {
      double ms = round (g_ascii_strtod (text, NULL) * 1000);

      if (ms > WB_TELEMETRY_MAX_UNIX_MS)
        return out_of_range (text, field, error);
      *out_us = (gint64) ms * 1000;
      return TRUE;
    }
  if (!wb_time_parse (text, NULL, &us, NULL, error ? &local_error : NULL))
    {
      if (error != NULL)
        wb_json_set_field_error (error, field, "%s", local_error->message);
      return FALSE;
    }
  /* Before 1970 no GPS fix exists, and beyond 9999 RFC 3339 cannot write it. */
  if (us < 0 || us / 1000 > WB_TELEMETRY_MAX_UNIX_MS)
    return out_of_range (text, field, error);
  *out_us = _wb_telemetry_truncate_to_ms (us);
  return TRUE;
}
