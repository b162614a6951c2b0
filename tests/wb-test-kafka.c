// SPDX-License-Identifier: GPL-3.0-or-later
/* Integration tests of waybilld on Kafka: librdkafka's mock cluster in the
 * test process, one producer and one HTTP session shared by the tests, and
 * per test a World (topic prefix, consumer group, database) so that tests
 * sharing the cluster stay apart. */

#include "config.h"

#include <string.h>

#include "wb-daemon-bus.h"
#include "wb-db.h"
#include "wb-kafka-private.h"
#include "wb-migrations.h"
#include "wb-test-kafka.h"

WbKafkaDev  *wb_test_kafka_dev;
rd_kafka_t  *wb_test_kafka_producer;
SoupSession *wb_test_kafka_session;
static gint  delivery_failures;

/* ---- one test's world: topic prefix, group, database ----------------------- */


void
world_free (World *w)
{
  g_free (w->prefix);
  g_free (w->group);
  g_free (w->conninfo);
  g_clear_pointer (&w->db, PQfinish);
  g_free (w);
}


void
create_topic (World      *w,
              const char *name)
{
  g_autofree char *full = g_strconcat (w->prefix, name, NULL);
  g_autoptr(GError) error = NULL;

  g_assert_true (wb_kafka_dev_create_topic (wb_test_kafka_dev, full, w->partitions, &error));
  g_assert_no_error (error);
}

/* Topics made up front, as an operator would (the mock brokers do not
 * implement CreateTopics); the daemons still run with missing-topics=create. */
World *
world_new (guint partitions)
{
  static guint serial;
  World *w = g_new0 (World, 1);
  g_autoptr(GError) error = NULL;
  g_autofree char *db_prefix = NULL;

  serial++;
  w->prefix = g_strdup_printf ("t%u.", serial);
  w->group = g_strdup_printf ("waybill-t%u", serial);
  w->partitions = partitions;
  db_prefix = g_strdup_printf ("kafka_daemons_t%u", serial);
  w->conninfo = wb_test_pg_create_database (db_prefix);
  w->db = wb_db_connect (w->conninfo, &error);
  g_assert_no_error (error);
  g_assert_true (wb_migrations_apply (w->db, NULL, &error));
  g_assert_no_error (error);
  for (guint i = 0; wb_daemon_topics[i] != NULL; i++)
    create_topic (w, wb_daemon_topics[i]);
  for (guint i = 0; wb_daemon_consumed_topics[i] != NULL; i++)
    {
      g_autofree char *dlq = g_strconcat (wb_daemon_consumed_topics[i], ".dlq", NULL);

      create_topic (w, dlq);
    }
  return w;
}

char *
world_topic (World      *w,
             const char *name)
{
  return g_strconcat (w->prefix, name, NULL);
}

/* ---- SQL ------------------------------------------------------------------- */

void
sql_exec (World      *w,
          const char *sql)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PGresult) result = wb_db_exec (w->db, sql, NULL, 0, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (result);
}

char *
sql_text (World      *w,
          const char *sql)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PGresult) result = wb_db_exec (w->db, sql, NULL, 0, NULL, &error);

  g_assert_no_error (error);
  if (PQntuples (result) == 0 || PQgetisnull (result, 0, 0))
    return NULL;
  return g_strdup (PQgetvalue (result, 0, 0));
}

gint64
sql_int (World      *w,
         const char *sql)
{
  g_autofree char *text = sql_text (w, sql);

  return text ? g_ascii_strtoll (text, NULL, 10) : -1;
}

/* Polls until @sql answers @want; returns the last answer. */
gint64
sql_wait (World      *w,
          const char *sql,
          gint64      want,
          guint       timeout_s)
{
  gint64 deadline = g_get_monotonic_time () + timeout_s * G_USEC_PER_SEC;
  gint64 value;

  while ((value = sql_int (w, sql)) != want && g_get_monotonic_time () < deadline)
    g_usleep (50 * 1000);
  return value;
}

/* ---- the daemons ------------------------------------------------------------ */

guint
http_get (WbTestDaemon  *d,
          const char    *path,
          char         **out_body)
{
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u%s", wb_test_daemon_port (d), path);
  g_autoptr(SoupMessage) message = soup_message_new ("GET", uri);
  g_autoptr(GBytes) body = soup_session_send_and_read (wb_test_kafka_session, message, NULL, NULL);

  if (out_body)
    *out_body = body ? g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body)) : NULL;
  return soup_message_get_status (message);
}

void
wait_ready (WbTestDaemon *d)
{
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < deadline)
    {
      if (http_get (d, "/readyz", NULL) == 200)
        return;
      g_usleep (50 * 1000);
    }
  g_error ("waybilld never became ready; its log:\n%s", d->log->str);
}

