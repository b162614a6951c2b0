// SPDX-License-Identifier: GPL-3.0-or-later
/* A Teltonika connection's byte stream: the IMEI handshake if the input
 * starts with one, then frames back to back until one is incomplete or
 * refused. Every decoded frame is encoded again and must decode again. */

#include "config.h"

#include <string.h>

#include "fuzz-common.h"
#include "wb-teltonika.h"

#define FUZZ_IMEI "356307042441013"

static void
check_reencoded (GPtrArray *positions)
{
  const guint8 codecs[] = { WB_TELTONIKA_CODEC_8, WB_TELTONIKA_CODEC_8_EXTENDED };

  for (guint c = 0; c < G_N_ELEMENTS (codecs); c++)
    {
      g_autoptr(GBytes) frame = wb_teltonika_encode_frame (codecs[c], (WbPosition **) positions->pdata,
                                                           positions->len);
      g_autoptr(GPtrArray) decoded = NULL;
      g_autoptr(GError) error = NULL;
      gsize consumed = 0;
      WbTeltonikaResult result;

      result = wb_teltonika_parse_frame (g_bytes_get_data (frame, NULL), g_bytes_get_size (frame), FUZZ_IMEI,
                                         &consumed, &decoded, &error);
      fuzz_require (result == WB_TELTONIKA_OK, "an encoded frame decodes");
      fuzz_require (consumed == g_bytes_get_size (frame), "an encoded frame is consumed whole");
      fuzz_require (decoded->len == positions->len, "an encoded frame keeps its records");
    }
}

/* Returns how much of @data the frame took, 0 to stop. */
static gsize
parse_one_frame (const guint8 *data,
                 gsize         size,
                 const char   *imei)
{
  g_autoptr(GPtrArray) positions = NULL;
  g_autoptr(GError) error = NULL;
  gsize consumed = 99;
  WbTeltonikaResult result = wb_teltonika_parse_frame (data, size, imei, &consumed, &positions, &error);

  fuzz_require ((result == WB_TELTONIKA_ERROR) == (error != NULL), "an error is set exactly on ERROR");
  fuzz_require ((result == WB_TELTONIKA_OK) == (positions != NULL), "positions come exactly with OK");
  if (result != WB_TELTONIKA_OK)
    {
      fuzz_require (consumed == 0, "nothing is consumed without a frame");
      return 0;
    }
  fuzz_require (consumed >= WB_TELTONIKA_FRAME_OVERHEAD && consumed <= size, "a frame lies within the input");
  fuzz_require (positions->len >= 1 && positions->len <= 255, "a frame has 1 to 255 records");
  for (guint i = 0; i < positions->len; i++)
    fuzz_check_position (g_ptr_array_index (positions, i));
  check_reencoded (positions);
  return consumed;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *imei = NULL;
  g_autoptr(GError) error = NULL;
  gsize offset = 0, consumed = 0;
  WbTeltonikaResult result = wb_teltonika_parse_imei (data, size, &consumed, &imei, &error);

  fuzz_require ((result == WB_TELTONIKA_ERROR) == (error != NULL), "a handshake error is set exactly on ERROR");
  if (result == WB_TELTONIKA_OK)
    {
      fuzz_require (consumed == 17 && strlen (imei) == 15, "an IMEI is 15 digits in 17 bytes");
      offset = consumed;
    }
  while (offset < size)
    {
      gsize taken = parse_one_frame (data + offset, size - offset, imei ? imei : FUZZ_IMEI);

      if (taken == 0)
        break;
      offset += taken;
    }
  return 0;
}
