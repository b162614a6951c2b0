// SPDX-License-Identifier: GPL-3.0-or-later
/* The telemetry area: the telemetry.raw form of a position, the three
 * position decoders (HTTP JSON, OsmAnd query and JSON, Teltonika Codec 8 and
 * 8 Extended) and technical validation. The Teltonika tests start from the
 * example packets published in Teltonika's "Data Sending Protocols"
 * documentation (wiki.teltonika-gps.com), typed in as hex, and check every
 * decoded field against the values that documentation lists. */

#include "config.h"

#include <math.h>
#include <string.h>

#include "wb-osmand.h"
#include "wb-position-validate.h"
#include "wb-position.h"
#include "wb-telemetry-fastjson.h"
#include "wb-telemetry-json.h"
#include "wb-telemetry-private.h"
#include "wb-teltonika.h"

#define SECOND_US G_USEC_PER_SEC
#define MINUTE_US (G_GINT64_CONSTANT (60) * G_USEC_PER_SEC)
#define DAY_US    (G_GINT64_CONSTANT (86400) * G_USEC_PER_SEC)
#define IMEI      "356307042441013"

/* ---- helpers -------------------------------------------------------------- */

static GBytes *
hex_bytes (const char *hex)
{
  gsize length = strlen (hex);
  guint8 *data = g_malloc (length / 2 + 1);

  g_assert_cmpuint (length % 2, ==, 0);
  for (gsize i = 0; i < length / 2; i++)
    {
      int high = g_ascii_xdigit_value (hex[2 * i]), low = g_ascii_xdigit_value (hex[2 * i + 1]);

      g_assert_true (high >= 0 && low >= 0);
      data[i] = high << 4 | low;
    }
  return g_bytes_new_take (data, length / 2);
}

/* A frame around @payload_hex (codec id … second record count): preamble,
 * the right length and the right CRC, so that only the payload is at fault. */
static GBytes *
frame_around (const char *payload_hex)
{
  g_autoptr(GBytes) payload = hex_bytes (payload_hex);
  gsize size = g_bytes_get_size (payload);
  const guint8 *data = g_bytes_get_data (payload, NULL);
  guint16 crc = wb_teltonika_crc16 (data, size);
  GByteArray *frame = g_byte_array_new ();
  guint8 header[8] = { 0, 0, 0, 0, size >> 24, size >> 16, size >> 8, size };
  guint8 trailer[4] = { 0, 0, crc >> 8, crc };

  g_byte_array_append (frame, header, sizeof header);
  g_byte_array_append (frame, data, size);
  g_byte_array_append (frame, trailer, sizeof trailer);
  return g_byte_array_free_to_bytes (frame);
}

static GPtrArray *
parse_frame_ok (GBytes *frame)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *positions = NULL;
  gsize consumed = 0;
  WbTeltonikaResult result;

  result = wb_teltonika_parse_frame (g_bytes_get_data (frame, NULL), g_bytes_get_size (frame), IMEI,
                                     &consumed, &positions, &error);
  g_assert_no_error (error);
  g_assert_cmpint (result, ==, WB_TELTONIKA_OK);
  g_assert_cmpuint (consumed, ==, g_bytes_get_size (frame));
  g_assert_nonnull (positions);
  return positions;
}

static void
assert_frame_error (GBytes     *frame,
                    int         code,
                    const char *message_part)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *positions = NULL;
  gsize consumed = 99;

  g_assert_cmpint (wb_teltonika_parse_frame (g_bytes_get_data (frame, NULL), g_bytes_get_size (frame), IMEI,
                                             &consumed, &positions, &error), ==, WB_TELTONIKA_ERROR);
  g_assert_error (error, WB_TELEMETRY_ERROR, code);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, message_part));
  g_assert_null (positions);
  g_assert_cmpuint (consumed, ==, 0);
}

static gint64
attribute_int (WbPosition *p,
               const char *name)
{
  JsonNode *node;

  g_assert_true (p->attributes != NULL || p->attributes_json != NULL);
  node = json_object_get_member (wb_position_ensure_attributes (p), name);
  g_assert_nonnull (node);
  g_assert_cmpint (json_node_get_value_type (node), ==, G_TYPE_INT64);
  return json_node_get_int (node);
}

static const char *
attribute_string (WbPosition *p,
                  const char *name)
{
  JsonNode *node;

  g_assert_true (p->attributes != NULL || p->attributes_json != NULL);
  node = json_object_get_member (wb_position_ensure_attributes (p), name);
  g_assert_nonnull (node);
  g_assert_cmpint (json_node_get_value_type (node), ==, G_TYPE_STRING);
  return json_node_get_string (node);
}

static gint64
parse_time (const char *text)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_iso8601 (text, NULL);

  g_assert_nonnull (time);
  return g_date_time_to_unix (time) * G_USEC_PER_SEC + g_date_time_get_microsecond (time);
}

/* A position every field of which is known. */
static WbPosition *
full_position (void)
{
  WbPosition *p = wb_position_new ();
  JsonObject *nested = json_object_new ();

  p->device_id = g_strdup ("truck-7 \"north\"");
  p->protocol = WB_PROTOCOL_TELTONIKA;
  p->device_time = parse_time ("2019-06-10T10:04:46.123Z");
  p->server_time = parse_time ("2019-06-10T10:04:47.5Z");
  p->lat = 54.6676016;
  p->lon = -25.2562916;
  p->speed_kmh = 63.5;
  p->heading = 271;
  p->altitude = -12;
  p->accuracy = 4.2;
  p->hdop = 0.9;
  p->satellites = 11;
  p->ignition = 1;
  p->fuel = 42.25;
  p->odometer = 123456789;
  p->battery = 87;
  p->charging = 0;
  p->moving = 1;
  p->driver_unique_id = g_strdup ("D-042");
  json_object_set_int_member (wb_position_ensure_attributes (p), "io17", 30);
  json_object_set_double_member (wb_position_ensure_attributes (p), "external_voltage", 24.079);
  json_object_set_double_member (wb_position_ensure_attributes (p), "huge", 1e20);
  json_object_set_string_member (wb_position_ensure_attributes (p), "note", "tab\there, quote \" and \\ and \x01");
  json_object_set_boolean_member (wb_position_ensure_attributes (p), "flag", TRUE);
  json_object_set_null_member (wb_position_ensure_attributes (p), "nothing");
  json_object_set_int_member (nested, "level", 2);
  json_object_set_object_member (wb_position_ensure_attributes (p), "nested", nested);
  return p;
}

static JsonNode *
parse_json (const char *text)
{
  g_autoptr(GError) error = NULL;
  JsonNode *node = json_from_string (text, &error);

  g_assert_no_error (error);
  return node;
}

/* ---- WbPosition and telemetry.raw ------------------------------------------- */

static void
test_position_new_unknown (void)
{
  g_autoptr(WbPosition) p = wb_position_new ();
  g_autofree char *json = wb_position_to_json (p);

  g_assert_null (p->device_id);
  g_assert_cmpint (p->device_time, ==, 0);
  g_assert_true (isnan (p->lat) && isnan (p->lon) && isnan (p->speed_kmh) && isnan (p->odometer));
  g_assert_cmpint (p->satellites, ==, -1);
  g_assert_cmpint (p->ignition, ==, -1);
  g_assert_cmpint (p->moving, ==, -1);
  /* Most positions have no attributes: none are made for them. */
  g_assert_null (p->attributes);
  /* Unknown values are left out, not written as null or 0. */
  g_assert_cmpstr (json, ==, "{\"protocol\":\"json\",\"attributes\":{}}");
}

static void
test_position_to_json_exact (void)
{
  g_autoptr(WbPosition) p = full_position ();
  g_autofree char *json = wb_position_to_json (p);

  g_assert_cmpstr (json, ==,
                   "{\"device_id\":\"truck-7 \\\"north\\\"\",\"protocol\":\"teltonika\","
                   "\"device_time\":\"2019-06-10T10:04:46.123Z\",\"server_time\":\"2019-06-10T10:04:47.500Z\","
                   "\"lat\":54.6676016,\"lon\":-25.2562916,\"speed_kmh\":63.5,\"heading\":271,\"altitude\":-12,"
                   "\"accuracy\":4.2,\"hdop\":0.9,\"satellites\":11,\"ignition\":true,\"fuel\":42.25,"
                   "\"odometer\":123456789,\"battery\":87,\"charging\":false,\"moving\":true,"
                   "\"driver_unique_id\":\"D-042\",\"attributes\":{\"io17\":30,\"external_voltage\":24.079,"
                   "\"huge\":1e+20,\"note\":\"tab\\there, quote \\\" and \\\\ and \\u0001\",\"flag\":true,"
                   "\"nothing\":null,\"nested\":{\"level\":2}}}");
}

static void
test_position_round_trip (void)
{
  g_autoptr(WbPosition) p = full_position ();
  g_autoptr(WbPosition) back = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *json = wb_position_to_json (p);
  g_autofree char *again = NULL;

  back = wb_position_from_json (json, &error);
  g_assert_no_error (error);
  g_assert_true (wb_position_equal (p, back));
  again = wb_position_to_json (back);
  g_assert_cmpstr (again, ==, json);

  /* And with everything unknown but the protocol. */
  {
    g_autoptr(WbPosition) empty = wb_position_new ();
    g_autoptr(WbPosition) empty_back = NULL;
    g_autofree char *empty_json = NULL;

    empty->protocol = WB_PROTOCOL_OSMAND;
    empty_json = wb_position_to_json (empty);
    empty_back = wb_position_from_json (empty_json, &error);
    g_assert_no_error (error);
    g_assert_true (wb_position_equal (empty, empty_back));
  }
}

/* Every double written must read back as the same double. */
static void
test_position_round_trip_numbers (void)
{
  const double values[] = {
    0.1, 1.0 / 3, 25.2562916, -0.0000001, 89.99999999999999, 1e-300, 123456789.123456789, 2.5e15, -179.9999999,
  };

  for (guint i = 0; i < G_N_ELEMENTS (values); i++)
    {
      g_autoptr(WbPosition) p = wb_position_new ();
      g_autoptr(WbPosition) back = NULL;
      g_autofree char *json = NULL;

      p->lat = values[i];
      p->odometer = values[i] * 1e6;
      json_object_set_double_member (wb_position_ensure_attributes (p), "x", values[i]);
      json = wb_position_to_json (p);
      back = wb_position_from_json (json, NULL);
      g_assert_nonnull (back);
      g_assert_cmpfloat (back->lat, ==, values[i]);
      g_assert_cmpfloat (back->odometer, ==, values[i] * 1e6);
      g_assert_true (wb_position_equal (p, back));
    }
}

static void
test_position_non_finite (void)
{
  g_autoptr(WbPosition) p = wb_position_new ();
  g_autofree char *json = NULL;
  g_autoptr(JsonNode) node = NULL;

  p->lat = INFINITY;
  p->speed_kmh = NAN;
  json_object_set_double_member (wb_position_ensure_attributes (p), "bad", -INFINITY);
  json = wb_position_to_json (p);
  g_assert_cmpstr (json, ==, "{\"protocol\":\"json\",\"attributes\":{\"bad\":null}}");
  node = parse_json (json);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
}

static void
test_position_copy (void)
{
  g_autoptr(WbPosition) p = full_position ();
  g_autoptr(WbPosition) copy = wb_position_copy (p);
  JsonObject *nested;

  g_assert_true (wb_position_equal (p, copy));
  g_assert_true (copy->device_id != p->device_id);
  g_assert_true (copy->attributes != p->attributes);

  /* Deep: changing the copy's nested attribute leaves the original alone. */
  nested = json_object_get_object_member (copy->attributes, "nested");
  json_object_set_int_member (nested, "level", 3);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (p->attributes, "nested"), "level"),
                   ==, 2);
  g_assert_false (wb_position_equal (p, copy));

}

/* Shared, not copied; the last reference frees it (the sanitizer build
 * catches a release too many or too few). */
static void
test_position_ref (void)
{
  WbPosition *p = full_position ();
  WbPosition *shared = wb_position_ref (p);

  g_assert_true (shared == p);
  wb_position_unref (p);
  g_assert_cmpstr (shared->device_id, ==, "truck-7 \"north\"");
  g_assert_nonnull (json_object_get_object_member (shared->attributes, "nested"));
  wb_position_unref (shared);
}

static void
test_position_boxed (void)
{
  g_autoptr(WbPosition) p = full_position ();
  WbPosition *copy;

  /* A boxed copy is a reference, as with GBytes: positions do not change
   * once shared. */
  g_assert_true (G_TYPE_IS_BOXED (WB_TYPE_POSITION));
  copy = g_boxed_copy (WB_TYPE_POSITION, p);
  g_assert_true (copy == p);
  g_boxed_free (WB_TYPE_POSITION, copy);
}

static void
test_position_protocol_names (void)
{
  const char * const names[] = { "json", "osmand", "teltonika" };
  WbProtocol protocol;

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_assert_cmpstr (wb_protocol_to_string (i), ==, names[i]);
      g_assert_true (wb_protocol_from_string (names[i], &protocol));
      g_assert_cmpint (protocol, ==, i);
    }
  g_assert_false (wb_protocol_from_string ("gt06", &protocol));
}

/* Where a refusal comes from: the guarded parse (WB_JSON_ERROR), a member
 * (WB_JSON_ERROR_FIELD, naming it), or the telemetry shape of the body. */
#define SYNTAX    WB_JSON_ERROR, WB_JSON_ERROR_SYNTAX
#define TOO_DEEP  WB_JSON_ERROR, WB_JSON_ERROR_TOO_DEEP
#define FIELD     WB_JSON_ERROR, WB_JSON_ERROR_FIELD
#define MALFORMED WB_TELEMETRY_ERROR, WB_TELEMETRY_ERROR_MALFORMED

typedef struct
{
  const char *json;
  GQuark      domain;
  int         code;
  const char *message_part;
} BadInput;

/* A field error carries its path as data, and the message names it first. */
static void
assert_bad_input (const GError   *error,
                  const BadInput *expected)
{
  const char *field;

  g_assert_error (error, expected->domain, expected->code);
  g_assert_nonnull (strstr (error->message, expected->message_part));
  if (expected->domain != WB_JSON_ERROR || expected->code != WB_JSON_ERROR_FIELD)
    return;
  field = wb_json_error_get_field (error);
  g_assert_nonnull (field);
  if (*field != '\0')
    {
      g_autofree char *prefix = g_strconcat (field, ": ", NULL);

      g_assert_true (g_str_has_prefix (error->message, prefix));
    }
}

