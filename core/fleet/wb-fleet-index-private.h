// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#if !defined (WB_FLEET_COMPILATION)
#error "wb-fleet-index-private.h is core/fleet's own; other code uses the area's public headers"
#endif

#include "wb-fleet-index.h"
#include "wb-fleet-update.h"

G_BEGIN_DECLS

/* What the store hands the index: one stored row, as committed (the version
 * resolved, the token already a hash). Strings are borrowed, e.g. straight
 * from a PGresult, for the duration of the call. */
typedef struct
{
  WbFleetKind  kind;
  const char  *id;
  gint64       version;
  const char  *name;
  const char  *phone;
  const char  *company_id;
  const char  *plate;
  const char  *driver_id;
  const char  *group_id;
  const char  *tariff_id;
  const char  *vehicle_id;
  const char  *token_hash;    /* lower-case hex SHA-256; NULL = no token */
  gboolean     quarantined;
} WbFleetRow;

/* Puts each row whose version is newer than the indexed one (or that is not
 * indexed), under one write lock, then refreshes the snapshots they touch.
 * Returns how many were newer. */
guint     _wb_fleet_index_put        (WbFleetIndex     *self,
                                      const WbFleetRow *rows,
                                      guint             n_rows);

/* One trip as stored: @vehicle_id is the vehicle it rides while it is
 * IN_TRANSIT, %NULL when it is not (any more), or has no vehicle. */
typedef struct
{
  const char  *trip_id;
  const char  *vehicle_id;
} WbFleetTripRow;

/* Puts what @rows say of their trips, under one write lock, and refreshes
 * the snapshots of the vehicles they touch. With @replace_all the rows are
 * every IN_TRANSIT trip there is (the load at start): any other trip
 * indexed is dropped. Rows must come from reads of the trips table made in
 * the order they are put: the last put wins. */
void      _wb_fleet_index_put_trips  (WbFleetIndex         *self,
                                      const WbFleetTripRow *rows,
                                      guint                 n_rows,
                                      gboolean              replace_all);

/* The lower-case hex SHA-256 of @token, as the devices table keeps it. */
char     *_wb_fleet_token_hash       (const char       *token);

G_END_DECLS
