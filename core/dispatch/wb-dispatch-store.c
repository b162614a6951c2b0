// SPDX-License-Identifier: GPL-3.0-or-later
/* The dispatch store: the object, one transaction per request, the errors
 * and what the other pieces share (the outbox, the shipments' event path). */

#include "config.h"

#include <string.h>

#include "wb-db-transaction.h"
#include "wb-dispatch-private.h"
#include "wb-json-writer.h"

struct _WbDispatchStore
{
  GObject          parent_instance;

  WbDbPool        *pool;
  WbShipmentStore *shipments;
};

G_DEFINE_FINAL_TYPE (WbDispatchStore, wb_dispatch_store, G_TYPE_OBJECT)

/* ---- errors --------------------------------------------------------------- */

typedef struct
{
  char   *field;
  char   *status;
  gint64  version;
} WbDispatchErrorPrivate;

static void
wb_dispatch_error_private_init (WbDispatchErrorPrivate *priv)
{
}

static void
wb_dispatch_error_private_copy (const WbDispatchErrorPrivate *src,
                                WbDispatchErrorPrivate       *dest)
{
  dest->field = g_strdup (src->field);
  dest->status = g_strdup (src->status);
  dest->version = src->version;
}

static void
wb_dispatch_error_private_clear (WbDispatchErrorPrivate *priv)
{
  g_clear_pointer (&priv->field, g_free);
  g_clear_pointer (&priv->status, g_free);
}

G_DEFINE_EXTENDED_ERROR (WbDispatchError, wb_dispatch_error)

const char *
wb_dispatch_error_get_field (const GError *error)
{
  g_return_val_if_fail (error != NULL, NULL);

  return error->domain == WB_DISPATCH_ERROR ? wb_dispatch_error_get_private (error)->field : NULL;
}

const char *
wb_dispatch_error_get_current_status (const GError *error)
{
  g_return_val_if_fail (error != NULL, NULL);

  return error->domain == WB_DISPATCH_ERROR ? wb_dispatch_error_get_private (error)->status : NULL;
}

gint64
wb_dispatch_error_get_current_version (const GError *error)
{
  g_return_val_if_fail (error != NULL, 0);

  return error->domain == WB_DISPATCH_ERROR ? wb_dispatch_error_get_private (error)->version : 0;
}

gpointer
_wb_dispatch_fail (GError          **error,
                   WbDispatchError   code,
                   const char       *field,
                   const char       *status,
                   gint64            version,
                   const char       *format,
                   ...)
{
  g_autofree char *message = NULL;
  WbDispatchErrorPrivate *priv;
  va_list args;

  if (error == NULL)
    return NULL;
  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  if (field != NULL)
    g_set_error (error, WB_DISPATCH_ERROR, code, "%s: %s", field, message);
  else
    g_set_error_literal (error, WB_DISPATCH_ERROR, code, message);
  priv = wb_dispatch_error_get_private (*error);
  priv->field = g_strdup (field);
  priv->status = g_strdup (status);
  priv->version = version;
  return NULL;
}

gboolean
_wb_dispatch_broke (const GError *error,
                    const char   *constraint)
{
  const char *sqlstate = error != NULL ? wb_db_error_get_sqlstate (error) : NULL;
  g_autofree char *quoted = g_strdup_printf ("\"%s\"", constraint);

  return sqlstate != NULL && g_str_has_prefix (sqlstate, "23") && strstr (error->message, quoted) != NULL;
}

/* ---- requests and results -------------------------------------------------- */

WbDispatchRequest *
wb_dispatch_request_new (WbDispatchOp op)
{
  WbDispatchRequest *request = g_new0 (WbDispatchRequest, 1);

  request->op = op;
  return request;
}

void
wb_dispatch_request_free (WbDispatchRequest *request)
{
  if (request == NULL)
    return;
  g_free (request->id);
  g_free (request->body);
  g_clear_pointer (&request->expected_versions, g_array_unref);
  g_free (request->cursor);
  g_free (request->status);
  g_free (request->company_id);
  g_free (request->vehicle_id);
  g_free (request->driver_id);
  g_free (request->pickup_point_id);
  g_free (request->shipment_id);
  g_free (request->phone);
  g_free (request->reason);
  g_free (request->command_id);
  g_free (request->requested_by);
  g_free (request->silent_vehicle_id);
  g_clear_pointer (&request->positions, g_ptr_array_unref);
  g_free (request);
}

