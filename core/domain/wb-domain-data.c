// SPDX-License-Identifier: GPL-3.0-or-later
/* The reader behind every TAB-separated table in data/, and access to the
 * compiled-in copies of those files. */

#include "config.h"

#include <string.h>

#include "wb-domain-resources.h"
#include "wb-domain-private.h"

#define RESOURCE_BASE "/org/waybill/Waybill/"

static gboolean
line_is_blank_or_comment (const char *line)
{
  while (g_ascii_isspace (*line))
    line++;
  return *line == '\0' || *line == '#';
}

static char *
check_header (const char         *line,
              const char * const *columns)
{
  g_autofree char *expected = g_strjoinv ("\t", (char **) columns);

  if (g_str_equal (line, expected))
    return NULL;
  return g_strdup_printf ("expected the header line “%s” (TAB-separated)", expected);
}

static char *
parse_row (char               *line,
           guint               number,
           const char * const *columns,
           WbTsvRowFunc        row_func,
           gpointer            user_data)
{
  g_auto(GStrv) fields = g_strsplit (line, "\t", -1);
  guint n_columns = g_strv_length ((char **) columns);
  guint n_fields = g_strv_length (fields);

  if (n_fields != n_columns)
    {
      g_autofree char *names = g_strjoinv (", ", (char **) columns);

      return g_strdup_printf ("%u TAB-separated fields; expected %u (%s)", n_fields, n_columns, names);
    }
  for (guint i = 0; i < n_fields; i++)
    g_strstrip (fields[i]);
  return row_func (fields, number, user_data);
}

gboolean
_wb_tsv_parse (const char         *text,
               gsize               length,
               const char         *source,
               const char * const *columns,
               WbTsvRowFunc        row_func,
               gpointer            user_data,
               GQuark              error_domain,
               int                 error_code,
               GError            **error)
{
  g_autofree char *copy = g_strndup (text, length);
  g_auto(GStrv) lines = g_strsplit (copy, "\n", -1);
  gboolean seen_header = FALSE;

  if (strlen (copy) != length || !g_utf8_validate (copy, -1, NULL))
    {
      g_set_error (error, error_domain, error_code, "%s: not UTF-8 text", source);
      return FALSE;
    }

  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autofree char *message = NULL;
      char *line = lines[i];
      gsize len = strlen (line);

      if (len > 0 && line[len - 1] == '\r')
        line[len - 1] = '\0';
      if (line_is_blank_or_comment (line))
        continue;

      message = seen_header ? parse_row (line, i + 1, columns, row_func, user_data)
                            : check_header (line, columns);
      seen_header = TRUE;
      if (message != NULL)
        {
          g_set_error (error, error_domain, error_code, "%s, line %u: %s", source, i + 1, message);
          return FALSE;
        }
    }

  if (!seen_header)
    {
      g_set_error (error, error_domain, error_code, "%s: no header line", source);
      return FALSE;
    }
  return TRUE;
}

GBytes *
_wb_domain_data_lookup (const char  *relative_path,
                        GError     **error)
{
  g_autofree char *path = g_strconcat (RESOURCE_BASE, relative_path, NULL);

  return g_resource_lookup_data (wb_domain_data_get_resource (), path,
                                 G_RESOURCE_LOOKUP_FLAGS_NONE, error);
}

GStrv
_wb_domain_data_list (const char  *relative_folder,
                      GError     **error)
{
  g_autofree char *path = g_strconcat (RESOURCE_BASE, relative_folder, NULL);

  return g_resource_enumerate_children (wb_domain_data_get_resource (), path,
                                        G_RESOURCE_LOOKUP_FLAGS_NONE, error);
}
