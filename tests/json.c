// SPDX-License-Identifier: GPL-3.0-or-later
/* core/json: the guarded parse, the typed member readers and the writer. */

#include "config.h"

#include <math.h>
#include <string.h>

#include "wb-json.h"
#include "wb-json-reader.h"
#include "wb-json-writer.h"

static gboolean
accepts (const char *text)
{
  g_autoptr(GError) error = NULL;
  gboolean ok = wb_json_check (text, strlen (text), NULL, &error);

  if (!ok)
    g_test_message ("%s → %s", text, error->message);
  return ok;
}

static void
test_check_accepts_rfc8259 (void)
{
  static const char * const valid[] = {
    "{}", "[]", "0", "-0", "1.5e-3", "-12.0E+2", "\"\"", "true", "false", "null",
    " \t\r\n{ \"a\" : [ 1 , 2 ] , \"b\" : { } } \n",
    "\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\ud83d\\ude00\"",
    "\"Минск — ü\"",
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",   /* 32 levels */
    "1.7976931348623157e308",
    "12345678901234567890123",
  };

  for (guint i = 0; i < G_N_ELEMENTS (valid); i++)
    g_assert_true (accepts (valid[i]));
}

typedef struct
{
  const char *text;
  int         code;
  gssize      offset;
  const char *words;
} Rejected;

