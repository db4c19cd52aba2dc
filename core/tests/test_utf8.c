/* SPDX-License-Identifier: MIT */
/* test_utf8.c: wxp_utf8_check against RFC 3629 / Unicode Table 3-7: every boundary code point,
 * overlongs, surrogates, > U+10FFFF, truncation and bad continuations with the exact offset. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "wxp/utf8.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
/* A literal and its length, so rows can hold NUL bytes and need no terminator. */
#define B(lit) (lit), (sizeof(lit) - 1)

/* Runs the check on an exact-size heap copy, so ASan sees any read past `len`. */
static enum wxp_code check_exact(const char *p, size_t len, struct wxp_utf8_info *info)
{
    char *copy = malloc(len ? len : 1);
    enum wxp_code rc;

    assert_non_null(copy);
    if (len > 0) {
        memcpy(copy, p, len);
    }
    rc = wxp_utf8_check(copy, len, info);
    free(copy);
    return rc;
}

struct ok_row {
    int line;
    const char *in;
    size_t len;
    size_t chars;
    unsigned max_seq;
    size_t ctrl_count;
};

static const struct ok_row OK_ROWS[] = {
    {__LINE__, B(""), 0, 0, 0},
    {__LINE__, B("a"), 1, 1, 0},
    {__LINE__, B("hello, world"), 12, 1, 0},
    /* Boundary code points of each sequence length. */
    {__LINE__, B("\x7F"), 1, 1, 1},                     /* U+007F, DEL: a control */
    {__LINE__, B("\xC2\x80"), 1, 2, 0},                 /* U+0080 */
    {__LINE__, B("\xDF\xBF"), 1, 2, 0},                 /* U+07FF */
    {__LINE__, B("\xE0\xA0\x80"), 1, 3, 0},             /* U+0800 */
    {__LINE__, B("\xED\x9F\xBF"), 1, 3, 0},             /* U+D7FF, just below the surrogates */
    {__LINE__, B("\xEE\x80\x80"), 1, 3, 0},             /* U+E000, just above them */
    {__LINE__, B("\xEF\xBF\xBF"), 1, 3, 0},             /* U+FFFF */
    {__LINE__, B("\xF0\x90\x80\x80"), 1, 4, 0},         /* U+10000 */
    {__LINE__, B("\xF4\x8F\xBF\xBF"), 1, 4, 0},         /* U+10FFFF */
    {__LINE__, B("\xC3\xA9"), 1, 2, 0},                 /* é */
    {__LINE__, B("\xE4\xB8\xAD\xE6\x96\x87"), 2, 3, 0}, /* 中文 */
    {__LINE__, B("\xF0\x9F\x98\x80"), 1, 4, 0},         /* U+1F600 emoji */
    /* Mixed: a, é, 中, emoji: max_seq is the longest, chars counts code points. */
    {__LINE__, B("a\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80"), 4, 4, 0},
    /* Controls: below U+0020 and U+007F count; space and C1 controls (U+0080) do not. */
    {__LINE__, B("\x00"), 1, 1, 1},
    {__LINE__, B("a\0b"), 3, 1, 1},
    {__LINE__, B("\t\n\r\x1F \x7F"), 6, 1, 5},
    {__LINE__, B(" ~"), 2, 1, 0},
    {__LINE__, B("\xC2\x80\xC2\x9F"), 2, 2, 0},
    /* 50 Chinese characters: 150 bytes, 50 code points. */
    {__LINE__,
     B("\xE7\x94\xA8\xE6\x88\xB7\xE4\xB8\xBB\xE5\x8A\xA8\xE8\xA7\xA3\xE9\x99\xA4\xE6\x8E\x88"
       "\xE6\x9D\x83\xE5\x8E\x9F\xE5\x9B\xA0\xE7\x94\xA8\xE6\x88\xB7\xE4\xB8\xBB\xE5\x8A\xA8"
       "\xE8\xA7\xA3\xE9\x99\xA4\xE6\x8E\x88\xE6\x9D\x83\xE5\x8E\x9F\xE5\x9B\xA0\xE7\x94\xA8"
       "\xE6\x88\xB7\xE4\xB8\xBB\xE5\x8A\xA8\xE8\xA7\xA3\xE9\x99\xA4\xE6\x8E\x88\xE6\x9D\x83"
       "\xE5\x8E\x9F\xE5\x9B\xA0\xE7\x94\xA8\xE6\x88\xB7\xE4\xB8\xBB\xE5\x8A\xA8\xE8\xA7\xA3"
       "\xE9\x99\xA4\xE6\x8E\x88\xE6\x9D\x83\xE5\x8E\x9F\xE5\x9B\xA0\xE7\x94\xA8\xE6\x88\xB7"
       "\xE4\xB8\xBB\xE5\x8A\xA8\xE8\xA7\xA3\xE9\x99\xA4\xE6\x8E\x88\xE6\x9D\x83\xE5\x8E\x9F"
       "\xE5\x9B\xA0"),
     50, 3, 0},
};

