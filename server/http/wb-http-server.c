// SPDX-License-Identifier: GPL-3.0-or-later
/* The HTTP front of waybilld.
 *
 * SoupServer's own documentation warns that it is not hardened against
 * untrusted clients, so this wrapper watches every new connection (total and
 * per-address connection caps, an idle timeout on every socket) and checks
 * every request's headers in an early handler, before any body is read:
 * header count and size, body size, routing, and the bearer token. Handlers
 * only ever see requests that passed all of that. */

#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <glib-unix.h>

#include "wb-json-writer.h"
#include "wb-http-connection.h"
#include "wb-http-server.h"

#define LISTEN_BACKLOG 4096

#define JWT_LEEWAY_SECONDS 30
#define REQUEST_ID_MAX 64

typedef struct
{
  char           *method;       /* "GET", … */
  char          **segments;     /* pattern split on '/', "{name}" captures */
  char           *pattern;
  char           *operation_json; /* its OpenAPI Operation Object */
  WbAccessRole          min_role;
  WbHttpHandler   handler;
  gpointer        user_data;
  WbHttpWebsocketHandler websocket;  /* a WebSocket endpoint: not in the routing table */
  GMainContext   *context;        /* …whose connections run there; NULL: the server's */
  WbHttpWebsocketPicker picker;   /* nullable: …or there, one context per connection */
  guint64         max_body_size;  /* 0: the server's limit */
} Route;

struct _WbHttpRequest
{
  WbHttpServer      *server;     /* not owned */
  SoupServerMessage *message;    /* not owned: the request lives on it */
  GSocket           *socket;     /* its connection's */
  char              *id;
  char              *peer;
  gint64             started_us;
  Route             *route;
  GHashTable        *params;
  GHashTable        *query;
  WbAccessRole             role;
  char              *subject;
  gint64             expires_at;     /* the token's exp + leeway, unix s; 0 without auth */
  char              *query_authorization;  /* "Bearer <access_token>" */
  gboolean           paused;
  gboolean           responded;
  gboolean           body_read;   /* the main handler runs */
  gboolean           counted;     /* in in_flight: its headers have arrived */
  gboolean           traced;      /* has the ids below, for its span */
  gboolean           continued;   /* …in a caller's trace (traceparent) */
  guint8             trace_id[16];
  guint8             span_id[8];
  guint8             parent_span_id[8];
};

/* One per admitted connection, for as long as libsoup serves it. */
typedef struct
{
  WbHttpServer      *server;         /* weak */
  char              *peer;
  GSocket           *socket;
  SoupServerMessage *message;        /* the connection's first request */
  gint64             read_deadline;  /* µs, until that request is read; 0: read */
  GSocketAddress    *remote;         /* libsoup's for it: carries the watch */
  WbHttpConnection  *stream;         /* what libsoup reads and writes */
  gint64             idle_since;     /* µs: answered, no next request yet; 0: busy */
} ConnectionWatch;

static ConnectionWatch *connection_of (SoupServerMessage *message);
static void upgrade_websocket (WbHttpRequest *request);
static void connection_request_read     (SoupServerMessage *message);
static void connection_request_finished (SoupServerMessage *message);

static void
cancel_read_deadline (ConnectionWatch *watch)
{
  watch->read_deadline = 0;
}

struct _WbHttpServer
{
  GObject           parent_instance;

  SoupServer       *soup;
  WbMetrics        *metrics;
  WbHttpLimits      limits;
  GBytes           *auth_secret;
  WbOtlpExporter   *tracing;                /* where request spans go, or NULL */
  char             *unavailable;            /* why API routes answer 503, or NULL */
  GPtrArray        *routes;
  GPtrArray        *websockets;             /* Route with .websocket, by exact path */
  GHashTable       *connections_per_peer;   /* peer → count */
  GHashTable       *open_connections;       /* set of ConnectionWatch */
  GSource          *deadlines;              /* checks idle and read deadlines */
  gboolean          stopping;               /* answers close their connection */
  guint             connections;
  guint             in_flight;
  guint             port;
  GPtrArray        *listeners;              /* Listener: every connection comes in there */
  GSocket          *soup_listener;          /* see ensure_soup_listener() */
};

G_DEFINE_FINAL_TYPE (WbHttpServer, wb_http_server, G_TYPE_OBJECT)

static const double duration_buckets[] = {
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

static gboolean admit_request (WbHttpServer      *self,
                               SoupServerMessage *message);

static void
route_free (gpointer data)
{
  Route *route = data;

  g_free (route->method);
  g_free (route->pattern);
  g_free (route->operation_json);
  g_strfreev (route->segments);
  g_clear_pointer (&route->context, g_main_context_unref);
  g_free (route);
}

/* ---- requests ----------------------------------------------------------- */

/* A request is in flight until it is answered; its message may outlive
 * that (a kept-alive connection holds on to its first one). */
static void
request_end_flight (WbHttpRequest *request)
{
  if (!request->counted)
    return;
  request->counted = FALSE;
  request->server->in_flight--;
  wb_metrics_gauge_set (request->server->metrics, "waybill_http_requests_in_flight",
                        request->server->in_flight, NULL);
}

static void
request_free (gpointer data)
{
  WbHttpRequest *request = data;

  request_end_flight (request);
  g_clear_object (&request->server);
  g_clear_object (&request->socket);
  g_clear_pointer (&request->params, g_hash_table_unref);
  g_clear_pointer (&request->query, g_hash_table_unref);
  g_free (request->id);
  g_free (request->peer);
  g_free (request->subject);
  g_free (request->query_authorization);
  g_free (request);
}

static WbHttpRequest *
request_get (SoupServerMessage *message)
{
  return g_object_get_data (G_OBJECT (message), "wb-http-request");
}

/* A client's own X-Request-Id is kept when it is short and plain, so one id
 * can follow a call through a proxy; anything else gets a fresh id. */
static char *
request_id_for (SoupServerMessage *message)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (message);
  const char *given = soup_message_headers_get_one (headers, "X-Request-Id");

  if (given != NULL && *given != '\0' && strlen (given) <= REQUEST_ID_MAX)
    {
      gboolean plain = TRUE;

      for (const char *p = given; *p && plain; p++)
        plain = g_ascii_isalnum (*p) || *p == '-' || *p == '_' || *p == '.';
      if (plain)
        return g_strdup (given);
    }
  return g_strdup_printf ("%08x%08x", g_random_int (), g_random_int ());
}

static char *
peer_of (GSocketAddress *address)
{
  if (G_IS_INET_SOCKET_ADDRESS (address))
    return g_inet_address_to_string (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address)));
  return g_strdup ("local");
}

SoupServerMessage *
wb_http_request_get_message (WbHttpRequest *request)
{
  g_return_val_if_fail (request != NULL, NULL);
  return request->message;
}

const char *
wb_http_request_get_id (WbHttpRequest *request)
{
  g_return_val_if_fail (request != NULL, NULL);
  return request->id;
}

const char *
wb_http_request_get_method (WbHttpRequest *request)
{
  g_return_val_if_fail (request != NULL, NULL);
  return soup_server_message_get_method (request->message);
}

const char *
wb_http_request_get_path (WbHttpRequest *request)
{
  g_return_val_if_fail (request != NULL, NULL);
  return g_uri_get_path (soup_server_message_get_uri (request->message));
}

/**
 * wb_http_request_get_param:
 *
 * Returns: (nullable): the decoded value of the route's "{name}" segment
 */
const char *
wb_http_request_get_param (WbHttpRequest *request,
                           const char    *name)
{
  g_return_val_if_fail (request != NULL, NULL);
  return request->params ? g_hash_table_lookup (request->params, name) : NULL;
}

/**
 * wb_http_request_get_query:
 *
 * Returns: (nullable): the decoded query parameter @name
 */
const char *
wb_http_request_get_query (WbHttpRequest *request,
                           const char    *name)
{
  g_return_val_if_fail (request != NULL, NULL);

  if (request->query == NULL)
    {
      const char *query = g_uri_get_query (soup_server_message_get_uri (request->message));

      request->query = query ? g_uri_parse_params (query, -1, "&", G_URI_PARAMS_NONE, NULL) : NULL;
      if (request->query == NULL)
        request->query = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
    }
  return g_hash_table_lookup (request->query, name);
}

WbAccessRole
wb_http_request_get_role (WbHttpRequest *request)
{
  g_return_val_if_fail (request != NULL, WB_ACCESS_ROLE_NONE);
  return request->role;
}

const char *
wb_http_request_get_subject (WbHttpRequest *request)
{
  g_return_val_if_fail (request != NULL, NULL);
  return request->subject;
}

/**
 * wb_http_request_get_body:
 *
 * Returns: (transfer full): the request body, already bounded by the limits
 */
