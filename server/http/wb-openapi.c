// SPDX-License-Identifier: GPL-3.0-or-later
/* The OpenAPI 3.1 document, assembled from data files and the routing
 * table. Operations live in data/openapi/<area>.json, keyed by path and
 * method as in an OpenAPI "paths" object; their bodies $ref the JSON
 * Schemas of data/schemas/ by file name. The served document holds exactly
 * the routes the router has: each route's operation, with what only the
 * router knows added (path parameters, whether a bearer token is needed),
 * and every schema reached by a $ref inlined under components/schemas with
 * the $ref rewritten to point there, so the document stands alone. A route
 * without an operation, or (wb_openapi_check) an operation without a
 * route, is an error naming it. */

#include "config.h"

#include <string.h>

#include "wb-json.h"
#include "wb-openapi.h"
#include "wb-openapi-resources.h"

#define RESOURCE_BASE   "/org/waybill/Waybill/openapi/"
#define SECURITY_SCHEME "bearerAuth"
#define ERROR_SCHEMA    "error.schema.json"
#define COMPONENT_REF   "#/components/schemas/"

G_DEFINE_QUARK (wb-openapi-error-quark, wb_openapi_error)

struct _WbOpenapiCatalog
{
  JsonNode   *frame;
  JsonObject *paths;     /* pattern → { method → operation } */
  JsonArray  *tags;
  GHashTable *schemas;   /* file name → JsonNode */
};

static const char * const http_methods[] = {
  "get", "put", "post", "delete", "options", "head", "patch", "trace", NULL,
};

/* json_node_copy() shares arrays and objects; what a build changes must
 * not reach the catalog. */
static JsonNode *
deep_copy (JsonNode *node)
{
  JsonNode *copy;

  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *object = json_object_new ();
      g_autoptr(GList) members = json_object_get_members (json_node_get_object (node));

      for (GList *l = members; l; l = l->next)
        json_object_set_member (object, l->data, deep_copy (json_object_get_member (json_node_get_object (node), l->data)));
      copy = json_node_init_object (json_node_alloc (), object);
      json_object_unref (object);
    }
  else if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_array_new ();

      for (guint i = 0; i < json_array_get_length (json_node_get_array (node)); i++)
        json_array_add_element (array, deep_copy (json_array_get_element (json_node_get_array (node), i)));
      copy = json_node_init_array (json_node_alloc (), array);
      json_array_unref (array);
    }
  else
    copy = json_node_copy (node);
  return copy;
}

/* ---- the catalog ------------------------------------------------------------ */

/**
 * wb_openapi_catalog_new:
 * @frame: the document without paths (openapi, info, servers, components)
 */
WbOpenapiCatalog *
wb_openapi_catalog_new (JsonNode *frame)
{
  WbOpenapiCatalog *self;

  g_return_val_if_fail (frame != NULL && JSON_NODE_HOLDS_OBJECT (frame), NULL);

  self = g_new0 (WbOpenapiCatalog, 1);
  self->frame = deep_copy (frame);
  self->paths = json_object_new ();
  self->tags = json_array_new ();
  self->schemas = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) json_node_unref);
  return self;
}

