/* SPDX-License-Identifier: MIT */
/* test_err.c: wxp_err_set never overflows, keeps the end of a long field (a path keeps its file
 * name) and cuts a long message on a UTF-8 character boundary. */
#include <string.h>

#include "testutil.h"
#include "wxp/err.h"
#include "wxp/str.h"

static void test_err_set_short_values_are_whole(void **state)
{
    struct wxp_err err;
    (void)state;
    assert_int_equal(wxp_err_set(&err, WXP_E_IO, "k.pem", "cannot open %s", "k.pem"), WXP_E_IO);
    assert_int_equal(err.code, WXP_E_IO);
    assert_string_equal(err.field, "k.pem");
    assert_string_equal(err.msg, "cannot open k.pem");
    assert_int_equal(wxp_err_set(&err, WXP_E_NOMEM, NULL, NULL), WXP_E_NOMEM);
    assert_string_equal(err.field, "");
    assert_string_equal(err.msg, "out of memory");
    assert_int_equal(wxp_err_set(NULL, WXP_E_IO, "x", "y"), WXP_E_IO);
}

/* The field's last 60 bytes start on the second byte of U+5BC6 (E5 AF 86): it is dropped whole. */
static void test_err_set_long_field_keeps_its_end_bug(void **state)
{
    static const char path[] = "/home/merchant/projects/a-checkout-deeper-than-usual/"
                               "\xe5\xaf\x86"
                               "abcdefghijklmnopqrstuvwxyz0123456789ABCD/apiclient_key.pem";
    struct wxp_err err;
    (void)state;
    wxp_err_set(&err, WXP_E_IO, path, NULL);
    assert_string_equal(err.field,
                        WXP_ELLIPSIS "abcdefghijklmnopqrstuvwxyz0123456789ABCD/apiclient_key.pem");
}

/* A message longer than err.msg whose cut falls inside a 3-byte character ends before it. */
static void test_err_set_long_message_ends_on_a_character(void **state)
{
    char text[sizeof((struct wxp_err *)0)->msg + 8];
    size_t cut = sizeof((struct wxp_err *)0)->msg - 1;
    struct wxp_err err;
    (void)state;
    memset(text, 'a', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    /* E8 AF 81 at cut-1 .. cut+1: vsnprintf keeps only E8 AF. */
    memcpy(text + cut - 2, "\xe8\xaf\x81", 3);
    wxp_err_set(&err, WXP_E_INVALID_ARG, "f", "%s", text);
    assert_int_equal(strlen(err.msg), cut - 2);
    assert_memory_equal(err.msg, text, cut - 2);
    /* A cut between characters keeps everything that fits. */
    memset(text, 'a', sizeof text - 1);
    wxp_err_set(&err, WXP_E_INVALID_ARG, "f", "%s", text);
    assert_int_equal(strlen(err.msg), cut);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_set_short_values_are_whole),
        cmocka_unit_test(test_err_set_long_field_keeps_its_end_bug),
        cmocka_unit_test(test_err_set_long_message_ends_on_a_character),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
