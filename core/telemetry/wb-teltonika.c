// SPDX-License-Identifier: GPL-3.0-or-later
/* Teltonika Codec 8 / 8 Extended, from Teltonika's "Data Sending
 * Protocols" documentation. Every length read from the wire is checked
 * against what is left before it is used; the CRC is checked (Traccar does
 * not), so a corrupted frame is refused instead of decoded into nonsense. */

#include "config.h"

#include <math.h>

#include "wb-teltonika.h"
#include "wb-telemetry-private.h"

/* Codec id, record count, record count. */
#define DATA_MIN_LENGTH 3

typedef struct
{
  const guint8 *data;
  gsize         length;
  gsize         offset;
} Reader;

static guint64
read_be (const guint8 *p,
         guint         size)
{
  guint64 value = 0;

  for (guint i = 0; i < size; i++)
    value = value << 8 | p[i];
  return value;
}

static gboolean
take (Reader        *r,
      gsize          size,
      const guint8 **out)
{
  if (r->length - r->offset < size)
    return FALSE;
  *out = r->data + r->offset;
  r->offset += size;
  return TRUE;
}

static gboolean
read_uint (Reader  *r,
           guint    size,
           guint64 *out)
{
  const guint8 *p;

  if (!take (r, size, &p))
    return FALSE;
  *out = read_be (p, size);
  return TRUE;
}

static WbTeltonikaResult
fail (GError     **error,
      int          code,
      const char  *format,
      ...) G_GNUC_PRINTF (3, 4);

static WbTeltonikaResult
fail (GError     **error,
      int          code,
      const char  *format,
      ...)
{
  va_list args;

  va_start (args, format);
  g_propagate_error (error, g_error_new_valist (WB_TELEMETRY_ERROR, code, format, args));
  va_end (args);
  return WB_TELTONIKA_ERROR;
}

static gboolean
overrun (GError     **error,
         guint        record,
         const char  *what)
{
  fail (error, WB_TELEMETRY_ERROR_MALFORMED, "Record %u: the %s runs past the end of the data", record + 1, what);
  return FALSE;
}

guint16
wb_teltonika_crc16 (const guint8 *data,
                    gsize         length)
{
  guint16 crc = 0;

  g_return_val_if_fail (data != NULL || length == 0, 0);

  for (gsize i = 0; i < length; i++)
    {
      crc ^= data[i];
      for (int bit = 0; bit < 8; bit++)
        crc = (crc & 1) ? (crc >> 1) ^ 0xA001 : crc >> 1;
    }
  return crc;
}

void
wb_teltonika_ack (guint32 accepted,
                  guint8  out[4])
{
  g_return_if_fail (out != NULL);

  out[0] = accepted >> 24;
  out[1] = accepted >> 16;
  out[2] = accepted >> 8;
  out[3] = accepted;
}

/* ---- the handshake --------------------------------------------------------- */

WbTeltonikaResult
wb_teltonika_parse_imei (const guint8  *data,
                         gsize          length,
                         gsize         *out_consumed,
                         char         **out_imei,
                         GError       **error)
{
  guint imei_length;

  g_return_val_if_fail (data != NULL || length == 0, WB_TELTONIKA_ERROR);
  g_return_val_if_fail (out_consumed != NULL && out_imei != NULL, WB_TELTONIKA_ERROR);
  g_return_val_if_fail (error == NULL || *error == NULL, WB_TELTONIKA_ERROR);

  *out_consumed = 0;
  *out_imei = NULL;
  if (length < 2)
    return WB_TELTONIKA_NEED_MORE;
  imei_length = read_be (data, 2);
  if (imei_length != WB_TELTONIKA_IMEI_LENGTH)
    return fail (error, WB_TELEMETRY_ERROR_MALFORMED, "Handshake: the IMEI length is %u, expected %d",
                 imei_length, WB_TELTONIKA_IMEI_LENGTH);
  if (length < 2 + imei_length)
    return WB_TELTONIKA_NEED_MORE;
  for (guint i = 0; i < imei_length; i++)
    if (!g_ascii_isdigit (data[2 + i]))
      return fail (error, WB_TELEMETRY_ERROR_MALFORMED, "Handshake: IMEI character %u is 0x%02x, not a digit",
                   i + 1, data[2 + i]);
  *out_imei = g_strndup ((const char *) data + 2, imei_length);
  *out_consumed = 2 + imei_length;
  return WB_TELTONIKA_OK;
}

