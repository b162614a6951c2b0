// SPDX-License-Identifier: GPL-3.0-or-later
/* events.carrier_location: a driver's phone says where the trip's carrier
 * is. The message is another service's contract, so the decoder checks all
 * its schema says and names the field it refuses, for the dead-letter
 * queue. Storing is one set-based statement per batch of messages. */

#include "config.h"

#include <math.h>
#include <string.h>

#include "wb-carrier-location.h"
#include "wb-db.h"
#include "wb-fleet-update.h"
#include "wb-json-reader.h"
#include "wb-json-writer.h"
#include "wb-time.h"

#define TRIP_ID_MAX_LENGTH 128

/* The batch arrives as one JSON array (written by the telemetry writer,
 * which escapes every string), so the statement is the same for any batch
 * size and nothing is interpolated. The newest location per trip goes
 * first, so a trip named twice in one batch cannot trip ON CONFLICT. */
static const char apply_sql[] =
  "INSERT INTO carrier_locations AS c (trip_id, lat, lng, updated_at, source)"
  " SELECT DISTINCT ON (u.trip_id) u.trip_id, u.lat, u.lng,"
  " timestamptz 'epoch' + u.recorded_at * interval '1 microsecond', 'phone'"
  " FROM json_to_recordset($1::json) AS u (trip_id text, lat double precision, lng double precision,"
  " recorded_at bigint)"
  " ORDER BY u.trip_id, u.recorded_at DESC"
  " ON CONFLICT (trip_id) DO UPDATE SET lat = EXCLUDED.lat, lng = EXCLUDED.lng,"
  " updated_at = EXCLUDED.updated_at, source = EXCLUDED.source"
  " WHERE c.updated_at < EXCLUDED.updated_at";

void
wb_carrier_location_free (WbCarrierLocation *location)
{
  if (location == NULL)
    return;
  g_free (location->trip_id);
  g_free (location->driver_id);
  g_free (location);
}

/* ---- decoding ------------------------------------------------------------- */

static gboolean
read_trip_id (WbJsonReader       *body,
              WbCarrierLocation  *location,
              GError            **error)
{
  const char *trip_id;

  if (!wb_json_reader_peek_string (body, "trip_id", TRUE, TRIP_ID_MAX_LENGTH, &trip_id, error))
    return FALSE;
  if (*trip_id == '\0')
    return wb_json_reader_fail (body, "trip_id", error, "must be 1 to 128 characters long");
  location->trip_id = g_strdup (trip_id);
  return TRUE;
}

/* A required number within [-limit, limit]. */
static gboolean
read_coordinate (WbJsonReader  *body,
                 const char    *name,
                 double         limit,
                 double        *out_value,
                 GError       **error)
{
  gboolean present = FALSE;

  if (!wb_json_reader_get_double (body, name, -limit, limit, &present, out_value, error))
    return FALSE;
  return present || wb_json_reader_fail (body, name, error, "is required");
}

/* RFC 3339 only: a calendar time with its zone. The shared parser also
 * takes unix digits and zoneless times (for carriers); a phone has a clock
 * and a zone, so anything else is a producer's bug. */
static gboolean
read_recorded_at (WbJsonReader       *body,
                  WbCarrierLocation  *location,
                  GError            **error)
{
  const char *text;
  gboolean zone_guessed = TRUE;

  if (!wb_json_reader_peek_string (body, "recorded_at", TRUE, 64, &text, error))
    return FALSE;
  if (strlen (text) < strlen ("YYYY-MM-DDTHH:MM:SSZ")
      || !wb_time_parse (text, NULL, &location->recorded_at, &zone_guessed, NULL)
      || zone_guessed)
    return wb_json_reader_fail (body, "recorded_at", error, "must be an RFC 3339 time with a zone");
  return TRUE;
}

static gboolean
read_driver_id (WbJsonReader       *body,
                WbCarrierLocation  *location,
                GError            **error)
{
  JsonNode *node = wb_json_reader_get_node (body, "driver_id");

  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING
      || !wb_fleet_id_is_valid (json_node_get_string (node)))
    return wb_json_reader_fail (body, "driver_id", error,
                                "must be 1 to 128 characters of letters, digits and . _ : -");
  location->driver_id = g_strdup (json_node_get_string (node));
  return TRUE;
}

