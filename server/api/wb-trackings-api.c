// SPDX-License-Identifier: GPL-3.0-or-later
/* The trackings REST resources: numbers to poll at their carriers.
 *
 * POST /trackings validates item by item: an item at fault is answered
 * with an error naming its field (items[3].trackNumber) while the valid
 * ones of the same request are added. Every handler that reaches the
 * store pauses its request and answers from the callback. */

#include "config.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "wb-api-errors.h"
#include "wb-json-reader.h"
#include "wb-json-writer.h"
#include "wb-polling.h"
#include "wb-trackings-api.h"

#define DEFAULT_PAGE_SIZE 50
#define MAX_PAGE_SIZE     500
#define MAX_OFFSET        10000000
#define MAX_IDS           1000

struct _WbTrackingsApi
{
  WbTrackingStore *store;
  WbCarrierTable  *carriers;
  WbCarrierStats  *stats;        /* this daemon's carrier workers' figures */
  gint64           refresh_interval_us;
};

typedef struct
{
  WbTrackingsApi    *api;          /* a reference: answers may outlive wb_trackings_api_free() */
  WbHttpRequest     *request;
  SoupServerMessage *message;      /* keeps the request alive while paused */
  GPtrArray         *drafts;       /* WbTrackingDraft* for the store */
  GPtrArray         *item_errors;  /* POST /trackings: a GError* per item, NULL for the valid ones */
  GArray            *ids;
  WbTrackingQuery   *query;
} Call;

static const char * const item_members[] = { "carrierCode", "trackNumber", "shipmentId", NULL };
static const char * const events_parameters[] = { "limit", "offset", NULL };
static const char * const list_parameters[] = { "carrier", "status", "due", "erroring", "limit", "cursor", NULL };

static void
api_clear (gpointer data)
{
  WbTrackingsApi *self = data;

  g_clear_object (&self->store);
  g_clear_object (&self->carriers);
  g_clear_object (&self->stats);
}

static void
free_error (gpointer error)
{
  if (error != NULL)
    g_error_free (error);
}

static Call *
call_new (WbTrackingsApi *api,
          WbHttpRequest  *request)
{
  Call *call = g_new0 (Call, 1);

  call->api = g_atomic_rc_box_acquire (api);
  call->request = request;
  call->message = g_object_ref (wb_http_request_get_message (request));
  return call;
}

static void
call_free (Call *call)
{
  g_clear_pointer (&call->drafts, g_ptr_array_unref);
  g_clear_pointer (&call->item_errors, g_ptr_array_unref);
  g_clear_pointer (&call->ids, g_array_unref);
  g_clear_pointer (&call->query, wb_tracking_query_free);
  g_object_unref (call->message);
  g_atomic_rc_box_release_full (call->api, api_clear);
  g_free (call);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Call, call_free)

/* ---- answers -------------------------------------------------------------- */

static void
respond_invalid (WbHttpRequest *request,
                 const char    *field,
                 const char    *problem)
{
  g_autofree char *message = g_strdup_printf ("%s: %s", field, problem);

  wb_api_respond_error (request, SOUP_STATUS_BAD_REQUEST, "invalid_field", field, message, 0);
}

static void
respond_failure (WbHttpRequest *request,
                 const GError  *error)
{
  if (g_error_matches (error, WB_POLLING_ERROR, WB_POLLING_ERROR_NOT_FOUND))
    wb_api_respond_error (request, SOUP_STATUS_NOT_FOUND, "not_found", NULL, error->message, 0);
  else
    wb_api_respond_common_failure (request, error, "Trackings");
}

/* ---- input ---------------------------------------------------------------- */

static gboolean
read_id (WbHttpRequest *request,
         gint64        *out_id)
{
  const char *text = wb_http_request_get_param (request, "id");
  guint64 value;

  if (text == NULL || !g_ascii_string_to_unsigned (text, 10, 1, G_MAXINT64, &value, NULL))
    {
      respond_invalid (request, "id", "must be a positive integer");
      return FALSE;
    }
  *out_id = value;
  return TRUE;
}