GBytes *
wb_http_request_get_body (WbHttpRequest *request)
{
  g_return_val_if_fail (request != NULL, NULL);
  return soup_message_body_flatten (soup_server_message_get_request_body (request->message));
}

void
wb_http_request_set_header (WbHttpRequest *request,
                            const char    *name,
                            const char    *value)
{
  g_return_if_fail (request != NULL);
  soup_message_headers_replace (soup_server_message_get_response_headers (request->message),
                                name, value);
}

/**
 * wb_http_request_pause:
 *
 * For handlers that answer later (after a database round trip). The next
 * wb_http_request_respond*() call resumes the message.
 */
void
wb_http_request_pause (WbHttpRequest *request)
{
  g_return_if_fail (request != NULL);
  g_return_if_fail (!request->paused && !request->responded);

  request->paused = TRUE;
  soup_server_message_pause (request->message);
}

/* libsoup 3.2 calls these "Unknown Error". */
static const char *
reason_phrase (guint status)
{
  switch (status)
    {
    case 428: return "Precondition Required";          /* RFC 6585 */
    case 429: return "Too Many Requests";              /* RFC 6585 */
    case 431: return "Request Header Fields Too Large"; /* RFC 6585 */
    default:  return NULL;                              /* libsoup's own */
    }
}

void
wb_http_request_respond (WbHttpRequest *request,
                         guint          status,
                         const char    *content_type,
                         GBytes        *body)
{
  gsize size = 0;
  const char *data;

  g_return_if_fail (request != NULL);
  g_return_if_fail (!request->responded);

  request->responded = TRUE;
  /* An answer given before the body was read closes the connection, so the
   * unread body is never taken for the next request. */
  if (request->server->stopping || !request->body_read)
    wb_http_request_set_header (request, "Connection", "close");
  data = body ? g_bytes_get_data (body, &size) : NULL;
  soup_server_message_set_status (request->message, status, reason_phrase (status));
  soup_server_message_set_response (request->message, content_type, SOUP_MEMORY_COPY, data, size);
  if (request->paused)
    {
      request->paused = FALSE;
      soup_server_message_unpause (request->message);
    }
}

void
wb_http_request_respond_json (WbHttpRequest *request,
                              guint          status,
                              JsonNode      *node)
{
  g_autofree char *text = NULL;
  g_autoptr(GBytes) body = NULL;

  g_return_if_fail (request != NULL);
  g_return_if_fail (node != NULL);

  text = wb_json_to_string (node);
  body = g_bytes_new_take (g_strconcat (text, "\n", NULL), strlen (text) + 1);
  wb_http_request_respond (request, status, "application/json", body);
}

static JsonNode *
error_body (const char *code,
            const char *message)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "error");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "code");
  json_builder_add_string_value (builder, code);
  json_builder_set_member_name (builder, "message");
  json_builder_add_string_value (builder, message);
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

/**
 * wb_http_request_respond_error:
 * @code: a stable machine-readable code, e.g. "not_found"
 *
 * Answers with the one error shape every client can rely on:
 * `{"error":{"code":"…","message":"…"}}`.
 */
void
wb_http_request_respond_error (WbHttpRequest *request,
                               guint          status,
                               const char    *code,
                               const char    *format,
                               ...)
{
  g_autofree char *message = NULL;
  g_autoptr(JsonNode) node = NULL;
  va_list args;

  g_return_if_fail (request != NULL);

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  node = error_body (code, message);
  wb_http_request_respond_json (request, status, node);
}

/* ---- routing ------------------------------------------------------------ */

static gboolean
route_match (Route       *route,
             char       **path_segments,
             GHashTable **out_params)
{
  g_autoptr(GHashTable) params = NULL;
  guint n = g_strv_length (route->segments);

  if (n != g_strv_length (path_segments))
    return FALSE;

  for (guint i = 0; i < n; i++)
    {
      const char *want = route->segments[i];

      if (want[0] == '{')
        {
          g_autofree char *name = g_strndup (want + 1, strlen (want) - 2);
          char *value = g_uri_unescape_string (path_segments[i], "/");

          if (value == NULL || *value == '\0')
            {
              g_free (value);
              return FALSE;
            }
          if (params == NULL)
            params = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
          g_hash_table_insert (params, g_steal_pointer (&name), value);
        }
      else if (!g_str_equal (want, path_segments[i]))
        return FALSE;
    }
  *out_params = g_steal_pointer (&params);
  return TRUE;
}

static gboolean
method_matches (const char *route_method,
                const char *method)
{
  return g_str_equal (route_method, "*") || g_str_equal (route_method, method)
         || (g_str_equal (route_method, "GET") && g_str_equal (method, "HEAD"));
}

/* Finds the route for the request; on failure answers 404 or 405. */
static gboolean
resolve_route (WbHttpServer  *self,
               WbHttpRequest *request)
{
  const char *method = wb_http_request_get_method (request);
  g_auto(GStrv) segments = g_strsplit (wb_http_request_get_path (request), "/", -1);
  g_autoptr(GString) allowed = g_string_new (NULL);

  for (guint i = 0; i < self->routes->len; i++)
    {
      Route *route = g_ptr_array_index (self->routes, i);
      GHashTable *params = NULL;

      if (!route_match (route, segments, &params))
        continue;
      if (method_matches (route->method, method))
        {
          request->route = route;
          request->params = params;
          return TRUE;
        }
      g_clear_pointer (&params, g_hash_table_unref);
      g_string_append_printf (allowed, "%s%s", allowed->len ? ", " : "", route->method);
    }

  if (allowed->len > 0)
    {
      wb_http_request_set_header (request, "Allow", allowed->str);
      wb_http_request_respond_error (request, SOUP_STATUS_METHOD_NOT_ALLOWED, "method_not_allowed",
                                     "%s is not allowed here; allowed: %s", method, allowed->str);
    }
  else
    wb_http_request_respond_error (request, SOUP_STATUS_NOT_FOUND, "not_found",
                                   "No resource at %s", wb_http_request_get_path (request));
  return FALSE;
}

/* ---- checks before the body is read ------------------------------------ */

static gboolean
check_headers (WbHttpServer  *self,
               WbHttpRequest *request)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (request->message);
  SoupMessageHeadersIter iter;
  const char *name, *value;
  guint count = 0;
  guint64 size = 0;

  soup_message_headers_iter_init (&iter, headers);
  while (soup_message_headers_iter_next (&iter, &name, &value))
    {
      count++;
      size += strlen (name) + strlen (value);
    }

  if (count > self->limits.max_header_count)
    {
      wb_http_request_respond_error (request, 431 /* Request Header Fields Too Large, RFC 6585 */,
                                     "headers_too_large", "%u request headers; at most %u are accepted",
                                     count, self->limits.max_header_count);
      return FALSE;
    }
  if (size > self->limits.max_header_size)
    {
      wb_http_request_respond_error (request, 431 /* Request Header Fields Too Large, RFC 6585 */,
                                     "headers_too_large", "Request headers are %" G_GUINT64_FORMAT
                                     " bytes; at most %" G_GUINT64_FORMAT " are accepted",
                                     size, self->limits.max_header_size);
      return FALSE;
    }
  return TRUE;
}

/* libsoup reads "-5" as a huge length and "5, 5" as 5. No header at all is
 * no body. */
static gboolean
content_length_valid (SoupMessageHeaders *headers)
{
  const char *value = soup_message_headers_get_one (headers, "Content-Length");
  guint64 length;

  return value == NULL || g_ascii_string_to_unsigned (value, 10, 0, G_MAXINT64, &length, NULL);
}

/* Bodies must announce their length, so an oversized one is refused before
 * a byte of it is buffered. */
static gboolean
check_body_size (WbHttpServer  *self,
                 WbHttpRequest *request)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (request->message);
  SoupEncoding encoding = soup_message_headers_get_encoding (headers);
  goffset length;
  guint64 max;

  if (encoding == SOUP_ENCODING_CHUNKED || encoding == SOUP_ENCODING_EOF)
    {
      wb_http_request_respond_error (request, SOUP_STATUS_LENGTH_REQUIRED, "length_required",
                                     "Request bodies need a Content-Length header");
      return FALSE;
    }
  if (encoding == SOUP_ENCODING_CONTENT_LENGTH && !content_length_valid (headers))
    {
      wb_http_request_respond_error (request, SOUP_STATUS_BAD_REQUEST, "invalid_content_length",
                                     "Content-Length must be one non-negative decimal number");
      return FALSE;
    }
  length = soup_message_headers_get_content_length (headers);
  max = request->route->max_body_size ? request->route->max_body_size : self->limits.max_body_size;
  if (encoding == SOUP_ENCODING_CONTENT_LENGTH && (guint64) length > max)
    {
      wb_http_request_respond_error (request, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "body_too_large",
                                     "The body is %" G_GOFFSET_FORMAT " bytes; at most %"
                                     G_GUINT64_FORMAT " are accepted", length, max);
      return FALSE;
    }
  return TRUE;
}