void
wb_openapi_catalog_free (WbOpenapiCatalog *self)
{
  if (self == NULL)
    return;
  json_node_unref (self->frame);
  json_object_unref (self->paths);
  json_array_unref (self->tags);
  g_hash_table_unref (self->schemas);
  g_free (self);
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
get_object (JsonObject *object,
            const char *name)
{
  JsonNode *node = object ? json_object_get_member (object, name) : NULL;

  return node && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

static gboolean
add_path_item (WbOpenapiCatalog  *self,
               const char        *name,
               const char        *pattern,
               JsonNode          *item,
               GError           **error)
{
  JsonObject *methods = JSON_NODE_HOLDS_OBJECT (item) ? json_node_get_object (item) : NULL;
  g_autoptr(GList) keys = methods ? json_object_get_members (methods) : NULL;
  JsonObject *known = object_member (self->paths, pattern);

  if (methods == NULL)
    {
      g_set_error (error, WB_OPENAPI_ERROR, WB_OPENAPI_ERROR_INVALID, "%s: %s is not an object", name, pattern);
      return FALSE;
    }
  for (GList *l = keys; l; l = l->next)
    {
      if (!g_strv_contains (http_methods, l->data) || json_object_has_member (known, l->data))
        {
          g_set_error (error, WB_OPENAPI_ERROR, WB_OPENAPI_ERROR_INVALID, "%s: %s %s is %s", name,
                       (char *) l->data, pattern, json_object_has_member (known, l->data)
                       ? "described twice" : "not an OpenAPI method");
          return FALSE;
        }
      json_object_set_member (known, l->data, deep_copy (json_object_get_member (methods, l->data)));
    }
  return TRUE;
}

/**
 * wb_openapi_catalog_add_paths:
 * @name: where @document comes from, for errors
 * @document: `{"tags":[…]?,"paths":{pattern:{method:operation}}}`
 */
gboolean
wb_openapi_catalog_add_paths (WbOpenapiCatalog  *self,
                              const char        *name,
                              JsonNode          *document,
                              GError           **error)
{
  JsonObject *root = JSON_NODE_HOLDS_OBJECT (document) ? json_node_get_object (document) : NULL;
  JsonObject *paths = get_object (root, "paths");
  JsonNode *tags = root ? json_object_get_member (root, "tags") : NULL;
  g_autoptr(GList) patterns = NULL;

  g_return_val_if_fail (self != NULL, FALSE);

  if (paths == NULL)
    {
      g_set_error (error, WB_OPENAPI_ERROR, WB_OPENAPI_ERROR_INVALID, "%s has no \"paths\" object", name);
      return FALSE;
    }
  patterns = json_object_get_members (paths);
  for (GList *l = patterns; l; l = l->next)
    if (!add_path_item (self, name, l->data, json_object_get_member (paths, l->data), error))
      return FALSE;
  for (guint i = 0; tags && JSON_NODE_HOLDS_ARRAY (tags) && i < json_array_get_length (json_node_get_array (tags)); i++)
    json_array_add_element (self->tags, deep_copy (json_array_get_element (json_node_get_array (tags), i)));
  return TRUE;
}

/**
 * wb_openapi_catalog_add_schema:
 * @file_name: how operations and other schemas $ref it, e.g. "error.schema.json"
 */
void
wb_openapi_catalog_add_schema (WbOpenapiCatalog *self,
                               const char       *file_name,
                               JsonNode         *schema)
{
  g_return_if_fail (self != NULL && file_name != NULL && schema != NULL);

  g_hash_table_replace (self->schemas, g_strdup (file_name), deep_copy (schema));
}

static JsonNode *
load_resource (const char  *name,
               GError     **error)
{
  g_autofree char *path = g_strconcat (RESOURCE_BASE, name, NULL);
  g_autoptr(GBytes) bytes = g_resource_lookup_data (wb_openapi_get_resource (), path,
                                                    G_RESOURCE_LOOKUP_FLAGS_NONE, error);
  g_autoptr(GError) parse_error = NULL;
  JsonNode *node;

  if (bytes == NULL)
    return NULL;
  if ((node = wb_json_parse_bytes (bytes, NULL, &parse_error)) == NULL)
    g_set_error (error, WB_OPENAPI_ERROR, WB_OPENAPI_ERROR_INVALID, "%s: %s", name, parse_error->message);
  return node;
}

static gboolean
load_children (WbOpenapiCatalog  *self,
               const char        *folder,
               gboolean           schemas,
               GError           **error)
{
  g_autofree char *path = g_strconcat (RESOURCE_BASE, folder, NULL);
  g_auto(GStrv) names = g_resource_enumerate_children (wb_openapi_get_resource (), path,
                                                       G_RESOURCE_LOOKUP_FLAGS_NONE, error);

  for (guint i = 0; names && names[i]; i++)
    {
      g_autofree char *name = g_strconcat (folder, names[i], NULL);
      g_autoptr(JsonNode) node = load_resource (name, error);

      if (node == NULL)
        return FALSE;
      if (schemas)
        wb_openapi_catalog_add_schema (self, names[i], node);
      else if (!wb_openapi_catalog_add_paths (self, name, node, error))
        return FALSE;
    }
  return names != NULL;
}

static WbOpenapiCatalog *
load_default (GError **error)
{
  g_autoptr(JsonNode) frame = load_resource ("openapi.json", error);
  g_autoptr(WbOpenapiCatalog) catalog = NULL;

  if (frame == NULL)
    return NULL;
  json_object_set_string_member (object_member (json_node_get_object (frame), "info"), "version", PACKAGE_VERSION);
  catalog = wb_openapi_catalog_new (frame);
  if (!load_children (catalog, "paths/", FALSE, error) || !load_children (catalog, "schemas/", TRUE, error))
    return NULL;
  return g_steal_pointer (&catalog);
}

/**
 * wb_openapi_catalog_get_default:
 *
 * Returns: (transfer none) (nullable): data/openapi/ and data/schemas/ as
 *   compiled in, loaded once and never changed afterwards
 */
WbOpenapiCatalog *
wb_openapi_catalog_get_default (GError **error)
{
  static GMutex mutex;
  static WbOpenapiCatalog *catalog;
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&mutex);

  if (catalog == NULL)
    catalog = load_default (error);
  return catalog;
}

/* ---- schemas as components --------------------------------------------------- */

/**
 * wb_openapi_schema_component_name:
 *
 * Returns: (transfer full): the name under components/schemas of a schema
 *   file: "shipment-event-page.schema.json" is ShipmentEventPage
 */
char *
wb_openapi_schema_component_name (const char *file_name)
{
  GString *name = g_string_new (NULL);
  gboolean upper = TRUE;

  for (const char *p = file_name; *p && !g_str_equal (p, ".schema.json") && !g_str_equal (p, ".json"); p++)
    {
      if (!g_ascii_isalnum (*p))
        upper = TRUE;
      else
        {
          g_string_append_c (name, upper ? g_ascii_toupper (*p) : *p);
          upper = FALSE;
        }
    }
  return g_string_free (name, FALSE);
}

typedef struct
{
  WbOpenapiCatalog *catalog;
  JsonObject       *components;   /* components/schemas of the document built */
  const char       *where;        /* "METHOD PATTERN" or a schema file, for errors */
  GError           *error;
} Inline;

static void rewrite_refs (Inline     *state,
                          const char *file_name,
                          JsonNode   *node);

/* Adds a schema file under components/schemas, once, its own $refs
 * rewritten; $id and $schema go, so that the document is the base. */
static gboolean
inline_schema (Inline     *state,
               const char *file_name,
               const char *component)
{
  JsonNode *schema = g_hash_table_lookup (state->catalog->schemas, file_name);
  JsonNode *copy;
  const char *outer = state->where;

  if (json_object_has_member (state->components, component))
    return TRUE;
  if (schema == NULL || !JSON_NODE_HOLDS_OBJECT (schema))
    {
      g_set_error (&state->error, WB_OPENAPI_ERROR, WB_OPENAPI_ERROR_INVALID,
                   "%s: $ref to %s, which is no schema of data/schemas/", state->where, file_name);
      return FALSE;
    }
  copy = deep_copy (schema);
  json_object_remove_member (json_node_get_object (copy), "$schema");
  json_object_remove_member (json_node_get_object (copy), "$id");
  json_object_set_member (state->components, component, copy);
  state->where = file_name;
  rewrite_refs (state, file_name, copy);
  state->where = outer;
  return state->error == NULL;
}

/* "../schemas/x.schema.json#/p" and, inside x, "#/p" both become
 * "#/components/schemas/X/p"; a $ref already into the document (from an
 * operation, @file_name NULL) stays. */
static void
rewrite_ref (Inline     *state,
             const char *file_name,
             JsonObject *object)
{
  const char *ref = json_object_get_string_member (object, "$ref");
  const char *hash = strchr (ref, '#');
  g_autofree char *target = hash ? g_strndup (ref, hash - ref) : g_strdup (ref);
  g_autofree char *target_file = NULL;
  g_autofree char *component = NULL;
  g_autofree char *rewritten = NULL;

  if (*target == '\0' && file_name == NULL)
    return;
  target_file = *target == '\0' ? g_strdup (file_name) : g_path_get_basename (target);
  component = wb_openapi_schema_component_name (target_file);
  if (!inline_schema (state, target_file, component))
    return;
  rewritten = g_strconcat (COMPONENT_REF, component, hash ? hash + 1 : "", NULL);
  json_object_set_string_member (object, "$ref", rewritten);
}

static void
rewrite_refs (Inline     *state,
              const char *file_name,
              JsonNode   *node)
{
  if (state->error != NULL)
    return;
  if (JSON_NODE_HOLDS_ARRAY (node))
    {
      for (guint i = 0; i < json_array_get_length (json_node_get_array (node)); i++)
        rewrite_refs (state, file_name, json_array_get_element (json_node_get_array (node), i));
    }
  else if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *object = json_node_get_object (node);
      JsonNode *ref = json_object_get_member (object, "$ref");
      g_autoptr(GList) members = NULL;

      /* Before listing the members: replacing one frees its name. */
      if (ref != NULL && json_node_get_value_type (ref) == G_TYPE_STRING)
        rewrite_ref (state, file_name, object);
      members = json_object_get_members (object);
      for (GList *l = members; l && state->error == NULL; l = l->next)
        if (!g_str_equal (l->data, "$ref"))
          rewrite_refs (state, file_name, json_object_get_member (object, l->data));
    }
}

