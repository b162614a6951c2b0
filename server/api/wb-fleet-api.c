// SPDX-License-Identifier: GPL-3.0-or-later
/* The fleet reference-data REST resources.
 *
 * A PUT body becomes the same WbFleetUpdate a bus message becomes, and goes
 * through the same store call, so REST and the topics cannot disagree on
 * the rules: the last writer wins by version, and a PUT without "version"
 * takes the stored version + 1. Bodies and queries are validated here; a
 * problem answers 400 naming the field. */

#include "config.h"

#include <math.h>
#include <string.h>

#include "wb-api-errors.h"
#include "wb-time.h"
#include "wb-fleet-api.h"
#include "wb-json-reader.h"

/* The largest integer a JSON number carries exactly. */
#define MAX_VERSION 9007199254740991.0

typedef struct _Resource Resource;

struct _Resource
{
  WbFleetApi  *api;
  WbFleetKind  kind;
};

struct _WbFleetApi
{
  WbFleetStore *store;
  WbTrackParams track_defaults;
  Resource      resources[WB_FLEET_KIND_DEVICE + 1];
};

/* One paused request. */
typedef struct
{
  WbFleetApi        *api;         /* a reference: answers may outlive wb_fleet_api_free() */
  WbHttpRequest     *request;
  SoupServerMessage *message;     /* keeps the request alive while paused */
  gboolean           geojson;
} Call;

static const char * const company_members[] = { "name", "version", NULL };
static const char * const driver_members[] = { "name", "phone", "companyId", "version", NULL };
static const char * const vehicle_members[] = {
  "plate", "companyId", "driverId", "groupId", "tariffId", "version", NULL
};
static const char * const device_members[] = { "vehicleId", "token", "quarantined", "version", NULL };

static const char * const company_parameters[] = { "limit", "cursor", NULL };
static const char * const driver_parameters[] = { "limit", "cursor", "companyId", NULL };
static const char * const vehicle_parameters[] = { "limit", "cursor", "companyId", "groupId", NULL };
static const char * const track_parameters[] = {
  "from", "to", "tolerance", "minTripDistance", "minTripDuration", "minStopDuration", "format", NULL
};

static void
api_clear (gpointer data)
{
  WbFleetApi *self = data;

  g_clear_object (&self->store);
}

static Call *
call_new (WbFleetApi    *api,
          WbHttpRequest *request)
{
  Call *call = g_new0 (Call, 1);

  call->api = g_atomic_rc_box_acquire (api);
  call->request = request;
  call->message = g_object_ref (wb_http_request_get_message (request));
  wb_http_request_pause (request);
  return call;
}

static void
call_free (Call *call)
{
  g_object_unref (call->message);
  g_atomic_rc_box_release_full (call->api, api_clear);
  g_free (call);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Call, call_free)

/* ---- answers ---------------------------------------------------------------- */

/* A bad body or parameter is a WB_JSON_ERROR whose field travels as data
 * (wb_api_respond_common_failure() answers it); a WB_FLEET_ERROR_INVALID
 * carries no field apart from its message, so the answer names none. */
static void
respond_failure (WbHttpRequest *request,
                 const GError  *error)
{
  if (g_error_matches (error, WB_FLEET_ERROR, WB_FLEET_ERROR_INVALID))
    wb_api_respond_error (request, SOUP_STATUS_BAD_REQUEST, "invalid_field", NULL, error->message, 0);
  else if (g_error_matches (error, WB_FLEET_ERROR, WB_FLEET_ERROR_NOT_FOUND))
    wb_api_respond_error (request, SOUP_STATUS_NOT_FOUND, "not_found", NULL, error->message, 0);
  else
    wb_api_respond_common_failure (request, error, "Fleet");
}

/* ---- ids and query parameters ---------------------------------------------- */

static const char *
id_parameter_name (WbFleetKind kind)
{
  return kind == WB_FLEET_KIND_DEVICE ? "deviceId" : "id";
}

/* Checked against the id alphabet, so what the database sees is always a
 * well-formed id. */
static gboolean
check_id (const char  *field,
          const char  *value,
          GError     **error)
{
  if (value == NULL || wb_fleet_id_is_valid (value))
    return TRUE;
  wb_json_set_field_error (error, field, "must be 1 to %d characters of letters, digits and . _ : -",
                                 WB_FLEET_ID_MAX_LENGTH);
  return FALSE;
}

/* Unknown and repeated parameters are refused: a misspelt filter would
 * otherwise widen a list without a word. */
