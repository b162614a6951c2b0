// SPDX-License-Identifier: GPL-3.0-or-later
/* The in-process bus, the default when no Kafka brokers are configured.
 *
 * Each consumer group holds at most queue_size messages (queued or in
 * flight). A full group makes try_publish() fail with WB_BUS_ERROR_FULL and
 * makes publish_async() wait, so producers feel back-pressure instead of the
 * process growing without bound. Within a group a message goes to one
 * subscriber chosen by its key, which keeps each entity's messages in order,
 * as Kafka partitions do. A message published to a topic no group consumes is
 * counted and dropped: unlike Kafka, there is no log to replay it from. */

#include "config.h"

#include "wb-bus-local.h"

typedef struct _Subscriber Subscriber;
typedef struct _Group Group;

struct _Subscriber
{
  gatomicrefcount  ref_count;
  WbBusLocal      *bus;          /* not owned; cleared when removed */
  Group           *group;        /* not owned */
  guint            id;
  GStrv            topics;
  guint            max_batch;
  guint            linger_ms;
  WbBusHandler     handler;
  gpointer         user_data;
  GDestroyNotify   destroy;
  GMainContext    *context;
  GQueue           pending;      /* WbBusMessage*, owned */
  guint            in_flight;    /* messages handed over, not yet settled */
  guint            batches_out;  /* …in this many batches */
  guint            prefetch;     /* the most batches out at once */
  GSource         *dispatch;     /* scheduled delivery, if any */
  gboolean         lingering;    /* …waiting for a fuller batch */
  gboolean         removed;
};

struct _Group
{
  char      *name;
  GPtrArray *subscribers;        /* Subscriber*, owned refs */
  guint      held;               /* pending + in flight, across subscribers */
};

typedef struct
{
  WbBusMessage *message;         /* NULL for a flush */
  gulong        cancel_id;
  GCancellable *cancellable;
} PublishWaiter;

struct _WbBusLocal
{
  WbBus         parent_instance;

  GMutex        mutex;
  guint         queue_size;
  GHashTable   *groups;          /* name → Group */
  GHashTable   *subscribers;     /* id → Subscriber (borrowed from groups) */
  GHashTable   *offsets;         /* topic → gsize*, the next offset */
  guint         next_id;
  GQueue        publish_waiters; /* GTask*, data PublishWaiter */
  GQueue        flush_waiters;   /* GTask* */
  GMainContext *owner_context;
  guint64       published;
  guint64       unrouted;
  gboolean      closed;
};

G_DEFINE_FINAL_TYPE (WbBusLocal, wb_bus_local, WB_TYPE_BUS)

/* A task to complete once the lock is released: GTask may run the callback
 * at once, and a callback that publishes again would take the lock. */
typedef struct
{
  GTask  *task;
  GError *error;
} Completion;

static void schedule_dispatch_locked (Subscriber *sub, guint delay_ms);
static void wake_waiters_locked      (WbBusLocal *self, GQueue *done);

static void
complete_later (GQueue *done,
                GTask  *task,
                GError *error)
{
  Completion *completion = g_new0 (Completion, 1);

  completion->task = task;
  completion->error = error;
  g_queue_push_tail (done, completion);
}

/* Call with the lock released. */
static void
complete_all (GQueue *done)
{
  Completion *completion;

  while ((completion = g_queue_pop_head (done)) != NULL)
    {
      if (completion->error)
        g_task_return_error (completion->task, completion->error);
      else
        g_task_return_boolean (completion->task, TRUE);
      g_object_unref (completion->task);
      g_free (completion);
    }
}

static Subscriber *
subscriber_ref (Subscriber *sub)
{
  g_atomic_ref_count_inc (&sub->ref_count);
  return sub;
}

static void
subscriber_unref (gpointer data)
{
  Subscriber *sub = data;

  if (!g_atomic_ref_count_dec (&sub->ref_count))
    return;
  g_queue_clear_full (&sub->pending, (GDestroyNotify) wb_bus_message_unref);
  g_strfreev (sub->topics);
  g_main_context_unref (sub->context);
  if (sub->destroy)
    sub->destroy (sub->user_data);
  g_free (sub);
}

