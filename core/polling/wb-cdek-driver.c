// SPDX-License-Identifier: GPL-3.0-or-later
/* CDEK API v2. A bearer token from POST {base-url}/v2/oauth/token?
 * grant_type=client_credentials&client_id=…&client_secret=… is kept until
 * shortly before its expires_in runs out and shared by every check; a 401
 * on a check fetches a new one and asks once more. The order comes from
 * GET {base-url}/v2/orders?cdek_number=…: entity.statuses[] with code,
 * name, date_time (with an offset) and city, mapped through
 * data/status-maps/cdek.tsv. CDEK reports trouble in errors[] (at the top
 * or in requests[]), whatever the HTTP status: an error whose code says
 * the order is not found means the number is not known yet, any other is
 * the check's error, named with CDEK's code and message. */

#include "config.h"

#include <string.h>

#include "wb-carrier-token-private.h"
#include "wb-json-reader.h"
#include "wb-polling.h"

struct _WbCdekDriver
{
  GObject      parent_instance;
  char        *code;
  char        *base_url;
  char        *client_id;
  char        *client_secret;  /* secret: in the token request's URI, never logged */
  char        *status_map;
  WbStatusMap *map;
  SoupSession *session;
  WbCarrierToken *token;
};

G_DECLARE_FINAL_TYPE (WbCdekDriver, _wb_cdek_driver, WB, CDEK_DRIVER, GObject)

static void driver_iface_init (WbCarrierDriverInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (WbCdekDriver, _wb_cdek_driver, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (WB_TYPE_CARRIER_DRIVER, driver_iface_init))

typedef struct
{
  char     *track_number;
  char     *token;      /* the bearer this check used (secret) */
  gboolean  renewed;    /* a 401 has had its one new token */
} Check;

static void
check_free (gpointer data)
{
  Check *check = data;

  g_free (check->track_number);
  g_free (check->token);
  g_free (check);
}

static void
_wb_cdek_driver_finalize (GObject *object)
{
  WbCdekDriver *self = WB_CDEK_DRIVER (object);

  g_clear_pointer (&self->token, _wb_carrier_token_free);
  g_clear_object (&self->session);
  g_clear_pointer (&self->map, wb_status_map_unref);
  g_free (self->code);
  g_free (self->base_url);
  g_free (self->client_id);
  g_free (self->client_secret);
  g_free (self->status_map);
  G_OBJECT_CLASS (_wb_cdek_driver_parent_class)->finalize (object);
}

static void
_wb_cdek_driver_class_init (WbCdekDriverClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = _wb_cdek_driver_finalize;
}

static void
_wb_cdek_driver_init (WbCdekDriver *self)
{
}

/* ---- errors[] ------------------------------------------------------------------ */

/* The first entry of an errors[] array of @reader, as "code: message". */
static char *
first_error (WbJsonReader *reader,
             gboolean     *out_not_found)
{
  JsonArray *errors = NULL;
  g_autoptr(WbJsonReader) item = NULL;
  g_autofree char *code = NULL;
  g_autofree char *message = NULL;

  if (!wb_json_reader_peek_array (reader, "errors", FALSE, &errors, NULL) || errors == NULL
      || json_array_get_length (errors) == 0)
    return NULL;
  if ((item = wb_json_reader_get_array_element (reader, "errors", 0, NULL)) == NULL)
    return g_strdup ("(an error CDEK did not describe)");
  wb_json_reader_get_string (item, "code", FALSE, &code, NULL);
  wb_json_reader_get_string (item, "message", FALSE, &message, NULL);
  /* v2_entity_not_found, v2_order_not_found, …: CDEK's way of saying the
   * number is unknown (yet). */
  *out_not_found = code != NULL && strstr (code, "not_found") != NULL;
  return g_strdup_printf ("%s: %s", code ? code : "(no code)", message ? message : "(no message)");
}

/* errors[] at the top, or in any of requests[]. */
static char *
find_error (WbJsonReader *reader,
            gboolean     *out_not_found)
{
  JsonArray *requests = NULL;
  char *error;

  *out_not_found = FALSE;
  if ((error = first_error (reader, out_not_found)) != NULL)
    return error;
  if (!wb_json_reader_peek_array (reader, "requests", FALSE, &requests, NULL) || requests == NULL)
    return NULL;
  for (guint i = 0; i < json_array_get_length (requests); i++)
    {
      g_autoptr(WbJsonReader) request = wb_json_reader_get_array_element (reader, "requests", i, NULL);

      if (request != NULL && (error = first_error (request, out_not_found)) != NULL)
        return error;
    }
  return NULL;
}

/* ---- the order ----------------------------------------------------------------- */

static gboolean
read_status (WbCdekDriver   *self,
             WbJsonReader   *item,
             const char     *track_number,
             WbStatusEvent **out_event,
             GError        **error)
{
  g_autoptr(WbStatusEvent) event = g_new0 (WbStatusEvent, 1);
  g_autofree char *code = NULL;
  g_autofree char *date_time = NULL;
  g_autoptr(GError) local_error = NULL;

  *out_event = NULL;
  if (!wb_json_reader_get_string (item, "code", TRUE, &code, error)
      || !wb_json_reader_get_string (item, "date_time", TRUE, &date_time, error)
      || !wb_json_reader_get_string (item, "name", FALSE, &event->description, error)
      || !wb_json_reader_get_string (item, "city", FALSE, &event->location_text, error))
    return FALSE;
  if (!_wb_carrier_event_set_time (event, date_time, NULL, &local_error))
    return wb_json_reader_fail (item, "date_time", error, "%s", local_error->message);
  if (!_wb_carrier_event_map (event, self->map, self->status_map, code, NULL))
    {
      g_message ("carrier %s: status %s is not in status map %s; skipped", self->code, code, self->status_map);
      return TRUE;
    }
  event->event_id = g_strdup_printf ("%s:%s:%s@%s", self->code, track_number, code, date_time);
  event->source = g_strdup (self->code);
  event->carrier = g_strdup (self->code);
  event->track_number = g_strdup (track_number);
  *out_event = g_steal_pointer (&event);
  return TRUE;
}

static WbCarrierReply *
read_order (WbCdekDriver *self,
            WbJsonReader *reader,
            const char   *track_number)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(WbJsonReader) entity = wb_json_reader_get_object_member (reader, "entity", TRUE, &error);
  g_autoptr(WbCarrierReply) reply = wb_carrier_reply_new (WB_CARRIER_REPLY_OK);
  guint n = 0;

  if (entity == NULL || !wb_json_reader_get_array_length (entity, "statuses", &n, &error))
    return _wb_carrier_reply_failed ("%s: unreadable answer: %s", self->code, error->message);
  /* CDEK lists the newest first. */
  for (guint i = n; i-- > 0;)
    {
      g_autoptr(WbJsonReader) item = wb_json_reader_get_array_element (entity, "statuses", i, &error);
      WbStatusEvent *event = NULL;

      if (item == NULL || !read_status (self, item, track_number, &event, &error))
        return _wb_carrier_reply_failed ("%s: unreadable answer: %s", self->code, error->message);
      if (event != NULL)
        g_ptr_array_add (reply->events, event);
    }
  _wb_carrier_events_sort (reply->events);
  return g_steal_pointer (&reply);
}

