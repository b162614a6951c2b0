// SPDX-License-Identifier: GPL-3.0-or-later
/* Carrier codes → canonical statuses, read from data/status-maps/<carrier>.tsv.
 *
 * Carriers are inconsistent about case and separators ("Out for delivery",
 * "OUT_FOR_DELIVERY", "out-for-delivery"), so codes are compared folded:
 * ASCII lower case, with each run of spaces, '-' and '_' as one space. Two
 * rows that fold to the same key are a duplicate, caught at load time. */

#include "config.h"

#include <string.h>

#include "wb-domain-private.h"
#include "wb-status-map.h"

#define STATUS_MAPS_FOLDER "status-maps/"
#define STATUS_MAP_SUFFIX ".tsv"

typedef struct
{
  char     *code;          /* as written in the file */
  WbStatus  status;
  char     *reason;        /* NULL when the row gives none */
  char     *description;
  guint     line;
} Row;

typedef struct
{
  char       *carrier;
  GHashTable *rows;        /* folded code → Row, owned */
} Table;

struct _WbStatusMap
{
  GHashTable *tables;      /* carrier → Table, owned */
};

G_DEFINE_QUARK (wb-status-map-error-quark, wb_status_map_error)
G_DEFINE_BOXED_TYPE (WbStatusMap, wb_status_map, wb_status_map_ref, wb_status_map_unref)

static const char * const columns[] = { "code", "status", "reason", "description", NULL };

static void
row_free (gpointer data)
{
  Row *row = data;

  g_free (row->code);
  g_free (row->reason);
  g_free (row->description);
  g_free (row);
}

static void
table_free (gpointer data)
{
  Table *table = data;

  g_free (table->carrier);
  g_hash_table_unref (table->rows);
  g_free (table);
}

static char *
fold_code (const char *code)
{
  GString *folded = g_string_new (NULL);
  gboolean pending_space = FALSE;

  for (const char *p = code; *p; p++)
    {
      if (*p == ' ' || *p == '\t' || *p == '-' || *p == '_')
        {
          pending_space = folded->len > 0;
          continue;
        }
      if (pending_space)
        g_string_append_c (folded, ' ');
      pending_space = FALSE;
      g_string_append_c (folded, g_ascii_tolower (*p));
    }
  return g_string_free (folded, FALSE);
}

static char *
add_row (char     **fields,
         guint      line,
         gpointer   user_data)
{
  Table *table = user_data;
  g_autofree char *key = fold_code (fields[0]);
  Row *existing, *row;
  WbStatus status;

  if (*key == '\0')
    return g_strdup ("the code is empty");
  if ((status = wb_status_from_string (fields[1])) == WB_STATUS_INVALID)
    return g_strdup_printf ("“%s” is not a canonical status (e.g. IN_TRANSIT)", fields[1]);
  if (*fields[2] != '\0' && !wb_status_reason_is_known (fields[2]))
    return g_strdup_printf ("“%s” is not a known reason code", fields[2]);
  if ((existing = g_hash_table_lookup (table->rows, key)) != NULL)
    return g_strdup_printf ("code “%s” is already mapped on line %u (“%s”)", fields[0],
                            existing->line, existing->code);

  row = g_new0 (Row, 1);
  row->code = g_strdup (fields[0]);
  row->status = status;
  row->reason = *fields[2] != '\0' ? g_strdup (fields[2]) : NULL;
  row->description = g_strdup (fields[3]);
  row->line = line;
  g_hash_table_insert (table->rows, g_steal_pointer (&key), row);
  return NULL;
}

static gboolean
carrier_name_is_valid (const char *carrier)
{
  if (carrier == NULL || *carrier == '\0')
    return FALSE;
  for (const char *p = carrier; *p; p++)
    if (!g_ascii_islower (*p) && !g_ascii_isdigit (*p) && *p != '-' && *p != '_')
      return FALSE;
  return TRUE;
}

