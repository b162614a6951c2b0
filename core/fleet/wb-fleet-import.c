// SPDX-License-Identifier: GPL-3.0-or-later
/* Bulk import bodies: NDJSON or CSV, read one row at a time.
 *
 * Each row becomes the JSON object a PUT body would be (plus its id) and
 * goes through the kind's own reading (wb_fleet_update_from_rest() for the
 * fleet's kinds; a WbImportRowType brings another resource's), so an import
 * and a PUT cannot disagree on what is valid. An NDJSON line goes through
 * the guarded check on its own (size, depth, strict syntax), then the
 * checked lines are parsed together; a CSV record becomes an object of its
 * non-empty cells, numbers and booleans for the columns the row type names
 * when they read as one (otherwise the reader refuses them by name). A bad
 * row is set aside with its row and field; the others go on. */

#include "config.h"

#include <math.h>
#include <string.h>

#include "wb-fleet-import.h"
#include "wb-json-writer.h"

static const char stale_code[] = "stale_version";

typedef struct
{
  WbFleetImport *import;
  GHashTable    *seen;       /* id → first row (GUINT_TO_POINTER) */
  guint          max_rows;
} Reader;

static void
error_clear (gpointer data)
{
  WbFleetImportError *e = data;

  g_free (e->id);
  g_free (e->field);
  g_free (e->message);
}

void
wb_fleet_import_free (WbFleetImport *import)
{
  if (import == NULL)
    return;
  g_ptr_array_unref (import->updates);
  g_array_unref (import->rows);
  g_array_unref (import->errors);
  g_free (import);
}

static WbFleetImport *
import_new (const WbImportRowType *type)
{
  WbFleetImport *import = g_new0 (WbFleetImport, 1);

  import->type = type;
  import->kind = type->kind;
  import->updates = g_ptr_array_new_with_free_func (type->free);
  import->rows = g_array_new (FALSE, FALSE, sizeof (guint));
  import->errors = g_array_new (FALSE, TRUE, sizeof (WbFleetImportError));
  g_array_set_clear_func (import->errors, error_clear);
  return import;
}

static void
add_error (WbFleetImport *import,
           guint          row,
           const char    *id,
           const char    *field,
           const char    *code,
           const char    *message)
{
  WbFleetImportError e = { row, g_strdup (id), g_strdup (field), code, g_strdup (message) };

  g_array_append_val (import->errors, e);
}

static gint
compare_rows (gconstpointer a,
              gconstpointer b)
{
  guint ra = ((const WbFleetImportError *) a)->row, rb = ((const WbFleetImportError *) b)->row;

  return ra < rb ? -1 : ra > rb;
}

/* The id, if the row has a readable one, to help find the row. */
static const char *
peek_id (WbJsonReader          *object,
         const WbImportRowType *type)
{
  const char *id = NULL;

  if (!wb_json_reader_peek_string (object, type->id_member, FALSE, 0, &id, NULL))
    return NULL;
  return wb_fleet_id_is_valid (id) ? id : NULL;
}

static void
take_object (Reader       *reader,
             guint         row,
             WbJsonReader *object)
{
  WbFleetImport *import = reader->import;
  const WbImportRowType *type = import->type;
  g_autoptr(GError) error = NULL;
  gpointer read = type->read (type, object, &error);
  const char *id;
  gpointer first;

  if (read == NULL)
    {
      add_error (import, row, peek_id (object, type), wb_json_error_get_field (error), "invalid_field",
                 error->message);
      return;
    }
  id = type->get_id (read);
  /* One row per entity: which of two would win is not for the order of a
   * file to decide. */
  if (g_hash_table_lookup_extended (reader->seen, id, NULL, &first))
    {
      g_autofree char *message = g_strdup_printf ("%s: repeats row %u", type->id_member, GPOINTER_TO_UINT (first));

      add_error (import, row, id, type->id_member, "duplicate_id", message);
      type->free (read);
      return;
    }
  g_hash_table_insert (reader->seen, g_strdup (id), GUINT_TO_POINTER (row));
  g_array_append_val (import->rows, row);
  g_ptr_array_add (import->updates, read);
}

