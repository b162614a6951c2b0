// SPDX-License-Identifier: GPL-3.0-or-later
/* Fleet reference data: the message decoders (against the shipped JSON
 * Schemas), the store and its index on a real PostgreSQL (last writer wins,
 * a restart rebuilds the index, enrichment follows re-assignments, device
 * tokens, quarantine, first appearance decided once), and the REST
 * resources end to end on a real socket. */

#include "config.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "wb-fleet-api.h"
#include "wb-fleet-index-private.h"
#include "wb-openapi.h"
#include "wb-fleet-store.h"
#include "wb-migrations.h"
#include "wb-test-pg.h"
#include "wb-test-server-thread.h"

#define SECRET "0123456789abcdef0123456789abcdef-test"

/* ---- the database ------------------------------------------------------------- */

static char *
create_database (void)
{
  char *conninfo = wb_test_pg_create_database ("fleet");
  g_autoptr(GError) error = NULL;
  g_autoptr(PGconn) conn = wb_db_connect (conninfo, &error);

  g_assert_no_error (error);
  wb_migrations_apply (conn, NULL, &error);
  g_assert_no_error (error);
  return conninfo;
}

/* Runs @statement (one text parameter at most) and checks its one value;
 * @expected NULL means SQL NULL. */
static void
assert_sql (const char *conninfo,
            const char *statement,
            const char *param,
            const char *expected)
{
  const char *params[] = { param };
  g_autoptr(GError) error = NULL;
  g_autoptr(PGconn) conn = wb_db_connect (conninfo, &error);
  g_autoptr(PGresult) result = NULL;

  g_assert_no_error (error);
  result = wb_db_exec (conn, statement, params, param ? 1 : 0, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (PQntuples (result), ==, 1);
  g_assert_cmpstr (PQgetisnull (result, 0, 0) ? NULL : PQgetvalue (result, 0, 0), ==, expected);
}

/* A member of a JSON object's text, as a string ("true" for booleans). */
static char *
json_member (const char *json,
             const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) root = json_from_string (json, &error);
  JsonNode *node;

  g_assert_no_error (error);
  node = json_object_get_member (json_node_get_object (root), name);
  g_assert_nonnull (node);
  if (JSON_NODE_HOLDS_NULL (node))
    return NULL;
  if (json_node_get_value_type (node) == G_TYPE_BOOLEAN)
    return g_strdup (json_node_get_boolean (node) ? "true" : "false");
  if (json_node_get_value_type (node) == G_TYPE_INT64)
    return g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
  return g_strdup (json_node_get_string (node));
}

static void
assert_member (const char *json,
               const char *name,
               const char *expected)
{
  g_autofree char *value = json_member (json, name);

  g_assert_cmpstr (value, ==, expected);
}

/* ---- updates -------------------------------------------------------------------- */

static WbFleetUpdate *
company_update (const char *id,
                const char *name,
                gint64      version)
{
  WbFleetUpdate *update = wb_fleet_update_new (WB_FLEET_KIND_COMPANY, id);

  update->name = g_strdup (name);
  update->version = version;
  return update;
}

static WbFleetUpdate *
driver_update (const char *id,
               const char *name,
               const char *company_id,
               gint64      version)
{
  WbFleetUpdate *update = wb_fleet_update_new (WB_FLEET_KIND_DRIVER, id);

  update->name = g_strdup (name);
  update->company_id = g_strdup (company_id);
  update->version = version;
  return update;
}

static WbFleetUpdate *
vehicle_update (const char *id,
                const char *plate,
                const char *company_id,
                const char *driver_id,
                gint64      version)
{
  WbFleetUpdate *update = wb_fleet_update_new (WB_FLEET_KIND_VEHICLE, id);

  update->plate = g_strdup (plate);
  update->company_id = g_strdup (company_id);
  update->driver_id = g_strdup (driver_id);
  update->group_id = g_strdup ("north");
  update->tariff_id = g_strdup ("standard");
  update->version = version;
  return update;
}

static WbFleetUpdate *
device_update (const char *id,
               const char *vehicle_id,
               const char *token,
               gint64      version)
{
  WbFleetUpdate *update = wb_fleet_update_new (WB_FLEET_KIND_DEVICE, id);

  update->vehicle_id = g_strdup (vehicle_id);
  update->has_token = TRUE;
  update->token = g_strdup (token);
  update->version = version;
  return update;
}

/* ---- messages ------------------------------------------------------------------- */

static GBytes *
bytes (const char *text)
{
  return g_bytes_new (text, strlen (text));
}

static WbFleetUpdate *
decode (const char  *topic,
        const char  *payload,
        GError     **error)
{
  g_autoptr(GBytes) body = bytes (payload);

  return wb_fleet_update_from_message (topic, body, error);
}

static void
test_message_valid (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(WbFleetUpdate) vehicle = NULL;
  g_autoptr(WbFleetUpdate) driver = NULL;
  g_autoptr(WbFleetUpdate) company = NULL;
  g_autoptr(WbFleetUpdate) again = NULL;
  g_autofree char *encoded = NULL;
  g_autoptr(GBytes) encoded_bytes = NULL;
  const char *topic = NULL;

  vehicle = decode (WB_TOPIC_VEHICLE_UPDATED,
                    "{\"vehicle_id\":\"v1\",\"plate\":\"1234 AB-7\",\"company_id\":\"c1\",\"driver_id\":\"d1\","
                    "\"group_id\":\"north\",\"tariff_id\":\"t2\",\"version\":7,"
                    "\"updated_at\":\"2026-11-20T10:00:00.250+03:00\"}", &error);
  g_assert_no_error (error);
  g_assert_cmpint (vehicle->kind, ==, WB_FLEET_KIND_VEHICLE);
  g_assert_cmpstr (vehicle->id, ==, "v1");
  g_assert_cmpstr (vehicle->plate, ==, "1234 AB-7");
  g_assert_cmpstr (vehicle->company_id, ==, "c1");
  g_assert_cmpstr (vehicle->driver_id, ==, "d1");
  g_assert_cmpstr (vehicle->group_id, ==, "north");
  g_assert_cmpstr (vehicle->tariff_id, ==, "t2");
  g_assert_cmpint (vehicle->version, ==, 7);
  /* 07:00:00.250 UTC */
  g_assert_cmpint (vehicle->updated_at, ==, G_GINT64_CONSTANT (1795158000250000));

  driver = decode (WB_TOPIC_DRIVER_UPDATED,
                   "{\"driver_id\":\"d1\",\"name\":\"Ivan Petrov\",\"phone\":\"+375291234567\","
                   "\"company_id\":\"c1\",\"version\":2,\"licence\":\"B\"}", &error);
  g_assert_no_error (error);
  g_assert_cmpint (driver->kind, ==, WB_FLEET_KIND_DRIVER);
  g_assert_cmpstr (driver->name, ==, "Ivan Petrov");
  g_assert_cmpstr (driver->phone, ==, "+375291234567");
  g_assert_cmpstr (driver->company_id, ==, "c1");
  g_assert_cmpint (driver->updated_at, ==, 0);

  /* Optional members may be null or empty: both mean none. */
  company = decode (WB_TOPIC_COMPANY_UPDATED, "{\"company_id\":\"c1\",\"name\":\"Acme\",\"version\":1,"
                                              "\"updated_at\":null}", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (company->name, ==, "Acme");
  g_clear_pointer (&driver, wb_fleet_update_free);
  driver = decode (WB_TOPIC_DRIVER_UPDATED, "{\"driver_id\":\"d2\",\"name\":\"Ann\",\"phone\":\"\","
                                            "\"company_id\":null,\"version\":1}", &error);
  g_assert_no_error (error);
  g_assert_null (driver->phone);
  g_assert_null (driver->company_id);

  /* What the encoder writes, the decoder reads back. */
  encoded = wb_fleet_update_to_message (vehicle, &topic);
  g_assert_cmpstr (topic, ==, WB_TOPIC_VEHICLE_UPDATED);
  encoded_bytes = bytes (encoded);
  again = wb_fleet_update_from_message (topic, encoded_bytes, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (again->plate, ==, vehicle->plate);
  g_assert_cmpstr (again->tariff_id, ==, vehicle->tariff_id);
  g_assert_cmpint (again->version, ==, vehicle->version);
  g_assert_cmpint (again->updated_at, ==, vehicle->updated_at);
}

static void
assert_invalid (const char *topic,
                const char *payload,
                const char *field)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(WbFleetUpdate) update = decode (topic, payload, &error);
  g_autofree char *prefix = g_strconcat (field, ": ", NULL);

  if (update != NULL)
    g_error ("%s on %s: decoded, but should have been refused for %s", payload, topic, field);
  g_assert_true (error->domain == WB_FLEET_ERROR || error->domain == WB_JSON_ERROR);
  if (g_error_matches (error, WB_JSON_ERROR, WB_JSON_ERROR_FIELD) && !g_str_equal (field, "body"))
    g_assert_cmpstr (wb_json_error_get_field (error), ==, field);
  if (!g_str_has_prefix (error->message, prefix))
    g_error ("%s: expected an error naming %s, got: %s", payload, field, error->message);
}

static void
test_message_invalid (void)
{
  const char *vehicle = WB_TOPIC_VEHICLE_UPDATED;

  assert_invalid ("telemetry.raw", "{\"vehicle_id\":\"v1\",\"plate\":\"P\",\"version\":1}", "topic");
  assert_invalid (vehicle, "", "body");
  assert_invalid (vehicle, "{\"vehicle_id\":", "body");
  assert_invalid (vehicle, "[1,2]", "body");
  assert_invalid (vehicle, "\"v1\"", "body");
  assert_invalid (vehicle, "{\"vehicle_id\":\"v 1\",\"plate\":\"P\",\"version\":1}", "vehicle_id");
  assert_invalid (vehicle, "{\"vehicle_id\":42,\"plate\":\"P\",\"version\":1}", "vehicle_id");
  assert_invalid (vehicle, "{\"vehicle_id\":\"v1\",\"plate\":7,\"version\":1}", "plate");
  assert_invalid (vehicle, "{\"vehicle_id\":\"v1\",\"plate\":\"P\",\"version\":0}", "version");
  assert_invalid (vehicle, "{\"vehicle_id\":\"v1\",\"plate\":\"P\",\"version\":-3}", "version");
  assert_invalid (vehicle, "{\"vehicle_id\":\"v1\",\"plate\":\"P\",\"version\":1.5}", "version");
  assert_invalid (vehicle, "{\"vehicle_id\":\"v1\",\"plate\":\"P\",\"version\":\"2\"}", "version");
  assert_invalid (vehicle, "{\"vehicle_id\":\"v1\",\"plate\":\"P\",\"version\":1,\"driver_id\":\"d/1\"}", "driver_id");
  assert_invalid (vehicle, "{\"vehicle_id\":\"v1\",\"plate\":\"P\",\"version\":1,\"group_id\":true}", "group_id");
  assert_invalid (vehicle, "{\"vehicle_id\":\"v1\",\"plate\":\"P\",\"version\":1,"
                           "\"updated_at\":\"2026-11-20 10:00:00\"}", "updated_at");
  assert_invalid (vehicle, "{\"vehicle_id\":\"v1\",\"plate\":\"P\",\"version\":1,"
                           "\"updated_at\":\"yesterday\"}", "updated_at");
  assert_invalid (WB_TOPIC_DRIVER_UPDATED, "{\"driver_id\":\"d1\",\"name\":\"   \",\"version\":1}", "name");
  assert_invalid (WB_TOPIC_COMPANY_UPDATED, "{\"company_id\":\"\",\"name\":\"Acme\",\"version\":1}", "company_id");
}

static JsonObject *
schema_of (const char *topic,
           JsonNode  **out_root)
{
  g_autofree char *file_name = g_strconcat (topic, ".schema.json", NULL);
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "..", "data", "schemas", file_name, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  *out_root = json_from_string (text, &error);
  g_assert_no_error (error);
  return json_node_get_object (*out_root);
}

static char *
without_member (const char *payload,
                const char *name)
{
  g_autoptr(JsonNode) root = json_from_string (payload, NULL);

  json_object_remove_member (json_node_get_object (root), name);
  return json_to_string (root, FALSE);
}

/* For each topic, the schema's "required" members are exactly the ones the
 * decoder cannot do without, and it accepts a body with only those. */
static void
test_message_missing (void)
{
  const struct { const char *topic; const char *full; } cases[] = {
    { WB_TOPIC_COMPANY_UPDATED,
      "{\"company_id\":\"c1\",\"name\":\"Acme\",\"version\":3,\"updated_at\":\"2026-11-20T10:00:00Z\"}" },
    { WB_TOPIC_DRIVER_UPDATED,
      "{\"driver_id\":\"d1\",\"name\":\"Ivan\",\"phone\":\"+375291234567\",\"company_id\":\"c1\",\"version\":3,"
      "\"updated_at\":\"2026-11-20T10:00:00Z\"}" },
    { WB_TOPIC_VEHICLE_UPDATED,
      "{\"vehicle_id\":\"v1\",\"plate\":\"P-1\",\"company_id\":\"c1\",\"driver_id\":\"d1\",\"group_id\":\"g\","
      "\"tariff_id\":\"t\",\"version\":3,\"updated_at\":\"2026-11-20T10:00:00Z\"}" },
  };

  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_autoptr(JsonNode) root = NULL;
      JsonObject *schema = schema_of (cases[c].topic, &root);
      JsonArray *required = json_object_get_array_member (schema, "required");
      g_autoptr(GList) properties = json_object_get_members (json_object_get_object_member (schema, "properties"));
      g_autoptr(JsonNode) full = json_from_string (cases[c].full, NULL);
      g_autoptr(GError) error = NULL;
      g_autoptr(WbFleetUpdate) minimal = NULL;
      g_autoptr(JsonObject) only_required = json_object_new ();
      g_autofree char *minimal_text = NULL;
      g_autoptr(JsonNode) minimal_node = json_node_new (JSON_NODE_OBJECT);

      /* The example carries every member the schema lists. */
      g_assert_cmpuint (g_list_length (properties), ==, json_object_get_size (json_node_get_object (full)));
      for (guint i = 0; i < json_array_get_length (required); i++)
        {
          const char *name = json_array_get_string_element (required, i);
          g_autofree char *payload = without_member (cases[c].full, name);

          assert_invalid (cases[c].topic, payload, name);
          json_object_set_member (only_required, name,
                                  json_node_copy (json_object_get_member (json_node_get_object (full), name)));
        }
      for (GList *l = properties; l != NULL; l = l->next)
        {
          g_autofree char *payload = NULL;
          g_autoptr(WbFleetUpdate) update = NULL;
          gboolean is_required = FALSE;

          for (guint i = 0; i < json_array_get_length (required); i++)
            is_required |= g_str_equal (json_array_get_string_element (required, i), l->data);
          if (is_required)
            continue;
          payload = without_member (cases[c].full, l->data);
          update = decode (cases[c].topic, payload, &error);
          g_assert_no_error (error);
          g_assert_nonnull (update);
        }

      json_node_set_object (minimal_node, only_required);
      minimal_text = json_to_string (minimal_node, FALSE);
      minimal = decode (cases[c].topic, minimal_text, &error);
      g_assert_no_error (error);
      g_assert_cmpint (minimal->version, ==, 3);
    }
}