/* ---- records ------------------------------------------------------------------ */

/* "io<id>" into @name (at least 8 bytes): a record has a dozen of them,
 * and printf would be most of the cost of decoding one. */
static const char *
io_name (char  name[8],
         guint id)
{
  char digits[5];
  guint n = 0, at = 2;

  g_assert (id <= G_MAXUINT16);
  name[0] = 'i';
  name[1] = 'o';
  do
    digits[n++] = '0' + id % 10;
  while ((id /= 10) > 0);
  while (n > 0)
    name[at++] = digits[--n];
  name[at] = '\0';
  return name;
}

static void
append_hex (GString      *out,
            const guint8 *bytes,
            gsize         size)
{
  static const char digits[] = "0123456789abcdef";

  for (gsize i = 0; i < size; i++)
    {
      g_string_append_c (out, digits[bytes[i] >> 4]);
      g_string_append_c (out, digits[bytes[i] & 0xf]);
    }
}

/* A record's attributes, written as JSON text as they are read: a
 * JsonObject costs more than all the rest of a record. A name that comes
 * twice (a device repeating an IO id) turns the text into an object, where
 * the later value wins, as it would have from the start. */
#define ATTRIBUTES_TRACKED 64

typedef struct
{
  WbPosition *p;
  GString    *json;                       /* "{…" while text, then NULL */
  guint32     seen[ATTRIBUTES_TRACKED];   /* names written: an IO id, or a named one's code */
  guint       n_seen;
} Attributes;

enum { NAME_PRIORITY = 1 << 16, NAME_EVENT_IO, NAME_EXTERNAL_VOLTAGE, NAME_BATTERY_VOLTAGE, NAME_GSM_SIGNAL };

static void
attributes_init (Attributes *a,
                 WbPosition *p)
{
  a->p = p;
  a->json = g_string_sized_new (256);
  g_string_append_c (a->json, '{');
  a->n_seen = 0;
}

/* The text, closed, becomes the position's. */
static void
attributes_finish (Attributes *a)
{
  if (a->json == NULL)
    return;
  g_string_append_c (a->json, '}');
  a->p->attributes_json = g_string_free (g_steal_pointer (&a->json), FALSE);
}

/* The object from here on, with what was written so far. */
static JsonObject *
attributes_as_object (Attributes *a)
{
  attributes_finish (a);
  return wb_position_ensure_attributes (a->p);
}

/* Returns: whether @name goes on as text, its name written */
static gboolean
attributes_begin (Attributes *a,
                  guint32     code,
                  const char *name)
{
  if (a->json == NULL)
    return FALSE;
  for (guint i = 0; i < a->n_seen; i++)
    if (a->seen[i] == code)
      {
        attributes_as_object (a);
        return FALSE;
      }
  if (a->n_seen == ATTRIBUTES_TRACKED)
    {
      attributes_as_object (a);
      return FALSE;
    }
  a->seen[a->n_seen++] = code;
  if (a->json->len > 1)
    g_string_append_c (a->json, ',');
  wb_json_write_string (a->json, name);
  g_string_append_c (a->json, ':');
  return TRUE;
}

static void
attributes_add_int (Attributes *a,
                    guint32     code,
                    const char *name,
                    gint64      value)
{
  if (attributes_begin (a, code, name))
    wb_json_write_int (a->json, value);
  else
    json_object_set_int_member (attributes_as_object (a), name, value);
}