static void
group_free (gpointer data)
{
  Group *group = data;

  g_ptr_array_unref (group->subscribers);
  g_free (group->name);
  g_free (group);
}

static gboolean
subscriber_wants (Subscriber *sub,
                  const char *topic)
{
  return g_strv_contains ((const char * const *) sub->topics, topic);
}

/* The subscriber of @group that receives @message, or NULL if none of the
 * group's subscribers takes this topic. Hashing the key keeps each entity on
 * one subscriber while the group's membership stays the same. Runs for
 * every message: it allocates nothing. */
static Subscriber *
group_route (Group        *group,
             WbBusMessage *message)
{
  const char *topic = wb_bus_message_get_topic (message);
  const char *key = wb_bus_message_get_key (message);
  guint takers = 0, chosen;

  for (guint i = 0; i < group->subscribers->len; i++)
    if (subscriber_wants (g_ptr_array_index (group->subscribers, i), topic))
      takers++;
  if (takers == 0)
    return NULL;
  chosen = (key ? g_str_hash (key) : 0) % takers;
  for (guint i = 0;; i++)
    {
      Subscriber *sub = g_ptr_array_index (group->subscribers, i);

      if (subscriber_wants (sub, topic) && chosen-- == 0)
        return sub;
    }
}

/* All-or-nothing: either every group that takes the topic has room, or the
 * message goes nowhere and the caller is told the bus is full. */
static gboolean
publish_locked (WbBusLocal    *self,
                WbBusMessage  *message,
                GError       **error)
{
  GHashTableIter iter;
  Group *group;
  gsize *next_offset;
  guint n_targets = 0;

  if (self->closed)
    {
      g_set_error (error, WB_BUS_ERROR, WB_BUS_ERROR_CLOSED, "The bus is closed");
      return FALSE;
    }

  g_hash_table_iter_init (&iter, self->groups);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &group))
    {
      if (group_route (group, message) == NULL)
        continue;
      if (group->held >= self->queue_size)
        {
          g_set_error (error, WB_BUS_ERROR, WB_BUS_ERROR_FULL,
                       "The queue of consumer group “%s” is full (%u messages)",
                       group->name, self->queue_size);
          return FALSE;
        }
      n_targets++;
    }

  next_offset = g_hash_table_lookup (self->offsets, wb_bus_message_get_topic (message));
  if (next_offset == NULL)
    {
      next_offset = g_new0 (gsize, 1);
      g_hash_table_insert (self->offsets, g_strdup (wb_bus_message_get_topic (message)), next_offset);
    }
  wb_bus_message_set_position (message, 0, (*next_offset)++);
  self->published++;
  if (n_targets == 0)
    {
      self->unrouted++;
      return TRUE;
    }

  /* Every group has room: route again, this time to deliver. */
  g_hash_table_iter_init (&iter, self->groups);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &group))
    {
      Subscriber *sub = group_route (group, message);

      if (sub == NULL)
        continue;
      g_queue_push_tail (&sub->pending, wb_bus_message_ref (message));
      sub->group->held++;
      schedule_dispatch_locked (sub, 0);
    }
  return TRUE;
}

static gboolean
wb_bus_local_try_publish (WbBus         *bus,
                          WbBusMessage  *message,
                          GError       **error)
{
  WbBusLocal *self = WB_BUS_LOCAL (bus);
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->mutex);

  return publish_locked (self, message, error);
}

static void
publish_waiter_free (gpointer data)
{
  PublishWaiter *waiter = data;

  if (waiter->cancel_id)
    g_cancellable_disconnect (waiter->cancellable, waiter->cancel_id);
  g_clear_object (&waiter->cancellable);
  g_clear_pointer (&waiter->message, wb_bus_message_unref);
  g_free (waiter);
}

