// SPDX-License-Identifier: GPL-3.0-or-later
/* WbDateButton: a menu button whose popover holds a GtkCalendar (GTK 4.8
 * has no date row of its own) and a Clear button. */

#include "config.h"

#include <glib/gi18n.h>

#include "wb-date-button.h"

struct _WbDateButton
{
  GtkWidget       parent_instance;

  GtkMenuButton  *button;
  GtkCalendar    *calendar;
  char           *date;          /* "YYYY-MM-DD" or NULL */
  char           *placeholder;
  gboolean        syncing;
};

enum { PROP_0, PROP_DATE, PROP_PLACEHOLDER, N_PROPS };
static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (WbDateButton, wb_date_button, GTK_TYPE_WIDGET)

static GDateTime *
parse (const char *date)
{
  g_autoptr(GTimeZone) local = g_time_zone_new_local ();
  int year, month, day;
  char rest;

  if (date == NULL || sscanf (date, "%4d-%2d-%2d%c", &year, &month, &day, &rest) != 3)
    return NULL;
  return g_date_time_new (local, year, month, day, 0, 0, 0);
}

static void
update_label (WbDateButton *self)
{
  g_autoptr(GDateTime) day = parse (self->date);
  /* Translators: a picked day in a filter button; strftime format, see
   * g_date_time_format(). "%e %b %Y" gives "7 Dec 2026". */
  g_autofree char *text = day ? g_date_time_format (day, C_("date button", "%e %b %Y")) : NULL;

  gtk_menu_button_set_label (self->button, text ? g_strstrip (text) : (self->placeholder ?: _("Any day")));
  if (text != NULL)
    gtk_widget_remove_css_class (GTK_WIDGET (self->button), "dim-label");
  else
    gtk_widget_add_css_class (GTK_WIDGET (self->button), "dim-label");
}

static void
store (WbDateButton *self,
       const char   *date)
{
  if (g_strcmp0 (self->date, date) == 0)
    return;
  g_free (self->date);
  self->date = g_strdup (date);
  update_label (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DATE]);
}

static void
on_day_selected (WbDateButton *self)
{
  g_autoptr(GDateTime) day = NULL;
  g_autofree char *date = NULL;

  if (self->syncing)
    return;
  day = gtk_calendar_get_date (self->calendar);
  date = g_date_time_format (day, "%Y-%m-%d");
  store (self, date);
  gtk_menu_button_popdown (self->button);
}

static void
on_clear (WbDateButton *self)
{
  store (self, NULL);
  gtk_menu_button_popdown (self->button);
}

static void
on_today (WbDateButton *self)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *date = g_date_time_format (now, "%Y-%m-%d");

  store (self, date);
  gtk_menu_button_popdown (self->button);
}

/* The calendar opens on the picked day, or today. */
static void
on_popover_show (WbDateButton *self)
{
  g_autoptr(GDateTime) day = parse (self->date);

  if (day == NULL)
    day = g_date_time_new_now_local ();
  self->syncing = TRUE;
  gtk_calendar_select_day (self->calendar, day);
  self->syncing = FALSE;
}

static void
build (WbDateButton *self)
{
  GtkWidget *popover = gtk_popover_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *buttons = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *today = gtk_button_new_with_mnemonic (_("_Today"));
  GtkWidget *clear = gtk_button_new_with_mnemonic (_("_Clear"));

  self->button = GTK_MENU_BUTTON (gtk_menu_button_new ());
  gtk_widget_set_parent (GTK_WIDGET (self->button), GTK_WIDGET (self));
  self->calendar = GTK_CALENDAR (gtk_calendar_new ());
  g_signal_connect_swapped (self->calendar, "day-selected", G_CALLBACK (on_day_selected), self);
  g_signal_connect_swapped (today, "clicked", G_CALLBACK (on_today), self);
  g_signal_connect_swapped (clear, "clicked", G_CALLBACK (on_clear), self);
  g_signal_connect_swapped (popover, "show", G_CALLBACK (on_popover_show), self);
  gtk_widget_set_hexpand (today, TRUE);
  gtk_widget_set_hexpand (clear, TRUE);
  gtk_box_append (GTK_BOX (buttons), today);
  gtk_box_append (GTK_BOX (buttons), clear);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->calendar));
  gtk_box_append (GTK_BOX (box), buttons);
  gtk_popover_set_child (GTK_POPOVER (popover), box);
  gtk_menu_button_set_popover (self->button, popover);
  gtk_menu_button_set_always_show_arrow (self->button, TRUE);
  /* The button speaks with the name given to the whole ("Created from");
   * the day it shows is its value. */
  gtk_accessible_update_relation (GTK_ACCESSIBLE (self->button), GTK_ACCESSIBLE_RELATION_LABELLED_BY, self, NULL, -1);
}

