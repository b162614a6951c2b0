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
 * STYLE.md), reference counted and boxed for GObject code. A position is
 * filled in by the one who creates it; once shared (on the bus, in a
 * batch) nobody changes it, so sharing needs no copy. Unknown numbers are NAN; unknown
 * booleans are -1. Times are unix microseconds, UTC, 0 when unknown; the
 * decoders keep them to the millisecond, the precision of telemetry.raw. */
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
  JsonObject *attributes;      /* everything else; NULL when there is nothing */
  /* …or the same as JSON object text, when a decoder wrote it so (a
   * Teltonika record's dozen IO elements cost more as a JsonObject than
   * everything else about the record). At most one of the two is set;
   * wb_position_dup_attributes() reads either. */
  char       *attributes_json;
} WbPosition;

/* The telemetry area's one error domain: the decoders, telemetry.raw and
 * validation. Messages name the field or the byte problem, fit for a 400
 * answer or a log line. */
#define WB_TELEMETRY_ERROR (wb_telemetry_error_quark ())

typedef enum
{
  WB_TELEMETRY_ERROR_MALFORMED,       /* not JSON, not a frame, a broken structure */
  WB_TELEMETRY_ERROR_INVALID_FIELD,   /* no longer set (a field at fault is WB_JSON_ERROR_FIELD); kept so the codes keep their values */
  WB_TELEMETRY_ERROR_TOO_LARGE,       /* a batch or frame beyond the limits */
  WB_TELEMETRY_ERROR_UNSUPPORTED,     /* a protocol variant not decoded, e.g. Teltonika codec 12 */
  WB_TELEMETRY_ERROR_UNKNOWN_DEVICE,  /* the device is not registered (for ingestion) */
  WB_TELEMETRY_ERROR_REJECTED,        /* failed technical validation, see WbRejectReason */
} WbTelemetryError;

#define WB_TYPE_POSITION (wb_position_get_type ())

GQuark      wb_telemetry_error_quark (void);

/* "json", "osmand", "teltonika": the protocol field of telemetry.raw and a
 * fine metrics label. */
const char *wb_protocol_to_string    (WbProtocol        protocol);
gboolean    wb_protocol_from_string  (const char       *text,
                                      WbProtocol       *out_protocol);

GType       wb_position_get_type (void) G_GNUC_CONST;
WbPosition *wb_position_new      (void);                       /* all unknown, no attributes */
WbPosition *wb_position_copy     (const WbPosition *position);  /* deep, for one who will change it */
WbPosition *wb_position_ref      (WbPosition       *position);
/* The attributes to fill in, made on first use: most positions have none. */
JsonObject *wb_position_ensure_attributes (WbPosition *position);
/* The attributes, whichever form they are in; NULL when there are none. */
JsonObject *wb_position_dup_attributes   (const WbPosition *position);
/* Merges @from's members into the attributes (a clash goes to @from). */
void        wb_position_merge_attributes  (WbPosition *position,
                                           JsonObject *from);
void        wb_position_unref    (WbPosition       *position);
/* The telemetry.raw message body (snake_case, see data/schemas/telemetry.raw.schema.json). */
char       *wb_position_to_json  (const WbPosition *position);
WbPosition *wb_position_from_json (const char      *json,
                                   GError         **error);
/* Field by field, NAN equal to NAN, attributes compared as JSON. */
gboolean    wb_position_equal    (const WbPosition *a,
                                  const WbPosition *b);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbPosition, wb_position_unref)

G_END_DECLS
