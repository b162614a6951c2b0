// SPDX-License-Identifier: GPL-3.0-or-later
/* Carrier timestamps. Carriers send RFC 3339, ISO 8601 without a zone, SQL
 * style "yyyy-MM-dd HH:mm:ss", or unix seconds or milliseconds. A time
 * without a zone is read in the carrier's configured zone and flagged as
 * guessed, so the event keeps both the instant and how sure we are of it.
 *
 * The parser is strict about ranges (month 13, Feb 30, hour 25 are errors,
 * not silently normalized) because a wrong instant is worse than a refusal. */

#include "config.h"

#include <string.h>

#include "wb-time.h"

#define SECONDS_PER_DAY 86400
/* Unix values at or above this are milliseconds: 1e11 s is the year 5138. */
#define UNIX_MS_THRESHOLD G_GUINT64_CONSTANT (100000000000)
/* 9999-12-31T23:59:59.999Z */
#define UNIX_MS_MAX G_GUINT64_CONSTANT (253402300799999)

G_DEFINE_QUARK (wb-time-error-quark, wb_time_error)

typedef struct
{
  int      year, month, day, hour, minute, second;
  int      microsecond;
  gboolean has_zone;
  int      offset_seconds;     /* east of UTC */
} Fields;

typedef struct
{
  const char *start;
  const char *p;
} Cursor;

/* Division rounding towards minus infinity, for times before 1970. */
static gint64
floor_div (gint64 a,
           gint64 b)
{
  return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* Days since 1970-01-01 of a proleptic Gregorian date: the usual
 * era-of-400-years decomposition. */
static gint64
days_from_civil (int year,
                 int month,
                 int day)
{
  gint64 y = year - (month <= 2);
  gint64 era = (y >= 0 ? y : y - 399) / 400;
  gint64 year_of_era = y - era * 400;
  gint64 day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  gint64 day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;

  return era * 146097 + day_of_era - 719468;
}

static void
civil_from_days (gint64  days,
                 int    *out_year,
                 int    *out_month,
                 int    *out_day)
{
  gint64 z = days + 719468;
  gint64 era = (z >= 0 ? z : z - 146096) / 146097;
  gint64 day_of_era = z - era * 146097;
  gint64 year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  gint64 day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  gint64 mp = (5 * day_of_year + 2) / 153;
  int month = mp < 10 ? mp + 3 : mp - 9;

  *out_day = day_of_year - (153 * mp + 2) / 5 + 1;
  *out_month = month;
  *out_year = year_of_era + era * 400 + (month <= 2);
}

static int
days_in_month (int year,
               int month)
{
  static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
  gboolean leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

  return month == 2 && leap ? 29 : days[month - 1];
}

static gboolean
fail (GError     **error,
      const char  *text,
      const char  *format,
      ...) G_GNUC_PRINTF (3, 4);

static gboolean
fail (GError     **error,
      const char  *text,
      const char  *format,
      ...)
{
  g_autofree char *why = NULL;
  va_list args;

  va_start (args, format);
  why = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, WB_TIME_ERROR, WB_TIME_ERROR_INVALID, "“%s” is not a valid time: %s", text, why);
  return FALSE;
}

/* Reads exactly @n digits. */
static gboolean
read_number (Cursor *cursor,
             int     n,
             int    *out_value)
{
  int value = 0;

  for (int i = 0; i < n; i++)
    {
      if (!g_ascii_isdigit (cursor->p[i]))
        return FALSE;
      value = value * 10 + (cursor->p[i] - '0');
    }
  cursor->p += n;
  *out_value = value;
  return TRUE;
}

static gboolean
read_literal (Cursor     *cursor,
              const char *any_of)
{
  if (*cursor->p == '\0' || strchr (any_of, *cursor->p) == NULL)
    return FALSE;
  cursor->p++;
  return TRUE;
}

static gboolean
expected (GError     **error,
          Cursor      *cursor,
          const char  *what)
{
  if (*cursor->p == '\0')
    return fail (error, cursor->start, "it ends where %s was expected", what);
  return fail (error, cursor->start, "expected %s at position %d, found “%c”", what,
               (int) (cursor->p - cursor->start) + 1, *cursor->p);
}

/* Up to 9 fraction digits are accepted; precision beyond the microsecond
 * is dropped. */
