// SPDX-License-Identifier: GPL-3.0-or-later
/* waybilld — the Waybill daemon.
 *
 *   waybilld [OPTION…]                      run the daemon
 *   waybilld token --role ROLE [--ttl 8h]   print a bearer token for the configured secret
 */

#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "wb-config.h"
#include "wb-daemon.h"
#include "wb-jwt.h"
#include "wb-log.h"
#include "wb-roles.h"

/* A bearer token that outlives ten years is a password nobody rotates; the
 * bound also keeps "exp" far inside what JSON numbers hold exactly. */
#define TOKEN_MAX_TTL_MS ((gint64) 3650 * 24 * 60 * 60 * 1000)

static char *token_role;
static char *token_ttl;
static char *token_subject;
static gboolean kafka_dev;

static const GOptionEntry token_entries[] = {
  { "role", 0, 0, G_OPTION_ARG_STRING, &token_role, N_("token: the role claim (viewer, dispatcher, admin)"), "ROLE" },
  { "ttl", 0, 0, G_OPTION_ARG_STRING, &token_ttl, N_("token: how long the token is valid, 1s to 3650d (default 8h)"), "DURATION" },
  { "subject", 0, 0, G_OPTION_ARG_STRING, &token_subject, N_("token: the subject claim"), "NAME" },
  { "kafka-dev", 0, 0, G_OPTION_ARG_NONE, &kafka_dev,
    N_("Development aid: run librdkafka's mock Kafka cluster in the daemon and print its address"), NULL },
  { NULL }
};

static int
print_token (WbConfig *config)
{
  const char *secret = wb_config_get_string (config, "auth.hs256-secret");
  g_autoptr(GError) error = NULL;
  g_autofree char *token = NULL;
  gint64 ttl_ms = 0;
  WbAccessRole role;

  if (*secret == '\0')
    {
      g_printerr ("waybilld token: %s\n", _("auth.hs256-secret is not set (AUTH_HS256SECRET or the config file)"));
      return WB_EXIT_CONFIG;
    }
  if (token_role == NULL || !wb_access_role_from_string (token_role, &role) || role == WB_ACCESS_ROLE_NONE)
    {
      g_printerr ("waybilld token: %s\n", _("--role must be viewer, dispatcher or admin"));
      return WB_EXIT_CONFIG;
    }
  if (!wb_config_parse_duration (token_ttl ? token_ttl : "8h", 1000, &ttl_ms, &error))
    {
      g_printerr ("waybilld token: --ttl: %s\n", error->message);
      return WB_EXIT_CONFIG;
    }
  if (ttl_ms < 1000 || ttl_ms > TOKEN_MAX_TTL_MS)
    {
      g_printerr ("waybilld token: --ttl: %s\n", _("out of range: a token lives from 1s to 3650d (ten years)"));
      return WB_EXIT_CONFIG;
    }

  token = wb_jwt_sign ((const guint8 *) secret, strlen (secret), token_subject, role,
                       g_get_real_time () / G_USEC_PER_SEC, ttl_ms / 1000);
  g_print ("%s\n", token);
  return WB_EXIT_OK;
}

static gboolean
init_logging (WbConfig  *config,
              GError   **error)
{
  WbLogFormat format;
  GLogLevelFlags level;

  /* Both were validated by the config table; a mismatch is a table bug. */
  if (!wb_log_format_from_string (wb_config_get_string (config, "log.format"), &format)
      || !wb_log_level_from_string (wb_config_get_string (config, "log.level"), &level))
    {
      g_set_error (error, WB_CONFIG_ERROR, WB_CONFIG_ERROR_INVALID_VALUE, "log.format or log.level: unknown value");
      return FALSE;
    }
  wb_log_init (format, level);
  return TRUE;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(WbConfig) config = NULL;
  g_autoptr(WbDaemon) daemon = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) args = NULL;
  g_auto(GStrv) env = NULL;
  g_autofree char *available = NULL;
  g_autofree char *summary = NULL;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  g_set_prgname ("waybilld");

  args = g_strdupv (argv);
  env = g_get_environ ();
  config = wb_config_new ();
  available = wb_roles_list_available ();
  summary = g_strdup_printf (_("Runs the Waybill daemon.\n\n"
                               "  waybilld [OPTION…]                       run the daemon\n"
                               "  waybilld token --role ROLE [--ttl 8h]    print a bearer token signed with auth.hs256-secret\n\n"
                               "Roles in this build (--roles): %s.\n\n"
                               "Exit status: 0 clean stop, 1 fault at run time, 2 invalid configuration."), available);
  wb_config_set_summary (config, summary);
  wb_config_add_option_entries (config, token_entries);
  if (!wb_config_load (config, &args, (const char * const *) env, &error))
    {
      g_printerr ("waybilld: %s\n", error->message);
      return WB_EXIT_CONFIG;
    }

  if (args[1] != NULL && g_str_equal (args[1], "token") && args[2] == NULL)
    return print_token (config);
  if (args[1] != NULL)
    {
      g_printerr ("waybilld: unexpected argument “%s” (the only command is “token”)\n", args[1]);
      return WB_EXIT_CONFIG;
    }
  if (token_role || token_ttl || token_subject)
    {
      g_printerr ("waybilld: %s\n", _("--role, --ttl and --subject belong to “waybilld token”"));
      return WB_EXIT_CONFIG;
    }

  if (!init_logging (config, &error))
    {
      g_printerr ("waybilld: %s\n", error->message);
      return WB_EXIT_CONFIG;
    }
  daemon = wb_daemon_new (config);
  wb_daemon_set_kafka_dev (daemon, kafka_dev);
  return wb_daemon_run (daemon);
}
