// SPDX-License-Identifier: GPL-3.0-or-later
/* One share of the /ws/locations streams, in one main context.
 *
 * The gateway's thread alone applies bus batches and numbers the changes
 * (the index and the replay window are one, so {epoch, seq} means the same
 * to every stream). Each applied batch of updates reaches every share in
 * the order applied, through an inbox drained in the share's own thread;
 * each share matches it against its own subscription grid and queues it
 * in its own clients' outboxes, so no client's state is ever touched from
 * two threads.
 *
 * Joining a stream stays exact across threads: batches are put in the
 * inboxes while the gateway still holds the lock for writing, so once a
 * share holds the lock for reading, every change up to the stream's
 * current seq is in its inbox. A subscribe drains the inbox under that
 * lock (those changes go out under the client's old view, as they would
 * have had they arrived first), then takes the snapshot, the replay or
 * the view's difference at that seq; everything published later has a
 * higher seq. Nothing is sent twice, nothing is missed. */

#include "config.h"

#include "wb-json-writer.h"
#include "wb-live-client.h"
#include "wb-live-fanout.h"
#include "wb-live-subscriptions.h"

struct _WbLiveFanout
{
  const WbLiveFanoutShared *shared;
  guint                     number;
  char                     *label;          /* the thread label of its metrics */
  GMainContext             *context;
  GMainLoop                *loop;           /* only with a thread of its own */
  GThread                  *thread;
  GAsyncQueue              *inbox;          /* GPtrArray of WbLiveUpdate, oldest first */
  gint                      wakeup_pending; /* atomic: a drain is scheduled */
  gint                      load;           /* atomic: streams open or on their way */
  gint                      backlog;        /* atomic: updates in the inbox */
  GHashTable               *clients;        /* id → WbLiveClient */
  WbLiveSubscriptions      *subscriptions;
  GArray                   *matches;        /* WbLiveSubscriptionMatch, reused */
  GString                  *frame;          /* each client's frame is written here */
  GSource                  *tick_source;
  guint64                   next_client_id;
  guint64                   seq;            /* the newest change fanned out here */
};

/* ---- from the gateway's thread ---------------------------------------------- */

static WbLiveOutboxKind
kind_of (WbLiveMatch match)
{
  switch (match)
    {
    case WB_LIVE_MATCH_ENTERED: return WB_LIVE_OUTBOX_ENTERED;
    case WB_LIVE_MATCH_LEFT:    return WB_LIVE_OUTBOX_LEFT;
    default:                    return WB_LIVE_OUTBOX_UPDATE;
    }
}

static void
push (WbLiveClient *client,
      WbLiveMatch   match,
      WbLiveUpdate *update)
{
  const WbLiveVehicle *any = update->new_state ? update->new_state : update->old_state;

  (void) wb_live_outbox_push (wb_live_client_get_outbox (client), kind_of (match), any->vehicle_id,
                              match == WB_LIVE_MATCH_LEFT ? NULL : update->new_state, update->seq);
}

static void
fan_out (WbLiveFanout *self,
         GPtrArray    *updates)
{
  for (guint i = 0; i < updates->len; i++)
    {
      WbLiveUpdate *update = g_ptr_array_index (updates, i);

      g_array_set_size (self->matches, 0);
      wb_live_subscriptions_match (self->subscriptions, update->old_state, update->new_state, self->matches);
      for (guint m = 0; m < self->matches->len; m++)
        {
          WbLiveSubscriptionMatch *match = &g_array_index (self->matches, WbLiveSubscriptionMatch, m);

          /* A closed client's subscription is gone before the client. */
          push (match->data, match->match, update);
        }
      self->seq = MAX (self->seq, update->seq);
    }
}

static void
drain_inbox (WbLiveFanout *self)
{
  GPtrArray *updates;

  while ((updates = g_async_queue_try_pop (self->inbox)) != NULL)
    {
      fan_out (self, updates);
      g_atomic_int_add (&self->backlog, -(gint) updates->len);
      g_ptr_array_unref (updates);
    }
}

static gboolean
on_inbox (gpointer data)
{
  WbLiveFanout *self = data;

  /* Cleared first: a batch put after this drain schedules another. */
  g_atomic_int_set (&self->wakeup_pending, 0);
  drain_inbox (self);
  return G_SOURCE_REMOVE;
}

