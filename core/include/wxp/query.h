/* SPDX-License-Identifier: MIT */
/* query.h: percent-encoding and the query string of a request target. One implementation for the
 * mock (API and /__admin/ queries, path segments), the client and the conformance runner. */
#ifndef WXP_QUERY_H
#define WXP_QUERY_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"
#include "str.h"

/* Pairs one query may hold; more is refused rather than cut. */
#define WXP_QUERY_PAIRS_MAX 32

/* One name=value piece, raw (still percent-encoded), borrowed from the parsed string. A piece
 * without '=' has an empty, present value. */
struct wxp_query_pair {
    struct wxp_str name;
    struct wxp_str value;
};

struct wxp_query {
    struct wxp_query_pair pair[WXP_QUERY_PAIRS_MAX];
    size_t n;
};

/* Splits `q` (what follows the '?', without it) on '&' into pairs, in order; empty pieces
 * ("a=1&&b=2", a trailing '&') are skipped. Nothing is decoded and nothing is copied: the pairs
 * borrow from `q`. An absent or empty `q` gives n == 0. Returns WXP_OK, or WXP_E_TOO_LARGE when
 * there are more than WXP_QUERY_PAIRS_MAX pairs. */
enum wxp_code wxp_query_parse(struct wxp_str q, struct wxp_query *out,
                              struct wxp_err *err) WXP_MUST_CHECK;

/* Decodes `s` into dst[0..cap), NUL-terminated, length in *outlen: "%XX" (hex digits of either
 * case) becomes that byte and, when `plus_is_space` (query strings, as HTML forms encode them),
 * '+' becomes a space; every other byte is copied. Returns false, dst unspecified, when a '%' is
 * not followed by two hex digits or the result and its NUL do not fit in cap. A decoded NUL byte
 * is kept (callers that need C strings check *outlen against strlen). */
bool wxp_pct_decode(struct wxp_str s, bool plus_is_space, char *dst, size_t cap, size_t *outlen);

/* Appends s[0..len) percent-encoded to `out`: RFC 3986 unreserved characters (A-Z a-z 0-9 - . _ ~)
 * as they are, every other byte as %XX with upper-case hex. Suitable for a path segment and for a
 * query name or value. Returns WXP_OK, WXP_E_TOO_LARGE (out's cap) or WXP_E_NOMEM. */
enum wxp_code wxp_pct_encode(struct wxp_buf *out, const char *s, size_t len) WXP_MUST_CHECK;

#endif
