/* SPDX-License-Identifier: MIT */
/* test_base64.c: RFC 4648 §4 base64: the RFC's vectors, every byte value, strict decoding. */
#include <string.h>

#include "testutil.h"
#include "wxp/base64.h"

/* RFC 4648 §10 test vectors. */
struct vec {
    int line;
    const char *plain;
    const char *encoded;
};

static const struct vec RFC_VECTORS[] = {
    {__LINE__, "", ""},
    {__LINE__, "f", "Zg=="},
    {__LINE__, "fo", "Zm8="},
    {__LINE__, "foo", "Zm9v"},
    {__LINE__, "foob", "Zm9vYg=="},
    {__LINE__, "fooba", "Zm9vYmE="},
    {__LINE__, "foobar", "Zm9vYmFy"},
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void test_base64_encodes_rfc4648_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < NELEM(RFC_VECTORS); i++) {
        const struct vec *v = &RFC_VECTORS[i];
        char out[16];
        size_t outlen = 999;
        size_t n = strlen(v->plain);
        memset(out, 'X', sizeof out);
        if (wxp_base64_encode(v->plain, n, out, sizeof out, &outlen) != WXP_OK) {
            fail_msg("row at line %d: encode failed", v->line);
        }
        if (outlen != strlen(v->encoded) || strcmp(out, v->encoded) != 0) {
            fail_msg("row at line %d: encoded \"%s\" (len %zu), want \"%s\"", v->line, out, outlen,
                     v->encoded);
        }
        if (WXP_BASE64_ENCODED_LEN(n) != outlen) {
            fail_msg("row at line %d: WXP_BASE64_ENCODED_LEN(%zu) is %zu, output is %zu", v->line,
                     n, (size_t)WXP_BASE64_ENCODED_LEN(n), outlen);
        }
    }
}

static void test_base64_decodes_rfc4648_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < NELEM(RFC_VECTORS); i++) {
        const struct vec *v = &RFC_VECTORS[i];
        unsigned char out[16];
        size_t outlen = 999;
        if (wxp_base64_decode(v->encoded, strlen(v->encoded), out, sizeof out, &outlen) != WXP_OK) {
            fail_msg("row at line %d: decode of \"%s\" failed", v->line, v->encoded);
        }
        if (outlen != strlen(v->plain) || memcmp(out, v->plain, outlen) != 0) {
            fail_msg("row at line %d: decoded %zu bytes, want \"%s\"", v->line, outlen, v->plain);
        }
    }
}

static void test_base64_round_trips_every_byte_value(void **state)
{
    (void)state;
    unsigned char all[256];
    char enc[WXP_BASE64_ENCODED_LEN(256) + 1];
    unsigned char dec[256];
    size_t enclen = 0;
    size_t declen = 0;

    for (size_t i = 0; i < sizeof all; i++) {
        all[i] = (unsigned char)i;
    }
    /* Every prefix length, so each of the three tail shapes meets every byte value. */
    for (size_t n = 0; n <= sizeof all; n++) {
        assert_int_equal(wxp_base64_encode(all, n, enc, sizeof enc, &enclen), WXP_OK);
        assert_int_equal(enclen, WXP_BASE64_ENCODED_LEN(n));
        assert_int_equal(wxp_base64_decode(enc, enclen, dec, sizeof dec, &declen), WXP_OK);
        assert_int_equal(declen, n);
        assert_memory_equal(dec, all, n);
    }
    /* Each byte value alone in every position of a 3-byte group. */
    for (unsigned b = 0; b < 256; b++) {
        for (size_t pos = 0; pos < 3; pos++) {
            unsigned char grp[3] = {0x5A, 0xA5, 0x00};
            grp[pos] = (unsigned char)b;
            assert_int_equal(wxp_base64_encode(grp, 3, enc, sizeof enc, &enclen), WXP_OK);
            assert_int_equal(enclen, 4);
            assert_int_equal(wxp_base64_decode(enc, enclen, dec, sizeof dec, &declen), WXP_OK);
            assert_int_equal(declen, 3);
            assert_memory_equal(dec, grp, 3);
        }
    }
}