/* ---- operations ------------------------------------------------------------- */

static JsonNode *
error_response (const char *description)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "description");
  json_builder_add_string_value (builder, description);
  json_builder_set_member_name (builder, "content");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "application/json");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "schema");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "$ref");
  json_builder_add_string_value (builder, ERROR_SCHEMA);
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
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
set_security (JsonObject   *operation,
              WbAccessRole  min_role)
{
  JsonObject *responses = object_member (operation, "responses");
  g_autoptr(JsonArray) security = NULL;
  JsonObject *scheme;

  if (json_object_has_member (operation, "security"))
    json_object_remove_member (operation, "security");
  if (min_role == WB_ACCESS_ROLE_NONE)
    return;

  security = json_array_new ();
  scheme = json_object_new ();
  json_object_set_array_member (scheme, SECURITY_SCHEME, json_array_new ());
  json_array_add_object_element (security, scheme);
  json_object_set_array_member (operation, "security", g_steal_pointer (&security));
  json_object_set_string_member (operation, "x-waybill-min-role", wb_access_role_to_string (min_role));
  if (!json_object_has_member (responses, "401"))
    json_object_set_member (responses, "401", error_response ("Missing, invalid or expired bearer token"));
  if (!json_object_has_member (responses, "403"))
    {
      g_autofree char *why = g_strdup_printf ("The token's role is below %s", wb_access_role_to_string (min_role));

      json_object_set_member (responses, "403", error_response (why));
    }
}

