// SPDX-License-Identifier: GPL-3.0-or-later
/* The Kafka bus on librdkafka's mock cluster, in this process: round trip,
 * batching, commit only after ack, retry, rebalance, delivery failures,
 * dead letters, topic checks, and kcat as an outside client. */

#include "config.h"

#include <string.h>

#include <json-glib/json-glib.h>

#include "wb-bus-dead-letter.h"
#include "wb-bus-kafka.h"
#include "wb-kafka-dev.h"
#include "wb-kafka-private.h"

/* Short enough to keep the binary quick; broker operations on loopback. */
#define BUS_TIMEOUT_MS 1500

/* Warnings from the bus are recorded, not fatal: a test that provokes one
 * checks its text, every other test checks there was none. */
static GMutex log_mutex;
static GPtrArray *bus_warnings;

static void
on_bus_log (const char     *domain,
            GLogLevelFlags  level,
            const char     *message,
            gpointer        data)
{
  if (level & (G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR))
    {
      g_mutex_lock (&log_mutex);
      g_ptr_array_add (bus_warnings, g_strdup (message));
      g_mutex_unlock (&log_mutex);
    }
  if (g_test_verbose () || (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR)))
    g_printerr ("%s: %s\n", domain, message);
}

static gboolean
bus_warned (const char *needle1,
            const char *needle2)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&log_mutex);

  for (guint i = 0; i < bus_warnings->len; i++)
    {
      const char *text = g_ptr_array_index (bus_warnings, i);

      if (strstr (text, needle1) && strstr (text, needle2))
        return TRUE;
    }
  return FALSE;
}

typedef struct
{
  WbKafkaDev *dev;
  WbBus      *bus;
  char       *topic;
  gboolean    expect_warnings;
} Fixture;

static WbBus *
bus_new (Fixture            *f,
         const char * const *more)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) properties = NULL;
  g_autoptr(GError) error = NULL;
  WbBus *bus;

  /* Fast group membership and fetches, so rebalances take ~1 s, not ~10. */
  g_strv_builder_add_many (builder, "session.timeout.ms=6000", "heartbeat.interval.ms=100",
                           "fetch.wait.max.ms=20",
                           "reconnect.backoff.max.ms=200", NULL);
  /* WB_KAFKA_DEBUG=cgrp,fetch (say) with --verbose shows librdkafka's view. */
  if (g_getenv ("WB_KAFKA_DEBUG") != NULL)
    {
      g_autofree char *debug = g_strconcat ("debug=", g_getenv ("WB_KAFKA_DEBUG"), NULL);
      g_strv_builder_add (builder, debug);
    }
  if (more != NULL)
    g_strv_builder_addv (builder, (const char **) more);
  properties = g_strv_builder_end (builder);
  bus = wb_bus_kafka_new_with_properties (wb_kafka_dev_get_bootstrap_servers (f->dev), "waybill-test",
                                          BUS_TIMEOUT_MS, (const char * const *) properties, &error);
  g_assert_no_error (error);
  g_assert_nonnull (bus);
  return bus;
}

static char *
unique_topic (const char *base)
{
  static guint counter;

  return g_strdup_printf ("%s-%u", base, ++counter);
}

static void
create_topic (Fixture    *f,
              const char *topic,
              guint       partitions)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (wb_kafka_dev_create_topic (f->dev, topic, partitions, &error));
  g_assert_no_error (error);
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  f->dev = wb_kafka_dev_new (1, &error);
  g_assert_no_error (error);
  f->bus = bus_new (f, NULL);
  f->topic = unique_topic ("kafka");
  create_topic (f, f->topic, 4);
  g_mutex_lock (&log_mutex);
  g_ptr_array_set_size (bus_warnings, 0);
  g_mutex_unlock (&log_mutex);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  if (f->bus != NULL)
    wb_bus_close (f->bus);
  g_clear_object (&f->bus);
  g_clear_object (&f->dev);
  g_free (f->topic);
  if (!f->expect_warnings)
    {
      g_mutex_lock (&log_mutex);
      for (guint i = 0; i < bus_warnings->len; i++)
        g_printerr ("unexpected warning: %s\n", (char *) g_ptr_array_index (bus_warnings, i));
      g_assert_cmpuint (bus_warnings->len, ==, 0);
      g_mutex_unlock (&log_mutex);
    }
}

/* Main-loop helpers */

typedef gboolean (*Condition) (gpointer data);