static void
respond_unauthorized (WbHttpRequest *request,
                      const char    *why)
{
  g_autofree char *challenge = NULL;
  g_autofree char *quoted = g_strescape (why, NULL);

  challenge = g_strdup_printf ("Bearer realm=\"waybill\", error=\"invalid_token\", error_description=\"%s\"",
                               quoted);
  wb_http_request_set_header (request, "WWW-Authenticate", challenge);
  wb_http_request_respond_error (request, SOUP_STATUS_UNAUTHORIZED, "unauthorized", "%s", why);
}

static gboolean
check_auth (WbHttpServer  *self,
            WbHttpRequest *request)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (request->message);
  const char *authorization, *token;
  g_autoptr(WbJwtClaims) claims = NULL;
  g_autoptr(GError) error = NULL;
  gsize secret_len;
  const guint8 *secret;

  if (request->route->min_role == WB_ACCESS_ROLE_NONE)
    return TRUE;

  /* Without a secret the daemon only listens on loopback (checked at start)
   * and every local caller is trusted as an admin. */
  if (self->auth_secret == NULL)
    {
      request->role = WB_ACCESS_ROLE_ADMIN;
      return TRUE;
    }

  authorization = soup_message_headers_get_one (headers, "Authorization");
  /* Browsers cannot set headers on a WebSocket handshake. */
  if (authorization == NULL && request->route->websocket != NULL
      && wb_http_request_get_query (request, "access_token") != NULL)
    authorization = request->query_authorization
      = g_strconcat ("Bearer ", wb_http_request_get_query (request, "access_token"), NULL);
  if (authorization == NULL)
    {
      respond_unauthorized (request, "An Authorization: Bearer token is required");
      return FALSE;
    }
  /* libsoup trims the value: "Bearer " arrives as "Bearer". */
  if (g_ascii_strncasecmp (authorization, "Bearer", 6) != 0
      || (authorization[6] != ' ' && authorization[6] != '\0'))
    {
      respond_unauthorized (request, "Only the Bearer authorization scheme is accepted");
      return FALSE;
    }
  token = authorization + 6;
  while (*token == ' ')
    token++;
  if (*token == '\0')
    {
      respond_unauthorized (request, "The Bearer token is empty");
      return FALSE;
    }

  secret = g_bytes_get_data (self->auth_secret, &secret_len);
  claims = wb_jwt_verify (secret, secret_len, token,
                          g_get_real_time () / G_USEC_PER_SEC, JWT_LEEWAY_SECONDS, &error);
  if (claims == NULL)
    {
      respond_unauthorized (request, error->message);
      return FALSE;
    }
  if (claims->role < request->route->min_role)
    {
      wb_http_request_respond_error (request, SOUP_STATUS_FORBIDDEN, "forbidden",
                                     "This needs the %s role; the token has %s",
                                     wb_access_role_to_string (request->route->min_role),
                                     wb_access_role_to_string (claims->role));
      return FALSE;
    }
  request->role = claims->role;
  request->subject = g_strdup (claims->subject);
  request->expires_at = claims->expires_at + JWT_LEEWAY_SECONDS;
  return TRUE;
}

/* ---- spans -------------------------------------------------------------- */

/* W3C Trace Context: a caller's traceparent makes the request's span a
 * child of the caller's span, in the caller's trace. */
static void
start_span (WbHttpRequest *request)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (request->message);
  const char *traceparent = soup_message_headers_get_one (headers, "traceparent");

  request->continued = wb_otlp_parse_traceparent (traceparent, request->trace_id, request->parent_span_id);
  if (!request->continued)
    {
      wb_otlp_random_id (request->trace_id, sizeof request->trace_id);
      memset (request->parent_span_id, 0, sizeof request->parent_span_id);
    }
  wb_otlp_random_id (request->span_id, sizeof request->span_id);
  request->traced = TRUE;
}

/* Health checks and scrapes come every few seconds, all day: a span each
 * would bury the requests worth looking at. Unless a caller traces one. */
static gboolean
is_probe (WbHttpRequest *request)
{
  const char *pattern = request->route ? request->route->pattern : NULL;

  return pattern != NULL
         && (g_str_equal (pattern, "/healthz") || g_str_equal (pattern, "/readyz")
             || g_str_equal (pattern, "/metrics"));
}

/* OpenTelemetry's HTTP conventions: other methods are "_OTHER", so a
 * client cannot make up span names. */
static const char *
known_method (const char *method)
{
  static const char *methods[] = { "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH" };

  for (guint i = 0; i < G_N_ELEMENTS (methods); i++)
    {
      if (g_str_equal (method, methods[i]))
        return methods[i];
    }
  return NULL;
}

static void
record_span (WbHttpServer  *self,
             WbHttpRequest *request,
             guint          status,
             double         seconds)
{
  const char *method = known_method (wb_http_request_get_method (request));
  const char *route = request->route ? request->route->pattern : NULL;
  /* "GET /shipments/{id}"; without a route, the method alone. */
  g_autofree char *name = g_strjoin (" ", method ? method : "HTTP", route, NULL);
  gint64 end_us = g_get_real_time ();
  const WbOtlpAttribute attributes[] = {
    { "http.request.method", method ? method : "_OTHER" },
    { "http.response.status_code", NULL, status },
    { "url.path", wb_http_request_get_path (request) },
    { "url.scheme", g_uri_get_scheme (soup_server_message_get_uri (request->message)) },
    { "client.address", request->peer },
    { "waybill.request_id", request->id },
    { "http.route", route },      /* last: left out when no route matched */
  };
  WbOtlpSpan span = {
    .name = name,
    .kind = WB_OTLP_SPAN_KIND_SERVER,
    /* Server spans: a 4xx is the client's error, not the span's. */
    .status = status >= 500 ? WB_OTLP_STATUS_ERROR : WB_OTLP_STATUS_UNSET,
    .start_time_us = end_us - (gint64) (seconds * G_USEC_PER_SEC),
    .end_time_us = end_us,
    .attributes = attributes,
    .n_attributes = G_N_ELEMENTS (attributes) - (route ? 0 : 1),
  };

  memcpy (span.trace_id, request->trace_id, sizeof span.trace_id);
  memcpy (span.span_id, request->span_id, sizeof span.span_id);
  memcpy (span.parent_span_id, request->parent_span_id, sizeof span.parent_span_id);
  wb_otlp_exporter_record_span (self->tracing, &span);
}

static void
on_message_finished (SoupServerMessage *message,
                     WbHttpServer      *self)
{
  WbHttpRequest *request = request_get (message);
  guint status = soup_server_message_get_status (message);
  double seconds;
  g_autofree char *status_text = NULL;
  const char *route;

  connection_request_finished (message);
  /* Without its headers (cut off by the read timeout, say) it was never a
   * request: the connection metrics count it. */
  if (request == NULL || !request->counted)
    return;

  seconds = (g_get_monotonic_time () - request->started_us) / (double) G_USEC_PER_SEC;
  route = request->route ? request->route->pattern : "unmatched";
  status_text = g_strdup_printf ("%u", status);
  wb_metrics_counter_add (self->metrics, "waybill_http_requests_total", 1,
                          "route", route, "method", wb_http_request_get_method (request),
                          "status", status_text, NULL);
  wb_metrics_histogram_observe (self->metrics, "waybill_http_request_duration_seconds", seconds,
                                "route", route, NULL);
  if (self->tracing != NULL && request->traced && (request->continued || !is_probe (request)))
    record_span (self, request, status, seconds);

  /* g_log_structured() wants MESSAGE last. */
  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_INFO,
                    "REQUEST_ID", request->id ? request->id : "-",
                    "PEER", request->peer ? request->peer : "-",
                    "HTTP_STATUS", status_text,
                    "MESSAGE", "%s %s %u %.1f ms", wb_http_request_get_method (request),
                    wb_http_request_get_path (request), status, seconds * 1000);
  request_end_flight (request);
}

static void
on_request_started (SoupServer        *soup,
                    SoupServerMessage *message,
                    WbHttpServer      *self)
{
  WbHttpRequest *request;

  if (!admit_request (self, message))
    return;

  request = g_new0 (WbHttpRequest, 1);
  request->server = g_object_ref (self);
  request->message = message;
  request->started_us = g_get_monotonic_time ();
  request->socket = g_object_ref (connection_of (message)->socket);
  g_object_set_data_full (G_OBJECT (message), "wb-http-request", request, request_free);
  g_signal_connect_object (message, "finished", G_CALLBACK (on_message_finished), self, 0);
}

