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

#include "wb-carrier-driver.h"
#include "wb-carrier-table.h"
#include "wb-polling-ladder.h"

G_BEGIN_DECLS

/* A carrier's limiter as read, locked, inside the claim transaction: the
 * permits it can give, each with the instant it may be used. */
typedef struct
{
  gint64   now;           /* the database's clock, µs */
  gint64   quota_used;    /* today (UTC) */
  gboolean found;         /* the carrier has its row */
  gboolean half_open;     /* the breaker's pause is over: one probe */
  gboolean breaker_open;  /* within the breaker's pause: no permits */
  gboolean blocked;       /* a 429's block holds: no permits */
  guint    available;     /* permits that may be used within the look-ahead */
  gint64  *send_at;       /* [available]: when each may be used, µs */
  gint64  *next_after;    /* [available + 1]: next_permit_at once that many are taken */
} WbLimiterGrant;

void     _wb_limiter_grant_clear   (WbLimiterGrant        *grant);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (WbLimiterGrant, _wb_limiter_grant_clear)
/* Creates the carriers' rows (a full bucket) if missing. */
gboolean _wb_limiter_ensure        (PGconn                *conn,
                                    WbCarrierTable        *carriers,
                                    GCancellable          *cancellable,
                                    GError               **error);
/* Locks the carrier's row (FOR UPDATE) and says how many permits, at most
 * @want, it can give for use within @lookahead_us: the rate and burst
 * (GCRA), the quota, a 429 block and the breaker. */
gboolean _wb_limiter_reserve       (PGconn                *conn,
                                    const WbCarrierConfig *carrier,
                                    guint                  want,
                                    gint64                 lookahead_us,
                                    WbLimiterGrant        *out_grant,
                                    GCancellable          *cancellable,
                                    GError               **error);
/* Takes @used of the reserved permits, in the same transaction. */
gboolean _wb_limiter_consume       (PGconn                *conn,
                                    const WbCarrierConfig *carrier,
                                    const WbPollingLadder *ladder,
                                    const WbLimiterGrant  *grant,
                                    guint                  used,
                                    GCancellable          *cancellable,
                                    GError               **error);
/* What a request's outcome tells the carrier's limiter and breaker: a 429
 * blocks every worker until @reply's retry_at (or the next UTC midnight
 * on a daily quota, or rate-limit-pause); failures open the breaker. */
gboolean _wb_limiter_report        (PGconn                *conn,
                                    const WbCarrierConfig *carrier,
                                    const WbPollingLadder *ladder,
                                    const WbCarrierReply  *reply,
                                    gint64                *out_blocked_until,
                                    GCancellable          *cancellable,
                                    GError               **error);

G_END_DECLS
