/* SPDX-License-Identifier: MIT */
/* test_nonce.c: nonces are 32 Base62 characters and do not repeat. */
#include <string.h>

#include "testutil.h"
#include "wxp/nonce.h"

static void test_nonce_is_32_base62_chars(void **state)
{
    (void)state;
    char n[WXP_NONCE_LEN + 1];
    static const char allowed[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    for (int i = 0; i < 200; i++) {
        assert_int_equal(wxp_nonce(n, NULL), WXP_OK);
        assert_int_equal(strlen(n), 32);
        assert_int_equal(strspn(n, allowed), 32);
    }
}

static void test_nonce_does_not_repeat_and_covers_alphabet(void **state)
{
    (void)state;
    enum { N = 500 };
    static char seen[N][WXP_NONCE_LEN + 1];
    unsigned char hit[256] = {0};
    size_t distinct = 0;
    for (int i = 0; i < N; i++) {
        assert_int_equal(wxp_nonce(seen[i], NULL), WXP_OK);
        for (int j = 0; j < i; j++) {
            assert_string_not_equal(seen[i], seen[j]);
        }
        for (int k = 0; k < WXP_NONCE_LEN; k++) {
            hit[(unsigned char)seen[i][k]] = 1;
        }
    }
    for (int c = 0; c < 256; c++) {
        distinct += hit[c];
    }
    /* 16000 draws over 62 symbols: all of them show up unless the mapping is broken. */
    assert_int_equal(distinct, 62);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nonce_is_32_base62_chars),
        cmocka_unit_test(test_nonce_does_not_repeat_and_covers_alphabet),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
