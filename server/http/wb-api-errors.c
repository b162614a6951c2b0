// SPDX-License-Identifier: GPL-3.0-or-later

#include "config.h"

#include <string.h>

#include "wb-api-errors.h"
#include "wb-db.h"
#include "wb-json-reader.h"

void
wb_api_respond_json_text (WbHttpRequest *request,
                          guint          status,
                          const char    *json)
{
  g_autoptr(GBytes) body = g_bytes_new (json, strlen (json));

  wb_http_request_respond (request, status, "application/json", body);
}

void
wb_api_respond_error (WbHttpRequest *request,
                      guint          status,
                      const char    *code,
                      const char    *field,
                      const char    *message,
                      gint64         current_version)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) node = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "error");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "code");
  json_builder_add_string_value (builder, code);
  json_builder_set_member_name (builder, "message");
  json_builder_add_string_value (builder, message);
  if (field != NULL)
    {
      json_builder_set_member_name (builder, "field");
      json_builder_add_string_value (builder, field);
    }
  json_builder_end_object (builder);
  if (current_version > 0)
    {
      json_builder_set_member_name (builder, "currentVersion");
      json_builder_add_int_value (builder, current_version);
    }
  json_builder_end_object (builder);
  node = json_builder_get_root (builder);
  wb_http_request_respond_json (request, status, node);
}

/**
 * wb_api_json_error_code:
 * @error: a %WB_JSON_ERROR
 *
 * Returns: "invalid_json" for a body that is not JSON (or too large or deep),
 *   "invalid_body" for one that is JSON of the wrong shape as a whole,
 *   "invalid_field" when one member is wrong (wb_json_error_get_field())
 */
const char *
wb_api_json_error_code (const GError *error)
{
  const char *field;

  g_return_val_if_fail (error != NULL && error->domain == WB_JSON_ERROR, "invalid_body");

  if (error->code != WB_JSON_ERROR_FIELD)
    return "invalid_json";
  field = wb_json_error_get_field (error);
  return field == NULL || *field == '\0' ? "invalid_body" : "invalid_field";
}

/**
 * wb_api_json_error_message:
 * @error: a %WB_JSON_ERROR
 *
 * Returns: (transfer full): the message a client reads: a syntax error says
 *   first that the body is not JSON, then what and where
 */
char *
wb_api_json_error_message (const GError *error)
{
  g_return_val_if_fail (error != NULL, NULL);

  if (g_error_matches (error, WB_JSON_ERROR, WB_JSON_ERROR_SYNTAX))
    return g_strconcat ("The body is not valid JSON: ", error->message, NULL);
  if (g_error_matches (error, WB_JSON_ERROR, WB_JSON_ERROR_TOO_DEEP))
    return g_strconcat ("The body is not accepted: ", error->message, NULL);
  return g_strdup (error->message);
}

/**
 * wb_api_respond_json_error:
 * @error: a %WB_JSON_ERROR
 *
 * 400 with the error's code (wb_api_json_error_code()) and field.
 */
void
wb_api_respond_json_error (WbHttpRequest *request,
                           const GError  *error)
{
  const char *code = wb_api_json_error_code (error);
  g_autofree char *message = wb_api_json_error_message (error);

  wb_api_respond_error (request, SOUP_STATUS_BAD_REQUEST, code,
                        g_str_equal (code, "invalid_field") ? wb_json_error_get_field (error) : NULL,
                        message, 0);
}

gboolean
wb_api_read_entity_tags (WbHttpRequest    *request,
                         const char       *name,
                         WbEntityTagList **out_tags)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *message = NULL;

  *out_tags = wb_http_request_get_entity_tags (request, name, &error);
  if (error == NULL)
    return TRUE;
  message = g_strdup_printf ("%s: %s", name, error->message);
  wb_api_respond_error (request, SOUP_STATUS_BAD_REQUEST, "invalid_header", name, message, 0);
  return FALSE;
}

void
wb_api_respond_common_failure (WbHttpRequest *request,
                               const GError  *error,
                               const char    *area)
{
  const char *request_id = wb_http_request_get_id (request);

  if (error->domain == WB_JSON_ERROR)
    wb_api_respond_json_error (request, error);
  else if (g_error_matches (error, WB_DB_ERROR, WB_DB_ERROR_UNAVAILABLE)
           || g_error_matches (error, WB_DB_ERROR, WB_DB_ERROR_CONNECT))
    {
      g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "REQUEST_ID", request_id,
                        "MESSAGE", "%s request %s: %s", area, request_id, error->message);
      wb_http_request_set_header (request, "Retry-After", "1");
      wb_api_respond_error (request, SOUP_STATUS_SERVICE_UNAVAILABLE, "unavailable", NULL,
                            "The database is unavailable; retry shortly", 0);
    }
  else
    {
      g_autofree char *message = g_strdup_printf ("Internal error; quote request id %s", request_id);

      g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "REQUEST_ID", request_id,
                        "MESSAGE", "%s request %s failed: %s", area, request_id, error->message);
      wb_api_respond_error (request, SOUP_STATUS_INTERNAL_SERVER_ERROR, "internal", NULL, message, 0);
    }
}
