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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_str_compare),
        cmocka_unit_test(test_parse_long_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
