// SPDX-License-Identifier: GPL-3.0-or-later
/* The OpenAPI document: built from a catalog of operations and schemas and a
 * routing table (exactly its routes, path parameters, security only where a
 * token is needed, schemas inlined with every $ref resolving; a route
 * without an operation or an operation without a route is an error naming
 * it), served at /openapi.json, and — against the built waybilld — every
 * documented route answered by a handler (the drift test). */

#include "config.h"

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <signal.h>
#include <string.h>

#include "wb-json.h"
#include "wb-openapi.h"
#include "wb-test-daemon.h"
#include "wb-test-pg.h"
#include "wb-test-schema.h"

/* A catalog for the build tests: paths and schemas given as JSON text. */
#define FRAME \
  "{\"openapi\":\"3.1.0\",\"info\":{\"title\":\"T\",\"version\":\"1\"}," \
  "\"components\":{\"securitySchemes\":{\"bearerAuth\":{\"type\":\"http\",\"scheme\":\"bearer\"}}}}"
#define OPERATION(summary) \
  "{\"summary\":\"" summary "\",\"operationId\":\"" summary "\",\"responses\":{\"200\":{\"description\":\"OK\"}}}"

static const WbHttpLimits limits = {
  .max_body_size = 65536,
  .max_header_count = 64,
  .max_header_size = 16384,
  .idle_timeout_ms = 5000,
  .max_connections = 16,
  .max_connections_per_peer = 16,
};

static void
handle_ok (WbHttpRequest *request,
           gpointer       user_data)
{
  wb_http_request_respond (request, SOUP_STATUS_NO_CONTENT, NULL, NULL);
}

static WbHttpServer *
server_new (void)
{
  g_autoptr(WbMetrics) metrics = wb_metrics_new ();

  return wb_http_server_new (metrics, &limits);
}

static void
add_route (WbHttpServer *http,
           const char   *method,
           const char   *pattern,
           WbAccessRole  min_role)
{
  wb_http_server_add_route (http, method, pattern, min_role, handle_ok, NULL);
}

static JsonNode *
parse (const char *text)
{
  g_autoptr(GError) error = NULL;
  JsonNode *node = wb_json_parse (text, strlen (text), NULL, &error);

  g_assert_no_error (error);
  return node;
}

/* @paths: the "paths" object; @schemas: NULL-terminated file name, schema
 * pairs. */
static WbOpenapiCatalog *
catalog_new (const char         *paths,
             const char * const *schemas)
{
  g_autoptr(JsonNode) frame = parse (FRAME);
  g_autoptr(JsonNode) error_schema = parse ("{\"type\":\"object\",\"required\":[\"error\"]}");
  g_autofree char *text = g_strdup_printf ("{\"tags\":[{\"name\":\"things\"}],\"paths\":%s}", paths);
  g_autoptr(JsonNode) document = parse (text);
  g_autoptr(GError) error = NULL;
  WbOpenapiCatalog *catalog = wb_openapi_catalog_new (frame);

  g_assert_true (wb_openapi_catalog_add_paths (catalog, "test.json", document, &error));
  g_assert_no_error (error);
  /* What 401 and 403 answers refer to. */
  wb_openapi_catalog_add_schema (catalog, "error.schema.json", error_schema);
  for (guint i = 0; schemas && schemas[i]; i += 2)
    {
      g_autoptr(JsonNode) schema = parse (schemas[i + 1]);

      wb_openapi_catalog_add_schema (catalog, schemas[i], schema);
    }
  return catalog;
}

static JsonObject *
member_object (JsonObject *object,
               const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  g_assert_nonnull (node);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  return json_node_get_object (node);
}

static GPtrArray *
member_names (JsonObject *object)
{
  GList *names = json_object_get_members (object);
  GPtrArray *array = g_ptr_array_new ();

  for (GList *l = names; l; l = l->next)
    g_ptr_array_add (array, l->data);
  g_ptr_array_add (array, NULL);
  g_list_free (names);
  return array;
}

static void
assert_members (JsonObject         *object,
                const char * const *expected)
{
  g_autoptr(GPtrArray) names = member_names (object);

  g_assert_cmpstrv ((const char * const *) names->pdata, expected);
}

