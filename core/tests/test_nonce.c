/* SPDX-License-Identifier: MIT */
/* test_nonce.c: nonces are 32 Base62 characters, do not repeat, and come from the CSPRNG
 * (RAND_bytes) alone. */
/* RAND_METHOD is deprecated in OpenSSL 3 but still honoured by RAND_bytes: the one seam that lets
 * a test see exactly which bytes the nonce is made of. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/rand.h>
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

/* A scripted RAND_bytes: script[] (cycled), or failure. */
static const unsigned char *script;
static size_t script_len;
static size_t script_pos;
static int rand_calls;
static int rand_fails;

static int scripted_bytes(unsigned char *buf, int num)
{
    rand_calls++;
    if (rand_fails) {
        return 0;
    }
    for (int i = 0; i < num; i++) {
        buf[i] = script[script_pos++ % script_len];
    }
    return 1;
}

static int scripted_status(void)
{
    return 1;
}

static const RAND_METHOD SCRIPTED = {NULL, scripted_bytes, NULL,
                                     NULL, scripted_bytes, scripted_status};

static void use_script(const unsigned char *s, size_t n, int fails)
{
    script = s;
    script_len = n;
    script_pos = 0;
    rand_calls = 0;
    rand_fails = fails;
    assert_int_equal(RAND_set_rand_method(&SCRIPTED), 1);
}

static int restore_rand(void **state)
{
    (void)state;
    return RAND_set_rand_method(RAND_OpenSSL()) == 1 ? 0 : -1;
}

/* rule: nonces come from the CSPRNG only, so each character is a function of RAND_bytes'
 * output and nothing else: no time, pid or counter mixed in. src: docs/protocol.md#nonce */
static void test_nonce_is_made_of_rand_bytes_only(void **state)
{
    (void)state;
    static unsigned char seq[64];
    char n[WXP_NONCE_LEN + 1];

    for (size_t i = 0; i < sizeof seq; i++) {
        seq[i] = (unsigned char)i;
    }
    use_script(seq, sizeof seq, 0);
    assert_int_equal(wxp_nonce(n, NULL), WXP_OK);
    assert_string_equal(n, "0123456789ABCDEFGHIJKLMNOPQRSTUV");
    assert_int_equal(rand_calls, 1);
    /* The same bytes give the same nonce: there is no other input. */
    use_script(seq, sizeof seq, 0);
    {
        char again[WXP_NONCE_LEN + 1];
        assert_int_equal(wxp_nonce(again, NULL), WXP_OK);
        assert_string_equal(again, n);
    }
}

static void test_nonce_drops_biased_bytes(void **state)
{
    (void)state;
    /* 248..255 would favour 0-7: they are skipped, and more bytes are drawn when needed. */
    static const unsigned char seq[] = {248, 255, 61, 62, 250, 123, 247};
    char n[WXP_NONCE_LEN + 1];

    use_script(seq, sizeof seq, 0);
    assert_int_equal(wxp_nonce(n, NULL), WXP_OK);
    /* Kept, in order: 61 -> 'z', 62 % 62 -> '0', 123 % 62 = 61 -> 'z', 247 % 62 = 61 -> 'z'. */
    for (size_t i = 0; i < WXP_NONCE_LEN; i++) {
        static const char cycle[] = {'z', '0', 'z', 'z'};
        assert_int_equal(n[i], cycle[i % 4]);
    }
}

static void test_nonce_fails_without_csprng(void **state)
{
    (void)state;
    static const unsigned char zero[1] = {0};
    char n[WXP_NONCE_LEN + 1];
    struct wxp_err err;

    use_script(zero, sizeof zero, 1);
    assert_int_equal(wxp_nonce(n, &err), WXP_E_CRYPTO);
    assert_int_equal(err.code, WXP_E_CRYPTO);
    assert_non_null(strstr(err.msg, "RAND_bytes"));
    assert_int_equal(rand_calls, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nonce_is_32_base62_chars),
        cmocka_unit_test(test_nonce_does_not_repeat_and_covers_alphabet),
        cmocka_unit_test_teardown(test_nonce_is_made_of_rand_bytes_only, restore_rand),
        cmocka_unit_test_teardown(test_nonce_drops_biased_bytes, restore_rand),
        cmocka_unit_test_teardown(test_nonce_fails_without_csprng, restore_rand),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
