// SPDX-License-Identifier: GPL-3.0-or-later
/* The fleet store: reference data in PostgreSQL, one transaction per call on
 * a pool thread, and the index kept in step after each commit.
 *
 * Every statement that hands out a row uses one column layout (ROW_* below:
 * what WbFleetRow holds), whichever table it reads, so one reader turns any
 * of them into index rows; the REST JSON comes from the database in the
 * same statement, so a write answers with exactly what it stored. */

#include "config.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "wb-db-copy.h"
#include "wb-db-transaction.h"
#include "wb-fleet-index-private.h"
#include "wb-fleet-store.h"
#include "wb-json-writer.h"
#include "wb-position-history.h"

#define DEFAULT_PAGE_SIZE 50

/* ---- SQL ------------------------------------------------------------------ */

#define SQL_TIME(col) "to_char((" col ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
#define SQL_FROM_US(param) "(timestamptz 'epoch' + (" param ")::bigint * interval '1 microsecond')"

#define COMPANY_JSON(t) \
  "json_build_object('id', " t ".id, 'name', " t ".name, 'version', " t ".version," \
  " 'updatedAt', " SQL_TIME (t ".updated_at") ")"
#define DRIVER_JSON(t) \
  "json_build_object('id', " t ".id, 'name', " t ".name, 'phone', " t ".phone, 'companyId', " t ".company_id," \
  " 'version', " t ".version, 'updatedAt', " SQL_TIME (t ".updated_at") ")"
#define VEHICLE_MEMBERS(t) \
  "'id', " t ".id, 'plate', " t ".plate, 'companyId', " t ".company_id, 'driverId', " t ".driver_id," \
  " 'groupId', " t ".group_id, 'tariffId', " t ".tariff_id, 'version', " t ".version," \
  " 'updatedAt', " SQL_TIME (t ".updated_at")
#define VEHICLE_JSON(t) "json_build_object(" VEHICLE_MEMBERS (t) ")"
#define DEVICE_JSON(t) \
  "json_build_object('deviceId', " t ".device_id, 'vehicleId', " t ".vehicle_id," \
  " 'hasToken', " t ".token_hash IS NOT NULL, 'quarantined', " t ".quarantined," \
  " 'firstSeenAt', " SQL_TIME (t ".first_seen_at") ", 'lastSeenAt', " SQL_TIME (t ".last_seen_at") "," \
  " 'version', " t ".version, 'updatedAt', " SQL_TIME (t ".updated_at") ")"

/* A vehicle's current state, from the snapshot the fleet role writes in
 * the same transaction as the positions (so it is as fresh as history).
 * Offline is silence longer than @offline_s seconds by the server clock. */
#define STATE_OFFLINE(s, offline_s) "(now() - " s ".server_time > " offline_s "::float8 * interval '1 second')"
#define STATE_JSON(s, offline_s) \
  "CASE WHEN " s ".vehicle_id IS NULL THEN NULL ELSE json_build_object(" \
  " 'status', CASE WHEN " STATE_OFFLINE (s, offline_s) " THEN 'offline' ELSE " s ".motion END," \
  " 'online', NOT " STATE_OFFLINE (s, offline_s) ", 'motion', " s ".motion," \
  " 'motionSince', " SQL_TIME (s ".motion_since") ", 'deviceId', " s ".device_id," \
  " 'driverId', " s ".driver_id, 'deviceTime', " SQL_TIME (s ".device_time") "," \
  " 'serverTime', " SQL_TIME (s ".server_time") ", 'lat', " s ".lat, 'lon', " s ".lon," \
  " 'speed', " s ".speed_kmh, 'heading', " s ".heading, 'altitude', " s ".altitude," \
  " 'ignition', " s ".ignition, 'fuel', " s ".fuel, 'odometer', " s ".odometer) END"

/* The row layout: id, version, name, phone, company_id, plate, driver_id,
 * group_id, tariff_id, vehicle_id, token_hash, quarantined [, json]. */
enum { COL_ID, COL_VERSION, COL_NAME, COL_PHONE, COL_COMPANY, COL_PLATE, COL_DRIVER, COL_GROUP,
       COL_TARIFF, COL_VEHICLE, COL_TOKEN_HASH, COL_QUARANTINED, COL_JSON };

#define COMPANY_ROW "t.id, t.version, t.name, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, false"
#define DRIVER_ROW  "t.id, t.version, t.name, t.phone, t.company_id, NULL, NULL, NULL, NULL, NULL, NULL, false"
#define VEHICLE_ROW \
  "t.id, t.version, NULL, NULL, t.company_id, t.plate, t.driver_id, t.group_id, t.tariff_id, NULL, NULL, false"
#define DEVICE_ROW \
  "t.device_id, t.version, NULL, NULL, NULL, NULL, NULL, NULL, NULL, t.vehicle_id, t.token_hash, t.quarantined"

/* Upserts: $1 id, $2 version (NULL: stored + 1), $3 updated_at in µs
 * (NULL: now), then the kind's own members. */
#define INSERT_VERSION "coalesce($2::bigint, 1), coalesce(" SQL_FROM_US ("$3") ", now())"
#define SET_VERSION \
  "version = CASE WHEN $2::bigint IS NULL THEN t.version + 1 ELSE EXCLUDED.version END," \
  " updated_at = EXCLUDED.updated_at"
#define NEWER_ONLY " WHERE $2::bigint IS NULL OR t.version < EXCLUDED.version"

typedef struct
{
  const char *upsert;
  const char *current;    /* the stored row by id, after a stale upsert */
  const char *view;       /* GET by id */
  const char *load;
  const char *page;       /* $1 after, $2 limit, $3 company_id, $4 group_id */
} KindSql;