static gboolean
count_row (Reader  *reader,
           GError **error)
{
  if (++reader->import->received <= reader->max_rows)
    return TRUE;
  g_set_error (error, WB_FLEET_ERROR, WB_FLEET_ERROR_TOO_MANY,
               "body: more than %u rows; send them in several requests", reader->max_rows);
  return FALSE;
}

static gboolean
is_blank (const char *text,
          gsize       length)
{
  for (gsize i = 0; i < length; i++)
    if (!g_ascii_isspace (text[i]))
      return FALSE;
  return TRUE;
}

/* ---- NDJSON ------------------------------------------------------------------- */

/* Every non-blank line is a row: a body of too many is refused before
 * any is parsed. */
static gboolean
check_ndjson_rows (Reader      *reader,
                   const char  *text,
                   gsize        length,
                   GError     **error)
{
  guint rows = 0;

  for (gsize start = 0; start < length; )
    {
      const char *end = memchr (text + start, '\n', length - start);
      gsize line_length = end ? (gsize) (end - text) - start : length - start;

      rows += !is_blank (text + start, line_length);
      if (rows > reader->max_rows)
        {
          g_set_error (error, WB_FLEET_ERROR, WB_FLEET_ERROR_TOO_MANY,
                       "body: more than %u rows; send them in several requests", reader->max_rows);
          return FALSE;
        }
      start += line_length + 1;
    }
  return TRUE;
}

/* A line that passed the guarded check, waiting to be parsed. */
typedef struct
{
  guint       line;
  const char *text;
  gsize       length;
} Line;

/* The checked lines parsed together, as the elements of one array: a
 * JsonParser per line costs more than the row itself (json-glib sets up
 * a scanner for every document). Each line has passed the guarded check
 * on its own, so the array is strict JSON at most one level deeper. %NULL
 * when json-glib refuses the array (only what it holds stricter than RFC
 * 8259 can make it: an integer beyond 64 bits); the lines are then parsed
 * one by one, so that the refusal lands on its row. */
static JsonNode *
parse_lines (GArray *lines)
{
  g_autoptr(GString) joined = NULL;
  g_autoptr(JsonParser) parser = NULL;
  gsize size = 2;

  if (lines->len == 0)
    return NULL;
  for (guint i = 0; i < lines->len; i++)
    size += g_array_index (lines, Line, i).length + 1;
  joined = g_string_sized_new (size);
  g_string_append_c (joined, '[');
  for (guint i = 0; i < lines->len; i++)
    {
      const Line *line = &g_array_index (lines, Line, i);

      if (i > 0)
        g_string_append_c (joined, ',');
      g_string_append_len (joined, line->text, (gssize) line->length);
    }
  g_string_append_c (joined, ']');
  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, joined->str, (gssize) joined->len, NULL))
    return NULL;
  return json_parser_steal_root (parser);
}

static void
take_line (Reader             *reader,
           const Line         *line,
           JsonNode           *parsed,
           const WbJsonLimits *limits)
{
  g_autoptr(GError) row_error = NULL;
  g_autoptr(JsonNode) alone = NULL;
  g_autoptr(WbJsonReader) object = NULL;

  if (parsed == NULL)
    parsed = alone = wb_json_parse (line->text, line->length, limits, &row_error);
  if (parsed != NULL)
    object = wb_json_reader_new_for_node (parsed, "", &row_error);
  if (object != NULL)
    take_object (reader, line->line, object);
  else
    add_error (reader->import, line->line, NULL, NULL, "invalid_json", row_error->message);
}

