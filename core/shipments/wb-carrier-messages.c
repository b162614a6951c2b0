// SPDX-License-Identifier: GPL-3.0-or-later
/* Decoders of the tracker role's topics (docs/tracker.md). Messages come
 * from other services and carriers, so every member the schema describes
 * is checked here and a refusal names its field, for the dead-letter
 * queue. The store then sees only well-formed tickets, checks and events.
 *
 * Carriers resend what they sent before (every poll repeats the whole
 * history), so each event gets an id derived from its content: a
 * redelivery or a repeat is a duplicate in the store, never a new event. */

#include "config.h"

#include <string.h>

#include "wb-carrier-messages.h"
#include "wb-json-reader.h"
#include "wb-phone.h"
#include "wb-time.h"

#define MAX_ID_LENGTH   128
#define MAX_TEXT_LENGTH 2000
#define DHL_CARRIER     "dhl"
#define POST_MAP        "post"
#define GENERIC_MAP     "generic"

static const char * const default_topics[] = {
  "external.dhl.responses", "external.post.responses", "TICKET_CREATED",
  "TRACKING_EVENT", "tracking.updated", NULL
};

const char * const *
wb_carrier_message_default_topics (void)
{
  return default_topics;
}

void
wb_carrier_message_free (WbCarrierMessage *message)
{
  if (message == NULL)
    return;

  g_clear_pointer (&message->ticket, wb_ticket_free);
  g_clear_pointer (&message->check, wb_tracking_check_free);
  g_clear_pointer (&message->events, g_ptr_array_unref);
  g_clear_pointer (&message->rejected, g_ptr_array_unref);
  g_free (message);
}

/* ---- reading members ----------------------------------------------------- */

/* A string of 1 to @max_length characters; *out untouched when absent. */
static gboolean
read_string (WbJsonReader  *reader,
             const char    *name,
             gboolean       required,
             glong          max_length,
             char         **out,
             GError       **error)
{
  const char *text;

  if (!wb_json_reader_peek_string (reader, name, required, max_length, &text, error))
    return FALSE;
  if (text == NULL)
    return TRUE;
  if (*text == '\0')
    return wb_json_reader_fail (reader, name, error, "must be 1 to %ld characters long", max_length);
  g_free (*out);
  *out = g_strdup (text);
  return TRUE;
}

/* *out is NULL when an optional @name is absent. */
static gboolean
read_object (WbJsonReader  *reader,
             const char    *name,
             gboolean       required,
             WbJsonReader **out,
             GError       **error)
{
  GError *local_error = NULL;

  *out = wb_json_reader_get_object_member (reader, name, required, &local_error);
  if (local_error == NULL)
    return TRUE;
  g_propagate_error (error, local_error);
  return FALSE;
}

static gboolean
read_array (WbJsonReader  *reader,
            const char    *name,
            gboolean       required,
            JsonArray    **out,
            GError       **error)
{
  if (!wb_json_reader_peek_array (reader, name, required, out, error))
    return FALSE;
  if (required && json_array_get_length (*out) == 0)
    return wb_json_reader_fail (reader, name, error, "must not be empty");
  return TRUE;
}

static guint
array_length (JsonArray *array)
{
  return array ? json_array_get_length (array) : 0;
}

/* A carrier time. @zone: the IANA zone to read a zoneless time in, NULL
 * for UTC; either way a zoneless time is flagged as guessed unless
 * @zone_is_given (the message itself named the zone). */
static gboolean
read_time (WbJsonReader  *reader,
           const char    *name,
           gboolean       required,
           const char    *zone,
           gboolean       zone_is_given,
           gint64        *out_us,
           char         **out_raw,
           gboolean      *out_zone_guessed,
           GError       **error)
{
  g_autofree char *text = NULL;
  g_autoptr(GError) local_error = NULL;
  gboolean guessed = FALSE;

  if (!read_string (reader, name, required, 64, &text, error))
    return FALSE;
  if (text == NULL)
    return TRUE;
  if (!wb_time_parse (text, zone, out_us, &guessed, &local_error))
    return wb_json_reader_fail (reader, name, error, "%s", local_error->message);
  if (out_zone_guessed != NULL)
    *out_zone_guessed = guessed && !zone_is_given;
  if (out_raw != NULL)
    *out_raw = g_steal_pointer (&text);
  return TRUE;
}