static gboolean
read_fraction (Cursor  *cursor,
               Fields  *fields,
               GError **error)
{
  int n = 0;

  if (!read_literal (cursor, ".,"))
    return TRUE;
  for (; g_ascii_isdigit (*cursor->p); cursor->p++, n++)
    if (n < 6)
      fields->microsecond = fields->microsecond * 10 + (*cursor->p - '0');
  if (n == 0 || n > 9)
    return fail (error, cursor->start, "the fraction of a second needs 1 to 9 digits");
  for (; n < 6; n++)
    fields->microsecond *= 10;
  return TRUE;
}

static gboolean
read_zone (Cursor  *cursor,
           Fields  *fields,
           GError **error)
{
  int sign, hours, minutes = 0;

  if (*cursor->p == '\0')
    return TRUE;
  fields->has_zone = TRUE;
  if (read_literal (cursor, "Zz"))
    return TRUE;
  if (!read_literal (cursor, "+-"))
    return expected (error, cursor, "a zone (Z or ±HH:MM)");
  sign = cursor->p[-1] == '-' ? -1 : 1;
  if (!read_number (cursor, 2, &hours))
    return expected (error, cursor, "the zone's hours (two digits)");
  if (*cursor->p != '\0')
    {
      read_literal (cursor, ":");
      if (!read_number (cursor, 2, &minutes))
        return expected (error, cursor, "the zone's minutes (two digits)");
    }
  if (hours > 23 || minutes > 59)
    return fail (error, cursor->start, "the zone offset %c%02d:%02d is out of range",
                 sign > 0 ? '+' : '-', hours, minutes);
  fields->offset_seconds = sign * (hours * 3600 + minutes * 60);
  return TRUE;
}

static gboolean
read_fields (Cursor  *cursor,
             Fields  *fields,
             GError **error)
{
  if (!read_number (cursor, 4, &fields->year))
    return expected (error, cursor, "a four-digit year");
  if (!read_literal (cursor, "-") || !read_number (cursor, 2, &fields->month))
    return expected (error, cursor, "“-” and a two-digit month");
  if (!read_literal (cursor, "-") || !read_number (cursor, 2, &fields->day))
    return expected (error, cursor, "“-” and a two-digit day");
  if (!read_literal (cursor, "Tt "))
    return expected (error, cursor, "“T” or a space before the time");
  if (!read_number (cursor, 2, &fields->hour))
    return expected (error, cursor, "a two-digit hour");
  if (!read_literal (cursor, ":") || !read_number (cursor, 2, &fields->minute))
    return expected (error, cursor, "“:” and two-digit minutes");
  if (read_literal (cursor, ":") && !read_number (cursor, 2, &fields->second))
    return expected (error, cursor, "two-digit seconds");
  if (!read_fraction (cursor, fields, error))
    return FALSE;
  if (!read_zone (cursor, fields, error))
    return FALSE;
  if (*cursor->p != '\0')
    return expected (error, cursor, "the end of the time");
  return TRUE;
}

static gboolean
check_ranges (const char   *text,
              const Fields *f,
              GError      **error)
{
  if (f->year < 1)
    return fail (error, text, "year %04d is out of range (0001–9999)", f->year);
  if (f->month < 1 || f->month > 12)
    return fail (error, text, "month %d is out of range (1–12)", f->month);
  if (f->day < 1 || f->day > days_in_month (f->year, f->month))
    return fail (error, text, "day %d is out of range for %04d-%02d (1–%d)", f->day, f->year, f->month,
                 days_in_month (f->year, f->month));
  if (f->hour > 23)
    return fail (error, text, "hour %d is out of range (0–23)", f->hour);
  if (f->minute > 59)
    return fail (error, text, "minute %d is out of range (0–59)", f->minute);
  if (f->second > 59)
    return fail (error, text, "second %d is out of range (0–59)", f->second);
  return TRUE;
}

/* The instant, reading the fields at their offset (0 when they have none). */
static gint64
fields_to_unix (const Fields *f)
{
  gint64 seconds = days_from_civil (f->year, f->month, f->day) * SECONDS_PER_DAY
                   + f->hour * 3600 + f->minute * 60 + f->second - f->offset_seconds;

  return seconds * G_USEC_PER_SEC + f->microsecond;
}