static gboolean
wake_waiters_idle (gpointer data)
{
  WbBusLocal *self = data;
  GQueue done = G_QUEUE_INIT;

  g_mutex_lock (&self->mutex);
  wake_waiters_locked (self, &done);
  g_mutex_unlock (&self->mutex);
  complete_all (&done);
  return G_SOURCE_REMOVE;
}

/* Runs in whatever thread cancelled: only schedule, never take the lock
 * here, since g_cancellable_disconnect() may be waiting on this handler. */
static void
on_publish_cancelled (GCancellable *cancellable,
                      gpointer      data)
{
  WbBusLocal *self = data;
  GSource *source = g_idle_source_new ();

  g_source_set_callback (source, wake_waiters_idle, g_object_ref (self), g_object_unref);
  g_source_attach (source, self->owner_context);
  g_source_unref (source);
}

static void
wb_bus_local_publish_async (WbBus               *bus,
                            WbBusMessage        *message,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  WbBusLocal *self = WB_BUS_LOCAL (bus);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr(GError) error = NULL;
  PublishWaiter *waiter;

  g_task_set_source_tag (task, wb_bus_local_publish_async);

  g_mutex_lock (&self->mutex);
  if (publish_locked (self, message, &error))
    {
      g_mutex_unlock (&self->mutex);
      g_task_return_boolean (task, TRUE);
      return;
    }
  if (!g_error_matches (error, WB_BUS_ERROR, WB_BUS_ERROR_FULL))
    {
      g_mutex_unlock (&self->mutex);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  waiter = g_new0 (PublishWaiter, 1);
  waiter->message = wb_bus_message_ref (message);
  g_task_set_task_data (task, waiter, publish_waiter_free);
  g_queue_push_tail (&self->publish_waiters, g_object_ref (task));
  g_mutex_unlock (&self->mutex);

  if (cancellable != NULL)
    {
      waiter->cancellable = g_object_ref (cancellable);
      waiter->cancel_id = g_cancellable_connect (cancellable, G_CALLBACK (on_publish_cancelled),
                                                 self, NULL);
    }
}

static gboolean
wb_bus_local_publish_finish (WbBus         *bus,
                             GAsyncResult  *result,
                             GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, bus), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static gboolean
flush_done_locked (WbBusLocal *self)
{
  GHashTableIter iter;
  Group *group;

  if (self->publish_waiters.length > 0)
    return FALSE;
  g_hash_table_iter_init (&iter, self->groups);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &group))
    if (group->held > 0)
      return FALSE;
  return TRUE;
}

/* Publishers waiting for room go first, in order per topic: the first of a
 * topic that still does not fit holds back the later ones of that topic
 * only. A waiter for a topic whose groups have room is never held behind one
 * for a full topic: a pipeline that publishes while it consumes (the fleet
 * role takes telemetry.raw and gives positions.enriched) would otherwise
 * wait for room that only it can make. */
