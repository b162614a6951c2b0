// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include "wb-trip-list-model.h"

/* The trips of one query (GET /trips), newest first. */
struct _WbTripListModel
{
  WbPagedModel  parent_instance;
  WbClientTripQuery *query;
};

G_DEFINE_FINAL_TYPE (WbTripListModel, wb_trip_list_model, WB_TYPE_PAGED_MODEL)

static void
fetch_async (WbPagedModel        *model,
             WbClient            *client,
             const char          *cursor,
             GCancellable        *cancellable,
             GAsyncReadyCallback  callback,
             gpointer             user_data)
{
  wb_client_list_trips_async (client, WB_TRIP_LIST_MODEL (model)->query, cursor, cancellable, callback, user_data);
}

static GPtrArray *
fetch_finish (WbPagedModel  *model,
              WbClient      *client,
              GAsyncResult  *result,
              char         **next_cursor,
              GError       **error)
{
  return wb_client_list_trips_finish (client, result, next_cursor, error);
}

static void
wb_trip_list_model_finalize (GObject *object)
{
  g_clear_pointer (&WB_TRIP_LIST_MODEL (object)->query, wb_client_trip_query_free);
  G_OBJECT_CLASS (wb_trip_list_model_parent_class)->finalize (object);
}

static void
wb_trip_list_model_class_init (WbTripListModelClass *klass)
{
  WbPagedModelClass *paged_class = WB_PAGED_MODEL_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = wb_trip_list_model_finalize;
  paged_class->item_type = WB_TYPE_CLIENT_TRIP;
  paged_class->fetch_async = fetch_async;
  paged_class->fetch_finish = fetch_finish;
}

static void
wb_trip_list_model_init (WbTripListModel *self)
{
}

WbTripListModel *
wb_trip_list_model_new (WbClient *client,
                        const WbClientTripQuery *query)
{
  WbTripListModel *self;

  g_return_val_if_fail (WB_IS_CLIENT (client), NULL);
  g_return_val_if_fail (query != NULL, NULL);

  self = g_object_new (WB_TYPE_TRIP_LIST_MODEL, NULL);
  wb_paged_model_set_client (WB_PAGED_MODEL (self), client);
  self->query = wb_client_trip_query_copy (query);
  return self;
}

const WbClientTripQuery *
wb_trip_list_model_get_query (WbTripListModel *self)
{
  g_return_val_if_fail (WB_IS_TRIP_LIST_MODEL (self), NULL);
  return self->query;
}

void
wb_trip_list_model_load_more (WbTripListModel *self)
{
  wb_paged_model_load_more (WB_PAGED_MODEL (self));
}

gboolean
wb_trip_list_model_get_loading (WbTripListModel *self)
{
  return wb_paged_model_get_loading (WB_PAGED_MODEL (self));
}

gboolean
wb_trip_list_model_get_has_more (WbTripListModel *self)
{
  return wb_paged_model_get_has_more (WB_PAGED_MODEL (self));
}

guint
wb_trip_list_model_get_pages (WbTripListModel *self)
{
  return wb_paged_model_get_pages (WB_PAGED_MODEL (self));
}

const GError *
wb_trip_list_model_get_error (WbTripListModel *self)
{
  return wb_paged_model_get_error (WB_PAGED_MODEL (self));
}
