// SPDX-License-Identifier: GPL-3.0-or-later
/* waybill-sim: its route model (plausible movement inside the city), its
 * ids, its command line, and, against the built waybilld, every protocol
 * end to end: what the simulator sends is exactly what the daemon counts. */

#include "config.h"

#include <libsoup/soup.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <signal.h>
#include <glib/gstdio.h>
#include <string.h>

#include "sim-city.h"
#include "sim-trackings.h"
#include "sim-driver.h"
#include "sim-stops.h"
#include "sim-ids.h"
#include "sim-vehicle.h"
#include "wb-carrier-table.h"
#include "wb-db.h"
#include "wb-test-daemon.h"
#include "wb-test-pg.h"

#define EARTH_RADIUS_M 6371008.8

static double
distance_m (double lat1, double lon1, double lat2, double lon2)
{
  double p1 = lat1 * G_PI / 180, p2 = lat2 * G_PI / 180;
  double dp = p2 - p1, dl = (lon2 - lon1) * G_PI / 180;
  double a = sin (dp / 2) * sin (dp / 2) + cos (p1) * cos (p2) * sin (dl / 2) * sin (dl / 2);

  return 2 * EARTH_RADIUS_M * asin (sqrt (a));
}

static double
bearing_deg (double lat1, double lon1, double lat2, double lon2)
{
  double p1 = lat1 * G_PI / 180, p2 = lat2 * G_PI / 180;
  double dl = (lon2 - lon1) * G_PI / 180;
  double y = sin (dl) * cos (p2);
  double x = cos (p1) * sin (p2) - sin (p1) * cos (p2) * cos (dl);

  return fmod (atan2 (y, x) * 180 / G_PI + 360, 360);
}

/* Many steps of a few vehicles at @step_s: inside the box, never faster
 * than the top speed, heading along the way it moves, odometer growing by
 * at least the distance covered. */
static void
check_routes (double step_s,
              guint  steps)
{
  g_autoptr(WbSimCity) city = wb_sim_city_new (53.9023, 27.5619, 42);
  double south, west, north, east;
  guint headings_checked = 0, stopped = 0;
  double fastest = 0;

  wb_sim_city_get_bbox (city, &south, &west, &north, &east);
  g_assert_cmpfloat (north - south, >, 0.03);   /* a few km across */
  for (guint n = 1; n <= 5; n++)
    {
      g_autoptr(WbSimVehicle) vehicle = wb_sim_vehicle_new (city, n, 42);
      g_autoptr(WbPosition) last = wb_sim_vehicle_report (vehicle, "v", 0);

      for (guint i = 1; i <= steps; i++)
        {
          g_autoptr(WbPosition) p = NULL;
          double moved;

          wb_sim_vehicle_advance (vehicle, step_s);
          p = wb_sim_vehicle_report (vehicle, "v", i);
          g_assert_cmpfloat (p->lat, >=, south - 1e-9);
          g_assert_cmpfloat (p->lat, <=, north + 1e-9);
          g_assert_cmpfloat (p->lon, >=, west - 1e-9);
          g_assert_cmpfloat (p->lon, <=, east + 1e-9);
          g_assert_cmpfloat (p->speed_kmh, <=, WB_SIM_VEHICLE_MAX_SPEED_KMH + 1e-9);
          moved = distance_m (last->lat, last->lon, p->lat, p->lon);
          g_assert_cmpfloat (moved, <=, WB_SIM_VEHICLE_MAX_SPEED_KMH / 3.6 * step_s * 1.005 + 0.01);
          g_assert_cmpfloat (p->odometer - last->odometer, >=, moved * 0.995 - 0.01);
          /* Same street, same direction: the heading is the bearing of the move. */
          if (moved > 2 && p->heading == last->heading)
            {
              double off = fabs (remainder (bearing_deg (last->lat, last->lon, p->lat, p->lon) - p->heading, 360));

              g_assert_cmpfloat (off, <, 1.0);
              headings_checked++;
            }
          stopped += p->speed_kmh == 0;
          fastest = MAX (fastest, p->speed_kmh);
          g_clear_pointer (&last, wb_position_unref);
          last = g_steal_pointer (&p);
        }
    }
  /* It did drive, fast on some streets, and stood somewhere. */
  g_assert_cmpuint (headings_checked, >, steps);
  g_assert_cmpfloat (fastest, >, 40);
  g_assert_cmpuint (stopped, >, 0);
}

static void
test_route_every_second (void)
{
  check_routes (1, 3600);
}

static void
test_route_every_ten_seconds (void)
{
  check_routes (10, 720);
}

static gboolean
luhn_valid (const char *digits)
{
  guint sum = 0;
  gsize length = strlen (digits);

  for (gsize i = 0; i < length; i++)
    {
      guint d = digits[length - 1 - i] - '0';

      if (i % 2 == 1)
        d = d * 2 > 9 ? d * 2 - 9 : d * 2;
      sum += d;
    }
  return sum % 10 == 0;
}

static void
test_ids (void)
{
  g_autofree char *a = wb_sim_device_id ("sim-", WB_PROTOCOL_TELTONIKA, 1);
  g_autofree char *b = wb_sim_device_id ("sim-", WB_PROTOCOL_TELTONIKA, 2);
  g_autofree char *c = wb_sim_device_id ("other-", WB_PROTOCOL_TELTONIKA, 1);
  g_autofree char *json = wb_sim_device_id ("sim-", WB_PROTOCOL_JSON, 7);

  g_assert_cmpuint (strlen (a), ==, 15);
  g_assert_cmpuint (strspn (a, "0123456789"), ==, 15);
  g_assert_true (luhn_valid (a));
  g_assert_true (luhn_valid (b));
  g_assert_cmpstr (a, !=, b);
  g_assert_cmpstr (a, !=, c);
  g_assert_cmpstr (json, ==, "sim-0007");
}

