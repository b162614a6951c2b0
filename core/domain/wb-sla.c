// SPDX-License-Identifier: GPL-3.0-or-later
/* Service levels and their delivery promises, from data/sla.conf: one
 * keyfile group per level with promise-hours. Immutable once built, so the
 * store may read it from its pool threads. */

#include "config.h"

#include "wb-domain-private.h"
#include "wb-sla.h"

#define PROMISE_HOURS_KEY "promise-hours"
/* A promise longer than a year is a typo, not a service level. */
#define PROMISE_HOURS_MAX (366 * 24)

struct _WbSlaTable
{
  GObject     parent_instance;

  GHashTable *promise_hours;   /* level → GINT_TO_POINTER (hours) */
};

G_DEFINE_QUARK (wb-sla-error-quark, wb_sla_error)
G_DEFINE_FINAL_TYPE (WbSlaTable, wb_sla_table, G_TYPE_OBJECT)

static void
wb_sla_table_finalize (GObject *object)
{
  WbSlaTable *self = WB_SLA_TABLE (object);

  g_clear_pointer (&self->promise_hours, g_hash_table_unref);

  G_OBJECT_CLASS (wb_sla_table_parent_class)->finalize (object);
}

static void
wb_sla_table_class_init (WbSlaTableClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = wb_sla_table_finalize;
}

static void
wb_sla_table_init (WbSlaTable *self)
{
  self->promise_hours = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

static gboolean
add_level (WbSlaTable  *self,
           GKeyFile    *keyfile,
           const char  *level,
           GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *text = g_key_file_get_value (keyfile, level, PROMISE_HOURS_KEY, NULL);
  gint64 hours;

  if (text == NULL)
    {
      g_set_error (error, WB_SLA_ERROR, WB_SLA_ERROR_PARSE, "[%s] has no " PROMISE_HOURS_KEY, level);
      return FALSE;
    }
  if (!g_ascii_string_to_signed (text, 10, 1, PROMISE_HOURS_MAX, &hours, &local_error))
    {
      g_set_error (error, WB_SLA_ERROR, WB_SLA_ERROR_PARSE,
                   "[%s] " PROMISE_HOURS_KEY "=%s: expected whole hours from 1 to %d", level, text,
                   PROMISE_HOURS_MAX);
      return FALSE;
    }
  g_hash_table_insert (self->promise_hours, g_strdup (level), GINT_TO_POINTER ((int) hours));
  return TRUE;
}

/**
 * wb_sla_table_new_from_data:
 * @keyfile_text: levels in the format of data/sla.conf
 *
 * Returns: (transfer full) (nullable): the table, or %NULL with
 *   %WB_SLA_ERROR_PARSE naming the level at fault
 */
WbSlaTable *
wb_sla_table_new_from_data (const char  *keyfile_text,
                            GError     **error)
{
  g_autoptr(WbSlaTable) self = NULL;
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();
  g_autoptr(GError) local_error = NULL;
  g_auto(GStrv) levels = NULL;

  g_return_val_if_fail (keyfile_text != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!g_key_file_load_from_data (keyfile, keyfile_text, -1, G_KEY_FILE_NONE, &local_error))
    {
      g_set_error (error, WB_SLA_ERROR, WB_SLA_ERROR_PARSE, "Service levels: %s", local_error->message);
      return NULL;
    }
  levels = g_key_file_get_groups (keyfile, NULL);
  if (levels[0] == NULL)
    {
      g_set_error_literal (error, WB_SLA_ERROR, WB_SLA_ERROR_PARSE, "Service levels: none defined");
      return NULL;
    }
  self = g_object_new (WB_TYPE_SLA_TABLE, NULL);
  for (guint i = 0; levels[i] != NULL; i++)
    if (!add_level (self, keyfile, levels[i], error))
      return NULL;
  return g_steal_pointer (&self);
}

/**
 * wb_sla_table_load_default:
 *
 * Returns: (transfer full) (nullable): the levels of data/sla.conf, as
 *   compiled in
 */
WbSlaTable *
wb_sla_table_load_default (GError **error)
{
  g_autoptr(GBytes) data = NULL;
  g_autofree char *text = NULL;
  gsize length = 0;
  const char *bytes;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if ((data = _wb_domain_data_lookup ("sla.conf", error)) == NULL)
    return NULL;
  bytes = g_bytes_get_data (data, &length);
  text = g_strndup (bytes ? bytes : "", length);
  return wb_sla_table_new_from_data (text, error);
}

gboolean
wb_sla_table_has_level (WbSlaTable *self,
                        const char *level)
{
  g_return_val_if_fail (WB_IS_SLA_TABLE (self), FALSE);
  g_return_val_if_fail (level != NULL, FALSE);

  return g_hash_table_contains (self->promise_hours, level);
}

/**
 * wb_sla_table_get_promise_hours:
 *
 * Returns: the level's promise in hours, or -1 for an unknown level
 */
gint64
wb_sla_table_get_promise_hours (WbSlaTable *self,
                                const char *level)
{
  gpointer hours;

  g_return_val_if_fail (WB_IS_SLA_TABLE (self), -1);
  g_return_val_if_fail (level != NULL, -1);

  if (!g_hash_table_lookup_extended (self->promise_hours, level, NULL, &hours))
    return -1;
  return GPOINTER_TO_INT (hours);
}

/**
 * wb_sla_table_promise:
 * @created_at_us: when the shipment was created, unix microseconds
 *
 * Returns: promised_at (unix microseconds), or -1 for an unknown level
 */
gint64
wb_sla_table_promise (WbSlaTable *self,
                      const char *level,
                      gint64      created_at_us)
{
  gint64 hours = wb_sla_table_get_promise_hours (self, level);

  if (hours < 0)
    return -1;
  return created_at_us + hours * 3600 * G_USEC_PER_SEC;
}

static int
compare_by_promise (gconstpointer a,
                    gconstpointer b,
                    gpointer      user_data)
{
  WbSlaTable *self = user_data;
  const char *level_a = *(char * const *) a;
  const char *level_b = *(char * const *) b;
  gint64 hours_a = wb_sla_table_get_promise_hours (self, level_a);
  gint64 hours_b = wb_sla_table_get_promise_hours (self, level_b);

  if (hours_a != hours_b)
    return hours_a < hours_b ? -1 : 1;
  return g_strcmp0 (level_a, level_b);
}

/**
 * wb_sla_table_list_levels:
 *
 * Returns: (transfer full): the level names, shortest promise first
 */
GStrv
wb_sla_table_list_levels (WbSlaTable *self)
{
  g_autoptr(GPtrArray) names = NULL;
  GHashTableIter iter;
  gpointer key;

  g_return_val_if_fail (WB_IS_SLA_TABLE (self), NULL);

  names = g_ptr_array_new_with_free_func (g_free);
  g_hash_table_iter_init (&iter, self->promise_hours);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (names, g_strdup (key));
  g_ptr_array_sort_with_data (names, compare_by_promise, self);
  g_ptr_array_add (names, NULL);
  return (GStrv) g_ptr_array_steal (names, NULL);
}
