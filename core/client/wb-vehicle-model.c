// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include "wb-vehicle-model.h"

struct _WbVehicleModel
{
  GObject     parent_instance;
  GPtrArray  *items;      /* WbClientVehicle, owned */
  GHashTable *positions;  /* vehicle id (owned by the item's state) → position + 1 */
  GHashTable *references; /* vehicle id (owned by the ref) → WbVehicleRef */
};

static void list_model_iface_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (WbVehicleModel, wb_vehicle_model, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, list_model_iface_init))

enum {
  PROP_0,
  PROP_N_ITEMS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static GType
get_item_type (GListModel *model)
{
  return WB_TYPE_CLIENT_VEHICLE;
}

static guint
get_n_items (GListModel *model)
{
  return WB_VEHICLE_MODEL (model)->items->len;
}

static gpointer
get_item (GListModel *model,
          guint       position)
{
  WbVehicleModel *self = WB_VEHICLE_MODEL (model);

  if (position >= self->items->len)
    return NULL;
  return g_object_ref (g_ptr_array_index (self->items, position));
}

static void
list_model_iface_init (GListModelInterface *iface)
{
  iface->get_item_type = get_item_type;
  iface->get_n_items = get_n_items;
  iface->get_item = get_item;
}

static void
wb_vehicle_model_finalize (GObject *object)
{
  WbVehicleModel *self = WB_VEHICLE_MODEL (object);

  g_clear_pointer (&self->positions, g_hash_table_unref);
  g_clear_pointer (&self->references, g_hash_table_unref);
  g_clear_pointer (&self->items, g_ptr_array_unref);

  G_OBJECT_CLASS (wb_vehicle_model_parent_class)->finalize (object);
}

static void
wb_vehicle_model_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  WbVehicleModel *self = WB_VEHICLE_MODEL (object);

  switch (prop_id)
    {
    case PROP_N_ITEMS:
      g_value_set_uint (value, self->items->len);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_vehicle_model_class_init (WbVehicleModelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = wb_vehicle_model_finalize;
  object_class->get_property = wb_vehicle_model_get_property;

  properties[PROP_N_ITEMS] =
    g_param_spec_uint ("n-items", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
wb_vehicle_model_init (WbVehicleModel *self)
{
  self->items = g_ptr_array_new_with_free_func (g_object_unref);
  self->positions = g_hash_table_new (g_str_hash, g_str_equal);
  self->references = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) wb_vehicle_ref_unref);
}

static void
name_item (WbVehicleModel  *self,
           WbClientVehicle *vehicle)
{
  WbVehicleRef *ref = g_hash_table_lookup (self->references, wb_client_vehicle_get_id (vehicle));

  if (ref == NULL)
    wb_client_vehicle_set_names (vehicle, NULL, NULL, NULL, NULL);
  else
    wb_client_vehicle_set_names (vehicle, ref->plate, ref->plate, ref->driver_name, ref->company_name);
}

/* Appends without telling: the caller emits items-changed. */
static WbClientVehicle *
append_silently (WbVehicleModel *self,
                 WbLiveVehicle  *state)
{
  WbClientVehicle *vehicle = wb_client_vehicle_new (state);

  name_item (self, vehicle);
  g_ptr_array_add (self->items, vehicle);
  g_hash_table_insert (self->positions, (char *) wb_client_vehicle_get_id (vehicle),
                       GUINT_TO_POINTER (self->items->len));
  return vehicle;
}

WbVehicleModel *
wb_vehicle_model_new (void)
{
  return g_object_new (WB_TYPE_VEHICLE_MODEL, NULL);
}

guint
wb_vehicle_model_find (WbVehicleModel *self,
                       const char     *vehicle_id)
{
  gpointer slot;

  g_return_val_if_fail (WB_IS_VEHICLE_MODEL (self), G_MAXUINT);
  g_return_val_if_fail (vehicle_id != NULL, G_MAXUINT);

  slot = g_hash_table_lookup (self->positions, vehicle_id);
  return slot == NULL ? G_MAXUINT : GPOINTER_TO_UINT (slot) - 1;
}

WbClientVehicle *
wb_vehicle_model_lookup (WbVehicleModel *self,
                         const char     *vehicle_id)
{
  guint position = wb_vehicle_model_find (self, vehicle_id);

  return position == G_MAXUINT ? NULL : g_ptr_array_index (self->items, position);
}

WbClientVehicle *
wb_vehicle_model_apply (WbVehicleModel *self,
                        WbLiveVehicle  *state)
{
  WbClientVehicle *vehicle;

  g_return_val_if_fail (WB_IS_VEHICLE_MODEL (self), NULL);
  g_return_val_if_fail (state != NULL && state->vehicle_id != NULL, NULL);

  vehicle = wb_vehicle_model_lookup (self, state->vehicle_id);
  if (vehicle != NULL)
    {
      /* The key is the old state's id: re-key on the id the item now holds. */
      guint position = wb_vehicle_model_find (self, state->vehicle_id);

      g_hash_table_remove (self->positions, state->vehicle_id);
      wb_client_vehicle_set_state (vehicle, state);
      g_hash_table_insert (self->positions, (char *) wb_client_vehicle_get_id (vehicle),
                           GUINT_TO_POINTER (position + 1));
      return vehicle;
    }

  vehicle = append_silently (self, state);
  g_list_model_items_changed (G_LIST_MODEL (self), self->items->len - 1, 0, 1);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_ITEMS]);
  return vehicle;
}