static void
assert_path_parameters (JsonObject         *operation,
                        const char * const *names)
{
  JsonArray *parameters = json_object_get_array_member (operation, "parameters");
  guint n = g_strv_length ((char **) names);

  g_assert_cmpuint (json_array_get_length (parameters), >=, n);
  for (guint i = 0; i < n; i++)
    {
      JsonObject *parameter = json_array_get_object_element (parameters, i);

      g_assert_cmpstr (json_object_get_string_member (parameter, "name"), ==, names[i]);
      g_assert_cmpstr (json_object_get_string_member (parameter, "in"), ==, "path");
      g_assert_true (json_object_get_boolean_member (parameter, "required"));
      g_assert_cmpstr (json_object_get_string_member (member_object (parameter, "schema"), "type"), ==, "string");
    }
}

static void
assert_bearer_security (JsonObject *operation)
{
  g_autofree char *security = json_to_string (json_object_get_member (operation, "security"), FALSE);
  JsonObject *responses = member_object (operation, "responses");
  g_autofree char *unauthorized = json_to_string (json_object_get_member (responses, "401"), FALSE);

  g_assert_cmpstr (security, ==, "[{\"bearerAuth\":[]}]");
  g_assert_nonnull (strstr (unauthorized, "\"$ref\":\"#/components/schemas/Error\""));
  g_assert_true (json_object_has_member (responses, "403"));
}

static JsonNode *
build_ok (WbOpenapiCatalog *catalog,
          WbHttpServer     *http)
{
  g_autoptr(GError) error = NULL;
  JsonNode *document = wb_openapi_catalog_build (catalog, http, &error);

  g_assert_no_error (error);
  g_assert_nonnull (document);
  return document;
}

/* Every "$ref" of @node resolves inside @document. */
static guint
assert_refs_resolve (WbTestSchemaSet *set,
                     JsonNode        *node)
{
  guint count = 0;

  if (JSON_NODE_HOLDS_ARRAY (node))
    for (guint i = 0; i < json_array_get_length (json_node_get_array (node)); i++)
      count += assert_refs_resolve (set, json_array_get_element (json_node_get_array (node), i));
  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *object = json_node_get_object (node);
      g_autoptr(GList) members = json_object_get_members (object);

      for (GList *l = members; l; l = l->next)
        {
          JsonNode *member = json_object_get_member (object, l->data);

          if (g_str_equal (l->data, "$ref") && JSON_NODE_HOLDS_VALUE (member))
            {
              const char *ref = json_node_get_string (member);
              g_autoptr(GError) error = NULL;

              g_assert_true (g_str_has_prefix (ref, "#/components/schemas/"));
              g_assert_nonnull (wb_test_schema_resolve (set, "openapi.json", ref + 1, &error));
              g_assert_no_error (error);
              count++;
            }
          else
            count += assert_refs_resolve (set, member);
        }
    }
  return count;
}

/* The compiled-in frame: OpenAPI 3.1, info, servers, the bearer scheme and
 * the error shape every non-public route may answer. */
static void
test_build_frame (void)
{
  g_autoptr(WbHttpServer) http = server_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) document = NULL;
  g_autoptr(WbTestSchemaSet) set = wb_test_schema_set_new (NULL);
  g_autofree char *error_schema = NULL;
  JsonObject *root, *components, *bearer, *schemas;

  add_route (http, "GET", "/healthz", WB_ACCESS_ROLE_NONE);
  add_route (http, "GET", "/whoami", WB_ACCESS_ROLE_VIEWER);
  document = wb_openapi_build (http, &error);
  g_assert_no_error (error);
  root = json_node_get_object (document);

  g_assert_cmpstr (json_object_get_string_member (root, "openapi"), ==, "3.1.0");
  g_assert_cmpstr (json_object_get_string_member (member_object (root, "info"), "title"), ==, "Waybill");
  g_assert_cmpstr (json_object_get_string_member (member_object (root, "info"), "version"), ==, PACKAGE_VERSION);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (root, "servers")), >=, 1);
  components = member_object (root, "components");
  bearer = member_object (member_object (components, "securitySchemes"), "bearerAuth");
  g_assert_cmpstr (json_object_get_string_member (bearer, "type"), ==, "http");
  g_assert_cmpstr (json_object_get_string_member (bearer, "scheme"), ==, "bearer");
  g_assert_cmpstr (json_object_get_string_member (bearer, "bearerFormat"), ==, "JWT");
  schemas = member_object (components, "schemas");
  /* Only what the two routes reach: health, whoami, and Error for 401/403. */
  assert_members (schemas, (const char * const []) { "Health", "Whoami", "Error", NULL });
  error_schema = json_to_string (json_object_get_member (schemas, "Error"), FALSE);
  g_assert_nonnull (strstr (error_schema, "\"required\":[\"error\"]"));
  g_assert_nonnull (strstr (error_schema, "\"required\":[\"code\",\"message\"]"));
  g_assert_null (strstr (error_schema, "$id"));
  wb_test_schema_set_add (set, "openapi.json", document);
  g_assert_cmpuint (assert_refs_resolve (set, document), >=, 4);
}

