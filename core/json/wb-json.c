// SPDX-License-Identifier: GPL-3.0-or-later
/* The one way outside JSON gets into Waybill. json-glib's scanner is
 * lenient (comments, 'single quotes', bare words) and recursive (one stack
 * frame per level), so every document is checked here first: size, UTF-8,
 * strict RFC 8259 syntax and depth, in one pass without recursion. Only then
 * does json-glib build the tree. */

#include "config.h"

#include <math.h>
#include <string.h>

#include "wb-json.h"

typedef struct
{
  char  *field;   /* NULL unless WB_JSON_ERROR_FIELD */
  gssize offset;  /* byte offset of a syntax error, -1 otherwise */
} WbJsonErrorPrivate;

static void
wb_json_error_private_init (WbJsonErrorPrivate *priv)
{
  priv->offset = -1;
}

static void
wb_json_error_private_copy (const WbJsonErrorPrivate *src,
                            WbJsonErrorPrivate       *dest)
{
  dest->field = g_strdup (src->field);
  dest->offset = src->offset;
}

static void
wb_json_error_private_clear (WbJsonErrorPrivate *priv)
{
  g_clear_pointer (&priv->field, g_free);
}

G_DEFINE_EXTENDED_ERROR (WbJsonError, wb_json_error)

/**
 * wb_json_error_get_field:
 *
 * Returns: (nullable): the path of the member a %WB_JSON_ERROR_FIELD error
 *   names ("recipient.phone", "items[3].trackNumber"; "" for the document
 *   itself), or %NULL for any other error
 */
const char *
wb_json_error_get_field (const GError *error)
{
  g_return_val_if_fail (error != NULL, NULL);

  if (error->domain != WB_JSON_ERROR)
    return NULL;
  return wb_json_error_get_private (error)->field;
}

/**
 * wb_json_error_get_offset:
 *
 * Returns: the byte offset a syntax error points at, or -1
 */
gssize
wb_json_error_get_offset (const GError *error)
{
  g_return_val_if_fail (error != NULL, -1);

  if (error->domain != WB_JSON_ERROR)
    return -1;
  return wb_json_error_get_private (error)->offset;
}

/**
 * wb_json_set_field_error:
 * @field: the member's path, e.g. "destination.country"; "" for the document
 *
 * Sets a %WB_JSON_ERROR_FIELD error. The message reads "<field>: <problem>"
 * for people; the field travels apart, for wb_json_error_get_field().
 */
void
wb_json_set_field_error (GError    **error,
                         const char *field,
                         const char *format,
                         ...)
{
  g_autofree char *problem = NULL;
  va_list args;

  g_return_if_fail (field != NULL);

  if (error == NULL)
    return;
  va_start (args, format);
  problem = g_strdup_vprintf (format, args);
  va_end (args);
  if (*field == '\0')
    g_set_error_literal (error, WB_JSON_ERROR, WB_JSON_ERROR_FIELD, problem);
  else
    g_set_error (error, WB_JSON_ERROR, WB_JSON_ERROR_FIELD, "%s: %s", field, problem);
  wb_json_error_get_private (*error)->field = g_strdup (field);
}

/**
 * wb_json_set_syntax_error:
 * @text: the document, valid UTF-8 up to @offset
 * @offset: the byte at fault
 *
 * Sets an error whose message ends with the line and column of @offset.
 */
void
wb_json_set_syntax_error (GError    **error,
                          WbJsonError code,
                          const char *text,
                          gsize       offset,
                          const char *format,
                          ...)
{
  g_autofree char *problem = NULL;
  const char *line_start = text;
  guint line = 1;
  va_list args;

  if (error == NULL)
    return;
  for (gsize i = 0; i < offset; i++)
    if (text[i] == '\n')
      {
        line++;
        line_start = text + i + 1;
      }
  va_start (args, format);
  problem = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, WB_JSON_ERROR, code, "%s at line %u, column %ld (byte %" G_GSIZE_FORMAT ")",
               problem, line, g_utf8_pointer_to_offset (line_start, text + offset) + 1, offset);
  wb_json_error_get_private (*error)->offset = offset;
}

/* ---- the strict scan -------------------------------------------------------- */