static void test_base64_encodes_known_high_bytes(void **state)
{
    (void)state;
    static const unsigned char in[] = {0xFB, 0xFF, 0xBF, 0x00, 0x3E};
    char out[16];
    size_t outlen = 0;
    assert_int_equal(wxp_base64_encode(in, sizeof in, out, sizeof out, &outlen), WXP_OK);
    assert_string_equal(out, "+/+/AD4=");
    assert_int_equal(outlen, 8);
}

/* Inputs the strict decoder must refuse, and with which code. */
struct bad {
    int line;
    const char *in;
    size_t len; /* explicit, so an embedded NUL is really part of the input */
    enum wxp_code want;
};

#define BAD(s, code)                                                                               \
    {                                                                                              \
        __LINE__, (s), sizeof(s) - 1, (code)                                                       \
    }

static const struct bad BAD_INPUTS[] = {
    BAD("Z", WXP_E_SIG_BASE64),
    BAD("Zg", WXP_E_SIG_BASE64),
    BAD("Zg=", WXP_E_SIG_BASE64),
    BAD("Zm9vY", WXP_E_SIG_BASE64),
    BAD("Zm9vYg==Zg", WXP_E_SIG_BASE64),
    BAD("Zg==Zg==", WXP_E_SIG_BASE64),
    BAD("Z===", WXP_E_SIG_BASE64),
    BAD("A===", WXP_E_SIG_BASE64),
    BAD("====", WXP_E_SIG_BASE64),
    BAD("=Zm9", WXP_E_SIG_BASE64),
    BAD("Zm=v", WXP_E_SIG_BASE64),
    BAD("Z=g=", WXP_E_SIG_BASE64),
    BAD("Zm9v=Zm9", WXP_E_SIG_BASE64),
    BAD("Zm9-", WXP_E_SIG_BASE64),
    BAD("Zm9_", WXP_E_SIG_BASE64),
    BAD("Zm 9", WXP_E_SIG_BASE64),
    BAD("Zm9v\nYmFy", WXP_E_SIG_BASE64),
    BAD("Zm9\n", WXP_E_SIG_BASE64),
    BAD("Zm9\r", WXP_E_SIG_BASE64),
    BAD("Zm9\t", WXP_E_SIG_BASE64),
    BAD(" Zm9", WXP_E_SIG_BASE64),
    BAD("Zm9\0", WXP_E_SIG_BASE64),
    BAD("Zm9.", WXP_E_SIG_BASE64),
    BAD("Zm9\xC3", WXP_E_SIG_BASE64),
    BAD("Zm9v\x80Y==", WXP_E_SIG_BASE64),
    /* Non-zero bits under the padding: "Zg==" is 'f', "Zh==" is a second spelling of it. */
    BAD("Zh==", WXP_E_SIG_BASE64),
    BAD("Zv==", WXP_E_SIG_BASE64),
    BAD("Zm9=", WXP_E_SIG_BASE64),
    BAD("Zm+=", WXP_E_SIG_BASE64),
};

static void test_base64_rejects_malformed_input(void **state)
{
    (void)state;
    for (size_t i = 0; i < NELEM(BAD_INPUTS); i++) {
        const struct bad *b = &BAD_INPUTS[i];
        unsigned char out[64];
        size_t outlen = 12345;
        enum wxp_code got = wxp_base64_decode(b->in, b->len, out, sizeof out, &outlen);
        if (got != b->want) {
            fail_msg("row at line %d: got %s, want %s", b->line, wxp_code_name(got),
                     wxp_code_name(b->want));
        }
        if (got != WXP_OK && outlen != 12345) {
            fail_msg("row at line %d: outlen written on failure", b->line);
        }
    }
}

