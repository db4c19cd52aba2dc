/* SPDX-License-Identifier: MIT */
/* test_str.c: slices compare as documented, and wxp_parse_long takes digits within a range and
 * nothing else, leaving *out untouched when it refuses. */
#include <string.h>

#include "testutil.h"
#include "wxp/str.h"

static void test_str_compare(void **state)
{
    (void)state;
    assert_true(wxp_str_eq(wxp_str_c("abc"), WXP_STR_LIT("abc")));
    assert_false(wxp_str_eq(wxp_str_c("abc"), WXP_STR_LIT("abd")));
    assert_true(wxp_str_eq_nocase(wxp_str_c("Content-Type"), WXP_STR_LIT("content-type")));
    assert_true(wxp_str_starts_with(wxp_str_c("/__admin/state"), "/__admin/"));
    assert_false(wxp_str_starts_with(wxp_str_c("/__adm"), "/__admin/"));
}

static void test_parse_long_rows(void **state)
{
    static const struct {
        const char *in;
        long lo, hi;
        bool ok;
        long want;
    } rows[] = {
        {"0", 0, 10, true, 0},
        {"10", 0, 10, true, 10},
        {"007", 0, 10, true, 7},
        {"11", 0, 10, false, 0},
        {"0", 1, 10, false, 0},
        {"", 0, 10, false, 0},
        {"-1", -5, 10, false, 0},
        {"+1", 0, 10, false, 0},
        {" 1", 0, 10, false, 0},
        {"1 ", 0, 10, false, 0},
        {"1x", 0, 10, false, 0},
        {"0x10", 0, 100, false, 0},
        {"99999999999999999999", 0, 1000000, false, 0},
        {"65535", 0, 65535, true, 65535},
    };
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        long out = -42;
        bool ok = wxp_parse_long(rows[i].in, rows[i].lo, rows[i].hi, &out);
        if (ok != rows[i].ok || (ok && out != rows[i].want) || (!ok && out != -42)) {
            fail_msg("row %zu '%s': ok %d out %ld", i, rows[i].in, ok, out);
        }
    }
    assert_false(wxp_parse_long(NULL, 0, 1, &(long){0}));
}

/* A string that fits is copied whole; a longer one keeps its end behind "…", and the kept end
 * starts on a character boundary even when the cut falls inside a 2-, 3- or 4-byte character. */
static void test_str_tail_rows(void **state)
{
    static const struct {
        int line;
        size_t cap;
        const char *in;
        const char *want;
    } rows[] = {
        {__LINE__, 16, "short.pem", "short.pem"},
        {__LINE__, 10, "short.pem", "short.pem"},
        {__LINE__, 9, "short.pem", WXP_ELLIPSIS "t.pem"},
        {__LINE__, 10, "/a/b/c/d/key.pem", WXP_ELLIPSIS "ey.pem"},
        {__LINE__, 12, "/dir/\xe8\xaf\x81/k.pem", WXP_ELLIPSIS "/k.pem"},
        {__LINE__, 13, "/dir/\xe8\xaf\x81/k.pem", WXP_ELLIPSIS "\xe8\xaf\x81/k.pem"},
        {__LINE__, 14, "/dir/\xe8\xaf\x81/k.pem", WXP_ELLIPSIS "/\xe8\xaf\x81/k.pem"},
        {__LINE__, 15, "/dir/\xe8\xaf\x81/k.pem", "/dir/\xe8\xaf\x81/k.pem"},
        {__LINE__, 11, "/d/\xc3\xa9/k.pem", WXP_ELLIPSIS "/k.pem"},
        {__LINE__, 9, "/dd/\xf0\x9f\x94\x91/k", WXP_ELLIPSIS "/k"},
        {__LINE__, 10, "/dd/\xf0\x9f\x94\x91/k", WXP_ELLIPSIS "\xf0\x9f\x94\x91/k"},
        {__LINE__, 5, "abcdef", WXP_ELLIPSIS "f"},
        {__LINE__, 4, "abcdef", ""},
        {__LINE__, 1, "abcdef", ""},
        {__LINE__, 8, "", ""},
    };
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char out[64];
        memset(out, 'X', sizeof out);
        if (wxp_str_tail(out, rows[i].cap, rows[i].in) != out || strlen(out) >= rows[i].cap ||
            strcmp(out, rows[i].want) != 0) {
            fail_msg("row at line %d: got '%s'", rows[i].line, out);
        }
    }
    {
        char out[8];
        assert_string_equal(wxp_str_tail(out, sizeof out, NULL), "");
        assert_ptr_equal(wxp_str_tail(out, 0, "x"), out);
    }
    {
        /* In place: a buffer cut to its own first 10 bytes. */
        char buf[] = "/a/b/c/d/key.pem";
        assert_string_equal(wxp_str_tail(buf, 10, buf), WXP_ELLIPSIS "ey.pem");
    }
}

/* What to keep of text cut at len bytes: never the first bytes of a character without the rest. */
static void test_utf8_prefix_len_rows(void **state)
{
    static const struct {
        int line;
        const char *in;
        size_t len, want;
    } rows[] = {
        {__LINE__, "", 0, 0},
        {__LINE__, "abc", 3, 3},
        {__LINE__, "ab\xe8\xaf\x81", 5, 5},
        {__LINE__, "ab\xe8\xaf\x81", 4, 2},
        {__LINE__, "ab\xe8\xaf\x81", 3, 2},
        {__LINE__, "a\xc3\xa9", 2, 1},
        {__LINE__, "a\xc3\xa9", 3, 3},
        {__LINE__, "\xf0\x9f\x94\x91", 3, 0},
        {__LINE__, "\xf0\x9f\x94\x91", 4, 4},
        {__LINE__, "a\x80\x80\x80\x80", 5, 5},
        {__LINE__, "a\xff", 2, 2},
    };
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        size_t got = wxp_utf8_prefix_len(rows[i].in, rows[i].len);
        if (got != rows[i].want) {
            fail_msg("row at line %d: got %zu", rows[i].line, got);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_str_compare),
        cmocka_unit_test(test_parse_long_rows),
        cmocka_unit_test(test_str_tail_rows),
        cmocka_unit_test(test_utf8_prefix_len_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
