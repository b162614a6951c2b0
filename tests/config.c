// SPDX-License-Identifier: GPL-3.0-or-later
/* WbConfig: sources and their precedence, every error, secrets kept out of
 * messages and the startup log, the duration parser, --help and the sample. */

#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "wb-config.h"
#include "wb-config-private.h"

#define ARGS(...) ((const char * const []) { __VA_ARGS__, NULL })
#define NONE      ((const char * const []) { NULL })

#define SECRET "0123456789abcdef0123456789abcdef-hunter2"

typedef struct
{
  WbConfig *config;
  char     *user_path;
  char     *system_path;
  char     *other_path;   /* for --config */
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  /* G_TEST_OPTION_ISOLATE_DIRS gives each test its own, removed afterwards. */
  f->user_path = g_build_filename (g_get_user_config_dir (), "waybill", "waybilld.conf", NULL);
  f->system_path = g_build_filename (g_get_user_data_dir (), "etc", "waybilld.conf", NULL);
  f->other_path = g_build_filename (g_get_user_cache_dir (), "other.conf", NULL);
  f->config = wb_config_new ();
  wb_config_set_default_paths (f->config, f->user_path, f->system_path);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_clear_object (&f->config);
  g_clear_pointer (&f->user_path, g_free);
  g_clear_pointer (&f->system_path, g_free);
  g_clear_pointer (&f->other_path, g_free);
}

static void
write_file (const char *path,
            const char *contents)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
}

/* Runs a load with "waybilld" and @args as the command line. */
static gboolean
load (WbConfig           *config,
      const char * const *args,
      const char * const *env,
      GError            **error)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) argv = NULL;

  g_strv_builder_add (builder, "waybilld");
  g_strv_builder_addv (builder, (const char **) args);
  argv = g_strv_builder_end (builder);
  return wb_config_load (config, &argv, env, error);
}

static void
load_ok (WbConfig           *config,
         const char * const *args,
         const char * const *env)
{
  g_autoptr(GError) error = NULL;
  gboolean loaded = load (config, args, env, &error);

  g_assert_no_error (error);
  g_assert_true (loaded);
}

/* Asserts a one-line message "<subject> (from <origin>): …" naming @problem. */
static void
assert_error (const GError *error,
              gint          code,
              const char   *subject,
              const char   *origin,
              const char   *problem)
{
  g_autofree char *prefix = g_strdup_printf ("%s (from %s): ", subject, origin);

  g_assert_error ((GError *) error, WB_CONFIG_ERROR, code);
  g_assert_null (strchr (error->message, '\n'));
  if (!g_str_has_prefix (error->message, prefix))
    g_error ("“%s” does not start with “%s”", error->message, prefix);
  if (problem != NULL && strstr (error->message, problem) == NULL)
    g_error ("“%s” does not mention “%s”", error->message, problem);
}

static const WbConfigKey *
table_key (const char *name)
{
  for (guint i = 0; i < wb_config_n_keys; i++)
    {
      if (g_str_equal (wb_config_keys[i].key, name))
        return &wb_config_keys[i];
    }
  g_assert_not_reached ();
}

/* Defaults */

static void
test_defaults (Fixture       *f,
               gconstpointer  data)
{
  load_ok (f->config, NONE, NONE);

  g_assert_null (wb_config_get_file (f->config));
  g_assert_cmpstr (wb_config_get_string (f->config, "server.address"), ==, "127.0.0.1");
  g_assert_cmpint (wb_config_get_int (f->config, "server.port"), ==, 8080);
  g_assert_cmpint (wb_config_get_int (f->config, "server.max-body-size"), ==, 1024 * 1024);
  g_assert_cmpint (wb_config_get_int (f->config, "server.max-header-count"), ==, 64);
  g_assert_cmpint (wb_config_get_int (f->config, "server.max-header-size"), ==, 16 * 1024);
  g_assert_cmpint (wb_config_get_int (f->config, "server.idle-timeout"), ==, 60000);
  g_assert_cmpint (wb_config_get_int (f->config, "server.max-connections"), ==, 1024);
  g_assert_cmpint (wb_config_get_int (f->config, "server.max-connections-per-peer"), ==, 64);
  g_assert_cmpint (wb_config_get_int (f->config, "server.shutdown-timeout"), ==, 10000);
  g_assert_cmpstr (wb_config_get_string (f->config, "database.dsn"), ==, "");
  g_assert_cmpint (wb_config_get_int (f->config, "database.pool-size"), ==, 4);
  g_assert_cmpstr (wb_config_get_string (f->config, "daemon.state-dir"), ==, "");
  g_assert_cmpstr (wb_config_get_string (f->config, "daemon.roles"), ==, "all");
  g_assert_cmpstr (wb_config_get_string (f->config, "kafka.brokers"), ==, "");
  g_assert_cmpstr (wb_config_get_string (f->config, "kafka.group-id"), ==, "waybill");
  g_assert_cmpint (wb_config_get_int (f->config, "kafka.timeout"), ==, 10000);
  g_assert_cmpstr (wb_config_get_string (f->config, "otlp.endpoint"), ==, "");
  g_assert_cmpstr (wb_config_get_string (f->config, "auth.hs256-secret"), ==, "");
  g_assert_cmpstr (wb_config_get_string (f->config, "log.format"), ==, "auto");
  g_assert_cmpstr (wb_config_get_string (f->config, "log.level"), ==, "info");
  g_assert_cmpint (wb_config_get_int (f->config, "bus.queue-size"), ==, 4096);

  for (guint i = 0; i < wb_config_n_keys; i++)
    {
      g_assert_cmpint (wb_config_get_source (f->config, wb_config_keys[i].key), ==, WB_CONFIG_SOURCE_DEFAULT);
      g_assert_null (wb_config_get_origin (f->config, wb_config_keys[i].key));
    }
}

/* The table itself: unique keys and options, "group.key" names. */
static void
test_table (void)
{
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < wb_config_n_keys; i++)
    {
      const WbConfigKey *key = &wb_config_keys[i];
      const char *dot = strchr (key->key, '.');

      g_assert_nonnull (dot);
      g_assert_true (dot > key->key && dot[1] != '\0');
      g_assert_nonnull (key->description);
      g_assert_nonnull (key->default_value);
      g_assert_true (g_hash_table_add (seen, (gpointer) key->key));
      if (key->long_option != NULL)
        g_assert_true (g_hash_table_add (seen, (gpointer) key->long_option));
      if (key->type == WB_CONFIG_TYPE_SECRET)
        g_assert_null (key->long_option);
    }
}

