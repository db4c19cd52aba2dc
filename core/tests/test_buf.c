/* SPDX-License-Identifier: MIT */
/* test_buf.c: the capped buffer grows, caps, and keeps its contents on failure. */
#include <stdio.h>
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

/* wxp_buf_addf formats a piece that fits in its stack scratch once, and a longer one in the buffer
 * itself: both give what snprintf gives, at every length around the switch, after earlier
 * contents, and a piece one byte over the cap fails with the contents kept. */
static void test_buf_addf_short_and_long_pieces(void **state)
{
    (void)state;
    static const size_t LENS[] = {0, 1, 1022, 1023, 1024, 1025, 1026, 5000};
    static char piece[5001], want[5100];
    struct wxp_buf b;

    for (size_t i = 0; i < sizeof LENS / sizeof LENS[0]; i++) {
        size_t n = LENS[i];
        memset(piece, 'a' + (int)(i % 26), n);
        piece[n] = '\0';
        snprintf(want, sizeof want, "head|%s|%zu", piece, n);
        wxp_buf_init(&b, 6000);
        assert_int_equal(wxp_buf_addstr(&b, "head"), WXP_OK);
        assert_int_equal(wxp_buf_addf(&b, "|%s|%zu", piece, n), WXP_OK);
        if (b.len != strlen(want) || strcmp(wxp_buf_cstr(&b), want) != 0) {
            fail_msg("piece of %zu bytes: %zu bytes out, %zu wanted", n, b.len, strlen(want));
        }
        wxp_buf_free(&b);
        /* The same piece with one byte less room than it needs. */
        wxp_buf_init(&b, 4 + 1 + n + 1 + (n >= 1000 ? 4 : n >= 100 ? 3 : n >= 10 ? 2 : 1) - 1);
        assert_int_equal(wxp_buf_addstr(&b, "head"), WXP_OK);
        assert_int_equal(wxp_buf_addf(&b, "|%s|%zu", piece, n), WXP_E_TOO_LARGE);
        assert_string_equal(wxp_buf_cstr(&b), "head");
        wxp_buf_free(&b);
    }
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
        cmocka_unit_test(test_buf_addf_short_and_long_pieces),
        cmocka_unit_test(test_buf_unbounded_max),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
