// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include "wb-db-pool.h"
#include "wb-db-private.h"

#define BACKOFF_INITIAL_MS 100
#define BACKOFF_MAX_MS     5000
#define PING_TIMEOUT_MS    2000
#define MAX_POOL_SIZE      256

struct _WbDbPool
{
  GObject      parent_instance;

  char        *conninfo;
  char        *description;   /* for messages: never holds the password */
  guint        size;

  /* Our own threads rather than GTask's shared pool, so database work
   * that blocks cannot starve other GTask users. */
  GThreadPool *workers;

  /* Everything below is guarded by mutex. */
  GMutex       mutex;
  GCond        cond;          /* a connection or a slot came free, a cancellation, or close */
  GQueue       idle;          /* PGconn *, most recently used first */
  guint        open;          /* idle + in use + being opened */
  guint        in_use;
  guint        waiting;
  gboolean     closed;
  guint        backoff_ms;    /* 0 while connecting works */
  gint64       retry_after_us; /* monotonic: no new connection attempt before this */
  char        *last_connect_error;
  guint64      connects_total;
  guint64      connect_failures_total;
  guint64      queries_total;
  guint64      query_errors_total;
};

G_DEFINE_FINAL_TYPE (WbDbPool, wb_db_pool, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_CONNINFO,
  PROP_SIZE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

typedef struct
{
  WbDbFunc       func;
  gpointer       user_data;
  GDestroyNotify user_data_free;
  GDestroyNotify result_free;
} Job;

typedef struct
{
  char  *sql;
  char **values;   /* n_values entries, NULL ones being SQL NULL */
  int    n_values;
} Query;

/* Called as soon as the job is over, so that user data is gone by the
 * time the callback runs. */
static void
job_free_user_data (Job *job)
{
  if (job->user_data_free != NULL)
    job->user_data_free (g_steal_pointer (&job->user_data));
  job->user_data_free = NULL;
}

static void
job_free (Job *job)
{
  job_free_user_data (job);
  g_free (job);
}

static void
query_free (Query *query)
{
  for (int i = 0; i < query->n_values; i++)
    g_free (query->values[i]);
  g_free (query->values);
  g_free (query->sql);
  g_free (query);
}

static void
drop_connection_locked (WbDbPool *self,
                        PGconn   *conn)
{
  PQfinish (conn);
  self->open--;
  g_cond_broadcast (&self->cond);
}

/* An idle connection has nothing to say unless the server is closing it
 * (shutdown, crash, idle timeout); anything readable means it is done. */
static gboolean
idle_connection_is_usable (PGconn *conn)
{
  GPollFD fd = { PQsocket (conn), G_IO_IN, 0 };

  if (PQstatus (conn) != CONNECTION_OK)
    return FALSE;

  return g_poll (&fd, 1, 0) == 0;
}

/* A connection goes back to the pool only in a known idle state: an open
 * transaction is rolled back; a statement still running, COPY or a broken
 * socket means it is closed instead. */
static gboolean
reset_for_reuse (PGconn *conn)
{
  g_autoptr(PGresult) result = NULL;

  if (PQstatus (conn) != CONNECTION_OK)
    return FALSE;

  switch (PQtransactionStatus (conn))
    {
    case PQTRANS_IDLE:
      return TRUE;

    case PQTRANS_INTRANS:
    case PQTRANS_INERROR:
      result = PQexec (conn, "ROLLBACK");
      return PQresultStatus (result) == PGRES_COMMAND_OK &&
             PQtransactionStatus (conn) == PQTRANS_IDLE;

    case PQTRANS_ACTIVE:
    case PQTRANS_UNKNOWN:
    default:
      return FALSE;
    }
}

/* Attempts that overlapped a failure already recorded share its window
 * rather than doubling the back-off once per thread. */
static void
back_off_locked (WbDbPool     *self,
                 gint64        attempt_started_us,
                 const GError *error)
{
  g_free (self->last_connect_error);
  self->last_connect_error = g_strdup (error->message);

  if (self->retry_after_us > attempt_started_us)
    return;

  /* An outage is an expected, recoverable event: say it once, not per retry. */
  if (self->backoff_ms == 0)
    g_message ("%s; retrying with back-off", error->message);

  self->backoff_ms = self->backoff_ms == 0 ? BACKOFF_INITIAL_MS
                                           : MIN (self->backoff_ms * 2, BACKOFF_MAX_MS);
  self->retry_after_us = g_get_monotonic_time () + (gint64) self->backoff_ms * 1000;
}

static PGconn *
open_connection_locked (WbDbPool  *self,
                        GError   **error)
{
  g_autoptr(GError) local_error = NULL;
  gint64 now = g_get_monotonic_time ();
  PGconn *conn;

  if (now < self->retry_after_us)
    {
      g_set_error (error, WB_DB_ERROR, WB_DB_ERROR_UNAVAILABLE,
                   "database unavailable, next connection attempt in %d ms (%s)",
                   (int) ((self->retry_after_us - now) / 1000) + 1,
                   self->last_connect_error);
      return NULL;
    }

  self->open++;
  g_mutex_unlock (&self->mutex);
  conn = wb_db_connect (self->conninfo, &local_error);
  g_mutex_lock (&self->mutex);

  if (conn == NULL)
    {
      self->open--;
      self->connect_failures_total++;
      back_off_locked (self, now, local_error);
      g_cond_broadcast (&self->cond);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }

  if (self->backoff_ms != 0)
    g_message ("reconnected to the database %s", self->description);

  self->connects_total++;
  self->backoff_ms = 0;
  self->retry_after_us = 0;
  return conn;
}

static PGconn *
acquire_locked (WbDbPool      *self,
                GCancellable  *cancellable,
                GError       **error)
{
  for (;;)
    {
      if (g_cancellable_is_cancelled (cancellable))
        {
          g_set_error_literal (error, WB_DB_ERROR, WB_DB_ERROR_CANCELLED,
                               "waiting for a database connection was cancelled");
          return NULL;
        }

      if (self->closed)
        {
          g_set_error_literal (error, WB_DB_ERROR, WB_DB_ERROR_UNAVAILABLE,
                               "the database pool is closed");
          return NULL;
        }

      if (!g_queue_is_empty (&self->idle))
        {
          PGconn *conn = g_queue_pop_head (&self->idle);

          if (idle_connection_is_usable (conn))
            return conn;

          drop_connection_locked (self, conn);
          continue;
        }

      if (self->open < self->size)
        return open_connection_locked (self, error);

      self->waiting++;
      g_cond_wait (&self->cond, &self->mutex);
      self->waiting--;
    }
}

static void
wake_waiters (GCancellable *cancellable,
              WbDbPool     *self)
{
  g_mutex_lock (&self->mutex);
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->mutex);
}