static void
test_valid_values (Fixture       *f,
                   gconstpointer  data)
{
  g_auto(GStrv) brokers = NULL;
  g_auto(GStrv) roles = NULL;

  load_ok (f->config,
           ARGS ("--listen-address", "::", "--port", " 0 ", "--max-body-size", "2G",
                 "--max-header-size", "512", "--idle-timeout", "250ms", "--shutdown-timeout", "90",
                 "--kafka-brokers", "[::1]:9092, kafka:9093", "--roles", " api , ingest,gateway",
                 "--kafka-timeout", "1500", "--otlp-endpoint", "https://collector:4318/v1/traces",
                 "--db-dsn", "postgresql://waybill@db:5432/waybill", "--state-dir", "/srv/waybill",
                 "--log-format", "json", "--log-level", "debug", "--db-pool-size", "64"),
           NONE);

  g_assert_cmpstr (wb_config_get_string (f->config, "server.address"), ==, "::");
  g_assert_cmpint (wb_config_get_int (f->config, "server.port"), ==, 0);
  g_assert_cmpint (wb_config_get_int (f->config, "server.max-body-size"), ==, G_GINT64_CONSTANT (2) << 30);
  g_assert_cmpstr (wb_config_get_string (f->config, "server.max-body-size"), ==, "2G");
  g_assert_cmpint (wb_config_get_int (f->config, "server.max-header-size"), ==, 512);
  g_assert_cmpint (wb_config_get_int (f->config, "server.idle-timeout"), ==, 250);
  g_assert_cmpint (wb_config_get_int (f->config, "server.shutdown-timeout"), ==, 90000);
  g_assert_cmpint (wb_config_get_int (f->config, "kafka.timeout"), ==, 1500);
  g_assert_cmpstr (wb_config_get_string (f->config, "kafka.brokers"), ==, "[::1]:9092,kafka:9093");
  g_assert_cmpstr (wb_config_get_string (f->config, "daemon.roles"), ==, "api,ingest,gateway");
  g_assert_cmpstr (wb_config_get_string (f->config, "otlp.endpoint"), ==, "https://collector:4318/v1/traces");
  g_assert_cmpstr (wb_config_get_string (f->config, "database.dsn"), ==, "postgresql://waybill@db:5432/waybill");
  g_assert_cmpstr (wb_config_get_string (f->config, "daemon.state-dir"), ==, "/srv/waybill");
  g_assert_cmpstr (wb_config_get_string (f->config, "log.format"), ==, "json");
  g_assert_cmpstr (wb_config_get_string (f->config, "log.level"), ==, "debug");
  g_assert_cmpint (wb_config_get_int (f->config, "database.pool-size"), ==, 64);

  brokers = wb_config_get_strv (f->config, "kafka.brokers");
  g_assert_cmpstrv (brokers, ARGS ("[::1]:9092", "kafka:9093"));
  roles = wb_config_get_strv (f->config, "daemon.roles");
  g_assert_cmpstrv (roles, ARGS ("api", "ingest", "gateway"));

  for (guint i = 0; i < 4; i++)
    {
      static const char *addresses[] = { "*", "0.0.0.0", "localhost", "10.1.2.3" };

      load_ok (f->config, ARGS ("--listen-address", addresses[i]), NONE);
      g_assert_cmpstr (wb_config_get_string (f->config, "server.address"), ==, addresses[i]);
    }
}

static void
test_empty_lists (Fixture       *f,
                  gconstpointer  data)
{
  g_auto(GStrv) brokers = NULL;

  load_ok (f->config, NONE, NONE);
  brokers = wb_config_get_strv (f->config, "kafka.brokers");
  g_assert_cmpstrv (brokers, NONE);
}

/* Precedence */

static void
test_file_over_default (Fixture       *f,
                        gconstpointer  data)
{
  write_file (f->user_path, "[server]\nport = 9001\n[log]\nlevel = debug\n");

  load_ok (f->config, NONE, NONE);

  g_assert_cmpint (wb_config_get_int (f->config, "server.port"), ==, 9001);
  g_assert_cmpint (wb_config_get_source (f->config, "server.port"), ==, WB_CONFIG_SOURCE_FILE);
  g_assert_cmpstr (wb_config_get_origin (f->config, "server.port"), ==, f->user_path);
  g_assert_cmpstr (wb_config_get_string (f->config, "log.level"), ==, "debug");
  g_assert_cmpint (wb_config_get_source (f->config, "log.format"), ==, WB_CONFIG_SOURCE_DEFAULT);
  g_assert_cmpstr (wb_config_get_file (f->config), ==, f->user_path);
}

static void
test_env_over_file (Fixture       *f,
                    gconstpointer  data)
{
  write_file (f->user_path, "[server]\nport = 9001\n[kafka]\ngroup-id = from-file\n");

  load_ok (f->config, NONE, ARGS ("SERVER_PORT=9002", "UNRELATED=1"));

  g_assert_cmpint (wb_config_get_int (f->config, "server.port"), ==, 9002);
  g_assert_cmpint (wb_config_get_source (f->config, "server.port"), ==, WB_CONFIG_SOURCE_ENV);
  g_assert_cmpstr (wb_config_get_origin (f->config, "server.port"), ==, "SERVER_PORT");
  g_assert_cmpstr (wb_config_get_string (f->config, "kafka.group-id"), ==, "from-file");
}

static void
test_command_line_over_env (Fixture       *f,
                            gconstpointer  data)
{
  write_file (f->user_path, "[server]\nport = 9001\n");

  load_ok (f->config, ARGS ("--port=9003"), ARGS ("SERVER_PORT=9002", "KAFKA_GROUPID=from-env"));

  g_assert_cmpint (wb_config_get_int (f->config, "server.port"), ==, 9003);
  g_assert_cmpint (wb_config_get_source (f->config, "server.port"), ==, WB_CONFIG_SOURCE_COMMAND_LINE);
  g_assert_cmpstr (wb_config_get_origin (f->config, "server.port"), ==, "--port");
  g_assert_cmpstr (wb_config_get_string (f->config, "kafka.group-id"), ==, "from-env");
  g_assert_cmpint (wb_config_get_source (f->config, "kafka.group-id"), ==, WB_CONFIG_SOURCE_ENV);
}

