// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum
{
  WB_LOCAL_SERVER_STOPPED,
  WB_LOCAL_SERVER_STARTING,
  WB_LOCAL_SERVER_READY,
  WB_LOCAL_SERVER_STOPPING,
  WB_LOCAL_SERVER_FAILED,
} WbLocalServerState;

#define WB_TYPE_LOCAL_SERVER (wb_local_server_get_type ())

G_DECLARE_FINAL_TYPE (WbLocalServer, wb_local_server, WB, LOCAL_SERVER, GObject)

/* "Run on this computer": a waybilld of the console's own, as a
 * subprocess on embedded defaults. Its data (the embedded PostgreSQL) and
 * a generated secret live in the user's state directory
 * ($XDG_STATE_HOME/waybill/local, /var/lib/waybill/local as root), so the next start finds them again; it
 * listens on a free loopback port only. Once ready it offers its URL and
 * an admin token signed with the secret (`waybilld token`). Its output is
 * kept as a log; stopping asks it to stop (SIGTERM) and waits for it.
 *
 * The daemon is found as $WAYBILLD, beside the console's own executable,
 * in the build tree (server/waybilld) or on PATH.
 *
 * Properties: "state", "url", "token", "error" (why it failed).
 * Signals: "log-line" (a line the daemon wrote). */
WbLocalServer      *wb_local_server_new        (const char    *state_dir);
/* $XDG_STATE_HOME/waybill/local; /var/lib/waybill/local as root. */
char               *wb_local_server_default_dir (void);
/* More waybilld options for the next start (the demo's polling profile). */
void                wb_local_server_set_extra_args (WbLocalServer      *self,
                                                    const char * const *args);
void                wb_local_server_start      (WbLocalServer *self);
void                wb_local_server_stop       (WbLocalServer *self);
/* Stops and waits up to @timeout_ms, iterating the thread-default context:
 * for the application's shutdown. */
void                wb_local_server_stop_sync  (WbLocalServer *self,
                                                guint          timeout_ms);
WbLocalServerState  wb_local_server_get_state  (WbLocalServer *self);
const char         *wb_local_server_get_url    (WbLocalServer *self);
const char         *wb_local_server_get_token  (WbLocalServer *self);
const char         *wb_local_server_get_error  (WbLocalServer *self);
const char         *wb_local_server_get_dir    (WbLocalServer *self);
/* The daemon's last lines, oldest first. */
char               *wb_local_server_dup_log    (WbLocalServer *self);
/* Runs a helper of the console's (a demo simulator), its output dropped,
 * stopped should the console die. */
GSubprocess        *wb_local_server_spawn_helper (const char * const  *argv,
                                                  GError             **error);
/* Finds a sibling program ("waybilld", "waybill-sim") as the daemon is
 * found; %NULL when there is none. */
char               *wb_local_server_find_program (const char  *name);

G_END_DECLS
