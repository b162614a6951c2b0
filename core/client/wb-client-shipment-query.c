// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include <string.h>

#include "wb-client-shipment-query.h"
#include "wb-time.h"

G_DEFINE_BOXED_TYPE (WbClientShipmentQuery, wb_client_shipment_query, wb_client_shipment_query_copy, wb_client_shipment_query_free)

WbClientShipmentQuery *
wb_client_shipment_query_new (void)
{
  return g_new0 (WbClientShipmentQuery, 1);
}

WbClientShipmentQuery *
wb_client_shipment_query_copy (const WbClientShipmentQuery *self)
{
  WbClientShipmentQuery *copy;

  g_return_val_if_fail (self != NULL, NULL);

  copy = g_memdup2 (self, sizeof *self);
  copy->phone = g_strdup (self->phone);
  copy->country = g_strdup (self->country);
  copy->statuses = g_strdupv (self->statuses);
  copy->client_id = g_strdup (self->client_id);
  return copy;
}

void
wb_client_shipment_query_free (WbClientShipmentQuery *self)
{
  if (self == NULL)
    return;
  g_free (self->phone);
  g_free (self->country);
  g_strfreev (self->statuses);
  g_free (self->client_id);
  g_free (self);
}

static void
append_parameter (GString    *path,
                  const char *name,
                  const char *value)
{
  if (value == NULL || *value == '\0')
    return;
  g_string_append_c (path, strchr (path->str, '?') ? '&' : '?');
  g_string_append (path, name);
  g_string_append_c (path, '=');
  g_string_append_uri_escaped (path, value, NULL, FALSE);
}

static void
append_time (GString    *path,
             const char *name,
             gint64      us)
{
  g_autofree char *text = us != 0 ? wb_time_format (us) : NULL;

  append_parameter (path, name, text);
}

char *
wb_client_shipment_query_to_path (const WbClientShipmentQuery *self,
                           const char            *cursor)
{
  GString *path = g_string_new ("/shipments/search");

  g_return_val_if_fail (self != NULL, NULL);

  for (guint i = 0; self->statuses != NULL && self->statuses[i] != NULL; i++)
    append_parameter (path, "status", self->statuses[i]);
  append_parameter (path, "clientId", self->client_id);
  append_parameter (path, "phone", self->phone);
  if (self->phone != NULL && *self->phone != '\0')
    append_parameter (path, "country", self->country);
  append_time (path, "createdFrom", self->created_from);
  append_time (path, "createdTo", self->created_to);
  append_time (path, "updatedFrom", self->updated_from);
  append_time (path, "updatedTo", self->updated_to);
  if (self->overdue)
    append_parameter (path, "overdue", "true");
  if (self->limit > 0)
    {
      g_autofree char *limit = g_strdup_printf ("%u", self->limit);

      append_parameter (path, "limit", limit);
    }
  append_parameter (path, "cursor", cursor);
  return g_string_free (path, FALSE);
}
