// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include "wb-tracking-list-model.h"

/* The trackings of one query (GET /trackings), by id. */
struct _WbTrackingListModel
{
  WbPagedModel           parent_instance;
  WbClientTrackingQuery *query;
};

G_DEFINE_FINAL_TYPE (WbTrackingListModel, wb_tracking_list_model, WB_TYPE_PAGED_MODEL)

static void
fetch_async (WbPagedModel        *model,
             WbClient            *client,
             const char          *cursor,
             GCancellable        *cancellable,
             GAsyncReadyCallback  callback,
             gpointer             user_data)
{
  wb_client_list_trackings_async (client, WB_TRACKING_LIST_MODEL (model)->query, cursor, cancellable, callback,
                                  user_data);
}

static GPtrArray *
fetch_finish (WbPagedModel  *model,
              WbClient      *client,
              GAsyncResult  *result,
              char         **next_cursor,
              GError       **error)
{
  return wb_client_list_trackings_finish (client, result, next_cursor, error);
}

static void
wb_tracking_list_model_finalize (GObject *object)
{
  g_clear_pointer (&WB_TRACKING_LIST_MODEL (object)->query, wb_client_tracking_query_free);
  G_OBJECT_CLASS (wb_tracking_list_model_parent_class)->finalize (object);
}

static void
wb_tracking_list_model_class_init (WbTrackingListModelClass *klass)
{
  WbPagedModelClass *paged_class = WB_PAGED_MODEL_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = wb_tracking_list_model_finalize;
  paged_class->item_type = WB_TYPE_CLIENT_TRACKING;
  paged_class->fetch_async = fetch_async;
  paged_class->fetch_finish = fetch_finish;
}

static void
wb_tracking_list_model_init (WbTrackingListModel *self)
{
}

WbTrackingListModel *
wb_tracking_list_model_new (WbClient                    *client,
                            const WbClientTrackingQuery *query)
{
  WbTrackingListModel *self;

  g_return_val_if_fail (WB_IS_CLIENT (client), NULL);
  g_return_val_if_fail (query != NULL, NULL);

  self = g_object_new (WB_TYPE_TRACKING_LIST_MODEL, NULL);
  wb_paged_model_set_client (WB_PAGED_MODEL (self), client);
  self->query = wb_client_tracking_query_copy (query);
  return self;
}

const WbClientTrackingQuery *
wb_tracking_list_model_get_query (WbTrackingListModel *self)
{
  g_return_val_if_fail (WB_IS_TRACKING_LIST_MODEL (self), NULL);
  return self->query;
}
