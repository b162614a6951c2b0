// SPDX-License-Identifier: GPL-3.0-or-later
/* The shipment domain: canonical statuses and ranks, the carrier status maps
 * (every row of every shipped table), phone numbers, carrier timestamps,
 * service levels, and the message schemas. The shipped data files are read
 * straight from the source tree here, independently of the library's own
 * reader, and compared with what the library compiled in. */

#include "config.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "wb-time.h"
#include "wb-phone.h"
#include "wb-sla.h"
#include "wb-status.h"
#include "wb-status-map.h"

#define DRAFT_2020_12 "https://json-schema.org/draft/2020-12/schema"
#define HOUR_US (G_GINT64_CONSTANT (3600) * G_USEC_PER_SEC)

/* ---- reading the source tree's data files ------------------------------ */

static char *
data_path (const char *first,
           const char *second)
{
  return g_test_build_filename (G_TEST_DIST, "..", "data", first, second, NULL);
}

static char *
read_text (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *text = NULL;

  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  return text;
}

/* A TSV file's rows after its header: each a GStrv of fields. */
static GPtrArray *
read_tsv_rows (const char *path,
               const char *expected_header)
{
  g_autofree char *text = read_text (path);
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  GPtrArray *rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  gboolean header_seen = FALSE;

  for (guint i = 0; lines[i]; i++)
    {
      g_strchomp (lines[i]);
      if (lines[i][0] == '\0' || lines[i][0] == '#')
        continue;
      if (!header_seen)
        {
          g_assert_cmpstr (lines[i], ==, expected_header);
          header_seen = TRUE;
          continue;
        }
      g_ptr_array_add (rows, g_strsplit (lines[i], "\t", -1));
    }
  g_assert_true (header_seen);
  return rows;
}