/* Exactly the routed paths and methods; path parameters from the pattern;
 * security only where the router asks for a token; the operation's own
 * members kept. */
static void
test_build_paths (void)
{
  g_autoptr(WbHttpServer) http = server_new ();
  g_autoptr(WbOpenapiCatalog) catalog = catalog_new (
    "{\"/things\":{"
    "\"get\":{\"summary\":\"List\",\"operationId\":\"listThings\",\"tags\":[\"things\"],"
    "\"parameters\":[{\"name\":\"limit\",\"in\":\"query\",\"schema\":{\"type\":\"integer\"}}],"
    "\"responses\":{\"200\":{\"description\":\"OK\"}}},"
    "\"post\":" OPERATION ("Create") "},"
    "\"/things/{id}\":{\"get\":" OPERATION ("Get") ","
    "\"patch\":{\"summary\":\"Change\",\"operationId\":\"change\",\"parameters\":[{\"name\":\"id\",\"in\":\"path\","
    "\"required\":true,\"description\":\"Mine\",\"schema\":{\"type\":\"string\"}}],"
    "\"responses\":{\"200\":{\"description\":\"OK\"},\"403\":{\"description\":\"Own words\"}}}},"
    "\"/things/{id}/parts/{part}\":{\"delete\":" OPERATION ("Remove") "},"
    "\"/public\":{\"get\":{\"summary\":\"Open\",\"operationId\":\"open\",\"security\":[{\"bearerAuth\":[]}],"
    "\"responses\":{\"200\":{\"description\":\"OK\"}}}},"
    "\"/unrouted\":{\"get\":" OPERATION ("Unrouted") "}}", NULL);
  g_autoptr(JsonNode) document = NULL;
  g_autoptr(JsonNode) again = NULL;
  g_autofree char *text = NULL;
  g_autofree char *text_again = NULL;
  JsonObject *paths, *op;

  add_route (http, "GET", "/things", WB_ACCESS_ROLE_VIEWER);
  add_route (http, "POST", "/things", WB_ACCESS_ROLE_DISPATCHER);
  add_route (http, "GET", "/things/{id}", WB_ACCESS_ROLE_VIEWER);
  add_route (http, "PATCH", "/things/{id}", WB_ACCESS_ROLE_DISPATCHER);
  add_route (http, "DELETE", "/things/{id}/parts/{part}", WB_ACCESS_ROLE_ADMIN);
  add_route (http, "GET", "/public", WB_ACCESS_ROLE_NONE);
  document = build_ok (catalog, http);
  paths = member_object (json_node_get_object (document), "paths");

  assert_members (paths, (const char * const []) { "/things", "/things/{id}", "/things/{id}/parts/{part}", "/public", NULL });
  assert_members (member_object (paths, "/things"), (const char * const []) { "get", "post", NULL });
  assert_members (member_object (paths, "/things/{id}"), (const char * const []) { "get", "patch", NULL });
  assert_members (member_object (paths, "/things/{id}/parts/{part}"), (const char * const []) { "delete", NULL });
  assert_members (member_object (paths, "/public"), (const char * const []) { "get", NULL });
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (
                     json_object_get_array_member (json_node_get_object (document), "tags"), 0), "name"), ==, "things");

  op = member_object (member_object (paths, "/things"), "get");
  g_assert_cmpstr (json_object_get_string_member (op, "operationId"), ==, "listThings");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (op, "parameters")), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (json_object_get_array_member (op, "parameters"), 0), "in"),
                   ==, "query");
  assert_bearer_security (op);
  g_assert_cmpstr (json_object_get_string_member (op, "x-waybill-min-role"), ==, "viewer");

  op = member_object (member_object (paths, "/things"), "post");
  g_assert_false (json_object_has_member (op, "parameters"));
  assert_bearer_security (op);
  g_assert_cmpstr (json_object_get_string_member (op, "x-waybill-min-role"), ==, "dispatcher");

  op = member_object (member_object (paths, "/things/{id}"), "get");
  assert_path_parameters (op, (const char * const []) { "id", NULL });
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (op, "parameters")), ==, 1);

  /* An operation that describes its own path parameter keeps it, once. */
  op = member_object (member_object (paths, "/things/{id}"), "patch");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (op, "parameters")), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (json_object_get_array_member (op, "parameters"), 0), "description"),
                   ==, "Mine");
  g_assert_cmpstr (json_object_get_string_member (member_object (member_object (op, "responses"), "403"), "description"),
                   ==, "Own words");

  op = member_object (member_object (paths, "/things/{id}/parts/{part}"), "delete");
  assert_path_parameters (op, (const char * const []) { "id", "part", NULL });
  assert_bearer_security (op);

  /* Public: no security, whatever the operation claimed. */
  op = member_object (member_object (paths, "/public"), "get");
  g_assert_false (json_object_has_member (op, "security"));
  g_assert_false (json_object_has_member (op, "parameters"));
  g_assert_false (json_object_has_member (op, "x-waybill-min-role"));
  g_assert_false (json_object_has_member (member_object (op, "responses"), "401"));

  /* What one build adds never reaches the catalog. */
  again = build_ok (catalog, http);
  text = json_to_string (document, FALSE);
  text_again = json_to_string (again, FALSE);
  g_assert_cmpstr (text, ==, text_again);
}

