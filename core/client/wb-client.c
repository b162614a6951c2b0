// SPDX-License-Identifier: GPL-3.0-or-later
/* REST over one SoupSession. Every answer goes through core/json's guarded
 * parser before json-glib builds a tree: the server is outside input like
 * any other. */

#include "config.h"

#include <string.h>

#include "wb-client-json-private.h"
#include "wb-client-private.h"
#include "wb-json-writer.h"
#include "wb-live-vehicle-reader.h"
#include "wb-time.h"

#define DEFAULT_TIMEOUT_MS 30000

/* ---- the error domain --------------------------------------------------- */

typedef struct
{
  char *code;
  char *field;
  guint status;
} WbClientErrorPrivate;

static void
wb_client_error_private_init (WbClientErrorPrivate *priv)
{
}

static void
wb_client_error_private_copy (const WbClientErrorPrivate *src,
                              WbClientErrorPrivate       *dest)
{
  dest->code = g_strdup (src->code);
  dest->field = g_strdup (src->field);
  dest->status = src->status;
}

static void
wb_client_error_private_clear (WbClientErrorPrivate *priv)
{
  g_clear_pointer (&priv->code, g_free);
  g_clear_pointer (&priv->field, g_free);
}

G_DEFINE_EXTENDED_ERROR (WbClientError, wb_client_error)

const char *
wb_client_error_get_code (const GError *error)
{
  g_return_val_if_fail (error != NULL, NULL);
  return error->domain == WB_CLIENT_ERROR ? wb_client_error_get_private (error)->code : NULL;
}

const char *
wb_client_error_get_field (const GError *error)
{
  g_return_val_if_fail (error != NULL, NULL);
  return error->domain == WB_CLIENT_ERROR ? wb_client_error_get_private (error)->field : NULL;
}

guint
wb_client_error_get_status (const GError *error)
{
  g_return_val_if_fail (error != NULL, 0);
  return error->domain == WB_CLIENT_ERROR ? wb_client_error_get_private (error)->status : 0;
}

static WbClientError
error_for_status (guint status)
{
  switch (status)
    {
    case SOUP_STATUS_UNAUTHORIZED:
      return WB_CLIENT_ERROR_UNAUTHORIZED;
    case SOUP_STATUS_FORBIDDEN:
      return WB_CLIENT_ERROR_FORBIDDEN;
    case SOUP_STATUS_NOT_FOUND:
      return WB_CLIENT_ERROR_NOT_FOUND;
    case SOUP_STATUS_SERVICE_UNAVAILABLE:
      return WB_CLIENT_ERROR_UNAVAILABLE;
    default:
      if (status >= 400 && status < 500)
        return WB_CLIENT_ERROR_BAD_REQUEST;
      return status >= 500 ? WB_CLIENT_ERROR_SERVER : WB_CLIENT_ERROR_INVALID_RESPONSE;
    }
}

/* Some answers name the field only in the message ("from: must be before
 * to"): the path before the first ": ", when it looks like one. */
static char *
field_from_message (const char *message)
{
  const char *colon = strstr (message, ": ");

  if (colon == NULL || colon == message)
    return NULL;
  for (const char *p = message; p < colon; p++)
    if (!g_ascii_isalnum (*p) && strchr ("_.[]", *p) == NULL)
      return NULL;
  return g_strndup (message, colon - message);
}

static GError *
api_error_new (guint       status,
               const char *code,
               const char *field,
               const char *message)
{
  GError *error = g_error_new_literal (WB_CLIENT_ERROR, error_for_status (status), message);
  WbClientErrorPrivate *priv = wb_client_error_get_private (error);

  priv->status = status;
  priv->code = g_strdup (code);
  priv->field = field ? g_strdup (field) : (g_strcmp0 (code, "invalid_field") == 0 ? field_from_message (message) : NULL);
  return error;
}

/* {"error":{"code","message","field"?}}; anything else (a proxy's HTML
 * page) is described by its status. */
