// SPDX-License-Identifier: GPL-3.0-or-later
/* The shipments REST resources.
 *
 * Every body and query is validated here, at the edge, into the store's
 * structs; a problem answers 400 with the path of the field at fault. The
 * store runs each call as one transaction on a pool thread, so every handler
 * that reaches it pauses its request and answers from the callback.
 *
 * GET /shipments/{id} is served from an in-process cache (WbShipmentCache).
 * Every write through the store in this process (this API, the tracker
 * role, the SLA job) drops the entry when it commits (WbShipmentStore::
 * changed), and a REST write then publishes the view it committed before
 * it answers: a read after a successful write never sees the state before
 * it. Other daemons' writes to a shared database cannot be heard here;
 * with cache revalidation on, a hit is served only once a primary-key
 * lookup found the shipment still at the cached version. */

#include "config.h"

#include <string.h>

#include "wb-time.h"
#include "wb-json-reader.h"
#include "wb-phone.h"
#include "wb-shipment-cache.h"
#include "wb-api-errors.h"
#include "wb-shipments-api.h"

#define DEFAULT_PAGE_SIZE 50
#define MAX_PAGE_SIZE     500
#define MAX_OFFSET        10000000
#define MAX_CURSOR_LENGTH 512

struct _WbShipmentsApi
{
  WbShipmentStore *store;
  WbSlaTable      *sla;
  WbMetrics       *metrics;
  WbShipmentCache *cache;
  gulong           changed_handler;
  char            *phone_region;      /* ISO country of national numbers in searches; NULL = none */
  gboolean         revalidate;        /* check a cached view's version before serving it */
};

/* One paused request and what its store call needs. */
typedef struct
{
  WbShipmentsApi    *api;             /* a reference: answers may outlive wb_shipments_api_free() */
  WbHttpRequest     *request;
  SoupServerMessage *message;         /* keeps the request alive while paused */
  char              *id;
  char              *if_none_match;
  guint64            ticket;
  gint64             received_at;
  WbShipmentPatch   *patch;
  GArray            *expected_versions; /* If-Match: gint64, NULL = any */
  WbShipmentDraft   *draft;
  WbShipmentQuery   *query;
  GPtrArray         *events;          /* WbStatusEvent*: what goes to the store */
  GPtrArray         *item_errors;     /* batch: a GError* per item, NULL for the valid ones */
  WbEventResult      result;          /* a single event, kept until its view is read */
  GBytes            *cached;          /* a hit being revalidated */
  gint64             cached_version;
} Call;

/* As pickup points' own ids (PUT /pickup-points/{id}). */
#define PICKUP_POINT_ID_MAX_LENGTH 128

static const char * const patch_members[] = {
  "serviceLevel", "reference", "recipient", "destination", "pickupPointId", "promisedAt", "eta", "carrier",
  "trackNumber", NULL
};
static const char * const recipient_members[] = { "name", "phone", "email", NULL };
static const char * const address_members[] = {
  "country", "region", "city", "line1", "line2", "postalCode", "lat", "lon", NULL
};
static const char * const history_parameters[] = { "limit", "offset", NULL };
static const char * const search_parameters[] = {
  "status", "clientId", "phone", "country", "createdFrom", "createdTo", "updatedFrom", "updatedTo",
  "overdue", "limit", "cursor", NULL
};
static const char * const repeatable_parameters[] = { "status", NULL };

static void
api_clear (gpointer data)
{
  WbShipmentsApi *self = data;

  g_clear_object (&self->store);
  g_clear_object (&self->sla);
  g_clear_object (&self->metrics);
  g_clear_pointer (&self->cache, wb_shipment_cache_free);
  g_free (self->phone_region);
}

/* ---- calls -------------------------------------------------------------- */

static void
free_error (gpointer error)
{
  if (error != NULL)
    g_error_free (error);
}

static Call *
call_new (WbShipmentsApi *api,
          WbHttpRequest  *request)
{
  Call *call = g_new0 (Call, 1);

  call->api = g_atomic_rc_box_acquire (api);
  call->request = request;
  call->message = g_object_ref (wb_http_request_get_message (request));
  call->received_at = g_get_real_time ();
  return call;
}

static void
call_free (Call *call)
{
  g_free (call->id);
  g_free (call->if_none_match);
  g_clear_pointer (&call->expected_versions, g_array_unref);
  g_clear_pointer (&call->patch, wb_shipment_patch_free);
  g_clear_pointer (&call->draft, wb_shipment_draft_free);
  g_clear_pointer (&call->query, wb_shipment_query_free);
  g_clear_pointer (&call->events, g_ptr_array_unref);
  g_clear_pointer (&call->item_errors, g_ptr_array_unref);
  g_clear_pointer (&call->cached, g_bytes_unref);
  wb_event_result_clear (&call->result);
  g_object_unref (call->message);
  g_atomic_rc_box_release_full (call->api, api_clear);
  g_free (call);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Call, call_free)

/* ---- answers ------------------------------------------------------------ */

/* The opaque-tag of a representation: its version, and while the
 * shipment rides an IN_TRANSIT trip (the view holds "liveLocation", which
 * moves with the vehicle and not with the shipment's version) a digest of
 * the body after a dot, so that a conditional GET sees the vehicle move.
 * In compact JSON a member name can only be matched outside strings: a
 * string's own quotes are escaped. */
static char *
opaque_of_view (gint64      version,
                const char *json,
                gsize       length)
{
  static const char live_member[] = "\"liveLocation\":";
  g_autofree char *digest = NULL;

  if (json == NULL || g_strstr_len (json, (gssize) length, live_member) == NULL)
    return g_strdup_printf ("%" G_GINT64_FORMAT, version);
  digest = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) json, length);
  return g_strdup_printf ("%" G_GINT64_FORMAT ".%.16s", version, digest);
}

static void
set_etag (WbHttpRequest *request,
          const char    *opaque)
{
  g_autofree char *etag = g_strdup_printf ("\"%s\"", opaque);

  wb_http_request_set_header (request, "ETag", etag);
}

static void
set_version_etag (WbHttpRequest *request,
                  gint64         version)
{
  g_autofree char *opaque = opaque_of_view (version, NULL, 0);

  set_etag (request, opaque);
}

static void
set_view_etag (WbHttpRequest *request,
               gint64         version,
               const char    *json)
{
  g_autofree char *opaque = opaque_of_view (version, json, strlen (json));

  set_etag (request, opaque);
}

static void
respond_view (WbHttpRequest  *request,
              guint           status,
              WbShipmentView *view)
{
  set_view_etag (request, view->version, view->json);
  wb_api_respond_json_text (request, status, view->json);
}

static void
add_string_member (JsonBuilder *builder,
                   const char  *name,
                   const char  *value)
{
  json_builder_set_member_name (builder, name);
  if (value != NULL)
    json_builder_add_string_value (builder, value);
  else
    json_builder_add_null_value (builder);
}

/* What a client is told about a failure. */
typedef struct
{
  guint       status;
  const char *code;
  char       *field;
  char       *message;
  char       *stored_for;     /* event_id_conflict: the shipment holding the event */
} Problem;

static void
problem_clear (Problem *problem)
{
  g_clear_pointer (&problem->field, g_free);
  g_clear_pointer (&problem->message, g_free);
  g_clear_pointer (&problem->stored_for, g_free);
}

/* {"code","message","field"?,"storedFor"?}: the error object of every
 * answer and of failed batch items. */
static void
add_error_object (JsonBuilder   *builder,
                  const Problem *problem)
{
  json_builder_begin_object (builder);
  add_string_member (builder, "code", problem->code);
  add_string_member (builder, "message", problem->message);
  if (problem->field != NULL)
    add_string_member (builder, "field", problem->field);
  if (problem->stored_for != NULL)
    add_string_member (builder, "storedFor", problem->stored_for);
  json_builder_end_object (builder);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Problem, problem_clear)

static void
classify_shipment_error (const GError *error,
                         Problem      *problem)
{
  problem->message = g_strdup (error->message);
  problem->field = g_strdup (wb_shipment_error_get_field (error));
  switch ((WbShipmentError) error->code)
    {
    case WB_SHIPMENT_ERROR_NOT_FOUND:
      problem->status = SOUP_STATUS_NOT_FOUND;
      problem->code = "not_found";
      break;
    case WB_SHIPMENT_ERROR_VERSION_MISMATCH:
      problem->status = SOUP_STATUS_PRECONDITION_FAILED;
      problem->code = "version_mismatch";
      break;
    case WB_SHIPMENT_ERROR_CLOSED:
      problem->status = SOUP_STATUS_CONFLICT;
      problem->code = "shipment_closed";
      break;
    case WB_SHIPMENT_ERROR_EVENT_CONFLICT:
      problem->status = SOUP_STATUS_CONFLICT;
      problem->code = "event_id_conflict";
      problem->stored_for = wb_shipment_error_get_holder (error);
      break;
    case WB_SHIPMENT_ERROR_INVALID:
    default:
      problem->status = SOUP_STATUS_BAD_REQUEST;
      problem->code = "invalid_field";
      break;
    }
}

static void
classify_input_error (const GError *error,
                      Problem      *problem)
{
  problem->status = SOUP_STATUS_BAD_REQUEST;
  problem->message = wb_api_json_error_message (error);
  problem->code = wb_api_json_error_code (error);
  if (g_str_equal (problem->code, "invalid_field"))
    problem->field = g_strdup (wb_json_error_get_field (error));
}

