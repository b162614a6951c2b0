// SPDX-License-Identifier: GPL-3.0-or-later
/* The tracker role on a real PostgreSQL and the in-process bus: DHL and
 * postal responses, tickets, carrier workers' events and check results;
 * duplicates (also concurrent tickets), poison messages, unknown codes,
 * zoneless times and a database outage. */

#include "config.h"

#include <json-glib/json-glib.h>

#include "wb-bus-local.h"
#include "wb-carrier-messages.h"
#include "wb-time.h"
#include "wb-db-pool.h"
#include "wb-db.h"
#include "wb-migrations.h"
#include "wb-shipment-store.h"
#include "wb-test-pg.h"
#include "wb-tracker-consumer.h"

#define TIMEOUT_US (30 * G_USEC_PER_SEC)

typedef struct
{
  char              *conninfo;
  PGconn            *conn;          /* the test's own, for checks */
  WbDbPool          *pool;
  WbSlaTable        *sla;
  WbStatusMap       *map;
  WbShipmentStore   *store;
  WbBus             *bus;
  WbTrackerConsumer *consumer;
  GPtrArray         *letters;       /* WbBusMessage*: what reached the .dlq topics */
  guint              watch;
} Fixture;

/* ---- helpers --------------------------------------------------------------------- */

static void
on_letters (WbBus      *bus,
            WbBusBatch *batch,
            gpointer    data)
{
  Fixture *f = data;

  for (guint i = 0; i < wb_bus_batch_get_length (batch); i++)
    g_ptr_array_add (f->letters, wb_bus_message_ref (wb_bus_batch_get_message (batch, i)));
  wb_bus_batch_ack (batch);
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  const char *dlq[] = { "external.dhl.responses.dlq", "external.post.responses.dlq", "TICKET_CREATED.dlq",
                        "TRACKING_EVENT.dlq", "tracking.updated.dlq", NULL };
  g_autoptr(GError) error = NULL;

  f->conninfo = wb_test_pg_create_database ("tracker");
  f->conn = wb_db_connect (f->conninfo, &error);
  g_assert_no_error (error);
  wb_migrations_apply (f->conn, NULL, &error);
  g_assert_no_error (error);

  f->pool = wb_db_pool_new (f->conninfo, 4);
  f->sla = wb_sla_table_load_default (&error);
  g_assert_no_error (error);
  f->map = wb_status_map_load_default (&error);
  g_assert_no_error (error);
  f->store = wb_shipment_store_new (f->pool, f->sla);
  f->bus = wb_bus_local_new (10000);
  f->letters = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_bus_message_unref);
  f->watch = wb_bus_subscribe (f->bus, "watcher", dlq, 1000, on_letters, f, NULL);
  f->consumer = wb_tracker_consumer_new (f->bus, f->store, f->map);
  wb_tracker_consumer_start (f->consumer, NULL);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  wb_tracker_consumer_stop (f->consumer);
  wb_bus_unsubscribe (f->bus, f->watch);
  wb_bus_close (f->bus);
  wb_db_pool_close (f->pool);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_clear_object (&f->consumer);
  g_clear_object (&f->store);
  g_clear_object (&f->bus);
  g_clear_object (&f->sla);
  g_clear_object (&f->pool);
  g_clear_pointer (&f->map, wb_status_map_unref);
  g_clear_pointer (&f->letters, g_ptr_array_unref);
  g_clear_pointer (&f->conn, PQfinish);
  g_clear_pointer (&f->conninfo, g_free);
}

static void
publish (Fixture    *f,
         const char *topic,
         const char *text)
{
  g_autoptr(WbBusMessage) message = wb_bus_message_new_take (topic, NULL, g_strdup (text));
  g_autoptr(GError) error = NULL;

  wb_bus_try_publish (f->bus, message, &error);
  g_assert_no_error (error);
}

/* Runs the main loop until the bus has nothing left for the tracker and
 * the watcher has taken every dead letter. */
static void
wait_idle (Fixture *f)
{
  gint64 deadline = g_get_monotonic_time () + TIMEOUT_US;

  while (wb_bus_local_get_queued (WB_BUS_LOCAL (f->bus), "tracker") > 0 ||
         wb_bus_local_get_queued (WB_BUS_LOCAL (f->bus), "watcher") > 0)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (2000);
    }
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static WbTrackerCounts
counts (Fixture *f)
{
  WbTrackerCounts counts;

  wb_tracker_consumer_get_counts (f->consumer, &counts);
  return counts;
}

static WbBusMessage *
letter (Fixture *f,
        guint    index)
{
  g_assert_cmpuint (index, <, f->letters->len);
  return g_ptr_array_index (f->letters, index);
}

static char *
ticket_json (const char *ticket_id,
             const char *carrier,
             const char *track_number)
{
  return g_strdup_printf ("{\"ticket_id\":\"%s\",\"client_id\":\"acme\",\"carrier\":\"%s\","
                          "\"track_number\":\"%s\",\"service_level\":\"express\","
                          "\"recipient\":{\"name\":\"Anna\",\"phone\":\"8 029 123-45-67\",\"email\":\"a@example.org\"},"
                          "\"origin\":{\"country\":\"by\",\"city\":\"Brest\"},"
                          "\"destination\":{\"country\":\"BY\",\"city\":\"Minsk\",\"lat\":53.9,\"lon\":27.56},"
                          "\"created_at\":\"2026-11-20T08:00:00Z\"}",
                          ticket_id, carrier, track_number);
}

