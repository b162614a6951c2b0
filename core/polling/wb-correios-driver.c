// SPDX-License-Identifier: GPL-3.0-or-later
/* Correios, SRO Rastro: GET {base-url}/srorastro/v1/objetos/{code}?
 * resultado=T with an API token as a bearer. With login and password (the
 * Correios user and the API's access code) the token comes from Correios'
 * token API, POST {base-url}/token/v1/autentica with HTTP Basic: 201 with
 * {"token", "expiraEm", "zoneOffset", …}; it is kept until shortly before
 * expiraEm (a wall-clock time in zoneOffset, or Brasília's when none is
 * given), shared by every check and renewed once on a 401. A fixed token
 * in api-key is used as it is (it lasts a day). The answer's
 * objetos[0].eventos[] come newest first, each with codigo and tipo (the
 * pair the status table of Correios' documentation is keyed by: BDE 01
 * delivered, BDE 20 nobody home, …), dtHrCriado in Brasília's wall-clock
 * time WITHOUT a zone (read in America/Sao_Paulo and flagged), descricao
 * and unidade.endereco.cidade/uf. Codes map as "codigo.tipo" through
 * data/status-maps/correios.tsv with the codigo alone as the fallback. An
 * objeto with a mensagem instead of eventos is Correios' error for that
 * number: SRO-020 ("not found") means not known yet, any other fails the
 * check; the gateway's own errors come as {"msgs": […]}. */

#include "config.h"

#include <string.h>

#include "wb-carrier-token-private.h"
#include "wb-json-reader.h"
#include "wb-polling.h"

#define CORREIOS_ZONE "America/Sao_Paulo"

struct _WbCorreiosDriver
{
  GObject      parent_instance;
  char        *code;
  char        *base_url;
  char        *api_key;    /* secret: a header, never logged */
  char        *login;
  char        *password;   /* secret: the access code */
  char        *status_map;
  WbStatusMap *map;
  SoupSession *session;
  WbCarrierToken *token;   /* with login and password */
};

G_DECLARE_FINAL_TYPE (WbCorreiosDriver, _wb_correios_driver, WB, CORREIOS_DRIVER, GObject)

