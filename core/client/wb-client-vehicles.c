// SPDX-License-Identifier: GPL-3.0-or-later
/* WbClient's reference names: every page of GET /companies, /drivers and
 * /vehicles, joined as the API joins them for GET /vehicles/{id}, into a
 * WbDirectory. */

#include "config.h"

#include "wb-client-private.h"
#include "wb-directory-private.h"
#include "wb-json-reader.h"

#define PAGE_SIZE 500

typedef enum
{
  STAGE_COMPANIES,
  STAGE_DRIVERS,
  STAGE_VEHICLES,
  STAGE_PICKUP_POINTS,
  STAGE_DONE,
} Stage;

static const char * const stage_paths[] = { "/companies", "/drivers", "/vehicles", "/pickup-points" };

typedef struct
{
  Stage       stage;
  char       *cursor;
  GHashTable *company_names;     /* id → name */
  GHashTable *driver_names;      /* id → name */
  GHashTable *driver_companies;  /* id → company id */
  GPtrArray  *vehicles;          /* WbVehicleRef */
  GHashTable *point_names;       /* id → name */
  GHashTable *point_addresses;   /* id → address line */
} Listing;

static void
listing_free (Listing *listing)
{
  g_free (listing->cursor);
  g_hash_table_unref (listing->company_names);
  g_hash_table_unref (listing->driver_names);
  g_hash_table_unref (listing->driver_companies);
  g_clear_pointer (&listing->vehicles, g_ptr_array_unref);
  g_hash_table_unref (listing->point_names);
  g_hash_table_unref (listing->point_addresses);
  g_free (listing);
}