typedef enum
{
  EXPECT_VALUE,
  EXPECT_VALUE_OR_END,      /* just after '[' */
  EXPECT_NAME,              /* after ',' in an object */
  EXPECT_NAME_OR_END,       /* just after '{' */
  EXPECT_COLON,
  EXPECT_COMMA_OR_END,      /* after a value inside an array or object */
  EXPECT_NOTHING,           /* the top-level value is complete */
} Expect;

typedef struct
{
  const char *text;
  gsize       length;
  gsize       pos;
  GError    **error;
} Scan;

static gboolean
scan_fail (Scan       *scan,
           const char *problem)
{
  wb_json_set_syntax_error (scan->error, WB_JSON_ERROR_SYNTAX, scan->text, scan->pos, "%s", problem);
  return FALSE;
}

static int
hex_value (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Four hex digits at scan->pos, which is left after them. */
static gboolean
scan_hex4 (Scan    *scan,
           guint32 *out)
{
  guint32 value = 0;

  if (scan->length - scan->pos < 4)
    return scan_fail (scan, "“\\u” must be followed by four hex digits");
  for (guint i = 0; i < 4; i++)
    {
      int digit = hex_value (scan->text[scan->pos]);

      if (digit < 0)
        return scan_fail (scan, "“\\u” must be followed by four hex digits");
      value = value << 4 | digit;
      scan->pos++;
    }
  *out = value;
  return TRUE;
}

/* After "\u": a character other than NUL, surrogates only in pairs. */
static gboolean
scan_unicode_escape (Scan *scan)
{
  gsize start = scan->pos - 2;
  guint32 unit, low;

  if (!scan_hex4 (scan, &unit))
    return FALSE;
  if (unit == 0)
    {
      scan->pos = start;
      return scan_fail (scan, "“\\u0000” is not accepted in a string");
    }
  if (unit >= 0xDC00 && unit <= 0xDFFF)
    {
      scan->pos = start;
      return scan_fail (scan, "a low surrogate escape without a high one before it");
    }
  if (unit < 0xD800 || unit > 0xDBFF)
    return TRUE;
  if (scan->length - scan->pos < 2 || scan->text[scan->pos] != '\\' || scan->text[scan->pos + 1] != 'u')
    {
      scan->pos = start;
      return scan_fail (scan, "a high surrogate escape without a low one after it");
    }
  scan->pos += 2;
  if (!scan_hex4 (scan, &low))
    return FALSE;
  if (low < 0xDC00 || low > 0xDFFF)
    {
      scan->pos = start;
      return scan_fail (scan, "a high surrogate escape without a low one after it");
    }
  return TRUE;
}

/* From the opening quote to just after the closing one. */
static gboolean
scan_string (Scan *scan)
{
  gsize start = scan->pos;

  for (scan->pos++; scan->pos < scan->length; scan->pos++)
    {
      guchar c = scan->text[scan->pos];

      if (c == '"')
        {
          scan->pos++;
          return TRUE;
        }
      if (c < 0x20)
        return scan_fail (scan, "a control character must be escaped in a string");
      if (c != '\\')
        continue;
      if (++scan->pos == scan->length)
        break;
      switch (scan->text[scan->pos])
        {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
          break;
        case 'u':
          scan->pos++;
          if (!scan_unicode_escape (scan))
            return FALSE;
          scan->pos--;
          break;
        default:
          scan->pos--;
          return scan_fail (scan, "an unknown escape in a string");
        }
    }
  scan->pos = start;
  return scan_fail (scan, "a string without its closing quote");
}

static gsize
scan_digits (Scan *scan)
{
  gsize start = scan->pos;

  while (scan->pos < scan->length && g_ascii_isdigit (scan->text[scan->pos]))
    scan->pos++;
  return scan->pos - start;
}

/* A number that reads as a finite double: 1e999 is valid syntax that no
 * consumer can hold, and json-glib would turn it into infinity. */
static gboolean
number_is_finite (const char *text,
                  gsize       length)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE * 2];
  g_autofree char *copy = NULL;
  const char *number = buffer;

  if (length < sizeof buffer)
    memcpy (buffer, text, length), buffer[length] = '\0';
  else
    number = copy = g_strndup (text, length);
  return isfinite (g_ascii_strtod (number, NULL));
}

