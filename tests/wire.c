// SPDX-License-Identifier: GPL-3.0-or-later
/* The wire format, said once: the JSON Schema validator the tests use
 * (each keyword must refuse what it forbids), and every route of a running
 * waybilld called for its success and error answers, each answer's body
 * validated against the schema /openapi.json declares for that route and
 * status. A route the test does not reach, an answer of an undeclared
 * status or media type, or a body that drifts from its schema fails. */

#include "config.h"

#include <libsoup/soup.h>
#include <string.h>

#include "wb-jwt.h"
#include "wb-json.h"
#include "wb-json-writer.h"
#include "wb-test-daemon.h"
#include "wb-test-pg.h"
#include "wb-test-schema.h"

#define SECRET "wire-test-secret-0123456789abcdef"

static JsonNode *
parse (const char *text)
{
  g_autoptr(GError) error = NULL;
  JsonNode *node = wb_json_parse (text, strlen (text), NULL, &error);

  g_assert_no_error (error);
  return node;
}

/* ---- the validator ------------------------------------------------------------ */

typedef struct
{
  const char *name;
  const char *schema;
  const char *valid;      /* passes */
  const char *invalid;    /* fails … */
  const char *pointer;    /* … at this instance pointer */
} KeywordCase;

static const KeywordCase keyword_cases[] = {
  { "type", "{\"type\":\"string\"}", "\"a\"", "1", "" },
  { "type-integer", "{\"type\":\"integer\"}", "2", "2.5", "" },
  { "type-list", "{\"type\":[\"string\",\"null\"]}", "null", "true", "" },
  { "type-null", "{\"type\":\"null\"}", "null", "0", "" },
  { "properties", "{\"properties\":{\"a\":{\"type\":\"boolean\"}}}", "{\"a\":true}", "{\"a\":\"yes\"}", "/a" },
  { "required", "{\"required\":[\"a\"]}", "{\"a\":1}", "{\"b\":1}", "" },
  { "additional-false", "{\"properties\":{\"a\":{}},\"additionalProperties\":false}", "{\"a\":1}",
    "{\"a\":1,\"b/c\":2}", "/b~1c" },
  { "additional-schema", "{\"additionalProperties\":{\"type\":\"number\"}}", "{\"x\":1}", "{\"x\":\"1\"}", "/x" },
  { "items", "{\"items\":{\"type\":\"string\"}}", "[\"a\",\"b\"]", "[\"a\",2]", "/1" },
  { "min-items", "{\"minItems\":1}", "[1]", "[]", "" },
  { "max-items", "{\"maxItems\":1}", "[1]", "[1,2]", "" },
  { "enum", "{\"enum\":[\"a\",null,1]}", "1.0", "\"b\"", "" },
  { "const", "{\"properties\":{\"k\":{\"const\":\"FeatureCollection\"}}}", "{\"k\":\"FeatureCollection\"}",
    "{\"k\":\"Feature\"}", "/k" },
  { "ref-local", "{\"$defs\":{\"t\":{\"type\":\"string\"}},\"properties\":{\"a\":{\"$ref\":\"#/$defs/t\"}}}",
    "{\"a\":\"x\"}", "{\"a\":1}", "/a" },
  { "ref-other-file", "{\"items\":{\"$ref\":\"../schemas/other.schema.json#/$defs/positive\"}}", "[1]", "[1,-1]", "/1" },
  { "ref-other-file-ref", "{\"$ref\":\"other.schema.json\"}", "{\"n\":1}", "{\"n\":0}", "/n" },
  { "one-of-none", "{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"null\"}]}", "null", "1", "" },
  { "one-of-two", "{\"oneOf\":[{\"type\":\"number\"},{\"type\":\"integer\"}]}", "1.5", "1", "" },
  { "any-of", "{\"anyOf\":[{\"type\":\"string\"},{\"minimum\":3}]}", "4", "2", "" },
  { "all-of", "{\"allOf\":[{\"type\":\"integer\"},{\"maximum\":3}]}", "3", "4", "" },
  { "minimum", "{\"minimum\":0}", "0", "-0.5", "" },
  { "maximum", "{\"properties\":{\"lat\":{\"maximum\":90}}}", "{\"lat\":90}", "{\"lat\":90.1}", "/lat" },
  { "exclusive-minimum", "{\"exclusiveMinimum\":0}", "0.1", "0", "" },
  { "min-length", "{\"minLength\":2}", "\"ab\"", "\"é\"", "" },
  { "max-length", "{\"maxLength\":2}", "\"éé\"", "\"abc\"", "" },
  { "pattern", "{\"pattern\":\"^[A-Z]{2}$\"}", "\"BY\"", "\"by\"", "" },
  { "dependent-required", "{\"dependentRequired\":{\"lat\":[\"lon\"]}}", "{\"lat\":1,\"lon\":2}", "{\"lat\":1}", "" },
  { "date-time", "{\"format\":\"date-time\"}", "\"2026-02-28T23:59:60.123+03:00\"", "\"2026-02-30T10:00:00Z\"", "" },
  { "date-time-no-zone", "{\"format\":\"date-time\"}", "\"2026-11-20T10:00:00z\"", "\"2026-11-20T10:00:00\"", "" },
  { "date-time-hour", "{\"format\":\"date-time\"}", "\"2026-11-20T00:00:00Z\"", "\"2026-11-20T24:00:00Z\"", "" },
  { "uuid", "{\"format\":\"uuid\"}", "\"0b9e1f4c-3c1a-4a57-9b49-6a8f2d0c7e11\"", "\"0b9e1f4c\"", "" },
  { "false", "{\"properties\":{\"a\":false}}", "{}", "{\"a\":null}", "/a" },
  { "deep-pointer", "{\"properties\":{\"items\":{\"items\":{\"required\":[\"id\"]}}}}",
    "{\"items\":[{\"id\":1}]}", "{\"items\":[{\"id\":1},{}]}", "/items/1" },
};

static WbTestSchemaSet *
keyword_set (const char *schema)
{
  WbTestSchemaSet *set = wb_test_schema_set_new (NULL);
  g_autoptr(JsonNode) node = parse (schema);
  g_autoptr(JsonNode) other = parse ("{\"properties\":{\"n\":{\"$ref\":\"#/$defs/positive\"}},"
                                     "\"$defs\":{\"positive\":{\"type\":\"integer\",\"minimum\":1}}}");

  wb_test_schema_set_add (set, "test.schema.json", node);
  wb_test_schema_set_add (set, "other.schema.json", other);
  return set;
}

static void
test_keyword (gconstpointer data)
{
  const KeywordCase *c = data;
  g_autoptr(WbTestSchemaSet) set = keyword_set (c->schema);
  g_autoptr(JsonNode) valid = parse (c->valid);
  g_autoptr(JsonNode) invalid = parse (c->invalid);
  g_autoptr(GError) error = NULL;
  g_autofree char *prefix = g_strdup_printf ("%s: ", c->pointer);

  g_assert_true (wb_test_schema_validate (set, "test.schema.json", "", valid, &error));
  g_assert_no_error (error);
  g_assert_false (wb_test_schema_validate (set, "test.schema.json", "", invalid, &error));
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, prefix));
}

/* A schema that asks for something the validator cannot check is refused,
 * rather than passing everything. */