static void
wake_waiters_locked (WbBusLocal *self,
                     GQueue     *done)
{
  g_autoptr(GHashTable) blocked = NULL;   /* topics whose first waiter does not fit */
  GTask *task;
  GList *link = self->publish_waiters.head;

  while (link != NULL)
    {
      GList *next = link->next;

      task = link->data;
      if (g_cancellable_is_cancelled (g_task_get_cancellable (task)))
        {
          g_queue_delete_link (&self->publish_waiters, link);
          complete_later (done, task, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                           "Operation was cancelled"));
        }
      link = next;
    }

  for (link = self->publish_waiters.head; link != NULL;)
    {
      GList *next = link->next;
      PublishWaiter *waiter;
      const char *topic;
      g_autoptr(GError) error = NULL;

      task = link->data;
      waiter = g_task_get_task_data (task);
      topic = wb_bus_message_get_topic (waiter->message);
      if (blocked != NULL && g_hash_table_contains (blocked, topic))
        {
          link = next;
          continue;
        }
      if (publish_locked (self, waiter->message, &error))
        {
          g_queue_delete_link (&self->publish_waiters, link);
          complete_later (done, task, NULL);
        }
      else if (g_error_matches (error, WB_BUS_ERROR, WB_BUS_ERROR_FULL))
        {
          if (blocked == NULL)
            blocked = g_hash_table_new (g_str_hash, g_str_equal);
          g_hash_table_add (blocked, (gpointer) topic);
        }
      else
        {
          g_queue_delete_link (&self->publish_waiters, link);
          complete_later (done, task, g_steal_pointer (&error));
        }
      link = next;
    }

  if (flush_done_locked (self) || self->closed)
    while ((task = g_queue_pop_head (&self->flush_waiters)) != NULL)
      complete_later (done, task, NULL);

  /* A flush is bounded by its cancellable: a daemon stopping while a
   * producer keeps publishing gives up waiting at its deadline. */
  for (link = self->flush_waiters.head; link != NULL;)
    {
      GList *next = link->next;

      task = link->data;
      if (g_cancellable_is_cancelled (g_task_get_cancellable (task)))
        {
          g_queue_delete_link (&self->flush_waiters, link);
          complete_later (done, task, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                           "Operation was cancelled"));
        }
      link = next;
    }
}

/* A removed subscriber's messages move to the group's remaining members, so
 * nothing accepted is lost when consumers come and go; with no member left
 * for a topic they are dropped, as for a topic nobody consumes. */
static void
hand_over_pending_locked (Subscriber *sub)
{
  Group *group = sub->group;
  WbBusMessage *message;

  while ((message = g_queue_pop_head (&sub->pending)) != NULL)
    {
      Subscriber *heir = group_route (group, message);

      if (heir != NULL)
        {
          g_queue_push_tail (&heir->pending, message);
          schedule_dispatch_locked (heir, 0);
        }
      else
        {
          group->held--;
          wb_bus_message_unref (message);
        }
    }
}

typedef struct
{
  WbBusLocal *bus;
  Subscriber *sub;
} BatchData;

static void
batch_data_free (gpointer data)
{
  BatchData *bd = data;

  g_object_unref (bd->bus);
  subscriber_unref (bd->sub);
  g_free (bd);
}

static void
batch_ack (WbBusBatch *batch,
           gpointer    data)
{
  BatchData *bd = data;
  guint n = wb_bus_batch_get_length (batch);
  GQueue done = G_QUEUE_INIT;

  g_mutex_lock (&bd->bus->mutex);
  bd->sub->in_flight -= n;
  bd->sub->batches_out--;
  bd->sub->group->held -= n;
  if (!bd->sub->removed)
    schedule_dispatch_locked (bd->sub, 0);
  wake_waiters_locked (bd->bus, &done);
  g_mutex_unlock (&bd->bus->mutex);
  complete_all (&done);
}

/* A transient fault: the same messages come back first, after a pause. */
static void
batch_retry (WbBusBatch *batch,
             gpointer    data,
             guint       delay_ms)
{
  BatchData *bd = data;
  GQueue done = G_QUEUE_INIT;

  g_mutex_lock (&bd->bus->mutex);
  for (guint i = wb_bus_batch_get_length (batch); i > 0; i--)
    g_queue_push_head (&bd->sub->pending,
                       wb_bus_message_ref (wb_bus_batch_get_message (batch, i - 1)));
  bd->sub->in_flight -= wb_bus_batch_get_length (batch);
  bd->sub->batches_out--;
  if (!bd->sub->removed)
    schedule_dispatch_locked (bd->sub, delay_ms);
  else
    {
      hand_over_pending_locked (bd->sub);
      wake_waiters_locked (bd->bus, &done);
    }
  g_mutex_unlock (&bd->bus->mutex);
  complete_all (&done);
}

static const WbBusBatchFuncs local_batch_funcs = { batch_ack, batch_retry };

