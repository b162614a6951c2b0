// SPDX-License-Identifier: GPL-3.0-or-later
/* The carrier emulator's server. */

#include "config.h"

#include <libsoup/soup.h>
#include <math.h>
#include <string.h>

#include "wb-carrier-emulator.h"
#include "wb-json-reader.h"
#include "wb-json-writer.h"
#include "wb-time.h"

static const char * const default_scenario[] = {
  "INFO_RECEIVED", "accepted", "arrived at facility", "departed facility", "OUT_FOR_DELIVERY", "DELIVERED", NULL
};

typedef struct
{
  GStrv  codes;
  gint64 step_us;
  gint64 started_at;   /* unix µs of the first request; 0 = not asked yet */
  guint  requests;
} Scenario;

struct _WbCarrierEmulator
{
  GObject      parent_instance;
  SoupServer  *server;
  GMutex       mutex;
  GHashTable  *scenarios;     /* "carrier/number" → Scenario */
  GArray      *arrivals;      /* gint64 monotonic µs */
  WbEmulatorCounts counts;
  double       rate;
  guint        burst;
  guint        daily_quota;
  WbEmulatorRetryAfter retry_after;
  double       tokens;
  gint64       refilled_at;
  guint        used_today;
  double       error_share;
  double       malformed_share;
  guint        delay_ms;
  guint        refuse_next;
  gint64       step_us;
  GRand       *rand;
};

G_DEFINE_FINAL_TYPE (WbCarrierEmulator, wb_carrier_emulator, G_TYPE_OBJECT)

static void
scenario_free (gpointer data)
{
  Scenario *scenario = data;

  g_strfreev (scenario->codes);
  g_free (scenario);
}

static Scenario *
find_scenario (WbCarrierEmulator *self,
               const char        *carrier,
               const char        *number)
{
  g_autofree char *key = g_strconcat (carrier, "/", number, NULL);
  Scenario *scenario = g_hash_table_lookup (self->scenarios, key);

  if (scenario == NULL)
    {
      scenario = g_new0 (Scenario, 1);
      scenario->codes = g_strdupv ((char **) default_scenario);
      scenario->step_us = self->step_us;
      g_hash_table_insert (self->scenarios, g_steal_pointer (&key), scenario);
    }
  return scenario;
}

/* The token bucket a carrier keeps per API key (one key here). */
static gboolean
take_permit (WbCarrierEmulator *self,
             gint64             now)
{
  if (self->refuse_next > 0)
    {
      self->refuse_next--;
      return FALSE;
    }
  if (self->daily_quota > 0 && self->used_today >= self->daily_quota)
    return FALSE;
  if (self->rate > 0)
    {
      self->tokens = MIN (self->burst, self->tokens + self->rate * (now - self->refilled_at) / G_USEC_PER_SEC);
      self->refilled_at = now;
      if (self->tokens < 1 - 1e-9)
        return FALSE;
      self->tokens -= 1;
    }
  self->used_today++;
  return TRUE;
}

static void
set_retry_after (WbCarrierEmulator *self,
                 SoupServerMessage *message)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (message);
  g_autoptr(GDateTime) later = NULL;
  g_autofree char *text = NULL;

  switch (self->retry_after)
    {
    case WB_EMULATOR_RETRY_AFTER_SECONDS:
      soup_message_headers_replace (headers, "Retry-After", "1");
      break;
    case WB_EMULATOR_RETRY_AFTER_DATE:
      later = g_date_time_new_from_unix_utc (g_get_real_time () / G_USEC_PER_SEC + 2);
      text = soup_date_time_to_string (later, SOUP_DATE_HTTP);
      soup_message_headers_replace (headers, "Retry-After", text);
      break;
    default:
      break;
    }
}