static void
wb_date_button_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  WbDateButton *self = WB_DATE_BUTTON (object);

  switch (prop_id)
    {
    case PROP_DATE:
      g_value_set_string (value, self->date);
      break;
    case PROP_PLACEHOLDER:
      g_value_set_string (value, self->placeholder);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_date_button_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  WbDateButton *self = WB_DATE_BUTTON (object);

  switch (prop_id)
    {
    case PROP_DATE:
      if (!wb_date_button_set_date (self, g_value_get_string (value)))
        g_warning ("WbDateButton: “%s” is not a day as YYYY-MM-DD", g_value_get_string (value));
      break;
    case PROP_PLACEHOLDER:
      wb_date_button_set_placeholder (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_date_button_dispose (GObject *object)
{
  WbDateButton *self = WB_DATE_BUTTON (object);

  if (self->button != NULL)
    gtk_widget_unparent (GTK_WIDGET (self->button));
  self->button = NULL;
  G_OBJECT_CLASS (wb_date_button_parent_class)->dispose (object);
}

static void
wb_date_button_finalize (GObject *object)
{
  WbDateButton *self = WB_DATE_BUTTON (object);

  g_free (self->date);
  g_free (self->placeholder);
  G_OBJECT_CLASS (wb_date_button_parent_class)->finalize (object);
}

static gboolean
wb_date_button_grab_focus (GtkWidget *widget)
{
  return gtk_widget_grab_focus (GTK_WIDGET (WB_DATE_BUTTON (widget)->button));
}

static void
wb_date_button_class_init (WbDateButtonClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = wb_date_button_get_property;
  object_class->set_property = wb_date_button_set_property;
  object_class->dispose = wb_date_button_dispose;
  object_class->finalize = wb_date_button_finalize;
  widget_class->grab_focus = wb_date_button_grab_focus;

  properties[PROP_DATE] = g_param_spec_string ("date", NULL, NULL, NULL,
                                               G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_PLACEHOLDER] = g_param_spec_string ("placeholder", NULL, NULL, NULL,
                                                      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);
}

static void
wb_date_button_init (WbDateButton *self)
{
  build (self);
  update_label (self);
}

GtkWidget *
wb_date_button_new (void)
{
  return g_object_new (WB_TYPE_DATE_BUTTON, NULL);
}

const char *
wb_date_button_get_date (WbDateButton *self)
{
  g_return_val_if_fail (WB_IS_DATE_BUTTON (self), NULL);
  return self->date;
}

gboolean
wb_date_button_set_date (WbDateButton *self,
                         const char   *date)
{
  g_autoptr(GDateTime) day = NULL;
  g_autofree char *normal = NULL;

  g_return_val_if_fail (WB_IS_DATE_BUTTON (self), FALSE);

  if (date == NULL || *date == '\0')
    {
      store (self, NULL);
      return TRUE;
    }
  day = parse (date);
  if (day == NULL)
    return FALSE;
  normal = g_date_time_format (day, "%Y-%m-%d");
  store (self, normal);
  return TRUE;
}

gint64
wb_date_button_get_local_us (WbDateButton *self,
                             gboolean      end)
{
  g_autoptr(GDateTime) day = NULL;
  g_autoptr(GDateTime) next = NULL;

  g_return_val_if_fail (WB_IS_DATE_BUTTON (self), 0);

  day = parse (self->date);
  if (day == NULL)
    return 0;
  if (end)
    next = g_date_time_add_days (day, 1);
  return g_date_time_to_unix (end ? next : day) * G_USEC_PER_SEC;
}

void
wb_date_button_set_placeholder (WbDateButton *self,
                                const char   *placeholder)
{
  g_return_if_fail (WB_IS_DATE_BUTTON (self));
  g_free (self->placeholder);
  self->placeholder = g_strdup (placeholder);
  update_label (self);
}
