// SPDX-License-Identifier: GPL-3.0-or-later
/* The russian-post, cdek and correios carrier drivers end to end against a
 * SoupServer on 127.0.0.1 serving each carrier's published sample answer
 * (tests/data/README.md names the sources): the request each carrier
 * documents, the events mapped through its status map, its error bodies,
 * a 429 with Retry-After, bodies that are not what the carrier documents,
 * and CDEK's and Correios' tokens kept across checks and renewed after
 * expiry or a 401. */

#include "config.h"

#include <libsoup/soup.h>
#include <string.h>

#include "wb-carrier-driver.h"
#include "wb-carrier-table.h"
#include "wb-polling.h"
#include "wb-test-server-thread.h"

/* ---- a carrier on 127.0.0.1 ------------------------------------------------------ */

typedef struct
{
  SoupServer *server;
  GMutex      mutex;
  /* the answer to checks */
  guint       status;
  char       *body;
  char       *retry_after;
  /* CDEK's token endpoint */
  guint       token_status;
  gint64      token_expires_in;
  guint       tokens_issued;
  gboolean    refuse_all_tokens;  /* every bearer gets a 401 */
  char       *revoked;            /* this bearer gets a 401 */
  /* what came in on the last check */
  guint       checks;
  char       *seen_method;
  char       *seen_path;
  char       *seen_query;
  char       *seen_body;
  char       *seen_content_type;
  char       *seen_authorization;
  char       *seen_token_query;
  char       *seen_token_authorization;
  WbTestServerThread *thread;
} Carrier;

static void
replace (char       **field,
         const char  *value)
{
  g_free (*field);
  *field = g_strdup (value);
}

static void
serve_token (Carrier           *c,
             SoupServerMessage *message)
{
  g_autofree char *body = NULL;

  replace (&c->seen_token_query, g_uri_get_query (soup_server_message_get_uri (message)));
  if (c->token_status != SOUP_STATUS_OK)
    body = g_strdup ("{\"error\":\"invalid_client\",\"error_description\":\"Bad client credentials\"}");
  else
    {
      c->tokens_issued++;
      body = g_strdup_printf ("{\"access_token\":\"token-%u\",\"token_type\":\"bearer\",\"expires_in\":%"
                              G_GINT64_FORMAT ",\"scope\":\"order:all payment:all\",\"jti\":\"9adca50a-%u\"}",
                              c->tokens_issued, c->token_expires_in, c->tokens_issued);
    }
  soup_server_message_set_status (message, c->token_status, NULL);
  soup_server_message_set_response (message, "application/json", SOUP_MEMORY_COPY, body, strlen (body));
}

/* Correios' token API (Token 1.8.5): 201 with the Token schema's fields,
 * expiraEm in Brasília's wall clock and zoneOffset beside it; a refusal
 * as the gateway's MessageResponse. */
static void
serve_correios_token (Carrier           *c,
                      SoupServerMessage *message)
{
  SoupMessageHeaders *request = soup_server_message_get_request_headers (message);
  g_autoptr(GTimeZone) brasilia = g_time_zone_new_identifier ("-03:00");
  g_autoptr(GDateTime) now = g_date_time_new_now (brasilia);
  g_autoptr(GDateTime) expiry = g_date_time_add_seconds (now, (double) c->token_expires_in);
  g_autofree char *issued = g_date_time_format (now, "%Y-%m-%dT%H:%M:%S");
  g_autofree char *expires = g_date_time_format (expiry, "%Y-%m-%dT%H:%M:%S");
  g_autofree char *body = NULL;
  guint status = c->token_status == SOUP_STATUS_OK ? SOUP_STATUS_CREATED : c->token_status;

  replace (&c->seen_token_authorization, soup_message_headers_get_one (request, "Authorization"));
  if (status != SOUP_STATUS_CREATED)
    body = g_strdup ("{\"msgs\":[\"Usuário ou código de acesso inválido.\"],\"date\":\"2024-05-02T10:00:00\","
                     "\"method\":\"POST\",\"path\":\"/token/v1/autentica\"}");
  else
    {
      c->tokens_issued++;
      body = g_strdup_printf ("{\"ambiente\":\"PRODUCAO\",\"id\":\"waybill\",\"ip\":\"127.0.0.1\",\"perfil\":\"PJ\","
                              "\"cnpj\":\"34028316000103\",\"api\":[87],\"emissao\":\"%s\",\"expiraEm\":\"%s\","
                              "\"zoneOffset\":\"-03:00\",\"token\":\"ctoken-%u\"}", issued, expires, c->tokens_issued);
    }
  soup_server_message_set_status (message, status, NULL);
  soup_server_message_set_response (message, "application/json", SOUP_MEMORY_COPY, body, strlen (body));
}

