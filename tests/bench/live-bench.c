// SPDX-License-Identifier: GPL-3.0-or-later
/* Live map benchmark: a real waybilld (every role, embedded PostgreSQL)
 * fed by --vehicles Teltonika devices at 1 Hz, one TCP connection each,
 * streaming to WebSocket clients that each watch a city district of about
 * 100 vehicles (and --whole-fleet of them the whole city).
 *
 * The daemon runs as its own process; the load generator is this one: one
 * thread sends the Teltonika frames (Codec 8E, written here with core's
 * encoder), one thread drives every WebSocket client over raw sockets and
 * epoll (GLib's poll() over ten thousand sockets would measure itself), and
 * the main thread asks REST questions and reads the daemon's /metrics and
 * RSS. Its CPU time is printed next to the daemon's.
 *
 * Latency is from the position's acceptance at ingest (acceptedAt, µs, on
 * every stream item) to the frame's arrival at the client, both read from
 * the same machine's real-time clock. Phases, in one run:
 *
 *   1. the baseline: --baseline-clients streams;
 *   2. each step of --clients (e.g. 1000,5000,10000), clients added to the
 *      streams already open: latency, RSS per stream, REST p50/p99, drops;
 *   3. the largest step again with 1 % of the clients stalled (they stop
 *      reading): the others' latency, and how many stalled ones the daemon
 *      closed (pong timeout).
 *
 * Each phase measures for --seconds after a settling pause. */

#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libsoup/soup.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wb-bench.h"
#include "wb-db.h"
#include "wb-migrations.h"
#include "wb-teltonika.h"

/* The city: a box of about 20 × 15 km; a district is a 50th of it. */
#define CITY_MIN_LON 27.40
#define CITY_MIN_LAT 53.83
#define CITY_WIDTH   0.30
#define CITY_HEIGHT  0.14
#define COMPANIES    50

#define HISTOGRAM_STEP_US 100
#define HISTOGRAM_BUCKETS (60 * 10000)   /* 60 s */
#define MAX_PHASES        16

static int    n_vehicles = 5000;
static char  *client_steps = NULL;
static int    baseline_clients = 100;
static int    whole_fleet = 10;
static int    seconds = 20;
static int    settle_seconds = 5;
static double stall_percent = 1.0;
static int    gateway_threads = 0;
static char **daemon_options = NULL;

static GOptionEntry entries[] = {
  { "vehicles", 0, 0, G_OPTION_ARG_INT, &n_vehicles, "Teltonika vehicles at 1 Hz (5000)", "V" },
  { "clients", 0, 0, G_OPTION_ARG_STRING, &client_steps, "WebSocket clients, steps (1000,2500,5000,10000)", "N,…" },
  { "baseline-clients", 0, 0, G_OPTION_ARG_INT, &baseline_clients, "Clients of the baseline (100)", "N" },
  { "whole-fleet", 0, 0, G_OPTION_ARG_INT, &whole_fleet, "Clients watching the whole city (10)", "N" },
  { "seconds", 0, 0, G_OPTION_ARG_INT, &seconds, "Measuring time per phase (20)", "S" },
  { "settle", 0, 0, G_OPTION_ARG_INT, &settle_seconds, "Pause before each measurement (5)", "S" },
  { "stall-percent", 0, 0, G_OPTION_ARG_DOUBLE, &stall_percent, "Clients that stop reading (1)", "P" },
  { "gateway-threads", 0, 0, G_OPTION_ARG_INT, &gateway_threads,
    "The daemon's gateway.threads (0: its default, one per processor)", "N" },
  { "daemon-option", 0, 0, G_OPTION_ARG_STRING_ARRAY, &daemon_options,
    "Another option for the daemon, as --name=value (repeatable)", "OPTION" },
  { NULL }
};

static gint64
now_us (void)
{
  return g_get_real_time ();
}

/* ---- latency histograms, one per phase ----------------------------------- */

typedef struct
{
  guint64 *buckets;
  guint64  count;
  gint64   max_us;
} Histogram;

static GMutex    histogram_lock;
static Histogram histograms[MAX_PHASES];
static gint      phase = -1;   /* the one recording, or -1 */

static void
histogram_add (Histogram *h,
               gint64     latency_us)
{
  gint64 bucket = MAX (latency_us, 0) / HISTOGRAM_STEP_US;

  if (h->buckets == NULL)
    h->buckets = g_new0 (guint64, HISTOGRAM_BUCKETS);
  h->buckets[MIN (bucket, HISTOGRAM_BUCKETS - 1)]++;
  h->count++;
  h->max_us = MAX (h->max_us, latency_us);
}

static double
histogram_quantile_ms (const Histogram *h,
                       double           q)
{
  guint64 want = (guint64) ceil (q * h->count), seen = 0;

  for (guint i = 0; h->buckets != NULL && i < HISTOGRAM_BUCKETS; i++)
    if ((seen += h->buckets[i]) >= want && want > 0)
      return (i + 0.5) * HISTOGRAM_STEP_US / 1000.0;
  return NAN;
}

/* ---- the database: companies, vehicles, devices --------------------------- */

static char *
imei_of (guint number)
{
  char body[15];
  guint sum = 0;

  g_snprintf (body, sizeof body, "35%06u%06u", 424242u, number);
  for (int i = 13; i >= 0; i--)
    {
      guint d = body[i] - '0';

      if ((13 - i) % 2 == 0)
        d = d * 2 > 9 ? d * 2 - 9 : d * 2;
      sum += d;
    }
  return g_strdup_printf ("%s%c", body, '0' + (10 - sum % 10) % 10);
}

static char *
vehicle_of (guint number)
{
  return g_strdup_printf ("bench-vehicle-%05u", number);
}

