// SPDX-License-Identifier: GPL-3.0-or-later
/* waybilld's life: configuration is already loaded and valid; start the HTTP
 * service first (so /healthz answers during a cold start), then the database
 * (embedded cluster or DB_DSN), migrations and the bus, and only then report
 * ready. Shutdown runs the same steps backwards within a bound. */

#include "config.h"

#include <errno.h>
#include <glib-unix.h>
#include <signal.h>
#include <unistd.h>

#include "wb-bus-local.h"
#include "wb-daemon.h"
#include "wb-daemon-bus.h"
#include "wb-db-pool.h"
#include "wb-db.h"
#include "wb-embedded-postgres.h"
#include "wb-fleet-index.h"
#include "wb-fleet-store.h"
#include "wb-http-server.h"
#include "wb-metrics.h"
#include "wb-migrations.h"
#include "wb-openapi.h"
#include "wb-otlp-exporter.h"
#include "wb-outbox-relay.h"
#include "wb-phone.h"
#include "wb-roles.h"
#include "wb-shipment-store.h"
#include "wb-sla.h"

#define DB_RETRY_MAX_MS 5000
/* A collector that is slow at shutdown delays the stop by this much at most. */
#define OTLP_FLUSH_MAX_MS 2000

typedef enum
{
  PHASE_STARTING,
  PHASE_RUNNING,
  PHASE_STOPPING,
} Phase;

struct _WbDaemon
{
  GObject             parent_instance;

  WbConfig           *config;
  GMainLoop          *loop;
  WbMetrics          *metrics;
  WbOtlpExporter     *otlp;              /* with otlp.endpoint */
  WbHttpServer       *http;
  WbBus              *bus;
  WbKafkaDev         *kafka_dev;         /* --kafka-dev */
  gboolean            kafka_dev_wanted;
  WbEmbeddedPostgres *cluster;
  WbDbPool           *pool;
  WbSlaTable         *sla;
  WbShipmentStore    *shipments;
  WbOutboxRelay      *relay;
  WbFleetIndex       *fleet_index;
  WbFleetStore       *fleet;
  WbRoles            *roles;             /* daemon.roles */
  guint               overdue_source;
  gboolean            overdue_running;
  GCancellable       *cancellable;
  Phase               phase;
  gboolean            migrated;
  char               *start_problem;     /* why not ready yet, for /readyz */
  guint               db_retry_ms;
  gint64              started_us;
  gint64              shutdown_deadline_us;
  guint               signal_source;     /* reads signal_pipe */
  int                 exit_status;
};

G_DEFINE_FINAL_TYPE (WbDaemon, wb_daemon, G_TYPE_OBJECT)

static void connect_database (WbDaemon *self);
static void begin_shutdown   (WbDaemon *self);

static void
fail (WbDaemon   *self,
      int         status,
      const char *format,
      ...) G_GNUC_PRINTF (3, 4);

/* A fault that stops the daemon: said once, clearly, then an orderly stop. */
static void
fail (WbDaemon   *self,
      int         status,
      const char *format,
      ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_critical ("%s", message);
  if (self->exit_status == WB_EXIT_OK)
    self->exit_status = status;
  begin_shutdown (self);
}

static void
set_start_problem (WbDaemon   *self,
                   const char *problem)
{
  g_free (self->start_problem);
  self->start_problem = g_strdup (problem);
}

/* ---- HTTP routes -------------------------------------------------------- */

static void
handle_healthz (WbHttpRequest *request,
                gpointer       user_data)
{
  g_autoptr(GBytes) body = g_bytes_new_static ("{\"status\":\"alive\"}\n", 19);

  wb_http_request_respond (request, SOUP_STATUS_OK, "application/json", body);
}

/* Each running role: "ready", or why not. */
static void
add_role_checks (JsonBuilder *builder,
                 WbRoles     *roles)
{
  const char * const *names = wb_roles_get_names (roles);

  json_builder_set_member_name (builder, "roles");
  json_builder_begin_object (builder);
  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autofree char *reason = NULL;

      json_builder_set_member_name (builder, names[i]);
      json_builder_add_string_value (builder, wb_roles_is_ready (roles, names[i], &reason) ? "ready" : reason);
    }
  json_builder_end_object (builder);
}

static JsonNode *
readiness_body (gboolean    ready,
                const char *database,
                const char *migrations,
                const char *bus,
                WbRoles    *roles,
                const char *reason)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  if (ready)
    {
      json_builder_set_member_name (builder, "status");
      json_builder_add_string_value (builder, "ready");
    }
  else
    {
      json_builder_set_member_name (builder, "error");
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "code");
      json_builder_add_string_value (builder, "not_ready");
      json_builder_set_member_name (builder, "message");
      json_builder_add_string_value (builder, reason);
      json_builder_end_object (builder);
    }
  json_builder_set_member_name (builder, "checks");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "database");
  json_builder_add_string_value (builder, database);
  json_builder_set_member_name (builder, "migrations");
  json_builder_add_string_value (builder, migrations);
  json_builder_set_member_name (builder, "bus");
  json_builder_add_string_value (builder, bus);
  add_role_checks (builder, roles);
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

static char *
first_role_problem (WbRoles *roles)
{
  const char * const *names = wb_roles_get_names (roles);

  for (guint i = 0; names[i] != NULL; i++)
    {
      char *reason = NULL;

      if (!wb_roles_is_ready (roles, names[i], &reason))
        return reason;
    }
  return NULL;
}

