/* SPDX-License-Identifier: MIT */
/* fuzz.h: the entry points every fuzz target defines (libFuzzer's names), so one target source
 * builds both as a libFuzzer binary (WXP_FUZZ=ON) and as a corpus replayer (replay.c). */
#ifndef WXP_FUZZ_H
#define WXP_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* Runs one input. Must be deterministic (fixed clock, no RNG in any check), must not leak, and
 * returns 0. A violated invariant calls abort(), which both drivers report as a crash. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The fixed clock of targets whose API takes `now`: 2023-11-14T22:13:20Z, the timestamp of the
 * signed seeds that fuzz_seedgen writes. */
#define FUZZ_NOW ((int64_t)1700000000)

/* abort() with a message when `cond` is false: an invariant the target checks. */
#define FUZZ_CHECK(cond) fuzz_check((cond), #cond, __FILE__, __LINE__)
void fuzz_check(int cond, const char *what, const char *file, int line);

#endif
