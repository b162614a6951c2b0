// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <adwaita.h>

#include "wb-client-trips.h"

G_BEGIN_DECLS

#define WB_TYPE_REASSIGN_DIALOG (wb_reassign_dialog_get_type ())

G_DECLARE_FINAL_TYPE (WbReassignDialog, wb_reassign_dialog, WB, REASSIGN_DIALOG, AdwWindow)

/* Reassigning a trip to another vehicle: the free vehicles of the trip's
 * company, nearest first with their distance, a reason, and the command's
 * outcome as the dispatch role decides it (pending, then applied or
 * rejected with its reason).
 *
 * The API has no "free vehicles near" query, so the dialog works it out
 * itself: GET /vehicles (the company's), minus the vehicles of the
 * company's IN_TRANSIT trips (GET /trips) and the trip's own, measured
 * from the trip's vehicle's live position (GET /locations) or, without
 * one, from its next stop.
 *
 * The outcome comes from /ws/events (kind "command", the trip's only),
 * followed from the moment the dialog opens; one GET /commands/{id} once
 * the stream is live (and again after a resync) catches a decision the
 * stream came too late for. The command is never polled.
 *
 * Actions: reassign.send. Signals: ::decided (status) once the command is
 * applied or rejected. */
GtkWidget  *wb_reassign_dialog_new                (WbClient         *client,
                                                   WbClientTrip     *trip);
/* FALSE while the candidates are on their way. */
gboolean    wb_reassign_dialog_get_ready          (WbReassignDialog *self);
guint       wb_reassign_dialog_get_n_candidates   (WbReassignDialog *self);
/* The @index-th candidate, nearest first; @out_distance_m is NAN when the
 * vehicle has no position. */
const char *wb_reassign_dialog_get_candidate      (WbReassignDialog *self,
                                                   guint             index,
                                                   double           *out_distance_m);
/* Selects a candidate's row; FALSE when it is not offered. */
gboolean    wb_reassign_dialog_select             (WbReassignDialog *self,
                                                   const char       *vehicle_id);
/* "pending", "applied", "rejected", or %NULL before sending. */
const char *wb_reassign_dialog_get_command_status (WbReassignDialog *self);
/* What the dialog says of the command (the outcome line). */
const char *wb_reassign_dialog_get_outcome_text   (WbReassignDialog *self);

G_END_DECLS