static void driver_iface_init (WbCarrierDriverInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (WbCorreiosDriver, _wb_correios_driver, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (WB_TYPE_CARRIER_DRIVER, driver_iface_init))

static void
_wb_correios_driver_finalize (GObject *object)
{
  WbCorreiosDriver *self = WB_CORREIOS_DRIVER (object);

  g_clear_pointer (&self->token, _wb_carrier_token_free);
  g_clear_object (&self->session);
  g_clear_pointer (&self->map, wb_status_map_unref);
  g_free (self->code);
  g_free (self->base_url);
  g_free (self->api_key);
  g_free (self->login);
  g_free (self->password);
  g_free (self->status_map);
  G_OBJECT_CLASS (_wb_correios_driver_parent_class)->finalize (object);
}

static void
_wb_correios_driver_class_init (WbCorreiosDriverClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = _wb_correios_driver_finalize;
}

static void
_wb_correios_driver_init (WbCorreiosDriver *self)
{
}

static char *
unit_location (WbJsonReader *item)
{
  g_autoptr(WbJsonReader) unit = wb_json_reader_get_object_member (item, "unidade", FALSE, NULL);
  g_autoptr(WbJsonReader) address = unit ? wb_json_reader_get_object_member (unit, "endereco", FALSE, NULL) : NULL;
  g_autofree char *city = NULL;
  g_autofree char *state = NULL;

  if (address == NULL)
    return NULL;
  wb_json_reader_get_string (address, "cidade", FALSE, &city, NULL);
  wb_json_reader_get_string (address, "uf", FALSE, &state, NULL);
  if (city != NULL && state != NULL)
    return g_strdup_printf ("%s/%s", city, state);
  return g_strdup (city ? city : state);
}

static gboolean
read_event (WbCorreiosDriver  *self,
            WbJsonReader      *item,
            const char        *track_number,
            WbStatusEvent    **out_event,
            GError           **error)
{
  g_autoptr(WbStatusEvent) event = g_new0 (WbStatusEvent, 1);
  g_autofree char *codigo = NULL;
  g_autofree char *tipo = NULL;
  g_autofree char *created = NULL;
  g_autofree char *code = NULL;
  g_autoptr(GError) local_error = NULL;

  *out_event = NULL;
  if (!wb_json_reader_get_string (item, "codigo", TRUE, &codigo, error)
      || !wb_json_reader_get_string (item, "tipo", FALSE, &tipo, error)
      || !wb_json_reader_get_string (item, "dtHrCriado", TRUE, &created, error)
      || !wb_json_reader_get_string (item, "descricao", FALSE, &event->description, error))
    return FALSE;
  if (!_wb_carrier_event_set_time (event, created, CORREIOS_ZONE, &local_error))
    return wb_json_reader_fail (item, "dtHrCriado", error, "%s", local_error->message);
  code = tipo ? g_strdup_printf ("%s.%s", codigo, tipo) : g_strdup (codigo);
  if (!_wb_carrier_event_map (event, self->map, self->status_map, code, codigo))
    {
      g_message ("carrier %s: event %s is not in status map %s; skipped", self->code, code, self->status_map);
      return TRUE;
    }
  event->location_text = unit_location (item);
  event->event_id = g_strdup_printf ("%s:%s:%s@%s", self->code, track_number, code, created);
  event->source = g_strdup (self->code);
  event->carrier = g_strdup (self->code);
  event->track_number = g_strdup (track_number);
  *out_event = g_steal_pointer (&event);
  return TRUE;
}

static WbCarrierReply *
read_object (WbCorreiosDriver *self,
             WbJsonReader     *object,
             const char       *track_number)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(WbCarrierReply) reply = wb_carrier_reply_new (WB_CARRIER_REPLY_OK);
  g_autofree char *message = NULL;
  JsonArray *events = NULL;
  guint n;

  if (!wb_json_reader_get_string (object, "mensagem", FALSE, &message, &error)
      || !wb_json_reader_peek_array (object, "eventos", FALSE, &events, &error))
    return _wb_carrier_reply_failed ("%s: unreadable answer: %s", self->code, error->message);
  if (events == NULL && message != NULL && g_str_has_prefix (message, "SRO-020"))
    return wb_carrier_reply_new (WB_CARRIER_REPLY_NOT_FOUND);
  if (events == NULL)
    return _wb_carrier_reply_failed ("%s: %s", self->code, message ? message : "an objeto without eventos");
  n = json_array_get_length (events);
  for (guint i = n; i-- > 0;)
    {
      g_autoptr(WbJsonReader) item = wb_json_reader_get_array_element (object, "eventos", i, &error);
      WbStatusEvent *event = NULL;

      if (item == NULL || !read_event (self, item, track_number, &event, &error))
        return _wb_carrier_reply_failed ("%s: unreadable answer: %s", self->code, error->message);
      if (event != NULL)
        g_ptr_array_add (reply->events, event);
    }
  _wb_carrier_events_sort (reply->events);
  return g_steal_pointer (&reply);
}

/* The API gateway's error body: {"msgs": ["…"], "causa": …}. */
static char *
gateway_error (WbJsonReader *reader)
{
  JsonArray *messages = NULL;
  JsonNode *first;

  if (!wb_json_reader_peek_array (reader, "msgs", FALSE, &messages, NULL) || messages == NULL
      || json_array_get_length (messages) == 0)
    return NULL;
  first = json_array_get_element (messages, 0);
  if (JSON_NODE_HOLDS_VALUE (first) && json_node_get_value_type (first) == G_TYPE_STRING)
    return g_strdup (json_node_get_string (first));
  return g_strdup ("(an error Correios did not describe)");
}

