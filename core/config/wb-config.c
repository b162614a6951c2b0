// SPDX-License-Identifier: GPL-3.0-or-later
/* WbConfig: the daemon's settings from defaults, a keyfile, the environment
 * and the command line, in that order of precedence. Every key is a row of
 * wb_config_keys (wb-config-keys.c); nothing here names a particular key.
 *
 * A load builds a complete new state and swaps it in only when every source
 * has been read and every value checked, so a failed load changes nothing. */

#include "config.h"

#include <glib/gi18n-lib.h>
#include <gio/gio.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <string.h>

#include "wb-config.h"
#include "wb-config-private.h"

#define DSN_PASSWORD_MASK "********"

typedef struct
{
  char           *text;     /* trimmed, lists normalized; what get_string returns */
  gint64          number;   /* INT, PORT, SIZE, DURATION */
  WbConfigSource  source;
  char           *origin;   /* env var, "--option" or file path; NULL for defaults */
} WbConfigValue;

typedef struct
{
  WbConfigValue *values;    /* one per row of wb_config_keys */
  char          *file;
} WbConfigState;

struct _WbConfig
{
  GObject        parent_instance;

  WbConfigState *state;
  char          *user_path;
  char          *system_path;
  char          *summary;
  GPtrArray     *extra_entries;   /* borrowed GOptionEntry arrays */
};

G_DEFINE_FINAL_TYPE (WbConfig, wb_config, G_TYPE_OBJECT)

G_DEFINE_QUARK (wb-config-error-quark, wb_config_error)

/* Table lookups */

static const WbConfigKey *
find_key (const char *name,
          guint      *out_index)
{
  for (guint i = 0; i < wb_config_n_keys; i++)
    {
      if (g_str_equal (wb_config_keys[i].key, name))
        {
          if (out_index != NULL)
            *out_index = i;
          return &wb_config_keys[i];
        }
    }
  return NULL;
}

static gboolean
key_in_group (const WbConfigKey *key,
              const char        *group)
{
  gsize length = strlen (group);

  return strncmp (key->key, group, length) == 0 && key->key[length] == '.';
}

/* The names of the keys of @group as written in a keyfile, for error hints. */
static char *
list_group_keys (const char *group)
{
  g_autoptr(GString) names = g_string_new (NULL);

  for (guint i = 0; i < wb_config_n_keys; i++)
    {
      if (!key_in_group (&wb_config_keys[i], group))
        continue;
      if (names->len > 0)
        g_string_append (names, ", ");
      g_string_append (names, strchr (wb_config_keys[i].key, '.') + 1);
    }
  return g_string_free (g_steal_pointer (&names), FALSE);
}

static char *
list_groups (void)
{
  g_autoptr(GString) names = g_string_new (NULL);

  for (guint i = 0; i < wb_config_n_keys; i++)
    {
      const char *key = wb_config_keys[i].key;
      g_autofree char *group = g_strndup (key, strchr (key, '.') - key);
      gboolean seen = FALSE;

      for (guint j = 0; j < i && !seen; j++)
        seen = key_in_group (&wb_config_keys[j], group);
      if (seen)
        continue;
      if (names->len > 0)
        g_string_append (names, ", ");
      g_string_append (names, group);
    }
  return g_string_free (g_steal_pointer (&names), FALSE);
}

/* Value parsers. Each reports the problem only; the caller prefixes the key
 * and the source, so every message reads "key (from SOURCE): problem". */

static gboolean
invalid (GError    **error,
         const char *format,
         ...) G_GNUC_PRINTF (2, 3);

static gboolean
invalid (GError    **error,
         const char *format,
         ...)
{
  va_list args;

  if (error == NULL)
    return FALSE;
  va_start (args, format);
  g_propagate_error (error, g_error_new_valist (WB_CONFIG_ERROR, WB_CONFIG_ERROR_INVALID_VALUE, format, args));
  va_end (args);
  return FALSE;
}

static gboolean
range_error (const char *text,
             gint64      min,
             gint64      max,
             GError    **error)
{
  if (min == 0 && max == 0)
    return invalid (error, _("\"%s\" is too large"), text);
  if (max == G_MAXINT64)
    return invalid (error, _("\"%s\" is below the minimum of %" PRId64), text, (int64_t) min);
  return invalid (error, _("\"%s\" is out of range %" PRId64 "–%" PRId64),
                  text, (int64_t) min, (int64_t) max);
}

static gboolean
check_range (const char *text,
             gint64      value,
             gint64      min,
             gint64      max,
             GError    **error)
{
  if ((min == 0 && max == 0) || (value >= min && value <= max))
    return TRUE;
  return range_error (text, min, max, error);
}

static gboolean
parse_integer (const char *text,
               gint64      min,
               gint64      max,
               gint64     *out_number,
               GError    **error)
{
  g_autoptr(GError) local_error = NULL;

  if (!g_ascii_string_to_signed (text, 10, G_MININT64, G_MAXINT64, out_number, &local_error))
    {
      if (g_error_matches (local_error, G_NUMBER_PARSER_ERROR, G_NUMBER_PARSER_ERROR_OUT_OF_BOUNDS))
        return range_error (text, min, max, error);
      return invalid (error, _("\"%s\" is not a number"), text);
    }
  return check_range (text, *out_number, min, max, error);
}

/* Splits @text into leading decimal digits and the rest, a unit name.
 * Returns FALSE when there are no digits or they overflow. */