static void
add_ticket (Fixture    *f,
            const char *ticket_id,
            const char *carrier,
            const char *track_number)
{
  g_autofree char *json = ticket_json (ticket_id, carrier, track_number);
  guint64 before = counts (f).shipments_created;

  publish (f, "TICKET_CREATED", json);
  wait_idle (f);
  g_assert_cmpuint (counts (f).shipments_created, ==, before + 1);
}

static char *
shipment_status (Fixture    *f,
                 const char *track_number)
{
  return wb_test_pg_text (f->conn, "SELECT s.status || coalesce ('/' || s.status_reason, '') FROM shipments s"
                                   " JOIN trackings t ON t.shipment_id = s.id WHERE t.track_number = $1", track_number);
}

static gint64
count_events (Fixture    *f,
              const char *track_number)
{
  return wb_test_pg_int (f->conn, "SELECT count(*) FROM shipment_events e JOIN trackings t ON t.shipment_id = e.shipment_id"
                                  " WHERE t.track_number = $1", track_number);
}

/* ---- TICKET_CREATED ------------------------------------------------------------------ */

static void
test_ticket_created (Fixture       *f,
                     gconstpointer  data)
{
  g_autofree char *json = ticket_json ("T-1", "dhl", "JD0001");
  g_autofree char *row = NULL;
  g_autofree char *promised = NULL;

  publish (f, "TICKET_CREATED", json);
  wait_idle (f);
  g_assert_cmpuint (counts (f).shipments_created, ==, 1);

  row = wb_test_pg_text (f->conn, "SELECT s.client_id || '|' || s.status || '|' || r.phone || '|' || d.country || '|'"
                                  "  || o.country || '|' || t.carrier || '|' || (t.next_check_at IS NOT NULL)"
                                  "  || '|' || k.ticket_id"
                                  " FROM shipments s JOIN recipients r ON r.id = s.recipient_id"
                                  " JOIN addresses d ON d.id = s.destination_id JOIN addresses o ON o.id = s.origin_id"
                                  " JOIN trackings t ON t.shipment_id = s.id JOIN shipment_tickets k ON k.shipment_id = s.id"
                                  " WHERE t.track_number = $1", "JD0001");
  g_assert_cmpstr (row, ==, "acme|PENDING|+375291234567|BY|BY|dhl|true|T-1");
  /* express = 24 h from the label's created_at, not from when it was consumed. */
  promised = wb_test_pg_text (f->conn, "SELECT to_char (promised_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') FROM shipments", NULL);
  g_assert_cmpstr (promised, ==, "2026-11-21 08:00");

  /* Redelivered: the same shipment, nothing new. */
  publish (f, "TICKET_CREATED", json);
  wait_idle (f);
  g_assert_cmpuint (counts (f).shipments_created, ==, 1);
  g_assert_cmpuint (counts (f).duplicates, ==, 1);
  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT count(*) FROM shipments", NULL), ==, 1);
  g_assert_cmpuint (f->letters->len, ==, 0);
}

static void
store_result (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  *(GAsyncResult **) data = g_object_ref (result);
}

/* Four transactions with the same ticket at once (as four consumers of a
 * redelivered partition would be): one shipment, and all four name it. */
static void
test_ticket_concurrent (Fixture       *f,
                        gconstpointer  data)
{
  g_autofree char *json = ticket_json ("T-race", "dhl", "JD-RACE");
  g_autoptr(WbCarrierMessage) message = NULL;
  g_autoptr(GPtrArray) tickets = g_ptr_array_new ();
  g_autoptr(GPtrArray) none = g_ptr_array_new ();
  GAsyncResult *results[4] = { NULL };
  g_autofree char *first = NULL;
  guint created = 0;
  g_autoptr(GError) error = NULL;

  message = wb_carrier_message_decode (WB_CARRIER_MESSAGE_TICKET_CREATED, json, strlen (json), f->map, &error);
  g_assert_no_error (error);
  g_ptr_array_add (tickets, message->ticket);
  for (guint i = 0; i < G_N_ELEMENTS (results); i++)
    wb_shipment_store_apply_carrier_batch_async (f->store, tickets, none, none, NULL, store_result, &results[i]);

  for (guint i = 0; i < G_N_ELEMENTS (results); i++)
    {
      g_autoptr(WbCarrierBatchResult) applied = NULL;
      gint64 deadline = g_get_monotonic_time () + TIMEOUT_US;
      WbEventResult *item;

      while (results[i] == NULL)
        {
          g_assert_cmpint (g_get_monotonic_time (), <, deadline);
          g_main_context_iteration (NULL, TRUE);
        }
      applied = wb_shipment_store_apply_carrier_batch_finish (f->store, results[i], &error);
      g_assert_no_error (error);
      item = &g_array_index (applied->tickets, WbEventResult, 0);
      g_assert_cmpint (item->outcome, !=, WB_EVENT_FAILED);
      created += item->outcome == WB_EVENT_CREATED;
      if (first == NULL)
        first = g_strdup (item->shipment_id);
      g_assert_cmpstr (item->shipment_id, ==, first);
      g_clear_object (&results[i]);
    }
  g_assert_cmpuint (created, ==, 1);
  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT count(*) FROM shipments", NULL), ==, 1);
  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT count(*) FROM recipients", NULL), ==, 1);
}

