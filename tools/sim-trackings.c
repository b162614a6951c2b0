// SPDX-License-Identifier: GPL-3.0-or-later
/* `waybill-sim trackings`: generated track numbers for the polling demo,
 * posted to POST /trackings. */

#include "config.h"

#include <math.h>
#include <string.h>

#include "sim-http.h"
#include "sim-trackings.h"
#include "wb-carrier-table.h"
#include "wb-json-reader.h"
#include "wb-json-writer.h"

#define S10_SERIALS 100000000u

/* The check digit is whichever the carrier table's own validator takes,
 * so the two can never disagree. */
char *
wb_sim_s10_number (guint32 serial)
{
  g_return_val_if_fail (serial < S10_SERIALS, NULL);

  for (guint check = 0; check <= 9; check++)
    {
      char *number = g_strdup_printf ("RA%08u%uRU", serial, check);

      if (wb_s10_is_valid (number))
        return number;
      g_free (number);
    }
  g_return_val_if_reached (NULL);
}

static GBytes *
batch_body (const WbSimTrackingsOptions *options,
            guint                        first,
            guint                        n)
{
  GString *body = g_string_new ("{\"items\":[");

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *number = wb_sim_s10_number ((options->first_serial + first + i) % S10_SERIALS);

      g_string_append (body, i ? ",{\"carrierCode\":" : "{\"carrierCode\":");
      wb_json_write_string (body, options->carrier);
      g_string_append (body, ",\"trackNumber\":");
      wb_json_write_string (body, number);
      g_string_append_c (body, '}');
    }
  g_string_append (body, "]}");
  return g_string_free_to_bytes (body);
}

