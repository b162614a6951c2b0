// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-fleet-update.h"

G_BEGIN_DECLS

/* Rows one import request may carry; a larger fleet comes in several. */
#define WB_FLEET_IMPORT_MAX_ROWS        100000
/* The body of one import request. */
#define WB_FLEET_IMPORT_MAX_BODY_SIZE   (G_GUINT64_CONSTANT (32) * 1024 * 1024)
/* One NDJSON line or CSV record. */
#define WB_FLEET_IMPORT_MAX_ROW_SIZE    (64 * 1024)
/* Errors an answer lists; the counts are always complete. */
#define WB_FLEET_IMPORT_MAX_LISTED      1000

typedef enum
{
  WB_FLEET_IMPORT_NDJSON,   /* application/x-ndjson: one JSON object a line */
  WB_FLEET_IMPORT_CSV,      /* text/csv (RFC 4180) with a header row naming the members */
} WbFleetImportFormat;

/* What became of one valid row once the store has seen it. */
typedef enum
{
  WB_FLEET_IMPORTED_CREATED,
  WB_FLEET_IMPORTED_UPDATED,
  WB_FLEET_IMPORTED_UNCHANGED,  /* the same as stored: nothing written */
  WB_FLEET_IMPORTED_STALE,      /* its version is not newer than the stored one */
} WbFleetImported;

typedef struct
{
  WbFleetImported  outcome;
  gint64           version;    /* stored after the import (the winner's when stale) */
} WbFleetImportOutcome;

/**
 * WbFleetImportError:
 * @row: the body's line where the row starts, from 1 (a CSV header is line 1)
 * @id: (nullable): the row's id, when it could be read
 * @field: (nullable): the member or column at fault
 * @code: invalid_field, invalid_json, invalid_row, duplicate_id or
 *   stale_version
 */
typedef struct
{
  guint        row;
  char        *id;
  char        *field;
  const char  *code;
  char        *message;
} WbFleetImportError;

typedef struct _WbImportRowType WbImportRowType;

/**
 * WbImportRowType:
 * @id_member: the member that names a row ("id", "deviceId")
 * @columns: the CSV columns a header may name; "a.b" is member b of the
 *   object a (the CSV form of a nested object)
 * @number_columns: CSV cells given to the reader as JSON numbers when
 *   they read as one (otherwise as strings, which it refuses by name)
 * @boolean_columns: likewise, "true" and "false" as JSON booleans
 * @read: a row from its JSON object, or %NULL with a %WB_JSON_ERROR_FIELD
 *   naming the member
 * @get_id: the id of a row @read made
 * @free: frees such a row
 * @kind: for the fleet's kinds, which
 *
 * How the rows of one kind of resource are read: the fleet's kinds have
 * theirs (wb_fleet_import_parse()), other resources bring their own
 * (wb_fleet_import_parse_rows()).
 */
struct _WbImportRowType
{
  const char          *id_member;
  const char * const  *columns;
  const char * const  *number_columns;
  const char * const  *boolean_columns;
  gpointer           (*read)    (const WbImportRowType *type,
                                 WbJsonReader          *row,
                                 GError               **error);
  const char        *(*get_id)  (gconstpointer          row);
  GDestroyNotify       free;
  WbFleetKind          kind;
};

/**
 * WbFleetImport:
 * @type: how its rows were read
 * @received: rows read (blank lines are not rows)
 * @updates: the valid rows, in body order: WbFleetUpdate for the fleet's
 *   kinds, else what @type's read made
 * @rows: (element-type guint): the row of each update
 * @errors: (element-type WbFleetImportError): the rows refused, by row
 *
 * A bulk import body, read row by row: every row through the same REST
 * reading as a PUT (wb_fleet_update_from_rest()), a bad row set aside
 * with its row and field, the good ones kept.
 */
typedef struct
{
  const WbImportRowType *type;
  WbFleetKind  kind;
  guint        received;
  GPtrArray   *updates;
  GArray      *rows;
  GArray      *errors;
} WbFleetImport;

WbFleetImport *wb_fleet_import_parse   (WbFleetKind                 kind,
                                        WbFleetImportFormat         format,
                                        GBytes                     *body,
                                        guint                       max_rows,
                                        GError                    **error);
WbFleetImport *wb_fleet_import_parse_rows (const WbImportRowType   *type,
                                          WbFleetImportFormat      format,
                                          GBytes                  *body,
                                          guint                    max_rows,
                                          GError                 **error);
void           wb_fleet_import_free    (WbFleetImport              *import);
char          *wb_fleet_import_report  (const WbFleetImport        *import,
                                        const WbFleetImportOutcome *outcomes);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbFleetImport, wb_fleet_import_free)

G_END_DECLS
