// SPDX-License-Identifier: GPL-3.0-or-later
/* The driver of the carrier emulator (WbCarrierEmulator, `waybill-sim
 * carrier`): GET {base-url}/v1/tracking/{carrier}/{trackNumber}?apiKey=…
 * answers {"carrier","trackNumber","events":[{"id","code","time",
 * "location"?,"description"?}]}, oldest first, codes from the carrier's
 * status map (generic words by default). */

#include "config.h"

#include "wb-carrier-http-private.h"
#include "wb-json-reader.h"
#include "wb-polling.h"
#include "wb-time.h"

struct _WbEmulatorDriver
{
  GObject          parent_instance;
  char            *code;
  char            *base_url;
  char            *api_key;     /* secret: it travels in the URI, which is never logged */
  char            *status_map;
  WbStatusMap     *map;
  SoupSession     *session;
};

G_DECLARE_FINAL_TYPE (WbEmulatorDriver, _wb_emulator_driver, WB, EMULATOR_DRIVER, GObject)

static void driver_iface_init (WbCarrierDriverInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (WbEmulatorDriver, _wb_emulator_driver, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (WB_TYPE_CARRIER_DRIVER, driver_iface_init))

static void
_wb_emulator_driver_finalize (GObject *object)
{
  WbEmulatorDriver *self = WB_EMULATOR_DRIVER (object);

  g_clear_object (&self->session);
  g_clear_pointer (&self->map, wb_status_map_unref);
  g_free (self->code);
  g_free (self->base_url);
  g_free (self->api_key);
  g_free (self->status_map);
  G_OBJECT_CLASS (_wb_emulator_driver_parent_class)->finalize (object);
}

static void
_wb_emulator_driver_class_init (WbEmulatorDriverClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = _wb_emulator_driver_finalize;
}

static void
_wb_emulator_driver_init (WbEmulatorDriver *self)
{
}

static WbStatusEvent *
parse_event (WbEmulatorDriver  *self,
             WbJsonReader      *item,
             const char        *track_number,
             GError           **error)
{
  g_autoptr(WbStatusEvent) event = g_new0 (WbStatusEvent, 1);
  g_autofree char *id = NULL;
  g_autofree char *code = NULL;
  g_autoptr(GError) local_error = NULL;
  const char *reason = NULL;

  if (!wb_json_reader_get_string (item, "id", TRUE, &id, error)
      || !wb_json_reader_get_string (item, "code", TRUE, &code, error)
      || !wb_json_reader_get_string (item, "time", TRUE, &event->occurred_at_raw, error)
      || !wb_json_reader_get_string (item, "location", FALSE, &event->location_text, error)
      || !wb_json_reader_get_string (item, "description", FALSE, &event->description, error))
    return NULL;
  if (!wb_time_parse (event->occurred_at_raw, NULL, &event->occurred_at, &event->zone_guessed, &local_error))
    {
      wb_json_reader_fail (item, "time", error, "%s", local_error->message);
      return NULL;
    }
  if (!wb_status_map_lookup (self->map, self->status_map, code, &event->status, &reason, &local_error))
    {
      wb_json_reader_fail (item, "code", error, "%s", local_error->message);
      return NULL;
    }
  event->reason = g_strdup (reason);
  event->status_raw = g_strdup (code);
  event->event_id = g_strconcat (self->code, ":", id, NULL);
  event->source = g_strdup (self->code);
  event->carrier = g_strdup (self->code);
  event->track_number = g_strdup (track_number);
  return g_steal_pointer (&event);
}

static WbCarrierReply *
parse_body (gpointer    driver,
            const char *track_number,
            GBytes     *body)
{
  WbEmulatorDriver *self = driver;
  g_autoptr(GError) error = NULL;
  g_autoptr(WbJsonReader) reader = wb_json_reader_new_from_bytes (body, NULL, &error);
  g_autoptr(WbCarrierReply) reply = wb_carrier_reply_new (WB_CARRIER_REPLY_OK);
  guint n = 0;

  if (reader == NULL || !wb_json_reader_get_array_length (reader, "events", &n, &error))
    return _wb_carrier_reply_failed ("unreadable answer: %s", error->message);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(WbJsonReader) item = wb_json_reader_get_array_element (reader, "events", i, &error);
      WbStatusEvent *event = item ? parse_event (self, item, track_number, &error) : NULL;

      if (event == NULL)
        return _wb_carrier_reply_failed ("unreadable answer: %s", error->message);
      g_ptr_array_add (reply->events, event);
    }
  return g_steal_pointer (&reply);
}

static void
fetch_async (WbCarrierDriver     *driver,
             const char          *track_number,
             GCancellable        *cancellable,
             GAsyncReadyCallback  callback,
             gpointer             user_data)
{
  WbEmulatorDriver *self = WB_EMULATOR_DRIVER (driver);
  g_autofree char *carrier = g_uri_escape_string (self->code, NULL, FALSE);
  g_autofree char *number = g_uri_escape_string (track_number, NULL, FALSE);
  g_autofree char *key = g_uri_escape_string (self->api_key ? self->api_key : "", NULL, FALSE);
  g_autofree char *uri = g_strdup_printf ("%s/v1/tracking/%s/%s?apiKey=%s", self->base_url, carrier,
                                          number, key);

  _wb_carrier_http_get (self, self->session, uri, NULL, track_number, parse_body, cancellable, callback, user_data);
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
_wb_emulator_driver_new (const WbCarrierConfig *config,
                         WbStatusMap           *map)
{
  WbEmulatorDriver *self = g_object_new (_wb_emulator_driver_get_type (), NULL);

  self->code = g_strdup (config->code);
  self->base_url = g_strdup (config->base_url);
  self->api_key = g_strdup (config->api_key);
  self->status_map = g_strdup (config->status_map);
  self->map = wb_status_map_ref (map);
  self->session = _wb_carrier_session_new (config);
  return WB_CARRIER_DRIVER (self);
}
