// SPDX-License-Identifier: GPL-3.0-or-later
/* waybilld's roles, one table from name to pipeline. A role of the
 * architecture that this build does not have yet is a row without a
 * pipeline: asking for it is refused at start, and giving it one is all
 * it takes to add it. "all" runs every role that has one. */

#include "config.h"

#include "wb-dispatch-api.h"
#include "wb-dispatch-consumer.h"
#include "wb-fleet-api.h"
#include "wb-fleet-role.h"
#include "wb-ingest.h"
#include "wb-live-gateway.h"
#include "wb-polling-role.h"
#include "wb-roles.h"
#include "wb-shipments-api.h"
#include "wb-status-map.h"
#include "wb-tracker-consumer.h"

typedef struct
{
  const char           *name;
  const WbRolePipeline *pipeline;  /* NULL: not in this build */
} WbRoleRow;

typedef struct
{
  const WbRoleRow *row;
  gpointer         pipeline;
  gboolean         started;
} RunningRole;

struct _WbRoles
{
  GArray    *running;   /* RunningRole, in table order */
  GPtrArray *names;     /* NULL-terminated */
  gboolean   every;     /* every role of this build runs */
};

/* ---- api: the REST resources -------------------------------------------- */

static WbDispatchApi *
dispatch_api_new (const WbRoleContext *context)
{
  g_autoptr(WbDispatchStore) store = wb_dispatch_store_new (context->pool, context->shipments);
  WbDispatchApi *api = wb_dispatch_api_new (store);

  wb_dispatch_api_set_phone_region (api, wb_config_get_string (context->config, "shipments.phone-region"));
  return api;
}

typedef struct
{
  WbShipmentsApi *shipments;
  WbFleetApi     *fleet;
  WbTrackingsApi *trackings;

  WbDispatchApi  *dispatch;
} ApiRole;

static void api_free (gpointer pipeline);

static gpointer
api_create (const WbRoleContext  *context,
            GError              **error)
{
  ApiRole *api = g_new0 (ApiRole, 1);
  WbTrackParams track;

  api->shipments = wb_shipments_api_new (context->shipments, context->sla, context->metrics);
  /* The daemon checked the region before anything started. */
  wb_shipments_api_set_phone_region (api->shipments,
                                     wb_config_get_string (context->config, "shipments.phone-region"));
  wb_shipments_api_set_cache_revalidation (api->shipments, context->revalidate_cache);
  api->fleet = wb_fleet_api_new (context->fleet);
  wb_track_params_init (&track);
  track.min_trip_distance_m = wb_config_get_int (context->config, "fleet.trip-min-distance");
  track.min_trip_duration = wb_config_get_int (context->config, "fleet.trip-min-duration") * 1000;
  track.min_parking_duration = wb_config_get_int (context->config, "fleet.stop-min-duration") * 1000;
  wb_fleet_api_set_track_defaults (api->fleet, &track);
  api->dispatch = dispatch_api_new (context);
  if ((api->trackings = wb_polling_api_new (context, error)) == NULL)
    g_clear_pointer (&api, api_free);
  return api;
}

static void
api_add_routes (gpointer      pipeline,
                WbHttpServer *http)
{
  ApiRole *api = pipeline;

  wb_shipments_api_register (api->shipments, http);
  wb_fleet_api_register (api->fleet, http);
  wb_trackings_api_register (api->trackings, http);

  wb_dispatch_api_register (api->dispatch, http);
}

static void
api_free (gpointer pipeline)
{
  ApiRole *api = pipeline;

  g_clear_pointer (&api->shipments, wb_shipments_api_free);
  g_clear_pointer (&api->fleet, wb_fleet_api_free);
  g_clear_pointer (&api->trackings, wb_trackings_api_free);

  g_clear_pointer (&api->dispatch, wb_dispatch_api_free);
  g_free (api);
}

static const WbRolePipeline api_pipeline = {
  .create = api_create,
  .add_routes = api_add_routes,
  .free = api_free,
  .intake = TRUE,
};

/* ---- ingest: positions from devices --------------------------------------- */

typedef struct
{
  WbIngest *ingest;
  WbConfig *config;
} IngestRole;