static gboolean
dispatch_cb (gpointer data)
{
  Subscriber *sub = data;
  WbBusLocal *self;
  g_autoptr(GPtrArray) messages = NULL;
  BatchData *bd;
  WbBusBatch *batch;

  self = sub->bus;
  if (self == NULL)
    return G_SOURCE_REMOVE;

  g_mutex_lock (&self->mutex);
  g_clear_pointer (&sub->dispatch, g_source_unref);
  if (sub->removed || sub->batches_out >= sub->prefetch || sub->pending.length == 0)
    {
      g_mutex_unlock (&self->mutex);
      return G_SOURCE_REMOVE;
    }
  messages = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_bus_message_unref);
  while (messages->len < sub->max_batch && sub->pending.length > 0)
    g_ptr_array_add (messages, g_queue_pop_head (&sub->pending));
  sub->in_flight += messages->len;
  sub->batches_out++;
  /* With a prefetch, the next batch may go out before this one settles. */
  schedule_dispatch_locked (sub, 0);
  g_mutex_unlock (&self->mutex);

  bd = g_new0 (BatchData, 1);
  bd->bus = g_object_ref (self);
  bd->sub = subscriber_ref (sub);
  batch = wb_bus_batch_new (g_steal_pointer (&messages), &local_batch_funcs, bd, batch_data_free);
  sub->handler (WB_BUS (self), batch, sub->user_data);
  wb_bus_batch_unref (batch);
  return G_SOURCE_REMOVE;
}

/* How long a batch smaller than max_batch may still wait for company:
 * linger_ms counted from the oldest waiting message's publication. */
static guint
linger_delay_locked (Subscriber *sub)
{
  WbBusMessage *oldest = g_queue_peek_head (&sub->pending);
  gint64 age_ms;

  if (sub->linger_ms == 0 || sub->pending.length >= sub->max_batch)
    return 0;
  age_ms = g_get_real_time () / 1000 - wb_bus_message_get_timestamp (oldest);
  return age_ms >= (gint64) sub->linger_ms ? 0 : sub->linger_ms - (guint) MAX (age_ms, 0);
}

static void
schedule_dispatch_locked (Subscriber *sub,
                          guint       delay_ms)
{
  GSource *source;
  gboolean lingering = FALSE;

  if (sub->batches_out >= sub->prefetch || sub->pending.length == 0)
    return;
  /* A batch beyond the first goes out full only: the consumer is busy
   * anyway, and one that waits longer is a fuller one. */
  if (sub->batches_out > 0 && sub->pending.length < sub->max_batch)
    return;
  if (delay_ms == 0)
    {
      delay_ms = linger_delay_locked (sub);
      lingering = delay_ms > 0;
    }
  if (sub->dispatch != NULL)
    {
      /* A full batch need not sit out the rest of a linger. */
      if (!sub->lingering || lingering)
        return;
      g_source_destroy (sub->dispatch);
      g_clear_pointer (&sub->dispatch, g_source_unref);
    }
  source = delay_ms ? g_timeout_source_new (delay_ms) : g_idle_source_new ();
  g_source_set_name (source, "[waybill] bus dispatch");
  g_source_set_callback (source, dispatch_cb, subscriber_ref (sub), subscriber_unref);
  g_source_attach (source, sub->context);
  sub->dispatch = source;
  sub->lingering = lingering;
}

static guint
wb_bus_local_subscribe (WbBus              *bus,
                        const char         *group_name,
                        const char * const *topics,
                        guint               max_batch,
                        guint               linger_ms,
                        WbBusHandler        handler,
                        gpointer            user_data,
                        GDestroyNotify      destroy)
{
  WbBusLocal *self = WB_BUS_LOCAL (bus);
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->mutex);
  Subscriber *sub;
  Group *group;

  group = g_hash_table_lookup (self->groups, group_name);
  if (group == NULL)
    {
      group = g_new0 (Group, 1);
      group->name = g_strdup (group_name);
      group->subscribers = g_ptr_array_new_with_free_func (subscriber_unref);
      g_hash_table_insert (self->groups, group->name, group);
    }

  sub = g_new0 (Subscriber, 1);
  g_atomic_ref_count_init (&sub->ref_count);
  sub->bus = self;
  sub->group = group;
  sub->id = ++self->next_id;
  sub->topics = g_strdupv ((char **) topics);
  sub->max_batch = max_batch;
  sub->linger_ms = linger_ms;
  sub->prefetch = 1;
  sub->handler = handler;
  sub->user_data = user_data;
  sub->destroy = destroy;
  sub->context = g_main_context_ref_thread_default ();
  g_queue_init (&sub->pending);
  g_ptr_array_add (group->subscribers, sub);
  g_hash_table_insert (self->subscribers, GUINT_TO_POINTER (sub->id), sub);
  return sub->id;
}

