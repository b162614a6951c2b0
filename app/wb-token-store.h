// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The access token of a server, kept in the user's keyring (the Secret
 * Service, through libsecret) under the server's URL, never in GSettings
 * or a file of ours. */
void     wb_token_store_lookup_async  (const char           *server_url,
                                       GCancellable         *cancellable,
                                       GAsyncReadyCallback   callback,
                                       gpointer              user_data);
/* Returns: (transfer full) (nullable): the token, %NULL with no error when
 * the keyring holds none for that server. */
char    *wb_token_store_lookup_finish (GAsyncResult         *result,
                                       GError              **error);
void     wb_token_store_save_async    (const char           *server_url,
                                       const char           *token,
                                       GCancellable         *cancellable,
                                       GAsyncReadyCallback   callback,
                                       gpointer              user_data);
gboolean wb_token_store_save_finish   (GAsyncResult         *result,
                                       GError              **error);
/* Reads a token from a file (for scripted runs): the first line, trimmed. */
char    *wb_token_store_read_file     (const char           *path,
                                       GError              **error);

G_END_DECLS