/* RFC 3339 with a zone: what our own services send. */
static gboolean
read_exact_time (WbJsonReader  *reader,
                 const char    *name,
                 gboolean       required,
                 gint64        *out_us,
                 GError       **error)
{
  gboolean guessed = FALSE;

  if (!read_time (reader, name, required, NULL, FALSE, out_us, NULL, &guessed, error))
    return FALSE;
  if (wb_json_reader_has_member (reader, name) && guessed)
    return wb_json_reader_fail (reader, name, error, "must be an RFC 3339 time with a zone");
  return TRUE;
}

static gboolean
read_zone (WbJsonReader  *reader,
           char         **out_zone,
           GError       **error)
{
  g_autoptr(GTimeZone) zone = NULL;

  if (!read_string (reader, "zone", FALSE, 64, out_zone, error))
    return FALSE;
  if (*out_zone == NULL)
    return TRUE;
  if ((zone = g_time_zone_new_identifier (*out_zone)) == NULL)
    return wb_json_reader_fail (reader, "zone", error, "“%s” is not an IANA time zone", *out_zone);
  return TRUE;
}

static gboolean
read_coordinate (WbJsonReader  *reader,
                 const char    *name,
                 double         limit,
                 double        *out_value,
                 GError       **error)
{
  gboolean present = FALSE;

  if (!wb_json_reader_get_double (reader, name, -limit, limit, &present, out_value, error))
    return FALSE;
  return present || wb_json_reader_fail (reader, name, error, "is required with %s",
                                         g_str_equal (name, "lat") ? "lon" : "lat");
}

/* lat and lon together or not at all. */
static gboolean
read_coordinates (WbJsonReader  *reader,
                  gboolean      *out_present,
                  double        *out_lat,
                  double        *out_lon,
                  GError       **error)
{
  *out_present = wb_json_reader_has_member (reader, "lat") || wb_json_reader_has_member (reader, "lon");
  if (!*out_present)
    return TRUE;
  return read_coordinate (reader, "lat", 90, out_lat, error) &&
         read_coordinate (reader, "lon", 180, out_lon, error);
}

/* ---- event ids and order ---------------------------------------------------- */

/* SHA-256 over the parts, each followed by a unit separator so that no two
 * different part lists hash alike; 32 hex digits are plenty. */
static char *
content_id (const char *prefix,
            ...) G_GNUC_NULL_TERMINATED;

static char *
content_id (const char *prefix,
            ...)
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  va_list args;

  va_start (args, prefix);
  for (const char *part = va_arg (args, const char *); part != NULL; part = va_arg (args, const char *))
    {
      g_checksum_update (checksum, (const guchar *) part, strlen (part));
      g_checksum_update (checksum, (const guchar *) "\x1f", 1);
    }
  va_end (args);
  return g_strdup_printf ("%s:%.32s", prefix, g_checksum_get_string (checksum));
}

/* Oldest first, keeping the given order among equal times, so the
 * milestone rule sees the history as it happened. */
static void
sort_events (GPtrArray *events)
{
  for (guint i = 1; i < events->len; i++)
    for (guint j = i; j > 0; j--)
      {
        WbStatusEvent *a = g_ptr_array_index (events, j - 1);
        WbStatusEvent *b = g_ptr_array_index (events, j);

        if (a->occurred_at <= b->occurred_at)
          break;
        events->pdata[j - 1] = b;
        events->pdata[j] = a;
      }
}

