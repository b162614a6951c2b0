// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include "wb-shipment-search-model.h"

/* The results of one shipment search (GET /shipments/search), newest first. */
struct _WbShipmentSearchModel
{
  WbPagedModel  parent_instance;
  WbClientShipmentQuery *query;
};

G_DEFINE_FINAL_TYPE (WbShipmentSearchModel, wb_shipment_search_model, WB_TYPE_PAGED_MODEL)

static void
fetch_async (WbPagedModel        *model,
             WbClient            *client,
             const char          *cursor,
             GCancellable        *cancellable,
             GAsyncReadyCallback  callback,
             gpointer             user_data)
{
  wb_client_search_shipments_async (client, WB_SHIPMENT_SEARCH_MODEL (model)->query, cursor, cancellable, callback, user_data);
}

static GPtrArray *
fetch_finish (WbPagedModel  *model,
              WbClient      *client,
              GAsyncResult  *result,
              char         **next_cursor,
              GError       **error)
{
  return wb_client_search_shipments_finish (client, result, next_cursor, error);
}

static void
wb_shipment_search_model_finalize (GObject *object)
{
  g_clear_pointer (&WB_SHIPMENT_SEARCH_MODEL (object)->query, wb_client_shipment_query_free);
  G_OBJECT_CLASS (wb_shipment_search_model_parent_class)->finalize (object);
}

static void
wb_shipment_search_model_class_init (WbShipmentSearchModelClass *klass)
{
  WbPagedModelClass *paged_class = WB_PAGED_MODEL_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = wb_shipment_search_model_finalize;
  paged_class->item_type = WB_TYPE_CLIENT_SHIPMENT;
  paged_class->fetch_async = fetch_async;
  paged_class->fetch_finish = fetch_finish;
}

static void
wb_shipment_search_model_init (WbShipmentSearchModel *self)
{
}

WbShipmentSearchModel *
wb_shipment_search_model_new (WbClient *client,
                              const WbClientShipmentQuery *query)
{
  WbShipmentSearchModel *self;

  g_return_val_if_fail (WB_IS_CLIENT (client), NULL);
  g_return_val_if_fail (query != NULL, NULL);

  self = g_object_new (WB_TYPE_SHIPMENT_SEARCH_MODEL, NULL);
  wb_paged_model_set_client (WB_PAGED_MODEL (self), client);
  self->query = wb_client_shipment_query_copy (query);
  return self;
}

const WbClientShipmentQuery *
wb_shipment_search_model_get_query (WbShipmentSearchModel *self)
{
  g_return_val_if_fail (WB_IS_SHIPMENT_SEARCH_MODEL (self), NULL);
  return self->query;
}

void
wb_shipment_search_model_load_more (WbShipmentSearchModel *self)
{
  wb_paged_model_load_more (WB_PAGED_MODEL (self));
}

gboolean
wb_shipment_search_model_get_loading (WbShipmentSearchModel *self)
{
  return wb_paged_model_get_loading (WB_PAGED_MODEL (self));
}

gboolean
wb_shipment_search_model_get_has_more (WbShipmentSearchModel *self)
{
  return wb_paged_model_get_has_more (WB_PAGED_MODEL (self));
}

guint
wb_shipment_search_model_get_pages (WbShipmentSearchModel *self)
{
  return wb_paged_model_get_pages (WB_PAGED_MODEL (self));
}

const GError *
wb_shipment_search_model_get_error (WbShipmentSearchModel *self)
{
  return wb_paged_model_get_error (WB_PAGED_MODEL (self));
}
