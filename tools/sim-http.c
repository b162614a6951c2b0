// SPDX-License-Identifier: GPL-3.0-or-later

#include "config.h"

#include <stdlib.h>

#include "sim-http.h"

#define MAX_RETRY_AFTER_S 60

struct _WbSimHttp
{
  GObject      parent_instance;

  SoupSession *session;
  char        *authorization;
};

G_DEFINE_FINAL_TYPE (WbSimHttp, wb_sim_http, G_TYPE_OBJECT)

typedef struct
{
  char        *method;
  char        *uri;
  char        *content_type;
  GBytes      *body;
  SoupMessage *message;
  guint        retries;
  guint        failures;
  guint        status;
} Call;

static void
call_free (Call *call)
{
  g_free (call->method);
  g_free (call->uri);
  g_free (call->content_type);
  g_clear_pointer (&call->body, g_bytes_unref);
  g_clear_object (&call->message);
  g_free (call);
}

static void send_attempt (GTask *task);

static gboolean
on_retry_due (gpointer data)
{
  send_attempt (data);
  return G_SOURCE_REMOVE;
}

static void
retry_later (GTask *task,
             guint  seconds)
{
  Call *call = g_task_get_task_data (task);

  call->retries++;
  g_timeout_add_seconds_full (G_PRIORITY_DEFAULT, seconds, on_retry_due, task, NULL);
}

/* Retry-After as delay-seconds; an HTTP date or garbage counts as 1 s. */
static guint
retry_after (SoupMessage *message)
{
  const char *value = soup_message_headers_get_one (soup_message_get_response_headers (message), "Retry-After");
  guint64 seconds = 1;

  if (value == NULL || !g_ascii_string_to_unsigned (value, 10, 0, MAX_RETRY_AFTER_S, &seconds, NULL))
    return 1;
  return MAX (seconds, 1);
}

static void
on_sent (GObject      *source,
         GAsyncResult *result,
         gpointer      data)
{
  GTask *task = data;
  Call *call = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);

  if (body == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || ++call->failures >= WB_SIM_HTTP_MAX_FAILURES)
        {
          g_task_return_error (task, g_steal_pointer (&error));
          g_object_unref (task);
          return;
        }
      retry_later (task, 1);
      return;
    }
  call->failures = 0;
  call->status = soup_message_get_status (call->message);
  if (call->status == SOUP_STATUS_SERVICE_UNAVAILABLE)
    {
      if (g_task_return_error_if_cancelled (task))
        g_object_unref (task);
      else
        retry_later (task, retry_after (call->message));
      return;
    }
  g_task_return_pointer (task, g_steal_pointer (&body), (GDestroyNotify) g_bytes_unref);
  g_object_unref (task);
}

static void
send_attempt (GTask *task)
{
  WbSimHttp *self = g_task_get_source_object (task);
  Call *call = g_task_get_task_data (task);
  SoupMessageHeaders *headers;

  if (g_task_return_error_if_cancelled (task))
    {
      g_object_unref (task);
      return;
    }
  g_clear_object (&call->message);
  call->message = soup_message_new (call->method, call->uri);
  headers = soup_message_get_request_headers (call->message);
  if (self->authorization)
    soup_message_headers_replace (headers, "Authorization", self->authorization);
  if (call->body)
    soup_message_set_request_body_from_bytes (call->message, call->content_type, call->body);
  soup_session_send_and_read_async (self->session, call->message, G_PRIORITY_DEFAULT,
                                    g_task_get_cancellable (task), on_sent, task);
}

void
wb_sim_http_send_async (WbSimHttp           *self,
                        const char          *method,
                        const char          *uri,
                        const char          *content_type,
                        GBytes              *body,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  GTask *task;
  Call *call;

  g_return_if_fail (WB_IS_SIM_HTTP (self));
  g_return_if_fail (method != NULL && uri != NULL);
  g_return_if_fail (g_uri_is_valid (uri, G_URI_FLAGS_NONE, NULL));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, wb_sim_http_send_async);
  call = g_new0 (Call, 1);
  call->method = g_strdup (method);
  call->uri = g_strdup (uri);
  call->content_type = g_strdup (content_type);
  call->body = body ? g_bytes_ref (body) : NULL;
  g_task_set_task_data (task, call, (GDestroyNotify) call_free);
  send_attempt (task);
}

GBytes *
wb_sim_http_send_finish (WbSimHttp     *self,
                         GAsyncResult  *result,
                         guint         *out_status,
                         guint         *out_retries,
                         GError       **error)
{
  Call *call;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  call = g_task_get_task_data (G_TASK (result));
  if (out_status)
    *out_status = call->status;
  if (out_retries)
    *out_retries = call->retries;
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
wb_sim_http_finalize (GObject *object)
{
  WbSimHttp *self = WB_SIM_HTTP (object);

  g_clear_object (&self->session);
  g_clear_pointer (&self->authorization, g_free);

  G_OBJECT_CLASS (wb_sim_http_parent_class)->finalize (object);
}

static void
wb_sim_http_class_init (WbSimHttpClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = wb_sim_http_finalize;
}

static void
wb_sim_http_init (WbSimHttp *self)
{
}

/**
 * wb_sim_http_new:
 * @token: (nullable): a JWT sent as a bearer token
 * @max_connections: requests in flight at most (waybilld closes each
 *   connection after its answer, so this is also the connection count)
 */
WbSimHttp *
wb_sim_http_new (const char *token,
                 guint       max_connections)
{
  WbSimHttp *self;

  g_return_val_if_fail (max_connections > 0, NULL);

  self = g_object_new (WB_TYPE_SIM_HTTP, NULL);
  self->session = soup_session_new_with_options ("max-conns", max_connections,
                                                 "max-conns-per-host", max_connections,
                                                 "timeout", 60,
                                                 "user-agent", "waybill-sim/" PACKAGE_VERSION,
                                                 NULL);
  if (token && *token)
    self->authorization = g_strdup_printf ("Bearer %s", token);
  return self;
}