/* Query parameters, each at most once and none unknown: a misspelt filter
 * would otherwise widen a listing without a word. */
static GHashTable *
read_query (WbHttpRequest      *request,
            const char * const *known,
            GError            **error)
{
  GUri *uri = soup_server_message_get_uri (wb_http_request_get_message (request));
  const char *query = g_uri_get_query (uri);
  g_autoptr(GHashTable) table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GError) local_error = NULL;
  GUriParamsIter iter;
  char *name, *value;

  if (query == NULL)
    return g_steal_pointer (&table);
  g_uri_params_iter_init (&iter, query, -1, "&", G_URI_PARAMS_NONE);
  while (g_uri_params_iter_next (&iter, &name, &value, &local_error))
    {
      g_autofree char *owned_name = name;
      g_autofree char *owned_value = value;

      if (*name == '\0')
        continue;
      if (!g_strv_contains (known, name) || g_hash_table_contains (table, name))
        {
          wb_json_set_field_error (error, name, g_strv_contains (known, name) ? "is given more than once"
                                                                            : "is not a known query parameter");
          return NULL;
        }
      if (*value == '\0')
        {
          wb_json_set_field_error (error, name, "must not be empty");
          return NULL;
        }
      g_hash_table_insert (table, g_steal_pointer (&owned_name), g_steal_pointer (&owned_value));
    }
  if (local_error != NULL)
    {
      wb_json_set_field_error (error, "query", "is not a valid URL query: %s", local_error->message);
      return NULL;
    }
  return g_steal_pointer (&table);
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
  const char *text = g_hash_table_lookup (query, name);
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
query_boolean (GHashTable  *query,
               const char  *name,
               int         *out_value,
               GError     **error)
{
  const char *text = g_hash_table_lookup (query, name);

  *out_value = -1;
  if (text == NULL)
    return TRUE;
  if (g_str_equal (text, "true") || g_str_equal (text, "false"))
    {
      *out_value = g_str_equal (text, "true");
      return TRUE;
    }
  wb_json_set_field_error (error, name, "must be true or false");
  return FALSE;
}

static WbJsonReader *
read_body (WbHttpRequest  *request,
           GError        **error)
{
  g_autoptr(GBytes) body = wb_http_request_get_body (request);

  return wb_json_reader_new_from_bytes (body, NULL, error);
}

static gboolean
field_error (WbJsonReader  *input,
             const char    *member,
             const GError  *problem,
             GError       **error)
{
  g_autofree char *path = wb_json_reader_member_path (input, member);

  wb_json_set_field_error (error, path, "%s", problem->message);
  return FALSE;
}

static gboolean
read_carrier (WbTrackingsApi  *self,
              WbJsonReader    *item,
              WbTrackingDraft *draft,
              GError         **error)
{
  if (!wb_json_reader_get_string (item, "carrierCode", TRUE, &draft->carrier, error))
    return FALSE;
  if (wb_carrier_table_lookup (self->carriers, draft->carrier) == NULL)
    return wb_json_reader_fail (item, "carrierCode", error, "“%s” is not a carrier this server polls (GET /carriers)",
                                draft->carrier);
  return TRUE;
}

