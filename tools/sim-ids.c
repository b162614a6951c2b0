// SPDX-License-Identifier: GPL-3.0-or-later

#include "config.h"

#include <string.h>

#include "sim-ids.h"

static char
luhn_digit (const char *digits)
{
  guint sum = 0;
  gsize length = strlen (digits);

  /* Doubling starts from the rightmost digit, the check digit goes after it. */
  for (gsize i = 0; i < length; i++)
    {
      guint d = digits[length - 1 - i] - '0';

      if (i % 2 == 0)
        d = d * 2 > 9 ? d * 2 - 9 : d * 2;
      sum += d;
    }
  return '0' + (10 - sum % 10) % 10;
}

static char *
imei (const char *prefix,
      guint       number)
{
  guint fleet = g_str_hash (prefix) % 1000000;
  g_autofree char *body = g_strdup_printf ("35%06u%06u", fleet, number % 1000000);

  return g_strdup_printf ("%s%c", body, luhn_digit (body));
}

char *
wb_sim_device_id (const char *prefix,
                  WbProtocol  protocol,
                  guint       number)
{
  g_return_val_if_fail (prefix != NULL, NULL);

  if (protocol == WB_PROTOCOL_TELTONIKA)
    return imei (prefix, number);
  return g_strdup_printf ("%s%04u", prefix, number);
}

char *
wb_sim_vehicle_id (const char *prefix,
                   guint       number)
{
  return g_strdup_printf ("%svehicle-%04u", prefix, number);
}

char *
wb_sim_driver_id (const char *prefix,
                  guint       number)
{
  return g_strdup_printf ("%sdriver-%04u", prefix, number);
}

char *
wb_sim_company_id (const char *prefix,
                   guint       number)
{
  return g_strdup_printf ("%scompany-%02u", prefix, number);
}