/* Maps an error to its answer. Faults of ours are logged with the request
 * id and never shown: their messages may carry SQL. */
static void
classify (const GError *error,
          const char   *request_id,
          Problem      *problem)
{
  if (error->domain == WB_JSON_ERROR)
    classify_input_error (error, problem);
  else if (error->domain == WB_SHIPMENT_ERROR)
    classify_shipment_error (error, problem);
  else if (g_error_matches (error, WB_DB_ERROR, WB_DB_ERROR_UNAVAILABLE)
           || g_error_matches (error, WB_DB_ERROR, WB_DB_ERROR_CONNECT))
    {
      problem->status = SOUP_STATUS_SERVICE_UNAVAILABLE;
      problem->code = "unavailable";
      problem->message = g_strdup ("The database is unavailable; retry shortly");
      g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "REQUEST_ID", request_id,
                        "MESSAGE", "Shipments request %s: %s", request_id, error->message);
    }
  else
    {
      problem->status = SOUP_STATUS_INTERNAL_SERVER_ERROR;
      problem->code = "internal";
      problem->message = g_strdup_printf ("Internal error; quote request id %s", request_id);
      g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "REQUEST_ID", request_id,
                        "MESSAGE", "Shipments request %s failed: %s", request_id, error->message);
    }
}

/* The common shape, plus the holder of a conflicting event, which the
 * shared error answer has no member for. */
static void
respond_conflicting_event (WbHttpRequest *request,
                           const Problem *problem)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) node = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "error");
  add_error_object (builder, problem);
  json_builder_end_object (builder);
  node = json_builder_get_root (builder);
  wb_http_request_respond_json (request, problem->status, node);
}

static void
respond_failure (WbHttpRequest *request,
                 const GError  *error)
{
  g_auto(Problem) problem = { 0, };

  classify (error, wb_http_request_get_id (request), &problem);
  if (problem.status == SOUP_STATUS_SERVICE_UNAVAILABLE)
    wb_http_request_set_header (request, "Retry-After", "1");
  if (problem.stored_for != NULL)
    respond_conflicting_event (request, &problem);
  else
    wb_api_respond_error (request, problem.status, problem.code, problem.field, problem.message, 0);
}

static void
respond_invalid (WbHttpRequest *request,
                 const char    *field,
                 const char    *format,
                 ...) G_GNUC_PRINTF (3, 4);

static void
respond_invalid (WbHttpRequest *request,
                 const char    *field,
                 const char    *format,
                 ...)
{
  g_autofree char *problem = NULL;
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  problem = g_strdup_vprintf (format, args);
  va_end (args);
  message = g_strdup_printf ("%s: %s", field, problem);
  wb_api_respond_error (request, SOUP_STATUS_BAD_REQUEST, "invalid_field", field, message, 0);
}

/* Whether If-Match named the current version only as a weak tag, which
 * the strong comparison never matches: worth saying, as the number is right. */
static gboolean
named_weakly (WbHttpRequest *request,
              gint64         current_version)
{
  g_autoptr(WbEntityTagList) tags = wb_http_request_get_entity_tags (request, "If-Match", NULL);
  g_autofree char *opaque = g_strdup_printf ("%" G_GINT64_FORMAT, current_version);

  return tags != NULL && !wb_entity_tag_list_match (tags, opaque, FALSE)
         && wb_entity_tag_list_match (tags, opaque, TRUE);
}

/* 412: the client's copy is stale. It gets the current version, and this
 * process forgets any view older than it, so the client's next GET fetches
 * the state it has to start again from. */
static void
respond_version_mismatch (Call   *call,
                          gint64  current_version)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *message = NULL;
  Problem problem = { .code = "version_mismatch" };

  if (named_weakly (call->request, current_version))
    message = g_strdup_printf ("If-Match compares entity-tags strongly, so W/\"%" G_GINT64_FORMAT "\" never "
                               "matches; send \"%" G_GINT64_FORMAT "\" as the ETag gives it",
                               current_version, current_version);
  else
    message = g_strdup_printf ("The shipment is at version %" G_GINT64_FORMAT "; read it again and retry",
                               current_version);
  problem.message = message;
  wb_shipment_cache_invalidate (call->api->cache, call->id, current_version);
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "error");
  add_error_object (builder, &problem);
  json_builder_set_member_name (builder, "currentVersion");
  json_builder_add_int_value (builder, current_version);
  json_builder_end_object (builder);
  node = json_builder_get_root (builder);
  set_version_etag (call->request, current_version);
  wb_http_request_respond_json (call->request, SOUP_STATUS_PRECONDITION_FAILED, node);
}

static void
count_events (WbShipmentsApi *self,
              const char     *outcome,
              guint           n)
{
  if (n > 0)
    wb_metrics_counter_add (self->metrics, "waybill_shipment_events_total", n, "outcome", outcome, NULL);
}

/* ---- request headers and parameters ------------------------------------- */

/* Shipment ids are UUIDs; anything else names no shipment. Lower case, so
 * one shipment is one cache entry however a client spells its id. */
static char *
shipment_id_of (WbHttpRequest *request)
{
  const char *id = wb_http_request_get_param (request, "id");

  if (id == NULL || !g_uuid_string_is_valid (id))
    {
      wb_api_respond_error (request, SOUP_STATUS_NOT_FOUND, "not_found", NULL, "No such shipment", 0);
      return NULL;
    }
  return g_ascii_strdown (id, -1);
}

/* All the lines of a list header together, as one value. */
static const char *
request_header (WbHttpRequest *request,
                const char    *name)
{
  SoupServerMessage *message = wb_http_request_get_message (request);

  return soup_message_headers_get_list (soup_server_message_get_request_headers (message), name);
}

/* If-None-Match, compared weakly (RFC 9110 §13.1.2) with the opaque-tag
 * of the representation (opaque_of_view()). A header that is not an
 * entity-tag list is ignored: the client then gets the full answer. */
static gboolean
none_match (const char *if_none_match,
            const char *opaque)
{
  g_autoptr(WbEntityTagList) tags = if_none_match ? wb_entity_tag_list_parse (if_none_match, NULL) : NULL;

  return tags == NULL || !wb_entity_tag_list_match (tags, opaque, TRUE);
}

/* The version an opaque-tag names, when it is one this API could have
 * made: the strong comparison is octet by octet, so "03" is not "3". A
 * live view's tag ("<version>.<digest>") names its version too: a write
 * is conditional on the shipment, and the vehicle's movements are not
 * the shipment's to refuse it. */
static gboolean
version_of_opaque (const char *opaque,
                   gint64     *out_version)
{
  g_autofree char *number = NULL;
  const char *dot = strchr (opaque, '.');

  if (dot != NULL)
    {
      if (strlen (dot + 1) != 16)
        return FALSE;
      for (const char *p = dot + 1; *p; p++)
        if (!g_ascii_isxdigit (*p) || g_ascii_isupper (*p))
          return FALSE;
    }
  number = g_strndup (opaque, dot ? (gsize) (dot - opaque) : strlen (opaque));
  if (number[0] < '1' || number[0] > '9')
    return FALSE;
  for (const char *p = number; *p; p++)
    if (!g_ascii_isdigit (*p))
      return FALSE;
  return g_ascii_string_to_signed (number, 10, 1, G_MAXINT64, out_version, NULL);
}

/* If-Match for a write (RFC 9110 §13.1.1), as the versions it names for
 * the store: NULL for "*" (any current representation: the store still
 * answers a missing shipment with not found, as it would without the
 * header), or, when not required, for no header. Weak tags and tags this
 * API never makes name no version, so they fail the precondition (412)
 * rather than the request. Returns FALSE after answering. */
static gboolean
read_if_match (WbHttpRequest  *request,
               gboolean        required,
               GArray        **out_versions)
{
  g_autoptr(WbEntityTagList) tags = NULL;
  g_autoptr(GArray) versions = NULL;

  *out_versions = NULL;
  if (!wb_api_read_entity_tags (request, "If-Match", &tags))
    return FALSE;
  if (tags == NULL)
    {
      if (required)
        wb_api_respond_error (request, 428 /* Precondition Required, RFC 6585 */, "precondition_required", "If-Match",
                              "If-Match: \"<version>\" is required; take it from the ETag of a GET", 0);
      return !required;
    }
  if (tags->any)
    return TRUE;

  versions = g_array_new (FALSE, FALSE, sizeof (gint64));
  for (guint i = 0; i < tags->tags->len; i++)
    {
      const WbEntityTag *tag = &g_array_index (tags->tags, WbEntityTag, i);
      gint64 version;

      if (!tag->weak && version_of_opaque (tag->opaque, &version))
        g_array_append_val (versions, version);
    }
  *out_versions = g_steal_pointer (&versions);
  return TRUE;
}

/* Query parameters, name → GPtrArray of values. Unknown names are refused:
 * a misspelt filter would otherwise widen a search without a word. */