/* ---- driving given stops ---------------------------------------------------- */

static const char stops_text[] =
  "# three deliveries\n"
  "53.9050, 27.5600, 30\n"
  "\n"
  "53.9000,27.5700,1m\n"
  "53.8980,27.5550\n";

static void
test_stops_parse (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) stops = wb_sim_stops_parse (stops_text, 45, &error);
  const char *bad[] = { "53.9,27.5\n53.9\n", "53.9,27.5,x\n", "95,27.5\n", "53.9,27.5,1,2\n", "# nothing\n", NULL };
  const char *bad_line[] = { "line 2", "line 1", "line 1", "line 1", "no stops" };

  g_assert_no_error (error);
  g_assert_cmpuint (stops->len, ==, 3);
  g_assert_cmpfloat (g_array_index (stops, WbSimStop, 0).lat, ==, 53.905);
  g_assert_cmpfloat (g_array_index (stops, WbSimStop, 0).dwell_s, ==, 30);
  g_assert_cmpfloat (g_array_index (stops, WbSimStop, 1).dwell_s, ==, 60);
  g_assert_cmpfloat (g_array_index (stops, WbSimStop, 2).dwell_s, ==, 45);
  for (guint i = 0; bad[i]; i++)
    {
      g_autoptr(GError) bad_error = NULL;
      g_autoptr(GArray) none = wb_sim_stops_parse (bad[i], 45, &bad_error);

      g_assert_null (none);
      g_assert_nonnull (strstr (bad_error->message, bad_line[i]));
    }
}

/* A trip as the API shows it: lat/lon where the stop puts them. */
static void
test_stops_from_trip (void)
{
  const char *trip = "{\"id\":\"t1\",\"stops\":[{\"lat\":53.9,\"lon\":27.5},"
                     "{\"location\":{\"lat\":53.91,\"lng\":27.51},\"dwellSeconds\":120},"
                     "{\"pickupPoint\":{\"id\":\"pp1\",\"coordinates\":{\"lat\":53.92,\"lon\":27.52}}}]}";
  g_autoptr(GBytes) body = g_bytes_new_static (trip, strlen (trip));
  const char *unusable = "{\"stops\":[{\"name\":\"x\"}]}";
  g_autoptr(GBytes) no_stops = g_bytes_new_static (unusable, strlen (unusable));
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) stops = wb_sim_stops_from_trip (body, 30, &error);
  g_autoptr(GArray) none = NULL;

  g_assert_no_error (error);
  g_assert_cmpuint (stops->len, ==, 3);
  g_assert_cmpfloat (g_array_index (stops, WbSimStop, 1).lon, ==, 27.51);
  g_assert_cmpfloat (g_array_index (stops, WbSimStop, 1).dwell_s, ==, 120);
  g_assert_cmpfloat (g_array_index (stops, WbSimStop, 2).lat, ==, 53.92);
  g_assert_cmpfloat (g_array_index (stops, WbSimStop, 2).dwell_s, ==, 30);
  none = wb_sim_stops_from_trip (no_stops, 30, &error);
  g_assert_null (none);
  g_assert_nonnull (strstr (error->message, "stops[0]"));
}

/* The vehicle reaches each stop in order, stands on it for its dwell,
 * drives plausibly in between, and ends at the last. */
static void
test_drive_route (void)
{
  g_autoptr(GArray) stops = wb_sim_stops_parse (stops_text, 45, NULL);
  g_autoptr(WbSimCity) city = wb_sim_city_new (53.9010, 27.5617, 7);
  g_autoptr(WbSimDriver) driver = wb_sim_driver_new (city, (WbSimStop *) (gpointer) stops->data, stops->len, 1, 7);
  g_autoptr(WbPosition) last = wb_sim_driver_report (driver, "d", 0);
  double stood[3] = { 0, };
  guint visited = 0;

  for (guint t = 1; t < 4 * 3600 && !wb_sim_driver_is_done (driver); t++)
    {
      g_autoptr(WbPosition) p = NULL;
      guint stop = wb_sim_driver_get_stop (driver);

      wb_sim_driver_advance (driver, 1);
      p = wb_sim_driver_report (driver, "d", t);
      g_assert_cmpfloat (p->speed_kmh, <=, 50 + 1e-9);
      g_assert_cmpfloat (distance_m (last->lat, last->lon, p->lat, p->lon), <=, 50 / 3.6 * 1.005 + 0.01);
      /* Stops come in order, never skipped. */
      g_assert_cmpuint (wb_sim_driver_get_stop (driver), <=, stop + 1);
      if (wb_sim_driver_is_dwelling (driver))
        {
          const WbSimStop *s = &g_array_index (stops, WbSimStop, wb_sim_driver_get_stop (driver));

          g_assert_cmpfloat (distance_m (s->lat, s->lon, p->lat, p->lon), <, 1.5);
          g_assert_cmpfloat (p->speed_kmh, ==, 0);
          stood[wb_sim_driver_get_stop (driver)] += 1;
          visited = MAX (visited, wb_sim_driver_get_stop (driver) + 1);
        }
      g_clear_pointer (&last, wb_position_unref);
      last = g_steal_pointer (&p);
    }
  g_assert_true (wb_sim_driver_is_done (driver));
  g_assert_cmpuint (visited, ==, 3);
  for (guint i = 0; i < 3; i++)
    g_assert_cmpfloat (fabs (stood[i] - g_array_index (stops, WbSimStop, i).dwell_s), <=, 1);
  /* It stays at the last stop. */
  g_assert_cmpfloat (distance_m (g_array_index (stops, WbSimStop, 2).lat, g_array_index (stops, WbSimStop, 2).lon,
                                 last->lat, last->lon), <, 1.5);
  /* The estimate is the drive's length. */
  g_assert_cmpfloat (wb_sim_driver_estimate (city, (WbSimStop *) (gpointer) stops->data, stops->len, 1, 7), >,
                     30 + 60 + 45);
}

