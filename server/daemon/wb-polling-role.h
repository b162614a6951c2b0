// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-carrier-table.h"
#include "wb-polling-ladder.h"
#include "wb-roles.h"
#include "wb-trackings-api.h"

G_BEGIN_DECLS

/* Carrier polling's settings: polling.carriers-file, polling.ladder-file
 * and polling.profile, read once per role. */
gboolean        wb_polling_settings_load (WbConfig          *config,
                                          WbCarrierTable   **out_carriers,
                                          WbPollingLadder  **out_ladder,
                                          GError           **error);
/* The api role's /trackings and /carriers. */
WbTrackingsApi *wb_polling_api_new       (const WbRoleContext  *context,
                                          GError              **error);

/* The scheduler and carrier-worker roles' rows of the role table. */
extern const WbRolePipeline wb_scheduler_pipeline;
extern const WbRolePipeline wb_carrier_worker_pipeline;

G_END_DECLS