static void
attributes_add_double (Attributes *a,
                       guint32     code,
                       const char *name,
                       double      value)
{
  if (attributes_begin (a, code, name))
    wb_json_write_double (a->json, value);
  else
    json_object_set_double_member (attributes_as_object (a), name, value);
}

/* @hex: lower-case hex digits, nothing to escape */
static void
attributes_add_hex (Attributes *a,
                    guint32     code,
                    const char *name,
                    GString    *hex)
{
  if (attributes_begin (a, code, name))
    {
      g_string_append_c (a->json, '"');
      g_string_append_len (a->json, hex->str, hex->len);
      g_string_append_c (a->json, '"');
    }
  else
    json_object_set_string_member (attributes_as_object (a), name, hex->str);
}

static void
set_io (Attributes *a,
        guint       id,
        guint64     value)
{
  WbPosition *p = a->p;
  char name[8];

  switch (id)
    {
    case 239: p->ignition = value != 0; return;
    case 240: p->moving = value != 0; return;
    case 16:  p->odometer = value; return;
    case 66:  attributes_add_double (a, NAME_EXTERNAL_VOLTAGE, "external_voltage", value / 1000.0); return;
    case 67:  attributes_add_double (a, NAME_BATTERY_VOLTAGE, "battery_voltage", value / 1000.0); return;
    case 21:  attributes_add_int (a, NAME_GSM_SIGNAL, "gsm_signal", value); return;
    default:  break;
    }
  if (value <= G_MAXINT64)
    attributes_add_int (a, id, io_name (name, id), value);
  else
    {
      guint8 bytes[8];
      g_autoptr(GString) hex = g_string_sized_new (17);

      for (guint i = 0; i < 8; i++)
        bytes[i] = value >> (56 - 8 * i);
      append_hex (hex, bytes, sizeof bytes);
      attributes_add_hex (a, id, io_name (name, id), hex);
    }
}

static void
set_io_bytes (Attributes   *a,
              guint         id,
              const guint8 *value,
              gsize         size)
{
  g_autoptr(GString) hex = g_string_sized_new (size * 2 + 1);
  char name[8];

  append_hex (hex, value, size);
  attributes_add_hex (a, id, io_name (name, id), hex);
}

/* The 1, 2, 4 and 8-byte groups: a count, then (id, value) pairs. */
static gboolean
read_fixed_groups (Reader      *r,
                   guint        id_size,
                   guint        record,
                   Attributes  *a,
                   guint64     *seen,
                   GError     **error)
{
  static const guint value_sizes[] = { 1, 2, 4, 8 };

  for (guint g = 0; g < G_N_ELEMENTS (value_sizes); g++)
    {
      guint64 count, id, value;

      if (!read_uint (r, id_size, &count))
        return overrun (error, record, "IO element count");
      for (guint64 i = 0; i < count; i++)
        {
          if (!read_uint (r, id_size, &id) || !read_uint (r, value_sizes[g], &value))
            return overrun (error, record, "IO element list");
          set_io (a, id, value);
        }
      *seen += count;
    }
  return TRUE;
}

/* Codec 8E only: a count, then (id, 2-byte length, bytes). */
static gboolean
read_variable_group (Reader      *r,
                     guint        record,
                     Attributes  *a,
                     guint64     *seen,
                     GError     **error)
{
  guint64 count, id, size;
  const guint8 *value;

  if (!read_uint (r, 2, &count))
    return overrun (error, record, "variable-length IO count");
  for (guint64 i = 0; i < count; i++)
    {
      if (!read_uint (r, 2, &id) || !read_uint (r, 2, &size) || !take (r, size, &value))
        return overrun (error, record, "variable-length IO list");
      set_io_bytes (a, id, value, size);
    }
  *seen += count;
  return TRUE;
}