static void
test_unknown_keyword (void)
{
  g_autoptr(WbTestSchemaSet) set = keyword_set ("{\"properties\":{\"a\":{\"multipleOf\":2}}}");
  g_autoptr(JsonNode) instance = parse ("{\"a\":3}");
  g_autoptr(GError) error = NULL;

  g_assert_false (wb_test_schema_validate (set, "test.schema.json", "", instance, &error));
  g_assert_true (g_str_has_prefix (error->message, "/a: the schema's multipleOf"));
  g_clear_error (&error);

  g_clear_pointer (&set, wb_test_schema_set_free);
  set = keyword_set ("{\"$ref\":\"missing.schema.json\"}");
  g_assert_false (wb_test_schema_validate (set, "test.schema.json", "", instance, &error));
  g_assert_nonnull (strstr (error->message, "missing.schema.json"));
}

/* The REST schemas of data/schemas/ themselves: files read by name from
 * the directory, across files. */
static void
test_data_schemas (void)
{
  g_autofree char *directory = g_test_build_filename (G_TEST_DIST, "..", "data", "schemas", NULL);
  g_autoptr(WbTestSchemaSet) set = wb_test_schema_set_new (directory);
  g_autoptr(JsonNode) error_body = parse ("{\"error\":{\"code\":\"not_found\",\"message\":\"No such shipment\"}}");
  g_autoptr(JsonNode) bad_error = parse ("{\"error\":{\"code\":\"not_found\"}}");
  g_autoptr(JsonNode) page = parse ("{\"items\":[{\"id\":\"c1\",\"name\":\"A\",\"version\":1,"
                                    "\"updatedAt\":\"2026-11-20T10:00:00.000Z\"}],\"nextCursor\":null}");
  g_autoptr(JsonNode) bad_page = parse ("{\"items\":[{\"id\":\"c1\",\"name\":\"A\",\"version\":1,"
                                        "\"updatedAt\":\"yesterday\"}],\"nextCursor\":null}");
  g_autoptr(GError) error = NULL;

  g_assert_true (wb_test_schema_validate (set, "error.schema.json", "", error_body, &error));
  g_assert_no_error (error);
  g_assert_false (wb_test_schema_validate (set, "error.schema.json", "", bad_error, &error));
  g_assert_true (g_str_has_prefix (error->message, "/error: required member \"message\""));
  g_clear_error (&error);
  g_assert_true (wb_test_schema_validate (set, "company-page.schema.json", "", page, &error));
  g_assert_no_error (error);
  g_assert_false (wb_test_schema_validate (set, "company-page.schema.json", "", bad_page, &error));
  g_assert_true (g_str_has_prefix (error->message, "/items/0/updatedAt: "));
}

/* ---- every route of a live daemon ---------------------------------------------- */

typedef struct
{
  WbTestDaemon    *daemon;
  SoupSession     *session;
  guint            port;
  JsonNode        *document;
  WbTestSchemaSet *set;
  char            *tokens[WB_ACCESS_ROLE_ADMIN + 1];
  GHashTable      *checked;     /* "METHOD pattern status" → count */
  GHashTable      *succeeded;   /* "METHOD pattern" answered 2xx */
  guint            answers;
} Wire;

typedef struct
{
  const char   *method;
  const char   *pattern;
  const char   *path;          /* NULL: the pattern */
  WbAccessRole  role;          /* whose token; NONE: no token */
  const char   *body;
  const char   *if_match;
  const char   *accept;
  guint         status;        /* expected */
  gboolean      invalid_items; /* a batch with items meant to fail: not a valid request */
  const char   *if_none_match;
  const char   *content_type;  /* of the body; NULL: application/json */
} Call;

static char *
pointer_token (const char *text)
{
  g_autoptr(GString) token = g_string_new (text);

  g_string_replace (token, "~", "~0", 0);
  g_string_replace (token, "/", "~1", 0);
  return g_string_free (g_steal_pointer (&token), FALSE);
}

static JsonObject *
object_at (JsonObject *object,
           const char *name)
{
  JsonNode *node = object ? json_object_get_member (object, name) : NULL;

  return node && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

/* The declared response, or the test fails naming what is missing. */
static JsonObject *
declared_response (Wire       *wire,
                   const Call *call,
                   guint       status)
{
  g_autofree char *method = g_ascii_strdown (call->method, -1);
  g_autofree char *code = g_strdup_printf ("%u", status);
  JsonObject *paths = object_at (json_node_get_object (wire->document), "paths");
  JsonObject *operation = object_at (object_at (paths, call->pattern), method);
  JsonObject *response = object_at (object_at (operation, "responses"), code);

  if (operation == NULL)
    g_error ("%s %s is not in /openapi.json", call->method, call->pattern);
  if (response == NULL)
    g_error ("%s %s answered %u, which its operation does not declare", call->method, call->pattern, status);
  return response;
}

/* One JSON style on the wire: no whitespace between tokens. */
static gboolean
is_compact (const char *json)
{
  gboolean in_string = FALSE;

  for (const char *p = json; *p; p++)
    {
      if (in_string && *p == '\\')
        p++;
      else if (*p == '"')
        in_string = !in_string;
      else if (!in_string && g_ascii_isspace (*p))
        return FALSE;
    }
  return TRUE;
}

static void
validate_body (Wire       *wire,
               const Call *call,
               guint       status,
               const char *media_type,
               const char *body)
{
  JsonObject *response = declared_response (wire, call, status);
  JsonObject *content = object_at (response, "content");
  g_autofree char *method = g_ascii_strdown (call->method, -1);
  g_autofree char *path_token = pointer_token (call->pattern);
  g_autofree char *type_token = pointer_token (media_type);
  g_autofree char *pointer = g_strdup_printf ("/paths/%s/%s/responses/%u/content/%s/schema", path_token, method,
                                              status, type_token);
  g_autoptr(JsonNode) instance = NULL;
  g_autoptr(GError) error = NULL;

  if (*body == '\0')
    {
      if (content != NULL)
        g_error ("%s %s %u: no body, but the operation declares content", call->method, call->pattern, status);
      return;
    }
  if (object_at (object_at (content, media_type), "schema") == NULL)
    g_error ("%s %s %u: a %s body, and no schema declared for it", call->method, call->pattern, status, media_type);
  if (g_str_equal (media_type, "text/plain"))
    {
      instance = json_node_init_string (json_node_alloc (), body);
    }
  else
    {
      instance = wb_json_parse (body, strlen (body), NULL, &error);
      g_assert_no_error (error);
      if (!is_compact (body))
        g_error ("%s %s %u: the answer is not compact JSON: %s", call->method, call->pattern, status, body);
    }
  if (!wb_test_schema_validate (wire->set, "openapi.json", pointer, instance, &error))
    g_error ("%s %s %u drifts from its schema: %s\n%s", call->method, call->pattern, status, error->message, body);
}

/* What the daemon accepts is what the document says it accepts. */
static void
validate_request (Wire       *wire,
                  const Call *call)
{
  g_autofree char *method = g_ascii_strdown (call->method, -1);
  g_autofree char *path_token = pointer_token (call->pattern);
  g_autofree char *pointer = g_strdup_printf ("/paths/%s/%s/requestBody/content/application~1json/schema",
                                              path_token, method);
  g_autoptr(JsonNode) instance = parse (call->body);
  g_autoptr(GError) error = NULL;

  if (!wb_test_schema_validate (wire->set, "openapi.json", pointer, instance, &error))
    g_error ("%s %s: a request it accepts drifts from its requestBody schema: %s\n%s", call->method, call->pattern,
             error->message, call->body);
}

static JsonNode *
call_route (Wire       *wire,
            const Call *call)
{
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u%s", wire->port, call->path ? call->path : call->pattern);
  g_autoptr(SoupMessage) message = soup_message_new (call->method, uri);
  SoupMessageHeaders *headers = soup_message_get_request_headers (message);
  g_autoptr(GBytes) answer = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *body = NULL;
  g_autofree char *media_type = NULL;
  g_autofree char *key = NULL;
  guint status;

  if (call->role != WB_ACCESS_ROLE_NONE)
    {
      g_autofree char *bearer = g_strconcat ("Bearer ", wire->tokens[call->role], NULL);

      soup_message_headers_replace (headers, "Authorization", bearer);
    }
  if (call->if_match)
    soup_message_headers_replace (headers, "If-Match", call->if_match);
  if (call->if_none_match)
    soup_message_headers_replace (headers, "If-None-Match", call->if_none_match);
  if (call->accept)
    soup_message_headers_replace (headers, "Accept", call->accept);
  if (call->body)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (call->body, strlen (call->body));

      soup_message_set_request_body_from_bytes (message, call->content_type ? call->content_type : "application/json",
                                                bytes);
    }
  if (call->body && call->status < 300 && !call->invalid_items && !call->content_type)
    validate_request (wire, call);
  answer = soup_session_send_and_read (wire->session, message, NULL, &error);
  g_assert_no_error (error);
  status = soup_message_get_status (message);
  body = g_bytes_get_size (answer) > 0 ? g_strndup (g_bytes_get_data (answer, NULL), g_bytes_get_size (answer))
                                       : g_strdup ("");
  g_strchomp (body);
  if (status != call->status)
    g_error ("%s %s answered %u, not %u: %s", call->method, call->path ? call->path : call->pattern, status,
             call->status, body);
  media_type = g_strdup (soup_message_headers_get_content_type (soup_message_get_response_headers (message), NULL));
  validate_body (wire, call, status, media_type ? media_type : "", body);
  /* invalid_field names the field, as data. */
  if (status == SOUP_STATUS_BAD_REQUEST && strstr (body, "\"code\":\"invalid_field\"") != NULL
      && strstr (body, "\"field\":") == NULL)
    g_error ("%s %s 400 invalid_field names no field: %s", call->method, call->pattern, body);

  key = g_strdup_printf ("%s %s %u", call->method, call->pattern, status);
  g_hash_table_insert (wire->checked, g_strdup (key), GUINT_TO_POINTER (
                         GPOINTER_TO_UINT (g_hash_table_lookup (wire->checked, key)) + 1));
  if (status < 300)
    g_hash_table_add (wire->succeeded, g_strdup_printf ("%s %s", call->method, call->pattern));
  wire->answers++;
  return media_type && g_str_has_suffix (media_type, "json") && *body ? parse (body) : NULL;
}

