/* SPDX-License-Identifier: MIT */
/* utf8.h: strict UTF-8 validation (no overlongs, no surrogates, nothing above U+10FFFF). */
#ifndef WXP_UTF8_H
#define WXP_UTF8_H

#include <stddef.h>

#include "err.h"

struct wxp_utf8_info {
    size_t chars;      /* code points */
    unsigned max_seq;  /* longest encoded sequence seen, 1..4 (0 for empty input) */
    size_t bad_offset; /* on failure: offset of the first byte that is not valid */
    size_t ctrl_count; /* code points below U+0020 or U+007F */
};

/* Returns WXP_OK, or WXP_E_UTF8 with info->bad_offset set. `info` may be NULL. */
enum wxp_code wxp_utf8_check(const char *p, size_t len, struct wxp_utf8_info *info) WXP_MUST_CHECK;

#endif
