// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include "wb-client-json-private.h"
#include "wb-client-shipment-event.h"

struct _WbClientShipmentEvent
{
  GObject   parent_instance;
  char     *id;
  char     *event_id;
  char     *source;
  char     *status;
  char     *reason;
  char     *status_raw;
  gint64    occurred_at;
  char     *occurred_at_raw;
  gboolean  zone_guessed;
  char     *location_text;
  gboolean  has_position;
  double    lat;
  double    lon;
  char     *description;
  gboolean  correction;
  gboolean  applied;
  gint64    received_at;
};

G_DEFINE_FINAL_TYPE (WbClientShipmentEvent, wb_client_shipment_event, G_TYPE_OBJECT)

static void
wb_client_shipment_event_finalize (GObject *object)
{
  WbClientShipmentEvent *self = WB_CLIENT_SHIPMENT_EVENT (object);

  g_free (self->id);
  g_free (self->event_id);
  g_free (self->source);
  g_free (self->status);
  g_free (self->reason);
  g_free (self->status_raw);
  g_free (self->occurred_at_raw);
  g_free (self->location_text);
  g_free (self->description);
  G_OBJECT_CLASS (wb_client_shipment_event_parent_class)->finalize (object);
}

static void
wb_client_shipment_event_class_init (WbClientShipmentEventClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = wb_client_shipment_event_finalize;
}

static void
wb_client_shipment_event_init (WbClientShipmentEvent *self)
{
}

/* The API writes the stored event's id as a number or a string. */
static gboolean
read_id (WbJsonReader  *reader,
         char         **out_id,
         GError       **error)
{
  JsonNode *node = wb_json_reader_get_node (reader, "id");

  if (node != NULL && JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_INT64)
    {
      *out_id = g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
      return TRUE;
    }
  return wb_json_reader_get_string (reader, "id", TRUE, out_id, error);
}

static gboolean
read_location (WbJsonReader           *parent,
               WbClientShipmentEvent  *self,
               GError                **error)
{
  g_autoptr(WbJsonReader) reader = NULL;
  g_autoptr(GError) local_error = NULL;

  reader = wb_json_reader_get_object_member (parent, "location", FALSE, &local_error);
  if (reader == NULL)
    {
      if (local_error == NULL)
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  {
    gboolean has_lat = FALSE, has_lon = FALSE;

    if (!wb_json_reader_get_string (reader, "text", FALSE, &self->location_text, error)
        || !wb_json_reader_get_double (reader, "lat", -90, 90, &has_lat, &self->lat, error)
        || !wb_json_reader_get_double (reader, "lon", -180, 180, &has_lon, &self->lon, error))
      return FALSE;
    self->has_position = has_lat && has_lon;
  }
  return TRUE;
}

gboolean
wb_client_shipment_event_get_position (WbClientShipmentEvent *self,
                                       double                *out_lat,
                                       double                *out_lon)
{
  g_return_val_if_fail (WB_IS_CLIENT_SHIPMENT_EVENT (self), FALSE);

  if (!self->has_position)
    return FALSE;
  if (out_lat != NULL)
    *out_lat = self->lat;
  if (out_lon != NULL)
    *out_lon = self->lon;
  return TRUE;
}

/**
 * wb_client_shipment_event_read:
 *
 * Reads one event object; errors are WB_JSON_ERROR naming the member.
 *
 * Returns: (transfer full): the event
 */
WbClientShipmentEvent *
wb_client_shipment_event_read (WbJsonReader  *reader,
                               GError       **error)
{
  g_autoptr(WbClientShipmentEvent) self = g_object_new (WB_TYPE_CLIENT_SHIPMENT_EVENT, NULL);

  g_return_val_if_fail (reader != NULL, NULL);

  if (!read_id (reader, &self->id, error)
      || !wb_json_reader_get_string (reader, "eventId", TRUE, &self->event_id, error)
      || !wb_json_reader_get_string (reader, "source", TRUE, &self->source, error)
      || !wb_json_reader_get_string (reader, "status", TRUE, &self->status, error)
      || !wb_json_reader_get_string (reader, "reason", FALSE, &self->reason, error)
      || !wb_json_reader_get_string (reader, "statusRaw", FALSE, &self->status_raw, error)
      || !_wb_client_read_time (reader, "occurredAt", TRUE, &self->occurred_at, error)
      || !wb_json_reader_get_string (reader, "occurredAtRaw", FALSE, &self->occurred_at_raw, error)
      || !wb_json_reader_get_boolean (reader, "zoneGuessed", &self->zone_guessed, error)
      || !read_location (reader, self, error)
      || !wb_json_reader_get_string (reader, "description", FALSE, &self->description, error)
      || !wb_json_reader_get_boolean (reader, "correction", &self->correction, error)
      || !wb_json_reader_get_boolean (reader, "applied", &self->applied, error)
      || !_wb_client_read_time (reader, "receivedAt", TRUE, &self->received_at, error))
    return NULL;
  return g_steal_pointer (&self);
}

#define GETTER(type, name) \
  type \
  wb_client_shipment_event_get_##name (WbClientShipmentEvent *self) \
  { \
    g_return_val_if_fail (WB_IS_CLIENT_SHIPMENT_EVENT (self), 0); \
    return self->name; \
  }

GETTER (const char *, id)
GETTER (const char *, event_id)
GETTER (const char *, source)
GETTER (const char *, status)
GETTER (const char *, reason)
GETTER (const char *, status_raw)
GETTER (gint64, occurred_at)
GETTER (const char *, occurred_at_raw)
GETTER (gboolean, zone_guessed)
GETTER (const char *, location_text)
GETTER (const char *, description)
GETTER (gboolean, correction)
GETTER (gboolean, applied)
GETTER (gint64, received_at)