static void
run_all (Wire       *wire,
         const Call *calls,
         gsize       n)
{
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(JsonNode) answer = call_route (wire, &calls[i]);
    }
}

static gint64
member_int (JsonNode   *node,
            const char *name)
{
  return json_object_get_int_member (json_node_get_object (node), name);
}

#define SHIPMENT_BODY_WITH(extra) \
  "{\"clientId\":\"acme\",\"serviceLevel\":\"standard\",\"reference\":\"ORD-1\"," \
  "\"recipient\":{\"name\":\"Ann Smith\",\"phone\":\"+375 29 123-45-67\",\"email\":\"ann@example.org\"}," \
  "\"origin\":{\"country\":\"by\",\"city\":\"Brest\"}," \
  "\"destination\":{\"country\":\"BY\",\"city\":\"Minsk\",\"line1\":\"Nezavisimosti 1\",\"postalCode\":\"220030\"," \
  "\"lat\":53.9,\"lon\":27.56}" extra "}"
#define SHIPMENT_BODY SHIPMENT_BODY_WITH (",\"carrier\":\"dhl\",\"trackNumber\":\"JD0001\"")
#define UNKNOWN_ID "0b9e1f4c-3c1a-4a57-9b49-6a8f2d0c7e11"

static void
call_system (Wire *wire)
{
  const Call calls[] = {
    { "GET", "/healthz", NULL, WB_ACCESS_ROLE_NONE, NULL, NULL, NULL, 200 },
    { "GET", "/readyz", NULL, WB_ACCESS_ROLE_NONE, NULL, NULL, NULL, 200 },
    { "GET", "/metrics", NULL, WB_ACCESS_ROLE_NONE, NULL, NULL, NULL, 200 },
    { "GET", "/openapi.json", NULL, WB_ACCESS_ROLE_NONE, NULL, NULL, NULL, 200 },
    { "GET", "/whoami", NULL, WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 200 },
    { "GET", "/whoami", NULL, WB_ACCESS_ROLE_NONE, NULL, NULL, NULL, 401 },
  };

  run_all (wire, calls, G_N_ELEMENTS (calls));
}

/* One more than a batch may hold. */
static GString *
too_many_positions (void)
{
  GString *batch = g_string_new ("[{}");

  for (guint i = 0; i < 10000; i++)
    g_string_append (batch, ",{}");
  g_string_append_c (batch, ']');
  return batch;
}