void
wb_dispatch_position_free (WbDispatchPosition *position)
{
  if (position == NULL)
    return;
  g_free (position->vehicle_id);
  g_free (position);
}

void
wb_dispatch_result_free (WbDispatchResult *result)
{
  if (result == NULL)
    return;
  g_free (result->json);
  g_free (result->id);
  g_free (result->status);
  g_free (result);
}

WbDispatchResult *
_wb_dispatch_result_new (const char *id,
                         char       *json,
                         gint64      version)
{
  WbDispatchResult *result = g_new0 (WbDispatchResult, 1);

  /* The database's JSON has spaces between tokens; REST bodies are compact. */
  result->id = g_strdup (id);
  result->json = json != NULL ? wb_json_compact (json) : NULL;
  g_free (json);
  result->version = version;
  return result;
}

/* ---- what the pieces share --------------------------------------------------- */

PGresult *
_wb_dispatch_exec (WbDispatchTx        *tx,
                   const char          *sql,
                   const char * const  *params,
                   int                  n_params,
                   GError             **error)
{
  return wb_db_exec (tx->conn, sql, params, n_params, tx->cancellable, error);
}

gboolean
_wb_dispatch_queue_trip (WbDispatchTx  *tx,
                         const char    *topic,
                         const char    *trip_id,
                         const char    *extra_sql,
                         const char    *extra_param,
                         GError       **error)
{
  /* The server refuses a parameter the statement never uses, so the topic
   * takes $2 unless the extra part uses it. */
  gboolean with_extra = extra_sql != NULL && strstr (extra_sql, "$2") != NULL;
  const char *topic_param = with_extra ? "$3" : "$2";
  g_autofree char *sql = g_strdup_printf (
    "INSERT INTO outbox (topic, key, type, payload)"
    " SELECT %s, t.id, %s, jsonb_build_object("
    "   'trip_id', t.id, 'company_id', t.company_id, 'vehicle_id', t.vehicle_id,"
    "   'driver_id', t.driver_id, 'status', t.status, 'version', t.version,"
    "   'occurred_at', " WB_DISPATCH_SQL_TIME ("now()") ") || %s"
    " FROM trips t WHERE t.id = $1",
    topic_param, topic_param, extra_sql != NULL ? extra_sql : "'{}'::jsonb");
  const char *with[] = { trip_id, extra_param, topic };
  const char *without[] = { trip_id, topic };
  g_autoptr(PGresult) result = with_extra ? _wb_dispatch_exec (tx, sql, with, 3, error)
                                          : _wb_dispatch_exec (tx, sql, without, 2, error);

  if (result == NULL)
    return FALSE;
  tx->wrote_outbox = TRUE;
  return TRUE;
}

static GPtrArray *
events_for (PGresult   *rows,
            const char *scope,
            const char *what,
            WbStatus    status)
{
  GPtrArray *events = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_status_event_free);
  gint64 now = g_get_real_time ();

  for (int i = 0; i < PQntuples (rows); i++)
    {
      WbStatusEvent *event = g_new0 (WbStatusEvent, 1);
      const char *shipment = PQgetvalue (rows, i, 0);

      event->source = g_strdup (WB_DISPATCH_SOURCE);
      event->event_id = g_strdup_printf ("dispatch:%s:%s:%s", scope, shipment, what);
      event->shipment_id = g_strdup (shipment);
      event->status = status;
      event->occurred_at = now;
      event->description = g_strdup_printf ("dispatch %s %s", scope, what);
      /* Where the parcel now is, when the statement says: a place's name,
       * then its coordinates. */
      if (PQnfields (rows) >= 4 && !PQgetisnull (rows, i, 2) && !PQgetisnull (rows, i, 3))
        {
          event->location_text = PQgetisnull (rows, i, 1) ? NULL : g_strdup (PQgetvalue (rows, i, 1));
          event->has_coordinates = TRUE;
          event->lat = g_ascii_strtod (PQgetvalue (rows, i, 2), NULL);
          event->lon = g_ascii_strtod (PQgetvalue (rows, i, 3), NULL);
        }
      g_ptr_array_add (events, event);
    }
  return events;
}