static WbTrackingDraft *
parse_item (WbTrackingsApi  *self,
            WbJsonReader    *item,
            GError         **error)
{
  g_autoptr(WbTrackingDraft) draft = g_new0 (WbTrackingDraft, 1);
  g_autoptr(GError) problem = NULL;

  if (!wb_json_reader_reject_unknown (item, item_members, error)
      || !read_carrier (self, item, draft, error)
      || !wb_json_reader_get_string (item, "trackNumber", TRUE, &draft->track_number, error))
    return NULL;
  if (!wb_carrier_check_number (wb_carrier_table_lookup (self->carriers, draft->carrier), draft->track_number,
                                &problem))
    {
      field_error (item, "trackNumber", problem, error);
      return NULL;
    }
  if (!wb_json_reader_get_string (item, "shipmentId", FALSE, &draft->shipment_id, error))
    return NULL;
  if (draft->shipment_id != NULL && !g_uuid_string_is_valid (draft->shipment_id))
    {
      wb_json_reader_fail (item, "shipmentId", error, "is not a shipment id (a UUID)");
      return NULL;
    }
  if (draft->shipment_id != NULL)
    {
      char *lower = g_ascii_strdown (draft->shipment_id, -1);

      g_free (draft->shipment_id);
      draft->shipment_id = lower;
    }
  return g_steal_pointer (&draft);
}

/* ---- POST /trackings -------------------------------------------------------- */

static void
add_error_member (GString      *out,
                  const GError *error)
{
  g_autofree char *message = wb_api_json_error_message (error);
  const char *field = wb_json_error_get_field (error);

  g_string_append (out, ",\"error\":{\"code\":");
  wb_json_write_string (out, wb_api_json_error_code (error));
  g_string_append (out, ",\"message\":");
  wb_json_write_string (out, message);
  if (field != NULL)
    {
      g_string_append (out, ",\"field\":");
      wb_json_write_string (out, field);
    }
  g_string_append_c (out, '}');
}

static void
respond_added (Call   *call,
               GArray *added)
{
  g_autoptr(GString) out = g_string_new ("{\"items\":[");
  guint next = 0, created = 0, existing = 0, failed = 0;

  for (guint i = 0; i < call->item_errors->len; i++)
    {
      GError *error = g_ptr_array_index (call->item_errors, i);
      WbTrackingAdded *result = error == NULL ? &g_array_index (added, WbTrackingAdded, next++) : NULL;
      g_autoptr(GError) no_shipment = NULL;

      g_string_append_printf (out, "%s{\"index\":%u", i > 0 ? "," : "", i);
      if (result != NULL && result->no_shipment)
        {
          g_autofree char *path = g_strdup_printf ("items[%u].shipmentId", i);

          wb_json_set_field_error (&no_shipment, path, "names no shipment");
          error = no_shipment;
        }
      if (error != NULL)
        {
          add_error_member (out, error);
          failed++;
        }
      else
        {
          g_string_append_printf (out, ",\"id\":%" G_GINT64_FORMAT ",\"created\":%s", result->id,
                                  result->created ? "true" : "false");
          result->created ? created++ : existing++;
        }
      g_string_append_c (out, '}');
    }
  g_string_append_printf (out, "],\"created\":%u,\"existing\":%u,\"failed\":%u}", created, existing, failed);
  wb_api_respond_json_text (call->request, SOUP_STATUS_OK, out->str);
}

static void
on_added (GObject      *source,
          GAsyncResult *result,
          gpointer      data)
{
  g_autoptr(Call) call = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) added = wb_tracking_store_add_finish (WB_TRACKING_STORE (source), result, &error);

  if (added == NULL)
    respond_failure (call->request, error);
  else
    respond_added (call, added);
}

static void
parse_items (Call         *call,
             WbJsonReader *body,
             guint         n)
{
  call->drafts = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_tracking_draft_free);
  call->item_errors = g_ptr_array_new_with_free_func (free_error);
  for (guint i = 0; i < n; i++)
    {
      GError *error = NULL;
      g_autoptr(WbJsonReader) item = wb_json_reader_get_array_element (body, "items", i, &error);
      WbTrackingDraft *draft = item ? parse_item (call->api, item, &error) : NULL;

      if (draft != NULL)
        g_ptr_array_add (call->drafts, draft);
      g_ptr_array_add (call->item_errors, error);
    }
}