/* ---- external.dhl.responses ---------------------------------------------------------- */

#define DHL_RESPONSE \
  "{\"shipments\":[{\"id\":\"JD0001\",\"service\":\"express\"," \
  "\"status\":{\"timestamp\":\"2026-11-20T14:00:00Z\",\"location\":{\"address\":{\"addressLocality\":\"Minsk\"}}," \
  "  \"statusCode\":\"transit\",\"status\":\"Arrived at Sort Facility\",\"description\":\"Arrived at Sort Facility MINSK\"}," \
  "\"estimatedTimeOfDelivery\":\"2026-11-22T18:00:00Z\"," \
  "\"events\":[" \
  " {\"timestamp\":\"2026-11-20T14:00:00Z\",\"location\":{\"address\":{\"addressLocality\":\"Minsk\"}}," \
  "  \"statusCode\":\"transit\",\"status\":\"Arrived at Sort Facility\",\"description\":\"Arrived at Sort Facility MINSK\"}," \
  " {\"timestamp\":\"2026-11-20T11:00:00\",\"location\":{\"address\":{\"addressLocality\":\"Brest\"}}," \
  "  \"statusCode\":\"transit\",\"status\":\"Processed\",\"description\":\"Processed at BREST\"}," \
  " {\"timestamp\":\"2026-11-20T09:00:00Z\",\"statusCode\":\"pre-transit\",\"status\":\"Shipment information received\"}" \
  "]}]}"

static void
test_dhl_response (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *status = NULL;
  g_autofree char *last = NULL;
  g_autofree char *eta = NULL;
  g_autofree char *guessed = NULL;

  add_ticket (f, "T-1", "dhl", "JD0001");
  publish (f, "external.dhl.responses", DHL_RESPONSE);
  wait_idle (f);

  g_assert_cmpuint (counts (f).applied_events, ==, 3);   /* status repeats the newest event */
  g_assert_cmpint (count_events (f, "JD0001"), ==, 3);
  status = shipment_status (f, "JD0001");
  g_assert_cmpstr (status, ==, "IN_TRANSIT");
  last = wb_test_pg_text (f->conn, "SELECT e.status_raw || '|' || e.location_text || '|' || e.source || '|' || e.applied"
                                   " FROM shipments s JOIN shipment_events e ON e.id = s.last_event_id", NULL);
  g_assert_cmpstr (last, ==, "transit / Arrived at Sort Facility|Minsk|dhl|true");
  eta = wb_test_pg_text (f->conn, "SELECT to_char (carrier_eta AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || '|' || eta_source"
                                  " FROM shipments", NULL);
  g_assert_cmpstr (eta, ==, "2026-11-22 18:00|carrier");
  /* DHL's zoneless timestamp: read as UTC, flagged. */
  guessed = wb_test_pg_text (f->conn, "SELECT string_agg (zone_guessed::text, ',' ORDER BY occurred_at) FROM shipment_events", NULL);
  g_assert_cmpstr (guessed, ==, "false,true,false");

  /* The next poll repeats the same history: nothing new. */
  publish (f, "external.dhl.responses", DHL_RESPONSE);
  wait_idle (f);
  g_assert_cmpuint (counts (f).applied_events, ==, 3);
  g_assert_cmpuint (counts (f).duplicates, ==, 3);
  g_assert_cmpint (count_events (f, "JD0001"), ==, 3);
  g_assert_cmpuint (f->letters->len, ==, 0);
}

/* An unknown statusCode is refused, never guessed: the rest of the
 * response is applied and the message kept in the DLQ for a replay once
 * the table knows the code (a replay then only adds what was missing). */
static void
test_dhl_unknown_code (Fixture       *f,
                       gconstpointer  data)
{
  g_autofree char *status = NULL;

  add_ticket (f, "T-1", "dhl", "JD0001");
  publish (f, "external.dhl.responses",
           "{\"shipments\":[{\"id\":\"JD0001\",\"events\":["
           "{\"timestamp\":\"2026-11-20T15:00:00Z\",\"statusCode\":\"teleported\"},"
           "{\"timestamp\":\"2026-11-20T10:00:00Z\",\"statusCode\":\"transit\"}]}]}");
  /* Nothing usable at all: dead-lettered whole. */
  publish (f, "external.dhl.responses",
           "{\"shipments\":[{\"id\":\"JD0001\",\"events\":[{\"timestamp\":\"2026-11-20T16:00:00Z\",\"statusCode\":\"warp\"}]}]}");
  wait_idle (f);

  g_assert_cmpint (count_events (f, "JD0001"), ==, 1);
  status = shipment_status (f, "JD0001");
  g_assert_cmpstr (status, ==, "IN_TRANSIT");
  g_assert_cmpuint (f->letters->len, ==, 2);
  g_assert_cmpstr (wb_bus_message_get_header (letter (f, 0), "x-error"), ==,
                   "shipments[0].events[0].statusCode: Carrier “dhl” has no status code “teleported”");
  g_assert_cmpstr (wb_bus_message_get_header (letter (f, 1), "x-error"), ==,
                   "shipments[0].events[0].statusCode: Carrier “dhl” has no status code “warp”");
  g_assert_cmpuint (counts (f).dead_letters, ==, 2);
}

/* ---- external.post.responses --------------------------------------------------------- */

