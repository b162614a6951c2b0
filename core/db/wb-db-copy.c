// SPDX-License-Identifier: GPL-3.0-or-later
/* Binary COPY streams. Each field is an int32 length (-1: NULL) and the
 * value in network byte order; a tuple starts with its field count, the
 * stream ends with -1. */

#include "config.h"

#include <string.h>

#include "wb-db-copy.h"

/* Sent in pieces of about this size. */
#define CHUNK_SIZE (256 * 1024)

static void
put_uint16 (GString *out,
            guint16  value)
{
  value = GUINT16_TO_BE (value);
  g_string_append_len (out, (const char *) &value, sizeof value);
}

static void
put_uint32 (GString *out,
            guint32  value)
{
  value = GUINT32_TO_BE (value);
  g_string_append_len (out, (const char *) &value, sizeof value);
}

void
wb_db_copy_begin (GString *out)
{
  static const char signature[] = "PGCOPY\n\377\r\n";

  g_string_append_len (out, signature, 11);   /* with its NUL */
  put_uint32 (out, 0);                        /* flags */
  put_uint32 (out, 0);                        /* header extension */
}

void
wb_db_copy_tuple (GString *out,
                  guint16  n_fields)
{
  put_uint16 (out, n_fields);
}

void
wb_db_copy_null (GString *out)
{
  put_uint32 (out, G_MAXUINT32);   /* -1 */
}

/* %NULL is SQL NULL. */
void
wb_db_copy_text (GString    *out,
                 const char *text)
{
  gsize length;

  if (text == NULL)
    {
      wb_db_copy_null (out);
      return;
    }
  length = strlen (text);
  put_uint32 (out, (guint32) length);
  g_string_append_len (out, text, length);
}

void
wb_db_copy_int4 (GString *out,
                 gint32   value)
{
  put_uint32 (out, 4);
  put_uint32 (out, (guint32) value);
}

void
wb_db_copy_int8 (GString *out,
                 gint64   value)
{
  guint64 be = GUINT64_TO_BE ((guint64) value);

  put_uint32 (out, 8);
  g_string_append_len (out, (const char *) &be, sizeof be);
}

void
wb_db_copy_bool (GString  *out,
                 gboolean  value)
{
  put_uint32 (out, 1);
  g_string_append_c (out, value ? 1 : 0);
}

void
wb_db_copy_end (GString *out)
{
  put_uint16 (out, G_MAXUINT16);   /* -1 */
}

gboolean
wb_db_copy_in (PGconn         *conn,
               const char     *sql,
               const GString  *data,
               guint64        *out_rows,
               GError        **error)
{
  PGresult *started = PQexec (conn, sql);
  PGresult *failed = NULL, *done = NULL, *result;

  if (PQresultStatus (started) != PGRES_COPY_IN)
    {
      wb_db_set_error_from_result (error, conn, started, "cannot start COPY");
      PQclear (started);
      return FALSE;
    }
  PQclear (started);
  for (gsize sent = 0; sent < data->len; sent += CHUNK_SIZE)
    if (PQputCopyData (conn, data->str + sent, (int) MIN (CHUNK_SIZE, data->len - sent)) != 1)
      break;
  PQputCopyEnd (conn, NULL);

  /* The server's verdict comes as results; read them all, so the
   * connection is ready for the next statement. */
  while ((result = PQgetResult (conn)) != NULL)
    {
      if (PQresultStatus (result) == PGRES_COMMAND_OK && done == NULL)
        done = result;
      else if (failed == NULL && PQresultStatus (result) != PGRES_COMMAND_OK)
        failed = result;
      else
        PQclear (result);
    }
  if (failed != NULL || done == NULL)
    {
      wb_db_set_error_from_result (error, conn, failed, "COPY failed");
      g_clear_pointer (&failed, PQclear);
      g_clear_pointer (&done, PQclear);
      return FALSE;
    }
  if (out_rows != NULL)
    *out_rows = g_ascii_strtoull (PQcmdTuples (done), NULL, 10);
  PQclear (done);
  return TRUE;
}
