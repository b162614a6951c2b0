// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include <adwaita.h>

#include "wb-map-init.h"

static void
on_activate (GtkApplication *app)
{
  GtkWidget *window = adw_application_window_new (app);

  gtk_window_set_title (GTK_WINDOW (window), "Waybill");
  gtk_window_present (GTK_WINDOW (window));
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(AdwApplication) app = adw_application_new ("org.waybill.Waybill", G_APPLICATION_DEFAULT_FLAGS);

  wb_map_init ();
  g_signal_connect (app, "activate", G_CALLBACK (on_activate), NULL);
  return g_application_run (G_APPLICATION (app), argc, argv);
}