static GHashTable *
read_query (WbHttpRequest      *request,
            const char * const *known,
            GError            **error)
{
  GUri *uri = soup_server_message_get_uri (wb_http_request_get_message (request));
  const char *query = g_uri_get_query (uri);
  g_autoptr(GHashTable) table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                       (GDestroyNotify) g_ptr_array_unref);
  g_autoptr(GError) local_error = NULL;
  GUriParamsIter iter;
  char *name, *value;

  if (query == NULL)
    return g_steal_pointer (&table);

  g_uri_params_iter_init (&iter, query, -1, "&", G_URI_PARAMS_NONE);
  while (g_uri_params_iter_next (&iter, &name, &value, &local_error))
    {
      g_autofree char *owned_name = name;
      GPtrArray *values;

      if (*name == '\0')
        {
          g_free (value);
          continue;
        }
      if (!g_strv_contains (known, name) || (g_hash_table_contains (table, name)
                                             && !g_strv_contains (repeatable_parameters, name)))
        {
          g_free (value);
          wb_json_set_field_error (error, name, g_strv_contains (known, name) ? "is given more than once"
                                                                                    : "is not a known query parameter");
          return NULL;
        }
      /* "?status=" is a filter left blank, not "every status": refused
       * like any other bad value rather than read as no filter. */
      if (*value == '\0')
        {
          g_free (value);
          wb_json_set_field_error (error, name, "must not be empty");
          return NULL;
        }
      values = g_hash_table_lookup (table, name);
      if (values == NULL)
        {
          values = g_ptr_array_new_with_free_func (g_free);
          g_hash_table_insert (table, g_steal_pointer (&owned_name), values);
        }
      g_ptr_array_add (values, value);
    }
  if (local_error != NULL)
    {
      wb_json_set_field_error (error, "query", "is not a valid URL query: %s", local_error->message);
      return NULL;
    }
  return g_steal_pointer (&table);
}

static const char *
query_value (GHashTable *query,
             const char *name)
{
  GPtrArray *values = g_hash_table_lookup (query, name);

  return values != NULL ? g_ptr_array_index (values, 0) : NULL;
}

static gboolean
query_uint (GHashTable  *query,
            const char  *name,
            guint        min,
            guint        max,
            guint        fallback,
            guint       *out_value,
            GError     **error)
{
  const char *text = query_value (query, name);
  guint64 value;

  *out_value = fallback;
  if (text == NULL)
    return TRUE;
  if (!g_ascii_string_to_unsigned (text, 10, min, max, &value, NULL))
    {
      wb_json_set_field_error (error, name, "must be an integer from %u to %u", min, max);
      return FALSE;
    }
  *out_value = value;
  return TRUE;
}

static gboolean
query_time (GHashTable  *query,
            const char  *name,
            gint64      *out_us,
            GError     **error)
{
  const char *text = query_value (query, name);
  g_autoptr(GError) local_error = NULL;
  gboolean guessed;

  *out_us = 0;
  if (text == NULL)
    return TRUE;
  if (!wb_time_parse (text, NULL, out_us, &guessed, &local_error))
    {
      wb_json_set_field_error (error, name, "%s", local_error->message);
      return FALSE;
    }
  return TRUE;
}

/* ---- body fields --------------------------------------------------------- */

static gboolean
invalid (WbJsonReader  *input,
         const char   *member,
         GError      **error,
         const char   *format,
         ...) G_GNUC_PRINTF (4, 5);

static gboolean
invalid (WbJsonReader  *input,
         const char   *member,
         GError      **error,
         const char   *format,
         ...)
{
  g_autofree char *path = wb_json_reader_member_path (input, member);
  g_autofree char *problem = NULL;
  va_list args;

  va_start (args, format);
  problem = g_strdup_vprintf (format, args);
  va_end (args);
  wb_json_set_field_error (error, path, "%s", problem);
  return FALSE;
}

static WbJsonReader *
read_body (WbHttpRequest  *request,
           GError        **error)
{
  g_autoptr(GBytes) body = wb_http_request_get_body (request);

  return wb_json_reader_new_from_bytes (body, NULL, error);
}

/* An RFC 3339 time; one without a zone is taken as UTC and flagged. *out_raw
 * is the text as given, NULL when the member is absent. */
static gboolean
read_time (WbJsonReader  *input,
           const char   *member,
           gboolean      required,
           char        **out_raw,
           gint64       *out_us,
           gboolean     *out_zone_guessed,
           GError      **error)
{
  g_autofree char *text = NULL;
  g_autoptr(GError) local_error = NULL;
  gboolean guessed = FALSE;

  if (!wb_json_reader_get_string (input, member, required, &text, error))
    return FALSE;
  if (text == NULL)
    return TRUE;
  if (!wb_time_parse (text, NULL, out_us, &guessed, &local_error))
    return invalid (input, member, error, "%s", local_error->message);
  if (out_zone_guessed != NULL)
    *out_zone_guessed = guessed;
  *out_raw = g_steal_pointer (&text);
  return TRUE;
}

static gboolean
read_service_level (WbShipmentsApi  *self,
                    WbJsonReader     *input,
                    char           **out_level,
                    GError         **error)
{
  g_autofree char *level = NULL;
  g_auto(GStrv) known = NULL;
  g_autofree char *list = NULL;

  if (!wb_json_reader_get_string (input, "serviceLevel", TRUE, &level, error))
    return FALSE;
  if (!wb_sla_table_has_level (self->sla, level))
    {
      known = wb_sla_table_list_levels (self->sla);
      list = g_strjoinv (", ", known);
      return invalid (input, "serviceLevel", error, "unknown service level “%s” (known: %s)", level, list);
    }
  *out_level = g_steal_pointer (&level);
  return TRUE;
}

static gboolean
read_country (WbJsonReader  *input,
              char        **out_country,
              GError      **error)
{
  g_autofree char *text = NULL;

  if (!wb_json_reader_get_string (input, "country", TRUE, &text, error))
    return FALSE;
  if (strlen (text) != 2 || !g_ascii_isalpha (text[0]) || !g_ascii_isalpha (text[1]))
    return invalid (input, "country", error, "must be a two-letter ISO 3166-1 country code");
  *out_country = g_ascii_strup (text, -1);
  return TRUE;
}

static gboolean
read_coordinates (WbJsonReader  *input,
                  gboolean     *out_present,
                  double       *out_lat,
                  double       *out_lon,
                  GError      **error)
{
  gboolean has_lat, has_lon;

  if (!wb_json_reader_get_double (input, "lat", -90, 90, &has_lat, out_lat, error)
      || !wb_json_reader_get_double (input, "lon", -180, 180, &has_lon, out_lon, error))
    return FALSE;
  if (has_lat != has_lon)
    return invalid (input, has_lat ? "lon" : "lat", error, "is required together with %s", has_lat ? "lat" : "lon");
  *out_present = has_lat;
  return TRUE;
}

