// SPDX-License-Identifier: GPL-3.0-or-later
/* Typed readers for the members of one JSON object. Every problem becomes
 * a %WB_JSON_ERROR_FIELD error that carries the path of the member at fault
 * ("recipient.phone", "items[3].trackNumber"), so that a REST handler can
 * answer with the field a client has to fix and a consumer can dead-letter
 * a message with it, without knowing how the document was walked. */

#include "config.h"

#include <math.h>
#include <string.h>

#include "wb-json-reader.h"

struct _WbJsonReader
{
  JsonNode   *node;        /* keeps the object (and the document above it) alive */
  JsonObject *object;
  char       *path;        /* "" for the document itself */
  glong       max_string;  /* characters, inherited by nested readers */
};

/**
 * wb_json_reader_new_from_data:
 * @text: (array length=length): the document
 * @limits: (nullable): %NULL for the defaults
 *
 * Parses @text through the guarded parser, wb_json_parse().
 *
 * Returns: (transfer full): a reader for the document's top-level object,
 *   or %NULL with a %WB_JSON_ERROR (a %WB_JSON_ERROR_FIELD with the field ""
 *   when the document is not an object)
 */
WbJsonReader *
wb_json_reader_new_from_data (const char          *text,
                              gsize                length,
                              const WbJsonLimits  *limits,
                              GError             **error)
{
  g_autoptr(JsonNode) root = wb_json_parse (text ? text : "", text ? length : 0, limits, error);

  if (root == NULL)
    return NULL;
  return wb_json_reader_new_for_node (root, "", error);
}

/**
 * wb_json_reader_new_from_bytes:
 * @body: (nullable): a request body or message payload
 *
 * Returns: (transfer full): as wb_json_reader_new_from_data()
 */
WbJsonReader *
wb_json_reader_new_from_bytes (GBytes              *body,
                               const WbJsonLimits  *limits,
                               GError             **error)
{
  gsize length = 0;
  const char *text = body ? g_bytes_get_data (body, &length) : NULL;

  return wb_json_reader_new_from_data (text, length, limits, error);
}

/**
 * wb_json_reader_new_for_node:
 * @path: where @node sits in the body, for error messages
 *
 * Returns: (transfer full): a reader for @node, or %NULL with a field error
 *   when @node is not an object
 */
WbJsonReader *
wb_json_reader_new_for_node (JsonNode    *node,
                            const char  *path,
                            GError     **error)
{
  WbJsonReader *self;

  g_return_val_if_fail (node != NULL, NULL);
  g_return_val_if_fail (path != NULL, NULL);

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      wb_json_set_field_error (error, path, "%s", *path == '\0' ? "The document must be a JSON object"
                                                                 : "must be an object");
      return NULL;
    }

  self = g_new0 (WbJsonReader, 1);
  self->node = json_node_ref (node);
  self->object = json_node_get_object (node);
  self->path = g_strdup (path);
  self->max_string = WB_JSON_READER_MAX_STRING;
  return self;
}

/**
 * wb_json_reader_set_max_string:
 * @max_chars: the longest string a member may hold, in characters
 *
 * Applies to this reader and to the readers it hands out afterwards.
 */
void
wb_json_reader_set_max_string (WbJsonReader *self,
                               glong         max_chars)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (max_chars > 0);
  self->max_string = max_chars;
}

static WbJsonReader *
child_reader (WbJsonReader  *self,
              JsonNode      *node,
              const char    *path,
              GError       **error)
{
  WbJsonReader *child = wb_json_reader_new_for_node (node, path, error);

  if (child != NULL)
    child->max_string = self->max_string;
  return child;
}

void
wb_json_reader_free (WbJsonReader *self)
{
  if (self == NULL)
    return;
  json_node_unref (self->node);
  g_free (self->path);
  g_free (self);
}

const char *
wb_json_reader_get_path (WbJsonReader *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->path;
}

/**
 * wb_json_reader_member_path:
 *
 * Returns: (transfer full): the path of @member in this object
 */
char *
wb_json_reader_member_path (WbJsonReader *self,
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
lookup (WbJsonReader *self,
        const char  *member)
{
  JsonNode *node = json_object_get_member (self->object, member);

  return node == NULL || JSON_NODE_HOLDS_NULL (node) ? NULL : node;
}

/**
 * wb_json_reader_has_member:
 *
 * Returns: whether @member is present with a value other than null
 */
gboolean
wb_json_reader_has_member (WbJsonReader *self,
                          const char  *member)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (member != NULL, FALSE);
  return lookup (self, member) != NULL;
}

