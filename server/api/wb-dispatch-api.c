// SPDX-License-Identifier: GPL-3.0-or-later
/* The dispatch REST resources. Each body is read through the guarded JSON
 * reader, checked member by member (a problem answers 400 naming it), and
 * handed to the store as normalized JSON text; what only the database
 * knows (references, states, races) comes back as a WB_DISPATCH_ERROR. */

#include "config.h"

#include <math.h>
#include <string.h>

#include "wb-api-errors.h"
#include "wb-dispatch-api.h"
#include "wb-fleet-import.h"
#include "wb-json-reader.h"
#include "wb-json-writer.h"
#include "wb-phone.h"
#include "wb-time.h"

#define ID_MAX_LENGTH    128
#define TEXT_MAX_LENGTH  256
#define MAX_STOPS        100
#define MAX_BATCH_SIZE   1000
#define MAX_LIST_ITEMS   1000

struct _WbDispatchApi
{
  WbDispatchStore *store;
  char            *phone_region;
};

typedef struct
{
  WbDispatchApi     *api;      /* a reference: answers may outlive wb_dispatch_api_free() */
  WbHttpRequest     *request;
  SoupServerMessage *message;  /* keeps the request alive while paused */
  guint              success;  /* the status of a success; 0 = 200, or 201 when created */
} Call;

static const char * const pickup_point_members[] = {
  "name", "address", "lat", "lon", "openingHours", "capacity", NULL
};
static const char * const address_members[] = { "country", "city", "line1", "postalCode", NULL };
static const char * const pickup_point_import_members[] = {
  "id", "name", "address", "lat", "lon", "openingHours", "capacity", NULL
};
static const char * const batch_members[] = { "shipmentIds", "pickupPointId", "address", "lat", "lon", NULL };
static const char * const trip_members[] = { "companyId", "vehicleId", "driverId", "plannedStart", "stops", NULL };
static const char * const stop_members[] = { "pickupPointId", "address", "lat", "lon", "batchIds", NULL };
static const char * const patch_members[] = { "plannedStart", "vehicleId", "driverId", NULL };
static const char * const cancel_members[] = { "reason", NULL };
static const char * const reassign_members[] = { "vehicleId", "driverId", "reason", NULL };
static const char * const handover_members[] = { "shipmentId", "phone", NULL };
static const char * const trip_statuses[] = { "PLANNED", "IN_TRANSIT", "COMPLETED", "CANCELLED", NULL };
static const char * const batch_statuses[] = { "OPEN", "CLOSED", NULL };

static const char * const page_parameters[] = { "limit", "cursor", NULL };
static const char * const batch_parameters[] = { "limit", "cursor", "status", "pickupPointId", NULL };
static const char * const trip_parameters[] = {
  "limit", "cursor", "status", "companyId", "vehicleId", "driverId", "from", "to", NULL
};

static void
api_clear (gpointer data)
{
  WbDispatchApi *self = data;

  g_clear_object (&self->store);
  g_clear_pointer (&self->phone_region, g_free);
}

static Call *
call_new (WbDispatchApi *api,
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

/* ---- answers ----------------------------------------------------------------- */

static void
set_etag (WbHttpRequest *request,
          gint64         version)
{
  g_autofree char *etag = g_strdup_printf ("\"%" G_GINT64_FORMAT "\"", version);

  wb_http_request_set_header (request, "ETag", etag);
}

static void
respond_failure (WbHttpRequest *request,
                 const GError  *error)
{
  const char *field = error->domain == WB_DISPATCH_ERROR ? wb_dispatch_error_get_field (error) : NULL;

  if (error->domain != WB_DISPATCH_ERROR)
    {
      wb_api_respond_common_failure (request, error, "Dispatch");
      return;
    }
  switch ((WbDispatchError) error->code)
    {
    case WB_DISPATCH_ERROR_NOT_FOUND:
      wb_api_respond_error (request, SOUP_STATUS_NOT_FOUND, "not_found", NULL, error->message, 0);
      break;
    case WB_DISPATCH_ERROR_INVALID:
      wb_api_respond_error (request, SOUP_STATUS_BAD_REQUEST, "invalid_field", field, error->message, 0);
      break;
    case WB_DISPATCH_ERROR_VERSION_MISMATCH:
      set_etag (request, wb_dispatch_error_get_current_version (error));
      wb_api_respond_error (request, SOUP_STATUS_PRECONDITION_FAILED, "version_mismatch", NULL, error->message,
                            wb_dispatch_error_get_current_version (error));
      break;
    case WB_DISPATCH_ERROR_BUSY:
      wb_api_respond_error (request, SOUP_STATUS_CONFLICT, "busy", field, error->message, 0);
      break;
    case WB_DISPATCH_ERROR_MISMATCH:
      wb_api_respond_error (request, SOUP_STATUS_CONFLICT, "recipient_mismatch", field, error->message, 0);
      break;
    case WB_DISPATCH_ERROR_CONFLICT:
    default:
      wb_api_respond_error (request, SOUP_STATUS_CONFLICT, "conflict", field, error->message, 0);
      break;
    }
}

static void
on_done (GObject      *source,
         GAsyncResult *result,
         gpointer      data)
{
  g_autoptr(Call) call = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(WbDispatchResult) done = wb_dispatch_store_run_finish (WB_DISPATCH_STORE (source), result, &error);

  if (done == NULL)
    {
      respond_failure (call->request, error);
      return;
    }
  if (done->version > 0)
    set_etag (call->request, done->version);
  if (done->json == NULL)
    wb_http_request_respond (call->request, SOUP_STATUS_NO_CONTENT, NULL, NULL);
  else
    wb_api_respond_json_text (call->request, call->success ? call->success
                                             : done->created ? SOUP_STATUS_CREATED : SOUP_STATUS_OK, done->json);
}

static void
run (WbDispatchApi     *api,
     WbHttpRequest     *request,
     WbDispatchRequest *store_request)
{
  Call *call = call_new (api, request);

  wb_dispatch_store_run_async (api->store, store_request, NULL, on_done, call);
}

/* ---- ids and parameters ---------------------------------------------------------- */

static gboolean
id_is_valid (const char *id)
{
  gsize length = id != NULL ? strlen (id) : 0;

  if (length == 0 || length > ID_MAX_LENGTH)
    return FALSE;
  for (const char *p = id; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '.' && *p != '_' && *p != ':' && *p != '-')
      return FALSE;
  return TRUE;
}

/* An id in the path: outside the alphabet it names nothing stored. */
static const char *
path_id (WbHttpRequest *request,
         gboolean       uuid,
         const char    *what)
{
  const char *id = wb_http_request_get_param (request, "id");
  g_autofree char *message = NULL;

  if (uuid ? g_uuid_string_is_valid (id) : id_is_valid (id))
    return id;
  message = g_strdup_printf ("No such %s", what);
  wb_api_respond_error (request, SOUP_STATUS_NOT_FOUND, "not_found", NULL, message, 0);
  return NULL;
}

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
        return wb_json_set_field_error (error, name, "is not a known query parameter"), FALSE;
      if (!g_hash_table_add (seen, g_steal_pointer (&owned_name)))
        return wb_json_set_field_error (error, name, "is given more than once"), FALSE;
    }
  if (local_error != NULL)
    return wb_json_set_field_error (error, "query", "is not a valid URL query"), FALSE;
  return TRUE;
}

