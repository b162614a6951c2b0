// SPDX-License-Identifier: GPL-3.0-or-later
/* JSON Web Tokens (RFC 7519) signed with HMAC-SHA256 (RFC 7515), and nothing
 * else: the secret is shared, so accepting any other "alg" could only open
 * the well-known confusion attacks ("none", or a public key used as an HMAC
 * key). Parsing is strict on purpose; a token that any reasonable issuer
 * would not produce is refused rather than interpreted. */

#include "config.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "wb-json-writer.h"
#include "wb-json.h"
#include "wb-jwt.h"

#define HS256_MAC_LENGTH 32

/* JSON numbers are doubles: past 2^53 they are no longer exact seconds, and
 * keeping every time below it lets exp/nbf arithmetic with "now" and the
 * leeway run without any risk of overflow. */
#define MAX_TIME     ((gint64) 1 << 53)
#define MAX_LEEWAY   ((gint64) G_MAXINT32)

/* A token's header and claims: small, flat objects. */
static const WbJsonLimits token_limits = { 8 * 1024, 4 };

static const char jwt_header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

static const char *role_names[] = {
  [WB_ACCESS_ROLE_VIEWER] = "viewer",
  [WB_ACCESS_ROLE_DISPATCHER] = "dispatcher",
  [WB_ACCESS_ROLE_ADMIN] = "admin",
};

typedef struct
{
  const char *header;
  gsize       header_length;
  const char *payload;
  gsize       payload_length;
  const char *signature;
  gsize       signature_length;
} TokenParts;

G_DEFINE_QUARK (wb-jwt-error-quark, wb_jwt_error)

G_DEFINE_BOXED_TYPE (WbJwtClaims, wb_jwt_claims, wb_jwt_claims_copy, wb_jwt_claims_free)

/**
 * wb_jwt_claims_copy:
 * @claims: claims to copy
 *
 * Returns: (transfer full): a deep copy of @claims
 */
WbJwtClaims *
wb_jwt_claims_copy (const WbJwtClaims *claims)
{
  WbJwtClaims *copy;

  g_return_val_if_fail (claims != NULL, NULL);

  copy = g_memdup2 (claims, sizeof *claims);
  copy->subject = g_strdup (claims->subject);
  return copy;
}

void
wb_jwt_claims_free (WbJwtClaims *claims)
{
  if (claims == NULL)
    return;

  g_free (claims->subject);
  g_free (claims);
}

/**
 * wb_access_role_to_string:
 * @role: a role
 *
 * Returns: the role's name as used in the "role" claim, or "none"
 */
const char *
wb_access_role_to_string (WbAccessRole role)
{
  if (role > WB_ACCESS_ROLE_NONE && role <= WB_ACCESS_ROLE_ADMIN)
    return role_names[role];
  return "none";
}

/**
 * wb_access_role_from_string:
 * @text: "viewer", "dispatcher" or "admin" (case-sensitive)
 * @out_role: (out): where to store the role
 *
 * Returns: %TRUE if @text names a role
 */
gboolean
wb_access_role_from_string (const char *text,
                     WbAccessRole     *out_role)
{
  g_return_val_if_fail (text != NULL, FALSE);
  g_return_val_if_fail (out_role != NULL, FALSE);

  for (WbAccessRole role = WB_ACCESS_ROLE_VIEWER; role <= WB_ACCESS_ROLE_ADMIN; role++)
    {
      if (g_str_equal (text, role_names[role]))
        {
          *out_role = role;
          return TRUE;
        }
    }
  return FALSE;
}

/**
 * wb_access_role_includes:
 * @role: the role a caller holds
 * @required: the role an action needs
 *
 * Returns: %TRUE if @role is @required or a higher one
 */
gboolean
wb_access_role_includes (WbAccessRole role,
                  WbAccessRole required)
{
  return role >= required;
}

/**
 * wb_jwt_base64url_encode:
 * @data: (array length=length): bytes to encode
 * @length: number of bytes
 *
 * Base64url without padding (RFC 7515 §2).
 *
 * Returns: (transfer full): the encoded text
 */
char *
wb_jwt_base64url_encode (const guint8 *data,
                         gsize         length)
{
  char *text;

  g_return_val_if_fail (data != NULL || length == 0, NULL);

  text = g_base64_encode (data, length);
  for (char *p = text; *p != '\0'; p++)
    {
      if (*p == '+')
        *p = '-';
      else if (*p == '/')
        *p = '_';
      else if (*p == '=')
        {
          *p = '\0';
          break;
        }
    }
  return text;
}