static void
test_check_rejects (void)
{
  static const Rejected rejected[] = {
    { "", WB_JSON_ERROR_SYNTAX, 0, "empty" },
    { "   ", WB_JSON_ERROR_SYNTAX, 3, "empty" },
    { "{\"clientId\": \"a\" /* c */}", WB_JSON_ERROR_SYNTAX, 17, "expected" },
    { "{'a': 1}", WB_JSON_ERROR_SYNTAX, 1, "double quotes" },
    { "{\"a\": 'x'}", WB_JSON_ERROR_SYNTAX, 6, "not a JSON value" },
    { "# comment\n{}", WB_JSON_ERROR_SYNTAX, 0, "not a JSON value" },
    { "{\"a\":1,}", WB_JSON_ERROR_SYNTAX, 7, "member name" },
    { "[1,]", WB_JSON_ERROR_SYNTAX, 3, "not a JSON value" },
    { "[1 2]", WB_JSON_ERROR_SYNTAX, 3, "expected" },
    { "{\"a\" 1}", WB_JSON_ERROR_SYNTAX, 5, "“:”" },
    { "{\"a\":1]", WB_JSON_ERROR_SYNTAX, 6, "“}”" },
    { "[1}", WB_JSON_ERROR_SYNTAX, 2, "“]”" },
    { "{} {}", WB_JSON_ERROR_SYNTAX, 3, "after the end" },
    { "[1", WB_JSON_ERROR_SYNTAX, 2, "ends too early" },
    { "\"abc", WB_JSON_ERROR_SYNTAX, 0, "closing quote" },
    { "\"a\tb\"", WB_JSON_ERROR_SYNTAX, 2, "control character" },
    { "\"\\x\"", WB_JSON_ERROR_SYNTAX, 1, "unknown escape" },
    { "\"\\u12\"", WB_JSON_ERROR_SYNTAX, 3, "four hex digits" },
    { "\"\\u0000\"", WB_JSON_ERROR_SYNTAX, 1, "\\u0000" },
    { "\"\\ud800\"", WB_JSON_ERROR_SYNTAX, 1, "surrogate" },
    { "\"\\udc00\"", WB_JSON_ERROR_SYNTAX, 1, "surrogate" },
    { "\"\\ud800\\u0041\"", WB_JSON_ERROR_SYNTAX, 1, "surrogate" },
    { "01", WB_JSON_ERROR_SYNTAX, 1, "leading zeros" },
    { "-", WB_JSON_ERROR_SYNTAX, 1, "digits" },
    { "1.", WB_JSON_ERROR_SYNTAX, 2, "decimal point" },
    { "1e", WB_JSON_ERROR_SYNTAX, 2, "exponent" },
    { ".5", WB_JSON_ERROR_SYNTAX, 0, "not a JSON value" },
    { "+1", WB_JSON_ERROR_SYNTAX, 0, "not a JSON value" },
    { "1e999", WB_JSON_ERROR_SYNTAX, 0, "range" },
    { "-1e999", WB_JSON_ERROR_SYNTAX, 0, "range" },
    { "NaN", WB_JSON_ERROR_SYNTAX, 0, "not a JSON value" },
    { "Infinity", WB_JSON_ERROR_SYNTAX, 0, "not a JSON value" },
    { "tru", WB_JSON_ERROR_SYNTAX, 0, "not a JSON value" },
    { "[\n  1,\n  x]", WB_JSON_ERROR_SYNTAX, 9, "line 3, column 3" },
    { "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", WB_JSON_ERROR_TOO_DEEP, 32, "32 levels" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (rejected); i++)
    {
      g_autoptr(GError) error = NULL;
      const Rejected *r = &rejected[i];

      g_test_message ("%s", r->text);
      g_assert_false (wb_json_check (r->text, strlen (r->text), NULL, &error));
      g_test_message ("→ %s", error->message);
      g_assert_error (error, WB_JSON_ERROR, r->code);
      g_assert_cmpint (wb_json_error_get_offset (error), ==, r->offset);
      g_assert_nonnull (strstr (error->message, r->words));
      g_assert_null (wb_json_error_get_field (error));
    }
}

static void
test_check_bytes (void)
{
  static const char invalid_utf8[] = "{\"a\":\"\xc3\x28\"}";
  static const char with_nul[] = "{\"a\":\"x\0y\"}";
  WbJsonLimits small = { 16, 4 };
  g_autoptr(GError) error = NULL;

  g_assert_false (wb_json_check (invalid_utf8, sizeof invalid_utf8 - 1, NULL, &error));
  g_assert_error (error, WB_JSON_ERROR, WB_JSON_ERROR_SYNTAX);
  g_assert_cmpint (wb_json_error_get_offset (error), ==, 6);
  g_assert_nonnull (strstr (error->message, "UTF-8"));
  g_clear_error (&error);

  g_assert_false (wb_json_check (with_nul, sizeof with_nul - 1, NULL, &error));
  g_assert_error (error, WB_JSON_ERROR, WB_JSON_ERROR_SYNTAX);
  g_assert_cmpint (wb_json_error_get_offset (error), ==, 7);
  g_assert_nonnull (strstr (error->message, "NUL"));
  g_clear_error (&error);

  g_assert_false (wb_json_check ("{\"aaaaaaaaaaaaaaa\":1}", 21, &small, &error));
  g_assert_error (error, WB_JSON_ERROR, WB_JSON_ERROR_TOO_LARGE);
  g_clear_error (&error);
  g_assert_false (wb_json_check ("[[[[[1]]]]]", 11, &small, &error));
  g_assert_error (error, WB_JSON_ERROR, WB_JSON_ERROR_TOO_DEEP);
  g_clear_error (&error);
  g_assert_true (wb_json_check ("[[[[1]]]]", 9, &small, &error));
  g_assert_no_error (error);
}

/* A long string is one token, however long. */
static void
test_check_long_string (void)
{
  const gsize length = 3 * 1024 * 1024;
  g_autoptr(GString) text = g_string_sized_new (length + 16);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = NULL;

  g_string_append (text, "{\"x\":\"");
  for (gsize i = 0; i < length; i++)
    g_string_append_c (text, 'a' + i % 26);
  g_string_append (text, "\"}");
  node = wb_json_parse (text->str, text->len, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (json_object_get_string_member (json_node_get_object (node), "x")), ==, length);
}

/* 100 000 levels must be refused, not recursed into: json-glib alone
 * would exhaust the stack. */
static void
test_parse_deep_document (void)
{
  const guint levels = 100000;
  g_autoptr(GString) text = g_string_sized_new (levels * 6 + 1);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = NULL;

  for (guint i = 0; i < levels; i++)
    g_string_append (text, "{\"a\":");
  g_string_append_c (text, '1');
  for (guint i = 0; i < levels; i++)
    g_string_append_c (text, '}');

  node = wb_json_parse (text->str, text->len, NULL, &error);
  g_assert_null (node);
  g_assert_error (error, WB_JSON_ERROR, WB_JSON_ERROR_TOO_DEEP);
}

static void
test_parse_tree (void)
{
  static const char text[] = "{\"n\":12345678901,\"x\":-0.25,\"s\":\"\\u00e9\",\"a\":[true,null]}";
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = wb_json_parse (text, strlen (text), NULL, &error);
  JsonObject *object;

  g_assert_no_error (error);
  object = json_node_get_object (node);
  g_assert_cmpint (json_object_get_int_member (object, "n"), ==, G_GINT64_CONSTANT (12345678901));
  g_assert_cmpfloat (json_object_get_double_member (object, "x"), ==, -0.25);
  g_assert_cmpstr (json_object_get_string_member (object, "s"), ==, "é");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (object, "a")), ==, 2);
}

/* ---- readers ------------------------------------------------------------------- */

static WbJsonReader *
reader_for (const char *text)
{
  g_autoptr(GError) error = NULL;
  WbJsonReader *reader = wb_json_reader_new_from_data (text, strlen (text), NULL, &error);

  g_assert_no_error (error);
  return reader;
}