static gboolean
has_event_id (GPtrArray  *events,
              const char *event_id)
{
  for (guint i = 0; i < events->len; i++)
    if (g_str_equal (((WbStatusEvent *) g_ptr_array_index (events, i))->event_id, event_id))
      return TRUE;
  return FALSE;
}

/* An event refused while the rest of the message is usable. */
static void
reject (WbCarrierMessage  *message,
        GError           **error)
{
  g_ptr_array_add (message->rejected, g_steal_pointer (error));
}

/* Maps a carrier's code; a carrier without a table of its own speaks
 * the generic words. An unknown code is refused, never guessed: see
 * docs/tracker.md, "Unknown codes". */
static gboolean
map_code (WbStatusMap    *map,
          const char     *carrier,
          const char     *code,
          WbJsonReader   *reader,
          const char     *field,
          WbStatusEvent  *event,
          GError        **error)
{
  g_autoptr(GError) local_error = NULL;
  const char *reason = NULL;

  if (!wb_status_map_lookup (map, carrier, code, &event->status, &reason, &local_error) &&
      g_error_matches (local_error, WB_STATUS_MAP_ERROR, WB_STATUS_MAP_ERROR_UNKNOWN_CARRIER))
    {
      g_clear_error (&local_error);
      wb_status_map_lookup (map, GENERIC_MAP, code, &event->status, &reason, &local_error);
    }
  if (local_error != NULL)
    return wb_json_reader_fail (reader, field, error, "%s", local_error->message);
  event->reason = g_strdup (reason);
  return TRUE;
}

static WbCarrierMessage *
message_new (WbCarrierMessageKind kind)
{
  WbCarrierMessage *message = g_new0 (WbCarrierMessage, 1);

  message->kind = kind;
  message->events = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_status_event_free);
  message->rejected = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);
  return message;
}

/* ---- external.dhl.responses ------------------------------------------------- */

static void
read_dhl_location (WbJsonReader  *reader,
                   WbStatusEvent *event)
{
  g_autoptr(WbJsonReader) location = NULL;
  g_autoptr(WbJsonReader) address = NULL;

  /* Only text for people: a malformed location loses nothing that matters. */
  if ((location = wb_json_reader_get_object_member (reader, "location", FALSE, NULL)) != NULL &&
      (address = wb_json_reader_get_object_member (location, "address", FALSE, NULL)) != NULL)
    read_string (address, "addressLocality", FALSE, MAX_TEXT_LENGTH, &event->location_text, NULL);
}

/* One entry of "events" (or the shipment's "status"). */
static WbStatusEvent *
read_dhl_event (WbJsonReader  *reader,
                const char    *track_number,
                gint64         eta,
                WbStatusMap   *map,
                GError       **error)
{
  g_autoptr(WbStatusEvent) event = g_new0 (WbStatusEvent, 1);
  g_autofree char *code = NULL;
  g_autofree char *text = NULL;

  if (!read_time (reader, "timestamp", TRUE, NULL, FALSE, &event->occurred_at,
                  &event->occurred_at_raw, &event->zone_guessed, error) ||
      !read_string (reader, "statusCode", TRUE, 64, &code, error) ||
      !map_code (map, DHL_CARRIER, code, reader, "statusCode", event, error) ||
      !read_string (reader, "status", FALSE, MAX_TEXT_LENGTH, &text, error) ||
      !read_string (reader, "description", FALSE, MAX_TEXT_LENGTH, &event->description, error))
    return NULL;
  read_dhl_location (reader, event);

  event->source = g_strdup (DHL_CARRIER);
  event->carrier = g_strdup (DHL_CARRIER);
  event->track_number = g_strdup (track_number);
  event->status_raw = text ? g_strdup_printf ("%s / %s", code, text) : g_strdup (code);
  event->carrier_eta = eta;
  event->event_id = content_id (DHL_CARRIER, track_number, event->occurred_at_raw, code,
                                text ? text : "", event->description ? event->description : "",
                                event->location_text ? event->location_text : "", NULL);
  return g_steal_pointer (&event);
}