static const char * const thing_schemas[] = {
  "thing.schema.json",
  "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\",\"$id\":\"urn:t:thing\",\"type\":\"object\","
  "\"properties\":{\"when\":{\"$ref\":\"#/$defs/time\"},\"part\":{\"$ref\":\"part.schema.json#/$defs/part\"},"
  "\"self\":{\"$ref\":\"#\"}},\"$defs\":{\"time\":{\"type\":\"string\",\"format\":\"date-time\"}}}",
  "part.schema.json",
  "{\"$id\":\"urn:t:part\",\"$defs\":{\"part\":{\"type\":\"object\",\"properties\":{\"of\":{\"$ref\":\"thing.schema.json\"}}}}}",
  "unused.schema.json", "{\"type\":\"string\"}",
  NULL,
};

/* Schemas are inlined under components/schemas, once each and only those
 * reached, with every $ref (inside a file, across files, from operations)
 * rewritten to point there. */
static void
test_build_schema_refs (void)
{
  g_autoptr(WbHttpServer) http = server_new ();
  g_autoptr(WbOpenapiCatalog) catalog = catalog_new (
    "{\"/things/{id}\":{\"put\":{\"summary\":\"Put\",\"operationId\":\"put\","
    "\"requestBody\":{\"content\":{\"application/json\":{\"schema\":{\"$ref\":\"../schemas/part.schema.json#/$defs/part\"}}}},"
    "\"responses\":{\"200\":{\"description\":\"OK\",\"content\":{\"application/json\":"
    "{\"schema\":{\"$ref\":\"../schemas/thing.schema.json\"}}}}}}}}", thing_schemas);
  g_autoptr(JsonNode) document = NULL;
  g_autoptr(WbTestSchemaSet) set = wb_test_schema_set_new (NULL);
  g_autofree char *thing = NULL;
  g_autofree char *part = NULL;
  g_autofree char *operation = NULL;
  JsonObject *schemas;

  add_route (http, "PUT", "/things/{id}", WB_ACCESS_ROLE_ADMIN);
  document = build_ok (catalog, http);
  schemas = member_object (member_object (json_node_get_object (document), "components"), "schemas");
  assert_members (schemas, (const char * const []) { "Part", "Thing", "Error", NULL });

  thing = json_to_string (json_object_get_member (schemas, "Thing"), FALSE);
  g_assert_nonnull (strstr (thing, "\"$ref\":\"#/components/schemas/Thing/$defs/time\""));
  g_assert_nonnull (strstr (thing, "\"$ref\":\"#/components/schemas/Part/$defs/part\""));
  g_assert_nonnull (strstr (thing, "\"$ref\":\"#/components/schemas/Thing\""));
  g_assert_null (strstr (thing, "$id"));
  g_assert_null (strstr (thing, "$schema"));
  part = json_to_string (json_object_get_member (schemas, "Part"), FALSE);
  g_assert_nonnull (strstr (part, "\"$ref\":\"#/components/schemas/Thing\""));
  operation = json_to_string (json_object_get_member (member_object (json_node_get_object (document), "paths"), "/things/{id}"), FALSE);
  g_assert_nonnull (strstr (operation, "\"$ref\":\"#/components/schemas/Part/$defs/part\""));
  g_assert_null (strstr (operation, "../schemas"));

  wb_test_schema_set_add (set, "openapi.json", document);
  g_assert_cmpuint (assert_refs_resolve (set, document), ==, 8);
}