static Route *
find_websocket (WbHttpServer *self,
                const char   *path)
{
  for (guint i = 0; i < self->websockets->len; i++)
    {
      Route *route = g_ptr_array_index (self->websockets, i);

      if (g_str_equal (route->pattern, path))
        return route;
    }
  return NULL;
}

/* Runs once the headers are in and before any body is read: a request that
 * fails here never costs more than its headers. */
static void
early_handler (SoupServer        *soup,
               SoupServerMessage *message,
               const char        *path,
               GHashTable        *query,
               gpointer           user_data)
{
  WbHttpServer *self = user_data;
  WbHttpRequest *request = request_get (message);

  if (request == NULL)
    {
      /* Not a connection this server accepted. */
      soup_message_headers_replace (soup_server_message_get_response_headers (message), "Connection", "close");
      soup_server_message_set_status (message, SOUP_STATUS_SERVICE_UNAVAILABLE, NULL);
      return;
    }
  /* In flight from here: a connection that never sends a request does not
   * hold up a graceful shutdown; the idle timeout deals with it. */
  request->counted = TRUE;
  self->in_flight++;
  wb_metrics_gauge_set (self->metrics, "waybill_http_requests_in_flight", self->in_flight, NULL);
  request->started_us = g_get_monotonic_time ();
  request->id = request_id_for (message);
  request->peer = peer_of (soup_server_message_get_remote_address (message));
  wb_http_request_set_header (request, "X-Request-Id", request->id);
  if (self->tracing != NULL)
    start_span (request);

  request->route = find_websocket (self, path);
  if (request->route != NULL)
    {
      (void) (check_headers (self, request) && check_auth (self, request));
      return;
    }

  if (!check_headers (self, request) || !resolve_route (self, request)
      || !check_body_size (self, request) || !check_auth (self, request))
    return;
  if (self->unavailable != NULL && request->route->min_role != WB_ACCESS_ROLE_NONE)
    {
      wb_http_request_set_header (request, "Retry-After", "1");
      wb_http_request_respond_error (request, SOUP_STATUS_SERVICE_UNAVAILABLE, "unavailable",
                                     "Not ready: %s", self->unavailable);
    }
}

static void
main_handler (SoupServer        *soup,
              SoupServerMessage *message,
              const char        *path,
              GHashTable        *query,
              gpointer           user_data)
{
  WbHttpRequest *request = request_get (message);

  connection_request_read (message);
  if (request == NULL || request->route == NULL || request->responded)
    return;
  request->body_read = TRUE;
  if (request->route->websocket != NULL)
    {
      upgrade_websocket (request);
      return;
    }
  request->route->handler (request, request->route->user_data);
}

/* ---- connections -------------------------------------------------------- */

/* The server accepts connections itself and hands each to libsoup as a
 * WbHttpConnection (see there why): a connection over the limits is refused
 * before libsoup sees it, and a client ending a kept-alive connection
 * between requests is noticed without libsoup's help ("peer-ended"). The
 * idle timeout between requests is the deadline check's. */

/* The deadline check runs ahead of libsoup's I/O, so a connection it
 * closes has not been touched by libsoup in the same main loop pass. */
#define DEADLINE_CHECK_PRIORITY G_PRIORITY_HIGH

/* Does nothing: its destroy notify does the work. */
static gboolean
unref_later (gpointer data)
{
  return G_SOURCE_REMOVE;
}

static void
update_connection_gauge (WbHttpServer *self)
{
  wb_metrics_gauge_set (self->metrics, "waybill_http_connections_open", self->connections, NULL);
}

/* The watch of the connection @message came in on, if any: each accepted
 * connection gets a remote address object of its own, which carries it. */
static ConnectionWatch *
connection_of (SoupServerMessage *message)
{
  GSocketAddress *remote = soup_server_message_get_remote_address (message);

  return remote ? g_object_get_data (G_OBJECT (remote), "wb-connection") : NULL;
}

static void
connection_request_read (SoupServerMessage *message)
{
  ConnectionWatch *watch = connection_of (message);

  if (watch != NULL)
    cancel_read_deadline (watch);
}

static void on_disconnected      (SoupServerMessage *message,
                                  gpointer           data);

/* Called inside the message's own "disconnected": it is let go after. */
static void
forget_message (ConnectionWatch *watch)
{
  GSource *release;

  if (watch->message == NULL)
    return;
  g_signal_handlers_disconnect_by_data (watch->message, watch);
  release = g_idle_source_new ();
  g_source_set_callback (release, unref_later, g_steal_pointer (&watch->message), g_object_unref);
  g_source_attach (release, g_main_context_get_thread_default ());
  g_source_unref (release);
}

/* Runs once per admitted connection, when libsoup lets go of it: closed by
 * either side, taken over by a WebSocket, or closed here while idle. */
static void
release_connection (ConnectionWatch *watch)
{
  WbHttpServer *self = watch->server;

  if (self != NULL)
    {
      guint count = GPOINTER_TO_UINT (g_hash_table_lookup (self->connections_per_peer, watch->peer));

      if (count <= 1)
        g_hash_table_remove (self->connections_per_peer, watch->peer);
      else
        g_hash_table_insert (self->connections_per_peer, g_strdup (watch->peer), GUINT_TO_POINTER (count - 1));
      g_hash_table_remove (self->open_connections, watch);
      self->connections--;
      update_connection_gauge (self);
    }
  g_clear_weak_pointer (&watch->server);
  cancel_read_deadline (watch);
  forget_message (watch);
  /* A WebSocket reads on through the stream: it passes everything now. */
  g_signal_handlers_disconnect_by_data (watch->stream, watch);
  wb_http_connection_set_between_requests (watch->stream, FALSE);
  g_clear_object (&watch->stream);
  g_object_set_data (G_OBJECT (watch->remote), "wb-connection", NULL);
  g_clear_object (&watch->remote);
  g_clear_object (&watch->socket);
  g_free (watch->peer);
  g_free (watch);
}

static void
on_disconnected (SoupServerMessage *message,
                 gpointer           data)
{
  release_connection (data);
}

/* Takes the connection back from libsoup (which then forgets it, and says
 * so through "disconnected") and closes it. Only while libsoup waits for a
 * next request, and only from a source of our own, never inside a libsoup
 * callback. */
static void
close_idle_connection (ConnectionWatch *watch)
{
  g_autoptr(WbHttpConnection) stream = g_object_ref (watch->stream);
  g_autoptr(SoupServerMessage) message = g_object_ref (watch->message);
  g_autoptr(GIOStream) stolen = NULL;

  stolen = soup_server_message_steal_connection (message);   /* frees watch */
  if (stolen != NULL)
    (void) g_io_stream_close (stolen, NULL, NULL);
  (void) g_io_stream_close (G_IO_STREAM (stream), NULL, NULL);
}

static void
on_peer_ended (WbHttpConnection *stream,
               ConnectionWatch  *watch)
{
  close_idle_connection (watch);
}

/* The request is answered; unless libsoup closes the connection now (the
 * watch is then released at once), it waits for the next one. */
static void
connection_request_finished (SoupServerMessage *message)
{
  ConnectionWatch *watch = connection_of (message);

  if (watch == NULL)
    return;
  watch->idle_since = g_get_monotonic_time ();
  wb_http_connection_set_between_requests (watch->stream, TRUE);
}

/* The refused client gets a complete HTTP answer, so it sees why. The
 * answer is small and the socket fresh, so a non-blocking send suffices;
 * then the request it may have sent is read and dropped until it ends its
 * side or a second passes, so that closing does not reset the connection
 * under the answer. */
typedef struct
{
  GSocketConnection *connection;
  GSource           *timeout;
  GSource           *read_watch;   /* not owned: its destroy notify frees this */
} Refused;

static void
refused_free (Refused *refused)
{
  (void) g_io_stream_close (G_IO_STREAM (refused->connection), NULL, NULL);
  g_object_unref (refused->connection);
  g_source_destroy (refused->timeout);
  g_source_unref (refused->timeout);
  g_free (refused);
}

static gboolean
on_refused_readable (GSocket      *socket,
                     GIOCondition  condition,
                     gpointer      data)
{
  char buffer[4096];
  gssize n = g_socket_receive_with_blocking (socket, buffer, sizeof buffer, FALSE, NULL, NULL);

  if (n > 0 || (n < 0 && !(condition & (G_IO_HUP | G_IO_ERR))))
    return G_SOURCE_CONTINUE;
  return G_SOURCE_REMOVE;   /* the end, or an error: refused_free() */
}

