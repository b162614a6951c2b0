// SPDX-License-Identifier: GPL-3.0-or-later
/* The driving model. A vehicle is always on one street segment, from one
 * intersection to the next; when it enters a segment it already knows what
 * it will do at the end (go straight, turn, stop at a light or for a
 * delivery), so that it can brake in time for it. */

#include "config.h"

#include <math.h>

#include "sim-vehicle.h"

#define STEP_S              0.5     /* integration step: braking stays smooth at any report rate */
#define ACCELERATION        1.5     /* m/s² */
#define DECELERATION        2.5     /* m/s² */
#define TURN_SPEED          (15 / 3.6)
#define MIN_CRUISE          (20 / 3.6)
#define MAX_CRUISE          (WB_SIM_VEHICLE_MAX_SPEED_KMH / 3.6)
#define ARRIVED_M           1.0
#define LIGHT_CHANCE        0.25
#define DELIVERY_CHANCE     0.04
#define STRAIGHT_CHANCE     0.6
#define LITRES_PER_METRE    (0.12 / 1000)

typedef enum
{
  END_PASS,
  END_LIGHT,
  END_DELIVERY,
} SegmentEnd;

struct _WbSimVehicle
{
  const WbSimCity *city;
  GRand           *rand;

  guint            from;
  guint            to;
  guint            after;          /* where it goes from @to */
  double           along;          /* metres from @from */
  double           length;
  double           dx;             /* unit direction */
  double           dy;

  double           speed;          /* m/s */
  double           cruise;         /* m/s on this segment */
  SegmentEnd       end;
  double           stopped_for;    /* seconds left standing, 0 when driving */
  gboolean         ignition;

  double           odometer;       /* metres */
  double           fuel;           /* litres */
  double           accuracy;       /* metres */
  int              satellites;
};

static void
node_xy (const WbSimVehicle *v,
         guint               node,
         double             *x,
         double             *y)
{
  wb_sim_city_get_node (v->city, node, x, y);
}

static double
bearing_between (const WbSimVehicle *v,
                 guint               a,
                 guint               b)
{
  double ax, ay, bx, by;

  node_xy (v, a, &ax, &ay);
  node_xy (v, b, &bx, &by);
  return atan2 (bx - ax, by - ay);
}

/* Mostly straight on when the street goes on, else any street but back the
 * way it came (back only from a dead end). */
static guint
choose_next (WbSimVehicle *v,
             guint         from,
             guint         at)
{
  guint n_links;
  const guint *links = wb_sim_city_get_links (v->city, at, &n_links);
  double heading = bearing_between (v, from, at);
  guint straight = G_MAXUINT;
  guint choice;

  for (guint i = 0; i < n_links; i++)
    {
      double turn = fabs (remainder (bearing_between (v, at, links[i]) - heading, 2 * G_PI));

      if (links[i] != from && turn < G_PI / 8)
        straight = links[i];
    }
  if (straight != G_MAXUINT && g_rand_double (v->rand) < STRAIGHT_CHANCE)
    return straight;
  if (n_links == 1)
    return links[0];
  do
    choice = links[g_rand_int_range (v->rand, 0, n_links)];
  while (choice == from);
  return choice;
}

static void
enter_segment (WbSimVehicle *v,
               guint         from,
               guint         to)
{
  double fx, fy, tx, ty;
  guint n_links;

  node_xy (v, from, &fx, &fy);
  node_xy (v, to, &tx, &ty);
  v->from = from;
  v->to = to;
  v->along = 0;
  v->length = hypot (tx - fx, ty - fy);
  v->dx = (tx - fx) / v->length;
  v->dy = (ty - fy) / v->length;
  v->cruise = g_rand_double_range (v->rand, MIN_CRUISE, MAX_CRUISE);
  v->after = choose_next (v, from, to);
  wb_sim_city_get_links (v->city, to, &n_links);
  v->end = END_PASS;
  if (g_rand_double (v->rand) < DELIVERY_CHANCE)
    v->end = END_DELIVERY;
  else if (n_links > 2 && g_rand_double (v->rand) < LIGHT_CHANCE)
    v->end = END_LIGHT;
}

/* The speed it may have at the end of the segment. */
static double
end_speed (const WbSimVehicle *v)
{
  double turn;

  if (v->end != END_PASS)
    return 0;
  turn = fabs (remainder (bearing_between (v, v->to, v->after) - bearing_between (v, v->from, v->to), 2 * G_PI));
  return turn < G_PI / 8 ? v->cruise : MIN (TURN_SPEED, v->cruise);
}

static void
stand (WbSimVehicle *v)
{
  v->speed = 0;
  v->along = v->length;
  if (v->end == END_LIGHT)
    v->stopped_for = g_rand_double_range (v->rand, 10, 60);
  else
    {
      v->stopped_for = g_rand_double_range (v->rand, 120, 600);
      v->ignition = g_rand_boolean (v->rand) ? FALSE : TRUE;
    }
}

