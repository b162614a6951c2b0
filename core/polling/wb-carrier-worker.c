// SPDX-License-Identifier: GPL-3.0-or-later
/* The carrier-worker role: one TRACKING_UPDATE, one request to the
 * carrier, one transaction. */

#include "config.h"

#include <math.h>
#include <string.h>
#include <unistd.h>
#include <glib-unix.h>
#include <sys/timerfd.h>

#include "wb-carrier-stats.h"
#include "wb-carrier-worker.h"
#include "wb-json-reader.h"
#include "wb-json-writer.h"
#include "wb-polling.h"
#include "wb-polling-private.h"
#include "wb-time.h"

#define MAX_BATCH 100
/* Batches out at once: checks wait for their permits' instants and for
 * the carrier, and their order does not matter. */
#define PREFETCH 64
#define DB_RETRY_MS 1000

struct _WbCarrierWorker
{
  GObject          parent_instance;
  WbDbPool        *pool;
  WbBus           *bus;
  WbCarrierTable  *carriers;
  WbPollingLadder  ladder;
  GHashTable      *drivers;        /* carrier code → WbCarrierDriver */
  GHashTable      *last_call;      /* carrier code → gint64*: the latest call planned, µs; code + "\x1fsent" → SentRing */
  guint            subscription;
  GCancellable    *cancellable;
  GMutex           mutex;
  WbWorkerCounts   counts;
  GHashTable      *carrier_counts; /* carrier code → WbWorkerCounts*, under the mutex */
  WbCarrierStats  *stats;
  guint            precise_waits;  /* timerfds open for waits */
};

G_DEFINE_FINAL_TYPE (WbCarrierWorker, wb_carrier_worker, G_TYPE_OBJECT)

/* One batch from the bus: acknowledged once every check of it is written. */
typedef struct
{
  WbCarrierWorker *self;
  WbBusBatch      *batch;
  guint            pending;
  gboolean         retry;
} BatchWork;

typedef struct
{
  BatchWork             *work;
  const WbCarrierConfig *carrier;
  gint64                 tracking_id;
  char                  *track_number;
  char                  *lease_owner;       /* NULL: the request named no lease */
  gint64                 lease_expires_at;
  gint64                 not_before;        /* the limiter's instant for this call, µs */
  gint64                 planned_at;        /* this worker's instant for it (≥ not_before), µs */
  gint64                 received_at;       /* when the request reached this worker, µs */
  WbCarrierReply        *reply;
  gint64                 checked_at;
  /* Written by the transaction (each attempt starts over). */
  gboolean               stale;
  guint                  new_events;
} Check;

static void
check_free (gpointer data)
{
  Check *check = data;

  g_free (check->track_number);
  g_free (check->lease_owner);
  g_clear_pointer (&check->reply, wb_carrier_reply_free);
  g_free (check);
}

static void
count (WbCarrierWorker *self,
       guint64         *counter,
       guint64          n)
{
  g_mutex_lock (&self->mutex);
  *counter += n;
  g_mutex_unlock (&self->mutex);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Check, check_free)

/* ---- the transaction -------------------------------------------------------- */

typedef struct
{
  char    *shipment_id;
  WbStatus status;
  gint64   status_at;
  char    *status_raw;
  gint64   last_change_at;
  guint    unchanged_checks;
  guint    consecutive_errors;
} Current;

