// SPDX-License-Identifier: GPL-3.0-or-later
/* The trackings of the REST API: added idempotently per carrier and
 * number, read, refreshed, listed and stopped. The scheduler and the
 * carrier workers write the polling state (wb-polling-scheduler.c,
 * wb-carrier-worker.c). */

#include "config.h"

#include "wb-json-writer.h"
#include "wb-polling.h"
#include "wb-polling-private.h"
#include "wb-tracking-store.h"

#define TRACKING_JSON(t) \
  "json_build_object('id', " t ".id, 'carrierCode', " t ".carrier, 'trackNumber', " t ".track_number," \
  " 'shipmentId', " t ".shipment_id, 'status', coalesce(" t ".status, 'PENDING'), 'statusRaw', " t ".status_raw," \
  " 'statusAt', " WB_POLLING_SQL_TIME (t ".status_at") "," \
  " 'lastCheckedAt', " WB_POLLING_SQL_TIME (t ".last_checked_at") "," \
  " 'nextCheckAt', " WB_POLLING_SQL_TIME (t ".next_check_at") "," \
  " 'lastError', " t ".last_error, 'consecutiveErrors', " t ".consecutive_errors," \
  " 'createdAt', " WB_POLLING_SQL_TIME (t ".created_at") ")"

#define EVENT_JSON(e) \
  "json_build_object('id', " e ".id, 'eventId', " e ".event_id, 'status', " e ".status," \
  " 'statusCode', " e ".status_code, 'statusRaw', " e ".status_raw," \
  " 'occurredAt', " WB_POLLING_SQL_TIME (e ".occurred_at") ", 'occurredAtRaw', " e ".occurred_at_raw," \
  " 'zoneGuessed', " e ".zone_guessed, 'location', json_build_object('text', " e ".location_text)," \
  " 'description', " e ".description, 'receivedAt', " WB_POLLING_SQL_TIME (e ".received_at") ")"

struct _WbTrackingStore
{
  GObject   parent_instance;
  WbDbPool *pool;
};

G_DEFINE_FINAL_TYPE (WbTrackingStore, wb_tracking_store, G_TYPE_OBJECT)

/* One call's input and, once it ran, its answer. */
typedef struct
{
  GPtrArray             *drafts;     /* borrowed: the caller keeps them until the callback */
  GArray                *ids;
  const WbTrackingQuery *query;      /* borrowed likewise */
  gint64                 id;
  gint64                 interval_us;
  guint                  limit;
  guint                  offset;
  GArray                *added;      /* WbTrackingAdded */
  char                  *json;
  gint64                 retry_after_s;
} Job;

static void
job_free (gpointer data)
{
  Job *job = data;

  g_clear_pointer (&job->ids, g_array_unref);
  g_clear_pointer (&job->added, g_array_unref);
  g_free (job->json);
  g_free (job);
}

void
wb_tracking_draft_free (WbTrackingDraft *draft)
{
  if (draft == NULL)
    return;
  g_free (draft->carrier);
  g_free (draft->track_number);
  g_free (draft->shipment_id);
  g_free (draft);
}

void
wb_tracking_query_free (WbTrackingQuery *query)
{
  if (query == NULL)
    return;
  g_free (query->carrier);
  g_free (query);
}

static void
wb_tracking_store_dispose (GObject *object)
{
  WbTrackingStore *self = WB_TRACKING_STORE (object);

  g_clear_object (&self->pool);
  G_OBJECT_CLASS (wb_tracking_store_parent_class)->dispose (object);
}

static void
wb_tracking_store_class_init (WbTrackingStoreClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = wb_tracking_store_dispose;
}

static void
wb_tracking_store_init (WbTrackingStore *self)
{
}

WbTrackingStore *
wb_tracking_store_new (WbDbPool *pool)
{
  WbTrackingStore *self;

  g_return_val_if_fail (WB_IS_DB_POOL (pool), NULL);

  self = g_object_new (WB_TYPE_TRACKING_STORE, NULL);
  self->pool = g_object_ref (pool);
  return self;
}

