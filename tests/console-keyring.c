// SPDX-License-Identifier: GPL-3.0-or-later
/* The access token in a real Secret Service: gnome-keyring on the test's
 * private session bus (meson runs it under dbus-run-session), its login
 * keyring created and unlocked from a password on stdin, in a data
 * directory of the test's own. wb-token-store saves, finds, replaces and
 * misses a token; the console's first-run page, connecting to a real
 * waybilld, remembers the token in the keyring and the server in the
 * settings. */
#include "config.h"

#include <adwaita.h>
#include <libsecret/secret.h>
#include <libsoup/soup.h>
#include <signal.h>
#include <string.h>

#include "wb-application.h"
#include "wb-console-init.h"
#include "wb-first-run-page.h"
#include "wb-jwt.h"
#include "wb-test-daemon.h"
#include "wb-test-pg.h"
#include "wb-token-store.h"
#include "wb-window.h"

#define SECRET   "keyring-test-secret-of-enough-length-0123456789"
#define PASSWORD "waybill-test-keyring"

#define WAIT_FOR(condition) \
  G_STMT_START { \
    gint64 wait_deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC; \
    while (!(condition)) \
      { \
        if (g_get_monotonic_time () > wait_deadline) \
          g_error ("timed out waiting for %s", #condition); \
        if (!g_main_context_iteration (NULL, FALSE)) \
          g_usleep (2000); \
      } \
  } G_STMT_END

static GSubprocess *keyring;
static char        *keyring_missing;   /* why no keyring runs, or %NULL */

/* ---- the keyring ----------------------------------------------------------- */

/* Whether the Secret Service answers with a login collection (the default
 * alias points there; libsecret stores into it without a prompt). */
static gboolean
login_collection_ready (GDBusConnection *bus)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autofree const char **paths = NULL;

  reply = g_dbus_connection_call_sync (bus, "org.freedesktop.secrets", "/org/freedesktop/secrets",
                                       "org.freedesktop.DBus.Properties", "Get",
                                       g_variant_new ("(ss)", "org.freedesktop.Secret.Service", "Collections"),
                                       G_VARIANT_TYPE ("(v)"), G_DBUS_CALL_FLAGS_NO_AUTO_START, 1000, NULL, NULL);
  if (reply == NULL)
    return FALSE;
  g_variant_get (reply, "(v)", &value);
  paths = g_variant_get_objv (value, NULL);
  for (guint i = 0; paths[i] != NULL; i++)
    if (g_str_has_suffix (paths[i], "/collection/login"))
      return TRUE;
  return FALSE;
}

/* gnome-keyring-daemon --unlock reads the login keyring's password from
 * stdin and creates that keyring when there is none: the default
 * collection, unlocked, with no prompt (a prompt would need someone to
 * answer it). */
static void
start_keyring (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) bus = NULL;
  g_autofree char *program = g_find_program_in_path ("gnome-keyring-daemon");
  GOutputStream *input;
  gint64 deadline;

  if (g_getenv ("DBUS_SESSION_BUS_ADDRESS") == NULL)
    {
      keyring_missing = g_strdup ("no session bus: run under dbus-run-session");
      return;
    }
  if (program == NULL)
    {
      keyring_missing = g_strdup ("gnome-keyring-daemon is not installed (Debian package gnome-keyring)");
      return;
    }
  bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  g_assert_no_error (error);
  keyring = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE, &error,
                              program, "--foreground", "--components=secrets", "--unlock", NULL);
  g_assert_no_error (error);
  input = g_subprocess_get_stdin_pipe (keyring);
  g_assert_true (g_output_stream_write_all (input, PASSWORD, strlen (PASSWORD), NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_output_stream_close (input, NULL, &error));
  g_assert_no_error (error);

  deadline = g_get_monotonic_time () + 15 * G_USEC_PER_SEC;
  while (!login_collection_ready (bus))
    {
      if (g_subprocess_get_identifier (keyring) == NULL)
        {
          keyring_missing = g_strdup_printf ("gnome-keyring-daemon exited (status %d) before its login keyring was "
                                             "ready", g_subprocess_get_status (keyring));
          g_clear_object (&keyring);
          return;
        }
      if (g_get_monotonic_time () > deadline)
        {
          keyring_missing = g_strdup ("gnome-keyring-daemon never offered a login collection on the session bus");
          return;
        }
      g_usleep (50 * 1000);
    }
}

static void
stop_keyring (void)
{
  if (keyring == NULL)
    return;
  g_subprocess_send_signal (keyring, SIGTERM);
  g_subprocess_wait (keyring, NULL, NULL);
  g_clear_object (&keyring);
}

/* ---- waiting for answers ---------------------------------------------------- */

static void
on_result (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  *(GAsyncResult **) data = g_object_ref (result);
}

