// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

typedef enum
{
  WB_LIVE_IGNITION_UNKNOWN,
  WB_LIVE_IGNITION_OFF,
  WB_LIVE_IGNITION_ON,
} WbLiveIgnition;

typedef enum
{
  WB_LIVE_STATE_MOVING,
  WB_LIVE_STATE_STOPPED,
  WB_LIVE_STATE_OFFLINE,
} WbLiveState;

/* Which optional members wb_live_vehicle_write_json() adds. */
typedef enum
{
  WB_LIVE_JSON_DEFAULT     = 0,
  WB_LIVE_JSON_ACCEPTED_AT = 1 << 0,   /* "acceptedAt": µs, for latency measurement */
} WbLiveJsonFlags;

/* The live state of one vehicle as the gateway shows it.
 *
 * Atomically refcounted and immutable once handed to a WbLiveIndex, a
 * WbReplayWindow or a WbLiveOutbox: a change makes a new state
 * (wb_live_vehicle_copy(), then set the members), so readers on other
 * threads keep a consistent state for as long as they hold a reference,
 * without a lock. */
typedef struct
{
  char           *vehicle_id;
  char           *device_id;     /* nullable */
  char           *company_id;    /* nullable */
  char           *driver_id;     /* nullable */
  char           *trip_id;       /* nullable: %NULL when not on an active trip */
  double          lat;
  double          lon;
  double          speed;         /* km/h, NAN unknown */
  double          course;        /* degrees from north, NAN unknown */
  gint64          fix_time;      /* device time, unix µs */
  gint64          server_time;   /* unix µs */
  gint64          accepted_at;   /* unix µs the position was accepted at ingest, 0 unknown */
  WbLiveIgnition  ignition;
  WbLiveState     state;
  /*< private >*/
  char           *stream_json;   /* wb_live_vehicle_get_stream_json()'s, made once */
  gint            stream_json_length;
} WbLiveVehicle;

#define WB_TYPE_LIVE_VEHICLE (wb_live_vehicle_get_type ())

GType          wb_live_vehicle_get_type   (void) G_GNUC_CONST;
/* A new state with the given id, every other member empty or unknown
 * (speed and course NAN, state stopped). */
WbLiveVehicle *wb_live_vehicle_new        (const char          *vehicle_id);
/* A deep copy with a reference count of its own, to change and publish. */
WbLiveVehicle *wb_live_vehicle_copy       (const WbLiveVehicle *vehicle);
WbLiveVehicle *wb_live_vehicle_ref        (WbLiveVehicle       *vehicle);
void           wb_live_vehicle_unref      (WbLiveVehicle       *vehicle);
/* Appends one vehicle as the API's camelCase object:
 * {"vehicleId","deviceId","companyId","driverId","tripId","lat","lon",
 *  "speed","course","fixTime","serverTime","ignition","state"}, times as
 * RFC 3339 UTC, unknown values as null, ignition as true/false/null. */
void           wb_live_vehicle_write_json (const WbLiveVehicle *vehicle,
                                           WbLiveJsonFlags      flags,
                                           GString             *out);
/* The same object with acceptedAt, for a published state (one that no
 * longer changes): written on the first call and kept, so that a state
 * sent to many streams is formatted once. Safe from several threads.
 * @out_length: (out) (optional): its length in bytes */
const char    *wb_live_vehicle_get_stream_json (WbLiveVehicle *vehicle,
                                                gsize         *out_length);

const char    *wb_live_state_to_string    (WbLiveState          state);
gboolean       wb_live_state_from_string  (const char          *text,
                                           WbLiveState         *out_state);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbLiveVehicle, wb_live_vehicle_unref)

G_END_DECLS
