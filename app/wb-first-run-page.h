// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define WB_FIRST_RUN_ERROR (wb_first_run_error_quark ())

typedef enum
{
  WB_FIRST_RUN_ERROR_BAD_URL,      /* not an http(s) URL with a host */
  WB_FIRST_RUN_ERROR_NO_TOKEN,     /* the server needs a token and none was given */
  WB_FIRST_RUN_ERROR_NOT_READY,    /* /readyz did not answer 200 */
  WB_FIRST_RUN_ERROR_REFUSED,      /* /whoami refused the token */
  WB_FIRST_RUN_ERROR_BAD_ANSWER,   /* not a waybilld's answer */
} WbFirstRunError;

#define WB_TYPE_FIRST_RUN_PAGE (wb_first_run_page_get_type ())

G_DECLARE_FINAL_TYPE (WbFirstRunPage, wb_first_run_page, WB, FIRST_RUN_PAGE, GtkWidget)

/* What the console shows with nothing configured: connect to a server (URL
 * and token, checked against /readyz and /whoami before anything is saved)
 * or run locally. Emits ::connected (url, token, role) once both answered. */
GQuark      wb_first_run_error_quark        (void);
GtkWidget  *wb_first_run_page_new           (void);
void        wb_first_run_page_set_url       (WbFirstRunPage *self,
                                             const char     *url);
void        wb_first_run_page_set_token     (WbFirstRunPage *self,
                                             const char     *token);
/* The last check's failure, %NULL after success or before any check. */
const GError *wb_first_run_page_get_error   (WbFirstRunPage *self);
gboolean    wb_first_run_page_get_checking  (WbFirstRunPage *self);
/* Runs the check, as the Connect button does. */
void        wb_first_run_page_connect       (WbFirstRunPage *self);

G_END_DECLS
