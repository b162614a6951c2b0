// SPDX-License-Identifier: GPL-3.0-or-later
/* JSON Schema 2020-12, the subset Waybill's schemas use (see the header).
 * Keywords are checked in a fixed order and the first violation wins, so a
 * failure names one place in the instance. Documents are read with
 * wb_json_parse, like every JSON the project reads. */

#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wb-json.h"
#include "wb-test-schema.h"

#define MAX_DEPTH 64

struct _WbTestSchemaSet
{
  char       *directory;
  GHashTable *documents;   /* name → JsonNode */
};

typedef struct
{
  WbTestSchemaSet *set;
  GString         *where;   /* the instance's JSON pointer */
  GError         **error;
  guint            depth;
} Check;

static const char * const annotations[] = {
  "$schema", "$id", "$defs", "$comment", "title", "description", "default", "examples", "deprecated",
  "readOnly", "writeOnly", NULL,
};

static const char * const assertions[] = {
  "$ref", "type", "properties", "required", "additionalProperties", "items", "minItems", "maxItems", "enum",
  "const", "oneOf", "anyOf", "allOf", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
  "minLength", "maxLength", "pattern", "dependentRequired", "format", NULL,
};

static gboolean check_schema (Check      *check,
                              const char *document,
                              JsonNode   *schema,
                              JsonNode   *instance);

WbTestSchemaSet *
wb_test_schema_set_new (const char *directory)
{
  WbTestSchemaSet *self = g_new0 (WbTestSchemaSet, 1);

  self->directory = g_strdup (directory);
  self->documents = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) json_node_unref);
  return self;
}

void
wb_test_schema_set_free (WbTestSchemaSet *self)
{
  if (self == NULL)
    return;
  g_hash_table_unref (self->documents);
  g_free (self->directory);
  g_free (self);
}

void
wb_test_schema_set_add (WbTestSchemaSet *self,
                        const char      *name,
                        JsonNode        *document)
{
  g_hash_table_replace (self->documents, g_strdup (name), json_node_ref (document));
}

static JsonNode *
get_document (WbTestSchemaSet  *self,
              const char       *name,
              GError          **error)
{
  g_autofree char *path = NULL;
  g_autofree char *text = NULL;
  gsize length;
  JsonNode *document = g_hash_table_lookup (self->documents, name);

  if (document != NULL)
    return document;
  if (self->directory == NULL || strchr (name, '/') != NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no schema document %s", name);
      return NULL;
    }
  path = g_build_filename (self->directory, name, NULL);
  if (!g_file_get_contents (path, &text, &length, error))
    return NULL;
  if ((document = wb_json_parse (text, length, NULL, error)) == NULL)
    return NULL;
  g_hash_table_insert (self->documents, g_strdup (name), document);
  return document;
}

static JsonNode *
follow_pointer (JsonNode    *node,
                const char  *pointer,
                GError     **error)
{
  g_auto(GStrv) tokens = NULL;

  if (*pointer == '\0')
    return node;
  if (*pointer != '/')
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "not a JSON pointer: %s", pointer);
      return NULL;
    }
  tokens = g_strsplit (pointer + 1, "/", -1);
  for (guint i = 0; node != NULL && tokens[i]; i++)
    {
      g_autoptr(GString) token = g_string_new (tokens[i]);

      g_string_replace (token, "~1", "/", 0);
      g_string_replace (token, "~0", "~", 0);
      if (JSON_NODE_HOLDS_OBJECT (node))
        node = json_object_get_member (json_node_get_object (node), token->str);
      else if (JSON_NODE_HOLDS_ARRAY (node) && g_ascii_isdigit (token->str[0])
               && g_ascii_strtoull (token->str, NULL, 10) < json_array_get_length (json_node_get_array (node)))
        node = json_array_get_element (json_node_get_array (node), g_ascii_strtoull (token->str, NULL, 10));
      else
        node = NULL;
    }
  if (node == NULL)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "nothing at %s", pointer);
  return node;
}