static void
assert_field_error (GError     **error,
                    const char  *field,
                    const char  *words)
{
  g_assert_error (*error, WB_JSON_ERROR, WB_JSON_ERROR_FIELD);
  g_assert_cmpstr (wb_json_error_get_field (*error), ==, field);
  g_assert_nonnull (strstr ((*error)->message, words));
  if (*field != '\0')
    g_assert_true (g_str_has_prefix ((*error)->message, field));
  g_clear_error (error);
}

static void
test_reader_paths (void)
{
  g_autoptr(WbJsonReader) root = reader_for ("{\"recipient\":{\"phone\":7},"
                                             "\"items\":[{\"trackNumber\":\"A1\"},{},{},{\"trackNumber\":[]}],"
                                             "\"s\":\"[[[[\"}");
  g_autoptr(WbJsonReader) recipient = NULL;
  g_autoptr(WbJsonReader) item = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *value = NULL;
  guint length = 0;

  recipient = wb_json_reader_get_object_member (root, "recipient", TRUE, &error);
  g_assert_no_error (error);
  g_assert_false (wb_json_reader_get_string (recipient, "phone", TRUE, &value, &error));
  assert_field_error (&error, "recipient.phone", "must be a string");

  g_assert_true (wb_json_reader_get_array_length (root, "items", &length, &error));
  g_assert_cmpuint (length, ==, 4);
  item = wb_json_reader_get_array_element (root, "items", 3, &error);
  g_assert_cmpstr (wb_json_reader_get_path (item), ==, "items[3]");
  g_assert_false (wb_json_reader_get_string (item, "trackNumber", TRUE, &value, &error));
  assert_field_error (&error, "items[3].trackNumber", "must be a string");

  g_assert_null (wb_json_reader_get_object_member (root, "s", TRUE, &error));
  assert_field_error (&error, "s", "must be an object");
  g_assert_null (wb_json_reader_get_object_member (root, "missing", TRUE, &error));
  assert_field_error (&error, "missing", "is required");
  g_assert_null (wb_json_reader_get_object_member (root, "missing", FALSE, &error));
  g_assert_no_error (error);

  g_assert_false (wb_json_reader_fail (item, NULL, &error, "is %s", "wrong"));
  assert_field_error (&error, "items[3]", "is wrong");
}

static void
test_reader_document_not_object (void)
{
  g_autoptr(GError) error = NULL;

  g_assert_null (wb_json_reader_new_from_data ("[1,2]", 5, NULL, &error));
  assert_field_error (&error, "", "must be a JSON object");
  g_assert_null (wb_json_reader_new_from_data ("{\"a\":", 5, NULL, &error));
  g_assert_error (error, WB_JSON_ERROR, WB_JSON_ERROR_SYNTAX);
  g_assert_null (wb_json_error_get_field (error));
}

static void
test_reader_types (void)
{
  g_autoptr(WbJsonReader) root = reader_for ("{\"i\":42,\"f\":1.5,\"big\":1e300,\"b\":true,\"s\":\"  \","
                                             "\"e\":\"\",\"long\":\"abcdef\",\"n\":null}");
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  const char *peeked = NULL;
  gboolean present = FALSE, flag = FALSE;
  double d = 0;
  gint64 i = 0;

  g_assert_true (wb_json_reader_get_int64 (root, "i", 0, 100, &present, &i, &error));
  g_assert_true (present);
  g_assert_cmpint (i, ==, 42);
  g_assert_false (wb_json_reader_get_int64 (root, "f", 0, 100, &present, &i, &error));
  assert_field_error (&error, "f", "integer");
  g_assert_false (wb_json_reader_get_int64 (root, "i", 50, 100, &present, &i, &error));
  assert_field_error (&error, "i", "from 50 to 100");
  g_assert_true (wb_json_reader_get_int64 (root, "n", 0, 1, &present, &i, &error));
  g_assert_false (present);

  g_assert_true (wb_json_reader_get_double (root, "i", 0, 100, &present, &d, &error));
  g_assert_cmpfloat (d, ==, 42);
  g_assert_false (wb_json_reader_get_double (root, "big", -90, 90, &present, &d, &error));
  assert_field_error (&error, "big", "between");
  g_assert_false (wb_json_reader_get_double (root, "b", -90, 90, &present, &d, &error));
  assert_field_error (&error, "b", "must be a number");

  g_assert_true (wb_json_reader_get_boolean (root, "b", &flag, &error));
  g_assert_true (flag);
  g_assert_false (wb_json_reader_get_boolean (root, "i", &flag, &error));
  assert_field_error (&error, "i", "true or false");

  /* Blank strings: absent when optional, an error when required. */
  g_assert_true (wb_json_reader_get_string (root, "s", FALSE, &text, &error));
  g_assert_null (text);
  g_assert_false (wb_json_reader_get_string (root, "s", TRUE, &text, &error));
  assert_field_error (&error, "s", "must not be empty");
  g_assert_true (wb_json_reader_peek_string (root, "e", TRUE, 0, &peeked, &error));
  g_assert_cmpstr (peeked, ==, "");
  g_assert_false (wb_json_reader_peek_string (root, "long", TRUE, 5, &peeked, &error));
  assert_field_error (&error, "long", "at most 5 characters");
  wb_json_reader_set_max_string (root, 3);
  g_assert_false (wb_json_reader_get_string (root, "long", TRUE, &text, &error));
  assert_field_error (&error, "long", "at most 3 characters");

  g_assert_true (wb_json_reader_has_member (root, "i"));
  g_assert_false (wb_json_reader_has_member (root, "n"));
  g_assert_true (wb_json_reader_contains (root, "n"));
}