static void
exec_or_die (PGconn             *conn,
             const char         *sql,
             const char * const *params,
             int                 n_params)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PGresult) result = wb_db_exec (conn, sql, params, n_params, NULL, &error);

  if (result == NULL)
    g_error ("%s: %s", sql, error->message);
}

/* Reference rows written before the daemon starts, so that it loads them
 * at start as it would a fleet registered long ago. */
static void
database_fill (const char *conninfo)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PGconn) conn = wb_db_connect (conninfo, &error);
  g_autoptr(GString) vehicles = g_string_new ("{");
  g_autoptr(GString) devices = g_string_new ("{");
  const char *params[2];

  if (conn == NULL || !wb_migrations_apply (conn, NULL, &error))
    g_error ("Database: %s", error->message);
  for (int v = 1; v <= n_vehicles; v++)
    {
      g_autofree char *vehicle = vehicle_of (v);
      g_autofree char *imei = imei_of (v);

      g_string_append_printf (vehicles, "%s%s", v > 1 ? "," : "", vehicle);
      g_string_append_printf (devices, "%s%s", v > 1 ? "," : "", imei);
    }
  g_string_append_c (vehicles, '}');
  g_string_append_c (devices, '}');
  exec_or_die (conn, "INSERT INTO companies (id, name, version)"
                     " SELECT 'bench-company-' || c, 'Company ' || c, 1 FROM generate_series(1, 50) AS c",
               NULL, 0);
  params[0] = vehicles->str;
  exec_or_die (conn, "INSERT INTO vehicles (id, plate, company_id, version)"
                     " SELECT v, 'P' || n, 'bench-company-' || (n % 50 + 1), 1"
                     " FROM unnest($1::text[]) WITH ORDINALITY AS u (v, n)", params, 1);
  params[1] = devices->str;
  exec_or_die (conn, "INSERT INTO devices (device_id, vehicle_id, version)"
                     " SELECT d, v, 1 FROM unnest($2::text[], $1::text[]) AS u (d, v)", params, 2);
}

/* ---- Teltonika senders ----------------------------------------------------- */

typedef struct
{
  int     fd;
  double  lat, lon, heading;
  gint64  last_fix_ms;
} Device;

static guint    teltonika_port;
static gint     senders_stop;
static gssize   frames_sent;        /* atomic */
static gssize   frames_deferred;    /* atomic: socket full, skipped this second */
static gssize   sender_errors;      /* atomic */

static int
connect_loopback (guint port,
                  gboolean blocking)
{
  struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons (port) };
  int fd = socket (AF_INET, SOCK_STREAM | (blocking ? 0 : SOCK_NONBLOCK), 0);
  int one = 1;

  address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (fd < 0)
    g_error ("socket: %s", g_strerror (errno));
  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect (fd, (struct sockaddr *) &address, sizeof address) != 0 && errno != EINPROGRESS)
    {
      close (fd);
      return -1;
    }
  return fd;
}

/* Handshakes in batches: connect and send the IMEI for each, then read the
 * answers (the daemon's listen queue holds 1024). */
#define HANDSHAKE_BATCH 200

static void
device_hello (Device *device,
              guint   number)
{
  g_autofree char *imei = imei_of (number);
  guint8 hello[2 + WB_TELTONIKA_IMEI_LENGTH] = { 0, WB_TELTONIKA_IMEI_LENGTH };

  memcpy (hello + 2, imei, WB_TELTONIKA_IMEI_LENGTH);
  device->fd = connect_loopback (teltonika_port, TRUE);
  if (device->fd < 0 || write (device->fd, hello, sizeof hello) != sizeof hello)
    g_error ("Teltonika device %u: cannot connect: %s", number, g_strerror (errno));
}

static void
device_answer (Device *device,
               guint   number)
{
  guint8 answer = 0;

  if (read (device->fd, &answer, 1) != 1 || answer != WB_TELTONIKA_ACCEPT)
    g_error ("Teltonika device %u: handshake refused", number);
  fcntl (device->fd, F_SETFL, O_NONBLOCK);
}

static void
devices_connect (Device *devices)
{
  for (int first = 0; first < n_vehicles; first += HANDSHAKE_BATCH)
    {
      int last = MIN (first + HANDSHAKE_BATCH, n_vehicles);

      for (int v = first; v < last; v++)
        device_hello (&devices[v], v + 1);
      for (int v = first; v < last; v++)
        device_answer (&devices[v], v + 1);
    }
}

/* About 40 km/h, turning now and then, kept inside the city. */
static void
device_move (Device *d,
             GRand  *rand)
{
  d->heading += g_rand_double_range (rand, -20, 20);
  d->lat += cos (d->heading * G_PI / 180) * 0.0001;
  d->lon += sin (d->heading * G_PI / 180) * 0.00017;
  if (d->lat < CITY_MIN_LAT || d->lat > CITY_MIN_LAT + CITY_HEIGHT
      || d->lon < CITY_MIN_LON || d->lon > CITY_MIN_LON + CITY_WIDTH)
    {
      d->heading += 180;
      d->lat = CLAMP (d->lat, CITY_MIN_LAT, CITY_MIN_LAT + CITY_HEIGHT);
      d->lon = CLAMP (d->lon, CITY_MIN_LON, CITY_MIN_LON + CITY_WIDTH);
    }
  d->heading = fmod (d->heading + 360, 360);
}