static gboolean
tick (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

static gboolean
wait_for (Condition condition,
          gpointer  data,
          guint     timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  guint source = g_timeout_add (10, tick, NULL);
  gboolean met;

  while (!(met = condition (data)) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (source);
  return met;
}

static gboolean
always_false (gpointer data)
{
  return FALSE;
}

static void
spin (guint ms)
{
  wait_for (always_false, NULL, ms);
}

typedef struct
{
  GPtrArray *messages;       /* WbBusMessage*, every delivery, in order */
  GPtrArray *held;           /* WbBusBatch*, unsettled */
  GArray    *batch_sizes;    /* guint */
  GArray    *batch_times;    /* gint64 monotonic µs */
  gboolean   hold;
  guint      retry_once_ms;
  gint64     retried_at;
  guint      expected;
} Sink;

static Sink *
sink_new (void)
{
  Sink *sink = g_new0 (Sink, 1);

  sink->messages = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_bus_message_unref);
  sink->held = g_ptr_array_new ();
  sink->batch_sizes = g_array_new (FALSE, FALSE, sizeof (guint));
  sink->batch_times = g_array_new (FALSE, FALSE, sizeof (gint64));
  return sink;
}

static void
sink_ack_held (Sink *sink)
{
  for (guint i = 0; i < sink->held->len; i++)
    {
      WbBusBatch *batch = g_ptr_array_index (sink->held, i);

      wb_bus_batch_ack (batch);
      wb_bus_batch_unref (batch);
    }
  g_ptr_array_set_size (sink->held, 0);
}

static void
sink_free (Sink *sink)
{
  sink_ack_held (sink);
  g_ptr_array_unref (sink->held);
  g_ptr_array_unref (sink->messages);
  g_array_unref (sink->batch_sizes);
  g_array_unref (sink->batch_times);
  g_free (sink);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Sink, sink_free)

static void
on_batch (WbBus      *bus,
          WbBusBatch *batch,
          gpointer    data)
{
  Sink *sink = data;
  guint n = wb_bus_batch_get_length (batch);
  gint64 now = g_get_monotonic_time ();

  g_array_append_val (sink->batch_sizes, n);
  g_array_append_val (sink->batch_times, now);
  for (guint i = 0; i < n; i++)
    g_ptr_array_add (sink->messages, wb_bus_message_ref (wb_bus_batch_get_message (batch, i)));
  if (sink->retry_once_ms)
    {
      sink->retried_at = now;
      wb_bus_batch_retry (batch, sink->retry_once_ms);
      sink->retry_once_ms = 0;
    }
  else if (sink->hold)
    g_ptr_array_add (sink->held, wb_bus_batch_ref (batch));
  else
    wb_bus_batch_ack (batch);
}

static gboolean
sink_has_expected (gpointer data)
{
  Sink *sink = data;

  return sink->messages->len >= sink->expected;
}

static gboolean
sink_wait (Sink  *sink,
           guint  count,
           guint  timeout_ms)
{
  sink->expected = count;
  return wait_for (sink_has_expected, sink, timeout_ms);
}

static guint
subscribe (Fixture    *f,
           WbBus      *bus,
           const char *group,
           const char *topic,
           guint       max_batch,
           guint       linger_ms,
           Sink       *sink)
{
  const char *topics[] = { topic, NULL };
  guint id = wb_bus_subscribe_batched (bus, group, topics, max_batch, linger_ms, on_batch, sink, NULL);

  g_assert_cmpuint (id, >, 0);
  return id;
}

static char *
payload_text (WbBusMessage *message)
{
  GBytes *payload = wb_bus_message_get_payload (message);

  return g_strndup (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload));
}

static void
try_publish (WbBus      *bus,
             const char *topic,
             const char *key,
             const char *payload)
{
  g_autoptr(WbBusMessage) message = wb_bus_message_new_take (topic, key, g_strdup (payload));
  g_autoptr(GError) error = NULL;

  g_assert_true (wb_bus_try_publish (bus, message, &error));
  g_assert_no_error (error);
}

typedef struct
{
  gboolean  done;
  gboolean  ok;
  GError   *error;
} Result;

static void
on_published (GObject      *object,
              GAsyncResult *result,
              gpointer      data)
{
  Result *r = data;

  r->ok = wb_bus_publish_finish (WB_BUS (object), result, &r->error);
  r->done = TRUE;
}

static gboolean
result_done (gpointer data)
{
  return ((Result *) data)->done;
}

/* Returns whether the brokers acknowledged it; @error gets why not. */
static gboolean
publish_wait (WbBus         *bus,
              WbBusMessage  *message,
              guint          timeout_ms,
              GError       **error)
{
  Result r = { 0 };

  wb_bus_publish_async (bus, message, NULL, on_published, &r);
  g_assert_true (wait_for (result_done, &r, timeout_ms));
  if (r.error)
    g_propagate_error (error, r.error);
  return r.ok;
}

static void
on_flushed (GObject      *object,
            GAsyncResult *result,
            gpointer      data)
{
  Result *r = data;

  r->ok = wb_bus_flush_finish (WB_BUS (object), result, &r->error);
  r->done = TRUE;
}

static void
flush_wait (WbBus *bus)
{
  Result r = { 0 };

  wb_bus_flush_async (bus, NULL, on_flushed, &r);
  g_assert_true (wait_for (result_done, &r, 10000));
  g_assert_no_error (r.error);
  g_assert_true (r.ok);
}

/* The group's committed offsets summed over @partitions partitions, read
 * by a handle of its own that does not join the group. */
