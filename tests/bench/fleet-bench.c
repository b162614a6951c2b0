// SPDX-License-Identifier: GPL-3.0-or-later
/* Fleet benchmark. Prints, for N positions a run:
 *
 *   1. positions per second from POST /telemetry (JSON arrays of --json-batch
 *      positions, --connections requests in flight) to committed rows of
 *      the positions table;
 *   2. the same through Teltonika TCP (Codec 8E frames of --frame-records,
 *      one connection per vehicle);
 *   3. PostgreSQL's own COPY (text format) of the same rows into a freshly
 *      migrated database, the baseline: after each pipeline run the rows it
 *      stored are read back (COPY TO) and copied into an empty table, with a
 *      COMMIT every --copy-batch rows (the daemon's fleet.batch-size by
 *      default, as the daemon commits). Teltonika rows carry their IO
 *      elements as attributes, so each protocol has its own baseline. A
 *      COPY of rows shaped like the simulator's JSON positions, committed
 *      every batch and all in one, is printed too, for reference.
 *
 * A pipeline run is timed from the simulator's start (its first request
 * follows within milliseconds) until waybill_fleet_positions_total{outcome=
 * "stored"} reaches N; the processor counts a batch only after its COMMIT,
 * and the table's count(*) is checked afterwards. Every run gets a fresh
 * database and a fresh daemon on the one embedded cluster; the three
 * measurements alternate within a run so that the machine's noise falls on
 * all of them. Medians of --runs.
 *
 * The load comes from waybill-sim (fleet --fast), the same client users
 * run; its CPU time is printed next to the daemon's so that a saturated
 * client shows. */

#include "config.h"

#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "wb-bench.h"
#include "wb-db.h"
#include "wb-embedded-postgres.h"
#include "wb-migrations.h"

#define DAEMON_BATCH_SIZE 2000   /* fleet.batch-size's default */

static int      runs = 5;
static int      n_positions = 100000;
static int      json_vehicles = 100;
static int      json_batch = 500;
static int      json_connections = 8;
static int      teltonika_vehicles = 50;
static int      frame_records = 50;
static int      copy_batch = 0;
static int      fleet_batch_size = 0;
static int      bus_queue_size = 0;
static char    *fleet_batch_linger = NULL;
static int      timeout_seconds = 300;

static GOptionEntry entries[] = {
  { "runs", 0, 0, G_OPTION_ARG_INT, &runs, "Runs per figure (median reported; 5)", "N" },
  { "positions", 'n', 0, G_OPTION_ARG_INT, &n_positions, "Positions per run (100000)", "N" },
  { "json-vehicles", 0, 0, G_OPTION_ARG_INT, &json_vehicles, "Vehicles sending JSON (100)", "V" },
  { "json-batch", 0, 0, G_OPTION_ARG_INT, &json_batch, "Positions per POST /telemetry (500)", "K" },
  { "connections", 0, 0, G_OPTION_ARG_INT, &json_connections, "JSON requests in flight (8)", "N" },
  { "teltonika-vehicles", 0, 0, G_OPTION_ARG_INT, &teltonika_vehicles,
    "Teltonika vehicles, one connection each (50)", "V" },
  { "frame-records", 0, 0, G_OPTION_ARG_INT, &frame_records, "Records per Codec 8E frame (50)", "K" },
  { "copy-batch", 0, 0, G_OPTION_ARG_INT, &copy_batch,
    "Rows per COPY transaction in the baseline (the daemon's fleet batch size)", "K" },
  { "fleet-batch-size", 0, 0, G_OPTION_ARG_INT, &fleet_batch_size, "Passed to waybilld (its default)", "N" },
  { "fleet-batch-linger", 0, 0, G_OPTION_ARG_STRING, &fleet_batch_linger, "Passed to waybilld (its default)", "D" },
  { "bus-queue-size", 0, 0, G_OPTION_ARG_INT, &bus_queue_size, "Passed to waybilld (its default)", "N" },
  { "timeout", 0, 0, G_OPTION_ARG_INT, &timeout_seconds, "Give up on a run after this long (300)", "S" },
  { NULL }
};

/* Seconds of CPU a process has used so far (utime + stime), from /proc. */
static double
process_cpu_seconds (const char *pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%s/stat", pid);
  g_autofree char *stat = NULL;
  g_auto(GStrv) fields = NULL;
  const char *after_name;

  if (pid == NULL || !g_file_get_contents (path, &stat, NULL, NULL))
    return 0;
  /* The name in parentheses may hold spaces; fields count from after it. */
  after_name = strrchr (stat, ')');
  fields = g_strsplit (after_name + 2, " ", 0);
  if (g_strv_length (fields) < 13)
    return 0;
  return (g_ascii_strtod (fields[11], NULL) + g_ascii_strtod (fields[12], NULL)) / sysconf (_SC_CLK_TCK);
}

