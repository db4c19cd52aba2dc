/* SPDX-License-Identifier: MIT */
/* test_certlist.c: the GET /v3/certificates answer decrypted and checked. The good path uses the
 * ciphertext of fixtures/vectors/aead.json (made by python3-cryptography, not by our code); the
 * other lists are encrypted here with wxp_aead_encrypt. Every bad list fails with its exact code
 * and field. */
#include <cjson/cJSON.h>
#include <string.h>

#include "testutil.h"
#include "wxp/aead.h"
#include "wxp/buf.h"
#include "wxp/certlist.h"
#include "wxp/mem.h"
#include "wxp/verify.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define KEY_A "TestOnlyApiV3KeyA1900000109zYxWv"
#define KEY_B "TestOnlyApiV3KeyB1900000110qRsTu"
#define SERIAL_NEXT "6E5D4C3B2A19080F1E2D3C4B5A69788796A5B4C3"
#define SERIAL_EXPIRED "4F3E2D1C0B1A29384756A5B4C3D2E1F0A9B8C7D6"
/* The fixtures' validity (fixtures/README.md), in the +08:00 form the live server writes. */
#define CUR_EFF "2026-11-25T22:56:04+08:00"
#define CUR_EXP "2126-11-01T22:56:04+08:00"
#define NEXT_EFF "2026-12-01T00:00:00+08:00"
#define NEXT_EXP "2126-12-01T00:00:00+08:00"
#define OLD_EFF "2019-12-01T00:00:00+08:00"
#define OLD_EXP "2024-12-01T00:00:00+08:00"
/* 2026-12-04T00:00:00Z: after every effective time, before the live expiries. */
#define NOW ((int64_t)1796342400)

/* One entry: serial_no, times, and the certificate file encrypted under `key` with `nonce`. */
struct entry {
    const char *serial;
    const char *eff;
    const char *exp;
    const char *cert; /* fixtures/ path */
    const char *key;
    const char *nonce;
    const char *aad;
};

static void add_entry(struct wxp_buf *b, const struct entry *e, bool first)
{
    size_t len = 0;
    char *pem = t_read(e->cert, &len);
    struct wxp_aead_params p = {wxp_str_c(e->key), wxp_str_c(e->nonce), wxp_str_c(e->aad)};
    struct wxp_buf ct;

    wxp_buf_init(&ct, WXP_AEAD_CIPHERTEXT_MAX);
    assert_int_equal(wxp_aead_encrypt(&p, pem, len, &ct, NULL), WXP_OK);
    assert_int_equal(wxp_buf_addf(b,
                                  "%s{\"serial_no\":\"%s\",\"effective_time\":\"%s\","
                                  "\"expire_time\":\"%s\",\"encrypt_certificate\":{\"algorithm\":"
                                  "\"AEAD_AES_256_GCM\",\"nonce\":\"%s\",\"associated_data\":"
                                  "\"%s\",\"ciphertext\":\"%s\"}}",
                                  first ? "" : ",", e->serial, e->eff, e->exp, e->nonce, e->aad,
                                  wxp_buf_cstr(&ct)),
                     WXP_OK);
    wxp_buf_free(&ct);
    wxp_free(pem);
}

static void build(struct wxp_buf *b, const struct entry *e, size_t n)
{
    wxp_buf_init(b, WXP_CERTLIST_BODY_MAX);
    assert_int_equal(wxp_buf_addstr(b, "{\"data\":["), WXP_OK);
    for (size_t i = 0; i < n; i++) {
        add_entry(b, &e[i], i == 0);
    }
    assert_int_equal(wxp_buf_addstr(b, "]}"), WXP_OK);
}

static enum wxp_code parse_with(const struct wxp_buf *b, const char *key, struct wxp_certlist *l,
                                struct wxp_err *err)
{
    wxp_certlist_init(l);
    return wxp_certlist_parse(l, b->ptr, b->len, wxp_str_c(key), NOW, err);
}