static void
test_command_line_last_wins (Fixture       *f,
                             gconstpointer  data)
{
  load_ok (f->config, ARGS ("--port", "1", "--port", "2"), NONE);

  g_assert_cmpint (wb_config_get_int (f->config, "server.port"), ==, 2);
}

/* Every env variable the issue names reaches its key. */
static void
test_env_names (Fixture       *f,
                gconstpointer  data)
{
  load_ok (f->config, NONE,
           ARGS ("SERVER_PORT=1", "DB_DSN=host=db", "KAFKA_BROKERS=k:1", "KAFKA_GROUPID=g",
                 "KAFKA_TIMEOUT=5", "OTLP_ENDPOINT=http://o", "AUTH_HS256SECRET=" SECRET));

  g_assert_cmpint (wb_config_get_int (f->config, "server.port"), ==, 1);
  g_assert_cmpstr (wb_config_get_string (f->config, "database.dsn"), ==, "host=db");
  g_assert_cmpstr (wb_config_get_string (f->config, "kafka.brokers"), ==, "k:1");
  g_assert_cmpstr (wb_config_get_string (f->config, "kafka.group-id"), ==, "g");
  g_assert_cmpint (wb_config_get_int (f->config, "kafka.timeout"), ==, 5);
  g_assert_cmpstr (wb_config_get_string (f->config, "otlp.endpoint"), ==, "http://o");
  g_assert_cmpstr (wb_config_get_string (f->config, "auth.hs256-secret"), ==, SECRET);
}

static void
test_brokers_alias (Fixture       *f,
                    gconstpointer  data)
{
  load_ok (f->config, NONE, ARGS ("REDPANDA_BROKERS=redpanda:9092"));

  g_assert_cmpstr (wb_config_get_string (f->config, "kafka.brokers"), ==, "redpanda:9092");
  g_assert_cmpstr (wb_config_get_origin (f->config, "kafka.brokers"), ==, "REDPANDA_BROKERS");
}

static void
test_brokers_precedence (Fixture       *f,
                         gconstpointer  data)
{
  /* Listed in both orders: the winner must not depend on the environment's order. */
  load_ok (f->config, NONE, ARGS ("REDPANDA_BROKERS=redpanda:9092", "KAFKA_BROKERS=kafka:9092"));
  g_assert_cmpstr (wb_config_get_string (f->config, "kafka.brokers"), ==, "kafka:9092");
  g_assert_cmpstr (wb_config_get_origin (f->config, "kafka.brokers"), ==, "KAFKA_BROKERS");

  load_ok (f->config, NONE, ARGS ("KAFKA_BROKERS=kafka:9092", "REDPANDA_BROKERS=redpanda:9092"));
  g_assert_cmpstr (wb_config_get_string (f->config, "kafka.brokers"), ==, "kafka:9092");
}

static void
test_env_empty_ignored (Fixture       *f,
                        gconstpointer  data)
{
  write_file (f->user_path, "[server]\nport = 9001\n");

  load_ok (f->config, NONE, ARGS ("SERVER_PORT=", "KAFKA_BROKERS=", "REDPANDA_BROKERS=r:1"));

  g_assert_cmpint (wb_config_get_int (f->config, "server.port"), ==, 9001);
  g_assert_cmpstr (wb_config_get_string (f->config, "kafka.brokers"), ==, "r:1");
}

/* Keyfile selection */

static void
test_explicit_file (Fixture       *f,
                    gconstpointer  data)
{
  write_file (f->user_path, "[server]\nport = 9001\n");
  write_file (f->system_path, "[server]\nport = 9002\n");
  write_file (f->other_path, "[server]\nmax-header-count = 7\n");

  load_ok (f->config, ARGS ("--config", f->other_path), NONE);

  g_assert_cmpstr (wb_config_get_file (f->config), ==, f->other_path);
  g_assert_cmpint (wb_config_get_int (f->config, "server.max-header-count"), ==, 7);
  /* The default files are not read at all, not merely overridden. */
  g_assert_cmpint (wb_config_get_int (f->config, "server.port"), ==, 8080);
}

static void
test_user_over_system (Fixture       *f,
                       gconstpointer  data)
{
  write_file (f->user_path, "[server]\nport = 9001\n");
  write_file (f->system_path, "[server]\nport = 9002\nmax-header-count = 7\n");

  load_ok (f->config, NONE, NONE);

  g_assert_cmpstr (wb_config_get_file (f->config), ==, f->user_path);
  g_assert_cmpint (wb_config_get_int (f->config, "server.port"), ==, 9001);
  g_assert_cmpint (wb_config_get_int (f->config, "server.max-header-count"), ==, 64);
}

static void
test_system_fallback (Fixture       *f,
                      gconstpointer  data)
{
  write_file (f->system_path, "[server]\nport = 9002\n");

  load_ok (f->config, NONE, NONE);

  g_assert_cmpstr (wb_config_get_file (f->config), ==, f->system_path);
  g_assert_cmpint (wb_config_get_int (f->config, "server.port"), ==, 9002);
}

/* Without set_default_paths, the user file is $XDG_CONFIG_HOME/waybill/waybilld.conf. */
static void
test_default_user_path (void)
{
  g_autoptr(WbConfig) config = wb_config_new ();
  g_autofree char *path = g_build_filename (g_get_user_config_dir (), "waybill", "waybilld.conf", NULL);

  write_file (path, "[bus]\nqueue-size = 5\n");
  load_ok (config, NONE, NONE);

  g_assert_cmpstr (wb_config_get_file (config), ==, path);
  g_assert_cmpint (wb_config_get_int (config, "bus.queue-size"), ==, 5);
}

static void
test_missing_explicit_file (Fixture       *f,
                            gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  g_assert_false (load (f->config, ARGS ("--config", f->other_path), NONE, &error));

  g_assert_error (error, WB_CONFIG_ERROR, WB_CONFIG_ERROR_FILE);
  g_assert_null (strchr (error->message, '\n'));
  g_assert_true (g_str_has_prefix (error->message, f->other_path));
  g_assert_nonnull (strstr (error->message, "cannot read"));
}