static gboolean
scan_number (Scan *scan)
{
  gsize start = scan->pos;
  gboolean exact = TRUE;
  gsize integer_digits;

  if (scan->text[scan->pos] == '-')
    scan->pos++;
  if (scan->pos < scan->length && scan->text[scan->pos] == '0')
    scan->pos++, integer_digits = 1;
  else if ((integer_digits = scan_digits (scan)) == 0)
    return scan_fail (scan, "a number must have digits");
  if (scan->pos < scan->length && g_ascii_isdigit (scan->text[scan->pos]))
    return scan_fail (scan, "a number must not have leading zeros");
  if (scan->pos < scan->length && scan->text[scan->pos] == '.')
    {
      scan->pos++;
      if (scan_digits (scan) == 0)
        return scan_fail (scan, "a number needs digits after its decimal point");
    }
  if (scan->pos < scan->length && (scan->text[scan->pos] == 'e' || scan->text[scan->pos] == 'E'))
    {
      exact = FALSE;
      scan->pos++;
      if (scan->pos < scan->length && (scan->text[scan->pos] == '+' || scan->text[scan->pos] == '-'))
        scan->pos++;
      if (scan_digits (scan) == 0)
        return scan_fail (scan, "a number needs digits in its exponent");
    }
  if ((!exact || integer_digits > 300) && !number_is_finite (scan->text + start, scan->pos - start))
    {
      scan->pos = start;
      return scan_fail (scan, "a number beyond the range of a double");
    }
  return TRUE;
}

static gboolean
scan_literal (Scan *scan)
{
  static const char * const literals[] = { "true", "false", "null" };

  for (guint i = 0; i < G_N_ELEMENTS (literals); i++)
    {
      gsize n = strlen (literals[i]);

      if (scan->length - scan->pos >= n && memcmp (scan->text + scan->pos, literals[i], n) == 0)
        {
          scan->pos += n;
          return TRUE;
        }
    }
  return scan_fail (scan, "not a JSON value (strings take double quotes; comments are not JSON)");
}

/* One scalar, or the opening of a container (pushed on @stack). */
static gboolean
scan_value (Scan    *scan,
            GString *stack,
            guint    max_depth,
            Expect  *expect)
{
  char c = scan->text[scan->pos];

  switch (c)
    {
    case '{':
    case '[':
      if (stack->len >= max_depth)
        {
          wb_json_set_syntax_error (scan->error, WB_JSON_ERROR_TOO_DEEP, scan->text, scan->pos,
                                    "arrays and objects nest deeper than %u levels", max_depth);
          return FALSE;
        }
      g_string_append_c (stack, c);
      scan->pos++;
      *expect = c == '{' ? EXPECT_NAME_OR_END : EXPECT_VALUE_OR_END;
      return TRUE;
    case '"':
      return scan_string (scan);
    case '-': case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
      return scan_number (scan);
    default:
      return scan_literal (scan);
    }
}

static gboolean
scan_close (Scan    *scan,
            GString *stack,
            char     c)
{
  char open = stack->len > 0 ? stack->str[stack->len - 1] : '\0';

  if ((c != '}' && c != ']') || (c == '}' && open != '{') || (c == ']' && open != '['))
    return scan_fail (scan, open == '{' ? "expected “,” or “}”" : "expected “,” or “]”");
  g_string_truncate (stack, stack->len - 1);
  scan->pos++;
  return TRUE;
}

