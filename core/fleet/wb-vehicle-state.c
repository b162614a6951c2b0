// SPDX-License-Identifier: GPL-3.0-or-later
/* The plain structs of fleet processing: a position joined with its
 * vehicle, and a vehicle's current state. */

#include "config.h"

#include <math.h>
#include <string.h>

#include "wb-json-writer.h"
#include "wb-vehicle-state.h"

G_DEFINE_BOXED_TYPE (WbEnrichedPosition, wb_enriched_position, wb_enriched_position_copy, wb_enriched_position_free)
G_DEFINE_BOXED_TYPE (WbVehicleState, wb_vehicle_state, wb_vehicle_state_copy, wb_vehicle_state_free)

/**
 * wb_enriched_position_new:
 * @position: (transfer full): the raw position
 * @enrichment: (transfer full) (nullable): its vehicle, driver and company
 */
WbEnrichedPosition *
wb_enriched_position_new (WbPosition        *position,
                          WbFleetEnrichment *enrichment)
{
  WbEnrichedPosition *enriched;

  g_return_val_if_fail (position != NULL, NULL);

  enriched = g_new0 (WbEnrichedPosition, 1);
  enriched->position = position;
  enriched->enrichment = enrichment;
  return enriched;
}

WbEnrichedPosition *
wb_enriched_position_copy (const WbEnrichedPosition *enriched)
{
  g_return_val_if_fail (enriched != NULL, NULL);

  return wb_enriched_position_new (wb_position_copy (enriched->position),
                                   enriched->enrichment ? wb_fleet_enrichment_ref (enriched->enrichment) : NULL);
}

void
wb_enriched_position_free (WbEnrichedPosition *enriched)
{
  if (enriched == NULL)
    return;
  g_clear_pointer (&enriched->position, wb_position_unref);
  g_clear_pointer (&enriched->enrichment, wb_fleet_enrichment_unref);
  g_free (enriched);
}

static void
append_member (GString    *out,
               const char *name,
               const char *value)
{
  if (value == NULL)
    return;
  g_string_append_c (out, ',');
  wb_json_write_string (out, name);
  g_string_append_c (out, ':');
  wb_json_write_string (out, value);
}

/**
 * wb_enriched_position_to_json:
 *
 * Returns: (transfer full): the telemetry.raw body with the vehicle's,
 *   driver's and company's ids and names, and the vehicle's IN_TRANSIT
 *   trip, added (left out when unknown or none)
 */
char *
wb_enriched_position_to_json (const WbEnrichedPosition *enriched)
{
  const WbFleetEnrichment *e;
  g_autofree char *raw = NULL;
  GString *out;

  g_return_val_if_fail (enriched != NULL, NULL);

  raw = wb_position_to_json (enriched->position);
  e = enriched->enrichment;
  if (e == NULL)
    return g_steal_pointer (&raw);

  out = g_string_sized_new (strlen (raw) + 256);
  g_string_append (out, raw);

  /* telemetry.raw's body is one object: reopen it before its last brace. */
  g_assert (out->len > 0 && out->str[out->len - 1] == '}');
  g_string_truncate (out, out->len - 1);
  append_member (out, "vehicle_id", e->vehicle_id);
  append_member (out, "plate", e->plate);
  append_member (out, "driver_id", e->driver_id);
  append_member (out, "driver_name", e->driver_name);
  append_member (out, "company_id", e->company_id);
  append_member (out, "company_name", e->company_name);
  append_member (out, "group_id", e->group_id);
  append_member (out, "tariff_id", e->tariff_id);
  append_member (out, "trip_id", e->trip_id);
  g_string_append_c (out, '}');
  return g_string_free (out, FALSE);
}

static const char * const motion_names[] = { "unknown", "moving", "stopped" };

const char *
wb_motion_to_string (WbMotion motion)
{
  g_return_val_if_fail (motion <= WB_MOTION_STOPPED, NULL);

  return motion_names[motion];
}

gboolean
wb_motion_from_string (const char *text,
                       WbMotion   *out_motion)
{
  g_return_val_if_fail (out_motion != NULL, FALSE);

  for (guint i = 0; i < G_N_ELEMENTS (motion_names); i++)
    if (g_strcmp0 (text, motion_names[i]) == 0)
      {
        *out_motion = (WbMotion) i;
        return TRUE;
      }
  return FALSE;
}

WbVehicleState *
wb_vehicle_state_new (void)
{
  WbVehicleState *state = g_new0 (WbVehicleState, 1);

  state->speed_kmh = NAN;
  state->heading = NAN;
  state->altitude = NAN;
  state->fuel = NAN;
  state->odometer = NAN;
  state->ignition = -1;
  state->motion = WB_MOTION_UNKNOWN;
  return state;
}

WbVehicleState *
wb_vehicle_state_copy (const WbVehicleState *state)
{
  WbVehicleState *copy;

  g_return_val_if_fail (state != NULL, NULL);

  copy = g_memdup2 (state, sizeof *state);
  copy->vehicle_id = g_strdup (state->vehicle_id);
  copy->device_id = g_strdup (state->device_id);
  copy->driver_id = g_strdup (state->driver_id);
  return copy;
}

void
wb_vehicle_state_free (WbVehicleState *state)
{
  if (state == NULL)
    return;
  g_free (state->vehicle_id);
  g_free (state->device_id);
  g_free (state->driver_id);
  g_free (state);
}

/* Offline is a matter of silence, by the server's clock: a device whose
 * clock is wrong must not look offline (or online) because of it. */
gboolean
wb_vehicle_state_is_offline (const WbVehicleState *state,
                             gint64                now,
                             gint64                offline_after)
{
  g_return_val_if_fail (state != NULL, FALSE);

  return now - state->server_time > offline_after;
}
