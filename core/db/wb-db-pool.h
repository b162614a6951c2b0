// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-db.h"

G_BEGIN_DECLS

#define WB_TYPE_DB_POOL (wb_db_pool_get_type ())

G_DECLARE_FINAL_TYPE (WbDbPool, wb_db_pool, WB, DB_POOL, GObject)

/**
 * WbDbFunc:
 * @conn: a healthy connection, owned by the pool for the duration of the call
 *
 * Database work run on a pool thread. Leave @conn outside any transaction
 * (the pool rolls back an open one) and never LISTEN on it: a pooled
 * connection that has something to read while idle is taken for one the
 * server is closing, and dropped.
 *
 * Returns: (transfer full) (nullable): the task result
 */
typedef gpointer (*WbDbFunc) (PGconn        *conn,
                              gpointer       user_data,
                              GCancellable  *cancellable,
                              GError       **error);

/**
 * WbDbPoolStats:
 * @queries_total: jobs that reached the database (queries, pings, run_async
 *   functions); blocking wb_db_pool_acquire() users are not counted
 * @query_errors_total: those of them that failed
 */
typedef struct
{
  guint   size;
  guint   open;
  guint   in_use;
  guint   waiting;
  guint64 connects_total;
  guint64 connect_failures_total;
  guint64 queries_total;
  guint64 query_errors_total;
} WbDbPoolStats;

WbDbPool   *wb_db_pool_new          (const char           *conninfo,
                                     guint                 size);
const char *wb_db_pool_get_conninfo (WbDbPool             *self);
guint       wb_db_pool_get_size     (WbDbPool             *self);
void        wb_db_pool_run_async    (WbDbPool             *self,
                                     WbDbFunc              func,
                                     gpointer              user_data,
                                     GDestroyNotify        user_data_free,
                                     GDestroyNotify        result_free,
                                     GCancellable         *cancellable,
                                     GAsyncReadyCallback   callback,
                                     gpointer              callback_data);
gpointer    wb_db_pool_run_finish   (WbDbPool             *self,
                                     GAsyncResult         *result,
                                     GError              **error);
void        wb_db_pool_query_async  (WbDbPool             *self,
                                     const char           *sql,
                                     const char * const   *params,
                                     guint                 n_params,
                                     GCancellable         *cancellable,
                                     GAsyncReadyCallback   callback,
                                     gpointer              callback_data);
PGresult   *wb_db_pool_query_finish (WbDbPool             *self,
                                     GAsyncResult         *result,
                                     GError              **error);
void        wb_db_pool_ping_async   (WbDbPool             *self,
                                     GCancellable         *cancellable,
                                     GAsyncReadyCallback   callback,
                                     gpointer              callback_data);
gboolean    wb_db_pool_ping_finish  (WbDbPool             *self,
                                     GAsyncResult         *result,
                                     GError              **error);
PGconn     *wb_db_pool_acquire      (WbDbPool             *self,
                                     GCancellable         *cancellable,
                                     GError              **error);
void        wb_db_pool_release      (WbDbPool             *self,
                                     PGconn               *conn);
void        wb_db_pool_get_stats    (WbDbPool             *self,
                                     WbDbPoolStats        *out_stats);
void        wb_db_pool_close        (WbDbPool             *self);
void        wb_db_pool_close_async  (WbDbPool             *self,
                                     GCancellable         *cancellable,
                                     GAsyncReadyCallback   callback,
                                     gpointer              user_data);
gboolean    wb_db_pool_close_finish (WbDbPool             *self,
                                     GAsyncResult         *result,
                                     GError              **error);

G_END_DECLS