static void
test_malformed_file (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  write_file (f->user_path, "[server]\nthis line is not a key\n");

  g_assert_false (load (f->config, NONE, NONE, &error));

  g_assert_error (error, WB_CONFIG_ERROR, WB_CONFIG_ERROR_FILE);
  g_assert_null (strchr (error->message, '\n'));
  g_assert_true (g_str_has_prefix (error->message, f->user_path));
  g_assert_nonnull (strstr (error->message, "malformed"));
}

static void
test_unknown_group (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  write_file (f->user_path, "[server]\nport = 1\n[serverr]\nport = 2\n");

  g_assert_false (load (f->config, NONE, NONE, &error));

  assert_error (error, WB_CONFIG_ERROR_UNKNOWN_KEY, "[serverr]", f->user_path, "unknown group");
}

static void
test_unknown_key (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  write_file (f->user_path, "[server]\nprot = 1\n");

  g_assert_false (load (f->config, NONE, NONE, &error));

  assert_error (error, WB_CONFIG_ERROR_UNKNOWN_KEY, "server.prot", f->user_path, "unknown key");
  g_assert_nonnull (strstr (error->message, "port"));
}

/* A localized key is still a key we do not know. */
static void
test_localized_key (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  write_file (f->user_path, "[log]\nlevel[de] = debug\n");

  g_assert_false (load (f->config, NONE, NONE, &error));

  assert_error (error, WB_CONFIG_ERROR_UNKNOWN_KEY, "log.level[de]", f->user_path, "unknown key");
}

static void
test_bad_escape (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  write_file (f->user_path, "[kafka]\ngroup-id = a\\qb\n");

  g_assert_false (load (f->config, NONE, NONE, &error));

  assert_error (error, WB_CONFIG_ERROR_INVALID_VALUE, "kafka.group-id", f->user_path, NULL);
}

/* Command line */

static void
test_unknown_option (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  g_assert_false (load (f->config, ARGS ("--prot", "1"), NONE, &error));

  g_assert_error (error, WB_CONFIG_ERROR, WB_CONFIG_ERROR_UNKNOWN_OPTION);
  g_assert_null (strchr (error->message, '\n'));
  g_assert_true (g_str_has_prefix (error->message, "command line: "));
  g_assert_nonnull (strstr (error->message, "--prot"));
}

/* A secret on a command line is visible to every local user through ps. */
static void
test_no_secret_option (Fixture       *f,
                       gconstpointer  data)
{
  static const char *attempts[] = { "--hs256-secret", "--auth-hs256-secret", "--secret" };

  for (guint i = 0; i < G_N_ELEMENTS (attempts); i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_false (load (f->config, ARGS (attempts[i], SECRET), NONE, &error));
      g_assert_error (error, WB_CONFIG_ERROR, WB_CONFIG_ERROR_UNKNOWN_OPTION);
    }
}

static void
test_missing_argument (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  g_assert_false (load (f->config, ARGS ("--port"), NONE, &error));

  g_assert_error (error, WB_CONFIG_ERROR, WB_CONFIG_ERROR_INVALID_VALUE);
  g_assert_null (strchr (error->message, '\n'));
  g_assert_nonnull (strstr (error->message, "--port"));
}

static void
test_positional_arguments (Fixture       *f,
                           gconstpointer  data)
{
  g_auto(GStrv) argv = g_strdupv ((char **) ARGS ("waybilld", "token", "--port", "1", "extra"));
  g_autoptr(GError) error = NULL;

  g_assert_true (wb_config_load (f->config, &argv, NONE, &error));
  g_assert_no_error (error);

  g_assert_cmpstrv (argv, ARGS ("waybilld", "token", "extra"));
  g_assert_cmpint (wb_config_get_int (f->config, "server.port"), ==, 1);
}

/* Without a command line, the keyfile and environment still apply. */
static void
test_no_command_line (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  write_file (f->user_path, "[bus]\nqueue-size = 5\n");

  g_assert_true (wb_config_load (f->config, NULL, ARGS ("SERVER_PORT=9002"), &error));
  g_assert_no_error (error);

  g_assert_cmpint (wb_config_get_int (f->config, "bus.queue-size"), ==, 5);
  g_assert_cmpint (wb_config_get_int (f->config, "server.port"), ==, 9002);
}

static void
test_extra_entries (Fixture       *f,
                    gconstpointer  data)
{
  g_autofree char *ttl = NULL;
  g_autofree char *role = NULL;
  const GOptionEntry entries[] = {
    { "ttl", 0, 0, G_OPTION_ARG_STRING, &ttl, "Token lifetime", "DURATION" },
    { "role", 0, 0, G_OPTION_ARG_STRING, &role, "Token role", "ROLE" },
    { NULL }
  };
  g_auto(GStrv) argv = g_strdupv ((char **) ARGS ("waybilld", "token", "--ttl", "8h", "--role=admin", "--port", "7"));
  g_autoptr(GError) error = NULL;
  gint64 ttl_ms = 0;

  wb_config_add_option_entries (f->config, entries);
  g_assert_true (wb_config_load (f->config, &argv, NONE, &error));
  g_assert_no_error (error);

  g_assert_cmpstrv (argv, ARGS ("waybilld", "token"));
  g_assert_cmpstr (ttl, ==, "8h");
  g_assert_cmpstr (role, ==, "admin");
  g_assert_cmpint (wb_config_get_int (f->config, "server.port"), ==, 7);
  g_assert_true (wb_config_parse_duration (ttl, 1000, &ttl_ms, &error));
  g_assert_cmpint (ttl_ms, ==, 8 * 3600 * 1000);
}

/* A load that fails leaves the previous values, file and the caller's argv. */
static void
test_all_or_nothing (Fixture       *f,
                     gconstpointer  data)
{
  g_auto(GStrv) argv = NULL;
  g_autoptr(GError) error = NULL;

  write_file (f->user_path, "[log]\nlevel = debug\n");
  load_ok (f->config, ARGS ("--port", "9000"), NONE);

  write_file (f->other_path, "[log]\nlevel = warning\n[bus]\nqueue-size = 5\n");
  argv = g_strdupv ((char **) ARGS ("waybilld", "--config", f->other_path, "--port", "7000", "token"));
  g_assert_false (wb_config_load (f->config, &argv, ARGS ("KAFKA_GROUPID=ok", "SERVER_PORT=70000"), &error));
  assert_error (error, WB_CONFIG_ERROR_INVALID_VALUE, "server.port", "SERVER_PORT", NULL);

  g_assert_cmpint (wb_config_get_int (f->config, "server.port"), ==, 9000);
  g_assert_cmpint (wb_config_get_source (f->config, "server.port"), ==, WB_CONFIG_SOURCE_COMMAND_LINE);
  g_assert_cmpstr (wb_config_get_string (f->config, "log.level"), ==, "debug");
  g_assert_cmpint (wb_config_get_int (f->config, "bus.queue-size"), ==, 4096);
  g_assert_cmpstr (wb_config_get_string (f->config, "kafka.group-id"), ==, "waybill");
  g_assert_cmpstr (wb_config_get_file (f->config), ==, f->user_path);
  g_assert_cmpuint (g_strv_length (argv), ==, 6);
  g_assert_cmpstr (argv[1], ==, "--config");
}

