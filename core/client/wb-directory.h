// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/* The reference data a console names things by: every company, driver and
 * vehicle the server lists (GET /companies, /drivers, /vehicles), so that
 * ids become names and filters become pickers. Atomically refcounted and
 * immutable once built; a new one is read when the server changes. */
typedef struct _WbDirectory WbDirectory;

typedef enum
{
  WB_DIRECTORY_COMPANIES,
  WB_DIRECTORY_DRIVERS,
  WB_DIRECTORY_VEHICLES,
  WB_DIRECTORY_PICKUP_POINTS,
} WbDirectoryKind;

#define WB_DIRECTORY_N_KINDS 4

/* One entry: its id, what people call it (a company's or driver's name, a
 * vehicle's plate; the id where the server gives none) and a detail to
 * tell alike labels apart (a driver's company, a vehicle's driver, a pickup point's address). */
typedef struct
{
  const char *id;
  const char *label;
  const char *detail;   /* nullable */
} WbDirectoryEntry;

#define WB_TYPE_DIRECTORY (wb_directory_get_type ())

GType                   wb_directory_get_type      (void) G_GNUC_CONST;
WbDirectory            *wb_directory_ref           (WbDirectory     *self);
void                    wb_directory_unref         (WbDirectory     *self);

guint                   wb_directory_get_n_entries (WbDirectory     *self,
                                                    WbDirectoryKind  kind);
/* Ordered by label as the user's locale sorts, then by id. */
const WbDirectoryEntry *wb_directory_get_entry     (WbDirectory     *self,
                                                    WbDirectoryKind  kind,
                                                    guint            position);
/* The entry of @id, or %NULL for an id the server does not list. */
const WbDirectoryEntry *wb_directory_lookup        (WbDirectory     *self,
                                                    WbDirectoryKind  kind,
                                                    const char      *id);
/* @id's label, or @id itself when the server does not list it (and %NULL
 * for a %NULL id): what a view shows in place of an id. */
const char             *wb_directory_label         (WbDirectory     *self,
                                                    WbDirectoryKind  kind,
                                                    const char      *id);
/* Every vehicle with its driver's and company's names, ordered by id.
 * Returns: (transfer none) (element-type WbVehicleRef) */
GPtrArray              *wb_directory_get_vehicles  (WbDirectory     *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbDirectory, wb_directory_unref)

G_END_DECLS