static gboolean
check_query (WbHttpRequest      *request,
             const char * const *known,
             GError            **error)
{
  const char *query = g_uri_get_query (soup_server_message_get_uri (wb_http_request_get_message (request)));
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GError) local_error = NULL;
  GUriParamsIter iter;
  char *name, *value;

  if (query == NULL)
    return TRUE;
  g_uri_params_iter_init (&iter, query, -1, "&", G_URI_PARAMS_NONE);
  while (g_uri_params_iter_next (&iter, &name, &value, &local_error))
    {
      g_autofree char *owned_name = name;
      g_autofree char *owned_value = value;

      if (*name == '\0')
        continue;
      if (!g_strv_contains (known, name))
        {
          wb_json_set_field_error (error, name, "is not a known query parameter");
          return FALSE;
        }
      if (!g_hash_table_add (seen, g_steal_pointer (&owned_name)))
        {
          wb_json_set_field_error (error, name, "is given more than once");
          return FALSE;
        }
    }
  if (local_error != NULL)
    {
      wb_json_set_field_error (error, "query", "is not a valid URL query: %s", local_error->message);
      return FALSE;
    }
  return TRUE;
}

static WbFleetQuery *
parse_list_query (WbHttpRequest  *request,
                  WbFleetKind     kind,
                  GError        **error)
{
  const char * const *known = kind == WB_FLEET_KIND_COMPANY ? company_parameters
                              : kind == WB_FLEET_KIND_DRIVER ? driver_parameters : vehicle_parameters;
  g_autoptr(WbFleetQuery) query = g_new0 (WbFleetQuery, 1);
  const char *limit = wb_http_request_get_query (request, "limit");
  const char *cursor = wb_http_request_get_query (request, "cursor");
  guint64 value = 0;

  if (!check_query (request, known, error))
    return NULL;
  if (limit != NULL && !g_ascii_string_to_unsigned (limit, 10, 1, WB_FLEET_MAX_PAGE_SIZE, &value, NULL))
    {
      wb_json_set_field_error (error, "limit", "must be an integer from 1 to %d", WB_FLEET_MAX_PAGE_SIZE);
      return NULL;
    }
  if (cursor != NULL && !wb_fleet_id_is_valid (cursor))
    {
      wb_json_set_field_error (error, "cursor", "is malformed; pass nextCursor from the previous page");
      return NULL;
    }
  query->kind = kind;
  query->limit = value;
  query->after = g_strdup (cursor);
  query->company_id = g_strdup (wb_http_request_get_query (request, "companyId"));
  query->group_id = g_strdup (wb_http_request_get_query (request, "groupId"));
  if (!check_id ("companyId", query->company_id, error) || !check_id ("groupId", query->group_id, error))
    return NULL;
  return g_steal_pointer (&query);
}

/* ---- PUT bodies -------------------------------------------------------------- */

static gboolean
invalid (WbJsonReader  *input,
         const char   *member,
         const char   *problem,
         GError      **error)
{
  g_autofree char *path = wb_json_reader_member_path (input, member);

  wb_json_set_field_error (error, path, "%s", problem);
  return FALSE;
}

static gboolean
read_text (WbJsonReader  *body,
           const char   *member,
           gboolean      required,
           char        **out_value,
           GError      **error)
{
  if (!wb_json_reader_get_string (body, member, required, out_value, error))
    return FALSE;
  if (*out_value != NULL && g_utf8_strlen (*out_value, -1) > WB_FLEET_TEXT_MAX_LENGTH)
    return invalid (body, member, "must be at most 256 characters long", error);
  return TRUE;
}

static gboolean
read_id (WbJsonReader  *body,
         const char   *member,
         gboolean      required,
         char        **out_value,
         GError      **error)
{
  if (!wb_json_reader_get_string (body, member, required, out_value, error))
    return FALSE;
  if (*out_value != NULL && !wb_fleet_id_is_valid (*out_value))
    return invalid (body, member, "must be 1 to 128 characters of letters, digits and . _ : -", error);
  return TRUE;
}

/* Absent: 0, the stored version + 1. */
static gboolean
read_version (WbJsonReader  *body,
              gint64       *out_version,
              GError      **error)
{
  gboolean present = FALSE;
  double value = 0;

  if (!wb_json_reader_get_double (body, "version", 1, MAX_VERSION, &present, &value, error))
    return FALSE;
  if (present && floor (value) != value)
    return invalid (body, "version", "must be an integer", error);
  *out_version = present ? (gint64) value : 0;
  return TRUE;
}

