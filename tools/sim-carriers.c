// SPDX-License-Identifier: GPL-3.0-or-later
/* `waybill-sim carriers`: the carrier emulator for demos, listening on the
 * address the user asked for (port 0: any free one, printed). */

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
  GMainLoop         *loop;
  WbEmulatorCounts   reported;
} Serving;

char *
wb_sim_carriers_format_counts (const WbEmulatorCounts *counts)
{
  return g_strdup_printf ("requests %" G_GUINT64_FORMAT ", served %" G_GUINT64_FORMAT ", refused %"
                          G_GUINT64_FORMAT ", faults %" G_GUINT64_FORMAT,
                          counts->requests, counts->served, counts->refused, counts->faults);
}

static void
print_counts (Serving *serving)
{
  g_autofree char *line = NULL;

  wb_carrier_emulator_get_counts (serving->emulator, &serving->reported);
  line = wb_sim_carriers_format_counts (&serving->reported);
  g_print ("%s\n", line);
  fflush (stdout);
}

static gboolean
on_report (gpointer user_data)
{
  Serving *serving = user_data;
  WbEmulatorCounts now;

  wb_carrier_emulator_get_counts (serving->emulator, &now);
  if (now.requests != serving->reported.requests)
    print_counts (serving);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_stop (gpointer user_data)
{
  g_main_loop_quit (((Serving *) user_data)->loop);
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

static void
print_url (GInetSocketAddress *listen,
           guint               port)
{
  GInetAddress *address = g_inet_socket_address_get_address (listen);
  g_autofree char *host = g_inet_address_to_string (address);
  gboolean ipv6 = g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6;

  g_print ("Carrier emulator on http://%s%s%s:%u (base-url of the emulator driver)\n",
           ipv6 ? "[" : "", host, ipv6 ? "]" : "", port);
  fflush (stdout);
}

int
wb_sim_carriers_run (const WbSimCarriersOptions *options)
{
  g_autoptr(GError) error = NULL;
  Serving serving = { 0 };
  guint sources[3];
  guint port;

  serving.emulator = wb_carrier_emulator_new ();
  configure (serving.emulator, options);
  port = wb_carrier_emulator_listen_address (serving.emulator, G_SOCKET_ADDRESS (options->listen), &error);
  if (port == 0)
    {
      g_printerr ("waybill-sim carriers: %s\n", error->message);
      g_object_unref (serving.emulator);
      return EXIT_FAILURE;
    }
  serving.loop = g_main_loop_new (NULL, FALSE);
  print_url (options->listen, port);
  sources[0] = g_unix_signal_add (SIGINT, on_stop, &serving);
  sources[1] = g_unix_signal_add (SIGTERM, on_stop, &serving);
  sources[2] = g_timeout_add_seconds (REPORT_INTERVAL_S, on_report, &serving);
  g_main_loop_run (serving.loop);
  for (guint i = 0; i < G_N_ELEMENTS (sources); i++)
    g_source_remove (sources[i]);
  print_counts (&serving);
  wb_carrier_emulator_stop (serving.emulator);
  g_main_loop_unref (serving.loop);
  g_object_unref (serving.emulator);
  return EXIT_SUCCESS;
}