static void
test_id_alphabet (void)
{
  g_autofree char *longest = g_strnfill (WB_FLEET_ID_MAX_LENGTH, 'a');
  g_autofree char *too_long = g_strnfill (WB_FLEET_ID_MAX_LENGTH + 1, 'a');

  g_assert_true (wb_fleet_id_is_valid ("v1"));
  g_assert_true (wb_fleet_id_is_valid ("356307042441013"));
  g_assert_true (wb_fleet_id_is_valid ("org:acme.fleet_7-b"));
  g_assert_true (wb_fleet_id_is_valid (longest));
  g_assert_false (wb_fleet_id_is_valid (too_long));
  g_assert_false (wb_fleet_id_is_valid (""));
  g_assert_false (wb_fleet_id_is_valid (NULL));
  g_assert_false (wb_fleet_id_is_valid ("a b"));
  g_assert_false (wb_fleet_id_is_valid ("a/b"));
  g_assert_false (wb_fleet_id_is_valid ("Ж"));
}

/* ---- the store ------------------------------------------------------------------- */

typedef struct
{
  char         *conninfo;
  WbDbPool     *pool;
  WbFleetIndex *index;
  WbFleetStore *store;
} StoreFixture;

static void
store_set_up (StoreFixture  *f,
              gconstpointer  data)
{
  f->conninfo = create_database ();
  f->pool = wb_db_pool_new (f->conninfo, 8);
  f->index = wb_fleet_index_new ();
  f->store = wb_fleet_store_new (f->pool, f->index);
}

static void
store_tear_down (StoreFixture  *f,
                 gconstpointer  data)
{
  wb_db_pool_close (f->pool);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_clear_object (&f->store);
  g_clear_object (&f->index);
  g_clear_object (&f->pool);
  g_free (f->conninfo);
}

static void
keep_result (GObject      *source,
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

static WbFleetApplyResult *
apply (WbFleetStore   *store,
       WbFleetUpdate  *update)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(WbFleetUpdate) owned = update;
  WbFleetApplyResult *applied;

  wb_fleet_store_apply_async (store, owned, NULL, keep_result, &result);
  wait_for (&result);
  applied = wb_fleet_store_apply_finish (store, result, &error);
  g_assert_no_error (error);
  return applied;
}

/* Applies @update and checks the outcome. */
static void
apply_expect (WbFleetStore  *store,
              WbFleetUpdate *update,
              gboolean       applied,
              gint64         version)
{
  g_autoptr(WbFleetApplyResult) result = apply (store, update);

  g_assert_cmpint (result->applied, ==, applied);
  g_assert_cmpint (result->version, ==, version);
}

static void
load (WbFleetStore *store)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  wb_fleet_store_load_async (store, NULL, keep_result, &result);
  wait_for (&result);
  g_assert_true (wb_fleet_store_load_finish (store, result, &error));
  g_assert_no_error (error);
}

static char *
get_json (WbFleetStore *store,
          WbFleetKind   kind,
          const char   *id,
          GError      **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  wb_fleet_store_get_async (store, kind, id, NULL, keep_result, &result);
  wait_for (&result);
  return wb_fleet_store_get_finish (store, result, error);
}

static gboolean
device_seen (WbFleetStore *store,
             const char   *device_id)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  gboolean first = FALSE;

  wb_fleet_store_device_seen_async (store, device_id, NULL, keep_result, &result);
  wait_for (&result);
  g_assert_true (wb_fleet_store_device_seen_finish (store, result, &first, &error));
  g_assert_no_error (error);
  return first;
}

static const char *
plate_of (WbFleetIndex *index,
          const char   *vehicle_id)
{
  g_autoptr(WbFleetEnrichment) enrichment = wb_fleet_index_lookup_vehicle (index, vehicle_id);
  static char plate[64];

  g_assert_nonnull (enrichment);
  g_strlcpy (plate, enrichment->plate, sizeof plate);
  return plate;
}

static void
test_last_writer_wins (StoreFixture  *f,
                       gconstpointer  data)
{
  g_autofree char *json = NULL;
  g_autoptr(GError) error = NULL;

  apply_expect (f->store, vehicle_update ("v1", "P-1", "c1", NULL, 1), TRUE, 1);
  apply_expect (f->store, vehicle_update ("v1", "P-2", "c1", NULL, 2), TRUE, 2);
  /* Older, then equal: ignored, and the stored version is reported. */
  apply_expect (f->store, vehicle_update ("v1", "P-old", "c1", NULL, 1), FALSE, 2);
  apply_expect (f->store, vehicle_update ("v1", "P-same", "c1", NULL, 2), FALSE, 2);
  g_assert_cmpstr (plate_of (f->index, "v1"), ==, "P-2");
  /* Version 0 (REST without one): stored + 1. */
  apply_expect (f->store, vehicle_update ("v1", "P-rest", "c1", NULL, 0), TRUE, 3);
  g_assert_cmpstr (plate_of (f->index, "v1"), ==, "P-rest");
  /* A message that was older than the REST write loses; a newer one wins. */
  apply_expect (f->store, vehicle_update ("v1", "P-bus-3", "c1", NULL, 3), FALSE, 3);
  apply_expect (f->store, vehicle_update ("v1", "P-bus-10", "c1", NULL, 10), TRUE, 10);
  g_assert_cmpstr (plate_of (f->index, "v1"), ==, "P-bus-10");

  json = get_json (f->store, WB_FLEET_KIND_VEHICLE, "v1", &error);
  g_assert_no_error (error);
  assert_member (json, "plate", "P-bus-10");
  assert_member (json, "version", "10");
  assert_sql (f->conninfo, "SELECT version::text FROM vehicles WHERE id = $1", "v1", "10");

  /* Each kind follows the same rule. */
  apply_expect (f->store, company_update ("c1", "Acme", 5), TRUE, 5);
  apply_expect (f->store, company_update ("c1", "Acme old", 4), FALSE, 5);
  apply_expect (f->store, driver_update ("d1", "Ivan", "c1", 2), TRUE, 2);
  apply_expect (f->store, driver_update ("d1", "Ivan old", "c1", 2), FALSE, 2);
  apply_expect (f->store, device_update ("imei-1", "v1", NULL, 3), TRUE, 3);
  apply_expect (f->store, device_update ("imei-1", "v2", NULL, 1), FALSE, 3);
}

typedef struct
{
  guint          pending;
  guint          applied;
} Concurrent;

static void
on_concurrent_applied (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  Concurrent *concurrent = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(WbFleetApplyResult) applied = wb_fleet_store_apply_finish (WB_FLEET_STORE (source), result, &error);

  g_assert_no_error (error);
  concurrent->applied += applied->applied;
  concurrent->pending--;
}

static void
apply_all_at_once (WbFleetStore *store,
                   GPtrArray    *updates,
                   Concurrent   *concurrent)
{
  concurrent->pending = updates->len;
  concurrent->applied = 0;
  for (guint i = 0; i < updates->len; i++)
    wb_fleet_store_apply_async (store, g_ptr_array_index (updates, i), NULL, on_concurrent_applied, concurrent);
  while (concurrent->pending > 0)
    g_main_context_iteration (NULL, TRUE);
}