/* The aead.json row "certificate-next-merchant-a", as the answer would list it. */
static void vector_list(struct wxp_buf *b, bool tamper)
{
    size_t len = 0;
    char *text = t_read("vectors/aead.json", &len);
    cJSON *root = cJSON_ParseWithLength(text, len);
    const cJSON *row;
    const cJSON *found = NULL;
    char *ct;

    wxp_free(text);
    assert_non_null(root);
    cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(root, "cases"))
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(row, "name");
        if (cJSON_IsString(name) && strcmp(name->valuestring, "certificate-next-merchant-a") == 0) {
            found = row;
        }
    }
    assert_non_null(found);
    ct = cJSON_GetObjectItemCaseSensitive(found, "ciphertext")->valuestring;
    if (tamper) {
        ct[10] = ct[10] == 'A' ? 'B' : 'A';
    }
    wxp_buf_init(b, WXP_CERTLIST_BODY_MAX);
    assert_int_equal(
        wxp_buf_addf(b,
                     "{\"data\":[{\"serial_no\":\"" SERIAL_NEXT "\",\"effective_time\":\"" NEXT_EFF
                     "\",\"expire_time\":\"" NEXT_EXP "\",\"encrypt_certificate\":{\"algorithm\":"
                     "\"AEAD_AES_256_GCM\",\"nonce\":\"%s\",\"associated_data\":\"%s\","
                     "\"ciphertext\":\"%s\"}}]}",
                     cJSON_GetObjectItemCaseSensitive(found, "nonce")->valuestring,
                     cJSON_GetObjectItemCaseSensitive(found, "associated_data")->valuestring, ct),
        WXP_OK);
    cJSON_Delete(root);
}

static void test_certlist_reads_an_independent_vector(void **state)
{
    struct wxp_buf b;
    struct wxp_certlist l;
    struct wxp_err err;
    char *want;
    size_t want_len = 0;
    (void)state;

    vector_list(&b, false);
    assert_int_equal(parse_with(&b, KEY_A, &l, &err), WXP_OK);
    assert_int_equal(l.count, 1);
    assert_string_equal(l.cert[0].serial, SERIAL_NEXT);
    assert_string_equal(l.cert[0].effective, NEXT_EFF);
    assert_string_equal(l.cert[0].expire, NEXT_EXP);
    assert_true(l.cert[0].not_before == (int64_t)1796054400); /* 2026-11-30T16:00:00Z */
    want = t_read("certs/test-platform-next.cert.pem", &want_len);
    assert_int_equal(l.cert[0].pem.len, want_len);
    assert_memory_equal(l.cert[0].pem.ptr, want, want_len);
    wxp_free(want);
    wxp_certlist_free(&l);
    wxp_buf_free(&b);
}

static void test_certlist_rejects_wrong_key_and_tampered_tag(void **state)
{
    struct wxp_buf b;
    struct wxp_certlist l;
    struct wxp_err err;
    (void)state;

    vector_list(&b, false);
    assert_int_equal(parse_with(&b, KEY_B, &l, &err), WXP_E_AEAD_AUTH);
    assert_string_equal(err.field, "data[0].encrypt_certificate");
    assert_non_null(strstr(err.msg, "wrong APIv3 key"));
    assert_null(strstr(err.msg, KEY_B));
    assert_int_equal(l.count, 0);
    wxp_certlist_free(&l);
    wxp_buf_free(&b);

    vector_list(&b, true);
    assert_int_equal(parse_with(&b, KEY_A, &l, &err), WXP_E_AEAD_AUTH);
    assert_string_equal(err.field, "data[0].encrypt_certificate");
    wxp_certlist_free(&l);
    wxp_buf_free(&b);
}

/* During a rotation both certificates are listed; both become verification keys. */
static void test_certlist_two_certificates_become_keys(void **state)
{
    const struct entry e[] = {
        {T_SERIAL_PLATFORM, CUR_EFF, CUR_EXP, "certs/test-platform.cert.pem", KEY_A, "n0nce0000001",
         "certificate"},
        {SERIAL_NEXT, NEXT_EFF, NEXT_EXP, "certs/test-platform-next.cert.pem", KEY_A,
         "n0nce0000002", "certificate"},
    };
    struct wxp_buf b;
    struct wxp_certlist l;
    struct wxp_err err;
    struct wxp_keystore *ks = wxp_keystore_new();
    (void)state;

    build(&b, e, NELEM(e));
    assert_int_equal(parse_with(&b, KEY_A, &l, &err), WXP_OK);
    assert_int_equal(l.count, 2);
    assert_int_equal(wxp_certlist_add_keys(&l, ks, &err), WXP_OK);
    assert_int_equal(wxp_keystore_count(ks), 2);
    assert_non_null(wxp_keystore_find(ks, wxp_str_c(SERIAL_NEXT)));
    assert_non_null(wxp_keystore_find(ks, wxp_str_c(T_SERIAL_PLATFORM)));
    wxp_keystore_free(ks);
    wxp_certlist_free(&l);
    wxp_buf_free(&b);
}