/* @strict: refuse unknown members (PATCH). */
static gboolean
read_address (WbJsonReader  *parent,
              const char   *member,
              gboolean      required,
              gboolean      strict,
              WbAddress    *address,
              gboolean     *out_present,
              GError      **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(WbJsonReader) input = wb_json_reader_get_object_member (parent, member, required, &local_error);

  *out_present = FALSE;
  if (input == NULL)
    {
      if (local_error == NULL)
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if ((strict && !wb_json_reader_reject_unknown (input, address_members, error))
      || !read_country (input, &address->country, error)
      || !wb_json_reader_get_string (input, "region", FALSE, &address->region, error)
      || !wb_json_reader_get_string (input, "city", FALSE, &address->city, error)
      || !wb_json_reader_get_string (input, "line1", FALSE, &address->line1, error)
      || !wb_json_reader_get_string (input, "line2", FALSE, &address->line2, error)
      || !wb_json_reader_get_string (input, "postalCode", FALSE, &address->postal_code, error)
      || !read_coordinates (input, &address->has_coordinates, &address->lat, &address->lon, error))
    return FALSE;
  *out_present = TRUE;
  return TRUE;
}

/* The phone as given and in E.164; a national number is read as one of the
 * destination's country. */
static gboolean
read_phone (WbJsonReader  *recipient,
            const char   *default_country,
            char        **out_phone,
            char        **out_raw,
            GError      **error)
{
  g_autofree char *raw = NULL;
  g_autoptr(GError) local_error = NULL;

  if (!wb_json_reader_get_string (recipient, "phone", FALSE, &raw, error))
    return FALSE;
  if (raw == NULL)
    return TRUE;
  *out_phone = wb_phone_normalize (raw, default_country, &local_error);
  if (*out_phone == NULL)
    return invalid (recipient, "phone", error, "%s", local_error->message);
  *out_raw = g_steal_pointer (&raw);
  return TRUE;
}

/* PATCH: null means "clear", which some members refuse. */
static gboolean
check_not_cleared (WbJsonReader  *input,
                   const char   *member,
                   GError      **error)
{
  if (wb_json_reader_contains (input, member) && !wb_json_reader_has_member (input, member))
    return invalid (input, member, error, "cannot be cleared");
  return TRUE;
}

/* A PATCH member: *out_has says whether it is in the body; null clears it
 * where @nullable, and is refused elsewhere. */
static gboolean
read_patch_string (WbJsonReader  *input,
                   const char   *member,
                   gboolean      nullable,
                   gboolean     *out_has,
                   char        **out_value,
                   GError      **error)
{
  *out_has = wb_json_reader_contains (input, member);
  if (!*out_has)
    return TRUE;
  if (!nullable && !check_not_cleared (input, member, error))
    return FALSE;
  return wb_json_reader_get_string (input, member, !nullable, out_value, error);
}

static gboolean
is_email_address (const char *text)
{
  const char *at = strchr (text, '@');

  return at != NULL && at != text && at[1] != '\0' && strchr (at + 1, '@') == NULL
         && strpbrk (text, " \t\r\n") == NULL;
}

static gboolean
read_email (WbJsonReader  *recipient,
            gboolean      nullable_patch,
            gboolean     *out_has,
            char        **out_email,
            GError      **error)
{
  if (nullable_patch)
    {
      if (!read_patch_string (recipient, "email", TRUE, out_has, out_email, error))
        return FALSE;
    }
  else if (!wb_json_reader_get_string (recipient, "email", FALSE, out_email, error))
    return FALSE;
  if (*out_email != NULL && !is_email_address (*out_email))
    return invalid (recipient, "email", error, "must be an email address");
  return TRUE;
}

/* carrier and trackNumber: both or neither. */
static gboolean
read_tracking (WbJsonReader  *input,
               char        **out_carrier,
               char        **out_track_number,
               GError      **error)
{
  if (!wb_json_reader_get_string (input, "carrier", FALSE, out_carrier, error)
      || !wb_json_reader_get_string (input, "trackNumber", FALSE, out_track_number, error))
    return FALSE;
  if ((*out_carrier == NULL) != (*out_track_number == NULL))
    return invalid (input, *out_carrier ? "trackNumber" : "carrier", error, "is required together with %s",
                    *out_carrier ? "carrier" : "trackNumber");
  return TRUE;
}

/* A pickup point's id, as PUT /pickup-points/{id} takes it; whether it
 * names one is the store's to say. */
static gboolean
read_pickup_point_id (WbJsonReader  *body,
                      gboolean       nullable,
                      char         **out_id,
                      GError       **error)
{
  const char *id;
  gsize length;

  if (!wb_json_reader_get_string (body, "pickupPointId", FALSE, out_id, error))
    return FALSE;
  if (*out_id == NULL)
    return nullable || !wb_json_reader_contains (body, "pickupPointId")
           || invalid (body, "pickupPointId", error, "must be a pickup point's id");
  id = *out_id;
  length = strlen (id);
  for (const char *p = id; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '.' && *p != '_' && *p != ':' && *p != '-')
      length = 0;
  if (length == 0 || length > PICKUP_POINT_ID_MAX_LENGTH)
    return invalid (body, "pickupPointId", error, "must be 1 to %d characters of letters, digits and . _ : -",
                    PICKUP_POINT_ID_MAX_LENGTH);
  return TRUE;
}

/* A street address or a pickup point (whose address the store copies),
 * exactly one of them. */
static gboolean
read_draft_destination (WbJsonReader     *body,
                        WbShipmentDraft  *draft,
                        GError          **error)
{
  gboolean present = FALSE;

  if (!read_pickup_point_id (body, FALSE, &draft->pickup_point_id, error))
    return FALSE;
  if (draft->pickup_point_id == NULL)
    return read_address (body, "destination", TRUE, FALSE, &draft->destination, &present, error);
  if (wb_json_reader_contains (body, "destination"))
    return invalid (body, "pickupPointId", error, "give either pickupPointId or destination, not both: "
                    "a parcel for a pickup point goes to the point's address");
  return TRUE;
}

static WbShipmentDraft *
parse_draft (WbShipmentsApi  *self,
             WbJsonReader     *body,
             GError         **error)
{
  g_autoptr(WbShipmentDraft) draft = g_new0 (WbShipmentDraft, 1);
  g_autoptr(WbJsonReader) recipient = NULL;
  g_autofree char *promised = NULL;

  if (!wb_json_reader_get_string (body, "clientId", TRUE, &draft->client_id, error)
      || !wb_json_reader_get_string (body, "reference", FALSE, &draft->reference, error)
      || !read_service_level (self, body, &draft->service_level, error)
      || !read_draft_destination (body, draft, error)
      || !read_address (body, "origin", FALSE, FALSE, &draft->origin, &draft->has_origin, error)
      || !read_time (body, "promisedAt", FALSE, &promised, &draft->promised_at, NULL, error)
      || !read_tracking (body, &draft->carrier, &draft->track_number, error))
    return NULL;

  recipient = wb_json_reader_get_object_member (body, "recipient", TRUE, error);
  if (recipient == NULL
      || !wb_json_reader_get_string (recipient, "name", TRUE, &draft->recipient_name, error)
      || !read_email (recipient, FALSE, NULL, &draft->recipient_email, error))
    return NULL;
  /* A national number is read as one of the destination's country, which
   * for a pickup point only the store knows. */
  if (draft->pickup_point_id != NULL)
    return wb_json_reader_get_string (recipient, "phone", FALSE, &draft->recipient_phone_raw, error)
           ? g_steal_pointer (&draft) : NULL;
  if (!read_phone (recipient, draft->destination.country, &draft->recipient_phone, &draft->recipient_phone_raw,
                   error))
    return NULL;
  return g_steal_pointer (&draft);
}

/* Everything but the phone's normalization, which may need the current
 * destination (see finish_patch_phone). */
static gboolean
read_patch_recipient (WbJsonReader     *body,
                      WbShipmentPatch *patch,
                      GError         **error)
{
  g_autoptr(WbJsonReader) recipient = NULL;

  if (!wb_json_reader_contains (body, "recipient"))
    return TRUE;
  if (!check_not_cleared (body, "recipient", error))
    return FALSE;
  recipient = wb_json_reader_get_object_member (body, "recipient", TRUE, error);
  return recipient != NULL
         && wb_json_reader_reject_unknown (recipient, recipient_members, error)
         && read_patch_string (recipient, "name", FALSE, &patch->has_recipient_name, &patch->recipient_name, error)
         && read_patch_string (recipient, "phone", TRUE, &patch->has_recipient_phone,
                               &patch->recipient_phone_raw, error)
         && read_email (recipient, TRUE, &patch->has_recipient_email, &patch->recipient_email, error);
}

static gboolean
read_patch_times (WbJsonReader     *body,
                  WbShipmentPatch *patch,
                  GError         **error)
{
  g_autofree char *promised = NULL;
  g_autofree char *eta = NULL;

  patch->has_promised_at = wb_json_reader_contains (body, "promisedAt");
  if (!check_not_cleared (body, "promisedAt", error)
      || !read_time (body, "promisedAt", FALSE, &promised, &patch->promised_at, NULL, error))
    return FALSE;

  /* null takes the carrier's ETA away: the promise applies again. */
  patch->has_eta = wb_json_reader_contains (body, "eta");
  return read_time (body, "eta", FALSE, &eta, &patch->eta, NULL, error);
}

/* A point, or null to leave it (the address stays, now a street
 * address); never with a new destination. */
static gboolean
read_patch_pickup_point (WbJsonReader     *body,
                         WbShipmentPatch  *patch,
                         GError          **error)
{
  patch->has_pickup_point = wb_json_reader_contains (body, "pickupPointId");
  if (!patch->has_pickup_point)
    return TRUE;
  if (!read_pickup_point_id (body, TRUE, &patch->pickup_point_id, error))
    return FALSE;
  if (patch->pickup_point_id != NULL && patch->has_destination)
    return invalid (body, "pickupPointId", error, "give either pickupPointId or destination, not both: "
                    "a parcel for a pickup point goes to the point's address");
  return TRUE;
}

static WbShipmentPatch *
parse_patch (WbShipmentsApi  *self,
             WbJsonReader     *body,
             GError         **error)
{
  g_autoptr(WbShipmentPatch) patch = g_new0 (WbShipmentPatch, 1);

  if (!wb_json_reader_reject_unknown (body, patch_members, error))
    return NULL;
  patch->has_service_level = wb_json_reader_contains (body, "serviceLevel");
  if ((patch->has_service_level && (!check_not_cleared (body, "serviceLevel", error)
                                     || !read_service_level (self, body, &patch->service_level, error)))
      || !read_patch_string (body, "reference", TRUE, &patch->has_reference, &patch->reference, error)
      || !read_patch_recipient (body, patch, error)
      || !check_not_cleared (body, "destination", error)
      || !read_address (body, "destination", FALSE, TRUE, &patch->destination, &patch->has_destination, error)
      || !read_patch_pickup_point (body, patch, error)
      || !read_patch_times (body, patch, error)
      || !read_tracking (body, &patch->carrier, &patch->track_number, error))
    return NULL;
  patch->has_tracking = patch->carrier != NULL;

  if (!patch->has_service_level && !patch->has_reference && !patch->has_recipient_name
      && !patch->has_recipient_phone && !patch->has_recipient_email && !patch->has_destination
      && !patch->has_promised_at && !patch->has_eta && !patch->has_tracking && !patch->has_pickup_point)
    {
      wb_json_set_field_error (error, "", "The body changes nothing; give at least one field to change");
      return NULL;
    }
  return g_steal_pointer (&patch);
}

/* Normalizes a patched phone with @country (the patch's destination or the
 * stored one). */
static gboolean
finish_patch_phone (WbShipmentPatch  *patch,
                    const char       *country,
                    GError          **error)
{
  g_autoptr(GError) local_error = NULL;

  if (patch->recipient_phone_raw == NULL || patch->recipient_phone != NULL)
    return TRUE;
  patch->recipient_phone = wb_phone_normalize (patch->recipient_phone_raw, country, &local_error);
  if (patch->recipient_phone == NULL)
    {
      wb_json_set_field_error (error, "recipient.phone", "%s", local_error->message);
      return FALSE;
    }
  return TRUE;
}

static gboolean
read_status (WbJsonReader  *input,
             WbStatus     *out_status,
             GError      **error)
{
  g_autofree char *text = NULL;

  if (!wb_json_reader_get_string (input, "status", TRUE, &text, error))
    return FALSE;
  *out_status = wb_status_from_string (text);
  if (*out_status == WB_STATUS_INVALID)
    return invalid (input, "status", error, "unknown status “%s”; statuses are canonical names such as IN_TRANSIT",
                    text);
  return TRUE;
}

static gboolean
read_reason (WbJsonReader  *input,
             char        **out_reason,
             GError      **error)
{
  if (!wb_json_reader_get_string (input, "reason", FALSE, out_reason, error))
    return FALSE;
  if (*out_reason != NULL && !wb_status_reason_is_known (*out_reason))
    return invalid (input, "reason", error, "unknown reason code “%s”", *out_reason);
  return TRUE;
}

static gboolean
read_location (WbJsonReader    *input,
               WbStatusEvent  *event,
               GError        **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(WbJsonReader) location = wb_json_reader_get_object_member (input, "location", FALSE, &local_error);

  if (location == NULL)
    {
      if (local_error == NULL)
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  return wb_json_reader_get_string (location, "text", FALSE, &event->location_text, error)
         && read_coordinates (location, &event->has_coordinates, &event->lat, &event->lon, error);
}

/* The store refuses the same; checked here too, so that a batch item's
 * error names its own path. */
static gboolean
check_occurred_at (WbJsonReader  *input,
                   gint64        occurred_at,
                   GError      **error)
{
  if (wb_status_event_time_is_plausible (occurred_at, g_get_real_time ()))
    return TRUE;
  return invalid (input, "occurredAt", error,
                  "implausible; events are accepted from 1990-01-01T00:00:00Z to one day after the server's clock");
}

/* Which shipment the event is for: the path's, or (batch) shipmentId, or
 * carrier + trackNumber. */
static gboolean
read_event_target (WbJsonReader    *input,
                   const char     *path_id,
                   WbStatusEvent  *event,
                   GError        **error)
{
  g_autofree char *given = NULL;
  g_autofree char *carrier = NULL;
  g_autofree char *track_number = NULL;

  if (!wb_json_reader_get_string (input, "shipmentId", FALSE, &given, error))
    return FALSE;
  if (path_id != NULL)
    {
      if (given != NULL && g_ascii_strcasecmp (given, path_id) != 0)
        return invalid (input, "shipmentId", error, "does not match the shipment in the path");
      event->shipment_id = g_strdup (path_id);
      return TRUE;
    }
  if (given != NULL)
    {
      if (!g_uuid_string_is_valid (given))
        return invalid (input, "shipmentId", error, "must be a shipment id (a UUID)");
      event->shipment_id = g_ascii_strdown (given, -1);
      return TRUE;
    }
  if (!read_tracking (input, &carrier, &track_number, error))
    return FALSE;
  if (carrier == NULL)
    return invalid (input, "shipmentId", error, "is required, or carrier and trackNumber");
  event->carrier = g_steal_pointer (&carrier);
  event->track_number = g_steal_pointer (&track_number);
  return TRUE;
}

static WbStatusEvent *
parse_event (WbJsonReader  *input,
             const char   *path_id,
             GError      **error)
{
  g_autoptr(WbStatusEvent) event = g_new0 (WbStatusEvent, 1);
  g_autofree char *eta = NULL;

  if (!wb_json_reader_get_string (input, "eventId", TRUE, &event->event_id, error)
      || !wb_json_reader_get_string (input, "source", FALSE, &event->source, error)
      || !read_event_target (input, path_id, event, error)
      || !read_status (input, &event->status, error)
      || !read_reason (input, &event->reason, error)
      || !wb_json_reader_get_string (input, "statusRaw", FALSE, &event->status_raw, error)
      || !read_time (input, "occurredAt", TRUE, &event->occurred_at_raw, &event->occurred_at,
                     &event->zone_guessed, error)
      || !check_occurred_at (input, event->occurred_at, error)
      || !read_location (input, event, error)
      || !wb_json_reader_get_string (input, "description", FALSE, &event->description, error)
      || !read_time (input, "estimatedDeliveryAt", FALSE, &eta, &event->carrier_eta, NULL, error)
      || !wb_json_reader_get_boolean (input, "correction", &event->correction, error))
    return NULL;
  if (event->source == NULL)
    event->source = g_strdup ("api");
  return g_steal_pointer (&event);
}

static gboolean
parse_statuses (GHashTable       *query,
                WbShipmentQuery  *out,
                GError          **error)
{
  GPtrArray *values = g_hash_table_lookup (query, "status");
  g_autoptr(GStrvBuilder) statuses = g_strv_builder_new ();

  for (guint i = 0; values != NULL && i < values->len; i++)
    {
      g_auto(GStrv) names = g_strsplit (g_ptr_array_index (values, i), ",", -1);

      for (guint j = 0; names[j] != NULL; j++)
        {
          if (*names[j] == '\0')
            {
              wb_json_set_field_error (error, "status", "must not hold an empty name");
              return FALSE;
            }
          if (wb_status_from_string (names[j]) == WB_STATUS_INVALID)
            {
              wb_json_set_field_error (error, "status", "unknown status “%s”", names[j]);
              return FALSE;
            }
          g_strv_builder_add (statuses, names[j]);
        }
    }
  out->statuses = values ? g_strv_builder_end (statuses) : NULL;
  return TRUE;
}

/* The country whose national numbers the phone filter reads: the
 * request's country, else shipments.phone-region. */
static gboolean
search_region (WbShipmentsApi  *self,
               GHashTable      *query,
               const char     **out_region,
               GError         **error)
{
  const char *country = query_value (query, "country");

  *out_region = self->phone_region;
  if (country == NULL)
    return TRUE;
  if (strlen (country) != 2 || wb_phone_country_calling_code (country) == NULL)
    {
      wb_json_set_field_error (error, "country", "must be a two-letter ISO 3166-1 country code, e.g. BY");
      return FALSE;
    }
  if (query_value (query, "phone") == NULL)
    {
      wb_json_set_field_error (error, "country", "only tells how to read phone; give phone too");
      return FALSE;
    }
  *out_region = country;
  return TRUE;
}

/* Read as POST /shipments reads a recipient's phone, with the search's
 * region for the destination's country: whatever the shipment was created
 * with finds it when typed again. */
static gboolean
parse_search_phone (WbShipmentsApi   *self,
                    GHashTable       *query,
                    WbShipmentQuery  *out,
                    GError          **error)
{
  const char *phone = query_value (query, "phone");
  g_autoptr(GError) local_error = NULL;
  const char *region;

  if (!search_region (self, query, &region, error))
    return FALSE;
  if (phone == NULL)
    return TRUE;
  out->phone = wb_phone_normalize (phone, region, &local_error);
  if (out->phone == NULL)
    {
      wb_json_set_field_error (error, "phone", "%s", local_error->message);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_range (gint64       from,
             gint64       to,
             const char  *to_name,
             const char  *from_name,
             GError     **error)
{
  if (from != 0 && to != 0 && to < from)
    {
      wb_json_set_field_error (error, to_name, "must not be before %s", from_name);
      return FALSE;
    }
  return TRUE;
}

/* The cursor is the store's, opaque here; only its form is checked, so a
 * mangled one is refused before it reaches the database. */
static gboolean
parse_cursor (GHashTable       *query,
              WbShipmentQuery  *out,
              GError          **error)
{
  const char *cursor = query_value (query, "cursor");

  if (cursor == NULL)
    return TRUE;
  if (*cursor == '\0' || strlen (cursor) > MAX_CURSOR_LENGTH)
    {
      wb_json_set_field_error (error, "cursor", "is malformed; pass nextCursor from the previous page");
      return FALSE;
    }
  for (const char *p = cursor; *p; p++)
    if (!g_ascii_isalnum (*p) && !strchr ("-_.~=:+/", *p))
      {
        wb_json_set_field_error (error, "cursor", "is malformed; pass nextCursor from the previous page");
        return FALSE;
      }
  out->cursor = g_strdup (cursor);
  return TRUE;
}

static gboolean
parse_overdue (GHashTable       *query,
               WbShipmentQuery  *out,
               GError          **error)
{
  const char *overdue = query_value (query, "overdue");

  /* false is no filter: the store can only narrow to the overdue ones. */
  if (overdue == NULL || g_str_equal (overdue, "false"))
    return TRUE;
  if (!g_str_equal (overdue, "true"))
    {
      wb_json_set_field_error (error, "overdue", "must be true or false");
      return FALSE;
    }
  out->overdue = TRUE;
  return TRUE;
}

static WbShipmentQuery *
parse_search (WbShipmentsApi  *self,
              WbHttpRequest   *request,
              GError         **error)
{
  g_autoptr(WbShipmentQuery) out = g_new0 (WbShipmentQuery, 1);
  g_autoptr(GHashTable) query = read_query (request, search_parameters, error);
  const char *client_id;

  if (query == NULL
      || !parse_statuses (query, out, error)
      || !parse_search_phone (self, query, out, error)
      || !query_time (query, "createdFrom", &out->created_from, error)
      || !query_time (query, "createdTo", &out->created_to, error)
      || !query_time (query, "updatedFrom", &out->updated_from, error)
      || !query_time (query, "updatedTo", &out->updated_to, error)
      || !check_range (out->created_from, out->created_to, "createdTo", "createdFrom", error)
      || !check_range (out->updated_from, out->updated_to, "updatedTo", "updatedFrom", error)
      || !parse_overdue (query, out, error)
      || !query_uint (query, "limit", 1, MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE, &out->limit, error)
      || !parse_cursor (query, out, error))
    return NULL;
  client_id = query_value (query, "clientId");
  out->client_id = g_strdup (client_id);
  return g_steal_pointer (&out);
}

/* ---- GET /shipments/{id} ------------------------------------------------- */

static void
respond_current (WbHttpRequest *request,
                 const char    *if_none_match,
                 gint64         version,
                 GBytes        *json)
{
  gsize length = 0;
  const char *text = g_bytes_get_data (json, &length);
  g_autofree char *opaque = opaque_of_view (version, text, length);

  set_etag (request, opaque);
  if (!none_match (if_none_match, opaque))
    wb_http_request_respond (request, SOUP_STATUS_NOT_MODIFIED, NULL, NULL);
  else
    wb_http_request_respond (request, SOUP_STATUS_OK, "application/json", json);
}

static void
on_got_view (GObject      *source,
             GAsyncResult *result,
             gpointer      data)
{
  g_autoptr(Call) call = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(WbShipmentView) view = wb_shipment_store_get_finish (WB_SHIPMENT_STORE (source), result, &error);
  g_autoptr(GBytes) json = NULL;

  if (view == NULL)
    {
      respond_failure (call->request, error);
      return;
    }
  json = g_bytes_new_static (view->json, strlen (view->json));
  wb_shipment_cache_fill (call->api->cache, call->id, call->ticket, view->version, view->json, view->expires_at);
  respond_current (call->request, call->if_none_match, view->version, json);
}

static void
count_lookup (WbShipmentsApi *self,
              const char     *result)
{
  wb_metrics_counter_add (self->metrics, "waybill_shipment_cache_lookups_total", 1, "result", result, NULL);
}

/* A miss: the view from the database, filling the cache. The ticket is
 * taken before the read, so a write in between keeps it out. */
static void
read_view (Call *call)
{
  call->ticket = wb_shipment_cache_begin_fill (call->api->cache);
  wb_shipment_store_get_async (call->api->store, call->id, NULL, on_got_view, call);
}

static void
on_revalidated (GObject      *source,
                GAsyncResult *result,
                gpointer      data)
{
  Call *call = data;
  g_autoptr(GError) error = NULL;
  gint64 version = wb_shipment_store_get_version_finish (WB_SHIPMENT_STORE (source), result, &error);

  if (version == 0)
    {
      respond_failure (call->request, error);
      call_free (call);
      return;
    }
  if (version == call->cached_version)
    {
      count_lookup (call->api, "hit");
      respond_current (call->request, call->if_none_match, version, call->cached);
      call_free (call);
      return;
    }
  /* Another daemon wrote it. */
  count_lookup (call->api, "stale");
  wb_shipment_cache_invalidate (call->api->cache, call->id, version);
  read_view (call);
}

static void
handle_get (WbHttpRequest *request,
            gpointer       user_data)
{
  WbShipmentsApi *self = user_data;
  g_autofree char *id = shipment_id_of (request);
  g_autoptr(GBytes) cached = NULL;
  gint64 version = 0;
  Call *call;

  if (id == NULL)
    return;
  cached = wb_shipment_cache_lookup (self->cache, id, &version);
  if (cached != NULL && !self->revalidate)
    {
      count_lookup (self, "hit");
      respond_current (request, request_header (request, "If-None-Match"), version, cached);
      return;
    }

  call = call_new (self, request);
  call->id = g_steal_pointer (&id);
  call->if_none_match = g_strdup (request_header (request, "If-None-Match"));
  wb_http_request_pause (request);
  if (cached != NULL)
    {
      /* Scaled out: a primary-key lookup is far cheaper than the view. */
      call->cached = g_steal_pointer (&cached);
      call->cached_version = version;
      wb_shipment_store_get_version_async (self->store, call->id, NULL, on_revalidated, call);
      return;
    }
  count_lookup (self, "miss");
  read_view (call);
}

/* ---- POST /shipments ------------------------------------------------------ */

static void
on_created (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  g_autoptr(Call) call = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(WbShipmentView) view = wb_shipment_store_create_finish (WB_SHIPMENT_STORE (source), result, &error);
  g_autofree char *location = NULL;

  if (view == NULL)
    {
      respond_failure (call->request, error);
      return;
    }
  wb_shipment_cache_put (call->api->cache, view->id, view->version, view->json, view->expires_at);
  location = g_strdup_printf ("/shipments/%s", view->id);
  wb_http_request_set_header (call->request, "Location", location);
  respond_view (call->request, SOUP_STATUS_CREATED, view);
}

static void
handle_create (WbHttpRequest *request,
               gpointer       user_data)
{
  WbShipmentsApi *self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(WbJsonReader) body = read_body (request, &error);
  g_autoptr(WbShipmentDraft) draft = body ? parse_draft (self, body, &error) : NULL;
  Call *call;

  if (draft == NULL)
    {
      respond_failure (request, error);
      return;
    }
  call = call_new (self, request);
  call->draft = g_steal_pointer (&draft);
  wb_http_request_pause (request);
  wb_shipment_store_create_async (self->store, call->draft, NULL, on_created, call);
}

/* ---- PATCH /shipments/{id} ------------------------------------------------ */

/* PATCH and DELETE answer alike: the new view (cached before the answer
 * goes out), or 412 with the version the shipment is at. */
static void
answer_versioned_write (Call           *call,
                        WbShipmentView *view,
                        gint64          current_version,
                        GError         *error)
{
  if (view == NULL)
    {
      if (g_error_matches (error, WB_SHIPMENT_ERROR, WB_SHIPMENT_ERROR_VERSION_MISMATCH))
        respond_version_mismatch (call, current_version);
      else
        respond_failure (call->request, error);
      return;
    }
  wb_shipment_cache_put (call->api->cache, view->id, view->version, view->json, view->expires_at);
  respond_view (call->request, SOUP_STATUS_OK, view);
}

static void
on_updated (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  g_autoptr(Call) call = data;
  g_autoptr(GError) error = NULL;
  gint64 current = 0;
  g_autoptr(WbShipmentView) view = wb_shipment_store_update_finish (WB_SHIPMENT_STORE (source), result,
                                                                    &current, &error);

  answer_versioned_write (call, view, current, error);
}

static void
start_update (Call *call)
{
  wb_shipment_store_update_async (call->api->store, call->id, call->expected_versions, call->patch,
                                  NULL, on_updated, call);
}

static void
on_patch_destination (GObject      *source,
                      GAsyncResult *result,
                      gpointer      data)
{
  Call *call = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(WbShipmentView) view = wb_shipment_store_get_finish (WB_SHIPMENT_STORE (source), result, &error);

  if (view == NULL || !finish_patch_phone (call->patch, view->destination_country, &error))
    {
      respond_failure (call->request, error);
      call_free (call);
      return;
    }
  start_update (call);
}

static void
handle_patch (WbHttpRequest *request,
              gpointer       user_data)
{
  WbShipmentsApi *self = user_data;
  g_autofree char *id = shipment_id_of (request);
  g_autoptr(GError) error = NULL;
  g_autoptr(WbJsonReader) body = NULL;
  g_autoptr(WbShipmentPatch) patch = NULL;
  g_autoptr(GArray) expected = NULL;
  Call *call;

  if (id == NULL || !read_if_match (request, TRUE, &expected))
    return;
  body = read_body (request, &error);
  patch = body ? parse_patch (self, body, &error) : NULL;
  /* A national number needs a country: the patch's destination, else the
   * stored one, read first. */
  if (patch != NULL && patch->has_destination)
    finish_patch_phone (patch, patch->destination.country, &error);
  if (error != NULL)
    {
      respond_failure (request, error);
      return;
    }

  call = call_new (self, request);
  call->id = g_steal_pointer (&id);
  call->expected_versions = g_steal_pointer (&expected);
  call->patch = g_steal_pointer (&patch);
  wb_http_request_pause (request);
  if (call->patch->recipient_phone_raw != NULL && call->patch->recipient_phone == NULL
      && !finish_patch_phone (call->patch, NULL, NULL))
    wb_shipment_store_get_async (self->store, call->id, NULL, on_patch_destination, call);
  else
    start_update (call);
}

/* ---- DELETE /shipments/{id} ----------------------------------------------- */

static void
on_closed (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  g_autoptr(Call) call = data;
  g_autoptr(GError) error = NULL;
  gint64 current = 0;
  g_autoptr(WbShipmentView) view = wb_shipment_store_close_finish (WB_SHIPMENT_STORE (source), result,
                                                                   &current, &error);

  answer_versioned_write (call, view, current, error);
}

static void
handle_delete (WbHttpRequest *request,
               gpointer       user_data)
{
  WbShipmentsApi *self = user_data;
  g_autofree char *id = shipment_id_of (request);
  g_autoptr(GArray) expected = NULL;
  Call *call;

  if (id == NULL || !read_if_match (request, FALSE, &expected))
    return;
  call = call_new (self, request);
  call->id = g_steal_pointer (&id);
  call->expected_versions = g_steal_pointer (&expected);
  wb_http_request_pause (request);
  wb_shipment_store_close_async (self->store, call->id, call->expected_versions, NULL, on_closed, call);
}

/* ---- GET /shipments/{id}/events -------------------------------------------- */

static void
on_history (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  g_autoptr(Call) call = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *json = wb_shipment_store_list_events_finish (WB_SHIPMENT_STORE (source), result, &error);

  if (json == NULL)
    respond_failure (call->request, error);
  else
    wb_api_respond_json_text (call->request, SOUP_STATUS_OK, json);
}

static void
handle_history (WbHttpRequest *request,
                gpointer       user_data)
{
  WbShipmentsApi *self = user_data;
  g_autofree char *id = shipment_id_of (request);
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) query = NULL;
  guint limit, offset;
  Call *call;

  if (id == NULL)
    return;
  query = read_query (request, history_parameters, &error);
  if (query == NULL
      || !query_uint (query, "limit", 1, MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE, &limit, &error)
      || !query_uint (query, "offset", 0, MAX_OFFSET, 0, &offset, &error))
    {
      respond_failure (request, error);
      return;
    }
  call = call_new (self, request);
  call->id = g_steal_pointer (&id);
  wb_http_request_pause (request);
  wb_shipment_store_list_events_async (self->store, call->id, limit, offset, NULL, on_history, call);
}

/* ---- POST /shipments/{id}/events ------------------------------------------- */

/* Written as text around the texts the database made: the shipment as
 * GET /shipments/{id} shows it and the event as GET …/events does, number
 * for number (json-glib would write 53.9 back as 53.899999999999999). */
static void
respond_event (Call           *call,
               WbShipmentView *view,
               const char     *event_json)
{
  gboolean duplicate = call->result.outcome == WB_EVENT_DUPLICATE;
  g_autofree char *body = NULL;

  /* A duplicate stored nothing: there is no event of this request to show. */
  body = g_strdup_printf ("{\"duplicate\":%s,\"statusChanged\":%s,\"event\":%s,\"shipment\":%s}",
                          duplicate ? "true" : "false", call->result.status_changed ? "true" : "false",
                          event_json != NULL ? event_json : "null", view->json);
  set_view_etag (call->request, view->version, view->json);
  wb_api_respond_json_text (call->request, duplicate ? SOUP_STATUS_OK : SOUP_STATUS_CREATED, body);
}

static void
on_event_view (GObject      *source,
               GAsyncResult *result,
               gpointer      data)
{
  g_autoptr(Call) call = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *event_json = NULL;
  g_autoptr(WbShipmentView) view = wb_shipment_store_get_with_event_finish (WB_SHIPMENT_STORE (source), result,
                                                                            &event_json, &error);

  /* The event is stored either way; a retry of it answers duplicate. */
  if (view == NULL)
    {
      respond_failure (call->request, error);
      return;
    }
  wb_shipment_cache_fill (call->api->cache, call->id, call->ticket, view->version, view->json, view->expires_at);
  respond_event (call, view, call->result.outcome == WB_EVENT_CREATED ? event_json : NULL);
}

static void
on_event_added (GObject      *source,
                GAsyncResult *result,
                gpointer      data)
{
  Call *call = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) results = wb_shipment_store_add_events_finish (WB_SHIPMENT_STORE (source), result, &error);
  WbEventResult *outcome = results ? &g_array_index (results, WbEventResult, 0) : NULL;

  if (outcome == NULL || outcome->outcome == WB_EVENT_FAILED)
    {
      count_events (call->api, "failed", 1);
      respond_failure (call->request, outcome ? outcome->error : error);
      call_free (call);
      return;
    }

  /* Kept for the answer; the array's clear function must not free it.
   * The store's "changed" has dropped the cached view already. */
  call->result = *outcome;
  memset (outcome, 0, sizeof *outcome);
  count_events (call->api, call->result.outcome == WB_EVENT_CREATED ? "created" : "duplicate", 1);
  call->ticket = wb_shipment_cache_begin_fill (call->api->cache);
  wb_shipment_store_get_with_event_async (call->api->store, call->id, call->result.event_row_id, NULL,
                                          on_event_view, call);
}

static void
handle_add_event (WbHttpRequest *request,
                  gpointer       user_data)
{
  WbShipmentsApi *self = user_data;
  g_autofree char *id = shipment_id_of (request);
  g_autoptr(GError) error = NULL;
  g_autoptr(WbJsonReader) body = NULL;
  WbStatusEvent *event;
  Call *call;

  if (id == NULL)
    return;
  body = read_body (request, &error);
  event = body ? parse_event (body, id, &error) : NULL;
  if (event == NULL)
    {
      count_events (self, "failed", 1);
      respond_failure (request, error);
      return;
    }
  call = call_new (self, request);
  call->id = g_steal_pointer (&id);
  call->events = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_status_event_free);
  g_ptr_array_add (call->events, event);
  wb_http_request_pause (request);
  wb_shipment_store_add_events_async (self->store, call->events, NULL, on_event_added, call);
}

/* ---- POST /shipments/events:batch ------------------------------------------- */

typedef struct
{
  guint created, duplicates, failed;
} BatchCounts;

static void
add_batch_item (JsonBuilder         *builder,
                guint                index,
                const char          *status,
                const WbEventResult *result,
                const GError        *error,
                const char          *request_id)
{
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "index");
  json_builder_add_int_value (builder, index);
  add_string_member (builder, "status", status);
  json_builder_set_member_name (builder, "statusChanged");
  json_builder_add_boolean_value (builder, result ? result->status_changed : FALSE);
  add_string_member (builder, "shipmentId", result ? result->shipment_id : NULL);
  if (error != NULL)
    {
      g_auto(Problem) problem = { 0, };

      classify (error, request_id, &problem);
      json_builder_set_member_name (builder, "error");
      add_error_object (builder, &problem);
    }
  json_builder_end_object (builder);
}