static void
test_post_zones (Fixture       *f,
                 gconstpointer  data)
{
  g_autofree char *rows = NULL;
  g_autofree char *status = NULL;

  add_ticket (f, "T-2", "belpost", "EE123456789BY");
  add_ticket (f, "T-3", "post", "RR000000001BY");
  publish (f, "external.post.responses",
           "{\"tracking_number\":\"EE123456789BY\",\"carrier\":\"belpost\",\"zone\":\"Europe/Minsk\",\"events\":["
           "{\"code\":\"EMA\",\"time\":\"2026-11-20 09:00:00\",\"office\":\"Brest 224000\"},"
           "{\"code\":\"EDG\",\"time\":\"2026-11-20 12:30:00\",\"zone\":\"UTC\",\"office\":\"Minsk 220000\"}]}");
  /* No zone anywhere: UTC, and flagged as a guess. */
  publish (f, "external.post.responses",
           "{\"tracking_number\":\"RR000000001BY\",\"events\":[{\"code\":\"EMC\",\"time\":\"2026-11-20 09:00:00\"}]}");
  wait_idle (f);
  g_assert_cmpuint (f->letters->len, ==, 0);

  rows = wb_test_pg_text (f->conn, "SELECT string_agg (e.source || ' ' || e.status_raw || ' ' || e.status || ' '"
                                   "  || to_char (e.occurred_at AT TIME ZONE 'UTC', 'HH24:MI') || ' ' || e.occurred_at_raw"
                                   "  || ' ' || e.zone_guessed || ' ' || coalesce (e.location_text, '-'), ',' ORDER BY e.id)"
                                   " FROM shipment_events e", NULL);
  g_assert_cmpstr (rows, ==,
                   "belpost EMA IN_TRANSIT 06:00 2026-11-20 09:00:00 false Brest 224000,"
                   "belpost EDG OUT_FOR_DELIVERY 12:30 2026-11-20 12:30:00 false Minsk 220000,"
                   "post EMC IN_TRANSIT 09:00 2026-11-20 09:00:00 true -");
  status = shipment_status (f, "EE123456789BY");
  g_assert_cmpstr (status, ==, "OUT_FOR_DELIVERY");
}

/* ---- TRACKING_EVENT -------------------------------------------------------------------- */

static void
test_tracking_event (Fixture       *f,
                     gconstpointer  data)
{
  const char *code_event =
    "{\"event_id\":\"w-2\",\"carrier\":\"dhl\",\"track_number\":\"JD0001\",\"status_code\":\"NH\","
    "\"occurred_at\":\"2026-11-20T16:00:00Z\",\"description\":\"Nobody home\"}";
  g_autofree char *status = NULL;
  g_autofree char *row = NULL;

  add_ticket (f, "T-1", "dhl", "JD0001");
  publish (f, "TRACKING_EVENT",
           "{\"event_id\":\"w-1\",\"carrier\":\"dhl\",\"track_number\":\"JD0001\",\"status\":\"OUT_FOR_DELIVERY\","
           "\"status_raw\":\"WC\",\"occurred_at\":\"2026-11-20T12:00:00Z\","
           "\"location\":{\"text\":\"Minsk\",\"lat\":53.9,\"lon\":27.56}}");
  publish (f, "TRACKING_EVENT", code_event);
  publish (f, "TRACKING_EVENT", code_event);
  wait_idle (f);

  g_assert_cmpuint (counts (f).applied_events, ==, 2);
  g_assert_cmpuint (counts (f).duplicates, ==, 1);
  status = shipment_status (f, "JD0001");
  g_assert_cmpstr (status, ==, "FAILED_ATTEMPT/recipient_unavailable");
  row = wb_test_pg_text (f->conn, "SELECT string_agg (event_id || ' ' || source || ' ' || status_raw || ' ' || coalesce (lat::text, '-'),"
                                  " ',' ORDER BY id) FROM shipment_events", NULL);
  g_assert_cmpstr (row, ==, "w-1 dhl WC 53.9,w-2 dhl NH -");
  g_assert_cmpuint (f->letters->len, ==, 0);
}

/* ---- tracking.updated ------------------------------------------------------------------- */

static char *
check_json (gint64      tracking_id,
            const char *checked_at,
            const char *rest)
{
  return g_strdup_printf ("{\"tracking_id\":%" G_GINT64_FORMAT ",\"carrier\":\"dhl\",\"track_number\":\"JD0001\","
                          "\"checked_at\":\"%s\",\"next_check_at\":\"2026-11-20T20:00:00Z\"%s}",
                          tracking_id, checked_at, rest);
}

static char *
tracking_row (Fixture *f)
{
  return wb_test_pg_text (f->conn, "SELECT to_char (last_checked_at AT TIME ZONE 'UTC', 'HH24:MI') || '|'"
                                   "  || to_char (next_check_at AT TIME ZONE 'UTC', 'HH24:MI') || '|'"
                                   "  || coalesce (last_error, '-') || '|' || consecutive_errors FROM trackings", NULL);
}

