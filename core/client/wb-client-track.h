// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* One point of a simplified track. Times are unix µs, speeds km/h. */
typedef struct
{
  double lat;
  double lon;
  gint64 time;
  double speed;
} WbClientTrackPoint;

typedef struct
{
  gint64 time;
  double lat;
  double lon;
} WbClientTrackPlace;

typedef struct
{
  WbClientTrackPlace start;
  WbClientTrackPlace end;
  double             distance;   /* metres */
  double             duration;   /* seconds */
  double             max_speed;
  double             avg_speed;
} WbClientTrackTrip;

typedef struct
{
  gint64 start;
  gint64 end;
  double lat;
  double lon;
  double duration;   /* seconds */
} WbClientTrackStop;

/* A vehicle's track over a period as GET /vehicles/{id}/track answers it:
 * the simplified polyline, its totals, and the trips and stops found in
 * it. Atomically refcounted, immutable once read. */
typedef struct
{
  char   *vehicle_id;
  gint64  from;
  gint64  to;
  double  tolerance;        /* metres */
  gint64  positions;        /* in the period, before simplification */
  double  distance;         /* metres */
  double  max_speed;
  double  avg_speed;
  double  duration;         /* seconds */
  double  moving_duration;  /* seconds */
  GArray *points;           /* WbClientTrackPoint, in time order */
  GArray *trips;            /* WbClientTrackTrip */
  GArray *stops;            /* WbClientTrackStop */
} WbClientTrack;

#define WB_TYPE_CLIENT_TRACK (wb_client_track_get_type ())

GType          wb_client_track_get_type  (void) G_GNUC_CONST;
WbClientTrack *wb_client_track_ref       (WbClientTrack *self);
void           wb_client_track_unref     (WbClientTrack *self);
/* Reads the application/json answer; errors are WB_JSON_ERROR_FIELD naming
 * the member at fault. */
WbClientTrack *wb_client_track_read_json (JsonNode      *node,
                                          GError       **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbClientTrack, wb_client_track_unref)

G_END_DECLS
