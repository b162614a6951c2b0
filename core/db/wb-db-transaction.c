// SPDX-License-Identifier: GPL-3.0-or-later
/* The one way Waybill runs a transaction: BEGIN, the caller's statements,
 * COMMIT; ROLLBACK on any failure; and, when the server says the work only
 * collided with another transaction, the whole of it again after a short
 * pause. Every store keeps only its SQL. */

#include "config.h"

#include "wb-db-transaction.h"

#define SQLSTATE_SERIALIZATION_FAILURE "40001"
#define SQLSTATE_DEADLOCK_DETECTED     "40P01"

/* The first pause, doubled per attempt; jittered so that two transactions
 * that collided once do not collide again in step. */
#define BACKOFF_BASE_MS 5
#define BACKOFF_MAX_MS  100

/**
 * wb_db_transaction_is_retryable:
 *
 * Returns: whether @error is the server asking for the transaction to be
 *   run again: a serialization failure (40001) or a deadlock (40P01)
 */
gboolean
wb_db_transaction_is_retryable (const GError *error)
{
  const char *sqlstate;

  g_return_val_if_fail (error != NULL, FALSE);

  sqlstate = wb_db_error_get_sqlstate (error);
  return g_strcmp0 (sqlstate, SQLSTATE_SERIALIZATION_FAILURE) == 0
         || g_strcmp0 (sqlstate, SQLSTATE_DEADLOCK_DETECTED) == 0;
}

/* A broken connection fails here harmlessly; the pool drops it. */
static void
roll_back (PGconn *conn)
{
  if (PQtransactionStatus (conn) != PQTRANS_IDLE)
    PQclear (PQexec (conn, "ROLLBACK"));
}

static gboolean
run_once (PGconn              *conn,
          WbDbTransactionFunc  func,
          gpointer             user_data,
          GCancellable        *cancellable,
          GError             **error)
{
  g_autoptr(GError) local_error = NULL;

  if (wb_db_exec_command (conn, "BEGIN", NULL, 0, cancellable, &local_error)
      && func (conn, user_data, cancellable, &local_error)
      && wb_db_exec_command (conn, "COMMIT", NULL, 0, cancellable, &local_error))
    return TRUE;
  roll_back (conn);
  if (local_error == NULL)
    local_error = g_error_new_literal (WB_DB_ERROR, WB_DB_ERROR_QUERY, "the transaction failed without an error");
  g_propagate_error (error, g_steal_pointer (&local_error));
  return FALSE;
}

static guint
backoff_ms (guint attempt)
{
  guint base = MIN (BACKOFF_BASE_MS << MIN (attempt - 1, 8u), BACKOFF_MAX_MS);

  return base / 2 + (guint) g_random_int_range (0, (gint32) base + 1);
}

/* Returns FALSE, with @error set, once @cancellable fires. */
static gboolean
pause_before_retry (guint          attempt,
                    GCancellable  *cancellable,
                    GError       **error)
{
  GPollFD fd = { 0 };

  if (cancellable != NULL && g_cancellable_make_pollfd (cancellable, &fd))
    {
      g_poll (&fd, 1, backoff_ms (attempt));
      g_cancellable_release_fd (cancellable);
    }
  else
    g_usleep (backoff_ms (attempt) * 1000);

  if (!g_cancellable_is_cancelled (cancellable))
    return TRUE;
  g_set_error_literal (error, WB_DB_ERROR, WB_DB_ERROR_CANCELLED, "transaction cancelled");
  return FALSE;
}

/**
 * wb_db_transaction_run:
 * @func: the transaction's statements
 * @cancellable: (nullable): cancels the running statement and any pause
 *   between attempts
 *
 * Runs @func between BEGIN and COMMIT on @conn, which must be idle. Any
 * failure rolls back, leaving @conn idle again. A serialization failure
 * or a deadlock runs the whole transaction again, up to
 * %WB_DB_TRANSACTION_MAX_ATTEMPTS times in all, after a short jittered
 * pause; any other error is returned at once. Blocking: call it from a
 * thread.
 *
 * Returns: %TRUE once committed; %FALSE with @error set, nothing of the
 *   transaction stored
 */
gboolean
wb_db_transaction_run (PGconn               *conn,
                       WbDbTransactionFunc   func,
                       gpointer              user_data,
                       GCancellable         *cancellable,
                       GError              **error)
{
  g_return_val_if_fail (conn != NULL, FALSE);
  g_return_val_if_fail (func != NULL, FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  for (guint attempt = 1; ; attempt++)
    {
      g_autoptr(GError) local_error = NULL;

      if (run_once (conn, func, user_data, cancellable, &local_error))
        return TRUE;
      if (attempt == WB_DB_TRANSACTION_MAX_ATTEMPTS || !wb_db_transaction_is_retryable (local_error))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      g_debug ("transaction attempt %u of %u collided; running it again: %s", attempt,
               WB_DB_TRANSACTION_MAX_ATTEMPTS, local_error->message);
      if (!pause_before_retry (attempt, cancellable, error))
        return FALSE;
    }
}