static gpointer
ingest_create (const WbRoleContext  *context,
               GError              **error)
{
  IngestRole *role = g_new0 (IngestRole, 1);
  const char *unknown_devices = wb_config_get_string (context->config, "fleet.unknown-devices");

  role->config = g_object_ref (context->config);
  role->ingest = wb_ingest_new (context->bus, wb_fleet_store_get_index (context->fleet), context->fleet,
                                context->metrics, wb_config_get_int (context->config, "fleet.max-position-age") * 1000,
                                g_str_equal (unknown_devices, "quarantine"));
  return role;
}

static void
ingest_add_routes (gpointer      pipeline,
                   WbHttpServer *http)
{
  IngestRole *role = pipeline;

  wb_ingest_register_api (role->ingest, http);
}

/* Devices are identified from memory, so the listeners open only once the
 * fleet index is filled. */
static gboolean
ingest_start (gpointer   pipeline,
              GError   **error)
{
  IngestRole *role = pipeline;
  WbConfig *config = role->config;
  const char *address = wb_config_get_string (config, "server.address");
  guint osmand = wb_config_get_int (config, "fleet.osmand-port");
  guint teltonika = wb_config_get_int (config, "fleet.teltonika-port");
  WbHttpLimits limits = {
    .max_body_size = 64 * 1024,
    .max_header_count = wb_config_get_int (config, "server.max-header-count"),
    .max_header_size = wb_config_get_int (config, "server.max-header-size"),
    .idle_timeout_ms = wb_config_get_int (config, "server.idle-timeout"),
    .read_timeout_ms = wb_config_get_int (config, "server.read-timeout"),
    .max_connections = wb_config_get_int (config, "server.max-connections"),
    .max_connections_per_peer = wb_config_get_int (config, "server.max-connections-per-peer"),
  };

  if (osmand != 0)
    {
      if (!wb_ingest_listen_osmand (role->ingest, address, osmand, &limits, error))
        return FALSE;
      g_message ("OsmAnd listener on %s:%u", address, wb_ingest_get_osmand_port (role->ingest));
    }
  if (teltonika != 0)
    {
      if (!wb_ingest_listen_teltonika (role->ingest, address, teltonika, error))
        return FALSE;
      g_message ("Teltonika listener on %s:%u", address, wb_ingest_get_teltonika_port (role->ingest));
    }
  return TRUE;
}

static void
ingest_stop (gpointer pipeline)
{
  IngestRole *role = pipeline;

  wb_ingest_stop (role->ingest);
}

static void
ingest_free (gpointer pipeline)
{
  IngestRole *role = pipeline;

  g_clear_object (&role->ingest);
  g_clear_object (&role->config);
  g_free (role);
}

static const WbRolePipeline ingest_pipeline = {
  .create = ingest_create,
  .add_routes = ingest_add_routes,
  .start = ingest_start,
  .stop = ingest_stop,
  .free = ingest_free,
  .intake = TRUE,
};

/* ---- fleet: position processing and reference data ------------------------ */

static gpointer
fleet_create (const WbRoleContext  *context,
              GError              **error)
{
  return wb_fleet_role_new (context->config, context->bus, context->fleet,
                            wb_db_pool_get_conninfo (context->pool), context->metrics);
}

static gboolean
fleet_start (gpointer   pipeline,
             GError   **error)
{
  wb_fleet_role_start (pipeline);
  return TRUE;
}

static void
fleet_stop (gpointer pipeline)
{
  wb_fleet_role_stop (pipeline);
}

static gboolean
fleet_is_ready (gpointer   pipeline,
                char     **out_reason)
{
  return wb_fleet_role_is_ready (pipeline, out_reason);
}

static const WbRolePipeline fleet_pipeline = {
  .create = fleet_create,
  .start = fleet_start,
  .stop = fleet_stop,
  .is_ready = fleet_is_ready,
  .free = g_object_unref,
};

/* ---- tracker: carrier events into shipments ------------------------------- */

