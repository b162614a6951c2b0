// SPDX-License-Identifier: GPL-3.0-or-later
/* The shipment store and the outbox relay on a real PostgreSQL: each test
 * gets an empty, migrated database, a store, an in-process bus with one
 * subscriber on tracking.events, and a relay between them. */

#include "config.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "wb-bus-local.h"
#include "wb-time.h"
#include "wb-migrations.h"
#include "wb-shipment-store-private.h"
#include "wb-test-pg.h"

#define SLA_CONF "[express]\npromise-hours=24\n\n[standard]\npromise-hours=72\n"
#define HOUR_US  (G_USEC_PER_SEC * G_GINT64_CONSTANT (3600))

typedef struct
{
  char            *conninfo;
  PGconn          *conn;        /* the test's own, for setup and checks */
  WbDbPool        *pool;
  WbSlaTable      *sla;
  WbShipmentStore *store;
  WbBus           *bus;
  WbOutboxRelay   *relay;
  GPtrArray       *messages;    /* WbBusMessage*, as the subscriber got them */
} Fixture;

/* ---- helpers --------------------------------------------------------------- */

static void
store_result (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  GAsyncResult **slot = user_data;

  *slot = g_object_ref (result);
}

static void
wait_for (GAsyncResult **slot)
{
  while (*slot == NULL)
    g_main_context_iteration (NULL, TRUE);
}

static void
on_batch (WbBus      *bus,
          WbBusBatch *batch,
          gpointer    user_data)
{
  Fixture *f = user_data;

  for (guint i = 0; i < wb_bus_batch_get_length (batch); i++)
    g_ptr_array_add (f->messages, wb_bus_message_ref (wb_bus_batch_get_message (batch, i)));
  wb_bus_batch_ack (batch);
}

static void
migrate (PGconn *conn)
{
  g_autoptr(GError) error = NULL;

  wb_migrations_apply (conn, NULL, &error);
  g_assert_no_error (error);
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  const char *topics[] = { WB_TOPIC_TRACKING_EVENTS, NULL };
  g_autoptr(GError) error = NULL;

  f->conninfo = wb_test_pg_create_database ("shipments");
  f->conn = wb_db_connect (f->conninfo, &error);
  g_assert_no_error (error);
  migrate (f->conn);

  f->pool = wb_db_pool_new (f->conninfo, 6);
  f->sla = wb_sla_table_new_from_data (SLA_CONF, &error);
  g_assert_no_error (error);
  f->store = wb_shipment_store_new (f->pool, f->sla);
  f->bus = wb_bus_local_new (4096);
  f->messages = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_bus_message_unref);
  wb_bus_subscribe (f->bus, "test", topics, 100, on_batch, f, NULL);
  f->relay = wb_outbox_relay_new (f->pool, f->bus);
  wb_shipment_store_set_relay (f->store, f->relay);
}

static void
drain_main_context (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
iterate_briefly (void)
{
  if (!g_main_context_iteration (NULL, FALSE))
    g_usleep (5000);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  wb_outbox_relay_stop (f->relay);
  wb_bus_close (f->bus);
  wb_db_pool_close (f->pool);
  drain_main_context ();

  g_clear_object (&f->store);
  g_clear_object (&f->relay);
  g_clear_object (&f->bus);
  g_clear_object (&f->sla);
  g_clear_object (&f->pool);
  g_clear_pointer (&f->messages, g_ptr_array_unref);
  g_clear_pointer (&f->conn, PQfinish);
  g_clear_pointer (&f->conninfo, g_free);
}

/* Waits until the outbox is empty and the bus has handed every message to
 * the subscriber: the relay deletes a row only after publishing it, so
 * an empty outbox means all of them are on the bus. */
static void
settle (Fixture *f)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  for (;;)
    {
      drain_main_context ();
      if (wb_test_pg_int (f->conn, "SELECT count(*) FROM outbox", NULL) == 0 &&
          wb_bus_local_get_queued (WB_BUS_LOCAL (f->bus), "test") == 0)
        break;
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (5000);
    }
  drain_main_context ();
}

static guint
count_messages (Fixture    *f,
                const char *type)
{
  guint n = 0;

  for (guint i = 0; i < f->messages->len; i++)
    if (g_strcmp0 (wb_bus_message_get_header (g_ptr_array_index (f->messages, i), "type"), type) == 0)
      n++;
  return n;
}

static JsonObject *
parse_object (const char *text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = json_from_string (text, &error);

  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  return json_object_ref (json_node_get_object (node));
}

static JsonObject *
message_payload (WbBusMessage *message)
{
  GBytes *payload = wb_bus_message_get_payload (message);
  g_autofree char *text = g_strndup (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload));

  return parse_object (text);
}

static gint64
parse_time (const char *text)
{
  g_autoptr(GError) error = NULL;
  gint64 us = 0;

  g_assert_nonnull (text);
  g_assert_true (g_str_has_suffix (text, "Z"));
  g_assert_cmpuint (strlen (text), ==, strlen ("2026-11-20T10:00:00.000Z"));
  wb_time_parse (text, NULL, &us, NULL, &error);
  g_assert_no_error (error);
  return us;
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

/* Exactly these members, no more, no fewer. */
static void
assert_members (JsonObject *object,
                const char *expected)
{
  g_autoptr(GList) names = json_object_get_members (object);
  g_auto(GStrv) wanted = g_strsplit (expected, " ", -1);
  g_autoptr(GPtrArray) got = g_ptr_array_new ();
  g_autofree char *got_text = NULL;
  g_autofree char *wanted_text = NULL;

  for (GList *l = names; l != NULL; l = l->next)
    g_ptr_array_add (got, l->data);
  g_ptr_array_sort (got, compare_strings);
  g_ptr_array_add (got, NULL);
  qsort (wanted, g_strv_length (wanted), sizeof (char *), compare_strings);

  got_text = g_strjoinv (" ", (char **) got->pdata);
  wanted_text = g_strjoinv (" ", wanted);
  g_assert_cmpstr (got_text, ==, wanted_text);
}

static void
address_init (WbAddress *address,
              const char *city)
{
  address->country = g_strdup ("BY");
  address->city = g_strdup (city);
  address->line1 = g_strdup ("Nezavisimosti 1");
  address->postal_code = g_strdup ("220030");
  address->has_coordinates = TRUE;
  address->lat = 53.9;
  address->lon = 27.56;
}

static WbShipmentDraft *
draft_new (const char *client_id,
           const char *service_level,
           const char *phone,
           const char *carrier,
           const char *track_number)
{
  WbShipmentDraft *draft = g_new0 (WbShipmentDraft, 1);

  draft->client_id = g_strdup (client_id);
  draft->reference = g_strdup ("order-1");
  draft->service_level = g_strdup (service_level);
  draft->recipient_name = g_strdup ("Ada Lovelace");
  draft->recipient_phone = g_strdup (phone);
  draft->recipient_phone_raw = g_strdup (phone);
  draft->recipient_email = g_strdup ("ada@example.org");
  address_init (&draft->destination, "Minsk");
  draft->carrier = g_strdup (carrier);
  draft->track_number = g_strdup (track_number);
  return draft;
}

static WbShipmentView *
create_draft (Fixture          *f,
              WbShipmentDraft  *draft,
              GError          **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  wb_shipment_store_create_async (f->store, draft, NULL, store_result, &result);
  wait_for (&result);
  return wb_shipment_store_create_finish (f->store, result, error);
}

/* A shipment with its own tracking "dhl"/@track_number, or none if NULL. */
static WbShipmentView *
create (Fixture    *f,
        const char *client_id,
        const char *track_number)
{
  g_autoptr(WbShipmentDraft) draft = draft_new (client_id, "express", "+375291234567",
                                                track_number ? "dhl" : NULL, track_number);
  g_autoptr(GError) error = NULL;
  WbShipmentView *view = create_draft (f, draft, &error);

  g_assert_no_error (error);
  return view;
}

static WbShipmentView *
get (Fixture     *f,
     const char  *id,
     GError     **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  wb_shipment_store_get_async (f->store, id, NULL, store_result, &result);
  wait_for (&result);
  return wb_shipment_store_get_finish (f->store, result, error);
}

static JsonObject *
get_object (Fixture    *f,
            const char *id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(WbShipmentView) view = get (f, id, &error);

  g_assert_no_error (error);
  return parse_object (view->json);
}

/* The If-Match precondition of one version; 0 = none. */
static GArray *
versions_of (gint64 version)
{
  GArray *versions;

  if (version == 0)
    return NULL;
  versions = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_array_append_val (versions, version);
  return versions;
}

static WbShipmentView *
update_if (Fixture          *f,
           const char       *id,
           GArray           *expected_versions,
           WbShipmentPatch  *patch,
           gint64           *out_version,
           GError          **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  wb_shipment_store_update_async (f->store, id, expected_versions, patch, NULL, store_result, &result);
  wait_for (&result);
  return wb_shipment_store_update_finish (f->store, result, out_version, error);
}

static WbShipmentView *
update (Fixture          *f,
        const char       *id,
        gint64            expected_version,
        WbShipmentPatch  *patch,
        gint64           *out_version,
        GError          **error)
{
  g_autoptr(GArray) versions = versions_of (expected_version);

  return update_if (f, id, versions, patch, out_version, error);
}

static WbShipmentView *
close_shipment (Fixture     *f,
                const char  *id,
                gint64       expected_version,
                gint64      *out_version,
                GError     **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GArray) versions = versions_of (expected_version);

  wb_shipment_store_close_async (f->store, id, versions, NULL, store_result, &result);
  wait_for (&result);
  return wb_shipment_store_close_finish (f->store, result, out_version, error);
}

static WbStatusEvent *
event_new (const char *shipment_id,
           const char *event_id,
           WbStatus    status,
           gint64      occurred_at)
{
  WbStatusEvent *event = g_new0 (WbStatusEvent, 1);

  event->event_id = g_strdup (event_id);
  event->source = g_strdup ("dhl");
  event->shipment_id = g_strdup (shipment_id);
  event->status = status;
  event->status_raw = g_strdup_printf ("raw %s", status == WB_STATUS_INVALID ? "?" : wb_status_to_string (status));
  event->occurred_at = occurred_at;
  event->occurred_at_raw = g_strdup ("2026-11-20 10:00:00");
  event->zone_guessed = TRUE;
  event->location_text = g_strdup ("Minsk");
  event->has_coordinates = TRUE;
  event->lat = 53.9;
  event->lon = 27.56;
  return event;
}

static GPtrArray *
event_list_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) wb_status_event_free);
}

static GArray *
add_events (Fixture    *f,
            GPtrArray  *events,
            GError    **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  wb_shipment_store_add_events_async (f->store, events, NULL, store_result, &result);
  wait_for (&result);
  return wb_shipment_store_add_events_finish (f->store, result, error);
}

/* Adds one event (taking it) and returns its result. */
static WbEventResult
add_event (Fixture       *f,
           WbStatusEvent *event)
{
  g_autoptr(GPtrArray) events = event_list_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) results = NULL;
  WbEventResult copy;

  g_ptr_array_add (events, event);
  results = add_events (f, events, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (results->len, ==, 1);

  copy = g_array_index (results, WbEventResult, 0);
  g_assert_no_error (copy.error);
  g_array_index (results, WbEventResult, 0).shipment_id = NULL;
  return copy;
}

static WbEventOutcome
add_simple_event (Fixture    *f,
                  const char *shipment_id,
                  const char *event_id,
                  WbStatus    status,
                  gint64      occurred_at,
                  gboolean   *out_changed)
{
  WbEventResult result = add_event (f, event_new (shipment_id, event_id, status, occurred_at));

  if (out_changed != NULL)
    *out_changed = result.status_changed;
  g_free (result.shipment_id);
  return result.outcome;
}

static char *
search (Fixture          *f,
        WbShipmentQuery  *query,
        GError          **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  wb_shipment_store_search_async (f->store, query, NULL, store_result, &result);
  wait_for (&result);
  return wb_shipment_store_search_finish (f->store, result, error);
}

static gint64
check_overdue (Fixture *f)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  gint64 flagged;

  wb_shipment_store_check_overdue_async (f->store, NULL, store_result, &result);
  wait_for (&result);
  flagged = wb_shipment_store_check_overdue_finish (f->store, result, &error);
  g_assert_no_error (error);
  return flagged;
}

static char *
list_events (Fixture     *f,
             const char  *id,
             guint        limit,
             guint        offset,
             GError     **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  wb_shipment_store_list_events_async (f->store, id, limit, offset, NULL, store_result, &result);
  wait_for (&result);
  return wb_shipment_store_list_events_finish (f->store, result, error);
}

static char *
shipment_status (Fixture    *f,
                 const char *id)
{
  return wb_test_pg_text (f->conn, "SELECT status FROM shipments WHERE id = $1", id);
}

/* Blocks until @n backends of this database wait for a lock.  f->conn
 * may be inside a transaction, and PostgreSQL keeps one snapshot of
 * pg_stat_activity per transaction: clear it before every look. */
static void
wait_for_lock_waiters (Fixture *f,
                       gint64   n)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  for (;;)
    {
      PQclear (wb_test_pg_exec (f->conn, "SELECT pg_stat_clear_snapshot ()", NULL));
      if (wb_test_pg_int (f->conn,
                          "SELECT count(*) FROM pg_stat_activity"
                          " WHERE datname = current_database() AND wait_event_type = 'Lock'", NULL) >= n)
        return;
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (5000);
    }
}

/* ---- create and get -------------------------------------------------------- */

static void
test_create_view (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(WbShipmentView) view = create (f, "acme", "JD0001");
  g_autoptr(JsonObject) object = parse_object (view->json);
  JsonObject *recipient = json_object_get_object_member (object, "recipient");
  JsonObject *destination = json_object_get_object_member (object, "destination");
  JsonObject *sla = json_object_get_object_member (object, "sla");
  JsonArray *trackings = json_object_get_array_member (object, "trackings");
  gint64 created_at = parse_time (json_object_get_string_member (object, "createdAt"));

  assert_members (object, "id clientId reference serviceLevel version recipient origin destination pickupPointId "
                          "status statusReason statusAt lastEvent trackings promisedAt eta etaSource "
                          "sla createdAt updatedAt closedAt");
  g_assert_true (g_uuid_string_is_valid (view->id));
  g_assert_cmpstr (json_object_get_string_member (object, "id"), ==, view->id);
  g_assert_cmpint (view->version, ==, 1);
  g_assert_cmpint (json_object_get_int_member (object, "version"), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (object, "clientId"), ==, "acme");
  g_assert_cmpstr (json_object_get_string_member (object, "serviceLevel"), ==, "express");
  g_assert_cmpstr (json_object_get_string_member (object, "status"), ==, "PENDING");
  g_assert_true (json_object_get_null_member (object, "statusReason"));
  g_assert_cmpint (parse_time (json_object_get_string_member (object, "statusAt")), ==, created_at);
  g_assert_true (json_object_get_null_member (object, "lastEvent"));
  g_assert_true (json_object_get_null_member (object, "origin"));
  g_assert_true (json_object_get_null_member (object, "closedAt"));
  g_assert_true (json_object_get_null_member (object, "pickupPointId"));
  g_assert_cmpint (ABS (created_at - g_get_real_time ()), <, 60 * G_USEC_PER_SEC);

  /* The SLA table's promise: created_at + 24 h; no carrier ETA yet. */
  g_assert_cmpint (parse_time (json_object_get_string_member (object, "promisedAt")), ==,
                   created_at + 24 * HOUR_US);
  g_assert_cmpstr (json_object_get_string_member (object, "eta"), ==,
                   json_object_get_string_member (object, "promisedAt"));
  g_assert_cmpstr (json_object_get_string_member (object, "etaSource"), ==, "promise");
  assert_members (sla, "state overdueSince lateBySeconds");
  g_assert_cmpstr (json_object_get_string_member (sla, "state"), ==, "on_time");
  g_assert_true (json_object_get_null_member (sla, "overdueSince"));
  g_assert_true (json_object_get_null_member (sla, "lateBySeconds"));

  assert_members (recipient, "name phone email");
  g_assert_cmpstr (json_object_get_string_member (recipient, "phone"), ==, "+375291234567");
  assert_members (destination, "country region city line1 line2 postalCode lat lon");
  g_assert_cmpstr (json_object_get_string_member (destination, "city"), ==, "Minsk");
  g_assert_true (json_object_get_null_member (destination, "region"));
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (destination, "lat"), 53.9, 1e-9);

  g_assert_cmpuint (json_array_get_length (trackings), ==, 1);
  assert_members (json_array_get_object_element (trackings, 0), "id carrier trackNumber status lastCheckedAt createdAt");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (trackings, 0), "trackNumber"),
                   ==, "JD0001");
}

