/* SPDX-License-Identifier: MIT */
/* test_keys.c: PEM loading of private keys, certificates and public keys, and their errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "wxp/keys.h"
#include "wxp/mem.h"
#include "wxp/sign.h"
#include "wxp/str.h"

static void test_keys_loads_merchant_private_key(void **state)
{
    (void)state;
    struct wxp_key *k = t_private("keys/test-merchant-a.key.pem");
    assert_int_equal(wxp_key_kind(k), WXP_KEY_PRIVATE);
    assert_int_equal(wxp_key_bits(k), 2048);
    assert_string_equal(wxp_key_id(k), "");
    wxp_key_free(k);
}

static void test_keys_loads_pkcs1_private_key_same_as_pkcs8(void **state)
{
    (void)state;
    struct wxp_key *a = t_private("keys/test-merchant-a.key.pem");
    struct wxp_key *b = t_private("keys/test-merchant-a.rsa.pem");
    assert_true(wxp_key_same_public(a, b));
    wxp_key_free(a);
    wxp_key_free(b);
}

static void test_keys_cert_serial_is_uppercase_hex(void **state)
{
    (void)state;
    const struct {
        const char *file;
        const char *serial;
    } rows[] = {
        {"certs/test-merchant-a.cert.pem", T_SERIAL_A},
        {"certs/test-merchant-b.cert.pem", T_SERIAL_B},
        {"certs/test-platform.cert.pem", T_SERIAL_PLATFORM},
        {"certs/test-wrong.cert.pem", T_SERIAL_WRONG},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct wxp_key *k = t_cert(rows[i].file);
        assert_int_equal(wxp_key_kind(k), WXP_KEY_CERT);
        assert_string_equal(wxp_key_id(k), rows[i].serial);
        wxp_key_free(k);
    }
}

static void test_keys_fixture_index_matches_constants(void **state)
{
    (void)state;
    char *idx = t_read("fixtures.json", NULL);
    assert_non_null(strstr(idx, "\"" T_SERIAL_A "\""));
    assert_non_null(strstr(idx, "\"" T_SERIAL_B "\""));
    assert_non_null(strstr(idx, "\"" T_SERIAL_PLATFORM "\""));
    assert_non_null(strstr(idx, "\"" T_PUBKEY_ID "\""));
    assert_non_null(strstr(idx, "\"" T_MCHID_A "\""));
    wxp_free(idx);
}

static void test_keys_private_matches_its_cert_only(void **state)
{
    (void)state;
    struct wxp_key *priv = t_private("keys/test-merchant-a.key.pem");
    struct wxp_key *cert = t_cert("certs/test-merchant-a.cert.pem");
    struct wxp_key *other = t_cert("certs/test-merchant-b.cert.pem");
    assert_true(wxp_key_same_public(priv, cert));
    assert_false(wxp_key_same_public(priv, other));
    wxp_key_free(priv);
    wxp_key_free(cert);
    wxp_key_free(other);
}

/* A shared handle signs with the same key after the first handle is freed, and its id is its own.
 */
static void test_keys_share_outlives_the_original(void **state)
{
    (void)state;
    struct wxp_key *priv = t_private("keys/test-merchant-a.key.pem");
    struct wxp_key *cert = t_cert("certs/test-merchant-a.cert.pem");
    struct wxp_key *shared = NULL;
    struct wxp_err err;
    char sig[512];
    size_t n = 0;

    assert_int_equal(wxp_key_set_id(priv, "FIRST", &err), WXP_OK);
    assert_int_equal(wxp_key_share(priv, &shared, &err), WXP_OK);
    assert_int_equal(wxp_key_kind(shared), WXP_KEY_PRIVATE);
    assert_string_equal(wxp_key_id(shared), "FIRST");
    assert_int_equal(wxp_key_set_id(shared, "SECOND", &err), WXP_OK);
    assert_string_equal(wxp_key_id(priv), "FIRST");
    wxp_key_free(priv);
    assert_int_equal(wxp_sign(shared, "abc", 3, sig, sizeof sig, &n, &err), WXP_OK);
    assert_int_equal(wxp_verify(cert, "abc", 3, sig, n, &err), WXP_OK);
    wxp_key_free(shared);
    wxp_key_free(cert);
}

static void test_keys_pubkey_mode_takes_given_id(void **state)
{
    (void)state;
    struct wxp_key *pub = t_pubkey("keys/test-platform.pub.pem", T_PUBKEY_ID);
    struct wxp_key *cert = t_cert("certs/test-platform.cert.pem");
    assert_int_equal(wxp_key_kind(pub), WXP_KEY_PUBKEY);
    assert_string_equal(wxp_key_id(pub), T_PUBKEY_ID);
    assert_true(wxp_key_same_public(pub, cert));
    wxp_key_free(pub);
    wxp_key_free(cert);
}

