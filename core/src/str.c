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

static bool is_cont(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

char *wxp_str_tail(char *out, size_t cap, const char *s)
{
    const size_t mark = sizeof WXP_ELLIPSIS - 1;
    const char *tail;
    size_t len;

    if (cap == 0) {
        return out;
    }
    if (s == NULL) {
        s = "";
    }
    len = strlen(s);
    /* memmove: `out` may be `s` (the tail then starts past the mark's 3 bytes). */
    if (len < cap) {
        memmove(out, s, len + 1);
        return out;
    }
    if (cap < mark + 2) {
        out[0] = '\0';
        return out;
    }
    /* Room for the mark, the tail and the NUL; then step forward off a split character. */
    tail = s + len - (cap - mark - 1);
    while (is_cont((unsigned char)*tail)) {
        tail++;
    }
    memcpy(out, WXP_ELLIPSIS, mark);
    memmove(out + mark, tail, strlen(tail) + 1);
    return out;
}

size_t wxp_utf8_prefix_len(const char *s, size_t len)
{
    size_t i;
    unsigned char lead;
    size_t need;

    if (len == 0) {
        return 0;
    }
    /* Back to the lead byte of the last character (at most 3 continuation bytes after it). */
    i = len - 1;
    while (i > 0 && len - 1 - i < 3 && is_cont((unsigned char)s[i])) {
        i--;
    }
    lead = (unsigned char)s[i];
    if (lead >= 0xF0 && lead <= 0xF4) {
        need = 4;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        need = 3;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
        need = 2;
    } else {
        return len;
    }
    return len - i < need ? i : len;
}
