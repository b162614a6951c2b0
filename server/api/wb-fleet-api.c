// SPDX-License-Identifier: GPL-3.0-or-later
/* The fleet reference-data REST resources.
 *
 * A PUT body becomes the same WbFleetUpdate a bus message becomes, and goes
 * through the same store call, so REST and the topics cannot disagree on
 * the rules: the last writer wins by version, and a PUT without "version"
 * takes the stored version + 1. Bodies and queries are validated here; a
 * problem answers 400 naming the field. An import (POST /vehicles:import …)
 * reads each of its rows as a PUT body (wb_fleet_update_from_rest()), off
 * the main loop, and writes the valid ones in one store call. */

#include "config.h"

#include <math.h>
#include <string.h>

#include "wb-api-errors.h"
#include "wb-time.h"
#include "wb-fleet-api.h"
#include "wb-json-reader.h"

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
  WbFleetImport     *import;
} Call;

static const char * const no_parameters[] = { NULL };
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
  g_clear_pointer (&call->import, wb_fleet_import_free);
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
  return wb_fleet_kind_id_member (kind);
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

static WbFleetUpdate *
parse_update (WbFleetKind     kind,
              const char     *id,
              GBytes         *body_bytes,
              GError        **error)
{
  g_autoptr(WbJsonReader) body = wb_json_reader_new_from_bytes (body_bytes, NULL, error);

  if (body == NULL)
    return NULL;
  return wb_fleet_update_from_rest (kind, id, body, error);
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

/* ---- imports ------------------------------------------------------------------- */

typedef struct
{
  WbFleetKind          kind;
  WbFleetImportFormat  format;
  GBytes              *body;
} ImportBody;

static void
import_body_free (gpointer data)
{
  ImportBody *body = data;

  g_bytes_unref (body->body);
  g_free (body);
}

static void
respond_import_failure (WbHttpRequest *request,
                        const GError  *error)
{
  if (g_error_matches (error, WB_FLEET_ERROR, WB_FLEET_ERROR_TOO_MANY))
    wb_api_respond_error (request, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "too_many_rows", NULL, error->message, 0);
  else if (g_error_matches (error, WB_FLEET_ERROR, WB_FLEET_ERROR_INVALID))
    wb_api_respond_error (request, SOUP_STATUS_BAD_REQUEST, "invalid_body", NULL, error->message, 0);
  else
    respond_failure (request, error);
}

static void
on_imported (GObject      *source,
             GAsyncResult *result,
             gpointer      data)
{
  g_autoptr(Call) call = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) outcomes = wb_fleet_store_import_finish (WB_FLEET_STORE (source), result, &error);
  g_autofree char *report = NULL;

  if (outcomes == NULL)
    {
      respond_failure (call->request, error);
      return;
    }
  report = wb_fleet_import_report (call->import, (const WbFleetImportOutcome *) (gpointer) outcomes->data);
  wb_api_respond_json_text (call->request, SOUP_STATUS_OK, report);
}

/* Reading 100 000 rows takes a while: not on the main loop. */
static void
parse_in_thread (GTask        *task,
                 gpointer      source,
                 gpointer      data,
                 GCancellable *cancellable)
{
  ImportBody *body = data;
  GError *error = NULL;
  WbFleetImport *import = wb_fleet_import_parse (body->kind, body->format, body->body, WB_FLEET_IMPORT_MAX_ROWS,
                                                 &error);

  if (import == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, import, (GDestroyNotify) wb_fleet_import_free);
}

static void
on_parsed (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  g_autoptr(Call) call = data;
  g_autoptr(GError) error = NULL;
  WbFleetApi *api = call->api;
  g_autofree char *report = NULL;

  call->import = g_task_propagate_pointer (G_TASK (result), &error);
  if (call->import == NULL)
    respond_import_failure (call->request, error);
  else if (call->import->updates->len == 0)
    {
      report = wb_fleet_import_report (call->import, NULL);
      wb_api_respond_json_text (call->request, SOUP_STATUS_OK, report);
    }
  else
    {
      WbFleetImport *import = call->import;

      wb_fleet_store_import_async (api->store, import->kind, import->updates, NULL, on_imported,
                                   g_steal_pointer (&call));
    }
}