static GPtrArray *
list_source_files (const char *folder,
                   const char *suffix)
{
  g_autofree char *path = data_path (folder, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) dir = g_dir_open (path, 0, &error);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  g_assert_no_error (error);
  while ((name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_suffix (name, suffix))
      g_ptr_array_add (names, g_strdup (name));
  g_assert_cmpuint (names->len, >, 0);
  return names;
}

/* ---- statuses ----------------------------------------------------------- */

typedef struct
{
  WbStatus    status;
  const char *name;
  gboolean    terminal;
  int         rank;
  gboolean    milestone;
} StatusCase;

/* docs/shipments.md, "Canonical statuses and the milestone rule". */
static const StatusCase status_cases[] = {
  { WB_STATUS_PENDING, "PENDING", FALSE, 0, TRUE },
  { WB_STATUS_INFO_RECEIVED, "INFO_RECEIVED", FALSE, 1, TRUE },
  { WB_STATUS_IN_TRANSIT, "IN_TRANSIT", FALSE, 2, TRUE },
  { WB_STATUS_OUT_FOR_DELIVERY, "OUT_FOR_DELIVERY", FALSE, 3, TRUE },
  { WB_STATUS_FAILED_ATTEMPT, "FAILED_ATTEMPT", FALSE, 3, TRUE },
  { WB_STATUS_AVAILABLE_FOR_PICKUP, "AVAILABLE_FOR_PICKUP", FALSE, 3, TRUE },
  { WB_STATUS_DELIVERED, "DELIVERED", TRUE, 9, TRUE },
  { WB_STATUS_EXCEPTION, "EXCEPTION", FALSE, 0, FALSE },
  { WB_STATUS_RETURNED_TO_SENDER, "RETURNED_TO_SENDER", TRUE, 9, TRUE },
  { WB_STATUS_CANCELLED, "CANCELLED", TRUE, 9, TRUE },
  { WB_STATUS_EXPIRED, "EXPIRED", TRUE, 9, TRUE },
};

static void
test_status_table (void)
{
  g_assert_cmpuint (G_N_ELEMENTS (status_cases), ==, WB_N_STATUSES);
  for (guint i = 0; i < G_N_ELEMENTS (status_cases); i++)
    {
      const StatusCase *c = &status_cases[i];

      g_test_message ("%s", c->name);
      g_assert_cmpstr (wb_status_to_string (c->status), ==, c->name);
      g_assert_cmpint (wb_status_from_string (c->name), ==, c->status);
      g_assert_cmpint (wb_status_is_terminal (c->status), ==, c->terminal);
      g_assert_cmpint (wb_status_rank (c->status), ==, c->rank);
      g_assert_cmpint (wb_status_is_milestone (c->status), ==, c->milestone);
    }
}

static void
test_status_invalid (void)
{
  g_assert_cmpint (wb_status_from_string ("in_transit"), ==, WB_STATUS_INVALID);
  g_assert_cmpint (wb_status_from_string ("IN TRANSIT"), ==, WB_STATUS_INVALID);
  g_assert_cmpint (wb_status_from_string (""), ==, WB_STATUS_INVALID);
  g_assert_cmpint (wb_status_from_string (NULL), ==, WB_STATUS_INVALID);
  g_assert_null (wb_status_to_string (WB_STATUS_INVALID));
  g_assert_null (wb_status_to_string (WB_N_STATUSES));
  g_assert_cmpint (wb_status_rank (WB_STATUS_INVALID), ==, -1);
  g_assert_false (wb_status_is_milestone (WB_STATUS_INVALID));
  g_assert_false (wb_status_is_terminal (WB_STATUS_INVALID));
}

static void
test_status_reasons (void)
{
  const char * const required[] = {
    "customs_delay", "address_incorrect", "refused", "damaged", "lost", "recipient_unavailable",
    "weather_delay", "held_by_carrier", "returned", "other",
  };
  const char * const *all = wb_status_list_reasons ();

  for (guint i = 0; i < G_N_ELEMENTS (required); i++)
    {
      g_assert_true (wb_status_reason_is_known (required[i]));
      g_assert_true (g_strv_contains (all, required[i]));
    }
  for (guint i = 0; all[i]; i++)
    g_assert_true (wb_status_reason_is_known (all[i]));
  g_assert_false (wb_status_reason_is_known ("Customs_Delay"));
  g_assert_false (wb_status_reason_is_known ("no_such_reason"));
  g_assert_false (wb_status_reason_is_known (""));
  g_assert_false (wb_status_reason_is_known (NULL));
}

/* ---- status maps -------------------------------------------------------- */

#define STATUS_MAP_HEADER "code\tstatus\treason\tdescription"

static WbStatusMap *
default_map (void)
{
  g_autoptr(GError) error = NULL;
  WbStatusMap *map = wb_status_map_load_default (&error);

  g_assert_no_error (error);
  g_assert_nonnull (map);
  return map;
}

static void
check_every_row (WbStatusMap *map,
                 const char  *file_name)
{
  g_autofree char *carrier = g_strndup (file_name, strlen (file_name) - strlen (".tsv"));
  g_autofree char *path = data_path ("status-maps", file_name);
  g_autoptr(GPtrArray) rows = read_tsv_rows (path, STATUS_MAP_HEADER);
  g_auto(GStrv) codes = wb_status_map_list_codes (map, carrier);

  g_assert_nonnull (codes);
  g_assert_cmpuint (g_strv_length (codes), ==, rows->len);
  for (guint i = 0; i < rows->len; i++)
    {
      char **row = g_ptr_array_index (rows, i);
      g_autoptr(GError) error = NULL;
      WbStatus status = WB_STATUS_INVALID;
      const char *reason = "unset";

      g_test_message ("%s: %s", carrier, row[0]);
      g_assert_cmpuint (g_strv_length (row), ==, 4);
      g_assert_cmpint (wb_status_from_string (row[1]), !=, WB_STATUS_INVALID);
      g_assert_true (row[2][0] == '\0' || wb_status_reason_is_known (row[2]));

      g_assert_true (wb_status_map_lookup (map, carrier, row[0], &status, &reason, &error));
      g_assert_no_error (error);
      g_assert_cmpstr (wb_status_to_string (status), ==, row[1]);
      g_assert_cmpstr (reason, ==, row[2][0] ? row[2] : NULL);
      g_assert_cmpstr (wb_status_map_describe (map, carrier, row[0]), ==, row[3][0] ? row[3] : NULL);
      g_assert_true (g_strv_contains ((const char * const *) codes, row[0]));
    }
}

/* Every table in data/status-maps/ is compiled in (none forgotten in the
 * resource list) and every one of its rows maps exactly as written. */
static void
test_status_map_every_row (void)
{
  g_autoptr(WbStatusMap) map = default_map ();
  g_autoptr(GPtrArray) files = list_source_files ("status-maps", ".tsv");
  g_auto(GStrv) carriers = wb_status_map_list_carriers (map);

  g_assert_cmpuint (g_strv_length (carriers), ==, files->len);
  for (guint i = 0; i < files->len; i++)
    check_every_row (map, g_ptr_array_index (files, i));
}

static void
assert_maps_to (WbStatusMap *map,
                const char  *carrier,
                const char  *code,
                WbStatus     want_status,
                const char  *want_reason)
{
  g_autoptr(GError) error = NULL;
  WbStatus status;
  const char *reason;

  g_test_message ("%s: %s", carrier, code);
  g_assert_true (wb_status_map_lookup (map, carrier, code, &status, &reason, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (wb_status_to_string (status), ==, wb_status_to_string (want_status));
  g_assert_cmpstr (reason, ==, want_reason);
}

/* The codes docs and the brief name: DHL's unified statusCode values, the
 * UPU EMSEVT events, and the generic table's canonical names. */
static void
test_status_map_required_codes (void)
{
  g_autoptr(WbStatusMap) map = default_map ();
  g_auto(GStrv) carriers = wb_status_map_list_carriers (map);
  const char * const dhl_codes[] = { "pre-transit", "transit", "delivered", "failure", "unknown" };
  const char * const post_codes[] = { "EMA", "EMB", "EMC", "EMD", "EME", "EMF", "EMG", "EMH", "EMI" };

  for (guint i = 0; i < G_N_ELEMENTS (dhl_codes); i++)
    g_assert_true (wb_status_map_lookup (map, "dhl", dhl_codes[i], NULL, NULL, NULL));
  for (guint i = 0; i < G_N_ELEMENTS (post_codes); i++)
    g_assert_true (wb_status_map_lookup (map, "post", post_codes[i], NULL, NULL, NULL));
  for (int s = 0; s < WB_N_STATUSES; s++)
    assert_maps_to (map, "generic", wb_status_to_string (s), s, NULL);

  g_assert_true (g_strv_contains ((const char * const *) carriers, "dhl"));
  g_assert_true (g_strv_contains ((const char * const *) carriers, "generic"));
  g_assert_true (g_strv_contains ((const char * const *) carriers, "post"));

  assert_maps_to (map, "dhl", "transit", WB_STATUS_IN_TRANSIT, NULL);
  assert_maps_to (map, "dhl", "unknown", WB_STATUS_PENDING, NULL);
  assert_maps_to (map, "post", "EMI", WB_STATUS_DELIVERED, NULL);
  assert_maps_to (map, "post", "EME", WB_STATUS_EXCEPTION, "customs_delay");
  assert_maps_to (map, "generic", "delivered", WB_STATUS_DELIVERED, NULL);
  assert_maps_to (map, "generic", "in transit", WB_STATUS_IN_TRANSIT, NULL);
  assert_maps_to (map, "generic", "out for delivery", WB_STATUS_OUT_FOR_DELIVERY, NULL);
}

/* Case and separators do not matter, in codes or carrier names. */
static void
test_status_map_folding (void)
{
  g_autoptr(WbStatusMap) map = default_map ();

  assert_maps_to (map, "generic", "Out-For_Delivery", WB_STATUS_OUT_FOR_DELIVERY, NULL);
  assert_maps_to (map, "generic", "  out   for  delivery ", WB_STATUS_OUT_FOR_DELIVERY, NULL);
  assert_maps_to (map, "generic", "In-Transit", WB_STATUS_IN_TRANSIT, NULL);
  assert_maps_to (map, "generic", "RECIPIENT_NOT_HOME", WB_STATUS_FAILED_ATTEMPT, "recipient_unavailable");
  assert_maps_to (map, "dhl", "PRE_TRANSIT", WB_STATUS_INFO_RECEIVED, NULL);
  assert_maps_to (map, "dhl", "wc", WB_STATUS_OUT_FOR_DELIVERY, NULL);
  assert_maps_to (map, "DHL", "OK", WB_STATUS_DELIVERED, NULL);
  assert_maps_to (map, "post", "emi", WB_STATUS_DELIVERED, NULL);
}

static void
test_status_map_unknown (void)
{
  g_autoptr(WbStatusMap) map = default_map ();
  g_autoptr(GError) error = NULL;
  WbStatus status = WB_STATUS_EXPIRED;

  g_assert_false (wb_status_map_lookup (map, "acme-express", "OK", &status, NULL, &error));
  g_assert_error (error, WB_STATUS_MAP_ERROR, WB_STATUS_MAP_ERROR_UNKNOWN_CARRIER);
  g_assert_nonnull (strstr (error->message, "acme-express"));
  g_assert_cmpint (status, ==, WB_STATUS_EXPIRED);
  g_clear_error (&error);

  g_assert_false (wb_status_map_lookup (map, "dhl", "XYZZY", &status, NULL, &error));
  g_assert_error (error, WB_STATUS_MAP_ERROR, WB_STATUS_MAP_ERROR_UNKNOWN_CODE);
  g_assert_nonnull (strstr (error->message, "XYZZY"));
  g_assert_nonnull (strstr (error->message, "dhl"));
  g_clear_error (&error);

  g_assert_false (wb_status_map_lookup (map, "dhl", "", NULL, NULL, &error));
  g_assert_error (error, WB_STATUS_MAP_ERROR, WB_STATUS_MAP_ERROR_UNKNOWN_CODE);
  g_assert_null (wb_status_map_describe (map, "dhl", "XYZZY"));
  g_assert_null (wb_status_map_list_codes (map, "acme-express"));
}

static void
test_status_map_from_data (void)
{
  const char *text =
    "# a small table\r\n"
    "\r\n"
    STATUS_MAP_HEADER "\r\n"
    "A1\tIN_TRANSIT\t\tMoving\r\n"
    "  # an indented comment\n"
    "X9\tEXCEPTION\tlost\t\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(WbStatusMap) map = wb_status_map_load_from_data ("acme", text, &error);
  g_autoptr(WbStatusMap) second = NULL;
  g_auto(GStrv) carriers = NULL;
  g_auto(GStrv) codes = NULL;

  g_assert_no_error (error);
  carriers = wb_status_map_list_carriers (map);
  g_assert_cmpstrv (carriers, ((const char * const []) { "acme", NULL }));
  codes = wb_status_map_list_codes (map, "acme");
  g_assert_cmpstrv (codes, ((const char * const []) { "A1", "X9", NULL }));
  assert_maps_to (map, "acme", "A1", WB_STATUS_IN_TRANSIT, NULL);
  assert_maps_to (map, "acme", "x9", WB_STATUS_EXCEPTION, "lost");
  g_assert_cmpstr (wb_status_map_describe (map, "acme", "A1"), ==, "Moving");
  g_assert_null (wb_status_map_describe (map, "acme", "X9"));

  /* Shared references: the map outlives the first owner. */
  second = wb_status_map_ref (map);
  g_clear_pointer (&map, wb_status_map_unref);
  assert_maps_to (second, "acme", "A1", WB_STATUS_IN_TRANSIT, NULL);
  g_assert_true (G_TYPE_IS_BOXED (WB_TYPE_STATUS_MAP));
}

typedef struct
{
  const char *name;
  const char *text;
  const char *message_part;   /* the line number and what is wrong */
} MalformedCase;

static const MalformedCase malformed_cases[] = {
  { "bad-status", "# c\n" STATUS_MAP_HEADER "\nA\tIN_TRANSIT\t\t\nB\tIN-TRANSIT\t\t\n",
    "line 4: “IN-TRANSIT” is not a canonical status" },
  { "lower-case-status", STATUS_MAP_HEADER "\nA\tdelivered\t\t\n", "line 2: “delivered” is not a canonical status" },
  { "missing-column", STATUS_MAP_HEADER "\nA\tIN_TRANSIT\t\t\nB\tDELIVERED\t\n",
    "line 3: 3 TAB-separated fields; expected 4" },
  { "extra-column", STATUS_MAP_HEADER "\nA\tDELIVERED\t\tx\ty\n", "line 2: 5 TAB-separated fields; expected 4" },
  { "spaces-not-tabs", STATUS_MAP_HEADER "\nA DELIVERED  x\n", "line 2: 1 TAB-separated fields" },
  { "duplicate-code", STATUS_MAP_HEADER "\nPU\tIN_TRANSIT\t\t\n\nPU\tDELIVERED\t\t\n",
    "line 4: code “PU” is already mapped on line 2" },
  { "duplicate-folded", STATUS_MAP_HEADER "\nin transit\tIN_TRANSIT\t\t\nIn-Transit\tIN_TRANSIT\t\t\n",
    "line 3: code “In-Transit” is already mapped on line 2" },
  { "unknown-reason", STATUS_MAP_HEADER "\nA\tEXCEPTION\tstolen_by_pirates\t\n",
    "line 2: “stolen_by_pirates” is not a known reason code" },
  { "empty-code", STATUS_MAP_HEADER "\n \tEXCEPTION\t\t\n", "line 2: the code is empty" },
  { "wrong-header", "code\tstatus\tdescription\nA\tDELIVERED\tx\n", "line 1: expected the header line" },
  { "no-header", "# only a comment\n\n", "no header line" },
  { "empty", "", "no header line" },
};

static void
test_status_map_malformed (gconstpointer data)
{
  const MalformedCase *c = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(WbStatusMap) map = wb_status_map_load_from_data ("acme", c->text, &error);

  g_assert_null (map);
  g_assert_error (error, WB_STATUS_MAP_ERROR, WB_STATUS_MAP_ERROR_PARSE);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, c->message_part));
  g_assert_nonnull (strstr (error->message, "acme"));
}

static void
test_status_map_bad_carrier_name (void)
{
  g_autoptr(GError) error = NULL;

  g_assert_null (wb_status_map_load_from_data ("ACME", STATUS_MAP_HEADER "\n", &error));
  g_assert_error (error, WB_STATUS_MAP_ERROR, WB_STATUS_MAP_ERROR_PARSE);
  g_clear_error (&error);
  g_assert_null (wb_status_map_load_from_data ("", STATUS_MAP_HEADER "\n", &error));
  g_assert_error (error, WB_STATUS_MAP_ERROR, WB_STATUS_MAP_ERROR_PARSE);
}

static gpointer
lookup_many (gpointer data)
{
  WbStatusMap *map = data;

  for (int i = 0; i < 20000; i++)
    {
      WbStatus status;

      if (!wb_status_map_lookup (map, "post", i % 2 ? "EMI" : "edg", &status, NULL, NULL))
        return GINT_TO_POINTER (FALSE);
      if (status != (i % 2 ? WB_STATUS_DELIVERED : WB_STATUS_OUT_FOR_DELIVERY))
        return GINT_TO_POINTER (FALSE);
    }
  return GINT_TO_POINTER (TRUE);
}

/* One loaded map serves every pool thread at once. */
static void
test_status_map_threads (void)
{
  g_autoptr(WbStatusMap) map = default_map ();
  GThread *threads[4];

  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("lookup", lookup_many, wb_status_map_ref (map));
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    g_assert_true (GPOINTER_TO_INT (g_thread_join (threads[i])));
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    wb_status_map_unref (map);
}

/* ---- phone numbers ------------------------------------------------------ */

typedef struct
{
  const char *input;
  const char *country;
  const char *e164;
} PhoneCase;

static const PhoneCase phone_cases[] = {
  { "+375 29 123-45-67", NULL, "+375291234567" },
  { "+375(29)1234567", NULL, "+375291234567" },
  { "00375291234567", NULL, "+375291234567" },
  { "8 029 123 45 67", "BY", "+375291234567" },
  { "8 (029) 123-45-67", "by", "+375291234567" },
  { "+375 29 123-45-67", "RU", "+375291234567" },
  { "  +375.29.123.45.67\t", NULL, "+375291234567" },
  { "+44 (0)20 7946 0958", NULL, "+442079460958" },
  { "020 7946 0958", "GB", "+442079460958" },
  { "(212) 555-0123", "US", "+12125550123" },
  { "1 212 555 0123", "US", "+12125550123" },
  { "+1.212.555.0123", NULL, "+12125550123" },
  { "06 12 34 56 78", "FR", "+33612345678" },
  { "8 912 345-67-89", "RU", "+79123456789" },
  { "+7 912 345 67 89", NULL, "+79123456789" },
  { "06 30 123 4567", "HU", "+36301234567" },
  { "312 345 6789", "IT", "+393123456789" },
  { "06 1234 5678", "IT", "+390612345678" },
  { "+49 30 1234567", NULL, "+49301234567" },
  { "0049 (30) 1234567", NULL, "+49301234567" },
  /* The international form without its "+", where a national reading is
   * implausible (a trunk prefix missing, the calling code, full length). */
  { "375291234567", "BY", "+375291234567" },
  { "375 (29) 123-45-67", "by", "+375291234567" },
  { "79123456789", "RU", "+79123456789" },
  { "77012345678", "RU", "+77012345678" },
  { "447946095812", "GB", "+447946095812" },
  /* … and where it is not: too short, or the country has no trunk prefix. */
  { "7012345678", "RU", "+77012345678" },
  { "3931234567", "IT", "+393931234567" },
  { "12125550123", "US", "+12125550123" },
};

static void
test_phone_normalize (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (phone_cases); i++)
    {
      const PhoneCase *c = &phone_cases[i];
      g_autoptr(GError) error = NULL;
      g_autofree char *e164 = NULL;

      g_test_message ("%s (%s)", c->input, c->country ? c->country : "no country");
      e164 = wb_phone_normalize (c->input, c->country, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (e164, ==, c->e164);
    }
}

typedef struct
{
  const char *input;
  const char *country;
  const char *message_part;
} PhoneErrorCase;

static const PhoneErrorCase phone_error_cases[] = {
  { "", NULL, "has no digits" },
  { " - ( ) ", "BY", "has no digits" },
  { "+375 29 abc", NULL, "contains “a”" },
  { "+375 29 123-45-67 ext. 5", NULL, "contains “e”" },
  { "29 123+4567", "BY", "contains “+”" },
  { "+375 29 12З4567", NULL, "contains “З”" },
  { "291234567", NULL, "no country code" },
  { "291234567", "ZZ", "“ZZ” is not a country" },
  { "291234567", "BLR", "“BLR” is not a country" },
  { "+375 29", NULL, "has 5 digits with its country code; E.164 numbers have 8 to 15" },
  { "+1 234 567 890 123 456", NULL, "has 16 digits" },
  { "+999 1234 5678", NULL, "+99912345678 starts with no known country calling code" },
  { "+0 1234 5678", NULL, "no known country calling code" },
  { "\xff\xfe", NULL, "not UTF-8" },
};

static void
test_phone_invalid (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (phone_error_cases); i++)
    {
      const PhoneErrorCase *c = &phone_error_cases[i];
      g_autoptr(GError) error = NULL;
      g_autofree char *e164 = NULL;

      g_test_message ("case %u: %s", i, c->message_part);
      e164 = wb_phone_normalize (c->input, c->country, &error);
      g_assert_null (e164);
      g_assert_error (error, WB_PHONE_ERROR, WB_PHONE_ERROR_INVALID);
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, c->message_part));
    }
}

