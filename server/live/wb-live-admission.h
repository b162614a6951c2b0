// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <libsoup/soup.h>

#include "wb-metrics.h"

G_BEGIN_DECLS

typedef struct _WbLiveAdmission WbLiveAdmission;

/* The connection limits of one stream endpoint: at most @max_total open
 * and @max_per_peer from one address. A refusal is counted in
 * @rejected_metric{reason=total|per_peer}. Any thread may admit and
 * release (the gateway's stream threads share one). */
WbLiveAdmission *wb_live_admission_new     (WbMetrics               *metrics,
                                            const char              *rejected_metric,
                                            const char              *what,
                                            guint                    max_total,
                                            guint                    max_per_peer);
void             wb_live_admission_free    (WbLiveAdmission         *self);
/* Counts the connection in, or closes it at once with 1008 and a reason
 * and returns %FALSE. 1013 (try again later) would be the apt code, but
 * libsoup 3.2's client, the console's, takes it for a protocol error. */
gboolean         wb_live_admission_admit   (WbLiveAdmission         *self,
                                            GIOStream               *stream,
                                            GSocket                 *socket,
                                            const char              *peer);
/* A connection admitted from @peer has closed. */
void             wb_live_admission_release (WbLiveAdmission         *self,
                                            const char              *peer);
guint            wb_live_admission_get_open (WbLiveAdmission        *self);
/* Forgets every connection (the endpoint stops). */
void             wb_live_admission_reset   (WbLiveAdmission         *self);

G_END_DECLS