static double
children_cpu_seconds (void)
{
  struct rusage usage;

  getrusage (RUSAGE_CHILDREN, &usage);
  return usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 + usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

/* CPU seconds of each of the cluster's server processes (the postmaster's
 * children), by pid: the backends serving the daemon live as long as it. */
static GHashTable *
postgres_cpu_snapshot (const char *postmaster_pid)
{
  GHashTable *cpu = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GDir) proc = g_dir_open ("/proc", 0, NULL);
  const char *pid;

  while (proc && (pid = g_dir_read_name (proc)) != NULL)
    {
      g_autofree char *path = g_strdup_printf ("/proc/%s/stat", pid);
      g_autofree char *stat = NULL;
      g_autofree char *needle = NULL;
      const char *after_name;
      double *seconds;

      if (!g_ascii_isdigit (pid[0]) || !g_file_get_contents (path, &stat, NULL, NULL)
          || (after_name = strrchr (stat, ')')) == NULL)
        continue;
      needle = g_strdup_printf (" %s ", postmaster_pid);
      /* Field 4, the parent, follows the state letter. */
      if (strncmp (after_name + 3, needle, strlen (needle)) != 0)
        continue;
      seconds = g_new (double, 1);
      *seconds = process_cpu_seconds (pid);
      g_hash_table_insert (cpu, g_strdup (pid), seconds);
    }
  return cpu;
}

static double
postgres_cpu_since (GHashTable *before,
                    const char *postmaster_pid)
{
  g_autoptr(GHashTable) after = postgres_cpu_snapshot (postmaster_pid);
  GHashTableIter iter;
  gpointer pid, seconds;
  double total = 0;

  g_hash_table_iter_init (&iter, after);
  while (g_hash_table_iter_next (&iter, &pid, &seconds))
    {
      double *earlier = g_hash_table_lookup (before, pid);

      total += *(double *) seconds - (earlier ? *earlier : 0);
    }
  return total;
}

static char *
read_postmaster_pid (const char *data_dir)
{
  g_autofree char *path = g_build_filename (data_dir, "postmaster.pid", NULL);
  g_autofree char *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    g_error ("Cannot read %s", path);
  return g_strndup (text, strcspn (text, "\n"));
}

/* The kernel's count of connections dropped because a listen queue was
 * full (all sockets of the host: other programs may add to it). */
static gint64
listen_overflows (void)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;

  if (!g_file_get_contents ("/proc/net/netstat", &text, NULL, NULL))
    return 0;
  lines = g_strsplit (text, "\n", 0);
  for (guint i = 0; lines[i] && lines[i + 1]; i++)
    if (g_str_has_prefix (lines[i], "TcpExt:") && g_str_has_prefix (lines[i + 1], "TcpExt:"))
      {
        g_auto(GStrv) names = g_strsplit (lines[i], " ", 0);
        g_auto(GStrv) values = g_strsplit (lines[i + 1], " ", 0);

        for (guint j = 0; names[j] && values[j]; j++)
          if (g_str_equal (names[j], "ListenOverflows"))
            return g_ascii_strtoll (values[j], NULL, 10);
      }
  return 0;
}

static guint
free_port (void)
{
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  if (socket == NULL || !g_socket_bind (socket, any, FALSE, NULL))
    g_error ("Cannot find a free loopback port");
  bound = g_socket_get_local_address (socket, NULL);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

/* ---- the database ---------------------------------------------------------- */

static WbEmbeddedPostgres *cluster;
static PGconn             *admin;

static void
exec_or_die (PGconn     *conn,
             const char *sql)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PGresult) result = wb_db_exec (conn, sql, NULL, 0, NULL, &error);

  if (result == NULL)
    g_error ("%s: %s", sql, error->message);
}

/* A fresh, empty database; returns its conninfo. */
static char *
database_create (const char *name)
{
  g_autofree char *drop = g_strdup_printf ("DROP DATABASE IF EXISTS %s", name);
  g_autofree char *create = g_strdup_printf ("CREATE DATABASE %s", name);

  exec_or_die (admin, drop);
  exec_or_die (admin, create);
  return wb_embedded_postgres_dup_conninfo (cluster, name);
}