static void
handle_add (WbHttpRequest *request,
            gpointer       user_data)
{
  WbTrackingsApi *self = user_data;
  static const char * const members[] = { "items", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(WbJsonReader) body = read_body (request, &error);
  g_autoptr(Call) call = NULL;
  guint n = 0;

  if (body == NULL || !wb_json_reader_reject_unknown (body, members, &error)
      || !wb_json_reader_get_array_length (body, "items", &n, &error))
    {
      respond_failure (request, error);
      return;
    }
  if (n == 0)
    {
      respond_invalid (request, "items", "must hold at least one item");
      return;
    }
  if (n > WB_TRACKINGS_API_MAX_ITEMS)
    {
      wb_api_respond_error (request, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "too_many_items", "items",
                            "items: at most " G_STRINGIFY (WB_TRACKINGS_API_MAX_ITEMS) " per request", 0);
      return;
    }
  call = call_new (self, request);
  parse_items (call, body, n);
  if (call->drafts->len == 0)
    {
      respond_added (call, NULL);
      return;
    }
  wb_http_request_pause (request);
  wb_tracking_store_add_async (self->store, call->drafts, NULL, on_added, call);
  call = NULL;
}

/* ---- POST /trackings/get-by-ids -------------------------------------------------- */

static GArray *
parse_ids (WbJsonReader  *body,
           GError       **error)
{
  static const char * const members[] = { "ids", NULL };
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  JsonArray *array = NULL;

  if (!wb_json_reader_reject_unknown (body, members, error)
      || !wb_json_reader_peek_array (body, "ids", TRUE, &array, error))
    return NULL;
  if (json_array_get_length (array) == 0 || json_array_get_length (array) > MAX_IDS)
    {
      wb_json_set_field_error (error, "ids", "must hold 1 to %u ids", MAX_IDS);
      return NULL;
    }
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *node = json_array_get_element (array, i);
      gint64 id;

      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64
          || (id = json_node_get_int (node)) < 1)
        {
          g_autofree char *path = g_strdup_printf ("ids[%u]", i);

          wb_json_set_field_error (error, path, "must be a positive integer");
          return NULL;
        }
      g_array_append_val (ids, id);
    }
  return g_steal_pointer (&ids);
}

static void
on_json_answer (GObject      *source,
                GAsyncResult *result,
                gpointer      data,
                char       *(*finish) (WbTrackingStore *, GAsyncResult *, GError **))
{
  g_autoptr(Call) call = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *json = finish (WB_TRACKING_STORE (source), result, &error);

  if (json == NULL)
    respond_failure (call->request, error);
  else
    wb_api_respond_json_text (call->request, SOUP_STATUS_OK, json);
}

static void
on_got_by_ids (GObject      *source,
               GAsyncResult *result,
               gpointer      data)
{
  on_json_answer (source, result, data, wb_tracking_store_get_by_ids_finish);
}

static void
handle_get_by_ids (WbHttpRequest *request,
                   gpointer       user_data)
{
  WbTrackingsApi *self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(WbJsonReader) body = read_body (request, &error);
  g_autoptr(GArray) ids = body ? parse_ids (body, &error) : NULL;

  if (ids == NULL)
    {
      respond_failure (request, error);
      return;
    }
  wb_http_request_pause (request);
  wb_tracking_store_get_by_ids_async (self->store, ids, NULL, on_got_by_ids, call_new (self, request));
}

/* ---- GET /trackings/{id}/events ---------------------------------------------- */

static void
on_events (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  on_json_answer (source, result, data, wb_tracking_store_list_events_finish);
}

static void
handle_events (WbHttpRequest *request,
               gpointer       user_data)
{
  WbTrackingsApi *self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) query = read_query (request, events_parameters, &error);
  guint limit = 0, offset = 0;
  gint64 id;

  if (!read_id (request, &id))
    return;
  if (query == NULL
      || !query_uint (query, "limit", 1, MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE, &limit, &error)
      || !query_uint (query, "offset", 0, MAX_OFFSET, 0, &offset, &error))
    {
      respond_failure (request, error);
      return;
    }
  wb_http_request_pause (request);
  wb_tracking_store_list_events_async (self->store, id, limit, offset, NULL, on_events, call_new (self, request));
}