static void
serve (SoupServer        *server,
       SoupServerMessage *message,
       const char        *path,
       GHashTable        *query,
       gpointer           data)
{
  Carrier *c = data;
  SoupMessageHeaders *request = soup_server_message_get_request_headers (message);
  SoupMessageBody *body = soup_server_message_get_request_body (message);
  const char *authorization = soup_message_headers_get_one (request, "Authorization");
  static const char unauthorized[] = "{\"requests\":[{\"type\":\"GET\",\"state\":\"INVALID\",\"errors\":"
                                     "[{\"code\":\"v2_token_expired\",\"message\":\"Token expired\"}]}]}";

  g_mutex_lock (&c->mutex);
  if (g_str_has_suffix (path, "/v2/oauth/token"))
    {
      serve_token (c, message);
      g_mutex_unlock (&c->mutex);
      return;
    }
  if (g_str_equal (path, "/token/v1/autentica"))
    {
      serve_correios_token (c, message);
      g_mutex_unlock (&c->mutex);
      return;
    }
  c->checks++;
  replace (&c->seen_method, soup_server_message_get_method (message));
  replace (&c->seen_path, path);
  replace (&c->seen_query, g_uri_get_query (soup_server_message_get_uri (message)));
  replace (&c->seen_content_type, soup_message_headers_get_one (request, "Content-Type"));
  replace (&c->seen_authorization, authorization);
  g_free (c->seen_body);
  c->seen_body = g_strndup (body->data, body->length);
  if (authorization != NULL && (c->refuse_all_tokens || g_strcmp0 (authorization + strlen ("Bearer "), c->revoked) == 0))
    {
      soup_server_message_set_status (message, SOUP_STATUS_UNAUTHORIZED, NULL);
      soup_server_message_set_response (message, "application/json", SOUP_MEMORY_STATIC, unauthorized,
                                        strlen (unauthorized));
      g_mutex_unlock (&c->mutex);
      return;
    }
  if (c->retry_after)
    soup_message_headers_replace (soup_server_message_get_response_headers (message), "Retry-After", c->retry_after);
  soup_server_message_set_status (message, c->status, NULL);
  soup_server_message_set_response (message, "application/octet-stream", SOUP_MEMORY_COPY, c->body, strlen (c->body));
  g_mutex_unlock (&c->mutex);
}

static guint
carrier_start (gpointer data)
{
  Carrier *c = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSList) uris = NULL;
  guint port;

  c->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (c->server, NULL, serve, c, NULL);
  soup_server_listen_local (c->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error);
  g_assert_no_error (error);
  uris = soup_server_get_uris (c->server);
  port = g_uri_get_port (uris->data);
  g_slist_free_full (g_steal_pointer (&uris), (GDestroyNotify) g_uri_unref);
  return port;
}

static void
carrier_stop (gpointer data)
{
  Carrier *c = data;

  soup_server_disconnect (c->server);
  g_clear_object (&c->server);
}

static char *
read_fixture (const char *file)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", file, NULL);
  char *text = NULL;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  return text;
}

/* The next checks get @status and @body (text, not a file name). */
static void
answer_text (Carrier    *c,
             guint       status,
             const char *body,
             const char *retry_after)
{
  g_mutex_lock (&c->mutex);
  replace (&c->body, body);
  replace (&c->retry_after, retry_after);
  c->status = status;
  g_mutex_unlock (&c->mutex);
}

static void
answer_file (Carrier    *c,
             guint       status,
             const char *file)
{
  g_autofree char *body = read_fixture (file);

  answer_text (c, status, body, NULL);
}

static Carrier *
carrier_new (void)
{
  Carrier *c = g_new0 (Carrier, 1);

  g_mutex_init (&c->mutex);
  c->token_status = SOUP_STATUS_OK;
  c->token_expires_in = 3599;
  answer_text (c, SOUP_STATUS_OK, "", NULL);
  c->thread = wb_test_server_thread_start ("carrier", carrier_start, carrier_stop, c);
  return c;
}

static void
carrier_free (Carrier *c)
{
  wb_test_server_thread_stop (c->thread);
  g_free (c->body);
  g_free (c->retry_after);
  g_free (c->revoked);
  g_free (c->seen_token_authorization);
  g_free (c->seen_method);
  g_free (c->seen_path);
  g_free (c->seen_query);
  g_free (c->seen_body);
  g_free (c->seen_content_type);
  g_free (c->seen_authorization);
  g_free (c->seen_token_query);
  g_mutex_clear (&c->mutex);
  g_free (c);
}

/* ---- drivers --------------------------------------------------------------------- */

static WbCarrierDriver *
driver_for (Carrier        *c,
            const char     *group,
            WbCarrierTable **out_table)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(WbStatusMap) map = wb_status_map_load_default (&error);
  g_autoptr(GString) text = g_string_new (group);
  g_autofree char *port = g_strdup_printf ("%u", wb_test_server_thread_get_port (c->thread));
  WbCarrierDriver *driver;

  g_assert_no_error (error);
  g_string_replace (text, "@PORT@", port, 0);
  *out_table = wb_carrier_table_new_from_data (text->str, &error);
  g_assert_no_error (error);
  driver = wb_carrier_driver_new (wb_carrier_table_get_nth (*out_table, 0), map, &error);
  g_assert_no_error (error);
  return driver;
}

static void
on_fetched (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  WbCarrierReply **reply = data;
  g_autoptr(GError) error = NULL;

  *reply = wb_carrier_driver_fetch_finish (WB_CARRIER_DRIVER (source), result, &error);
  g_assert_no_error (error);
  g_assert_nonnull (*reply);
}

static WbCarrierReply *
fetch (WbCarrierDriver *driver,
       const char      *number)
{
  WbCarrierReply *reply = NULL;
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  wb_carrier_driver_fetch_async (driver, number, NULL, on_fetched, &reply);
  while (reply == NULL)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
  return reply;
}

/* Two checks started before either is answered; both must succeed. */
static void
fetch_together (WbCarrierDriver *driver,
                const char      *first,
                const char      *second,
                guint            n_events)
{
  WbCarrierReply *replies[2] = { NULL, NULL };
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  wb_carrier_driver_fetch_async (driver, first, NULL, on_fetched, &replies[0]);
  wb_carrier_driver_fetch_async (driver, second, NULL, on_fetched, &replies[1]);
  while (replies[0] == NULL || replies[1] == NULL)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
  for (guint i = 0; i < 2; i++)
    {
      g_assert_cmpint (replies[i]->kind, ==, WB_CARRIER_REPLY_OK);
      g_assert_cmpuint (replies[i]->events->len, ==, n_events);
      wb_carrier_reply_free (replies[i]);
    }
}

