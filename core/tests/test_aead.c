/* SPDX-License-Identifier: MIT */
/* test_aead.c: AEAD_AES_256_GCM against fixtures/vectors/aead.json, made by python3-cryptography
 * (fixtures/gen/aead-vectors.py), in both directions; every negative row fails with its exact
 * code; the contract's bounds, and nothing of the key in any message. */
#include <cjson/cJSON.h>
#include <string.h>

#include "testutil.h"
#include "wxp/aead.h"
#include "wxp/base64.h"
#include "wxp/buf.h"
#include "wxp/mem.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define KEY_A "TestOnlyApiV3KeyA1900000109zYxWv"

static cJSON *vectors(void)
{
    size_t len = 0;
    char *text = t_read("vectors/aead.json", &len);
    cJSON *root = cJSON_ParseWithLength(text, len);
    wxp_free(text);
    assert_non_null(root);
    return root;
}

static const char *member(const cJSON *row, const char *name)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(row, name);
    if (!cJSON_IsString(it)) {
        fail_msg("vector row lacks the string \"%s\"", name);
    }
    return it->valuestring;
}

static struct wxp_aead_params params_of(const cJSON *row)
{
    struct wxp_aead_params p = {wxp_str_c(member(row, "key")), wxp_str_c(member(row, "nonce")),
                                wxp_str_c(member(row, "associated_data"))};
    return p;
}

/* Every row decrypts to its plaintext_b64, and encrypting that gives the row's ciphertext. */
static void test_aead_vectors_both_directions(void **state)
{
    cJSON *root = vectors();
    const cJSON *cases = cJSON_GetObjectItemCaseSensitive(root, "cases");
    const cJSON *row;
    size_t count = 0;
    (void)state;

    cJSON_ArrayForEach(row, cases)
    {
        const char *name = member(row, "name");
        const char *pt_b64 = member(row, "plaintext_b64");
        const char *ct = member(row, "ciphertext");
        struct wxp_aead_params p = params_of(row);
        unsigned char want[8192];
        size_t want_len = 0;
        struct wxp_buf got;
        struct wxp_err err;

        assert_int_equal(wxp_base64_decode(pt_b64, strlen(pt_b64), want, sizeof want, &want_len),
                         WXP_OK);
        wxp_buf_init(&got, 65536);
        if (wxp_aead_decrypt(&p, ct, strlen(ct), &got, &err) != WXP_OK) {
            fail_msg("%s: decrypt: %s: %s", name, wxp_code_name(err.code), err.msg);
        }
        if (got.len != want_len || memcmp(wxp_buf_cstr(&got), want, want_len) != 0) {
            fail_msg("%s: decrypted %zu bytes, not the %zu of plaintext_b64", name, got.len,
                     want_len);
        }
        wxp_buf_reset(&got);
        if (wxp_aead_encrypt(&p, want, want_len, &got, &err) != WXP_OK) {
            fail_msg("%s: encrypt: %s: %s", name, wxp_code_name(err.code), err.msg);
        }
        if (strcmp(wxp_buf_cstr(&got), ct) != 0) {
            fail_msg("%s: encrypted to %s, want %s", name, wxp_buf_cstr(&got), ct);
        }
        wxp_buf_free(&got);
        count++;
    }
    assert_true(count >= 8);
    cJSON_Delete(root);
}

/* The negative rows, by name, with the exact code each must give. */
static const struct {
    int line;
    const char *name;
    enum wxp_code code;
} NEG[] = {
    {__LINE__, "tampered-tag", WXP_E_AEAD_AUTH},
    {__LINE__, "tampered-ciphertext", WXP_E_AEAD_AUTH},
    {__LINE__, "wrong-key", WXP_E_AEAD_AUTH},
    {__LINE__, "other-merchants-key", WXP_E_AEAD_AUTH},
    {__LINE__, "wrong-associated-data", WXP_E_AEAD_AUTH},
    {__LINE__, "empty-instead-of-associated-data", WXP_E_AEAD_AUTH},
    {__LINE__, "wrong-nonce", WXP_E_AEAD_AUTH},
    {__LINE__, "truncated-tag", WXP_E_AEAD_AUTH},
    {__LINE__, "tag-only-of-another-length", WXP_E_AEAD_AUTH},
    {__LINE__, "shorter-than-a-tag", WXP_E_AEAD_FORMAT},
    {__LINE__, "empty-ciphertext", WXP_E_AEAD_FORMAT},
    {__LINE__, "bad-base64-character", WXP_E_AEAD_FORMAT},
    {__LINE__, "bad-base64-no-padding", WXP_E_AEAD_FORMAT},
    {__LINE__, "bad-base64-whitespace", WXP_E_AEAD_FORMAT},
};

