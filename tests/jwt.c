// SPDX-License-Identifier: GPL-3.0-or-later
/* HS256 tokens: interoperability against independently computed vectors,
 * lifetime checks, and the strictness that keeps forged or odd tokens out. */

#include <string.h>

#include "wb-jwt.h"

#define SECRET        "waybill-test-secret"
#define SECRET_BYTES  ((const guint8 *) SECRET)
#define SECRET_LENGTH (sizeof SECRET - 1)

#define NOW    ((gint64) 1700000000)
#define LEEWAY ((gint64) 30)

#define HS256_HEADER "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

/* Computed at test-writing time with the shell, not with this code:
 *   b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
 *   H=$(printf '%s' '{"alg":"HS256","typ":"JWT"}' | b64url)
 *   P=$(printf '%s' '{"sub":"alice","role":"dispatcher","iat":1700000000,"exp":1700028800}' | b64url)
 *   S=$(printf '%s' "$H.$P" | openssl dgst -sha256 -hmac waybill-test-secret -binary | b64url)
 */
static const char known_dispatcher_token[] =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
  ".eyJzdWIiOiJhbGljZSIsInJvbGUiOiJkaXNwYXRjaGVyIiwiaWF0IjoxNzAwMDAwMDAwLCJleHAiOjE3MDAwMjg4MDB9"
  ".8eXDZTSCderYtkiGzE0MalMwJBOSyZempgKX38LfYsY";

/* Same recipe, payload {"role":"admin","iat":1700000000,"exp":1700000060}. */
static const char known_admin_token[] =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
  ".eyJyb2xlIjoiYWRtaW4iLCJpYXQiOjE3MDAwMDAwMDAsImV4cCI6MTcwMDAwMDA2MH0"
  ".326S-K1DHZadwuG9bqRDuMvyemuyYuNAfv5KetpR4c0";

/* RFC 7515 Appendix A.1: an HS256 JWS with its published key. */
static const char rfc7515_token[] =
  "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
  ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
  ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
static const char rfc7515_key[] =
  "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";

static char *
encode_text (const char *text)
{
  return wb_jwt_base64url_encode ((const guint8 *) text, strlen (text));
}

/* A token with arbitrary header and payload and a correct HS256 MAC, to show
 * that the checks after the signature are what refuse it. */
static char *
sign_parts (const char *encoded_header,
            const char *encoded_payload)
{
  g_autofree char *signing_input = g_strconcat (encoded_header, ".", encoded_payload, NULL);
  g_autoptr(GHmac) hmac = g_hmac_new (G_CHECKSUM_SHA256, SECRET_BYTES, SECRET_LENGTH);
  g_autofree char *encoded_mac = NULL;
  guint8 mac[32];
  gsize mac_length = sizeof mac;

  g_hmac_update (hmac, (const guchar *) signing_input, -1);
  g_hmac_get_digest (hmac, mac, &mac_length);
  encoded_mac = wb_jwt_base64url_encode (mac, mac_length);
  return g_strconcat (signing_input, ".", encoded_mac, NULL);
}

static char *
make_token (const char *header,
            const char *payload)
{
  g_autofree char *encoded_header = encode_text (header);
  g_autofree char *encoded_payload = encode_text (payload);

  return sign_parts (encoded_header, encoded_payload);
}

static char *
make_payload_token (const char *payload)
{
  return make_token (HS256_HEADER, payload);
}

static WbJwtClaims *
verify (const char *token,
        gint64      now,
        GError    **error)
{
  return wb_jwt_verify (SECRET_BYTES, SECRET_LENGTH, token, now, LEEWAY, error);
}

static void
assert_rejected (const char *token,
                 gint64      now,
                 gint        code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(WbJwtClaims) claims = verify (token, now, &error);

  g_assert_null (claims);
  g_assert_error (error, WB_JWT_ERROR, code);
  g_assert_null (strstr (error->message, SECRET));
}

static void
assert_payload_rejected (const char *payload,
                         gint        code)
{
  g_autofree char *token = make_payload_token (payload);

  assert_rejected (token, NOW, code);
}

