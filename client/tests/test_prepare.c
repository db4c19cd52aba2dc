/* SPDX-License-Identifier: MIT */
/* test_prepare.c: how libwxpay builds a terminate request (no network): the exact body, target
 * and signing string, percent-encoding of the openid, and validation before anything is sent. */
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "wxp/authz.h"
#include "wxp/keys.h"
#include "wxpay/wxpay.h"

#define TS 1554208460LL
#define NONCE "593BEC0C930BF1AFEB40B4A08C8FB242"

static struct wxpay_client *client;

static int setup(void **state)
{
    static char key[1024], cert[1024];
    static const char *certs[2];
    struct wxpay_config cfg;
    struct wxpay_result r;
    (void)state;
    memset(&cfg, 0, sizeof cfg);
    snprintf(key, sizeof key, "%s", t_fixture("keys/test-merchant-a.key.pem"));
    snprintf(cert, sizeof cert, "%s", t_fixture("certs/test-platform.cert.pem"));
    certs[0] = cert;
    certs[1] = NULL;
    cfg.base_url = "http://127.0.0.1:9";
    cfg.mchid = T_MCHID_A;
    cfg.mch_serial = T_SERIAL_A;
    cfg.mch_key_file = key;
    cfg.platform_cert_files = certs;
    if (wxpay_client_new(&cfg, &client, &r) != WXPAY_OK) {
        fail_msg("client: %s", r.error);
    }
    wxpay_result_free(&r);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    wxpay_client_free(client);
    return 0;
}

/* Verifies p->authorization over p's own signing string with merchant A's certificate. */
static void assert_signed(const struct wxpay_prepared *p, const char *target, const char *body)
{
    struct wxp_authz a;
    struct wxp_key *cert = t_cert("certs/test-merchant-a.cert.pem");
    assert_int_equal(wxp_authz_parse(p->authorization, strlen(p->authorization), &a, NULL), WXP_OK);
    assert_true(wxp_str_eq(a.mchid, wxp_str_c(T_MCHID_A)));
    assert_true(wxp_str_eq(a.serial_no, wxp_str_c(T_SERIAL_A)));
    assert_true(wxp_str_eq(a.nonce_str, wxp_str_c(NONCE)));
    assert_int_equal(a.ts, TS);
    assert_int_equal(wxp_authz_verify(cert, &a, wxp_str_c("POST"), wxp_str_c(target),
                                      wxp_str_c(body), NULL, NULL),
                     WXP_OK);
    wxp_key_free(cert);
}

static void test_prepare_chinese_reason_exact_signing_string(void **state)
{
    (void)state;
    struct wxpay_terminate t = {"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "2002000000000558128851361561536",
                                "wxd678efh567hg6787", "用户主动解除授权"};
    struct wxpay_prepared p;
    struct wxpay_result r;
    const char *target = "/v3/payscore/permissions/openid/oUpF8uMuAJO_M2pxb1Q9zNjWeS6o/terminate";
    const char *body = "{\"service_id\":\"2002000000000558128851361561536\",\"appid\":"
                       "\"wxd678efh567hg6787\",\"reason\":\"用户主动解除授权\"}";
    char want[1024];

    assert_int_equal(wxpay_prepare_terminate(client, &t, TS, NONCE, &p, &r), WXPAY_OK);
    assert_string_equal(p.target, target);
    assert_string_equal(p.body, body);
    snprintf(want, sizeof want, "POST\n%s\n1554208460\n" NONCE "\n%s\n", target, body);
    assert_string_equal(p.signing_string, want);
    assert_signed(&p, target, body);
    wxpay_prepared_free(&p);
    wxpay_result_free(&r);
}

static void test_prepare_percent_encodes_openid_and_signs_the_sent_path(void **state)
{
    (void)state;
    struct wxpay_terminate t = {"o/pen id+%?#~._-中", "500001", "wxd678efh567hg6787", "r"};
    struct wxpay_prepared p;
    struct wxpay_result r;
    const char *target =
        "/v3/payscore/permissions/openid/o%2Fpen%20id%2B%25%3F%23~._-%E4%B8%AD/terminate";

    assert_int_equal(wxpay_prepare_terminate(client, &t, TS, NONCE, &p, &r), WXPAY_OK);
    assert_string_equal(p.target, target);
    assert_non_null(strstr(p.signing_string, target));
    assert_signed(&p, target, p.body);
    wxpay_prepared_free(&p);
    wxpay_result_free(&r);
}