/* Invalid values: each one through every source its key has. */

typedef struct
{
  const char *name;
  const char *key;
  const char *value;
  const char *problem;
} InvalidCase;

static const InvalidCase invalid_cases[] = {
  { "port-out-of-range", "server.port", "70000", "\"70000\" is out of range 0–65535" },
  { "port-negative", "server.port", "-1", "out of range 0–65535" },
  { "port-not-a-number", "server.port", "abc", "\"abc\" is not a number" },
  { "port-trailing-garbage", "server.port", "80x", "\"80x\" is not a number" },
  { "port-empty", "server.port", "", "\"\" is not a number" },
  { "port-huge", "server.port", "99999999999999999999999", "out of range" },
  { "int-below-range", "server.max-header-count", "0", "\"0\" is out of range 1–1000" },
  { "int-above-range", "server.max-header-count", "1001", "out of range 1–1000" },
  { "int-not-a-number", "bus.queue-size", "4k", "is not a number" },
  { "pool-size-above-range", "database.pool-size", "65", "out of range 1–64" },
  { "connections-above-range", "server.max-connections", "100001", "out of range 1–100000" },
  { "size-bad-suffix", "server.max-body-size", "12Q", "is not a size" },
  { "size-two-letter-suffix", "server.max-body-size", "1KB", "is not a size" },
  { "size-no-digits", "server.max-body-size", "K", "is not a size" },
  { "size-negative", "server.max-body-size", "-1", "is not a size" },
  { "size-zero", "server.max-header-size", "0", "below the minimum of 1" },
  { "size-too-large", "server.max-body-size", "9999999999G", "is too large" },
  { "duration-bad-unit", "server.idle-timeout", "10x", "is not a duration" },
  { "duration-negative", "server.idle-timeout", "-5s", "is not a duration" },
  { "duration-fraction", "server.shutdown-timeout", "1.5s", "is not a duration" },
  { "duration-no-digits", "server.idle-timeout", "s", "is not a duration" },
  { "duration-empty", "server.idle-timeout", "", "is not a duration" },
  { "duration-too-large", "server.idle-timeout", "9999999999999999d", "is too large" },
  { "duration-kafka", "kafka.timeout", "ten", "bare number of milliseconds" },
  { "dsn-missing-equals", "database.dsn", "host=db port", "not a valid connection string" },
  { "dsn-bad-uri", "database.dsn", "postgresql://[::1/db", "not a valid connection string" },
  { "dsn-unknown-keyword", "database.dsn", "hots=db", "not a valid connection string" },
  { "enum-format", "log.format", "xml", "\"xml\" is not one of auto, text, json, journal" },
  { "enum-level", "log.level", "critical", "is not one of debug, info, message, warning" },
  { "roles-unknown", "daemon.roles", "api,bogus", "\"bogus\" is not one of all, api" },
  { "roles-empty-item", "daemon.roles", "api,,ingest", "has an empty item" },
  { "roles-trailing-comma", "daemon.roles", "api,", "has an empty item" },
  { "roles-empty", "daemon.roles", "", "must not be empty" },
  { "brokers-no-port", "kafka.brokers", "kafka", "is not host:port" },
  { "brokers-port-zero", "kafka.brokers", "kafka:0", "range 1–65535" },
  { "brokers-port-large", "kafka.brokers", "a:1,kafka:99999", "\"kafka:99999\" has no port in range" },
  { "brokers-port-text", "kafka.brokers", "kafka:http", "has no port in range" },
  { "brokers-no-host", "kafka.brokers", ":9092", "has no host" },
  { "brokers-empty-ipv6", "kafka.brokers", "[]:9092", "has no host" },
  { "brokers-bare-ipv6", "kafka.brokers", "::1:9092", "[address]:port" },
  { "brokers-empty-item", "kafka.brokers", "a:1,", "has an empty item" },
  { "group-id-empty", "kafka.group-id", "", "must not be empty" },
  { "group-id-blank", "kafka.group-id", "   ", "must not be empty" },
  { "url-scheme", "otlp.endpoint", "ftp://collector", "is not an http or https URL" },
  { "url-not-a-url", "otlp.endpoint", "http://collector:port/", "is not a URL" },
  { "url-no-scheme", "otlp.endpoint", "collector:4318", "is not an http or https URL" },
  { "url-no-host", "otlp.endpoint", "http://", "has no host" },
  { "url-no-authority", "otlp.endpoint", "http:/v1/traces", "has no host" },
  { "secret-short", "auth.hs256-secret", "too-short-secret", "is 16 bytes long; at least 32" },
  { "secret-31-bytes", "auth.hs256-secret", "0123456789abcdef0123456789abcde", "is 31 bytes long" },
  { "address-hostname", "server.address", "example.com", "is not an IP address" },
  { "address-bad-ip", "server.address", "300.1.2.3", "is not an IP address" },
  { "address-empty", "server.address", "", "is not an IP address" },
};

static void
check_invalid (const InvalidCase  *test,
               const char * const *args,
               const char * const *env,
               const char         *config_path,
               const char         *origin)
{
  g_autoptr(WbConfig) config = wb_config_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;

  wb_config_set_default_paths (config, config_path, NULL);
  before = wb_config_describe (config);
  g_assert_false (load (config, args, env, &error));
  assert_error (error, WB_CONFIG_ERROR_INVALID_VALUE, test->key, origin, test->problem);
  after = wb_config_describe (config);
  g_assert_cmpstr (before, ==, after);
}