static WbStatusEvent *
event_at (WbCarrierReply *reply,
          guint           index)
{
  g_assert_cmpuint (index, <, reply->events->len);
  return g_ptr_array_index (reply->events, index);
}

static gint64
unix_us (const char *iso8601)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_iso8601 (iso8601, NULL);

  g_assert_nonnull (time);
  return g_date_time_to_unix (time) * G_USEC_PER_SEC;
}

/* A failed check names the carrier and never shows a secret. */
static void
assert_failed (WbCarrierReply *reply,
               const char     *carrier,
               const char     *words,
               const char     *secret)
{
  g_assert_cmpint (reply->kind, ==, WB_CARRIER_REPLY_FAILED);
  g_assert_nonnull (reply->error);
  g_test_message ("%s", reply->error);
  g_assert_true (g_str_has_prefix (reply->error, carrier));
  if (words != NULL)
    g_assert_nonnull (strstr (reply->error, words));
  if (secret != NULL)
    g_assert_null (strstr (reply->error, secret));
}

/* A 429 with Retry-After in seconds: rate limited until then, no failure. */
static void
assert_rate_limited (Carrier         *c,
                     WbCarrierDriver *driver,
                     const char      *number)
{
  WbCarrierReply *reply;
  gint64 before = g_get_real_time ();

  answer_text (c, 429, "{\"message\":\"Too Many Requests\"}", "120");
  reply = fetch (driver, number);
  g_assert_cmpint (reply->kind, ==, WB_CARRIER_REPLY_RATE_LIMITED);
  g_assert_cmpuint (reply->http_status, ==, 429);
  g_assert_cmpint (reply->retry_at, >=, before + 120 * G_USEC_PER_SEC);
  g_assert_cmpint (reply->retry_at, <=, g_get_real_time () + 120 * G_USEC_PER_SEC);
  wb_carrier_reply_free (reply);
}

/* Bodies that are not the carrier's: each is the check's error, none crashes. */
static void
assert_malformed_fail (Carrier           *c,
                       WbCarrierDriver   *driver,
                       const char        *number,
                       const char        *carrier,
                       const char        *fixture,
                       const char * const *bodies)
{
  g_autofree char *sample = read_fixture (fixture);
  g_autofree char *half = g_strndup (sample, strlen (sample) / 2);
  g_autofree char *readme = read_fixture ("README.md");
  const char *always[] = { "", half, readme, "\xff\xfe\x00garbage", "null", "[]", "{}", NULL };

  for (guint i = 0; always[i] != NULL; i++)
    {
      WbCarrierReply *reply;

      answer_text (c, SOUP_STATUS_OK, always[i], NULL);
      reply = fetch (driver, number);
      assert_failed (reply, carrier, NULL, NULL);
      wb_carrier_reply_free (reply);
    }
  for (guint i = 0; bodies[i] != NULL; i++)
    {
      WbCarrierReply *reply;

      answer_text (c, SOUP_STATUS_OK, bodies[i], NULL);
      reply = fetch (driver, number);
      assert_failed (reply, carrier, NULL, NULL);
      wb_carrier_reply_free (reply);
    }
}

/* ---- russian-post ---------------------------------------------------------------- */

#define RUSSIAN_POST \
  "[POST_RU]\ndriver=russian-post\nbase-url=http://127.0.0.1:@PORT@\nlogin=waybill\npassword=p&ss<w>rd\n" \
  "status-map=russian-post\nnumber-format=s10\n"

static void
test_russian_post_history (void)
{
  Carrier *c = carrier_new ();
  g_autoptr(WbCarrierTable) table = NULL;
  g_autoptr(WbCarrierDriver) driver = driver_for (c, RUSSIAN_POST, &table);
  WbCarrierReply *reply;
  WbStatusEvent *event;

  answer_file (c, SOUP_STATUS_OK, "russian-post-history.xml");
  reply = fetch (driver, "EA123456789RU");
  g_assert_cmpint (reply->kind, ==, WB_CARRIER_REPLY_OK);

  /* The request is the documented SOAP 1.2 call, credentials escaped as XML. */
  g_assert_cmpstr (c->seen_method, ==, "POST");
  g_assert_cmpstr (c->seen_path, ==, "/rtm34");
  g_assert_true (g_str_has_prefix (c->seen_content_type, "application/soap+xml"));
  g_assert_nonnull (strstr (c->seen_body, "http://www.w3.org/2003/05/soap-envelope"));
  g_assert_nonnull (strstr (c->seen_body, ":getOperationHistory"));
  g_assert_nonnull (strstr (c->seen_body, ":Barcode>EA123456789RU</"));
  g_assert_nonnull (strstr (c->seen_body, ":MessageType>0</"));
  g_assert_nonnull (strstr (c->seen_body, ":Language>RUS</"));
  g_assert_nonnull (strstr (c->seen_body, ":AuthorizationHeader"));
  g_assert_nonnull (strstr (c->seen_body, ":login>waybill</"));
  g_assert_nonnull (strstr (c->seen_body, ":password>p&amp;ss&lt;w&gt;rd</"));

  /* Four operations, oldest first, by OperType.OperAttr with the type as
   * the fallback (8.0 "Сортировка" is not in the table, 8 is). */
  g_assert_cmpuint (reply->events->len, ==, 4);
  event = event_at (reply, 0);
  g_assert_cmpint (event->status, ==, WB_STATUS_IN_TRANSIT);
  g_assert_cmpstr (event->status_raw, ==, "1.1");
  g_assert_cmpint (event->occurred_at, ==, unix_us ("2015-07-09T15:08:00Z"));
  g_assert_false (event->zone_guessed);
  g_assert_cmpstr (event->occurred_at_raw, ==, "2015-07-09T18:08:00.000+03:00");
  g_assert_cmpstr (event->location_text, ==, "111555 Москва 555");
  g_assert_cmpstr (event->description, ==, "Единичный");
  g_assert_cmpstr (event->source, ==, "POST_RU");
  g_assert_cmpstr (event->carrier, ==, "POST_RU");
  g_assert_cmpstr (event->track_number, ==, "EA123456789RU");
  g_assert_true (g_str_has_prefix (event->event_id, "POST_RU:EA123456789RU:1.1@"));
  event = event_at (reply, 1);
  g_assert_cmpint (event->status, ==, WB_STATUS_IN_TRANSIT);
  g_assert_cmpstr (event->status_raw, ==, "8.0");
  event = event_at (reply, 2);
  g_assert_cmpint (event->status, ==, WB_STATUS_AVAILABLE_FOR_PICKUP);
  g_assert_cmpint (event->occurred_at, ==, unix_us ("2015-07-13T03:15:00Z"));
  event = event_at (reply, 3);
  g_assert_cmpint (event->status, ==, WB_STATUS_DELIVERED);
  g_assert_cmpstr (event->location_text, ==, "663300 Норильск Почтамт");
  g_assert_cmpstr (event->event_id, !=, event_at (reply, 2)->event_id);
  wb_carrier_reply_free (reply);
  g_clear_object (&driver);
  carrier_free (c);
}