static void test_base64_accepts_canonical_padding(void **state)
{
    (void)state;
    unsigned char out[4];
    size_t outlen = 0;
    assert_int_equal(wxp_base64_decode("Zg==", 4, out, sizeof out, &outlen), WXP_OK);
    assert_int_equal(outlen, 1);
    assert_int_equal(out[0], 'f');
    assert_int_equal(wxp_base64_decode("Zm8=", 4, out, sizeof out, &outlen), WXP_OK);
    assert_int_equal(outlen, 2);
    assert_memory_equal(out, "fo", 2);
    assert_int_equal(wxp_base64_decode("", 0, out, 0, &outlen), WXP_OK);
    assert_int_equal(outlen, 0);
}

static void test_base64_encode_rejects_small_buffer(void **state)
{
    (void)state;
    char out[16];
    size_t outlen = 77;

    memset(out, 'X', sizeof out);
    /* "foobar" needs 8 characters plus the NUL. */
    assert_int_equal(wxp_base64_encode("foobar", 6, out, 8, &outlen), WXP_E_TOO_LARGE);
    assert_int_equal(outlen, 77);
    assert_int_equal(out[0], 'X');
    assert_int_equal(wxp_base64_encode("foobar", 6, out, 9, &outlen), WXP_OK);
    assert_string_equal(out, "Zm9vYmFy");
    assert_int_equal(wxp_base64_encode("", 0, out, 0, &outlen), WXP_E_TOO_LARGE);
    assert_int_equal(wxp_base64_encode("", 0, out, 1, &outlen), WXP_OK);
    assert_string_equal(out, "");
    assert_int_equal(outlen, 0);
}

static void test_base64_decode_rejects_small_buffer(void **state)
{
    (void)state;
    unsigned char out[8];
    size_t outlen = 77;

    memset(out, 0xEE, sizeof out);
    assert_int_equal(wxp_base64_decode("Zm9vYmFy", 8, out, 5, &outlen), WXP_E_TOO_LARGE);
    assert_int_equal(outlen, 77);
    assert_int_equal(out[0], 0xEE);
    assert_int_equal(wxp_base64_decode("Zm9vYmFy", 8, out, 6, &outlen), WXP_OK);
    assert_int_equal(outlen, 6);
    assert_memory_equal(out, "foobar", 6);
    /* Padding counts: "Zm9vYg==" is 4 bytes, so a 4-byte buffer is enough and 3 is not. */
    assert_int_equal(wxp_base64_decode("Zm9vYg==", 8, out, 3, &outlen), WXP_E_TOO_LARGE);
    assert_int_equal(wxp_base64_decode("Zm9vYg==", 8, out, 4, &outlen), WXP_OK);
    assert_int_equal(outlen, 4);
    assert_memory_equal(out, "foob", 4);
    assert_int_equal(wxp_base64_decode("Zg==", 4, out, 0, &outlen), WXP_E_TOO_LARGE);
}

static void test_base64_outlen_is_optional(void **state)
{
    (void)state;
    char enc[8];
    unsigned char dec[4];
    assert_int_equal(wxp_base64_encode("fo", 2, enc, sizeof enc, NULL), WXP_OK);
    assert_string_equal(enc, "Zm8=");
    assert_int_equal(wxp_base64_decode(enc, 4, dec, sizeof dec, NULL), WXP_OK);
    assert_memory_equal(dec, "fo", 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64_encodes_rfc4648_vectors),
        cmocka_unit_test(test_base64_decodes_rfc4648_vectors),
        cmocka_unit_test(test_base64_round_trips_every_byte_value),
        cmocka_unit_test(test_base64_encodes_known_high_bytes),
        cmocka_unit_test(test_base64_rejects_malformed_input),
        cmocka_unit_test(test_base64_accepts_canonical_padding),
        cmocka_unit_test(test_base64_encode_rejects_small_buffer),
        cmocka_unit_test(test_base64_decode_rejects_small_buffer),
        cmocka_unit_test(test_base64_outlen_is_optional),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
