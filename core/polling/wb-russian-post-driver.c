// SPDX-License-Identifier: GPL-3.0-or-later
/* Russian Post, single access (единичный доступ): the SOAP 1.2 operation
 * getOperationHistory, POSTed to {base-url}/rtm34 with the login and
 * password of the carriers file in its AuthorizationHeader, MessageType 0
 * and Language RUS. Each historyRecord's OperationParameters carry the
 * operation type and attribute (OperType/OperAttr Id), mapped as "type.attr"
 * through data/status-maps/russian-post.tsv with the type alone as the
 * fallback, and OperDate with its offset. Both envelopes go through
 * libxml2: the request so that a password with "<" or "&" stays a
 * password, the answer so that namespaces, CDATA and entities are XML's
 * business rather than ours. A SOAP fault is the check's error; an answer
 * without any record means Russian Post does not know the number yet. */

#include "config.h"

#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "wb-carrier-exchange-private.h"
#include "wb-polling.h"

#define SOAP12_NS  "http://www.w3.org/2003/05/soap-envelope"
#define SOAP11_NS  "http://schemas.xmlsoap.org/soap/envelope/"
#define HISTORY_NS "http://russianpost.org/operationhistory"
#define DATA_NS    "http://russianpost.org/operationhistory/data"
/* The documented answer is a few kilobytes per operation; anything near
 * this is not an operation history. */
#define MAX_ANSWER (16 * 1024 * 1024)

G_DEFINE_AUTOPTR_CLEANUP_FUNC (xmlDoc, xmlFreeDoc)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (xmlXPathContext, xmlXPathFreeContext)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (xmlXPathObject, xmlXPathFreeObject)

struct _WbRussianPostDriver
{
  GObject      parent_instance;
  char        *code;
  char        *endpoint;
  char        *login;
  char        *password;   /* secret: in the request body only, never logged */
  char        *status_map;
  WbStatusMap *map;
  SoupSession *session;
};

G_DECLARE_FINAL_TYPE (WbRussianPostDriver, _wb_russian_post_driver, WB, RUSSIAN_POST_DRIVER, GObject)