/* ---- POST /trackings/{id}/refresh -------------------------------------------- */

static void
on_refreshed (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  g_autoptr(Call) call = data;
  g_autoptr(GError) error = NULL;
  gint64 retry_after = 0;
  g_autofree char *json = wb_tracking_store_refresh_finish (WB_TRACKING_STORE (source), result, &retry_after, &error);

  if (json != NULL)
    wb_api_respond_json_text (call->request, SOUP_STATUS_ACCEPTED, json);
  else if (g_error_matches (error, WB_POLLING_ERROR, WB_POLLING_ERROR_THROTTLED))
    {
      g_autofree char *seconds = g_strdup_printf ("%" G_GINT64_FORMAT, retry_after);

      wb_http_request_set_header (call->request, "Retry-After", seconds);
      wb_api_respond_error (call->request, 429 /* Too Many Requests, RFC 6585 */, "refresh_throttled", NULL,
                            error->message, 0);
    }
  else
    respond_failure (call->request, error);
}

static void
handle_refresh (WbHttpRequest *request,
                gpointer       user_data)
{
  WbTrackingsApi *self = user_data;
  gint64 id;

  if (!read_id (request, &id))
    return;
  wb_http_request_pause (request);
  wb_tracking_store_refresh_async (self->store, id, self->refresh_interval_us, NULL, on_refreshed,
                                   call_new (self, request));
}

/* ---- GET /trackings --------------------------------------------------------------- */

static gboolean
parse_list_filters (WbTrackingsApi   *self,
                    GHashTable       *query,
                    WbTrackingQuery  *out,
                    GError          **error)
{
  const char *status = g_hash_table_lookup (query, "status");
  const char *carrier = g_hash_table_lookup (query, "carrier");

  if (carrier != NULL && wb_carrier_table_lookup (self->carriers, carrier) == NULL)
    {
      wb_json_set_field_error (error, "carrier", "“%s” is not a carrier this server polls", carrier);
      return FALSE;
    }
  out->carrier = g_strdup (carrier);
  out->status = status ? wb_status_from_string (status) : WB_STATUS_INVALID;
  if (status != NULL && out->status == WB_STATUS_INVALID)
    {
      wb_json_set_field_error (error, "status", "is not a status (IN_TRANSIT, DELIVERED, …)");
      return FALSE;
    }
  return query_boolean (query, "due", &out->due, error)
         && query_boolean (query, "erroring", &out->erroring, error);
}

static WbTrackingQuery *
parse_list (WbTrackingsApi  *self,
            WbHttpRequest   *request,
            GError         **error)
{
  g_autoptr(GHashTable) query = read_query (request, list_parameters, error);
  g_autoptr(WbTrackingQuery) out = g_new0 (WbTrackingQuery, 1);
  const char *cursor;
  guint64 after = 0;

  if (query == NULL || !parse_list_filters (self, query, out, error)
      || !query_uint (query, "limit", 1, MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE, &out->limit, error))
    return NULL;
  cursor = g_hash_table_lookup (query, "cursor");
  if (cursor != NULL && !g_ascii_string_to_unsigned (cursor, 10, 1, G_MAXINT64, &after, NULL))
    {
      wb_json_set_field_error (error, "cursor", "is not a cursor of this listing");
      return NULL;
    }
  out->after_id = after;
  return g_steal_pointer (&out);
}

static void
on_listed (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  on_json_answer (source, result, data, wb_tracking_store_list_finish);
}