static gboolean
read_page (WbHttpRequest      *request,
           WbDispatchRequest  *out,
           gboolean            keyset_time,
           GError            **error)
{
  const char *limit = wb_http_request_get_query (request, "limit");
  const char *cursor = wb_http_request_get_query (request, "cursor");
  guint64 value = 0;

  if (limit != NULL && !g_ascii_string_to_unsigned (limit, 10, 1, WB_DISPATCH_MAX_PAGE_SIZE, &value, NULL))
    return wb_json_set_field_error (error, "limit", "must be an integer from 1 to %d", WB_DISPATCH_MAX_PAGE_SIZE), FALSE;
  out->limit = value;
  if (cursor == NULL)
    return TRUE;
  /* A time-ordered cursor is "<µs>_<id>"; an id-ordered one is the id. */
  if (keyset_time)
    {
      const char *sep = strchr (cursor, '_');
      g_autofree char *us = sep ? g_strndup (cursor, sep - cursor) : NULL;

      if (sep == NULL || !g_ascii_string_to_signed (us, 10, 0, G_MAXINT64, NULL, NULL) || !id_is_valid (sep + 1))
        return wb_json_set_field_error (error, "cursor", "is malformed; pass nextCursor from the previous page"), FALSE;
    }
  else if (!id_is_valid (cursor))
    return wb_json_set_field_error (error, "cursor", "is malformed; pass nextCursor from the previous page"), FALSE;
  out->cursor = g_strdup (cursor);
  return TRUE;
}

static gboolean
read_id_parameter (WbHttpRequest  *request,
                   const char     *name,
                   char          **out,
                   GError        **error)
{
  const char *value = wb_http_request_get_query (request, name);

  if (value == NULL)
    return TRUE;
  if (!id_is_valid (value))
    return wb_json_set_field_error (error, name, "must be 1 to 128 characters of letters, digits and . _ : -"), FALSE;
  *out = g_strdup (value);
  return TRUE;
}

static gboolean
read_enum_parameter (WbHttpRequest       *request,
                     const char          *name,
                     const char * const  *allowed,
                     char               **out,
                     GError             **error)
{
  const char *value = wb_http_request_get_query (request, name);
  g_autofree char *list = NULL;

  if (value == NULL)
    return TRUE;
  if (!g_strv_contains (allowed, value))
    {
      list = g_strjoinv (", ", (char **) allowed);
      return wb_json_set_field_error (error, name, "must be one of %s", list), FALSE;
    }
  *out = g_strdup (value);
  return TRUE;
}

static gboolean
read_time_parameter (WbHttpRequest  *request,
                     const char     *name,
                     gint64         *out_us,
                     GError        **error)
{
  const char *text = wb_http_request_get_query (request, name);
  gboolean guessed = FALSE;

  if (text == NULL)
    return TRUE;
  if (!wb_time_parse (text, NULL, out_us, &guessed, NULL) || guessed)
    return wb_json_set_field_error (error, name, "must be an RFC 3339 time with a zone, e.g. 2026-11-20T10:00:00Z"), FALSE;
  return TRUE;
}

/* ---- body members ------------------------------------------------------------------ */

static gboolean
read_id (WbJsonReader  *body,
         const char    *member,
         gboolean       required,
         char         **out,
         GError       **error)
{
  if (!wb_json_reader_get_string (body, member, required, out, error))
    return FALSE;
  if (*out != NULL && !id_is_valid (*out))
    return wb_json_reader_fail (body, member, error, "must be 1 to 128 characters of letters, digits and . _ : -");
  return TRUE;
}

static gboolean
read_text (WbJsonReader  *body,
           const char    *member,
           gboolean       required,
           char         **out,
           GError       **error)
{
  if (!wb_json_reader_get_string (body, member, required, out, error))
    return FALSE;
  if (*out != NULL && g_utf8_strlen (*out, -1) > TEXT_MAX_LENGTH)
    return wb_json_reader_fail (body, member, error, "must be at most 256 characters long");
  return TRUE;
}

static void
write_member (GString    *out,
              const char *name,
              const char *value)
{
  if (value == NULL)
    return;
  g_string_append_printf (out, "%s\"%s\":", out->len > 1 ? "," : "", name);
  wb_json_write_string (out, value);
}

static void
write_number (GString    *out,
              const char *name,
              gboolean    present,
              double      value)
{
  if (!present)
    return;
  g_string_append_printf (out, "%s\"%s\":", out->len > 1 ? "," : "", name);
  wb_json_write_double (out, value);
}

