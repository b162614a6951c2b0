// SPDX-License-Identifier: GPL-3.0-or-later
/* Kafka benchmark: status messages per second from a Kafka topic to
 * committed database rows, next to a plain librdkafka consumer reading the
 * same topic with no processing. The ratio is the figure.
 *
 * The brokers are librdkafka's mock cluster in this process; PostgreSQL is
 * an embedded cluster. Each run gets a fresh database, topic prefix and
 * consumer group: M shipments are created through TICKET_CREATED by a first
 * daemon, which is then stopped; N TRACKING_EVENT messages (keyed by track
 * number, N/M a shipment) are produced and flushed; then
 *
 *   - waybilld --roles=tracker is started and timed from its spawn until
 *     SELECT count(*) of those events in shipment_events reaches N (rows are
 *     visible only once committed);
 *   - a plain consumer in a fresh group reads the topic from the beginning
 *     and is timed from its creation until it has N messages.
 *
 * Both figures include the group join (seconds on the mock), so each is
 * also given from the first message (row) to the last. Medians of --runs. */

#include "config.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>

#include "wb-daemon-bus.h"
#include "wb-bench.h"
#include "wb-db.h"
#include "wb-embedded-postgres.h"
#include "wb-kafka-dev.h"
#include "wb-kafka-private.h"
#include "wb-migrations.h"

static int runs = 3;
static int n_messages = 100000;
static int n_shipments = 100;
static int partitions = 6;
static int timeout_seconds = 300;

static GOptionEntry entries[] = {
  { "runs", 0, 0, G_OPTION_ARG_INT, &runs, "Runs per figure (median reported; 3)", "N" },
  { "messages", 'n', 0, G_OPTION_ARG_INT, &n_messages, "TRACKING_EVENT messages a run (100000)", "N" },
  { "shipments", 0, 0, G_OPTION_ARG_INT, &n_shipments, "Shipments the events are spread over (100)", "M" },
  { "partitions", 0, 0, G_OPTION_ARG_INT, &partitions, "Partitions of every topic (6)", "P" },
  { "timeout", 0, 0, G_OPTION_ARG_INT, &timeout_seconds, "Give up on a run after this long (300)", "S" },
  { NULL }
};

static WbKafkaDev         *dev;
static rd_kafka_t         *producer;
static WbEmbeddedPostgres *cluster;
static PGconn             *admin;

static double
seconds_since (gint64 start_us)
{
  return (g_get_monotonic_time () - start_us) / 1e6;
}

/* ---- the database ------------------------------------------------------------ */

static PGresult *
exec_or_die (PGconn     *conn,
             const char *sql)
{
  g_autoptr(GError) error = NULL;
  PGresult *result = wb_db_exec (conn, sql, NULL, 0, NULL, &error);

  if (result == NULL)
    g_error ("%s: %s", sql, error->message);
  return result;
}

static gint64
query_count (PGconn     *conn,
             const char *sql)
{
  g_autoptr(PGresult) result = exec_or_die (conn, sql);

  return g_ascii_strtoll (PQgetvalue (result, 0, 0), NULL, 10);
}

/* A fresh database with the schema; returns its conninfo. */
static char *
database_create (const char *name)
{
  g_autofree char *drop = g_strdup_printf ("DROP DATABASE IF EXISTS %s", name);
  g_autofree char *create = g_strdup_printf ("CREATE DATABASE %s", name);
  g_autoptr(GError) error = NULL;
  g_autoptr(PGconn) conn = NULL;
  char *conninfo;

  PQclear (exec_or_die (admin, drop));
  PQclear (exec_or_die (admin, create));
  conninfo = wb_embedded_postgres_dup_conninfo (cluster, name);
  conn = wb_db_connect (conninfo, &error);
  if (conn == NULL || !wb_migrations_apply (conn, NULL, &error))
    g_error ("%s: %s", name, error->message);
  return conninfo;
}

/* ---- Kafka ---------------------------------------------------------------------- */