/* "token": absent keeps the stored token, null removes it, a string sets it. */
static gboolean
read_token (WbJsonReader    *body,
            WbFleetUpdate  *update,
            GError        **error)
{
  update->has_token = wb_json_reader_contains (body, "token");
  if (!update->has_token)
    return TRUE;
  if (!wb_json_reader_get_string (body, "token", FALSE, &update->token, error))
    return FALSE;
  if (update->token == NULL && wb_json_reader_has_member (body, "token"))
    return invalid (body, "token", "must not be empty; null removes the token", error);
  if (update->token != NULL && strlen (update->token) > WB_FLEET_TEXT_MAX_LENGTH)
    return invalid (body, "token", "must be at most 256 bytes long", error);
  return TRUE;
}

static gboolean
read_members (WbJsonReader    *body,
              WbFleetUpdate  *update,
              GError        **error)
{
  switch (update->kind)
    {
    case WB_FLEET_KIND_COMPANY:
      return read_text (body, "name", TRUE, &update->name, error);
    case WB_FLEET_KIND_DRIVER:
      return read_text (body, "name", TRUE, &update->name, error)
             && read_text (body, "phone", FALSE, &update->phone, error)
             && read_id (body, "companyId", FALSE, &update->company_id, error);
    case WB_FLEET_KIND_VEHICLE:
      return read_text (body, "plate", TRUE, &update->plate, error)
             && read_id (body, "companyId", FALSE, &update->company_id, error)
             && read_id (body, "driverId", FALSE, &update->driver_id, error)
             && read_id (body, "groupId", FALSE, &update->group_id, error)
             && read_id (body, "tariffId", FALSE, &update->tariff_id, error);
    case WB_FLEET_KIND_DEVICE:
    default:
      if (!wb_json_reader_get_boolean (body, "quarantined", &update->quarantined, error)
          || !read_token (body, update, error))
        return FALSE;
      /* A quarantined device may wait for its vehicle; any other needs one. */
      return read_id (body, "vehicleId", !update->quarantined, &update->vehicle_id, error);
    }
}

static WbFleetUpdate *
parse_update (WbFleetKind     kind,
              const char     *id,
              GBytes         *body_bytes,
              GError        **error)
{
  const char * const *known[] = { company_members, driver_members, vehicle_members, device_members };
  g_autoptr(WbJsonReader) body = wb_json_reader_new_from_bytes (body_bytes, NULL, error);
  g_autoptr(WbFleetUpdate) update = wb_fleet_update_new (kind, id);

  /* A PUT replaces the entity: a misspelt member would silently clear
   * the one meant. */
  if (body == NULL
      || !wb_json_reader_reject_unknown (body, known[kind], error)
      || !read_members (body, update, error)
      || !read_version (body, &update->version, error))
    return NULL;
  return g_steal_pointer (&update);
}

/* ---- handlers ---------------------------------------------------------------- */

static void
on_applied (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  g_autoptr(Call) call = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(WbFleetApplyResult) applied = wb_fleet_store_apply_finish (WB_FLEET_STORE (source), result, &error);
  g_autofree char *message = NULL;

  if (applied == NULL)
    respond_failure (call->request, error);
  else if (applied->applied)
    wb_api_respond_json_text (call->request, SOUP_STATUS_OK, applied->json);
  else
    {
      message = g_strdup_printf ("version: the stored version is %" G_GINT64_FORMAT "; give a greater one, "
                                 "or none to write over it", applied->version);
      wb_api_respond_error (call->request, SOUP_STATUS_CONFLICT, "stale_version", "version", message, applied->version);
    }
}

static void
handle_put (WbHttpRequest *request,
            gpointer       user_data)
{
  Resource *resource = user_data;
  const char *id_name = id_parameter_name (resource->kind);
  const char *id = wb_http_request_get_param (request, id_name);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(WbFleetUpdate) update = NULL;
  Call *call;

  if (!check_id (id_name, id, &error))
    {
      respond_failure (request, error);
      return;
    }
  body = wb_http_request_get_body (request);
  if ((update = parse_update (resource->kind, id, body, &error)) == NULL)
    {
      respond_failure (request, error);
      return;
    }
  call = call_new (resource->api, request);
  wb_fleet_store_apply_async (resource->api->store, update, NULL, on_applied, call);
}

static void
on_got_text (GObject      *source,
             GAsyncResult *result,
             gpointer      data)
{
  g_autoptr(Call) call = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *json = NULL;

  if (g_async_result_is_tagged (result, wb_fleet_store_get_async))
    json = wb_fleet_store_get_finish (WB_FLEET_STORE (source), result, &error);
  else
    json = wb_fleet_store_list_finish (WB_FLEET_STORE (source), result, &error);
  if (json == NULL)
    respond_failure (call->request, error);
  else
    wb_api_respond_json_text (call->request, SOUP_STATUS_OK, json);
}