/* ---- the command line ------------------------------------------------------ */

static int
run_sim (const char * const *args,
         char              **out_stdout,
         char              **out_stderr)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;

  g_ptr_array_add (argv, (gpointer) g_getenv ("WAYBILL_SIM"));
  for (guint i = 0; args[i]; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  process = g_subprocess_newv ((const char * const *) argv->pdata,
                               G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, out_stdout, out_stderr, &error);
  g_assert_no_error (error);
  if (g_test_verbose ())
    g_printerr ("%s%s", *out_stdout, *out_stderr);
  return g_subprocess_get_if_exited (process) ? g_subprocess_get_exit_status (process) : -1;
}

static void
assert_usage_error (const char * const *args,
                    const char         *option)
{
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  g_assert_cmpint (run_sim (args, &out, &err), ==, 2);
  g_assert_nonnull (strstr (err, option));
  /* One line, ending the output. */
  g_assert_true (g_str_has_suffix (err, "\n"));
  g_assert_true (strchr (err, '\n') == err + strlen (err) - 1);
}

static void
test_bad_arguments (void)
{
  const char *rate[] = { "fleet", "--rate", "0", NULL };
  const char *vehicles[] = { "fleet", "--vehicles", "many", NULL };
  const char *protocol[] = { "fleet", "--protocol", "smoke-signals", NULL };
  const char *batch[] = { "fleet", "--protocol", "teltonika", "--batch", "300", NULL };
  const char *city[] = { "fleet", "--city", "atlantis", NULL };
  const char *companies[] = { "reference", "--companies", "-1", NULL };
  const char *unknown[] = { "fleet", "--no-such-option", NULL };
  const char *bulk_rows[] = { "reference", "--bulk", "--bulk-rows", "0", NULL };
  const char *no_stops[] = { "drive", NULL };
  const char *two_sources[] = { "drive", "--stops", "stops.txt", "--trip", "t1", NULL };
  const char *dwell[] = { "drive", "--stops", "stops.txt", "--dwell", "soon", NULL };
  const char *drive_protocol[] = { "drive", "--stops", "stops.txt", "--protocol", "pigeon", NULL };
  const char *time_scale[] = { "drive", "--stops", "stops.txt", "--time-scale", "0.5", NULL };
  const char *scaled_fast[] = { "drive", "--stops", "stops.txt", "--time-scale", "10", "--fast", NULL };
  const char *help[] = { "fleet", "--help", NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  assert_usage_error (rate, "--rate");
  assert_usage_error (vehicles, "--vehicles");
  assert_usage_error (protocol, "--protocol");
  assert_usage_error (batch, "--batch");
  assert_usage_error (city, "--city");
  assert_usage_error (companies, "--companies");
  assert_usage_error (unknown, "--no-such-option");
  assert_usage_error (bulk_rows, "--bulk-rows");
  assert_usage_error (no_stops, "--stops");
  assert_usage_error (two_sources, "--trip");
  assert_usage_error (dwell, "--dwell");
  assert_usage_error (drive_protocol, "--protocol");
  assert_usage_error (time_scale, "--time-scale");
  assert_usage_error (scaled_fast, "--time-scale");
  g_assert_cmpint (run_sim (help, &out, &err), ==, 0);
  g_assert_nonnull (strstr (out, "--fast"));
  g_assert_nonnull (strstr (out, "--teltonika"));
}

/* ---- against waybilld ------------------------------------------------------- */

static guint
free_port (void)
{
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  g_assert_true (g_socket_bind (socket, any, FALSE, NULL));
  bound = g_socket_get_local_address (socket, NULL);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

static char *
metrics (WbTestDaemon *d)
{
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u/metrics", wb_test_daemon_port (d));
  g_autoptr(SoupMessage) message = soup_message_new ("GET", uri);
  g_autoptr(GBytes) body = soup_session_send_and_read (session, message, NULL, NULL);

  g_assert_nonnull (body);
  g_assert_cmpuint (soup_message_get_status (message), ==, 200);
  return g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
}

static double
accepted (WbTestDaemon *d,
          const char   *protocol)
{
  g_autofree char *text = metrics (d);
  g_autofree char *series = g_strdup_printf ("waybill_positions_accepted_total{protocol=\"%s\"} ", protocol);
  const char *at = strstr (text, series);

  return at ? g_ascii_strtod (at + strlen (series), NULL) : 0;
}

static gboolean
refused_any (WbTestDaemon *d,
             const char   *protocol)
{
  g_autofree char *text = metrics (d);
  g_autofree char *series = g_strdup_printf ("waybill_positions_rejected_total{protocol=\"%s\"", protocol);

  return strstr (text, series) != NULL;
}

static void
wait_for_log (WbTestDaemon *d,
              const char   *text)
{
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  while (!wb_test_daemon_log_contains (d, text))
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("waybilld never logged “%s”; its log:\n%s", text, d->log->str);
      g_usleep (50 * 1000);
    }
}

static gint64
sql_count (const char *conninfo,
           const char *statement)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PGconn) conn = wb_db_connect (conninfo, &error);
  g_autoptr(PGresult) result = NULL;

  g_assert_no_error (error);
  result = wb_db_exec (conn, statement, NULL, 0, NULL, &error);
  g_assert_no_error (error);
  return g_ascii_strtoll (PQgetvalue (result, 0, 0), NULL, 10);
}

