// SPDX-License-Identifier: GPL-3.0-or-later
/* The scheduler role: claims due trackings within each carrier's limits
 * and asks the carrier workers to check them (TRACKING_UPDATE). */

#include "config.h"

#include "wb-json-writer.h"
#include "wb-polling.h"
#include "wb-polling-private.h"
#include "wb-polling-scheduler.h"
#include "wb-time.h"

/* Most claims of one carrier in one transaction. */
#define MAX_CLAIM 1000
/* Permits are granted this far ahead, each with its instant: a claim that
 * comes late (a busy database) then loses none of the carrier's rate,
 * since GCRA gives no credit for time that passed unused beyond the burst. */
#define LOOKAHEAD(ladder) MAX (2 * (ladder)->tick, G_USEC_PER_SEC)

struct _WbPollingScheduler
{
  GObject          parent_instance;
  WbDbPool        *pool;
  WbBus           *bus;
  WbCarrierTable  *carriers;
  WbPollingLadder  ladder;
  char            *owner;
  GSource         *timer;
  GCancellable    *cancellable;
  gboolean         ensured;
  guint           *in_flight;   /* per carrier: a claim is running */
  GMutex           mutex;
  WbSchedulerCounts counts;
  WbCarrierLimitsView *limits;  /* per carrier, under the mutex */
};

G_DEFINE_FINAL_TYPE (WbPollingScheduler, wb_polling_scheduler, G_TYPE_OBJECT)

typedef struct
{
  gint64 id;
  char  *track_number;
  char  *reason;
  gint64 send_at;     /* the permit's instant: the worker calls no earlier */
  gint64 lease_expires_at;
} Claim;

typedef struct
{
  WbPollingScheduler    *self;
  guint                  carrier_index;
  const WbCarrierConfig *carrier;
  char                  *owner;
  gint64                 lease_us;
  GArray                *claims;     /* Claim */
  WbCarrierLimitsView    limits;     /* as this claim read them */
} Job;

static void
claim_clear (gpointer data)
{
  Claim *claim = data;

  g_free (claim->track_number);
  g_free (claim->reason);
}

static void
job_free (gpointer data)
{
  Job *job = data;

  g_clear_pointer (&job->claims, g_array_unref);
  g_free (job->owner);
  g_object_unref (job->self);
  g_free (job);
}

/* Leased rows move their next_check_at to the lease's end, so a crashed
 * worker's tracking is simply due again then, and the due range never
 * holds claimed rows. */
static const char claim_sql[] =
  "WITH due AS (SELECT id FROM trackings"
  "             WHERE carrier = $1 AND deleted_at IS NULL AND next_check_at <= now()"
  "             ORDER BY next_check_at LIMIT $2 FOR UPDATE SKIP LOCKED)"
  " UPDATE trackings t SET lease_owner = $3,"
  "   lease_expires_at = date_trunc('milliseconds', clock_timestamp()) + $4::bigint * interval '1 microsecond',"
  "   next_check_at = date_trunc('milliseconds', clock_timestamp()) + $4::bigint * interval '1 microsecond'"
  " FROM due WHERE t.id = due.id"
  " RETURNING t.id, t.track_number,"
  "   CASE WHEN t.last_checked_at IS NULL THEN 'new'"
  "        WHEN t.refreshed_at > t.last_checked_at THEN 'manual'"
  "        WHEN t.consecutive_errors > 0 THEN 'retry' ELSE 'scheduled' END,"
  "   " WB_POLLING_SQL_TO_US ("t.lease_expires_at");

static gboolean
claim_attempt (PGconn        *conn,
               gpointer       data,
               GCancellable  *cancellable,
               GError       **error)
{
  Job *job = data;
  g_auto(WbLimiterGrant) grant = { 0, };
  g_autoptr(GPtrArray) params = _wb_polling_params_new ();
  g_autoptr(PGresult) result = NULL;

  g_array_set_size (job->claims, 0);
  if (!_wb_limiter_reserve (conn, job->carrier, MAX_CLAIM, LOOKAHEAD (&job->self->ladder), &grant, cancellable,
                            error))
    return FALSE;
  job->limits = (WbCarrierLimitsView) {
    .known = grant.found,
    .quota_used = grant.quota_used,
    .blocked = grant.blocked,
    .breaker = grant.breaker_open ? WB_BREAKER_OPEN : grant.half_open ? WB_BREAKER_HALF_OPEN : WB_BREAKER_CLOSED,
  };
  if (grant.available == 0)
    return TRUE;
  _wb_polling_params_add (params, job->carrier->code);
  _wb_polling_params_add_int (params, grant.available);
  _wb_polling_params_add (params, job->owner);
  _wb_polling_params_add_int (params, job->lease_us);
  if ((result = _wb_polling_exec (conn, claim_sql, params, cancellable, error)) == NULL)
    return FALSE;
  for (int row = 0; row < PQntuples (result); row++)
    {
      Claim claim = {
        .id = _wb_polling_get_int (result, row, 0),
        .track_number = g_strdup (PQgetvalue (result, row, 1)),
        .reason = g_strdup (PQgetvalue (result, row, 2)),
        .send_at = grant.send_at[row],
        .lease_expires_at = _wb_polling_get_int (result, row, 3),
      };

      g_array_append_val (job->claims, claim);
    }
  job->limits.quota_used += job->claims->len;
  return _wb_limiter_consume (conn, job->carrier, &job->self->ladder, &grant, job->claims->len, cancellable, error);
}