/* Each negative row fails with its code and field, and leaves the output as it was. */
static void test_aead_negative_rows_exact_codes(void **state)
{
    cJSON *root = vectors();
    const cJSON *neg = cJSON_GetObjectItemCaseSensitive(root, "negative");
    size_t seen = 0;
    (void)state;

    assert_int_equal((size_t)cJSON_GetArraySize(neg), NELEM(NEG));
    for (size_t i = 0; i < NELEM(NEG); i++) {
        const cJSON *row = NULL;
        const cJSON *it;
        struct wxp_buf out;
        struct wxp_err err;
        enum wxp_code rc;

        cJSON_ArrayForEach(it, neg)
        {
            if (strcmp(member(it, "name"), NEG[i].name) == 0) {
                row = it;
            }
        }
        if (row == NULL) {
            fail_msg("row at line %d: no vector named %s", NEG[i].line, NEG[i].name);
        }
        struct wxp_aead_params p = params_of(row);
        const char *ct = member(row, "ciphertext");
        wxp_buf_init(&out, 65536);
        assert_int_equal(wxp_buf_addstr(&out, "kept"), WXP_OK);
        rc = wxp_aead_decrypt(&p, ct, strlen(ct), &out, &err);
        if (rc != NEG[i].code || err.code != rc || strcmp(err.field, "ciphertext") != 0) {
            fail_msg("row at line %d (%s): %s field \"%s\", want %s", NEG[i].line, NEG[i].name,
                     wxp_code_name(rc), err.field, wxp_code_name(NEG[i].code));
        }
        if (strcmp(wxp_buf_cstr(&out), "kept") != 0) {
            fail_msg("row at line %d (%s): output changed", NEG[i].line, NEG[i].name);
        }
        wxp_buf_free(&out);
        seen++;
    }
    assert_int_equal(seen, NELEM(NEG));
    cJSON_Delete(root);
}

/* Key and nonce lengths, size bounds: their own codes, with nothing of the key in the message. */
static void test_aead_rejects_bad_lengths(void **state)
{
    static const char key31[] = "SecretKeyBytesMustNotBeShown-31";
    static const char key33[] = "SecretKeyBytesMustNotBeShown-33bb";
    static const struct {
        int line;
        struct wxp_str key;
        struct wxp_str nonce;
        size_t aad_len;
        enum wxp_code code;
        const char *field;
    } ROWS[] = {
        {__LINE__, {key31, 31}, {"0123456789ab", 12}, 0, WXP_E_AEAD_KEY, "key"},
        {__LINE__, {key33, 33}, {"0123456789ab", 12}, 0, WXP_E_AEAD_KEY, "key"},
        {__LINE__, {KEY_A, 0}, {"0123456789ab", 12}, 0, WXP_E_AEAD_KEY, "key"},
        {__LINE__, {NULL, 0}, {"0123456789ab", 12}, 0, WXP_E_INVALID_ARG, "key"},
        {__LINE__, {KEY_A, 32}, {"0123456789a", 11}, 0, WXP_E_AEAD_NONCE, "nonce"},
        {__LINE__, {KEY_A, 32}, {"0123456789abc", 13}, 0, WXP_E_AEAD_NONCE, "nonce"},
        {__LINE__, {KEY_A, 32}, {"", 0}, 0, WXP_E_AEAD_NONCE, "nonce"},
        {__LINE__, {KEY_A, 32}, {NULL, 0}, 0, WXP_E_AEAD_NONCE, "nonce"},
        {__LINE__,
         {KEY_A, 32},
         {"0123456789ab", 12},
         WXP_AEAD_AAD_MAX + 1,
         WXP_E_TOO_LARGE,
         "associated_data"},
    };
    static char aad[WXP_AEAD_AAD_MAX + 1];
    (void)state;

    memset(aad, 'a', sizeof aad);
    for (size_t i = 0; i < NELEM(ROWS); i++) {
        struct wxp_aead_params p = {ROWS[i].key, ROWS[i].nonce, {aad, ROWS[i].aad_len}};
        struct wxp_buf out;
        struct wxp_err err;
        enum wxp_code rc;

        wxp_buf_init(&out, 4096);
        for (int dir = 0; dir < 2; dir++) {
            rc = dir ? wxp_aead_encrypt(&p, "x", 1, &out, &err)
                     : wxp_aead_decrypt(&p, "AAAAAAAAAAAAAAAAAAAAAA==", 24, &out, &err);
            if (rc != ROWS[i].code || strcmp(err.field, ROWS[i].field) != 0) {
                fail_msg("row at line %d (%s): %s field \"%s\"", ROWS[i].line,
                         dir ? "encrypt" : "decrypt", wxp_code_name(rc), err.field);
            }
            if (strstr(err.msg, "SecretKeyBytes") != NULL) {
                fail_msg("row at line %d: the message shows the key: %s", ROWS[i].line, err.msg);
            }
        }
        assert_int_equal(out.len, 0);
        wxp_buf_free(&out);
    }
}