/* Every row of data/calling-codes.tsv: the code is compiled in, known for
 * international numbers, and each trunk prefix is dropped from national ones. */
static void
test_phone_calling_code_table (void)
{
  g_autofree char *path = data_path ("calling-codes.tsv", NULL);
  g_autoptr(GPtrArray) rows = read_tsv_rows (path, "country\tcode\ttrunk\tname");

  g_assert_cmpuint (rows->len, >=, 200);
  for (guint i = 0; i < rows->len; i++)
    {
      char **row = g_ptr_array_index (rows, i);
      g_autofree char *want = g_strconcat ("+", row[1], "23456789", NULL);
      g_autofree char *international = NULL;
      g_autofree char *national = NULL;
      g_auto(GStrv) trunks = g_strsplit (row[2], ",", -1);

      g_test_message ("%s", row[0]);
      g_assert_cmpuint (g_strv_length (row), ==, 4);
      g_assert_cmpstr (wb_phone_country_calling_code (row[0]), ==, row[1]);
      international = wb_phone_normalize (want, NULL, NULL);
      g_assert_cmpstr (international, ==, want);
      national = wb_phone_normalize ("23456789", row[0], NULL);
      g_assert_cmpstr (national, ==, want);
      for (guint t = 0; trunks[t] && *trunks[t]; t++)
        {
          g_autofree char *dialled = g_strconcat (trunks[t], "23456789", NULL);
          g_autofree char *normalized = wb_phone_normalize (dialled, row[0], NULL);

          g_assert_cmpstr (normalized, ==, want);
        }
    }
  g_assert_null (wb_phone_country_calling_code ("ZZ"));
  g_assert_cmpstr (wb_phone_country_calling_code ("by"), ==, "375");
}