static void
add_event (WbCarrierMessage *message,
           WbStatusEvent    *event)
{
  if (has_event_id (message->events, event->event_id))
    wb_status_event_free (event);    /* DHL's "status" repeats the newest event */
  else
    g_ptr_array_add (message->events, event);
}

static void
add_dhl_event (WbCarrierMessage *message,
               WbJsonReader     *reader,
               const char       *track_number,
               gint64            eta,
               WbStatusMap      *map,
               GError          **error)
{
  WbStatusEvent *event = reader ? read_dhl_event (reader, track_number, eta, map, error) : NULL;

  if (event == NULL)
    reject (message, error);
  else
    add_event (message, event);
}

static gboolean
read_dhl_shipment (WbCarrierMessage  *message,
                   WbJsonReader      *shipment,
                   WbStatusMap       *map,
                   GError           **error)
{
  g_autofree char *id = NULL;
  g_autoptr(WbJsonReader) status = NULL;
  JsonArray *events = NULL;
  gint64 eta = 0;

  if (!read_string (shipment, "id", TRUE, MAX_ID_LENGTH, &id, error) ||
      !read_object (shipment, "status", FALSE, &status, error) ||
      !read_array (shipment, "events", FALSE, &events, error) ||
      !read_time (shipment, "estimatedTimeOfDelivery", FALSE, NULL, FALSE, &eta, NULL, NULL, error))
    return FALSE;
  if (status == NULL && array_length (events) == 0)
    return wb_json_reader_fail (shipment, "events", error, "is required when there is no status");

  /* DHL lists the newest first; the status is the newest of all. */
  for (guint i = array_length (events); i > 0; i--)
    {
      g_autoptr(GError) local_error = NULL;
      g_autoptr(WbJsonReader) item = wb_json_reader_get_array_element (shipment, "events", i - 1, &local_error);

      add_dhl_event (message, item, id, eta, map, &local_error);
    }
  if (status != NULL)
    {
      g_autoptr(GError) local_error = NULL;

      add_dhl_event (message, status, id, eta, map, &local_error);
    }
  return TRUE;
}

static gboolean
decode_dhl (WbCarrierMessage  *message,
            WbJsonReader      *body,
            WbStatusMap       *map,
            GError           **error)
{
  JsonArray *shipments = NULL;

  if (!read_array (body, "shipments", TRUE, &shipments, error))
    return FALSE;
  for (guint i = 0; i < json_array_get_length (shipments); i++)
    {
      g_autoptr(WbJsonReader) shipment = wb_json_reader_get_array_element (body, "shipments", i, error);

      if (shipment == NULL || !read_dhl_shipment (message, shipment, map, error))
        return FALSE;
    }
  return TRUE;
}

/* ---- external.post.responses -------------------------------------------------- */

static WbStatusEvent *
read_post_event (WbJsonReader  *reader,
                 const char    *carrier,
                 const char    *track_number,
                 const char    *message_zone,
                 WbStatusMap   *map,
                 GError       **error)
{
  g_autoptr(WbStatusEvent) event = g_new0 (WbStatusEvent, 1);
  g_autofree char *code = NULL;
  g_autofree char *zone = NULL;

  if (!read_string (reader, "code", TRUE, 16, &code, error) ||
      !map_code (map, POST_MAP, code, reader, "code", event, error) ||
      !read_zone (reader, &zone, error) ||
      !read_time (reader, "time", TRUE, zone ? zone : message_zone, zone || message_zone,
                  &event->occurred_at, &event->occurred_at_raw, &event->zone_guessed, error) ||
      !read_string (reader, "office", FALSE, MAX_TEXT_LENGTH, &event->location_text, error) ||
      !read_string (reader, "description", FALSE, MAX_TEXT_LENGTH, &event->description, error))
    return NULL;

  event->source = g_strdup (carrier);
  event->carrier = g_strdup (carrier);
  event->track_number = g_strdup (track_number);
  event->status_raw = g_strdup (code);
  event->event_id = content_id (POST_MAP, track_number, code, event->occurred_at_raw,
                                zone ? zone : message_zone ? message_zone : "",
                                event->location_text ? event->location_text : "", NULL);
  return g_steal_pointer (&event);
}

