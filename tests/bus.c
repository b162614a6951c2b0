// SPDX-License-Identifier: GPL-3.0-or-later
/* The in-process bus: delivery per consumer group, ack-gated batches, key
 * order, bounded queues with back-pressure, retry, hand-over on unsubscribe. */

#include "config.h"

#include <string.h>

#include "wb-bus-local.h"

typedef struct
{
  GPtrArray  *received;   /* char* payloads, in arrival order */
  GPtrArray  *batches;    /* WbBusBatch* held unacked when hold is set */
  gboolean    hold;
  guint       retry_once_ms;
  guint       batch_sizes_max;
} Sink;

static void
sink_init (Sink *sink)
{
  memset (sink, 0, sizeof *sink);
  sink->received = g_ptr_array_new_with_free_func (g_free);
  sink->batches = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_bus_batch_unref);
}

static void
sink_clear (Sink *sink)
{
  g_ptr_array_unref (sink->received);
  g_ptr_array_unref (sink->batches);
}

static void
on_batch (WbBus      *bus,
          WbBusBatch *batch,
          gpointer    data)
{
  Sink *sink = data;

  if (sink->retry_once_ms)
    {
      guint delay = sink->retry_once_ms;

      sink->retry_once_ms = 0;
      wb_bus_batch_retry (batch, delay);
      return;
    }
  sink->batch_sizes_max = MAX (sink->batch_sizes_max, wb_bus_batch_get_length (batch));
  for (guint i = 0; i < wb_bus_batch_get_length (batch); i++)
    {
      GBytes *payload = wb_bus_message_get_payload (wb_bus_batch_get_message (batch, i));

      g_ptr_array_add (sink->received, g_strndup (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload)));
    }
  if (sink->hold)
    g_ptr_array_add (sink->batches, wb_bus_batch_ref (batch));
  else
    wb_bus_batch_ack (batch);
}

static void
publish (WbBus      *bus,
         const char *topic,
         const char *key,
         const char *payload)
{
  g_autoptr(WbBusMessage) message = wb_bus_message_new_take (topic, key, g_strdup (payload));
  g_autoptr(GError) error = NULL;

  g_assert_true (wb_bus_try_publish (bus, message, &error));
  g_assert_no_error (error);
}

