// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-client.h"
#include "wb-client-trip.h"

G_BEGIN_DECLS

typedef enum
{
  WB_CLIENT_TRIP_START,
  WB_CLIENT_TRIP_COMPLETE,
  WB_CLIENT_TRIP_CANCEL,
} WbClientTripTransition;

/* GET /trips for @query after @cursor (%NULL: the first page): one page,
 * newest first, and the next page's cursor (%NULL on the last).
 * Returns: (transfer container) (element-type WbClientTrip). */
void             wb_client_list_trips_async       (WbClient                *self,
                                                   const WbClientTripQuery *query,
                                                   const char              *cursor,
                                                   GCancellable            *cancellable,
                                                   GAsyncReadyCallback      callback,
                                                   gpointer                 user_data);
GPtrArray       *wb_client_list_trips_finish      (WbClient                *self,
                                                   GAsyncResult            *result,
                                                   char                   **out_next_cursor,
                                                   GError                 **error);
/* GET /trips/{id}. */
void             wb_client_get_trip_async         (WbClient                *self,
                                                   const char              *trip_id,
                                                   GCancellable            *cancellable,
                                                   GAsyncReadyCallback      callback,
                                                   gpointer                 user_data);
WbClientTrip    *wb_client_get_trip_finish        (WbClient                *self,
                                                   GAsyncResult            *result,
                                                   GError                 **error);
/* POST /trips/{id}/start|complete|cancel: the trip after it. */
void             wb_client_transition_trip_async  (WbClient                *self,
                                                   const char              *trip_id,
                                                   WbClientTripTransition   transition,
                                                   const char              *reason,
                                                   GCancellable            *cancellable,
                                                   GAsyncReadyCallback      callback,
                                                   gpointer                 user_data);
WbClientTrip    *wb_client_transition_trip_finish (WbClient                *self,
                                                   GAsyncResult            *result,
                                                   GError                 **error);
/* POST /trips/{id}/reassign: the command, pending. */
void             wb_client_reassign_trip_async    (WbClient                *self,
                                                   const char              *trip_id,
                                                   const char              *vehicle_id,
                                                   const char              *driver_id,
                                                   const char              *reason,
                                                   GCancellable            *cancellable,
                                                   GAsyncReadyCallback      callback,
                                                   gpointer                 user_data);
WbClientCommand *wb_client_reassign_trip_finish   (WbClient                *self,
                                                   GAsyncResult            *result,
                                                   GError                 **error);
/* GET /commands/{id}: pending, applied or rejected with its outcome. */
void             wb_client_get_command_async      (WbClient                *self,
                                                   const char              *command_id,
                                                   GCancellable            *cancellable,
                                                   GAsyncReadyCallback      callback,
                                                   gpointer                 user_data);
WbClientCommand *wb_client_get_command_finish     (WbClient                *self,
                                                   GAsyncResult            *result,
                                                   GError                 **error);

G_END_DECLS
