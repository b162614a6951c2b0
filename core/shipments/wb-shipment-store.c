// SPDX-License-Identifier: GPL-3.0-or-later
/* The shipment store: every call is one transaction on a pool thread.
 * This file holds the object, the async plumbing and the plain CRUD; the
 * event path, search and the view live in their own files. */

#include "config.h"

#include "wb-json-writer.h"
#include "wb-phone.h"
#include "wb-shipment-store-private.h"
#include "wb-db-transaction.h"

#include <string.h>

#define DEFAULT_PAGE_SIZE 50
#define MAX_PAGE_SIZE     500

struct _WbShipmentStore
{
  GObject        parent_instance;

  WbDbPool      *pool;
  WbSlaTable    *sla;
  WbOutboxRelay *relay;
};

G_DEFINE_FINAL_TYPE (WbShipmentStore, wb_shipment_store, G_TYPE_OBJECT)

/* What an error names apart from its message, so that nobody has to read
 * the message back. */
typedef struct
{
  char *field;   /* the member at fault, as the client spelt it ("recipient.phone") */
  char *holder;  /* EVENT_CONFLICT: the shipment that holds the event */
} WbShipmentErrorPrivate;

static void
wb_shipment_error_private_init (WbShipmentErrorPrivate *priv)
{
}

static void
wb_shipment_error_private_copy (const WbShipmentErrorPrivate *src,
                                WbShipmentErrorPrivate       *dest)
{
  dest->field = g_strdup (src->field);
  dest->holder = g_strdup (src->holder);
}

static void
wb_shipment_error_private_clear (WbShipmentErrorPrivate *priv)
{
  g_clear_pointer (&priv->field, g_free);
  g_clear_pointer (&priv->holder, g_free);
}

G_DEFINE_EXTENDED_ERROR (WbShipmentError, wb_shipment_error)

enum
{
  CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/**
 * wb_shipment_error_get_field:
 *
 * Returns: (nullable): the path of the member a %WB_SHIPMENT_ERROR is
 *   about ("serviceLevel", "recipient.phone", "eventId"), or %NULL when it
 *   names none or is another domain's
 */
const char *
wb_shipment_error_get_field (const GError *error)
{
  g_return_val_if_fail (error != NULL, NULL);

  if (error->domain != WB_SHIPMENT_ERROR)
    return NULL;
  return wb_shipment_error_get_private (error)->field;
}

/**
 * wb_shipment_error_get_holder:
 *
 * Returns: (transfer full) (nullable): for a
 *   %WB_SHIPMENT_ERROR_EVENT_CONFLICT, the id of the shipment that holds
 *   the event; %NULL for any other error
 */
char *
wb_shipment_error_get_holder (const GError *error)
{
  if (!g_error_matches (error, WB_SHIPMENT_ERROR, WB_SHIPMENT_ERROR_EVENT_CONFLICT))
    return NULL;
  return g_strdup (wb_shipment_error_get_private (error)->holder);
}

/* The message reads "<field>: <problem>" for people, like a
 * WB_JSON_ERROR_FIELD's; the field travels apart. */
gboolean
_wb_store_set_field_error (GError          **error,
                           WbShipmentError   code,
                           const char       *field,
                           const char       *format,
                           ...)
{
  g_autofree char *problem = NULL;
  va_list args;

  g_assert (field != NULL);
  if (error == NULL)
    return FALSE;

  va_start (args, format);
  problem = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, WB_SHIPMENT_ERROR, code, "%s: %s", field, problem);
  wb_shipment_error_get_private (*error)->field = g_strdup (field);
  return FALSE;
}

void
_wb_store_set_conflict (GError     **error,
                        const char  *event_id,
                        const char  *source,
                        const char  *holder)
{
  _wb_store_set_field_error (error, WB_SHIPMENT_ERROR_EVENT_CONFLICT, "eventId",
                             "“%s” from source “%s” is already stored for shipment %s",
                             event_id, source, holder);
  if (error != NULL)
    wb_shipment_error_get_private (*error)->holder = g_strdup (holder);
}

typedef struct _Job Job;

/* Runs inside the call's transaction; returns non-NULL on success. */
typedef gpointer (*JobFunc) (Job           *job,
                             PGconn        *conn,
                             GCancellable  *cancellable,
                             GError       **error);

struct _Job
{
  WbShipmentStore *store;           /* borrowed: the task holds it */
  WbOutboxRelay   *relay;           /* owned, nullable */
  JobFunc          func;
  GDestroyNotify   result_free;
  char            *id;
  GArray          *expected_versions; /* gint64, nullable: If-Match */
  gpointer         input;           /* the caller's, borrowed until the callback */
  GDestroyNotify   input_free;      /* for input the job owns */
  guint            limit;
  guint            offset;
  gint64           event_row_id;
  gboolean         one_statement;   /* a single read: no BEGIN/COMMIT round trips */

  /* Written on the pool thread; read after the callback. */
  gint64           current_version;
  gboolean         wrote_outbox;
  GArray          *changes;         /* WbShipmentChange: announced after the commit */
  char            *event_json;
};

static void
job_free (gpointer data)
{
  Job *job = data;

  g_clear_object (&job->relay);
  if (job->input_free != NULL)
    job->input_free (job->input);
  g_free (job->id);
  g_clear_pointer (&job->expected_versions, g_array_unref);
  g_array_unref (job->changes);
  g_free (job->event_json);
  g_free (job);
}

/* One run of a job; a transaction the database asks to repeat (two
 * batches touching the same shipments in different orders) runs again. */
typedef struct
{
  Job      *job;
  gpointer  result;
} Attempt;

static void
attempt_clear_result (Attempt *attempt)
{
  if (attempt->result != NULL)
    attempt->job->result_free (g_steal_pointer (&attempt->result));
}

/* What a rolled-back attempt left behind is dropped first. */
static gboolean
run_attempt (PGconn        *conn,
             gpointer       user_data,
             GCancellable  *cancellable,
             GError       **error)
{
  Attempt *attempt = user_data;
  Job *job = attempt->job;

  attempt_clear_result (attempt);
  job->wrote_outbox = FALSE;
  g_array_set_size (job->changes, 0);
  g_clear_pointer (&job->event_json, g_free);
  attempt->result = job->func (job, conn, cancellable, error);
  return attempt->result != NULL;
}

/* Right after the commit, on this thread: before the caller can learn of
 * the write, so whoever drops a cached view here is never behind it. */
static void
announce_changes (Job *job)
{
  for (guint i = 0; i < job->changes->len; i++)
    {
      WbShipmentChange *change = &g_array_index (job->changes, WbShipmentChange, i);

      g_signal_emit (job->store, signals[CHANGED], 0, change->id, change->version);
    }
}

static gpointer
run_job (PGconn        *conn,
         gpointer       user_data,
         GCancellable  *cancellable,
         GError       **error)
{
  Job *job = user_data;
  Attempt attempt = { job, NULL };
  gboolean done = job->one_statement ? run_attempt (conn, &attempt, cancellable, error)
                                     : wb_db_transaction_run (conn, run_attempt, &attempt, cancellable, error);

  if (!done)
    {
      attempt_clear_result (&attempt);
      return NULL;
    }
  announce_changes (job);
  if (job->wrote_outbox && job->relay != NULL)
    wb_outbox_relay_kick (job->relay);
  return attempt.result;
}

static void
on_job_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Job *job = g_task_get_task_data (task);
  GError *error = NULL;
  gpointer value = wb_db_pool_run_finish (WB_DB_POOL (source), result, &error);

  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, value, job->result_free);
}