static const KindSql kind_sql[] = {
  [WB_FLEET_KIND_COMPANY] = {
    "INSERT INTO companies AS t (id, version, updated_at, name) VALUES ($1, " INSERT_VERSION ", $4)"
    " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, " SET_VERSION NEWER_ONLY
    " RETURNING " COMPANY_ROW ", " COMPANY_JSON ("t"),
    "SELECT " COMPANY_ROW ", " COMPANY_JSON ("t") " FROM companies t WHERE t.id = $1",
    "SELECT " COMPANY_JSON ("t") " FROM companies t WHERE t.id = $1",
    "SELECT " COMPANY_ROW " FROM companies t",
    "SELECT t.id, " COMPANY_JSON ("t") " FROM companies t"
    " WHERE ($1::text IS NULL OR t.id > $1) ORDER BY t.id LIMIT $2",
  },
  [WB_FLEET_KIND_DRIVER] = {
    "INSERT INTO drivers AS t (id, version, updated_at, name, phone, company_id)"
    " VALUES ($1, " INSERT_VERSION ", $4, $5, $6)"
    " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, phone = EXCLUDED.phone,"
    " company_id = EXCLUDED.company_id, " SET_VERSION NEWER_ONLY
    " RETURNING " DRIVER_ROW ", " DRIVER_JSON ("t"),
    "SELECT " DRIVER_ROW ", " DRIVER_JSON ("t") " FROM drivers t WHERE t.id = $1",
    "SELECT " DRIVER_JSON ("t") " FROM drivers t WHERE t.id = $1",
    "SELECT " DRIVER_ROW " FROM drivers t",
    "SELECT t.id, " DRIVER_JSON ("t") " FROM drivers t"
    " WHERE ($1::text IS NULL OR t.id > $1) AND ($3::text IS NULL OR t.company_id = $3)"
    " ORDER BY t.id LIMIT $2",
  },
  [WB_FLEET_KIND_VEHICLE] = {
    "INSERT INTO vehicles AS t (id, version, updated_at, plate, company_id, driver_id, group_id, tariff_id)"
    " VALUES ($1, " INSERT_VERSION ", $4, $5, $6, $7, $8)"
    " ON CONFLICT (id) DO UPDATE SET plate = EXCLUDED.plate, company_id = EXCLUDED.company_id,"
    " driver_id = EXCLUDED.driver_id, group_id = EXCLUDED.group_id, tariff_id = EXCLUDED.tariff_id, "
    SET_VERSION NEWER_ONLY
    " RETURNING " VEHICLE_ROW ", " VEHICLE_JSON ("t"),
    "SELECT " VEHICLE_ROW ", " VEHICLE_JSON ("t") " FROM vehicles t WHERE t.id = $1",
    /* The operating company follows the enrichment rule: the driver's,
     * else the vehicle's own. The active trip is the table's, read like
     * the state, so any daemon answers the same. */
    "SELECT json_build_object(" VEHICLE_MEMBERS ("t") ","
    " 'driver', CASE WHEN d.id IS NULL THEN NULL ELSE " DRIVER_JSON ("d") " END,"
    " 'company', CASE WHEN c.id IS NULL THEN NULL ELSE " COMPANY_JSON ("c") " END,"
    " 'currentState', " STATE_JSON ("s", "$2") ","
    " 'activeTripId', (SELECT x.id FROM trips x WHERE x.vehicle_id = t.id AND x.status = 'IN_TRANSIT' LIMIT 1))"
    " FROM vehicles t LEFT JOIN drivers d ON d.id = t.driver_id"
    " LEFT JOIN companies c ON c.id = coalesce(d.company_id, t.company_id)"
    " LEFT JOIN vehicle_states s ON s.vehicle_id = t.id"
    " WHERE t.id = $1",
    "SELECT " VEHICLE_ROW " FROM vehicles t",
    "SELECT t.id, " VEHICLE_JSON ("t") " FROM vehicles t"
    " WHERE ($1::text IS NULL OR t.id > $1) AND ($3::text IS NULL OR t.company_id = $3)"
    " AND ($4::text IS NULL OR t.group_id = $4) ORDER BY t.id LIMIT $2",
  },
  [WB_FLEET_KIND_DEVICE] = {
    /* A token_hash of NULL with has_token ($7) false keeps the stored one. */
    "INSERT INTO devices AS t (device_id, version, updated_at, vehicle_id, token_hash, quarantined)"
    " VALUES ($1, " INSERT_VERSION ", $4, $5, $6::boolean)"
    " ON CONFLICT (device_id) DO UPDATE SET vehicle_id = EXCLUDED.vehicle_id,"
    " token_hash = CASE WHEN $7::boolean THEN EXCLUDED.token_hash ELSE t.token_hash END,"
    " quarantined = EXCLUDED.quarantined, " SET_VERSION NEWER_ONLY
    " RETURNING " DEVICE_ROW ", " DEVICE_JSON ("t"),
    "SELECT " DEVICE_ROW ", " DEVICE_JSON ("t") " FROM devices t WHERE t.device_id = $1",
    "SELECT " DEVICE_JSON ("t") " FROM devices t WHERE t.device_id = $1",
    "SELECT " DEVICE_ROW " FROM devices t",
    NULL,
  },
};

/* Under the row's lock, so that exactly one caller sees it unseen. */
static const char lock_device_sql[] =
  "SELECT t.first_seen_at IS NULL FROM devices t WHERE t.device_id = $1 FOR UPDATE";
static const char mark_seen_sql[] =
  "UPDATE devices t SET first_seen_at = coalesce(t.first_seen_at, now()), last_seen_at = now()"
  " WHERE t.device_id = $1 RETURNING " DEVICE_ROW;
/* An accepted device nobody registered: version 0, so that the first
 * administrator's PUT (version 1) wins over it. */
static const char insert_unseen_sql[] =
  "INSERT INTO devices AS t (device_id, version, quarantined, first_seen_at, last_seen_at)"
  " VALUES ($1, 0, true, now(), now()) ON CONFLICT (device_id) DO NOTHING RETURNING " DEVICE_ROW;
/* The same for a batch ($1 a text[]), in one statement: rows are locked in
 * id order, so concurrent batches cannot deadlock. Each returned row is a
 * device row plus whether this statement recorded its first appearance. */
static const char devices_seen_sql[] =
  "WITH wanted AS (SELECT DISTINCT unnest($1::text[]) AS device_id),"
  " existing AS (SELECT t.device_id, t.first_seen_at IS NULL AS first FROM devices t"
  "  WHERE t.device_id IN (SELECT device_id FROM wanted) ORDER BY t.device_id FOR UPDATE),"
  " marked AS (UPDATE devices t SET first_seen_at = coalesce(t.first_seen_at, now()), last_seen_at = now()"
  "  FROM existing e WHERE t.device_id = e.device_id RETURNING " DEVICE_ROW ", e.first),"
  " added AS (INSERT INTO devices AS t (device_id, version, quarantined, first_seen_at, last_seen_at)"
  "  SELECT w.device_id, 0, true, now(), now() FROM wanted w"
  "  WHERE w.device_id NOT IN (SELECT device_id FROM existing) ORDER BY w.device_id"
  "  ON CONFLICT (device_id) DO NOTHING RETURNING " DEVICE_ROW ", true)"
  " SELECT * FROM marked UNION ALL SELECT * FROM added";

/* ---- the object ----------------------------------------------------------- */

struct _WbFleetStore
{
  GObject       parent_instance;

  WbDbPool     *pool;
  WbFleetIndex *index;
  gint64        offline_after;   /* µs */
};

G_DEFINE_FINAL_TYPE (WbFleetStore, wb_fleet_store, G_TYPE_OBJECT)

static void
wb_fleet_store_dispose (GObject *object)
{
  WbFleetStore *self = WB_FLEET_STORE (object);

  g_clear_object (&self->pool);
  g_clear_object (&self->index);

  G_OBJECT_CLASS (wb_fleet_store_parent_class)->dispose (object);
}

static void
wb_fleet_store_class_init (WbFleetStoreClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = wb_fleet_store_dispose;
}

static void
wb_fleet_store_init (WbFleetStore *self)
{
  self->offline_after = WB_FLEET_DEFAULT_OFFLINE_AFTER;
}

/**
 * wb_fleet_store_new:
 * @index: the index this store keeps in step with the tables
 *
 * Returns: (transfer full): the store
 */