static void
test_create_promised_at_wins (Fixture       *f,
                              gconstpointer  data)
{
  g_autoptr(WbShipmentDraft) draft = draft_new ("acme", "standard", NULL, NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(WbShipmentView) view = NULL;
  g_autoptr(JsonObject) object = NULL;
  gint64 promised = (g_get_real_time () / 1000 + 5 * 3600 * 1000) * 1000;

  draft->promised_at = promised;
  draft->has_origin = TRUE;
  address_init (&draft->origin, "Brest");
  view = create_draft (f, draft, &error);
  g_assert_no_error (error);
  object = parse_object (view->json);

  g_assert_cmpint (parse_time (json_object_get_string_member (object, "promisedAt")), ==, promised);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (object, "origin"), "city"),
                   ==, "Brest");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (object, "trackings")), ==, 0);
  g_assert_true (json_object_get_null_member (json_object_get_object_member (object, "recipient"), "phone"));
}

static void
assert_create_fails (Fixture         *f,
                     WbShipmentDraft *draft,
                     int              code,
                     const char      *field)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(WbShipmentView) view = create_draft (f, draft, &error);

  g_assert_null (view);
  g_assert_error (error, WB_SHIPMENT_ERROR, code);
  g_assert_cmpstr (wb_shipment_error_get_field (error), ==, field);
  g_assert_true (g_str_has_prefix (error->message, field));
}

static void
test_create_invalid (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(WbShipmentDraft) unknown = draft_new ("acme", "teleport", NULL, NULL, NULL);
  g_autoptr(WbShipmentDraft) no_level = draft_new ("acme", NULL, NULL, NULL, NULL);
  g_autoptr(WbShipmentDraft) bad_lat = draft_new ("acme", "express", NULL, NULL, NULL);
  g_autoptr(WbShipmentDraft) bad_country = draft_new ("acme", "express", NULL, NULL, NULL);
  g_autoptr(WbShipmentDraft) no_client = draft_new (NULL, "express", NULL, NULL, NULL);
  g_autoptr(WbShipmentDraft) taken = draft_new ("acme", "express", NULL, "dhl", "JD0001");
  g_autoptr(WbShipmentView) first = create (f, "acme", "JD0001");

  assert_create_fails (f, unknown, WB_SHIPMENT_ERROR_INVALID, "serviceLevel");
  assert_create_fails (f, no_level, WB_SHIPMENT_ERROR_INVALID, "serviceLevel");
  bad_lat->destination.lat = 91;
  assert_create_fails (f, bad_lat, WB_SHIPMENT_ERROR_INVALID, "lat");
  g_free (bad_country->destination.country);
  bad_country->destination.country = g_strdup ("Belarus");
  assert_create_fails (f, bad_country, WB_SHIPMENT_ERROR_INVALID, "country");
  assert_create_fails (f, no_client, WB_SHIPMENT_ERROR_INVALID, "clientId");
  assert_create_fails (f, taken, WB_SHIPMENT_ERROR_INVALID, "trackNumber");

  /* Nothing of the refused ones was left behind. */
  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT count(*) FROM shipments", NULL), ==, 1);
  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT count(*) FROM recipients", NULL), ==, 1);
}

static void
test_get_not_found (Fixture       *f,
                    gconstpointer  data)
{
  const char *ids[] = { "00000000-0000-4000-8000-000000000000", "not-a-uuid", "' OR 1=1 --", "" };

  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(WbShipmentView) view = get (f, ids[i], &error);

      g_assert_null (view);
      g_assert_error (error, WB_SHIPMENT_ERROR, WB_SHIPMENT_ERROR_NOT_FOUND);
    }
}

/* create, get, update, close and search answer with the same builder. */
static void
test_view_same_everywhere (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(WbShipmentView) created = create (f, "acme", "JD0001");
  g_autoptr(WbShipmentView) fetched = NULL;
  g_autoptr(WbShipmentView) updated = NULL;
  g_autoptr(WbShipmentView) fetched_again = NULL;
  g_autoptr(WbShipmentView) closed = NULL;
  g_autoptr(WbShipmentView) fetched_closed = NULL;
  g_autoptr(WbShipmentPatch) patch = g_new0 (WbShipmentPatch, 1);
  g_autoptr(WbShipmentQuery) query = g_new0 (WbShipmentQuery, 1);
  g_autoptr(GError) error = NULL;
  g_autofree char *page = NULL;
  g_autofree char *expected_page = NULL;

  fetched = get (f, created->id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (fetched->json, ==, created->json);

  patch->has_reference = TRUE;
  patch->reference = g_strdup ("order-2");
  updated = update (f, created->id, 1, patch, NULL, &error);
  g_assert_no_error (error);
  fetched_again = get (f, created->id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (fetched_again->json, ==, updated->json);

  query->client_id = g_strdup ("acme");
  page = search (f, query, &error);
  g_assert_no_error (error);
  expected_page = g_strdup_printf ("{\"items\":[%s],\"nextCursor\":null}", updated->json);
  g_assert_cmpstr (page, ==, expected_page);

  closed = close_shipment (f, created->id, 0, NULL, &error);
  g_assert_no_error (error);
  fetched_closed = get (f, created->id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (fetched_closed->json, ==, closed->json);
}

/* ---- update and close ------------------------------------------------------ */

static void
test_update_fields (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(WbShipmentView) created = create (f, "acme", "JD0001");
  g_autoptr(WbShipmentView) other = create (f, "acme", "JD0002");
  g_autoptr(WbShipmentPatch) patch = g_new0 (WbShipmentPatch, 1);
  g_autoptr(WbShipmentView) view = NULL;
  g_autoptr(JsonObject) before = parse_object (created->json);
  g_autoptr(JsonObject) object = NULL;
  g_autoptr(GError) error = NULL;
  gint64 created_at = parse_time (json_object_get_string_member (before, "createdAt"));
  gint64 eta = (g_get_real_time () / 1000 + 2 * 3600 * 1000) * 1000;
  gint64 version = 0;
  JsonArray *trackings;

  patch->has_service_level = TRUE;
  patch->service_level = g_strdup ("standard");
  patch->has_recipient_name = TRUE;
  patch->recipient_name = g_strdup ("Grace Hopper");
  patch->has_recipient_phone = TRUE;
  patch->recipient_phone = g_strdup ("+375297654321");
  patch->has_destination = TRUE;
  address_init (&patch->destination, "Gomel");
  patch->has_eta = TRUE;
  patch->eta = eta;
  patch->has_tracking = TRUE;
  patch->carrier = g_strdup ("dhl");
  patch->track_number = g_strdup ("JD0003");

  view = update (f, created->id, 1, patch, &version, &error);
  g_assert_no_error (error);
  g_assert_cmpint (version, ==, 2);
  g_assert_cmpint (view->version, ==, 2);
  object = parse_object (view->json);

  g_assert_cmpstr (json_object_get_string_member (object, "serviceLevel"), ==, "standard");
  /* A new level re-derives the promise from the creation time. */
  g_assert_cmpint (parse_time (json_object_get_string_member (object, "promisedAt")), ==,
                   created_at + 72 * HOUR_US);
  g_assert_cmpint (parse_time (json_object_get_string_member (object, "eta")), ==, eta);
  g_assert_cmpstr (json_object_get_string_member (object, "etaSource"), ==, "carrier");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (object, "recipient"), "name"),
                   ==, "Grace Hopper");
  g_assert_cmpstr (json_object_get_string_member (object, "reference"), ==, "order-1");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (object, "destination"), "city"),
                   ==, "Gomel");
  trackings = json_object_get_array_member (object, "trackings");
  g_assert_cmpuint (json_array_get_length (trackings), ==, 2);
  /* The phone is searchable under its new value. */
  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT count(*) FROM shipments WHERE recipient_phone = $1",
                                            "+375297654321"), ==, 1);

  /* The same tracking again changes nothing; another shipment's is refused. */
  g_clear_pointer (&view, wb_shipment_view_free);
  view = update (f, created->id, 2, patch, &version, &error);
  g_assert_no_error (error);
  g_assert_cmpint (version, ==, 3);
  g_free (patch->track_number);
  patch->track_number = g_strdup ("JD0002");
  g_clear_pointer (&view, wb_shipment_view_free);
  view = update (f, created->id, 3, patch, &version, &error);
  g_assert_error (error, WB_SHIPMENT_ERROR, WB_SHIPMENT_ERROR_INVALID);
  g_assert_true (g_str_has_prefix (error->message, "trackNumber"));
  g_clear_error (&error);

  /* Unknown level; clearing the ETA falls back to the promise. */
  g_clear_pointer (&patch, wb_shipment_patch_free);
  patch = g_new0 (WbShipmentPatch, 1);
  patch->has_service_level = TRUE;
  patch->service_level = g_strdup ("teleport");
  view = update (f, created->id, 3, patch, &version, &error);
  g_assert_error (error, WB_SHIPMENT_ERROR, WB_SHIPMENT_ERROR_INVALID);
  g_assert_true (g_str_has_prefix (error->message, "serviceLevel"));
  g_clear_error (&error);
  g_clear_pointer (&patch->service_level, g_free);
  patch->has_service_level = FALSE;
  patch->has_eta = TRUE;
  patch->eta = 0;
  view = update (f, created->id, 3, patch, &version, &error);
  g_assert_no_error (error);
  g_clear_pointer (&object, json_object_unref);
  object = parse_object (view->json);
  g_assert_cmpstr (json_object_get_string_member (object, "etaSource"), ==, "promise");
  g_assert_cmpint (version, ==, 4);
}

static void
test_update_versions (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(WbShipmentView) created = create (f, "acme", NULL);
  g_autoptr(WbShipmentPatch) patch = g_new0 (WbShipmentPatch, 1);
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) none = NULL;
  g_autoptr(GArray) either = NULL;
  const gint64 listed[] = { 1, 2 };
  WbShipmentView *view;
  gint64 version = 0;

  patch->has_reference = TRUE;
  patch->reference = g_strdup ("order-2");

  view = update (f, created->id, 1, patch, &version, &error);
  g_assert_no_error (error);
  g_assert_cmpint (version, ==, 2);
  wb_shipment_view_free (view);

  /* Stale If-Match: refused, and told the current version. */
  view = update (f, created->id, 1, patch, &version, &error);
  g_assert_null (view);
  g_assert_error (error, WB_SHIPMENT_ERROR, WB_SHIPMENT_ERROR_VERSION_MISMATCH);
  g_assert_cmpint (version, ==, 2);
  g_clear_error (&error);

  view = update (f, "00000000-0000-4000-8000-000000000000", 1, patch, &version, &error);
  g_assert_null (view);
  g_assert_error (error, WB_SHIPMENT_ERROR, WB_SHIPMENT_ERROR_NOT_FOUND);
  g_clear_error (&error);

  view = update (f, "nonsense", 1, patch, &version, &error);
  g_assert_error (error, WB_SHIPMENT_ERROR, WB_SHIPMENT_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* A precondition naming no version: refused, the shipment told apart
   * from a missing one. */
  none = g_array_new (FALSE, FALSE, sizeof (gint64));
  view = update_if (f, created->id, none, patch, &version, &error);
  g_assert_error (error, WB_SHIPMENT_ERROR, WB_SHIPMENT_ERROR_VERSION_MISMATCH);
  g_assert_cmpint (version, ==, 2);
  g_clear_error (&error);
  view = update_if (f, "00000000-0000-4000-8000-000000000000", none, patch, &version, &error);
  g_assert_error (error, WB_SHIPMENT_ERROR, WB_SHIPMENT_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* Several versions: any one of them will do. */
  either = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_array_append_vals (either, listed, G_N_ELEMENTS (listed));
  view = update_if (f, created->id, either, patch, &version, &error);
  g_assert_no_error (error);
  g_assert_cmpint (version, ==, 3);
  wb_shipment_view_free (view);
  view = update_if (f, created->id, either, patch, &version, &error);
  g_assert_error (error, WB_SHIPMENT_ERROR, WB_SHIPMENT_ERROR_VERSION_MISMATCH);
  g_clear_error (&error);

  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT version FROM shipments WHERE id = $1", created->id), ==, 3);
}

/* Two writers with the same If-Match at the same moment: exactly one wins. */
static void
test_update_concurrent (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(WbShipmentView) created = create (f, "acme", NULL);
  g_autoptr(WbShipmentPatch) patch_a = g_new0 (WbShipmentPatch, 1);
  g_autoptr(WbShipmentPatch) patch_b = g_new0 (WbShipmentPatch, 1);
  g_autoptr(GAsyncResult) result_a = NULL;
  g_autoptr(GAsyncResult) result_b = NULL;
  g_autoptr(GError) error_a = NULL;
  g_autoptr(GError) error_b = NULL;
  g_autoptr(WbShipmentView) view_a = NULL;
  g_autoptr(WbShipmentView) view_b = NULL;
  g_autofree char *reference = NULL;
  gint64 version_a = 0, version_b = 0;
  g_autoptr(GArray) one = versions_of (1);
  GError *loser_error;

  patch_a->has_reference = TRUE;
  patch_a->reference = g_strdup ("from-a");
  patch_b->has_reference = TRUE;
  patch_b->reference = g_strdup ("from-b");

  /* Hold the row so that both are in flight when it is released. */
  PQclear (wb_test_pg_exec (f->conn, "BEGIN", NULL));
  PQclear (wb_test_pg_exec (f->conn, "SELECT 1 FROM shipments WHERE id = $1 FOR UPDATE", created->id));
  wb_shipment_store_update_async (f->store, created->id, one, patch_a, NULL, store_result, &result_a);
  wb_shipment_store_update_async (f->store, created->id, one, patch_b, NULL, store_result, &result_b);
  PQclear (wb_test_pg_exec (f->conn, "COMMIT", NULL));
  wait_for (&result_a);
  wait_for (&result_b);

  view_a = wb_shipment_store_update_finish (f->store, result_a, &version_a, &error_a);
  view_b = wb_shipment_store_update_finish (f->store, result_b, &version_b, &error_b);
  g_assert_true ((view_a == NULL) != (view_b == NULL));
  loser_error = view_a ? error_b : error_a;
  g_assert_error (loser_error, WB_SHIPMENT_ERROR, WB_SHIPMENT_ERROR_VERSION_MISMATCH);
  g_assert_cmpint (version_a, ==, 2);
  g_assert_cmpint (version_b, ==, 2);

  reference = wb_test_pg_text (f->conn, "SELECT reference FROM shipments WHERE id = $1", created->id);
  g_assert_cmpstr (reference, ==, view_a ? "from-a" : "from-b");
  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT version FROM shipments WHERE id = $1", created->id), ==, 2);
}

static void
test_close (Fixture       *f,
            gconstpointer  data)
{
  g_autoptr(WbShipmentView) created = create (f, "acme", "JD0001");
  g_autoptr(WbShipmentView) closed = NULL;
  g_autoptr(WbShipmentPatch) patch = g_new0 (WbShipmentPatch, 1);
  g_autoptr(JsonObject) object = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) single = event_list_new ();
  g_autoptr(GPtrArray) batch = event_list_new ();
  g_autoptr(GArray) results = NULL;
  g_autofree char *history = NULL;
  g_autoptr(JsonObject) history_object = NULL;
  gint64 now = g_get_real_time ();
  gint64 version = 0;
  WbShipmentView *view;

  g_assert_cmpint (add_simple_event (f, created->id, "e1", WB_STATUS_IN_TRANSIT, now + G_USEC_PER_SEC, NULL),
                   ==, WB_EVENT_CREATED);

  view = close_shipment (f, created->id, 1, &version, &error);
  g_assert_error (error, WB_SHIPMENT_ERROR, WB_SHIPMENT_ERROR_VERSION_MISMATCH);
  g_assert_null (view);
  g_assert_cmpint (version, ==, 2);
  g_clear_error (&error);

  closed = close_shipment (f, created->id, 2, &version, &error);
  g_assert_no_error (error);
  g_assert_cmpint (version, ==, 3);
  object = parse_object (closed->json);
  g_assert_nonnull (json_object_get_string_member (object, "closedAt"));
  g_assert_cmpint (json_object_get_int_member (object, "version"), ==, 3);

  /* Closed: no more changes, in any way. */
  patch->has_reference = TRUE;
  patch->reference = g_strdup ("late");
  view = update (f, created->id, 3, patch, &version, &error);
  g_assert_null (view);
  g_assert_error (error, WB_SHIPMENT_ERROR, WB_SHIPMENT_ERROR_CLOSED);
  g_assert_cmpint (version, ==, 3);
  g_clear_error (&error);
  view = close_shipment (f, created->id, 0, NULL, &error);
  g_assert_error (error, WB_SHIPMENT_ERROR, WB_SHIPMENT_ERROR_CLOSED);
  g_clear_error (&error);

  g_ptr_array_add (single, event_new (created->id, "e2", WB_STATUS_DELIVERED, now + 2 * G_USEC_PER_SEC));
  results = add_events (f, single, &error);
  g_assert_null (results);
  g_assert_error (error, WB_SHIPMENT_ERROR, WB_SHIPMENT_ERROR_CLOSED);
  g_clear_error (&error);

  g_ptr_array_add (batch, event_new (created->id, "e3", WB_STATUS_DELIVERED, now + 3 * G_USEC_PER_SEC));
  g_ptr_array_add (batch, event_new (created->id, "e4", WB_STATUS_DELIVERED, now + 4 * G_USEC_PER_SEC));
  results = add_events (f, batch, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < 2; i++)
    {
      WbEventResult *result = &g_array_index (results, WbEventResult, i);

      g_assert_cmpint (result->outcome, ==, WB_EVENT_FAILED);
      g_assert_error (result->error, WB_SHIPMENT_ERROR, WB_SHIPMENT_ERROR_CLOSED);
      g_assert_cmpstr (result->shipment_id, ==, created->id);
    }

  /* The history stays readable. */
  history = list_events (f, created->id, 0, 0, &error);
  g_assert_no_error (error);
  history_object = parse_object (history);
  g_assert_cmpint (json_object_get_int_member (history_object, "total"), ==, 1);
  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT version FROM shipments WHERE id = $1", created->id), ==, 3);
}