static void
current_clear (Current *current)
{
  g_clear_pointer (&current->shipment_id, g_free);
  g_clear_pointer (&current->status_raw, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Current, current_clear)

static const char lock_sql[] =
  "SELECT shipment_id, status, " WB_POLLING_SQL_TO_US ("status_at") ", " WB_POLLING_SQL_TO_US ("last_change_at") ","
  " unchanged_checks, consecutive_errors, status_raw"
  " FROM trackings WHERE id = $1 AND carrier = $2 AND track_number = $3 AND deleted_at IS NULL"
  "  AND CASE WHEN $4::text IS NULL THEN lease_owner IS NULL OR lease_expires_at < now()"
  "           ELSE lease_owner = $4 AND lease_expires_at = " WB_POLLING_SQL_FROM_US ("$5") " END"
  " FOR UPDATE";

static gboolean
lock_tracking (PGconn        *conn,
               Check         *check,
               Current       *out,
               GCancellable  *cancellable,
               GError       **error)
{
  g_autoptr(GPtrArray) params = _wb_polling_params_new ();
  g_autoptr(PGresult) result = NULL;

  _wb_polling_params_add_int (params, check->tracking_id);
  _wb_polling_params_add (params, check->carrier->code);
  _wb_polling_params_add (params, check->track_number);
  _wb_polling_params_add (params, check->lease_owner);
  _wb_polling_params_add_int (params, check->lease_expires_at);
  if ((result = _wb_polling_exec (conn, lock_sql, params, cancellable, error)) == NULL)
    return FALSE;
  check->stale = PQntuples (result) == 0;
  if (check->stale)
    return TRUE;
  out->shipment_id = g_strdup (_wb_polling_get_text (result, 0, 0));
  out->status = PQgetisnull (result, 0, 1) ? WB_STATUS_INVALID : wb_status_from_string (PQgetvalue (result, 0, 1));
  out->status_at = _wb_polling_get_int (result, 0, 2);
  out->last_change_at = _wb_polling_get_int (result, 0, 3);
  out->unchanged_checks = _wb_polling_get_int (result, 0, 4);
  out->consecutive_errors = _wb_polling_get_int (result, 0, 5);
  out->status_raw = g_strdup (_wb_polling_get_text (result, 0, 6));
  return TRUE;
}

static void
write_nullable (GString    *out,
                const char *name,
                const char *value)
{
  g_string_append_printf (out, ",\"%s\":", name);
  if (value != NULL)
    wb_json_write_string (out, value);
  else
    g_string_append (out, "null");
}

static char *
events_json (const GPtrArray *events)
{
  GString *out = g_string_new ("[");

  for (guint i = 0; i < events->len; i++)
    {
      const WbStatusEvent *event = g_ptr_array_index (events, i);
      g_autofree char *code = event->status_raw ? g_strdup (event->status_raw) : NULL;
      char *slash = code ? strstr (code, " / ") : NULL;

      if (slash != NULL)
        *slash = '\0';
      g_string_append (out, i > 0 ? ",{\"event_id\":" : "{\"event_id\":");
      wb_json_write_string (out, event->event_id);
      g_string_append_printf (out, ",\"status\":\"%s\",\"occurred_at\":%" G_GINT64_FORMAT ",\"zone_guessed\":%s",
                              wb_status_to_string (event->status), event->occurred_at,
                              event->zone_guessed ? "true" : "false");
      write_nullable (out, "status_code", code);
      write_nullable (out, "status_raw", event->status_raw);
      write_nullable (out, "occurred_at_raw", event->occurred_at_raw);
      write_nullable (out, "location", event->location_text);
      write_nullable (out, "description", event->description);
      g_string_append_c (out, '}');
    }
  g_string_append_c (out, ']');
  return g_string_free (out, FALSE);
}

static const char insert_events_sql[] =
  "INSERT INTO tracking_events (tracking_id, event_id, status, status_code, status_raw, occurred_at,"
  "                             occurred_at_raw, zone_guessed, location_text, description)"
  " SELECT $1, r.event_id, r.status, r.status_code, r.status_raw, " WB_POLLING_SQL_FROM_US ("r.occurred_at") ","
  "        r.occurred_at_raw, r.zone_guessed, r.location, r.description"
  " FROM json_to_recordset($2::json) AS r(event_id text, status text, status_code text, status_raw text,"
  "      occurred_at bigint, occurred_at_raw text, zone_guessed boolean, location text, description text)"
  " ON CONFLICT (tracking_id, event_id) DO NOTHING RETURNING event_id";

/* Stores the answer's events; *out_new holds the ids not seen before. */
static gboolean
insert_events (PGconn        *conn,
               Check         *check,
               GHashTable    *out_new,
               GCancellable  *cancellable,
               GError       **error)
{
  g_autoptr(GPtrArray) params = _wb_polling_params_new ();
  g_autoptr(PGresult) result = NULL;

  if (check->reply->events->len == 0)
    return TRUE;
  _wb_polling_params_add_int (params, check->tracking_id);
  g_ptr_array_add (params, events_json (check->reply->events));
  if ((result = _wb_polling_exec (conn, insert_events_sql, params, cancellable, error)) == NULL)
    return FALSE;
  for (int row = 0; row < PQntuples (result); row++)
    g_hash_table_add (out_new, g_strdup (PQgetvalue (result, row, 0)));
  check->new_events = PQntuples (result);
  return TRUE;
}

/* The newest thing the carrier said; carriers list events oldest first,
 * but a correction may come out of order. */
static const WbStatusEvent *
newest_event (const GPtrArray *events)
{
  const WbStatusEvent *newest = NULL;

  for (guint i = 0; i < events->len; i++)
    {
      const WbStatusEvent *event = g_ptr_array_index (events, i);

      if (newest == NULL || event->occurred_at >= newest->occurred_at)
        newest = event;
    }
  return newest;
}

/* What the tracking becomes after the check. */
typedef struct
{
  WbStatus    status;
  gint64      status_at;
  const char *status_raw;
  gint64      last_change_at;
  guint       unchanged_checks;
  guint       consecutive_errors;
  gint64      next_check_at;     /* 0 = stop */
  const char *error;
  gboolean    keep_error;        /* a 429 leaves last_error as it was */
} Outcome;

static gint64
jittered (const WbPollingLadder *ladder,
          gint64                 interval)
{
  return wb_polling_ladder_jitter (ladder, interval, g_random_double ());
}

static void
plan_success (const WbPollingLadder *ladder,
              const Check           *check,
              const Current         *current,
              Outcome               *out)
{
  const WbStatusEvent *newest = newest_event (check->reply->events);
  WbPollingState state;
  gboolean expired;
  gint64 interval;

  out->status = newest ? newest->status : current->status;
  out->status_at = newest ? newest->occurred_at : current->status_at;
  out->status_raw = newest ? newest->status_raw : current->status_raw;
  out->last_change_at = check->new_events > 0 ? check->checked_at : current->last_change_at;
  out->unchanged_checks = check->new_events > 0 ? 0 : current->unchanged_checks + 1;
  out->consecutive_errors = 0;
  state = (WbPollingState) { out->status, out->status_at, out->last_change_at, out->unchanged_checks };
  interval = wb_polling_ladder_interval (ladder, &state, check->checked_at, &expired);
  if (expired)
    {
      out->status = WB_STATUS_EXPIRED;
      out->status_at = check->checked_at;
      out->status_raw = NULL;
    }
  out->next_check_at = interval > 0 ? check->checked_at + jittered (ladder, interval) : 0;
}

static void
plan_failure (const WbPollingLadder *ladder,
              const Check           *check,
              const Current         *current,
              gint64                 blocked_until,
              Outcome               *out)
{
  out->status = current->status;
  out->status_at = current->status_at;
  out->status_raw = current->status_raw;
  out->last_change_at = current->last_change_at;
  out->unchanged_checks = current->unchanged_checks;
  out->consecutive_errors = current->consecutive_errors;
  if (check->reply->kind == WB_CARRIER_REPLY_RATE_LIMITED)
    {
      /* Not the tracking's fault: no retry used, asked again once the
       * carrier takes calls, spread over a tick or so. */
      out->keep_error = TRUE;
      out->next_check_at = MAX (blocked_until, check->checked_at) + g_random_int_range (0, MAX (1, ladder->tick));
      return;
    }
  out->consecutive_errors++;
  out->error = check->reply->error;
  out->next_check_at = check->checked_at
                       + jittered (ladder, out->consecutive_errors > ladder->max_retries
                                           ? ladder->idle_max
                                           : wb_polling_ladder_error_delay (ladder, out->consecutive_errors));
}

static const char update_sql[] =
  "UPDATE trackings SET status = $2, status_at = " WB_POLLING_SQL_FROM_US ("nullif($3::bigint, 0)") ","
  " status_raw = $4, last_checked_at = " WB_POLLING_SQL_FROM_US ("$5") ","
  " next_check_at = " WB_POLLING_SQL_FROM_US ("nullif($6::bigint, 0)") ","
  " last_error = CASE WHEN $10::boolean THEN last_error ELSE $7 END, consecutive_errors = $8,"
  " unchanged_checks = $9, last_change_at = " WB_POLLING_SQL_FROM_US ("$11") ","
  " lease_owner = NULL, lease_expires_at = NULL"
  " WHERE id = $1";

static gboolean
update_tracking (PGconn        *conn,
                 const Check   *check,
                 const Outcome *outcome,
                 GCancellable  *cancellable,
                 GError       **error)
{
  g_autoptr(GPtrArray) params = _wb_polling_params_new ();
  g_autoptr(PGresult) result = NULL;

  _wb_polling_params_add_int (params, check->tracking_id);
  _wb_polling_params_add (params, outcome->status != WB_STATUS_INVALID ? wb_status_to_string (outcome->status) : NULL);
  _wb_polling_params_add_int (params, outcome->status_at);
  _wb_polling_params_add (params, outcome->status_raw);
  _wb_polling_params_add_int (params, check->checked_at);
  _wb_polling_params_add_int (params, outcome->next_check_at);
  _wb_polling_params_add (params, outcome->error);
  _wb_polling_params_add_int (params, outcome->consecutive_errors);
  _wb_polling_params_add_int (params, outcome->unchanged_checks);
  _wb_polling_params_add (params, outcome->keep_error ? "true" : "false");
  _wb_polling_params_add_int (params, outcome->last_change_at);
  result = _wb_polling_exec (conn, update_sql, params, cancellable, error);
  return result != NULL;
}

static void
write_time (GString    *out,
            const char *name,
            gint64      us)
{
  g_autofree char *text = wb_time_format (us);

  g_string_append_printf (out, ",\"%s\":\"%s\"", name, text);
}

static void
write_shipment_part (GString         *out,
                     const Check     *check,
                     const Outcome   *outcome,
                     GHashTable      *new_ids)
{
  guint written = 0;

  if (outcome->status != WB_STATUS_INVALID && outcome->status_at > 0)
    {
      g_string_append_printf (out, ",\"status\":\"%s\"", wb_status_to_string (outcome->status));
      if (outcome->status_raw != NULL)
        write_nullable (out, "status_raw", outcome->status_raw);
      write_time (out, "status_at", outcome->status_at);
    }
  g_string_append (out, ",\"events\":[");
  for (guint i = 0; i < check->reply->events->len; i++)
    {
      const WbStatusEvent *event = g_ptr_array_index (check->reply->events, i);

      if (!g_hash_table_contains (new_ids, event->event_id))
        continue;
      g_string_append (out, written++ > 0 ? ",{\"event_id\":" : "{\"event_id\":");
      wb_json_write_string (out, event->event_id);
      g_string_append_printf (out, ",\"status\":\"%s\"", wb_status_to_string (event->status));
      write_time (out, "occurred_at", event->occurred_at);
      if (event->status_raw != NULL)
        write_nullable (out, "status_raw", event->status_raw);
      if (event->description != NULL)
        write_nullable (out, "description", event->description);
      if (event->location_text != NULL)
        {
          g_string_append (out, ",\"location\":{\"text\":");
          wb_json_write_string (out, event->location_text);
          g_string_append_c (out, '}');
        }
      g_string_append_c (out, '}');
    }
  g_string_append_c (out, ']');
}

/* tracking.updated (data/schemas/tracking.updated.schema.json). A tracking
 * that stands alone has no shipment history to feed: the message carries
 * the check alone. */
static char *
updated_payload (const Check   *check,
                 const Current *current,
                 const Outcome *outcome,
                 GHashTable    *new_ids)
{
  GString *out = g_string_new (NULL);

  g_string_append_printf (out, "{\"tracking_id\":%" G_GINT64_FORMAT ",\"carrier\":", check->tracking_id);
  wb_json_write_string (out, check->carrier->code);
  g_string_append (out, ",\"track_number\":");
  wb_json_write_string (out, check->track_number);
  write_time (out, "checked_at", check->checked_at);
  if (outcome->next_check_at > 0)
    write_time (out, "next_check_at", outcome->next_check_at);
  if (check->reply->kind == WB_CARRIER_REPLY_FAILED || check->reply->kind == WB_CARRIER_REPLY_RATE_LIMITED)
    write_nullable (out, "error", check->reply->error ? check->reply->error : "carrier error");
  if (current->shipment_id != NULL)
    write_shipment_part (out, check, outcome, new_ids);
  g_string_append_c (out, '}');
  return g_string_free (out, FALSE);
}

static gboolean
insert_outbox (PGconn        *conn,
               const Check   *check,
               char          *payload,
               GCancellable  *cancellable,
               GError       **error)
{
  g_autoptr(GPtrArray) params = _wb_polling_params_new ();
  g_autoptr(PGresult) result = NULL;

  _wb_polling_params_add (params, WB_TOPIC_TRACKING_UPDATED);
  _wb_polling_params_add_int (params, check->tracking_id);
  g_ptr_array_add (params, payload);
  result = _wb_polling_exec (conn, "INSERT INTO outbox (topic, key, type, payload) VALUES ($1, $2, $1, $3::jsonb)",
                             params, cancellable, error);
  return result != NULL;
}

static gboolean
record_attempt (PGconn        *conn,
                gpointer       data,
                GCancellable  *cancellable,
                GError       **error)
{
  Check *check = data;
  const WbPollingLadder *ladder = &check->work->self->ladder;
  g_auto(Current) current = { 0, };
  g_autoptr(GHashTable) new_ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  Outcome outcome = { 0, };
  gint64 blocked_until = 0;

  check->new_events = 0;
  if (!lock_tracking (conn, check, &current, cancellable, error))
    return FALSE;
  if (!_wb_limiter_report (conn, check->carrier, ladder, check->reply, &blocked_until, cancellable, error))
    return FALSE;
  if (check->stale)
    return TRUE;
  if (check->reply->kind == WB_CARRIER_REPLY_OK && !insert_events (conn, check, new_ids, cancellable, error))
    return FALSE;
  if (check->reply->kind == WB_CARRIER_REPLY_OK || check->reply->kind == WB_CARRIER_REPLY_NOT_FOUND)
    plan_success (ladder, check, &current, &outcome);
  else
    plan_failure (ladder, check, &current, blocked_until, &outcome);
  return update_tracking (conn, check, &outcome, cancellable, error)
         && insert_outbox (conn, check, updated_payload (check, &current, &outcome, new_ids), cancellable, error);
}

/* ---- the batch -------------------------------------------------------------- */

static void
work_release (BatchWork *work)
{
  if (--work->pending > 0)
    return;
  if (work->retry)
    {
      count (work->self, &work->self->counts.retries, 1);
      wb_bus_batch_retry (work->batch, DB_RETRY_MS);
    }
  else
    wb_bus_batch_ack (work->batch);
  wb_bus_batch_unref (work->batch);
  g_object_unref (work->self);
  g_free (work);
}

static void
add_reply (WbWorkerCounts *c,
           const Check    *check)
{
  if (check->stale)
    {
      c->stale++;
      return;
    }
  c->checks++;
  c->new_events += check->new_events;
  switch (check->reply->kind)
    {
    case WB_CARRIER_REPLY_OK: c->ok++; break;
    case WB_CARRIER_REPLY_NOT_FOUND: c->not_found++; break;
    case WB_CARRIER_REPLY_RATE_LIMITED: c->rate_limited++; break;
    case WB_CARRIER_REPLY_FAILED: c->failed++; break;
    default: break;
    }
}

/* A failure with no HTTP status never got an answer; a 200 that failed
 * could not be read. */
static WbCarrierOutcome
outcome_of (const Check *check)
{
  if (check->stale)
    return WB_CARRIER_OUTCOME_STALE;
  switch (check->reply->kind)
    {
    case WB_CARRIER_REPLY_OK: return WB_CARRIER_OUTCOME_OK;
    case WB_CARRIER_REPLY_NOT_FOUND: return WB_CARRIER_OUTCOME_NOT_FOUND;
    case WB_CARRIER_REPLY_RATE_LIMITED: return WB_CARRIER_OUTCOME_THROTTLED;
    default: break;
    }
  if (check->reply->http_status == 0)
    return WB_CARRIER_OUTCOME_TIMEOUT;
  if (check->reply->http_status == 200)
    return WB_CARRIER_OUTCOME_UNREADABLE;
  return WB_CARRIER_OUTCOME_ERROR;
}

static void
count_reply (WbCarrierWorker *self,
             const Check     *check)
{
  WbWorkerCounts *per_carrier;

  wb_carrier_stats_record (self->stats, check->carrier->code, outcome_of (check), check->checked_at);

  g_mutex_lock (&self->mutex);
  add_reply (&self->counts, check);
  per_carrier = g_hash_table_lookup (self->carrier_counts, check->carrier->code);
  if (per_carrier == NULL)
    {
      per_carrier = g_new0 (WbWorkerCounts, 1);
      g_hash_table_insert (self->carrier_counts, g_strdup (check->carrier->code), per_carrier);
    }
  add_reply (per_carrier, check);
  g_mutex_unlock (&self->mutex);
}

static void
on_recorded (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  BatchWork *work = user_data;
  g_autoptr(GError) error = NULL;
  Check *check = _wb_polling_run_finish (result, &error);

  if (check == NULL)
    {
      /* Nothing of it was written: the whole batch comes again, and what
       * was written for the others is then stale or a duplicate. */
      g_message ("Recording a check failed: %s", error->message);
      work->retry = TRUE;
    }
  else
    count_reply (work->self, check);
  work_release (work);
}

static void
on_fetched (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Check *check = user_data;
  BatchWork *work = check->work;
  g_autoptr(GError) error = NULL;

  check->reply = wb_carrier_driver_fetch_finish (WB_CARRIER_DRIVER (source), result, &error);
  if (check->reply == NULL)
    {
      /* Cancelled: the daemon is stopping. The lease frees the tracking. */
      check_free (check);
      work->retry = TRUE;
      work_release (work);
      return;
    }
  if (check->reply->kind == WB_CARRIER_REPLY_FAILED)
    g_message ("Carrier %s, number %s: %s", check->carrier->code, check->track_number, check->reply->error);
  check->checked_at = g_get_real_time ();
  _wb_polling_run_transaction (work->self->pool, work->self, on_fetched, record_attempt, check, check_free,
                               NULL, on_recorded, work);
}

static gboolean fetch_now (gpointer data);

/* Checks waiting on a timerfd at once, at most: after a stall many wait
 * for the same instant and only one goes; the rest need no precision. */
#define MAX_PRECISE_WAITS 16

typedef struct
{
  WbCarrierWorker *self;  /* owned: the count of waits lives there */
  Check           *check;
  int              fd;
} PreciseWait;

static void
precise_wait_free (gpointer data)
{
  PreciseWait *wait = data;

  close (wait->fd);
  wait->self->precise_waits--;
  g_object_unref (wait->self);
  g_free (wait);
}

static gboolean
precise_wait_done (gint         fd,
                   GIOCondition condition,
                   gpointer     data)
{
  PreciseWait *wait = data;

  return fetch_now (wait->check);
}

/* GLib's timeouts wake the loop on whole milliseconds (poll() takes its
 * timeout in ms and rounds up), which at 200 calls a second is a tenth of
 * the emission interval lost on every call. A timerfd wakes it within
 * tens of microseconds; without one, the millisecond timeout. */
static void
wait_until (Check  *check,
            gint64  at)
{
  gint64 delay = at - g_get_real_time ();
  gint64 deadline = g_get_monotonic_time () + MAX (delay, 1);
  struct itimerspec spec = { 0 };
  PreciseWait *wait;
  GSource *source;
  int fd;

  fd = check->work->self->precise_waits < MAX_PRECISE_WAITS
         ? timerfd_create (CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC) : -1;
  spec.it_value.tv_sec = deadline / G_USEC_PER_SEC;
  spec.it_value.tv_nsec = (deadline % G_USEC_PER_SEC) * 1000;
  if (fd < 0 || timerfd_settime (fd, TFD_TIMER_ABSTIME, &spec, NULL) < 0)
    {
      if (fd >= 0)
        close (fd);
      source = g_timeout_source_new (MAX (1, (delay + 999) / 1000));
      g_source_set_callback (source, fetch_now, check, NULL);
    }
  else
    {
      wait = g_new0 (PreciseWait, 1);
      wait->check = check;
      wait->fd = fd;
      wait->self = g_object_ref (check->work->self);
      wait->self->precise_waits++;
      source = g_unix_fd_source_new (fd, G_IO_IN);
      g_source_set_callback (source, G_SOURCE_FUNC (precise_wait_done), wait, precise_wait_free);
    }
  g_source_attach (source, g_main_context_get_thread_default ());
  g_source_unref (source);
}

/* The calls this worker made to one carrier: GCRA's theoretical
 * instant for the next one and, in a ring, the last n (n the calls a
 * second allows). */
typedef struct
{
  guint  n;
  guint  next;
  gint64 tat;
  gint64 at[];
} SentRing;

/* How much longer than a second the window is, in parts of it: the
 * carrier counts arrivals, and a request is written some milliseconds
 * after the call is made when the loop is busy, so arrivals bunch up a
 * little against the calls. It costs as much of the rate. */
#define WINDOW_GUARD 0.015

/* When the next call to this carrier may go out. Keeping every gap at
 * least one emission interval, as made, loses each late wake-up for good
 * (a tenth of the rate at 200/s on a busy loop); instead the calls as
 * made follow GCRA with a tolerance of half an interval — a call up to
 * that late is made up by the next, a longer stall is lost rather than
 * sent in a burst the carrier's own bucket would refuse — and never more
 * than the calls a second allows go out within a second. */
static gint64
next_allowed (SentRing *ring,
              double    rate)
{
  double interval = G_USEC_PER_SEC / rate;
  gint64 window = (gint64) ceil (ring->n * interval * (1 + WINDOW_GUARD));
  gint64 at = ring->tat - (gint64) floor (interval / 2);

  /* at[next] is the n-th call back (0 while fewer were made). */
  if (ring->at[ring->next] > 0)
    at = MAX (at, ring->at[ring->next] + window);
  return at;
}

/* The gap is kept between the calls as made, not as planned, and its
 * wait is the precise one. */
static gboolean
too_soon (Check *check)
{
  WbCarrierWorker *self = check->work->self;
  g_autofree char *key = g_strconcat (check->carrier->code, "\x1fsent", NULL);
  SentRing *ring = g_hash_table_lookup (self->last_call, key);
  gint64 now = g_get_real_time ();
  gint64 at;

  if (ring == NULL)
    {
      guint n = (guint) MAX (1.0, floor (check->carrier->rate));

      ring = g_malloc0 (sizeof (SentRing) + n * sizeof (gint64));
      ring->n = n;
      g_hash_table_insert (self->last_call, g_steal_pointer (&key), ring);
    }
  at = MAX (check->planned_at, next_allowed (ring, check->carrier->rate));
  if (now >= at)
    {
      ring->tat = MAX (ring->tat, now) + (gint64) ceil (G_USEC_PER_SEC / check->carrier->rate);
      ring->at[ring->next] = now;
      ring->next = (ring->next + 1) % ring->n;
      return FALSE;
    }
  wait_until (check, at);
  return TRUE;
}

static gboolean
fetch_now (gpointer data)
{
  Check *check = data;
  WbCarrierWorker *self = check->work->self;

  if (too_soon (check))
    return G_SOURCE_REMOVE;
  wb_carrier_stats_record_wait (self->stats, check->carrier->code, g_get_real_time () - check->received_at);
  wb_carrier_driver_fetch_async (g_hash_table_lookup (self->drivers, check->carrier->code), check->track_number,
                                 self->cancellable, on_fetched, check);
  return G_SOURCE_REMOVE;
}

/* The scheduler spread the permits over its tick: each call waits for its
 * own instant, so the carrier sees the rate, not a burst per tick. The
 * millisecond timer wakes the check a little early; too_soon() then waits
 * the rest precisely. */
static void
start_check (Check *check)
{
  WbCarrierWorker *self = check->work->self;
  gint64 *last = g_hash_table_lookup (self->last_call, check->carrier->code);
  gint64 spacing = (gint64) ceil (G_USEC_PER_SEC / check->carrier->rate);
  gint64 wait;
  GSource *source;

  /* Permits whose instants passed while a batch waited would otherwise go
   * out together: this worker keeps its own calls at least one emission
   * interval apart (the limiter already spreads the permits of all). */
  if (last == NULL)
    {
      last = g_new0 (gint64, 1);
      g_hash_table_insert (self->last_call, g_strdup (check->carrier->code), last);
    }
  check->planned_at = MAX (check->not_before, *last + spacing);
  *last = check->planned_at;
  /* Early by up to 2 ms: a whole-millisecond wake-up never overshoots. */
  wait = (check->planned_at - g_get_real_time ()) / 1000 - 1;

  if (wait <= 0)
    {
      fetch_now (check);
      return;
    }
  source = g_timeout_source_new (wait);
  g_source_set_callback (source, fetch_now, check, NULL);
  g_source_attach (source, g_main_context_get_thread_default ());
  g_source_unref (source);
}

static Check *
decode_request (WbCarrierWorker  *self,
                WbBusMessage     *message,
                GError          **error)
{
  GBytes *payload = wb_bus_message_get_payload (message);
  g_autoptr(WbJsonReader) reader = wb_json_reader_new_from_bytes (payload, NULL, error);
  g_autoptr(Check) check = g_new0 (Check, 1);
  g_autofree char *carrier = NULL;
  gboolean present;

  if (reader == NULL
      || !wb_json_reader_get_int64 (reader, "tracking_id", 1, G_MAXINT64, &present, &check->tracking_id, error)
      || !wb_json_reader_get_string (reader, "carrier", TRUE, &carrier, error)
      || !wb_json_reader_get_string (reader, "track_number", TRUE, &check->track_number, error)
      || !wb_json_reader_get_string (reader, "lease_owner", FALSE, &check->lease_owner, error)
      || !wb_json_reader_get_int64 (reader, "lease_expires_at_us", 0, G_MAXINT64, &present,
                                    &check->lease_expires_at, error)
      || !wb_json_reader_get_int64 (reader, "not_before_us", 0, G_MAXINT64, &present, &check->not_before, error))
    return NULL;
  if (check->tracking_id == 0)
    return wb_json_reader_fail (reader, "tracking_id", error, "is required"), NULL;
  if ((check->carrier = wb_carrier_table_lookup (self->carriers, carrier)) == NULL
      || !g_hash_table_contains (self->drivers, carrier))
    return wb_json_reader_fail (reader, "carrier", error, "“%s” is not a carrier of this worker", carrier), NULL;
  return g_steal_pointer (&check);
}

static void
on_batch (WbBus      *bus,
          WbBusBatch *batch,
          gpointer    user_data)
{
  WbCarrierWorker *self = user_data;
  BatchWork *work = g_new0 (BatchWork, 1);

  work->self = g_object_ref (self);
  work->batch = wb_bus_batch_ref (batch);
  work->pending = 1;   /* held until every check has started */
  for (guint i = 0; i < wb_bus_batch_get_length (batch); i++)
    {
      g_autoptr(GError) error = NULL;
      Check *check = decode_request (self, wb_bus_batch_get_message (batch, i), &error);

      if (check == NULL)
        {
          g_message ("TRACKING_UPDATE skipped: %s", error->message);
          count (self, &self->counts.bad_messages, 1);
          continue;
        }
      check->work = work;
      check->received_at = g_get_real_time ();
      work->pending++;
      start_check (check);
    }
  work_release (work);
}

/* ---- the object ------------------------------------------------------------- */

static void
wb_carrier_worker_dispose (GObject *object)
{
  WbCarrierWorker *self = WB_CARRIER_WORKER (object);

  wb_carrier_worker_stop (self);
  g_clear_pointer (&self->drivers, g_hash_table_unref);
  g_clear_pointer (&self->last_call, g_hash_table_unref);
  g_clear_object (&self->pool);
  g_clear_object (&self->bus);
  g_clear_object (&self->carriers);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->stats);
  G_OBJECT_CLASS (wb_carrier_worker_parent_class)->dispose (object);
}

