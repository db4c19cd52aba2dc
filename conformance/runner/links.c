/* SPDX-License-Identifier: MIT */
/* links.c: what a case's `source` points at, for the reports: the docs sections it names
 * ("docs/protocol.md#timestamp-window") and, for each source key ("[D-FAQ-401]"), where that
 * source is, read from docs/sources.md (compiled in), so that a report names the rule's origin
 * without the source tree at hand. */
#include <stdio.h>
#include <string.h>

#include "conf.h"

/* docs/sources.md, embedded by conformance/CMakeLists.txt. */
extern const char conf_sources_md[];

static void copy_n(char *dst, size_t cap, const char *src, size_t n)
{
    if (n >= cap) {
        n = cap - 1;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* The row "| `KEY` | title and address | ..." of docs/sources.md: its second cell, or NULL. */
static const char *find_row(const char *key, size_t klen, size_t *cell_len)
{
    const char *p = conf_sources_md;

    while (p != NULL && *p != '\0') {
        const char *eol = strchr(p, '\n');
        size_t len = eol != NULL ? (size_t)(eol - p) : strlen(p);
        if (len > klen + 6 && strncmp(p, "| `", 3) == 0 && memcmp(p + 3, key, klen) == 0 &&
            strncmp(p + 3 + klen, "` |", 3) == 0) {
            const char *cell = p + 3 + klen + 3;
            const char *end = memchr(cell, '|', len - (size_t)(cell - p));
            *cell_len = end != NULL ? (size_t)(end - cell) : len - (size_t)(cell - p);
            return cell;
        }
        p = eol != NULL ? eol + 1 : NULL;
    }
    return NULL;
}

/* Where the source is: the first http(s) address of the cell, else the cell without its
 * backticks (a repository and a path). */
static void where_of(const char *cell, size_t n, char *out, size_t cap)
{
    size_t o = 0;

    for (size_t i = 0; i + 4 < n; i++) {
        if (strncmp(cell + i, "http", 4) == 0 &&
            (strncmp(cell + i, "https://", 8) == 0 || strncmp(cell + i, "http://", 7) == 0)) {
            size_t e = i;
            while (e < n && cell[e] != ' ' && cell[e] != ')' && cell[e] != '`') {
                e++;
            }
            while (e > i && strchr(".,;:", cell[e - 1]) != NULL) {
                e--;
            }
            copy_n(out, cap, cell + i, e - i);
            return;
        }
    }
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        if (cell[i] == '`' || (o == 0 && cell[i] == ' ')) {
            continue;
        }
        out[o++] = cell[i];
    }
    while (o > 0 && out[o - 1] == ' ') {
        o--;
    }
    out[o] = '\0';
}

void conf_links_of(const char *source, struct conf_links *out)
{
    const char *p = source != NULL ? source : "";

    memset(out, 0, sizeof *out);
    while (*p != '\0') {
        size_t n = strcspn(p, " ");
        if (n == 0) {
            p++;
            continue;
        }
        if (p[0] == '[' && p[n - 1] == ']' && n > 2 && out->nkeys < CONF_LINKS_MAX) {
            struct conf_link *l = &out->keys[out->nkeys++];
            size_t cell_len = 0;
            const char *cell = find_row(p + 1, n - 2, &cell_len);
            copy_n(l->key, sizeof l->key, p + 1, n - 2);
            if (cell != NULL) {
                where_of(cell, cell_len, l->where, sizeof l->where);
            }
        } else if (strncmp(p, "docs/", 5) == 0 && memchr(p, '#', n) != NULL &&
                   out->nsections < CONF_LINKS_MAX) {
            size_t m = n;
            while (m > 0 && strchr("),;.", p[m - 1]) != NULL) {
                m--;
            }
            copy_n(out->sections[out->nsections++], sizeof out->sections[0], p, m);
        }
        p += n;
    }
}