/* ---- events -------------------------------------------------------------- */

static void
test_events_duplicate (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(WbShipmentView) created = create (f, "acme", NULL);
  gint64 when = g_get_real_time () + G_USEC_PER_SEC;
  WbEventResult first = add_event (f, event_new (created->id, "dhl-1", WB_STATUS_IN_TRANSIT, when));
  WbEventResult second = add_event (f, event_new (created->id, "dhl-1", WB_STATUS_IN_TRANSIT, when));

  g_assert_cmpint (first.outcome, ==, WB_EVENT_CREATED);
  g_assert_true (first.status_changed);
  g_assert_cmpint (first.version, ==, 2);
  g_assert_cmpint (second.outcome, ==, WB_EVENT_DUPLICATE);
  g_assert_false (second.status_changed);
  g_assert_cmpint (second.event_row_id, ==, first.event_row_id);
  g_assert_cmpint (second.version, ==, 2);
  g_assert_cmpstr (second.shipment_id, ==, created->id);
  g_free (first.shipment_id);
  g_free (second.shipment_id);

  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT count(*) FROM shipment_events", NULL), ==, 1);
  settle (f);
  g_assert_cmpuint (count_messages (f, "shipment.status_changed"), ==, 1);
}

/* The same event from two connections at once: the database decides. */
static void
test_events_duplicate_concurrent (Fixture       *f,
                                  gconstpointer  data)
{
  g_autoptr(WbShipmentView) created = create (f, "acme", NULL);
  g_autoptr(GPtrArray) events_a = event_list_new ();
  g_autoptr(GPtrArray) events_b = event_list_new ();
  g_autoptr(GAsyncResult) result_a = NULL;
  g_autoptr(GAsyncResult) result_b = NULL;
  g_autoptr(GArray) results_a = NULL;
  g_autoptr(GArray) results_b = NULL;
  g_autoptr(GError) error = NULL;
  gint64 when = g_get_real_time () + G_USEC_PER_SEC;
  WbEventOutcome a, b;

  g_ptr_array_add (events_a, event_new (created->id, "dhl-1", WB_STATUS_IN_TRANSIT, when));
  g_ptr_array_add (events_b, event_new (created->id, "dhl-1", WB_STATUS_IN_TRANSIT, when));

  PQclear (wb_test_pg_exec (f->conn, "BEGIN", NULL));
  PQclear (wb_test_pg_exec (f->conn, "SELECT 1 FROM shipments WHERE id = $1 FOR UPDATE", created->id));
  wb_shipment_store_add_events_async (f->store, events_a, NULL, store_result, &result_a);
  wb_shipment_store_add_events_async (f->store, events_b, NULL, store_result, &result_b);
  wait_for_lock_waiters (f, 2);
  PQclear (wb_test_pg_exec (f->conn, "COMMIT", NULL));
  wait_for (&result_a);
  wait_for (&result_b);

  results_a = wb_shipment_store_add_events_finish (f->store, result_a, &error);
  g_assert_no_error (error);
  results_b = wb_shipment_store_add_events_finish (f->store, result_b, &error);
  g_assert_no_error (error);
  a = g_array_index (results_a, WbEventResult, 0).outcome;
  b = g_array_index (results_b, WbEventResult, 0).outcome;
  g_assert_true ((a == WB_EVENT_CREATED && b == WB_EVENT_DUPLICATE) ||
                 (a == WB_EVENT_DUPLICATE && b == WB_EVENT_CREATED));

  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT count(*) FROM shipment_events", NULL), ==, 1);
  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT version FROM shipments WHERE id = $1", created->id), ==, 2);
  settle (f);
  g_assert_cmpuint (count_messages (f, "shipment.status_changed"), ==, 1);
}

static gboolean
event_applied (Fixture    *f,
               const char *event_id)
{
  g_autofree char *applied = wb_test_pg_text (f->conn, "SELECT applied FROM shipment_events WHERE event_id = $1",
                                              event_id);

  return g_strcmp0 (applied, "t") == 0;
}

/* Carriers often scan a parcel before its record exists: the PENDING of
 * creation is no time barrier, but the first event's time is. */
static void
test_events_before_creation (Fixture       *f,
                             gconstpointer  data)
{
  g_autoptr(WbShipmentView) created = create (f, "acme", NULL);
  gint64 day_ago = g_get_real_time () - (gint64) G_USEC_PER_SEC * 86400;
  gboolean changed;

  g_assert_cmpint (add_simple_event (f, created->id, "early", WB_STATUS_IN_TRANSIT, day_ago, &changed),
                   ==, WB_EVENT_CREATED);
  g_assert_true (changed);
  g_assert_true (event_applied (f, "early"));

  g_assert_cmpint (add_simple_event (f, created->id, "earlier", WB_STATUS_IN_TRANSIT,
                                     day_ago - (gint64) G_USEC_PER_SEC * 3600, &changed), ==, WB_EVENT_CREATED);
  g_assert_false (changed);
  g_assert_false (event_applied (f, "earlier"));
}

static void
test_events_milestones (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(WbShipmentView) created = create (f, "acme", NULL);
  const char *id = created->id;
  gint64 t = g_get_real_time () + G_USEC_PER_SEC;
  g_autofree char *status = NULL;
  gboolean changed;

  g_assert_cmpint (add_simple_event (f, id, "e1", WB_STATUS_IN_TRANSIT, t + 10, &changed), ==, WB_EVENT_CREATED);
  g_assert_true (changed);

  /* Older than the current status: history only. */
  g_assert_cmpint (add_simple_event (f, id, "e2", WB_STATUS_OUT_FOR_DELIVERY, t + 5, &changed), ==, WB_EVENT_CREATED);
  g_assert_false (changed);
  g_assert_false (event_applied (f, "e2"));

  /* A lower milestone does not move it back. */
  g_assert_cmpint (add_simple_event (f, id, "e3", WB_STATUS_INFO_RECEIVED, t + 20, &changed), ==, WB_EVENT_CREATED);
  g_assert_false (changed);
  g_assert_false (event_applied (f, "e3"));

  /* EXCEPTION shows on top of the milestone, which it keeps. */
  g_assert_cmpint (add_simple_event (f, id, "e4", WB_STATUS_EXCEPTION, t + 30, &changed), ==, WB_EVENT_CREATED);
  g_assert_true (changed);
  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT milestone_rank FROM shipments WHERE id = $1", id), ==, 2);
  g_assert_cmpint (add_simple_event (f, id, "e5", WB_STATUS_INFO_RECEIVED, t + 40, &changed), ==, WB_EVENT_CREATED);
  g_assert_false (changed);
  g_assert_cmpint (add_simple_event (f, id, "e6", WB_STATUS_IN_TRANSIT, t + 50, &changed), ==, WB_EVENT_CREATED);
  g_assert_true (changed);

  /* Terminal: a late OUT_FOR_DELIVERY does not move it. */
  g_assert_cmpint (add_simple_event (f, id, "e7", WB_STATUS_DELIVERED, t + 60, &changed), ==, WB_EVENT_CREATED);
  g_assert_true (changed);
  g_assert_cmpint (add_simple_event (f, id, "e8", WB_STATUS_OUT_FOR_DELIVERY, t + 70, &changed), ==, WB_EVENT_CREATED);
  g_assert_false (changed);
  g_assert_false (event_applied (f, "e8"));
  g_assert_cmpint (add_simple_event (f, id, "e9", WB_STATUS_EXCEPTION, t + 80, &changed), ==, WB_EVENT_CREATED);
  g_assert_false (changed);
  status = shipment_status (f, id);
  g_assert_cmpstr (status, ==, "DELIVERED");
  g_clear_pointer (&status, g_free);

  /* Only a correction leaves a terminal status, even an older one, and it
   * resets the milestone to its own. */
  {
    WbStatusEvent *correction = event_new (id, "e10", WB_STATUS_OUT_FOR_DELIVERY, t + 55);
    WbEventResult result;

    correction->correction = TRUE;
    result = add_event (f, correction);
    g_assert_true (result.status_changed);
    g_free (result.shipment_id);
  }
  status = shipment_status (f, id);
  g_assert_cmpstr (status, ==, "OUT_FOR_DELIVERY");
  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT milestone_rank FROM shipments WHERE id = $1", id), ==, 3);
  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT count(*) FROM shipments WHERE id = $1 AND delivered_at IS NULL", id),
                   ==, 1);

  /* Every event is in the history, applied or not. */
  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT count(*) FROM shipment_events", NULL), ==, 10);
  settle (f);
  g_assert_cmpuint (count_messages (f, "shipment.status_changed"), ==, 5);
}

static void
test_events_same_status (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(WbShipmentView) created = create (f, "acme", NULL);
  g_autoptr(JsonObject) object = NULL;
  gint64 t = g_get_real_time () + G_USEC_PER_SEC;
  gboolean changed;
  WbStatusEvent *exception;
  WbEventResult result;

  g_assert_cmpint (add_simple_event (f, created->id, "e1", WB_STATUS_IN_TRANSIT, t, &changed), ==, WB_EVENT_CREATED);
  g_assert_true (changed);

  /* A later scan of the same status applies (it is the latest position)
   * without being a status change. */
  g_assert_cmpint (add_simple_event (f, created->id, "e2", WB_STATUS_IN_TRANSIT, t + 10, &changed),
                   ==, WB_EVENT_CREATED);
  g_assert_false (changed);
  g_assert_true (event_applied (f, "e2"));
  object = get_object (f, created->id);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (object, "lastEvent"), "eventId"),
                   ==, "e2");
  g_assert_cmpint (parse_time (json_object_get_string_member (object, "statusAt")) / 1000, ==, t / 1000);
  g_assert_cmpint (json_object_get_int_member (object, "version"), ==, 3);

  /* The result says so too: applied, no change; an older scan is neither. */
  result = add_event (f, event_new (created->id, "e2b", WB_STATUS_IN_TRANSIT, t + 15));
  g_assert_true (result.applied);
  g_assert_false (result.status_changed);
  g_free (result.shipment_id);
  result = add_event (f, event_new (created->id, "e2c", WB_STATUS_IN_TRANSIT, t - 100));
  g_assert_false (result.applied);
  g_assert_false (result.status_changed);
  g_free (result.shipment_id);

  /* A new reason is a change. */
  exception = event_new (created->id, "e3", WB_STATUS_EXCEPTION, t + 20);
  exception->reason = g_strdup ("customs_delay");
  result = add_event (f, exception);
  g_assert_true (result.status_changed);
  g_free (result.shipment_id);
  exception = event_new (created->id, "e4", WB_STATUS_EXCEPTION, t + 30);
  exception->reason = g_strdup ("damaged");
  result = add_event (f, exception);
  g_assert_true (result.status_changed);
  g_free (result.shipment_id);

  settle (f);
  g_assert_cmpuint (count_messages (f, "shipment.status_changed"), ==, 3);
}

static void
test_events_by_tracking (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(WbShipmentView) created = create (f, "acme", "JD0001");
  g_autoptr(GPtrArray) events = event_list_new ();
  g_autoptr(GArray) results = NULL;
  g_autoptr(GError) error = NULL;
  WbStatusEvent *event = event_new (NULL, "e1", WB_STATUS_IN_TRANSIT, g_get_real_time () + G_USEC_PER_SEC);
  WbEventResult result;

  event->carrier = g_strdup ("dhl");
  event->track_number = g_strdup ("JD0001");
  result = add_event (f, event);
  g_assert_cmpint (result.outcome, ==, WB_EVENT_CREATED);
  g_assert_cmpstr (result.shipment_id, ==, created->id);
  g_free (result.shipment_id);
  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT count(*) FROM shipment_events e JOIN trackings t"
                                            " ON t.id = e.tracking_id WHERE t.track_number = $1", "JD0001"), ==, 1);

  event = event_new (NULL, "e2", WB_STATUS_IN_TRANSIT, g_get_real_time ());
  event->carrier = g_strdup ("dhl");
  event->track_number = g_strdup ("UNKNOWN");
  g_ptr_array_add (events, event);
  results = add_events (f, events, &error);
  g_assert_null (results);
  g_assert_error (error, WB_SHIPMENT_ERROR, WB_SHIPMENT_ERROR_NOT_FOUND);
}