WbFleetStore *
wb_fleet_store_new (WbDbPool     *pool,
                    WbFleetIndex *index)
{
  WbFleetStore *self;

  g_return_val_if_fail (WB_IS_DB_POOL (pool), NULL);
  g_return_val_if_fail (WB_IS_FLEET_INDEX (index), NULL);

  self = g_object_new (WB_TYPE_FLEET_STORE, NULL);
  self->pool = g_object_ref (pool);
  self->index = g_object_ref (index);
  return self;
}

/**
 * wb_fleet_store_get_index:
 *
 * Returns: (transfer none): the store's index
 */
WbFleetIndex *
wb_fleet_store_get_index (WbFleetStore *self)
{
  g_return_val_if_fail (WB_IS_FLEET_STORE (self), NULL);
  return self->index;
}

void
wb_fleet_apply_result_free (WbFleetApplyResult *result)
{
  if (result == NULL)
    return;
  g_free (result->json);
  g_free (result);
}

void
wb_fleet_query_free (WbFleetQuery *query)
{
  if (query == NULL)
    return;
  g_free (query->company_id);
  g_free (query->group_id);
  g_free (query->after);
  g_free (query);
}

/* ---- jobs ------------------------------------------------------------------ */

typedef struct _Job Job;

/* Runs inside the call's transaction. */
typedef gboolean (*JobFunc) (Job           *job,
                             PGconn        *conn,
                             GCancellable  *cancellable,
                             GError       **error);

/* Rows to put into the index once the transaction has committed. */
typedef struct
{
  WbFleetKind  kind;
  PGresult    *result;
} Pending;

struct _Job
{
  WbFleetIndex   *index;          /* owned */
  JobFunc         func;
  WbFleetKind     kind;
  char           *id;
  GPtrArray      *ids;            /* of a batch */
  WbFleetUpdate  *update;
  GPtrArray      *updates;        /* of an import; shared, read only */
  WbFleetQuery   *query;
  WbTrackQuery   *track;
  gint64          offline_after;
  GArray         *pending;        /* Pending */

  /* Written on the pool thread; read after the callback. */
  gpointer        result;
  GDestroyNotify  result_free;
  gboolean        first_seen;
};

static void
pending_clear (gpointer data)
{
  g_clear_pointer (&((Pending *) data)->result, PQclear);
}

static Job *
job_new (JobFunc         func,
         GDestroyNotify  result_free)
{
  Job *job = g_new0 (Job, 1);

  job->func = func;
  job->result_free = result_free;
  job->pending = g_array_new (FALSE, TRUE, sizeof (Pending));
  g_array_set_clear_func (job->pending, pending_clear);
  return job;
}

static void
job_clear_result (Job *job)
{
  if (job->result != NULL && job->result_free != NULL)
    job->result_free (job->result);
  job->result = NULL;
}

static void
job_free (gpointer data)
{
  Job *job = data;

  job_clear_result (job);
  g_clear_object (&job->index);
  g_free (job->id);
  g_clear_pointer (&job->ids, g_ptr_array_unref);
  g_clear_pointer (&job->update, wb_fleet_update_free);
  g_clear_pointer (&job->updates, g_ptr_array_unref);
  g_clear_pointer (&job->query, wb_fleet_query_free);
  g_clear_pointer (&job->track, wb_track_query_free);
  g_array_unref (job->pending);
  g_free (job);
}

static void
keep_for_index (Job         *job,
                WbFleetKind  kind,
                PGresult    *result)
{
  Pending pending = { kind, result };

  g_array_append_val (job->pending, pending);
}

static const char *
value_or_null (const PGresult *result,
               int             row,
               int             column)
{
  return PQgetisnull (result, row, column) ? NULL : PQgetvalue (result, row, column);
}

static gint64
int_value (const PGresult *result,
           int             row,
           int             column)
{
  return g_ascii_strtoll (PQgetvalue (result, row, column), NULL, 10);
}

static void
read_row (const PGresult *result,
          int             row,
          WbFleetKind     kind,
          WbFleetRow     *out)
{
  out->kind = kind;
  out->id = PQgetvalue (result, row, COL_ID);
  out->version = int_value (result, row, COL_VERSION);
  out->name = value_or_null (result, row, COL_NAME);
  out->phone = value_or_null (result, row, COL_PHONE);
  out->company_id = value_or_null (result, row, COL_COMPANY);
  out->plate = value_or_null (result, row, COL_PLATE);
  out->driver_id = value_or_null (result, row, COL_DRIVER);
  out->group_id = value_or_null (result, row, COL_GROUP);
  out->tariff_id = value_or_null (result, row, COL_TARIFF);
  out->vehicle_id = value_or_null (result, row, COL_VEHICLE);
  out->token_hash = value_or_null (result, row, COL_TOKEN_HASH);
  out->quarantined = g_str_equal (PQgetvalue (result, row, COL_QUARANTINED), "t");
}

/* After COMMIT: what the transaction stored goes into the index. */
static void
put_pending (Job *job)
{
  for (guint i = 0; i < job->pending->len; i++)
    {
      Pending *pending = &g_array_index (job->pending, Pending, i);
      int n_rows = PQntuples (pending->result);
      g_autofree WbFleetRow *rows = g_new0 (WbFleetRow, MAX (n_rows, 1));

      for (int row = 0; row < n_rows; row++)
        read_row (pending->result, row, pending->kind, &rows[row]);
      _wb_fleet_index_put (job->index, rows, n_rows);
    }
  g_array_set_size (job->pending, 0);
}

/* What a rolled-back attempt left behind is dropped first. */
static gboolean
run_attempt (PGconn        *conn,
             gpointer       user_data,
             GCancellable  *cancellable,
             GError       **error)
{
  Job *job = user_data;

  job_clear_result (job);
  g_array_set_size (job->pending, 0);
  return job->func (job, conn, cancellable, error);
}

static gpointer
run_job (PGconn        *conn,
         gpointer       user_data,
         GCancellable  *cancellable,
         GError       **error)
{
  Job *job = user_data;

  if (wb_db_transaction_run (conn, run_attempt, job, cancellable, error))
    {
      put_pending (job);
      return job;
    }
  job_clear_result (job);
  g_array_set_size (job->pending, 0);
  return NULL;
}

static void
on_job_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  /* The pool hands back the job itself, which the task owns. */
  wb_db_pool_run_finish (WB_DB_POOL (source), result, &error);
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
submit (WbFleetStore        *self,
        Job                 *job,
        gpointer             source_tag,
        GCancellable        *cancellable,
        GAsyncReadyCallback  callback,
        gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  job->index = g_object_ref (self->index);
  g_task_set_task_data (task, job, job_free);
  wb_db_pool_run_async (self->pool, run_job, job, NULL, NULL, cancellable, on_job_done, task);
}

