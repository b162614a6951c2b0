// SPDX-License-Identifier: GPL-3.0-or-later
/* The OpenAPI 3.0.3 document, built from the routing table itself: each
 * route carries its Operation Object (wb_http_server_document_route), and
 * what only the router knows is added here — the path parameters, and
 * whether a bearer token is needed. A route without documentation fails
 * the build, so the document cannot silently drift from what is served. */

#include "config.h"

#include <string.h>

#include "wb-openapi.h"

#define OPENAPI_VERSION "3.0.3"
#define SECURITY_SCHEME "bearerAuth"

G_DEFINE_QUARK (wb-openapi-error-quark, wb_openapi_error)

static const char * const http_methods[] = {
  "get", "put", "post", "delete", "options", "head", "patch", "trace", NULL,
};

typedef struct
{
  JsonObject *paths;
  GError     *error;
} Build;

static JsonNode *
parse_json (const char *text)
{
  g_autoptr(GError) error = NULL;
  JsonNode *node = json_from_string (text, &error);

  g_assert_no_error (error);
  return node;
}

static JsonObject *
object_member (JsonObject *object,
               const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      json_object_set_object_member (object, name, json_object_new ());
      node = json_object_get_member (object, name);
    }
  return json_node_get_object (node);
}

static JsonObject *
error_response (const char *description)
{
  g_autoptr(JsonNode) schema = parse_json ("{\"application/json\":{\"schema\":"
                                           "{\"$ref\":\"#/components/schemas/Error\"}}}");
  JsonObject *response = json_object_new ();

  json_object_set_string_member (response, "description", description);
  json_object_set_member (response, "content", g_steal_pointer (&schema));
  return response;
}

static gboolean
has_path_parameter (JsonArray  *parameters,
                    const char *name)
{
  for (guint i = 0; i < json_array_get_length (parameters); i++)
    {
      JsonNode *node = json_array_get_element (parameters, i);
      JsonObject *parameter;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      parameter = json_node_get_object (node);
      if (g_strcmp0 (json_object_get_string_member_with_default (parameter, "in", NULL), "path") == 0
          && g_strcmp0 (json_object_get_string_member_with_default (parameter, "name", NULL), name) == 0)
        return TRUE;
    }
  return FALSE;
}

static JsonNode *
path_parameter (const char *name)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, name);
  json_builder_set_member_name (builder, "in");
  json_builder_add_string_value (builder, "path");
  json_builder_set_member_name (builder, "required");
  json_builder_add_boolean_value (builder, TRUE);
  json_builder_set_member_name (builder, "schema");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, "string");
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

/* Every "{name}" segment becomes a required path parameter, first in the
 * list, unless the operation already describes it. */
static void
add_path_parameters (JsonObject *operation,
                     const char *pattern)
{
  g_auto(GStrv) segments = g_strsplit (pattern, "/", -1);
  JsonNode *given = json_object_get_member (operation, "parameters");
  JsonArray *existing = given && JSON_NODE_HOLDS_ARRAY (given) ? json_node_get_array (given) : NULL;
  g_autoptr(JsonArray) parameters = json_array_new ();

  for (guint i = 0; segments[i]; i++)
    {
      g_autofree char *name = NULL;

      if (segments[i][0] != '{')
        continue;
      name = g_strndup (segments[i] + 1, strlen (segments[i]) - 2);
      if (existing == NULL || !has_path_parameter (existing, name))
        json_array_add_element (parameters, path_parameter (name));
    }
  for (guint i = 0; existing && i < json_array_get_length (existing); i++)
    json_array_add_element (parameters, json_node_copy (json_array_get_element (existing, i)));
  if (json_array_get_length (parameters) > 0)
    json_object_set_array_member (operation, "parameters", json_array_ref (parameters));
}

/* What the router enforces is stated, whatever the operation said: public
 * routes take no token; the others take a bearer token and may answer 401
 * and 403. */
static void
set_security (JsonObject *operation,
              WbAccessRole      min_role)
{
  JsonObject *responses = object_member (operation, "responses");
  g_autoptr(JsonNode) security = NULL;

  if (json_object_has_member (operation, "security"))
    json_object_remove_member (operation, "security");
  if (min_role == WB_ACCESS_ROLE_NONE)
    return;

  security = parse_json ("[{\"" SECURITY_SCHEME "\":[]}]");
  json_object_set_member (operation, "security", g_steal_pointer (&security));
  json_object_set_string_member (operation, "x-waybill-min-role", wb_access_role_to_string (min_role));
  if (!json_object_has_member (responses, "401"))
    json_object_set_object_member (responses, "401", error_response ("Missing, invalid or expired bearer token"));
  if (!json_object_has_member (responses, "403"))
    {
      g_autofree char *why = g_strdup_printf ("The token's role is below %s", wb_access_role_to_string (min_role));

      json_object_set_object_member (responses, "403", error_response (why));
    }
}

static JsonObject *
parse_operation (const char  *method,
                 const char  *pattern,
                 const char  *operation_json,
                 GError     **error)
{
  g_autoptr(GError) parse_error = NULL;
  g_autoptr(JsonNode) node = NULL;
  JsonObject *operation;
  JsonNode *summary, *responses;

  if (operation_json == NULL)
    {
      g_set_error (error, WB_OPENAPI_ERROR, WB_OPENAPI_ERROR_UNDOCUMENTED,
                   "%s %s has no OpenAPI operation (see wb_http_server_document_route)", method, pattern);
      return NULL;
    }
  if ((node = json_from_string (operation_json, &parse_error)) == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, WB_OPENAPI_ERROR, WB_OPENAPI_ERROR_INVALID,
                   "%s %s: its operation is not a JSON object%s%s", method, pattern,
                   parse_error ? ": " : "", parse_error ? parse_error->message : "");
      return NULL;
    }
  operation = json_node_get_object (node);
  summary = json_object_get_member (operation, "summary");
  responses = json_object_get_member (operation, "responses");
  if (summary == NULL || json_node_get_value_type (summary) != G_TYPE_STRING
      || responses == NULL || !JSON_NODE_HOLDS_OBJECT (responses))
    {
      g_set_error (error, WB_OPENAPI_ERROR, WB_OPENAPI_ERROR_INVALID,
                   "%s %s: its operation needs a \"summary\" and a \"responses\" object", method, pattern);
      return NULL;
    }
  return json_object_ref (operation);
}