JsonNode *
wb_test_schema_resolve (WbTestSchemaSet  *self,
                        const char       *name,
                        const char       *pointer,
                        GError          **error)
{
  JsonNode *document = get_document (self, name, error);

  return document ? follow_pointer (document, pointer, error) : NULL;
}

/* "other.schema.json#/$defs/x", "../schemas/other.schema.json", "#/…":
 * documents are named by file name, wherever the reference says they are. */
static JsonNode *
resolve_ref (WbTestSchemaSet  *self,
             const char       *document,
             const char       *ref,
             char            **out_document,
             GError          **error)
{
  const char *hash = strchr (ref, '#');
  g_autofree char *file = hash ? g_strndup (ref, hash - ref) : g_strdup (ref);
  const char *pointer = hash ? hash + 1 : "";

  *out_document = *file == '\0' ? g_strdup (document) : g_path_get_basename (file);
  return wb_test_schema_resolve (self, *out_document, pointer, error);
}

static gboolean G_GNUC_PRINTF (2, 3)
fail (Check      *check,
      const char *format,
      ...)
{
  g_autofree char *why = NULL;
  va_list args;

  if (check->error == NULL)
    return FALSE;
  va_start (args, format);
  why = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (check->error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: %s", check->where->str, why);
  return FALSE;
}

static gboolean
schema_problem (Check      *check,
                const char *keyword,
                const char *why)
{
  return fail (check, "the schema's %s %s", keyword, why);
}

/* ---- types ----------------------------------------------------------------- */

static gboolean
is_number (JsonNode *node)
{
  GType type = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node) : G_TYPE_INVALID;

  return type == G_TYPE_INT64 || type == G_TYPE_DOUBLE;
}

static double
number_value (JsonNode *node)
{
  return json_node_get_value_type (node) == G_TYPE_INT64 ? (double) json_node_get_int (node)
                                                         : json_node_get_double (node);
}

static gboolean
has_type (JsonNode   *node,
          const char *type)
{
  if (g_str_equal (type, "null"))
    return JSON_NODE_HOLDS_NULL (node);
  if (g_str_equal (type, "object"))
    return JSON_NODE_HOLDS_OBJECT (node);
  if (g_str_equal (type, "array"))
    return JSON_NODE_HOLDS_ARRAY (node);
  if (g_str_equal (type, "number"))
    return is_number (node);
  if (g_str_equal (type, "integer"))
    return is_number (node) && (json_node_get_value_type (node) == G_TYPE_INT64
                                || floor (json_node_get_double (node)) == json_node_get_double (node));
  if (g_str_equal (type, "string"))
    return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING;
  if (g_str_equal (type, "boolean"))
    return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_BOOLEAN;
  return FALSE;
}

static const char *
type_name (JsonNode *node)
{
  static const char * const names[] = { "null", "object", "array", "integer", "number", "string", "boolean" };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (has_type (node, names[i]))
      return names[i];
  return "unknown";
}

static gboolean
check_type (Check    *check,
            JsonNode *type,
            JsonNode *instance)
{
  g_autofree char *types = NULL;

  if (JSON_NODE_HOLDS_VALUE (type) && json_node_get_value_type (type) == G_TYPE_STRING)
    {
      if (has_type (instance, json_node_get_string (type)))
        return TRUE;
      return fail (check, "%s where the type is %s", type_name (instance), json_node_get_string (type));
    }
  if (!JSON_NODE_HOLDS_ARRAY (type))
    return schema_problem (check, "type", "is neither a string nor an array");
  for (guint i = 0; i < json_array_get_length (json_node_get_array (type)); i++)
    if (has_type (instance, json_array_get_string_element (json_node_get_array (type), i)))
      return TRUE;
  types = json_to_string (type, FALSE);
  return fail (check, "%s where the type is one of %s", type_name (instance), types);
}