static gboolean
parse_unix (const char  *text,
            gint64      *out_us,
            GError     **error)
{
  guint64 value;

  if (strlen (text) > 15 || !g_ascii_string_to_unsigned (text, 10, 0, UNIX_MS_MAX, &value, NULL))
    return fail (error, text, "a unix time must be at most %" G_GUINT64_FORMAT " milliseconds", UNIX_MS_MAX);
  if (value >= UNIX_MS_THRESHOLD)
    *out_us = (gint64) value * 1000;
  else
    *out_us = (gint64) value * G_USEC_PER_SEC;
  return TRUE;
}

static gboolean
local_to_unix (const char   *text,
               const Fields *f,
               const char   *assume_zone,
               gint64       *out_us,
               GError      **error)
{
  g_autoptr(GTimeZone) zone = NULL;
  g_autoptr(GDateTime) local = NULL;

  if (assume_zone == NULL)
    {
      *out_us = fields_to_unix (f);
      return TRUE;
    }
  if ((zone = g_time_zone_new_identifier (assume_zone)) == NULL)
    {
      g_set_error (error, WB_TIME_ERROR, WB_TIME_ERROR_INVALID,
                   "“%s” has no zone, and the assumed zone “%s” is not a known time zone", text, assume_zone);
      return FALSE;
    }
  /* In a DST gap GLib moves the time forward by the gap, the usual reading
   * of a wall-clock time that did not exist. */
  local = g_date_time_new (zone, f->year, f->month, f->day, f->hour, f->minute, f->second);
  if (local == NULL)
    return fail (error, text, "it is out of range in %s", assume_zone);
  *out_us = g_date_time_to_unix (local) * G_USEC_PER_SEC + f->microsecond;
  return TRUE;
}

static gboolean
parse_calendar (const char  *text,
                const char  *assume_zone,
                gint64      *out_us,
                gboolean    *out_zone_guessed,
                GError     **error)
{
  Fields fields = { 0 };
  Cursor cursor = { text, text };

  if (!read_fields (&cursor, &fields, error) || !check_ranges (text, &fields, error))
    return FALSE;
  *out_zone_guessed = !fields.has_zone;
  if (!fields.has_zone)
    return local_to_unix (text, &fields, assume_zone, out_us, error);
  *out_us = fields_to_unix (&fields);
  return TRUE;
}

/**
 * wb_time_parse:
 * @text: a carrier's time stamp
 * @assume_zone: (nullable): IANA zone for times without one, e.g.
 *   "Europe/Minsk"; %NULL for UTC
 * @out_us: (out) (optional): the instant in unix microseconds (UTC)
 * @out_zone_guessed: (out) (optional): whether @text had no zone of its own
 *
 * Returns: %FALSE with a %WB_TIME_ERROR_INVALID message naming the problem
 */
gboolean
wb_time_parse (const char  *text,
               const char  *assume_zone,
               gint64      *out_us,
               gboolean    *out_zone_guessed,
               GError     **error)
{
  g_autofree char *trimmed = NULL;
  gboolean zone_guessed = FALSE;
  gint64 us = 0;

  g_return_val_if_fail (text != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  trimmed = g_strstrip (g_strdup (text));
  if (*trimmed == '\0')
    return fail (error, text, "it is empty");

  /* Unix time is UTC by definition: never a guess. */
  if (strspn (trimmed, "0123456789") == strlen (trimmed))
    {
      if (!parse_unix (trimmed, &us, error))
        return FALSE;
    }
  else if (!parse_calendar (trimmed, assume_zone, &us, &zone_guessed, error))
    return FALSE;

  if (out_us)
    *out_us = us;
  if (out_zone_guessed)
    *out_zone_guessed = zone_guessed;
  return TRUE;
}

/**
 * wb_time_format:
 * @us: unix microseconds
 *
 * Returns: (transfer full): RFC 3339 UTC with milliseconds, the form of
 *   every time in Waybill's JSON: "2026-11-20T10:00:00.000Z"
 */
char *
wb_time_format (gint64 us)
{
  gint64 ms = floor_div (us, 1000);
  gint64 seconds = floor_div (ms, 1000);
  gint64 days = floor_div (seconds, SECONDS_PER_DAY);
  gint64 second_of_day = seconds - days * SECONDS_PER_DAY;
  int year, month, day;

  civil_from_days (days, &year, &month, &day);
  return g_strdup_printf ("%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", year, month, day,
                          (int) (second_of_day / 3600), (int) (second_of_day / 60 % 60),
                          (int) (second_of_day % 60), (int) (ms - seconds * 1000));
}