/* lat and lon: both or neither (unless @required). */
static gboolean
read_coordinates (WbJsonReader  *body,
                  gboolean       required,
                  GString       *out,
                  GError       **error)
{
  gboolean has_lat = FALSE, has_lon = FALSE;
  double lat = 0, lon = 0;

  if (!wb_json_reader_get_double (body, "lat", -90, 90, &has_lat, &lat, error)
      || !wb_json_reader_get_double (body, "lon", -180, 180, &has_lon, &lon, error))
    return FALSE;
  if ((required || has_lon) && !has_lat)
    return wb_json_reader_fail (body, "lat", error, "is required");
  if ((required || has_lat) && !has_lon)
    return wb_json_reader_fail (body, "lon", error, "is required");
  write_number (out, "lat", has_lat, lat);
  write_number (out, "lon", has_lon, lon);
  return TRUE;
}

/* A JSON array of distinct ids, 1..@max long, written as "member":[…]. */
static gboolean
read_id_list (WbJsonReader  *body,
              const char    *member,
              gboolean       uuids,
              guint          min,
              guint          max,
              GHashTable    *seen,
              GString       *out,
              GError       **error)
{
  JsonArray *array = NULL;
  guint length;

  if (!wb_json_reader_peek_array (body, member, min > 0, &array, error))
    return FALSE;
  length = array != NULL ? json_array_get_length (array) : 0;
  if (length < min || length > max)
    return wb_json_reader_fail (body, member, error, "must hold %u to %u ids", min, max);
  g_string_append_printf (out, "%s\"%s\":[", out->len > 1 ? "," : "", member);
  for (guint i = 0; i < length; i++)
    {
      JsonNode *node = json_array_get_element (array, i);
      const char *id = JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING
                       ? json_node_get_string (node) : NULL;
      g_autofree char *path = wb_json_reader_element_path (body, member, i);
      g_autofree char *lower = id ? g_ascii_strdown (id, -1) : NULL;

      if (id == NULL || (uuids ? !g_uuid_string_is_valid (id) : !id_is_valid (id)))
        return wb_json_set_field_error (error, path, uuids ? "must be a UUID" : "must be an id"), FALSE;
      if (!g_hash_table_add (seen, g_strdup (lower)))
        return wb_json_set_field_error (error, path, "is given more than once"), FALSE;
      if (i > 0)
        g_string_append_c (out, ',');
      wb_json_write_string (out, lower);
    }
  g_string_append_c (out, ']');
  return TRUE;
}

static char *
finish_object (GString *out)
{
  g_string_append_c (out, '}');
  return g_string_free (out, FALSE);
}

/* A pickup point's members, checked, as the normalized JSON text the
 * store takes (@out holds "{" and maybe members already). */
static char *
read_pickup_point (WbJsonReader        *body,
                   const char * const  *members,
                   GString             *out,
                   GError             **error)
{
  g_autoptr(WbJsonReader) address = NULL;
  g_autofree char *name = NULL, *hours = NULL, *country = NULL, *city = NULL, *line1 = NULL, *postal = NULL;
  gboolean has_capacity = FALSE;
  gint64 capacity = 0;

  if (!wb_json_reader_reject_unknown (body, members, error)
      || !read_text (body, "name", TRUE, &name, error)
      || !read_text (body, "openingHours", FALSE, &hours, error)
      || !wb_json_reader_get_int64 (body, "capacity", 1, 1000000, &has_capacity, &capacity, error))
    return NULL;
  if (wb_json_reader_has_member (body, "address"))
    {
      if ((address = wb_json_reader_get_object_member (body, "address", TRUE, error)) == NULL
          || !wb_json_reader_reject_unknown (address, address_members, error)
          || !read_text (address, "country", FALSE, &country, error)
          || !read_text (address, "city", FALSE, &city, error)
          || !read_text (address, "line1", FALSE, &line1, error)
          || !read_text (address, "postalCode", FALSE, &postal, error))
        return NULL;
      if (country != NULL && !(strlen (country) == 2 && g_ascii_isupper (country[0]) && g_ascii_isupper (country[1])))
        return wb_json_reader_fail (address, "country", error, "must be an ISO 3166-1 alpha-2 code"), NULL;
    }
  write_member (out, "name", name);
  write_member (out, "country", country);
  write_member (out, "city", city);
  write_member (out, "line1", line1);
  write_member (out, "postalCode", postal);
  write_member (out, "openingHours", hours);
  write_number (out, "capacity", has_capacity, capacity);
  if (!read_coordinates (body, TRUE, out, error))
    return NULL;
  return g_strdup (out->str);
}

static char *
parse_pickup_point (GBytes  *bytes,
                    GError **error)
{
  g_autoptr(WbJsonReader) body = wb_json_reader_new_from_bytes (bytes, NULL, error);
  g_autoptr(GString) out = g_string_new ("{");
  g_autofree char *members = NULL;

  if (body == NULL || (members = read_pickup_point (body, pickup_point_members, out, error)) == NULL)
    return NULL;
  return finish_object (g_steal_pointer (&out));
}

/* ---- pickup point imports ---------------------------------------------------------- */

/* One row of a pickup-point import: the PUT body with its id, as the
 * members of the JSON object the store takes. */
typedef struct
{
  char *id;
  char *members;   /* "\"name\":…,…", without braces */
} PickupPointRow;

static void
pickup_point_row_free (gpointer data)
{
  PickupPointRow *row = data;

  g_free (row->id);
  g_free (row->members);
  g_free (row);
}

static gpointer
read_pickup_point_row (const WbImportRowType  *type,
                       WbJsonReader           *body,
                       GError                **error)
{
  g_autoptr(GString) out = g_string_new ("{");
  g_autofree char *id = NULL;
  g_autofree char *text = NULL;
  PickupPointRow *row;

  if (!wb_json_reader_get_string (body, "id", TRUE, &id, error))
    return NULL;
  if (!id_is_valid (id))
    return wb_json_reader_fail (body, "id", error, "must be 1 to %d characters of letters, digits and . _ : -",
                                ID_MAX_LENGTH), NULL;
  if ((text = read_pickup_point (body, pickup_point_import_members, out, error)) == NULL)
    return NULL;
  row = g_new0 (PickupPointRow, 1);
  row->id = g_steal_pointer (&id);
  row->members = g_strdup (text + 1);
  return row;
}