static void
store_result (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

/* One request at a time: the demo needs no more, and the order of the
 * counts stays that of the numbers. */
static GBytes *
post (WbSimHttp   *http,
      const char  *uri,
      GBytes      *body,
      guint       *out_status,
      GError     **error)
{
  GAsyncResult *result = NULL;
  GBytes *answer;

  wb_sim_http_send_async (http, "POST", uri, "application/json", body, NULL, store_result, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  answer = wb_sim_http_send_finish (http, result, out_status, NULL, error);
  g_object_unref (result);
  return answer;
}

static gboolean
add_counts (GBytes               *answer,
            WbSimTrackingsCounts *counts,
            GError              **error)
{
  g_autoptr(WbJsonReader) reader = wb_json_reader_new_from_bytes (answer, NULL, error);
  gint64 created = 0, existing = 0, failed = 0;
  gboolean present;

  if (reader == NULL
      || !wb_json_reader_get_int64 (reader, "created", 0, G_MAXINT32, &present, &created, error)
      || !wb_json_reader_get_int64 (reader, "existing", 0, G_MAXINT32, &present, &existing, error)
      || !wb_json_reader_get_int64 (reader, "failed", 0, G_MAXINT32, &present, &failed, error))
    return FALSE;
  counts->created += created;
  counts->existing += existing;
  counts->rejected += failed;
  return TRUE;
}

static gboolean
refused (guint    status,
         GBytes  *answer,
         GError **error)
{
  g_autoptr(WbJsonReader) reader = wb_json_reader_new_from_bytes (answer, NULL, NULL);
  g_autoptr(WbJsonReader) inner = reader ? wb_json_reader_get_object_member (reader, "error", TRUE, NULL) : NULL;
  const char *message = NULL;

  if (inner != NULL)
    wb_json_reader_peek_string (inner, "message", TRUE, 1000, &message, NULL);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "POST /trackings answered %u%s%s", status,
               message ? ": " : "", message ? message : "");
  return FALSE;
}

/* Waits until @sent numbers are due at @rate since @started_us. */
static void
pace (double rate,
      gint64 started_us,
      guint  sent)
{
  gint64 due_us = started_us + (gint64) (sent / rate * G_USEC_PER_SEC);
  gint64 now_us = g_get_monotonic_time ();

  if (rate > 0 && due_us > now_us)
    g_usleep (due_us - now_us);
}

gboolean
wb_sim_trackings_run (const WbSimTrackingsOptions *options,
                      WbSimTrackingsCounts        *out_counts,
                      GError                     **error)
{
  g_autoptr(WbSimHttp) http = wb_sim_http_new (options->token, 1);
  g_autofree char *uri = g_strconcat (options->api_url, "/trackings", NULL);
  guint batch = options->rate > 0 ? CLAMP ((guint) ceil (options->rate), 1, WB_SIM_TRACKINGS_MAX_BATCH)
                                  : WB_SIM_TRACKINGS_MAX_BATCH;
  gint64 started_us = g_get_monotonic_time ();

  memset (out_counts, 0, sizeof *out_counts);
  for (guint sent = 0; sent < options->count; sent += batch)
    {
      guint n = MIN (batch, options->count - sent);
      g_autoptr(GBytes) body = batch_body (options, sent, n);
      g_autoptr(GBytes) answer = NULL;
      guint status = 0;

      if (options->rate > 0)
        pace (options->rate, started_us, sent);
      if ((answer = post (http, uri, body, &status, error)) == NULL)
        return FALSE;
      if (status != 200)
        return refused (status, answer, error);
      if (!add_counts (answer, out_counts, error))
        return FALSE;
    }
  return TRUE;
}

/* ---- the demo generator -------------------------------------------------------- */

char *
wb_sim_demo_number (const char *carrier,
                    guint32     serial)
{
  if (g_str_equal (carrier, "POST_RU"))
    return wb_sim_s10_number (serial % S10_SERIALS);
  /* CDEK's order numbers, and most others': ten digits. */
  return g_strdup_printf ("1%09u", serial % 1000000000u);
}

/* Where a parcel goes, in the emulator's status words: most are
 * delivered, some fail an attempt first, a few wait at a pickup point. */
static const char * const *
demo_path (guint i)
{
  static const char * const delivered[] = { "INFO_RECEIVED", "IN_TRANSIT", "OUT_FOR_DELIVERY", "DELIVERED", NULL };
  static const char * const attempt[] = { "INFO_RECEIVED", "IN_TRANSIT", "OUT_FOR_DELIVERY", "FAILED_ATTEMPT",
                                          "OUT_FOR_DELIVERY", "DELIVERED", NULL };
  static const char * const pickup[] = { "INFO_RECEIVED", "IN_TRANSIT", "AVAILABLE_FOR_PICKUP", "DELIVERED", NULL };

  return i % 10 == 7 ? attempt : i % 10 == 3 ? pickup : delivered;
}

static GBytes *
seed_body (const WbSimDemoOptions *options,
           GPtrArray              *carriers,
           GPtrArray              *numbers)
{
  GString *body = g_string_new ("{\"scenarios\":[");

  for (guint i = 0; i < numbers->len; i++)
    {
      const char * const *path = demo_path (i);

      g_string_append (body, i ? ",{\"carrier\":" : "{\"carrier\":");
      wb_json_write_string (body, g_ptr_array_index (carriers, i));
      g_string_append (body, ",\"trackNumber\":");
      wb_json_write_string (body, g_ptr_array_index (numbers, i));
      /* Steps of 5 to 14 s: statuses move within a minute on the demo
       * profile, not all at once. */
      g_string_append (body, ",\"stepSeconds\":");
      if (options->step > 0)
        wb_json_write_double (body, options->step);
      else
        g_string_append_printf (body, "%u", 5 + (options->seed + i) % 10);
      g_string_append (body, ",\"codes\":[");
      for (guint c = 0; path[c] != NULL; c++)
        {
          if (c > 0)
            g_string_append_c (body, ',');
          wb_json_write_string (body, path[c]);
        }
      g_string_append (body, "]}");
    }
  g_string_append (body, "]}");
  return g_string_free_to_bytes (body);
}

static GBytes *
items_body (GPtrArray *carriers,
            GPtrArray *numbers,
            guint      first,
            guint      n)
{
  GString *body = g_string_new ("{\"items\":[");

  for (guint i = first; i < first + n; i++)
    {
      g_string_append (body, i > first ? ",{\"carrierCode\":" : "{\"carrierCode\":");
      wb_json_write_string (body, g_ptr_array_index (carriers, i));
      g_string_append (body, ",\"trackNumber\":");
      wb_json_write_string (body, g_ptr_array_index (numbers, i));
      g_string_append_c (body, '}');
    }
  g_string_append (body, "]}");
  return g_string_free_to_bytes (body);
}

gboolean
wb_sim_demo_run (const WbSimDemoOptions *options,
                 WbSimTrackingsCounts   *out_counts,
                 GError                **error)
{
  g_autoptr(WbSimHttp) http = wb_sim_http_new (options->token, 1);
  g_autoptr(WbSimHttp) emulator = wb_sim_http_new (NULL, 1);
  g_autofree char *uri = g_strconcat (options->api_url, "/trackings", NULL);
  g_autofree char *seed_uri = g_strconcat (options->emulator_url, "/v1/admin/seed", NULL);
  g_autoptr(GPtrArray) carriers = g_ptr_array_new ();
  g_autoptr(GPtrArray) numbers = g_ptr_array_new_with_free_func (g_free);
  guint n_carriers = g_strv_length ((char **) options->carriers);
  g_autoptr(GBytes) seed = NULL;
  g_autoptr(GBytes) seeded = NULL;
  guint status = 0;
  gint64 started_us;

  g_return_val_if_fail (n_carriers > 0 && options->batch > 0, FALSE);

  memset (out_counts, 0, sizeof *out_counts);
  /* The carriers take turns, so each gets its share of the count. */
  for (guint i = 0; i < options->count; i++)
    {
      const char *carrier = options->carriers[i % n_carriers];

      g_ptr_array_add (carriers, (gpointer) carrier);
      g_ptr_array_add (numbers, wb_sim_demo_number (carrier, options->seed + i));
    }
  seed = seed_body (options, carriers, numbers);
  if ((seeded = post (emulator, seed_uri, seed, &status, error)) == NULL)
    return FALSE;
  if (status != 200)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "POST %s answered %u: %.*s", seed_uri, status,
                   (int) g_bytes_get_size (seeded), (const char *) g_bytes_get_data (seeded, NULL));
      return FALSE;
    }
  started_us = g_get_monotonic_time ();
  for (guint sent = 0; sent < numbers->len; sent += options->batch)
    {
      guint n = MIN (options->batch, numbers->len - sent);
      g_autoptr(GBytes) body = items_body (carriers, numbers, sent, n);
      g_autoptr(GBytes) answer = NULL;

      if (options->rate > 0)
        pace (options->rate, started_us, sent);
      if ((answer = post (http, uri, body, &status, error)) == NULL)
        return FALSE;
      if (status != 200)
        return refused (status, answer, error);
      if (!add_counts (answer, out_counts, error))
        return FALSE;
      if (options->progress)
        g_printerr ("\rdemo: %u of %u added (%" G_GUINT64_FORMAT " new, %" G_GUINT64_FORMAT " already tracked, %"
                    G_GUINT64_FORMAT " refused)", sent + n, numbers->len, out_counts->created, out_counts->existing,
                    out_counts->rejected);
    }
  if (options->progress)
    g_printerr ("\n");
  return TRUE;
}
