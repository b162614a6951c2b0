// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include <glib/gi18n.h>

#include <adwaita.h>
#include "wb-client.h"
#include "wb-first-run-page.h"

struct _WbFirstRunPage
{
  GtkWidget     parent_instance;

  WbClient     *client;
  GCancellable *cancellable;
  GError       *error;
  char         *url;      /* being checked */
  char         *token;

  AdwEntryRow  *url_row;
  AdwEntryRow  *token_row;
  GtkLabel     *error_label;
  GtkSpinner   *spinner;
};

enum
{
  CONNECTED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_QUARK (wb-first-run-error-quark, wb_first_run_error)
G_DEFINE_FINAL_TYPE (WbFirstRunPage, wb_first_run_page, GTK_TYPE_WIDGET)

static void
show_error (WbFirstRunPage *self,
            GError         *error)
{
  g_clear_error (&self->error);
  self->error = error;
  gtk_label_set_text (self->error_label, error ? error->message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), error != NULL);
}

static void
set_checking (WbFirstRunPage *self,
              gboolean        checking)
{
  gtk_spinner_set_spinning (self->spinner, checking);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "first-run.connect", !checking);
}

/* A base URL the console can append paths to: http(s), a host, no query. */
static char *
normalize_url (const char  *text,
               GError     **error)
{
  g_autoptr(GUri) uri = NULL;
  g_autofree char *stripped = g_strstrip (g_strdup (text ? text : ""));
  const char *scheme;

  uri = g_uri_parse (stripped, G_URI_FLAGS_NONE, NULL);
  scheme = uri ? g_uri_get_scheme (uri) : NULL;
  if (uri == NULL || scheme == NULL
      || (g_ascii_strcasecmp (scheme, "http") != 0 && g_ascii_strcasecmp (scheme, "https") != 0)
      || g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0'
      || g_uri_get_query (uri) != NULL || g_uri_get_fragment (uri) != NULL)
    {
      g_set_error (error, WB_FIRST_RUN_ERROR, WB_FIRST_RUN_ERROR_BAD_URL,
                   "“%s” is not a server URL: give http:// or https://, a host and an optional port", stripped);
      return NULL;
    }
  while (*stripped && g_str_has_suffix (stripped, "/"))
    stripped[strlen (stripped) - 1] = '\0';
  return g_steal_pointer (&stripped);
}

static void
finish_check (WbFirstRunPage *self,
              GError         *error,
              const char     *role)
{
  set_checking (self, FALSE);
  show_error (self, error);
  if (error == NULL)
    g_signal_emit (self, signals[CONNECTED], 0, self->url, self->token, role);
}

/* The client's errors in the page's terms. */
static GError *
check_error (WbFirstRunPage *self,
             GError         *error)
{
  int code = WB_FIRST_RUN_ERROR_NOT_READY;

  if (g_error_matches (error, WB_CLIENT_ERROR, WB_CLIENT_ERROR_UNAUTHORIZED) && *self->token == '\0')
    return g_error_new_literal (WB_FIRST_RUN_ERROR, WB_FIRST_RUN_ERROR_NO_TOKEN,
                                _("The server needs an access token: ask its administrator for one"));
  if (g_error_matches (error, WB_CLIENT_ERROR, WB_CLIENT_ERROR_UNAUTHORIZED)
      || g_error_matches (error, WB_CLIENT_ERROR, WB_CLIENT_ERROR_FORBIDDEN))
    return g_error_new (WB_FIRST_RUN_ERROR, WB_FIRST_RUN_ERROR_REFUSED, _("The server refused the token: %s"),
                        error->message);
  if (g_error_matches (error, WB_CLIENT_ERROR, WB_CLIENT_ERROR_INVALID_RESPONSE)
      || g_error_matches (error, WB_CLIENT_ERROR, WB_CLIENT_ERROR_NOT_FOUND))
    code = WB_FIRST_RUN_ERROR_BAD_ANSWER;
  return g_error_new (WB_FIRST_RUN_ERROR, code, "%s: %s", self->url, error->message);
}