/* json_node_equal() tells 1 from 1.0; JSON Schema does not. */
static gboolean
values_equal (JsonNode *a,
              JsonNode *b)
{
  if (is_number (a) && is_number (b))
    return number_value (a) == number_value (b);
  if (JSON_NODE_HOLDS_ARRAY (a) && JSON_NODE_HOLDS_ARRAY (b))
    {
      JsonArray *x = json_node_get_array (a), *y = json_node_get_array (b);

      if (json_array_get_length (x) != json_array_get_length (y))
        return FALSE;
      for (guint i = 0; i < json_array_get_length (x); i++)
        if (!values_equal (json_array_get_element (x, i), json_array_get_element (y, i)))
          return FALSE;
      return TRUE;
    }
  if (JSON_NODE_HOLDS_OBJECT (a) && JSON_NODE_HOLDS_OBJECT (b))
    {
      JsonObject *x = json_node_get_object (a), *y = json_node_get_object (b);
      g_autoptr(GList) names = json_object_get_members (x);

      if (json_object_get_size (x) != json_object_get_size (y))
        return FALSE;
      for (GList *l = names; l; l = l->next)
        if (!json_object_has_member (y, l->data)
            || !values_equal (json_object_get_member (x, l->data), json_object_get_member (y, l->data)))
          return FALSE;
      return TRUE;
    }
  return json_node_equal (a, b);
}

/* ---- formats ----------------------------------------------------------------- */

/* RFC 3339 section 5.6 date-time, with its ranges (leap second allowed). */
static gboolean
is_date_time (const char *text)
{
  g_autoptr(GRegex) regex = NULL;
  g_autoptr(GMatchInfo) match = NULL;
  guint year, month, day, hour, minute, second;

  regex = g_regex_new ("^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):"
                       "([0-9]{2})(\\.[0-9]+)?([Zz]|[+-]([0-9]{2}):([0-9]{2}))$",
                       0, 0, NULL);
  if (!g_regex_match (regex, text, 0, &match))
    return FALSE;
  if (sscanf (text, "%4u-%2u-%2u%*c%2u:%2u:%2u", &year, &month, &day, &hour, &minute, &second) != 6)
    return FALSE;
  if (month < 1 || month > 12 || day < 1 || year < 1
      || !g_date_valid_dmy (day, month, year) || hour > 23 || minute > 59 || second > 60)
    return FALSE;
  if (g_match_info_get_match_count (match) > 9)
    {
      g_autofree char *zone_hour = g_match_info_fetch (match, 9);
      g_autofree char *zone_minute = g_match_info_fetch (match, 10);

      if (*zone_hour != '\0' && (atoi (zone_hour) > 23 || atoi (zone_minute) > 59))
        return FALSE;
    }
  return TRUE;
}

static gboolean
check_format (Check      *check,
              const char *format,
              JsonNode   *instance)
{
  const char *text;

  if (!has_type (instance, "string"))
    return TRUE;
  text = json_node_get_string (instance);
  if (g_str_equal (format, "date-time"))
    return is_date_time (text) ? TRUE : fail (check, "\"%s\" is not an RFC 3339 date-time", text);
  if (g_str_equal (format, "uuid"))
    return g_uuid_string_is_valid (text) ? TRUE : fail (check, "\"%s\" is not a UUID", text);
  if (g_str_equal (format, "email"))
    return strchr (text, '@') != NULL ? TRUE : fail (check, "\"%s\" is not an e-mail address", text);
  return schema_problem (check, "format", format);
}

/* ---- keywords ------------------------------------------------------------------ */

static gboolean
check_at (Check      *check,
          const char *document,
          JsonNode   *schema,
          JsonNode   *instance,
          const char *member,
          gint        index)
{
  gsize length = check->where->len;
  gboolean ok;

  if (member != NULL)
    {
      g_autoptr(GString) token = g_string_new (member);

      g_string_replace (token, "~", "~0", 0);
      g_string_replace (token, "/", "~1", 0);
      g_string_append_printf (check->where, "/%s", token->str);
    }
  else
    g_string_append_printf (check->where, "/%d", index);
  ok = check_schema (check, document, schema, instance);
  g_string_truncate (check->where, length);
  return ok;
}