static gboolean
on_refused_timeout (gpointer data)
{
  Refused *refused = data;

  g_source_destroy (refused->read_watch);   /* frees @refused */
  return G_SOURCE_REMOVE;
}

static void
refuse_connection (WbHttpServer      *self,
                   GSocketConnection *connection,
                   const char        *reason,
                   const char        *message)
{
  GSocket *socket = g_socket_connection_get_socket (connection);
  g_autoptr(JsonNode) node = error_body ("too_many_connections", message);
  g_autofree char *body = wb_json_to_string (node);
  g_autofree char *answer = NULL;
  g_autoptr(GSource) read_watch = NULL;
  Refused *refused;

  answer = g_strdup_printf ("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                            "Retry-After: 1\r\nConnection: close\r\nContent-Length: %zu\r\n\r\n%s",
                            strlen (body), body);
  (void) g_socket_send_with_blocking (socket, answer, strlen (answer), FALSE, NULL, NULL);
  (void) g_socket_shutdown (socket, FALSE, TRUE, NULL);
  wb_metrics_counter_add (self->metrics, "waybill_http_connections_rejected_total", 1,
                          "reason", reason, NULL);

  refused = g_new0 (Refused, 1);
  refused->connection = g_object_ref (connection);
  refused->timeout = g_timeout_source_new_seconds (1);
  g_source_set_callback (refused->timeout, on_refused_timeout, refused, NULL);
  g_source_attach (refused->timeout, g_main_context_get_thread_default ());
  read_watch = g_socket_create_source (socket, G_IO_IN, NULL);
  refused->read_watch = read_watch;
  g_source_set_callback (read_watch, (GSourceFunc) (void (*) (void)) on_refused_readable, refused,
                         (GDestroyNotify) refused_free);
  g_source_attach (read_watch, g_main_context_get_thread_default ());
}

/* A connection idle between requests for idle_timeout is closed. A client
 * that trickles its request in (a byte now and then keeps the idle timeout
 * at bay) is cut off; libsoup sees the socket end and drops it. One timer
 * checks every connection, rather than a timer per request. */
static gboolean
on_deadline_check (gpointer data)
{
  WbHttpServer *self = data;
  gint64 now = g_get_monotonic_time ();
  g_autoptr(GPtrArray) idle = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, self->open_connections);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      ConnectionWatch *watch = key;

      if (watch->idle_since != 0 && now - watch->idle_since >= (gint64) self->limits.idle_timeout_ms * 1000)
        g_ptr_array_add (idle, watch);
      if (watch->read_deadline == 0 || now < watch->read_deadline)
        continue;
      watch->read_deadline = 0;
      wb_metrics_counter_add (self->metrics, "waybill_http_connections_rejected_total", 1,
                              "reason", "read_timeout", NULL);
      (void) g_socket_shutdown (watch->socket, TRUE, TRUE, NULL);
    }
  for (guint i = 0; i < idle->len; i++)
    close_idle_connection (g_ptr_array_index (idle, i));
  return G_SOURCE_CONTINUE;
}

static void
start_deadline_check (WbHttpServer *self)
{
  if (self->deadlines != NULL)
    return;
  /* On the server's own context, which need not be the default one. */
  self->deadlines = g_timeout_source_new (250);
  g_source_set_priority (self->deadlines, DEADLINE_CHECK_PRIORITY);
  g_source_set_callback (self->deadlines, on_deadline_check, self, NULL);
  g_source_attach (self->deadlines, g_main_context_get_thread_default ());
}

/* A request starts on the connection. The connection's first request is
 * kept for its lifetime: it carries the connection's "disconnected", and is
 * the handle to take the connection back from libsoup (any request of a
 * connection is), at no cost per later request. The read deadline runs
 * from the request's first byte (from the accept for the first request). */
static void
follow_request (ConnectionWatch   *watch,
                SoupServerMessage *message)
{
  WbHttpServer *self = watch->server;

  watch->idle_since = 0;
  wb_http_connection_set_between_requests (watch->stream, FALSE);
  if (watch->message == NULL)
    {
      watch->message = g_object_ref (message);
      g_signal_connect (message, "disconnected", G_CALLBACK (on_disconnected), watch);
    }
  watch->read_deadline = 0;
  if (self != NULL && self->limits.read_timeout_ms > 0)
    watch->read_deadline = g_get_monotonic_time () + (gint64) self->limits.read_timeout_ms * 1000;
}

/* A request-started comes on an admitted connection: its first (libsoup
 * announces it on the accept) or a kept-alive connection's next. Returns
 * FALSE for a connection that was not admitted here. */
static gboolean
admit_request (WbHttpServer      *self,
               SoupServerMessage *message)
{
  ConnectionWatch *watch = connection_of (message);

  if (watch == NULL)
    return FALSE;
  follow_request (watch, message);
  return TRUE;
}

/* A new connection: refused over the connection limits, or handed to
 * libsoup with a watch of its own. */
static void
take_connection (WbHttpServer      *self,
                 GSocketConnection *connection)
{
  GSocket *socket = g_socket_connection_get_socket (connection);
  g_autoptr(GSocketAddress) local = g_socket_get_local_address (socket, NULL);
  g_autoptr(GSocketAddress) remote = g_socket_get_remote_address (socket, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *peer = NULL;
  ConnectionWatch *watch;
  guint per_peer;

  if (local == NULL || remote == NULL)
    return;   /* already gone */
  peer = peer_of (remote);
  per_peer = GPOINTER_TO_UINT (g_hash_table_lookup (self->connections_per_peer, peer));
  if (self->connections >= self->limits.max_connections)
    {
      refuse_connection (self, connection, "total", "The server has too many open connections");
      return;
    }
  if (per_peer >= self->limits.max_connections_per_peer)
    {
      refuse_connection (self, connection, "per_peer", "Too many open connections from this address");
      return;
    }

  /* A socket timeout also bounds the waits of non-blocking I/O on it, so a
   * stalled client is dropped. Between requests the deadline check closes
   * idle connections first. */
  g_socket_set_timeout (socket, (self->limits.idle_timeout_ms + 999) / 1000 + 5);
  (void) g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, TRUE, NULL);

  watch = g_new0 (ConnectionWatch, 1);
  g_set_weak_pointer (&watch->server, self);
  watch->peer = g_strdup (peer);
  watch->socket = g_object_ref (socket);
  watch->remote = g_object_ref (remote);
  watch->stream = wb_http_connection_new (connection);
  g_object_set_data (G_OBJECT (remote), "wb-connection", watch);
  g_signal_connect (watch->stream, "peer-ended", G_CALLBACK (on_peer_ended), watch);
  g_hash_table_add (self->open_connections, watch);
  g_hash_table_insert (self->connections_per_peer, g_steal_pointer (&peer), GUINT_TO_POINTER (per_peer + 1));
  self->connections++;
  update_connection_gauge (self);
  start_deadline_check (self);

  /* libsoup announces the first request (follow_request()) in here. */
  if (!soup_server_accept_iostream (self->soup, G_IO_STREAM (watch->stream), local, remote, &error))
    {
      g_warning ("Could not take a connection from %s: %s", watch->peer, error->message);
      release_connection (watch);
    }
}

/* A listening socket, accepted from in batches: a reconnect storm of
 * thousands of clients gets in within a few main loop passes, rather than
 * one client per pass (each pass polls every open connection). */
typedef struct
{
  WbHttpServer *server;   /* weak: the server owns this */
  GSocket      *socket;
  GSource      *source;   /* readable: connections wait */
  GSource      *pause;    /* after an accept error (out of descriptors) */
} Listener;

#define ACCEPT_BATCH 256
#define ACCEPT_PAUSE_MS 100

static void listener_watch (Listener *listener);

static void
listener_free (gpointer data)
{
  Listener *listener = data;

  if (listener->source != NULL)
    g_source_destroy (listener->source);
  g_clear_pointer (&listener->source, g_source_unref);
  if (listener->pause != NULL)
    g_source_destroy (listener->pause);
  g_clear_pointer (&listener->pause, g_source_unref);
  (void) g_socket_close (listener->socket, NULL);
  g_object_unref (listener->socket);
  g_free (listener);
}

static gboolean
on_accept_pause_over (gpointer data)
{
  Listener *listener = data;

  g_clear_pointer (&listener->pause, g_source_unref);
  listener_watch (listener);
  return G_SOURCE_REMOVE;
}

