// SPDX-License-Identifier: GPL-3.0-or-later
/* Position history: the partitioned positions table, the vehicle state
 * snapshot and the carrier locations derived from it (see
 * data/migrations/0004_fleet_positions.sql).
 *
 * A batch goes to the database in one transaction. The rows travel by COPY
 * in PostgreSQL's binary format: nothing to escape (text and JSON go as
 * they are, with their length), nothing for the server to parse but the
 * attributes' JSON, and NULL is a length of -1. The fast path copies
 * straight into positions; a row already stored (only a redelivered batch
 * has one: ingestion drops repeats in memory, and repeats within the batch
 * are dropped here) fails it with a unique violation, and the batch is
 * written again through a staging table with ON CONFLICT DO NOTHING. */

#include "config.h"

#include <math.h>
#include <string.h>

#include "wb-db.h"
#include "wb-db-transaction.h"
#include "wb-position-history.h"
#include "wb-json-writer.h"

#define DAY_US             (G_GINT64_CONSTANT (86400) * G_USEC_PER_SEC)
/* PostgreSQL's binary timestamps count from 2000-01-01 UTC. */
#define POSTGRES_EPOCH_US  (G_GINT64_CONSTANT (946684800) * G_USEC_PER_SEC)
/* COPY data goes out in pieces of about this size. */
#define COPY_CHUNK_SIZE    (256 * 1024)
/* A fresh attempt for each of: a duplicate row (slow path), a partition
 * someone else dropped (cache cleared). */
#define MAX_ATTEMPTS       3

#define SQLSTATE_UNIQUE_VIOLATION "23505"
#define SQLSTATE_CHECK_VIOLATION  "23514"   /* also "no partition of relation found for row" */

/* ---- SQL ------------------------------------------------------------------ */

#define SQL_FROM_US(expr) "(timestamptz 'epoch' + (" expr ") * interval '1 microsecond')"
#define SQL_TO_US(expr)   "(extract(epoch FROM " expr ") * 1000000)::bigint"

#define POSITION_COLUMNS \
  "device_id, device_time, server_time, vehicle_id, driver_id, company_id, protocol," \
  " lat, lon, speed_kmh, heading, altitude, accuracy, ignition, fuel, odometer, attributes"
/* The number of POSITION_COLUMNS, for each tuple's header. */
#define N_POSITION_COLUMNS 17

static const char copy_positions_sql[] =
  "COPY positions (" POSITION_COLUMNS ") FROM STDIN (FORMAT binary)";

/* The staging table lives as long as the session; its rows only as long as
 * the transaction. */
static const char quiet_sql[] = "SET LOCAL client_min_messages = warning";
static const char create_staging_sql[] =
  "CREATE TEMP TABLE IF NOT EXISTS positions_staging (LIKE positions INCLUDING DEFAULTS)"
  " ON COMMIT DELETE ROWS";
static const char copy_staging_sql[] =
  "COPY positions_staging (" POSITION_COLUMNS ") FROM STDIN (FORMAT binary)";
static const char insert_staged_sql[] =
  "INSERT INTO positions (" POSITION_COLUMNS ") SELECT " POSITION_COLUMNS " FROM positions_staging"
  " ON CONFLICT DO NOTHING";

/* $1: a date[] literal of days whose partitions must exist. */
static const char ensure_partitions_sql[] =
  "SELECT count(*) FILTER (WHERE waybill_positions_ensure_partition(d)) FROM unnest($1::date[]) AS d";
static const char drop_partitions_sql[] =
  "SELECT waybill_positions_drop_partitions_before($1::date)";

/* $1: the batch's states as a JSON array (states_to_json()). One statement
 * upserts the snapshot and then moves the carrier location of every trip
 * that one of these vehicles has IN_TRANSIT, both only when newer; the
 * data-modifying CTE always runs to completion. */