void
wb_live_fanout_publish (WbLiveFanout *self,
                        GPtrArray    *updates)
{
  g_return_if_fail (self != NULL);

  g_atomic_int_add (&self->backlog, (gint) updates->len);
  g_async_queue_push (self->inbox, g_ptr_array_ref (updates));
  if (g_atomic_int_compare_and_exchange (&self->wakeup_pending, 0, 1))
    {
      g_autoptr(GSource) source = g_idle_source_new ();

      /* Not idle priority: a busy share must still fan out. */
      g_source_set_priority (source, G_PRIORITY_DEFAULT);
      g_source_set_callback (source, on_inbox, self, NULL);
      g_source_attach (source, self->context);
    }
}

/* ---- the streams ------------------------------------------------------------ */

static void
count_closed (WbLiveFanout *self,
              const char   *reason)
{
  wb_metrics_counter_add (self->shared->metrics, "waybill_live_connections_closed_total", 1, "reason", reason, NULL);
}

static void
count_streams (WbLiveFanout *self,
               int           delta)
{
  wb_metrics_gauge_add (self->shared->metrics, "waybill_live_connections", delta, NULL);
  wb_metrics_gauge_add (self->shared->metrics, "waybill_live_thread_connections", delta,
                        "thread", self->label, NULL);
}

static void
send_position_frame (WbLiveFanout *self,
                     WbLiveClient *client,
                     const char   *type)
{
  g_autoptr(GString) out = g_string_new ("{\"type\":");

  wb_json_write_string (out, type);
  g_string_append (out, ",\"epoch\":");
  wb_json_write_string (out, wb_replay_window_get_epoch (self->shared->replay));
  g_string_append (out, ",\"seq\":");
  wb_json_write_int (out, (gint64) self->seq);
  g_string_append_c (out, '}');
  wb_live_client_send_now (client, out->str);
}

static void
push_entered (WbLiveFanout *self,
              WbLiveClient *client,
              GPtrArray    *entered,
              GPtrArray    *left_ids)
{
  WbLiveOutbox *outbox = wb_live_client_get_outbox (client);

  for (guint i = 0; entered != NULL && i < entered->len; i++)
    {
      WbLiveVehicle *vehicle = g_ptr_array_index (entered, i);

      (void) wb_live_outbox_push (outbox, WB_LIVE_OUTBOX_ENTERED, vehicle->vehicle_id, vehicle, self->seq);
    }
  for (guint i = 0; left_ids != NULL && i < left_ids->len; i++)
    (void) wb_live_outbox_push (outbox, WB_LIVE_OUTBOX_LEFT, g_ptr_array_index (left_ids, i), NULL, self->seq);
}

/* The updates a resuming client missed, as its view sees them. */
static gboolean
replay_since (WbLiveFanout     *self,
              WbLiveClient     *client,
              const WbLiveView *view,
              const char       *epoch,
              guint64           seq)
{
  g_autoptr(GPtrArray) updates = NULL;

  if (wb_replay_window_since (self->shared->replay, epoch, seq, g_get_monotonic_time (), &updates) != WB_REPLAY_OK)
    return FALSE;
  for (guint i = 0; i < updates->len; i++)
    {
      WbLiveUpdate *update = g_ptr_array_index (updates, i);
      WbLiveMatch match = wb_live_view_classify (view, update->old_state, update->new_state);

      if (match != WB_LIVE_MATCH_NONE)
        push (client, match, update);
    }
  return TRUE;
}