static void
database_drop (const char *name)
{
  g_autofree char *drop = g_strdup_printf ("DROP DATABASE IF EXISTS %s", name);

  exec_or_die (admin, drop);
}

static gint64
count_positions (const char *conninfo)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PGconn) conn = wb_db_connect (conninfo, &error);
  g_autoptr(PGresult) result = NULL;

  if (conn == NULL)
    g_error ("%s", error->message);
  result = wb_db_exec (conn, "SELECT count(*) FROM positions", NULL, 0, NULL, &error);
  if (result == NULL)
    g_error ("count(*): %s", error->message);
  return g_ascii_strtoll (PQgetvalue (result, 0, 0), NULL, 10);
}

/* ---- the daemon ---------------------------------------------------------- */

/* Returns: (transfer full): waybilld's options beyond the common ones,
 * NULL-terminated. */
static GPtrArray *
daemon_arguments (guint teltonika_port)
{
  GPtrArray *args = g_ptr_array_new_with_free_func (g_free);

  g_ptr_array_add (args, g_strdup ("--max-connections-per-peer=10000"));
  g_ptr_array_add (args, g_strdup ("--max-connections=10000"));
  g_ptr_array_add (args, g_strdup_printf ("--teltonika-port=%u", teltonika_port));
  if (fleet_batch_size > 0)
    g_ptr_array_add (args, g_strdup_printf ("--fleet-batch-size=%d", fleet_batch_size));
  if (fleet_batch_linger != NULL)
    g_ptr_array_add (args, g_strdup_printf ("--fleet-batch-linger=%s", fleet_batch_linger));
  if (bus_queue_size > 0)
    g_ptr_array_add (args, g_strdup_printf ("--bus-queue-size=%d", bus_queue_size));
  g_ptr_array_add (args, NULL);
  return args;
}

static WbBenchDaemon *
daemon_start (const char *conninfo,
              guint       teltonika_port)
{
  g_autoptr(GPtrArray) args = daemon_arguments (teltonika_port);

  return wb_bench_daemon_start (conninfo, (const char * const *) args->pdata);
}

/* ---- HTTP helpers -------------------------------------------------------- */

static SoupSession *session;

static guint
http_get (guint        port,
          const char  *path,
          char       **out_body)
{
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u%s", port, path);
  g_autoptr(SoupMessage) message = soup_message_new ("GET", uri);
  g_autoptr(GBytes) answer = soup_session_send_and_read (session, message, NULL, NULL);

  if (out_body)
    *out_body = answer ? g_strndup (g_bytes_get_data (answer, NULL), g_bytes_get_size (answer)) : NULL;
  return soup_message_get_status (message);
}

/* One sample of /metrics: @series is the whole name with its labels. */
static double
metric (const char *metrics,
        const char *series)
{
  g_autofree char *prefix = g_strconcat ("\n", series, " ", NULL);
  const char *at = metrics ? strstr (metrics, prefix) : NULL;

  return at ? g_ascii_strtod (at + strlen (prefix), NULL) : 0;
}

typedef struct
{
  double stored;
  double batches;
  double accepted;
} FleetCounters;

static FleetCounters
fleet_counters (guint       port,
                const char *protocol)
{
  g_autofree char *text = NULL;
  g_autofree char *accepted = g_strdup_printf ("waybill_positions_accepted_total{protocol=\"%s\"}", protocol);
  FleetCounters counters;

  if (http_get (port, "/metrics", &text) != 200)
    g_error ("GET /metrics failed");
  counters.stored = metric (text, "waybill_fleet_positions_total{outcome=\"stored\"}");
  counters.batches = metric (text, "waybill_fleet_batches_total");
  counters.accepted = metric (text, accepted);
  return counters;
}

/* ---- the simulator ------------------------------------------------------- */

static const char *
simulator (void)
{
  const char *binary = g_getenv ("WAYBILL_SIM");

  if (binary == NULL)
    g_error ("Set WAYBILL_SIM to the waybill-sim binary (meson test --benchmark does)");
  return binary;
}

static void
register_devices (guint       port,
                  const char *protocol,
                  int         vehicles)
{
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u", port);
  g_autofree char *count = g_strdup_printf ("%d", vehicles);
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) sim = NULL;
  g_autofree char *out = NULL;

  sim = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE, &error,
                          simulator (), "reference", "--vehicles", count, "--protocol", protocol,
                          "--url", url, NULL);
  if (sim == NULL || !g_subprocess_communicate_utf8 (sim, NULL, NULL, &out, NULL, &error))
    g_error ("waybill-sim reference: %s", error->message);
  if (!g_subprocess_get_if_exited (sim) || g_subprocess_get_exit_status (sim) != 0)
    g_error ("waybill-sim reference failed:\n%s", out ? out : "");
}

