// SPDX-License-Identifier: GPL-3.0-or-later
/* Carrier polling: the ladder, Retry-After, track number formats, the
 * drivers on carrier fixtures, claims and leases on a real PostgreSQL,
 * the limiter counted at an emulated carrier, 429s, and the trackings
 * API of a real waybilld polling an emulator on 127.0.0.1. */

#include "config.h"

#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <string.h>

#include "wb-carrier-driver.h"
#include "wb-carrier-emulator.h"
#include "wb-carrier-table.h"
#include "wb-carrier-worker.h"
#include "wb-bus-local.h"
#include "wb-db.h"
#include "wb-json.h"
#include "wb-migrations.h"
#include "wb-polling.h"
#include "wb-polling-ladder.h"
#include "wb-polling-scheduler.h"
#include "wb-test-daemon.h"
#include "wb-test-pg.h"
#include "wb-test-schema.h"
#include "wb-test-server-thread.h"

#define HOUR (G_GINT64_CONSTANT (3600) * G_USEC_PER_SEC)
#define DAY  (24 * HOUR)

/* ---- helpers ------------------------------------------------------------------- */

typedef gboolean (*Condition) (gpointer data);

/* Runs the main context until @condition holds; FALSE after @timeout_ms. */
static gboolean
pump_until (Condition condition,
            gpointer  data,
            guint     timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + timeout_ms * 1000;

  while (!condition (data))
    {
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  return TRUE;
}

static void
pump_for (guint ms)
{
  gint64 deadline = g_get_monotonic_time () + ms * 1000;

  while (g_get_monotonic_time () < deadline)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
}

static WbPollingLadder *
ladder_of (const char *profile)
{
  g_autoptr(GError) error = NULL;
  WbPollingLadder *ladder = wb_polling_ladder_load (NULL, profile, &error);

  g_assert_no_error (error);
  return ladder;
}

static WbCarrierTable *
carriers_for (const char *driver,
              guint       port,
              double      rate,
              guint       burst)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = g_strdup_printf ("[CDEK]\ndriver=%s\nbase-url=http://127.0.0.1:%u\napi-key=k\n"
                                           "rate=%g\nburst=%u\nstatus-map=generic\n", driver, port, rate, burst);
  WbCarrierTable *table = wb_carrier_table_new_from_data (text, &error);

  g_assert_no_error (error);
  return table;
}

/* ---- the ladder ---------------------------------------------------------------- */

static void
test_ladder_default (void)
{
  g_autoptr(WbPollingLadder) ladder = ladder_of ("default");
  gint64 now = 100 * DAY;
  WbPollingState state = { WB_STATUS_IN_TRANSIT, now - HOUR, now - HOUR, 0 };
  gboolean expired;

  /* In transit: 3 h after news, doubling while nothing changes, up to 24 h. */
  g_assert_cmpint (wb_polling_ladder_interval (ladder, &state, now, &expired), ==, 3 * HOUR);
  state.unchanged_checks = 1;
  g_assert_cmpint (wb_polling_ladder_interval (ladder, &state, now, &expired), ==, 6 * HOUR);
  state.unchanged_checks = 3;
  g_assert_cmpint (wb_polling_ladder_interval (ladder, &state, now, &expired), ==, 24 * HOUR);
  state.unchanged_checks = 30;
  g_assert_cmpint (wb_polling_ladder_interval (ladder, &state, now, &expired), ==, 24 * HOUR);
  g_assert_false (expired);
  /* Shorter with the courier or at a pickup point. */
  state = (WbPollingState) { WB_STATUS_OUT_FOR_DELIVERY, now, now, 5 };
  g_assert_cmpint (wb_polling_ladder_interval (ladder, &state, now, &expired), ==, HOUR);
  state.status = WB_STATUS_AVAILABLE_FOR_PICKUP;
  g_assert_cmpint (wb_polling_ladder_interval (ladder, &state, now, &expired), ==, 2 * HOUR);
  /* Daily for 7 days after delivery, then stop. */
  state = (WbPollingState) { WB_STATUS_DELIVERED, now - DAY, now - DAY, 0 };
  g_assert_cmpint (wb_polling_ladder_interval (ladder, &state, now, &expired), ==, DAY);
  state.status_at = now - 7 * DAY;
  g_assert_cmpint (wb_polling_ladder_interval (ladder, &state, now, &expired), ==, 0);
  g_assert_false (expired);
  /* 30 days without news: expired. */
  state = (WbPollingState) { WB_STATUS_IN_TRANSIT, now - 31 * DAY, now - 30 * DAY, 40 };
  g_assert_cmpint (wb_polling_ladder_interval (ladder, &state, now, &expired), ==, 0);
  g_assert_true (expired);
  state.last_change_at = now - 29 * DAY;
  g_assert_cmpint (wb_polling_ladder_interval (ladder, &state, now, &expired), >, 0);
  g_assert_false (expired);
}

static void
test_ladder_demo_and_jitter (void)
{
  g_autoptr(WbPollingLadder) ladder = ladder_of ("demo");
  WbPollingState state = { WB_STATUS_IN_TRANSIT, 0, 0, 0 };
  gboolean expired;

  g_assert_cmpint (wb_polling_ladder_interval (ladder, &state, G_USEC_PER_SEC, &expired), ==, 5 * G_USEC_PER_SEC);
  /* Inherited from [default]: the jitter. */
  g_assert_cmpfloat (ladder->jitter, ==, 0.1);
  g_assert_cmpint (wb_polling_ladder_jitter (ladder, 1000000, 0.0), ==, 900000);
  g_assert_cmpint (wb_polling_ladder_jitter (ladder, 1000000, 0.5), ==, 1000000);
  g_assert_cmpint (wb_polling_ladder_jitter (ladder, 1000000, 0.999999), <=, 1100000);
  g_assert_cmpint (wb_polling_ladder_jitter (ladder, 1000000, 0.999999), >, 1099000);
}

static void
test_ladder_errors (void)
{
  g_autoptr(WbPollingLadder) ladder = ladder_of ("default");

  g_assert_cmpint (wb_polling_ladder_error_delay (ladder, 1), ==, G_GINT64_CONSTANT (300) * G_USEC_PER_SEC);
  g_assert_cmpint (wb_polling_ladder_error_delay (ladder, 2), ==, G_GINT64_CONSTANT (600) * G_USEC_PER_SEC);
  g_assert_cmpint (wb_polling_ladder_error_delay (ladder, 4), ==, G_GINT64_CONSTANT (2400) * G_USEC_PER_SEC);
  g_assert_cmpint (wb_polling_ladder_error_delay (ladder, 30), ==, 6 * HOUR);
}

static void
test_ladder_refuses (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(WbPollingLadder) ladder = wb_polling_ladder_load ("[default]\nin-transit=soon\n", NULL, &error);

  g_assert_null (ladder);
  g_assert_error (error, WB_POLLING_ERROR, WB_POLLING_ERROR_CONFIG);
  g_assert_nonnull (strstr (error->message, "in-transit"));
}

/* ---- Retry-After, numbers, the carriers file ----------------------------------------- */

static void
test_retry_after (void)
{
  gint64 now = G_GINT64_CONSTANT (1700000000) * G_USEC_PER_SEC, at = 0;

  g_assert_true (wb_retry_after_parse ("120", now, &at));
  g_assert_cmpint (at, ==, now + 120 * G_USEC_PER_SEC);
  g_assert_true (wb_retry_after_parse ("Wed, 21 Oct 2015 07:28:00 GMT", now, &at));
  g_assert_cmpint (at, ==, G_GINT64_CONSTANT (1445412480) * G_USEC_PER_SEC);
  g_assert_false (wb_retry_after_parse ("soon", now, &at));
  g_assert_false (wb_retry_after_parse ("-5", now, &at));
  g_assert_false (wb_retry_after_parse (NULL, now, &at));
}

static void
test_numbers (void)
{
  g_autoptr(WbCarrierTable) table = wb_carrier_table_load (NULL, NULL);
  const WbCarrierConfig *post = wb_carrier_table_lookup (table, "POST_RU");
  const WbCarrierConfig *cdek = wb_carrier_table_lookup (table, "CDEK");
  g_autoptr(GError) error = NULL;

  g_assert_nonnull (post);
  g_assert_true (wb_s10_is_valid ("RA123456785RU"));
  g_assert_true (wb_s10_is_valid ("EE123456785US"));
  g_assert_false (wb_s10_is_valid ("RA123456780RU"));
  g_assert_false (wb_s10_is_valid ("RA12345678RU"));
  g_assert_true (wb_carrier_check_number (post, "RA123456785RU", NULL));
  g_assert_false (wb_carrier_check_number (post, "RA123456786RU", &error));
  g_assert_nonnull (strstr (error->message, "check digit"));
  g_clear_error (&error);
  g_assert_true (wb_carrier_check_number (cdek, "1106-2233", NULL));
  g_assert_false (wb_carrier_check_number (cdek, "", NULL));
  g_assert_false (wb_carrier_check_number (cdek, "a b", NULL));
  g_assert_false (wb_carrier_check_number (cdek, "123456789012345678901234567890123", NULL));
}

static void
test_carriers_file (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(WbCarrierTable) bad = wb_carrier_table_new_from_data ("[X]\ndriver=emulator\nbase-url=http://h\nrate=fast\n",
                                                                  &error);
  g_autoptr(WbCarrierTable) table = wb_carrier_table_load (NULL, NULL);
  g_autofree char *json = wb_carrier_table_to_json (table);

  g_assert_null (bad);
  g_assert_error (error, WB_POLLING_ERROR, WB_POLLING_ERROR_CONFIG);
  g_assert_nonnull (strstr (error->message, "rate"));
  g_clear_error (&error);
  g_assert_null (wb_carrier_table_new_from_data ("[X]\ndriver=emulator\nbase-url=http://h\ncolour=red\n", &error));
  g_assert_nonnull (strstr (error->message, "colour"));
  /* Secrets are masked in what GET /carriers shows. */
  g_assert_nonnull (strstr (json, "\"apiKey\":\"****\""));
  g_assert_null (strstr (json, "\"demo\""));
}