/* ---- carrier times ------------------------------------------------------ */

static gint64
utc_us (int    year,
        int    month,
        int    day,
        int    hour,
        int    minute,
        double seconds)
{
  g_autoptr(GDateTime) dt = g_date_time_new_utc (year, month, day, hour, minute, seconds);

  return g_date_time_to_unix (dt) * G_USEC_PER_SEC + g_date_time_get_microsecond (dt);
}

typedef struct
{
  const char *text;
  const char *zone;
  int         year, month, day, hour, minute;
  double      seconds;        /* of the UTC instant */
  gboolean    guessed;
} TimeCase;

static const TimeCase time_cases[] = {
  { "2026-11-20T10:00:00Z", NULL, 2026, 11, 20, 10, 0, 0, FALSE },
  { "2026-11-20t10:00:00z", "Europe/Minsk", 2026, 11, 20, 10, 0, 0, FALSE },
  { "2026-11-20T10:00:00.123Z", NULL, 2026, 11, 20, 10, 0, 0.123, FALSE },
  { "2026-11-20T13:00:00.123456789+03:00", NULL, 2026, 11, 20, 10, 0, 0.123456, FALSE },
  { "2026-11-20T13:00:00,5+0300", NULL, 2026, 11, 20, 10, 0, 0.5, FALSE },
  { "2026-11-20T13:00+03", NULL, 2026, 11, 20, 10, 0, 0, FALSE },
  { "2026-11-20T05:30:00-04:30", NULL, 2026, 11, 20, 10, 0, 0, FALSE },
  { "2026-11-20 10:00:00Z", NULL, 2026, 11, 20, 10, 0, 0, FALSE },
  { "  2026-11-20T10:00:00Z\n", NULL, 2026, 11, 20, 10, 0, 0, FALSE },
  { "2026-11-20 13:00:00", "Europe/Minsk", 2026, 11, 20, 10, 0, 0, TRUE },
  { "2026-11-20T13:00", "Europe/Minsk", 2026, 11, 20, 10, 0, 0, TRUE },
  { "2026-11-20T13:00:00.250", "Europe/Minsk", 2026, 11, 20, 10, 0, 0.25, TRUE },
  { "2026-11-20 10:00:00", NULL, 2026, 11, 20, 10, 0, 0, TRUE },
  { "2026-11-20 10:00:00", "UTC", 2026, 11, 20, 10, 0, 0, TRUE },
  { "2026-07-01 12:00:00", "Europe/Berlin", 2026, 7, 1, 10, 0, 0, TRUE },
  { "2026-01-01 12:00:00", "Europe/Berlin", 2026, 1, 1, 11, 0, 0, TRUE },
  { "2026-01-01 00:30:00", "America/New_York", 2026, 1, 1, 5, 30, 0, TRUE },
  { "2024-02-29T00:00:00Z", NULL, 2024, 2, 29, 0, 0, 0, FALSE },
  { "2000-02-29T23:59:59Z", NULL, 2000, 2, 29, 23, 59, 59, FALSE },
  { "1969-12-31T23:59:59Z", NULL, 1969, 12, 31, 23, 59, 59, FALSE },
  { "1795168800", "Europe/Minsk", 2026, 11, 20, 10, 0, 0, FALSE },
  { "1795168800000", NULL, 2026, 11, 20, 10, 0, 0, FALSE },
  { "1795168800123", NULL, 2026, 11, 20, 10, 0, 0.123, FALSE },
  { "99999999999", NULL, 5138, 11, 16, 9, 46, 39, FALSE },
  { "100000000000", NULL, 1973, 3, 3, 9, 46, 40, FALSE },
  { "0", NULL, 1970, 1, 1, 0, 0, 0, FALSE },
};

