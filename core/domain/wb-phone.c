// SPDX-License-Identifier: GPL-3.0-or-later
/* Phone numbers to E.164 ("+375291234567"), so a recipient is found by phone
 * however the number was typed. The calling codes come from
 * data/calling-codes.tsv, compiled in. */

#include "config.h"

#include <string.h>

#include "wb-domain-private.h"
#include "wb-phone.h"

#define E164_MIN_DIGITS 8
#define E164_MAX_DIGITS 15
/* "375291234567" in Belarus is the international form without its "+":
 * taken as such from this many digits on (see read_international). */
#define BARE_INTERNATIONAL_MIN_DIGITS 11

typedef struct
{
  char  *calling_code;     /* "375" */
  GStrv  trunk_prefixes;   /* {"80"}; empty when the country has none */
} Country;

typedef struct
{
  GHashTable *countries;       /* ISO alpha-2 → Country */
  GHashTable *calling_codes;   /* the set of codes in use */
} CallingCodes;

G_DEFINE_QUARK (wb-phone-error-quark, wb_phone_error)

static const char * const columns[] = { "country", "code", "trunk", "name", NULL };

static char *
add_country (char     **fields,
             guint      line,
             gpointer   user_data)
{
  CallingCodes *codes = user_data;
  gsize code_len = strlen (fields[1]);
  Country *country;

  if (strlen (fields[0]) != 2 || !g_ascii_isupper (fields[0][0]) || !g_ascii_isupper (fields[0][1]))
    return g_strdup_printf ("“%s” is not an ISO 3166-1 alpha-2 code", fields[0]);
  if (code_len < 1 || code_len > 3 || strspn (fields[1], "0123456789") != code_len || fields[1][0] == '0')
    return g_strdup_printf ("“%s” is not a calling code (1 to 3 digits)", fields[1]);
  if (strspn (fields[2], "0123456789,") != strlen (fields[2]))
    return g_strdup_printf ("“%s” is not a list of trunk prefixes", fields[2]);
  if (g_hash_table_contains (codes->countries, fields[0]))
    return g_strdup_printf ("country %s is listed twice", fields[0]);

  country = g_new0 (Country, 1);
  country->calling_code = g_strdup (fields[1]);
  country->trunk_prefixes = *fields[2] ? g_strsplit (fields[2], ",", -1) : g_new0 (char *, 1);
  g_hash_table_insert (codes->countries, g_strdup (fields[0]), country);
  g_hash_table_add (codes->calling_codes, country->calling_code);
  return NULL;
}

/* The table is parsed once and then only read, from any thread. It lives as
 * long as the process. */
static CallingCodes *
calling_codes (void)
{
  static CallingCodes *codes;

  if (g_once_init_enter (&codes))
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) data = _wb_domain_data_lookup ("calling-codes.tsv", &error);
      CallingCodes *parsed = g_new0 (CallingCodes, 1);
      gsize length = 0;
      const char *text = data ? g_bytes_get_data (data, &length) : NULL;

      parsed->countries = g_hash_table_new (g_str_hash, g_str_equal);
      parsed->calling_codes = g_hash_table_new (g_str_hash, g_str_equal);
      /* The file is part of the build and checked by the test suite; a
       * broken one is a packaging error, not bad input. */
      if (data == NULL
          || !_wb_tsv_parse (text ? text : "", length, "calling-codes.tsv", columns, add_country, parsed,
                             WB_PHONE_ERROR, WB_PHONE_ERROR_INVALID, &error))
        g_error ("The compiled-in calling code table is unusable: %s", error->message);
      g_once_init_leave (&codes, parsed);
    }
  return codes;
}

static Country *
lookup_country (const char *iso_alpha2)
{
  char upper[3] = { 0 };

  if (strlen (iso_alpha2) != 2)
    return NULL;
  upper[0] = g_ascii_toupper (iso_alpha2[0]);
  upper[1] = g_ascii_toupper (iso_alpha2[1]);
  return g_hash_table_lookup (calling_codes ()->countries, upper);
}

/**
 * wb_phone_country_calling_code:
 * @country: an ISO 3166-1 alpha-2 code, e.g. "BY"
 *
 * Returns: (nullable): the country's calling code without "+", e.g. "375"
 */
const char *
wb_phone_country_calling_code (const char *country)
{
  Country *found;

  g_return_val_if_fail (country != NULL, NULL);

  found = lookup_country (country);
  return found ? found->calling_code : NULL;
}

static gboolean
calling_code_is_known (const char *digits)
{
  for (gsize len = 1; len <= 3 && digits[len - 1] != '\0'; len++)
    {
      char prefix[4] = { 0 };

      memcpy (prefix, digits, len);
      if (g_hash_table_contains (calling_codes ()->calling_codes, prefix))
        return TRUE;
    }
  return FALSE;
}

/* Keeps the digits; tells whether the number began with '+'. Separators
 * people type (spaces, dots, dashes, parentheses) are dropped; anything else
 * is an error that names the character. */