WbTestDaemon *
daemon_start_with (World              *w,
                   const char         *roles,
                   const char * const *extra_args)
{
  g_autofree char *dsn = g_strconcat ("DB_DSN=", w->conninfo, NULL);
  g_autofree char *brokers = g_strconcat ("KAFKA_BROKERS=", wb_kafka_dev_get_bootstrap_servers (wb_test_kafka_dev),
                                          NULL);
  g_autofree char *group = g_strconcat ("KAFKA_GROUPID=", w->group, NULL);
  g_autofree char *roles_arg = g_strconcat ("--roles=", roles, NULL);
  g_autofree char *prefix_arg = g_strconcat ("--kafka-topic-prefix=", w->prefix, NULL);
  g_autofree char *partitions_arg = g_strdup_printf ("--kafka-topic-partitions=%u", w->partitions);
  const char *env[] = { dsn, brokers, group, "KAFKA_TIMEOUT=3000", NULL };
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  WbTestDaemon *d;

  g_ptr_array_add (args, roles_arg);
  g_ptr_array_add (args, prefix_arg);
  g_ptr_array_add (args, partitions_arg);
  g_ptr_array_add (args, (gpointer) "--kafka-missing-topics=create");
  for (guint i = 0; extra_args != NULL && extra_args[i] != NULL; i++)
    g_ptr_array_add (args, (gpointer) extra_args[i]);
  g_ptr_array_add (args, NULL);
  d = wb_test_daemon_spawn (env, (const char * const *) args->pdata);
  wait_ready (d);
  return d;
}

WbTestDaemon *
daemon_start (World      *w,
              const char *roles)
{
  return daemon_start_with (w, roles, NULL);
}

/* One sample of /metrics: @series is the whole name with its labels. */
double
metric (WbTestDaemon *d,
        const char   *series)
{
  g_autofree char *text = NULL;
  g_autofree char *prefix = g_strconcat ("\n", series, " ", NULL);
  const char *at;

  g_assert_cmpuint (http_get (d, "/metrics", &text), ==, 200);
  at = strstr (text, prefix);
  return at ? g_ascii_strtod (at + strlen (prefix), NULL) : 0;
}

/* ---- producing and reading topics ------------------------------------------------- */

static void
on_delivery (rd_kafka_t               *rk,
             const rd_kafka_message_t *message,
             void                     *opaque)
{
  if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR)
    {
      g_printerr ("delivery to %s failed: %s\n", rd_kafka_topic_name (message->rkt), rd_kafka_err2str (message->err));
      g_atomic_int_inc (&delivery_failures);
    }
}