typedef struct
{
  WbDaemon      *daemon;
  WbHttpRequest *request;
  GObject       *message;    /* keeps the request alive while paused */
} ReadyCheck;

static void
on_ready_ping (GObject      *source,
               GAsyncResult *result,
               gpointer      data)
{
  ReadyCheck *check = data;
  WbDaemon *self = check->daemon;
  g_autoptr(GError) error = NULL;
  g_autofree char *bus_reason = NULL;
  g_autofree char *reason = NULL;
  g_autoptr(JsonNode) body = NULL;
  gboolean db_ok = wb_db_pool_ping_finish (WB_DB_POOL (source), result, &error);
  gboolean bus_ok = wb_bus_is_ready (self->bus, &bus_reason);
  gboolean stopping = self->phase == PHASE_STOPPING;

  if (!db_ok)
    reason = g_strdup_printf ("database unreachable: %s", error->message);
  else if (!bus_ok)
    reason = g_strdup_printf ("bus not ready: %s", bus_reason);
  else if (stopping)
    reason = g_strdup ("shutting down");
  else
    reason = first_role_problem (self->roles);

  wb_metrics_gauge_set (self->metrics, "waybill_db_up", db_ok ? 1 : 0, NULL);
  body = readiness_body (reason == NULL, db_ok ? "ok" : "unreachable", "ok",
                         bus_ok ? "ok" : "not ready", self->roles, reason);
  wb_http_request_respond_json (check->request, reason ? SOUP_STATUS_SERVICE_UNAVAILABLE : SOUP_STATUS_OK, body);

  g_object_unref (check->message);
  g_object_unref (check->daemon);
  g_free (check);
}

/* 200 only while the database answers right now, migrations are applied and
 * the bus is ready; the answer names what is missing otherwise. */
static void
handle_readyz (WbHttpRequest *request,
               gpointer       user_data)
{
  WbDaemon *self = user_data;
  ReadyCheck *check;

  if (!self->migrated || self->pool == NULL)
    {
      g_autoptr(JsonNode) body = readiness_body (FALSE, self->pool ? "connecting" : "starting", "pending", "ok",
                                                 self->roles,
                                                 self->start_problem ? self->start_problem : "starting up");

      wb_http_request_respond_json (request, SOUP_STATUS_SERVICE_UNAVAILABLE, body);
      return;
    }

  check = g_new0 (ReadyCheck, 1);
  check->daemon = g_object_ref (self);
  check->request = request;
  check->message = g_object_ref (G_OBJECT (wb_http_request_get_message (request)));
  wb_http_request_pause (request);
  wb_db_pool_ping_async (self->pool, NULL, on_ready_ping, check);
}

/* Who the caller is, as the server sees it: lets a client check its token. */
static void
handle_whoami (WbHttpRequest *request,
               gpointer       user_data)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) body = NULL;
  const char *subject = wb_http_request_get_subject (request);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "role");
  json_builder_add_string_value (builder, wb_access_role_to_string (wb_http_request_get_role (request)));
  json_builder_set_member_name (builder, "subject");
  if (subject)
    json_builder_add_string_value (builder, subject);
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "requestId");
  json_builder_add_string_value (builder, wb_http_request_get_id (request));
  json_builder_end_object (builder);
  body = json_builder_get_root (builder);
  wb_http_request_respond_json (request, SOUP_STATUS_OK, body);
}

static void
handle_metrics (WbHttpRequest *request,
                gpointer       user_data)
{
  WbDaemon *self = user_data;
  char *text = wb_metrics_render (self->metrics);
  g_autoptr(GBytes) body = g_bytes_new_take (text, strlen (text));

  wb_http_request_respond (request, SOUP_STATUS_OK, "text/plain; version=0.0.4; charset=utf-8", body);
}

static void
collect_pool_metrics (WbMetrics *metrics,
                      gpointer   user_data)
{
  WbDaemon *self = user_data;
  WbDbPoolStats stats = { 0 };

  if (self->pool != NULL)
    wb_db_pool_get_stats (self->pool, &stats);
  wb_metrics_gauge_set (metrics, "waybill_db_pool_connections", stats.size, "state", "max", NULL);
  wb_metrics_gauge_set (metrics, "waybill_db_pool_connections", stats.open, "state", "open", NULL);
  wb_metrics_gauge_set (metrics, "waybill_db_pool_connections", stats.in_use, "state", "in_use", NULL);
  wb_metrics_gauge_set (metrics, "waybill_db_pool_waiting", stats.waiting, NULL);
  wb_metrics_counter_set (metrics, "waybill_db_connects_total", stats.connects_total, NULL);
  wb_metrics_counter_set (metrics, "waybill_db_connect_failures_total", stats.connect_failures_total, NULL);
  wb_metrics_counter_set (metrics, "waybill_db_queries_total", stats.queries_total, NULL);
  wb_metrics_counter_set (metrics, "waybill_db_query_errors_total", stats.query_errors_total, NULL);
}

