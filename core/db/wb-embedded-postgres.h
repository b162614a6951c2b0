// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-db.h"

G_BEGIN_DECLS

#define WB_TYPE_EMBEDDED_POSTGRES (wb_embedded_postgres_get_type ())

G_DECLARE_FINAL_TYPE (WbEmbeddedPostgres, wb_embedded_postgres, WB, EMBEDDED_POSTGRES, GObject)

/* A private PostgreSQL cluster under <state-dir>/postgres, reachable only
 * through a Unix socket in that (0700) directory. Run as root, the server
 * runs as an existing unprivileged system user ("postgres", the
 * WbEmbeddedPostgres:server-user property), never one it creates. */

WbEmbeddedPostgres *wb_embedded_postgres_new           (const char          *state_dir);
void                wb_embedded_postgres_start_async   (WbEmbeddedPostgres  *self,
                                                        GCancellable        *cancellable,
                                                        GAsyncReadyCallback  callback,
                                                        gpointer             user_data);
gboolean            wb_embedded_postgres_start_finish  (WbEmbeddedPostgres  *self,
                                                        GAsyncResult        *result,
                                                        GError             **error);
gboolean            wb_embedded_postgres_start         (WbEmbeddedPostgres  *self,
                                                        GCancellable        *cancellable,
                                                        GError             **error);
gboolean            wb_embedded_postgres_stop          (WbEmbeddedPostgres  *self,
                                                        GError             **error);
const char         *wb_embedded_postgres_get_conninfo  (WbEmbeddedPostgres  *self);
char               *wb_embedded_postgres_dup_conninfo  (WbEmbeddedPostgres  *self,
                                                        const char          *dbname);
gboolean            wb_embedded_postgres_get_created   (WbEmbeddedPostgres  *self);
gboolean            wb_embedded_postgres_get_running   (WbEmbeddedPostgres  *self);
const char         *wb_embedded_postgres_get_state_dir (WbEmbeddedPostgres  *self);
const char         *wb_embedded_postgres_get_data_dir  (WbEmbeddedPostgres  *self);

G_END_DECLS