/**
 * wb_json_reader_contains:
 *
 * Returns: whether @member is present at all, even as null: for bodies where
 *   null means "clear this" (PATCH)
 */
gboolean
wb_json_reader_contains (WbJsonReader *self,
                        const char  *member)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (member != NULL, FALSE);
  return json_object_has_member (self->object, member);
}

static gboolean
fail (WbJsonReader  *self,
      const char   *member,
      GError      **error,
      const char   *problem)
{
  g_autofree char *path = wb_json_reader_member_path (self, member);

  wb_json_set_field_error (error, path, "%s", problem);
  return FALSE;
}

static gboolean
holds_value_of_type (JsonNode *node,
                     GType     type)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == type;
}

/* g_utf8_strlen()'s limit counts bytes, not characters: this stops
 * counting at the first character past @max_chars. */
static gboolean
longer_than (const char *text,
             glong       max_chars)
{
  glong n = 0;

  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    if (++n > max_chars)
      return TRUE;
  return FALSE;
}

/**
 * wb_json_reader_peek_string:
 * @required: whether absence (or null) is an error
 * @max_chars: the longest value accepted, in characters; 0 for the reader's
 *   limit (wb_json_reader_set_max_string())
 * @out_value: (out) (transfer none) (nullable): the value as it stands in the
 *   document, valid while the reader lives; %NULL when absent or null
 *
 * Any string, the empty one too, of at most @max_chars characters.
 */
gboolean
wb_json_reader_peek_string (WbJsonReader  *self,
                            const char    *member,
                            gboolean       required,
                            glong          max_chars,
                            const char   **out_value,
                            GError       **error)
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
  if (max_chars <= 0)
    max_chars = self->max_string;
  if (longer_than (value, max_chars))
    {
      g_autofree char *path = wb_json_reader_member_path (self, member);

      wb_json_set_field_error (error, path, "must be at most %ld characters long", max_chars);
      return FALSE;
    }
  *out_value = value;
  return TRUE;
}

/**
 * wb_json_reader_get_string:
 * @required: whether absence (or null) is an error
 * @out_value: (out) (transfer full) (nullable): the value; %NULL when an
 *   optional member is absent, null or blank
 *
 * A required string must hold more than blanks; every string is at most
 * the reader's limit (%WB_JSON_READER_MAX_STRING unless set otherwise).
 */
gboolean
wb_json_reader_get_string (WbJsonReader  *self,
                           const char    *member,
                           gboolean       required,
                           char         **out_value,
                           GError       **error)
{
  const char *value;

  g_return_val_if_fail (out_value != NULL, FALSE);

  *out_value = NULL;
  if (!wb_json_reader_peek_string (self, member, required, 0, &value, error))
    return FALSE;
  if (value == NULL)
    return TRUE;
  for (const char *p = value; *p != '\0'; p++)
    if (!g_ascii_isspace (*p))
      {
        *out_value = g_strdup (value);
        return TRUE;
      }
  return required ? fail (self, member, error, "must not be empty") : TRUE;
}

/**
 * wb_json_reader_get_int64:
 * @min: the least value accepted
 * @max: the greatest value accepted
 * @out_present: (out): whether the member was given (not absent, not null)
 *
 * Accepts JSON integers only (1.0 is not one).
 */
gboolean
wb_json_reader_get_int64 (WbJsonReader  *self,
                          const char    *member,
                          gint64         min,
                          gint64         max,
                          gboolean      *out_present,
                          gint64        *out_value,
                          GError       **error)
{
  JsonNode *node;
  gint64 value;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (out_present != NULL && out_value != NULL, FALSE);

  *out_present = FALSE;
  node = lookup (self, member);
  if (node == NULL)
    return TRUE;
  if (!holds_value_of_type (node, G_TYPE_INT64))
    return fail (self, member, error, "must be an integer");

  value = json_node_get_int (node);
  if (value < min || value > max)
    {
      g_autofree char *path = wb_json_reader_member_path (self, member);

      wb_json_set_field_error (error, path, "must be an integer from %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT,
                               min, max);
      return FALSE;
    }
  *out_present = TRUE;
  *out_value = value;
  return TRUE;
}

/**
 * wb_json_reader_get_node:
 *
 * Returns: (transfer none) (nullable): the member's value, %NULL when it is
 *   absent or null; for values read as a whole (attributes, extensions)
 */
JsonNode *
wb_json_reader_get_node (WbJsonReader *self,
                         const char   *member)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (member != NULL, NULL);
  return lookup (self, member);
}

/**
 * wb_json_reader_get_object:
 *
 * Returns: (transfer none): the object this reader reads
 */
JsonObject *
wb_json_reader_get_object (WbJsonReader *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->object;
}

