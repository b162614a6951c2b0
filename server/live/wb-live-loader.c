// SPDX-License-Identifier: GPL-3.0-or-later
/* The live map at start. On the in-process bus nothing replays old
 * positions, so without this a restarted gateway would show each vehicle
 * only once it next reports. The company follows the fleet role's
 * enrichment rule: the driver's, else the vehicle's own. */

#include "config.h"

#include <math.h>
#include <stdlib.h>

#include "wb-db.h"
#include "wb-live-loader.h"

#define SQL_TO_US(expr) "(extract(epoch FROM " expr ") * 1000000)::bigint"

enum { COL_VEHICLE, COL_DEVICE, COL_DRIVER, COL_COMPANY, COL_TRIP, COL_LAT, COL_LON, COL_SPEED, COL_HEADING,
       COL_FIX_TIME, COL_SERVER_TIME, COL_IGNITION, COL_MOTION, COL_OFFLINE };

/* $1: seconds of silence that make a vehicle offline. */
static const char load_sql[] =
  "SELECT s.vehicle_id, s.device_id, coalesce(s.driver_id, v.driver_id), coalesce(d.company_id, v.company_id),"
  " t.id, s.lat, s.lon, s.speed_kmh, s.heading, " SQL_TO_US ("s.device_time") ", " SQL_TO_US ("s.server_time") ","
  " s.ignition, s.motion, now() - s.server_time > $1::float8 * interval '1 second'"
  " FROM vehicle_states s"
  " LEFT JOIN vehicles v ON v.id = s.vehicle_id"
  " LEFT JOIN drivers d ON d.id = coalesce(s.driver_id, v.driver_id)"
  " LEFT JOIN LATERAL (SELECT id FROM trips WHERE vehicle_id = s.vehicle_id AND status = 'IN_TRANSIT'"
  "                    ORDER BY updated_at DESC LIMIT 1) t ON true";

static char *
text_or_null (PGresult *result,
              int       row,
              int       column)
{
  return PQgetisnull (result, row, column) ? NULL : g_strdup (PQgetvalue (result, row, column));
}

static double
number_or_nan (PGresult *result,
               int       row,
               int       column)
{
  return PQgetisnull (result, row, column) ? NAN : g_ascii_strtod (PQgetvalue (result, row, column), NULL);
}

static WbLiveVehicle *
vehicle_from_row (PGresult *result,
                  int       row)
{
  WbLiveVehicle *vehicle = wb_live_vehicle_new (PQgetvalue (result, row, COL_VEHICLE));
  const char *motion = PQgetvalue (result, row, COL_MOTION);

  vehicle->device_id = text_or_null (result, row, COL_DEVICE);
  vehicle->driver_id = text_or_null (result, row, COL_DRIVER);
  vehicle->company_id = text_or_null (result, row, COL_COMPANY);
  vehicle->trip_id = text_or_null (result, row, COL_TRIP);
  vehicle->lat = number_or_nan (result, row, COL_LAT);
  vehicle->lon = number_or_nan (result, row, COL_LON);
  vehicle->speed = number_or_nan (result, row, COL_SPEED);
  vehicle->course = number_or_nan (result, row, COL_HEADING);
  vehicle->fix_time = g_ascii_strtoll (PQgetvalue (result, row, COL_FIX_TIME), NULL, 10);
  vehicle->server_time = g_ascii_strtoll (PQgetvalue (result, row, COL_SERVER_TIME), NULL, 10);
  /* Accepted long ago: a latency measured from it would mean nothing. */
  vehicle->accepted_at = 0;
  if (!PQgetisnull (result, row, COL_IGNITION))
    vehicle->ignition = *PQgetvalue (result, row, COL_IGNITION) == 't' ? WB_LIVE_IGNITION_ON : WB_LIVE_IGNITION_OFF;
  if (*PQgetvalue (result, row, COL_OFFLINE) == 't')
    vehicle->state = WB_LIVE_STATE_OFFLINE;
  else
    vehicle->state = g_str_equal (motion, "moving") ? WB_LIVE_STATE_MOVING : WB_LIVE_STATE_STOPPED;
  return vehicle;
}

static gpointer
load_in_thread (PGconn        *conn,
                gpointer       data,
                GCancellable  *cancellable,
                GError       **error)
{
  g_autofree char *offline_after = g_strdup_printf ("%" G_GINT64_FORMAT, *(gint64 *) data);
  const char *params[] = { offline_after };
  g_autoptr(PGresult) result = wb_db_exec (conn, load_sql, params, 1, cancellable, error);
  GPtrArray *vehicles;

  if (result == NULL)
    return NULL;
  vehicles = g_ptr_array_new_full (PQntuples (result), (GDestroyNotify) wb_live_vehicle_unref);
  for (int row = 0; row < PQntuples (result); row++)
    g_ptr_array_add (vehicles, vehicle_from_row (result, row));
  return vehicles;
}

static void
on_loaded (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  g_autoptr(GTask) task = data;
  GError *error = NULL;
  GPtrArray *vehicles = wb_db_pool_run_finish (WB_DB_POOL (source), result, &error);

  if (vehicles == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, vehicles, (GDestroyNotify) g_ptr_array_unref);
}

void
wb_live_load_vehicles_async (WbDbPool            *pool,
                             gint64               offline_after_s,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (WB_IS_DB_POOL (pool));

  task = g_task_new (pool, cancellable, callback, user_data);
  g_task_set_source_tag (task, wb_live_load_vehicles_async);
  wb_db_pool_run_async (pool, load_in_thread, g_memdup2 (&offline_after_s, sizeof offline_after_s), g_free,
                        (GDestroyNotify) g_ptr_array_unref, cancellable, on_loaded, task);
}

GPtrArray *
wb_live_load_vehicles_finish (WbDbPool      *pool,
                              GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, pool), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == wb_live_load_vehicles_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
