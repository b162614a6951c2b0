// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Where `waybill-sim drive` stops, and for how long. */
typedef struct
{
  double lat;
  double lon;
  double dwell_s;
} WbSimStop;

#define WB_SIM_STOPS_MAX 1000
#define WB_SIM_STOP_MAX_DWELL_S (24 * 3600.0)

/**
 * WbSimStopsSource:
 * @file: (nullable): a file of stops, one "LAT,LON[,DWELL]" a line
 * @api_url: (nullable): waybilld's API, with @trip_id: the stops of
 *   GET /trips/{id}
 * @trip_id: (nullable)
 * @token: (nullable): a JWT for the API
 * @default_dwell_s: the dwell of a stop that gives none
 *
 * One of the ways a drive gets its stops; wb_sim_stops_load_async() picks
 * the one the fields name.
 */
typedef struct
{
  const char *file;
  const char *api_url;
  const char *trip_id;
  const char *token;
  double      default_dwell_s;
} WbSimStopsSource;

/* Lines of "LAT,LON[,DWELL]" (DWELL: seconds, or 90s, 2m); blank lines
 * and lines starting with # are skipped. An error names the line. */
GArray   *wb_sim_stops_parse          (const char              *text,
                                       double                   default_dwell_s,
                                       GError                 **error);
/* A trip as GET /trips/{id} answers it: its "stops" array, each with
 * "lat"/"lon" (or "lng") of its own or in "location", "coordinates" or
 * "address", and optionally "dwellSeconds". */
GArray   *wb_sim_stops_from_trip      (GBytes                  *body,
                                       double                   default_dwell_s,
                                       GError                 **error);

void      wb_sim_stops_load_async     (const WbSimStopsSource  *source,
                                       GCancellable            *cancellable,
                                       GAsyncReadyCallback      callback,
                                       gpointer                 user_data);
/* Returns: (transfer full) (element-type WbSimStop): at least one stop */
GArray   *wb_sim_stops_load_finish    (GAsyncResult            *result,
                                       GError                 **error);

G_END_DECLS
