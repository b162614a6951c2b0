// SPDX-License-Identifier: GPL-3.0-or-later
/* Reference data for a simulated fleet: C companies, and per vehicle a
 * driver, the vehicle and its tracker, named so that `fleet` finds them. */

#include "config.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "sim-http.h"
#include "wb-json.h"
#include "wb-json-writer.h"
#include "wb-bus.h"
#if WB_HAVE_KAFKA
#include "wb-bus-kafka.h"
#endif
#include "wb-fleet-update.h"
#include "sim-ids.h"
#include "sim-reference.h"

typedef enum
{
  KIND_COMPANY,
  KIND_DRIVER,
  KIND_VEHICLE,
  KIND_DEVICE,
} Kind;

typedef struct
{
  Kind    kind;
  char   *path;
  GBytes *body;
  guint   rows;     /* items the request carries: 1, or an import's rows */
} Put;

typedef struct
{
  const WbSimReferenceOptions *options;
  WbSimStats                  *stats;
  WbSimHttp                   *http;
  GMainLoop                   *loop;
  GQueue                       puts;     /* Put *, in kind order */
  Kind                         sending;  /* the kind in flight */
  guint                        in_flight;
  WbBus                       *bus;      /* with --kafka */
  gint64                       version;  /* of every message: now, so a rerun wins */
} Run;

static const char * const first_names[] = {
  "Alena", "Andrei", "Darya", "Dzmitry", "Hanna", "Ihar", "Katsiaryna", "Maksim", "Natallia", "Pavel",
  "Siarhei", "Tatsiana", "Uladzimir", "Volha", "Yauhen", "Yuliya",
};
static const char * const last_names[] = {
  "Kavalenka", "Novik", "Shevchuk", "Marozau", "Kazlou", "Lukashevich", "Bondar", "Tkachuk", "Karpovich",
  "Melnik", "Savitski", "Zhuk",
};

static void
put_free (Put *put)
{
  g_free (put->path);
  g_bytes_unref (put->body);
  g_free (put);
}

/* @members: name, value pairs, NULL-terminated; values are strings. */
static void
queue_put (Run        *run,
           Kind        kind,
           const char *collection,
           const char *id,
           ...)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  Put *put = g_new0 (Put, 1);
  const char *name;
  char *text;
  va_list args;

  json_builder_begin_object (builder);
  /* An import row names its entity itself. */
  if (run->options->bulk)
    {
      json_builder_set_member_name (builder, kind == KIND_DEVICE ? "deviceId" : "id");
      json_builder_add_string_value (builder, id);
    }
  va_start (args, id);
  while ((name = va_arg (args, const char *)) != NULL)
    {
      json_builder_set_member_name (builder, name);
      json_builder_add_string_value (builder, va_arg (args, const char *));
    }
  va_end (args);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  put->kind = kind;
  put->rows = 1;
  put->path = run->options->bulk ? g_strdup_printf ("/%s:import", collection)
                                 : g_strdup_printf ("/%s/%s", collection, id);
  text = wb_json_to_string (root);
  put->body = g_bytes_new_take (text, strlen (text));
  g_queue_push_tail (&run->puts, put);
}

/* With --kafka: the message a producer of reference data would send. */
static void
publish_update (Run           *run,
                WbFleetUpdate *update)
{
  g_autoptr(WbFleetUpdate) owned = update;
  g_autoptr(WbBusMessage) message = NULL;
  g_autoptr(GError) error = NULL;
  const char *topic = NULL;
  char *body;

  update->version = run->version;
  body = wb_fleet_update_to_message (update, &topic);
  message = wb_bus_message_new_take (topic, update->id, body);
  run->stats->sent++;
  if (!wb_bus_try_publish (run->bus, message, &error))
    {
      g_printerr ("waybill-sim: cannot publish to %s: %s\n", topic, error->message);
      run->stats->failed++;
    }
}

static gboolean
publish_company (Run        *run,
                 const char *id,
                 const char *name)
{
  WbFleetUpdate *update;

  if (run->bus == NULL)
    return FALSE;
  update = wb_fleet_update_new (WB_FLEET_KIND_COMPANY, id);
  update->name = g_strdup (name);
  publish_update (run, update);
  return TRUE;
}

static gboolean
publish_driver_and_vehicle (Run        *run,
                            const char *driver,
                            const char *name,
                            const char *phone,
                            const char *company,
                            const char *vehicle,
                            const char *plate,
                            const char *group)
{
  WbFleetUpdate *update;

  if (run->bus == NULL)
    return FALSE;
  update = wb_fleet_update_new (WB_FLEET_KIND_DRIVER, driver);
  update->name = g_strdup (name);
  update->phone = g_strdup (phone);
  update->company_id = g_strdup (company);
  publish_update (run, update);
  update = wb_fleet_update_new (WB_FLEET_KIND_VEHICLE, vehicle);
  update->plate = g_strdup (plate);
  update->company_id = g_strdup (company);
  update->driver_id = g_strdup (driver);
  update->group_id = g_strdup (group);
  publish_update (run, update);
  return TRUE;
}