static gboolean
decode_post (WbCarrierMessage  *message,
             WbJsonReader      *body,
             WbStatusMap       *map,
             GError           **error)
{
  g_autofree char *track_number = NULL;
  g_autofree char *carrier = g_strdup (POST_MAP);
  g_autofree char *zone = NULL;
  JsonArray *events = NULL;

  if (!read_string (body, "tracking_number", TRUE, MAX_ID_LENGTH, &track_number, error) ||
      !read_string (body, "carrier", FALSE, 64, &carrier, error) ||
      !read_zone (body, &zone, error) ||
      !read_array (body, "events", TRUE, &events, error))
    return FALSE;

  for (guint i = 0; i < json_array_get_length (events); i++)
    {
      g_autoptr(GError) local_error = NULL;
      g_autoptr(WbJsonReader) item = wb_json_reader_get_array_element (body, "events", i, &local_error);
      WbStatusEvent *event = NULL;

      if (item != NULL)
        event = read_post_event (item, carrier, track_number, zone, map, &local_error);
      if (event == NULL)
        reject (message, &local_error);
      else
        add_event (message, event);
    }
  return TRUE;
}

/* ---- TRACKING_EVENT and the events of tracking.updated ------------------------ */

static gboolean
read_event_location (WbJsonReader   *reader,
                     WbStatusEvent  *event,
                     GError        **error)
{
  g_autoptr(WbJsonReader) location = NULL;

  if (!read_object (reader, "location", FALSE, &location, error))
    return FALSE;
  if (location == NULL)
    return TRUE;
  return read_string (location, "text", FALSE, MAX_TEXT_LENGTH, &event->location_text, error) &&
         read_coordinates (location, &event->has_coordinates, &event->lat, &event->lon, error);
}

/* "status" (canonical) wins; else "status_code" in the carrier's words. */
static gboolean
read_event_status (WbJsonReader   *reader,
                   WbStatusEvent  *event,
                   WbStatusMap    *map,
                   GError        **error)
{
  g_autofree char *status = NULL;
  g_autofree char *code = NULL;

  if (!read_string (reader, "status", FALSE, 64, &status, error) ||
      !read_string (reader, "status_code", FALSE, 64, &code, error) ||
      !read_string (reader, "status_raw", FALSE, MAX_TEXT_LENGTH, &event->status_raw, error) ||
      !read_string (reader, "reason", FALSE, 64, &event->reason, error))
    return FALSE;
  if (status == NULL && code == NULL)
    return wb_json_reader_fail (reader, "status", error, "is required unless status_code is given");
  if (status != NULL && (event->status = wb_status_from_string (status)) == WB_STATUS_INVALID)
    return wb_json_reader_fail (reader, "status", error, "“%s” is not a canonical status", status);
  if (status == NULL)
    {
      g_autofree char *given_reason = g_steal_pointer (&event->reason);

      if (!map_code (map, event->carrier, code, reader, "status_code", event, error))
        return FALSE;
      if (given_reason != NULL)
        {
          g_free (event->reason);
          event->reason = g_steal_pointer (&given_reason);
        }
    }
  if (event->status_raw == NULL)
    event->status_raw = g_strdup (code);
  if (event->reason != NULL && !wb_status_reason_is_known (event->reason))
    return wb_json_reader_fail (reader, "reason", error, "“%s” is not a known reason code", event->reason);
  return TRUE;
}

/* A carrier worker's event; @carrier and @track_number come from the
 * message (TRACKING_EVENT) or its check (tracking.updated). */
