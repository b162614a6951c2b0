// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <adwaita.h>

#include "wb-client.h"

G_BEGIN_DECLS

#define WB_TYPE_SHIPMENT_EDITOR (wb_shipment_editor_get_type ())

G_DECLARE_FINAL_TYPE (WbShipmentEditor, wb_shipment_editor, WB, SHIPMENT_EDITOR, AdwWindow)

/* Creating a shipment (POST /shipments) or editing one (PATCH
 * /shipments/{id} with If-Match, so an edit never overwrites a change it
 * did not see): client, reference, service level, recipient and
 * destination. The server judges; what it refuses is marked on the field
 * it names ("recipient.phone") and said above the form, nothing sent is
 * lost from the form.
 *
 * Action: editor.save. Signal: "saved" (const char *shipment_id). */
GtkWidget  *wb_shipment_editor_new_create (WbClient         *client);
GtkWidget  *wb_shipment_editor_new_edit   (WbClient         *client,
                                           WbClientShipment *shipment);
/* Sets a field by the API's name ("recipient.phone"); for tests and
 * pre-filling. FALSE for a name the form has not. */
gboolean    wb_shipment_editor_set_field  (WbShipmentEditor *self,
                                           const char       *field,
                                           const char       *value);
/* The field the last refusal named, or %NULL. */
const char *wb_shipment_editor_get_error_field (WbShipmentEditor *self);
gboolean    wb_shipment_editor_get_saving (WbShipmentEditor *self);

G_END_DECLS