static void
add_route (const char *method,
           const char *pattern,
           WbAccessRole      min_role,
           const char *operation_json,
           gpointer    user_data)
{
  Build *build = user_data;
  g_autofree char *key = g_ascii_strdown (method, -1);
  g_autoptr(JsonObject) operation = NULL;
  JsonObject *path_item;

  if (build->error != NULL)
    return;
  if (!g_strv_contains (http_methods, key))
    {
      g_set_error (&build->error, WB_OPENAPI_ERROR, WB_OPENAPI_ERROR_INVALID,
                   "%s %s: OpenAPI has no such method", method, pattern);
      return;
    }
  if ((operation = parse_operation (method, pattern, operation_json, &build->error)) == NULL)
    return;

  add_path_parameters (operation, pattern);
  set_security (operation, min_role);
  path_item = object_member (build->paths, pattern);
  if (json_object_has_member (path_item, key))
    {
      g_set_error (&build->error, WB_OPENAPI_ERROR, WB_OPENAPI_ERROR_INVALID,
                   "%s %s is routed twice", method, pattern);
      return;
    }
  json_object_set_object_member (path_item, key, g_steal_pointer (&operation));
}

static const char document_frame[] =
  "{\"openapi\":\"" OPENAPI_VERSION "\","
  "\"info\":{\"title\":\"Waybill\",\"version\":\"" PACKAGE_VERSION "\","
  "\"description\":\"Logistics tracking: shipments, their status events and the fleet. "
  "Errors always have the shape {\\\"error\\\":{\\\"code\\\",\\\"message\\\"}}; REST bodies are camelCase JSON.\","
  "\"license\":{\"name\":\"GPL-3.0-or-later\"}},"
  "\"servers\":[{\"url\":\"/\",\"description\":\"The waybilld serving this document\"}],"
  "\"components\":{"
  "\"securitySchemes\":{\"" SECURITY_SCHEME "\":{\"type\":\"http\",\"scheme\":\"bearer\",\"bearerFormat\":\"JWT\","
  "\"description\":\"HS256 token whose role claim is viewer, dispatcher or admin\"}},"
  "\"schemas\":{\"Error\":{\"type\":\"object\",\"required\":[\"error\"],\"properties\":{\"error\":{"
  "\"type\":\"object\",\"required\":[\"code\",\"message\"],\"properties\":{"
  "\"code\":{\"type\":\"string\",\"description\":\"Stable and machine-readable, e.g. not_found\"},"
  "\"message\":{\"type\":\"string\",\"description\":\"For people; names the field at fault\"}}}}}}}}";

/**
 * wb_openapi_build:
 * @http: the server whose routes to describe
 *
 * Returns: (transfer full) (nullable): the OpenAPI document, or %NULL with
 *   an error naming the first route that has no usable documentation
 */
JsonNode *
wb_openapi_build (WbHttpServer  *http,
                  GError       **error)
{
  g_autoptr(JsonNode) document = NULL;
  Build build = { NULL, NULL };

  g_return_val_if_fail (WB_IS_HTTP_SERVER (http), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  document = parse_json (document_frame);
  build.paths = json_object_new ();
  wb_http_server_foreach_route (http, add_route, &build);
  json_object_set_object_member (json_node_get_object (document), "paths", build.paths);
  if (build.error != NULL)
    {
      g_propagate_error (error, build.error);
      return NULL;
    }
  return g_steal_pointer (&document);
}

static void
handle_openapi (WbHttpRequest *request,
                gpointer       user_data)
{
  WbHttpServer *http = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) document = wb_openapi_build (http, &error);

  if (document == NULL)
    {
      g_warning ("The OpenAPI document is incomplete: %s", error->message);
      wb_http_request_respond_error (request, SOUP_STATUS_INTERNAL_SERVER_ERROR, "openapi_incomplete",
                                     "%s", error->message);
      return;
    }
  wb_http_request_respond_json (request, SOUP_STATUS_OK, document);
}

/**
 * wb_openapi_register:
 * @http: the server to describe
 *
 * Adds the public route GET /openapi.json, which answers the document of
 * @http's routes as they are at the time of the request.
 */
void
wb_openapi_register (WbHttpServer *http)
{
  g_return_if_fail (WB_IS_HTTP_SERVER (http));

  /* The server owns its routes, so the route must not own the server. */
  wb_http_server_add_route (http, "GET", "/openapi.json", WB_ACCESS_ROLE_NONE, handle_openapi, http);
  wb_http_server_document_route (http, "GET", "/openapi.json",
    "{\"summary\":\"This OpenAPI " OPENAPI_VERSION " document, built from the routing table\","
    "\"operationId\":\"openapi\",\"tags\":[\"operations\"],"
    "\"responses\":{\"200\":{\"description\":\"The document\","
    "\"content\":{\"application/json\":{\"schema\":{\"type\":\"object\"}}}},"
    "\"500\":{\"description\":\"A route has no usable documentation; the message names it\","
    "\"content\":{\"application/json\":{\"schema\":{\"$ref\":\"#/components/schemas/Error\"}}}}}}");
}
