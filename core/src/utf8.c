/* SPDX-License-Identifier: MIT */
/* utf8.c: strict UTF-8 decoding per RFC 3629 (Unicode Table 3-7 well-formed sequences). */
#include "wxp/utf8.h"

#include <stdint.h>
#include <string.h>

/* Length of the sequence a lead byte starts; 0 for bytes that cannot lead. */
static unsigned seq_len(unsigned char c)
{
    if (c < 0x80) {
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        return 2;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        return 4;
    }
    return 0;
}

/* Allowed range of the second byte, which is where overlongs, surrogates and > U+10FFFF show. */
static int second_ok(unsigned char lead, unsigned char c)
{
    switch (lead) {
    case 0xE0:
        return c >= 0xA0 && c <= 0xBF;
    case 0xED:
        return c >= 0x80 && c <= 0x9F;
    case 0xF0:
        return c >= 0x90 && c <= 0xBF;
    case 0xF4:
        return c >= 0x80 && c <= 0x8F;
    default:
        return c >= 0x80 && c <= 0xBF;
    }
}

enum wxp_code wxp_utf8_check(const char *p, size_t len, struct wxp_utf8_info *info)
{
    const unsigned char *s = (const unsigned char *)p;
    struct wxp_utf8_info local = {0, 0, 0, 0};
    size_t i = 0;

    while (i < len) {
        unsigned char c;
        unsigned n;

        /* With nothing to count, runs of ASCII go eight bytes at a time (a byte below 0x80 is a
         * whole sequence). */
        while (info == NULL && len - i >= 8) {
            uint64_t w;
            memcpy(&w, s + i, sizeof w);
            if ((w & UINT64_C(0x8080808080808080)) != 0) {
                break;
            }
            i += 8;
        }
        if (i == len) {
            break;
        }
        c = s[i];
        n = seq_len(c);
        /* Bytes of the sequence actually present: a wrong byte is reported at its own offset
         * whether or not the input goes on; only a clean cut-off reports the lead. */
        unsigned have = n < len - i ? n : (unsigned)(len - i);

        if (n == 0) {
            goto bad;
        }
        if (have >= 2 && !second_ok(c, s[i + 1])) {
            i += 1;
            goto bad;
        }
        for (unsigned k = 2; k < have; k++) {
            if ((s[i + k] & 0xC0) != 0x80) {
                i += k;
                goto bad;
            }
        }
        if (have < n) {
            goto bad;
        }
        if (n == 1 && (c < 0x20 || c == 0x7F)) {
            local.ctrl_count++;
        }
        if (n > local.max_seq) {
            local.max_seq = n;
        }
        local.chars++;
        i += n;
    }
    if (info) {
        *info = local;
    }
    return WXP_OK;
bad:
    local.bad_offset = i;
    if (info) {
        *info = local;
    }
    return WXP_E_UTF8;
}
