// SPDX-License-Identifier: GPL-3.0-or-later

#include "config.h"

#include "wb-test-server-thread.h"

struct _WbTestServerThread
{
  GThread           *thread;
  GMainContext      *context;
  GMainLoop         *loop;
  GMutex             mutex;
  GCond              cond;
  guint              port;
  WbTestServerStart  start;
  WbTestServerStop   stop;
  gpointer           user_data;
};

static gpointer
run (gpointer data)
{
  WbTestServerThread *self = data;
  guint port;

  g_main_context_push_thread_default (self->context);
  port = self->start (self->user_data);
  g_assert_cmpuint (port, >, 0);

  g_mutex_lock (&self->mutex);
  self->port = port;
  g_cond_signal (&self->cond);
  g_mutex_unlock (&self->mutex);

  g_main_loop_run (self->loop);
  self->stop (self->user_data);
  while (g_main_context_iteration (self->context, FALSE))
    ;
  g_main_context_pop_thread_default (self->context);
  return NULL;
}

/* Returns once the server listens. */
WbTestServerThread *
wb_test_server_thread_start (const char        *name,
                             WbTestServerStart  start,
                             WbTestServerStop   stop,
                             gpointer           user_data)
{
  WbTestServerThread *self = g_new0 (WbTestServerThread, 1);

  g_mutex_init (&self->mutex);
  g_cond_init (&self->cond);
  self->start = start;
  self->stop = stop;
  self->user_data = user_data;
  self->context = g_main_context_new ();
  self->loop = g_main_loop_new (self->context, FALSE);
  self->thread = g_thread_new (name, run, self);

  g_mutex_lock (&self->mutex);
  while (self->port == 0)
    g_cond_wait (&self->cond, &self->mutex);
  g_mutex_unlock (&self->mutex);
  return self;
}

guint
wb_test_server_thread_get_port (WbTestServerThread *self)
{
  return self->port;
}

GMainContext *
wb_test_server_thread_get_context (WbTestServerThread *self)
{
  return self->context;
}

static gboolean
quit_loop (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

/* Stops the loop, runs @stop on the server thread, joins it and frees. */
void
wb_test_server_thread_stop (WbTestServerThread *self)
{
  g_main_context_invoke (self->context, quit_loop, self->loop);
  g_thread_join (self->thread);
  g_main_loop_unref (self->loop);
  g_main_context_unref (self->context);
  g_mutex_clear (&self->mutex);
  g_cond_clear (&self->cond);
  g_free (self);
}