static void
test_time_parse (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (time_cases); i++)
    {
      const TimeCase *c = &time_cases[i];
      g_autoptr(GError) error = NULL;
      gint64 us = 0;
      gboolean guessed = !c->guessed;

      g_test_message ("%s in %s", c->text, c->zone ? c->zone : "UTC");
      g_assert_true (wb_time_parse (c->text, c->zone, &us, &guessed, &error));
      g_assert_no_error (error);
      g_assert_cmpint (us, ==, utc_us (c->year, c->month, c->day, c->hour, c->minute, c->seconds));
      g_assert_cmpint (guessed, ==, c->guessed);
    }
  /* Both outputs are optional. */
  g_assert_true (wb_time_parse ("2026-11-20T10:00:00Z", NULL, NULL, NULL, NULL));
}

typedef struct
{
  const char *text;
  const char *zone;
  const char *message_part;
} TimeErrorCase;

static const TimeErrorCase time_error_cases[] = {
  { "2026-13-01T00:00:00Z", NULL, "month 13 is out of range (1–12)" },
  { "2026-00-01T00:00:00Z", NULL, "month 0 is out of range" },
  { "2026-02-30T00:00:00Z", NULL, "day 30 is out of range for 2026-02 (1–28)" },
  { "2100-02-29T00:00:00Z", NULL, "day 29 is out of range for 2100-02" },
  { "2026-04-31 10:00:00", "Europe/Minsk", "day 31 is out of range for 2026-04 (1–30)" },
  { "2026-11-00T10:00:00Z", NULL, "day 0 is out of range" },
  { "2026-11-20T25:00:00Z", NULL, "hour 25 is out of range (0–23)" },
  { "2026-11-20T24:00:00Z", NULL, "hour 24 is out of range" },
  { "2026-11-20T10:60:00Z", NULL, "minute 60 is out of range" },
  { "2026-11-20T10:00:61Z", NULL, "second 61 is out of range" },
  { "2026-11-20T10:00:00+24:00", NULL, "zone offset +24:00 is out of range" },
  { "2026-11-20T10:00:00+03:60", NULL, "zone offset +03:60 is out of range" },
  { "0000-01-01T00:00:00Z", NULL, "year 0000 is out of range" },
  { "", NULL, "is empty" },
  { "   ", NULL, "is empty" },
  { "yesterday", NULL, "expected a four-digit year at position 1" },
  { "26-11-20T10:00:00Z", NULL, "four-digit year" },
  { "2026/11/20 10:00:00", NULL, "“-” and a two-digit month at position 5" },
  { "2026-11-20", NULL, "it ends where “T” or a space before the time was expected" },
  { "2026-11-20T10", NULL, "“:” and two-digit minutes" },
  { "2026-11-20T10:00:0Z", NULL, "two-digit seconds" },
  { "2026-11-20T10:00:00.Z", NULL, "fraction of a second needs 1 to 9 digits" },
  { "2026-11-20T10:00:00.1234567890Z", NULL, "fraction of a second needs 1 to 9 digits" },
  { "2026-11-20T10:00:00Zjunk", NULL, "expected the end of the time at position 21" },
  { "2026-11-20T10:00:00 UTC", NULL, "a zone (Z or ±HH:MM)" },
  { "2026-11-20T10:00:00+3", NULL, "the zone's hours" },
  { "2026-11-20 10:00:00", "Mars/Olympus_Mons", "“Mars/Olympus_Mons” is not a known time zone" },
  { "253402300800000", NULL, "a unix time must be at most 253402300799999 milliseconds" },
  { "99999999999999999999", NULL, "a unix time must be at most" },
  { "-1795168800", NULL, "four-digit year" },
};

