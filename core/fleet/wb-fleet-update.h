// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <glib-object.h>

#include "wb-json-reader.h"

G_BEGIN_DECLS

#define WB_FLEET_ERROR (wb_fleet_error_quark ())

typedef enum
{
  WB_FLEET_ERROR_INVALID,      /* a malformed message or update: the message is "<field>: <problem>" */
  WB_FLEET_ERROR_NOT_FOUND,    /* no such company, driver, vehicle or device */
  WB_FLEET_ERROR_TOO_MANY,     /* an import of more rows than allowed */
} WbFleetError;

GQuark wb_fleet_error_quark (void);

/* The reference-data topics; each body has a JSON Schema in data/schemas/. */
#define WB_TOPIC_COMPANY_UPDATED "company.updated"
#define WB_TOPIC_DRIVER_UPDATED  "driver.updated"
#define WB_TOPIC_VEHICLE_UPDATED "vehicle.updated"

/* Ids (of companies, drivers, vehicles, devices) are 1 to this many
 * characters from [A-Za-z0-9._:-]: safe in a URL path, a Kafka key and a
 * paging cursor as they are. */
#define WB_FLEET_ID_MAX_LENGTH   128
/* Longest name, plate or phone kept. */
#define WB_FLEET_TEXT_MAX_LENGTH 256

typedef enum
{
  WB_FLEET_KIND_COMPANY,
  WB_FLEET_KIND_DRIVER,
  WB_FLEET_KIND_VEHICLE,
  WB_FLEET_KIND_DEVICE,
} WbFleetKind;

/**
 * WbFleetUpdate:
 * @id: the company, driver or vehicle id; for a device, its id or IMEI
 * @version: newer wins; 0 asks for the stored version + 1 (a REST write
 *   without "version": it wins over what is stored, and a message with a
 *   higher version later still wins over it)
 * @updated_at: unix µs as the producer stamped it; 0 = the commit's time
 * @name: company and driver (required)
 * @phone: driver
 * @company_id: driver and vehicle
 * @plate: vehicle (required)
 * @driver_id, @group_id, @tariff_id: vehicle
 * @vehicle_id: device; %NULL only for a quarantined device
 * @has_token: device: whether @token is given; %FALSE keeps the stored
 *   token (GET never returns it, so a read-modify-write could not carry it)
 * @token: device: the plain token, hashed before it is stored; %NULL with
 *   @has_token removes it
 * @quarantined: device
 *
 * One write of reference data, from a message (wb_fleet_update_from_message())
 * or a REST body; both go through wb_fleet_store_apply_async(). Strings are
 * owned; %NULL is absent. A write replaces the whole entity.
 */
typedef struct
{
  WbFleetKind  kind;
  char        *id;
  gint64       version;
  gint64       updated_at;
  char        *name;
  char        *phone;
  char        *company_id;
  char        *plate;
  char        *driver_id;
  char        *group_id;
  char        *tariff_id;
  char        *vehicle_id;
  gboolean     has_token;
  char        *token;
  gboolean     quarantined;
} WbFleetUpdate;

const char    *wb_fleet_kind_to_string        (WbFleetKind          kind);
gboolean       wb_fleet_id_is_valid           (const char          *id);

WbFleetUpdate *wb_fleet_update_new            (WbFleetKind          kind,
                                               const char          *id);
WbFleetUpdate *wb_fleet_update_copy           (const WbFleetUpdate *update);
void           wb_fleet_update_free           (WbFleetUpdate       *update);
/* Checks ids, lengths and required members; errors name the snake_case
 * message field ("vehicle_id: …"). */
gboolean       wb_fleet_update_validate       (const WbFleetUpdate *update,
                                               GError             **error);

/* Decodes a company.updated, driver.updated or vehicle.updated body. Unknown
 * members are ignored (a newer producer may add some); a missing or wrong
 * one fails with %WB_JSON_ERROR_FIELD naming it (wb_json_error_get_field(),
 * and "<field>: <problem>" for the dead-letter queue's reason); a body that
 * is not one acceptable JSON document fails with the guarded parser's
 * %WB_JSON_ERROR. */
WbFleetUpdate *wb_fleet_update_from_message   (const char          *topic,
                                               GBytes              *payload,
                                               GError             **error);
/* The message body of a company, driver or vehicle update (for producers:
 * the simulator, tests). @out_topic: (out) (optional): its topic. */
char          *wb_fleet_update_to_message     (const WbFleetUpdate *update,
                                               const char         **out_topic);

/* REST writes (PUT bodies, import rows): camelCase members. */
const char          *wb_fleet_kind_id_member     (WbFleetKind          kind);
const char * const  *wb_fleet_kind_rest_members  (WbFleetKind          kind,
                                                  gboolean             with_id);
WbFleetUpdate       *wb_fleet_update_from_rest   (WbFleetKind          kind,
                                                  const char          *id,
                                                  WbJsonReader        *body,
                                                  GError             **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbFleetUpdate, wb_fleet_update_free)

G_END_DECLS
