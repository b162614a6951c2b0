// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include "wb-vehicle-filter.h"

struct _WbVehicleFilter
{
  GtkFilter   parent_instance;

  char       *search;
  char      **words;        /* casefolded words of @search */
  guint       states;
  char       *company_id;
};

enum
{
  PROP_0,
  PROP_SEARCH,
  PROP_STATES,
  PROP_COMPANY_ID,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (WbVehicleFilter, wb_vehicle_filter, GTK_TYPE_FILTER)

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

static gboolean
field_contains (const char *field,
                const char *word)
{
  g_autofree char *folded = NULL;

  if (field == NULL)
    return FALSE;
  folded = g_utf8_casefold (field, -1);
  return strstr (folded, word) != NULL;
}

static gboolean
matches_search (WbVehicleFilter *self,
                WbClientVehicle *vehicle)
{
  const WbLiveVehicle *state = wb_client_vehicle_get_state (vehicle);

  for (guint i = 0; self->words != NULL && self->words[i] != NULL; i++)
    {
      const char *word = self->words[i];

      if (!field_contains (wb_client_vehicle_get_name (vehicle), word)
          && !field_contains (wb_client_vehicle_get_plate (vehicle), word)
          && !field_contains (wb_client_vehicle_get_driver_name (vehicle), word)
          && !field_contains (state->device_id, word)
          && !field_contains (state->vehicle_id, word))
        return FALSE;
    }
  return TRUE;
}

gboolean
wb_vehicle_filter_match_except (WbVehicleFilter *self,
                                WbClientVehicle *vehicle,
                                WbVehicleFacet   ignore)
{
  const WbLiveVehicle *state;

  g_return_val_if_fail (WB_IS_VEHICLE_FILTER (self), FALSE);
  g_return_val_if_fail (WB_IS_CLIENT_VEHICLE (vehicle), FALSE);

  state = wb_client_vehicle_get_state (vehicle);
  if (!(ignore & WB_VEHICLE_FACET_STATE) && !(self->states & (1u << state->state)))
    return FALSE;
  if (!(ignore & WB_VEHICLE_FACET_COMPANY) && self->company_id != NULL
      && g_strcmp0 (self->company_id, state->company_id) != 0)
    return FALSE;
  if (!(ignore & WB_VEHICLE_FACET_SEARCH) && !matches_search (self, vehicle))
    return FALSE;
  return TRUE;
}

static gboolean
wb_vehicle_filter_match (GtkFilter *filter,
                         gpointer   item)
{
  return wb_vehicle_filter_match_except (WB_VEHICLE_FILTER (filter), item, WB_VEHICLE_FACET_NONE);
}

static GtkFilterMatch
wb_vehicle_filter_get_strictness (GtkFilter *filter)
{
  WbVehicleFilter *self = WB_VEHICLE_FILTER (filter);

  if (self->words == NULL && self->company_id == NULL && self->states == WB_VEHICLE_FILTER_ALL_STATES)
    return GTK_FILTER_MATCH_ALL;
  if (self->states == 0)
    return GTK_FILTER_MATCH_NONE;
  return GTK_FILTER_MATCH_SOME;
}

static void
wb_vehicle_filter_finalize (GObject *object)
{
  WbVehicleFilter *self = WB_VEHICLE_FILTER (object);

  g_clear_pointer (&self->search, g_free);
  g_clear_pointer (&self->words, g_strfreev);
  g_clear_pointer (&self->company_id, g_free);
  G_OBJECT_CLASS (wb_vehicle_filter_parent_class)->finalize (object);
}

static void
wb_vehicle_filter_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  WbVehicleFilter *self = WB_VEHICLE_FILTER (object);