static const char *
pickup_point_row_id (gconstpointer row)
{
  return ((const PickupPointRow *) row)->id;
}

static const char * const pickup_point_columns[] = {
  "id", "name", "address.country", "address.city", "address.line1", "address.postalCode", "lat", "lon",
  "openingHours", "capacity", NULL
};
static const char * const pickup_point_number_columns[] = { "lat", "lon", "capacity", NULL };

static const WbImportRowType pickup_point_rows = {
  "id", pickup_point_columns, pickup_point_number_columns, NULL, read_pickup_point_row, pickup_point_row_id,
  pickup_point_row_free, 0,
};

typedef struct
{
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

typedef struct
{
  Call          *call;
  WbFleetImport *import;
} ImportCall;

static void
import_call_free (ImportCall *import_call)
{
  g_clear_pointer (&import_call->call, call_free);
  g_clear_pointer (&import_call->import, wb_fleet_import_free);
  g_free (import_call);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ImportCall, import_call_free)

/* The rows the store wrote, a line each: "c|u <version> <id>"; the others
 * were unchanged. */
static gboolean
read_outcomes (const char           *text,
               const WbFleetImport  *import,
               WbFleetImportOutcome *outcomes)
{
  g_autoptr(GHashTable) ords = g_hash_table_new (g_str_hash, g_str_equal);
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

  for (guint i = 0; i < import->updates->len; i++)
    {
      const PickupPointRow *row = g_ptr_array_index (import->updates, i);

      g_hash_table_insert (ords, row->id, GUINT_TO_POINTER (i + 1));
      outcomes[i].outcome = WB_FLEET_IMPORTED_UNCHANGED;
    }
  for (guint i = 0; lines[i] != NULL && *lines[i] != '\0'; i++)
    {
      char *end = NULL;
      gint64 version = g_ascii_strtoll (lines[i] + 2, &end, 10);
      guint ord = end && *end == ' ' ? GPOINTER_TO_UINT (g_hash_table_lookup (ords, end + 1)) : 0;

      if (ord == 0 || (lines[i][0] != 'c' && lines[i][0] != 'u'))
        return FALSE;
      outcomes[ord - 1].outcome = lines[i][0] == 'c' ? WB_FLEET_IMPORTED_CREATED : WB_FLEET_IMPORTED_UPDATED;
      outcomes[ord - 1].version = version;
    }
  return TRUE;
}

static void
on_pickup_points_imported (GObject      *source,
                           GAsyncResult *result,
                           gpointer      data)
{
  g_autoptr(ImportCall) import_call = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(WbDispatchResult) done = wb_dispatch_store_run_finish (WB_DISPATCH_STORE (source), result, &error);
  WbFleetImport *import = import_call->import;
  g_autofree WbFleetImportOutcome *outcomes = g_new0 (WbFleetImportOutcome, import->updates->len);
  g_autofree char *report = NULL;

  if (done == NULL)
    {
      respond_failure (import_call->call->request, error);
      return;
    }
  if (!read_outcomes (done->json, import, outcomes))
    {
      g_set_error (&error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "the store's outcomes are not the rows'");
      wb_api_respond_common_failure (import_call->call->request, error, "Dispatch");
      return;
    }
  report = wb_fleet_import_report (import, outcomes);
  wb_api_respond_json_text (import_call->call->request, SOUP_STATUS_OK, report);
}

/* The valid rows as one JSON array. */
static char *
import_rows_json (const WbFleetImport *import)
{
  GString *out = g_string_sized_new (64 + import->updates->len * 200);

  g_string_append_c (out, '[');
  for (guint i = 0; i < import->updates->len; i++)
    {
      const PickupPointRow *row = g_ptr_array_index (import->updates, i);

      g_string_append (out, i > 0 ? ",{\"id\":" : "{\"id\":");
      wb_json_write_string (out, row->id);
      g_string_append_printf (out, ",%s}", row->members);
    }
  g_string_append_c (out, ']');
  return g_string_free (out, FALSE);
}

static void
parse_import_in_thread (GTask        *task,
                        gpointer      source,
                        gpointer      data,
                        GCancellable *cancellable)
{
  ImportBody *body = data;
  GError *error = NULL;
  WbFleetImport *import = wb_fleet_import_parse_rows (&pickup_point_rows, body->format, body->body,
                                                      WB_FLEET_IMPORT_MAX_ROWS, &error);

  if (import == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, import, (GDestroyNotify) wb_fleet_import_free);
}

static void
on_import_parsed (GObject      *source,
                  GAsyncResult *result,
                  gpointer      data)
{
  g_autoptr(ImportCall) import_call = g_new0 (ImportCall, 1);
  g_autoptr(GError) error = NULL;
  g_autofree char *report = NULL;
  WbDispatchStore *store;
  WbDispatchRequest *r;

  import_call->call = data;
  import_call->import = g_task_propagate_pointer (G_TASK (result), &error);
  if (import_call->import == NULL)
    {
      if (g_error_matches (error, WB_FLEET_ERROR, WB_FLEET_ERROR_TOO_MANY))
        wb_api_respond_error (import_call->call->request, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "too_many_rows",
                              NULL, error->message, 0);
      else if (g_error_matches (error, WB_FLEET_ERROR, WB_FLEET_ERROR_INVALID))
        wb_api_respond_error (import_call->call->request, SOUP_STATUS_BAD_REQUEST, "invalid_body", NULL,
                              error->message, 0);
      else
        wb_api_respond_common_failure (import_call->call->request, error, "Dispatch");
      return;
    }
  if (import_call->import->updates->len == 0)
    {
      report = wb_fleet_import_report (import_call->import, NULL);
      wb_api_respond_json_text (import_call->call->request, SOUP_STATUS_OK, report);
      return;
    }
  store = import_call->call->api->store;
  r = wb_dispatch_request_new (WB_DISPATCH_OP_IMPORT_PICKUP_POINTS);
  r->body = import_rows_json (import_call->import);
  wb_dispatch_store_run_async (store, r, NULL, on_pickup_points_imported, g_steal_pointer (&import_call));
}

/* POST /pickup-points:import: the fleet's import formats and answer
 * (docs/fleet.md, "Bulk import"), each row a PUT body with its id. */
static void
handle_import_pickup_points (WbHttpRequest *request,
                             gpointer       user_data)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (wb_http_request_get_message (request));
  const char *type = soup_message_headers_get_content_type (headers, NULL);
  g_autoptr(GTask) task = NULL;
  ImportBody *body;

  if (g_uri_get_query (soup_server_message_get_uri (wb_http_request_get_message (request))) != NULL)
    {
      wb_api_respond_error (request, SOUP_STATUS_BAD_REQUEST, "invalid_field", "query", "query: takes no parameters",
                            0);
      return;
    }
  body = g_new0 (ImportBody, 1);
  if (type != NULL && g_ascii_strcasecmp (type, "application/x-ndjson") == 0)
    body->format = WB_FLEET_IMPORT_NDJSON;
  else if (type != NULL && g_ascii_strcasecmp (type, "text/csv") == 0)
    body->format = WB_FLEET_IMPORT_CSV;
  else
    {
      g_free (body);
      wb_api_respond_error (request, SOUP_STATUS_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", NULL,
                            "Send application/x-ndjson (one object a line) or text/csv (with a header row)", 0);
      return;
    }
  body->body = wb_http_request_get_body (request);
  task = g_task_new (NULL, NULL, on_import_parsed, call_new (user_data, request));
  g_task_set_task_data (task, body, import_body_free);
  g_task_run_in_thread (task, parse_import_in_thread);
}