static void
run (WbTrackingStore     *self,
     gpointer             tag,
     WbDbTransactionFunc  func,
     Job                 *job,
     GCancellable        *cancellable,
     GAsyncReadyCallback  callback,
     gpointer             user_data)
{
  _wb_polling_run_transaction (self->pool, self, tag, func, job, job_free, cancellable, callback, user_data);
}

static Job *
finish (WbTrackingStore  *self,
        GAsyncResult     *result,
        gpointer          tag,
        GError          **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == tag, NULL);
  return _wb_polling_run_finish (result, error);
}

static gboolean
set_not_found (GError **error,
               gint64   id)
{
  g_set_error (error, WB_POLLING_ERROR, WB_POLLING_ERROR_NOT_FOUND, "no tracking %" G_GINT64_FORMAT, id);
  return FALSE;
}

/* ---- add -------------------------------------------------------------------- */

static char *
key_of (const WbTrackingDraft *draft)
{
  return g_strconcat (draft->carrier, "\x1f", draft->track_number, NULL);
}

/* Shipments the drafts name that do not exist: their items are refused
 * rather than failing the whole request on the foreign key. */
static gboolean
mark_missing_shipments (Job           *job,
                        PGconn        *conn,
                        GCancellable  *cancellable,
                        GError       **error)
{
  g_autoptr(GString) ids = g_string_new ("{");
  g_autoptr(GPtrArray) params = _wb_polling_params_new ();
  g_autoptr(PGresult) result = NULL;
  g_autoptr(GHashTable) missing = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < job->drafts->len; i++)
    {
      WbTrackingDraft *draft = g_ptr_array_index (job->drafts, i);

      if (draft->shipment_id != NULL)
        g_string_append_printf (ids, "%s%s", ids->len > 1 ? "," : "", draft->shipment_id);
    }
  if (ids->len == 1)
    return TRUE;
  g_string_append_c (ids, '}');
  _wb_polling_params_add (params, ids->str);
  result = _wb_polling_exec (conn,
                             "SELECT s::text FROM unnest($1::uuid[]) AS s"
                             " WHERE NOT EXISTS (SELECT 1 FROM shipments WHERE id = s)",
                             params, cancellable, error);
  if (result == NULL)
    return FALSE;
  for (int row = 0; row < PQntuples (result); row++)
    g_hash_table_add (missing, g_strdup (PQgetvalue (result, row, 0)));
  for (guint i = 0; i < job->drafts->len; i++)
    {
      WbTrackingDraft *draft = g_ptr_array_index (job->drafts, i);

      if (draft->shipment_id != NULL && g_hash_table_contains (missing, draft->shipment_id))
        g_array_index (job->added, WbTrackingAdded, i).no_shipment = TRUE;
    }
  return TRUE;
}

