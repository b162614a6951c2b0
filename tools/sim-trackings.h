// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Most items POST /trackings takes in one request. */
#define WB_SIM_TRACKINGS_MAX_BATCH 1000

typedef struct
{
  const char *api_url;
  const char *token;       /* nullable */
  const char *carrier;
  guint       count;
  double      rate;        /* numbers per second; 0: as fast as answered */
  guint32     first_serial;
} WbSimTrackingsOptions;

typedef struct
{
  guint64 created;
  guint64 existing;
  guint64 rejected;
} WbSimTrackingsCounts;

/* A UPU S10 number (RA…RU) of @serial (below 10^8) with its check digit. */
char     *wb_sim_s10_number     (guint32                      serial);
/* Posts @count numbers, consecutive serials from first_serial, in batches;
 * stops at the first request the API does not answer 200. */
gboolean  wb_sim_trackings_run  (const WbSimTrackingsOptions *options,
                                 WbSimTrackingsCounts        *out_counts,
                                 GError                     **error);

/* `waybill-sim demo`: plausible numbers per carrier, seeded as scenarios
 * at the carrier emulator, then added to the API in batches at a rate. */
typedef struct
{
  const char         *api_url;
  const char         *emulator_url;
  const char         *token;        /* nullable */
  const char * const *carriers;     /* carrier codes, at least one */
  guint               count;        /* numbers in all, spread over the carriers */
  guint               batch;        /* numbers a request */
  double              rate;         /* numbers per second; 0: as fast as answered */
  guint32             seed;
  double              step;         /* seconds a status lasts; 0: 5 to 14, spread */
  gboolean            progress;     /* a progress line on stderr */
} WbSimDemoOptions;

/* A plausible number of @carrier: S10 for POST_RU, ten digits otherwise. */
char     *wb_sim_demo_number    (const char                  *carrier,
                                 guint32                      serial);
/* Seeds the emulator, then adds the numbers; stops at the first request
 * either answers with other than 200. */
gboolean  wb_sim_demo_run       (const WbSimDemoOptions      *options,
                                 WbSimTrackingsCounts        *out_counts,
                                 GError                     **error);

G_END_DECLS