#define N_CONCURRENT 24

/* Whatever order concurrent writes commit in, the highest version ends up
 * in the table and in the index. */
static void
test_concurrent (StoreFixture  *f,
                 gconstpointer  data)
{
  g_autoptr(GPtrArray) updates = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_fleet_update_free);
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  Concurrent concurrent;

  for (guint v = 1; v <= N_CONCURRENT; v++)
    {
      g_autofree char *plate = g_strdup_printf ("P-%u", v);

      g_ptr_array_add (updates, vehicle_update ("v1", plate, NULL, NULL, v));
    }
  for (guint i = updates->len - 1; i > 0; i--)
    {
      guint j = g_rand_int_range (rand, 0, i + 1);
      gpointer swap = updates->pdata[i];

      updates->pdata[i] = updates->pdata[j];
      updates->pdata[j] = swap;
    }
  apply_all_at_once (f->store, updates, &concurrent);
  g_assert_cmpuint (concurrent.applied, >=, 1);
  assert_sql (f->conninfo, "SELECT plate || '/' || version FROM vehicles WHERE id = $1", "v1", "P-24/24");
  g_assert_cmpstr (plate_of (f->index, "v1"), ==, "P-24");

  /* Writes without a version each add one: none is lost. */
  g_ptr_array_set_size (updates, 0);
  for (guint i = 0; i < 10; i++)
    g_ptr_array_add (updates, company_update ("c1", "Acme", 0));
  apply_all_at_once (f->store, updates, &concurrent);
  g_assert_cmpuint (concurrent.applied, ==, 10);
  assert_sql (f->conninfo, "SELECT version::text FROM companies WHERE id = $1", "c1", "10");
}

static void
populate (WbFleetStore *store)
{
  g_autoptr(WbFleetUpdate) quarantined = device_update ("imei-q", NULL, NULL, 1);

  quarantined->quarantined = TRUE;
  apply_expect (store, company_update ("c1", "Acme Logistics", 1), TRUE, 1);
  apply_expect (store, company_update ("c2", "Beta Freight", 1), TRUE, 1);
  apply_expect (store, driver_update ("d1", "Ivan Petrov", "c1", 1), TRUE, 1);
  apply_expect (store, vehicle_update ("v1", "1234 AB-7", "c2", "d1", 1), TRUE, 1);
  apply_expect (store, vehicle_update ("v2", "5678 CD-1", "c2", NULL, 1), TRUE, 1);
  apply_expect (store, device_update ("356307042441013", "v1", "s3cret", 1), TRUE, 1);
  apply_expect (store, device_update ("phone-7", "v2", NULL, 1), TRUE, 1);
  apply_expect (store, g_steal_pointer (&quarantined), TRUE, 1);
}

static void
assert_enrichment (WbFleetEnrichment *enrichment,
                   const char        *vehicle_id,
                   const char        *plate,
                   const char        *driver_name,
                   const char        *company_id,
                   const char        *company_name)
{
  g_assert_nonnull (enrichment);
  g_assert_cmpstr (enrichment->vehicle_id, ==, vehicle_id);
  g_assert_cmpstr (enrichment->plate, ==, plate);
  g_assert_cmpstr (enrichment->driver_name, ==, driver_name);
  g_assert_cmpstr (enrichment->company_id, ==, company_id);
  g_assert_cmpstr (enrichment->company_name, ==, company_name);
}

static void
assert_populated (WbFleetIndex *index)
{
  g_autoptr(WbFleetEnrichment) by_imei = wb_fleet_index_lookup_device (index, "356307042441013");
  g_autoptr(WbFleetEnrichment) by_phone = wb_fleet_index_lookup_device (index, "phone-7");
  gboolean quarantined = TRUE;
  guint companies, drivers, vehicles, devices;

  /* v1's driver works for c1: the driver's company wins over the vehicle's. */
  assert_enrichment (by_imei, "v1", "1234 AB-7", "Ivan Petrov", "c1", "Acme Logistics");
  g_assert_cmpstr (by_imei->driver_id, ==, "d1");
  g_assert_cmpstr (by_imei->group_id, ==, "north");
  g_assert_cmpstr (by_imei->tariff_id, ==, "standard");
  assert_enrichment (by_phone, "v2", "5678 CD-1", NULL, "c2", "Beta Freight");
  g_assert_true (wb_fleet_index_check_device (index, "356307042441013", "s3cret", &quarantined));
  g_assert_false (quarantined);
  g_assert_true (wb_fleet_index_check_device (index, "imei-q", NULL, &quarantined));
  g_assert_true (quarantined);
  wb_fleet_index_get_counts (index, &companies, &drivers, &vehicles, &devices);
  g_assert_cmpuint (companies, ==, 2);
  g_assert_cmpuint (drivers, ==, 1);
  g_assert_cmpuint (vehicles, ==, 2);
  g_assert_cmpuint (devices, ==, 3);
}

/* A restart: a new index filled from the tables alone knows what the old
 * one knew. */
static void
test_restart (StoreFixture  *f,
              gconstpointer  data)
{
  g_autoptr(WbFleetIndex) index = wb_fleet_index_new ();
  g_autoptr(WbFleetStore) store = wb_fleet_store_new (f->pool, index);
  guint vehicles = 99;

  populate (f->store);
  assert_populated (f->index);

  wb_fleet_index_get_counts (index, NULL, NULL, &vehicles, NULL);
  g_assert_cmpuint (vehicles, ==, 0);
  g_assert_null (wb_fleet_index_lookup_device (index, "phone-7"));
  load (store);
  assert_populated (index);
  /* Loading again changes nothing. */
  load (store);
  assert_populated (index);

  /* A later write through the old store does not reach the new index, but
   * a load picks it up, and a load never puts an older state back. */
  apply_expect (f->store, vehicle_update ("v2", "NEW-1", "c2", NULL, 2), TRUE, 2);
  g_assert_cmpstr (plate_of (index, "v2"), ==, "5678 CD-1");
  load (store);
  g_assert_cmpstr (plate_of (index, "v2"), ==, "NEW-1");
}

static char *
trip_of_device (WbFleetIndex *index,
                const char   *device_id)
{
  g_autoptr(WbFleetEnrichment) enrichment = wb_fleet_index_lookup_device (index, device_id);

  g_assert_nonnull (enrichment);
  return g_strdup (enrichment->trip_id);
}

static void
put_trip (WbFleetIndex *index,
          const char   *trip_id,
          const char   *vehicle_id)
{
  WbFleetTripRow row = { trip_id, vehicle_id };

  _wb_fleet_index_put_trips (index, &row, 1, FALSE);
}

#define assert_trip(index, device, expected) \
  G_STMT_START { \
    g_autofree char *trip_ = trip_of_device ((index), (device)); \
    g_assert_cmpstr (trip_, ==, (expected)); \
  } G_STMT_END

/* Each vehicle's IN_TRANSIT trip rides in its enrichment: put, moved to
 * another vehicle, overlapped by another trip's start, dropped, and
 * replaced wholesale by a load; a snapshot in hand keeps its trip. */
static void
test_index_trips (StoreFixture  *f,
                  gconstpointer  data)
{
  g_autoptr(WbFleetEnrichment) held = NULL;
  const WbFleetTripRow loaded[] = { { "t9", "v2" } };
  g_autofree char *by_vehicle = NULL;

  populate (f->store);
  apply_expect (f->store, device_update ("dev-early", "v7", NULL, 1), TRUE, 1);
  assert_trip (f->index, "356307042441013", NULL);

  put_trip (f->index, "t1", "v1");
  assert_trip (f->index, "356307042441013", "t1");
  assert_trip (f->index, "phone-7", NULL);
  held = wb_fleet_index_lookup_device (f->index, "356307042441013");
  by_vehicle = wb_fleet_index_lookup_trip (f->index, "v1");
  g_assert_cmpstr (by_vehicle, ==, "t1");

  /* Reassigned to v2. */
  put_trip (f->index, "t1", "v2");
  assert_trip (f->index, "356307042441013", NULL);
  assert_trip (f->index, "phone-7", "t1");
  g_assert_cmpstr (held->trip_id, ==, "t1");

  /* v1's next trip read before... */
  put_trip (f->index, "t2", "v1");
  assert_trip (f->index, "356307042441013", "t2");
  /* ...a trip already gone from it ends: t2 stays. */
  put_trip (f->index, "t0", NULL);
  put_trip (f->index, "t1", NULL);
  assert_trip (f->index, "356307042441013", "t2");
  assert_trip (f->index, "phone-7", NULL);

  /* A device whose vehicle is not described yet gets its trip too. */
  put_trip (f->index, "t7", "v7");
  assert_trip (f->index, "dev-early", "t7");

  /* A load is the whole truth: what it lacks is gone. */
  _wb_fleet_index_put_trips (f->index, loaded, G_N_ELEMENTS (loaded), TRUE);
  assert_trip (f->index, "356307042441013", NULL);
  assert_trip (f->index, "phone-7", "t9");
  assert_trip (f->index, "dev-early", NULL);

  /* A later change of the vehicle keeps its trip. */
  apply_expect (f->store, vehicle_update ("v2", "5678 CD-9", "c2", NULL, 2), TRUE, 2);
  assert_trip (f->index, "phone-7", "t9");
}

/* Enrichment follows every re-assignment, and a snapshot in hand never
 * changes under its holder. */
static void
test_reassignments (StoreFixture  *f,
                    gconstpointer  data)
{
  g_autoptr(WbFleetEnrichment) before = NULL;
  g_autoptr(WbFleetEnrichment) after = NULL;
  g_autoptr(WbFleetEnrichment) early = NULL;

  populate (f->store);
  before = wb_fleet_index_lookup_device (f->index, "356307042441013");

  /* The driver moves to c2: the vehicle's positions go with them. */
  apply_expect (f->store, driver_update ("d1", "Ivan Petrov", "c2", 2), TRUE, 2);
  after = wb_fleet_index_lookup_device (f->index, "356307042441013");
  assert_enrichment (after, "v1", "1234 AB-7", "Ivan Petrov", "c2", "Beta Freight");
  assert_enrichment (before, "v1", "1234 AB-7", "Ivan Petrov", "c1", "Acme Logistics");
  g_clear_pointer (&after, wb_fleet_enrichment_unref);

  /* The company is renamed. */
  apply_expect (f->store, company_update ("c2", "Beta Freight Ltd", 2), TRUE, 2);
  after = wb_fleet_index_lookup_device (f->index, "356307042441013");
  g_assert_cmpstr (after->company_name, ==, "Beta Freight Ltd");
  g_clear_pointer (&after, wb_fleet_enrichment_unref);
  after = wb_fleet_index_lookup_device (f->index, "phone-7");
  g_assert_cmpstr (after->company_name, ==, "Beta Freight Ltd");
  g_clear_pointer (&after, wb_fleet_enrichment_unref);

  /* The vehicle gets a driver nobody has described yet, and moves to c1:
   * with no driver company known, the vehicle's own applies. */
  apply_expect (f->store, vehicle_update ("v1", "1234 AB-7", "c1", "d9", 2), TRUE, 2);
  after = wb_fleet_index_lookup_device (f->index, "356307042441013");
  assert_enrichment (after, "v1", "1234 AB-7", NULL, "c1", "Acme Logistics");
  g_assert_cmpstr (after->driver_id, ==, "d9");
  g_clear_pointer (&after, wb_fleet_enrichment_unref);
  apply_expect (f->store, driver_update ("d9", "Olga", NULL, 1), TRUE, 1);
  after = wb_fleet_index_lookup_device (f->index, "356307042441013");
  assert_enrichment (after, "v1", "1234 AB-7", "Olga", "c1", "Acme Logistics");
  g_clear_pointer (&after, wb_fleet_enrichment_unref);

  /* The tracker moves to another vehicle. */
  apply_expect (f->store, device_update ("356307042441013", "v2", "s3cret", 2), TRUE, 2);
  after = wb_fleet_index_lookup_device (f->index, "356307042441013");
  g_assert_cmpstr (after->vehicle_id, ==, "v2");
  g_clear_pointer (&after, wb_fleet_enrichment_unref);

  /* A device whose vehicle has not been described: the vehicle id alone;
   * once it is, everything. */
  apply_expect (f->store, device_update ("dev-early", "v7", NULL, 1), TRUE, 1);
  early = wb_fleet_index_lookup_device (f->index, "dev-early");
  assert_enrichment (early, "v7", NULL, NULL, NULL, NULL);
  apply_expect (f->store, vehicle_update ("v7", "777", "c2", NULL, 1), TRUE, 1);
  after = wb_fleet_index_lookup_device (f->index, "dev-early");
  assert_enrichment (after, "v7", "777", NULL, "c2", "Beta Freight Ltd");
  g_assert_null (wb_fleet_index_lookup_device (f->index, "nobody"));
  g_assert_null (wb_fleet_index_lookup_vehicle (f->index, "v404"));
}

