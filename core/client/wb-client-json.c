// SPDX-License-Identifier: GPL-3.0-or-later
/* Small readers the client's typed answers share. */

#include "config.h"

#include "wb-client-json-private.h"
#include "wb-time.h"

#include <gio/gio.h>

gboolean
_wb_client_read_time (WbJsonReader  *reader,
                      const char    *member,
                      gboolean       required,
                      gint64        *out_us,
                      GError       **error)
{
  g_autoptr(GError) local_error = NULL;
  const char *text = NULL;
  gboolean guessed = FALSE;

  *out_us = 0;
  if (!wb_json_reader_peek_string (reader, member, required, 64, &text, error))
    return FALSE;
  if (text == NULL)
    return TRUE;
  /* A server time always carries its zone: one without is not ours. */
  if (!wb_time_parse (text, NULL, out_us, &guessed, &local_error) || guessed)
    return wb_json_reader_fail (reader, member, error, "must be an RFC 3339 time with a zone");
  return TRUE;
}

gboolean
_wb_client_read_number (WbJsonReader  *reader,
                        const char    *member,
                        double         min,
                        double         max,
                        double        *out_value,
                        GError       **error)
{
  gboolean present = FALSE;

  if (!wb_json_reader_get_double (reader, member, min, max, &present, out_value, error))
    return FALSE;
  if (!present)
    return wb_json_reader_fail (reader, member, error, "is required");
  return TRUE;
}

void
_wb_client_page_free (gpointer data)
{
  WbClientPage *page = data;

  if (page == NULL)
    return;
  g_clear_pointer (&page->items, g_ptr_array_unref);
  g_free (page->cursor);
  g_free (page);
}

WbClientPage *
_wb_client_read_page (JsonNode          *node,
                      WbClientReadItem   read_item,
                      GError           **error)
{
  g_autoptr(WbJsonReader) reader = wb_json_reader_new_for_node (node, "", error);
  WbClientPage *page = g_new0 (WbClientPage, 1);
  guint length = 0;

  page->items = g_ptr_array_new_with_free_func (g_object_unref);
  if (reader == NULL || !wb_json_reader_get_array_length (reader, "items", &length, error))
    goto failed;
  for (guint i = 0; i < length; i++)
    {
      g_autoptr(WbJsonReader) element = wb_json_reader_get_array_element (reader, "items", i, error);
      gpointer item = element != NULL ? read_item (element, error) : NULL;

      if (item == NULL)
        goto failed;
      g_ptr_array_add (page->items, item);
    }
  if (!wb_json_reader_get_string (reader, "nextCursor", FALSE, &page->cursor, error))
    goto failed;
  return page;

failed:
  _wb_client_page_free (page);
  return NULL;
}

GPtrArray *
_wb_client_page_finish (GAsyncResult  *result,
                        char         **out_next_cursor,
                        GError       **error)
{
  WbClientPage *page = g_task_propagate_pointer (G_TASK (result), error);
  GPtrArray *items;

  if (page == NULL)
    return NULL;
  if (out_next_cursor != NULL)
    *out_next_cursor = g_steal_pointer (&page->cursor);
  items = g_steal_pointer (&page->items);
  _wb_client_page_free (page);
  return items;
}