static void
test_tracking_updated (Fixture       *f,
                       gconstpointer  data)
{
  g_autofree char *id = NULL;
  g_autofree char *ok = NULL;
  g_autofree char *failed = NULL;
  g_autofree char *older = NULL;
  g_autofree char *row = NULL;
  g_autofree char *status = NULL;
  g_autofree char *event = NULL;
  g_autofree char *expected_event = NULL;
  gint64 tracking_id;

  add_ticket (f, "T-1", "dhl", "JD0001");
  id = wb_test_pg_text (f->conn, "SELECT id FROM trackings", NULL);
  tracking_id = g_ascii_strtoll (id, NULL, 10);

  ok = check_json (tracking_id, "2026-11-20T18:00:00Z",
                   ",\"status\":\"IN_TRANSIT\",\"status_raw\":\"transit\",\"status_at\":\"2026-11-20T17:00:00Z\","
                   "\"events\":[{\"event_id\":\"e-1\",\"status_code\":\"PU\",\"occurred_at\":\"2026-11-20T16:00:00Z\"}]");
  publish (f, "tracking.updated", ok);
  wait_idle (f);
  g_assert_cmpuint (counts (f).checks_recorded, ==, 1);
  g_assert_cmpuint (counts (f).applied_events, ==, 2);
  row = tracking_row (f);
  g_assert_cmpstr (row, ==, "18:00|20:00|-|0");
  status = shipment_status (f, "JD0001");
  g_assert_cmpstr (status, ==, "IN_TRANSIT");
  event = wb_test_pg_text (f->conn, "SELECT event_id FROM shipment_events WHERE event_id LIKE 'check:%'", NULL);
  expected_event = g_strdup_printf ("check:%" G_GINT64_FORMAT ":1795194000000000:IN_TRANSIT", tracking_id);
  g_assert_cmpstr (event, ==, expected_event);

  /* Two failed checks count two errors; a redelivered one counts nothing,
   * nor does an older one. */
  failed = check_json (tracking_id, "2026-11-20T19:00:00Z", ",\"error\":\"HTTP 503 from DHL\"");
  publish (f, "tracking.updated", failed);
  g_free (failed);
  failed = check_json (tracking_id, "2026-11-20T19:30:00Z", ",\"error\":\"timeout\"");
  publish (f, "tracking.updated", failed);
  publish (f, "tracking.updated", failed);
  older = check_json (tracking_id, "2026-11-20T10:00:00Z", "");
  publish (f, "tracking.updated", older);
  wait_idle (f);
  g_free (row);
  row = tracking_row (f);
  g_assert_cmpstr (row, ==, "19:30|20:00|timeout|2");
  g_assert_cmpuint (counts (f).checks_recorded, ==, 3);
  g_assert_cmpuint (f->letters->len, ==, 0);

  /* A success resets the count. */
  publish (f, "tracking.updated", ok);   /* older than the last: ignored */
  g_free (ok);
  ok = check_json (tracking_id, "2026-11-20T19:45:00Z", "");
  publish (f, "tracking.updated", ok);
  wait_idle (f);
  g_free (row);
  row = tracking_row (f);
  g_assert_cmpstr (row, ==, "19:45|20:00|-|0");
  g_assert_cmpuint (f->letters->len, ==, 0);

  /* A check for a tracking that does not exist (or is not that carrier's
   * track number) is dead-lettered. */
  g_free (ok);
  ok = check_json (tracking_id + 1000, "2026-11-20T21:00:00Z", "");
  publish (f, "tracking.updated", ok);
  wait_idle (f);
  g_assert_cmpuint (f->letters->len, ==, 1);
  g_free (expected_event);
  expected_event = g_strdup_printf ("tracking_id: no tracking %" G_GINT64_FORMAT " for dhl JD0001", tracking_id + 1000);
  g_assert_cmpstr (wb_bus_message_get_header (letter (f, 0), "x-error"), ==, expected_event);
}

/* Carriers keep reporting on a closed shipment: nothing to do, and no
 * fault of the message, so it is counted and skipped, not dead-lettered. */
static void
test_closed_shipment (Fixture       *f,
                      gconstpointer  data)
{
  add_ticket (f, "T-1", "dhl", "JD0001");
  PQclear (wb_test_pg_exec (f->conn, "UPDATE shipments SET closed_at = now()", NULL));
  publish (f, "TRACKING_EVENT",
           "{\"event_id\":\"late\",\"carrier\":\"dhl\",\"track_number\":\"JD0001\",\"status\":\"DELIVERED\","
           "\"occurred_at\":\"2026-11-20T10:00:00Z\"}");
  wait_idle (f);
  g_assert_cmpuint (counts (f).skipped_closed, ==, 1);
  g_assert_cmpuint (counts (f).applied_events, ==, 0);
  g_assert_cmpint (count_events (f, "JD0001"), ==, 0);
  g_assert_cmpuint (f->letters->len, ==, 0);
}

/* ---- poison, unknown trackings ------------------------------------------------------------ */

