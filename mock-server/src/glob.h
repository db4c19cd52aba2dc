/* SPDX-License-Identifier: MIT */
/* glob.h: the path globs of scenario rules (docs/mock-scenarios.md#match), matched in time linear
 * in the path: a bit-parallel state set of at most MOCK_GLOB_WORDS_MAX words per path byte. */
#ifndef MOCK_GLOB_H
#define MOCK_GLOB_H

#include <stdbool.h>
#include <stddef.h>

#include "wxp/err.h"

/* rule: a glob is at most MOCK_GLOB_MAX bytes with at most MOCK_GLOB_WILD_MAX wildcards ('*' or
 * '**' runs). With them a match costs at most MOCK_GLOB_WORDS_MAX word steps per path byte, so one
 * 64 KiB path against 1000 rules stays well under a second (docs/mock-scenarios.md#limits). */
#define MOCK_GLOB_MAX 1024
#define MOCK_GLOB_WILD_MAX 32
#define MOCK_GLOB_WORDS_MAX ((MOCK_GLOB_MAX + 1 + 63) / 64)

struct mock_glob;

/* Compiles pat[0..len): '*' is any run of bytes but '/', '**' (or any longer run of stars) any run
 * at all, every other byte itself. Returns WXP_OK with *out (free with mock_glob_free),
 * WXP_E_INVALID_ARG with *why set to a static message (too long, too many wildcards), or
 * WXP_E_NOMEM. Does not keep `pat`. */
enum wxp_code mock_glob_compile(const char *pat, size_t len, struct mock_glob **out,
                                const char **why) WXP_MUST_CHECK;
void mock_glob_free(struct mock_glob *g);
/* Whether path[0..len) matches the whole glob. When `work` is not NULL, adds the word steps taken
 * (at most (len + 1) * MOCK_GLOB_WORDS_MAX): the fuzz target checks the bound. */
bool mock_glob_match(const struct mock_glob *g, const char *path, size_t len, size_t *work);

#endif
