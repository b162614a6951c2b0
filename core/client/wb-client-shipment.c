// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include "wb-client-json-private.h"
#include "wb-client-shipment.h"

struct _WbClientShipment
{
  GObject          parent_instance;
  char            *id;
  char            *client_id;
  char            *reference;
  char            *service_level;
  gint64           version;
  char            *recipient_name;
  char            *recipient_phone;
  char            *recipient_email;
  gboolean         has_origin;
  WbClientAddress  origin;
  WbClientAddress  destination;
  char            *status;
  char            *status_reason;
  gint64           status_at;
  gint64           promised_at;
  gint64           eta;
  char            *eta_source;
  char            *sla_state;
  gint64           overdue_since;
  gint64           late_by_seconds;
  gint64           created_at;
  gint64           updated_at;
  gint64           closed_at;
  GArray          *trackings;      /* WbClientShipmentTracking */
  gboolean         has_live;
  double           live_lat;
  double           live_lon;
  gint64           live_at;
};

G_DEFINE_FINAL_TYPE (WbClientShipment, wb_client_shipment, G_TYPE_OBJECT)

static void
address_clear (WbClientAddress *address)
{
  g_clear_pointer (&address->country, g_free);
  g_clear_pointer (&address->region, g_free);
  g_clear_pointer (&address->city, g_free);
  g_clear_pointer (&address->line1, g_free);
  g_clear_pointer (&address->line2, g_free);
  g_clear_pointer (&address->postal_code, g_free);
}

static void
wb_client_shipment_finalize (GObject *object)
{
  WbClientShipment *self = WB_CLIENT_SHIPMENT (object);

  g_free (self->id);
  g_free (self->client_id);
  g_free (self->reference);
  g_free (self->service_level);
  g_free (self->recipient_name);
  g_free (self->recipient_phone);
  g_free (self->recipient_email);
  address_clear (&self->origin);
  g_clear_pointer (&self->trackings, g_array_unref);
  address_clear (&self->destination);
  g_free (self->status);
  g_free (self->status_reason);
  g_free (self->eta_source);
  g_free (self->sla_state);
  G_OBJECT_CLASS (wb_client_shipment_parent_class)->finalize (object);
}

static void
wb_client_shipment_class_init (WbClientShipmentClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = wb_client_shipment_finalize;
}

static void
wb_client_shipment_init (WbClientShipment *self)
{
  self->late_by_seconds = -1;
}

