// SPDX-License-Identifier: GPL-3.0-or-later
/* A fast path for POST /telemetry bodies. json-glib builds a node per value
 * and a hash table per object before a single field is read, and that was
 * most of the daemon's main thread at 500 positions a request; this scanner
 * reads the common shape straight into WbPosition structs.
 *
 * Its one rule: it answers only when its answer is the reference decoder's,
 * bit for bit. So it takes strict RFC 8259 JSON only (json-glib 1.6 takes
 * more: "01", ".5", "[1] [2]", raw control characters, …), gives up on
 * every error (the reference then finds it and words it), and gives up on
 * whatever it could not reproduce with certainty. The reference's guard
 * holds for every body it accepts: the bytes outside strings are JSON
 * punctuation, literals and numbers (no NUL, no comment, no quote), the
 * strings have no control character and are valid UTF-8 (validity is local,
 * so checking each string is checking the body), and nesting stops at three
 * levels. */

#include "config.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "wb-telemetry-fastjson.h"
#include "wb-telemetry-json.h"
#include "wb-telemetry-private.h"

/* Exact decimal-to-double shortcuts need double arithmetic without excess
 * precision, and 128-bit integers for the rounding proof; elsewhere every
 * fractional number goes through g_ascii_strtod(), which is still exact. */
#if FLT_EVAL_METHOD == 0 && defined (__SIZEOF_INT128__)
#define FAST_NUMBERS 1
#else
#define FAST_NUMBERS 0
#endif

/* The reference decoder's known members, in its order. */
typedef enum
{
  FIELD_DEVICE_ID,
  FIELD_TIMESTAMP,
  FIELD_LAT,
  FIELD_LON,
  FIELD_SPEED,
  FIELD_HEADING,
  FIELD_ALTITUDE,
  FIELD_ACCURACY,
  FIELD_HDOP,
  FIELD_SATELLITES,
  FIELD_IGNITION,
  FIELD_FUEL,
  FIELD_ODOMETER,
  FIELD_BATTERY,
  FIELD_CHARGING,
  FIELD_MOVING,
  FIELD_DRIVER,
  FIELD_ATTRIBUTES,
  N_FIELDS,
} Field;

#define FIELD_UNKNOWN N_FIELDS
#define NAME(text) { text, sizeof text - 1 }

static const struct
{
  const char *name;
  gsize       length;
} fields[N_FIELDS] = {
  NAME ("deviceId"), NAME ("timestamp"), NAME ("lat"), NAME ("lon"), NAME ("speed"), NAME ("heading"),
  NAME ("altitude"), NAME ("accuracy"), NAME ("hdop"), NAME ("satellites"), NAME ("ignition"), NAME ("fuel"),
  NAME ("odometer"), NAME ("battery"), NAME ("charging"), NAME ("moving"), NAME ("driverUniqueId"),
  NAME ("attributes"),
};

typedef enum
{
  SCALAR_NULL,
  SCALAR_BOOLEAN,
  SCALAR_INT,
  SCALAR_DOUBLE,
  SCALAR_STRING,
} ScalarKind;

/* One JSON value that is not an object or an array, typed as json-glib
 * would type it. */
typedef struct
{
  ScalarKind  kind;
  gboolean    boolean;
  gint64      integer;
  double      number;
  const char *string;   /* the scanner's text buffer: valid until the next string */
} Scalar;

typedef struct
{
  const char *cursor;
  const char *end;
  GString    *text;   /* the last string value, unescaped */
  GString    *name;   /* the last unknown member's name */
} Scanner;

/* ---- lexing ------------------------------------------------------------------------------ */

static inline void
skip_space (Scanner *s)
{
  while (s->cursor < s->end
         && (*s->cursor == ' ' || *s->cursor == '\n' || *s->cursor == '\r' || *s->cursor == '\t'))
    s->cursor++;
}

/* White space, then @c if it comes next. */
static inline gboolean
take (Scanner *s,
      char     c)
{
  skip_space (s);
  if (s->cursor < s->end && *s->cursor == c)
    {
      s->cursor++;
      return TRUE;
    }
  return FALSE;
}

/* What may follow a number or a literal in strict JSON; json-glib would
 * read "1x" or "truex" as something else. */
static gboolean
at_delimiter (const Scanner *s)
{
  if (s->cursor == s->end)
    return TRUE;
  switch (*s->cursor)
    {
    case ' ': case '\t': case '\n': case '\r': case ',': case '}': case ']':
      return TRUE;
    default:
      return FALSE;
    }
}

