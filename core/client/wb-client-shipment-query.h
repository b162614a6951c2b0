// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/* What GET /shipments/search filters on. %NULL strings, an empty
 * statuses list and 0 times mean "no filter"; the server refuses a
 * parameter given empty, so none is ever sent empty. */
typedef struct
{
  char     *phone;         /* any common notation; the server reads it as E.164 */
  char     *country;       /* ISO alpha-2 for national phone numbers */
  GStrv     statuses;      /* canonical statuses, any of them */
  char     *client_id;
  gint64    created_from;  /* unix µs, inclusive */
  gint64    created_to;    /* unix µs, exclusive */
  gint64    updated_from;
  gint64    updated_to;
  gboolean  overdue;       /* TRUE: only overdue shipments */
  guint     limit;         /* page size, 0 for the server's default */
} WbClientShipmentQuery;

#define WB_TYPE_CLIENT_SHIPMENT_QUERY (wb_client_shipment_query_get_type ())

GType            wb_client_shipment_query_get_type (void) G_GNUC_CONST;
WbClientShipmentQuery *wb_client_shipment_query_new      (void);
WbClientShipmentQuery *wb_client_shipment_query_copy     (const WbClientShipmentQuery *self);
void             wb_client_shipment_query_free     (WbClientShipmentQuery       *self);
/* "/shipments/search?…" for the page after @cursor (%NULL: the first). */
char            *wb_client_shipment_query_to_path  (const WbClientShipmentQuery *self,
                                             const char            *cursor);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbClientShipmentQuery, wb_client_shipment_query_free)

G_END_DECLS
