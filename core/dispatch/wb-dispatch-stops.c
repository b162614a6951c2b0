// SPDX-License-Identifier: GPL-3.0-or-later
/* Stops detected from GPS. A vehicle on an IN_TRANSIT trip arrives at a
 * stop once it has stayed within the radius for the dwell time, and
 * departs with its first position outside after that. The stop's row holds
 * the state (inside_since, arrived_at, departed_at) and is locked while a
 * batch is judged; arrived_at and departed_at are set once each, so a late
 * or redelivered position cannot announce a stop twice. */

#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wb-dispatch-private.h"
#include "wb-json-writer.h"

#define EARTH_RADIUS_M 6371008.8

typedef struct
{
  char   *trip_id;
  char   *vehicle_id;
  char   *seq;
  double  lat, lon;
  gint64  inside_since;   /* µs, 0 = not inside */
  gint64  arrived;        /* µs, 0 = not yet */
  gint64  departed;       /* µs, 0 = not yet */
  gboolean changed;
  gboolean newly_arrived;
  gboolean newly_departed;
} Stop;

static void
stop_clear (gpointer data)
{
  Stop *stop = data;

  g_free (stop->trip_id);
  g_free (stop->vehicle_id);
  g_free (stop->seq);
}

double
_wb_dispatch_distance_m (double lat1,
                         double lon1,
                         double lat2,
                         double lon2)
{
  double p1 = lat1 * G_PI / 180, p2 = lat2 * G_PI / 180;
  double dp = p2 - p1, dl = (lon2 - lon1) * G_PI / 180;
  double a = sin (dp / 2) * sin (dp / 2) + cos (p1) * cos (p2) * sin (dl / 2) * sin (dl / 2);

  return 2 * EARTH_RADIUS_M * asin (MIN (1.0, sqrt (a)));
}

static int
compare_positions (gconstpointer a,
                   gconstpointer b)
{
  const WbDispatchPosition *x = *(WbDispatchPosition **) a;
  const WbDispatchPosition *y = *(WbDispatchPosition **) b;
  int by_vehicle = strcmp (x->vehicle_id, y->vehicle_id);

  if (by_vehicle != 0)
    return by_vehicle;
  return x->device_time < y->device_time ? -1 : x->device_time > y->device_time;
}

