// SPDX-License-Identifier: GPL-3.0-or-later
/* Pacing and bookkeeping. In real time a tick makes each vehicle's
 * positions when they are due and hands them to the sender; in fast mode
 * the senders pull positions as fast as the server answers, with device
 * times stepping 1/rate from a time in the past. */

#include "config.h"

#include "sim-fleet-private.h"
#include "sim-ids.h"

#define TICK_MS         20
#define REPORT_S        5
#define JSON_LINGER_US  G_USEC_PER_SEC

static double
time_scale_of (const WbSimFleetOptions *options)
{
  return options->time_scale > 1 ? options->time_scale : 1;
}

static SimCar *
car_new (WbSimFleet *fleet,
         guint       number)
{
  SimCar *car = g_new0 (SimCar, 1);

  car->fleet = fleet;
  car->number = number;
  car->device_id = wb_sim_device_id (fleet->device_prefix, fleet->options.protocol, number);
  if (fleet->options.stops != NULL)
    car->driver = wb_sim_driver_new (fleet->city, fleet->options.stops, fleet->options.n_stops, number,
                                     fleet->options.seed);
  else
    car->vehicle = wb_sim_vehicle_new (fleet->city, number, fleet->options.seed);
  g_queue_init (&car->pending);
  return car;
}

static void
car_free (SimCar *car)
{
  g_clear_object (&car->connection);
  g_clear_pointer (&car->frame, g_ptr_array_unref);
  g_clear_pointer (&car->frame_bytes, g_bytes_unref);
  g_queue_clear_full (&car->pending, (GDestroyNotify) wb_position_unref);
  g_clear_pointer (&car->vehicle, wb_sim_vehicle_free);
  g_clear_pointer (&car->driver, wb_sim_driver_free);
  g_free (car->device_id);
  g_free (car);
}

static gboolean
car_reached_limit (SimCar *car)
{
  WbSimFleet *fleet = car->fleet;

  if (fleet->stopping)
    return TRUE;
  if (fleet->options.count > 0 && car->produced >= fleet->options.count)
    return TRUE;
  if (!fleet->options.fast)
    return fleet->end_wall > 0 && g_get_monotonic_time () >= fleet->end_wall;
  /* Beyond now the daemon would refuse them as from the future. */
  return (fleet->end_device_time > 0 && car->next_device_time >= fleet->end_device_time)
         || car->next_device_time > g_get_real_time ();
}

/* The next position, or FALSE when the car has made its last. */
static gboolean
car_make (SimCar *car)
{
  WbSimFleet *fleet = car->fleet;

  if (car->finished || car_reached_limit (car))
    {
      car->finished = TRUE;
      return FALSE;
    }
  if (car->driver != NULL)
    {
      if (car->produced > 0)
        wb_sim_driver_advance (car->driver, fleet->step_us / (double) G_USEC_PER_SEC);
      g_queue_push_tail (&car->pending, wb_sim_driver_report (car->driver, car->device_id, car->next_device_time));
      /* The position at the end of the last dwell is its last. */
      car->finished = wb_sim_driver_is_done (car->driver);
    }
  else
    {
      if (car->produced > 0)
        wb_sim_vehicle_advance (car->vehicle, fleet->step_us / (double) G_USEC_PER_SEC);
      g_queue_push_tail (&car->pending, wb_sim_vehicle_report (car->vehicle, car->device_id,
                                                               car->next_device_time));
    }
  car->produced++;
  car->next_device_time += fleet->step_us;
  fleet->queued++;
  return TRUE;
}

guint
_wb_sim_car_fill (SimCar *car,
                  guint   want)
{
  if (car->fleet->options.fast)
    while (car->pending.length < want && car_make (car))
      ;
  return car->pending.length;
}

WbPosition *
_wb_sim_car_take (SimCar *car)
{
  WbPosition *position = g_queue_pop_head (&car->pending);

  if (position)
    car->fleet->queued--;
  return position;
}

gboolean
_wb_sim_car_is_done (SimCar *car)
{
  if (!car->finished || car->pending.length > 0 || car->busy)
    return FALSE;
  return car->fleet->options.protocol != WB_PROTOCOL_TELTONIKA || car->closed;
}

void
_wb_sim_fleet_check_done (WbSimFleet *fleet)
{
  if (fleet->in_flight > 0)
    return;
  for (guint i = 0; i < fleet->cars->len; i++)
    if (!_wb_sim_car_is_done (g_ptr_array_index (fleet->cars, i)))
      return;
  g_main_loop_quit (fleet->loop);
}