static void
test_events_batch_failures (Fixture       *f,
                            gconstpointer  data)
{
  g_autoptr(WbShipmentView) open = create (f, "acme", NULL);
  g_autoptr(WbShipmentView) closed = create (f, "acme", NULL);
  g_autoptr(WbShipmentView) close_view = NULL;
  g_autoptr(GPtrArray) events = event_list_new ();
  g_autoptr(GArray) results = NULL;
  g_autoptr(GError) error = NULL;
  gint64 t = g_get_real_time () + G_USEC_PER_SEC;
  const struct
  {
    WbEventOutcome outcome;
    int            code;
  } expected[] = {
    { WB_EVENT_CREATED, -1 },
    { WB_EVENT_FAILED, WB_SHIPMENT_ERROR_NOT_FOUND },
    { WB_EVENT_FAILED, WB_SHIPMENT_ERROR_CLOSED },
    { WB_EVENT_FAILED, WB_SHIPMENT_ERROR_INVALID },
    { WB_EVENT_FAILED, WB_SHIPMENT_ERROR_INVALID },
    { WB_EVENT_FAILED, WB_SHIPMENT_ERROR_NOT_FOUND },
    { WB_EVENT_CREATED, -1 },
    { WB_EVENT_DUPLICATE, -1 },
  };
  WbStatusEvent *bad_lat;

  close_view = close_shipment (f, closed->id, 0, NULL, &error);
  g_assert_no_error (error);

  g_ptr_array_add (events, event_new (open->id, "b1", WB_STATUS_INFO_RECEIVED, t));
  g_ptr_array_add (events, event_new ("00000000-0000-4000-8000-000000000000", "b2", WB_STATUS_IN_TRANSIT, t));
  g_ptr_array_add (events, event_new (closed->id, "b3", WB_STATUS_IN_TRANSIT, t));
  bad_lat = event_new (open->id, "b4", WB_STATUS_IN_TRANSIT, t + 1);
  bad_lat->lat = -100;
  g_ptr_array_add (events, bad_lat);
  g_ptr_array_add (events, event_new (open->id, "b5", WB_STATUS_INVALID, t + 1));
  g_ptr_array_add (events, event_new ("not-a-uuid", "b6", WB_STATUS_IN_TRANSIT, t));
  g_ptr_array_add (events, event_new (open->id, "b7", WB_STATUS_IN_TRANSIT, t + 2));
  g_ptr_array_add (events, event_new (open->id, "b1", WB_STATUS_INFO_RECEIVED, t));

  results = add_events (f, events, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (results->len, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      WbEventResult *result = &g_array_index (results, WbEventResult, i);

      g_assert_cmpint (result->outcome, ==, expected[i].outcome);
      if (expected[i].code >= 0)
        g_assert_error (result->error, WB_SHIPMENT_ERROR, expected[i].code);
      else
        g_assert_no_error (result->error);
    }
  g_assert_true (g_str_has_prefix (g_array_index (results, WbEventResult, 3).error->message, "lat"));
  g_assert_true (g_str_has_prefix (g_array_index (results, WbEventResult, 4).error->message, "status"));

  /* The good ones committed; the failed ones left nothing. */
  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT count(*) FROM shipment_events", NULL), ==, 2);
  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT version FROM shipments WHERE id = $1", open->id), ==, 3);
  settle (f);
  g_assert_cmpuint (count_messages (f, "shipment.status_changed"), ==, 2);
}

static void
test_events_batch_1000 (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(GPtrArray) views = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_shipment_view_free);
  g_autoptr(GPtrArray) events = event_list_new ();
  g_autoptr(GArray) results = NULL;
  g_autoptr(GError) error = NULL;
  gint64 t = g_get_real_time () + G_USEC_PER_SEC;
  gint64 started;

  for (guint i = 0; i < 10; i++)
    g_ptr_array_add (views, create (f, "acme", NULL));
  for (guint i = 0; i < 1000; i++)
    {
      WbShipmentView *view = g_ptr_array_index (views, i % 10);
      g_autofree char *event_id = g_strdup_printf ("bulk-%u", i);

      g_ptr_array_add (events, event_new (view->id, event_id, WB_STATUS_IN_TRANSIT, t + i));
    }

  started = g_get_monotonic_time ();
  results = add_events (f, events, &error);
  g_assert_no_error (error);
  g_test_message ("1000 events in %" G_GINT64_FORMAT " ms", (g_get_monotonic_time () - started) / 1000);

  g_assert_cmpuint (results->len, ==, 1000);
  for (guint i = 0; i < results->len; i++)
    g_assert_cmpint (g_array_index (results, WbEventResult, i).outcome, ==, WB_EVENT_CREATED);
  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT count(*) FROM shipment_events", NULL), ==, 1000);
  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT count(*) FROM shipment_events WHERE applied", NULL), ==, 1000);
  settle (f);
  /* One change per shipment (PENDING → IN_TRANSIT); the rest are scans. */
  g_assert_cmpuint (count_messages (f, "shipment.status_changed"), ==, 10);
}

static void
test_events_delivered_late (Fixture       *f,
                            gconstpointer  data)
{
  g_autoptr(WbShipmentDraft) draft = draft_new ("acme", NULL, NULL, NULL, NULL);
  g_autoptr(WbShipmentView) view = NULL;
  g_autoptr(JsonObject) object = NULL;
  g_autoptr(GError) error = NULL;
  gint64 now = (g_get_real_time () / 1000) * 1000;
  gint64 promised = now - HOUR_US;
  JsonObject *sla;

  draft->promised_at = promised;
  view = create_draft (f, draft, &error);
  g_assert_no_error (error);

  /* The first event finds it overdue: one shipment.delayed … */
  g_assert_cmpint (add_simple_event (f, view->id, "e1", WB_STATUS_IN_TRANSIT, now + G_USEC_PER_SEC, NULL),
                   ==, WB_EVENT_CREATED);
  g_assert_cmpint (add_simple_event (f, view->id, "e2", WB_STATUS_OUT_FOR_DELIVERY, now + 2 * G_USEC_PER_SEC, NULL),
                   ==, WB_EVENT_CREATED);
  object = get_object (f, view->id);
  sla = json_object_get_object_member (object, "sla");
  g_assert_cmpstr (json_object_get_string_member (sla, "state"), ==, "overdue");
  g_assert_cmpint (parse_time (json_object_get_string_member (sla, "overdueSince")), ==, promised);

  /* … and delivery settles it as late by the difference. */
  g_assert_cmpint (add_simple_event (f, view->id, "e3", WB_STATUS_DELIVERED, now + HOUR_US, NULL),
                   ==, WB_EVENT_CREATED);
  g_clear_pointer (&object, json_object_unref);
  object = get_object (f, view->id);
  sla = json_object_get_object_member (object, "sla");
  g_assert_cmpstr (json_object_get_string_member (sla, "state"), ==, "delivered_late");
  g_assert_cmpint (json_object_get_int_member (sla, "lateBySeconds"), ==, 7200);
  g_assert_cmpint (parse_time (json_object_get_string_member (object, "eta")), ==, now + HOUR_US);
  g_assert_cmpstr (json_object_get_string_member (object, "etaSource"), ==, "carrier");

  g_assert_cmpint (check_overdue (f), ==, 0);
  settle (f);
  g_assert_cmpuint (count_messages (f, "shipment.delayed"), ==, 1);
  g_assert_cmpuint (count_messages (f, "shipment.status_changed"), ==, 3);
}

static JsonObject *
last_message (Fixture    *f,
              const char *type)
{
  for (guint i = f->messages->len; i > 0; i--)
    {
      WbBusMessage *message = g_ptr_array_index (f->messages, i - 1);

      if (g_strcmp0 (wb_bus_message_get_header (message, "type"), type) == 0)
        return message_payload (message);
    }
  g_assert_not_reached ();
}

/* A delivery after the promise is a breach, even when it is the first
 * word since the promise passed (the SLA job had not flagged it): one
 * shipment.delayed, and one only, however the shipment moves after. A
 * delivery reported late but made in time is no breach. */
static void
test_events_late_delivery_breach (Fixture       *f,
                                  gconstpointer  data)
{
  g_autoptr(WbShipmentDraft) late_draft = draft_new ("acme", NULL, NULL, NULL, NULL);
  g_autoptr(WbShipmentDraft) in_time_draft = draft_new ("acme", NULL, NULL, NULL, NULL);
  g_autoptr(WbShipmentView) late = NULL;
  g_autoptr(WbShipmentView) in_time = NULL;
  g_autoptr(JsonObject) delayed = NULL;
  g_autoptr(GError) error = NULL;
  gint64 now = (g_get_real_time () / 1000) * 1000;
  WbStatusEvent *correction;
  WbEventResult result;

  late_draft->promised_at = now - HOUR_US;
  late = create_draft (f, late_draft, &error);
  g_assert_no_error (error);
  in_time_draft->promised_at = now - HOUR_US;
  in_time = create_draft (f, in_time_draft, &error);
  g_assert_no_error (error);

  g_assert_cmpint (add_simple_event (f, late->id, "l1", WB_STATUS_DELIVERED, now - HOUR_US / 2, NULL),
                   ==, WB_EVENT_CREATED);
  g_assert_cmpint (add_simple_event (f, in_time->id, "t1", WB_STATUS_DELIVERED, now - 2 * HOUR_US, NULL),
                   ==, WB_EVENT_CREATED);
  settle (f);
  g_assert_cmpuint (count_messages (f, "shipment.delayed"), ==, 1);
  delayed = last_message (f, "shipment.delayed");
  g_assert_cmpstr (json_object_get_string_member (delayed, "shipmentId"), ==, late->id);
  g_assert_cmpstr (json_object_get_string_member (delayed, "status"), ==, "DELIVERED");
  g_assert_cmpint (json_object_get_int_member (delayed, "lateBySeconds"), ==, 1800);
  g_assert_cmpint (parse_time (json_object_get_string_member (delayed, "promisedAt")), ==, now - HOUR_US);

  /* The breach has had its message: neither the job, nor a correction out
   * of the delivery, nor the delivery again announces it twice. */
  g_assert_cmpint (check_overdue (f), ==, 0);
  correction = event_new (late->id, "l2", WB_STATUS_OUT_FOR_DELIVERY, now - HOUR_US / 4);
  correction->correction = TRUE;
  result = add_event (f, correction);
  g_free (result.shipment_id);
  g_assert_cmpint (check_overdue (f), ==, 0);
  g_assert_cmpint (add_simple_event (f, late->id, "l3", WB_STATUS_DELIVERED, now, NULL), ==, WB_EVENT_CREATED);
  settle (f);
  g_assert_cmpuint (count_messages (f, "shipment.delayed"), ==, 1);
  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT count(*) FROM shipments WHERE id = $1 AND overdue_at IS NULL",
                                   in_time->id), ==, 1);

  /* A promise moved before the delivery makes that delivery late. */
  {
    g_autoptr(WbShipmentPatch) patch = g_new0 (WbShipmentPatch, 1);
    g_autoptr(WbShipmentView) patched = NULL;
    g_autoptr(JsonObject) moved = NULL;

    patch->has_promised_at = TRUE;
    patch->promised_at = now - 3 * HOUR_US;
    patched = update (f, in_time->id, 0, patch, NULL, &error);
    g_assert_no_error (error);
    settle (f);
    g_assert_cmpuint (count_messages (f, "shipment.delayed"), ==, 2);
    moved = last_message (f, "shipment.delayed");
    g_assert_cmpstr (json_object_get_string_member (moved, "shipmentId"), ==, in_time->id);
    g_assert_cmpint (json_object_get_int_member (moved, "lateBySeconds"), ==, 3600);
  }
}

/* Event times that parse but cannot be: refused item by item, for every
 * caller of the store (REST checks them too, to name the batch item). */
static void
test_events_implausible_times (Fixture       *f,
                               gconstpointer  data)
{
  g_autoptr(WbShipmentView) view = create (f, "acme", NULL);
  g_autoptr(GPtrArray) events = event_list_new ();
  g_autoptr(GArray) results = NULL;
  g_autoptr(GError) error = NULL;
  gint64 now = g_get_real_time ();
  const struct
  {
    gint64   occurred_at;
    gboolean accepted;
  } cases[] = {
    { G_GINT64_CONSTANT (-62135596800000000), FALSE },    /* 0001-01-01T00:00:00Z */
    { WB_EVENT_EARLIEST_US - 1, FALSE },                  /* 1989-12-31T23:59:59.999999Z */
    { WB_EVENT_EARLIEST_US, TRUE },                       /* 1990-01-01T00:00:00Z */
    { now + WB_EVENT_MAX_AHEAD_US - 60 * G_USEC_PER_SEC, TRUE },
    { now + WB_EVENT_MAX_AHEAD_US + 60 * G_USEC_PER_SEC, FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *event_id = g_strdup_printf ("time-%u", i);

      g_ptr_array_add (events, event_new (view->id, event_id, WB_STATUS_IN_TRANSIT, cases[i].occurred_at));
    }
  results = add_events (f, events, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      WbEventResult *result = &g_array_index (results, WbEventResult, i);

      g_test_message ("case %u", i);
      if (cases[i].accepted)
        g_assert_cmpint (result->outcome, ==, WB_EVENT_CREATED);
      else
        {
          g_assert_error (result->error, WB_SHIPMENT_ERROR, WB_SHIPMENT_ERROR_INVALID);
          g_assert_true (g_str_has_prefix (result->error->message, "occurredAt: "));
        }
    }
}

static void
test_events_eta_and_sla_states (Fixture       *f,
                                gconstpointer  data)
{
  g_autoptr(WbShipmentView) view = create (f, "acme", NULL);
  g_autoptr(WbShipmentView) on_time = create (f, "acme", NULL);
  g_autoptr(JsonObject) object = NULL;
  gint64 now = (g_get_real_time () / 1000) * 1000;
  WbStatusEvent *event = event_new (view->id, "e1", WB_STATUS_IN_TRANSIT, now + G_USEC_PER_SEC);
  WbEventResult result;

  event->carrier_eta = now + 5 * HOUR_US;
  result = add_event (f, event);
  g_free (result.shipment_id);
  object = get_object (f, view->id);
  g_assert_cmpint (parse_time (json_object_get_string_member (object, "eta")), ==, now + 5 * HOUR_US);
  g_assert_cmpstr (json_object_get_string_member (object, "etaSource"), ==, "carrier");

  /* Less than a tenth of the window left: at risk. */
  PQclear (wb_test_pg_exec (f->conn, "UPDATE shipments SET created_at = now() - interval '30 days',"
                                     " promised_at = now() + interval '1 hour' WHERE id = $1", view->id));
  g_clear_pointer (&object, json_object_unref);
  object = get_object (f, view->id);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (object, "sla"), "state"),
                   ==, "at_risk");

  g_assert_cmpint (add_simple_event (f, on_time->id, "e2", WB_STATUS_DELIVERED, now + G_USEC_PER_SEC, NULL),
                   ==, WB_EVENT_CREATED);
  g_clear_pointer (&object, json_object_unref);
  object = get_object (f, on_time->id);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (object, "sla"), "state"),
                   ==, "delivered_on_time");
  g_assert_true (json_object_get_null_member (json_object_get_object_member (object, "sla"), "lateBySeconds"));
}

/* ---- events in batches ----------------------------------------------------- */

typedef struct
{
  const char *id;
  WbStatus    status;
  int         minutes;          /* occurred_at = base + minutes */
  const char *reason;
  gboolean    correction;
  int         eta_hours;        /* carrier ETA = base + hours, 0 = none */
} Step;

/* Out of time order on purpose, and through every branch of the rule. */
static const Step mixed_steps[] = {
  { "s1", WB_STATUS_DELIVERED, 60 },                      /* delivered after the promise: the breach */
  { "s2", WB_STATUS_IN_TRANSIT, 20 },                     /* after a terminal: history */
  { "s3", WB_STATUS_OUT_FOR_DELIVERY, 50, NULL, TRUE },   /* correction out of it: flagged already */
  { "s2", WB_STATUS_IN_TRANSIT, 20 },                     /* the same event again */
  { "s4", WB_STATUS_INFO_RECEIVED, 55 },                  /* a lower milestone: history */
  { "s5", WB_STATUS_EXCEPTION, 56, "customs_delay" },
  { "s6", WB_STATUS_EXCEPTION, 57, "damaged" },           /* a new reason is a change */
  { "s7", WB_STATUS_EXCEPTION, 58, "damaged" },           /* the same: applies, no message */
  { "s8", WB_STATUS_FAILED_ATTEMPT, 40 },                 /* older than the status: history */
  { "s9", WB_STATUS_OUT_FOR_DELIVERY, 59, NULL, FALSE, 5 },
  { "s10", WB_STATUS_OUT_FOR_DELIVERY, 61 },              /* same status, later: applies silently */
  { "s11", WB_STATUS_DELIVERED, 90 },
  { "s12", WB_STATUS_EXCEPTION, 95, "late_scan" },        /* after delivery: history */
};