static gboolean
read_ndjson (Reader      *reader,
             const char  *text,
             gsize        length,
             GError     **error)
{
  const WbJsonLimits limits = { WB_FLEET_IMPORT_MAX_ROW_SIZE, WB_JSON_DEFAULT_MAX_DEPTH };
  g_autoptr(GArray) lines = g_array_new (FALSE, FALSE, sizeof (Line));
  g_autoptr(JsonNode) parsed = NULL;
  guint number = 0;

  if (!check_ndjson_rows (reader, text, length, error))
    return FALSE;

  for (gsize start = 0; start < length; )
    {
      const char *end = memchr (text + start, '\n', length - start);
      gsize line_length = end ? (gsize) (end - text) - start : length - start;
      g_autoptr(GError) row_error = NULL;
      Line line = { ++number, text + start, line_length };

      if (!is_blank (text + start, line_length))
        {
          if (!count_row (reader, error))
            return FALSE;
          if (wb_json_check (line.text, line.length, &limits, &row_error))
            g_array_append_val (lines, line);
          else
            add_error (reader->import, line.line, NULL, NULL, "invalid_json", row_error->message);
        }
      start += line_length + 1;
    }
  parsed = parse_lines (lines);
  for (guint i = 0; i < lines->len; i++)
    take_line (reader, &g_array_index (lines, Line, i),
               parsed ? json_array_get_element (json_node_get_array (parsed), i) : NULL, &limits);
  return TRUE;
}

/* ---- CSV ------------------------------------------------------------------------ */

typedef struct
{
  const char *text;
  gsize       length;
  gsize       at;
  guint       line;       /* of the next byte */
} Csv;

/* Refuses the record and moves past the rest of its line, so that nothing
 * of a refused record is read as a record of its own. */
static gboolean
refuse_record (Csv         *csv,
               const char **problem,
               const char  *why)
{
  while (csv->at < csv->length && csv->text[csv->at] != '\n')
    csv->at++;
  if (csv->at < csv->length)
    {
      csv->at++;
      csv->line++;
    }
  *problem = why;
  return FALSE;
}

/* One record's cells (RFC 4180: quoted cells may hold commas, doubled
 * quotes and line breaks). Returns FALSE with @problem set for a record
 * that is not CSV; the reader then stands at the next line. */
static gboolean
csv_record (Csv         *csv,
            GPtrArray   *cells,
            const char **problem)
{
  g_autoptr(GString) cell = g_string_new (NULL);
  gsize started = csv->at;

  for (;;)
    {
      gboolean quoted = csv->at < csv->length && csv->text[csv->at] == '"';
      char c = 0;

      g_string_truncate (cell, 0);
      if (quoted)
        {
          for (csv->at++; ; csv->at++)
            {
              if (csv->at >= csv->length)
                return refuse_record (csv, problem, "a quoted cell is not closed");
              c = csv->text[csv->at];
              if (c == '"' && csv->at + 1 < csv->length && csv->text[csv->at + 1] == '"')
                csv->at++;
              else if (c == '"')
                break;
              else if (c == '\n')
                csv->line++;
              g_string_append_c (cell, c);
            }
          csv->at++;
        }
      while (csv->at < csv->length && (c = csv->text[csv->at]) != ',' && c != '\n')
        {
          if ((quoted && c != '\r') || c == '"')
            {
              return refuse_record (csv, problem, quoted ? "text after a quoted cell" : "a quote inside an unquoted cell");
            }
          if (c != '\r' || (csv->at + 1 < csv->length && csv->text[csv->at + 1] != '\n'))
            g_string_append_c (cell, c);
          csv->at++;
        }
      if (csv->at - started > WB_FLEET_IMPORT_MAX_ROW_SIZE)
        return refuse_record (csv, problem, "the record is longer than 64 KiB");
      g_ptr_array_add (cells, g_strdup (cell->str));
      if (csv->at >= csv->length || csv->text[csv->at] == '\n')
        {
          csv->at++;
          csv->line++;
          return TRUE;
        }
      csv->at++;   /* the comma */
    }
}

/* A cell as the JSON value the member takes: numbers and booleans when
 * they read as one, so that anything else is refused by the reader with
 * the member's name. A column "a.b" is member b of the object a. */