static void
call_fleet (Wire *wire)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr(GDateTime) before = g_date_time_add_minutes (now, -5);
  g_autofree char *t0 = g_date_time_format (before, "%Y-%m-%dT%H:%M:%SZ");
  g_autofree char *t1 = g_date_time_format (now, "%Y-%m-%dT%H:%M:%SZ");
  g_autofree char *positions = g_strdup_printf (
    "[{\"deviceId\":\"dev1\",\"timestamp\":\"%s\",\"lat\":53.91,\"lon\":27.57,\"speed\":40},"
    "{\"deviceId\":\"dev1\",\"timestamp\":\"%s\",\"lat\":53.93,\"lon\":27.60,\"speed\":45},"
    "{\"deviceId\":\"dev1\",\"timestamp\":\"%s\",\"lat\":0,\"lon\":0}]", t0, t1, t1);
  g_autoptr(GString) too_many = too_many_positions ();
  const Call calls[] = {
    { "PUT", "/companies/{id}", "/companies/c1", WB_ACCESS_ROLE_ADMIN, "{\"name\":\"Acme Logistics\"}", NULL, NULL, 200 },
    { "PUT", "/companies/{id}", "/companies/c1", WB_ACCESS_ROLE_ADMIN, "{\"name\":\"Acme\",\"version\":1}", NULL, NULL, 409 },
    { "PUT", "/companies/{id}", "/companies/c1", WB_ACCESS_ROLE_ADMIN, "{\"title\":\"Acme\"}", NULL, NULL, 400 },
    { "PUT", "/companies/{id}", "/companies/c1", WB_ACCESS_ROLE_VIEWER, "{\"name\":\"Acme\"}", NULL, NULL, 403 },
    { "GET", "/companies", NULL, WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 200 },
    { "GET", "/companies", "/companies?limit=0", WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 400 },
    { "GET", "/companies", NULL, WB_ACCESS_ROLE_NONE, NULL, NULL, NULL, 401 },
    { "GET", "/companies/{id}", "/companies/c1", WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 200 },
    { "GET", "/companies/{id}", "/companies/nobody", WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 404 },
    { "PUT", "/drivers/{id}", "/drivers/d1", WB_ACCESS_ROLE_ADMIN,
      "{\"name\":\"Ivan\",\"phone\":\"+375291234567\",\"companyId\":\"c1\"}", NULL, NULL, 200 },
    { "PUT", "/drivers/{id}", "/drivers/d1", WB_ACCESS_ROLE_ADMIN, "{\"name\":\"Ivan\",\"version\":1}", NULL, NULL, 409 },
    { "PUT", "/drivers/{id}", "/drivers/d1", WB_ACCESS_ROLE_ADMIN, "{\"name\":7}", NULL, NULL, 400 },
    { "GET", "/drivers", "/drivers?companyId=c1", WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 200 },
    { "GET", "/drivers", "/drivers?limit=x", WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 400 },
    { "GET", "/drivers/{id}", "/drivers/d1", WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 200 },
    { "GET", "/drivers/{id}", "/drivers/nobody", WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 404 },
    { "PUT", "/vehicles/{id}", "/vehicles/v1", WB_ACCESS_ROLE_ADMIN,
      "{\"plate\":\"1234 AB-7\",\"companyId\":\"c1\",\"driverId\":\"d1\"}", NULL, NULL, 200 },
    { "PUT", "/vehicles/{id}", "/vehicles/v2", WB_ACCESS_ROLE_ADMIN, "{\"plate\":\"5678 AB-7\"}", NULL, NULL, 200 },
    { "PUT", "/vehicles/{id}", "/vehicles/v1", WB_ACCESS_ROLE_ADMIN, "{\"plate\":\"1\",\"version\":1}", NULL, NULL, 409 },
    { "PUT", "/vehicles/{id}", "/vehicles/v1", WB_ACCESS_ROLE_ADMIN, "{\"plate\":\"1\",\"colour\":\"red\"}", NULL, NULL, 400 },
    { "PUT", "/devices/{deviceId}", "/devices/dev1", WB_ACCESS_ROLE_ADMIN, "{\"vehicleId\":\"v1\",\"token\":null}", NULL, NULL, 200 },
    { "PUT", "/devices/{deviceId}", "/devices/dev1", WB_ACCESS_ROLE_ADMIN, "{\"vehicleId\":\"v1\",\"version\":1}", NULL, NULL, 409 },
    { "PUT", "/devices/{deviceId}", "/devices/dev1", WB_ACCESS_ROLE_ADMIN, "{\"vehicleId\":5}", NULL, NULL, 400 },
    { "GET", "/devices/{deviceId}", "/devices/dev1", WB_ACCESS_ROLE_ADMIN, NULL, NULL, NULL, 200 },
    { "GET", "/devices/{deviceId}", "/devices/dev1", WB_ACCESS_ROLE_DISPATCHER, NULL, NULL, NULL, 403 },
    { "GET", "/devices/{deviceId}", "/devices/nobody", WB_ACCESS_ROLE_ADMIN, NULL, NULL, NULL, 404 },
    { "POST", "/telemetry", NULL, WB_ACCESS_ROLE_DISPATCHER, positions, NULL, NULL, 200 },
    { "POST", "/telemetry", NULL, WB_ACCESS_ROLE_DISPATCHER, "{\"deviceId\":", NULL, NULL, 400 },
    { "POST", "/telemetry", NULL, WB_ACCESS_ROLE_VIEWER, positions, NULL, NULL, 403 },
    { "POST", "/telemetry", NULL, WB_ACCESS_ROLE_DISPATCHER, too_many->str, NULL, NULL, 413 },
  };
  const Call after[] = {
    { "GET", "/vehicles", NULL, WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 200 },
    { "GET", "/vehicles", "/vehicles?cursor=", WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 400 },
    { "GET", "/vehicles/{id}", "/vehicles/v1", WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 200 },
    { "GET", "/vehicles/{id}", "/vehicles/v2", WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 200 },
    { "GET", "/vehicles/{id}", "/vehicles/nobody", WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 404 },
    { "GET", "/vehicles/{id}/track", "/vehicles/v1/track?tolerance=0", WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 200 },
    { "GET", "/vehicles/{id}/track", "/vehicles/v1/track", WB_ACCESS_ROLE_VIEWER, NULL, NULL, "application/geo+json", 200 },
    { "GET", "/vehicles/{id}/track", "/vehicles/v1/track?tolerance=-1", WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 400 },
    { "GET", "/vehicles/{id}/track", "/vehicles/nobody/track", WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 404 },
    { "GET", "/locations", "/locations?bbox=27,53,28,54.5", WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 200 },
    { "GET", "/locations", NULL, WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 200 },
    { "GET", "/locations", "/locations?companyId=c1&companyId=c2&vehicleId=v1&state=moving", WB_ACCESS_ROLE_VIEWER,
      NULL, NULL, NULL, 200 },
    { "GET", "/locations", "/locations?bbox=170,10,-170,20", WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 400 },
    { "GET", "/locations", "/locations?state=flying", WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 400 },
    { "GET", "/locations", NULL, WB_ACCESS_ROLE_NONE, NULL, NULL, NULL, 401 },
  };

  run_all (wire, calls, G_N_ELEMENTS (calls));
  /* The fleet role writes the positions asynchronously; the current state
   * and the track need them. */
  for (guint i = 0; i < 100; i++)
    {
      const Call vehicle = { "GET", "/vehicles/{id}", "/vehicles/v1", WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 200 };
      g_autoptr(JsonNode) answer = call_route (wire, &vehicle);

      if (!JSON_NODE_HOLDS_NULL (json_object_get_member (json_node_get_object (answer), "currentState")))
        break;
      g_usleep (100 * 1000);
    }
  run_all (wire, after, G_N_ELEMENTS (after));
}

/* Bulk imports: NDJSON and CSV bodies, a refused row, and the refusals of
 * the body as a whole. */