typedef struct
{
  gboolean done;
  gint64   finished;   /* monotonic µs */
} SimWait;

static void
sim_exited (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  SimWait *wait = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  wait->finished = g_get_monotonic_time ();
  wait->done = TRUE;
}

static GSubprocess *
sim_fleet_start (guint        port,
                 guint        teltonika_port,
                 const char  *protocol,
                 const char  *out_path,
                 SimWait     *wait)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_MERGE);
  gboolean json = g_str_equal (protocol, "json");
  int vehicles = json ? json_vehicles : teltonika_vehicles;
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u", port);
  g_autofree char *teltonika = g_strdup_printf ("127.0.0.1:%u", teltonika_port);
  g_autofree char *vehicles_arg = g_strdup_printf ("%d", vehicles);
  g_autofree char *count = g_strdup_printf ("%d", n_positions / vehicles);
  g_autofree char *batch = g_strdup_printf ("%d", json ? json_batch : frame_records);
  g_autofree char *connections = g_strdup_printf ("%d", json_connections);
  g_autoptr(GError) error = NULL;
  GSubprocess *sim;

  g_subprocess_launcher_set_stdout_file_path (launcher, out_path);
  sim = g_subprocess_launcher_spawn (launcher, &error, simulator (), "fleet", "--fast", "--protocol", protocol,
                                     "--vehicles", vehicles_arg, "--count", count, "--batch", batch,
                                     "--connections", connections, "--url", url, "--teltonika", teltonika,
                                     NULL);
  if (sim == NULL)
    g_error ("waybill-sim fleet: %s", error->message);
  g_subprocess_wait_async (sim, NULL, sim_exited, wait);
  return sim;
}

/* What the simulator printed: its summary ("fleet: 10.4 s, sent ..."),
 * refusal lines, and any complaint on stderr before them, indented. */
static char *
sim_summary (const char *out_path)
{
  g_autofree char *out = NULL;
  g_auto(GStrv) lines = NULL;

  if (!g_file_get_contents (out_path, &out, NULL, NULL))
    return g_strdup ("(no output)");
  lines = g_strsplit (g_strchomp (out), "\n", 0);
  return g_strjoinv ("\n      ", lines);
}

/* ---- one pipeline run ------------------------------------------------------- */

typedef struct
{
  double seconds;        /* first request → N committed */
  double sim_seconds;    /* first request → the simulator's exit (all accepted) */
  double batches;
  double daemon_cpu;
  double sim_cpu;
  double postgres_cpu;
  gint64 listen_overflows;
  char  *summary;
  GPtrArray *rows;           /* what it stored, as COPY text lines */
  gint64     first_day;
  gint64     last_day;
} PipelineRun;

static void
wait_stored (guint         port,
             const char   *protocol,
             gint64        deadline,
             SimWait      *wait)
{
  for (;;)
    {
      FleetCounters counters = fleet_counters (port, protocol);

      while (g_main_context_iteration (NULL, FALSE))
        ;
      if (counters.stored >= n_positions)
        return;
      if (g_get_monotonic_time () > deadline)
        g_error ("%s run: only %.0f of %d positions stored after %d s (%.0f accepted)", protocol,
                 counters.stored, n_positions, timeout_seconds, counters.accepted);
      g_usleep (20 * 1000);
    }
}

static const char *postgres_pid;

#define POSITION_COLUMNS \
  "device_id, device_time, server_time, vehicle_id, driver_id, company_id, protocol, lat, lon, speed_kmh," \
  " heading, altitude, accuracy, ignition, fuel, odometer, attributes"

