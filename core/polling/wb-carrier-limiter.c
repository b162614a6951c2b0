// SPDX-License-Identifier: GPL-3.0-or-later
/* Every carrier's limits, kept in PostgreSQL (carrier_limits) so that all
 * schedulers of all daemons share them: GCRA (rate, burst), a
 * quota per UTC day, a block after a 429 and a circuit breaker. The
 * scheduler takes permits in its claim transaction with the row locked, so
 * two schedulers can never hand out the same permit. Rate and burst come
 * from the carriers file on every call: a new configuration needs no
 * migration and takes effect at the next claim. */

#include "config.h"

#include <math.h>
#include <string.h>

#include "wb-polling.h"
#include "wb-polling-private.h"

void
_wb_limiter_grant_clear (WbLimiterGrant *grant)
{
  g_clear_pointer (&grant->send_at, g_free);
  g_clear_pointer (&grant->next_after, g_free);
}

gboolean
_wb_limiter_ensure (PGconn          *conn,
                    WbCarrierTable  *carriers,
                    GCancellable    *cancellable,
                    GError         **error)
{
  for (guint i = 0; i < wb_carrier_table_get_n_carriers (carriers); i++)
    {
      g_autoptr(GPtrArray) params = _wb_polling_params_new ();
      g_autoptr(PGresult) result = NULL;

      _wb_polling_params_add (params, wb_carrier_table_get_nth (carriers, i)->code);
      result = _wb_polling_exec (conn, "INSERT INTO carrier_limits (carrier) VALUES ($1)"
                                       " ON CONFLICT (carrier) DO NOTHING", params, cancellable, error);
      if (result == NULL)
        return FALSE;
    }
  return TRUE;
}

static const char reserve_sql[] =
  "SELECT " WB_POLLING_SQL_TO_US ("next_permit_at") ","
  " CASE WHEN quota_day = (clock_timestamp() AT TIME ZONE 'UTC')::date THEN quota_used ELSE 0 END,"
  " coalesce(blocked_until > clock_timestamp(), false),"
  " breaker_open_until IS NOT NULL, coalesce(breaker_open_until > clock_timestamp(), false),"
  " " WB_POLLING_SQL_TO_US ("clock_timestamp()")
  " FROM carrier_limits WHERE carrier = $1 FOR UPDATE";

static guint
permit_cap (const WbCarrierConfig *carrier,
            const WbLimiterGrant  *grant,
            guint                  want)
{
  guint cap = want;

  if (carrier->daily_quota > 0)
    cap = MIN (cap, (guint) MAX (0, (gint64) carrier->daily_quota - grant->quota_used));
  if (grant->half_open)
    cap = MIN (cap, 1);
  return cap;
}

/* GCRA's virtual scheduling: a permit may be used at max(now, tat − τ),
 * τ = (burst − 1) / rate, and moves tat one emission interval on. Permits
 * are handed out for the look-ahead with their instants, so the calls
 * themselves are spread at the rate rather than sent a tick at a time. */
static void
schedule_permits (const WbCarrierConfig *carrier,
                  gint64                 next_permit_at,
                  guint                  cap,
                  gint64                 lookahead_us,
                  WbLimiterGrant        *grant)
{
  double interval = G_USEC_PER_SEC / carrier->rate;
  double tolerance = (carrier->burst - 1) * interval;
  double tat = MAX ((double) next_permit_at, grant->now - tolerance);

  grant->send_at = g_new0 (gint64, cap + 1);
  grant->next_after = g_new0 (gint64, cap + 1);
  grant->next_after[0] = (gint64) tat;
  while (grant->available < cap)
    {
      double at = MAX ((double) grant->now, tat - tolerance);

      if (at > grant->now + lookahead_us)
        break;
      tat = MAX (tat, at) + interval;
      grant->send_at[grant->available++] = (gint64) ceil (at);
      grant->next_after[grant->available] = (gint64) ceil (tat);
    }
}

gboolean
_wb_limiter_reserve (PGconn                *conn,
                     const WbCarrierConfig *carrier,
                     guint                  want,
                     gint64                 lookahead_us,
                     WbLimiterGrant        *out_grant,
                     GCancellable          *cancellable,
                     GError               **error)
{
  g_autoptr(GPtrArray) params = _wb_polling_params_new ();
  g_autoptr(PGresult) result = NULL;

  _wb_polling_params_add (params, carrier->code);
  if ((result = _wb_polling_exec (conn, reserve_sql, params, cancellable, error)) == NULL)
    return FALSE;
  _wb_limiter_grant_clear (out_grant);
  memset (out_grant, 0, sizeof *out_grant);
  if (PQntuples (result) != 1)
    return TRUE;
  out_grant->quota_used = _wb_polling_get_int (result, 0, 1);
  out_grant->now = _wb_polling_get_int (result, 0, 5);
  out_grant->found = TRUE;
  out_grant->breaker_open = g_str_equal (PQgetvalue (result, 0, 4), "t");
  out_grant->half_open = g_str_equal (PQgetvalue (result, 0, 3), "t") && !out_grant->breaker_open;
  out_grant->blocked = g_str_equal (PQgetvalue (result, 0, 2), "t");
  if (out_grant->blocked || out_grant->breaker_open)
    return TRUE;
  schedule_permits (carrier, _wb_polling_get_int (result, 0, 0), permit_cap (carrier, out_grant, want),
                    lookahead_us, out_grant);
  return TRUE;
}