static const char write_states_sql[] =
  "WITH batch AS ("
  "  SELECT DISTINCT ON (u.vehicle_id) u.* FROM json_to_recordset($1::json) AS u (vehicle_id text,"
  "    device_id text, driver_id text, device_time bigint, server_time bigint, lat double precision,"
  "    lon double precision, speed_kmh double precision, heading double precision,"
  "    altitude double precision, ignition boolean, fuel double precision, odometer double precision,"
  "    motion text, motion_since bigint)"
  "  ORDER BY u.vehicle_id, u.device_time DESC"
  "), states AS ("
  "  INSERT INTO vehicle_states AS s (vehicle_id, device_id, driver_id, device_time, server_time, lat, lon,"
  "    speed_kmh, heading, altitude, ignition, fuel, odometer, motion, motion_since)"
  "  SELECT b.vehicle_id, b.device_id, b.driver_id, " SQL_FROM_US ("b.device_time") ","
  "    " SQL_FROM_US ("b.server_time") ", b.lat, b.lon, b.speed_kmh, b.heading, b.altitude, b.ignition,"
  "    b.fuel, b.odometer, b.motion, " SQL_FROM_US ("nullif(b.motion_since, 0)")
  "  FROM batch b"
  "  ON CONFLICT (vehicle_id) DO UPDATE SET device_id = EXCLUDED.device_id, driver_id = EXCLUDED.driver_id,"
  "    device_time = EXCLUDED.device_time, server_time = EXCLUDED.server_time, lat = EXCLUDED.lat,"
  "    lon = EXCLUDED.lon, speed_kmh = EXCLUDED.speed_kmh, heading = EXCLUDED.heading,"
  "    altitude = EXCLUDED.altitude, ignition = EXCLUDED.ignition, fuel = EXCLUDED.fuel,"
  "    odometer = EXCLUDED.odometer, motion = EXCLUDED.motion, motion_since = EXCLUDED.motion_since,"
  "    updated_at = now()"
  "  WHERE s.device_time < EXCLUDED.device_time"
  "  RETURNING 1"
  ")"
  " INSERT INTO carrier_locations AS c (trip_id, lat, lng, updated_at, source)"
  " SELECT DISTINCT ON (t.id) t.id, b.lat, b.lon, " SQL_FROM_US ("b.device_time") ", 'vehicle'"
  " FROM batch b JOIN trips t ON t.vehicle_id = b.vehicle_id AND t.status = 'IN_TRANSIT'"
  " ORDER BY t.id, b.device_time DESC"
  " ON CONFLICT (trip_id) DO UPDATE SET lat = EXCLUDED.lat, lng = EXCLUDED.lng,"
  " updated_at = EXCLUDED.updated_at, source = EXCLUDED.source"
  " WHERE c.updated_at < EXCLUDED.updated_at";

enum { STATE_VEHICLE, STATE_DEVICE, STATE_DRIVER, STATE_DEVICE_TIME, STATE_SERVER_TIME, STATE_LAT,
       STATE_LON, STATE_SPEED, STATE_HEADING, STATE_ALTITUDE, STATE_IGNITION, STATE_FUEL,
       STATE_ODOMETER, STATE_MOTION, STATE_MOTION_SINCE };

static const char load_states_sql[] =
  "SELECT vehicle_id, device_id, driver_id, " SQL_TO_US ("device_time") ", " SQL_TO_US ("server_time") ","
  " lat, lon, speed_kmh, heading, altitude, ignition, fuel, odometer, motion, " SQL_TO_US ("motion_since")
  " FROM vehicle_states";

/* Binary results and parameters: $2 and $3 are timestamptz, $4 a bigint
 * limit (NULL: none). Only what a WbTrackPoint holds is read. */
enum { TRACK_TIME, TRACK_LAT, TRACK_LON, TRACK_SPEED, TRACK_IGNITION };

static const char read_track_sql[] =
  "SELECT device_time, lat, lon, speed_kmh, ignition FROM positions"
  " WHERE vehicle_id = $1 AND device_time >= $2 AND device_time < $3"
  " ORDER BY device_time LIMIT $4";

#define INT8_OID        20
#define TEXT_OID        25
#define TIMESTAMPTZ_OID 1184

/* ---- the object ----------------------------------------------------------- */

struct _WbPositionHistory
{
  GObject     parent_instance;

  guint       retention_days;
  guint       days_ahead;

  GMutex      mutex;
  GHashTable *known_days;     /* day number (unix days, gint64*) → itself: partitions that exist */
};