/* The rows a pipeline stored, as COPY text, and the days they span. */
static GPtrArray *
export_rows (const char *conninfo,
             gint64     *out_first_day,
             gint64     *out_last_day)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PGconn) conn = wb_db_connect (conninfo, &error);
  g_autoptr(PGresult) started = NULL;
  g_autoptr(PGresult) days = NULL;
  GPtrArray *rows = g_ptr_array_new_with_free_func (g_free);
  char *line;
  int length;

  if (conn == NULL)
    g_error ("%s", error->message);
  started = PQexec (conn, "COPY (SELECT " POSITION_COLUMNS " FROM positions ORDER BY device_time) TO STDOUT");
  if (PQresultStatus (started) != PGRES_COPY_OUT)
    g_error ("COPY TO: %s", PQerrorMessage (conn));
  while ((length = PQgetCopyData (conn, &line, 0)) > 0)
    {
      g_ptr_array_add (rows, g_strndup (line, length));
      PQfreemem (line);
    }
  for (PGresult *rest; (rest = PQgetResult (conn)) != NULL;)
    PQclear (rest);
  days = wb_db_exec (conn, "SELECT floor(extract(epoch FROM min(device_time)) / 86400)::bigint,"
                           " floor(extract(epoch FROM max(device_time)) / 86400)::bigint FROM positions",
                     NULL, 0, NULL, &error);
  if (days == NULL)
    g_error ("days: %s", error->message);
  *out_first_day = g_ascii_strtoll (PQgetvalue (days, 0, 0), NULL, 10);
  *out_last_day = g_ascii_strtoll (PQgetvalue (days, 0, 1), NULL, 10);
  return rows;
}

static PipelineRun
pipeline_run (const char *protocol,
              int         run)
{
  g_autoptr(GHashTable) postgres_cpu = NULL;
  gint64 overflows;
  g_autofree char *name = g_strdup_printf ("fleet_bench_%s_%d", protocol, run);
  g_autofree char *conninfo = database_create (name);
  g_autofree char *out_name = g_strdup_printf ("sim-%s-%d.out", protocol, run);
  /* Beside the cluster's data: removed with it at exit. */
  g_autofree char *state = g_path_get_dirname (wb_embedded_postgres_get_data_dir (cluster));
  g_autofree char *out_path = g_build_filename (state, out_name, NULL);
  gboolean json = g_str_equal (protocol, "json");
  guint teltonika_port = free_port ();
  g_autoptr(GSubprocess) sim = NULL;
  SimWait wait = { 0 };
  PipelineRun result = { 0 };
  const char *pid;
  double daemon_cpu, sim_cpu;
  gint64 start, count;
  WbBenchDaemon *d;

  d = daemon_start (conninfo, teltonika_port);
  wb_bench_wait_ready (d->port);
  register_devices (d->port, protocol, json ? json_vehicles : teltonika_vehicles);

  pid = g_subprocess_get_identifier (d->process);
  daemon_cpu = process_cpu_seconds (pid);
  sim_cpu = children_cpu_seconds ();
  postgres_cpu = postgres_cpu_snapshot (postgres_pid);
  overflows = listen_overflows ();
  start = g_get_monotonic_time ();
  sim = sim_fleet_start (d->port, teltonika_port, protocol, out_path, &wait);
  wait_stored (d->port, protocol, start + timeout_seconds * G_USEC_PER_SEC, &wait);
  result.seconds = (g_get_monotonic_time () - start) / 1e6;
  result.daemon_cpu = process_cpu_seconds (pid) - daemon_cpu;
  result.postgres_cpu = postgres_cpu_since (postgres_cpu, postgres_pid);

  while (!wait.done)
    g_main_context_iteration (NULL, TRUE);
  result.sim_seconds = (wait.finished - start) / 1e6;
  result.sim_cpu = children_cpu_seconds () - sim_cpu;
  result.listen_overflows = listen_overflows () - overflows;
  result.batches = fleet_counters (d->port, protocol).batches;
  result.summary = sim_summary (out_path);
  if (g_subprocess_get_exit_status (sim) != 0)
    g_error ("waybill-sim fleet failed: %s", result.summary);

  count = count_positions (conninfo);
  if (count != n_positions)
    g_error ("%s run: positions holds %" G_GINT64_FORMAT " rows, not %d", protocol, count, n_positions);
  result.rows = export_rows (conninfo, &result.first_day, &result.last_day);
  wb_bench_daemon_stop (d);
  database_drop (name);
  g_unlink (out_path);
  return result;
}

/* ---- the COPY baseline --------------------------------------------------------- */

/* COPY text of N rows shaped as the simulator's: per vehicle a device,
 * positions 1 s apart ending a minute ago, the vehicle, driver and company
 * the daemon would join, the attributes the pipeline stores for JSON. */