static void
device_send (Device *d,
             guint   number)
{
  g_autofree char *imei = imei_of (number);
  g_autoptr(WbPosition) p = wb_position_new ();
  g_autoptr(GBytes) frame = NULL;
  guint8 acks[256];
  gint64 fix_ms = MAX (now_us () / 1000, d->last_fix_ms + 1);
  gsize size;
  const guint8 *data;

  /* Acks of earlier frames, unread so far. */
  while (recv (d->fd, acks, sizeof acks, MSG_DONTWAIT) > 0)
    ;
  p->device_id = g_steal_pointer (&imei);
  p->protocol = WB_PROTOCOL_TELTONIKA;
  p->device_time = fix_ms * 1000;
  p->lat = d->lat;
  p->lon = d->lon;
  p->speed_kmh = 40;
  p->heading = d->heading;
  p->altitude = 220;
  p->satellites = 9;
  p->ignition = 1;
  p->moving = 1;
  frame = wb_teltonika_encode_frame (WB_TELTONIKA_CODEC_8_EXTENDED, &p, 1);
  data = g_bytes_get_data (frame, &size);
  /* A frame never goes out in part: the socket buffer holds many. */
  if (send (d->fd, data, size, MSG_DONTWAIT | MSG_NOSIGNAL) == (gssize) size)
    {
      d->last_fix_ms = fix_ms;
      g_atomic_pointer_add (&frames_sent, 1);
    }
  else if (errno == EAGAIN)
    g_atomic_pointer_add (&frames_deferred, 1);
  else
    g_atomic_pointer_add (&sender_errors, 1);
}

static gpointer
senders_run (gpointer data)
{
  GAsyncQueue *ready = data;
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  Device *devices = g_new0 (Device, n_vehicles);
  gint64 start;
  guint64 second = 0;

  for (int v = 0; v < n_vehicles; v++)
    {
      devices[v].lat = CITY_MIN_LAT + g_rand_double (rand) * CITY_HEIGHT;
      devices[v].lon = CITY_MIN_LON + g_rand_double (rand) * CITY_WIDTH;
      devices[v].heading = g_rand_double_range (rand, 0, 360);
    }
  devices_connect (devices);
  g_async_queue_push (ready, GINT_TO_POINTER (1));
  /* Each vehicle sends once a second, the fleet spread over the second. */
  start = g_get_monotonic_time ();
  while (!g_atomic_int_get (&senders_stop))
    {
      for (int v = 0; v < n_vehicles; v++)
        {
          gint64 due = start + second * G_USEC_PER_SEC + (gint64) v * G_USEC_PER_SEC / n_vehicles;
          gint64 wait = due - g_get_monotonic_time ();

          if (wait > 1000)
            g_usleep (wait);
          device_move (&devices[v], rand);
          device_send (&devices[v], v + 1);
        }
      second++;
    }
  for (int v = 0; v < n_vehicles; v++)
    close (devices[v].fd);
  g_free (devices);
  return NULL;
}

/* ---- WebSocket clients ------------------------------------------------------ */

typedef enum { CLIENT_IDLE, CLIENT_CONNECTING, CLIENT_UPGRADING, CLIENT_OPEN, CLIENT_CLOSED } ClientState;

typedef struct
{
  int          fd;
  ClientState  state;
  gboolean     stalled;
  gboolean     whole_fleet;
  double       bbox[4];
  guint8      *buffer;
  gsize        length;
  gsize        capacity;
  int          close_code;   /* from the server's close frame, or -1 for a reset */
} Client;

static guint   http_port;
static Client *clients;
static int     n_clients_max;
static gint    clients_wanted;    /* the WS thread opens up to this many */
static gint    clients_open;      /* atomic */
static gint    clients_dropped;   /* atomic: closed by the server or reset, stalled ones apart */
static gint    stalled_closed;    /* atomic */
static gint    stall_wanted;      /* atomic: how many stall */
static gint    ws_stop;
static gssize  connect_finished;  /* atomic: when the last one of the step was open (real µs) */
static gint    finished_for;      /* atomic: …for this clients_wanted */
static GMutex  drop_lock;
static GHashTable *drop_codes;    /* close code → count */

static void
count_drop (int code)
{
  g_mutex_lock (&drop_lock);
  g_hash_table_insert (drop_codes, GINT_TO_POINTER (code),
                       GINT_TO_POINTER (GPOINTER_TO_INT (g_hash_table_lookup (drop_codes, GINT_TO_POINTER (code))) + 1));
  g_mutex_unlock (&drop_lock);
}

