// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include <glib/gstdio.h>
#include <libsoup/soup.h>

#include "wb-tile-source.h"

/* OSM asks clients to keep tiles at least a week before asking again. */
#define DISK_FRESH_USEC     (7 * G_TIME_SPAN_DAY)
#define FAILURES_UNREACHABLE 3
#define DEFAULT_MEMORY_TILES 512

typedef enum
{
  KIND_NONE,
  KIND_HTTP,
  KIND_LOCAL,
} SourceKind;

struct _WbTileSource
{
  ShumateDataSource  parent_instance;

  char              *url_template;
  char              *attribution;
  SourceKind         kind;
  SoupSession       *session;
  char              *cache_dir;
  GHashTable        *memory;        /* "z/x/y" → GList* in lru (data: MemoryTile*) */
  GQueue             lru;           /* most recently used first */
  guint              max_tiles;
  guint              failures;
  gboolean           reachable;
  guint              network_fetches;
  guint              memory_hits;
};

G_DEFINE_FINAL_TYPE (WbTileSource, wb_tile_source, SHUMATE_TYPE_DATA_SOURCE)
G_DEFINE_QUARK (wb-tile-source-error-quark, wb_tile_source_error)

enum {
  PROP_0,
  PROP_URL_TEMPLATE,
  PROP_ATTRIBUTION,
  PROP_REACHABLE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

typedef struct
{
  char   *key;
  GBytes *bytes;
} MemoryTile;

typedef struct
{
  int     x;
  int     y;
  int     z;
  char   *key;
  char   *address;      /* URL or local path, the template filled in */
  char   *cache_path;   /* NULL unless HTTP */
  GBytes *stale;        /* an old disk copy, the answer if the server fails */
} TileRequest;

static void
tile_request_free (TileRequest *request)
{
  g_free (request->key);
  g_free (request->address);
  g_free (request->cache_path);
  g_clear_pointer (&request->stale, g_bytes_unref);
  g_free (request);
}

static void
memory_tile_free (MemoryTile *tile)
{
  g_free (tile->key);
  g_bytes_unref (tile->bytes);
  g_free (tile);
}

/* Returns: (transfer none) (nullable). */
static GBytes *
memory_lookup (WbTileSource *self,
               const char   *key)
{
  GList *link = g_hash_table_lookup (self->memory, key);

  if (link == NULL)
    return NULL;
  g_queue_unlink (&self->lru, link);
  g_queue_push_head_link (&self->lru, link);
  return ((MemoryTile *) link->data)->bytes;
}

static void
memory_trim (WbTileSource *self)
{
  while (self->lru.length > self->max_tiles)
    {
      MemoryTile *oldest = g_queue_pop_tail (&self->lru);

      g_hash_table_remove (self->memory, oldest->key);
      memory_tile_free (oldest);
    }
}

static void
memory_store (WbTileSource *self,
              const char   *key,
              GBytes       *bytes)
{
  MemoryTile *tile;

  if (memory_lookup (self, key) != NULL)
    return;
  tile = g_new0 (MemoryTile, 1);
  tile->key = g_strdup (key);
  tile->bytes = g_bytes_ref (bytes);
  g_queue_push_head (&self->lru, tile);
  g_hash_table_insert (self->memory, tile->key, self->lru.head);
  memory_trim (self);
}

static char *
fill_template (const char *template,
               int         x,
               int         y,
               int         z)
{
  g_autoptr(GString) out = g_string_new (template);
  char number[16];

  g_snprintf (number, sizeof number, "%d", z);
  g_string_replace (out, "{z}", number, 0);
  g_snprintf (number, sizeof number, "%d", x);
  g_string_replace (out, "{x}", number, 0);
  g_snprintf (number, sizeof number, "%d", y);
  g_string_replace (out, "{y}", number, 0);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static void
set_reachable (WbTileSource *self,
               gboolean      ok)
{
  gboolean reachable;

  self->failures = ok ? 0 : self->failures + 1;
  reachable = ok || self->failures < FAILURES_UNREACHABLE;
  if (reachable == self->reachable)
    return;
  self->reachable = reachable;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REACHABLE]);
}