static void
queue_vehicle (Run   *run,
               guint  number)
{
  const WbSimReferenceOptions *o = run->options;
  const char *prefix = o->device_prefix;
  g_autofree char *company = wb_sim_company_id (prefix, (number - 1) % o->companies + 1);
  g_autofree char *driver = wb_sim_driver_id (prefix, number);
  g_autofree char *vehicle = wb_sim_vehicle_id (prefix, number);
  g_autofree char *device = wb_sim_device_id (prefix, o->protocol, number);
  g_autofree char *group = g_strdup_printf ("%sgroup-%u", prefix, number % 3 + 1);
  g_autofree char *name = g_strdup_printf ("%s %s", first_names[number % G_N_ELEMENTS (first_names)],
                                           last_names[(number / 3) % G_N_ELEMENTS (last_names)]);
  g_autofree char *phone = g_strdup_printf ("+37529%07u", 1000000 + number);
  g_autofree char *plate = g_strdup_printf ("%04u AB-7", number % 10000);

  if (!publish_driver_and_vehicle (run, driver, name, phone, company, vehicle, plate, group))
    {
      queue_put (run, KIND_DRIVER, "drivers", driver, "name", name, "phone", phone, "companyId", company, NULL);
      queue_put (run, KIND_VEHICLE, "vehicles", vehicle, "plate", plate, "companyId", company,
                 "driverId", driver, "groupId", group, NULL);
    }
  /* Devices have no topic: they are an administrator's (REST) business. */
  queue_put (run, KIND_DEVICE, "devices", device, "vehicleId", vehicle, NULL);
}

static gint
compare_kind (gconstpointer a,
              gconstpointer b,
              gpointer      unused)
{
  return (int) ((const Put *) a)->kind - (int) ((const Put *) b)->kind;
}

static void pump (Run *run);

/* An import's answer: its rows written or already so are accepted; the
 * refused ones are counted by their first reason. */
static void
count_imported (Run    *run,
                GBytes *body)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) root = wb_json_parse_bytes (body, NULL, &error);
  JsonObject *answer;
  JsonArray *errors;
  gint64 rejected;

  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      wb_sim_stats_add_refused (run->stats, "an import answer that is not a JSON object", 1);
      return;
    }
  answer = json_node_get_object (root);
  run->stats->accepted += json_object_get_int_member_with_default (answer, "created", 0)
                          + json_object_get_int_member_with_default (answer, "updated", 0)
                          + json_object_get_int_member_with_default (answer, "unchanged", 0);
  rejected = json_object_get_int_member_with_default (answer, "rejected", 0);
  errors = json_object_get_array_member (answer, "errors");
  if (rejected > 0)
    {
      JsonObject *first = errors && json_array_get_length (errors) ? json_array_get_object_element (errors, 0) : NULL;
      g_autofree char *reason = g_strdup_printf ("import row: %s", first ? json_object_get_string_member_with_default (
                                                   first, "message", "?") : "?");

      wb_sim_stats_add_refused (run->stats, reason, rejected);
    }
}

/* --bulk: the rows of each kind go in imports of up to bulk_rows rows. */
static void
merge_into_imports (Run *run)
{
  GQueue merged = G_QUEUE_INIT;
  Put *import = NULL;
  GString *body = NULL;
  Put *put;

  while ((put = g_queue_pop_head (&run->puts)) != NULL)
    {
      if (import != NULL && (import->kind != put->kind || import->rows >= run->options->bulk_rows))
        {
          import->body = g_string_free_to_bytes (body);
          g_queue_push_tail (&merged, import);
          import = NULL;
        }
      if (import == NULL)
        {
          import = g_new0 (Put, 1);
          import->kind = put->kind;
          import->path = g_strdup (put->path);
          body = g_string_new (NULL);
        }
      import->rows++;
      g_string_append_len (body, g_bytes_get_data (put->body, NULL), g_bytes_get_size (put->body));
      g_string_append_c (body, '\n');
      put_free (put);
    }
  if (import != NULL)
    {
      import->body = g_string_free_to_bytes (body);
      g_queue_push_tail (&merged, import);
    }
  run->puts = merged;
}

/* One request in flight and the items it carries. */
typedef struct
{
  Run   *run;
  guint  rows;
} Sent;