G_DEFINE_FINAL_TYPE (WbPositionHistory, wb_position_history, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_RETENTION_DAYS,
  PROP_DAYS_AHEAD,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
wb_position_history_finalize (GObject *object)
{
  WbPositionHistory *self = WB_POSITION_HISTORY (object);

  g_clear_pointer (&self->known_days, g_hash_table_unref);
  g_mutex_clear (&self->mutex);

  G_OBJECT_CLASS (wb_position_history_parent_class)->finalize (object);
}

static void
wb_position_history_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  WbPositionHistory *self = WB_POSITION_HISTORY (object);

  switch (prop_id)
    {
    case PROP_RETENTION_DAYS:
      g_value_set_uint (value, self->retention_days);
      break;
    case PROP_DAYS_AHEAD:
      g_value_set_uint (value, self->days_ahead);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_position_history_set_property (GObject      *object,
                                  guint         prop_id,
                                  const GValue *value,
                                  GParamSpec   *pspec)
{
  WbPositionHistory *self = WB_POSITION_HISTORY (object);

  switch (prop_id)
    {
    case PROP_RETENTION_DAYS:
      self->retention_days = g_value_get_uint (value);
      break;
    case PROP_DAYS_AHEAD:
      self->days_ahead = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_position_history_class_init (WbPositionHistoryClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = wb_position_history_finalize;
  object_class->get_property = wb_position_history_get_property;
  object_class->set_property = wb_position_history_set_property;

  properties[PROP_RETENTION_DAYS] =
    g_param_spec_uint ("retention-days", NULL, NULL, 0, 100 * 366, 0,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_DAYS_AHEAD] =
    g_param_spec_uint ("days-ahead", NULL, NULL, 0, 366, 3,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
wb_position_history_init (WbPositionHistory *self)
{
  g_mutex_init (&self->mutex);
  self->known_days = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
}

/**
 * wb_position_history_new:
 * @retention_days: days kept besides today; 0 keeps everything
 * @days_ahead: partitions maintenance creates after today's
 *
 * Returns: (transfer full): the history
 */
WbPositionHistory *
wb_position_history_new (guint retention_days,
                         guint days_ahead)
{
  return g_object_new (WB_TYPE_POSITION_HISTORY,
                       "retention-days", retention_days,
                       "days-ahead", days_ahead,
                       NULL);
}

guint
wb_position_history_get_retention_days (WbPositionHistory *self)
{
  g_return_val_if_fail (WB_IS_POSITION_HISTORY (self), 0);
  return self->retention_days;
}

guint
wb_position_history_get_days_ahead (WbPositionHistory *self)
{
  g_return_val_if_fail (WB_IS_POSITION_HISTORY (self), 0);
  return self->days_ahead;
}

/* ---- days and partitions --------------------------------------------------- */

static gint64
floor_div (gint64 a,
           gint64 b)
{
  return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static gint64
day_of (gint64 unix_us)
{
  return floor_div (unix_us, DAY_US);
}

/* The first day whose positions are kept, G_MININT64 when all are. */
static gint64
first_kept_day (WbPositionHistory *self,
                gint64             now)
{
  return self->retention_days == 0 ? G_MININT64 : day_of (now) - self->retention_days;
}

static void
append_date (GString *out,
             gint64   day)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_unix_utc (day * 86400);

  g_string_append_printf (out, "%04d-%02d-%02d", g_date_time_get_year (time),
                          g_date_time_get_month (time), g_date_time_get_day_of_month (time));
}

/* "{2026-01-01,2026-01-02}" */
static char *
date_array (const gint64 *days,
            guint         n_days)
{
  GString *out = g_string_new ("{");

  for (guint i = 0; i < n_days; i++)
    {
      if (i > 0)
        g_string_append_c (out, ',');
      append_date (out, days[i]);
    }
  g_string_append_c (out, '}');
  return g_string_free (out, FALSE);
}

/* @days less the ones known to have a partition. */
static GArray *
unknown_days (WbPositionHistory *self,
              GArray            *days)
{
  GArray *unknown = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->mutex);

  for (guint i = 0; i < days->len; i++)
    if (!g_hash_table_contains (self->known_days, &g_array_index (days, gint64, i)))
      g_array_append_val (unknown, g_array_index (days, gint64, i));
  return unknown;
}

/* Only after COMMIT: a partition created by a rolled-back transaction is
 * gone again. */
static void
remember_days (WbPositionHistory *self,
               GArray            *days)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->mutex);

  for (guint i = 0; i < days->len; i++)
    g_hash_table_add (self->known_days, g_memdup2 (&g_array_index (days, gint64, i), sizeof (gint64)));
}

static gboolean
day_is_dropped (gpointer key,
                gpointer value,
                gpointer user_data)
{
  return *(gint64 *) key < *(gint64 *) user_data;
}

static void
forget_days_before (WbPositionHistory *self,
                    gint64             first_kept)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->mutex);

  g_hash_table_foreach_remove (self->known_days, day_is_dropped, &first_kept);
}

static void
forget_all_days (WbPositionHistory *self)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->mutex);

  g_hash_table_remove_all (self->known_days);
}

static gboolean
ensure_partitions (PGconn   *conn,
                   GArray   *days,
                   guint    *out_created,
                   GError  **error)
{
  g_autofree char *literal = NULL;
  g_autoptr(PGresult) result = NULL;
  const char *params[1];

  if (days->len == 0)
    {
      *out_created = 0;
      return TRUE;
    }
  params[0] = literal = date_array ((const gint64 *) days->data, days->len);
  result = wb_db_exec (conn, ensure_partitions_sql, params, 1, NULL, error);
  if (result == NULL)
    return FALSE;
  *out_created = (guint) g_ascii_strtoull (PQgetvalue (result, 0, 0), NULL, 10);
  return TRUE;
}

/* ---- the batch ------------------------------------------------------------- */

/* One batch as it goes to the database, encoded once and sent again as it
 * is should the first attempt fail. */
typedef struct
{
  GString *copy_data;     /* the whole binary COPY stream */
  char    *states_json;   /* NULL: no states */
  GArray  *days;          /* gint64, sorted: the days of the rows kept */
  guint    n_rows;
  guint    n_expired;
} Batch;

