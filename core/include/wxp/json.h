/* SPDX-License-Identifier: MIT */
/* json.h: a strict RFC 8259 check of raw bytes, run before cJSON (which accepts leading zeros,
 * raw control bytes, a BOM, trailing garbage and invalid UTF-8). */
#ifndef WXP_JSON_H
#define WXP_JSON_H

#include <stddef.h>

#include "err.h"

#define WXP_JSON_MAX_DEPTH 64

/* Returns WXP_OK when p[0..len) is exactly one JSON value with optional surrounding whitespace
 * (SP, HT, LF, CR), valid UTF-8 throughout, no raw control byte in strings, no lone surrogate
 * escape, no "\u0000", numbers in the strict grammar, nesting <= WXP_JSON_MAX_DEPTH.
 * Otherwise WXP_E_UTF8 or WXP_E_JSON_SYNTAX, and *bad_offset (if not NULL) is where it failed. */
enum wxp_code wxp_json_check(const char *p, size_t len, size_t *bad_offset,
                             struct wxp_err *err) WXP_MUST_CHECK;

#endif
