// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "wb-client-shipment.h"
#include "wb-client-shipment-event.h"
#include "wb-client-track.h"
#include "wb-live-view.h"
#include "wb-client-shipment-query.h"
#include "wb-directory.h"
#include "wb-vehicle-ref.h"

G_BEGIN_DECLS

#define WB_CLIENT_ERROR (wb_client_error_quark ())

typedef enum
{
  WB_CLIENT_ERROR_CONNECTION_REFUSED,  /* nothing listens at the server's address */
  WB_CLIENT_ERROR_TIMEOUT,             /* no answer within the client's timeout */
  WB_CLIENT_ERROR_NETWORK,             /* any other transport failure (name lookup, reset, TLS) */
  WB_CLIENT_ERROR_UNAUTHORIZED,        /* 401: no token, or a bad or expired one */
  WB_CLIENT_ERROR_FORBIDDEN,           /* 403: the token's role may not do this */
  WB_CLIENT_ERROR_NOT_FOUND,           /* 404 */
  WB_CLIENT_ERROR_BAD_REQUEST,         /* any other 4xx; wb_client_error_get_field() names the field */
  WB_CLIENT_ERROR_UNAVAILABLE,         /* 503: not ready, or its database is away; retry later */
  WB_CLIENT_ERROR_SERVER,              /* any other 5xx */
  WB_CLIENT_ERROR_INVALID_RESPONSE,    /* the answer is not JSON, or not of the shape the API says */
} WbClientError;

GQuark      wb_client_error_quark      (void);
/* The API's own error code ("invalid_field", "not_found"…), %NULL unless
 * the server answered one. */
const char *wb_client_error_get_code   (const GError *error);
/* The field at fault ("bbox", "recipient.phone"), %NULL when none. */
const char *wb_client_error_get_field  (const GError *error);
/* The HTTP status of an answered request, 0 for a transport failure. */
guint       wb_client_error_get_status (const GError *error);

#define WB_TYPE_CLIENT (wb_client_get_type ())

G_DECLARE_FINAL_TYPE (WbClient, wb_client, WB, CLIENT, GObject)

/* A connection to one waybilld, as a web client has it: one SoupSession
 * (User-Agent "Waybill/<version>"), the server's base URL and a bearer
 * token. Every call is asynchronous; callbacks run in the thread-default
 * main context of the caller. */
WbClient   *wb_client_new              (const char          *base_url,
                                        const char          *token);
const char *wb_client_get_base_url     (WbClient            *self);
const char *wb_client_get_token        (WbClient            *self);
void        wb_client_set_token        (WbClient            *self,
                                        const char          *token);
/* A request without an answer by then fails with WB_CLIENT_ERROR_TIMEOUT
 * (default 30 s). */
void        wb_client_set_timeout      (WbClient            *self,
                                        guint                timeout_ms);
guint       wb_client_get_timeout      (WbClient            *self);

/* Generic JSON calls. @path is below the base URL and may carry a query
 * ("/locations?bbox=…"); @body is sent as application/json. The answer is
 * read by core/json's guarded parser; an error answer becomes a
 * WB_CLIENT_ERROR carrying the API's code, message and field. A 204 or
 * empty answer finishes with a JSON null node. */
void        wb_client_call_json_async  (WbClient            *self,
                                        const char          *method,
                                        const char          *path,
                                        JsonNode            *body,
                                        GCancellable        *cancellable,
                                        GAsyncReadyCallback  callback,
                                        gpointer             user_data);
/* The same with If-Match (a PATCH of what was read at that version). */
void        wb_client_call_json_if_match_async (WbClient            *self,
                                                const char          *method,
                                                const char          *path,
                                                JsonNode            *body,
                                                const char          *if_match,
                                                GCancellable        *cancellable,
                                                GAsyncReadyCallback  callback,
                                                gpointer             user_data);
JsonNode   *wb_client_call_json_finish (WbClient            *self,
                                        GAsyncResult        *result,
                                        GError             **error);
void        wb_client_get_json_async   (WbClient            *self,
                                        const char          *path,
                                        GCancellable        *cancellable,
                                        GAsyncReadyCallback  callback,
                                        gpointer             user_data);
void        wb_client_post_json_async  (WbClient            *self,
                                        const char          *path,
                                        JsonNode            *body,
                                        GCancellable        *cancellable,
                                        GAsyncReadyCallback  callback,
                                        gpointer             user_data);
void        wb_client_put_json_async   (WbClient            *self,
                                        const char          *path,
                                        JsonNode            *body,
                                        GCancellable        *cancellable,
                                        GAsyncReadyCallback  callback,
                                        gpointer             user_data);
void        wb_client_patch_json_async (WbClient            *self,
                                        const char          *path,
                                        JsonNode            *body,
                                        GCancellable        *cancellable,
                                        GAsyncReadyCallback  callback,
                                        gpointer             user_data);
/* Finishes any of the four above. */
#define     wb_client_get_json_finish   wb_client_call_json_finish
#define     wb_client_post_json_finish  wb_client_call_json_finish
#define     wb_client_put_json_finish   wb_client_call_json_finish
#define     wb_client_patch_json_finish wb_client_call_json_finish

