// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-db.h"

G_BEGIN_DECLS

/* The schema is a series of numbered SQL files (data/migrations/NNNN_name.sql)
 * compiled into the binary. Each runs in its own transaction, so a file must
 * not contain BEGIN/COMMIT or statements that refuse a transaction block
 * (CREATE INDEX CONCURRENTLY). All these calls block: run them on a thread,
 * e.g. through wb_db_pool_run_async(). */

/**
 * WbMigrationsWaitFunc:
 * @holder: who holds the migration lock ("PostgreSQL backend pid 4242, …")
 *
 * Told that another session holds the migration lock, so that a caller
 * can say why it is not ready; the wait goes on after it returns.
 */
typedef void (*WbMigrationsWaitFunc) (const char *holder,
                                      gpointer    user_data);

gboolean wb_migrations_apply           (PGconn                *conn,
                                        guint                 *out_applied,
                                        GError               **error);
gboolean wb_migrations_apply_full      (PGconn                *conn,
                                        GCancellable          *cancellable,
                                        WbMigrationsWaitFunc   waiting,
                                        gpointer               user_data,
                                        guint                 *out_applied,
                                        GError               **error);
int      wb_migrations_latest_version  (void);
int      wb_migrations_current_version (PGconn                *conn,
                                        GError               **error);

G_END_DECLS
