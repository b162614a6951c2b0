// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include "wb-db-private.h"

#include <errno.h>
#include <string.h>

/* The SQLSTATE travels with the GError (an extended error domain), so
 * callers can tell a unique violation from a syntax error without
 * parsing the message. */
typedef struct
{
  char sqlstate[6];
} WbDbErrorPrivate;

static void
wb_db_error_private_init (WbDbErrorPrivate *priv)
{
  priv->sqlstate[0] = '\0';
}

static void
wb_db_error_private_copy (const WbDbErrorPrivate *src,
                          WbDbErrorPrivate       *dest)
{
  memcpy (dest->sqlstate, src->sqlstate, sizeof dest->sqlstate);
}

static void
wb_db_error_private_clear (WbDbErrorPrivate *priv)
{
}

G_DEFINE_EXTENDED_ERROR (WbDbError, wb_db_error)

#define SQLSTATE_QUERY_CANCELED "57014"

const char *
wb_db_error_get_sqlstate (const GError *error)
{
  WbDbErrorPrivate *priv;

  g_return_val_if_fail (error != NULL, NULL);

  if (error->domain != WB_DB_ERROR)
    return NULL;

  priv = wb_db_error_get_private (error);
  return priv->sqlstate[0] != '\0' ? priv->sqlstate : NULL;
}

/* Class 08 is "connection exception"; 57P01-57P03 are the server shutting
 * down or not accepting connections yet: all worth a retry elsewhere. */
static gboolean
sqlstate_means_unavailable (const char *sqlstate)
{
  return g_str_has_prefix (sqlstate, "08") ||
         g_str_equal (sqlstate, "57P01") ||
         g_str_equal (sqlstate, "57P02") ||
         g_str_equal (sqlstate, "57P03");
}

/* libpq's messages span lines ("…failed: No such file or directory\n\tIs
 * the server running…"); a GError message reads better as one. */
static char *
join_lines (const char *text)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  GString *out = g_string_new (NULL);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *line = g_strstrip (lines[i]);

      if (line[0] == '\0')
        continue;
      if (out->len > 0)
        g_string_append_c (out, ' ');
      g_string_append (out, line);
    }

  return g_string_free (out, FALSE);
}

static char *
describe_failure (PGconn         *conn,
                  const PGresult *result)
{
  const char *primary = NULL;
  const char *detail = NULL;

  if (result != NULL)
    {
      primary = PQresultErrorField (result, PG_DIAG_MESSAGE_PRIMARY);
      detail = PQresultErrorField (result, PG_DIAG_MESSAGE_DETAIL);
      if (primary == NULL && PQresultErrorMessage (result)[0] != '\0')
        primary = PQresultErrorMessage (result);
      if (primary == NULL)
        primary = PQresStatus (PQresultStatus (result));
    }
  else if (conn != NULL)
    primary = PQerrorMessage (conn);

  if (primary == NULL || primary[0] == '\0')
    primary = "unknown error";

  if (detail != NULL)
    {
      g_autofree char *both = g_strdup_printf ("%s (%s)", primary, detail);

      return join_lines (both);
    }

  return join_lines (primary);
}

void
wb_db_set_error_from_result (GError        **error,
                             PGconn         *conn,
                             const PGresult *result,
                             const char     *what)
{
  const char *sqlstate = NULL;
  WbDbError code = WB_DB_ERROR_QUERY;
  g_autofree char *text = NULL;
  WbDbErrorPrivate *priv;
  GError *new_error;

  g_return_if_fail (what != NULL);

  if (result != NULL)
    sqlstate = PQresultErrorField (result, PG_DIAG_SQLSTATE);

  if ((conn != NULL && PQstatus (conn) == CONNECTION_BAD) ||
      (sqlstate != NULL && sqlstate_means_unavailable (sqlstate)))
    code = WB_DB_ERROR_UNAVAILABLE;

  text = describe_failure (conn, result);

  if (sqlstate == NULL)
    {
      g_set_error (error, WB_DB_ERROR, code, "%s: %s", what, text);
      return;
    }

  new_error = g_error_new (WB_DB_ERROR, code, "%s: %s (SQLSTATE %s)", what, text, sqlstate);
  priv = wb_db_error_get_private (new_error);
  g_strlcpy (priv->sqlstate, sqlstate, sizeof priv->sqlstate);
  g_propagate_error (error, new_error);
}

static void
notice_to_debug (void       *user_data,
                 const char *message)
{
  gsize length = strlen (message);

  while (length > 0 && message[length - 1] == '\n')
    length--;

  g_debug ("server: %.*s", (int) length, message);
}

static gboolean
conninfo_parses (const char *conninfo)
{
  g_autoptr(PQconninfoOption) options = PQconninfoParse (conninfo, NULL);

  return options != NULL;
}