static void
collect_tracker_metrics (WbMetrics *m,
                         gpointer   data)
{
  WbTrackerCounts c;

  wb_tracker_consumer_get_counts (data, &c);
  wb_metrics_counter_set (m, "waybill_tracker_items_total", c.applied_events, "outcome", "applied", NULL);
  wb_metrics_counter_set (m, "waybill_tracker_items_total", c.duplicates, "outcome", "duplicate", NULL);
  wb_metrics_counter_set (m, "waybill_tracker_items_total", c.skipped_closed, "outcome", "closed", NULL);
  wb_metrics_counter_set (m, "waybill_tracker_items_total", c.failed_items, "outcome", "failed", NULL);
  wb_metrics_counter_set (m, "waybill_tracker_shipments_created_total", c.shipments_created, NULL);
  wb_metrics_counter_set (m, "waybill_tracker_checks_total", c.checks_recorded, NULL);
  wb_metrics_counter_set (m, "waybill_tracker_retries_total", c.retries, NULL);
  wb_metrics_counter_set (m, "waybill_dead_letters_total", c.dead_letters, "consumer", "tracker", NULL);
}

static gpointer
tracker_create (const WbRoleContext  *context,
                GError              **error)
{
  g_autoptr(WbStatusMap) map = wb_status_map_load_default (error);
  WbTrackerConsumer *tracker;

  if (map == NULL)
    return NULL;
  tracker = wb_tracker_consumer_new (context->bus, context->shipments, map);
  wb_metrics_add_collector (context->metrics, collect_tracker_metrics, g_object_ref (tracker), g_object_unref);
  return tracker;
}

static gboolean
tracker_start (gpointer   pipeline,
               GError   **error)
{
  wb_tracker_consumer_start (pipeline, NULL);
  return TRUE;
}

static void
tracker_stop (gpointer pipeline)
{
  wb_tracker_consumer_stop (pipeline);
}

static const WbRolePipeline tracker_pipeline = {
  .create = tracker_create,
  .start = tracker_start,
  .stop = tracker_stop,
  .free = g_object_unref,
};

/* ---- gateway: the live map ------------------------------------------------ */

static gpointer
gateway_create (const WbRoleContext  *context,
                GError              **error)
{
  return wb_live_gateway_new (context->config, context->bus, context->pool, context->metrics);
}

static void
gateway_add_routes (gpointer      pipeline,
                    WbHttpServer *http)
{
  wb_live_gateway_register (pipeline, http);
}

static gboolean
gateway_start (gpointer   pipeline,
               GError   **error)
{
  wb_live_gateway_start (pipeline);
  return TRUE;
}

static void
gateway_stop (gpointer pipeline)
{
  wb_live_gateway_stop (pipeline);
}

static gboolean
gateway_is_ready (gpointer   pipeline,
                  char     **out_reason)
{
  return wb_live_gateway_is_ready (pipeline, out_reason);
}

static const WbRolePipeline gateway_pipeline = {
  .create = gateway_create,
  .add_routes = gateway_add_routes,
  .start = gateway_start,
  .stop = gateway_stop,
  .is_ready = gateway_is_ready,
  .free = g_object_unref,
};

/* ---- dispatch: commands applied, trips followed ---------------------------- */

static void
collect_dispatch_metrics (WbMetrics *m,
                          gpointer   data)
{
  WbDispatchCounts c;

  wb_dispatch_consumer_get_counts (data, &c);
  wb_metrics_counter_set (m, "waybill_dispatch_commands_total", c.applied, "outcome", "applied", NULL);
  wb_metrics_counter_set (m, "waybill_dispatch_commands_total", c.rejected, "outcome", "rejected", NULL);
  wb_metrics_counter_set (m, "waybill_dispatch_commands_total", c.duplicates, "outcome", "duplicate", NULL);
  wb_metrics_counter_set (m, "waybill_dead_letters_total", c.dead_letters, "consumer", "dispatch", NULL);
}

static gpointer
dispatch_create (const WbRoleContext  *context,
                 GError              **error)
{
  g_autoptr(WbDispatchStore) store = wb_dispatch_store_new (context->pool, context->shipments);
  WbDispatchConsumer *consumer = wb_dispatch_consumer_new (context->bus, store);

  wb_dispatch_consumer_set_stop_rule (consumer, wb_config_get_int (context->config, "dispatch.stop-radius"),
                                      wb_config_get_int (context->config, "dispatch.stop-dwell") * 1000);
  wb_dispatch_consumer_set_auto_batch (consumer, wb_config_get_int (context->config, "dispatch.auto-batch-interval"));
  wb_dispatch_consumer_set_auto_reassign (consumer, wb_config_get_int (context->config, "dispatch.auto-reassign-after"));
  wb_metrics_declare (context->metrics, "waybill_dispatch_commands_total", WB_METRIC_COUNTER,
                      "Reassignment commands decided: applied, rejected, or already decided.", NULL, 0);
  wb_metrics_add_collector (context->metrics, collect_dispatch_metrics, g_object_ref (consumer), g_object_unref);
  return consumer;
}