static void
iterate_until_idle (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
test_groups_each_get_every_message (void)
{
  g_autoptr(WbBus) bus = wb_bus_local_new (16);
  const char *topics[] = { "tracking.events", NULL };
  Sink a, b;

  sink_init (&a);
  sink_init (&b);
  wb_bus_subscribe (bus, "gateway", topics, 10, on_batch, &a, NULL);
  wb_bus_subscribe (bus, "notifier", topics, 10, on_batch, &b, NULL);

  publish (bus, "tracking.events", "s1", "one");
  publish (bus, "tracking.events", "s2", "two");
  publish (bus, "other.topic", "s1", "ignored");
  iterate_until_idle ();

  g_assert_cmpuint (a.received->len, ==, 2);
  g_assert_cmpuint (b.received->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (a.received, 0), ==, "one");
  g_assert_cmpstr (g_ptr_array_index (b.received, 1), ==, "two");
  g_assert_cmpuint (wb_bus_local_get_published (WB_BUS_LOCAL (bus)), ==, 3);
  sink_clear (&a);
  sink_clear (&b);
}

static void
test_headers_and_position (void)
{
  g_autoptr(WbBusMessage) message = wb_bus_message_new_take ("t", "k", g_strdup ("{}"));
  const char * const *names;

  wb_bus_message_add_header (message, "error", "bad json");
  wb_bus_message_add_header (message, "source-topic", "t");
  wb_bus_message_add_header (message, "error", "schema");
  names = wb_bus_message_get_header_names (message);
  g_assert_cmpuint (g_strv_length ((char **) names), ==, 3);
  g_assert_cmpstr (wb_bus_message_get_header (message, "error"), ==, "schema");
  g_assert_cmpstr (wb_bus_message_get_header (message, "source-topic"), ==, "t");
  g_assert_null (wb_bus_message_get_header (message, "missing"));
  g_assert_cmpint (wb_bus_message_get_offset (message), ==, -1);
}

/* The next batch waits for the ack of the previous one. */
static void
test_ack_gates_next_batch (void)
{
  g_autoptr(WbBus) bus = wb_bus_local_new (16);
  const char *topics[] = { "t", NULL };
  Sink sink;

  sink_init (&sink);
  sink.hold = TRUE;
  wb_bus_subscribe (bus, "g", topics, 2, on_batch, &sink, NULL);
  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *payload = g_strdup_printf ("m%u", i);
      publish (bus, "t", "same-key", payload);
    }
  iterate_until_idle ();
  g_assert_cmpuint (sink.received->len, ==, 2);
  g_assert_cmpuint (wb_bus_local_get_queued (WB_BUS_LOCAL (bus), "g"), ==, 5);

  wb_bus_batch_ack (g_ptr_array_index (sink.batches, 0));
  iterate_until_idle ();
  g_assert_cmpuint (sink.received->len, ==, 4);
  g_assert_cmpuint (wb_bus_local_get_queued (WB_BUS_LOCAL (bus), "g"), ==, 3);

  sink.hold = FALSE;
  wb_bus_batch_ack (g_ptr_array_index (sink.batches, 1));
  iterate_until_idle ();
  g_assert_cmpuint (sink.received->len, ==, 5);
  g_assert_cmpuint (sink.batch_sizes_max, ==, 2);
  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *want = g_strdup_printf ("m%u", i);
      g_assert_cmpstr (g_ptr_array_index (sink.received, i), ==, want);
    }
  g_assert_cmpuint (wb_bus_local_get_queued (WB_BUS_LOCAL (bus), "g"), ==, 0);
  sink_clear (&sink);
}

/* With a prefetch of 2, a second batch is out before the first is settled,
 * never a third; a retried batch comes back after the one already out. */
static void
test_prefetch (void)
{
  g_autoptr(WbBus) bus = wb_bus_local_new (16);
  const char *topics[] = { "t", NULL };
  WbBusBatch *first;
  guint id;
  Sink sink;

  sink_init (&sink);
  sink.hold = TRUE;
  id = wb_bus_subscribe (bus, "g", topics, 2, on_batch, &sink, NULL);
  wb_bus_set_prefetch (bus, id, 2);
  for (guint i = 0; i < 7; i++)
    {
      g_autofree char *payload = g_strdup_printf ("m%u", i);
      publish (bus, "t", "same-key", payload);
    }
  iterate_until_idle ();
  g_assert_cmpuint (sink.batches->len, ==, 2);
  g_assert_cmpuint (sink.received->len, ==, 4);

  /* Settling the second frees one slot: one more batch, not two. */
  wb_bus_batch_ack (g_ptr_array_index (sink.batches, 1));
  iterate_until_idle ();
  g_assert_cmpuint (sink.batches->len, ==, 3);
  g_assert_cmpuint (sink.received->len, ==, 6);
  g_assert_cmpstr (g_ptr_array_index (sink.received, 5), ==, "m5");

  /* The first goes back: it comes after the third, which is already out. */
  first = g_ptr_array_index (sink.batches, 0);
  wb_bus_batch_retry (first, 0);
  iterate_until_idle ();
  g_assert_cmpuint (sink.batches->len, ==, 4);
  g_assert_cmpstr (g_ptr_array_index (sink.received, 6), ==, "m0");
  g_assert_cmpstr (g_ptr_array_index (sink.received, 7), ==, "m1");

  sink.hold = FALSE;
  wb_bus_batch_ack (g_ptr_array_index (sink.batches, 2));
  wb_bus_batch_ack (g_ptr_array_index (sink.batches, 3));
  iterate_until_idle ();
  g_assert_cmpstr (g_ptr_array_index (sink.received, sink.received->len - 1), ==, "m6");
  g_assert_cmpuint (wb_bus_local_get_queued (WB_BUS_LOCAL (bus), "g"), ==, 0);
  sink_clear (&sink);
}

