// SPDX-License-Identifier: GPL-3.0-or-later

#include "config.h"

#include <string.h>

#include "wb-api-errors.h"
#include "wb-db.h"
#include "wb-json-input.h"

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

static void
respond_input_error (WbHttpRequest *request,
                     const GError  *error)
{
  g_autofree char *field = NULL;
  const char *code = "invalid_field";

  if (g_error_matches (error, WB_JSON_INPUT_ERROR, WB_JSON_INPUT_ERROR_SYNTAX))
    code = "invalid_json";
  else if (g_error_matches (error, WB_JSON_INPUT_ERROR, WB_JSON_INPUT_ERROR_NOT_OBJECT))
    code = "invalid_body";
  else
    field = wb_json_input_error_get_field (error);
  wb_api_respond_error (request, SOUP_STATUS_BAD_REQUEST, code, field, error->message, 0);
}

void
wb_api_respond_common_failure (WbHttpRequest *request,
                               const GError  *error,
                               const char    *area)
{
  const char *request_id = wb_http_request_get_id (request);

  if (error->domain == WB_JSON_INPUT_ERROR)
    respond_input_error (request, error);
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