static void test_keys_rejects_bad_pubkey_ids(void **state)
{
    (void)state;
    const char *bad[] = {"", "PUB KEY", "PUB_\"KEY", "a,b",
                         "PUB_KEY_ID_01234567890123456789012345678901234567890123456789012345"};
    size_t len;
    char *pem = t_read("keys/test-platform.pub.pem", &len);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct wxp_err err;
        struct wxp_key *k = (struct wxp_key *)1;
        assert_int_equal(wxp_key_pubkey_pem(pem, len, bad[i], &k, &err), WXP_E_KEY_ID);
        assert_null(k);
        assert_int_equal(err.code, WXP_E_KEY_ID);
    }
    wxp_free(pem);
}

static void test_keys_missing_file_names_path(void **state)
{
    (void)state;
    struct wxp_err err;
    struct wxp_key *k = NULL;
    assert_int_equal(wxp_key_private_file("/nonexistent/dir/key.pem", &k, &err), WXP_E_IO);
    assert_null(k);
    assert_string_equal(err.field, "/nonexistent/dir/key.pem");
    assert_non_null(strstr(err.msg, "No such file"));
    assert_int_equal(wxp_key_cert_file("/nonexistent/c.pem", &k, &err), WXP_E_IO);
    assert_int_equal(wxp_key_pubkey_file("/nonexistent/p.pem", T_PUBKEY_ID, &k, &err), WXP_E_IO);
}

static void test_keys_wrong_pem_type_is_key_pem(void **state)
{
    (void)state;
    struct wxp_err err;
    struct wxp_key *k = NULL;
    /* A certificate where a private key is expected, and the other way round. */
    assert_int_equal(wxp_key_private_file(t_fixture("certs/test-merchant-a.cert.pem"), &k, &err),
                     WXP_E_KEY_PEM);
    assert_null(k);
    assert_non_null(strstr(err.field, "test-merchant-a.cert.pem"));
    assert_int_equal(wxp_key_cert_file(t_fixture("keys/test-merchant-a.key.pem"), &k, &err),
                     WXP_E_KEY_PEM);
    assert_int_equal(
        wxp_key_pubkey_file(t_fixture("certs/test-platform.cert.pem"), T_PUBKEY_ID, &k, &err),
        WXP_E_KEY_PEM);
    assert_int_equal(wxp_key_private_pem("garbage", 7, &k, &err), WXP_E_KEY_PEM);
    assert_int_equal(wxp_key_private_pem("", 0, &k, &err), WXP_E_KEY_PEM);
    assert_null(k);
}

/* A checkout deeper than usual: a path longer than err.field keeps its END, the file
 * name, behind "…", and the cut, which falls inside a 3-byte character here, does not split it.
 * The message keeps its reason after a path longer than its room for one. */
