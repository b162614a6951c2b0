// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#if !defined (WB_CLIENT_COMPILATION)
# error "wb-event-stream-private.h is private to core/client"
#endif

#include "wb-event-stream.h"
#include "wb-stream-link-private.h"

G_BEGIN_DECLS

WbStreamLink *_wb_event_stream_get_link (WbEventStream *self);

G_END_DECLS