static gboolean
is_string (JsonObject *object,
           const char *member)
{
  JsonNode *node = json_object_get_member (object, member);

  return node != NULL && JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING;
}

/* Every response says what its body is: a media type with a schema, or no
 * content at all (304). */
static gboolean
check_responses (const char  *where,
                 JsonObject  *responses,
                 GError     **error)
{
  g_autoptr(GList) statuses = json_object_get_members (responses);

  for (GList *s = statuses; s; s = s->next)
    {
      JsonObject *response = get_object (responses, s->data);
      JsonObject *content = get_object (response, "content");
      g_autoptr(GList) types = content ? json_object_get_members (content) : NULL;
      gboolean ok = response != NULL && is_string (response, "description")
                    && (content != NULL || !json_object_has_member (response, "content"));

      for (GList *t = types; ok && t; t = t->next)
        ok = get_object (get_object (content, t->data), "schema") != NULL;
      if (!ok)
        {
          g_set_error (error, WB_OPENAPI_ERROR, WB_OPENAPI_ERROR_INVALID,
                       "%s: response %s needs a description, and a schema for each media type of its content",
                       where, (char *) s->data);
          return FALSE;
        }
    }
  return TRUE;
}

static JsonObject *
find_operation (WbOpenapiCatalog  *self,
                const char        *method,
                const char        *pattern,
                GError           **error)
{
  g_autofree char *key = g_ascii_strdown (method, -1);
  JsonObject *operation = get_object (get_object (self->paths, pattern), key);

  if (!g_strv_contains (http_methods, key))
    {
      g_set_error (error, WB_OPENAPI_ERROR, WB_OPENAPI_ERROR_INVALID, "%s %s: OpenAPI has no such method",
                   method, pattern);
      return NULL;
    }
  if (operation == NULL)
    {
      g_set_error (error, WB_OPENAPI_ERROR, WB_OPENAPI_ERROR_UNDOCUMENTED,
                   "%s %s has no OpenAPI operation (data/openapi/)", method, pattern);
      return NULL;
    }
  if (!is_string (operation, "summary") || !is_string (operation, "operationId")
      || get_object (operation, "responses") == NULL)
    {
      g_set_error (error, WB_OPENAPI_ERROR, WB_OPENAPI_ERROR_INVALID,
                   "%s %s: its operation needs a \"summary\", an \"operationId\" and a \"responses\" object",
                   method, pattern);
      return NULL;
    }
  return operation;
}