static GPtrArray *
copy_rows (int     vehicles,
           int     per_vehicle,
           gint64 *out_first_day,
           gint64 *out_last_day)
{
  GPtrArray *rows = g_ptr_array_new_with_free_func (g_free);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  gint64 first = now - 60 - per_vehicle;
  g_autoptr(GDateTime) server_time = g_date_time_new_from_unix_utc (now);
  g_autofree char *server = g_date_time_format (server_time, "%Y-%m-%d %H:%M:%S+00");

  for (int k = 0; k < per_vehicle; k++)
    for (int v = 1; v <= vehicles; v++)
      {
        g_autoptr(GDateTime) time = g_date_time_new_from_unix_utc (first + k);
        g_autofree char *device_time = g_date_time_format (time, "%Y-%m-%d %H:%M:%S+00");

        g_ptr_array_add (rows, g_strdup_printf (
          "sim-%04d\t%s\t%s\tsim-vehicle-%04d\tsim-driver-%04d\tsim-company-%02d\tjson\t"
          "%.6f\t%.6f\t%.1f\t%.0f\t%.0f\t%.0f\tt\t%.1f\t%.0f\t{}\n",
          v, device_time, server, v, v, (v - 1) / 50 + 1,
          53.9 + (v % 50) * 0.001 + k * 0.00001, 27.56 + (v / 50) * 0.001 + k * 0.00001,
          (double) ((v + k) % 60), (double) ((k * 7) % 360), 220.0 + v % 10, 5.0,
          60.0 - k * 0.001, 10000.0 + k * 10));
      }
  *out_first_day = first / 86400;
  *out_last_day = (first + per_vehicle) / 86400;
  return rows;
}

static void
copy_prepare (const char *conninfo,
              gint64      first_day,
              gint64      last_day,
              PGconn    **out_conn)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PGconn) conn = wb_db_connect (conninfo, &error);

  if (conn == NULL || !wb_migrations_apply (conn, NULL, &error))
    g_error ("COPY database: %s", error->message);
  for (gint64 day = first_day; day <= last_day; day++)
    {
      g_autoptr(GDateTime) date = g_date_time_new_from_unix_utc (day * 86400);
      g_autofree char *sql = g_date_time_format (date, "SELECT waybill_positions_ensure_partition('%Y-%m-%d')");

      exec_or_die (conn, sql);
    }
  *out_conn = g_steal_pointer (&conn);
}

/* One transaction: BEGIN, COPY of rows [from, to), COMMIT. */
static void
copy_transaction (PGconn    *conn,
                  GPtrArray *rows,
                  guint      from,
                  guint      to)
{
  g_autoptr(PGresult) started = NULL;
  g_autoptr(PGresult) copied = NULL;
  GString *chunk = g_string_sized_new (256 * 1024);

  exec_or_die (conn, "BEGIN");
  started = PQexec (conn, "COPY positions (" POSITION_COLUMNS ") FROM STDIN");
  if (PQresultStatus (started) != PGRES_COPY_IN)
    g_error ("COPY: %s", PQerrorMessage (conn));
  for (guint i = from; i < to; i++)
    {
      g_string_append (chunk, g_ptr_array_index (rows, i));
      if (chunk->len >= 256 * 1024 || i + 1 == to)
        {
          if (PQputCopyData (conn, chunk->str, (int) chunk->len) != 1)
            g_error ("PQputCopyData: %s", PQerrorMessage (conn));
          g_string_truncate (chunk, 0);
        }
    }
  g_string_free (chunk, TRUE);
  if (PQputCopyEnd (conn, NULL) != 1)
    g_error ("PQputCopyEnd: %s", PQerrorMessage (conn));
  copied = PQgetResult (conn);
  if (PQresultStatus (copied) != PGRES_COMMAND_OK)
    g_error ("COPY: %s", PQerrorMessage (conn));
  for (PGresult *rest; (rest = PQgetResult (conn)) != NULL;)
    PQclear (rest);
  exec_or_die (conn, "COMMIT");
}

/* Seconds to COPY @rows into a fresh database, @batch rows a transaction
 * (0: all in one). */
static double
copy_run (GPtrArray  *rows,
          gint64      first_day,
          gint64      last_day,
          guint       batch,
          const char *name)
{
  g_autofree char *conninfo = database_create (name);
  g_autoptr(PGconn) conn = NULL;
  gint64 start;
  double seconds;

  copy_prepare (conninfo, first_day, last_day, &conn);
  if (batch == 0)
    batch = rows->len;
  start = g_get_monotonic_time ();
  for (guint from = 0; from < rows->len; from += batch)
    copy_transaction (conn, rows, from, MIN (from + batch, rows->len));
  seconds = (g_get_monotonic_time () - start) / 1e6;
  g_clear_pointer (&conn, PQfinish);
  if (count_positions (conninfo) != rows->len)
    g_error ("COPY stored the wrong number of rows");
  database_drop (name);
  return seconds;
}

/* ---- the report ---------------------------------------------------------------- */

