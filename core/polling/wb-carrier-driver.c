// SPDX-License-Identifier: GPL-3.0-or-later
/* The carrier driver interface, its factory and the HTTP every driver
 * shares: timeouts, 429 with Retry-After, 5xx, bodies that are not what
 * the carrier documents. */

#include "config.h"

#include "wb-carrier-exchange-private.h"
#include "wb-carrier-http-private.h"
#include "wb-polling.h"

G_DEFINE_INTERFACE (WbCarrierDriver, wb_carrier_driver, G_TYPE_OBJECT)

static void
wb_carrier_driver_default_init (WbCarrierDriverInterface *iface)
{
}

WbCarrierReply *
wb_carrier_reply_new (WbCarrierReplyKind kind)
{
  WbCarrierReply *reply = g_new0 (WbCarrierReply, 1);

  reply->kind = kind;
  reply->events = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_status_event_free);
  return reply;
}

void
wb_carrier_reply_free (WbCarrierReply *reply)
{
  if (reply == NULL)
    return;
  g_ptr_array_unref (reply->events);
  g_free (reply->error);
  g_free (reply);
}

WbCarrierReply *
_wb_carrier_reply_failed (const char *format,
                          ...)
{
  WbCarrierReply *reply = wb_carrier_reply_new (WB_CARRIER_REPLY_FAILED);
  va_list args;

  va_start (args, format);
  reply->error = g_strdup_vprintf (format, args);
  va_end (args);
  return reply;
}

gboolean
wb_retry_after_parse (const char *value,
                      gint64      now_us,
                      gint64     *out_at_us)
{
  g_autoptr(GDateTime) date = NULL;
  guint64 seconds;

  if (value == NULL)
    return FALSE;
  if (g_ascii_string_to_unsigned (value, 10, 0, 366 * 86400, &seconds, NULL))
    {
      *out_at_us = now_us + (gint64) seconds * G_USEC_PER_SEC;
      return TRUE;
    }
  if ((date = soup_date_time_new_from_http_string (value)) == NULL)
    return FALSE;
  *out_at_us = g_date_time_to_unix (date) * G_USEC_PER_SEC;
  return TRUE;
}

void
wb_carrier_driver_fetch_async (WbCarrierDriver     *self,
                               const char          *track_number,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_return_if_fail (WB_IS_CARRIER_DRIVER (self));
  g_return_if_fail (track_number != NULL);

  WB_CARRIER_DRIVER_GET_IFACE (self)->fetch_async (self, track_number, cancellable, callback, user_data);
}

WbCarrierReply *
wb_carrier_driver_fetch_finish (WbCarrierDriver  *self,
                                GAsyncResult     *result,
                                GError          **error)
{
  g_return_val_if_fail (WB_IS_CARRIER_DRIVER (self), NULL);

  return WB_CARRIER_DRIVER_GET_IFACE (self)->fetch_finish (self, result, error);
}

WbCarrierDriver *
wb_carrier_driver_new (const WbCarrierConfig  *config,
                       WbStatusMap            *map,
                       GError                **error)
{
  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (map != NULL, NULL);

  if (g_str_equal (config->driver, "emulator"))
    return _wb_emulator_driver_new (config, map);
  if (g_str_equal (config->driver, "dhl-unified"))
    return _wb_dhl_driver_new (config, map);
  if (g_str_equal (config->driver, "russian-post"))
    return _wb_russian_post_driver_new (config, map);
  if (g_str_equal (config->driver, "cdek"))
    return _wb_cdek_driver_new (config, map);
  if (g_str_equal (config->driver, "correios"))
    return _wb_correios_driver_new (config, map);
  g_set_error (error, WB_POLLING_ERROR, WB_POLLING_ERROR_CONFIG,
               "carriers file: [%s] driver “%s” is unknown; known: emulator, dhl-unified, russian-post, cdek, correios",
               config->code, config->driver);
  return NULL;
}

SoupSession *
_wb_carrier_session_new (const WbCarrierConfig *config)
{
  return soup_session_new_with_options ("timeout", config->timeout_s, "idle-timeout", 60,
                                        "max-conns-per-host", 64, "max-conns", 128,
                                        "user-agent", "waybill-poller", NULL);
}

/* ---- one GET ------------------------------------------------------------------ */

typedef struct
{
  gpointer           driver;
  char              *track_number;
  WbCarrierParseFunc parse;
  SoupMessage       *message;
} Fetch;

static void
fetch_free (gpointer data)
{
  Fetch *fetch = data;

  g_free (fetch->track_number);
  g_clear_object (&fetch->message);
  g_clear_object (&fetch->driver);
  g_free (fetch);
}

static WbCarrierReply *
reply_for_status (Fetch  *fetch,
                  guint   status,
                  GBytes *body)
{
  SoupMessageHeaders *headers = soup_message_get_response_headers (fetch->message);
  WbCarrierReply *reply;

  if (status == SOUP_STATUS_OK)
    return fetch->parse (fetch->driver, fetch->track_number, body);
  if (status == SOUP_STATUS_NOT_FOUND)
    return wb_carrier_reply_new (WB_CARRIER_REPLY_NOT_FOUND);
  if (status == 429)
    {
      reply = wb_carrier_reply_new (WB_CARRIER_REPLY_RATE_LIMITED);
      if (!wb_retry_after_parse (soup_message_headers_get_one (headers, "Retry-After"), g_get_real_time (),
                                 &reply->retry_at))
        reply->retry_at = 0;
      reply->error = g_strdup ("rate limited by the carrier (HTTP 429)");
      return reply;
    }
  return _wb_carrier_reply_failed ("HTTP %u from the carrier", status);
}

static void
on_read (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Fetch *fetch = g_task_get_task_data (task);
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
    reply = reply_for_status (fetch, soup_message_get_status (fetch->message), body);
  reply->http_status = soup_message_get_status (fetch->message);
  g_task_return_pointer (task, reply, (GDestroyNotify) wb_carrier_reply_free);
}

void
_wb_carrier_http_get (gpointer             driver,
                      SoupSession         *session,
                      const char          *uri,
                      const char * const  *headers,
                      const char          *track_number,
                      WbCarrierParseFunc   parse,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  GTask *task = g_task_new (driver, cancellable, callback, user_data);
  Fetch *fetch = g_new0 (Fetch, 1);

  g_task_set_source_tag (task, _wb_carrier_http_get);
  fetch->driver = g_object_ref (driver);
  fetch->track_number = g_strdup (track_number);
  fetch->parse = parse;
  fetch->message = soup_message_new ("GET", uri);
  g_task_set_task_data (task, fetch, fetch_free);
  if (fetch->message == NULL)
    {
      g_task_return_pointer (task, _wb_carrier_reply_failed ("base-url does not make a URI"),
                             (GDestroyNotify) wb_carrier_reply_free);
      g_object_unref (task);
      return;
    }
  for (guint i = 0; headers != NULL && headers[i] != NULL && headers[i + 1] != NULL; i += 2)
    soup_message_headers_replace (soup_message_get_request_headers (fetch->message), headers[i], headers[i + 1]);
  soup_session_send_and_read_async (session, fetch->message, G_PRIORITY_DEFAULT, cancellable, on_read, task);
}

WbCarrierReply *
_wb_carrier_http_finish (GAsyncResult  *result,
                         GError       **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}
