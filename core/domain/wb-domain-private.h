// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#if !defined (WB_DOMAIN_COMPILATION)
#error "wb-domain-private.h is core/domain's own; other code uses the area's public headers"
#endif

#include <glib.h>

G_BEGIN_DECLS

/* Called for each data row with its fields (trimmed, as many as there are
 * columns). Returns NULL to go on, or a newly allocated message saying what
 * is wrong with the row; the reader adds where. */
typedef char *(*WbTsvRowFunc) (char     **fields,
                               guint      line,
                               gpointer   user_data);

/* Reads the TAB-separated tables of data/: '#' comment lines and blank lines
 * anywhere, then a header line naming exactly @columns, then rows of exactly
 * that many fields. Errors are set in @error_domain/@error_code and read
 * "<source>, line N: …". */
gboolean _wb_tsv_parse (const char         *text,
                        gsize               length,
                        const char         *source,
                        const char * const *columns,
                        WbTsvRowFunc        row_func,
                        gpointer            user_data,
                        GQuark              error_domain,
                        int                 error_code,
                        GError            **error);

/* Looks up one file of the shipment domain's compiled-in data, e.g.
 * "sla.conf" or "status-maps/dhl.tsv". */
GBytes  *_wb_domain_data_lookup    (const char  *relative_path,
                                    GError     **error);
/* The names of the files in a folder of that data, e.g. "status-maps/". */
GStrv    _wb_domain_data_list      (const char  *relative_folder,
                                    GError     **error);

G_END_DECLS