static void driver_iface_init (WbCarrierDriverInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (WbRussianPostDriver, _wb_russian_post_driver, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (WB_TYPE_CARRIER_DRIVER, driver_iface_init))

static void
_wb_russian_post_driver_finalize (GObject *object)
{
  WbRussianPostDriver *self = WB_RUSSIAN_POST_DRIVER (object);

  g_clear_object (&self->session);
  g_clear_pointer (&self->map, wb_status_map_unref);
  g_free (self->code);
  g_free (self->endpoint);
  g_free (self->login);
  g_free (self->password);
  g_free (self->status_map);
  G_OBJECT_CLASS (_wb_russian_post_driver_parent_class)->finalize (object);
}

static void
_wb_russian_post_driver_class_init (WbRussianPostDriverClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = _wb_russian_post_driver_finalize;
  /* libxml2 wants its globals set up once, before threads use it. */
  xmlInitParser ();
}

static void
_wb_russian_post_driver_init (WbRussianPostDriver *self)
{
}

/* ---- the request ------------------------------------------------------------ */

static GBytes *
build_request (WbRussianPostDriver *self,
               const char          *track_number)
{
  g_autoptr(xmlDoc) doc = xmlNewDoc (BAD_CAST "1.0");
  xmlNode *envelope = xmlNewNode (NULL, BAD_CAST "Envelope");
  xmlNs *soap = xmlNewNs (envelope, BAD_CAST SOAP12_NS, BAD_CAST "soap");
  xmlNs *history = xmlNewNs (envelope, BAD_CAST HISTORY_NS, BAD_CAST "oper");
  xmlNs *data = xmlNewNs (envelope, BAD_CAST DATA_NS, BAD_CAST "data");
  xmlNode *body, *call, *request, *auth;
  xmlChar *text = NULL;
  int length = 0;

  xmlSetNs (envelope, soap);
  xmlDocSetRootElement (doc, envelope);
  xmlNewChild (envelope, soap, BAD_CAST "Header", NULL);
  body = xmlNewChild (envelope, soap, BAD_CAST "Body", NULL);
  call = xmlNewChild (body, history, BAD_CAST "getOperationHistory", NULL);
  request = xmlNewChild (call, data, BAD_CAST "OperationHistoryRequest", NULL);
  xmlNewTextChild (request, data, BAD_CAST "Barcode", BAD_CAST track_number);
  xmlNewTextChild (request, data, BAD_CAST "MessageType", BAD_CAST "0");
  xmlNewTextChild (request, data, BAD_CAST "Language", BAD_CAST "RUS");
  auth = xmlNewChild (call, data, BAD_CAST "AuthorizationHeader", NULL);
  xmlNewNsProp (auth, soap, BAD_CAST "mustUnderstand", BAD_CAST "1");
  xmlNewTextChild (auth, data, BAD_CAST "login", BAD_CAST (self->login ? self->login : ""));
  xmlNewTextChild (auth, data, BAD_CAST "password", BAD_CAST (self->password ? self->password : ""));
  xmlDocDumpMemoryEnc (doc, &text, &length, "UTF-8");
  return g_bytes_new_with_free_func (text, length, (GDestroyNotify) xmlFree, text);
}

/* ---- the answer ------------------------------------------------------------- */

static char *
node_text (xmlXPathContext *xpath,
           xmlNode         *node,
           const char      *path)
{
  g_autoptr(xmlXPathObject) found = xmlXPathNodeEval (node, BAD_CAST path, xpath);
  xmlChar *content;
  char *text;

  if (found == NULL || found->nodesetval == NULL || found->nodesetval->nodeNr == 0)
    return NULL;
  content = xmlNodeGetContent (found->nodesetval->nodeTab[0]);
  text = content ? g_strstrip (g_strdup ((const char *) content)) : NULL;
  xmlFree (content);
  if (text != NULL && *text == '\0')
    g_clear_pointer (&text, g_free);
  return text;
}

static WbCarrierReply *
read_fault (WbRussianPostDriver *self,
            xmlXPathContext     *xpath,
            xmlNode             *fault)
{
  /* SOAP 1.2 says Reason/Text, SOAP 1.1 faultstring; Russian Post puts
   * its own words (AuthorizationFaultReason, OperationHistoryFaultReason…)
   * in the detail. */
  g_autofree char *reason = node_text (xpath, fault, "s12:Reason/s12:Text | faultstring");
  g_autofree char *detail = node_text (xpath, fault, "s12:Detail/* | detail/*");

  return _wb_carrier_reply_failed ("%s: SOAP fault: %s%s%s%s", self->code, reason ? reason : "(no reason)",
                                   detail ? " (" : "", detail ? detail : "", detail ? ")" : "");
}

static char *
record_location (xmlXPathContext *xpath,
                 xmlNode         *record)
{
  g_autofree char *place = node_text (xpath, record, "d:AddressParameters/d:OperationAddress/d:Description");
  g_autofree char *index = node_text (xpath, record, "d:AddressParameters/d:OperationAddress/d:Index");

  if (place != NULL && index != NULL)
    return g_strdup_printf ("%s %s", index, place);
  return g_strdup (place ? place : index);
}

/* One historyRecord: TRUE with *out_event NULL for an operation the map
 * does not know (skipped, logged), FALSE when the record is malformed. */
static gboolean
read_record (WbRussianPostDriver  *self,
             xmlXPathContext      *xpath,
             xmlNode              *record,
             const char           *track_number,
             WbStatusEvent       **out_event,
             GError              **error)
{
  g_autoptr(WbStatusEvent) event = g_new0 (WbStatusEvent, 1);
  g_autofree char *type = node_text (xpath, record, "d:OperationParameters/d:OperType/d:Id");
  g_autofree char *attribute = node_text (xpath, record, "d:OperationParameters/d:OperAttr/d:Id");
  g_autofree char *date = node_text (xpath, record, "d:OperationParameters/d:OperDate");
  g_autofree char *code = NULL;

  *out_event = NULL;
  if (type == NULL || date == NULL)
    {
      g_set_error (error, WB_POLLING_ERROR, WB_POLLING_ERROR_CARRIER,
                   "a historyRecord without OperType/Id or OperDate");
      return FALSE;
    }
  if (!_wb_carrier_event_set_time (event, date, NULL, error))
    return FALSE;
  code = attribute ? g_strdup_printf ("%s.%s", type, attribute) : g_strdup (type);
  if (!_wb_carrier_event_map (event, self->map, self->status_map, code, type))
    {
      g_message ("carrier %s: operation %s is not in status map %s; skipped", self->code, code, self->status_map);
      return TRUE;
    }
  event->description = node_text (xpath, record, "d:OperationParameters/d:OperAttr/d:Name");
  if (event->description == NULL)
    event->description = node_text (xpath, record, "d:OperationParameters/d:OperType/d:Name");
  event->location_text = record_location (xpath, record);
  event->event_id = g_strdup_printf ("%s:%s:%s@%s", self->code, track_number, code, date);
  event->source = g_strdup (self->code);
  event->carrier = g_strdup (self->code);
  event->track_number = g_strdup (track_number);
  *out_event = g_steal_pointer (&event);
  return TRUE;
}

static xmlXPathContext *
new_xpath (xmlDoc *doc)
{
  xmlXPathContext *xpath = xmlXPathNewContext (doc);

  xmlXPathRegisterNs (xpath, BAD_CAST "s12", BAD_CAST SOAP12_NS);
  xmlXPathRegisterNs (xpath, BAD_CAST "s11", BAD_CAST SOAP11_NS);
  xmlXPathRegisterNs (xpath, BAD_CAST "h", BAD_CAST HISTORY_NS);
  xmlXPathRegisterNs (xpath, BAD_CAST "d", BAD_CAST DATA_NS);
  return xpath;
}

static WbCarrierReply *
read_envelope (WbRussianPostDriver *self,
               const char          *track_number,
               xmlDoc              *doc)
{
  g_autoptr(xmlXPathContext) xpath = new_xpath (doc);
  g_autoptr(xmlXPathObject) faults = xmlXPathEvalExpression (BAD_CAST "/s12:Envelope/s12:Body/s12:Fault"
                                                             " | /s11:Envelope/s11:Body/s11:Fault", xpath);
  g_autoptr(xmlXPathObject) answer = NULL;
  g_autoptr(xmlXPathObject) records = NULL;
  g_autoptr(WbCarrierReply) reply = NULL;
  g_autoptr(GError) error = NULL;

  if (faults != NULL && faults->nodesetval != NULL && faults->nodesetval->nodeNr > 0)
    return read_fault (self, xpath, faults->nodesetval->nodeTab[0]);
  answer = xmlXPathEvalExpression (BAD_CAST "/s12:Envelope/s12:Body/h:getOperationHistoryResponse"
                                   "/d:OperationHistoryData", xpath);
  if (answer == NULL || answer->nodesetval == NULL || answer->nodesetval->nodeNr == 0)
    return _wb_carrier_reply_failed ("%s: unreadable answer: no getOperationHistoryResponse in a SOAP 1.2 envelope",
                                     self->code);
  records = xmlXPathNodeEval (answer->nodesetval->nodeTab[0], BAD_CAST "d:historyRecord", xpath);
  if (records == NULL || records->nodesetval == NULL || records->nodesetval->nodeNr == 0)
    return wb_carrier_reply_new (WB_CARRIER_REPLY_NOT_FOUND);
  reply = wb_carrier_reply_new (WB_CARRIER_REPLY_OK);
  for (int i = 0; i < records->nodesetval->nodeNr; i++)
    {
      WbStatusEvent *event = NULL;

      if (!read_record (self, xpath, records->nodesetval->nodeTab[i], track_number, &event, &error))
        return _wb_carrier_reply_failed ("%s: unreadable answer: record %d: %s", self->code, i + 1, error->message);
      if (event != NULL)
        g_ptr_array_add (reply->events, event);
    }
  _wb_carrier_events_sort (reply->events);
  return g_steal_pointer (&reply);
}

static WbCarrierReply *
answer_body (gpointer     driver,
             const char  *track_number,
             SoupMessage *message,
             GBytes      *body)
{
  WbRussianPostDriver *self = driver;
  guint status = soup_message_get_status (message);
  gsize length;
  const char *data = g_bytes_get_data (body, &length);
  g_autoptr(xmlDoc) doc = NULL;

  /* Faults come with a 500 (SOAP 1.2 §7.5.1); a 429 or a 404 is the web
   * server's, before any SOAP. */
  if (status != SOUP_STATUS_OK && status != SOUP_STATUS_INTERNAL_SERVER_ERROR)
    return _wb_carrier_reply_for_status (message, self->code);
  if (length == 0 || length > MAX_ANSWER)
    return _wb_carrier_reply_failed ("%s: unreadable answer (HTTP %u, %" G_GSIZE_FORMAT " bytes)", self->code,
                                     status, length);
  /* No network access and no entity substitution: the answer is data. */
  doc = xmlReadMemory (data, (int) length, "getOperationHistory.xml", NULL,
                       XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  if (doc == NULL || xmlDocGetRootElement (doc) == NULL)
    return _wb_carrier_reply_failed ("%s: unreadable answer: not XML (HTTP %u)", self->code, status);
  return read_envelope (self, track_number, doc);
}

static void
fetch_async (WbCarrierDriver     *driver,
             const char          *track_number,
             GCancellable        *cancellable,
             GAsyncReadyCallback  callback,
             gpointer             user_data)
{
  WbRussianPostDriver *self = WB_RUSSIAN_POST_DRIVER (driver);
  g_autoptr(SoupMessage) message = soup_message_new ("POST", self->endpoint);
  g_autoptr(GBytes) request = NULL;

  if (message == NULL)
    {
      g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

      g_task_return_pointer (task, _wb_carrier_reply_failed ("%s: base-url does not make a URI", self->code),
                             (GDestroyNotify) wb_carrier_reply_free);
      return;
    }
  request = build_request (self, track_number);
  soup_message_set_request_body_from_bytes (message, "application/soap+xml; charset=utf-8", request);
  _wb_carrier_exchange_async (self, self->session, message, track_number, answer_body, cancellable, callback,
                              user_data);
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
_wb_russian_post_driver_new (const WbCarrierConfig *config,
                             WbStatusMap           *map)
{
  WbRussianPostDriver *self = g_object_new (_wb_russian_post_driver_get_type (), NULL);
  g_autofree char *base = g_strdup (config->base_url);

  /* base-url is the service's root; a trailing slash is forgiven. */
  while (g_str_has_suffix (base, "/"))
    base[strlen (base) - 1] = '\0';
  self->code = g_strdup (config->code);
  self->endpoint = g_strconcat (base, "/rtm34", NULL);
  self->login = g_strdup (config->login);
  self->password = g_strdup (config->password);
  self->status_map = g_strdup (_wb_carrier_status_table (config, "russian-post"));
  self->map = wb_status_map_ref (map);
  self->session = _wb_carrier_session_new (config);
  return WB_CARRIER_DRIVER (self);
}