static Table *
parse_table (const char  *carrier,
             const char  *source,
             const char  *text,
             gsize        length,
             GError     **error)
{
  Table *table;

  if (!carrier_name_is_valid (carrier))
    {
      g_set_error (error, WB_STATUS_MAP_ERROR, WB_STATUS_MAP_ERROR_PARSE,
                   "“%s” is not a carrier name (lower-case letters, digits, '-' and '_')", carrier);
      return NULL;
    }
  table = g_new0 (Table, 1);
  table->carrier = g_strdup (carrier);
  table->rows = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, row_free);
  if (!_wb_tsv_parse (text, length, source, columns, add_row, table,
                      WB_STATUS_MAP_ERROR, WB_STATUS_MAP_ERROR_PARSE, error))
    {
      table_free (table);
      return NULL;
    }
  return table;
}

static WbStatusMap *
status_map_new (void)
{
  WbStatusMap *map = g_atomic_rc_box_new0 (WbStatusMap);

  map->tables = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, table_free);
  return map;
}

static void
status_map_add (WbStatusMap *map,
                Table       *table)
{
  g_hash_table_insert (map->tables, table->carrier, table);
}

/**
 * wb_status_map_load_from_data:
 * @carrier: the carrier's name, e.g. "dhl" (lower case)
 * @tsv_text: a table in the format of data/status-maps/
 *
 * Returns: (transfer full) (nullable): a map holding that one carrier, or
 *   %NULL with a %WB_STATUS_MAP_ERROR_PARSE naming the line at fault
 */