static void
wb_carrier_worker_finalize (GObject *object)
{
  g_hash_table_unref (WB_CARRIER_WORKER (object)->carrier_counts);
  g_mutex_clear (&WB_CARRIER_WORKER (object)->mutex);
  G_OBJECT_CLASS (wb_carrier_worker_parent_class)->finalize (object);
}

static void
wb_carrier_worker_class_init (WbCarrierWorkerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = wb_carrier_worker_dispose;
  object_class->finalize = wb_carrier_worker_finalize;
}

static void
wb_carrier_worker_init (WbCarrierWorker *self)
{
  g_mutex_init (&self->mutex);
  self->cancellable = g_cancellable_new ();
  self->drivers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->last_call = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->carrier_counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->stats = wb_carrier_stats_new ();
  wb_carrier_stats_set_recording (self->stats, TRUE);
}

/**
 * wb_carrier_worker_new:
 *
 * Builds a driver for every carrier of @carriers; their HTTP runs on the
 * thread-default main context of this call.
 *
 * Returns: (transfer full): the worker, or %NULL with
 *   %WB_POLLING_ERROR_CONFIG naming a carrier whose driver is unknown
 */
WbCarrierWorker *
wb_carrier_worker_new (WbDbPool              *pool,
                       WbBus                 *bus,
                       WbCarrierTable        *carriers,
                       const WbPollingLadder *ladder,
                       WbStatusMap           *map,
                       GError               **error)
{
  g_autoptr(WbCarrierWorker) self = NULL;

  g_return_val_if_fail (WB_IS_DB_POOL (pool), NULL);
  g_return_val_if_fail (WB_IS_BUS (bus), NULL);
  g_return_val_if_fail (WB_IS_CARRIER_TABLE (carriers), NULL);

  self = g_object_new (WB_TYPE_CARRIER_WORKER, NULL);
  self->pool = g_object_ref (pool);
  self->bus = g_object_ref (bus);
  self->carriers = g_object_ref (carriers);
  self->ladder = *ladder;
  for (guint i = 0; i < wb_carrier_table_get_n_carriers (carriers); i++)
    {
      const WbCarrierConfig *carrier = wb_carrier_table_get_nth (carriers, i);
      WbCarrierDriver *driver = wb_carrier_driver_new (carrier, map, error);

      if (driver == NULL)
        return NULL;
      g_hash_table_insert (self->drivers, g_strdup (carrier->code), driver);
    }
  return g_steal_pointer (&self);
}