/**
 * wb_db_pool_acquire:
 *
 * Takes a connection for exclusive use, opening one if the pool has room
 * and waiting otherwise. While the server is unreachable it fails at once
 * with %WB_DB_ERROR_UNAVAILABLE (or %WB_DB_ERROR_CONNECT for the attempt
 * that found out). Blocking: for pipeline threads, never the main loop.
 *
 * Returns: (transfer none): a connection to give back with
 *   wb_db_pool_release(), or %NULL with @error set
 */
PGconn *
wb_db_pool_acquire (WbDbPool      *self,
                    GCancellable  *cancellable,
                    GError       **error)
{
  gulong handler = 0;
  PGconn *conn;

  g_return_val_if_fail (WB_IS_DB_POOL (self), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (cancellable != NULL)
    handler = g_cancellable_connect (cancellable, G_CALLBACK (wake_waiters), self, NULL);

  g_mutex_lock (&self->mutex);
  conn = acquire_locked (self, cancellable, error);
  if (conn != NULL)
    self->in_use++;
  g_mutex_unlock (&self->mutex);

  g_cancellable_disconnect (cancellable, handler);

  return conn;
}

/**
 * wb_db_pool_release:
 * @conn: (transfer full): a connection from wb_db_pool_acquire()
 *
 * Gives @conn back. A connection left in a transaction is rolled back; one
 * that is broken or mid-statement is closed.
 */
void
wb_db_pool_release (WbDbPool *self,
                    PGconn   *conn)
{
  gboolean reusable;

  g_return_if_fail (WB_IS_DB_POOL (self));
  g_return_if_fail (conn != NULL);

  reusable = reset_for_reuse (conn);

  g_mutex_lock (&self->mutex);
  g_assert (self->in_use > 0);
  self->in_use--;
  if (reusable && !self->closed)
    {
      g_queue_push_head (&self->idle, conn);
      g_cond_signal (&self->cond);
    }
  else
    drop_connection_locked (self, conn);
  g_mutex_unlock (&self->mutex);
}

static void
count_job (WbDbPool *self,
           gboolean  failed)
{
  g_mutex_lock (&self->mutex);
  self->queries_total++;
  if (failed)
    self->query_errors_total++;
  g_mutex_unlock (&self->mutex);
}

static void
worker_run (gpointer data,
            gpointer pool_data)
{
  g_autoptr(GTask) task = data;
  g_autoptr(GError) error = NULL;
  WbDbPool *self = pool_data;
  Job *job = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  gpointer result;
  PGconn *conn;

  if ((conn = wb_db_pool_acquire (self, cancellable, &error)) == NULL)
    {
      job_free_user_data (job);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  result = job->func (conn, job->user_data, cancellable, &error);
  job_free_user_data (job);
  wb_db_pool_release (self, conn);
  count_job (self, error != NULL);

  if (error == NULL)
    {
      g_task_return_pointer (task, result, job->result_free);
      return;
    }

  if (result != NULL && job->result_free != NULL)
    job->result_free (result);
  g_task_return_error (task, g_steal_pointer (&error));
}

static void
submit (WbDbPool            *self,
        Job                 *job,
        gpointer             source_tag,
        GCancellable        *cancellable,
        GAsyncReadyCallback  callback,
        gpointer             callback_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, callback_data);

  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);
  /* Cancellation is reported as WB_DB_ERROR_CANCELLED by the job itself,
   * and a statement that finished before the cancel keeps its result. */
  g_task_set_check_cancellable (task, FALSE);

  /* Pushing under the lock orders it against wb_db_pool_close(). */
  g_mutex_lock (&self->mutex);
  if (!self->closed)
    g_thread_pool_push (self->workers, g_steal_pointer (&task), NULL);
  g_mutex_unlock (&self->mutex);

  if (task != NULL)
    {
      job_free_user_data (job);
      g_task_return_new_error (task, WB_DB_ERROR, WB_DB_ERROR_UNAVAILABLE,
                               "the database pool is closed");
    }
}