static void
set_cell (const WbImportRowType *type,
          JsonObject            *object,
          const char            *column,
          const char            *value)
{
  const char *dot = strchr (column, '.');
  gint64 integer;
  double number;
  char *end = NULL;

  if (dot != NULL)
    {
      g_autofree char *parent = g_strndup (column, dot - column);
      JsonNode *node = json_object_get_member (object, parent);
      JsonObject *inner = node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;

      if (inner == NULL)
        {
          inner = json_object_new ();
          json_object_set_object_member (object, parent, inner);
        }
      column = dot + 1;
      object = inner;
    }
  if (type->number_columns != NULL && g_strv_contains (type->number_columns, column)
      && g_ascii_string_to_signed (value, 10, G_MININT64, G_MAXINT64, &integer, NULL))
    json_object_set_int_member (object, column, integer);
  else if (type->number_columns != NULL && g_strv_contains (type->number_columns, column)
           && (number = g_ascii_strtod (value, &end), end != value && *end == '\0' && isfinite (number)))
    json_object_set_double_member (object, column, number);
  else if (type->boolean_columns != NULL && g_strv_contains (type->boolean_columns, column)
           && (g_ascii_strcasecmp (value, "true") == 0 || g_ascii_strcasecmp (value, "false") == 0))
    json_object_set_boolean_member (object, column, g_ascii_strcasecmp (value, "true") == 0);
  else
    json_object_set_string_member (object, column, value);
}

static void
take_csv_record (Reader    *reader,
                 guint      row,
                 GPtrArray *header,
                 GPtrArray *cells)
{
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(WbJsonReader) object = NULL;
  JsonObject *members;

  if (cells->len != header->len)
    {
      g_autofree char *message = g_strdup_printf ("the row has %u cells; the header has %u", cells->len, header->len);

      add_error (reader->import, row, NULL, NULL, "invalid_row", message);
      return;
    }
  members = json_object_new ();
  for (guint i = 0; i < cells->len; i++)
    if (*(const char *) g_ptr_array_index (cells, i) != '\0')
      set_cell (reader->import->type, members, g_ptr_array_index (header, i), g_ptr_array_index (cells, i));
  node = json_node_init_object (json_node_alloc (), members);
  json_object_unref (members);
  object = wb_json_reader_new_for_node (node, "", NULL);
  take_object (reader, row, object);
}

/* The header names the members, each at most once. */
static gboolean
check_header (const WbImportRowType  *type,
              GPtrArray              *header,
              GError                **error)
{
  gboolean has_id = FALSE;

  for (guint i = 0; i < header->len; i++)
    {
      const char *column = g_ptr_array_index (header, i);

      has_id |= g_str_equal (column, type->id_member);
      if (!g_strv_contains (type->columns, column))
        {
          wb_json_set_field_error (error, column, "is not a column that can be set here; the header names "
                                   "members of the rows");
          return FALSE;
        }
      for (guint j = 0; j < i; j++)
        if (g_str_equal (column, g_ptr_array_index (header, j)))
          {
            wb_json_set_field_error (error, column, "is named twice in the header");
            return FALSE;
          }
    }
  if (!has_id)
    {
      wb_json_set_field_error (error, type->id_member, "the header needs this column");
      return FALSE;
    }
  return TRUE;
}

static gboolean
read_csv (Reader      *reader,
          const char  *text,
          gsize        length,
          GError     **error)
{
  Csv csv = { text, length, 0, 1 };
  g_autoptr(GPtrArray) header = g_ptr_array_new_with_free_func (g_free);
  const char *problem = NULL;

  /* Spreadsheets write a byte order mark. */
  if (length >= 3 && memcmp (text, "\xEF\xBB\xBF", 3) == 0)
    csv.at = 3;
  if (!csv_record (&csv, header, &problem))
    {
      g_set_error (error, WB_FLEET_ERROR, WB_FLEET_ERROR_INVALID, "body: the header row is not CSV: %s", problem);
      return FALSE;
    }
  if (!check_header (reader->import->type, header, error))
    return FALSE;
  while (csv.at < csv.length)
    {
      g_autoptr(GPtrArray) cells = g_ptr_array_new_with_free_func (g_free);
      guint row = csv.line;
      gsize started = csv.at;

      if (!csv_record (&csv, cells, &problem))
        {
          if (!count_row (reader, error))
            return FALSE;
          add_error (reader->import, row, NULL, NULL, "invalid_row", problem);
          continue;
        }
      if (is_blank (text + started, MIN (csv.at, length) - started))
        continue;
      if (!count_row (reader, error))
        return FALSE;
      take_csv_record (reader, row, header, cells);
    }
  return TRUE;
}

