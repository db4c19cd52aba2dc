/* SPDX-License-Identifier: MIT */
/* test_buf.c: the capped buffer grows, caps, and keeps its contents on failure. */
#include <string.h>

#include "testutil.h"
#include "wxp/buf.h"

static void test_buf_appends_and_terminates(void **state)
{
    (void)state;
    struct wxp_buf b;
    wxp_buf_init(&b, 1024);
    assert_string_equal(wxp_buf_cstr(&b), "");
    assert_int_equal(wxp_buf_addstr(&b, "abc"), WXP_OK);
    assert_int_equal(wxp_buf_add(&b, "\0x", 2), WXP_OK);
    assert_int_equal(wxp_buf_addf(&b, "%d-%s", 42, "z"), WXP_OK);
    assert_int_equal(b.len, 9);
    assert_memory_equal(b.ptr, "abc\0x42-z", 9);
    assert_int_equal(b.ptr[b.len], '\0');
    wxp_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(wxp_buf_cstr(&b), "");
    wxp_buf_free(&b);
    assert_null(b.ptr);
    wxp_buf_free(NULL);
}

static void test_buf_cap_is_exact_and_failure_keeps_contents(void **state)
{
    (void)state;
    struct wxp_buf b;
    char big[300];
    memset(big, 'x', sizeof big);
    wxp_buf_init(&b, 10);
    assert_int_equal(wxp_buf_add(&b, big, 10), WXP_OK);
    assert_int_equal(wxp_buf_add(&b, "y", 1), WXP_E_TOO_LARGE);
    assert_int_equal(wxp_buf_addf(&b, "%s", "y"), WXP_E_TOO_LARGE);
    assert_int_equal(b.len, 10);
    assert_memory_equal(b.ptr, big, 10);
    wxp_buf_free(&b);
    wxp_buf_init(&b, 200);
    assert_int_equal(wxp_buf_add(&b, big, 300), WXP_E_TOO_LARGE);
    assert_int_equal(b.len, 0);
    assert_int_equal(wxp_buf_add(&b, big, SIZE_MAX), WXP_E_TOO_LARGE);
    wxp_buf_free(&b);
}

static void test_buf_grows_across_many_appends(void **state)
{
    (void)state;
    struct wxp_buf b;
    wxp_buf_init(&b, 1 << 20);
    for (int i = 0; i < 10000; i++) {
        assert_int_equal(wxp_buf_addf(&b, "%04d", i % 10000), WXP_OK);
    }
    assert_int_equal(b.len, 40000);
    assert_memory_equal(b.ptr + 4 * 1234, "1234", 4);
    wxp_buf_free(&b);
}

/* An unbounded buffer (max SIZE_MAX) grows like any other: max + 1 must not wrap to 0. */
static void test_buf_unbounded_max(void **state)
{
    struct wxp_buf b;
    (void)state;
    wxp_buf_init(&b, SIZE_MAX);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(wxp_buf_addstr(&b, "0123456789"), WXP_OK);
    }
    assert_int_equal(b.len, 1000);
    assert_true(b.cap >= 1001);
    assert_int_equal(wxp_buf_cstr(&b)[999], '9');
    wxp_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_appends_and_terminates),
        cmocka_unit_test(test_buf_cap_is_exact_and_failure_keeps_contents),
        cmocka_unit_test(test_buf_grows_across_many_appends),
        cmocka_unit_test(test_buf_unbounded_max),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
