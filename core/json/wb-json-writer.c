// SPDX-License-Identifier: GPL-3.0-or-later
/* The one JSON writer for what json-glib 1.6 writes wrong: it prints 1e20
 * as "1e+20.0" (not JSON) and infinity as "inf.0". Numbers come out in their
 * shortest exact form, non-finite ones as null, strings as valid UTF-8 with
 * every control character escaped. Telemetry, tracks and the stores write
 * through it; it appends to a GString, so a hot path writes without
 * building a tree first. */

#include "config.h"

#include <math.h>
#include <string.h>

#include "wb-json-writer.h"

void
wb_json_write_string (GString    *out,
                      const char *text)
{
  g_autofree char *valid = NULL;

  if (!g_utf8_validate (text, -1, NULL))
    text = valid = g_utf8_make_valid (text, -1);

  g_string_append_c (out, '"');
  for (const char *p = text; *p != '\0'; p++)
    {
      guchar c = *p;

      switch (c)
        {
        case '"':  g_string_append (out, "\\\""); break;
        case '\\': g_string_append (out, "\\\\"); break;
        case '\n': g_string_append (out, "\\n"); break;
        case '\r': g_string_append (out, "\\r"); break;
        case '\t': g_string_append (out, "\\t"); break;
        default:
          if (c < 0x20 || c == 0x7f)
            g_string_append_printf (out, "\\u%04x", c);
          else
            g_string_append_c (out, c);
        }
    }
  g_string_append_c (out, '"');
}

/* Decimal digits without printf, which costs more than the rest of
 * writing a position. */
void
wb_json_write_int (GString *out,
                   gint64   value)
{
  char digits[20];
  guint64 magnitude = value < 0 ? (guint64) -(value + 1) + 1 : (guint64) value;
  guint n = 0;

  if (value < 0)
    g_string_append_c (out, '-');
  do
    digits[n++] = '0' + magnitude % 10;
  while ((magnitude /= 10) > 0);
  while (n > 0)
    g_string_append_c (out, digits[--n]);
}

/* The shortest of %.15g, %.16g, %.17g that reads back as the same double:
 * 25.2562916 stays 25.2562916, not 25.256291599999999. */
void
wb_json_write_double (GString *out,
                      double   value)
{
  static const char * const formats[] = { "%.15g", "%.16g", "%.17g" };
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  if (!isfinite (value))
    {
      g_string_append (out, "null");
      return;
    }
  /* "-0" would read back as the integer 0: write what will be read. */
  if (value == 0)
    {
      g_string_append_c (out, '0');
      return;
    }
  /* Whole numbers (IO element values, odometers, counters) are most of what
   * devices send: written as integers, without the round-trip search. */
  if (value == floor (value) && fabs (value) < 9007199254740992.0)
    {
      wb_json_write_int (out, (gint64) value);
      return;
    }
  for (guint i = 0; i < G_N_ELEMENTS (formats); i++)
    {
      g_ascii_formatd (buffer, sizeof buffer, formats[i], value);
      if (g_ascii_strtod (buffer, NULL) == value)
        break;
    }
  g_string_append (out, buffer);
}

static void
write_value (GString  *out,
             JsonNode *node)
{
  switch (json_node_get_value_type (node))
    {
    case G_TYPE_INT64:
      wb_json_write_int (out, json_node_get_int (node));
      break;
    case G_TYPE_DOUBLE:
      wb_json_write_double (out, json_node_get_double (node));
      break;
    case G_TYPE_BOOLEAN:
      g_string_append (out, json_node_get_boolean (node) ? "true" : "false");
      break;
    case G_TYPE_STRING:
      if (json_node_get_string (node) != NULL)
        wb_json_write_string (out, json_node_get_string (node));
      else
        g_string_append (out, "null");
      break;
    default:
      g_string_append (out, "null");
    }
}

void
wb_json_write_node (GString  *out,
                    JsonNode *node)
{
  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObjectIter iter;
        const char *name;
        JsonNode *member;
        gboolean first = TRUE;

        /* In insertion order, without copying the member list. */
        json_object_iter_init_ordered (&iter, json_node_get_object (node));
        g_string_append_c (out, '{');
        while (json_object_iter_next_ordered (&iter, &name, &member))
          {
            if (!first)
              g_string_append_c (out, ',');
            first = FALSE;
            wb_json_write_string (out, name);
            g_string_append_c (out, ':');
            wb_json_write_node (out, member);
          }
        g_string_append_c (out, '}');
        break;
      }

    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);

        g_string_append_c (out, '[');
        for (guint i = 0; i < json_array_get_length (array); i++)
          {
            if (i > 0)
              g_string_append_c (out, ',');
            wb_json_write_node (out, json_array_get_element (array, i));
          }
        g_string_append_c (out, ']');
        break;
      }

    case JSON_NODE_VALUE:
      write_value (out, node);
      break;

    case JSON_NODE_NULL:
    default:
      g_string_append (out, "null");
    }
}

/**
 * wb_json_to_string:
 *
 * Returns: (transfer full): @node as compact JSON text
 */
char *
wb_json_to_string (JsonNode *node)
{
  GString *out = g_string_sized_new (256);

  g_return_val_if_fail (node != NULL, NULL);

  wb_json_write_node (out, node);
  return g_string_free (out, FALSE);
}

/**
 * wb_json_append_compact:
 * @json: JSON text already valid, such as PostgreSQL's json_build_object()
 *   and json_agg() write it
 *
 * PostgreSQL writes `{"id" : "…", "n" : 1}` and separates json_agg's
 * elements with ", " and a newline; every answer of the API is compact.
 * The database still formats the values (times, and numbers in their
 * shortest exact form), so this only drops the whitespace between tokens,
 * in one pass without building a tree.
 */
void
wb_json_append_compact (GString    *out,
                        const char *json)
{
  gboolean in_string = FALSE;

  g_return_if_fail (json != NULL);

  for (const char *p = json; *p != '\0'; p++)
    {
      if (in_string)
        {
          if (*p == '\\' && p[1] != '\0')
            g_string_append_c (out, *p++);
          else if (*p == '"')
            in_string = FALSE;
        }
      else if (*p == '"')
        in_string = TRUE;
      else if (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
        continue;
      g_string_append_c (out, *p);
    }
}

/**
 * wb_json_compact:
 *
 * Returns: (transfer full): @json without whitespace outside strings, as
 *   wb_json_append_compact() writes it
 */
char *
wb_json_compact (const char *json)
{
  GString *out;

  g_return_val_if_fail (json != NULL, NULL);

  out = g_string_sized_new (strlen (json));
  wb_json_append_compact (out, json);
  return g_string_free (out, FALSE);
}
