// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define WB_CONFIG_ERROR (wb_config_error_quark ())

typedef enum
{
  WB_CONFIG_ERROR_INVALID_VALUE,
  WB_CONFIG_ERROR_UNKNOWN_KEY,     /* unknown keyfile group or key */
  WB_CONFIG_ERROR_UNKNOWN_OPTION,
  WB_CONFIG_ERROR_FILE,            /* keyfile missing, unreadable or malformed */
} WbConfigError;

typedef enum
{
  WB_CONFIG_SOURCE_DEFAULT,
  WB_CONFIG_SOURCE_FILE,
  WB_CONFIG_SOURCE_ENV,
  WB_CONFIG_SOURCE_COMMAND_LINE,
} WbConfigSource;

#define WB_TYPE_CONFIG (wb_config_get_type ())

G_DECLARE_FINAL_TYPE (WbConfig, wb_config, WB, CONFIG, GObject)

GQuark         wb_config_error_quark         (void);

WbConfig      *wb_config_new                 (void);
void           wb_config_set_default_paths   (WbConfig           *self,
                                              const char         *user_path,
                                              const char         *system_path);
void           wb_config_set_summary         (WbConfig           *self,
                                              const char         *summary);
void           wb_config_add_option_entries  (WbConfig           *self,
                                              const GOptionEntry *entries);
gboolean       wb_config_load                (WbConfig           *self,
                                              GStrv              *argv,
                                              const char * const *envp,
                                              GError            **error);

const char    *wb_config_get_string          (WbConfig           *self,
                                              const char         *key);
gint64         wb_config_get_int             (WbConfig           *self,
                                              const char         *key);
GStrv          wb_config_get_strv            (WbConfig           *self,
                                              const char         *key);
WbConfigSource wb_config_get_source          (WbConfig           *self,
                                              const char         *key);
const char    *wb_config_get_origin          (WbConfig           *self,
                                              const char         *key);
const char    *wb_config_get_file            (WbConfig           *self);
char          *wb_config_describe            (WbConfig           *self);

gboolean       wb_config_parse_duration      (const char         *text,
                                              gint64              bare_unit_ms,
                                              gint64             *out_ms,
                                              GError            **error);

G_END_DECLS