typedef struct
{
  WbOpenapiCatalog *catalog;
  JsonObject       *paths;
  JsonObject       *components;
  GHashTable       *operation_ids;
  GError           *error;
} Build;

static void
add_route (const char   *method,
           const char   *pattern,
           WbAccessRole  min_role,
           const char   *operation_json,
           gpointer      user_data)
{
  Build *build = user_data;
  g_autofree char *key = g_ascii_strdown (method, -1);
  g_autofree char *where = g_strdup_printf ("%s %s", method, pattern);
  JsonObject *found, *path_item, *operation;
  JsonNode *copy;
  Inline state = { build->catalog, build->components, where, NULL };

  if (build->error != NULL
      || (found = find_operation (build->catalog, method, pattern, &build->error)) == NULL)
    return;
  path_item = object_member (build->paths, pattern);
  if (json_object_has_member (path_item, key)
      || !g_hash_table_add (build->operation_ids, g_strdup (json_object_get_string_member (found, "operationId"))))
    {
      g_set_error (&build->error, WB_OPENAPI_ERROR, WB_OPENAPI_ERROR_INVALID, "%s is %s", where,
                   json_object_has_member (path_item, key) ? "routed twice" : "not the only one of its operationId");
      return;
    }
  copy = deep_copy (json_object_get_member (get_object (build->catalog->paths, pattern), key));
  operation = json_node_get_object (copy);
  json_object_set_member (path_item, key, copy);
  add_path_parameters (operation, pattern);
  set_security (operation, min_role);
  if (!check_responses (where, get_object (operation, "responses"), &build->error))
    return;
  rewrite_refs (&state, NULL, copy);
  if (state.error != NULL)
    g_propagate_error (&build->error, state.error);
}