static void
declare_metrics (WbDaemon *self)
{
  WbMetrics *m = self->metrics;

  wb_metrics_declare (m, "waybill_up", WB_METRIC_GAUGE, "1 while the daemon runs.", NULL, 0);
  wb_metrics_declare (m, "waybill_ready", WB_METRIC_GAUGE, "1 once startup finished and until shutdown.", NULL, 0);
  wb_metrics_declare (m, "waybill_db_up", WB_METRIC_GAUGE, "1 if the last database check succeeded.", NULL, 0);
  wb_metrics_declare (m, "waybill_db_pool_connections", WB_METRIC_GAUGE,
                      "Database pool connections: the maximum, open and in use.", NULL, 0);
  wb_metrics_declare (m, "waybill_db_pool_waiting", WB_METRIC_GAUGE,
                      "Database jobs waiting for a pool connection.", NULL, 0);
  wb_metrics_declare (m, "waybill_db_connects_total", WB_METRIC_COUNTER, "Database connections opened.", NULL, 0);
  wb_metrics_declare (m, "waybill_db_connect_failures_total", WB_METRIC_COUNTER,
                      "Database connection attempts that failed.", NULL, 0);
  wb_metrics_declare (m, "waybill_db_queries_total", WB_METRIC_COUNTER, "Database statements run.", NULL, 0);
  wb_metrics_declare (m, "waybill_db_query_errors_total", WB_METRIC_COUNTER,
                      "Database statements that failed.", NULL, 0);
  wb_metrics_declare (m, "waybill_dead_letters_total", WB_METRIC_COUNTER,
                      "Messages sent to a dead-letter topic (<topic>.dlq), by consumer.", NULL, 0);
  wb_metrics_declare (m, "waybill_tracker_items_total", WB_METRIC_COUNTER,
                      "Carrier events, tickets and checks from the bus: applied, duplicate, for a closed "
                      "shipment, or refused by the store.", NULL, 0);
  wb_metrics_declare (m, "waybill_tracker_shipments_created_total", WB_METRIC_COUNTER,
                      "Shipments created from TICKET_CREATED.", NULL, 0);
  wb_metrics_declare (m, "waybill_tracker_checks_total", WB_METRIC_COUNTER,
                      "tracking.updated checks recorded on their tracking.", NULL, 0);
  wb_metrics_declare (m, "waybill_tracker_retries_total", WB_METRIC_COUNTER,
                      "Tracker batches put back after a database fault.", NULL, 0);
  wb_metrics_gauge_set (m, "waybill_up", 1, NULL);
  wb_metrics_gauge_set (m, "waybill_ready", 0, NULL);
  wb_metrics_gauge_set (m, "waybill_db_up", 0, NULL);
  wb_metrics_add_process_collector (m);
  wb_metrics_add_collector (m, collect_pool_metrics, self, NULL);
}

/* ---- startup ------------------------------------------------------------ */

static void
on_overdue_checked (GObject      *source,
                    GAsyncResult *result,
                    gpointer      data)
{
  g_autoptr(WbDaemon) self = data;
  g_autoptr(GError) error = NULL;
  gint64 flagged = wb_shipment_store_check_overdue_finish (WB_SHIPMENT_STORE (source), result, &error);

  self->overdue_running = FALSE;
  if (flagged < 0)
    g_message ("SLA check failed: %s", error->message);
  else if (flagged > 0)
    g_message ("SLA check: %" G_GINT64_FORMAT " shipments newly overdue", flagged);
}

/* The periodic half of overdue detection (the event path is the other). */
static gboolean
check_overdue (gpointer data)
{
  WbDaemon *self = data;

  if (!self->overdue_running)
    {
      self->overdue_running = TRUE;
      wb_shipment_store_check_overdue_async (self->shipments, self->cancellable, on_overdue_checked,
                                             g_object_ref (self));
    }
  return G_SOURCE_CONTINUE;
}

/* Messages queued in the outbox reach the bus only once the schema exists. */
static void
start_background_jobs (WbDaemon *self)
{
  self->relay = wb_outbox_relay_new (self->pool, self->bus);
  wb_shipment_store_set_relay (self->shipments, self->relay);
  wb_outbox_relay_kick (self->relay);
  check_overdue (self);
  self->overdue_source = g_timeout_add (wb_config_get_int (self->config, "shipments.overdue-check-interval"),
                                        check_overdue, self);
}

static void
became_ready (WbDaemon *self)
{
  self->migrated = TRUE;
  set_start_problem (self, NULL);
  wb_http_server_set_unavailable (self->http, NULL);
  start_background_jobs (self);
  wb_metrics_gauge_set (self->metrics, "waybill_ready", 1, NULL);
  wb_metrics_gauge_set (self->metrics, "waybill_db_up", 1, NULL);
  g_message ("Ready in %.0f ms (schema version %d)",
             (g_get_monotonic_time () - self->started_us) / 1000.0, wb_migrations_latest_version ());
}

static void load_fleet (WbDaemon *self);

static gboolean
retry_fleet_load (gpointer data)
{
  load_fleet (data);
  return G_SOURCE_REMOVE;
}

/* Roles start once the fleet index is filled: devices, vehicles and
 * drivers are looked up in memory. */
static void
on_fleet_loaded (GObject      *source,
                 GAsyncResult *result,
                 gpointer      data)
{
  g_autoptr(WbDaemon) self = data;
  g_autoptr(GError) error = NULL;

  if (self->phase == PHASE_STOPPING)
    return;
  if (!wb_fleet_store_load_finish (WB_FLEET_STORE (source), result, &error))
    {
      g_message ("Loading the fleet reference data failed (%s); retrying", error->message);
      set_start_problem (self, error->message);
      g_timeout_add (1000, retry_fleet_load, self);
      return;
    }
  if (!wb_roles_start (self->roles, &error))
    {
      fail (self, WB_EXIT_FATAL, "Cannot start: %s", error->message);
      return;
    }
  became_ready (self);
}