static void
test_position_from_json_invalid (void)
{
  const BadInput cases[] = {
    { "", SYNTAX, "empty" },
    { "{\"protocol\":", SYNTAX, "ends too early" },
    { "[1]", FIELD, "JSON object" },
    { "{}", FIELD, "protocol: must be" },
    { "{\"protocol\":\"gt06\"}", FIELD, "protocol: must be" },
    { "{\"protocol\":\"json\",\"lat\":\"54.1\"}", FIELD, "lat: must be a number" },
    { "{\"protocol\":\"json\",\"lat\":1e999}", SYNTAX, "beyond the range of a double" },
    { "{\"protocol\":\"json\",\"device_time\":\"yesterday\"}", FIELD, "device_time: " },
    { "{\"protocol\":\"json\",\"device_time\":1560161086000}", FIELD,
      "device_time: must be a string" },
    { "{\"protocol\":\"json\",\"satellites\":1.5}", FIELD, "satellites: " },
    { "{\"protocol\":\"json\",\"ignition\":1}", FIELD, "ignition: must be true or false" },
    { "{\"protocol\":\"json\",\"attributes\":[]}", FIELD, "attributes: must be an object" },
    { "{\"protocol\":\"json\",\"device_id\":\"a\\u0001b\"}", FIELD, "device_id: " },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(WbPosition) p = wb_position_from_json (cases[i].json, &error);

      g_test_message ("%s → %s", cases[i].json, error ? error->message : "(accepted)");
      g_assert_null (p);
      assert_bad_input (error, &cases[i]);
    }
}

/* to_json writes only members the schema declares, with the declared types,
 * and a full position carries every required member. */
static void
test_position_schema (void)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "..", "data", "schemas",
                                                 "telemetry.raw.schema.json", NULL);
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) schema_node = NULL;
  g_autoptr(JsonNode) message_node = NULL;
  g_autoptr(WbPosition) p = full_position ();
  g_autofree char *json = wb_position_to_json (p);
  g_autoptr(GList) members = NULL;
  JsonObject *schema, *properties, *message;
  JsonArray *required, *protocols;

  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  schema_node = parse_json (text);
  schema = json_node_get_object (schema_node);
  g_assert_cmpstr (json_object_get_string_member (schema, "$id"), ==, "urn:waybill:schema:telemetry.raw");
  properties = json_object_get_object_member (schema, "properties");
  message_node = parse_json (json);
  message = json_node_get_object (message_node);

  required = json_object_get_array_member (schema, "required");
  for (guint i = 0; i < json_array_get_length (required); i++)
    g_assert_true (json_object_has_member (message, json_array_get_string_element (required, i)));

  members = json_object_get_members (message);
  g_assert_cmpuint (g_list_length (members), ==, json_object_get_size (properties));
  for (GList *l = members; l != NULL; l = l->next)
    {
      JsonObject *property = json_object_get_object_member (properties, l->data);
      JsonNode *value = json_object_get_member (message, l->data);
      const char *type;

      g_assert_nonnull (property);
      if (!json_object_has_member (property, "type"))
        continue;
      type = json_object_get_string_member (property, "type");
      if (g_str_equal (type, "object"))
        g_assert_true (JSON_NODE_HOLDS_OBJECT (value));
      else if (g_str_equal (type, "string"))
        g_assert_cmpint (json_node_get_value_type (value), ==, G_TYPE_STRING);
      else if (g_str_equal (type, "boolean"))
        g_assert_cmpint (json_node_get_value_type (value), ==, G_TYPE_BOOLEAN);
      else if (g_str_equal (type, "integer"))
        g_assert_cmpint (json_node_get_value_type (value), ==, G_TYPE_INT64);
      else
        {
          g_assert_cmpstr (type, ==, "number");
          g_assert_true (json_node_get_value_type (value) == G_TYPE_INT64
                         || json_node_get_value_type (value) == G_TYPE_DOUBLE);
        }
    }

  protocols = json_object_get_array_member (json_object_get_object_member (properties, "protocol"), "enum");
  g_assert_cmpuint (json_array_get_length (protocols), ==, 3);
  for (guint i = 0; i < 3; i++)
    g_assert_cmpstr (json_array_get_string_element (protocols, i), ==, wb_protocol_to_string (i));
}

/* ---- POST /telemetry ---------------------------------------------------------- */

static GPtrArray *
decode_json_ok (const char *body)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *positions = wb_telemetry_json_decode (body, strlen (body), &error);

  g_assert_no_error (error);
  g_assert_nonnull (positions);
  return positions;
}

static void
test_json_single (void)
{
  g_autoptr(GPtrArray) positions = decode_json_ok (
    "{\"deviceId\":\"truck-7\",\"timestamp\":\"2026-03-01T12:00:00.250+02:00\",\"lat\":53.9,\"lon\":27.5667,"
    "\"speed\":72.5,\"heading\":180,\"altitude\":220,\"accuracy\":5,\"ignition\":true,\"fuel\":61.5,"
    "\"odometer\":1500000,\"attributes\":{\"door\":\"open\",\"temp\":-4.5},\"trailer\":\"T-9\"}");
  WbPosition *p;

  g_assert_cmpuint (positions->len, ==, 1);
  p = g_ptr_array_index (positions, 0);
  g_assert_cmpstr (p->device_id, ==, "truck-7");
  g_assert_cmpint (p->protocol, ==, WB_PROTOCOL_JSON);
  g_assert_cmpint (p->device_time, ==, parse_time ("2026-03-01T10:00:00.250Z"));
  g_assert_cmpint (p->server_time, ==, 0);
  g_assert_cmpfloat (p->lat, ==, 53.9);
  g_assert_cmpfloat (p->lon, ==, 27.5667);
  g_assert_cmpfloat (p->speed_kmh, ==, 72.5);   /* already km/h */
  g_assert_cmpfloat (p->heading, ==, 180);
  g_assert_cmpfloat (p->altitude, ==, 220);
  g_assert_cmpfloat (p->accuracy, ==, 5);
  g_assert_cmpint (p->ignition, ==, 1);
  g_assert_cmpfloat (p->fuel, ==, 61.5);
  g_assert_cmpfloat (p->odometer, ==, 1500000);
  g_assert_cmpstr (attribute_string (p, "door"), ==, "open");
  g_assert_cmpfloat (json_object_get_double_member (p->attributes, "temp"), ==, -4.5);
  /* A member we do not know is kept, as an attribute. */
  g_assert_cmpstr (attribute_string (p, "trailer"), ==, "T-9");
  g_assert_true (isnan (p->hdop));
  g_assert_cmpint (p->moving, ==, -1);
}

static void
test_json_batch (void)
{
  g_autoptr(GPtrArray) positions = decode_json_ok (
    "[{\"deviceId\":\"a\",\"timestamp\":1560161086000,\"lat\":1,\"lon\":2},"
    " {\"deviceId\":\"b\",\"timestamp\":1560161086123.9,\"lat\":3,\"lon\":4,\"ignition\":false},"
    " {\"deviceId\":\"c\",\"timestamp\":\"2019-06-10 10:04:46\",\"lat\":5,\"lon\":6}]");
  const char * const ids[] = { "a", "b", "c" };
  const gint64 times_ms[] = { 1560161086000, 1560161086123, 1560161086000 };

  g_assert_cmpuint (positions->len, ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      WbPosition *p = g_ptr_array_index (positions, i);

      g_assert_cmpstr (p->device_id, ==, ids[i]);
      g_assert_cmpint (p->device_time, ==, times_ms[i] * 1000);
      g_assert_cmpfloat (p->lat, ==, 2 * i + 1);
    }
  g_assert_cmpint (((WbPosition *) g_ptr_array_index (positions, 1))->ignition, ==, 0);
}

/* The members beyond the list, and attribute values of every JSON type. */
static void
test_json_optional_members (void)
{
  g_autoptr(GPtrArray) positions = decode_json_ok (
    "{\"deviceId\":352093081234567,\"timestamp\":\"2019-06-10T10:04:46Z\",\"hdop\":0.7,\"satellites\":9,"
    "\"battery\":55.5,\"charging\":true,\"moving\":false,\"driverUniqueId\":\"D-1\",\"lat\":-0.0,\"lon\":1,"
    "\"attributes\":{\"list\":[1,2.5,\"a\\nb\\r\",null,[true]],\"zero\":-0.0}}");
  WbPosition *p = g_ptr_array_index (positions, 0);
  g_autofree char *json = wb_position_to_json (p);

  g_assert_cmpstr (p->device_id, ==, "352093081234567");
  g_assert_cmpfloat (p->hdop, ==, 0.7);
  g_assert_cmpint (p->satellites, ==, 9);
  g_assert_cmpfloat (p->battery, ==, 55.5);
  g_assert_cmpint (p->charging, ==, 1);
  g_assert_cmpint (p->moving, ==, 0);
  g_assert_cmpstr (p->driver_unique_id, ==, "D-1");
  /* -0 is written as 0, which reads back as what was written. */
  g_assert_nonnull (strstr (json, "\"lat\":0,"));
  g_assert_nonnull (strstr (json, "\"attributes\":{\"list\":[1,2.5,\"a\\nb\\r\",null,[true]],\"zero\":0}"));
}

/* Missing values are left for validation to judge and count. */
static void
test_json_missing_left_to_validation (void)
{
  g_autoptr(GPtrArray) positions = decode_json_ok ("{\"deviceId\":\"\",\"lat\":null}");
  WbPosition *p = g_ptr_array_index (positions, 0);
  WbRejectReason reason;

  g_assert_null (p->device_id);
  g_assert_true (isnan (p->lat));
  g_assert_false (wb_position_validate (p, g_get_real_time (), 0, &reason, NULL));
  g_assert_cmpint (reason, ==, WB_REJECT_MISSING_DEVICE);
}

static void
test_json_errors (void)
{
  g_autofree char *deep = NULL;
  GString *deep_text = g_string_new ("{\"deviceId\":\"a\",\"attributes\":");

  for (int i = 0; i < 40; i++)
    g_string_append (deep_text, "[");
  deep = g_string_free (deep_text, FALSE);

  {
    const BadInput cases[] = {
      { "", SYNTAX, "empty" },
      { "   ", SYNTAX, "empty" },
      { "{\"deviceId\":", SYNTAX, "ends too early" },
      { "{'deviceId':'a'}", SYNTAX, "member name in double quotes" },
      { "/* c */ {}", SYNTAX, "comments are not JSON" },
      { "42", MALFORMED, "position object or an array" },
      { "[]", MALFORMED, "empty" },
      { deep, TOO_DEEP, "nest deeper than 32 levels" },
      { "[{}, 7]", FIELD, "[1]: a position must be a JSON object" },
      { "[{},{},{},{\"lat\":\"53.9\"}]", FIELD, "[3].lat: must be a number" },
      { "{\"lon\":true}", FIELD, "lon: must be a number" },
      { "{\"deviceId\":[1]}", FIELD, "deviceId: must be a string" },
      { "{\"timestamp\":\"tomorrow\"}", FIELD,
        "timestamp: “tomorrow” is not a valid time" },
      { "{\"timestamp\":-5}", FIELD, "timestamp: unix milliseconds" },
      { "{\"timestamp\":true}", FIELD, "timestamp: must be an RFC 3339 string" },
      { "{\"speed\":-1}", FIELD, "speed: must not be negative" },
      { "{\"heading\":361}", FIELD, "heading: must be from 0 to 360" },
      { "{\"satellites\":3.5}", FIELD, "satellites: must be a whole number" },
      { "{\"ignition\":\"on\"}", FIELD, "ignition: must be true or false" },
      { "{\"battery\":101}", FIELD, "battery: must be from 0 to 100" },
      { "{\"attributes\":\"x\"}", FIELD, "attributes: must be an object" },
      { "[{\"lat\":1e400}]", SYNTAX, "beyond the range of a double" },
      { "{\"timestamp\":\"1969-12-31T23:59:59Z\"}", FIELD,
        "timestamp: “1969-12-31T23:59:59Z” is not between 1970 and 9999" },
      { "{\"timestamp\":\"9999-12-31T23:59:59-01:00\"}", FIELD,
        "not between 1970 and 9999" },
      { "{\"deviceId\":-4}", FIELD, "deviceId: must be a string" },
    };

    for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
      {
        g_autoptr(GError) error = NULL;
        g_autoptr(GPtrArray) positions = wb_telemetry_json_decode (cases[i].json, strlen (cases[i].json), &error);

        g_test_message ("%.60s → %s", cases[i].json, error ? error->message : "(accepted)");
        g_assert_null (positions);
        assert_bad_input (error, &cases[i]);
      }
  }
}

/* Every decoder's field error is WB_JSON_ERROR_FIELD with the member's path
 * as data, so ingestion can answer {"field": …} without reading messages. */
static void
test_field_error_data (void)
{
  const struct
  {
    int         decoder;   /* 0 POST /telemetry, 1 OsmAnd JSON, 2 telemetry.raw */
    const char *json;
    const char *field;
  } cases[] = {
    { 0, "[{},{},{},{\"lat\":\"53.9\"}]", "[3].lat" },
    { 0, "[{\"deviceId\":\"a\\u0001\"}]", "[0].deviceId" },
    { 0, "{\"timestamp\":\"tomorrow\"}", "timestamp" },
    { 0, "[{}, 7]", "[1]" },
    { 0, "{\"attributes\":[]}", "attributes" },
    { 1, "{\"location\":{\"coords\":{\"latitude\":\"1\"}}}", "location.coords.latitude" },
    { 1, "{\"location\":{\"battery\":{\"level\":5}}}", "location.battery.level" },
    { 1, "{\"location\":{\"timestamp\":\"later\"}}", "location.timestamp" },
    { 1, "{\"device_id\":\"x\"}", "location" },
    { 2, "{\"protocol\":\"json\",\"device_time\":\"yesterday\"}", "device_time" },
    { 2, "{\"protocol\":\"gt06\"}", "protocol" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) positions = NULL;
      g_autoptr(WbPosition) position = NULL;

      if (cases[i].decoder == 0)
        positions = wb_telemetry_json_decode (cases[i].json, strlen (cases[i].json), &error);
      else if (cases[i].decoder == 1)
        position = wb_osmand_decode_json (cases[i].json, strlen (cases[i].json), &error);
      else
        position = wb_position_from_json (cases[i].json, &error);
      g_test_message ("%s → %s", cases[i].json, error ? error->message : "(accepted)");
      g_assert_null (positions);
      g_assert_null (position);
      g_assert_error (error, WB_JSON_ERROR, WB_JSON_ERROR_FIELD);
      g_assert_cmpstr (wb_json_error_get_field (error), ==, cases[i].field);
    }
}