static WbStatusEvent *
step_event (const Step *step,
            const char *shipment_id,
            const char *prefix,
            gint64      base)
{
  g_autofree char *event_id = g_strconcat (prefix, step->id, NULL);
  WbStatusEvent *event = event_new (shipment_id, event_id, step->status,
                                     base + (gint64) step->minutes * 60 * G_USEC_PER_SEC);

  event->reason = g_strdup (step->reason);
  event->correction = step->correction;
  if (step->eta_hours != 0)
    event->carrier_eta = base + step->eta_hours * HOUR_US;
  return event;
}

static WbShipmentView *
create_overdue (Fixture *f)
{
  g_autoptr(WbShipmentDraft) draft = draft_new ("acme", NULL, NULL, NULL, NULL);
  g_autoptr(GError) error = NULL;
  WbShipmentView *view;

  draft->promised_at = g_get_real_time () - HOUR_US;
  view = create_draft (f, draft, &error);
  g_assert_no_error (error);
  return view;
}

/* Everything a shipment's row says about its events, event ids without
 * their prefix, as one text. */
static char *
shipment_state (Fixture    *f,
                const char *id)
{
  return wb_test_pg_text (f->conn,
                          "SELECT concat_ws('|', status, status_reason, status_at, milestone_rank, version,"
                          "  delivered_at, carrier_eta, eta, late_by_seconds, overdue_at IS NOT NULL,"
                          "  (SELECT substr(e.event_id, 3) FROM shipment_events e WHERE e.id = s.last_event_id),"
                          "  (SELECT string_agg(substr(e.event_id, 3) || '=' || e.applied, ',' ORDER BY e.id)"
                          "     FROM shipment_events e WHERE e.shipment_id = s.id))"
                          " FROM shipments s WHERE s.id = $1", id);
}

/* The messages about one shipment, in order, event ids without their prefix. */
static char *
messages_about (Fixture    *f,
                const char *id)
{
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < f->messages->len; i++)
    {
      WbBusMessage *message = g_ptr_array_index (f->messages, i);
      g_autoptr(JsonObject) payload = NULL;
      const char *type = wb_bus_message_get_header (message, "type");

      if (g_strcmp0 (wb_bus_message_get_key (message), id) != 0)
        continue;
      payload = message_payload (message);
      g_string_append_printf (text, "%s %s v%" G_GINT64_FORMAT, type,
                              json_object_get_string_member (payload, "status"),
                              json_object_get_int_member (payload, "version"));
      if (g_str_equal (type, "shipment.status_changed"))
        g_string_append_printf (text, " %s<-%s %s %s %s", json_object_get_string_member (payload, "eventId") + 2,
                                json_object_get_string_member (payload, "previousStatus"),
                                json_object_get_string_member_with_default (payload, "reason", "-"),
                                json_object_get_string_member (payload, "occurredAt"),
                                json_object_get_string_member (payload, "statusRaw"));
      else
        g_string_append_printf (text, " %s", json_object_get_string_member (payload, "promisedAt"));
      g_string_append_c (text, '\n');
    }
  return g_string_free (text, FALSE);
}

/* Several events for one shipment in one batch end exactly where the same
 * events, one call each, end: state, history, results and messages. */
static void
test_events_batch_same_as_one_by_one (Fixture       *f,
                                      gconstpointer  data)
{
  g_autoptr(WbShipmentView) single = create_overdue (f);
  g_autoptr(WbShipmentView) batched = create_overdue (f);
  g_autoptr(GPtrArray) events = event_list_new ();
  g_autoptr(GArray) results = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *single_state = NULL;
  g_autofree char *batched_state = NULL;
  g_autofree char *single_messages = NULL;
  g_autofree char *batched_messages = NULL;
  gint64 base = (g_get_real_time () / 1000) * 1000;
  gint64 first_row_id = 0;

  PQclear (wb_test_pg_exec (f->conn, "UPDATE shipments SET promised_at = (SELECT promised_at FROM shipments WHERE id = $1)",
                            single->id));
  for (guint i = 0; i < G_N_ELEMENTS (mixed_steps); i++)
    g_ptr_array_add (events, step_event (&mixed_steps[i], batched->id, "b-", base));
  results = add_events (f, events, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (results->len, ==, G_N_ELEMENTS (mixed_steps));

  for (guint i = 0; i < G_N_ELEMENTS (mixed_steps); i++)
    {
      WbEventResult one = add_event (f, step_event (&mixed_steps[i], single->id, "a-", base));
      WbEventResult *many = &g_array_index (results, WbEventResult, i);

      g_test_message ("step %u (%s)", i, mixed_steps[i].id);
      g_assert_no_error (many->error);
      g_assert_cmpint (many->outcome, ==, one.outcome);
      g_assert_cmpint (many->status_changed, ==, one.status_changed);
      g_assert_cmpint (many->version, ==, one.version);
      g_assert_cmpstr (many->shipment_id, ==, batched->id);
      if (i == 1)
        first_row_id = many->event_row_id;
      if (i == 3)
        g_assert_cmpint (many->event_row_id, ==, first_row_id);
      g_free (one.shipment_id);
    }
  g_assert_cmpint (g_array_index (results, WbEventResult, 3).outcome, ==, WB_EVENT_DUPLICATE);

  single_state = shipment_state (f, single->id);
  batched_state = shipment_state (f, batched->id);
  g_test_message ("one by one: %s", single_state);
  g_assert_cmpstr (batched_state, ==, single_state);
  g_assert_true (g_str_has_prefix (batched_state, "DELIVERED|"));

  settle (f);
  single_messages = messages_about (f, single->id);
  batched_messages = messages_about (f, batched->id);
  g_test_message ("one by one:\n%s", single_messages);
  g_assert_cmpstr (batched_messages, ==, single_messages);
  /* s1, s3, s5, s6, s9, s11 changed it; the breach once, at s1. It used
   * to wait for s3 (terminal shipments were never flagged), but a
   * delivery after the promise is the breach itself: the correction out
   * of it finds it flagged already. */
  g_assert_cmpuint (count_messages (f, "shipment.status_changed"), ==, 2 * 6);
  g_assert_cmpuint (count_messages (f, "shipment.delayed"), ==, 2);
  g_assert_nonnull (strstr (batched_messages, "shipment.delayed DELIVERED v2"));
}

/* Values the database would refuse fail their own item only, and an
 * event for a closed shipment is still a duplicate when it repeats one. */
static void
test_events_batch_item_checks (Fixture       *f,
                               gconstpointer  data)
{
  g_autoptr(WbShipmentView) open = create (f, "acme", NULL);
  g_autoptr(WbShipmentView) closed = create (f, "acme", NULL);
  g_autoptr(WbShipmentView) close_view = NULL;
  g_autoptr(GPtrArray) events = event_list_new ();
  g_autoptr(GArray) results = NULL;
  g_autoptr(GError) error = NULL;
  gint64 t = g_get_real_time () + G_USEC_PER_SEC;
  WbEventResult stored = add_event (f, event_new (closed->id, "c1", WB_STATUS_IN_TRANSIT, t));
  WbStatusEvent *event;
  const struct
  {
    WbEventOutcome outcome;
    int            code;
    const char    *prefix;
  } expected[] = {
    { WB_EVENT_FAILED, WB_SHIPMENT_ERROR_INVALID, "occurredAt" },
    { WB_EVENT_FAILED, WB_SHIPMENT_ERROR_INVALID, "estimatedDeliveryAt" },
    { WB_EVENT_FAILED, WB_SHIPMENT_ERROR_INVALID, "lat" },
    { WB_EVENT_FAILED, WB_SHIPMENT_ERROR_INVALID, "lon" },
    { WB_EVENT_FAILED, WB_SHIPMENT_ERROR_INVALID, "reason" },
    { WB_EVENT_DUPLICATE, -1, NULL },                         /* c1 again, now closed */
    { WB_EVENT_FAILED, WB_SHIPMENT_ERROR_EVENT_CONFLICT, "eventId" }, /* k1 for the closed one … */
    { WB_EVENT_CREATED, -1, NULL },                           /* … does not keep it from the open one */
    { WB_EVENT_CREATED, -1, NULL },                           /* k2 for the open one … */
    { WB_EVENT_FAILED, WB_SHIPMENT_ERROR_EVENT_CONFLICT, "eventId" }, /* … is the open one's, not the closed one's */
    { WB_EVENT_CREATED, -1, NULL },                           /* the invalid b1 took nothing */
  };

  close_view = close_shipment (f, closed->id, 0, NULL, &error);
  g_assert_no_error (error);

  event = event_new (open->id, "b1", WB_STATUS_IN_TRANSIT, G_MAXINT64);
  g_ptr_array_add (events, event);
  event = event_new (open->id, "b2", WB_STATUS_IN_TRANSIT, t);
  event->carrier_eta = G_MININT64;
  g_ptr_array_add (events, event);
  event = event_new (open->id, "b3", WB_STATUS_IN_TRANSIT, t);
  event->lat = NAN;
  g_ptr_array_add (events, event);
  event = event_new (open->id, "b4", WB_STATUS_IN_TRANSIT, t);
  event->lon = 180.5;
  g_ptr_array_add (events, event);
  event = event_new (open->id, "b5", WB_STATUS_EXCEPTION, t);
  event->reason = g_strdup ("bad \xff byte");
  g_ptr_array_add (events, event);
  g_ptr_array_add (events, event_new (closed->id, "c1", WB_STATUS_IN_TRANSIT, t));
  g_ptr_array_add (events, event_new (closed->id, "k1", WB_STATUS_IN_TRANSIT, t));
  g_ptr_array_add (events, event_new (open->id, "k1", WB_STATUS_INFO_RECEIVED, t));
  g_ptr_array_add (events, event_new (open->id, "k2", WB_STATUS_IN_TRANSIT, t + 1));
  g_ptr_array_add (events, event_new (closed->id, "k2", WB_STATUS_IN_TRANSIT, t + 1));
  g_ptr_array_add (events, event_new (open->id, "b1", WB_STATUS_OUT_FOR_DELIVERY, t + 2));

  results = add_events (f, events, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (results->len, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      WbEventResult *result = &g_array_index (results, WbEventResult, i);

      g_test_message ("item %u", i);
      g_assert_cmpint (result->outcome, ==, expected[i].outcome);
      if (expected[i].code >= 0)
        {
          g_assert_error (result->error, WB_SHIPMENT_ERROR, expected[i].code);
          g_assert_cmpstr (wb_shipment_error_get_field (result->error), ==, expected[i].prefix);
          g_assert_true (g_str_has_prefix (result->error->message, expected[i].prefix));
        }
      else
        g_assert_no_error (result->error);
    }
  g_assert_cmpint (g_array_index (results, WbEventResult, 5).event_row_id, ==, stored.event_row_id);
  for (guint i = 6; i <= 9; i += 3)
    {
      g_autofree char *holder = wb_shipment_error_get_holder (g_array_index (results, WbEventResult, i).error);

      g_assert_cmpstr (holder, ==, open->id);
    }
  g_assert_cmpstr (g_array_index (results, WbEventResult, 6).shipment_id, ==, closed->id);
  g_free (stored.shipment_id);

  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT count(*) FROM shipment_events WHERE shipment_id = $1", open->id),
                   ==, 3);
  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT version FROM shipments WHERE id = $1", open->id), ==, 4);
  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT count(*) FROM shipment_events WHERE shipment_id = $1", closed->id),
                   ==, 1);
}

typedef struct
{
  const char *conninfo;
  GPtrArray  *batches;          /* GPtrArray of WbStatusEvent*, one transaction each */
  GError     *error;            /* the first failure */
  GArray     *results;          /* of the last batch */
} Sender;

/* Each batch in its own transaction on its own connection, with no
 * retry: a deadlock would show as an error. */
static gpointer
send_batches (gpointer data)
{
  Sender *sender = data;
  PGconn *conn = wb_db_connect (sender->conninfo, &sender->error);

  for (guint i = 0; conn != NULL && i < sender->batches->len && sender->error == NULL; i++)
    {
      g_autoptr(PGresult) begun = wb_db_exec (conn, "BEGIN", NULL, 0, NULL, &sender->error);
      g_autoptr(PGresult) ended = NULL;
      g_autoptr(GArray) changes = _wb_store_changes_new ();
      gboolean wrote_outbox;

      g_clear_pointer (&sender->results, g_array_unref);
      if (begun != NULL)
        sender->results = _wb_store_add_events (conn, g_ptr_array_index (sender->batches, i),
                                                &wrote_outbox, changes, NULL, &sender->error);
      if (sender->results != NULL)
        ended = wb_db_exec (conn, "COMMIT", NULL, 0, NULL, &sender->error);
    }
  g_clear_pointer (&conn, PQfinish);
  return NULL;
}

static void
sender_clear (Sender *sender)
{
  g_clear_pointer (&sender->batches, g_ptr_array_unref);
  g_clear_pointer (&sender->results, g_array_unref);
  g_clear_error (&sender->error);
}

#define N_CROSSED_SHIPMENTS 12
#define N_CROSSED_ROUNDS    15

/* Two senders, each touching every shipment, one in ascending and one in
 * descending order, batch after batch: the shipments are locked in one
 * order whatever the events' order, so neither ever deadlocks, and
 * nothing is lost. */
static void
test_events_batch_opposite_orders (Fixture       *f,
                                   gconstpointer  data)
{
  g_autoptr(GPtrArray) views = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_shipment_view_free);
  Sender senders[2] = { { f->conninfo }, { f->conninfo } };
  GThread *threads[2];
  gint64 t = g_get_real_time () + G_USEC_PER_SEC;

  for (guint i = 0; i < N_CROSSED_SHIPMENTS; i++)
    g_ptr_array_add (views, create (f, "acme", NULL));

  for (guint s = 0; s < 2; s++)
    {
      senders[s].batches = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
      for (guint round = 0; round < N_CROSSED_ROUNDS; round++)
        {
          GPtrArray *events = event_list_new ();

          for (guint n = 0; n < 3 * N_CROSSED_SHIPMENTS; n++)
            {
              guint index = s == 0 ? n / 3 : N_CROSSED_SHIPMENTS - 1 - n / 3;
              WbShipmentView *view = g_ptr_array_index (views, index);
              g_autofree char *event_id = g_strdup_printf ("%s-%u-%u", s == 0 ? "up" : "down", round, n);
              WbStatus status = (round + n) % 2 ? WB_STATUS_EXCEPTION : WB_STATUS_IN_TRANSIT;

              g_ptr_array_add (events, event_new (view->id, event_id, status, t + round * 100 + n));
            }
          g_ptr_array_add (senders[s].batches, events);
        }
    }

  for (guint s = 0; s < 2; s++)
    threads[s] = g_thread_new ("sender", send_batches, &senders[s]);
  for (guint s = 0; s < 2; s++)
    {
      g_thread_join (threads[s]);
      g_assert_no_error (senders[s].error);
    }

  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT count(*) FROM shipment_events", NULL),
                   ==, 2 * N_CROSSED_ROUNDS * 3 * N_CROSSED_SHIPMENTS);
  /* Every applied event moved its shipment's version once. */
  g_assert_cmpint (wb_test_pg_int (f->conn,
                                   "SELECT count(*) FROM shipments s WHERE s.version <> 1 +"
                                   " (SELECT count(*) FROM shipment_events e WHERE e.shipment_id = s.id AND e.applied)",
                                   NULL), ==, 0);
  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT count(*) FROM shipments WHERE version = 1", NULL), ==, 0);
  for (guint s = 0; s < 2; s++)
    sender_clear (&senders[s]);
}

