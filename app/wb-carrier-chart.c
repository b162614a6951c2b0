// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include <glib/gi18n.h>

#include "wb-carrier-chart.h"
#include "wb-client-tracking.h"

#define BAR_GAP 1.0f

struct _WbCarrierChart
{
  GtkWidget  parent_instance;
  GArray    *minutes;   /* WbClientCarrierMinute */
  guint      peak;
};

G_DEFINE_FINAL_TYPE (WbCarrierChart, wb_carrier_chart, GTK_TYPE_WIDGET)

static const GdkRGBA ok_colour = { 0.18, 0.76, 0.49, 1 };        /* Adwaita green 3 */
static const GdkRGBA throttled_colour = { 0.96, 0.76, 0.07, 1 }; /* yellow 4 */
static const GdkRGBA failed_colour = { 0.88, 0.11, 0.14, 1 };    /* red 3 */

static void
wb_carrier_chart_snapshot (GtkWidget   *widget,
                           GtkSnapshot *snapshot)
{
  WbCarrierChart *self = WB_CARRIER_CHART (widget);
  float width = gtk_widget_get_width (widget);
  float height = gtk_widget_get_height (widget);
  guint n = self->minutes ? self->minutes->len : 0;
  GdkRGBA axis;
  float bar;

  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &axis);
  axis.alpha = 0.25f;
  gtk_snapshot_append_color (snapshot, &axis, &GRAPHENE_RECT_INIT (0, height - 1, width, 1));
  if (n == 0 || self->peak == 0)
    return;
  bar = width / n;
  for (guint i = 0; i < n; i++)
    {
      const WbClientCarrierMinute *minute = &g_array_index (self->minutes, WbClientCarrierMinute, i);
      const struct { guint count; const GdkRGBA *colour; } parts[] = {
        { minute->ok, &ok_colour }, { minute->throttled, &throttled_colour }, { minute->error, &failed_colour },
      };
      float y = height - 1;

      for (guint p = 0; p < G_N_ELEMENTS (parts); p++)
        {
          float h = (height - 1) * parts[p].count / (float) self->peak;

          if (parts[p].count == 0)
            continue;
          h = MAX (h, 1.0f);
          gtk_snapshot_append_color (snapshot, parts[p].colour,
                                     &GRAPHENE_RECT_INIT (i * bar, y - h, MAX (bar - BAR_GAP, 1.0f), h));
          y -= h;
        }
    }
}

static void
wb_carrier_chart_measure (GtkWidget      *widget,
                          GtkOrientation  orientation,
                          int             for_size,
                          int            *minimum,
                          int            *natural,
                          int            *minimum_baseline,
                          int            *natural_baseline)
{
  /* Two pixels a minute at least; a row's height. */
  *minimum = orientation == GTK_ORIENTATION_HORIZONTAL ? 120 : 40;
  *natural = orientation == GTK_ORIENTATION_HORIZONTAL ? 240 : 48;
}

static void
wb_carrier_chart_finalize (GObject *object)
{
  g_clear_pointer (&WB_CARRIER_CHART (object)->minutes, g_array_unref);
  G_OBJECT_CLASS (wb_carrier_chart_parent_class)->finalize (object);
}

static void
wb_carrier_chart_class_init (WbCarrierChartClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = wb_carrier_chart_finalize;
  widget_class->snapshot = wb_carrier_chart_snapshot;
  widget_class->measure = wb_carrier_chart_measure;
  gtk_widget_class_set_css_name (widget_class, "carrierchart");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
wb_carrier_chart_init (WbCarrierChart *self)
{
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Requests over the last hour"), -1);
}

GtkWidget *
wb_carrier_chart_new (void)
{
  return g_object_new (WB_TYPE_CARRIER_CHART, NULL);
}

void
wb_carrier_chart_set_minutes (WbCarrierChart *self,
                              GArray         *minutes)
{
  guint ok = 0, throttled = 0, failed = 0;
  g_autofree char *description = NULL;

  g_return_if_fail (WB_IS_CARRIER_CHART (self));

  g_clear_pointer (&self->minutes, g_array_unref);
  self->minutes = minutes ? g_array_ref (minutes) : NULL;
  self->peak = 0;
  for (guint i = 0; minutes != NULL && i < minutes->len; i++)
    {
      const WbClientCarrierMinute *minute = &g_array_index (minutes, WbClientCarrierMinute, i);

      self->peak = MAX (self->peak, minute->ok + minute->throttled + minute->error);
      ok += minute->ok;
      throttled += minute->throttled;
      failed += minute->error;
    }
  /* Translators: a chart's description: requests answered, throttled
   * (429) and failed over the last hour, and the busiest minute */
  description = g_strdup_printf (_("%u answered, %u throttled, %u failed; at most %u in a minute"), ok, throttled,
                                 failed, self->peak);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, description, -1);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

guint
wb_carrier_chart_get_peak (WbCarrierChart *self)
{
  g_return_val_if_fail (WB_IS_CARRIER_CHART (self), 0);
  return self->peak;
}