gboolean
_wb_limiter_consume (PGconn                *conn,
                     const WbCarrierConfig *carrier,
                     const WbPollingLadder *ladder,
                     const WbLimiterGrant  *grant,
                     guint                  used,
                     GCancellable          *cancellable,
                     GError               **error)
{
  g_autoptr(GPtrArray) params = _wb_polling_params_new ();
  g_autoptr(PGresult) result = NULL;

  g_assert (used <= grant->available);
  /* Nothing taken: the row stays as it was. */
  if (used == 0)
    return TRUE;
  _wb_polling_params_add (params, carrier->code);
  _wb_polling_params_add_int (params, grant->next_after[used]);
  _wb_polling_params_add_int (params, grant->now);
  _wb_polling_params_add_int (params, grant->quota_used + used);
  _wb_polling_params_add_int (params, used);
  _wb_polling_params_add (params, grant->half_open ? "true" : "false");
  _wb_polling_params_add_int (params, ladder->breaker_pause);
  result = _wb_polling_exec (conn,
                             "UPDATE carrier_limits SET next_permit_at = " WB_POLLING_SQL_FROM_US ("$2") ","
                             " quota_day = (" WB_POLLING_SQL_FROM_US ("$3") " AT TIME ZONE 'UTC')::date,"
                             " quota_used = $4::integer, permits_total = permits_total + $5::integer,"
                             " breaker_open_until = CASE WHEN $6::boolean"
                             "   THEN " WB_POLLING_SQL_FROM_US ("$3") " + $7::bigint * interval '1 microsecond'"
                             "   ELSE breaker_open_until END"
                             " WHERE carrier = $1",
                             params, cancellable, error);
  return result != NULL;
}

/* When a 429 that did not say lets the carrier be asked again. */
static gint64
block_end (const WbCarrierConfig *carrier,
           const WbPollingLadder *ladder,
           const WbCarrierReply  *reply)
{
  gint64 now = g_get_real_time ();
  g_autoptr(GDateTime) today = NULL;
  g_autoptr(GDateTime) midnight = NULL;

  if (reply->retry_at > 0)
    return reply->retry_at;
  if (carrier->daily_quota == 0)
    return now + ladder->rate_limit_pause;
  /* A quota per UTC day that the carrier says is spent: until it renews. */
  today = g_date_time_new_from_unix_utc (now / G_USEC_PER_SEC);
  midnight = g_date_time_new_utc (g_date_time_get_year (today), g_date_time_get_month (today),
                                  g_date_time_get_day_of_month (today), 0, 0, 0);
  return (g_date_time_to_unix (midnight) + 86400) * G_USEC_PER_SEC;
}

gboolean
_wb_limiter_report (PGconn                *conn,
                    const WbCarrierConfig *carrier,
                    const WbPollingLadder *ladder,
                    const WbCarrierReply  *reply,
                    gint64                *out_blocked_until,
                    GCancellable          *cancellable,
                    GError               **error)
{
  g_autoptr(GPtrArray) params = _wb_polling_params_new ();
  g_autoptr(PGresult) result = NULL;
  const char *sql;

  *out_blocked_until = 0;
  _wb_polling_params_add (params, carrier->code);
  switch (reply->kind)
    {
    case WB_CARRIER_REPLY_RATE_LIMITED:
      *out_blocked_until = block_end (carrier, ladder, reply);
      _wb_polling_params_add_int (params, *out_blocked_until);
      sql = "UPDATE carrier_limits SET"
            " next_permit_at = greatest(next_permit_at, " WB_POLLING_SQL_FROM_US ("$2") "),"
            " blocked_until = greatest(blocked_until, " WB_POLLING_SQL_FROM_US ("$2") ")"
            " WHERE carrier = $1";
      break;
    case WB_CARRIER_REPLY_FAILED:
      _wb_polling_params_add_int (params, ladder->breaker_failures);
      _wb_polling_params_add_int (params, ladder->breaker_pause);
      sql = "UPDATE carrier_limits SET failures = failures + 1,"
            " breaker_open_until = CASE WHEN failures + 1 >= $2::integer"
            "   THEN clock_timestamp() + $3::bigint * interval '1 microsecond' ELSE breaker_open_until END"
            " WHERE carrier = $1";
      break;
    default:
      /* Most answers are fine and the row unchanged: no lock is taken then. */
      sql = "UPDATE carrier_limits SET failures = 0, breaker_open_until = NULL"
            " WHERE carrier = $1 AND (failures > 0 OR breaker_open_until IS NOT NULL)";
      break;
    }
  result = _wb_polling_exec (conn, sql, params, cancellable, error);
  return result != NULL;
}
