// SPDX-License-Identifier: GPL-3.0-or-later
/* Carrier checks (tracking.updated): each records its outcome on its
 * tracking — when it ran, when the next one is due, the last error and how
 * many checks in a row failed — which the polling scheduler plans from.
 *
 * A check counts only when newer than the tracking's last one, so a
 * redelivered or reordered message changes nothing (it answers DUPLICATE)
 * and an error is never counted twice. The statement is set-based; a batch
 * naming one tracking several times runs it in rounds (the k-th check of
 * every tracking in round k), because one UPDATE changes a row once. */

#include "config.h"

#include <json-glib/json-glib.h>

#include "wb-json-writer.h"
#include "wb-shipment-store-private.h"

static const char record_sql[] =
  "UPDATE trackings t SET last_checked_at = " WB_SQL_FROM_US ("c.checked_at") ","
  "  next_check_at = " WB_SQL_FROM_US ("c.next_check_at") ","
  "  last_error = c.error,"
  "  consecutive_errors = CASE WHEN c.error IS NULL THEN 0 ELSE t.consecutive_errors + 1 END"
  " FROM json_to_recordset($1::json) AS c(i integer, tracking_id bigint, carrier text,"
  "  track_number text, checked_at bigint, next_check_at bigint, error text)"
  " WHERE t.id = c.tracking_id AND t.carrier = c.carrier AND t.track_number = c.track_number"
  "   AND (t.last_checked_at IS NULL OR t.last_checked_at < " WB_SQL_FROM_US ("c.checked_at") ")"
  " RETURNING c.i, t.shipment_id";

/* Which checks name a tracking that exists, and its shipment. */
static const char find_sql[] =
  "SELECT c.i, t.shipment_id"
  " FROM json_to_recordset($1::json) AS c(i integer, tracking_id bigint, carrier text,"
  "  track_number text, checked_at bigint, next_check_at bigint, error text)"
  " JOIN trackings t ON t.id = c.tracking_id AND t.carrier = c.carrier AND t.track_number = c.track_number";

static void
add_row (JsonBuilder           *rows,
         guint                  index,
         const WbTrackingCheck *check)
{
  json_builder_begin_object (rows);
  json_builder_set_member_name (rows, "i");
  json_builder_add_int_value (rows, index);
  json_builder_set_member_name (rows, "tracking_id");
  json_builder_add_int_value (rows, check->tracking_id);
  json_builder_set_member_name (rows, "carrier");
  json_builder_add_string_value (rows, check->carrier);
  json_builder_set_member_name (rows, "track_number");
  json_builder_add_string_value (rows, check->track_number);
  json_builder_set_member_name (rows, "checked_at");
  json_builder_add_int_value (rows, check->checked_at);
  json_builder_set_member_name (rows, "next_check_at");
  if (check->next_check_at != 0)
    json_builder_add_int_value (rows, check->next_check_at);
  else
    json_builder_add_null_value (rows);
  json_builder_set_member_name (rows, "error");
  if (check->error != NULL)
    json_builder_add_string_value (rows, check->error);
  else
    json_builder_add_null_value (rows);
  json_builder_end_object (rows);
}

/* Runs @sql over the checks whose round is @round (G_MAXUINT: all of
 * them); NULL with *out_any FALSE when there are none. */
static PGresult *
run_round (PGconn        *conn,
           const char    *sql,
           GPtrArray     *checks,
           const guint   *rounds,
           guint          round,
           gboolean      *out_any,
           GCancellable  *cancellable,
           GError       **error)
{
  g_autoptr(JsonBuilder) rows = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GPtrArray) params = _wb_sql_params_new ();

  *out_any = FALSE;
  json_builder_begin_array (rows);
  for (guint i = 0; i < checks->len; i++)
    if (round == G_MAXUINT || rounds[i] == round)
      {
        add_row (rows, i, g_ptr_array_index (checks, i));
        *out_any = TRUE;
      }
  json_builder_end_array (rows);
  if (!*out_any)
    return NULL;

  root = json_builder_get_root (rows);
  _wb_sql_params_take (params, wb_json_to_string (root));
  return _wb_store_exec (conn, sql, params, cancellable, error);
}

/* The k-th check of a tracking in this call goes in round k. */
static guint *
plan_rounds (GPtrArray *checks)
{
  g_autoptr(GHashTable) seen = g_hash_table_new (g_int64_hash, g_int64_equal);
  guint *rounds = g_new0 (guint, checks->len);

  for (guint i = 0; i < checks->len; i++)
    {
      WbTrackingCheck *check = g_ptr_array_index (checks, i);
      gpointer count = g_hash_table_lookup (seen, &check->tracking_id);

      rounds[i] = GPOINTER_TO_UINT (count);
      g_hash_table_insert (seen, &check->tracking_id, GUINT_TO_POINTER (rounds[i] + 1));
    }
  return rounds;
}

static void
settle (GArray      *results,
        PGresult    *result,
        WbEventOutcome outcome)
{
  for (int row = 0; row < PQntuples (result); row++)
    {
      WbEventResult *item = &g_array_index (results, WbEventResult, _wb_store_get_int (result, row, 0));

      item->outcome = outcome;
      g_free (item->shipment_id);
      item->shipment_id = g_strdup (PQgetvalue (result, row, 1));
    }
}

/* Before the rounds every check is "not found"; those whose tracking
 * exists become "not newer" (DUPLICATE), then the recorded ones CREATED. */
static void
fail_unknown (GArray    *results,
              GPtrArray *checks)
{
  for (guint i = 0; i < checks->len; i++)
    {
      WbTrackingCheck *check = g_ptr_array_index (checks, i);
      WbEventResult *item = &g_array_index (results, WbEventResult, i);

      if (item->outcome != WB_EVENT_FAILED)
        continue;
      _wb_store_set_field_error (&item->error, WB_SHIPMENT_ERROR_NOT_FOUND, "tracking_id",
                                 "no tracking %" G_GINT64_FORMAT " for %s %s",
                                 check->tracking_id, check->carrier, check->track_number);
    }
}

GArray *
_wb_store_record_checks (PGconn        *conn,
                         GPtrArray     *checks,
                         GCancellable  *cancellable,
                         GError       **error)
{
  g_autoptr(GArray) results = g_array_sized_new (FALSE, TRUE, sizeof (WbEventResult), checks->len);
  g_autofree guint *rounds = plan_rounds (checks);
  g_autoptr(PGresult) found = NULL;
  gboolean any = FALSE;

  g_array_set_clear_func (results, (GDestroyNotify) wb_event_result_clear);
  g_array_set_size (results, checks->len);
  for (guint i = 0; i < checks->len; i++)
    g_array_index (results, WbEventResult, i).outcome = WB_EVENT_FAILED;
  if (checks->len == 0)
    return g_steal_pointer (&results);

  found = run_round (conn, find_sql, checks, rounds, G_MAXUINT, &any, cancellable, error);
  if (found == NULL)
    return NULL;
  settle (results, found, WB_EVENT_DUPLICATE);
  fail_unknown (results, checks);
  for (guint round = 0; ; round++)
    {
      g_autoptr(PGresult) recorded = NULL;
      g_autoptr(GError) local_error = NULL;

      recorded = run_round (conn, record_sql, checks, rounds, round, &any, cancellable, &local_error);
      if (!any)
        break;
      if (recorded == NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return NULL;
        }
      settle (results, recorded, WB_EVENT_CREATED);
    }
  return g_steal_pointer (&results);
}