static gboolean
dispatch_start (gpointer   pipeline,
                GError   **error)
{
  wb_dispatch_consumer_start (pipeline);
  return TRUE;
}

static void
dispatch_stop (gpointer pipeline)
{
  wb_dispatch_consumer_stop (pipeline);
}

static const WbRolePipeline dispatch_pipeline = {
  .create = dispatch_create,
  .start = dispatch_start,
  .stop = dispatch_stop,
  .free = g_object_unref,
};

/* ---- the table ------------------------------------------------------------ */

static const WbRoleRow role_table[] = {
  { "api",            &api_pipeline },
  { "ingest",         &ingest_pipeline },
  { "fleet",          &fleet_pipeline },
  { "tracker",        &tracker_pipeline },
  { "scheduler",      &wb_scheduler_pipeline },
  { "carrier-worker", &wb_carrier_worker_pipeline },
  { "gateway",        &gateway_pipeline },
  { "dispatch",       &dispatch_pipeline },
};

static const WbRoleRow *
find_row (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (role_table); i++)
    if (g_str_equal (role_table[i].name, name))
      return &role_table[i];
  return NULL;
}

/**
 * wb_roles_list_available:
 *
 * Returns: (transfer full): the roles of this build, "api, ingest, …"
 */
char *
wb_roles_list_available (void)
{
  g_autoptr(GString) list = g_string_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (role_table); i++)
    if (role_table[i].pipeline != NULL)
      g_string_append_printf (list, "%s%s", list->len > 0 ? ", " : "", role_table[i].name);
  return g_string_free (g_steal_pointer (&list), FALSE);
}

static void
refuse (const char  *name,
        const char  *why,
        GError     **error)
{
  g_autofree char *available = wb_roles_list_available ();

  g_set_error (error, WB_CONFIG_ERROR, WB_CONFIG_ERROR_INVALID_VALUE,
               "the role '%s' %s; available: %s", name, why, available);
}

static gboolean
is_wanted (const WbRoleRow     *row,
           const char * const  *names)
{
  return g_strv_contains (names, "all") || g_strv_contains (names, row->name);
}

/**
 * wb_roles_new:
 * @names: the daemon.roles list; "all" is every role of this build
 *
 * Resolves the list without starting anything.
 *
 * Returns: (transfer full): the roles, or %NULL with %WB_CONFIG_ERROR
 *   naming a role that is unknown or not in this build
 */
WbRoles *
wb_roles_new (const char * const  *names,
              GError             **error)
{
  g_autoptr(WbRoles) self = NULL;

  g_return_val_if_fail (names != NULL, NULL);

  for (guint i = 0; names[i] != NULL; i++)
    {
      const WbRoleRow *row = find_row (names[i]);

      if (g_str_equal (names[i], "all"))
        continue;
      if (row == NULL || row->pipeline == NULL)
        {
          refuse (names[i], row == NULL ? "is unknown" : "is not available in this build", error);
          return NULL;
        }
    }

  self = g_new0 (WbRoles, 1);
  self->running = g_array_new (FALSE, TRUE, sizeof (RunningRole));
  self->names = g_ptr_array_new ();
  self->every = TRUE;
  for (guint i = 0; i < G_N_ELEMENTS (role_table); i++)
    {
      RunningRole role = { &role_table[i], NULL, FALSE };

      if (role_table[i].pipeline == NULL)
        continue;
      if (!is_wanted (&role_table[i], names))
        {
          self->every = FALSE;
          continue;
        }
      g_array_append_val (self->running, role);
      g_ptr_array_add (self->names, (gpointer) role_table[i].name);
    }
  g_ptr_array_add (self->names, NULL);
  return g_steal_pointer (&self);
}

/**
 * wb_roles_create:
 *
 * Builds each role's pipeline; nothing runs yet.
 */