/* ---- drivers on a fixture server ------------------------------------------------------- */

typedef struct
{
  SoupServer *server;
  guint       status;
  char       *body;
  char       *retry_after;
  char       *seen_key;     /* the DHL-API-Key header of the last request */
  char       *seen_query;
  GMutex      mutex;
} Fixture;

static void
serve_fixture (SoupServer        *server,
               SoupServerMessage *message,
               const char        *path,
               GHashTable        *query,
               gpointer           data)
{
  Fixture *f = data;
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (message);

  g_mutex_lock (&f->mutex);
  g_free (f->seen_key);
  f->seen_key = g_strdup (soup_message_headers_get_one (soup_server_message_get_request_headers (message),
                                                        "DHL-API-Key"));
  g_free (f->seen_query);
  f->seen_query = g_strdup (g_uri_get_query (soup_server_message_get_uri (message)));
  if (f->retry_after)
    soup_message_headers_replace (headers, "Retry-After", f->retry_after);
  soup_server_message_set_status (message, f->status, NULL);
  soup_server_message_set_response (message, f->status == 404 ? "application/problem+json" : "application/json",
                                    SOUP_MEMORY_COPY, f->body, strlen (f->body));
  g_mutex_unlock (&f->mutex);
}

static guint
fixture_start (gpointer data)
{
  Fixture *f = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSList) uris = NULL;
  guint port;

  f->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (f->server, NULL, serve_fixture, f, NULL);
  soup_server_listen_local (f->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error);
  g_assert_no_error (error);
  uris = soup_server_get_uris (f->server);
  port = g_uri_get_port (uris->data);
  g_slist_free_full (g_steal_pointer (&uris), (GDestroyNotify) g_uri_unref);
  return port;
}

static void
fixture_stop (gpointer data)
{
  Fixture *f = data;

  soup_server_disconnect (f->server);
  g_clear_object (&f->server);
}

static void
fixture_set (Fixture    *f,
             guint       status,
             const char *file,
             const char *retry_after)
{
  g_autofree char *path = file ? g_test_build_filename (G_TEST_DIST, "data", file, NULL) : NULL;

  g_mutex_lock (&f->mutex);
  g_clear_pointer (&f->body, g_free);
  if (path != NULL)
    g_assert_true (g_file_get_contents (path, &f->body, NULL, NULL));
  else
    f->body = g_strdup ("{\"title\":\"Too many requests\",\"status\":429}");
  f->status = status;
  g_free (f->retry_after);
  f->retry_after = g_strdup (retry_after);
  g_mutex_unlock (&f->mutex);
}

static void
on_fetched (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  WbCarrierReply **reply = data;
  g_autoptr(GError) error = NULL;

  *reply = wb_carrier_driver_fetch_finish (WB_CARRIER_DRIVER (source), result, &error);
  g_assert_no_error (error);
}

static gboolean
is_set (gpointer data)
{
  return *(gpointer *) data != NULL;
}

static WbCarrierReply *
fetch (WbCarrierDriver *driver,
       const char      *number)
{
  WbCarrierReply *reply = NULL;

  wb_carrier_driver_fetch_async (driver, number, NULL, on_fetched, &reply);
  g_assert_true (pump_until (is_set, &reply, 10000));
  return reply;
}

static void
test_driver_dhl (void)
{
  Fixture f = { 0 };
  WbTestServerThread *thread;
  g_autoptr(WbStatusMap) map = wb_status_map_load_default (NULL);
  g_autoptr(WbCarrierTable) table = NULL;
  g_autoptr(WbCarrierDriver) driver = NULL;
  g_autoptr(GError) error = NULL;
  WbCarrierReply *reply;
  WbStatusEvent *event;

  g_mutex_init (&f.mutex);
  fixture_set (&f, 200, "dhl-unified-delivered.json", NULL);
  thread = wb_test_server_thread_start ("dhl", fixture_start, fixture_stop, &f);
  table = carriers_for ("dhl-unified", wb_test_server_thread_get_port (thread), 1, 1);
  driver = wb_carrier_driver_new (wb_carrier_table_lookup (table, "CDEK"), map, &error);
  g_assert_no_error (error);

  reply = fetch (driver, "7777777770");
  g_assert_cmpint (reply->kind, ==, WB_CARRIER_REPLY_OK);
  g_assert_cmpstr (f.seen_key, ==, "k");
  g_assert_cmpstr (f.seen_query, ==, "trackingNumber=7777777770");
  /* Four events, oldest first, mapped through dhl.tsv. */
  g_assert_cmpuint (reply->events->len, ==, 4);
  event = g_ptr_array_index (reply->events, 0);
  g_assert_cmpint (event->status, ==, WB_STATUS_INFO_RECEIVED);
  g_assert_cmpstr (event->source, ==, "CDEK");
  event = g_ptr_array_index (reply->events, 1);
  g_assert_cmpint (event->status, ==, WB_STATUS_IN_TRANSIT);
  g_assert_true (event->zone_guessed);
  g_assert_cmpstr (event->occurred_at_raw, ==, "2018-08-01T21:03:00");
  g_assert_cmpstr (event->location_text, ==, "LEIPZIG - GERMANY");
  event = g_ptr_array_index (reply->events, 3);
  g_assert_cmpint (event->status, ==, WB_STATUS_DELIVERED);
  g_assert_true (g_str_has_prefix (event->event_id, "dhl:"));
  wb_carrier_reply_free (reply);

  /* problem+json 404: the number is not known yet. */
  fixture_set (&f, 404, "dhl-unified-not-found.json", NULL);
  reply = fetch (driver, "0000000000");
  g_assert_cmpint (reply->kind, ==, WB_CARRIER_REPLY_NOT_FOUND);
  wb_carrier_reply_free (reply);

  /* 429 with an HTTP-date. */
  fixture_set (&f, 429, NULL, "Wed, 21 Oct 2037 07:28:00 GMT");
  reply = fetch (driver, "7777777770");
  g_assert_cmpint (reply->kind, ==, WB_CARRIER_REPLY_RATE_LIMITED);
  g_assert_cmpint (reply->retry_at, ==, G_GINT64_CONSTANT (2139722880) * G_USEC_PER_SEC);
  wb_carrier_reply_free (reply);

  /* A body that is not DHL's: an error of the check, not a crash. */
  fixture_set (&f, 200, "README.md", NULL);
  reply = fetch (driver, "7777777770");
  g_assert_cmpint (reply->kind, ==, WB_CARRIER_REPLY_FAILED);
  g_assert_nonnull (reply->error);
  wb_carrier_reply_free (reply);

  fixture_set (&f, 503, "dhl-unified-not-found.json", NULL);
  reply = fetch (driver, "7777777770");
  g_assert_cmpint (reply->kind, ==, WB_CARRIER_REPLY_FAILED);
  wb_carrier_reply_free (reply);

  wb_test_server_thread_stop (thread);
  g_free (f.body);
  g_free (f.retry_after);
  g_free (f.seen_key);
  g_free (f.seen_query);
  g_mutex_clear (&f.mutex);
}

/* ---- the emulator ---------------------------------------------------------------- */

static guint
emulator_start (gpointer data)
{
  g_autoptr(GError) error = NULL;
  guint port = wb_carrier_emulator_listen (data, &error);

  g_assert_no_error (error);
  return port;
}

static void
emulator_stop (gpointer data)
{
  wb_carrier_emulator_stop (data);
}

static void
test_driver_emulator (void)
{
  g_autoptr(WbCarrierEmulator) emulator = wb_carrier_emulator_new ();
  WbTestServerThread *thread = wb_test_server_thread_start ("emulator", emulator_start, emulator_stop, emulator);
  g_autoptr(WbStatusMap) map = wb_status_map_load_default (NULL);
  g_autoptr(WbCarrierTable) table = carriers_for ("emulator", wb_test_server_thread_get_port (thread), 1, 1);
  g_autoptr(WbCarrierDriver) driver = wb_carrier_driver_new (wb_carrier_table_lookup (table, "CDEK"), map, NULL);
  const char *codes[] = { "INFO_RECEIVED", "accepted", "DELIVERED", NULL };
  WbCarrierReply *reply;

  wb_carrier_emulator_seed (emulator, "CDEK", "A1", codes, 0);
  reply = fetch (driver, "A1");
  g_assert_cmpint (reply->kind, ==, WB_CARRIER_REPLY_OK);
  g_assert_cmpuint (reply->events->len, ==, 3);
  g_assert_cmpint (((WbStatusEvent *) g_ptr_array_index (reply->events, 1))->status, ==, WB_STATUS_IN_TRANSIT);
  g_assert_cmpint (((WbStatusEvent *) g_ptr_array_index (reply->events, 2))->status, ==, WB_STATUS_DELIVERED);
  wb_carrier_reply_free (reply);

  wb_carrier_emulator_set_limits (emulator, 0, 1, 0, WB_EMULATOR_RETRY_AFTER_SECONDS);
  wb_carrier_emulator_refuse_next (emulator, 1);
  reply = fetch (driver, "A1");
  g_assert_cmpint (reply->kind, ==, WB_CARRIER_REPLY_RATE_LIMITED);
  g_assert_cmpint (reply->retry_at, >, g_get_real_time ());
  wb_carrier_reply_free (reply);

  wb_carrier_emulator_set_faults (emulator, 0, 1, 0);
  reply = fetch (driver, "A1");
  g_assert_cmpint (reply->kind, ==, WB_CARRIER_REPLY_FAILED);
  wb_carrier_reply_free (reply);
  wb_test_server_thread_stop (thread);
}