static gint64
committed_total (Fixture    *f,
                 const char *group,
                 const char *topic,
                 guint       partitions)
{
  g_autoptr(rd_kafka_conf_t) conf = rd_kafka_conf_new ();
  g_autoptr(rd_kafka_topic_partition_list_t) list = rd_kafka_topic_partition_list_new (partitions);
  g_autofree char *group_id = wb_bus_kafka_dup_group_id (WB_BUS_KAFKA (f->bus), group);
  g_autoptr(rd_kafka_t) rk = NULL;
  char errstr[512];
  gint64 total = 0;

  g_assert_cmpint (rd_kafka_conf_set (conf, "bootstrap.servers", wb_kafka_dev_get_bootstrap_servers (f->dev),
                                      errstr, sizeof errstr), ==, RD_KAFKA_CONF_OK);
  g_assert_cmpint (rd_kafka_conf_set (conf, "group.id", group_id, errstr, sizeof errstr), ==, RD_KAFKA_CONF_OK);
  rd_kafka_conf_set_log_cb (conf, _wb_kafka_log_cb);
  rk = rd_kafka_new (RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
  g_assert_nonnull (rk);
  g_steal_pointer (&conf);
  for (guint i = 0; i < partitions; i++)
    rd_kafka_topic_partition_list_add (list, topic, (int32_t) i);
  g_assert_cmpint (rd_kafka_committed (rk, list, 5000), ==, RD_KAFKA_RESP_ERR_NO_ERROR);
  for (int i = 0; i < list->cnt; i++)
    if (list->elems[i].offset >= 0)
      total += list->elems[i].offset;
  rd_kafka_consumer_close (rk);
  return total;
}

/* Tests */

static void
test_round_trip (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(Sink) sink = sink_new ();
  g_autoptr(WbBusMessage) message = wb_bus_message_new_take (f->topic, "vehicle-1", g_strdup ("{\"a\":1}"));
  g_autoptr(GHashTable) last_seq = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) key_partition = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  WbBusMessage *got;
  WbBusKafkaCounters counters;

  wb_bus_message_add_header (message, "content-type", "application/json");
  wb_bus_message_add_header (message, "x-trace", "abc");
  g_assert_true (publish_wait (f->bus, message, 10000, &error));
  g_assert_no_error (error);
  g_assert_cmpint (wb_bus_message_get_partition (message), >=, 0);
  g_assert_cmpint (wb_bus_message_get_offset (message), ==, 0);

  subscribe (f, f->bus, "round", f->topic, 50, 0, sink);
  g_assert_true (sink_wait (sink, 1, 15000));
  got = g_ptr_array_index (sink->messages, 0);
  text = payload_text (got);
  g_assert_cmpstr (wb_bus_message_get_topic (got), ==, f->topic);
  g_assert_cmpstr (wb_bus_message_get_key (got), ==, "vehicle-1");
  g_assert_cmpstr (text, ==, "{\"a\":1}");
  g_assert_cmpstr (wb_bus_message_get_header (got, "content-type"), ==, "application/json");
  g_assert_cmpstr (wb_bus_message_get_header (got, "x-trace"), ==, "abc");
  g_assert_cmpint (wb_bus_message_get_partition (got), ==, wb_bus_message_get_partition (message));
  g_assert_cmpint (wb_bus_message_get_offset (got), ==, 0);

  /* Per-key order across four partitions. */
  for (guint seq = 0; seq < 50; seq++)
    for (guint k = 0; k < 8; k++)
      {
        g_autofree char *key = g_strdup_printf ("device-%u", k);
        g_autofree char *payload = g_strdup_printf ("%s:%u", key, seq);

        try_publish (f->bus, f->topic, key, payload);
      }
  g_assert_true (sink_wait (sink, 1 + 400, 20000));
  spin (300);
  g_assert_cmpuint (sink->messages->len, ==, 401);
  for (guint i = 1; i < sink->messages->len; i++)
    {
      WbBusMessage *m = g_ptr_array_index (sink->messages, i);
      g_autofree char *payload = payload_text (m);
      g_auto(GStrv) parts = g_strsplit (payload, ":", 2);
      gpointer previous, partition;
      gint64 seq = g_ascii_strtoll (parts[1], NULL, 10);

      g_assert_cmpstr (parts[0], ==, wb_bus_message_get_key (m));
      if (g_hash_table_lookup_extended (last_seq, parts[0], NULL, &previous))
        g_assert_cmpint (seq, ==, GPOINTER_TO_INT (previous) + 1);
      else
        g_assert_cmpint (seq, ==, 0);
      g_hash_table_insert (last_seq, g_strdup (parts[0]), GINT_TO_POINTER ((gint) seq));
      if (g_hash_table_lookup_extended (key_partition, parts[0], NULL, &partition))
        g_assert_cmpint (GPOINTER_TO_INT (partition), ==, wb_bus_message_get_partition (m));
      g_hash_table_insert (key_partition, g_strdup (parts[0]), GINT_TO_POINTER (wb_bus_message_get_partition (m)));
    }
  flush_wait (f->bus);
  wb_bus_kafka_get_counters (WB_BUS_KAFKA (f->bus), &counters);
  g_assert_cmpuint (counters.delivered, ==, 401);
  g_assert_cmpuint (counters.failed, ==, 0);
  g_assert_cmpuint (counters.in_flight, ==, 0);
  g_assert_cmpuint (counters.consumed, ==, 401);
  g_assert_true (wb_bus_is_ready (f->bus, NULL));
}