/* One result per item, in order: the items refused here and the store's
 * results for the others, merged back by position. */
static void
add_batch_results (Call        *call,
                   GArray      *results,
                   JsonBuilder *builder,
                   BatchCounts *counts)
{
  const char *request_id = wb_http_request_get_id (call->request);
  guint stored = 0;

  for (guint i = 0; i < call->item_errors->len; i++)
    {
      const GError *refused = g_ptr_array_index (call->item_errors, i);
      const WbEventResult *result = refused ? NULL : &g_array_index (results, WbEventResult, stored++);

      if (refused != NULL || result->outcome == WB_EVENT_FAILED)
        {
          add_batch_item (builder, i, "failed", result, refused ? refused : result->error, request_id);
          counts->failed++;
        }
      else if (result->outcome == WB_EVENT_DUPLICATE)
        {
          add_batch_item (builder, i, "duplicate", result, NULL, request_id);
          counts->duplicates++;
        }
      else
        {
          add_batch_item (builder, i, "created", result, NULL, request_id);
          counts->created++;
        }
    }
}

static void
add_count_member (JsonBuilder *builder,
                  const char  *name,
                  guint        value)
{
  json_builder_set_member_name (builder, name);
  json_builder_add_int_value (builder, value);
}

static void
respond_batch (Call   *call,
               GArray *results)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) node = NULL;
  BatchCounts counts = { 0, };

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "results");
  json_builder_begin_array (builder);
  add_batch_results (call, results, builder, &counts);
  json_builder_end_array (builder);
  add_count_member (builder, "created", counts.created);
  add_count_member (builder, "duplicates", counts.duplicates);
  add_count_member (builder, "failed", counts.failed);
  json_builder_end_object (builder);
  node = json_builder_get_root (builder);

  count_events (call->api, "created", counts.created);
  count_events (call->api, "duplicate", counts.duplicates);
  count_events (call->api, "failed", counts.failed);
  wb_http_request_respond_json (call->request, SOUP_STATUS_OK, node);
}

