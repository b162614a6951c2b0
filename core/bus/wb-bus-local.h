// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-bus.h"

G_BEGIN_DECLS

#define WB_TYPE_BUS_LOCAL (wb_bus_local_get_type ())

G_DECLARE_FINAL_TYPE (WbBusLocal, wb_bus_local, WB, BUS_LOCAL, WbBus)

WbBus *wb_bus_local_new            (guint       queue_size);
guint  wb_bus_local_get_queued     (WbBusLocal *self,
                                    const char *group);
guint64 wb_bus_local_get_published (WbBusLocal *self);

G_END_DECLS