static WbCarrierReply *
answer_orders (gpointer     driver,
               const char  *track_number,
               SoupMessage *message,
               GBytes      *body)
{
  WbCdekDriver *self = driver;
  guint status = soup_message_get_status (message);
  g_autoptr(GError) error = NULL;
  g_autoptr(WbJsonReader) reader = NULL;
  g_autofree char *carrier_error = NULL;
  gboolean not_found = FALSE;

  if (status == SOUP_STATUS_UNAUTHORIZED)
    return _wb_carrier_reply_failed ("%s: the token was refused (HTTP 401)", self->code);
  if (status == 429)
    return _wb_carrier_reply_for_status (message, self->code);
  if ((reader = wb_json_reader_new_from_bytes (body, NULL, &error)) == NULL)
    {
      if (status != SOUP_STATUS_OK)
        return _wb_carrier_reply_for_status (message, self->code);
      return _wb_carrier_reply_failed ("%s: unreadable answer: %s", self->code, error->message);
    }
  /* An order's requests[] lists its past requests, failed ones with their
   * errors: with an entity, those are history, not this check's error. */
  if (status == SOUP_STATUS_OK && wb_json_reader_has_member (reader, "entity"))
    return read_order (self, reader, track_number);
  if ((carrier_error = find_error (reader, &not_found)) != NULL)
    {
      if (not_found)
        return wb_carrier_reply_new (WB_CARRIER_REPLY_NOT_FOUND);
      return _wb_carrier_reply_failed ("%s: %s (HTTP %u)", self->code, carrier_error, status);
    }
  if (status != SOUP_STATUS_OK)
    return _wb_carrier_reply_for_status (message, self->code);
  return read_order (self, reader, track_number);
}

/* ---- the token and the check --------------------------------------------------- */

static void request_orders (GTask *task);

static void
return_reply (GTask          *task,
              WbCarrierReply *reply)
{
  g_task_return_pointer (task, reply, (GDestroyNotify) wb_carrier_reply_free);
  g_object_unref (task);
}

static void
on_orders (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  GTask *task = user_data;
  WbCdekDriver *self = g_task_get_source_object (task);
  Check *check = g_task_get_task_data (task);
  GError *error = NULL;
  WbCarrierReply *reply = _wb_carrier_exchange_finish (result, &error);

  if (reply == NULL)
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  /* Tokens may be revoked before they expire (a new secret, a reset on
   * CDEK's side): one new token, one more try. Another check may have
   * renewed it already; then that one is used. */
  if (!_wb_carrier_token_retry (self->token, task, check->token, &check->renewed, reply))
    return_reply (task, reply);
}