static void
handle_get (WbHttpRequest *request,
            gpointer       user_data)
{
  Resource *resource = user_data;
  const char *id = wb_http_request_get_param (request, id_parameter_name (resource->kind));
  Call *call;

  /* An id outside the alphabet can name nothing stored. */
  if (!wb_fleet_id_is_valid (id))
    {
      wb_api_respond_error (request, SOUP_STATUS_NOT_FOUND, "not_found", NULL, "No such resource", 0);
      return;
    }
  call = call_new (resource->api, request);
  wb_fleet_store_get_async (resource->api->store, resource->kind, id, NULL, on_got_text, call);
}

static void
handle_list (WbHttpRequest *request,
             gpointer       user_data)
{
  Resource *resource = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(WbFleetQuery) query = parse_list_query (request, resource->kind, &error);
  Call *call;

  if (query == NULL)
    {
      respond_failure (request, error);
      return;
    }
  call = call_new (resource->api, request);
  wb_fleet_store_list_async (resource->api->store, query, NULL, on_got_text, call);
}

/* ---- tracks ---------------------------------------------------------------------- */

#define TRACK_DEFAULT_PERIOD  (G_GINT64_CONSTANT (24) * 3600 * G_USEC_PER_SEC)
#define TRACK_MAX_PERIOD      (G_GINT64_CONSTANT (92) * 24 * 3600 * G_USEC_PER_SEC)
#define TRACK_MAX_TOLERANCE   10000.0

static gboolean
parse_time_parameter (WbHttpRequest  *request,
                      const char     *name,
                      gint64         *out_us,
                      GError        **error)
{
  const char *text = wb_http_request_get_query (request, name);
  g_autoptr(GError) local_error = NULL;
  gboolean guessed = FALSE;

  if (text == NULL)
    return TRUE;
  if (!wb_time_parse (text, NULL, out_us, &guessed, &local_error) || guessed)
    {
      wb_json_set_field_error (error, name, "must be an RFC 3339 time with a zone, e.g. 2026-11-20T10:00:00Z");
      return FALSE;
    }
  return TRUE;
}

static gboolean
parse_number_parameter (WbHttpRequest  *request,
                        const char     *name,
                        double          max,
                        double         *out,
                        GError        **error)
{
  const char *text = wb_http_request_get_query (request, name);
  char *end = NULL;
  double value;

  if (text == NULL)
    return TRUE;
  value = g_ascii_strtod (text, &end);
  if (*text == '\0' || *end != '\0' || !isfinite (value) || value < 0 || value > max)
    {
      wb_json_set_field_error (error, name, "must be a number from 0 to %g", max);
      return FALSE;
    }
  *out = value;
  return TRUE;
}

static gboolean
parse_seconds_parameter (WbHttpRequest  *request,
                         const char     *name,
                         gint64         *out_us,
                         GError        **error)
{
  double seconds = *out_us / (double) G_USEC_PER_SEC;

  if (!parse_number_parameter (request, name, 7 * 24 * 3600, &seconds, error))
    return FALSE;
  *out_us = (gint64) (seconds * G_USEC_PER_SEC);
  return TRUE;
}

/* GeoJSON when asked for by Accept (RFC 7946's media type) or ?format=. */
static gboolean
wants_geojson (WbHttpRequest  *request,
               gboolean       *out_geojson,
               GError        **error)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (wb_http_request_get_message (request));
  const char *accept = soup_message_headers_get_one (headers, "Accept");
  const char *format = wb_http_request_get_query (request, "format");

  if (format != NULL && !g_str_equal (format, "json") && !g_str_equal (format, "geojson"))
    {
      wb_json_set_field_error (error, "format", "must be json or geojson");
      return FALSE;
    }
  *out_geojson = format != NULL ? g_str_equal (format, "geojson")
                                : accept != NULL && strstr (accept, "application/geo+json") != NULL;
  return TRUE;
}

static WbTrackQuery *
parse_track_query (WbHttpRequest  *request,
                   WbFleetApi     *api,
                   GError        **error)
{
  g_autoptr(WbTrackQuery) query = g_new0 (WbTrackQuery, 1);
  gint64 from = 0, to = 0;

  query->tolerance_m = 5.0;
  query->params = api->track_defaults;
  if (!check_query (request, track_parameters, error)
      || !parse_time_parameter (request, "from", &from, error)
      || !parse_time_parameter (request, "to", &to, error)
      || !parse_number_parameter (request, "tolerance", TRACK_MAX_TOLERANCE, &query->tolerance_m, error)
      || !parse_number_parameter (request, "minTripDistance", 1e6, &query->params.min_trip_distance_m, error)
      || !parse_seconds_parameter (request, "minTripDuration", &query->params.min_trip_duration, error)
      || !parse_seconds_parameter (request, "minStopDuration", &query->params.min_parking_duration, error)
      || !wants_geojson (request, &query->geojson, error))
    return NULL;

  query->to = to ? to : g_get_real_time ();
  query->from = from ? from : query->to - TRACK_DEFAULT_PERIOD;
  if (query->from >= query->to)
    {
      wb_json_set_field_error (error, "from", "must be before to");
      return NULL;
    }
  if (query->to - query->from > TRACK_MAX_PERIOD)
    {
      wb_json_set_field_error (error, "from", "the period is at most 92 days");
      return NULL;
    }
  query->vehicle_id = g_strdup (wb_http_request_get_param (request, "id"));
  return g_steal_pointer (&query);
}

