// SPDX-License-Identifier: GPL-3.0-or-later
/* A tracking, a carrier's figures and the trackings query, as the console
 * reads and asks for them. */
#include "config.h"

#include "wb-client-json-private.h"
#include "wb-client-tracking.h"

struct _WbClientTracking
{
  GObject  parent_instance;
  gint64   id;
  char    *carrier_code;
  char    *track_number;
  char    *shipment_id;
  char    *status;
  char    *status_raw;
  gint64   status_at;
  gint64   last_checked_at;
  gint64   next_check_at;
  char    *last_error;
  guint    consecutive_errors;
};

G_DEFINE_FINAL_TYPE (WbClientTracking, wb_client_tracking, G_TYPE_OBJECT)

static void
wb_client_tracking_finalize (GObject *object)
{
  WbClientTracking *self = WB_CLIENT_TRACKING (object);

  g_free (self->carrier_code);
  g_free (self->track_number);
  g_free (self->shipment_id);
  g_free (self->status);
  g_free (self->status_raw);
  g_free (self->last_error);
  G_OBJECT_CLASS (wb_client_tracking_parent_class)->finalize (object);
}

static void
wb_client_tracking_class_init (WbClientTrackingClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = wb_client_tracking_finalize;
}

static void
wb_client_tracking_init (WbClientTracking *self)
{
}

static gboolean
read_required_int (WbJsonReader  *reader,
                   const char    *member,
                   gint64         min,
                   gint64        *out_value,
                   GError       **error)
{
  gboolean present = FALSE;

  if (!wb_json_reader_get_int64 (reader, member, min, G_MAXINT64, &present, out_value, error))
    return FALSE;
  return present || wb_json_reader_fail (reader, member, error, "is required");
}

/**
 * wb_client_tracking_read:
 *
 * Returns: (transfer full) (nullable): the tracking, or %NULL with a
 *   WB_JSON_ERROR naming the member at fault
 */
WbClientTracking *
wb_client_tracking_read (WbJsonReader  *reader,
                         GError       **error)
{
  g_autoptr(WbClientTracking) self = g_object_new (WB_TYPE_CLIENT_TRACKING, NULL);
  gint64 errors = 0;
  gboolean present = FALSE;

  if (!read_required_int (reader, "id", 1, &self->id, error)
      || !wb_json_reader_get_string (reader, "carrierCode", TRUE, &self->carrier_code, error)
      || !wb_json_reader_get_string (reader, "trackNumber", TRUE, &self->track_number, error)
      || !wb_json_reader_get_string (reader, "shipmentId", FALSE, &self->shipment_id, error)
      || !wb_json_reader_get_string (reader, "status", TRUE, &self->status, error)
      || !wb_json_reader_get_string (reader, "statusRaw", FALSE, &self->status_raw, error)
      || !_wb_client_read_time (reader, "statusAt", FALSE, &self->status_at, error)
      || !_wb_client_read_time (reader, "lastCheckedAt", FALSE, &self->last_checked_at, error)
      || !_wb_client_read_time (reader, "nextCheckAt", FALSE, &self->next_check_at, error)
      || !wb_json_reader_get_string (reader, "lastError", FALSE, &self->last_error, error)
      || !wb_json_reader_get_int64 (reader, "consecutiveErrors", 0, G_MAXUINT32, &present, &errors, error))
    return NULL;
  self->consecutive_errors = (guint) errors;
  return g_steal_pointer (&self);
}

gint64
wb_client_tracking_get_id (WbClientTracking *self)
{
  g_return_val_if_fail (WB_IS_CLIENT_TRACKING (self), 0);
  return self->id;
}

const char *
wb_client_tracking_get_carrier_code (WbClientTracking *self)
{
  g_return_val_if_fail (WB_IS_CLIENT_TRACKING (self), NULL);
  return self->carrier_code;
}

const char *
wb_client_tracking_get_track_number (WbClientTracking *self)
{
  g_return_val_if_fail (WB_IS_CLIENT_TRACKING (self), NULL);
  return self->track_number;
}