static gboolean
read_address (WbJsonReader     *parent,
              const char       *member,
              gboolean          required,
              gboolean         *out_present,
              WbClientAddress  *address,
              GError          **error)
{
  g_autoptr(WbJsonReader) reader = NULL;
  g_autoptr(GError) local_error = NULL;
  gboolean has_lat = FALSE, has_lon = FALSE;

  reader = wb_json_reader_get_object_member (parent, member, required, &local_error);
  if (reader == NULL)
    {
      *out_present = FALSE;
      if (local_error == NULL)
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  *out_present = TRUE;
  if (!wb_json_reader_get_string (reader, "country", TRUE, &address->country, error)
      || !wb_json_reader_get_string (reader, "region", FALSE, &address->region, error)
      || !wb_json_reader_get_string (reader, "city", FALSE, &address->city, error)
      || !wb_json_reader_get_string (reader, "line1", FALSE, &address->line1, error)
      || !wb_json_reader_get_string (reader, "line2", FALSE, &address->line2, error)
      || !wb_json_reader_get_string (reader, "postalCode", FALSE, &address->postal_code, error)
      || !wb_json_reader_get_double (reader, "lat", -90, 90, &has_lat, &address->lat, error)
      || !wb_json_reader_get_double (reader, "lon", -180, 180, &has_lon, &address->lon, error))
    return FALSE;
  address->has_position = has_lat && has_lon;
  return TRUE;
}

static gboolean
read_recipient (WbJsonReader      *parent,
                WbClientShipment  *self,
                GError           **error)
{
  g_autoptr(WbJsonReader) reader = wb_json_reader_get_object_member (parent, "recipient", TRUE, error);

  return reader != NULL
         && wb_json_reader_get_string (reader, "name", FALSE, &self->recipient_name, error)
         && wb_json_reader_get_string (reader, "phone", FALSE, &self->recipient_phone, error)
         && wb_json_reader_get_string (reader, "email", FALSE, &self->recipient_email, error);
}

static gboolean
read_sla (WbJsonReader      *parent,
          WbClientShipment  *self,
          GError           **error)
{
  g_autoptr(WbJsonReader) reader = wb_json_reader_get_object_member (parent, "sla", TRUE, error);
  gboolean present = FALSE;

  if (reader == NULL
      || !wb_json_reader_get_string (reader, "state", TRUE, &self->sla_state, error)
      || !_wb_client_read_time (reader, "overdueSince", FALSE, &self->overdue_since, error)
      || !wb_json_reader_get_int64 (reader, "lateBySeconds", 0, G_MAXINT64, &present, &self->late_by_seconds, error))
    return FALSE;
  if (!present)
    self->late_by_seconds = -1;
  return TRUE;
}

static gboolean
read_times (WbJsonReader      *reader,
            WbClientShipment  *self,
            GError           **error)
{
  return _wb_client_read_time (reader, "statusAt", TRUE, &self->status_at, error)
         && _wb_client_read_time (reader, "promisedAt", TRUE, &self->promised_at, error)
         && _wb_client_read_time (reader, "eta", TRUE, &self->eta, error)
         && _wb_client_read_time (reader, "createdAt", TRUE, &self->created_at, error)
         && _wb_client_read_time (reader, "updatedAt", TRUE, &self->updated_at, error)
         && _wb_client_read_time (reader, "closedAt", FALSE, &self->closed_at, error);
}

static void
tracking_clear (gpointer data)
{
  WbClientShipmentTracking *tracking = data;

  g_clear_pointer (&tracking->carrier, g_free);
  g_clear_pointer (&tracking->track_number, g_free);
  g_clear_pointer (&tracking->status, g_free);
}

static gboolean
read_trackings (WbJsonReader      *reader,
                WbClientShipment  *self,
                GError           **error)
{
  guint length = 0;

  self->trackings = g_array_new (FALSE, TRUE, sizeof (WbClientShipmentTracking));
  g_array_set_clear_func (self->trackings, tracking_clear);
  if (!wb_json_reader_has_member (reader, "trackings"))
    return TRUE;
  if (!wb_json_reader_get_array_length (reader, "trackings", &length, error))
    return FALSE;
  for (guint i = 0; i < length; i++)
    {
      g_autoptr(WbJsonReader) item = wb_json_reader_get_array_element (reader, "trackings", i, error);
      WbClientShipmentTracking tracking = { 0 };
      gboolean present = FALSE;

      if (item == NULL
          || !wb_json_reader_get_int64 (item, "id", 0, G_MAXINT64, &present, &tracking.id, error)
          || !wb_json_reader_get_string (item, "carrier", TRUE, &tracking.carrier, error)
          || !wb_json_reader_get_string (item, "trackNumber", TRUE, &tracking.track_number, error)
          || !wb_json_reader_get_string (item, "status", FALSE, &tracking.status, error)
          || !_wb_client_read_time (item, "lastCheckedAt", FALSE, &tracking.last_checked_at, error))
        {
          tracking_clear (&tracking);
          return FALSE;
        }
      g_array_append_val (self->trackings, tracking);
    }
  return TRUE;
}

static gboolean
read_live_location (WbJsonReader      *reader,
                    WbClientShipment  *self,
                    GError           **error)
{
  g_autoptr(WbJsonReader) live = NULL;
  GError *local = NULL;

  if (!wb_json_reader_has_member (reader, "liveLocation"))
    return TRUE;
  live = wb_json_reader_get_object_member (reader, "liveLocation", FALSE, &local);
  if (local != NULL)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  if (live == NULL)
    return TRUE;
  if (!_wb_client_read_number (live, "lat", -90, 90, &self->live_lat, error)
      || !_wb_client_read_number (live, "lon", -180, 180, &self->live_lon, error)
      || !_wb_client_read_time (live, "at", FALSE, &self->live_at, error))
    return FALSE;
  self->has_live = TRUE;
  return TRUE;
}

/**
 * wb_client_shipment_read:
 *
 * Reads one shipment object; errors are WB_JSON_ERROR naming the member.
 *
 * Returns: (transfer full): the shipment
 */
WbClientShipment *
wb_client_shipment_read (WbJsonReader  *reader,
                         GError       **error)
{
  g_autoptr(WbClientShipment) self = g_object_new (WB_TYPE_CLIENT_SHIPMENT, NULL);
  gboolean present = FALSE;

  g_return_val_if_fail (reader != NULL, NULL);

  if (!wb_json_reader_get_string (reader, "id", TRUE, &self->id, error)
      || !wb_json_reader_get_string (reader, "clientId", TRUE, &self->client_id, error)
      || !wb_json_reader_get_string (reader, "reference", FALSE, &self->reference, error)
      || !wb_json_reader_get_string (reader, "serviceLevel", FALSE, &self->service_level, error)
      || !wb_json_reader_get_int64 (reader, "version", 1, G_MAXINT64, &present, &self->version, error)
      || (!present && !wb_json_reader_fail (reader, "version", error, "is required"))
      || !read_recipient (reader, self, error)
      || !read_address (reader, "origin", FALSE, &self->has_origin, &self->origin, error)
      || !read_address (reader, "destination", TRUE, &present, &self->destination, error)
      || !wb_json_reader_get_string (reader, "status", TRUE, &self->status, error)
      || !wb_json_reader_get_string (reader, "statusReason", FALSE, &self->status_reason, error)
      || !wb_json_reader_get_string (reader, "etaSource", TRUE, &self->eta_source, error)
      || !read_sla (reader, self, error)
      || !read_times (reader, self, error)
      || !read_trackings (reader, self, error)
      || !read_live_location (reader, self, error))
    return NULL;
  return g_steal_pointer (&self);
}

#define GETTER(type, name, member) \
  type \
  wb_client_shipment_get_##name (WbClientShipment *self) \
  { \
    g_return_val_if_fail (WB_IS_CLIENT_SHIPMENT (self), 0); \
    return self->member; \
  }

GETTER (const char *, id, id)
GETTER (const char *, client_id, client_id)
GETTER (const char *, reference, reference)
GETTER (const char *, service_level, service_level)
GETTER (gint64, version, version)
GETTER (const char *, recipient_name, recipient_name)
GETTER (const char *, recipient_phone, recipient_phone)
GETTER (const char *, recipient_email, recipient_email)
GETTER (const char *, status, status)
GETTER (const char *, status_reason, status_reason)
GETTER (gint64, status_at, status_at)
GETTER (gint64, promised_at, promised_at)
GETTER (gint64, eta, eta)
GETTER (const char *, eta_source, eta_source)
GETTER (const char *, sla_state, sla_state)
GETTER (gint64, overdue_since, overdue_since)
GETTER (gint64, late_by_seconds, late_by_seconds)
GETTER (gint64, created_at, created_at)
GETTER (gint64, updated_at, updated_at)
GETTER (gint64, closed_at, closed_at)

guint
wb_client_shipment_get_n_trackings (WbClientShipment *self)
{
  g_return_val_if_fail (WB_IS_CLIENT_SHIPMENT (self), 0);
  return self->trackings ? self->trackings->len : 0;
}

const WbClientShipmentTracking *
wb_client_shipment_get_tracking (WbClientShipment *self,
                                 guint             index)
{
  g_return_val_if_fail (WB_IS_CLIENT_SHIPMENT (self), NULL);
  if (self->trackings == NULL || index >= self->trackings->len)
    return NULL;
  return &g_array_index (self->trackings, WbClientShipmentTracking, index);
}

gboolean
wb_client_shipment_get_live_location (WbClientShipment *self,
                                      double           *out_lat,
                                      double           *out_lon,
                                      gint64           *out_at)
{
  g_return_val_if_fail (WB_IS_CLIENT_SHIPMENT (self), FALSE);

  if (!self->has_live)
    return FALSE;
  if (out_lat != NULL)
    *out_lat = self->live_lat;
  if (out_lon != NULL)
    *out_lon = self->live_lon;
  if (out_at != NULL)
    *out_at = self->live_at;
  return TRUE;
}

const WbClientAddress *
wb_client_shipment_get_origin (WbClientShipment *self)
{
  g_return_val_if_fail (WB_IS_CLIENT_SHIPMENT (self), NULL);
  return self->has_origin ? &self->origin : NULL;
}

const WbClientAddress *
wb_client_shipment_get_destination (WbClientShipment *self)
{
  g_return_val_if_fail (WB_IS_CLIENT_SHIPMENT (self), NULL);
  return &self->destination;
}