static WbStatusEvent *
read_worker_event (WbJsonReader  *reader,
                   const char    *carrier,
                   const char    *track_number,
                   WbStatusMap   *map,
                   GError       **error)
{
  g_autoptr(WbStatusEvent) event = g_new0 (WbStatusEvent, 1);

  event->carrier = g_strdup (carrier);
  event->track_number = g_strdup (track_number);
  event->source = g_strdup (carrier);
  if (!read_string (reader, "event_id", TRUE, MAX_ID_LENGTH * 2, &event->event_id, error) ||
      !read_event_status (reader, event, map, error) ||
      !read_time (reader, "occurred_at", TRUE, NULL, FALSE, &event->occurred_at,
                  &event->occurred_at_raw, &event->zone_guessed, error) ||
      !read_event_location (reader, event, error) ||
      !read_string (reader, "description", FALSE, MAX_TEXT_LENGTH, &event->description, error) ||
      !read_time (reader, "estimated_delivery_at", FALSE, NULL, FALSE, &event->carrier_eta,
                  NULL, NULL, error))
    return NULL;
  return g_steal_pointer (&event);
}

static gboolean
decode_tracking_event (WbCarrierMessage  *message,
                       WbJsonReader      *body,
                       WbStatusMap       *map,
                       GError           **error)
{
  g_autofree char *carrier = NULL;
  g_autofree char *track_number = NULL;
  WbStatusEvent *event;

  if (!read_string (body, "carrier", TRUE, 64, &carrier, error) ||
      !read_string (body, "track_number", TRUE, MAX_ID_LENGTH, &track_number, error) ||
      (event = read_worker_event (body, carrier, track_number, map, error)) == NULL)
    return FALSE;
  g_ptr_array_add (message->events, event);
  return TRUE;
}

/* ---- tracking.updated ----------------------------------------------------------- */

static gboolean
read_tracking_id (WbJsonReader  *body,
                  gint64        *out_id,
                  GError       **error)
{
  JsonNode *node = wb_json_reader_get_node (body, "tracking_id");

  if (node == NULL)
    return wb_json_reader_fail (body, "tracking_id", error, "is required");
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64 ||
      json_node_get_int (node) < 1)
    return wb_json_reader_fail (body, "tracking_id", error, "must be a positive integer");
  *out_id = json_node_get_int (node);
  return TRUE;
}

/* The check's own verdict on the status, as one event whose id is made of
 * the tracking, the instant and the status: every check that sees the same
 * state again repeats it. */
static gboolean
read_check_status (WbCarrierMessage  *message,
                   WbJsonReader      *body,
                   GError           **error)
{
  WbTrackingCheck *check = message->check;
  g_autoptr(WbStatusEvent) event = g_new0 (WbStatusEvent, 1);
  g_autofree char *status = NULL;

  if (!read_string (body, "status", FALSE, 64, &status, error))
    return FALSE;
  if (status == NULL)
    return TRUE;
  if ((event->status = wb_status_from_string (status)) == WB_STATUS_INVALID)
    return wb_json_reader_fail (body, "status", error, "“%s” is not a canonical status", status);
  if (!read_time (body, "status_at", TRUE, NULL, FALSE, &event->occurred_at, &event->occurred_at_raw,
                  &event->zone_guessed, error) ||
      !read_string (body, "status_raw", FALSE, MAX_TEXT_LENGTH, &event->status_raw, error))
    return FALSE;

  event->source = g_strdup (check->carrier);
  event->carrier = g_strdup (check->carrier);
  event->track_number = g_strdup (check->track_number);
  event->event_id = g_strdup_printf ("check:%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT ":%s",
                                     check->tracking_id, event->occurred_at, status);
  g_ptr_array_add (message->events, g_steal_pointer (&event));
  return TRUE;
}