static char *
scenario_json (const char *carrier,
               const char *number,
               Scenario   *scenario,
               gint64      now)
{
  GString *out = g_string_new ("{\"carrier\":");
  guint shown = 0;

  wb_json_write_string (out, carrier);
  g_string_append (out, ",\"trackNumber\":");
  wb_json_write_string (out, number);
  g_string_append (out, ",\"events\":[");
  for (guint i = 0; scenario->codes[i] != NULL; i++)
    {
      gint64 at = scenario->started_at + i * scenario->step_us;
      g_autofree char *time = NULL;

      if (at > now)
        break;
      time = wb_time_format (at);
      g_string_append_printf (out, "%s{\"id\":\"%u\",\"code\":", shown++ > 0 ? "," : "", i + 1);
      wb_json_write_string (out, scenario->codes[i]);
      g_string_append_printf (out, ",\"time\":\"%s\",\"location\":\"Hub %u\",\"description\":", time, i + 1);
      wb_json_write_string (out, scenario->codes[i]);
      g_string_append_c (out, '}');
    }
  g_string_append (out, "]}");
  return g_string_free (out, FALSE);
}

static void
respond (SoupServerMessage *message,
         guint              status,
         const char        *body)
{
  soup_server_message_set_status (message, status, NULL);
  soup_server_message_set_response (message, "application/json", SOUP_MEMORY_COPY, body, strlen (body));
}

/* Under the mutex: what one tracking request gets. */
static void
answer_tracking (WbCarrierEmulator *self,
                 SoupServerMessage *message,
                 const char        *carrier,
                 const char        *number)
{
  gint64 now = g_get_real_time ();
  Scenario *scenario;
  g_autofree char *body = NULL;

  self->counts.requests++;
  g_array_append_val (self->arrivals, (gint64) { g_get_monotonic_time () });
  if (!take_permit (self, g_get_monotonic_time ()))
    {
      self->counts.refused++;
      set_retry_after (self, message);
      respond (message, 429, "{\"error\":\"rate limit exceeded\"}");
      return;
    }
  scenario = find_scenario (self, carrier, number);
  scenario->requests++;
  if (g_rand_double (self->rand) < self->error_share)
    {
      self->counts.faults++;
      respond (message, SOUP_STATUS_SERVICE_UNAVAILABLE, "{\"error\":\"try later\"}");
      return;
    }
  if (g_rand_double (self->rand) < self->malformed_share)
    {
      self->counts.faults++;
      respond (message, SOUP_STATUS_OK, "{\"events\":[{\"id\":");
      return;
    }
  if (scenario->started_at == 0)
    scenario->started_at = now;
  self->counts.served++;
  body = scenario_json (carrier, number, scenario, now);
  respond (message, SOUP_STATUS_OK, body);
}

static gboolean
unpause (gpointer data)
{
  soup_server_message_unpause (data);
  return G_SOURCE_REMOVE;
}

static void
handle (SoupServer        *server,
        SoupServerMessage *message,
        const char        *path,
        GHashTable        *query,
        gpointer           user_data)
{
  WbCarrierEmulator *self = user_data;
  g_auto(GStrv) parts = g_strsplit (path, "/", -1);
  guint delay;

  /* "", "v1", "tracking", carrier, number */
  if (g_strv_length (parts) != 5 || !g_str_equal (parts[1], "v1") || !g_str_equal (parts[2], "tracking")
      || query == NULL || g_hash_table_lookup (query, "apiKey") == NULL)
    {
      respond (message, SOUP_STATUS_NOT_FOUND, "{\"error\":\"no such resource, or no apiKey\"}");
      return;
    }
  g_mutex_lock (&self->mutex);
  answer_tracking (self, message, parts[3], parts[4]);
  delay = self->delay_ms;
  g_mutex_unlock (&self->mutex);
  if (delay > 0)
    {
      GSource *source = g_timeout_source_new (delay);

      soup_server_message_pause (message);
      g_source_set_callback (source, unpause, g_object_ref (message), g_object_unref);
      g_source_attach (source, g_main_context_get_thread_default ());
      g_source_unref (source);
    }
}

/* ---- the admin routes: scenarios in, counts out ------------------------------- */