/* ---- per-carrier figures ------------------------------------------------------------- */

/* The minute @i (0 oldest, 59 the current one) of @carrier's last hour. */
static JsonObject *
minute_at (JsonNode *hour,
           guint     i)
{
  return json_array_get_object_element (json_node_get_array (hour), i);
}

static JsonNode *
last_hour (WbCarrierStats *stats,
           const char     *carrier,
           gint64          now)
{
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  JsonNode *node;

  wb_carrier_stats_write_last_hour (stats, carrier, now, out);
  node = json_from_string (out->str, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (node)), ==, 60);
  return node;
}

/* Totals by outcome; per minute ok (not found included), error (every
 * failure) and throttled, oldest first; a minute an hour old is gone. */
static void
test_stats (void)
{
  g_autoptr(WbCarrierStats) stats = wb_carrier_stats_new ();
  /* 2026-12-07T18:00:30Z */
  gint64 t0 = G_GINT64_CONSTANT (1796666430) * G_USEC_PER_SEC;
  gint64 minute = 60 * G_USEC_PER_SEC;
  g_autoptr(JsonNode) hour = NULL;
  g_autoptr(JsonNode) later = NULL;
  WbCarrierStatsTotals totals;

  wb_carrier_stats_record (stats, "CDEK", WB_CARRIER_OUTCOME_OK, t0);
  wb_carrier_stats_record (stats, "CDEK", WB_CARRIER_OUTCOME_NOT_FOUND, t0);
  wb_carrier_stats_record (stats, "CDEK", WB_CARRIER_OUTCOME_THROTTLED, t0 + 10 * G_USEC_PER_SEC);
  wb_carrier_stats_record (stats, "CDEK", WB_CARRIER_OUTCOME_TIMEOUT, t0 + minute);
  wb_carrier_stats_record (stats, "CDEK", WB_CARRIER_OUTCOME_UNREADABLE, t0 + minute);
  wb_carrier_stats_record (stats, "CDEK", WB_CARRIER_OUTCOME_ERROR, t0 + 2 * minute);
  wb_carrier_stats_record (stats, "CDEK", WB_CARRIER_OUTCOME_STALE, t0 + 2 * minute);
  wb_carrier_stats_record (stats, "POST_RU", WB_CARRIER_OUTCOME_OK, t0);
  wb_carrier_stats_record_wait (stats, "CDEK", 250 * 1000);
  wb_carrier_stats_record_wait (stats, "CDEK", 750 * 1000);

  wb_carrier_stats_get_totals (stats, "CDEK", &totals);
  g_assert_cmpuint (totals.outcomes[WB_CARRIER_OUTCOME_OK], ==, 1);
  g_assert_cmpuint (totals.outcomes[WB_CARRIER_OUTCOME_NOT_FOUND], ==, 1);
  g_assert_cmpuint (totals.outcomes[WB_CARRIER_OUTCOME_THROTTLED], ==, 1);
  g_assert_cmpuint (totals.outcomes[WB_CARRIER_OUTCOME_TIMEOUT], ==, 1);
  g_assert_cmpuint (totals.outcomes[WB_CARRIER_OUTCOME_UNREADABLE], ==, 1);
  g_assert_cmpuint (totals.outcomes[WB_CARRIER_OUTCOME_ERROR], ==, 1);
  g_assert_cmpuint (totals.outcomes[WB_CARRIER_OUTCOME_STALE], ==, 1);
  g_assert_cmpuint (totals.waits, ==, 2);
  g_assert_cmpint (totals.wait_us_sum, ==, G_USEC_PER_SEC);
  g_assert_cmpstr (wb_carrier_outcome_to_string (WB_CARRIER_OUTCOME_TIMEOUT), ==, "timeout");

  hour = last_hour (stats, "CDEK", t0 + 2 * minute);
  g_assert_cmpstr (json_object_get_string_member (minute_at (hour, 59), "minute"), ==, "2026-12-07T18:02:00Z");
  g_assert_cmpstr (json_object_get_string_member (minute_at (hour, 57), "minute"), ==, "2026-12-07T18:00:00Z");
  g_assert_cmpstr (json_object_get_string_member (minute_at (hour, 0), "minute"), ==, "2026-12-07T17:03:00Z");
  g_assert_cmpint (json_object_get_int_member (minute_at (hour, 57), "ok"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (minute_at (hour, 57), "throttled"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (minute_at (hour, 57), "error"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (minute_at (hour, 58), "error"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (minute_at (hour, 59), "error"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (minute_at (hour, 59), "ok"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (minute_at (hour, 56), "ok"), ==, 0);

  /* 59 minutes on, 18:00 is the oldest minute; one more and it is gone,
   * though its slot of the ring is used again for the new minute. */
  later = last_hour (stats, "CDEK", t0 + 59 * minute);
  g_assert_cmpstr (json_object_get_string_member (minute_at (later, 0), "minute"), ==, "2026-12-07T18:00:00Z");
  g_assert_cmpint (json_object_get_int_member (minute_at (later, 0), "ok"), ==, 2);
  g_clear_pointer (&later, json_node_unref);
  wb_carrier_stats_record (stats, "CDEK", WB_CARRIER_OUTCOME_OK, t0 + 60 * minute);
  later = last_hour (stats, "CDEK", t0 + 60 * minute);
  g_assert_cmpstr (json_object_get_string_member (minute_at (later, 0), "minute"), ==, "2026-12-07T18:01:00Z");
  g_assert_cmpint (json_object_get_int_member (minute_at (later, 0), "error"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (minute_at (later, 59), "ok"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (minute_at (later, 59), "throttled"), ==, 0);
  /* GET /carriers' members, from one moment. */
  {
    g_autoptr(GString) out = g_string_new ("{");
    g_autoptr(JsonNode) node = NULL;
    JsonObject *object;

    wb_carrier_stats_write_json (stats, "CDEK", t0 + 60 * minute, out);
    g_string_append_c (out, '}');
    node = json_from_string (out->str, NULL);
    g_assert_nonnull (node);
    object = json_node_get_object (node);
    g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (object, "requests"), "ok"), ==, 2);
    g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (object, "requests"), "timeout"), ==, 1);
    g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (object, "permitWait"), "count"), ==, 2);
    g_assert_cmpfloat (json_object_get_double_member (json_object_get_object_member (object, "permitWait"),
                                                      "sumSeconds"), ==, 1.0);
    g_assert_cmpuint (json_array_get_length (json_object_get_array_member (object, "lastHour")), ==, 60);
  }
  /* Carriers apart; one never seen is all zeros. */
  wb_carrier_stats_get_totals (stats, "POST_RU", &totals);
  g_assert_cmpuint (totals.outcomes[WB_CARRIER_OUTCOME_OK], ==, 1);
  g_assert_cmpuint (totals.waits, ==, 0);
  wb_carrier_stats_get_totals (stats, "DHL", &totals);
  g_assert_cmpuint (totals.outcomes[WB_CARRIER_OUTCOME_OK], ==, 0);
}

/* ---- claims on a real PostgreSQL ------------------------------------------------------- */

typedef struct
{
  char            *conninfo;
  PGconn          *conn;
  WbDbPool        *pool;
} Db;

static void
db_set_up (Db         *db,
           const char *name)
{
  g_autoptr(GError) error = NULL;

  db->conninfo = wb_test_pg_create_database (name);
  db->conn = wb_db_connect (db->conninfo, &error);
  g_assert_no_error (error);
  wb_migrations_apply (db->conn, NULL, &error);
  g_assert_no_error (error);
  db->pool = wb_db_pool_new (db->conninfo, 6);
}

static void
db_tear_down (Db *db)
{
  wb_db_pool_close (db->pool);
  g_clear_object (&db->pool);
  PQfinish (db->conn);
  g_free (db->conninfo);
}

static void
add_due_trackings (Db   *db,
                   guint n)
{
  g_autofree char *count = g_strdup_printf ("%u", n);
  g_autoptr(PGresult) result = wb_test_pg_exec (db->conn,
                                                "INSERT INTO trackings (carrier, track_number, next_check_at)"
                                                " SELECT 'CDEK', 'N' || i, now() - interval '1 second'"
                                                " FROM generate_series(1, $1::integer) i", count);
}

typedef struct
{
  GHashTable *seen;        /* tracking_id → times claimed */
  guint       total;
  guint       twice;
} Collector;

static void
on_update (WbBus      *bus,
           WbBusBatch *batch,
           gpointer    data)
{
  Collector *collector = data;

  for (guint i = 0; i < wb_bus_batch_get_length (batch); i++)
    {
      const char *key = wb_bus_message_get_key (wb_bus_batch_get_message (batch, i));
      guint times = GPOINTER_TO_UINT (g_hash_table_lookup (collector->seen, key)) + 1;

      g_hash_table_insert (collector->seen, g_strdup (key), GUINT_TO_POINTER (times));
      collector->total++;
      if (times > 1)
        collector->twice++;
    }
  wb_bus_batch_ack (batch);
}

typedef struct
{
  Collector *c;
  guint      want;
} Want;

static gboolean
collected_enough (gpointer data)
{
  Want *want = data;

  return want->c->total >= want->want;
}

static void
test_claim_two_schedulers (void)
{
  Db db = { 0 };
  g_autoptr(WbCarrierTable) carriers = carriers_for ("emulator", 9, 10000, 1);
  g_autoptr(WbPollingLadder) ladder = ladder_of ("demo");
  g_autoptr(WbBus) bus = wb_bus_local_new (100000);
  Collector c = { g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL), 0, 0 };
  const char *topics[] = { WB_TOPIC_TRACKING_UPDATE, NULL };
  g_autoptr(WbPollingScheduler) a = NULL;
  g_autoptr(WbPollingScheduler) b = NULL;
  WbSchedulerCounts ca, cb;
  Want want = { &c, 3000 };

  db_set_up (&db, "claims");
  add_due_trackings (&db, 3000);
  ladder->tick = 5 * 1000;
  wb_bus_subscribe (bus, "test", topics, 1000, on_update, &c, NULL);
  a = wb_polling_scheduler_new (db.pool, bus, carriers, ladder, "daemon-a");
  b = wb_polling_scheduler_new (db.pool, bus, carriers, ladder, "daemon-b");
  wb_polling_scheduler_start (a);
  wb_polling_scheduler_start (b);
  g_assert_true (pump_until (collected_enough, &want, 60000));
  /* Leases hold: nothing is claimed again while they last. */
  pump_for (500);
  wb_polling_scheduler_stop (a);
  wb_polling_scheduler_stop (b);
  wb_polling_scheduler_get_counts (a, &ca);
  wb_polling_scheduler_get_counts (b, &cb);
  g_test_message ("scheduler a claimed %" G_GUINT64_FORMAT ", b %" G_GUINT64_FORMAT, ca.claimed, cb.claimed);
  g_assert_cmpuint (c.twice, ==, 0);
  g_assert_cmpuint (c.total, ==, 3000);
  g_assert_cmpuint (g_hash_table_size (c.seen), ==, 3000);
  g_assert_cmpuint (ca.claimed + cb.claimed, ==, 3000);
  g_assert_cmpuint (ca.claimed, >, 0);
  g_assert_cmpuint (cb.claimed, >, 0);
  g_assert_cmpint (wb_test_pg_int (db.conn, "SELECT count(*) FROM trackings WHERE lease_owner IS NULL", NULL), ==, 0);
  g_hash_table_unref (c.seen);
  g_clear_object (&a);
  g_clear_object (&b);
  pump_for (100);
  db_tear_down (&db);
}

static void
test_claim_lease_expires (void)
{
  Db db = { 0 };
  g_autoptr(WbCarrierTable) carriers = carriers_for ("emulator", 9, 100000, 100000);
  g_autoptr(WbPollingLadder) ladder = ladder_of ("demo");
  g_autoptr(WbBus) bus = wb_bus_local_new (100000);
  Collector c = { g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL), 0, 0 };
  const char *topics[] = { WB_TOPIC_TRACKING_UPDATE, NULL };
  g_autoptr(WbPollingScheduler) crashed = NULL;
  g_autoptr(WbPollingScheduler) survivor = NULL;
  Want want = { &c, 50 };

  db_set_up (&db, "leases");
  add_due_trackings (&db, 50);
  ladder->tick = 10 * 1000;
  ladder->lease = 1 * G_USEC_PER_SEC;
  wb_bus_subscribe (bus, "test", topics, 1000, on_update, &c, NULL);
  /* The first claims everything and dies without checking any of it. */
  crashed = wb_polling_scheduler_new (db.pool, bus, carriers, ladder, "crashed");
  wb_polling_scheduler_start (crashed);
  g_assert_true (pump_until (collected_enough, &want, 30000));
  wb_polling_scheduler_stop (crashed);
  g_assert_cmpint (wb_test_pg_int (db.conn, "SELECT count(*) FROM trackings WHERE lease_owner = 'crashed'", NULL),
                   ==, 50);

  survivor = wb_polling_scheduler_new (db.pool, bus, carriers, ladder, "survivor");
  wb_polling_scheduler_start (survivor);
  /* Not before the lease runs out … */
  pump_for (500);
  g_assert_cmpuint (c.total, ==, 50);
  /* … then every one of them once more. */
  want.want = 100;
  g_assert_true (pump_until (collected_enough, &want, 30000));
  wb_polling_scheduler_stop (survivor);
  g_assert_cmpuint (g_hash_table_size (c.seen), ==, 50);
  g_assert_cmpint (wb_test_pg_int (db.conn, "SELECT count(*) FROM trackings WHERE lease_owner = 'survivor'", NULL),
                   ==, 50);
  g_hash_table_unref (c.seen);
  g_clear_object (&crashed);
  g_clear_object (&survivor);
  pump_for (100);
  db_tear_down (&db);
}

