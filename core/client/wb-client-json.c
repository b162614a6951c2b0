// SPDX-License-Identifier: GPL-3.0-or-later
/* Small readers the client's typed answers share. */

#include "config.h"

#include "wb-client-json-private.h"
#include "wb-time.h"

gboolean
_wb_client_read_time (WbJsonReader  *reader,
                      const char    *member,
                      gboolean       required,
                      gint64        *out_us,
                      GError       **error)
{
  g_autoptr(GError) local_error = NULL;
  const char *text = NULL;
  gboolean guessed = FALSE;

  *out_us = 0;
  if (!wb_json_reader_peek_string (reader, member, required, 64, &text, error))
    return FALSE;
  if (text == NULL)
    return TRUE;
  /* A server time always carries its zone: one without is not ours. */
  if (!wb_time_parse (text, NULL, out_us, &guessed, &local_error) || guessed)
    return wb_json_reader_fail (reader, member, error, "must be an RFC 3339 time with a zone");
  return TRUE;
}

gboolean
_wb_client_read_number (WbJsonReader  *reader,
                        const char    *member,
                        double         min,
                        double         max,
                        double        *out_value,
                        GError       **error)
{
  gboolean present = FALSE;

  if (!wb_json_reader_get_double (reader, member, min, max, &present, out_value, error))
    return FALSE;
  if (!present)
    return wb_json_reader_fail (reader, member, error, "is required");
  return TRUE;
}