/* The store answers a call of one event with that event's own error rather
 * than a failed item; in a batch it is still an item. */
static GArray *
single_failure (const WbStatusEvent *event,
                GError              *error)
{
  GArray *results = g_array_sized_new (FALSE, TRUE, sizeof (WbEventResult), 1);
  WbEventResult failed = {
    .outcome = WB_EVENT_FAILED,
    .shipment_id = g_strdup (event->shipment_id),
    .error = error,
  };

  g_array_set_clear_func (results, (GDestroyNotify) wb_event_result_clear);
  g_array_append_val (results, failed);
  return results;
}

static void
on_batch_added (GObject      *source,
                GAsyncResult *result,
                gpointer      data)
{
  g_autoptr(Call) call = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) results = wb_shipment_store_add_events_finish (WB_SHIPMENT_STORE (source), result, &error);

  if (results == NULL && error->domain == WB_SHIPMENT_ERROR && call->events->len == 1)
    results = single_failure (g_ptr_array_index (call->events, 0), g_steal_pointer (&error));
  if (results == NULL)
    {
      count_events (call->api, "failed", call->item_errors->len);
      respond_failure (call->request, error);
      return;
    }
  g_assert (results->len == call->events->len);
  respond_batch (call, results);
}

/* Parses every item; a bad one is remembered as failed, the others go on. */
static void
parse_batch_items (Call        *call,
                   WbJsonReader *body,
                   guint        n)
{
  call->events = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_status_event_free);
  call->item_errors = g_ptr_array_new_full (n, free_error);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(WbJsonReader) item = wb_json_reader_get_array_element (body, "events", i, &error);
      WbStatusEvent *event = item ? parse_event (item, NULL, &error) : NULL;

      if (event != NULL)
        g_ptr_array_add (call->events, event);
      g_ptr_array_add (call->item_errors, g_steal_pointer (&error));
    }
}