static gboolean
read_io (Reader      *r,
         gboolean     extended,
         guint        record,
         Attributes  *a,
         GError     **error)
{
  guint id_size = extended ? 2 : 1;
  guint64 event_id, total, seen = 0;

  if (!read_uint (r, id_size, &event_id) || !read_uint (r, id_size, &total))
    return overrun (error, record, "IO element header");
  attributes_add_int (a, NAME_EVENT_IO, "event_io", event_id);
  if (!read_fixed_groups (r, id_size, record, a, &seen, error))
    return FALSE;
  if (extended && !read_variable_group (r, record, a, &seen, error))
    return FALSE;
  if (seen != total)
    {
      fail (error, WB_TELEMETRY_ERROR_MALFORMED, "Record %u: %" G_GUINT64_FORMAT " IO elements announced, %"
            G_GUINT64_FORMAT " found", record + 1, total, seen);
      return FALSE;
    }
  return TRUE;
}

static WbPosition *
read_record (Reader      *r,
             gboolean     extended,
             guint        record,
             const char  *imei,
             GError     **error)
{
  g_autoptr(WbPosition) p = NULL;
  guint64 ms, priority, lon, lat, altitude, angle, satellites, speed;
  Attributes attributes;
  gboolean ok;

  if (!read_uint (r, 8, &ms) || !read_uint (r, 1, &priority) || !read_uint (r, 4, &lon)
      || !read_uint (r, 4, &lat) || !read_uint (r, 2, &altitude) || !read_uint (r, 2, &angle)
      || !read_uint (r, 1, &satellites) || !read_uint (r, 2, &speed))
    {
      overrun (error, record, "GPS element");
      return NULL;
    }
  if (ms > (guint64) WB_TELEMETRY_MAX_UNIX_MS)
    {
      fail (error, WB_TELEMETRY_ERROR_MALFORMED, "Record %u: the timestamp %" G_GUINT64_FORMAT
            " ms is beyond the year 9999", record + 1, ms);
      return NULL;
    }
  p = wb_position_new ();
  p->device_id = g_strdup (imei);
  p->protocol = WB_PROTOCOL_TELTONIKA;
  p->device_time = (gint64) ms * 1000;
  p->lon = (gint32) (guint32) lon / 1e7;
  p->lat = (gint32) (guint32) lat / 1e7;
  p->altitude = (gint16) (guint16) altitude;
  p->heading = angle;
  p->satellites = satellites;
  p->speed_kmh = speed;
  attributes_init (&attributes, p);
  attributes_add_int (&attributes, NAME_PRIORITY, "priority", priority);
  ok = read_io (r, extended, record, &attributes, error);
  attributes_finish (&attributes);
  if (!ok)
    return NULL;
  return g_steal_pointer (&p);
}

/* ---- frames --------------------------------------------------------------------- */

/* What can be judged before the whole frame is there: a stream that starts
 * wrong is refused at once rather than after 64 KiB of waiting. */
static WbTeltonikaResult
check_header (const guint8  *data,
              gsize          length,
              guint32       *out_data_length,
              GError       **error)
{
  for (gsize i = 0; i < MIN (length, 4); i++)
    if (data[i] != 0)
      return fail (error, WB_TELEMETRY_ERROR_MALFORMED,
                   "Bad preamble: byte %" G_GSIZE_FORMAT " is 0x%02x, a frame starts with four zero bytes",
                   i + 1, data[i]);
  if (length < 8)
    return WB_TELTONIKA_NEED_MORE;
  *out_data_length = read_be (data + 4, 4);
  if (*out_data_length > WB_TELTONIKA_MAX_DATA_LENGTH)
    return fail (error, WB_TELEMETRY_ERROR_TOO_LARGE, "The data length %u is beyond %d bytes",
                 *out_data_length, WB_TELTONIKA_MAX_DATA_LENGTH);
  if (*out_data_length < DATA_MIN_LENGTH)
    return fail (error, WB_TELEMETRY_ERROR_MALFORMED, "The data length %u is too short for a frame",
                 *out_data_length);
  if (length > 8 && data[8] != WB_TELTONIKA_CODEC_8 && data[8] != WB_TELTONIKA_CODEC_8_EXTENDED)
    return fail (error, WB_TELEMETRY_ERROR_UNSUPPORTED, "Codec 0x%02X is not supported (only 0x08 and 0x8E)",
                 data[8]);
  return WB_TELTONIKA_OK;
}