static void
test_json_not_text (void)
{
  const char invalid_utf8[] = "{\"deviceId\":\"\xff\xfe\"}";
  const char with_nul[] = "{\"deviceId\":\"a\"}\0{}";
  g_autoptr(GError) error = NULL;
  GPtrArray *positions;

  positions = wb_telemetry_json_decode (invalid_utf8, sizeof invalid_utf8 - 1, &error);
  g_assert_null (positions);
  g_assert_error (error, WB_JSON_ERROR, WB_JSON_ERROR_SYNTAX);
  g_clear_error (&error);

  positions = wb_telemetry_json_decode (with_nul, sizeof with_nul - 1, &error);
  g_assert_null (positions);
  g_assert_error (error, WB_JSON_ERROR, WB_JSON_ERROR_SYNTAX);
}

static void
test_json_too_large (void)
{
  gsize size = 32 * 1024 * 1024 + 1;
  g_autofree char *body = g_malloc (size);
  g_autoptr(GError) error = NULL;
  GPtrArray *positions;

  memset (body, ' ', size);
  body[0] = '[';
  body[size - 1] = ']';
  positions = wb_telemetry_json_decode (body, size, &error);
  g_assert_null (positions);
  g_assert_error (error, WB_JSON_ERROR, WB_JSON_ERROR_TOO_LARGE);
}

static char *
batch_of (guint n)
{
  GString *text = g_string_new ("[");

  for (guint i = 0; i < n; i++)
    g_string_append_printf (text, "%s{\"deviceId\":\"d%u\"}", i ? "," : "", i);
  g_string_append (text, "]");
  return g_string_free (text, FALSE);
}

static void
test_json_batch_limit (void)
{
  g_autofree char *at_limit = batch_of (WB_TELEMETRY_JSON_MAX_BATCH);
  g_autofree char *beyond = batch_of (WB_TELEMETRY_JSON_MAX_BATCH + 1);
  g_autoptr(GPtrArray) positions = decode_json_ok (at_limit);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) refused = NULL;

  g_assert_cmpuint (positions->len, ==, 10000);
  g_assert_cmpstr (((WbPosition *) g_ptr_array_index (positions, 9999))->device_id, ==, "d9999");

  refused = wb_telemetry_json_decode (beyond, strlen (beyond), &error);
  g_assert_null (refused);
  g_assert_error (error, WB_TELEMETRY_ERROR, WB_TELEMETRY_ERROR_TOO_LARGE);
  g_assert_nonnull (strstr (error->message, "10001"));
}

/* ---- POST /telemetry: the fast path against the reference ------------------------------- */

typedef enum
{
  TAKES_FAST_PATH,   /* the fast path must decode it itself */
  FALLS_BACK,        /* the fast path must leave it to the reference */
} Route;

typedef struct
{
  const char *json;
  Route       route;
} Body;

static void
assert_positions_identical (GPtrArray *a,
                            GPtrArray *b)
{
  g_assert_nonnull (a);
  g_assert_nonnull (b);
  g_assert_cmpuint (a->len, ==, b->len);
  for (guint i = 0; i < a->len; i++)
    {
      WbPosition *pa = g_ptr_array_index (a, i), *pb = g_ptr_array_index (b, i);

      if (!_wb_telemetry_position_identical (pa, pb))
        {
          g_autofree char *ja = wb_position_to_json (pa);
          g_autofree char *jb = wb_position_to_json (pb);

          g_error ("position %u differs:\n  %s\n  %s", i, ja, jb);
        }
      g_assert_true (wb_position_equal (pa, pb));
    }
}

/* The fast path answers only with the reference's answer, and the public
 * decoder's answer, errors included, is always the reference's. Returns
 * whether the fast path decoded @body itself. */
static gboolean
check_against_reference (const char *body,
                         gsize       length)
{
  g_autoptr(GError) reference_error = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) reference = _wb_telemetry_json_decode_reference (body, length, &reference_error);
  g_autoptr(GPtrArray) fast = _wb_telemetry_fastjson_decode (body, length);
  g_autoptr(GPtrArray) decoded = wb_telemetry_json_decode (body, length, &error);

  g_assert_true ((reference == NULL) == (reference_error != NULL));
  if (fast != NULL)
    {
      g_assert_no_error (reference_error);
      assert_positions_identical (fast, reference);
    }
  if (reference == NULL)
    {
      g_assert_null (decoded);
      g_assert_nonnull (error);
      g_assert_cmpuint (error->domain, ==, reference_error->domain);
      g_assert_cmpint (error->code, ==, reference_error->code);
      g_assert_cmpstr (error->message, ==, reference_error->message);
    }
  else
    {
      g_assert_no_error (error);
      assert_positions_identical (decoded, reference);
    }
  return fast != NULL;
}

static void
check_bodies (const Body *bodies,
              guint       n_bodies)
{
  for (guint i = 0; i < n_bodies; i++)
    {
      gboolean fast = check_against_reference (bodies[i].json, strlen (bodies[i].json));
      /* Escaped: some bodies are invalid UTF-8 on purpose, and TAP wants text. */
      g_autofree char *shown = g_strescape (bodies[i].json, NULL);

      g_test_message ("%-90.90s %s", shown, fast ? "fast" : "reference");
      g_assert_cmpint (fast, ==, bodies[i].route == TAKES_FAST_PATH);
    }
}

/* Every member, every type it takes, the forms trackers send. */
static void
test_json_fast_valid (void)
{
  const Body bodies[] = {
    { "{\"deviceId\":\"truck-7\",\"timestamp\":\"2026-03-01T12:00:00.250+02:00\",\"lat\":53.9,\"lon\":27.5667,"
      "\"speed\":72.5,\"heading\":180,\"altitude\":220,\"accuracy\":5,\"ignition\":true,\"fuel\":61.5,"
      "\"odometer\":1500000,\"attributes\":{\"door\":\"open\",\"temp\":-4.5},\"trailer\":\"T-9\"}", TAKES_FAST_PATH },
    { "{\"deviceId\":352093081234567,\"timestamp\":1560161086123,\"lat\":-0.0,\"lon\":-0,\"speed\":0,"
      "\"heading\":360,\"altitude\":-12.5,\"accuracy\":4.2,\"hdop\":0.9,\"satellites\":11,\"ignition\":false,"
      "\"fuel\":42.25,\"odometer\":123456789,\"battery\":100,\"charging\":true,\"moving\":false,"
      "\"driverUniqueId\":\"D-042\"}", TAKES_FAST_PATH },
    { "{\"deviceId\":null,\"timestamp\":null,\"lat\":null,\"lon\":null,\"speed\":null,\"heading\":null,"
      "\"altitude\":null,\"accuracy\":null,\"hdop\":null,\"satellites\":null,\"ignition\":null,\"fuel\":null,"
      "\"odometer\":null,\"battery\":null,\"charging\":null,\"moving\":null,\"driverUniqueId\":null,"
      "\"attributes\":null}", TAKES_FAST_PATH },
    { "{}", TAKES_FAST_PATH },
    { "[{}]", TAKES_FAST_PATH },
    { "{\"deviceId\":\"\",\"driverUniqueId\":\"\"}", TAKES_FAST_PATH },
    { "[{\"deviceId\":\"a\",\"timestamp\":1560161086000,\"lat\":1,\"lon\":2},"
      " {\"deviceId\":\"b\",\"timestamp\":1560161086123.9,\"lat\":3,\"lon\":4,\"ignition\":false},"
      " {\"deviceId\":\"c\",\"timestamp\":\"2019-06-10 10:04:46\",\"lat\":5,\"lon\":6}]", TAKES_FAST_PATH },
    { " \r\n\t[ {\"lat\" : 1 ,\n\"lon\":\t2 } , { } ]\r\n ", TAKES_FAST_PATH },
    /* Timestamps in every form. */
    { "[{\"timestamp\":\"2019-06-10T10:04:46Z\"},{\"timestamp\":\"1560161086\"},{\"timestamp\":\"1560161086000\"},"
      "{\"timestamp\":\"1560161086.250\"},{\"timestamp\":0},{\"timestamp\":253402300799999},{\"timestamp\":1e3},"
      "{\"timestamp\":1560161086123.999},{\"timestamp\":\"9999-12-31T23:59:59.999Z\"},"
      "{\"timestamp\":\"2019-06-10T10:04:46.123456+05:30\"}]", TAKES_FAST_PATH },
    /* Escapes and Unicode: raw, escaped, outside the BMP raw. */
    { "{\"deviceId\":\"a\\/b \\\"q\\\" \\\\ \\u00e9\\u20AC\\uffff\",\"driverUniqueId\":\"\\b\\f\\n\\r\\t\","
      "\"note\":\"\\u0041\\u007f\\u0080\\u07ff\\u0800\"}", TAKES_FAST_PATH },
    { "{\"deviceId\":\"грузовик-7\",\"driverUniqueId\":\"José 🚚\",\"заметка\":\"日本語\"}", TAKES_FAST_PATH },
    /* Unknown members and attributes: order, clashes ("attributes" wins in place), every scalar type. */
    { "{\"a\":1,\"attributes\":{\"a\":\"attributes win\",\"b\":1.5,\"c\":-7,\"d\":null,\"e\":false,\"f\":\"s\"},"
      "\"g\":true,\"h\":null,\"i\":-0.0,\"j\":-0,\"k\":1e2,\"l\":100}", TAKES_FAST_PATH },
    { "{\"attributes\":{}}", TAKES_FAST_PATH },
    { "{\"attributes\":{\"lat\":5,\"deviceId\":\"not the id\",\"attributes\":1}}", TAKES_FAST_PATH },
    { "{\"Lat\":\"x\",\"lat \":1,\"deviceid\":2,\"attribute\":3}", TAKES_FAST_PATH },
    /* Numbers: exponents, signed zeros, 17 digits as json-glib writes them, limits. */
    { "[{\"lat\":1e2,\"lon\":1E2,\"altitude\":1.0000000000000002,\"speed\":0.1,\"fuel\":-0.0},"
      "{\"lat\":53.899999999999999,\"lon\":27.566700000000001,\"altitude\":-1.5e-3,\"odometer\":1.5E+6},"
      "{\"lat\":9007199254740993.0,\"lon\":4503599627370497.5,\"altitude\":1.7976931348623157e308},"
      "{\"lat\":2.2250738585072014e-308,\"lon\":0e400,\"altitude\":-0e-400,\"odometer\":123456789012345678},"
      "{\"lat\":0.30000000000000004,\"lon\":123456.78901234567,\"altitude\":1e22,\"fuel\":1e23},"
      "{\"lat\":1e-22,\"lon\":1.2345678901234567e-5,\"altitude\":-987654321.12345678},"
      "{\"satellites\":255,\"battery\":0,\"heading\":359.99999999999994},{\"satellites\":12.0},"
      "{\"n\":123456789012345678,\"m\":-123456789012345678,\"x\":0.1e1,\"y\":100e-2}]", TAKES_FAST_PATH },
  };

  check_bodies (bodies, G_N_ELEMENTS (bodies));
}

