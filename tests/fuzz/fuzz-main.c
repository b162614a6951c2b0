// SPDX-License-Identifier: GPL-3.0-or-later
/* A stand-in for libFuzzer where there is none (gcc builds, CI): feeds
 * LLVMFuzzerTestOneInput every seed input, then deterministic random
 * mutations of them until a run or time budget is spent. No coverage
 * guidance, so it finds less than libFuzzer, but it runs everywhere, and
 * under ASan/UBSan a bad read or a leak anywhere it reaches fails the test.
 *
 *   fuzz-<target> [--runs N] [--seconds S] [--seed N] CORPUS_DIR_OR_FILE…
 *
 * A crashing input is written to fuzz-crash-<target>.bin in the current
 * directory; give that file as the only argument with --runs 0 to replay. */

#include "config.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz-common.h"

#define FUZZ_MAX_INPUT (96 * 1024)

/* Sanitizer runtimes call this before they exit on an error; without a
 * sanitizer the weak symbol is NULL. */
extern void __sanitizer_set_death_callback (void (*callback) (void)) __attribute__ ((weak));

static const guint8 *current_input;
static size_t current_size;
static char crash_path[256];

/* Async-signal-safe: open, write, close only. */
static void
save_current_input (void)
{
  int fd;

  if (current_input == NULL)
    return;
  fd = open (crash_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0)
    {
      if (write (fd, current_input, current_size) < 0)
        {
          /* Nothing more can be done from here. */
        }
      close (fd);
    }
  if (write (STDERR_FILENO, "fuzz: the crashing input is in ", 31) < 0
      || write (STDERR_FILENO, crash_path, strlen (crash_path)) < 0
      || write (STDERR_FILENO, "\n", 1) < 0)
    {
      /* As above. */
    }
  current_input = NULL;
}

static void
on_fatal_signal (int signal_number)
{
  save_current_input ();
  signal (signal_number, SIG_DFL);
  raise (signal_number);
}

static void
install_crash_handlers (const char *program)
{
  const int signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
  g_autofree char *base = g_path_get_basename (program);

  g_snprintf (crash_path, sizeof crash_path, "fuzz-crash-%s.bin", base);
  for (guint i = 0; i < G_N_ELEMENTS (signals); i++)
    signal (signals[i], on_fatal_signal);
  if (__sanitizer_set_death_callback != NULL)
    __sanitizer_set_death_callback (save_current_input);
}

static void
run_one (const guint8 *data,
         size_t        size)
{
  /* A copy of exactly @size bytes, so that a read past the end is caught;
   * never NULL, as with libFuzzer. */
  g_autofree guint8 *exact = g_malloc (MAX (size, 1));

  if (size > 0)
    memcpy (exact, data, size);

  current_input = exact;
  current_size = size;
  LLVMFuzzerTestOneInput (exact, size);
  current_input = NULL;
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

static void
load_path (const char *path,
           GPtrArray  *corpus)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GPtrArray) names = NULL;
  const char *name;
  char *contents;
  gsize length;

  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      if (!g_file_get_contents (path, &contents, &length, &error))
        g_error ("%s", error->message);
      g_ptr_array_add (corpus, g_bytes_new_take (contents, length));
      return;
    }
  dir = g_dir_open (path, 0, &error);
  if (dir == NULL)
    g_error ("%s", error->message);
  names = g_ptr_array_new_with_free_func (g_free);
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_build_filename (path, name, NULL));
  /* Directory order differs between file systems; a run must not. */
  g_ptr_array_sort (names, compare_names);
  for (guint i = 0; i < names->len; i++)
    {
      const char *file = g_ptr_array_index (names, i);

      if (g_file_test (file, G_FILE_TEST_IS_REGULAR))
        load_path (file, corpus);
    }
}

/* ---- mutations ------------------------------------------------------------------ */