static void
request_orders (GTask *task)
{
  WbCdekDriver *self = g_task_get_source_object (task);
  Check *check = g_task_get_task_data (task);
  g_autofree char *number = g_uri_escape_string (check->track_number, NULL, FALSE);
  g_autofree char *uri = g_strdup_printf ("%s/v2/orders?cdek_number=%s", self->base_url, number);
  g_autoptr(SoupMessage) message = NULL;

  g_free (check->token);
  check->token = g_strdup (_wb_carrier_token_get (self->token));
  message = _wb_carrier_bearer_get (uri, check->token);
  if (message == NULL)
    {
      return_reply (task, _wb_carrier_reply_failed ("%s: base-url does not make a URI", self->code));
      return;
    }
  _wb_carrier_exchange_async (self, self->session, message, check->track_number, answer_orders,
                              g_task_get_cancellable (task), on_orders, task);
}

/* The token answer: NULL with the token and its life, or a reply saying
 * why not. */
static WbCarrierReply *
read_token (gpointer      driver,
            SoupMessage  *message,
            GBytes       *body,
            char        **out_token,
            gint64       *out_life_us)
{
  WbCdekDriver *self = driver;
  guint status = soup_message_get_status (message);
  g_autoptr(GError) error = NULL;
  g_autoptr(WbJsonReader) reader = wb_json_reader_new_from_bytes (body, NULL, &error);
  g_autofree char *description = NULL;
  gboolean present = FALSE;
  gint64 expires_in = 0;

  if (status == 429)
    return _wb_carrier_reply_for_status (message, self->code);
  if (status != SOUP_STATUS_OK)
    {
      /* OAuth's own error body: {"error": "invalid_client", "error_description": …}. */
      if (reader != NULL)
        wb_json_reader_get_string (reader, "error_description", FALSE, &description, NULL);
      return _wb_carrier_reply_failed ("%s: no token (HTTP %u)%s%s", self->code, status,
                                       description ? ": " : "", description ? description : "");
    }
  if (reader == NULL
      || !wb_json_reader_get_string (reader, "access_token", TRUE, out_token, &error)
      || !wb_json_reader_get_int64 (reader, "expires_in", 0, G_MAXINT32, &present, &expires_in, &error))
    {
      g_clear_pointer (out_token, g_free);
      return _wb_carrier_reply_failed ("%s: unreadable token answer: %s", self->code, error->message);
    }
  *out_life_us = expires_in * G_USEC_PER_SEC;
  return NULL;
}

/* POST {base-url}/v2/oauth/token?grant_type=client_credentials&…: the
 * secret in the URI, as CDEK documents it, never logged. */
static SoupMessage *
token_request (gpointer driver)
{
  WbCdekDriver *self = driver;
  g_autofree char *id = g_uri_escape_string (self->client_id ? self->client_id : "", NULL, FALSE);
  g_autofree char *secret = g_uri_escape_string (self->client_secret ? self->client_secret : "", NULL, FALSE);
  g_autofree char *uri = g_strdup_printf ("%s/v2/oauth/token?grant_type=client_credentials&client_id=%s&client_secret=%s",
                                          self->base_url, id, secret);

  return soup_message_new ("POST", uri);
}

static void
fetch_async (WbCarrierDriver     *driver,
             const char          *track_number,
             GCancellable        *cancellable,
             GAsyncReadyCallback  callback,
             gpointer             user_data)
{
  WbCdekDriver *self = WB_CDEK_DRIVER (driver);
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  Check *check = g_new0 (Check, 1);

  g_task_set_source_tag (task, fetch_async);
  check->track_number = g_strdup (track_number);
  g_task_set_task_data (task, check, check_free);
  _wb_carrier_token_wait (self->token, task);
}

static WbCarrierReply *
fetch_finish (WbCarrierDriver  *driver,
              GAsyncResult     *result,
              GError          **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
driver_iface_init (WbCarrierDriverInterface *iface)
{
  iface->fetch_async = fetch_async;
  iface->fetch_finish = fetch_finish;
}

WbCarrierDriver *
_wb_cdek_driver_new (const WbCarrierConfig *config,
                     WbStatusMap           *map)
{
  WbCdekDriver *self = g_object_new (_wb_cdek_driver_get_type (), NULL);

  self->code = g_strdup (config->code);
  self->base_url = g_strdup (config->base_url);
  while (g_str_has_suffix (self->base_url, "/"))
    self->base_url[strlen (self->base_url) - 1] = '\0';
  self->client_id = g_strdup (config->client_id);
  self->client_secret = g_strdup (config->client_secret);
  self->status_map = g_strdup (_wb_carrier_status_table (config, "cdek"));
  self->map = wb_status_map_ref (map);
  self->session = _wb_carrier_session_new (config);
  self->token = _wb_carrier_token_new (self, self->session, self->code, token_request, read_token, request_orders);
  return WB_CARRIER_DRIVER (self);
}
