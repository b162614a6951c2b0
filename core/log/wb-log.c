// SPDX-License-Identifier: GPL-3.0-or-later
/* Structured logging: a terminal gets one readable line per record, journald
 * gets the fields as they are, and --log-format=json gets one JSON object per
 * line for log shippers. Extra structured fields (REQUEST_ID, HTTP_STATUS, …)
 * are carried through in every format. */

#include "config.h"

#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "wb-json-writer.h"
#include "wb-log.h"

static WbLogFormat    log_format = WB_LOG_FORMAT_TEXT;
static GLogLevelFlags log_max_level = G_LOG_LEVEL_INFO;

static const struct {
  const char     *name;
  GLogLevelFlags  level;
} levels[] = {
  { "debug", G_LOG_LEVEL_DEBUG },
  { "info", G_LOG_LEVEL_INFO },
  { "message", G_LOG_LEVEL_MESSAGE },
  { "warning", G_LOG_LEVEL_WARNING },
};

gboolean
wb_log_format_from_string (const char  *text,
                           WbLogFormat *out_format)
{
  static const char *names[] = { "auto", "text", "json", "journal" };

  g_return_val_if_fail (text != NULL, FALSE);

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      if (g_str_equal (text, names[i]))
        {
          *out_format = (WbLogFormat) i;
          return TRUE;
        }
    }
  return FALSE;
}

gboolean
wb_log_level_from_string (const char     *text,
                          GLogLevelFlags *out_level)
{
  g_return_val_if_fail (text != NULL, FALSE);

  for (guint i = 0; i < G_N_ELEMENTS (levels); i++)
    {
      if (g_str_equal (text, levels[i].name))
        {
          *out_level = levels[i].level;
          return TRUE;
        }
    }
  return FALSE;
}

static const char *
level_name (GLogLevelFlags level)
{
  if (level & G_LOG_LEVEL_ERROR)
    return "error";
  if (level & G_LOG_LEVEL_CRITICAL)
    return "critical";
  if (level & G_LOG_LEVEL_WARNING)
    return "warning";
  if (level & G_LOG_LEVEL_MESSAGE)
    return "message";
  if (level & G_LOG_LEVEL_INFO)
    return "info";
  return "debug";
}

/* GLib orders levels from ERROR (1 << 2) to DEBUG (1 << 7): lower is more severe. */
static gboolean
level_enabled (GLogLevelFlags level)
{
  return (level & G_LOG_LEVEL_MASK) <= log_max_level
         || (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING));
}

static char *
field_value (const GLogField *field)
{
  if (field->length < 0)
    return g_strdup (field->value);
  return g_strndup (field->value, field->length);
}

/* GLib's own bookkeeping fields, not worth repeating on every line. */
static gboolean
field_is_internal (const char *key)
{
  return g_str_equal (key, "MESSAGE") || g_str_equal (key, "PRIORITY")
         || g_str_equal (key, "GLIB_DOMAIN") || g_str_equal (key, "GLIB_OLD_LOG_API")
         || g_str_equal (key, "CODE_FILE") || g_str_equal (key, "CODE_LINE")
         || g_str_equal (key, "CODE_FUNC") || g_str_equal (key, "SYSLOG_IDENTIFIER");
}

static const char *
find_field (const GLogField *fields,
            gsize            n_fields,
            const char      *key)
{
  for (gsize i = 0; i < n_fields; i++)
    if (g_str_equal (fields[i].key, key) && fields[i].length < 0)
      return fields[i].value;
  return NULL;
}

static char *
format_time (gint64 real_time_us)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc (real_time_us / G_USEC_PER_SEC);
  g_autofree char *seconds = dt ? g_date_time_format (dt, "%Y-%m-%dT%H:%M:%S") : NULL;

  return g_strdup_printf ("%s.%03dZ", seconds ? seconds : "?",
                          (int) ((real_time_us % G_USEC_PER_SEC) / 1000));
}