const char *
wb_client_tracking_get_shipment_id (WbClientTracking *self)
{
  g_return_val_if_fail (WB_IS_CLIENT_TRACKING (self), NULL);
  return self->shipment_id;
}

const char *
wb_client_tracking_get_status (WbClientTracking *self)
{
  g_return_val_if_fail (WB_IS_CLIENT_TRACKING (self), NULL);
  return self->status;
}

const char *
wb_client_tracking_get_status_raw (WbClientTracking *self)
{
  g_return_val_if_fail (WB_IS_CLIENT_TRACKING (self), NULL);
  return self->status_raw;
}

gint64
wb_client_tracking_get_status_at (WbClientTracking *self)
{
  g_return_val_if_fail (WB_IS_CLIENT_TRACKING (self), 0);
  return self->status_at;
}

gint64
wb_client_tracking_get_last_checked_at (WbClientTracking *self)
{
  g_return_val_if_fail (WB_IS_CLIENT_TRACKING (self), 0);
  return self->last_checked_at;
}

gint64
wb_client_tracking_get_next_check_at (WbClientTracking *self)
{
  g_return_val_if_fail (WB_IS_CLIENT_TRACKING (self), 0);
  return self->next_check_at;
}

const char *
wb_client_tracking_get_last_error (WbClientTracking *self)
{
  g_return_val_if_fail (WB_IS_CLIENT_TRACKING (self), NULL);
  return self->last_error;
}

guint
wb_client_tracking_get_consecutive_errors (WbClientTracking *self)
{
  g_return_val_if_fail (WB_IS_CLIENT_TRACKING (self), 0);
  return self->consecutive_errors;
}

/* ---- the query ------------------------------------------------------------ */

WbClientTrackingQuery *
wb_client_tracking_query_new (void)
{
  return g_new0 (WbClientTrackingQuery, 1);
}

WbClientTrackingQuery *
wb_client_tracking_query_copy (const WbClientTrackingQuery *query)
{
  WbClientTrackingQuery *copy = g_new0 (WbClientTrackingQuery, 1);

  copy->carrier = g_strdup (query->carrier);
  copy->status = g_strdup (query->status);
  copy->erroring = query->erroring;
  copy->limit = query->limit;
  return copy;
}

void
wb_client_tracking_query_free (WbClientTrackingQuery *query)
{
  if (query == NULL)
    return;
  g_free (query->carrier);
  g_free (query->status);
  g_free (query);
}

static void
append_param (GString    *path,
              const char *name,
              const char *value)
{
  g_string_append_c (path, strchr (path->str, '?') ? '&' : '?');
  g_string_append (path, name);
  g_string_append_c (path, '=');
  g_string_append_uri_escaped (path, value, NULL, FALSE);
}

char *
wb_client_tracking_query_to_path (const WbClientTrackingQuery *query,
                                  const char                  *cursor)
{
  GString *path = g_string_new ("/trackings");

  if (query->carrier != NULL)
    append_param (path, "carrier", query->carrier);
  if (query->status != NULL)
    append_param (path, "status", query->status);
  if (query->erroring)
    append_param (path, "erroring", "true");
  if (query->limit > 0)
    {
      g_autofree char *limit = g_strdup_printf ("%u", query->limit);

      append_param (path, "limit", limit);
    }
  if (cursor != NULL)
    append_param (path, "cursor", cursor);
  return g_string_free (path, FALSE);
}

void
wb_client_tracking_added_free (WbClientTrackingAdded *added)
{
  if (added == NULL)
    return;
  g_free (added->error_field);
  g_free (added->error_message);
  g_free (added);
}

void
wb_client_carrier_free (WbClientCarrier *carrier)
{
  if (carrier == NULL)
    return;
  g_free (carrier->code);
  g_free (carrier->driver);
  g_free (carrier->breaker);
  g_clear_pointer (&carrier->last_hour, g_array_unref);
  g_free (carrier);
}