static void
set_or_die (rd_kafka_conf_t *conf,
            const char      *name,
            const char      *value)
{
  char errstr[512];

  if (rd_kafka_conf_set (conf, name, value, errstr, sizeof errstr) != RD_KAFKA_CONF_OK)
    g_error ("%s: %s", name, errstr);
}

static void
on_delivery (rd_kafka_t               *rk,
             const rd_kafka_message_t *message,
             void                     *opaque)
{
  if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR)
    g_error ("delivery failed: %s", rd_kafka_err2str (message->err));
}

static rd_kafka_t *
producer_new (void)
{
  g_autoptr(rd_kafka_conf_t) conf = rd_kafka_conf_new ();
  char errstr[512];
  rd_kafka_t *rk;

  set_or_die (conf, "bootstrap.servers", wb_kafka_dev_get_bootstrap_servers (dev));
  set_or_die (conf, "linger.ms", "20");
  set_or_die (conf, "enable.idempotence", "true");
  rd_kafka_conf_set_dr_msg_cb (conf, on_delivery);
  rd_kafka_conf_set_log_cb (conf, _wb_kafka_log_cb);
  rk = rd_kafka_new (RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (rk == NULL)
    g_error ("producer: %s", errstr);
  g_steal_pointer (&conf);
  return rk;
}

static void
produce (const char *topic,
         const char *key,
         const char *payload)
{
  rd_kafka_resp_err_t err;

  while ((err = rd_kafka_producev (producer, RD_KAFKA_V_TOPIC (topic), RD_KAFKA_V_KEY (key, strlen (key)),
                                   RD_KAFKA_V_VALUE ((void *) payload, strlen (payload)),
                                   RD_KAFKA_V_MSGFLAGS (RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END))
         == RD_KAFKA_RESP_ERR__QUEUE_FULL)
    rd_kafka_poll (producer, 10);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    g_error ("produce to %s: %s", topic, rd_kafka_err2str (err));
  rd_kafka_poll (producer, 0);
}

static void
produce_flush (void)
{
  if (rd_kafka_flush (producer, 120000) != RD_KAFKA_RESP_ERR_NO_ERROR)
    g_error ("messages still queued after two minutes");
}

static void
create_topics (const char *prefix)
{
  g_autoptr(GError) error = NULL;

  for (guint i = 0; wb_daemon_topics[i] != NULL; i++)
    {
      g_autofree char *name = g_strconcat (prefix, wb_daemon_topics[i], NULL);

      if (!wb_kafka_dev_create_topic (dev, name, partitions, &error))
        g_error ("%s", error->message);
    }
  for (guint i = 0; wb_daemon_consumed_topics[i] != NULL; i++)
    {
      g_autofree char *name = g_strconcat (prefix, wb_daemon_consumed_topics[i], ".dlq", NULL);

      if (!wb_kafka_dev_create_topic (dev, name, partitions, &error))
        g_error ("%s", error->message);
    }
}

/* ---- the daemon -------------------------------------------------------------------- */

static GSubprocess *
daemon_start (const char *conninfo,
              const char *prefix,
              const char *group,
              const char *log_path)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_autoptr(GError) error = NULL;
  g_autofree char *prefix_arg = g_strconcat ("--kafka-topic-prefix=", prefix, NULL);
  g_autofree char *partitions_arg = g_strdup_printf ("--kafka-topic-partitions=%d", partitions);
  const char *binary = g_getenv ("WAYBILLD");
  GSubprocess *process;

  if (binary == NULL)
    g_error ("Set WAYBILLD to the waybilld binary (meson test --benchmark does)");
  g_subprocess_launcher_setenv (launcher, "DB_DSN", conninfo, TRUE);
  g_subprocess_launcher_setenv (launcher, "KAFKA_BROKERS", wb_kafka_dev_get_bootstrap_servers (dev), TRUE);
  g_subprocess_launcher_setenv (launcher, "KAFKA_GROUPID", group, TRUE);
  g_subprocess_launcher_setenv (launcher, "SERVER_PORT", "0", TRUE);
  g_subprocess_launcher_unsetenv (launcher, "AUTH_HS256SECRET");
  g_subprocess_launcher_unsetenv (launcher, "REDPANDA_BROKERS");
  g_subprocess_launcher_set_stderr_file_path (launcher, log_path);
  process = g_subprocess_launcher_spawn (launcher, &error, binary, "--log-level=message", "--roles=tracker",
                                         "--osmand-port=0", "--teltonika-port=0", "--kafka-missing-topics=create",
                                         prefix_arg, partitions_arg, NULL);
  if (process == NULL)
    g_error ("Cannot start %s: %s", binary, error->message);
  return process;
}

static void
daemon_stop (GSubprocess *process)
{
  g_subprocess_send_signal (process, SIGTERM);
  g_subprocess_wait (process, NULL, NULL);
  g_object_unref (process);
}

/* Polls @sql until it reaches @want; fills the times of the first non-zero
 * answer and of the last, in seconds since @start_us. */
static void
wait_count (PGconn     *conn,
            const char *sql,
            gint64      want,
            gint64      start_us,
            double     *first,
            double     *last,
            const char *log_path)
{
  gint64 deadline = start_us + (gint64) timeout_seconds * G_USEC_PER_SEC;
  gint64 count = 0;

  *first = 0;
  while ((count = query_count (conn, sql)) < want)
    {
      if (count > 0 && *first == 0)
        *first = seconds_since (start_us);
      if (g_get_monotonic_time () > deadline)
        g_error ("%" G_GINT64_FORMAT " of %" G_GINT64_FORMAT " rows after %d s; daemon log: %s",
                 count, want, timeout_seconds, log_path);
      g_usleep (20 * 1000);
    }
  *last = seconds_since (start_us);
  if (*first == 0)
    *first = *last;
}

/* ---- one run ------------------------------------------------------------------------ */

typedef struct
{
  double wall;        /* s, from start (spawn / consumer creation) */
  double streaming;   /* s, first message (row) to the last */
} Timing;

static void
create_shipments (const char *conninfo,
                  const char *prefix,
                  const char *group,
                  const char *log_path)
{
  g_autofree char *topic = g_strconcat (prefix, "TICKET_CREATED", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(PGconn) conn = wb_db_connect (conninfo, &error);
  GSubprocess *daemon = daemon_start (conninfo, prefix, group, log_path);
  double first, last;

  for (int i = 0; i < n_shipments; i++)
    {
      g_autofree char *ticket = g_strdup_printf ("KB-%05d", i);
      g_autofree char *track = g_strdup_printf ("KBT%05d", i);
      g_autofree char *json = g_strdup_printf ("{\"ticket_id\":\"%s\",\"client_id\":\"bench\",\"carrier\":\"dhl\","
                                               "\"track_number\":\"%s\",\"service_level\":\"express\","
                                               "\"recipient\":{\"name\":\"Anna\"},\"destination\":{\"country\":"
                                               "\"BY\",\"city\":\"Minsk\",\"line1\":\"Nezavisimosti 1\"},"
                                               "\"created_at\":\"2026-11-20T08:00:00Z\"}", ticket, track);

      produce (topic, ticket, json);
    }
  produce_flush ();
  wait_count (conn, "SELECT count(*) FROM shipment_tickets", n_shipments, g_get_monotonic_time (), &first, &last,
              log_path);
  daemon_stop (daemon);
}

static void
produce_events (const char *prefix,
                int         run)
{
  g_autofree char *topic = g_strconcat (prefix, "TRACKING_EVENT", NULL);

  for (int k = 0; k < n_messages; k++)
    {
      int step = k / n_shipments;
      g_autofree char *track = g_strdup_printf ("KBT%05d", k % n_shipments);
      g_autofree char *json = g_strdup_printf ("{\"event_id\":\"kb%d-%07d\",\"carrier\":\"dhl\",\"track_number\":"
                                               "\"%s\",\"status\":\"IN_TRANSIT\",\"status_raw\":\"transit\","
                                               "\"occurred_at\":\"2026-11-21T%02d:%02d:%02dZ\","
                                               "\"description\":\"Processed\"}",
                                               run, k, track, step / 3600 % 24, step / 60 % 60, step % 60);

      produce (topic, track, json);
    }
  produce_flush ();
}

static Timing
daemon_run (const char *conninfo,
            const char *prefix,
            const char *group,
            int         run,
            const char *log_path)
{
  g_autofree char *sql = g_strdup_printf ("SELECT count(*) FROM shipment_events WHERE event_id LIKE 'kb%d-%%'", run);
  g_autoptr(GError) error = NULL;
  g_autoptr(PGconn) conn = wb_db_connect (conninfo, &error);
  gint64 start = g_get_monotonic_time ();
  GSubprocess *daemon = daemon_start (conninfo, prefix, group, log_path);
  double first, last;
  Timing t;

  if (conn == NULL)
    g_error ("%s", error->message);
  wait_count (conn, sql, n_messages, start, &first, &last, log_path);
  daemon_stop (daemon);
  t.wall = last;
  t.streaming = last - first;
  return t;
}

/* A plain consumer, no processing: subscribe, poll, count. */
static Timing
baseline_run (const char *prefix,
              int         run)
{
  g_autoptr(rd_kafka_conf_t) conf = rd_kafka_conf_new ();
  g_autofree char *topic = g_strconcat (prefix, "TRACKING_EVENT", NULL);
  g_autofree char *group = g_strdup_printf ("kafka-bench-plain-%d", run);
  g_autoptr(rd_kafka_topic_partition_list_t) topics = rd_kafka_topic_partition_list_new (1);
  gint64 start = g_get_monotonic_time ();
  gint64 first_us = 0;
  g_autoptr(rd_kafka_t) rk = NULL;
  char errstr[512];
  int count = 0;
  Timing t;

  set_or_die (conf, "bootstrap.servers", wb_kafka_dev_get_bootstrap_servers (dev));
  set_or_die (conf, "group.id", group);
  set_or_die (conf, "auto.offset.reset", "earliest");
  set_or_die (conf, "enable.auto.commit", "false");
  rd_kafka_conf_set_log_cb (conf, _wb_kafka_log_cb);
  rk = rd_kafka_new (RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
  if (rk == NULL)
    g_error ("consumer: %s", errstr);
  g_steal_pointer (&conf);
  rd_kafka_poll_set_consumer (rk);
  rd_kafka_topic_partition_list_add (topics, topic, RD_KAFKA_PARTITION_UA);
  if (rd_kafka_subscribe (rk, topics) != RD_KAFKA_RESP_ERR_NO_ERROR)
    g_error ("subscribe %s failed", topic);
  while (count < n_messages)
    {
      rd_kafka_message_t *m = rd_kafka_consumer_poll (rk, 100);

      if (m != NULL && m->err == RD_KAFKA_RESP_ERR_NO_ERROR && count++ == 0)
        first_us = g_get_monotonic_time ();
      g_clear_pointer (&m, rd_kafka_message_destroy);
      if (seconds_since (start) > timeout_seconds)
        g_error ("plain consumer: %d of %d messages after %d s", count, n_messages, timeout_seconds);
    }
  t.wall = seconds_since (start);
  t.streaming = (g_get_monotonic_time () - first_us) / 1e6;
  rd_kafka_consumer_close (rk);
  return t;
}

static void
add_rates (GArray *wall,
           GArray *streaming,
           Timing  t)
{
  double rate = n_messages / t.wall;

  g_array_append_val (wall, rate);
  rate = n_messages / t.streaming;
  g_array_append_val (streaming, rate);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) options = g_option_context_new ("- Kafka to committed rows, against a plain consumer");
  g_autoptr(GError) error = NULL;
  g_autofree char *state = NULL;
  g_autoptr(GArray) daemon_wall = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) daemon_streaming = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) plain_wall = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) plain_streaming = g_array_new (FALSE, FALSE, sizeof (double));
  double dw, ds, pw, ps;

  g_option_context_add_main_entries (options, entries, NULL);
  if (!g_option_context_parse (options, &argc, &argv, &error))
    g_error ("%s", error->message);
  if (runs < 1 || n_shipments < 1 || n_messages < n_shipments || partitions < 1)
    g_error ("--runs, --shipments, --partitions must be positive and --messages at least --shipments");

  cluster = wb_bench_cluster_start ();
  state = g_path_get_dirname (wb_embedded_postgres_get_data_dir (cluster));
  admin = wb_db_connect (wb_embedded_postgres_get_conninfo (cluster), &error);
  if (admin == NULL)
    g_error ("PostgreSQL: %s", error->message);
  dev = wb_kafka_dev_new (1, &error);
  if (dev == NULL)
    g_error ("%s", error->message);
  producer = producer_new ();

  g_print ("Kafka -> committed rows: N = %d TRACKING_EVENT messages a run for %d shipments, %d partitions,\n"
           "librdkafka %s mock cluster (1 broker, in the bench process), %d runs, %u cores\n",
           n_messages, n_shipments, partitions, rd_kafka_version_str (), runs, g_get_num_processors ());
  for (int r = 0; r < runs; r++)
    {
      g_autofree char *name = g_strdup_printf ("kafka_bench_%d", r);
      g_autofree char *prefix = g_strdup_printf ("kb%d.", r);
      g_autofree char *group = g_strdup_printf ("kafka-bench-%d", r);
      g_autofree char *log_path = g_build_filename (state, "waybilld.log", NULL);
      g_autofree char *conninfo = database_create (name);
      gint64 produce_start;
      Timing daemon, plain;

      create_topics (prefix);
      create_shipments (conninfo, prefix, group, log_path);
      produce_start = g_get_monotonic_time ();
      produce_events (prefix, r);
      g_print ("  run %d: produced %d messages in %.2f s\n", r + 1, n_messages, seconds_since (produce_start));
      daemon = daemon_run (conninfo, prefix, group, r, log_path);
      plain = baseline_run (prefix, r);
      g_print ("  run %d waybilld tracker -> rows: %6.2f s wall (%6.2f s first to last row)  %8.0f msg/s (%8.0f)\n",
               r + 1, daemon.wall, daemon.streaming, n_messages / daemon.wall, n_messages / daemon.streaming);
      g_print ("  run %d plain consumer:           %6.2f s wall (%6.2f s first to last msg)  %8.0f msg/s (%8.0f)\n",
               r + 1, plain.wall, plain.streaming, n_messages / plain.wall, n_messages / plain.streaming);
      add_rates (daemon_wall, daemon_streaming, daemon);
      add_rates (plain_wall, plain_streaming, plain);
    }

  dw = wb_bench_median (daemon_wall);
  ds = wb_bench_median (daemon_streaming);
  pw = wb_bench_median (plain_wall);
  ps = wb_bench_median (plain_streaming);
  g_print ("\nRESULTS (N = %d, medians of %d runs, %u cores)     wall, incl. start+join   first to last\n",
           n_messages, runs, g_get_num_processors ());
  g_print ("  plain librdkafka consumer, no processing:  %8.0f msg/s           %8.0f msg/s\n", pw, ps);
  g_print ("  waybilld tracker -> committed rows:        %8.0f msg/s           %8.0f msg/s\n", dw, ds);
  g_print ("  ratio waybilld / plain:                    %8.3f                 %8.3f\n", dw / pw, ds / ps);

  g_clear_pointer (&producer, rd_kafka_destroy);
  g_clear_object (&dev);
  g_clear_pointer (&admin, PQfinish);
  wb_embedded_postgres_stop (cluster, NULL);
  g_clear_object (&cluster);
  return 0;
}