/* Every refusal, and what json-glib takes beyond strict JSON: the reference's. */
static void
test_json_fast_falls_back (void)
{
  g_autofree char *long_id = g_strdup_printf ("{\"deviceId\":\"%0129d\"}", 7);
  g_autofree char *deep = g_strnfill (40, '[');
  const Body bodies[] = {
    { "", FALLS_BACK }, { "   ", FALLS_BACK }, { "42", FALLS_BACK }, { "\"x\"", FALLS_BACK },
    { "null", FALLS_BACK }, { "[]", FALLS_BACK }, { "[{}, 7]", FALLS_BACK }, { "[[{}]]", FALLS_BACK },
    { deep, FALLS_BACK }, { "{\"deviceId\":", FALLS_BACK }, { "{\"lat\":1", FALLS_BACK },
    { "{'deviceId':'a'}", FALLS_BACK }, { "/* c */ {}", FALLS_BACK }, { "{\"lat\":1}//c", FALLS_BACK },
    { "{\"lat\":1}x", FALLS_BACK }, { "[{}] [2]", FALLS_BACK }, { "{\"lat\":1,}", FALLS_BACK },
    { "[{},]", FALLS_BACK }, { "{,}", FALLS_BACK }, { "\xef\xbb\xbf{}", FALLS_BACK },
    /* Numbers json-glib reads its own way, or that are not finite and normal. */
    { "{\"lat\":01}", FALLS_BACK }, { "{\"lat\":.5}", FALLS_BACK }, { "{\"lat\":1.}", FALLS_BACK },
    { "{\"lat\":- 1}", FALLS_BACK }, { "{\"lat\":+1}", FALLS_BACK }, { "{\"lat\":1e}", FALLS_BACK },
    { "{\"lat\":0x10}", FALLS_BACK }, { "{\"lat\":NaN}", FALLS_BACK }, { "{\"lat\":Infinity}", FALLS_BACK },
    { "{\"lat\":1e400}", FALLS_BACK }, { "{\"lat\":-1e400}", FALLS_BACK }, { "{\"lat\":1e-400}", FALLS_BACK },
    { "{\"lat\":4.9e-324}", FALLS_BACK }, { "{\"x\":1e400}", FALLS_BACK },
    { "{\"odometer\":1234567890123456789}", FALLS_BACK }, { "{\"n\":9223372036854775808}", FALLS_BACK },
    { "{\"n\":18446744073709551616}", FALLS_BACK }, { "{\"n\":-9223372036854775809}", FALLS_BACK },
    /* Literals and strings beyond the common. */
    { "{\"x\":True}", FALLS_BACK }, { "{\"x\":truex}", FALLS_BACK }, { "{\"x\":nul}", FALLS_BACK },
    { "{\"x\":\"a\tb\"}", FALLS_BACK }, { "{\"x\":\"\\x\"}", FALLS_BACK }, { "{\"x\":\"\\u0000y\"}", FALLS_BACK },
    { "{\"x\":\"\\ud800\"}", FALLS_BACK }, { "{\"x\":\"\\ud83d\\ude9a\"}", FALLS_BACK },
    { "{\"x\":\"\\u12\"}", FALLS_BACK }, { "{\"x\":\"\\u12G4\"}", FALLS_BACK },
    { "{\"x\":\"\xff\xfe\"}", FALLS_BACK }, { "{\"x\":\"\xc0\xaf\"}", FALLS_BACK },
    { "{\"x\":\"\xed\xa0\x80\"}", FALLS_BACK }, { "{\"x\":\"unterminated}", FALLS_BACK },
    { "{\"\\u0061\":1}", FALLS_BACK }, { "{\"\":1}", FALLS_BACK },
    /* Duplicates, nesting. */
    { "{\"a\":1,\"a\":2}", FALLS_BACK }, { "{\"lat\":1,\"lat\":2}", FALLS_BACK },
    { "{\"lat\":null,\"lat\":2}", FALLS_BACK }, { "{\"attributes\":{\"a\":1,\"a\":2}}", FALLS_BACK },
    { "{\"attributes\":{},\"attributes\":{}}", FALLS_BACK }, { "{\"list\":[1,2]}", FALLS_BACK },
    { "{\"o\":{\"p\":1}}", FALLS_BACK }, { "{\"attributes\":{\"o\":{\"p\":1}}}", FALLS_BACK },
    { "{\"attributes\":{\"l\":[]}}", FALLS_BACK },
    /* Every field error of the reference. */
    { "[{},{},{},{\"lat\":\"53.9\"}]", FALLS_BACK }, { "{\"lon\":true}", FALLS_BACK },
    { "{\"deviceId\":[1]}", FALLS_BACK }, { "{\"deviceId\":-4}", FALLS_BACK }, { "{\"deviceId\":1.5}", FALLS_BACK },
    { "{\"deviceId\":true}", FALLS_BACK }, { "{\"deviceId\":\"a\\nb\"}", FALLS_BACK },
    { "{\"deviceId\":\"a\\u007fb\"}", FALLS_BACK }, { long_id, FALLS_BACK },
    { "{\"timestamp\":\"tomorrow\"}", FALLS_BACK }, { "{\"timestamp\":-5}", FALLS_BACK },
    { "{\"timestamp\":-0.5}", FALLS_BACK }, { "{\"timestamp\":253402300800000}", FALLS_BACK },
    { "{\"timestamp\":true}", FALLS_BACK }, { "{\"timestamp\":\"1969-12-31T23:59:59Z\"}", FALLS_BACK },
    { "{\"timestamp\":\"9999-12-31T23:59:59-01:00\"}", FALLS_BACK },
    { "{\"timestamp\":\"253402300800.5\"}", FALLS_BACK }, { "{\"speed\":-1}", FALLS_BACK },
    { "{\"speed\":-0.1}", FALLS_BACK }, { "{\"heading\":361}", FALLS_BACK },
    { "{\"heading\":360.00000000000006}", FALLS_BACK }, { "{\"heading\":-1e-300}", FALLS_BACK },
    { "{\"accuracy\":-1}", FALLS_BACK }, { "{\"hdop\":-2}", FALLS_BACK }, { "{\"fuel\":-3}", FALLS_BACK },
    { "{\"odometer\":-4}", FALLS_BACK }, { "{\"battery\":101}", FALLS_BACK }, { "{\"battery\":-1}", FALLS_BACK },
    { "{\"satellites\":3.5}", FALLS_BACK }, { "{\"satellites\":256}", FALLS_BACK },
    { "{\"satellites\":-1}", FALLS_BACK }, { "{\"ignition\":\"on\"}", FALLS_BACK },
    { "{\"ignition\":1}", FALLS_BACK }, { "{\"charging\":0}", FALLS_BACK }, { "{\"moving\":\"true\"}", FALLS_BACK },
    { "{\"driverUniqueId\":7}", FALLS_BACK }, { "{\"attributes\":\"x\"}", FALLS_BACK },
    { "{\"attributes\":[]}", FALLS_BACK }, { "{\"attributes\":1}", FALLS_BACK },
    { "[{\"lat\":1e400}]", FALLS_BACK }, { "[{\"lat\":1},{\"lon\":\"x\"}]", FALLS_BACK },
  };

  check_bodies (bodies, G_N_ELEMENTS (bodies));
}

static void
test_json_fast_not_text (void)
{
  const char with_nul[] = "{\"deviceId\":\"a\"}\0{}";
  const char nul_in_string[] = "{\"deviceId\":\"a\0b\"}";

  g_assert_false (check_against_reference (with_nul, sizeof with_nul - 1));
  g_assert_false (check_against_reference (nul_in_string, sizeof nul_in_string - 1));
  /* Only the first bytes of a longer buffer: the fast path must not look beyond. */
  g_assert_true (check_against_reference ("{\"lat\":12}xyz", 10));
  g_assert_false (check_against_reference ("{\"lat\":12}", 8));
  g_assert_false (check_against_reference ("{\"lat\":1.5e", 10));
}

/* A number as text, in one of the forms senders write. */
static char *
random_number_text (GRand *rand)
{
  switch (g_rand_int_range (rand, 0, 6))
    {
    case 0: case 1:
      {
        /* A random double of a moderate magnitude, as json-glib or printf write it. */
        static const char * const formats[] = { "%.17g", "%.16g", "%.15g", "%.6f", "%.3e" };
        double value = ldexp (g_rand_double_range (rand, 0.5, 1), g_rand_int_range (rand, -80, 80));
        char buffer[G_ASCII_DTOSTR_BUF_SIZE];

        g_ascii_formatd (buffer, sizeof buffer, formats[g_rand_int_range (rand, 0, G_N_ELEMENTS (formats))],
                         g_rand_boolean (rand) ? -value : value);
        return g_strdup (buffer);
      }
    case 2:
      {
        /* Ties and near ties between doubles: n + 0.5 with n of 53 bits, n odd with 54. */
        guint64 n = (G_GUINT64_CONSTANT (1) << 52) + g_rand_int (rand) * (guint64) g_rand_int (rand) % (G_GUINT64_CONSTANT (1) << 52);
        static const char * const tails[] = { ".5", ".50", ".49", ".51", ".4999999", ".5000001" };

        if (g_rand_boolean (rand))
          return g_strdup_printf ("%" G_GUINT64_FORMAT "%s", n, tails[g_rand_int_range (rand, 0, G_N_ELEMENTS (tails))]);
        return g_strdup_printf ("%" G_GUINT64_FORMAT ".0", 2 * n + 1);
      }
    default:
      {
        /* Random digits (1 to 20 of them), a point somewhere, perhaps an exponent. */
        GString *text = g_string_new (g_rand_boolean (rand) ? "-" : "");
        guint count = g_rand_int_range (rand, 1, 21), point = g_rand_int_range (rand, 1, count + 1);

        for (guint i = 0; i < count; i++)
          {
            if (i == point)
              g_string_append_c (text, '.');
            g_string_append_c (text, (i == 0 && point > 1 ? '1' : '0') + g_rand_int_range (rand, 0, i == 0 && point > 1 ? 9 : 10));
          }
        if (point == count)
          g_string_append (text, ".0");
        if (g_rand_boolean (rand))
          g_string_append_printf (text, "e%d", g_rand_int_range (rand, -30, 31));
        return g_string_free (text, FALSE);
      }
    }
}

/* Thousands of numbers through both paths: the same doubles, bit for bit
 * (integers in the attributes stay integers). */
static void
test_json_fast_numbers (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (g_test_rand_int ());
  guint fast = 0;

  for (guint batch = 0; batch < 40; batch++)
    {
      GString *body = g_string_new ("[");
      g_autofree char *text = NULL;

      for (guint i = 0; i < 500; i++)
        {
          g_autofree char *number = random_number_text (rand);

          g_string_append_printf (body, "%s{\"lat\":%s,\"x\":%s}", i ? "," : "", number, number);
        }
      g_string_append_c (body, ']');
      text = g_string_free (body, FALSE);
      if (check_against_reference (text, strlen (text)))
        fast++;
    }
  /* Nothing generated is out of the fast path's reach. */
  g_assert_cmpuint (fast, ==, 40);
}

/* A body as waybill-sim builds it (json-glib writes 17 digits). */
static char *
sim_body (guint n)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (42);

  json_builder_begin_array (builder);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *id = g_strdup_printf ("sim-%04u", i % 100);

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "deviceId");
      json_builder_add_string_value (builder, id);
      json_builder_set_member_name (builder, "timestamp");
      json_builder_add_int_value (builder, G_GINT64_CONSTANT (1767225600000) + i * 1000);
      json_builder_set_member_name (builder, "lat");
      json_builder_add_double_value (builder, g_rand_double_range (rand, 53.8, 54.0));
      json_builder_set_member_name (builder, "lon");
      json_builder_add_double_value (builder, g_rand_double_range (rand, 27.4, 27.7));
      json_builder_set_member_name (builder, "speed");
      json_builder_add_double_value (builder, g_rand_double_range (rand, 0, 90));
      json_builder_set_member_name (builder, "heading");
      json_builder_add_double_value (builder, g_rand_double_range (rand, 0, 360));
      json_builder_set_member_name (builder, "altitude");
      json_builder_add_double_value (builder, 220);
      json_builder_set_member_name (builder, "accuracy");
      json_builder_add_double_value (builder, 5);
      json_builder_set_member_name (builder, "satellites");
      json_builder_add_int_value (builder, 9);
      json_builder_set_member_name (builder, "ignition");
      json_builder_add_boolean_value (builder, TRUE);
      json_builder_set_member_name (builder, "moving");
      json_builder_add_boolean_value (builder, i % 3 != 0);
      json_builder_set_member_name (builder, "fuel");
      json_builder_add_double_value (builder, g_rand_double_range (rand, 10, 60));
      json_builder_set_member_name (builder, "odometer");
      json_builder_add_double_value (builder, round (g_rand_double_range (rand, 0, 1e7)));
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  root = json_builder_get_root (builder);
  return json_to_string (root, FALSE);
}

static double
bodies_per_second (GPtrArray  *(*decode) (const char *, gsize, GError **),
                   const char *body,
                   gsize       length)
{
  gint64 start = g_get_monotonic_time (), elapsed;
  guint count = 0;

  do
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) positions = decode (body, length, &error);

      g_assert_no_error (error);
      count++;
      elapsed = g_get_monotonic_time () - start;
    }
  while (elapsed < G_USEC_PER_SEC / 4);
  return count * (double) G_USEC_PER_SEC / elapsed;
}

/* The shape the fleet benchmark sends takes the fast path; the figure is
 * printed, not asserted. */
static void
test_json_fast_throughput (void)
{
  g_autofree char *body = sim_body (500);
  gsize length = strlen (body);
  double fast, reference;

  g_assert_true (check_against_reference (body, length));
  fast = bodies_per_second (wb_telemetry_json_decode, body, length);
  reference = bodies_per_second (_wb_telemetry_json_decode_reference, body, length);
  g_test_message ("500-position body (%" G_GSIZE_FORMAT " bytes): fast path %.0f bodies/s, reference %.0f bodies/s, "
                  "%.1f×", length, fast, reference, fast / reference);
}

/* ---- OsmAnd ---------------------------------------------------------------------- */

static GHashTable *
params_with (const char      *query,
             GUriParamsFlags  flags)
{
  g_autoptr(GError) error = NULL;
  GHashTable *params = g_uri_parse_params (query, -1, "&", flags, &error);

  g_assert_no_error (error);
  return params;
}

/* As a form body is decoded: "+" is a space. */
static GHashTable *
params_of (const char *query)
{
  return params_with (query, G_URI_PARAMS_WWW_FORM);
}

static WbPosition *
decode_params_ok (GHashTable *params)
{
  g_autoptr(GError) error = NULL;
  WbPosition *p = wb_osmand_decode_query (params, &error);

  g_assert_no_error (error);
  g_assert_nonnull (p);
  g_assert_cmpint (p->protocol, ==, WB_PROTOCOL_OSMAND);
  return p;
}

static WbPosition *
decode_query_ok (const char *query)
{
  g_autoptr(GHashTable) params = params_of (query);

  return decode_params_ok (params);
}

static void
test_osmand_query (void)
{
  g_autoptr(WbPosition) p = decode_query_ok (
    "id=123456&timestamp=1560161086&lat=53.9045&lon=27.5615&speed=10&bearing=93.5&altitude=221.5"
    "&accuracy=12&hdop=0.8&batt=76.5&charge=true&driverUniqueId=D-7&valid=true&cell=257,2,1,2,-80");

  g_assert_cmpstr (p->device_id, ==, "123456");
  g_assert_cmpint (p->device_time, ==, G_GINT64_CONSTANT (1560161086) * SECOND_US);
  g_assert_cmpfloat (p->lat, ==, 53.9045);
  g_assert_cmpfloat (p->lon, ==, 27.5615);
  /* Knots on the wire. */
  g_assert_cmpfloat_with_epsilon (p->speed_kmh, 18.52, 1e-9);
  g_assert_cmpfloat (p->heading, ==, 93.5);
  g_assert_cmpfloat (p->altitude, ==, 221.5);
  g_assert_cmpfloat (p->accuracy, ==, 12);
  g_assert_cmpfloat (p->hdop, ==, 0.8);
  g_assert_cmpfloat (p->battery, ==, 76.5);
  g_assert_cmpint (p->charging, ==, 1);
  g_assert_cmpstr (p->driver_unique_id, ==, "D-7");
  /* Other keys: string attributes. */
  g_assert_cmpstr (attribute_string (p, "valid"), ==, "true");
  g_assert_cmpstr (attribute_string (p, "cell"), ==, "257,2,1,2,-80");
  g_assert_cmpuint (json_object_get_size (p->attributes), ==, 2);
}