/* ---- scheduler + worker + emulator in process -------------------------------------------- */

typedef struct
{
  PGconn     *conn;
  const char *sql;
  gint64      want;
} SqlWait;

static gboolean
sql_reaches (gpointer data)
{
  SqlWait *wait = data;

  return wb_test_pg_int (wait->conn, wait->sql, NULL) >= wait->want;
}

/* A 429 is no error of the tracking: no retry used, the carrier blocked
 * for every worker until Retry-After, and the check done afterwards. */
static void
test_rate_limited_keeps_retries (void)
{
  Db db = { 0 };
  g_autoptr(WbCarrierEmulator) emulator = wb_carrier_emulator_new ();
  WbTestServerThread *thread = wb_test_server_thread_start ("emulator", emulator_start, emulator_stop, emulator);
  g_autoptr(WbCarrierTable) carriers = carriers_for ("emulator", wb_test_server_thread_get_port (thread), 50, 1);
  g_autoptr(WbPollingLadder) ladder = ladder_of ("demo");
  g_autoptr(WbStatusMap) map = wb_status_map_load_default (NULL);
  g_autoptr(WbBus) bus = wb_bus_local_new (1000);
  g_autoptr(WbPollingScheduler) scheduler = NULL;
  g_autoptr(WbCarrierWorker) worker = NULL;
  g_autoptr(GError) error = NULL;
  WbWorkerCounts counts;
  SqlWait checked = { NULL, "SELECT count(*) FROM trackings WHERE status = 'DELIVERED'", 1 };
  const char *codes[] = { "INFO_RECEIVED", "DELIVERED", NULL };

  db_set_up (&db, "ratelimited");
  checked.conn = db.conn;
  add_due_trackings (&db, 1);
  wb_carrier_emulator_seed (emulator, "CDEK", "N1", codes, 0);
  wb_carrier_emulator_set_limits (emulator, 0, 1, 0, WB_EMULATOR_RETRY_AFTER_SECONDS);
  wb_carrier_emulator_refuse_next (emulator, 2);
  ladder->tick = 20 * 1000;
  /* One failure would open the breaker: 429s must not count as failures. */
  ladder->breaker_failures = 1;
  scheduler = wb_polling_scheduler_new (db.pool, bus, carriers, ladder, "s");
  worker = wb_carrier_worker_new (db.pool, bus, carriers, ladder, map, &error);
  g_assert_no_error (error);
  wb_carrier_worker_start (worker);
  wb_polling_scheduler_start (scheduler);
  g_assert_true (pump_until (sql_reaches, &checked, 30000));
  wb_polling_scheduler_stop (scheduler);
  wb_carrier_worker_stop (worker);

  wb_carrier_worker_get_counts (worker, &counts);
  g_assert_cmpuint (counts.rate_limited, ==, 2);
  g_assert_cmpuint (counts.failed, ==, 0);
  g_assert_cmpint (wb_test_pg_int (db.conn, "SELECT consecutive_errors FROM trackings", NULL), ==, 0);
  g_assert_null (wb_test_pg_text (db.conn, "SELECT last_error FROM trackings", NULL));
  /* The block was recorded for the carrier, not the tracking. */
  g_assert_cmpint (wb_test_pg_int (db.conn, "SELECT count(*) FROM carrier_limits"
                                            " WHERE carrier = 'CDEK' AND blocked_until IS NOT NULL", NULL), ==, 1);
  g_assert_cmpint (wb_test_pg_int (db.conn, "SELECT count(*) FROM carrier_limits"
                                            " WHERE failures = 0 AND breaker_open_until IS NULL", NULL), ==, 1);
  /* One check, one transaction: events, status and the outbox row together. */
  g_assert_cmpint (wb_test_pg_int (db.conn, "SELECT count(*) FROM tracking_events", NULL), ==, 2);
  g_assert_cmpint (wb_test_pg_int (db.conn, "SELECT count(*) FROM outbox WHERE topic = 'tracking.updated'", NULL),
                   ==, 3);
  g_assert_cmpint (wb_test_pg_int (db.conn, "SELECT count(*) FROM trackings WHERE lease_owner IS NOT NULL", NULL),
                   ==, 0);
  g_clear_object (&scheduler);
  g_clear_object (&worker);
  pump_for (200);
  wb_test_server_thread_stop (thread);
  db_tear_down (&db);
}

