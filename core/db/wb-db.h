// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <gio/gio.h>
#include <libpq-fe.h>

G_BEGIN_DECLS

#define WB_DB_ERROR (wb_db_error_quark ())

typedef enum
{
  WB_DB_ERROR_CONNECT,          /* a connection attempt failed */
  WB_DB_ERROR_UNAVAILABLE,      /* server gone, pool backing off or closed */
  WB_DB_ERROR_QUERY,            /* the server rejected a statement; see the SQLSTATE */
  WB_DB_ERROR_MIGRATION,        /* a migration failed or does not match what was applied */
  WB_DB_ERROR_SCHEMA_TOO_NEW,   /* the database was migrated by a newer binary */
  WB_DB_ERROR_CLUSTER,          /* the embedded cluster could not be set up or run */
  WB_DB_ERROR_CANCELLED,        /* the caller's GCancellable fired */
} WbDbError;

GQuark      wb_db_error_quark            (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PGresult, PQclear)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PGconn, PQfinish)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PQconninfoOption, PQconninfoFree)

/**
 * wb_db_error_get_sqlstate:
 *
 * Returns: the five-character SQLSTATE the server reported for @error
 *   (e.g. "23505"), or %NULL when @error did not come from the server.
 */
const char *wb_db_error_get_sqlstate     (const GError   *error);

/**
 * wb_db_set_error_from_result:
 * @result: (nullable): the failed result; %NULL uses @conn's error message
 * @what: what was being done, as a prefix for the message
 *
 * Sets @error from a failed statement. A lost connection or a server in
 * shutdown gives %WB_DB_ERROR_UNAVAILABLE, anything else %WB_DB_ERROR_QUERY;
 * the message ends with the SQLSTATE, which wb_db_error_get_sqlstate() returns.
 */
void        wb_db_set_error_from_result  (GError        **error,
                                          PGconn         *conn,
                                          const PGresult *result,
                                          const char     *what);

/**
 * wb_db_connect:
 * @conninfo: a libpq connection string or URI; "" uses libpq's defaults
 *
 * Opens a blocking connection with Waybill's defaults (connect_timeout,
 * TCP keepalives, application_name; the conninfo's own values win) and
 * server notices routed to g_debug().
 *
 * Returns: (transfer full): the connection, or %NULL with %WB_DB_ERROR_CONNECT
 */
PGconn     *wb_db_connect                (const char     *conninfo,
                                          GError        **error);

/**
 * wb_db_exec:
 * @params: (array length=n_params) (nullable): text parameters, NULL
 *   entries being SQL NULL
 * @cancellable: (nullable): cancels the running statement on the server
 *
 * Runs one parameterized statement (PQsendQueryParams, never interpolated)
 * and waits for it. Blocking: call it from a thread.
 *
 * Returns: (transfer full): a result with status PGRES_COMMAND_OK or
 *   PGRES_TUPLES_OK, or %NULL with @error set
 */
PGresult   *wb_db_exec                   (PGconn             *conn,
                                          const char         *sql,
                                          const char * const *params,
                                          int                 n_params,
                                          GCancellable       *cancellable,
                                          GError            **error);

/**
 * wb_db_exec_command:
 *
 * wb_db_exec() for a statement whose rows, if any, are not wanted
 * (BEGIN, SAVEPOINT, an UPDATE whose count does not matter).
 *
 * Returns: whether the statement succeeded
 */
gboolean    wb_db_exec_command           (PGconn             *conn,
                                          const char         *sql,
                                          const char * const *params,
                                          int                 n_params,
                                          GCancellable       *cancellable,
                                          GError            **error);

/**
 * wb_db_describe_conninfo:
 *
 * Returns: (transfer full): "user@host:port/dbname" for logs; never
 *   includes a password
 */
char       *wb_db_describe_conninfo      (const char     *conninfo);

G_END_DECLS