static void test_utf8_accepts_valid_sequences(void **state)
{
    (void)state;
    for (size_t i = 0; i < NELEM(OK_ROWS); i++) {
        const struct ok_row *r = &OK_ROWS[i];
        struct wxp_utf8_info info;
        enum wxp_code rc;

        memset(&info, 0xA5, sizeof info);
        rc = check_exact(r->in, r->len, &info);
        if (rc != WXP_OK) {
            fail_msg("row at line %d: got %s at offset %zu, want WXP_OK", r->line,
                     wxp_code_name(rc), info.bad_offset);
        }
        if (info.chars != r->chars || info.max_seq != r->max_seq ||
            info.ctrl_count != r->ctrl_count || info.bad_offset != 0) {
            fail_msg("row at line %d: chars %zu max_seq %u ctrl %zu bad_offset %zu, want %zu %u "
                     "%zu 0",
                     r->line, info.chars, info.max_seq, info.ctrl_count, info.bad_offset, r->chars,
                     r->max_seq, r->ctrl_count);
        }
    }
}

struct bad_row {
    int line;
    const char *in;
    size_t len;
    size_t bad_offset;
};

static const struct bad_row BAD_ROWS[] = {
    /* Overlong encodings: the lead C0/C1 can never start a sequence; E0 and F0 are caught on the
     * second byte. */
    {__LINE__, B("\xC0\x80"), 0},
    {__LINE__, B("\xC1\xBF"), 0},
    {__LINE__, B("\xE0\x80\x80"), 1},
    {__LINE__, B("\xE0\x9F\xBF"), 1}, /* U+07FF in three bytes */
    {__LINE__, B("\xF0\x80\x80\x80"), 1},
    {__LINE__, B("\xF0\x8F\xBF\xBF"), 1}, /* U+FFFF in four bytes */
    /* UTF-16 surrogates encoded in UTF-8 (CESU-8). */
    {__LINE__, B("\xED\xA0\x80"), 1}, /* U+D800 */
    {__LINE__, B("\xED\xBF\xBF"), 1}, /* U+DFFF */
    {__LINE__, B("\xED\xA0\xBD\xED\xB8\x80"), 1},
    /* Above U+10FFFF, and lead bytes that Table 3-7 retired. */
    {__LINE__, B("\xF4\x90\x80\x80"), 1},
    {__LINE__, B("\xF5\x80\x80\x80"), 0},
    {__LINE__, B("\xF7\xBF\xBF\xBF"), 0},
    {__LINE__, B("\xF8\x88\x80\x80\x80"), 0},
    {__LINE__, B("\xFC\x84\x80\x80\x80\x80"), 0},
    {__LINE__, B("\xFE"), 0},
    {__LINE__, B("\xFF"), 0},
    {__LINE__, B("ab\xFFzz"), 2},
    /* A continuation byte with no lead. */
    {__LINE__, B("\x80"), 0},
    {__LINE__, B("\xBF"), 0},
    {__LINE__, B("abc\x80"), 3},
    {__LINE__, B("\xC3\xA9\xA9"), 2},
    /* Truncated at the end of input: every byte present is fine, the sequence is cut short, so
     * the offset is its lead byte. */
    {__LINE__, B("\xC3"), 0},
    {__LINE__, B("\xE4\xB8"), 0},
    {__LINE__, B("\xE4"), 0},
    {__LINE__, B("\xF0\x9F\x98"), 0},
    {__LINE__, B("\xF0\x9F"), 0},
    {__LINE__, B("\xF0"), 0},
    {__LINE__, B("ok\xE4\xB8\xAD\xE4\xB8"), 5},
    /* A bad continuation in the middle is reported at the byte that breaks the sequence. */
    {__LINE__, B("\xC3\x28"), 1},
    {__LINE__, B("\xC3\x28xyz"), 1},
    {__LINE__, B("\xE4\x41\xAD"), 1},
    {__LINE__, B("\xE4\xB8\x41"), 2},
    {__LINE__, B("\xF0\x9F\x41\x80"), 2},
    {__LINE__, B("\xF0\x9F\x98\x41"), 3},
    {__LINE__, B("\xF0\x9F\x98\xC3\xA9"), 3},
    {__LINE__, B("a\xE4\xB8\xAD\xE4\xB8\xE4\xB8\xAD"), 6},
    /* The same broken bytes report the same offset whether or not more input follows. */
    {__LINE__, B("\xE4\x41"), 1},
    {__LINE__, B("\xE0\x80"), 1},
    {__LINE__, B("\xED\xA0"), 1},
    {__LINE__, B("\xF4\x90"), 1},
    {__LINE__, B("\xF0\x9F\x41"), 2},
};