static void
handle_list (WbHttpRequest *request,
             gpointer       user_data)
{
  WbTrackingsApi *self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(WbTrackingQuery) query = parse_list (self, request, &error);
  Call *call;

  if (query == NULL)
    {
      respond_failure (request, error);
      return;
    }
  call = call_new (self, request);
  call->query = g_steal_pointer (&query);
  wb_http_request_pause (request);
  wb_tracking_store_list_async (self->store, call->query, NULL, on_listed, call);
}

/* ---- DELETE /trackings/{id} ------------------------------------------------------------ */

static void
on_deleted (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  g_autoptr(Call) call = data;
  g_autoptr(GError) error = NULL;

  if (!wb_tracking_store_delete_finish (WB_TRACKING_STORE (source), result, &error))
    respond_failure (call->request, error);
  else
    wb_http_request_respond (call->request, SOUP_STATUS_NO_CONTENT, NULL, NULL);
}

static void
handle_delete (WbHttpRequest *request,
               gpointer       user_data)
{
  WbTrackingsApi *self = user_data;
  gint64 id;

  if (!read_id (request, &id))
    return;
  wb_http_request_pause (request);
  wb_tracking_store_delete_async (self->store, id, NULL, on_deleted, call_new (self, request));
}

/* ---- GET /carriers ----------------------------------------------------------------------- */

/* What this daemon's workers saw: null members when it runs none. */
static void
write_requests (GString        *out,
                WbCarrierStats *stats,
                const char     *code,
                gint64          now_us)
{
  if (stats == NULL || !wb_carrier_stats_get_recording (stats))
    g_string_append (out, "\"requests\":null,\"permitWait\":null,\"lastHour\":null");
  else
    wb_carrier_stats_write_json (stats, code, now_us, out);
}

/* The shared limits of carrier_limits, with what is left of the quota. */
static void
write_limits (GString               *out,
              const WbCarrierConfig *carrier,
              JsonObject            *limits)
{
  JsonNode *row = limits ? json_object_get_member (limits, carrier->code) : NULL;
  g_autoptr(JsonGenerator) generator = NULL;
  g_autofree char *text = NULL;
  JsonObject *copy;

  if (row == NULL || !JSON_NODE_HOLDS_OBJECT (row))
    {
      g_string_append (out, "\"limits\":null");
      return;
    }
  copy = json_node_get_object (row);
  if (carrier->daily_quota > 0)
    json_object_set_int_member (copy, "quotaLeftToday",
                                MAX (0, (gint64) carrier->daily_quota
                                        - json_object_get_int_member_with_default (copy, "quotaUsedToday", 0)));
  else
    json_object_set_null_member (copy, "quotaLeftToday");
  generator = json_generator_new ();
  json_generator_set_root (generator, row);
  text = json_generator_to_data (generator, NULL);
  g_string_append_printf (out, "\"limits\":%s", text);
}

/* Each carrier's configuration (secrets masked), its shared limits and
 * this daemon's request figures. The carriers file's JSON is our own text,
 * as is the limits row's: neither comes from outside. */
static char *
carriers_json (WbTrackingsApi *self,
               const char     *limits_json)
{
  g_autofree char *table_text = wb_carrier_table_to_json (self->carriers);
  g_autoptr(JsonNode) table = json_from_string (table_text, NULL);
  g_autoptr(JsonNode) limits = json_from_string (limits_json, NULL);
  JsonArray *items = json_object_get_array_member (json_node_get_object (table), "items");
  GString *out = g_string_new ("{\"items\":[");
  gint64 now_us = g_get_real_time ();

  for (guint i = 0; i < json_array_get_length (items); i++)
    {
      JsonNode *item = json_array_get_element (items, i);
      const char *code = json_object_get_string_member (json_node_get_object (item), "code");
      const WbCarrierConfig *carrier = wb_carrier_table_lookup (self->carriers, code);
      g_autofree char *config = json_to_string (item, FALSE);

      /* The configuration's members, then ours. */
      g_string_append_len (out, config, strlen (config) - 1);
      g_string_append_c (out, ',');
      write_limits (out, carrier, limits && JSON_NODE_HOLDS_OBJECT (limits) ? json_node_get_object (limits) : NULL);
      g_string_append_c (out, ',');
      write_requests (out, self->stats, code, now_us);
      g_string_append (out, i + 1 < json_array_get_length (items) ? "}," : "}");
    }
  g_string_append (out, "]}");
  return g_string_free (out, FALSE);
}

