// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#if !defined (WB_CONFIG_COMPILATION)
#error "wb-config-private.h is core/config's own; other code uses the area's public headers"
#endif

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  WB_CONFIG_TYPE_STRING,       /* free text of at least min bytes */
  WB_CONFIG_TYPE_INT,          /* decimal integer */
  WB_CONFIG_TYPE_PORT,         /* TCP port, 0..65535 (0 = ephemeral) */
  WB_CONFIG_TYPE_SIZE,         /* bytes, optional K/M/G suffix (1024-based) */
  WB_CONFIG_TYPE_DURATION,     /* wb_config_parse_duration(), stored as ms */
  WB_CONFIG_TYPE_ADDRESS,      /* IP literal, "localhost" or "*" */
  WB_CONFIG_TYPE_DSN,          /* libpq connection string or URI; "" allowed */
  WB_CONFIG_TYPE_PATH,
  WB_CONFIG_TYPE_ENUM,         /* one of choices */
  WB_CONFIG_TYPE_CHOICE_LIST,  /* comma list of choices, no empty items */
  WB_CONFIG_TYPE_BROKERS,      /* comma list of host:port; "" allowed */
  WB_CONFIG_TYPE_URL,          /* http(s) URL with a host; "" allowed */
  WB_CONFIG_TYPE_SECRET,       /* "" or at least min bytes; never printed */
} WbConfigType;

/* One row per configuration key. The keyfile group and key come from
 * splitting @key at its first dot. Limits: INT, SIZE and DURATION values
 * must lie in [min, max] (both 0: no limit); STRING and SECRET values must
 * be at least min bytes long. */
typedef struct
{
  const char         *key;
  const char         *long_option;    /* without "--"; NULL: no option */
  const char * const *env;            /* NULL-terminated, first set one wins */
  WbConfigType        type;
  const char         *default_value;  /* parsed like any other source */
  const char         *description;    /* one line, marked with N_() */
  gint64              min;
  gint64              max;
  gint64              bare_unit_ms;   /* DURATION: unit of a bare number; 0 = seconds */
  const char * const *choices;        /* ENUM, CHOICE_LIST: NULL-terminated */
} WbConfigKey;

extern const WbConfigKey wb_config_keys[];
extern const guint       wb_config_n_keys;

G_END_DECLS
