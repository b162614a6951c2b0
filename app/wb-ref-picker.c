// SPDX-License-Identifier: GPL-3.0-or-later
/* WbRefPicker: a searchable GtkDropDown over one kind of the directory,
 * its first row "any". */

#include "config.h"

#include <glib/gi18n.h>

#include "wb-ref-picker.h"

struct _WbRefPicker
{
  GtkWidget        parent_instance;

  GtkDropDown     *dropdown;
  WbDirectory     *directory;
  WbDirectoryKind  kind;
  GPtrArray       *ids;        /* per row; NULL for "any" */
  gboolean         filling;
};

enum { PROP_0, PROP_KIND, PROP_SELECTED_ID, N_PROPS };
static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (WbRefPicker, wb_ref_picker, GTK_TYPE_WIDGET)

static const char * const kind_names[] = { "company", "driver", "vehicle" };

static const char *
any_label (WbRefPicker *self)
{
  switch (self->kind)
    {
    case WB_DIRECTORY_COMPANIES:
      return _("Any company");
    case WB_DIRECTORY_DRIVERS:
      return _("Any driver");
    case WB_DIRECTORY_VEHICLES:
    default:
      return _("Any vehicle");
    }
}

static char *
row_label (const WbDirectoryEntry *entry)
{
  /* Translators: a picker's row, e.g. a driver and the driver's company */
  return entry->detail ? g_strdup_printf (_("%s · %s"), entry->label, entry->detail) : g_strdup (entry->label);
}

/* Rebuilds the rows from the directory, keeping the pick (an id the
 * directory does not list stays, shown as its id). */
static void
fill (WbRefPicker *self,
      const char  *keep_id)
{
  g_autoptr(GtkStringList) labels = gtk_string_list_new (NULL);
  g_autofree char *keep = g_strdup (keep_id);
  guint n = self->directory ? wb_directory_get_n_entries (self->directory, self->kind) : 0;
  guint selected = 0;

  g_ptr_array_set_size (self->ids, 0);
  gtk_string_list_append (labels, any_label (self));
  g_ptr_array_add (self->ids, NULL);
  for (guint i = 0; i < n; i++)
    {
      const WbDirectoryEntry *entry = wb_directory_get_entry (self->directory, self->kind, i);
      g_autofree char *label = row_label (entry);

      gtk_string_list_append (labels, label);
      g_ptr_array_add (self->ids, g_strdup (entry->id));
      if (g_strcmp0 (keep, entry->id) == 0)
        selected = i + 1;
    }
  if (keep != NULL && selected == 0)
    {
      gtk_string_list_append (labels, keep);
      g_ptr_array_add (self->ids, g_strdup (keep));
      selected = self->ids->len - 1;
    }
  self->filling = TRUE;
  gtk_drop_down_set_model (self->dropdown, G_LIST_MODEL (labels));
  gtk_drop_down_set_selected (self->dropdown, selected);
  self->filling = FALSE;
}

static void
on_selected (WbRefPicker *self)
{
  if (!self->filling)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTED_ID]);
}

static void
wb_ref_picker_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  WbRefPicker *self = WB_REF_PICKER (object);

  switch (prop_id)
    {
    case PROP_KIND:
      g_value_set_string (value, kind_names[self->kind]);
      break;
    case PROP_SELECTED_ID:
      g_value_set_string (value, wb_ref_picker_get_selected_id (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_ref_picker_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  WbRefPicker *self = WB_REF_PICKER (object);

  switch (prop_id)
    {
    case PROP_KIND:
      for (guint i = 0; i < G_N_ELEMENTS (kind_names); i++)
        if (g_strcmp0 (g_value_get_string (value), kind_names[i]) == 0)
          self->kind = i;
      fill (self, wb_ref_picker_get_selected_id (self));
      break;
    case PROP_SELECTED_ID:
      wb_ref_picker_set_selected_id (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_ref_picker_dispose (GObject *object)
{
  WbRefPicker *self = WB_REF_PICKER (object);

  if (self->dropdown != NULL)
    gtk_widget_unparent (GTK_WIDGET (self->dropdown));
  self->dropdown = NULL;
  g_clear_pointer (&self->directory, wb_directory_unref);
  G_OBJECT_CLASS (wb_ref_picker_parent_class)->dispose (object);
}

static void
wb_ref_picker_finalize (GObject *object)
{
  g_ptr_array_unref (WB_REF_PICKER (object)->ids);
  G_OBJECT_CLASS (wb_ref_picker_parent_class)->finalize (object);
}

static gboolean
wb_ref_picker_grab_focus (GtkWidget *widget)
{
  return gtk_widget_grab_focus (GTK_WIDGET (WB_REF_PICKER (widget)->dropdown));
}

static void
wb_ref_picker_class_init (WbRefPickerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = wb_ref_picker_get_property;
  object_class->set_property = wb_ref_picker_set_property;
  object_class->dispose = wb_ref_picker_dispose;
  object_class->finalize = wb_ref_picker_finalize;
  widget_class->grab_focus = wb_ref_picker_grab_focus;

  properties[PROP_KIND] = g_param_spec_string ("kind", NULL, NULL, "company",
                                               G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  properties[PROP_SELECTED_ID] = g_param_spec_string ("selected-id", NULL, NULL, NULL,
                                                      G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY
                                                      | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);
}

static void
wb_ref_picker_init (WbRefPicker *self)
{
  g_autoptr(GtkExpression) expression = gtk_property_expression_new (GTK_TYPE_STRING_OBJECT, NULL, "string");

  self->ids = g_ptr_array_new_with_free_func (g_free);
  self->dropdown = GTK_DROP_DOWN (gtk_drop_down_new (NULL, NULL));
  gtk_drop_down_set_expression (self->dropdown, expression);
  gtk_drop_down_set_enable_search (self->dropdown, TRUE);
  gtk_widget_set_parent (GTK_WIDGET (self->dropdown), GTK_WIDGET (self));
  /* The drop-down speaks with the name given to the whole ("Company"). */
  gtk_accessible_update_relation (GTK_ACCESSIBLE (self->dropdown), GTK_ACCESSIBLE_RELATION_LABELLED_BY, self, NULL, -1);
  g_signal_connect_swapped (self->dropdown, "notify::selected", G_CALLBACK (on_selected), self);
  fill (self, NULL);
}

GtkWidget *
wb_ref_picker_new (void)
{
  return g_object_new (WB_TYPE_REF_PICKER, NULL);
}

void
wb_ref_picker_set_directory (WbRefPicker *self,
                             WbDirectory *directory)
{
  g_autofree char *keep = NULL;

  g_return_if_fail (WB_IS_REF_PICKER (self));

  if (self->directory == directory)
    return;
  keep = g_strdup (wb_ref_picker_get_selected_id (self));
  g_clear_pointer (&self->directory, wb_directory_unref);
  self->directory = directory ? wb_directory_ref (directory) : NULL;
  fill (self, keep);
}

const char *
wb_ref_picker_get_selected_id (WbRefPicker *self)
{
  guint selected;

  g_return_val_if_fail (WB_IS_REF_PICKER (self), NULL);

  selected = gtk_drop_down_get_selected (self->dropdown);
  return selected < self->ids->len ? g_ptr_array_index (self->ids, selected) : NULL;
}

void
wb_ref_picker_set_selected_id (WbRefPicker *self,
                               const char  *id)
{
  g_return_if_fail (WB_IS_REF_PICKER (self));

  if (id != NULL && *id == '\0')
    id = NULL;
  if (g_strcmp0 (id, wb_ref_picker_get_selected_id (self)) == 0)
    return;
  fill (self, id);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTED_ID]);
}
