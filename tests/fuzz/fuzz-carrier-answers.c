// SPDX-License-Identifier: GPL-3.0-or-later
/* What Russian Post, CDEK and Correios answer: the same bytes as the 200
 * body of the russian-post driver's SOAP call, the cdek driver's order
 * request (after a well-formed token from the same server) and the
 * correios driver's rastro request, served from 127.0.0.1 in this process,
 * since their parsers are only reachable through a fetch. A reply is OK,
 * NOT_FOUND or FAILED (the carrier's fault is a reply, never an error), a
 * FAILED one says why, names the carrier and carries no events, an OK one
 * only events of the number asked for, stamped with the carrier, oldest
 * first. */

#include "config.h"

#include <string.h>

#include "fuzz-common.h"
#include "wb-carrier-driver.h"

#define FUZZ_NUMBER "FUZZ0001"
#define N_DRIVERS 3

static const char token[] = "{\"access_token\":\"t\",\"token_type\":\"bearer\",\"expires_in\":3600}";

typedef struct
{
  SoupServer      *server;
  WbCarrierDriver *drivers[N_DRIVERS];
  const char      *codes[N_DRIVERS];
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
  if (g_str_has_suffix (path, "/oauth/token"))
    soup_server_message_set_response (message, "application/json", SOUP_MEMORY_STATIC, token, strlen (token));
  else
    soup_server_message_set_response (message, "application/octet-stream", SOUP_MEMORY_COPY,
                                      (const char *) carrier->body, carrier->size);
}

/* The drivers log each operation code their status map lacks. */
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
  int port;

  if (carrier.server != NULL)
    return &carrier;
  g_log_set_handler ("Waybill-Polling", G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO, discard_log, NULL);
  carrier.server = soup_server_new (NULL, NULL);
  soup_server_add_handler (carrier.server, NULL, serve, &carrier, NULL);
  if (!soup_server_listen_local (carrier.server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error))
    g_error ("%s", error->message);
  uris = soup_server_get_uris (carrier.server);
  port = g_uri_get_port (uris->data);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  text = g_strdup_printf ("[RP]\ndriver=russian-post\nbase-url=http://127.0.0.1:%d\nlogin=l\npassword=p\n"
                          "[CDEK]\ndriver=cdek\nbase-url=http://127.0.0.1:%d\nclient-id=i\nclient-secret=s\n"
                          "[BR]\ndriver=correios\nbase-url=http://127.0.0.1:%d\napi-key=k\n", port, port, port);
  table = wb_carrier_table_new_from_data (text, &error);
  if (table == NULL || (map = wb_status_map_load_default (&error)) == NULL)
    g_error ("%s", error->message);
  carrier.codes[0] = "RP";
  carrier.codes[1] = "CDEK";
  carrier.codes[2] = "BR";
  for (guint i = 0; i < N_DRIVERS; i++)
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
  fuzz_require (reply->kind != WB_CARRIER_REPLY_RATE_LIMITED, "a 200 answer is no 429");
  if (reply->kind != WB_CARRIER_REPLY_OK)
    {
      fuzz_require (reply->events->len == 0, "a refused or empty answer has no events");
      fuzz_require (reply->kind == WB_CARRIER_REPLY_NOT_FOUND
                    || (reply->error != NULL && g_str_has_prefix (reply->error, code)),
                    "a refused answer says why and names the carrier");
      return;
    }
  for (guint i = 0; i < reply->events->len; i++)
    {
      const WbStatusEvent *event = g_ptr_array_index (reply->events, i);

      fuzz_require (event->event_id != NULL && event->status_raw != NULL, "an event has an id and a raw code");
      fuzz_require (g_strcmp0 (event->carrier, code) == 0 && g_strcmp0 (event->source, code) == 0,
                    "an event is stamped with its carrier");
      fuzz_require (g_strcmp0 (event->track_number, FUZZ_NUMBER) == 0, "an event is of the number asked for");
      fuzz_require (i == 0 || ((const WbStatusEvent *) g_ptr_array_index (reply->events, i - 1))->occurred_at
                              <= event->occurred_at, "events come oldest first");
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  Carrier *carrier = carrier_get ();

  carrier->body = data;
  carrier->size = size;
  for (guint i = 0; i < N_DRIVERS; i++)
    {
      g_autoptr(WbCarrierReply) reply = NULL;

      wb_carrier_driver_fetch_async (carrier->drivers[i], FUZZ_NUMBER, NULL, on_fetched, &reply);
      while (reply == NULL)
        g_main_context_iteration (NULL, TRUE);
      check_reply (reply, carrier->codes[i]);
    }
  carrier->body = NULL;
  return 0;
}