static gboolean
base64url_to_standard (const char *text,
                       gsize       length,
                       char       *standard)
{
  for (gsize i = 0; i < length; i++)
    {
      if (g_ascii_isalnum (text[i]))
        standard[i] = text[i];
      else if (text[i] == '-')
        standard[i] = '+';
      else if (text[i] == '_')
        standard[i] = '/';
      else
        return FALSE;
    }
  return TRUE;
}

/**
 * wb_jwt_base64url_decode:
 * @text: base64url text, not necessarily nul-terminated
 * @length: its length in bytes
 *
 * Decodes base64url without padding. Padding, characters outside the
 * base64url alphabet and non-canonical spellings (set bits past the last
 * byte) are all refused, so a token has exactly one valid spelling.
 *
 * Returns: (transfer full) (nullable): the bytes, or %NULL if @text is invalid
 */
GBytes *
wb_jwt_base64url_decode (const char *text,
                         gsize       length)
{
  g_autofree char *standard = NULL;
  g_autofree guchar *decoded = NULL;
  g_autofree char *canonical = NULL;
  gsize decoded_length = 0;

  g_return_val_if_fail (text != NULL || length == 0, NULL);

  /* Four characters carry three bytes; a lone trailing character carries
   * fewer than eight bits, so no byte string encodes to it. */
  if (length % 4 == 1)
    return NULL;

  standard = g_malloc (length + 3);
  if (!base64url_to_standard (text, length, standard))
    return NULL;
  memset (standard + length, '=', (4 - length % 4) % 4);
  standard[length + (4 - length % 4) % 4] = '\0';

  decoded = g_base64_decode (standard, &decoded_length);

  /* g_base64_decode() ignores the unused low bits of the last character;
   * re-encoding tells whether the input was the one canonical spelling. */
  canonical = wb_jwt_base64url_encode (decoded, decoded_length);
  if (strlen (canonical) != length || memcmp (canonical, text, length) != 0)
    return NULL;

  return g_bytes_new_take (g_steal_pointer (&decoded), decoded_length);
}

static void
compute_mac (const guint8 *secret,
             gsize         secret_len,
             const char   *signing_input,
             gsize         signing_input_length,
             guint8        mac[HS256_MAC_LENGTH])
{
  g_autoptr(GHmac) hmac = g_hmac_new (G_CHECKSUM_SHA256, secret, secret_len);
  gsize mac_length = HS256_MAC_LENGTH;

  g_hmac_update (hmac, (const guchar *) signing_input, signing_input_length);
  g_hmac_get_digest (hmac, mac, &mac_length);
  g_assert (mac_length == HS256_MAC_LENGTH);
}

/* Every byte is looked at whatever the earlier ones were, so the time taken
 * does not tell an attacker how long a prefix of a forged MAC was right. */
static gboolean
mac_equal (const guint8 *a,
           const guint8 *b)
{
  volatile guint8 difference = 0;

  for (gsize i = 0; i < HS256_MAC_LENGTH; i++)
    difference |= a[i] ^ b[i];
  return difference == 0;
}

static gboolean
split_token (const char  *token,
             TokenParts  *parts,
             GError     **error)
{
  const char *first_dot = strchr (token, '.');
  const char *second_dot = first_dot != NULL ? strchr (first_dot + 1, '.') : NULL;

  if (second_dot == NULL || strchr (second_dot + 1, '.') != NULL)
    {
      g_set_error_literal (error, WB_JWT_ERROR, WB_JWT_ERROR_MALFORMED,
                           "token must have three dot-separated parts");
      return FALSE;
    }

  parts->header = token;
  parts->header_length = first_dot - token;
  parts->payload = first_dot + 1;
  parts->payload_length = second_dot - parts->payload;
  parts->signature = second_dot + 1;
  parts->signature_length = strlen (parts->signature);
  return TRUE;
}