static Job *
job_new (JobFunc         func,
         GDestroyNotify  result_free,
         const char     *id,
         gpointer        input)
{
  Job *job = g_new0 (Job, 1);

  job->func = func;
  job->result_free = result_free;
  job->id = g_strdup (id);
  job->input = input;
  job->changes = _wb_store_changes_new ();
  return job;
}

static void
submit (WbShipmentStore     *self,
        Job                 *job,
        gpointer             source_tag,
        GCancellable        *cancellable,
        GAsyncReadyCallback  callback,
        gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  job->store = self;
  job->relay = self->relay ? g_object_ref (self->relay) : NULL;
  g_task_set_task_data (task, job, job_free);
  wb_db_pool_run_async (self->pool, run_job, job, NULL, job->result_free,
                        cancellable, on_job_done, task);
}

static gpointer
finish (WbShipmentStore  *self,
        GAsyncResult     *result,
        gpointer          source_tag,
        gint64           *out_current_version,
        GError          **error)
{
  g_return_val_if_fail (WB_IS_SHIPMENT_STORE (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_async_result_is_tagged (result, source_tag), NULL);

  if (out_current_version != NULL)
    *out_current_version = ((Job *) g_task_get_task_data (G_TASK (result)))->current_version;
  return g_task_propagate_pointer (G_TASK (result), error);
}

static WbShipmentView *
fetch_view (PGconn        *conn,
            const char    *id,
            GCancellable  *cancellable,
            GError       **error)
{
  g_autoptr(GPtrArray) views = _wb_store_fetch_views (conn, &id, 1, cancellable, error);

  if (views == NULL)
    return NULL;
  if (views->len == 0)
    {
      _wb_store_set_not_found (error, id);
      return NULL;
    }
  return g_ptr_array_steal_index (views, 0);
}

/* ---- create -------------------------------------------------------------- */

/* An explicit promisedAt wins; a service level, when given, must be one the
 * SLA table knows either way. */
static gboolean
resolve_promise (WbShipmentStore  *self,
                 const char       *level,
                 gint64            explicit_us,
                 gint64            created_at_us,
                 gint64           *out_promised_us,
                 GError          **error)
{
  if (level != NULL && !wb_sla_table_has_level (self->sla, level))
    return _wb_store_set_field_error (error, WB_SHIPMENT_ERROR_INVALID, "serviceLevel", "unknown service level");
  if (explicit_us != 0)
    {
      *out_promised_us = explicit_us;
      return TRUE;
    }
  if (level == NULL)
    return _wb_store_set_field_error (error, WB_SHIPMENT_ERROR_INVALID, "serviceLevel",
                                      "required unless promisedAt is given");

  *out_promised_us = wb_sla_table_promise (self->sla, level, created_at_us);
  return *out_promised_us >= 0 || _wb_store_set_field_error (error, WB_SHIPMENT_ERROR_INVALID, "serviceLevel", "unknown service level");
}

static gint64
transaction_now_us (PGconn        *conn,
                    GCancellable  *cancellable,
                    GError       **error)
{
  g_autoptr(PGresult) result = wb_db_exec (conn, "SELECT " WB_SQL_TO_US ("now()"),
                                           NULL, 0, cancellable, error);

  return result ? _wb_store_get_int (result, 0, 0) : -1;
}

static void
add_address (GPtrArray       *params,
             const WbAddress *address)
{
  _wb_sql_params_add (params, address->country);
  _wb_sql_params_add (params, address->region);
  _wb_sql_params_add (params, address->city);
  _wb_sql_params_add (params, address->line1);
  _wb_sql_params_add (params, address->line2);
  _wb_sql_params_add (params, address->postal_code);
  _wb_sql_params_add_double (params, address->has_coordinates, address->lat);
  _wb_sql_params_add_double (params, address->has_coordinates, address->lon);
}

#define ADDRESS_COLUMNS "country, region, city, line1, line2, postal_code, lat, lon"

/* One statement: the recipient, the addresses, the shipment (PENDING since
 * now(), version 1) and the optional first tracking. */
static const char create_sql[] =
  "WITH r AS (INSERT INTO recipients (name, phone, phone_raw, email)"
  "           VALUES ($5, $6, $7, $8) RETURNING id, phone),"
  " o AS (INSERT INTO addresses (" ADDRESS_COLUMNS ")"
  "       SELECT $10, $11, $12, $13, $14, $15, $16::float8, $17::float8 WHERE $9::boolean"
  "       RETURNING id),"
  " d AS (INSERT INTO addresses (" ADDRESS_COLUMNS ")"
  "       VALUES ($18, $19, $20, $21, $22, $23, $24::float8, $25::float8) RETURNING id),"
  " s AS (INSERT INTO shipments (client_id, reference, service_level, promised_at, status_at,"
  "                              recipient_id, recipient_phone, origin_id, destination_id, pickup_point_id)"
  "       SELECT $1, $2, $3, " WB_SQL_FROM_US ("$4") ", now(), r.id, r.phone, (SELECT id FROM o), d.id, $28"
  "       FROM r, d RETURNING id),"
  " t AS (INSERT INTO trackings (shipment_id, carrier, track_number)"
  "       SELECT s.id, $26, $27 FROM s WHERE $26::text IS NOT NULL OR $27::text IS NOT NULL)"
  " SELECT id FROM s";

static GPtrArray *
create_params (const WbShipmentDraft *draft,
               gint64                 promised_us)
{
  GPtrArray *params = _wb_sql_params_new ();

  _wb_sql_params_add (params, draft->client_id);
  _wb_sql_params_add (params, draft->reference);
  _wb_sql_params_add (params, draft->service_level);
  _wb_sql_params_add_int (params, promised_us);
  _wb_sql_params_add (params, draft->recipient_name);
  _wb_sql_params_add (params, draft->recipient_phone);
  _wb_sql_params_add (params, draft->recipient_phone_raw);
  _wb_sql_params_add (params, draft->recipient_email);
  _wb_sql_params_add_bool (params, draft->has_origin);
  add_address (params, &draft->origin);
  add_address (params, &draft->destination);
  _wb_sql_params_add (params, draft->carrier);
  _wb_sql_params_add (params, draft->track_number);
  _wb_sql_params_add (params, draft->pickup_point_id);
  return params;
}

/* A shipment addressed to a pickup point goes where the point is: its
 * destination is the point's address and coordinates as they are now
 * (the row is share-locked until the commit, so it cannot go away in
 * between). */
static gboolean
read_pickup_point (PGconn        *conn,
                   const char    *id,
                   WbAddress     *out,
                   GCancellable  *cancellable,
                   GError       **error)
{
  g_autoptr(GPtrArray) params = _wb_sql_params_new ();
  g_autoptr(PGresult) result = NULL;

  _wb_sql_params_add (params, id);
  result = _wb_store_exec (conn, "SELECT country, city, line1, postal_code, lat, lon FROM pickup_points"
                                 " WHERE id = $1 FOR KEY SHARE", params, cancellable, error);
  if (result == NULL)
    return FALSE;
  if (PQntuples (result) == 0)
    return _wb_store_set_field_error (error, WB_SHIPMENT_ERROR_INVALID, "pickupPointId", "no such pickup point");
  wb_address_clear (out);
  out->country = PQgetisnull (result, 0, 0) ? NULL : g_strdup (PQgetvalue (result, 0, 0));
  out->city = PQgetisnull (result, 0, 1) ? NULL : g_strdup (PQgetvalue (result, 0, 1));
  out->line1 = PQgetisnull (result, 0, 2) ? NULL : g_strdup (PQgetvalue (result, 0, 2));
  out->postal_code = PQgetisnull (result, 0, 3) ? NULL : g_strdup (PQgetvalue (result, 0, 3));
  out->has_coordinates = TRUE;
  out->lat = g_ascii_strtod (PQgetvalue (result, 0, 4), NULL);
  out->lon = g_ascii_strtod (PQgetvalue (result, 0, 5), NULL);
  return TRUE;
}

/* The destination and, for a national number, the phone's country come
 * from the pickup point. */
static gboolean
resolve_pickup_point (PGconn           *conn,
                      WbShipmentDraft  *draft,
                      GCancellable     *cancellable,
                      GError          **error)
{
  g_autoptr(GError) phone_error = NULL;

  if (draft->pickup_point_id == NULL)
    return TRUE;
  if (!read_pickup_point (conn, draft->pickup_point_id, &draft->destination, cancellable, error))
    return FALSE;
  if (draft->recipient_phone_raw == NULL || draft->recipient_phone != NULL)
    return TRUE;
  draft->recipient_phone = wb_phone_normalize (draft->recipient_phone_raw, draft->destination.country, &phone_error);
  if (draft->recipient_phone == NULL)
    return _wb_store_set_field_error (error, WB_SHIPMENT_ERROR_INVALID, "recipient.phone", "%s",
                                      phone_error->message);
  return TRUE;
}

static gpointer
create_in_transaction (Job           *job,
                       PGconn        *conn,
                       GCancellable  *cancellable,
                       GError       **error)
{
  WbShipmentDraft *draft = job->input;
  g_autoptr(GPtrArray) params = NULL;
  g_autoptr(PGresult) result = NULL;
  gint64 now_us, promised_us;

  if ((now_us = transaction_now_us (conn, cancellable, error)) < 0 ||
      !resolve_promise (job->store, draft->service_level, draft->promised_at, now_us,
                        &promised_us, error) ||
      !resolve_pickup_point (conn, draft, cancellable, error))
    return NULL;

  params = create_params (draft, promised_us);
  if ((result = _wb_store_exec (conn, create_sql, params, cancellable, error)) == NULL)
    return NULL;

  job->current_version = 1;
  return fetch_view (conn, PQgetvalue (result, 0, 0), cancellable, error);
}

/* ---- get ----------------------------------------------------------------- */

static gpointer
get_in_transaction (Job           *job,
                    PGconn        *conn,
                    GCancellable  *cancellable,
                    GError       **error)
{
  if (!_wb_store_id_is_valid (job->id))
    {
      _wb_store_set_not_found (error, job->id);
      return NULL;
    }
  return fetch_view (conn, job->id, cancellable, error);
}

static gpointer
get_version_in_transaction (Job           *job,
                            PGconn        *conn,
                            GCancellable  *cancellable,
                            GError       **error)
{
  g_autoptr(GPtrArray) params = _wb_sql_params_new ();
  g_autoptr(PGresult) result = NULL;
  gint64 version;

  if (!_wb_store_id_is_valid (job->id))
    {
      _wb_store_set_not_found (error, job->id);
      return NULL;
    }
  _wb_sql_params_add (params, job->id);
  if ((result = _wb_store_exec (conn, "SELECT version FROM shipments WHERE id = $1",
                                params, cancellable, error)) == NULL)
    return NULL;
  if (PQntuples (result) == 0)
    {
      _wb_store_set_not_found (error, job->id);
      return NULL;
    }
  version = _wb_store_get_int (result, 0, 0);
  return g_memdup2 (&version, sizeof version);
}

/* The history's own JSON of the event, so that an answer shows it exactly
 * as GET …/events does (PostgreSQL writes 53.9, not 53.899999999999999). */
static const char event_json_sql[] =
  "SELECT " WB_SQL_EVENT_JSON ("e") "::text FROM shipment_events e WHERE e.id = $1 AND e.shipment_id = $2";

static gpointer
get_with_event_in_transaction (Job           *job,
                               PGconn        *conn,
                               GCancellable  *cancellable,
                               GError       **error)
{
  g_autoptr(GPtrArray) params = _wb_sql_params_new ();
  g_autoptr(PGresult) result = NULL;
  g_autoptr(WbShipmentView) view = get_in_transaction (job, conn, cancellable, error);

  if (view == NULL)
    return NULL;
  _wb_sql_params_add_int (params, job->event_row_id);
  _wb_sql_params_add (params, job->id);
  if ((result = _wb_store_exec (conn, event_json_sql, params, cancellable, error)) == NULL)
    return NULL;
  if (PQntuples (result) == 1)
    job->event_json = wb_json_compact (PQgetvalue (result, 0, 0));
  return g_steal_pointer (&view);
}

/* ---- update and close ---------------------------------------------------- */

typedef struct
{
  gint64 version;
  gint64 created_at_us;
} Locked;

static gboolean
version_expected (GArray *expected_versions,
                  gint64  version)
{
  if (expected_versions == NULL)
    return TRUE;
  for (guint i = 0; i < expected_versions->len; i++)
    if (g_array_index (expected_versions, gint64, i) == version)
      return TRUE;
  return FALSE;
}

/* Locks the row for the rest of the transaction, then tells the ways a
 * write can be refused apart: unknown, closed, or a stale If-Match. */
static gboolean
lock_for_write (Job           *job,
                PGconn        *conn,
                Locked        *out_locked,
                GCancellable  *cancellable,
                GError       **error)
{
  g_autoptr(GPtrArray) params = _wb_sql_params_new ();
  g_autoptr(PGresult) result = NULL;

  if (!_wb_store_id_is_valid (job->id))
    return _wb_store_set_not_found (error, job->id);

  _wb_sql_params_add (params, job->id);
  result = _wb_store_exec (conn,
                           "SELECT version, closed_at IS NOT NULL, " WB_SQL_TO_US ("created_at")
                           " FROM shipments WHERE id = $1 FOR UPDATE",
                           params, cancellable, error);
  if (result == NULL)
    return FALSE;
  if (PQntuples (result) == 0)
    return _wb_store_set_not_found (error, job->id);

  out_locked->version = job->current_version = _wb_store_get_int (result, 0, 0);
  out_locked->created_at_us = _wb_store_get_int (result, 0, 2);

  if (g_str_equal (PQgetvalue (result, 0, 1), "t"))
    {
      g_set_error (error, WB_SHIPMENT_ERROR, WB_SHIPMENT_ERROR_CLOSED,
                   "shipment %s is closed", job->id);
      return FALSE;
    }
  if (!version_expected (job->expected_versions, out_locked->version))
    {
      g_set_error (error, WB_SHIPMENT_ERROR, WB_SHIPMENT_ERROR_VERSION_MISMATCH,
                   "shipment %s is at version %" G_GINT64_FORMAT ", which the precondition does not name",
                   job->id, out_locked->version);
      return FALSE;
    }
  return TRUE;
}

/* The row is locked, so the version condition always holds here; it stays
 * as the statement's own guard against a lost update. */
static const char update_sql[] =
  "UPDATE shipments SET version = version + 1, updated_at = now(),"
  "  service_level = CASE WHEN $3::boolean THEN $4 ELSE service_level END,"
  "  reference = CASE WHEN $5::boolean THEN $6 ELSE reference END,"
  "  recipient_phone = CASE WHEN $7::boolean THEN $8 ELSE recipient_phone END,"
  "  promised_at = CASE WHEN $9::boolean THEN " WB_SQL_FROM_US ("$10") " ELSE promised_at END,"
  /* A promise moved into the future ends the breach: the next one is a new one. */
  "  overdue_at = CASE WHEN $9::boolean AND " WB_SQL_FROM_US ("$10") " > now()"
  "                    THEN NULL ELSE overdue_at END,"
  "  carrier_eta = CASE WHEN $11::boolean THEN " WB_SQL_FROM_US ("$12") " ELSE carrier_eta END"
  " WHERE id = $1 AND version = $2 RETURNING version";

static gboolean
update_shipment_row (Job                   *job,
                     PGconn                *conn,
                     const WbShipmentPatch *patch,
                     const Locked          *locked,
                     gboolean               promise_changed,
                     gint64                 promised_us,
                     GCancellable          *cancellable,
                     GError               **error)
{
  g_autoptr(GPtrArray) params = _wb_sql_params_new ();
  g_autoptr(PGresult) result = NULL;

  _wb_sql_params_add (params, job->id);
  _wb_sql_params_add_int (params, locked->version);
  _wb_sql_params_add_bool (params, patch->has_service_level);
  _wb_sql_params_add (params, patch->service_level);
  _wb_sql_params_add_bool (params, patch->has_reference);
  _wb_sql_params_add (params, patch->reference);
  _wb_sql_params_add_bool (params, patch->has_recipient_phone);
  _wb_sql_params_add (params, patch->recipient_phone);
  _wb_sql_params_add_bool (params, promise_changed);
  _wb_sql_params_add_int (params, promised_us);
  _wb_sql_params_add_bool (params, patch->has_eta);
  _wb_sql_params_take (params, patch->eta != 0 ? g_strdup_printf ("%" G_GINT64_FORMAT, patch->eta) : NULL);

  if ((result = _wb_store_exec (conn, update_sql, params, cancellable, error)) == NULL)
    return FALSE;
  g_assert (PQntuples (result) == 1);
  job->current_version = _wb_store_get_int (result, 0, 0);
  return TRUE;
}

static gboolean
update_recipient (PGconn                *conn,
                  const char            *id,
                  const WbShipmentPatch *patch,
                  GCancellable          *cancellable,
                  GError               **error)
{
  g_autoptr(GPtrArray) params = _wb_sql_params_new ();
  g_autoptr(PGresult) result = NULL;

  if (!patch->has_recipient_name && !patch->has_recipient_phone && !patch->has_recipient_email)
    return TRUE;

  _wb_sql_params_add (params, id);
  _wb_sql_params_add_bool (params, patch->has_recipient_name);
  _wb_sql_params_add (params, patch->recipient_name);
  _wb_sql_params_add_bool (params, patch->has_recipient_phone);
  _wb_sql_params_add (params, patch->recipient_phone);
  _wb_sql_params_add (params, patch->recipient_phone_raw);
  _wb_sql_params_add_bool (params, patch->has_recipient_email);
  _wb_sql_params_add (params, patch->recipient_email);
  result = _wb_store_exec (conn,
                           "UPDATE recipients SET"
                           "  name = CASE WHEN $2::boolean THEN $3 ELSE name END,"
                           "  phone = CASE WHEN $4::boolean THEN $5 ELSE phone END,"
                           "  phone_raw = CASE WHEN $4::boolean THEN $6 ELSE phone_raw END,"
                           "  email = CASE WHEN $7::boolean THEN $8 ELSE email END"
                           " WHERE id = (SELECT recipient_id FROM shipments WHERE id = $1)",
                           params, cancellable, error);
  return result != NULL;
}

static gboolean
update_destination (PGconn                *conn,
                    const char            *id,
                    const WbShipmentPatch *patch,
                    GCancellable          *cancellable,
                    GError               **error)
{
  g_autoptr(GPtrArray) params = _wb_sql_params_new ();
  g_autoptr(PGresult) result = NULL;

  if (!patch->has_destination)
    return TRUE;

  _wb_sql_params_add (params, id);
  add_address (params, &patch->destination);
  result = _wb_store_exec (conn,
                           "UPDATE addresses SET country = $2, region = $3, city = $4,"
                           "  line1 = $5, line2 = $6, postal_code = $7, lat = $8::float8, lon = $9::float8"
                           " WHERE id = (SELECT destination_id FROM shipments WHERE id = $1)",
                           params, cancellable, error);
  return result != NULL;
}

/* A pickup point and a street address are alternatives: naming a point
 * makes its address the destination; a new destination (or null) leaves
 * the point. */
static gboolean
update_pickup_point (PGconn                *conn,
                     const char            *id,
                     const WbShipmentPatch *patch,
                     GCancellable          *cancellable,
                     GError               **error)
{
  g_autoptr(GPtrArray) params = _wb_sql_params_new ();
  g_autoptr(PGresult) result = NULL;
  WbShipmentPatch point = { 0, };

  if (!patch->has_pickup_point && !patch->has_destination)
    return TRUE;
  if (patch->has_pickup_point && patch->pickup_point_id != NULL)
    {
      point.has_destination = TRUE;
      if (!read_pickup_point (conn, patch->pickup_point_id, &point.destination, cancellable, error)
          || !update_destination (conn, id, &point, cancellable, error))
        {
          wb_address_clear (&point.destination);
          return FALSE;
        }
      wb_address_clear (&point.destination);
    }
  _wb_sql_params_add (params, id);
  _wb_sql_params_add (params, patch->has_pickup_point ? patch->pickup_point_id : NULL);
  result = _wb_store_exec (conn, "UPDATE shipments SET pickup_point_id = $2 WHERE id = $1", params, cancellable, error);
  return result != NULL;
}

/* Adding a tracking the shipment already has changes nothing, so a
 * retried PATCH succeeds; one that belongs to another shipment is refused. */
static gboolean
add_tracking (PGconn                *conn,
              const char            *id,
              const WbShipmentPatch *patch,
              GCancellable          *cancellable,
              GError               **error)
{
  g_autoptr(GPtrArray) params = _wb_sql_params_new ();
  g_autoptr(PGresult) result = NULL;

  if (!patch->has_tracking)
    return TRUE;

  _wb_sql_params_add (params, id);
  _wb_sql_params_add (params, patch->carrier);
  _wb_sql_params_add (params, patch->track_number);
  result = _wb_store_exec (conn,
                           "WITH added AS (INSERT INTO trackings (shipment_id, carrier, track_number)"
                           "               VALUES ($1, $2, $3)"
                           "               ON CONFLICT (carrier, track_number) DO NOTHING"
                           "               RETURNING shipment_id)"
                           " SELECT shipment_id FROM added"
                           " UNION ALL SELECT shipment_id FROM trackings WHERE carrier = $2 AND track_number = $3",
                           params, cancellable, error);
  if (result == NULL)
    return FALSE;
  if (PQntuples (result) != 1 || !g_str_equal (PQgetvalue (result, 0, 0), id))
    return _wb_store_set_field_error (error, WB_SHIPMENT_ERROR_INVALID, "trackNumber", "already in use");
  return TRUE;
}

static gboolean
patch_promise (Job                   *job,
               const WbShipmentPatch *patch,
               const Locked          *locked,
               gboolean              *out_changed,
               gint64                *out_promised_us,
               GError               **error)
{
  *out_changed = FALSE;
  *out_promised_us = 0;

  if (patch->has_promised_at && patch->promised_at != 0)
    {
      *out_changed = TRUE;
      *out_promised_us = patch->promised_at;
      return !patch->has_service_level || patch->service_level == NULL ||
             resolve_promise (job->store, patch->service_level, patch->promised_at, 0,
                              out_promised_us, error);
    }

  /* A new service level re-derives the promise from the creation time. */
  if (patch->has_service_level && patch->service_level != NULL)
    {
      *out_changed = TRUE;
      return resolve_promise (job->store, patch->service_level, 0, locked->created_at_us,
                              out_promised_us, error);
    }
  return TRUE;
}

static gpointer
update_in_transaction (Job           *job,
                       PGconn        *conn,
                       GCancellable  *cancellable,
                       GError       **error)
{
  WbShipmentPatch *patch = job->input;
  gboolean promise_changed;
  gint64 promised_us;
  Locked locked;
  gint64 flagged = 0;

  if (!lock_for_write (job, conn, &locked, cancellable, error) ||
      !patch_promise (job, patch, &locked, &promise_changed, &promised_us, error) ||
      !update_shipment_row (job, conn, patch, &locked, promise_changed, promised_us, cancellable, error) ||
      !update_recipient (conn, job->id, patch, cancellable, error) ||
      !update_destination (conn, job->id, patch, cancellable, error) ||
      !update_pickup_point (conn, job->id, patch, cancellable, error) ||
      !add_tracking (conn, job->id, patch, cancellable, error) ||
      (promise_changed && (flagged = _wb_store_flag_overdue (conn, job->id, job->changes,
                                                               cancellable, error)) < 0))
    return NULL;

  job->wrote_outbox = flagged > 0;
  _wb_store_changes_add (job->changes, job->id, job->current_version);
  return fetch_view (conn, job->id, cancellable, error);
}

static gpointer
close_in_transaction (Job           *job,
                      PGconn        *conn,
                      GCancellable  *cancellable,
                      GError       **error)
{
  g_autoptr(GPtrArray) params = _wb_sql_params_new ();
  g_autoptr(PGresult) result = NULL;
  Locked locked;

  if (!lock_for_write (job, conn, &locked, cancellable, error))
    return NULL;

  _wb_sql_params_add (params, job->id);
  _wb_sql_params_add_int (params, locked.version);
  result = _wb_store_exec (conn,
                           "UPDATE shipments SET closed_at = now(), updated_at = now(), version = version + 1"
                           " WHERE id = $1 AND version = $2 RETURNING version",
                           params, cancellable, error);
  if (result == NULL)
    return NULL;

  job->current_version = _wb_store_get_int (result, 0, 0);
  _wb_store_changes_add (job->changes, job->id, job->current_version);
  return fetch_view (conn, job->id, cancellable, error);
}

/* ---- history ------------------------------------------------------------- */

static const char list_events_sql[] =
  "SELECT json_build_object("
  "  'items', coalesce((SELECT json_agg(page.item ORDER BY page.occurred_at DESC, page.id DESC)"
  "     FROM (SELECT e.id, e.occurred_at, " WB_SQL_EVENT_JSON ("e") " AS item"
  "           FROM shipment_events e WHERE e.shipment_id = s.id"
  "           ORDER BY e.occurred_at DESC, e.id DESC LIMIT $2 OFFSET $3) page), '[]'::json),"
  "  'total', (SELECT count(*) FROM shipment_events e WHERE e.shipment_id = s.id),"
  "  'limit', $2::integer, 'offset', $3::integer)::text"
  " FROM shipments s WHERE s.id = $1";

static gpointer
list_events_in_transaction (Job           *job,
                            PGconn        *conn,
                            GCancellable  *cancellable,
                            GError       **error)
{
  g_autoptr(GPtrArray) params = _wb_sql_params_new ();
  g_autoptr(PGresult) result = NULL;

  if (!_wb_store_id_is_valid (job->id))
    {
      _wb_store_set_not_found (error, job->id);
      return NULL;
    }

  _wb_sql_params_add (params, job->id);
  _wb_sql_params_add_int (params, job->limit);
  _wb_sql_params_add_int (params, job->offset);
  if ((result = _wb_store_exec (conn, list_events_sql, params, cancellable, error)) == NULL)
    return NULL;
  if (PQntuples (result) == 0)
    {
      _wb_store_set_not_found (error, job->id);
      return NULL;
    }
  return wb_json_compact (PQgetvalue (result, 0, 0));
}

/* ---- events, search, SLA ------------------------------------------------- */

static void
result_array_free (gpointer data)
{
  g_array_unref (data);
}

static gpointer
add_events_in_transaction (Job           *job,
                           PGconn        *conn,
                           GCancellable  *cancellable,
                           GError       **error)
{
  GPtrArray *events = job->input;
  g_autoptr(GArray) results = _wb_store_add_events (conn, events, &job->wrote_outbox, job->changes,
                                                    cancellable, error);
  WbEventResult *only;

  if (results == NULL)
    return NULL;

  /* A single event answers with its own error rather than a FAILED item. */
  only = &g_array_index (results, WbEventResult, 0);
  if (results->len == 1 && only->outcome == WB_EVENT_FAILED)
    {
      g_propagate_error (error, g_steal_pointer (&only->error));
      return NULL;
    }
  return g_steal_pointer (&results);
}

static gpointer
search_in_transaction (Job           *job,
                       PGconn        *conn,
                       GCancellable  *cancellable,
                       GError       **error)
{
  return _wb_store_search (conn, job->input, cancellable, error);
}

static gpointer
summary_in_transaction (Job           *job,
                        PGconn        *conn,
                        GCancellable  *cancellable,
                        GError       **error)
{
  return _wb_store_summary (conn, cancellable, error);
}

static gpointer
check_overdue_in_transaction (Job           *job,
                              PGconn        *conn,
                              GCancellable  *cancellable,
                              GError       **error)
{
  gint64 flagged = _wb_store_flag_overdue (conn, NULL, job->changes, cancellable, error);

  if (flagged < 0)
    return NULL;

  job->wrote_outbox = flagged > 0;
  return g_memdup2 (&flagged, sizeof flagged);
}

/* ---- carrier batches (the tracker role) ------------------------------------ */

typedef struct
{
  GPtrArray *tickets;
  GPtrArray *checks;
  GPtrArray *events;
} CarrierInput;

static void
carrier_input_free (gpointer data)
{
  CarrierInput *input = data;

  g_ptr_array_unref (input->tickets);
  g_ptr_array_unref (input->checks);
  g_ptr_array_unref (input->events);
  g_free (input);
}

static GArray *
results_new (guint n)
{
  GArray *results = g_array_sized_new (FALSE, TRUE, sizeof (WbEventResult), n);

  g_array_set_clear_func (results, (GDestroyNotify) wb_event_result_clear);
  g_array_set_size (results, n);
  return results;
}

/* The claim decides: INSERT … ON CONFLICT DO NOTHING waits for a concurrent
 * transaction holding the same ticket and skips once it commits. */
static gboolean
claim_ticket (PGconn        *conn,
              const char    *ticket_id,
              gboolean      *out_claimed,
              GCancellable  *cancellable,
              GError       **error)
{
  g_autoptr(GPtrArray) params = _wb_sql_params_new ();
  g_autoptr(PGresult) result = NULL;

  _wb_sql_params_add (params, ticket_id);
  result = _wb_store_exec (conn,
                           "INSERT INTO shipment_tickets (ticket_id) VALUES ($1)"
                           " ON CONFLICT (ticket_id) DO NOTHING RETURNING ticket_id",
                           params, cancellable, error);
  if (result == NULL)
    return FALSE;
  *out_claimed = PQntuples (result) == 1;
  return TRUE;
}

static char *
ticket_shipment (PGconn        *conn,
                 const char    *ticket_id,
                 GCancellable  *cancellable,
                 GError       **error)
{
  g_autoptr(GPtrArray) params = _wb_sql_params_new ();
  g_autoptr(PGresult) result = NULL;

  _wb_sql_params_add (params, ticket_id);
  result = _wb_store_exec (conn, "SELECT shipment_id FROM shipment_tickets WHERE ticket_id = $1",
                           params, cancellable, error);
  if (result == NULL)
    return NULL;
  g_assert (PQntuples (result) == 1);
  return g_strdup (PQgetvalue (result, 0, 0));
}

/* The shipment, its tracking due for a first check now, and the ticket
 * pointing at it. */
static char *
create_ticket_shipment (Job            *job,
                        PGconn         *conn,
                        const WbTicket *ticket,
                        GCancellable   *cancellable,
                        GError        **error)
{
  g_autoptr(GPtrArray) params = NULL;
  g_autoptr(PGresult) result = NULL;
  g_autoptr(PGresult) linked = NULL;
  g_autofree char *id = NULL;
  gint64 base_us, promised_us;

  base_us = ticket->created_at != 0 ? ticket->created_at : transaction_now_us (conn, cancellable, error);
  if (base_us < 0 ||
      !resolve_promise (job->store, ticket->draft->service_level, ticket->draft->promised_at, base_us,
                        &promised_us, error))
    return NULL;

  params = create_params (ticket->draft, promised_us);
  if ((result = _wb_store_exec (conn, create_sql, params, cancellable, error)) == NULL)
    return NULL;
  id = g_strdup (PQgetvalue (result, 0, 0));

  g_ptr_array_set_size (params, 0);
  _wb_sql_params_add (params, id);
  _wb_sql_params_add (params, ticket->ticket_id);
  linked = _wb_store_exec (conn,
                           "WITH t AS (UPDATE trackings SET next_check_at = now() WHERE shipment_id = $1)"
                           " UPDATE shipment_tickets SET shipment_id = $1 WHERE ticket_id = $2",
                           params, cancellable, error);
  return linked != NULL ? g_steal_pointer (&id) : NULL;
}

/* One ticket inside a savepoint: a ticket the database refuses (a track
 * number another shipment has, …) fails alone. */
static gboolean
apply_ticket (Job            *job,
              PGconn         *conn,
              const WbTicket *ticket,
              WbEventResult  *result,
              GCancellable   *cancellable,
              GError        **error)
{
  g_autoptr(GError) local_error = NULL;
  gboolean claimed = FALSE;

  if (!wb_db_exec_command (conn, "SAVEPOINT ticket", NULL, 0, cancellable, error))
    return FALSE;
  if (claim_ticket (conn, ticket->ticket_id, &claimed, cancellable, &local_error))
    result->shipment_id = claimed ? create_ticket_shipment (job, conn, ticket, cancellable, &local_error)
                                  : ticket_shipment (conn, ticket->ticket_id, cancellable, &local_error);

  if (local_error == NULL)
    {
      result->outcome = claimed ? WB_EVENT_CREATED : WB_EVENT_DUPLICATE;
      return wb_db_exec_command (conn, "RELEASE SAVEPOINT ticket", NULL, 0, cancellable, error);
    }
  if (local_error->domain != WB_SHIPMENT_ERROR)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  result->outcome = WB_EVENT_FAILED;
  result->error = g_steal_pointer (&local_error);
  return wb_db_exec_command (conn, "ROLLBACK TO SAVEPOINT ticket", NULL, 0, cancellable, error);
}

static GArray *
apply_tickets (Job           *job,
               PGconn        *conn,
               GPtrArray     *tickets,
               GCancellable  *cancellable,
               GError       **error)
{
  g_autoptr(GArray) results = results_new (tickets->len);

  for (guint i = 0; i < tickets->len; i++)
    if (!apply_ticket (job, conn, g_ptr_array_index (tickets, i),
                       &g_array_index (results, WbEventResult, i), cancellable, error))
      return NULL;
  return g_steal_pointer (&results);
}

static gpointer
carrier_batch_in_transaction (Job           *job,
                              PGconn        *conn,
                              GCancellable  *cancellable,
                              GError       **error)
{
  CarrierInput *input = job->input;
  g_autoptr(WbCarrierBatchResult) batch = g_new0 (WbCarrierBatchResult, 1);

  if ((batch->tickets = apply_tickets (job, conn, input->tickets, cancellable, error)) == NULL ||
      (batch->checks = _wb_store_record_checks (conn, input->checks, cancellable, error)) == NULL)
    return NULL;
  if (input->events->len == 0)
    batch->events = results_new (0);
  else if ((batch->events = _wb_store_add_events (conn, input->events, &job->wrote_outbox, job->changes,
                                                  cancellable, error)) == NULL)
    return NULL;
  return g_steal_pointer (&batch);
}

/* ---- public API ------------------------------------------------------------ */

void
wb_shipment_store_create_async (WbShipmentStore     *self,
                                WbShipmentDraft     *draft,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_return_if_fail (WB_IS_SHIPMENT_STORE (self));
  g_return_if_fail (draft != NULL);

  submit (self, job_new (create_in_transaction, (GDestroyNotify) wb_shipment_view_free, NULL, draft),
          wb_shipment_store_create_async, cancellable, callback, user_data);
}

WbShipmentView *
wb_shipment_store_create_finish (WbShipmentStore  *self,
                                 GAsyncResult     *result,
                                 GError          **error)
{
  return finish (self, result, wb_shipment_store_create_async, NULL, error);
}

void
wb_shipment_store_get_async (WbShipmentStore     *self,
                             const char          *id,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_return_if_fail (WB_IS_SHIPMENT_STORE (self));
  g_return_if_fail (id != NULL);

  submit (self, job_new (get_in_transaction, (GDestroyNotify) wb_shipment_view_free, id, NULL),
          wb_shipment_store_get_async, cancellable, callback, user_data);
}

WbShipmentView *
wb_shipment_store_get_finish (WbShipmentStore  *self,
                              GAsyncResult     *result,
                              GError          **error)
{
  return finish (self, result, wb_shipment_store_get_async, NULL, error);
}

void
wb_shipment_store_get_version_async (WbShipmentStore     *self,
                                     const char          *id,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data)
{
  Job *job;

  g_return_if_fail (WB_IS_SHIPMENT_STORE (self));
  g_return_if_fail (id != NULL);

  job = job_new (get_version_in_transaction, g_free, id, NULL);
  job->one_statement = TRUE;
  submit (self, job, wb_shipment_store_get_version_async, cancellable, callback, user_data);
}

/**
 * wb_shipment_store_get_version_finish:
 *
 * Returns: the shipment's version, or 0 with @error set
 */
gint64
wb_shipment_store_get_version_finish (WbShipmentStore  *self,
                                      GAsyncResult     *result,
                                      GError          **error)
{
  g_autofree gint64 *version = finish (self, result, wb_shipment_store_get_version_async, NULL, error);

  return version ? *version : 0;
}

void
wb_shipment_store_get_with_event_async (WbShipmentStore     *self,
                                        const char          *id,
                                        gint64               event_row_id,
                                        GCancellable        *cancellable,
                                        GAsyncReadyCallback  callback,
                                        gpointer             user_data)
{
  Job *job;

  g_return_if_fail (WB_IS_SHIPMENT_STORE (self));
  g_return_if_fail (id != NULL);

  job = job_new (get_with_event_in_transaction, (GDestroyNotify) wb_shipment_view_free, id, NULL);
  job->event_row_id = event_row_id;
  submit (self, job, wb_shipment_store_get_with_event_async, cancellable, callback, user_data);
}

/**
 * wb_shipment_store_get_with_event_finish:
 * @out_event_json: (out) (transfer full): the event as GET …/events shows
 *   it, or %NULL when the shipment has no such event
 */
WbShipmentView *
wb_shipment_store_get_with_event_finish (WbShipmentStore  *self,
                                         GAsyncResult     *result,
                                         char            **out_event_json,
                                         GError          **error)
{
  WbShipmentView *view = finish (self, result, wb_shipment_store_get_with_event_async, NULL, error);
  Job *job = g_task_get_task_data (G_TASK (result));

  if (out_event_json != NULL)
    *out_event_json = view ? g_steal_pointer (&job->event_json) : NULL;
  return view;
}

/**
 * wb_shipment_store_update_async:
 * @expected_versions: (nullable) (element-type gint64): the versions
 *   If-Match names; %NULL updates unconditionally
 *
 * Applies @patch. A closed shipment fails with %WB_SHIPMENT_ERROR_CLOSED, a
 * version not in @expected_versions with %WB_SHIPMENT_ERROR_VERSION_MISMATCH; both
 * report the current version through wb_shipment_store_update_finish().
 */
void
wb_shipment_store_update_async (WbShipmentStore     *self,
                                const char          *id,
                                GArray              *expected_versions,
                                WbShipmentPatch     *patch,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  Job *job;

  g_return_if_fail (WB_IS_SHIPMENT_STORE (self));
  g_return_if_fail (id != NULL);
  g_return_if_fail (patch != NULL);

  job = job_new (update_in_transaction, (GDestroyNotify) wb_shipment_view_free, id, patch);
  job->expected_versions = expected_versions ? g_array_ref (expected_versions) : NULL;
  submit (self, job, wb_shipment_store_update_async, cancellable, callback, user_data);
}

/**
 * wb_shipment_store_update_finish:
 * @out_current_version: (out) (optional): the shipment's version after the
 *   call, or on failure the version it is at (0 if unknown)
 */
WbShipmentView *
wb_shipment_store_update_finish (WbShipmentStore  *self,
                                 GAsyncResult     *result,
                                 gint64           *out_current_version,
                                 GError          **error)
{
  return finish (self, result, wb_shipment_store_update_async, out_current_version, error);
}

void
wb_shipment_store_close_async (WbShipmentStore     *self,
                               const char          *id,
                               GArray              *expected_versions,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  Job *job;

  g_return_if_fail (WB_IS_SHIPMENT_STORE (self));
  g_return_if_fail (id != NULL);

  job = job_new (close_in_transaction, (GDestroyNotify) wb_shipment_view_free, id, NULL);
  job->expected_versions = expected_versions ? g_array_ref (expected_versions) : NULL;
  submit (self, job, wb_shipment_store_close_async, cancellable, callback, user_data);
}

WbShipmentView *
wb_shipment_store_close_finish (WbShipmentStore  *self,
                                GAsyncResult     *result,
                                gint64           *out_current_version,
                                GError          **error)
{
  return finish (self, result, wb_shipment_store_close_async, out_current_version, error);
}

/**
 * wb_shipment_store_list_events_async:
 * @limit: page size; 0 means 50, more than 500 means 500
 */
void
wb_shipment_store_list_events_async (WbShipmentStore     *self,
                                     const char          *id,
                                     guint                limit,
                                     guint                offset,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data)
{
  Job *job;

  g_return_if_fail (WB_IS_SHIPMENT_STORE (self));
  g_return_if_fail (id != NULL);

  job = job_new (list_events_in_transaction, g_free, id, NULL);
  job->limit = limit == 0 ? DEFAULT_PAGE_SIZE : MIN (limit, MAX_PAGE_SIZE);
  job->offset = MIN (offset, G_MAXINT32);
  submit (self, job, wb_shipment_store_list_events_async, cancellable, callback, user_data);
}

char *
wb_shipment_store_list_events_finish (WbShipmentStore  *self,
                                      GAsyncResult     *result,
                                      GError          **error)
{
  return finish (self, result, wb_shipment_store_list_events_async, NULL, error);
}

void
wb_shipment_store_add_events_async (WbShipmentStore     *self,
                                    GPtrArray           *events,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  g_return_if_fail (WB_IS_SHIPMENT_STORE (self));
  g_return_if_fail (events != NULL && events->len > 0);

  submit (self, job_new (add_events_in_transaction, result_array_free, NULL, events),
          wb_shipment_store_add_events_async, cancellable, callback, user_data);
}

GArray *
wb_shipment_store_add_events_finish (WbShipmentStore  *self,
                                     GAsyncResult     *result,
                                     GError          **error)
{
  return finish (self, result, wb_shipment_store_add_events_async, NULL, error);
}

/**
 * wb_shipment_store_search_async:
 * @query: borrowed until the callback; a bad cursor, limit or status fails
 *   with %WB_SHIPMENT_ERROR_INVALID naming it
 */
void
wb_shipment_store_search_async (WbShipmentStore     *self,
                                WbShipmentQuery     *query,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_return_if_fail (WB_IS_SHIPMENT_STORE (self));
  g_return_if_fail (query != NULL);

  submit (self, job_new (search_in_transaction, g_free, NULL, query),
          wb_shipment_store_search_async, cancellable, callback, user_data);
}

char *
wb_shipment_store_search_finish (WbShipmentStore  *self,
                                 GAsyncResult     *result,
                                 GError          **error)
{
  return finish (self, result, wb_shipment_store_search_async, NULL, error);
}

void
wb_shipment_store_summary_async (WbShipmentStore     *self,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_return_if_fail (WB_IS_SHIPMENT_STORE (self));

  submit (self, job_new (summary_in_transaction, g_free, NULL, NULL),
          wb_shipment_store_summary_async, cancellable, callback, user_data);
}

char *
wb_shipment_store_summary_finish (WbShipmentStore  *self,
                                  GAsyncResult     *result,
                                  GError          **error)
{
  return finish (self, result, wb_shipment_store_summary_async, NULL, error);
}

void
wb_shipment_store_check_overdue_async (WbShipmentStore     *self,
                                       GCancellable        *cancellable,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data)
{
  g_return_if_fail (WB_IS_SHIPMENT_STORE (self));

  submit (self, job_new (check_overdue_in_transaction, g_free, NULL, NULL),
          wb_shipment_store_check_overdue_async, cancellable, callback, user_data);
}

/**
 * wb_shipment_store_check_overdue_finish:
 *
 * Returns: how many shipments were newly flagged, or -1 with @error set
 */
gint64
wb_shipment_store_check_overdue_finish (WbShipmentStore  *self,
                                        GAsyncResult     *result,
                                        GError          **error)
{
  g_autofree gint64 *flagged = finish (self, result, wb_shipment_store_check_overdue_async, NULL, error);

  return flagged ? *flagged : -1;
}

/**
 * wb_shipment_store_add_events_in_transaction:
 *
 * Returns: (transfer full): a GArray of WbEventResult, one per event, or
 *   %NULL with @error set (the caller rolls back)
 */
GArray *
wb_shipment_store_add_events_in_transaction (WbShipmentStore  *self,
                                             PGconn           *conn,
                                             GPtrArray        *events,
                                             GArray          **out_changes,
                                             GCancellable     *cancellable,
                                             GError          **error)
{
  g_autoptr(GArray) changes = _wb_store_changes_new ();
  gboolean wrote_outbox = FALSE;
  GArray *results;

  g_return_val_if_fail (WB_IS_SHIPMENT_STORE (self), NULL);
  g_return_val_if_fail (conn != NULL && events != NULL && out_changes != NULL, NULL);

  results = _wb_store_add_events (conn, events, &wrote_outbox, changes, cancellable, error);
  *out_changes = g_steal_pointer (&changes);
  return results;
}

void
wb_shipment_store_committed (WbShipmentStore *self,
                             GArray          *changes)
{
  g_return_if_fail (WB_IS_SHIPMENT_STORE (self));

  for (guint i = 0; changes != NULL && i < changes->len; i++)
    {
      WbShipmentChange *change = &g_array_index (changes, WbShipmentChange, i);

      g_signal_emit (self, signals[CHANGED], 0, change->id, change->version);
    }
  if (self->relay != NULL)
    wb_outbox_relay_kick (self->relay);
}

void
wb_shipment_store_set_relay (WbShipmentStore *self,
                             WbOutboxRelay   *relay)
{
  g_return_if_fail (WB_IS_SHIPMENT_STORE (self));
  g_return_if_fail (relay == NULL || WB_IS_OUTBOX_RELAY (relay));

  g_set_object (&self->relay, relay);
}

/* ---- object and value types ------------------------------------------------ */

static void
wb_shipment_store_finalize (GObject *object)
{
  WbShipmentStore *self = WB_SHIPMENT_STORE (object);

  g_clear_object (&self->pool);
  g_clear_object (&self->sla);
  g_clear_object (&self->relay);

  G_OBJECT_CLASS (wb_shipment_store_parent_class)->finalize (object);
}

static void
wb_shipment_store_class_init (WbShipmentStoreClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = wb_shipment_store_finalize;

  /**
   * WbShipmentStore::changed:
   * @id: the shipment that changed
   * @version: its version after the change
   *
   * Emitted once a write through the store that changed a shipment's view
   * has committed (update, close, status events from any caller, the SLA
   * job's flags), on the pool thread that committed it, before the call's
   * callback is queued. Handlers must be thread-safe and quick.
   */
  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                   0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_INT64);
}