static void test_aead_size_bounds(void **state)
{
    struct wxp_aead_params p = {WXP_STR_LIT(KEY_A), WXP_STR_LIT("0123456789ab"), {NULL, 0}};
    struct wxp_buf out;
    struct wxp_err err;
    char one[1] = {'A'};
    (void)state;

    /* A ciphertext above the bound is refused before anything is read or allocated. */
    wxp_buf_init(&out, 1 << 20);
    assert_int_equal(wxp_aead_decrypt(&p, one, WXP_AEAD_CIPHERTEXT_MAX + 1, &out, &err),
                     WXP_E_TOO_LARGE);
    assert_string_equal(err.field, "ciphertext");
    assert_int_equal(wxp_aead_encrypt(&p, one, WXP_AEAD_PLAINTEXT_MAX + 1, &out, &err),
                     WXP_E_TOO_LARGE);
    assert_string_equal(err.field, "plaintext");
    wxp_buf_free(&out);

    /* An output buffer whose cap is too small: TOO_LARGE, nothing appended. */
    wxp_buf_init(&out, 10);
    assert_int_equal(wxp_aead_encrypt(&p, "hello", 5, &out, &err), WXP_E_TOO_LARGE);
    assert_int_equal(out.len, 0);
    wxp_buf_free(&out);
    {
        struct wxp_buf ct;
        wxp_buf_init(&ct, 4096);
        wxp_buf_init(&out, 4);
        assert_int_equal(wxp_aead_encrypt(&p, "hello", 5, &ct, &err), WXP_OK);
        assert_int_equal(wxp_aead_decrypt(&p, ct.ptr, ct.len, &out, &err), WXP_E_TOO_LARGE);
        assert_int_equal(out.len, 0);
        wxp_buf_free(&out);
        wxp_buf_free(&ct);
    }
}

/* Our own round trip over every plaintext length 0..300, with and without associated data. */
static void test_aead_round_trip_lengths(void **state)
{
    unsigned char pt[301];
    (void)state;

    for (size_t i = 0; i < sizeof pt; i++) {
        pt[i] = (unsigned char)(i * 7 + 3);
    }
    for (size_t n = 0; n <= 300; n++) {
        struct wxp_aead_params p = {WXP_STR_LIT(KEY_A), WXP_STR_LIT("abcdefghijkl"),
                                    n % 2 ? WXP_STR_LIT("certificate") : WXP_STR_LIT("")};
        struct wxp_buf ct;
        struct wxp_buf back;
        struct wxp_err err;

        wxp_buf_init(&ct, 4096);
        wxp_buf_init(&back, 4096);
        assert_int_equal(wxp_aead_encrypt(&p, pt, n, &ct, &err), WXP_OK);
        assert_int_equal(ct.len, WXP_BASE64_ENCODED_LEN(n + WXP_AEAD_TAG_LEN));
        assert_int_equal(wxp_aead_decrypt(&p, ct.ptr, ct.len, &back, &err), WXP_OK);
        assert_int_equal(back.len, n);
        if (n > 0) {
            assert_memory_equal(back.ptr, pt, n);
        }
        wxp_buf_free(&ct);
        wxp_buf_free(&back);
    }
}

static enum wxp_code workload(void)
{
    struct wxp_aead_params p = {WXP_STR_LIT(KEY_A), WXP_STR_LIT("abcdefghijkl"),
                                WXP_STR_LIT("certificate")};
    struct wxp_buf ct;
    struct wxp_buf back;
    struct wxp_err err;
    enum wxp_code rc;

    wxp_buf_init(&ct, 4096);
    wxp_buf_init(&back, 4096);
    rc = wxp_aead_encrypt(&p, "payload", 7, &ct, &err);
    if (rc == WXP_OK) {
        rc = wxp_aead_decrypt(&p, ct.ptr, ct.len, &back, &err);
    }
    wxp_buf_free(&ct);
    wxp_buf_free(&back);
    return rc;
}

/* Every allocation failure comes back as WXP_E_NOMEM (and ASan sees no leak on that path). */
static void test_aead_every_failed_allocation_is_reported(void **state)
{
    long total;
    (void)state;

    wxp_mem_set_allocator(&T_FAILING);
    t_fail_countdown = -1;
    t_fail_allocations = 0;
    assert_int_equal(workload(), WXP_OK);
    total = t_fail_allocations;
    assert_true(total >= 4);
    for (long n = 0; n < total; n++) {
        t_fail_countdown = n;
        enum wxp_code rc = workload();
        if (rc != WXP_E_NOMEM) {
            fail_msg("failing allocation %ld of %ld gave %s", n, total, wxp_code_name(rc));
        }
    }
    t_fail_countdown = -1;
    wxp_mem_set_allocator(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aead_vectors_both_directions),
        cmocka_unit_test(test_aead_negative_rows_exact_codes),
        cmocka_unit_test(test_aead_rejects_bad_lengths),
        cmocka_unit_test(test_aead_size_bounds),
        cmocka_unit_test(test_aead_round_trip_lengths),
        cmocka_unit_test(test_aead_every_failed_allocation_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
