// SPDX-License-Identifier: GPL-3.0-or-later
/* The tracker role's consumer. A batch is decoded whole, then applied in
 * one store call (one transaction: tickets, checks, then every event of
 * the batch in order), and acknowledged after the commit and after its dead
 * letters are out. Everything the store does is idempotent (ticket ids,
 * check times, event ids), so a batch that comes again changes nothing.
 *
 * A message that cannot be decoded, or whose items the store refuses, goes
 * to <topic>.dlq with the reason; the rest of the batch is applied. A
 * transient database fault puts the whole batch back with back-off; any
 * other failure of the whole call (which per-item checks should make
 * impossible) is narrowed down by applying the batch one message at a
 * time, so only the culprit is dead-lettered. */

#include "config.h"

#include <string.h>

#include "wb-bus-dead-letter.h"
#include "wb-db.h"
#include "wb-tracker-consumer.h"

#define GROUP          "tracker"
#define MAX_BATCH      500
#define LINGER_MS      50
#define RETRY_MIN_MS   250
#define RETRY_MAX_MS   5000

struct _WbTrackerConsumer
{
  GObject          parent_instance;

  WbBus           *bus;
  WbShipmentStore *store;
  WbStatusMap     *map;
  GStrv            topics;        /* indexed by WbCarrierMessageKind */
  GCancellable    *cancellable;
  guint            subscription;
  guint            retry_ms;
  WbTrackerCounts  counts;
};

G_DEFINE_FINAL_TYPE (WbTrackerConsumer, wb_tracker_consumer, G_TYPE_OBJECT)

/* One message of the batch, and where its items sit in the store call. */
typedef struct
{
  WbCarrierMessage *decoded;      /* NULL: undecodable */
  char             *reason;       /* the dead letter's x-error, NULL = none */
  int               ticket;       /* index in the call's arrays, -1 = none */
  int               check;
  guint             first_event;
  guint             n_events;
} Entry;

typedef struct
{
  WbTrackerConsumer *self;
  WbBusBatch        *batch;
  Entry             *entries;
  guint              n_entries;
  gboolean           one_by_one;  /* narrowing down a failed call */
  guint              next;        /* one by one: the next entry to apply */
  guint              from, to;    /* the entries of the call in flight */
  guint              next_letter;
} Pass;

static void
pass_free (Pass *pass)
{
  for (guint i = 0; i < pass->n_entries; i++)
    {
      g_clear_pointer (&pass->entries[i].decoded, wb_carrier_message_free);
      g_free (pass->entries[i].reason);
    }
  g_free (pass->entries);
  wb_bus_batch_unref (pass->batch);
  g_object_unref (pass->self);
  g_free (pass);
}