static void
test_device_token (StoreFixture  *f,
                   gconstpointer  data)
{
  g_autoptr(WbFleetUpdate) keep = device_update ("356307042441013", "v2", NULL, 2);
  g_autoptr(WbFleetUpdate) clear = device_update ("356307042441013", "v2", NULL, 3);
  g_autofree char *expected_hash = g_compute_checksum_for_string (G_CHECKSUM_SHA256, "s3cret", -1);
  gboolean quarantined = TRUE;
  WbFleetIndex *index = f->index;

  populate (f->store);
  g_assert_true (wb_fleet_index_check_device (index, "356307042441013", "s3cret", &quarantined));
  g_assert_false (quarantined);
  g_assert_false (wb_fleet_index_check_device (index, "356307042441013", "s3creT", NULL));
  g_assert_false (wb_fleet_index_check_device (index, "356307042441013", "", NULL));
  g_assert_false (wb_fleet_index_check_device (index, "356307042441013", NULL, NULL));
  /* No token registered: none needed, and one given is not held against it. */
  g_assert_true (wb_fleet_index_check_device (index, "phone-7", NULL, NULL));
  g_assert_true (wb_fleet_index_check_device (index, "phone-7", "anything", NULL));
  /* Unknown. */
  g_assert_false (wb_fleet_index_check_device (index, "356307042441099", NULL, &quarantined));
  g_assert_false (quarantined);
  g_assert_false (wb_fleet_index_has_device (index, "356307042441099"));
  g_assert_true (wb_fleet_index_has_device (index, "356307042441013"));

  /* Only the hash is stored. */
  assert_sql (f->conninfo, "SELECT token_hash FROM devices WHERE device_id = $1", "356307042441013", expected_hash);
  assert_sql (f->conninfo, "SELECT count(*)::text FROM devices d WHERE d::text LIKE '%s3cret%'",
                             NULL, "0");

  /* Rewritten without a token: the stored one stays; with null: removed. */
  keep->has_token = FALSE;
  apply_expect (f->store, g_steal_pointer (&keep), TRUE, 2);
  g_assert_false (wb_fleet_index_check_device (index, "356307042441013", NULL, NULL));
  g_assert_true (wb_fleet_index_check_device (index, "356307042441013", "s3cret", NULL));
  assert_sql (f->conninfo, "SELECT token_hash FROM devices WHERE device_id = $1", "356307042441013", expected_hash);
  apply_expect (f->store, g_steal_pointer (&clear), TRUE, 3);
  g_assert_true (wb_fleet_index_check_device (index, "356307042441013", NULL, NULL));
  assert_sql (f->conninfo, "SELECT token_hash FROM devices WHERE device_id = $1", "356307042441013", NULL);
}

static void
test_quarantine (StoreFixture  *f,
                 gconstpointer  data)
{
  g_autoptr(WbFleetUpdate) release = device_update ("imei-q", "v1", NULL, 0);
  g_autoptr(WbFleetUpdate) quarantine = device_update ("phone-7", "v2", NULL, 2);
  g_autoptr(WbFleetEnrichment) enrichment = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *json = NULL;
  gboolean quarantined = FALSE;

  populate (f->store);
  g_assert_true (wb_fleet_index_check_device (f->index, "imei-q", NULL, &quarantined));
  g_assert_true (quarantined);
  enrichment = wb_fleet_index_lookup_device (f->index, "imei-q");
  g_assert_nonnull (enrichment);
  g_assert_null (enrichment->vehicle_id);
  g_clear_pointer (&enrichment, wb_fleet_enrichment_unref);

  /* Released by an administrator, fitted to a vehicle. */
  apply_expect (f->store, g_steal_pointer (&release), TRUE, 2);
  g_assert_true (wb_fleet_index_check_device (f->index, "imei-q", NULL, &quarantined));
  g_assert_false (quarantined);
  enrichment = wb_fleet_index_lookup_device (f->index, "imei-q");
  g_assert_cmpstr (enrichment->vehicle_id, ==, "v1");

  /* And the other way. */
  quarantine->quarantined = TRUE;
  apply_expect (f->store, g_steal_pointer (&quarantine), TRUE, 2);
  g_assert_true (wb_fleet_index_check_device (f->index, "phone-7", NULL, &quarantined));
  g_assert_true (quarantined);

  /* A device ingestion accepted without knowing it: recorded quarantined,
   * with no vehicle and version 0, so the first PUT wins over it. */
  g_assert_true (device_seen (f->store, "stranger-1"));
  g_assert_true (wb_fleet_index_check_device (f->index, "stranger-1", NULL, &quarantined));
  g_assert_true (quarantined);
  json = get_json (f->store, WB_FLEET_KIND_DEVICE, "stranger-1", &error);
  g_assert_no_error (error);
  assert_member (json, "quarantined", "true");
  assert_member (json, "vehicleId", NULL);
  assert_member (json, "version", "0");
  assert_sql (f->conninfo, "SELECT version || '/' || coalesce(vehicle_id, '-') FROM devices"
                             " WHERE device_id = $1", "stranger-1", "0/-");
  apply_expect (f->store, device_update ("stranger-1", "v2", NULL, 0), TRUE, 1);
  g_assert_true (wb_fleet_index_check_device (f->index, "stranger-1", NULL, &quarantined));
  g_assert_false (quarantined);
}

typedef struct
{
  guint pending;
  guint first;
} SeenRace;

static void
on_seen (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  SeenRace *race = user_data;
  g_autoptr(GError) error = NULL;
  gboolean first = FALSE;

  g_assert_true (wb_fleet_store_device_seen_finish (WB_FLEET_STORE (source), result, &first, &error));
  g_assert_no_error (error);
  race->first += first;
  race->pending--;
}

#define N_DAEMONS 8

/* Several daemons (each its own store and index) see a device at once:
 * exactly one of them is told it is the first appearance, ever. */
static guint
race_device_seen (StoreFixture *f,
                  const char   *device_id)
{
  WbFleetIndex *indexes[N_DAEMONS];
  WbFleetStore *stores[N_DAEMONS];
  SeenRace race = { N_DAEMONS, 0 };

  for (guint i = 0; i < N_DAEMONS; i++)
    {
      indexes[i] = wb_fleet_index_new ();
      stores[i] = wb_fleet_store_new (f->pool, indexes[i]);
    }
  for (guint i = 0; i < N_DAEMONS; i++)
    wb_fleet_store_device_seen_async (stores[i], device_id, NULL, on_seen, &race);
  while (race.pending > 0)
    g_main_context_iteration (NULL, TRUE);
  for (guint i = 0; i < N_DAEMONS; i++)
    {
      /* Each daemon's index now knows the device. */
      g_assert_true (wb_fleet_index_has_device (indexes[i], device_id));
      g_object_unref (stores[i]);
      g_object_unref (indexes[i]);
    }
  return race.first;
}

static void
test_first_seen (StoreFixture  *f,
                 gconstpointer  data)
{
  g_autoptr(WbFleetIndex) index = wb_fleet_index_new ();
  g_autoptr(WbFleetStore) restarted = wb_fleet_store_new (f->pool, index);

  populate (f->store);
  assert_sql (f->conninfo, "SELECT first_seen_at FROM devices WHERE device_id = $1", "phone-7", NULL);

  /* A registered device, then one nobody registered. */
  g_assert_cmpuint (race_device_seen (f, "phone-7"), ==, 1);
  g_assert_cmpuint (race_device_seen (f, "phone-7"), ==, 0);
  g_assert_cmpuint (race_device_seen (f, "stranger-2"), ==, 1);
  g_assert_cmpuint (race_device_seen (f, "stranger-2"), ==, 0);

  /* After a restart too. */
  g_assert_false (device_seen (restarted, "phone-7"));
  assert_sql (f->conninfo, "SELECT (first_seen_at IS NOT NULL)::text FROM devices WHERE device_id = $1", "phone-7",
              "true");
  assert_sql (f->conninfo, "SELECT (last_seen_at >= first_seen_at)::text FROM devices"
                             " WHERE device_id = $1", "phone-7", "true");
  /* Being seen does not change what an administrator wrote. */
  assert_sql (f->conninfo, "SELECT version || '/' || vehicle_id FROM devices WHERE device_id = $1",
                             "phone-7", "1/v2");
}

static void
test_store_errors (StoreFixture  *f,
                   gconstpointer  data)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(WbFleetUpdate) nameless = company_update ("c1", NULL, 1);
  g_autoptr(WbFleetUpdate) homeless = device_update ("dev-1", NULL, NULL, 1);
  g_autofree char *json = NULL;

  wb_fleet_store_apply_async (f->store, nameless, NULL, keep_result, &result);
  wait_for (&result);
  g_assert_null (wb_fleet_store_apply_finish (f->store, result, &error));
  g_assert_error (error, WB_FLEET_ERROR, WB_FLEET_ERROR_INVALID);
  g_assert_true (g_str_has_prefix (error->message, "name: "));
  g_clear_error (&error);
  g_clear_object (&result);

  wb_fleet_store_apply_async (f->store, homeless, NULL, keep_result, &result);
  wait_for (&result);
  g_assert_null (wb_fleet_store_apply_finish (f->store, result, &error));
  g_assert_error (error, WB_FLEET_ERROR, WB_FLEET_ERROR_INVALID);
  g_assert_true (g_str_has_prefix (error->message, "vehicle_id: "));
  g_clear_error (&error);

  json = get_json (f->store, WB_FLEET_KIND_DRIVER, "d404", &error);
  g_assert_null (json);
  g_assert_error (error, WB_FLEET_ERROR, WB_FLEET_ERROR_NOT_FOUND);
}

