// SPDX-License-Identifier: GPL-3.0-or-later
/* waybill-sim: a fleet of simulated vehicles for demos, tests and
 * benchmarks. `reference` registers the fleet's companies, drivers,
 * vehicles and devices; `fleet` drives the vehicles and sends their
 * positions over HTTP JSON, OsmAnd or Teltonika; `carriers` serves the
 * carrier emulator and `trackings` gives waybilld numbers to poll on it. */

#include "config.h"

#include <glib-unix.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "sim-carriers.h"
#include "sim-city.h"
#include "sim-fleet.h"
#include "sim-ids.h"
#include "sim-reference.h"
#include "sim-stops.h"
#include "sim-trackings.h"
#include "wb-config.h"
#include "wb-jwt.h"

#define EXIT_USAGE 2
#define TOKEN_TTL_S (7 * 24 * 3600)

/* What both commands share. */
typedef struct
{
  char    *url;
  char    *token;
  char    *jwt_secret;
  char    *device_prefix;
  char    *protocol;
  int      vehicles;
  int      connections;
} Common;

static void
common_clear (Common *common)
{
  g_free (common->url);
  g_free (common->token);
  g_free (common->jwt_secret);
  g_free (common->device_prefix);
  g_free (common->protocol);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Common, common_clear)

static int
usage_error (const char *command,
             const char *format,
             ...) G_GNUC_PRINTF (2, 3);

static int
usage_error (const char *command,
             const char *format,
             ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("waybill-sim %s: %s\n", command, message);
  return EXIT_USAGE;
}

static gboolean
prefix_is_valid (const char *prefix)
{
  for (const char *c = prefix; *c; c++)
    if (!g_ascii_isalnum (*c) && !strchr ("._:-", *c))
      return FALSE;
  return strlen (prefix) <= 64;
}

/* --token as given, or one signed with --jwt-secret for @role; without
 * either, none (waybilld on embedded defaults needs none). */
static char *
bearer_token (const Common *common,
              WbAccessRole        role)
{
  if (common->token)
    return g_strdup (common->token);
  if (common->jwt_secret == NULL)
    return NULL;
  return wb_jwt_sign ((const guint8 *) common->jwt_secret, strlen (common->jwt_secret), "waybill-sim", role,
                      g_get_real_time () / G_USEC_PER_SEC, TOKEN_TTL_S);
}

/* GOption overwrites a string without freeing it: defaults go in after. */
static void
set_default (char       **value,
             const char  *fallback)
{
  if (*value == NULL)
    *value = g_strdup (fallback);
}

static int
check_common (const char *command,
              Common     *common,
              WbProtocol *out_protocol)
{
  set_default (&common->url, "http://127.0.0.1:8080");
  set_default (&common->device_prefix, "sim-");
  set_default (&common->protocol, "json");
  if (common->vehicles < 1 || common->vehicles > WB_SIM_MAX_VEHICLES)
    return usage_error (command, "--vehicles must be from 1 to %d", WB_SIM_MAX_VEHICLES);
  if (common->connections < 1 || common->connections > 1024)
    return usage_error (command, "--connections must be from 1 to 1024");
  if (!wb_protocol_from_string (common->protocol, out_protocol))
    return usage_error (command, "--protocol must be json, osmand or teltonika, not “%s”", common->protocol);
  if (!prefix_is_valid (common->device_prefix))
    return usage_error (command, "--device-prefix may hold only letters, digits and . _ : -");
  if (!g_uri_is_valid (common->url, G_URI_FLAGS_NONE, NULL))
    return usage_error (command, "--url “%s” is not a URL", common->url);
  if (common->token && common->jwt_secret)
    return usage_error (command, "--token and --jwt-secret exclude each other");
  return 0;
}

static int
parse_command (GOptionContext *context,
               const char     *command,
               int            *argc,
               char         ***argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *prgname = g_strdup_printf ("waybill-sim %s", command);

  g_set_prgname (prgname);
  if (!g_option_context_parse (context, argc, argv, &error))
    return usage_error (command, "%s", error->message);
  if (*argc > 1)
    return usage_error (command, "unexpected argument “%s”", (*argv)[1]);
  return 0;
}

/* ---- reference ------------------------------------------------------------ */