static void
arrive (WbSimVehicle *v,
        double        beyond)
{
  if (v->end != END_PASS)
    {
      stand (v);
      return;
    }
  enter_segment (v, v->to, v->after);
  v->along = MIN (beyond, v->length);
}

static void
drive (WbSimVehicle *v,
       double        dt)
{
  double remaining = v->length - v->along;
  double target = end_speed (v);
  double allowed = sqrt (target * target + 2 * DECELERATION * MAX (remaining - v->speed * dt, 0));
  double speed = MIN (MIN (v->speed + ACCELERATION * dt, v->cruise), allowed);
  double moved = (v->speed + speed) / 2 * dt;

  v->speed = speed;
  v->along += moved;
  v->odometer += moved;
  v->fuel = MAX (v->fuel - moved * LITRES_PER_METRE, 5);
  remaining = v->length - v->along;
  if (remaining <= 0)
    arrive (v, -remaining);
  else if (target == 0 && remaining < ARRIVED_M && v->speed < 2)
    {
      /* Creeping the last metre to the line. */
      v->odometer += remaining;
      arrive (v, 0);
    }
}

static void
wait_standing (WbSimVehicle *v,
               double        dt)
{
  v->stopped_for -= dt;
  if (v->stopped_for > 0)
    return;
  v->stopped_for = 0;
  v->ignition = TRUE;
  enter_segment (v, v->to, v->after);
}

void
wb_sim_vehicle_advance (WbSimVehicle *vehicle,
                        double        seconds)
{
  g_return_if_fail (vehicle != NULL && seconds >= 0);

  while (seconds > 0)
    {
      double dt = MIN (seconds, STEP_S);

      if (vehicle->stopped_for > 0)
        wait_standing (vehicle, dt);
      else
        drive (vehicle, dt);
      seconds -= dt;
    }
  /* Fix quality wanders a little, as a real receiver's does. */
  vehicle->accuracy = CLAMP (vehicle->accuracy + g_rand_double_range (vehicle->rand, -0.5, 0.5), 3, 12);
  vehicle->satellites = CLAMP (vehicle->satellites + g_rand_int_range (vehicle->rand, -1, 2), 6, 14);
}

WbSimVehicle *
wb_sim_vehicle_new (const WbSimCity *city,
                    guint            number,
                    guint32          seed)
{
  WbSimVehicle *v = g_new0 (WbSimVehicle, 1);
  guint start;
  guint n_links;
  const guint *links;

  g_return_val_if_fail (city != NULL, NULL);

  v->city = city;
  v->rand = g_rand_new_with_seed (seed ^ (number * 2654435761u));
  v->ignition = TRUE;
  v->odometer = g_rand_double_range (v->rand, 10e6, 200e6);
  v->fuel = g_rand_double_range (v->rand, 30, 60);
  v->accuracy = g_rand_double_range (v->rand, 3, 8);
  v->satellites = g_rand_int_range (v->rand, 7, 13);
  start = g_rand_int_range (v->rand, 0, wb_sim_city_get_n_nodes (city));
  links = wb_sim_city_get_links (city, start, &n_links);
  enter_segment (v, start, links[g_rand_int_range (v->rand, 0, n_links)]);
  /* Not every vehicle leaves its first intersection at the same moment. */
  v->along = g_rand_double_range (v->rand, 0, v->length / 2);
  v->speed = g_rand_double_range (v->rand, 0, v->cruise);
  return v;
}

void
wb_sim_vehicle_free (WbSimVehicle *vehicle)
{
  if (vehicle == NULL)
    return;
  g_rand_free (vehicle->rand);
  g_free (vehicle);
}

/* Gentle hills, the same for every vehicle at the same place. */
static double
altitude_at (double x,
             double y)
{
  return 220 + 12 * sin (x / 900) + 8 * cos (y / 700);
}

WbPosition *
wb_sim_vehicle_report (const WbSimVehicle *vehicle,
                       const char         *device_id,
                       gint64              device_time_us)
{
  const WbSimVehicle *v = vehicle;
  WbPosition *p = wb_position_new ();
  double fx, fy, x, y;

  g_return_val_if_fail (vehicle != NULL && device_id != NULL, NULL);

  node_xy (v, v->from, &fx, &fy);
  x = fx + v->dx * v->along;
  y = fy + v->dy * v->along;
  p->device_id = g_strdup (device_id);
  p->device_time = device_time_us;
  wb_sim_city_to_lat_lon (v->city, x, y, &p->lat, &p->lon);
  p->speed_kmh = v->speed * 3.6;
  p->heading = fmod (atan2 (v->dx, v->dy) * 180 / G_PI + 360, 360);
  p->altitude = altitude_at (x, y);
  p->accuracy = v->accuracy;
  p->satellites = v->satellites;
  p->ignition = v->ignition;
  p->moving = v->speed > 0.5;
  p->fuel = v->fuel;
  p->odometer = v->odometer;
  return p;
}