static void
test_osmand_query_timestamps (void)
{
  const struct
  {
    const char *value;
    const char *expected;
  } cases[] = {
    { "1560161086", "2019-06-10T10:04:46Z" },
    { "1560161086123", "2019-06-10T10:04:46.123Z" },
    { "1560161086.5", "2019-06-10T10:04:46.500Z" },
    { "2019-06-10T10:04:46Z", "2019-06-10T10:04:46Z" },
    { "2019-06-10T13:04:46.250%2B03:00", "2019-06-10T10:04:46.250Z" },
    /* An unescaped "+" turned into a space by form decoding. */
    { "2019-06-10T13:04:46+03:00", "2019-06-10T10:04:46Z" },
    /* "yyyy-MM-dd HH:mm:ss" is UTC. */
    { "2019-06-10+10:04:46", "2019-06-10T10:04:46Z" },
    { "2019-06-10%2010:04:46", "2019-06-10T10:04:46Z" },
  };

  /* Whether or not the listener decodes "+" as a space. */
  const GUriParamsFlags flags[] = { G_URI_PARAMS_WWW_FORM, G_URI_PARAMS_NONE };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    for (guint f = 0; f < G_N_ELEMENTS (flags); f++)
      {
        g_autofree char *query = g_strdup_printf ("id=1&timestamp=%s", cases[i].value);
        g_autoptr(GHashTable) params = params_with (query, flags[f]);
        g_autoptr(WbPosition) p = decode_params_ok (params);

        g_test_message ("%s", cases[i].value);
        g_assert_cmpint (p->device_time, ==, parse_time (cases[i].expected));
      }
}

static void
test_osmand_query_aliases (void)
{
  g_autoptr(WbPosition) location = decode_query_ok ("deviceid=abc&location=-33.8688,151.2093&heading=270");
  g_autoptr(WbPosition) both_ids = decode_query_ok ("deviceid=second&id=first");
  g_autoptr(WbPosition) empty = decode_query_ok ("id=x&lat=&lon=&speed=&timestamp=");
  g_autoptr(WbPosition) negative = decode_query_ok ("id=x&speed=-1&bearing=-1&accuracy=-1");
  g_autoptr(WbPosition) charge = decode_query_ok ("id=x&charge=0");
  g_autoptr(WbPosition) lat_lon_win = decode_query_ok ("id=x&location=1,2&lat=3&lon=4&heading=10&bearing=20");
  g_autoptr(WbPosition) empty_id = decode_query_ok ("id=&deviceid=second");

  g_assert_cmpstr (location->device_id, ==, "abc");
  g_assert_cmpfloat (location->lat, ==, -33.8688);
  g_assert_cmpfloat (location->lon, ==, 151.2093);
  g_assert_cmpfloat (location->heading, ==, 270);

  g_assert_cmpstr (both_ids->device_id, ==, "first");

  /* Empty values are absent ones. */
  g_assert_true (isnan (empty->lat) && isnan (empty->lon) && isnan (empty->speed_kmh));
  g_assert_cmpint (empty->device_time, ==, 0);
  g_assert_null (empty->attributes);

  /* Android's "no value" is negative. */
  g_assert_true (isnan (negative->speed_kmh) && isnan (negative->heading) && isnan (negative->accuracy));
  g_assert_cmpint (charge->charging, ==, 0);

  /* Whatever order the table hands the keys out in. */
  g_assert_cmpfloat (lat_lon_win->lat, ==, 3);
  g_assert_cmpfloat (lat_lon_win->lon, ==, 4);
  g_assert_cmpfloat (lat_lon_win->heading, ==, 20);
  g_assert_cmpstr (empty_id->device_id, ==, "second");
}

/* Traccar's documented example request. */
static void
test_osmand_query_documented_example (void)
{
  g_autoptr(WbPosition) p = decode_query_ok ("id=123456&lat=52.5200&lon=13.4050&timestamp=1678886400"
                                             "&hdop=1.5&altitude=50.0&speed=25.0");

  g_assert_cmpstr (p->device_id, ==, "123456");
  g_assert_cmpfloat (p->lat, ==, 52.52);
  g_assert_cmpfloat (p->lon, ==, 13.405);
  g_assert_cmpint (p->device_time, ==, parse_time ("2023-03-15T13:20:00Z"));
  g_assert_cmpfloat (p->hdop, ==, 1.5);
  g_assert_cmpfloat (p->altitude, ==, 50);
  g_assert_cmpfloat_with_epsilon (p->speed_kmh, 46.3, 1e-9);
}

static void
test_osmand_query_errors (void)
{
  const struct
  {
    const char *query;
    const char *message_part;
  } cases[] = {
    { "id=1&lat=abc", "lat: “abc” is not a number" },
    { "id=1&lon=0x10", "lon: “0x10” is not a number" },
    { "id=1&lat=inf", "lat: “inf” is not a number" },
    { "id=1&lat=1e999", "lat: “1e999” is not a number" },
    { "id=1&speed=fast", "speed: “fast” is not a number" },
    { "id=1&location=53.9", "location: “53.9” is not “latitude,longitude”" },
    { "id=1&location=1,2,3", "location: " },
    { "id=1&charge=maybe", "charge: “maybe” is not true, false, 1 or 0" },
    { "id=1&timestamp=noon", "timestamp: “noon” is not a valid time" },
    { "id=1&timestamp=2019-02-30T00:00:00Z", "timestamp: " },
    { "id=a%01b", "id: a device id has no control characters" },
    /* A long value is cut where it is echoed. */
    { "id=1&lat=12345678901234567890123456789012345678901234567890x",
      "lat: “123456789012345678901234567890123456789012345678…” is not" },
    { "id=1&timestamp=999999999999.5", "timestamp: “999999999999.5” is not between 1970 and 9999" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GHashTable) params = params_of (cases[i].query);
      g_autoptr(GError) error = NULL;
      g_autoptr(WbPosition) p = wb_osmand_decode_query (params, &error);

      g_test_message ("%s → %s", cases[i].query, error ? error->message : "(accepted)");
      g_assert_null (p);
      g_assert_error (error, WB_JSON_ERROR, WB_JSON_ERROR_FIELD);
      g_assert_nonnull (strstr (error->message, cases[i].message_part));
      g_assert_true (g_str_has_prefix (cases[i].message_part, wb_json_error_get_field (error)));
    }

  {
    g_autoptr(GHashTable) params = g_hash_table_new (g_str_hash, g_str_equal);
    g_autofree char *long_id = g_strnfill (129, '7');
    g_autoptr(GError) error = NULL;
    g_autoptr(WbPosition) p = NULL;

    g_hash_table_insert (params, "id", long_id);
    p = wb_osmand_decode_query (params, &error);
    g_assert_null (p);
    g_assert_error (error, WB_JSON_ERROR, WB_JSON_ERROR_FIELD);
    g_assert_cmpstr (wb_json_error_get_field (error), ==, "id");
    g_assert_nonnull (strstr (error->message, "id: a device id has at most 128 bytes"));
  }

  /* g_uri_parse_params() refuses these itself; a hand-made table may not. */
  {
    g_autoptr(GHashTable) params = g_hash_table_new (g_str_hash, g_str_equal);
    g_autoptr(GError) error = NULL;
    g_autoptr(WbPosition) p = NULL;

    g_hash_table_insert (params, "id", "1");
    g_hash_table_insert (params, "name", "\xff");
    p = wb_osmand_decode_query (params, &error);
    g_assert_null (p);
    g_assert_error (error, WB_TELEMETRY_ERROR, WB_TELEMETRY_ERROR_MALFORMED);
    g_assert_nonnull (strstr (error->message, "not UTF-8"));
  }
}

static WbPosition *
decode_osmand_json_ok (const char *body)
{
  g_autoptr(GError) error = NULL;
  WbPosition *p = wb_osmand_decode_json (body, strlen (body), &error);

  g_assert_no_error (error);
  g_assert_nonnull (p);
  g_assert_cmpint (p->protocol, ==, WB_PROTOCOL_OSMAND);
  return p;
}

/* The shape documented at traccar.org/osmand, with real values. */
static void
test_osmand_json (void)
{
  g_autoptr(WbPosition) p = decode_osmand_json_ok (
    "{\"location\":{\"timestamp\":\"2025-04-01T08:15:30.250Z\","
    "\"coords\":{\"latitude\":53.9045,\"longitude\":27.5615,\"accuracy\":8,\"speed\":12.5,\"heading\":87.2,"
    "\"altitude\":215},"
    "\"is_moving\":true,\"odometer\":15432.5,\"event\":\"motionchange\","
    "\"battery\":{\"level\":0.83,\"is_charging\":true},"
    "\"activity\":{\"type\":\"in_vehicle\"},\"extras\":{\"trip\":\"T-1\",\"load\":3}},"
    "\"device_id\":\"48241179\"}");

  g_assert_cmpstr (p->device_id, ==, "48241179");
  g_assert_cmpint (p->device_time, ==, parse_time ("2025-04-01T08:15:30.250Z"));
  g_assert_cmpfloat (p->lat, ==, 53.9045);
  g_assert_cmpfloat (p->lon, ==, 27.5615);
  g_assert_cmpfloat (p->accuracy, ==, 8);
  /* Metres per second on the wire. */
  g_assert_cmpfloat (p->speed_kmh, ==, 45);
  g_assert_cmpfloat (p->heading, ==, 87.2);
  g_assert_cmpfloat (p->altitude, ==, 215);
  g_assert_cmpint (p->moving, ==, 1);
  g_assert_cmpfloat (p->odometer, ==, 15432.5);
  g_assert_cmpfloat_with_epsilon (p->battery, 83, 1e-9);
  g_assert_cmpint (p->charging, ==, 1);
  g_assert_cmpstr (attribute_string (p, "event"), ==, "motionchange");
  g_assert_cmpstr (attribute_string (p, "activity"), ==, "in_vehicle");
  g_assert_cmpstr (attribute_string (p, "trip"), ==, "T-1");
  g_assert_cmpint (attribute_int (p, "load"), ==, 3);
}

static void
test_osmand_json_unknowns (void)
{
  g_autoptr(WbPosition) p = decode_osmand_json_ok (
    "{\"device_id\":\"x\",\"location\":{\"timestamp\":\"2025-04-01T08:15:30Z\","
    "\"coords\":{\"latitude\":1,\"longitude\":2,\"speed\":-1,\"heading\":-1,\"accuracy\":-1},"
    "\"battery\":{\"level\":-1,\"is_charging\":false}}}");
  g_autoptr(WbPosition) bare = decode_osmand_json_ok ("{\"location\":{}}");

  g_assert_true (isnan (p->speed_kmh) && isnan (p->heading) && isnan (p->accuracy) && isnan (p->battery));
  g_assert_cmpint (p->charging, ==, 0);
  g_assert_cmpint (p->moving, ==, -1);

  g_assert_null (bare->device_id);
  g_assert_true (isnan (bare->lat));
}