static void
test_poison_batch (Fixture       *f,
                   gconstpointer  data)
{
  WbBusMessage *first;

  add_ticket (f, "T-1", "dhl", "JD0001");
  /* One batch: the bad ones go to their DLQ, the good ones around them are applied. */
  publish (f, "TRACKING_EVENT",
           "{\"event_id\":\"a\",\"carrier\":\"dhl\",\"track_number\":\"JD0001\",\"status\":\"IN_TRANSIT\","
           "\"occurred_at\":\"2026-11-20T10:00:00Z\"}");
  publish (f, "TRACKING_EVENT", "{not json");
  publish (f, "TRACKING_EVENT",
           "{\"event_id\":\"b\",\"carrier\":\"dhl\",\"track_number\":\"NOPE\",\"status\":\"IN_TRANSIT\","
           "\"occurred_at\":\"2026-11-20T11:00:00Z\"}");
  publish (f, "TRACKING_EVENT",
           "{\"event_id\":\"c\",\"carrier\":\"dhl\",\"track_number\":\"JD0001\",\"status_code\":\"ZZ\","
           "\"occurred_at\":\"2026-11-20T11:00:00Z\"}");
  publish (f, "TICKET_CREATED",
           "{\"ticket_id\":\"T-bad\",\"client_id\":\"acme\",\"carrier\":\"dhl\",\"track_number\":\"JD0009\","
           "\"service_level\":\"warp-speed\",\"recipient\":{\"name\":\"B\"},\"destination\":{\"country\":\"BY\"},"
           "\"created_at\":\"2026-11-20T08:00:00Z\"}");
  publish (f, "TRACKING_EVENT",
           "{\"event_id\":\"d\",\"carrier\":\"dhl\",\"track_number\":\"JD0001\",\"status\":\"OUT_FOR_DELIVERY\","
           "\"occurred_at\":\"2026-11-20T12:00:00Z\"}");
  wait_idle (f);

  g_assert_cmpint (count_events (f, "JD0001"), ==, 2);
  g_assert_cmpuint (counts (f).applied_events, ==, 2);
  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT count(*) FROM shipments", NULL), ==, 1);
  g_assert_cmpuint (f->letters->len, ==, 4);
  g_assert_cmpuint (counts (f).dead_letters, ==, 4);

  first = letter (f, 0);
  g_assert_cmpstr (wb_bus_message_get_topic (first), ==, "TRACKING_EVENT.dlq");
  g_assert_true (g_str_has_prefix (wb_bus_message_get_header (first, "x-error"), "body: expected a member name"));
  g_assert_cmpstr (wb_bus_message_get_header (first, "x-source-topic"), ==, "TRACKING_EVENT");
  g_assert_nonnull (wb_bus_message_get_header (first, "x-source-partition"));
  g_assert_nonnull (wb_bus_message_get_header (first, "x-source-offset"));
  g_assert_cmpmem (g_bytes_get_data (wb_bus_message_get_payload (first), NULL),
                   g_bytes_get_size (wb_bus_message_get_payload (first)), "{not json", 9);
  g_assert_cmpstr (wb_bus_message_get_header (letter (f, 1), "x-error"), ==,
                   "track_number: no shipment tracked as dhl NOPE");
  g_assert_cmpstr (wb_bus_message_get_header (letter (f, 2), "x-error"), ==,
                   "status_code: Carrier “dhl” has no status code “ZZ”");
  g_assert_cmpstr (wb_bus_message_get_topic (letter (f, 3)), ==, "TICKET_CREATED.dlq");
  g_assert_cmpstr (wb_bus_message_get_header (letter (f, 3), "x-error"), ==, "service_level: unknown service level");
}

/* ---- a database outage ---------------------------------------------------------------------- */

static void
test_database_outage (Fixture       *f,
                      gconstpointer  data)
{
  g_autofree char *ticket = ticket_json ("T-out", "dhl", "JD0100");
  gint64 deadline = g_get_monotonic_time () + TIMEOUT_US;
  g_autofree char *status = NULL;

  g_clear_pointer (&f->conn, PQfinish);
  wb_test_pg_stop_server ();
  publish (f, "TICKET_CREATED", ticket);
  publish (f, "TRACKING_EVENT",
           "{\"event_id\":\"o-1\",\"carrier\":\"dhl\",\"track_number\":\"JD0100\",\"status\":\"IN_TRANSIT\","
           "\"occurred_at\":\"2026-11-20T10:00:00Z\"}");
  while (counts (f).retries < 2)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (5000);
    }
  g_assert_cmpuint (counts (f).shipments_created, ==, 0);

  wb_test_pg_start_server ();
  wait_idle (f);
  f->conn = wb_db_connect (f->conninfo, NULL);
  g_assert_nonnull (f->conn);
  g_assert_cmpuint (counts (f).shipments_created, ==, 1);
  g_assert_cmpuint (counts (f).applied_events, ==, 1);
  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT count(*) FROM shipments", NULL), ==, 1);
  g_assert_cmpint (count_events (f, "JD0100"), ==, 1);
  status = shipment_status (f, "JD0100");
  g_assert_cmpstr (status, ==, "IN_TRANSIT");
  g_assert_cmpuint (f->letters->len, ==, 0);
}

/* ---- decoders ------------------------------------------------------------------------------- */

static void
assert_refused (WbStatusMap          *map,
                WbCarrierMessageKind  kind,
                const char           *json,
                const char           *expected)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(WbCarrierMessage) message = wb_carrier_message_decode (kind, json, strlen (json), map, &error);

  const char *colon = strstr (expected, ": ");
  g_autofree char *field = g_strndup (expected, colon - expected);

  g_assert_null (message);
  g_assert_error (error, WB_JSON_ERROR, WB_JSON_ERROR_FIELD);
  g_assert_cmpstr (error->message, ==, expected);
  /* The field travels as data: callers never parse the message for it;
   * "body" is the document itself. */
  g_assert_cmpstr (wb_json_error_get_field (error), ==, g_str_equal (field, "body") ? "" : field);
}

/* Every kind goes through the guarded parser: what json-glib would recurse
 * on, or take leniently, never reaches it. */