/* The fleet role took every accepted position into history, each vehicle
 * has a current state, and the REST view shows it. */
static void
assert_stored (WbTestDaemon *d,
               const char   *conninfo,
               gint64        positions,
               gint64        vehicles)
{
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autoptr(SoupMessage) message = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *vehicle = NULL;
  g_autofree char *uri = NULL;
  JsonObject *state;

  while (sql_count (conninfo, "SELECT count(*) FROM positions") < positions)
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("%" G_GINT64_FORMAT " positions in history, not %" G_GINT64_FORMAT "; waybilld's log:\n%s",
                 sql_count (conninfo, "SELECT count(*) FROM positions"), positions, d->log->str);
      g_usleep (50 * 1000);
    }
  g_assert_cmpint (sql_count (conninfo, "SELECT count(*) FROM positions"), ==, positions);
  g_assert_cmpint (sql_count (conninfo, "SELECT count(DISTINCT vehicle_id) FROM positions"), ==, vehicles);
  g_assert_cmpint (sql_count (conninfo, "SELECT count(*) FROM vehicle_states"), ==, vehicles);
  /* The states are the newest positions. */
  g_assert_cmpint (sql_count (conninfo, "SELECT count(*) FROM vehicle_states s WHERE s.device_time ="
                                        " (SELECT max(device_time) FROM positions p WHERE p.vehicle_id = s.vehicle_id)"),
                   ==, vehicles);

  {
    g_autoptr(GError) error = NULL;
    g_autoptr(PGconn) conn = wb_db_connect (conninfo, &error);
    g_autoptr(PGresult) result = wb_db_exec (conn, "SELECT min(vehicle_id) FROM vehicle_states", NULL, 0, NULL, &error);

    g_assert_no_error (error);
    vehicle = g_strdup (PQgetvalue (result, 0, 0));
  }
  uri = g_strdup_printf ("http://127.0.0.1:%u/vehicles/%s", wb_test_daemon_port (d), vehicle);
  message = soup_message_new ("GET", uri);
  body = soup_session_send_and_read (session, message, NULL, NULL);
  g_assert_cmpuint (soup_message_get_status (message), ==, 200);
  root = json_from_string (g_bytes_get_data (body, NULL), NULL);
  state = json_object_get_object_member (json_node_get_object (root), "currentState");
  g_assert_nonnull (state);
  g_assert_true (json_object_get_boolean_member (state, "online"));
  g_assert_nonnull (json_object_get_string_member (state, "deviceId"));
}

static void
test_fleet_end_to_end (gconstpointer data)
{
  const char *protocol = data;
  g_autofree char *conninfo = wb_test_pg_create_database ("sim");
  g_autofree char *dsn = g_strconcat ("DB_DSN=", conninfo, NULL);
  guint osmand = free_port ();
  guint teltonika = free_port ();
  g_autofree char *osmand_arg = g_strdup_printf ("--osmand-port=%u", osmand);
  g_autofree char *teltonika_arg = g_strdup_printf ("--teltonika-port=%u", teltonika);
  const char *env[] = { dsn, NULL };
  const char *daemon_args[] = { osmand_arg, teltonika_arg, NULL };
  WbTestDaemon *d = wb_test_daemon_spawn (env, daemon_args);
  g_autofree char *url = NULL;
  g_autofree char *osmand_url = g_strdup_printf ("http://127.0.0.1:%u", osmand);
  g_autofree char *teltonika_address = g_strdup_printf ("127.0.0.1:%u", teltonika);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  double before;

  url = g_strdup_printf ("http://127.0.0.1:%u", wb_test_daemon_port (d));
  wait_for_log (d, "Teltonika listener on");
  before = accepted (d, protocol);

  {
    const char *args[] = { "reference", "--vehicles", "3", "--url", url, "--protocol", protocol, NULL };

    g_assert_cmpint (run_sim (args, &out, &err), ==, 0);
    g_assert_nonnull (strstr (out, "accepted 10,"));   /* 1 company, 3 drivers, 3 vehicles, 3 devices */
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
    /* Idempotent: again, and nothing breaks. */
    g_assert_cmpint (run_sim (args, &out, &err), ==, 0);
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
  }
  {
    const char *args[] = { "fleet", "--vehicles", "3", "--count", "20", "--fast", "--batch", "7",
                           "--protocol", protocol, "--url", url, "--osmand-url", osmand_url,
                           "--teltonika", teltonika_address, NULL };

    g_assert_cmpint (run_sim (args, &out, &err), ==, 0);
    g_assert_nonnull (strstr (out, "sent 60, accepted 60, refused 0, failed 0"));
  }
  g_assert_cmpfloat (accepted (d, protocol) - before, ==, 60);
  g_assert_false (refused_any (d, protocol));
  assert_stored (d, conninfo, 60, 3);

  g_assert_cmpint (wb_test_daemon_terminate (d), ==, 0);
  wb_test_daemon_free (d);
}