static void
test_russian_post_errors (void)
{
  Carrier *c = carrier_new ();
  g_autoptr(WbCarrierTable) table = NULL;
  g_autoptr(WbCarrierDriver) driver = driver_for (c, RUSSIAN_POST, &table);
  const char *bad[] = {
    /* XML, but not SOAP */
    "<?xml version=\"1.0\"?><html><body>Service Unavailable</body></html>",
    /* SOAP 1.2 without the operation's answer */
    "<S:Envelope xmlns:S=\"http://www.w3.org/2003/05/soap-envelope\"><S:Body/></S:Envelope>",
    /* a record without its date */
    "<S:Envelope xmlns:S=\"http://www.w3.org/2003/05/soap-envelope\"><S:Body>"
    "<h:getOperationHistoryResponse xmlns:h=\"http://russianpost.org/operationhistory\" "
    "xmlns:d=\"http://russianpost.org/operationhistory/data\"><d:OperationHistoryData><d:historyRecord>"
    "<d:OperationParameters><d:OperType><d:Id>1</d:Id></d:OperType></d:OperationParameters>"
    "</d:historyRecord></d:OperationHistoryData></h:getOperationHistoryResponse></S:Body></S:Envelope>",
    /* a date that is not one */
    "<S:Envelope xmlns:S=\"http://www.w3.org/2003/05/soap-envelope\"><S:Body>"
    "<h:getOperationHistoryResponse xmlns:h=\"http://russianpost.org/operationhistory\" "
    "xmlns:d=\"http://russianpost.org/operationhistory/data\"><d:OperationHistoryData><d:historyRecord>"
    "<d:OperationParameters><d:OperType><d:Id>1</d:Id></d:OperType><d:OperDate>yesterday</d:OperDate>"
    "</d:OperationParameters></d:historyRecord></d:OperationHistoryData></h:getOperationHistoryResponse>"
    "</S:Body></S:Envelope>",
    /* an entity that would expand a billion times, were entities expanded */
    "<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">"
    "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\"><!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">]><l>&d;</l>",
    NULL,
  };
  WbCarrierReply *reply;

  /* A SOAP fault, with HTTP 500 as SOAP 1.2 has it: the check's error,
   * naming the carrier and the fault, never the password. */
  answer_file (c, SOUP_STATUS_INTERNAL_SERVER_ERROR, "russian-post-fault.xml");
  reply = fetch (driver, "EA123456789RU");
  assert_failed (reply, "POST_RU", "Authorization failed", "p&ss<w>rd");
  g_assert_nonnull (strstr (reply->error, "User authentication failed"));
  g_assert_cmpuint (reply->http_status, ==, 500);
  wb_carrier_reply_free (reply);

  /* An empty history: Russian Post does not know the number yet. */
  answer_text (c, SOUP_STATUS_OK,
               "<S:Envelope xmlns:S=\"http://www.w3.org/2003/05/soap-envelope\"><S:Body>"
               "<ns7:getOperationHistoryResponse xmlns:ns3=\"http://russianpost.org/operationhistory/data\" "
               "xmlns:ns7=\"http://russianpost.org/operationhistory\"><ns3:OperationHistoryData/>"
               "</ns7:getOperationHistoryResponse></S:Body></S:Envelope>", NULL);
  reply = fetch (driver, "EA123456789RU");
  g_assert_cmpint (reply->kind, ==, WB_CARRIER_REPLY_NOT_FOUND);
  wb_carrier_reply_free (reply);

  /* A 500 that is not SOAP is a failure too. */
  answer_text (c, SOUP_STATUS_INTERNAL_SERVER_ERROR, "Internal Server Error", NULL);
  reply = fetch (driver, "EA123456789RU");
  assert_failed (reply, "POST_RU", NULL, NULL);
  wb_carrier_reply_free (reply);

  assert_rate_limited (c, driver, "EA123456789RU");
  assert_malformed_fail (c, driver, "EA123456789RU", "POST_RU", "russian-post-history.xml", bad);
  g_clear_object (&driver);
  carrier_free (c);
}

/* ---- cdek -------------------------------------------------------------------------- */

#define CDEK \
  "[CDEK]\ndriver=cdek\nbase-url=http://127.0.0.1:@PORT@\nclient-id=EMscd6r9JnFiQ3bLoyjJY6eM78JrJceI\n" \
  "client-secret=PjLZkKBHEiLK3YsjtNrt3TGNG0ahs3kG\nstatus-map=cdek\n"
