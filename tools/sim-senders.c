// SPDX-License-Identifier: GPL-3.0-or-later
/* The three ways positions reach waybilld: batches to POST /telemetry, one
 * OsmAnd request per position, and a Teltonika connection per vehicle. Each
 * honours back-pressure: HTTP 503s are retried after Retry-After (in
 * WbSimHttp), and a Teltonika acknowledgement short of the frame sends the
 * rest again. */

#include "config.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "sim-fleet-private.h"
#include "wb-json.h"
#include "wb-teltonika.h"

#define TELTONIKA_DEFAULT_PORT 5027
#define TELTONIKA_MAX_FAILURES 5

/* ---- answers ------------------------------------------------------------ */

/* "<status> <error code>", from waybilld's {"error":{"code","message"}}. */
static char *
refusal_reason (guint   status,
                GBytes *body)
{
  g_autoptr(JsonNode) root = body ? wb_json_parse_bytes (body, NULL, NULL) : NULL;
  JsonObject *error;
  const char *code = NULL;

  if (root != NULL && JSON_NODE_HOLDS_OBJECT (root)
      && (error = json_object_get_object_member (json_node_get_object (root), "error")))
    code = json_object_get_string_member_with_default (error, "code", NULL);
  return g_strdup_printf ("%u %s", status, code ? code : soup_status_get_phrase (status));
}

static void
count_failed (WbSimFleet   *fleet,
              guint         positions,
              const GError *error)
{
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  fleet->stats.failed += positions;
  g_printerr ("waybill-sim: %u position(s) lost: %s\n", positions, error->message);
}

/* ---- HTTP JSON ------------------------------------------------------------ */

typedef struct
{
  WbSimFleet *fleet;
  GPtrArray  *positions;
} JsonCall;

/* Bodies are written by hand: json-glib's builder costs the simulator more
 * CPU than the daemon spends taking the positions in, which on a small
 * machine would measure the simulator. */
/* @value with @decimals digits after the point, as trackers print their
 * numbers (7 decimals for coordinates, about a centimetre; 2 for the rest),
 * without printf: its float formatting alone cost more CPU than the daemon
 * spent taking the positions in. */
static void
append_fixed (GString *out,
              double   value,
              guint    decimals)
{
  static const gint64 scales[] = { 1, 10, 100, 1000, 10000, 100000, 1000000, 10000000 };
  gint64 scaled;
  guint64 integer, fraction;
  char digits[24];
  guint n = 0;

  g_assert (decimals < G_N_ELEMENTS (scales));
  scaled = llround (value * scales[decimals]);
  if (scaled < 0)
    g_string_append_c (out, '-');
  integer = (guint64) ABS (scaled) / scales[decimals];
  fraction = (guint64) ABS (scaled) % scales[decimals];
  for (guint i = 0; i < decimals; i++, fraction /= 10)
    digits[n++] = '0' + fraction % 10;
  if (decimals > 0)
    digits[n++] = '.';
  do
    digits[n++] = '0' + integer % 10;
  while ((integer /= 10) > 0);
  while (n > 0)
    g_string_append_c (out, digits[--n]);
}

static void
add_number (GString    *out,
            const char *member,
            guint       decimals,
            double      value)
{
  if (isnan (value))
    return;
  g_string_append (out, ",\"");
  g_string_append (out, member);
  g_string_append (out, "\":");
  append_fixed (out, value, decimals);
}

static void
add_boolean (GString    *out,
             const char *member,
             int         value)
{
  if (value < 0)
    return;
  g_string_append (out, ",\"");
  g_string_append (out, member);
  g_string_append (out, value ? "\":true" : "\":false");
}