PGconn *
wb_db_connect (const char  *conninfo,
               GError     **error)
{
  /* libpq expands "dbname" into the caller's conninfo, whose values then
   * override the defaults listed before it. */
  const char * const keywords[] = {
    "connect_timeout", "keepalives_idle", "keepalives_interval",
    "keepalives_count", "fallback_application_name", "dbname", NULL,
  };
  const char * const values[] = { "5", "30", "10", "3", "waybill", conninfo, NULL };
  g_autoptr(PGconn) conn = NULL;

  g_return_val_if_fail (conninfo != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* libpq's parse errors quote the string, password and all. */
  if (!conninfo_parses (conninfo))
    {
      g_set_error_literal (error, WB_DB_ERROR, WB_DB_ERROR_CONNECT,
                           "cannot connect to the database: the connection string does not parse");
      return NULL;
    }

  conn = PQconnectdbParams (keywords, values, TRUE);
  if (conn == NULL || PQstatus (conn) != CONNECTION_OK)
    {
      g_autofree char *where = wb_db_describe_conninfo (conninfo);
      g_autofree char *why = join_lines (conn ? PQerrorMessage (conn) : "out of memory");

      g_set_error (error, WB_DB_ERROR, WB_DB_ERROR_CONNECT,
                   "cannot connect to the database %s: %s", where, why);
      return NULL;
    }

  PQsetNoticeProcessor (conn, notice_to_debug, NULL);
  return g_steal_pointer (&conn);
}

char *
wb_db_describe_conninfo (const char *conninfo)
{
  g_autoptr(PQconninfoOption) options = NULL;
  const char *user = "(default user)";
  const char *host = "(default host)";
  const char *port = "(default port)";
  const char *dbname = "(default database)";

  g_return_val_if_fail (conninfo != NULL, NULL);

  options = PQconninfoParse (conninfo, NULL);
  if (options == NULL)
    return g_strdup ("(unparsable conninfo)");

  for (const PQconninfoOption *option = options; option->keyword != NULL; option++)
    {
      if (option->val == NULL || option->val[0] == '\0')
        continue;
      if (g_str_equal (option->keyword, "user"))
        user = option->val;
      else if (g_str_equal (option->keyword, "host"))
        host = option->val;
      else if (g_str_equal (option->keyword, "port"))
        port = option->val;
      else if (g_str_equal (option->keyword, "dbname"))
        dbname = option->val;
    }

  return g_strdup_printf ("%s@%s:%s/%s", user, host, port, dbname);
}

static void
send_cancel_request (PGconn *conn)
{
  char message[256];
  PGcancel *cancel = PQgetCancel (conn);

  if (cancel == NULL)
    return;

  if (!PQcancel (cancel, message, sizeof message))
    g_debug ("cancel request failed: %s", message);

  PQfreeCancel (cancel);
}

static int
milliseconds_until (gint64 deadline_us)
{
  gint64 remaining;

  if (deadline_us < 0)
    return -1;

  remaining = deadline_us - g_get_monotonic_time ();
  return remaining <= 0 ? 0 : (int) ((remaining + 999) / 1000);
}

/* Waits until libpq has a whole result (or the end of results), watching
 * the socket and the cancellable together so a cancellation reaches the
 * server instead of waiting for the statement to finish. */
static gboolean
wait_for_result (PGconn       *conn,
                 GCancellable *cancellable,
                 gint64        deadline_us,
                 gboolean     *cancel_sent,
                 GError      **error)
{
  GPollFD fds[2] = { { PQsocket (conn), G_IO_IN, 0 } };
  gboolean watching_cancel = FALSE;
  gboolean ok = TRUE;

  if (!*cancel_sent && cancellable != NULL)
    watching_cancel = g_cancellable_make_pollfd (cancellable, &fds[1]);

  while (ok && PQisBusy (conn))
    {
      guint n_fds = (watching_cancel && !*cancel_sent) ? 2 : 1;
      int timeout = milliseconds_until (deadline_us);

      if (timeout == 0)
        {
          g_set_error_literal (error, WB_DB_ERROR, WB_DB_ERROR_UNAVAILABLE,
                               "the database server did not answer in time");
          ok = FALSE;
        }
      else if (g_poll (fds, n_fds, timeout) < 0 && errno != EINTR)
        {
          g_set_error (error, WB_DB_ERROR, WB_DB_ERROR_UNAVAILABLE,
                       "waiting for the database server: %s", g_strerror (errno));
          ok = FALSE;
        }
      else
        {
          if (n_fds == 2 && fds[1].revents != 0)
            {
              send_cancel_request (conn);
              *cancel_sent = TRUE;
            }
          if (fds[0].revents != 0 && !PQconsumeInput (conn))
            {
              wb_db_set_error_from_result (error, conn, NULL, "connection to the database lost");
              ok = FALSE;
            }
        }
    }

  if (watching_cancel)
    g_cancellable_release_fd (cancellable);

  return ok;
}

static gboolean
fail_unless_usable (PGconn          *conn,
                    PGresult        *failed,
                    gboolean         cancel_sent,
                    GError         **error)
{
  const char *sqlstate;

  if (failed == NULL)
    return TRUE;

  sqlstate = PQresultErrorField (failed, PG_DIAG_SQLSTATE);
  if (cancel_sent && g_strcmp0 (sqlstate, SQLSTATE_QUERY_CANCELED) == 0)
    g_set_error_literal (error, WB_DB_ERROR, WB_DB_ERROR_CANCELLED, "statement cancelled");
  else
    wb_db_set_error_from_result (error, conn, failed, "statement failed");

  return FALSE;
}

/* Reads every result of what was sent, keeping the last good one and the
 * first failure; the statement can be cancelled or timed out meanwhile. An
 * empty query is an answer only for a script (a migration of comments). */
static PGresult *
collect_results (PGconn        *conn,
                 GCancellable  *cancellable,
                 gint64         deadline_us,
                 gboolean       is_script,
                 GError       **error)
{
  g_autoptr(PGresult) failed = NULL;
  g_autoptr(PGresult) last = NULL;
  gboolean cancel_sent = FALSE;

  for (;;)
    {
      ExecStatusType status;
      PGresult *result;

      if (!wait_for_result (conn, cancellable, deadline_us, &cancel_sent, error))
        return NULL;

      if ((result = PQgetResult (conn)) == NULL)
        break;

      status = PQresultStatus (result);
      if (is_script && status == PGRES_EMPTY_QUERY)
        status = PGRES_COMMAND_OK;
      switch (status)
        {
        case PGRES_COMMAND_OK:
        case PGRES_TUPLES_OK:
          g_clear_pointer (&last, PQclear);
          last = result;
          break;

        case PGRES_COPY_IN:
        case PGRES_COPY_OUT:
        case PGRES_COPY_BOTH:
          /* PQgetResult would hand out the COPY state forever; the pool
           * drops the connection, which is still in COPY mode. */
          PQclear (result);
          g_set_error_literal (error, WB_DB_ERROR, WB_DB_ERROR_QUERY,
                               "COPY needs the connection itself (PQputCopyData), not wb_db_exec");
          return NULL;

        default:
          if (failed == NULL)
            failed = result;
          else
            PQclear (result);
          break;
        }
    }

  if (!fail_unless_usable (conn, failed, cancel_sent, error))
    return NULL;

  if (last == NULL)
    {
      wb_db_set_error_from_result (error, conn, NULL, "statement returned no result");
      return NULL;
    }

  return g_steal_pointer (&last);
}

static gboolean
check_not_cancelled (GCancellable  *cancellable,
                     GError       **error)
{
  if (!g_cancellable_is_cancelled (cancellable))
    return TRUE;

  g_set_error_literal (error, WB_DB_ERROR, WB_DB_ERROR_CANCELLED, "statement cancelled");
  return FALSE;
}

PGresult *
_wb_db_exec_full (PGconn             *conn,
                  const char         *sql,
                  const char * const *params,
                  int                 n_params,
                  GCancellable       *cancellable,
                  int                 timeout_ms,
                  GError            **error)
{
  gint64 deadline_us = timeout_ms < 0 ? -1 : g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  if (!check_not_cancelled (cancellable, error))
    return NULL;

  if (!PQsendQueryParams (conn, sql, n_params, NULL, params, NULL, NULL, 0))
    {
      wb_db_set_error_from_result (error, conn, NULL, "cannot send statement");
      return NULL;
    }

  return collect_results (conn, cancellable, deadline_us, FALSE, error);
}

PGresult *
_wb_db_exec_script (PGconn        *conn,
                    const char    *sql,
                    GCancellable  *cancellable,
                    GError       **error)
{
  if (!check_not_cancelled (cancellable, error))
    return NULL;

  if (!PQsendQuery (conn, sql))
    {
      wb_db_set_error_from_result (error, conn, NULL, "cannot send statement");
      return NULL;
    }

  return collect_results (conn, cancellable, -1, TRUE, error);
}

PGresult *
wb_db_exec (PGconn             *conn,
            const char         *sql,
            const char * const *params,
            int                 n_params,
            GCancellable       *cancellable,
            GError            **error)
{
  g_return_val_if_fail (conn != NULL, NULL);
  g_return_val_if_fail (sql != NULL, NULL);
  g_return_val_if_fail (n_params == 0 || params != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return _wb_db_exec_full (conn, sql, params, n_params, cancellable, -1, error);
}

gboolean
wb_db_exec_command (PGconn             *conn,
                    const char         *sql,
                    const char * const *params,
                    int                 n_params,
                    GCancellable       *cancellable,
                    GError            **error)
{
  g_autoptr(PGresult) result = wb_db_exec (conn, sql, params, n_params, cancellable, error);

  return result != NULL;
}