/* Failed checks back off and count; a success resets them. */
static void
test_errors_back_off (void)
{
  Db db = { 0 };
  g_autoptr(WbCarrierEmulator) emulator = wb_carrier_emulator_new ();
  WbTestServerThread *thread = wb_test_server_thread_start ("emulator", emulator_start, emulator_stop, emulator);
  g_autoptr(WbCarrierTable) carriers = carriers_for ("emulator", wb_test_server_thread_get_port (thread), 50, 1);
  g_autoptr(WbPollingLadder) ladder = ladder_of ("demo");
  g_autoptr(WbStatusMap) map = wb_status_map_load_default (NULL);
  g_autoptr(WbBus) bus = wb_bus_local_new (1000);
  g_autoptr(WbPollingScheduler) scheduler = NULL;
  g_autoptr(WbCarrierWorker) worker = NULL;
  SqlWait failed = { NULL, "SELECT consecutive_errors FROM trackings", 2 };
  g_autofree char *last_error = NULL;
  WbCarrierStatsTotals totals;
  gint64 gap;

  db_set_up (&db, "backoff");
  failed.conn = db.conn;
  add_due_trackings (&db, 1);
  wb_carrier_emulator_set_faults (emulator, 1, 0, 0);
  ladder->tick = 20 * 1000;
  ladder->error_base = 300 * 1000;
  ladder->breaker_failures = 100;
  scheduler = wb_polling_scheduler_new (db.pool, bus, carriers, ladder, "s");
  worker = wb_carrier_worker_new (db.pool, bus, carriers, ladder, map, NULL);
  wb_carrier_worker_start (worker);
  wb_polling_scheduler_start (scheduler);
  g_assert_true (pump_until (sql_reaches, &failed, 30000));
  /* After the second failure the next check is about 2 × error-base away. */
  gap = wb_test_pg_int (db.conn, "SELECT (extract(epoch FROM next_check_at - last_checked_at) * 1000)::bigint"
                                 " FROM trackings", NULL);
  g_assert_cmpint (gap, >=, 540);
  g_assert_cmpint (gap, <=, 660);
  last_error = wb_test_pg_text (db.conn, "SELECT last_error FROM trackings", NULL);
  g_assert_nonnull (strstr (last_error, "503"));
  wb_carrier_emulator_set_faults (emulator, 0, 0, 0);
  failed.sql = "SELECT count(*) FROM trackings WHERE consecutive_errors = 0 AND last_error IS NULL";
  failed.want = 1;
  g_assert_true (pump_until (sql_reaches, &failed, 30000));
  /* Counted per carrier by outcome once the commit is reported back: the
   * 503s as errors, then the success (a number the carrier does not know
   * yet is a success too). */
  pump_for (300);
  wb_carrier_stats_get_totals (wb_carrier_worker_get_stats (worker), "CDEK", &totals);
  g_assert_cmpuint (totals.outcomes[WB_CARRIER_OUTCOME_ERROR], >=, 2);
  g_assert_cmpuint (totals.outcomes[WB_CARRIER_OUTCOME_OK] + totals.outcomes[WB_CARRIER_OUTCOME_NOT_FOUND], >=, 1);
  g_assert_cmpuint (totals.outcomes[WB_CARRIER_OUTCOME_TIMEOUT], ==, 0);
  wb_polling_scheduler_stop (scheduler);
  wb_carrier_worker_stop (worker);
  g_clear_object (&scheduler);
  g_clear_object (&worker);
  pump_for (200);
  wb_test_server_thread_stop (thread);
  db_tear_down (&db);
}

typedef struct
{
  WbCarrierEmulator *emulator;
  guint64            want;
} RequestWait;

/* ---- the breaker and the daily quota ---------------------------------------------------- */

/* A scheduler and a worker on one database, calling an emulator. */
typedef struct
{
  Db                  db;
  WbCarrierEmulator  *emulator;
  WbTestServerThread *thread;
  WbCarrierTable     *carriers;
  WbPollingLadder    *ladder;
  WbBus              *bus;
  WbPollingScheduler *scheduler;
  WbCarrierWorker    *worker;
} Rig;

static void
rig_set_up (Rig        *rig,
            const char *name,
            guint       daily_quota)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  db_set_up (&rig->db, name);
  rig->emulator = wb_carrier_emulator_new ();
  rig->thread = wb_test_server_thread_start ("emulator", emulator_start, emulator_stop, rig->emulator);
  text = g_strdup_printf ("[CDEK]\ndriver=emulator\nbase-url=http://127.0.0.1:%u\napi-key=k\nrate=1000\nburst=100\n"
                          "daily-quota=%u\nstatus-map=generic\n", wb_test_server_thread_get_port (rig->thread),
                          daily_quota);
  rig->carriers = wb_carrier_table_new_from_data (text, &error);
  g_assert_no_error (error);
  rig->ladder = ladder_of ("demo");
  rig->ladder->tick = 20 * 1000;
  /* Checks that went well come back only after the test is over. */
  rig->ladder->pending = rig->ladder->in_transit = rig->ladder->idle_max = HOUR;
  rig->bus = wb_bus_local_new (1000);
}

static void
rig_start (Rig *rig)
{
  g_autoptr(WbStatusMap) map = wb_status_map_load_default (NULL);
  g_autoptr(GError) error = NULL;

  rig->scheduler = wb_polling_scheduler_new (rig->db.pool, rig->bus, rig->carriers, rig->ladder, "s");
  rig->worker = wb_carrier_worker_new (rig->db.pool, rig->bus, rig->carriers, rig->ladder, map, &error);
  g_assert_no_error (error);
  wb_carrier_worker_start (rig->worker);
  wb_polling_scheduler_start (rig->scheduler);
}

static void
rig_tear_down (Rig *rig)
{
  wb_polling_scheduler_stop (rig->scheduler);
  wb_carrier_worker_stop (rig->worker);
  g_clear_object (&rig->scheduler);
  g_clear_object (&rig->worker);
  pump_for (200);
  wb_test_server_thread_stop (rig->thread);
  g_clear_object (&rig->emulator);
  g_clear_object (&rig->carriers);
  g_clear_pointer (&rig->ladder, wb_polling_ladder_free);
  g_clear_object (&rig->bus);
  db_tear_down (&rig->db);
}

static guint64
emulator_requests (WbCarrierEmulator *emulator)
{
  WbEmulatorCounts counts;

  wb_carrier_emulator_get_counts (emulator, &counts);
  return counts.requests;
}

static gboolean
requests_reach (gpointer data)
{
  RequestWait *wait = data;

  return emulator_requests (wait->emulator) >= wait->want;
}

static WbBreakerState
breaker_seen (Rig *rig)
{
  WbCarrierLimitsView view;

  wb_polling_scheduler_get_limits (rig->scheduler, 0, &view);
  return view.breaker;
}

static gboolean
breaker_opens (gpointer data)
{
  return breaker_seen (data) == WB_BREAKER_OPEN;
}

/* N failures in a row open the breaker: nothing is called during its
 * pause, then one probe; a failed probe opens it again, a good one closes
 * it and the rest follow. */
static void
test_breaker (void)
{
  Rig rig = { 0 };
  WbCarrierStatsTotals totals;
  SqlWait opened = { NULL, "SELECT count(*) FROM carrier_limits WHERE breaker_open_until > now()", 1 };
  SqlWait recovered = { NULL, "SELECT count(*) FROM trackings WHERE consecutive_errors = 0"
                              " AND last_checked_at IS NOT NULL", 5 };
  RequestWait probe;
  guint64 at_open;

  rig_set_up (&rig, "breaker", 0);
  opened.conn = recovered.conn = rig.db.conn;
  add_due_trackings (&rig.db, 5);
  wb_carrier_emulator_set_faults (rig.emulator, 1, 0, 0);
  rig.ladder->breaker_failures = 3;
  rig.ladder->breaker_pause = 1500 * 1000;
  rig.ladder->error_base = rig.ladder->error_max = 100 * 1000;
  rig_start (&rig);

  g_assert_true (pump_until (sql_reaches, &opened, 30000));
  g_assert_cmpint (wb_test_pg_int (rig.db.conn, "SELECT failures FROM carrier_limits", NULL), >=, 3);
  /* Open: the failed trackings are due again within 100 ms, yet nobody
   * calls the carrier during the pause. */
  pump_for (300);
  at_open = emulator_requests (rig.emulator);
  g_assert_cmpuint (at_open, >=, 3);
  g_assert_cmpint (breaker_seen (&rig), ==, WB_BREAKER_OPEN);
  pump_for (800);
  g_assert_cmpuint (emulator_requests (rig.emulator), ==, at_open);
  /* After the pause, one probe alone; it fails, and the breaker opens again. */
  probe = (RequestWait) { rig.emulator, at_open + 1 };
  g_assert_true (pump_until (requests_reach, &probe, 5000));
  pump_for (700);
  g_assert_cmpuint (emulator_requests (rig.emulator), ==, at_open + 1);
  g_assert_true (pump_until (breaker_opens, &rig, 2000));
  /* The carrier is back: the next probe closes the breaker and every
   * tracking is checked. */
  wb_carrier_emulator_set_faults (rig.emulator, 0, 0, 0);
  g_assert_true (pump_until (sql_reaches, &recovered, 30000));
  g_assert_cmpint (wb_test_pg_int (rig.db.conn, "SELECT count(*) FROM carrier_limits"
                                                " WHERE failures = 0 AND breaker_open_until IS NULL", NULL), ==, 1);
  pump_for (300);
  g_assert_cmpint (breaker_seen (&rig), ==, WB_BREAKER_CLOSED);
  wb_carrier_stats_get_totals (wb_carrier_worker_get_stats (rig.worker), "CDEK", &totals);
  g_assert_cmpuint (totals.outcomes[WB_CARRIER_OUTCOME_ERROR], ==, at_open + 1);
  g_assert_cmpuint (totals.outcomes[WB_CARRIER_OUTCOME_OK], ==, 5);
  rig_tear_down (&rig);
}

/* The daily quota stops the calls where it ends, and the next UTC day
 * (the row's day set to yesterday) gives it back. */
