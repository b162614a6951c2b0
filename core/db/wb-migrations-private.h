// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

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

void       _wb_migration_free   (WbMigration        *migration);

/* Parses NNNN_name.sql file names into migrations sorted by number,
 * rejecting other names and duplicate numbers. */
GPtrArray *_wb_migrations_parse (const char * const *file_names,
                                 GError            **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbMigration, _wb_migration_free)

G_END_DECLS