static gboolean
check_object (Check      *check,
              const char *document,
              JsonObject *schema,
              JsonObject *instance)
{
  JsonObject *properties = json_object_has_member (schema, "properties")
                           ? json_object_get_object_member (schema, "properties") : NULL;
  JsonNode *additional = json_object_get_member (schema, "additionalProperties");
  g_autoptr(GList) names = json_object_get_members (instance);

  if (json_object_has_member (schema, "required"))
    {
      JsonArray *required = json_object_get_array_member (schema, "required");

      for (guint i = 0; i < json_array_get_length (required); i++)
        if (!json_object_has_member (instance, json_array_get_string_element (required, i)))
          return fail (check, "required member \"%s\" is missing", json_array_get_string_element (required, i));
    }
  if (json_object_has_member (schema, "dependentRequired"))
    {
      JsonObject *dependent = json_object_get_object_member (schema, "dependentRequired");
      g_autoptr(GList) keys = json_object_get_members (dependent);

      for (GList *l = keys; l; l = l->next)
        {
          JsonArray *needs = json_object_get_array_member (dependent, l->data);

          for (guint i = 0; json_object_has_member (instance, l->data) && i < json_array_get_length (needs); i++)
            if (!json_object_has_member (instance, json_array_get_string_element (needs, i)))
              return fail (check, "\"%s\" needs \"%s\"", (char *) l->data, json_array_get_string_element (needs, i));
        }
    }
  for (GList *l = names; l; l = l->next)
    {
      JsonNode *value = json_object_get_member (instance, l->data);

      if (properties && json_object_has_member (properties, l->data))
        {
          if (!check_at (check, document, json_object_get_member (properties, l->data), value, l->data, 0))
            return FALSE;
        }
      else if (additional != NULL && !check_at (check, document, additional, value, l->data, 0))
        return FALSE;
    }
  return TRUE;
}

static gboolean
check_array (Check      *check,
             const char *document,
             JsonObject *schema,
             JsonArray  *instance)
{
  guint length = json_array_get_length (instance);
  JsonNode *items = json_object_get_member (schema, "items");

  if (json_object_has_member (schema, "minItems") && length < json_object_get_int_member (schema, "minItems"))
    return fail (check, "%u items, fewer than minItems %" G_GINT64_FORMAT, length,
                 json_object_get_int_member (schema, "minItems"));
  if (json_object_has_member (schema, "maxItems") && length > json_object_get_int_member (schema, "maxItems"))
    return fail (check, "%u items, more than maxItems %" G_GINT64_FORMAT, length,
                 json_object_get_int_member (schema, "maxItems"));
  for (guint i = 0; items != NULL && i < length; i++)
    if (!check_at (check, document, items, json_array_get_element (instance, i), NULL, i))
      return FALSE;
  return TRUE;
}

static gboolean
check_number (Check      *check,
              JsonObject *schema,
              double      value)
{
  if (json_object_has_member (schema, "minimum") && value < json_object_get_double_member (schema, "minimum"))
    return fail (check, "%g is below minimum %g", value, json_object_get_double_member (schema, "minimum"));
  if (json_object_has_member (schema, "maximum") && value > json_object_get_double_member (schema, "maximum"))
    return fail (check, "%g is above maximum %g", value, json_object_get_double_member (schema, "maximum"));
  if (json_object_has_member (schema, "exclusiveMinimum")
      && value <= json_object_get_double_member (schema, "exclusiveMinimum"))
    return fail (check, "%g is not above exclusiveMinimum %g", value,
                 json_object_get_double_member (schema, "exclusiveMinimum"));
  if (json_object_has_member (schema, "exclusiveMaximum")
      && value >= json_object_get_double_member (schema, "exclusiveMaximum"))
    return fail (check, "%g is not below exclusiveMaximum %g", value,
                 json_object_get_double_member (schema, "exclusiveMaximum"));
  return TRUE;
}