static void
test_linger (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(Sink) sink = sink_new ();
  g_autofree char *topic = unique_topic ("linger");
  g_autoptr(WbBusMessage) warm = wb_bus_message_new_take (topic, "k", g_strdup ("warm"));
  const guint linger_ms = 400;
  gint64 start, elapsed_ms;
  guint n;

  create_topic (f, topic, 1);
  subscribe (f, f->bus, "linger", topic, 5, linger_ms, sink);
  g_assert_true (publish_wait (f->bus, warm, 10000, NULL));
  g_assert_true (sink_wait (sink, 1, 15000));

  /* A small batch waits for company. */
  start = g_get_monotonic_time ();
  try_publish (f->bus, topic, "k", "s1");
  try_publish (f->bus, topic, "k", "s2");
  g_assert_true (sink_wait (sink, 3, 5000));
  elapsed_ms = (g_array_index (sink->batch_times, gint64, sink->batch_times->len - 1) - start) / 1000;
  g_assert_cmpuint (g_array_index (sink->batch_sizes, guint, sink->batch_sizes->len - 1), ==, 2);
  g_assert_cmpint (elapsed_ms, >=, linger_ms);

  /* A full one does not. */
  start = g_get_monotonic_time ();
  for (guint i = 0; i < 5; i++)
    try_publish (f->bus, topic, "k", "full");
  g_assert_true (sink_wait (sink, 8, 5000));
  elapsed_ms = (g_array_index (sink->batch_times, gint64, sink->batch_times->len - 1) - start) / 1000;
  g_assert_cmpuint (g_array_index (sink->batch_sizes, guint, sink->batch_sizes->len - 1), ==, 5);
  g_assert_cmpint (elapsed_ms, <, linger_ms);

  /* Never more than max_batch at once. */
  n = sink->batch_sizes->len;
  for (guint i = 0; i < 23; i++)
    try_publish (f->bus, topic, "k", "many");
  g_assert_true (sink_wait (sink, 8 + 23, 10000));
  for (guint i = n; i < sink->batch_sizes->len; i++)
    g_assert_cmpuint (g_array_index (sink->batch_sizes, guint, i), <=, 5);
  g_assert_cmpuint (sink->batch_sizes->len - n, >=, 5);
}

static void
test_commit_after_ack (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(Sink) first = sink_new ();
  g_autoptr(Sink) second = sink_new ();
  g_autoptr(Sink) third = sink_new ();
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *topic = unique_topic ("commit");
  guint id, held;

  create_topic (f, topic, 2);
  for (guint i = 0; i < 6; i++)
    {
      g_autofree char *payload = g_strdup_printf ("m%u", i);
      g_autofree char *key = g_strdup_printf ("k%u", i);

      try_publish (f->bus, topic, key, payload);
    }
  flush_wait (f->bus);

  /* Held, never acked: the next member of the group gets it again. */
  first->hold = TRUE;
  id = subscribe (f, f->bus, "commit", topic, 100, 300, first);
  g_assert_true (sink_wait (first, 1, 15000));
  held = first->messages->len;
  wb_bus_unsubscribe (f->bus, id);
  sink_ack_held (first);    /* too late: the consumer is gone */
  g_assert_cmpint (committed_total (f, "commit", topic, 2), ==, 0);

  id = subscribe (f, f->bus, "commit", topic, 100, 0, second);
  g_assert_true (sink_wait (second, 6, 15000));
  for (guint i = 0; i < held; i++)
    {
      g_autofree char *payload = payload_text (g_ptr_array_index (first->messages, i));
      gboolean found = FALSE;

      for (guint j = 0; j < second->messages->len && !found; j++)
        {
          g_autofree char *other = payload_text (g_ptr_array_index (second->messages, j));
          found = g_str_equal (payload, other);
        }
      g_assert_true (found);
    }
  flush_wait (f->bus);
  wb_bus_unsubscribe (f->bus, id);
  g_assert_cmpint (committed_total (f, "commit", topic, 2), ==, 6);

  /* Acked and committed: nothing comes again, only what is new. */
  subscribe (f, f->bus, "commit", topic, 100, 0, third);
  try_publish (f->bus, topic, "k0", "after");
  g_assert_true (sink_wait (third, 1, 15000));
  spin (500);
  for (guint i = 0; i < third->messages->len; i++)
    {
      g_autofree char *text = payload_text (g_ptr_array_index (third->messages, i));
      g_test_message ("third got %s at %d/%" G_GINT64_FORMAT, text,
                      wb_bus_message_get_partition (g_ptr_array_index (third->messages, i)),
                      wb_bus_message_get_offset (g_ptr_array_index (third->messages, i)));
    }
  g_assert_cmpuint (third->messages->len, ==, 1);
  {
    g_autofree char *payload = payload_text (g_ptr_array_index (third->messages, 0));
    g_assert_cmpstr (payload, ==, "after");
  }
}