static void
wb_bus_local_set_prefetch (WbBus *bus,
                           guint  subscription_id,
                           guint  batches)
{
  WbBusLocal *self = WB_BUS_LOCAL (bus);
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->mutex);
  Subscriber *sub = g_hash_table_lookup (self->subscribers, GUINT_TO_POINTER (subscription_id));

  g_return_if_fail (sub != NULL);

  sub->prefetch = batches;
  schedule_dispatch_locked (sub, 0);
}

static void
wb_bus_local_unsubscribe (WbBus *bus,
                          guint  id)
{
  WbBusLocal *self = WB_BUS_LOCAL (bus);
  GQueue done = G_QUEUE_INIT;
  Subscriber *sub;
  Group *group;

  g_mutex_lock (&self->mutex);
  sub = g_hash_table_lookup (self->subscribers, GUINT_TO_POINTER (id));
  if (sub == NULL)
    {
      g_mutex_unlock (&self->mutex);
      g_critical ("No bus subscription %u", id);
      return;
    }

  g_hash_table_remove (self->subscribers, GUINT_TO_POINTER (id));
  sub->removed = TRUE;
  if (sub->dispatch)
    {
      g_source_destroy (sub->dispatch);
      g_clear_pointer (&sub->dispatch, g_source_unref);
    }
  group = sub->group;
  subscriber_ref (sub);
  g_ptr_array_remove (group->subscribers, sub);

  hand_over_pending_locked (sub);
  wake_waiters_locked (self, &done);
  g_mutex_unlock (&self->mutex);
  complete_all (&done);
  subscriber_unref (sub);
}

static void
wb_bus_local_flush_async (WbBus               *bus,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  WbBusLocal *self = WB_BUS_LOCAL (bus);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  PublishWaiter *waiter;
  gboolean done;

  g_task_set_source_tag (task, wb_bus_local_flush_async);
  g_mutex_lock (&self->mutex);
  done = flush_done_locked (self) || self->closed;
  if (done)
    {
      g_mutex_unlock (&self->mutex);
      g_task_return_boolean (task, TRUE);
      return;
    }

  waiter = g_new0 (PublishWaiter, 1);
  g_task_set_task_data (task, waiter, publish_waiter_free);
  g_queue_push_tail (&self->flush_waiters, g_object_ref (task));
  g_mutex_unlock (&self->mutex);

  if (cancellable != NULL)
    {
      waiter->cancellable = g_object_ref (cancellable);
      waiter->cancel_id = g_cancellable_connect (cancellable, G_CALLBACK (on_publish_cancelled),
                                                 self, NULL);
    }
}

static gboolean
wb_bus_local_flush_finish (WbBus         *bus,
                           GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, bus), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static gboolean
wb_bus_local_is_ready (WbBus  *bus,
                       char  **out_reason)
{
  WbBusLocal *self = WB_BUS_LOCAL (bus);
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->mutex);

  if (self->closed && out_reason)
    *out_reason = g_strdup ("the bus is closed");
  return !self->closed;
}

