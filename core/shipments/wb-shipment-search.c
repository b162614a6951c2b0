// SPDX-License-Identifier: GPL-3.0-or-later
/* Search: any subset of the filters, newest first, keyset pages. The SQL
 * is assembled from fixed fragments only (one per filter present), so that
 * each combination gets a plan fitted to its own indexes; values always
 * travel as parameters. */

#include "config.h"

#include "wb-shipment-store-private.h"

#include <string.h>

#define DEFAULT_LIMIT 50
#define MAX_LIMIT     500

typedef struct
{
  GString   *sql;
  GPtrArray *params;
  gboolean   has_where;
} Builder;

static gboolean
set_invalid (GError     **error,
             const char  *message)
{
  g_set_error_literal (error, WB_SHIPMENT_ERROR, WB_SHIPMENT_ERROR_INVALID, message);
  return FALSE;
}

/* Appends @fragment, in which "$$" stands for the next parameter (taken),
 * to the WHERE clause. */
static void
add_condition (Builder    *builder,
               const char *fragment,
               char       *value)
{
  g_autofree char *marker = NULL;
  g_auto(GStrv) parts = g_strsplit (fragment, "$$", -1);

  g_string_append (builder->sql, builder->has_where ? " AND " : " WHERE ");
  builder->has_where = TRUE;

  if (value != NULL)
    _wb_sql_params_take (builder->params, value);
  marker = g_strdup_printf ("$%u", builder->params->len);
  g_string_append (builder->sql, parts[0]);
  for (guint i = 1; parts[i] != NULL; i++)
    {
      g_string_append (builder->sql, marker);
      g_string_append (builder->sql, parts[i]);
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

/* The canonical names, checked, as a text[] literal. */
static char *
statuses_literal (const char * const  *statuses,
                  GError             **error)
{
  g_autoptr(GString) literal = g_string_new ("{");

  for (guint i = 0; statuses[i] != NULL; i++)
    {
      if (wb_status_from_string (statuses[i]) == WB_STATUS_INVALID)
        {
          set_invalid (error, "statuses: not a canonical status");
          return NULL;
        }
      g_string_append_printf (literal, "%s%s", i > 0 ? "," : "", statuses[i]);
    }
  g_string_append_c (literal, '}');
  return g_string_free (g_steal_pointer (&literal), FALSE);
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
    return set_invalid (error, "cursor: malformed");

  _wb_sql_params_take (builder->params, created_at_us);
  _wb_sql_params_take (builder->params, id);
  g_string_append_printf (builder->sql,
                          "%s(s.created_at, s.id) < (" WB_SQL_FROM_US ("$%u") ", $%u::uuid)",
                          builder->has_where ? " AND " : " WHERE ",
                          builder->params->len - 1, builder->params->len);
  builder->has_where = TRUE;
  return TRUE;
}

static gboolean
add_filters (Builder                *builder,
             const WbShipmentQuery  *query,
             GError                **error)
{
  if (query->statuses != NULL && query->statuses[0] != NULL)
    {
      char *literal = statuses_literal ((const char * const *) query->statuses, error);

      if (literal == NULL)
        return FALSE;
      add_condition (builder, "s.status = ANY ($$::text[])", literal);
    }
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

gboolean
_wb_store_build_search (const WbShipmentQuery  *query,
                        char                  **out_sql,
                        GPtrArray             **out_params,
                        GError                **error)
{
  g_autoptr(GPtrArray) params = _wb_sql_params_new ();
  g_autoptr(GString) sql = g_string_new ("SELECT s.id, " WB_SQL_TO_US ("s.created_at") " FROM shipments s");
  Builder builder = { sql, params, FALSE };

  if (page_size (query) > MAX_LIMIT)
    return set_invalid (error, "limit: at most " G_STRINGIFY (MAX_LIMIT));
  if (!add_filters (&builder, query, error))
    return FALSE;

  _wb_sql_params_add_int (params, page_size (query) + 1);
  g_string_append_printf (sql, " ORDER BY s.created_at DESC, s.id DESC LIMIT $%u", params->len);

  *out_sql = g_string_free (g_steal_pointer (&sql), FALSE);
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

      g_string_append_printf (json, "%s%s", i > 0 ? "," : "", view->json);
    }

  /* A cursor is base64url: nothing in it needs escaping. */
  if (next_cursor != NULL)
    g_string_append_printf (json, "],\"nextCursor\":\"%s\"}", next_cursor);
  else
    g_string_append (json, "],\"nextCursor\":null}");
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
