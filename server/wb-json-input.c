// SPDX-License-Identifier: GPL-3.0-or-later
/* Reading request bodies at the edge. Every problem becomes a
 * WB_JSON_INPUT_ERROR whose message starts with the path of the member at
 * fault ("recipient.phone: …"), so REST handlers can answer with the field a
 * client has to fix without knowing how the body was walked. */

#include "config.h"

#include <math.h>
#include <string.h>

#include "wb-json-input.h"

struct _WbJsonInput
{
  JsonNode   *node;     /* keeps the object (and the document above it) alive */
  JsonObject *object;
  char       *path;     /* "" for the body itself */
};

G_DEFINE_QUARK (wb-json-input-error-quark, wb_json_input_error)

/**
 * wb_json_input_set_field_error:
 * @path: the member's path, e.g. "destination.country"
 *
 * Sets a %WB_JSON_INPUT_ERROR_FIELD error whose message is "<path>: <problem>";
 * wb_json_input_error_get_field() gives the path back.
 */
void
wb_json_input_set_field_error (GError    **error,
                               const char *path,
                               const char *format,
                               ...)
{
  g_autofree char *problem = NULL;
  va_list args;

  g_return_if_fail (path != NULL && *path != '\0');

  va_start (args, format);
  problem = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, WB_JSON_INPUT_ERROR, WB_JSON_INPUT_ERROR_FIELD, "%s: %s", path, problem);
}

/**
 * wb_json_input_error_get_field:
 *
 * Returns: (transfer full) (nullable): the path a field error names, or
 *   %NULL for any other error
 */
char *
wb_json_input_error_get_field (const GError *error)
{
  const char *colon;

  if (!g_error_matches (error, WB_JSON_INPUT_ERROR, WB_JSON_INPUT_ERROR_FIELD))
    return NULL;
  colon = strstr (error->message, ": ");
  return colon ? g_strndup (error->message, colon - error->message) : NULL;
}

/* Bracket depth outside strings, counted before json-glib's recursive
 * parser sees the text. */
static gboolean
nesting_within_limit (const char *text,
                      gsize       length)
{
  gboolean in_string = FALSE;
  guint depth = 0;

  for (gsize i = 0; i < length; i++)
    {
      char c = text[i];

      if (in_string)
        {
          if (c == '\\')
            i++;
          else if (c == '"')
            in_string = FALSE;
        }
      else if (c == '"')
        in_string = TRUE;
      else if ((c == '[' || c == '{') && ++depth > WB_JSON_INPUT_MAX_DEPTH)
        return FALSE;
      else if ((c == ']' || c == '}') && depth > 0)
        depth--;
    }
  return TRUE;
}

static JsonNode *
parse_body (GBytes  *body,
            GError **error)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) local_error = NULL;
  gsize length = 0;
  const char *text = body ? g_bytes_get_data (body, &length) : NULL;

  if (length == 0)
    {
      g_set_error_literal (error, WB_JSON_INPUT_ERROR, WB_JSON_INPUT_ERROR_SYNTAX,
                           "The body is empty; a JSON object is expected");
      return NULL;
    }
  if (!g_utf8_validate_len (text, length, NULL))
    {
      g_set_error_literal (error, WB_JSON_INPUT_ERROR, WB_JSON_INPUT_ERROR_SYNTAX,
                           "The body is not valid UTF-8");
      return NULL;
    }
  if (!nesting_within_limit (text, length))
    {
      g_set_error (error, WB_JSON_INPUT_ERROR, WB_JSON_INPUT_ERROR_SYNTAX,
                   "The body nests arrays and objects deeper than %d levels", WB_JSON_INPUT_MAX_DEPTH);
      return NULL;
    }

  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, text, length, &local_error))
    {
      g_set_error (error, WB_JSON_INPUT_ERROR, WB_JSON_INPUT_ERROR_SYNTAX,
                   "The body is not valid JSON: %s", local_error->message);
      return NULL;
    }
  return json_parser_steal_root (parser);
}

/**
 * wb_json_input_new_from_bytes:
 * @body: (nullable): a request body
 *
 * Returns: (transfer full): the body's top-level object, or %NULL with
 *   %WB_JSON_INPUT_ERROR_SYNTAX or %WB_JSON_INPUT_ERROR_NOT_OBJECT
 */
WbJsonInput *
wb_json_input_new_from_bytes (GBytes  *body,
                              GError **error)
{
  g_autoptr(JsonNode) root = parse_body (body, error);

  if (root == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error_literal (error, WB_JSON_INPUT_ERROR, WB_JSON_INPUT_ERROR_NOT_OBJECT,
                           "The body must be a JSON object");
      return NULL;
    }
  return wb_json_input_new_for_node (root, "", error);
}