static void
load_fleet (WbDaemon *self)
{
  wb_fleet_store_load_async (self->fleet, self->cancellable, on_fleet_loaded, g_object_ref (self));
}

typedef struct
{
  WbDaemon *daemon;
  char     *holder;
} LockWait;

static void
lock_wait_free (LockWait *wait)
{
  g_object_unref (wait->daemon);
  g_free (wait->holder);
  g_free (wait);
}

static gboolean
report_lock_wait (gpointer data)
{
  LockWait *wait = data;
  WbDaemon *self = wait->daemon;
  g_autofree char *problem = NULL;

  if (self->phase == PHASE_STOPPING || self->migrated)
    return G_SOURCE_REMOVE;
  problem = g_strdup_printf ("waiting for the schema migration lock, held by another process (%s)", wait->holder);
  g_message ("%s; waiting for it", problem);
  set_start_problem (self, problem);
  return G_SOURCE_REMOVE;
}

/* On the pool thread: the daemon's state belongs to the main loop. */
static void
on_lock_wait (const char *holder,
              gpointer    user_data)
{
  LockWait *wait = g_new0 (LockWait, 1);

  wait->daemon = g_object_ref (user_data);
  wait->holder = g_strdup (holder);
  g_main_context_invoke_full (NULL, G_PRIORITY_DEFAULT, report_lock_wait, wait, (GDestroyNotify) lock_wait_free);
}

/* Cancellable throughout, the wait for another daemon's lock included, so
 * that a stop is never held up by somebody else's migration. */
static gpointer
migrate_in_thread (PGconn        *conn,
                   gpointer       user_data,
                   GCancellable  *cancellable,
                   GError       **error)
{
  guint applied = 0;

  if (!wb_migrations_apply_full (conn, cancellable, on_lock_wait, user_data, &applied, error))
    return NULL;
  return GUINT_TO_POINTER (applied + 1);
}

static gboolean
retry_database (gpointer data)
{
  connect_database (data);
  return G_SOURCE_REMOVE;
}

/* The database may be late (a server still booting, a network blip): keep
 * trying with back-off, and say why in /readyz meanwhile. Schema faults are
 * not transient: they stop the daemon. */
static void
on_migrated (GObject      *source,
             GAsyncResult *result,
             gpointer      data)
{
  g_autoptr(WbDaemon) self = data;
  g_autoptr(GError) error = NULL;
  gpointer applied = wb_db_pool_run_finish (WB_DB_POOL (source), result, &error);

  if (self->phase == PHASE_STOPPING)
    return;
  if (applied != NULL)
    {
      if (GPOINTER_TO_UINT (applied) > 1)
        g_message ("Applied %u schema migrations", GPOINTER_TO_UINT (applied) - 1);
      load_fleet (self);
      return;
    }
  if (g_error_matches (error, WB_DB_ERROR, WB_DB_ERROR_SCHEMA_TOO_NEW)
      || g_error_matches (error, WB_DB_ERROR, WB_DB_ERROR_MIGRATION))
    {
      fail (self, WB_EXIT_FATAL, "Cannot use this database: %s", error->message);
      return;
    }

  self->db_retry_ms = self->db_retry_ms ? MIN (self->db_retry_ms * 2, DB_RETRY_MAX_MS) : 250;
  g_warning ("Database not available (%s); retrying in %u ms", error->message, self->db_retry_ms);
  set_start_problem (self, error->message);
  g_timeout_add (self->db_retry_ms, retry_database, self);
}

static void
connect_database (WbDaemon *self)
{
  if (self->phase == PHASE_STOPPING)
    return;
  wb_db_pool_run_async (self->pool, migrate_in_thread, g_object_ref (self), g_object_unref, NULL,
                        self->cancellable, on_migrated, g_object_ref (self));
}


static void
on_cluster_started (GObject      *source,
                    GAsyncResult *result,
                    gpointer      data)
{
  g_autoptr(WbDaemon) self = data;
  g_autoptr(GError) error = NULL;
  WbEmbeddedPostgres *cluster = WB_EMBEDDED_POSTGRES (source);

  if (!wb_embedded_postgres_start_finish (cluster, result, &error))
    {
      if (self->phase != PHASE_STOPPING)
        fail (self, WB_EXIT_FATAL, "The embedded PostgreSQL did not start: %s", error->message);
      return;
    }
  g_message ("Embedded PostgreSQL %s in %s", wb_embedded_postgres_get_created (cluster) ? "created" : "started",
             wb_embedded_postgres_get_data_dir (cluster));
  if (self->phase == PHASE_STOPPING)
    return;
  connect_database (self);
}

static char *
default_state_dir (void)
{
  /* Root's home is private, and the cluster runs as the postgres user, who
   * must reach its directory: system daemons keep state in /var/lib. */
  if (geteuid () == 0 && g_getenv ("XDG_STATE_HOME") == NULL)
    return g_strdup ("/var/lib/waybill");
  return g_build_filename (g_get_user_state_dir (), "waybill", NULL);
}

/* The pool exists from the start (it connects lazily), so everything built on
 * it can be wired before the database is up; the HTTP gate keeps requests
 * away until migrations are applied. */
