// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include "wb-application.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr(WbApplication) app = wb_application_new ();

  return g_application_run (G_APPLICATION (app), argc, argv);
}
