// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-http-server.h"

G_BEGIN_DECLS

/* Answers shared by the REST modules (shipments, fleet, …). */

void     wb_api_respond_json_text      (WbHttpRequest *request,
                                        guint          status,
                                        const char    *json);
/* {"error":{"code","message","field"?}} and, when current_version > 0,
 * "currentVersion" beside it (stale writes). */
void     wb_api_respond_error          (WbHttpRequest *request,
                                        guint          status,
                                        const char    *code,
                                        const char    *field,
                                        const char    *message,
                                        gint64         current_version);
const char *wb_api_json_error_code   (const GError  *error);
char    *wb_api_json_error_message     (const GError  *error);
void     wb_api_respond_json_error     (WbHttpRequest *request,
                                        const GError  *error);
/* The request's @name header (If-Match, If-None-Match) as entity-tags;
 * *out_tags is NULL when it is absent. Returns FALSE after answering 400
 * invalid_header naming it when it is not an entity-tag list. */
gboolean wb_api_read_entity_tags       (WbHttpRequest    *request,
                                        const char       *name,
                                        WbEntityTagList **out_tags);
/* The failures every API answers alike: a malformed body (400 naming the
 * field), the database unavailable (503 + Retry-After), anything else (500;
 * the details are logged with the request id, never shown: they may carry
 * SQL). @area names the API in the log. */
void     wb_api_respond_common_failure (WbHttpRequest *request,
                                        const GError  *error,
                                        const char    *area);

G_END_DECLS