static void
test_osmand_json_errors (void)
{
  const BadInput cases[] = {
    { "", SYNTAX, "empty" },
    { "id=1&lat=2", SYNTAX, "not a JSON value" },
    { "[{}]", MALFORMED, "device_id and location" },
    { "{\"device_id\":\"x\"}", FIELD, "location: is required" },
    { "{\"location\":[]}", FIELD, "location: must be an object" },
    { "{\"location\":{\"coords\":{\"latitude\":\"1\"}}}", FIELD,
      "location.coords.latitude: must be a number" },
    { "{\"location\":{\"coords\":7}}", FIELD, "location.coords: must be an object" },
    { "{\"location\":{\"timestamp\":\"later\"}}", FIELD, "location.timestamp: " },
    { "{\"location\":{\"timestamp\":1}}", FIELD, "location.timestamp: must be a string" },
    { "{\"location\":{\"battery\":{\"level\":5}}}", FIELD,
      "location.battery.level: must be from 0 to 1" },
    { "{\"location\":{\"is_moving\":\"yes\"}}", FIELD, "location.is_moving: " },
    { "{\"location\":{\"extras\":1}}", FIELD, "location.extras: must be an object" },
    { "{\"device_id\":{},\"location\":{}}", FIELD, "device_id: must be a string" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(WbPosition) p = wb_osmand_decode_json (cases[i].json, strlen (cases[i].json), &error);

      g_test_message ("%s → %s", cases[i].json, error ? error->message : "(accepted)");
      g_assert_null (p);
      assert_bad_input (error, &cases[i]);
    }
}

/* ---- Teltonika: the published examples ------------------------------------------- */

/* "Teltonika Data Sending Protocols", Codec 8, first example: one record. */
#define CODEC8_EXAMPLE_1 \
  "000000000000003608010000016B40D8EA30010000000000000000000000000000000105021503010101425E0F01F10000601A01" \
  "4E0000000000000000010000C7CF"
/* Codec 8, second example: one record, 1 and 2-byte IO elements only. */
#define CODEC8_EXAMPLE_2 \
  "000000000000002808010000016B40D9AD80010000000000000000000000000000000103021503010101425E100000010000F22A"
/* Codec 8, third example: two records. */
#define CODEC8_EXAMPLE_3 \
  "000000000000004308020000016B40D57B480100000000000000000000000000000001010101000000000000016B40D5C19801" \
  "0000000000000000000000000000000101010101000000020000252C"
/* Codec 8 Extended, the current example: one record, no variable-length IO. */
#define CODEC8E_EXAMPLE \
  "000000000000004A8E010000016B412CEE000100000000000000000000000000000000010005000100010100010011001D0001" \
  "0010015E2C880002000B000000003544C87A000E000000001DD7E06A00000100002994"
/* Codec 8 Extended, the example of the Codec page's 2018 revisions: a real
 * fix, and a variable-length element (IO 256, 17 bytes). */
#define CODEC8E_EXAMPLE_2017 \
  "000000000000005F8E010000015FBA40B620000F0DCDE420959D30008A000006000000000006000100EF0000010011001E00" \
  "0100100000CBDF0002000B000000003544C875000E0000000029BFE4D1000101000011000000000000000000000000000000" \
  "0000010000D153"
/* The handshake of the documentation's examples. */
#define IMEI_HANDSHAKE "000F333536333037303432343431303133"

static const char * const published_frames[] = {
  CODEC8_EXAMPLE_1, CODEC8_EXAMPLE_2, CODEC8_EXAMPLE_3, CODEC8E_EXAMPLE, CODEC8E_EXAMPLE_2017,
};

static void
assert_no_fix (WbPosition *p)
{
  g_assert_cmpfloat (p->lat, ==, 0);
  g_assert_cmpfloat (p->lon, ==, 0);
  g_assert_cmpfloat (p->altitude, ==, 0);
  g_assert_cmpfloat (p->heading, ==, 0);
  g_assert_cmpint (p->satellites, ==, 0);
  g_assert_cmpfloat (p->speed_kmh, ==, 0);
}

static void
test_teltonika_codec8_example_1 (void)
{
  g_autoptr(GBytes) frame = hex_bytes (CODEC8_EXAMPLE_1);
  g_autoptr(GPtrArray) positions = parse_frame_ok (frame);
  WbPosition *p;

  g_assert_cmpuint (positions->len, ==, 1);
  p = g_ptr_array_index (positions, 0);
  g_assert_cmpstr (p->device_id, ==, IMEI);
  g_assert_cmpint (p->protocol, ==, WB_PROTOCOL_TELTONIKA);
  /* 0x0000016B40D8EA30 = 1560161086000: Monday, June 10, 2019 10:04:46 AM GMT. */
  g_assert_cmpint (p->device_time, ==, G_GINT64_CONSTANT (1560161086000) * 1000);
  /* Decoded straight to JSON text, in the order the record has them. */
  g_assert_null (p->attributes);
  g_assert_cmpstr (p->attributes_json, ==, "{\"priority\":1,\"event_io\":1,\"gsm_signal\":3,\"io1\":1,"
                   "\"external_voltage\":24.079,\"io241\":24602,\"io78\":0}");
  g_assert_cmpint (attribute_int (p, "priority"), ==, 1);
  assert_no_fix (p);
  /* Event IO 0x01; N1 = 2: IO 21 = 3, IO 1 = 1; N2 = 1: IO 66 = 0x5E0F;
   * N4 = 1: IO 241 = 0x601A; N8 = 1: IO 78 = 0. */
  g_assert_cmpint (attribute_int (p, "event_io"), ==, 1);
  g_assert_cmpint (attribute_int (p, "gsm_signal"), ==, 3);
  g_assert_cmpint (attribute_int (p, "io1"), ==, 1);
  g_assert_cmpfloat (json_object_get_double_member (wb_position_ensure_attributes (p), "external_voltage"), ==, 24.079);
  g_assert_cmpint (attribute_int (p, "io241"), ==, 24602);
  g_assert_cmpint (attribute_int (p, "io78"), ==, 0);
  g_assert_cmpuint (json_object_get_size (wb_position_ensure_attributes (p)), ==, 7);
  g_assert_cmpint (p->ignition, ==, -1);
  g_assert_true (isnan (p->odometer));
}

static void
test_teltonika_codec8_example_2 (void)
{
  g_autoptr(GBytes) frame = hex_bytes (CODEC8_EXAMPLE_2);
  g_autoptr(GPtrArray) positions = parse_frame_ok (frame);
  WbPosition *p;

  g_assert_cmpuint (positions->len, ==, 1);
  p = g_ptr_array_index (positions, 0);
  /* 0x0000016B40D9AD80: June 10, 2019 10:05:36 AM GMT. */
  g_assert_cmpint (p->device_time, ==, G_GINT64_CONSTANT (1560161136000) * 1000);
  g_assert_cmpint (attribute_int (p, "priority"), ==, 1);
  assert_no_fix (p);
  /* Event IO 1, 3 elements: IO 21 = 3, IO 1 = 1, IO 66 = 0x5E10. */
  g_assert_cmpint (attribute_int (p, "event_io"), ==, 1);
  g_assert_cmpint (attribute_int (p, "gsm_signal"), ==, 3);
  g_assert_cmpint (attribute_int (p, "io1"), ==, 1);
  g_assert_cmpfloat (json_object_get_double_member (wb_position_ensure_attributes (p), "external_voltage"), ==, 24.08);
}

static void
test_teltonika_codec8_example_3 (void)
{
  g_autoptr(GBytes) frame = hex_bytes (CODEC8_EXAMPLE_3);
  g_autoptr(GPtrArray) positions = parse_frame_ok (frame);
  const gint64 times_ms[] = { 1560160861000, 1560160879000 };

  g_assert_cmpuint (positions->len, ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      WbPosition *p = g_ptr_array_index (positions, i);

      /* June 10, 2019 10:01:01 and 10:01:19 GMT; IO 1 = 0, then 1. */
      g_assert_cmpint (p->device_time, ==, times_ms[i] * 1000);
      g_assert_cmpint (attribute_int (p, "priority"), ==, 1);
      assert_no_fix (p);
      g_assert_cmpint (attribute_int (p, "event_io"), ==, 1);
      g_assert_cmpint (attribute_int (p, "io1"), ==, i);
    }
}

static void
test_teltonika_codec8e_example (void)
{
  g_autoptr(GBytes) frame = hex_bytes (CODEC8E_EXAMPLE);
  g_autoptr(GPtrArray) positions = parse_frame_ok (frame);
  WbPosition *p;

  g_assert_cmpuint (positions->len, ==, 1);
  p = g_ptr_array_index (positions, 0);
  /* 0x0000016B412CEE00: Monday, June 10, 2019 11:36:32 AM GMT. */
  g_assert_cmpint (p->device_time, ==, G_GINT64_CONSTANT (1560166592000) * 1000);
  g_assert_cmpint (attribute_int (p, "priority"), ==, 1);
  assert_no_fix (p);
  /* Event IO 0x0001, 5 elements: N1: IO 1 = 1; N2: IO 17 = 0x001D; N4:
   * IO 16 = 0x015E2C88 (total odometer); N8: IO 11 = 0x3544C87A, IO 14 =
   * 0x1DD7E06A; NX: none. */
  g_assert_cmpint (attribute_int (p, "event_io"), ==, 1);
  g_assert_cmpint (attribute_int (p, "io1"), ==, 1);
  g_assert_cmpint (attribute_int (p, "io17"), ==, 29);
  g_assert_cmpfloat (p->odometer, ==, 22949000);
  g_assert_cmpint (attribute_int (p, "io11"), ==, 893700218);
  g_assert_cmpint (attribute_int (p, "io14"), ==, 500686954);
  g_assert_cmpuint (json_object_get_size (wb_position_ensure_attributes (p)), ==, 6);
}

static void
test_teltonika_codec8e_example_2017 (void)
{
  g_autoptr(GBytes) frame = hex_bytes (CODEC8E_EXAMPLE_2017);
  g_autoptr(GPtrArray) positions = parse_frame_ok (frame);
  WbPosition *p;

  g_assert_cmpuint (positions->len, ==, 1);
  p = g_ptr_array_index (positions, 0);
  /* 0x0000015FBA40B620 = 1510658324000: Tuesday, November 14, 2017 11:18:44 AM GMT. */
  g_assert_cmpint (p->device_time, ==, G_GINT64_CONSTANT (1510658324000) * 1000);
  g_assert_cmpint (attribute_int (p, "priority"), ==, 0);
  /* Longitude 252562916, latitude 546676016, altitude 138 m, angle 0,
   * 6 satellites, 0 km/h. */
  g_assert_cmpfloat (p->lon, ==, 25.2562916);
  g_assert_cmpfloat (p->lat, ==, 54.6676016);
  g_assert_cmpfloat (p->altitude, ==, 138);
  g_assert_cmpfloat (p->heading, ==, 0);
  g_assert_cmpint (p->satellites, ==, 6);
  g_assert_cmpfloat (p->speed_kmh, ==, 0);
  /* Event 0, 6 elements: IO 239 (ignition) = 0, IO 17 = 0x001E, IO 16 =
   * 0x0000CBDF, IO 11 = 0x3544C875, IO 14 = 0x29BFE4D1, IO 256 = 17 zero bytes. */
  g_assert_cmpint (attribute_int (p, "event_io"), ==, 0);
  g_assert_cmpint (p->ignition, ==, 0);
  g_assert_cmpint (attribute_int (p, "io17"), ==, 30);
  g_assert_cmpfloat (p->odometer, ==, 52191);
  g_assert_cmpint (attribute_int (p, "io11"), ==, 893700213);
  g_assert_cmpint (attribute_int (p, "io14"), ==, 700441809);
  g_assert_cmpstr (attribute_string (p, "io256"), ==, "0000000000000000000000000000000000");
}

static void
test_teltonika_imei (void)
{
  g_autoptr(GBytes) handshake = hex_bytes (IMEI_HANDSHAKE "00000000");
  const guint8 *data = g_bytes_get_data (handshake, NULL);
  g_autofree char *imei = NULL;
  gsize consumed = 99;

  for (gsize prefix = 0; prefix < 17; prefix++)
    {
      char *partial = NULL;

      g_assert_cmpint (wb_teltonika_parse_imei (data, prefix, &consumed, &partial, NULL), ==, WB_TELTONIKA_NEED_MORE);
      g_assert_null (partial);
      g_assert_cmpuint (consumed, ==, 0);
    }
  /* The bytes after the handshake are the first frame's: not consumed. */
  g_assert_cmpint (wb_teltonika_parse_imei (data, g_bytes_get_size (handshake), &consumed, &imei, NULL),
                   ==, WB_TELTONIKA_OK);
  g_assert_cmpstr (imei, ==, IMEI);
  g_assert_cmpuint (consumed, ==, 17);
}

static void
test_teltonika_imei_invalid (void)
{
  const struct
  {
    const char *hex;
    const char *message_part;
  } cases[] = {
    { "0010" "33353633303730343234343130313334", "IMEI length is 16" },
    { "000E" "3335363330373034323434313031", "IMEI length is 14" },
    { "0000", "IMEI length is 0" },
    { "000F" "3335363330373034323434313031" "41", "character 15 is 0x41" },
    { "000F" "20" "3335363330373034323434313031", "character 1 is 0x20" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GBytes) bytes = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *imei = NULL;
      gsize consumed = 99;

      bytes = hex_bytes (cases[i].hex);
      g_assert_cmpint (wb_teltonika_parse_imei (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), &consumed,
                                                &imei, &error), ==, WB_TELTONIKA_ERROR);
      g_assert_error (error, WB_TELEMETRY_ERROR, WB_TELEMETRY_ERROR_MALFORMED);
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, cases[i].message_part));
      g_assert_null (imei);
      g_assert_cmpuint (consumed, ==, 0);
    }
}

/* TCP delivers a frame in pieces: every prefix asks for more, then it parses. */
static void
test_teltonika_split_delivery (void)
{
  for (guint f = 0; f < G_N_ELEMENTS (published_frames); f++)
    {
      g_autoptr(GBytes) frame = hex_bytes (published_frames[f]);
      gsize size = g_bytes_get_size (frame);
      const guint8 *data = g_bytes_get_data (frame, NULL);
      g_autoptr(GPtrArray) positions = NULL;
      gsize consumed = 99;

      for (gsize prefix = 0; prefix < size; prefix++)
        {
          GPtrArray *none = NULL;

          g_assert_cmpint (wb_teltonika_parse_frame (data, prefix, IMEI, &consumed, &none, NULL),
                           ==, WB_TELTONIKA_NEED_MORE);
          g_assert_null (none);
          g_assert_cmpuint (consumed, ==, 0);
        }
      g_assert_cmpint (wb_teltonika_parse_frame (data, size, IMEI, &consumed, &positions, NULL), ==, WB_TELTONIKA_OK);
      g_assert_cmpuint (consumed, ==, size);
      g_assert_cmpuint (positions->len, >=, 1);
    }
}

/* A connection's whole stream: handshake, two frames back to back, the start
 * of a third. */
static void
test_teltonika_back_to_back (void)
{
  g_autoptr(GBytes) stream = hex_bytes (IMEI_HANDSHAKE CODEC8_EXAMPLE_1 CODEC8_EXAMPLE_3 "00000000");
  const guint8 *data = g_bytes_get_data (stream, NULL);
  gsize size = g_bytes_get_size (stream), offset, consumed;
  const guint expected_records[] = { 1, 2 };
  g_autofree char *imei = NULL;
  GPtrArray *none = NULL;

  g_assert_cmpint (wb_teltonika_parse_imei (data, size, &consumed, &imei, NULL), ==, WB_TELTONIKA_OK);
  offset = consumed;
  for (guint i = 0; i < G_N_ELEMENTS (expected_records); i++)
    {
      g_autoptr(GPtrArray) positions = NULL;

      g_assert_cmpint (wb_teltonika_parse_frame (data + offset, size - offset, imei, &consumed, &positions, NULL),
                       ==, WB_TELTONIKA_OK);
      g_assert_cmpuint (positions->len, ==, expected_records[i]);
      offset += consumed;
    }
  g_assert_cmpuint (offset, ==, size - 4);
  g_assert_cmpint (wb_teltonika_parse_frame (data + offset, size - offset, imei, &consumed, &none, NULL),
                   ==, WB_TELTONIKA_NEED_MORE);
}

static GBytes *
with_byte (const char *hex,
           gsize       index,
           guint8      xor_mask)
{
  g_autoptr(GBytes) bytes = hex_bytes (hex);
  gsize size;
  guint8 *data = g_bytes_unref_to_data (g_steal_pointer (&bytes), &size);

  g_assert_cmpuint (index, <, size);
  data[index] ^= xor_mask;
  return g_bytes_new_take (data, size);
}

static void
test_teltonika_crc (void)
{
  g_autoptr(GBytes) crc_flipped = with_byte (CODEC8_EXAMPLE_1, 65, 0x01);
  g_autoptr(GBytes) data_flipped = with_byte (CODEC8_EXAMPLE_1, 20, 0x80);
  g_autoptr(GBytes) crc_high = with_byte (CODEC8_EXAMPLE_1, 62, 0x01);
  const guint8 check[] = "123456789";

  /* The standard check value of CRC-16/ARC (= IBM). */
  g_assert_cmphex (wb_teltonika_crc16 (check, 9), ==, 0xBB3D);

  assert_frame_error (crc_flipped, WB_TELEMETRY_ERROR_MALFORMED, "CRC mismatch");
  /* A changed latitude would otherwise decode as a wrong position. */
  assert_frame_error (data_flipped, WB_TELEMETRY_ERROR_MALFORMED, "CRC mismatch");
  /* The CRC's two high bytes are zero. */
  assert_frame_error (crc_high, WB_TELEMETRY_ERROR_MALFORMED, "CRC mismatch");
}