/* One (source, eventId) sent for two shipments at once: the batch that
 * loses the race finds its plan was wrong only at its INSERT, and plans
 * again; what it stored follows the second plan. The event it lost is
 * the other shipment's: a conflict for this one, not a duplicate. */
static void
test_events_duplicate_race_replans (Fixture       *f,
                                    gconstpointer  data)
{
  g_autoptr(WbShipmentView) a = create (f, "acme", NULL);
  g_autoptr(WbShipmentView) b = create (f, "acme", NULL);
  g_autoptr(GPtrArray) first = event_list_new ();
  g_autoptr(GArray) first_results = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *status = NULL;
  Sender sender = { f->conninfo };
  gint64 t = g_get_real_time () + G_USEC_PER_SEC;
  PGconn *conn = wb_db_connect (f->conninfo, &error);
  GPtrArray *second = event_list_new ();
  g_autoptr(GArray) changes = _wb_store_changes_new ();
  g_autofree char *holder = NULL;
  gboolean wrote_outbox;
  GThread *thread;
  WbEventResult *result;

  g_assert_no_error (error);
  g_ptr_array_add (first, event_new (a->id, "k", WB_STATUS_IN_TRANSIT, t + 10));
  PQclear (wb_test_pg_exec (conn, "BEGIN", NULL));
  first_results = _wb_store_add_events (conn, first, &wrote_outbox, changes, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_array_index (first_results, WbEventResult, 0).outcome, ==, WB_EVENT_CREATED);

  /* For b, "k" would apply and make "l" (older, lower) history; but the
   * INSERT of "k" waits for the first transaction, which stores it. */
  g_ptr_array_add (second, event_new (b->id, "k", WB_STATUS_IN_TRANSIT, t + 10));
  g_ptr_array_add (second, event_new (b->id, "l", WB_STATUS_INFO_RECEIVED, t + 5));
  sender.batches = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  g_ptr_array_add (sender.batches, second);
  thread = g_thread_new ("sender", send_batches, &sender);
  wait_for_lock_waiters (f, 1);
  PQclear (wb_test_pg_exec (conn, "COMMIT", NULL));
  g_thread_join (thread);
  g_clear_pointer (&conn, PQfinish);

  g_assert_no_error (sender.error);
  result = &g_array_index (sender.results, WbEventResult, 0);
  g_assert_cmpint (result->outcome, ==, WB_EVENT_FAILED);
  g_assert_error (result->error, WB_SHIPMENT_ERROR, WB_SHIPMENT_ERROR_EVENT_CONFLICT);
  holder = wb_shipment_error_get_holder (result->error);
  g_assert_cmpstr (holder, ==, a->id);
  result = &g_array_index (sender.results, WbEventResult, 1);
  g_assert_cmpint (result->outcome, ==, WB_EVENT_CREATED);
  g_assert_true (result->status_changed);
  g_assert_cmpint (result->version, ==, 2);

  g_assert_true (event_applied (f, "l"));
  status = shipment_status (f, b->id);
  g_assert_cmpstr (status, ==, "INFO_RECEIVED");
  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT count(*) FROM shipment_events WHERE event_id = 'k'", NULL), ==, 1);
  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT count(*) FROM shipments s JOIN shipment_events e"
                                            " ON e.id = s.last_event_id WHERE s.id = $1 AND e.event_id = 'l'", b->id), ==, 1);
  settle (f);
  g_assert_cmpuint (count_messages (f, "shipment.status_changed"), ==, 2);
  sender_clear (&sender);
}

/* ---- change announcements -------------------------------------------------- */

typedef struct
{
  GMutex     mutex;
  GPtrArray *seen;      /* "id@version", in order */
} Announced;

static void
on_changed (WbShipmentStore *store,
            const char      *id,
            gint64           version,
            gpointer         user_data)
{
  Announced *announced = user_data;

  g_mutex_lock (&announced->mutex);
  g_ptr_array_add (announced->seen, g_strdup_printf ("%s@%" G_GINT64_FORMAT, id, version));
  g_mutex_unlock (&announced->mutex);
}

/* What was announced since the last call, as one text. */
static char *
take_announced (Announced *announced)
{
  g_autofree char *text = NULL;

  g_mutex_lock (&announced->mutex);
  g_ptr_array_add (announced->seen, NULL);
  text = g_strjoinv (" ", (char **) announced->seen->pdata);
  g_ptr_array_set_size (announced->seen, 0);
  g_mutex_unlock (&announced->mutex);
  return g_steal_pointer (&text);
}

static void
assert_announced (Announced  *announced,
                  const char *id,
                  gint64      version)
{
  g_autofree char *expected = g_strdup_printf ("%s@%" G_GINT64_FORMAT, id, version);
  g_autofree char *got = take_announced (announced);

  g_assert_cmpstr (got, ==, expected);
}

/* Every write that changes a shipment's view is announced once committed,
 * whoever makes it: REST's calls, the tracker role's carrier batches, the
 * SLA job; before its callback runs. Failed writes are not. */
static void
test_changed_signal (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(WbShipmentView) view = create (f, "acme", "JD-SIG-1");
  g_autoptr(WbShipmentView) updated = NULL;
  g_autoptr(WbShipmentView) overdue = create_overdue (f);
  g_autoptr(WbShipmentPatch) patch = g_new0 (WbShipmentPatch, 1);
  g_autoptr(GPtrArray) none = g_ptr_array_new ();
  g_autoptr(GPtrArray) carrier_events = event_list_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(WbCarrierBatchResult) applied = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *created = NULL;
  Announced announced = { .seen = g_ptr_array_new_with_free_func (g_free) };
  gint64 t = g_get_real_time () + G_USEC_PER_SEC;
  WbStatusEvent *by_tracking;
  gulong handler;

  g_mutex_init (&announced.mutex);
  handler = g_signal_connect (f->store, "changed", G_CALLBACK (on_changed), &announced);
  created = take_announced (&announced);
  g_assert_cmpstr (created, ==, "");

  patch->has_reference = TRUE;
  patch->reference = g_strdup ("changed");
  updated = update (f, view->id, 1, patch, NULL, &error);
  g_assert_no_error (error);
  assert_announced (&announced, view->id, 2);

  /* A stale If-Match writes nothing and announces nothing. */
  g_clear_pointer (&updated, wb_shipment_view_free);
  updated = update (f, view->id, 1, patch, NULL, &error);
  g_assert_error (error, WB_SHIPMENT_ERROR, WB_SHIPMENT_ERROR_VERSION_MISMATCH);
  g_clear_error (&error);
  g_free (created);
  created = take_announced (&announced);
  g_assert_cmpstr (created, ==, "");

  g_assert_cmpint (add_simple_event (f, view->id, "e1", WB_STATUS_IN_TRANSIT, t, NULL), ==, WB_EVENT_CREATED);
  assert_announced (&announced, view->id, 3);

  /* The tracker role's way in: an event by tracking, in a carrier batch. */
  by_tracking = event_new (NULL, "e2", WB_STATUS_OUT_FOR_DELIVERY, t + 1);
  by_tracking->carrier = g_strdup ("dhl");
  by_tracking->track_number = g_strdup ("JD-SIG-1");
  g_ptr_array_add (carrier_events, by_tracking);
  wb_shipment_store_apply_carrier_batch_async (f->store, none, none, carrier_events, NULL, store_result, &result);
  wait_for (&result);
  applied = wb_shipment_store_apply_carrier_batch_finish (f->store, result, &error);
  g_assert_no_error (error);
  assert_announced (&announced, view->id, 4);

  /* The SLA job's flag keeps the version. */
  g_assert_cmpint (check_overdue (f), ==, 1);
  assert_announced (&announced, overdue->id, 1);

  g_signal_handler_disconnect (f->store, handler);
  g_ptr_array_unref (announced.seen);
  g_mutex_clear (&announced.mutex);
}

/* ---- reads for the cache and the event answer -------------------------------- */

static void
test_get_version_and_event (Fixture       *f,
                            gconstpointer  data)
{
  g_autoptr(WbShipmentView) view = create (f, "acme", NULL);
  g_autoptr(WbShipmentView) with_event = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *event_json = NULL;
  g_autofree char *history = NULL;
  g_autoptr(JsonObject) event = NULL;
  WbEventResult added = add_event (f, event_new (view->id, "v1", WB_STATUS_IN_TRANSIT,
                                                 g_get_real_time () + G_USEC_PER_SEC));

  wb_shipment_store_get_version_async (f->store, view->id, NULL, store_result, &result);
  wait_for (&result);
  g_assert_cmpint (wb_shipment_store_get_version_finish (f->store, result, &error), ==, 2);
  g_assert_no_error (error);
  g_clear_object (&result);

  wb_shipment_store_get_version_async (f->store, "00000000-0000-4000-8000-000000000000", NULL, store_result, &result);
  wait_for (&result);
  g_assert_cmpint (wb_shipment_store_get_version_finish (f->store, result, &error), ==, 0);
  g_assert_error (error, WB_SHIPMENT_ERROR, WB_SHIPMENT_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_clear_object (&result);

  /* The event as the history writes it, text for text. */
  wb_shipment_store_get_with_event_async (f->store, view->id, added.event_row_id, NULL, store_result, &result);
  wait_for (&result);
  with_event = wb_shipment_store_get_with_event_finish (f->store, result, &event_json, &error);
  g_assert_no_error (error);
  g_assert_cmpint (with_event->version, ==, 2);
  history = list_events (f, view->id, 1, 0, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (history, event_json));
  event = parse_object (event_json);
  g_assert_cmpstr (json_object_get_string_member (event, "eventId"), ==, "v1");
  g_free (added.shipment_id);
}

/* A view says until when the clock alone leaves its SLA state as it is:
 * the start of at_risk (a tenth of the window before the promise), then
 * the promise; nothing once delivered. */
static void
test_view_expires (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(WbShipmentDraft) draft = draft_new ("acme", NULL, NULL, NULL, NULL);
  g_autoptr(WbShipmentView) view = NULL;
  g_autoptr(WbShipmentView) read = NULL;
  g_autoptr(GError) error = NULL;
  gint64 now = (g_get_real_time () / 1000) * 1000;
  gint64 created_at;

  draft->promised_at = now + 10 * HOUR_US;
  view = create_draft (f, draft, &error);
  g_assert_no_error (error);
  created_at = wb_test_pg_int (f->conn, "SELECT " WB_SQL_TO_US ("created_at") " FROM shipments WHERE id = $1", view->id);
  /* Within the rounding of an interval's division. */
  g_assert_cmpint (ABS (view->expires_at - (draft->promised_at - (draft->promised_at - created_at) / 10)), <=, 1);

  PQclear (wb_test_pg_exec (f->conn, "UPDATE shipments SET created_at = now () - interval '100 hours' WHERE id = $1", view->id));
  read = get (f, view->id, &error);
  g_assert_no_error (error);
  g_assert_cmpint (read->expires_at, ==, draft->promised_at);
  g_clear_pointer (&read, wb_shipment_view_free);

  g_assert_cmpint (add_simple_event (f, view->id, "d1", WB_STATUS_DELIVERED, now, NULL), ==, WB_EVENT_CREATED);
  read = get (f, view->id, &error);
  g_assert_no_error (error);
  g_assert_cmpint (read->expires_at, ==, 0);
}

/* ---- history ------------------------------------------------------------- */

static void
test_history (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(WbShipmentView) created = create (f, "acme", NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *page = NULL;
  g_autoptr(JsonObject) object = NULL;
  gint64 t = g_get_real_time () + G_USEC_PER_SEC;
  const char *order[] = { "e3", "e2", "e4", "e1" };
  JsonArray *items;

  add_simple_event (f, created->id, "e1", WB_STATUS_INFO_RECEIVED, t, NULL);
  add_simple_event (f, created->id, "e2", WB_STATUS_IN_TRANSIT, t + 20, NULL);
  add_simple_event (f, created->id, "e3", WB_STATUS_OUT_FOR_DELIVERY, t + 30, NULL);
  /* Same time as e2, stored later: a higher id comes first. */
  add_simple_event (f, created->id, "e4", WB_STATUS_IN_TRANSIT, t + 20, NULL);
  g_assert_true (wb_test_pg_int (f->conn, "SELECT id FROM shipment_events WHERE event_id = 'e4'", NULL) >
                 wb_test_pg_int (f->conn, "SELECT id FROM shipment_events WHERE event_id = 'e2'", NULL));
  order[1] = "e4";
  order[2] = "e2";

  page = list_events (f, created->id, 0, 0, &error);
  g_assert_no_error (error);
  object = parse_object (page);
  assert_members (object, "items total limit offset");
  g_assert_cmpint (json_object_get_int_member (object, "total"), ==, 4);
  g_assert_cmpint (json_object_get_int_member (object, "limit"), ==, 50);
  items = json_object_get_array_member (object, "items");
  g_assert_cmpuint (json_array_get_length (items), ==, 4);
  for (guint i = 0; i < 4; i++)
    g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (items, i), "eventId"),
                     ==, order[i]);
  assert_members (json_array_get_object_element (items, 0),
                  "id eventId source status reason statusRaw occurredAt occurredAtRaw zoneGuessed "
                  "location description correction applied receivedAt");
  g_assert_true (json_object_get_boolean_member (json_array_get_object_element (items, 0), "zoneGuessed"));

  g_clear_pointer (&page, g_free);
  g_clear_pointer (&object, json_object_unref);
  page = list_events (f, created->id, 2, 1, &error);
  g_assert_no_error (error);
  object = parse_object (page);
  items = json_object_get_array_member (object, "items");
  g_assert_cmpuint (json_array_get_length (items), ==, 2);
  g_assert_cmpint (json_object_get_int_member (object, "total"), ==, 4);
  g_assert_cmpint (json_object_get_int_member (object, "offset"), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (items, 0), "eventId"), ==, order[1]);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (items, 1), "eventId"), ==, order[2]);

  g_clear_pointer (&page, g_free);
  page = list_events (f, "00000000-0000-4000-8000-000000000000", 0, 0, &error);
  g_assert_null (page);
  g_assert_error (error, WB_SHIPMENT_ERROR, WB_SHIPMENT_ERROR_NOT_FOUND);
  g_clear_error (&error);
  page = list_events (f, "x", 0, 0, &error);
  g_assert_error (error, WB_SHIPMENT_ERROR, WB_SHIPMENT_ERROR_NOT_FOUND);
}

/* ---- search -------------------------------------------------------------- */

#define N_SEEDED 40
#define DAY_US   (24 * HOUR_US)
#define T0_US    G_GINT64_CONSTANT (1767225600000000) /* 2026-01-01T00:00:00Z */

typedef struct
{
  char      *id;
  const char *client_id;
  const char *phone;
  const char *status;
  gint64     created_at;
  gint64     updated_at;
  gboolean   overdue;
} Seeded;

enum
{
  FILTER_STATUSES = 1 << 0,
  FILTER_CLIENT = 1 << 1,
  FILTER_PHONE = 1 << 2,
  FILTER_CREATED = 1 << 3,
  FILTER_UPDATED = 1 << 4,
  FILTER_OVERDUE = 1 << 5,
  N_COMBINATIONS = 1 << 6,
};

static const char * const seeded_statuses[] = { "PENDING", "IN_TRANSIT", "DELIVERED", "EXCEPTION", "IN_TRANSIT" };

/* Shipments made through the store, then given known times and states:
 * pairs share a created_at so that the id breaks ties. */