static void
on_put (GObject      *source,
        GAsyncResult *result,
        gpointer      data)
{
  g_autofree Sent *sent = data;
  Run *run = sent->run;
  g_autoptr(GError) error = NULL;
  guint status = 0;
  guint retries = 0;
  g_autoptr(GBytes) body = wb_sim_http_send_finish (WB_SIM_HTTP (source), result, &status, &retries, &error);

  run->in_flight--;
  run->stats->retries += retries;
  if (body == NULL)
    {
      run->stats->failed += sent->rows;
      g_printerr ("waybill-sim: a %s failed: %s\n", run->options->bulk ? "POST" : "PUT", error->message);
    }
  else if (run->options->bulk && status == SOUP_STATUS_OK)
    count_imported (run, body);
  else if (status == SOUP_STATUS_OK || status == SOUP_STATUS_CREATED)
    run->stats->accepted++;
  else
    {
      g_autofree char *reason = g_strdup_printf ("%u %.*s", status, (int) MIN (g_bytes_get_size (body), 200),
                                                 (const char *) g_bytes_get_data (body, NULL));

      wb_sim_stats_add_refused (run->stats, reason, sent->rows);
    }
  pump (run);
}

/* Drivers name companies, vehicles drivers, devices vehicles: each kind
 * starts once the one before has been answered. */
static void
pump (Run *run)
{
  g_autofree char *base = g_str_has_suffix (run->options->api_url, "/")
                          ? g_strndup (run->options->api_url, strlen (run->options->api_url) - 1)
                          : g_strdup (run->options->api_url);

  while (run->in_flight < run->options->connections && !g_queue_is_empty (&run->puts))
    {
      Put *put = g_queue_peek_head (&run->puts);
      g_autofree char *uri = NULL;
      Sent *sent;

      if (run->in_flight > 0 && put->kind != run->sending)
        break;
      g_queue_pop_head (&run->puts);
      uri = g_strconcat (base, put->path, NULL);
      run->sending = put->kind;
      run->in_flight++;
      run->stats->sent += put->rows;
      sent = g_new0 (Sent, 1);
      sent->run = run;
      sent->rows = put->rows;
      if (run->options->bulk)
        wb_sim_http_send_async (run->http, "POST", uri, "application/x-ndjson", put->body, NULL, on_put, sent);
      else
        wb_sim_http_send_async (run->http, "PUT", uri, "application/json", put->body, NULL, on_put, sent);
      put_free (put);
    }
  if (run->in_flight == 0 && g_queue_is_empty (&run->puts))
    g_main_loop_quit (run->loop);
}

static gboolean
start_kafka (Run *run)
{
  g_autoptr(GError) error = NULL;

#if WB_HAVE_KAFKA
  run->bus = wb_bus_kafka_new (run->options->kafka_brokers, "waybill-sim", 10000, &error);
#else
  g_set_error_literal (&error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                       "this waybill-sim was built without Kafka (-Dkafka=disabled)");
#endif
  if (run->bus == NULL)
    {
      g_printerr ("waybill-sim: --kafka: %s\n", error->message);
      run->stats->failed++;
      return FALSE;
    }
  run->version = g_get_real_time () / G_USEC_PER_SEC;
  return TRUE;
}

static void
on_flushed (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  Run *run = data;

  wb_bus_flush_finish (WB_BUS (source), result, NULL);
  g_main_loop_quit (run->loop);
}

/* Waits for every delivery report, before the devices (REST) name the
 * vehicles the messages carry. */
static void
finish_kafka (Run *run)
{
  wb_bus_flush_async (run->bus, NULL, on_flushed, run);
  g_main_loop_run (run->loop);
#if WB_HAVE_KAFKA
  {
    WbBusKafkaCounters counters;

    wb_bus_kafka_get_counters (WB_BUS_KAFKA (run->bus), &counters);
    run->stats->accepted += counters.delivered;
    run->stats->failed += counters.failed;
  }
#endif
  wb_bus_close (run->bus);
  g_clear_object (&run->bus);
}

void
wb_sim_reference_run (const WbSimReferenceOptions *options,
                      WbSimStats                  *stats)
{
  Run run = { options, stats };

  g_return_if_fail (options != NULL && stats != NULL);
  g_return_if_fail (options->companies > 0 && options->connections > 0);

  g_queue_init (&run.puts);
  run.loop = g_main_loop_new (NULL, FALSE);
  if (options->kafka_brokers != NULL && !start_kafka (&run))
    {
      g_main_loop_unref (run.loop);
      return;
    }
  for (guint c = 1; c <= options->companies; c++)
    {
      g_autofree char *id = wb_sim_company_id (options->device_prefix, c);
      g_autofree char *name = g_strdup_printf ("Sim Logistics %02u", c);

      if (!publish_company (&run, id, name))
        queue_put (&run, KIND_COMPANY, "companies", id, "name", name, NULL);
    }
  for (guint v = 1; v <= options->vehicles; v++)
    queue_vehicle (&run, v);
  g_queue_sort (&run.puts, compare_kind, NULL);
  if (options->bulk)
    merge_into_imports (&run);
  if (run.bus != NULL)
    finish_kafka (&run);
  run.http = wb_sim_http_new (options->token, options->connections);
  pump (&run);
  if (run.in_flight > 0)
    g_main_loop_run (run.loop);
  g_main_loop_unref (run.loop);
  g_object_unref (run.http);
}
