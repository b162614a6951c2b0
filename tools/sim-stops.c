// SPDX-License-Identifier: GPL-3.0-or-later
/* The stops of a drive, from one of several sources. Each source is a row
 * of the table at the end: what it needs from WbSimStopsSource and how it
 * loads; adding one (a dispatch stream, a GPX file) is adding a row. */

#include "config.h"

#include <math.h>
#include <string.h>

#include "sim-http.h"
#include "sim-stops.h"
#include "wb-config.h"
#include "wb-json.h"

static gboolean
stop_valid (const WbSimStop *stop)
{
  return fabs (stop->lat) <= 85 && fabs (stop->lon) <= 180 && stop->dwell_s >= 0
         && stop->dwell_s <= WB_SIM_STOP_MAX_DWELL_S;
}

static gboolean
parse_number (const char *text,
              double     *out)
{
  g_autofree char *trimmed = g_strstrip (g_strdup (text));
  char *end = NULL;

  *out = g_ascii_strtod (trimmed, &end);
  return *trimmed != '\0' && *end == '\0' && isfinite (*out);
}

static gboolean
parse_dwell (const char *text,
             double     *out)
{
  g_autofree char *trimmed = g_strstrip (g_strdup (text));
  gint64 ms;

  if (!wb_config_parse_duration (trimmed, 1000, &ms, NULL))
    return FALSE;
  *out = ms / 1000.0;
  return TRUE;
}

static gboolean
check_count (GArray  *stops,
             GError **error)
{
  if (stops->len == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "no stops");
      return FALSE;
    }
  if (stops->len > WB_SIM_STOPS_MAX)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "more than %d stops", WB_SIM_STOPS_MAX);
      return FALSE;
    }
  return TRUE;
}

/**
 * wb_sim_stops_parse:
 *
 * Returns: (transfer full) (element-type WbSimStop): the stops, or %NULL
 *   with @error naming the line
 */
GArray *
wb_sim_stops_parse (const char  *text,
                    double       default_dwell_s,
                    GError     **error)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  g_autoptr(GArray) stops = g_array_new (FALSE, FALSE, sizeof (WbSimStop));

  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autofree char *line = g_strstrip (g_strdup (lines[i]));
      g_auto(GStrv) fields = NULL;
      WbSimStop stop = { 0, 0, default_dwell_s };
      guint n;

      if (*line == '\0' || *line == '#')
        continue;
      fields = g_strsplit (line, ",", -1);
      n = g_strv_length (fields);
      if (n < 2 || n > 3 || !parse_number (fields[0], &stop.lat) || !parse_number (fields[1], &stop.lon)
          || (n == 3 && !parse_dwell (fields[2], &stop.dwell_s)) || !stop_valid (&stop))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "line %u: “%s” is not LAT,LON[,DWELL] (latitude within ±85, longitude within ±180, "
                       "dwell in seconds or 90s, 2m, at most a day)", i + 1, line);
          return NULL;
        }
      g_array_append_val (stops, stop);
    }
  return check_count (stops, error) ? g_steal_pointer (&stops) : NULL;
}

/* @object's own lat/lon, or those of a member object that holds them. */
static gboolean
find_coordinates (JsonObject *object,
                  double     *lat,
                  double     *lon)
{
  static const char * const holders[] = { "location", "coordinates", "address", "pickupPoint", NULL };
  const char *lon_name = json_object_has_member (object, "lon") ? "lon" : "lng";
  JsonNode *lat_node = json_object_get_member (object, "lat");
  JsonNode *lon_node = json_object_get_member (object, lon_name);

  if (lat_node && lon_node && JSON_NODE_HOLDS_VALUE (lat_node) && JSON_NODE_HOLDS_VALUE (lon_node)
      && json_node_get_value_type (lat_node) != G_TYPE_STRING && json_node_get_value_type (lon_node) != G_TYPE_STRING)
    {
      *lat = json_node_get_double (lat_node);
      *lon = json_node_get_double (lon_node);
      return TRUE;
    }
  for (guint i = 0; holders[i]; i++)
    {
      JsonNode *holder = json_object_get_member (object, holders[i]);

      if (holder && JSON_NODE_HOLDS_OBJECT (holder) && find_coordinates (json_node_get_object (holder), lat, lon))
        return TRUE;
    }
  return FALSE;
}

/**
 * wb_sim_stops_from_trip:
 *
 * Returns: (transfer full) (element-type WbSimStop): the trip's stops in
 *   order, or %NULL with @error naming the stop
 */
GArray *
wb_sim_stops_from_trip (GBytes  *body,
                        double   default_dwell_s,
                        GError **error)
{
  g_autoptr(JsonNode) root = wb_json_parse_bytes (body, NULL, error);
  g_autoptr(GArray) stops = g_array_new (FALSE, FALSE, sizeof (WbSimStop));
  JsonNode *list;

  if (root == NULL)
    return NULL;
  list = JSON_NODE_HOLDS_OBJECT (root) ? json_object_get_member (json_node_get_object (root), "stops") : NULL;
  if (list == NULL || !JSON_NODE_HOLDS_ARRAY (list))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "the trip has no \"stops\" array");
      return NULL;
    }
  for (guint i = 0; i < json_array_get_length (json_node_get_array (list)); i++)
    {
      JsonNode *element = json_array_get_element (json_node_get_array (list), i);
      WbSimStop stop = { 0, 0, default_dwell_s };

      if (!JSON_NODE_HOLDS_OBJECT (element)
          || !find_coordinates (json_node_get_object (element), &stop.lat, &stop.lon)
          || (json_object_has_member (json_node_get_object (element), "dwellSeconds")
              && (stop.dwell_s = json_object_get_double_member (json_node_get_object (element), "dwellSeconds")) < 0)
          || !stop_valid (&stop))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "stops[%u]: no usable lat and lon", i);
          return NULL;
        }
      g_array_append_val (stops, stop);
    }
  return check_count (stops, error) ? g_steal_pointer (&stops) : NULL;
}