/* One scenario of a seed: {"carrier","trackNumber","codes":[…],"stepSeconds"?}. */
static gboolean
read_scenario (WbCarrierEmulator  *self,
               WbJsonReader       *item,
               GError            **error)
{
  g_autofree char *carrier = NULL;
  g_autofree char *number = NULL;
  g_autoptr(GPtrArray) codes = g_ptr_array_new_with_free_func (g_free);
  double step = (double) self->step_us / G_USEC_PER_SEC;
  gboolean present = FALSE;
  JsonArray *array = NULL;
  guint n;

  if (!wb_json_reader_get_string (item, "carrier", TRUE, &carrier, error)
      || !wb_json_reader_get_string (item, "trackNumber", TRUE, &number, error)
      || !wb_json_reader_get_double (item, "stepSeconds", 0.001, 86400.0 * 30, &present, &step, error)
      || !wb_json_reader_peek_array (item, "codes", TRUE, &array, error))
    return FALSE;
  n = json_array_get_length (array);
  if (n == 0)
    return wb_json_reader_fail (item, "codes", error, "must name at least one status");
  for (guint i = 0; i < n; i++)
    {
      JsonNode *node = json_array_get_element (array, i);

      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING
          || *json_node_get_string (node) == '\0')
        return wb_json_reader_fail (item, "codes", error, "must hold status words");
      g_ptr_array_add (codes, g_strdup (json_node_get_string (node)));
    }
  g_ptr_array_add (codes, NULL);
  wb_carrier_emulator_seed (self, carrier, number, (const char * const *) codes->pdata,
                            (gint64) (step * G_USEC_PER_SEC));
  return TRUE;
}

/* POST /v1/admin/seed {"scenarios":[…]}: each number's statuses, one step
 * apart from its first request on. A bad scenario refuses the whole seed. */
static void
handle_seed (SoupServer        *server,
             SoupServerMessage *message,
             const char        *path,
             GHashTable        *query,
             gpointer           user_data)
{
  WbCarrierEmulator *self = user_data;
  SoupMessageBody *request = soup_server_message_get_request_body (message);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(WbJsonReader) reader = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *answer = NULL;
  guint n = 0;

  if (!g_str_equal (soup_server_message_get_method (message), "POST"))
    return respond (message, SOUP_STATUS_METHOD_NOT_ALLOWED, "{\"error\":\"POST a seed\"}");
  body = soup_message_body_flatten (request);
  reader = wb_json_reader_new_from_bytes (body, NULL, &error);
  if (reader == NULL || !wb_json_reader_get_array_length (reader, "scenarios", &n, &error))
    goto refused;
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(WbJsonReader) item = wb_json_reader_get_array_element (reader, "scenarios", i, &error);

      if (item == NULL || !read_scenario (self, item, &error))
        goto refused;
    }
  answer = g_strdup_printf ("{\"seeded\":%u}", n);
  respond (message, SOUP_STATUS_OK, answer);
  return;

refused:
  {
    g_autoptr(GString) out = g_string_new ("{\"error\":");

    wb_json_write_string (out, error->message);
    g_string_append_c (out, '}');
    respond (message, SOUP_STATUS_BAD_REQUEST, out->str);
  }
}

/* GET /v1/admin/stats: what it served and refused, and the busiest second,
 * for a caller to check it kept within the limits. */
static void
handle_stats (SoupServer        *server,
              SoupServerMessage *message,
              const char        *path,
              GHashTable        *query,
              gpointer           user_data)
{
  WbCarrierEmulator *self = user_data;
  WbEmulatorCounts counts;
  g_autofree char *answer = NULL;
  guint busiest = wb_carrier_emulator_max_in_window (self, G_USEC_PER_SEC);

  wb_carrier_emulator_get_counts (self, &counts);
  answer = g_strdup_printf ("{\"requests\":%" G_GUINT64_FORMAT ",\"served\":%" G_GUINT64_FORMAT
                            ",\"refused\":%" G_GUINT64_FORMAT ",\"faults\":%" G_GUINT64_FORMAT
                            ",\"mostInOneSecond\":%u}",
                            counts.requests, counts.served, counts.refused, counts.faults, busiest);
  respond (message, SOUP_STATUS_OK, answer);
}