static void
wb_shipment_store_init (WbShipmentStore *self)
{
}

WbShipmentStore *
wb_shipment_store_new (WbDbPool   *pool,
                       WbSlaTable *sla)
{
  WbShipmentStore *self;

  g_return_val_if_fail (WB_IS_DB_POOL (pool), NULL);
  g_return_val_if_fail (WB_IS_SLA_TABLE (sla), NULL);

  self = g_object_new (WB_TYPE_SHIPMENT_STORE, NULL);
  self->pool = g_object_ref (pool);
  self->sla = g_object_ref (sla);
  return self;
}

/**
 * wb_shipment_store_apply_carrier_batch_async:
 *
 * Tickets, checks and events of one batch of carrier messages, in one
 * transaction, so the caller acknowledges them together after the commit.
 */
void
wb_shipment_store_apply_carrier_batch_async (WbShipmentStore     *self,
                                             GPtrArray           *tickets,
                                             GPtrArray           *checks,
                                             GPtrArray           *events,
                                             GCancellable        *cancellable,
                                             GAsyncReadyCallback  callback,
                                             gpointer             user_data)
{
  CarrierInput *input;
  Job *job;

  g_return_if_fail (WB_IS_SHIPMENT_STORE (self));
  g_return_if_fail (tickets != NULL && checks != NULL && events != NULL);

  input = g_new0 (CarrierInput, 1);
  input->tickets = g_ptr_array_ref (tickets);
  input->checks = g_ptr_array_ref (checks);
  input->events = g_ptr_array_ref (events);
  job = job_new (carrier_batch_in_transaction, (GDestroyNotify) wb_carrier_batch_result_free, NULL, input);
  job->input_free = carrier_input_free;
  submit (self, job, wb_shipment_store_apply_carrier_batch_async, cancellable, callback, user_data);
}