#if WB_HAVE_KAFKA
/* Reference data published to Kafka (company/driver/vehicle.updated), as
 * other services would, to a daemon on its --kafka-dev cluster; then a
 * fleet whose positions are enriched with it. */
static void
test_reference_over_kafka (void)
{
  g_autofree char *conninfo = wb_test_pg_create_database ("simkafka");
  g_autofree char *dsn = g_strconcat ("DB_DSN=", conninfo, NULL);
  const char *env[] = { dsn, NULL };
  const char *daemon_args[] = { "--kafka-dev", NULL };
  WbTestDaemon *d = wb_test_daemon_spawn (env, daemon_args);
  g_autoptr(GRegex) regex = g_regex_new ("cluster .* at (127\\.0\\.0\\.1:[0-9]+)", 0, 0, NULL);
  g_autoptr(GMatchInfo) match = NULL;
  g_autofree char *bootstrap = NULL;
  g_autofree char *url = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  wait_for_log (d, "Fleet processing started");
  g_mutex_lock (&d->mutex);
  g_assert_true (g_regex_match (regex, d->log->str, 0, &match));
  g_mutex_unlock (&d->mutex);
  bootstrap = g_match_info_fetch (match, 1);
  url = g_strdup_printf ("http://127.0.0.1:%u", wb_test_daemon_port (d));
  {
    const char *args[] = { "reference", "--vehicles", "2", "--url", url, "--kafka", bootstrap, NULL };

    g_assert_cmpint (run_sim (args, &out, &err), ==, 0);
    /* 1 company, 2 drivers, 2 vehicles delivered to Kafka; 2 devices PUT. */
    g_assert_nonnull (strstr (out, "accepted 7,"));
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
  }
  /* The daemon consumes them on its own time. */
  {
    gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

    while (sql_count (conninfo, "SELECT count(*) FROM vehicles WHERE version > 1000000") < 2)
      {
        g_assert_cmpint (g_get_monotonic_time (), <, deadline);
        g_usleep (100 * 1000);
      }
    while (sql_count (conninfo, "SELECT count(*) FROM drivers") < 2)
      {
        g_assert_cmpint (g_get_monotonic_time (), <, deadline);
        g_usleep (100 * 1000);
      }
  }
  {
    const char *args[] = { "fleet", "--vehicles", "2", "--count", "5", "--fast", "--url", url, NULL };

    g_assert_cmpint (run_sim (args, &out, &err), ==, 0);
  }
  assert_stored (d, conninfo, 10, 2);
  g_assert_cmpint (sql_count (conninfo, "SELECT count(*) FROM positions WHERE driver_id IS NOT NULL"), ==, 10);

  g_assert_cmpint (wb_test_daemon_terminate (d), ==, 0);
  wb_test_daemon_free (d);
}
#endif

/* One simulated vehicle drives three stops over each protocol: every
 * position it sends is stored, it stood at each stop for the dwell, and
 * reached them in order. */
static void
test_drive_end_to_end (gconstpointer data)
{
  const char *protocol = data;
  g_autofree char *conninfo = wb_test_pg_create_database ("simdrive");
  g_autofree char *dsn = g_strconcat ("DB_DSN=", conninfo, NULL);
  guint osmand = free_port ();
  guint teltonika = free_port ();
  g_autofree char *osmand_arg = g_strdup_printf ("--osmand-port=%u", osmand);
  g_autofree char *teltonika_arg = g_strdup_printf ("--teltonika-port=%u", teltonika);
  const char *env[] = { dsn, NULL };
  const char *daemon_args[] = { osmand_arg, teltonika_arg, NULL };
  WbTestDaemon *d = wb_test_daemon_spawn (env, daemon_args);
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u", wb_test_daemon_port (d));
  g_autofree char *osmand_url = g_strdup_printf ("http://127.0.0.1:%u", osmand);
  g_autofree char *teltonika_address = g_strdup_printf ("127.0.0.1:%u", teltonika);
  g_autofree char *dir = g_dir_make_tmp ("sim-drive-XXXXXX", NULL);
  g_autofree char *file = g_build_filename (dir, "stops.txt", NULL);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GRegex) accepted_regex = g_regex_new ("accepted ([0-9]+), refused 0, failed 0", 0, 0, NULL);
  g_autoptr(GMatchInfo) match = NULL;
  g_autofree char *count = NULL;
  g_autoptr(GArray) stops = wb_sim_stops_parse (stops_text, 45, NULL);
  gint64 arrived[3];

  g_assert_nonnull (dir);
  g_assert_true (g_file_set_contents (file, stops_text, -1, NULL));
  wait_for_log (d, "Teltonika listener on");
  {
    const char *args[] = { "reference", "--vehicles", "1", "--url", url, "--protocol", protocol, "--bulk", NULL };

    g_assert_cmpint (run_sim (args, &out, &err), ==, 0);
    g_assert_nonnull (strstr (out, "accepted 4,"));
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
  }
  {
    const char *args[] = { "drive", "--stops", file, "--dwell", "45", "--fast", "--seed", "7", "--protocol", protocol,
                           "--url", url, "--osmand-url", osmand_url, "--teltonika", teltonika_address, NULL };

    g_assert_cmpint (run_sim (args, &out, &err), ==, 0);
  }
  g_assert_true (g_regex_match (accepted_regex, out, 0, &match));
  count = g_match_info_fetch (match, 1);
  g_assert_cmpint (g_ascii_strtoll (count, NULL, 10), >, 30 + 60 + 45);
  assert_stored (d, conninfo, g_ascii_strtoll (count, NULL, 10), 1);
  for (guint i = 0; i < 3; i++)
    {
      const WbSimStop *s = &g_array_index (stops, WbSimStop, i);
      g_autofree char *near = g_strdup_printf (
        "sqrt(power((lat - %.6f) * 111320, 2) + power((lon - %.6f) * 111320 * cos(radians(%.6f)), 2)) < 10"
        " AND speed_kmh = 0", s->lat, s->lon, s->lat);
      g_autofree char *standing = g_strdup_printf ("SELECT count(*) FROM positions WHERE %s", near);
      g_autofree char *first = g_strdup_printf ("SELECT (extract(epoch FROM min(device_time)) * 1000)::bigint"
                                                " FROM positions WHERE %s", near);

      /* One a second for the dwell (the last stop's final one too). */
      g_assert_cmpint (sql_count (conninfo, standing), >=, (gint64) s->dwell_s);
      g_assert_cmpint (sql_count (conninfo, standing), <=, (gint64) s->dwell_s + 2);
      arrived[i] = sql_count (conninfo, first);
    }
  g_assert_cmpint (arrived[0], <, arrived[1]);
  g_assert_cmpint (arrived[1], <, arrived[2]);

  g_assert_cmpint (wb_test_daemon_terminate (d), ==, 0);
  wb_test_daemon_free (d);
  g_unlink (file);
  g_rmdir (dir);
}

