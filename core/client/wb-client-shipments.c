// SPDX-License-Identifier: GPL-3.0-or-later
/* WbClient's shipment calls: the keyset-paged search, one shipment's view,
 * and its status history. */

#include "config.h"

#include "wb-client-private.h"
#include "wb-json-reader.h"

typedef gpointer (*ReadItem) (WbJsonReader *reader, GError **error);

static gpointer
read_shipment_item (WbJsonReader  *reader,
                    GError       **error)
{
  return wb_client_shipment_read (reader, error);
}

static gpointer
read_event_item (WbJsonReader  *reader,
                 GError       **error)
{
  return wb_client_shipment_event_read (reader, error);
}

/* Every element of the array @member, each read into a GObject. */
static GPtrArray *
read_items (WbJsonReader  *reader,
            const char    *member,
            ReadItem       read_element,
            GError       **error)
{
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (g_object_unref);
  guint length = 0;

  if (!wb_json_reader_get_array_length (reader, member, &length, error))
    return NULL;
  for (guint i = 0; i < length; i++)
    {
      g_autoptr(WbJsonReader) element = wb_json_reader_get_array_element (reader, member, i, error);
      gpointer item = element != NULL ? read_element (element, error) : NULL;

      if (item == NULL)
        return NULL;
      g_ptr_array_add (items, item);
    }
  return g_steal_pointer (&items);
}

typedef struct
{
  GPtrArray *items;
  char      *cursor;   /* the next page's, or the total of a history */
  gint64     total;
} Page;

static void
page_free (gpointer data)
{
  Page *page = data;

  g_clear_pointer (&page->items, g_ptr_array_unref);
  g_free (page->cursor);
  g_free (page);
}

static GPtrArray *
page_steal (Page *page)
{
  GPtrArray *items = g_steal_pointer (&page->items);

  page_free (page);
  return items;
}

/* ---- GET /shipments/search ---- */

static gpointer
read_shipment_page (JsonNode  *node,
                    GError   **error)
{
  g_autoptr(WbJsonReader) reader = wb_json_reader_new_for_node (node, "", error);
  Page *page = g_new0 (Page, 1);

  if (reader == NULL
      || (page->items = read_items (reader, "items", read_shipment_item, error)) == NULL
      || !wb_json_reader_get_string (reader, "nextCursor", FALSE, &page->cursor, error)
      || (!wb_json_reader_contains (reader, "nextCursor")
          && !wb_json_reader_fail (reader, "nextCursor", error, "is required")))
    {
      page_free (page);
      return NULL;
    }
  return page;
}

/**
 * wb_client_search_shipments_async:
 * @query: what to search for
 * @cursor: (nullable): the previous page's next cursor; %NULL for the first
 */
void
wb_client_search_shipments_async (WbClient              *self,
                                  const WbClientShipmentQuery *query,
                                  const char            *cursor,
                                  GCancellable          *cancellable,
                                  GAsyncReadyCallback    callback,
                                  gpointer               user_data)
{
  g_autofree char *path = NULL;

  g_return_if_fail (WB_IS_CLIENT (self));
  g_return_if_fail (query != NULL);

  path = wb_client_shipment_query_to_path (query, cursor);
  _wb_client_call_typed (self, path, "GET /shipments/search", read_shipment_page, page_free,
                         wb_client_search_shipments_async, cancellable, callback, user_data);
}

/**
 * wb_client_search_shipments_finish:
 * @out_next_cursor: (out) (optional) (transfer full) (nullable): the next
 *   page's cursor, %NULL on the last page
 *
 * Returns: (transfer container) (element-type WbClientShipment): the page,
 *   newest first
 */
GPtrArray *
wb_client_search_shipments_finish (WbClient      *self,
                                   GAsyncResult  *result,
                                   char         **out_next_cursor,
                                   GError       **error)
{
  Page *page;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  page = g_task_propagate_pointer (G_TASK (result), error);
  if (page == NULL)
    return NULL;
  if (out_next_cursor != NULL)
    *out_next_cursor = g_steal_pointer (&page->cursor);
  return page_steal (page);
}

/* ---- GET /shipments/{id} ---- */

static gpointer
read_shipment (JsonNode  *node,
               GError   **error)
{
  g_autoptr(WbJsonReader) reader = wb_json_reader_new_for_node (node, "", error);

  return reader != NULL ? wb_client_shipment_read (reader, error) : NULL;
}

void
wb_client_get_shipment_async (WbClient            *self,
                              const char          *shipment_id,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GString) path = g_string_new ("/shipments/");

  g_return_if_fail (WB_IS_CLIENT (self));
  g_return_if_fail (shipment_id != NULL);

  g_string_append_uri_escaped (path, shipment_id, NULL, FALSE);
  _wb_client_call_typed (self, path->str, "GET /shipments/{id}", read_shipment, g_object_unref,
                         wb_client_get_shipment_async, cancellable, callback, user_data);
}

/**
 * wb_client_get_shipment_finish:
 *
 * Returns: (transfer full): the shipment
 */
WbClientShipment *
wb_client_get_shipment_finish (WbClient      *self,
                               GAsyncResult  *result,
                               GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- GET /shipments/{id}/events ---- */

static gpointer
read_event_page (JsonNode  *node,
                 GError   **error)
{
  g_autoptr(WbJsonReader) reader = wb_json_reader_new_for_node (node, "", error);
  Page *page = g_new0 (Page, 1);
  gboolean present = FALSE;

  if (reader == NULL
      || (page->items = read_items (reader, "items", read_event_item, error)) == NULL
      || !wb_json_reader_get_int64 (reader, "total", 0, G_MAXINT64, &present, &page->total, error)
      || (!present && !wb_json_reader_fail (reader, "total", error, "is required")))
    {
      page_free (page);
      return NULL;
    }
  return page;
}

/**
 * wb_client_list_shipment_events_async:
 * @limit: page size (1…500), 0 for the server's default
 * @offset: events to skip
 */
void
wb_client_list_shipment_events_async (WbClient            *self,
                                      const char          *shipment_id,
                                      guint                limit,
                                      guint                offset,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  g_autoptr(GString) path = g_string_new ("/shipments/");
  char separator = '?';

  g_return_if_fail (WB_IS_CLIENT (self));
  g_return_if_fail (shipment_id != NULL);

  g_string_append_uri_escaped (path, shipment_id, NULL, FALSE);
  g_string_append (path, "/events");
  if (limit > 0)
    {
      g_string_append_printf (path, "%climit=%u", separator, limit);
      separator = '&';
    }
  if (offset > 0)
    g_string_append_printf (path, "%coffset=%u", separator, offset);
  _wb_client_call_typed (self, path->str, "GET /shipments/{id}/events", read_event_page, page_free,
                         wb_client_list_shipment_events_async, cancellable, callback, user_data);
}

/**
 * wb_client_list_shipment_events_finish:
 * @out_total: (out) (optional): how many events the shipment has in all
 *
 * Returns: (transfer container) (element-type WbClientShipmentEvent): the
 *   events, newest first
 */
GPtrArray *
wb_client_list_shipment_events_finish (WbClient      *self,
                                       GAsyncResult  *result,
                                       guint64       *out_total,
                                       GError       **error)
{
  Page *page;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  page = g_task_propagate_pointer (G_TASK (result), error);
  if (page == NULL)
    return NULL;
  if (out_total != NULL)
    *out_total = (guint64) page->total;
  return page_steal (page);
}