WbCarrierBatchResult *
wb_shipment_store_apply_carrier_batch_finish (WbShipmentStore  *self,
                                              GAsyncResult     *result,
                                              GError          **error)
{
  return finish (self, result, wb_shipment_store_apply_carrier_batch_async, NULL, error);
}

void
wb_address_clear (WbAddress *address)
{
  g_return_if_fail (address != NULL);

  g_free (address->country);
  g_free (address->region);
  g_free (address->city);
  g_free (address->line1);
  g_free (address->line2);
  g_free (address->postal_code);
  memset (address, 0, sizeof *address);
}

void
wb_shipment_draft_free (WbShipmentDraft *draft)
{
  if (draft == NULL)
    return;

  g_free (draft->client_id);
  g_free (draft->reference);
  g_free (draft->service_level);
  g_free (draft->recipient_name);
  g_free (draft->recipient_phone);
  g_free (draft->recipient_phone_raw);
  g_free (draft->recipient_email);
  wb_address_clear (&draft->origin);
  wb_address_clear (&draft->destination);
  g_free (draft->carrier);
  g_free (draft->track_number);
  g_free (draft->pickup_point_id);
  g_free (draft);
}

void
wb_shipment_patch_free (WbShipmentPatch *patch)
{
  if (patch == NULL)
    return;

  g_free (patch->service_level);
  g_free (patch->reference);
  g_free (patch->recipient_name);
  g_free (patch->recipient_phone);
  g_free (patch->recipient_phone_raw);
  g_free (patch->recipient_email);
  wb_address_clear (&patch->destination);
  g_free (patch->carrier);
  g_free (patch->track_number);
  g_free (patch->pickup_point_id);
  g_free (patch);
}