static char *
drafts_json (Job        *job,
             GHashTable *first_of)
{
  g_autoptr(GString) out = g_string_new ("[");

  for (guint i = 0; i < job->drafts->len; i++)
    {
      WbTrackingDraft *draft = g_ptr_array_index (job->drafts, i);
      g_autofree char *key = key_of (draft);

      if (g_array_index (job->added, WbTrackingAdded, i).no_shipment
          || GPOINTER_TO_UINT (g_hash_table_lookup (first_of, key)) != i + 1)
        continue;
      g_string_append_printf (out, "%s{\"i\":%u,\"carrier\":", out->len > 1 ? "," : "", i);
      wb_json_write_string (out, draft->carrier);
      g_string_append (out, ",\"track_number\":");
      wb_json_write_string (out, draft->track_number);
      g_string_append (out, ",\"shipment_id\":");
      if (draft->shipment_id != NULL)
        wb_json_write_string (out, draft->shipment_id);
      else
        g_string_append (out, "null");
      g_string_append_c (out, '}');
    }
  g_string_append_c (out, ']');
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static const char insert_sql[] =
  "WITH input AS (SELECT * FROM json_to_recordset($1::json)"
  "               AS r(i integer, carrier text, track_number text, shipment_id uuid)),"
  " ins AS (INSERT INTO trackings (shipment_id, carrier, track_number, next_check_at, last_change_at)"
  "         SELECT shipment_id, carrier, track_number, now(), now() FROM input ORDER BY i"
  "         ON CONFLICT (carrier, track_number) DO NOTHING"
  "         RETURNING id, carrier, track_number)"
  " SELECT input.i, ins.id FROM input JOIN ins USING (carrier, track_number)";

/* A separate statement, so that numbers a concurrent request inserted and
 * committed meanwhile are seen. A deleted tracking comes back to life. */
static const char existing_sql[] =
  "WITH input AS (SELECT * FROM json_to_recordset($1::json) AS r(i integer, carrier text, track_number text)),"
  " found AS (SELECT input.i, t.id, t.deleted_at IS NOT NULL AS deleted FROM input"
  "           JOIN trackings t ON t.carrier = input.carrier AND t.track_number = input.track_number),"
  " revived AS (UPDATE trackings t SET deleted_at = NULL, next_check_at = now(), last_change_at = now()"
  "             FROM found WHERE found.deleted AND t.id = found.id RETURNING t.id)"
  " SELECT i, id, deleted FROM found";

static gboolean
read_ids (Job          *job,
          PGresult     *result,
          gboolean      existing)
{
  for (int row = 0; row < PQntuples (result); row++)
    {
      WbTrackingAdded *added = &g_array_index (job->added, WbTrackingAdded, _wb_polling_get_int (result, row, 0));

      if (added->id != 0)
        continue;
      added->id = _wb_polling_get_int (result, row, 1);
      added->created = !existing || g_str_equal (PQgetvalue (result, row, 2), "t");
    }
  return TRUE;
}

static gboolean
add_attempt (PGconn        *conn,
             gpointer       data,
             GCancellable  *cancellable,
             GError       **error)
{
  Job *job = data;
  g_autoptr(GHashTable) first_of = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GPtrArray) params = _wb_polling_params_new ();
  g_autoptr(PGresult) inserted = NULL;
  g_autoptr(PGresult) existing = NULL;

  g_clear_pointer (&job->added, g_array_unref);
  job->added = g_array_new (FALSE, TRUE, sizeof (WbTrackingAdded));
  g_array_set_size (job->added, job->drafts->len);
  for (guint i = 0; i < job->drafts->len; i++)
    {
      char *key = key_of (g_ptr_array_index (job->drafts, i));

      if (!g_hash_table_contains (first_of, key))
        g_hash_table_insert (first_of, key, GUINT_TO_POINTER (i + 1));
      else
        g_free (key);
    }
  if (!mark_missing_shipments (job, conn, cancellable, error))
    return FALSE;
  g_ptr_array_add (params, drafts_json (job, first_of));
  if ((inserted = _wb_polling_exec (conn, insert_sql, params, cancellable, error)) == NULL
      || !read_ids (job, inserted, FALSE)
      || (existing = _wb_polling_exec (conn, existing_sql, params, cancellable, error)) == NULL
      || !read_ids (job, existing, TRUE))
    return FALSE;
  /* A number given twice in one request: the second is the first's. */
  for (guint i = 0; i < job->drafts->len; i++)
    {
      g_autofree char *key = key_of (g_ptr_array_index (job->drafts, i));
      guint first = GPOINTER_TO_UINT (g_hash_table_lookup (first_of, key)) - 1;
      WbTrackingAdded *added = &g_array_index (job->added, WbTrackingAdded, i);

      if (first != i && !added->no_shipment)
        {
          added->id = g_array_index (job->added, WbTrackingAdded, first).id;
          added->created = FALSE;
        }
    }
  return TRUE;
}

void
wb_tracking_store_add_async (WbTrackingStore     *self,
                             GPtrArray           *drafts,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  Job *job = g_new0 (Job, 1);

  g_return_if_fail (WB_IS_TRACKING_STORE (self));
  g_return_if_fail (drafts != NULL);

  job->drafts = drafts;
  run (self, wb_tracking_store_add_async, add_attempt, job, cancellable, callback, user_data);
}