static void
add_position (GString          *out,
              const WbPosition *p)
{
  /* Simulated device ids are letters, digits and dashes: nothing to escape. */
  g_assert (strpbrk (p->device_id, "\"\\") == NULL);
  g_string_append (out, "{\"deviceId\":\"");
  g_string_append (out, p->device_id);
  g_string_append (out, "\",\"timestamp\":");
  append_fixed (out, p->device_time / 1000, 0);
  add_number (out, "lat", 7, p->lat);
  add_number (out, "lon", 7, p->lon);
  add_number (out, "speed", 2, p->speed_kmh);
  add_number (out, "heading", 2, p->heading);
  add_number (out, "altitude", 2, p->altitude);
  add_number (out, "accuracy", 2, p->accuracy);
  if (p->satellites >= 0)
    add_number (out, "satellites", 0, p->satellites);
  add_boolean (out, "ignition", p->ignition);
  add_boolean (out, "moving", p->moving);
  add_number (out, "fuel", 2, p->fuel);
  add_number (out, "odometer", 0, p->odometer);
  g_string_append_c (out, '}');
}

static GBytes *
json_body (GPtrArray *positions)
{
  GString *out = g_string_sized_new (positions->len * 256 + 2);

  g_string_append_c (out, '[');
  for (guint i = 0; i < positions->len; i++)
    {
      if (i > 0)
        g_string_append_c (out, ',');
      add_position (out, g_ptr_array_index (positions, i));
    }
  g_string_append_c (out, ']');
  return g_string_free_to_bytes (out);
}

/* A retried batch may have gone out in part before its 503: those
 * positions come back as duplicates, and were accepted the first time. */
static void
count_json_answer (WbSimFleet *fleet,
                   GBytes     *body,
                   guint       retries)
{
  g_autoptr(JsonNode) root = wb_json_parse_bytes (body, NULL, NULL);
  JsonObject *answer;
  JsonArray *rejected;

  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      wb_sim_stats_add_refused (&fleet->stats, "200 unreadable answer", 1);
      return;
    }
  answer = json_node_get_object (root);
  fleet->stats.accepted += json_object_get_int_member_with_default (answer, "accepted", 0);
  rejected = json_object_get_array_member (answer, "rejected");
  for (guint i = 0; rejected && i < json_array_get_length (rejected); i++)
    {
      JsonObject *item = json_array_get_object_element (rejected, i);
      const char *reason = json_object_get_string_member_with_default (item, "reason", "unknown");
      g_autofree char *key = g_strdup_printf ("200 rejected: %s", reason);

      if (retries > 0 && g_str_equal (reason, "duplicate"))
        fleet->stats.accepted++;
      else
        wb_sim_stats_add_refused (&fleet->stats, key, 1);
    }
}

static void
on_json_sent (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  JsonCall *call = data;
  WbSimFleet *fleet = call->fleet;
  g_autoptr(GError) error = NULL;
  guint status = 0;
  guint retries = 0;
  g_autoptr(GBytes) body = wb_sim_http_send_finish (WB_SIM_HTTP (source), result, &status, &retries, &error);

  fleet->stats.retries += retries;
  if (body == NULL)
    count_failed (fleet, call->positions->len, error);
  else if (status == SOUP_STATUS_OK)
    count_json_answer (fleet, body, retries);
  else
    {
      g_autofree char *reason = refusal_reason (status, body);

      wb_sim_stats_add_refused (&fleet->stats, reason, call->positions->len);
    }
  fleet->in_flight--;
  g_ptr_array_unref (call->positions);
  g_free (call);
  if (error == NULL || !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      _wb_sim_json_pump (fleet, FALSE);
      _wb_sim_fleet_check_done (fleet);
    }
}

/* One position from each vehicle in turn, so that every vehicle's positions
 * go out in order and at the same pace. */
static GPtrArray *
collect_batch (WbSimFleet *fleet)
{
  GPtrArray *positions = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_position_unref);
  guint misses = 0;

  while (positions->len < fleet->options.batch && misses < fleet->cars->len)
    {
      SimCar *car = g_ptr_array_index (fleet->cars, fleet->cursor);

      fleet->cursor = (fleet->cursor + 1) % fleet->cars->len;
      if (_wb_sim_car_fill (car, 1) == 0)
        {
          misses++;
          continue;
        }
      misses = 0;
      g_ptr_array_add (positions, _wb_sim_car_take (car));
    }
  return positions;
}

static char *
join_url (const char *base,
          const char *path)
{
  return g_str_has_suffix (base, "/") ? g_strconcat (base, path + 1, NULL) : g_strconcat (base, path, NULL);
}