static void
test_invalid_value (gconstpointer data)
{
  const InvalidCase *test = data;
  const WbConfigKey *key = table_key (test->key);
  g_autofree char *path = g_build_filename (g_get_user_config_dir (), "invalid.conf", NULL);
  g_autofree char *contents = g_strdup_printf ("[%.*s]\n%s = %s\n", (int) (strchr (test->key, '.') - test->key),
                                               test->key, strchr (test->key, '.') + 1, test->value);

  write_file (path, contents);
  check_invalid (test, NONE, NONE, path, path);

  if (key->long_option != NULL)
    {
      g_autofree char *option = g_strconcat ("--", key->long_option, NULL);

      check_invalid (test, ARGS (option, test->value), NONE, NULL, option);
    }
  /* An empty variable counts as unset, so it cannot be invalid. */
  for (guint i = 0; key->env != NULL && key->env[i] != NULL && *test->value != '\0'; i++)
    {
      g_autofree char *variable = g_strconcat (key->env[i], "=", test->value, NULL);

      check_invalid (test, NONE, ARGS (variable), NULL, key->env[i]);
    }
}

/* The example message from the issue, word for word. */
static void
test_error_message_example (Fixture       *f,
                            gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  g_assert_false (load (f->config, NONE, ARGS ("SERVER_PORT=70000"), &error));

  g_assert_error (error, WB_CONFIG_ERROR, WB_CONFIG_ERROR_INVALID_VALUE);
  g_assert_cmpstr (error->message, ==, "server.port (from SERVER_PORT): \"70000\" is out of range 0–65535");
}

static void
test_error_hides_secret (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(GError) env_error = NULL;
  g_autoptr(GError) file_error = NULL;

  g_assert_false (load (f->config, NONE, ARGS ("AUTH_HS256SECRET=hunter2-short"), &env_error));
  g_assert_null (strstr (env_error->message, "hunter2"));

  write_file (f->user_path, "[auth]\nhs256-secret = hunter2-short\n");
  g_assert_false (load (f->config, NONE, NONE, &file_error));
  g_assert_null (strstr (file_error->message, "hunter2"));
}

/* No three characters in a row of @password appear in @message. */
static void
assert_no_part_of (const char *message,
                   const char *password)
{
  for (gsize i = 0; i + 3 <= strlen (password); i++)
    {
      g_autofree char *part = g_strndup (password + i, 3);

      if (strstr (message, part) != NULL)
        g_error ("“%s” shows “%s”, part of the password “%s”", message, part, password);
    }
}

/* Malformed DSNs, keyword and URI forms: libpq's own message would quote
 * the string (a URI whole) or a fragment of it. */
static const struct
{
  const char *dsn;
  const char *password;
  const char *problem;
} leaky_dsns[] = {
  { "host=db password=Zx9Qv7 port", "Zx9Qv7", "keyword" },
  { "host=db password='Zx9Qv7", "Zx9Qv7", "quote" },
  { "host=db Zx9Qv7", "Zx9Qv7", "keyword" },
  { "host=db password=Zx9 Qv7=1", "Zx9 Qv7=1", "connection option" },
  { "postgresql://u:Zx9Qv7@[]/x", "Zx9Qv7", "IPv6" },
  { "postgresql://u:Zx9%zzQv7@h/x", "Zx9%zzQv7", "percent" },
  { "postgresql://u:Zx9%00Qv7@h/x", "Zx9%00Qv7", "NUL" },
  { "postgresql://u:Zx9Qv7@[::1/x", "Zx9Qv7", "]" },
  { "postgresql://u:Zx9Qv7@[::1]x/y", "Zx9Qv7", "unexpected character" },
  { "postgres://u@h/x?password=Zx9&Qv7=1", "Zx9&Qv7=1", "query parameter" },
  { "postgres://u@h/x?password=Zx9=Qv7", "Zx9=Qv7", "query parameter" },
  { "postgres://u@h/x?Zx9Qv7", "Zx9Qv7", "query parameter" },
};

static void
test_error_hides_dsn (Fixture       *f,
                      gconstpointer  data)
{
  for (guint i = 0; i < G_N_ELEMENTS (leaky_dsns); i++)
    {
      g_autofree char *env = g_strconcat ("DB_DSN=", leaky_dsns[i].dsn, NULL);
      g_autofree char *escaped = g_strescape (leaky_dsns[i].dsn, NULL);
      g_autofree char *file = g_strdup_printf ("[database]\ndsn = %s\n", escaped);
      g_autoptr(GError) env_error = NULL;
      g_autoptr(GError) option_error = NULL;
      g_autoptr(GError) file_error = NULL;

      g_test_message ("%s", leaky_dsns[i].dsn);
      g_assert_false (load (f->config, NONE, ARGS (env), &env_error));
      assert_error (env_error, WB_CONFIG_ERROR_INVALID_VALUE, "database.dsn", "DB_DSN", leaky_dsns[i].problem);
      assert_no_part_of (env_error->message, leaky_dsns[i].password);

      g_assert_false (load (f->config, ARGS ("--db-dsn", leaky_dsns[i].dsn), NONE, &option_error));
      assert_error (option_error, WB_CONFIG_ERROR_INVALID_VALUE, "database.dsn", "--db-dsn", leaky_dsns[i].problem);
      assert_no_part_of (option_error->message, leaky_dsns[i].password);

      write_file (f->user_path, file);
      g_assert_false (load (f->config, NONE, NONE, &file_error));
      g_assert_nonnull (strstr (file_error->message, "database.dsn"));
      assert_no_part_of (file_error->message, leaky_dsns[i].password);
      g_unlink (f->user_path);
    }
}

/* describe() */

static void
test_describe (Fixture       *f,
               gconstpointer  data)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;

  write_file (f->user_path, "[log]\nlevel = debug\n");
  load_ok (f->config, ARGS ("--port", "9000"), ARGS ("AUTH_HS256SECRET=" SECRET));
  text = wb_config_describe (f->config);
  lines = g_strsplit (text, "\n", -1);

  g_assert_cmpuint (g_strv_length (lines), ==, wb_config_n_keys + 1);
  g_assert_true (g_strv_contains ((const char * const *) lines, "server.port = 9000 (from --port)"));
  g_assert_true (g_strv_contains ((const char * const *) lines, "server.address = 127.0.0.1 (default)"));
  g_assert_true (g_strv_contains ((const char * const *) lines, "auth.hs256-secret = (set) (from AUTH_HS256SECRET)"));
  g_assert_nonnull (strstr (text, "log.level = debug (from "));
  g_assert_null (strstr (text, "hunter2"));
  g_assert_null (strstr (text, "0123456789abcdef"));
}