static gboolean
check_string (Check      *check,
              JsonObject *schema,
              const char *value)
{
  glong length = g_utf8_strlen (value, -1);

  if (json_object_has_member (schema, "minLength") && length < json_object_get_int_member (schema, "minLength"))
    return fail (check, "\"%s\" is shorter than minLength %" G_GINT64_FORMAT, value,
                 json_object_get_int_member (schema, "minLength"));
  if (json_object_has_member (schema, "maxLength") && length > json_object_get_int_member (schema, "maxLength"))
    return fail (check, "\"%s\" is longer than maxLength %" G_GINT64_FORMAT, value,
                 json_object_get_int_member (schema, "maxLength"));
  if (json_object_has_member (schema, "pattern"))
    {
      const char *pattern = json_object_get_string_member (schema, "pattern");
      g_autoptr(GRegex) regex = g_regex_new (pattern, 0, 0, NULL);

      if (regex == NULL)
        return schema_problem (check, "pattern", "is not a regular expression");
      if (!g_regex_match (regex, value, 0, NULL))
        return fail (check, "\"%s\" does not match pattern %s", value, pattern);
    }
  return TRUE;
}

/* Runs a subschema without reporting: oneOf and anyOf report as a whole. */
static gboolean
matches (Check      *check,
         const char *document,
         JsonNode   *schema,
         JsonNode   *instance,
         GError    **error)
{
  Check inner = { check->set, g_string_new (check->where->str), error, check->depth };
  gboolean ok = check_schema (&inner, document, schema, instance);

  g_string_free (inner.where, TRUE);
  return ok;
}

static gboolean
check_combinations (Check      *check,
                    const char *document,
                    JsonObject *schema,
                    JsonNode   *instance)
{
  if (json_object_has_member (schema, "allOf"))
    {
      JsonArray *all = json_object_get_array_member (schema, "allOf");

      for (guint i = 0; i < json_array_get_length (all); i++)
        if (!check_schema (check, document, json_array_get_element (all, i), instance))
          return FALSE;
    }
  if (json_object_has_member (schema, "anyOf"))
    {
      JsonArray *any = json_object_get_array_member (schema, "anyOf");
      g_autoptr(GError) first = NULL;
      gboolean found = FALSE;

      for (guint i = 0; !found && i < json_array_get_length (any); i++)
        {
          g_autoptr(GError) error = NULL;

          found = matches (check, document, json_array_get_element (any, i), instance, &error);
          if (first == NULL)
            first = g_steal_pointer (&error);
        }
      if (!found)
        return fail (check, "matches none of anyOf (the first says %s)", first ? first->message : "nothing");
    }
  if (json_object_has_member (schema, "oneOf"))
    {
      JsonArray *one = json_object_get_array_member (schema, "oneOf");
      g_autoptr(GError) first = NULL;
      guint found = 0;

      for (guint i = 0; i < json_array_get_length (one); i++)
        {
          g_autoptr(GError) error = NULL;

          if (matches (check, document, json_array_get_element (one, i), instance, &error))
            found++;
          else if (first == NULL)
            first = g_steal_pointer (&error);
        }
      if (found == 0)
        return fail (check, "matches none of oneOf (the first says %s)", first ? first->message : "nothing");
      if (found > 1)
        return fail (check, "matches %u of oneOf, not exactly one", found);
    }
  return TRUE;
}

static gboolean
check_ref (Check      *check,
           const char *document,
           const char *ref,
           JsonNode   *instance)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *target_document = NULL;
  JsonNode *target = resolve_ref (check->set, document, ref, &target_document, &error);

  if (target == NULL)
    return fail (check, "the schema's $ref %s: %s", ref, error->message);
  return check_schema (check, target_document, target, instance);
}

