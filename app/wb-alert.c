// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include "wb-alert.h"

struct _WbAlert
{
  GObject   parent_instance;
  char     *kind;
  char     *title;
  char     *body;
  char     *subject;
  gint64    time;
  gboolean  read;
};

enum { PROP_0, PROP_READ, N_PROPS };
static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (WbAlert, wb_alert, G_TYPE_OBJECT)

static void
wb_alert_get_property (GObject    *object,
                       guint       prop_id,
                       GValue     *value,
                       GParamSpec *pspec)
{
  switch (prop_id)
    {
    case PROP_READ:
      g_value_set_boolean (value, WB_ALERT (object)->read);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_alert_set_property (GObject      *object,
                       guint         prop_id,
                       const GValue *value,
                       GParamSpec   *pspec)
{
  switch (prop_id)
    {
    case PROP_READ:
      wb_alert_set_read (WB_ALERT (object), g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_alert_finalize (GObject *object)
{
  WbAlert *self = WB_ALERT (object);

  g_free (self->kind);
  g_free (self->title);
  g_free (self->body);
  g_free (self->subject);
  G_OBJECT_CLASS (wb_alert_parent_class)->finalize (object);
}

static void
wb_alert_class_init (WbAlertClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = wb_alert_get_property;
  object_class->set_property = wb_alert_set_property;
  object_class->finalize = wb_alert_finalize;
  properties[PROP_READ] = g_param_spec_boolean ("read", NULL, NULL, FALSE,
                                                G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
wb_alert_init (WbAlert *self)
{
}

WbAlert *
wb_alert_new (const char *kind,
              const char *title,
              const char *body,
              const char *subject,
              gint64      time)
{
  WbAlert *self = g_object_new (WB_TYPE_ALERT, NULL);

  self->kind = g_strdup (kind);
  self->title = g_strdup (title);
  self->body = g_strdup (body);
  self->subject = g_strdup (subject);
  self->time = time;
  return self;
}

const char *
wb_alert_get_kind (WbAlert *self)
{
  g_return_val_if_fail (WB_IS_ALERT (self), NULL);
  return self->kind;
}

const char *
wb_alert_get_title (WbAlert *self)
{
  g_return_val_if_fail (WB_IS_ALERT (self), NULL);
  return self->title;
}

const char *
wb_alert_get_body (WbAlert *self)
{
  g_return_val_if_fail (WB_IS_ALERT (self), NULL);
  return self->body;
}

const char *
wb_alert_get_subject (WbAlert *self)
{
  g_return_val_if_fail (WB_IS_ALERT (self), NULL);
  return self->subject;
}

gint64
wb_alert_get_time (WbAlert *self)
{
  g_return_val_if_fail (WB_IS_ALERT (self), 0);
  return self->time;
}

gboolean
wb_alert_get_read (WbAlert *self)
{
  g_return_val_if_fail (WB_IS_ALERT (self), FALSE);
  return self->read;
}

void
wb_alert_set_read (WbAlert  *self,
                   gboolean  read)
{
  g_return_if_fail (WB_IS_ALERT (self));

  read = !!read;
  if (self->read == read)
    return;
  self->read = read;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_READ]);
}
