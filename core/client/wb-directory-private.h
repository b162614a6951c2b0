// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-directory.h"

G_BEGIN_DECLS

/* Builds a directory from what GET /companies, /drivers, /vehicles and
 * /pickup-points listed: names by id (values nullable), each driver's
 * company, the vehicles (WbVehicleRef, names joined) and each pickup
 * point's address line (nullable). */
WbDirectory *_wb_directory_new (GHashTable *company_names,
                                GHashTable *driver_names,
                                GHashTable *driver_companies,
                                GPtrArray  *vehicles,
                                GHashTable *point_names,
                                GHashTable *point_addresses);

G_END_DECLS