static void
test_time_invalid (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (time_error_cases); i++)
    {
      const TimeErrorCase *c = &time_error_cases[i];
      g_autoptr(GError) error = NULL;
      gint64 us = 42;

      g_test_message ("“%s”", c->text);
      g_assert_false (wb_time_parse (c->text, c->zone, &us, NULL, &error));
      g_assert_error (error, WB_TIME_ERROR, WB_TIME_ERROR_INVALID);
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, c->message_part));
      g_assert_cmpint (us, ==, 42);
    }
}

static void
test_time_format (void)
{
  g_autofree char *epoch = wb_time_format (0);
  g_autofree char *example = wb_time_format (utc_us (2026, 11, 20, 10, 0, 0) + 123456);
  g_autofree char *before_epoch = wb_time_format (-1);
  g_autofree char *leap_day = wb_time_format (utc_us (2024, 2, 29, 23, 59, 59.999));
  g_autofree char *last = wb_time_format (utc_us (9999, 12, 31, 23, 59, 59.999999));

  g_assert_cmpstr (epoch, ==, "1970-01-01T00:00:00.000Z");
  g_assert_cmpstr (example, ==, "2026-11-20T10:00:00.123Z");
  g_assert_cmpstr (before_epoch, ==, "1969-12-31T23:59:59.999Z");
  g_assert_cmpstr (leap_day, ==, "2024-02-29T23:59:59.999Z");
  g_assert_cmpstr (last, ==, "9999-12-31T23:59:59.999Z");

  /* Out of the supported range it still formats, without overflowing. */
  g_clear_pointer (&last, g_free);
  last = wb_time_format (G_MAXINT64);
  g_assert_cmpstr (last, ==, "294247-01-10T04:00:54.775Z");
  g_clear_pointer (&last, g_free);
  last = wb_time_format (G_MININT64);
  g_assert_true (g_str_has_suffix (last, "Z"));
}

/* Checked against GDateTime over the whole supported range, and parsed
 * back to the same millisecond. */
static void
test_time_format_round_trip (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (20261120);
  gint64 min_us = utc_us (1, 1, 1, 0, 0, 0);
  gint64 max_us = utc_us (9999, 12, 31, 23, 59, 59);

  for (int i = 0; i < 20000; i++)
    {
      gint64 us = min_us + (gint64) (g_rand_double (rand) * (double) (max_us - min_us));
      gint64 ms_us = us - ((us % 1000 + 1000) % 1000);
      g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc (0);
      g_autoptr(GDateTime) at = g_date_time_add (dt, ms_us);
      g_autofree char *want = g_strdup_printf ("%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", g_date_time_get_year (at),
                                               g_date_time_get_month (at), g_date_time_get_day_of_month (at),
                                               g_date_time_get_hour (at), g_date_time_get_minute (at),
                                               g_date_time_get_second (at), g_date_time_get_microsecond (at) / 1000);
      g_autofree char *text = wb_time_format (us);
      gint64 parsed = 0;

      g_assert_cmpstr (text, ==, want);
      g_assert_true (wb_time_parse (text, NULL, &parsed, NULL, NULL));
      g_assert_cmpint (parsed, ==, ms_us);
    }
}

