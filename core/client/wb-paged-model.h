// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-client.h"

G_BEGIN_DECLS

#define WB_TYPE_PAGED_MODEL (wb_paged_model_get_type ())

G_DECLARE_DERIVABLE_TYPE (WbPagedModel, wb_paged_model, WB, PAGED_MODEL, GObject)

/* A list the API hands out a page at a time through its keyset cursor
 * (a shipment search, the trips), as a GListModel: nothing is fetched
 * until load_more(), and each call fetches one more page, never
 * everything. A view asks for more as it scrolls near the end. Pages
 * append; items never move.
 *
 * Properties: "loading" (a page is on its way), "has-more" (the server
 * has more pages; TRUE until the last page arrives), "n-items".
 *
 * A subclass sets item_type and fetches one page from @cursor (NULL for
 * the first) with its own query. */
struct _WbPagedModelClass
{
  GObjectClass parent_class;

  GType        item_type;
  void       (*fetch_async)  (WbPagedModel         *self,
                              WbClient             *client,
                              const char           *cursor,
                              GCancellable         *cancellable,
                              GAsyncReadyCallback   callback,
                              gpointer              user_data);
  GPtrArray *(*fetch_finish) (WbPagedModel         *self,
                              WbClient             *client,
                              GAsyncResult         *result,
                              char                **next_cursor,
                              GError              **error);
};

void          wb_paged_model_set_client   (WbPagedModel *self,
                                           WbClient     *client);
/* Fetches the next page unless one is on its way or none is left. */
void          wb_paged_model_load_more    (WbPagedModel *self);
gboolean      wb_paged_model_get_loading  (WbPagedModel *self);
gboolean      wb_paged_model_get_has_more (WbPagedModel *self);
guint         wb_paged_model_get_pages    (WbPagedModel *self);
/* Why the last page failed (a field error names the parameter); %NULL
 * after a success. A failed page may be asked for again. */
const GError *wb_paged_model_get_error    (WbPagedModel *self);

G_END_DECLS
