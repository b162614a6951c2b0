// SPDX-License-Identifier: GPL-3.0-or-later
/* The transactional outbox's second half: what a committed transaction
 * queued in the outbox table reaches the bus, in id order, at least once. */

#include "config.h"

#include "wb-db-transaction.h"
#include "wb-outbox-relay.h"

#define BATCH_SIZE        100
#define SWEEP_INTERVAL_S  1

struct _WbOutboxRelay
{
  GObject       parent_instance;

  WbDbPool     *pool;
  WbBus        *bus;
  GMainContext *context;
  GSource      *kick_source;     /* ready time set by wb_outbox_relay_kick() */
  GSource      *sweep_source;
  GCancellable *cancellable;

  /* Main context only. */
  gboolean      running;         /* a pass is in flight */
  gboolean      again;           /* kicked while it was */
  gboolean      failing;         /* the last pass failed (said once) */
  gboolean      stopped;

  gsize         published;       /* atomic: written on pool threads */
};

G_DEFINE_FINAL_TYPE (WbOutboxRelay, wb_outbox_relay, G_TYPE_OBJECT)

typedef struct
{
  guint    n_published;
  gboolean more;                 /* a full batch: there may be more rows */
} Pass;

typedef struct
{
  gboolean  done;
  GError   *error;
} PublishWait;

static void start_pass (WbOutboxRelay *self);

static void
on_published (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  PublishWait *wait = user_data;

  wb_bus_publish_finish (WB_BUS (source), result, &wait->error);
  wait->done = TRUE;
}

/* Waits on the pool thread's own context, so the row lock is held until the
 * bus took the message; a full bus makes the relay wait, which is the
 * back-pressure the bus asks for. */
static gboolean
publish_and_wait (WbBus         *bus,
                  GMainContext  *context,
                  WbBusMessage  *message,
                  GError       **error)
{
  PublishWait wait = { FALSE, NULL };

  wb_bus_publish_async (bus, message, NULL, on_published, &wait);
  while (!wait.done)
    g_main_context_iteration (context, TRUE);

  if (wait.error != NULL)
    {
      g_propagate_error (error, wait.error);
      return FALSE;
    }
  return TRUE;
}

static WbBusMessage *
message_from_row (const PGresult *rows,
                  int             row)
{
  WbBusMessage *message;

  message = wb_bus_message_new_take (PQgetvalue (rows, row, 1),
                                     PQgetisnull (rows, row, 2) ? NULL : PQgetvalue (rows, row, 2),
                                     g_strdup (PQgetvalue (rows, row, 4)));
  wb_bus_message_add_header (message, "type", PQgetvalue (rows, row, 3));
  return message;
}

/* Publishes rows in order until one fails; the ids of those the bus took
 * are appended to @ids as a bigint[] literal body. */
static guint
publish_rows (WbOutboxRelay  *self,
              const PGresult *rows,
              GString        *ids,
              GError        **error)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  guint n_published = 0;

  g_main_context_push_thread_default (context);
  for (int row = 0; row < PQntuples (rows); row++)
    {
      g_autoptr(WbBusMessage) message = message_from_row (rows, row);

      if (!publish_and_wait (self->bus, context, message, error))
        break;
      g_string_append_printf (ids, "%s%s", n_published > 0 ? "," : "", PQgetvalue (rows, row, 0));
      n_published++;
    }
  g_main_context_pop_thread_default (context);

  g_atomic_pointer_add (&self->published, n_published);
  return n_published;
}

static gboolean
delete_published (PGconn        *conn,
                  GString       *ids,
                  GCancellable  *cancellable,
                  GError       **error)
{
  const char *params[1];

  g_string_append_c (ids, '}');
  params[0] = ids->str;
  return wb_db_exec_command (conn, "DELETE FROM outbox WHERE id = ANY ($1::bigint[])",
                             params, 1, cancellable, error);
}

typedef struct
{
  WbOutboxRelay *relay;
  guint          n_published;
  GError        *publish_error;
} PassRun;

static gboolean
pass_in_transaction (PGconn        *conn,
                     gpointer       user_data,
                     GCancellable  *cancellable,
                     GError       **error)
{
  PassRun *run = user_data;
  g_autoptr(PGresult) rows = NULL;
  g_autoptr(GString) ids = g_string_new ("{");

  g_clear_error (&run->publish_error);
  rows = wb_db_exec (conn,
                     "SELECT id, topic, key, type, payload::text FROM outbox"
                     " ORDER BY id LIMIT " G_STRINGIFY (BATCH_SIZE) " FOR UPDATE SKIP LOCKED",
                     NULL, 0, cancellable, error);
  if (rows == NULL)
    return FALSE;
  run->n_published = publish_rows (run->relay, rows, ids, &run->publish_error);
  return run->n_published == 0 || delete_published (conn, ids, cancellable, error);
}

/* One pass on a pool thread: claim a batch, publish it, delete what the bus
 * took, commit. Should the commit fail after publishing, the rows come back
 * in a later pass: published twice, never lost. */