static void
save (const char *server_url,
      const char *token)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  wb_token_store_save_async (server_url, token, NULL, on_result, &result);
  WAIT_FOR (result != NULL);
  g_assert_true (wb_token_store_save_finish (result, &error));
  g_assert_no_error (error);
}

static char *
lookup (const char *server_url)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  char *token;

  wb_token_store_lookup_async (server_url, NULL, on_result, &result);
  WAIT_FOR (result != NULL);
  token = wb_token_store_lookup_finish (result, &error);
  g_assert_no_error (error);
  return token;
}

/* The keyring's own items for @server_url under the schema docs/console.md
 * names (libsecret stores it as the xdg:schema attribute), asked of the
 * Secret Service over D-Bus: what another program sees. */
static guint
items_in_keyring (const char *server_url,
                  char      **out_secret)
{
  static const SecretSchema schema = {
    "org.waybill.Waybill.Token", SECRET_SCHEMA_NONE,
    {
      { "server", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { NULL, 0 },
    },
    0, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) unlocked = NULL;
  g_autoptr(GVariant) locked = NULL;
  GVariantBuilder attributes;

  g_assert_no_error (error);
  g_variant_builder_init (&attributes, G_VARIANT_TYPE ("a{ss}"));
  g_variant_builder_add (&attributes, "{ss}", "xdg:schema", "org.waybill.Waybill.Token");
  g_variant_builder_add (&attributes, "{ss}", "server", server_url);
  reply = g_dbus_connection_call_sync (bus, "org.freedesktop.secrets", "/org/freedesktop/secrets",
                                       "org.freedesktop.Secret.Service", "SearchItems",
                                       g_variant_new ("(a{ss})", &attributes), G_VARIANT_TYPE ("(aoao)"),
                                       G_DBUS_CALL_FLAGS_NO_AUTO_START, 5000, NULL, &error);
  g_assert_no_error (error);
  g_variant_get (reply, "(@ao@ao)", &unlocked, &locked);
  /* The login keyring is unlocked: nothing may hide in a locked one. */
  g_assert_cmpuint (g_variant_n_children (locked), ==, 0);
  if (out_secret != NULL)
    {
      *out_secret = secret_password_lookup_sync (&schema, NULL, &error, "server", server_url, NULL);
      g_assert_no_error (error);
    }
  return g_variant_n_children (unlocked);
}

/* ---- wb-token-store ---------------------------------------------------------- */

static void
test_token_store (void)
{
  const char *a = "https://fleet-a.example:8443";
  const char *b = "https://fleet-b.example";
  g_autofree char *token = NULL;
  g_autofree char *stored = NULL;

  if (keyring_missing != NULL)
    {
      g_test_skip (keyring_missing);
      return;
    }

  g_assert_null (lookup (a));
  save (a, "token-one");
  token = lookup (a);
  g_assert_cmpstr (token, ==, "token-one");
  g_assert_cmpuint (items_in_keyring (a, &stored), ==, 1);
  g_assert_cmpstr (stored, ==, "token-one");
  g_clear_pointer (&token, g_free);
  g_clear_pointer (&stored, g_free);

  /* Saved again for the same server: replaced, not a second item. */
  save (a, "token-two");
  token = lookup (a);
  g_assert_cmpstr (token, ==, "token-two");
  g_assert_cmpuint (items_in_keyring (a, &stored), ==, 1);
  g_assert_cmpstr (stored, ==, "token-two");
  g_clear_pointer (&token, g_free);
  g_clear_pointer (&stored, g_free);

  /* Another server has none, without an error; then its own. */
  g_assert_null (lookup (b));
  g_assert_cmpuint (items_in_keyring (b, NULL), ==, 0);
  save (b, "token-b");
  token = lookup (b);
  g_assert_cmpstr (token, ==, "token-b");
  g_clear_pointer (&token, g_free);
  token = lookup (a);
  g_assert_cmpstr (token, ==, "token-two");
}

/* ---- the first-run page remembers ------------------------------------------- */

typedef struct
{
  char     *url;
  char     *token;
  gboolean  done;
} Remember;

static void
collect (GtkWidget *root,
         GType      type,
         GPtrArray *found)
{
  for (GtkWidget *child = gtk_widget_get_first_child (root); child; child = gtk_widget_get_next_sibling (child))
    {
      if (G_TYPE_CHECK_INSTANCE_TYPE (child, type))
        g_ptr_array_add (found, child);
      collect (child, type, found);
    }
}

static void
run_remember_scenario (GApplication *application,
                       Remember     *remember)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (application));
  g_autoptr(GPtrArray) pages = g_ptr_array_new ();
  g_autoptr(GSettings) settings = g_settings_new ("org.waybill.Waybill");
  g_autofree char *stored = NULL;
  g_autofree char *server_url = NULL;
  WbFirstRunPage *page;

  g_assert_nonnull (window);
  collect (GTK_WIDGET (window), WB_TYPE_FIRST_RUN_PAGE, pages);
  g_assert_cmpuint (pages->len, ==, 1);
  page = g_ptr_array_index (pages, 0);

  /* Nothing is remembered before the user connects. */
  g_assert_cmpuint (items_in_keyring (remember->url, NULL), ==, 0);
  wb_first_run_page_set_url (page, remember->url);
  wb_first_run_page_set_token (page, remember->token);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "first-run.connect", NULL));
  WAIT_FOR (!wb_first_run_page_get_checking (page));
  if (wb_first_run_page_get_error (page) != NULL)
    g_error ("the first-run page refused: %s", wb_first_run_page_get_error (page)->message);

  /* Connected: the token is in the keyring under the server's URL (saved
   * asynchronously), the URL in the settings, and the token nowhere else. */
  WAIT_FOR (items_in_keyring (remember->url, NULL) == 1);
  g_assert_cmpuint (items_in_keyring (remember->url, &stored), ==, 1);
  g_assert_cmpstr (stored, ==, remember->token);
  server_url = g_settings_get_string (settings, "server-url");
  g_assert_cmpstr (server_url, ==, remember->url);
  g_clear_pointer (&stored, g_free);
  stored = lookup (remember->url);
  g_assert_cmpstr (stored, ==, remember->token);

  remember->done = TRUE;
  g_application_quit (application);
}