/**
 * wb_json_reader_fail:
 * @member: (nullable): the member at fault; %NULL for this object itself
 *
 * Sets a %WB_JSON_ERROR_FIELD error on @member's path, for checks of
 * meaning that the typed readers cannot make (an unknown status, a time
 * in the future).
 *
 * Returns: %FALSE
 */
gboolean
wb_json_reader_fail (WbJsonReader  *self,
                     const char    *member,
                     GError       **error,
                     const char    *format,
                     ...)
{
  g_autofree char *path = NULL;
  g_autofree char *problem = NULL;
  va_list args;

  g_return_val_if_fail (self != NULL, FALSE);

  path = member ? wb_json_reader_member_path (self, member) : g_strdup (self->path);
  va_start (args, format);
  problem = g_strdup_vprintf (format, args);
  va_end (args);
  wb_json_set_field_error (error, path, "%s", problem);
  return FALSE;
}

/**
 * wb_json_reader_get_double:
 * @min: the least value accepted
 * @max: the greatest value accepted
 * @out_present: (out): whether the member was given (not absent, not null)
 *
 * Accepts JSON integers and reals.
 */
gboolean
wb_json_reader_get_double (WbJsonReader  *self,
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
      g_autofree char *path = wb_json_reader_member_path (self, member);

      wb_json_set_field_error (error, path, "must be between %g and %g", min, max);
      return FALSE;
    }
  *out_present = TRUE;
  *out_value = value;
  return TRUE;
}

/**
 * wb_json_reader_get_boolean:
 * @out_value: (out): the value; left alone when the member is absent
 */
gboolean
wb_json_reader_get_boolean (WbJsonReader  *self,
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
 * wb_json_reader_get_object_member:
 *
 * Returns: (transfer full) (nullable): a reader for the nested object; %NULL
 *   without an error when an optional member is absent or null
 */
WbJsonReader *
wb_json_reader_get_object_member (WbJsonReader  *self,
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
  path = wb_json_reader_member_path (self, member);
  return child_reader (self, node, path, error);
}

static JsonArray *
lookup_array (WbJsonReader  *self,
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
 * wb_json_reader_peek_array:
 * @required: whether absence (or null) is an error
 * @out_array: (out) (transfer none) (nullable): the array; %NULL when an
 *   optional member is absent or null
 */
gboolean
wb_json_reader_peek_array (WbJsonReader  *self,
                           const char    *member,
                           gboolean       required,
                           JsonArray    **out_array,
                           GError       **error)
{
  JsonNode *node;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (out_array != NULL, FALSE);

  *out_array = NULL;
  node = lookup (self, member);
  if (node == NULL)
    return required ? fail (self, member, error, "is required") : TRUE;
  if (!JSON_NODE_HOLDS_ARRAY (node))
    return fail (self, member, error, "must be an array");
  *out_array = json_node_get_array (node);
  return TRUE;
}

/**
 * wb_json_reader_element_path:
 *
 * Returns: (transfer full): the path of element @index of the array @member
 *   ("items[3]")
 */
char *
wb_json_reader_element_path (WbJsonReader *self,
                             const char   *member,
                             guint         index)
{
  g_autofree char *base = wb_json_reader_member_path (self, member);

  return g_strdup_printf ("%s[%u]", base, index);
}

/**
 * wb_json_reader_get_array_length:
 *
 * Checks that the required member @member is an array.
 */
gboolean
wb_json_reader_get_array_length (WbJsonReader  *self,
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
 * wb_json_reader_get_array_element:
 *
 * Returns: (transfer full) (nullable): a reader for the object at @index of
 *   the array @member (path "member[index]"), or %NULL with an error when it
 *   is not an object
 */
WbJsonReader *
wb_json_reader_get_array_element (WbJsonReader  *self,
                                 const char   *member,
                                 guint         index,
                                 GError      **error)
{
  g_autofree char *path = NULL;
  JsonArray *array;

  g_return_val_if_fail (self != NULL, NULL);

  array = lookup_array (self, member, error);
  if (array == NULL)
    return NULL;
  g_return_val_if_fail (index < json_array_get_length (array), NULL);

  path = wb_json_reader_element_path (self, member, index);
  return child_reader (self, json_array_get_element (array, index), path, error);
}

/**
 * wb_json_reader_reject_unknown:
 * @known: (array zero-terminated=1): the members this object may have
 *
 * For bodies where a silently ignored member would do harm (a PATCH with a
 * misspelt field would answer 200 and change nothing).
 */
gboolean
wb_json_reader_reject_unknown (WbJsonReader        *self,
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