static void
wb_carrier_emulator_dispose (GObject *object)
{
  WbCarrierEmulator *self = WB_CARRIER_EMULATOR (object);

  wb_carrier_emulator_stop (self);
  G_OBJECT_CLASS (wb_carrier_emulator_parent_class)->dispose (object);
}

static void
wb_carrier_emulator_finalize (GObject *object)
{
  WbCarrierEmulator *self = WB_CARRIER_EMULATOR (object);

  g_hash_table_unref (self->scenarios);
  g_array_unref (self->arrivals);
  g_rand_free (self->rand);
  g_mutex_clear (&self->mutex);
  G_OBJECT_CLASS (wb_carrier_emulator_parent_class)->finalize (object);
}

static void
wb_carrier_emulator_class_init (WbCarrierEmulatorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = wb_carrier_emulator_dispose;
  object_class->finalize = wb_carrier_emulator_finalize;
}

static void
wb_carrier_emulator_init (WbCarrierEmulator *self)
{
  g_mutex_init (&self->mutex);
  self->scenarios = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, scenario_free);
  self->arrivals = g_array_new (FALSE, FALSE, sizeof (gint64));
  self->rand = g_rand_new_with_seed (42);
  self->step_us = 2 * G_USEC_PER_SEC;
  self->burst = 1;
  self->refilled_at = g_get_monotonic_time ();
}

WbCarrierEmulator *
wb_carrier_emulator_new (void)
{
  return g_object_new (WB_TYPE_CARRIER_EMULATOR, NULL);
}

void
wb_carrier_emulator_set_limits (WbCarrierEmulator    *self,
                                double                rate,
                                guint                 burst,
                                guint                 daily_quota,
                                WbEmulatorRetryAfter  retry_after)
{
  g_return_if_fail (WB_IS_CARRIER_EMULATOR (self));

  g_mutex_lock (&self->mutex);
  self->rate = rate;
  self->burst = MAX (burst, 1);
  self->tokens = self->burst;
  self->refilled_at = g_get_monotonic_time ();
  self->daily_quota = daily_quota;
  self->retry_after = retry_after;
  g_mutex_unlock (&self->mutex);
}

void
wb_carrier_emulator_set_faults (WbCarrierEmulator *self,
                                double             error_share,
                                double             malformed_share,
                                guint              delay_ms)
{
  g_return_if_fail (WB_IS_CARRIER_EMULATOR (self));

  g_mutex_lock (&self->mutex);
  self->error_share = error_share;
  self->malformed_share = malformed_share;
  self->delay_ms = delay_ms;
  g_mutex_unlock (&self->mutex);
}

void
wb_carrier_emulator_refuse_next (WbCarrierEmulator *self,
                                 guint              n)
{
  g_return_if_fail (WB_IS_CARRIER_EMULATOR (self));

  g_mutex_lock (&self->mutex);
  self->refuse_next = n;
  g_mutex_unlock (&self->mutex);
}

void
wb_carrier_emulator_set_step (WbCarrierEmulator *self,
                              gint64             step_us)
{
  g_return_if_fail (WB_IS_CARRIER_EMULATOR (self));

  g_mutex_lock (&self->mutex);
  self->step_us = step_us;
  g_mutex_unlock (&self->mutex);
}

void
wb_carrier_emulator_seed (WbCarrierEmulator  *self,
                          const char         *carrier,
                          const char         *track_number,
                          const char * const *codes,
                          gint64              step_us)
{
  Scenario *scenario = g_new0 (Scenario, 1);

  g_return_if_fail (WB_IS_CARRIER_EMULATOR (self));

  scenario->codes = g_strdupv ((char **) codes);
  scenario->step_us = step_us;
  g_mutex_lock (&self->mutex);
  g_hash_table_insert (self->scenarios, g_strconcat (carrier, "/", track_number, NULL), scenario);
  g_mutex_unlock (&self->mutex);
}

