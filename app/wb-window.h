// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <adwaita.h>

#include "wb-alert-center.h"

#include "wb-client.h"
#include "wb-location-stream.h"
#include "wb-vehicle-model.h"

G_BEGIN_DECLS

/* What the window says about the live stream, without ever a dialog. */
typedef enum
{
  WB_CONNECTION_DISCONNECTED,   /* no server, or given up */
  WB_CONNECTION_CONNECTING,     /* first connection */
  WB_CONNECTION_LIVE,
  WB_CONNECTION_RECONNECTING,   /* lost: the map keeps its last picture, marked stale */
} WbConnectionState;

#define WB_TYPE_WINDOW (wb_window_get_type ())

G_DECLARE_FINAL_TYPE (WbWindow, wb_window, WB, WINDOW, AdwApplicationWindow)

/* The fleet window: the map and, in a sidebar, the vehicle list on the same
 * live model, the selected vehicle's panel, and the connection state. */
WbWindow          *wb_window_new                    (GtkApplication    *application,
                                                     WbVehicleModel    *model,
                                                     GSettings         *settings);
WbVehicleModel    *wb_window_get_model              (WbWindow          *self);
/* Shows the first-run page instead of the fleet until a server is set. */
void               wb_window_show_first_run         (WbWindow          *self);
void               wb_window_show_fleet             (WbWindow          *self,
                                                     const char        *server_url);
void               wb_window_set_connection_state   (WbWindow          *self,
                                                     WbConnectionState  state,
                                                     const char        *detail);
WbConnectionState  wb_window_get_connection_state   (WbWindow          *self);
/* Selects the vehicle in the list (scrolling to it) and opens its panel;
 * what a click on the map does. %NULL unselects. */
void               wb_window_select_vehicle         (WbWindow          *self,
                                                     const char        *vehicle_id);
WbClientVehicle   *wb_window_get_selected           (WbWindow          *self);
/* The list as shown: the model through search, filters and sort. */
GListModel        *wb_window_get_list_model         (WbWindow          *self);
/* Live counts the filter buttons show: what each state or company would
 * show under the other filters. */
guint              wb_window_get_state_count        (WbWindow          *self,
                                                     WbLiveState        state);
guint              wb_window_get_company_count      (WbWindow          *self,
                                                     const char        *company_id);
/* Recounts now rather than at the next debounced tick. */
void               wb_window_update_counts          (WbWindow          *self);
/* The server's client and live stream: the stream's view follows the
 * map, its state shows as the connection strip, the panel loads tracks
 * through the client. %NULL for both detaches. */
/* Alerts: the header's button and list, toasts, desktop notifications
 * while the window is not in use, sounds as the settings ask. */
void               wb_window_set_alert_center       (WbWindow          *self,
                                                     WbAlertCenter     *center);
/* Whether the last alert also went out as a desktop notification. */
gboolean           wb_window_get_last_alert_notified (WbWindow         *self);
/* Names for the views' ids and their filters' pickers; nullable. */
void               wb_window_set_directory          (WbWindow          *self,
                                                     WbDirectory       *directory);
void               wb_window_set_stream             (WbWindow          *self,
                                                     WbClient          *client,
                                                     WbLocationStream  *stream);
/* Tile template or "none"; applied to the map at once. */
void               wb_window_set_tiles              (WbWindow          *self,
                                                     const char        *tiles);

G_END_DECLS
