// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include <glib/gi18n.h>

#include <libsecret/secret.h>

#include "wb-token-store.h"

static const SecretSchema *
token_schema (void)
{
  static const SecretSchema schema = {
    "org.waybill.Waybill.Token", SECRET_SCHEMA_NONE,
    {
      { "server", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { NULL, 0 },
    },
    0, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  };

  return &schema;
}

static void
on_lookup (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;
  char *token = secret_password_lookup_finish (result, &error);

  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, token, (GDestroyNotify) secret_password_free);
}

void
wb_token_store_lookup_async (const char          *server_url,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (server_url != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, wb_token_store_lookup_async);
  secret_password_lookup (token_schema (), cancellable, on_lookup, task,
                          "server", server_url, NULL);
}

char *
wb_token_store_lookup_finish (GAsyncResult  *result,
                              GError       **error)
{
  g_autofree char *secret = NULL;

  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  /* Hand out a plain string; the keyring's copy is wiped by its own free. */
  secret = g_task_propagate_pointer (G_TASK (result), error);
  if (secret == NULL)
    return NULL;
  {
    char *copy = g_strdup (secret);

    secret_password_wipe (secret);
    return copy;
  }
}

static void
on_store (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (secret_password_store_finish (result, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
wb_token_store_save_async (const char          *server_url,
                           const char          *token,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autofree char *label = NULL;
  GTask *task;

  g_return_if_fail (server_url != NULL);
  g_return_if_fail (token != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, wb_token_store_save_async);
  label = g_strdup_printf (_("Waybill access token for %s"), server_url);
  secret_password_store (token_schema (), SECRET_COLLECTION_DEFAULT, label, token,
                         cancellable, on_store, task, "server", server_url, NULL);
}

gboolean
wb_token_store_save_finish (GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

char *
wb_token_store_read_file (const char  *path,
                          GError     **error)
{
  g_autofree char *contents = NULL;
  char *newline;

  g_return_val_if_fail (path != NULL, NULL);

  if (!g_file_get_contents (path, &contents, NULL, error))
    return NULL;
  newline = strchr (contents, '\n');
  if (newline != NULL)
    *newline = '\0';
  g_strstrip (contents);
  if (*contents == '\0')
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s holds no token", path);
      return NULL;
    }
  return g_steal_pointer (&contents);
}
