// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#if !defined (WB_CLIENT_COMPILATION)
# error "wb-location-stream-private.h is private to core/client"
#endif

#include "wb-location-stream.h"
#include "wb-stream-link-private.h"

G_BEGIN_DECLS

WbStreamLink *_wb_location_stream_get_link (WbLocationStream *self);

G_END_DECLS