static void
on_subscribe (WbLiveClient *client,
              WbLiveView   *view,
              const char   *since_epoch,
              guint64       since_seq,
              gpointer      data)
{
  WbLiveFanout *self = data;
  const WbLiveView *old_view = wb_live_client_get_view (client);
  g_autoptr(GPtrArray) entered = NULL;
  g_autoptr(GPtrArray) left_ids = NULL;
  gboolean resuming = old_view == NULL && since_epoch != NULL;
  gboolean replayed = FALSE;

  /* Most of the inbox without the lock, the rest under it: then this
   * share has fanned out every change up to the stream's seq. */
  drain_inbox (self);
  g_rw_lock_reader_lock (self->shared->lock);
  drain_inbox (self);
  self->seq = MAX (self->seq, wb_replay_window_get_seq (self->shared->replay));
  /* A first subscribe with a position resumes; without one, or once
   * subscribed, the client is told the difference with what it holds. */
  if (resuming)
    replayed = replay_since (self, client, view, since_epoch, since_seq);
  if (!replayed)
    wb_live_index_diff_views (self->shared->index, old_view, view, &entered, &left_ids);
  g_rw_lock_reader_unlock (self->shared->lock);

  if (resuming)
    wb_metrics_counter_add (self->shared->metrics, "waybill_live_resumes_total", 1,
                            "outcome", replayed ? "replayed" : "resync", NULL);
  if (resuming && !replayed)
    send_position_frame (self, client, "resync");
  push_entered (self, client, entered, left_ids);
  wb_live_subscriptions_set (self->subscriptions, wb_live_client_get_id (client), view, client);
  wb_live_client_set_view (client, view);
  /* The answer goes at once, even empty: it tells the client its position. */
  if (wb_live_outbox_get_length (wb_live_client_get_outbox (client)) == 0)
    send_position_frame (self, client, "subscribed");
  else
    wb_live_client_tick (client, wb_replay_window_get_epoch (self->shared->replay), self->seq,
                         g_get_monotonic_time (), self->frame);
}

static gboolean
free_client_later (gpointer data)
{
  wb_live_client_free (data);
  return G_SOURCE_REMOVE;
}

static void
on_client_closed (WbLiveClient *client,
                  const char   *reason,
                  gpointer      data)
{
  WbLiveFanout *self = data;
  guint64 id = wb_live_client_get_id (client);

  count_closed (self, reason);
  wb_live_subscriptions_remove (self->subscriptions, id);
  wb_live_admission_release (self->shared->admission, wb_live_client_get_peer (client));
  g_hash_table_remove (self->clients, &id);
  g_atomic_int_add (&self->load, -1);
  count_streams (self, -1);
  /* Inside the connection's own signal. */
  wb_live_idle_add (free_client_later, client);
}

static gboolean
on_tick (gpointer data)
{
  WbLiveFanout *self = data;
  const char *epoch = wb_replay_window_get_epoch (self->shared->replay);
  gint64 now = g_get_monotonic_time ();
  GHashTableIter iter;
  WbLiveClient *client;
  guint frames = 0;

  /* A tick never closes a connection from under the walk: on_closed
   * comes from the stream's own events. */
  g_hash_table_iter_init (&iter, self->clients);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &client))
    {
      guint64 before = wb_live_client_get_frames (client);

      wb_live_client_tick (client, epoch, self->seq, now, self->frame);
      frames += wb_live_client_get_frames (client) != before;
    }
  if (frames > 0)
    wb_metrics_counter_add (self->shared->metrics, "waybill_live_frames_total", frames, NULL);
  return G_SOURCE_CONTINUE;
}

void
wb_live_fanout_take (WbLiveFanout            *self,
                     GIOStream               *stream,
                     GSocket                 *socket,
                     const char              *peer,
                     gint64                   expires_at)
{
  WbLiveClient *client;
  guint64 *key;

  g_return_if_fail (self != NULL);

  if (!wb_live_admission_admit (self->shared->admission, stream, socket, peer))
    {
      g_atomic_int_add (&self->load, -1);
      return;
    }
  client = wb_live_client_new (++self->next_client_id, stream, socket, peer, expires_at, &self->shared->limits,
                               on_subscribe, on_client_closed, self);
  if (client == NULL)
    {
      wb_live_admission_release (self->shared->admission, peer);
      g_atomic_int_add (&self->load, -1);
      return;
    }
  key = g_new (guint64, 1);
  *key = wb_live_client_get_id (client);
  g_hash_table_insert (self->clients, key, client);
  count_streams (self, +1);
}

/* ---- the thread -------------------------------------------------------------- */

/* In this share's context. */
static void
start_here (WbLiveFanout *self)
{
  self->tick_source = wb_live_timeout_add (self->shared->window_ms, on_tick, self);
}