#define CDEK_SECRET "PjLZkKBHEiLK3YsjtNrt3TGNG0ahs3kG"

static void
test_cdek_order (void)
{
  Carrier *c = carrier_new ();
  g_autoptr(WbCarrierTable) table = NULL;
  g_autoptr(WbCarrierDriver) driver = driver_for (c, CDEK, &table);
  WbCarrierReply *reply;
  WbStatusEvent *event;

  answer_file (c, SOUP_STATUS_OK, "cdek-order.json");
  reply = fetch (driver, "1106207236");
  g_assert_cmpint (reply->kind, ==, WB_CARRIER_REPLY_OK);
  g_assert_cmpstr (c->seen_token_query, ==, "grant_type=client_credentials&client_id=EMscd6r9JnFiQ3bLoyjJY6eM78JrJceI"
                   "&client_secret=" CDEK_SECRET);
  g_assert_cmpstr (c->seen_method, ==, "GET");
  g_assert_cmpstr (c->seen_path, ==, "/v2/orders");
  g_assert_cmpstr (c->seen_query, ==, "cdek_number=1106207236");
  g_assert_cmpstr (c->seen_authorization, ==, "Bearer token-1");

  /* Six statuses, newest first in the answer, oldest first here. */
  g_assert_cmpuint (reply->events->len, ==, 6);
  event = event_at (reply, 0);
  g_assert_cmpstr (event->status_raw, ==, "CREATED");
  g_assert_cmpint (event->status, ==, WB_STATUS_INFO_RECEIVED);
  g_assert_cmpint (event->occurred_at, ==, unix_us ("2024-03-11T14:59:36Z"));
  g_assert_false (event->zone_guessed);
  g_assert_cmpstr (event->description, ==, "Создан");
  event = event_at (reply, 2);
  g_assert_cmpstr (event->status_raw, ==, "RECEIVED_AT_SHIPMENT_WAREHOUSE");
  g_assert_cmpint (event->status, ==, WB_STATUS_IN_TRANSIT);
  g_assert_cmpstr (event->location_text, ==, "Москва");
  event = event_at (reply, 4);
  g_assert_cmpint (event->status, ==, WB_STATUS_OUT_FOR_DELIVERY);
  event = event_at (reply, 5);
  g_assert_cmpint (event->status, ==, WB_STATUS_DELIVERED);
  g_assert_cmpint (event->occurred_at, ==, unix_us ("2024-03-15T07:19:48Z"));
  g_assert_cmpstr (event->location_text, ==, "Новосибирск");
  g_assert_cmpstr (event->source, ==, "CDEK");
  g_assert_true (g_str_has_prefix (event->event_id, "CDEK:1106207236:DELIVERED@"));
  wb_carrier_reply_free (reply);
  g_clear_object (&driver);
  carrier_free (c);
}

static void
test_cdek_token (void)
{
  Carrier *c = carrier_new ();
  g_autoptr(WbCarrierTable) table = NULL;
  g_autoptr(WbCarrierDriver) driver = driver_for (c, CDEK, &table);
  WbCarrierReply *reply;

  answer_file (c, SOUP_STATUS_OK, "cdek-order.json");

  /* Two checks at once wait for one token request; a third one later
   * uses the same token. */
  fetch_together (driver, "1106207236", "1106207237", 6);
  reply = fetch (driver, "1106207236");
  g_assert_cmpint (reply->kind, ==, WB_CARRIER_REPLY_OK);
  wb_carrier_reply_free (reply);
  g_assert_cmpuint (c->tokens_issued, ==, 1);
  g_assert_cmpuint (c->checks, ==, 3);
  g_assert_cmpstr (c->seen_authorization, ==, "Bearer token-1");

  /* A 401 on a token CDEK has dropped: a new token, the check again. */
  g_mutex_lock (&c->mutex);
  replace (&c->revoked, "token-1");
  g_mutex_unlock (&c->mutex);
  reply = fetch (driver, "1106207236");
  g_assert_cmpint (reply->kind, ==, WB_CARRIER_REPLY_OK);
  g_assert_cmpuint (reply->events->len, ==, 6);
  wb_carrier_reply_free (reply);
  g_assert_cmpuint (c->tokens_issued, ==, 2);
  g_assert_cmpuint (c->checks, ==, 5);
  g_assert_cmpstr (c->seen_authorization, ==, "Bearer token-2");

  /* Still refused with the new token: one renewal only, then the error. */
  g_mutex_lock (&c->mutex);
  c->refuse_all_tokens = TRUE;
  g_mutex_unlock (&c->mutex);
  reply = fetch (driver, "1106207236");
  assert_failed (reply, "CDEK", "401", CDEK_SECRET);
  wb_carrier_reply_free (reply);
  g_assert_cmpuint (c->tokens_issued, ==, 3);
  g_assert_cmpuint (c->checks, ==, 7);

  /* A token that lives one second is renewed once it has run out. */
  g_mutex_lock (&c->mutex);
  c->refuse_all_tokens = FALSE;
  c->token_expires_in = 1;
  g_mutex_unlock (&c->mutex);
  g_clear_object (&driver);
  g_clear_pointer (&table, g_object_unref);
  driver = driver_for (c, CDEK, &table);
  reply = fetch (driver, "1106207236");
  g_assert_cmpint (reply->kind, ==, WB_CARRIER_REPLY_OK);
  wb_carrier_reply_free (reply);
  g_assert_cmpuint (c->tokens_issued, ==, 4);
  g_usleep (1100 * 1000);
  reply = fetch (driver, "1106207236");
  g_assert_cmpint (reply->kind, ==, WB_CARRIER_REPLY_OK);
  wb_carrier_reply_free (reply);
  g_assert_cmpuint (c->tokens_issued, ==, 5);
  g_assert_cmpstr (c->seen_authorization, ==, "Bearer token-5");

  /* No token at all: the check's error, with OAuth's description. */
  g_mutex_lock (&c->mutex);
  c->token_status = SOUP_STATUS_UNAUTHORIZED;
  g_mutex_unlock (&c->mutex);
  g_usleep (1100 * 1000);
  reply = fetch (driver, "1106207236");
  assert_failed (reply, "CDEK", "Bad client credentials", CDEK_SECRET);
  g_assert_cmpuint (reply->http_status, ==, 401);
  wb_carrier_reply_free (reply);
  g_clear_object (&driver);
  carrier_free (c);
}

