// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/* One carrier of the carriers file (data/carriers.conf). */
typedef struct
{
  char   *code;             /* the group name, as clients send it: "CDEK" */
  char   *driver;           /* "emulator", "dhl-unified" */
  char   *base_url;
  char   *api_key;          /* secret */
  char   *client_id;
  char   *client_secret;    /* secret */
  char   *login;
  char   *password;         /* secret */
  char   *status_map;       /* carrier table of data/status-maps/ */
  char   *number_format;    /* "s10" or "any" */
  double  rate;             /* requests per second */
  guint   burst;
  guint   daily_quota;      /* per UTC day, 0 = none */
  guint   batch_size;
  guint   timeout_s;
  guint   max_length;
} WbCarrierConfig;

#define WB_TYPE_CARRIER_TABLE (wb_carrier_table_get_type ())

G_DECLARE_FINAL_TYPE (WbCarrierTable, wb_carrier_table, WB, CARRIER_TABLE, GObject)

WbCarrierTable        *wb_carrier_table_new_from_data (const char      *text,
                                                       GError         **error);
/* @path NULL or "": the compiled-in data/carriers.conf. */
WbCarrierTable        *wb_carrier_table_load          (const char      *path,
                                                       GError         **error);
const WbCarrierConfig *wb_carrier_table_lookup        (WbCarrierTable  *self,
                                                       const char      *code);
guint                  wb_carrier_table_get_n_carriers (WbCarrierTable *self);
const WbCarrierConfig *wb_carrier_table_get_nth       (WbCarrierTable  *self,
                                                       guint            index);
/* Checks a track number for @carrier; FALSE with WB_POLLING_ERROR_INVALID
 * whose message says what is wrong (not which field). */
gboolean               wb_carrier_check_number        (const WbCarrierConfig *carrier,
                                                       const char      *number,
                                                       GError         **error);
/* UPU S10: two letters, eight digits, the check digit, two letters. */
gboolean               wb_s10_is_valid                (const char      *number);
/* Every carrier's configuration as JSON, secrets masked ("****"). */
char                  *wb_carrier_table_to_json       (WbCarrierTable  *self);

G_END_DECLS