/**
 * wb_json_input_new_for_node:
 * @path: where @node sits in the body, for error messages
 *
 * Returns: (transfer full): a reader for @node, or %NULL with a field error
 *   when @node is not an object
 */
WbJsonInput *
wb_json_input_new_for_node (JsonNode    *node,
                            const char  *path,
                            GError     **error)
{
  WbJsonInput *self;

  g_return_val_if_fail (node != NULL, NULL);
  g_return_val_if_fail (path != NULL, NULL);

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      if (*path == '\0')
        g_set_error_literal (error, WB_JSON_INPUT_ERROR, WB_JSON_INPUT_ERROR_NOT_OBJECT,
                             "The body must be a JSON object");
      else
        wb_json_input_set_field_error (error, path, "must be an object");
      return NULL;
    }

  self = g_new0 (WbJsonInput, 1);
  self->node = json_node_ref (node);
  self->object = json_node_get_object (node);
  self->path = g_strdup (path);
  return self;
}

void
wb_json_input_free (WbJsonInput *self)
{
  if (self == NULL)
    return;
  json_node_unref (self->node);
  g_free (self->path);
  g_free (self);
}

const char *
wb_json_input_get_path (WbJsonInput *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->path;
}

/**
 * wb_json_input_member_path:
 *
 * Returns: (transfer full): the path of @member in this object
 */
char *
wb_json_input_member_path (WbJsonInput *self,
                           const char  *member)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (member != NULL, NULL);

  if (*self->path == '\0')
    return g_strdup (member);
  return g_strconcat (self->path, ".", member, NULL);
}

/* NULL when the member is absent or JSON null: both mean "not given". */
static JsonNode *
lookup (WbJsonInput *self,
        const char  *member)
{
  JsonNode *node = json_object_get_member (self->object, member);

  return node == NULL || JSON_NODE_HOLDS_NULL (node) ? NULL : node;
}

/**
 * wb_json_input_has_member:
 *
 * Returns: whether @member is present with a value other than null
 */
gboolean
wb_json_input_has_member (WbJsonInput *self,
                          const char  *member)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (member != NULL, FALSE);
  return lookup (self, member) != NULL;
}

/**
 * wb_json_input_contains:
 *
 * Returns: whether @member is present at all, even as null: for bodies where
 *   null means "clear this" (PATCH)
 */
gboolean
wb_json_input_contains (WbJsonInput *self,
                        const char  *member)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (member != NULL, FALSE);
  return json_object_has_member (self->object, member);
}

static gboolean
fail (WbJsonInput  *self,
      const char   *member,
      GError      **error,
      const char   *problem)
{
  g_autofree char *path = wb_json_input_member_path (self, member);

  wb_json_input_set_field_error (error, path, "%s", problem);
  return FALSE;
}

static gboolean
holds_value_of_type (JsonNode *node,
                     GType     type)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == type;
}

/**
 * wb_json_input_get_string:
 * @required: whether absence (or null) is an error
 * @out_value: (out) (transfer full) (nullable): the value; %NULL when an
 *   optional member is absent, null or the empty string
 *
 * A required string must hold more than blanks; every string is at most
 * %WB_JSON_INPUT_MAX_STRING characters.
 */
gboolean
wb_json_input_get_string (WbJsonInput  *self,
                          const char   *member,
                          gboolean      required,
                          char        **out_value,
                          GError      **error)
{
  JsonNode *node;
  const char *value;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (out_value != NULL, FALSE);

  *out_value = NULL;
  node = lookup (self, member);
  if (node == NULL)
    return required ? fail (self, member, error, "is required") : TRUE;
  if (!holds_value_of_type (node, G_TYPE_STRING))
    return fail (self, member, error, "must be a string");

  value = json_node_get_string (node);
  if (g_utf8_strlen (value, -1) > WB_JSON_INPUT_MAX_STRING)
    {
      g_autofree char *path = wb_json_input_member_path (self, member);

      wb_json_input_set_field_error (error, path, "must be at most %d characters long", WB_JSON_INPUT_MAX_STRING);
      return FALSE;
    }
  for (const char *p = value; *p != '\0'; p++)
    if (!g_ascii_isspace (*p))
      {
        *out_value = g_strdup (value);
        return TRUE;
      }
  return required ? fail (self, member, error, "must not be empty") : TRUE;
}

/**
 * wb_json_input_get_double:
 * @min: the least value accepted
 * @max: the greatest value accepted
 * @out_present: (out): whether the member was given (not absent, not null)
 *
 * Accepts JSON integers and reals.
 */