void
wb_carrier_worker_start (WbCarrierWorker *self)
{
  const char *topics[] = { WB_TOPIC_TRACKING_UPDATE, NULL };

  g_return_if_fail (WB_IS_CARRIER_WORKER (self));

  if (self->subscription != 0)
    return;
  self->subscription = wb_bus_subscribe (self->bus, "carrier-worker", topics, MAX_BATCH, on_batch,
                                         g_object_ref (self), g_object_unref);
  wb_bus_set_prefetch (self->bus, self->subscription, PREFETCH);
}

void
wb_carrier_worker_stop (WbCarrierWorker *self)
{
  g_return_if_fail (WB_IS_CARRIER_WORKER (self));

  if (self->subscription != 0)
    {
      wb_bus_unsubscribe (self->bus, self->subscription);
      self->subscription = 0;
    }
}

void
wb_carrier_worker_get_counts (WbCarrierWorker *self,
                              WbWorkerCounts  *out_counts)
{
  g_return_if_fail (WB_IS_CARRIER_WORKER (self));

  g_mutex_lock (&self->mutex);
  *out_counts = self->counts;
  g_mutex_unlock (&self->mutex);
}

void
wb_carrier_worker_get_carrier_counts (WbCarrierWorker *self,
                                      const char      *carrier,
                                      WbWorkerCounts  *out_counts)
{
  WbWorkerCounts *counts;

  g_return_if_fail (WB_IS_CARRIER_WORKER (self));

  g_mutex_lock (&self->mutex);
  counts = g_hash_table_lookup (self->carrier_counts, carrier);
  *out_counts = counts ? *counts : (WbWorkerCounts) { 0, };
  g_mutex_unlock (&self->mutex);
}

/**
 * wb_carrier_worker_get_stats:
 *
 * Returns: (transfer none): what this worker saw of each carrier
 */
WbCarrierStats *
wb_carrier_worker_get_stats (WbCarrierWorker *self)
{
  g_return_val_if_fail (WB_IS_CARRIER_WORKER (self), NULL);

  return self->stats;
}

/* Records into @stats from now on (a daemon's one, which its API reads). */
void
wb_carrier_worker_set_stats (WbCarrierWorker *self,
                             WbCarrierStats  *stats)
{
  g_return_if_fail (WB_IS_CARRIER_WORKER (self));
  g_return_if_fail (WB_IS_CARRIER_STATS (stats));

  g_set_object (&self->stats, stats);
  wb_carrier_stats_set_recording (stats, TRUE);
}