static GHashTable *
string_table (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

static gboolean
read_company (Listing       *listing,
              WbJsonReader  *item,
              GError       **error)
{
  char *id = NULL;
  char *name = NULL;

  if (!wb_json_reader_get_string (item, "id", TRUE, &id, error)
      || !wb_json_reader_get_string (item, "name", FALSE, &name, error))
    {
      g_free (id);
      return FALSE;
    }
  g_hash_table_replace (listing->company_names, id, name);
  return TRUE;
}

static gboolean
read_driver (Listing       *listing,
             WbJsonReader  *item,
             GError       **error)
{
  g_autofree char *id = NULL;
  char *name = NULL;
  char *company = NULL;

  if (!wb_json_reader_get_string (item, "id", TRUE, &id, error)
      || !wb_json_reader_get_string (item, "name", FALSE, &name, error)
      || !wb_json_reader_get_string (item, "companyId", FALSE, &company, error))
    {
      g_free (name);
      return FALSE;
    }
  g_hash_table_replace (listing->driver_names, g_strdup (id), name);
  if (company != NULL)
    g_hash_table_replace (listing->driver_companies, g_strdup (id), company);
  return TRUE;
}

/* The operating company is the driver's when the driver names one, else
 * the vehicle's own: the rule of GET /vehicles/{id}. */
static gboolean
read_vehicle (Listing       *listing,
              WbJsonReader  *item,
              GError       **error)
{
  g_autofree char *id = NULL;
  g_autoptr(WbVehicleRef) ref = NULL;
  const char *driver_company;

  if (!wb_json_reader_get_string (item, "id", TRUE, &id, error))
    return FALSE;
  ref = wb_vehicle_ref_new (id);
  if (!wb_json_reader_get_string (item, "plate", FALSE, &ref->plate, error)
      || !wb_json_reader_get_string (item, "companyId", FALSE, &ref->company_id, error)
      || !wb_json_reader_get_string (item, "driverId", FALSE, &ref->driver_id, error))
    return FALSE;
  driver_company = ref->driver_id ? g_hash_table_lookup (listing->driver_companies, ref->driver_id) : NULL;
  if (driver_company != NULL)
    {
      g_free (ref->company_id);
      ref->company_id = g_strdup (driver_company);
    }
  if (ref->driver_id != NULL)
    ref->driver_name = g_strdup (g_hash_table_lookup (listing->driver_names, ref->driver_id));
  if (ref->company_id != NULL)
    ref->company_name = g_strdup (g_hash_table_lookup (listing->company_names, ref->company_id));
  g_ptr_array_add (listing->vehicles, g_steal_pointer (&ref));
  return TRUE;
}

/* A pickup point's name, and the first of its address's lines and city
 * that it has, to tell points of one name apart. */
static gboolean
read_pickup_point (Listing       *listing,
                   WbJsonReader  *item,
                   GError       **error)
{
  g_autofree char *id = NULL;
  char *name = NULL;
  g_autofree char *line1 = NULL;
  g_autofree char *city = NULL;

  if (!wb_json_reader_get_string (item, "id", TRUE, &id, error)
      || !wb_json_reader_get_string (item, "name", FALSE, &name, error))
    return FALSE;
  if (wb_json_reader_has_member (item, "address"))
    {
      GError *local = NULL;
      g_autoptr(WbJsonReader) address = wb_json_reader_get_object_member (item, "address", FALSE, &local);

      if (local != NULL
          || (address != NULL
              && (!wb_json_reader_get_string (address, "line1", FALSE, &line1, &local)
                  || !wb_json_reader_get_string (address, "city", FALSE, &city, &local))))
        {
          g_propagate_error (error, local);
          g_free (name);
          return FALSE;
        }
    }
  if (line1 != NULL || city != NULL)
    g_hash_table_replace (listing->point_addresses, g_strdup (id),
                          line1 && city ? g_strdup_printf ("%s, %s", line1, city) : g_strdup (line1 ?: city));
  g_hash_table_replace (listing->point_names, g_steal_pointer (&id), name);
  return TRUE;
}

static gboolean
read_page (Listing       *listing,
           JsonNode      *node,
           GError       **error)
{
  g_autoptr(WbJsonReader) reader = wb_json_reader_new_for_node (node, "", error);
  g_autofree char *next = NULL;
  guint length = 0;

  if (reader == NULL
      || !wb_json_reader_get_array_length (reader, "items", &length, error)
      || !wb_json_reader_get_string (reader, "nextCursor", FALSE, &next, error))
    return FALSE;
  for (guint i = 0; i < length; i++)
    {
      g_autoptr(WbJsonReader) item = wb_json_reader_get_array_element (reader, "items", i, error);
      gboolean ok = item != NULL
                    && (listing->stage == STAGE_COMPANIES ? read_company (listing, item, error)
                        : listing->stage == STAGE_DRIVERS ? read_driver (listing, item, error)
                        : listing->stage == STAGE_VEHICLES ? read_vehicle (listing, item, error)
                        : read_pickup_point (listing, item, error));

      if (!ok)
        return FALSE;
    }
  /* A cursor that does not move would page forever. */
  if (next != NULL && g_strcmp0 (next, listing->cursor) == 0)
    return wb_json_reader_fail (reader, "nextCursor", error, "repeats the cursor asked for");
  g_free (listing->cursor);
  listing->cursor = g_steal_pointer (&next);
  if (listing->cursor == NULL)
    listing->stage++;
  return TRUE;
}

static void fetch_page (GTask *task);

static void
on_page (GObject      *source,
         GAsyncResult *result,
         gpointer      data)
{
  g_autoptr(GTask) task = data;
  Listing *listing = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = wb_client_call_json_finish (WB_CLIENT (source), result, &error);

  if (node == NULL)
    return g_task_return_error (task, g_steal_pointer (&error));
  if (!read_page (listing, node, &error))
    return g_task_return_new_error (task, WB_CLIENT_ERROR, WB_CLIENT_ERROR_INVALID_RESPONSE,
                                    "The server's answer to GET %s is not as the API says: %s",
                                    stage_paths[listing->stage], error->message);
  if (listing->stage == STAGE_DONE)
    return g_task_return_pointer (task,
                                  _wb_directory_new (listing->company_names, listing->driver_names,
                                                     listing->driver_companies, listing->vehicles,
                                                     listing->point_names, listing->point_addresses),
                                  (GDestroyNotify) wb_directory_unref);
  fetch_page (g_steal_pointer (&task));
}

static void
fetch_page (GTask *task)
{
  Listing *listing = g_task_get_task_data (task);
  g_autoptr(GString) path = g_string_new (stage_paths[listing->stage]);

  g_string_append_printf (path, "?limit=%u", PAGE_SIZE);
  if (listing->cursor != NULL)
    {
      g_string_append (path, "&cursor=");
      g_string_append_uri_escaped (path, listing->cursor, NULL, FALSE);
    }
  wb_client_get_json_async (g_task_get_source_object (task), path->str, g_task_get_cancellable (task),
                            on_page, task);
}

void
wb_client_load_directory_async (WbClient            *self,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  GTask *task;
  Listing *listing;

  g_return_if_fail (WB_IS_CLIENT (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, wb_client_load_directory_async);
  listing = g_new0 (Listing, 1);
  listing->company_names = string_table ();
  listing->driver_names = string_table ();
  listing->driver_companies = string_table ();
  listing->vehicles = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_vehicle_ref_unref);
  listing->point_names = string_table ();
  listing->point_addresses = string_table ();
  g_task_set_task_data (task, listing, (GDestroyNotify) listing_free);
  fetch_page (task);
}

/**
 * wb_client_load_directory_finish:
 *
 * Returns: (transfer full): every company, driver and vehicle the server lists
 */
WbDirectory *
wb_client_load_directory_finish (WbClient      *self,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
wb_client_list_vehicles_async (WbClient            *self,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  wb_client_load_directory_async (self, cancellable, callback, user_data);
}

/**
 * wb_client_list_vehicles_finish:
 *
 * Returns: (transfer container) (element-type WbVehicleRef): every vehicle
 */
GPtrArray *
wb_client_list_vehicles_finish (WbClient      *self,
                                GAsyncResult  *result,
                                GError       **error)
{
  g_autoptr(WbDirectory) directory = wb_client_load_directory_finish (self, result, error);

  return directory ? g_ptr_array_ref (wb_directory_get_vehicles (directory)) : NULL;
}