static void
test_retry (Fixture       *f,
            gconstpointer  data)
{
  g_autoptr(Sink) sink = sink_new ();
  g_autofree char *topic = unique_topic ("retry");
  const guint delay_ms = 500;
  guint first_len;
  gint64 again_at;

  create_topic (f, topic, 1);
  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *payload = g_strdup_printf ("r%u", i);
      try_publish (f->bus, topic, "k", payload);
    }
  flush_wait (f->bus);

  sink->retry_once_ms = delay_ms;
  subscribe (f, f->bus, "retry", topic, 3, 0, sink);
  g_assert_true (sink_wait (sink, 1, 15000));
  first_len = sink->messages->len;
  g_assert_cmpuint (first_len, >=, 1);
  g_assert_true (sink_wait (sink, first_len + 5, 10000));

  again_at = g_array_index (sink->batch_times, gint64, 1);
  g_assert_cmpint ((again_at - sink->retried_at) / 1000, >=, delay_ms);
  /* The same messages first, then the rest, in order. */
  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *expected = g_strdup_printf ("r%u", i);
      g_autofree char *payload = payload_text (g_ptr_array_index (sink->messages, first_len + i));

      if (i < first_len)
        {
          g_autofree char *before = payload_text (g_ptr_array_index (sink->messages, i));
          g_assert_cmpstr (before, ==, expected);
        }
      g_assert_cmpstr (payload, ==, expected);
    }
  flush_wait (f->bus);
  g_assert_cmpint (committed_total (f, "retry", topic, 1), ==, 5);
}

static gboolean
both_received (gpointer data)
{
  Sink **sinks = data;

  return sinks[0]->messages->len > 0 && sinks[1]->messages->len > 0;
}

static GHashTable *
partitions_of (Sink  *sink,
               guint  from)
{
  GHashTable *set = g_hash_table_new (NULL, NULL);

  for (guint i = from; i < sink->messages->len; i++)
    g_hash_table_add (set, GINT_TO_POINTER (wb_bus_message_get_partition (g_ptr_array_index (sink->messages, i)) + 1));
  return set;
}

/* Two members split the partitions; a batch held past the revoke wait is
 * not committed by its old owner, and the new owner processes it. */
static void
test_rebalance (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(Sink) a = sink_new ();
  g_autoptr(Sink) b = sink_new ();
  g_autoptr(GHashTable) processed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) a_parts = NULL;
  g_autoptr(GHashTable) b_parts = NULL;
  Sink *sinks[] = { NULL, NULL };
  WbBusKafkaCounters counters;
  guint a_before, held, total = 0;
  GHashTableIter iter;
  gpointer key;

  for (guint i = 0; i < 40; i++)
    {
      g_autofree char *payload = g_strdup_printf ("p%u", i);
      g_autofree char *k = g_strdup_printf ("k%u", i);
      try_publish (f->bus, f->topic, k, payload);
    }
  flush_wait (f->bus);

  a->hold = TRUE;
  subscribe (f, f->bus, "split", f->topic, 10, 0, a);
  g_assert_true (sink_wait (a, 1, 15000));
  held = a->messages->len;

  /* B joins; A's revoke waits BUS_TIMEOUT_MS for the held batch, then gives
   * its partitions up uncommitted. */
  subscribe (f, f->bus, "split", f->topic, 10, 0, b);
  spin (BUS_TIMEOUT_MS + 1500);
  a->hold = FALSE;
  sink_ack_held (a);
  a_before = a->messages->len;

  for (guint i = 40; i < 80; i++)
    {
      g_autofree char *payload = g_strdup_printf ("p%u", i);
      g_autofree char *k = g_strdup_printf ("k%u", i);
      try_publish (f->bus, f->topic, k, payload);
    }
  sinks[0] = a;
  sinks[1] = b;
  g_assert_true (wait_for (both_received, sinks, 15000));

  /* Every message processed at least once, by one member or the other. */
  for (guint s = 0; s < 2; s++)
    for (guint i = 0; i < sinks[s]->messages->len; i++)
      g_hash_table_add (processed, payload_text (g_ptr_array_index (sinks[s]->messages, i)));
  for (gint64 deadline = g_get_monotonic_time () + 15 * G_USEC_PER_SEC;
       g_hash_table_size (processed) < 80 && g_get_monotonic_time () < deadline;)
    {
      spin (100);
      g_hash_table_remove_all (processed);
      for (guint s = 0; s < 2; s++)
        for (guint i = 0; i < sinks[s]->messages->len; i++)
          g_hash_table_add (processed, payload_text (g_ptr_array_index (sinks[s]->messages, i)));
    }
  g_assert_cmpuint (g_hash_table_size (processed), ==, 80);
  flush_wait (f->bus);

  /* After the rebalance, each owns its own partitions. */
  a_parts = partitions_of (a, a_before);
  b_parts = partitions_of (b, 0);
  g_assert_cmpuint (g_hash_table_size (a_parts), >, 0);
  g_assert_cmpuint (g_hash_table_size (b_parts), >, 0);
  g_hash_table_iter_init (&iter, a_parts);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_assert_false (g_hash_table_contains (b_parts, key));

  /* The held batch was acked after its partitions went: no commit from A;
   * its messages came again to the group. */
  wb_bus_kafka_get_counters (WB_BUS_KAFKA (f->bus), &counters);
  g_assert_cmpuint (counters.commits_skipped, ==, 1);
  total = a->messages->len + b->messages->len;
  g_assert_cmpuint (total, >=, 80 + held);
  g_assert_cmpint (committed_total (f, "split", f->topic, 4), ==, 80);
}