static gboolean
scan_document (Scan  *scan,
               guint  max_depth)
{
  g_autoptr(GString) stack = g_string_sized_new (MIN (max_depth, 64));
  Expect expect = EXPECT_VALUE;

  for (;;)
    {
      char c;

      while (scan->pos < scan->length && strchr (" \t\n\r", scan->text[scan->pos]) != NULL)
        scan->pos++;
      if (scan->pos == scan->length)
        break;
      c = scan->text[scan->pos];

      switch (expect)
        {
        case EXPECT_VALUE_OR_END:
          if (c == ']')
            {
              expect = EXPECT_COMMA_OR_END;
              if (!scan_close (scan, stack, c))
                return FALSE;
              break;
            }
          G_GNUC_FALLTHROUGH;
        case EXPECT_VALUE:
          expect = EXPECT_COMMA_OR_END;
          if (!scan_value (scan, stack, max_depth, &expect))
            return FALSE;
          break;
        case EXPECT_NAME_OR_END:
          if (c == '}')
            {
              expect = EXPECT_COMMA_OR_END;
              if (!scan_close (scan, stack, c))
                return FALSE;
              break;
            }
          G_GNUC_FALLTHROUGH;
        case EXPECT_NAME:
          if (c != '"')
            return scan_fail (scan, "expected a member name in double quotes");
          if (!scan_string (scan))
            return FALSE;
          expect = EXPECT_COLON;
          break;
        case EXPECT_COLON:
          if (c != ':')
            return scan_fail (scan, "expected “:” after a member name");
          scan->pos++;
          expect = EXPECT_VALUE;
          break;
        case EXPECT_COMMA_OR_END:
          if (c == ',')
            {
              scan->pos++;
              expect = stack->str[stack->len - 1] == '{' ? EXPECT_NAME : EXPECT_VALUE;
            }
          else if (!scan_close (scan, stack, c))
            return FALSE;
          break;
        case EXPECT_NOTHING:
        default:
          return scan_fail (scan, "more after the end of the document");
        }
      if (expect == EXPECT_COMMA_OR_END && stack->len == 0)
        expect = EXPECT_NOTHING;
    }
  if (expect != EXPECT_NOTHING)
    return scan_fail (scan, stack->len == 0 && expect == EXPECT_VALUE ? "the document is empty"
                                                                     : "the document ends too early");
  return TRUE;
}

static const WbJsonLimits default_limits = { WB_JSON_DEFAULT_MAX_SIZE, WB_JSON_DEFAULT_MAX_DEPTH };

/**
 * wb_json_check:
 * @limits: (nullable): %NULL for the defaults
 *
 * Checks that @text is one strict JSON document within @limits: UTF-8
 * without NUL, RFC 8259 syntax, finite numbers, no "\u0000" and no unpaired
 * surrogate escapes.
 *
 * Returns: %TRUE, or %FALSE with a %WB_JSON_ERROR naming the position
 */
gboolean
wb_json_check (const char          *text,
               gsize                length,
               const WbJsonLimits  *limits,
               GError             **error)
{
  Scan scan = { text, length, 0, error };
  const char *valid_end;

  g_return_val_if_fail (text != NULL || length == 0, FALSE);

  if (limits == NULL)
    limits = &default_limits;
  if (length > limits->max_size)
    {
      g_set_error (error, WB_JSON_ERROR, WB_JSON_ERROR_TOO_LARGE,
                   "The document is %" G_GSIZE_FORMAT " bytes, more than the %" G_GSIZE_FORMAT " accepted",
                   length, limits->max_size);
      return FALSE;
    }
  if (!g_utf8_validate_len (text, length, &valid_end))
    {
      wb_json_set_syntax_error (error, WB_JSON_ERROR_SYNTAX, text, valid_end - text,
                                *valid_end == '\0' ? "a NUL byte" : "not valid UTF-8");
      return FALSE;
    }
  return scan_document (&scan, limits->max_depth);
}

/**
 * wb_json_parse:
 * @limits: (nullable): %NULL for the defaults
 *
 * wb_json_check(), then json-glib.
 *
 * Returns: (transfer full): the document's root, or %NULL with a %WB_JSON_ERROR
 */
JsonNode *
wb_json_parse (const char          *text,
               gsize                length,
               const WbJsonLimits  *limits,
               GError             **error)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) local_error = NULL;

  if (!wb_json_check (text, length, limits, error))
    return NULL;

  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, text, length, &local_error))
    {
      /* Only what json-glib holds stricter than RFC 8259 gets here (an
       * integer beyond 64 bits). */
      g_set_error (error, WB_JSON_ERROR, WB_JSON_ERROR_SYNTAX, "not accepted: %s", local_error->message);
      return NULL;
    }
  return json_parser_steal_root (parser);
}

/**
 * wb_json_parse_bytes:
 * @bytes: (nullable): %NULL reads as empty
 *
 * Returns: (transfer full): as wb_json_parse()
 */
JsonNode *
wb_json_parse_bytes (GBytes              *bytes,
                     const WbJsonLimits  *limits,
                     GError             **error)
{
  gsize length = 0;
  const char *text = bytes ? g_bytes_get_data (bytes, &length) : NULL;

  return wb_json_parse (text ? text : "", length, limits, error);
}