static void
test_cdek_errors (void)
{
  Carrier *c = carrier_new ();
  g_autoptr(WbCarrierTable) table = NULL;
  g_autoptr(WbCarrierDriver) driver = driver_for (c, CDEK, &table);
  const char *bad[] = {
    "{\"entity\":{\"uuid\":\"x\"}}",
    "{\"entity\":{\"statuses\":[{\"code\":\"DELIVERED\"}]}}",
    "{\"entity\":{\"statuses\":[{\"code\":\"DELIVERED\",\"date_time\":\"yesterday\"}]}}",
    "{\"entity\":{\"statuses\":[42]}}",
    "{\"entity\":[]}",
    NULL,
  };
  WbCarrierReply *reply;

  /* errors[] naming something else than a missing order: the check's error. */
  answer_file (c, SOUP_STATUS_BAD_REQUEST, "cdek-error.json");
  reply = fetch (driver, "1106207236");
  assert_failed (reply, "CDEK", "v2_internal_error", CDEK_SECRET);
  g_assert_nonnull (strstr (reply->error, "System error"));
  wb_carrier_reply_free (reply);

  /* …even when it comes with a 200. */
  answer_file (c, SOUP_STATUS_OK, "cdek-error.json");
  reply = fetch (driver, "1106207236");
  assert_failed (reply, "CDEK", "v2_internal_error", NULL);
  wb_carrier_reply_free (reply);

  /* A failed request of the order's past, listed in its requests[], is
   * history: the statuses still count. */
  {
    g_autofree char *order = read_fixture ("cdek-order.json");
    g_autoptr(GString) with_old_error = g_string_new (order);

    g_assert_cmpuint (g_string_replace (with_old_error, "\"state\": \"SUCCESSFUL\"",
                                        "\"state\": \"INVALID\", \"errors\": [{\"code\": \"v2_update_forbidden\", "
                                        "\"message\": \"Order can not be updated\"}]", 0), ==, 1);
    answer_text (c, SOUP_STATUS_OK, with_old_error->str, NULL);
    reply = fetch (driver, "1106207236");
    g_assert_cmpint (reply->kind, ==, WB_CARRIER_REPLY_OK);
    g_assert_cmpuint (reply->events->len, ==, 6);
    wb_carrier_reply_free (reply);
  }

  /* An order CDEK does not know: not found yet, not a failure. */
  answer_file (c, SOUP_STATUS_NOT_FOUND, "cdek-not-found.json");
  reply = fetch (driver, "1100000000");
  g_assert_cmpint (reply->kind, ==, WB_CARRIER_REPLY_NOT_FOUND);
  wb_carrier_reply_free (reply);

  answer_text (c, SOUP_STATUS_SERVICE_UNAVAILABLE, "<html>busy</html>", NULL);
  reply = fetch (driver, "1106207236");
  assert_failed (reply, "CDEK", "503", NULL);
  wb_carrier_reply_free (reply);

  assert_rate_limited (c, driver, "1106207236");
  assert_malformed_fail (c, driver, "1106207236", "CDEK", "cdek-order.json", bad);
  /* One token served every check above. */
  g_assert_cmpuint (c->tokens_issued, ==, 1);
  g_clear_object (&driver);
  carrier_free (c);
}

/* ---- correios ---------------------------------------------------------------------- */

/* Without status-map: the driver reads its own table, correios. */
#define CORREIOS \
  "[CORREIOS]\ndriver=correios\nbase-url=http://127.0.0.1:@PORT@/\napi-key=eyJhbGciOiJSUzUxMiJ9.e30.c2VjcmV0\n" \
  "number-format=s10\n"