struct bad_row {
    int line;
    struct entry e;
    enum wxp_code code;
    const char *field;
};

static void test_certlist_bad_entries(void **state)
{
    static const struct bad_row rows[] = {
        /* serial_no names another certificate */
        {__LINE__,
         {T_SERIAL_PLATFORM, NEXT_EFF, NEXT_EXP, "certs/test-platform-next.cert.pem", KEY_A,
          "n0nce0000003", "certificate"},
         WXP_E_CERT_SERIAL,
         "data[0].serial_no"},
        /* listed times differ from the certificate's */
        {__LINE__,
         {SERIAL_NEXT, CUR_EFF, NEXT_EXP, "certs/test-platform-next.cert.pem", KEY_A,
          "n0nce0000004", "certificate"},
         WXP_E_CERT_VALIDITY,
         "data[0].effective_time"},
        {__LINE__,
         {SERIAL_NEXT, NEXT_EFF, CUR_EXP, "certs/test-platform-next.cert.pem", KEY_A,
          "n0nce0000005", "certificate"},
         WXP_E_CERT_VALIDITY,
         "data[0].expire_time"},
        /* expired */
        {__LINE__,
         {SERIAL_EXPIRED, OLD_EFF, OLD_EXP, "certs/test-platform-expired.cert.pem", KEY_A,
          "n0nce0000006", "certificate"},
         WXP_E_CERT_EXPIRED,
         "data[0].expire_time"},
        /* not a time */
        {__LINE__,
         {SERIAL_NEXT, "2026-12-01 00:00:00", NEXT_EXP, "certs/test-platform-next.cert.pem", KEY_A,
          "n0nce0000007", "certificate"},
         WXP_E_CERTLIST,
         "data[0].effective_time"},
        /* encrypted under merchant B's key */
        {__LINE__,
         {SERIAL_NEXT, NEXT_EFF, NEXT_EXP, "certs/test-platform-next.cert.pem", KEY_B,
          "n0nce0000008", "certificate"},
         WXP_E_AEAD_AUTH,
         "data[0].encrypt_certificate"},
        /* the plaintext is a key, not a certificate */
        {__LINE__,
         {SERIAL_NEXT, NEXT_EFF, NEXT_EXP, "keys/test-platform.pub.pem", KEY_A, "n0nce0000009",
          "certificate"},
         WXP_E_KEY_PEM,
         "data[0].encrypt_certificate"},
    };
    (void)state;

    for (size_t i = 0; i < NELEM(rows); i++) {
        struct wxp_buf b;
        struct wxp_certlist l;
        struct wxp_err err;
        enum wxp_code rc;

        build(&b, &rows[i].e, 1);
        rc = parse_with(&b, KEY_A, &l, &err);
        if (rc != rows[i].code || strcmp(err.field, rows[i].field) != 0) {
            fail_msg("row at line %d: %s %s (%s)", rows[i].line, wxp_code_name(rc), err.field,
                     err.msg);
        }
        wxp_certlist_free(&l);
        wxp_buf_free(&b);
    }
}

struct shape_row {
    int line;
    const char *body;
    enum wxp_code code;
    const char *field;
};