static gboolean
take_literal (Scanner    *s,
              const char *word,
              gsize       length)
{
  if ((gsize) (s->end - s->cursor) < length || memcmp (s->cursor, word, length) != 0)
    return FALSE;
  s->cursor += length;
  return at_delimiter (s);
}

/* The raw bytes between the quotes of the string at the cursor. Control
 * characters, even escaped ones' neighbours, end the fast path: json-glib
 * takes some raw and the reference would still agree, but no tracker sends
 * them and the proof is not worth it. */
static gboolean
scan_string (Scanner     *s,
             const char **out_start,
             gsize       *out_length,
             gboolean    *out_escaped)
{
  const char *start = s->cursor + 1, *p;
  gboolean escaped = FALSE, ascii = TRUE;

  for (p = start; p < s->end && *p != '"'; p++)
    {
      guchar c = *p;

      if (c == '\\')
        {
          escaped = TRUE;
          if (++p == s->end)
            return FALSE;
          c = *p;
        }
      if (c < 0x20)
        return FALSE;
      if (c >= 0x80)
        ascii = FALSE;
    }
  if (p == s->end || (!ascii && !g_utf8_validate_len (start, p - start, NULL)))
    return FALSE;
  *out_start = start;
  *out_length = p - start;
  *out_escaped = escaped;
  s->cursor = p + 1;
  return TRUE;
}

static gboolean
read_hex4 (const char *p,
           gunichar   *out)
{
  gunichar value = 0;

  for (int i = 0; i < 4; i++)
    {
      int digit = g_ascii_xdigit_value (p[i]);

      if (digit < 0)
        return FALSE;
      value = value << 4 | digit;
    }
  *out = value;
  return TRUE;
}

/* The escapes of RFC 8259. json-glib cuts a string at \u0000 and refuses
 * some lone surrogates: those, and surrogate pairs, are left to it. */
