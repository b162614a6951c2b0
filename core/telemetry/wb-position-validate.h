// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "wb-position.h"

G_BEGIN_DECLS

/* Why a position was refused; the strings are metrics labels. */
typedef enum
{
  WB_REJECT_NONE,
  WB_REJECT_MISSING_DEVICE,     /* "missing_device" */
  WB_REJECT_MISSING_TIME,       /* "missing_time" */
  WB_REJECT_INVALID_LATITUDE,   /* "invalid_latitude": outside [-90, 90] or unknown */
  WB_REJECT_INVALID_LONGITUDE,  /* "invalid_longitude": outside [-180, 180] or unknown */
  WB_REJECT_NULL_ISLAND,        /* "null_island": exactly (0, 0), a tracker without a fix */
  WB_REJECT_FUTURE,             /* "future": more than WB_POSITION_MAX_AHEAD_US ahead of now */
  WB_REJECT_TOO_OLD,            /* "too_old": older than the configured age */
  WB_REJECT_SPEED,              /* "speed": WB_POSITION_MAX_SPEED_KMH or more */
  WB_REJECT_DUPLICATE,          /* "duplicate": same device and device time as an earlier one */
  WB_N_REJECT_REASONS,
} WbRejectReason;

#define WB_POSITION_MAX_AHEAD_US  (G_GINT64_CONSTANT (5) * 60 * G_USEC_PER_SEC)
#define WB_POSITION_MAX_SPEED_KMH 1000.0

const char *wb_reject_reason_to_string (WbRejectReason reason);

/* The stateless rules, in the order of the enum. @max_age_us 0 accepts any
 * age. On refusal @out_reason says why and @error is a
 * %WB_TELEMETRY_ERROR_REJECTED naming the value; on success @out_reason is
 * %WB_REJECT_NONE. */
gboolean    wb_position_validate       (const WbPosition  *position,
                                        gint64             now_us,
                                        gint64             max_age_us,
                                        WbRejectReason    *out_reason,
                                        GError           **error);

/* The duplicate rule needs memory: the last WB_DUPLICATE_FILTER_TIMES device
 * times of each of the WB_DUPLICATE_FILTER_DEVICES most recently active
 * devices (the least recently active device is forgotten first). A repeat
 * older than that reaches the history, which stores it once. Thread-safe. */
#define WB_DUPLICATE_FILTER_TIMES   32
#define WB_DUPLICATE_FILTER_DEVICES 20000

typedef struct _WbDuplicateFilter WbDuplicateFilter;

WbDuplicateFilter *wb_duplicate_filter_new           (void);
WbDuplicateFilter *wb_duplicate_filter_new_full      (guint               max_devices,
                                                      guint               times_per_device);
void               wb_duplicate_filter_free          (WbDuplicateFilter  *filter);
/* FALSE when @device_time was seen for @device_id already; else remembers it. */
gboolean           wb_duplicate_filter_check_and_add (WbDuplicateFilter  *filter,
                                                      const char         *device_id,
                                                      gint64              device_time);
/* Undoes an add, for a position that was accepted but could not be passed on,
 * so that its retry is not refused as a duplicate. */
void               wb_duplicate_filter_forget        (WbDuplicateFilter  *filter,
                                                      const char         *device_id,
                                                      gint64              device_time);
guint              wb_duplicate_filter_get_n_devices (WbDuplicateFilter  *filter);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbDuplicateFilter, wb_duplicate_filter_free)

G_END_DECLS