static void
print_pipeline_run (const char  *label,
                    int          run,
                    PipelineRun *r)
{
  g_print ("  run %d %-9s %7.2f s  %8.0f rows/s   (simulator done at %.2f s; %.0f batches, avg %.0f;"
           " CPU s: daemon %.1f, PostgreSQL %.1f, simulator %.1f; listen overflows %" G_GINT64_FORMAT ")\n",
           run + 1, label, r->seconds, n_positions / r->seconds, r->sim_seconds, r->batches,
           r->batches > 0 ? n_positions / r->batches : 0.0, r->daemon_cpu, r->postgres_cpu, r->sim_cpu,
           r->listen_overflows);
  g_print ("      %s\n", r->summary);
}

static void
print_daemon_settings (void)
{
  g_autofree char *batch_size = fleet_batch_size > 0 ? g_strdup_printf ("%d", fleet_batch_size)
                                                     : g_strdup ("default (2000)");
  g_autofree char *queue_size = bus_queue_size > 0 ? g_strdup_printf ("%d", bus_queue_size)
                                                   : g_strdup ("default (4096)");

  g_print ("  daemon:    fleet.batch-size %s, fleet.batch-linger %s, bus.queue-size %s\n\n", batch_size,
           fleet_batch_linger ? fleet_batch_linger : "default (20ms)", queue_size);
}