static void
create_pool (WbDaemon *self)
{
  const char *dsn = wb_config_get_string (self->config, "database.dsn");
  g_autofree char *state_dir = NULL;

  if (*dsn == '\0')
    {
      state_dir = g_strdup (wb_config_get_string (self->config, "daemon.state-dir"));
      if (*state_dir == '\0')
        {
          g_free (state_dir);
          state_dir = default_state_dir ();
        }
      self->cluster = wb_embedded_postgres_new (state_dir);
      dsn = wb_embedded_postgres_get_conninfo (self->cluster);
    }
  self->pool = wb_db_pool_new (dsn, wb_config_get_int (self->config, "database.pool-size"));
}

static void
start_database (WbDaemon *self)
{
  if (self->cluster == NULL)
    {
      connect_database (self);
      return;
    }
  wb_embedded_postgres_start_async (self->cluster, self->cancellable, on_cluster_started, g_object_ref (self));
}

/* Daemons that share a database hear nothing of each other's writes; with
 * Kafka configured, that is the deployment to expect. */
static gboolean
revalidates_cache (WbDaemon *self)
{
  const char *mode = wb_config_get_string (self->config, "shipments.cache-revalidation");

  if (g_str_equal (mode, "auto"))
    return self->kafka_dev_wanted || *wb_config_get_string (self->config, "kafka.brokers") != '\0';
  return g_str_equal (mode, "on");
}

static gboolean
create_shipments (WbDaemon  *self,
                  GError   **error)
{
  self->sla = wb_sla_table_load_default (error);
  if (self->sla == NULL)
    return FALSE;
  self->shipments = wb_shipment_store_new (self->pool, self->sla);
  return TRUE;
}

static void
create_fleet (WbDaemon *self)
{
  self->fleet_index = wb_fleet_index_new ();
  self->fleet = wb_fleet_store_new (self->pool, self->fleet_index);
  wb_fleet_store_set_offline_after (self->fleet, wb_config_get_int (self->config, "fleet.offline-after") * 1000);
}

/* The pipelines daemon.roles asks for, on the shared stores and bus. */
static gboolean
create_roles (WbDaemon  *self,
              GError   **error)
{
  WbRoleContext context = {
    .config = self->config,
    .bus = self->bus,
    .metrics = self->metrics,
    .pool = self->pool,
    .sla = self->sla,
    .shipments = self->shipments,
    .fleet = self->fleet,
    .revalidate_cache = revalidates_cache (self),
  };

  return wb_roles_create (self->roles, &context, error);
}

/* data/openapi/system.json describes them by method and path. */
static void
add_routes (WbDaemon *self)
{
  wb_http_server_add_route (self->http, "GET", "/healthz", WB_ACCESS_ROLE_NONE, handle_healthz, self);
  wb_http_server_add_route (self->http, "GET", "/readyz", WB_ACCESS_ROLE_NONE, handle_readyz, self);
  wb_http_server_add_route (self->http, "GET", "/metrics", WB_ACCESS_ROLE_NONE, handle_metrics, self);
  wb_http_server_add_route (self->http, "GET", "/whoami", WB_ACCESS_ROLE_VIEWER, handle_whoami, self);
}

static gboolean
start_http (WbDaemon  *self,
            GError   **error)
{
  WbHttpLimits limits = {
    .max_body_size = wb_config_get_int (self->config, "server.max-body-size"),
    .max_header_count = wb_config_get_int (self->config, "server.max-header-count"),
    .max_header_size = wb_config_get_int (self->config, "server.max-header-size"),
    .idle_timeout_ms = wb_config_get_int (self->config, "server.idle-timeout"),
    .read_timeout_ms = wb_config_get_int (self->config, "server.read-timeout"),
    .max_connections = wb_config_get_int (self->config, "server.max-connections"),
    .max_connections_per_peer = wb_config_get_int (self->config, "server.max-connections-per-peer"),
  };
  const char *address = wb_config_get_string (self->config, "server.address");
  const char *secret = wb_config_get_string (self->config, "auth.hs256-secret");

  self->http = wb_http_server_new (self->metrics, &limits);
  wb_http_server_set_tracing (self->http, self->otlp);
  if (*secret != '\0')
    {
      g_autoptr(GBytes) key = g_bytes_new (secret, strlen (secret));

      wb_http_server_set_auth_secret (self->http, key);
    }
  add_routes (self);
  wb_roles_add_routes (self->roles, self->http);
  wb_openapi_register (self->http);
  /* Every route described and every description routed, or no start;
   * a daemon running some roles only routes some of them. */
  if (wb_roles_has_every (self->roles) && !wb_openapi_check (self->http, error))
    return FALSE;
  wb_http_server_set_unavailable (self->http, "the database is starting");
  if (!wb_http_server_listen (self->http, address, wb_config_get_int (self->config, "server.port"), error))
    return FALSE;
  g_message ("Listening on http://%s:%u", address, wb_http_server_get_port (self->http));
  if (*secret == '\0')
    g_warning ("AUTH_HS256SECRET is not set: serving without authentication, on loopback only");
  return TRUE;
}

/* ---- shutdown ----------------------------------------------------------- */

static void
finish_shutdown (WbDaemon *self)
{
  g_main_loop_quit (self->loop);
}

static void
stop_cluster_in_thread (GTask        *task,
                        gpointer      source_object,
                        gpointer      task_data,
                        GCancellable *cancellable)
{
  g_autoptr(GError) error = NULL;

  if (!wb_embedded_postgres_stop (WB_EMBEDDED_POSTGRES (source_object), &error))
    g_warning ("Could not stop the embedded PostgreSQL: %s", error->message);
  g_task_return_boolean (task, TRUE);
}