static void
on_track (GObject      *source,
          GAsyncResult *result,
          gpointer      data)
{
  g_autoptr(Call) call = data;
  g_autoptr(GError) error = NULL;
  char *text = wb_fleet_store_track_finish (WB_FLEET_STORE (source), result, &error);
  const char *type = call->geojson ? "application/geo+json" : "application/json";
  g_autoptr(GBytes) body = NULL;

  if (text == NULL)
    {
      respond_failure (call->request, error);
      return;
    }
  body = g_bytes_new_take (text, strlen (text));
  wb_http_request_respond (call->request, SOUP_STATUS_OK, type, body);
}

static void
handle_track (WbHttpRequest *request,
              gpointer       user_data)
{
  Resource *resource = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(WbTrackQuery) query = NULL;
  Call *call;

  if (!wb_fleet_id_is_valid (wb_http_request_get_param (request, "id")))
    {
      wb_api_respond_error (request, SOUP_STATUS_NOT_FOUND, "not_found", NULL, "No such vehicle", 0);
      return;
    }
  query = parse_track_query (request, resource->api, &error);
  if (query == NULL)
    {
      respond_failure (request, error);
      return;
    }
  call = call_new (resource->api, request);
  call->geojson = query->geojson;
  wb_fleet_store_track_async (resource->api->store, query, NULL, on_track, call);
}

/* ---- OpenAPI ------------------------------------------------------------------ */

#define JSON_CONTENT(schema) "{\"application/json\":{\"schema\":" schema "}}"
#define ERROR_REF "{\"$ref\":\"#/components/schemas/Error\"}"
#define ERROR_RESPONSE(description) \
  "{\"description\":\"" description "\",\"content\":" JSON_CONTENT (ERROR_REF) "}"
#define STRING "{\"type\":\"string\"}"
#define NULLABLE_STRING "{\"type\":\"string\",\"nullable\":true}"
#define ID "{\"type\":\"string\",\"pattern\":\"^[A-Za-z0-9._:-]{1,128}$\"}"
#define NULLABLE_ID "{\"type\":\"string\",\"nullable\":true,\"pattern\":\"^[A-Za-z0-9._:-]{1,128}$\"}"
#define TIME "{\"type\":\"string\",\"format\":\"date-time\"}"
#define NULLABLE_TIME "{\"type\":\"string\",\"format\":\"date-time\",\"nullable\":true}"
#define VERSION "{\"type\":\"integer\",\"minimum\":0}"
#define VERSION_INPUT \
  "{\"type\":\"integer\",\"minimum\":1,\"description\":\"Must be greater than the stored version; " \
  "absent: the stored version + 1\"}"
#define COMMON_ERRORS \
  "\"400\":" ERROR_RESPONSE ("Invalid input; error.field names the field or parameter") "," \
  "\"503\":" ERROR_RESPONSE ("The database is unavailable; retry after Retry-After seconds")
#define STALE_RESPONSE \
  "\"409\":{\"description\":\"version is not greater than the stored one; currentVersion is\"," \
  "\"content\":" JSON_CONTENT ("{\"allOf\":[" ERROR_REF ",{\"type\":\"object\",\"properties\":{" \
                               "\"currentVersion\":{\"type\":\"integer\"}}}]}") "}"
#define PAGE(schema) \
  "{\"type\":\"object\",\"properties\":{\"items\":{\"type\":\"array\",\"items\":" schema "}," \
  "\"nextCursor\":" NULLABLE_STRING "}}"
#define QUERY_PARAMETER(name, schema, description) \
  "{\"name\":\"" name "\",\"in\":\"query\",\"description\":\"" description "\",\"schema\":" schema "}"
#define PAGE_PARAMETERS \
  QUERY_PARAMETER ("limit", "{\"type\":\"integer\",\"minimum\":1,\"maximum\":500,\"default\":50}", "Page size") "," \
  QUERY_PARAMETER ("cursor", STRING, "nextCursor of the previous page")

