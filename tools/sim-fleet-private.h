// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <gio/gio.h>

#include "sim-city.h"
#include "sim-driver.h"
#include "sim-fleet.h"
#include "sim-http.h"
#include "sim-vehicle.h"

G_BEGIN_DECLS

/* One vehicle and its tracker. */
typedef struct
{
  WbSimFleet        *fleet;
  guint              number;
  char              *device_id;
  WbSimVehicle      *vehicle;
  WbSimDriver       *driver;            /* with stops: drives them instead */
  guint              produced;
  gint64             next_device_time;  /* unix µs of the next position */
  gint64             due;               /* real time: monotonic µs it is due */
  gboolean           finished;          /* no more positions will be made */
  GQueue             pending;           /* WbPosition *, made and not yet sent */
  gboolean           busy;              /* a request or frame is in flight */

  /* Teltonika: the tracker's own connection. */
  GSocketConnection *connection;
  gboolean           connecting;
  GPtrArray         *frame;             /* positions of the frame in flight */
  GBytes            *frame_bytes;
  guint8             hello[2 + 15];     /* the IMEI handshake being written */
  guint8             answer[4];
  guint              failures;
  gboolean           closed;
} SimCar;

struct _WbSimFleet
{
  WbSimFleetOptions  options;
  char              *api_url;
  char              *osmand_url;
  char              *teltonika_address;
  char              *device_prefix;
  char              *token;
  WbSimStop         *stops;

  WbSimCity         *city;
  GPtrArray         *cars;              /* SimCar *, owned */
  WbSimStats         stats;
  WbSimHttp         *http;
  GSocketClient     *tcp;
  GMainLoop         *loop;
  GCancellable      *cancellable;

  gint64             step_us;           /* 1 / rate, in device time */
  gint64             wall_step_us;      /* real time: step_us over the time scale */
  gint64             device_start;      /* real time: the device time at start_mono */
  gint64             end_device_time;   /* fast mode: 0 no limit (but never past now) */
  gint64             end_wall;          /* real time: monotonic µs, 0 no limit */
  gint64             start_mono;
  gint64             start_real;
  guint              in_flight;
  guint              cursor;
  guint              queued;            /* positions in all cars' pending queues */
  gint64             last_flush;
  gboolean           stopping;
};

/* Makes positions in fast mode until @car has @want pending (or is
 * finished); returns how many it has. */
guint _wb_sim_car_fill        (SimCar      *car,
                               guint        want);
WbPosition *_wb_sim_car_take  (SimCar      *car);
gboolean _wb_sim_car_is_done  (SimCar      *car);
/* Quits the loop once every car is done and nothing is in flight. */
void  _wb_sim_fleet_check_done (WbSimFleet *fleet);

/* The senders (sim-senders.c): start whatever can be sent now. */
void  _wb_sim_json_pump        (WbSimFleet *fleet,
                                gboolean    flush);
void  _wb_sim_osmand_pump      (WbSimFleet *fleet);
void  _wb_sim_teltonika_pump   (SimCar     *car);
void  _wb_sim_teltonika_close  (SimCar     *car);

G_END_DECLS
