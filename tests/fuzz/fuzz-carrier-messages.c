// SPDX-License-Identifier: GPL-3.0-or-later
/* The tracker role's five decoders (carrier responses, tickets, worker
 * events, checks) on the same bytes: each refuses with a WB_JSON_ERROR whose
 * field, when it names one, travels as data, or yields a message the store
 * can take. */

#include "config.h"

#include <string.h>

#include "fuzz-common.h"
#include "wb-carrier-messages.h"

static void
check_field_error (const GError *error)
{
  const char *field;

  fuzz_require (error->domain == WB_JSON_ERROR, "a refusal is a WB_JSON_ERROR");
  if (error->code != WB_JSON_ERROR_FIELD)
    return;
  field = wb_json_error_get_field (error);
  fuzz_require (field != NULL, "a field error names its field");
  fuzz_require (*field == '\0' || (g_str_has_prefix (error->message, field)
                                   && strncmp (error->message + strlen (field), ": ", 2) == 0),
                "a field error's message starts with its field");
}

static void
check_message (const WbCarrierMessage *message)
{
  fuzz_require (message->ticket != NULL || message->check != NULL || message->events->len > 0,
                "a decoded message has something to apply");
  for (guint i = 0; i < message->events->len; i++)
    {
      const WbStatusEvent *event = g_ptr_array_index (message->events, i);

      fuzz_require (event->event_id != NULL && event->carrier != NULL && event->track_number != NULL,
                    "every event has an id, a carrier and a track number");
      fuzz_require (i == 0 || ((const WbStatusEvent *) g_ptr_array_index (message->events, i - 1))->occurred_at
                                <= event->occurred_at, "events come oldest first");
    }
  for (guint i = 0; i < message->rejected->len; i++)
    check_field_error (g_ptr_array_index (message->rejected, i));
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  static WbStatusMap *map;

  if (map == NULL)
    map = wb_status_map_load_default (NULL);
  for (int kind = 0; kind < WB_CARRIER_MESSAGE_N_KINDS; kind++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(WbCarrierMessage) message = wb_carrier_message_decode (kind, (const char *) data, size, map, &error);

      fuzz_require ((message == NULL) == (error != NULL), "an error is set exactly on failure");
      if (message != NULL)
        check_message (message);
      else
        check_field_error (error);
    }
  return 0;
}