static JsonObject *
decode_json_object (const char  *text,
                    gsize        length,
                    const char  *what,
                    GError     **error)
{
  g_autoptr(GBytes) bytes = wb_jwt_base64url_decode (text, length);
  g_autoptr(JsonNode) root = NULL;
  const char *json;
  gsize json_length;

  if (bytes == NULL)
    {
      g_set_error (error, WB_JWT_ERROR, WB_JWT_ERROR_MALFORMED,
                   "token %s is not valid base64url", what);
      return NULL;
    }

  /* The guarded parse refuses raw NULs and the escaped form too, because
   * json-glib would cut the string there and "HS256\u0000…" would read as
   * "HS256"; a token's parts are small and flat. */
  json = g_bytes_get_data (bytes, &json_length);
  root = wb_json_parse (json, json_length, &token_limits, NULL);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, WB_JWT_ERROR, WB_JWT_ERROR_MALFORMED,
                   "token %s is not a JSON object", what);
      return NULL;
    }

  return json_node_dup_object (root);
}

static const char *
get_string_member (JsonObject *object,
                   const char *name,
                   gboolean   *present)
{
  JsonNode *node = json_object_get_member (object, name);

  *present = node != NULL;
  if (node == NULL || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

/* The alg is echoed back only when it looks like an algorithm name, so an
 * error message never carries arbitrary bytes from the request. */
static gboolean
looks_like_algorithm_name (const char *alg)
{
  gsize length = strlen (alg);

  if (length == 0 || length > 16)
    return FALSE;
  for (gsize i = 0; i < length; i++)
    {
      if (!g_ascii_isalnum (alg[i]) && alg[i] != '-' && alg[i] != '_')
        return FALSE;
    }
  return TRUE;
}

static gboolean
check_algorithm (JsonObject  *header,
                 GError     **error)
{
  gboolean present;
  const char *alg = get_string_member (header, "alg", &present);

  if (alg == NULL)
    {
      g_set_error_literal (error, WB_JWT_ERROR, WB_JWT_ERROR_ALGORITHM,
                           "token header has no \"alg\" string; only HS256 is accepted");
      return FALSE;
    }
  if (g_str_equal (alg, "HS256"))
    return TRUE;

  if (looks_like_algorithm_name (alg))
    g_set_error (error, WB_JWT_ERROR, WB_JWT_ERROR_ALGORITHM,
                 "alg \"%s\" is not accepted; only HS256", alg);
  else
    g_set_error_literal (error, WB_JWT_ERROR, WB_JWT_ERROR_ALGORITHM,
                         "alg is not accepted; only HS256");
  return FALSE;
}

static gboolean
check_header (JsonObject  *header,
              GError     **error)
{
  gboolean typ_present;
  const char *typ;

  if (!check_algorithm (header, error))
    return FALSE;

  typ = get_string_member (header, "typ", &typ_present);
  if (typ_present && g_strcmp0 (typ, "JWT") != 0)
    {
      g_set_error_literal (error, WB_JWT_ERROR, WB_JWT_ERROR_MALFORMED,
                           "token header \"typ\" must be \"JWT\"");
      return FALSE;
    }

  /* RFC 7515 §4.1.11: extensions listed in "crit" must be understood, and
   * we understand none. */
  if (json_object_has_member (header, "crit"))
    {
      g_set_error_literal (error, WB_JWT_ERROR, WB_JWT_ERROR_MALFORMED,
                           "token header \"crit\" is not supported");
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_signature (const guint8      *secret,
                 gsize              secret_len,
                 const TokenParts  *parts,
                 GError           **error)
{
  g_autoptr(GBytes) signature = wb_jwt_base64url_decode (parts->signature, parts->signature_length);
  guint8 expected[HS256_MAC_LENGTH];
  gsize signature_length = 0;
  const guint8 *signature_data;

  if (signature == NULL)
    {
      g_set_error_literal (error, WB_JWT_ERROR, WB_JWT_ERROR_MALFORMED,
                           "token signature is not valid base64url");
      return FALSE;
    }

  signature_data = g_bytes_get_data (signature, &signature_length);
  compute_mac (secret, secret_len, parts->header,
               parts->header_length + 1 + parts->payload_length, expected);
  if (signature_length != HS256_MAC_LENGTH || !mac_equal (signature_data, expected))
    {
      g_set_error_literal (error, WB_JWT_ERROR, WB_JWT_ERROR_SIGNATURE,
                           "token signature does not match");
      return FALSE;
    }
  return TRUE;
}

/* NumericDate (RFC 7519 §2) may carry a fraction; whole seconds are enough
 * here, and truncating towards minus infinity never extends a lifetime past
 * what the issuer wrote by more than the fraction it dropped. */
static gboolean
read_time_claim (JsonObject  *payload,
                 const char  *name,
                 gint64      *out_value,
                 gboolean    *out_present,
                 GError     **error)
{
  JsonNode *node = json_object_get_member (payload, name);
  GType type = node != NULL ? json_node_get_value_type (node) : G_TYPE_INVALID;
  double value;

  *out_present = node != NULL;
  *out_value = 0;
  if (node == NULL)
    return TRUE;

  if (type == G_TYPE_INT64)
    value = (double) json_node_get_int (node);
  else if (type == G_TYPE_DOUBLE)
    value = floor (json_node_get_double (node));
  else
    {
      g_set_error (error, WB_JWT_ERROR, WB_JWT_ERROR_CLAIMS,
                   "claim \"%s\" must be a number", name);
      return FALSE;
    }

  if (!isfinite (value) || value > (double) MAX_TIME || value < (double) -MAX_TIME)
    {
      g_set_error (error, WB_JWT_ERROR, WB_JWT_ERROR_CLAIMS,
                   "claim \"%s\" is out of range", name);
      return FALSE;
    }
  *out_value = (gint64) value;
  return TRUE;
}

static gboolean
read_times (JsonObject   *payload,
            WbJwtClaims  *claims,
            GError      **error)
{
  gboolean exp_present, nbf_present, iat_present;

  if (!read_time_claim (payload, "exp", &claims->expires_at, &exp_present, error)
      || !read_time_claim (payload, "nbf", &claims->not_before, &nbf_present, error)
      || !read_time_claim (payload, "iat", &claims->issued_at, &iat_present, error))
    return FALSE;

  /* A token that never expires cannot be taken back short of rotating the
   * secret for everyone, so we do not accept any. */
  if (!exp_present)
    {
      g_set_error_literal (error, WB_JWT_ERROR, WB_JWT_ERROR_CLAIMS,
                           "claim \"exp\" is required");
      return FALSE;
    }
  return TRUE;
}

static gboolean
read_identity (JsonObject   *payload,
               WbJwtClaims  *claims,
               GError      **error)
{
  gboolean role_present, subject_present;
  const char *role = get_string_member (payload, "role", &role_present);
  const char *subject = get_string_member (payload, "sub", &subject_present);

  if (role == NULL || !wb_access_role_from_string (role, &claims->role))
    {
      g_set_error_literal (error, WB_JWT_ERROR, WB_JWT_ERROR_CLAIMS,
                           "claim \"role\" must be one of viewer, dispatcher, admin");
      return FALSE;
    }
  if (subject_present && subject == NULL)
    {
      g_set_error_literal (error, WB_JWT_ERROR, WB_JWT_ERROR_CLAIMS,
                           "claim \"sub\" must be a string");
      return FALSE;
    }
  claims->subject = g_strdup (subject);
  return TRUE;
}

static gboolean
check_lifetime (const WbJwtClaims  *claims,
                gint64              now,
                gint64              leeway_seconds,
                GError            **error)
{
  /* RFC 7519 §4.1.4: valid only while now is before exp. */
  if (now - leeway_seconds >= claims->expires_at)
    {
      g_set_error_literal (error, WB_JWT_ERROR, WB_JWT_ERROR_EXPIRED,
                           "token expired");
      return FALSE;
    }
  if (now + leeway_seconds < claims->not_before)
    {
      g_set_error_literal (error, WB_JWT_ERROR, WB_JWT_ERROR_NOT_YET_VALID,
                           "token is not valid yet");
      return FALSE;
    }
  return TRUE;
}

static WbJwtClaims *
claims_from_payload (JsonObject  *payload,
                     gint64       now,
                     gint64       leeway_seconds,
                     GError     **error)
{
  g_autoptr(WbJwtClaims) claims = g_new0 (WbJwtClaims, 1);

  if (!read_times (payload, claims, error)
      || !read_identity (payload, claims, error)
      || !check_lifetime (claims, now, leeway_seconds, error))
    return NULL;

  return g_steal_pointer (&claims);
}

/**
 * wb_jwt_verify:
 * @secret: (array length=secret_len): the HS256 key
 * @secret_len: its length in bytes, not zero
 * @token: the compact serialization, as sent after "Bearer "
 * @now: the current time in unix seconds
 * @leeway_seconds: clock skew tolerated on exp and nbf
 * @error: return location for a #WB_JWT_ERROR
 *
 * Checks @token's form, algorithm and signature, then its lifetime and
 * claims. Nothing in the payload is looked at before the signature has been
 * verified.
 *
 * Returns: (transfer full) (nullable): the claims, or %NULL with @error set
 */
WbJwtClaims *
wb_jwt_verify (const guint8  *secret,
               gsize          secret_len,
               const char    *token,
               gint64         now,
               gint64         leeway_seconds,
               GError       **error)
{
  g_autoptr(JsonObject) header = NULL;
  g_autoptr(JsonObject) payload = NULL;
  TokenParts parts;

  g_return_val_if_fail (secret != NULL, NULL);
  g_return_val_if_fail (secret_len > 0, NULL);
  g_return_val_if_fail (token != NULL, NULL);
  g_return_val_if_fail (now >= 0 && now <= MAX_TIME, NULL);
  g_return_val_if_fail (leeway_seconds >= 0 && leeway_seconds <= MAX_LEEWAY, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (strnlen (token, WB_JWT_MAX_LENGTH + 1) > WB_JWT_MAX_LENGTH)
    {
      g_set_error (error, WB_JWT_ERROR, WB_JWT_ERROR_MALFORMED,
                   "token is longer than %d bytes", WB_JWT_MAX_LENGTH);
      return NULL;
    }

  if (!split_token (token, &parts, error)
      || (header = decode_json_object (parts.header, parts.header_length, "header", error)) == NULL
      || !check_header (header, error)
      || !check_signature (secret, secret_len, &parts, error)
      || (payload = decode_json_object (parts.payload, parts.payload_length, "payload", error)) == NULL)
    return NULL;

  return claims_from_payload (payload, now, leeway_seconds, error);
}

static char *
build_payload (const char *subject,
               WbAccessRole      role,
               gint64      now,
               gint64      ttl_seconds)
{
  g_autoptr(JsonBuilder) builder = json_builder_new_immutable ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (builder);
  if (subject != NULL)
    {
      json_builder_set_member_name (builder, "sub");
      json_builder_add_string_value (builder, subject);
    }
  json_builder_set_member_name (builder, "role");
  json_builder_add_string_value (builder, wb_access_role_to_string (role));
  json_builder_set_member_name (builder, "iat");
  json_builder_add_int_value (builder, now);
  json_builder_set_member_name (builder, "exp");
  json_builder_add_int_value (builder, now + ttl_seconds);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  return wb_json_to_string (root);
}

/**
 * wb_jwt_sign:
 * @secret: (array length=secret_len): the HS256 key
 * @secret_len: its length in bytes, not zero
 * @subject: (nullable): the "sub" claim
 * @role: the "role" claim, not %WB_ACCESS_ROLE_NONE
 * @now: the issue time in unix seconds ("iat")
 * @ttl_seconds: lifetime; "exp" is @now + @ttl_seconds
 *
 * Issues a token that wb_jwt_verify() accepts for the same secret. The
 * output is deterministic: header {"alg":"HS256","typ":"JWT"}, payload
 * members in the order sub, role, iat, exp.
 *
 * Returns: (transfer full): the compact serialization
 */
char *
wb_jwt_sign (const guint8 *secret,
             gsize         secret_len,
             const char   *subject,
             WbAccessRole        role,
             gint64        now,
             gint64        ttl_seconds)
{
  g_autofree char *payload = NULL;
  g_autofree char *encoded_header = NULL;
  g_autofree char *encoded_payload = NULL;
  g_autofree char *encoded_mac = NULL;
  g_autofree char *signing_input = NULL;
  guint8 mac[HS256_MAC_LENGTH];

  g_return_val_if_fail (secret != NULL, NULL);
  g_return_val_if_fail (secret_len > 0, NULL);
  g_return_val_if_fail (role > WB_ACCESS_ROLE_NONE && role <= WB_ACCESS_ROLE_ADMIN, NULL);
  g_return_val_if_fail (now >= 0 && now <= MAX_TIME, NULL);
  g_return_val_if_fail (ttl_seconds > 0 && ttl_seconds <= MAX_TIME - now, NULL);

  payload = build_payload (subject, role, now, ttl_seconds);
  encoded_header = wb_jwt_base64url_encode ((const guint8 *) jwt_header, strlen (jwt_header));
  encoded_payload = wb_jwt_base64url_encode ((const guint8 *) payload, strlen (payload));
  signing_input = g_strconcat (encoded_header, ".", encoded_payload, NULL);

  compute_mac (secret, secret_len, signing_input, strlen (signing_input), mac);
  encoded_mac = wb_jwt_base64url_encode (mac, sizeof mac);
  return g_strconcat (signing_input, ".", encoded_mac, NULL);
}