static void
test_base64url_encode (void)
{
  static const struct { const char *plain; const char *encoded; } vectors[] = {
    /* RFC 4648 §10, without padding */
    { "", "" }, { "f", "Zg" }, { "fo", "Zm8" }, { "foo", "Zm9v" },
    { "foob", "Zm9vYg" }, { "fooba", "Zm9vYmE" }, { "foobar", "Zm9vYmFy" },
    /* bytes that need the url-safe characters: standard base64 "+/8=" */
    { "\xfb\xff", "-_8" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (vectors); i++)
    {
      g_autofree char *encoded = encode_text (vectors[i].plain);
      g_autoptr(GBytes) decoded = wb_jwt_base64url_decode (vectors[i].encoded, strlen (vectors[i].encoded));
      gsize length;
      const char *data;

      g_assert_cmpstr (encoded, ==, vectors[i].encoded);
      g_assert_nonnull (decoded);
      data = g_bytes_get_data (decoded, &length);
      g_assert_cmpmem (data, length, vectors[i].plain, strlen (vectors[i].plain));
    }
}

static void
test_base64url_decode_strict (void)
{
  static const char *invalid[] = {
    "Zg==", "Zg=", "Zm8=",   /* padding */
    "Z", "Zm9vY",            /* a length no byte string encodes to */
    "Zh", "Zm9",             /* set bits past the last byte: non-canonical */
    "+_8", "-/8",            /* standard base64 characters */
    "Zm 9v", "Zm9v\n", "Zm.9", "Zm9v!A", "\xc3\xa9Zg",
  };

  for (guint i = 0; i < G_N_ELEMENTS (invalid); i++)
    {
      g_autoptr(GBytes) decoded = wb_jwt_base64url_decode (invalid[i], strlen (invalid[i]));

      if (decoded != NULL)
        g_error ("“%s” decoded but is not canonical base64url", invalid[i]);
    }
}

static void
test_sign_known_answer (void)
{
  g_autofree char *dispatcher = wb_jwt_sign (SECRET_BYTES, SECRET_LENGTH, "alice",
                                             WB_ACCESS_ROLE_DISPATCHER, NOW, 8 * 3600);
  g_autofree char *admin = wb_jwt_sign (SECRET_BYTES, SECRET_LENGTH, NULL,
                                        WB_ACCESS_ROLE_ADMIN, NOW, 60);

  g_assert_cmpstr (dispatcher, ==, known_dispatcher_token);
  g_assert_cmpstr (admin, ==, known_admin_token);
}

static void
test_verify_known_answer (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(WbJwtClaims) claims = verify (known_dispatcher_token, NOW + 60, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (claims->subject, ==, "alice");
  g_assert_cmpint (claims->role, ==, WB_ACCESS_ROLE_DISPATCHER);
  g_assert_cmpint (claims->issued_at, ==, NOW);
  g_assert_cmpint (claims->not_before, ==, 0);
  g_assert_cmpint (claims->expires_at, ==, NOW + 8 * 3600);
}

/* The RFC's token has no role, so it must fail on claims: getting that far
 * proves its signature, over a header with CRLF and spaces, was accepted. */
static void
test_verify_rfc7515 (void)
{
  g_autoptr(GBytes) key = wb_jwt_base64url_decode (rfc7515_key, strlen (rfc7515_key));
  g_autoptr(GError) error = NULL;
  g_autoptr(WbJwtClaims) claims = NULL;
  g_autofree char *forged = g_strdup (rfc7515_token);
  gsize key_length;
  const guint8 *key_data = g_bytes_get_data (key, &key_length);

  claims = wb_jwt_verify (key_data, key_length, rfc7515_token, 1300819000, 0, &error);
  g_assert_null (claims);
  g_assert_error (error, WB_JWT_ERROR, WB_JWT_ERROR_CLAIMS);
  g_assert_nonnull (strstr (error->message, "role"));
  g_clear_error (&error);

  forged[strlen (forged) - 5] = forged[strlen (forged) - 5] == 'A' ? 'B' : 'A';
  claims = wb_jwt_verify (key_data, key_length, forged, 1300819000, 0, &error);
  g_assert_null (claims);
  g_assert_error (error, WB_JWT_ERROR, WB_JWT_ERROR_SIGNATURE);
}

static void
test_round_trip (void)
{
  g_autofree char *token = wb_jwt_sign (SECRET_BYTES, SECRET_LENGTH, "dispatch-desk-7",
                                        WB_ACCESS_ROLE_VIEWER, NOW, 3600);
  g_autofree char *anonymous = wb_jwt_sign (SECRET_BYTES, SECRET_LENGTH, NULL,
                                            WB_ACCESS_ROLE_ADMIN, NOW, 3600);
  g_autoptr(GError) error = NULL;
  g_autoptr(WbJwtClaims) claims = verify (token, NOW + 1, &error);
  g_autoptr(WbJwtClaims) anonymous_claims = NULL;

  g_assert_no_error (error);
  g_assert_cmpstr (claims->subject, ==, "dispatch-desk-7");
  g_assert_cmpint (claims->role, ==, WB_ACCESS_ROLE_VIEWER);
  g_assert_cmpint (claims->expires_at, ==, NOW + 3600);

  anonymous_claims = verify (anonymous, NOW + 3599, &error);
  g_assert_no_error (error);
  g_assert_null (anonymous_claims->subject);
  g_assert_cmpint (anonymous_claims->role, ==, WB_ACCESS_ROLE_ADMIN);
}

static void
test_expired (void)
{
  g_autofree char *token = wb_jwt_sign (SECRET_BYTES, SECRET_LENGTH, "bob", WB_ACCESS_ROLE_VIEWER, NOW, 600);
  g_autoptr(GError) error = NULL;
  g_autoptr(WbJwtClaims) claims = NULL;

  /* Valid only while now < exp (RFC 7519 §4.1.4): exp itself is too late. */
  claims = wb_jwt_verify (SECRET_BYTES, SECRET_LENGTH, token, NOW + 600, 0, &error);
  g_assert_null (claims);
  g_assert_error (error, WB_JWT_ERROR, WB_JWT_ERROR_EXPIRED);
  g_assert_cmpstr (error->message, ==, "token expired");

  assert_rejected (token, NOW + 600 + LEEWAY, WB_JWT_ERROR_EXPIRED);
  assert_rejected (token, NOW + 100000, WB_JWT_ERROR_EXPIRED);
}

static void
test_expired_within_leeway (void)
{
  g_autofree char *token = wb_jwt_sign (SECRET_BYTES, SECRET_LENGTH, "bob", WB_ACCESS_ROLE_VIEWER, NOW, 600);
  g_autoptr(GError) error = NULL;
  g_autoptr(WbJwtClaims) claims = verify (token, NOW + 600 + LEEWAY - 1, &error);

  g_assert_no_error (error);
  g_assert_cmpint (claims->role, ==, WB_ACCESS_ROLE_VIEWER);
}

static void
test_not_yet_valid (void)
{
  g_autofree char *future = make_payload_token ("{\"role\":\"viewer\",\"nbf\":1700000100,\"exp\":1700003600}");
  g_autofree char *skewed = make_payload_token ("{\"role\":\"viewer\",\"nbf\":1700000020,\"exp\":1700003600}");
  g_autoptr(GError) error = NULL;
  g_autoptr(WbJwtClaims) claims = NULL;

  claims = verify (future, NOW, &error);
  g_assert_null (claims);
  g_assert_error (error, WB_JWT_ERROR, WB_JWT_ERROR_NOT_YET_VALID);
  g_clear_error (&error);

  claims = verify (future, NOW + 100, &error);
  g_assert_no_error (error);
  g_assert_cmpint (claims->not_before, ==, NOW + 100);
  g_clear_pointer (&claims, wb_jwt_claims_free);

  /* 20 s ahead of us is within the leeway; without leeway it is too early. */
  claims = verify (skewed, NOW, &error);
  g_assert_no_error (error);
  g_clear_pointer (&claims, wb_jwt_claims_free);
  claims = wb_jwt_verify (SECRET_BYTES, SECRET_LENGTH, skewed, NOW, 0, &error);
  g_assert_null (claims);
  g_assert_error (error, WB_JWT_ERROR, WB_JWT_ERROR_NOT_YET_VALID);
}

static void
test_wrong_secret (void)
{
  static const char other[] = "another-secret";
  g_autofree char *token = wb_jwt_sign ((const guint8 *) other, strlen (other), "eve", WB_ACCESS_ROLE_ADMIN, NOW, 600);

  assert_rejected (token, NOW, WB_JWT_ERROR_SIGNATURE);
}

/* Any one character changed anywhere (header, payload or MAC) is refused:
 * as a bad signature, or earlier when the change garbles the header or the
 * encoding. */
static void
test_flipped_byte (void)
{
  gsize length = strlen (known_dispatcher_token);

  for (gsize i = 0; i < length; i++)
    {
      g_autofree char *tampered = g_strdup (known_dispatcher_token);
      g_autoptr(GError) error = NULL;
      g_autoptr(WbJwtClaims) claims = NULL;

      if (tampered[i] == '.')
        continue;
      tampered[i] = tampered[i] == 'A' ? 'B' : 'A';
      claims = verify (tampered, NOW, &error);
      g_assert_null (claims);
      g_assert_true (g_error_matches (error, WB_JWT_ERROR, WB_JWT_ERROR_SIGNATURE) ||
                     g_error_matches (error, WB_JWT_ERROR, WB_JWT_ERROR_MALFORMED) ||
                     g_error_matches (error, WB_JWT_ERROR, WB_JWT_ERROR_ALGORITHM));
      /* Past the header, only the MAC may be what rejects it. */
      if (i > strlen ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"))
        g_assert_true (g_error_matches (error, WB_JWT_ERROR, WB_JWT_ERROR_SIGNATURE) ||
                       g_error_matches (error, WB_JWT_ERROR, WB_JWT_ERROR_MALFORMED));
    }
}

/* A bad MAC must win over anything the unverified payload says. */
static void
test_signature_checked_first (void)
{
  g_autofree char *expired = make_payload_token ("{\"role\":\"admin\",\"exp\":1}");
  g_autofree char *garbage = g_strdup_printf ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.%s.%s",
                                              "!not-base64!", strrchr (known_admin_token, '.') + 1);

  expired[strlen (expired) - 3] = expired[strlen (expired) - 3] == 'A' ? 'B' : 'A';
  assert_rejected (expired, NOW, WB_JWT_ERROR_SIGNATURE);
  assert_rejected (garbage, NOW, WB_JWT_ERROR_SIGNATURE);
}

static void
test_alg_none (void)
{
  g_autofree char *header = encode_text ("{\"alg\":\"none\",\"typ\":\"JWT\"}");
  g_autofree char *payload = encode_text ("{\"role\":\"admin\",\"exp\":1800000000}");
  g_autofree char *unsigned_token = g_strdup_printf ("%s.%s.", header, payload);
  g_autofree char *signed_token = make_token ("{\"alg\":\"none\"}", "{\"role\":\"admin\",\"exp\":1800000000}");
  g_autofree char *capitalized = make_token ("{\"alg\":\"None\"}", "{\"role\":\"admin\",\"exp\":1800000000}");
  g_autoptr(GError) error = NULL;
  g_autoptr(WbJwtClaims) claims = verify (unsigned_token, NOW, &error);

  g_assert_null (claims);
  g_assert_error (error, WB_JWT_ERROR, WB_JWT_ERROR_ALGORITHM);
  g_assert_cmpstr (error->message, ==, "alg \"none\" is not accepted; only HS256");

  assert_rejected (signed_token, NOW, WB_JWT_ERROR_ALGORITHM);
  assert_rejected (capitalized, NOW, WB_JWT_ERROR_ALGORITHM);
}

static void
test_alg_other (void)
{
  static const char *headers[] = {
    "{\"alg\":\"HS512\",\"typ\":\"JWT\"}",
    "{\"alg\":\"RS256\"}",
    "{\"alg\":\"hs256\"}",
    "{\"typ\":\"JWT\"}",
    "{\"alg\":256}",
    "{\"alg\":null}",
  };
  g_autofree char *hs512 = make_token (headers[0], "{\"role\":\"admin\",\"exp\":1800000000}");
  g_autoptr(GError) error = NULL;
  g_autoptr(WbJwtClaims) claims = verify (hs512, NOW, &error);

  g_assert_null (claims);
  g_assert_error (error, WB_JWT_ERROR, WB_JWT_ERROR_ALGORITHM);
  g_assert_cmpstr (error->message, ==, "alg \"HS512\" is not accepted; only HS256");

  for (guint i = 1; i < G_N_ELEMENTS (headers); i++)
    {
      g_autofree char *token = make_token (headers[i], "{\"role\":\"admin\",\"exp\":1800000000}");

      assert_rejected (token, NOW, WB_JWT_ERROR_ALGORITHM);
    }
}

static void
test_header_fields (void)
{
  g_autofree char *jose = make_token ("{\"alg\":\"HS256\",\"typ\":\"JOSE\"}", "{\"role\":\"viewer\",\"exp\":1800000000}");
  g_autofree char *crit = make_token ("{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", "{\"role\":\"viewer\",\"exp\":1800000000}");
  g_autofree char *no_typ = make_token ("{\"alg\":\"HS256\"}", "{\"role\":\"viewer\",\"exp\":1800000000}");
  g_autoptr(GError) error = NULL;
  g_autoptr(WbJwtClaims) claims = NULL;

  assert_rejected (jose, NOW, WB_JWT_ERROR_MALFORMED);
  assert_rejected (crit, NOW, WB_JWT_ERROR_MALFORMED);

  claims = verify (no_typ, NOW, &error);
  g_assert_no_error (error);
  g_assert_cmpint (claims->role, ==, WB_ACCESS_ROLE_VIEWER);
}

static void
test_malformed (void)
{
  const char *signature = strrchr (known_admin_token, '.');
  g_autofree char *header_and_payload = g_strndup (known_admin_token, signature - known_admin_token);
  g_autofree char *four_parts = g_strconcat (known_admin_token, ".e30", NULL);
  /* The admin payload is 50 bytes, so standard base64 would end it in "=";
   * the MAC is right, so only the padding can be what is refused. */
  g_autofree char *padded_payload = g_strconcat (strchr (header_and_payload, '.') + 1, "=", NULL);
  g_autofree char *padded = sign_parts ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9", padded_payload);
  g_autofree char *padded_signature = g_strconcat (known_admin_token, "=", NULL);
  g_autofree char *bad_character = g_strdup (known_admin_token);
  g_autofree char *array_header = make_token ("[\"alg\",\"HS256\"]", "{\"role\":\"admin\",\"exp\":1800000000}");
  g_autofree char *not_json_header = make_token ("alg=HS256", "{\"role\":\"admin\",\"exp\":1800000000}");
  g_autofree char *empty_header = make_token ("", "{\"role\":\"admin\",\"exp\":1800000000}");
  /* json-glib would cut the string at the escaped NUL and read "HS256". */
  g_autofree char *nul_in_alg = make_token ("{\"alg\":\"HS256\\u0000x\"}", "{\"role\":\"admin\",\"exp\":1800000000}");
  const char *tokens[] = {
    "", ".", "..", "...", "abc",
    header_and_payload, four_parts, padded, padded_signature, bad_character,
    array_header, not_json_header, empty_header, nul_in_alg,
  };

  bad_character[3] = '*';
  for (guint i = 0; i < G_N_ELEMENTS (tokens); i++)
    assert_rejected (tokens[i], NOW, WB_JWT_ERROR_MALFORMED);
}

static void
test_payload_not_object (void)
{
  assert_payload_rejected ("[1,2]", WB_JWT_ERROR_MALFORMED);
  assert_payload_rejected ("\"role\"", WB_JWT_ERROR_MALFORMED);
  assert_payload_rejected ("null", WB_JWT_ERROR_MALFORMED);
  assert_payload_rejected ("{\"role\":", WB_JWT_ERROR_MALFORMED);
  assert_payload_rejected ("{\"role\":\"admin\",\"exp\":1800000000} trailing", WB_JWT_ERROR_MALFORMED);
  assert_payload_rejected ("{\"sub\":\"\xff\",\"role\":\"admin\",\"exp\":1800000000}", WB_JWT_ERROR_MALFORMED);
  assert_payload_rejected ("", WB_JWT_ERROR_MALFORMED);
  assert_payload_rejected ("{\"role\":\"admin\\u0000root\",\"exp\":1800000000}", WB_JWT_ERROR_MALFORMED);
}

static void
test_claims (void)
{
  static const char *invalid[] = {
    "{\"role\":\"admin\",\"exp\":\"1800000000\"}",
    "{\"role\":\"admin\"}",
    "{\"role\":\"admin\",\"exp\":null}",
    "{\"role\":\"admin\",\"exp\":true}",
    "{\"role\":\"admin\",\"exp\":1e300}",
    "{\"role\":\"admin\",\"exp\":1800000000,\"nbf\":\"0\"}",
    "{\"role\":\"admin\",\"exp\":1800000000,\"iat\":[1]}",
    "{\"role\":\"root\",\"exp\":1800000000}",
    "{\"role\":\"Admin\",\"exp\":1800000000}",
    "{\"role\":\"none\",\"exp\":1800000000}",
    "{\"role\":3,\"exp\":1800000000}",
    "{\"exp\":1800000000}",
    "{\"role\":\"admin\",\"exp\":1800000000,\"sub\":42}",
  };
  g_autofree char *string_exp = make_payload_token (invalid[0]);
  g_autofree char *fractional = make_payload_token ("{\"role\":\"admin\",\"exp\":1700000100.75}");
  g_autoptr(GError) error = NULL;
  g_autoptr(WbJwtClaims) claims = verify (string_exp, NOW, &error);

  g_assert_error (error, WB_JWT_ERROR, WB_JWT_ERROR_CLAIMS);
  g_assert_cmpstr (error->message, ==, "claim \"exp\" must be a number");
  g_clear_error (&error);

  for (guint i = 1; i < G_N_ELEMENTS (invalid); i++)
    assert_payload_rejected (invalid[i], WB_JWT_ERROR_CLAIMS);

  claims = verify (fractional, NOW, &error);
  g_assert_no_error (error);
  g_assert_cmpint (claims->expires_at, ==, NOW + 100);
}

static void
test_oversize (void)
{
  g_autofree char *filler = g_strnfill (6200, 'x');
  g_autofree char *big_payload = g_strdup_printf ("{\"role\":\"admin\",\"exp\":1800000000,\"pad\":\"%s\"}", filler);
  g_autofree char *oversize = make_payload_token (big_payload);
  g_autofree char *near_limit = NULL;
  g_autofree char *under_payload = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(WbJwtClaims) claims = NULL;

  g_assert_cmpuint (strlen (oversize), >, WB_JWT_MAX_LENGTH);
  assert_rejected (oversize, NOW, WB_JWT_ERROR_MALFORMED);

  /* Just under the limit is still a token. */
  filler[6000] = '\0';
  under_payload = g_strdup_printf ("{\"role\":\"admin\",\"exp\":1800000000,\"pad\":\"%s\"}", filler);
  near_limit = make_payload_token (under_payload);
  g_assert_cmpuint (strlen (near_limit), <=, WB_JWT_MAX_LENGTH);
  g_assert_cmpuint (strlen (near_limit), >, WB_JWT_MAX_LENGTH - 100);
  claims = verify (near_limit, NOW, &error);
  g_assert_no_error (error);
}

static void
test_roles (void)
{
  static const WbAccessRole roles[] = { WB_ACCESS_ROLE_VIEWER, WB_ACCESS_ROLE_DISPATCHER, WB_ACCESS_ROLE_ADMIN };
  WbAccessRole parsed = WB_ACCESS_ROLE_NONE;

  for (guint i = 0; i < G_N_ELEMENTS (roles); i++)
    {
      g_assert_true (wb_access_role_from_string (wb_access_role_to_string (roles[i]), &parsed));
      g_assert_cmpint (parsed, ==, roles[i]);
    }
  g_assert_cmpstr (wb_access_role_to_string (WB_ACCESS_ROLE_DISPATCHER), ==, "dispatcher");
  g_assert_false (wb_access_role_from_string ("none", &parsed));
  g_assert_false (wb_access_role_from_string ("ADMIN", &parsed));
  g_assert_false (wb_access_role_from_string ("", &parsed));

  g_assert_true (wb_access_role_includes (WB_ACCESS_ROLE_ADMIN, WB_ACCESS_ROLE_DISPATCHER));
  g_assert_true (wb_access_role_includes (WB_ACCESS_ROLE_DISPATCHER, WB_ACCESS_ROLE_DISPATCHER));
  g_assert_false (wb_access_role_includes (WB_ACCESS_ROLE_VIEWER, WB_ACCESS_ROLE_DISPATCHER));
}

static void
test_claims_boxed (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(WbJwtClaims) claims = verify (known_dispatcher_token, NOW, &error);
  g_autoptr(WbJwtClaims) copy = g_boxed_copy (WB_TYPE_JWT_CLAIMS, claims);

  g_assert_no_error (error);
  g_assert_true (copy->subject != claims->subject);
  g_assert_cmpstr (copy->subject, ==, "alice");
  g_assert_cmpint (copy->role, ==, claims->role);
  g_assert_cmpint (copy->expires_at, ==, claims->expires_at);
}

/* Claims that are not strict, flat JSON are malformed, signed or not: a
 * deep payload is refused before json-glib recurses into it. */
static void
test_payload_not_strict_json (void)
{
  g_autoptr(GString) deep = g_string_new ("{\"role\":\"admin\",\"x\":");

  for (guint i = 0; i < 2000; i++)
    g_string_append_c (deep, '[');
  for (guint i = 0; i < 2000; i++)
    g_string_append_c (deep, ']');
  g_string_append_c (deep, '}');

  assert_payload_rejected (deep->str, WB_JWT_ERROR_MALFORMED);
  assert_payload_rejected ("{'role':'admin','exp':99999999999}", WB_JWT_ERROR_MALFORMED);
  assert_payload_rejected ("{\"role\":\"admin\" /* c */,\"exp\":99999999999}", WB_JWT_ERROR_MALFORMED);
  assert_payload_rejected ("{\"role\":\"admin\",\"exp\":1e999}", WB_JWT_ERROR_MALFORMED);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/jwt/base64url/encode", test_base64url_encode);
  g_test_add_func ("/jwt/base64url/decode-strict", test_base64url_decode_strict);
  g_test_add_func ("/jwt/sign/known-answer", test_sign_known_answer);
  g_test_add_func ("/jwt/verify/known-answer", test_verify_known_answer);
  g_test_add_func ("/jwt/verify/rfc7515", test_verify_rfc7515);
  g_test_add_func ("/jwt/verify/round-trip", test_round_trip);
  g_test_add_func ("/jwt/verify/expired", test_expired);
  g_test_add_func ("/jwt/verify/expired-within-leeway", test_expired_within_leeway);
  g_test_add_func ("/jwt/verify/not-yet-valid", test_not_yet_valid);
  g_test_add_func ("/jwt/verify/wrong-secret", test_wrong_secret);
  g_test_add_func ("/jwt/verify/flipped-byte", test_flipped_byte);
  g_test_add_func ("/jwt/verify/signature-checked-first", test_signature_checked_first);
  g_test_add_func ("/jwt/verify/alg-none", test_alg_none);
  g_test_add_func ("/jwt/verify/payload-not-strict-json", test_payload_not_strict_json);
  g_test_add_func ("/jwt/verify/alg-other", test_alg_other);
  g_test_add_func ("/jwt/verify/header-fields", test_header_fields);
  g_test_add_func ("/jwt/verify/malformed", test_malformed);
  g_test_add_func ("/jwt/verify/payload-not-object", test_payload_not_object);
  g_test_add_func ("/jwt/verify/claims", test_claims);
  g_test_add_func ("/jwt/verify/oversize", test_oversize);
  g_test_add_func ("/jwt/roles", test_roles);
  g_test_add_func ("/jwt/claims-boxed", test_claims_boxed);

  return g_test_run ();
}