/* ---- sources -------------------------------------------------------------------- */

static void
on_file_loaded (GObject      *source,
                GAsyncResult *result,
                gpointer      data)
{
  g_autoptr(GTask) task = data;
  const WbSimStopsSource *spec = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize length;
  GArray *stops;

  if (!g_file_load_contents_finish (G_FILE (source), result, &contents, &length, NULL, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (memchr (contents, '\0', length) != NULL || !g_utf8_validate (contents, (gssize) length, NULL))
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: not a text file", spec->file);
      return;
    }
  stops = wb_sim_stops_parse (contents, spec->default_dwell_s, &error);
  if (stops == NULL)
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: %s", spec->file, error->message);
  else
    g_task_return_pointer (task, stops, (GDestroyNotify) g_array_unref);
}

static gboolean
file_applies (const WbSimStopsSource *spec)
{
  return spec->file != NULL;
}

static void
file_load (GTask                  *task,
           const WbSimStopsSource *spec)
{
  g_autoptr(GFile) file = g_file_new_for_commandline_arg (spec->file);

  g_file_load_contents_async (file, g_task_get_cancellable (task), on_file_loaded, g_object_ref (task));
}

static void
on_trip_fetched (GObject      *source,
                 GAsyncResult *result,
                 gpointer      data)
{
  g_autoptr(GTask) task = data;
  const WbSimStopsSource *spec = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  guint status = 0;
  g_autoptr(GBytes) body = wb_sim_http_send_finish (WB_SIM_HTTP (source), result, &status, NULL, &error);
  GArray *stops;

  g_object_unref (source);
  if (body == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (status != SOUP_STATUS_OK)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED, "GET /trips/%s answered %u: %.*s", spec->trip_id,
                               status, (int) MIN (g_bytes_get_size (body), 200),
                               (const char *) g_bytes_get_data (body, NULL));
      return;
    }
  stops = wb_sim_stops_from_trip (body, spec->default_dwell_s, &error);
  if (stops == NULL)
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "trip %s: %s", spec->trip_id, error->message);
  else
    g_task_return_pointer (task, stops, (GDestroyNotify) g_array_unref);
}

static gboolean
trip_applies (const WbSimStopsSource *spec)
{
  return spec->trip_id != NULL && spec->api_url != NULL;
}

static void
trip_load (GTask                  *task,
           const WbSimStopsSource *spec)
{
  WbSimHttp *http = wb_sim_http_new (spec->token, 1);
  g_autofree char *escaped = g_uri_escape_string (spec->trip_id, NULL, FALSE);
  g_autofree char *base = g_strdup (spec->api_url);
  g_autofree char *uri = NULL;

  while (g_str_has_suffix (base, "/"))
    base[strlen (base) - 1] = '\0';
  uri = g_strdup_printf ("%s/trips/%s", base, escaped);

  wb_sim_http_send_async (http, "GET", uri, NULL, NULL, g_task_get_cancellable (task), on_trip_fetched,
                          g_object_ref (task));
}

static const struct
{
  gboolean (*applies) (const WbSimStopsSource *spec);
  void     (*load)    (GTask *task, const WbSimStopsSource *spec);
} sources[] = {
  { file_applies, file_load },
  { trip_applies, trip_load },
};

static WbSimStopsSource *
source_copy (const WbSimStopsSource *spec)
{
  WbSimStopsSource *copy = g_new0 (WbSimStopsSource, 1);

  copy->file = g_strdup (spec->file);
  copy->api_url = g_strdup (spec->api_url);
  copy->trip_id = g_strdup (spec->trip_id);
  copy->token = g_strdup (spec->token);
  copy->default_dwell_s = spec->default_dwell_s;
  return copy;
}

static void
source_free (gpointer data)
{
  WbSimStopsSource *spec = data;

  g_free ((char *) spec->file);
  g_free ((char *) spec->api_url);
  g_free ((char *) spec->trip_id);
  g_free ((char *) spec->token);
  g_free (spec);
}

void
wb_sim_stops_load_async (const WbSimStopsSource *source,
                         GCancellable           *cancellable,
                         GAsyncReadyCallback     callback,
                         gpointer                user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  WbSimStopsSource *spec = source_copy (source);

  g_task_set_source_tag (task, wb_sim_stops_load_async);
  g_task_set_task_data (task, spec, source_free);
  for (guint i = 0; i < G_N_ELEMENTS (sources); i++)
    if (sources[i].applies (spec))
      {
        sources[i].load (task, spec);
        return;
      }
  g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           "no stops: give a file of stops, or a trip id and the API");
}

GArray *
wb_sim_stops_load_finish (GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