/* A destination: a pickup point, or an address with coordinates. */
static gboolean
read_destination (WbJsonReader  *body,
                  GString       *out,
                  GError       **error)
{
  g_autofree char *point = NULL, *address = NULL;

  if (!read_id (body, "pickupPointId", FALSE, &point, error) || !read_text (body, "address", FALSE, &address, error))
    return FALSE;
  if ((point == NULL) == (address == NULL))
    return wb_json_reader_fail (body, "pickupPointId", error, "give either pickupPointId or address");
  if (point != NULL && (wb_json_reader_has_member (body, "lat") || wb_json_reader_has_member (body, "lon")))
    return wb_json_reader_fail (body, "lat", error, "a pickup point has its own coordinates");
  write_member (out, "pickupPointId", point);
  write_member (out, "address", address);
  return read_coordinates (body, address != NULL, out, error);
}

static char *
parse_batch (GBytes  *bytes,
             GError **error)
{
  g_autoptr(WbJsonReader) body = wb_json_reader_new_from_bytes (bytes, NULL, error);
  g_autoptr(GString) out = g_string_new ("{");
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  if (body == NULL || !wb_json_reader_reject_unknown (body, batch_members, error)
      || !read_destination (body, out, error)
      || !read_id_list (body, "shipmentIds", TRUE, 1, MAX_BATCH_SIZE, seen, out, error))
    return NULL;
  return finish_object (g_steal_pointer (&out));
}

static gboolean
read_planned_start (WbJsonReader  *body,
                    gboolean       required,
                    GString       *out,
                    GError       **error)
{
  g_autofree char *text = NULL;
  g_autofree char *normal = NULL;
  gboolean guessed = FALSE;
  gint64 us = 0;

  if (!wb_json_reader_get_string (body, "plannedStart", required, &text, error))
    return FALSE;
  if (text == NULL)
    return TRUE;
  if (!wb_time_parse (text, NULL, &us, &guessed, NULL) || guessed)
    return wb_json_reader_fail (body, "plannedStart", error, "must be an RFC 3339 time with a zone");
  normal = wb_time_format (us);
  write_member (out, "plannedStart", normal);
  return TRUE;
}

static gboolean
read_stops (WbJsonReader  *body,
            GString       *out,
            GError       **error)
{
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  guint n_stops = 0;

  if (!wb_json_reader_get_array_length (body, "stops", &n_stops, error))
    return FALSE;
  if (n_stops == 0 || n_stops > MAX_STOPS)
    return wb_json_reader_fail (body, "stops", error, "must hold 1 to %d stops", MAX_STOPS);
  g_string_append (out, ",\"stops\":[");
  for (guint i = 0; i < n_stops; i++)
    {
      g_autoptr(WbJsonReader) stop = wb_json_reader_get_array_element (body, "stops", i, error);
      g_autoptr(GString) one = g_string_new ("{");

      if (stop == NULL || !wb_json_reader_reject_unknown (stop, stop_members, error)
          || !read_destination (stop, one, error)
          || !read_id_list (stop, "batchIds", TRUE, 0, MAX_LIST_ITEMS, seen, one, error))
        return FALSE;
      g_string_append_printf (out, "%s%s}", i > 0 ? "," : "", one->str);
    }
  g_string_append_c (out, ']');
  return TRUE;
}

static char *
parse_trip (GBytes  *bytes,
            GError **error)
{
  g_autoptr(WbJsonReader) body = wb_json_reader_new_from_bytes (bytes, NULL, error);
  g_autoptr(GString) out = g_string_new ("{");
  g_autofree char *company = NULL, *vehicle = NULL, *driver = NULL;

  if (body == NULL || !wb_json_reader_reject_unknown (body, trip_members, error)
      || !read_id (body, "companyId", TRUE, &company, error)
      || !read_id (body, "vehicleId", TRUE, &vehicle, error)
      || !read_id (body, "driverId", TRUE, &driver, error))
    return NULL;
  write_member (out, "companyId", company);
  write_member (out, "vehicleId", vehicle);
  write_member (out, "driverId", driver);
  if (!read_planned_start (body, TRUE, out, error) || !read_stops (body, out, error))
    return NULL;
  return finish_object (g_steal_pointer (&out));
}

