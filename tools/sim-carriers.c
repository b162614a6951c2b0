// SPDX-License-Identifier: GPL-3.0-or-later
/* `waybill-sim carriers`: the carrier emulator for demos. The emulator
 * listens on a free loopback port of its own choosing, so the address the
 * user asked for is a plain TCP relay in front of it: each connection is
 * spliced through unchanged. */

#include "config.h"

#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "sim-carriers.h"

#define REPORT_INTERVAL_S 10

typedef struct
{
  WbCarrierEmulator *emulator;
  guint              emulator_port;
  GMainLoop         *loop;
  GCancellable      *cancellable;   /* ends the relayed connections on exit */
  guint              connections;   /* relayed now */
  WbEmulatorCounts   reported;
} Relay;

char *
wb_sim_carriers_format_counts (const WbEmulatorCounts *counts)
{
  return g_strdup_printf ("requests %" G_GUINT64_FORMAT ", served %" G_GUINT64_FORMAT ", refused %"
                          G_GUINT64_FORMAT ", faults %" G_GUINT64_FORMAT,
                          counts->requests, counts->served, counts->refused, counts->faults);
}

static void
on_spliced (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Relay *relay = user_data;

  /* A peer closing mid-answer is its own business. */
  g_io_stream_splice_finish (result, NULL);
  relay->connections--;
}

static void
on_connected (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Relay *relay = user_data;
  g_autoptr(GSocketClient) client = G_SOCKET_CLIENT (source);   /* on_incoming's reference */
  g_autoptr(GSocketConnection) incoming = g_object_steal_data (source, "incoming");
  g_autoptr(GSocketConnection) outgoing = NULL;
  g_autoptr(GError) error = NULL;

  outgoing = g_socket_client_connect_to_host_finish (client, result, &error);
  if (outgoing == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_printerr ("waybill-sim carriers: the emulator refused a connection: %s\n", error->message);
      relay->connections--;
      return;
    }
  g_io_stream_splice_async (G_IO_STREAM (incoming), G_IO_STREAM (outgoing),
                            G_IO_STREAM_SPLICE_CLOSE_STREAM1 | G_IO_STREAM_SPLICE_CLOSE_STREAM2,
                            G_PRIORITY_DEFAULT, relay->cancellable, on_spliced, relay);
}

static gboolean
on_incoming (GSocketService    *service,
             GSocketConnection *connection,
             GObject           *source_object,
             gpointer           user_data)
{
  Relay *relay = user_data;
  /* One client per connection carries its incoming side to the callback. */
  GSocketClient *client = g_socket_client_new ();

  g_object_set_data_full (G_OBJECT (client), "incoming", g_object_ref (connection), g_object_unref);
  relay->connections++;
  g_socket_client_connect_to_host_async (client, "127.0.0.1", relay->emulator_port, relay->cancellable,
                                         on_connected, relay);
  return TRUE;
}

static void
print_counts (Relay *relay)
{
  g_autofree char *line = NULL;

  wb_carrier_emulator_get_counts (relay->emulator, &relay->reported);
  line = wb_sim_carriers_format_counts (&relay->reported);
  g_print ("%s\n", line);
  fflush (stdout);
}

static gboolean
on_report (gpointer user_data)
{
  Relay *relay = user_data;
  WbEmulatorCounts now;

  wb_carrier_emulator_get_counts (relay->emulator, &now);
  if (now.requests != relay->reported.requests)
    print_counts (relay);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_stop (gpointer user_data)
{
  g_main_loop_quit (((Relay *) user_data)->loop);
  return G_SOURCE_CONTINUE;
}

static void
configure (WbCarrierEmulator          *emulator,
           const WbSimCarriersOptions *options)
{
  wb_carrier_emulator_set_limits (emulator, options->rate, options->burst, options->daily_quota,
                                  options->retry_after);
  wb_carrier_emulator_set_faults (emulator, options->error_share, options->malformed_share, options->delay_ms);
  if (options->step_us > 0)
    wb_carrier_emulator_set_step (emulator, options->step_us);
}

/* Returns the relay's address as bound (its port filled in), or NULL. */
static GInetSocketAddress *
listen_on (GSocketService             *service,
           const WbSimCarriersOptions *options,
           GError                    **error)
{
  g_autoptr(GSocketAddress) bound = NULL;

  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (service), G_SOCKET_ADDRESS (options->listen),
                                      G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL, &bound, error))
    return NULL;
  return G_INET_SOCKET_ADDRESS (g_steal_pointer (&bound));
}

static void
print_url (GInetSocketAddress *address)
{
  g_autofree char *host = g_inet_address_to_string (g_inet_socket_address_get_address (address));
  gboolean ipv6 = g_inet_address_get_family (g_inet_socket_address_get_address (address)) == G_SOCKET_FAMILY_IPV6;

  g_print ("Carrier emulator on http://%s%s%s:%u (base-url of the emulator driver)\n",
           ipv6 ? "[" : "", host, ipv6 ? "]" : "", g_inet_socket_address_get_port (address));
  fflush (stdout);
}

int
wb_sim_carriers_run (const WbSimCarriersOptions *options)
{
  g_autoptr(GSocketService) service = g_socket_service_new ();
  g_autoptr(GInetSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;
  Relay relay = { 0 };
  guint sources[3];

  relay.emulator = wb_carrier_emulator_new ();
  configure (relay.emulator, options);
  relay.emulator_port = wb_carrier_emulator_listen (relay.emulator, &error);
  if (relay.emulator_port == 0 || (bound = listen_on (service, options, &error)) == NULL)
    {
      g_printerr ("waybill-sim carriers: %s\n", error->message);
      g_object_unref (relay.emulator);
      return EXIT_FAILURE;
    }
  relay.cancellable = g_cancellable_new ();
  relay.loop = g_main_loop_new (NULL, FALSE);
  g_signal_connect (service, "incoming", G_CALLBACK (on_incoming), &relay);
  print_url (bound);
  sources[0] = g_unix_signal_add (SIGINT, on_stop, &relay);
  sources[1] = g_unix_signal_add (SIGTERM, on_stop, &relay);
  sources[2] = g_timeout_add_seconds (REPORT_INTERVAL_S, on_report, &relay);
  g_main_loop_run (relay.loop);
  for (guint i = 0; i < G_N_ELEMENTS (sources); i++)
    g_source_remove (sources[i]);
  g_socket_service_stop (service);
  g_socket_listener_close (G_SOCKET_LISTENER (service));
  g_cancellable_cancel (relay.cancellable);
  while (relay.connections > 0)
    g_main_context_iteration (NULL, TRUE);
  print_counts (&relay);
  wb_carrier_emulator_stop (relay.emulator);
  g_main_loop_unref (relay.loop);
  g_object_unref (relay.cancellable);
  g_object_unref (relay.emulator);
  return EXIT_SUCCESS;
}