/* ---- the carrier polling demo ------------------------------------------------ */

static void
test_s10_numbers (void)
{
  g_autofree char *example = wb_sim_s10_number (12345678);

  /* The example of docs/polling.md. */
  g_assert_cmpstr (example, ==, "RA123456785RU");
  for (guint32 serial = 0; serial < 100000000; serial += 999983)
    {
      g_autofree char *number = wb_sim_s10_number (serial);
      g_autofree char *digits = g_strdup_printf ("%08u", serial);

      g_assert_true (wb_s10_is_valid (number));
      g_assert_true (g_str_has_prefix (number, "RA"));
      g_assert_true (g_str_has_suffix (number, "RU"));
      g_assert_cmpint (strncmp (number + 2, digits, 8), ==, 0);
    }
}

static void
test_carriers_arguments (void)
{
  const char *listen[] = { "carriers", "--listen", "localhost", NULL };
  const char *listen_port[] = { "carriers", "--listen", "127.0.0.1:70000", NULL };
  const char *rate[] = { "carriers", "--rate", "-1", NULL };
  const char *burst[] = { "carriers", "--burst", "0", NULL };
  const char *quota[] = { "carriers", "--daily-quota", "-5", NULL };
  const char *retry_after[] = { "carriers", "--retry-after", "later", NULL };
  const char *error_share[] = { "carriers", "--error-share", "1.5", NULL };
  const char *malformed_share[] = { "carriers", "--error-share", "0.6", "--malformed-share", "0.6", NULL };
  const char *delay[] = { "carriers", "--delay", "soon", NULL };
  const char *step[] = { "carriers", "--step", "0", NULL };
  const char *count[] = { "trackings", "--count", "0", NULL };
  const char *both_tokens[] = { "trackings", "--token", "t", "--token-file", "t.txt", NULL };
  const char *token_file[] = { "trackings", "--token-file", "/nonexistent/token", NULL };
  const char *carrier[] = { "trackings", "--carrier", "POST RU", NULL };
  const char *tracking_rate[] = { "trackings", "--rate", "-2", NULL };
  const char *url[] = { "trackings", "--url", "not a url", NULL };
  const char *help[] = { "carriers", "--help", NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  assert_usage_error (listen, "--listen");
  assert_usage_error (listen_port, "--listen");
  assert_usage_error (rate, "--rate");
  assert_usage_error (burst, "--burst");
  assert_usage_error (quota, "--daily-quota");
  assert_usage_error (retry_after, "--retry-after");
  assert_usage_error (error_share, "--error-share");
  assert_usage_error (malformed_share, "--malformed-share");
  assert_usage_error (delay, "--delay");
  assert_usage_error (step, "--step");
  assert_usage_error (count, "--count");
  assert_usage_error (both_tokens, "--token-file");
  assert_usage_error (token_file, "--token-file");
  assert_usage_error (carrier, "--carrier");
  assert_usage_error (tracking_rate, "--rate");
  assert_usage_error (url, "--url");
  g_assert_cmpint (run_sim (help, &out, &err), ==, 0);
  g_assert_nonnull (strstr (out, "--retry-after"));
}

/* `waybill-sim carriers` on a free port; returns the process, its port
 * read from the URL it prints first, and its output to read the rest. */
static GSubprocess *
spawn_carriers (guint             *out_port,
                GDataInputStream **out_stdout)
{
  const char *argv[] = { g_getenv ("WAYBILL_SIM"), "carriers", "--listen", "127.0.0.1:0", "--step", "300ms", NULL };
  g_autoptr(GRegex) url = g_regex_new ("http://127\\.0\\.0\\.1:([0-9]+)", 0, 0, NULL);
  g_autoptr(GMatchInfo) match = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  g_autofree char *port = NULL;
  /* Its stderr is the test's: a failed test must not leave it holding it. */
  GSubprocess *process = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                                            &error);

  g_assert_no_error (error);
  *out_stdout = g_data_input_stream_new (g_subprocess_get_stdout_pipe (process));
  line = g_data_input_stream_read_line_utf8 (*out_stdout, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (line);
  g_assert_true (g_regex_match (url, line, 0, &match));
  port = g_match_info_fetch (match, 1);
  *out_port = g_ascii_strtoull (port, NULL, 10);
  g_assert_cmpuint (*out_port, >, 0);
  return process;
}

static JsonNode *
get_json (SoupSession *session,
          const char  *uri,
          guint       *out_status)
{
  g_autoptr(SoupMessage) message = soup_message_new ("GET", uri);
  g_autoptr(GBytes) body = soup_session_send_and_read (session, message, NULL, NULL);

  *out_status = soup_message_get_status (message);
  if (body == NULL || *out_status != 200)
    return NULL;
  return json_from_string (g_bytes_get_data (body, NULL), NULL);
}

/* How many of the carrier's trackings have @status (all when NULL). */
static guint
trackings_with (SoupSession *session,
                const char  *url,
                const char  *status)
{
  g_autofree char *uri = g_strdup_printf ("%s/trackings?carrier=POST_RU&limit=500%s%s", url,
                                          status ? "&status=" : "", status ? status : "");
  guint http_status = 0;
  g_autoptr(JsonNode) root = get_json (session, uri, &http_status);

  g_assert_cmpuint (http_status, ==, 200);
  return json_array_get_length (json_object_get_array_member (json_node_get_object (root), "items"));
}

static WbTestDaemon *
spawn_polling_daemon (guint        emulator_port,
                      char       **out_carriers_path,
                      SoupSession *session)
{
  g_autofree char *conninfo = wb_test_pg_create_database ("simcarriers");
  g_autofree char *dsn = g_strconcat ("DB_DSN=", conninfo, NULL);
  g_autofree char *text = g_strdup_printf ("[POST_RU]\ndriver=emulator\nbase-url=http://127.0.0.1:%u\napi-key=demo\n"
                                           "rate=50\nburst=1\nstatus-map=generic\nnumber-format=s10\n", emulator_port);
  g_autofree char *carriers_arg = NULL;
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  WbTestDaemon *d;

  *out_carriers_path = g_build_filename (g_get_tmp_dir (), "sim-carriers.conf", NULL);
  g_assert_true (g_file_set_contents (*out_carriers_path, text, -1, NULL));
  carriers_arg = g_strconcat ("--carriers-file=", *out_carriers_path, NULL);
  {
    const char *env[] = { dsn, NULL };
    const char *args[] = { "--listen-address=127.0.0.1", carriers_arg, "--polling-profile=demo", NULL };

    d = wb_test_daemon_spawn (env, args);
  }
  for (;;)
    {
      g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u/readyz", wb_test_daemon_port (d));
      g_autoptr(SoupMessage) message = soup_message_new ("GET", uri);
      g_autoptr(GBytes) body = soup_session_send_and_read (session, message, NULL, NULL);

      if (soup_message_get_status (message) == 200)
        return d;
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (50 * 1000);
    }
}

/* The recipe of docs/simulator.md: the emulator, waybilld polling it on
 * the demo ladder, 20 generated numbers; every one is DELIVERED within a
 * minute, and the emulator served the checks. */
static void
test_carriers_demo (void)
{
  g_autoptr(SoupSession) session = soup_session_new_with_options ("timeout", 30, NULL);
  g_autoptr(GDataInputStream) carriers_out = NULL;
  g_autoptr(GSubprocess) carriers = NULL;
  g_autoptr(GRegex) counts = g_regex_new ("requests ([0-9]+), served ([0-9]+), refused 0, faults 0", 0, 0, NULL);
  g_autoptr(GMatchInfo) match = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *carriers_path = NULL;
  g_autoptr(GString) rest = g_string_new (NULL);
  char *line;
  g_autofree char *url = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *served = NULL;
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  guint emulator_port = 0;
  WbTestDaemon *d;

  carriers = spawn_carriers (&emulator_port, &carriers_out);
  d = spawn_polling_daemon (emulator_port, &carriers_path, session);
  url = g_strdup_printf ("http://127.0.0.1:%u", wb_test_daemon_port (d));
  {
    const char *args[] = { "trackings", "--url", url, "--count", "20", NULL };

    g_assert_cmpint (run_sim (args, &out, &err), ==, 0);
  }
  g_assert_nonnull (strstr (out, "created 20, existing 0, rejected 0"));
  g_assert_cmpuint (trackings_with (session, url, NULL), ==, 20);
  while (trackings_with (session, url, "DELIVERED") < 20)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (200 * 1000);
    }

  g_assert_cmpint (wb_test_daemon_terminate (d), ==, 0);
  wb_test_daemon_free (d);
  g_subprocess_send_signal (carriers, SIGTERM);
  g_subprocess_wait_check (carriers, NULL, &error);
  g_assert_no_error (error);
  while ((line = g_data_input_stream_read_line_utf8 (carriers_out, NULL, NULL, &error)) != NULL)
    {
      g_string_append_printf (rest, "%s\n", line);
      g_free (line);
    }
  g_assert_no_error (error);
  if (g_test_verbose ())
    g_printerr ("%s", rest->str);
  /* The last line holds the final counts: at least two checks a number. */
  g_assert_true (g_regex_match (counts, rest->str, 0, &match));
  while (g_match_info_matches (match))
    {
      g_clear_pointer (&served, g_free);
      served = g_match_info_fetch (match, 2);
      g_match_info_next (match, NULL);
    }
  g_assert_cmpint (g_ascii_strtoll (served, NULL, 10), >=, 40);
  g_unlink (carriers_path);
}

