/* SPDX-License-Identifier: MIT */
/* base64.h: standard alphabet with '=' padding (RFC 4648 §4), strict on decode. */
#ifndef WXP_BASE64_H
#define WXP_BASE64_H

#include <stddef.h>

#include "err.h"

#define WXP_BASE64_ENCODED_LEN(n) ((((n) + 2) / 3) * 4)

/* Writes the encoding of `n` bytes plus a NUL into out (cap >= WXP_BASE64_ENCODED_LEN(n) + 1).
 * Returns WXP_OK or WXP_E_TOO_LARGE. */
enum wxp_code wxp_base64_encode(const void *in, size_t n, char *out, size_t cap,
                                size_t *outlen) WXP_MUST_CHECK;

/* Decodes; rejects anything not in the alphabet (whitespace included), a length that is not a
 * multiple of 4, misplaced padding and non-zero trailing bits. Returns WXP_OK,
 * WXP_E_SIG_BASE64 or WXP_E_TOO_LARGE (out too small). */
enum wxp_code wxp_base64_decode(const char *in, size_t n, unsigned char *out, size_t cap,
                                size_t *outlen) WXP_MUST_CHECK;

#endif