gboolean
_wb_dispatch_move_shipments (WbDispatchTx  *tx,
                             const char          *sql,
                             const char * const  *params,
                             int                  n_params,
                             const char    *scope,
                             const char    *what,
                             WbStatus       status,
                             GError       **error)
{
  g_autoptr(PGresult) rows = _wb_dispatch_exec (tx, sql, params, n_params, error);
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GArray) results = NULL;
  GArray *changes = NULL;

  if (rows == NULL)
    return FALSE;
  if (PQntuples (rows) == 0 || tx->shipments == NULL)
    return TRUE;
  events = events_for (rows, scope, what, status);
  results = wb_shipment_store_add_events_in_transaction (tx->shipments, tx->conn, events, &changes,
                                                         tx->cancellable, error);
  if (results == NULL)
    {
      g_clear_pointer (&changes, g_array_unref);
      return FALSE;
    }
  if (tx->shipment_changes == NULL)
    tx->shipment_changes = changes;
  else
    {
      /* One array per transaction: the store announces it after COMMIT. */
      g_array_append_vals (tx->shipment_changes, changes->data, changes->len);
      g_array_set_clear_func (changes, NULL);
      g_array_unref (changes);
    }
  return TRUE;
}

/* ---- transactions ------------------------------------------------------------ */

typedef struct
{
  WbDispatchTx      tx;
  WbDispatchResult *result;
} Attempt;

static void
attempt_reset (Attempt *attempt)
{
  g_clear_pointer (&attempt->result, wb_dispatch_result_free);
  g_clear_pointer (&attempt->tx.shipment_changes, g_array_unref);
  attempt->tx.wrote_outbox = FALSE;
}

static WbDispatchResult *
dispatch_op (WbDispatchTx  *tx,
             GError       **error)
{
  switch (tx->request->op)
    {
    case WB_DISPATCH_OP_PUT_PICKUP_POINT:
    case WB_DISPATCH_OP_GET_PICKUP_POINT:
    case WB_DISPATCH_OP_DELETE_PICKUP_POINT:
    case WB_DISPATCH_OP_LIST_PICKUP_POINTS:
    case WB_DISPATCH_OP_HANDOVER:
    case WB_DISPATCH_OP_CREATE_BATCH:
    case WB_DISPATCH_OP_GET_BATCH:
    case WB_DISPATCH_OP_LIST_BATCHES:
    case WB_DISPATCH_OP_AUTO_BATCH:
    case WB_DISPATCH_OP_IMPORT_PICKUP_POINTS:
      return _wb_dispatch_places_run (tx, error);
    case WB_DISPATCH_OP_SUBMIT_REASSIGN:
    case WB_DISPATCH_OP_GET_COMMAND:
    case WB_DISPATCH_OP_APPLY_REASSIGN:
    case WB_DISPATCH_OP_AUTO_REASSIGN:
      return _wb_dispatch_commands_run (tx, error);
    case WB_DISPATCH_OP_OBSERVE_POSITIONS:
      return _wb_dispatch_stops_run (tx, error);
    default:
      return _wb_dispatch_trips_run (tx, error);
    }
}

/* Starts from scratch: a rolled-back attempt's leftovers are dropped. */
static gboolean
run_attempt (PGconn        *conn,
             gpointer       user_data,
             GCancellable  *cancellable,
             GError       **error)
{
  Attempt *attempt = user_data;

  attempt_reset (attempt);
  attempt->tx.conn = conn;
  attempt->tx.cancellable = cancellable;
  attempt->result = dispatch_op (&attempt->tx, error);
  return attempt->result != NULL;
}

/**
 * wb_dispatch_store_run:
 *
 * Runs @request in one transaction on @conn, blocking.
 *
 * Returns: (transfer full): the result, or %NULL with @error set
 */