/* The polling demo: numbers seeded at the emulator as scenarios (a
 * failed attempt among them), added in batches, polled to DELIVERED; the
 * emulator's stats route counts what it served. A seed it cannot read is
 * refused naming the member. */
static void
test_demo_seeded (void)
{
  g_autoptr(SoupSession) session = soup_session_new_with_options ("timeout", 30, NULL);
  g_autoptr(GDataInputStream) carriers_out = NULL;
  g_autoptr(GSubprocess) carriers = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *carriers_path = NULL;
  g_autofree char *url = NULL;
  g_autofree char *emulator = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  guint emulator_port = 0;
  WbTestDaemon *d;

  carriers = spawn_carriers (&emulator_port, &carriers_out);
  d = spawn_polling_daemon (emulator_port, &carriers_path, session);
  url = g_strdup_printf ("http://127.0.0.1:%u", wb_test_daemon_port (d));
  emulator = g_strdup_printf ("http://127.0.0.1:%u", emulator_port);
  {
    const char *args[] = { "demo", "--api", url, "--emulator", emulator, "--count", "20", "--batch", "6",
                           "--rps", "0", "--carriers", "POST_RU", "--step", "0.5", NULL };

    g_assert_cmpint (run_sim (args, &out, &err), ==, 0);
  }
  g_assert_nonnull (strstr (out, "created 20, existing 0, rejected 0"));
  g_assert_nonnull (strstr (err, "20 of 20 added"));
  while (trackings_with (session, url, "DELIVERED") < 20)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (200 * 1000);
    }
  {
    g_autofree char *stats_uri = g_strconcat (emulator, "/v1/admin/stats", NULL);
    g_autofree char *seed_uri = g_strconcat (emulator, "/v1/admin/seed", NULL);
    g_autoptr(SoupMessage) stats = soup_message_new ("GET", stats_uri);
    g_autoptr(GBytes) answer = soup_session_send_and_read (session, stats, NULL, &error);
    g_autoptr(JsonNode) node = NULL;
    g_autoptr(SoupMessage) bad = soup_message_new ("POST", seed_uri);
    g_autoptr(GBytes) bad_body = g_bytes_new_static ("{\"scenarios\":[{\"carrier\":\"POST_RU\",\"trackNumber\":\"X\","
                                                     "\"codes\":[]}]}", 66);
    g_autoptr(GBytes) refusal = NULL;

    g_assert_no_error (error);
    g_assert_cmpuint (soup_message_get_status (stats), ==, 200);
    node = json_from_string (g_bytes_get_data (answer, NULL), &error);
    g_assert_no_error (error);
    g_assert_cmpint (json_object_get_int_member (json_node_get_object (node), "served"), >=, 40);
    g_assert_cmpint (json_object_get_int_member (json_node_get_object (node), "refused"), ==, 0);
    g_assert_cmpint (json_object_get_int_member (json_node_get_object (node), "mostInOneSecond"), <=, 50);
    soup_message_set_request_body_from_bytes (bad, "application/json", bad_body);
    refusal = soup_session_send_and_read (session, bad, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (soup_message_get_status (bad), ==, 400);
    g_assert_nonnull (g_strstr_len (g_bytes_get_data (refusal, NULL), g_bytes_get_size (refusal), "codes"));
  }
  g_assert_cmpint (wb_test_daemon_terminate (d), ==, 0);
  wb_test_daemon_free (d);
  g_subprocess_send_signal (carriers, SIGTERM);
  g_subprocess_wait_check (carriers, NULL, NULL);
  g_unlink (carriers_path);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/sim/route/every-second", test_route_every_second);
  g_test_add_func ("/sim/route/every-ten-seconds", test_route_every_ten_seconds);
  g_test_add_func ("/sim/ids", test_ids);
  g_test_add_func ("/sim/arguments", test_bad_arguments);
  g_test_add_data_func ("/sim/fleet/json", "json", test_fleet_end_to_end);
  g_test_add_data_func ("/sim/fleet/osmand", "osmand", test_fleet_end_to_end);
  g_test_add_data_func ("/sim/fleet/teltonika", "teltonika", test_fleet_end_to_end);
#if WB_HAVE_KAFKA
  g_test_add_func ("/sim/reference-over-kafka", test_reference_over_kafka);
#endif
  g_test_add_func ("/sim/drive/stops-file", test_stops_parse);
  g_test_add_func ("/sim/drive/stops-from-trip", test_stops_from_trip);
  g_test_add_func ("/sim/drive/route", test_drive_route);
  g_test_add_data_func ("/sim/drive/json", "json", test_drive_end_to_end);
  g_test_add_data_func ("/sim/drive/osmand", "osmand", test_drive_end_to_end);
  g_test_add_data_func ("/sim/drive/teltonika", "teltonika", test_drive_end_to_end);
  g_test_add_func ("/sim/carriers/s10", test_s10_numbers);
  g_test_add_func ("/sim/carriers/arguments", test_carriers_arguments);
  g_test_add_func ("/sim/carriers/demo", test_carriers_demo);
  g_test_add_func ("/sim/demo/seeded", test_demo_seeded);
  return g_test_run ();
}
