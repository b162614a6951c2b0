// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* How the emulator's 429 says when to come back. */
typedef enum
{
  WB_EMULATOR_RETRY_AFTER_SECONDS,
  WB_EMULATOR_RETRY_AFTER_DATE,
  WB_EMULATOR_RETRY_AFTER_NONE,
} WbEmulatorRetryAfter;

typedef struct
{
  guint64 requests;     /* every request that reached a tracking route */
  guint64 served;       /* answered 200 */
  guint64 refused;      /* answered 429 */
  guint64 faults;       /* answered 5xx or a malformed body on purpose */
} WbEmulatorCounts;

#define WB_TYPE_CARRIER_EMULATOR (wb_carrier_emulator_get_type ())

G_DECLARE_FINAL_TYPE (WbCarrierEmulator, wb_carrier_emulator, WB, CARRIER_EMULATOR, GObject)

/**
 * WbCarrierEmulator:
 *
 * A carrier API for demos, tests and benchmarks (the server behind the
 * `emulator` driver): GET /v1/tracking/{carrier}/{trackNumber}?apiKey=…
 * answers the events of a scenario that moves on with the clock, a seeded
 * one or one generated for an unknown number. Per API key it enforces a
 * rate (token bucket) and a daily quota, answering 429 with Retry-After in
 * seconds, as an HTTP-date, or without it; it can inject 5xx, slow answers
 * and malformed bodies; and it counts and timestamps every request, so a
 * caller can prove it stayed within the limits. Serves on the
 * thread-default main context of wb_carrier_emulator_listen().
 */
WbCarrierEmulator *wb_carrier_emulator_new          (void);
/* rate 0 = unlimited; daily_quota 0 = none. */
void               wb_carrier_emulator_set_limits   (WbCarrierEmulator    *self,
                                                     double                rate,
                                                     guint                 burst,
                                                     guint                 daily_quota,
                                                     WbEmulatorRetryAfter  retry_after);
/* Shares in [0, 1] of answers that are 503 or malformed; delay per answer. */
void               wb_carrier_emulator_set_faults   (WbCarrierEmulator    *self,
                                                     double                error_share,
                                                     double                malformed_share,
                                                     guint                 delay_ms);
/* The next @n requests answer 429 whatever the limits. */
void               wb_carrier_emulator_refuse_next  (WbCarrierEmulator    *self,
                                                     guint                 n);
/* Scenario step for numbers nobody seeded: each status lasts this long. */
void               wb_carrier_emulator_set_step     (WbCarrierEmulator    *self,
                                                     gint64                step_us);
/* A scenario: @codes (generic status words) one @step_us apart, from the
 * first request for the number on. */
void               wb_carrier_emulator_seed         (WbCarrierEmulator    *self,
                                                     const char           *carrier,
                                                     const char           *track_number,
                                                     const char * const   *codes,
                                                     gint64                step_us);
/* On a free loopback (IPv4) port. */
guint              wb_carrier_emulator_listen       (WbCarrierEmulator    *self,
                                                     GError              **error);
guint              wb_carrier_emulator_listen_address (WbCarrierEmulator  *self,
                                                     GSocketAddress       *address,
                                                     GError              **error);
void               wb_carrier_emulator_get_counts   (WbCarrierEmulator    *self,
                                                     WbEmulatorCounts     *out_counts);
/* The most requests that arrived within any window of @window_us. */
guint              wb_carrier_emulator_max_in_window (WbCarrierEmulator  *self,
                                                     gint64                window_us);
/* Requests for one number so far. */
guint              wb_carrier_emulator_get_requests_for (WbCarrierEmulator *self,
                                                     const char           *carrier,
                                                     const char           *track_number);
/* Arrival times (monotonic µs) of every request, in order; a copy. */
GArray            *wb_carrier_emulator_dup_arrivals (WbCarrierEmulator    *self);
void               wb_carrier_emulator_stop         (WbCarrierEmulator    *self);

G_END_DECLS