static void
test_describe_unset_secret (Fixture       *f,
                            gconstpointer  data)
{
  g_autofree char *text = wb_config_describe (f->config);

  g_assert_nonnull (strstr (text, "auth.hs256-secret = (not set) (default)\n"));
}

static void
test_describe_secret_from_file (Fixture       *f,
                                gconstpointer  data)
{
  g_autofree char *text = NULL;

  write_file (f->user_path, "[auth]\nhs256-secret = " SECRET "\n");
  load_ok (f->config, NONE, NONE);
  text = wb_config_describe (f->config);

  g_assert_cmpstr (wb_config_get_string (f->config, "auth.hs256-secret"), ==, SECRET);
  g_assert_null (strstr (text, "hunter2"));
}

static void
test_describe_masks_dsn (Fixture       *f,
                         gconstpointer  data)
{
  static const char *dsns[] = {
    "host=db user=waybill password=hunter2 dbname=waybill",
    "host=db password='hunter2 with spaces' dbname=waybill",
    "postgresql://waybill:hunter2@db:5432/waybill?sslmode=require",
    "postgresql://db/waybill?password=hunter2",
  };

  for (guint i = 0; i < G_N_ELEMENTS (dsns); i++)
    {
      g_autofree char *text = NULL;

      load_ok (f->config, ARGS ("--db-dsn", dsns[i]), NONE);
      text = wb_config_describe (f->config);

      g_assert_cmpstr (wb_config_get_string (f->config, "database.dsn"), ==, dsns[i]);
      g_assert_null (strstr (text, "hunter2"));
      g_assert_nonnull (strstr (text, "password=********"));
      g_assert_nonnull (strstr (text, "host=db"));
    }
}

static void
test_describe_masks_url (Fixture       *f,
                         gconstpointer  data)
{
  g_autofree char *text = NULL;

  load_ok (f->config, NONE, ARGS ("OTLP_ENDPOINT=https://user:hunter2@collector:4318/v1/traces"));
  text = wb_config_describe (f->config);

  g_assert_null (strstr (text, "hunter2"));
  g_assert_nonnull (strstr (text, "otlp.endpoint = https://user@collector:4318/v1/traces (from OTLP_ENDPOINT)"));
}

/* Duration parser */

