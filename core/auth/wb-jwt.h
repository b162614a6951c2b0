// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define WB_JWT_ERROR (wb_jwt_error_quark ())

/* Every message in this domain is safe to return to the client that sent the
 * token: it names what was wrong, never the secret or the expected MAC. */
typedef enum
{
  WB_JWT_ERROR_MALFORMED,       /* not three base64url parts of JSON objects, or too large */
  WB_JWT_ERROR_ALGORITHM,       /* alg missing or anything but HS256 ("none" included) */
  WB_JWT_ERROR_SIGNATURE,
  WB_JWT_ERROR_EXPIRED,
  WB_JWT_ERROR_NOT_YET_VALID,
  WB_JWT_ERROR_CLAIMS,          /* exp missing, a time not a number, an unknown role, … */
} WbJwtError;

/* Ordered: a higher role includes every lower one. */
typedef enum
{
  WB_ACCESS_ROLE_NONE = 0,
  WB_ACCESS_ROLE_VIEWER,
  WB_ACCESS_ROLE_DISPATCHER,
  WB_ACCESS_ROLE_ADMIN,
} WbAccessRole;

/* Tokens longer than this are refused before any decoding. */
#define WB_JWT_MAX_LENGTH 8192

/**
 * WbJwtClaims:
 * @subject: the "sub" claim, or %NULL when the token has none
 * @role: the "role" claim; never %WB_ACCESS_ROLE_NONE in verified claims
 * @issued_at: "iat" in unix seconds, 0 when absent
 * @not_before: "nbf" in unix seconds, 0 when absent
 * @expires_at: "exp" in unix seconds (always present)
 *
 * The claims of a token whose signature and lifetime have been checked.
 */
typedef struct
{
  char   *subject;
  WbAccessRole  role;
  gint64  issued_at;
  gint64  not_before;
  gint64  expires_at;
} WbJwtClaims;

#define WB_TYPE_JWT_CLAIMS (wb_jwt_claims_get_type ())

GQuark       wb_jwt_error_quark       (void);
GType        wb_jwt_claims_get_type   (void) G_GNUC_CONST;
WbJwtClaims *wb_jwt_claims_copy       (const WbJwtClaims *claims);
void         wb_jwt_claims_free       (WbJwtClaims       *claims);

const char  *wb_access_role_to_string        (WbAccessRole             role);
gboolean     wb_access_role_from_string      (const char        *text,
                                       WbAccessRole            *out_role);
gboolean     wb_access_role_includes         (WbAccessRole             role,
                                       WbAccessRole             required);

WbJwtClaims *wb_jwt_verify            (const guint8      *secret,
                                       gsize              secret_len,
                                       const char        *token,
                                       gint64             now,
                                       gint64             leeway_seconds,
                                       GError           **error);
char        *wb_jwt_sign              (const guint8      *secret,
                                       gsize              secret_len,
                                       const char        *subject,
                                       WbAccessRole             role,
                                       gint64             now,
                                       gint64             ttl_seconds);

char        *wb_jwt_base64url_encode  (const guint8      *data,
                                       gsize              length);
GBytes      *wb_jwt_base64url_decode  (const char        *text,
                                       gsize              length);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbJwtClaims, wb_jwt_claims_free)

G_END_DECLS
