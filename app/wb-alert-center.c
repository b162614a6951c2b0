// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include <glib/gi18n.h>

#include "wb-alert-center.h"
#include "wb-client-trackings.h"
#include "wb-event-stream.h"

#define MAX_ALERTS           500
#define CARRIER_INTERVAL_MS  30000

struct _WbAlertCenter
{
  GObject        parent_instance;

  WbClient      *client;
  WbDirectory   *directory;
  WbEventStream *events;
  GCancellable  *cancellable;
  GListStore    *alerts;          /* WbAlert, newest first */
  guint          unread;
  GHashTable    *breakers;        /* carrier code → last breaker state */
  guint          carrier_interval_ms;
  guint          carrier_source;
};

enum { PROP_0, PROP_UNREAD, N_PROPS };
static GParamSpec *properties[N_PROPS];

enum { ALERT, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (WbAlertCenter, wb_alert_center, G_TYPE_OBJECT)

static void
count_unread (WbAlertCenter *self)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->alerts));
  guint unread = 0;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(WbAlert) alert = g_list_model_get_item (G_LIST_MODEL (self->alerts), i);

      unread += !wb_alert_get_read (alert);
    }
  if (unread == self->unread)
    return;
  self->unread = unread;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_UNREAD]);
}

void
wb_alert_center_add (WbAlertCenter *self,
                     WbAlert       *alert)
{
  guint n;

  g_return_if_fail (WB_IS_ALERT_CENTER (self));
  g_return_if_fail (WB_IS_ALERT (alert));

  g_list_store_insert (self->alerts, 0, alert);
  n = g_list_model_get_n_items (G_LIST_MODEL (self->alerts));
  if (n > MAX_ALERTS)
    g_list_store_splice (self->alerts, MAX_ALERTS, n - MAX_ALERTS, NULL, 0);
  g_signal_connect_object (alert, "notify::read", G_CALLBACK (count_unread), self, G_CONNECT_SWAPPED);
  count_unread (self);
  g_signal_emit (self, signals[ALERT], 0, alert);
}

/* ---- from /ws/events ------------------------------------------------------------ */

static const char *
member (JsonObject *event,
        const char *name)
{
  JsonNode *node = json_object_get_member (event, name);

  return node != NULL && JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING
         ? json_node_get_string (node) : NULL;
}

static char *
format_lateness (gint64 seconds)
{
  if (seconds < 3600)
    return g_strdup_printf (ngettext ("%u minute", "%u minutes", (gulong) MAX (seconds / 60, 1)),
                            (guint) MAX (seconds / 60, 1));
  return g_strdup_printf (ngettext ("%u hour", "%u hours", (gulong) (seconds / 3600)), (guint) (seconds / 3600));
}

static void
on_event (WbAlertCenter *self,
          JsonObject    *event)
{
  const char *kind = member (event, "kind");
  const char *type = member (event, "type");
  g_autoptr(WbAlert) alert = NULL;
  gint64 now = g_get_real_time ();

  if (g_strcmp0 (kind, "sla") == 0)
    {
      const char *shipment = member (event, "shipmentId");
      const char *client = member (event, "clientId");
      g_autofree char *late = format_lateness (json_object_get_int_member_with_default (event, "lateBySeconds", 0));
      /* Translators: a shipment (its id), its client, and how late it is */
      g_autofree char *body = g_strdup_printf (_("Shipment %s of %s is %s late"), shipment ?: "?", client ?: "?", late);

      alert = wb_alert_new ("sla", _("Shipment overdue"), body, shipment, now);
    }
  else if (g_strcmp0 (kind, "device") == 0 && g_strcmp0 (type, "device.offline") == 0)
    {
      const char *vehicle = member (event, "vehicleId");
      const char *device = member (event, "deviceId");
      const char *name = vehicle ? wb_directory_label (self->directory, WB_DIRECTORY_VEHICLES, vehicle) : device;
      /* Translators: a vehicle's plate (or its tracker's id) */
      g_autofree char *body = g_strdup_printf (_("%s stopped reporting its position"), name ?: "?");

      alert = wb_alert_new ("device", _("Vehicle offline"), body, vehicle ?: device, now);
    }
  else if (g_strcmp0 (kind, "command") == 0 && g_strcmp0 (member (event, "status"), "rejected") == 0)
    {
      const char *trip = member (event, "tripId");
      const char *reason = member (event, "outcome");
      /* Translators: a trip's id and why its reassignment was refused */
      g_autofree char *body = g_strdup_printf (_("Trip %s was not reassigned: %s"), trip ?: "?", reason ?: "?");

      alert = wb_alert_new ("command", _("Reassignment rejected"), body, trip, now);
    }
  if (alert != NULL)
    wb_alert_center_add (self, alert);
}

/* ---- carrier breakers -------------------------------------------------------------- */

static gboolean read_carriers (gpointer data);