/* Until /readyz answers 200: the page refuses a server still starting. */
static void
wait_ready (WbTestDaemon *daemon)
{
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u/readyz", wb_test_daemon_port (daemon));
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr(SoupMessage) message = soup_message_new ("GET", uri);
      g_autoptr(GBytes) body = soup_session_send_and_read (session, message, NULL, NULL);

      if (soup_message_get_status (message) == 200)
        return;
      g_usleep (50 * 1000);
    }
  g_error ("waybilld did not become ready");
}

static void
test_first_run_remembers (void)
{
  g_autofree char *conninfo = NULL;
  g_autofree char *dsn = NULL;
  WbTestDaemon *daemon;
  g_autoptr(WbApplication) application = NULL;
  g_autoptr(GSettings) settings = NULL;
  const char *argv[] = { "waybill", "--tiles", "none", NULL };
  Remember remember = { 0 };

  if (keyring_missing != NULL)
    {
      g_test_skip (keyring_missing);
      return;
    }

  conninfo = wb_test_pg_create_database ("keyring");
  dsn = g_strconcat ("DB_DSN=", conninfo, NULL);
  {
    const char *env[] = { dsn, "SERVER_PORT=0", "AUTH_HS256SECRET=" SECRET, NULL };

    daemon = wb_test_daemon_spawn (env, NULL);
  }
  wait_ready (daemon);
  remember.url = g_strdup_printf ("http://127.0.0.1:%u", wb_test_daemon_port (daemon));
  remember.token = wb_jwt_sign ((const guint8 *) SECRET, strlen (SECRET), "keyring-viewer", WB_ACCESS_ROLE_VIEWER,
                                g_get_real_time () / G_USEC_PER_SEC, 600);

  /* No server yet: the first-run page. */
  settings = g_settings_new ("org.waybill.Waybill");
  g_settings_set_string (settings, "server-url", "");
  application = wb_application_new ();
  g_signal_connect_after (application, "activate", G_CALLBACK (run_remember_scenario), &remember);
  g_assert_cmpint (g_application_run (G_APPLICATION (application), G_N_ELEMENTS (argv) - 1, (char **) argv), ==, 0);
  g_assert_true (remember.done);

  g_assert_cmpint (wb_test_daemon_terminate (daemon), ==, 0);
  wb_test_daemon_free (daemon);
  g_free (remember.url);
  g_free (remember.token);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *home = g_dir_make_tmp ("waybill-keyring-XXXXXX", NULL);
  g_autofree char *data = g_build_filename (home, "data", NULL);
  g_autofree char *runtime = g_build_filename (home, "runtime", NULL);
  int status;

  /* The keyring's files and control socket in directories of the test's
   * own, never the user's: set before GLib reads them. */
  g_assert_nonnull (home);
  g_assert_cmpint (g_mkdir_with_parents (data, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (runtime, 0700), ==, 0);
  g_setenv ("HOME", home, TRUE);
  g_setenv ("XDG_DATA_HOME", data, TRUE);
  g_setenv ("XDG_RUNTIME_DIR", runtime, TRUE);

  gtk_test_init (&argc, &argv, NULL);
  adw_init ();
  wb_console_init ();
  start_keyring ();

  g_test_add_func ("/console-keyring/token-store", test_token_store);
  g_test_add_func ("/console-keyring/first-run-remembers", test_first_run_remembers);
  status = g_test_run ();
  stop_keyring ();
  g_free (keyring_missing);
  return status;
}