/* GET /readyz: TRUE when ready; a daemon that is not ready fails with
 * WB_CLIENT_ERROR_UNAVAILABLE, its message saying why. */
void        wb_client_readyz_async     (WbClient            *self,
                                        GCancellable        *cancellable,
                                        GAsyncReadyCallback  callback,
                                        gpointer             user_data);
gboolean    wb_client_readyz_finish    (WbClient            *self,
                                        GAsyncResult        *result,
                                        GError             **error);

/* GET /whoami: the token's role ("viewer", "dispatcher", "admin") and
 * subject (nullable). */
void        wb_client_whoami_async     (WbClient            *self,
                                        GCancellable        *cancellable,
                                        GAsyncReadyCallback  callback,
                                        gpointer             user_data);
gboolean    wb_client_whoami_finish    (WbClient            *self,
                                        GAsyncResult        *result,
                                        char               **out_role,
                                        char               **out_subject,
                                        GError             **error);

/* GET /locations: the vehicles in @bbox (nullable: the whole world) of
 * @company_ids (nullable or empty: every company), and the stream position
 * {epoch, seq} the snapshot stands at.
 * Returns: (transfer container) (element-type WbLiveVehicle). */
void        wb_client_get_locations_async  (WbClient            *self,
                                            const WbLiveBbox    *bbox,
                                            const char * const  *company_ids,
                                            GCancellable        *cancellable,
                                            GAsyncReadyCallback  callback,
                                            gpointer             user_data);
GPtrArray  *wb_client_get_locations_finish (WbClient            *self,
                                            GAsyncResult        *result,
                                            char               **out_epoch,
                                            guint64             *out_seq,
                                            GError             **error);

/* Every company, driver and vehicle the server lists (all pages of GET
 * /companies, /drivers and /vehicles), to name ids and fill pickers. */
void         wb_client_load_directory_async  (WbClient            *self,
                                              GCancellable        *cancellable,
                                              GAsyncReadyCallback  callback,
                                              gpointer             user_data);
WbDirectory *wb_client_load_directory_finish (WbClient            *self,
                                              GAsyncResult        *result,
                                              GError             **error);

/* Every vehicle of GET /vehicles (all pages), with its driver's and
 * company's names from GET /drivers and GET /companies, ordered by id.
 * Returns: (transfer container) (element-type WbVehicleRef). */
void        wb_client_list_vehicles_async  (WbClient            *self,
                                            GCancellable        *cancellable,
                                            GAsyncReadyCallback  callback,
                                            gpointer             user_data);
GPtrArray  *wb_client_list_vehicles_finish (WbClient            *self,
                                            GAsyncResult        *result,
                                            GError             **error);

/* GET /vehicles/{id}/track for [@from_us, @to_us) (unix µs; 0 for the
 * server's default of the last 24 h), simplified at @tolerance_m metres
 * (negative: the server's default). */
void            wb_client_get_track_async  (WbClient            *self,
                                            const char          *vehicle_id,
                                            gint64               from_us,
                                            gint64               to_us,
                                            double               tolerance_m,
                                            GCancellable        *cancellable,
                                            GAsyncReadyCallback  callback,
                                            gpointer             user_data);
WbClientTrack  *wb_client_get_track_finish (WbClient            *self,
                                            GAsyncResult        *result,
                                            GError             **error);

/* GET /shipments/search: one page of shipments matching @query, newest
 * first, after @cursor (%NULL: the first page). A bad parameter fails
 * with WB_CLIENT_ERROR_BAD_REQUEST, wb_client_error_get_field() naming it
 * ("phone", "createdFrom").
 * Returns: (transfer container) (element-type WbClientShipment). */
void              wb_client_search_shipments_async      (WbClient              *self,
                                                         const WbClientShipmentQuery *query,
                                                         const char            *cursor,
                                                         GCancellable          *cancellable,
                                                         GAsyncReadyCallback    callback,
                                                         gpointer               user_data);
GPtrArray        *wb_client_search_shipments_finish     (WbClient              *self,
                                                         GAsyncResult          *result,
                                                         char                 **out_next_cursor,
                                                         GError               **error);

/* GET /shipments/{id}: the shipment's aggregated view. */
void              wb_client_get_shipment_async          (WbClient              *self,
                                                         const char            *shipment_id,
                                                         GCancellable          *cancellable,
                                                         GAsyncReadyCallback    callback,
                                                         gpointer               user_data);
WbClientShipment *wb_client_get_shipment_finish         (WbClient              *self,
                                                         GAsyncResult          *result,
                                                         GError               **error);

/* GET /shipments/{id}/events: its stored status events, newest first.
 * Returns: (transfer container) (element-type WbClientShipmentEvent). */
void              wb_client_list_shipment_events_async  (WbClient              *self,
                                                         const char            *shipment_id,
                                                         guint                  limit,
                                                         guint                  offset,
                                                         GCancellable          *cancellable,
                                                         GAsyncReadyCallback    callback,
                                                         gpointer               user_data);
GPtrArray        *wb_client_list_shipment_events_finish (WbClient              *self,
                                                         GAsyncResult          *result,
                                                         guint64               *out_total,
                                                         GError               **error);

G_END_DECLS