static GError *
error_from_answer (SoupMessage *message,
                   GBytes      *body)
{
  const WbJsonLimits limits = { 64 * 1024, 8 };
  guint status = soup_message_get_status (message);
  g_autoptr(WbJsonReader) reader = wb_json_reader_new_from_bytes (body, &limits, NULL);
  g_autoptr(WbJsonReader) inner = reader ? wb_json_reader_get_object_member (reader, "error", TRUE, NULL) : NULL;
  const char *code = NULL;
  const char *text = NULL;
  const char *field = NULL;

  if (inner != NULL
      && wb_json_reader_peek_string (inner, "code", TRUE, 64, &code, NULL)
      && wb_json_reader_peek_string (inner, "message", TRUE, 0, &text, NULL)
      && wb_json_reader_peek_string (inner, "field", FALSE, 256, &field, NULL))
    return api_error_new (status, code, field, text);
  else
    {
      g_autofree char *fallback = g_strdup_printf ("HTTP %u %s", status, soup_message_get_reason_phrase (message));

      return api_error_new (status, NULL, NULL, fallback);
    }
}

static GError *
invalid_response (const char   *what,
                  const GError *cause)
{
  return g_error_new (WB_CLIENT_ERROR, WB_CLIENT_ERROR_INVALID_RESPONSE,
                      "The server's answer to %s is not as the API says: %s", what, cause->message);
}

/* ---- the client ----------------------------------------------------------- */

struct _WbClient
{
  GObject      parent_instance;
  SoupSession *session;
  char        *base_url;   /* without a trailing slash */
  char        *token;
  guint        timeout_ms;
};

