// SPDX-License-Identifier: GPL-3.0-or-later
/* DHL Shipment Tracking – Unified API: GET {base-url}/track/shipments?
 * trackingNumber=… with the DHL-API-Key header. The answer is the same
 * document the tracker role reads from external.dhl.responses, so it is
 * decoded by that one decoder (statusCode through data/status-maps/dhl.tsv,
 * content-hash event ids, zoneless timestamps flagged). A 404 is DHL's
 * problem+json "No result found": the number is not known yet. */

#include "config.h"

#include "wb-carrier-http-private.h"
#include "wb-carrier-messages.h"
#include "wb-polling.h"

struct _WbDhlDriver
{
  GObject      parent_instance;
  char        *code;
  char        *base_url;
  char        *api_key;    /* secret: a header, never logged */
  WbStatusMap *map;
  SoupSession *session;
};

G_DECLARE_FINAL_TYPE (WbDhlDriver, _wb_dhl_driver, WB, DHL_DRIVER, GObject)

static void driver_iface_init (WbCarrierDriverInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (WbDhlDriver, _wb_dhl_driver, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (WB_TYPE_CARRIER_DRIVER, driver_iface_init))

static void
_wb_dhl_driver_finalize (GObject *object)
{
  WbDhlDriver *self = WB_DHL_DRIVER (object);

  g_clear_object (&self->session);
  g_clear_pointer (&self->map, wb_status_map_unref);
  g_free (self->code);
  g_free (self->base_url);
  g_free (self->api_key);
  G_OBJECT_CLASS (_wb_dhl_driver_parent_class)->finalize (object);
}

static void
_wb_dhl_driver_class_init (WbDhlDriverClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = _wb_dhl_driver_finalize;
}

static void
_wb_dhl_driver_init (WbDhlDriver *self)
{
}

static WbCarrierReply *
parse_body (gpointer    driver,
            const char *track_number,
            GBytes     *body)
{
  WbDhlDriver *self = driver;
  g_autoptr(GError) error = NULL;
  gsize length;
  const char *data = g_bytes_get_data (body, &length);
  g_autoptr(WbCarrierMessage) message = wb_carrier_message_decode (WB_CARRIER_MESSAGE_DHL_RESPONSE, data, length,
                                                                   self->map, &error);
  g_autoptr(WbCarrierReply) reply = NULL;

  if (message == NULL)
    return _wb_carrier_reply_failed ("unreadable answer: %s", error->message);
  reply = wb_carrier_reply_new (WB_CARRIER_REPLY_OK);
  for (guint i = 0; i < message->events->len; i++)
    {
      WbStatusEvent *event = g_ptr_array_steal_index (message->events, i--);

      /* DHL may answer for a piece or a related number: keep only ours. */
      if (g_strcmp0 (event->track_number, track_number) != 0)
        {
          wb_status_event_free (event);
          continue;
        }
      g_free (event->source);
      event->source = g_strdup (self->code);
      g_free (event->carrier);
      event->carrier = g_strdup (self->code);
      g_ptr_array_add (reply->events, event);
    }
  if (message->rejected->len > 0)
    g_message ("DHL answer for a number of carrier %s: %s", self->code,
               ((GError *) g_ptr_array_index (message->rejected, 0))->message);
  return g_steal_pointer (&reply);
}

static void
fetch_async (WbCarrierDriver     *driver,
             const char          *track_number,
             GCancellable        *cancellable,
             GAsyncReadyCallback  callback,
             gpointer             user_data)
{
  WbDhlDriver *self = WB_DHL_DRIVER (driver);
  g_autofree char *number = g_uri_escape_string (track_number, NULL, FALSE);
  g_autofree char *uri = g_strdup_printf ("%s/track/shipments?trackingNumber=%s", self->base_url, number);
  const char *headers[] = { "DHL-API-Key", self->api_key ? self->api_key : "", "Accept", "application/json", NULL };

  _wb_carrier_http_get (self, self->session, uri, headers, track_number, parse_body, cancellable, callback,
                        user_data);
}

static WbCarrierReply *
fetch_finish (WbCarrierDriver  *driver,
              GAsyncResult     *result,
              GError          **error)
{
  return _wb_carrier_http_finish (result, error);
}

static void
driver_iface_init (WbCarrierDriverInterface *iface)
{
  iface->fetch_async = fetch_async;
  iface->fetch_finish = fetch_finish;
}

WbCarrierDriver *
_wb_dhl_driver_new (const WbCarrierConfig *config,
                    WbStatusMap           *map)
{
  WbDhlDriver *self = g_object_new (_wb_dhl_driver_get_type (), NULL);

  self->code = g_strdup (config->code);
  self->base_url = g_strdup (config->base_url);
  self->api_key = g_strdup (config->api_key);
  self->map = wb_status_map_ref (map);
  self->session = _wb_carrier_session_new (config);
  return WB_CARRIER_DRIVER (self);
}