static void test_utf8_rejects_ill_formed_with_offset(void **state)
{
    (void)state;
    for (size_t i = 0; i < NELEM(BAD_ROWS); i++) {
        const struct bad_row *r = &BAD_ROWS[i];
        struct wxp_utf8_info info;
        enum wxp_code rc;

        memset(&info, 0xA5, sizeof info);
        rc = check_exact(r->in, r->len, &info);
        if (rc != WXP_E_UTF8) {
            fail_msg("row at line %d: got %s, want WXP_E_UTF8", r->line, wxp_code_name(rc));
        }
        if (info.bad_offset != r->bad_offset) {
            fail_msg("row at line %d: bad_offset %zu, want %zu", r->line, info.bad_offset,
                     r->bad_offset);
        }
        /* Without `info` the verdict is the same. */
        if (check_exact(r->in, r->len, NULL) != WXP_E_UTF8) {
            fail_msg("row at line %d: different verdict with info == NULL", r->line);
        }
    }
}

/* Every lead byte value on its own, then followed by a valid continuation: which can lead. */
static void test_utf8_classifies_every_lead_byte(void **state)
{
    (void)state;
    for (unsigned c = 0; c < 256; c++) {
        char one[1] = {(char)c};
        char two[2] = {(char)c, (char)0xBF};
        struct wxp_utf8_info info;
        enum wxp_code rc = check_exact(one, 1, &info);
        enum wxp_code want = c < 0x80 ? WXP_OK : WXP_E_UTF8;

        if (rc != want || (rc == WXP_OK && info.chars != 1)) {
            fail_msg("byte 0x%02X alone: got %s, want %s", c, wxp_code_name(rc),
                     wxp_code_name(want));
        }
        rc = check_exact(two, 2, &info);
        want = (c >= 0xC2 && c <= 0xDF) ? WXP_OK : WXP_E_UTF8;
        if (rc != want) {
            fail_msg("bytes %02X BF: got %s, want %s", c, wxp_code_name(rc), wxp_code_name(want));
        }
    }
}

/* Encodes every scalar value by hand and checks it round-trips as one character of the right
 * length; each surrogate encoded the same way must be refused at offset 1. */