static void
on_limits (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  g_autoptr(Call) call = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *limits = wb_tracking_store_get_limits_finish (WB_TRACKING_STORE (source), result, &error);
  g_autofree char *json = NULL;

  if (limits == NULL)
    {
      respond_failure (call->request, error);
      return;
    }
  json = carriers_json (call->api, limits);
  wb_api_respond_json_text (call->request, SOUP_STATUS_OK, json);
}

static void
handle_carriers (WbHttpRequest *request,
                 gpointer       user_data)
{
  WbTrackingsApi *self = user_data;

  wb_http_request_pause (request);
  wb_tracking_store_get_limits_async (self->store, NULL, on_limits, call_new (self, request));
}

/* ---- the API ------------------------------------------------------------------------------ */

/**
 * wb_trackings_api_new:
 * @refresh_interval_us: a refresh within this long of the last one is 429
 *
 * Returns: (transfer full): the API; wb_trackings_api_register() puts it on
 *   a server
 */
WbTrackingsApi *
wb_trackings_api_new (WbTrackingStore *store,
                      WbCarrierTable  *carriers,
                      gint64           refresh_interval_us)
{
  WbTrackingsApi *self;

  g_return_val_if_fail (WB_IS_TRACKING_STORE (store), NULL);
  g_return_val_if_fail (WB_IS_CARRIER_TABLE (carriers), NULL);

  self = g_atomic_rc_box_new0 (WbTrackingsApi);
  self->store = g_object_ref (store);
  self->carriers = g_object_ref (carriers);
  self->refresh_interval_us = refresh_interval_us;
  return self;
}

/* GET /carriers reports @stats' request figures (those of this daemon's
 * carrier workers). */
void
wb_trackings_api_set_stats (WbTrackingsApi *self,
                            WbCarrierStats *stats)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (WB_IS_CARRIER_STATS (stats));

  g_set_object (&self->stats, stats);
}

/**
 * wb_trackings_api_register:
 *
 * Adds the /trackings and /carriers routes to @http; data/openapi/
 * trackings.json describes each. @self must outlive @http's routing.
 */
void
wb_trackings_api_register (WbTrackingsApi *self,
                           WbHttpServer   *http)
{
  /* The literal path comes before /trackings/{id}…, which could capture it. */
  const WbHttpRoute routes[] = {
    { "POST", "/trackings/get-by-ids", WB_ACCESS_ROLE_VIEWER, handle_get_by_ids },
    { "POST", "/trackings", WB_ACCESS_ROLE_DISPATCHER, handle_add },
    { "GET", "/trackings", WB_ACCESS_ROLE_VIEWER, handle_list },
    { "GET", "/trackings/{id}/events", WB_ACCESS_ROLE_VIEWER, handle_events },
    { "POST", "/trackings/{id}/refresh", WB_ACCESS_ROLE_DISPATCHER, handle_refresh },
    { "DELETE", "/trackings/{id}", WB_ACCESS_ROLE_DISPATCHER, handle_delete },
    { "GET", "/carriers", WB_ACCESS_ROLE_VIEWER, handle_carriers },
  };

  g_return_if_fail (self != NULL);
  g_return_if_fail (WB_IS_HTTP_SERVER (http));

  wb_http_server_add_routes (http, routes, G_N_ELEMENTS (routes), self);
}

void
wb_trackings_api_free (WbTrackingsApi *self)
{
  if (self == NULL)
    return;
  g_atomic_rc_box_release_full (self, api_clear);
}
