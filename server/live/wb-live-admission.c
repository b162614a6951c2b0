// SPDX-License-Identifier: GPL-3.0-or-later
/* Connection limits of a stream endpoint. The HTTP server's own limits
 * cover the handshake; an upgraded connection counts here instead. */

#include "config.h"

#include "wb-live-admission.h"
#include "wb-live-stream.h"

struct _WbLiveAdmission
{
  WbMetrics  *metrics;
  char       *rejected_metric;
  char       *too_many_total;
  char       *too_many_per_peer;
  guint       max_total;
  guint       max_per_peer;
  GMutex      mutex;             /* the gateway's stream threads admit and release at once */
  guint       open;
  GHashTable *per_peer;          /* peer → count */
};

WbLiveAdmission *
wb_live_admission_new (WbMetrics  *metrics,
                       const char *rejected_metric,
                       const char *what,
                       guint       max_total,
                       guint       max_per_peer)
{
  WbLiveAdmission *self = g_new0 (WbLiveAdmission, 1);

  self->metrics = g_object_ref (metrics);
  self->rejected_metric = g_strdup (rejected_metric);
  self->too_many_total = g_strdup_printf ("The gateway has too many open %s", what);
  self->too_many_per_peer = g_strdup_printf ("Too many open %s from this address", what);
  self->max_total = max_total;
  self->max_per_peer = max_per_peer;
  self->per_peer = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_mutex_init (&self->mutex);
  return self;
}

void
wb_live_admission_free (WbLiveAdmission *self)
{
  if (self == NULL)
    return;
  g_object_unref (self->metrics);
  g_hash_table_unref (self->per_peer);
  g_mutex_clear (&self->mutex);
  g_free (self->rejected_metric);
  g_free (self->too_many_total);
  g_free (self->too_many_per_peer);
  g_free (self);
}

static gboolean
refuse (WbLiveAdmission *self,
        GIOStream       *stream,
        GSocket         *socket,
        const char      *peer,
        const char      *why,
        const char      *reason)
{
  wb_metrics_counter_add (self->metrics, self->rejected_metric, 1, "reason", reason, NULL);
  wb_live_stream_refuse (stream, socket, peer, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION, why);
  return FALSE;
}

gboolean
wb_live_admission_admit (WbLiveAdmission *self,
                         GIOStream       *stream,
                         GSocket         *socket,
                         const char      *peer)
{
  const char *why = NULL, *reason = NULL;
  guint count;

  g_mutex_lock (&self->mutex);
  count = GPOINTER_TO_UINT (g_hash_table_lookup (self->per_peer, peer));
  if (self->open >= self->max_total)
    why = self->too_many_total, reason = "total";
  else if (count >= self->max_per_peer)
    why = self->too_many_per_peer, reason = "per_peer";
  else
    {
      g_hash_table_insert (self->per_peer, g_strdup (peer), GUINT_TO_POINTER (count + 1));
      self->open++;
    }
  g_mutex_unlock (&self->mutex);
  /* Closed outside the lock: the close may run handlers. */
  return why == NULL || refuse (self, stream, socket, peer, why, reason);
}

void
wb_live_admission_release (WbLiveAdmission *self,
                           const char      *peer)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->mutex);
  guint count = GPOINTER_TO_UINT (g_hash_table_lookup (self->per_peer, peer));

  g_return_if_fail (count > 0 && self->open > 0);

  if (count == 1)
    g_hash_table_remove (self->per_peer, peer);
  else
    g_hash_table_insert (self->per_peer, g_strdup (peer), GUINT_TO_POINTER (count - 1));
  self->open--;
}

guint
wb_live_admission_get_open (WbLiveAdmission *self)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->mutex);

  return self->open;
}

void
wb_live_admission_reset (WbLiveAdmission *self)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->mutex);

  g_hash_table_remove_all (self->per_peer);
  self->open = 0;
}