gboolean
wb_json_input_get_double (WbJsonInput  *self,
                          const char   *member,
                          double        min,
                          double        max,
                          gboolean     *out_present,
                          double       *out_value,
                          GError      **error)
{
  JsonNode *node;
  double value;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (out_present != NULL && out_value != NULL, FALSE);

  *out_present = FALSE;
  node = lookup (self, member);
  if (node == NULL)
    return TRUE;
  if (!holds_value_of_type (node, G_TYPE_DOUBLE) && !holds_value_of_type (node, G_TYPE_INT64))
    return fail (self, member, error, "must be a number");

  value = json_node_get_double (node);
  if (!isfinite (value) || value < min || value > max)
    {
      g_autofree char *path = wb_json_input_member_path (self, member);

      wb_json_input_set_field_error (error, path, "must be between %g and %g", min, max);
      return FALSE;
    }
  *out_present = TRUE;
  *out_value = value;
  return TRUE;
}

/**
 * wb_json_input_get_boolean:
 * @out_value: (out): the value; left alone when the member is absent
 */
gboolean
wb_json_input_get_boolean (WbJsonInput  *self,
                           const char   *member,
                           gboolean     *out_value,
                           GError      **error)
{
  JsonNode *node;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (out_value != NULL, FALSE);

  node = lookup (self, member);
  if (node == NULL)
    return TRUE;
  if (!holds_value_of_type (node, G_TYPE_BOOLEAN))
    return fail (self, member, error, "must be true or false");
  *out_value = json_node_get_boolean (node);
  return TRUE;
}

/**
 * wb_json_input_get_object_member:
 *
 * Returns: (transfer full) (nullable): a reader for the nested object; %NULL
 *   without an error when an optional member is absent or null
 */
WbJsonInput *
wb_json_input_get_object_member (WbJsonInput  *self,
                                 const char   *member,
                                 gboolean      required,
                                 GError      **error)
{
  g_autofree char *path = NULL;
  JsonNode *node;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (member != NULL, NULL);

  node = lookup (self, member);
  if (node == NULL)
    {
      if (required)
        fail (self, member, error, "is required");
      return NULL;
    }
  path = wb_json_input_member_path (self, member);
  return wb_json_input_new_for_node (node, path, error);
}

static JsonArray *
lookup_array (WbJsonInput  *self,
              const char   *member,
              GError      **error)
{
  JsonNode *node = lookup (self, member);

  if (node == NULL)
    {
      fail (self, member, error, "is required");
      return NULL;
    }
  if (!JSON_NODE_HOLDS_ARRAY (node))
    {
      fail (self, member, error, "must be an array");
      return NULL;
    }
  return json_node_get_array (node);
}

/**
 * wb_json_input_get_array_length:
 *
 * Checks that the required member @member is an array.
 */
gboolean
wb_json_input_get_array_length (WbJsonInput  *self,
                                const char   *member,
                                guint        *out_length,
                                GError      **error)
{
  JsonArray *array;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (out_length != NULL, FALSE);

  array = lookup_array (self, member, error);
  if (array == NULL)
    return FALSE;
  *out_length = json_array_get_length (array);
  return TRUE;
}

/**
 * wb_json_input_get_array_element:
 *
 * Returns: (transfer full) (nullable): a reader for the object at @index of
 *   the array @member (path "member[index]"), or %NULL with an error when it
 *   is not an object
 */
WbJsonInput *
wb_json_input_get_array_element (WbJsonInput  *self,
                                 const char   *member,
                                 guint         index,
                                 GError      **error)
{
  g_autofree char *base = NULL;
  g_autofree char *path = NULL;
  JsonArray *array;

  g_return_val_if_fail (self != NULL, NULL);

  array = lookup_array (self, member, error);
  if (array == NULL)
    return NULL;
  g_return_val_if_fail (index < json_array_get_length (array), NULL);

  base = wb_json_input_member_path (self, member);
  path = g_strdup_printf ("%s[%u]", base, index);
  return wb_json_input_new_for_node (json_array_get_element (array, index), path, error);
}

/**
 * wb_json_input_reject_unknown:
 * @known: (array zero-terminated=1): the members this object may have
 *
 * For bodies where a silently ignored member would do harm (a PATCH with a
 * misspelt field would answer 200 and change nothing).
 */
gboolean
wb_json_input_reject_unknown (WbJsonInput        *self,
                              const char * const *known,
                              GError            **error)
{
  JsonObjectIter iter;
  const char *member;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (known != NULL, FALSE);

  json_object_iter_init (&iter, self->object);
  while (json_object_iter_next (&iter, &member, NULL))
    if (!g_strv_contains (known, member))
      return fail (self, member, error, "is not a field that can be set here");
  return TRUE;
}