static const guint8 interesting_bytes[] = {
  0x00, 0x01, 0x02, 0x0f, 0x10, 0x7f, 0x80, 0x8e, 0xfe, 0xff, '"', '\\', '{', '}', '[', ']', ',', ':', '&', '=',
  '%', '+', '-', '.', 'e', 'T', ' ', '0', '9',
};

static const guint32 interesting_integers[] = {
  0, 1, 2, 3, 14, 15, 16, 17, 127, 128, 255, 256, 0x7fff, 0x8000, 0xffff, 0x10000, 0x10001, 0x7fffffff,
  0x80000000, 0xffffffff,
};

static const char * const tokens[] = {
  "null", "true", "false", "-1", "0", "1e999", "-0.0", "1.5", "9223372036854775808", "\"\"", "{}", "[]",
  "\\u0000", "\\ud800", "%00", "%FF", "&", "=", "+", "T", "Z", "+03:00", "1560161086", "1560161086000",
  "2019-06-10T10:04:46Z", "2019-06-10 10:04:46", "\"deviceId\":", "\"lat\":", "\"timestamp\":",
  "\"location\":", "\"coords\":", "\"attributes\":", "lat=", "lon=", "id=", "location=", "timestamp=",
};

/* @data must not point into @input. */
static void
insert_bytes (GByteArray   *input,
              guint         position,
              const guint8 *data,
              guint         length)
{
  guint tail = input->len - position;

  g_byte_array_set_size (input, input->len + length);
  memmove (input->data + position + length, input->data + position, tail);
  memcpy (input->data + position, data, length);
}

static void
mutate_bytes (GByteArray *input,
              GRand      *rand)
{
  guint position = input->len ? g_rand_int_range (rand, 0, input->len) : 0;

  switch (g_rand_int_range (rand, 0, 4))
    {
    case 0:
      if (input->len)
        input->data[position] ^= 1 << g_rand_int_range (rand, 0, 8);
      break;
    case 1:
      if (input->len)
        input->data[position] = g_rand_int_range (rand, 0, 256);
      break;
    case 2:
      if (input->len)
        input->data[position] = interesting_bytes[g_rand_int_range (rand, 0, G_N_ELEMENTS (interesting_bytes))];
      break;
    default:
      {
        guint8 byte = g_rand_int_range (rand, 0, 256);

        insert_bytes (input, position, &byte, 1);
      }
    }
}

/* A big-endian 1, 2 or 4-byte integer: what Teltonika's lengths and counts are. */
static void
mutate_integer (GByteArray *input,
                GRand      *rand)
{
  guint width = 1 << g_rand_int_range (rand, 0, 3);
  guint32 value = interesting_integers[g_rand_int_range (rand, 0, G_N_ELEMENTS (interesting_integers))];
  guint position;

  if (input->len < width)
    return;
  position = g_rand_int_range (rand, 0, input->len - width + 1);
  for (guint i = 0; i < width; i++)
    input->data[position + i] = value >> (8 * (width - 1 - i));
}

static void
mutate_range (GByteArray *input,
              GRand      *rand)
{
  guint start, length;

  if (input->len == 0)
    return;
  start = g_rand_int_range (rand, 0, input->len);
  length = g_rand_int_range (rand, 1, MIN (16, input->len - start) + 1);
  switch (g_rand_int_range (rand, 0, 3))
    {
    case 0:
      g_byte_array_remove_range (input, start, length);
      break;
    case 1:
      g_byte_array_set_size (input, start);
      break;
    default:
      {
        g_autofree guint8 *chunk = g_memdup2 (input->data + start, length);

        insert_bytes (input, g_rand_int_range (rand, 0, input->len + 1), chunk, length);
      }
    }
}

static void
mutate_token (GByteArray *input,
              GRand      *rand)
{
  const char *token = tokens[g_rand_int_range (rand, 0, G_N_ELEMENTS (tokens))];

  insert_bytes (input, g_rand_int_range (rand, 0, input->len + 1), (const guint8 *) token, strlen (token));
}