/* In real time a batch waits to be full, or @flush (the linger is over). */
void
_wb_sim_json_pump (WbSimFleet *fleet,
                   gboolean    flush)
{
  g_autofree char *uri = join_url (fleet->options.api_url, "/telemetry");

  while (fleet->in_flight < fleet->options.connections && !g_cancellable_is_cancelled (fleet->cancellable))
    {
      g_autoptr(GBytes) body = NULL;
      JsonCall *call;

      if (!fleet->options.fast && !flush && fleet->queued < fleet->options.batch)
        return;
      call = g_new0 (JsonCall, 1);
      call->fleet = fleet;
      call->positions = collect_batch (fleet);
      if (call->positions->len == 0)
        {
          g_ptr_array_unref (call->positions);
          g_free (call);
          return;
        }
      fleet->last_flush = g_get_monotonic_time ();
      fleet->stats.sent += call->positions->len;
      fleet->in_flight++;
      body = json_body (call->positions);
      wb_sim_http_send_async (fleet->http, "POST", uri, "application/json", body, fleet->cancellable,
                              on_json_sent, call);
    }
}

/* ---- OsmAnd --------------------------------------------------------------- */

typedef struct
{
  SimCar *car;
} OsmandCall;

static void
append_param (GString    *uri,
              const char *name,
              guint       decimals,
              double      value)
{
  if (isnan (value))
    return;
  g_string_append_c (uri, '&');
  g_string_append (uri, name);
  g_string_append_c (uri, '=');
  append_fixed (uri, value, decimals);
}

/* Speed in knots, as OsmAnd and Traccar Client send it; the time in unix
 * seconds with milliseconds. */
static char *
osmand_uri (const char       *base,
            const WbPosition *p)
{
  g_autofree char *id = g_uri_escape_string (p->device_id, NULL, FALSE);
  GString *uri = g_string_new (base);

  if (!g_str_has_suffix (base, "/"))
    g_string_append_c (uri, '/');
  g_string_append_printf (uri, "?id=%s", id);
  append_param (uri, "timestamp", 3, p->device_time / (double) G_USEC_PER_SEC);
  append_param (uri, "lat", 7, p->lat);
  append_param (uri, "lon", 7, p->lon);
  append_param (uri, "speed", 2, p->speed_kmh / 1.852);
  append_param (uri, "bearing", 1, p->heading);
  append_param (uri, "altitude", 1, p->altitude);
  append_param (uri, "accuracy", 1, p->accuracy);
  return g_string_free (uri, FALSE);
}

static void
on_osmand_sent (GObject      *source,
                GAsyncResult *result,
                gpointer      data)
{
  SimCar *car = data;
  WbSimFleet *fleet = car->fleet;
  g_autoptr(GError) error = NULL;
  guint status = 0;
  guint retries = 0;
  g_autoptr(GBytes) body = wb_sim_http_send_finish (WB_SIM_HTTP (source), result, &status, &retries, &error);

  fleet->stats.retries += retries;
  if (body == NULL)
    count_failed (fleet, 1, error);
  else if (status == SOUP_STATUS_OK)
    fleet->stats.accepted++;
  else
    {
      g_autofree char *reason = refusal_reason (status, body);

      wb_sim_stats_add_refused (&fleet->stats, reason, 1);
    }
  car->busy = FALSE;
  fleet->in_flight--;
  if (error == NULL || !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      _wb_sim_osmand_pump (fleet);
      _wb_sim_fleet_check_done (fleet);
    }
}

static void
osmand_send (SimCar *car)
{
  WbSimFleet *fleet = car->fleet;
  g_autoptr(WbPosition) position = _wb_sim_car_take (car);
  g_autofree char *uri = osmand_uri (fleet->options.osmand_url, position);

  car->busy = TRUE;
  fleet->in_flight++;
  fleet->stats.sent++;
  wb_sim_http_send_async (fleet->http, "GET", uri, NULL, NULL, fleet->cancellable, on_osmand_sent, car);
}