static void
pump (WbSimFleet *fleet)
{
  gint64 now = g_get_monotonic_time ();

  switch (fleet->options.protocol)
    {
    case WB_PROTOCOL_JSON:
      _wb_sim_json_pump (fleet, now - fleet->last_flush >= JSON_LINGER_US);
      break;
    case WB_PROTOCOL_OSMAND:
      _wb_sim_osmand_pump (fleet);
      break;
    case WB_PROTOCOL_TELTONIKA:
    default:
      for (guint i = 0; i < fleet->cars->len; i++)
        _wb_sim_teltonika_pump (g_ptr_array_index (fleet->cars, i));
      break;
    }
  _wb_sim_fleet_check_done (fleet);
}

/* Real time: positions carry the wall-clock time they were due, so their
 * spacing is exact whatever the timer's jitter. */
static gboolean
on_tick (gpointer data)
{
  WbSimFleet *fleet = data;
  gint64 now = g_get_monotonic_time ();

  for (guint i = 0; i < fleet->cars->len && !fleet->options.fast; i++)
    {
      SimCar *car = g_ptr_array_index (fleet->cars, i);

      while (!car->finished && car->due <= now)
        {
          car->next_device_time = fleet->device_start
                                  + (gint64) ((car->due - fleet->start_mono) * time_scale_of (&fleet->options));
          if (car_make (car))
            car->due += fleet->wall_step_us;
        }
    }
  pump (fleet);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_report (gpointer data)
{
  WbSimFleet *fleet = data;
  g_autofree char *line = wb_sim_stats_format (&fleet->stats, "progress");

  g_printerr ("%s\n", line);
  return G_SOURCE_CONTINUE;
}

/* Seconds of device time the run will take: a drive, until its stops are
 * done; else what --count or --duration ask, or a day. */
static double
span_of (WbSimFleet              *fleet,
         const WbSimFleetOptions *options)
{
  double span_s = 24 * 3600;

  if (options->stops != NULL)
    for (guint i = 0; i < fleet->cars->len; i++)
      {
        SimCar *car = g_ptr_array_index (fleet->cars, i);
        double s = wb_sim_driver_estimate (fleet->city, options->stops, options->n_stops, car->number, options->seed);

        span_s = i == 0 ? s : MAX (span_s, s);
      }
  if (options->count > 0)
    span_s = options->count / options->rate_hz;
  else if (options->duration_s > 0)
    span_s = options->duration_s;
  return span_s;
}

static gint64
default_from (WbSimFleet              *fleet,
              const WbSimFleetOptions *options)
{
  /* A minute's margin, so the last positions are not from the future. */
  return g_get_real_time () - (gint64) ((span_of (fleet, options) + 60) * G_USEC_PER_SEC);
}

static void
start_clock (WbSimFleet *fleet)
{
  fleet->start_mono = g_get_monotonic_time ();
  fleet->start_real = g_get_real_time ();
  fleet->last_flush = fleet->start_mono;
  if (fleet->options.fast)
    {
      gint64 from = fleet->options.from_us ? fleet->options.from_us : default_from (fleet, &fleet->options);

      if (fleet->options.duration_s > 0)
        fleet->end_device_time = from + (gint64) (fleet->options.duration_s * G_USEC_PER_SEC);
      for (guint i = 0; i < fleet->cars->len; i++)
        ((SimCar *) g_ptr_array_index (fleet->cars, i))->next_device_time = from;
      return;
    }
  fleet->device_start = fleet->start_real;
  /* Faster than real time: the device clock runs ahead of the wall clock,
   * so it starts as far in the past as it will gain, and a minute more,
   * to end about now rather than in the future. */
  if (time_scale_of (&fleet->options) > 1)
    {
      double span_s = span_of (fleet, &fleet->options);

      fleet->device_start -= (gint64) ((span_s - span_s / time_scale_of (&fleet->options) + 60) * G_USEC_PER_SEC);
    }
  if (fleet->options.duration_s > 0)
    fleet->end_wall = fleet->start_mono + (gint64) (fleet->options.duration_s / time_scale_of (&fleet->options)
                                                    * G_USEC_PER_SEC);
  /* Spread the vehicles over one period rather than all at once. */
  for (guint i = 0; i < fleet->cars->len; i++)
    ((SimCar *) g_ptr_array_index (fleet->cars, i))->due = fleet->start_mono
                                                           + fleet->wall_step_us * i / fleet->cars->len;
}

WbSimFleet *
wb_sim_fleet_new (const WbSimFleetOptions *options)
{
  WbSimFleet *fleet;

  g_return_val_if_fail (options != NULL && options->vehicles > 0 && options->rate_hz > 0, NULL);
  g_return_val_if_fail (options->batch > 0 && options->connections > 0, NULL);

  fleet = g_new0 (WbSimFleet, 1);
  fleet->options = *options;
  fleet->api_url = g_strdup (options->api_url);
  fleet->osmand_url = g_strdup (options->osmand_url);
  fleet->teltonika_address = g_strdup (options->teltonika_address);
  fleet->device_prefix = g_strdup (options->device_prefix);
  fleet->token = g_strdup (options->token);
  fleet->options.api_url = fleet->api_url;
  fleet->options.osmand_url = fleet->osmand_url;
  fleet->options.teltonika_address = fleet->teltonika_address;
  fleet->options.device_prefix = fleet->device_prefix;
  fleet->options.token = fleet->token;
  fleet->step_us = MAX ((gint64) (G_USEC_PER_SEC / options->rate_hz), 1000);
  fleet->wall_step_us = MAX ((gint64) (fleet->step_us / time_scale_of (options)), 1);
  fleet->city = wb_sim_city_new (options->center_lat, options->center_lon, options->seed);
  if (options->stops != NULL)
    fleet->options.stops = fleet->stops = g_memdup2 (options->stops, options->n_stops * sizeof *options->stops);
  fleet->cars = g_ptr_array_new_with_free_func ((GDestroyNotify) car_free);
  for (guint i = 0; i < options->vehicles; i++)
    g_ptr_array_add (fleet->cars, car_new (fleet, MAX (options->first_number, 1) + i));
  wb_sim_stats_init (&fleet->stats);
  fleet->http = wb_sim_http_new (options->token, options->connections);
  fleet->tcp = g_socket_client_new ();
  g_socket_client_set_timeout (fleet->tcp, 60);
  fleet->loop = g_main_loop_new (NULL, FALSE);
  fleet->cancellable = g_cancellable_new ();
  return fleet;
}

void
wb_sim_fleet_free (WbSimFleet *fleet)
{
  if (fleet == NULL)
    return;
  g_clear_pointer (&fleet->cars, g_ptr_array_unref);
  g_clear_pointer (&fleet->city, wb_sim_city_free);
  wb_sim_stats_clear (&fleet->stats);
  g_clear_object (&fleet->http);
  g_clear_object (&fleet->tcp);
  g_clear_object (&fleet->cancellable);
  g_clear_pointer (&fleet->loop, g_main_loop_unref);
  g_free (fleet->api_url);
  g_free (fleet->osmand_url);
  g_free (fleet->teltonika_address);
  g_free (fleet->device_prefix);
  g_free (fleet->token);
  g_free (fleet->stops);
  g_free (fleet);
}

void
wb_sim_fleet_run (WbSimFleet *fleet)
{
  guint tick = 0;
  guint report = 0;

  g_return_if_fail (fleet != NULL);

  start_clock (fleet);
  fleet->stats.started = fleet->start_mono;
  /* In fast mode the senders' answers drive everything; the tick is only
   * the JSON linger there. */
  tick = g_timeout_add (TICK_MS, on_tick, fleet);
  if (fleet->options.verbose)
    report = g_timeout_add_seconds (REPORT_S, on_report, fleet);
  pump (fleet);
  g_main_loop_run (fleet->loop);
  g_source_remove (tick);
  if (report)
    g_source_remove (report);
  /* Stopped at once: let the cancelled callbacks run and free their data. */
  g_cancellable_cancel (fleet->cancellable);
  for (guint i = 0; i < fleet->cars->len; i++)
    _wb_sim_teltonika_close (g_ptr_array_index (fleet->cars, i));
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

void
wb_sim_fleet_stop (WbSimFleet *fleet)
{
  g_return_if_fail (fleet != NULL);

  if (fleet->stopping)
    {
      g_main_loop_quit (fleet->loop);
      return;
    }
  fleet->stopping = TRUE;
  for (guint i = 0; i < fleet->cars->len; i++)
    ((SimCar *) g_ptr_array_index (fleet->cars, i))->finished = TRUE;
  _wb_sim_fleet_check_done (fleet);
}

const WbSimStats *
wb_sim_fleet_get_stats (WbSimFleet *fleet)
{
  g_return_val_if_fail (fleet != NULL, NULL);
  return &fleet->stats;
}
