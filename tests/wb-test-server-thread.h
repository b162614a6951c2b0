// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A server under test on a thread of its own, with its own main context, so
 * the test thread can use blocking clients. @start builds the server on that
 * thread (its context is the thread default) and returns the port it listens
 * on; @stop tears it down there once the loop has stopped. */
typedef guint (*WbTestServerStart) (gpointer user_data);
typedef void  (*WbTestServerStop)  (gpointer user_data);

typedef struct _WbTestServerThread WbTestServerThread;

WbTestServerThread *wb_test_server_thread_start       (const char         *name,
                                                       WbTestServerStart   start,
                                                       WbTestServerStop    stop,
                                                       gpointer            user_data);
guint               wb_test_server_thread_get_port    (WbTestServerThread *self);
GMainContext       *wb_test_server_thread_get_context (WbTestServerThread *self);
void                wb_test_server_thread_stop        (WbTestServerThread *self);

G_END_DECLS
