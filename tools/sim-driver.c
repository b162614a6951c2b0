// SPDX-License-Identifier: GPL-3.0-or-later
/* Driving a given itinerary. The stops become one polyline of waypoints in
 * local metres, each knowing how fast the vehicle may pass it (the cruise
 * speed straight on, turning speed at a corner, 0 at a stop) and how long
 * to stand there; the vehicle brakes in time for the next waypoint, as
 * WbSimVehicle brakes for the end of its street. */

#include "config.h"

#include <math.h>

#include "sim-driver.h"

#define STEP_S              0.5
#define ACCELERATION        1.5     /* m/s² */
#define DECELERATION        2.5     /* m/s² */
#define TURN_SPEED          (15 / 3.6)
#define MIN_CRUISE          (25 / 3.6)
#define MAX_CRUISE          (50 / 3.6)
#define ARRIVED_M           1.0
#define LITRES_PER_METRE    (0.12 / 1000)

typedef struct
{
  double x;
  double y;
  int    stop;       /* the stop's index, or -1 for an intersection */
} Waypoint;

struct _WbSimDriver
{
  const WbSimCity *city;
  GRand           *rand;
  GArray          *waypoints;     /* Waypoint */
  const WbSimStop *stops;         /* n_stops, copied */
  guint            n_stops;

  guint            at;            /* the segment from waypoint @at to @at + 1 */
  double           along;
  double           length;
  double           dx;
  double           dy;
  double           speed;
  double           cruise;
  double           dwell_left;    /* > 0: standing at a stop */
  guint            stop;          /* the next stop, or the one stood at */
  gboolean         done;

  double           odometer;
  double           fuel;
};

static void
add_waypoint (GArray *waypoints,
              double  x,
              double  y,
              int     stop)
{
  Waypoint w = { x, y, stop };

  if (waypoints->len > 0)
    {
      Waypoint *last = &g_array_index (waypoints, Waypoint, waypoints->len - 1);

      /* A stop on an intersection: the intersection becomes the stop. */
      if (hypot (last->x - x, last->y - y) < ARRIVED_M)
        {
          if (stop >= 0)
            last->stop = stop;
          return;
        }
    }
  g_array_append_val (waypoints, w);
}

static GArray *
plan (const WbSimCity *city,
      const WbSimStop *stops,
      guint            n_stops,
      guint            start)
{
  GArray *waypoints = g_array_new (FALSE, FALSE, sizeof (Waypoint));
  guint node = start;
  double x, y;

  wb_sim_city_get_node (city, node, &x, &y);
  add_waypoint (waypoints, x, y, -1);
  for (guint s = 0; s < n_stops; s++)
    {
      double sx, sy;
      guint target;
      g_autoptr(GArray) route = NULL;

      wb_sim_city_from_lat_lon (city, stops[s].lat, stops[s].lon, &sx, &sy);
      target = wb_sim_city_nearest_node (city, sx, sy);
      route = wb_sim_city_route (city, node, target);
      for (guint i = 1; i < route->len; i++)
        {
          wb_sim_city_get_node (city, g_array_index (route, guint, i), &x, &y);
          add_waypoint (waypoints, x, y, -1);
        }
      add_waypoint (waypoints, sx, sy, (int) s);
      /* Back to the street for the next stop. */
      if (s + 1 < n_stops)
        {
          wb_sim_city_get_node (city, target, &x, &y);
          add_waypoint (waypoints, x, y, -1);
        }
      node = target;
    }
  return waypoints;
}

static const Waypoint *
waypoint (const WbSimDriver *d,
          guint              i)
{
  return &g_array_index (d->waypoints, Waypoint, i);
}

static void
enter_segment (WbSimDriver *d,
               guint        at)
{
  const Waypoint *from = waypoint (d, at);
  const Waypoint *to = waypoint (d, at + 1);

  d->at = at;
  d->along = 0;
  d->length = hypot (to->x - from->x, to->y - from->y);
  d->dx = (to->x - from->x) / d->length;
  d->dy = (to->y - from->y) / d->length;
  d->cruise = g_rand_double_range (d->rand, MIN_CRUISE, MAX_CRUISE);
}

/* The speed it may have passing the segment's end. */
static double
end_speed (const WbSimDriver *d)
{
  const Waypoint *to = waypoint (d, d->at + 1);
  const Waypoint *next;
  double turn;

  if (to->stop >= 0 || d->at + 2 >= d->waypoints->len)
    return 0;
  next = waypoint (d, d->at + 2);
  turn = fabs (remainder (atan2 (next->x - to->x, next->y - to->y) - atan2 (d->dx, d->dy), 2 * G_PI));
  return turn < G_PI / 8 ? d->cruise : MIN (TURN_SPEED, d->cruise);
}

static void
arrive (WbSimDriver *d,
        double       beyond)
{
  const Waypoint *to = waypoint (d, d->at + 1);

  if (to->stop >= 0)
    {
      d->speed = 0;
      d->along = d->length;
      d->stop = (guint) to->stop;
      d->dwell_left = MAX (d->stops[to->stop].dwell_s, 1e-6);
      return;
    }
  if (d->at + 2 >= d->waypoints->len)
    {
      d->speed = 0;
      d->along = d->length;
      d->done = TRUE;
      return;
    }
  enter_segment (d, d->at + 1);
  d->along = MIN (beyond, d->length);
}