/* @data is codec id … second record count, its CRC already checked. */
static GPtrArray *
read_records (const guint8  *data,
              guint32        data_length,
              const char    *imei,
              GError       **error)
{
  guint first_count = data[1], second_count = data[data_length - 1];
  Reader r = { data + 2, data_length - DATA_MIN_LENGTH, 0 };
  g_autoptr(GPtrArray) positions = NULL;

  if (first_count != second_count)
    {
      fail (error, WB_TELEMETRY_ERROR_MALFORMED, "The record counts differ: %u at the start, %u at the end",
            first_count, second_count);
      return NULL;
    }
  if (first_count == 0)
    {
      fail (error, WB_TELEMETRY_ERROR_MALFORMED, "The frame has no records");
      return NULL;
    }
  positions = g_ptr_array_new_full (first_count, (GDestroyNotify) wb_position_unref);
  for (guint i = 0; i < first_count; i++)
    {
      WbPosition *p = read_record (&r, data[0] == WB_TELTONIKA_CODEC_8_EXTENDED, i, imei, error);

      if (p == NULL)
        return NULL;
      g_ptr_array_add (positions, p);
    }
  if (r.offset != r.length)
    {
      fail (error, WB_TELEMETRY_ERROR_MALFORMED, "%" G_GSIZE_FORMAT " bytes are left over after %u records",
            r.length - r.offset, first_count);
      return NULL;
    }
  return g_steal_pointer (&positions);
}

WbTeltonikaResult
wb_teltonika_parse_frame (const guint8  *data,
                          gsize          length,
                          const char    *imei,
                          gsize         *out_consumed,
                          GPtrArray    **out_positions,
                          GError       **error)
{
  WbTeltonikaResult result;
  guint32 data_length = 0;
  guint64 crc_field;
  guint16 crc;

  g_return_val_if_fail (data != NULL || length == 0, WB_TELTONIKA_ERROR);
  g_return_val_if_fail (imei != NULL, WB_TELTONIKA_ERROR);
  g_return_val_if_fail (out_consumed != NULL && out_positions != NULL, WB_TELTONIKA_ERROR);
  g_return_val_if_fail (error == NULL || *error == NULL, WB_TELTONIKA_ERROR);

  *out_consumed = 0;
  *out_positions = NULL;
  result = check_header (data, length, &data_length, error);
  if (result != WB_TELTONIKA_OK)
    return result;
  if (length < WB_TELTONIKA_FRAME_OVERHEAD + (gsize) data_length)
    return WB_TELTONIKA_NEED_MORE;

  crc_field = read_be (data + 8 + data_length, 4);
  crc = wb_teltonika_crc16 (data + 8, data_length);
  if (crc_field != crc)
    return fail (error, WB_TELEMETRY_ERROR_MALFORMED, "CRC mismatch: the frame says 0x%08" G_GINT64_MODIFIER
                 "X, its data gives 0x%04X", crc_field, crc);

  *out_positions = read_records (data + 8, data_length, imei, error);
  if (*out_positions == NULL)
    return WB_TELTONIKA_ERROR;
  *out_consumed = WB_TELTONIKA_FRAME_OVERHEAD + data_length;
  return WB_TELTONIKA_OK;
}

/* ---- encoding -------------------------------------------------------------------- */

static void
put_be (GByteArray *out,
        guint64     value,
        guint       size)
{
  for (guint i = size; i > 0; i--)
    {
      guint8 byte = value >> (8 * (i - 1));

      g_byte_array_append (out, &byte, 1);
    }
}