/* ---- service levels ----------------------------------------------------- */

static WbSlaTable *
default_sla (void)
{
  g_autoptr(GError) error = NULL;
  WbSlaTable *sla = wb_sla_table_load_default (&error);

  g_assert_no_error (error);
  g_assert_true (WB_IS_SLA_TABLE (sla));
  return sla;
}

static void
test_sla_default (void)
{
  g_autoptr(WbSlaTable) sla = default_sla ();
  g_auto(GStrv) levels = wb_sla_table_list_levels (sla);
  gint64 created = utc_us (2026, 11, 20, 10, 0, 0);

  g_assert_cmpstrv (levels, ((const char * const []) { "same-day", "express", "standard", "economy", NULL }));
  g_assert_true (wb_sla_table_has_level (sla, "standard"));
  g_assert_false (wb_sla_table_has_level (sla, "Standard"));
  g_assert_false (wb_sla_table_has_level (sla, "overnight"));
  g_assert_cmpint (wb_sla_table_promise (sla, "standard", created), ==, created + 72 * HOUR_US);
  g_assert_cmpint (wb_sla_table_promise (sla, "overnight", created), ==, -1);
  g_assert_cmpint (wb_sla_table_get_promise_hours (sla, "overnight"), ==, -1);
}

/* The compiled-in table is exactly data/sla.conf. */
static void
test_sla_matches_source (void)
{
  g_autoptr(WbSlaTable) sla = default_sla ();
  g_autofree char *path = data_path ("sla.conf", NULL);
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) groups = NULL;
  g_auto(GStrv) levels = wb_sla_table_list_levels (sla);

  g_key_file_load_from_file (keyfile, path, G_KEY_FILE_NONE, &error);
  g_assert_no_error (error);
  groups = g_key_file_get_groups (keyfile, NULL);
  g_assert_cmpuint (g_strv_length (groups), ==, g_strv_length (levels));
  for (guint i = 0; groups[i]; i++)
    {
      gint64 hours = g_key_file_get_int64 (keyfile, groups[i], "promise-hours", &error);

      g_assert_no_error (error);
      g_assert_cmpint (wb_sla_table_promise (sla, groups[i], 1000), ==, 1000 + hours * HOUR_US);
    }
}

typedef struct
{
  const char *text;
  const char *message_part;
} SlaErrorCase;

static const SlaErrorCase sla_error_cases[] = {
  { "[express]\ndescription=fast\n", "[express] has no promise-hours" },
  { "[express]\npromise-hours=24\n[slow]\npromise-hours=three days\n", "[slow] promise-hours=three days" },
  { "[express]\npromise-hours=0\n", "[express] promise-hours=0: expected whole hours from 1 to 8784" },
  { "[express]\npromise-hours=-24\n", "[express] promise-hours=-24" },
  { "[express]\npromise-hours=24.5\n", "[express] promise-hours=24.5" },
  { "[express]\npromise-hours=8785\n", "[express] promise-hours=8785" },
  { "# nothing\n", "none defined" },
  { "promise-hours=24\n", "Service levels:" },
};

static void
test_sla_invalid (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (sla_error_cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(WbSlaTable) sla = wb_sla_table_new_from_data (sla_error_cases[i].text, &error);

      g_assert_null (sla);
      g_assert_error (error, WB_SLA_ERROR, WB_SLA_ERROR_PARSE);
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, sla_error_cases[i].message_part));
    }
}

static void
test_sla_from_data (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(WbSlaTable) sla = wb_sla_table_new_from_data ("[b]\npromise-hours=2\n[a]\npromise-hours=2\n"
                                                          "[c]\npromise-hours=1\n", &error);
  g_auto(GStrv) levels = NULL;

  g_assert_no_error (error);
  levels = wb_sla_table_list_levels (sla);
  g_assert_cmpstrv (levels, ((const char * const []) { "c", "a", "b", NULL }));
  g_assert_cmpint (wb_sla_table_promise (sla, "c", 0), ==, HOUR_US);
}

/* ---- message schemas ---------------------------------------------------- */

static JsonObject *
member_object (JsonObject *object,
               const char *first,
               ...) G_GNUC_NULL_TERMINATED;

/* Follows a path of object members; fails the test if one is missing. */
static JsonObject *
member_object (JsonObject *object,
               const char *first,
               ...)
{
  va_list args;

  va_start (args, first);
  for (const char *name = first; name; name = va_arg (args, const char *))
    {
      JsonNode *node = json_object_get_member (object, name);

      g_assert_nonnull (node);
      g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
      object = json_node_get_object (node);
    }
  va_end (args);
  return object;
}

static GPtrArray *
enum_strings (JsonObject *holder)
{
  JsonArray *values = json_object_get_array_member (holder, "enum");
  GPtrArray *strings = g_ptr_array_new ();

  for (guint i = 0; i < json_array_get_length (values); i++)
    {
      JsonNode *node = json_array_get_element (values, i);

      if (!JSON_NODE_HOLDS_NULL (node))
        g_ptr_array_add (strings, (gpointer) json_node_get_string (node));
    }
  g_ptr_array_add (strings, NULL);
  return strings;
}

/* The schemas' status and reason enums are exactly the library's. */
static void
check_enums (JsonObject *status_holder,
             JsonObject *reason_holder)
{
  g_autoptr(GPtrArray) statuses = enum_strings (status_holder);
  g_autoptr(GPtrArray) reasons = NULL;

  g_assert_cmpuint (statuses->len - 1, ==, WB_N_STATUSES);
  for (int s = 0; s < WB_N_STATUSES; s++)
    g_assert_cmpstr (g_ptr_array_index (statuses, s), ==, wb_status_to_string (s));
  if (reason_holder == NULL)
    return;
  reasons = enum_strings (reason_holder);
  g_assert_cmpstrv ((const char * const *) reasons->pdata, wb_status_list_reasons ());
}