/* One request in flight per vehicle keeps its positions in order. */
void
_wb_sim_osmand_pump (WbSimFleet *fleet)
{
  guint misses = 0;

  while (fleet->in_flight < fleet->options.connections && misses < fleet->cars->len
         && !g_cancellable_is_cancelled (fleet->cancellable))
    {
      SimCar *car = g_ptr_array_index (fleet->cars, fleet->cursor);

      fleet->cursor = (fleet->cursor + 1) % fleet->cars->len;
      if (car->busy || _wb_sim_car_fill (car, 1) == 0)
        {
          misses++;
          continue;
        }
      misses = 0;
      osmand_send (car);
    }
}

/* ---- Teltonika ------------------------------------------------------------ */

static void teltonika_connect (SimCar *car);
static void teltonika_send_frame (SimCar *car);

void
_wb_sim_teltonika_close (SimCar *car)
{
  if (car->connection)
    g_io_stream_close (G_IO_STREAM (car->connection), NULL, NULL);
  g_clear_object (&car->connection);
  car->closed = TRUE;
}

static guint
frame_length (SimCar *car)
{
  return car->frame ? car->frame->len : 0;
}

/* Everything this vehicle still holds is lost: counted, and it stops. */
static void
teltonika_give_up (SimCar *car)
{
  WbSimFleet *fleet = car->fleet;

  g_clear_pointer (&car->frame, g_ptr_array_unref);
  /* What it made counts as sent, so that sent = accepted + refused + failed. */
  fleet->stats.sent += car->pending.length;
  fleet->queued -= car->pending.length;
  g_queue_clear_full (&car->pending, (GDestroyNotify) wb_position_unref);
  car->finished = TRUE;
  car->busy = FALSE;
  _wb_sim_teltonika_close (car);
  _wb_sim_fleet_check_done (fleet);
}

static gboolean
on_reconnect_due (gpointer data)
{
  teltonika_connect (data);
  return G_SOURCE_REMOVE;
}

/* A broken connection: connect again and resend the frame, as a tracker
 * does, a few times. */
static void
teltonika_failed (SimCar       *car,
                  const GError *error)
{
  WbSimFleet *fleet = car->fleet;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (car->connection)
    g_io_stream_close (G_IO_STREAM (car->connection), NULL, NULL);
  g_clear_object (&car->connection);
  if (++car->failures >= TELTONIKA_MAX_FAILURES)
    {
      count_failed (fleet, frame_length (car) + car->pending.length, error);
      teltonika_give_up (car);
      return;
    }
  fleet->stats.retries++;
  g_timeout_add_seconds (1, on_reconnect_due, car);
}

static void
on_ack_read (GObject      *source,
             GAsyncResult *result,
             gpointer      data)
{
  SimCar *car = data;
  g_autoptr(GError) error = NULL;
  gsize read = 0;
  guint32 acked;

  if (!g_input_stream_read_all_finish (G_INPUT_STREAM (source), result, &read, &error) || read < 4)
    {
      if (error == NULL)
        g_set_error_literal (&error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED, "The server closed the connection");
      teltonika_failed (car, error);
      return;
    }
  acked = (guint32) car->answer[0] << 24 | car->answer[1] << 16 | car->answer[2] << 8 | car->answer[3];
  if (acked > car->frame->len)
    {
      g_set_error (&error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "The server acknowledged %u of %u records",
                   acked, car->frame->len);
      teltonika_failed (car, error);
      return;
    }
  car->fleet->stats.accepted += acked;
  g_ptr_array_remove_range (car->frame, 0, acked);
  if (car->frame->len > 0)
    {
      /* A short acknowledgement: the rest goes again. */
      car->fleet->stats.retries++;
      teltonika_send_frame (car);
      return;
    }
  car->failures = 0;
  g_clear_pointer (&car->frame, g_ptr_array_unref);
  car->busy = FALSE;
  _wb_sim_teltonika_pump (car);
  _wb_sim_fleet_check_done (car->fleet);
}

static void
on_frame_written (GObject      *source,
                  GAsyncResult *result,
                  gpointer      data)
{
  SimCar *car = data;
  g_autoptr(GError) error = NULL;
  GInputStream *in;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    {
      teltonika_failed (car, error);
      return;
    }
  in = g_io_stream_get_input_stream (G_IO_STREAM (car->connection));
  g_input_stream_read_all_async (in, car->answer, 4, G_PRIORITY_DEFAULT, car->fleet->cancellable, on_ack_read, car);
}