static void
call_fleet_imports (Wire *wire)
{
  const char *ndjson = "application/x-ndjson";
  const char *csv = "text/csv";
  const Call calls[] = {
    { "POST", "/companies:import", NULL, WB_ACCESS_ROLE_ADMIN, "{\"id\":\"ci1\",\"name\":\"Imported\"}\n{\"id\":\"ci2\"}",
      NULL, NULL, 200, FALSE, NULL, ndjson },
    { "POST", "/companies:import", NULL, WB_ACCESS_ROLE_VIEWER, "id,name\nci3,x\n", NULL, NULL, 403, FALSE, NULL, csv },
    { "POST", "/drivers:import", NULL, WB_ACCESS_ROLE_ADMIN, "id,name,companyId\ndi1,Ivan,ci1\n", NULL, NULL, 200,
      FALSE, NULL, csv },
    { "POST", "/drivers:import", NULL, WB_ACCESS_ROLE_ADMIN, "id,name,colour\ndi1,Ivan,red\n", NULL, NULL, 400,
      FALSE, NULL, csv },
    { "POST", "/vehicles:import", NULL, WB_ACCESS_ROLE_ADMIN, "{\"id\":\"vi1\",\"plate\":\"1 AB-7\",\"version\":2}\n"
      "{\"id\":\"vi1\",\"plate\":\"2 AB-7\"}", NULL, NULL, 200, FALSE, NULL, ndjson },
    { "POST", "/vehicles:import", NULL, WB_ACCESS_ROLE_ADMIN, "{\"id\":\"vi1\",\"plate\":\"1 AB-7\",\"version\":1}",
      NULL, NULL, 200, FALSE, NULL, ndjson },
    { "POST", "/vehicles:import", NULL, WB_ACCESS_ROLE_ADMIN, "{\"id\":\"vi1\"}", NULL, NULL, 415 },
    { "POST", "/vehicles:import", NULL, WB_ACCESS_ROLE_ADMIN, "", NULL, NULL, 400, FALSE, NULL, ndjson },
    { "POST", "/devices:import", NULL, WB_ACCESS_ROLE_ADMIN, "deviceId,vehicleId,token\ndi-dev1,vi1,s3cret\n", NULL,
      NULL, 200, FALSE, NULL, csv },
    { "POST", "/pickup-points:import", NULL, WB_ACCESS_ROLE_ADMIN,
      "{\"id\":\"ppi1\",\"name\":\"Imported\",\"lat\":53.9,\"lon\":27.56}\n{\"id\":\"ppi2\",\"name\":\"x\",\"lat\":95,\"lon\":1}",
      NULL, NULL, 200, FALSE, NULL, ndjson },
    { "POST", "/pickup-points:import", NULL, WB_ACCESS_ROLE_ADMIN, "id,name,lat,lon,colour\nppi3,x,1,1,red\n", NULL,
      NULL, 400, FALSE, NULL, csv },
    { "POST", "/pickup-points:import", NULL, WB_ACCESS_ROLE_DISPATCHER, "id,name,lat,lon\nppi3,x,1,1\n", NULL, NULL,
      403, FALSE, NULL, csv },
  };

  run_all (wire, calls, G_N_ELEMENTS (calls));
}

static void
call_shipments (Wire *wire)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *t = g_date_time_format (now, "%Y-%m-%dT%H:%M:%SZ");
  g_autofree char *event = g_strdup_printf ("{\"eventId\":\"e1\",\"status\":\"IN_TRANSIT\",\"occurredAt\":\"%s\","
                                            "\"location\":{\"text\":\"Brest hub\",\"lat\":52.1,\"lon\":23.7}}", t);
  g_autofree char *bad_event = g_strdup_printf ("{\"eventId\":\"e9\",\"status\":\"FLYING\",\"occurredAt\":\"%s\"}", t);
  g_autoptr(JsonNode) created = NULL;
  g_autoptr(JsonNode) other = NULL;
  g_autoptr(JsonNode) changed = NULL;
  g_autofree char *id = NULL;
  g_autofree char *other_id = NULL;
  g_autofree char *path = NULL, *events = NULL, *batch = NULL, *valid_batch = NULL;
  g_autofree char *other_path = NULL, *other_events = NULL;
  g_autofree char *etag = NULL;
  Call create = { "POST", "/shipments", NULL, WB_ACCESS_ROLE_DISPATCHER, SHIPMENT_BODY, NULL, NULL, 201 };

  created = call_route (wire, &create);
  id = g_strdup (json_object_get_string_member (json_node_get_object (created), "id"));
  create.body = SHIPMENT_BODY_WITH ("");
  other = call_route (wire, &create);
  other_id = g_strdup (json_object_get_string_member (json_node_get_object (other), "id"));
  path = g_strconcat ("/shipments/", id, NULL);
  events = g_strconcat (path, "/events", NULL);
  other_path = g_strconcat ("/shipments/", other_id, NULL);
  other_events = g_strconcat (other_path, "/events", NULL);
  valid_batch = g_strdup_printf ("{\"events\":[{\"carrier\":\"dhl\",\"trackNumber\":\"JD0001\",\"eventId\":\"b4\","
                                 "\"source\":\"dhl\",\"status\":\"OUT_FOR_DELIVERY\",\"occurredAt\":\"%s\"}]}", t);
  batch = g_strdup_printf ("{\"events\":[{\"shipmentId\":\"%s\",\"eventId\":\"b1\",\"status\":\"OUT_FOR_DELIVERY\","
                           "\"occurredAt\":\"%s\"},{\"carrier\":\"dhl\",\"trackNumber\":\"nothing\",\"eventId\":\"b2\","
                           "\"status\":\"DELIVERED\",\"occurredAt\":\"%s\"},{\"eventId\":\"b3\"}]}", id, t, t);
  {
    const Call calls[] = {
      { "POST", "/shipments", NULL, WB_ACCESS_ROLE_DISPATCHER, "{\"clientId\":\"acme\"}", NULL, NULL, 400 },
      { "POST", "/shipments", NULL, WB_ACCESS_ROLE_VIEWER, SHIPMENT_BODY, NULL, NULL, 403 },
      { "GET", "/shipments/{id}", path, WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 200 },
      { "GET", "/shipments/{id}", "/shipments/" UNKNOWN_ID, WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 404 },
      { "GET", "/shipments/{id}", "/shipments/not-a-uuid", WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 404 },
      { "GET", "/shipments/search", "/shipments/search?clientId=acme&limit=1", WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 200 },
      { "GET", "/shipments/search", "/shipments/search?limit=0", WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 400 },
      { "GET", "/shipments/search", NULL, WB_ACCESS_ROLE_NONE, NULL, NULL, NULL, 401 },
      { "GET", "/shipments/summary", NULL, WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 200 },
      { "GET", "/shipments/summary", "/shipments/summary?status=PENDING", WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 400 },
      { "GET", "/shipments/summary", NULL, WB_ACCESS_ROLE_NONE, NULL, NULL, NULL, 401 },
      { "POST", "/shipments/{id}/events", events, WB_ACCESS_ROLE_DISPATCHER, event, NULL, NULL, 201 },
      { "POST", "/shipments/{id}/events", events, WB_ACCESS_ROLE_DISPATCHER, event, NULL, NULL, 200 },
      { "POST", "/shipments/{id}/events", other_events, WB_ACCESS_ROLE_DISPATCHER, event, NULL, NULL, 409 },
      { "POST", "/shipments/{id}/events", events, WB_ACCESS_ROLE_DISPATCHER, bad_event, NULL, NULL, 400 },
      { "POST", "/shipments/{id}/events", "/shipments/" UNKNOWN_ID "/events", WB_ACCESS_ROLE_DISPATCHER, event, NULL, NULL, 404 },
      { "POST", "/shipments/events:batch", NULL, WB_ACCESS_ROLE_DISPATCHER, batch, NULL, NULL, 200, TRUE },
      { "POST", "/shipments/events:batch", NULL, WB_ACCESS_ROLE_DISPATCHER, valid_batch, NULL, NULL, 200 },
      { "POST", "/shipments/events:batch", NULL, WB_ACCESS_ROLE_DISPATCHER, "{\"events\":[]}", NULL, NULL, 400 },
      { "GET", "/shipments/{id}/events", events, WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 200 },
      { "GET", "/shipments/{id}/events", "/shipments/" UNKNOWN_ID "/events", WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 404 },
    };

    run_all (wire, calls, G_N_ELEMENTS (calls));
  }
  {
    Call get = { "GET", "/shipments/{id}", path, WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 200 };
    g_autoptr(JsonNode) view = call_route (wire, &get);

    etag = g_strdup_printf ("\"%" G_GINT64_FORMAT "\"", member_int (view, "version"));
  }
  {
    const Call calls[] = {
      { "PATCH", "/shipments/{id}", path, WB_ACCESS_ROLE_DISPATCHER, "{\"reference\":\"ORD-2\"}", NULL, NULL, 428 },
      { "PATCH", "/shipments/{id}", path, WB_ACCESS_ROLE_DISPATCHER, "{\"reference\":\"ORD-2\"}", "\"1\"", NULL, 412 },
      { "PATCH", "/shipments/{id}", path, WB_ACCESS_ROLE_DISPATCHER, "{\"colour\":\"red\"}", etag, NULL, 400 },
      { "PATCH", "/shipments/{id}", "/shipments/" UNKNOWN_ID, WB_ACCESS_ROLE_DISPATCHER, "{\"reference\":\"x\"}", "\"1\"", NULL, 404 },
    };

    run_all (wire, calls, G_N_ELEMENTS (calls));
  }
  {
    Call patch = { "PATCH", "/shipments/{id}", path, WB_ACCESS_ROLE_DISPATCHER, "{\"reference\":\"ORD-2\",\"eta\":null}", etag, NULL, 200 };

    changed = call_route (wire, &patch);
    g_free (etag);
    etag = g_strdup_printf ("\"%" G_GINT64_FORMAT "\"", member_int (changed, "version"));
  }
  {
    const Call calls[] = {
      { "GET", "/shipments/{id}", path, WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 304, FALSE, etag },
      { "DELETE", "/shipments/{id}", other_path, WB_ACCESS_ROLE_DISPATCHER, NULL, "\"1000\"", NULL, 412 },
      { "DELETE", "/shipments/{id}", "/shipments/" UNKNOWN_ID, WB_ACCESS_ROLE_DISPATCHER, NULL, NULL, NULL, 404 },
      { "DELETE", "/shipments/{id}", path, WB_ACCESS_ROLE_VIEWER, NULL, etag, NULL, 403 },
      { "DELETE", "/shipments/{id}", path, WB_ACCESS_ROLE_DISPATCHER, NULL, etag, NULL, 200 },
      { "DELETE", "/shipments/{id}", path, WB_ACCESS_ROLE_DISPATCHER, NULL, NULL, NULL, 409 },
      { "PATCH", "/shipments/{id}", path, WB_ACCESS_ROLE_DISPATCHER, "{\"reference\":\"late\"}", "*", NULL, 409 },
    };

    run_all (wire, calls, G_N_ELEMENTS (calls));
  }
}

