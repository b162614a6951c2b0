// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <gio/gio.h>

#include "wb-json-reader.h"

G_BEGIN_DECLS

/* One stop of a trip, in order: a pickup point or an address, where it is,
 * and when the vehicle arrived and departed (unix µs, 0 not yet). */
typedef struct
{
  guint   seq;
  char   *pickup_point_id;   /* nullable */
  char   *address;           /* nullable */
  double  lat;
  double  lon;
  gint64  arrived_at;
  gint64  departed_at;
  guint   n_batches;
} WbClientTripStop;

#define WB_TYPE_CLIENT_TRIP (wb_client_trip_get_type ())

G_DECLARE_FINAL_TYPE (WbClientTrip, wb_client_trip, WB, CLIENT_TRIP, GObject)

/* A trip as GET /trips/{id} and GET /trips answer it: immutable once read.
 * Times are unix µs, 0 where the API says null. The version is the one
 * the ETag carries ("\"<version>\""). */
WbClientTrip           *wb_client_trip_read              (WbJsonReader  *reader,
                                                          GError       **error);
const char             *wb_client_trip_get_id            (WbClientTrip  *self);
const char             *wb_client_trip_get_company_id    (WbClientTrip  *self);
const char             *wb_client_trip_get_vehicle_id    (WbClientTrip  *self);
const char             *wb_client_trip_get_driver_id     (WbClientTrip  *self);
/* "PLANNED", "IN_TRANSIT", "COMPLETED" or "CANCELLED". */
const char             *wb_client_trip_get_status        (WbClientTrip  *self);
const char             *wb_client_trip_get_cancel_reason (WbClientTrip  *self);
gint64                  wb_client_trip_get_version       (WbClientTrip  *self);
gint64                  wb_client_trip_get_planned_start (WbClientTrip  *self);
gint64                  wb_client_trip_get_started_at    (WbClientTrip  *self);
gint64                  wb_client_trip_get_finished_at   (WbClientTrip  *self);
gint64                  wb_client_trip_get_created_at    (WbClientTrip  *self);
guint                   wb_client_trip_get_n_stops       (WbClientTrip  *self);
const WbClientTripStop *wb_client_trip_get_stop          (WbClientTrip  *self,
                                                          guint          index);
/* Stops arrived at so far. */
guint                   wb_client_trip_count_arrived     (WbClientTrip  *self);

/* An operator command (POST /trips/{id}/reassign, GET /commands/{id}):
 * "pending", then "applied" or "rejected" with its outcome. */
typedef struct
{
  char   *id;
  char   *trip_id;
  char   *vehicle_id;    /* nullable */
  char   *driver_id;     /* nullable */
  char   *reason;
  char   *requested_by;
  char   *status;
  char   *outcome;       /* nullable */
  gint64  decided_at;
} WbClientCommand;

WbClientCommand *wb_client_command_read (WbJsonReader     *reader,
                                         GError          **error);
void             wb_client_command_free (WbClientCommand  *command);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbClientCommand, wb_client_command_free)

/* The filters of GET /trips; every one not set is left out. */
typedef struct
{
  char   *status;       /* nullable */
  char   *company_id;   /* nullable */
  char   *vehicle_id;   /* nullable */
  char   *driver_id;    /* nullable */
  gint64  from;         /* planned start, unix µs; 0 unset */
  gint64  to;
  guint   limit;        /* 0: the server's page size */
} WbClientTripQuery;

WbClientTripQuery *wb_client_trip_query_new     (void);
WbClientTripQuery *wb_client_trip_query_copy    (const WbClientTripQuery *query);
void               wb_client_trip_query_free    (WbClientTripQuery       *query);
/* "/trips?…" after @cursor (nullable). */
char              *wb_client_trip_query_to_path (const WbClientTripQuery *query,
                                                 const char              *cursor);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbClientTripQuery, wb_client_trip_query_free)

G_END_DECLS
