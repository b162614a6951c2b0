// SPDX-License-Identifier: GPL-3.0-or-later
/* The console under a translated locale, against a real waybilld: the
 * language comes from $LANGUAGE (with LANG=C.UTF-8, no generated locale
 * needed), the catalogues from the build tree's po/. The main window's
 * view switcher, the .ui labels and the strings set from C read in that
 * language; a PNG screenshot per language goes to
 * $G_TEST_BUILDDIR/screenshots. */
#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <locale.h>

#include "wb-application.h"
#include "wb-console-init.h"
#include "wb-jwt.h"
#include "wb-test-daemon.h"
#include "wb-test-pg.h"
#include "wb-window.h"

#define SECRET "console-i18n-secret-of-enough-length-0123456789"

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

/* What the main window shows in each language of po/LINGUAS. */
typedef struct
{
  const char *language;
  const char *pages[5];        /* the view stack's titles, with mnemonics */
  const char *labels[3];       /* visible labels: switcher, .ui and C strings */
  const char *live;            /* the connection strip's state, set from C */
  const char *english[3];      /* none of these may be left */
} Expected;

static const Expected expected[] = {
  { "ru",
    { "_Обзор", "_Карта", "_Отправления", "_Диспетчерская", "_Отслеживание" },
    { "Карта", "На карте только отфильтрованные", "0 из 0 ТС" },
    "В эфире",
    { "Map shows filtered only", "Live", "0 of 0 vehicles" } },
  { "pt_BR",
    { "_Visão geral", "_Mapa ao vivo", "_Remessas", "_Despacho", "_Rastreios" },
    { "Mapa ao vivo", "Mapa mostra só os filtrados", "0 de 0 veículos" },
    "Ao vivo",
    { "Map shows filtered only", "Live", "0 of 0 vehicles" } },
};

typedef struct
{
  const Expected *expected;
  gboolean        done;
} Run;

static gboolean
count_frame (GtkWidget     *widget,
             GdkFrameClock *clock,
             gpointer       user_data)
{
  guint *frames = user_data;

  (*frames)++;
  return G_SOURCE_CONTINUE;
}

static void
wait_frames (GtkWidget *widget,
             guint      count)
{
  guint frames = 0;
  guint id;

  WAIT_FOR (gtk_widget_get_mapped (widget));
  id = gtk_widget_add_tick_callback (widget, count_frame, &frames, NULL);
  WAIT_FOR (frames >= count);
  gtk_widget_remove_tick_callback (widget, id);
}

static void
save_screenshot (GtkWidget  *widget,
                 const char *name)
{
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree char *dir = g_build_filename (g_getenv ("G_TEST_BUILDDIR") ?: ".", "screenshots", NULL);
  g_autofree char *path = g_build_filename (dir, name, NULL);
  int width, height;

  wait_frames (widget, 3);
  width = gtk_widget_get_width (widget);
  height = gtk_widget_get_height (widget);
  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node (snapshot);
  g_assert_nonnull (node);
  texture = gsk_renderer_render_texture (gtk_native_get_renderer (gtk_widget_get_native (widget)), node,
                                         &GRAPHENE_RECT_INIT (0, 0, width, height));
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_true (gdk_texture_save_to_png (texture, path));
  g_test_message ("screenshot: %s", path);
}

/* A label of @root showing @text on screen (mnemonic underscores aside). */
static gboolean
shows_label (GtkWidget  *root,
             const char *text)
{
  for (GtkWidget *child = gtk_widget_get_first_child (root); child; child = gtk_widget_get_next_sibling (child))
    {
      if (!gtk_widget_get_mapped (child))
        continue;
      if (GTK_IS_LABEL (child) && g_str_equal (gtk_label_get_text (GTK_LABEL (child)), text))
        return TRUE;
      if (shows_label (child, text))
        return TRUE;
    }
  return FALSE;
}

static WbTestDaemon *
start_daemon (const char *conninfo)
{
  g_autofree char *dsn = g_strconcat ("DB_DSN=", conninfo, NULL);
  const char *env[] = { dsn, "SERVER_PORT=0", "AUTH_HS256SECRET=" SECRET, NULL };
  g_autoptr(SoupSession) session = soup_session_new ();
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  WbTestDaemon *daemon = wb_test_daemon_spawn (env, NULL);

  while (g_get_monotonic_time () < deadline)
    {
      g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u/readyz", wb_test_daemon_port (daemon));
      g_autoptr(SoupMessage) message = soup_message_new ("GET", uri);
      g_autoptr(GBytes) body = soup_session_send_and_read (session, message, NULL, NULL);

      if (soup_message_get_status (message) == 200)
        return daemon;
      g_usleep (50 * 1000);
    }
  g_error ("waybilld did not become ready");
}