/* Trackings are added with the default carriers file; nothing polls them
 * here (the emulated carriers are not running), which these routes do not
 * need. */
static void
call_trackings (Wire *wire)
{
  const Call calls[] = {
    { "POST", "/trackings", NULL, WB_ACCESS_ROLE_DISPATCHER,
      "{\"items\":[{\"carrierCode\":\"CDEK\",\"trackNumber\":\"1106-2233\"},"
      "{\"carrierCode\":\"POST_RU\",\"trackNumber\":\"RA123456785RU\"}]}", NULL, NULL, 200 },
    { "POST", "/trackings", NULL, WB_ACCESS_ROLE_DISPATCHER,
      "{\"items\":[{\"carrierCode\":\"CDEK\",\"trackNumber\":\"1106-2233\"},"
      "{\"carrierCode\":\"POST_RU\",\"trackNumber\":\"RA123456780RU\"}]}", NULL, NULL, 200, TRUE },
    { "POST", "/trackings", NULL, WB_ACCESS_ROLE_DISPATCHER, "{\"items\":[]}", NULL, NULL, 400 },
    { "POST", "/trackings", NULL, WB_ACCESS_ROLE_VIEWER, "{\"items\":[]}", NULL, NULL, 403 },
    { "POST", "/trackings/get-by-ids", NULL, WB_ACCESS_ROLE_VIEWER, "{\"ids\":[1,2,99]}", NULL, NULL, 200 },
    { "POST", "/trackings/get-by-ids", NULL, WB_ACCESS_ROLE_VIEWER, "{\"ids\":[0]}", NULL, NULL, 400 },
    { "GET", "/trackings", "/trackings?carrier=CDEK&limit=1", WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 200 },
    { "GET", "/trackings", "/trackings?due=maybe", WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 400 },
    { "GET", "/trackings/{id}/events", "/trackings/1/events?limit=10", WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 200 },
    { "GET", "/trackings/{id}/events", "/trackings/999/events", WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 404 },
    { "GET", "/trackings/{id}/events", "/trackings/1/events?limit=0", WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 400 },
    { "POST", "/trackings/{id}/refresh", "/trackings/1/refresh", WB_ACCESS_ROLE_DISPATCHER, NULL, NULL, NULL, 202 },
    { "POST", "/trackings/{id}/refresh", "/trackings/1/refresh", WB_ACCESS_ROLE_DISPATCHER, NULL, NULL, NULL, 429 },
    { "POST", "/trackings/{id}/refresh", "/trackings/999/refresh", WB_ACCESS_ROLE_DISPATCHER, NULL, NULL, NULL, 404 },
    { "POST", "/trackings/{id}/refresh", "/trackings/x/refresh", WB_ACCESS_ROLE_DISPATCHER, NULL, NULL, NULL, 400 },
    { "GET", "/carriers", NULL, WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 200 },
    { "DELETE", "/trackings/{id}", "/trackings/2", WB_ACCESS_ROLE_DISPATCHER, NULL, NULL, NULL, 204 },
    { "DELETE", "/trackings/{id}", "/trackings/2", WB_ACCESS_ROLE_DISPATCHER, NULL, NULL, NULL, 404 },
    { "DELETE", "/trackings/{id}", "/trackings/0", WB_ACCESS_ROLE_DISPATCHER, NULL, NULL, NULL, 400 },
  };

  run_all (wire, calls, G_N_ELEMENTS (calls));
}

static const char *
string_member (JsonNode   *node,
               const char *name)
{
  return json_object_get_string_member (json_node_get_object (node), name);
}

