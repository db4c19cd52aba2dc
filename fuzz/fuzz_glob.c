/* Target: mock_glob_match */
/* SPDX-License-Identifier: MIT */
/* fuzz_glob.c: a scenario path glob, a NUL byte, then a path (no NUL: the whole input is the
 * glob, matched against itself). Invariants: a glob over the documented bounds is refused, one
 * within them is compiled; the verdict equals a plain dynamic programme over (path x glob), the
 * definition in docs/mock-scenarios.md#match; and the work is linear in the path, at most
 * (len + 1) x MOCK_GLOB_WORDS_MAX word steps. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "glob.h"

/* The definition, cell by cell: dp[i][j] = path[0..i) matches the glob's first j bytes. Runs of
 * stars of two or more are '**'. O(len x plen) time, so only run on small inputs. */
static bool reference(const char *g, size_t glen, const char *p, size_t plen)
{
    bool *dp = calloc((plen + 1) * (glen + 1), 1);
    bool r;

#define DP(i, j) dp[(i) * (glen + 1) + (j)]
    FUZZ_CHECK(dp != NULL);
    DP(0, 0) = true;
    for (size_t i = 0; i <= plen; i++) {
        for (size_t j = 1; j <= glen; j++) {
            if (g[j - 1] != '*') {
                DP(i, j) = i > 0 && DP(i - 1, j - 1) && p[i - 1] == g[j - 1];
                continue;
            }
            /* j ends a run of stars starting at k: the run matches p[m..i) for some m. */
            size_t k = j - 1;
            while (k > 0 && g[k - 1] == '*') {
                k--;
            }
            if (j < glen && g[j] == '*') {
                DP(i, j) = false; /* not the end of the run: only whole runs are tokens */
                continue;
            }
            bool dbl = j - k >= 2;
            bool v = false;
            for (size_t m = i + 1; m-- > 0 && !v;) {
                v = DP(m, k);
                if (!v && m > 0 && !dbl && p[m - 1] == '/') {
                    break; /* a '*' run cannot take in this '/' */
                }
            }
            DP(i, j) = v;
        }
    }
    r = DP(plen, glen);
#undef DP
    free(dp);
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    const char *nul = memchr(in, '\0', size);
    size_t glen = nul != NULL ? (size_t)(nul - in) : size;
    const char *path = nul != NULL ? nul + 1 : in;
    size_t plen = nul != NULL ? size - glen - 1 : size;
    struct mock_glob *g = NULL;
    const char *why = NULL;
    size_t wild = 0;
    size_t work = 0;
    enum wxp_code rc;
    bool got;

    for (size_t i = 0; i < glen; i++) {
        if (in[i] == '*' && (i == 0 || in[i - 1] != '*')) {
            wild++;
        }
    }
    rc = mock_glob_compile(in, glen, &g, &why);
    if (glen > MOCK_GLOB_MAX || wild > MOCK_GLOB_WILD_MAX) {
        FUZZ_CHECK(rc == WXP_E_INVALID_ARG && g == NULL && why != NULL);
        return 0;
    }
    FUZZ_CHECK(rc == WXP_OK && g != NULL);
    got = mock_glob_match(g, path, plen, &work);
    FUZZ_CHECK(work <= (plen + 1) * MOCK_GLOB_WORDS_MAX);
    if (plen * glen <= 4u * 1024 * 1024) {
        FUZZ_CHECK(got == reference(in, glen, path, plen));
    }
    mock_glob_free(g);
    return 0;
}