static void
test_daily_quota (void)
{
  Rig rig = { 0 };
  RequestWait spent;
  WbCarrierLimitsView view;

  rig_set_up (&rig, "quota", 3);
  add_due_trackings (&rig.db, 5);
  rig_start (&rig);
  spent = (RequestWait) { rig.emulator, 3 };
  g_assert_true (pump_until (requests_reach, &spent, 30000));
  pump_for (1000);
  g_assert_cmpuint (emulator_requests (rig.emulator), ==, 3);
  g_assert_cmpint (wb_test_pg_int (rig.db.conn, "SELECT quota_used FROM carrier_limits", NULL), ==, 3);
  g_assert_cmpint (wb_test_pg_int (rig.db.conn, "SELECT count(*) FROM trackings WHERE last_checked_at IS NULL", NULL),
                   ==, 2);
  wb_polling_scheduler_get_limits (rig.scheduler, 0, &view);
  g_assert_cmpint (view.quota_used, ==, 3);

  /* Midnight (UTC): the row's day is yesterday, so today's quota is whole. */
  wb_polling_scheduler_stop (rig.scheduler);
  pump_for (100);
  PQclear (wb_test_pg_exec (rig.db.conn, "UPDATE carrier_limits SET quota_day = quota_day - 1", NULL));
  wb_polling_scheduler_start (rig.scheduler);
  spent.want = 5;
  g_assert_true (pump_until (requests_reach, &spent, 30000));
  pump_for (500);
  g_assert_cmpuint (emulator_requests (rig.emulator), ==, 5);
  g_assert_cmpint (wb_test_pg_int (rig.db.conn, "SELECT quota_used FROM carrier_limits"
                                                " WHERE quota_day = (now() AT TIME ZONE 'UTC')::date", NULL), ==, 2);
  rig_tear_down (&rig);
}

/* ---- a real waybilld ---------------------------------------------------------------- */

typedef struct
{
  WbTestDaemon       *daemon;
  SoupSession        *session;
  WbCarrierEmulator  *emulator;
  WbCarrierEmulator  *fast;
  WbTestServerThread *emulator_thread;
  WbTestServerThread *fast_thread;
  char               *carriers_path;
  char               *dsn;
} Live;

static guint
send_json (Live        *live,
           const char  *method,
           const char  *path,
           const char  *body,
           JsonNode   **out_answer,
           char       **out_retry_after)
{
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u%s", wb_test_daemon_port (live->daemon), path);
  g_autoptr(SoupMessage) message = soup_message_new (method, uri);
  g_autoptr(GBytes) answer = NULL;
  g_autoptr(GError) error = NULL;

  if (body != NULL)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));

      soup_message_set_request_body_from_bytes (message, "application/json", bytes);
    }
  answer = soup_session_send_and_read (live->session, message, NULL, &error);
  g_assert_no_error (error);
  if (out_answer != NULL)
    *out_answer = g_bytes_get_size (answer) > 0 ? wb_json_parse_bytes (answer, NULL, NULL) : NULL;
  if (out_retry_after != NULL)
    *out_retry_after = g_strdup (soup_message_headers_get_one (soup_message_get_response_headers (message),
                                                               "Retry-After"));
  return soup_message_get_status (message);
}

static void
live_wait_ready (Live *live)
{
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  while (send_json (live, "GET", "/readyz", NULL, NULL, NULL) != 200)
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("waybilld did not become ready");
      g_usleep (50 * 1000);
    }
}

static void
live_start (Live *live,
            double fast_rate)
{
  g_autofree char *text = NULL;
  g_autofree char *env_dsn = NULL;
  g_autofree char *carriers_arg = NULL;
  const char *codes[] = { "INFO_RECEIVED", "accepted", "OUT_FOR_DELIVERY", "DELIVERED", NULL };

  live->emulator = wb_carrier_emulator_new ();
  live->fast = wb_carrier_emulator_new ();
  wb_carrier_emulator_set_step (live->emulator, 300 * 1000);
  wb_carrier_emulator_seed (live->emulator, "CDEK", "1106-2233", codes, 300 * 1000);
  /* The carrier's own bucket forgives 150 ms of timer and socket jitter;
   * the one-second windows below are the strict count. */
  wb_carrier_emulator_set_limits (live->fast, fast_rate, 4, 0, WB_EMULATOR_RETRY_AFTER_SECONDS);
  live->emulator_thread = wb_test_server_thread_start ("emulator", emulator_start, emulator_stop, live->emulator);
  live->fast_thread = wb_test_server_thread_start ("fast", emulator_start, emulator_stop, live->fast);
  text = g_strdup_printf ("[CDEK]\ndriver=emulator\nbase-url=http://127.0.0.1:%u\napi-key=secret-key\n"
                          "rate=50\nburst=1\nstatus-map=generic\n"
                          "[FAST]\ndriver=emulator\nbase-url=http://127.0.0.1:%u\napi-key=k\n"
                          "rate=%g\nburst=1\nstatus-map=generic\n",
                          wb_test_server_thread_get_port (live->emulator_thread),
                          wb_test_server_thread_get_port (live->fast_thread), fast_rate);
  /* The test's own directory: other test programs may run beside it. */
  g_assert_cmpint (g_mkdir_with_parents (g_get_user_runtime_dir (), 0700), ==, 0);
  live->carriers_path = g_build_filename (g_get_user_runtime_dir (), "carriers.conf", NULL);
  g_assert_true (g_file_set_contents (live->carriers_path, text, -1, NULL));
  live->dsn = wb_test_pg_create_database ("pollinglive");
  env_dsn = g_strconcat ("DB_DSN=", live->dsn, NULL);
  carriers_arg = g_strconcat ("--carriers-file=", live->carriers_path, NULL);
  {
    const char *env[] = { env_dsn, NULL };
    const char *args[] = { "--listen-address=127.0.0.1", carriers_arg, "--polling-profile=demo", NULL };

    live->daemon = wb_test_daemon_spawn (env, args);
  }
  live->session = soup_session_new_with_options ("timeout", 30, NULL);
  live_wait_ready (live);
}

static void
live_stop (Live *live)
{
  g_assert_cmpint (wb_test_daemon_terminate (live->daemon), ==, 0);
  /* Secrets never reach the log. */
  g_assert_false (wb_test_daemon_log_contains (live->daemon, "secret-key"));
  wb_test_daemon_free (live->daemon);
  wb_test_server_thread_stop (live->emulator_thread);
  wb_test_server_thread_stop (live->fast_thread);
  g_clear_object (&live->emulator);
  g_clear_object (&live->fast);
  g_clear_object (&live->session);
  g_unlink (live->carriers_path);
  g_free (live->carriers_path);
  g_free (live->dsn);
}

static const char *
string_at (JsonNode   *node,
           const char *path)
{
  g_autoptr(JsonPath) query = json_path_new ();
  g_autoptr(JsonNode) found = NULL;
  JsonArray *array;

  g_assert_true (json_path_compile (query, path, NULL));
  found = json_path_match (query, node);
  array = json_node_get_array (found);
  if (json_array_get_length (array) == 0 || JSON_NODE_HOLDS_NULL (json_array_get_element (array, 0)))
    return NULL;
  /* The string lives in @node, which outlives the match. */
  return g_intern_string (json_array_get_string_element (array, 0));
}

static gint64
int_at (JsonNode   *node,
        const char *path)
{
  g_autoptr(JsonPath) query = json_path_new ();
  g_autoptr(JsonNode) found = NULL;

  g_assert_true (json_path_compile (query, path, NULL));
  found = json_path_match (query, node);
  return json_array_get_int_element (json_node_get_array (found), 0);
}

static char *
get_metrics (Live *live)
{
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u/metrics", wb_test_daemon_port (live->daemon));
  g_autoptr(SoupMessage) message = soup_message_new ("GET", uri);
  g_autoptr(GBytes) body = soup_session_send_and_read (live->session, message, NULL, NULL);

  g_assert_nonnull (body);
  return g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
}

/* The value of one series of the Prometheus text, -1 when absent. */
static double
metric_value (const char *text,
              const char *series)
{
  g_autofree char *line_start = g_strconcat ("\n", series, " ", NULL);
  const char *found = strstr (text, line_start);

  if (found == NULL)
    return -1;
  return g_ascii_strtod (found + strlen (line_start), NULL);
}

/* GET /carriers' entry for @code. */
static JsonObject *
carrier_entry (JsonNode   *carriers,
               const char *code)
{
  JsonArray *items = json_object_get_array_member (json_node_get_object (carriers), "items");

  for (guint i = 0; i < json_array_get_length (items); i++)
    {
      JsonObject *item = json_array_get_object_element (items, i);

      if (g_strcmp0 (json_object_get_string_member (item, "code"), code) == 0)
        return item;
    }
  g_assert_not_reached ();
}

static gint64
member_int (JsonObject *object,
            const char *group,
            const char *name)
{
  return json_object_get_int_member (json_object_get_object_member (object, group), name);
}

/* The last hour's minutes: sixty, oldest first, and how many were ok. */
static gint64
last_hour_ok (JsonObject *carrier)
{
  JsonArray *minutes = json_object_get_array_member (carrier, "lastHour");
  gint64 ok = 0;

  g_assert_cmpuint (json_array_get_length (minutes), ==, 60);
  for (guint i = 0; i < 60; i++)
    {
      JsonObject *minute = json_array_get_object_element (minutes, i);

      g_assert_true (g_str_has_suffix (json_object_get_string_member (minute, "minute"), ":00Z"));
      if (i > 0)
        g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (minutes, i - 1), "minute"),
                         <, json_object_get_string_member (minute, "minute"));
      ok += json_object_get_int_member (minute, "ok");
    }
  return ok;
}

typedef struct
{
  Live       *live;
  const char *body;
  const char *status;
} StatusWait;

static gboolean
tracking_reaches (gpointer data)
{
  StatusWait *wait = data;
  g_autoptr(JsonNode) answer = NULL;

  g_usleep (100 * 1000);
  if (send_json (wait->live, "POST", "/trackings/get-by-ids", wait->body, &answer, NULL) != 200)
    return FALSE;
  return g_strcmp0 (string_at (answer, "$.items[0].status"), wait->status) == 0;
}

