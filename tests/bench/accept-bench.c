// SPDX-License-Identifier: GPL-3.0-or-later
/* A reconnect storm: thousands of clients connect at once (a gateway or a
 * load balancer came back) and each asks one small question on its new
 * connection. The figure is how long until every one has its answer.
 *
 * Against the built waybilld (its own accept loop, taking up to 256
 * connections per main loop pass) and, as the baseline in the same run, a
 * bare SoupServer in this process on a listening socket with the same
 * backlog (libsoup accepts one connection per pass). Both keep every
 * connection open until the storm is over, as reconnecting streams would.
 *
 *   accept-bench [--clients 5000] [--rounds 3]
 *
 * The open-file limit here is 20 000: the clients and the baseline server
 * share this process, so 5 000 clients is the default. */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libsoup/soup.h>

#include "wb-bench.h"

#define BACKLOG 4096
#define GIVE_UP_S 60
#define REQUEST "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

static guint clients = 5000;
static guint rounds = 3;

typedef struct
{
  int      fd;
  gboolean sent;
  gboolean answered;
  GString *answer;
} Client;

/* Seconds from the first connect to each answer; sorted. */
static GArray *
storm (guint port)
{
  struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons (port),
                            .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  g_autofree Client *all = g_new0 (Client, clients);
  GArray *times = g_array_sized_new (FALSE, FALSE, sizeof (double), clients);
  int epoll_fd = epoll_create1 (EPOLL_CLOEXEC);
  gint64 start = g_get_monotonic_time ();
  gint64 give_up = start + GIVE_UP_S * G_USEC_PER_SEC;
  guint answered = 0;

  g_assert_cmpint (epoll_fd, >=, 0);
  for (guint i = 0; i < clients; i++)
    {
      struct epoll_event event = { .events = EPOLLOUT | EPOLLIN, .data.u32 = i };

      all[i].fd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      g_assert_cmpint (all[i].fd, >=, 0);
      if (connect (all[i].fd, (struct sockaddr *) &to, sizeof to) != 0 && errno != EINPROGRESS)
        g_error ("connect: %s", g_strerror (errno));
      all[i].answer = g_string_new (NULL);
      g_assert_cmpint (epoll_ctl (epoll_fd, EPOLL_CTL_ADD, all[i].fd, &event), ==, 0);
    }
  while (answered < clients && g_get_monotonic_time () < give_up)
    {
      struct epoll_event events[256];
      int n = epoll_wait (epoll_fd, events, G_N_ELEMENTS (events), 1000);

      for (int e = 0; e < n; e++)
        {
          Client *client = &all[events[e].data.u32];
          char buffer[4096];
          ssize_t got;

          if (client->answered)
            continue;
          if (!client->sent && (events[e].events & EPOLLOUT))
            {
              if (send (client->fd, REQUEST, strlen (REQUEST), MSG_NOSIGNAL) == (ssize_t) strlen (REQUEST))
                {
                  struct epoll_event in = { .events = EPOLLIN, .data.u32 = events[e].data.u32 };

                  client->sent = TRUE;
                  (void) epoll_ctl (epoll_fd, EPOLL_CTL_MOD, client->fd, &in);
                }
              continue;
            }
          while ((got = recv (client->fd, buffer, sizeof buffer, 0)) > 0)
            g_string_append_len (client->answer, buffer, got);
          if (g_str_has_prefix (client->answer->str, "HTTP/1.1 200") && strstr (client->answer->str, "\r\n\r\n"))
            {
              double seconds = (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;

              client->answered = TRUE;
              answered++;
              g_array_append_val (times, seconds);
              (void) epoll_ctl (epoll_fd, EPOLL_CTL_DEL, client->fd, NULL);
            }
          else if (got == 0)
            g_error ("client %u: closed after \"%.60s\"", events[e].data.u32, client->answer->str);
        }
    }
  if (answered < clients)
    g_print ("  %u of %u clients answered within %d s; the rest count as dropped\n", answered, clients, GIVE_UP_S);
  for (guint i = 0; i < clients; i++)
    {
      close (all[i].fd);
      g_string_free (all[i].answer, TRUE);
    }
  close (epoll_fd);
  wb_bench_median (times);   /* sorts */
  return times;
}

/* Of every client: one that never got its answer counts as the give-up
 * time. */
static double
at (GArray *sorted,
    double  fraction)
{
  guint index = MIN (clients - 1, (guint) (fraction * clients));

  return index < sorted->len ? g_array_index (sorted, double, index) : GIVE_UP_S;
}

/* ---- the baseline: a bare SoupServer on a thread of its own ------------ */

typedef struct
{
  GMainContext *context;
  GMainLoop    *loop;
  SoupServer   *server;
  guint         port;
  GMutex        mutex;
  GCond         cond;
} Bare;

static void
answer_ok (SoupServer        *server,
           SoupServerMessage *message,
           const char        *path,
           GHashTable        *query,
           gpointer           data)
{
  soup_server_message_set_status (message, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (message, "application/json", SOUP_MEMORY_STATIC, "{\"status\":\"ok\"}", 15);
}

static gpointer
bare_thread (gpointer data)
{
  Bare *bare = data;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GError) error = NULL;

  g_main_context_push_thread_default (bare->context);
  bare->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (bare->server, NULL, answer_ok, NULL, NULL);
  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_socket_set_listen_backlog (socket, BACKLOG);
  g_assert_true (g_socket_bind (socket, address, TRUE, &error) && g_socket_listen (socket, &error)
                 && soup_server_listen_socket (bare->server, socket, 0, &error));
  g_assert_no_error (error);
  bound = g_socket_get_local_address (socket, NULL);
  g_mutex_lock (&bare->mutex);
  bare->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_cond_signal (&bare->cond);
  g_mutex_unlock (&bare->mutex);
  g_main_loop_run (bare->loop);
  soup_server_disconnect (bare->server);
  g_clear_object (&bare->server);
  g_main_context_pop_thread_default (bare->context);
  return NULL;
}

static void
report (const char *name,
        GArray     *all_in,
        GArray     *p50,
        GArray     *p99)
{
  g_print ("%-10s all in: median %.3f s (rounds:", name, wb_bench_median (all_in));
  for (guint i = 0; i < all_in->len; i++)
    g_print (" %.3f", g_array_index (all_in, double, i));
  g_print ("); answer p50 %.3f s, p99 %.3f s (medians)\n", wb_bench_median (p50), wb_bench_median (p99));
}

int
main (int   argc,
      char *argv[])
{
  GOptionEntry entries[] = {
    { "clients", 0, 0, G_OPTION_ARG_INT, &clients, "Clients in the storm (5000)", "N" },
    { "rounds", 0, 0, G_OPTION_ARG_INT, &rounds, "Storms against each server (3)", "N" },
    { NULL }
  };
  g_autoptr(GOptionContext) options = g_option_context_new ("— a reconnect storm against waybilld and a bare SoupServer");
  g_autoptr(GError) error = NULL;
  g_autoptr(WbEmbeddedPostgres) cluster = NULL;
  g_autofree char *conninfo = NULL;
  g_autofree char *max_total = NULL;
  g_autofree char *max_peer = NULL;
  WbBenchDaemon *daemon;
  Bare bare = { 0 };
  GThread *thread;
  g_autoptr(GArray) daemon_all = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) daemon_p50 = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) daemon_p99 = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) bare_all = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) bare_p50 = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) bare_p99 = g_array_new (FALSE, FALSE, sizeof (double));

  g_option_context_add_main_entries (options, entries, NULL);
  if (!g_option_context_parse (options, &argc, &argv, &error))
    g_error ("%s", error->message);

  cluster = wb_bench_cluster_start ();
  conninfo = wb_embedded_postgres_dup_conninfo (cluster, "postgres");
  max_total = g_strdup_printf ("--max-connections=%u", clients + 100);
  max_peer = g_strdup_printf ("--max-connections-per-peer=%u", clients + 100);
  daemon = wb_bench_daemon_start (conninfo, (const char *[]) { max_total, max_peer, NULL });
  wb_bench_wait_ready (daemon->port);

  bare.context = g_main_context_new ();
  bare.loop = g_main_loop_new (bare.context, FALSE);
  g_mutex_init (&bare.mutex);
  g_cond_init (&bare.cond);
  thread = g_thread_new ("bare-soup", bare_thread, &bare);
  g_mutex_lock (&bare.mutex);
  while (bare.port == 0)
    g_cond_wait (&bare.cond, &bare.mutex);
  g_mutex_unlock (&bare.mutex);

  g_print ("reconnect storm: %u clients connect at once, one GET /healthz each\n", clients);
  for (guint round = 0; round < rounds; round++)
    {
      /* Alternating, so that a noisy moment hurts both alike. */
      g_autoptr(GArray) d = storm (daemon->port);
      g_autoptr(GArray) b = storm (bare.port);
      double value;

      value = at (d, 1.0); g_array_append_val (daemon_all, value);
      value = at (d, 0.5); g_array_append_val (daemon_p50, value);
      value = at (d, 0.99); g_array_append_val (daemon_p99, value);
      value = at (b, 1.0); g_array_append_val (bare_all, value);
      value = at (b, 0.5); g_array_append_val (bare_p50, value);
      value = at (b, 0.99); g_array_append_val (bare_p99, value);
      g_usleep (G_USEC_PER_SEC);   /* the closed connections drain */
    }
  report ("waybilld", daemon_all, daemon_p50, daemon_p99);
  report ("bare soup", bare_all, bare_p50, bare_p99);
  g_print ("ratio (waybilld / bare SoupServer, all in): %.2f\n",
           wb_bench_median (daemon_all) / wb_bench_median (bare_all));

  g_main_loop_quit (bare.loop);
  g_thread_join (thread);
  g_main_loop_unref (bare.loop);
  g_main_context_unref (bare.context);
  wb_bench_daemon_stop (daemon);
  return 0;
}