/* The tail of another input after a cut of this one. */
static void
mutate_splice (GByteArray *input,
               GPtrArray  *corpus,
               GRand      *rand)
{
  GBytes *other = g_ptr_array_index (corpus, g_rand_int_range (rand, 0, corpus->len));
  gsize other_size;
  const guint8 *other_data = g_bytes_get_data (other, &other_size);
  guint cut = input->len ? g_rand_int_range (rand, 0, input->len) : 0;
  guint from = other_size ? g_rand_int_range (rand, 0, other_size) : 0;

  g_byte_array_set_size (input, cut);
  g_byte_array_append (input, other_data + from, other_size - from);
}

static void
mutate (GByteArray *input,
        GPtrArray  *corpus,
        GRand      *rand)
{
  guint count = g_rand_int_range (rand, 1, 5);

  for (guint i = 0; i < count; i++)
    {
      switch (g_rand_int_range (rand, 0, 10))
        {
        case 0: case 1: case 2: case 3: mutate_bytes (input, rand); break;
        case 4: case 5: mutate_integer (input, rand); break;
        case 6: case 7: mutate_range (input, rand); break;
        case 8: mutate_token (input, rand); break;
        default: mutate_splice (input, corpus, rand); break;
        }
    }
  if (input->len > FUZZ_MAX_INPUT)
    g_byte_array_set_size (input, FUZZ_MAX_INPUT);
}

static guint64
parse_number (const char *option,
              const char *text)
{
  guint64 value;
  g_autoptr(GError) error = NULL;

  if (text == NULL || !g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT32, &value, &error))
    {
      g_printerr ("%s needs a number\n", option);
      exit (2);
    }
  return value;
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GPtrArray) corpus = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr(GRand) rand = NULL;
  g_autoptr(GByteArray) input = g_byte_array_new ();
  guint64 runs = 1000000, seconds = 2, seed = 1, done = 0;
  gint64 deadline;

  for (int i = 1; i < argc; i++)
    {
      if (g_str_equal (argv[i], "--runs"))
        runs = parse_number (argv[i], argv[i + 1]), i++;
      else if (g_str_equal (argv[i], "--seconds"))
        seconds = parse_number (argv[i], argv[i + 1]), i++;
      else if (g_str_equal (argv[i], "--seed"))
        seed = parse_number (argv[i], argv[i + 1]), i++;
      else
        load_path (argv[i], corpus);
    }
  if (corpus->len == 0)
    {
      g_printerr ("usage: %s [--runs N] [--seconds S] [--seed N] CORPUS_DIR_OR_FILE…\n", argv[0]);
      return 2;
    }
  install_crash_handlers (argv[0]);

  for (guint i = 0; i < corpus->len; i++)
    run_one (g_bytes_get_data (g_ptr_array_index (corpus, i), NULL),
             g_bytes_get_size (g_ptr_array_index (corpus, i)));

  rand = g_rand_new_with_seed (seed);
  deadline = g_get_monotonic_time () + seconds * G_USEC_PER_SEC;
  for (done = 0; done < runs; done++)
    {
      GBytes *start = g_ptr_array_index (corpus, g_rand_int_range (rand, 0, corpus->len));

      /* Now and then keep mutating the last mutant: several steps away
       * from any seed. */
      if (input->len == 0 || g_rand_int_range (rand, 0, 4) != 0)
        {
          g_byte_array_set_size (input, 0);
          g_byte_array_append (input, g_bytes_get_data (start, NULL), g_bytes_get_size (start));
        }
      mutate (input, corpus, rand);
      run_one (input->data, input->len);
      if (done % 256 == 0 && g_get_monotonic_time () > deadline)
        break;
    }
  g_print ("%s: %u seed inputs and %" G_GUINT64_FORMAT " mutations (seed %" G_GUINT64_FORMAT "), no failure\n",
           argv[0], corpus->len, done, seed);
  return 0;
}
