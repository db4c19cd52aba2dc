/* SPDX-License-Identifier: MIT */
/* glob.c: scenario path globs as a bit-parallel NFA (Shift-And with wildcard self-loops). Bit j of
 * the state says "the first j tokens match the path bytes read so far"; each path byte costs one
 * pass over the state's words, never a backtrack. */
#include "glob.h"

#include <stdint.h>
#include <string.h>

#include "wxp/mem.h"

struct mock_glob {
    size_t ntok;        /* tokens; the state has ntok + 1 bits */
    size_t words;       /* 64-bit words of the state */
    uint8_t index[256]; /* byte -> its mask in lit (0: the byte is in no literal token) */
    uint64_t *lit;      /* [nlit][words]: bit j when token j-1 is that literal byte */
    uint64_t *wild;     /* [words]: bit j when token j-1 is '*' or '**' */
    uint64_t *dstar;    /* [words]: bit j when token j-1 is '**' */
    uint64_t *start;    /* [words]: the state before any byte */
};

void mock_glob_free(struct mock_glob *g)
{
    if (g == NULL) {
        return;
    }
    wxp_free(g->lit);
    wxp_free(g->wild);
    wxp_free(g->dstar);
    wxp_free(g->start);
    wxp_free(g);
}

static void set_bit(uint64_t *m, size_t j)
{
    m[j / 64] |= (uint64_t)1 << (j % 64);
}

/* dst = src | ((src << 1) & wild): a wildcard token matches the empty run. One step is enough:
 * wildcards never follow each other (runs of stars are one token). */
static void close_wild(uint64_t *dst, const uint64_t *src, const uint64_t *wild, size_t words)
{
    uint64_t carry = 0;

    for (size_t w = 0; w < words; w++) {
        uint64_t s = src[w];
        dst[w] = s | (((s << 1) | carry) & wild[w]);
        carry = s >> 63;
    }
}

enum wxp_code mock_glob_compile(const char *pat, size_t len, struct mock_glob **out,
                                const char **why)
{
    struct mock_glob *g = NULL;
    uint8_t nlit = 0;
    size_t nwild = 0;
    size_t j = 0;
    enum wxp_code rc = WXP_E_NOMEM;

    *out = NULL;
    *why = "out of memory";
    if (len > MOCK_GLOB_MAX) {
        *why = "a path glob is at most 1024 bytes";
        return WXP_E_INVALID_ARG;
    }
    g = wxp_malloc(sizeof *g);
    if (g == NULL) {
        return WXP_E_NOMEM;
    }
    memset(g, 0, sizeof *g);
    /* First pass: tokens, wildcards and the distinct literal bytes. */
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)pat[i];
        if (ch == '*') {
            while (i + 1 < len && pat[i + 1] == '*') {
                i++;
            }
            nwild++;
        } else if (g->index[ch] == 0) {
            g->index[ch] = ++nlit; /* at most 255 literal bytes: '*' is never one */
        }
        g->ntok++;
    }
    if (nwild > MOCK_GLOB_WILD_MAX) {
        *why = "a path glob has at most 32 wildcards ('*' or '**')";
        rc = WXP_E_INVALID_ARG;
        goto out;
    }
    g->words = (g->ntok + 1 + 63) / 64;
    g->lit = wxp_malloc(((size_t)nlit + 1) * g->words * sizeof *g->lit);
    g->wild = wxp_malloc(g->words * sizeof *g->wild);
    g->dstar = wxp_malloc(g->words * sizeof *g->dstar);
    g->start = wxp_malloc(g->words * sizeof *g->start);
    if (g->lit == NULL || g->wild == NULL || g->dstar == NULL || g->start == NULL) {
        goto out;
    }
    memset(g->lit, 0, ((size_t)nlit + 1) * g->words * sizeof *g->lit);
    memset(g->wild, 0, g->words * sizeof *g->wild);
    memset(g->dstar, 0, g->words * sizeof *g->dstar);
    /* Second pass: token j-1 sets bit j of its mask. */
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)pat[i];
        j++;
        if (ch == '*') {
            bool dbl = false;
            while (i + 1 < len && pat[i + 1] == '*') {
                i++;
                dbl = true;
            }
            set_bit(g->wild, j);
            if (dbl) {
                set_bit(g->dstar, j);
            }
        } else {
            set_bit(g->lit + (size_t)g->index[ch] * g->words, j);
        }
    }
    memset(g->start, 0, g->words * sizeof *g->start);
    g->start[0] = 1;
    close_wild(g->start, g->start, g->wild, g->words);
    *out = g;
    g = NULL;
    rc = WXP_OK;
out:
    mock_glob_free(g);
    return rc;
}

bool mock_glob_match(const struct mock_glob *g, const char *path, size_t len, size_t *work)
{
    uint64_t cur[MOCK_GLOB_WORDS_MAX];
    uint64_t next[MOCK_GLOB_WORDS_MAX];
    size_t words = g->words;
    size_t steps = words;
    size_t last = g->ntok;
    bool alive = true;

    memcpy(cur, g->start, words * sizeof *cur);
    for (size_t i = 0; i < len && alive; i++) {
        unsigned char ch = (unsigned char)path[i];
        const uint64_t *lit = g->lit + (size_t)g->index[ch] * words;
        const uint64_t *stay = ch == '/' ? g->dstar : g->wild;
        uint64_t carry = 0;
        uint64_t any = 0;

        /* A literal token consumes ch; a wildcard token absorbs it ('*' never a '/'). */
        for (size_t w = 0; w < words; w++) {
            uint64_t c = cur[w];
            next[w] = (((c << 1) | carry) & lit[w]) | (c & stay[w]);
            carry = c >> 63;
        }
        close_wild(cur, next, g->wild, words);
        for (size_t w = 0; w < words; w++) {
            any |= cur[w];
        }
        alive = any != 0; /* no prefix of the glob matches: nothing later can */
        steps += words;
    }
    if (work != NULL) {
        *work += steps;
    }
    return alive && (cur[last / 64] >> (last % 64) & 1) != 0;
}
