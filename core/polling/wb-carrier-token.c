// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include "wb-carrier-token-private.h"

#define TOKEN_MARGIN_US (60 * G_USEC_PER_SEC)

struct _WbCarrierToken
{
  GObject               *driver;    /* unowned: it owns the cache */
  SoupSession           *session;
  char                  *carrier;
  WbCarrierTokenRequest  request_func;
  WbCarrierTokenAnswer   answer_func;
  WbCarrierTokenReady    ready_func;
  char                  *token;     /* secret */
  gint64                 until;     /* monotonic µs */
  SoupMessage           *request;   /* in flight, or NULL */
  GPtrArray             *waiters;   /* GTask*: checks waiting for the request */
};

WbCarrierToken *
_wb_carrier_token_new (gpointer               driver,
                       SoupSession           *session,
                       const char            *carrier,
                       WbCarrierTokenRequest  request,
                       WbCarrierTokenAnswer   answer,
                       WbCarrierTokenReady    ready)
{
  WbCarrierToken *self = g_new0 (WbCarrierToken, 1);

  self->driver = driver;
  self->session = g_object_ref (session);
  self->carrier = g_strdup (carrier);
  self->request_func = request;
  self->answer_func = answer;
  self->ready_func = ready;
  self->waiters = g_ptr_array_new ();
  return self;
}

void
_wb_carrier_token_free (WbCarrierToken *self)
{
  if (self == NULL)
    return;
  /* Every waiter holds a reference to the driver: none is left here. */
  g_assert (self->waiters->len == 0);
  g_ptr_array_unref (self->waiters);
  g_clear_object (&self->request);
  g_clear_object (&self->session);
  g_free (self->carrier);
  g_free (self->token);
  g_free (self);
}

gint64
_wb_carrier_token_margin (gint64 life_us)
{
  return MIN (TOKEN_MARGIN_US, life_us / 10);
}

const char *
_wb_carrier_token_peek (WbCarrierToken *self)
{
  if (self->token != NULL && g_get_monotonic_time () < self->until)
    return self->token;
  return NULL;
}

const char *
_wb_carrier_token_get (WbCarrierToken *self)
{
  return self->token;
}

void
_wb_carrier_token_refused (WbCarrierToken *self,
                           const char     *used)
{
  if (g_strcmp0 (self->token, used) == 0)
    g_clear_pointer (&self->token, g_free);
}

gboolean
_wb_carrier_token_retry (WbCarrierToken *self,
                         GTask          *check,
                         const char     *used,
                         gboolean       *inout_renewed,
                         WbCarrierReply *reply)
{
  if (self == NULL || reply->http_status != SOUP_STATUS_UNAUTHORIZED || *inout_renewed)
    return FALSE;
  *inout_renewed = TRUE;
  _wb_carrier_token_refused (self, used);
  wb_carrier_reply_free (reply);
  _wb_carrier_token_wait (self, check);
  return TRUE;
}

SoupMessage *
_wb_carrier_bearer_get (const char *uri,
                        const char *token)
{
  SoupMessage *message = soup_message_new ("GET", uri);
  g_autofree char *bearer = g_strconcat ("Bearer ", token ? token : "", NULL);

  if (message == NULL)
    return NULL;
  soup_message_headers_replace (soup_message_get_request_headers (message), "Authorization", bearer);
  soup_message_headers_replace (soup_message_get_request_headers (message), "Accept", "application/json");
  return message;
}

static void
return_reply (GTask          *task,
              WbCarrierReply *reply)
{
  g_task_return_pointer (task, reply, (GDestroyNotify) wb_carrier_reply_free);
  g_object_unref (task);
}

/* A failure for every waiter of one token request. */
static WbCarrierReply *
copy_failure (const WbCarrierReply *reply)
{
  WbCarrierReply *copy = wb_carrier_reply_new (reply->kind);

  copy->error = g_strdup (reply->error);
  copy->retry_at = reply->retry_at;
  copy->http_status = reply->http_status;
  return copy;
}

static void
on_token (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  WbCarrierToken *self = user_data;
  g_autoptr(GObject) driver = self->driver;   /* the request's reference */
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  g_autoptr(SoupMessage) message = g_steal_pointer (&self->request);
  g_autoptr(GPtrArray) waiters = g_steal_pointer (&self->waiters);
  g_autoptr(WbCarrierReply) reply = NULL;
  g_autofree char *token = NULL;
  gint64 life = 0;

  self->waiters = g_ptr_array_new ();
  if (body == NULL)
    reply = _wb_carrier_reply_failed ("%s: no token: %s", self->carrier, error->message);
  else if ((reply = self->answer_func (driver, message, body, &token, &life)) == NULL)
    {
      g_free (self->token);
      self->token = g_steal_pointer (&token);
      self->until = g_get_monotonic_time () + life - _wb_carrier_token_margin (life);
    }
  if (reply != NULL)
    reply->http_status = soup_message_get_status (message);
  for (guint i = 0; i < waiters->len; i++)
    {
      GTask *task = g_ptr_array_index (waiters, i);

      if (reply != NULL)
        return_reply (task, copy_failure (reply));
      else
        self->ready_func (task);
    }
}

/* The request is nobody's to cancel; the session's timeout ends it. */
void
_wb_carrier_token_wait (WbCarrierToken *self,
                        GTask          *check)
{
  if (_wb_carrier_token_peek (self) != NULL)
    {
      self->ready_func (check);
      return;
    }
  g_ptr_array_add (self->waiters, check);
  if (self->request != NULL)
    return;
  self->request = self->request_func (self->driver);
  if (self->request == NULL)
    {
      g_ptr_array_remove_index (self->waiters, self->waiters->len - 1);
      return_reply (check, _wb_carrier_reply_failed ("%s: base-url does not make a URI", self->carrier));
      return;
    }
  soup_message_headers_replace (soup_message_get_request_headers (self->request), "Accept", "application/json");
  /* The driver owns the cache: it stays until on_token() is done. */
  g_object_ref (self->driver);
  soup_session_send_and_read_async (self->session, self->request, G_PRIORITY_DEFAULT, NULL, on_token, self);
}
