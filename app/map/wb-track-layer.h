// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <shumate/shumate.h>

G_BEGIN_DECLS

/* One fix of a track (GET /vehicles/{id}/track's polyline). */
typedef struct
{
  double latitude;
  double longitude;
  gint64 time;          /* unix µs */
} WbTrackPoint;

/* A trip: the part of the track between two stops, by time. */
typedef struct
{
  gint64 start;         /* unix µs */
  gint64 end;
} WbTrackTrip;

typedef struct
{
  double latitude;
  double longitude;
  gint64 start;         /* unix µs */
  gint64 end;
} WbTrackStop;

#define WB_TYPE_TRACK_LAYER (wb_track_layer_get_type ())

G_DECLARE_FINAL_TYPE (WbTrackLayer, wb_track_layer, WB, TRACK_LAYER, ShumateLayer)

/* A vehicle's track for a period on the map: the path (solid along trips,
 * thin and dashed between them), stops as discs, trip starts and ends
 * marked, and a replay marker at #WbTrackLayer:replay-time moving along
 * it. Points are projected once when set; each frame draws only the
 * segments in view and drops vertices closer than a pixel and a half to
 * the last one kept, so a month of fixes draws as fast as a day. */
WbTrackLayer *wb_track_layer_new                 (ShumateViewport    *viewport);
/* Points in time order; copied. */
void          wb_track_layer_set_track           (WbTrackLayer       *self,
                                                  const WbTrackPoint *points,
                                                  guint               n_points,
                                                  const WbTrackTrip  *trips,
                                                  guint               n_trips,
                                                  const WbTrackStop  *stops,
                                                  guint               n_stops);
void          wb_track_layer_clear               (WbTrackLayer       *self);
guint         wb_track_layer_get_n_points        (WbTrackLayer       *self);
/* The track's first and last fix times (0 when empty). */
gint64        wb_track_layer_get_start_time      (WbTrackLayer       *self);
gint64        wb_track_layer_get_end_time        (WbTrackLayer       *self);
/* The replay marker's time, unix µs; 0 hides it. Clamped to the track. */
gint64        wb_track_layer_get_replay_time     (WbTrackLayer       *self);
void          wb_track_layer_set_replay_time     (WbTrackLayer       *self,
                                                  gint64              time);
/* Where the marker is: interpolated between the fixes around the replay
 * time. Returns: FALSE when there is no marker. */
gboolean      wb_track_layer_get_replay_location (WbTrackLayer       *self,
                                                  double             *latitude,
                                                  double             *longitude);
/* For tests: vertices drawn in the last snapshot. */
guint         wb_track_layer_get_drawn_vertices  (WbTrackLayer       *self);

G_END_DECLS