static void test_utf8_accepts_every_scalar_value(void **state)
{
    (void)state;
    for (unsigned long cp = 0; cp <= 0x10FFFF; cp++) {
        unsigned char b[4];
        size_t n;
        struct wxp_utf8_info info;
        enum wxp_code rc;

        if (cp < 0x80) {
            b[0] = (unsigned char)cp;
            n = 1;
        } else if (cp < 0x800) {
            b[0] = (unsigned char)(0xC0 | (cp >> 6));
            b[1] = (unsigned char)(0x80 | (cp & 0x3F));
            n = 2;
        } else if (cp < 0x10000) {
            b[0] = (unsigned char)(0xE0 | (cp >> 12));
            b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
            b[2] = (unsigned char)(0x80 | (cp & 0x3F));
            n = 3;
        } else {
            b[0] = (unsigned char)(0xF0 | (cp >> 18));
            b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
            b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
            b[3] = (unsigned char)(0x80 | (cp & 0x3F));
            n = 4;
        }
        rc = wxp_utf8_check((const char *)b, n, &info);
        if (cp >= 0xD800 && cp <= 0xDFFF) {
            if (rc != WXP_E_UTF8 || info.bad_offset != 1) {
                fail_msg("surrogate U+%04lX: got %s offset %zu, want WXP_E_UTF8 at 1", cp,
                         wxp_code_name(rc), info.bad_offset);
            }
            continue;
        }
        if (rc != WXP_OK || info.chars != 1 || info.max_seq != n) {
            fail_msg("U+%04lX: got %s chars %zu max_seq %u, want WXP_OK 1 %zu", cp,
                     wxp_code_name(rc), info.chars, info.max_seq, n);
        }
    }
}

/* The counts of a long valid text, cut at every byte: a cut inside a character is refused at
 * that character's lead, a cut between characters is accepted with the prefix's counts. */
static void test_utf8_counts_every_prefix(void **state)
{
    static const char TEXT[] = "a\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80z";
    static const size_t STARTS[] = {0, 1, 3, 6, 10, 11}; /* character boundaries */
    (void)state;

    for (size_t len = 0; len <= sizeof TEXT - 1; len++) {
        struct wxp_utf8_info info;
        enum wxp_code rc = check_exact(TEXT, len, &info);
        size_t k = 0;

        while (k + 1 < NELEM(STARTS) && STARTS[k + 1] <= len) {
            k++;
        }
        if (STARTS[k] == len) {
            if (rc != WXP_OK || info.chars != k) {
                fail_msg("prefix %zu: got %s chars %zu, want WXP_OK %zu", len, wxp_code_name(rc),
                         info.chars, k);
            }
        } else if (rc != WXP_E_UTF8 || info.bad_offset != STARTS[k]) {
            fail_msg("prefix %zu: got %s offset %zu, want WXP_E_UTF8 at %zu", len,
                     wxp_code_name(rc), info.bad_offset, STARTS[k]);
        }
    }
}

/* Without counts the check skips ASCII eight bytes at a time: every bad byte, at every offset
 * from 0 to 24 in runs of ASCII (so before, on and after each 8-byte word), is refused as with
 * counts, and the same text without it is accepted. */
static void test_utf8_without_counts_agrees(void **state)
{
    static const char *const BAD[] = {"\x80", "\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80",
                                      "\xFF", "\xE4\xB8"};
    static const char *const GOOD[] = {"\xC3\xA9", "\xE4\xB8\xAD", "\xF0\x9F\x98\x80", "\x01"};
    char text[64];
    (void)state;

    for (size_t b = 0; b < NELEM(BAD) + NELEM(GOOD); b++) {
        bool bad = b < NELEM(BAD);
        const char *ins = bad ? BAD[b] : GOOD[b - NELEM(BAD)];
        size_t il = strlen(ins);

        for (size_t at = 0; at <= 24; at++) {
            for (size_t tail = 0; tail <= 9; tail += 9) {
                struct wxp_utf8_info info;
                size_t len = at + il + tail;

                memset(text, 'a', sizeof text);
                memcpy(text + at, ins, il);
                if (check_exact(text, len, NULL) != check_exact(text, len, &info) ||
                    (check_exact(text, len, NULL) == WXP_OK) == bad) {
                    fail_msg("insert %zu at %zu, tail %zu: with and without counts disagree, or "
                             "the verdict is wrong",
                             b, at, tail);
                }
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_accepts_valid_sequences),
        cmocka_unit_test(test_utf8_rejects_ill_formed_with_offset),
        cmocka_unit_test(test_utf8_classifies_every_lead_byte),
        cmocka_unit_test(test_utf8_accepts_every_scalar_value),
        cmocka_unit_test(test_utf8_counts_every_prefix),
        cmocka_unit_test(test_utf8_without_counts_agrees),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