gboolean
wb_roles_create (WbRoles              *self,
                 const WbRoleContext  *context,
                 GError              **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (context != NULL, FALSE);

  for (guint i = 0; i < self->running->len; i++)
    {
      RunningRole *role = &g_array_index (self->running, RunningRole, i);

      g_assert (role->pipeline == NULL);
      role->pipeline = role->row->pipeline->create (context, error);
      if (role->pipeline == NULL)
        {
          g_prefix_error (error, "role %s: ", role->row->name);
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
wb_roles_has (WbRoles    *self,
              const char *name)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return g_strv_contains (wb_roles_get_names (self), name);
}

/* Every role of this build runs (an explicit list included). */
gboolean
wb_roles_has_every (WbRoles *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->every;
}

/* Returns: (transfer none): the running roles' names, in the table's order. */
const char * const *
wb_roles_get_names (WbRoles *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return (const char * const *) self->names->pdata;
}

void
wb_roles_add_routes (WbRoles      *self,
                     WbHttpServer *http)
{
  g_return_if_fail (self != NULL);

  for (guint i = 0; i < self->running->len; i++)
    {
      RunningRole *role = &g_array_index (self->running, RunningRole, i);

      if (role->row->pipeline->add_routes != NULL)
        role->row->pipeline->add_routes (role->pipeline, http);
    }
}

static gboolean
start_some (WbRoles   *self,
            gboolean   intake,
            GError   **error)
{
  for (guint i = 0; i < self->running->len; i++)
    {
      RunningRole *role = &g_array_index (self->running, RunningRole, i);
      const WbRolePipeline *pipeline = role->row->pipeline;

      if (pipeline->intake != intake || role->started)
        continue;
      if (pipeline->start != NULL && !pipeline->start (role->pipeline, error))
        {
          g_prefix_error (error, "role %s: ", role->row->name);
          return FALSE;
        }
      role->started = TRUE;
    }
  return TRUE;
}

/**
 * wb_roles_start:
 *
 * Starts the roles, those that take work from outside last, so that what
 * they publish has a consumer: the in-process bus drops a message nobody
 * is subscribed to.
 */
gboolean
wb_roles_start (WbRoles  *self,
                GError  **error)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return start_some (self, FALSE, error) && start_some (self, TRUE, error);
}

static void
stop_some (WbRoles  *self,
           gboolean  intake)
{
  for (guint i = self->running->len; i-- > 0;)
    {
      RunningRole *role = &g_array_index (self->running, RunningRole, i);
      const WbRolePipeline *pipeline = role->row->pipeline;

      if (pipeline->intake != intake || role->pipeline == NULL)
        continue;
      if (pipeline->stop != NULL)
        pipeline->stop (role->pipeline);
      role->started = FALSE;
    }
}

/* As shutdown begins: no more work from outside. */
void
wb_roles_stop_intake (WbRoles *self)
{
  g_return_if_fail (self != NULL);

  stop_some (self, TRUE);
}

/* Once the bus is flushed: the consumers stop. */
void
wb_roles_stop (WbRoles *self)
{
  g_return_if_fail (self != NULL);

  stop_some (self, FALSE);
}

/**
 * wb_roles_is_ready:
 * @out_reason: (out) (optional): why not, when not
 *
 * Returns: whether the running role @name is started and able to work
 */
gboolean
wb_roles_is_ready (WbRoles     *self,
                   const char  *name,
                   char       **out_reason)
{
  g_return_val_if_fail (self != NULL, FALSE);

  for (guint i = 0; i < self->running->len; i++)
    {
      RunningRole *role = &g_array_index (self->running, RunningRole, i);
      const WbRolePipeline *pipeline = role->row->pipeline;

      if (!g_str_equal (role->row->name, name))
        continue;
      if (!role->started)
        {
          if (out_reason)
            *out_reason = g_strdup_printf ("%s is starting", name);
          return FALSE;
        }
      return pipeline->is_ready == NULL || pipeline->is_ready (role->pipeline, out_reason);
    }
  if (out_reason)
    *out_reason = g_strdup_printf ("%s does not run here", name);
  return FALSE;
}

void
wb_roles_free (WbRoles *self)
{
  if (self == NULL)
    return;
  for (guint i = 0; i < self->running->len; i++)
    {
      RunningRole *role = &g_array_index (self->running, RunningRole, i);

      if (role->pipeline != NULL)
        role->row->pipeline->free (role->pipeline);
    }
  g_array_unref (self->running);
  g_ptr_array_unref (self->names);
  g_free (self);
}