/* The raster renderer draws what ::received-data carries. */
static void
deliver (GTask  *task,
         GBytes *bytes)
{
  WbTileSource *self = g_task_get_source_object (task);
  TileRequest *request = g_task_get_task_data (task);

  memory_store (self, request->key, bytes);
  g_signal_emit_by_name (self, "received-data", request->x, request->y, request->z, bytes);
  g_task_return_pointer (task, g_bytes_ref (bytes), (GDestroyNotify) g_bytes_unref);
}

static void
on_local_loaded (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = g_file_load_bytes_finish (G_FILE (object), result, NULL, &error);

  if (bytes == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    deliver (task, bytes);
}

static void
save_in_thread (GTask        *task,
                gpointer      source,
                gpointer      task_data,
                GCancellable *cancellable)
{
  TileRequest *request = task_data;
  g_autofree char *dir = g_path_get_dirname (request->cache_path);
  gsize size;
  const char *data = g_bytes_get_data (request->stale, &size);

  /* A failed write only costs a later download again. */
  if (g_mkdir_with_parents (dir, 0700) == 0)
    g_file_set_contents (request->cache_path, data, size, NULL);
  g_task_return_boolean (task, TRUE);
}

static void
save_to_disk (WbTileSource *self,
              TileRequest  *request,
              GBytes       *bytes)
{
  g_autoptr(GTask) task = g_task_new (self, NULL, NULL, NULL);
  TileRequest *copy = g_new0 (TileRequest, 1);

  copy->cache_path = g_strdup (request->cache_path);
  copy->stale = g_bytes_ref (bytes);
  g_task_set_source_tag (task, save_to_disk);
  g_task_set_task_data (task, copy, (GDestroyNotify) tile_request_free);
  g_task_run_in_thread (task, save_in_thread);
}

static void
on_http_done (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  WbTileSource *self = g_task_get_source_object (task);
  TileRequest *request = g_task_get_task_data (task);
  SoupMessage *message = soup_session_get_async_result_message (SOUP_SESSION (object), result);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = soup_session_send_and_read_finish (SOUP_SESSION (object), result, &error);

  if (bytes != NULL && soup_message_get_status (message) != SOUP_STATUS_OK)
    {
      g_set_error (&error, WB_TILE_SOURCE_ERROR, WB_TILE_SOURCE_ERROR_HTTP,
                   "%s: HTTP %u", request->address, soup_message_get_status (message));
      g_clear_pointer (&bytes, g_bytes_unref);
    }
  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    set_reachable (self, bytes != NULL);
  if (bytes != NULL)
    {
      save_to_disk (self, request, bytes);
      deliver (task, bytes);
    }
  else if (request->stale != NULL)
    deliver (task, request->stale);
  else
    g_task_return_error (task, g_steal_pointer (&error));
}

static void
fetch_http (GTask *task)
{
  WbTileSource *self = g_task_get_source_object (task);
  TileRequest *request = g_task_get_task_data (task);
  g_autoptr(SoupMessage) message = soup_message_new (SOUP_METHOD_GET, request->address);

  if (message == NULL)
    {
      g_task_return_new_error (task, WB_TILE_SOURCE_ERROR, WB_TILE_SOURCE_ERROR_TEMPLATE,
                               "Not a URL: %s", request->address);
      g_object_unref (task);
      return;
    }
  self->network_fetches++;
  soup_session_send_and_read_async (self->session, message, G_PRIORITY_DEFAULT,
                                    g_task_get_cancellable (task), on_http_done, task);
}

/* Reads the disk copy off the main thread: (bytes, fresh) in task data. */
static void
read_cache_in_thread (GTask        *task,
                      gpointer      source,
                      gpointer      task_data,
                      GCancellable *cancellable)
{
  TileRequest *request = task_data;
  GStatBuf info;
  char *data = NULL;
  gsize size;
  gboolean fresh;

  if (g_stat (request->cache_path, &info) != 0
      || !g_file_get_contents (request->cache_path, &data, &size, NULL))
    {
      g_task_return_boolean (task, FALSE);
      return;
    }
  request->stale = g_bytes_new_take (data, size);
  fresh = g_get_real_time () - (gint64) info.st_mtime * G_USEC_PER_SEC < DISK_FRESH_USEC;
  g_task_return_boolean (task, fresh);
}

static void
on_cache_read (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  GTask *task = user_data;
  TileRequest *request = g_task_get_task_data (task);

  if (g_task_propagate_boolean (G_TASK (result), NULL))
    {
      deliver (task, request->stale);
      g_object_unref (task);
      return;
    }
  fetch_http (task);
}

static void
wb_tile_source_get_tile_data_async (ShumateDataSource   *data_source,
                                    int                  x,
                                    int                  y,
                                    int                  zoom_level,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  WbTileSource *self = WB_TILE_SOURCE (data_source);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  TileRequest *request = g_new0 (TileRequest, 1);
  GBytes *cached;

  g_task_set_source_tag (task, wb_tile_source_get_tile_data_async);
  request->x = x;
  request->y = y;
  request->z = zoom_level;
  request->key = g_strdup_printf ("%d/%d/%d", zoom_level, x, y);
  g_task_set_task_data (task, request, (GDestroyNotify) tile_request_free);

  if (self->kind == KIND_NONE)
    {
      g_task_return_new_error (task, WB_TILE_SOURCE_ERROR, WB_TILE_SOURCE_ERROR_NONE, "No tile source");
      return;
    }
  if ((cached = memory_lookup (self, request->key)) != NULL)
    {
      self->memory_hits++;
      deliver (task, cached);
      return;
    }
  request->address = fill_template (self->url_template, x, y, zoom_level);
  if (self->kind == KIND_LOCAL)
    {
      g_autoptr(GFile) file = g_str_has_prefix (request->address, "file:")
                              ? g_file_new_for_uri (request->address)
                              : g_file_new_for_path (request->address);

      g_file_load_bytes_async (file, cancellable, on_local_loaded, g_steal_pointer (&task));
      return;
    }
  request->cache_path = g_build_filename (self->cache_dir, request->key, NULL);
  {
    g_autoptr(GTask) read = g_task_new (self, cancellable, on_cache_read, g_steal_pointer (&task));

    g_task_set_source_tag (read, read_cache_in_thread);
    g_task_set_task_data (read, request, NULL);
    g_task_run_in_thread (read, read_cache_in_thread);
  }
}

static GBytes *
wb_tile_source_get_tile_data_finish (ShumateDataSource  *data_source,
                                     GAsyncResult       *result,
                                     GError            **error)
{
  g_return_val_if_fail (g_task_is_valid (result, data_source), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static SourceKind
classify (const char *url_template)
{
  if (url_template == NULL || *url_template == '\0' || g_str_equal (url_template, "none"))
    return KIND_NONE;
  if (g_str_has_prefix (url_template, "http://") || g_str_has_prefix (url_template, "https://"))
    return KIND_HTTP;
  return KIND_LOCAL;
}

static void
wb_tile_source_constructed (GObject *object)
{
  WbTileSource *self = WB_TILE_SOURCE (object);

  G_OBJECT_CLASS (wb_tile_source_parent_class)->constructed (object);

  self->kind = classify (self->url_template);
  if (self->kind == KIND_HTTP)
    {
      g_autofree char *id = g_compute_checksum_for_string (G_CHECKSUM_SHA256, self->url_template, -1);

      /* One folder per template, so switching servers never mixes tiles. */
      id[16] = '\0';
      self->cache_dir = g_build_filename (g_get_user_cache_dir (), "waybill", "tiles", id, NULL);
      self->session = soup_session_new_with_options ("user-agent", WB_TILE_SOURCE_USER_AGENT,
                                                     "max-conns-per-host", 2,
                                                     NULL);
    }
  if (self->attribution == NULL && g_strcmp0 (self->url_template, WB_TILE_SOURCE_OSM_TEMPLATE) == 0)
    self->attribution = g_strdup (WB_TILE_SOURCE_OSM_ATTRIBUTION);
}

static void
wb_tile_source_finalize (GObject *object)
{
  WbTileSource *self = WB_TILE_SOURCE (object);

  g_queue_clear_full (&self->lru, (GDestroyNotify) memory_tile_free);
  g_clear_pointer (&self->memory, g_hash_table_unref);
  g_clear_object (&self->session);
  g_clear_pointer (&self->cache_dir, g_free);
  g_clear_pointer (&self->url_template, g_free);
  g_clear_pointer (&self->attribution, g_free);

  G_OBJECT_CLASS (wb_tile_source_parent_class)->finalize (object);
}

static void
wb_tile_source_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  WbTileSource *self = WB_TILE_SOURCE (object);

  switch (prop_id)
    {
    case PROP_URL_TEMPLATE:
      g_value_set_string (value, self->url_template);
      break;
    case PROP_ATTRIBUTION:
      g_value_set_string (value, self->attribution);
      break;
    case PROP_REACHABLE:
      g_value_set_boolean (value, self->reachable);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_tile_source_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  WbTileSource *self = WB_TILE_SOURCE (object);

  switch (prop_id)
    {
    case PROP_URL_TEMPLATE:
      self->url_template = g_value_dup_string (value);
      break;
    case PROP_ATTRIBUTION:
      wb_tile_source_set_attribution (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_tile_source_class_init (WbTileSourceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  ShumateDataSourceClass *source_class = SHUMATE_DATA_SOURCE_CLASS (klass);

  object_class->constructed = wb_tile_source_constructed;
  object_class->finalize = wb_tile_source_finalize;
  object_class->get_property = wb_tile_source_get_property;
  object_class->set_property = wb_tile_source_set_property;
  source_class->get_tile_data_async = wb_tile_source_get_tile_data_async;
  source_class->get_tile_data_finish = wb_tile_source_get_tile_data_finish;

  properties[PROP_URL_TEMPLATE] =
    g_param_spec_string ("url-template", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ATTRIBUTION] =
    g_param_spec_string ("attribution", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_REACHABLE] =
    g_param_spec_boolean ("reachable", NULL, NULL, TRUE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
wb_tile_source_init (WbTileSource *self)
{
  self->memory = g_hash_table_new (g_str_hash, g_str_equal);
  g_queue_init (&self->lru);
  self->max_tiles = DEFAULT_MEMORY_TILES;
  self->reachable = TRUE;
}

WbTileSource *
wb_tile_source_new (const char *url_template)
{
  return g_object_new (WB_TYPE_TILE_SOURCE, "url-template", url_template, NULL);
}

const char *
wb_tile_source_get_url_template (WbTileSource *self)
{
  g_return_val_if_fail (WB_IS_TILE_SOURCE (self), NULL);
  return self->url_template;
}

gboolean
wb_tile_source_is_none (WbTileSource *self)
{
  g_return_val_if_fail (WB_IS_TILE_SOURCE (self), TRUE);
  return self->kind == KIND_NONE;
}

const char *
wb_tile_source_get_attribution (WbTileSource *self)
{
  g_return_val_if_fail (WB_IS_TILE_SOURCE (self), NULL);
  return self->attribution;
}

void
wb_tile_source_set_attribution (WbTileSource *self,
                                const char   *attribution)
{
  g_return_if_fail (WB_IS_TILE_SOURCE (self));

  if (g_strcmp0 (self->attribution, attribution) == 0)
    return;
  g_free (self->attribution);
  self->attribution = g_strdup (attribution);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ATTRIBUTION]);
}

gboolean
wb_tile_source_get_reachable (WbTileSource *self)
{
  g_return_val_if_fail (WB_IS_TILE_SOURCE (self), FALSE);
  return self->reachable;
}

const char *
wb_tile_source_get_cache_dir (WbTileSource *self)
{
  g_return_val_if_fail (WB_IS_TILE_SOURCE (self), NULL);
  return self->cache_dir;
}

void
wb_tile_source_set_memory_tiles (WbTileSource *self,
                                 guint         max_tiles)
{
  g_return_if_fail (WB_IS_TILE_SOURCE (self));

  self->max_tiles = MAX (max_tiles, 1);
  memory_trim (self);
}

ShumateMapSource *
wb_tile_source_create_map_source (WbTileSource *self)
{
  g_autofree char *id = NULL;

  g_return_val_if_fail (WB_IS_TILE_SOURCE (self), NULL);

  id = g_strdup_printf ("waybill-%p", (void *) self);
  return SHUMATE_MAP_SOURCE (shumate_raster_renderer_new_full (id, "Waybill tiles",
                                                               self->attribution != NULL ? self->attribution : "",
                                                               NULL, 0, 19, 256,
                                                               SHUMATE_MAP_PROJECTION_MERCATOR,
                                                               SHUMATE_DATA_SOURCE (self)));
}

guint
wb_tile_source_get_network_fetches (WbTileSource *self)
{
  g_return_val_if_fail (WB_IS_TILE_SOURCE (self), 0);
  return self->network_fetches;
}

guint
wb_tile_source_get_memory_hits (WbTileSource *self)
{
  g_return_val_if_fail (WB_IS_TILE_SOURCE (self), 0);
  return self->memory_hits;
}