static void
test_component_names (void)
{
  g_autofree char *a = wb_openapi_schema_component_name ("shipment-event-page.schema.json");
  g_autofree char *b = wb_openapi_schema_component_name ("error.schema.json");
  g_autofree char *c = wb_openapi_schema_component_name ("device.first_seen.schema.json");

  g_assert_cmpstr (a, ==, "ShipmentEventPage");
  g_assert_cmpstr (b, ==, "Error");
  g_assert_cmpstr (c, ==, "DeviceFirstSeen");
}

static void
test_build_undocumented (void)
{
  g_autoptr(WbHttpServer) http = server_new ();
  g_autoptr(WbOpenapiCatalog) catalog = catalog_new ("{\"/things\":{\"get\":" OPERATION ("List") "},"
                                                     "\"/later\":{\"get\":" OPERATION ("Later") "}}", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) document = NULL;

  add_route (http, "GET", "/things", WB_ACCESS_ROLE_VIEWER);
  add_route (http, "POST", "/things/{id}/archive", WB_ACCESS_ROLE_ADMIN);
  add_route (http, "GET", "/later", WB_ACCESS_ROLE_NONE);

  document = wb_openapi_catalog_build (catalog, http, &error);
  g_assert_null (document);
  g_assert_error (error, WB_OPENAPI_ERROR, WB_OPENAPI_ERROR_UNDOCUMENTED);
  g_assert_nonnull (strstr (error->message, "POST /things/{id}/archive"));
}

/* An operation no route serves: the daemon refuses to start on it. */
static void
test_build_unrouted (void)
{
  g_autoptr(WbHttpServer) http = server_new ();
  g_autoptr(WbOpenapiCatalog) catalog = catalog_new ("{\"/things\":{\"get\":" OPERATION ("List") ","
                                                     "\"delete\":" OPERATION ("Drop") "}}", NULL);
  g_autoptr(GError) error = NULL;

  add_route (http, "GET", "/things", WB_ACCESS_ROLE_VIEWER);
  g_assert_false (wb_openapi_catalog_check_routed (catalog, http, &error));
  g_assert_error (error, WB_OPENAPI_ERROR, WB_OPENAPI_ERROR_UNROUTED);
  g_assert_nonnull (strstr (error->message, "DELETE /things"));
  g_clear_error (&error);

  add_route (http, "DELETE", "/things", WB_ACCESS_ROLE_ADMIN);
  g_assert_true (wb_openapi_catalog_check_routed (catalog, http, &error));
  g_assert_no_error (error);
}

typedef struct
{
  const char *name;
  const char *operation_json;
} InvalidCase;