static void
teltonika_send_frame (SimCar *car)
{
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (car->connection));

  g_clear_pointer (&car->frame_bytes, g_bytes_unref);
  car->frame_bytes = wb_teltonika_encode_frame (WB_TELTONIKA_CODEC_8_EXTENDED,
                                                (WbPosition * const *) car->frame->pdata, car->frame->len);
  g_output_stream_write_all_async (out, g_bytes_get_data (car->frame_bytes, NULL),
                                   g_bytes_get_size (car->frame_bytes), G_PRIORITY_DEFAULT,
                                   car->fleet->cancellable, on_frame_written, car);
}

static void
on_handshake_answer (GObject      *source,
                     GAsyncResult *result,
                     gpointer      data)
{
  SimCar *car = data;
  g_autoptr(GError) error = NULL;
  gsize read = 0;

  if (!g_input_stream_read_all_finish (G_INPUT_STREAM (source), result, &read, &error) || read < 1)
    {
      if (error == NULL)
        g_set_error_literal (&error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED, "The server closed the connection");
      teltonika_failed (car, error);
      return;
    }
  if (car->answer[0] != WB_TELTONIKA_ACCEPT)
    {
      wb_sim_stats_add_refused (&car->fleet->stats, "teltonika handshake refused (unknown device)",
                                frame_length (car) + car->pending.length);
      teltonika_give_up (car);
      return;
    }
  teltonika_send_frame (car);
}

static void
on_handshake_written (GObject      *source,
                      GAsyncResult *result,
                      gpointer      data)
{
  SimCar *car = data;
  g_autoptr(GError) error = NULL;
  GInputStream *in;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    {
      teltonika_failed (car, error);
      return;
    }
  in = g_io_stream_get_input_stream (G_IO_STREAM (car->connection));
  g_input_stream_read_all_async (in, car->answer, 1, G_PRIORITY_DEFAULT, car->fleet->cancellable,
                                 on_handshake_answer, car);
}

static void
on_connected (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  SimCar *car = data;
  g_autoptr(GError) error = NULL;
  GOutputStream *out;
  gsize imei_length = strlen (car->device_id);

  car->connection = g_socket_client_connect_to_host_finish (G_SOCKET_CLIENT (source), result, &error);
  if (car->connection == NULL)
    {
      teltonika_failed (car, error);
      return;
    }
  g_assert (imei_length == WB_TELTONIKA_IMEI_LENGTH);
  car->hello[0] = 0;
  car->hello[1] = imei_length;
  memcpy (car->hello + 2, car->device_id, imei_length);
  out = g_io_stream_get_output_stream (G_IO_STREAM (car->connection));
  g_output_stream_write_all_async (out, car->hello, sizeof car->hello, G_PRIORITY_DEFAULT, car->fleet->cancellable,
                                   on_handshake_written, car);
}

static void
teltonika_connect (SimCar *car)
{
  WbSimFleet *fleet = car->fleet;

  g_socket_client_connect_to_host_async (fleet->tcp, fleet->options.teltonika_address, TELTONIKA_DEFAULT_PORT,
                                         fleet->cancellable, on_connected, car);
}

/* Up to --batch records of what the vehicle has made, over its one
 * connection (opened when it first has something to say), one frame at a
 * time, each waiting for its acknowledgement. */
void
_wb_sim_teltonika_pump (SimCar *car)
{
  guint limit = MIN (car->fleet->options.batch, 255);

  if (car->busy || car->closed || g_cancellable_is_cancelled (car->fleet->cancellable))
    return;
  if (_wb_sim_car_fill (car, limit) == 0)
    {
      if (car->finished)
        _wb_sim_teltonika_close (car);
      return;
    }
  car->frame = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_position_unref);
  while (car->frame->len < limit && car->pending.length > 0)
    g_ptr_array_add (car->frame, _wb_sim_car_take (car));
  car->fleet->stats.sent += car->frame->len;
  car->busy = TRUE;
  if (car->connection == NULL)
    teltonika_connect (car);
  else
    teltonika_send_frame (car);
}