static char *
parse_patch (GBytes  *bytes,
             GError **error)
{
  g_autoptr(WbJsonReader) body = wb_json_reader_new_from_bytes (bytes, NULL, error);
  g_autoptr(GString) out = g_string_new ("{");
  g_autofree char *vehicle = NULL, *driver = NULL;

  if (body == NULL || !wb_json_reader_reject_unknown (body, patch_members, error)
      || !read_id (body, "vehicleId", FALSE, &vehicle, error)
      || !read_id (body, "driverId", FALSE, &driver, error))
    return NULL;
  write_member (out, "vehicleId", vehicle);
  write_member (out, "driverId", driver);
  if (!read_planned_start (body, FALSE, out, error))
    return NULL;
  return finish_object (g_steal_pointer (&out));
}

/* ---- pickup points -------------------------------------------------------------------- */

static void
handle_put_pickup_point (WbHttpRequest *request,
                         gpointer       user_data)
{
  const char *id = path_id (request, FALSE, "pickup point");
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  WbDispatchRequest *r;
  char *body;

  if (id == NULL)
    return;
  bytes = wb_http_request_get_body (request);
  if ((body = parse_pickup_point (bytes, &error)) == NULL)
    {
      respond_failure (request, error);
      return;
    }
  r = wb_dispatch_request_new (WB_DISPATCH_OP_PUT_PICKUP_POINT);
  r->id = g_strdup (id);
  r->body = body;
  run (user_data, request, r);
}

static void
handle_by_id (WbHttpRequest *request,
              WbDispatchApi *api,
              WbDispatchOp   op,
              gboolean       uuid,
              const char    *what)
{
  const char *id = path_id (request, uuid, what);
  WbDispatchRequest *r;

  if (id == NULL)
    return;
  r = wb_dispatch_request_new (op);
  r->id = uuid ? g_ascii_strdown (id, -1) : g_strdup (id);
  run (api, request, r);
}

static void
handle_get_pickup_point (WbHttpRequest *request,
                         gpointer       user_data)
{
  handle_by_id (request, user_data, WB_DISPATCH_OP_GET_PICKUP_POINT, FALSE, "pickup point");
}

static void
handle_delete_pickup_point (WbHttpRequest *request,
                            gpointer       user_data)
{
  handle_by_id (request, user_data, WB_DISPATCH_OP_DELETE_PICKUP_POINT, FALSE, "pickup point");
}

static void
handle_list_pickup_points (WbHttpRequest *request,
                           gpointer       user_data)
{
  g_autoptr(WbDispatchRequest) r = wb_dispatch_request_new (WB_DISPATCH_OP_LIST_PICKUP_POINTS);
  g_autoptr(GError) error = NULL;

  if (!check_query (request, page_parameters, &error) || !read_page (request, r, FALSE, &error))
    {
      respond_failure (request, error);
      return;
    }
  run (user_data, request, g_steal_pointer (&r));
}

static void
handle_handover (WbHttpRequest *request,
                 gpointer       user_data)
{
  WbDispatchApi *api = user_data;
  const char *id = path_id (request, FALSE, "pickup point");
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(WbJsonReader) body = NULL;
  g_autoptr(WbDispatchRequest) r = wb_dispatch_request_new (WB_DISPATCH_OP_HANDOVER);
  g_autoptr(GError) error = NULL;
  g_autofree char *phone = NULL;
  g_autofree char *lower = NULL;

  if (id == NULL)
    return;
  bytes = wb_http_request_get_body (request);
  if ((body = wb_json_reader_new_from_bytes (bytes, NULL, &error)) == NULL
      || !wb_json_reader_reject_unknown (body, handover_members, &error)
      || !wb_json_reader_get_string (body, "shipmentId", TRUE, &r->shipment_id, &error)
      || !read_text (body, "phone", TRUE, &phone, &error))
    {
      respond_failure (request, error);
      return;
    }
  if (!g_uuid_string_is_valid (r->shipment_id))
    {
      wb_api_respond_error (request, SOUP_STATUS_BAD_REQUEST, "invalid_field", "shipmentId", "shipmentId: must be a UUID", 0);
      return;
    }
  if ((r->phone = wb_phone_normalize (phone, api->phone_region, &error)) == NULL)
    {
      g_autofree char *message = g_strdup_printf ("phone: %s", error->message);

      wb_api_respond_error (request, SOUP_STATUS_BAD_REQUEST, "invalid_field", "phone", message, 0);
      return;
    }
  r->id = g_strdup (id);
  lower = g_ascii_strdown (r->shipment_id, -1);
  g_free (r->shipment_id);
  r->shipment_id = g_steal_pointer (&lower);
  run (api, request, g_steal_pointer (&r));
}

/* ---- batches ---------------------------------------------------------------------------- */

static void
handle_create_batch (WbHttpRequest *request,
                     gpointer       user_data)
{
  g_autoptr(GBytes) bytes = wb_http_request_get_body (request);
  g_autoptr(GError) error = NULL;
  WbDispatchRequest *r;
  char *body = parse_batch (bytes, &error);

  if (body == NULL)
    {
      respond_failure (request, error);
      return;
    }
  r = wb_dispatch_request_new (WB_DISPATCH_OP_CREATE_BATCH);
  r->body = body;
  run (user_data, request, r);
}

static void
handle_get_batch (WbHttpRequest *request,
                  gpointer       user_data)
{
  handle_by_id (request, user_data, WB_DISPATCH_OP_GET_BATCH, TRUE, "batch");
}

static void
handle_list_batches (WbHttpRequest *request,
                     gpointer       user_data)
{
  g_autoptr(WbDispatchRequest) r = wb_dispatch_request_new (WB_DISPATCH_OP_LIST_BATCHES);
  g_autoptr(GError) error = NULL;

  if (!check_query (request, batch_parameters, &error) || !read_page (request, r, TRUE, &error)
      || !read_enum_parameter (request, "status", batch_statuses, &r->status, &error)
      || !read_id_parameter (request, "pickupPointId", &r->pickup_point_id, &error))
    {
      respond_failure (request, error);
      return;
    }
  run (user_data, request, g_steal_pointer (&r));
}