WbDispatchResult *
wb_dispatch_store_run (WbDispatchStore    *self,
                       PGconn             *conn,
                       WbDispatchRequest  *request,
                       GCancellable       *cancellable,
                       GError            **error)
{
  Attempt attempt = { { self, self->shipments, conn, cancellable, request, NULL, FALSE }, NULL };

  g_return_val_if_fail (WB_IS_DISPATCH_STORE (self), NULL);
  g_return_val_if_fail (conn != NULL && request != NULL, NULL);

  if (!wb_db_transaction_run (conn, run_attempt, &attempt, cancellable, error))
    {
      attempt_reset (&attempt);
      return NULL;
    }
  /* The shipment store announces what the events changed and kicks the
   * outbox relay, which publishes this transaction's messages too. */
  if (self->shipments != NULL && (attempt.tx.shipment_changes != NULL || attempt.tx.wrote_outbox))
    wb_shipment_store_committed (self->shipments, attempt.tx.shipment_changes);
  g_clear_pointer (&attempt.tx.shipment_changes, g_array_unref);
  return g_steal_pointer (&attempt.result);
}

typedef struct
{
  WbDispatchStore   *store;
  WbDispatchRequest *request;
} Job;

static void
job_free (gpointer data)
{
  Job *job = data;

  g_object_unref (job->store);
  wb_dispatch_request_free (job->request);
  g_free (job);
}

static gpointer
run_job (PGconn        *conn,
         gpointer       user_data,
         GCancellable  *cancellable,
         GError       **error)
{
  Job *job = user_data;

  return wb_dispatch_store_run (job->store, conn, job->request, cancellable, error);
}

static void
on_job_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;
  gpointer value = wb_db_pool_run_finish (WB_DB_POOL (source), result, &error);

  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, value, (GDestroyNotify) wb_dispatch_result_free);
}

void
wb_dispatch_store_run_async (WbDispatchStore     *self,
                             WbDispatchRequest   *request,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  GTask *task;
  Job *job;

  g_return_if_fail (WB_IS_DISPATCH_STORE (self));
  g_return_if_fail (request != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, wb_dispatch_store_run_async);
  job = g_new0 (Job, 1);
  job->store = g_object_ref (self);
  job->request = request;
  g_task_set_task_data (task, job, job_free);
  wb_db_pool_run_async (self->pool, run_job, job, NULL, (GDestroyNotify) wb_dispatch_result_free,
                        cancellable, on_job_done, task);
}

WbDispatchResult *
wb_dispatch_store_run_finish (WbDispatchStore  *self,
                              GAsyncResult     *result,
                              GError          **error)
{
  g_return_val_if_fail (WB_IS_DISPATCH_STORE (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- the object ----------------------------------------------------------------- */

static void
wb_dispatch_store_finalize (GObject *object)
{
  WbDispatchStore *self = WB_DISPATCH_STORE (object);

  g_clear_object (&self->pool);
  g_clear_object (&self->shipments);
  G_OBJECT_CLASS (wb_dispatch_store_parent_class)->finalize (object);
}

static void
wb_dispatch_store_class_init (WbDispatchStoreClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = wb_dispatch_store_finalize;
}

static void
wb_dispatch_store_init (WbDispatchStore *self)
{
}

/**
 * wb_dispatch_store_new:
 * @shipments: (nullable): whose event path carries the effects on
 *   shipments, and whose relay publishes the outbox after each commit;
 *   without one a trip moves no shipment and the relay's sweep publishes
 */
WbDispatchStore *
wb_dispatch_store_new (WbDbPool        *pool,
                       WbShipmentStore *shipments)
{
  WbDispatchStore *self;

  g_return_val_if_fail (WB_IS_DB_POOL (pool), NULL);
  g_return_val_if_fail (shipments == NULL || WB_IS_SHIPMENT_STORE (shipments), NULL);

  self = g_object_new (WB_TYPE_DISPATCH_STORE, NULL);
  self->pool = g_object_ref (pool);
  self->shipments = shipments ? g_object_ref (shipments) : NULL;
  return self;
}