static void
on_cluster_stopped (GObject      *source,
                    GAsyncResult *result,
                    gpointer      data)
{
  WbDaemon *self = data;

  g_message ("Embedded PostgreSQL stopped");
  finish_shutdown (self);
}

static void
stop_cluster (WbDaemon *self)
{
  g_autoptr(GTask) task = NULL;

  if (self->cluster == NULL)
    {
      finish_shutdown (self);
      return;
    }
  /* pg_ctl stop blocks: off the main loop. */
  task = g_task_new (self->cluster, NULL, on_cluster_stopped, self);
  g_task_run_in_thread (task, stop_cluster_in_thread);
}

static void
on_pool_closed (GObject      *source,
                GAsyncResult *result,
                gpointer      data)
{
  g_autoptr(GError) error = NULL;

  if (!wb_db_pool_close_finish (WB_DB_POOL (source), result, &error))
    g_warning ("Database work still running at the shutdown deadline; not waiting for it");
  stop_cluster (data);
}

static gboolean flush_timeout (gpointer data);

/* Jobs have seen the daemon's cancellable by now; one stuck in libpq
 * (a connection attempt to a server that does not answer) is not waited
 * for past the deadline, and never on the main loop. */
static void
close_storage (WbDaemon *self)
{
  g_autoptr(GCancellable) cancellable = NULL;
  gint64 left_ms;

  g_clear_handle_id (&self->overdue_source, g_source_remove);
  if (self->relay)
    wb_outbox_relay_stop (self->relay);
  if (self->pool == NULL)
    {
      stop_cluster (self);
      return;
    }
  cancellable = g_cancellable_new ();
  left_ms = MAX (100, (self->shutdown_deadline_us - g_get_monotonic_time ()) / 1000);
  g_timeout_add_full (G_PRIORITY_DEFAULT, left_ms, flush_timeout, g_object_ref (cancellable), g_object_unref);
  wb_db_pool_close_async (self->pool, cancellable, on_pool_closed, self);
}

static void
on_bus_flushed (GObject      *source,
                GAsyncResult *result,
                gpointer      data)
{
  WbDaemon *self = data;
  g_autoptr(GError) error = NULL;

  if (!wb_bus_flush_finish (WB_BUS (source), result, &error))
    g_warning ("Messages still queued on the bus at shutdown: %s", error->message);
  wb_roles_stop (self->roles);
  wb_bus_close (self->bus);
  close_storage (self);
}