static void
on_published (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  GError **error = data;

  if (!wb_bus_publish_finish (WB_BUS (source), result, error) && *error == NULL)
    g_assert_not_reached ();
  if (*error == NULL)
    *error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_NONE, "ok");
}

/* A full group refuses try_publish and makes publish_async wait for room. */
static void
test_back_pressure (void)
{
  g_autoptr(WbBus) bus = wb_bus_local_new (3);
  g_autoptr(WbBusMessage) extra = wb_bus_message_new_take ("t", "k", g_strdup ("extra"));
  g_autoptr(GError) error = NULL;
  GError *async_result = NULL;
  const char *topics[] = { "t", NULL };
  Sink sink;

  sink_init (&sink);
  sink.hold = TRUE;
  wb_bus_subscribe (bus, "g", topics, 10, on_batch, &sink, NULL);
  publish (bus, "t", "k", "a");
  publish (bus, "t", "k", "b");
  publish (bus, "t", "k", "c");

  g_assert_false (wb_bus_try_publish (bus, extra, &error));
  g_assert_error (error, WB_BUS_ERROR, WB_BUS_ERROR_FULL);

  wb_bus_publish_async (bus, extra, NULL, on_published, &async_result);
  iterate_until_idle ();
  g_assert_null (async_result);              /* still waiting for room */
  g_assert_cmpuint (sink.received->len, ==, 3);

  sink.hold = FALSE;
  wb_bus_batch_ack (g_ptr_array_index (sink.batches, 0));
  while (async_result == NULL || sink.received->len < 4)
    g_main_context_iteration (NULL, TRUE);
  g_assert_error (async_result, G_IO_ERROR, G_IO_ERROR_NONE);
  g_assert_cmpstr (g_ptr_array_index (sink.received, 3), ==, "extra");
  g_clear_error (&async_result);
  sink_clear (&sink);
}

/* A publisher waiting for room on a full topic does not hold back one
 * waiting on another topic that has room again: a consumer that publishes
 * while it consumes would otherwise wait for room only it can make. */
