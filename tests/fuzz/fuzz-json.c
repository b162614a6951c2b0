// SPDX-License-Identifier: GPL-3.0-or-later
/* core/json over arbitrary bytes, as every REST body and Kafka message
 * reaches it: the guarded check and parse agree, what they accept the
 * writer prints as JSON they accept again (and prints the same the second
 * time), and every typed read of every member either succeeds or fails
 * with a field error naming that member's path. */

#include "config.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-common.h"
#include "wb-json-reader.h"
#include "wb-json-writer.h"

/* Small enough that the depth limit is reached by inputs of a few bytes. */
static const WbJsonLimits limits = { 64 * 1024, 8 };

static void
require_field_error (const GError *error,
                     const char   *path)
{
  g_autofree char *prefix = g_strconcat (path, ": ", NULL);

  fuzz_require (g_error_matches (error, WB_JSON_ERROR, WB_JSON_ERROR_FIELD), "a read fails with a field error");
  fuzz_require (g_strcmp0 (wb_json_error_get_field (error), path) == 0, "a field error names the member");
  fuzz_require (*path == '\0' || g_str_has_prefix (error->message, prefix), "the message starts with the field");
}

/* One typed read's outcome: success, or a field error on @member. Takes
 * the error by reference so that it is read after the call has set it. */
static void
require_read (WbJsonReader  *reader,
              const char    *member,
              gboolean       ok,
              GError       **error)
{
  g_autofree char *path = wb_json_reader_member_path (reader, member);

  fuzz_require (ok == (*error == NULL), "a read sets an error exactly when it fails");
  if (*error != NULL)
    require_field_error (*error, path);
  g_clear_error (error);
}

static void walk_object (WbJsonReader *reader);

static void
walk_array (WbJsonReader *reader,
            const char   *member)
{
  JsonArray *array = NULL;
  GError *error = NULL;
  guint length = 0;

  require_read (reader, member, wb_json_reader_peek_array (reader, member, FALSE, &array, &error), &error);
  if (array == NULL)
    return;
  fuzz_require (wb_json_reader_get_array_length (reader, member, &length, NULL), "an array has a length");
  for (guint i = 0; i < length; i++)
    {
      g_autoptr(WbJsonReader) element = NULL;
      g_autofree char *path = wb_json_reader_element_path (reader, member, i);

      error = NULL;
      element = wb_json_reader_get_array_element (reader, member, i, &error);
      fuzz_require ((element == NULL) == (error != NULL), "an element is an object or an error");
      if (error != NULL)
        require_field_error (error, path);
      g_clear_error (&error);
      if (element != NULL)
        {
          fuzz_require (g_str_equal (wb_json_reader_get_path (element), path), "an element reader knows its path");
          walk_object (element);
        }
    }
}

static void
walk_member (WbJsonReader *reader,
             const char   *member)
{
  g_autoptr(WbJsonReader) child = NULL;
  g_autofree char *string = NULL;
  GError *error = NULL;
  gboolean present, flag = FALSE;
  double number;
  gint64 integer;

  require_read (reader, member, wb_json_reader_get_string (reader, member, FALSE, &string, &error), &error);
  require_read (reader, member, wb_json_reader_get_double (reader, member, -DBL_MAX, DBL_MAX, &present, &number,
                                                          &error), &error);
  require_read (reader, member, wb_json_reader_get_double (reader, member, -90, 90, &present, &number, &error),
                &error);
  require_read (reader, member, wb_json_reader_get_int64 (reader, member, 0, 255, &present, &integer, &error),
                &error);
  require_read (reader, member, wb_json_reader_get_boolean (reader, member, &flag, &error), &error);
  error = NULL;
  child = wb_json_reader_get_object_member (reader, member, FALSE, &error);
  fuzz_require (child == NULL || error == NULL, "a nested reader comes without an error");
  if (error != NULL)
    require_read (reader, member, FALSE, &error);
  if (child != NULL)
    walk_object (child);
  walk_array (reader, member);
}

static void
walk_object (WbJsonReader *reader)
{
  static const char * const known[] = { "id", "name", "items", NULL };
  g_autofree char *id = NULL;
  JsonObjectIter iter;
  const char *member;
  GError *error = NULL;

  wb_json_reader_set_max_string (reader, 16);
  json_object_iter_init (&iter, wb_json_reader_get_object (reader));
  while (json_object_iter_next (&iter, &member, NULL))
    walk_member (reader, member);
  if (!wb_json_reader_reject_unknown (reader, known, &error))
    fuzz_require (error != NULL && wb_json_error_get_field (error) != NULL, "an unknown member is named");
  g_clear_error (&error);
  require_read (reader, "id", wb_json_reader_get_string (reader, "id", TRUE, &id, &error), &error);
}

/* The writer prints what the guarded parser accepts again, unchanged. */
static void
check_writer (JsonNode *root)
{
  static const WbJsonLimits unbounded_size = { G_MAXSIZE, 8 };
  g_autofree char *first = wb_json_to_string (root);
  g_autofree char *second = NULL;
  g_autoptr(JsonNode) again = NULL;
  g_autoptr(GError) error = NULL;

  again = wb_json_parse (first, strlen (first), &unbounded_size, &error);
  if (again == NULL)
    {
      g_printerr ("fuzz: the writer's text does not parse: %s\n%s\n", error->message, first);
      abort ();
    }
  second = wb_json_to_string (again);
  if (strcmp (first, second) != 0)
    {
      g_printerr ("fuzz: the writer's text changes on a round trip:\n%s\n%s\n", first, second);
      abort ();
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  const char *text = (const char *) data;
  g_autoptr(GError) check_error = NULL;
  g_autoptr(GError) parse_error = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(WbJsonReader) reader = NULL;
  gboolean checked = wb_json_check (text, size, &limits, &check_error);

  fuzz_require (checked == (check_error == NULL), "the check sets an error exactly when it refuses");
  if (check_error != NULL)
    {
      gssize offset = wb_json_error_get_offset (check_error);

      fuzz_require (check_error->domain == WB_JSON_ERROR, "the check's errors are WB_JSON_ERROR");
      fuzz_require (check_error->code == WB_JSON_ERROR_TOO_LARGE || (offset >= 0 && (gsize) offset <= size),
                    "a syntax or depth error points into the text");
    }

  root = wb_json_parse (text, size, &limits, &parse_error);
  fuzz_require ((root == NULL) == (parse_error != NULL), "the parse sets an error exactly when it refuses");
  fuzz_require (root == NULL || checked, "the parse accepts nothing the check refuses");
  fuzz_require (checked || g_error_matches (parse_error, check_error->domain, check_error->code),
                "the parse refuses as the check does");
  if (root == NULL)
    return 0;

  check_writer (root);
  if (!JSON_NODE_HOLDS_OBJECT (root))
    return 0;
  reader = wb_json_reader_new_for_node (root, "", NULL);
  fuzz_require (reader != NULL, "an object gets a reader");
  walk_object (reader);
  return 0;
}