WbStatusMap *
wb_status_map_load_from_data (const char  *carrier,
                              const char  *tsv_text,
                              GError     **error)
{
  g_autoptr(WbStatusMap) map = NULL;
  g_autofree char *source = NULL;
  Table *table;

  g_return_val_if_fail (carrier != NULL, NULL);
  g_return_val_if_fail (tsv_text != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  source = g_strdup_printf ("status map “%s”", carrier);
  if ((table = parse_table (carrier, source, tsv_text, strlen (tsv_text), error)) == NULL)
    return NULL;
  map = status_map_new ();
  status_map_add (map, table);
  return g_steal_pointer (&map);
}

static Table *
load_compiled_table (const char  *file_name,
                     GError     **error)
{
  g_autofree char *path = g_strconcat (STATUS_MAPS_FOLDER, file_name, NULL);
  g_autofree char *carrier = g_strndup (file_name, strlen (file_name) - strlen (STATUS_MAP_SUFFIX));
  g_autoptr(GBytes) data = _wb_domain_data_lookup (path, error);
  gsize length;
  const char *text;

  if (data == NULL)
    return NULL;
  text = g_bytes_get_data (data, &length);
  return parse_table (carrier, file_name, text ? text : "", length, error);
}

/**
 * wb_status_map_load_default:
 *
 * Loads every carrier table compiled in from data/status-maps/.
 *
 * Returns: (transfer full) (nullable): the map, or %NULL if a table is
 *   malformed (which the test suite rules out for the shipped tables)
 */
WbStatusMap *
wb_status_map_load_default (GError **error)
{
  g_autoptr(WbStatusMap) map = status_map_new ();
  g_auto(GStrv) names = NULL;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if ((names = _wb_domain_data_list (STATUS_MAPS_FOLDER, error)) == NULL)
    return NULL;
  for (guint i = 0; names[i] != NULL; i++)
    {
      Table *table;

      if (!g_str_has_suffix (names[i], STATUS_MAP_SUFFIX))
        continue;
      if ((table = load_compiled_table (names[i], error)) == NULL)
        return NULL;
      status_map_add (map, table);
    }
  return g_steal_pointer (&map);
}

static Table *
find_table (WbStatusMap  *map,
            const char   *carrier,
            GError      **error)
{
  g_autofree char *lower = g_ascii_strdown (carrier, -1);
  Table *table = g_hash_table_lookup (map->tables, lower);

  if (table == NULL)
    g_set_error (error, WB_STATUS_MAP_ERROR, WB_STATUS_MAP_ERROR_UNKNOWN_CARRIER,
                 "No status map for carrier “%s”", carrier);
  return table;
}

static Row *
find_row (WbStatusMap  *map,
          const char   *carrier,
          const char   *code,
          GError      **error)
{
  g_autofree char *key = NULL;
  Table *table;
  Row *row;

  if ((table = find_table (map, carrier, error)) == NULL)
    return NULL;
  key = fold_code (code);
  if ((row = g_hash_table_lookup (table->rows, key)) == NULL)
    g_set_error (error, WB_STATUS_MAP_ERROR, WB_STATUS_MAP_ERROR_UNKNOWN_CODE,
                 "Carrier “%s” has no status code “%s”", table->carrier, code);
  return row;
}

/**
 * wb_status_map_lookup:
 * @out_status: (out) (optional): the canonical status
 * @out_reason: (out) (optional) (transfer none) (nullable): the reason code,
 *   %NULL when the row gives none; valid as long as @map
 *
 * Returns: %FALSE with %WB_STATUS_MAP_ERROR_UNKNOWN_CARRIER or
 *   %WB_STATUS_MAP_ERROR_UNKNOWN_CODE when there is no such mapping
 */
gboolean
wb_status_map_lookup (WbStatusMap  *map,
                      const char   *carrier,
                      const char   *code,
                      WbStatus     *out_status,
                      const char  **out_reason,
                      GError      **error)
{
  Row *row;

  g_return_val_if_fail (map != NULL, FALSE);
  g_return_val_if_fail (carrier != NULL, FALSE);
  g_return_val_if_fail (code != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if ((row = find_row (map, carrier, code, error)) == NULL)
    return FALSE;
  if (out_status)
    *out_status = row->status;
  if (out_reason)
    *out_reason = row->reason;
  return TRUE;
}

/**
 * wb_status_map_describe:
 *
 * Returns: (nullable) (transfer none): the row's description, for a
 *   human-readable statusRaw; %NULL when there is no such code
 */
const char *
wb_status_map_describe (WbStatusMap *map,
                        const char  *carrier,
                        const char  *code)
{
  Row *row;

  g_return_val_if_fail (map != NULL, NULL);
  g_return_val_if_fail (carrier != NULL && code != NULL, NULL);

  row = find_row (map, carrier, code, NULL);
  return row && *row->description ? row->description : NULL;
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return g_strcmp0 (*(char * const *) a, *(char * const *) b);
}

static GStrv
sorted_strv (GPtrArray *strings)
{
  g_ptr_array_sort (strings, compare_strings);
  g_ptr_array_add (strings, NULL);
  return (GStrv) g_ptr_array_free (strings, FALSE);
}

/**
 * wb_status_map_list_carriers:
 *
 * Returns: (transfer full): the carriers' names, sorted
 */
GStrv
wb_status_map_list_carriers (WbStatusMap *map)
{
  GPtrArray *names;
  GHashTableIter iter;
  gpointer key;

  g_return_val_if_fail (map != NULL, NULL);

  names = g_ptr_array_new ();
  g_hash_table_iter_init (&iter, map->tables);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (names, g_strdup (key));
  return sorted_strv (names);
}

/**
 * wb_status_map_list_codes:
 *
 * Returns: (transfer full) (nullable): the carrier's codes as written in its
 *   table, sorted; %NULL for an unknown carrier
 */
GStrv
wb_status_map_list_codes (WbStatusMap *map,
                          const char  *carrier)
{
  GPtrArray *codes;
  GHashTableIter iter;
  gpointer value;
  Table *table;

  g_return_val_if_fail (map != NULL, NULL);
  g_return_val_if_fail (carrier != NULL, NULL);

  if ((table = find_table (map, carrier, NULL)) == NULL)
    return NULL;
  codes = g_ptr_array_new ();
  g_hash_table_iter_init (&iter, table->rows);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (codes, g_strdup (((Row *) value)->code));
  return sorted_strv (codes);
}

WbStatusMap *
wb_status_map_ref (WbStatusMap *map)
{
  g_return_val_if_fail (map != NULL, NULL);
  return g_atomic_rc_box_acquire (map);
}

static void
status_map_clear (gpointer data)
{
  WbStatusMap *map = data;

  g_hash_table_unref (map->tables);
}

void
wb_status_map_unref (WbStatusMap *map)
{
  g_return_if_fail (map != NULL);
  g_atomic_rc_box_release_full (map, status_map_clear);
}
