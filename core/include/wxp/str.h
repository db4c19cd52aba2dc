/* SPDX-License-Identifier: MIT */
/* str.h: borrowed byte slices. Nothing that comes from the network is NUL-terminated. */
#ifndef WXP_STR_H
#define WXP_STR_H

#include <stdbool.h>
#include <stddef.h>

/* A slice borrowed from someone else's buffer. ptr == NULL means "absent" (a missing header),
 * which callers can tell apart from present-but-empty (ptr != NULL, len == 0). */
struct wxp_str {
    const char *ptr;
    size_t len;
};

#define WXP_STR_LIT(lit) ((struct wxp_str){(lit), sizeof(lit) - 1})

/* A slice over a C string; NULL gives the absent slice. */
struct wxp_str wxp_str_c(const char *s);

bool wxp_str_eq(struct wxp_str a, struct wxp_str b);
/* ASCII case-insensitive equality (hex serials, header names). */
bool wxp_str_eq_nocase(struct wxp_str a, struct wxp_str b);
bool wxp_str_starts_with(struct wxp_str s, const char *prefix);

/* A command-line or config number: decimal digits only (no sign, no spaces), within [lo, hi]
 * (lo >= 0). False, *out untouched, for anything else. */
bool wxp_parse_long(const char *s, long lo, long hi, long *out);

/* Room for a file path inside a one-line message: cut a longer one with wxp_str_tail, so the
 * message around it (the reason, strerror, the advice) is never what gets cut. */
#define WXP_PATH_IN_MSG 160

/* The mark wxp_str_tail puts where it cut: U+2026 HORIZONTAL ELLIPSIS, 3 bytes in UTF-8. */
#define WXP_ELLIPSIS "\xe2\x80\xa6"

/* Copies the C string `s` (NULL reads as "") into out[0..cap), always NUL-terminated:
 * whole when it fits (strlen(s) < cap); otherwise its END behind a leading WXP_ELLIPSIS, because
 * the end of a path is the file name a reader needs ("…/certs/test-merchant-a.cert.pem"). The
 * kept end starts on a UTF-8 character boundary, so no character is split. A cap too small for
 * the mark and one byte (cap < 5) gives "". Returns `out`. Does not take ownership of `s`;
 * `out` may be `s` itself (cutting a buffer in place). */
char *wxp_str_tail(char *out, size_t cap, const char *s);

/* The length of the longest prefix of s[0..len) that does not end inside a UTF-8 sequence: what
 * to keep when text is cut at `len` bytes from its start. Bytes that are not UTF-8 count as
 * whole characters. */
size_t wxp_utf8_prefix_len(const char *s, size_t len);

#endif