/* A bus message goes through the same path as REST. */
static void
test_store_from_message (StoreFixture  *f,
                         gconstpointer  data)
{
  g_autoptr(GBytes) payload = bytes ("{\"vehicle_id\":\"v5\",\"plate\":\"BUS-5\",\"company_id\":\"c1\","
                                     "\"version\":4,\"updated_at\":\"2026-11-20T10:00:00Z\"}");
  g_autoptr(GError) error = NULL;
  WbFleetUpdate *update = wb_fleet_update_from_message (WB_TOPIC_VEHICLE_UPDATED, payload, &error);

  g_assert_no_error (error);
  apply_expect (f->store, update, TRUE, 4);
  g_assert_cmpstr (plate_of (f->index, "v5"), ==, "BUS-5");
  assert_sql (f->conninfo, "SELECT to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')"
                             " FROM vehicles WHERE id = $1", "v5", "2026-11-20 10:00");
}

/* ---- REST -------------------------------------------------------------------------- */

typedef struct
{
  char         *conninfo;
  gboolean      with_auth;
  WbTestServerThread *server_thread;
  guint         port;
  WbMetrics    *metrics;
  WbDbPool     *pool;
  WbFleetIndex *index;
  WbFleetStore *store;
  WbFleetApi   *api;
  WbHttpServer *server;
  SoupSession  *session;
} ApiFixture;

static guint
server_start (gpointer data)
{
  ApiFixture *fx = data;
  g_autoptr(GError) error = NULL;
  WbHttpLimits limits = {
    .max_body_size = 64 * 1024, .max_header_count = 64, .max_header_size = 16 * 1024,
    .idle_timeout_ms = 10000, .max_connections = 64, .max_connections_per_peer = 64,
  };

  fx->pool = wb_db_pool_new (fx->conninfo, 4);
  fx->store = wb_fleet_store_new (fx->pool, fx->index);
  fx->api = wb_fleet_api_new (fx->store);
  fx->server = wb_http_server_new (fx->metrics, &limits);
  if (fx->with_auth)
    {
      g_autoptr(GBytes) secret = g_bytes_new_static (SECRET, strlen (SECRET));

      wb_http_server_set_auth_secret (fx->server, secret);
    }
  wb_fleet_api_register (fx->api, fx->server);
  g_assert_true (wb_http_server_listen (fx->server, "127.0.0.1", 0, &error));
  g_assert_no_error (error);

  return wb_http_server_get_port (fx->server);
}

static void
server_stop (gpointer data)
{
  ApiFixture *fx = data;

  g_clear_object (&fx->server);
  g_clear_pointer (&fx->api, wb_fleet_api_free);
  wb_db_pool_close (fx->pool);
  /* Let the pool's last callbacks run before the store goes. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_clear_object (&fx->store);
  g_clear_object (&fx->pool);
}

static void
api_set_up (ApiFixture    *fx,
            gconstpointer  data)
{
  fx->with_auth = GPOINTER_TO_INT (data);
  fx->conninfo = create_database ();
  fx->metrics = wb_metrics_new ();
  fx->index = wb_fleet_index_new ();
  fx->server_thread = wb_test_server_thread_start ("fleet-api", server_start, server_stop, fx);
  fx->port = wb_test_server_thread_get_port (fx->server_thread);
  fx->session = soup_session_new_with_options ("timeout", 30, NULL);
}

static void
api_tear_down (ApiFixture    *fx,
               gconstpointer  data)
{
  g_clear_object (&fx->session);
  wb_test_server_thread_stop (fx->server_thread);
  g_clear_object (&fx->index);
  g_clear_object (&fx->metrics);
  g_free (fx->conninfo);
}

typedef struct
{
  guint     status;
  char     *body;
  JsonNode *json;
} Reply;

static void
reply_clear (Reply *reply)
{
  g_clear_pointer (&reply->body, g_free);
  g_clear_pointer (&reply->json, json_node_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Reply, reply_clear)

/* @role: WB_ACCESS_ROLE_NONE sends no token. */
static void
send_as (ApiFixture *fx,
         WbAccessRole      role,
         const char *method,
         const char *path,
         const char *body,
         Reply      *reply)
{
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u%s", fx->port, path);
  g_autoptr(SoupMessage) message = soup_message_new (method, uri);
  g_autoptr(GBytes) answer = NULL;
  g_autoptr(GError) error = NULL;

  reply_clear (reply);
  g_assert_nonnull (message);
  if (role != WB_ACCESS_ROLE_NONE)
    {
      g_autofree char *token = wb_jwt_sign ((const guint8 *) SECRET, strlen (SECRET), "tester", role,
                                            g_get_real_time () / G_USEC_PER_SEC, 600);
      g_autofree char *authorization = g_strconcat ("Bearer ", token, NULL);

      soup_message_headers_replace (soup_message_get_request_headers (message), "Authorization", authorization);
    }
  if (body != NULL)
    {
      g_autoptr(GBytes) request_body = bytes (body);

      soup_message_set_request_body_from_bytes (message, "application/json", request_body);
    }
  answer = soup_session_send_and_read (fx->session, message, NULL, &error);
  g_assert_no_error (error);
  reply->status = soup_message_get_status (message);
  reply->body = g_strndup (g_bytes_get_data (answer, NULL), g_bytes_get_size (answer));
  reply->json = *reply->body ? json_from_string (reply->body, NULL) : NULL;
}

static void
send (ApiFixture *fx,
      const char *method,
      const char *path,
      const char *body,
      Reply      *reply)
{
  send_as (fx, WB_ACCESS_ROLE_NONE, method, path, body, reply);
}

static JsonNode *
node_at (Reply      *reply,
         const char *path)
{
  g_auto(GStrv) steps = g_strsplit (path, ".", -1);
  JsonNode *node = reply->json;

  g_assert_nonnull (node);
  for (guint i = 0; steps[i] != NULL && node != NULL; i++)
    {
      char *end = NULL;
      guint64 index = g_ascii_strtoull (steps[i], &end, 10);

      if (JSON_NODE_HOLDS_ARRAY (node) && end != steps[i] && *end == '\0')
        node = index < json_array_get_length (json_node_get_array (node))
               ? json_array_get_element (json_node_get_array (node), index) : NULL;
      else if (JSON_NODE_HOLDS_OBJECT (node))
        node = json_object_get_member (json_node_get_object (node), steps[i]);
      else
        node = NULL;
    }
  return node;
}

static const char *
string_at (Reply      *reply,
           const char *path)
{
  JsonNode *node = node_at (reply, path);

  return node != NULL && JSON_NODE_HOLDS_VALUE (node) ? json_node_get_string (node) : NULL;
}

static gint64
int_at (Reply      *reply,
        const char *path)
{
  JsonNode *node = node_at (reply, path);

  g_assert_nonnull (node);
  return json_node_get_int (node);
}

static gboolean
is_null_at (Reply      *reply,
            const char *path)
{
  JsonNode *node = node_at (reply, path);

  return node != NULL && JSON_NODE_HOLDS_NULL (node);
}

static guint
length_at (Reply      *reply,
           const char *path)
{
  JsonNode *node = node_at (reply, path);

  g_assert_nonnull (node);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (node));
  return json_array_get_length (json_node_get_array (node));
}

static void
assert_status (Reply *reply,
               guint  status)
{
  if (reply->status != status)
    g_error ("expected HTTP %u, got %u: %s", status, reply->status, reply->body);
}

/* {"error":{"code","message","field"?}}, the message naming the field. */
static void
assert_error (Reply      *reply,
              guint       status,
              const char *code,
              const char *field)
{
  assert_status (reply, status);
  g_assert_cmpstr (string_at (reply, "error.code"), ==, code);
  g_assert_nonnull (string_at (reply, "error.message"));
  if (field != NULL)
    {
      g_autofree char *prefix = g_strconcat (field, ": ", NULL);

      g_assert_cmpstr (string_at (reply, "error.field"), ==, field);
      if (!g_str_has_prefix (string_at (reply, "error.message"), prefix))
        g_error ("message does not name %s: %s", field, string_at (reply, "error.message"));
    }
}

static void
put_ok (ApiFixture *fx,
        const char *path,
        const char *body)
{
  g_auto(Reply) reply = { 0, };

  send (fx, "PUT", path, body, &reply);
  assert_status (&reply, 200);
}

static void
test_api_companies (ApiFixture    *fx,
                    gconstpointer  data)
{
  g_auto(Reply) reply = { 0, };

  send (fx, "PUT", "/companies/c1", "{\"name\":\"Acme Logistics\"}", &reply);
  assert_status (&reply, 200);
  g_assert_cmpstr (string_at (&reply, "id"), ==, "c1");
  g_assert_cmpstr (string_at (&reply, "name"), ==, "Acme Logistics");
  g_assert_cmpint (int_at (&reply, "version"), ==, 1);
  g_assert_true (g_str_has_suffix (string_at (&reply, "updatedAt"), "Z"));

  /* Without a version: stored + 1. */
  send (fx, "PUT", "/companies/c1", "{\"name\":\"Acme\"}", &reply);
  assert_status (&reply, 200);
  g_assert_cmpint (int_at (&reply, "version"), ==, 2);

  /* A version that is not newer: 409 with the one that won. */
  send (fx, "PUT", "/companies/c1", "{\"name\":\"Old\",\"version\":2}", &reply);
  assert_error (&reply, 409, "stale_version", "version");
  g_assert_cmpint (int_at (&reply, "currentVersion"), ==, 2);
  send (fx, "PUT", "/companies/c1", "{\"name\":\"Acme Group\",\"version\":7}", &reply);
  assert_status (&reply, 200);
  g_assert_cmpint (int_at (&reply, "version"), ==, 7);

  send (fx, "GET", "/companies/c1", NULL, &reply);
  assert_status (&reply, 200);
  g_assert_cmpstr (string_at (&reply, "name"), ==, "Acme Group");
  g_assert_cmpint (int_at (&reply, "version"), ==, 7);
  send (fx, "GET", "/companies/c404", NULL, &reply);
  assert_error (&reply, 404, "not_found", NULL);
  send (fx, "GET", "/companies/a%20b", NULL, &reply);
  assert_error (&reply, 404, "not_found", NULL);
}

/* GET /vehicles/{id}: the vehicle with its driver and operating company,
 * and the index follows REST writes as it follows messages. */