GArray *
wb_tracking_store_add_finish (WbTrackingStore  *self,
                              GAsyncResult     *result,
                              GError          **error)
{
  Job *job = finish (self, result, wb_tracking_store_add_async, error);

  return job != NULL ? g_array_ref (job->added) : NULL;
}

/* ---- get-by-ids ------------------------------------------------------------- */

static char *
ids_array (GArray *ids)
{
  g_autoptr(GString) out = g_string_new ("{");

  for (guint i = 0; i < ids->len; i++)
    g_string_append_printf (out, "%s%" G_GINT64_FORMAT, i > 0 ? "," : "", g_array_index (ids, gint64, i));
  g_string_append_c (out, '}');
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static gboolean
get_by_ids_attempt (PGconn        *conn,
                    gpointer       data,
                    GCancellable  *cancellable,
                    GError       **error)
{
  Job *job = data;
  g_autoptr(GPtrArray) params = _wb_polling_params_new ();
  g_autoptr(PGresult) result = NULL;
  g_autoptr(GString) items = g_string_new ("{\"items\":[");
  g_autoptr(GString) missing = g_string_new ("");

  g_ptr_array_add (params, ids_array (job->ids));
  result = _wb_polling_exec (conn,
                             "SELECT r.id, t.id IS NOT NULL, " TRACKING_JSON ("t")
                             " FROM unnest($1::bigint[]) WITH ORDINALITY AS r(id, i)"
                             " LEFT JOIN trackings t ON t.id = r.id AND t.deleted_at IS NULL ORDER BY r.i",
                             params, cancellable, error);
  if (result == NULL)
    return FALSE;
  for (int row = 0; row < PQntuples (result); row++)
    {
      if (g_str_equal (PQgetvalue (result, row, 1), "t"))
        {
          if (items->str[items->len - 1] != '[')
            g_string_append_c (items, ',');
          wb_json_append_compact (items, PQgetvalue (result, row, 2));
        }
      else
        g_string_append_printf (missing, "%s%s", missing->len > 0 ? "," : "", PQgetvalue (result, row, 0));
    }
  g_string_append_printf (items, "],\"notFound\":[%s]}", missing->str);
  g_free (job->json);
  job->json = g_string_free (g_steal_pointer (&items), FALSE);
  return TRUE;
}

void
wb_tracking_store_get_by_ids_async (WbTrackingStore     *self,
                                    GArray              *ids,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  Job *job = g_new0 (Job, 1);

  g_return_if_fail (WB_IS_TRACKING_STORE (self));

  job->ids = g_array_ref (ids);
  run (self, wb_tracking_store_get_by_ids_async, get_by_ids_attempt, job, cancellable, callback, user_data);
}

char *
wb_tracking_store_get_by_ids_finish (WbTrackingStore  *self,
                                     GAsyncResult     *result,
                                     GError          **error)
{
  Job *job = finish (self, result, wb_tracking_store_get_by_ids_async, error);

  return job != NULL ? g_strdup (job->json) : NULL;
}

/* ---- events ----------------------------------------------------------------- */

static gboolean
exists (PGconn        *conn,
        gint64         id,
        GCancellable  *cancellable,
        gboolean      *out_exists,
        GError       **error)
{
  g_autoptr(GPtrArray) params = _wb_polling_params_new ();
  g_autoptr(PGresult) result = NULL;

  _wb_polling_params_add_int (params, id);
  result = _wb_polling_exec (conn, "SELECT 1 FROM trackings WHERE id = $1 AND deleted_at IS NULL",
                             params, cancellable, error);
  if (result == NULL)
    return FALSE;
  *out_exists = PQntuples (result) == 1;
  return TRUE;
}

static gboolean
list_events_attempt (PGconn        *conn,
                     gpointer       data,
                     GCancellable  *cancellable,
                     GError       **error)
{
  Job *job = data;
  g_autoptr(GPtrArray) params = _wb_polling_params_new ();
  g_autoptr(PGresult) result = NULL;
  g_autoptr(GString) out = g_string_new ("{\"items\":");
  gboolean found;

  if (!exists (conn, job->id, cancellable, &found, error))
    return FALSE;
  if (!found)
    return set_not_found (error, job->id);
  _wb_polling_params_add_int (params, job->id);
  _wb_polling_params_add_int (params, job->limit);
  _wb_polling_params_add_int (params, job->offset);
  result = _wb_polling_exec (conn,
                             "SELECT (SELECT count(*) FROM tracking_events WHERE tracking_id = $1),"
                             " coalesce(json_agg(" EVENT_JSON ("e") " ORDER BY e.occurred_at DESC, e.id DESC), '[]')"
                             " FROM (SELECT * FROM tracking_events WHERE tracking_id = $1"
                             "       ORDER BY occurred_at DESC, id DESC LIMIT $2 OFFSET $3) e",
                             params, cancellable, error);
  if (result == NULL)
    return FALSE;
  wb_json_append_compact (out, PQgetvalue (result, 0, 1));
  g_string_append_printf (out, ",\"total\":%s,\"limit\":%u,\"offset\":%u}",
                          PQgetvalue (result, 0, 0), job->limit, job->offset);
  g_free (job->json);
  job->json = g_string_free (g_steal_pointer (&out), FALSE);
  return TRUE;
}

void
wb_tracking_store_list_events_async (WbTrackingStore     *self,
                                     gint64               id,
                                     guint                limit,
                                     guint                offset,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data)
{
  Job *job = g_new0 (Job, 1);

  g_return_if_fail (WB_IS_TRACKING_STORE (self));

  job->id = id;
  job->limit = limit;
  job->offset = offset;
  run (self, wb_tracking_store_list_events_async, list_events_attempt, job, cancellable, callback, user_data);
}

char *
wb_tracking_store_list_events_finish (WbTrackingStore  *self,
                                      GAsyncResult     *result,
                                      GError          **error)
{
  Job *job = finish (self, result, wb_tracking_store_list_events_async, error);

  return job != NULL ? g_strdup (job->json) : NULL;
}

/* ---- refresh ---------------------------------------------------------------- */

/* A tracking being checked right now keeps its lease: the check under way
 * is as fresh as the one asked for. */
static const char refresh_sql[] =
  "UPDATE trackings t SET refreshed_at = now(),"
  "  next_check_at = CASE WHEN t.lease_expires_at > now() THEN t.next_check_at ELSE now() END"
  " WHERE t.id = $1 AND t.deleted_at IS NULL"
  "   AND (t.refreshed_at IS NULL OR t.refreshed_at <= now() - $2::bigint * interval '1 microsecond')"
  " RETURNING " TRACKING_JSON ("t");

static gboolean
refresh_attempt (PGconn        *conn,
                 gpointer       data,
                 GCancellable  *cancellable,
                 GError       **error)
{
  Job *job = data;
  g_autoptr(GPtrArray) params = _wb_polling_params_new ();
  g_autoptr(PGresult) result = NULL;
  g_autoptr(PGresult) throttled = NULL;

  _wb_polling_params_add_int (params, job->id);
  _wb_polling_params_add_int (params, job->interval_us);
  if ((result = _wb_polling_exec (conn, refresh_sql, params, cancellable, error)) == NULL)
    return FALSE;
  if (PQntuples (result) == 1)
    {
      g_free (job->json);
      job->json = wb_json_compact (PQgetvalue (result, 0, 0));
      return TRUE;
    }
  throttled = _wb_polling_exec (conn,
                                "SELECT greatest(1, ceil(extract(epoch FROM refreshed_at"
                                "   + $2::bigint * interval '1 microsecond' - now())))::bigint"
                                " FROM trackings WHERE id = $1 AND deleted_at IS NULL",
                                params, cancellable, error);
  if (throttled == NULL)
    return FALSE;
  if (PQntuples (throttled) == 0)
    return set_not_found (error, job->id);
  job->retry_after_s = _wb_polling_get_int (throttled, 0, 0);
  g_set_error (error, WB_POLLING_ERROR, WB_POLLING_ERROR_THROTTLED,
               "tracking %" G_GINT64_FORMAT " was refreshed moments ago; try again in %" G_GINT64_FORMAT " s",
               job->id, job->retry_after_s);
  return FALSE;
}

void
wb_tracking_store_refresh_async (WbTrackingStore     *self,
                                 gint64               id,
                                 gint64               min_interval_us,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  Job *job = g_new0 (Job, 1);

  g_return_if_fail (WB_IS_TRACKING_STORE (self));

  job->id = id;
  job->interval_us = min_interval_us;
  run (self, wb_tracking_store_refresh_async, refresh_attempt, job, cancellable, callback, user_data);
}

char *
wb_tracking_store_refresh_finish (WbTrackingStore  *self,
                                  GAsyncResult     *result,
                                  gint64           *out_retry_after_s,
                                  GError          **error)
{
  Job *job = g_task_get_task_data (G_TASK (result));
  Job *done = finish (self, result, wb_tracking_store_refresh_async, error);

  if (out_retry_after_s != NULL)
    *out_retry_after_s = job->retry_after_s;
  return done != NULL ? g_strdup (done->json) : NULL;
}

/* ---- list ------------------------------------------------------------------- */

static const char list_sql[] =
  "SELECT t.id, " TRACKING_JSON ("t") " FROM trackings t"
  " WHERE t.deleted_at IS NULL AND t.id > $1::bigint"
  "   AND ($2::text IS NULL OR t.carrier = $2)"
  "   AND ($3::text IS NULL OR coalesce(t.status, 'PENDING') = $3)"
  "   AND ($4::boolean IS NULL OR (t.next_check_at IS NOT NULL AND t.next_check_at <= now()) = $4)"
  "   AND ($5::boolean IS NULL OR (t.consecutive_errors > 0) = $5)"
  " ORDER BY t.id LIMIT $6::integer + 1";

static gboolean
list_attempt (PGconn        *conn,
              gpointer       data,
              GCancellable  *cancellable,
              GError       **error)
{
  Job *job = data;
  const WbTrackingQuery *query = job->query;
  g_autoptr(GPtrArray) params = _wb_polling_params_new ();
  g_autoptr(PGresult) result = NULL;
  g_autoptr(GString) out = g_string_new ("{\"items\":[");
  int rows;

  _wb_polling_params_add_int (params, query->after_id);
  _wb_polling_params_add (params, query->carrier);
  _wb_polling_params_add (params, query->status != WB_STATUS_INVALID ? wb_status_to_string (query->status) : NULL);
  _wb_polling_params_add (params, query->due < 0 ? NULL : query->due ? "true" : "false");
  _wb_polling_params_add (params, query->erroring < 0 ? NULL : query->erroring ? "true" : "false");
  _wb_polling_params_add_int (params, query->limit);
  if ((result = _wb_polling_exec (conn, list_sql, params, cancellable, error)) == NULL)
    return FALSE;
  rows = MIN (PQntuples (result), (int) query->limit);
  for (int row = 0; row < rows; row++)
    {
      if (row > 0)
        g_string_append_c (out, ',');
      wb_json_append_compact (out, PQgetvalue (result, row, 1));
    }
  if (PQntuples (result) > (int) query->limit)
    g_string_append_printf (out, "],\"nextCursor\":\"%s\"}", PQgetvalue (result, rows - 1, 0));
  else
    g_string_append (out, "],\"nextCursor\":null}");
  g_free (job->json);
  job->json = g_string_free (g_steal_pointer (&out), FALSE);
  return TRUE;
}

void
wb_tracking_store_list_async (WbTrackingStore       *self,
                              const WbTrackingQuery *query,
                              GCancellable          *cancellable,
                              GAsyncReadyCallback    callback,
                              gpointer               user_data)
{
  Job *job = g_new0 (Job, 1);

  g_return_if_fail (WB_IS_TRACKING_STORE (self));
  g_return_if_fail (query != NULL && query->limit > 0);

  job->query = query;
  run (self, wb_tracking_store_list_async, list_attempt, job, cancellable, callback, user_data);
}

char *
wb_tracking_store_list_finish (WbTrackingStore  *self,
                               GAsyncResult     *result,
                               GError          **error)
{
  Job *job = finish (self, result, wb_tracking_store_list_async, error);

  return job != NULL ? g_strdup (job->json) : NULL;
}

/* ---- delete ----------------------------------------------------------------- */

static gboolean
delete_attempt (PGconn        *conn,
                gpointer       data,
                GCancellable  *cancellable,
                GError       **error)
{
  Job *job = data;
  g_autoptr(GPtrArray) params = _wb_polling_params_new ();
  g_autoptr(PGresult) result = NULL;

  _wb_polling_params_add_int (params, job->id);
  result = _wb_polling_exec (conn,
                             "UPDATE trackings SET deleted_at = now(), next_check_at = NULL,"
                             " lease_owner = NULL, lease_expires_at = NULL"
                             " WHERE id = $1 AND deleted_at IS NULL",
                             params, cancellable, error);
  if (result == NULL)
    return FALSE;
  if (g_str_equal (PQcmdTuples (result), "0"))
    return set_not_found (error, job->id);
  return TRUE;
}

void
wb_tracking_store_delete_async (WbTrackingStore     *self,
                                gint64               id,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  Job *job = g_new0 (Job, 1);

  g_return_if_fail (WB_IS_TRACKING_STORE (self));

  job->id = id;
  run (self, wb_tracking_store_delete_async, delete_attempt, job, cancellable, callback, user_data);
}

gboolean
wb_tracking_store_delete_finish (WbTrackingStore  *self,
                                 GAsyncResult     *result,
                                 GError          **error)
{
  return finish (self, result, wb_tracking_store_delete_async, error) != NULL;
}

/* ---- carrier limits --------------------------------------------------------- */

/* The breaker's state as the scheduler reads it: no pause set is closed,
 * a pause running is open, a pause over waits for its probe. */
static const char limits_sql[] =
  "SELECT coalesce(json_object_agg(carrier, json_build_object("
  "   'quotaUsedToday', CASE WHEN quota_day = (clock_timestamp() AT TIME ZONE 'UTC')::date"
  "                          THEN quota_used ELSE 0 END,"
  "   'breaker', CASE WHEN breaker_open_until IS NULL THEN 'closed'"
  "                   WHEN breaker_open_until > clock_timestamp() THEN 'open' ELSE 'half-open' END,"
  "   'breakerOpenUntil', " WB_POLLING_SQL_TIME ("breaker_open_until") ","
  "   'consecutiveFailures', failures,"
  "   'blockedUntil', CASE WHEN blocked_until > clock_timestamp()"
  "                        THEN " WB_POLLING_SQL_TIME ("blocked_until") " END,"
  "   'permitsTotal', permits_total)), '{}')::text"
  " FROM carrier_limits";

static gboolean
limits_attempt (PGconn        *conn,
                gpointer       data,
                GCancellable  *cancellable,
                GError       **error)
{
  Job *job = data;
  g_autoptr(PGresult) result = _wb_polling_exec (conn, limits_sql, NULL, cancellable, error);

  if (result == NULL)
    return FALSE;
  g_free (job->json);
  job->json = g_strdup (PQgetvalue (result, 0, 0));
  return TRUE;
}

void
wb_tracking_store_get_limits_async (WbTrackingStore     *self,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  g_return_if_fail (WB_IS_TRACKING_STORE (self));

  run (self, wb_tracking_store_get_limits_async, limits_attempt, g_new0 (Job, 1), cancellable, callback, user_data);
}

char *
wb_tracking_store_get_limits_finish (WbTrackingStore  *self,
                                     GAsyncResult     *result,
                                     GError          **error)
{
  Job *job = finish (self, result, wb_tracking_store_get_limits_async, error);

  return job != NULL ? g_strdup (job->json) : NULL;
}
