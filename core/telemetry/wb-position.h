// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef enum
{
  WB_PROTOCOL_JSON,        /* POST /telemetry */
  WB_PROTOCOL_OSMAND,      /* Traccar Client and OsmAnd-style trackers, port 5055 */
  WB_PROTOCOL_TELTONIKA,   /* Codec 8 / 8E over TCP, port 5027 */
} WbProtocol;

/* One position as a device reported it: a hot-path plain struct (see
 * STYLE.md), boxed for GObject code. Unknown numbers are NAN; unknown
 * booleans are -1. Times are unix microseconds, UTC. */
typedef struct
{
  char       *device_id;       /* device id or IMEI */
  WbProtocol  protocol;
  gint64      device_time;     /* when the device took the fix */
  gint64      server_time;     /* when Waybill accepted it (set by ingestion) */
  double      lat;
  double      lon;
  double      speed_kmh;
  double      heading;         /* degrees, 0 = north */
  double      altitude;        /* metres */
  double      accuracy;        /* metres */
  double      hdop;
  int         satellites;      /* -1 unknown */
  int         ignition;        /* -1 unknown, 0 off, 1 on */
  double      fuel;            /* litres or percent, as the device says */
  double      odometer;        /* metres */
  double      battery;         /* percent */
  int         charging;        /* -1 unknown */
  int         moving;          /* -1 unknown */
  char       *driver_unique_id;
  JsonObject *attributes;      /* everything else, never NULL */
} WbPosition;

#define WB_TYPE_POSITION (wb_position_get_type ())

GType       wb_position_get_type (void) G_GNUC_CONST;
WbPosition *wb_position_new      (void);                       /* all unknown, empty attributes */
WbPosition *wb_position_copy     (const WbPosition *position);
void        wb_position_free     (WbPosition       *position);
/* The telemetry.raw message body (snake_case, see data/schemas/telemetry.raw.schema.json). */
char       *wb_position_to_json  (const WbPosition *position);
WbPosition *wb_position_from_json (const char      *json,
                                   GError         **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbPosition, wb_position_free)

G_END_DECLS
