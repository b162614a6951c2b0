// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#if !defined (WB_POLLING_COMPILATION)
#error "wb-polling-private.h is core/polling's own; other code uses the area's public headers"
#endif

#include <libpq-fe.h>

#include "wb-db-pool.h"
#include "wb-db-transaction.h"

G_BEGIN_DECLS

/* RFC 3339 UTC with milliseconds and µs ↔ timestamptz, as SQL fragments,
 * the same text the shipments API writes. */
#define WB_POLLING_SQL_TIME(col) "to_char((" col ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
#define WB_POLLING_SQL_FROM_US(param) "(timestamptz 'epoch' + (" param ")::bigint * interval '1 microsecond')"
#define WB_POLLING_SQL_TO_US(col) "(extract(epoch FROM (" col ")) * 1000000)::bigint"

/* Runs @func as one transaction on a pool thread; @job is the task data
 * and stays readable (g_task_get_task_data) after _finish. */
void      _wb_polling_run_transaction (WbDbPool            *pool,
                                       gpointer             source_object,
                                       gpointer             source_tag,
                                       WbDbTransactionFunc  func,
                                       gpointer             job,
                                       GDestroyNotify       job_free,
                                       GCancellable        *cancellable,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data);
gpointer  _wb_polling_run_finish      (GAsyncResult        *result,
                                       GError             **error);

/* Text parameters: NULL entries are SQL NULL. */
PGresult *_wb_polling_exec            (PGconn              *conn,
                                       const char          *sql,
                                       GPtrArray           *params,
                                       GCancellable        *cancellable,
                                       GError             **error);
GPtrArray *_wb_polling_params_new     (void);
void      _wb_polling_params_add      (GPtrArray           *params,
                                       const char          *value);
void      _wb_polling_params_add_int  (GPtrArray           *params,
                                       gint64               value);
void      _wb_polling_params_add_double (GPtrArray         *params,
                                       double               value);
gint64    _wb_polling_get_int         (const PGresult      *result,
                                       int                  row,
                                       int                  column);
/* The column as text, NULL for SQL NULL. */
const char *_wb_polling_get_text      (const PGresult      *result,
                                       int                  row,
                                       int                  column);
/* Resource data of data/polling-data.gresource.xml, by relative path. */
GBytes   *_wb_polling_data_lookup     (const char          *relative_path,
                                       GError             **error);
/* "90s", "5m", "3h", "7d", "250ms" or a plain number of seconds → µs. */
gboolean  _wb_polling_parse_duration  (const char          *text,
                                       gint64              *out_us);

G_END_DECLS
