// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-bus.h"
#include "wb-fleet-index.h"
#include "wb-fleet-store.h"
#include "wb-http-server.h"
#include "wb-metrics.h"

G_BEGIN_DECLS

#define WB_TOPIC_TELEMETRY_RAW     "telemetry.raw"
#define WB_TOPIC_DEVICE_FIRST_SEEN "device.first_seen"

#define WB_TYPE_INGEST (wb_ingest_get_type ())

G_DECLARE_FINAL_TYPE (WbIngest, wb_ingest, WB, INGEST, GObject)

/* The ingest role: accepts positions over HTTP JSON, OsmAnd and Teltonika
 * TCP, validates them, and publishes them to telemetry.raw keyed by device.
 * It holds no business logic. */
WbIngest *wb_ingest_new                (WbBus              *bus,
                                        WbFleetIndex       *index,
                                        WbFleetStore       *store,
                                        WbMetrics          *metrics,
                                        gint64              max_age_us,
                                        gboolean            quarantine_unknown);
void      wb_ingest_register_api       (WbIngest           *self,
                                        WbHttpServer       *api);
gboolean  wb_ingest_listen_osmand      (WbIngest           *self,
                                        const char         *address,
                                        guint               port,
                                        const WbHttpLimits *limits,
                                        GError            **error);
gboolean  wb_ingest_listen_teltonika   (WbIngest           *self,
                                        const char         *address,
                                        guint               port,
                                        GError            **error);
guint     wb_ingest_get_osmand_port    (WbIngest           *self);
guint     wb_ingest_get_teltonika_port (WbIngest           *self);
void      wb_ingest_stop               (WbIngest           *self);

G_END_DECLS
