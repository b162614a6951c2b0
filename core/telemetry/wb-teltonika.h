// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-position.h"

G_BEGIN_DECLS

/* Teltonika Codec 8 and Codec 8 Extended over TCP (port 5027), as a
 * decoder over a connection's byte stream: the caller keeps what it has
 * received in a buffer, calls the parser on it, drops @out_consumed bytes
 * on OK, and reads more on NEED_MORE. ERROR means the stream cannot be
 * trusted any further: close that connection. */
typedef enum
{
  WB_TELTONIKA_NEED_MORE,
  WB_TELTONIKA_OK,
  WB_TELTONIKA_ERROR,
} WbTeltonikaResult;

/* The one-byte answer to the IMEI handshake. */
#define WB_TELTONIKA_ACCEPT          ((guint8) 0x01)
#define WB_TELTONIKA_REFUSE          ((guint8) 0x00)

#define WB_TELTONIKA_CODEC_8          0x08
#define WB_TELTONIKA_CODEC_8_EXTENDED 0x8E
#define WB_TELTONIKA_IMEI_LENGTH      15
/* Devices send at most 1280 bytes; anything beyond 64 KiB is garbage. */
#define WB_TELTONIKA_MAX_DATA_LENGTH  (64 * 1024)
/* Preamble, data length and CRC around the data. */
#define WB_TELTONIKA_FRAME_OVERHEAD   12

/* The handshake: a 2-byte big-endian length (15) and the IMEI in ASCII
 * digits. On OK, @out_imei is the IMEI and @out_consumed is 17. */
WbTeltonikaResult wb_teltonika_parse_imei  (const guint8  *data,
                                            gsize          length,
                                            gsize         *out_consumed,
                                            char         **out_imei,
                                            GError       **error);

/* One AVL data frame: 4 zero bytes, a 4-byte data length, then codec id,
 * record count, the records, the record count again, and a 4-byte CRC-16/IBM
 * over codec id … second count, which is checked. On OK, @out_positions
 * holds one WbPosition per record (device @imei, protocol teltonika): GPS
 * element in full, IO 239 → ignition, 240 → moving, 16 → odometer (m),
 * 66 → "external_voltage" and 67 → "battery_voltage" attributes (V), 21 →
 * "gsm_signal"; every other IO element as attribute "io<ID>", a number (a
 * lowercase hex string for 8E variable-length values and 8-byte values
 * beyond G_MAXINT64); "priority" and "event_io" attributes. Errors are
 * %WB_TELEMETRY_ERROR_MALFORMED (TOO_LARGE for a length beyond 64 KiB,
 * UNSUPPORTED for another codec) and say what is wrong. */
WbTeltonikaResult wb_teltonika_parse_frame (const guint8  *data,
                                            gsize          length,
                                            const char    *imei,
                                            gsize         *out_consumed,
                                            GPtrArray    **out_positions,
                                            GError       **error);

/* The answer to a frame: the number of records accepted, big-endian. */
void              wb_teltonika_ack         (guint32        accepted,
                                            guint8         out[4]);

/* CRC-16/IBM (reflected polynomial 0xA001, initial value 0). */
guint16           wb_teltonika_crc16       (const guint8  *data,
                                            gsize          length);

/* A frame of 1 to 255 records, for simulators and tests: device time, GPS
 * element (unknown values as 0), the "priority" attribute, and IO 239, 240
 * and 16 when ignition, moving and odometer are known. */
GBytes           *wb_teltonika_encode_frame (guint8              codec,
                                             WbPosition * const *positions,
                                             guint               n_positions);

G_END_DECLS