static gboolean
on_acceptable (GSocket      *socket,
               GIOCondition  condition,
               gpointer      data)
{
  Listener *listener = data;

  for (guint i = 0; i < ACCEPT_BATCH; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GSocket) accepted = g_socket_accept (socket, NULL, &error);
      g_autoptr(GSocketConnection) connection = NULL;

      if (accepted == NULL)
        {
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            return G_SOURCE_CONTINUE;
          /* Out of descriptors, say: the waiting connections stay queued,
           * and the watch would fire at once again. */
          g_warning ("Cannot accept connections (again in %u ms): %s", ACCEPT_PAUSE_MS, error->message);
          g_clear_pointer (&listener->source, g_source_unref);
          listener->pause = g_timeout_source_new (ACCEPT_PAUSE_MS);
          g_source_set_callback (listener->pause, on_accept_pause_over, listener, NULL);
          g_source_attach (listener->pause, g_main_context_get_thread_default ());
          return G_SOURCE_REMOVE;
        }
      connection = g_socket_connection_factory_create_connection (accepted);
      take_connection (listener->server, connection);
    }
  return G_SOURCE_CONTINUE;
}

static void
listener_watch (Listener *listener)
{
  /* At the requests' own priority: ahead of them, a steady stream of new
   * connections would starve the closing of old ones. */
  listener->source = g_socket_create_source (listener->socket, G_IO_IN, NULL);
  g_source_set_callback (listener->source, (GSourceFunc) (void (*) (void)) on_acceptable, listener, NULL);
  g_source_attach (listener->source, g_main_context_get_thread_default ());
}

/* Closes the connections waiting for a next request, or with @all, forgets
 * every connection (libsoup has closed them all by then). */
static void
close_idle_connections (WbHttpServer *self,
                        gboolean      all)
{
  g_autoptr(GList) watches = g_hash_table_get_keys (self->open_connections);

  for (GList *l = watches; l != NULL; l = l->next)
    {
      ConnectionWatch *watch = l->data;

      if (all)
        release_connection (watch);
      else if (watch->idle_since != 0 && watch->message != NULL)
        close_idle_connection (watch);
    }
}

/* ---- the server --------------------------------------------------------- */

static void
wb_http_server_dispose (GObject *object)
{
  WbHttpServer *self = WB_HTTP_SERVER (object);

  g_clear_pointer (&self->listeners, g_ptr_array_unref);
  if (self->soup)
    soup_server_disconnect (self->soup);
  g_clear_object (&self->soup_listener);
  g_clear_object (&self->soup);
  close_idle_connections (self, TRUE);
  if (self->deadlines != NULL)
    {
      g_source_destroy (self->deadlines);
      g_clear_pointer (&self->deadlines, g_source_unref);
    }

  G_OBJECT_CLASS (wb_http_server_parent_class)->dispose (object);
}

static void
wb_http_server_finalize (GObject *object)
{
  WbHttpServer *self = WB_HTTP_SERVER (object);

  g_clear_object (&self->metrics);
  g_clear_object (&self->tracing);
  g_clear_pointer (&self->auth_secret, g_bytes_unref);
  g_clear_pointer (&self->unavailable, g_free);
  g_clear_pointer (&self->routes, g_ptr_array_unref);
  g_clear_pointer (&self->websockets, g_ptr_array_unref);
  g_clear_pointer (&self->connections_per_peer, g_hash_table_unref);
  g_clear_pointer (&self->open_connections, g_hash_table_unref);

  G_OBJECT_CLASS (wb_http_server_parent_class)->finalize (object);
}

static void
wb_http_server_class_init (WbHttpServerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = wb_http_server_dispose;
  object_class->finalize = wb_http_server_finalize;
}

static void
wb_http_server_init (WbHttpServer *self)
{
  self->routes = g_ptr_array_new_with_free_func (route_free);
  self->websockets = g_ptr_array_new_with_free_func (route_free);
  self->connections_per_peer = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->open_connections = g_hash_table_new (NULL, NULL);
  self->listeners = g_ptr_array_new_with_free_func (listener_free);
  self->soup = soup_server_new ("server-header", "waybilld/" PACKAGE_VERSION " ", NULL);
  g_signal_connect_object (self->soup, "request-started", G_CALLBACK (on_request_started), self, 0);
  soup_server_add_early_handler (self->soup, NULL, early_handler, self, NULL);
  soup_server_add_handler (self->soup, NULL, main_handler, self, NULL);
}

static void
declare_metrics (WbMetrics *metrics)
{
  wb_metrics_declare (metrics, "waybill_http_requests_total", WB_METRIC_COUNTER,
                      "HTTP requests answered, by route pattern, method and status.", NULL, 0);
  wb_metrics_declare (metrics, "waybill_http_request_duration_seconds", WB_METRIC_HISTOGRAM,
                      "Time from request start to the answer being sent, by route pattern.",
                      duration_buckets, G_N_ELEMENTS (duration_buckets));
  wb_metrics_declare (metrics, "waybill_http_requests_in_flight", WB_METRIC_GAUGE,
                      "HTTP requests being processed.", NULL, 0);
  wb_metrics_declare (metrics, "waybill_http_connections_open", WB_METRIC_GAUGE,
                      "Open HTTP client connections.", NULL, 0);
  wb_metrics_declare (metrics, "waybill_http_connections_rejected_total", WB_METRIC_COUNTER,
                      "Connections refused by a connection limit, by limit.", NULL, 0);
  wb_metrics_gauge_set (metrics, "waybill_http_requests_in_flight", 0, NULL);
  wb_metrics_gauge_set (metrics, "waybill_http_connections_open", 0, NULL);
}

/**
 * wb_http_server_new:
 * @metrics: where request figures go
 * @limits: the hardening limits
 *
 * Returns: (transfer full): a server with no routes, not yet listening
 */
WbHttpServer *
wb_http_server_new (WbMetrics          *metrics,
                    const WbHttpLimits *limits)
{
  WbHttpServer *self;

  g_return_val_if_fail (WB_IS_METRICS (metrics), NULL);
  g_return_val_if_fail (limits != NULL, NULL);

  self = g_object_new (WB_TYPE_HTTP_SERVER, NULL);
  self->metrics = g_object_ref (metrics);
  self->limits = *limits;
  declare_metrics (metrics);
  return self;
}

/**
 * wb_http_server_set_auth_secret:
 * @secret: (nullable): the HS256 key; %NULL serves without authentication
 */
void
wb_http_server_set_auth_secret (WbHttpServer *self,
                                GBytes       *secret)
{
  g_return_if_fail (WB_IS_HTTP_SERVER (self));

  g_clear_pointer (&self->auth_secret, g_bytes_unref);
  self->auth_secret = secret ? g_bytes_ref (secret) : NULL;
}

/**
 * wb_http_server_set_tracing:
 * @exporter: (nullable): where each request's span goes; %NULL for none
 *
 * Records one SERVER span per request that got as far as its headers.
 */
void
wb_http_server_set_tracing (WbHttpServer   *self,
                            WbOtlpExporter *exporter)
{
  g_return_if_fail (WB_IS_HTTP_SERVER (self));
  g_return_if_fail (exporter == NULL || WB_IS_OTLP_EXPORTER (exporter));

  g_set_object (&self->tracing, exporter);
}

/**
 * wb_http_server_add_route:
 * @method: an HTTP method, or "*" for any
 * @pattern: an absolute path whose "{name}" segments capture parameters
 * @min_role: the least role allowed, or %WB_ACCESS_ROLE_NONE for a public route
 */
void
wb_http_server_add_route (WbHttpServer  *self,
                          const char    *method,
                          const char    *pattern,
                          WbAccessRole         min_role,
                          WbHttpHandler  handler,
                          gpointer       user_data)
{
  Route *route;

  g_return_if_fail (WB_IS_HTTP_SERVER (self));
  g_return_if_fail (method != NULL);
  g_return_if_fail (pattern != NULL && pattern[0] == '/');
  g_return_if_fail (handler != NULL);

  route = g_new0 (Route, 1);
  route->method = g_strdup (method);
  route->pattern = g_strdup (pattern);
  route->segments = g_strsplit (pattern, "/", -1);
  route->min_role = min_role;
  route->handler = handler;
  route->user_data = user_data;
  g_ptr_array_add (self->routes, route);
}

void
wb_http_server_add_routes (WbHttpServer      *self,
                           const WbHttpRoute *routes,
                           gsize              n_routes,
                           gpointer           user_data)
{
  g_return_if_fail (WB_IS_HTTP_SERVER (self));
  g_return_if_fail (routes != NULL || n_routes == 0);

  for (gsize i = 0; i < n_routes; i++)
    wb_http_server_add_route (self, routes[i].method, routes[i].pattern, routes[i].min_role,
                              routes[i].handler, user_data);
}

/**
 * wb_http_server_set_body_limit:
 * @max_body_size: the largest body the route takes, in bytes, instead of
 *   the server's limit (a bulk upload takes more than a PUT)
 */