static void
test_duration_valid (void)
{
  static const struct { const char *text; gint64 bare_unit_ms; gint64 ms; } cases[] = {
    { "250ms", 1000, 250 },
    { "10s", 1000, 10000 },
    { "5m", 1000, 5 * 60000 },
    { "8h", 1000, 8 * 3600000 },
    { "1d", 1000, 86400000 },
    { "0", 1000, 0 },
    { "0s", 1000, 0 },
    { "42", 1000, 42000 },
    { "42", 1, 42 },
    { "3", 60000, 180000 },
    { "007s", 1000, 7000 },
    { "106751991167d", 1000, G_GINT64_CONSTANT (106751991167) * 86400000 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      gint64 ms = -1;

      g_assert_true (wb_config_parse_duration (cases[i].text, cases[i].bare_unit_ms, &ms, &error));
      g_assert_no_error (error);
      g_assert_cmpint (ms, ==, cases[i].ms);
    }
}

static void
test_duration_invalid (void)
{
  static const char *cases[] = {
    "", "s", "ms", "-1", "-5s", "+5s", "1.5s", "10 s", " 10s", "10S", "10sec", "1h30m",
    "5w", "0x10", "9223372036854775808", "106751991168d", "99999999999999999999ms",
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      gint64 ms = -1;

      g_assert_false (wb_config_parse_duration (cases[i], 1000, &ms, &error));
      g_assert_error (error, WB_CONFIG_ERROR, WB_CONFIG_ERROR_INVALID_VALUE);
      g_assert_null (strchr (error->message, '\n'));
      g_assert_cmpint (ms, ==, -1);
    }
}

/* Getters on keys the table lacks are programming errors, not crashes. */
static void
test_getter_unknown_key (Fixture       *f,
                         gconstpointer  data)
{
  g_auto(GStrv) items = NULL;

  g_test_expect_message ("Waybill-Config", G_LOG_LEVEL_CRITICAL, "*server.prot*");
  g_assert_cmpstr (wb_config_get_string (f->config, "server.prot"), ==, "");
  g_test_expect_message ("Waybill-Config", G_LOG_LEVEL_CRITICAL, "*nope*");
  g_assert_cmpint (wb_config_get_int (f->config, "nope"), ==, 0);
  g_test_expect_message ("Waybill-Config", G_LOG_LEVEL_CRITICAL, "*nope*");
  g_assert_cmpint (wb_config_get_source (f->config, "nope"), ==, WB_CONFIG_SOURCE_DEFAULT);
  g_test_expect_message ("Waybill-Config", G_LOG_LEVEL_CRITICAL, "*nope*");
  g_assert_null (wb_config_get_origin (f->config, "nope"));
  g_test_expect_message ("Waybill-Config", G_LOG_LEVEL_CRITICAL, "*log.level*not a number*");
  g_assert_cmpint (wb_config_get_int (f->config, "log.level"), ==, 0);
  g_test_expect_message ("Waybill-Config", G_LOG_LEVEL_CRITICAL, "*server.port*not a list*");
  items = wb_config_get_strv (f->config, "server.port");
  g_assert_cmpstrv (items, NONE);
  g_test_assert_expected_messages ();
}

/* --help */

static void
test_help (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(WbConfig) config = wb_config_new ();

      wb_config_set_summary (config, "Summary for the test.");
      load (config, ARGS ("--help"), NONE, NULL);
      g_assert_not_reached ();
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stdout ("*Summary for the test.*");
  g_test_trap_assert_stdout ("*--config=FILE*");
  g_test_trap_assert_stdout ("*--port=PORT*HTTP port*key server.port, env SERVER_PORT, default 8080*");
  g_test_trap_assert_stdout ("*--kafka-brokers=*env KAFKA_BROKERS, REDPANDA_BROKERS*");
  g_test_trap_assert_stdout ("*--roles=NAME,...*all, api, ingest, fleet, tracker, scheduler, carrier-worker, gateway, dispatch*");
  g_test_trap_assert_stdout ("*--log-format=auto|text|json|journal*");
  g_test_trap_assert_stdout ("*auth.hs256-secret*AUTH_HS256SECRET (no command-line option*");
  g_test_trap_assert_stdout_unmatched ("*--hs256-secret*");
  g_test_trap_assert_stdout_unmatched ("*--auth*");
  for (guint i = 0; i < wb_config_n_keys; i++)
    {
      const WbConfigKey *key = &wb_config_keys[i];
      g_autofree char *pattern = NULL;

      if (key->env != NULL)
        pattern = g_strdup_printf ("*\n  %s *%s*", key->key, key->env[0]);
      else
        pattern = g_strdup_printf ("*\n  %s\n*", key->key);
      g_test_trap_assert_stdout (pattern);
      g_clear_pointer (&pattern, g_free);
      if (key->long_option == NULL)
        continue;
      pattern = g_strdup_printf ("*--%s=*(key %s*", key->long_option, key->key);
      g_test_trap_assert_stdout (pattern);
      for (guint n = 0; key->env != NULL && key->env[n] != NULL; n++)
        {
          g_clear_pointer (&pattern, g_free);
          pattern = g_strdup_printf ("*--%s=*env *%s*", key->long_option, key->env[n]);
          g_test_trap_assert_stdout (pattern);
        }
    }
}

/* The sample keyfile */

static char *
sample_path (void)
{
  return g_test_build_filename (G_TEST_DIST, "..", "data", "waybilld.conf.sample", NULL);
}

static void
test_sample_loads (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *path = sample_path ();
  g_autofree char *defaults = wb_config_describe (f->config);
  g_autofree char *loaded = NULL;

  load_ok (f->config, ARGS ("--config", path), NONE);

  g_assert_cmpstr (wb_config_get_file (f->config), ==, path);
  loaded = wb_config_describe (f->config);
  g_assert_cmpstr (loaded, ==, defaults);
}

/* Uncommented, the sample sets every key to its default. */
static void
test_sample_complete (Fixture       *f,
                      gconstpointer  data)
{
  g_autofree char *path = sample_path ();
  g_autofree char *contents = NULL;
  g_autoptr(GRegex) commented_key = g_regex_new ("^#(?=[a-z])", G_REGEX_MULTILINE, 0, NULL);
  g_autofree char *uncommented = NULL;
  g_autoptr(GError) error = NULL;

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  uncommented = g_regex_replace_literal (commented_key, contents, -1, 0, "", 0, &error);
  g_assert_no_error (error);
  write_file (f->other_path, uncommented);

  load_ok (f->config, ARGS ("--config", f->other_path), NONE);

  for (guint i = 0; i < wb_config_n_keys; i++)
    {
      const WbConfigKey *key = &wb_config_keys[i];

      if (wb_config_get_source (f->config, key->key) != WB_CONFIG_SOURCE_FILE)
        g_error ("%s is missing from the sample", key->key);
      g_assert_cmpstr (wb_config_get_string (f->config, key->key), ==, key->default_value);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

  ADD ("/config/defaults", test_defaults);
  g_test_add_func ("/config/table", test_table);
  ADD ("/config/valid-values", test_valid_values);
  ADD ("/config/empty-lists", test_empty_lists);

  ADD ("/config/precedence/file-over-default", test_file_over_default);
  ADD ("/config/precedence/env-over-file", test_env_over_file);
  ADD ("/config/precedence/command-line-over-env", test_command_line_over_env);
  ADD ("/config/precedence/command-line-last-wins", test_command_line_last_wins);

  ADD ("/config/env/names", test_env_names);
  ADD ("/config/env/brokers-alias", test_brokers_alias);
  ADD ("/config/env/brokers-precedence", test_brokers_precedence);
  ADD ("/config/env/empty-ignored", test_env_empty_ignored);

  ADD ("/config/file/explicit", test_explicit_file);
  ADD ("/config/file/user-over-system", test_user_over_system);
  ADD ("/config/file/system-fallback", test_system_fallback);
  g_test_add_func ("/config/file/default-user-path", test_default_user_path);
  ADD ("/config/file/missing-explicit", test_missing_explicit_file);
  ADD ("/config/file/malformed", test_malformed_file);
  ADD ("/config/file/unknown-group", test_unknown_group);
  ADD ("/config/file/unknown-key", test_unknown_key);
  ADD ("/config/file/localized-key", test_localized_key);
  ADD ("/config/file/bad-escape", test_bad_escape);

  ADD ("/config/command-line/unknown-option", test_unknown_option);
  ADD ("/config/command-line/no-secret-option", test_no_secret_option);
  ADD ("/config/command-line/missing-argument", test_missing_argument);
  ADD ("/config/command-line/positional-arguments", test_positional_arguments);
  ADD ("/config/command-line/extra-entries", test_extra_entries);
  ADD ("/config/command-line/none", test_no_command_line);
  g_test_add_func ("/config/command-line/help", test_help);

  ADD ("/config/all-or-nothing", test_all_or_nothing);

  for (guint i = 0; i < G_N_ELEMENTS (invalid_cases); i++)
    {
      g_autofree char *path = g_strconcat ("/config/invalid/", invalid_cases[i].name, NULL);

      g_test_add_data_func (path, &invalid_cases[i], test_invalid_value);
    }
  ADD ("/config/error/message-example", test_error_message_example);
  ADD ("/config/error/hides-secret", test_error_hides_secret);
  ADD ("/config/error/hides-dsn", test_error_hides_dsn);

  ADD ("/config/describe/sources", test_describe);
  ADD ("/config/describe/unset-secret", test_describe_unset_secret);
  ADD ("/config/describe/secret-from-file", test_describe_secret_from_file);
  ADD ("/config/describe/masks-dsn", test_describe_masks_dsn);
  ADD ("/config/describe/masks-url", test_describe_masks_url);

  g_test_add_func ("/config/duration/valid", test_duration_valid);
  g_test_add_func ("/config/duration/invalid", test_duration_invalid);

  ADD ("/config/getters/unknown-key", test_getter_unknown_key);

  ADD ("/config/sample/loads", test_sample_loads);
  ADD ("/config/sample/complete", test_sample_complete);

#undef ADD

  return g_test_run ();
}