static gboolean
decode_tracking_updated (WbCarrierMessage  *message,
                         WbJsonReader      *body,
                         WbStatusMap       *map,
                         GError           **error)
{
  WbTrackingCheck *check = message->check = g_new0 (WbTrackingCheck, 1);
  JsonArray *events = NULL;

  if (!read_tracking_id (body, &check->tracking_id, error) ||
      !read_string (body, "carrier", TRUE, 64, &check->carrier, error) ||
      !read_string (body, "track_number", TRUE, MAX_ID_LENGTH, &check->track_number, error) ||
      !read_exact_time (body, "checked_at", TRUE, &check->checked_at, error) ||
      !read_exact_time (body, "next_check_at", FALSE, &check->next_check_at, error) ||
      !read_string (body, "error", FALSE, MAX_TEXT_LENGTH, &check->error, error) ||
      !read_check_status (message, body, error) ||
      !read_array (body, "events", FALSE, &events, error))
    return FALSE;

  for (guint i = 0; i < array_length (events); i++)
    {
      g_autoptr(GError) local_error = NULL;
      g_autoptr(WbJsonReader) item = wb_json_reader_get_array_element (body, "events", i, &local_error);
      WbStatusEvent *event = NULL;

      if (item != NULL)
        event = read_worker_event (item, check->carrier, check->track_number, map, &local_error);
      if (event == NULL)
        reject (message, &local_error);
      else
        g_ptr_array_add (message->events, event);
    }
  return TRUE;
}

/* ---- TICKET_CREATED ------------------------------------------------------------- */

static gboolean
read_address (WbJsonReader  *body,
              const char    *name,
              gboolean       required,
              WbAddress     *address,
              gboolean      *out_present,
              GError       **error)
{
  g_autofree char *country = NULL;
  g_autoptr(WbJsonReader) object = NULL;

  if (!read_object (body, name, required, &object, error))
    return FALSE;
  if (out_present != NULL)
    *out_present = object != NULL;
  if (object == NULL)
    return TRUE;
  if (!read_string (object, "country", TRUE, 2, &country, error))
    return FALSE;
  if (strlen (country) != 2 || !g_ascii_isalpha (country[0]) || !g_ascii_isalpha (country[1]))
    return wb_json_reader_fail (object, "country", error, "must be a two-letter ISO 3166-1 country code");
  address->country = g_ascii_strup (country, -1);
  return read_string (object, "region", FALSE, MAX_TEXT_LENGTH, &address->region, error) &&
         read_string (object, "city", FALSE, MAX_TEXT_LENGTH, &address->city, error) &&
         read_string (object, "line1", FALSE, MAX_TEXT_LENGTH, &address->line1, error) &&
         read_string (object, "line2", FALSE, MAX_TEXT_LENGTH, &address->line2, error) &&
         read_string (object, "postal_code", FALSE, 32, &address->postal_code, error) &&
         read_coordinates (object, &address->has_coordinates, &address->lat, &address->lon, error);
}

/* As POST /shipments: a national number is one of the destination's country. */
static gboolean
read_recipient (WbJsonReader     *body,
                WbShipmentDraft  *draft,
                GError          **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(WbJsonReader) recipient = NULL;

  if (!read_object (body, "recipient", TRUE, &recipient, error) ||
      !read_string (recipient, "name", TRUE, MAX_TEXT_LENGTH, &draft->recipient_name, error) ||
      !read_string (recipient, "phone", FALSE, 64, &draft->recipient_phone_raw, error) ||
      !read_string (recipient, "email", FALSE, 254, &draft->recipient_email, error))
    return FALSE;
  if (draft->recipient_email != NULL && strchr (draft->recipient_email, '@') == NULL)
    return wb_json_reader_fail (recipient, "email", error, "must be an email address");
  if (draft->recipient_phone_raw == NULL)
    return TRUE;
  draft->recipient_phone = wb_phone_normalize (draft->recipient_phone_raw, draft->destination.country,
                                               &local_error);
  return draft->recipient_phone != NULL ||
         wb_json_reader_fail (recipient, "phone", error, "%s", local_error->message);
}