static JsonNode *
parse_schema (const char *file_name)
{
  g_autofree char *path = data_path ("schemas", file_name);
  g_autofree char *message_resource = g_strconcat ("/org/waybill/Waybill/schemas/", file_name, NULL);
  g_autofree char *rest_resource = g_strconcat ("/org/waybill/Waybill/openapi/schemas/", file_name, NULL);
  g_autofree char *text = read_text (path);
  g_autoptr(GBytes) compiled = NULL;
  g_autoptr(GError) error = NULL;
  JsonNode *root;
  JsonObject *schema;

  /* Compiled in, byte for byte: a message schema into libwaybill, a REST
   * body's into waybilld's OpenAPI resource. */
  compiled = g_resources_lookup_data (message_resource, G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
  if (compiled == NULL)
    compiled = g_resources_lookup_data (rest_resource, G_RESOURCE_LOOKUP_FLAGS_NONE, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (compiled, NULL), g_bytes_get_size (compiled), text, strlen (text));

  root = json_from_string (text, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
  schema = json_node_get_object (root);
  g_assert_cmpstr (json_object_get_string_member_with_default (schema, "$schema", NULL), ==, DRAFT_2020_12);
  g_assert_true (g_str_has_prefix (json_object_get_string_member_with_default (schema, "$id", ""),
                                   "urn:waybill:schema:"));
  g_assert_true (json_object_has_member (schema, "type") || json_object_has_member (schema, "oneOf"));
  return root;
}

static void
test_schemas_parse (void)
{
  g_autoptr(GPtrArray) files = list_source_files ("schemas", ".json");
  const char * const expected[] = {
    "shipment-create.schema.json", "shipment.schema.json", "status-event.schema.json",
    "tracking.events.schema.json",
  };

  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    g_assert_true (g_ptr_array_find_with_equal_func (files, expected[i], g_str_equal, NULL));
  for (guint i = 0; i < files->len; i++)
    {
      g_autoptr(JsonNode) root = NULL;

      g_test_message ("%s", (char *) g_ptr_array_index (files, i));
      root = parse_schema (g_ptr_array_index (files, i));
    }
}

/* The two message shapes of docs/shipments.md, told apart by "type". */
static void
test_schemas_tracking_events (void)
{
  g_autoptr(JsonNode) root = parse_schema ("tracking.events.schema.json");
  JsonObject *schema = json_node_get_object (root);
  JsonArray *one_of = json_object_get_array_member (schema, "oneOf");
  JsonObject *defs = member_object (schema, "$defs", NULL);
  const char * const types[] = { "shipment.status_changed", "shipment.delayed" };

  g_assert_cmpuint (json_array_get_length (one_of), ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      const char *ref = json_object_get_string_member (json_array_get_object_element (one_of, i), "$ref");
      JsonObject *shape;
      JsonArray *required;

      g_assert_true (g_str_has_prefix (ref, "#/$defs/"));
      shape = member_object (defs, ref + strlen ("#/$defs/"), NULL);
      g_assert_cmpstr (json_object_get_string_member (member_object (shape, "properties", "type", NULL), "const"),
                       ==, types[i]);
      required = json_object_get_array_member (shape, "required");
      for (guint r = 0; r < json_array_get_length (required); r++)
        g_assert_true (json_object_has_member (member_object (shape, "properties", NULL),
                                               json_array_get_string_element (required, r)));
    }
  check_enums (member_object (defs, "status", NULL), member_object (defs, "reason", NULL));
}

static void
test_schemas_enums (void)
{
  g_autoptr(JsonNode) event = parse_schema ("status-event.schema.json");
  g_autoptr(JsonNode) view = parse_schema ("shipment.schema.json");
  JsonObject *properties = member_object (json_node_get_object (event), "properties", NULL);

  check_enums (member_object (properties, "status", NULL), member_object (properties, "reason", NULL));
  check_enums (member_object (json_node_get_object (view), "$defs", "status", NULL), NULL);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/domain/status/table", test_status_table);
  g_test_add_func ("/domain/status/invalid", test_status_invalid);
  g_test_add_func ("/domain/status/reasons", test_status_reasons);

  g_test_add_func ("/domain/status-map/every-row", test_status_map_every_row);
  g_test_add_func ("/domain/status-map/required-codes", test_status_map_required_codes);
  g_test_add_func ("/domain/status-map/folding", test_status_map_folding);
  g_test_add_func ("/domain/status-map/unknown", test_status_map_unknown);
  g_test_add_func ("/domain/status-map/from-data", test_status_map_from_data);
  g_test_add_func ("/domain/status-map/bad-carrier-name", test_status_map_bad_carrier_name);
  g_test_add_func ("/domain/status-map/threads", test_status_map_threads);
  for (guint i = 0; i < G_N_ELEMENTS (malformed_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/domain/status-map/malformed/%s", malformed_cases[i].name);

      g_test_add_data_func (path, &malformed_cases[i], test_status_map_malformed);
    }

  g_test_add_func ("/domain/phone/normalize", test_phone_normalize);
  g_test_add_func ("/domain/phone/invalid", test_phone_invalid);
  g_test_add_func ("/domain/phone/calling-code-table", test_phone_calling_code_table);

  g_test_add_func ("/domain/time/parse", test_time_parse);
  g_test_add_func ("/domain/time/invalid", test_time_invalid);
  g_test_add_func ("/domain/time/format", test_time_format);
  g_test_add_func ("/domain/time/format-round-trip", test_time_format_round_trip);

  g_test_add_func ("/domain/sla/default", test_sla_default);
  g_test_add_func ("/domain/sla/matches-source", test_sla_matches_source);
  g_test_add_func ("/domain/sla/invalid", test_sla_invalid);
  g_test_add_func ("/domain/sla/from-data", test_sla_from_data);

  g_test_add_func ("/domain/schemas/parse", test_schemas_parse);
  g_test_add_func ("/domain/schemas/tracking-events", test_schemas_tracking_events);
  g_test_add_func ("/domain/schemas/enums", test_schemas_enums);

  return g_test_run ();
}
