// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <glib.h>
#include <libpq-fe.h>

G_BEGIN_DECLS

/* A real PostgreSQL for integration tests: one cluster per test process,
 * run through WbEmbeddedPostgres (initdb, Unix socket only) in a fresh
 * temporary directory. It starts on first use, and is stopped and removed
 * at exit (atexit) or by wb_test_pg_teardown(); should the process die
 * without either, a watchdog process does both (see
 * wb_test_pg_make_state_dir()). Needs the PostgreSQL server programs (see
 * WB_PG_BINDIR). Call these from the test's main thread. */

/* The conninfo of the cluster's "waybill" database. */
const char *wb_test_pg_conninfo        (void);

/* Creates an empty database named <name_prefix>_<pid>_<n> (name_prefix:
 * lowercase letters, digits and underscores) and returns its conninfo, so
 * each test can start from a clean schema. */
char       *wb_test_pg_create_database (const char *name_prefix);

/* A fresh temporary directory (mode 0755) for a test that runs a cluster
 * of its own, e.g. WbEmbeddedPostgres or waybilld's embedded default, in
 * it or in a subdirectory. When this process exits, however it exits, a
 * server still running there is stopped and the directory removed. */
char       *wb_test_pg_make_state_dir  (void);

/* The directory holding the server's Unix socket (its data directory). */
const char *wb_test_pg_socket_dir      (void);

/* Stop and start the server, to test what happens when the database goes
 * away and comes back; the data survives. */
void        wb_test_pg_stop_server     (void);
void        wb_test_pg_start_server    (void);

/* Stops the server and removes its directory; safe to call more than once. */
void        wb_test_pg_teardown        (void);

/* SQL for a test's own checks, with at most one parameter (@param may be
 * NULL); an error fails the test. _int and _text take the one value of a
 * result of at most one row (_text: NULL for SQL NULL or no row). */
PGresult   *wb_test_pg_exec            (PGconn     *conn,
                                        const char *statement,
                                        const char *param);
void        wb_test_pg_run             (PGconn     *conn,
                                        const char *statement);
gint64      wb_test_pg_int             (PGconn     *conn,
                                        const char *statement,
                                        const char *param);
char       *wb_test_pg_text            (PGconn     *conn,
                                        const char *statement,
                                        const char *param);

G_END_DECLS