static char *
update_payload (const Job   *job,
                const Claim *claim,
                const char  *requested_at)
{
  GString *out = g_string_new (NULL);

  g_string_append_printf (out, "{\"tracking_id\":%" G_GINT64_FORMAT ",\"carrier\":", claim->id);
  wb_json_write_string (out, job->carrier->code);
  g_string_append (out, ",\"track_number\":");
  wb_json_write_string (out, claim->track_number);
  g_string_append_printf (out, ",\"requested_at\":\"%s\",\"reason\":\"%s\",\"lease_owner\":", requested_at,
                          claim->reason);
  wb_json_write_string (out, job->owner);
  g_string_append_printf (out, ",\"lease_expires_at_us\":%" G_GINT64_FORMAT ",\"not_before_us\":%" G_GINT64_FORMAT "}",
                          claim->lease_expires_at, claim->send_at);
  return g_string_free (out, FALSE);
}

static void
on_published (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(WbPollingScheduler) self = user_data;
  g_autoptr(GError) error = NULL;

  /* A lost request costs only time: its lease runs out and it is due again. */
  if (!wb_bus_publish_finish (WB_BUS (source), result, &error))
    g_message ("TRACKING_UPDATE not published: %s", error->message);
  else
    {
      g_mutex_lock (&self->mutex);
      self->counts.published++;
      g_mutex_unlock (&self->mutex);
    }
}

static void
publish_claims (Job *job)
{
  g_autofree char *requested_at = wb_time_format (g_get_real_time ());

  for (guint i = 0; i < job->claims->len; i++)
    {
      const Claim *claim = &g_array_index (job->claims, Claim, i);
      g_autofree char *key = g_strdup_printf ("%" G_GINT64_FORMAT, claim->id);
      g_autoptr(WbBusMessage) message = wb_bus_message_new_take (WB_TOPIC_TRACKING_UPDATE, key,
                                                                 update_payload (job, claim, requested_at));

      wb_bus_publish_async (job->self->bus, message, NULL, on_published, g_object_ref (job->self));
    }
}

static void
on_claimed (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  WbPollingScheduler *self = user_data;
  g_autoptr(GError) error = NULL;
  Job *job = _wb_polling_run_finish (result, &error);

  self->in_flight[((Job *) g_task_get_task_data (G_TASK (result)))->carrier_index] = FALSE;
  g_mutex_lock (&self->mutex);
  self->counts.ticks++;
  if (job == NULL)
    self->counts.failures++;
  else
    {
      self->counts.claimed += job->claims->len;
      self->limits[job->carrier_index] = job->limits;
    }
  g_mutex_unlock (&self->mutex);
  if (job == NULL)
    {
      if (!g_error_matches (error, WB_DB_ERROR, WB_DB_ERROR_CANCELLED))
        g_message ("Claiming due trackings failed: %s", error->message);
      return;
    }
  publish_claims (job);
}

static void
claim_carrier (WbPollingScheduler *self,
               guint               index)
{
  Job *job = g_new0 (Job, 1);

  job->self = g_object_ref (self);
  job->carrier_index = index;
  job->carrier = wb_carrier_table_get_nth (self->carriers, index);
  job->owner = g_strdup (self->owner);
  job->lease_us = self->ladder.lease;
  job->claims = g_array_new (FALSE, TRUE, sizeof (Claim));
  g_array_set_clear_func (job->claims, claim_clear);
  self->in_flight[index] = TRUE;
  _wb_polling_run_transaction (self->pool, self, claim_carrier, claim_attempt, job, job_free,
                               self->cancellable, on_claimed, self);
}

static gboolean
ensure_attempt (PGconn        *conn,
                gpointer       data,
                GCancellable  *cancellable,
                GError       **error)
{
  Job *job = data;

  return _wb_limiter_ensure (conn, job->self->carriers, cancellable, error);
}

static void
on_ensured (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  WbPollingScheduler *self = user_data;
  g_autoptr(GError) error = NULL;

  self->in_flight[0] = FALSE;
  if (_wb_polling_run_finish (result, &error) != NULL)
    self->ensured = TRUE;
  else if (!g_error_matches (error, WB_DB_ERROR, WB_DB_ERROR_CANCELLED))
    g_message ("Carrier limits not ready: %s", error->message);
}

static void
ensure_limits (WbPollingScheduler *self)
{
  Job *job = g_new0 (Job, 1);

  job->self = g_object_ref (self);
  job->claims = g_array_new (FALSE, TRUE, sizeof (Claim));
  self->in_flight[0] = TRUE;
  _wb_polling_run_transaction (self->pool, self, ensure_limits, ensure_attempt, job, job_free,
                               self->cancellable, on_ensured, self);
}