static const InvalidCase invalid_cases[] = {
  { "no-summary", "{\"operationId\":\"x\",\"responses\":{\"200\":{\"description\":\"OK\"}}}" },
  { "summary-not-string", "{\"summary\":{},\"operationId\":\"x\",\"responses\":{\"200\":{\"description\":\"OK\"}}}" },
  { "no-operation-id", "{\"summary\":\"x\",\"responses\":{\"200\":{\"description\":\"OK\"}}}" },
  { "no-responses", "{\"summary\":\"x\",\"operationId\":\"x\"}" },
  { "responses-not-object", "{\"summary\":\"x\",\"operationId\":\"x\",\"responses\":[]}" },
  { "response-without-description", "{\"summary\":\"x\",\"operationId\":\"x\",\"responses\":{\"200\":{}}}" },
  { "content-without-schema", "{\"summary\":\"x\",\"operationId\":\"x\",\"responses\":{\"200\":{\"description\":\"OK\","
    "\"content\":{\"application/json\":{}}}}}" },
  { "unknown-schema", "{\"summary\":\"x\",\"operationId\":\"x\",\"responses\":{\"200\":{\"description\":\"OK\","
    "\"content\":{\"application/json\":{\"schema\":{\"$ref\":\"../schemas/nothing.schema.json\"}}}}}}" },
};

static void
test_build_invalid (gconstpointer data)
{
  const InvalidCase *c = data;
  g_autofree char *paths = g_strdup_printf ("{\"/things/{id}\":{\"put\":%s}}", c->operation_json);
  g_autoptr(WbOpenapiCatalog) catalog = catalog_new (paths, NULL);
  g_autoptr(WbHttpServer) http = server_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) document = NULL;

  add_route (http, "PUT", "/things/{id}", WB_ACCESS_ROLE_NONE);
  document = wb_openapi_catalog_build (catalog, http, &error);
  g_assert_null (document);
  g_assert_error (error, WB_OPENAPI_ERROR, WB_OPENAPI_ERROR_INVALID);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, "PUT /things/{id}: "));
}

static void
test_build_unknown_method (void)
{
  g_autoptr(WbHttpServer) http = server_new ();
  g_autoptr(WbOpenapiCatalog) catalog = catalog_new ("{}", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) document = NULL;

  add_route (http, "BREW", "/coffee", WB_ACCESS_ROLE_NONE);
  document = wb_openapi_catalog_build (catalog, http, &error);
  g_assert_null (document);
  g_assert_error (error, WB_OPENAPI_ERROR, WB_OPENAPI_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "BREW /coffee"));
}

/* A data file that names a method twice or a non-method is refused. */
static void
test_catalog_refuses (void)
{
  g_autoptr(JsonNode) frame = parse (FRAME);
  g_autoptr(WbOpenapiCatalog) catalog = wb_openapi_catalog_new (frame);
  g_autoptr(JsonNode) first = parse ("{\"paths\":{\"/a\":{\"get\":" OPERATION ("A") "}}}");
  g_autoptr(JsonNode) twice = parse ("{\"paths\":{\"/a\":{\"get\":" OPERATION ("B") "}}}");
  g_autoptr(JsonNode) brew = parse ("{\"paths\":{\"/b\":{\"brew\":" OPERATION ("C") "}}}");
  g_autoptr(JsonNode) no_paths = parse ("{\"path\":{}}");
  g_autoptr(GError) error = NULL;

  g_assert_true (wb_openapi_catalog_add_paths (catalog, "one.json", first, &error));
  g_assert_false (wb_openapi_catalog_add_paths (catalog, "two.json", twice, &error));
  g_assert_error (error, WB_OPENAPI_ERROR, WB_OPENAPI_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "two.json: get /a is described twice"));
  g_clear_error (&error);
  g_assert_false (wb_openapi_catalog_add_paths (catalog, "three.json", brew, &error));
  g_assert_error (error, WB_OPENAPI_ERROR, WB_OPENAPI_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (wb_openapi_catalog_add_paths (catalog, "four.json", no_paths, &error));
  g_assert_error (error, WB_OPENAPI_ERROR, WB_OPENAPI_ERROR_INVALID);
}

/* ---- /openapi.json on a real socket ------------------------------------- */

typedef struct
{
  guint       port;
  const char *path;
  guint       status;
  char       *body;
  GMainLoop  *loop;
} Fetch;

