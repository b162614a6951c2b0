// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include "wb-stream-state.h"

static const GEnumValue values[] = {
  { WB_STREAM_STATE_DISCONNECTED, "WB_STREAM_STATE_DISCONNECTED", "disconnected" },
  { WB_STREAM_STATE_CONNECTING, "WB_STREAM_STATE_CONNECTING", "connecting" },
  { WB_STREAM_STATE_LIVE, "WB_STREAM_STATE_LIVE", "live" },
  { WB_STREAM_STATE_RECONNECTING, "WB_STREAM_STATE_RECONNECTING", "reconnecting" },
  { 0, NULL, NULL },
};

GType
wb_stream_state_get_type (void)
{
  static gsize type = 0;

  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("WbStreamState", values));
  return type;
}

const char *
wb_stream_state_to_string (WbStreamState state)
{
  g_return_val_if_fail (state <= WB_STREAM_STATE_RECONNECTING, NULL);
  return values[state].value_nick;
}
