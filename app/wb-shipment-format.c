// SPDX-License-Identifier: GPL-3.0-or-later
#include "config.h"

#include <glib/gi18n.h>

#include "wb-shipment-format.h"

typedef struct
{
  const char *code;
  const char *label;
} Wording;

static const Wording statuses[] = {
  { "PENDING", N_("Pending") },
  { "INFO_RECEIVED", N_("Info received") },
  { "IN_TRANSIT", N_("In transit") },
  { "OUT_FOR_DELIVERY", N_("Out for delivery") },
  { "FAILED_ATTEMPT", N_("Failed attempt") },
  { "AVAILABLE_FOR_PICKUP", N_("Available for pickup") },
  { "DELIVERED", N_("Delivered") },
  { "EXCEPTION", N_("Exception") },
  { "RETURNED_TO_SENDER", N_("Returned to sender") },
  { "CANCELLED", N_("Cancelled") },
  { "EXPIRED", N_("Expired") },
};

static const Wording sla_states[] = {
  { "on_time", N_("On time") },
  { "at_risk", N_("At risk") },
  { "overdue", N_("Overdue") },
  { "delivered_on_time", N_("Delivered on time") },
  { "delivered_late", N_("Delivered late") },
};

static const Wording eta_sources[] = {
  /* Translators: where an ETA comes from */
  { "carrier", N_("from the carrier") },
  { "promise", N_("from the promise") },
  { "vehicle", N_("from the vehicle") },
};

static const char *
find (const Wording *wordings,
      gsize          n,
      const char    *code)
{
  if (code == NULL)
    return "—";
  for (gsize i = 0; i < n; i++)
    if (g_str_equal (wordings[i].code, code))
      return _(wordings[i].label);
  return code;
}

const char *
wb_shipment_format_status (const char *status)
{
  return find (statuses, G_N_ELEMENTS (statuses), status);
}

const char *
wb_shipment_format_sla_state (const char *state)
{
  return find (sla_states, G_N_ELEMENTS (sla_states), state);
}

const char *
wb_shipment_format_eta_source (const char *source)
{
  return find (eta_sources, G_N_ELEMENTS (eta_sources), source);
}

const char * const *
wb_shipment_format_statuses (void)
{
  static const char * const codes[G_N_ELEMENTS (statuses) + 1] = {
    "PENDING", "INFO_RECEIVED", "IN_TRANSIT", "OUT_FOR_DELIVERY", "FAILED_ATTEMPT", "AVAILABLE_FOR_PICKUP",
    "DELIVERED", "EXCEPTION", "RETURNED_TO_SENDER", "CANCELLED", "EXPIRED", NULL,
  };

  return codes;
}

char *
wb_shipment_format_time (gint64 us)
{
  g_autoptr(GDateTime) utc = NULL;
  g_autoptr(GDateTime) local = NULL;

  if (us == 0)
    return g_strdup ("—");
  utc = g_date_time_new_from_unix_utc (us / G_USEC_PER_SEC);
  local = utc != NULL ? g_date_time_to_local (utc) : NULL;
  if (local == NULL)
    return g_strdup ("—");
  {
    /* Translators: a date and time in the console's lists and details, as
     * strftime writes it (see g_date_time_format()); "%e %b %Y, %H:%M"
     * gives "7 Dec 2026, 19:05". Use your country's usual order. */
    g_autofree char *text = g_date_time_format (local, C_("date and time", "%e %b %Y, %H:%M"));

    return text != NULL ? g_strdup (g_strstrip (text)) : g_strdup ("—");
  }
}

static void
append_part (GString    *text,
             const char *part,
             const char *separator)
{
  if (part == NULL || *part == '\0')
    return;
  if (text->len > 0)
    g_string_append (text, separator);
  g_string_append (text, part);
}

char *
wb_shipment_format_address (const WbClientAddress *address)
{
  GString *text;
  g_autofree char *place = NULL;

  if (address == NULL)
    return g_strdup ("—");
  text = g_string_new (NULL);
  append_part (text, address->line1, ", ");
  append_part (text, address->line2, ", ");
  place = g_strjoin (" ", address->postal_code ? address->postal_code : "", address->city ? address->city : "", NULL);
  append_part (text, g_strstrip (place), ", ");
  append_part (text, address->region, ", ");
  append_part (text, address->country, ", ");
  return g_string_free (text, FALSE);
}
