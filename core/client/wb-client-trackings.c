// SPDX-License-Identifier: GPL-3.0-or-later
/* WbClient's carrier polling calls: the keyset-paged trackings list,
 * adding numbers, a refresh, and each carrier's limits and figures. */
#include "config.h"

#include "wb-client-json-private.h"
#include "wb-client-private.h"
#include "wb-client-trackings.h"

static gpointer
read_tracking_page (JsonNode  *node,
                    GError   **error)
{
  return _wb_client_read_page (node, (WbClientReadItem) wb_client_tracking_read, error);
}

/**
 * wb_client_list_trackings_async:
 * @cursor: (nullable): the previous page's next cursor; %NULL for the first
 */
void
wb_client_list_trackings_async (WbClient                    *self,
                                const WbClientTrackingQuery *query,
                                const char                  *cursor,
                                GCancellable                *cancellable,
                                GAsyncReadyCallback          callback,
                                gpointer                     user_data)
{
  g_autofree char *path = NULL;

  g_return_if_fail (WB_IS_CLIENT (self));
  g_return_if_fail (query != NULL);

  path = wb_client_tracking_query_to_path (query, cursor);
  _wb_client_call_typed (self, path, "GET /trackings", read_tracking_page, _wb_client_page_free,
                         wb_client_list_trackings_async, cancellable, callback, user_data);
}

/**
 * wb_client_list_trackings_finish:
 * @out_next_cursor: (out) (optional) (transfer full) (nullable): %NULL on
 *   the last page
 *
 * Returns: (transfer container) (element-type WbClientTracking): by id
 */
GPtrArray *
wb_client_list_trackings_finish (WbClient      *self,
                                 GAsyncResult  *result,
                                 char         **out_next_cursor,
                                 GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return _wb_client_page_finish (result, out_next_cursor, error);
}

/* ---- POST /trackings ---------------------------------------------------------- */

static gboolean
read_added (WbJsonReader           *item,
            WbClientTrackingAdded  *added,
            GError                **error)
{
  gint64 index = 0, id = 0;
  gboolean present = FALSE;

  if (!wb_json_reader_get_int64 (item, "index", 0, G_MAXUINT32, &present, &index, error))
    return FALSE;
  added->index = (guint) index;
  if (wb_json_reader_has_member (item, "error"))
    {
      g_autoptr(WbJsonReader) failure = wb_json_reader_get_object_member (item, "error", TRUE, error);

      return failure != NULL
             && wb_json_reader_get_string (failure, "message", TRUE, &added->error_message, error)
             && wb_json_reader_get_string (failure, "field", FALSE, &added->error_field, error);
    }
  if (!wb_json_reader_get_int64 (item, "id", 1, G_MAXINT64, &present, &id, error)
      || (!present && !wb_json_reader_fail (item, "id", error, "is required"))
      || !wb_json_reader_get_boolean (item, "created", &added->created, error))
    return FALSE;
  added->id = id;
  return TRUE;
}

static gpointer
read_added_list (JsonNode  *node,
                 GError   **error)
{
  g_autoptr(WbJsonReader) reader = wb_json_reader_new_for_node (node, "", error);
  g_autoptr(GPtrArray) results = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_client_tracking_added_free);
  guint length = 0;

  if (reader == NULL || !wb_json_reader_get_array_length (reader, "items", &length, error))
    return NULL;
  for (guint i = 0; i < length; i++)
    {
      g_autoptr(WbJsonReader) element = wb_json_reader_get_array_element (reader, "items", i, error);
      WbClientTrackingAdded *added = g_new0 (WbClientTrackingAdded, 1);

      g_ptr_array_add (results, added);
      if (element == NULL || !read_added (element, added, error))
        return NULL;
    }
  return g_steal_pointer (&results);
}

/**
 * wb_client_add_trackings_async:
 * @numbers: the track numbers, each tracked with @carrier_code
 *
 * POST /trackings. Each number gets its own outcome: a new tracking, the
 * one already tracking it, or its error (the request as a whole fails
 * only when the server refuses it whole, e.g. too many numbers).
 */
void
wb_client_add_trackings_async (WbClient            *self,
                               const char          *carrier_code,
                               const char * const  *numbers,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) body = NULL;

  g_return_if_fail (WB_IS_CLIENT (self));
  g_return_if_fail (carrier_code != NULL && numbers != NULL);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "items");
  json_builder_begin_array (builder);
  for (guint i = 0; numbers[i] != NULL; i++)
    {
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "carrierCode");
      json_builder_add_string_value (builder, carrier_code);
      json_builder_set_member_name (builder, "trackNumber");
      json_builder_add_string_value (builder, numbers[i]);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  body = json_builder_get_root (builder);
  _wb_client_call_typed_full (self, "POST", "/trackings", body, "POST /trackings", read_added_list,
                              (GDestroyNotify) g_ptr_array_unref, wb_client_add_trackings_async,
                              cancellable, callback, user_data);
}