static void
run_scenario (GApplication *application,
              Run          *run)
{
  WbWindow *window = WB_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (application)));
  AdwViewStack *stack;
  g_autofree char *screenshot = NULL;

  g_assert_nonnull (window);
  gtk_window_set_default_size (GTK_WINDOW (window), 1280, 800);
  WAIT_FOR (wb_window_get_connection_state (window) == WB_CONNECTION_LIVE);
  /* The connection strip has slid away: the screenshot shows the map. */
  WAIT_FOR (!gtk_revealer_get_child_revealed (GTK_REVEALER (gtk_widget_get_template_child (
              GTK_WIDGET (window), WB_TYPE_WINDOW, "connection_revealer"))));
  wait_frames (GTK_WIDGET (window), 3);

  /* The pages of the view switcher, in the window's template. */
  stack = ADW_VIEW_STACK (gtk_widget_get_template_child (GTK_WIDGET (window), WB_TYPE_WINDOW, "view_stack"));
  g_assert_nonnull (stack);
  {
    g_autoptr(GtkSelectionModel) pages = adw_view_stack_get_pages (stack);

    g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (pages)), ==, G_N_ELEMENTS (run->expected->pages));
    for (guint i = 0; i < G_N_ELEMENTS (run->expected->pages); i++)
      {
        g_autoptr(AdwViewStackPage) page = g_list_model_get_item (G_LIST_MODEL (pages), i);

        g_assert_cmpstr (adw_view_stack_page_get_title (page), ==, run->expected->pages[i]);
      }
  }

  /* What is on screen: the switcher's labels, the .ui's and those set from C. */
  for (guint i = 0; i < G_N_ELEMENTS (run->expected->labels); i++)
    {
      if (!shows_label (GTK_WIDGET (window), run->expected->labels[i]))
        g_error ("no label shows “%s”", run->expected->labels[i]);
    }
  /* The strip slides away once live, so its label is read, not looked for. */
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (gtk_widget_get_template_child (GTK_WIDGET (window), WB_TYPE_WINDOW,
                                                                                 "connection_label"))),
                   ==, run->expected->live);
  for (guint i = 0; i < G_N_ELEMENTS (run->expected->english); i++)
    {
      if (shows_label (GTK_WIDGET (window), run->expected->english[i]))
        g_error ("a label still shows “%s”", run->expected->english[i]);
    }
  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (window)), ==, "Waybill");

  screenshot = g_strdup_printf ("console-i18n-%s.png", run->expected->language);
  save_screenshot (GTK_WIDGET (window), screenshot);

  /* Every other main view in this language, as the switcher shows it. */
  {
    const char *views[] = { "overview", "shipments", "trips", "trackings" };

    for (guint i = 0; i < G_N_ELEMENTS (views); i++)
      {
        g_autofree char *name = g_strdup_printf ("console-i18n-%s-%s.png", run->expected->language, views[i]);

        adw_view_stack_set_visible_child_name (stack, views[i]);
        wait_frames (GTK_WIDGET (window), 5);
        for (guint j = 0; j < G_N_ELEMENTS (run->expected->english); j++)
          if (shows_label (GTK_WIDGET (window), run->expected->english[j]))
            g_error ("the %s view still shows “%s”", views[i], run->expected->english[j]);
        save_screenshot (GTK_WIDGET (window), name);
      }
  }

  run->done = TRUE;
  g_application_quit (application);
}

static void
test_main_window (gconstpointer data)
{
  Run run = { data, FALSE };
  g_autoptr(WbApplication) application = NULL;
  g_autofree char *conninfo = wb_test_pg_create_database ("console_i18n");
  WbTestDaemon *daemon = start_daemon (conninfo);
  g_autofree char *viewer = wb_jwt_sign ((const guint8 *) SECRET, strlen (SECRET), "desk", WB_ACCESS_ROLE_VIEWER,
                                         g_get_real_time () / G_USEC_PER_SEC, 3600);
  g_autofree char *token_file = g_build_filename (g_get_tmp_dir (), "waybill-console-i18n-token", NULL);
  g_autofree char *server = g_strdup_printf ("http://127.0.0.1:%u", wb_test_daemon_port (daemon));
  const char *argv[] = { "waybill", "--server", server, "--tiles", "none", "--token-file", token_file, NULL };
  int status;

  g_assert_true (g_file_set_contents (token_file, viewer, -1, NULL));
  application = wb_application_new ();
  g_signal_connect_after (application, "activate", G_CALLBACK (run_scenario), &run);
  status = g_application_run (G_APPLICATION (application), G_N_ELEMENTS (argv) - 1, (char **) argv);
  g_assert_cmpint (status, ==, 0);
  g_assert_true (run.done);

  g_unlink (token_file);
  g_assert_cmpint (wb_test_daemon_terminate (daemon), ==, 0);
  wb_test_daemon_free (daemon);
}

int
main (int   argc,
      char *argv[])
{
  const char *language = g_getenv ("LANGUAGE");
  const Expected *run = NULL;
  g_autofree char *path = NULL;

  /* As the console's main() does, with the catalogues the build made. */
  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, WB_BUILD_LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  gtk_test_init (&argc, &argv, NULL);
  adw_init ();
  wb_console_init ();

  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    if (g_strcmp0 (language, expected[i].language) == 0)
      run = &expected[i];
  if (run == NULL)
    g_error ("LANGUAGE=%s is none of the languages this test knows", language ?: "");

  path = g_strdup_printf ("/console-i18n/%s/main-window", run->language);
  g_test_add_data_func (path, run, test_main_window);
  return g_test_run ();
}
