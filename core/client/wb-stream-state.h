// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/* Where a WebSocket stream of a WbClient stands. */
typedef enum
{
  WB_STREAM_STATE_DISCONNECTED,   /* not started, or stopped */
  WB_STREAM_STATE_CONNECTING,     /* the first connection, until the server answers the subscribe */
  WB_STREAM_STATE_LIVE,           /* subscribed: what the client holds is current */
  WB_STREAM_STATE_RECONNECTING,   /* lost: waiting out the back-off or connecting again */
} WbStreamState;

#define WB_TYPE_STREAM_STATE (wb_stream_state_get_type ())

GType       wb_stream_state_get_type  (void) G_GNUC_CONST;
/* "disconnected", "connecting", "live", "reconnecting" */
const char *wb_stream_state_to_string (WbStreamState state);

G_END_DECLS
