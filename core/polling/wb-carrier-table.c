// SPDX-License-Identifier: GPL-3.0-or-later
/* The carriers file: who we poll, through which driver, within which limits. */

#include "config.h"

#include <string.h>

#include "wb-carrier-table.h"
#include "wb-json-writer.h"
#include "wb-polling.h"
#include "wb-polling-private.h"

struct _WbCarrierTable
{
  GObject    parent_instance;
  GPtrArray *carriers;   /* WbCarrierConfig*, in file order */
};

G_DEFINE_FINAL_TYPE (WbCarrierTable, wb_carrier_table, G_TYPE_OBJECT)

static const char * const known_keys[] = {
  "driver", "base-url", "api-key", "client-id", "client-secret", "login", "password", "rate", "burst",
  "daily-quota", "batch-size", "timeout", "status-map", "number-format", "max-length", NULL
};

static void
carrier_config_free (gpointer data)
{
  WbCarrierConfig *config = data;

  g_free (config->code);
  g_free (config->driver);
  g_free (config->base_url);
  g_free (config->api_key);
  g_free (config->client_id);
  g_free (config->client_secret);
  g_free (config->login);
  g_free (config->password);
  g_free (config->status_map);
  g_free (config->number_format);
  g_free (config);
}

static void
wb_carrier_table_finalize (GObject *object)
{
  WbCarrierTable *self = WB_CARRIER_TABLE (object);

  g_clear_pointer (&self->carriers, g_ptr_array_unref);
  G_OBJECT_CLASS (wb_carrier_table_parent_class)->finalize (object);
}

static void
wb_carrier_table_class_init (WbCarrierTableClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = wb_carrier_table_finalize;
}

static void
wb_carrier_table_init (WbCarrierTable *self)
{
  self->carriers = g_ptr_array_new_with_free_func (carrier_config_free);
}

static char *
get_string (GKeyFile   *file,
            const char *group,
            const char *key,
            const char *fallback)
{
  char *value = g_key_file_get_string (file, group, key, NULL);

  if (value == NULL)
    return g_strdup (fallback);
  g_strstrip (value);
  if (*value == '\0')
    {
      g_free (value);
      return g_strdup (fallback);
    }
  return value;
}

static gboolean
get_uint (GKeyFile    *file,
          const char  *group,
          const char  *key,
          guint        min,
          guint        max,
          guint        fallback,
          guint       *out_value,
          GError     **error)
{
  g_autofree char *text = get_string (file, group, key, NULL);
  guint64 value;

  *out_value = fallback;
  if (text == NULL)
    return TRUE;
  if (!g_ascii_string_to_unsigned (text, 10, min, max, &value, NULL))
    {
      g_set_error (error, WB_POLLING_ERROR, WB_POLLING_ERROR_CONFIG,
                   "carriers file: [%s] %s must be an integer from %u to %u", group, key, min, max);
      return FALSE;
    }
  *out_value = value;
  return TRUE;
}

static gboolean
check_keys (GKeyFile    *file,
            const char  *group,
            GError     **error)
{
  g_auto(GStrv) keys = g_key_file_get_keys (file, group, NULL, NULL);

  for (guint i = 0; keys != NULL && keys[i] != NULL; i++)
    if (!g_strv_contains (known_keys, keys[i]))
      {
        g_set_error (error, WB_POLLING_ERROR, WB_POLLING_ERROR_CONFIG,
                     "carriers file: [%s] has an unknown key “%s”", group, keys[i]);
        return FALSE;
      }
  return TRUE;
}

static gboolean
read_rate (GKeyFile         *file,
           const char       *group,
           WbCarrierConfig  *config,
           GError          **error)
{
  g_autofree char *text = get_string (file, group, "rate", "1");
  char *end = NULL;

  config->rate = g_ascii_strtod (text, &end);
  if (end == text || *end != '\0' || !(config->rate > 0 && config->rate <= 100000))
    {
      g_set_error (error, WB_POLLING_ERROR, WB_POLLING_ERROR_CONFIG,
                   "carriers file: [%s] rate must be a number of requests per second above 0", group);
      return FALSE;
    }
  return TRUE;
}

