// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "wb-position.h"

G_BEGIN_DECLS

/* libFuzzer's entry point, defined by each target. */
int  LLVMFuzzerTestOneInput (const uint8_t *data,
                             size_t         size);

/* What must hold for every decoded position: telemetry.raw reads back and
 * writes the same text again, a copy is equal, validation answers
 * consistently. Aborts, with the evidence on stderr, when one fails. */
void fuzz_check_position    (const WbPosition *position);

/* Aborts with @what on stderr unless @condition holds. */
void fuzz_require           (gboolean          condition,
                             const char       *what);

G_END_DECLS