static void
test_decode_guarded (void)
{
  g_autoptr(WbStatusMap) map = wb_status_map_load_default (NULL);
  g_autoptr(GString) deep = g_string_new (NULL);
  g_autoptr(GString) huge = g_string_new (NULL);
  static const struct
  {
    const char *json;
    gsize       length;
    int         code;
  } bodies[] = {
    { "{\"shipments\":\"\xff\"}", 17, WB_JSON_ERROR_SYNTAX },
    { "{\"tracking_id\":1e999}", 21, WB_JSON_ERROR_SYNTAX },
    { "{'carrier':'dhl'}", 17, WB_JSON_ERROR_SYNTAX },
    { "{\"a\":1}\0{", 9, WB_JSON_ERROR_SYNTAX },
    { "", 0, WB_JSON_ERROR_SYNTAX },
  };

  for (guint i = 0; i < 100000; i++)
    g_string_append (deep, "{\"a\":");
  g_string_append_c (deep, '1');
  for (guint i = 0; i < 100000; i++)
    g_string_append_c (deep, '}');

  g_string_append (huge, "{\"carrier\":\"");
  for (gsize i = 0; i < 10 * 1024 * 1024; i++)
    g_string_append_c (huge, 'a');
  g_string_append (huge, "\"}");

  for (int kind = 0; kind < WB_CARRIER_MESSAGE_N_KINDS; kind++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GError) huge_error = NULL;
      g_autoptr(WbCarrierMessage) message = wb_carrier_message_decode (kind, deep->str, deep->len, map, &error);
      g_autoptr(WbCarrierMessage) huge_message = wb_carrier_message_decode (kind, huge->str, huge->len, map,
                                                                          &huge_error);

      g_assert_null (message);
      g_assert_error (error, WB_JSON_ERROR, WB_JSON_ERROR_TOO_DEEP);
      g_assert_null (huge_message);
      g_assert_error (huge_error, WB_JSON_ERROR, WB_JSON_ERROR_TOO_LARGE);
      for (guint i = 0; i < G_N_ELEMENTS (bodies); i++)
        {
          g_autoptr(GError) body_error = NULL;
          g_autoptr(WbCarrierMessage) body_message = NULL;

          body_message = wb_carrier_message_decode (kind, bodies[i].json, bodies[i].length, map, &body_error);
          g_assert_null (body_message);
          g_assert_error (body_error, WB_JSON_ERROR, bodies[i].code);
        }
    }
}