/* ---- the fleet's kinds ---------------------------------------------------------- */

static gpointer
read_fleet_row (const WbImportRowType  *type,
                WbJsonReader           *row,
                GError                **error)
{
  return wb_fleet_update_from_rest (type->kind, NULL, row, error);
}

static const char *
fleet_row_id (gconstpointer row)
{
  return ((const WbFleetUpdate *) row)->id;
}

static const char * const fleet_number_columns[] = { "version", NULL };
static const char * const fleet_boolean_columns[] = { "quarantined", NULL };

static const WbImportRowType *
fleet_row_type (WbFleetKind kind)
{
  static WbImportRowType types[WB_FLEET_KIND_DEVICE + 1];
  static gsize initialized = 0;

  if (g_once_init_enter (&initialized))
    {
      for (guint i = 0; i < G_N_ELEMENTS (types); i++)
        types[i] = (WbImportRowType) { wb_fleet_kind_id_member (i), wb_fleet_kind_rest_members (i, TRUE),
                                       fleet_number_columns, fleet_boolean_columns, read_fleet_row, fleet_row_id,
                                       (GDestroyNotify) wb_fleet_update_free, i };
      g_once_init_leave (&initialized, 1);
    }
  return &types[kind];
}

/**
 * wb_fleet_import_parse_rows:
 * @max_rows: more rows than this fail the whole body with
 *   %WB_FLEET_ERROR_TOO_MANY
 *
 * Returns: (transfer full): the rows, valid and refused; %NULL with @error
 *   for a body that cannot be read at all: not UTF-8, a CSV header that is
 *   not one (%WB_JSON_ERROR_FIELD naming the column), too many rows
 */
WbFleetImport *
wb_fleet_import_parse_rows (const WbImportRowType  *type,
                            WbFleetImportFormat     format,
                            GBytes                 *body,
                            guint                   max_rows,
                            GError                **error)
{
  g_autoptr(WbFleetImport) import = NULL;
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  Reader reader = { NULL, seen, max_rows };
  gsize length = 0;
  const char *text = body ? g_bytes_get_data (body, &length) : NULL;
  const char *bad = NULL;
  gboolean read;

  g_return_val_if_fail (type != NULL, NULL);

  import = reader.import = import_new (type);
  if (length > 0 && !g_utf8_validate (text, (gssize) length, &bad))
    {
      g_set_error (error, WB_FLEET_ERROR, WB_FLEET_ERROR_INVALID, "body: not UTF-8 text (byte %" G_GSIZE_FORMAT ")",
                   (gsize) (bad - text));
      return NULL;
    }
  if (length == 0)
    {
      g_set_error (error, WB_FLEET_ERROR, WB_FLEET_ERROR_INVALID, "body: is empty; send at least one row");
      return NULL;
    }
  read = format == WB_FLEET_IMPORT_CSV ? read_csv (&reader, text, length, error)
                                       : read_ndjson (&reader, text, length, error);
  if (!read)
    return NULL;
  /* Lines the check refused were set aside before the others were read. */
  g_array_sort (import->errors, compare_rows);
  return g_steal_pointer (&import);
}

/**
 * wb_fleet_import_parse:
 *
 * wb_fleet_import_parse_rows() for a kind of the fleet: each row is read
 * as a PUT body (wb_fleet_update_from_rest()), its id included.
 *
 * Returns: (transfer full): as wb_fleet_import_parse_rows()
 */
