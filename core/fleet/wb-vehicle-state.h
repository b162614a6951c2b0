// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-fleet-index.h"
#include "wb-position.h"

G_BEGIN_DECLS

/* A raw position joined with its vehicle, driver and company (from the
 * in-memory index; no lookup goes to the database). @enrichment is %NULL for
 * a device with no vehicle (quarantined or not yet assigned): such a
 * position is stored in history under its device only. */
typedef struct
{
  WbPosition        *position;     /* owned */
  WbFleetEnrichment *enrichment;   /* owned ref, nullable */
} WbEnrichedPosition;

typedef enum
{
  WB_MOTION_UNKNOWN,
  WB_MOTION_MOVING,
  WB_MOTION_STOPPED,
} WbMotion;

/* The current state of one vehicle: its newest position by device time.
 * Offline is not stored: it follows from server_time and the silence
 * threshold when someone looks (wb_vehicle_state_is_offline(), or the
 * same rule in SQL for GET /vehicles/{id}). */
typedef struct
{
  char     *vehicle_id;
  char     *device_id;
  char     *driver_id;       /* nullable */
  gint64    device_time;     /* unix µs */
  gint64    server_time;     /* unix µs */
  double    lat;
  double    lon;
  double    speed_kmh;       /* NAN unknown */
  double    heading;         /* NAN unknown */
  double    altitude;        /* NAN unknown */
  int       ignition;        /* -1 unknown */
  double    fuel;            /* NAN unknown */
  double    odometer;        /* NAN unknown */
  WbMotion  motion;
  gint64    motion_since;    /* device time the motion began, 0 unknown */
} WbVehicleState;

#define WB_TYPE_ENRICHED_POSITION (wb_enriched_position_get_type ())
#define WB_TYPE_VEHICLE_STATE     (wb_vehicle_state_get_type ())

GType               wb_enriched_position_get_type (void) G_GNUC_CONST;
WbEnrichedPosition *wb_enriched_position_new      (WbPosition         *position,
                                                   WbFleetEnrichment  *enrichment);
WbEnrichedPosition *wb_enriched_position_copy     (const WbEnrichedPosition *enriched);
void                wb_enriched_position_free     (WbEnrichedPosition *enriched);
/* The positions.enriched message body (snake_case, see
 * data/schemas/positions.enriched.schema.json). */
char               *wb_enriched_position_to_json  (const WbEnrichedPosition *enriched);

const char         *wb_motion_to_string           (WbMotion            motion);
gboolean            wb_motion_from_string         (const char         *text,
                                                   WbMotion           *out_motion);

GType               wb_vehicle_state_get_type     (void) G_GNUC_CONST;
WbVehicleState     *wb_vehicle_state_new          (void);
WbVehicleState     *wb_vehicle_state_copy         (const WbVehicleState *state);
void                wb_vehicle_state_free         (WbVehicleState     *state);
gboolean            wb_vehicle_state_is_offline   (const WbVehicleState *state,
                                                   gint64              now,
                                                   gint64              offline_after);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbEnrichedPosition, wb_enriched_position_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbVehicleState, wb_vehicle_state_free)

G_END_DECLS