static char *
vehicle_ids_json (GPtrArray *positions)
{
  g_autoptr(GString) out = g_string_new ("[");
  const char *last = NULL;

  for (guint i = 0; i < positions->len; i++)
    {
      WbDispatchPosition *p = g_ptr_array_index (positions, i);

      if (last != NULL && g_str_equal (last, p->vehicle_id))
        continue;
      if (last != NULL)
        g_string_append_c (out, ',');
      wb_json_write_string (out, p->vehicle_id);
      last = p->vehicle_id;
    }
  g_string_append_c (out, ']');
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* The stops of the IN_TRANSIT trips of these vehicles not yet departed,
 * locked until the batch commits. */
static GArray *
load_stops (WbDispatchTx  *tx,
            GPtrArray     *positions,
            GError       **error)
{
  static const char sql[] =
    "SELECT s.trip_id, t.vehicle_id, s.seq::text, s.lat, s.lon,"
    "   coalesce(" WB_DISPATCH_SQL_TO_US ("s.inside_since") ", 0), coalesce(" WB_DISPATCH_SQL_TO_US ("s.arrived_at") ", 0)"
    " FROM trips t JOIN trip_stops s ON s.trip_id = t.id"
    " WHERE t.status = 'IN_TRANSIT' AND t.vehicle_id IN (SELECT json_array_elements_text($1::json))"
    "   AND s.departed_at IS NULL"
    " ORDER BY s.trip_id, s.seq FOR UPDATE OF s";
  g_autofree char *vehicles = vehicle_ids_json (positions);
  const char *params[] = { vehicles };
  g_autoptr(PGresult) result = _wb_dispatch_exec (tx, sql, params, 1, error);
  GArray *stops;

  if (result == NULL)
    return NULL;
  stops = g_array_sized_new (FALSE, TRUE, sizeof (Stop), PQntuples (result));
  g_array_set_clear_func (stops, stop_clear);
  for (int i = 0; i < PQntuples (result); i++)
    {
      Stop stop = {
        .trip_id = g_strdup (PQgetvalue (result, i, 0)),
        .vehicle_id = g_strdup (PQgetvalue (result, i, 1)),
        .seq = g_strdup (PQgetvalue (result, i, 2)),
        .lat = g_ascii_strtod (PQgetvalue (result, i, 3), NULL),
        .lon = g_ascii_strtod (PQgetvalue (result, i, 4), NULL),
        .inside_since = g_ascii_strtoll (PQgetvalue (result, i, 5), NULL, 10),
        .arrived = g_ascii_strtoll (PQgetvalue (result, i, 6), NULL, 10),
      };

      g_array_append_val (stops, stop);
    }
  return stops;
}

/* One position's verdict on one stop. Positions come in time order per
 * vehicle, but a batch may hold ones older than what the stop has seen. */
static void
judge (Stop                     *stop,
       const WbDispatchPosition *p,
       double                    radius_m,
       gint64                    dwell_us)
{
  gboolean inside = _wb_dispatch_distance_m (p->lat, p->lon, stop->lat, stop->lon) <= radius_m;
  gint64 t = p->device_time;

  if (stop->departed != 0)
    return;
  if (inside && stop->arrived == 0)
    {
      if (stop->inside_since == 0 || t < stop->inside_since)
        {
          stop->inside_since = t;
          stop->changed = TRUE;
        }
      if (t - stop->inside_since >= dwell_us)
        {
          stop->arrived = stop->inside_since;
          stop->newly_arrived = stop->changed = TRUE;
        }
    }
  else if (!inside && stop->arrived == 0 && stop->inside_since != 0 && t > stop->inside_since)
    {
      /* Passed by without staying. */
      stop->inside_since = 0;
      stop->changed = TRUE;
    }
  else if (!inside && stop->arrived != 0 && t > stop->arrived)
    {
      stop->departed = t;
      stop->newly_departed = stop->changed = TRUE;
    }
}

static gboolean
save_stop (WbDispatchTx  *tx,
           Stop          *stop,
           GError       **error)
{
  static const char sql[] =
    "UPDATE trip_stops SET inside_since = CASE WHEN $3::bigint = 0 THEN NULL ELSE " WB_DISPATCH_SQL_FROM_US ("$3") " END,"
    "   arrived_at = coalesce(arrived_at, CASE WHEN $4::bigint = 0 THEN NULL ELSE " WB_DISPATCH_SQL_FROM_US ("$4") " END),"
    "   departed_at = coalesce(departed_at, CASE WHEN $5::bigint = 0 THEN NULL ELSE " WB_DISPATCH_SQL_FROM_US ("$5") " END)"
    " WHERE trip_id = $1 AND seq = $2::int";
  g_autofree char *inside = g_strdup_printf ("%" G_GINT64_FORMAT, stop->inside_since);
  g_autofree char *arrived = g_strdup_printf ("%" G_GINT64_FORMAT, stop->arrived);
  g_autofree char *departed = g_strdup_printf ("%" G_GINT64_FORMAT, stop->departed);
  const char *params[] = { stop->trip_id, stop->seq, inside, arrived, departed };
  g_autoptr(PGresult) result = _wb_dispatch_exec (tx, sql, params, 5, error);

  if (result == NULL)
    return FALSE;
  if (stop->newly_arrived && !_wb_dispatch_arrive (tx, stop->trip_id, stop->seq, error))
    return FALSE;
  if (stop->newly_departed && !_wb_dispatch_depart (tx, stop->trip_id, stop->seq, error))
    return FALSE;
  return TRUE;
}

static WbDispatchResult *
observe_positions (WbDispatchTx  *tx,
                   GError       **error)
{
  WbDispatchRequest *r = tx->request;
  g_autoptr(GArray) stops = NULL;
  g_autoptr(GHashTable) runs = g_hash_table_new (g_str_hash, g_str_equal);
  WbDispatchResult *result;

  g_ptr_array_sort (r->positions, compare_positions);
  /* Where each vehicle's run of positions starts (they are sorted by vehicle). */
  for (guint k = r->positions->len; k-- > 0;)
    g_hash_table_insert (runs, ((WbDispatchPosition *) g_ptr_array_index (r->positions, k))->vehicle_id,
                         GUINT_TO_POINTER (k));
  if ((stops = load_stops (tx, r->positions, error)) == NULL)
    return NULL;
  result = _wb_dispatch_result_new (NULL, NULL, 0);
  for (guint i = 0; i < stops->len; i++)
    {
      Stop *stop = &g_array_index (stops, Stop, i);
      guint first = GPOINTER_TO_UINT (g_hash_table_lookup (runs, stop->vehicle_id));

      for (guint k = first; k < r->positions->len; k++)
        {
          WbDispatchPosition *p = g_ptr_array_index (r->positions, k);

          if (!g_str_equal (p->vehicle_id, stop->vehicle_id))
            break;
          judge (stop, p, r->stop_radius_m, r->stop_dwell_us);
        }
      if (stop->changed && !save_stop (tx, stop, error))
        {
          wb_dispatch_result_free (result);
          return NULL;
        }
      result->n_arrived += stop->newly_arrived;
      result->n_departed += stop->newly_departed;
    }
  return result;
}

WbDispatchResult *
_wb_dispatch_stops_run (WbDispatchTx  *tx,
                        GError       **error)
{
  return observe_positions (tx, error);
}