WbFleetImport *
wb_fleet_import_parse (WbFleetKind           kind,
                       WbFleetImportFormat   format,
                       GBytes               *body,
                       guint                 max_rows,
                       GError              **error)
{
  g_return_val_if_fail (kind <= WB_FLEET_KIND_DEVICE, NULL);

  return wb_fleet_import_parse_rows (fleet_row_type (kind), format, body, max_rows, error);
}

/* ---- the answer ------------------------------------------------------------------- */

static void
write_error (GString                  *out,
             const WbFleetImportError *e)
{
  g_string_append_printf (out, "{\"row\":%u,", e->row);
  if (e->id != NULL)
    {
      g_string_append (out, "\"id\":");
      wb_json_write_string (out, e->id);
      g_string_append_c (out, ',');
    }
  if (e->field != NULL)
    {
      g_string_append (out, "\"field\":");
      wb_json_write_string (out, e->field);
      g_string_append_c (out, ',');
    }
  g_string_append (out, "\"code\":");
  wb_json_write_string (out, e->code);
  g_string_append (out, ",\"message\":");
  wb_json_write_string (out, e->message);
  g_string_append_c (out, '}');
}

/* The refused rows: those the reading set aside and the stale ones. */
static GArray *
all_errors (const WbFleetImport        *import,
            const WbFleetImportOutcome *outcomes)
{
  GArray *errors = g_array_sized_new (FALSE, TRUE, sizeof (WbFleetImportError), import->errors->len);

  g_array_append_vals (errors, import->errors->data, import->errors->len);
  for (guint i = 0; outcomes != NULL && i < import->updates->len; i++)
    if (outcomes[i].outcome == WB_FLEET_IMPORTED_STALE)
      {
        const char *id = import->type->get_id (g_ptr_array_index (import->updates, i));
        WbFleetImportError e = { g_array_index (import->rows, guint, i), (char *) id, "version", stale_code, NULL };

        e.message = g_strdup_printf ("version: the stored version is %" G_GINT64_FORMAT "; give a greater one, "
                                     "or none to write over it", outcomes[i].version);
        g_array_append_val (errors, e);
      }
  g_array_sort (errors, compare_rows);
  return errors;
}

/**
 * wb_fleet_import_report:
 * @outcomes: (nullable) (array): what the store did with each update, in
 *   the order of @import's updates; %NULL when nothing was applied
 *
 * Returns: (transfer full): the answer: counts by outcome, then the
 *   refused rows (at most %WB_FLEET_IMPORT_MAX_LISTED), by row, each with
 *   its field and reason
 */
char *
wb_fleet_import_report (const WbFleetImport        *import,
                        const WbFleetImportOutcome *outcomes)
{
  guint counts[WB_FLEET_IMPORTED_STALE + 1] = { 0, };
  GArray *errors = all_errors (import, outcomes);
  GString *out = g_string_new (NULL);

  for (guint i = 0; outcomes != NULL && i < import->updates->len; i++)
    counts[outcomes[i].outcome]++;
  g_string_append_printf (out, "{\"received\":%u,\"created\":%u,\"updated\":%u,\"unchanged\":%u,\"rejected\":%u,"
                          "\"errors\":[", import->received, counts[WB_FLEET_IMPORTED_CREATED],
                          counts[WB_FLEET_IMPORTED_UPDATED], counts[WB_FLEET_IMPORTED_UNCHANGED], errors->len);
  for (guint i = 0; i < MIN (errors->len, WB_FLEET_IMPORT_MAX_LISTED); i++)
    {
      if (i > 0)
        g_string_append_c (out, ',');
      write_error (out, &g_array_index (errors, WbFleetImportError, i));
    }
  g_string_append_printf (out, "],\"errorsTruncated\":%s}", errors->len > WB_FLEET_IMPORT_MAX_LISTED ? "true" : "false");
  /* The stale entries borrowed their ids; the others belong to @import. */
  for (guint i = 0; i < errors->len; i++)
    if (g_array_index (errors, WbFleetImportError, i).code == stale_code)
      g_free (g_array_index (errors, WbFleetImportError, i).message);
  g_array_unref (errors);
  return g_string_free (out, FALSE);
}
