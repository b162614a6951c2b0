// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "wb-shipment-format.h"
#include "wb-trip-format.h"
#include "wb-units.h"

static const char * const statuses[] = { "PLANNED", "IN_TRANSIT", "COMPLETED", "CANCELLED", NULL };

const char *
wb_trip_format_status (const char *status)
{
  if (g_strcmp0 (status, "PLANNED") == 0)
    return _("Planned");
  if (g_strcmp0 (status, "IN_TRANSIT") == 0)
    return _("In transit");
  if (g_strcmp0 (status, "COMPLETED") == 0)
    return _("Completed");
  if (g_strcmp0 (status, "CANCELLED") == 0)
    return _("Cancelled");
  return status != NULL ? status : "—";
}

const char * const *
wb_trip_format_statuses (void)
{
  return statuses;
}

char *
wb_trip_format_stop (const WbClientTripStop *stop,
                     WbDirectory            *directory)
{
  if (stop->pickup_point_id != NULL)
    {
      const WbDirectoryEntry *point = directory ? wb_directory_lookup (directory, WB_DIRECTORY_PICKUP_POINTS,
                                                                       stop->pickup_point_id) : NULL;

      if (point != NULL)
        return g_strdup (point->label);
      /* Translators: a stop at a pickup point the console has no name for, by its id */
      return g_strdup_printf (_("Pickup point %s"), stop->pickup_point_id);
    }
  if (stop->address != NULL)
    return g_strdup (stop->address);
  return g_strdup_printf ("%.5f, %.5f", stop->lat, stop->lon);
}

char *
wb_trip_format_route (WbClientTrip *trip,
                      WbDirectory  *directory)
{
  g_autoptr(GString) route = g_string_new (NULL);
  guint n = wb_client_trip_get_n_stops (trip);

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *stop = NULL;

      if (n > 4 && i >= 2 && i < n - 1)
        {
          if (i == 2)
            g_string_append (route, " → …");
          continue;
        }
      stop = wb_trip_format_stop (wb_client_trip_get_stop (trip, i), directory);
      if (route->len > 0)
        g_string_append (route, " → ");
      g_string_append (route, stop);
    }
  if (route->len == 0)
    return g_strdup (_("No stops"));
  return g_string_free (g_steal_pointer (&route), FALSE);
}

/* The time of day, or the date and time when not today. */
static char *
format_moment (gint64 us)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_unix_local (us / G_USEC_PER_SEC);
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();

  if (g_date_time_get_year (time) == g_date_time_get_year (now)
      && g_date_time_get_day_of_year (time) == g_date_time_get_day_of_year (now))
    return g_date_time_format (time, "%H:%M");
  return wb_shipment_format_time (us);
}

char *
wb_trip_format_progress (const WbClientTripStop *stop)
{
  g_autofree char *arrived = NULL;
  g_autofree char *departed = NULL;

  if (stop->arrived_at == 0)
    return g_strdup (_("Not reached"));
  arrived = format_moment (stop->arrived_at);
  if (stop->departed_at == 0)
    return g_strdup_printf (_("Arrived %s"), arrived);
  departed = format_moment (stop->departed_at);
  return g_strdup_printf (_("Arrived %s, departed %s"), arrived, departed);
}

char *
wb_trip_format_distance (double metres)
{
  return wb_units_format_distance (metres);
}

double
wb_trip_distance_m (double lat1,
                    double lon1,
                    double lat2,
                    double lon2)
{
  const double radius = 6371008.8;
  double phi1 = lat1 * G_PI / 180, phi2 = lat2 * G_PI / 180;
  double dphi = phi2 - phi1, dlambda = (lon2 - lon1) * G_PI / 180;
  double a = sin (dphi / 2) * sin (dphi / 2) + cos (phi1) * cos (phi2) * sin (dlambda / 2) * sin (dlambda / 2);

  return 2 * radius * asin (MIN (1.0, sqrt (a)));
}
