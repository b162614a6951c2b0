// SPDX-License-Identifier: GPL-3.0-or-later
/* One request to a carrier whose answer the driver reads whatever its
 * status, and the small pieces the russian-post, cdek and correios drivers
 * share: the common reading of a 404 or 429, timestamps, status codes. */

#include "config.h"

#include "wb-carrier-exchange-private.h"
#include "wb-polling.h"
#include "wb-time.h"

typedef struct
{
  gpointer             driver;
  char                *track_number;
  WbCarrierAnswerFunc  answer;
  SoupMessage         *message;
} Exchange;

static void
exchange_free (gpointer data)
{
  Exchange *exchange = data;

  g_free (exchange->track_number);
  g_clear_object (&exchange->message);
  g_clear_object (&exchange->driver);
  g_free (exchange);
}

static void
on_exchanged (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Exchange *exchange = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  WbCarrierReply *reply;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (body == NULL)
    reply = _wb_carrier_reply_failed ("no answer: %s", error->message);
  else
    reply = exchange->answer (exchange->driver, exchange->track_number, exchange->message, body);
  reply->http_status = soup_message_get_status (exchange->message);
  g_task_return_pointer (task, reply, (GDestroyNotify) wb_carrier_reply_free);
}

void
_wb_carrier_exchange_async (gpointer             driver,
                            SoupSession         *session,
                            SoupMessage         *message,
                            const char          *track_number,
                            WbCarrierAnswerFunc  answer,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  GTask *task = g_task_new (driver, cancellable, callback, user_data);
  Exchange *exchange = g_new0 (Exchange, 1);

  g_task_set_source_tag (task, _wb_carrier_exchange_async);
  exchange->driver = g_object_ref (driver);
  exchange->track_number = g_strdup (track_number);
  exchange->answer = answer;
  exchange->message = g_object_ref (message);
  g_task_set_task_data (task, exchange, exchange_free);
  soup_session_send_and_read_async (session, message, G_PRIORITY_DEFAULT, cancellable, on_exchanged, task);
}

WbCarrierReply *
_wb_carrier_exchange_finish (GAsyncResult  *result,
                             GError       **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

WbCarrierReply *
_wb_carrier_reply_for_status (SoupMessage *message,
                              const char  *carrier)
{
  SoupMessageHeaders *headers = soup_message_get_response_headers (message);
  guint status = soup_message_get_status (message);
  WbCarrierReply *reply;

  if (status == SOUP_STATUS_NOT_FOUND)
    return wb_carrier_reply_new (WB_CARRIER_REPLY_NOT_FOUND);
  if (status != 429)
    return _wb_carrier_reply_failed ("%s: HTTP %u", carrier, status);
  reply = wb_carrier_reply_new (WB_CARRIER_REPLY_RATE_LIMITED);
  if (!wb_retry_after_parse (soup_message_headers_get_one (headers, "Retry-After"), g_get_real_time (),
                             &reply->retry_at))
    reply->retry_at = 0;
  reply->error = g_strdup_printf ("%s: rate limited (HTTP 429)", carrier);
  return reply;
}

gboolean
_wb_carrier_event_set_time (WbStatusEvent  *event,
                            const char     *text,
                            const char     *assume_zone,
                            GError        **error)
{
  g_free (event->occurred_at_raw);
  event->occurred_at_raw = g_strdup (text);
  return wb_time_parse (text, assume_zone, &event->occurred_at, &event->zone_guessed, error);
}

gboolean
_wb_carrier_event_map (WbStatusEvent *event,
                       WbStatusMap   *map,
                       const char    *table,
                       const char    *code,
                       const char    *fallback)
{
  const char *reason = NULL;

  if (!wb_status_map_lookup (map, table, code, &event->status, &reason, NULL)
      && (fallback == NULL || !wb_status_map_lookup (map, table, fallback, &event->status, &reason, NULL)))
    return FALSE;
  g_free (event->reason);
  event->reason = g_strdup (reason);
  g_free (event->status_raw);
  event->status_raw = g_strdup (code);
  return TRUE;
}

const char *
_wb_carrier_status_table (const WbCarrierConfig *config,
                          const char            *own)
{
  if (config->status_map == NULL || g_str_equal (config->status_map, "generic"))
    return own;
  return config->status_map;
}

static int
compare_events (gconstpointer a,
                gconstpointer b)
{
  const WbStatusEvent *first = *(WbStatusEvent * const *) a;
  const WbStatusEvent *second = *(WbStatusEvent * const *) b;

  return (first->occurred_at > second->occurred_at) - (first->occurred_at < second->occurred_at);
}

void
_wb_carrier_events_sort (GPtrArray *events)
{
  /* g_ptr_array_sort is a stable merge sort since GLib 2.32. */
  g_ptr_array_sort (events, compare_events);
}