static void
test_api_vehicle_view (ApiFixture    *fx,
                       gconstpointer  data)
{
  g_auto(Reply) reply = { 0, };
  g_autoptr(WbFleetEnrichment) enrichment = NULL;

  put_ok (fx, "/companies/c1", "{\"name\":\"Acme\"}");
  put_ok (fx, "/companies/c2", "{\"name\":\"Beta\"}");
  send (fx, "PUT", "/drivers/d1", "{\"name\":\"Ivan Petrov\",\"phone\":\"+375 29 123-45-67\",\"companyId\":\"c1\"}",
        &reply);
  assert_status (&reply, 200);
  g_assert_cmpstr (string_at (&reply, "phone"), ==, "+375 29 123-45-67");
  g_assert_cmpstr (string_at (&reply, "companyId"), ==, "c1");
  send (fx, "PUT", "/vehicles/v1", "{\"plate\":\"1234 AB-7\",\"companyId\":\"c2\",\"driverId\":\"d1\","
                                   "\"groupId\":\"north\",\"tariffId\":\"t1\"}", &reply);
  assert_status (&reply, 200);
  g_assert_cmpstr (string_at (&reply, "plate"), ==, "1234 AB-7");
  g_assert_cmpstr (string_at (&reply, "groupId"), ==, "north");
  g_assert_null (node_at (&reply, "driver"));

  send (fx, "GET", "/vehicles/v1", NULL, &reply);
  assert_status (&reply, 200);
  g_assert_cmpstr (string_at (&reply, "id"), ==, "v1");
  g_assert_cmpstr (string_at (&reply, "companyId"), ==, "c2");
  g_assert_cmpstr (string_at (&reply, "tariffId"), ==, "t1");
  g_assert_cmpint (int_at (&reply, "version"), ==, 1);
  g_assert_cmpstr (string_at (&reply, "driver.id"), ==, "d1");
  g_assert_cmpstr (string_at (&reply, "driver.name"), ==, "Ivan Petrov");
  g_assert_cmpstr (string_at (&reply, "company.id"), ==, "c1");
  g_assert_cmpstr (string_at (&reply, "company.name"), ==, "Acme");
  g_assert_true (is_null_at (&reply, "currentState"));

  /* Without a driver: the vehicle's own company; unknown ones are null. */
  put_ok (fx, "/vehicles/v2", "{\"plate\":\"5678\",\"companyId\":\"c2\"}");
  send (fx, "GET", "/vehicles/v2", NULL, &reply);
  assert_status (&reply, 200);
  g_assert_true (is_null_at (&reply, "driver"));
  g_assert_cmpstr (string_at (&reply, "company.name"), ==, "Beta");
  put_ok (fx, "/vehicles/v3", "{\"plate\":\"9\",\"companyId\":\"c9\",\"driverId\":\"d9\"}");
  send (fx, "GET", "/vehicles/v3", NULL, &reply);
  assert_status (&reply, 200);
  g_assert_true (is_null_at (&reply, "driver"));
  g_assert_true (is_null_at (&reply, "company"));
  g_assert_cmpstr (string_at (&reply, "driverId"), ==, "d9");
  send (fx, "GET", "/vehicles/v404", NULL, &reply);
  assert_error (&reply, 404, "not_found", NULL);

  /* The REST writes reached the index. */
  put_ok (fx, "/devices/356307042441013", "{\"vehicleId\":\"v1\"}");
  enrichment = wb_fleet_index_lookup_device (fx->index, "356307042441013");
  g_assert_nonnull (enrichment);
  g_assert_cmpstr (enrichment->plate, ==, "1234 AB-7");
  g_assert_cmpstr (enrichment->driver_name, ==, "Ivan Petrov");
  g_assert_cmpstr (enrichment->company_name, ==, "Acme");
}

static void
test_api_devices (ApiFixture    *fx,
                  gconstpointer  data)
{
  g_auto(Reply) reply = { 0, };

  send (fx, "PUT", "/devices/356307042441013", "{\"vehicleId\":\"v1\",\"token\":\"t0p-s3cret\"}", &reply);
  assert_status (&reply, 200);
  g_assert_cmpstr (string_at (&reply, "deviceId"), ==, "356307042441013");
  g_assert_cmpstr (string_at (&reply, "vehicleId"), ==, "v1");
  g_assert_true (json_node_get_boolean (node_at (&reply, "hasToken")));
  g_assert_false (json_node_get_boolean (node_at (&reply, "quarantined")));
  g_assert_true (is_null_at (&reply, "firstSeenAt"));
  g_assert_null (node_at (&reply, "token"));
  g_assert_null (strstr (reply.body, "t0p-s3cret"));
  g_assert_true (wb_fleet_index_check_device (fx->index, "356307042441013", "t0p-s3cret", NULL));
  g_assert_false (wb_fleet_index_check_device (fx->index, "356307042441013", "wrong", NULL));

  send (fx, "GET", "/devices/356307042441013", NULL, &reply);
  assert_status (&reply, 200);
  g_assert_true (json_node_get_boolean (node_at (&reply, "hasToken")));
  g_assert_null (node_at (&reply, "token"));
  g_assert_null (strstr (reply.body, "t0p-s3cret"));
  g_assert_cmpint (int_at (&reply, "version"), ==, 1);

  /* No token member keeps it; null removes it. */
  send (fx, "PUT", "/devices/356307042441013", "{\"vehicleId\":\"v2\"}", &reply);
  assert_status (&reply, 200);
  g_assert_true (json_node_get_boolean (node_at (&reply, "hasToken")));
  g_assert_cmpint (int_at (&reply, "version"), ==, 2);
  send (fx, "PUT", "/devices/356307042441013", "{\"vehicleId\":\"v2\",\"token\":null}", &reply);
  assert_status (&reply, 200);
  g_assert_false (json_node_get_boolean (node_at (&reply, "hasToken")));
  g_assert_true (wb_fleet_index_check_device (fx->index, "356307042441013", NULL, NULL));

  /* Quarantined, possibly with no vehicle yet. */
  send (fx, "PUT", "/devices/imei-q", "{\"quarantined\":true}", &reply);
  assert_status (&reply, 200);
  g_assert_true (json_node_get_boolean (node_at (&reply, "quarantined")));
  g_assert_true (is_null_at (&reply, "vehicleId"));
  send (fx, "PUT", "/devices/imei-q", "{\"vehicleId\":\"v3\",\"version\":1}", &reply);
  assert_error (&reply, 409, "stale_version", "version");
  g_assert_cmpint (int_at (&reply, "currentVersion"), ==, 1);
  send (fx, "PUT", "/devices/imei-q", "{\"vehicleId\":\"v3\",\"version\":2}", &reply);
  assert_status (&reply, 200);
  g_assert_false (json_node_get_boolean (node_at (&reply, "quarantined")));

  send (fx, "GET", "/devices/imei-404", NULL, &reply);
  assert_error (&reply, 404, "not_found", NULL);
}

/* Follows nextCursor from @path to the end; @expected: the ids in order,
 * comma-separated. */
static void
assert_pages (ApiFixture *fx,
              const char *path,
              const char *expected)
{
  g_autoptr(GString) ids = g_string_new (NULL);
  g_autofree char *next = g_strdup (path);

  while (next != NULL)
    {
      g_auto(Reply) reply = { 0, };
      const char *cursor;

      send (fx, "GET", next, NULL, &reply);
      assert_status (&reply, 200);
      for (guint i = 0; i < length_at (&reply, "items"); i++)
        {
          g_autofree char *item = g_strdup_printf ("items.%u.id", i);

          g_string_append_printf (ids, "%s%s", ids->len ? "," : "", string_at (&reply, item));
        }
      cursor = string_at (&reply, "nextCursor");
      g_free (next);
      next = cursor ? g_strdup_printf ("%s%scursor=%s", path, strchr (path, '?') ? "&" : "?", cursor) : NULL;
      if (cursor != NULL)
        g_assert_cmpuint (length_at (&reply, "items"), >, 0);
    }
  g_assert_cmpstr (ids->str, ==, expected);
}