/**
 * wb_client_add_trackings_finish:
 *
 * Returns: (transfer container) (element-type WbClientTrackingAdded): one
 *   per number, in order
 */
GPtrArray *
wb_client_add_trackings_finish (WbClient      *self,
                                GAsyncResult  *result,
                                GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- POST /trackings/{id}/refresh --------------------------------------------- */

static gpointer
read_tracking (JsonNode  *node,
               GError   **error)
{
  g_autoptr(WbJsonReader) reader = wb_json_reader_new_for_node (node, "", error);

  return reader != NULL ? wb_client_tracking_read (reader, error) : NULL;
}

/**
 * wb_client_refresh_tracking_async:
 *
 * POST /trackings/{id}/refresh: the tracking is due now. Refreshed again
 * too soon, it fails with BAD_REQUEST (429) and the server's reason.
 */
void
wb_client_refresh_tracking_async (WbClient            *self,
                                  gint64               tracking_id,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_autofree char *path = NULL;

  g_return_if_fail (WB_IS_CLIENT (self));

  path = g_strdup_printf ("/trackings/%" G_GINT64_FORMAT "/refresh", tracking_id);
  _wb_client_call_typed_full (self, "POST", path, NULL, "POST /trackings/{id}/refresh", read_tracking,
                              g_object_unref, wb_client_refresh_tracking_async, cancellable, callback, user_data);
}

/**
 * wb_client_refresh_tracking_finish:
 *
 * Returns: (transfer full): the tracking, due now
 */
WbClientTracking *
wb_client_refresh_tracking_finish (WbClient      *self,
                                   GAsyncResult  *result,
                                   GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- GET /carriers ---------------------------------------------------------------- */

static gboolean
read_count (WbJsonReader  *reader,
            const char    *member,
            guint64       *out_value,
            GError       **error)
{
  gint64 value = 0;
  gboolean present = FALSE;

  if (!wb_json_reader_get_int64 (reader, member, 0, G_MAXINT64, &present, &value, error))
    return FALSE;
  *out_value = (guint64) value;
  return TRUE;
}

static gboolean
read_limits (WbJsonReader     *item,
             WbClientCarrier  *carrier,
             GError          **error)
{
  g_autoptr(WbJsonReader) limits = NULL;
  gboolean present = FALSE;

  if (!wb_json_reader_has_member (item, "limits"))
    return TRUE;
  limits = wb_json_reader_get_object_member (item, "limits", FALSE, error);
  if (limits == NULL)
    return error == NULL || *error == NULL;
  carrier->has_limits = TRUE;
  carrier->quota_left_today = -1;
  return wb_json_reader_get_int64 (limits, "quotaUsedToday", 0, G_MAXINT64, &present, &carrier->quota_used_today,
                                   error)
         && wb_json_reader_get_int64 (limits, "quotaLeftToday", 0, G_MAXINT64, &present,
                                      &carrier->quota_left_today, error)
         && (present || (carrier->quota_left_today = -1, TRUE))
         && wb_json_reader_get_string (limits, "breaker", FALSE, &carrier->breaker, error)
         && _wb_client_read_time (limits, "breakerOpenUntil", FALSE, &carrier->breaker_open_until, error)
         && _wb_client_read_time (limits, "blockedUntil", FALSE, &carrier->blocked_until, error);
}

static gboolean
read_last_hour (WbJsonReader     *item,
                WbClientCarrier  *carrier,
                GError          **error)
{
  guint length = 0;

  if (!wb_json_reader_has_member (item, "lastHour"))
    return TRUE;
  if (!wb_json_reader_get_array_length (item, "lastHour", &length, error))
    return FALSE;
  carrier->last_hour = g_array_sized_new (FALSE, TRUE, sizeof (WbClientCarrierMinute), length);
  for (guint i = 0; i < length; i++)
    {
      g_autoptr(WbJsonReader) element = wb_json_reader_get_array_element (item, "lastHour", i, error);
      WbClientCarrierMinute minute = { 0 };
      guint64 ok = 0, failed = 0, throttled = 0;

      if (element == NULL
          || !_wb_client_read_time (element, "minute", TRUE, &minute.minute, error)
          || !read_count (element, "ok", &ok, error)
          || !read_count (element, "error", &failed, error)
          || !read_count (element, "throttled", &throttled, error))
        return FALSE;
      minute.ok = (guint) MIN (ok, G_MAXUINT);
      minute.error = (guint) MIN (failed, G_MAXUINT);
      minute.throttled = (guint) MIN (throttled, G_MAXUINT);
      g_array_append_val (carrier->last_hour, minute);
    }
  return TRUE;
}

static gboolean
read_requests (WbJsonReader     *item,
               WbClientCarrier  *carrier,
               GError          **error)
{
  g_autoptr(WbJsonReader) requests = NULL;
  g_autoptr(WbJsonReader) wait = NULL;
  guint64 ok = 0, not_found = 0, failed = 0, unreadable = 0, timeout = 0;
  gboolean present = FALSE;

  if (!wb_json_reader_has_member (item, "requests"))
    return TRUE;
  requests = wb_json_reader_get_object_member (item, "requests", FALSE, error);
  if (requests == NULL)
    return error == NULL || *error == NULL;
  carrier->has_requests = TRUE;
  if (!read_count (requests, "ok", &ok, error) || !read_count (requests, "notFound", &not_found, error)
      || !read_count (requests, "throttled", &carrier->throttled, error)
      || !read_count (requests, "error", &failed, error) || !read_count (requests, "unreadable", &unreadable, error)
      || !read_count (requests, "timeout", &timeout, error))
    return FALSE;
  carrier->ok = ok + not_found;
  carrier->failed = failed + unreadable + timeout;
  if (wb_json_reader_has_member (item, "permitWait"))
    {
      wait = wb_json_reader_get_object_member (item, "permitWait", FALSE, error);
      if (wait == NULL && error != NULL && *error != NULL)
        return FALSE;
      if (wait != NULL
          && !wb_json_reader_get_double (wait, "sumSeconds", 0, G_MAXDOUBLE, &present, &carrier->permit_wait_s, error))
        return FALSE;
    }
  return read_last_hour (item, carrier, error);
}

static WbClientCarrier *
read_carrier (WbJsonReader  *item,
              GError       **error)
{
  g_autoptr(WbClientCarrier) carrier = g_new0 (WbClientCarrier, 1);
  gint64 burst = 0, quota = 0;
  gboolean present = FALSE;

  carrier->quota_left_today = -1;
  if (!wb_json_reader_get_string (item, "code", TRUE, &carrier->code, error)
      || !wb_json_reader_get_string (item, "driver", FALSE, &carrier->driver, error)
      || !wb_json_reader_get_double (item, "rate", 0, G_MAXDOUBLE, &present, &carrier->rate, error)
      || !wb_json_reader_get_int64 (item, "burst", 0, G_MAXUINT32, &present, &burst, error)
      || !wb_json_reader_get_int64 (item, "dailyQuota", 0, G_MAXUINT32, &present, &quota, error)
      || !read_limits (item, carrier, error)
      || !read_requests (item, carrier, error))
    return NULL;
  carrier->burst = (guint) burst;
  carrier->daily_quota = (guint) quota;
  return g_steal_pointer (&carrier);
}

static gpointer
read_carriers (JsonNode  *node,
               GError   **error)
{
  g_autoptr(WbJsonReader) reader = wb_json_reader_new_for_node (node, "", error);
  g_autoptr(GPtrArray) carriers = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_client_carrier_free);
  guint length = 0;

  if (reader == NULL || !wb_json_reader_get_array_length (reader, "items", &length, error))
    return NULL;
  for (guint i = 0; i < length; i++)
    {
      g_autoptr(WbJsonReader) element = wb_json_reader_get_array_element (reader, "items", i, error);
      WbClientCarrier *carrier = element != NULL ? read_carrier (element, error) : NULL;

      if (carrier == NULL)
        return NULL;
      g_ptr_array_add (carriers, carrier);
    }
  return g_steal_pointer (&carriers);
}

void
wb_client_list_carriers_async (WbClient            *self,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_return_if_fail (WB_IS_CLIENT (self));
  _wb_client_call_typed (self, "/carriers", "GET /carriers", read_carriers, (GDestroyNotify) g_ptr_array_unref,
                         wb_client_list_carriers_async, cancellable, callback, user_data);
}

/**
 * wb_client_list_carriers_finish:
 *
 * Returns: (transfer container) (element-type WbClientCarrier): as the
 *   carriers file lists them
 */
GPtrArray *
wb_client_list_carriers_finish (WbClient      *self,
                                GAsyncResult  *result,
                                GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