static void
test_daemon_polls (void)
{
  Live live = { 0 };
  g_autoptr(JsonNode) added = NULL;
  g_autoptr(JsonNode) shipment = NULL;
  g_autoptr(JsonNode) events = NULL;
  g_autoptr(JsonNode) again = NULL;
  g_autoptr(JsonNode) before = NULL;
  g_autoptr(JsonNode) after = NULL;
  g_autofree char *metrics = NULL;
  JsonObject *cdek;
  g_autofree char *retry_after = NULL;
  g_autofree char *items = NULL;
  g_autofree char *ids = NULL;
  g_autofree char *shipment_path = NULL;
  g_autofree char *events_path = NULL;
  g_autofree char *refresh_path = NULL;
  StatusWait wait = { &live, NULL, "DELIVERED" };
  gint64 id;

  live_start (&live, 10);
  /* Nothing asked yet: the carrier's figures start at zero. */
  g_assert_cmpuint (send_json (&live, "GET", "/carriers", NULL, &before, NULL), ==, 200);
  g_assert_cmpint (member_int (carrier_entry (before, "CDEK"), "requests", "ok"), ==, 0);
  g_assert_cmpint (last_hour_ok (carrier_entry (before, "CDEK")), ==, 0);
  g_assert_cmpuint (send_json (&live, "POST", "/shipments",
                               "{\"clientId\":\"acme\",\"serviceLevel\":\"standard\",\"recipient\":{\"name\":\"Ann\"},"
                               "\"destination\":{\"country\":\"BY\"}}", &shipment, NULL), ==, 201);
  /* Per item: the valid ones are added, the others answered naming their field. */
  items = g_strdup_printf ("{\"items\":[{\"carrierCode\":\"CDEK\",\"trackNumber\":\"1106-2233\",\"shipmentId\":\"%s\"},"
                           "{\"carrierCode\":\"NOPE\",\"trackNumber\":\"X1\"},"
                           "{\"carrierCode\":\"CDEK\",\"trackNumber\":\"\"},"
                           "{\"carrierCode\":\"CDEK\",\"trackNumber\":\"1106-2233\"},"
                           "{\"carrierCode\":\"CDEK\",\"trackNumber\":\"B2\",\"shipmentId\":\"%s\"}]}",
                           string_at (shipment, "$.id"), "0b9e1f4c-3c1a-4a57-9b49-6a8f2d0c7e11");
  g_assert_cmpuint (send_json (&live, "POST", "/trackings", items, &added, NULL), ==, 200);
  g_assert_true (json_node_get_boolean (json_object_get_member (
    json_array_get_object_element (json_object_get_array_member (json_node_get_object (added), "items"), 0),
    "created")));
  g_assert_cmpstr (string_at (added, "$.items[1].error.field"), ==, "items[1].carrierCode");
  g_assert_cmpstr (string_at (added, "$.items[2].error.field"), ==, "items[2].trackNumber");
  g_assert_cmpstr (string_at (added, "$.items[4].error.field"), ==, "items[4].shipmentId");
  /* The same number again is the same tracking, not a second one. */
  id = int_at (added, "$.items[0].id");
  g_assert_cmpint (int_at (added, "$.items[3].id"), ==, id);
  g_assert_cmpint (int_at (added, "$.created"), ==, 1);
  g_assert_cmpint (int_at (added, "$.existing"), ==, 1);
  g_assert_cmpint (int_at (added, "$.failed"), ==, 3);

  /* The emulator's scenario runs to DELIVERED, and the shipment follows. */
  ids = g_strdup_printf ("{\"ids\":[%" G_GINT64_FORMAT "]}", id);
  wait.body = ids;
  g_assert_true (pump_until (tracking_reaches, &wait, 40000));
  events_path = g_strdup_printf ("/trackings/%" G_GINT64_FORMAT "/events?limit=10", id);
  g_assert_cmpuint (send_json (&live, "GET", events_path, NULL, &events, NULL), ==, 200);
  g_assert_cmpint (int_at (events, "$.total"), ==, 4);
  g_assert_cmpstr (string_at (events, "$.items[0].status"), ==, "DELIVERED");
  shipment_path = g_strdup_printf ("/shipments/%s", string_at (shipment, "$.id"));
  {
    gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
    gboolean delivered = FALSE;

    while (!delivered && g_get_monotonic_time () < deadline)
      {
        g_autoptr(JsonNode) view = NULL;

        g_assert_cmpuint (send_json (&live, "GET", shipment_path, NULL, &view, NULL), ==, 200);
        delivered = g_strcmp0 (string_at (view, "$.status"), "DELIVERED") == 0;
        if (!delivered)
          g_usleep (200 * 1000);
      }
    g_assert_true (delivered);
  }

  /* Refresh, then refresh again too soon: 429 with Retry-After. */
  refresh_path = g_strdup_printf ("/trackings/%" G_GINT64_FORMAT "/refresh", id);
  g_assert_cmpuint (send_json (&live, "POST", refresh_path, NULL, NULL, NULL), ==, 202);
  g_assert_cmpuint (send_json (&live, "POST", refresh_path, NULL, &again, &retry_after), ==, 429);
  g_assert_nonnull (retry_after);
  g_assert_cmpint (g_ascii_strtoll (retry_after, NULL, 10), >=, 1);
  g_assert_cmpint (g_ascii_strtoll (retry_after, NULL, 10), <=, 5);
  g_assert_cmpstr (string_at (again, "$.error.code"), ==, "refresh_throttled");
  /* Per carrier, in GET /carriers: the configuration with its secret
   * masked, the shared limits, and the requests this daemon made. */
  g_assert_cmpuint (send_json (&live, "GET", "/carriers", NULL, &after, NULL), ==, 200);
  {
    g_autofree char *schema_dir = g_test_build_filename (G_TEST_DIST, "..", "data", "schemas", NULL);
    g_autoptr(WbTestSchemaSet) schemas = wb_test_schema_set_new (schema_dir);
    g_autoptr(GError) error = NULL;

    wb_test_schema_validate (schemas, "carriers.schema.json", "", after, &error);
    g_assert_no_error (error);
  }
  cdek = carrier_entry (after, "CDEK");
  g_assert_cmpstr (json_object_get_string_member (cdek, "apiKey"), ==, "****");
  g_assert_cmpint (member_int (cdek, "requests", "ok"), >=, 1);
  g_assert_cmpint (member_int (cdek, "requests", "throttled"), ==, 0);
  g_assert_cmpint (last_hour_ok (cdek), ==, member_int (cdek, "requests", "ok") + member_int (cdek, "requests", "notFound"));
  g_assert_cmpint (member_int (cdek, "permitWait", "count"), >=, member_int (cdek, "requests", "ok"));
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (cdek, "limits"), "breaker"), ==,
                   "closed");
  g_assert_cmpint (member_int (cdek, "limits", "quotaUsedToday"), >=, member_int (cdek, "requests", "ok"));
  g_assert_true (json_object_get_null_member (json_object_get_object_member (cdek, "limits"), "quotaLeftToday"));
  g_assert_cmpint (member_int (carrier_entry (after, "FAST"), "requests", "ok"), ==, 0);
  /* … and in /metrics. */
  metrics = get_metrics (&live);
  g_assert_cmpfloat (metric_value (metrics, "waybill_carrier_requests_total{carrier=\"CDEK\",outcome=\"ok\"}"), >=, 1);
  g_assert_cmpfloat (metric_value (metrics, "waybill_carrier_requests_total{carrier=\"CDEK\",outcome=\"timeout\"}"),
                     ==, 0);
  g_assert_cmpfloat (metric_value (metrics, "waybill_carrier_breaker_state{carrier=\"CDEK\",state=\"closed\"}"), ==, 1);
  g_assert_cmpfloat (metric_value (metrics, "waybill_carrier_breaker_state{carrier=\"CDEK\",state=\"open\"}"), ==, 0);
  g_assert_cmpfloat (metric_value (metrics, "waybill_carrier_quota_used{carrier=\"CDEK\"}"), >=, 1);
  g_assert_cmpfloat (metric_value (metrics, "waybill_carrier_permit_waits_total{carrier=\"CDEK\"}"), >=, 1);
  g_assert_cmpfloat (metric_value (metrics, "waybill_carrier_permit_wait_seconds_total{carrier=\"CDEK\"}"), >=, 0);
  g_assert_cmpfloat (metric_value (metrics, "waybill_carrier_blocked{carrier=\"CDEK\"}"), ==, 0);
  g_assert_nonnull (strstr (metrics, "waybill_polling_claims_total"));
  live_stop (&live);
}

static gboolean
emulator_served (gpointer data)
{
  RequestWait *wait = data;
  WbEmulatorCounts counts;

  g_usleep (50 * 1000);
  wb_carrier_emulator_get_counts (wait->emulator, &counts);
  return counts.requests >= wait->want;
}

/* A backlog far above the rate: the carrier sees at most its rate, in any
 * one-second window, counted at the carrier. */
static void
test_daemon_limit_held (void)
{
  Live live = { 0 };
  GString *items = g_string_new ("{\"items\":[");
  RequestWait wait;
  WbEmulatorCounts counts;
  guint most;

  live_start (&live, 20);
  for (guint i = 0; i < 300; i++)
    g_string_append_printf (items, "%s{\"carrierCode\":\"FAST\",\"trackNumber\":\"F%u\"}", i ? "," : "", i);
  g_string_append (items, "]}");
  g_assert_cmpuint (send_json (&live, "POST", "/trackings", items->str, NULL, NULL), ==, 200);
  g_string_free (items, TRUE);
  wait = (RequestWait) { live.fast, 100 };
  g_assert_true (pump_until (emulator_served, &wait, 30000));
  wb_carrier_emulator_get_counts (live.fast, &counts);
  most = wb_carrier_emulator_max_in_window (live.fast, G_USEC_PER_SEC);
  g_test_message ("FAST: %" G_GUINT64_FORMAT " requests, %" G_GUINT64_FORMAT " refused, at most %u in one second"
                  " (rate 20, burst 1)", counts.requests, counts.refused, most);
  g_assert_cmpuint (counts.refused, ==, 0);
  g_assert_cmpuint (most, <=, 21);
  /* … and it is used: the backlog goes at about the rate. */
  g_assert_cmpuint (most, >=, 18);
  live_stop (&live);
}