static Job *
job_new (WbDbFunc       func,
         gpointer       user_data,
         GDestroyNotify user_data_free,
         GDestroyNotify result_free)
{
  Job *job = g_new0 (Job, 1);

  job->func = func;
  job->user_data = user_data;
  job->user_data_free = user_data_free;
  job->result_free = result_free;
  return job;
}

/**
 * wb_db_pool_run_async:
 * @func: runs on a pool thread with a healthy connection
 * @user_data_free: (nullable): frees @user_data once the job is over,
 *   before @callback runs (on a pool thread if @func ran)
 * @result_free: (nullable): frees @func's result if nobody takes it
 *
 * Runs @func off the main loop. Cancelling @cancellable fails the job with
 * %WB_DB_ERROR_CANCELLED if it has not started; a running @func sees it.
 */
void
wb_db_pool_run_async (WbDbPool            *self,
                      WbDbFunc             func,
                      gpointer             user_data,
                      GDestroyNotify       user_data_free,
                      GDestroyNotify       result_free,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             callback_data)
{
  g_return_if_fail (WB_IS_DB_POOL (self));
  g_return_if_fail (func != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  submit (self, job_new (func, user_data, user_data_free, result_free),
          wb_db_pool_run_async, cancellable, callback, callback_data);
}

/**
 * wb_db_pool_run_finish:
 *
 * Returns: (transfer full) (nullable): what the #WbDbFunc returned
 */
gpointer
wb_db_pool_run_finish (WbDbPool      *self,
                       GAsyncResult  *result,
                       GError       **error)
{
  g_return_val_if_fail (WB_IS_DB_POOL (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_async_result_is_tagged (result, wb_db_pool_run_async), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static gpointer
run_query (PGconn        *conn,
           gpointer       user_data,
           GCancellable  *cancellable,
           GError       **error)
{
  Query *query = user_data;

  return wb_db_exec (conn, query->sql, (const char * const *) query->values,
                     query->n_values, cancellable, error);
}

static Query *
query_new (const char         *sql,
           const char * const *params,
           guint               n_params)
{
  Query *query = g_new0 (Query, 1);

  if (n_params == 0 && params != NULL)
    n_params = g_strv_length ((char **) params);

  query->sql = g_strdup (sql);
  query->n_values = (int) n_params;
  query->values = g_new0 (char *, n_params + 1);
  for (guint i = 0; i < n_params; i++)
    query->values[i] = g_strdup (params[i]);

  return query;
}

/**
 * wb_db_pool_query_async:
 * @sql: one statement with $1, $2… placeholders
 * @params: (nullable): text values for the placeholders
 * @n_params: how many @params there are, NULL entries being SQL NULL;
 *   0 reads @params up to a terminating NULL
 *
 * Runs one parameterized statement; the values never become part of the
 * SQL text.
 */
void
wb_db_pool_query_async (WbDbPool            *self,
                        const char          *sql,
                        const char * const  *params,
                        guint                n_params,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             callback_data)
{
  Query *query;

  g_return_if_fail (WB_IS_DB_POOL (self));
  g_return_if_fail (sql != NULL);
  g_return_if_fail (n_params == 0 || params != NULL);
  g_return_if_fail (n_params <= 65535);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  query = query_new (sql, params, n_params);
  submit (self, job_new (run_query, query, (GDestroyNotify) query_free, (GDestroyNotify) PQclear),
          wb_db_pool_query_async, cancellable, callback, callback_data);
}

/**
 * wb_db_pool_query_finish:
 *
 * Returns: (transfer full): a result with status PGRES_COMMAND_OK or
 *   PGRES_TUPLES_OK, or %NULL with @error set
 */
PGresult *
wb_db_pool_query_finish (WbDbPool      *self,
                         GAsyncResult  *result,
                         GError       **error)
{
  g_return_val_if_fail (WB_IS_DB_POOL (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_async_result_is_tagged (result, wb_db_pool_query_async), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static gpointer
run_ping (PGconn        *conn,
          gpointer       user_data,
          GCancellable  *cancellable,
          GError       **error)
{
  return _wb_db_exec_full (conn, "SELECT 1", NULL, 0, cancellable, PING_TIMEOUT_MS, error);
}

/**
 * wb_db_pool_ping_async:
 *
 * Checks that the server answers a trivial statement within two seconds,
 * for readiness probes.
 */
void
wb_db_pool_ping_async (WbDbPool            *self,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             callback_data)
{
  g_return_if_fail (WB_IS_DB_POOL (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  submit (self, job_new (run_ping, NULL, NULL, (GDestroyNotify) PQclear),
          wb_db_pool_ping_async, cancellable, callback, callback_data);
}

gboolean
wb_db_pool_ping_finish (WbDbPool      *self,
                        GAsyncResult  *result,
                        GError       **error)
{
  g_autoptr(PGresult) answer = NULL;

  g_return_val_if_fail (WB_IS_DB_POOL (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_async_result_is_tagged (result, wb_db_pool_ping_async), FALSE);

  answer = g_task_propagate_pointer (G_TASK (result), error);
  return answer != NULL;
}

/**
 * wb_db_pool_get_stats:
 *
 * Copies the pool's gauges and counters; callable from any thread.
 */
void
wb_db_pool_get_stats (WbDbPool      *self,
                      WbDbPoolStats *out_stats)
{
  g_return_if_fail (WB_IS_DB_POOL (self));
  g_return_if_fail (out_stats != NULL);

  g_mutex_lock (&self->mutex);
  *out_stats = (WbDbPoolStats) {
    .size = self->size,
    .open = self->open,
    .in_use = self->in_use,
    .waiting = self->waiting,
    .connects_total = self->connects_total,
    .connect_failures_total = self->connect_failures_total,
    .queries_total = self->queries_total,
    .query_errors_total = self->query_errors_total,
  };
  g_mutex_unlock (&self->mutex);
}

static void
close_idle_connections (WbDbPool *self)
{
  PGconn *conn;

  g_mutex_lock (&self->mutex);
  while ((conn = g_queue_pop_head (&self->idle)) != NULL)
    drop_connection_locked (self, conn);
  g_mutex_unlock (&self->mutex);
}

static GThreadPool *
mark_closed (WbDbPool *self)
{
  GThreadPool *workers;

  g_mutex_lock (&self->mutex);
  self->closed = TRUE;
  workers = g_steal_pointer (&self->workers);
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->mutex);

  return workers;
}

/**
 * wb_db_pool_close:
 *
 * Fails queued and future requests with %WB_DB_ERROR_UNAVAILABLE, waits
 * for running jobs and closes the connections; connections still held
 * through wb_db_pool_acquire() are closed when released. Do not call it
 * from a #WbDbFunc, which would wait for itself.
 */
void
wb_db_pool_close (WbDbPool *self)
{
  GThreadPool *workers;

  g_return_if_fail (WB_IS_DB_POOL (self));

  if ((workers = mark_closed (self)) != NULL)
    g_thread_pool_free (workers, FALSE, TRUE);

  close_idle_connections (self);
}

static void
close_in_thread (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  GThreadPool *workers = task_data;

  g_thread_pool_free (workers, FALSE, TRUE);
  close_idle_connections (source_object);
  g_task_return_boolean (task, TRUE);
}

/**
 * wb_db_pool_close_async:
 * @cancellable: (nullable): stops the wait, not the jobs: it bounds how
 *   long the caller waits for jobs that do not end (cancel theirs first)
 *
 * wb_db_pool_close() without blocking: queued and future requests fail at
 * once, and the wait for running jobs happens on a thread of its own, so a
 * job stuck on the database cannot hold up the main loop.
 */
void
wb_db_pool_close_async (WbDbPool            *self,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  GThreadPool *workers;

  g_return_if_fail (WB_IS_DB_POOL (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, wb_db_pool_close_async);
  if ((workers = mark_closed (self)) == NULL)
    {
      close_idle_connections (self);
      g_task_return_boolean (task, TRUE);
      return;
    }

  /* The thread keeps the pool alive until the jobs are over. */
  g_task_set_task_data (task, workers, NULL);
  g_task_set_return_on_cancel (task, TRUE);
  g_task_run_in_thread (task, close_in_thread);
}

/**
 * wb_db_pool_close_finish:
 *
 * Returns: %TRUE once every job has ended and the idle connections are
 *   closed; %FALSE with %G_IO_ERROR_CANCELLED if the wait was cut short
 */
gboolean
wb_db_pool_close_finish (WbDbPool      *self,
                         GAsyncResult  *result,
                         GError       **error)
{
  g_return_val_if_fail (WB_IS_DB_POOL (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_async_result_is_tagged (result, wb_db_pool_close_async), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * wb_db_pool_get_conninfo:
 *
 * Returns: the connection string, which may hold a password: do not log it
 */
const char *
wb_db_pool_get_conninfo (WbDbPool *self)
{
  g_return_val_if_fail (WB_IS_DB_POOL (self), NULL);

  return self->conninfo;
}

guint
wb_db_pool_get_size (WbDbPool *self)
{
  g_return_val_if_fail (WB_IS_DB_POOL (self), 0);

  return self->size;
}

static void
wb_db_pool_constructed (GObject *object)
{
  WbDbPool *self = WB_DB_POOL (object);

  G_OBJECT_CLASS (wb_db_pool_parent_class)->constructed (object);

  self->description = wb_db_describe_conninfo (self->conninfo);
  self->workers = g_thread_pool_new (worker_run, self, (int) self->size, FALSE, NULL);
}

static void
wb_db_pool_finalize (GObject *object)
{
  WbDbPool *self = WB_DB_POOL (object);
  GThreadPool *workers = mark_closed (self);

  /* Every queued or running job holds a reference, so none is left; and
   * the last reference may be dropped on a worker, which must not wait
   * for itself. */
  if (workers != NULL)
    g_thread_pool_free (workers, FALSE, FALSE);

  close_idle_connections (self);
  g_warn_if_fail (self->in_use == 0);

  g_clear_pointer (&self->conninfo, g_free);
  g_clear_pointer (&self->description, g_free);
  g_clear_pointer (&self->last_connect_error, g_free);
  g_mutex_clear (&self->mutex);
  g_cond_clear (&self->cond);

  G_OBJECT_CLASS (wb_db_pool_parent_class)->finalize (object);
}

static void
wb_db_pool_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  WbDbPool *self = WB_DB_POOL (object);

  switch (prop_id)
    {
    case PROP_CONNINFO:
      g_value_set_string (value, self->conninfo);
      break;

    case PROP_SIZE:
      g_value_set_uint (value, self->size);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_db_pool_set_property (GObject      *object,
                         guint         prop_id,
                         const GValue *value,
                         GParamSpec   *pspec)
{
  WbDbPool *self = WB_DB_POOL (object);

  switch (prop_id)
    {
    case PROP_CONNINFO:
      self->conninfo = g_value_dup_string (value);
      break;

    case PROP_SIZE:
      self->size = g_value_get_uint (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_db_pool_class_init (WbDbPoolClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = wb_db_pool_constructed;
  object_class->finalize = wb_db_pool_finalize;
  object_class->get_property = wb_db_pool_get_property;
  object_class->set_property = wb_db_pool_set_property;

  /**
   * WbDbPool:conninfo:
   *
   * The libpq connection string or URI; it may hold a password, so it is
   * never logged.
   */
  properties[PROP_CONNINFO] =
    g_param_spec_string ("conninfo", NULL, NULL,
                         "",
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));

  /**
   * WbDbPool:size:
   *
   * The most connections (and worker threads) the pool uses at once.
   */
  properties[PROP_SIZE] =
    g_param_spec_uint ("size", NULL, NULL,
                       1, MAX_POOL_SIZE, 4,
                       (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
wb_db_pool_init (WbDbPool *self)
{
  g_mutex_init (&self->mutex);
  g_cond_init (&self->cond);
  g_queue_init (&self->idle);
}

/**
 * wb_db_pool_new:
 * @conninfo: a libpq connection string or URI
 * @size: the most connections open at once (1 to 256)
 *
 * Creates a pool; connections are opened lazily, on first use.
 */
WbDbPool *
wb_db_pool_new (const char *conninfo,
                guint       size)
{
  g_return_val_if_fail (conninfo != NULL, NULL);
  g_return_val_if_fail (size > 0 && size <= MAX_POOL_SIZE, NULL);

  return g_object_new (WB_TYPE_DB_POOL,
                       "conninfo", conninfo,
                       "size", size,
                       NULL);
}