/* application/x-ndjson or text/csv; parameters (charset) aside. */
static gboolean
import_format (WbHttpRequest       *request,
               WbFleetImportFormat *out_format)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (wb_http_request_get_message (request));
  const char *type = soup_message_headers_get_content_type (headers, NULL);

  if (type != NULL && g_ascii_strcasecmp (type, "application/x-ndjson") == 0)
    *out_format = WB_FLEET_IMPORT_NDJSON;
  else if (type != NULL && g_ascii_strcasecmp (type, "text/csv") == 0)
    *out_format = WB_FLEET_IMPORT_CSV;
  else
    return FALSE;
  return TRUE;
}

static void
handle_import (WbHttpRequest *request,
               gpointer       user_data)
{
  Resource *resource = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GTask) task = NULL;
  ImportBody *body;
  WbFleetImportFormat format;

  if (!check_query (request, no_parameters, &error))
    {
      respond_failure (request, error);
      return;
    }
  if (!import_format (request, &format))
    {
      wb_api_respond_error (request, SOUP_STATUS_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", NULL,
                            "Send application/x-ndjson (one object a line) or text/csv (with a header row)", 0);
      return;
    }
  body = g_new0 (ImportBody, 1);
  body->kind = resource->kind;
  body->format = format;
  body->body = wb_http_request_get_body (request);
  task = g_task_new (NULL, NULL, on_parsed, call_new (resource->api, request));
  g_task_set_task_data (task, body, import_body_free);
  g_task_run_in_thread (task, parse_in_thread);
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
} RouteSpec;

/* data/openapi/fleet.json describes each route by its method and path. */
void
wb_fleet_api_register (WbFleetApi   *self,
                       WbHttpServer *http)
{
  const RouteSpec routes[] = {
    { "GET", "/companies", WB_ACCESS_ROLE_VIEWER, handle_list, WB_FLEET_KIND_COMPANY },
    { "GET", "/companies/{id}", WB_ACCESS_ROLE_VIEWER, handle_get, WB_FLEET_KIND_COMPANY },
    { "PUT", "/companies/{id}", WB_ACCESS_ROLE_ADMIN, handle_put, WB_FLEET_KIND_COMPANY },
    { "POST", "/companies:import", WB_ACCESS_ROLE_ADMIN, handle_import, WB_FLEET_KIND_COMPANY },
    { "GET", "/drivers", WB_ACCESS_ROLE_VIEWER, handle_list, WB_FLEET_KIND_DRIVER },
    { "GET", "/drivers/{id}", WB_ACCESS_ROLE_VIEWER, handle_get, WB_FLEET_KIND_DRIVER },
    { "PUT", "/drivers/{id}", WB_ACCESS_ROLE_ADMIN, handle_put, WB_FLEET_KIND_DRIVER },
    { "POST", "/drivers:import", WB_ACCESS_ROLE_ADMIN, handle_import, WB_FLEET_KIND_DRIVER },
    { "GET", "/vehicles", WB_ACCESS_ROLE_VIEWER, handle_list, WB_FLEET_KIND_VEHICLE },
    { "GET", "/vehicles/{id}", WB_ACCESS_ROLE_VIEWER, handle_get, WB_FLEET_KIND_VEHICLE },
    { "PUT", "/vehicles/{id}", WB_ACCESS_ROLE_ADMIN, handle_put, WB_FLEET_KIND_VEHICLE },
    { "POST", "/vehicles:import", WB_ACCESS_ROLE_ADMIN, handle_import, WB_FLEET_KIND_VEHICLE },
    { "GET", "/vehicles/{id}/track", WB_ACCESS_ROLE_VIEWER, handle_track, WB_FLEET_KIND_VEHICLE },
    /* Devices are admin-only, reads included: they say which trackers may
     * feed the fleet. */
    { "GET", "/devices/{deviceId}", WB_ACCESS_ROLE_ADMIN, handle_get, WB_FLEET_KIND_DEVICE },
    { "PUT", "/devices/{deviceId}", WB_ACCESS_ROLE_ADMIN, handle_put, WB_FLEET_KIND_DEVICE },
    { "POST", "/devices:import", WB_ACCESS_ROLE_ADMIN, handle_import, WB_FLEET_KIND_DEVICE },
  };

  g_return_if_fail (self != NULL);
  g_return_if_fail (WB_IS_HTTP_SERVER (http));

  for (guint i = 0; i < G_N_ELEMENTS (routes); i++)
    {
      wb_http_server_add_route (http, routes[i].method, routes[i].pattern, routes[i].role, routes[i].handler,
                                &self->resources[routes[i].kind]);
      if (routes[i].handler == handle_import)
        wb_http_server_set_body_limit (http, routes[i].method, routes[i].pattern, WB_FLEET_IMPORT_MAX_BODY_SIZE);
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