static void
handle_batch (WbHttpRequest *request,
              gpointer       user_data)
{
  WbShipmentsApi *self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(WbJsonReader) body = read_body (request, &error);
  g_autoptr(Call) call = NULL;
  GPtrArray *events;
  guint n = 0;

  if (body == NULL || !wb_json_reader_get_array_length (body, "events", &n, &error))
    {
      respond_failure (request, error);
      return;
    }
  if (n == 0)
    {
      respond_invalid (request, "events", "must hold at least one event");
      return;
    }
  if (n > WB_SHIPMENTS_API_MAX_BATCH)
    {
      wb_api_respond_error (request, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "too_many_events", "events",
                            "events: at most " G_STRINGIFY (WB_SHIPMENTS_API_MAX_BATCH) " events per batch", 0);
      return;
    }

  call = call_new (self, request);
  parse_batch_items (call, body, n);
  if (call->events->len == 0)
    {
      respond_batch (call, NULL);
      return;
    }
  events = call->events;
  wb_http_request_pause (request);
  wb_shipment_store_add_events_async (self->store, events, NULL, on_batch_added, g_steal_pointer (&call));
}

/* ---- GET /shipments/search ------------------------------------------------ */

static void
on_searched (GObject      *source,
             GAsyncResult *result,
             gpointer      data)
{
  g_autoptr(Call) call = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *json = wb_shipment_store_search_finish (WB_SHIPMENT_STORE (source), result, &error);

  if (json == NULL)
    respond_failure (call->request, error);
  else
    wb_api_respond_json_text (call->request, SOUP_STATUS_OK, json);
}