/* ---- trips ---------------------------------------------------------------------------------- */

static void
handle_create_trip (WbHttpRequest *request,
                    gpointer       user_data)
{
  g_autoptr(GBytes) bytes = wb_http_request_get_body (request);
  g_autoptr(GError) error = NULL;
  WbDispatchRequest *r;
  char *body = parse_trip (bytes, &error);

  if (body == NULL)
    {
      respond_failure (request, error);
      return;
    }
  r = wb_dispatch_request_new (WB_DISPATCH_OP_CREATE_TRIP);
  r->body = body;
  run (user_data, request, r);
}

static void
handle_get_trip (WbHttpRequest *request,
                 gpointer       user_data)
{
  handle_by_id (request, user_data, WB_DISPATCH_OP_GET_TRIP, FALSE, "trip");
}

static void
handle_list_trips (WbHttpRequest *request,
                   gpointer       user_data)
{
  g_autoptr(WbDispatchRequest) r = wb_dispatch_request_new (WB_DISPATCH_OP_LIST_TRIPS);
  g_autoptr(GError) error = NULL;

  if (!check_query (request, trip_parameters, &error) || !read_page (request, r, TRUE, &error)
      || !read_enum_parameter (request, "status", trip_statuses, &r->status, &error)
      || !read_id_parameter (request, "companyId", &r->company_id, &error)
      || !read_id_parameter (request, "vehicleId", &r->vehicle_id, &error)
      || !read_id_parameter (request, "driverId", &r->driver_id, &error)
      || !read_time_parameter (request, "from", &r->from, &error)
      || !read_time_parameter (request, "to", &r->to, &error))
    {
      respond_failure (request, error);
      return;
    }
  run (user_data, request, g_steal_pointer (&r));
}

/* If-Match is required: strong tags "\"<version>\"" name versions; weak
 * or foreign tags name none, so they fail the precondition (412). */
static gboolean
read_if_match (WbHttpRequest  *request,
               GArray        **out_versions)
{
  g_autoptr(WbEntityTagList) tags = NULL;

  if (!wb_api_read_entity_tags (request, "If-Match", &tags))
    return FALSE;
  if (tags == NULL)
    {
      wb_api_respond_error (request, 428 /* Precondition Required, RFC 6585 */, "precondition_required", "If-Match",
                            "If-Match: \"<version>\" is required; take it from the ETag of a GET", 0);
      return FALSE;
    }
  if (tags->any)
    return TRUE;
  *out_versions = g_array_new (FALSE, FALSE, sizeof (gint64));
  for (guint i = 0; i < tags->tags->len; i++)
    {
      const WbEntityTag *tag = &g_array_index (tags->tags, WbEntityTag, i);
      gint64 version;

      if (!tag->weak && tag->opaque[0] >= '1' && tag->opaque[0] <= '9'
          && g_ascii_string_to_signed (tag->opaque, 10, 1, G_MAXINT64, &version, NULL))
        g_array_append_val (*out_versions, version);
    }
  return TRUE;
}

static void
handle_patch_trip (WbHttpRequest *request,
                   gpointer       user_data)
{
  const char *id = path_id (request, FALSE, "trip");
  g_autoptr(WbDispatchRequest) r = wb_dispatch_request_new (WB_DISPATCH_OP_PATCH_TRIP);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;

  if (id == NULL || !read_if_match (request, &r->expected_versions))
    return;
  bytes = wb_http_request_get_body (request);
  if ((r->body = parse_patch (bytes, &error)) == NULL)
    {
      respond_failure (request, error);
      return;
    }
  r->id = g_strdup (id);
  run (user_data, request, g_steal_pointer (&r));
}

/* start and complete take no body; cancel an optional {"reason"}. */
static void
handle_transition (WbHttpRequest *request,
                   WbDispatchApi *api,
                   WbDispatchOp   op)
{
  const char *id = path_id (request, FALSE, "trip");
  g_autoptr(WbDispatchRequest) r = wb_dispatch_request_new (op);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(WbJsonReader) body = NULL;
  g_autoptr(GError) error = NULL;

  if (id == NULL)
    return;
  bytes = wb_http_request_get_body (request);
  if (op == WB_DISPATCH_OP_CANCEL_TRIP && bytes != NULL && g_bytes_get_size (bytes) > 0
      && ((body = wb_json_reader_new_from_bytes (bytes, NULL, &error)) == NULL
          || !wb_json_reader_reject_unknown (body, cancel_members, &error)
          || !read_text (body, "reason", FALSE, &r->reason, &error)))
    {
      respond_failure (request, error);
      return;
    }
  r->id = g_strdup (id);
  run (api, request, g_steal_pointer (&r));
}

static void
handle_start (WbHttpRequest *request,
              gpointer       user_data)
{
  handle_transition (request, user_data, WB_DISPATCH_OP_START_TRIP);
}

static void
handle_complete (WbHttpRequest *request,
                 gpointer       user_data)
{
  handle_transition (request, user_data, WB_DISPATCH_OP_COMPLETE_TRIP);
}

static void
handle_cancel (WbHttpRequest *request,
               gpointer       user_data)
{
  handle_transition (request, user_data, WB_DISPATCH_OP_CANCEL_TRIP);
}

/* ---- commands ---------------------------------------------------------------------------------- */

static void
on_command_accepted (GObject      *source,
                     GAsyncResult *result,
                     gpointer      data)
{
  g_autoptr(Call) call = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(WbDispatchResult) done = wb_dispatch_store_run_finish (WB_DISPATCH_STORE (source), result, &error);
  g_autofree char *location = NULL;

  if (done == NULL)
    {
      respond_failure (call->request, error);
      return;
    }
  location = g_strdup_printf ("/commands/%s", done->id);
  wb_http_request_set_header (call->request, "Location", location);
  wb_api_respond_json_text (call->request, SOUP_STATUS_ACCEPTED, done->json);
}

