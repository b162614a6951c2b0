// SPDX-License-Identifier: GPL-3.0-or-later
/* Helpers the polling area's database work shares. */

#include "config.h"

#include <math.h>
#include <string.h>

#include "wb-polling.h"
#include "wb-polling-private.h"
#include "wb-polling-data.h"

typedef struct
{
  WbDbTransactionFunc func;
  gpointer            job;
} RunData;

static gpointer
run_in_transaction (PGconn        *conn,
                    gpointer       user_data,
                    GCancellable  *cancellable,
                    GError       **error)
{
  GTask *task = user_data;
  RunData *run = g_object_get_data (G_OBJECT (task), "wb-run");

  if (!wb_db_transaction_run (conn, run->func, run->job, cancellable, error))
    return NULL;
  return GINT_TO_POINTER (TRUE);
}

static void
on_run_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (wb_db_pool_run_finish (WB_DB_POOL (source), result, &error) == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

void
_wb_polling_run_transaction (WbDbPool            *pool,
                             gpointer             source_object,
                             gpointer             source_tag,
                             WbDbTransactionFunc  func,
                             gpointer             job,
                             GDestroyNotify       job_free,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  GTask *task = g_task_new (source_object, cancellable, callback, user_data);
  RunData *run = g_new0 (RunData, 1);

  g_assert (job != NULL);
  run->func = func;
  run->job = job;
  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, job, job_free);
  g_object_set_data_full (G_OBJECT (task), "wb-run", run, g_free);
  wb_db_pool_run_async (pool, run_in_transaction, g_object_ref (task), g_object_unref, NULL,
                        cancellable, on_run_done, task);
}

gpointer
_wb_polling_run_finish (GAsyncResult  *result,
                        GError       **error)
{
  if (!g_task_propagate_boolean (G_TASK (result), error))
    return NULL;
  return g_task_get_task_data (G_TASK (result));
}

PGresult *
_wb_polling_exec (PGconn        *conn,
                  const char    *sql,
                  GPtrArray     *params,
                  GCancellable  *cancellable,
                  GError       **error)
{
  return wb_db_exec (conn, sql, params ? (const char * const *) params->pdata : NULL,
                     params ? (int) params->len : 0, cancellable, error);
}

GPtrArray *
_wb_polling_params_new (void)
{
  return g_ptr_array_new_with_free_func (g_free);
}

void
_wb_polling_params_add (GPtrArray  *params,
                        const char *value)
{
  g_ptr_array_add (params, g_strdup (value));
}

void
_wb_polling_params_add_int (GPtrArray *params,
                            gint64     value)
{
  g_ptr_array_add (params, g_strdup_printf ("%" G_GINT64_FORMAT, value));
}

void
_wb_polling_params_add_double (GPtrArray *params,
                               double     value)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  g_ptr_array_add (params, g_strdup (g_ascii_dtostr (buffer, sizeof buffer, value)));
}

gint64
_wb_polling_get_int (const PGresult *result,
                     int             row,
                     int             column)
{
  if (PQgetisnull (result, row, column))
    return 0;
  return g_ascii_strtoll (PQgetvalue (result, row, column), NULL, 10);
}

const char *
_wb_polling_get_text (const PGresult *result,
                      int             row,
                      int             column)
{
  return PQgetisnull (result, row, column) ? NULL : PQgetvalue (result, row, column);
}

GBytes *
_wb_polling_data_lookup (const char  *relative_path,
                         GError     **error)
{
  g_autofree char *path = g_strconcat ("/org/waybill/Waybill/polling/", relative_path, NULL);

  return g_resource_lookup_data (wb_polling_data_get_resource (), path, G_RESOURCE_LOOKUP_FLAGS_NONE, error);
}

gboolean
_wb_polling_parse_duration (const char *text,
                            gint64     *out_us)
{
  g_autofree char *copy = g_strstrip (g_strdup (text));
  char *end = NULL;
  double value = g_ascii_strtod (copy, &end);
  double unit;

  if (end == copy || value < 0 || !isfinite (value))
    return FALSE;
  if (*end == '\0' || g_str_equal (end, "s"))
    unit = G_USEC_PER_SEC;
  else if (g_str_equal (end, "ms"))
    unit = 1000;
  else if (g_str_equal (end, "m"))
    unit = 60.0 * G_USEC_PER_SEC;
  else if (g_str_equal (end, "h"))
    unit = 3600.0 * G_USEC_PER_SEC;
  else if (g_str_equal (end, "d"))
    unit = 86400.0 * G_USEC_PER_SEC;
  else
    return FALSE;
  if (value * unit > (double) G_MAXINT64 / 2)
    return FALSE;
  *out_us = (gint64) (value * unit);
  return TRUE;
}

G_DEFINE_QUARK (wb-polling-error-quark, wb_polling_error)