static gboolean
quit_loop (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

/* The client runs in its own thread with a blocking session, so the server
 * keeps the main context. */
static gpointer
fetch_thread (gpointer data)
{
  Fetch *fetch = data;
  g_autoptr(SoupSession) session = soup_session_new_with_options ("timeout", 10, NULL);
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u%s", fetch->port, fetch->path);
  g_autoptr(SoupMessage) message = soup_message_new ("GET", uri);
  g_autoptr(GBytes) body = soup_session_send_and_read (session, message, NULL, NULL);

  fetch->status = soup_message_get_status (message);
  fetch->body = body ? g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body)) : NULL;
  g_idle_add (quit_loop, fetch->loop);
  return NULL;
}

static guint
fetch (WbHttpServer  *http,
       const char    *path,
       char         **out_body)
{
  Fetch f = { wb_http_server_get_port (http), path, 0, NULL, g_main_loop_new (NULL, FALSE) };
  GThread *thread = g_thread_new ("client", fetch_thread, &f);

  g_main_loop_run (f.loop);
  g_thread_join (thread);
  g_main_loop_unref (f.loop);
  *out_body = f.body;
  return f.status;
}

static void
test_served (void)
{
  g_autoptr(WbHttpServer) http = server_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) document = NULL;
  g_autofree char *body = NULL;
  JsonObject *paths, *op;

  add_route (http, "GET", "/healthz", WB_ACCESS_ROLE_NONE);
  wb_openapi_register (http);
  g_assert_true (wb_http_server_listen (http, "127.0.0.1", 0, &error));
  g_assert_no_error (error);

  g_assert_cmpuint (fetch (http, "/openapi.json", &body), ==, 200);
  /* Compact, like every answer. */
  g_assert_null (strstr (body, "\n "));
  document = wb_json_parse (body, strlen (body), NULL, &error);
  g_assert_no_error (error);
  paths = member_object (json_node_get_object (document), "paths");
  assert_members (paths, (const char * const []) { "/healthz", "/openapi.json", NULL });
  op = member_object (member_object (paths, "/openapi.json"), "get");
  g_assert_false (json_object_has_member (op, "security"));
  g_assert_nonnull (json_object_get_string_member (op, "summary"));
  g_clear_pointer (&body, g_free);

  /* A route added later without an operation breaks the document, loudly. */
  add_route (http, "DELETE", "/things/{id}", WB_ACCESS_ROLE_ADMIN);
  g_test_expect_message ("Waybill-Server", G_LOG_LEVEL_WARNING, "*DELETE /things/{id}*");
  g_assert_cmpuint (fetch (http, "/openapi.json", &body), ==, 500);
  g_test_assert_expected_messages ();
  g_assert_nonnull (strstr (body, "{\"error\":{\"code\":\"openapi_incomplete\",\"message\":\"DELETE /things/{id} "));
}

/* ---- the drift test, against the built daemon --------------------------- */

static WbTestDaemon *
daemon_spawn (const char *dsn)
{
  g_autofree char *env_dsn = g_strconcat ("DB_DSN=", dsn, NULL);
  const char *env[] = { env_dsn, NULL };

  return wb_test_daemon_spawn (env, NULL);
}

static void
daemon_stop (WbTestDaemon *d)
{
  g_assert_cmpint (wb_test_daemon_terminate (d), ==, 0);
  wb_test_daemon_free (d);
}

static guint
send_request (SoupSession  *session,
              guint         port,
              const char   *method,
              const char   *path,
              char        **out_body)
{
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u%s", port, path);
  g_autoptr(SoupMessage) message = soup_message_new (method, uri);
  g_autoptr(GBytes) body = NULL;

  if (g_str_equal (method, "POST") || g_str_equal (method, "PUT") || g_str_equal (method, "PATCH"))
    {
      g_autoptr(GBytes) empty_object = g_bytes_new_static ("{}", 2);

      soup_message_set_request_body_from_bytes (message, "application/json", empty_object);
    }
  body = soup_session_send_and_read (session, message, NULL, NULL);
  *out_body = body ? g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body)) : g_strdup ("");
  return soup_message_get_status (message);
}

static void
wait_ready (SoupSession *session,
            guint        port)
{
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < deadline)
    {
      g_autofree char *body = NULL;

      if (send_request (session, port, "GET", "/readyz", &body) == 200)
        return;
      g_usleep (50 * 1000);
    }
  g_error ("waybilld did not become ready");
}

