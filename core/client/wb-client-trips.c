// SPDX-License-Identifier: GPL-3.0-or-later
/* WbClient's dispatch calls: the keyset-paged trips list, one trip, its
 * transitions, and reassignment commands. */
#include "config.h"

#include "wb-client-json-private.h"
#include "wb-client-private.h"
#include "wb-client-trips.h"
#include "wb-json-reader.h"

static gpointer
read_trip_page (JsonNode  *node,
                GError   **error)
{
  return _wb_client_read_page (node, (WbClientReadItem) wb_client_trip_read, error);
}

/**
 * wb_client_list_trips_async:
 * @cursor: (nullable): the previous page's next cursor; %NULL for the first
 */
void
wb_client_list_trips_async (WbClient                *self,
                            const WbClientTripQuery *query,
                            const char              *cursor,
                            GCancellable            *cancellable,
                            GAsyncReadyCallback      callback,
                            gpointer                 user_data)
{
  g_autofree char *path = NULL;

  g_return_if_fail (WB_IS_CLIENT (self));
  g_return_if_fail (query != NULL);

  path = wb_client_trip_query_to_path (query, cursor);
  _wb_client_call_typed (self, path, "GET /trips", read_trip_page, _wb_client_page_free, wb_client_list_trips_async,
                         cancellable, callback, user_data);
}

/**
 * wb_client_list_trips_finish:
 * @out_next_cursor: (out) (optional) (transfer full) (nullable): %NULL on
 *   the last page
 *
 * Returns: (transfer container) (element-type WbClientTrip): newest first
 */
GPtrArray *
wb_client_list_trips_finish (WbClient      *self,
                             GAsyncResult  *result,
                             char         **out_next_cursor,
                             GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return _wb_client_page_finish (result, out_next_cursor, error);
}

/* ---- one trip, and its transitions ---- */

static gpointer
read_trip (JsonNode  *node,
           GError   **error)
{
  g_autoptr(WbJsonReader) reader = wb_json_reader_new_for_node (node, "", error);

  return reader != NULL ? wb_client_trip_read (reader, error) : NULL;
}

static char *
trip_path (const char *trip_id,
           const char *tail)
{
  GString *path = g_string_new ("/trips/");

  g_string_append_uri_escaped (path, trip_id, NULL, FALSE);
  if (tail != NULL)
    g_string_append (path, tail);
  return g_string_free (path, FALSE);
}

void
wb_client_get_trip_async (WbClient            *self,
                          const char          *trip_id,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autofree char *path = NULL;

  g_return_if_fail (WB_IS_CLIENT (self));
  g_return_if_fail (trip_id != NULL);

  path = trip_path (trip_id, NULL);
  _wb_client_call_typed (self, path, "GET /trips/{id}", read_trip, g_object_unref, wb_client_get_trip_async,
                         cancellable, callback, user_data);
}

/**
 * wb_client_get_trip_finish:
 *
 * Returns: (transfer full): the trip
 */
WbClientTrip *
wb_client_get_trip_finish (WbClient      *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * wb_client_transition_trip_async:
 * @reason: (nullable): why, for a cancel only
 *
 * POST /trips/{id}/start, /complete or /cancel. The server decides the
 * transition on the trip as it stands (it needs no If-Match); a trip
 * whose status forbids it fails with BAD_REQUEST (409), the field
 * "status", and a message naming the current status.
 */
void
wb_client_transition_trip_async (WbClient             *self,
                                 const char           *trip_id,
                                 WbClientTripTransition transition,
                                 const char           *reason,
                                 GCancellable         *cancellable,
                                 GAsyncReadyCallback   callback,
                                 gpointer              user_data)
{
  static const char * const tails[] = { "/start", "/complete", "/cancel" };
  g_autofree char *path = NULL;
  g_autoptr(JsonNode) body = NULL;

  g_return_if_fail (WB_IS_CLIENT (self));
  g_return_if_fail (trip_id != NULL);
  g_return_if_fail (transition <= WB_CLIENT_TRIP_CANCEL);

  path = trip_path (trip_id, tails[transition]);
  if (transition == WB_CLIENT_TRIP_CANCEL && reason != NULL)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "reason");
      json_builder_add_string_value (builder, reason);
      json_builder_end_object (builder);
      body = json_builder_get_root (builder);
    }
  _wb_client_call_typed_full (self, "POST", path, body, "POST /trips/{id}/…", read_trip, g_object_unref,
                              wb_client_transition_trip_async, cancellable, callback, user_data);
}

/**
 * wb_client_transition_trip_finish:
 *
 * Returns: (transfer full): the trip after the transition
 */
WbClientTrip *
wb_client_transition_trip_finish (WbClient      *self,
                                  GAsyncResult  *result,
                                  GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- commands ---- */

static gpointer
read_command (JsonNode  *node,
              GError   **error)
{
  g_autoptr(WbJsonReader) reader = wb_json_reader_new_for_node (node, "", error);

  return reader != NULL ? wb_client_command_read (reader, error) : NULL;
}

/**
 * wb_client_reassign_trip_async:
 * @vehicle_id: (nullable): the new vehicle
 * @driver_id: (nullable): the new driver; one of the two at least
 *
 * POST /trips/{id}/reassign: the server records the command as pending
 * and the dispatch role decides it later (GET /commands/{id}).
 */
void
wb_client_reassign_trip_async (WbClient            *self,
                               const char          *trip_id,
                               const char          *vehicle_id,
                               const char          *driver_id,
                               const char          *reason,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) body = NULL;
  g_autofree char *path = NULL;

  g_return_if_fail (WB_IS_CLIENT (self));
  g_return_if_fail (trip_id != NULL && reason != NULL);
  g_return_if_fail (vehicle_id != NULL || driver_id != NULL);

  json_builder_begin_object (builder);
  if (vehicle_id != NULL)
    {
      json_builder_set_member_name (builder, "vehicleId");
      json_builder_add_string_value (builder, vehicle_id);
    }
  if (driver_id != NULL)
    {
      json_builder_set_member_name (builder, "driverId");
      json_builder_add_string_value (builder, driver_id);
    }
  json_builder_set_member_name (builder, "reason");
  json_builder_add_string_value (builder, reason);
  json_builder_end_object (builder);
  body = json_builder_get_root (builder);
  path = trip_path (trip_id, "/reassign");
  _wb_client_call_typed_full (self, "POST", path, body, "POST /trips/{id}/reassign", read_command,
                              (GDestroyNotify) wb_client_command_free, wb_client_reassign_trip_async,
                              cancellable, callback, user_data);
}

/**
 * wb_client_reassign_trip_finish:
 *
 * Returns: (transfer full): the command, pending
 */
WbClientCommand *
wb_client_reassign_trip_finish (WbClient      *self,
                                GAsyncResult  *result,
                                GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
wb_client_get_command_async (WbClient            *self,
                             const char          *command_id,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autoptr(GString) path = g_string_new ("/commands/");

  g_return_if_fail (WB_IS_CLIENT (self));
  g_return_if_fail (command_id != NULL);

  g_string_append_uri_escaped (path, command_id, NULL, FALSE);
  _wb_client_call_typed (self, path->str, "GET /commands/{id}", read_command,
                         (GDestroyNotify) wb_client_command_free, wb_client_get_command_async,
                         cancellable, callback, user_data);
}

/**
 * wb_client_get_command_finish:
 *
 * Returns: (transfer full): the command and its outcome so far
 */
WbClientCommand *
wb_client_get_command_finish (WbClient      *self,
                              GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