static void
batch_clear (Batch *batch)
{
  if (batch->copy_data != NULL)
    g_string_free (batch->copy_data, TRUE);
  g_clear_pointer (&batch->states_json, g_free);
  g_clear_pointer (&batch->days, g_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Batch, batch_clear)

static guint
position_key_hash (gconstpointer key)
{
  const WbPosition *position = key;

  return g_str_hash (position->device_id) ^ g_int64_hash (&position->device_time);
}

static gboolean
position_key_equal (gconstpointer a,
                    gconstpointer b)
{
  const WbPosition *x = a, *y = b;

  return x->device_time == y->device_time && strcmp (x->device_id, y->device_id) == 0;
}

static int
compare_days (gconstpointer a,
              gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return (x > y) - (x < y);
}

static void
add_day (GArray *days,
         gint64  day)
{
  /* A batch spans a day or two: a linear search beats a hash table. */
  for (guint i = 0; i < days->len; i++)
    if (g_array_index (days, gint64, i) == day)
      return;
  g_array_append_val (days, day);
}

/* ---- binary COPY ------------------------------------------------------------ *
 * Each field is an int32 length (-1: NULL) and the value in network byte
 * order: int64 µs since 2000-01-01 for timestamptz, IEEE 754 for float4
 * and float8, one byte for bool, the bytes for text, and a version byte (1)
 * before the text for jsonb. */

static void
put_uint16 (GString *out,
            guint16  value)
{
  value = GUINT16_TO_BE (value);
  g_string_append_len (out, (const char *) &value, sizeof value);
}

static void
put_uint32 (GString *out,
            guint32  value)
{
  value = GUINT32_TO_BE (value);
  g_string_append_len (out, (const char *) &value, sizeof value);
}

static void
put_uint64 (GString *out,
            guint64  value)
{
  value = GUINT64_TO_BE (value);
  g_string_append_len (out, (const char *) &value, sizeof value);
}

static void
field_null (GString *out)
{
  put_uint32 (out, G_MAXUINT32);   /* -1 */
}

static void
field_text (GString    *out,
            const char *text)
{
  gsize length;

  if (text == NULL)
    {
      field_null (out);
      return;
    }
  length = strlen (text);
  put_uint32 (out, (guint32) length);
  g_string_append_len (out, text, length);
}

static void
field_timestamp (GString *out,
                 gint64   unix_us)
{
  put_uint32 (out, 8);
  put_uint64 (out, (guint64) (unix_us - POSTGRES_EPOCH_US));
}

/* Unknown (NAN) is NULL; so is infinity, which no device measures. */
static void
field_float8 (GString *out,
              double   value)
{
  guint64 bits;

  if (!isfinite (value))
    {
      field_null (out);
      return;
    }
  memcpy (&bits, &value, sizeof bits);
  put_uint32 (out, 8);
  put_uint64 (out, bits);
}

static void
field_float4 (GString *out,
              double   value)
{
  float narrow = (float) value;
  guint32 bits;

  if (!isfinite (narrow))
    {
      field_null (out);
      return;
    }
  memcpy (&bits, &narrow, sizeof bits);
  put_uint32 (out, 4);
  put_uint32 (out, bits);
}

static void
field_bool (GString *out,
            int      value)
{
  if (value < 0)
    {
      field_null (out);
      return;
    }
  put_uint32 (out, 1);
  g_string_append_c (out, value ? 1 : 0);
}

/* The attributes through the telemetry writer, straight into the stream;
 * the length is patched in afterwards. Most positions have none. */
static void
field_jsonb (GString          *out,
             const WbPosition *p)
{
  JsonObject *attributes = p->attributes;
  gsize length_at = out->len;
  g_autoptr(JsonNode) node = NULL;
  guint32 length;

  put_uint32 (out, 0);
  g_string_append_c (out, 1);
  if (p->attributes_json != NULL)
    g_string_append (out, p->attributes_json);
  else if (attributes == NULL || json_object_get_size (attributes) == 0)
    g_string_append (out, "{}");
  else
    {
      node = json_node_init_object (json_node_alloc (), attributes);
      wb_json_write_node (out, node);
    }
  length = GUINT32_TO_BE ((guint32) (out->len - length_at - 4));
  memcpy (out->str + length_at, &length, sizeof length);
}

static void
copy_header (GString *out)
{
  static const char signature[] = "PGCOPY\n\377\r\n";

  g_string_append_len (out, signature, 11);   /* with its NUL */
  put_uint32 (out, 0);                        /* flags */
  put_uint32 (out, 0);                        /* header extension */
}

/* In POSITION_COLUMNS order. */
static void
copy_row (GString                  *out,
          const WbEnrichedPosition *enriched)
{
  const WbPosition *p = enriched->position;
  const WbFleetEnrichment *e = enriched->enrichment;

  put_uint16 (out, N_POSITION_COLUMNS);
  field_text (out, p->device_id);
  field_timestamp (out, p->device_time);
  field_timestamp (out, p->server_time);
  field_text (out, e ? e->vehicle_id : NULL);
  field_text (out, e ? e->driver_id : NULL);
  field_text (out, e ? e->company_id : NULL);
  field_text (out, wb_protocol_to_string (p->protocol));
  field_float8 (out, p->lat);
  field_float8 (out, p->lon);
  field_float4 (out, p->speed_kmh);
  field_float4 (out, p->heading);
  field_float4 (out, p->altitude);
  field_float4 (out, p->accuracy);
  field_bool (out, p->ignition);
  field_float4 (out, p->fuel);
  field_float8 (out, p->odometer);
  field_jsonb (out, p);
}

static void
copy_trailer (GString *out)
{
  put_uint16 (out, G_MAXUINT16);   /* -1 */
}

/* ---- states as JSON ---------------------------------------------------------- */

static void
json_member_name (GString    *out,
                  const char *name)
{
  g_string_append_c (out, ',');
  wb_json_write_string (out, name);
  g_string_append_c (out, ':');
}

static void
json_member_string (GString    *out,
                    const char *name,
                    const char *value)
{
  json_member_name (out, name);
  if (value != NULL)
    wb_json_write_string (out, value);
  else
    g_string_append (out, "null");
}

static void
json_member_double (GString    *out,
                    const char *name,
                    double      value)
{
  json_member_name (out, name);
  wb_json_write_double (out, value);   /* NAN → null */
}

static void
json_member_int (GString    *out,
                 const char *name,
                 gint64      value)
{
  json_member_name (out, name);
  wb_json_write_int (out, value);
}

static void
state_to_json (GString              *out,
               const WbVehicleState *state)
{
  g_string_append (out, "{\"vehicle_id\":");
  wb_json_write_string (out, state->vehicle_id);
  json_member_string (out, "device_id", state->device_id);
  json_member_string (out, "driver_id", state->driver_id);
  json_member_int (out, "device_time", state->device_time);
  json_member_int (out, "server_time", state->server_time);
  json_member_double (out, "lat", state->lat);
  json_member_double (out, "lon", state->lon);
  json_member_double (out, "speed_kmh", state->speed_kmh);
  json_member_double (out, "heading", state->heading);
  json_member_double (out, "altitude", state->altitude);
  json_member_name (out, "ignition");
  g_string_append (out, state->ignition < 0 ? "null" : state->ignition ? "true" : "false");
  json_member_double (out, "fuel", state->fuel);
  json_member_double (out, "odometer", state->odometer);
  json_member_string (out, "motion", wb_motion_to_string (state->motion));
  json_member_int (out, "motion_since", state->motion_since);
  g_string_append_c (out, '}');
}

static char *
states_to_json (WbVehicleState **states,
                guint            n_states)
{
  GString *out = g_string_sized_new (64 + n_states * 320);

  g_string_append_c (out, '[');
  for (guint i = 0; i < n_states; i++)
    {
      if (i > 0)
        g_string_append_c (out, ',');
      state_to_json (out, states[i]);
    }
  g_string_append_c (out, ']');
  return g_string_free (out, FALSE);
}

/* Everything the transaction will send, built before it begins: rows past
 * the retention and repeats within the batch (the first kept) are left
 * out, the days the rest touch listed. */
static void
batch_init (Batch               *batch,
            gint64               first_kept,
            WbEnrichedPosition **positions,
            guint                n_positions,
            WbVehicleState     **states,
            guint                n_states)
{
  g_autoptr(GHashTable) seen = g_hash_table_new (position_key_hash, position_key_equal);

  batch->copy_data = g_string_sized_new (32 + n_positions * 160);
  batch->days = g_array_new (FALSE, FALSE, sizeof (gint64));
  copy_header (batch->copy_data);
  for (guint i = 0; i < n_positions; i++)
    {
      WbPosition *position = positions[i]->position;
      gint64 day = day_of (position->device_time);

      if (day < first_kept)
        batch->n_expired++;
      else if (g_hash_table_add (seen, position))
        {
          copy_row (batch->copy_data, positions[i]);
          add_day (batch->days, day);
          batch->n_rows++;
        }
    }
  copy_trailer (batch->copy_data);
  g_array_sort (batch->days, compare_days);
  if (n_states > 0)
    batch->states_json = states_to_json (states, n_states);
}

/* ---- the transaction ----------------------------------------------------------- */

/* Sends the whole stream, in pieces, and returns the rows COPY stored. */
static gboolean
copy_in (PGconn         *conn,
         const char     *sql,
         const GString  *data,
         guint          *out_rows,
         GError        **error)
{
  g_autoptr(PGresult) started = PQexec (conn, sql);
  g_autoptr(PGresult) failed = NULL;
  g_autoptr(PGresult) done = NULL;
  PGresult *result;

  if (PQresultStatus (started) != PGRES_COPY_IN)
    {
      wb_db_set_error_from_result (error, conn, started, "cannot start COPY");
      return FALSE;
    }
  for (gsize sent = 0; sent < data->len; sent += COPY_CHUNK_SIZE)
    if (PQputCopyData (conn, data->str + sent, (int) MIN (COPY_CHUNK_SIZE, data->len - sent)) != 1)
      break;
  PQputCopyEnd (conn, NULL);

  /* The server's verdict (a row it refused included) comes as results;
   * read them all, so the connection is ready for the next statement. */
  while ((result = PQgetResult (conn)) != NULL)
    {
      if (PQresultStatus (result) == PGRES_COMMAND_OK && done == NULL)
        done = result;
      else if (failed == NULL && PQresultStatus (result) != PGRES_COMMAND_OK)
        failed = result;
      else
        PQclear (result);
    }
  if (failed != NULL || done == NULL)
    {
      wb_db_set_error_from_result (error, conn, failed, "COPY failed");
      return FALSE;
    }
  *out_rows = (guint) g_ascii_strtoull (PQcmdTuples (done), NULL, 10);
  return TRUE;
}

static gboolean
insert_through_staging (PGconn         *conn,
                        const GString  *data,
                        guint          *out_inserted,
                        GError        **error)
{
  g_autoptr(PGresult) result = NULL;
  guint staged;

  if (!wb_db_exec_command (conn, quiet_sql, NULL, 0, NULL, error)
      || !wb_db_exec_command (conn, create_staging_sql, NULL, 0, NULL, error)
      || !copy_in (conn, copy_staging_sql, data, &staged, error)
      || (result = wb_db_exec (conn, insert_staged_sql, NULL, 0, NULL, error)) == NULL)
    return FALSE;
  *out_inserted = (guint) g_ascii_strtoull (PQcmdTuples (result), NULL, 10);
  return TRUE;
}

static gboolean
write_states (PGconn       *conn,
              const Batch  *batch,
              GError      **error)
{
  g_autoptr(PGresult) result = NULL;
  const char *params[] = { batch->states_json };

  if (batch->states_json == NULL)
    return TRUE;
  result = wb_db_exec (conn, write_states_sql, params, 1, NULL, error);
  return result != NULL;
}

static gboolean
write_batch (PGconn       *conn,
             const Batch  *batch,
             GArray       *missing_days,
             gboolean      through_staging,
             guint        *out_inserted,
             GError      **error)
{
  guint created;

  if (!ensure_partitions (conn, missing_days, &created, error))
    return FALSE;
  if (batch->n_rows == 0)
    *out_inserted = 0;
  else if (through_staging)
    {
      if (!insert_through_staging (conn, batch->copy_data, out_inserted, error))
        return FALSE;
    }
  else if (!copy_in (conn, copy_positions_sql, batch->copy_data, out_inserted, error))
    return FALSE;
  return write_states (conn, batch, error);
}

typedef struct
{
  const Batch *batch;
  GArray      *missing_days;
  gboolean     through_staging;
  guint        inserted;
} Write;

static gboolean
write_in_transaction (PGconn        *conn,
                      gpointer       user_data,
                      GCancellable  *cancellable,
                      GError       **error)
{
  Write *write = user_data;

  return write_batch (conn, write->batch, write->missing_days, write->through_staging, &write->inserted, error);
}

/* One transaction (run again if it collides with another); a lost
 * connection fails it, and the caller reconnects. */
static gboolean
attempt (WbPositionHistory  *self,
         PGconn             *conn,
         const Batch        *batch,
         gboolean            through_staging,
         guint              *out_inserted,
         GError            **error)
{
  g_autoptr(GArray) missing_days = unknown_days (self, batch->days);
  Write write = { batch, missing_days, through_staging, 0 };

  if (!wb_db_transaction_run (conn, write_in_transaction, &write, NULL, error))
    return FALSE;
  remember_days (self, missing_days);
  *out_inserted = write.inserted;
  return TRUE;
}

/**
 * wb_position_history_write:
 * @positions: (array length=n_positions): the batch, each with a device id
 * @states: (array length=n_states): the newest state of each vehicle
 *
 * Returns: whether the batch is committed; otherwise nothing of it is
 *   stored and the caller tries the whole batch again later
 */
gboolean
wb_position_history_write (WbPositionHistory   *self,
                           PGconn              *conn,
                           WbEnrichedPosition **positions,
                           guint                n_positions,
                           WbVehicleState     **states,
                           guint                n_states,
                           guint               *out_inserted,
                           guint               *out_expired,
                           GError             **error)
{
  g_auto(Batch) batch = { 0 };
  gboolean through_staging = FALSE;
  guint inserted = 0;

  g_return_val_if_fail (WB_IS_POSITION_HISTORY (self), FALSE);
  g_return_val_if_fail (conn != NULL && PQtransactionStatus (conn) == PQTRANS_IDLE, FALSE);
  g_return_val_if_fail (positions != NULL || n_positions == 0, FALSE);
  g_return_val_if_fail (states != NULL || n_states == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  for (guint i = 0; i < n_positions; i++)
    g_return_val_if_fail (positions[i] != NULL && positions[i]->position != NULL
                          && positions[i]->position->device_id != NULL, FALSE);
  for (guint i = 0; i < n_states; i++)
    g_return_val_if_fail (states[i] != NULL && states[i]->vehicle_id != NULL
                          && states[i]->device_id != NULL, FALSE);

  batch_init (&batch, first_kept_day (self, g_get_real_time ()), positions, n_positions, states, n_states);

  for (guint n = 1; batch.n_rows > 0 || batch.states_json != NULL; n++)
    {
      g_autoptr(GError) local_error = NULL;
      const char *sqlstate;

      if (attempt (self, conn, &batch, through_staging, &inserted, &local_error))
        break;
      sqlstate = wb_db_error_get_sqlstate (local_error);
      if (n == MAX_ATTEMPTS || sqlstate == NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      if (g_str_equal (sqlstate, SQLSTATE_UNIQUE_VIOLATION) && !through_staging)
        through_staging = TRUE;
      else if (g_str_equal (sqlstate, SQLSTATE_CHECK_VIOLATION))
        forget_all_days (self);
      else
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
    }

  if (out_inserted != NULL)
    *out_inserted = inserted;
  if (out_expired != NULL)
    *out_expired = batch.n_expired;
  return TRUE;
}

/* ---- maintenance ---------------------------------------------------------------- */

static gboolean
drop_partitions (PGconn   *conn,
                 gint64    first_kept,
                 guint    *out_dropped,
                 GError  **error)
{
  g_autoptr(GString) date = g_string_new (NULL);
  g_autoptr(PGresult) result = NULL;
  const char *params[1];

  append_date (date, first_kept);
  params[0] = date->str;
  result = wb_db_exec (conn, drop_partitions_sql, params, 1, NULL, error);
  if (result == NULL)
    return FALSE;
  *out_dropped = (guint) g_ascii_strtoull (PQgetvalue (result, 0, 0), NULL, 10);
  return TRUE;
}

typedef struct
{
  WbPositionHistory *history;
  GArray            *days;
  gint64             first_kept;
  guint              created;
  guint              dropped;
} Maintenance;

static gboolean
maintain_in_transaction (PGconn        *conn,
                         gpointer       user_data,
                         GCancellable  *cancellable,
                         GError       **error)
{
  Maintenance *maintenance = user_data;

  maintenance->created = maintenance->dropped = 0;
  return ensure_partitions (conn, maintenance->days, &maintenance->created, error)
         && (maintenance->history->retention_days == 0
             || drop_partitions (conn, maintenance->first_kept, &maintenance->dropped, error));
}

/**
 * wb_position_history_maintain:
 * @out_created: (out) (optional): partitions created
 * @out_dropped: (out) (optional): partitions dropped
 *
 * Returns: whether maintenance committed
 */
gboolean
wb_position_history_maintain (WbPositionHistory  *self,
                              PGconn             *conn,
                              gint64              now,
                              guint              *out_created,
                              guint              *out_dropped,
                              GError            **error)
{
  g_autoptr(GArray) days = g_array_new (FALSE, FALSE, sizeof (gint64));
  gint64 first_kept = first_kept_day (self, now);
  Maintenance maintenance = { self, days, first_kept, 0, 0 };

  g_return_val_if_fail (WB_IS_POSITION_HISTORY (self), FALSE);
  g_return_val_if_fail (conn != NULL && PQtransactionStatus (conn) == PQTRANS_IDLE, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  for (gint64 day = day_of (now); day <= day_of (now) + self->days_ahead; day++)
    g_array_append_val (days, day);

  if (!wb_db_transaction_run (conn, maintain_in_transaction, &maintenance, NULL, error))
    return FALSE;

  forget_days_before (self, first_kept);
  remember_days (self, days);
  if (out_created != NULL)
    *out_created = maintenance.created;
  if (out_dropped != NULL)
    *out_dropped = maintenance.dropped;
  return TRUE;
}

/* ---- reading ----------------------------------------------------------------------- */

static double
double_or_nan (const PGresult *result,
               int             row,
               int             column)
{
  return PQgetisnull (result, row, column) ? NAN : g_ascii_strtod (PQgetvalue (result, row, column), NULL);
}

static gint64
int_or_zero (const PGresult *result,
             int             row,
             int             column)
{
  return PQgetisnull (result, row, column) ? 0 : g_ascii_strtoll (PQgetvalue (result, row, column), NULL, 10);
}

static int
bool_or_unknown (const PGresult *result,
                 int             row,
                 int             column)
{
  return PQgetisnull (result, row, column) ? -1 : PQgetvalue (result, row, column)[0] == 't';
}

static char *
text_or_null (const PGresult *result,
              int             row,
              int             column)
{
  return PQgetisnull (result, row, column) ? NULL : g_strdup (PQgetvalue (result, row, column));
}

static WbVehicleState *
read_state (const PGresult *result,
            int             row)
{
  WbVehicleState *state = wb_vehicle_state_new ();

  state->vehicle_id = text_or_null (result, row, STATE_VEHICLE);
  state->device_id = text_or_null (result, row, STATE_DEVICE);
  state->driver_id = text_or_null (result, row, STATE_DRIVER);
  state->device_time = int_or_zero (result, row, STATE_DEVICE_TIME);
  state->server_time = int_or_zero (result, row, STATE_SERVER_TIME);
  state->lat = double_or_nan (result, row, STATE_LAT);
  state->lon = double_or_nan (result, row, STATE_LON);
  state->speed_kmh = double_or_nan (result, row, STATE_SPEED);
  state->heading = double_or_nan (result, row, STATE_HEADING);
  state->altitude = double_or_nan (result, row, STATE_ALTITUDE);
  state->ignition = bool_or_unknown (result, row, STATE_IGNITION);
  state->fuel = double_or_nan (result, row, STATE_FUEL);
  state->odometer = double_or_nan (result, row, STATE_ODOMETER);
  if (!wb_motion_from_string (PQgetvalue (result, row, STATE_MOTION), &state->motion))
    state->motion = WB_MOTION_UNKNOWN;
  state->motion_since = int_or_zero (result, row, STATE_MOTION_SINCE);
  return state;
}

GPtrArray *
wb_position_history_load_states (PGconn  *conn,
                                 GError **error)
{
  g_autoptr(PGresult) result = NULL;
  GPtrArray *states;

  g_return_val_if_fail (conn != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* extract() gives numeric: exact to the microsecond, and doubles come
   * back in their shortest exact text (extra_float_digits defaults to 1). */
  result = wb_db_exec (conn, load_states_sql, NULL, 0, NULL, error);
  if (result == NULL)
    return NULL;
  states = g_ptr_array_new_full (PQntuples (result), (GDestroyNotify) wb_vehicle_state_free);
  for (int row = 0; row < PQntuples (result); row++)
    g_ptr_array_add (states, read_state (result, row));
  return states;
}

static guint64
read_be64 (const char *bytes)
{
  guint64 value;

  memcpy (&value, bytes, sizeof value);
  return GUINT64_FROM_BE (value);
}

static double
read_float8 (const PGresult *result,
             int             row,
             int             column)
{
  guint64 bits;
  double value;

  if (PQgetisnull (result, row, column))
    return NAN;
  bits = read_be64 (PQgetvalue (result, row, column));
  memcpy (&value, &bits, sizeof value);
  return value;
}

static double
read_float4 (const PGresult *result,
             int             row,
             int             column)
{
  guint32 bits;
  float value;

  if (PQgetisnull (result, row, column))
    return NAN;
  memcpy (&bits, PQgetvalue (result, row, column), sizeof bits);
  bits = GUINT32_FROM_BE (bits);
  memcpy (&value, &bits, sizeof value);
  return value;
}

static void
read_points (const PGresult *result,
             GArray         *out_points)
{
  int n_rows = PQntuples (result);
  guint first = out_points->len;

  g_array_set_size (out_points, first + n_rows);
  for (int row = 0; row < n_rows; row++)
    {
      WbTrackPoint *point = &g_array_index (out_points, WbTrackPoint, first + row);

      point->time = (gint64) read_be64 (PQgetvalue (result, row, TRACK_TIME)) + POSTGRES_EPOCH_US;
      point->lat = read_float8 (result, row, TRACK_LAT);
      point->lon = read_float8 (result, row, TRACK_LON);
      point->speed_kmh = read_float4 (result, row, TRACK_SPEED);
      point->ignition = PQgetisnull (result, row, TRACK_IGNITION)
                        ? -1 : PQgetvalue (result, row, TRACK_IGNITION)[0] != 0;
    }
}

/**
 * wb_position_history_read_track:
 * @out_points: (element-type WbTrackPoint): where the points are appended
 *
 * Parameters and results travel in binary: a 30-day track at one point per
 * 10 s is some 260 000 rows, and text would mean formatting and parsing
 * each time and number twice.
 *
 * Returns: whether the track was read
 */
gboolean
wb_position_history_read_track (PGconn      *conn,
                                const char  *vehicle_id,
                                gint64       from,
                                gint64       to,
                                guint        max_points,
                                GArray      *out_points,
                                GError     **error)
{
  const Oid types[] = { TEXT_OID, TIMESTAMPTZ_OID, TIMESTAMPTZ_OID, INT8_OID };
  guint64 from_be = GUINT64_TO_BE ((guint64) (from - POSTGRES_EPOCH_US));
  guint64 to_be = GUINT64_TO_BE ((guint64) (to - POSTGRES_EPOCH_US));
  guint64 limit_be = GUINT64_TO_BE ((guint64) max_points);
  const char *values[] = { vehicle_id, (const char *) &from_be, (const char *) &to_be,
                           max_points > 0 ? (const char *) &limit_be : NULL };
  const int lengths[] = { 0, 8, 8, 8 };
  const int formats[] = { 0, 1, 1, 1 };
  g_autoptr(PGresult) result = NULL;

  g_return_val_if_fail (conn != NULL, FALSE);
  g_return_val_if_fail (vehicle_id != NULL, FALSE);
  g_return_val_if_fail (out_points != NULL && g_array_get_element_size (out_points) == sizeof (WbTrackPoint), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (from >= to)
    return TRUE;
  result = PQexecParams (conn, read_track_sql, G_N_ELEMENTS (values), types, values, lengths, formats, 1);
  if (PQresultStatus (result) != PGRES_TUPLES_OK)
    {
      wb_db_set_error_from_result (error, conn, result, "cannot read the track");
      return FALSE;
    }
  read_points (result, out_points);
  return TRUE;
}
