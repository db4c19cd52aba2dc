/* SPDX-License-Identifier: MIT */
/* query.c: percent-encoding (RFC 3986 section 2.1) and the query string of a request target. */
#include "wxp/query.h"

/* rule: a path segment or a query name or value keeps the RFC 3986 unreserved characters and
 * percent-encodes every other byte as %XX, uppercase (RFC 3986 sections 2.1, 2.3); what is signed
 * is exactly this encoded target. src: docs/protocol.md#request-signing-string */
static const unsigned char UNRESERVED[256] = {
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1,
    ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1,
    ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
    ['Y'] = 1, ['Z'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
    ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1,
    ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1,
    ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1,
    ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, ['-'] = 1, ['.'] = 1,
    ['_'] = 1, ['~'] = 1,
};

enum wxp_code wxp_query_parse(struct wxp_str q, struct wxp_query *out, struct wxp_err *err)
{
    size_t i = 0;

    out->n = 0;
    if (q.ptr == NULL) {
        return WXP_OK;
    }
    while (i < q.len) {
        size_t end = i;
        size_t eq;

        while (end < q.len && q.ptr[end] != '&') {
            end++;
        }
        if (end == i) {
            i = end + 1;
            continue;
        }
        if (out->n == WXP_QUERY_PAIRS_MAX) {
            out->n = 0;
            return wxp_err_set(err, WXP_E_TOO_LARGE, "query",
                               "the query string has more than %d parameters", WXP_QUERY_PAIRS_MAX);
        }
        eq = i;
        while (eq < end && q.ptr[eq] != '=') {
            eq++;
        }
        out->pair[out->n].name = (struct wxp_str){q.ptr + i, eq - i};
        out->pair[out->n].value = eq < end ? (struct wxp_str){q.ptr + eq + 1, end - eq - 1}
                                           : (struct wxp_str){q.ptr + end, 0};
        out->n++;
        i = end + 1;
    }
    return WXP_OK;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

bool wxp_pct_decode(struct wxp_str s, bool plus_is_space, char *dst, size_t cap, size_t *outlen)
{
    size_t n = 0;

    if (cap == 0) {
        return false;
    }
    for (size_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];
        if (c == '%') {
            int hi, lo;
            if (s.len - i < 3) {
                return false;
            }
            hi = hexval(s.ptr[i + 1]);
            lo = hexval(s.ptr[i + 2]);
            if (hi < 0 || lo < 0) {
                return false;
            }
            c = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        if (n + 1 >= cap) {
            return false;
        }
        dst[n++] = c;
    }
    dst[n] = '\0';
    *outlen = n;
    return true;
}

enum wxp_code wxp_pct_encode(struct wxp_buf *out, const char *s, size_t len)
{
    static const char HEX[] = "0123456789ABCDEF";
    enum wxp_code rc = WXP_OK;

    for (size_t i = 0; i < len && rc == WXP_OK; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (UNRESERVED[ch]) {
            rc = wxp_buf_add(out, s + i, 1);
            continue;
        }
        char esc[3] = {'%', HEX[ch >> 4], HEX[ch & 15]};
        rc = wxp_buf_add(out, esc, 3);
    }
    return rc;
}
