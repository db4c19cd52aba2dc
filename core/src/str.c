/* SPDX-License-Identifier: MIT */
/* str.c: slice helpers. */
#include "wxp/str.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct wxp_str wxp_str_c(const char *s)
{
    struct wxp_str r = {s, s ? strlen(s) : 0};
    return r;
}

bool wxp_str_eq(struct wxp_str a, struct wxp_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

bool wxp_str_eq_nocase(struct wxp_str a, struct wxp_str b)
{
    if (a.len != b.len) {
        return false;
    }
    for (size_t i = 0; i < a.len; i++) {
        if (lower((unsigned char)a.ptr[i]) != lower((unsigned char)b.ptr[i])) {
            return false;
        }
    }
    return true;
}

bool wxp_str_starts_with(struct wxp_str s, const char *prefix)
{
    size_t n = strlen(prefix);
    return s.ptr != NULL && s.len >= n && memcmp(s.ptr, prefix, n) == 0;
}

bool wxp_parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;

    if (s == NULL || s[0] < '0' || s[0] > '9') {
        return false;
    }
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi) {
        return false;
    }
    *out = v;
    return true;
}