static void
on_whoami (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(WbFirstRunPage) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *role = NULL;

  if (!wb_client_whoami_finish (WB_CLIENT (source), result, &role, NULL, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        finish_check (self, check_error (self, error), NULL);
      return;
    }
  finish_check (self, NULL, role);
}

static void
on_readyz (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(WbFirstRunPage) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!wb_client_readyz_finish (WB_CLIENT (source), result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      /* Whatever failed, the server is not one to save yet. */
      if (error->domain == WB_CLIENT_ERROR && error->code != WB_CLIENT_ERROR_INVALID_RESPONSE)
        {
          finish_check (self, g_error_new (WB_FIRST_RUN_ERROR, WB_FIRST_RUN_ERROR_NOT_READY,
                                           "%s is not ready: %s", self->url, error->message), NULL);
          return;
        }
      finish_check (self, check_error (self, error), NULL);
      return;
    }
  wb_client_whoami_async (self->client, self->cancellable, on_whoami, g_object_ref (self));
}

void
wb_first_run_page_connect (WbFirstRunPage *self)
{
  g_autofree char *token = NULL;
  GError *error = NULL;
  char *url;

  g_return_if_fail (WB_IS_FIRST_RUN_PAGE (self));

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  url = normalize_url (gtk_editable_get_text (GTK_EDITABLE (self->url_row)), &error);
  if (url == NULL)
    {
      finish_check (self, error, NULL);
      return;
    }
  /* An empty token is allowed: a daemon without a secret serves its
   * loopback address without one, and /whoami says whether it does. */
  token = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->token_row))));
  g_free (self->url);
  self->url = url;
  g_free (self->token);
  self->token = g_steal_pointer (&token);
  self->cancellable = g_cancellable_new ();
  g_clear_object (&self->client);
  self->client = wb_client_new (self->url, *self->token ? self->token : NULL);
  /* A person is waiting for the answer. */
  wb_client_set_timeout (self->client, 10 * 1000);
  show_error (self, NULL);
  set_checking (self, TRUE);
  wb_client_readyz_async (self->client, self->cancellable, on_readyz, g_object_ref (self));
}

static void
connect_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  wb_first_run_page_connect (WB_FIRST_RUN_PAGE (widget));
}

void
wb_first_run_page_set_url (WbFirstRunPage *self,
                           const char     *url)
{
  g_return_if_fail (WB_IS_FIRST_RUN_PAGE (self));
  gtk_editable_set_text (GTK_EDITABLE (self->url_row), url ? url : "");
}

void
wb_first_run_page_set_token (WbFirstRunPage *self,
                             const char     *token)
{
  g_return_if_fail (WB_IS_FIRST_RUN_PAGE (self));
  gtk_editable_set_text (GTK_EDITABLE (self->token_row), token ? token : "");
}

const GError *
wb_first_run_page_get_error (WbFirstRunPage *self)
{
  g_return_val_if_fail (WB_IS_FIRST_RUN_PAGE (self), NULL);
  return self->error;
}

gboolean
wb_first_run_page_get_checking (WbFirstRunPage *self)
{
  g_return_val_if_fail (WB_IS_FIRST_RUN_PAGE (self), FALSE);
  return gtk_spinner_get_spinning (self->spinner);
}

static void
wb_first_run_page_dispose (GObject *object)
{
  GtkWidget *child;
  WbFirstRunPage *self = WB_FIRST_RUN_PAGE (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->client);
  gtk_widget_dispose_template (GTK_WIDGET (self), WB_TYPE_FIRST_RUN_PAGE);
  /* Template children without an id are ours to unparent too. */
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);
  G_OBJECT_CLASS (wb_first_run_page_parent_class)->dispose (object);
}

static void
wb_first_run_page_finalize (GObject *object)
{
  WbFirstRunPage *self = WB_FIRST_RUN_PAGE (object);

  g_clear_error (&self->error);
  g_clear_pointer (&self->url, g_free);
  g_clear_pointer (&self->token, g_free);
  G_OBJECT_CLASS (wb_first_run_page_parent_class)->finalize (object);
}

static void
wb_first_run_page_class_init (WbFirstRunPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = wb_first_run_page_dispose;
  object_class->finalize = wb_first_run_page_finalize;

  /* ::connected (url, token, role): the server answered both checks;
   * token is "" when the server needs none. */
  signals[CONNECTED] =
    g_signal_new ("connected", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING);

  gtk_widget_class_install_action (widget_class, "first-run.connect", NULL, connect_action);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/waybill/Waybill/wb-first-run-page.ui");
  gtk_widget_class_bind_template_child (widget_class, WbFirstRunPage, url_row);
  gtk_widget_class_bind_template_child (widget_class, WbFirstRunPage, token_row);
  gtk_widget_class_bind_template_child (widget_class, WbFirstRunPage, error_label);
  gtk_widget_class_bind_template_child (widget_class, WbFirstRunPage, spinner);
}

static void
wb_first_run_page_init (WbFirstRunPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
wb_first_run_page_new (void)
{
  return g_object_new (WB_TYPE_FIRST_RUN_PAGE, NULL);
}