gboolean
wb_vehicle_model_remove (WbVehicleModel *self,
                         const char     *vehicle_id)
{
  guint position = wb_vehicle_model_find (self, vehicle_id);

  if (position == G_MAXUINT)
    return FALSE;

  g_hash_table_remove (self->positions, vehicle_id);
  g_ptr_array_remove_index (self->items, position);
  for (guint i = position; i < self->items->len; i++)
    g_hash_table_insert (self->positions,
                         (char *) wb_client_vehicle_get_id (g_ptr_array_index (self->items, i)),
                         GUINT_TO_POINTER (i + 1));
  g_list_model_items_changed (G_LIST_MODEL (self), position, 1, 0);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_ITEMS]);
  return TRUE;
}

guint
wb_vehicle_model_apply_all (WbVehicleModel *self,
                            GPtrArray      *states)
{
  guint before;
  guint added;

  g_return_val_if_fail (WB_IS_VEHICLE_MODEL (self), 0);
  g_return_val_if_fail (states != NULL, 0);

  before = self->items->len;
  for (guint i = 0; i < states->len; i++)
    {
      WbLiveVehicle *state = g_ptr_array_index (states, i);

      if (wb_vehicle_model_find (self, state->vehicle_id) != G_MAXUINT)
        wb_vehicle_model_apply (self, state);
      else
        append_silently (self, state);
    }
  added = self->items->len - before;
  if (added > 0)
    {
      g_list_model_items_changed (G_LIST_MODEL (self), before, 0, added);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_ITEMS]);
    }
  return added;
}

/* Marks the positions of the held ones; returns the first, or G_MAXUINT. */
static guint
mark_removed (WbVehicleModel *self,
              GPtrArray      *vehicle_ids,
              guint8         *removed)
{
  guint first = G_MAXUINT;

  for (guint i = 0; i < vehicle_ids->len; i++)
    {
      guint position = wb_vehicle_model_find (self, g_ptr_array_index (vehicle_ids, i));

      if (position == G_MAXUINT)
        continue;
      removed[position] = TRUE;
      first = MIN (first, position);
    }
  return first;
}

guint
wb_vehicle_model_remove_all (WbVehicleModel *self,
                             GPtrArray      *vehicle_ids)
{
  g_autofree guint8 *removed = NULL;
  guint before;
  guint first;
  guint kept;

  g_return_val_if_fail (WB_IS_VEHICLE_MODEL (self), 0);
  g_return_val_if_fail (vehicle_ids != NULL, 0);

  before = self->items->len;
  removed = g_new0 (guint8, before + 1);
  first = mark_removed (self, vehicle_ids, removed);
  if (first == G_MAXUINT)
    return 0;

  kept = first;
  for (guint i = first; i < before; i++)
    {
      WbClientVehicle *vehicle = g_ptr_array_index (self->items, i);

      g_hash_table_remove (self->positions, wb_client_vehicle_get_id (vehicle));
      if (removed[i])
        {
          g_object_unref (vehicle);
          continue;
        }
      self->items->pdata[kept++] = vehicle;
      g_hash_table_insert (self->positions, (char *) wb_client_vehicle_get_id (vehicle), GUINT_TO_POINTER (kept));
    }
  /* The tail now holds moved or freed items: drop it without freeing. */
  g_ptr_array_set_free_func (self->items, NULL);
  g_ptr_array_set_size (self->items, kept);
  g_ptr_array_set_free_func (self->items, g_object_unref);
  g_list_model_items_changed (G_LIST_MODEL (self), first, before - first, kept - first);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_ITEMS]);
  return before - kept;
}

void
wb_vehicle_model_clear (WbVehicleModel *self)
{
  guint removed;

  g_return_if_fail (WB_IS_VEHICLE_MODEL (self));

  removed = self->items->len;
  if (removed == 0)
    return;
  g_hash_table_remove_all (self->positions);
  g_ptr_array_set_size (self->items, 0);
  g_list_model_items_changed (G_LIST_MODEL (self), 0, removed, 0);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_ITEMS]);
}

void
wb_vehicle_model_set_stale (WbVehicleModel *self,
                            gboolean        stale)
{
  g_return_if_fail (WB_IS_VEHICLE_MODEL (self));

  for (guint i = 0; i < self->items->len; i++)
    wb_client_vehicle_set_stale (g_ptr_array_index (self->items, i), stale);
}

/**
 * wb_vehicle_model_set_references:
 * @refs: (element-type WbVehicleRef)
 */
void
wb_vehicle_model_set_references (WbVehicleModel *self,
                                 GPtrArray      *refs)
{
  g_return_if_fail (WB_IS_VEHICLE_MODEL (self));
  g_return_if_fail (refs != NULL);

  g_hash_table_remove_all (self->references);
  for (guint i = 0; i < refs->len; i++)
    {
      WbVehicleRef *ref = g_ptr_array_index (refs, i);

      g_hash_table_replace (self->references, ref->vehicle_id, wb_vehicle_ref_ref (ref));
    }
  for (guint i = 0; i < self->items->len; i++)
    name_item (self, g_ptr_array_index (self->items, i));
}