static WbCarrierReply *
answer_body (gpointer     driver,
             const char  *track_number,
             SoupMessage *message,
             GBytes      *body)
{
  WbCorreiosDriver *self = driver;
  guint status = soup_message_get_status (message);
  g_autoptr(GError) error = NULL;
  g_autoptr(WbJsonReader) reader = NULL;
  g_autoptr(WbJsonReader) object = NULL;
  g_autofree char *gateway = NULL;
  guint n = 0;

  if (status == 429)
    return _wb_carrier_reply_for_status (message, self->code);
  if ((reader = wb_json_reader_new_from_bytes (body, NULL, &error)) == NULL)
    {
      if (status != SOUP_STATUS_OK)
        return _wb_carrier_reply_for_status (message, self->code);
      return _wb_carrier_reply_failed ("%s: unreadable answer: %s", self->code, error->message);
    }
  if ((gateway = gateway_error (reader)) != NULL)
    return _wb_carrier_reply_failed ("%s: %s (HTTP %u)", self->code, gateway, status);
  if (status != SOUP_STATUS_OK)
    return _wb_carrier_reply_for_status (message, self->code);
  if (!wb_json_reader_get_array_length (reader, "objetos", &n, &error))
    return _wb_carrier_reply_failed ("%s: unreadable answer: %s", self->code, error->message);
  if (n == 0)
    return wb_carrier_reply_new (WB_CARRIER_REPLY_NOT_FOUND);
  if ((object = wb_json_reader_get_array_element (reader, "objetos", 0, &error)) == NULL)
    return _wb_carrier_reply_failed ("%s: unreadable answer: %s", self->code, error->message);
  return read_object (self, object, track_number);
}

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
return_reply (GTask          *task,
              WbCarrierReply *reply)
{
  g_task_return_pointer (task, reply, (GDestroyNotify) wb_carrier_reply_free);
  g_object_unref (task);
}

static void
on_rastro (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  GTask *task = user_data;
  WbCorreiosDriver *self = g_task_get_source_object (task);
  Check *check = g_task_get_task_data (task);
  GError *error = NULL;
  WbCarrierReply *reply = _wb_carrier_exchange_finish (result, &error);

  if (reply == NULL)
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  /* A token refused before its expiry (a new access code): one new
   * token, one more try, when the driver gets its own tokens. */
  if (!_wb_carrier_token_retry (self->token, task, check->token, &check->renewed, reply))
    return_reply (task, reply);
}

static void
request_rastro (GTask *task)
{
  WbCorreiosDriver *self = g_task_get_source_object (task);
  Check *check = g_task_get_task_data (task);
  g_autofree char *number = g_uri_escape_string (check->track_number, NULL, FALSE);
  g_autofree char *uri = g_strdup_printf ("%s/srorastro/v1/objetos/%s?resultado=T", self->base_url, number);
  g_autoptr(SoupMessage) message = NULL;

  g_free (check->token);
  check->token = g_strdup (self->token ? _wb_carrier_token_get (self->token) : self->api_key);
  message = _wb_carrier_bearer_get (uri, check->token);
  if (message == NULL)
    {
      return_reply (task, _wb_carrier_reply_failed ("%s: base-url does not make a URI", self->code));
      return;
    }
  _wb_carrier_exchange_async (self, self->session, message, check->track_number, answer_body,
                              g_task_get_cancellable (task), on_rastro, task);
}

/* expiraEm is Brasília's wall clock as Correios send it: in zoneOffset
 * when the answer gives one, else in America/Sao_Paulo; with a zone of
 * its own it is read as written. */
static gboolean
read_expiry (WbJsonReader  *reader,
             gint64        *out_us,
             GError       **error)
{
  g_autofree char *text = NULL;
  g_autofree char *offset = NULL;
  g_autoptr(GTimeZone) zone = NULL;
  g_autoptr(GDateTime) expiry = NULL;

  if (!wb_json_reader_get_string (reader, "expiraEm", TRUE, &text, error)
      || !wb_json_reader_get_string (reader, "zoneOffset", FALSE, &offset, error))
    return FALSE;
  zone = offset != NULL ? g_time_zone_new_identifier (offset) : g_time_zone_new_identifier (CORREIOS_ZONE);
  if (zone == NULL)
    return wb_json_reader_fail (reader, "zoneOffset", error, "“%s” is not a UTC offset", offset);
  if ((expiry = g_date_time_new_from_iso8601 (text, zone)) == NULL)
    return wb_json_reader_fail (reader, "expiraEm", error, "“%s” is not a date and time", text);
  *out_us = g_date_time_to_unix (expiry) * G_USEC_PER_SEC + g_date_time_get_microsecond (expiry);
  return TRUE;
}