static gboolean
read_accuracy (WbJsonReader       *body,
               WbCarrierLocation  *location,
               GError            **error)
{
  gboolean present = FALSE;
  double accuracy;

  if (!wb_json_reader_get_double (body, "accuracy", -G_MAXDOUBLE, G_MAXDOUBLE, &present, &accuracy, error))
    return FALSE;
  if (present && accuracy < 0)
    return wb_json_reader_fail (body, "accuracy", error, "must be at least 0");
  if (present)
    location->accuracy = accuracy;
  return TRUE;
}

/**
 * wb_carrier_location_from_json:
 * @json: (array length=length): the message body
 *
 * The body goes through the guarded parser (size, UTF-8, strict syntax,
 * depth) before anything reads it.
 *
 * Returns: (transfer full): the location, or %NULL with a %WB_JSON_ERROR
 *   (%WB_JSON_ERROR_FIELD names the member: wb_json_error_get_field())
 */
WbCarrierLocation *
wb_carrier_location_from_json (const char  *json,
                               gsize        length,
                               GError     **error)
{
  g_autoptr(WbCarrierLocation) location = NULL;
  g_autoptr(WbJsonReader) body = NULL;

  g_return_val_if_fail (json != NULL || length == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  body = wb_json_reader_new_from_data (json, length, NULL, error);
  if (body == NULL)
    {
      g_prefix_error (error, "body: ");
      return NULL;
    }

  location = g_new0 (WbCarrierLocation, 1);
  location->accuracy = NAN;
  if (!read_trip_id (body, location, error)
      || !read_coordinate (body, "lat", 90, &location->lat, error)
      || !read_coordinate (body, "lng", 180, &location->lng, error)
      || !read_recorded_at (body, location, error)
      || !read_driver_id (body, location, error)
      || !read_accuracy (body, location, error))
    return NULL;
  return g_steal_pointer (&location);
}

/* ---- storing -------------------------------------------------------------- */

static char *
locations_to_json (WbCarrierLocation **locations,
                   guint               n_locations)
{
  GString *out = g_string_sized_new (64 + n_locations * 96);

  g_string_append_c (out, '[');
  for (guint i = 0; i < n_locations; i++)
    {
      const WbCarrierLocation *location = locations[i];

      g_string_append (out, i == 0 ? "{\"trip_id\":" : ",{\"trip_id\":");
      wb_json_write_string (out, location->trip_id);
      g_string_append (out, ",\"lat\":");
      wb_json_write_double (out, location->lat);
      g_string_append (out, ",\"lng\":");
      wb_json_write_double (out, location->lng);
      g_string_append_printf (out, ",\"recorded_at\":%" G_GINT64_FORMAT "}", location->recorded_at);
    }
  g_string_append_c (out, ']');
  return g_string_free (out, FALSE);
}

/**
 * wb_carrier_locations_apply:
 * @locations: (array length=n_locations): decoded locations
 *
 * One statement, hence one transaction of its own, or a part of the
 * caller's when @conn is inside one.
 *
 * Returns: whether the statement ran; %WB_DB_ERROR otherwise
 */
gboolean
wb_carrier_locations_apply (PGconn             *conn,
                            WbCarrierLocation **locations,
                            guint               n_locations,
                            guint              *out_applied,
                            GError            **error)
{
  g_autofree char *batch = NULL;
  g_autoptr(PGresult) result = NULL;
  const char *params[1];

  g_return_val_if_fail (conn != NULL, FALSE);
  g_return_val_if_fail (locations != NULL || n_locations == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  for (guint i = 0; i < n_locations; i++)
    g_return_val_if_fail (locations[i] != NULL && locations[i]->trip_id != NULL, FALSE);

  if (out_applied != NULL)
    *out_applied = 0;
  if (n_locations == 0)
    return TRUE;

  params[0] = batch = locations_to_json (locations, n_locations);
  result = wb_db_exec (conn, apply_sql, params, 1, NULL, error);
  if (result == NULL)
    return FALSE;
  if (out_applied != NULL)
    *out_applied = (guint) g_ascii_strtoull (PQcmdTuples (result), NULL, 10);
  return TRUE;
}