void
wb_http_server_set_body_limit (WbHttpServer *self,
                               const char   *method,
                               const char   *pattern,
                               guint64       max_body_size)
{
  g_return_if_fail (WB_IS_HTTP_SERVER (self));

  for (guint i = 0; i < self->routes->len; i++)
    {
      Route *route = g_ptr_array_index (self->routes, i);

      if (g_str_equal (route->method, method) && g_str_equal (route->pattern, pattern))
        route->max_body_size = max_body_size;
    }
}

/* ---- WebSockets ----------------------------------------------------------- */

/* An accepted handshake on its way to the endpoint's main context. */
typedef struct
{
  Route        *route;
  GIOStream    *stream;
  GSocket      *socket;
  char         *peer;
  WbAccessRole  role;
  char         *subject;
  gint64        expires_at;
} Upgrade;

static void
upgrade_free (gpointer data)
{
  Upgrade *upgrade = data;

  g_clear_object (&upgrade->stream);
  g_clear_object (&upgrade->socket);
  g_free (upgrade->peer);
  g_free (upgrade->subject);
  g_free (upgrade);
}

/* In the endpoint's context: the connection's I/O is watched there. */
static gboolean
finish_upgrade (gpointer data)
{
  Upgrade *upgrade = data;

  upgrade->route->websocket (upgrade->stream, upgrade->socket, upgrade->peer, upgrade->role, upgrade->subject,
                             upgrade->expires_at, upgrade->route->user_data);
  return G_SOURCE_REMOVE;
}

/* The 101 is out: the connection leaves libsoup's HTTP side here. */
static void
on_upgrade_written (SoupServerMessage *message,
                    gpointer           data)
{
  Route *route = data;
  WbHttpRequest *request = request_get (message);
  g_autoptr(SoupServerMessage) keep = g_object_ref (message);
  Upgrade *upgrade = g_new0 (Upgrade, 1);

  g_signal_handlers_disconnect_by_func (message, on_upgrade_written, data);
  upgrade->route = route;
  upgrade->socket = g_object_ref (request->socket);
  upgrade->peer = g_strdup (request->peer);
  upgrade->role = request->role;
  upgrade->subject = g_strdup (request->subject);
  upgrade->expires_at = request->expires_at;
  upgrade->stream = soup_server_message_steal_connection (message);
  if (upgrade->stream == NULL)
    {
      upgrade_free (upgrade);
      return;
    }
  g_main_context_invoke_full (route->picker ? route->picker (route->user_data)
                              : route->context ? route->context : g_main_context_get_thread_default (),
                              G_PRIORITY_DEFAULT, finish_upgrade, upgrade, upgrade_free);
}

/* The request passed the route's checks (early_handler()). permessage-
 * deflate is not offered: no extensions. */
static void
upgrade_websocket (WbHttpRequest *request)
{
  SoupServerMessage *message = request->message;

  if (!soup_websocket_server_process_handshake (message, NULL, NULL, NULL, NULL))
    {
      request->responded = TRUE;
      return;
    }
  g_signal_connect (message, "wrote-informational", G_CALLBACK (on_upgrade_written), request->route);
}

/**
 * wb_http_server_add_websocket:
 * @path: the endpoint's exact path
 * @min_role: the least role allowed
 * @handler: takes each upgraded connection
 * @context: (nullable): the main context @handler runs in, and the
 *   connection's I/O with it, or %NULL for the server's own
 *
 * A WebSocket endpoint with the routes' checks (header limits, the bearer
 * token from the Authorization header or, since browsers cannot set
 * headers on a handshake, an access_token query parameter). It is not a
 * REST route: the OpenAPI document does not list it. permessage-deflate is
 * not offered (see docs/live.md). The server answers the handshake; from
 * the 101 on, the connection belongs to @context, which may run on
 * another thread.
 */
void
wb_http_server_add_websocket (WbHttpServer           *self,
                              const char             *path,
                              WbAccessRole            min_role,
                              WbHttpWebsocketHandler  handler,
                              gpointer                user_data,
                              GMainContext           *context)
{
  Route *route;

  g_return_if_fail (WB_IS_HTTP_SERVER (self));
  g_return_if_fail (path != NULL && path[0] == '/');
  g_return_if_fail (handler != NULL);

  route = g_new0 (Route, 1);
  route->method = g_strdup ("GET");
  route->pattern = g_strdup (path);
  route->segments = g_strsplit (path, "/", -1);
  route->min_role = min_role;
  route->websocket = handler;
  route->user_data = user_data;
  route->context = context ? g_main_context_ref (context) : NULL;
  g_ptr_array_add (self->websockets, route);
  /* libsoup keeps one handler per path: the catch-all handlers do not run
   * for this one unless registered on it too. */
  soup_server_add_early_handler (self->soup, path, early_handler, self, NULL);
  soup_server_add_handler (self->soup, path, main_handler, self, NULL);
}

/**
 * wb_http_server_set_websocket_picker:
 * @path: an endpoint added with wb_http_server_add_websocket()
 * @picker: chooses, per connection, the context it goes to instead of
 *   the endpoint's one (spreading the connections over threads)
 */
void
wb_http_server_set_websocket_picker (WbHttpServer          *self,
                                     const char            *path,
                                     WbHttpWebsocketPicker  picker)
{
  g_return_if_fail (WB_IS_HTTP_SERVER (self));

  for (guint i = 0; i < self->websockets->len; i++)
    {
      Route *route = g_ptr_array_index (self->websockets, i);

      if (g_str_equal (route->pattern, path))
        route->picker = picker;
    }
}

/**
 * wb_http_server_set_unavailable:
 * @reason: (nullable): why, or %NULL when the API is available again
 *
 * While set, every authenticated route answers 503 with Retry-After (public
 * routes such as /readyz keep answering): the daemon sets it until its
 * database is migrated, so no handler ever runs against a missing schema.
 */
void
wb_http_server_set_unavailable (WbHttpServer *self,
                                const char   *reason)
{
  g_return_if_fail (WB_IS_HTTP_SERVER (self));

  g_free (self->unavailable);
  self->unavailable = g_strdup (reason);
}

/**
 * wb_http_server_document_route:
 * @operation_json: an OpenAPI 3 Operation Object, as JSON text
 *
 * Attaches the route's documentation; /openapi.json is built from these, so
 * the document and the routing table are one list.
 */
void
wb_http_server_document_route (WbHttpServer *self,
                               const char   *method,
                               const char   *pattern,
                               const char   *operation_json)
{
  g_return_if_fail (WB_IS_HTTP_SERVER (self));
  g_return_if_fail (method != NULL && pattern != NULL && operation_json != NULL);

  for (guint i = 0; i < self->routes->len; i++)
    {
      Route *route = g_ptr_array_index (self->routes, i);

      if (g_str_equal (route->method, method) && g_str_equal (route->pattern, pattern))
        {
          g_free (route->operation_json);
          route->operation_json = g_strdup (operation_json);
          return;
        }
    }
  g_critical ("No route %s %s to document", method, pattern);
}

/**
 * wb_http_server_foreach_route:
 *
 * Calls @func for every route, in the order they were added.
 */
void
wb_http_server_foreach_route (WbHttpServer    *self,
                              WbHttpRouteFunc  func,
                              gpointer         user_data)
{
  g_return_if_fail (WB_IS_HTTP_SERVER (self));
  g_return_if_fail (func != NULL);

  for (guint i = 0; i < self->routes->len; i++)
    {
      Route *route = g_ptr_array_index (self->routes, i);

      func (route->method, route->pattern, route->min_role, route->operation_json, user_data);
    }
}

/**
 * wb_http_address_is_loopback:
 *
 * Returns: whether @address only reaches this machine
 */
gboolean
wb_http_address_is_loopback (const char *address)
{
  g_autoptr(GInetAddress) inet = NULL;

  g_return_val_if_fail (address != NULL, FALSE);

  if (g_str_equal (address, "localhost"))
    return TRUE;
  inet = g_inet_address_new_from_string (address);
  return inet != NULL && g_inet_address_get_is_loopback (inet);
}

/* SoupServer keeps a connection alive after a request only while it has a
 * listener of its own. This one is on a local socket with a kernel-chosen
 * abstract name and gets no connections: every one comes in through
 * on_incoming() (a stray one is answered 503 and closed). */
static gboolean
ensure_soup_listener (WbHttpServer  *self,
                      GError       **error)
{
  g_autoptr(GSocket) socket = NULL;
  struct sockaddr_un unnamed = { .sun_family = AF_UNIX };

  if (self->soup_listener != NULL)
    return TRUE;
  socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, error);
  if (socket == NULL)
    return FALSE;
  /* An address of the family alone asks Linux for an abstract name. */
  if (bind (g_socket_get_fd (socket), (struct sockaddr *) &unnamed, sizeof (sa_family_t)) != 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "Could not bind a local socket: %s", g_strerror (saved));
      return FALSE;
    }
  if (!g_socket_listen (socket, error) || !soup_server_listen_socket (self->soup, socket, 0, error))
    return FALSE;
  self->soup_listener = g_steal_pointer (&socket);
  return TRUE;
}