/* Produce requests fail twice; librdkafka retries and the message lands once. */
static void
test_delivery_retried (Fixture       *f,
                       gconstpointer  data)
{
  rd_kafka_mock_cluster_t *mock = _wb_kafka_dev_get_mock_cluster (f->dev);
  g_autoptr(WbBusMessage) warm = wb_bus_message_new_take (f->topic, "k", g_strdup ("warm"));
  g_autoptr(WbBusMessage) message = wb_bus_message_new_take (f->topic, "k", g_strdup ("once"));
  g_autoptr(Sink) sink = sink_new ();
  g_autoptr(GError) error = NULL;
  guint copies = 0;

  g_assert_true (publish_wait (f->bus, warm, 10000, NULL));
  rd_kafka_mock_push_request_errors (mock, 0 /* Produce */, 3,
                                     RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                     RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                                     RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);
  g_assert_true (publish_wait (f->bus, message, 20000, &error));
  g_assert_no_error (error);

  subscribe (f, f->bus, "once", f->topic, 50, 0, sink);
  g_assert_true (sink_wait (sink, 2, 15000));
  spin (500);
  for (guint i = 0; i < sink->messages->len; i++)
    {
      g_autofree char *payload = payload_text (g_ptr_array_index (sink->messages, i));
      copies += g_str_equal (payload, "once");
    }
  g_assert_cmpuint (copies, ==, 1);
  g_assert_cmpuint (sink->messages->len, ==, 2);
  g_assert_true (wb_bus_is_ready (f->bus, NULL));
}

/* Brokers down longer than message.timeout.ms: the delivery fails, is
 * logged with topic and key, and the bus is not ready until one succeeds. */
static void
test_delivery_failed (Fixture       *f,
                      gconstpointer  data)
{
  /* Long enough for a first delivery on a loaded machine (sanitizers, a
   * parallel test run), short enough for the test. */
  const char *more[] = { "message.timeout.ms=3000", NULL };
  rd_kafka_mock_cluster_t *mock = _wb_kafka_dev_get_mock_cluster (f->dev);
  g_autoptr(WbBusMessage) warm = NULL;
  g_autoptr(WbBusMessage) lost = NULL;
  g_autoptr(WbBusMessage) later = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *reason = NULL;
  WbBusKafkaCounters counters;

  f->expect_warnings = TRUE;
  wb_bus_close (f->bus);
  g_clear_object (&f->bus);
  f->bus = bus_new (f, more);
  warm = wb_bus_message_new_take (f->topic, "vehicle-9", g_strdup ("warm"));
  lost = wb_bus_message_new_take (f->topic, "vehicle-9", g_strdup ("lost"));
  later = wb_bus_message_new_take (f->topic, "vehicle-9", g_strdup ("later"));
  g_assert_true (publish_wait (f->bus, warm, 10000, NULL));
  g_assert_true (wb_bus_is_ready (f->bus, NULL));

  rd_kafka_mock_broker_set_down (mock, 1);
  g_assert_false (publish_wait (f->bus, lost, 15000, &error));
  g_assert_error (error, WB_BUS_ERROR, WB_BUS_ERROR_DELIVERY);
  g_assert_false (wb_bus_is_ready (f->bus, &reason));
  g_assert_nonnull (reason);
  g_test_message ("not ready: %s", reason);
  g_assert_true (bus_warned (f->topic, "vehicle-9"));
  wb_bus_kafka_get_counters (WB_BUS_KAFKA (f->bus), &counters);
  g_assert_cmpuint (counters.failed, ==, 1);

  rd_kafka_mock_broker_set_up (mock, 1);
  g_assert_true (publish_wait (f->bus, later, 15000, NULL));
  spin (200);
  g_clear_pointer (&reason, g_free);
  g_assert_true (wb_bus_is_ready (f->bus, &reason));
  g_assert_null (reason);
}

static void
on_dead_lettered (GObject      *object,
                  GAsyncResult *result,
                  gpointer      data)
{
  Result *r = data;

  r->ok = wb_bus_dead_letter_finish (WB_BUS (object), result, &r->error);
  r->done = TRUE;
}