static void
seed (Fixture *f,
      Seeded  *seeded)
{
  for (guint i = 0; i < N_SEEDED; i++)
    {
      g_autoptr(WbShipmentDraft) draft = draft_new (i % 2 ? "globex" : "acme", "express",
                                                    i % 4 < 2 ? "+15550000001" : "+15550000002", NULL, NULL);
      g_autoptr(GError) error = NULL;
      g_autoptr(WbShipmentView) view = create_draft (f, draft, &error);
      const char *params[6];
      g_autofree char *created = NULL, *updated = NULL, *promised = NULL;
      g_autoptr(PGresult) result = NULL;

      g_assert_no_error (error);
      seeded[i] = (Seeded) {
        .id = g_strdup (view->id),
        .client_id = i % 2 ? "globex" : "acme",
        .phone = i % 4 < 2 ? "+15550000001" : "+15550000002",
        .status = seeded_statuses[i % G_N_ELEMENTS (seeded_statuses)],
        .created_at = T0_US + (i / 2) * DAY_US,
        .updated_at = T0_US + (gint64) ((i * 7) % N_SEEDED) * HOUR_US,
      };
      /* Promised in the past for every third one; terminal ones are not overdue. */
      seeded[i].overdue = i % 3 == 0 && !g_str_equal (seeded[i].status, "DELIVERED");
      created = g_strdup_printf ("%" G_GINT64_FORMAT, seeded[i].created_at);
      updated = g_strdup_printf ("%" G_GINT64_FORMAT, seeded[i].updated_at);
      promised = g_strdup_printf ("%" G_GINT64_FORMAT, g_get_real_time () + (i % 3 == 0 ? -DAY_US : 100 * DAY_US));
      params[0] = view->id;
      params[1] = created;
      params[2] = updated;
      params[3] = seeded[i].status;
      params[4] = promised;
      result = wb_db_exec (f->conn,
                           "UPDATE shipments SET created_at = " WB_SQL_FROM_US ("$2") ","
                           " updated_at = " WB_SQL_FROM_US ("$3") ", status = $4,"
                           " promised_at = " WB_SQL_FROM_US ("$5") " WHERE id = $1",
                           params, 5, NULL, &error);
      g_assert_no_error (error);
    }
}

static WbShipmentQuery *
query_for (guint mask)
{
  WbShipmentQuery *query = g_new0 (WbShipmentQuery, 1);

  if (mask & FILTER_STATUSES)
    query->statuses = g_strsplit ("IN_TRANSIT,EXCEPTION", ",", -1);
  if (mask & FILTER_CLIENT)
    query->client_id = g_strdup ("acme");
  if (mask & FILTER_PHONE)
    query->phone = g_strdup ("+15550000001");
  if (mask & FILTER_CREATED)
    {
      query->created_from = T0_US + 3 * DAY_US;
      query->created_to = T0_US + 15 * DAY_US;
    }
  if (mask & FILTER_UPDATED)
    {
      query->updated_from = T0_US + 5 * HOUR_US;
      query->updated_to = T0_US + 30 * HOUR_US;
    }
  query->overdue = (mask & FILTER_OVERDUE) != 0;
  return query;
}

static gboolean
seeded_matches (const Seeded *s,
                guint         mask)
{
  return (!(mask & FILTER_STATUSES) || g_str_equal (s->status, "IN_TRANSIT") || g_str_equal (s->status, "EXCEPTION")) &&
         (!(mask & FILTER_CLIENT) || g_str_equal (s->client_id, "acme")) &&
         (!(mask & FILTER_PHONE) || g_str_equal (s->phone, "+15550000001")) &&
         (!(mask & FILTER_CREATED) || (s->created_at >= T0_US + 3 * DAY_US && s->created_at < T0_US + 15 * DAY_US)) &&
         (!(mask & FILTER_UPDATED) || (s->updated_at >= T0_US + 5 * HOUR_US && s->updated_at < T0_US + 30 * HOUR_US)) &&
         (!(mask & FILTER_OVERDUE) || s->overdue);
}

static int
compare_seeded (gconstpointer a,
                gconstpointer b)
{
  const Seeded *x = *(const Seeded * const *) a;
  const Seeded *y = *(const Seeded * const *) b;

  if (x->created_at != y->created_at)
    return x->created_at > y->created_at ? -1 : 1;
  return -strcmp (x->id, y->id);
}

/* Every filter combination, paged 7 at a time, against the model. */
static void
test_search_filters (Fixture       *f,
                     gconstpointer  data)
{
  Seeded seeded[N_SEEDED];

  seed (f, seeded);

  for (guint mask = 0; mask < N_COMBINATIONS; mask++)
    {
      g_autoptr(WbShipmentQuery) query = query_for (mask);
      g_autoptr(GPtrArray) expected = g_ptr_array_new ();
      g_autoptr(GPtrArray) got = g_ptr_array_new_with_free_func (g_free);

      for (guint i = 0; i < N_SEEDED; i++)
        if (seeded_matches (&seeded[i], mask))
          g_ptr_array_add (expected, &seeded[i]);
      g_ptr_array_sort (expected, compare_seeded);

      query->limit = 7;
      do
        {
          g_autoptr(GError) error = NULL;
          g_autofree char *page = search (f, query, &error);
          g_autoptr(JsonObject) object = NULL;
          JsonArray *items;

          g_assert_no_error (error);
          object = parse_object (page);
          items = json_object_get_array_member (object, "items");
          g_assert_cmpuint (json_array_get_length (items), <=, 7);
          for (guint i = 0; i < json_array_get_length (items); i++)
            g_ptr_array_add (got, g_strdup (json_object_get_string_member (json_array_get_object_element (items, i), "id")));

          g_clear_pointer (&query->cursor, g_free);
          if (!json_object_get_null_member (object, "nextCursor"))
            query->cursor = g_strdup (json_object_get_string_member (object, "nextCursor"));
        }
      while (query->cursor != NULL);

      g_assert_cmpuint (got->len, ==, expected->len);
      for (guint i = 0; i < got->len; i++)
        g_assert_cmpstr (g_ptr_array_index (got, i), ==, ((Seeded *) g_ptr_array_index (expected, i))->id);
      if (mask == 0)
        g_assert_cmpuint (got->len, ==, N_SEEDED);
    }

  for (guint i = 0; i < N_SEEDED; i++)
    g_free (seeded[i].id);
}

static void
assert_search_invalid (Fixture         *f,
                       WbShipmentQuery *query,
                       const char      *field)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *page = search (f, query, &error);

  g_assert_null (page);
  g_assert_error (error, WB_SHIPMENT_ERROR, WB_SHIPMENT_ERROR_INVALID);
  g_assert_true (g_str_has_prefix (error->message, field));
}

static void
test_search_invalid (Fixture       *f,
                     gconstpointer  data)
{
  const char *cursors[] = {
    "!!!", "bm90IGEgY3Vyc29y" /* "not a cursor" */,
    "MTIzOm5vdC1hLXV1aWQ" /* "123:not-a-uuid" */, "",
  };
  g_autoptr(WbShipmentQuery) query = g_new0 (WbShipmentQuery, 1);

  for (guint i = 0; i < G_N_ELEMENTS (cursors); i++)
    {
      g_free (query->cursor);
      query->cursor = g_strdup (cursors[i]);
      assert_search_invalid (f, query, "cursor");
    }
  g_clear_pointer (&query->cursor, g_free);

  query->limit = 501;
  assert_search_invalid (f, query, "limit");
  query->limit = 500;
  query->statuses = g_strsplit ("IN_TRANSIT,SHIPPED", ",", -1);
  assert_search_invalid (f, query, "statuses");
}

/* What the store hands out as nextCursor: base64url of "created_at_us:id". */
static char *
make_cursor (gint64      created_at_us,
             const char *id)
{
  g_autofree char *plain = g_strdup_printf ("%" G_GINT64_FORMAT ":%s", created_at_us, id);
  char *cursor = g_base64_encode ((const guchar *) plain, strlen (plain));

  g_strdelimit (cursor, "+", '-');
  g_strdelimit (cursor, "/", '_');
  if (strchr (cursor, '=') != NULL)
    *strchr (cursor, '=') = '\0';
  return cursor;
}

/* What a plan does with shipments: every index it reads and the
 * condition it looks the index up with, and whether it reads the table
 * sequentially anywhere. */
typedef struct
{
  GString  *lookups;            /* "index: Index Cond\n" … */
  gboolean  sequential;
} PlanUse;

static void
collect_plan_use (JsonObject *plan,
                  PlanUse    *use)
{
  const char *node_type = json_object_get_string_member_with_default (plan, "Node Type", "");
  const char *relation = json_object_get_string_member_with_default (plan, "Relation Name", "");
  const char *index = json_object_get_string_member_with_default (plan, "Index Name", "");
  JsonArray *children = json_object_has_member (plan, "Plans") ? json_object_get_array_member (plan, "Plans") : NULL;

  /* Bitmap index scans name no relation: the index names tell. */
  if (g_str_has_prefix (index, "shipments_"))
    g_string_append_printf (use->lookups, "%s: %s\n", index,
                            json_object_get_string_member_with_default (plan, "Index Cond", ""));
  if (g_str_equal (node_type, "Seq Scan") && g_str_equal (relation, "shipments"))
    use->sequential = TRUE;
  for (guint i = 0; children != NULL && i < json_array_get_length (children); i++)
    collect_plan_use (json_array_get_object_element (children, i), use);
}

static PGresult *
explain (Fixture    *f,
         const char *options,
         const char *search_sql,
         GPtrArray  *params)
{
  g_autofree char *statement = g_strdup_printf ("EXPLAIN (%s) %s", options, search_sql);
  g_autoptr(GError) error = NULL;
  PGresult *result = wb_db_exec (f->conn, statement, (const char * const *) params->pdata, params->len,
                                 NULL, &error);

  g_assert_no_error (error);
  return result;
}

/* EXPLAINs the statement the store would run for @query, and shows the
 * plan in the test's log. Returns the shipments index lookups. */
static char *
explain_search (Fixture         *f,
                WbShipmentQuery *query,
                const char      *label)
{
  g_autoptr(GPtrArray) params = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PGresult) as_json = NULL;
  g_autoptr(PGresult) as_text = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GString) text = g_string_new (NULL);
  g_autofree char *search_sql = NULL;
  PlanUse use = { g_string_new (NULL), FALSE };

  g_assert_true (_wb_store_build_search (query, &search_sql, &params, &error));
  g_assert_no_error (error);
  as_json = explain (f, "FORMAT JSON", search_sql, params);
  as_text = explain (f, "COSTS OFF", search_sql, params);
  for (int row = 0; row < PQntuples (as_text); row++)
    g_string_append_printf (text, "\n  %s", PQgetvalue (as_text, row, 0));
  g_test_message ("%s:%s", label, text->str);

  node = json_from_string (PQgetvalue (as_json, 0, 0), &error);
  g_assert_no_error (error);
  collect_plan_use (json_object_get_object_member (json_array_get_object_element (json_node_get_array (node), 0),
                                                   "Plan"), &use);
  if (use.sequential)
    g_error ("%s: sequential scan of shipments in %s%s", label, search_sql, text->str);
  return g_string_free (use.lookups, FALSE);
}

/* A table shaped like a real one, big enough for the planner's choices to
 * mean something: 50 000 shipments over 100 days, from 300 clients to
 * 30 000 phones; the last week still moving, the rest mostly delivered,
 * some returned, cancelled, expired or stuck in an exception (overdue,
 * unless closed: half of those older than a month are). */
static void
seed_realistic (Fixture *f)
{
  PQclear (wb_test_pg_exec (f->conn, "INSERT INTO recipients (name, phone) VALUES ('x', '+375291234567')", NULL));
  PQclear (wb_test_pg_exec (f->conn, "INSERT INTO addresses (country) VALUES ('BY')", NULL));
  PQclear (wb_test_pg_exec (f->conn,
                            "INSERT INTO shipments (client_id, recipient_id, recipient_phone, destination_id,"
                            "  promised_at, status, status_at, created_at, updated_at, closed_at)"
                            " SELECT 'client-' || (i::bigint * 7919 % 300), 1, '+37529' || (1000000 + i::bigint * 104729 % 30000), 1,"
                            "   c + interval '3 days',"
                            "   CASE WHEN i < 3500 THEN (ARRAY['PENDING', 'INFO_RECEIVED', 'IN_TRANSIT', 'IN_TRANSIT', 'IN_TRANSIT',"
                            "                                  'IN_TRANSIT', 'OUT_FOR_DELIVERY', 'DELIVERED', 'DELIVERED',"
                            "                                  'EXCEPTION'])[i % 10 + 1]"
                            "        WHEN i % 50 < 45 THEN 'DELIVERED'"
                            "        ELSE (ARRAY['RETURNED_TO_SENDER', 'RETURNED_TO_SENDER', 'CANCELLED', 'EXCEPTION',"
                            "                    'EXPIRED'])[i % 50 - 44] END,"
                            "   c, c, least (now (), c + (i % 96) * interval '1 hour'),"
                            "   CASE WHEN i > 15000 AND i % 2 = 0 THEN c + interval '20 days' END"
                            " FROM generate_series (1, 50000) AS i,"
                            "   LATERAL (SELECT now () - i * interval '172.8 seconds' AS c) t", NULL));
  PQclear (wb_test_pg_exec (f->conn, "ANALYZE", NULL));
}

/* The filters of the seeded table's typical searches, most selective
 * first: a phone (a shipment or two), a client (0.3 %), a day of updates
 * (1 %), overdue (4 %), five days of creation (5 %), two statuses (5 %). */
static const struct
{
  guint       filter;
  const char *name;
  const char *index_prefix;     /* a lookup in one of these … */
  const char *condition;        /* … on this, serves the filter */
} leading_filters[] = {
  { FILTER_PHONE, "phone", "shipments_", "recipient_phone =" },
  { FILTER_CLIENT, "client", "shipments_", "client_id =" },
  { FILTER_UPDATED, "updated", "shipments_", "updated_at >=" },
  { FILTER_OVERDUE, "overdue", "shipments_open_", "" },
  { FILTER_CREATED, "created", "shipments_", "created_at >=" },
  { FILTER_STATUSES, "statuses", "shipments_status_created_idx", "status =" },
};

static WbShipmentQuery *
realistic_query (guint mask)
{
  WbShipmentQuery *query = g_new0 (WbShipmentQuery, 1);
  gint64 now = g_get_real_time ();

  if (mask & FILTER_STATUSES)
    query->statuses = g_strsplit ("IN_TRANSIT,EXCEPTION", ",", -1);
  if (mask & FILTER_CLIENT)
    query->client_id = g_strdup ("client-7");
  if (mask & FILTER_PHONE)
    query->phone = g_strdup ("+375291000042");
  if (mask & FILTER_CREATED)
    {
      query->created_from = now - 20 * DAY_US;
      query->created_to = now - 15 * DAY_US;
    }
  if (mask & FILTER_UPDATED)
    {
      query->updated_from = now - 10 * DAY_US;
      query->updated_to = now - 9 * DAY_US;
    }
  query->overdue = (mask & FILTER_OVERDUE) != 0;
  return query;
}

/* Whether one of @lookups ("index: condition" lines) serves the filter. */
static gboolean
lookup_serves (const char *lookups,
               guint       leading)
{
  g_auto(GStrv) lines = g_strsplit (lookups, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *condition = strchr (lines[i], ':');

      if (condition != NULL && g_str_has_prefix (lines[i], leading_filters[leading].index_prefix) &&
          strstr (condition, leading_filters[leading].condition) != NULL)
        return TRUE;
    }
  return FALSE;
}

/* Every combination of the six filters, with and without a cursor, on a
 * realistic table with the planner's default settings: the plan looks its
 * most selective filter up in an index (an Index Cond, or the partial
 * index of open shipments for overdue), rather than walking shipments in
 * page order and filtering them; and no plan reads the table
 * sequentially. Each plan is in the test's log (--verbose). */
