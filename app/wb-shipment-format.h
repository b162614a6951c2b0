// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-client.h"

G_BEGIN_DECLS

/* How the console words the API's shipment values, translated. The API's
 * own code is returned for a value this version does not know. */
const char *wb_shipment_format_status     (const char             *status);
const char *wb_shipment_format_sla_state  (const char             *state);
const char *wb_shipment_format_eta_source (const char             *source);
/* Local date and time in the user's language ("7 Dec 2026, 17:05"), "—" for 0. */
char       *wb_shipment_format_time       (gint64                  us);
/* "Nezavisimosti 1, 220030 Minsk, BY"; "—" for %NULL. */
char       *wb_shipment_format_address    (const WbClientAddress  *address);
/* Every canonical status, in the order of a shipment's life. */
const char * const *wb_shipment_format_statuses (void);

G_END_DECLS