static void
test_dead_letter (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(Sink) sink = sink_new ();
  g_autoptr(Sink) letters = sink_new ();
  g_autofree char *dlq = g_strconcat (f->topic, ".dlq", NULL);
  g_autofree char *partition = NULL;
  g_autofree char *offset = NULL;
  g_autofree char *payload = NULL;
  g_autoptr(WbBusMessage) message = wb_bus_message_new_take (f->topic, "ship-7", g_strdup ("{bad json"));
  WbBusMessage *bad, *letter;
  Result r = { 0 };

  create_topic (f, dlq, 1);
  wb_bus_message_add_header (message, "origin", "carrier-x");
  g_assert_true (publish_wait (f->bus, message, 10000, NULL));
  subscribe (f, f->bus, "dead", f->topic, 10, 0, sink);
  g_assert_true (sink_wait (sink, 1, 15000));
  bad = g_ptr_array_index (sink->messages, 0);

  wb_bus_dead_letter_async (f->bus, bad, "payload is not JSON", NULL, on_dead_lettered, &r);
  g_assert_true (wait_for (result_done, &r, 10000));
  g_assert_no_error (r.error);
  g_assert_true (r.ok);

  subscribe (f, f->bus, "dead-reader", dlq, 10, 0, letters);
  g_assert_true (sink_wait (letters, 1, 15000));
  letter = g_ptr_array_index (letters->messages, 0);
  partition = g_strdup_printf ("%d", wb_bus_message_get_partition (bad));
  offset = g_strdup_printf ("%" G_GINT64_FORMAT, wb_bus_message_get_offset (bad));
  payload = payload_text (letter);
  g_assert_cmpstr (wb_bus_message_get_topic (letter), ==, dlq);
  g_assert_cmpstr (wb_bus_message_get_key (letter), ==, "ship-7");
  g_assert_cmpstr (payload, ==, "{bad json");
  g_assert_cmpstr (wb_bus_message_get_header (letter, "x-error"), ==, "payload is not JSON");
  g_assert_cmpstr (wb_bus_message_get_header (letter, "x-source-topic"), ==, f->topic);
  g_assert_cmpstr (wb_bus_message_get_header (letter, "x-source-partition"), ==, partition);
  g_assert_cmpstr (wb_bus_message_get_header (letter, "x-source-offset"), ==, offset);
  g_assert_cmpstr (wb_bus_message_get_header (letter, "origin"), ==, "carrier-x");
}

/* Topic names as deployed: a prefix, and renames. The code publishes and
 * consumes "its" names; the brokers see the deployed ones. */
static void
test_topic_names (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(Sink) sink = sink_new ();
  g_autoptr(Sink) raw = sink_new ();
  g_autoptr(WbBus) plain = bus_new (f, NULL);
  g_autofree char *renamed = g_strconcat ("deployed-", f->topic, NULL);
  g_autofree char *rename = g_strdup_printf ("%s=%s", f->topic, renamed);
  const char *renames[] = { rename, NULL };
  const char *bad[] = { "no-equals-sign", NULL };
  g_autoptr(GError) error = NULL;
  WbBusMessage *got;

  g_assert_false (wb_bus_kafka_set_topic_names (WB_BUS_KAFKA (f->bus), NULL, bad, &error));
  g_assert_error (error, WB_BUS_ERROR, WB_BUS_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_true (wb_bus_kafka_set_topic_names (WB_BUS_KAFKA (f->bus), "prod.", renames, &error));
  g_assert_no_error (error);
  create_topic (f, renamed, 1);

  try_publish (f->bus, f->topic, "k", "renamed");
  subscribe (f, f->bus, "names", f->topic, 10, 0, sink);
  g_assert_true (sink_wait (sink, 1, 15000));
  got = g_ptr_array_index (sink->messages, 0);
  g_assert_cmpstr (wb_bus_message_get_topic (got), ==, f->topic);

  /* A bus without the renames finds it under its deployed name. */
  subscribe (f, plain, "names-raw", renamed, 10, 0, raw);
  g_assert_true (sink_wait (raw, 1, 15000));
  g_assert_cmpstr (wb_bus_message_get_topic (g_ptr_array_index (raw->messages, 0)), ==, renamed);
  wb_bus_close (plain);
}

static void
test_ensure_topics (Fixture       *f,
                    gconstpointer  data)
{
  g_autofree char *missing = unique_topic ("ensure-missing");
  const char *topics[] = { f->topic, missing, NULL };
  g_autoptr(GError) error = NULL;

  g_assert_false (wb_bus_kafka_ensure_topics (WB_BUS_KAFKA (f->bus), topics, FALSE, 3, &error));
  g_assert_error (error, WB_BUS_ERROR, WB_BUS_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, missing));
  g_assert_null (strstr (error->message, f->topic));
  g_clear_error (&error);

  /* The mock brokers lack CreateTopics: this takes the auto-creation path. */
  g_assert_true (wb_bus_kafka_ensure_topics (WB_BUS_KAFKA (f->bus), topics, TRUE, 3, &error));
  g_assert_no_error (error);
  g_assert_true (wb_bus_kafka_ensure_topics (WB_BUS_KAFKA (f->bus), topics, FALSE, 3, &error));
  g_assert_no_error (error);
}