static void test_keys_long_path_keeps_the_file_name_bug(void **state)
{
    /* The field keeps 60 bytes: "/test-merchant-a.cert.pem" (25) and the directory's last 35,
     * which start on the second byte of U+8BC1 (E8 AF 81). */
    static const char leaf[] = "a-long-directory-name-\xe8\xaf\x81"
                               "abcdefghijklmnopqrstuvwxyz0123456";
    static const char want[] = WXP_ELLIPSIS "abcdefghijklmnopqrstuvwxyz0123456"
                                            "/test-merchant-a.cert.pem";
    char top[] = "/tmp/wxp-test-keys-XXXXXX";
    char dir[256];
    char link[320];
    char missing[400];
    struct wxp_err err;
    struct wxp_key *k = NULL;
    int made;

    (void)state;
    assert_non_null(mkdtemp(top));
    made = snprintf(dir, sizeof dir, "%s/%s", top, leaf);
    assert_true(made > 0 && (size_t)made < sizeof dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    made = snprintf(link, sizeof link, "%s/test-merchant-a.cert.pem", dir);
    assert_true(made > 0 && (size_t)made < sizeof link);
    assert_int_equal(symlink(t_fixture("certs/test-merchant-a.cert.pem"), link), 0);
    assert_true(strlen(link) >= sizeof err.field);

    assert_int_equal(wxp_key_private_file(link, &k, &err), WXP_E_KEY_PEM);
    assert_null(k);
    assert_string_equal(err.field, want);

    /* Missing, with a path twice the message's room for one: field and message both end whole. */
    made = snprintf(missing, sizeof missing, "%s/%0200d/%s/no-such-key.pem", top, 0, leaf);
    assert_true(made > 0 && (size_t)made < sizeof missing);
    assert_int_equal(wxp_key_private_file(missing, &k, &err), WXP_E_IO);
    assert_memory_equal(err.field, WXP_ELLIPSIS, strlen(WXP_ELLIPSIS));
    assert_non_null(strstr(err.field, "/no-such-key.pem"));
    assert_memory_equal(err.msg, "cannot open " WXP_ELLIPSIS, strlen("cannot open " WXP_ELLIPSIS));
    assert_non_null(strstr(err.msg, "/no-such-key.pem: No such file"));

    assert_int_equal(unlink(link), 0);
    assert_int_equal(rmdir(dir), 0);
    assert_int_equal(rmdir(top), 0);
}

static void test_keys_rejects_non_rsa(void **state)
{
    (void)state;
    struct wxp_err err;
    struct wxp_key *k = NULL;
    assert_int_equal(wxp_key_private_file(t_fixture("keys/test-ec.key.pem"), &k, &err),
                     WXP_E_KEY_NOT_RSA);
    assert_non_null(strstr(err.msg, "RSA"));
    assert_int_equal(wxp_key_cert_file(t_fixture("certs/test-ec.cert.pem"), &k, &err),
                     WXP_E_KEY_NOT_RSA);
    assert_null(k);
}

static void test_keys_rejects_rsa_below_2048(void **state)
{
    (void)state;
    struct wxp_err err;
    struct wxp_key *k = NULL;
    assert_int_equal(wxp_key_private_file(t_fixture("keys/test-rsa1024.key.pem"), &k, &err),
                     WXP_E_KEY_TOO_SMALL);
    assert_non_null(strstr(err.msg, "1024"));
    assert_null(k);
}

static void test_keys_rejects_oversized_pem(void **state)
{
    (void)state;
    struct wxp_err err;
    struct wxp_key *k = NULL;
    size_t n = WXP_PEM_MAX + 1;
    char *big = wxp_malloc(n);
    memset(big, 'A', n);
    assert_int_equal(wxp_key_private_pem(big, n, &k, &err), WXP_E_TOO_LARGE);
    assert_int_equal(wxp_key_cert_pem(big, n, &k, &err), WXP_E_TOO_LARGE);
    wxp_free(big);
}

static void test_keys_set_id_validates(void **state)
{
    (void)state;
    struct wxp_err err;
    struct wxp_key *k = t_private("keys/test-merchant-a.key.pem");
    assert_int_equal(wxp_key_set_id(k, T_SERIAL_A, &err), WXP_OK);
    assert_string_equal(wxp_key_id(k), T_SERIAL_A);
    assert_int_equal(wxp_key_set_id(k, "with space", &err), WXP_E_KEY_ID);
    assert_string_equal(wxp_key_id(k), T_SERIAL_A);
    wxp_key_free(k);
    wxp_key_free(NULL);
}

static void test_keys_file_read_caps_size(void **state)
{
    (void)state;
    struct wxp_err err;
    char *buf = NULL;
    size_t len = 0;
    assert_int_equal(wxp_file_read(t_fixture("vectors/rsa-sha256.json"), 16, &buf, &len, &err),
                     WXP_E_TOO_LARGE);
    assert_null(buf);
    assert_int_equal(
        wxp_file_read(t_fixture("keys/test-platform.pub.pem"), WXP_PEM_MAX, &buf, &len, &err),
        WXP_OK);
    assert_true(len > 100);
    assert_int_equal(buf[len], '\0');
    wxp_free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_loads_merchant_private_key),
        cmocka_unit_test(test_keys_loads_pkcs1_private_key_same_as_pkcs8),
        cmocka_unit_test(test_keys_cert_serial_is_uppercase_hex),
        cmocka_unit_test(test_keys_fixture_index_matches_constants),
        cmocka_unit_test(test_keys_private_matches_its_cert_only),
        cmocka_unit_test(test_keys_share_outlives_the_original),
        cmocka_unit_test(test_keys_pubkey_mode_takes_given_id),
        cmocka_unit_test(test_keys_rejects_bad_pubkey_ids),
        cmocka_unit_test(test_keys_missing_file_names_path),
        cmocka_unit_test(test_keys_wrong_pem_type_is_key_pem),
        cmocka_unit_test(test_keys_long_path_keeps_the_file_name_bug),
        cmocka_unit_test(test_keys_rejects_non_rsa),
        cmocka_unit_test(test_keys_rejects_rsa_below_2048),
        cmocka_unit_test(test_keys_rejects_oversized_pem),
        cmocka_unit_test(test_keys_set_id_validates),
        cmocka_unit_test(test_keys_file_read_caps_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