static gboolean
decode_ticket (WbCarrierMessage  *message,
               WbJsonReader      *body,
               GError           **error)
{
  WbTicket *ticket = message->ticket = g_new0 (WbTicket, 1);
  WbShipmentDraft *draft = ticket->draft = g_new0 (WbShipmentDraft, 1);

  return read_string (body, "ticket_id", TRUE, MAX_ID_LENGTH, &ticket->ticket_id, error) &&
         read_string (body, "client_id", TRUE, MAX_ID_LENGTH, &draft->client_id, error) &&
         read_string (body, "carrier", TRUE, 64, &draft->carrier, error) &&
         read_string (body, "track_number", TRUE, MAX_ID_LENGTH, &draft->track_number, error) &&
         read_string (body, "service_level", FALSE, 64, &draft->service_level, error) &&
         read_string (body, "reference", FALSE, MAX_ID_LENGTH, &draft->reference, error) &&
         read_address (body, "destination", TRUE, &draft->destination, NULL, error) &&
         read_address (body, "origin", FALSE, &draft->origin, &draft->has_origin, error) &&
         read_recipient (body, draft, error) &&
         read_exact_time (body, "promised_at", FALSE, &draft->promised_at, error) &&
         read_exact_time (body, "created_at", TRUE, &ticket->created_at, error) &&
         (draft->service_level != NULL || draft->promised_at != 0 ||
          wb_json_reader_fail (body, "service_level", error, "is required unless promised_at is given"));
}

/* ---- the entry point ------------------------------------------------------------ */

static gboolean
decode_body (WbCarrierMessage  *message,
             WbJsonReader      *body,
             WbStatusMap       *map,
             GError           **error)
{
  switch (message->kind)
    {
    case WB_CARRIER_MESSAGE_DHL_RESPONSE:
      return decode_dhl (message, body, map, error);
    case WB_CARRIER_MESSAGE_POST_RESPONSE:
      return decode_post (message, body, map, error);
    case WB_CARRIER_MESSAGE_TICKET_CREATED:
      return decode_ticket (message, body, error);
    case WB_CARRIER_MESSAGE_TRACKING_EVENT:
      return decode_tracking_event (message, body, map, error);
    case WB_CARRIER_MESSAGE_TRACKING_UPDATED:
      return decode_tracking_updated (message, body, map, error);
    case WB_CARRIER_MESSAGE_N_KINDS:
    default:
      g_assert_not_reached ();
    }
}

/**
 * wb_carrier_message_decode:
 * @json: (array length=length): the message body
 *
 * The body goes through the guarded parser (size, UTF-8, strict syntax,
 * depth) before anything reads it.
 *
 * Returns: (transfer full): the message, or %NULL with a %WB_JSON_ERROR:
 *   %WB_JSON_ERROR_FIELD naming the member at fault (wb_json_error_get_field(),
 *   "" when the body is not an object), or the parser's error when the body
 *   is not one acceptable JSON document
 */
WbCarrierMessage *
wb_carrier_message_decode (WbCarrierMessageKind   kind,
                           const char            *json,
                           gsize                  length,
                           WbStatusMap           *map,
                           GError               **error)
{
  g_autoptr(WbCarrierMessage) message = NULL;
  g_autoptr(WbJsonReader) body = NULL;

  g_return_val_if_fail ((guint) kind < WB_CARRIER_MESSAGE_N_KINDS, NULL);
  g_return_val_if_fail (map != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  body = wb_json_reader_new_from_data (json, json ? length : 0, NULL, error);
  if (body == NULL)
    {
      g_prefix_error (error, "body: ");
      return NULL;
    }

  message = message_new (kind);
  if (!decode_body (message, body, map, error))
    return NULL;
  /* Nothing usable left: the whole message goes to the dead-letter queue. */
  if (message->ticket == NULL && message->check == NULL && message->events->len == 0)
    {
      if (message->rejected->len > 0)
        g_propagate_error (error, g_error_copy (g_ptr_array_index (message->rejected, 0)));
      else
        wb_json_set_field_error (error, "events", "none to apply");
      return NULL;
    }
  sort_events (message->events);
  return g_steal_pointer (&message);
}