static guint
listen_with (WbCarrierEmulator  *self,
             GSocketAddress     *address,
             GError            **error)
{
  g_autoptr(GSList) uris = NULL;
  gboolean listening;
  guint port;

  self->server = soup_server_new ("server-header", "waybill-carrier-emulator", NULL);
  soup_server_add_handler (self->server, "/v1/tracking", handle, self, NULL);
  soup_server_add_handler (self->server, "/v1/admin/seed", handle_seed, self, NULL);
  soup_server_add_handler (self->server, "/v1/admin/stats", handle_stats, self, NULL);
  listening = address != NULL ? soup_server_listen (self->server, address, 0, error)
                              : soup_server_listen_local (self->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, error);
  if (!listening)
    {
      g_clear_object (&self->server);
      return 0;
    }
  uris = soup_server_get_uris (self->server);
  port = g_uri_get_port (uris->data);
  g_slist_free_full (g_steal_pointer (&uris), (GDestroyNotify) g_uri_unref);
  return port;
}

guint
wb_carrier_emulator_listen (WbCarrierEmulator  *self,
                            GError            **error)
{
  g_return_val_if_fail (WB_IS_CARRIER_EMULATOR (self), 0);
  g_return_val_if_fail (self->server == NULL, 0);

  return listen_with (self, NULL, error);
}

/**
 * wb_carrier_emulator_listen_address:
 * @address: where to listen; port 0 takes any free one
 *
 * Returns: the port it listens on, or 0 with @error set
 */
guint
wb_carrier_emulator_listen_address (WbCarrierEmulator  *self,
                                    GSocketAddress     *address,
                                    GError            **error)
{
  g_return_val_if_fail (WB_IS_CARRIER_EMULATOR (self), 0);
  g_return_val_if_fail (G_IS_SOCKET_ADDRESS (address), 0);
  g_return_val_if_fail (self->server == NULL, 0);

  return listen_with (self, address, error);
}

void
wb_carrier_emulator_stop (WbCarrierEmulator *self)
{
  g_return_if_fail (WB_IS_CARRIER_EMULATOR (self));

  if (self->server != NULL)
    {
      soup_server_disconnect (self->server);
      g_clear_object (&self->server);
    }
}

void
wb_carrier_emulator_get_counts (WbCarrierEmulator *self,
                                WbEmulatorCounts  *out_counts)
{
  g_return_if_fail (WB_IS_CARRIER_EMULATOR (self));

  g_mutex_lock (&self->mutex);
  *out_counts = self->counts;
  g_mutex_unlock (&self->mutex);
}

guint
wb_carrier_emulator_max_in_window (WbCarrierEmulator *self,
                                   gint64             window_us)
{
  guint best = 0, start = 0;

  g_return_val_if_fail (WB_IS_CARRIER_EMULATOR (self), 0);

  g_mutex_lock (&self->mutex);
  for (guint end = 0; end < self->arrivals->len; end++)
    {
      gint64 at = g_array_index (self->arrivals, gint64, end);

      while (at - g_array_index (self->arrivals, gint64, start) >= window_us)
        start++;
      best = MAX (best, end - start + 1);
    }
  g_mutex_unlock (&self->mutex);
  return best;
}

guint
wb_carrier_emulator_get_requests_for (WbCarrierEmulator *self,
                                      const char        *carrier,
                                      const char        *track_number)
{
  g_autofree char *key = g_strconcat (carrier, "/", track_number, NULL);
  Scenario *scenario;
  guint n;

  g_return_val_if_fail (WB_IS_CARRIER_EMULATOR (self), 0);

  g_mutex_lock (&self->mutex);
  scenario = g_hash_table_lookup (self->scenarios, key);
  n = scenario ? scenario->requests : 0;
  g_mutex_unlock (&self->mutex);
  return n;
}

GArray *
wb_carrier_emulator_dup_arrivals (WbCarrierEmulator *self)
{
  GArray *copy;

  g_return_val_if_fail (WB_IS_CARRIER_EMULATOR (self), NULL);

  g_mutex_lock (&self->mutex);
  copy = g_array_copy (self->arrivals);
  g_mutex_unlock (&self->mutex);
  return copy;
}
