// SPDX-License-Identifier: GPL-3.0-or-later
/* Search: any subset of the filters, newest first, keyset pages. The SQL
 * is assembled from fixed fragments only (one per filter present), so that
 * each combination gets a plan fitted to its own indexes; values always
 * travel as parameters.
 *
 * Several statuses are one branch per status, each ordered and limited
 * on its own, merged: "status = ANY (…)" cannot walk the (status,
 * created_at, id) index in page order, so the planner would either sort
 * every match or walk all shipments by creation and filter; one branch
 * per status reads at most a page from each. */

#include "config.h"

#include "wb-json-writer.h"
#include "wb-shipment-store-private.h"

#include <string.h>

#define DEFAULT_LIMIT 50
#define MAX_LIMIT     500

typedef struct
{
  GString   *conditions;          /* " AND …" for each filter but the statuses */
  GPtrArray *params;
} Builder;

static gboolean
set_invalid (GError     **error,
             const char  *field,
             const char  *problem)
{
  return _wb_store_set_field_error (error, WB_SHIPMENT_ERROR_INVALID, field, "%s", problem);
}

/* Appends @fragment, in which "$$" stands for the next parameter (taken),
 * to the conditions. */
static void
add_condition (Builder    *builder,
               const char *fragment,
               char       *value)
{
  g_autofree char *marker = NULL;
  g_auto(GStrv) parts = g_strsplit (fragment, "$$", -1);

  g_string_append (builder->conditions, " AND ");
  if (value != NULL)
    _wb_sql_params_take (builder->params, value);
  marker = g_strdup_printf ("$%u", builder->params->len);
  g_string_append (builder->conditions, parts[0]);
  for (guint i = 1; parts[i] != NULL; i++)
    {
      g_string_append (builder->conditions, marker);
      g_string_append (builder->conditions, parts[i]);
    }
}

static void
add_time_condition (Builder    *builder,
                    const char *fragment,
                    gint64      us)
{
  if (us != 0)
    add_condition (builder, fragment, g_strdup_printf ("%" G_GINT64_FORMAT, us));
}

/* The canonical names, checked, each once, in canonical order (so the
 * same set makes the same statement). */
static GPtrArray *
distinct_statuses (const char * const  *statuses,
                   GError             **error)
{
  gboolean wanted[WB_N_STATUSES] = { FALSE, };
  g_autoptr(GPtrArray) distinct = g_ptr_array_new ();

  for (guint i = 0; statuses != NULL && statuses[i] != NULL; i++)
    {
      WbStatus status = wb_status_from_string (statuses[i]);

      if (status == WB_STATUS_INVALID)
        {
          set_invalid (error, "statuses", "not a canonical status");
          return NULL;
        }
      wanted[status] = TRUE;
    }
  for (int status = 0; status < WB_N_STATUSES; status++)
    if (wanted[status])
      g_ptr_array_add (distinct, (gpointer) wb_status_to_string (status));
  return g_steal_pointer (&distinct);
}

/* base64url without padding, of "created_at_us:id". */
static char *
encode_cursor (gint64      created_at_us,
               const char *id)
{
  g_autofree char *plain = g_strdup_printf ("%" G_GINT64_FORMAT ":%s", created_at_us, id);
  char *encoded = g_base64_encode ((const guchar *) plain, strlen (plain));

  g_strdelimit (encoded, "+", '-');
  g_strdelimit (encoded, "/", '_');
  for (char *pad = strchr (encoded, '='); pad != NULL; pad = NULL)
    *pad = '\0';
  return encoded;
}