static void
test_waiters_held_per_topic (void)
{
  g_autoptr(WbBus) bus = wb_bus_local_new (1);
  g_autoptr(WbBusMessage) raw = wb_bus_message_new_take ("raw", "k", g_strdup ("raw 2"));
  g_autoptr(WbBusMessage) enriched = wb_bus_message_new_take ("enriched", "k", g_strdup ("enriched 2"));
  GError *raw_result = NULL;
  GError *enriched_result = NULL;
  const char *raw_topics[] = { "raw", NULL };
  const char *enriched_topics[] = { "enriched", NULL };
  Sink raw_sink, enriched_sink;

  sink_init (&raw_sink);
  sink_init (&enriched_sink);
  raw_sink.hold = TRUE;
  enriched_sink.hold = TRUE;
  wb_bus_subscribe (bus, "raw-consumer", raw_topics, 10, on_batch, &raw_sink, NULL);
  wb_bus_subscribe (bus, "enriched-consumer", enriched_topics, 10, on_batch, &enriched_sink, NULL);
  publish (bus, "raw", "k", "raw 1");
  publish (bus, "enriched", "k", "enriched 1");
  iterate_until_idle ();

  /* Both full: the raw waiter first, then the enriched one. */
  wb_bus_publish_async (bus, raw, NULL, on_published, &raw_result);
  wb_bus_publish_async (bus, enriched, NULL, on_published, &enriched_result);
  iterate_until_idle ();
  g_assert_null (raw_result);
  g_assert_null (enriched_result);

  /* Room on "enriched" only: its waiter goes, the raw one keeps waiting. */
  enriched_sink.hold = FALSE;
  wb_bus_batch_ack (g_ptr_array_index (enriched_sink.batches, 0));
  for (int i = 0; i < 1000 && enriched_result == NULL; i++)
    iterate_until_idle ();
  g_assert_error (enriched_result, G_IO_ERROR, G_IO_ERROR_NONE);
  g_assert_null (raw_result);

  raw_sink.hold = FALSE;
  wb_bus_batch_ack (g_ptr_array_index (raw_sink.batches, 0));
  while (raw_result == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_error (raw_result, G_IO_ERROR, G_IO_ERROR_NONE);
  iterate_until_idle ();
  g_clear_error (&raw_result);
  g_clear_error (&enriched_result);
  sink_clear (&raw_sink);
  sink_clear (&enriched_sink);
}

static void
test_publish_wait_cancelled (void)
{
  g_autoptr(WbBus) bus = wb_bus_local_new (1);
  g_autoptr(WbBusMessage) extra = wb_bus_message_new_take ("t", "k", g_strdup ("extra"));
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  GError *async_result = NULL;
  const char *topics[] = { "t", NULL };
  Sink sink;

  sink_init (&sink);
  sink.hold = TRUE;
  wb_bus_subscribe (bus, "g", topics, 10, on_batch, &sink, NULL);
  publish (bus, "t", "k", "a");
  wb_bus_publish_async (bus, extra, cancellable, on_published, &async_result);
  iterate_until_idle ();
  g_assert_null (async_result);
  g_cancellable_cancel (cancellable);
  while (async_result == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_error (async_result, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&async_result);
  wb_bus_batch_ack (g_ptr_array_index (sink.batches, 0));
  iterate_until_idle ();
  g_assert_cmpuint (sink.received->len, ==, 1);
  sink_clear (&sink);
}

/* A transient fault: the same batch comes back, in order, after the delay. */
static void
test_retry_redelivers_in_order (void)
{
  g_autoptr(WbBus) bus = wb_bus_local_new (16);
  const char *topics[] = { "t", NULL };
  Sink sink;
  gint64 start;

  sink_init (&sink);
  sink.retry_once_ms = 50;
  wb_bus_subscribe (bus, "g", topics, 10, on_batch, &sink, NULL);
  publish (bus, "t", "k", "first");
  publish (bus, "t", "k", "second");
  start = g_get_monotonic_time ();
  while (sink.received->len < 2)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 40 * 1000);
  g_assert_cmpstr (g_ptr_array_index (sink.received, 0), ==, "first");
  g_assert_cmpstr (g_ptr_array_index (sink.received, 1), ==, "second");
  sink_clear (&sink);
}

/* One key always lands on the same member of a group; when that member
 * leaves, its queued messages go to the one that stays. */
static void
test_group_members_split_by_key_and_hand_over (void)
{
  g_autoptr(WbBus) bus = wb_bus_local_new (64);
  const char *topics[] = { "t", NULL };
  Sink a, b;
  guint id_a;

  sink_init (&a);
  sink_init (&b);
  id_a = wb_bus_subscribe (bus, "g", topics, 100, on_batch, &a, NULL);
  wb_bus_subscribe (bus, "g", topics, 100, on_batch, &b, NULL);
  for (guint i = 0; i < 20; i++)
    {
      g_autofree char *key = g_strdup_printf ("vehicle-%u", i % 4);
      publish (bus, "t", key, key);
    }
  iterate_until_idle ();
  g_assert_cmpuint (a.received->len + b.received->len, ==, 20);
  for (guint i = 0; i < a.received->len; i++)
    for (guint j = 0; j < b.received->len; j++)
      g_assert_cmpstr (g_ptr_array_index (a.received, i), !=, g_ptr_array_index (b.received, j));

  /* Queue messages while a holds its batch, then let a leave. */
  a.hold = TRUE;
  b.hold = TRUE;
  for (guint i = 0; i < 8; i++)
    {
      g_autofree char *key = g_strdup_printf ("vehicle-%u", i % 4);
      publish (bus, "t", key, "late");
    }
  iterate_until_idle ();
  g_ptr_array_set_size (a.received, 0);
  g_ptr_array_set_size (b.received, 0);
  for (guint i = 0; i < a.batches->len; i++)
    wb_bus_batch_ack (g_ptr_array_index (a.batches, i));
  for (guint i = 0; i < b.batches->len; i++)
    wb_bus_batch_ack (g_ptr_array_index (b.batches, i));
  wb_bus_unsubscribe (bus, id_a);
  b.hold = FALSE;
  iterate_until_idle ();
  g_assert_cmpuint (wb_bus_local_get_queued (WB_BUS_LOCAL (bus), "g"), ==, 0);
  g_assert_cmpuint (a.received->len, ==, 0);
  sink_clear (&a);
  sink_clear (&b);
}

static void
on_flushed (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  gboolean *done = data;

  g_assert_true (wb_bus_flush_finish (WB_BUS (source), result, NULL));
  *done = TRUE;
}

static void
test_flush_waits_for_acks_and_close_refuses (void)
{
  g_autoptr(WbBus) bus = wb_bus_local_new (8);
  g_autoptr(WbBusMessage) late = wb_bus_message_new_take ("t", "k", g_strdup ("late"));
  g_autoptr(GError) error = NULL;
  g_autofree char *reason = NULL;
  const char *topics[] = { "t", NULL };
  gboolean flushed = FALSE;
  Sink sink;

  sink_init (&sink);
  sink.hold = TRUE;
  wb_bus_subscribe (bus, "g", topics, 8, on_batch, &sink, NULL);
  publish (bus, "t", "k", "x");
  wb_bus_flush_async (bus, NULL, on_flushed, &flushed);
  iterate_until_idle ();
  g_assert_false (flushed);
  wb_bus_batch_ack (g_ptr_array_index (sink.batches, 0));
  while (!flushed)
    g_main_context_iteration (NULL, TRUE);

  g_assert_true (wb_bus_is_ready (bus, NULL));
  wb_bus_close (bus);
  g_assert_false (wb_bus_is_ready (bus, &reason));
  g_assert_nonnull (reason);
  g_assert_false (wb_bus_try_publish (bus, late, &error));
  g_assert_error (error, WB_BUS_ERROR, WB_BUS_ERROR_CLOSED);
  sink_clear (&sink);
}

static void
on_flush_cancelled (GObject      *source,
                    GAsyncResult *result,
                    gpointer      data)
{
  gboolean *done = data;
  g_autoptr(GError) error = NULL;

  g_assert_false (wb_bus_flush_finish (WB_BUS (source), result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  *done = TRUE;
}

static gboolean
cancel_later (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

/* A flush that cannot finish (a message is never acknowledged) gives up
 * when its cancellable is cancelled, as a stopping daemon's deadline does. */
static void
test_flush_gives_up_when_cancelled (void)
{
  g_autoptr(WbBus) bus = wb_bus_local_new (8);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GCancellable) already = g_cancellable_new ();
  const char *topics[] = { "t", NULL };
  gboolean flushed = FALSE;
  gboolean flushed_already = FALSE;
  Sink sink;

  sink_init (&sink);
  sink.hold = TRUE;
  wb_bus_subscribe (bus, "g", topics, 8, on_batch, &sink, NULL);
  publish (bus, "t", "k", "x");

  wb_bus_flush_async (bus, cancellable, on_flush_cancelled, &flushed);
  g_timeout_add (200, cancel_later, cancellable);
  iterate_until_idle ();
  g_assert_false (flushed);
  while (!flushed)
    g_main_context_iteration (NULL, TRUE);

  g_cancellable_cancel (already);
  wb_bus_flush_async (bus, already, on_flush_cancelled, &flushed_already);
  while (!flushed_already)
    g_main_context_iteration (NULL, TRUE);

  wb_bus_batch_ack (g_ptr_array_index (sink.batches, 0));
  flushed = FALSE;
  wb_bus_flush_async (bus, NULL, on_flushed, &flushed);
  while (!flushed)
    g_main_context_iteration (NULL, TRUE);
  sink_clear (&sink);
}

/* Acks may come from a worker thread, as they will after a database commit. */
static gpointer
ack_in_thread (gpointer data)
{
  wb_bus_batch_ack (data);
  wb_bus_batch_unref (data);
  return NULL;
}

static void
on_batch_ack_from_thread (WbBus      *bus,
                          WbBusBatch *batch,
                          gpointer    data)
{
  guint *count = data;

  *count += wb_bus_batch_get_length (batch);
  g_thread_unref (g_thread_new ("ack", ack_in_thread, wb_bus_batch_ref (batch)));
}

static void
test_ack_from_another_thread (void)
{
  g_autoptr(WbBus) bus = wb_bus_local_new (4);
  const char *topics[] = { "t", NULL };
  guint count = 0;

  wb_bus_subscribe (bus, "g", topics, 3, on_batch_ack_from_thread, &count, NULL);
  for (guint i = 0; i < 100; i++)
    {
      g_autoptr(WbBusMessage) message = wb_bus_message_new_take ("t", "k", g_strdup ("m"));
      GError *result = NULL;

      wb_bus_publish_async (bus, message, NULL, on_published, &result);
      while (result == NULL)
        g_main_context_iteration (NULL, TRUE);
      g_clear_error (&result);
    }
  while (count < 100)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (count, ==, 100);
}

typedef struct
{
  WbBus *bus;
  guint  remaining;
} Chain;

static void
on_chain_published (GObject      *source,
                    GAsyncResult *result,
                    gpointer      data)
{
  Chain *chain = data;
  g_autoptr(WbBusMessage) next = NULL;

  g_assert_true (wb_bus_publish_finish (WB_BUS (source), result, NULL));
  if (--chain->remaining == 0)
    return;
  /* Publishing again from the callback of a woken publisher: the bus must
   * not hold its lock while it completes the task (it used to deadlock). */
  next = wb_bus_message_new_take ("t", "k", g_strdup ("m"));
  wb_bus_publish_async (chain->bus, next, NULL, on_chain_published, chain);
}

static void
test_publish_from_completion_callback (void)
{
  g_autoptr(WbBus) bus = wb_bus_local_new (1);
  const char *topics[] = { "t", NULL };
  g_autoptr(WbBusMessage) second = wb_bus_message_new_take ("t", "k", g_strdup ("m"));
  Chain chain = { bus, 20 };
  Sink sink;

  sink_init (&sink);
  wb_bus_subscribe (bus, "g", topics, 1, on_batch, &sink, NULL);
  publish (bus, "t", "k", "fill");
  wb_bus_publish_async (bus, second, NULL, on_chain_published, &chain);
  for (int i = 0; i < 2000 && chain.remaining > 0; i++)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (chain.remaining, ==, 0);
  sink_clear (&sink);
}

/* A lingering subscriber gets a small batch only once its oldest message
 * has waited linger_ms, and a full batch at once. */
static void
test_linger (void)
{
  g_autoptr(WbBus) bus = wb_bus_local_new (64);
  const char *topics[] = { "telemetry.raw", NULL };
  gint64 published_at, deadline;
  Sink small, full;

  sink_init (&small);
  sink_init (&full);
  wb_bus_subscribe_batched (bus, "writer", topics, 10, 150, on_batch, &small, NULL);

  published_at = g_get_monotonic_time ();
  publish (bus, "telemetry.raw", "d1", "1");
  publish (bus, "telemetry.raw", "d2", "2");
  publish (bus, "telemetry.raw", "d3", "3");
  deadline = published_at + 10 * G_USEC_PER_SEC;
  while (small.received->len == 0 && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (small.received->len, ==, 3);
  g_assert_cmpuint (small.batch_sizes_max, ==, 3);
  /* A 1 ms slack: the bus measures age in whole milliseconds. */
  g_assert_cmpint (g_get_monotonic_time () - published_at, >=, 149 * 1000);

  /* Ten waiting messages fill the batch: no need to sit out a minute. */
  wb_bus_subscribe_batched (bus, "other", topics, 10, 60 * 1000, on_batch, &full, NULL);
  for (guint i = 0; i < 10; i++)
    publish (bus, "telemetry.raw", "d1", "x");
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (full.received->len < 10 && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (full.received->len, ==, 10);
  g_assert_cmpuint (full.batch_sizes_max, ==, 10);

  iterate_until_idle ();
  sink_clear (&small);
  sink_clear (&full);
}

/* A message built from an object: in-process consumers take the object;
 * the payload is made on first use, once; nobody consuming, never. */
static guint serialized;

static char *
serialize_strv (gconstpointer object)
{
  serialized++;
  return g_strjoinv (",", (char **) object);
}

static void
test_object_messages (void)
{
  g_autoptr(WbBus) bus = wb_bus_local_new (16);
  const char *topics[] = { "objects", NULL };
  const char *words[] = { "a", "b", NULL };
  g_autoptr(WbBusMessage) unread = NULL;
  g_autoptr(WbBusMessage) message = NULL;
  const char * const *object;
  GBytes *payload;
  Sink sink;

  serialized = 0;
  unread = wb_bus_message_new_for_object ("nobody.listens", "k", G_TYPE_STRV, g_strdupv ((char **) words),
                                          serialize_strv);
  g_assert_true (wb_bus_try_publish (bus, unread, NULL));
  g_assert_cmpuint (serialized, ==, 0);

  message = wb_bus_message_new_for_object ("objects", "k", G_TYPE_STRV, g_strdupv ((char **) words),
                                           serialize_strv);
  object = wb_bus_message_peek_object (message, G_TYPE_STRV);
  g_assert_nonnull (object);
  g_assert_cmpstr (object[1], ==, "b");
  g_assert_null (wb_bus_message_peek_object (message, G_TYPE_BYTES));
  g_assert_cmpuint (serialized, ==, 0);

  sink_init (&sink);
  wb_bus_subscribe (bus, "g", topics, 10, on_batch, &sink, NULL);
  g_assert_true (wb_bus_try_publish (bus, message, NULL));
  iterate_until_idle ();
  /* The sink reads payloads: made once, however often asked for. */
  g_assert_cmpuint (sink.received->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (sink.received, 0), ==, "a,b");
  payload = wb_bus_message_get_payload (message);
  g_assert_true (payload == wb_bus_message_get_payload (message));
  g_assert_cmpuint (serialized, ==, 1);
  sink_clear (&sink);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/bus/groups-each-get-every-message", test_groups_each_get_every_message);
  g_test_add_func ("/bus/headers-and-position", test_headers_and_position);
  g_test_add_func ("/bus/ack-gates-next-batch", test_ack_gates_next_batch);
  g_test_add_func ("/bus/prefetch", test_prefetch);
  g_test_add_func ("/bus/back-pressure", test_back_pressure);
  g_test_add_func ("/bus/publish-wait-cancelled", test_publish_wait_cancelled);
  g_test_add_func ("/bus/waiters-held-per-topic", test_waiters_held_per_topic);
  g_test_add_func ("/bus/retry-redelivers-in-order", test_retry_redelivers_in_order);
  g_test_add_func ("/bus/group-members-split-by-key-and-hand-over", test_group_members_split_by_key_and_hand_over);
  g_test_add_func ("/bus/flush-waits-for-acks-and-close-refuses", test_flush_waits_for_acks_and_close_refuses);
  g_test_add_func ("/bus/flush-gives-up-when-cancelled", test_flush_gives_up_when_cancelled);
  g_test_add_func ("/bus/ack-from-another-thread", test_ack_from_another_thread);
  g_test_add_func ("/bus/publish-from-completion-callback", test_publish_from_completion_callback);
  g_test_add_func ("/bus/linger", test_linger);
  g_test_add_func ("/bus/object-messages", test_object_messages);

  return g_test_run ();
}
