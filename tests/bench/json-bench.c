// SPDX-License-Identifier: GPL-3.0-or-later
/* JSON benchmark: what the guard costs. Every document from outside goes
 * through wb_json_parse(): a strict one-pass scan (size, UTF-8, RFC 8259
 * syntax, depth), then json-glib builds the tree. Prints, as medians of
 * --runs runs, per document kind:
 *
 *   - json-glib alone (json_parser_load_from_data, the baseline, in the
 *     same run),
 *   - the scan alone (wb_json_check),
 *   - the guarded parse (wb_json_parse),
 *
 * and the ratio guarded / json-glib: what refusing bad input up front adds
 * to reading good input. Also the time to refuse a document nested 100 000
 * levels deep, which json-glib alone cannot survive. */

#include "config.h"

#include <string.h>

#include "wb-bench.h"
#include "wb-json.h"

static int runs = 7;

static GOptionEntry entries[] = {
  { "runs", 0, 0, G_OPTION_ARG_INT, &runs, "Runs per figure (median reported)", "N" },
  { NULL }
};

static char *
shipment_body (void)
{
  return g_strdup ("{\"clientId\":\"acme\",\"serviceLevel\":\"standard\",\"reference\":\"PO-2026-11-0042\","
                   "\"recipient\":{\"name\":\"Ivan Petrov\",\"phone\":\"+375 29 123-45-67\","
                   "\"email\":\"ivan.petrov@example.com\"},"
                   "\"destination\":{\"country\":\"BY\",\"city\":\"Minsk\",\"line1\":\"Nezavisimosti 1\","
                   "\"postalCode\":\"220030\",\"lat\":53.9023,\"lon\":27.5619},"
                   "\"promisedAt\":\"2026-11-22T18:00:00Z\",\"carrier\":\"dhl\",\"trackNumber\":\"JD014600003828\"}");
}

static char *
dhl_response (guint events)
{
  GString *out = g_string_new ("{\"shipments\":[{\"id\":\"JD014600003828\",\"service\":\"express\","
                               "\"status\":{\"timestamp\":\"2026-11-21T09:14:00+01:00\",\"statusCode\":\"transit\","
                               "\"status\":\"PROCESSED\",\"description\":\"Processed at Leipzig hub\"},\"events\":[");

  for (guint i = 0; i < events; i++)
    g_string_append_printf (out, "%s{\"timestamp\":\"2026-11-%02uT%02u:%02u:00+01:00\","
                            "\"location\":{\"address\":{\"addressLocality\":\"Leipzig - Germany\"}},"
                            "\"statusCode\":\"transit\",\"status\":\"PROCESSED\","
                            "\"description\":\"Shipment has been processed in the parcel center \\u00e9\"}",
                            i ? "," : "", 1 + i % 28, i % 24, i % 60);
  g_string_append (out, "]}]}");
  return g_string_free (out, FALSE);
}

static char *
telemetry_batch (guint positions)
{
  GString *out = g_string_new ("[");

  for (guint i = 0; i < positions; i++)
    g_string_append_printf (out, "%s{\"deviceId\":\"sim-%04u\",\"fixTime\":\"2026-11-20T10:%02u:%02u.000Z\","
                            "\"lat\":53.%07u,\"lon\":27.%07u,\"speed\":%u.5,\"course\":%u,\"altitude\":220.25,"
                            "\"accuracy\":4.8,\"attributes\":{\"ignition\":true,\"odometer\":%u,\"battery\":12.7}}",
                            i ? "," : "", i, i % 60, i % 60, 9000000 + i * 37, 5000000 + i * 53, i % 90, i % 360,
                            1200000 + i);
  g_string_append_c (out, ']');
  return g_string_free (out, FALSE);
}

typedef enum { JSON_GLIB, CHECK, GUARDED } Way;

