/* SPDX-License-Identifier: MIT */
/* base64.c: RFC 4648 §4 base64. Hand-written because OpenSSL's EVP_DecodeBlock accepts
 * whitespace and unpadded tails, and the official SDKs decode strictly (Go StdEncoding). */
#include "wxp/base64.h"

#include <stdint.h>

static const char ALPHABET[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* 0..63 for alphabet bytes, 0xFF otherwise. */
static const uint8_t DECODE[256] = {
    ['A'] = 0,  ['B'] = 1,  ['C'] = 2,  ['D'] = 3,  ['E'] = 4,  ['F'] = 5,  ['G'] = 6,  ['H'] = 7,
    ['I'] = 8,  ['J'] = 9,  ['K'] = 10, ['L'] = 11, ['M'] = 12, ['N'] = 13, ['O'] = 14, ['P'] = 15,
    ['Q'] = 16, ['R'] = 17, ['S'] = 18, ['T'] = 19, ['U'] = 20, ['V'] = 21, ['W'] = 22, ['X'] = 23,
    ['Y'] = 24, ['Z'] = 25, ['a'] = 26, ['b'] = 27, ['c'] = 28, ['d'] = 29, ['e'] = 30, ['f'] = 31,
    ['g'] = 32, ['h'] = 33, ['i'] = 34, ['j'] = 35, ['k'] = 36, ['l'] = 37, ['m'] = 38, ['n'] = 39,
    ['o'] = 40, ['p'] = 41, ['q'] = 42, ['r'] = 43, ['s'] = 44, ['t'] = 45, ['u'] = 46, ['v'] = 47,
    ['w'] = 48, ['x'] = 49, ['y'] = 50, ['z'] = 51, ['0'] = 52, ['1'] = 53, ['2'] = 54, ['3'] = 55,
    ['4'] = 56, ['5'] = 57, ['6'] = 58, ['7'] = 59, ['8'] = 60, ['9'] = 61, ['+'] = 62, ['/'] = 63,
};

static int valid(unsigned char c)
{
    return c == 'A' || DECODE[c] != 0;
}

enum wxp_code wxp_base64_encode(const void *in, size_t n, char *out, size_t cap, size_t *outlen)
{
    const unsigned char *s = in;
    size_t need = WXP_BASE64_ENCODED_LEN(n);
    size_t o = 0;
    size_t i = 0;

    if (cap < need + 1) {
        return WXP_E_TOO_LARGE;
    }
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
        out[o++] = ALPHABET[v >> 18];
        out[o++] = ALPHABET[(v >> 12) & 63];
        out[o++] = ALPHABET[(v >> 6) & 63];
        out[o++] = ALPHABET[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)s[i] << 16;
        out[o++] = ALPHABET[v >> 18];
        out[o++] = ALPHABET[(v >> 12) & 63];
        out[o++] = '=';
        out[o++] = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;
        out[o++] = ALPHABET[v >> 18];
        out[o++] = ALPHABET[(v >> 12) & 63];
        out[o++] = ALPHABET[(v >> 6) & 63];
        out[o++] = '=';
    }
    out[o] = '\0';
    if (outlen) {
        *outlen = o;
    }
    return WXP_OK;
}

enum wxp_code wxp_base64_decode(const char *in, size_t n, unsigned char *out, size_t cap,
                                size_t *outlen)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t pad = 0;
    size_t o = 0;

    if (n % 4 != 0) {
        return WXP_E_SIG_BASE64;
    }
    if (n >= 1 && s[n - 1] == '=') {
        pad = (n >= 2 && s[n - 2] == '=') ? 2 : 1;
    }
    if (n / 4 * 3 - pad > cap) {
        return WXP_E_TOO_LARGE;
    }
    for (size_t i = 0; i < n; i += 4) {
        int last = (i + 4 == n);
        size_t data = last ? 4 - pad : 4;
        uint32_t v = 0;

        for (size_t k = 0; k < 4; k++) {
            unsigned char c = s[i + k];
            if (k < data) {
                if (!valid(c)) {
                    return WXP_E_SIG_BASE64;
                }
                v = v << 6 | DECODE[c];
            } else {
                v <<= 6;
            }
        }
        /* Non-zero bits under the padding mean a non-canonical encoding. */
        if ((data == 2 && (v & 0xFFFF) != 0) || (data == 3 && (v & 0xFF) != 0)) {
            return WXP_E_SIG_BASE64;
        }
        out[o++] = (unsigned char)(v >> 16);
        if (data >= 3) {
            out[o++] = (unsigned char)(v >> 8);
        }
        if (data == 4) {
            out[o++] = (unsigned char)v;
        }
    }
    if (outlen) {
        *outlen = o;
    }
    return WXP_OK;
}