static void
test_correios_rastro (void)
{
  Carrier *c = carrier_new ();
  g_autoptr(WbCarrierTable) table = NULL;
  g_autoptr(WbCarrierDriver) driver = driver_for (c, CORREIOS, &table);
  g_autoptr(GTimeZone) brasilia = g_time_zone_new_identifier ("America/Sao_Paulo");
  g_autoptr(GDateTime) delivered_at = g_date_time_new (brasilia, 2022, 3, 11, 17, 3, 0);
  WbCarrierReply *reply;
  WbStatusEvent *event;

  answer_file (c, SOUP_STATUS_OK, "correios-rastro.json");
  reply = fetch (driver, "DG049186226BR");
  g_assert_cmpint (reply->kind, ==, WB_CARRIER_REPLY_OK);
  g_assert_cmpstr (c->seen_method, ==, "GET");
  g_assert_cmpstr (c->seen_path, ==, "/srorastro/v1/objetos/DG049186226BR");
  g_assert_cmpstr (c->seen_query, ==, "resultado=T");
  g_assert_cmpstr (c->seen_authorization, ==, "Bearer eyJhbGciOiJSUzUxMiJ9.e30.c2VjcmV0");

  /* PO, RO, OEC, BDE: oldest first; local times kept and flagged. */
  g_assert_cmpuint (reply->events->len, ==, 4);
  event = event_at (reply, 0);
  g_assert_cmpstr (event->status_raw, ==, "PO.01");
  g_assert_cmpint (event->status, ==, WB_STATUS_IN_TRANSIT);
  g_assert_cmpstr (event->location_text, ==, "SAO PAULO/SP");
  g_assert_cmpstr (event->description, ==, "Objeto postado");
  event = event_at (reply, 1);
  g_assert_cmpstr (event->status_raw, ==, "RO.01");
  g_assert_cmpint (event->status, ==, WB_STATUS_IN_TRANSIT);
  g_assert_cmpstr (event->location_text, ==, "BRASILIA/DF");
  event = event_at (reply, 2);
  g_assert_cmpstr (event->status_raw, ==, "OEC.03");
  g_assert_cmpint (event->status, ==, WB_STATUS_OUT_FOR_DELIVERY);
  event = event_at (reply, 3);
  g_assert_cmpstr (event->status_raw, ==, "BDE.01");
  g_assert_cmpint (event->status, ==, WB_STATUS_DELIVERED);
  g_assert_true (event->zone_guessed);
  g_assert_cmpstr (event->occurred_at_raw, ==, "2022-03-11T17:03:00");
  g_assert_cmpint (event->occurred_at, ==, g_date_time_to_unix (delivered_at) * G_USEC_PER_SEC);
  g_assert_cmpint (event->occurred_at, ==, unix_us ("2022-03-11T20:03:00Z"));
  g_assert_cmpstr (event->location_text, ==, "XAPURI/AC");
  g_assert_cmpstr (event->event_id, ==, "CORREIOS:DG049186226BR:BDE.01@2022-03-11T17:03:00");
  wb_carrier_reply_free (reply);
  g_clear_object (&driver);
  carrier_free (c);
}

/* With the Correios user and access code the driver gets its own tokens:
 * HTTP Basic on the token API, the token kept across checks (one request
 * for checks that start together), renewed once on a 401 and when
 * expiraEm comes near; Correios' refusal named; no credentials at all is
 * the check's error. */
#define CORREIOS_LOGIN \
  "[CORREIOS]\ndriver=correios\nbase-url=http://127.0.0.1:@PORT@\nlogin=waybill\n" \
  "password=Acc3ss-C0de&42\nnumber-format=s10\n"

static void
test_correios_token (void)
{
  Carrier *c = carrier_new ();
  g_autoptr(WbCarrierTable) table = NULL;
  g_autoptr(WbCarrierDriver) driver = driver_for (c, CORREIOS_LOGIN, &table);
  g_autofree char *basic = g_base64_encode ((const guchar *) "waybill:Acc3ss-C0de&42", strlen ("waybill:Acc3ss-C0de&42"));
  g_autofree char *expected_basic = g_strconcat ("Basic ", basic, NULL);
  WbCarrierReply *reply;

  answer_file (c, SOUP_STATUS_OK, "correios-rastro.json");
  c->token_expires_in = 24 * 3600;
  fetch_together (driver, "DG049186226BR", "DG049186226BR", 4);
  reply = fetch (driver, "DG049186226BR");
  g_assert_cmpint (reply->kind, ==, WB_CARRIER_REPLY_OK);
  g_assert_cmpuint (reply->events->len, ==, 4);
  wb_carrier_reply_free (reply);
  g_assert_cmpuint (c->tokens_issued, ==, 1);
  g_assert_cmpuint (c->checks, ==, 3);
  g_assert_cmpstr (c->seen_token_authorization, ==, expected_basic);
  g_assert_cmpstr (c->seen_authorization, ==, "Bearer ctoken-1");

  /* Refused before its expiry: a new token, the check again. */
  g_mutex_lock (&c->mutex);
  replace (&c->revoked, "ctoken-1");
  g_mutex_unlock (&c->mutex);
  reply = fetch (driver, "DG049186226BR");
  g_assert_cmpint (reply->kind, ==, WB_CARRIER_REPLY_OK);
  wb_carrier_reply_free (reply);
  g_assert_cmpuint (c->tokens_issued, ==, 2);
  g_assert_cmpstr (c->seen_authorization, ==, "Bearer ctoken-2");

  /* A token that expires in two seconds (Brasília's wall clock) is renewed
   * once it is near its end. */
  g_mutex_lock (&c->mutex);
  c->token_expires_in = 2;
  g_mutex_unlock (&c->mutex);
  g_clear_object (&driver);
  g_clear_pointer (&table, g_object_unref);
  driver = driver_for (c, CORREIOS_LOGIN, &table);
  reply = fetch (driver, "DG049186226BR");
  g_assert_cmpint (reply->kind, ==, WB_CARRIER_REPLY_OK);
  wb_carrier_reply_free (reply);
  g_assert_cmpuint (c->tokens_issued, ==, 3);
  g_usleep (2100 * 1000);
  reply = fetch (driver, "DG049186226BR");
  g_assert_cmpint (reply->kind, ==, WB_CARRIER_REPLY_OK);
  wb_carrier_reply_free (reply);
  g_assert_cmpuint (c->tokens_issued, ==, 4);
  g_assert_cmpstr (c->seen_authorization, ==, "Bearer ctoken-4");

  /* No token: Correios' own words, and never the access code. */
  g_mutex_lock (&c->mutex);
  c->token_status = SOUP_STATUS_UNAUTHORIZED;
  g_mutex_unlock (&c->mutex);
  g_usleep (2100 * 1000);
  reply = fetch (driver, "DG049186226BR");
  assert_failed (reply, "CORREIOS", "Usuário ou código de acesso inválido", "Acc3ss-C0de");
  g_assert_nonnull (strstr (reply->error, "no token (HTTP 401)"));
  wb_carrier_reply_free (reply);
  g_clear_object (&driver);
  g_clear_pointer (&table, g_object_unref);

  /* Neither login and password nor api-key. */
  driver = driver_for (c, "[CORREIOS]\ndriver=correios\nbase-url=http://127.0.0.1:@PORT@\n", &table);
  reply = fetch (driver, "DG049186226BR");
  assert_failed (reply, "CORREIOS", "no credentials", "Acc3ss-C0de");
  wb_carrier_reply_free (reply);
  g_clear_object (&driver);
  carrier_free (c);
}