#define COMPANY_SCHEMA \
  "{\"type\":\"object\",\"properties\":{\"id\":" ID ",\"name\":" STRING ",\"version\":" VERSION "," \
  "\"updatedAt\":" TIME "}}"
#define DRIVER_SCHEMA \
  "{\"type\":\"object\",\"properties\":{\"id\":" ID ",\"name\":" STRING ",\"phone\":" NULLABLE_STRING "," \
  "\"companyId\":" NULLABLE_ID ",\"version\":" VERSION ",\"updatedAt\":" TIME "}}"
#define VEHICLE_PROPERTIES \
  "\"id\":" ID ",\"plate\":" STRING ",\"companyId\":" NULLABLE_ID ",\"driverId\":" NULLABLE_ID "," \
  "\"groupId\":" NULLABLE_ID ",\"tariffId\":" NULLABLE_ID ",\"version\":" VERSION ",\"updatedAt\":" TIME
#define VEHICLE_SCHEMA "{\"type\":\"object\",\"properties\":{" VEHICLE_PROPERTIES "}}"
#define VEHICLE_VIEW_SCHEMA \
  "{\"type\":\"object\",\"properties\":{" VEHICLE_PROPERTIES "," \
  "\"driver\":{\"allOf\":[" DRIVER_SCHEMA "],\"nullable\":true}," \
  "\"company\":{\"allOf\":[" COMPANY_SCHEMA "],\"nullable\":true,\"description\":\"The operating company: " \
  "the driver's when the driver names one, else the vehicle's own\"}," \
  "\"currentState\":{\"type\":\"object\",\"nullable\":true}}}"
#define DEVICE_SCHEMA \
  "{\"type\":\"object\",\"properties\":{\"deviceId\":" ID ",\"vehicleId\":" NULLABLE_ID "," \
  "\"hasToken\":{\"type\":\"boolean\",\"description\":\"The token itself is never returned\"}," \
  "\"quarantined\":{\"type\":\"boolean\"},\"firstSeenAt\":" NULLABLE_TIME ",\"lastSeenAt\":" NULLABLE_TIME "," \
  "\"version\":" VERSION ",\"updatedAt\":" TIME "}}"

#define PUT_DOC(summary, operation, input, output) \
  "{\"summary\":\"" summary "\",\"operationId\":\"" operation "\",\"tags\":[\"fleet\"]," \
  "\"description\":\"The same path as the bus messages: the last writer wins by version.\"," \
  "\"requestBody\":{\"required\":true,\"content\":" JSON_CONTENT (input) "}," \
  "\"responses\":{\"200\":{\"description\":\"Stored\",\"content\":" JSON_CONTENT (output) "}," \
  STALE_RESPONSE "," COMMON_ERRORS "}}"
#define GET_DOC(summary, operation, output, what) \
  "{\"summary\":\"" summary "\",\"operationId\":\"" operation "\",\"tags\":[\"fleet\"]," \
  "\"responses\":{\"200\":{\"description\":\"" what "\",\"content\":" JSON_CONTENT (output) "}," \
  "\"404\":" ERROR_RESPONSE ("Unknown id") "," COMMON_ERRORS "}}"
#define LIST_DOC(summary, operation, parameters, item) \
  "{\"summary\":\"" summary "\",\"operationId\":\"" operation "\",\"tags\":[\"fleet\"]," \
  "\"parameters\":[" parameters "]," \
  "\"responses\":{\"200\":{\"description\":\"A page, ordered by id\",\"content\":" JSON_CONTENT (PAGE (item)) "}," \
  COMMON_ERRORS "}}"

static const char put_company_doc[] = PUT_DOC (
  "Write a company", "putCompany",
  "{\"type\":\"object\",\"required\":[\"name\"],\"additionalProperties\":false,\"properties\":{"
  "\"name\":" STRING ",\"version\":" VERSION_INPUT "}}", COMPANY_SCHEMA);
static const char put_driver_doc[] = PUT_DOC (
  "Write a driver", "putDriver",
  "{\"type\":\"object\",\"required\":[\"name\"],\"additionalProperties\":false,\"properties\":{"
  "\"name\":" STRING ",\"phone\":" STRING ",\"companyId\":" ID ",\"version\":" VERSION_INPUT "}}", DRIVER_SCHEMA);
static const char put_vehicle_doc[] = PUT_DOC (
  "Write a vehicle", "putVehicle",
  "{\"type\":\"object\",\"required\":[\"plate\"],\"additionalProperties\":false,\"properties\":{"
  "\"plate\":" STRING ",\"companyId\":" ID ",\"driverId\":" ID ",\"groupId\":" ID ",\"tariffId\":" ID ","
  "\"version\":" VERSION_INPUT "}}", VEHICLE_SCHEMA);