/* A known value rounded and kept within [min, max]; unknown is 0. */
static gint64
clamp_known (double value,
             double scale,
             double min,
             double max)
{
  if (isnan (value))
    return 0;
  return (gint64) round (CLAMP (value * scale, min, max));
}

static void
encode_io (GByteArray       *out,
           gboolean          extended,
           const WbPosition *p)
{
  guint id_size = extended ? 2 : 1;
  guint one_byte = (p->ignition >= 0) + (p->moving >= 0);
  guint four_byte = !isnan (p->odometer);

  put_be (out, 0, id_size);                     /* not generated by an event */
  put_be (out, one_byte + four_byte, id_size);
  put_be (out, one_byte, id_size);
  if (p->ignition >= 0)
    {
      put_be (out, 239, id_size);
      put_be (out, p->ignition != 0, 1);
    }
  if (p->moving >= 0)
    {
      put_be (out, 240, id_size);
      put_be (out, p->moving != 0, 1);
    }
  put_be (out, 0, id_size);
  put_be (out, four_byte, id_size);
  if (four_byte)
    {
      put_be (out, 16, id_size);
      put_be (out, clamp_known (p->odometer, 1, 0, G_MAXUINT32), 4);
    }
  put_be (out, 0, id_size);
  if (extended)
    put_be (out, 0, 2);
}

static void
encode_record (GByteArray       *out,
               gboolean          extended,
               const WbPosition *p)
{
  g_autoptr(JsonObject) attributes = wb_position_dup_attributes (p);
  JsonNode *priority = attributes ? json_object_get_member (attributes, "priority") : NULL;

  put_be (out, MAX (p->device_time, 0) / 1000, 8);
  put_be (out, priority && JSON_NODE_HOLDS_VALUE (priority) ? json_node_get_int (priority) & 0xff : 0, 1);
  put_be (out, (guint32) (gint32) clamp_known (p->lon, 1e7, -1800000000, 1800000000), 4);
  put_be (out, (guint32) (gint32) clamp_known (p->lat, 1e7, -900000000, 900000000), 4);
  put_be (out, (guint16) (gint16) clamp_known (p->altitude, 1, G_MININT16, G_MAXINT16), 2);
  put_be (out, clamp_known (p->heading, 1, 0, 360), 2);
  put_be (out, CLAMP (p->satellites, 0, 255), 1);
  put_be (out, clamp_known (p->speed_kmh, 1, 0, G_MAXUINT16), 2);
  encode_io (out, extended, p);
}

/**
 * wb_teltonika_encode_frame:
 * @codec: %WB_TELTONIKA_CODEC_8 or %WB_TELTONIKA_CODEC_8_EXTENDED
 * @positions: (array length=n_positions): 1 to 255 positions
 *
 * Returns: (transfer full): the frame, preamble to CRC
 */
GBytes *
wb_teltonika_encode_frame (guint8              codec,
                           WbPosition * const *positions,
                           guint               n_positions)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  guint32 data_length;

  g_return_val_if_fail (codec == WB_TELTONIKA_CODEC_8 || codec == WB_TELTONIKA_CODEC_8_EXTENDED, NULL);
  g_return_val_if_fail (positions != NULL && n_positions >= 1 && n_positions <= 255, NULL);

  put_be (out, 0, 8);                           /* preamble, and room for the length */
  put_be (out, codec, 1);
  put_be (out, n_positions, 1);
  for (guint i = 0; i < n_positions; i++)
    encode_record (out, codec == WB_TELTONIKA_CODEC_8_EXTENDED, positions[i]);
  put_be (out, n_positions, 1);
  data_length = out->len - 8;
  for (guint i = 0; i < 4; i++)
    out->data[4 + i] = data_length >> (8 * (3 - i));
  put_be (out, wb_teltonika_crc16 (out->data + 8, data_length), 4);
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}