static GString *
collect_digits (const char  *input,
                gboolean    *out_plus,
                GError     **error)
{
  g_autoptr(GString) digits = g_string_new (NULL);
  const char *p = input;

  if (!g_utf8_validate (input, -1, NULL))
    {
      g_set_error_literal (error, WB_PHONE_ERROR, WB_PHONE_ERROR_INVALID, "The phone number is not UTF-8 text");
      return NULL;
    }
  while (g_ascii_isspace (*p))
    p++;
  *out_plus = *p == '+';
  if (*out_plus)
    p++;
  for (; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      /* "+44 (0)20 …": the bracketed trunk zero is not dialled from abroad. */
      if (digits->len > 0 && g_str_has_prefix (p, "(0)"))
        p += 2;
      else if (g_ascii_isdigit (*p))
        g_string_append_c (digits, *p);
      else if (c != ' ' && c != '.' && c != '-' && c != '(' && c != ')' && c != '\t' && c != 0xA0)
        {
          g_set_error (error, WB_PHONE_ERROR, WB_PHONE_ERROR_INVALID,
                       "The phone number contains “%.*s”; only digits, a leading +, spaces, dots, "
                       "dashes and parentheses are allowed", (int) (g_utf8_next_char (p) - p), p);
          return NULL;
        }
    }
  return g_steal_pointer (&digits);
}

static const char *
trunk_prefix_of (const Country *country,
                 const char    *digits)
{
  for (guint i = 0; country->trunk_prefixes[i] != NULL; i++)
    if (g_str_has_prefix (digits, country->trunk_prefixes[i]))
      return country->trunk_prefixes[i];
  return NULL;
}

/* Whether digits typed without "+" are the international form all the
 * same ("375291234567" in Belarus). Only where a national reading is
 * implausible: the country writes a trunk prefix before national numbers
 * and these digits lack it, they start with its calling code, and they
 * are as long as a whole international number. A national number typed
 * without its prefix that is that long and also starts with the calling
 * code would be misread: a rare case traded for a common one. */
static gboolean
read_international (const Country *country,
                    const char    *digits)
{
  return country->trunk_prefixes[0] != NULL &&
         trunk_prefix_of (country, digits) == NULL &&
         g_str_has_prefix (digits, country->calling_code) &&
         strlen (digits) >= BARE_INTERNATIONAL_MIN_DIGITS;
}

/* A number without "+" or "00" is national: drop the trunk prefix and put
 * the default country's calling code in front, unless it is the
 * international form without its "+". */
static gboolean
nationalize (GString     *digits,
             const char  *default_country,
             GError     **error)
{
  Country *country;
  const char *trunk;

  if (default_country == NULL)
    {
      g_set_error_literal (error, WB_PHONE_ERROR, WB_PHONE_ERROR_INVALID,
                           "The phone number has no country code: start it with + and the country code");
      return FALSE;
    }
  if ((country = lookup_country (default_country)) == NULL)
    {
      g_set_error (error, WB_PHONE_ERROR, WB_PHONE_ERROR_INVALID,
                   "“%s” is not a country with a calling code (ISO 3166-1 alpha-2, e.g. BY)", default_country);
      return FALSE;
    }
  if (read_international (country, digits->str))
    return TRUE;
  if ((trunk = trunk_prefix_of (country, digits->str)) != NULL)
    g_string_erase (digits, 0, strlen (trunk));
  g_string_prepend (digits, country->calling_code);
  return TRUE;
}

static gboolean
check_e164 (const char  *digits,
            GError     **error)
{
  gsize n = strlen (digits);

  if (n < E164_MIN_DIGITS || n > E164_MAX_DIGITS)
    {
      g_set_error (error, WB_PHONE_ERROR, WB_PHONE_ERROR_INVALID,
                   "The phone number has %zu digits with its country code; E.164 numbers have %d to %d",
                   n, E164_MIN_DIGITS, E164_MAX_DIGITS);
      return FALSE;
    }
  if (!calling_code_is_known (digits))
    {
      g_set_error (error, WB_PHONE_ERROR, WB_PHONE_ERROR_INVALID,
                   "The phone number +%s starts with no known country calling code", digits);
      return FALSE;
    }
  return TRUE;
}

/**
 * wb_phone_normalize:
 * @input: a phone number as a person typed it
 * @default_country: (nullable): ISO 3166-1 alpha-2 country for numbers
 *   written without a country code, e.g. "BY" for "8 029 123-45-67"; in a
 *   country with a trunk prefix, 11 digits or more that start with its
 *   calling code ("375291234567") are read as international
 *
 * Returns: (transfer full) (nullable): the E.164 form, e.g. "+375291234567",
 *   or %NULL with a %WB_PHONE_ERROR_INVALID message fit for the client
 */
char *
wb_phone_normalize (const char  *input,
                    const char  *default_country,
                    GError     **error)
{
  g_autoptr(GString) digits = NULL;
  gboolean plus;

  g_return_val_if_fail (input != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if ((digits = collect_digits (input, &plus, error)) == NULL)
    return NULL;
  if (digits->len == 0)
    {
      g_set_error_literal (error, WB_PHONE_ERROR, WB_PHONE_ERROR_INVALID, "The phone number has no digits");
      return NULL;
    }
  if (!plus && g_str_has_prefix (digits->str, "00"))
    g_string_erase (digits, 0, 2);
  else if (!plus && !nationalize (digits, default_country, error))
    return NULL;
  if (!check_e164 (digits->str, error))
    return NULL;
  g_string_prepend_c (digits, '+');
  return g_string_free (g_steal_pointer (&digits), FALSE);
}
