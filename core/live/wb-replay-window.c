// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include "wb-replay-window.h"

struct _WbReplayWindow
{
  GObject        parent_instance;

  GMutex         mutex;
  char          *epoch;
  guint          max_count;
  GTimeSpan      max_age;
  /* A ring: the update of seq s sits at (s - 1) % max_count. Held are the
   * seqs first_seq..last_seq; none when first_seq == last_seq + 1. */
  WbLiveUpdate **ring;
  guint64        first_seq;
  guint64        last_seq;
};

G_DEFINE_FINAL_TYPE (WbReplayWindow, wb_replay_window, G_TYPE_OBJECT)

G_DEFINE_BOXED_TYPE (WbLiveUpdate, wb_live_update, wb_live_update_ref, wb_live_update_unref)

WbLiveUpdate *
wb_live_update_ref (WbLiveUpdate *update)
{
  g_return_val_if_fail (update != NULL, NULL);

  return g_atomic_rc_box_acquire (update);
}

static void
update_clear (gpointer data)
{
  WbLiveUpdate *update = data;

  g_clear_pointer (&update->old_state, wb_live_vehicle_unref);
  g_clear_pointer (&update->new_state, wb_live_vehicle_unref);
}

void
wb_live_update_unref (WbLiveUpdate *update)
{
  g_return_if_fail (update != NULL);

  g_atomic_rc_box_release_full (update, update_clear);
}

static WbLiveUpdate **
slot_of (WbReplayWindow *self,
         guint64         seq)
{
  return &self->ring[(seq - 1) % self->max_count];
}

static void
drop_oldest (WbReplayWindow *self)
{
  g_clear_pointer (slot_of (self, self->first_seq), wb_live_update_unref);
  self->first_seq++;
}

static void
wb_replay_window_finalize (GObject *object)
{
  WbReplayWindow *self = WB_REPLAY_WINDOW (object);

  while (self->first_seq <= self->last_seq)
    drop_oldest (self);
  g_clear_pointer (&self->ring, g_free);
  g_clear_pointer (&self->epoch, g_free);
  g_mutex_clear (&self->mutex);

  G_OBJECT_CLASS (wb_replay_window_parent_class)->finalize (object);
}

static void
wb_replay_window_class_init (WbReplayWindowClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = wb_replay_window_finalize;
}

static void
wb_replay_window_init (WbReplayWindow *self)
{
  g_mutex_init (&self->mutex);
  self->first_seq = 1;
}

/**
 * wb_replay_window_new_with_epoch:
 * @max_count: updates held at most (at least 1)
 * @max_age: how long an update is held, µs
 */
WbReplayWindow *
wb_replay_window_new_with_epoch (const char *epoch,
                                 guint       max_count,
                                 GTimeSpan   max_age)
{
  WbReplayWindow *self;

  g_return_val_if_fail (epoch != NULL && *epoch != '\0', NULL);
  g_return_val_if_fail (max_count > 0, NULL);
  g_return_val_if_fail (max_age > 0, NULL);

  self = g_object_new (WB_TYPE_REPLAY_WINDOW, NULL);
  self->epoch = g_strdup (epoch);
  self->max_count = max_count;
  self->max_age = max_age;
  self->ring = g_new0 (WbLiveUpdate *, max_count);
  return self;
}

/* The epoch is 16 random hex digits: two gateways, or one gateway before
 * and after a restart, never share one. */
WbReplayWindow *
wb_replay_window_new (guint     max_count,
                      GTimeSpan max_age)
{
  g_autofree char *epoch = g_strdup_printf ("%08x%08x", g_random_int (), g_random_int ());

  return wb_replay_window_new_with_epoch (epoch, max_count, max_age);
}

const char *
wb_replay_window_get_epoch (WbReplayWindow *self)
{
  g_return_val_if_fail (WB_IS_REPLAY_WINDOW (self), NULL);

  return self->epoch;
}

guint64
wb_replay_window_get_seq (WbReplayWindow *self)
{
  guint64 seq;

  g_return_val_if_fail (WB_IS_REPLAY_WINDOW (self), 0);

  g_mutex_lock (&self->mutex);
  seq = self->last_seq;
  g_mutex_unlock (&self->mutex);
  return seq;
}

static void
drop_expired (WbReplayWindow *self,
              gint64          now)
{
  while (self->first_seq <= self->last_seq
         && now - (*slot_of (self, self->first_seq))->appended_at > self->max_age)
    drop_oldest (self);
}

WbLiveUpdate *
wb_replay_window_append (WbReplayWindow *self,
                         WbLiveVehicle  *old_state,
                         WbLiveVehicle  *new_state,
                         gint64          now)
{
  WbLiveUpdate *update;

  g_return_val_if_fail (WB_IS_REPLAY_WINDOW (self), NULL);
  g_return_val_if_fail (old_state != NULL || new_state != NULL, NULL);

  update = g_atomic_rc_box_new0 (WbLiveUpdate);
  update->appended_at = now;
  update->old_state = old_state != NULL ? wb_live_vehicle_ref (old_state) : NULL;
  update->new_state = new_state != NULL ? wb_live_vehicle_ref (new_state) : NULL;

  g_mutex_lock (&self->mutex);
  drop_expired (self, now);
  if (self->last_seq - self->first_seq + 1 == self->max_count)
    drop_oldest (self);
  update->seq = ++self->last_seq;
  *slot_of (self, update->seq) = wb_live_update_ref (update);
  g_mutex_unlock (&self->mutex);
  return update;
}

WbReplayResult
wb_replay_window_since (WbReplayWindow  *self,
                        const char      *epoch,
                        guint64          seq,
                        gint64           now,
                        GPtrArray      **out_updates)
{
  GPtrArray *updates;

  g_return_val_if_fail (WB_IS_REPLAY_WINDOW (self), WB_REPLAY_RESYNC);
  g_return_val_if_fail (epoch != NULL, WB_REPLAY_RESYNC);
  g_return_val_if_fail (out_updates != NULL, WB_REPLAY_RESYNC);

  *out_updates = NULL;
  if (!g_str_equal (epoch, self->epoch))
    return WB_REPLAY_RESYNC;
  g_mutex_lock (&self->mutex);
  drop_expired (self, now);
  /* Every seq after @seq must be held: first_seq - 1 is the oldest
   * position a client can resume from. */
  if (seq > self->last_seq || seq + 1 < self->first_seq)
    {
      g_mutex_unlock (&self->mutex);
      return WB_REPLAY_RESYNC;
    }
  updates = g_ptr_array_new_full (self->last_seq - seq, (GDestroyNotify) wb_live_update_unref);
  for (guint64 s = seq + 1; s <= self->last_seq; s++)
    g_ptr_array_add (updates, wb_live_update_ref (*slot_of (self, s)));
  g_mutex_unlock (&self->mutex);
  *out_updates = updates;
  return WB_REPLAY_OK;
}