/* GSocket's default queue of 10 overflows when many clients (a fleet's
 * trackers after an outage) connect at once: the socket is made here. */
static gboolean
listen_on (WbHttpServer  *self,
           GInetAddress  *inet,
           guint          port,
           GError       **error)
{
  g_autoptr(GSocketAddress) wanted = g_inet_socket_address_new (inet, port);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GSocket) socket = NULL;
  Listener *listener;

  if (!ensure_soup_listener (self, error))
    return FALSE;
  socket = g_socket_new (g_inet_address_get_family (inet), G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);
  if (socket == NULL)
    return FALSE;
  g_socket_set_listen_backlog (socket, LISTEN_BACKLOG);
  if (!g_socket_bind (socket, wanted, TRUE, error) || !g_socket_listen (socket, error))
    return FALSE;
  bound = g_socket_get_local_address (socket, error);
  if (bound == NULL)
    return FALSE;
  self->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_socket_set_blocking (socket, FALSE);
  listener = g_new0 (Listener, 1);
  listener->server = self;
  listener->socket = g_steal_pointer (&socket);
  listener_watch (listener);
  g_ptr_array_add (self->listeners, listener);
  return TRUE;
}

/**
 * wb_http_server_listen:
 * @address: an IP address, "localhost", or "*" (also "0.0.0.0", "::") for all
 * @port: the TCP port, 0 for any free one (see wb_http_server_get_port())
 */
gboolean
wb_http_server_listen (WbHttpServer  *self,
                       const char    *address,
                       guint          port,
                       GError       **error)
{
  g_autoptr(GInetAddress) inet = NULL;
  g_autoptr(GError) v6_error = NULL;

  g_return_val_if_fail (WB_IS_HTTP_SERVER (self), FALSE);
  g_return_val_if_fail (address != NULL, FALSE);

  if (g_str_equal (address, "*") || g_str_equal (address, "0.0.0.0") || g_str_equal (address, "::"))
    {
      /* "::" takes IPv4 too (Linux's dual-stack default); without IPv6,
       * IPv4 alone. */
      inet = g_inet_address_new_any (G_SOCKET_FAMILY_IPV6);
      if (!listen_on (self, inet, port, &v6_error))
        {
          g_clear_object (&inet);
          inet = g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);
          if (!listen_on (self, inet, port, error))
            return FALSE;
        }
      return TRUE;
    }

  inet = g_str_equal (address, "localhost") ? g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4)
                                              : g_inet_address_new_from_string (address);
  if (inet == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "“%s” is not an IP address", address);
      return FALSE;
    }
  return listen_on (self, inet, port, error);
}

guint
wb_http_server_get_port (WbHttpServer *self)
{
  g_return_val_if_fail (WB_IS_HTTP_SERVER (self), 0);
  return self->port;
}

/* Stops taking new connections; requests in flight go on. */
void
wb_http_server_stop_accepting (WbHttpServer *self)
{
  g_return_if_fail (WB_IS_HTTP_SERVER (self));

  g_ptr_array_set_size (self->listeners, 0);
  /* Requests in flight are answered with Connection: close; connections
   * waiting for a next request are closed now. */
  self->stopping = TRUE;
  close_idle_connections (self, FALSE);
}

guint
wb_http_server_get_in_flight (WbHttpServer *self)
{
  g_return_val_if_fail (WB_IS_HTTP_SERVER (self), 0);
  return self->in_flight;
}

void
wb_http_server_disconnect (WbHttpServer *self)
{
  g_return_if_fail (WB_IS_HTTP_SERVER (self));

  soup_server_disconnect (self->soup);
}

/* ---- entity-tags ---------------------------------------------------------- */

static void
entity_tag_clear (gpointer data)
{
  WbEntityTag *tag = data;

  g_free (tag->opaque);
}

/* OWS: spaces and horizontal tabs. */
static const char *
skip_ows (const char *p)
{
  while (*p == ' ' || *p == '\t')
    p++;
  return p;
}

/* etagc: %x21 / %x23-7E / obs-text, i.e. any visible character but '"'. */
static gboolean
is_etagc (guchar c)
{
  return c == 0x21 || (c >= 0x23 && c <= 0x7e) || c >= 0x80;
}

/* One entity-tag at *p; moves *p past it. */
static gboolean
read_entity_tag (const char  **p,
                 WbEntityTag  *out_tag)
{
  const char *start;
  const char *q = *p;

  out_tag->weak = g_str_has_prefix (q, "W/");
  if (out_tag->weak)
    q += 2;
  if (*q != '"')
    return FALSE;
  start = ++q;
  while (is_etagc (*q))
    q++;
  if (*q != '"')
    return FALSE;
  out_tag->opaque = g_strndup (start, q - start);
  *p = q + 1;
  return TRUE;
}

static WbEntityTagList *
entity_tag_list_new (void)
{
  WbEntityTagList *list = g_new0 (WbEntityTagList, 1);

  list->tags = g_array_new (FALSE, TRUE, sizeof (WbEntityTag));
  g_array_set_clear_func (list->tags, entity_tag_clear);
  return list;
}

/**
 * wb_entity_tag_list_parse:
 * @value: the field value; several lines of the field joined with ", "
 *
 * Parses `"*" / #entity-tag`. Empty list elements are skipped as RFC 9110
 * §5.6.1.2 asks; a value naming no entity-tag at all is refused, since a
 * client that sends the field means to name one.
 *
 * Returns: (transfer full): the list, or %NULL with a %G_IO_ERROR_INVALID_DATA
 *   error telling what is wrong
 */
WbEntityTagList *
wb_entity_tag_list_parse (const char  *value,
                          GError     **error)
{
  g_autoptr(WbEntityTagList) list = entity_tag_list_new ();
  const char *p = skip_ows (value);

  g_return_val_if_fail (value != NULL, NULL);

  if (*p == '*' && *skip_ows (p + 1) == '\0')
    {
      list->any = TRUE;
      return g_steal_pointer (&list);
    }
  while (*p != '\0')
    {
      WbEntityTag tag = { NULL, FALSE };

      if (*p == ',')
        {
          p = skip_ows (p + 1);
          continue;
        }
      if (!read_entity_tag (&p, &tag))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "must be * or a list of entity-tags such as \"3\" (quotes included), "
                       "as the ETag header gives them");
          return NULL;
        }
      g_array_append_val (list->tags, tag);
      p = skip_ows (p);
      if (*p != '\0' && *p != ',')
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "entity-tags must be separated by commas");
          return NULL;
        }
    }
  if (list->tags->len == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "names no entity-tag");
      return NULL;
    }
  return g_steal_pointer (&list);
}

void
wb_entity_tag_list_free (WbEntityTagList *list)
{
  if (list == NULL)
    return;
  g_array_unref (list->tags);
  g_free (list);
}

/**
 * wb_entity_tag_list_match:
 * @opaque: the opaque-tag of the current representation's strong ETag,
 *   without quotes
 * @weak_comparison: %TRUE for If-None-Match, %FALSE for If-Match
 *
 * Returns: whether @list names the current representation: "*" always
 *   does; under the strong comparison (If-Match, RFC 9110 §8.8.3.2) a
 *   weak tag never matches
 */
gboolean
wb_entity_tag_list_match (const WbEntityTagList *list,
                          const char            *opaque,
                          gboolean               weak_comparison)
{
  g_return_val_if_fail (list != NULL, FALSE);
  g_return_val_if_fail (opaque != NULL, FALSE);

  if (list->any)
    return TRUE;
  for (guint i = 0; i < list->tags->len; i++)
    {
      const WbEntityTag *tag = &g_array_index (list->tags, WbEntityTag, i);

      if ((weak_comparison || !tag->weak) && g_str_equal (tag->opaque, opaque))
        return TRUE;
    }
  return FALSE;
}

/**
 * wb_http_request_get_entity_tags:
 * @name: "If-Match" or "If-None-Match"
 *
 * Returns: (transfer full) (nullable): the header's entity-tags, all its
 *   lines together; %NULL without @error set when the request has none
 */
WbEntityTagList *
wb_http_request_get_entity_tags (WbHttpRequest  *request,
                                 const char     *name,
                                 GError        **error)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (request->message);
  const char *value = soup_message_headers_get_list (headers, name);

  return value != NULL ? wb_entity_tag_list_parse (value, error) : NULL;
}