static void
test_api_lists (ApiFixture    *fx,
                gconstpointer  data)
{
  g_auto(Reply) reply = { 0, };
  const struct { const char *id; const char *company; const char *group; } vehicles[] = {
    { "v5", "c1", "north" }, { "v1", "c1", "south" }, { "v3", "c2", "north" }, { "v2", "c1", "north" },
    { "v4", "c2", "south" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (vehicles); i++)
    {
      g_autofree char *path = g_strdup_printf ("/vehicles/%s", vehicles[i].id);
      g_autofree char *body = g_strdup_printf ("{\"plate\":\"P-%s\",\"companyId\":\"%s\",\"groupId\":\"%s\"}",
                                               vehicles[i].id, vehicles[i].company, vehicles[i].group);

      put_ok (fx, path, body);
    }
  put_ok (fx, "/companies/c2", "{\"name\":\"Beta\"}");
  put_ok (fx, "/companies/c1", "{\"name\":\"Acme\"}");
  put_ok (fx, "/drivers/d2", "{\"name\":\"Olga\",\"companyId\":\"c2\"}");
  put_ok (fx, "/drivers/d1", "{\"name\":\"Ivan\",\"companyId\":\"c1\"}");
  put_ok (fx, "/drivers/d3", "{\"name\":\"Anna\"}");

  send (fx, "GET", "/vehicles?limit=2", NULL, &reply);
  assert_status (&reply, 200);
  g_assert_cmpuint (length_at (&reply, "items"), ==, 2);
  g_assert_cmpstr (string_at (&reply, "items.0.id"), ==, "v1");
  g_assert_cmpstr (string_at (&reply, "items.0.plate"), ==, "P-v1");
  g_assert_cmpstr (string_at (&reply, "nextCursor"), ==, "v2");
  send (fx, "GET", "/vehicles", NULL, &reply);
  assert_status (&reply, 200);
  g_assert_cmpuint (length_at (&reply, "items"), ==, 5);
  g_assert_true (is_null_at (&reply, "nextCursor"));

  assert_pages (fx, "/vehicles?limit=2", "v1,v2,v3,v4,v5");
  assert_pages (fx, "/vehicles?limit=1&companyId=c1", "v1,v2,v5");
  assert_pages (fx, "/vehicles?groupId=north&limit=2", "v2,v3,v5");
  assert_pages (fx, "/vehicles?groupId=north&companyId=c2", "v3");
  assert_pages (fx, "/vehicles?groupId=east", "");
  assert_pages (fx, "/drivers?limit=1", "d1,d2,d3");
  assert_pages (fx, "/drivers?companyId=c2", "d2");
  assert_pages (fx, "/companies?limit=1", "c1,c2");
  /* An exact page: no next cursor pointing at nothing. */
  send (fx, "GET", "/companies?limit=2", NULL, &reply);
  assert_status (&reply, 200);
  g_assert_true (is_null_at (&reply, "nextCursor"));
}

static void
test_api_validation (ApiFixture    *fx,
                     gconstpointer  data)
{
  g_autofree char *long_name = g_strnfill (257, 'x');
  g_autofree char *long_body = g_strdup_printf ("{\"name\":\"%s\"}", long_name);
  const struct { const char *path; const char *body; const char *code; const char *field; } puts[] = {
    { "/companies/c1", "", "invalid_json", NULL },
    { "/companies/c1", "{\"name\":", "invalid_json", NULL },
    { "/companies/c1", "[]", "invalid_body", NULL },
    { "/companies/c1", "{}", "invalid_field", "name" },
    { "/companies/c1", "{\"name\":\"  \"}", "invalid_field", "name" },
    { "/companies/c1", "{\"name\":42}", "invalid_field", "name" },
    { "/companies/c1", long_body, "invalid_field", "name" },
    { "/companies/c1", "{\"name\":\"Acme\",\"nmae\":\"x\"}", "invalid_field", "nmae" },
    { "/companies/c1", "{\"name\":\"Acme\",\"version\":0}", "invalid_field", "version" },
    { "/companies/c1", "{\"name\":\"Acme\",\"version\":1.5}", "invalid_field", "version" },
    { "/companies/c1", "{\"name\":\"Acme\",\"version\":\"2\"}", "invalid_field", "version" },
    { "/companies/a%20b", "{\"name\":\"Acme\"}", "invalid_field", "id" },
    { "/drivers/d1", "{\"phone\":\"1\"}", "invalid_field", "name" },
    { "/drivers/d1", "{\"name\":\"Ivan\",\"companyId\":\"c 1\"}", "invalid_field", "companyId" },
    { "/drivers/d1", "{\"name\":\"Ivan\",\"company_id\":\"c1\"}", "invalid_field", "company_id" },
    { "/vehicles/v1", "{\"companyId\":\"c1\"}", "invalid_field", "plate" },
    { "/vehicles/v1", "{\"plate\":\"P\",\"driverId\":7}", "invalid_field", "driverId" },
    { "/vehicles/v1", "{\"plate\":\"P\",\"groupId\":\"north/east\"}", "invalid_field", "groupId" },
    { "/vehicles/v1", "{\"plate\":\"P\",\"tariffId\":\"\"}", NULL, NULL },
    { "/devices/imei-1", "{}", "invalid_field", "vehicleId" },
    { "/devices/imei-1", "{\"vehicleId\":\"v1\",\"token\":\"\"}", "invalid_field", "token" },
    { "/devices/imei-1", "{\"vehicleId\":\"v1\",\"token\":5}", "invalid_field", "token" },
    { "/devices/imei-1", "{\"vehicleId\":\"v1\",\"quarantined\":\"yes\"}", "invalid_field", "quarantined" },
    { "/devices/imei%201", "{\"vehicleId\":\"v1\"}", "invalid_field", "deviceId" },
  };
  const struct { const char *path; const char *field; } gets[] = {
    { "/vehicles?limit=0", "limit" },
    { "/vehicles?limit=501", "limit" },
    { "/vehicles?limit=ten", "limit" },
    { "/vehicles?cursor=a%20b", "cursor" },
    { "/vehicles?company=c1", "company" },
    { "/vehicles?groupId=a&groupId=b", "groupId" },
    { "/vehicles?companyId=c%201", "companyId" },
    { "/companies?companyId=c1", "companyId" },
    { "/drivers?groupId=north", "groupId" },
  };
  g_auto(Reply) reply = { 0, };

  for (guint i = 0; i < G_N_ELEMENTS (puts); i++)
    {
      g_test_message ("PUT %s %s", puts[i].path, puts[i].body);
      send (fx, "PUT", puts[i].path, puts[i].body, &reply);
      if (puts[i].code == NULL)
        assert_status (&reply, 200);
      else
        assert_error (&reply, 400, puts[i].code, puts[i].field);
    }
  for (guint i = 0; i < G_N_ELEMENTS (gets); i++)
    {
      g_test_message ("GET %s", gets[i].path);
      send (fx, "GET", gets[i].path, NULL, &reply);
      assert_error (&reply, 400, "invalid_field", gets[i].field);
    }
  /* Nothing invalid was stored. */
  send (fx, "GET", "/companies", NULL, &reply);
  assert_status (&reply, 200);
  g_assert_cmpuint (length_at (&reply, "items"), ==, 0);
  send (fx, "GET", "/vehicles/v1", NULL, &reply);
  assert_status (&reply, 200);
  g_assert_true (is_null_at (&reply, "tariffId"));
}

/* A PUT body is strict JSON (RFC 8259): what a lenient parser would take
 * is refused, and the message says where. */
static void
test_api_strict_json (ApiFixture    *fx,
                      gconstpointer  data)
{
  const struct { const char *body; const char *where; } bodies[] = {
    { "{\"name\":\"Acme\",}", "line 1, column 16" },
    { "{\n  'name': \"Acme\"\n}", "line 2, column 3" },
    { "{\"name\":\"Acme\" /* the usual one */}", "line 1, column 16" },
    { "{\"name\":\"Acme\",\"version\":1e999}", "line 1, column 26" },
    { "{\"name\":\"Ac\xffme\"}", "line 1, column 12" },
  };
  g_auto(Reply) reply = { 0, };

  for (guint i = 0; i < G_N_ELEMENTS (bodies); i++)
    {
      {
        g_autofree char *shown = g_strescape (bodies[i].body, NULL);

        g_test_message ("PUT /companies/c1 %s", shown);
      }
      send (fx, "PUT", "/companies/c1", bodies[i].body, &reply);
      assert_error (&reply, 400, "invalid_json", NULL);
      if (strstr (string_at (&reply, "error.message"), bodies[i].where) == NULL)
        g_error ("message does not say %s: %s", bodies[i].where, string_at (&reply, "error.message"));
    }
  send (fx, "GET", "/companies/c1", NULL, &reply);
  assert_status (&reply, 404);
}

static void
test_api_roles (ApiFixture    *fx,
                gconstpointer  data)
{
  const char *writes[][2] = {
    { "/companies/c1", "{\"name\":\"Acme\"}" },
    { "/drivers/d1", "{\"name\":\"Ivan\"}" },
    { "/vehicles/v1", "{\"plate\":\"P-1\"}" },
    { "/devices/imei-1", "{\"vehicleId\":\"v1\",\"token\":\"x\"}" },
  };
  const char *reads[] = { "/companies", "/companies/c1", "/drivers", "/drivers/d1", "/vehicles", "/vehicles/v1" };
  g_auto(Reply) reply = { 0, };

  for (guint i = 0; i < G_N_ELEMENTS (writes); i++)
    {
      send_as (fx, WB_ACCESS_ROLE_NONE, "PUT", writes[i][0], writes[i][1], &reply);
      assert_error (&reply, 401, "unauthorized", NULL);
      send_as (fx, WB_ACCESS_ROLE_VIEWER, "PUT", writes[i][0], writes[i][1], &reply);
      assert_error (&reply, 403, "forbidden", NULL);
      send_as (fx, WB_ACCESS_ROLE_DISPATCHER, "PUT", writes[i][0], writes[i][1], &reply);
      assert_error (&reply, 403, "forbidden", NULL);
      send_as (fx, WB_ACCESS_ROLE_ADMIN, "PUT", writes[i][0], writes[i][1], &reply);
      assert_status (&reply, 200);
    }
  for (guint i = 0; i < G_N_ELEMENTS (reads); i++)
    {
      send_as (fx, WB_ACCESS_ROLE_NONE, "GET", reads[i], NULL, &reply);
      assert_error (&reply, 401, "unauthorized", NULL);
      send_as (fx, WB_ACCESS_ROLE_VIEWER, "GET", reads[i], NULL, &reply);
      assert_status (&reply, 200);
    }
  /* Devices are for administrators only, reads included. */
  send_as (fx, WB_ACCESS_ROLE_VIEWER, "GET", "/devices/imei-1", NULL, &reply);
  assert_error (&reply, 403, "forbidden", NULL);
  send_as (fx, WB_ACCESS_ROLE_DISPATCHER, "GET", "/devices/imei-1", NULL, &reply);
  assert_error (&reply, 403, "forbidden", NULL);
  send_as (fx, WB_ACCESS_ROLE_ADMIN, "GET", "/devices/imei-1", NULL, &reply);
  assert_status (&reply, 200);
  g_assert_true (json_node_get_boolean (node_at (&reply, "hasToken")));
}

static void
test_api_database_down (ApiFixture    *fx,
                        gconstpointer  data)
{
  g_auto(Reply) reply = { 0, };
  gboolean recovered = FALSE;

  wb_test_pg_stop_server ();
  send (fx, "PUT", "/companies/c1", "{\"name\":\"Acme\"}", &reply);
  assert_error (&reply, 503, "unavailable", NULL);
  g_assert_null (strstr (reply.body, "INSERT"));
  send (fx, "GET", "/vehicles", NULL, &reply);
  assert_error (&reply, 503, "unavailable", NULL);
  wb_test_pg_start_server ();

  /* The pool backs off; it comes back within a few seconds. */
  for (guint i = 0; i < 100 && !recovered; i++)
    {
      send (fx, "PUT", "/companies/c1", "{\"name\":\"Acme\"}", &reply);
      recovered = reply.status == 200;
      if (!recovered)
        g_usleep (100 * 1000);
    }
  g_assert_true (recovered);
}

typedef struct
{
  JsonObject *paths;
  guint documented;
  guint puts;
  guint imports;
} RouteWalk;

static void
check_route (const char *method,
             const char *pattern,
             WbAccessRole      min_role,
             const char *operation_json,
             gpointer    user_data)
{
  RouteWalk *walk = user_data;
  g_autofree char *key = g_ascii_strdown (method, -1);
  g_autofree char *text = NULL;
  JsonObject *operation;
  gboolean device = g_str_has_prefix (pattern, "/devices");

  /* The route's operation in the served document (data/openapi/). */
  operation = json_object_get_object_member (json_object_get_object_member (walk->paths, pattern), key);
  g_assert_nonnull (operation);
  text = json_to_string (json_object_get_member (json_object_get_object_member (walk->paths, pattern), key), FALSE);
  g_assert_nonnull (json_object_get_string_member (operation, "summary"));
  g_assert_nonnull (json_object_get_string_member (operation, "operationId"));
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (operation, "tags"), 0), ==, "fleet");
  g_assert_true (json_object_has_member (json_object_get_object_member (operation, "responses"), "400"));
  g_assert_nonnull (strstr (text, "#/components/schemas/Error"));
  if (g_str_equal (method, "PUT"))
    {
      g_assert_cmpint (min_role, ==, WB_ACCESS_ROLE_ADMIN);
      g_assert_true (json_object_has_member (operation, "requestBody"));
      g_assert_true (json_object_has_member (json_object_get_object_member (operation, "responses"), "409"));
      walk->puts++;
    }
  else if (g_str_equal (method, "POST"))
    {
      /* Imports write as PUTs do, many at a time. */
      g_assert_true (g_str_has_suffix (pattern, ":import"));
      g_assert_cmpint (min_role, ==, WB_ACCESS_ROLE_ADMIN);
      g_assert_true (json_object_has_member (operation, "requestBody"));
      g_assert_true (json_object_has_member (json_object_get_object_member (operation, "responses"), "413"));
      g_assert_true (json_object_has_member (json_object_get_object_member (operation, "responses"), "415"));
      walk->imports++;
    }
  else
    g_assert_cmpint (min_role, ==, device ? WB_ACCESS_ROLE_ADMIN : WB_ACCESS_ROLE_VIEWER);
  walk->documented++;
}

static void
test_api_documented (void)
{
  g_autoptr(WbMetrics) metrics = wb_metrics_new ();
  g_autoptr(WbDbPool) pool = wb_db_pool_new ("dbname=unused", 1);
  g_autoptr(WbFleetIndex) index = wb_fleet_index_new ();
  g_autoptr(WbFleetStore) store = wb_fleet_store_new (pool, index);
  g_autoptr(WbFleetApi) api = wb_fleet_api_new (store);
  WbHttpLimits limits = { 1024, 10, 1024, 1000, 10, 10 };
  g_autoptr(WbHttpServer) http = wb_http_server_new (metrics, &limits);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) document = NULL;
  RouteWalk walk = { NULL, 0, 0, 0 };

  wb_fleet_api_register (api, http);
  document = wb_openapi_build (http, &error);
  g_assert_no_error (error);
  walk.paths = json_object_get_object_member (json_node_get_object (document), "paths");
  wb_http_server_foreach_route (http, check_route, &walk);
  g_assert_cmpuint (walk.documented, ==, 16);
  g_assert_cmpuint (walk.puts, ==, 4);
  g_assert_cmpuint (walk.imports, ==, 4);
}