static rd_kafka_t *
producer_new (void)
{
  g_autoptr(rd_kafka_conf_t) conf = rd_kafka_conf_new ();
  char errstr[512];
  rd_kafka_t *rk;

  g_assert_cmpint (rd_kafka_conf_set (conf, "bootstrap.servers", wb_kafka_dev_get_bootstrap_servers (wb_test_kafka_dev),
                                      errstr, sizeof errstr), ==, RD_KAFKA_CONF_OK);
  g_assert_cmpint (rd_kafka_conf_set (conf, "linger.ms", "5", errstr, sizeof errstr), ==, RD_KAFKA_CONF_OK);
  /* Room for the poison tests' 10 MB message. */
  g_assert_cmpint (rd_kafka_conf_set (conf, "message.max.bytes", WB_TEST_KAFKA_MAX_MESSAGE, errstr, sizeof errstr), ==,
                   RD_KAFKA_CONF_OK);
  g_assert_cmpint (rd_kafka_conf_set (conf, "enable.idempotence", "true", errstr, sizeof errstr), ==,
                   RD_KAFKA_CONF_OK);
  rd_kafka_conf_set_dr_msg_cb (conf, on_delivery);
  rd_kafka_conf_set_log_cb (conf, _wb_kafka_log_cb);
  rk = rd_kafka_new (RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  g_assert_nonnull (rk);
  g_steal_pointer (&conf);
  return rk;
}

/* Queues one message (the queue is drained by produce_flush()). */
void
produce_bytes (World      *w,
               const char *name,
               const char *key,
               const void *payload,
               gsize       length)
{
  g_autofree char *topic = world_topic (w, name);
  rd_kafka_resp_err_t err;

  do
    {
      err = rd_kafka_producev (wb_test_kafka_producer, RD_KAFKA_V_TOPIC (topic),
                               RD_KAFKA_V_KEY (key, key ? strlen (key) : 0),
                               RD_KAFKA_V_VALUE ((void *) payload, length),
                               RD_KAFKA_V_MSGFLAGS (RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        rd_kafka_poll (wb_test_kafka_producer, 10);
    }
  while (err == RD_KAFKA_RESP_ERR__QUEUE_FULL);
  g_assert_cmpint (err, ==, RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_poll (wb_test_kafka_producer, 0);
}

void
produce (World      *w,
         const char *name,
         const char *key,
         const char *payload)
{
  produce_bytes (w, name, key, payload, strlen (payload));
}

void
produce_flush (void)
{
  g_assert_cmpint (rd_kafka_flush (wb_test_kafka_producer, 60000), ==, RD_KAFKA_RESP_ERR_NO_ERROR);
  g_assert_cmpint (g_atomic_int_get (&delivery_failures), ==, 0);
}


void
record_free (Record *r)
{
  g_free (r->key);
  g_free (r->payload);
  g_hash_table_unref (r->headers);
  g_free (r);
}

static Record *
record_new (const rd_kafka_message_t *m)
{
  Record *r = g_new0 (Record, 1);
  rd_kafka_headers_t *headers = NULL;
  const char *name;
  const void *value;
  size_t size;

  r->key = m->key ? g_strndup (m->key, m->key_len) : NULL;
  r->payload = g_strndup (m->payload, m->len);
  r->partition = m->partition;
  r->offset = m->offset;
  r->headers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  if (rd_kafka_message_headers (m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR)
    for (size_t i = 0; rd_kafka_header_get_all (headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; i++)
      g_hash_table_insert (r->headers, g_strdup (name), g_strndup (value, size));
  return r;
}

/* Reads @name from the beginning of every partition, outside any group,
 * until @want messages came or @timeout_ms passed; then, for an exact
 * count, a little longer so that one too many would show. */
GPtrArray *
read_topic (World      *w,
            const char *name,
            guint       want,
            guint       timeout_ms)
{
  g_autoptr(rd_kafka_conf_t) conf = rd_kafka_conf_new ();
  g_autoptr(rd_kafka_topic_partition_list_t) list = rd_kafka_topic_partition_list_new (w->partitions);
  g_autofree char *topic = world_topic (w, name);
  GPtrArray *records = g_ptr_array_new_with_free_func ((GDestroyNotify) record_free);
  g_autoptr(rd_kafka_t) rk = NULL;
  char errstr[512];
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  gint64 settle_until = 0;

  g_assert_cmpint (rd_kafka_conf_set (conf, "bootstrap.servers", wb_kafka_dev_get_bootstrap_servers (wb_test_kafka_dev),
                                      errstr, sizeof errstr), ==, RD_KAFKA_CONF_OK);
  g_assert_cmpint (rd_kafka_conf_set (conf, "group.id", "wb-test-kafka-reader", errstr, sizeof errstr), ==,
                   RD_KAFKA_CONF_OK);
  g_assert_cmpint (rd_kafka_conf_set (conf, "fetch.wait.max.ms", "20", errstr, sizeof errstr), ==, RD_KAFKA_CONF_OK);
  g_assert_cmpint (rd_kafka_conf_set (conf, "receive.message.max.bytes", "100000000", errstr, sizeof errstr), ==,
                   RD_KAFKA_CONF_OK);
  rd_kafka_conf_set_log_cb (conf, _wb_kafka_log_cb);
  rk = rd_kafka_new (RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
  g_assert_nonnull (rk);
  g_steal_pointer (&conf);
  for (guint i = 0; i < w->partitions; i++)
    rd_kafka_topic_partition_list_add (list, topic, (int32_t) i)->offset = RD_KAFKA_OFFSET_BEGINNING;
  g_assert_cmpint (rd_kafka_assign (rk, list), ==, RD_KAFKA_RESP_ERR_NO_ERROR);

  while (g_get_monotonic_time () < (settle_until ? settle_until : deadline))
    {
      rd_kafka_message_t *m = rd_kafka_consumer_poll (rk, 50);

      if (m != NULL && m->err == RD_KAFKA_RESP_ERR_NO_ERROR)
        g_ptr_array_add (records, record_new (m));
      g_clear_pointer (&m, rd_kafka_message_destroy);
      if (records->len >= want && settle_until == 0)
        settle_until = g_get_monotonic_time () + 500 * 1000;
    }
  rd_kafka_consumer_close (rk);
  return records;
}

/* The first record holding @needle, and keyed @key unless that is NULL. */
Record *
find_keyed_record (GPtrArray  *records,
                   const char *key,
                   const char *needle)
{
  for (guint i = 0; i < records->len; i++)
    {
      Record *r = g_ptr_array_index (records, i);

      if (strstr (r->payload, needle) && (key == NULL || g_strcmp0 (r->key, key) == 0))
        return r;
    }
  return NULL;
}

Record *
find_record (GPtrArray  *records,
             const char *needle)
{
  return find_keyed_record (records, NULL, needle);
}

char *
run_kcat (const char         *input,
          const char * const *argv)
{
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;

  process = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate_utf8 (process, input, NULL, &out, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (process));
  g_assert_cmpint (g_subprocess_get_exit_status (process), ==, 0);
  return g_steal_pointer (&out);
}

/* ---- the cluster ------------------------------------------------------------------- */

void
wb_test_kafka_init (guint n_brokers)
{
  g_autoptr(GError) error = NULL;

  wb_test_kafka_dev = wb_kafka_dev_new (n_brokers, &error);
  g_assert_no_error (error);
  wb_test_kafka_producer = producer_new ();
  wb_test_kafka_session = soup_session_new ();
}

void
wb_test_kafka_teardown (void)
{
  g_clear_object (&wb_test_kafka_session);
  rd_kafka_flush (wb_test_kafka_producer, 5000);
  g_clear_pointer (&wb_test_kafka_producer, rd_kafka_destroy);
  g_clear_object (&wb_test_kafka_dev);
  wb_test_pg_teardown ();
}