/* After call_fleet: company c1 with vehicle v1 and driver d1. */
static void
call_dispatch (Wire *wire)
{
  Call create = { "POST", "/shipments", NULL, WB_ACCESS_ROLE_DISPATCHER, SHIPMENT_BODY_WITH (""), NULL, NULL, 201 };
  g_autoptr(JsonNode) shipment = call_route (wire, &create);
  g_autofree char *batch_body = g_strdup_printf ("{\"pickupPointId\":\"pp1\",\"shipmentIds\":[\"%s\"]}",
                                                 string_member (shipment, "id"));
  g_autofree char *handover = g_strdup_printf ("{\"shipmentId\":\"%s\",\"phone\":\"+375 29 123-45-67\"}",
                                               string_member (shipment, "id"));
  g_autofree char *wrong_phone = g_strdup_printf ("{\"shipmentId\":\"%s\",\"phone\":\"+375 29 000-00-00\"}",
                                                  string_member (shipment, "id"));
  g_autoptr(JsonNode) batch = NULL, trip = NULL, other = NULL, command = NULL;
  g_autofree char *batch_path = NULL, *trip_body = NULL, *trip_path = NULL, *other_path = NULL;
  g_autofree char *start = NULL, *complete = NULL, *cancel = NULL, *reassign = NULL, *command_path = NULL;
  const Call points[] = {
    { "PUT", "/pickup-points/{id}", "/pickup-points/pp1", WB_ACCESS_ROLE_ADMIN,
      "{\"name\":\"Central\",\"address\":{\"country\":\"BY\",\"city\":\"Minsk\"},\"lat\":53.9,\"lon\":27.56,\"capacity\":40}",
      NULL, NULL, 201 },
    { "PUT", "/pickup-points/{id}", "/pickup-points/pp1", WB_ACCESS_ROLE_ADMIN,
      "{\"name\":\"Central\",\"lat\":53.9,\"lon\":27.56,\"openingHours\":\"Mo-Fr 09-18\"}", NULL, NULL, 200 },
    { "PUT", "/pickup-points/{id}", "/pickup-points/pp1", WB_ACCESS_ROLE_ADMIN, "{\"name\":\"Central\"}", NULL, NULL, 400 },
    { "PUT", "/pickup-points/{id}", "/pickup-points/pp1", WB_ACCESS_ROLE_VIEWER, "{\"name\":\"x\",\"lat\":1,\"lon\":1}", NULL, NULL, 403 },
    { "PUT", "/pickup-points/{id}", "/pickup-points/pp2", WB_ACCESS_ROLE_ADMIN, "{\"name\":\"x\",\"lat\":1,\"lon\":1}", NULL, NULL, 201 },
    { "DELETE", "/pickup-points/{id}", "/pickup-points/pp2", WB_ACCESS_ROLE_ADMIN, NULL, NULL, NULL, 204 },
    { "DELETE", "/pickup-points/{id}", "/pickup-points/pp2", WB_ACCESS_ROLE_ADMIN, NULL, NULL, NULL, 404 },
    { "GET", "/pickup-points", NULL, WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 200 },
    { "GET", "/pickup-points", "/pickup-points?limit=0", WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 400 },
    { "GET", "/pickup-points/{id}", "/pickup-points/pp1", WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 200 },
    { "GET", "/pickup-points/{id}", "/pickup-points/nowhere", WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 404 },
    { "POST", "/batches", NULL, WB_ACCESS_ROLE_DISPATCHER, "{\"pickupPointId\":\"pp1\",\"shipmentIds\":[]}", NULL, NULL, 400 },
  };
  Call make_batch = { "POST", "/batches", NULL, WB_ACCESS_ROLE_DISPATCHER, batch_body, NULL, NULL, 201 };
  Call make_trip = { "POST", "/trips", NULL, WB_ACCESS_ROLE_DISPATCHER, NULL, NULL, NULL, 201 };
  Call make_command = { "POST", "/trips/{id}/reassign", NULL, WB_ACCESS_ROLE_DISPATCHER,
                        "{\"driverId\":\"d1\",\"reason\":\"shift change\"}", NULL, NULL, 202 };

  run_all (wire, points, G_N_ELEMENTS (points));
  batch = call_route (wire, &make_batch);
  batch_path = g_strconcat ("/batches/", string_member (batch, "id"), NULL);
  trip_body = g_strdup_printf ("{\"companyId\":\"c1\",\"vehicleId\":\"v1\",\"driverId\":\"d1\","
                               "\"plannedStart\":\"2026-12-08T08:00:00Z\",\"stops\":[{\"pickupPointId\":\"pp1\","
                               "\"batchIds\":[\"%s\"]},{\"address\":\"Nezavisimosti 1\",\"lat\":53.91,\"lon\":27.57}]}",
                               string_member (batch, "id"));
  make_trip.body = trip_body;
  trip = call_route (wire, &make_trip);
  make_trip.body = "{\"companyId\":\"c1\",\"vehicleId\":\"v1\",\"driverId\":\"d1\","
                   "\"plannedStart\":\"2026-12-08T09:00:00Z\",\"stops\":[{\"pickupPointId\":\"pp1\"}]}";
  other = call_route (wire, &make_trip);
  trip_path = g_strconcat ("/trips/", string_member (trip, "id"), NULL);
  other_path = g_strconcat ("/trips/", string_member (other, "id"), NULL);
  start = g_strconcat (trip_path, "/start", NULL);
  complete = g_strconcat (trip_path, "/complete", NULL);
  cancel = g_strconcat (other_path, "/cancel", NULL);
  reassign = g_strconcat (trip_path, "/reassign", NULL);
  make_command.path = reassign;
  command = call_route (wire, &make_command);
  command_path = g_strconcat ("/commands/", string_member (command, "id"), NULL);
  {
    const Call calls[] = {
      { "POST", "/batches", NULL, WB_ACCESS_ROLE_DISPATCHER, batch_body, NULL, NULL, 409 },
      { "GET", "/batches", "/batches?pickupPointId=pp1", WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 200 },
      { "GET", "/batches", "/batches?status=LOST", WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 400 },
      { "GET", "/batches/{id}", batch_path, WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 200 },
      { "GET", "/batches/{id}", "/batches/" UNKNOWN_ID, WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 404 },
      { "POST", "/trips", NULL, WB_ACCESS_ROLE_DISPATCHER, "{\"companyId\":\"c1\"}", NULL, NULL, 400 },
      { "POST", "/trips", NULL, WB_ACCESS_ROLE_DISPATCHER, trip_body, NULL, NULL, 409 },
      { "GET", "/trips", "/trips?companyId=c1&status=PLANNED&limit=1", WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 200 },
      { "GET", "/trips", "/trips?status=LOST", WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 400 },
      { "GET", "/trips/{id}", trip_path, WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 200 },
      { "GET", "/trips/{id}", "/trips/nothing", WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 404 },
      { "PATCH", "/trips/{id}", other_path, WB_ACCESS_ROLE_DISPATCHER, "{\"driverId\":\"d1\"}", NULL, NULL, 428 },
      { "PATCH", "/trips/{id}", other_path, WB_ACCESS_ROLE_DISPATCHER, "{\"driverId\":\"d1\"}", "\"9\"", NULL, 412 },
      { "PATCH", "/trips/{id}", other_path, WB_ACCESS_ROLE_DISPATCHER, "{\"colour\":\"red\"}", "\"1\"", NULL, 400 },
      { "PATCH", "/trips/{id}", "/trips/nothing", WB_ACCESS_ROLE_DISPATCHER, "{\"driverId\":\"d1\"}", "\"1\"", NULL, 404 },
      { "PATCH", "/trips/{id}", other_path, WB_ACCESS_ROLE_DISPATCHER,
        "{\"plannedStart\":\"2026-12-08T10:00:00Z\"}", "\"1\"", NULL, 200 },
      { "POST", "/trips/{id}/reassign", reassign, WB_ACCESS_ROLE_DISPATCHER, "{\"reason\":\"x\"}", NULL, NULL, 400 },
      { "POST", "/trips/{id}/reassign", "/trips/nothing/reassign", WB_ACCESS_ROLE_DISPATCHER,
        "{\"driverId\":\"d1\",\"reason\":\"x\"}", NULL, NULL, 404 },
      { "GET", "/commands/{id}", command_path, WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 200 },
      { "GET", "/commands/{id}", "/commands/nothing", WB_ACCESS_ROLE_VIEWER, NULL, NULL, NULL, 404 },
      { "POST", "/trips/{id}/complete", complete, WB_ACCESS_ROLE_DISPATCHER, NULL, NULL, NULL, 409 },
      { "POST", "/trips/{id}/start", start, WB_ACCESS_ROLE_DISPATCHER, NULL, NULL, NULL, 200 },
      { "POST", "/trips/{id}/start", start, WB_ACCESS_ROLE_DISPATCHER, NULL, NULL, NULL, 409 },
      { "POST", "/trips/{id}/start", "/trips/nothing/start", WB_ACCESS_ROLE_DISPATCHER, NULL, NULL, NULL, 404 },
      { "PATCH", "/trips/{id}", trip_path, WB_ACCESS_ROLE_DISPATCHER, "{\"driverId\":\"d1\"}", "*", NULL, 409 },
      { "POST", "/pickup-points/{id}/handover", "/pickup-points/pp1/handover", WB_ACCESS_ROLE_DISPATCHER,
        handover, NULL, NULL, 409 },
      { "POST", "/trips/{id}/complete", complete, WB_ACCESS_ROLE_DISPATCHER, NULL, NULL, NULL, 200 },
      { "POST", "/trips/{id}/complete", "/trips/nothing/complete", WB_ACCESS_ROLE_DISPATCHER, NULL, NULL, NULL, 404 },
      { "POST", "/pickup-points/{id}/handover", "/pickup-points/pp1/handover", WB_ACCESS_ROLE_DISPATCHER,
        "{\"shipmentId\":\"x\",\"phone\":\"1\"}", NULL, NULL, 400 },
      { "POST", "/pickup-points/{id}/handover", "/pickup-points/nowhere/handover", WB_ACCESS_ROLE_DISPATCHER,
        handover, NULL, NULL, 404 },
      { "POST", "/pickup-points/{id}/handover", "/pickup-points/pp1/handover", WB_ACCESS_ROLE_DISPATCHER,
        wrong_phone, NULL, NULL, 409 },
      { "POST", "/pickup-points/{id}/handover", "/pickup-points/pp1/handover", WB_ACCESS_ROLE_DISPATCHER,
        handover, NULL, NULL, 200 },
      { "DELETE", "/pickup-points/{id}", "/pickup-points/pp1", WB_ACCESS_ROLE_ADMIN, NULL, NULL, NULL, 409 },
      { "POST", "/trips/{id}/cancel", cancel, WB_ACCESS_ROLE_DISPATCHER, "{\"reason\":\"no driver\"}", NULL, NULL, 200 },
      { "POST", "/trips/{id}/cancel", cancel, WB_ACCESS_ROLE_DISPATCHER, NULL, NULL, NULL, 409 },
      { "POST", "/trips/{id}/cancel", cancel, WB_ACCESS_ROLE_DISPATCHER, "{\"why\":1}", NULL, NULL, 400 },
      { "POST", "/trips/{id}/cancel", "/trips/nothing/cancel", WB_ACCESS_ROLE_DISPATCHER, NULL, NULL, NULL, 404 },
    };

    run_all (wire, calls, G_N_ELEMENTS (calls));
  }
}