static void
on_carriers (GObject      *source,
             GAsyncResult *result,
             gpointer      data)
{
  g_autoptr(WbAlertCenter) self = data;
  g_autoptr(GPtrArray) carriers = wb_client_list_carriers_finish (WB_CLIENT (source), result, NULL);

  if (carriers == NULL || WB_CLIENT (source) != self->client)
    return;
  for (guint i = 0; i < carriers->len; i++)
    {
      WbClientCarrier *carrier = g_ptr_array_index (carriers, i);
      const char *was = g_hash_table_lookup (self->breakers, carrier->code);

      if (!carrier->has_limits || carrier->breaker == NULL)
        continue;
      /* Opening is news; a breaker found open at the first read is too. */
      if (g_str_equal (carrier->breaker, "open") && g_strcmp0 (was, "open") != 0)
        {
          /* Translators: a carrier's code; its calls stop after failures */
          g_autofree char *body = g_strdup_printf (_("%s failed again and again: calls to it are paused"),
                                                   carrier->code);
          g_autoptr(WbAlert) alert = wb_alert_new ("carrier", _("Carrier breaker open"), body, carrier->code,
                                                   g_get_real_time ());

          wb_alert_center_add (self, alert);
        }
      g_hash_table_replace (self->breakers, g_strdup (carrier->code), g_strdup (carrier->breaker));
    }
}

static gboolean
read_carriers (gpointer data)
{
  WbAlertCenter *self = data;

  if (self->client != NULL)
    wb_client_list_carriers_async (self->client, self->cancellable, on_carriers, g_object_ref (self));
  return G_SOURCE_CONTINUE;
}

static void
restart_carriers (WbAlertCenter *self)
{
  g_clear_handle_id (&self->carrier_source, g_source_remove);
  if (self->client == NULL)
    return;
  read_carriers (self);
  self->carrier_source = g_timeout_add (self->carrier_interval_ms, read_carriers, self);
}

/* ---- the object ----------------------------------------------------------------------- */

static void
stop (WbAlertCenter *self)
{
  g_clear_handle_id (&self->carrier_source, g_source_remove);
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->events != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->events, self);
      wb_event_stream_stop (self->events);
    }
  g_clear_object (&self->events);
}

static void
wb_alert_center_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  switch (prop_id)
    {
    case PROP_UNREAD:
      g_value_set_uint (value, WB_ALERT_CENTER (object)->unread);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_alert_center_dispose (GObject *object)
{
  WbAlertCenter *self = WB_ALERT_CENTER (object);

  stop (self);
  g_clear_object (&self->client);
  g_clear_pointer (&self->directory, wb_directory_unref);
  G_OBJECT_CLASS (wb_alert_center_parent_class)->dispose (object);
}

static void
wb_alert_center_finalize (GObject *object)
{
  WbAlertCenter *self = WB_ALERT_CENTER (object);

  g_clear_object (&self->alerts);
  g_hash_table_unref (self->breakers);
  G_OBJECT_CLASS (wb_alert_center_parent_class)->finalize (object);
}

static void
wb_alert_center_class_init (WbAlertCenterClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = wb_alert_center_get_property;
  object_class->dispose = wb_alert_center_dispose;
  object_class->finalize = wb_alert_center_finalize;
  properties[PROP_UNREAD] = g_param_spec_uint ("unread", NULL, NULL, 0, G_MAXUINT, 0,
                                               G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
  signals[ALERT] = g_signal_new ("alert", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                 G_TYPE_NONE, 1, WB_TYPE_ALERT);
}

static void
wb_alert_center_init (WbAlertCenter *self)
{
  self->alerts = g_list_store_new (WB_TYPE_ALERT);
  self->breakers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->carrier_interval_ms = CARRIER_INTERVAL_MS;
}

WbAlertCenter *
wb_alert_center_new (void)
{
  return g_object_new (WB_TYPE_ALERT_CENTER, NULL);
}

void
wb_alert_center_set_client (WbAlertCenter *self,
                            WbClient      *client)
{
  const char *kinds[] = { "sla", "device", "command", NULL };

  g_return_if_fail (WB_IS_ALERT_CENTER (self));
  g_return_if_fail (client == NULL || WB_IS_CLIENT (client));

  if (self->client == client)
    return;
  stop (self);
  g_set_object (&self->client, client);
  g_hash_table_remove_all (self->breakers);
  if (client == NULL)
    return;
  self->cancellable = g_cancellable_new ();
  self->events = wb_event_stream_new (client);
  wb_event_stream_set_filter (self->events, kinds, NULL, NULL);
  g_signal_connect_swapped (self->events, "event", G_CALLBACK (on_event), self);
  wb_event_stream_start (self->events);
  restart_carriers (self);
}

void
wb_alert_center_set_directory (WbAlertCenter *self,
                               WbDirectory   *directory)
{
  g_return_if_fail (WB_IS_ALERT_CENTER (self));

  if (self->directory == directory)
    return;
  g_clear_pointer (&self->directory, wb_directory_unref);
  self->directory = directory ? wb_directory_ref (directory) : NULL;
}

GListModel *
wb_alert_center_get_alerts (WbAlertCenter *self)
{
  g_return_val_if_fail (WB_IS_ALERT_CENTER (self), NULL);
  return G_LIST_MODEL (self->alerts);
}

guint
wb_alert_center_get_unread (WbAlertCenter *self)
{
  g_return_val_if_fail (WB_IS_ALERT_CENTER (self), 0);
  return self->unread;
}

void
wb_alert_center_mark_all_read (WbAlertCenter *self)
{
  guint n;

  g_return_if_fail (WB_IS_ALERT_CENTER (self));

  n = g_list_model_get_n_items (G_LIST_MODEL (self->alerts));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(WbAlert) alert = g_list_model_get_item (G_LIST_MODEL (self->alerts), i);

      wb_alert_set_read (alert, TRUE);
    }
}

void
wb_alert_center_set_carrier_interval (WbAlertCenter *self,
                                      guint          interval_ms)
{
  g_return_if_fail (WB_IS_ALERT_CENTER (self));
  self->carrier_interval_ms = MAX (interval_ms, 100);
  restart_carriers (self);
}