static void
check_options (void)
{
  if (runs < 1 || n_positions < 1 || json_vehicles < 1 || teltonika_vehicles < 1 || json_batch < 1
      || frame_records < 1 || frame_records > 255 || copy_batch < 0 || json_connections < 1)
    g_error ("Invalid option value");
  if (n_positions % json_vehicles != 0 || n_positions % teltonika_vehicles != 0)
    g_error ("--positions must be a multiple of --json-vehicles and --teltonika-vehicles");
  if (n_positions / MIN (json_vehicles, teltonika_vehicles) > 6 * 86400)
    g_error ("Too many positions per vehicle: they would be older than the daemon's 7 days");
  if (copy_batch == 0)
    copy_batch = fleet_batch_size > 0 ? fleet_batch_size : DAEMON_BATCH_SIZE;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) options = g_option_context_new ("— Waybill fleet ingestion benchmark");
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GArray) json_rates = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) json_ratios = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) teltonika_ratios = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) teltonika_rates = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) copy_rates = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) copy_one_rates = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) json_copy_rates = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) teltonika_copy_rates = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) json_batches = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) teltonika_batches = g_array_new (FALSE, FALSE, sizeof (double));
  double json_rate, teltonika_rate, copy_rate;
  gint64 first_day, last_day;

  g_option_context_add_main_entries (options, entries, NULL);
  if (!g_option_context_parse (options, &argc, &argv, &error))
    g_error ("%s", error->message);
  check_options ();

  cluster = wb_bench_cluster_start ();
  postgres_pid = read_postmaster_pid (wb_embedded_postgres_get_data_dir (cluster));
  admin = wb_db_connect (wb_embedded_postgres_get_conninfo (cluster), &error);
  if (admin == NULL)
    g_error ("PostgreSQL: %s", error->message);
  session = soup_session_new_with_options ("timeout", 60, NULL);

  rows = copy_rows (json_vehicles, n_positions / json_vehicles, &first_day, &last_day);
  g_print ("Fleet ingestion: N = %d positions a run, %d runs, %u cores\n", n_positions, runs,
           g_get_num_processors ());
  g_print ("  json:      waybill-sim fleet --fast, %d vehicles, %d positions a POST /telemetry, %d in flight\n",
           json_vehicles, json_batch, json_connections);
  g_print ("  teltonika: waybill-sim fleet --fast, %d vehicles (a TCP connection each), %d records a Codec 8E frame\n",
           teltonika_vehicles, frame_records);
  g_print ("  COPY:      libpq PQputCopyData, text format, %d rows a transaction (the daemon's fleet batch size);"
           " also all %d rows in one\n", copy_batch, n_positions);
  print_daemon_settings ();

  for (int r = 0; r < runs; r++)
    {
      g_autofree char *copy_name = g_strdup_printf ("fleet_bench_copy_%d", r);
      double copy_seconds = copy_run (rows, first_day, last_day, copy_batch, copy_name);
      double copy_one_seconds = copy_run (rows, first_day, last_day, 0, copy_name);
      PipelineRun json = pipeline_run ("json", r);
      double json_copy_seconds = copy_run (json.rows, json.first_day, json.last_day, copy_batch, copy_name);
      PipelineRun teltonika = pipeline_run ("teltonika", r);
      double teltonika_copy_seconds = copy_run (teltonika.rows, teltonika.first_day, teltonika.last_day,
                                                copy_batch, copy_name);
      double rate;

      g_print ("  run %d COPY      %7.2f s  %8.0f rows/s   (simulator-shaped rows; one transaction: %.2f s, "
               "%.0f rows/s)\n", r + 1, copy_seconds, n_positions / copy_seconds, copy_one_seconds,
               n_positions / copy_one_seconds);
      print_pipeline_run ("json", r, &json);
      g_print ("  run %d COPY of the json rows it stored:      %7.2f s  %8.0f rows/s\n", r + 1, json_copy_seconds,
               n_positions / json_copy_seconds);
      print_pipeline_run ("teltonika", r, &teltonika);
      g_print ("  run %d COPY of the teltonika rows it stored: %7.2f s  %8.0f rows/s\n", r + 1,
               teltonika_copy_seconds, n_positions / teltonika_copy_seconds);

      rate = n_positions / copy_seconds;
      g_array_append_val (copy_rates, rate);
      rate = n_positions / copy_one_seconds;
      g_array_append_val (copy_one_rates, rate);
      rate = n_positions / json.seconds;
      g_array_append_val (json_rates, rate);
      rate = n_positions / teltonika.seconds;
      g_array_append_val (teltonika_rates, rate);
      rate = n_positions / json_copy_seconds;
      g_array_append_val (json_copy_rates, rate);
      rate = n_positions / teltonika_copy_seconds;
      g_array_append_val (teltonika_copy_rates, rate);
      rate = json_copy_seconds / json.seconds;
      g_array_append_val (json_ratios, rate);
      rate = teltonika_copy_seconds / teltonika.seconds;
      g_array_append_val (teltonika_ratios, rate);
      g_array_append_val (json_batches, json.batches);
      g_array_append_val (teltonika_batches, teltonika.batches);
      g_free (json.summary);
      g_free (teltonika.summary);
      g_ptr_array_unref (json.rows);
      g_ptr_array_unref (teltonika.rows);
    }

  json_rate = wb_bench_median (json_rates);
  teltonika_rate = wb_bench_median (teltonika_rates);
  copy_rate = wb_bench_median (copy_rates);
  g_print ("\nRESULTS (N = %d, medians of %d runs, %u cores)\n", n_positions, runs, g_get_num_processors ());
  g_print ("  POST /telemetry -> committed:       %8.0f rows/s   %.0f batches (avg %.0f positions)\n", json_rate,
           wb_bench_median (json_batches), n_positions / wb_bench_median (json_batches));
  g_print ("  COPY of the same rows (%d/txn):    %8.0f rows/s\n", copy_batch, wb_bench_median (json_copy_rates));
  g_print ("  Teltonika 8E -> committed:          %8.0f rows/s   %.0f batches (avg %.0f positions)\n",
           teltonika_rate, wb_bench_median (teltonika_batches), n_positions / wb_bench_median (teltonika_batches));
  g_print ("  COPY of the same rows (%d/txn):    %8.0f rows/s\n", copy_batch, wb_bench_median (teltonika_copy_rates));
  /* Each run's pipeline and the COPY of its rows ran back to back, so the
   * machine's noise of the moment falls on both: the median of those
   * ratios is the figure; the ratio of the medians is shown next to it. */
  g_print ("  ratio json / COPY of its rows:      %8.2f   (goal >= 0.5; median of the runs' ratios;"
           " ratio of the medians %.2f)\n", wb_bench_median (json_ratios),
           json_rate / wb_bench_median (json_copy_rates));
  g_print ("  ratio teltonika / COPY of its rows: %8.2f   (goal >= 0.5; median of the runs' ratios;"
           " ratio of the medians %.2f)\n", wb_bench_median (teltonika_ratios),
           teltonika_rate / wb_bench_median (teltonika_copy_rates));
  g_print ("  for reference, COPY of simulator-shaped rows: %.0f rows/s (%d/txn), %.0f rows/s (one transaction);"
           " json / that: %.2f, teltonika / that: %.2f\n", copy_rate, copy_batch, wb_bench_median (copy_one_rates),
           json_rate / copy_rate, teltonika_rate / copy_rate);

  g_object_unref (session);
  g_clear_pointer (&admin, PQfinish);
  wb_embedded_postgres_stop (cluster, NULL);
  g_clear_object (&cluster);
  return 0;
}
