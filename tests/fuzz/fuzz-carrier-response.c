// SPDX-License-Identifier: GPL-3.0-or-later
/* What a carrier answers: the same bytes as the 200 body of the emulator
 * driver's and the DHL driver's GET, served from 127.0.0.1 in this process,
 * since their body parsers are only reachable through a fetch; and as a
 * 429's Retry-After value. A reply is OK or FAILED (the carrier's fault is
 * a reply, never an error), a FAILED one says why and carries no events,
 * an OK one only events of the number asked for, stamped with the carrier. */

#include "config.h"

#include <string.h>

#include "fuzz-common.h"
#include "wb-carrier-driver.h"

#define FUZZ_NUMBER "FUZZ0001"
#define FUZZ_NOW_US (G_GINT64_CONSTANT (1767225600) * G_USEC_PER_SEC)

typedef struct
{
  SoupServer      *server;
  WbCarrierDriver *drivers[2];
  const char      *codes[2];
  const guint8    *body;
  size_t           size;
} Carrier;

static void
serve (SoupServer        *server,
       SoupServerMessage *message,
       const char        *path,
       GHashTable        *query,
       gpointer           user_data)
{
  Carrier *carrier = user_data;

  soup_server_message_set_status (message, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (message, "application/json", SOUP_MEMORY_COPY, (const char *) carrier->body,
                                    carrier->size);
}

/* The DHL driver logs the first event it sets aside of every answer. */
static void
discard_log (const char     *domain,
             GLogLevelFlags  level,
             const char     *message,
             gpointer        user_data)
{
}

static Carrier *
carrier_get (void)
{
  static Carrier carrier;
  g_autoptr(GError) error = NULL;
  g_autoptr(WbCarrierTable) table = NULL;
  g_autofree char *text = NULL;
  GSList *uris;
  WbStatusMap *map;

  if (carrier.server != NULL)
    return &carrier;
  g_log_set_handler ("Waybill-Polling", G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO, discard_log, NULL);
  carrier.server = soup_server_new (NULL, NULL);
  soup_server_add_handler (carrier.server, NULL, serve, &carrier, NULL);
  if (!soup_server_listen_local (carrier.server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error))
    g_error ("%s", error->message);
  uris = soup_server_get_uris (carrier.server);
  text = g_strdup_printf ("[EMU]\ndriver=emulator\nbase-url=http://127.0.0.1:%d\napi-key=k\nstatus-map=generic\n"
                          "[DHL]\ndriver=dhl-unified\nbase-url=http://127.0.0.1:%d\napi-key=k\nstatus-map=dhl\n",
                          g_uri_get_port (uris->data), g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  table = wb_carrier_table_new_from_data (text, &error);
  if (table == NULL || (map = wb_status_map_load_default (&error)) == NULL)
    g_error ("%s", error->message);
  carrier.codes[0] = "EMU";
  carrier.codes[1] = "DHL";
  for (guint i = 0; i < G_N_ELEMENTS (carrier.drivers); i++)
    {
      carrier.drivers[i] = wb_carrier_driver_new (wb_carrier_table_lookup (table, carrier.codes[i]), map, &error);
      if (carrier.drivers[i] == NULL)
        g_error ("%s", error->message);
    }
  wb_status_map_unref (map);
  return &carrier;
}

static void
on_fetched (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  WbCarrierReply **reply = user_data;
  g_autoptr(GError) error = NULL;

  *reply = wb_carrier_driver_fetch_finish (WB_CARRIER_DRIVER (source), result, &error);
  fuzz_require (*reply != NULL && error == NULL, "a carrier's answer is a reply, never an error");
}

static void
check_reply (const WbCarrierReply *reply,
             const char           *code)
{
  fuzz_require (reply->http_status == SOUP_STATUS_OK, "the answer served is the one parsed");
  fuzz_require (reply->kind == WB_CARRIER_REPLY_OK || reply->kind == WB_CARRIER_REPLY_FAILED,
                "a 200 answer is read or refused");
  if (reply->kind == WB_CARRIER_REPLY_FAILED)
    {
      fuzz_require (reply->error != NULL && reply->events->len == 0, "a refused answer says why, without events");
      return;
    }
  for (guint i = 0; i < reply->events->len; i++)
    {
      const WbStatusEvent *event = g_ptr_array_index (reply->events, i);

      fuzz_require (event->event_id != NULL && event->status_raw != NULL, "an event has an id and a raw code");
      fuzz_require (g_strcmp0 (event->carrier, code) == 0 && g_strcmp0 (event->source, code) == 0,
                    "an event is stamped with its carrier");
      fuzz_require (g_strcmp0 (event->track_number, FUZZ_NUMBER) == 0, "an event is of the number asked for");
    }
}

static void
check_retry_after (const uint8_t *data,
                   size_t         size)
{
  g_autofree char *value = g_strndup ((const char *) data, MIN (size, 256));
  gint64 at = G_MININT64;
  guint64 seconds;

  if (!wb_retry_after_parse (value, FUZZ_NOW_US, &at))
    {
      fuzz_require (at == G_MININT64, "a refused Retry-After leaves the time alone");
      return;
    }
  if (g_ascii_string_to_unsigned (value, 10, 0, G_MAXUINT64, &seconds, NULL))
    fuzz_require (at >= FUZZ_NOW_US && at - FUZZ_NOW_US == (gint64) seconds * G_USEC_PER_SEC,
                  "a delay in seconds counts from now");
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  Carrier *carrier = carrier_get ();

  carrier->body = data;
  carrier->size = size;
  for (guint i = 0; i < G_N_ELEMENTS (carrier->drivers); i++)
    {
      g_autoptr(WbCarrierReply) reply = NULL;

      wb_carrier_driver_fetch_async (carrier->drivers[i], FUZZ_NUMBER, NULL, on_fetched, &reply);
      while (reply == NULL)
        g_main_context_iteration (NULL, TRUE);
      check_reply (reply, carrier->codes[i]);
    }
  carrier->body = NULL;
  check_retry_after (data, size);
  return 0;
}