static gboolean
check_enum_const (Check      *check,
                  JsonObject *schema,
                  JsonNode   *instance)
{
  g_autofree char *value = json_to_string (instance, FALSE);

  if (json_object_has_member (schema, "enum"))
    {
      JsonArray *values = json_object_get_array_member (schema, "enum");
      g_autofree char *allowed = json_to_string (json_object_get_member (schema, "enum"), FALSE);

      for (guint i = 0; i < json_array_get_length (values); i++)
        if (values_equal (json_array_get_element (values, i), instance))
          return TRUE;
      return fail (check, "%s is not one of enum %s", value, allowed);
    }
  if (json_object_has_member (schema, "const")
      && !values_equal (json_object_get_member (schema, "const"), instance))
    {
      g_autofree char *expected = json_to_string (json_object_get_member (schema, "const"), FALSE);

      return fail (check, "%s is not const %s", value, expected);
    }
  return TRUE;
}

static gboolean
check_keywords_known (Check      *check,
                      JsonObject *schema)
{
  g_autoptr(GList) names = json_object_get_members (schema);

  for (GList *l = names; l; l = l->next)
    if (!g_strv_contains (assertions, l->data) && !g_strv_contains (annotations, l->data)
        && !g_str_has_prefix (l->data, "x-"))
      return schema_problem (check, l->data, "is not a keyword this validator knows");
  return TRUE;
}

static gboolean
check_schema (Check      *check,
              const char *document,
              JsonNode   *schema_node,
              JsonNode   *instance)
{
  JsonObject *schema;
  gboolean ok;

  if (JSON_NODE_HOLDS_VALUE (schema_node) && json_node_get_value_type (schema_node) == G_TYPE_BOOLEAN)
    return json_node_get_boolean (schema_node) ? TRUE : fail (check, "the schema is false");
  if (!JSON_NODE_HOLDS_OBJECT (schema_node))
    return fail (check, "the schema is not an object");
  if (check->depth >= MAX_DEPTH)
    return fail (check, "$ref nested deeper than %d: a cycle?", MAX_DEPTH);
  schema = json_node_get_object (schema_node);
  if (!check_keywords_known (check, schema))
    return FALSE;

  check->depth++;
  ok = !json_object_has_member (schema, "$ref")
       || check_ref (check, document, json_object_get_string_member (schema, "$ref"), instance);
  ok = ok && (!json_object_has_member (schema, "type")
              || check_type (check, json_object_get_member (schema, "type"), instance));
  ok = ok && check_enum_const (check, schema, instance);
  if (ok && JSON_NODE_HOLDS_OBJECT (instance))
    ok = check_object (check, document, schema, json_node_get_object (instance));
  if (ok && JSON_NODE_HOLDS_ARRAY (instance))
    ok = check_array (check, document, schema, json_node_get_array (instance));
  if (ok && is_number (instance))
    ok = check_number (check, schema, number_value (instance));
  if (ok && has_type (instance, "string"))
    ok = check_string (check, schema, json_node_get_string (instance));
  if (ok && json_object_has_member (schema, "format"))
    ok = check_format (check, json_object_get_string_member (schema, "format"), instance);
  ok = ok && check_combinations (check, document, schema, instance);
  check->depth--;
  return ok;
}

gboolean
wb_test_schema_validate (WbTestSchemaSet  *self,
                         const char       *name,
                         const char       *pointer,
                         JsonNode         *instance,
                         GError          **error)
{
  JsonNode *schema = wb_test_schema_resolve (self, name, pointer, error);
  Check check = { self, NULL, error, 0 };
  gboolean ok;

  if (schema == NULL)
    return FALSE;
  check.where = g_string_new ("");
  ok = check_schema (&check, name, schema, instance);
  g_string_free (check.where, TRUE);
  return ok;
}