  switch (prop_id)
    {
    case PROP_SEARCH:
      g_value_set_string (value, self->search);
      break;
    case PROP_STATES:
      g_value_set_uint (value, self->states);
      break;
    case PROP_COMPANY_ID:
      g_value_set_string (value, self->company_id);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_vehicle_filter_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  WbVehicleFilter *self = WB_VEHICLE_FILTER (object);

  switch (prop_id)
    {
    case PROP_SEARCH:
      wb_vehicle_filter_set_search (self, g_value_get_string (value));
      break;
    case PROP_STATES:
      wb_vehicle_filter_set_states (self, g_value_get_uint (value));
      break;
    case PROP_COMPANY_ID:
      wb_vehicle_filter_set_company_id (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_vehicle_filter_class_init (WbVehicleFilterClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkFilterClass *filter_class = GTK_FILTER_CLASS (klass);

  object_class->finalize = wb_vehicle_filter_finalize;
  object_class->get_property = wb_vehicle_filter_get_property;
  object_class->set_property = wb_vehicle_filter_set_property;
  filter_class->match = wb_vehicle_filter_match;
  filter_class->get_strictness = wb_vehicle_filter_get_strictness;

  properties[PROP_SEARCH] =
    g_param_spec_string ("search", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_STATES] =
    g_param_spec_uint ("states", NULL, NULL, 0, WB_VEHICLE_FILTER_ALL_STATES, WB_VEHICLE_FILTER_ALL_STATES,
                       G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_COMPANY_ID] =
    g_param_spec_string ("company-id", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
wb_vehicle_filter_init (WbVehicleFilter *self)
{
  self->states = WB_VEHICLE_FILTER_ALL_STATES;
}

WbVehicleFilter *
wb_vehicle_filter_new (void)
{
  return g_object_new (WB_TYPE_VEHICLE_FILTER, NULL);
}

const char *
wb_vehicle_filter_get_search (WbVehicleFilter *self)
{
  g_return_val_if_fail (WB_IS_VEHICLE_FILTER (self), NULL);
  return self->search;
}

void
wb_vehicle_filter_set_search (WbVehicleFilter *self,
                              const char      *search)
{
  g_autofree char *folded = NULL;

  g_return_if_fail (WB_IS_VEHICLE_FILTER (self));

  if (search != NULL && *search == '\0')
    search = NULL;
  if (!set_str (&self->search, search))
    return;
  g_clear_pointer (&self->words, g_strfreev);
  folded = search ? g_utf8_casefold (search, -1) : NULL;
  if (folded != NULL)
    self->words = g_str_tokenize_and_fold (folded, NULL, NULL);
  if (self->words != NULL && self->words[0] == NULL)
    g_clear_pointer (&self->words, g_strfreev);
  gtk_filter_changed (GTK_FILTER (self), GTK_FILTER_CHANGE_DIFFERENT);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SEARCH]);
}

guint
wb_vehicle_filter_get_states (WbVehicleFilter *self)
{
  g_return_val_if_fail (WB_IS_VEHICLE_FILTER (self), 0);
  return self->states;
}

void
wb_vehicle_filter_set_states (WbVehicleFilter *self,
                              guint            states)
{
  guint old;

  g_return_if_fail (WB_IS_VEHICLE_FILTER (self));

  states &= WB_VEHICLE_FILTER_ALL_STATES;
  if (states == self->states)
    return;
  old = self->states;
  self->states = states;
  if ((old & states) == old)
    gtk_filter_changed (GTK_FILTER (self), GTK_FILTER_CHANGE_LESS_STRICT);
  else if ((old & states) == states)
    gtk_filter_changed (GTK_FILTER (self), GTK_FILTER_CHANGE_MORE_STRICT);
  else
    gtk_filter_changed (GTK_FILTER (self), GTK_FILTER_CHANGE_DIFFERENT);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATES]);
}

const char *
wb_vehicle_filter_get_company_id (WbVehicleFilter *self)
{
  g_return_val_if_fail (WB_IS_VEHICLE_FILTER (self), NULL);
  return self->company_id;
}

void
wb_vehicle_filter_set_company_id (WbVehicleFilter *self,
                                  const char      *company_id)
{
  g_return_if_fail (WB_IS_VEHICLE_FILTER (self));

  if (!set_str (&self->company_id, company_id))
    return;
  gtk_filter_changed (GTK_FILTER (self), GTK_FILTER_CHANGE_DIFFERENT);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COMPANY_ID]);
}
