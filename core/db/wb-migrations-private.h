// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#if !defined (WB_DB_COMPILATION)
#error "wb-migrations-private.h is core/db's own; other code uses the area's public headers"
#endif

#include "wb-migrations.h"

G_BEGIN_DECLS

typedef struct
{
  int     version;
  char   *name;        /* "foundation" for 0001_foundation.sql */
  char   *file_name;
  GBytes *sql;         /* NULL until loaded */
  char   *checksum;    /* hex SHA-256 of sql */
} WbMigration;

/* A migration from SQL text rather than a compiled-in file, for tests. */
WbMigration *_wb_migration_new            (int                    version,
                                           const char            *name,
                                           const char            *sql);
void         _wb_migration_free           (WbMigration           *migration);

/* Parses NNNN_name.sql file names into migrations sorted by number,
 * rejecting other names and duplicate numbers. */
GPtrArray   *_wb_migrations_parse         (const char * const    *file_names,
                                           GError               **error);

/* The compiled-in migrations, loaded and sorted. */
GPtrArray   *_wb_migrations_load_compiled (GError               **error);

/* wb_migrations_apply_full() with @migrations (sorted, loaded) in place of
 * the compiled-in ones. */
gboolean     _wb_migrations_apply_list    (PGconn                *conn,
                                           GPtrArray             *migrations,
                                           GCancellable          *cancellable,
                                           WbMigrationsWaitFunc   waiting,
                                           gpointer               user_data,
                                           guint                 *out_applied,
                                           GError               **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbMigration, _wb_migration_free)

G_END_DECLS