static gpointer
relay_pass (PGconn        *conn,
            gpointer       user_data,
            GCancellable  *cancellable,
            GError       **error)
{
  PassRun run = { user_data, 0, NULL };
  g_autoptr(GError) publish_error = NULL;
  gboolean committed = wb_db_transaction_run (conn, pass_in_transaction, &run, cancellable, error);
  Pass *pass;

  publish_error = run.publish_error;
  if (!committed)
    return NULL;
  if (publish_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&publish_error));
      return NULL;
    }
  pass = g_new0 (Pass, 1);
  pass->n_published = run.n_published;
  pass->more = pass->n_published == BATCH_SIZE;
  return pass;
}

static void
report_failure (WbOutboxRelay *self,
                const GError  *error)
{
  if (self->stopped || g_error_matches (error, WB_DB_ERROR, WB_DB_ERROR_CANCELLED))
    return;

  /* The sweep retries every second: say it once, not per retry. */
  if (!self->failing)
    g_message ("outbox relay: %s; retrying", error->message);
  self->failing = TRUE;
}

static void
on_pass_done (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(WbOutboxRelay) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree Pass *pass = wb_db_pool_run_finish (WB_DB_POOL (source), result, &error);

  self->running = FALSE;

  if (pass == NULL)
    {
      report_failure (self, error);
      return;
    }

  if (self->failing)
    g_message ("outbox relay: publishing again");
  self->failing = FALSE;

  if (pass->more || self->again)
    start_pass (self);
}

static void
start_pass (WbOutboxRelay *self)
{
  if (self->stopped)
    return;

  if (self->running)
    {
      self->again = TRUE;
      return;
    }

  self->running = TRUE;
  self->again = FALSE;
  wb_db_pool_run_async (self->pool, relay_pass, self, NULL, g_free,
                        self->cancellable, on_pass_done, g_object_ref (self));
}

static gboolean
on_kick (gpointer user_data)
{
  start_pass (user_data);
  return G_SOURCE_CONTINUE;
}

/* A source that fires when its ready time is set: the one thread-safe way
 * to wake another thread's main context without allocating per kick. */
static gboolean
kick_source_dispatch (GSource     *source,
                      GSourceFunc  callback,
                      gpointer     user_data)
{
  g_source_set_ready_time (source, -1);
  return callback (user_data);
}

static GSourceFuncs kick_source_funcs = {
  .dispatch = kick_source_dispatch,
};

static GSource *
attach_source (WbOutboxRelay *self,
               GSource       *source,
               const char    *name)
{
  g_source_set_callback (source, on_kick, self, NULL);
  g_source_set_static_name (source, name);
  g_source_attach (source, self->context);
  return source;
}

void
wb_outbox_relay_kick (WbOutboxRelay *self)
{
  g_return_if_fail (WB_IS_OUTBOX_RELAY (self));

  g_source_set_ready_time (self->kick_source, 0);
}

void
wb_outbox_relay_stop (WbOutboxRelay *self)
{
  g_return_if_fail (WB_IS_OUTBOX_RELAY (self));

  self->stopped = TRUE;
  if (self->kick_source != NULL)
    g_source_destroy (self->kick_source);
  if (self->sweep_source != NULL)
    g_source_destroy (self->sweep_source);
  g_cancellable_cancel (self->cancellable);
}

guint64
wb_outbox_relay_get_published (WbOutboxRelay *self)
{
  g_return_val_if_fail (WB_IS_OUTBOX_RELAY (self), 0);

  return (guint64) g_atomic_pointer_get (&self->published);
}

static void
wb_outbox_relay_dispose (GObject *object)
{
  WbOutboxRelay *self = WB_OUTBOX_RELAY (object);

  wb_outbox_relay_stop (self);

  G_OBJECT_CLASS (wb_outbox_relay_parent_class)->dispose (object);
}

static void
wb_outbox_relay_finalize (GObject *object)
{
  WbOutboxRelay *self = WB_OUTBOX_RELAY (object);

  g_clear_pointer (&self->kick_source, g_source_unref);
  g_clear_pointer (&self->sweep_source, g_source_unref);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->pool);
  g_clear_object (&self->bus);
  g_clear_pointer (&self->context, g_main_context_unref);

  G_OBJECT_CLASS (wb_outbox_relay_parent_class)->finalize (object);
}

static void
wb_outbox_relay_class_init (WbOutboxRelayClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = wb_outbox_relay_dispose;
  object_class->finalize = wb_outbox_relay_finalize;
}

static void
wb_outbox_relay_init (WbOutboxRelay *self)
{
  self->cancellable = g_cancellable_new ();
}

WbOutboxRelay *
wb_outbox_relay_new (WbDbPool *pool,
                     WbBus    *bus)
{
  WbOutboxRelay *self;

  g_return_val_if_fail (WB_IS_DB_POOL (pool), NULL);
  g_return_val_if_fail (WB_IS_BUS (bus), NULL);

  self = g_object_new (WB_TYPE_OUTBOX_RELAY, NULL);
  self->pool = g_object_ref (pool);
  self->bus = g_object_ref (bus);
  self->context = g_main_context_ref_thread_default ();
  self->kick_source = attach_source (self, g_source_new (&kick_source_funcs, sizeof (GSource)),
                                     "[waybill] outbox relay kick");
  self->sweep_source = attach_source (self, g_timeout_source_new_seconds (SWEEP_INTERVAL_S),
                                      "[waybill] outbox relay sweep");
  /* Rows a previous run left behind go out at once, not after a second. */
  wb_outbox_relay_kick (self);
  return self;
}