static void
test_teltonika_malformed (void)
{
  /* Codec 8 example 1's data, edited; frame_around() gives it a right
   * length and CRC, so the edit alone is at fault. */
  const struct
  {
    const char *payload;
    int         code;
    const char *message_part;
  } cases[] = {
    /* N1 = 1, N2 = 2. */
    { "08010000016B40D8EA30010000000000000000000000000000000105021503010101425E0F01F10000601A014E000000000000000002",
      WB_TELEMETRY_ERROR_MALFORMED, "record counts differ: 1 at the start, 2 at the end" },
    /* The 8-byte IO value cut short. */
    { "08010000016B40D8EA30010000000000000000000000000000000105021503010101425E0F01F10000601A014E00000001",
      WB_TELEMETRY_ERROR_MALFORMED, "Record 1: the IO element list runs past the end" },
    /* The IO list stops after the 2-byte group. */
    { "08010000016B40D8EA30010000000000000000000000000000000105021503010101425E0F01",
      WB_TELEMETRY_ERROR_MALFORMED, "Record 1: the IO element count runs past the end" },
    /* The GPS element cut short. */
    { "08010000016B40D8EA300100000000000001", WB_TELEMETRY_ERROR_MALFORMED, "Record 1: the GPS element runs past" },
    /* Total IO count 6, 5 present. */
    { "08010000016B40D8EA30010000000000000000000000000000000106021503010101425E0F01F10000601A014E000000000000000001",
      WB_TELEMETRY_ERROR_MALFORMED, "6 IO elements announced, 5 found" },
    /* Two bytes of garbage after the record. */
    { "08010000016B40D8EA30010000000000000000000000000000000105021503010101425E0F01F10000601A014E0000000000000000"
      "AAAA01",
      WB_TELEMETRY_ERROR_MALFORMED, "2 bytes are left over after 1 records" },
    /* No records at all. */
    { "080000", WB_TELEMETRY_ERROR_MALFORMED, "no records" },
    /* Codec 16 is not decoded. */
    { "10010000016B40D8EA30010000000000000000000000000000000105021503010101425E0F01F10000601A014E000000000000000001",
      WB_TELEMETRY_ERROR_UNSUPPORTED, "Codec 0x10 is not supported" },
    /* An 8E variable-length value longer than what is left. */
    { "8E010000016B412CEE000100000000000000000000000000000000010001000000000000000000010100FFFF000001",
      WB_TELEMETRY_ERROR_MALFORMED, "variable-length IO list runs past" },
    /* An 8E record that ends inside its IO header. */
    { "8E010000016B412CEE00010000000000000000000000000000000001",
      WB_TELEMETRY_ERROR_MALFORMED, "Record 1: the IO element header runs past" },
    /* An 8E record without its variable-length group. */
    { "8E010000016B412CEE000100000000000000000000000000000000000000000000000000000001",
      WB_TELEMETRY_ERROR_MALFORMED, "Record 1: the variable-length IO count runs past" },
    /* A timestamp past the year 9999. */
    { "08010FFFFFFFFFFFFFFF0100000000000000000000000000000000000000000001",
      WB_TELEMETRY_ERROR_MALFORMED, "beyond the year 9999" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GBytes) frame = frame_around (cases[i].payload);

      assert_frame_error (frame, cases[i].code, cases[i].message_part);
    }
}

/* A stream that starts wrong is refused with the bytes that show it, not
 * after waiting for a 64 KiB frame. */
static void
test_teltonika_early_errors (void)
{
  const struct
  {
    const char *hex;
    int         code;
    const char *message_part;
  } cases[] = {
    { "01", WB_TELEMETRY_ERROR_MALFORMED, "Bad preamble: byte 1 is 0x01" },
    { "000000FF", WB_TELEMETRY_ERROR_MALFORMED, "Bad preamble: byte 4 is 0xff" },
    { "0000000000010001", WB_TELEMETRY_ERROR_TOO_LARGE, "data length 65537" },
    { "00000000FFFFFFFF", WB_TELEMETRY_ERROR_TOO_LARGE, "data length 4294967295" },
    { "0000000000000002", WB_TELEMETRY_ERROR_MALFORMED, "too short" },
    { "00000000000000360C", WB_TELEMETRY_ERROR_UNSUPPORTED, "Codec 0x0C" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GBytes) bytes = hex_bytes (cases[i].hex);

      assert_frame_error (bytes, cases[i].code, cases[i].message_part);
    }

  /* At the limit itself the frame is merely incomplete. */
  {
    g_autoptr(GBytes) bytes = hex_bytes ("00000000000100008E");
    GPtrArray *positions = NULL;
    gsize consumed;

    g_assert_cmpint (wb_teltonika_parse_frame (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), IMEI,
                                               &consumed, &positions, NULL), ==, WB_TELTONIKA_NEED_MORE);
  }
}

static void
test_teltonika_ack (void)
{
  guint8 out[4];

  wb_teltonika_ack (2, out);
  g_assert_cmpmem (out, 4, "\x00\x00\x00\x02", 4);
  wb_teltonika_ack (0x01020304, out);
  g_assert_cmpmem (out, 4, "\x01\x02\x03\x04", 4);
  g_assert_cmpint (WB_TELTONIKA_ACCEPT, ==, 0x01);
  g_assert_cmpint (WB_TELTONIKA_REFUSE, ==, 0x00);
}

/* IO value widths, signs and the well-known ids, in a Codec 8E record. */
static void
test_teltonika_io_elements (void)
{
  /* Longitude -0.1278 (0xFFEC7FD0 = -1278000), latitude -33.8688
   * (0xEBD00800 = -338688000), altitude -5 (0xFFFB), angle 359,
   * 12 satellites, 87 km/h. IO: 1-byte 240 = 1, 239 = 1; 2-byte 67 = 4100
   * (mV), 21 = 4; 4-byte 16 = 123456; 8-byte 900 = 0xFFFFFFFFFFFFFFFF;
   * variable 385 = DEADBEEF. */
  g_autoptr(GBytes) frame = frame_around (
    "8E01" "0000016B412CEE00" "02" "FFEC7FD0" "EBD00800" "FFFB" "0167" "0C" "0057"
    "00EF" "0007"
    "0002" "00F001" "00EF01"
    "0002" "00431004" "00150004"
    "0001" "00100001E240"
    "0001" "0384FFFFFFFFFFFFFFFF"
    "0001" "01810004DEADBEEF"
    "01");
  g_autoptr(GPtrArray) positions = parse_frame_ok (frame);
  WbPosition *p = g_ptr_array_index (positions, 0);

  g_assert_cmpfloat (p->lon, ==, -0.1278);
  g_assert_cmpfloat (p->lat, ==, -33.8688);
  g_assert_cmpfloat (p->altitude, ==, -5);
  g_assert_cmpfloat (p->heading, ==, 359);
  g_assert_cmpint (p->satellites, ==, 12);
  g_assert_cmpfloat (p->speed_kmh, ==, 87);
  g_assert_cmpint (attribute_int (p, "priority"), ==, 2);
  g_assert_cmpint (attribute_int (p, "event_io"), ==, 239);
  g_assert_cmpint (p->moving, ==, 1);
  g_assert_cmpint (p->ignition, ==, 1);
  g_assert_cmpfloat (json_object_get_double_member (wb_position_ensure_attributes (p), "battery_voltage"), ==, 4.1);
  g_assert_cmpint (attribute_int (p, "gsm_signal"), ==, 4);
  g_assert_cmpfloat (p->odometer, ==, 123456);
  g_assert_cmpstr (attribute_string (p, "io900"), ==, "ffffffffffffffff");
  g_assert_cmpstr (attribute_string (p, "io385"), ==, "deadbeef");
}

/* A device that repeats an IO id in a record: the later value stands, once,
 * as json-glib would keep it; telemetry.raw and the history see no
 * duplicate name. */
static void
test_teltonika_repeated_io (void)
{
  g_autoptr(GBytes) frame = frame_around (
    "8E01" "0000016B412CEE00" "00" "00000000" "00000000" "0000" "0000" "00" "0000"
    "0001" "0003"
    "0003" "000101" "000202" "000105"
    "0000" "0000" "0000" "0000"
    "01");
  g_autoptr(GPtrArray) positions = parse_frame_ok (frame);
  WbPosition *p = g_ptr_array_index (positions, 0);
  g_autofree char *json = wb_position_to_json (p);

  g_assert_null (p->attributes_json);
  g_assert_nonnull (p->attributes);
  g_assert_cmpint (attribute_int (p, "io1"), ==, 5);
  g_assert_cmpint (attribute_int (p, "io2"), ==, 2);
  g_assert_cmpuint (json_object_get_size (p->attributes), ==, 4);
  g_assert_nonnull (strstr (json, "\"io1\":5"));
  g_assert_null (strstr (json, "\"io1\":1"));
}

static void
test_teltonika_encode_round_trip (void)
{
  const guint8 codecs[] = { WB_TELTONIKA_CODEC_8, WB_TELTONIKA_CODEC_8_EXTENDED };

  for (guint c = 0; c < G_N_ELEMENTS (codecs); c++)
    {
      g_autoptr(WbPosition) first = wb_position_new ();
      g_autoptr(WbPosition) second = wb_position_new ();
      WbPosition *positions[2] = { first, second };
      g_autoptr(GBytes) frame = NULL;
      g_autoptr(GPtrArray) decoded = NULL;
      WbPosition *p;

      first->device_time = G_GINT64_CONSTANT (1700000000123) * 1000;
      first->lat = -12.3456789;
      first->lon = 98.7654321;
      first->altitude = -30;
      first->heading = 45;
      first->satellites = 9;
      first->speed_kmh = 61;
      first->ignition = 1;
      first->moving = 0;
      first->odometer = 4000000;
      second->device_time = first->device_time + SECOND_US;
      json_object_set_int_member (wb_position_ensure_attributes (second), "priority", 2);

      frame = wb_teltonika_encode_frame (codecs[c], positions, 2);
      g_assert_cmpint (((const guint8 *) g_bytes_get_data (frame, NULL))[8], ==, codecs[c]);
      decoded = parse_frame_ok (frame);
      g_assert_cmpuint (decoded->len, ==, 2);
      p = g_ptr_array_index (decoded, 0);
      g_assert_cmpint (p->device_time, ==, first->device_time);
      g_assert_cmpfloat (p->lat, ==, first->lat);
      g_assert_cmpfloat (p->lon, ==, first->lon);
      g_assert_cmpfloat (p->altitude, ==, -30);
      g_assert_cmpfloat (p->heading, ==, 45);
      g_assert_cmpint (p->satellites, ==, 9);
      g_assert_cmpfloat (p->speed_kmh, ==, 61);
      g_assert_cmpint (p->ignition, ==, 1);
      g_assert_cmpint (p->moving, ==, 0);
      g_assert_cmpfloat (p->odometer, ==, 4000000);
      p = g_ptr_array_index (decoded, 1);
      g_assert_cmpint (p->device_time, ==, second->device_time);
      g_assert_cmpint (attribute_int (p, "priority"), ==, 2);
      g_assert_cmpint (p->ignition, ==, -1);
      g_assert_true (isnan (p->odometer));
    }
}

/* Every single-bit corruption of every published frame is either caught or,
 * when it hits the CRC-checked data, always caught: none decodes. */
static void
test_teltonika_bit_flips (void)
{
  for (guint f = 0; f < G_N_ELEMENTS (published_frames); f++)
    {
      g_autoptr(GBytes) frame = hex_bytes (published_frames[f]);
      gsize size = g_bytes_get_size (frame);

      for (gsize i = 0; i < size; i++)
        for (guint bit = 0; bit < 8; bit++)
          {
            g_autoptr(GBytes) flipped = NULL;
            g_autoptr(GPtrArray) positions = NULL;
            gsize consumed;
            WbTeltonikaResult result;

            flipped = with_byte (published_frames[f], i, 1 << bit);
            result = wb_teltonika_parse_frame (g_bytes_get_data (flipped, NULL), size, IMEI, &consumed,
                                               &positions, NULL);
            /* A flipped length bit may leave the frame merely incomplete. */
            g_assert_true (result == WB_TELTONIKA_ERROR || (result == WB_TELTONIKA_NEED_MORE && i >= 4 && i < 8));
            g_assert_null (positions);
          }
    }
}

/* ---- validation ------------------------------------------------------------------- */

#define NOW_US (G_GINT64_CONSTANT (1767225600) * SECOND_US)   /* 2026-01-01T00:00:00Z */

static WbPosition *
valid_position (void)
{
  WbPosition *p = wb_position_new ();

  p->device_id = g_strdup ("truck-7");
  p->device_time = NOW_US - MINUTE_US;
  p->lat = 53.9;
  p->lon = 27.56;
  p->speed_kmh = 80;
  return p;
}

static void
assert_verdict (WbPosition     *p,
                gint64          max_age_us,
                WbRejectReason  expected)
{
  g_autoptr(GError) error = NULL;
  WbRejectReason reason = WB_N_REJECT_REASONS;
  gboolean accepted = wb_position_validate (p, NOW_US, max_age_us, &reason, &error);

  g_assert_cmpint (reason, ==, expected);
  if (expected == WB_REJECT_NONE)
    {
      g_assert_true (accepted);
      g_assert_no_error (error);
      return;
    }
  g_assert_false (accepted);
  g_assert_error (error, WB_TELEMETRY_ERROR, WB_TELEMETRY_ERROR_REJECTED);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, wb_reject_reason_to_string (expected)));
}

static void
test_validate_accepts (void)
{
  g_autoptr(WbPosition) p = valid_position ();

  assert_verdict (p, 0, WB_REJECT_NONE);
  assert_verdict (p, DAY_US, WB_REJECT_NONE);
  /* Unknown speed is no reason to refuse. */
  p->speed_kmh = NAN;
  assert_verdict (p, 0, WB_REJECT_NONE);
}

static void
test_validate_missing (void)
{
  g_autoptr(WbPosition) p = valid_position ();

  g_clear_pointer (&p->device_id, g_free);
  assert_verdict (p, 0, WB_REJECT_MISSING_DEVICE);
  p->device_id = g_strdup ("");
  assert_verdict (p, 0, WB_REJECT_MISSING_DEVICE);
  g_free (p->device_id);
  p->device_id = g_strdup ("truck-7");
  p->device_time = 0;
  assert_verdict (p, 0, WB_REJECT_MISSING_TIME);
}