static void
test_correios_errors (void)
{
  Carrier *c = carrier_new ();
  g_autoptr(WbCarrierTable) table = NULL;
  g_autoptr(WbCarrierDriver) driver = driver_for (c, CORREIOS, &table);
  const char *bad[] = {
    "{\"objetos\":{}}",
    "{\"objetos\":[{\"eventos\":[{\"codigo\":\"BDE\",\"tipo\":\"01\"}]}]}",
    "{\"objetos\":[{\"eventos\":[{\"codigo\":\"BDE\",\"tipo\":\"01\",\"dtHrCriado\":\"11/03/2022 17:03\"}]}]}",
    "{\"objetos\":[{\"eventos\":[17]}]}",
    NULL,
  };
  WbCarrierReply *reply;

  /* A failed attempt with its reason; a delivery event of a type the table
   * lacks is PENDING through the codigo's row; an unknown codigo is
   * skipped, the rest still counts. */
  answer_text (c, SOUP_STATUS_OK,
               "{\"objetos\":[{\"codObjeto\":\"DG049186226BR\",\"eventos\":["
               "{\"codigo\":\"XYZ\",\"tipo\":\"01\",\"dtHrCriado\":\"2022-03-12T09:00:00\"},"
               "{\"codigo\":\"BDE\",\"tipo\":\"99\",\"dtHrCriado\":\"2022-03-11T18:00:00\"},"
               "{\"codigo\":\"BDE\",\"tipo\":\"20\",\"dtHrCriado\":\"2022-03-11T17:03:00\","
               "\"descricao\":\"Carteiro não atendido\"}]}]}", NULL);
  reply = fetch (driver, "DG049186226BR");
  g_assert_cmpint (reply->kind, ==, WB_CARRIER_REPLY_OK);
  g_assert_cmpuint (reply->events->len, ==, 2);
  g_assert_cmpstr (event_at (reply, 0)->status_raw, ==, "BDE.20");
  g_assert_cmpint (event_at (reply, 0)->status, ==, WB_STATUS_FAILED_ATTEMPT);
  g_assert_cmpstr (event_at (reply, 0)->reason, ==, "recipient_unavailable");
  g_assert_cmpstr (event_at (reply, 1)->status_raw, ==, "BDE.99");
  g_assert_cmpint (event_at (reply, 1)->status, ==, WB_STATUS_PENDING);
  wb_carrier_reply_free (reply);

  /* The gateway's error body: the check's error with Correios' words. */
  answer_file (c, SOUP_STATUS_FORBIDDEN, "correios-error.json");
  reply = fetch (driver, "DG049186226BR");
  assert_failed (reply, "CORREIOS", "Acesso não autorizado", "c2VjcmV0");
  wb_carrier_reply_free (reply);

  /* SRO-020: not known yet. */
  answer_file (c, SOUP_STATUS_OK, "correios-not-found.json");
  reply = fetch (driver, "AA123456789BR");
  g_assert_cmpint (reply->kind, ==, WB_CARRIER_REPLY_NOT_FOUND);
  wb_carrier_reply_free (reply);

  /* Any other mensagem is the check's error. */
  answer_text (c, SOUP_STATUS_OK, "{\"objetos\":[{\"codObjeto\":\"AA123456789BR\",\"mensagem\":"
               "\"SRO-019: Objeto inválido\"}]}", NULL);
  reply = fetch (driver, "AA123456789BR");
  assert_failed (reply, "CORREIOS", "SRO-019", NULL);
  wb_carrier_reply_free (reply);

  assert_rate_limited (c, driver, "DG049186226BR");
  assert_malformed_fail (c, driver, "DG049186226BR", "CORREIOS", "correios-rastro.json", bad);
  g_clear_object (&driver);
  carrier_free (c);
}

/* The factory knows the three, and the carriers file the daemon ships
 * still loads with their examples in it. */
static void
test_factory (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(WbCarrierTable) shipped = wb_carrier_table_load (NULL, &error);
  g_autoptr(WbStatusMap) map = wb_status_map_load_default (&error);
  const char *tables[] = { "russian-post", "cdek", "correios", NULL };

  g_assert_no_error (error);
  g_assert_nonnull (shipped);
  for (guint i = 0; tables[i] != NULL; i++)
    {
      g_auto(GStrv) codes = wb_status_map_list_codes (map, tables[i]);

      g_assert_nonnull (codes);
      g_assert_cmpuint (g_strv_length (codes), >, 10);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/carrier-drivers/factory", test_factory);
  g_test_add_func ("/carrier-drivers/russian-post/history", test_russian_post_history);
  g_test_add_func ("/carrier-drivers/russian-post/errors", test_russian_post_errors);
  g_test_add_func ("/carrier-drivers/cdek/order", test_cdek_order);
  g_test_add_func ("/carrier-drivers/cdek/token", test_cdek_token);
  g_test_add_func ("/carrier-drivers/cdek/errors", test_cdek_errors);
  g_test_add_func ("/carrier-drivers/correios/rastro", test_correios_rastro);
  g_test_add_func ("/carrier-drivers/correios/errors", test_correios_errors);
  g_test_add_func ("/carrier-drivers/correios/token", test_correios_token);
  return g_test_run ();
}