/* ---- two daemons, one carrier ---------------------------------------------------------- */

/* A waybilld running the scheduler and carrier-worker roles on @dsn, its
 * CDEK at @port. */
static WbTestDaemon *
spawn_poller (const char  *dsn,
              guint        port,
              const char  *api_key,
              char       **out_carriers_path)
{
  g_autofree char *text = g_strdup_printf ("[CDEK]\ndriver=emulator\nbase-url=http://127.0.0.1:%u\napi-key=%s\n"
                                           "rate=20\nburst=1\nstatus-map=generic\n", port, api_key);
  g_autofree char *env_dsn = g_strconcat ("DB_DSN=", dsn, NULL);
  g_autofree char *carriers_arg = NULL;
  g_autofree char *name = g_strdup_printf ("carriers-%s.conf", api_key);
  const char *env[] = { env_dsn, NULL };

  /* The test's own directory: other test programs may run beside it. */
  g_assert_cmpint (g_mkdir_with_parents (g_get_user_runtime_dir (), 0700), ==, 0);
  *out_carriers_path = g_build_filename (g_get_user_runtime_dir (), name, NULL);
  g_assert_true (g_file_set_contents (*out_carriers_path, text, -1, NULL));
  carriers_arg = g_strconcat ("--carriers-file=", *out_carriers_path, NULL);
  {
    const char *args[] = { "--listen-address=127.0.0.1", carriers_arg, "--polling-profile=demo",
                           "--roles=scheduler,carrier-worker", NULL };

    return wb_test_daemon_spawn (env, args);
  }
}

static void
wait_ready_daemon (SoupSession  *session,
                   WbTestDaemon *daemon)
{
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u/readyz", wb_test_daemon_port (daemon));
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  for (;;)
    {
      g_autoptr(SoupMessage) message = soup_message_new ("GET", uri);
      g_autoptr(GBytes) body = soup_session_send_and_read (session, message, NULL, NULL);

      if (soup_message_get_status (message) == 200)
        return;
      if (g_get_monotonic_time () > deadline)
        g_error ("waybilld did not become ready:\n%s", daemon->log->str);
      g_usleep (50 * 1000);
    }
}

static double
daemon_metric (SoupSession  *session,
               WbTestDaemon *daemon,
               const char   *series)
{
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u/metrics", wb_test_daemon_port (daemon));
  g_autoptr(SoupMessage) message = soup_message_new ("GET", uri);
  g_autoptr(GBytes) body = soup_session_send_and_read (session, message, NULL, NULL);
  g_autofree char *text = g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));

  return metric_value (text, series);
}

/* Two daemons poll one carrier through one database, each at its own
 * endpoint; the carrier refuses one of them with a 429, and the other
 * stops calling too, until the block is over (counted at its endpoint). */
static void
test_two_daemons_share_429 (void)
{
  g_autoptr(WbCarrierEmulator) refusing = wb_carrier_emulator_new ();
  g_autoptr(WbCarrierEmulator) serving = wb_carrier_emulator_new ();
  WbTestServerThread *refusing_thread = NULL;
  WbTestServerThread *serving_thread = NULL;
  g_autoptr(SoupSession) session = soup_session_new_with_options ("timeout", 30, NULL);
  g_autofree char *dsn = wb_test_pg_create_database ("twodaemons");
  g_autofree char *path_a = NULL;
  g_autofree char *path_b = NULL;
  g_autoptr(GError) error = NULL;
  PGconn *conn;
  WbTestDaemon *a, *b;
  SqlWait blocked = { NULL, "SELECT count(*) FROM carrier_limits WHERE blocked_until > now()", 1 };
  RequestWait resumed;
  guint64 a_requests, b_requests;
  gint64 block_left_ms, stopping;

  /* No Retry-After and no daily quota: the block lasts rate-limit-pause
   * (5 s). Once: a carrier that refused A for good would block the
   * carrier again each time the block ends and A's claim comes first. */
  wb_carrier_emulator_set_limits (refusing, 0, 1, 0, WB_EMULATOR_RETRY_AFTER_NONE);
  wb_carrier_emulator_refuse_next (refusing, 1);
  refusing_thread = wb_test_server_thread_start ("refusing", emulator_start, emulator_stop, refusing);
  serving_thread = wb_test_server_thread_start ("serving", emulator_start, emulator_stop, serving);
  a = spawn_poller (dsn, wb_test_server_thread_get_port (refusing_thread), "a", &path_a);
  wait_ready_daemon (session, a);
  b = spawn_poller (dsn, wb_test_server_thread_get_port (serving_thread), "b", &path_b);
  wait_ready_daemon (session, b);
  conn = wb_db_connect (dsn, &error);
  g_assert_no_error (error);
  blocked.conn = conn;
  PQclear (wb_test_pg_exec (conn, "INSERT INTO trackings (carrier, track_number, next_check_at)"
                                  " SELECT 'CDEK', 'N' || i, now() - interval '1 second'"
                                  " FROM generate_series(1, 400) i", NULL));

  g_assert_true (pump_until (sql_reaches, &blocked, 30000));
  /* Permits granted before the block (up to the scheduler's one-second
   * look-ahead) are still used; after that, nobody calls. */
  pump_for (1300);
  block_left_ms = wb_test_pg_int (conn, "SELECT (extract(epoch FROM max(blocked_until) - now()) * 1000)::bigint"
                                        " FROM carrier_limits", NULL);
  g_assert_cmpint (block_left_ms, >, 2000);
  a_requests = emulator_requests (refusing);
  b_requests = emulator_requests (serving);
  g_assert_cmpuint (a_requests, >=, 1);
  pump_for (1500);
  g_test_message ("A (refused) %" G_GUINT64_FORMAT ", B %" G_GUINT64_FORMAT " requests; blocked for %" G_GINT64_FORMAT
                  " ms more", a_requests, b_requests, block_left_ms);
  g_assert_cmpuint (emulator_requests (serving), ==, b_requests);
  g_assert_cmpuint (emulator_requests (refusing), ==, a_requests);
  /* Each daemon's /metrics: the block seen by both, the 429s by A alone. */
  g_assert_cmpfloat (daemon_metric (session, b, "waybill_carrier_blocked{carrier=\"CDEK\"}"), ==, 1);
  g_assert_cmpfloat (daemon_metric (session, a, "waybill_carrier_blocked{carrier=\"CDEK\"}"), ==, 1);
  g_assert_cmpfloat (daemon_metric (session, a, "waybill_carrier_requests_total{carrier=\"CDEK\",outcome=\"throttled\"}"),
                     >=, 1);
  g_assert_cmpfloat (daemon_metric (session, b, "waybill_carrier_requests_total{carrier=\"CDEK\",outcome=\"throttled\"}"),
                     ==, 0);
  /* Once the block is over, B calls again. */
  resumed = (RequestWait) { serving, b_requests + 1 };
  g_assert_true (pump_until (requests_reach, &resumed, 15000));

  /* With a backlog left, each stops well within its shutdown timeout
   * (10 s): claims stop first, so the bus drains. */
  stopping = g_get_monotonic_time ();
  g_assert_cmpint (wb_test_daemon_terminate (a), ==, 0);
  g_assert_cmpint (wb_test_daemon_terminate (b), ==, 0);
  g_assert_cmpint (g_get_monotonic_time () - stopping, <, 10 * G_USEC_PER_SEC);
  wb_test_daemon_free (a);
  wb_test_daemon_free (b);
  PQfinish (conn);
  wb_test_server_thread_stop (refusing_thread);
  wb_test_server_thread_stop (serving_thread);
  g_unlink (path_a);
  g_unlink (path_b);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/polling/ladder/default", test_ladder_default);
  g_test_add_func ("/polling/ladder/demo-and-jitter", test_ladder_demo_and_jitter);
  g_test_add_func ("/polling/ladder/errors", test_ladder_errors);
  g_test_add_func ("/polling/ladder/refuses", test_ladder_refuses);
  g_test_add_func ("/polling/retry-after", test_retry_after);
  g_test_add_func ("/polling/numbers", test_numbers);
  g_test_add_func ("/polling/carriers-file", test_carriers_file);
  g_test_add_func ("/polling/driver/dhl-unified", test_driver_dhl);
  g_test_add_func ("/polling/driver/emulator", test_driver_emulator);
  g_test_add_func ("/polling/stats", test_stats);
  g_test_add_func ("/polling/claim/two-schedulers", test_claim_two_schedulers);
  g_test_add_func ("/polling/claim/lease-expires", test_claim_lease_expires);
  g_test_add_func ("/polling/worker/429-keeps-retries", test_rate_limited_keeps_retries);
  g_test_add_func ("/polling/worker/errors-back-off", test_errors_back_off);
  g_test_add_func ("/polling/limits/breaker", test_breaker);
  g_test_add_func ("/polling/limits/daily-quota", test_daily_quota);
  g_test_add_func ("/polling/daemon/polls-to-delivered", test_daemon_polls);
  g_test_add_func ("/polling/daemon/limit-held", test_daemon_limit_held);
  g_test_add_func ("/polling/daemon/two-daemons-share-429", test_two_daemons_share_429);

  return g_test_run ();
}