static void
test_validate_coordinates (void)
{
  const struct
  {
    double         lat, lon;
    WbRejectReason reason;
  } cases[] = {
    { 90, 27.56, WB_REJECT_NONE },
    { -90, 27.56, WB_REJECT_NONE },
    { 90.0000001, 27.56, WB_REJECT_INVALID_LATITUDE },
    { -90.0000001, 27.56, WB_REJECT_INVALID_LATITUDE },
    { NAN, 27.56, WB_REJECT_INVALID_LATITUDE },
    { INFINITY, 27.56, WB_REJECT_INVALID_LATITUDE },
    { 53.9, 180, WB_REJECT_NONE },
    { 53.9, -180, WB_REJECT_NONE },
    { 53.9, 180.0000001, WB_REJECT_INVALID_LONGITUDE },
    { 53.9, -180.0000001, WB_REJECT_INVALID_LONGITUDE },
    { 53.9, NAN, WB_REJECT_INVALID_LONGITUDE },
    { 0, 0, WB_REJECT_NULL_ISLAND },
    { -0.0, 0, WB_REJECT_NULL_ISLAND },
    { 0, 0.0000001, WB_REJECT_NONE },
    { 0.0000001, 0, WB_REJECT_NONE },
    { 0, 27.56, WB_REJECT_NONE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(WbPosition) p = valid_position ();

      p->lat = cases[i].lat;
      p->lon = cases[i].lon;
      assert_verdict (p, 0, cases[i].reason);
    }
}

static void
test_validate_time (void)
{
  g_autoptr(WbPosition) p = valid_position ();

  p->device_time = NOW_US + 5 * MINUTE_US;
  assert_verdict (p, 0, WB_REJECT_NONE);
  p->device_time = NOW_US + 5 * MINUTE_US + 1;
  assert_verdict (p, 0, WB_REJECT_FUTURE);
  p->device_time = NOW_US + 5 * MINUTE_US + 1000;   /* the decoders' millisecond */
  assert_verdict (p, 0, WB_REJECT_FUTURE);

  p->device_time = NOW_US - DAY_US;
  assert_verdict (p, DAY_US, WB_REJECT_NONE);
  p->device_time = NOW_US - DAY_US - 1;
  assert_verdict (p, DAY_US, WB_REJECT_TOO_OLD);
  /* No limit: any age. */
  p->device_time = G_GINT64_CONSTANT (946684800) * SECOND_US;
  assert_verdict (p, 0, WB_REJECT_NONE);
  assert_verdict (p, 365 * DAY_US, WB_REJECT_TOO_OLD);
}

static void
test_validate_speed (void)
{
  g_autoptr(WbPosition) p = valid_position ();

  p->speed_kmh = 999.9;
  assert_verdict (p, 0, WB_REJECT_NONE);
  p->speed_kmh = 1000;
  assert_verdict (p, 0, WB_REJECT_SPEED);
  p->speed_kmh = 1e9;
  assert_verdict (p, 0, WB_REJECT_SPEED);
}

static void
test_validate_reason_names (void)
{
  const char * const names[] = {
    "none", "missing_device", "missing_time", "invalid_latitude", "invalid_longitude", "null_island",
    "future", "too_old", "speed", "duplicate",
  };

  g_assert_cmpuint (G_N_ELEMENTS (names), ==, WB_N_REJECT_REASONS);
  for (guint i = 0; i < WB_N_REJECT_REASONS; i++)
    g_assert_cmpstr (wb_reject_reason_to_string (i), ==, names[i]);
}

/* What a decoder hands over goes through validation as it is. */
static void
test_validate_decoded (void)
{
  g_autoptr(GBytes) frame = hex_bytes (CODEC8_EXAMPLE_1);
  g_autoptr(GPtrArray) positions = parse_frame_ok (frame);
  g_autoptr(GBytes) fix = hex_bytes (CODEC8E_EXAMPLE_2017);
  g_autoptr(GPtrArray) fixed = parse_frame_ok (fix);
  WbRejectReason reason;

  /* The documentation's example has no fix: 0 satellites at (0, 0). */
  g_assert_false (wb_position_validate (g_ptr_array_index (positions, 0), NOW_US, 0, &reason, NULL));
  g_assert_cmpint (reason, ==, WB_REJECT_NULL_ISLAND);
  g_assert_true (wb_position_validate (g_ptr_array_index (fixed, 0), NOW_US, 0, &reason, NULL));
}

static void
test_duplicates_basic (void)
{
  g_autoptr(WbDuplicateFilter) filter = wb_duplicate_filter_new ();

  g_assert_true (wb_duplicate_filter_check_and_add (filter, "a", 1000));
  g_assert_false (wb_duplicate_filter_check_and_add (filter, "a", 1000));
  g_assert_false (wb_duplicate_filter_check_and_add (filter, "a", 1000));
  g_assert_true (wb_duplicate_filter_check_and_add (filter, "b", 1000));
  g_assert_true (wb_duplicate_filter_check_and_add (filter, "a", 2000));
  /* A late position is no duplicate. */
  g_assert_true (wb_duplicate_filter_check_and_add (filter, "a", 500));
  g_assert_false (wb_duplicate_filter_check_and_add (filter, "a", 2000));
  g_assert_cmpuint (wb_duplicate_filter_get_n_devices (filter), ==, 2);
}

static void
test_duplicates_window (void)
{
  g_autoptr(WbDuplicateFilter) filter = wb_duplicate_filter_new ();

  for (gint64 t = 1; t <= WB_DUPLICATE_FILTER_TIMES; t++)
    g_assert_true (wb_duplicate_filter_check_and_add (filter, "a", t));
  /* All 32 remembered. */
  for (gint64 t = 1; t <= WB_DUPLICATE_FILTER_TIMES; t++)
    g_assert_false (wb_duplicate_filter_check_and_add (filter, "a", t));
  /* One more pushes out the oldest only. */
  g_assert_true (wb_duplicate_filter_check_and_add (filter, "a", 100));
  g_assert_false (wb_duplicate_filter_check_and_add (filter, "a", 2));
  g_assert_true (wb_duplicate_filter_check_and_add (filter, "a", 1));
}

static void
test_duplicates_lru (void)
{
  g_autoptr(WbDuplicateFilter) filter = wb_duplicate_filter_new_full (2, 4);

  g_assert_true (wb_duplicate_filter_check_and_add (filter, "a", 1));
  g_assert_true (wb_duplicate_filter_check_and_add (filter, "b", 1));
  /* a is active again, so b is the least recently active. */
  g_assert_true (wb_duplicate_filter_check_and_add (filter, "a", 2));
  g_assert_true (wb_duplicate_filter_check_and_add (filter, "c", 1));
  g_assert_cmpuint (wb_duplicate_filter_get_n_devices (filter), ==, 2);
  g_assert_false (wb_duplicate_filter_check_and_add (filter, "a", 1));
  g_assert_false (wb_duplicate_filter_check_and_add (filter, "c", 1));
  /* b was forgotten: its repeat gets through here (the history stores it once). */
  g_assert_true (wb_duplicate_filter_check_and_add (filter, "b", 1));
}

static void
test_duplicates_forget (void)
{
  g_autoptr(WbDuplicateFilter) filter = wb_duplicate_filter_new ();

  g_assert_true (wb_duplicate_filter_check_and_add (filter, "a", 7));
  g_assert_true (wb_duplicate_filter_check_and_add (filter, "a", 8));
  wb_duplicate_filter_forget (filter, "a", 7);
  wb_duplicate_filter_forget (filter, "unknown", 7);
  g_assert_true (wb_duplicate_filter_check_and_add (filter, "a", 7));
  g_assert_false (wb_duplicate_filter_check_and_add (filter, "a", 7));
  g_assert_false (wb_duplicate_filter_check_and_add (filter, "a", 8));
}

#define THREADS 8
#define KEYS    2000

static gpointer
add_everything (gpointer data)
{
  WbDuplicateFilter *filter = data;
  guint fresh = 0;

  for (guint i = 0; i < KEYS; i++)
    {
      char device[16];

      g_snprintf (device, sizeof device, "d%u", i % 50);
      fresh += wb_duplicate_filter_check_and_add (filter, device, i / 50 + 1);
    }
  return GUINT_TO_POINTER (fresh);
}

/* Eight threads offer the same positions: each is fresh exactly once. */
static void
test_duplicates_threads (void)
{
  g_autoptr(WbDuplicateFilter) filter = wb_duplicate_filter_new_full (100, 64);
  GThread *threads[THREADS];
  guint fresh = 0;

  for (guint i = 0; i < THREADS; i++)
    threads[i] = g_thread_new ("adder", add_everything, filter);
  for (guint i = 0; i < THREADS; i++)
    fresh += GPOINTER_TO_UINT (g_thread_join (threads[i]));
  g_assert_cmpuint (fresh, ==, KEYS);
  g_assert_cmpuint (wb_duplicate_filter_get_n_devices (filter), ==, 50);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/telemetry/position/new-unknown", test_position_new_unknown);
  g_test_add_func ("/telemetry/position/to-json-exact", test_position_to_json_exact);
  g_test_add_func ("/telemetry/position/round-trip", test_position_round_trip);
  g_test_add_func ("/telemetry/position/round-trip-numbers", test_position_round_trip_numbers);
  g_test_add_func ("/telemetry/position/non-finite", test_position_non_finite);
  g_test_add_func ("/telemetry/position/copy", test_position_copy);
  g_test_add_func ("/telemetry/position/ref", test_position_ref);
  g_test_add_func ("/telemetry/position/boxed", test_position_boxed);
  g_test_add_func ("/telemetry/position/protocol-names", test_position_protocol_names);
  g_test_add_func ("/telemetry/position/from-json-invalid", test_position_from_json_invalid);
  g_test_add_func ("/telemetry/position/schema", test_position_schema);

  g_test_add_func ("/telemetry/json/single", test_json_single);
  g_test_add_func ("/telemetry/json/batch", test_json_batch);
  g_test_add_func ("/telemetry/json/optional-members", test_json_optional_members);
  g_test_add_func ("/telemetry/json/missing-left-to-validation", test_json_missing_left_to_validation);
  g_test_add_func ("/telemetry/json/errors", test_json_errors);
  g_test_add_func ("/telemetry/json/field-error-data", test_field_error_data);
  g_test_add_func ("/telemetry/json/not-text", test_json_not_text);
  g_test_add_func ("/telemetry/json/batch-limit", test_json_batch_limit);
  g_test_add_func ("/telemetry/json/too-large", test_json_too_large);
  g_test_add_func ("/telemetry/json/fast/valid", test_json_fast_valid);
  g_test_add_func ("/telemetry/json/fast/falls-back", test_json_fast_falls_back);
  g_test_add_func ("/telemetry/json/fast/not-text", test_json_fast_not_text);
  g_test_add_func ("/telemetry/json/fast/numbers", test_json_fast_numbers);
  g_test_add_func ("/telemetry/json/fast/throughput", test_json_fast_throughput);

  g_test_add_func ("/telemetry/osmand/query", test_osmand_query);
  g_test_add_func ("/telemetry/osmand/query-timestamps", test_osmand_query_timestamps);
  g_test_add_func ("/telemetry/osmand/query-aliases", test_osmand_query_aliases);
  g_test_add_func ("/telemetry/osmand/query-documented-example", test_osmand_query_documented_example);
  g_test_add_func ("/telemetry/osmand/query-errors", test_osmand_query_errors);
  g_test_add_func ("/telemetry/osmand/json", test_osmand_json);
  g_test_add_func ("/telemetry/osmand/json-unknowns", test_osmand_json_unknowns);
  g_test_add_func ("/telemetry/osmand/json-errors", test_osmand_json_errors);

  g_test_add_func ("/telemetry/teltonika/codec8-example-1", test_teltonika_codec8_example_1);
  g_test_add_func ("/telemetry/teltonika/codec8-example-2", test_teltonika_codec8_example_2);
  g_test_add_func ("/telemetry/teltonika/codec8-example-3", test_teltonika_codec8_example_3);
  g_test_add_func ("/telemetry/teltonika/codec8e-example", test_teltonika_codec8e_example);
  g_test_add_func ("/telemetry/teltonika/codec8e-example-2017", test_teltonika_codec8e_example_2017);
  g_test_add_func ("/telemetry/teltonika/imei", test_teltonika_imei);
  g_test_add_func ("/telemetry/teltonika/imei-invalid", test_teltonika_imei_invalid);
  g_test_add_func ("/telemetry/teltonika/split-delivery", test_teltonika_split_delivery);
  g_test_add_func ("/telemetry/teltonika/back-to-back", test_teltonika_back_to_back);
  g_test_add_func ("/telemetry/teltonika/crc", test_teltonika_crc);
  g_test_add_func ("/telemetry/teltonika/malformed", test_teltonika_malformed);
  g_test_add_func ("/telemetry/teltonika/early-errors", test_teltonika_early_errors);
  g_test_add_func ("/telemetry/teltonika/ack", test_teltonika_ack);
  g_test_add_func ("/telemetry/teltonika/io-elements", test_teltonika_io_elements);
  g_test_add_func ("/telemetry/teltonika/repeated-io", test_teltonika_repeated_io);
  g_test_add_func ("/telemetry/teltonika/encode-round-trip", test_teltonika_encode_round_trip);
  g_test_add_func ("/telemetry/teltonika/bit-flips", test_teltonika_bit_flips);

  g_test_add_func ("/telemetry/validate/accepts", test_validate_accepts);
  g_test_add_func ("/telemetry/validate/missing", test_validate_missing);
  g_test_add_func ("/telemetry/validate/coordinates", test_validate_coordinates);
  g_test_add_func ("/telemetry/validate/time", test_validate_time);
  g_test_add_func ("/telemetry/validate/speed", test_validate_speed);
  g_test_add_func ("/telemetry/validate/reason-names", test_validate_reason_names);
  g_test_add_func ("/telemetry/validate/decoded", test_validate_decoded);
  g_test_add_func ("/telemetry/duplicates/basic", test_duplicates_basic);
  g_test_add_func ("/telemetry/duplicates/window", test_duplicates_window);
  g_test_add_func ("/telemetry/duplicates/lru", test_duplicates_lru);
  g_test_add_func ("/telemetry/duplicates/forget", test_duplicates_forget);
  g_test_add_func ("/telemetry/duplicates/threads", test_duplicates_threads);

  return g_test_run ();
}