static void test_certlist_bad_shapes(void **state)
{
    static const struct shape_row rows[] = {
        {__LINE__, "", WXP_E_JSON_SYNTAX, "body"},
        {__LINE__, "{\"data\":[]}", WXP_E_CERTLIST, "data"},
        {__LINE__, "{\"Data\":[{}]}", WXP_E_CERTLIST, "data"},
        {__LINE__, "{\"data\":{}}", WXP_E_CERTLIST, "data"},
        {__LINE__, "{\"data\":[1]}", WXP_E_CERTLIST, "data[0]"},
        {__LINE__, "{\"data\":[{}]}", WXP_E_CERTLIST, "data[0].serial_no"},
        {__LINE__, "{\"data\":[{\"serial_no\":\"AB\",\"effective_time\":\"" NEXT_EFF "\"}]}",
         WXP_E_CERTLIST, "data[0].expire_time"},
        {__LINE__,
         "{\"data\":[{\"serial_no\":\"AB\",\"effective_time\":\"" NEXT_EFF
         "\",\"expire_time\":\"" NEXT_EXP "\",\"encrypt_certificate\":{\"algorithm\":\"SM4\","
         "\"nonce\":\"n0nce0000001\",\"associated_data\":\"certificate\",\"ciphertext\":\"AA==\"}}]"
         "}",
         WXP_E_CERTLIST, "data[0].encrypt_certificate.algorithm"},
        {__LINE__,
         "{\"data\":[{\"serial_no\":\"AB\",\"effective_time\":\"" NEXT_EFF
         "\",\"expire_time\":\"" NEXT_EXP "\",\"encrypt_certificate\":{\"algorithm\":"
         "\"AEAD_AES_256_GCM\",\"nonce\":\"n0nce0000001\",\"associated_data\":\"certificate\"}}]}",
         WXP_E_CERTLIST, "data[0].encrypt_certificate.ciphertext"},
        {__LINE__,
         "{\"data\":[{\"serial_no\":\"AB\",\"effective_time\":\"" NEXT_EFF
         "\",\"expire_time\":\"" NEXT_EXP "\",\"encrypt_certificate\":{\"algorithm\":"
         "\"AEAD_AES_256_GCM\",\"nonce\":\"n0nce0000001\",\"associated_data\":\"certificate\","
         "\"ciphertext\":\"AA==\"}}]}",
         WXP_E_AEAD_FORMAT, "data[0].encrypt_certificate"},
    };
    (void)state;

    for (size_t i = 0; i < NELEM(rows); i++) {
        struct wxp_certlist l;
        struct wxp_err err;
        enum wxp_code rc;

        wxp_err_clear(&err);
        wxp_certlist_init(&l);
        rc =
            wxp_certlist_parse(&l, rows[i].body, strlen(rows[i].body), wxp_str_c(KEY_A), NOW, &err);
        if (rc != rows[i].code || strcmp(err.field, rows[i].field) != 0) {
            fail_msg("row at line %d: %s '%s' (%s)", rows[i].line, wxp_code_name(rc), err.field,
                     err.msg);
        }
        wxp_certlist_free(&l);
    }
}

static void test_certlist_duplicate_serial(void **state)
{
    const struct entry e[] = {
        {SERIAL_NEXT, NEXT_EFF, NEXT_EXP, "certs/test-platform-next.cert.pem", KEY_A,
         "n0nce000000a", "certificate"},
        {SERIAL_NEXT, NEXT_EFF, NEXT_EXP, "certs/test-platform-next.cert.pem", KEY_A,
         "n0nce000000b", "certificate"},
    };
    struct wxp_buf b;
    struct wxp_certlist l;
    struct wxp_err err;
    (void)state;

    build(&b, e, NELEM(e));
    assert_int_equal(parse_with(&b, KEY_A, &l, &err), WXP_E_CERTLIST);
    assert_string_equal(err.field, "data[1].serial_no");
    wxp_certlist_free(&l);
    wxp_buf_free(&b);
}

struct time_row {
    int line;
    const char *text;
    bool ok;
    int64_t secs;
};

static void test_certlist_rfc3339(void **state)
{
    static const struct time_row rows[] = {
        {__LINE__, "1970-01-01T00:00:00Z", true, 0},
        {__LINE__, "1970-01-01T08:00:00+08:00", true, 0},
        {__LINE__, "2026-12-01T00:00:00+08:00", true, 1796054400},
        {__LINE__, "2026-11-30T16:00:00.123Z", true, 1796054400},
        {__LINE__, "1969-12-31T19:00:00-05:00", true, 0},
        {__LINE__, "2026-12-01T00:00:00", false, 0},
        {__LINE__, "2026-12-01 00:00:00+08:00", false, 0},
        {__LINE__, "2026-13-01T00:00:00Z", false, 0},
        {__LINE__, "2026-12-01T00:00:00+0800", false, 0},
        {__LINE__, "2026-12-01T00:00:00Zx", false, 0},
        {__LINE__, "2026-12-01T00:00:00.Z", false, 0},
        {__LINE__, "", false, 0},
    };
    (void)state;

    for (size_t i = 0; i < NELEM(rows); i++) {
        int64_t got = -1;
        bool ok = wxp_rfc3339_parse(wxp_str_c(rows[i].text), &got);
        if (ok != rows[i].ok || (ok && got != rows[i].secs)) {
            fail_msg("row at line %d", rows[i].line);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_certlist_reads_an_independent_vector),
        cmocka_unit_test(test_certlist_rejects_wrong_key_and_tampered_tag),
        cmocka_unit_test(test_certlist_two_certificates_become_keys),
        cmocka_unit_test(test_certlist_bad_entries),
        cmocka_unit_test(test_certlist_bad_shapes),
        cmocka_unit_test(test_certlist_duplicate_serial),
        cmocka_unit_test(test_certlist_rfc3339),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