static gboolean
unescape (GString    *out,
          const char *p,
          gsize       length)
{
  const char *end = p + length;

  g_string_truncate (out, 0);
  while (p < end)
    {
      const char *backslash = memchr (p, '\\', end - p);
      gunichar c;

      if (backslash == NULL)
        {
          g_string_append_len (out, p, end - p);
          break;
        }
      g_string_append_len (out, p, backslash - p);
      p = backslash + 2;
      switch (backslash[1])
        {
        case '"': case '\\': case '/':
          g_string_append_c (out, backslash[1]);
          break;
        case 'b': g_string_append_c (out, '\b'); break;
        case 'f': g_string_append_c (out, '\f'); break;
        case 'n': g_string_append_c (out, '\n'); break;
        case 'r': g_string_append_c (out, '\r'); break;
        case 't': g_string_append_c (out, '\t'); break;
        case 'u':
          if (end - p < 4 || !read_hex4 (p, &c) || c == 0 || (c >= 0xd800 && c <= 0xdfff))
            return FALSE;
          g_string_append_unichar (out, c);
          p += 4;
          break;
        default:
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
read_string (Scanner *s,
             GString *into)
{
  const char *start;
  gsize length;
  gboolean escaped;

  if (!scan_string (s, &start, &length, &escaped))
    return FALSE;
  if (escaped)
    return unescape (into, start, length);
  g_string_truncate (into, 0);
  g_string_append_len (into, start, length);
  return TRUE;
}

/* A member name, in place: escaped and empty names are left to json-glib. */
static gboolean
read_name (Scanner     *s,
           const char **out_name,
           gsize       *out_length)
{
  gboolean escaped;

  skip_space (s);
  if (s->cursor == s->end || *s->cursor != '"')
    return FALSE;
  return scan_string (s, out_name, out_length, &escaped) && !escaped && *out_length > 0 && take (s, ':');
}

/* ---- numbers ------------------------------------------------------------------------------- */

/* g_ascii_isdigit() goes through a table; this is the hot loop. */
static inline gboolean
is_digit (char c)
{
  return (guchar) (c - '0') < 10;
}

/* 10^0 … 10^22, all exact as doubles. */
static const double double_powers[] = {
  1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
  1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};
#define MAX_EXACT_POWER 22
#define MAX_EXACT_INTEGER G_GUINT64_CONSTANT (9007199254740992)   /* 2^53 */

typedef struct
{
  gboolean negative;
  gboolean fraction;      /* a '.' or an exponent: json-glib makes it a double */
  gboolean long_digits;   /* more significant digits than a guint64 holds */
  guint64  digits;        /* the significant digits, as an integer */
  int      count;         /* how many of them */
  int      power;         /* value = digits × 10^power, unless long_digits */
  const char *text;       /* the number without its sign … */
  gsize    length;        /* … as json-glib hands it to strtod */
} Decimal;

static void
add_digit (Decimal *d,
           char     c)
{
  if (d->digits == 0 && c == '0')
    return;
  if (d->count == 19)
    {
      d->long_digits = TRUE;
      return;
    }
  d->digits = d->digits * 10 + (c - '0');
  d->count++;
}

/* Strict JSON number syntax, into a Decimal. */
static gboolean
scan_number (Scanner *s,
             Decimal *d)
{
  const char *p = s->cursor, *end = s->end;
  int exponent = 0, exponent_sign = 1;

  memset (d, 0, sizeof *d);
  if (p < end && *p == '-')
    d->negative = TRUE, p++;
  d->text = p;
  if (p == end || !is_digit (*p))
    return FALSE;
  if (*p == '0')
    p++;
  else
    for (; p < end && is_digit (*p); p++)
      add_digit (d, *p);
  if (p < end && *p == '.')
    {
      d->fraction = TRUE;
      if (++p == end || !is_digit (*p))
        return FALSE;
      for (; p < end && is_digit (*p); p++)
        {
          add_digit (d, *p);
          d->power--;
        }
    }
  if (p < end && (*p == 'e' || *p == 'E'))
    {
      d->fraction = TRUE;
      if (++p < end && (*p == '+' || *p == '-'))
        exponent_sign = *p++ == '-' ? -1 : 1;
      if (p == end || !is_digit (*p))
        return FALSE;
      /* Saturated: beyond this only g_ascii_strtod() decides. */
      for (; p < end && is_digit (*p); p++)
        exponent = MIN (exponent * 10 + (*p - '0'), 100000);
    }
  d->power += exponent_sign * exponent;
  d->length = p - d->text;
  s->cursor = p;
  return at_delimiter (s);
}

#if FAST_NUMBERS
typedef enum
{
  ROUNDING_NEAREST,
  ROUNDING_WRONG,
  ROUNDING_UNSURE,
} Rounding;

/* 10^n for n up to 22, beyond 64 bits from 10^19 on. */
static unsigned __int128
exact_power_of_ten (int n)
{
  static const guint64 powers[] = {
    G_GUINT64_CONSTANT (1), G_GUINT64_CONSTANT (10), G_GUINT64_CONSTANT (100), G_GUINT64_CONSTANT (1000),
    G_GUINT64_CONSTANT (10000), G_GUINT64_CONSTANT (100000), G_GUINT64_CONSTANT (1000000),
    G_GUINT64_CONSTANT (10000000), G_GUINT64_CONSTANT (100000000), G_GUINT64_CONSTANT (1000000000),
    G_GUINT64_CONSTANT (10000000000), G_GUINT64_CONSTANT (100000000000), G_GUINT64_CONSTANT (1000000000000),
    G_GUINT64_CONSTANT (10000000000000), G_GUINT64_CONSTANT (100000000000000),
    G_GUINT64_CONSTANT (1000000000000000), G_GUINT64_CONSTANT (10000000000000000),
    G_GUINT64_CONSTANT (100000000000000000), G_GUINT64_CONSTANT (1000000000000000000),
  };

  g_assert (n >= 0 && n <= MAX_EXACT_POWER);
  if (n < (int) G_N_ELEMENTS (powers))
    return powers[n];
  return (unsigned __int128) powers[n - 18] * powers[18];
}

/* Whether @candidate is digits / 10^power rounded to nearest, decided in
 * integers. With candidate = m·2^-s (m of 53 bits), it is exactly when
 * |digits/10^power − m·2^-s| < 2^-s/2, that is when
 * |digits·2^(s+1) − 2m·10^power| < 10^power. Both sides stay below 2^128:
 * 2m·10^22 < 2^54·2^73.1, and the shift is bounded below. */
static Rounding
check_quotient (guint64 digits,
                int     power,
                double  candidate)
{
  const guint64 hidden_bit = G_GUINT64_CONSTANT (1) << 52;
  unsigned __int128 ten, scaled, product, difference;
  guint64 bits, m;
  int biased, s;

  memcpy (&bits, &candidate, sizeof bits);
  biased = (bits >> 52) & 0x7ff;
  m = (bits & (hidden_bit - 1)) | hidden_bit;
  s = 1075 - biased;
  /* Negative, subnormal or not finite; or a power of two, where the gap
   * below is half the gap above; or too large a shift. */
  if (bits >> 63 || biased == 0 || biased == 0x7ff || m == hidden_bit || s < 1
      || (64 - __builtin_clzll (digits)) + s + 1 > 127)
    return ROUNDING_UNSURE;
  ten = exact_power_of_ten (power);
  scaled = (unsigned __int128) digits << (s + 1);
  product = (unsigned __int128) m * ten * 2;
  difference = scaled > product ? scaled - product : product - scaled;
  if (difference < ten)
    return ROUNDING_NEAREST;
  /* A tie: round-half-even is strtod's business. */
  return difference == ten ? ROUNDING_UNSURE : ROUNDING_WRONG;
}

/* digits × 10^power rounded to nearest without strtod, when that can be
 * shown: Clinger's fast path (both operands exact, one IEEE operation) for
 * up to 2^53, else a quotient within two ulps whose rounding is checked. */
static gboolean
exact_decimal (const Decimal *d,
               double        *out)
{
  double quotient;

  if (d->long_digits || d->power < -MAX_EXACT_POWER || d->power > MAX_EXACT_POWER)
    return FALSE;
  if (d->digits <= MAX_EXACT_INTEGER)
    {
      *out = d->power < 0 ? (double) d->digits / double_powers[-d->power]
                          : (double) d->digits * double_powers[d->power];
      return TRUE;
    }
  if (d->power >= 0)
    return FALSE;
  quotient = (double) d->digits / double_powers[-d->power];
  for (int attempt = 0; attempt < 3; attempt++)
    {
      double candidate = attempt == 0 ? quotient : nextafter (quotient, attempt == 1 ? INFINITY : -INFINITY);

      switch (check_quotient (d->digits, -d->power, candidate))
        {
        case ROUNDING_NEAREST:
          *out = candidate;
          return TRUE;
        case ROUNDING_UNSURE:
          return FALSE;
        case ROUNDING_WRONG:
        default:
          break;
        }
    }
  return FALSE;
}
#else
static gboolean
exact_decimal (const Decimal *d,
               double        *out)
{
  return FALSE;
}
#endif

/* What json-glib 1.6 makes of it: strtod of the digits, negated after. */
static gboolean
decimal_to_double (const Decimal *d,
                   double        *out)
{
  char buffer[64];
  char *end = NULL;
  double value;

  if (!d->long_digits && d->digits == 0)
    value = 0;
  else if (!exact_decimal (d, &value))
    {
      if (d->length >= sizeof buffer)
        return FALSE;
      memcpy (buffer, d->text, d->length);
      buffer[d->length] = '\0';
      value = g_ascii_strtod (buffer, &end);
      if (*end != '\0')
        return FALSE;
    }
  /* Infinity, and underflow to zero or to a subnormal, are errors or near
   * them (ERANGE): the reference may see them differently. */
  if (fpclassify (value) != FP_NORMAL && !(value == 0 && !d->long_digits && d->digits == 0))
    return FALSE;
  *out = d->negative ? -value : value;
  return TRUE;
}

static gboolean
read_number (Scanner *s,
             Scalar  *out)
{
  Decimal d;

  if (!scan_number (s, &d))
    return FALSE;
  if (d.fraction)
    {
      out->kind = SCALAR_DOUBLE;
      return decimal_to_double (&d, &out->number);
    }
  /* Integers wider than 18 digits wrap in json-glib's scanner. */
  if (d.long_digits || d.count > 18)
    return FALSE;
  out->kind = SCALAR_INT;
  out->integer = d.negative ? -(gint64) d.digits : (gint64) d.digits;
  return TRUE;
}

/* ---- values -------------------------------------------------------------------------------- */

/* A string, number, literal or null; objects and arrays are not scalars. */
static gboolean
read_scalar (Scanner *s,
             Scalar  *out)
{
  skip_space (s);
  if (s->cursor == s->end)
    return FALSE;
  switch (*s->cursor)
    {
    case '"':
      if (!read_string (s, s->text))
        return FALSE;
      out->kind = SCALAR_STRING;
      out->string = s->text->str;
      return TRUE;
    case 't':
      out->kind = SCALAR_BOOLEAN;
      out->boolean = TRUE;
      return take_literal (s, "true", 4);
    case 'f':
      out->kind = SCALAR_BOOLEAN;
      out->boolean = FALSE;
      return take_literal (s, "false", 5);
    case 'n':
      out->kind = SCALAR_NULL;
      return take_literal (s, "null", 4);
    default:
      return read_number (s, out);
    }
}

static JsonNode *
scalar_to_node (const Scalar *value)
{
  switch (value->kind)
    {
    case SCALAR_BOOLEAN:
      return json_node_init_boolean (json_node_alloc (), value->boolean);
    case SCALAR_INT:
      return json_node_init_int (json_node_alloc (), value->integer);
    case SCALAR_DOUBLE:
      return json_node_init_double (json_node_alloc (), value->number);
    case SCALAR_STRING:
      return json_node_init_string (json_node_alloc (), value->string);
    case SCALAR_NULL:
    default:
      return json_node_new (JSON_NODE_NULL);
    }
}

/* name: scalar, into @object; a member seen twice goes to json-glib. */
static gboolean
read_member_into (Scanner    *s,
                  JsonObject *object,
                  const char *name,
                  gsize       length)
{
  Scalar value;

  g_string_truncate (s->name, 0);
  g_string_append_len (s->name, name, length);
  if (!read_scalar (s, &value) || json_object_has_member (object, s->name->str))
    return FALSE;
  json_object_set_member (object, s->name->str, scalar_to_node (&value));
  return TRUE;
}

/* A flat "attributes" object, or null. */
static gboolean
read_attributes (Scanner     *s,
                 JsonObject **out)
{
  g_autoptr(JsonObject) attributes = NULL;
  const char *name;
  gsize length;

  skip_space (s);
  if (s->cursor < s->end && *s->cursor == 'n')
    return take_literal (s, "null", 4);
  if (!take (s, '{'))
    return FALSE;
  attributes = json_object_new ();
  if (!take (s, '}'))
    {
      do
        if (!read_name (s, &name, &length) || !read_member_into (s, attributes, name, length))
          return FALSE;
      while (take (s, ','));
      if (!take (s, '}'))
        return FALSE;
    }
  *out = g_steal_pointer (&attributes);
  return TRUE;
}

/* ---- fields, as the reference reads them --------------------------------------------------- */

/* A finite number within [min, max], NAN bounds open. */
static gboolean
number_in (const Scalar *value,
           double        min,
           double        max,
           double       *out)
{
  double number;

  if (value->kind == SCALAR_INT)
    number = value->integer;
  else if (value->kind == SCALAR_DOUBLE)
    number = value->number;
  else
    return FALSE;
  if (!isfinite (number) || (!isnan (min) && number < min) || (!isnan (max) && number > max))
    return FALSE;
  *out = number;
  return TRUE;
}

static gboolean
boolean_of (const Scalar *value,
            int          *out)
{
  if (value->kind != SCALAR_BOOLEAN)
    return FALSE;
  *out = value->boolean ? 1 : 0;
  return TRUE;
}

static gboolean
set_device_id (WbPosition   *p,
               const Scalar *value)
{
  g_autofree char *id = NULL;

  if (value->kind == SCALAR_STRING)
    id = g_strdup (value->string);
  else if (value->kind == SCALAR_INT && value->integer >= 0)
    id = g_strdup_printf ("%" G_GINT64_FORMAT, value->integer);
  else
    return FALSE;
  if (!_wb_device_id_check (id, "deviceId", NULL))
    return FALSE;
  if (*id != '\0')
    p->device_id = g_steal_pointer (&id);
  return TRUE;
}

static gboolean
set_timestamp (WbPosition   *p,
               const Scalar *value)
{
  double ms;

  if (value->kind == SCALAR_STRING)
    return _wb_telemetry_parse_time (value->string, "timestamp", &p->device_time, NULL);
  if (value->kind == SCALAR_INT)
    ms = (double) value->integer;
  else if (value->kind == SCALAR_DOUBLE)
    ms = floor (value->number);
  else
    return FALSE;
  if (!(ms >= 0 && ms <= WB_TELEMETRY_MAX_UNIX_MS))
    return FALSE;
  p->device_time = (gint64) ms * 1000;
  return TRUE;
}

static gboolean
set_satellites (WbPosition   *p,
                const Scalar *value)
{
  double count;

  if (!number_in (value, 0, 255, &count) || count != floor (count))
    return FALSE;
  p->satellites = (int) count;
  return TRUE;
}

static gboolean
set_driver (WbPosition   *p,
            const Scalar *value)
{
  if (value->kind != SCALAR_STRING)
    return FALSE;
  if (*value->string != '\0')
    p->driver_unique_id = g_strdup (value->string);
  return TRUE;
}

/* Null is absent, as in the reference. */
static gboolean
set_field (WbPosition   *p,
           Field         field,
           const Scalar *value)
{
  if (value->kind == SCALAR_NULL)
    return TRUE;
  switch (field)
    {
    case FIELD_DEVICE_ID:  return set_device_id (p, value);
    case FIELD_TIMESTAMP:  return set_timestamp (p, value);
    case FIELD_LAT:        return number_in (value, NAN, NAN, &p->lat);
    case FIELD_LON:        return number_in (value, NAN, NAN, &p->lon);
    case FIELD_SPEED:      return number_in (value, 0, NAN, &p->speed_kmh);
    case FIELD_HEADING:    return number_in (value, 0, 360, &p->heading);
    case FIELD_ALTITUDE:   return number_in (value, NAN, NAN, &p->altitude);
    case FIELD_ACCURACY:   return number_in (value, 0, NAN, &p->accuracy);
    case FIELD_HDOP:       return number_in (value, 0, NAN, &p->hdop);
    case FIELD_SATELLITES: return set_satellites (p, value);
    case FIELD_IGNITION:   return boolean_of (value, &p->ignition);
    case FIELD_FUEL:       return number_in (value, 0, NAN, &p->fuel);
    case FIELD_ODOMETER:   return number_in (value, 0, NAN, &p->odometer);
    case FIELD_BATTERY:    return number_in (value, 0, 100, &p->battery);
    case FIELD_CHARGING:   return boolean_of (value, &p->charging);
    case FIELD_MOVING:     return boolean_of (value, &p->moving);
    case FIELD_DRIVER:     return set_driver (p, value);
    case FIELD_ATTRIBUTES:
    case N_FIELDS:
    default:
      g_assert_not_reached ();
    }
  return FALSE;
}

static Field
find_field (const char *name,
            gsize       length)
{
  for (guint i = 0; i < N_FIELDS; i++)
    if (fields[i].length == length && fields[i].name[0] == name[0] && memcmp (fields[i].name, name, length) == 0)
      return i;
  return FIELD_UNKNOWN;
}

/* One member of a position; unknown members go to the attributes as the
 * reference puts them, in order, before the "attributes" object's. */
static gboolean
read_position_member (Scanner     *s,
                      WbPosition  *p,
                      guint32     *seen,
                      JsonObject **attributes)
{
  const char *name;
  gsize length;
  Field field;
  Scalar value;

  if (!read_name (s, &name, &length))
    return FALSE;
  field = find_field (name, length);
  if (field == FIELD_UNKNOWN)
    return read_member_into (s, wb_position_ensure_attributes (p), name, length);
  if (*seen & (1u << field))
    return FALSE;
  *seen |= 1u << field;
  if (field == FIELD_ATTRIBUTES)
    return read_attributes (s, attributes);
  return read_scalar (s, &value) && set_field (p, field, &value);
}

static WbPosition *
read_position (Scanner *s)
{
  g_autoptr(WbPosition) p = wb_position_new ();
  g_autoptr(JsonObject) attributes = NULL;
  guint32 seen = 0;

  if (!take (s, '{'))
    return NULL;
  if (!take (s, '}'))
    {
      do
        if (!read_position_member (s, p, &seen, &attributes))
          return NULL;
      while (take (s, ','));
      if (!take (s, '}'))
        return NULL;
    }
  /* "attributes" wins a clash, as json_object_set_member() makes it win
   * in the reference. */
  if (attributes != NULL)
    wb_position_merge_attributes (p, attributes);
  p->protocol = WB_PROTOCOL_JSON;
  return g_steal_pointer (&p);
}

static gboolean
read_batch (Scanner   *s,
            GPtrArray *positions)
{
  do
    {
      WbPosition *position = read_position (s);

      if (position == NULL)
        return FALSE;
      g_ptr_array_add (positions, position);
      if (positions->len > WB_TELEMETRY_JSON_MAX_BATCH)
        return FALSE;
    }
  while (take (s, ','));
  return take (s, ']');
}

GPtrArray *
_wb_telemetry_fastjson_decode (const char *body,
                               gsize       length)
{
  g_autoptr(GPtrArray) positions = NULL;
  g_autoptr(GString) text = NULL;
  g_autoptr(GString) name = NULL;
  Scanner s;

  if (body == NULL || length == 0 || length > WB_TELEMETRY_MAX_BODY)
    return NULL;
  text = g_string_sized_new (64);
  name = g_string_sized_new (32);
  s = (Scanner) { .cursor = body, .end = body + length, .text = text, .name = name };
  positions = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_position_unref);
  if (take (&s, '['))
    {
      if (!read_batch (&s, positions))
        return NULL;
    }
  else
    {
      WbPosition *position = read_position (&s);

      if (position == NULL)
        return NULL;
      g_ptr_array_add (positions, position);
    }
  /* json-glib ignores what follows the root ("[1] [2]"); strict JSON does not. */
  skip_space (&s);
  return s.cursor == s.end ? g_steal_pointer (&positions) : NULL;
}

/* ---- comparison, for the differential tests --------------------------------------------- */

static gboolean
same_bits (double a,
           double b)
{
  return memcmp (&a, &b, sizeof a) == 0;
}

static gboolean nodes_identical (JsonNode *a,
                                 JsonNode *b);

static gboolean
objects_identical (JsonObject *a,
                   JsonObject *b)
{
  JsonObjectIter iter_a, iter_b;
  const char *name_a, *name_b;
  JsonNode *node_a, *node_b;

  if (json_object_get_size (a) != json_object_get_size (b))
    return FALSE;
  json_object_iter_init_ordered (&iter_a, a);
  json_object_iter_init_ordered (&iter_b, b);
  while (json_object_iter_next_ordered (&iter_a, &name_a, &node_a))
    if (!json_object_iter_next_ordered (&iter_b, &name_b, &node_b)
        || strcmp (name_a, name_b) != 0 || !nodes_identical (node_a, node_b))
      return FALSE;
  return TRUE;
}

static gboolean
values_identical (JsonNode *a,
                  JsonNode *b)
{
  GType type = json_node_get_value_type (a);

  if (type != json_node_get_value_type (b))
    return FALSE;
  if (type == G_TYPE_INT64)
    return json_node_get_int (a) == json_node_get_int (b);
  if (type == G_TYPE_DOUBLE)
    return same_bits (json_node_get_double (a), json_node_get_double (b));
  if (type == G_TYPE_BOOLEAN)
    return json_node_get_boolean (a) == json_node_get_boolean (b);
  if (type == G_TYPE_STRING)
    return g_strcmp0 (json_node_get_string (a), json_node_get_string (b)) == 0;
  return FALSE;
}

static gboolean
nodes_identical (JsonNode *a,
                 JsonNode *b)
{
  if (JSON_NODE_TYPE (a) != JSON_NODE_TYPE (b))
    return FALSE;
  switch (JSON_NODE_TYPE (a))
    {
    case JSON_NODE_OBJECT:
      return objects_identical (json_node_get_object (a), json_node_get_object (b));
    case JSON_NODE_ARRAY:
      {
        JsonArray *array_a = json_node_get_array (a), *array_b = json_node_get_array (b);
        guint length = json_array_get_length (array_a);

        if (length != json_array_get_length (array_b))
          return FALSE;
        for (guint i = 0; i < length; i++)
          if (!nodes_identical (json_array_get_element (array_a, i), json_array_get_element (array_b, i)))
            return FALSE;
        return TRUE;
      }
    case JSON_NODE_VALUE:
      return values_identical (a, b);
    case JSON_NODE_NULL:
    default:
      return TRUE;
    }
}

/* Strict: both decoders leave out the attributes in the same cases. */
static gboolean
attributes_identical (JsonObject *a,
                      JsonObject *b)
{
  if (a == NULL || b == NULL)
    return a == b;
  return objects_identical (a, b);
}

gboolean
_wb_telemetry_position_identical (const WbPosition *a,
                                  const WbPosition *b)
{
  g_return_val_if_fail (a != NULL && b != NULL, FALSE);

  return _wb_position_fields_equal (a, b, same_bits)
         && g_strcmp0 (a->attributes_json, b->attributes_json) == 0
         && attributes_identical (a->attributes, b->attributes);
}