static char *
format_text (gint64           real_time_us,
             GLogLevelFlags   level,
             const GLogField *fields,
             gsize            n_fields)
{
  GString *line = g_string_new (NULL);
  g_autofree char *time = NULL;
  const char *domain = find_field (fields, n_fields, "GLIB_DOMAIN");
  const char *message = find_field (fields, n_fields, "MESSAGE");

  time = format_time (real_time_us);
  g_string_append_printf (line, "%s %-7s %s: %s", time, level_name (level),
                          domain ? domain : "waybill", message ? message : "");

  for (gsize i = 0; i < n_fields; i++)
    {
      g_autofree char *key = NULL;
      g_autofree char *value = NULL;

      if (field_is_internal (fields[i].key))
        continue;
      key = g_ascii_strdown (fields[i].key, -1);
      value = field_value (&fields[i]);
      g_string_append_printf (line, " %s=%s", key, value);
    }
  g_string_append_c (line, '\n');
  return g_string_free (line, FALSE);
}

static char *
format_json (gint64           real_time_us,
             GLogLevelFlags   level,
             const GLogField *fields,
             gsize            n_fields)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *time = format_time (real_time_us);
  const char *domain = find_field (fields, n_fields, "GLIB_DOMAIN");
  const char *message = find_field (fields, n_fields, "MESSAGE");
  g_autofree char *text = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "time");
  json_builder_add_string_value (builder, time);
  json_builder_set_member_name (builder, "level");
  json_builder_add_string_value (builder, level_name (level));
  json_builder_set_member_name (builder, "domain");
  json_builder_add_string_value (builder, domain ? domain : "waybill");
  json_builder_set_member_name (builder, "message");
  json_builder_add_string_value (builder, message ? message : "");
  for (gsize i = 0; i < n_fields; i++)
    {
      g_autofree char *key = NULL;
      g_autofree char *value = NULL;

      if (field_is_internal (fields[i].key))
        continue;
      key = g_ascii_strdown (fields[i].key, -1);
      value = field_value (&fields[i]);
      json_builder_set_member_name (builder, key);
      json_builder_add_string_value (builder, value);
    }
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  text = wb_json_to_string (root);
  return g_strconcat (text, "\n", NULL);
}

char *
wb_log_format_line (WbLogFormat      format,
                    gint64           real_time_us,
                    GLogLevelFlags   level,
                    const GLogField *fields,
                    gsize            n_fields)
{
  if (format == WB_LOG_FORMAT_JSON)
    return format_json (real_time_us, level, fields, n_fields);
  return format_text (real_time_us, level, fields, n_fields);
}

static void
write_all (int         fd,
           const char *text)
{
  gsize len = strlen (text);

  /* One write() per record keeps lines from concurrent threads whole. */
  while (len > 0)
    {
      gssize n = write (fd, text, len);

      if (n <= 0)
        return;
      text += n;
      len -= n;
    }
}

static GLogWriterOutput
wb_log_writer (GLogLevelFlags   level,
               const GLogField *fields,
               gsize            n_fields,
               gpointer         user_data)
{
  g_autofree char *line = NULL;

  if (!level_enabled (level))
    return G_LOG_WRITER_HANDLED;

  if (log_format == WB_LOG_FORMAT_JOURNAL)
    {
      if (g_log_writer_journald (level, fields, n_fields, user_data) == G_LOG_WRITER_HANDLED)
        return G_LOG_WRITER_HANDLED;
    }

  line = wb_log_format_line (log_format, g_get_real_time (), level, fields, n_fields);
  write_all (STDERR_FILENO, line);
  return G_LOG_WRITER_HANDLED;
}

/**
 * wb_log_init:
 * @format: how records are written
 * @max_level: the least severe level still written
 *
 * Installs the process-wide log writer. Call once, early in main().
 */
void
wb_log_init (WbLogFormat    format,
             GLogLevelFlags max_level)
{
  static gsize installed = 0;

  if (format == WB_LOG_FORMAT_AUTO)
    format = g_log_writer_is_journald (STDERR_FILENO) ? WB_LOG_FORMAT_JOURNAL : WB_LOG_FORMAT_TEXT;
  log_format = format;
  log_max_level = max_level;

  if (g_once_init_enter (&installed))
    {
      g_log_set_writer_func (wb_log_writer, NULL, NULL);
      g_once_init_leave (&installed, 1);
    }
}
