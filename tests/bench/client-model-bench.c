// SPDX-License-Identifier: GPL-3.0-or-later
/* The console's side of a busy map: 5 000 vehicles held in a
 * WbVehicleModel. Figures, medians of several runs:
 *   - a pan: half the vehicles leave and as many enter, in one frame,
 *     applied in one pass (remove_all + apply_all) against one vehicle at
 *     a time (remove + apply), the baseline, in the same run;
 *   - an update frame of every vehicle (5 000 vehicles at 1 Hz): the
 *     frame's JSON read through the guarded parser and the live vehicle
 *     reader, then applied.
 * A handler on items-changed counts the signals, as a list view would. */

#include "config.h"

#include <string.h>

#include "wb-bench.h"
#include "wb-json-reader.h"
#include "wb-live-vehicle-reader.h"
#include "wb-vehicle-model.h"

#define FLEET 5000
#define RUNS  15

static guint signals_seen;

static void
on_items_changed (GListModel *model,
                  guint       position,
                  guint       removed,
                  guint       added,
                  gpointer    data)
{
  signals_seen++;
}

static WbLiveVehicle *
vehicle (guint  number,
         double lat)
{
  g_autofree char *id = g_strdup_printf ("v%u", number);
  WbLiveVehicle *state = wb_live_vehicle_new (id);

  state->device_id = g_strdup_printf ("d%u", number);
  state->company_id = g_strdup ("c1");
  state->lat = lat;
  state->lon = 27.5 + number / 1e5;
  state->speed = 40;
  state->course = 90;
  state->fix_time = state->server_time = g_get_real_time ();
  state->state = WB_LIVE_STATE_MOVING;
  return state;
}

/* Vehicles v0…v4999, and the pan's: the even ones leave, v5000… enter. */
static WbVehicleModel *
full_model (void)
{
  WbVehicleModel *model = wb_vehicle_model_new ();
  g_autoptr(GPtrArray) states = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_live_vehicle_unref);

  for (guint i = 0; i < FLEET; i++)
    g_ptr_array_add (states, vehicle (i, 53.9));
  wb_vehicle_model_apply_all (model, states);
  g_signal_connect (model, "items-changed", G_CALLBACK (on_items_changed), NULL);
  return model;
}

static double
pan (gboolean batched)
{
  g_autoptr(WbVehicleModel) model = full_model ();
  g_autoptr(GPtrArray) left = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) entered = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_live_vehicle_unref);
  gint64 start;

  for (guint i = 0; i < FLEET; i += 2)
    {
      g_ptr_array_add (left, g_strdup_printf ("v%u", i));
      g_ptr_array_add (entered, vehicle (FLEET + i, 53.95));
    }
  signals_seen = 0;
  start = g_get_monotonic_time ();
  if (batched)
    {
      wb_vehicle_model_remove_all (model, left);
      wb_vehicle_model_apply_all (model, entered);
    }
  else
    {
      for (guint i = 0; i < left->len; i++)
        wb_vehicle_model_remove (model, g_ptr_array_index (left, i));
      for (guint i = 0; i < entered->len; i++)
        wb_vehicle_model_apply (model, g_ptr_array_index (entered, i));
    }
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, FLEET);
  return (g_get_monotonic_time () - start) / 1000.0;
}

static char *
update_frame (void)
{
  GString *out = g_string_new ("{\"type\":\"updates\",\"epoch\":\"e\",\"seq\":1,\"updates\":[");

  for (guint i = 0; i < FLEET; i++)
    {
      g_autoptr(WbLiveVehicle) state = vehicle (i, 53.91);

      g_string_append_printf (out, "%s{\"type\":\"update\",\"seq\":%u,\"vehicle\":", i ? "," : "", i + 1);
      wb_live_vehicle_write_json (state, WB_LIVE_JSON_ACCEPTED_AT, out);
      g_string_append_c (out, '}');
    }
  g_string_append (out, "]}");
  return g_string_free (out, FALSE);
}

static GPtrArray *
read_frame (const char *text)
{
  const WbJsonLimits limits = { 64 * 1024 * 1024, 32 };
  g_autoptr(GError) error = NULL;
  g_autoptr(WbJsonReader) frame = wb_json_reader_new_from_data (text, strlen (text), &limits, &error);
  GPtrArray *states = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_live_vehicle_unref);
  guint length = 0;

  g_assert_no_error (error);
  g_assert_true (wb_json_reader_get_array_length (frame, "updates", &length, &error));
  for (guint i = 0; i < length; i++)
    {
      g_autoptr(WbJsonReader) item = wb_json_reader_get_array_element (frame, "updates", i, &error);
      g_autoptr(WbJsonReader) member = wb_json_reader_get_object_member (item, "vehicle", TRUE, &error);

      g_ptr_array_add (states, wb_live_vehicle_read (member, &error));
      g_assert_no_error (error);
    }
  return states;
}

static void
update_all (WbVehicleModel *model,
            const char     *text,
            double         *out_read_ms,
            double         *out_apply_ms)
{
  gint64 start = g_get_monotonic_time ();
  g_autoptr(GPtrArray) states = read_frame (text);
  gint64 read = g_get_monotonic_time ();

  wb_vehicle_model_apply_all (model, states);
  *out_read_ms = (read - start) / 1000.0;
  *out_apply_ms = (g_get_monotonic_time () - read) / 1000.0;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GArray) single = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) batch = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) reads = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) applies = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(WbVehicleModel) model = full_model ();
  g_autofree char *frame = update_frame ();
  guint single_signals;
  double one, all;

  for (guint run = 0; run < RUNS; run++)
    {
      double ms = pan (FALSE);
      double read_ms, apply_ms;

      g_array_append_val (single, ms);
      single_signals = signals_seen;
      ms = pan (TRUE);
      g_array_append_val (batch, ms);
      update_all (model, frame, &read_ms, &apply_ms);
      g_array_append_val (reads, read_ms);
      g_array_append_val (applies, apply_ms);
    }
  one = wb_bench_median (single);
  all = wb_bench_median (batch);
  g_print ("pan of %u vehicles (%u leave, %u enter), median of %u:\n", FLEET, FLEET / 2, FLEET / 2, RUNS);
  g_print ("  one at a time (baseline): %8.2f ms, %u items-changed\n", one, single_signals);
  g_print ("  one pass:                 %8.2f ms, %u items-changed\n", all, signals_seen);
  g_print ("  ratio: %.1fx faster\n", one / all);
  g_print ("update frame of %u vehicles (%zu bytes), median of %u:\n", FLEET, strlen (frame), RUNS);
  g_print ("  read (guarded parse + reader, on the worker): %6.2f ms\n", wb_bench_median (reads));
  g_print ("  apply to the model (main loop):                %6.2f ms\n", wb_bench_median (applies));
  return 0;
}