/* ---- current state and tracks ------------------------------------------------ */

static void
exec_sql (ApiFixture *fx,
          const char *statement)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PGconn) conn = wb_db_connect (fx->conninfo, &error);
  g_autoptr(PGresult) result = NULL;

  g_assert_no_error (error);
  result = wb_db_exec (conn, statement, NULL, 0, NULL, &error);
  g_assert_no_error (error);
}

static double
number_at (Reply      *reply,
           const char *path)
{
  JsonNode *node = node_at (reply, path);

  g_assert_nonnull (node);
  return json_node_get_double (node);
}

/* currentState comes from the snapshot the fleet role writes; offline is
 * silence past the threshold, by the server's clock. */
static void
test_api_current_state (ApiFixture    *fx,
                        gconstpointer  data)
{
  g_auto(Reply) reply = { 0, };

  put_ok (fx, "/vehicles/v1", "{\"plate\":\"1234 AB-7\"}");
  exec_sql (fx, "INSERT INTO vehicle_states (vehicle_id, device_id, driver_id, device_time, server_time,"
                " lat, lon, speed_kmh, ignition, motion, motion_since)"
                " VALUES ('v1', 'dev1', 'd1', now() - interval '5 s', now(), 53.9, 27.56, 42.5, true,"
                " 'moving', now() - interval '60 s')");
  send (fx, "GET", "/vehicles/v1", NULL, &reply);
  assert_status (&reply, 200);
  g_assert_cmpstr (string_at (&reply, "currentState.status"), ==, "moving");
  g_assert_true (json_node_get_boolean (node_at (&reply, "currentState.online")));
  g_assert_cmpstr (string_at (&reply, "currentState.deviceId"), ==, "dev1");
  g_assert_cmpstr (string_at (&reply, "currentState.driverId"), ==, "d1");
  g_assert_cmpfloat_with_epsilon (number_at (&reply, "currentState.lat"), 53.9, 1e-9);
  g_assert_cmpfloat_with_epsilon (number_at (&reply, "currentState.speed"), 42.5, 1e-9);
  g_assert_true (json_node_get_boolean (node_at (&reply, "currentState.ignition")));
  g_assert_true (is_null_at (&reply, "currentState.fuel"));
  g_assert_nonnull (string_at (&reply, "currentState.deviceTime"));

  /* Eleven minutes of silence: past the default ten. */
  exec_sql (fx, "UPDATE vehicle_states SET server_time = now() - interval '11 min'");
  send (fx, "GET", "/vehicles/v1", NULL, &reply);
  g_assert_cmpstr (string_at (&reply, "currentState.status"), ==, "offline");
  g_assert_false (json_node_get_boolean (node_at (&reply, "currentState.online")));
  g_assert_cmpstr (string_at (&reply, "currentState.motion"), ==, "moving");
}

/* 60 points driving north at 36 km/h (100 m each 10 s), then 40 points
 * parked, from an hour ago; and one point of another vehicle. */
static void
add_track (ApiFixture *fx)
{
  exec_sql (fx, "SELECT waybill_positions_ensure_partition ((now() - interval '1 hour')::date)");
  exec_sql (fx, "SELECT waybill_positions_ensure_partition (now()::date)");
  exec_sql (fx, "INSERT INTO positions (device_id, vehicle_id, device_time, server_time, protocol, lat, lon,"
                " speed_kmh, ignition)"
                " SELECT 'dev1', 'v1', date_trunc('second', now()) - interval '1 hour' + i * interval '10 s', now(),"
                " 'json', 53.9 + least (i, 59) * (100 / 111195.08), 27.56, CASE WHEN i < 60 THEN 36 ELSE 0 END,"
                " true FROM generate_series (0, 99) AS i");
  exec_sql (fx, "INSERT INTO positions (device_id, vehicle_id, device_time, server_time, protocol, lat, lon)"
                " VALUES ('dev2', 'v2', now() - interval '30 min', now(), 'json', 10, 10)");
}

static void
send_accept (ApiFixture *fx,
             const char *path,
             const char *accept,
             Reply      *reply,
             char      **out_type)
{
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u%s", fx->port, path);
  g_autoptr(SoupMessage) message = soup_message_new ("GET", uri);
  g_autoptr(GBytes) answer = NULL;
  g_autoptr(GError) error = NULL;

  reply_clear (reply);
  soup_message_headers_replace (soup_message_get_request_headers (message), "Accept", accept);
  answer = soup_session_send_and_read (fx->session, message, NULL, &error);
  g_assert_no_error (error);
  reply->status = soup_message_get_status (message);
  reply->body = g_strndup (g_bytes_get_data (answer, NULL), g_bytes_get_size (answer));
  reply->json = json_from_string (reply->body, NULL);
  *out_type = g_strdup (soup_message_headers_get_content_type (soup_message_get_response_headers (message), NULL));
}

static void
test_api_track (ApiFixture    *fx,
                gconstpointer  data)
{
  g_auto(Reply) reply = { 0, };
  g_autofree char *type = NULL;
  JsonArray *polyline;

  put_ok (fx, "/vehicles/v1", "{\"plate\":\"1234 AB-7\"}");
  put_ok (fx, "/vehicles/v2", "{\"plate\":\"OTHER\"}");
  add_track (fx);

  send (fx, "GET", "/vehicles/v1/track?tolerance=1", NULL, &reply);
  assert_status (&reply, 200);
  g_assert_cmpstr (string_at (&reply, "vehicleId"), ==, "v1");
  g_assert_cmpint (int_at (&reply, "points"), ==, 100);
  g_assert_cmpfloat_with_epsilon (number_at (&reply, "distance"), 5900, 5);
  g_assert_cmpfloat_with_epsilon (number_at (&reply, "maxSpeed"), 36, 0.1);
  /* A straight drive and a standstill: the drive's ends and little else. */
  polyline = json_node_get_array (node_at (&reply, "polyline"));
  g_assert_cmpuint (json_array_get_length (polyline), >=, 2);
  g_assert_cmpuint (json_array_get_length (polyline), <=, 4);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (node_at (&reply, "trips"))), ==, 1);
  g_assert_cmpfloat_with_epsilon (number_at (&reply, "trips.0.distance"), 5900, 5);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (node_at (&reply, "stops"))), ==, 1);

  /* Tolerance 0 keeps every point; a longer minimum trip leaves none. */
  send (fx, "GET", "/vehicles/v1/track?tolerance=0&minTripDistance=10000", NULL, &reply);
  assert_status (&reply, 200);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (node_at (&reply, "polyline"))), ==, 100);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (node_at (&reply, "trips"))), ==, 0);

  /* A period that holds nothing. */
  send (fx, "GET", "/vehicles/v1/track?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z", NULL, &reply);
  assert_status (&reply, 200);
  g_assert_cmpint (int_at (&reply, "points"), ==, 0);

  send_accept (fx, "/vehicles/v1/track", "application/geo+json", &reply, &type);
  g_assert_cmpuint (reply.status, ==, 200);
  g_assert_cmpstr (type, ==, "application/geo+json");
  g_assert_cmpstr (string_at (&reply, "type"), ==, "FeatureCollection");
  g_assert_cmpfloat_with_epsilon (number_at (&reply, "features.0.geometry.coordinates.0.0"), 27.56, 1e-6);
  g_clear_pointer (&type, g_free);
  send_accept (fx, "/vehicles/v1/track?format=json", "application/geo+json", &reply, &type);
  g_assert_cmpstr (type, ==, "application/json");

  send (fx, "GET", "/vehicles/v404/track", NULL, &reply);
  assert_status (&reply, 404);
  send (fx, "GET", "/vehicles/v1/track?from=yesterday", NULL, &reply);
  assert_status (&reply, 400);
  g_assert_cmpstr (string_at (&reply, "error.field"), ==, "from");
  send (fx, "GET", "/vehicles/v1/track?from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z", NULL, &reply);
  assert_status (&reply, 400);
  send (fx, "GET", "/vehicles/v1/track?from=2026-01-01T00:00:00Z&to=2026-11-01T00:00:00Z", NULL, &reply);
  assert_status (&reply, 400);
  send (fx, "GET", "/vehicles/v1/track?tolerance=-1", NULL, &reply);
  assert_status (&reply, 400);
  g_assert_cmpstr (string_at (&reply, "error.field"), ==, "tolerance");
  send (fx, "GET", "/vehicles/v1/track?tolerance=nan", NULL, &reply);
  assert_status (&reply, 400);
  send (fx, "GET", "/vehicles/v1/track?speed=1", NULL, &reply);
  assert_status (&reply, 400);
  g_assert_cmpstr (string_at (&reply, "error.field"), ==, "speed");
  send (fx, "GET", "/vehicles/v1/track?format=kml", NULL, &reply);
  assert_status (&reply, 400);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/fleet/message/valid", test_message_valid);
  g_test_add_func ("/fleet/message/invalid", test_message_invalid);
  g_test_add_func ("/fleet/message/missing", test_message_missing);
  g_test_add_func ("/fleet/message/id-alphabet", test_id_alphabet);
  g_test_add_func ("/fleet/api/documented", test_api_documented);

#define STORE(path, func) \
  g_test_add (path, StoreFixture, NULL, store_set_up, func, store_tear_down)
  STORE ("/fleet/store/last-writer-wins", test_last_writer_wins);
  STORE ("/fleet/store/concurrent", test_concurrent);
  STORE ("/fleet/store/restart", test_restart);
  STORE ("/fleet/store/reassignments", test_reassignments);
  STORE ("/fleet/index/trips", test_index_trips);
  STORE ("/fleet/store/device-token", test_device_token);
  STORE ("/fleet/store/quarantine", test_quarantine);
  STORE ("/fleet/store/first-seen", test_first_seen);
  STORE ("/fleet/store/errors", test_store_errors);
  STORE ("/fleet/store/from-message", test_store_from_message);

#define API(path, auth, func) \
  g_test_add (path, ApiFixture, GINT_TO_POINTER (auth), api_set_up, func, api_tear_down)
  API ("/fleet/api/companies", FALSE, test_api_companies);
  API ("/fleet/api/vehicle-view", FALSE, test_api_vehicle_view);
  API ("/fleet/api/devices", FALSE, test_api_devices);
  API ("/fleet/api/lists", FALSE, test_api_lists);
  API ("/fleet/api/validation", FALSE, test_api_validation);
  API ("/fleet/api/strict-json", FALSE, test_api_strict_json);
  API ("/fleet/api/roles", TRUE, test_api_roles);
  API ("/fleet/api/database-down", FALSE, test_api_database_down);
  API ("/fleet/api/current-state", FALSE, test_api_current_state);
  API ("/fleet/api/track", FALSE, test_api_track);

  return g_test_run ();
}
