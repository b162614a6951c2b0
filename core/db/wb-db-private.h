// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#if !defined (WB_DB_COMPILATION)
#error "wb-db-private.h is core/db's own; other code uses the area's public headers"
#endif

#include "wb-db.h"

G_BEGIN_DECLS

/* wb_db_exec() with a client-side deadline: after @timeout_ms (-1: none)
 * it gives up with WB_DB_ERROR_UNAVAILABLE and leaves the statement
 * running, so the connection must then be discarded (the pool does that
 * for any connection released mid-statement). */
PGresult *_wb_db_exec_full (PGconn             *conn,
                            const char         *sql,
                            const char * const *params,
                            int                 n_params,
                            GCancellable       *cancellable,
                            int                 timeout_ms,
                            GError            **error);

/* Runs several statements through the simple query protocol (compiled-in
 * SQL only, never built from input), cancellable like wb_db_exec(). */
PGresult *_wb_db_exec_script (PGconn             *conn,
                              const char         *sql,
                              GCancellable       *cancellable,
                              GError            **error);

G_END_DECLS
