// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-db.h"

G_BEGIN_DECLS

/* PostgreSQL's binary COPY format written into a GString: no text
 * escaping, so any text goes in as it is. A stream is a header, tuples
 * (wb_db_copy_tuple() then one call per field) and a trailer. */
void     wb_db_copy_begin   (GString        *out);
void     wb_db_copy_tuple   (GString        *out,
                             guint16         n_fields);
void     wb_db_copy_null    (GString        *out);
void     wb_db_copy_text    (GString        *out,
                             const char     *text);
void     wb_db_copy_int4    (GString        *out,
                             gint32          value);
void     wb_db_copy_int8    (GString        *out,
                             gint64          value);
void     wb_db_copy_bool    (GString        *out,
                             gboolean        value);
void     wb_db_copy_end     (GString        *out);

/* Runs @sql (a COPY … FROM STDIN (FORMAT binary)) and sends @data.
 * Blocking: call it from a thread. @out_rows: (out) (optional): rows
 * stored. */
gboolean wb_db_copy_in      (PGconn         *conn,
                             const char     *sql,
                             const GString  *data,
                             guint64        *out_rows,
                             GError        **error);

G_END_DECLS