static gboolean
flush_timeout (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

static void
flush_bus (WbDaemon *self)
{
  g_autoptr(GCancellable) flush_cancellable = NULL;
  gint64 left_ms;

  flush_cancellable = g_cancellable_new ();
  left_ms = MAX (100, (self->shutdown_deadline_us - g_get_monotonic_time ()) / 1000);
  g_timeout_add_full (G_PRIORITY_DEFAULT, left_ms, flush_timeout, g_object_ref (flush_cancellable), g_object_unref);
  wb_bus_flush_async (self->bus, flush_cancellable, on_bus_flushed, self);
}

static void
on_otlp_flushed (GObject      *source,
                 GAsyncResult *result,
                 gpointer      data)
{
  WbDaemon *self = data;
  g_autoptr(GError) error = NULL;

  if (!wb_otlp_exporter_flush_finish (WB_OTLP_EXPORTER (source), result, &error))
    g_message ("Final OpenTelemetry export incomplete: %s", error->message);
  flush_bus (self);
}

/* The last spans and the final metrics, once no request is left to add
 * to them; bounded, so a collector that is down does not hold the stop up. */
static void
flush_telemetry (WbDaemon *self)
{
  g_autoptr(GCancellable) cancellable = NULL;
  gint64 left_ms;

  if (self->otlp == NULL)
    {
      flush_bus (self);
      return;
    }
  cancellable = g_cancellable_new ();
  left_ms = CLAMP ((self->shutdown_deadline_us - g_get_monotonic_time ()) / 1000, 100, OTLP_FLUSH_MAX_MS);
  g_timeout_add_full (G_PRIORITY_DEFAULT, left_ms, flush_timeout, g_object_ref (cancellable), g_object_unref);
  wb_otlp_exporter_flush_async (self->otlp, cancellable, on_otlp_flushed, self);
}

static gboolean
wait_for_requests (gpointer data)
{
  WbDaemon *self = data;

  if (wb_http_server_get_in_flight (self->http) > 0 && g_get_monotonic_time () < self->shutdown_deadline_us)
    return G_SOURCE_CONTINUE;
  if (wb_http_server_get_in_flight (self->http) > 0)
    g_warning ("%u requests still in flight at the shutdown deadline", wb_http_server_get_in_flight (self->http));
  wb_http_server_disconnect (self->http);
  flush_telemetry (self);
  return G_SOURCE_REMOVE;
}

static void
begin_shutdown (WbDaemon *self)
{
  if (self->phase == PHASE_STOPPING)
    return;
  self->phase = PHASE_STOPPING;
  wb_metrics_gauge_set (self->metrics, "waybill_ready", 0, NULL);
  g_cancellable_cancel (self->cancellable);
  if (self->otlp)
    wb_otlp_exporter_stop (self->otlp);
  self->shutdown_deadline_us = g_get_monotonic_time ()
                               + wb_config_get_int (self->config, "server.shutdown-timeout") * 1000;
  if (self->http == NULL)
    {
      close_storage (self);
      return;
    }
  wb_roles_stop_intake (self->roles);
  wb_http_server_stop_accepting (self->http);
  g_message ("No longer accepting connections; %u requests in flight get up to %.3g s to finish",
             wb_http_server_get_in_flight (self->http),
             wb_config_get_int (self->config, "server.shutdown-timeout") / 1000.0);
  g_timeout_add (20, wait_for_requests, self);
}

/* SIGINT and SIGTERM are caught by a plain handler rather than
 * g_unix_signal_add(), so that the second one ends the process in the
 * handler itself: whatever the main loop is doing, the operator who
 * insists is heard. The first one only wakes the main loop. */
static int signal_pipe[2] = { -1, -1 };
static volatile sig_atomic_t signals_received;

static void
on_signal_raised (int signum)
{
  static const char message[] = "waybilld: second signal, exiting at once\n";
  int saved_errno = errno;
  ssize_t ignored;

  if (++signals_received > 1)
    {
      ignored = write (STDERR_FILENO, message, sizeof message - 1);
      _exit (WB_EXIT_FATAL);
    }
  /* Fails only with the pipe full, when a wake-up is pending already. */
  ignored = write (signal_pipe[1], "", 1);
  (void) ignored;
  errno = saved_errno;
}

static gboolean
on_signal (gint         fd,
           GIOCondition condition,
           gpointer     data)
{
  WbDaemon *self = data;
  char byte;

  while (read (fd, &byte, 1) > 0)
    ;
  g_message ("Shutting down (a second signal exits at once)");
  begin_shutdown (self);
  return G_SOURCE_CONTINUE;
}

static gboolean
catch_signals (WbDaemon  *self,
               GError   **error)
{
  struct sigaction action = { .sa_handler = on_signal_raised };

  if (!g_unix_open_pipe (signal_pipe, FD_CLOEXEC, error)
      || !g_unix_set_fd_nonblocking (signal_pipe[0], TRUE, error)
      || !g_unix_set_fd_nonblocking (signal_pipe[1], TRUE, error))
    return FALSE;
  /* Neither signal interrupts the handler of the other. */
  sigemptyset (&action.sa_mask);
  sigaddset (&action.sa_mask, SIGINT);
  sigaddset (&action.sa_mask, SIGTERM);
  action.sa_flags = SA_RESTART;
  sigaction (SIGINT, &action, NULL);
  sigaction (SIGTERM, &action, NULL);
  self->signal_source = g_unix_fd_add (signal_pipe[0], G_IO_IN, on_signal, self);
  return TRUE;
}

static void
release_signals (WbDaemon *self)
{
  if (self->signal_source == 0)
    return;
  signal (SIGINT, SIG_DFL);
  signal (SIGTERM, SIG_DFL);
  g_clear_handle_id (&self->signal_source, g_source_remove);
  for (guint i = 0; i < G_N_ELEMENTS (signal_pipe); i++)
    {
      close (signal_pipe[i]);
      signal_pipe[i] = -1;
    }
}

/* ---- the object --------------------------------------------------------- */

static void
wb_daemon_finalize (GObject *object)
{
  WbDaemon *self = WB_DAEMON (object);

  release_signals (self);
  g_clear_handle_id (&self->overdue_source, g_source_remove);
  g_clear_pointer (&self->roles, wb_roles_free);
  g_clear_object (&self->http);
  g_clear_object (&self->otlp);
  g_clear_object (&self->relay);
  g_clear_object (&self->shipments);
  g_clear_object (&self->fleet);
  g_clear_object (&self->fleet_index);
  g_clear_object (&self->sla);
  g_clear_object (&self->pool);
  g_clear_object (&self->bus);
  g_clear_object (&self->kafka_dev);
  g_clear_object (&self->cluster);
  g_clear_object (&self->metrics);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->config);
  g_clear_pointer (&self->loop, g_main_loop_unref);
  g_clear_pointer (&self->start_problem, g_free);

  G_OBJECT_CLASS (wb_daemon_parent_class)->finalize (object);
}

static void
wb_daemon_class_init (WbDaemonClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = wb_daemon_finalize;
}

static void
wb_daemon_init (WbDaemon *self)
{
  self->loop = g_main_loop_new (NULL, FALSE);
  self->cancellable = g_cancellable_new ();
  self->metrics = wb_metrics_new ();
}

WbDaemon *
wb_daemon_new (WbConfig *config)
{
  WbDaemon *self;

  g_return_val_if_fail (WB_IS_CONFIG (config), NULL);

  self = g_object_new (WB_TYPE_DAEMON, NULL);
  self->config = g_object_ref (config);
  return self;
}

/**
 * wb_daemon_set_kafka_dev:
 *
 * Runs librdkafka's mock cluster inside the daemon and uses it as the bus
 * (`waybilld --kafka-dev`): a development aid, so that kcat can be pointed
 * at a daemon with no broker installed. Never a default.
 */
void
wb_daemon_set_kafka_dev (WbDaemon *self,
                         gboolean  kafka_dev)
{
  g_return_if_fail (WB_IS_DAEMON (self));

  self->kafka_dev_wanted = kafka_dev;
}