static int
run_reference (int    argc,
               char **argv)
{
  g_auto(Common) common = { NULL, NULL, NULL, NULL, NULL, 10, 8 };
  g_autofree char *kafka = NULL;
  int companies = 0;
  gboolean bulk = FALSE;
  int bulk_rows = 10000;
  GOptionEntry entries[] = {
    { "vehicles", 'n', 0, G_OPTION_ARG_INT, &common.vehicles, "Vehicles (and drivers, devices) to register (10)", "N" },
    { "companies", 0, 0, G_OPTION_ARG_INT, &companies, "Companies to spread them over (1 per 50 vehicles)", "C" },
    { "url", 0, 0, G_OPTION_ARG_STRING, &common.url, "waybilld's API (http://127.0.0.1:8080)", "URL" },
    { "token", 0, 0, G_OPTION_ARG_STRING, &common.token, "A JWT with the admin role", "JWT" },
    { "jwt-secret", 0, 0, G_OPTION_ARG_STRING, &common.jwt_secret, "Sign an admin token with this secret", "SECRET" },
    { "device-prefix", 0, 0, G_OPTION_ARG_STRING, &common.device_prefix, "Prefix of every id (sim-)", "PREFIX" },
    { "protocol", 'p', 0, G_OPTION_ARG_STRING, &common.protocol,
      "The protocol `fleet` will use: it decides the device ids (json)", "json|osmand|teltonika" },
    { "connections", 0, 0, G_OPTION_ARG_INT, &common.connections, "Requests in flight at most (8)", "N" },
    { "kafka", 0, 0, G_OPTION_ARG_STRING, &kafka,
      "Publish companies, drivers and vehicles to company/driver/vehicle.updated on these brokers "
      "(devices still over REST)", "HOST:PORT" },
    { "bulk", 0, 0, G_OPTION_ARG_NONE, &bulk,
      "Send each kind as NDJSON imports (POST /vehicles:import …) instead of one PUT each", NULL },
    { "bulk-rows", 0, 0, G_OPTION_ARG_INT, &bulk_rows, "Rows an import carries at most (10000)", "N" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new (NULL);
  g_autofree char *token = NULL;
  g_autofree char *summary = NULL;
  WbSimReferenceOptions options = { 0 };
  WbSimStats stats;
  int status;

  g_option_context_set_summary (context, "Register a simulated fleet's companies, drivers, vehicles and devices\n"
                                         "over REST (PUT, or imports with --bulk; idempotent: running it again "
                                         "is fine).");
  g_option_context_add_main_entries (context, entries, NULL);
  if ((status = parse_command (context, "reference", &argc, &argv)) != 0
      || (status = check_common ("reference", &common, &options.protocol)) != 0)
    return status;
  if (companies < 0 || companies > 999)
    return usage_error ("reference", "--companies must be from 1 to 999");
  if (bulk_rows < 1 || bulk_rows > 100000)
    return usage_error ("reference", "--bulk-rows must be from 1 to 100000");

  token = bearer_token (&common, WB_ACCESS_ROLE_ADMIN);
  options.vehicles = common.vehicles;
  options.companies = companies > 0 ? companies : 1 + (common.vehicles - 1) / 50;
  options.api_url = common.url;
  options.token = token;
  options.device_prefix = common.device_prefix;
  options.connections = common.connections;
  options.kafka_brokers = kafka;
  options.bulk = bulk;
  options.bulk_rows = bulk_rows;
  wb_sim_stats_init (&stats);
  wb_sim_reference_run (&options, &stats);
  summary = wb_sim_stats_format (&stats, "reference");
  g_print ("%s\n", summary);
  status = stats.refused == 0 && stats.failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
  wb_sim_stats_clear (&stats);
  return status;
}

/* ---- fleet ------------------------------------------------------------------ */

static gboolean
on_interrupt (gpointer data)
{
  wb_sim_fleet_stop (data);
  return G_SOURCE_CONTINUE;
}

/* A Teltonika tracker per vehicle holds a socket each. */
static void
raise_file_limit (void)
{
  struct rlimit limit;

  if (getrlimit (RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max)
    {
      limit.rlim_cur = limit.rlim_max;
      setrlimit (RLIMIT_NOFILE, &limit);
    }
}

/* --from: an RFC 3339 time, or how long ago ("6h"). */
static gboolean
parse_from (const char *text,
            gint64     *out_us)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_iso8601 (text, NULL);
  gint64 ago_ms;

  if (time != NULL)
    {
      *out_us = g_date_time_to_unix (time) * G_USEC_PER_SEC + g_date_time_get_microsecond (time);
      return TRUE;
    }
  if (!wb_config_parse_duration (text, 1000, &ago_ms, NULL))
    return FALSE;
  *out_us = g_get_real_time () - ago_ms * 1000;
  return TRUE;
}

static int
parse_city (const char *text,
            double     *lat,
            double     *lon)
{
  g_auto(GStrv) parts = NULL;
  char *end_lat = NULL;
  char *end_lon = NULL;

  if (wb_sim_city_lookup (text, lat, lon))
    return 0;
  parts = g_strsplit (text, ",", 3);
  if (g_strv_length (parts) != 2)
    return usage_error ("fleet", "--city must be minsk, vilnius, warsaw, berlin or LAT,LON, not “%s”", text);
  *lat = g_ascii_strtod (parts[0], &end_lat);
  *lon = g_ascii_strtod (parts[1], &end_lon);
  if (*end_lat != '\0' || *end_lon != '\0' || !(fabs (*lat) <= 75) || !(fabs (*lon) <= 179))
    return usage_error ("fleet", "--city “%s”: latitude must be within ±75, longitude within ±179", text);
  return 0;
}

typedef struct
{
  double   rate;
  char    *osmand_url;
  char    *teltonika;
  char    *duration;
  int      count;
  int      batch;
  char    *city;
  int      seed;
  gboolean fast;
  char    *from;
  gboolean verbose;
} FleetArgs;

static int
check_fleet (FleetArgs         *args,
             WbSimFleetOptions *options)
{
  gint64 ms = 0;

  set_default (&args->osmand_url, "http://127.0.0.1:5055");
  set_default (&args->teltonika, "127.0.0.1:5027");
  set_default (&args->city, "minsk");

  if (!(args->rate > 0 && args->rate <= 1000))
    return usage_error ("fleet", "--rate must be above 0 and at most 1000");
  if (args->count < 0)
    return usage_error ("fleet", "--count must not be negative");
  if (args->batch < 1 || args->batch > 10000 || (options->protocol == WB_PROTOCOL_TELTONIKA && args->batch > 255))
    return usage_error ("fleet", "--batch must be from 1 to 10000 (json) or 255 (teltonika)");
  if (args->duration && (!wb_config_parse_duration (args->duration, 1000, &ms, NULL) || ms <= 0))
    return usage_error ("fleet", "--duration “%s” is not a duration (e.g. 90, 90s, 10m, 2h)", args->duration);
  if (args->from && !parse_from (args->from, &options->from_us))
    return usage_error ("fleet", "--from “%s” is neither an RFC 3339 time nor a duration ago", args->from);
  if (!g_uri_is_valid (args->osmand_url, G_URI_FLAGS_NONE, NULL))
    return usage_error ("fleet", "--osmand-url “%s” is not a URL", args->osmand_url);
  if (options->from_us > g_get_real_time ())
    return usage_error ("fleet", "--from must be in the past");
  options->rate_hz = args->rate;
  options->duration_s = ms / 1000.0;
  options->count = args->count;
  options->batch = args->batch;
  options->seed = args->seed;
  options->fast = args->fast || args->from != NULL;
  options->verbose = args->verbose;
  options->osmand_url = args->osmand_url;
  options->teltonika_address = args->teltonika;
  return parse_city (args->city, &options->center_lat, &options->center_lon);
}

static int
drive_fleet (WbSimFleetOptions *options)
{
  g_autoptr(WbSimFleet) fleet = wb_sim_fleet_new (options);
  g_autofree char *summary = NULL;
  const WbSimStats *stats;
  guint interrupt = g_unix_signal_add (SIGINT, on_interrupt, fleet);
  guint terminate = g_unix_signal_add (SIGTERM, on_interrupt, fleet);

  if (options->fast && options->from_us && options->from_us < g_get_real_time () - G_GINT64_CONSTANT (7) * 24 * 3600 * G_USEC_PER_SEC)
    g_printerr ("waybill-sim fleet: note: positions older than fleet.max-position-age (7 days by default) are "
                "refused\n");
  wb_sim_fleet_run (fleet);
  g_source_remove (interrupt);
  g_source_remove (terminate);
  stats = wb_sim_fleet_get_stats (fleet);
  summary = wb_sim_stats_format (stats, "fleet");
  g_print ("%s\n", summary);
  return stats->refused == 0 && stats->failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

static int
run_fleet (int    argc,
           char **argv)
{
  g_auto(Common) common = { NULL, NULL, NULL, NULL, NULL, 10, 8 };
  FleetArgs args = { 1.0, NULL, NULL, NULL, 0, 50, NULL, 1, FALSE, NULL, FALSE };
  GOptionEntry entries[] = {
    { "vehicles", 'n', 0, G_OPTION_ARG_INT, &common.vehicles, "Vehicles to drive (10)", "N" },
    { "rate", 'r', 0, G_OPTION_ARG_DOUBLE, &args.rate, "Positions per second per vehicle; 0.1 = one every 10 s (1)", "HZ" },
    { "protocol", 'p', 0, G_OPTION_ARG_STRING, &common.protocol, "How positions are sent (json)", "json|osmand|teltonika" },
    { "url", 0, 0, G_OPTION_ARG_STRING, &common.url, "waybilld's API, for json (http://127.0.0.1:8080)", "URL" },
    { "osmand-url", 0, 0, G_OPTION_ARG_STRING, &args.osmand_url, "The OsmAnd listener (http://127.0.0.1:5055)", "URL" },
    { "teltonika", 0, 0, G_OPTION_ARG_STRING, &args.teltonika, "The Teltonika listener (127.0.0.1:5027)", "HOST:PORT" },
    { "duration", 'd', 0, G_OPTION_ARG_STRING, &args.duration,
      "Run this long (seconds, or 10m, 2h); in fast mode, a span of device time", "SECONDS" },
    { "count", 'c', 0, G_OPTION_ARG_INT, &args.count, "Positions per vehicle, then stop", "N" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &args.batch, "json: positions per POST; teltonika: records per frame (50)", "K" },
    { "connections", 0, 0, G_OPTION_ARG_INT, &common.connections, "HTTP requests in flight at most (8)", "N" },
    { "city", 0, 0, G_OPTION_ARG_STRING, &args.city, "minsk, vilnius, warsaw, berlin, or LAT,LON (minsk)", "CITY" },
    { "seed", 0, 0, G_OPTION_ARG_INT, &args.seed, "The same seed drives the same routes (1)", "S" },
    { "token", 0, 0, G_OPTION_ARG_STRING, &common.token, "A JWT with the dispatcher role (json)", "JWT" },
    { "jwt-secret", 0, 0, G_OPTION_ARG_STRING, &common.jwt_secret, "Sign a dispatcher token with this secret", "SECRET" },
    { "device-prefix", 0, 0, G_OPTION_ARG_STRING, &common.device_prefix, "Device ids are this and the vehicle number (sim-)", "PREFIX" },
    { "fast", 0, 0, G_OPTION_ARG_NONE, &args.fast,
      "Device times from the past, sent as fast as the server takes them (a benchmark)", NULL },
    { "from", 0, 0, G_OPTION_ARG_STRING, &args.from, "Fast mode's first device time: RFC 3339, or how long ago (6h)", "TIME" },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &args.verbose, "Print progress every 5 s", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new (NULL);
  g_autofree char *token = NULL;
  WbSimFleetOptions options = { 0 };
  int status;

  g_option_context_set_summary (context, "Drive simulated vehicles around a city and send their positions.\n"
                                         "Without --count or --duration it runs until interrupted (fast mode: "
                                         "until device time reaches now).");
  g_option_context_add_main_entries (context, entries, NULL);
  if ((status = parse_command (context, "fleet", &argc, &argv)) != 0
      || (status = check_common ("fleet", &common, &options.protocol)) != 0
      || (status = check_fleet (&args, &options)) != 0)
    goto out;

  raise_file_limit ();
  token = bearer_token (&common, WB_ACCESS_ROLE_DISPATCHER);
  options.vehicles = common.vehicles;
  options.api_url = common.url;
  options.token = token;
  options.device_prefix = common.device_prefix;
  options.connections = common.connections;
  status = drive_fleet (&options);
out:
  g_free (args.osmand_url);
  g_free (args.teltonika);
  g_free (args.duration);
  g_free (args.city);
  g_free (args.from);
  return status;
}

/* ---- drive ------------------------------------------------------------------ */

typedef struct
{
  GMainLoop *loop;
  GArray    *stops;
  GError    *error;
} StopsWait;

static void
on_stops (GObject      *source,
          GAsyncResult *result,
          gpointer      data)
{
  StopsWait *wait = data;

  wait->stops = wb_sim_stops_load_finish (result, &wait->error);
  g_main_loop_quit (wait->loop);
}

static GArray *
load_stops (const WbSimStopsSource  *source,
            GError                 **error)
{
  StopsWait wait = { g_main_loop_new (NULL, FALSE), NULL, NULL };

  wb_sim_stops_load_async (source, NULL, on_stops, &wait);
  g_main_loop_run (wait.loop);
  g_main_loop_unref (wait.loop);
  if (wait.error != NULL)
    g_propagate_error (error, wait.error);
  return wait.stops;
}

/* The city around the stops, unless --city says where. */
static void
center_on_stops (GArray            *stops,
                 WbSimFleetOptions *options)
{
  double lat = 0, lon = 0;

  for (guint i = 0; i < stops->len; i++)
    {
      lat += g_array_index (stops, WbSimStop, i).lat;
      lon += g_array_index (stops, WbSimStop, i).lon;
    }
  options->center_lat = lat / stops->len;
  options->center_lon = lon / stops->len;
}

static int
run_drive (int    argc,
           char **argv)
{
  g_auto(Common) common = { NULL, NULL, NULL, NULL, NULL, 1, 8 };
  FleetArgs args = { 1.0, NULL, NULL, NULL, 0, 50, NULL, 1, FALSE, NULL, FALSE };
  g_autofree char *stops_file = NULL;
  g_autofree char *trip = NULL;
  g_autofree char *dwell = NULL;
  double time_scale = 1;
  int number = 1;
  GOptionEntry entries[] = {
    { "stops", 0, 0, G_OPTION_ARG_FILENAME, &stops_file, "A file of stops, one LAT,LON[,DWELL] a line", "FILE" },
    { "trip", 0, 0, G_OPTION_ARG_STRING, &trip, "Drive the stops of GET /trips/ID on --url", "ID" },
    { "dwell", 0, 0, G_OPTION_ARG_STRING, &dwell, "How long to stand at a stop that says not (60s)", "SECONDS" },
    { "vehicle", 'n', 0, G_OPTION_ARG_INT, &number, "The vehicle's number: its device id, as reference names it (1)", "N" },
    { "rate", 'r', 0, G_OPTION_ARG_DOUBLE, &args.rate, "Positions per second (1)", "HZ" },
    { "protocol", 'p', 0, G_OPTION_ARG_STRING, &common.protocol, "How positions are sent (json)", "json|osmand|teltonika" },
    { "url", 0, 0, G_OPTION_ARG_STRING, &common.url, "waybilld's API (http://127.0.0.1:8080)", "URL" },
    { "osmand-url", 0, 0, G_OPTION_ARG_STRING, &args.osmand_url, "The OsmAnd listener (http://127.0.0.1:5055)", "URL" },
    { "teltonika", 0, 0, G_OPTION_ARG_STRING, &args.teltonika, "The Teltonika listener (127.0.0.1:5027)", "HOST:PORT" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &args.batch, "json: positions per POST; teltonika: records per frame (50)", "K" },
    { "city", 0, 0, G_OPTION_ARG_STRING, &args.city, "The street grid's centre (default: amid the stops)", "CITY" },
    { "seed", 0, 0, G_OPTION_ARG_INT, &args.seed, "The same seed drives the same way (1)", "S" },
    { "token", 0, 0, G_OPTION_ARG_STRING, &common.token, "A JWT (dispatcher role; viewer is enough for --trip)", "JWT" },
    { "jwt-secret", 0, 0, G_OPTION_ARG_STRING, &common.jwt_secret, "Sign a dispatcher token with this secret", "SECRET" },
    { "device-prefix", 0, 0, G_OPTION_ARG_STRING, &common.device_prefix, "Device ids are this and the number (sim-)", "PREFIX" },
    { "fast", 0, 0, G_OPTION_ARG_NONE, &args.fast, "Device times from the past, ending about now, sent at once", NULL },
    { "from", 0, 0, G_OPTION_ARG_STRING, &args.from, "Fast mode's first device time: RFC 3339, or how long ago", "TIME" },
    { "time-scale", 0, 0, G_OPTION_ARG_DOUBLE, &time_scale,
      "Drive K times faster than real time, device times from the past ending about now (1)", "K" },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &args.verbose, "Print progress every 5 s", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new (NULL);
  g_autoptr(GArray) stops = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *token = NULL;
  WbSimFleetOptions options = { 0 };
  WbSimStopsSource source = { 0 };
  gboolean own_city;
  gint64 dwell_ms = 60000;
  int status;

  g_option_context_set_summary (context, "Drive one simulated vehicle along given stops over the street grid,\n"
                                         "standing at each for its dwell, and send its positions.");
  g_option_context_add_main_entries (context, entries, NULL);
  if ((status = parse_command (context, "drive", &argc, &argv)) != 0
      || (status = check_common ("drive", &common, &options.protocol)) != 0)
    goto out;
  own_city = args.city != NULL;
  if ((status = check_fleet (&args, &options)) != 0)
    goto out;
  if ((stops_file == NULL) == (trip == NULL))
    {
      status = usage_error ("drive", "--stops FILE or --trip ID is needed (one of them)");
      goto out;
    }
  if (number < 1 || number > WB_SIM_MAX_VEHICLES)
    {
      status = usage_error ("drive", "--vehicle must be from 1 to %d", WB_SIM_MAX_VEHICLES);
      goto out;
    }
  if (dwell && (!wb_config_parse_duration (dwell, 1000, &dwell_ms, NULL) || dwell_ms < 0))
    {
      status = usage_error ("drive", "--dwell “%s” is not a duration (e.g. 60, 90s, 2m)", dwell);
      goto out;
    }
  if (!(time_scale >= 1 && time_scale <= 1000))
    {
      status = usage_error ("drive", "--time-scale must be from 1 to 1000");
      goto out;
    }
  if (time_scale > 1 && options.fast)
    {
      status = usage_error ("drive", "--time-scale is for real time; --fast and --from send at once");
      goto out;
    }
  options.time_scale = time_scale;

  token = bearer_token (&common, WB_ACCESS_ROLE_DISPATCHER);
  source.file = stops_file;
  source.trip_id = trip;
  source.api_url = common.url;
  source.token = token;
  source.default_dwell_s = dwell_ms / 1000.0;
  if ((stops = load_stops (&source, &error)) == NULL)
    {
      g_printerr ("waybill-sim drive: %s\n", error->message);
      status = EXIT_FAILURE;
      goto out;
    }
  if (!own_city)
    center_on_stops (stops, &options);
  raise_file_limit ();
  options.vehicles = 1;
  options.first_number = number;
  options.stops = (const WbSimStop *) (gpointer) stops->data;
  options.n_stops = stops->len;
  options.api_url = common.url;
  options.token = token;
  options.device_prefix = common.device_prefix;
  options.connections = common.connections;
  status = drive_fleet (&options);
out:
  g_free (args.osmand_url);
  g_free (args.teltonika);
  g_free (args.duration);
  g_free (args.city);
  g_free (args.from);
  return status;
}

/* ---- carriers ------------------------------------------------------------- */

/* HOST:PORT with HOST an IP address ([…] for IPv6), PORT 0 for any. */
static GInetSocketAddress *
parse_listen (const char *text)
{
  const char *colon = strrchr (text, ':');
  g_autofree char *host = NULL;
  g_autoptr(GInetAddress) address = NULL;
  guint64 port;

  if (colon == NULL || !g_ascii_string_to_unsigned (colon + 1, 10, 0, 65535, &port, NULL))
    return NULL;
  host = g_strndup (text, colon - text);
  if (host[0] == '[' && g_str_has_suffix (host, "]"))
    {
      memmove (host, host + 1, strlen (host) - 2);
      host[strlen (host) - 2] = '\0';
    }
  if ((address = g_inet_address_new_from_string (host)) == NULL)
    return NULL;
  return G_INET_SOCKET_ADDRESS (g_inet_socket_address_new (address, port));
}

static gboolean
parse_retry_after (const char           *text,
                   WbEmulatorRetryAfter *out_retry_after)
{
  if (g_str_equal (text, "seconds"))
    *out_retry_after = WB_EMULATOR_RETRY_AFTER_SECONDS;
  else if (g_str_equal (text, "date"))
    *out_retry_after = WB_EMULATOR_RETRY_AFTER_DATE;
  else if (g_str_equal (text, "none"))
    *out_retry_after = WB_EMULATOR_RETRY_AFTER_NONE;
  else
    return FALSE;
  return TRUE;
}

typedef struct
{
  char   *listen;
  double  rate;
  int     burst;
  int     daily_quota;
  char   *retry_after;
  double  error_share;
  double  malformed_share;
  char   *delay;
  char   *step;
} CarriersArgs;

static void
carriers_args_clear (CarriersArgs *args)
{
  g_free (args->listen);
  g_free (args->retry_after);
  g_free (args->delay);
  g_free (args->step);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (CarriersArgs, carriers_args_clear)

static int
check_carriers (CarriersArgs         *args,
                WbSimCarriersOptions *options)
{
  gint64 delay_ms = 0, step_ms = 0;

  set_default (&args->listen, "127.0.0.1:8090");
  set_default (&args->retry_after, "seconds");
  if ((options->listen = parse_listen (args->listen)) == NULL)
    return usage_error ("carriers", "--listen “%s” is not ADDRESS:PORT (e.g. 127.0.0.1:8090)", args->listen);
  if (!(args->rate >= 0 && args->rate <= 1e6))
    return usage_error ("carriers", "--rate must be from 0 (unlimited) to 1000000 per second");
  if (args->burst < 1 || args->burst > 1000000)
    return usage_error ("carriers", "--burst must be from 1 to 1000000");
  if (args->daily_quota < 0)
    return usage_error ("carriers", "--daily-quota must not be negative (0: none)");
  if (!parse_retry_after (args->retry_after, &options->retry_after))
    return usage_error ("carriers", "--retry-after must be seconds, date or none, not “%s”", args->retry_after);
  if (!(args->error_share >= 0 && args->error_share <= 1))
    return usage_error ("carriers", "--error-share must be from 0 to 1");
  if (!(args->malformed_share >= 0 && args->malformed_share <= 1) || args->error_share + args->malformed_share > 1)
    return usage_error ("carriers", "--malformed-share must be from 0 to 1, and with --error-share at most 1");
  if (args->delay && (!wb_config_parse_duration (args->delay, 1, &delay_ms, NULL) || delay_ms > 60000))
    return usage_error ("carriers", "--delay “%s” must be milliseconds up to 60000 (e.g. 250, 2s)", args->delay);
  if (args->step && (!wb_config_parse_duration (args->step, 1000, &step_ms, NULL) || step_ms <= 0))
    return usage_error ("carriers", "--step “%s” is not a duration above 0 (e.g. 3s, 500ms, 1m)", args->step);
  options->rate = args->rate;
  options->burst = args->burst;
  options->daily_quota = args->daily_quota;
  options->error_share = args->error_share;
  options->malformed_share = args->malformed_share;
  options->delay_ms = delay_ms;
  options->step_us = step_ms * 1000;
  return 0;
}

static int
run_carriers (int    argc,
              char **argv)
{
  g_auto(CarriersArgs) args = { NULL, 0, 1, 0, NULL, 0, 0, NULL, NULL };
  GOptionEntry entries[] = {
    { "listen", 'l', 0, G_OPTION_ARG_STRING, &args.listen, "Address to serve on; port 0: any free one (127.0.0.1:8090)",
      "ADDRESS:PORT" },
    { "rate", 'r', 0, G_OPTION_ARG_DOUBLE, &args.rate, "Requests per second per API key; 0: unlimited (0)", "R" },
    { "burst", 'b', 0, G_OPTION_ARG_INT, &args.burst, "Requests that may pile up while idle (1)", "B" },
    { "daily-quota", 0, 0, G_OPTION_ARG_INT, &args.daily_quota, "Requests per API key per UTC day; 0: none (0)", "Q" },
    { "retry-after", 0, 0, G_OPTION_ARG_STRING, &args.retry_after, "How a 429 says when to come back (seconds)",
      "seconds|date|none" },
    { "error-share", 0, 0, G_OPTION_ARG_DOUBLE, &args.error_share, "Share of answers that are 503 (0)", "F" },
    { "malformed-share", 0, 0, G_OPTION_ARG_DOUBLE, &args.malformed_share, "Share of answers with a broken body (0)",
      "F" },
    { "delay", 0, 0, G_OPTION_ARG_STRING, &args.delay, "Wait this long before each answer (0)", "MS" },
    { "step", 0, 0, G_OPTION_ARG_STRING, &args.step, "How long each status of a parcel lasts", "DURATION" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new (NULL);
  WbSimCarriersOptions options = { 0 };
  int status;

  g_option_context_set_summary (context, "Serve the carrier emulator (the `emulator` driver's carrier API) until\n"
                                         "interrupted: every number moves from INFO_RECEIVED to DELIVERED, one step\n"
                                         "apart. Prints its URL, then the request counts.");
  g_option_context_add_main_entries (context, entries, NULL);
  if ((status = parse_command (context, "carriers", &argc, &argv)) == 0
      && (status = check_carriers (&args, &options)) == 0)
    status = wb_sim_carriers_run (&options);
  g_clear_object (&options.listen);
  return status;
}

/* ---- trackings ------------------------------------------------------------ */

static gboolean
carrier_code_is_valid (const char *code)
{
  for (const char *c = code; *c; c++)
    if (!g_ascii_isalnum (*c) && *c != '_' && *c != '-')
      return FALSE;
  return *code != '\0' && strlen (code) <= 32;
}

static int
read_token_file (const char  *path,
                 char       **out_token)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, &error))
    return usage_error ("trackings", "--token-file: %s", error->message);
  g_strstrip (text);
  if (*text == '\0')
    return usage_error ("trackings", "--token-file “%s” is empty", path);
  *out_token = g_steal_pointer (&text);
  return 0;
}

typedef struct
{
  char   *url;
  char   *token;
  char   *token_file;
  char   *carrier;
  int     count;
  double  rate;
} TrackingsArgs;

static void
trackings_args_clear (TrackingsArgs *args)
{
  g_free (args->url);
  g_free (args->token);
  g_free (args->token_file);
  g_free (args->carrier);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (TrackingsArgs, trackings_args_clear)

static int
check_trackings (TrackingsArgs *args)
{
  set_default (&args->url, "http://127.0.0.1:8080");
  set_default (&args->carrier, "POST_RU");
  if (!g_uri_is_valid (args->url, G_URI_FLAGS_NONE, NULL))
    return usage_error ("trackings", "--url “%s” is not a URL", args->url);
  if (args->token && args->token_file)
    return usage_error ("trackings", "--token and --token-file exclude each other");
  if (args->count < 1 || args->count > 1000000)
    return usage_error ("trackings", "--count must be from 1 to 1000000");
  if (!carrier_code_is_valid (args->carrier))
    return usage_error ("trackings", "--carrier must be a carrier code of letters, digits, _ and -");
  if (!(args->rate >= 0 && args->rate <= 1e6))
    return usage_error ("trackings", "--rate must be from 0 (as fast as answered) to 1000000 per second");
  if (args->token_file)
    return read_token_file (args->token_file, &args->token);
  return 0;
}

static int
run_trackings (int    argc,
               char **argv)
{
  g_auto(TrackingsArgs) args = { NULL, NULL, NULL, NULL, 100, 0 };
  GOptionEntry entries[] = {
    { "url", 0, 0, G_OPTION_ARG_STRING, &args.url, "waybilld's API (http://127.0.0.1:8080)", "URL" },
    { "token", 0, 0, G_OPTION_ARG_STRING, &args.token, "A JWT with the dispatcher role", "JWT" },
    { "token-file", 0, 0, G_OPTION_ARG_FILENAME, &args.token_file, "Read that JWT from a file", "FILE" },
    { "count", 'c', 0, G_OPTION_ARG_INT, &args.count, "Track numbers to add (100)", "N" },
    { "carrier", 0, 0, G_OPTION_ARG_STRING, &args.carrier, "Their carrier code (POST_RU)", "CODE" },
    { "rate", 'r', 0, G_OPTION_ARG_DOUBLE, &args.rate, "Numbers per second; 0: as fast as answered (0)", "R" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new (NULL);
  g_autoptr(GError) error = NULL;
  WbSimTrackingsOptions options = { 0 };
  WbSimTrackingsCounts counts = { 0 };
  gboolean ok;
  int status;

  g_option_context_set_summary (context, "Add generated track numbers (UPU S10, RA…RU, with check digits) to\n"
                                         "POST /trackings, up to 1000 a request, for the carrier polling demo.");
  g_option_context_add_main_entries (context, entries, NULL);
  if ((status = parse_command (context, "trackings", &argc, &argv)) != 0
      || (status = check_trackings (&args)) != 0)
    return status;
  options.api_url = args.url;
  options.token = args.token;
  options.carrier = args.carrier;
  options.count = args.count;
  options.rate = args.rate;
  options.first_serial = g_random_int_range (0, 100000000);
  ok = wb_sim_trackings_run (&options, &counts, &error);
  g_print ("trackings: created %" G_GUINT64_FORMAT ", existing %" G_GUINT64_FORMAT ", rejected %" G_GUINT64_FORMAT
           "\n", counts.created, counts.existing, counts.rejected);
  if (!ok)
    g_printerr ("waybill-sim trackings: %s\n", error->message);
  return ok && counts.rejected == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* ---- demo --------------------------------------------------------------------- */

typedef struct
{
  char   *api;
  char   *emulator;
  char   *token;
  char   *token_file;
  char   *carriers;
  int     count;
  int     batch;
  double  rps;
  double  step;
} DemoArgs;

static void
demo_args_clear (DemoArgs *args)
{
  g_free (args->api);
  g_free (args->emulator);
  g_free (args->token);
  g_free (args->token_file);
  g_free (args->carriers);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (DemoArgs, demo_args_clear)

static int
run_demo (int    argc,
          char **argv)
{
  g_auto(DemoArgs) args = { NULL, NULL, NULL, NULL, NULL, 500, 100, 10, 0 };
  GOptionEntry entries[] = {
    { "api", 0, 0, G_OPTION_ARG_STRING, &args.api, "waybilld's API (http://127.0.0.1:8080)", "URL" },
    { "emulator", 0, 0, G_OPTION_ARG_STRING, &args.emulator, "The carrier emulator (http://127.0.0.1:8090)", "URL" },
    { "token", 0, 0, G_OPTION_ARG_STRING, &args.token, "A JWT with the dispatcher role", "JWT" },
    { "token-file", 0, 0, G_OPTION_ARG_FILENAME, &args.token_file, "Read that JWT from a file", "FILE" },
    { "count", 'c', 0, G_OPTION_ARG_INT, &args.count, "Track numbers in all, the carriers taking turns (500)", "N" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &args.batch, "Numbers a request, at most 1000 (100)", "B" },
    { "rps", 'r', 0, G_OPTION_ARG_DOUBLE, &args.rps, "Numbers per second; 0: as fast as answered (10)", "R" },
    { "carriers", 0, 0, G_OPTION_ARG_STRING, &args.carriers, "Carrier codes, comma-separated (CDEK,POST_RU)", "LIST" },
    { "step", 0, 0, G_OPTION_ARG_DOUBLE, &args.step, "Seconds each status lasts; 0: 5 to 14, spread (0)", "S" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new (NULL);
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) carriers = NULL;
  WbSimDemoOptions options = { 0 };
  WbSimTrackingsCounts counts = { 0 };
  gboolean ok;
  int status;

  g_option_context_set_summary (context, "The polling demo: plausible track numbers per carrier (POST_RU in the\n"
                                         "S10 format with its check digit), each seeded at the carrier emulator\n"
                                         "as a scenario (POST /v1/admin/seed), then added to POST /trackings in\n"
                                         "batches at the given rate, with a progress line.");
  g_option_context_add_main_entries (context, entries, NULL);
  if ((status = parse_command (context, "demo", &argc, &argv)) != 0)
    return status;
  set_default (&args.api, "http://127.0.0.1:8080");
  set_default (&args.emulator, "http://127.0.0.1:8090");
  set_default (&args.carriers, "CDEK,POST_RU");
  if (!g_uri_is_valid (args.api, G_URI_FLAGS_NONE, NULL))
    return usage_error ("demo", "--api “%s” is not a URL", args.api);
  if (!g_uri_is_valid (args.emulator, G_URI_FLAGS_NONE, NULL))
    return usage_error ("demo", "--emulator “%s” is not a URL", args.emulator);
  if (args.token && args.token_file)
    return usage_error ("demo", "--token and --token-file exclude each other");
  if (args.count < 1 || args.count > 1000000)
    return usage_error ("demo", "--count must be from 1 to 1000000");
  if (args.batch < 1 || args.batch > WB_SIM_TRACKINGS_MAX_BATCH)
    return usage_error ("demo", "--batch must be from 1 to 1000");
  if (!(args.rps >= 0 && args.rps <= 1e6))
    return usage_error ("demo", "--rps must be from 0 (as fast as answered) to 1000000 per second");
  if (!(args.step >= 0 && args.step <= 86400))
    return usage_error ("demo", "--step must be from 0 (5 to 14 s, spread) to 86400 seconds");
  carriers = g_strsplit (args.carriers, ",", -1);
  for (guint i = 0; carriers[i] != NULL; i++)
    if (!carrier_code_is_valid (g_strstrip (carriers[i])))
      return usage_error ("demo", "--carriers: “%s” is not a carrier code of letters, digits, _ and -", carriers[i]);
  if (carriers[0] == NULL)
    return usage_error ("demo", "--carriers names no carrier");
  if (args.token_file && (status = read_token_file (args.token_file, &args.token)) != 0)
    return status;
  options.api_url = args.api;
  options.emulator_url = args.emulator;
  options.token = args.token;
  options.carriers = (const char * const *) carriers;
  options.count = args.count;
  options.batch = args.batch;
  options.rate = args.rps;
  options.seed = g_random_int_range (0, 100000000);
  options.step = args.step;
  options.progress = TRUE;
  ok = wb_sim_demo_run (&options, &counts, &error);
  g_print ("demo: created %" G_GUINT64_FORMAT ", existing %" G_GUINT64_FORMAT ", rejected %" G_GUINT64_FORMAT "\n",
           counts.created, counts.existing, counts.rejected);
  if (!ok)
    g_printerr ("waybill-sim demo: %s\n", error->message);
  return ok && counts.rejected == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* ---- main ------------------------------------------------------------------- */

int
main (int    argc,
      char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;

  if (argc >= 2 && g_str_equal (argv[1], "fleet"))
    return run_fleet (argc - 1, argv + 1);
  if (argc >= 2 && g_str_equal (argv[1], "reference"))
    return run_reference (argc - 1, argv + 1);
  if (argc >= 2 && g_str_equal (argv[1], "drive"))
    return run_drive (argc - 1, argv + 1);
  if (argc >= 2 && g_str_equal (argv[1], "carriers"))
    return run_carriers (argc - 1, argv + 1);
  if (argc >= 2 && g_str_equal (argv[1], "trackings"))
    return run_trackings (argc - 1, argv + 1);
  if (argc >= 2 && g_str_equal (argv[1], "demo"))
    return run_demo (argc - 1, argv + 1);

  context = g_option_context_new ("COMMAND [OPTION…]");
  g_option_context_set_summary (context, "Commands:\n"
                                         "  reference   register a simulated fleet's companies, drivers, vehicles, devices\n"
                                         "  fleet       drive the vehicles and send their positions\n"
                                         "  drive       drive one vehicle along given stops (a file, or a trip)\n"
                                         "  carriers    serve the carrier emulator (for the polling demo)\n"
                                         "  trackings   add generated track numbers for waybilld to poll\n"
                                         "  demo        seed the carrier emulator and add its numbers (the polling demo)\n\n"
                                         "“waybill-sim COMMAND --help” describes a command's options.");
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return usage_error ("", "%s", error->message);
  if (argc < 2)
    return usage_error ("", "a command is needed: fleet, reference, drive, carriers, trackings or demo");
  return usage_error ("", "unknown command “%s”: fleet, reference, drive, carriers, trackings or demo", argv[1]);
}
