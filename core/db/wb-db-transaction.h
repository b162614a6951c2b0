// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-db.h"

G_BEGIN_DECLS

/* How often a transaction the server asked us to repeat (a serialization
 * failure, a deadlock) is run before its error is returned. */
#define WB_DB_TRANSACTION_MAX_ATTEMPTS 4

/**
 * WbDbTransactionFunc:
 * @conn: the connection, inside the transaction
 *
 * The statements of one transaction. It may run more than once, so it
 * starts from scratch each time: whatever an earlier attempt left in
 * @user_data belongs to a transaction that was rolled back.
 *
 * Returns: %TRUE to commit; %FALSE with @error set to roll back
 */
typedef gboolean (*WbDbTransactionFunc) (PGconn        *conn,
                                         gpointer       user_data,
                                         GCancellable  *cancellable,
                                         GError       **error);

gboolean wb_db_transaction_is_retryable (const GError        *error);

gboolean wb_db_transaction_run          (PGconn              *conn,
                                         WbDbTransactionFunc  func,
                                         gpointer             user_data,
                                         GCancellable        *cancellable,
                                         GError             **error);

G_END_DECLS