G_DEFINE_FINAL_TYPE (WbClient, wb_client, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_BASE_URL,
  PROP_TOKEN,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
wb_client_finalize (GObject *object)
{
  WbClient *self = WB_CLIENT (object);

  g_clear_object (&self->session);
  g_clear_pointer (&self->base_url, g_free);
  g_clear_pointer (&self->token, g_free);

  G_OBJECT_CLASS (wb_client_parent_class)->finalize (object);
}

static void
wb_client_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  WbClient *self = WB_CLIENT (object);

  switch (prop_id)
    {
    case PROP_BASE_URL:
      g_value_set_string (value, self->base_url);
      break;
    case PROP_TOKEN:
      g_value_set_string (value, self->token);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_client_set_property (GObject      *object,
                        guint         prop_id,
                        const GValue *value,
                        GParamSpec   *pspec)
{
  WbClient *self = WB_CLIENT (object);
  const char *url;

  switch (prop_id)
    {
    case PROP_BASE_URL:
      url = g_value_get_string (value);
      self->base_url = g_strdup (url ? url : "http://127.0.0.1:8080");
      while (g_str_has_suffix (self->base_url, "/"))
        self->base_url[strlen (self->base_url) - 1] = '\0';
      break;
    case PROP_TOKEN:
      wb_client_set_token (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_client_class_init (WbClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = wb_client_finalize;
  object_class->get_property = wb_client_get_property;
  object_class->set_property = wb_client_set_property;

  properties[PROP_BASE_URL] =
    g_param_spec_string ("base-url", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_TOKEN] =
    g_param_spec_string ("token", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
wb_client_init (WbClient *self)
{
  /* No session-wide I/O timeout: it would also cut a quiet WebSocket.
   * Requests get their own (wb_client_set_timeout()). */
  self->session = soup_session_new_with_options ("user-agent", "Waybill/" PACKAGE_VERSION, NULL);
  self->timeout_ms = DEFAULT_TIMEOUT_MS;
}

/**
 * wb_client_new:
 * @base_url: the server, e.g. "http://127.0.0.1:8080"
 * @token: (nullable): a JWT sent as "Authorization: Bearer …"
 */
WbClient *
wb_client_new (const char *base_url,
               const char *token)
{
  g_return_val_if_fail (base_url != NULL, NULL);

  return g_object_new (WB_TYPE_CLIENT, "base-url", base_url, "token", token, NULL);
}

const char *
wb_client_get_base_url (WbClient *self)
{
  g_return_val_if_fail (WB_IS_CLIENT (self), NULL);
  return self->base_url;
}

const char *
wb_client_get_token (WbClient *self)
{
  g_return_val_if_fail (WB_IS_CLIENT (self), NULL);
  return self->token;
}

void
wb_client_set_token (WbClient   *self,
                     const char *token)
{
  g_return_if_fail (WB_IS_CLIENT (self));

  if (g_strcmp0 (self->token, token) == 0)
    return;
  g_free (self->token);
  self->token = g_strdup (token);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TOKEN]);
}

void
wb_client_set_timeout (WbClient *self,
                       guint     timeout_ms)
{
  g_return_if_fail (WB_IS_CLIENT (self));
  g_return_if_fail (timeout_ms > 0);
  self->timeout_ms = timeout_ms;
}

guint
wb_client_get_timeout (WbClient *self)
{
  g_return_val_if_fail (WB_IS_CLIENT (self), 0);
  return self->timeout_ms;
}

SoupSession *
_wb_client_get_session (WbClient *self)
{
  return self->session;
}

static void
add_token (WbClient    *self,
           SoupMessage *message)
{
  g_autofree char *bearer = NULL;

  if (self->token == NULL || *self->token == '\0')
    return;
  bearer = g_strconcat ("Bearer ", self->token, NULL);
  soup_message_headers_replace (soup_message_get_request_headers (message), "Authorization", bearer);
}

SoupMessage *
_wb_client_new_websocket_message (WbClient   *self,
                                  const char *path)
{
  const char *rest = self->base_url;
  g_autofree char *uri = NULL;
  SoupMessage *message;

  if (g_str_has_prefix (rest, "https:"))
    uri = g_strconcat ("wss:", rest + strlen ("https:"), path, NULL);
  else
    uri = g_strconcat ("ws:", rest + (g_str_has_prefix (rest, "http:") ? strlen ("http:") : 0), path, NULL);
  message = soup_message_new ("GET", uri);
  if (message != NULL)
    add_token (self, message);
  return message;
}

/* ---- one request ------------------------------------------------------------ */

typedef struct
{
  SoupMessage  *message;
  GCancellable *cancellable;          /* ours: the caller's and the timeout both cancel it */
  GCancellable *caller_cancellable;
  gulong        caller_handler;
  GSource      *timeout;
  gboolean      timed_out;
} Request;

static void
request_free (Request *request)
{
  if (request->caller_cancellable != NULL)
    g_cancellable_disconnect (request->caller_cancellable, request->caller_handler);
  if (request->timeout != NULL)
    {
      g_source_destroy (request->timeout);
      g_source_unref (request->timeout);
    }
  g_clear_object (&request->caller_cancellable);
  g_clear_object (&request->cancellable);
  g_clear_object (&request->message);
  g_free (request);
}

static void
on_caller_cancelled (GCancellable *caller,
                     gpointer      data)
{
  g_cancellable_cancel (G_CANCELLABLE (data));
}

static gboolean
on_request_timeout (gpointer data)
{
  Request *request = data;

  request->timed_out = TRUE;
  g_cancellable_cancel (request->cancellable);
  return G_SOURCE_REMOVE;
}

static GError *
transport_error (Request *request,
                 GError  *cause)
{
  if (request->timed_out || g_error_matches (cause, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    return g_error_new (WB_CLIENT_ERROR, WB_CLIENT_ERROR_TIMEOUT, "The server did not answer in time");
  if (g_error_matches (cause, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return g_error_copy (cause);
  if (g_error_matches (cause, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
    return g_error_new (WB_CLIENT_ERROR, WB_CLIENT_ERROR_CONNECTION_REFUSED, "The server refused the connection: %s",
                        cause->message);
  return g_error_new (WB_CLIENT_ERROR, WB_CLIENT_ERROR_NETWORK, "The server cannot be reached: %s", cause->message);
}

static JsonNode *
read_success (GBytes  *body,
              GError **error)
{
  const WbJsonLimits limits = { WB_CLIENT_MAX_ANSWER_SIZE, WB_JSON_DEFAULT_MAX_DEPTH };
  g_autoptr(GError) local_error = NULL;
  JsonNode *node;

  if (g_bytes_get_size (body) == 0)
    return json_node_new (JSON_NODE_NULL);
  node = wb_json_parse_bytes (body, &limits, &local_error);
  if (node == NULL)
    g_propagate_error (error, invalid_response ("the request", local_error));
  return node;
}

static void
on_sent (GObject      *source,
         GAsyncResult *result,
         gpointer      data)
{
  g_autoptr(GTask) task = data;
  Request *request = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  JsonNode *node;
  guint status;

  if (body == NULL)
    return g_task_return_error (task, transport_error (request, error));
  status = soup_message_get_status (request->message);
  if (!SOUP_STATUS_IS_SUCCESSFUL (status))
    return g_task_return_error (task, error_from_answer (request->message, body));
  node = read_success (body, &error);
  if (node == NULL)
    return g_task_return_error (task, g_steal_pointer (&error));
  g_task_return_pointer (task, node, (GDestroyNotify) json_node_unref);
}

static SoupMessage *
new_message (WbClient    *self,
             const char  *method,
             const char  *path,
             JsonNode    *body)
{
  g_autofree char *uri = g_strconcat (self->base_url, path, NULL);
  SoupMessage *message = soup_message_new (method, uri);

  if (message == NULL)
    return NULL;
  add_token (self, message);
  soup_message_headers_replace (soup_message_get_request_headers (message), "Accept", "application/json");
  if (body != NULL)
    {
      char *text = wb_json_to_string (body);
      g_autoptr(GBytes) bytes = g_bytes_new_take (text, strlen (text));

      soup_message_set_request_body_from_bytes (message, "application/json", bytes);
    }
  return message;
}

/**
 * wb_client_call_json_async:
 * @method: "GET", "POST", "PUT", "PATCH", "DELETE"
 * @body: (nullable): the request body
 */
void
wb_client_call_json_async (WbClient            *self,
                           const char          *method,
                           const char          *path,
                           JsonNode            *body,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  wb_client_call_json_if_match_async (self, method, path, body, NULL, cancellable, callback, user_data);
}

/**
 * wb_client_call_json_if_match_async:
 * @if_match: (nullable): the entity tag the change is for ("\"3\""), sent
 *   as If-Match: a server that holds a newer version answers 412
 *
 * As wb_client_call_json_async(); finish with wb_client_call_json_finish().
 */
void
wb_client_call_json_if_match_async (WbClient            *self,
                                    const char          *method,
                                    const char          *path,
                                    JsonNode            *body,
                                    const char          *if_match,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  Request *request;

  g_return_if_fail (WB_IS_CLIENT (self));
  g_return_if_fail (method != NULL && path != NULL && *path == '/');

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, wb_client_call_json_async);
  request = g_new0 (Request, 1);
  g_task_set_task_data (task, request, (GDestroyNotify) request_free);
  request->message = new_message (self, method, path, body);
  if (request->message == NULL)
    return g_task_return_new_error (task, WB_CLIENT_ERROR, WB_CLIENT_ERROR_NETWORK,
                                    "Not a valid address: %s%s", self->base_url, path);
  if (if_match != NULL)
    soup_message_headers_replace (soup_message_get_request_headers (request->message), "If-Match", if_match);
  request->cancellable = g_cancellable_new ();
  if (cancellable != NULL)
    {
      request->caller_cancellable = g_object_ref (cancellable);
      request->caller_handler = g_cancellable_connect (cancellable, G_CALLBACK (on_caller_cancelled),
                                                       request->cancellable, NULL);
    }
  request->timeout = g_timeout_source_new (self->timeout_ms);
  g_source_set_callback (request->timeout, on_request_timeout, request, NULL);
  g_source_attach (request->timeout, g_task_get_context (task));
  soup_session_send_and_read_async (self->session, request->message, G_PRIORITY_DEFAULT, request->cancellable,
                                    on_sent, g_steal_pointer (&task));
}

/**
 * wb_client_call_json_finish:
 *
 * Returns: (transfer full): the answer's JSON, or %NULL with a
 *   %WB_CLIENT_ERROR (or %G_IO_ERROR_CANCELLED)
 */
JsonNode *
wb_client_call_json_finish (WbClient      *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
wb_client_get_json_async (WbClient            *self,
                          const char          *path,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  wb_client_call_json_async (self, "GET", path, NULL, cancellable, callback, user_data);
}

void
wb_client_post_json_async (WbClient            *self,
                           const char          *path,
                           JsonNode            *body,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  wb_client_call_json_async (self, "POST", path, body, cancellable, callback, user_data);
}

void
wb_client_put_json_async (WbClient            *self,
                          const char          *path,
                          JsonNode            *body,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  wb_client_call_json_async (self, "PUT", path, body, cancellable, callback, user_data);
}

void
wb_client_patch_json_async (WbClient            *self,
                            const char          *path,
                            JsonNode            *body,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  wb_client_call_json_async (self, "PATCH", path, body, cancellable, callback, user_data);
}

/* ---- typed calls -------------------------------------------------------------- */

/* Reads a successful answer into the call's result, or fails naming the
 * member at fault (a WB_JSON_ERROR). */
typedef gpointer (*ReadAnswer) (JsonNode *node, GError **error);

typedef struct
{
  ReadAnswer     read;
  GDestroyNotify free_result;
  const char    *what;
} TypedCall;

static void
on_typed_answer (GObject      *source,
                 GAsyncResult *result,
                 gpointer      data)
{
  g_autoptr(GTask) task = data;
  TypedCall *call = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = wb_client_call_json_finish (WB_CLIENT (source), result, &error);
  gpointer value;

  if (node == NULL)
    return g_task_return_error (task, g_steal_pointer (&error));
  value = call->read (node, &error);
  if (value == NULL)
    return g_task_return_error (task, invalid_response (call->what, error));
  g_task_return_pointer (task, value, call->free_result);
}

static void
call_typed_method (WbClient            *self,
                   const char          *method,
                   const char          *path,
                   JsonNode            *body,
                   const char          *what,
                   ReadAnswer           read,
                   GDestroyNotify       free_result,
                   gpointer             source_tag,
                   GCancellable        *cancellable,
                   GAsyncReadyCallback  callback,
                   gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  TypedCall *call = g_new0 (TypedCall, 1);

  g_task_set_source_tag (task, source_tag);
  call->read = read;
  call->free_result = free_result;
  call->what = what;
  g_task_set_task_data (task, call, g_free);
  wb_client_call_json_async (self, method, path, body, cancellable, on_typed_answer, task);
}

static void
call_typed (WbClient            *self,
            const char          *path,
            const char          *what,
            ReadAnswer           read,
            GDestroyNotify       free_result,
            gpointer             source_tag,
            GCancellable        *cancellable,
            GAsyncReadyCallback  callback,
            gpointer             user_data)
{
  call_typed_method (self, "GET", path, NULL, what, read, free_result, source_tag, cancellable, callback, user_data);
}

void
_wb_client_call_typed (WbClient            *self,
                       const char          *path,
                       const char          *what,
                       WbClientReadAnswer   read,
                       GDestroyNotify       free_result,
                       gpointer             source_tag,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  call_typed_method (self, "GET", path, NULL, what, read, free_result, source_tag, cancellable, callback, user_data);
}

void
_wb_client_call_typed_full (WbClient            *self,
                            const char          *method,
                            const char          *path,
                            JsonNode            *body,
                            const char          *what,
                            WbClientReadAnswer   read,
                            GDestroyNotify       free_result,
                            gpointer             source_tag,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  call_typed_method (self, method, path, body, what, read, free_result, source_tag, cancellable, callback, user_data);
}

/* ---- GET /readyz ---- */

static gpointer
read_ready (JsonNode  *node,
            GError   **error)
{
  g_autoptr(WbJsonReader) reader = wb_json_reader_new_for_node (node, "", error);
  const char *status = NULL;

  if (reader == NULL || !wb_json_reader_peek_string (reader, "status", TRUE, 32, &status, error))
    return NULL;
  if (!g_str_equal (status, "ready"))
    {
      wb_json_reader_fail (reader, "status", error, "must be ready");
      return NULL;
    }
  return json_node_ref (node);
}

void
wb_client_readyz_async (WbClient            *self,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  g_return_if_fail (WB_IS_CLIENT (self));
  call_typed (self, "/readyz", "GET /readyz", read_ready, (GDestroyNotify) json_node_unref,
              wb_client_readyz_async, cancellable, callback, user_data);
}

gboolean
wb_client_readyz_finish (WbClient      *self,
                         GAsyncResult  *result,
                         GError       **error)
{
  g_autoptr(JsonNode) node = NULL;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  node = g_task_propagate_pointer (G_TASK (result), error);
  return node != NULL;
}

/* ---- GET /whoami ---- */

typedef struct
{
  char *role;
  char *subject;
} Whoami;

static void
whoami_free (gpointer data)
{
  Whoami *whoami = data;

  g_free (whoami->role);
  g_free (whoami->subject);
  g_free (whoami);
}

static gpointer
read_whoami (JsonNode  *node,
             GError   **error)
{
  g_autoptr(WbJsonReader) reader = wb_json_reader_new_for_node (node, "", error);
  Whoami *whoami = g_new0 (Whoami, 1);

  if (reader == NULL
      || !wb_json_reader_get_string (reader, "role", TRUE, &whoami->role, error)
      || !wb_json_reader_get_string (reader, "subject", FALSE, &whoami->subject, error))
    {
      whoami_free (whoami);
      return NULL;
    }
  return whoami;
}

void
wb_client_whoami_async (WbClient            *self,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  g_return_if_fail (WB_IS_CLIENT (self));
  call_typed (self, "/whoami", "GET /whoami", read_whoami, whoami_free, wb_client_whoami_async,
              cancellable, callback, user_data);
}

/**
 * wb_client_whoami_finish:
 * @out_role: (out) (optional) (transfer full)
 * @out_subject: (out) (optional) (transfer full) (nullable)
 */
gboolean
wb_client_whoami_finish (WbClient      *self,
                         GAsyncResult  *result,
                         char         **out_role,
                         char         **out_subject,
                         GError       **error)
{
  Whoami *whoami;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  whoami = g_task_propagate_pointer (G_TASK (result), error);
  if (whoami == NULL)
    return FALSE;
  if (out_role != NULL)
    *out_role = g_steal_pointer (&whoami->role);
  if (out_subject != NULL)
    *out_subject = g_steal_pointer (&whoami->subject);
  whoami_free (whoami);
  return TRUE;
}

/* ---- GET /locations ---- */

typedef struct
{
  GPtrArray *vehicles;
  char      *epoch;
  guint64    seq;
} Locations;

static void
locations_free (gpointer data)
{
  Locations *locations = data;

  g_clear_pointer (&locations->vehicles, g_ptr_array_unref);
  g_free (locations->epoch);
  g_free (locations);
}

static gboolean
read_locations_items (WbJsonReader  *reader,
                      GPtrArray     *vehicles,
                      GError       **error)
{
  guint length = 0;

  if (!wb_json_reader_get_array_length (reader, "items", &length, error))
    return FALSE;
  for (guint i = 0; i < length; i++)
    {
      g_autoptr(WbJsonReader) item = wb_json_reader_get_array_element (reader, "items", i, error);
      WbLiveVehicle *vehicle = item ? wb_live_vehicle_read (item, error) : NULL;

      if (vehicle == NULL)
        return FALSE;
      g_ptr_array_add (vehicles, vehicle);
    }
  return TRUE;
}

static gpointer
read_locations (JsonNode  *node,
                GError   **error)
{
  g_autoptr(WbJsonReader) reader = wb_json_reader_new_for_node (node, "", error);
  Locations *locations = g_new0 (Locations, 1);
  gboolean present = FALSE;
  gint64 seq = 0;

  locations->vehicles = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_live_vehicle_unref);
  if (reader == NULL
      || !wb_json_reader_get_string (reader, "epoch", TRUE, &locations->epoch, error)
      || !wb_json_reader_get_int64 (reader, "seq", 0, G_MAXINT64, &present, &seq, error)
      || (!present && !wb_json_reader_fail (reader, "seq", error, "is required"))
      || !read_locations_items (reader, locations->vehicles, error))
    {
      locations_free (locations);
      return NULL;
    }
  locations->seq = (guint64) seq;
  return locations;
}

static void
append_number (GString *query,
               double   value)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  g_string_append (query, g_ascii_dtostr (buffer, sizeof buffer, value));
}

static char *
locations_path (const WbLiveBbox   *bbox,
                const char * const *company_ids)
{
  GString *path = g_string_new ("/locations");
  char separator = '?';

  if (bbox != NULL)
    {
      g_string_append (path, "?bbox=");
      append_number (path, bbox->min_lon);
      g_string_append_c (path, ',');
      append_number (path, bbox->min_lat);
      g_string_append_c (path, ',');
      append_number (path, bbox->max_lon);
      g_string_append_c (path, ',');
      append_number (path, bbox->max_lat);
      separator = '&';
    }
  for (guint i = 0; company_ids != NULL && company_ids[i] != NULL; i++, separator = '&')
    {
      g_string_append_printf (path, "%ccompanyId=", separator);
      g_string_append_uri_escaped (path, company_ids[i], NULL, FALSE);
    }
  return g_string_free (path, FALSE);
}

/**
 * wb_client_get_locations_async:
 * @bbox: (nullable): the box; %NULL asks for no box
 * @company_ids: (nullable) (array zero-terminated=1)
 */
void
wb_client_get_locations_async (WbClient            *self,
                               const WbLiveBbox    *bbox,
                               const char * const  *company_ids,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autofree char *path = NULL;

  g_return_if_fail (WB_IS_CLIENT (self));

  path = locations_path (bbox, company_ids);
  call_typed (self, path, "GET /locations", read_locations, locations_free, wb_client_get_locations_async,
              cancellable, callback, user_data);
}

/**
 * wb_client_get_locations_finish:
 * @out_epoch: (out) (optional) (transfer full)
 * @out_seq: (out) (optional)
 *
 * Returns: (transfer container) (element-type WbLiveVehicle): the vehicles
 */
GPtrArray *
wb_client_get_locations_finish (WbClient      *self,
                                GAsyncResult  *result,
                                char         **out_epoch,
                                guint64       *out_seq,
                                GError       **error)
{
  Locations *locations;
  GPtrArray *vehicles;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  locations = g_task_propagate_pointer (G_TASK (result), error);
  if (locations == NULL)
    return NULL;
  if (out_epoch != NULL)
    *out_epoch = g_steal_pointer (&locations->epoch);
  if (out_seq != NULL)
    *out_seq = locations->seq;
  vehicles = g_steal_pointer (&locations->vehicles);
  locations_free (locations);
  return vehicles;
}

/* ---- GET /vehicles/{id}/track ---- */

static gpointer
read_track (JsonNode  *node,
            GError   **error)
{
  return wb_client_track_read_json (node, error);
}

static void
append_time_parameter (GString    *path,
                       char       *separator,
                       const char *name,
                       gint64      us)
{
  g_autofree char *text = NULL;

  if (us == 0)
    return;
  text = wb_time_format (us);
  g_string_append_printf (path, "%c%s=", *separator, name);
  g_string_append_uri_escaped (path, text, NULL, FALSE);
  *separator = '&';
}

void
wb_client_get_track_async (WbClient            *self,
                           const char          *vehicle_id,
                           gint64               from_us,
                           gint64               to_us,
                           double               tolerance_m,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GString) path = g_string_new ("/vehicles/");
  char separator = '?';

  g_return_if_fail (WB_IS_CLIENT (self));
  g_return_if_fail (vehicle_id != NULL);

  g_string_append_uri_escaped (path, vehicle_id, NULL, FALSE);
  g_string_append (path, "/track");
  append_time_parameter (path, &separator, "from", from_us);
  append_time_parameter (path, &separator, "to", to_us);
  if (tolerance_m >= 0)
    {
      g_string_append_printf (path, "%ctolerance=", separator);
      append_number (path, tolerance_m);
    }
  call_typed (self, path->str, "GET /vehicles/{id}/track", read_track, (GDestroyNotify) wb_client_track_unref,
              wb_client_get_track_async, cancellable, callback, user_data);
}

/**
 * wb_client_get_track_finish:
 *
 * Returns: (transfer full): the track
 */
WbClientTrack *
wb_client_get_track_finish (WbClient      *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
