// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#if !defined (WB_POLLING_COMPILATION)
#error "wb-carrier-token-private.h is core/polling's own"
#endif

#include "wb-carrier-exchange-private.h"

G_BEGIN_DECLS

/* A carrier's bearer token, shared by every check of one driver: kept
 * until shortly before it expires, asked for once by the checks that
 * find none (a burst after a start or an expiry makes one token request,
 * not one each), and dropped when the carrier refuses it. CDEK's OAuth
 * token and Correios' API token work this way. */
typedef struct _WbCarrierToken WbCarrierToken;

/* The token request, or NULL when the configuration makes no URI. */
typedef SoupMessage    *(*WbCarrierTokenRequest) (gpointer      driver);
/* Reads a token answer: NULL with the token and its life from now, or
 * the reply that says why there is none (every waiting check gets it). */
typedef WbCarrierReply *(*WbCarrierTokenAnswer)  (gpointer      driver,
                                                  SoupMessage  *message,
                                                  GBytes       *body,
                                                  char        **out_token,
                                                  gint64       *out_life_us);
/* Goes on with @check (a GTask owned by the call, returning a
 * WbCarrierReply) now that a token is at hand. */
typedef void            (*WbCarrierTokenReady)   (GTask        *check);

/* @driver is the GObject owning the cache; it is kept alive while a token
 * request is in flight. */
WbCarrierToken *_wb_carrier_token_new     (gpointer               driver,
                                           SoupSession           *session,
                                           const char            *carrier,
                                           WbCarrierTokenRequest  request,
                                           WbCarrierTokenAnswer   answer,
                                           WbCarrierTokenReady    ready);
void            _wb_carrier_token_free    (WbCarrierToken        *self);
/* The token while it is fresh, else NULL. */
const char     *_wb_carrier_token_peek    (WbCarrierToken        *self);
/* The token last received (for the ready function), fresh or not. */
const char     *_wb_carrier_token_get     (WbCarrierToken        *self);
/* Calls the ready function for @check with a fresh token, at once or
 * after the token request; a failed request returns its reply from
 * @check (and drops the call's reference). */
void            _wb_carrier_token_wait    (WbCarrierToken        *self,
                                           GTask                 *check);
/* The carrier refused @used (a 401): it is forgotten, unless another
 * check has renewed it already. */
void            _wb_carrier_token_refused (WbCarrierToken        *self,
                                           const char            *used);
/* A check's answer of 401 with @used (the token it was sent with): the
 * token is forgotten and the check waits for a fresh one, once per check
 * (@inout_renewed). TRUE when it did, and took @reply; FALSE when the
 * answer is the check's to return. @self may be NULL (no token of our
 * own). */
gboolean        _wb_carrier_token_retry   (WbCarrierToken        *self,
                                           GTask                 *check,
                                           const char            *used,
                                           gboolean              *inout_renewed,
                                           WbCarrierReply        *reply);
/* A GET of @uri asking for JSON with @token as its bearer, or NULL when
 * @uri is not one. */
SoupMessage    *_wb_carrier_bearer_get    (const char            *uri,
                                           const char            *token);
/* A token's margin: it is renewed this long before it expires, a tenth of
 * its life at most, so that no check starts on a dying token. */
gint64          _wb_carrier_token_margin  (gint64                 life_us);

G_END_DECLS