/* In this share's context. */
static void
stop_here (WbLiveFanout *self)
{
  g_autoptr(GList) clients = g_hash_table_get_values (self->clients);
  int closed = 0;

  if (self->tick_source != NULL)
    g_source_destroy (self->tick_source);
  g_clear_pointer (&self->tick_source, g_source_unref);
  g_hash_table_remove_all (self->clients);
  for (GList *l = clients; l != NULL; l = l->next, closed++)
    {
      wb_live_subscriptions_remove (self->subscriptions, wb_live_client_get_id (l->data));
      count_closed (self, "shutdown");
      wb_live_client_free (l->data);
    }
  g_atomic_int_set (&self->load, 0);
  if (closed > 0)
    count_streams (self, -closed);
}

static gpointer
fanout_thread (gpointer data)
{
  WbLiveFanout *self = data;

  g_main_context_push_thread_default (self->context);
  start_here (self);
  g_main_loop_run (self->loop);
  stop_here (self);
  /* What the closing streams left queued (their last frames, the frees). */
  while (g_main_context_iteration (self->context, FALSE))
    ;
  g_main_context_pop_thread_default (self->context);
  return NULL;
}

void
wb_live_fanout_start (WbLiveFanout *self)
{
  g_autofree char *name = NULL;

  g_return_if_fail (self != NULL);

  if (self->loop == NULL)
    return start_here (self);
  if (self->thread != NULL)
    return;
  name = g_strdup_printf ("gateway-%u", self->number);
  self->thread = g_thread_new (name, fanout_thread, self);
}

static gboolean
quit_loop (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

void
wb_live_fanout_stop (WbLiveFanout *self)
{
  g_return_if_fail (self != NULL);

  if (self->loop == NULL)
    return stop_here (self);
  if (self->thread == NULL)
    return;
  /* Through the context, not g_main_loop_quit(): a quit before the thread
   * runs its loop would be lost. */
  g_main_context_invoke (self->context, quit_loop, self->loop);
  g_thread_join (g_steal_pointer (&self->thread));
}

/* ---- the object -------------------------------------------------------------- */

WbLiveFanout *
wb_live_fanout_new (const WbLiveFanoutShared *shared,
                    guint                     number,
                    GMainContext             *context)
{
  WbLiveFanout *self = g_new0 (WbLiveFanout, 1);

  self->shared = shared;
  self->number = number;
  self->label = g_strdup_printf ("%u", number);
  self->context = context ? g_main_context_ref (context) : g_main_context_new ();
  self->loop = context ? NULL : g_main_loop_new (self->context, FALSE);
  self->inbox = g_async_queue_new_full ((GDestroyNotify) g_ptr_array_unref);
  self->clients = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  self->subscriptions = wb_live_subscriptions_new ();
  self->matches = g_array_new (FALSE, FALSE, sizeof (WbLiveSubscriptionMatch));
  self->frame = g_string_new (NULL);
  wb_metrics_gauge_set (shared->metrics, "waybill_live_thread_connections", 0, "thread", self->label, NULL);
  return self;
}

void
wb_live_fanout_free (WbLiveFanout *self)
{
  if (self == NULL)
    return;
  wb_live_fanout_stop (self);
  g_clear_pointer (&self->loop, g_main_loop_unref);
  /* Destroys a drain still scheduled, which points here. */
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_pointer (&self->inbox, g_async_queue_unref);
  g_clear_pointer (&self->clients, g_hash_table_unref);
  g_clear_object (&self->subscriptions);
  g_clear_pointer (&self->matches, g_array_unref);
  if (self->frame != NULL)
    g_string_free (g_steal_pointer (&self->frame), TRUE);
  g_free (self->label);
  g_free (self);
}

GMainContext *
wb_live_fanout_get_context (WbLiveFanout *self)
{
  return self->context;
}

guint
wb_live_fanout_get_load (WbLiveFanout *self)
{
  return (guint) g_atomic_int_get (&self->load);
}

guint
wb_live_fanout_get_backlog (WbLiveFanout *self)
{
  return (guint) g_atomic_int_get (&self->backlog);
}

void
wb_live_fanout_reserve (WbLiveFanout *self)
{
  g_atomic_int_inc (&self->load);
}