static char *
token_for (WbAccessRole role)
{
  return wb_jwt_sign ((const guint8 *) SECRET, strlen (SECRET), "wire-test", role,
                      g_get_real_time () / G_USEC_PER_SEC, 600);
}

static void
wait_ready (Wire *wire)
{
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u/readyz", wire->port);

  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr(SoupMessage) message = soup_message_new ("GET", uri);
      g_autoptr(GBytes) body = soup_session_send_and_read (wire->session, message, NULL, NULL);

      if (soup_message_get_status (message) == 200)
        return;
      g_usleep (50 * 1000);
    }
  g_error ("waybilld did not become ready");
}

static void
fetch_document (Wire *wire)
{
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u/openapi.json", wire->port);
  g_autoptr(SoupMessage) message = soup_message_new ("GET", uri);
  g_autoptr(GBytes) body = soup_session_send_and_read (wire->session, message, NULL, NULL);
  g_autoptr(GError) error = NULL;

  g_assert_cmpuint (soup_message_get_status (message), ==, 200);
  wire->document = wb_json_parse_bytes (body, NULL, &error);
  g_assert_no_error (error);
  wb_test_schema_set_add (wire->set, "openapi.json", wire->document);
}

/* Every route of the document (which is the router's) answered with
 * success at least once; the list of what was checked, printed. */
static void
report (Wire *wire)
{
  JsonObject *paths = object_at (json_node_get_object (wire->document), "paths");
  g_autoptr(GList) patterns = json_object_get_members (paths);
  g_autoptr(GList) checked = g_hash_table_get_keys (wire->checked);
  guint routes = 0;

  checked = g_list_sort (checked, (GCompareFunc) g_strcmp0);
  for (GList *l = checked; l; l = l->next)
    g_test_message ("checked %s (%u answers)", (char *) l->data, GPOINTER_TO_UINT (g_hash_table_lookup (wire->checked, l->data)));
  for (GList *p = patterns; p; p = p->next)
    {
      g_autoptr(GList) methods = json_object_get_members (object_at (paths, p->data));

      for (GList *m = methods; m; m = m->next, routes++)
        {
          g_autofree char *upper = g_ascii_strup (m->data, -1);
          g_autofree char *key = g_strdup_printf ("%s %s", upper, (char *) p->data);

          if (!g_hash_table_contains (wire->succeeded, key))
            g_error ("%s: no successful answer checked; add it to tests/wire.c", key);
        }
    }
  g_test_message ("%u routes, %u route/status pairs, %u answers validated against /openapi.json",
                  routes, g_hash_table_size (wire->checked), wire->answers);
}

static void
test_every_route (void)
{
  g_autofree char *dsn = wb_test_pg_create_database ("wire");
  g_autofree char *env_dsn = g_strconcat ("DB_DSN=", dsn, NULL);
  const char *env[] = { env_dsn, "AUTH_HS256SECRET=" SECRET, NULL };
  const char *args[] = { "--listen-address=127.0.0.1", NULL };
  Wire wire = { 0 };

  wire.daemon = wb_test_daemon_spawn (env, args);
  wire.port = wb_test_daemon_port (wire.daemon);
  wire.session = soup_session_new_with_options ("timeout", 30, NULL);
  wire.set = wb_test_schema_set_new (NULL);
  wire.checked = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  wire.succeeded = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (WbAccessRole role = WB_ACCESS_ROLE_VIEWER; role <= WB_ACCESS_ROLE_ADMIN; role++)
    wire.tokens[role] = token_for (role);

  wait_ready (&wire);
  fetch_document (&wire);
  call_system (&wire);
  call_fleet (&wire);
  call_fleet_imports (&wire);
  call_shipments (&wire);
  call_trackings (&wire);
  call_dispatch (&wire);
  report (&wire);

  g_assert_cmpint (wb_test_daemon_terminate (wire.daemon), ==, 0);
  wb_test_daemon_free (wire.daemon);
  for (guint i = 0; i < G_N_ELEMENTS (wire.tokens); i++)
    g_free (wire.tokens[i]);
  g_hash_table_unref (wire.checked);
  g_hash_table_unref (wire.succeeded);
  wb_test_schema_set_free (wire.set);
  json_node_unref (wire.document);
  g_object_unref (wire.session);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (keyword_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/wire/schema/keyword/%s", keyword_cases[i].name);

      g_test_add_data_func (path, &keyword_cases[i], test_keyword);
    }
  g_test_add_func ("/wire/schema/unknown-keyword", test_unknown_keyword);
  g_test_add_func ("/wire/schema/data-schemas", test_data_schemas);
  g_test_add_func ("/wire/daemon/every-route", test_every_route);

  return g_test_run ();
}