static void
wb_bus_local_close (WbBus *bus)
{
  WbBusLocal *self = WB_BUS_LOCAL (bus);
  GQueue done = G_QUEUE_INIT;
  GTask *task;

  g_mutex_lock (&self->mutex);
  self->closed = TRUE;
  while ((task = g_queue_pop_head (&self->publish_waiters)) != NULL)
    complete_later (&done, task, g_error_new_literal (WB_BUS_ERROR, WB_BUS_ERROR_CLOSED, "The bus is closed"));
  wake_waiters_locked (self, &done);
  g_mutex_unlock (&self->mutex);
  complete_all (&done);
}

static void
wb_bus_local_finalize (GObject *object)
{
  WbBusLocal *self = WB_BUS_LOCAL (object);
  GHashTableIter iter;
  Subscriber *sub;

  /* Sources still scheduled hold subscriber refs; make them find no bus. */
  g_hash_table_iter_init (&iter, self->subscribers);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &sub))
    {
      sub->bus = NULL;
      sub->removed = TRUE;
      if (sub->dispatch)
        {
          g_source_destroy (sub->dispatch);
          g_clear_pointer (&sub->dispatch, g_source_unref);
        }
    }
  g_clear_pointer (&self->subscribers, g_hash_table_unref);
  g_clear_pointer (&self->groups, g_hash_table_unref);
  g_clear_pointer (&self->offsets, g_hash_table_unref);
  g_queue_clear_full (&self->publish_waiters, g_object_unref);
  g_queue_clear_full (&self->flush_waiters, g_object_unref);
  g_clear_pointer (&self->owner_context, g_main_context_unref);
  g_mutex_clear (&self->mutex);

  G_OBJECT_CLASS (wb_bus_local_parent_class)->finalize (object);
}

static void
wb_bus_local_class_init (WbBusLocalClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  WbBusClass *bus_class = WB_BUS_CLASS (klass);

  object_class->finalize = wb_bus_local_finalize;

  bus_class->try_publish = wb_bus_local_try_publish;
  bus_class->publish_async = wb_bus_local_publish_async;
  bus_class->publish_finish = wb_bus_local_publish_finish;
  bus_class->subscribe = wb_bus_local_subscribe;
  bus_class->unsubscribe = wb_bus_local_unsubscribe;
  bus_class->set_prefetch = wb_bus_local_set_prefetch;
  bus_class->flush_async = wb_bus_local_flush_async;
  bus_class->flush_finish = wb_bus_local_flush_finish;
  bus_class->is_ready = wb_bus_local_is_ready;
  bus_class->close = wb_bus_local_close;
}

static void
wb_bus_local_init (WbBusLocal *self)
{
  g_mutex_init (&self->mutex);
  self->groups = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, group_free);
  self->subscribers = g_hash_table_new (NULL, NULL);
  self->offsets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->owner_context = g_main_context_ref_thread_default ();
  g_queue_init (&self->publish_waiters);
  g_queue_init (&self->flush_waiters);
}

/**
 * wb_bus_local_new:
 * @queue_size: the most messages one consumer group holds before publishers
 *   are pushed back
 *
 * Returns: (transfer full): the in-process bus
 */
WbBus *
wb_bus_local_new (guint queue_size)
{
  WbBusLocal *self;

  g_return_val_if_fail (queue_size > 0, NULL);

  self = g_object_new (WB_TYPE_BUS_LOCAL, NULL);
  self->queue_size = queue_size;
  return WB_BUS (self);
}

guint
wb_bus_local_get_queued (WbBusLocal *self,
                         const char *group_name)
{
  g_autoptr(GMutexLocker) locker = NULL;
  Group *group;

  g_return_val_if_fail (WB_IS_BUS_LOCAL (self), 0);

  locker = g_mutex_locker_new (&self->mutex);
  group = g_hash_table_lookup (self->groups, group_name);
  return group ? group->held : 0;
}

guint64
wb_bus_local_get_published (WbBusLocal *self)
{
  g_autoptr(GMutexLocker) locker = NULL;

  g_return_val_if_fail (WB_IS_BUS_LOCAL (self), 0);

  locker = g_mutex_locker_new (&self->mutex);
  return self->published;
}
