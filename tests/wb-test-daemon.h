// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The built waybilld ($WAYBILLD), run as a user runs it: a clean environment
 * but for what the test sets, SERVER_PORT=0, its log read on a thread. */
typedef struct
{
  GSubprocess *process;
  GThread     *reader;
  GMutex       mutex;
  GCond        cond;
  GString     *log;
  guint        port;
  gboolean     eof;
} WbTestDaemon;

/* env: NULL-terminated "NAME=value" items; args: NULL-terminated extra arguments. */
WbTestDaemon *wb_test_daemon_spawn        (const char * const *env,
                                           const char * const *args);
guint         wb_test_daemon_port         (WbTestDaemon       *daemon);
gboolean      wb_test_daemon_log_contains (WbTestDaemon       *daemon,
                                           const char         *text);
int           wb_test_daemon_wait         (WbTestDaemon       *daemon);  /* exit status, -1 if killed */
/* As wb_test_daemon_wait(), but gives up after @timeout_ms and returns
 * WB_TEST_DAEMON_STILL_RUNNING, leaving it running. */
#define WB_TEST_DAEMON_STILL_RUNNING (-2)
int           wb_test_daemon_wait_for     (WbTestDaemon       *daemon,
                                           guint               timeout_ms);
/* Waits (up to 30 s, else g_error) until its log holds @text. */
void          wb_test_daemon_wait_log     (WbTestDaemon       *daemon,
                                           const char         *text);
int           wb_test_daemon_terminate    (WbTestDaemon       *daemon);  /* SIGTERM, then wait */
void          wb_test_daemon_free         (WbTestDaemon       *daemon);  /* SIGKILLs it if still running */

G_END_DECLS