static gboolean
is_transient (const GError *error)
{
  return g_error_matches (error, WB_DB_ERROR, WB_DB_ERROR_CONNECT)
         || g_error_matches (error, WB_DB_ERROR, WB_DB_ERROR_UNAVAILABLE)
         || g_error_matches (error, WB_DB_ERROR, WB_DB_ERROR_CANCELLED)
         || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static void
retry_batch (Pass         *pass,
             const GError *error)
{
  WbTrackerConsumer *self = pass->self;

  if (!g_cancellable_is_cancelled (self->cancellable))
    {
      self->retry_ms = self->retry_ms ? MIN (self->retry_ms * 2, RETRY_MAX_MS) : RETRY_MIN_MS;
      self->counts.retries++;
      g_message ("Tracker batch failed (%s); retrying in %u ms", error->message, self->retry_ms);
    }
  wb_bus_batch_retry (pass->batch, self->retry_ms);
  pass_free (pass);
}

/* ---- dead letters and the ack ------------------------------------------------ */

static void dead_letter_next (Pass *pass);

static void
on_dead_lettered (GObject      *source,
                  GAsyncResult *result,
                  gpointer      data)
{
  Pass *pass = data;
  g_autoptr(GError) error = NULL;

  /* Unacknowledged, the batch comes again: nothing is lost, and the
   * store's part of it is a no-op the second time. */
  if (!wb_bus_dead_letter_finish (WB_BUS (source), result, &error))
    {
      retry_batch (pass, error);
      return;
    }
  pass->self->counts.dead_letters++;
  dead_letter_next (pass);
}

static void
dead_letter_next (Pass *pass)
{
  while (pass->next_letter < pass->n_entries)
    {
      guint index = pass->next_letter++;

      if (pass->entries[index].reason == NULL)
        continue;
      wb_bus_dead_letter_async (pass->self->bus, wb_bus_batch_get_message (pass->batch, index),
                                pass->entries[index].reason, pass->self->cancellable,
                                on_dead_lettered, pass);
      return;
    }
  pass->self->retry_ms = 0;
  wb_bus_batch_ack (pass->batch);
  pass_free (pass);
}

/* ---- results ---------------------------------------------------------------------- */

/* The store speaks REST ("serviceLevel: …"); Kafka contracts are
 * snake_case, so the field a dead letter names is the message's own. A
 * failure that names no field is about the tracking the item names. */
static char *
reason_for (const GError *error)
{
  const char *colon = strstr (error->message, ": ");
  GString *reason;

  if (colon == NULL || memchr (error->message, ' ', colon - error->message) != NULL)
    return g_strconcat ("track_number: ", error->message, NULL);

  reason = g_string_sized_new (strlen (error->message) + 8);
  for (const char *p = error->message; p < colon; p++)
    {
      if (g_ascii_isupper (*p))
        g_string_append_c (reason, '_');
      g_string_append_c (reason, g_ascii_tolower (*p));
    }
  g_string_append (reason, colon);
  return g_string_free (reason, FALSE);
}

static void
note_failure (Entry        *entry,
              const GError *error)
{
  if (entry->reason == NULL)
    entry->reason = reason_for (error);
}

static void
count_item (WbTrackerConsumer   *self,
            Entry               *entry,
            const WbEventResult *result,
            guint64             *created_counter)
{
  switch (result->outcome)
    {
    case WB_EVENT_CREATED:
      (*created_counter)++;
      break;
    case WB_EVENT_DUPLICATE:
      self->counts.duplicates++;
      break;
    case WB_EVENT_FAILED:
    default:
      /* A closed shipment takes nothing more; carriers keep reporting on
       * it, which is no fault of the message. */
      if (g_error_matches (result->error, WB_SHIPMENT_ERROR, WB_SHIPMENT_ERROR_CLOSED))
        {
          self->counts.skipped_closed++;
          break;
        }
      self->counts.failed_items++;
      note_failure (entry, result->error);
      break;
    }
}

static void
settle_entry (WbTrackerConsumer          *self,
              Entry                      *entry,
              const WbCarrierBatchResult *result)
{
  if (entry->ticket >= 0)
    count_item (self, entry, &g_array_index (result->tickets, WbEventResult, entry->ticket),
                &self->counts.shipments_created);
  if (entry->check >= 0)
    count_item (self, entry, &g_array_index (result->checks, WbEventResult, entry->check),
                &self->counts.checks_recorded);
  for (guint i = 0; i < entry->n_events; i++)
    count_item (self, entry, &g_array_index (result->events, WbEventResult, entry->first_event + i),
                &self->counts.applied_events);
  /* Events the decoder refused: the rest is applied, the message kept. */
  if (entry->reason == NULL && entry->decoded->rejected->len > 0)
    {
      const GError *rejected = g_ptr_array_index (entry->decoded->rejected, 0);

      entry->reason = g_strdup (rejected->message);
    }
}

/* ---- applying ------------------------------------------------------------------------ */

static void apply_next (Pass *pass);

static void
on_applied (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  Pass *pass = data;
  g_autoptr(WbCarrierBatchResult) applied = NULL;
  g_autoptr(GError) error = NULL;

  applied = wb_shipment_store_apply_carrier_batch_finish (WB_SHIPMENT_STORE (source), result, &error);
  if (applied == NULL && is_transient (error))
    {
      retry_batch (pass, error);
      return;
    }
  if (applied == NULL && !pass->one_by_one && pass->to - pass->from > 1)
    {
      g_message ("Tracker batch refused (%s); applying it one message at a time", error->message);
      pass->one_by_one = TRUE;
      pass->next = 0;
      apply_next (pass);
      return;
    }

  for (guint i = pass->from; i < pass->to; i++)
    if (pass->entries[i].decoded != NULL)
      {
        if (applied != NULL)
          settle_entry (pass->self, &pass->entries[i], applied);
        else
          note_failure (&pass->entries[i], error);
      }
  if (pass->one_by_one)
    apply_next (pass);
  else
    dead_letter_next (pass);
}

/* Borrowed pointers into the decoded messages of entries [from, to). */
static void
submit (Pass  *pass,
        guint  from,
        guint  to)
{
  g_autoptr(GPtrArray) tickets = g_ptr_array_new ();
  g_autoptr(GPtrArray) checks = g_ptr_array_new ();
  g_autoptr(GPtrArray) events = g_ptr_array_new ();

  for (guint i = from; i < to; i++)
    {
      Entry *entry = &pass->entries[i];
      WbCarrierMessage *message = entry->decoded;

      entry->ticket = entry->check = -1;
      entry->n_events = 0;
      if (message == NULL)
        continue;
      if (message->ticket != NULL)
        {
          entry->ticket = tickets->len;
          g_ptr_array_add (tickets, message->ticket);
        }
      if (message->check != NULL)
        {
          entry->check = checks->len;
          g_ptr_array_add (checks, message->check);
        }
      entry->first_event = events->len;
      entry->n_events = message->events->len;
      for (guint e = 0; e < message->events->len; e++)
        g_ptr_array_add (events, g_ptr_array_index (message->events, e));
    }

  pass->from = from;
  pass->to = to;
  wb_shipment_store_apply_carrier_batch_async (pass->self->store, tickets, checks, events,
                                               pass->self->cancellable, on_applied, pass);
}

static gboolean
has_decoded (Pass *pass)
{
  for (guint i = 0; i < pass->n_entries; i++)
    if (pass->entries[i].decoded != NULL)
      return TRUE;
  return FALSE;
}

static void
apply_next (Pass *pass)
{
  if (!pass->one_by_one)
    {
      if (has_decoded (pass))
        submit (pass, 0, pass->n_entries);
      else
        dead_letter_next (pass);
      return;
    }

  while (pass->next < pass->n_entries && pass->entries[pass->next].decoded == NULL)
    pass->next++;
  if (pass->next == pass->n_entries)
    {
      dead_letter_next (pass);
      return;
    }
  pass->next++;
  submit (pass, pass->next - 1, pass->next);
}

/* ---- decoding ------------------------------------------------------------------------ */

static int
kind_of (WbTrackerConsumer *self,
         const char        *topic)
{
  for (int kind = 0; kind < WB_CARRIER_MESSAGE_N_KINDS; kind++)
    if (g_strcmp0 (self->topics[kind], topic) == 0)
      return kind;
  return -1;
}

static void
decode_entry (WbTrackerConsumer *self,
              WbBusMessage      *message,
              Entry             *entry)
{
  GBytes *payload = wb_bus_message_get_payload (message);
  int kind = kind_of (self, wb_bus_message_get_topic (message));
  g_autoptr(GError) error = NULL;
  gsize length = 0;
  const char *data = payload ? g_bytes_get_data (payload, &length) : NULL;

  entry->ticket = entry->check = -1;
  if (kind < 0)
    {
      entry->reason = g_strdup ("topic: not one the tracker consumes");
      return;
    }
  entry->decoded = wb_carrier_message_decode (kind, data ? data : "", length, self->map, &error);
  if (entry->decoded == NULL)
    entry->reason = g_strdup (error->message);
}

static void
on_batch (WbBus      *bus,
          WbBusBatch *batch,
          gpointer    data)
{
  WbTrackerConsumer *self = data;
  Pass *pass = g_new0 (Pass, 1);

  pass->self = g_object_ref (self);
  pass->batch = wb_bus_batch_ref (batch);
  pass->n_entries = wb_bus_batch_get_length (batch);
  pass->entries = g_new0 (Entry, pass->n_entries);
  for (guint i = 0; i < pass->n_entries; i++)
    decode_entry (self, wb_bus_batch_get_message (batch, i), &pass->entries[i]);
  apply_next (pass);
}

/* ---- the object ------------------------------------------------------------------------ */

void
wb_tracker_consumer_start (WbTrackerConsumer  *self,
                           const char * const *topics)
{
  g_return_if_fail (WB_IS_TRACKER_CONSUMER (self));
  g_return_if_fail (self->subscription == 0);
  g_return_if_fail (topics == NULL || g_strv_length ((GStrv) topics) == WB_CARRIER_MESSAGE_N_KINDS);

  g_clear_pointer (&self->topics, g_strfreev);
  self->topics = g_strdupv ((GStrv) (topics ? topics : wb_carrier_message_default_topics ()));
  if (g_cancellable_is_cancelled (self->cancellable))
    g_set_object (&self->cancellable, g_cancellable_new ());
  /* One transaction a batch: a short linger makes batches, not rounds. */
  self->subscription = wb_bus_subscribe_batched (self->bus, GROUP, (const char * const *) self->topics,
                                                 MAX_BATCH, LINGER_MS, on_batch, self, NULL);
}

void
wb_tracker_consumer_stop (WbTrackerConsumer *self)
{
  g_return_if_fail (WB_IS_TRACKER_CONSUMER (self));

  if (self->subscription != 0)
    wb_bus_unsubscribe (self->bus, self->subscription);
  self->subscription = 0;
  g_cancellable_cancel (self->cancellable);
}

void
wb_tracker_consumer_get_counts (WbTrackerConsumer *self,
                                WbTrackerCounts   *out_counts)
{
  g_return_if_fail (WB_IS_TRACKER_CONSUMER (self));
  g_return_if_fail (out_counts != NULL);

  *out_counts = self->counts;
}

static void
wb_tracker_consumer_finalize (GObject *object)
{
  WbTrackerConsumer *self = WB_TRACKER_CONSUMER (object);

  g_clear_object (&self->bus);
  g_clear_object (&self->store);
  g_clear_pointer (&self->map, wb_status_map_unref);
  g_clear_pointer (&self->topics, g_strfreev);
  g_clear_object (&self->cancellable);
  G_OBJECT_CLASS (wb_tracker_consumer_parent_class)->finalize (object);
}

static void
wb_tracker_consumer_class_init (WbTrackerConsumerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = wb_tracker_consumer_finalize;
}

static void
wb_tracker_consumer_init (WbTrackerConsumer *self)
{
  self->cancellable = g_cancellable_new ();
}

WbTrackerConsumer *
wb_tracker_consumer_new (WbBus           *bus,
                         WbShipmentStore *store,
                         WbStatusMap     *map)
{
  WbTrackerConsumer *self;

  g_return_val_if_fail (WB_IS_BUS (bus), NULL);
  g_return_val_if_fail (WB_IS_SHIPMENT_STORE (store), NULL);
  g_return_val_if_fail (map != NULL, NULL);

  self = g_object_new (WB_TYPE_TRACKER_CONSUMER, NULL);
  self->bus = g_object_ref (bus);
  self->store = g_object_ref (store);
  self->map = wb_status_map_ref (map);
  return self;
}