/* Returns: (transfer none): the finished job, or NULL with @error set. */
static Job *
finish (WbFleetStore  *self,
        GAsyncResult  *result,
        gpointer       source_tag,
        GError       **error)
{
  g_return_val_if_fail (WB_IS_FLEET_STORE (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_async_result_is_tagged (result, source_tag), NULL);

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return NULL;
  return g_task_get_task_data (G_TASK (result));
}

static gpointer
steal_result (Job *job)
{
  return job != NULL ? g_steal_pointer (&job->result) : NULL;
}

/* ---- load ------------------------------------------------------------------ */

static gboolean
load_in_transaction (Job           *job,
                     PGconn        *conn,
                     GCancellable  *cancellable,
                     GError       **error)
{
  for (guint kind = 0; kind < G_N_ELEMENTS (kind_sql); kind++)
    {
      PGresult *result = wb_db_exec (conn, kind_sql[kind].load, NULL, 0, cancellable, error);

      if (result == NULL)
        return FALSE;
      keep_for_index (job, kind, result);
    }
  return TRUE;
}

void
wb_fleet_store_load_async (WbFleetStore        *self,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_return_if_fail (WB_IS_FLEET_STORE (self));

  submit (self, job_new (load_in_transaction, NULL), wb_fleet_store_load_async,
          cancellable, callback, user_data);
}

gboolean
wb_fleet_store_load_finish (WbFleetStore  *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  return finish (self, result, wb_fleet_store_load_async, error) != NULL;
}

/* ---- apply ----------------------------------------------------------------- */

#define MAX_UPSERT_PARAMS 8

static char *
format_int (gint64 value)
{
  return g_strdup_printf ("%" G_GINT64_FORMAT, value);
}

/* $1 id, $2 version, $3 updated_at µs, then the kind's members in the
 * order of its upsert. Returns how many are set. */
static int
upsert_params (const WbFleetUpdate *update,
               char                *params[MAX_UPSERT_PARAMS])
{
  const char *kind_params[5] = { NULL, };
  int n = 0;

  switch (update->kind)
    {
    case WB_FLEET_KIND_COMPANY:
      kind_params[n++] = update->name;
      break;
    case WB_FLEET_KIND_DRIVER:
      kind_params[n++] = update->name;
      kind_params[n++] = update->phone;
      kind_params[n++] = update->company_id;
      break;
    case WB_FLEET_KIND_VEHICLE:
      kind_params[n++] = update->plate;
      kind_params[n++] = update->company_id;
      kind_params[n++] = update->driver_id;
      kind_params[n++] = update->group_id;
      kind_params[n++] = update->tariff_id;
      break;
    case WB_FLEET_KIND_DEVICE:
    default:
      kind_params[n++] = update->vehicle_id;
      break;
    }

  params[0] = g_strdup (update->id);
  params[1] = update->version > 0 ? format_int (update->version) : NULL;
  params[2] = update->updated_at != 0 ? format_int (update->updated_at) : NULL;
  for (int i = 0; i < n; i++)
    params[3 + i] = g_strdup (kind_params[i]);
  n += 3;
  if (update->kind == WB_FLEET_KIND_DEVICE)
    {
      params[n++] = update->has_token && update->token ? _wb_fleet_token_hash (update->token) : NULL;
      params[n++] = g_strdup (update->quarantined ? "true" : "false");
      params[n++] = g_strdup (update->has_token ? "true" : "false");
    }
  return n;
}

static WbFleetApplyResult *
apply_result_new (const PGresult *result,
                  gboolean        applied)
{
  WbFleetApplyResult *out = g_new0 (WbFleetApplyResult, 1);

  out->applied = applied;
  out->version = int_value (result, 0, COL_VERSION);
  out->json = wb_json_compact (PQgetvalue (result, 0, COL_JSON));
  return out;
}

static gboolean
apply_in_transaction (Job           *job,
                      PGconn        *conn,
                      GCancellable  *cancellable,
                      GError       **error)
{
  const KindSql *sql = &kind_sql[job->update->kind];
  char *params[MAX_UPSERT_PARAMS] = { NULL, };
  int n_params = upsert_params (job->update, params);
  PGresult *result = wb_db_exec (conn, sql->upsert, (const char * const *) params, n_params, cancellable, error);
  g_autoptr(PGresult) current = NULL;

  for (int i = 0; i < n_params; i++)
    g_free (params[i]);
  if (result == NULL)
    return FALSE;
  if (PQntuples (result) == 1)
    {
      job->result = apply_result_new (result, TRUE);
      keep_for_index (job, job->update->kind, result);
      return TRUE;
    }

  /* Stale. The upsert locked the row, and this new statement sees the
   * latest committed version of it: the one that won. */
  PQclear (result);
  current = wb_db_exec (conn, sql->current, (const char * const *) &job->update->id, 1, cancellable, error);
  if (current == NULL)
    return FALSE;
  if (PQntuples (current) == 0)
    {
      g_set_error (error, WB_FLEET_ERROR, WB_FLEET_ERROR_NOT_FOUND, "%s %s was deleted while being written",
                   wb_fleet_kind_to_string (job->update->kind), job->update->id);
      return FALSE;
    }
  job->result = apply_result_new (current, FALSE);
  return TRUE;
}

void
wb_fleet_store_apply_async (WbFleetStore        *self,
                            const WbFleetUpdate *update,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autoptr(GError) error = NULL;
  Job *job;

  g_return_if_fail (WB_IS_FLEET_STORE (self));
  g_return_if_fail (update != NULL);

  if (!wb_fleet_update_validate (update, &error))
    {
      g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

      g_task_set_source_tag (task, wb_fleet_store_apply_async);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  job = job_new (apply_in_transaction, (GDestroyNotify) wb_fleet_apply_result_free);
  job->update = wb_fleet_update_copy (update);
  submit (self, job, wb_fleet_store_apply_async, cancellable, callback, user_data);
}

/**
 * wb_fleet_store_apply_finish:
 *
 * Returns: (transfer full): the outcome, or %NULL with @error set
 */
WbFleetApplyResult *
wb_fleet_store_apply_finish (WbFleetStore  *self,
                             GAsyncResult  *result,
                             GError       **error)
{
  return steal_result (finish (self, result, wb_fleet_store_apply_async, error));
}

/* ---- imports --------------------------------------------------------------- *
 * An import's rows go by binary COPY into a staging table (it lives as long
 * as the session, its rows as long as the transaction), then one upsert per
 * group of rows that share how they win: with or without a version (and,
 * for devices, with or without a token), since ON CONFLICT's WHERE sees
 * only the stored row and the proposed one. A row without a version that
 * is the same as the stored one is left alone, so importing a file twice
 * changes nothing. Each upsert returns the rows it wrote (ROW_* layout,
 * then whether the row is new); the rows it did not write are then read
 * back in one statement, to tell a repeat from a stale version. Neither
 * joins the staged rows with anything but an index (the staging table has
 * no statistics, and a join the planner took for a handful of rows would
 * be quadratic). */

enum { IMPORT_COL_CREATED = COL_QUARANTINED + 1 };
enum { UNWRITTEN_COL_ORD, UNWRITTEN_COL_VERSION, UNWRITTEN_COL_SAME };

static const char import_quiet_sql[] = "SET LOCAL client_min_messages = warning";
static const char import_staging_sql[] =
  "CREATE TEMP TABLE IF NOT EXISTS fleet_import_staging (ord integer, grp integer, id text, version bigint,"
  " name text, phone text, company_id text, plate text, driver_id text, group_id text, tariff_id text,"
  " vehicle_id text, token_hash text, quarantined boolean) ON COMMIT DELETE ROWS";
static const char import_copy_sql[] = "COPY fleet_import_staging FROM STDIN (FORMAT binary)";
#define IMPORT_N_COLUMNS 14

/* $1 the group, $2 whether its rows carry a version, $3 (devices) whether
 * they carry a token. xmax is 0 on a row version that an INSERT made and
 * set on one that ON CONFLICT DO UPDATE made: PostgreSQL's own way to tell
 * them apart in RETURNING. */
#define IMPORT_SET_VERSION \
  "version = CASE WHEN $2::boolean THEN EXCLUDED.version ELSE t.version + 1 END, updated_at = EXCLUDED.updated_at"
#define IMPORT_WINS(stored, given) \
  " WHERE CASE WHEN $2::boolean THEN t.version < EXCLUDED.version ELSE " stored " IS DISTINCT FROM " given " END"
/* Rows are locked in id order, byte by byte: any fixed order keeps two
 * imports from deadlocking, and this one sorts without the locale. */
#define IMPORT_FROM " FROM fleet_import_staging s WHERE s.grp = $1::integer ORDER BY s.id COLLATE \"C\""
#define IMPORT_RETURNING(row) " RETURNING " row ", t.xmax = 0"
/* The unwritten rows ($1, an integer[] of ords) beside what is stored. */
#define IMPORT_UNWRITTEN(table, key, same) \
  "SELECT s.ord, t.version, " same " FROM fleet_import_staging s JOIN " table " t ON t." key " = s.id" \
  " WHERE s.ord = ANY($1::integer[])"

#define COMPANY_VALUES(r) "ROW(" r ".name)"
#define DRIVER_VALUES(r) "ROW(" r ".name, " r ".phone, " r ".company_id)"
#define VEHICLE_VALUES(r) "ROW(" r ".plate, " r ".company_id, " r ".driver_id, " r ".group_id, " r ".tariff_id)"
#define DEVICE_VALUES(r, with_token) \
  "ROW(" r ".vehicle_id, " r ".quarantined, CASE WHEN " with_token " THEN " r ".token_hash END)"

typedef struct
{
  const char *upsert;
  const char *unwritten;
} ImportSql;

static const ImportSql import_sql[] = {
  [WB_FLEET_KIND_COMPANY] = {
    "INSERT INTO companies AS t (id, version, updated_at, name)"
    " SELECT s.id, coalesce(s.version, 1), now(), s.name" IMPORT_FROM
    " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, " IMPORT_SET_VERSION
    IMPORT_WINS (COMPANY_VALUES ("t"), COMPANY_VALUES ("EXCLUDED"))
    IMPORT_RETURNING (COMPANY_ROW),
    IMPORT_UNWRITTEN ("companies", "id", COMPANY_VALUES ("t") " IS NOT DISTINCT FROM " COMPANY_VALUES ("s")),
  },
  [WB_FLEET_KIND_DRIVER] = {
    "INSERT INTO drivers AS t (id, version, updated_at, name, phone, company_id)"
    " SELECT s.id, coalesce(s.version, 1), now(), s.name, s.phone, s.company_id" IMPORT_FROM
    " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, phone = EXCLUDED.phone,"
    " company_id = EXCLUDED.company_id, " IMPORT_SET_VERSION
    IMPORT_WINS (DRIVER_VALUES ("t"), DRIVER_VALUES ("EXCLUDED"))
    IMPORT_RETURNING (DRIVER_ROW),
    IMPORT_UNWRITTEN ("drivers", "id", DRIVER_VALUES ("t") " IS NOT DISTINCT FROM " DRIVER_VALUES ("s")),
  },
  [WB_FLEET_KIND_VEHICLE] = {
    "INSERT INTO vehicles AS t (id, version, updated_at, plate, company_id, driver_id, group_id, tariff_id)"
    " SELECT s.id, coalesce(s.version, 1), now(), s.plate, s.company_id, s.driver_id, s.group_id, s.tariff_id"
    IMPORT_FROM
    " ON CONFLICT (id) DO UPDATE SET plate = EXCLUDED.plate, company_id = EXCLUDED.company_id,"
    " driver_id = EXCLUDED.driver_id, group_id = EXCLUDED.group_id, tariff_id = EXCLUDED.tariff_id, "
    IMPORT_SET_VERSION
    IMPORT_WINS (VEHICLE_VALUES ("t"), VEHICLE_VALUES ("EXCLUDED"))
    IMPORT_RETURNING (VEHICLE_ROW),
    IMPORT_UNWRITTEN ("vehicles", "id", VEHICLE_VALUES ("t") " IS NOT DISTINCT FROM " VEHICLE_VALUES ("s")),
  },
  [WB_FLEET_KIND_DEVICE] = {
    "INSERT INTO devices AS t (device_id, version, updated_at, vehicle_id, token_hash, quarantined)"
    " SELECT s.id, coalesce(s.version, 1), now(), s.vehicle_id, s.token_hash, s.quarantined" IMPORT_FROM
    " ON CONFLICT (device_id) DO UPDATE SET vehicle_id = EXCLUDED.vehicle_id,"
    " token_hash = CASE WHEN $3::boolean THEN EXCLUDED.token_hash ELSE t.token_hash END,"
    " quarantined = EXCLUDED.quarantined, " IMPORT_SET_VERSION
    IMPORT_WINS (DEVICE_VALUES ("t", "$3::boolean"), DEVICE_VALUES ("EXCLUDED", "$3::boolean"))
    IMPORT_RETURNING (DEVICE_ROW),
    /* A row's group says whether it carries a token (import_group()). */
    IMPORT_UNWRITTEN ("devices", "device_id", DEVICE_VALUES ("t", "s.grp >= 2") " IS NOT DISTINCT FROM "
                      DEVICE_VALUES ("s", "s.grp >= 2")),
  },
};

/* Rows that win the same way share a group. */
static guint
import_group (const WbFleetUpdate *update)
{
  return (update->version > 0 ? 1 : 0) | (update->kind == WB_FLEET_KIND_DEVICE && update->has_token ? 2 : 0);
}

static void
import_copy_row (GString             *out,
                 guint                ord,
                 const WbFleetUpdate *u)
{
  g_autofree char *token_hash = u->has_token && u->token ? _wb_fleet_token_hash (u->token) : NULL;

  wb_db_copy_tuple (out, IMPORT_N_COLUMNS);
  wb_db_copy_int4 (out, (gint32) ord);
  wb_db_copy_int4 (out, (gint32) import_group (u));
  wb_db_copy_text (out, u->id);
  if (u->version > 0)
    wb_db_copy_int8 (out, u->version);
  else
    wb_db_copy_null (out);
  wb_db_copy_text (out, u->name);
  wb_db_copy_text (out, u->phone);
  wb_db_copy_text (out, u->company_id);
  wb_db_copy_text (out, u->plate);
  wb_db_copy_text (out, u->driver_id);
  wb_db_copy_text (out, u->group_id);
  wb_db_copy_text (out, u->tariff_id);
  wb_db_copy_text (out, u->vehicle_id);
  wb_db_copy_text (out, token_hash);
  wb_db_copy_bool (out, u->quarantined);
}

/* Returns the groups present, as bits. */
static guint
import_stage (Job           *job,
              PGconn        *conn,
              GError       **error)
{
  g_autoptr(GString) data = g_string_sized_new (64 + job->updates->len * 160);
  guint groups = 0;

  wb_db_copy_begin (data);
  for (guint i = 0; i < job->updates->len; i++)
    {
      const WbFleetUpdate *update = g_ptr_array_index (job->updates, i);

      import_copy_row (data, i, update);
      groups |= 1u << import_group (update);
    }
  wb_db_copy_end (data);
  if (!wb_db_exec_command (conn, import_quiet_sql, NULL, 0, NULL, error)
      || !wb_db_exec_command (conn, import_staging_sql, NULL, 0, NULL, error)
      || !wb_db_copy_in (conn, import_copy_sql, data, NULL, error))
    return 0;
  return groups;
}

/* The rows an upsert wrote, found by id. */
static void
import_read_written (Job            *job,
                     GHashTable     *ords,
                     const PGresult *result,
                     gboolean       *written)
{
  WbFleetImportOutcome *outcomes = (WbFleetImportOutcome *) (gpointer) ((GArray *) job->result)->data;

  for (int row = 0; row < PQntuples (result); row++)
    {
      guint ord = GPOINTER_TO_UINT (g_hash_table_lookup (ords, PQgetvalue (result, row, COL_ID))) - 1;

      g_assert (ord < job->updates->len);
      written[ord] = TRUE;
      outcomes[ord].outcome = g_str_equal (PQgetvalue (result, row, IMPORT_COL_CREATED), "t")
                              ? WB_FLEET_IMPORTED_CREATED : WB_FLEET_IMPORTED_UPDATED;
      outcomes[ord].version = int_value (result, row, COL_VERSION);
    }
}

/* Without a version only an equal row is left alone; with one, an equal
 * row at the same version is a repeat, anything else lost. */
static gboolean
import_read_unwritten (Job             *job,
                       PGconn          *conn,
                       const gboolean  *written,
                       GCancellable    *cancellable,
                       GError         **error)
{
  WbFleetImportOutcome *outcomes = (WbFleetImportOutcome *) (gpointer) ((GArray *) job->result)->data;
  g_autoptr(GString) ords = g_string_new ("{");
  g_autoptr(PGresult) result = NULL;
  const char *params[1];

  for (guint i = 0; i < job->updates->len; i++)
    if (!written[i])
      g_string_append_printf (ords, "%s%u", ords->len > 1 ? "," : "", i);
  if (ords->len == 1)
    return TRUE;
  g_string_append_c (ords, '}');
  params[0] = ords->str;
  result = wb_db_exec (conn, import_sql[job->kind].unwritten, params, 1, cancellable, error);
  if (result == NULL)
    return FALSE;
  for (int row = 0; row < PQntuples (result); row++)
    {
      guint ord = (guint) int_value (result, row, UNWRITTEN_COL_ORD);
      const WbFleetUpdate *update = g_ptr_array_index (job->updates, ord);
      gboolean same = g_str_equal (PQgetvalue (result, row, UNWRITTEN_COL_SAME), "t");

      outcomes[ord].version = int_value (result, row, UNWRITTEN_COL_VERSION);
      outcomes[ord].outcome = update->version == 0 || (same && outcomes[ord].version == update->version)
                              ? WB_FLEET_IMPORTED_UNCHANGED : WB_FLEET_IMPORTED_STALE;
    }
  return TRUE;
}

static gboolean
import_in_transaction (Job           *job,
                       PGconn        *conn,
                       GCancellable  *cancellable,
                       GError       **error)
{
  guint groups = import_stage (job, conn, error);
  GArray *outcomes = g_array_new (FALSE, TRUE, sizeof (WbFleetImportOutcome));
  g_autofree gboolean *written = g_new0 (gboolean, job->updates->len);
  g_autoptr(GHashTable) ords = g_hash_table_new (g_str_hash, g_str_equal);

  g_array_set_size (outcomes, job->updates->len);
  job->result = outcomes;
  if (groups == 0)
    return FALSE;
  for (guint i = 0; i < job->updates->len; i++)
    g_hash_table_insert (ords, ((WbFleetUpdate *) g_ptr_array_index (job->updates, i))->id, GUINT_TO_POINTER (i + 1));
  for (guint group = 0; group < 4; group++)
    {
      g_autofree char *group_text = g_strdup_printf ("%u", group);
      const char *params[] = { group_text, group & 1 ? "true" : "false", group & 2 ? "true" : "false" };
      PGresult *result;

      if (!(groups & (1u << group)))
        continue;
      result = wb_db_exec (conn, import_sql[job->kind].upsert, params, job->kind == WB_FLEET_KIND_DEVICE ? 3 : 2,
                           cancellable, error);
      if (result == NULL)
        return FALSE;
      import_read_written (job, ords, result, written);
      keep_for_index (job, job->kind, result);
    }
  return import_read_unwritten (job, conn, written, cancellable, error);
}

/**
 * wb_fleet_store_import_async:
 * @updates: (element-type WbFleetUpdate): valid updates of @kind, each id
 *   once; referenced, and must not change until the callback
 *
 * Writes many updates in one transaction, by the rules of
 * wb_fleet_store_apply_async() (the last writer wins by version; no
 * version: over what is stored), except that a row without a version that
 * equals the stored one is left as it is. What was written goes into the
 * index after the commit.
 */
void
wb_fleet_store_import_async (WbFleetStore        *self,
                             WbFleetKind          kind,
                             GPtrArray           *updates,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  Job *job;

  g_return_if_fail (WB_IS_FLEET_STORE (self));
  g_return_if_fail (kind <= WB_FLEET_KIND_DEVICE);
  g_return_if_fail (updates != NULL && updates->len > 0);

  /* The callers read REST rows, which are checked already; the store
   * still refuses what it must never write. */
  for (guint i = 0; i < updates->len; i++)
    {
      g_autoptr(GError) error = NULL;
      const WbFleetUpdate *update = g_ptr_array_index (updates, i);

      if (update->kind != kind || !wb_fleet_update_validate (update, &error))
        {
          g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

          g_task_set_source_tag (task, wb_fleet_store_import_async);
          g_task_return_new_error (task, WB_FLEET_ERROR, WB_FLEET_ERROR_INVALID, "row %u: %s", i,
                                   error ? error->message : "of another kind");
          return;
        }
    }
  job = job_new (import_in_transaction, (GDestroyNotify) g_array_unref);
  job->kind = kind;
  job->updates = g_ptr_array_ref (updates);
  submit (self, job, wb_fleet_store_import_async, cancellable, callback, user_data);
}

/**
 * wb_fleet_store_import_finish:
 *
 * Returns: (transfer full) (element-type WbFleetImportOutcome): what
 *   became of each update, in their order; %NULL with @error set (nothing
 *   was written)
 */
GArray *
wb_fleet_store_import_finish (WbFleetStore  *self,
                              GAsyncResult  *result,
                              GError       **error)
{
  return steal_result (finish (self, result, wb_fleet_store_import_async, error));
}

/* ---- device seen ----------------------------------------------------------- */

static gboolean
device_seen_in_transaction (Job           *job,
                            PGconn        *conn,
                            GCancellable  *cancellable,
                            GError       **error)
{
  const char *params[] = { job->id };

  /* Twice at most: an insert that lost a race finds the winner's row. */
  for (guint attempt = 0; attempt < 2; attempt++)
    {
      g_autoptr(PGresult) locked = wb_db_exec (conn, lock_device_sql, params, 1, cancellable, error);
      PGresult *stored;

      if (locked == NULL)
        return FALSE;
      if (PQntuples (locked) == 1)
        {
          job->first_seen = g_str_equal (PQgetvalue (locked, 0, 0), "t");
          stored = wb_db_exec (conn, mark_seen_sql, params, 1, cancellable, error);
        }
      else
        {
          stored = wb_db_exec (conn, insert_unseen_sql, params, 1, cancellable, error);
          job->first_seen = stored != NULL && PQntuples (stored) == 1;
        }
      if (stored == NULL)
        return FALSE;
      if (PQntuples (stored) == 1)
        {
          keep_for_index (job, WB_FLEET_KIND_DEVICE, stored);
          return TRUE;
        }
      PQclear (stored);
    }
  g_set_error (error, WB_FLEET_ERROR, WB_FLEET_ERROR_NOT_FOUND, "device %s vanished while being recorded", job->id);
  return FALSE;
}

void
wb_fleet_store_device_seen_async (WbFleetStore        *self,
                                  const char          *device_id,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  Job *job;

  g_return_if_fail (WB_IS_FLEET_STORE (self));
  g_return_if_fail (device_id != NULL);

  job = job_new (device_seen_in_transaction, NULL);
  job->id = g_strdup (device_id);
  submit (self, job, wb_fleet_store_device_seen_async, cancellable, callback, user_data);
}

/**
 * wb_fleet_store_device_seen_finish:
 * @out_first_seen: (out) (optional): whether this call recorded the
 *   device's first appearance
 */
gboolean
wb_fleet_store_device_seen_finish (WbFleetStore  *self,
                                   GAsyncResult  *result,
                                   gboolean      *out_first_seen,
                                   GError       **error)
{
  Job *job = finish (self, result, wb_fleet_store_device_seen_async, error);

  if (out_first_seen != NULL)
    *out_first_seen = job != NULL && job->first_seen;
  return job != NULL;
}

/* A PostgreSQL array literal of @ids, each quoted. */
static char *
text_array_literal (GPtrArray *ids)
{
  GString *literal = g_string_new ("{");

  for (guint i = 0; i < ids->len; i++)
    {
      g_string_append (literal, i ? ",\"" : "\"");
      for (const char *p = g_ptr_array_index (ids, i); *p; p++)
        {
          if (*p == '"' || *p == '\\')
            g_string_append_c (literal, '\\');
          g_string_append_c (literal, *p);
        }
      g_string_append_c (literal, '"');
    }
  g_string_append_c (literal, '}');
  return g_string_free (literal, FALSE);
}

static gboolean
devices_seen_in_transaction (Job           *job,
                             PGconn        *conn,
                             GCancellable  *cancellable,
                             GError       **error)
{
  g_autoptr(GPtrArray) wanted = g_ptr_array_ref (job->ids);
  GPtrArray *first_seen = g_ptr_array_new_with_free_func (g_free);

  job_clear_result (job);
  job->result = first_seen;
  /* Twice at most: an insert that lost a race finds the winner's row. */
  for (guint attempt = 0; attempt < 2 && wanted->len > 0; attempt++)
    {
      g_autofree char *literal = text_array_literal (wanted);
      const char *params[] = { literal };
      PGresult *stored = wb_db_exec (conn, devices_seen_sql, params, 1, cancellable, error);
      g_autoptr(GHashTable) recorded = g_hash_table_new (g_str_hash, g_str_equal);
      GPtrArray *missing = g_ptr_array_new_with_free_func (g_free);
      int first_column;

      if (stored == NULL)
        {
          g_ptr_array_unref (missing);
          return FALSE;
        }
      first_column = PQnfields (stored) - 1;
      for (int row = 0; row < PQntuples (stored); row++)
        {
          g_hash_table_add (recorded, PQgetvalue (stored, row, 0));
          if (g_str_equal (PQgetvalue (stored, row, first_column), "t"))
            g_ptr_array_add (first_seen, g_strdup (PQgetvalue (stored, row, 0)));
        }
      for (guint i = 0; i < wanted->len; i++)
        if (!g_hash_table_contains (recorded, g_ptr_array_index (wanted, i)))
          g_ptr_array_add (missing, g_strdup (g_ptr_array_index (wanted, i)));
      keep_for_index (job, WB_FLEET_KIND_DEVICE, stored);
      g_ptr_array_unref (wanted);
      wanted = missing;
    }
  return TRUE;
}

/**
 * wb_fleet_store_devices_seen_async:
 * @device_ids: (element-type utf8): devices ingestion accepted
 *
 * wb_fleet_store_device_seen_async() for many devices in one statement, so
 * a fleet coming online costs one pool round trip per batch rather than
 * one per device.
 */
void
wb_fleet_store_devices_seen_async (WbFleetStore        *self,
                                   GPtrArray           *device_ids,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  Job *job;

  g_return_if_fail (WB_IS_FLEET_STORE (self));
  g_return_if_fail (device_ids != NULL);

  job = job_new (devices_seen_in_transaction, (GDestroyNotify) g_ptr_array_unref);
  job->ids = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < device_ids->len; i++)
    g_ptr_array_add (job->ids, g_strdup (g_ptr_array_index (device_ids, i)));
  submit (self, job, wb_fleet_store_devices_seen_async, cancellable, callback, user_data);
}

/**
 * wb_fleet_store_devices_seen_finish:
 *
 * Returns: (transfer full) (element-type utf8): the devices whose first
 *   appearance this call recorded, or %NULL with @error set
 */
GPtrArray *
wb_fleet_store_devices_seen_finish (WbFleetStore  *self,
                                    GAsyncResult  *result,
                                    GError       **error)
{
  Job *job = finish (self, result, wb_fleet_store_devices_seen_async, error);

  return job != NULL ? g_ptr_array_ref (job->result) : NULL;
}

/* ---- reads ----------------------------------------------------------------- */

static gboolean
get_in_transaction (Job           *job,
                    PGconn        *conn,
                    GCancellable  *cancellable,
                    GError       **error)
{
  g_autofree char *offline_s = g_strdup_printf ("%" G_GINT64_FORMAT, job->offline_after / G_USEC_PER_SEC);
  const char *params[] = { job->id, offline_s };
  guint n_params = job->kind == WB_FLEET_KIND_VEHICLE ? 2 : 1;
  g_autoptr(PGresult) result = wb_db_exec (conn, kind_sql[job->kind].view, params, n_params, cancellable, error);

  if (result == NULL)
    return FALSE;
  if (PQntuples (result) == 0)
    {
      g_set_error (error, WB_FLEET_ERROR, WB_FLEET_ERROR_NOT_FOUND, "No %s %s",
                   wb_fleet_kind_to_string (job->kind), job->id);
      return FALSE;
    }
  job->result = wb_json_compact (PQgetvalue (result, 0, 0));
  return TRUE;
}

void
wb_fleet_store_get_async (WbFleetStore        *self,
                          WbFleetKind          kind,
                          const char          *id,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  Job *job;

  g_return_if_fail (WB_IS_FLEET_STORE (self));
  g_return_if_fail (kind <= WB_FLEET_KIND_DEVICE);
  g_return_if_fail (id != NULL);

  job = job_new (get_in_transaction, g_free);
  job->kind = kind;
  job->id = g_strdup (id);
  job->offline_after = self->offline_after;
  submit (self, job, wb_fleet_store_get_async, cancellable, callback, user_data);
}

/**
 * wb_fleet_store_get_finish:
 *
 * Returns: (transfer full): the JSON text, or %NULL with @error set
 */
char *
wb_fleet_store_get_finish (WbFleetStore  *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  return steal_result (finish (self, result, wb_fleet_store_get_async, error));
}

/* Fetches limit + 1 rows of (id, json): the extra one says whether there is
 * a next page. */
static gboolean
list_in_transaction (Job           *job,
                     PGconn        *conn,
                     GCancellable  *cancellable,
                     GError       **error)
{
  const WbFleetQuery *query = job->query;
  g_autofree char *fetch = g_strdup_printf ("%u", query->limit + 1);
  const char *params[] = { query->after, fetch, query->company_id, query->group_id };
  int n_params = query->kind == WB_FLEET_KIND_COMPANY ? 2 : query->kind == WB_FLEET_KIND_DRIVER ? 3 : 4;
  g_autoptr(PGresult) result = wb_db_exec (conn, kind_sql[query->kind].page, params, n_params, cancellable, error);
  GString *page;
  int n_items;

  if (result == NULL)
    return FALSE;
  n_items = MIN (PQntuples (result), (int) query->limit);
  page = g_string_new ("{\"items\":[");
  for (int row = 0; row < n_items; row++)
    {
      if (row > 0)
        g_string_append_c (page, ',');
      wb_json_append_compact (page, PQgetvalue (result, row, 1));
    }
  g_string_append (page, "],\"nextCursor\":");
  if (PQntuples (result) > n_items)
    wb_json_write_string (page, PQgetvalue (result, n_items - 1, 0));
  else
    g_string_append (page, "null");
  g_string_append_c (page, '}');
  job->result = g_string_free (page, FALSE);
  return TRUE;
}

void
wb_fleet_store_list_async (WbFleetStore        *self,
                           const WbFleetQuery  *query,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  Job *job;

  g_return_if_fail (WB_IS_FLEET_STORE (self));
  g_return_if_fail (query != NULL);
  g_return_if_fail (query->kind < WB_FLEET_KIND_DEVICE);

  job = job_new (list_in_transaction, g_free);
  job->query = g_new0 (WbFleetQuery, 1);
  job->query->kind = query->kind;
  job->query->company_id = g_strdup (query->company_id);
  job->query->group_id = g_strdup (query->group_id);
  job->query->after = g_strdup (query->after);
  job->query->limit = query->limit == 0 ? DEFAULT_PAGE_SIZE : MIN (query->limit, WB_FLEET_MAX_PAGE_SIZE);
  submit (self, job, wb_fleet_store_list_async, cancellable, callback, user_data);
}

/**
 * wb_fleet_store_list_finish:
 *
 * Returns: (transfer full): the page as JSON text, or %NULL with @error set
 */
char *
wb_fleet_store_list_finish (WbFleetStore  *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  return steal_result (finish (self, result, wb_fleet_store_list_async, error));
}

/* ---- tracks ------------------------------------------------------------------ */

void
wb_track_query_free (WbTrackQuery *query)
{
  if (query == NULL)
    return;
  g_free (query->vehicle_id);
  g_free (query);
}

void
wb_fleet_store_set_offline_after (WbFleetStore *self,
                                  gint64        offline_after)
{
  g_return_if_fail (WB_IS_FLEET_STORE (self));
  g_return_if_fail (offline_after > 0);

  self->offline_after = offline_after;
}

static gboolean
track_in_transaction (Job           *job,
                      PGconn        *conn,
                      GCancellable  *cancellable,
                      GError       **error)
{
  const WbTrackQuery *query = job->track;
  const char *params[] = { query->vehicle_id };
  g_autoptr(PGresult) vehicle = wb_db_exec (conn, "SELECT 1 FROM vehicles WHERE id = $1", params, 1,
                                            cancellable, error);
  g_autoptr(GArray) points = NULL;
  g_autoptr(WbTrackAnalysis) analysis = NULL;

  if (vehicle == NULL)
    return FALSE;
  if (PQntuples (vehicle) == 0)
    {
      g_set_error (error, WB_FLEET_ERROR, WB_FLEET_ERROR_NOT_FOUND, "No vehicle %s", query->vehicle_id);
      return FALSE;
    }
  points = g_array_new (FALSE, FALSE, sizeof (WbTrackPoint));
  if (!wb_position_history_read_track (conn, query->vehicle_id, query->from, query->to,
                                       WB_FLEET_TRACK_MAX_POINTS + 1, points, error))
    return FALSE;
  if (points->len > WB_FLEET_TRACK_MAX_POINTS)
    {
      g_set_error (error, WB_FLEET_ERROR, WB_FLEET_ERROR_INVALID,
                   "to: the period holds more than %u positions; ask for a shorter one",
                   WB_FLEET_TRACK_MAX_POINTS);
      return FALSE;
    }
  analysis = wb_track_analyze ((const WbTrackPoint *) (gpointer) points->data, points->len,
                               query->tolerance_m, &query->params);
  job->result = query->geojson
                ? wb_track_analysis_to_geojson (analysis, query->vehicle_id, query->from, query->to)
                : wb_track_analysis_to_json (analysis, query->vehicle_id, query->from, query->to);
  return TRUE;
}

/**
 * wb_fleet_store_track_async:
 * @query: (transfer none): copied
 *
 * Reads a vehicle's history over a period and analyses it (simplified
 * polyline, distance, speeds, trips and stops) on a pool thread.
 */
void
wb_fleet_store_track_async (WbFleetStore        *self,
                            const WbTrackQuery  *query,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  Job *job;

  g_return_if_fail (WB_IS_FLEET_STORE (self));
  g_return_if_fail (query != NULL && query->vehicle_id != NULL);

  job = job_new (track_in_transaction, g_free);
  job->track = g_memdup2 (query, sizeof *query);
  job->track->vehicle_id = g_strdup (query->vehicle_id);
  submit (self, job, wb_fleet_store_track_async, cancellable, callback, user_data);
}

/**
 * wb_fleet_store_track_finish:
 *
 * Returns: (transfer full): the track as JSON or GeoJSON text, or %NULL
 *   with @error set (%WB_FLEET_ERROR_NOT_FOUND for an unknown vehicle)
 */
char *
wb_fleet_store_track_finish (WbFleetStore  *self,
                             GAsyncResult  *result,
                             GError       **error)
{
  return steal_result (finish (self, result, wb_fleet_store_track_async, error));
}