static void
test_invalid_config (void)
{
  const char *bad[] = { "no.such.property=1", NULL };
  const char *malformed[] = { "linger.ms", NULL };
  g_autoptr(GError) error = NULL;
  WbBus *bus;

  bus = wb_bus_kafka_new_with_properties ("127.0.0.1:1", "waybill", 1000, bad, &error);
  g_assert_null (bus);
  g_assert_error (error, WB_BUS_ERROR, WB_BUS_ERROR_INVALID);
  g_clear_error (&error);
  bus = wb_bus_kafka_new_with_properties ("127.0.0.1:1", "waybill", 1000, malformed, &error);
  g_assert_null (bus);
  g_assert_error (error, WB_BUS_ERROR, WB_BUS_ERROR_INVALID);
  g_clear_error (&error);
  bus = wb_bus_kafka_new ("", "waybill", 1000, &error);
  g_assert_null (bus);
  g_assert_error (error, WB_BUS_ERROR, WB_BUS_ERROR_INVALID);
}

static char *
run_kcat (const char * const *argv,
          const char         *input)
{
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  process = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                     G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, input, NULL, &out, &err, &error);
  g_assert_no_error (error);
  if (!g_subprocess_get_successful (process))
    g_test_message ("kcat stderr: %s", err);
  g_assert_true (g_subprocess_get_successful (process));
  return g_steal_pointer (&out);
}

static void
test_kcat (Fixture       *f,
           gconstpointer  data)
{
  g_autofree char *kcat = g_find_program_in_path ("kcat");
  g_autoptr(Sink) sink = sink_new ();
  g_autoptr(WbBusMessage) message = NULL;
  g_autofree char *out = NULL;
  g_autofree char *payload = NULL;
  g_auto(GStrv) lines = NULL;
  const char *bootstrap;
  gboolean seen = FALSE;

  if (kcat == NULL)
    {
      g_test_skip ("kcat is not installed");
      return;
    }
  bootstrap = wb_kafka_dev_get_bootstrap_servers (f->dev);

  /* kcat produces, the bus consumes. */
  {
    const char *argv[] = { kcat, "-b", bootstrap, "-P", "-t", f->topic, "-k", "truck-3", NULL };
    g_free (run_kcat (argv, "from kcat\n"));
  }
  subscribe (f, f->bus, "kcat", f->topic, 10, 0, sink);
  g_assert_true (sink_wait (sink, 1, 15000));
  payload = payload_text (g_ptr_array_index (sink->messages, 0));
  g_assert_cmpstr (payload, ==, "from kcat");
  g_assert_cmpstr (wb_bus_message_get_key (g_ptr_array_index (sink->messages, 0)), ==, "truck-3");

  /* The bus produces, kcat consumes. */
  message = wb_bus_message_new_take (f->topic, "truck-4", g_strdup ("from the bus"));
  g_assert_true (publish_wait (f->bus, message, 10000, NULL));
  {
    const char *argv[] = { kcat, "-b", bootstrap, "-C", "-t", f->topic, "-e", "-J", "-q", NULL };
    out = run_kcat (argv, NULL);
  }
  lines = g_strsplit (out, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      JsonObject *object;

      if (*lines[i] == '\0')
        continue;
      g_assert_true (json_parser_load_from_data (parser, lines[i], -1, NULL));
      object = json_node_get_object (json_parser_get_root (parser));
      if (g_strcmp0 (json_object_get_string_member_with_default (object, "payload", NULL), "from the bus") == 0)
        {
          g_assert_cmpstr (json_object_get_string_member (object, "key"), ==, "truck-4");
          g_assert_cmpint (json_object_get_int_member (object, "partition"), ==,
                           wb_bus_message_get_partition (message));
          g_assert_cmpint (json_object_get_int_member (object, "offset"), ==,
                           wb_bus_message_get_offset (message));
          seen = TRUE;
        }
    }
  g_assert_true (seen);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* Warnings are checked by the tests (on_bus_log), not fatal. */
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
  bus_warnings = g_ptr_array_new_with_free_func (g_free);
  g_log_set_handler ("Waybill-Bus", G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL, on_bus_log, NULL);

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/kafka/round-trip", test_round_trip);
  ADD ("/kafka/linger", test_linger);
  ADD ("/kafka/commit-after-ack", test_commit_after_ack);
  ADD ("/kafka/retry", test_retry);
  ADD ("/kafka/rebalance", test_rebalance);
  ADD ("/kafka/delivery-retried", test_delivery_retried);
  ADD ("/kafka/delivery-failed", test_delivery_failed);
  ADD ("/kafka/dead-letter", test_dead_letter);
  ADD ("/kafka/ensure-topics", test_ensure_topics);
  ADD ("/kafka/kcat", test_kcat);
  ADD ("/kafka/topic-names", test_topic_names);
#undef ADD
  g_test_add_func ("/kafka/invalid-config", test_invalid_config);

  return g_test_run ();
}