static WbCarrierConfig *
read_carrier (GKeyFile    *file,
              const char  *group,
              GError     **error)
{
  WbCarrierConfig *config = g_new0 (WbCarrierConfig, 1);

  config->code = g_strdup (group);
  config->driver = get_string (file, group, "driver", NULL);
  config->base_url = get_string (file, group, "base-url", NULL);
  config->api_key = get_string (file, group, "api-key", NULL);
  config->client_id = get_string (file, group, "client-id", NULL);
  config->client_secret = get_string (file, group, "client-secret", NULL);
  config->login = get_string (file, group, "login", NULL);
  config->password = get_string (file, group, "password", NULL);
  config->status_map = get_string (file, group, "status-map", "generic");
  config->number_format = get_string (file, group, "number-format", "any");
  if (!check_keys (file, group, error)
      || !read_rate (file, group, config, error)
      || !get_uint (file, group, "burst", 1, 100000, 1, &config->burst, error)
      || !get_uint (file, group, "daily-quota", 0, G_MAXINT32, 0, &config->daily_quota, error)
      || !get_uint (file, group, "batch-size", 1, 1000, 1, &config->batch_size, error)
      || !get_uint (file, group, "timeout", 1, 600, 10, &config->timeout_s, error)
      || !get_uint (file, group, "max-length", 1, 128, 64, &config->max_length, error))
    goto fail;
  if (config->driver == NULL || config->base_url == NULL)
    {
      g_set_error (error, WB_POLLING_ERROR, WB_POLLING_ERROR_CONFIG,
                   "carriers file: [%s] needs driver and base-url", group);
      goto fail;
    }
  if (!g_str_equal (config->number_format, "any") && !g_str_equal (config->number_format, "s10"))
    {
      g_set_error (error, WB_POLLING_ERROR, WB_POLLING_ERROR_CONFIG,
                   "carriers file: [%s] number-format must be any or s10", group);
      goto fail;
    }
  return config;

fail:
  carrier_config_free (config);
  return NULL;
}

/**
 * wb_carrier_table_new_from_data:
 * @text: a keyfile in the format of data/carriers.conf
 *
 * Returns: (transfer full): the table, or %NULL with %WB_POLLING_ERROR_CONFIG
 */
WbCarrierTable *
wb_carrier_table_new_from_data (const char  *text,
                                GError     **error)
{
  g_autoptr(GKeyFile) file = g_key_file_new ();
  g_autoptr(WbCarrierTable) self = NULL;
  g_auto(GStrv) groups = NULL;
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (text != NULL, NULL);

  if (!g_key_file_load_from_data (file, text, -1, G_KEY_FILE_NONE, &local_error))
    {
      g_set_error (error, WB_POLLING_ERROR, WB_POLLING_ERROR_CONFIG, "carriers file: %s", local_error->message);
      return NULL;
    }
  self = g_object_new (WB_TYPE_CARRIER_TABLE, NULL);
  groups = g_key_file_get_groups (file, NULL);
  for (guint i = 0; groups[i] != NULL; i++)
    {
      WbCarrierConfig *config = read_carrier (file, groups[i], error);

      if (config == NULL)
        return NULL;
      g_ptr_array_add (self->carriers, config);
    }
  return g_steal_pointer (&self);
}

WbCarrierTable *
wb_carrier_table_load (const char  *path,
                       GError     **error)
{
  g_autofree char *text = NULL;
  g_autoptr(GBytes) bytes = NULL;

  if (path != NULL && *path != '\0')
    {
      g_autoptr(GError) local_error = NULL;

      if (!g_file_get_contents (path, &text, NULL, &local_error))
        {
          g_set_error (error, WB_POLLING_ERROR, WB_POLLING_ERROR_CONFIG, "carriers file: %s", local_error->message);
          return NULL;
        }
      return wb_carrier_table_new_from_data (text, error);
    }
  if ((bytes = _wb_polling_data_lookup ("carriers.conf", error)) == NULL)
    return NULL;
  text = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  return wb_carrier_table_new_from_data (text, error);
}

const WbCarrierConfig *
wb_carrier_table_lookup (WbCarrierTable *self,
                         const char     *code)
{
  g_return_val_if_fail (WB_IS_CARRIER_TABLE (self), NULL);

  for (guint i = 0; code != NULL && i < self->carriers->len; i++)
    {
      const WbCarrierConfig *config = g_ptr_array_index (self->carriers, i);

      if (g_str_equal (config->code, code))
        return config;
    }
  return NULL;
}