static void
test_reader_unknown_members (void)
{
  static const char * const known[] = { "a", "b", NULL };
  g_autoptr(WbJsonReader) root = reader_for ("{\"a\":1,\"c\":2}");
  g_autoptr(GError) error = NULL;

  g_assert_false (wb_json_reader_reject_unknown (root, known, &error));
  assert_field_error (&error, "c", "not a field");
}

/* ---- the writer ------------------------------------------------------------------ */

static char *
written_double (double value)
{
  GString *out = g_string_new (NULL);

  wb_json_write_double (out, value);
  return g_string_free (out, FALSE);
}

static void
test_writer_numbers (void)
{
  static const struct { double value; const char *text; } cases[] = {
    { 0, "0" }, { -0.0, "0" }, { 42, "42" }, { -7, "-7" }, { 0.1, "0.1" },
    { 25.2562916, "25.2562916" }, { 1e20, "1e+20" }, { 1e300, "1e+300" },
    { 5e-324, "4.94065645841247e-324" }, { 1.0 / 3, "0.3333333333333333" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = written_double (cases[i].value);
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) back = NULL;

      g_assert_cmpstr (text, ==, cases[i].text);
      back = wb_json_parse (text, strlen (text), NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpfloat (json_node_get_double (back), ==, cases[i].value);
    }

  for (guint i = 0; i < 3; i++)
    {
      double odd[] = { INFINITY, -INFINITY, NAN };
      g_autofree char *text = written_double (odd[i]);

      g_assert_cmpstr (text, ==, "null");
    }
}

static void
test_writer_round_trip (void)
{
  static const char text[] = "{\"s\":\"a\\\"b\\\\c\\n\\u0001\\u007f é\",\"n\":[1,-2.5,1e+20,true,false,null],"
                             "\"o\":{\"k\":{}}}";
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = wb_json_parse (text, strlen (text), NULL, &error);
  g_autofree char *written = NULL;
  g_autoptr(JsonNode) again = NULL;

  g_assert_no_error (error);
  written = wb_json_to_string (node);
  g_assert_cmpstr (written, ==, "{\"s\":\"a\\\"b\\\\c\\n\\u0001\\u007f é\",\"n\":[1,-2.5,1e+20,"
                                "true,false,null],\"o\":{\"k\":{}}}");
  again = wb_json_parse (written, strlen (written), NULL, &error);
  g_assert_no_error (error);
  g_assert_true (json_node_equal (node, again));
}

/* PostgreSQL's json_build_object spacing goes; spaces, escaped quotes and
 * backslashes inside strings stay. */
static void
test_writer_compact (void)
{
  static const char spaced[] = "{\"id\" : \"a b\", \"q\" : \"say \\\" x : y\\\\\", \"n\" : [1, 2,\n 3]}";
  g_autofree char *compact = wb_json_compact (spaced);

  g_assert_cmpstr (compact, ==, "{\"id\":\"a b\",\"q\":\"say \\\" x : y\\\\\",\"n\":[1,2,3]}");
  g_assert_true (wb_json_check (compact, strlen (compact), NULL, NULL));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/json/check/accepts-rfc8259", test_check_accepts_rfc8259);
  g_test_add_func ("/json/check/rejects-with-position", test_check_rejects);
  g_test_add_func ("/json/check/bytes-and-limits", test_check_bytes);
  g_test_add_func ("/json/check/long-string", test_check_long_string);
  g_test_add_func ("/json/parse/deep-document", test_parse_deep_document);
  g_test_add_func ("/json/parse/tree", test_parse_tree);
  g_test_add_func ("/json/reader/paths", test_reader_paths);
  g_test_add_func ("/json/reader/document-not-object", test_reader_document_not_object);
  g_test_add_func ("/json/reader/types", test_reader_types);
  g_test_add_func ("/json/reader/unknown-members", test_reader_unknown_members);
  g_test_add_func ("/json/writer/numbers", test_writer_numbers);
  g_test_add_func ("/json/writer/round-trip", test_writer_round_trip);
  g_test_add_func ("/json/writer/compact", test_writer_compact);

  return g_test_run ();
}