static void
client_close (int     epoll_fd,
              Client *c,
              int     code)
{
  epoll_ctl (epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
  close (c->fd);
  c->fd = -1;
  if (c->state == CLIENT_OPEN)
    g_atomic_int_add (&clients_open, -1);
  c->state = CLIENT_CLOSED;
  c->close_code = code;
  if (c->stalled)
    g_atomic_int_inc (&stalled_closed);
  else
    {
      g_atomic_int_inc (&clients_dropped);
      count_drop (code);
    }
}

static gboolean
send_all (int           fd,
          const guint8 *data,
          gsize         length)
{
  while (length > 0)
    {
      gssize n = send (fd, data, length, MSG_NOSIGNAL);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      data += n;
      length -= n;
    }
  return TRUE;
}

/* A masked client frame (RFC 6455 5.3); payloads here are short. */
static gboolean
send_frame (Client       *c,
            guint8        opcode,
            const guint8 *payload,
            gsize         length)
{
  guint8 frame[512];
  guint8 mask[4];
  gsize header = 2;
  guint32 random = g_random_int ();

  g_assert (length < sizeof frame - 8);
  memcpy (mask, &random, 4);
  frame[0] = 0x80 | opcode;
  if (length < 126)
    frame[1] = 0x80 | length;
  else
    {
      frame[1] = 0x80 | 126;
      frame[2] = length >> 8;
      frame[3] = length & 0xff;
      header = 4;
    }
  memcpy (frame + header, mask, 4);
  for (gsize i = 0; i < length; i++)
    frame[header + 4 + i] = payload[i] ^ mask[i % 4];
  return send_all (c->fd, frame, header + 4 + length);
}

static gboolean
client_start_upgrade (Client *c)
{
  g_autofree char *request = g_strdup_printf ("GET /ws/locations HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
                                              "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                                              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                              "Sec-WebSocket-Version: 13\r\n\r\n", http_port);
  int error = 0;
  socklen_t length = sizeof error;

  if (getsockopt (c->fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0 || error != 0)
    return FALSE;
  c->state = CLIENT_UPGRADING;
  return send_all (c->fd, (const guint8 *) request, strlen (request));
}

static void
client_subscribe (Client *c)
{
  g_autofree char *text = NULL;
  char a[4][G_ASCII_DTOSTR_BUF_SIZE];

  for (int i = 0; i < 4; i++)
    g_ascii_formatd (a[i], sizeof a[i], "%.5f", c->bbox[i]);
  text = g_strdup_printf ("{\"type\":\"subscribe\",\"bbox\":[%s,%s,%s,%s]}", a[0], a[1], a[2], a[3]);
  (void) send_frame (c, 0x1, (const guint8 *) text, strlen (text));
}

/* Every acceptedAt in a text frame, against the time it arrived. */
static void
record_latencies (const guint8 *payload,
                  gsize         length,
                  gint64        arrived)
{
  static const char needle[] = "\"acceptedAt\":";
  const guint8 *at = payload, *end = payload + length;
  gint64 latencies[4096];
  guint n = 0;
  gint current = g_atomic_int_get (&phase);

  if (current < 0)
    return;
  while ((at = memmem (at, end - at, needle, sizeof needle - 1)) != NULL)
    {
      gint64 accepted = 0;

      at += sizeof needle - 1;
      while (at < end && g_ascii_isdigit (*at))
        accepted = accepted * 10 + (*at++ - '0');
      if (n < G_N_ELEMENTS (latencies))
        latencies[n++] = arrived - accepted;
    }
  g_mutex_lock (&histogram_lock);
  for (guint i = 0; i < n; i++)
    histogram_add (&histograms[current], latencies[i]);
  g_mutex_unlock (&histogram_lock);
}

/* Consumes whole frames from the buffer; FALSE when the server closed. */
static gboolean
client_parse_frames (Client *c,
                     gint64  arrived)
{
  gsize offset = 0;

  for (;;)
    {
      guint8 *f = c->buffer + offset;
      gsize available = c->length - offset, header = 2;
      guint64 payload;
      guint8 opcode;

      if (available < 2)
        break;
      opcode = f[0] & 0x0f;
      payload = f[1] & 0x7f;
      if (payload == 126)
        {
          if (available < 4)
            break;
          payload = (f[2] << 8) | f[3];
          header = 4;
        }
      else if (payload == 127)
        {
          if (available < 10)
            break;
          payload = 0;
          for (int i = 0; i < 8; i++)
            payload = (payload << 8) | f[2 + i];
          header = 10;
        }
      if (available < header + payload)
        break;
      if (opcode == 0x1 || opcode == 0x0)
        record_latencies (f + header, payload, arrived);
      else if (opcode == 0x9)
        (void) send_frame (c, 0xA, f + header, MIN (payload, 125));
      else if (opcode == 0x8)
        {
          c->close_code = payload >= 2 ? (f[header] << 8) | f[header + 1] : 1005;
          return FALSE;
        }
      offset += header + payload;
    }
  memmove (c->buffer, c->buffer + offset, c->length - offset);
  c->length -= offset;
  return TRUE;
}

static gboolean
client_read_upgrade (Client *c)
{
  guint8 *end = memmem (c->buffer, c->length, "\r\n\r\n", 4);
  gsize header;

  if (end == NULL)
    return c->length < 4096;
  if (c->length < 12 || memcmp (c->buffer, "HTTP/1.1 101", 12) != 0)
    return FALSE;
  header = end + 4 - c->buffer;
  memmove (c->buffer, c->buffer + header, c->length - header);
  c->length -= header;
  c->state = CLIENT_OPEN;
  g_atomic_int_inc (&clients_open);
  client_subscribe (c);
  return TRUE;
}

static gboolean
client_readable (Client *c)
{
  gint64 arrived;

  for (;;)
    {
      gssize n;

      if (c->capacity - c->length < 65536)
        {
          c->capacity = MAX (c->capacity * 2, c->length + 65536);
          c->buffer = g_realloc (c->buffer, c->capacity);
        }
      n = recv (c->fd, c->buffer + c->length, c->capacity - c->length, 0);
      if (n < 0 && errno == EAGAIN)
        return TRUE;
      if (n <= 0)
        return FALSE;
      c->length += n;
      arrived = now_us ();
      if (c->state == CLIENT_UPGRADING && !client_read_upgrade (c))
        return FALSE;
      if (c->state == CLIENT_OPEN && !client_parse_frames (c, arrived))
        return FALSE;
    }
}

/* A district holding about 100 of the vehicles, or the whole city. */
static void
client_pick_view (Client *c,
                  GRand  *rand,
                  int     index)
{
  double width = CITY_WIDTH * sqrt (100.0 / n_vehicles), height = CITY_HEIGHT * sqrt (100.0 / n_vehicles);
  double lon = CITY_MIN_LON + g_rand_double (rand) * (CITY_WIDTH - width);
  double lat = CITY_MIN_LAT + g_rand_double (rand) * (CITY_HEIGHT - height);

  /* Spread over the steps: every step has its share of whole-city views. */
  c->whole_fleet = index % MAX (n_clients_max / MAX (whole_fleet, 1), 1) == 0 && whole_fleet > 0;
  if (c->whole_fleet)
    {
      lon = CITY_MIN_LON - 0.01, lat = CITY_MIN_LAT - 0.01;
      width = CITY_WIDTH + 0.02, height = CITY_HEIGHT + 0.02;
    }
  c->bbox[0] = lon, c->bbox[1] = lat, c->bbox[2] = lon + width, c->bbox[3] = lat + height;
}

#define MAX_CONNECTING 200

static void
open_more (int  epoll_fd,
           int *next,
           int *connecting)
{
  int wanted = g_atomic_int_get (&clients_wanted);

  while (*next < wanted && *connecting < MAX_CONNECTING)
    {
      Client *c = &clients[*next];
      struct epoll_event event = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP, .data.u32 = *next };

      c->fd = connect_loopback (http_port, FALSE);
      if (c->fd < 0)
        g_error ("connect: %s", g_strerror (errno));
      c->state = CLIENT_CONNECTING;
      epoll_ctl (epoll_fd, EPOLL_CTL_ADD, c->fd, &event);
      (*next)++;
      (*connecting)++;
    }
}

/* The stalled ones stop reading: no EPOLLIN, the kernel buffer fills. */
static void
apply_stalls (int  epoll_fd,
              int  open_count,
              int *stalled)
{
  int wanted = g_atomic_int_get (&stall_wanted);
  int step = MAX (open_count / MAX (wanted, 1), 1);
  int eligible = 0;

  /* Spread over the clients: every step-th of those that can stall (the
   * whole-city ones are spread too, so a plain stride could meet them). */
  for (int i = 0; *stalled < wanted && i < open_count; i++)
    {
      Client *c = &clients[i];
      struct epoll_event event = { .events = EPOLLRDHUP, .data.u32 = i };

      if (c->state != CLIENT_OPEN || c->stalled || c->whole_fleet || eligible++ % step != 0)
        continue;
      c->stalled = TRUE;
      epoll_ctl (epoll_fd, EPOLL_CTL_MOD, c->fd, &event);
      (*stalled)++;
    }
}

static gpointer
clients_run (gpointer data)
{
  int epoll_fd = epoll_create1 (0);
  struct epoll_event events[512];
  int next = 0, connecting = 0, stalled = 0;

  while (!g_atomic_int_get (&ws_stop))
    {
      int n;

      open_more (epoll_fd, &next, &connecting);
      if (connecting == 0 && next == g_atomic_int_get (&clients_wanted)
          && g_atomic_int_get (&finished_for) != next)
        {
          g_atomic_pointer_set (&connect_finished, now_us ());
          g_atomic_int_set (&finished_for, next);
        }
      apply_stalls (epoll_fd, next, &stalled);
      n = epoll_wait (epoll_fd, events, G_N_ELEMENTS (events), 10);
      for (int i = 0; i < n; i++)
        {
          Client *c = &clients[events[i].data.u32];
          ClientState before = c->state;
          gboolean ok = TRUE;

          if (c->stalled)
            {
              /* Only hang-ups wake a stalled one. */
              if (events[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
                client_close (epoll_fd, c, -1);
              continue;
            }
          if (c->state == CLIENT_CONNECTING && (events[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            ok = client_start_upgrade (c);
          if (ok && c->state == CLIENT_UPGRADING)
            {
              struct epoll_event in = { .events = EPOLLIN | EPOLLRDHUP, .data.u32 = events[i].data.u32 };

              epoll_ctl (epoll_fd, EPOLL_CTL_MOD, c->fd, &in);
            }
          if (ok && (events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
            ok = client_readable (c);
          if ((before == CLIENT_CONNECTING || before == CLIENT_UPGRADING) && (c->state == CLIENT_OPEN || !ok))
            connecting--;
          if (!ok)
            client_close (epoll_fd, c, c->close_code);
        }
    }
  for (int i = 0; i < next; i++)
    if (clients[i].fd >= 0)
      close (clients[i].fd);
  close (epoll_fd);
  return NULL;
}

/* ---- the daemon: metrics, RSS, CPU, REST ------------------------------------ */

static SoupSession *session;

static char *
http_get (const char *path,
          guint      *out_status)
{
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u%s", http_port, path);
  g_autoptr(SoupMessage) message = soup_message_new ("GET", uri);
  g_autoptr(GBytes) body = soup_session_send_and_read (session, message, NULL, NULL);

  *out_status = soup_message_get_status (message);
  return body ? g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body)) : NULL;
}

static double
metric (const char *series)
{
  guint status = 0;
  g_autofree char *text = http_get ("/metrics", &status);
  g_autofree char *prefix = g_strconcat ("\n", series, " ", NULL);
  const char *at = text ? strstr (text, prefix) : NULL;

  return at ? g_ascii_strtod (at + strlen (prefix), NULL) : 0;
}

static double
rss_kib (const char *pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%s/status", pid);
  g_autofree char *text = NULL;
  const char *at;

  if (!g_file_get_contents (path, &text, NULL, NULL) || (at = strstr (text, "VmRSS:")) == NULL)
    return 0;
  return g_ascii_strtod (at + 6, NULL);
}

static double
cpu_seconds (const char *pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%s/stat", pid);
  g_autofree char *stat = NULL;
  g_auto(GStrv) fields = NULL;

  if (!g_file_get_contents (path, &stat, NULL, NULL))
    return 0;
  fields = g_strsplit (strrchr (stat, ')') + 2, " ", 0);
  return (g_ascii_strtod (fields[11], NULL) + g_ascii_strtod (fields[12], NULL)) / sysconf (_SC_CLK_TCK);
}

static double
own_cpu_seconds (void)
{
  struct rusage usage;

  getrusage (RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 + usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

/* Other programs share the machine: its load is printed with each phase. */
static double
load_average (void)
{
  g_autofree char *text = NULL;

  return g_file_get_contents ("/proc/loadavg", &text, NULL, NULL) ? g_ascii_strtod (text, NULL) : NAN;
}

typedef struct
{
  const char *label;
  int         clients;
  guint64     updates;
  double      p50, p99, max;
  double      locations_p50, locations_p99, vehicle_p50, vehicle_p99;
  double      rss_per_client_kib;
  double      daemon_cpu, generator_cpu;
  double      positions_in, frames_out;
  double      load_average;   /* the machine's, over the last minute */
  int         dropped;
  int         open;
} PhaseResult;

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

static double
sorted_quantile (GArray *values,
                 double  q)
{
  if (values->len == 0)
    return NAN;
  g_array_sort (values, compare_doubles);
  return g_array_index (values, double, MIN ((guint) ceil (q * values->len), values->len) - 1);
}

/* REST during the phase: a district's GET /locations and a vehicle's
 * GET /vehicles/{id}, in turn, 20 a second, on one kept-alive connection. */
static void
measure (PhaseResult *r,
         int          index,
         const char  *daemon_pid,
         double       rss_before_kib,
         int          opened)
{
  g_autoptr(GArray) locations = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) vehicles = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GRand) rand = g_rand_new_with_seed (index);
  double cpu_before = cpu_seconds (daemon_pid), own_before = own_cpu_seconds ();
  double positions_before = metric ("waybill_live_updates_total");
  double frames_before = metric ("waybill_live_frames_total");
  int dropped_before = g_atomic_int_get (&clients_dropped);
  gint64 start = g_get_monotonic_time (), end = start + seconds * G_USEC_PER_SEC;
  double elapsed;

  g_atomic_int_set (&phase, index);
  for (guint i = 0; g_get_monotonic_time () < end; i++)
    {
      g_autofree char *path = NULL;
      g_autofree char *body = NULL;
      gint64 asked = g_get_monotonic_time ();
      double ms;
      guint status = 0;

      if (i % 2 == 0)
        {
          double lon = CITY_MIN_LON + g_rand_double (rand) * (CITY_WIDTH - 0.04);
          double lat = CITY_MIN_LAT + g_rand_double (rand) * (CITY_HEIGHT - 0.02);

          path = g_strdup_printf ("/locations?bbox=%.4f,%.4f,%.4f,%.4f", lon, lat, lon + 0.04, lat + 0.02);
        }
      else
        {
          g_autofree char *vehicle = vehicle_of (g_rand_int_range (rand, 1, n_vehicles + 1));

          path = g_strdup_printf ("/vehicles/%s", vehicle);
        }
      body = http_get (path, &status);
      ms = (g_get_monotonic_time () - asked) / 1000.0;
      if (status != 200)
        g_printerr ("  GET %s: %u\n", path, status);
      g_array_append_val (i % 2 == 0 ? locations : vehicles, ms);
      g_usleep (MAX (0, 50000 - (g_get_monotonic_time () - asked)));
    }
  g_atomic_int_set (&phase, -1);
  elapsed = (g_get_monotonic_time () - start) / 1e6;

  r->daemon_cpu = (cpu_seconds (daemon_pid) - cpu_before) / elapsed;
  r->generator_cpu = (own_cpu_seconds () - own_before) / elapsed;
  r->positions_in = (metric ("waybill_live_updates_total") - positions_before) / elapsed;
  r->frames_out = (metric ("waybill_live_frames_total") - frames_before) / elapsed;
  r->locations_p50 = sorted_quantile (locations, 0.5);
  r->locations_p99 = sorted_quantile (locations, 0.99);
  r->vehicle_p50 = sorted_quantile (vehicles, 0.5);
  r->vehicle_p99 = sorted_quantile (vehicles, 0.99);
  r->open = g_atomic_int_get (&clients_open);
  r->load_average = load_average ();
  r->rss_per_client_kib = opened > 0 ? (rss_kib (daemon_pid) - rss_before_kib) / opened : NAN;
  r->dropped = g_atomic_int_get (&clients_dropped) - dropped_before;
  g_mutex_lock (&histogram_lock);
  r->updates = histograms[index].count;
  r->p50 = histogram_quantile_ms (&histograms[index], 0.5);
  r->p99 = histogram_quantile_ms (&histograms[index], 0.99);
  r->max = histograms[index].max_us / 1000.0;
  g_mutex_unlock (&histogram_lock);
}

static void
print_phase (const PhaseResult *r)
{
  g_print ("  %-24s %6d open  latency p50 %7.1f  p99 %7.1f  max %7.1f ms  (%" G_GUINT64_FORMAT " updates, %.0f/s)\n",
           r->label, r->open, r->p50, r->p99, r->max, r->updates, r->updates / (double) seconds);
  g_print ("  %-24s positions in %.0f/s, frames out %.0f/s; RSS %.1f KiB per stream opened; dropped %d\n", "",
           r->positions_in, r->frames_out, r->rss_per_client_kib, r->dropped);
  g_print ("  %-24s GET /locations p50 %.1f p99 %.1f ms; GET /vehicles/{id} p50 %.1f p99 %.1f ms;"
           " CPU: daemon %.2f, load generator %.2f cores; machine load %.1f\n", "", r->locations_p50,
           r->locations_p99, r->vehicle_p50, r->vehicle_p99, r->daemon_cpu, r->generator_cpu, r->load_average);
}

/* Opens clients until @count are open, and says how long it took. */
static double
open_clients (int count)
{
  gint64 start = now_us (), deadline = g_get_monotonic_time () + 300 * G_USEC_PER_SEC;

  g_atomic_int_set (&clients_wanted, count);
  while (g_atomic_int_get (&finished_for) != count && g_get_monotonic_time () < deadline)
    g_usleep (20 * 1000);
  if (g_atomic_int_get (&finished_for) != count)
    return NAN;
  return (g_atomic_pointer_get (&connect_finished) - start) / 1e6;
}

static GArray *
parse_steps (void)
{
  g_auto(GStrv) parts = g_strsplit (client_steps ? client_steps : "1000,2500,5000,10000", ",", 0);
  GArray *steps = g_array_new (FALSE, FALSE, sizeof (int));

  for (guint i = 0; parts[i] != NULL; i++)
    {
      int n = atoi (parts[i]);

      if (n <= baseline_clients || (steps->len > 0 && n <= g_array_index (steps, int, steps->len - 1)))
        g_error ("--clients: rising numbers above --baseline-clients");
      g_array_append_val (steps, n);
    }
  return steps;
}

static void
raise_open_files (void)
{
  struct rlimit limit;

  getrlimit (RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit (RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < (rlim_t) (n_clients_max + n_vehicles + 256))
    g_error ("%d clients and %d devices need %d open files; the limit is %lu", n_clients_max, n_vehicles,
             n_clients_max + n_vehicles + 256, (unsigned long) limit.rlim_cur);
}

static guint
free_port (void)
{
  struct sockaddr_in address = { .sin_family = AF_INET };
  socklen_t length = sizeof address;
  int fd = socket (AF_INET, SOCK_STREAM, 0);
  guint port;

  address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (bind (fd, (struct sockaddr *) &address, sizeof address) != 0
      || getsockname (fd, (struct sockaddr *) &address, &length) != 0)
    g_error ("Cannot find a free port");
  port = ntohs (address.sin_port);
  close (fd);
  return port;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) options = g_option_context_new ("— Waybill live map gateway benchmark");
  g_autoptr(GError) error = NULL;
  g_autoptr(WbEmbeddedPostgres) cluster = NULL;
  g_autoptr(GArray) steps = NULL;
  g_autoptr(GAsyncQueue) ready = g_async_queue_new ();
  g_autofree char *conninfo = NULL;
  g_autofree char *port_arg = NULL;
  g_autofree char *threads_arg = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (42);
  PhaseResult results[MAX_PHASES] = { 0 };
  int n_results = 0;
  GThread *senders, *ws;
  WbBenchDaemon *daemon;
  const char *pid;
  double rss_before, seconds_to_open;
  gint64 devices_started;

  g_option_context_add_main_entries (options, entries, NULL);
  if (!g_option_context_parse (options, &argc, &argv, &error))
    g_error ("%s", error->message);
  steps = parse_steps ();
  if (steps->len + 2 > MAX_PHASES)
    g_error ("Too many steps");
  n_clients_max = g_array_index (steps, int, steps->len - 1);
  raise_open_files ();
  drop_codes = g_hash_table_new (NULL, NULL);

  cluster = wb_bench_cluster_start ();
  conninfo = g_strdup (wb_embedded_postgres_get_conninfo (cluster));
  database_fill (conninfo);
  teltonika_port = free_port ();
  port_arg = g_strdup_printf ("--teltonika-port=%u", teltonika_port);
  threads_arg = g_strdup_printf ("--gateway-threads=%d", gateway_threads);
  {
    const char *fixed[] = { port_arg, threads_arg, "--max-connections=19000", "--max-connections-per-peer=19000",
                            "--gateway-max-connections=19000", "--gateway-max-connections-per-peer=19000",
                            /* The default keepalive: pongs wake the stream threads, and a
                             * shorter one would measure the pings. */
                            "--gateway-keepalive=30s", "--gateway-pong-timeout=40s", "--offline-after=5m",
                            /* Full within seconds, so that its growth is not taken for the streams'. */
                            "--gateway-replay-size=10000" };
    g_autoptr(GStrvBuilder) args = g_strv_builder_new ();
    g_auto(GStrv) daemon_argv = NULL;

    for (guint i = 0; i < G_N_ELEMENTS (fixed); i++)
      g_strv_builder_add (args, fixed[i]);
    /* Last, so that they win over the fixed ones. */
    for (guint i = 0; daemon_options != NULL && daemon_options[i] != NULL; i++)
      g_strv_builder_add (args, daemon_options[i]);
    daemon_argv = g_strv_builder_end (args);
    daemon = wb_bench_daemon_start (conninfo, (const char * const *) daemon_argv);
  }
  http_port = daemon->port;
  pid = g_subprocess_get_identifier (daemon->process);
  wb_bench_wait_ready (http_port);
  session = soup_session_new_with_options ("timeout", 60, "max-conns", 4, NULL);

  g_print ("Live map gateway: %d Teltonika vehicles at 1 Hz (a TCP connection each), clients of about 100"
           " vehicles each (%d of the whole city), %d s a phase, %u cores\n", n_vehicles, whole_fleet, seconds,
           g_get_num_processors ());
  g_print ("  daemon: batching window 50 ms unless given, keepalive 30 s, pong timeout 40 s, replay window 10 000,"
           " gateway threads %d (0: one per processor);"
           " RSS per stream: the daemon's growth over a step / the streams it opened\n", gateway_threads);
  if (daemon_options != NULL)
    {
      g_autofree char *joined = g_strjoinv (" ", daemon_options);

      g_print ("  daemon options given: %s\n", joined);
    }

  devices_started = g_get_monotonic_time ();
  senders = g_thread_new ("teltonika", senders_run, ready);
  g_async_queue_pop (ready);
  for (int i = 0; i < 60 && metric ("waybill_live_vehicles") < n_vehicles; i++)
    g_usleep (500 * 1000);
  g_print ("  %d devices connected in %.1f s; the map holds %.0f vehicles\n", n_vehicles,
           (g_get_monotonic_time () - devices_started) / 1e6, metric ("waybill_live_vehicles"));
  g_usleep (settle_seconds * G_USEC_PER_SEC);

  clients = g_new0 (Client, n_clients_max);
  for (int i = 0; i < n_clients_max; i++)
    {
      clients[i].fd = -1;
      client_pick_view (&clients[i], rand, i);
    }
  ws = g_thread_new ("websockets", clients_run, NULL);

  rss_before = rss_kib (pid);
  seconds_to_open = open_clients (baseline_clients);
  g_print ("  baseline: %d streams open in %.2f s\n", baseline_clients, seconds_to_open);
  g_usleep (settle_seconds * G_USEC_PER_SEC);
  results[n_results].label = "baseline";
  results[n_results].clients = baseline_clients;
  measure (&results[n_results], n_results, pid, rss_before, baseline_clients);
  print_phase (&results[n_results++]);

  for (guint s = 0; s < steps->len; s++)
    {
      int count = g_array_index (steps, int, s);
      int before = g_atomic_int_get (&clients_open);

      rss_before = rss_kib (pid);
      seconds_to_open = open_clients (count);
      g_print ("  %d streams open (%d more in %.2f s)\n", g_atomic_int_get (&clients_open),
               count - (s == 0 ? baseline_clients : g_array_index (steps, int, s - 1)), seconds_to_open);
      g_usleep (settle_seconds * G_USEC_PER_SEC);
      results[n_results].label = g_strdup_printf ("%d clients", count);
      results[n_results].clients = count;
      measure (&results[n_results], n_results, pid, rss_before, count - before);
      print_phase (&results[n_results++]);
    }

  {
    int stall = MAX (1, (int) (n_clients_max * stall_percent / 100));
    double closed_before = metric ("waybill_live_connections_closed_total{reason=\"pong_timeout\"}");

    gint64 stalled_at = g_get_monotonic_time ();

    g_atomic_int_set (&stall_wanted, stall);
    g_usleep (settle_seconds * G_USEC_PER_SEC);
    results[n_results].label = g_strdup_printf ("%d, %d stalled", n_clients_max, stall);
    measure (&results[n_results], n_results, pid, 0, 0);
    print_phase (&results[n_results]);
    /* The daemon closes them after the pong timeout (40 s here) from their
     * last pong, up to a keepalive (30 s) before they stalled; give it
     * that long before reading. */
    for (int i = 0; i < 75 && (g_atomic_int_get (&stalled_closed) < stall
                               || metric ("waybill_live_connections_closed_total{reason=\"pong_timeout\"}")
                                  - closed_before < stall); i++)
      g_usleep (G_USEC_PER_SEC);
    g_print ("  stalled clients: %d, %.1f s after they stalled: seen closed by the daemon %d, pong timeouts"
             " counted %.0f, streams the daemon holds %.0f\n", stall,
             (g_get_monotonic_time () - stalled_at) / 1e6, g_atomic_int_get (&stalled_closed),
             metric ("waybill_live_connections_closed_total{reason=\"pong_timeout\"}") - closed_before,
             metric ("waybill_live_connections"));
    {
      guint status = 0;
      g_autofree char *text = http_get ("/metrics", &status);
      g_auto(GStrv) lines = g_strsplit (text ? text : "", "\n", -1);

      for (guint i = 0; lines[i] != NULL; i++)
        if (g_str_has_prefix (lines[i], "waybill_live_connections_closed_total"))
          g_print ("    %s\n", lines[i]);
    }
    n_results++;
  }

  g_print ("\nRESULTS (%d vehicles at 1 Hz over Teltonika, %u cores; latency from ingest acceptance to arrival)\n",
           n_vehicles, g_get_num_processors ());
  g_print ("  %-24s %7s %8s %8s %8s %9s %9s %9s %7s\n", "phase", "streams", "p50 ms", "p99 ms", "max ms",
           "KiB/strm", "loc p99", "veh p99", "dropped");
  for (int i = 0; i < n_results; i++)
    g_print ("  %-24s %7d %8.1f %8.1f %8.1f %9.1f %9.1f %9.1f %7d\n", results[i].label, results[i].open,
             results[i].p50, results[i].p99, results[i].max, results[i].rss_per_client_kib,
             results[i].locations_p99, results[i].vehicle_p99, results[i].dropped);
  g_print ("  p99 against the baseline: largest step x%.2f, with 1 %% stalled x%.2f (stalled against not: %.2f)\n",
           results[n_results - 2].p99 / results[0].p99, results[n_results - 1].p99 / results[0].p99,
           results[n_results - 1].p99 / results[n_results - 2].p99);
  g_print ("  Teltonika frames sent %" G_GINT64_FORMAT ", deferred (socket full) %" G_GINT64_FORMAT
           ", errors %" G_GINT64_FORMAT "\n", (gint64) g_atomic_pointer_get (&frames_sent),
           (gint64) g_atomic_pointer_get (&frames_deferred), (gint64) g_atomic_pointer_get (&sender_errors));
  {
    GHashTableIter iter;
    gpointer code, count;

    g_hash_table_iter_init (&iter, drop_codes);
    while (g_hash_table_iter_next (&iter, &code, &count))
      g_print ("  dropped with close code %d: %d\n", GPOINTER_TO_INT (code), GPOINTER_TO_INT (count));
  }

  g_atomic_int_set (&ws_stop, 1);
  g_thread_join (ws);
  g_atomic_int_set (&senders_stop, 1);
  g_thread_join (senders);
  wb_bench_daemon_stop (daemon);
  g_object_unref (session);
  wb_embedded_postgres_stop (cluster, NULL);
  return 0;
}
