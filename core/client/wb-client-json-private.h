// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#if !defined (WB_CLIENT_COMPILATION)
# error "wb-client-json-private.h is private to core/client"
#endif

#include "wb-json-reader.h"

G_BEGIN_DECLS

/* What the client accepts from a server: bigger than a request body, as a
 * track or a whole fleet's snapshot may be long. */
#define WB_CLIENT_MAX_ANSWER_SIZE (64 * 1024 * 1024)

/* An RFC 3339 time member as unix µs; *out_us is 0 when an optional one is
 * absent or null. */
gboolean _wb_client_read_time   (WbJsonReader  *reader,
                                 const char    *member,
                                 gboolean       required,
                                 gint64        *out_us,
                                 GError       **error);
/* A number member that must be there (not null). */
gboolean _wb_client_read_number (WbJsonReader  *reader,
                                 const char    *member,
                                 double         min,
                                 double         max,
                                 double        *out_value,
                                 GError       **error);

/* A page of a keyset-paged list (GET /trips, GET /trackings): its items,
 * each read by @read_item into a GObject, and the next page's cursor
 * (%NULL on the last page). */
typedef gpointer (*WbClientReadItem) (WbJsonReader *reader, GError **error);

typedef struct
{
  GPtrArray *items;
  char      *cursor;
} WbClientPage;

WbClientPage *_wb_client_read_page   (JsonNode          *node,
                                      WbClientReadItem   read_item,
                                      GError           **error);
void          _wb_client_page_free   (gpointer           page);
/* Finishes a call whose answer was read by _wb_client_read_page(): its
 * items, and the next cursor into @out_next_cursor (optional). */
GPtrArray    *_wb_client_page_finish (GAsyncResult      *result,
                                      char             **out_next_cursor,
                                      GError           **error);

G_END_DECLS