/* "x" for every "{param}", so the router has something to match. */
static char *
concrete_path (const char *pattern)
{
  g_auto(GStrv) segments = g_strsplit (pattern, "/", -1);

  for (guint i = 0; segments[i]; i++)
    if (segments[i][0] == '{')
      {
        g_free (segments[i]);
        segments[i] = g_strdup ("x");
      }
  return g_strjoinv ("/", segments);
}

/* The router's own miss ("No resource at …") differs from a handler's 404
 * for a missing "x": only the former means the route is not served. */
static void
check_served (SoupSession *session,
              guint        port,
              const char  *method,
              const char  *pattern)
{
  g_autofree char *path = concrete_path (pattern);
  g_autofree char *upper = g_ascii_strup (method, -1);
  g_autofree char *body = NULL;
  guint status = send_request (session, port, upper, path, &body);

  g_test_message ("%s %s → %u", upper, path, status);
  g_assert_cmpuint (status, >=, 100);
  g_assert_cmpuint (status, !=, SOUP_STATUS_METHOD_NOT_ALLOWED);
  if (strchr (pattern, '{') == NULL)
    g_assert_cmpuint (status, !=, SOUP_STATUS_NOT_FOUND);
  if (status == SOUP_STATUS_NOT_FOUND)
    g_assert_null (strstr (body, "No resource at"));
}

static void
test_daemon_serves_every_documented_route (void)
{
  g_autofree char *dsn = wb_test_pg_create_database ("openapi");
  g_autoptr(SoupSession) session = soup_session_new_with_options ("timeout", 10, NULL);
  g_autoptr(JsonNode) document = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *body = NULL;
  WbTestDaemon *d = daemon_spawn (dsn);
  guint port = wb_test_daemon_port (d);
  g_autoptr(WbTestSchemaSet) set = wb_test_schema_set_new (NULL);
  guint status, refs;
  JsonObject *paths;
  GList *patterns;

  wait_ready (session, port);
  status = send_request (session, port, "GET", "/openapi.json", &body);
  if (status != 200)
    {
      g_test_fail_printf ("GET /openapi.json answered %u: %s", status, body);
      daemon_stop (d);
      return;
    }
  document = json_from_string (body, &error);
  g_assert_no_error (error);
  paths = member_object (json_node_get_object (document), "paths");
  g_assert_true (json_object_has_member (paths, "/openapi.json"));
  g_assert_true (json_object_has_member (paths, "/healthz"));
  /* Self-contained: every $ref of the served document points into it. */
  wb_test_schema_set_add (set, "openapi.json", document);
  refs = assert_refs_resolve (set, document);
  g_test_message ("%u $refs resolve inside the served document", refs);
  g_assert_cmpuint (refs, >=, 100);

  patterns = json_object_get_members (paths);
  for (GList *p = patterns; p; p = p->next)
    {
      GList *methods = json_object_get_members (member_object (paths, p->data));

      for (GList *m = methods; m; m = m->next)
        check_served (session, port, m->data, p->data);
      g_list_free (methods);
    }
  g_list_free (patterns);
  daemon_stop (d);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/openapi/build/frame", test_build_frame);
  g_test_add_func ("/openapi/build/paths", test_build_paths);
  g_test_add_func ("/openapi/build/schema-refs", test_build_schema_refs);
  g_test_add_func ("/openapi/build/component-names", test_component_names);
  g_test_add_func ("/openapi/build/undocumented", test_build_undocumented);
  g_test_add_func ("/openapi/build/unrouted", test_build_unrouted);
  g_test_add_func ("/openapi/build/unknown-method", test_build_unknown_method);
  g_test_add_func ("/openapi/catalog/refuses", test_catalog_refuses);
  for (guint i = 0; i < G_N_ELEMENTS (invalid_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/openapi/build/invalid/%s", invalid_cases[i].name);

      g_test_add_data_func (path, &invalid_cases[i], test_build_invalid);
    }
  g_test_add_func ("/openapi/served", test_served);
  g_test_add_func ("/openapi/daemon/serves-every-documented-route", test_daemon_serves_every_documented_route);

  return g_test_run ();
}
