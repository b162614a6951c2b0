// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "wb-jwt.h"
#include "wb-metrics.h"
#include "wb-otlp-exporter.h"

G_BEGIN_DECLS

/* Limits that SoupServer itself does not enforce; see docs/operations.md. */
typedef struct
{
  guint64 max_body_size;
  guint   max_header_count;
  guint64 max_header_size;
  guint   idle_timeout_ms;
  guint   max_connections;
  guint   max_connections_per_peer;
  guint   read_timeout_ms;     /* a request must be read this soon after the accept; 0: no limit */
} WbHttpLimits;

typedef struct _WbHttpRequest WbHttpRequest;

typedef void (*WbHttpHandler) (WbHttpRequest *request,
                               gpointer       user_data);

/* For walking the routing table, e.g. to check the OpenAPI document. */
typedef void (*WbHttpRouteFunc) (const char *method,
                                 const char *pattern,
                                 WbAccessRole      min_role,
                                 const char *operation_json,   /* NULL if undocumented */
                                 gpointer    user_data);

/* An upgraded WebSocket and who opened it: @stream is the connection from
 * the byte after the 101 on (the handler speaks the protocol), @socket its
 * socket. @expires_at: unix seconds from which its token admits no more
 * (the token's exp plus the leeway), 0 when it never expires (no auth). */
typedef void (*WbHttpWebsocketHandler) (GIOStream               *stream,
                                        GSocket                 *socket,
                                        const char              *peer,
                                        WbAccessRole             role,
                                        const char              *subject,
                                        gint64                   expires_at,
                                        gpointer                 user_data);

/* Picks the main context an upgraded connection goes to; called on the
 * server's thread for each one, just before the hand-over.
 * Returns: (transfer none): a context that outlives the endpoint */
typedef GMainContext *(*WbHttpWebsocketPicker) (gpointer user_data);

#define WB_TYPE_HTTP_SERVER (wb_http_server_get_type ())

G_DECLARE_FINAL_TYPE (WbHttpServer, wb_http_server, WB, HTTP_SERVER, GObject)

WbHttpServer      *wb_http_server_new              (WbMetrics          *metrics,
                                                    const WbHttpLimits *limits);
void               wb_http_server_set_auth_secret  (WbHttpServer       *self,
                                                    GBytes             *secret);
void               wb_http_server_set_tracing      (WbHttpServer       *self,
                                                    WbOtlpExporter     *exporter);
void               wb_http_server_add_route        (WbHttpServer       *self,
                                                    const char         *method,
                                                    const char         *pattern,
                                                    WbAccessRole              min_role,
                                                    WbHttpHandler       handler,
                                                    gpointer            user_data);
/* One row of an API's route table, for wb_http_server_add_routes(). */
typedef struct
{
  const char    *method;
  const char    *pattern;
  WbAccessRole   min_role;
  WbHttpHandler  handler;
} WbHttpRoute;

/* Adds every route of @routes in order (the router takes the first match,
 * so literal paths go before the patterns that would capture them), each
 * with @user_data. */
void               wb_http_server_add_routes       (WbHttpServer       *self,
                                                    const WbHttpRoute  *routes,
                                                    gsize               n_routes,
                                                    gpointer            user_data);
void               wb_http_server_set_body_limit   (WbHttpServer       *self,
                                                    const char         *method,
                                                    const char         *pattern,
                                                    guint64             max_body_size);
void               wb_http_server_add_websocket    (WbHttpServer       *self,
                                                    const char         *path,
                                                    WbAccessRole        min_role,
                                                    WbHttpWebsocketHandler handler,
                                                    gpointer            user_data,
                                                    GMainContext       *context);
void               wb_http_server_set_websocket_picker (WbHttpServer   *self,
                                                    const char         *path,
                                                    WbHttpWebsocketPicker picker);
void               wb_http_server_set_unavailable  (WbHttpServer       *self,
                                                    const char         *reason);
void               wb_http_server_document_route   (WbHttpServer       *self,
                                                    const char         *method,
                                                    const char         *pattern,
                                                    const char         *operation_json);
void               wb_http_server_foreach_route    (WbHttpServer       *self,
                                                    WbHttpRouteFunc     func,
                                                    gpointer            user_data);
gboolean           wb_http_server_listen           (WbHttpServer       *self,
                                                    const char         *address,
                                                    guint               port,
                                                    GError            **error);
guint              wb_http_server_get_port         (WbHttpServer       *self);
void               wb_http_server_stop_accepting   (WbHttpServer       *self);
guint              wb_http_server_get_in_flight    (WbHttpServer       *self);
void               wb_http_server_disconnect       (WbHttpServer       *self);
gboolean           wb_http_address_is_loopback     (const char         *address);

SoupServerMessage *wb_http_request_get_message     (WbHttpRequest      *request);
const char        *wb_http_request_get_id          (WbHttpRequest      *request);
const char        *wb_http_request_get_method      (WbHttpRequest      *request);
const char        *wb_http_request_get_path        (WbHttpRequest      *request);
const char        *wb_http_request_get_param       (WbHttpRequest      *request,
                                                    const char         *name);
const char        *wb_http_request_get_query       (WbHttpRequest      *request,
                                                    const char         *name);
WbAccessRole             wb_http_request_get_role        (WbHttpRequest      *request);
const char        *wb_http_request_get_subject     (WbHttpRequest      *request);
GBytes            *wb_http_request_get_body        (WbHttpRequest      *request);
void               wb_http_request_set_header      (WbHttpRequest      *request,
                                                    const char         *name,
                                                    const char         *value);
void               wb_http_request_pause           (WbHttpRequest      *request);
void               wb_http_request_respond         (WbHttpRequest      *request,
                                                    guint               status,
                                                    const char         *content_type,
                                                    GBytes             *body);
void               wb_http_request_respond_json    (WbHttpRequest      *request,
                                                    guint               status,
                                                    JsonNode           *node);
void               wb_http_request_respond_error   (WbHttpRequest      *request,
                                                    guint               status,
                                                    const char         *code,
                                                    const char         *format,
                                                    ...) G_GNUC_PRINTF (4, 5);

/* An If-Match or If-None-Match field value (RFC 9110 §8.8.3, §13.1.1-2):
 * "*" or a list of entity-tags. */
typedef struct
{
  char     *opaque;    /* between the quotes */
  gboolean  weak;      /* W/"…" */
} WbEntityTag;

typedef struct
{
  gboolean  any;       /* "*": any current representation */
  GArray   *tags;      /* WbEntityTag, in the order given; empty for "*" */
} WbEntityTagList;

WbEntityTagList   *wb_entity_tag_list_parse        (const char         *value,
                                                    GError            **error);
void               wb_entity_tag_list_free         (WbEntityTagList    *list);
gboolean           wb_entity_tag_list_match        (const WbEntityTagList *list,
                                                    const char         *opaque,
                                                    gboolean            weak_comparison);
WbEntityTagList   *wb_http_request_get_entity_tags (WbHttpRequest      *request,
                                                    const char         *name,
                                                    GError            **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbEntityTagList, wb_entity_tag_list_free)

G_END_DECLS