static void test_prepare_escapes_json_specials(void **state)
{
    (void)state;
    struct wxpay_terminate t = {"o1", "500001", "wxd678efh567hg6787", "a\"b\\c/d"};
    struct wxpay_prepared p;
    struct wxpay_result r;
    assert_int_equal(wxpay_prepare_terminate(client, &t, TS, NONCE, &p, &r), WXPAY_OK);
    assert_string_equal(p.body, "{\"service_id\":\"500001\",\"appid\":\"wxd678efh567hg6787\","
                                "\"reason\":\"a\\\"b\\\\c/d\"}");
    wxpay_prepared_free(&p);
    wxpay_result_free(&r);
}

static void test_prepare_validates_before_sending(void **state)
{
    (void)state;
    char r51[3 * 51 + 1], id33[34];
    for (int i = 0; i < 51; i++) {
        memcpy(r51 + 3 * i, "测", 3);
    }
    r51[3 * 51] = '\0';
    memset(id33, '1', 33);
    id33[33] = '\0';
    const struct {
        int line;
        struct wxpay_terminate t;
        const char *field;
    } rows[] = {
        {__LINE__, {"", "500001", "wx1", "r"}, "openid"},
        {__LINE__, {NULL, "500001", "wx1", "r"}, "openid"},
        {__LINE__, {"o", "", "wx1", "r"}, "service_id"},
        {__LINE__, {"o", id33, "wx1", "r"}, "service_id"},
        {__LINE__, {"o", "500001", NULL, "r"}, "appid"},
        {__LINE__, {"o", "500001", id33, "r"}, "appid"},
        {__LINE__, {"o", "500001", "wx1", ""}, "reason"},
        {__LINE__, {"o", "500001", "wx1", r51}, "reason"},
        {__LINE__, {"o", "500001", "wx1", "emoji \xF0\x9F\x98\x80"}, "reason"},
        {__LINE__, {"o", "500001", "wx1", "bad \xC3\x28 utf8"}, "reason"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct wxpay_prepared p;
        struct wxpay_result r;
        enum wxpay_result_kind k = wxpay_prepare_terminate(client, &rows[i].t, TS, NONCE, &p, &r);
        if (k != WXPAY_ERR_LOCAL || strstr(r.error, rows[i].field) == NULL) {
            fail_msg("row at line %d: kind %s, error \"%s\"", rows[i].line,
                     wxpay_result_kind_name(k), r.error);
        }
        wxpay_result_free(&r);
        /* The real call refuses the same input without touching the network. */
        k = wxpay_payscore_terminate(client, &rows[i].t, &r);
        if (k != WXPAY_ERR_LOCAL || r.http_status != 0 || r.curl_code != 0) {
            fail_msg("row at line %d: terminate gave %s", rows[i].line, wxpay_result_kind_name(k));
        }
        wxpay_result_free(&r);
    }
}

static void test_prepare_config_errors_name_the_field(void **state)
{
    (void)state;
    char key[1024], wrongcert[1024], ec[1024];
    char pcert[1024];
    const char *none[] = {NULL};
    const char *certs[] = {pcert, NULL};
    snprintf(key, sizeof key, "%s", t_fixture("keys/test-merchant-a.key.pem"));
    snprintf(wrongcert, sizeof wrongcert, "%s", t_fixture("certs/test-merchant-b.cert.pem"));
    snprintf(ec, sizeof ec, "%s", t_fixture("keys/test-ec.key.pem"));
    snprintf(pcert, sizeof pcert, "%s", t_fixture("certs/test-platform.cert.pem"));
    const struct {
        int line;
        const char *mchid, *serial, *cert, *keyf, *base;
        const char *const *pcerts;
        const char *needle;
    } rows[] = {
        {__LINE__, NULL, T_SERIAL_A, NULL, key, NULL, certs, "mchid"},
        {__LINE__, T_MCHID_A, NULL, NULL, key, NULL, certs, "serial"},
        {__LINE__, T_MCHID_A, T_SERIAL_A, NULL, "/nonexistent.pem", NULL, certs, "nonexistent"},
        {__LINE__, T_MCHID_A, T_SERIAL_A, NULL, ec, NULL, certs, "RSA"},
        {__LINE__, T_MCHID_A, NULL, wrongcert, key, NULL, certs, "match"},
        {__LINE__, T_MCHID_A, T_SERIAL_A, NULL, key, NULL, none, "platform"},
        {__LINE__, T_MCHID_A, T_SERIAL_A, NULL, key, "ftp://x", certs, "base_url"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct wxpay_config cfg;
        struct wxpay_client *c = NULL;
        struct wxpay_result r;
        memset(&cfg, 0, sizeof cfg);
        cfg.mchid = rows[i].mchid;
        cfg.mch_serial = rows[i].serial;
        cfg.mch_cert_file = rows[i].cert;
        cfg.mch_key_file = rows[i].keyf;
        cfg.base_url = rows[i].base;
        cfg.platform_cert_files = rows[i].pcerts;
        if (wxpay_client_new(&cfg, &c, &r) != WXPAY_ERR_LOCAL || c != NULL ||
            strstr(r.error, rows[i].needle) == NULL) {
            fail_msg("row at line %d: error \"%s\" (want it to mention %s)", rows[i].line, r.error,
                     rows[i].needle);
        }
        wxpay_result_free(&r);
    }
}

static void test_prepare_names_are_stable(void **state)
{
    (void)state;
    assert_string_equal(wxpay_result_kind_name(WXPAY_OK), "ok");
    assert_string_equal(wxpay_result_kind_name(WXPAY_ERR_VERIFY), "verify");
    assert_string_equal(wxpay_signature_name(WXPAY_SIG_UNSIGNED), "unsigned");
    assert_string_equal(wxpay_verify_failure_name(WXPAY_VF_PROBE), "probe");
    assert_string_equal(wxpay_verify_failure_name(WXPAY_VF_UNKNOWN_SERIAL), "unknown_serial");
}

/* A SIGN_ERROR body as the live server and wxpay-mock write it, around `msg` (JSON-escaped
 * already) and `total`. */
static void sign_error_body(char *out, size_t cap, const char *msg, long total)
{
    snprintf(out, cap,
             "{\"code\":\"SIGN_ERROR\",\"detail\":{\"detail\":{\"issue\":\"sign not match\"},"
             "\"field\":\"signature\",\"location\":\"authorization\",\"sign_information\":"
             "{\"method\":\"POST\",\"sign_message_length\":%ld,\"truncated_sign_message\":\"%s\","
             "\"url\":\"/v3/x\"}},\"message\":\"\xE9\x94\x99\xE8\xAF\xAF\xE7\x9A\x84\xE7\xAD\xBE"
             "\xE5\x90\x8D\xEF\xBC\x8C\xE9\xAA\x8C\xE7\xAD\xBE\xE5\xA4\xB1\xE8\xB4\xA5\"}",
             total, msg);
}

#define OURS "POST\n/v3/x?a=1\n1554208460\nNONCE1\n{\"a\":\"b\"}\n"

static void test_prepare_sign_compare_names_the_part_that_differs(void **state)
{
    (void)state;
    /* The server's string, JSON-escaped, and its whole length (-1: as shown). */
    const struct {
        int line;
        const char *theirs;
        long total;
        unsigned differs;
        unsigned unknown;
        int equal;
        const char *verdict;
    } rows[] = {
        {__LINE__, "POST\\n/v3/x?a=1\\n1554208460\\nNONCE1\\n{\\\"a\\\":\\\"b\\\"}\\n", -1, 0, 0, 1,
         "private key"},
        {__LINE__, "GET\\n/v3/x?a=1\\n1554208460\\nNONCE1\\n{\\\"a\\\":\\\"b\\\"}\\n", -1,
         WXPAY_SP_METHOD, 0, 0, "method differs"},
        {__LINE__, "POST\\n/v3/x\\n1554208460\\nNONCE1\\n{\\\"a\\\":\\\"b\\\"}\\n", -1,
         WXPAY_SP_URL, 0, 0, "url differs"},
        {__LINE__, "POST\\n/v3/x?a=1\\n1554208461\\nNONCE1\\n{\\\"a\\\":\\\"b\\\"}\\n", -1,
         WXPAY_SP_TIMESTAMP, 0, 0, "timestamp differs"},
        {__LINE__, "POST\\n/v3/x?a=1\\n1554208460\\nNONCE2\\n{\\\"a\\\":\\\"b\\\"}\\n", -1,
         WXPAY_SP_NONCE, 0, 0, "nonce differs"},
        {__LINE__, "POST\\n/v3/x?a=1\\n1554208460\\nNONCE1\\n{\\\"a\\\": \\\"b\\\"}\\n", -1,
         WXPAY_SP_BODY, 0, 0, "body differs"},
        /* A body signed without its final \n. */
        {__LINE__, "POST\\n/v3/x?a=1\\n1554208460\\nNONCE1\\n{\\\"a\\\":\\\"b\\\"}", -1,
         WXPAY_SP_BODY, 0, 0, "body differs"},
        {__LINE__, "POST\\n/v3/x?a=1\\n1\\nNONCE9\\n{}\\n", -1,
         WXPAY_SP_TIMESTAMP | WXPAY_SP_NONCE | WXPAY_SP_BODY, 0, 0,
         "timestamp, nonce, body differ: sign the timestamp"},
        /* Cut short by the server: what is shown agrees, and so does the length. */
        {__LINE__, "POST\\n/v3/x?a=1\\n1554208460\\nNONCE1\\n{\\\"a", 43, 0, WXPAY_SP_BODY, 0,
         "the rest is not shown"},
        /* Cut short, shown part agrees, but the whole is longer: the body is last. */
        {__LINE__, "POST\\n/v3/x?a=1\\n1554208460\\nNONCE1\\n{\\\"a", 60, WXPAY_SP_BODY, 0, 0,
         "body differs"},
        /* Cut inside the url: the shown part differs there. */
        {__LINE__, "POST\\n/v3/y", 60, WXPAY_SP_URL,
         WXPAY_SP_TIMESTAMP | WXPAY_SP_NONCE | WXPAY_SP_BODY, 0, "url differs"},
        /* Cut inside the url, shown part agrees, lengths differ: the url or later. */
        {__LINE__, "POST\\n/v3/x", 60, 0,
         WXPAY_SP_URL | WXPAY_SP_TIMESTAMP | WXPAY_SP_NONCE | WXPAY_SP_BODY, 0,
         "most likely the url differs"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char body[1024];
        struct wxpay_sign_diag d;
        enum wxpay_result_kind k;
        sign_error_body(body, sizeof body, rows[i].theirs, rows[i].total);
        if (rows[i].total < 0) {
            /* As shown: compute the unescaped length by asking the library. */
            k = wxpay_sign_compare(OURS, strlen(OURS), body, strlen(body), &d);
            assert_int_equal(k, WXPAY_OK);
            long shown = (long)d.theirs_len;
            wxpay_sign_diag_free(&d);
            sign_error_body(body, sizeof body, rows[i].theirs, shown);
        }
        k = wxpay_sign_compare(OURS, strlen(OURS), body, strlen(body), &d);
        if (k != WXPAY_OK || d.differs != rows[i].differs || d.unknown != rows[i].unknown ||
            d.strings_equal != rows[i].equal || strstr(d.verdict, rows[i].verdict) == NULL) {
            fail_msg("row at line %d: kind %d differs %#x unknown %#x equal %d verdict '%s'",
                     rows[i].line, (int)k, d.differs, d.unknown, d.strings_equal, d.verdict);
        }
        assert_string_equal(d.issue, "sign not match");
        assert_memory_equal(d.ours, OURS, strlen(OURS));
        wxpay_sign_diag_free(&d);
        assert_null(d.ours);
    }
}

static void test_prepare_sign_compare_refuses_other_bodies(void **state)
{
    (void)state;
    const struct {
        int line;
        const char *body;
    } rows[] = {
        {__LINE__, ""},
        {__LINE__, "not json"},
        {__LINE__, "{\"code\":\"SIGN_ERROR\",\"message\":\"m\"}"},
        {__LINE__, "{\"code\":\"SIGN_ERROR\",\"message\":\"m\",\"detail\":{\"field\":\"x\"}}"},
        {__LINE__, "{\"code\":\"SIGN_ERROR\",\"message\":\"m\",\"detail\":{\"sign_information\":"
                   "{\"truncated_sign_message\":7}}}"},
        /* Strict JSON first: a duplicate member or trailing bytes are not read. */
        {__LINE__, "{\"detail\":{\"sign_information\":{\"truncated_sign_message\":\"a\"}},"
                   "\"detail\":{}}"},
        {__LINE__, "{\"detail\":{\"sign_information\":{\"truncated_sign_message\":\"a\"}}}x"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct wxpay_sign_diag d;
        if (wxpay_sign_compare(OURS, strlen(OURS), rows[i].body, strlen(rows[i].body), &d) !=
                WXPAY_ERR_LOCAL ||
            d.verdict[0] == '\0' || d.ours != NULL) {
            fail_msg("row at line %d: accepted, or no reason given", rows[i].line);
        }
        wxpay_sign_diag_free(&d);
    }
    /* Nothing was signed yet on this client: nothing to compare. */
    {
        struct wxpay_result r;
        struct wxpay_sign_diag d;
        memset(&r, 0, sizeof r);
        assert_int_equal(wxpay_sign_diagnose(client, &r, &d), WXPAY_ERR_LOCAL);
        wxpay_sign_diag_free(&d);
        assert_int_equal(wxpay_sign_diagnose(NULL, &r, &d), WXPAY_ERR_LOCAL);
        wxpay_sign_diag_free(&d);
        wxpay_sign_diag_free(NULL);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prepare_chinese_reason_exact_signing_string),
        cmocka_unit_test(test_prepare_percent_encodes_openid_and_signs_the_sent_path),
        cmocka_unit_test(test_prepare_escapes_json_specials),
        cmocka_unit_test(test_prepare_validates_before_sending),
        cmocka_unit_test(test_prepare_config_errors_name_the_field),
        cmocka_unit_test(test_prepare_names_are_stable),
        cmocka_unit_test(test_prepare_sign_compare_names_the_part_that_differs),
        cmocka_unit_test(test_prepare_sign_compare_refuses_other_bodies),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
