// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include "wb-subscription-layer.h"

struct _WbSubscriptionLayer
{
  ShumateLayer      parent_instance;

  WbLocationStream *stream;
  char             *company_id;
  WbLiveBbox        bbox;
  gboolean          has_bbox;
  int               width;         /* the size the box was taken at */
  int               height;
};

G_DEFINE_FINAL_TYPE (WbSubscriptionLayer, wb_subscription_layer, SHUMATE_TYPE_LAYER)

enum {
  PROP_0,
  PROP_STREAM,
  PROP_COMPANY_ID,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* g_set_str() is GLib 2.76; Debian 12 has 2.74. */
static gboolean
set_str (char       **field,
         const char  *value)
{
  if (g_strcmp0 (*field, value) == 0)
    return FALSE;
  g_free (*field);
  *field = g_strdup (value);
  return TRUE;
}

/* The box of the widget's four corners (rotation included), clamped to
 * the world. The API refuses a box over the antimeridian; past it, the
 * box takes the world's width. */
static gboolean
visible_bbox (WbSubscriptionLayer *self,
              WbLiveBbox          *bbox)
{
  ShumateViewport *viewport = shumate_layer_get_viewport (SHUMATE_LAYER (self));
  GtkWidget *widget = GTK_WIDGET (self);
  double width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  double corners[4][2] = { { 0, 0 }, { width, 0 }, { 0, height }, { width, height } };

  if (width <= 0 || height <= 0 || shumate_viewport_get_reference_map_source (viewport) == NULL)
    return FALSE;
  *bbox = (WbLiveBbox) { 180, 90, -180, -90 };
  for (guint i = 0; i < G_N_ELEMENTS (corners); i++)
    {
      double lat, lon;

      shumate_viewport_widget_coords_to_location (viewport, widget, corners[i][0], corners[i][1], &lat, &lon);
      bbox->min_lon = MIN (bbox->min_lon, lon), bbox->max_lon = MAX (bbox->max_lon, lon);
      bbox->min_lat = MIN (bbox->min_lat, lat), bbox->max_lat = MAX (bbox->max_lat, lat);
    }
  bbox->min_lon = CLAMP (bbox->min_lon, -180, 180), bbox->max_lon = CLAMP (bbox->max_lon, -180, 180);
  bbox->min_lat = CLAMP (bbox->min_lat, -90, 90), bbox->max_lat = CLAMP (bbox->max_lat, -90, 90);
  return TRUE;
}

/* The stream debounces: a pan or a drag of the window's edge sends one
 * subscribe once it rests. */
static void
update_view (WbSubscriptionLayer *self)
{
  const char *company_ids[] = { self->company_id, NULL };

  if (!visible_bbox (self, &self->bbox))
    return;
  self->has_bbox = TRUE;
  if (self->stream != NULL)
    wb_location_stream_set_view (self->stream, &self->bbox, company_ids);
}

static void
wb_subscription_layer_size_allocate (GtkWidget *widget,
                                     int        width,
                                     int        height,
                                     int        baseline)
{
  WbSubscriptionLayer *self = WB_SUBSCRIPTION_LAYER (widget);

  if (width == self->width && height == self->height)
    return;
  self->width = width;
  self->height = height;
  update_view (self);
}

static void
wb_subscription_layer_constructed (GObject *object)
{
  WbSubscriptionLayer *self = WB_SUBSCRIPTION_LAYER (object);
  ShumateViewport *viewport;

  G_OBJECT_CLASS (wb_subscription_layer_parent_class)->constructed (object);

  viewport = shumate_layer_get_viewport (SHUMATE_LAYER (self));
  g_signal_connect_object (viewport, "notify::latitude", G_CALLBACK (update_view), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (viewport, "notify::longitude", G_CALLBACK (update_view), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (viewport, "notify::zoom-level", G_CALLBACK (update_view), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (viewport, "notify::rotation", G_CALLBACK (update_view), self, G_CONNECT_SWAPPED);
  /* Without a reference map source there is no projection yet. */
  g_signal_connect_object (viewport, "notify::reference-map-source", G_CALLBACK (update_view), self,
                           G_CONNECT_SWAPPED);
}

static void
wb_subscription_layer_finalize (GObject *object)
{
  WbSubscriptionLayer *self = WB_SUBSCRIPTION_LAYER (object);

  g_clear_object (&self->stream);
  g_clear_pointer (&self->company_id, g_free);

  G_OBJECT_CLASS (wb_subscription_layer_parent_class)->finalize (object);
}

static void
wb_subscription_layer_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  WbSubscriptionLayer *self = WB_SUBSCRIPTION_LAYER (object);

  switch (prop_id)
    {
    case PROP_STREAM:
      g_value_set_object (value, self->stream);
      break;
    case PROP_COMPANY_ID:
      g_value_set_string (value, self->company_id);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_subscription_layer_set_property (GObject      *object,
                                    guint         prop_id,
                                    const GValue *value,
                                    GParamSpec   *pspec)
{
  WbSubscriptionLayer *self = WB_SUBSCRIPTION_LAYER (object);

  switch (prop_id)
    {
    case PROP_STREAM:
      wb_subscription_layer_set_stream (self, g_value_get_object (value));
      break;
    case PROP_COMPANY_ID:
      wb_subscription_layer_set_company_id (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_subscription_layer_class_init (WbSubscriptionLayerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = wb_subscription_layer_constructed;
  object_class->finalize = wb_subscription_layer_finalize;
  object_class->get_property = wb_subscription_layer_get_property;
  object_class->set_property = wb_subscription_layer_set_property;
  widget_class->size_allocate = wb_subscription_layer_size_allocate;

  properties[PROP_STREAM] =
    g_param_spec_object ("stream", NULL, NULL, WB_TYPE_LOCATION_STREAM,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_COMPANY_ID] =
    g_param_spec_string ("company-id", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_css_name (widget_class, "subscription-layer");
  /* Nothing to see or reach: the map's picture is the vehicle layer's. */
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_PRESENTATION);
}

static void
wb_subscription_layer_init (WbSubscriptionLayer *self)
{
  gtk_widget_set_can_target (GTK_WIDGET (self), FALSE);
}

WbSubscriptionLayer *
wb_subscription_layer_new (ShumateViewport *viewport)
{
  g_return_val_if_fail (SHUMATE_IS_VIEWPORT (viewport), NULL);
  return g_object_new (WB_TYPE_SUBSCRIPTION_LAYER, "viewport", viewport, NULL);
}

WbLocationStream *
wb_subscription_layer_get_stream (WbSubscriptionLayer *self)
{
  g_return_val_if_fail (WB_IS_SUBSCRIPTION_LAYER (self), NULL);
  return self->stream;
}

void
wb_subscription_layer_set_stream (WbSubscriptionLayer *self,
                                  WbLocationStream    *stream)
{
  g_return_if_fail (WB_IS_SUBSCRIPTION_LAYER (self));
  g_return_if_fail (stream == NULL || WB_IS_LOCATION_STREAM (stream));

  if (!g_set_object (&self->stream, stream))
    return;
  update_view (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STREAM]);
}

const char *
wb_subscription_layer_get_company_id (WbSubscriptionLayer *self)
{
  g_return_val_if_fail (WB_IS_SUBSCRIPTION_LAYER (self), NULL);
  return self->company_id;
}

void
wb_subscription_layer_set_company_id (WbSubscriptionLayer *self,
                                      const char          *company_id)
{
  g_return_if_fail (WB_IS_SUBSCRIPTION_LAYER (self));

  if (company_id != NULL && *company_id == '\0')
    company_id = NULL;
  if (!set_str (&self->company_id, company_id))
    return;
  update_view (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COMPANY_ID]);
}

gboolean
wb_subscription_layer_get_bbox (WbSubscriptionLayer *self,
                                WbLiveBbox          *bbox)
{
  g_return_val_if_fail (WB_IS_SUBSCRIPTION_LAYER (self), FALSE);
  g_return_val_if_fail (bbox != NULL, FALSE);

  if (!self->has_bbox)
    return FALSE;
  *bbox = self->bbox;
  return TRUE;
}
