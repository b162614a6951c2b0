// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-position.h"

G_BEGIN_DECLS

/* The ids one simulated fleet uses, so that `waybill-sim reference` registers
 * exactly the devices `waybill-sim fleet` will send for, given the same
 * count, prefix and protocol. Vehicles are numbered from 1. */

/* The most vehicles one prefix can number (Teltonika IMEIs hold six digits
 * of vehicle number). */
#define WB_SIM_MAX_VEHICLES 999999

/* "<prefix>0001" for HTTP protocols; for Teltonika a 15-digit IMEI: "35",
 * six digits from the prefix, six of the number, a Luhn check digit. */
char *wb_sim_device_id  (const char *prefix,
                         WbProtocol  protocol,
                         guint       number);
char *wb_sim_vehicle_id (const char *prefix,
                         guint       number);
char *wb_sim_driver_id  (const char *prefix,
                         guint       number);
char *wb_sim_company_id (const char *prefix,
                         guint       number);

G_END_DECLS