static gboolean
split_number_and_unit (const char  *text,
                       guint64     *out_digits,
                       const char **out_unit)
{
  const char *unit = text;
  g_autofree char *digits = NULL;

  while (g_ascii_isdigit (*unit))
    unit++;
  *out_unit = unit;
  *out_digits = 0;
  if (unit == text)
    return FALSE;
  digits = g_strndup (text, unit - text);
  return g_ascii_string_to_unsigned (digits, 10, 0, G_MAXINT64, out_digits, NULL);
}

static gboolean
multiply (const char *text,
          guint64     count,
          gint64      factor,
          gint64     *out_value,
          GError    **error)
{
  if (factor > 0 && count > (guint64) (G_MAXINT64 / factor))
    return invalid (error, _("\"%s\" is too large"), text);
  *out_value = (gint64) count * factor;
  return TRUE;
}

static gboolean
parse_size (const char *text,
            gint64     *out_bytes,
            GError    **error)
{
  guint64 count;
  const char *unit;
  gint64 factor;
  gboolean digits_ok = split_number_and_unit (text, &count, &unit);

  switch (g_ascii_toupper (*unit))
    {
    case '\0': factor = 1; break;
    case 'K':  factor = 1024; break;
    case 'M':  factor = 1024 * 1024; break;
    case 'G':  factor = 1024 * 1024 * 1024; break;
    default:   factor = 0; break;
    }
  if (unit == text || factor == 0 || (*unit != '\0' && unit[1] != '\0'))
    return invalid (error, _("\"%s\" is not a size (bytes, with an optional K, M or G suffix)"), text);
  if (!digits_ok)
    return invalid (error, _("\"%s\" is too large"), text);
  return multiply (text, count, factor, out_bytes, error);
}

static const char *
describe_bare_unit (gint64 bare_unit_ms)
{
  switch (bare_unit_ms)
    {
    case 1:             return _("milliseconds");
    case 1000:          return _("seconds");
    case 60 * 1000:     return _("minutes");
    case 3600 * 1000:   return _("hours");
    default:            return _("units");
    }
}

/**
 * wb_config_parse_duration:
 * @text: "250ms", "10s", "5m", "8h", "1d", or a bare non-negative integer
 * @bare_unit_ms: what a bare integer counts, in milliseconds (1000: seconds)
 * @out_ms: (out): the duration in milliseconds
 *
 * Returns: %TRUE on success; otherwise sets a %WB_CONFIG_ERROR_INVALID_VALUE
 * error that quotes @text and says what is expected.
 */