static gboolean
read_idempotency_key (WbHttpRequest  *request,
                      char          **out_key)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (wb_http_request_get_message (request));
  const char *key = soup_message_headers_get_one (headers, "Idempotency-Key");

  if (key == NULL)
    {
      *out_key = g_uuid_string_random ();
      return TRUE;
    }
  if (!id_is_valid (key))
    {
      wb_api_respond_error (request, SOUP_STATUS_BAD_REQUEST, "invalid_header", "Idempotency-Key",
                            "Idempotency-Key: must be 1 to 128 characters of letters, digits and . _ : -", 0);
      return FALSE;
    }
  *out_key = g_strdup (key);
  return TRUE;
}

static void
handle_reassign (WbHttpRequest *request,
                 gpointer       user_data)
{
  WbDispatchApi *api = user_data;
  const char *id = path_id (request, FALSE, "trip");
  const char *subject = wb_http_request_get_subject (request);
  g_autoptr(WbDispatchRequest) r = wb_dispatch_request_new (WB_DISPATCH_OP_SUBMIT_REASSIGN);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(WbJsonReader) body = NULL;
  g_autoptr(GError) error = NULL;
  Call *call;

  if (id == NULL || !read_idempotency_key (request, &r->command_id))
    return;
  bytes = wb_http_request_get_body (request);
  if ((body = wb_json_reader_new_from_bytes (bytes, NULL, &error)) == NULL
      || !wb_json_reader_reject_unknown (body, reassign_members, &error)
      || !read_id (body, "vehicleId", FALSE, &r->vehicle_id, &error)
      || !read_id (body, "driverId", FALSE, &r->driver_id, &error)
      || !read_text (body, "reason", TRUE, &r->reason, &error))
    {
      respond_failure (request, error);
      return;
    }
  if (r->vehicle_id == NULL && r->driver_id == NULL)
    {
      wb_api_respond_error (request, SOUP_STATUS_BAD_REQUEST, "invalid_field", "vehicleId",
                            "vehicleId: give vehicleId, driverId or both", 0);
      return;
    }
  r->id = g_strdup (id);
  r->requested_by = g_strdup (subject != NULL ? subject : "anonymous");
  call = call_new (api, request);
  wb_dispatch_store_run_async (api->store, g_steal_pointer (&r), NULL, on_command_accepted, call);
}

static void
handle_get_command (WbHttpRequest *request,
                    gpointer       user_data)
{
  handle_by_id (request, user_data, WB_DISPATCH_OP_GET_COMMAND, FALSE, "command");
}

/* ---- the API ------------------------------------------------------------------------------------- */

WbDispatchApi *
wb_dispatch_api_new (WbDispatchStore *store)
{
  WbDispatchApi *self;

  g_return_val_if_fail (WB_IS_DISPATCH_STORE (store), NULL);

  self = g_atomic_rc_box_new0 (WbDispatchApi);
  self->store = g_object_ref (store);
  return self;
}

void
wb_dispatch_api_set_phone_region (WbDispatchApi *self,
                                  const char    *region)
{
  g_return_if_fail (self != NULL);

  g_free (self->phone_region);
  self->phone_region = g_strdup (region);
}

/* data/openapi/dispatch.json describes each route by its method and path. */
void
wb_dispatch_api_register (WbDispatchApi *self,
                          WbHttpServer  *http)
{
  static const WbHttpRoute routes[] = {
    { "GET", "/pickup-points", WB_ACCESS_ROLE_VIEWER, handle_list_pickup_points },
    { "GET", "/pickup-points/{id}", WB_ACCESS_ROLE_VIEWER, handle_get_pickup_point },
    { "PUT", "/pickup-points/{id}", WB_ACCESS_ROLE_ADMIN, handle_put_pickup_point },
    { "DELETE", "/pickup-points/{id}", WB_ACCESS_ROLE_ADMIN, handle_delete_pickup_point },
    { "POST", "/pickup-points/{id}/handover", WB_ACCESS_ROLE_DISPATCHER, handle_handover },
    { "POST", "/pickup-points:import", WB_ACCESS_ROLE_ADMIN, handle_import_pickup_points },
    { "GET", "/batches", WB_ACCESS_ROLE_VIEWER, handle_list_batches },
    { "POST", "/batches", WB_ACCESS_ROLE_DISPATCHER, handle_create_batch },
    { "GET", "/batches/{id}", WB_ACCESS_ROLE_VIEWER, handle_get_batch },
    { "GET", "/trips", WB_ACCESS_ROLE_VIEWER, handle_list_trips },
    { "POST", "/trips", WB_ACCESS_ROLE_DISPATCHER, handle_create_trip },
    { "GET", "/trips/{id}", WB_ACCESS_ROLE_VIEWER, handle_get_trip },
    { "PATCH", "/trips/{id}", WB_ACCESS_ROLE_DISPATCHER, handle_patch_trip },
    { "POST", "/trips/{id}/start", WB_ACCESS_ROLE_DISPATCHER, handle_start },
    { "POST", "/trips/{id}/complete", WB_ACCESS_ROLE_DISPATCHER, handle_complete },
    { "POST", "/trips/{id}/cancel", WB_ACCESS_ROLE_DISPATCHER, handle_cancel },
    { "POST", "/trips/{id}/reassign", WB_ACCESS_ROLE_DISPATCHER, handle_reassign },
    { "GET", "/commands/{id}", WB_ACCESS_ROLE_VIEWER, handle_get_command },
  };

  g_return_if_fail (self != NULL);
  g_return_if_fail (WB_IS_HTTP_SERVER (http));

  wb_http_server_add_routes (http, routes, G_N_ELEMENTS (routes), self);
  wb_http_server_set_body_limit (http, "POST", "/pickup-points:import", WB_FLEET_IMPORT_MAX_BODY_SIZE);
}

void
wb_dispatch_api_free (WbDispatchApi *self)
{
  if (self != NULL)
    g_atomic_rc_box_release_full (self, api_clear);
}