static gboolean
on_tick (gpointer user_data)
{
  WbPollingScheduler *self = user_data;
  guint n = wb_carrier_table_get_n_carriers (self->carriers);

  if (n == 0)
    return G_SOURCE_CONTINUE;
  if (!self->ensured)
    {
      if (!self->in_flight[0])
        ensure_limits (self);
      return G_SOURCE_CONTINUE;
    }
  for (guint i = 0; i < n; i++)
    if (!self->in_flight[i])
      claim_carrier (self, i);
  return G_SOURCE_CONTINUE;
}

static void
wb_polling_scheduler_dispose (GObject *object)
{
  WbPollingScheduler *self = WB_POLLING_SCHEDULER (object);

  wb_polling_scheduler_stop (self);
  g_clear_object (&self->pool);
  g_clear_object (&self->bus);
  g_clear_object (&self->carriers);
  g_clear_object (&self->cancellable);
  G_OBJECT_CLASS (wb_polling_scheduler_parent_class)->dispose (object);
}

static void
wb_polling_scheduler_finalize (GObject *object)
{
  WbPollingScheduler *self = WB_POLLING_SCHEDULER (object);

  g_free (self->owner);
  g_free (self->in_flight);
  g_free (self->limits);
  g_mutex_clear (&self->mutex);
  G_OBJECT_CLASS (wb_polling_scheduler_parent_class)->finalize (object);
}

static void
wb_polling_scheduler_class_init (WbPollingSchedulerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = wb_polling_scheduler_dispose;
  object_class->finalize = wb_polling_scheduler_finalize;
}

static void
wb_polling_scheduler_init (WbPollingScheduler *self)
{
  g_mutex_init (&self->mutex);
  self->cancellable = g_cancellable_new ();
}

/**
 * wb_polling_scheduler_new:
 * @owner: names this scheduler's leases; unique per daemon
 *
 * Returns: (transfer full): a scheduler, stopped
 */
WbPollingScheduler *
wb_polling_scheduler_new (WbDbPool              *pool,
                          WbBus                 *bus,
                          WbCarrierTable        *carriers,
                          const WbPollingLadder *ladder,
                          const char            *owner)
{
  WbPollingScheduler *self;

  g_return_val_if_fail (WB_IS_DB_POOL (pool), NULL);
  g_return_val_if_fail (WB_IS_BUS (bus), NULL);
  g_return_val_if_fail (WB_IS_CARRIER_TABLE (carriers), NULL);
  g_return_val_if_fail (ladder != NULL && owner != NULL, NULL);

  self = g_object_new (WB_TYPE_POLLING_SCHEDULER, NULL);
  self->pool = g_object_ref (pool);
  self->bus = g_object_ref (bus);
  self->carriers = g_object_ref (carriers);
  self->ladder = *ladder;
  self->owner = g_strdup (owner);
  self->in_flight = g_new0 (guint, MAX (1, wb_carrier_table_get_n_carriers (carriers)));
  self->limits = g_new0 (WbCarrierLimitsView, MAX (1, wb_carrier_table_get_n_carriers (carriers)));
  return self;
}

void
wb_polling_scheduler_start (WbPollingScheduler *self)
{
  g_return_if_fail (WB_IS_POLLING_SCHEDULER (self));

  if (self->timer != NULL)
    return;
  self->timer = g_timeout_source_new (MAX (1, self->ladder.tick / 1000));
  g_source_set_callback (self->timer, on_tick, self, NULL);
  g_source_set_name (self->timer, "[waybill] polling scheduler");
  g_source_attach (self->timer, g_main_context_get_thread_default ());
  on_tick (self);
}

/* Claims in progress finish (their leases run out if nobody checks them). */
void
wb_polling_scheduler_stop (WbPollingScheduler *self)
{
  g_return_if_fail (WB_IS_POLLING_SCHEDULER (self));

  if (self->timer != NULL)
    {
      g_source_destroy (self->timer);
      g_clear_pointer (&self->timer, g_source_unref);
    }
}

void
wb_polling_scheduler_get_counts (WbPollingScheduler *self,
                                 WbSchedulerCounts  *out_counts)
{
  g_return_if_fail (WB_IS_POLLING_SCHEDULER (self));

  g_mutex_lock (&self->mutex);
  *out_counts = self->counts;
  g_mutex_unlock (&self->mutex);
}

void
wb_polling_scheduler_get_limits (WbPollingScheduler  *self,
                                 guint                index,
                                 WbCarrierLimitsView *out_view)
{
  g_return_if_fail (WB_IS_POLLING_SCHEDULER (self));
  g_return_if_fail (index < wb_carrier_table_get_n_carriers (self->carriers));

  g_mutex_lock (&self->mutex);
  *out_view = self->limits[index];
  g_mutex_unlock (&self->mutex);
}

const char *
wb_breaker_state_to_string (WbBreakerState state)
{
  switch (state)
    {
    case WB_BREAKER_CLOSED: return "closed";
    case WB_BREAKER_OPEN: return "open";
    case WB_BREAKER_HALF_OPEN: return "half-open";
    default: g_return_val_if_reached (NULL);
    }
}