gboolean
wb_config_parse_duration (const char *text,
                          gint64      bare_unit_ms,
                          gint64     *out_ms,
                          GError    **error)
{
  static const struct { const char *name; gint64 ms; } units[] = {
    { "ms", 1 },
    { "s",  1000 },
    { "m",  60 * 1000 },
    { "h",  60 * 60 * 1000 },
    { "d",  24 * 60 * 60 * 1000 },
  };
  guint64 count;
  const char *unit;
  gboolean digits_ok;
  gint64 factor = 0;

  g_return_val_if_fail (text != NULL, FALSE);
  g_return_val_if_fail (bare_unit_ms > 0, FALSE);
  g_return_val_if_fail (out_ms != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  digits_ok = split_number_and_unit (text, &count, &unit);
  if (*unit == '\0')
    factor = bare_unit_ms;
  for (guint i = 0; i < G_N_ELEMENTS (units) && factor == 0; i++)
    {
      if (g_str_equal (unit, units[i].name))
        factor = units[i].ms;
    }
  if (unit == text || factor == 0)
    return invalid (error,
                    _("\"%s\" is not a duration (like 250ms, 10s, 5m, 8h, 1d, or a bare number of %s)"),
                    text, describe_bare_unit (bare_unit_ms));
  if (!digits_ok)
    return invalid (error, _("\"%s\" is too large"), text);
  return multiply (text, count, factor, out_ms, error);
}

static gboolean
parse_address (const char *text,
               GError    **error)
{
  g_autoptr(GInetAddress) address = NULL;

  if (g_str_equal (text, "*") || g_str_equal (text, "localhost"))
    return TRUE;
  address = g_inet_address_new_from_string (text);
  if (address == NULL)
    return invalid (error, _("\"%s\" is not an IP address, localhost or *"), text);
  return TRUE;
}

/* libpq's messages end with a newline and may span lines; ours are one line. */
static char *
one_line (const char *message)
{
  g_autofree char *copy = g_strdup (message != NULL ? message : "");

  g_strdelimit (copy, "\r\n", ' ');
  return g_strdup (g_strstrip (copy));
}

/* libpq's parse errors quote the offending part of the string, and for a
 * URI the whole of it: the password leaks through either, even a stray
 * fragment of it ("?password=ab&cd" names "cd"). So none of libpq's text
 * is passed on: its message is recognized (in English; otherwise only the
 * form is named) and explained in words that hold nothing of the input. */
static const struct
{
  const char *libpq_prefix;
  const char *reason;
} dsn_problems[] = {
  { "unterminated quoted string", N_("a quoted value has no closing quote") },
  { "missing \"=\" after", N_("a keyword has no “=” after it (write keyword=value; quote values with spaces)") },
  { "invalid connection option", N_("it names a connection option libpq does not know "
                                    "(host, port, dbname, user, password, sslmode, …)") },
  { "IPv6 host address may not be empty", N_("the URI has an empty IPv6 host address “[]”") },
  { "end of string reached when looking for matching", N_("the URI has an IPv6 host address without its closing “]”") },
  { "unexpected character", N_("the URI has an unexpected character after the host (expected “:” or “/”)") },
  { "invalid percent-encoded token", N_("the URI has an invalid percent escape (“%” must be followed by two hex digits)") },
  { "forbidden value %00", N_("the URI percent-encodes a NUL byte, which no value may hold") },
  { "missing key/value separator", N_("a URI query parameter has no “=” (write name=value)") },
  { "extra key/value separator", N_("a URI query parameter has more than one “=” (percent-encode it as %3D)") },
  { "invalid URI query parameter", N_("a URI query parameter is not a connection option libpq knows") },
  { "out of memory", N_("out of memory") },
};

static gboolean
is_uri_dsn (const char *text)
{
  return g_str_has_prefix (text, "postgresql://") || g_str_has_prefix (text, "postgres://");
}

static const char *
explain_dsn_problem (const char *text,
                     const char *libpq_message)
{
  for (guint i = 0; libpq_message != NULL && i < G_N_ELEMENTS (dsn_problems); i++)
    if (g_str_has_prefix (libpq_message, dsn_problems[i].libpq_prefix))
      return _(dsn_problems[i].reason);

  return is_uri_dsn (text) ? _("not a postgresql:// URI libpq accepts")
                           : _("not a keyword=value list libpq accepts");
}

static gboolean
parse_dsn (const char *text,
           GError    **error)
{
  PQconninfoOption *options;
  char *libpq_message = NULL;
  const char *reason;

  if (*text == '\0')
    return TRUE;
  options = PQconninfoParse (text, &libpq_message);
  if (options != NULL)
    {
      PQconninfoFree (options);
      return TRUE;
    }
  reason = explain_dsn_problem (text, libpq_message);
  PQfreemem (libpq_message);
  return invalid (error, _("not a valid connection string: %s"), reason);
}

static gboolean
parse_choice (const WbConfigKey *key,
              const char        *text,
              GError           **error)
{
  g_autofree char *choices = NULL;

  if (g_strv_contains (key->choices, text))
    return TRUE;
  choices = g_strjoinv (", ", (char **) key->choices);
  return invalid (error, _("\"%s\" is not one of %s"), text, choices);
}

/* Splits a comma list and trims each item; empty items are the caller's to judge. */
static GStrv
split_list (const char *text)
{
  GStrv items = g_strsplit (text, ",", -1);

  for (guint i = 0; items[i] != NULL; i++)
    g_strstrip (items[i]);
  return items;
}

static gboolean
parse_choice_list (const WbConfigKey *key,
                   const char        *text,
                   char             **out_normalized,
                   GError           **error)
{
  g_auto(GStrv) items = NULL;

  if (*text == '\0')
    return invalid (error, _("must not be empty"));
  items = split_list (text);
  for (guint i = 0; items[i] != NULL; i++)
    {
      if (*items[i] == '\0')
        return invalid (error, _("\"%s\" has an empty item"), text);
      if (!parse_choice (key, items[i], error))
        return FALSE;
    }
  *out_normalized = g_strjoinv (",", items);
  return TRUE;
}

static gboolean
parse_broker (const char *list,
              const char *broker,
              GError    **error)
{
  const char *colon = strrchr (broker, ':');
  const char *host_end = colon;
  gint64 port;

  if (*broker == '\0')
    return invalid (error, _("\"%s\" has an empty item"), list);
  if (broker[0] == '[' && colon != NULL && colon > broker && colon[-1] == ']')
    host_end = colon - 1;  /* [IPv6]:port */
  else if (colon != NULL && memchr (broker, ':', colon - broker) != NULL)
    return invalid (error, _("\"%s\": write an IPv6 broker as [address]:port"), broker);
  if (colon == NULL)
    return invalid (error, _("\"%s\" is not host:port"), broker);
  if (host_end == broker || (broker[0] == '[' && host_end == broker + 1))
    return invalid (error, _("\"%s\" has no host"), broker);
  if (!g_ascii_string_to_signed (colon + 1, 10, 1, 65535, &port, NULL))
    return invalid (error, _("\"%s\" has no port in range 1–65535"), broker);
  return TRUE;
}

static gboolean
parse_brokers (const char *text,
               char      **out_normalized,
               GError    **error)
{
  g_auto(GStrv) items = NULL;

  if (*text == '\0')
    return TRUE;
  items = split_list (text);
  for (guint i = 0; items[i] != NULL; i++)
    {
      if (!parse_broker (text, items[i], error))
        return FALSE;
    }
  *out_normalized = g_strjoinv (",", items);
  return TRUE;
}

static gboolean
parse_url (const char *text,
           GError    **error)
{
  g_autoptr(GUri) uri = NULL;
  const char *scheme;
  const char *host;

  if (*text == '\0')
    return TRUE;
  uri = g_uri_parse (text, G_URI_FLAGS_NONE, NULL);
  if (uri == NULL)
    return invalid (error, _("\"%s\" is not a URL"), text);
  scheme = g_uri_get_scheme (uri);
  if (g_ascii_strcasecmp (scheme, "http") != 0 && g_ascii_strcasecmp (scheme, "https") != 0)
    return invalid (error, _("\"%s\" is not an http or https URL"), text);
  host = g_uri_get_host (uri);
  if (host == NULL || *host == '\0')
    return invalid (error, _("\"%s\" has no host"), text);
  return TRUE;
}

static gboolean
parse_length (const WbConfigKey *key,
              const char        *text,
              GError           **error)
{
  gsize length = strlen (text);

  if (key->type == WB_CONFIG_TYPE_SECRET)
    {
      /* The secret is never quoted, not even in an error. */
      if (length == 0 || length >= (gsize) key->min)
        return TRUE;
      return invalid (error, _("the secret is %zu bytes long; at least %" PRId64 " are required"),
                      (size_t) length, (int64_t) key->min);
    }
  if (length >= (gsize) key->min)
    return TRUE;
  if (length == 0)
    return invalid (error, _("must not be empty"));
  return invalid (error, _("\"%s\" is shorter than %" PRId64 " bytes"), text, (int64_t) key->min);
}

/* Checks @text for @key. On success *out_normalized is the text to store (NULL:
 * @text as is) and *out_number the numeric value of numeric types. */
static gboolean
parse_value (const WbConfigKey *key,
             const char        *text,
             char             **out_normalized,
             gint64            *out_number,
             GError           **error)
{
  *out_normalized = NULL;
  *out_number = 0;

  switch (key->type)
    {
    case WB_CONFIG_TYPE_STRING:
    case WB_CONFIG_TYPE_SECRET:
      return parse_length (key, text, error);
    case WB_CONFIG_TYPE_INT:
      return parse_integer (text, key->min, key->max, out_number, error);
    case WB_CONFIG_TYPE_PORT:
      return parse_integer (text, 0, 65535, out_number, error);
    case WB_CONFIG_TYPE_SIZE:
      return parse_size (text, out_number, error) &&
             check_range (text, *out_number, key->min, key->max, error);
    case WB_CONFIG_TYPE_DURATION:
      return wb_config_parse_duration (text, key->bare_unit_ms > 0 ? key->bare_unit_ms : 1000,
                                       out_number, error) &&
             check_range (text, *out_number, key->min, key->max, error);
    case WB_CONFIG_TYPE_ADDRESS:
      return parse_address (text, error);
    case WB_CONFIG_TYPE_DSN:
      return parse_dsn (text, error);
    case WB_CONFIG_TYPE_PATH:
      return TRUE;
    case WB_CONFIG_TYPE_ENUM:
      return parse_choice (key, text, error);
    case WB_CONFIG_TYPE_CHOICE_LIST:
      return parse_choice_list (key, text, out_normalized, error);
    case WB_CONFIG_TYPE_BROKERS:
      return parse_brokers (text, out_normalized, error);
    case WB_CONFIG_TYPE_URL:
      return parse_url (text, error);
    default:
      g_assert_not_reached ();
    }
}

static gboolean
is_numeric (const WbConfigKey *key)
{
  return key->type == WB_CONFIG_TYPE_INT || key->type == WB_CONFIG_TYPE_PORT ||
         key->type == WB_CONFIG_TYPE_SIZE || key->type == WB_CONFIG_TYPE_DURATION;
}

static gboolean
is_list (const WbConfigKey *key)
{
  return key->type == WB_CONFIG_TYPE_CHOICE_LIST || key->type == WB_CONFIG_TYPE_BROKERS;
}

/* State: one complete set of values */

static void
value_clear (const WbConfigKey *key,
             WbConfigValue     *value)
{
  if (value->text != NULL && key->type == WB_CONFIG_TYPE_SECRET)
    explicit_bzero (value->text, strlen (value->text));
  g_clear_pointer (&value->text, g_free);
  g_clear_pointer (&value->origin, g_free);
}

static void
state_free (WbConfigState *state)
{
  for (guint i = 0; i < wb_config_n_keys; i++)
    value_clear (&wb_config_keys[i], &state->values[i]);
  g_free (state->values);
  g_free (state->file);
  g_free (state);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbConfigState, state_free)

/* Sets key @index from @text, which came from @origin ("SERVER_PORT",
 * "--port", a file path; NULL for the default). */
static gboolean
state_set (WbConfigState  *state,
           guint           index,
           const char     *text,
           WbConfigSource  source,
           const char     *origin,
           GError        **error)
{
  const WbConfigKey *key = &wb_config_keys[index];
  WbConfigValue *value = &state->values[index];
  g_autofree char *trimmed = g_strdup (text);
  char *normalized;
  gint64 number;

  /* Whitespace around a value is a slip, except in a secret, which is used byte for byte. */
  if (key->type != WB_CONFIG_TYPE_SECRET)
    g_strstrip (trimmed);
  if (!parse_value (key, trimmed, &normalized, &number, error))
    {
      g_prefix_error (error, "%s (from %s): ", key->key, origin != NULL ? origin : _("default"));
      if (key->type == WB_CONFIG_TYPE_SECRET)
        explicit_bzero (trimmed, strlen (trimmed));
      return FALSE;
    }
  value_clear (key, value);
  value->text = normalized != NULL ? normalized : g_steal_pointer (&trimmed);
  value->number = number;
  value->source = source;
  value->origin = g_strdup (origin);
  return TRUE;
}

static WbConfigState *
state_new_defaults (void)
{
  WbConfigState *state = g_new0 (WbConfigState, 1);

  state->values = g_new0 (WbConfigValue, wb_config_n_keys);
  for (guint i = 0; i < wb_config_n_keys; i++)
    {
      g_autoptr(GError) error = NULL;

      /* The table is ours: a default that does not parse is a bug, not input. */
      if (!state_set (state, i, wb_config_keys[i].default_value, WB_CONFIG_SOURCE_DEFAULT, NULL, &error))
        g_error ("Invalid default in the configuration table: %s", error->message);
    }
  return state;
}

/* Keyfile */

static gboolean
state_apply_keyfile_group (WbConfigState *state,
                           GKeyFile      *keyfile,
                           const char    *path,
                           const char    *group,
                           GError       **error)
{
  g_auto(GStrv) names = g_key_file_get_keys (keyfile, group, NULL, NULL);

  for (guint n = 0; names != NULL && names[n] != NULL; n++)
    {
      g_autofree char *name = g_strconcat (group, ".", names[n], NULL);
      g_autofree char *text = NULL;
      g_autoptr(GError) local_error = NULL;
      guint index;

      if (find_key (name, &index) == NULL)
        {
          g_autofree char *known = list_group_keys (group);

          g_set_error (error, WB_CONFIG_ERROR, WB_CONFIG_ERROR_UNKNOWN_KEY,
                       _("%s (from %s): unknown key; [%s] has %s"), name, path, group, known);
          return FALSE;
        }
      /* GLib may return text and an error for an invalid escape; the error wins. */
      text = g_key_file_get_string (keyfile, group, names[n], &local_error);
      if (local_error != NULL)
        {
          g_set_error (error, WB_CONFIG_ERROR, WB_CONFIG_ERROR_INVALID_VALUE,
                       "%s (from %s): %s", name, path, local_error->message);
          return FALSE;
        }
      if (!state_set (state, index, text, WB_CONFIG_SOURCE_FILE, path, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
group_is_known (const char *group)
{
  for (guint i = 0; i < wb_config_n_keys; i++)
    {
      if (key_in_group (&wb_config_keys[i], group))
        return TRUE;
    }
  return FALSE;
}

static gboolean
state_apply_keyfile (WbConfigState *state,
                     const char    *path,
                     GError       **error)
{
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();
  g_autoptr(GError) local_error = NULL;
  g_auto(GStrv) groups = NULL;

  /* Translations are kept only so that a "key[locale]" line is reported as an
   * unknown key rather than silently dropped. */
  if (!g_key_file_load_from_file (keyfile, path, G_KEY_FILE_KEEP_TRANSLATIONS, &local_error))
    {
      g_autofree char *message = one_line (local_error->message);

      g_set_error (error, WB_CONFIG_ERROR, WB_CONFIG_ERROR_FILE,
                   local_error->domain == G_KEY_FILE_ERROR ? _("%s: malformed keyfile: %s")
                                                          : _("%s: cannot read: %s"),
                   path, message);
      return FALSE;
    }
  groups = g_key_file_get_groups (keyfile, NULL);
  for (guint g = 0; groups[g] != NULL; g++)
    {
      if (!group_is_known (groups[g]))
        {
          g_autofree char *known = list_groups ();

          g_set_error (error, WB_CONFIG_ERROR, WB_CONFIG_ERROR_UNKNOWN_KEY,
                       _("[%s] (from %s): unknown group; known groups are %s"), groups[g], path, known);
          return FALSE;
        }
      if (!state_apply_keyfile_group (state, keyfile, path, groups[g], error))
        return FALSE;
    }
  state->file = g_strdup (path);
  return TRUE;
}

/* --config wins; otherwise the first default location that exists, if any. */
static const char *
choose_keyfile (WbConfig   *self,
                const char *explicit_path)
{
  if (explicit_path != NULL)
    return explicit_path;
  if (self->user_path != NULL && g_file_test (self->user_path, G_FILE_TEST_EXISTS))
    return self->user_path;
  if (self->system_path != NULL && g_file_test (self->system_path, G_FILE_TEST_EXISTS))
    return self->system_path;
  return NULL;
}

/* Environment */

static gboolean
state_apply_environment (WbConfigState      *state,
                         const char * const *envp,
                         GError            **error)
{
  for (guint i = 0; envp != NULL && i < wb_config_n_keys; i++)
    {
      const char * const *names = wb_config_keys[i].env;

      for (guint n = 0; names != NULL && names[n] != NULL; n++)
        {
          const char *text = g_environ_getenv ((char **) envp, names[n]);

          /* Empty counts as unset: compose files and unit files often
           * pass VAR= for "not configured". */
          if (text == NULL || *text == '\0')
            continue;
          if (!state_set (state, i, text, WB_CONFIG_SOURCE_ENV, names[n], error))
            return FALSE;
          break;
        }
    }
  return TRUE;
}

/* Command line */

typedef struct
{
  char      **values;      /* per key, the last value given; NULL if none */
  char       *config_path;
  GPtrArray  *strings;     /* help texts the option context borrows */
} CommandLine;

static void
command_line_clear (CommandLine *command_line)
{
  for (guint i = 0; command_line->values != NULL && i < wb_config_n_keys; i++)
    g_free (command_line->values[i]);
  g_clear_pointer (&command_line->values, g_free);
  g_clear_pointer (&command_line->config_path, g_free);
  g_clear_pointer (&command_line->strings, g_ptr_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (CommandLine, command_line_clear)

static const char *
describe_argument (const WbConfigKey *key,
                   GPtrArray         *strings)
{
  switch (key->type)
    {
    case WB_CONFIG_TYPE_INT:         return "N";
    case WB_CONFIG_TYPE_PORT:        return "PORT";
    case WB_CONFIG_TYPE_SIZE:        return "SIZE";
    case WB_CONFIG_TYPE_DURATION:    return "DURATION";
    case WB_CONFIG_TYPE_ADDRESS:     return "ADDRESS";
    case WB_CONFIG_TYPE_DSN:         return "DSN";
    case WB_CONFIG_TYPE_PATH:        return "PATH";
    case WB_CONFIG_TYPE_BROKERS:     return "HOST:PORT,...";
    case WB_CONFIG_TYPE_URL:         return "URL";
    case WB_CONFIG_TYPE_STRING:      return "TEXT";
    case WB_CONFIG_TYPE_SECRET:      return "SECRET";
    case WB_CONFIG_TYPE_ENUM:
      g_ptr_array_add (strings, g_strjoinv ("|", (char **) key->choices));
      return g_ptr_array_index (strings, strings->len - 1);
    case WB_CONFIG_TYPE_CHOICE_LIST: return "NAME,...";
    default:
      g_assert_not_reached ();
    }
}

/* "Description (key server.port, env SERVER_PORT, default 8080)" */
static char *
describe_option (const WbConfigKey *key)
{
  g_autoptr(GString) text = g_string_new (_(key->description));

  if (key->type == WB_CONFIG_TYPE_CHOICE_LIST)
    {
      g_autofree char *choices = g_strjoinv (", ", (char **) key->choices);

      g_string_append_printf (text, ": %s", choices);
    }
  g_string_append_printf (text, " (%s %s", _("key"), key->key);
  if (key->env != NULL)
    {
      g_autofree char *names = g_strjoinv (", ", (char **) key->env);

      g_string_append_printf (text, ", %s %s", _("env"), names);
    }
  if (*key->default_value != '\0')
    g_string_append_printf (text, ", %s %s", _("default"), key->default_value);
  g_string_append_c (text, ')');
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static GOptionEntry *
build_option_entries (CommandLine *command_line)
{
  GOptionEntry *entries = g_new0 (GOptionEntry, wb_config_n_keys + 2);
  guint n = 0;

  entries[n++] = (GOptionEntry) {
    "config", 0, 0, G_OPTION_ARG_FILENAME, &command_line->config_path,
    _("Read this keyfile instead of the default ones"), "FILE",
  };
  for (guint i = 0; i < wb_config_n_keys; i++)
    {
      const WbConfigKey *key = &wb_config_keys[i];

      if (key->long_option == NULL)
        continue;
      g_ptr_array_add (command_line->strings, describe_option (key));
      entries[n++] = (GOptionEntry) {
        key->long_option, 0, 0,
        key->type == WB_CONFIG_TYPE_PATH ? G_OPTION_ARG_FILENAME : G_OPTION_ARG_STRING,
        &command_line->values[i],
        g_ptr_array_index (command_line->strings, command_line->strings->len - 1),
        describe_argument (key, command_line->strings),
      };
    }
  return entries;
}

/* The --help epilogue: where settings come from and every key's names. */
static char *
describe_sources (WbConfig *self)
{
  g_autoptr(GString) text = g_string_new (NULL);

  g_string_append_printf (text,
                          _("Settings come from these sources, later ones overriding earlier ones:\n"
                            "  1. a keyfile: --config FILE, else %s if it exists, else %s if it exists\n"
                            "  2. environment variables (empty ones are ignored)\n"
                            "  3. command-line options\n"
                            "Key group.name is written \"name = value\" under \"[group]\" in the keyfile.\n\n"
                            "Keys and environment variables:\n"),
                          self->user_path != NULL ? self->user_path : _("(none)"),
                          self->system_path != NULL ? self->system_path : _("(none)"));
  for (guint i = 0; i < wb_config_n_keys; i++)
    {
      const WbConfigKey *key = &wb_config_keys[i];
      g_autofree char *names = key->env != NULL ? g_strjoinv (", ", (char **) key->env) : g_strdup ("");

      g_string_append_printf (text, "  %-34s %s", key->key, names);
      if (key->long_option == NULL)
        g_string_append_printf (text, " %s", _("(no command-line option, so that it never shows in ps)"));
      /* Keys without a variable would otherwise leave trailing blanks. */
      while (text->str[text->len - 1] == ' ')
        g_string_truncate (text, text->len - 1);
      g_string_append_c (text, '\n');
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static void
set_option_error (GError    **error,
                  GError     *option_error)
{
  WbConfigError code = WB_CONFIG_ERROR_INVALID_VALUE;
  g_autofree char *message = one_line (option_error->message);

  if (g_error_matches (option_error, G_OPTION_ERROR, G_OPTION_ERROR_UNKNOWN_OPTION))
    code = WB_CONFIG_ERROR_UNKNOWN_OPTION;
  g_set_error (error, WB_CONFIG_ERROR, code, _("command line: %s"), message);
}

/* Parses @args, leaving only positional arguments in it and each option's
 * raw text in @command_line; values are checked later, in source order. */
static gboolean
parse_command_line (WbConfig     *self,
                    GStrv        *args,
                    CommandLine  *command_line,
                    GError      **error)
{
  g_autoptr(GOptionContext) context = g_option_context_new (_("[COMMAND]"));
  g_autofree GOptionEntry *entries = NULL;
  g_autofree char *description = describe_sources (self);
  g_autoptr(GError) local_error = NULL;

  command_line->values = g_new0 (char *, wb_config_n_keys);
  command_line->strings = g_ptr_array_new_with_free_func (g_free);
  entries = build_option_entries (command_line);
  g_option_context_add_main_entries (context, entries, NULL);
  for (guint i = 0; i < self->extra_entries->len; i++)
    g_option_context_add_main_entries (context, g_ptr_array_index (self->extra_entries, i), NULL);
  g_option_context_set_summary (context, self->summary);
  g_option_context_set_description (context, description);

  if (!g_option_context_parse_strv (context, args, &local_error))
    {
      set_option_error (error, local_error);
      return FALSE;
    }
  return TRUE;
}

static gboolean
state_apply_command_line (WbConfigState *state,
                          CommandLine   *command_line,
                          GError       **error)
{
  for (guint i = 0; i < wb_config_n_keys; i++)
    {
      g_autofree char *origin = NULL;

      if (command_line->values[i] == NULL)
        continue;
      origin = g_strconcat ("--", wb_config_keys[i].long_option, NULL);
      if (!state_set (state, i, command_line->values[i], WB_CONFIG_SOURCE_COMMAND_LINE, origin, error))
        return FALSE;
    }
  return TRUE;
}

/* WbConfig */

static void
wb_config_finalize (GObject *object)
{
  WbConfig *self = (WbConfig *) object;

  g_clear_pointer (&self->state, state_free);
  g_clear_pointer (&self->user_path, g_free);
  g_clear_pointer (&self->system_path, g_free);
  g_clear_pointer (&self->summary, g_free);
  g_clear_pointer (&self->extra_entries, g_ptr_array_unref);

  G_OBJECT_CLASS (wb_config_parent_class)->finalize (object);
}

static void
wb_config_class_init (WbConfigClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = wb_config_finalize;
}

static void
wb_config_init (WbConfig *self)
{
  self->state = state_new_defaults ();
  self->user_path = g_build_filename (g_get_user_config_dir (), "waybill", "waybilld.conf", NULL);
  self->system_path = g_build_filename (SYSCONFDIR, "waybill", "waybilld.conf", NULL);
  self->extra_entries = g_ptr_array_new ();
}

/**
 * wb_config_new:
 *
 * Returns: (transfer full): a configuration holding every key's default
 */
WbConfig *
wb_config_new (void)
{
  return g_object_new (WB_TYPE_CONFIG, NULL);
}

/**
 * wb_config_set_default_paths:
 * @user_path: (nullable): the user keyfile; %NULL to look for none
 * @system_path: (nullable): the system keyfile; %NULL to look for none
 *
 * Overrides where wb_config_load() looks for a keyfile when no --config is
 * given (by default $XDG_CONFIG_HOME/waybill/waybilld.conf, then
 * SYSCONFDIR/waybill/waybilld.conf). Meant for tests.
 */
void
wb_config_set_default_paths (WbConfig   *self,
                             const char *user_path,
                             const char *system_path)
{
  g_return_if_fail (WB_IS_CONFIG (self));

  g_free (self->user_path);
  self->user_path = g_strdup (user_path);
  g_free (self->system_path);
  self->system_path = g_strdup (system_path);
}

/**
 * wb_config_set_summary:
 * @summary: (nullable): text shown above the options in --help
 */
void
wb_config_set_summary (WbConfig   *self,
                       const char *summary)
{
  g_return_if_fail (WB_IS_CONFIG (self));

  g_free (self->summary);
  self->summary = g_strdup (summary);
}

/**
 * wb_config_add_option_entries:
 * @entries: a %NULL-terminated array, borrowed: it and everything it points
 *   to must stay valid while wb_config_load() runs
 *
 * Adds options (such as a subcommand's) that wb_config_load() parses along
 * with the configuration's own. GLib stores their values as it parses, so
 * they are set even if a configuration value then turns out invalid.
 */
void
wb_config_add_option_entries (WbConfig           *self,
                              const GOptionEntry *entries)
{
  g_return_if_fail (WB_IS_CONFIG (self));
  g_return_if_fail (entries != NULL);

  g_ptr_array_add (self->extra_entries, (gpointer) entries);
}

/**
 * wb_config_load:
 * @argv: (inout) (nullable): the command line; on success it holds argv[0]
 *   and the positional arguments that remain
 * @envp: (nullable): the environment to read, such as g_get_environ()
 *
 * Reads the keyfile, the environment and the command line over the
 * defaults. --help prints the help and exits the process with status 0.
 *
 * Returns: %TRUE on success. On failure @error holds one line naming the
 * key, where its value came from and what is wrong with it, and neither
 * the configuration nor @argv has changed.
 */
gboolean
wb_config_load (WbConfig           *self,
                GStrv              *argv,
                const char * const *envp,
                GError            **error)
{
  g_autoptr(WbConfigState) state = NULL;
  g_auto(CommandLine) command_line = { 0 };
  g_auto(GStrv) args = NULL;
  const char *path;

  g_return_val_if_fail (WB_IS_CONFIG (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  args = argv != NULL && *argv != NULL ? g_strdupv (*argv) : g_new0 (char *, 1);
  if (!parse_command_line (self, &args, &command_line, error))
    return FALSE;

  state = state_new_defaults ();
  path = choose_keyfile (self, command_line.config_path);
  if (path != NULL && !state_apply_keyfile (state, path, error))
    return FALSE;
  if (!state_apply_environment (state, envp, error) ||
      !state_apply_command_line (state, &command_line, error))
    return FALSE;

  g_clear_pointer (&self->state, state_free);
  self->state = g_steal_pointer (&state);
  if (argv != NULL)
    {
      g_strfreev (*argv);
      *argv = g_steal_pointer (&args);
    }
  return TRUE;
}

/* Getters */

static const WbConfigValue *
lookup_value (WbConfig   *self,
              const char *name,
              gboolean    numeric,
              gboolean    list)
{
  guint index;
  const WbConfigKey *key = find_key (name, &index);

  if (key == NULL)
    {
      g_critical ("Unknown configuration key “%s”", name);
      return NULL;
    }
  if ((numeric && !is_numeric (key)) || (list && !is_list (key)))
    {
      g_critical ("Configuration key “%s” is not a %s", name, numeric ? "number" : "list");
      return NULL;
    }
  return &self->state->values[index];
}

/**
 * wb_config_get_string:
 * @key: a key of the table, such as "database.dsn"
 *
 * Returns: the value as text, trimmed; numbers as written ("1M"); lists with
 * their items joined by commas. "" when unset, never %NULL.
 */
const char *
wb_config_get_string (WbConfig   *self,
                      const char *key)
{
  const WbConfigValue *value;

  g_return_val_if_fail (WB_IS_CONFIG (self), "");
  g_return_val_if_fail (key != NULL, "");

  value = lookup_value (self, key, FALSE, FALSE);
  return value != NULL ? value->text : "";
}

/**
 * wb_config_get_int:
 * @key: a numeric key
 *
 * Returns: the value: a number, a port, a size in bytes or a duration in
 * milliseconds
 */
gint64
wb_config_get_int (WbConfig   *self,
                   const char *key)
{
  const WbConfigValue *value;

  g_return_val_if_fail (WB_IS_CONFIG (self), 0);
  g_return_val_if_fail (key != NULL, 0);

  value = lookup_value (self, key, TRUE, FALSE);
  return value != NULL ? value->number : 0;
}

/**
 * wb_config_get_strv:
 * @key: a list key, such as "daemon.roles" or "kafka.brokers"
 *
 * Returns: (transfer full): the items; empty when the value is empty
 */
GStrv
wb_config_get_strv (WbConfig   *self,
                    const char *key)
{
  const WbConfigValue *value;

  g_return_val_if_fail (WB_IS_CONFIG (self), g_new0 (char *, 1));
  g_return_val_if_fail (key != NULL, g_new0 (char *, 1));

  value = lookup_value (self, key, FALSE, TRUE);
  if (value == NULL || *value->text == '\0')
    return g_new0 (char *, 1);
  return g_strsplit (value->text, ",", -1);
}

WbConfigSource
wb_config_get_source (WbConfig   *self,
                      const char *key)
{
  const WbConfigValue *value;

  g_return_val_if_fail (WB_IS_CONFIG (self), WB_CONFIG_SOURCE_DEFAULT);
  g_return_val_if_fail (key != NULL, WB_CONFIG_SOURCE_DEFAULT);

  value = lookup_value (self, key, FALSE, FALSE);
  return value != NULL ? value->source : WB_CONFIG_SOURCE_DEFAULT;
}

/**
 * wb_config_get_origin:
 *
 * Returns: (nullable): where the value came from: an environment variable's
 * name, "--option", or the keyfile's path; %NULL for a default
 */
const char *
wb_config_get_origin (WbConfig   *self,
                      const char *key)
{
  const WbConfigValue *value;

  g_return_val_if_fail (WB_IS_CONFIG (self), NULL);
  g_return_val_if_fail (key != NULL, NULL);

  value = lookup_value (self, key, FALSE, FALSE);
  return value != NULL ? value->origin : NULL;
}

/**
 * wb_config_get_file:
 *
 * Returns: (nullable): the keyfile the last successful load read
 */
const char *
wb_config_get_file (WbConfig *self)
{
  g_return_val_if_fail (WB_IS_CONFIG (self), NULL);

  return self->state->file;
}

/* Describe */

static void
append_dsn_value (GString    *text,
                  const char *value)
{
  if (*value != '\0' && strpbrk (value, " '\\") == NULL)
    {
      g_string_append (text, value);
      return;
    }
  g_string_append_c (text, '\'');
  for (const char *p = value; *p != '\0'; p++)
    {
      if (*p == '\'' || *p == '\\')
        g_string_append_c (text, '\\');
      g_string_append_c (text, *p);
    }
  g_string_append_c (text, '\'');
}

/* Rewrites a DSN in keyword=value form with the password replaced, so the
 * startup log shows where we connect and never with what. */
static char *
mask_dsn (const char *dsn)
{
  g_autoptr(GString) text = g_string_new (NULL);
  PQconninfoOption *options;

  if (*dsn == '\0')
    return g_strdup ("");
  options = PQconninfoParse (dsn, NULL);
  if (options == NULL)
    return g_strdup (DSN_PASSWORD_MASK);
  for (PQconninfoOption *option = options; option->keyword != NULL; option++)
    {
      if (option->val == NULL)
        continue;
      if (text->len > 0)
        g_string_append_c (text, ' ');
      g_string_append_printf (text, "%s=", option->keyword);
      append_dsn_value (text, g_str_equal (option->keyword, "password") ? DSN_PASSWORD_MASK : option->val);
    }
  PQconninfoFree (options);
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static char *
mask_url (const char *url)
{
  g_autoptr(GUri) uri = NULL;

  if (*url == '\0')
    return g_strdup ("");
  uri = g_uri_parse (url, G_URI_FLAGS_HAS_PASSWORD, NULL);
  if (uri == NULL)
    return g_strdup (url);
  return g_uri_to_string_partial (uri, G_URI_HIDE_PASSWORD);
}

static char *
describe_value (const WbConfigKey   *key,
                const WbConfigValue *value)
{
  switch (key->type)
    {
    case WB_CONFIG_TYPE_SECRET:
      return g_strdup (*value->text != '\0' ? _("(set)") : _("(not set)"));
    case WB_CONFIG_TYPE_DSN:
      return mask_dsn (value->text);
    case WB_CONFIG_TYPE_URL:
      return mask_url (value->text);
    default:
      return g_strdup (value->text);
    }
}

/**
 * wb_config_describe:
 *
 * Returns: (transfer full): one "key = value (source)" line per key, for the
 * startup log. Secrets show as "(set)" and passwords in a DSN or URL are
 * masked.
 */
char *
wb_config_describe (WbConfig *self)
{
  g_autoptr(GString) text = g_string_new (NULL);

  g_return_val_if_fail (WB_IS_CONFIG (self), NULL);

  for (guint i = 0; i < wb_config_n_keys; i++)
    {
      const WbConfigValue *value = &self->state->values[i];
      g_autofree char *shown = describe_value (&wb_config_keys[i], value);

      if (value->origin != NULL)
        g_string_append_printf (text, "%s = %s (%s %s)\n", wb_config_keys[i].key, shown, _("from"), value->origin);
      else
        g_string_append_printf (text, "%s = %s (%s)\n", wb_config_keys[i].key, shown, _("default"));
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}