static const char put_device_doc[] = PUT_DOC (
  "Register a tracker (deviceId: its id, or its IMEI for Teltonika)", "putDevice",
  "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
  "\"vehicleId\":{\"type\":\"string\",\"description\":\"Required unless quarantined\"},"
  "\"token\":{\"type\":\"string\",\"nullable\":true,\"description\":\"Stored as a SHA-256 hash; absent keeps "
  "the stored token, null removes it\"},"
  "\"quarantined\":{\"type\":\"boolean\",\"default\":false},\"version\":" VERSION_INPUT "}}", DEVICE_SCHEMA);

static const char get_company_doc[] = GET_DOC ("A company", "getCompany", COMPANY_SCHEMA, "The company");
static const char get_driver_doc[] = GET_DOC ("A driver", "getDriver", DRIVER_SCHEMA, "The driver");
static const char get_vehicle_doc[] = GET_DOC ("A vehicle, with its driver and company", "getVehicle",
                                               VEHICLE_VIEW_SCHEMA, "The vehicle");
static const char get_device_doc[] = GET_DOC ("A tracker (never its token)", "getDevice", DEVICE_SCHEMA,
                                              "The device");

#define TRACK_TIME_PARAMETER(name, description) QUERY_PARAMETER (name, TIME, description)
#define SECONDS(description) "{\"type\":\"number\",\"minimum\":0,\"description\":\"" description "\"}"
#define TRACK_POINT "{\"type\":\"object\",\"properties\":{\"time\":" TIME ",\"lat\":{\"type\":\"number\"}," \
  "\"lon\":{\"type\":\"number\"}}}"
#define TRACK_SCHEMA \
  "{\"type\":\"object\",\"properties\":{\"vehicleId\":" ID ",\"from\":" TIME ",\"to\":" TIME "," \
  "\"points\":{\"type\":\"integer\",\"description\":\"Positions in the period before simplification\"}," \
  "\"distance\":{\"type\":\"number\",\"description\":\"Metres\"}," \
  "\"maxSpeed\":{\"type\":\"number\",\"nullable\":true,\"description\":\"km/h\"}," \
  "\"avgSpeed\":{\"type\":\"number\",\"nullable\":true,\"description\":\"km/h\"}," \
  "\"polyline\":{\"type\":\"array\",\"items\":" TRACK_POINT "}," \
  "\"trips\":{\"type\":\"array\",\"items\":{\"type\":\"object\"}}," \
  "\"stops\":{\"type\":\"array\",\"items\":{\"type\":\"object\"}}}}"
static const char get_track_doc[] =
  "{\"summary\":\"A vehicle's route over a period: simplified polyline, distance, speeds, trips and stops\","
  "\"operationId\":\"getVehicleTrack\",\"tags\":[\"fleet\"],"
  "\"description\":\"From position history. Douglas–Peucker with tolerance in metres; trips and stops with "
  "the fleet.trip-min-distance, fleet.trip-min-duration and fleet.stop-min-duration defaults unless given. "
  "GeoJSON (RFC 7946) with Accept: application/geo+json or format=geojson.\","
  "\"parameters\":["
  TRACK_TIME_PARAMETER ("from", "Start, inclusive (default: 24 h before to)") ","
  TRACK_TIME_PARAMETER ("to", "End, exclusive (default: now); at most 92 days after from") ","
  QUERY_PARAMETER ("tolerance", "{\"type\":\"number\",\"minimum\":0,\"maximum\":10000,\"default\":5}",
                   "Simplification tolerance in metres; 0 keeps every point") ","
  QUERY_PARAMETER ("minTripDistance", "{\"type\":\"number\",\"minimum\":0}", "Metres") ","
  QUERY_PARAMETER ("minTripDuration", SECONDS ("Seconds"), "Shortest trip") ","
  QUERY_PARAMETER ("minStopDuration", SECONDS ("Seconds"), "Shortest stop") ","
  QUERY_PARAMETER ("format", "{\"type\":\"string\",\"enum\":[\"json\",\"geojson\"]}", "Overrides Accept")
  "],\"responses\":{\"200\":{\"description\":\"The track\",\"content\":{"
  "\"application/json\":{\"schema\":" TRACK_SCHEMA "},"
  "\"application/geo+json\":{\"schema\":{\"type\":\"object\",\"description\":\"A FeatureCollection\"}}}},"
  "\"404\":" ERROR_RESPONSE ("Unknown vehicle") "," COMMON_ERRORS "}}";

static const char list_companies_doc[] = LIST_DOC ("List companies", "listCompanies", PAGE_PARAMETERS,
                                                   COMPANY_SCHEMA);