static gboolean
is_base64url (const char *text)
{
  if (text[0] == '\0' || strlen (text) > 128)
    return FALSE;
  for (const char *p = text; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_')
      return FALSE;
  return TRUE;
}

static gboolean
decode_cursor (const char  *cursor,
               char       **out_created_at_us,
               char       **out_id)
{
  g_autofree char *padded = NULL;
  g_autofree guchar *decoded = NULL;
  g_autofree char *plain = NULL;
  g_auto(GStrv) parts = NULL;
  gsize length;
  guint64 created_at_us;

  if (!is_base64url (cursor))
    return FALSE;

  padded = g_strnfill (strlen (cursor) + (4 - strlen (cursor) % 4) % 4, '=');
  memcpy (padded, cursor, strlen (cursor));
  g_strdelimit (padded, "-", '+');
  g_strdelimit (padded, "_", '/');
  decoded = g_base64_decode (padded, &length);
  plain = g_strndup ((const char *) decoded, length);
  parts = g_strsplit (plain, ":", 2);

  if (strlen (plain) != length || g_strv_length (parts) != 2 ||
      !g_ascii_string_to_unsigned (parts[0], 10, 0, G_MAXINT64, &created_at_us, NULL) ||
      !_wb_store_id_is_valid (parts[1]))
    return FALSE;

  *out_created_at_us = g_steal_pointer (&parts[0]);
  *out_id = g_steal_pointer (&parts[1]);
  return TRUE;
}

/* The keyset condition: rows strictly after the cursor's in page order,
 * which the (created_at, id) index serves as one range. */
static gboolean
add_cursor (Builder     *builder,
            const char  *cursor,
            GError     **error)
{
  char *created_at_us, *id;

  if (cursor == NULL)
    return TRUE;
  if (!decode_cursor (cursor, &created_at_us, &id))
    return set_invalid (error, "cursor", "malformed");

  _wb_sql_params_take (builder->params, created_at_us);
  _wb_sql_params_take (builder->params, id);
  g_string_append_printf (builder->conditions,
                          " AND (s.created_at, s.id) < (" WB_SQL_FROM_US ("$%u") ", $%u::uuid)",
                          builder->params->len - 1, builder->params->len);
  return TRUE;
}

static gboolean
add_filters (Builder                *builder,
             const WbShipmentQuery  *query,
             GError                **error)
{
  if (query->client_id != NULL)
    add_condition (builder, "s.client_id = $$", g_strdup (query->client_id));
  if (query->phone != NULL)
    add_condition (builder, "s.recipient_phone = $$", g_strdup (query->phone));
  add_time_condition (builder, "s.created_at >= " WB_SQL_FROM_US ("$$"), query->created_from);
  add_time_condition (builder, "s.created_at < " WB_SQL_FROM_US ("$$"), query->created_to);
  add_time_condition (builder, "s.updated_at >= " WB_SQL_FROM_US ("$$"), query->updated_from);
  add_time_condition (builder, "s.updated_at < " WB_SQL_FROM_US ("$$"), query->updated_to);
  /* Written as the partial index's predicate, so the planner can use it. */
  if (query->overdue)
    add_condition (builder,
                   "s.closed_at IS NULL AND s.status NOT IN " WB_SQL_TERMINAL
                   " AND s.promised_at < now()", NULL);
  return add_cursor (builder, query->cursor, error);
}

static guint
page_size (const WbShipmentQuery *query)
{
  return query->limit == 0 ? DEFAULT_LIMIT : query->limit;
}

#define PAGE_ORDER(t) " ORDER BY " t ".created_at DESC, " t ".id DESC"

/* WHERE of one branch: its status (parameter @status_param, 0 for none)
 * and the other filters. "TRUE" stands before them, each of which begins
 * with " AND ". */
static void
append_where (GString    *sql,
              guint       status_param,
              const char *conditions)
{
  if (status_param == 0 && *conditions == '\0')
    return;
  if (status_param != 0)
    g_string_append_printf (sql, " WHERE s.status = $%u%s", status_param, conditions);
  else
    g_string_append_printf (sql, " WHERE TRUE%s", conditions);
}

/* Fetches limit + 1 rows of (id, created_at µs) in page order. */
static void
compose (GString    *sql,
         GPtrArray  *params,
         GPtrArray  *statuses,
         const char *conditions,
         guint       limit)
{
  guint first_status = params->len + 1;
  guint limit_param = first_status + statuses->len;

  for (guint i = 0; i < statuses->len; i++)
    _wb_sql_params_add (params, g_ptr_array_index (statuses, i));
  _wb_sql_params_add_int (params, limit + 1);

  if (statuses->len <= 1)
    {
      g_string_append (sql, "SELECT s.id, " WB_SQL_TO_US ("s.created_at") " FROM shipments s");
      append_where (sql, statuses->len == 1 ? first_status : 0, conditions);
      g_string_append_printf (sql, PAGE_ORDER ("s") " LIMIT $%u", limit_param);
      return;
    }

  g_string_append (sql, "SELECT u.id, " WB_SQL_TO_US ("u.created_at") " FROM (");
  for (guint i = 0; i < statuses->len; i++)
    {
      g_string_append_printf (sql, "%s(SELECT s.id, s.created_at FROM shipments s", i > 0 ? " UNION ALL " : "");
      append_where (sql, first_status + i, conditions);
      g_string_append_printf (sql, PAGE_ORDER ("s") " LIMIT $%u)", limit_param);
    }
  g_string_append_printf (sql, ") u" PAGE_ORDER ("u") " LIMIT $%u", limit_param);
}

gboolean
_wb_store_build_search (const WbShipmentQuery  *query,
                        char                  **out_sql,
                        GPtrArray             **out_params,
                        GError                **error)
{
  g_autoptr(GPtrArray) params = _wb_sql_params_new ();
  g_autoptr(GString) conditions = g_string_new (NULL);
  g_autoptr(GPtrArray) statuses = NULL;
  GString *sql;
  Builder builder = { conditions, params };

  if (page_size (query) > MAX_LIMIT)
    return set_invalid (error, "limit", "at most " G_STRINGIFY (MAX_LIMIT));
  if ((statuses = distinct_statuses ((const char * const *) query->statuses, error)) == NULL ||
      !add_filters (&builder, query, error))
    return FALSE;

  sql = g_string_new (NULL);
  compose (sql, params, statuses, conditions->str, page_size (query));
  *out_sql = g_string_free (sql, FALSE);
  *out_params = g_steal_pointer (&params);
  return TRUE;
}

static char *
page_json (GPtrArray  *views,
           const char *next_cursor)
{
  GString *json = g_string_new ("{\"items\":[");

  for (guint i = 0; i < views->len; i++)
    {
      WbShipmentView *view = g_ptr_array_index (views, i);

      if (i > 0)
        g_string_append_c (json, ',');
      g_string_append (json, view->json);
    }

  g_string_append (json, "],\"nextCursor\":");
  if (next_cursor != NULL)
    wb_json_write_string (json, next_cursor);
  else
    g_string_append (json, "null");
  g_string_append_c (json, '}');
  return g_string_free (json, FALSE);
}

char *
_wb_store_search (PGconn                 *conn,
                  const WbShipmentQuery  *query,
                  GCancellable           *cancellable,
                  GError                **error)
{
  g_autofree char *sql = NULL;
  g_autoptr(GPtrArray) params = NULL;
  g_autoptr(PGresult) page = NULL;
  g_autoptr(GPtrArray) ids = g_ptr_array_new ();
  g_autoptr(GPtrArray) views = NULL;
  g_autofree char *next_cursor = NULL;
  guint limit = page_size (query);

  if (!_wb_store_build_search (query, &sql, &params, error) ||
      (page = _wb_store_exec (conn, sql, params, cancellable, error)) == NULL)
    return NULL;

  for (int row = 0; row < PQntuples (page) && ids->len < limit; row++)
    g_ptr_array_add (ids, PQgetvalue (page, row, 0));

  /* One row more than the page was asked for: there is a next page. */
  if ((guint) PQntuples (page) > limit)
    next_cursor = encode_cursor (_wb_store_get_int (page, limit - 1, 1),
                                 PQgetvalue (page, limit - 1, 0));

  views = _wb_store_fetch_views (conn, (const char * const *) ids->pdata, ids->len,
                                 cancellable, error);
  return views ? page_json (views, next_cursor) : NULL;
}

/* The counts an overview shows: open shipments by status, and those past
 * their promise (the partial index's predicate, as the overdue search). */
char *
_wb_store_summary (PGconn        *conn,
                   GCancellable  *cancellable,
                   GError       **error)
{
  static const char sql[] =
    "SELECT json_build_object("
    " 'byStatus', coalesce((SELECT json_object_agg(status, n ORDER BY status)"
    "   FROM (SELECT status, count(*) AS n FROM shipments WHERE closed_at IS NULL GROUP BY status) c), '{}'::json),"
    " 'open', (SELECT count(*) FROM shipments WHERE closed_at IS NULL),"
    " 'overdue', (SELECT count(*) FROM shipments s WHERE s.closed_at IS NULL AND s.status NOT IN " WB_SQL_TERMINAL
    "   AND s.promised_at < now()),"
    " 'at', " WB_SQL_TIME ("now()") ")::text";
  g_autoptr(PGresult) result = _wb_store_exec (conn, sql, NULL, cancellable, error);

  /* PostgreSQL spaces its JSON out; the API answers compact JSON. */
  return result ? wb_json_compact (PQgetvalue (result, 0, 0)) : NULL;
}