guint
wb_carrier_table_get_n_carriers (WbCarrierTable *self)
{
  g_return_val_if_fail (WB_IS_CARRIER_TABLE (self), 0);
  return self->carriers->len;
}

const WbCarrierConfig *
wb_carrier_table_get_nth (WbCarrierTable *self,
                          guint           index)
{
  g_return_val_if_fail (WB_IS_CARRIER_TABLE (self), NULL);
  g_return_val_if_fail (index < self->carriers->len, NULL);
  return g_ptr_array_index (self->carriers, index);
}

gboolean
wb_s10_is_valid (const char *number)
{
  static const int weights[] = { 8, 6, 4, 2, 3, 5, 9, 7 };
  int sum = 0, check;

  if (number == NULL || strlen (number) != 13
      || !g_ascii_isupper (number[0]) || !g_ascii_isupper (number[1])
      || !g_ascii_isupper (number[11]) || !g_ascii_isupper (number[12]))
    return FALSE;
  for (guint i = 2; i < 11; i++)
    if (!g_ascii_isdigit (number[i]))
      return FALSE;
  for (guint i = 0; i < 8; i++)
    sum += (number[2 + i] - '0') * weights[i];
  check = 11 - sum % 11;
  if (check == 10)
    check = 0;
  else if (check == 11)
    check = 5;
  return number[10] - '0' == check;
}

gboolean
wb_carrier_check_number (const WbCarrierConfig  *carrier,
                         const char             *number,
                         GError                **error)
{
  glong length = g_utf8_strlen (number, -1);

  if (length == 0)
    {
      g_set_error_literal (error, WB_POLLING_ERROR, WB_POLLING_ERROR_INVALID, "must not be empty");
      return FALSE;
    }
  if (length > carrier->max_length)
    {
      g_set_error (error, WB_POLLING_ERROR, WB_POLLING_ERROR_INVALID,
                   "is longer than %u characters, the most %s numbers have", carrier->max_length, carrier->code);
      return FALSE;
    }
  for (const char *p = number; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '-')
      {
        g_set_error_literal (error, WB_POLLING_ERROR, WB_POLLING_ERROR_INVALID,
                             "may hold only ASCII letters, digits and '-'");
        return FALSE;
      }
  if (g_str_equal (carrier->number_format, "s10") && !wb_s10_is_valid (number))
    {
      g_set_error_literal (error, WB_POLLING_ERROR, WB_POLLING_ERROR_INVALID,
                           "is not a UPU S10 number with a valid check digit (e.g. RA123456785RU)");
      return FALSE;
    }
  return TRUE;
}

static void
write_member (GString    *out,
              const char *name,
              const char *value,
              gboolean    secret)
{
  wb_json_write_string (out, name);
  g_string_append_c (out, ':');
  if (value == NULL)
    g_string_append (out, "null");
  else
    wb_json_write_string (out, secret ? "****" : value);
  g_string_append_c (out, ',');
}

char *
wb_carrier_table_to_json (WbCarrierTable *self)
{
  g_autoptr(GString) out = g_string_new ("{\"items\":[");

  g_return_val_if_fail (WB_IS_CARRIER_TABLE (self), NULL);

  for (guint i = 0; i < self->carriers->len; i++)
    {
      const WbCarrierConfig *c = g_ptr_array_index (self->carriers, i);

      g_string_append (out, i > 0 ? ",{" : "{");
      write_member (out, "code", c->code, FALSE);
      write_member (out, "driver", c->driver, FALSE);
      write_member (out, "baseUrl", c->base_url, FALSE);
      write_member (out, "apiKey", c->api_key, TRUE);
      write_member (out, "clientId", c->client_id, FALSE);
      write_member (out, "clientSecret", c->client_secret, TRUE);
      write_member (out, "login", c->login, FALSE);
      write_member (out, "password", c->password, TRUE);
      write_member (out, "statusMap", c->status_map, FALSE);
      write_member (out, "numberFormat", c->number_format, FALSE);
      g_string_append (out, "\"rate\":");
      wb_json_write_double (out, c->rate);
      g_string_append_printf (out, ",\"burst\":%u,\"dailyQuota\":%u,\"batchSize\":%u,\"timeout\":%u,\"maxLength\":%u}",
                              c->burst, c->daily_quota, c->batch_size, c->timeout_s, c->max_length);
    }
  g_string_append (out, "]}");
  return g_string_free (g_steal_pointer (&out), FALSE);
}
