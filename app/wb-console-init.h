// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Registers the console's resources and the types its .ui files name; the
 * application calls it first, and so do the tests. */
void wb_console_init (void);

G_END_DECLS