static void
drive (WbSimDriver *d,
       double       dt)
{
  double remaining = d->length - d->along;
  double target = end_speed (d);
  double allowed = sqrt (target * target + 2 * DECELERATION * MAX (remaining - d->speed * dt, 0));
  double speed = MIN (MIN (d->speed + ACCELERATION * dt, d->cruise), allowed);
  double moved = (d->speed + speed) / 2 * dt;

  d->speed = speed;
  d->along += moved;
  d->odometer += moved;
  d->fuel = MAX (d->fuel - moved * LITRES_PER_METRE, 5);
  remaining = d->length - d->along;
  if (remaining <= 0)
    arrive (d, -remaining);
  else if (target == 0 && remaining < ARRIVED_M && d->speed < 2)
    {
      /* Creeping the last metre to the stop. */
      d->odometer += remaining;
      arrive (d, 0);
    }
}

static void
dwell (WbSimDriver *d,
       double       dt)
{
  d->dwell_left -= dt;
  if (d->dwell_left > 0)
    return;
  d->dwell_left = 0;
  d->stop++;
  if (d->stop >= d->n_stops || d->at + 2 >= d->waypoints->len)
    {
      d->stop = d->n_stops;
      d->done = TRUE;
      return;
    }
  enter_segment (d, d->at + 1);
}

void
wb_sim_driver_advance (WbSimDriver *driver,
                       double       seconds)
{
  g_return_if_fail (driver != NULL && seconds >= 0);

  while (seconds > 0 && !driver->done)
    {
      double dt = MIN (seconds, STEP_S);

      if (driver->dwell_left > 0)
        dwell (driver, dt);
      else
        drive (driver, dt);
      seconds -= dt;
    }
}

WbSimDriver *
wb_sim_driver_new (const WbSimCity *city,
                   const WbSimStop *stops,
                   guint            n_stops,
                   guint            number,
                   guint32          seed)
{
  WbSimDriver *d;
  guint start;

  g_return_val_if_fail (city != NULL && stops != NULL && n_stops > 0, NULL);

  d = g_new0 (WbSimDriver, 1);
  d->city = city;
  d->rand = g_rand_new_with_seed (seed ^ (number * 2654435761u));
  d->stops = g_memdup2 (stops, n_stops * sizeof *stops);
  d->n_stops = n_stops;
  d->odometer = g_rand_double_range (d->rand, 10e6, 200e6);
  d->fuel = g_rand_double_range (d->rand, 30, 60);
  start = g_rand_int_range (d->rand, 0, wb_sim_city_get_n_nodes (city));
  d->waypoints = plan (city, stops, n_stops, start);
  if (d->waypoints->len < 2)
    {
      /* Already at the only stop: it stands there. */
      g_array_index (d->waypoints, Waypoint, 0).stop = 0;
      add_waypoint (d->waypoints, g_array_index (d->waypoints, Waypoint, 0).x + 2 * ARRIVED_M,
                    g_array_index (d->waypoints, Waypoint, 0).y, 0);
    }
  enter_segment (d, 0);
  return d;
}

void
wb_sim_driver_free (WbSimDriver *driver)
{
  if (driver == NULL)
    return;
  g_rand_free (driver->rand);
  g_array_unref (driver->waypoints);
  g_free ((gpointer) driver->stops);
  g_free (driver);
}

WbPosition *
wb_sim_driver_report (const WbSimDriver *driver,
                      const char        *device_id,
                      gint64             device_time_us)
{
  const WbSimDriver *d = driver;
  const Waypoint *from;
  WbPosition *p;
  double x, y;

  g_return_val_if_fail (driver != NULL && device_id != NULL, NULL);

  from = waypoint (d, d->at);
  x = from->x + d->dx * d->along;
  y = from->y + d->dy * d->along;
  p = wb_position_new ();
  p->device_id = g_strdup (device_id);
  p->device_time = device_time_us;
  wb_sim_city_to_lat_lon (d->city, x, y, &p->lat, &p->lon);
  p->speed_kmh = d->speed * 3.6;
  p->heading = fmod (atan2 (d->dx, d->dy) * 180 / G_PI + 360, 360);
  p->altitude = 220 + 12 * sin (x / 900) + 8 * cos (y / 700);
  p->accuracy = 5;
  p->satellites = 10;
  p->ignition = TRUE;
  p->moving = d->speed > 0.5;
  p->fuel = d->fuel;
  p->odometer = d->odometer;
  return p;
}

guint
wb_sim_driver_get_stop (const WbSimDriver *driver)
{
  return driver->done ? driver->n_stops : driver->stop;
}

gboolean
wb_sim_driver_is_dwelling (const WbSimDriver *driver)
{
  return driver->dwell_left > 0;
}

gboolean
wb_sim_driver_is_done (const WbSimDriver *driver)
{
  return driver->done;
}

double
wb_sim_driver_estimate (const WbSimCity *city,
                        const WbSimStop *stops,
                        guint            n_stops,
                        guint            number,
                        guint32          seed)
{
  g_autoptr(WbSimDriver) driver = wb_sim_driver_new (city, stops, n_stops, number, seed);
  double seconds = 0;

  while (!driver->done && seconds < 7 * 24 * 3600)
    {
      wb_sim_driver_advance (driver, 10);
      seconds += 10;
    }
  return seconds;
}