static double
seconds_per_document (Way         way,
                      const char *text,
                      gsize       length,
                      guint       repeats)
{
  gint64 start = g_get_monotonic_time ();

  for (guint i = 0; i < repeats; i++)
    {
      g_autoptr(GError) error = NULL;

      if (way == JSON_GLIB)
        {
          g_autoptr(JsonParser) parser = json_parser_new_immutable ();

          if (!json_parser_load_from_data (parser, text, length, &error))
            g_error ("json-glib: %s", error->message);
        }
      else if (way == CHECK)
        {
          if (!wb_json_check (text, length, NULL, &error))
            g_error ("check: %s", error->message);
        }
      else
        {
          g_autoptr(JsonNode) node = wb_json_parse (text, length, NULL, &error);

          if (node == NULL)
            g_error ("guarded: %s", error->message);
        }
    }
  return (g_get_monotonic_time () - start) / 1e6 / repeats;
}

static void
measure (const char *name,
         char       *text)
{
  gsize length = strlen (text);
  /* About 50 ms of json-glib per run. */
  guint repeats = MAX (3, (guint) (0.05 / seconds_per_document (JSON_GLIB, text, length, 3)));
  GArray *times[3];
  g_autoptr(GArray) ratios = g_array_new (FALSE, FALSE, sizeof (double));
  double median[3];

  for (guint w = 0; w < 3; w++)
    times[w] = g_array_new (FALSE, FALSE, sizeof (double));
  for (int r = 0; r < runs; r++)
    {
      double t[3];

      /* Interleaved, so a noisy moment hits all three ways alike. */
      for (guint w = 0; w < 3; w++)
        {
          t[w] = seconds_per_document ((Way) w, text, length, repeats);
          g_array_append_val (times[w], t[w]);
        }
      t[0] = t[GUARDED] / t[JSON_GLIB];
      g_array_append_val (ratios, t[0]);
    }
  for (guint w = 0; w < 3; w++)
    {
      median[w] = wb_bench_median (times[w]);
      g_array_unref (times[w]);
    }
  g_print ("%-22s %9" G_GSIZE_FORMAT " B   json-glib %9.1f us   scan %8.1f us (%5.0f MB/s)   guarded %9.1f us"
           "   guarded/json-glib %.2f\n",
           name, length, median[JSON_GLIB] * 1e6, median[CHECK] * 1e6, length / median[CHECK] / 1e6,
           median[GUARDED] * 1e6, wb_bench_median (ratios));
  g_free (text);
}

static void
measure_deep_refusal (void)
{
  const guint levels = 100000;
  GString *text = g_string_sized_new (levels * 6 + 1);
  g_autoptr(GArray) times = g_array_new (FALSE, FALSE, sizeof (double));

  for (guint i = 0; i < levels; i++)
    g_string_append (text, "{\"a\":");
  g_string_append_c (text, '1');
  for (guint i = 0; i < levels; i++)
    g_string_append_c (text, '}');
  for (int r = 0; r < runs; r++)
    {
      gint64 start = g_get_monotonic_time ();
      g_autoptr(GError) error = NULL;
      double t;

      g_assert_null (wb_json_parse (text->str, text->len, NULL, &error));
      g_assert_error (error, WB_JSON_ERROR, WB_JSON_ERROR_TOO_DEEP);
      t = (g_get_monotonic_time () - start) / 1e6;
      g_array_append_val (times, t);
    }
  g_print ("%-22s %9" G_GSIZE_FORMAT " B   refused in %.1f us (json-glib alone: stack overflow)\n",
           "100 000 levels deep", text->len, wb_bench_median (times) * 1e6);
  g_string_free (text, TRUE);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = g_option_context_new ("- the cost of the guarded JSON parse");
  g_autoptr(GError) error = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    g_error ("%s", error->message);

  g_print ("medians of %d runs\n", runs);
  measure ("shipment body", shipment_body ());
  measure ("DHL response, 20 ev", dhl_response (20));
  measure ("telemetry, 500 pos", telemetry_batch (500));
  measure ("telemetry, 10 000 pos", telemetry_batch (10000));
  measure_deep_refusal ();
  return 0;
}