static void
test_search_indexes (Fixture       *f,
                     gconstpointer  data)
{
  const struct
  {
    guint       mask;
    const char *index;
  } dedicated[] = {
    { 0, "shipments_created_idx" },
    { FILTER_CLIENT, "shipments_client_created_idx" },
    { FILTER_PHONE, "shipments_phone_created_idx" },
    { FILTER_UPDATED, "shipments_updated_idx" },
    { FILTER_STATUSES, "shipments_status_created_idx" },
    { FILTER_OVERDUE, "shipments_open_created_idx" },
    { FILTER_CREATED, "shipments_created_idx" },
  };

  seed_realistic (f);
  for (guint mask = 1; mask < 2 * N_COMBINATIONS; mask++)
    {
      g_autoptr(WbShipmentQuery) query = realistic_query (mask % N_COMBINATIONS);
      g_autofree char *label = NULL;
      g_autofree char *lookups = NULL;
      guint leading = 0;

      if (mask % N_COMBINATIONS == 0)
        continue;
      while (!(mask & leading_filters[leading].filter))
        leading++;
      if (mask >= N_COMBINATIONS)
        query->cursor = make_cursor (g_get_real_time () - 12 * DAY_US, "ffffffff-ffff-4fff-bfff-ffffffffffff");
      label = g_strdup_printf ("filters %#x%s, leading %s", mask % N_COMBINATIONS,
                               mask >= N_COMBINATIONS ? " and a cursor" : "", leading_filters[leading].name);
      lookups = explain_search (f, query, label);
      if (!lookup_serves (lookups, leading))
        g_error ("%s: no index lookup serves it; lookups:\n%s", label, lookups);
    }

  for (guint i = 0; i < G_N_ELEMENTS (dedicated); i++)
    {
      g_autoptr(WbShipmentQuery) query = realistic_query (dedicated[i].mask);
      g_autofree char *label = g_strdup_printf ("filter %#x alone", dedicated[i].mask);
      g_autofree char *lookups = explain_search (f, query, label);

      if (strstr (lookups, dedicated[i].index) == NULL)
        g_error ("%s: expected %s; lookups:\n%s", label, dedicated[i].index, lookups);
    }
}

/* ---- SLA job ------------------------------------------------------------- */

static void
test_check_overdue (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GPtrArray) views = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_shipment_view_free);
  g_autoptr(GError) error = NULL;
  gint64 now = g_get_real_time ();
  g_autoptr(WbShipmentView) closed = NULL;

  for (guint i = 0; i < 5; i++)
    g_ptr_array_add (views, create (f, "acme", NULL));
  /* 0, 1, 2 past their promise; 2 then delivered, 3 later closed (and
   * past it), 4 still on time. */
  for (guint i = 0; i < 4; i++)
    PQclear (wb_test_pg_exec (f->conn, "UPDATE shipments SET promised_at = now() - interval '1 hour' WHERE id = $1",
                              ((WbShipmentView *) g_ptr_array_index (views, i))->id));
  PQclear (wb_test_pg_exec (f->conn, "UPDATE shipments SET status = 'DELIVERED', delivered_at = now() WHERE id = $1",
                            ((WbShipmentView *) g_ptr_array_index (views, 2))->id));
  closed = close_shipment (f, ((WbShipmentView *) g_ptr_array_index (views, 3))->id, 0, NULL, &error);
  g_assert_no_error (error);

  g_assert_cmpint (check_overdue (f), ==, 2);
  g_assert_cmpint (check_overdue (f), ==, 0);
  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT count(*) FROM shipments WHERE overdue_at IS NOT NULL", NULL), ==, 2);

  /* An event on an already flagged shipment queues no second message. */
  g_assert_cmpint (add_simple_event (f, ((WbShipmentView *) g_ptr_array_index (views, 0))->id, "e1",
                                     WB_STATUS_IN_TRANSIT, now + G_USEC_PER_SEC, NULL), ==, WB_EVENT_CREATED);

  settle (f);
  g_assert_cmpuint (count_messages (f, "shipment.delayed"), ==, 2);
  for (guint i = 0; i < f->messages->len; i++)
    {
      WbBusMessage *message = g_ptr_array_index (f->messages, i);
      g_autoptr(JsonObject) payload = message_payload (message);

      if (!g_str_equal (wb_bus_message_get_header (message, "type"), "shipment.delayed"))
        continue;
      assert_members (payload, "type shipmentId clientId promisedAt detectedAt status lateBySeconds version emittedAt");
      g_assert_cmpstr (json_object_get_string_member (payload, "shipmentId"), ==, wb_bus_message_get_key (message));
      g_assert_cmpstr (json_object_get_string_member (payload, "clientId"), ==, "acme");
    }

  /* A promise moved into the future ends the breach; the next is a new one. */
  {
    g_autoptr(WbShipmentPatch) patch = g_new0 (WbShipmentPatch, 1);
    g_autoptr(WbShipmentView) view = NULL;

    patch->has_promised_at = TRUE;
    patch->promised_at = now + HOUR_US;
    view = update (f, ((WbShipmentView *) g_ptr_array_index (views, 1))->id, 0, patch, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpint (check_overdue (f), ==, 0);
    PQclear (wb_test_pg_exec (f->conn, "UPDATE shipments SET promised_at = now() - interval '1 minute' WHERE id = $1",
                              ((WbShipmentView *) g_ptr_array_index (views, 1))->id));
    g_assert_cmpint (check_overdue (f), ==, 1);
  }
  settle (f);
  g_assert_cmpuint (count_messages (f, "shipment.delayed"), ==, 3);
}

/* ---- outbox relay -------------------------------------------------------- */

static void
test_relay_status_messages (Fixture       *f,
                            gconstpointer  data)
{
  g_autoptr(WbShipmentView) created = create (f, "acme", NULL);
  gint64 t = g_get_real_time () + G_USEC_PER_SEC;
  const char *expected[][2] = {
    { "INFO_RECEIVED", "PENDING" },
    { "IN_TRANSIT", "INFO_RECEIVED" },
    { "DELIVERED", "IN_TRANSIT" },
  };
  gint64 last_version = 1;

  add_simple_event (f, created->id, "e1", WB_STATUS_INFO_RECEIVED, t, NULL);
  add_simple_event (f, created->id, "e2", WB_STATUS_IN_TRANSIT, t + 10, NULL);
  add_simple_event (f, created->id, "e2", WB_STATUS_IN_TRANSIT, t + 10, NULL);   /* duplicate */
  add_simple_event (f, created->id, "e3", WB_STATUS_INFO_RECEIVED, t + 20, NULL); /* not applied */
  add_simple_event (f, created->id, "e4", WB_STATUS_OUT_FOR_DELIVERY, t + 5, NULL); /* older */
  add_simple_event (f, created->id, "e5", WB_STATUS_DELIVERED, t + 30, NULL);
  settle (f);

  g_assert_cmpuint (f->messages->len, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < f->messages->len; i++)
    {
      WbBusMessage *message = g_ptr_array_index (f->messages, i);
      g_autoptr(JsonObject) payload = message_payload (message);

      g_assert_cmpstr (wb_bus_message_get_topic (message), ==, "tracking.events");
      g_assert_cmpstr (wb_bus_message_get_key (message), ==, created->id);
      g_assert_cmpstr (wb_bus_message_get_header (message, "type"), ==, "shipment.status_changed");
      assert_members (payload, "type shipmentId clientId eventId source status previousStatus reason "
                               "statusRaw occurredAt zoneGuessed location version emittedAt");
      g_assert_cmpstr (json_object_get_string_member (payload, "type"), ==, "shipment.status_changed");
      g_assert_cmpstr (json_object_get_string_member (payload, "status"), ==, expected[i][0]);
      g_assert_cmpstr (json_object_get_string_member (payload, "previousStatus"), ==, expected[i][1]);
      g_assert_cmpstr (json_object_get_string_member (payload, "source"), ==, "dhl");
      g_assert_cmpstr (json_object_get_string_member (payload, "clientId"), ==, "acme");
      g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (payload, "location"), "text"),
                       ==, "Minsk");
      parse_time (json_object_get_string_member (payload, "occurredAt"));
      g_assert_cmpint (json_object_get_int_member (payload, "version"), >, last_version);
      last_version = json_object_get_int_member (payload, "version");
    }
  g_assert_cmpint (wb_outbox_relay_get_published (f->relay), ==, 3);
}

/* Rows a crashed daemon left behind go out on the sweep, in id order,
 * with nobody kicking the relay. */
static void
test_relay_sweep (Fixture       *f,
                  gconstpointer  data)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  drain_main_context ();
  PQclear (wb_test_pg_exec (f->conn,
                            "INSERT INTO outbox (topic, key, type, payload)"
                            " SELECT 'tracking.events', 'k' || i, 'shipment.delayed', json_build_object('n', i)"
                            " FROM generate_series(1, 250) AS i", NULL));

  while (f->messages->len < 250)
    {
      g_main_context_iteration (NULL, TRUE);
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
    }
  settle (f);

  g_assert_cmpuint (f->messages->len, ==, 250);
  for (guint i = 0; i < 250; i++)
    {
      g_autofree char *key = g_strdup_printf ("k%u", i + 1);

      g_assert_cmpstr (wb_bus_message_get_key (g_ptr_array_index (f->messages, i)), ==, key);
    }
}

/* A row leaves the outbox only once the bus took its message. */
static void
test_relay_keeps_unpublished (Fixture       *f,
                              gconstpointer  data)
{
  g_autoptr(WbBus) closed_bus = wb_bus_local_new (16);
  g_autoptr(WbOutboxRelay) relay = NULL;
  gint64 deadline;

  wb_outbox_relay_stop (f->relay);
  wb_bus_close (closed_bus);
  relay = wb_outbox_relay_new (f->pool, closed_bus);
  PQclear (wb_test_pg_exec (f->conn, "INSERT INTO outbox (topic, key, type, payload)"
                                     " VALUES ('tracking.events', 'k', 'shipment.delayed', '{}')", NULL));

  /* Let it try for a while: every pass fails to publish. */
  deadline = g_get_monotonic_time () + 1500 * 1000;
  while (g_get_monotonic_time () < deadline)
    iterate_briefly ();
  g_assert_cmpint (wb_test_pg_int (f->conn, "SELECT count(*) FROM outbox", NULL), ==, 1);
  g_assert_cmpint (wb_outbox_relay_get_published (relay), ==, 0);

  wb_outbox_relay_stop (relay);
}

/* Two daemons' relays on one database publish each row exactly once. */
static void
test_relay_two_relays (Fixture       *f,
                       gconstpointer  data)
{
  const char *topics[] = { WB_TOPIC_TRACKING_EVENTS, NULL };
  g_autoptr(WbDbPool) other_pool = wb_db_pool_new (f->conninfo, 2);
  g_autoptr(WbBus) other_bus = wb_bus_local_new (4096);
  g_autoptr(WbOutboxRelay) other_relay = NULL;
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  Fixture other = { .messages = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_bus_message_unref) };
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  wb_bus_subscribe (other_bus, "test", topics, 100, on_batch, &other, NULL);
  other_relay = wb_outbox_relay_new (other_pool, other_bus);
  PQclear (wb_test_pg_exec (f->conn,
                            "INSERT INTO outbox (topic, key, type, payload)"
                            " SELECT 'tracking.events', 'k' || i, 'shipment.delayed', '{}'"
                            " FROM generate_series(1, 1000) AS i", NULL));
  wb_outbox_relay_kick (f->relay);
  wb_outbox_relay_kick (other_relay);

  while (f->messages->len + other.messages->len < 1000 ||
         wb_test_pg_int (f->conn, "SELECT count(*) FROM outbox", NULL) > 0)
    {
      drain_main_context ();
      g_usleep (5000);
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
    }
  /* Anything published twice would arrive by now. */
  deadline = g_get_monotonic_time () + 200 * 1000;
  while (g_get_monotonic_time () < deadline)
    iterate_briefly ();

  g_test_message ("relay a: %u, relay b: %u", f->messages->len, other.messages->len);
  g_assert_cmpuint (f->messages->len + other.messages->len, ==, 1000);
  for (guint i = 0; i < f->messages->len; i++)
    g_assert_true (g_hash_table_add (seen, (gpointer) wb_bus_message_get_key (g_ptr_array_index (f->messages, i))));
  for (guint i = 0; i < other.messages->len; i++)
    g_assert_true (g_hash_table_add (seen, (gpointer) wb_bus_message_get_key (g_ptr_array_index (other.messages, i))));

  wb_outbox_relay_stop (other_relay);
  wb_bus_close (other_bus);
  wb_db_pool_close (other_pool);
  drain_main_context ();
  g_ptr_array_unref (other.messages);
}

/* ---- faults -------------------------------------------------------------- */

/* A database that cannot be reached is the server's problem: WB_DB_ERROR. */
static void
test_database_down (void)
{
  g_autoptr(WbDbPool) pool = wb_db_pool_new ("host=/nonexistent/waybill dbname=none", 1);
  g_autoptr(GError) error = NULL;
  g_autoptr(WbSlaTable) sla = wb_sla_table_new_from_data (SLA_CONF, &error);
  g_autoptr(WbShipmentStore) store = wb_shipment_store_new (pool, sla);
  g_autoptr(WbShipmentDraft) draft = draft_new ("acme", "express", NULL, NULL, NULL);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(WbShipmentView) view = NULL;

  g_assert_no_error (error);
  wb_shipment_store_create_async (store, draft, NULL, store_result, &result);
  wait_for (&result);
  view = wb_shipment_store_create_finish (store, result, &error);
  g_assert_null (view);
  g_assert_true (error->domain == WB_DB_ERROR);
  wb_db_pool_close (pool);
  drain_main_context ();
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func) g_test_add ("/shipment-store/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("create/view", test_create_view);
  ADD ("create/promised-at-wins", test_create_promised_at_wins);
  ADD ("create/invalid", test_create_invalid);
  ADD ("get/not-found", test_get_not_found);
  ADD ("view/same-everywhere", test_view_same_everywhere);
  ADD ("update/fields", test_update_fields);
  ADD ("update/versions", test_update_versions);
  ADD ("update/concurrent", test_update_concurrent);
  ADD ("close", test_close);
  ADD ("events/duplicate", test_events_duplicate);
  ADD ("events/duplicate-concurrent", test_events_duplicate_concurrent);
  ADD ("events/milestones", test_events_milestones);
  ADD ("events/before-creation", test_events_before_creation);
  ADD ("events/same-status", test_events_same_status);
  ADD ("events/by-tracking", test_events_by_tracking);
  ADD ("events/batch-failures", test_events_batch_failures);
  ADD ("events/batch-1000", test_events_batch_1000);
  ADD ("events/delivered-late", test_events_delivered_late);
  ADD ("events/late-delivery-breach", test_events_late_delivery_breach);
  ADD ("events/implausible-times", test_events_implausible_times);
  ADD ("events/eta-and-sla-states", test_events_eta_and_sla_states);
  ADD ("events/batch-same-as-one-by-one", test_events_batch_same_as_one_by_one);
  ADD ("events/batch-item-checks", test_events_batch_item_checks);
  ADD ("events/batch-opposite-orders", test_events_batch_opposite_orders);
  ADD ("events/duplicate-race-replans", test_events_duplicate_race_replans);
  ADD ("changed-signal", test_changed_signal);
  ADD ("get/version-and-event", test_get_version_and_event);
  ADD ("view/expires", test_view_expires);
  ADD ("history", test_history);
  ADD ("search/filters", test_search_filters);
  ADD ("search/invalid", test_search_invalid);
  ADD ("search/indexes", test_search_indexes);
  ADD ("sla/check-overdue", test_check_overdue);
  ADD ("relay/status-messages", test_relay_status_messages);
  ADD ("relay/sweep", test_relay_sweep);
  ADD ("relay/keeps-unpublished", test_relay_keeps_unpublished);
  ADD ("relay/two-relays", test_relay_two_relays);
#undef ADD
  g_test_add_func ("/shipment-store/errors/database-down", test_database_down);

  return g_test_run ();
}