static WbCarrierReply *
read_token (gpointer      driver,
            SoupMessage  *message,
            GBytes       *body,
            char        **out_token,
            gint64       *out_life_us)
{
  WbCorreiosDriver *self = driver;
  guint status = soup_message_get_status (message);
  g_autoptr(GError) error = NULL;
  g_autoptr(WbJsonReader) reader = wb_json_reader_new_from_bytes (body, NULL, &error);
  g_autofree char *gateway = NULL;
  gint64 expiry = 0;

  if (status == 429)
    return _wb_carrier_reply_for_status (message, self->code);
  if (status != SOUP_STATUS_CREATED && status != SOUP_STATUS_OK)
    {
      if (reader != NULL)
        gateway = gateway_error (reader);
      return _wb_carrier_reply_failed ("%s: no token (HTTP %u)%s%s", self->code, status,
                                       gateway ? ": " : "", gateway ? gateway : "");
    }
  if (reader == NULL
      || !wb_json_reader_get_string (reader, "token", TRUE, out_token, &error)
      || !read_expiry (reader, &expiry, &error))
    {
      g_clear_pointer (out_token, g_free);
      return _wb_carrier_reply_failed ("%s: unreadable token answer: %s", self->code, error->message);
    }
  *out_life_us = expiry - g_get_real_time ();
  if (*out_life_us <= 0)
    {
      g_clear_pointer (out_token, g_free);
      return _wb_carrier_reply_failed ("%s: the token answer's expiraEm has passed", self->code);
    }
  return NULL;
}

/* POST {base-url}/token/v1/autentica, the user and access code in HTTP
 * Basic: the secret in a header, never logged. */
static SoupMessage *
token_request (gpointer driver)
{
  WbCorreiosDriver *self = driver;
  g_autofree char *uri = g_strdup_printf ("%s/token/v1/autentica", self->base_url);
  g_autofree char *pair = g_strconcat (self->login, ":", self->password, NULL);
  g_autofree char *encoded = g_base64_encode ((const guchar *) pair, strlen (pair));
  g_autofree char *basic = g_strconcat ("Basic ", encoded, NULL);
  SoupMessage *message = soup_message_new ("POST", uri);

  if (message != NULL)
    soup_message_headers_replace (soup_message_get_request_headers (message), "Authorization", basic);
  return message;
}

static void
fetch_async (WbCarrierDriver     *driver,
             const char          *track_number,
             GCancellable        *cancellable,
             GAsyncReadyCallback  callback,
             gpointer             user_data)
{
  WbCorreiosDriver *self = WB_CORREIOS_DRIVER (driver);
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  Check *check = g_new0 (Check, 1);

  g_task_set_source_tag (task, fetch_async);
  check->track_number = g_strdup (track_number);
  g_task_set_task_data (task, check, check_free);
  if (self->token != NULL)
    _wb_carrier_token_wait (self->token, task);
  else if (self->api_key != NULL)
    request_rastro (task);
  else
    return_reply (task, _wb_carrier_reply_failed ("%s: no credentials: set login and password (the Correios "
                                                  "user and the API's access code), or api-key (a token)",
                                                  self->code));
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
_wb_correios_driver_new (const WbCarrierConfig *config,
                         WbStatusMap           *map)
{
  WbCorreiosDriver *self = g_object_new (_wb_correios_driver_get_type (), NULL);

  self->code = g_strdup (config->code);
  self->base_url = g_strdup (config->base_url);
  while (g_str_has_suffix (self->base_url, "/"))
    self->base_url[strlen (self->base_url) - 1] = '\0';
  self->api_key = g_strdup (config->api_key);
  self->login = g_strdup (config->login);
  self->password = g_strdup (config->password);
  self->status_map = g_strdup (_wb_carrier_status_table (config, "correios"));
  self->map = wb_status_map_ref (map);
  self->session = _wb_carrier_session_new (config);
  if (self->login != NULL && self->password != NULL)
    self->token = _wb_carrier_token_new (self, self->session, self->code, token_request, read_token, request_rastro);
  return WB_CARRIER_DRIVER (self);
}