static const char list_drivers_doc[] = LIST_DOC (
  "List drivers", "listDrivers",
  PAGE_PARAMETERS "," QUERY_PARAMETER ("companyId", ID, "Only this company's drivers"), DRIVER_SCHEMA);
static const char list_vehicles_doc[] = LIST_DOC (
  "List vehicles", "listVehicles",
  PAGE_PARAMETERS "," QUERY_PARAMETER ("companyId", ID, "Only vehicles whose companyId is this") ","
  QUERY_PARAMETER ("groupId", ID, "Only this group's vehicles"), VEHICLE_SCHEMA);

/* ---- the API ---------------------------------------------------------------- */

/**
 * wb_fleet_api_new:
 *
 * Returns: (transfer full): the API; wb_fleet_api_register() puts it on a
 *   server
 */
WbFleetApi *
wb_fleet_api_new (WbFleetStore *store)
{
  WbFleetApi *self;

  g_return_val_if_fail (WB_IS_FLEET_STORE (store), NULL);

  self = g_atomic_rc_box_new0 (WbFleetApi);
  self->store = g_object_ref (store);
  wb_track_params_init (&self->track_defaults);
  for (guint kind = 0; kind < G_N_ELEMENTS (self->resources); kind++)
    {
      self->resources[kind].api = self;
      self->resources[kind].kind = kind;
    }
  return self;
}

typedef struct
{
  const char    *method;
  const char    *pattern;
  WbAccessRole         role;
  WbHttpHandler  handler;
  WbFleetKind    kind;
  const char    *doc;
} RouteSpec;

void
wb_fleet_api_register (WbFleetApi   *self,
                       WbHttpServer *http)
{
  const RouteSpec routes[] = {
    { "GET", "/companies", WB_ACCESS_ROLE_VIEWER, handle_list, WB_FLEET_KIND_COMPANY, list_companies_doc },
    { "GET", "/companies/{id}", WB_ACCESS_ROLE_VIEWER, handle_get, WB_FLEET_KIND_COMPANY, get_company_doc },
    { "PUT", "/companies/{id}", WB_ACCESS_ROLE_ADMIN, handle_put, WB_FLEET_KIND_COMPANY, put_company_doc },
    { "GET", "/drivers", WB_ACCESS_ROLE_VIEWER, handle_list, WB_FLEET_KIND_DRIVER, list_drivers_doc },
    { "GET", "/drivers/{id}", WB_ACCESS_ROLE_VIEWER, handle_get, WB_FLEET_KIND_DRIVER, get_driver_doc },
    { "PUT", "/drivers/{id}", WB_ACCESS_ROLE_ADMIN, handle_put, WB_FLEET_KIND_DRIVER, put_driver_doc },
    { "GET", "/vehicles", WB_ACCESS_ROLE_VIEWER, handle_list, WB_FLEET_KIND_VEHICLE, list_vehicles_doc },
    { "GET", "/vehicles/{id}", WB_ACCESS_ROLE_VIEWER, handle_get, WB_FLEET_KIND_VEHICLE, get_vehicle_doc },
    { "PUT", "/vehicles/{id}", WB_ACCESS_ROLE_ADMIN, handle_put, WB_FLEET_KIND_VEHICLE, put_vehicle_doc },
    { "GET", "/vehicles/{id}/track", WB_ACCESS_ROLE_VIEWER, handle_track, WB_FLEET_KIND_VEHICLE, get_track_doc },
    /* Devices are admin-only, reads included: they say which trackers may
     * feed the fleet. */
    { "GET", "/devices/{deviceId}", WB_ACCESS_ROLE_ADMIN, handle_get, WB_FLEET_KIND_DEVICE, get_device_doc },
    { "PUT", "/devices/{deviceId}", WB_ACCESS_ROLE_ADMIN, handle_put, WB_FLEET_KIND_DEVICE, put_device_doc },
  };

  g_return_if_fail (self != NULL);
  g_return_if_fail (WB_IS_HTTP_SERVER (http));

  for (guint i = 0; i < G_N_ELEMENTS (routes); i++)
    {
      wb_http_server_add_route (http, routes[i].method, routes[i].pattern, routes[i].role, routes[i].handler,
                                &self->resources[routes[i].kind]);
      wb_http_server_document_route (http, routes[i].method, routes[i].pattern, routes[i].doc);
    }
}

/* The trip and stop thresholds a track request gets unless it says. */
void
wb_fleet_api_set_track_defaults (WbFleetApi          *self,
                                 const WbTrackParams *params)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (params != NULL);

  self->track_defaults = *params;
}

void
wb_fleet_api_free (WbFleetApi *self)
{
  if (self != NULL)
    g_atomic_rc_box_release_full (self, api_clear);
}