/**
 * wb_openapi_catalog_build:
 * @http: the server whose routes to describe
 *
 * Returns: (transfer full) (nullable): the OpenAPI document of @http's
 *   routes, or %NULL with an error naming the first route that has no
 *   usable operation
 */
JsonNode *
wb_openapi_catalog_build (WbOpenapiCatalog  *self,
                          WbHttpServer      *http,
                          GError           **error)
{
  g_autoptr(JsonNode) document = NULL;
  g_autoptr(GHashTable) operation_ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  JsonObject *root, *components;
  Build build = { self, NULL, NULL, operation_ids, NULL };

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (WB_IS_HTTP_SERVER (http), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  document = deep_copy (self->frame);
  root = json_node_get_object (document);
  components = object_member (root, "components");
  build.components = object_member (components, "schemas");
  build.paths = object_member (root, "paths");
  if (json_array_get_length (self->tags) > 0)
    {
      g_autoptr(JsonNode) tags = json_node_init_array (json_node_alloc (), self->tags);

      json_object_set_member (root, "tags", deep_copy (tags));
    }
  wb_http_server_foreach_route (http, add_route, &build);
  if (build.error != NULL)
    {
      g_propagate_error (error, build.error);
      return NULL;
    }
  return g_steal_pointer (&document);
}

static void
note_route (const char   *method,
            const char   *pattern,
            WbAccessRole  min_role,
            const char   *operation_json,
            gpointer      user_data)
{
  GHashTable *routed = user_data;
  g_autofree char *key = g_ascii_strdown (method, -1);

  g_hash_table_add (routed, g_strdup_printf ("%s %s", key, pattern));
}

/**
 * wb_openapi_catalog_check_routed:
 *
 * Returns: %FALSE with %WB_OPENAPI_ERROR_UNROUTED naming the first
 *   operation of the catalog that @http does not route
 */
gboolean
wb_openapi_catalog_check_routed (WbOpenapiCatalog  *self,
                                 WbHttpServer      *http,
                                 GError           **error)
{
  g_autoptr(GHashTable) routed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GList) patterns = NULL;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (WB_IS_HTTP_SERVER (http), FALSE);

  wb_http_server_foreach_route (http, note_route, routed);
  patterns = json_object_get_members (self->paths);
  for (GList *p = patterns; p; p = p->next)
    {
      g_autoptr(GList) methods = json_object_get_members (get_object (self->paths, p->data));

      for (GList *m = methods; m; m = m->next)
        {
          g_autofree char *key = g_strdup_printf ("%s %s", (char *) m->data, (char *) p->data);
          g_autofree char *upper = NULL;

          if (g_hash_table_contains (routed, key))
            continue;
          upper = g_ascii_strup (m->data, -1);
          g_set_error (error, WB_OPENAPI_ERROR, WB_OPENAPI_ERROR_UNROUTED,
                       "%s %s is described in data/openapi/ but not routed", upper, (char *) p->data);
          return FALSE;
        }
    }
  return TRUE;
}

/* ---- the daemon's document ---------------------------------------------------- */

/**
 * wb_openapi_build:
 * @http: the server whose routes to describe
 *
 * Returns: (transfer full) (nullable): the document from the compiled-in
 *   catalog (wb_openapi_catalog_build())
 */
JsonNode *
wb_openapi_build (WbHttpServer  *http,
                  GError       **error)
{
  WbOpenapiCatalog *catalog = wb_openapi_catalog_get_default (error);

  return catalog ? wb_openapi_catalog_build (catalog, http, error) : NULL;
}

/**
 * wb_openapi_check:
 *
 * For a server with all its routes added: the document builds, and every
 * operation of the compiled-in catalog is routed.
 */
gboolean
wb_openapi_check (WbHttpServer  *http,
                  GError       **error)
{
  g_autoptr(JsonNode) document = wb_openapi_build (http, error);

  return document != NULL
         && wb_openapi_catalog_check_routed (wb_openapi_catalog_get_default (NULL), http, error);
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
}