static void
test_decode_errors (void)
{
  g_autoptr(WbStatusMap) map = wb_status_map_load_default (NULL);

  assert_refused (map, WB_CARRIER_MESSAGE_DHL_RESPONSE, "[]", "body: The document must be a JSON object");
  assert_refused (map, WB_CARRIER_MESSAGE_DHL_RESPONSE, "{\"shipments\":[7]}", "shipments[0]: must be an object");
  assert_refused (map, WB_CARRIER_MESSAGE_TICKET_CREATED,
                  "{\"ticket_id\":\"T\",\"client_id\":\"c\",\"carrier\":\"dhl\",\"track_number\":\"1\","
                  "\"service_level\":\"express\",\"destination\":\"BY\"}",
                  "destination: must be an object");
  assert_refused (map, WB_CARRIER_MESSAGE_DHL_RESPONSE, "{\"shipments\":[{\"id\":\"X\",\"events\":[\"e\"]}]}",
                  "shipments[0].events[0]: must be an object");
  assert_refused (map, WB_CARRIER_MESSAGE_TRACKING_EVENT,
                  "{\"event_id\":\"e\",\"carrier\":\"dhl\",\"track_number\":\"1\",\"status\":5,"
                  "\"occurred_at\":\"2026-11-20T08:00:00Z\"}",
                  "status: must be a string");
  assert_refused (map, WB_CARRIER_MESSAGE_DHL_RESPONSE, "{\"shipments\":[]}", "shipments: must not be empty");
  assert_refused (map, WB_CARRIER_MESSAGE_DHL_RESPONSE, "{\"shipments\":[{\"events\":[]}]}",
                  "shipments[0].id: is required");
  assert_refused (map, WB_CARRIER_MESSAGE_DHL_RESPONSE, "{\"shipments\":[{\"id\":\"X\"}]}",
                  "shipments[0].events: is required when there is no status");
  assert_refused (map, WB_CARRIER_MESSAGE_DHL_RESPONSE,
                  "{\"shipments\":[{\"id\":\"X\",\"status\":{\"statusCode\":\"transit\"}}]}",
                  "shipments[0].status.timestamp: is required");
  assert_refused (map, WB_CARRIER_MESSAGE_POST_RESPONSE,
                  "{\"tracking_number\":\"R1\",\"zone\":\"Mars/Olympus\",\"events\":[{\"code\":\"EMA\",\"time\":\"2026-11-20 09:00:00\"}]}",
                  "zone: “Mars/Olympus” is not an IANA time zone");
  assert_refused (map, WB_CARRIER_MESSAGE_POST_RESPONSE,
                  "{\"tracking_number\":\"R1\",\"events\":[{\"code\":\"EMA\",\"time\":\"2026-13-20 09:00:00\"}]}",
                  "events[0].time: “2026-13-20 09:00:00” is not a valid time: month 13 is out of range (1–12)");
  assert_refused (map, WB_CARRIER_MESSAGE_TICKET_CREATED,
                  "{\"ticket_id\":\"T\",\"client_id\":\"c\",\"carrier\":\"dhl\",\"track_number\":\"1\","
                  "\"service_level\":\"express\",\"recipient\":{\"name\":\"A\",\"phone\":\"12\"},"
                  "\"destination\":{\"country\":\"BY\"},\"created_at\":\"2026-11-20T08:00:00Z\"}",
                  "recipient.phone: The phone number has 5 digits with its country code; E.164 numbers have 8 to 15");
  assert_refused (map, WB_CARRIER_MESSAGE_TICKET_CREATED,
                  "{\"ticket_id\":\"T\",\"client_id\":\"c\",\"carrier\":\"dhl\",\"track_number\":\"1\","
                  "\"recipient\":{\"name\":\"A\"},\"destination\":{\"country\":\"BY\"},\"created_at\":\"2026-11-20T08:00:00Z\"}",
                  "service_level: is required unless promised_at is given");
  assert_refused (map, WB_CARRIER_MESSAGE_TICKET_CREATED,
                  "{\"ticket_id\":\"T\",\"client_id\":\"c\",\"carrier\":\"dhl\",\"track_number\":\"1\",\"service_level\":\"express\","
                  "\"recipient\":{\"name\":\"A\"},\"destination\":{\"country\":\"BY\"},\"created_at\":\"2026-11-20 08:00\"}",
                  "created_at: must be an RFC 3339 time with a zone");
  assert_refused (map, WB_CARRIER_MESSAGE_TRACKING_EVENT,
                  "{\"event_id\":\"e\",\"carrier\":\"dhl\",\"track_number\":\"1\",\"occurred_at\":\"2026-11-20T08:00:00Z\"}",
                  "status: is required unless status_code is given");
  assert_refused (map, WB_CARRIER_MESSAGE_TRACKING_EVENT,
                  "{\"event_id\":\"e\",\"carrier\":\"dhl\",\"track_number\":\"1\",\"status\":\"MOVING\","
                  "\"occurred_at\":\"2026-11-20T08:00:00Z\"}",
                  "status: “MOVING” is not a canonical status");
  assert_refused (map, WB_CARRIER_MESSAGE_TRACKING_EVENT,
                  "{\"event_id\":\"e\",\"carrier\":\"dhl\",\"track_number\":\"1\",\"status\":\"EXCEPTION\","
                  "\"reason\":\"aliens\",\"occurred_at\":\"2026-11-20T08:00:00Z\"}",
                  "reason: “aliens” is not a known reason code");
  assert_refused (map, WB_CARRIER_MESSAGE_TRACKING_EVENT,
                  "{\"event_id\":\"e\",\"carrier\":\"dhl\",\"track_number\":\"1\",\"status\":\"IN_TRANSIT\","
                  "\"occurred_at\":\"2026-11-20T08:00:00Z\",\"location\":{\"lat\":95,\"lon\":1}}",
                  "location.lat: must be between -90 and 90");
  assert_refused (map, WB_CARRIER_MESSAGE_TRACKING_UPDATED,
                  "{\"tracking_id\":\"7\",\"carrier\":\"dhl\",\"track_number\":\"1\",\"checked_at\":\"2026-11-20T08:00:00Z\"}",
                  "tracking_id: must be a positive integer");
  assert_refused (map, WB_CARRIER_MESSAGE_TRACKING_UPDATED,
                  "{\"tracking_id\":7,\"carrier\":\"dhl\",\"track_number\":\"1\",\"checked_at\":\"2026-11-20T08:00:00Z\","
                  "\"status\":\"DELIVERED\"}",
                  "status_at: is required");
}

/* A carrier without a table of its own speaks the generic words. */
static void
test_decode_generic_carrier (void)
{
  g_autoptr(WbStatusMap) map = wb_status_map_load_default (NULL);
  const char *json = "{\"event_id\":\"e\",\"carrier\":\"smallco\",\"track_number\":\"1\",\"status_code\":\"Out for delivery\","
                     "\"occurred_at\":\"2026-11-20 08:00:00\"}";
  g_autoptr(GError) error = NULL;
  g_autoptr(WbCarrierMessage) message = NULL;
  WbStatusEvent *event;

  message = wb_carrier_message_decode (WB_CARRIER_MESSAGE_TRACKING_EVENT, json, strlen (json), map, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (message->events->len, ==, 1);
  event = g_ptr_array_index (message->events, 0);
  g_assert_cmpint (event->status, ==, WB_STATUS_OUT_FOR_DELIVERY);
  g_assert_cmpstr (event->status_raw, ==, "Out for delivery");
  g_assert_cmpstr (event->source, ==, "smallco");
  g_assert_true (event->zone_guessed);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/tracker/decode/errors", test_decode_errors);
  g_test_add_func ("/tracker/decode/guarded", test_decode_guarded);
  g_test_add_func ("/tracker/decode/generic-carrier", test_decode_generic_carrier);
#define ADD(path, func) g_test_add ("/tracker/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("ticket-created", test_ticket_created);
  ADD ("ticket-concurrent", test_ticket_concurrent);
  ADD ("dhl-response", test_dhl_response);
  ADD ("dhl-unknown-code", test_dhl_unknown_code);
  ADD ("post-zones", test_post_zones);
  ADD ("tracking-event", test_tracking_event);
  ADD ("tracking-updated", test_tracking_updated);
  ADD ("closed-shipment", test_closed_shipment);
  ADD ("poison-batch", test_poison_batch);
  ADD ("database-outage", test_database_outage);
#undef ADD

  return g_test_run ();
}