static void
handle_search (WbHttpRequest *request,
               gpointer       user_data)
{
  WbShipmentsApi *self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(WbShipmentQuery) query = parse_search (self, request, &error);
  Call *call;

  if (query == NULL)
    {
      respond_failure (request, error);
      return;
    }
  call = call_new (self, request);
  call->query = g_steal_pointer (&query);
  wb_http_request_pause (request);
  wb_shipment_store_search_async (self->store, call->query, NULL, on_searched, call);
}

/* ---- GET /shipments/summary ------------------------------------------------- */

static void
on_summary (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  g_autoptr(Call) call = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *json = wb_shipment_store_summary_finish (WB_SHIPMENT_STORE (source), result, &error);

  if (json == NULL)
    respond_failure (call->request, error);
  else
    wb_api_respond_json_text (call->request, SOUP_STATUS_OK, json);
}

static void
handle_summary (WbHttpRequest *request,
                gpointer       user_data)
{
  static const char * const no_parameters[] = { NULL };
  WbShipmentsApi *self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) query = read_query (request, no_parameters, &error);

  if (query == NULL)
    {
      respond_failure (request, error);
      return;
    }
  wb_http_request_pause (request);
  wb_shipment_store_summary_async (self->store, NULL, on_summary, call_new (self, request));
}

/* ---- the API -------------------------------------------------------------- */

static void
declare_metrics (WbMetrics *metrics)
{
  static const char * const outcomes[] = { "created", "duplicate", "failed" };

  wb_metrics_declare (metrics, "waybill_shipment_events_total", WB_METRIC_COUNTER,
                      "Shipment status events received over REST, by outcome.", NULL, 0);
  wb_metrics_declare (metrics, "waybill_shipment_cache_lookups_total", WB_METRIC_COUNTER,
                      "GET /shipments/{id} lookups in the view cache, by result (hit, miss, "
                      "stale: revalidation found a newer version).", NULL, 0);
  for (guint i = 0; i < G_N_ELEMENTS (outcomes); i++)
    wb_metrics_counter_add (metrics, "waybill_shipment_events_total", 0, "outcome", outcomes[i], NULL);
  wb_metrics_counter_add (metrics, "waybill_shipment_cache_lookups_total", 0, "result", "hit", NULL);
  wb_metrics_counter_add (metrics, "waybill_shipment_cache_lookups_total", 0, "result", "miss", NULL);
  wb_metrics_counter_add (metrics, "waybill_shipment_cache_lookups_total", 0, "result", "stale", NULL);
}

/* On the pool thread that committed the write (WbShipmentStore::changed);
 * the cache is thread-safe. */
static void
on_store_changed (WbShipmentStore *store,
                  const char      *id,
                  gint64           version,
                  gpointer         user_data)
{
  WbShipmentsApi *self = user_data;

  wb_shipment_cache_invalidate (self->cache, id, version);
}

static void
release_api (gpointer  data,
             GClosure *closure)
{
  g_atomic_rc_box_release_full (data, api_clear);
}

/**
 * wb_shipments_api_new:
 * @sla: the service levels a shipment may name
 *
 * Returns: (transfer full): the API; wb_shipments_api_register() puts it on
 *   a server
 */
WbShipmentsApi *
wb_shipments_api_new (WbShipmentStore *store,
                      WbSlaTable      *sla,
                      WbMetrics       *metrics)
{
  WbShipmentsApi *self;

  g_return_val_if_fail (WB_IS_SHIPMENT_STORE (store), NULL);
  g_return_val_if_fail (WB_IS_SLA_TABLE (sla), NULL);
  g_return_val_if_fail (WB_IS_METRICS (metrics), NULL);

  self = g_atomic_rc_box_new0 (WbShipmentsApi);
  self->store = g_object_ref (store);
  self->sla = g_object_ref (sla);
  self->metrics = g_object_ref (metrics);
  self->cache = wb_shipment_cache_new (WB_SHIPMENT_CACHE_DEFAULT_CAPACITY, WB_SHIPMENT_CACHE_DEFAULT_TTL_US);
  self->phone_region = g_strdup (WB_SHIPMENTS_API_DEFAULT_PHONE_REGION);
  /* The handler holds the API: an emission still running on a pool thread
   * when wb_shipments_api_free() disconnects it finds the cache alive. */
  self->changed_handler = g_signal_connect_data (store, "changed", G_CALLBACK (on_store_changed),
                                                 g_atomic_rc_box_acquire (self), release_api, 0);
  declare_metrics (metrics);
  return self;
}

/**
 * wb_shipments_api_set_phone_region:
 * @region: (nullable): ISO 3166-1 alpha-2 country, or %NULL or "" for none
 *
 * The country whose national phone numbers GET /shipments/search reads
 * ("8 029 123-45-67" in BY) when the request names none; without one, a
 * search phone must be international. The default is
 * %WB_SHIPMENTS_API_DEFAULT_PHONE_REGION.
 *
 * Returns: %FALSE if @region is not a country with a calling code
 */
gboolean
wb_shipments_api_set_phone_region (WbShipmentsApi *self,
                                   const char     *region)
{
  g_return_val_if_fail (self != NULL, FALSE);

  if (region != NULL && *region == '\0')
    region = NULL;
  if (region != NULL && (strlen (region) != 2 || wb_phone_country_calling_code (region) == NULL))
    return FALSE;
  g_free (self->phone_region);
  self->phone_region = region ? g_ascii_strup (region, -1) : NULL;
  return TRUE;
}

/**
 * wb_shipments_api_set_cache_revalidation:
 *
 * With several daemons on one database, a cached view may be behind
 * another daemon's write, which this process cannot hear of: revalidate
 * makes every hit check the shipment's version by primary key first.
 */
void
wb_shipments_api_set_cache_revalidation (WbShipmentsApi *self,
                                         gboolean        revalidate)
{
  g_return_if_fail (self != NULL);

  self->revalidate = revalidate;
}

/**
 * wb_shipments_api_register:
 *
 * Adds the /shipments routes to @http; data/openapi/shipments.json describes
 * each by its method and path. @self must outlive
 * @http's routing (the routes hold it without a reference).
 */
void
wb_shipments_api_register (WbShipmentsApi *self,
                           WbHttpServer   *http)
{
  /* The router takes the first match in this order: the literal paths
   * come before /shipments/{id}, which would capture them. */
  const WbHttpRoute routes[] = {
    { "GET", "/shipments/search", WB_ACCESS_ROLE_VIEWER, handle_search },
    { "GET", "/shipments/summary", WB_ACCESS_ROLE_VIEWER, handle_summary },
    { "POST", "/shipments/events:batch", WB_ACCESS_ROLE_DISPATCHER, handle_batch },
    { "POST", "/shipments", WB_ACCESS_ROLE_DISPATCHER, handle_create },
    { "GET", "/shipments/{id}", WB_ACCESS_ROLE_VIEWER, handle_get },
    { "PATCH", "/shipments/{id}", WB_ACCESS_ROLE_DISPATCHER, handle_patch },
    { "DELETE", "/shipments/{id}", WB_ACCESS_ROLE_DISPATCHER, handle_delete },
    { "GET", "/shipments/{id}/events", WB_ACCESS_ROLE_VIEWER, handle_history },
    { "POST", "/shipments/{id}/events", WB_ACCESS_ROLE_DISPATCHER, handle_add_event },
  };

  g_return_if_fail (self != NULL);
  g_return_if_fail (WB_IS_HTTP_SERVER (http));

  wb_http_server_add_routes (http, routes, G_N_ELEMENTS (routes), self);
}

/**
 * wb_shipments_api_free:
 *
 * Drops the caller's hold; requests still waiting on the store keep what
 * they need until they are answered.
 */
void
wb_shipments_api_free (WbShipmentsApi *self)
{
  if (self == NULL)
    return;
  g_clear_signal_handler (&self->changed_handler, self->store);
  g_atomic_rc_box_release_full (self, api_clear);
}