void
wb_status_event_free (WbStatusEvent *event)
{
  if (event == NULL)
    return;

  g_free (event->event_id);
  g_free (event->source);
  g_free (event->shipment_id);
  g_free (event->carrier);
  g_free (event->track_number);
  g_free (event->reason);
  g_free (event->status_raw);
  g_free (event->occurred_at_raw);
  g_free (event->location_text);
  g_free (event->description);
  g_free (event);
}

/* The GArray's clear func: frees what the result holds, not the result. */
void
wb_event_result_clear (WbEventResult *result)
{
  if (result == NULL)
    return;

  g_clear_pointer (&result->shipment_id, g_free);
  g_clear_error (&result->error);
}

void
wb_shipment_view_free (WbShipmentView *view)
{
  if (view == NULL)
    return;

  g_free (view->id);
  g_free (view->json);
  g_free (view->destination_country);
  g_free (view);
}

void
wb_shipment_query_free (WbShipmentQuery *query)
{
  if (query == NULL)
    return;

  g_strfreev (query->statuses);
  g_free (query->client_id);
  g_free (query->phone);
  g_free (query->cursor);
  g_free (query);
}

void
wb_ticket_free (WbTicket *ticket)
{
  if (ticket == NULL)
    return;

  g_free (ticket->ticket_id);
  g_clear_pointer (&ticket->draft, wb_shipment_draft_free);
  g_free (ticket);
}

void
wb_tracking_check_free (WbTrackingCheck *check)
{
  if (check == NULL)
    return;

  g_free (check->carrier);
  g_free (check->track_number);
  g_free (check->error);
  g_free (check);
}

void
wb_carrier_batch_result_free (WbCarrierBatchResult *result)
{
  if (result == NULL)
    return;

  g_clear_pointer (&result->tickets, g_array_unref);
  g_clear_pointer (&result->checks, g_array_unref);
  g_clear_pointer (&result->events, g_array_unref);
  g_free (result);
}
