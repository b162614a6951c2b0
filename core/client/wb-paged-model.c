// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include "wb-paged-model.h"

typedef struct
{
  WbClient        *client;
  GPtrArray       *items;     /* of the class's item_type */
  char            *cursor;    /* the next page's; NULL before the first and after the last */
  guint            pages;
  gboolean         has_more;
  GCancellable    *loading;   /* non-NULL while a page is on its way */
  GError          *error;
} WbPagedModelPrivate;

static void list_model_init (GListModelInterface *iface);

G_DEFINE_TYPE_WITH_CODE (WbPagedModel, wb_paged_model, G_TYPE_OBJECT,
                         G_ADD_PRIVATE (WbPagedModel)
                         G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, list_model_init))

#define PRIV(self) ((WbPagedModelPrivate *) wb_paged_model_get_instance_private (WB_PAGED_MODEL (self)))

enum {
  PROP_0,
  PROP_LOADING,
  PROP_HAS_MORE,
  PROP_N_ITEMS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static GType
get_item_type (GListModel *model)
{
  return WB_PAGED_MODEL_GET_CLASS (model)->item_type;
}

static guint
get_n_items (GListModel *model)
{
  return PRIV (model)->items->len;
}

static gpointer
get_item (GListModel *model,
          guint       position)
{
  WbPagedModelPrivate *self = PRIV (model);

  return position < self->items->len ? g_object_ref (g_ptr_array_index (self->items, position)) : NULL;
}

static void
list_model_init (GListModelInterface *iface)
{
  iface->get_item_type = get_item_type;
  iface->get_n_items = get_n_items;
  iface->get_item = get_item;
}

static void
wb_paged_model_dispose (GObject *object)
{
  WbPagedModelPrivate *self = PRIV (object);

  if (self->loading != NULL)
    g_cancellable_cancel (self->loading);
  g_clear_object (&self->loading);
  g_clear_object (&self->client);
  G_OBJECT_CLASS (wb_paged_model_parent_class)->dispose (object);
}

static void
wb_paged_model_finalize (GObject *object)
{
  WbPagedModelPrivate *self = PRIV (object);

  g_clear_pointer (&self->items, g_ptr_array_unref);
  g_clear_pointer (&self->cursor, g_free);
  g_clear_error (&self->error);
  G_OBJECT_CLASS (wb_paged_model_parent_class)->finalize (object);
}

static void
wb_paged_model_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  WbPagedModelPrivate *self = PRIV (object);

  switch (prop_id)
    {
    case PROP_LOADING:
      g_value_set_boolean (value, self->loading != NULL);
      break;
    case PROP_HAS_MORE:
      g_value_set_boolean (value, self->has_more);
      break;
    case PROP_N_ITEMS:
      g_value_set_uint (value, self->items->len);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_paged_model_class_init (WbPagedModelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  klass->item_type = G_TYPE_OBJECT;
  object_class->dispose = wb_paged_model_dispose;
  object_class->finalize = wb_paged_model_finalize;
  object_class->get_property = wb_paged_model_get_property;

  properties[PROP_LOADING] =
    g_param_spec_boolean ("loading", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_HAS_MORE] =
    g_param_spec_boolean ("has-more", NULL, NULL, TRUE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_N_ITEMS] =
    g_param_spec_uint ("n-items", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
wb_paged_model_init (WbPagedModel *model)
{
  WbPagedModelPrivate *self = PRIV (model);

  self->items = g_ptr_array_new_with_free_func (g_object_unref);
  self->has_more = TRUE;
}

void
wb_paged_model_set_client (WbPagedModel *model,
                           WbClient     *client)
{
  g_return_if_fail (WB_IS_PAGED_MODEL (model));
  g_return_if_fail (client == NULL || WB_IS_CLIENT (client));

  g_set_object (&PRIV (model)->client, client);
}

static void
append_page (WbPagedModel *model,
             GPtrArray    *page,
             char         *next_cursor)
{
  WbPagedModelPrivate *self = PRIV (model);
  guint position = self->items->len;

  g_free (self->cursor);
  self->cursor = next_cursor;
  self->pages++;
  for (guint i = 0; i < page->len; i++)
    g_ptr_array_add (self->items, g_object_ref (g_ptr_array_index (page, i)));
  if (next_cursor == NULL)
    {
      self->has_more = FALSE;
      g_object_notify_by_pspec (G_OBJECT (model), properties[PROP_HAS_MORE]);
    }
  if (page->len > 0)
    {
      g_list_model_items_changed (G_LIST_MODEL (model), position, 0, page->len);
      g_object_notify_by_pspec (G_OBJECT (model), properties[PROP_N_ITEMS]);
    }
}

static void
on_page (GObject      *source,
         GAsyncResult *result,
         gpointer      data)
{
  g_autoptr(WbPagedModel) model = data;
  WbPagedModelPrivate *self = PRIV (model);
  g_autoptr(GError) error = NULL;
  char *next_cursor = NULL;
  g_autoptr(GPtrArray) page = WB_PAGED_MODEL_GET_CLASS (model)->fetch_finish (model, WB_CLIENT (source), result,
                                                                              &next_cursor, &error);

  if (page == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  g_clear_object (&self->loading);
  g_clear_error (&self->error);
  if (page != NULL)
    append_page (model, page, next_cursor);
  else
    self->error = g_steal_pointer (&error);
  g_object_notify_by_pspec (G_OBJECT (model), properties[PROP_LOADING]);
}

void
wb_paged_model_load_more (WbPagedModel *model)
{
  WbPagedModelPrivate *self;

  g_return_if_fail (WB_IS_PAGED_MODEL (model));

  self = PRIV (model);
  if (self->loading != NULL || !self->has_more || self->client == NULL)
    return;
  self->loading = g_cancellable_new ();
  WB_PAGED_MODEL_GET_CLASS (model)->fetch_async (model, self->client, self->cursor, self->loading, on_page,
                                                 g_object_ref (model));
  g_object_notify_by_pspec (G_OBJECT (model), properties[PROP_LOADING]);
}

gboolean
wb_paged_model_get_loading (WbPagedModel *self)
{
  g_return_val_if_fail (WB_IS_PAGED_MODEL (self), FALSE);
  return PRIV (self)->loading != NULL;
}

gboolean
wb_paged_model_get_has_more (WbPagedModel *self)
{
  g_return_val_if_fail (WB_IS_PAGED_MODEL (self), FALSE);
  return PRIV (self)->has_more;
}

guint
wb_paged_model_get_pages (WbPagedModel *self)
{
  g_return_val_if_fail (WB_IS_PAGED_MODEL (self), 0);
  return PRIV (self)->pages;
}

const GError *
wb_paged_model_get_error (WbPagedModel *self)
{
  g_return_val_if_fail (WB_IS_PAGED_MODEL (self), NULL);
  return PRIV (self)->error;
}
