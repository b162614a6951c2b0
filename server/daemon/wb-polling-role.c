// SPDX-License-Identifier: GPL-3.0-or-later
/* Carrier polling in waybilld: the api role's trackings resources, and the
 * scheduler and carrier-worker roles (docs/polling.md). */

#include "config.h"

#include "wb-polling-role.h"

gboolean
wb_polling_settings_load (WbConfig          *config,
                          WbCarrierTable   **out_carriers,
                          WbPollingLadder  **out_ladder,
                          GError           **error)
{
  const char *ladder_file = wb_config_get_string (config, "polling.ladder-file");
  g_autofree char *ladder_text = NULL;
  g_autoptr(GError) local_error = NULL;

  if (ladder_file != NULL && *ladder_file != '\0'
      && !g_file_get_contents (ladder_file, &ladder_text, NULL, &local_error))
    {
      g_set_error (error, WB_CONFIG_ERROR, WB_CONFIG_ERROR_INVALID_VALUE, "polling.ladder-file: %s",
                   local_error->message);
      return FALSE;
    }
  *out_carriers = wb_carrier_table_load (wb_config_get_string (config, "polling.carriers-file"), error);
  if (*out_carriers == NULL)
    return FALSE;
  *out_ladder = wb_polling_ladder_load (ladder_text, wb_config_get_string (config, "polling.profile"), error);
  if (*out_ladder == NULL)
    {
      g_clear_object (out_carriers);
      return FALSE;
    }
  return TRUE;
}

WbTrackingsApi *
wb_polling_api_new (const WbRoleContext  *context,
                    GError              **error)
{
  g_autoptr(WbCarrierTable) carriers = NULL;
  g_autoptr(WbPollingLadder) ladder = NULL;
  g_autoptr(WbTrackingStore) store = NULL;

  if (!wb_polling_settings_load (context->config, &carriers, &ladder, error))
    return NULL;
  store = wb_tracking_store_new (context->pool);
  return wb_trackings_api_new (store, carriers, ladder->refresh_interval);
}