static gboolean
create_bus (WbDaemon  *self,
            GError   **error)
{
  if (self->kafka_dev_wanted)
    {
#if WB_HAVE_KAFKA
      const char *bootstrap;

      self->kafka_dev = wb_kafka_dev_new (1, error);
      if (self->kafka_dev == NULL)
        return FALSE;
      bootstrap = wb_kafka_dev_get_bootstrap_servers (self->kafka_dev);
      g_message ("Kafka development cluster (librdkafka's mock, in this process, data in memory only) at %s; "
                 "try: kcat -b %s -L", bootstrap, bootstrap);
#else
      g_set_error (error, WB_CONFIG_ERROR, WB_CONFIG_ERROR_INVALID_VALUE,
                   "--kafka-dev: this waybilld was built without Kafka (-Dkafka=disabled)");
      return FALSE;
#endif
    }
  self->bus = wb_daemon_bus_new (self->config, self->kafka_dev, self->metrics, error);
  return self->bus != NULL;
}

static gboolean
create_otlp_exporter (WbDaemon  *self,
                      GError   **error)
{
  const char *endpoint = wb_config_get_string (self->config, "otlp.endpoint");

  if (*endpoint == '\0')
    return TRUE;
  self->otlp = wb_otlp_exporter_new (endpoint, self->metrics, error);
  if (self->otlp == NULL)
    return FALSE;
  wb_otlp_exporter_set_export_interval (self->otlp, wb_config_get_int (self->config, "otlp.export-interval"));
  g_message ("OpenTelemetry: metrics every %.3g s to %s, request spans to %s",
             wb_config_get_int (self->config, "otlp.export-interval") / 1000.0,
             wb_otlp_exporter_get_metrics_url (self->otlp), wb_otlp_exporter_get_traces_url (self->otlp));
  return TRUE;
}

static gboolean
check_phone_region (const char  *region,
                    GError     **error)
{
  if (*region == '\0' || (strlen (region) == 2 && wb_phone_country_calling_code (region) != NULL))
    return TRUE;
  g_set_error (error, WB_CONFIG_ERROR, WB_CONFIG_ERROR_INVALID_VALUE,
               "shipments.phone-region: “%s” is not an ISO 3166-1 alpha-2 country with a calling code "
               "(e.g. BY), nor empty", region);
  return FALSE;
}

/* Checks that need no I/O and would otherwise leave the daemon half-started. */
static gboolean
check_plan (WbDaemon  *self,
            GError   **error)
{
  const char *address = wb_config_get_string (self->config, "server.address");
  g_auto(GStrv) roles = wb_config_get_strv (self->config, "daemon.roles");

  self->roles = wb_roles_new ((const char * const *) roles, error);
  if (self->roles == NULL)
    return FALSE;
  if (*wb_config_get_string (self->config, "auth.hs256-secret") == '\0' && !wb_http_address_is_loopback (address))
    {
      g_set_error (error, WB_CONFIG_ERROR, WB_CONFIG_ERROR_INVALID_VALUE,
                   "server.address: refusing to listen on %s without authentication; "
                   "set AUTH_HS256SECRET or listen on 127.0.0.1", address);
      return FALSE;
    }
  return check_phone_region (wb_config_get_string (self->config, "shipments.phone-region"), error);
}

/**
 * wb_daemon_run:
 *
 * Runs until SIGINT or SIGTERM (or a fatal fault).
 *
 * Returns: the process exit status
 */
int
wb_daemon_run (WbDaemon *self)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *described = NULL;

  g_return_val_if_fail (WB_IS_DAEMON (self), WB_EXIT_FATAL);

  self->started_us = g_get_monotonic_time ();
  if (!check_plan (self, &error))
    {
      g_printerr ("waybilld: %s\n", error->message);
      return WB_EXIT_CONFIG;
    }

  described = wb_config_describe (self->config);
  g_message ("waybilld %s starting%s%s", PACKAGE_VERSION, wb_config_get_file (self->config) ? " with " : "",
             wb_config_get_file (self->config) ? wb_config_get_file (self->config) : "");
  g_debug ("Configuration:\n%s", described);

  if (!catch_signals (self, &error))
    {
      g_printerr ("waybilld: %s\n", error->message);
      return WB_EXIT_FATAL;
    }
  declare_metrics (self);
  if (!create_otlp_exporter (self, &error))
    {
      g_printerr ("waybilld: %s\n", error->message);
      return WB_EXIT_CONFIG;
    }
  if (!create_bus (self, &error))
    {
      g_printerr ("waybilld: %s\n", error->message);
      return error->domain == WB_CONFIG_ERROR ? WB_EXIT_CONFIG : WB_EXIT_FATAL;
    }
  set_start_problem (self, "the database is starting");
  create_pool (self);
  if (!create_shipments (self, &error))
    {
      g_critical ("Cannot load the shipment data: %s", error->message);
      return WB_EXIT_FATAL;
    }
  create_fleet (self);
  if (!create_roles (self, &error))
    {
      g_critical ("Cannot set up the roles: %s", error->message);
      return WB_EXIT_FATAL;
    }

  if (!start_http (self, &error))
    {
      g_critical ("Cannot listen on %s:%" G_GINT64_FORMAT ": %s",
                  wb_config_get_string (self->config, "server.address"),
                  wb_config_get_int (self->config, "server.port"), error->message);
      return WB_EXIT_FATAL;
    }
  start_database (self);

  g_main_loop_run (self->loop);
  g_message ("Stopped");
  return self->exit_status;
}
