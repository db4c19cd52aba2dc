/* SPDX-License-Identifier: MIT */
/* test_prepare.c: how libwxpay builds each operation's request (no network): the exact body,
 * target and signing string, percent-encoding of path variables and query values, the query in
 * the table's order, and validation before anything is sent. */
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

/* Verifies p->authorization over `method`, target and body with merchant A's certificate. */
static void assert_signed_as(const struct wxpay_prepared *p, const char *method, const char *target,
                             const char *body)
{
    struct wxp_authz a;
    struct wxp_key *cert = t_cert("certs/test-merchant-a.cert.pem");
    assert_int_equal(wxp_authz_parse(p->authorization, strlen(p->authorization), &a, NULL), WXP_OK);
    assert_true(wxp_str_eq(a.mchid, wxp_str_c(T_MCHID_A)));
    assert_true(wxp_str_eq(a.serial_no, wxp_str_c(T_SERIAL_A)));
    assert_true(wxp_str_eq(a.nonce_str, wxp_str_c(NONCE)));
    assert_int_equal(a.ts, TS);
    assert_int_equal(wxp_authz_verify(cert, &a, wxp_str_c(method), wxp_str_c(target),
                                      wxp_str_c(body), NULL, NULL),
                     WXP_OK);
    wxp_key_free(cert);
}

static void assert_signed(const struct wxpay_prepared *p, const char *target, const char *body)
{
    assert_signed_as(p, "POST", target, body);
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

/* The APIv3 key: 32 bytes from a file (one trailing newline allowed) or inline, never both,
 * never shown in an error; with it, a client may start without any platform key (to download the
 * certificates); without it, wxpay_certificates refuses before sending (the setup client has a
 * base URL nothing listens on, so a sent request would be a transport error). */
static void test_prepare_apiv3_key_config(void **state)
{
    char key[1024], keyfile[1024];
    const char *none[] = {NULL};
    const struct {
        int line;
        const char *inline_key, *file;
        enum wxpay_result_kind want;
        const char *needle;
    } rows[] = {
        {__LINE__, "TestOnlyApiV3KeyA1900000109zYxWv", NULL, WXPAY_OK, ""},
        {__LINE__, NULL, keyfile, WXPAY_OK, ""},
        {__LINE__, "TestOnlyApiV3KeyA1900000109zYxW", NULL, WXPAY_ERR_LOCAL, "is 31 bytes"},
        {__LINE__, "TestOnlyApiV3KeyA1900000109zYxWvX", NULL, WXPAY_ERR_LOCAL, "is 33 bytes"},
        {__LINE__, "TestOnlyApiV3KeyA1900000109zYxWv", keyfile, WXPAY_ERR_LOCAL, "not both"},
        {__LINE__, NULL, "/nonexistent.key", WXPAY_ERR_LOCAL, "apiv3_key_file"},
        {__LINE__, NULL, NULL, WXPAY_ERR_LOCAL, "apiv3_key, to download"},
    };
    struct wxpay_certs certs;
    struct wxpay_result r;
    (void)state;
    snprintf(key, sizeof key, "%s", t_fixture("keys/test-merchant-a.key.pem"));
    snprintf(keyfile, sizeof keyfile, "%s", t_fixture("keys/test-merchant-a.apiv3.key"));
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct wxpay_config cfg;
        struct wxpay_client *c = NULL;
        enum wxpay_result_kind got;
        memset(&cfg, 0, sizeof cfg);
        cfg.mchid = T_MCHID_A;
        cfg.mch_serial = T_SERIAL_A;
        cfg.mch_key_file = key;
        cfg.platform_cert_files = none;
        cfg.apiv3_key = rows[i].inline_key;
        cfg.apiv3_key_file = rows[i].file;
        got = wxpay_client_new(&cfg, &c, &r);
        if (got != rows[i].want || strstr(r.error, rows[i].needle) == NULL ||
            strstr(r.error, "TestOnlyApiV3Key") != NULL) {
            fail_msg("row at line %d: %s \"%s\"", rows[i].line, wxpay_result_kind_name(got),
                     r.error);
        }
        wxpay_result_free(&r);
        wxpay_client_free(c);
    }
    assert_int_equal(wxpay_certificates(client, &certs, &r), WXPAY_ERR_LOCAL);
    assert_non_null(strstr(r.error, "apiv3_key: required"));
    assert_int_equal(r.attempts, 0);
    assert_int_equal(certs.count, 0);
    wxpay_certs_free(&certs);
    wxpay_result_free(&r);
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

#define APPID "wxd678efh567hg6787"
#define QBC "payscore.permissions.query-by-code"
#define QBO "payscore.permissions.query-by-openid"
#define TBC "payscore.permissions.terminate-by-code"
#define TBO "payscore.permissions.terminate-by-openid"
#define APPLY "payscore.permissions.apply"

/* Each operation's request, byte for byte: the expected targets and bodies are written from
 * docs/protocol.md (paths, the query in the table's order, RFC 3986 percent-encoding with
 * upper-case hex, compact JSON in the table's order), not from what the library does. */
static void test_prepare_each_operation_exact_request(void **state)
{
    (void)state;
    const struct {
        int line;
        const char *op;
        struct wxpay_param p[4];
        size_t n;
        const char *method;
        const char *target;
        const char *body;
    } rows[] = {
        {__LINE__,
         APPLY,
         {{"service_id", "500001"},
          {"appid", APPID},
          {"authorization_code", "c0de_1-A|*"},
          {"notify_url", "https://example.com/n?a=1&b=\xE4\xB8\xAD"}},
         4,
         "POST",
         "/v3/payscore/permissions",
         "{\"service_id\":\"500001\",\"appid\":\"" APPID "\",\"authorization_code\":"
         "\"c0de_1-A|*\",\"notify_url\":\"https://example.com/n?a=1&b=\xE4\xB8\xAD\"}"},
        /* Optional notify_url absent (NULL) or not given: not in the body. Order of the
         * parameters given does not matter: the body follows the table. */
        {__LINE__,
         APPLY,
         {{"authorization_code", "c1"},
          {"notify_url", NULL},
          {"appid", APPID},
          {"service_id", "500001"}},
         4,
         "POST",
         "/v3/payscore/permissions",
         "{\"service_id\":\"500001\",\"appid\":\"" APPID "\",\"authorization_code\":\"c1\"}"},
        {__LINE__,
         QBC,
         {{"authorization_code", "c0de_1-A|*"}, {"service_id", "500001"}},
         2,
         "GET",
         "/v3/payscore/permissions/authorization-code/c0de_1-A%7C%2A?service_id=500001",
         ""},
        /* The query in the table's order (appid, then service_id) whatever the order given;
         * non-ASCII, space, '/', '+', '&', '=' and '?' percent-encoded in path and query. */
        {__LINE__,
         QBO,
         {{"service_id", "5 0&1=?"}, {"openid", "o\xE4\xB8\xAD /+~._-"}, {"appid", APPID}},
         3,
         "GET",
         "/v3/payscore/permissions/openid/o%E4%B8%AD%20%2F%2B~._-?appid=" APPID
         "&service_id=5%200%261%3D%3F",
         ""},
        {__LINE__,
         TBC,
         {{"authorization_code", "c0de"}, {"service_id", "500001"}, {"reason", "\xE7\x94\xA8"}},
         3,
         "POST",
         "/v3/payscore/permissions/authorization-code/c0de/terminate",
         "{\"service_id\":\"500001\",\"reason\":\"\xE7\x94\xA8\"}"},
        {__LINE__,
         TBO,
         {{"openid", "oUpF8"}, {"service_id", "500001"}, {"appid", APPID}, {"reason", "r"}},
         4,
         "POST",
         "/v3/payscore/permissions/openid/oUpF8/terminate",
         "{\"service_id\":\"500001\",\"appid\":\"" APPID "\",\"reason\":\"r\"}"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct wxpay_prepared p;
        struct wxpay_result r;
        char want[2048];
        enum wxpay_result_kind k =
            wxpay_prepare(client, rows[i].op, rows[i].p, rows[i].n, TS, NONCE, &p, &r);
        if (k != WXPAY_OK) {
            fail_msg("row at line %d: %s", rows[i].line, r.error);
        }
        snprintf(want, sizeof want, "%s\n%s\n1554208460\n" NONCE "\n%s\n", rows[i].method,
                 rows[i].target, rows[i].body);
        if (strcmp(p.target, rows[i].target) != 0 || strcmp(p.body, rows[i].body) != 0 ||
            strcmp(p.signing_string, want) != 0) {
            fail_msg("row at line %d: target '%s' body '%s' signing string '%s'", rows[i].line,
                     p.target, p.body, p.signing_string);
        }
        assert_signed_as(&p, rows[i].method, rows[i].target, rows[i].body);
        wxpay_prepared_free(&p);
        wxpay_result_free(&r);
    }
}

/* terminate-by-openid through the generic call builds exactly what wxpay_prepare_terminate does:
 * one table, one request. */
static void test_prepare_generic_and_typed_terminate_agree(void **state)
{
    (void)state;
    struct wxpay_terminate t = {"o/\xE4\xB8\xAD", "500001", APPID, "\xE7\x94\xA8 \"x\""};
    struct wxpay_param p[] = {{"reason", t.reason},
                              {"appid", t.appid},
                              {"service_id", t.service_id},
                              {"openid", t.openid}};
    struct wxpay_prepared a, b;
    struct wxpay_result r;

    assert_int_equal(wxpay_prepare_terminate(client, &t, TS, NONCE, &a, &r), WXPAY_OK);
    wxpay_result_free(&r);
    assert_int_equal(wxpay_prepare(client, TBO, p, 4, TS, NONCE, &b, &r), WXPAY_OK);
    wxpay_result_free(&r);
    assert_string_equal(a.target, b.target);
    assert_string_equal(a.body, b.body);
    assert_string_equal(a.signing_string, b.signing_string);
    assert_string_equal(a.authorization, b.authorization);
    wxpay_prepared_free(&a);
    wxpay_prepared_free(&b);
}

static void test_prepare_operation_inputs_are_checked_before_sending(void **state)
{
    (void)state;
    char code33[34], url256[257];
    memset(code33, 'c', 33);
    code33[33] = '\0';
    memcpy(url256, "https://", 8);
    memset(url256 + 8, 'u', 248);
    url256[256] = '\0';
    const struct {
        int line;
        const char *op;
        struct wxpay_param p[4];
        size_t n;
        const char *needle;
    } rows[] = {
        {__LINE__, "payscore.permissions.nope", {{"x", "1"}}, 1, "not an operation"},
        {__LINE__, NULL, {{"x", "1"}}, 1, "not an operation"},
        {__LINE__, "PAYSCORE.PERMISSIONS.APPLY", {{"x", "1"}}, 1, "not an operation"},
        {__LINE__,
         QBC,
         {{"authorization_code", "c"}, {"appid", APPID}},
         2,
         "appid: not a parameter"},
        {__LINE__, QBC, {{NULL, "c"}}, 1, "not a parameter"},
        {__LINE__, QBC, {{"service_id", "1"}, {"service_id", "2"}}, 2, "service_id: given twice"},
        {__LINE__, QBC, {{"service_id", "500001"}}, 1, "authorization_code: required"},
        {__LINE__, QBC, {{"authorization_code", "c"}}, 1, "service_id: required"},
        {__LINE__, QBC, {{"authorization_code", ""}, {"service_id", "1"}}, 2, "authorization_code"},
        {__LINE__,
         QBC,
         {{"authorization_code", "a b"}, {"service_id", "1"}},
         2,
         "(authorization_code must be 1..32 bytes of *, -, 0-9, A-Z, _, a-z, |)"},
        {__LINE__,
         QBC,
         {{"authorization_code", "\xE4\xB8\xAD"}, {"service_id", "1"}},
         2,
         "authorization_code"},
        {__LINE__,
         QBC,
         {{"authorization_code", code33}, {"service_id", "1"}},
         2,
         "authorization_code"},
        {__LINE__, QBO, {{"openid", "o"}, {"service_id", "1"}}, 2, "appid: required"},
        {__LINE__,
         QBO,
         {{"openid", "o"}, {"appid", "bad \xC3\x28"}, {"service_id", "1"}},
         3,
         "appid"},
        {__LINE__,
         APPLY,
         {{"service_id", "1"},
          {"appid", APPID},
          {"authorization_code", "c"},
          {"notify_url", url256}},
         4,
         "notify_url"},
        {__LINE__,
         APPLY,
         {{"service_id", "1"}, {"appid", APPID}, {"authorization_code", "c"}, {"notify_url", ""}},
         4,
         "notify_url"},
        {__LINE__,
         APPLY,
         {{"service_id", "1"}, {"appid", APPID}},
         2,
         "authorization_code: required"},
        {__LINE__, TBC, {{"authorization_code", "c"}, {"service_id", "1"}}, 2, "reason: required"},
        {__LINE__,
         TBC,
         {{"authorization_code", "c"}, {"service_id", "1"}, {"reason", "\xF0\x9F\x98\x80"}},
         3,
         "reason"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct wxpay_prepared p;
        struct wxpay_result r;
        struct wxpay_fields f;
        enum wxpay_result_kind k =
            wxpay_prepare(client, rows[i].op, rows[i].p, rows[i].n, TS, NONCE, &p, &r);
        if (k != WXPAY_ERR_LOCAL || strstr(r.error, rows[i].needle) == NULL || p.target != NULL) {
            fail_msg("row at line %d: kind %s, error \"%s\"", rows[i].line,
                     wxpay_result_kind_name(k), r.error);
        }
        wxpay_result_free(&r);
        /* The real call refuses the same input without touching the network (the client's base
         * URL is the discard port: a send would be a transport error). */
        memset(&f, 0xA5, sizeof f);
        k = wxpay_call(client, rows[i].op, rows[i].p, rows[i].n, &f, &r);
        if (k != WXPAY_ERR_LOCAL || r.http_status != 0 || r.curl_code != 0 || f.count != 0 ||
            f.field != NULL) {
            fail_msg("row at line %d: call gave %s (%s)", rows[i].line, wxpay_result_kind_name(k),
                     r.error);
        }
        wxpay_fields_free(&f);
        wxpay_result_free(&r);
    }
    /* A NULL array with a count. */
    {
        struct wxpay_result r;
        assert_int_equal(wxpay_call(client, QBC, NULL, 2, NULL, &r), WXPAY_ERR_LOCAL);
        wxpay_result_free(&r);
    }
}

/* The typed calls: a NULL request or client is refused, the fields struct is zeroed first (it
 * may be uninitialised), and each maps its members onto the operation's parameters. */
static void test_prepare_typed_calls_refuse_without_sending(void **state)
{
    (void)state;
    struct wxpay_result r;
    struct wxpay_fields f;
    char code33[34];
    struct wxpay_apply a = {"500001", APPID, NULL, NULL};
    struct wxpay_query_by_code qc = {"c", NULL};
    struct wxpay_query_by_openid qo = {"o", NULL, "500001"};
    struct wxpay_terminate_by_code tc = {code33, "500001", "r"};
    memset(code33, 'c', 33);
    code33[33] = '\0';

    memset(&f, 0xA5, sizeof f);
    assert_int_equal(wxpay_payscore_apply(client, NULL, &f, &r), WXPAY_ERR_LOCAL);
    assert_non_null(strstr(r.error, "payscore.permissions.apply: the request is required"));
    assert_int_equal(f.count, 0);
    wxpay_result_free(&r);
    assert_int_equal(wxpay_payscore_apply(client, &a, &f, &r), WXPAY_ERR_LOCAL);
    assert_non_null(strstr(r.error, "authorization_code: required"));
    wxpay_result_free(&r);
    assert_int_equal(wxpay_payscore_query_by_code(client, &qc, &f, &r), WXPAY_ERR_LOCAL);
    assert_non_null(strstr(r.error, "service_id: required"));
    wxpay_result_free(&r);
    assert_int_equal(wxpay_payscore_query_by_openid(client, &qo, NULL, &r), WXPAY_ERR_LOCAL);
    assert_non_null(strstr(r.error, "appid: required"));
    wxpay_result_free(&r);
    assert_int_equal(wxpay_payscore_terminate_by_code(client, &tc, &r), WXPAY_ERR_LOCAL);
    assert_non_null(strstr(r.error, "authorization_code"));
    assert_int_equal(r.http_status, 0);
    wxpay_result_free(&r);
    assert_int_equal(wxpay_payscore_query_by_code(NULL, &qc, &f, &r), WXPAY_ERR_LOCAL);
    assert_non_null(strstr(r.error, "client"));
    wxpay_result_free(&r);
    assert_int_equal(wxpay_payscore_terminate(client, NULL, &r), WXPAY_ERR_LOCAL);
    wxpay_result_free(&r);
    assert_int_equal(f.count, 0);
    assert_null(f.field);
    wxpay_fields_free(&f);
    wxpay_fields_free(NULL);
    assert_null(wxpay_fields_get(NULL, "x"));
    assert_null(wxpay_fields_get(&f, "x"));
    assert_null(wxpay_fields_get(&f, NULL));
}

/* The listing callers (the CLI's help) read: the operations in the table's order, each with
 * its method, template, success status and parameters. */
static void test_prepare_operations_are_listed(void **state)
{
    (void)state;
    const struct {
        const char *name;
        const char *method;
        unsigned success;
        size_t nparams;
        const char *first_param;
        const char *first_location;
        const char *path;
        int first_required;
    } want[] = {
        {APPLY, "POST", 200, 4, "service_id", "body", "/v3/payscore/permissions", 1},
        {QBC, "GET", 200, 2, "authorization_code", "uri_template", "/v3/payscore/permissions", 1},
        {QBO, "GET", 200, 3, "openid", "uri_template", "/v3/payscore/permissions", 1},
        {TBC, "POST", 204, 3, "authorization_code", "uri_template", "/v3/payscore/permissions", 1},
        {TBO, "POST", 204, 4, "openid", "uri_template", "/v3/payscore/permissions", 1},
        {"platform.certificates.list", "GET", 200, 1, "algorithm_type", "query", "/v3/certificates",
         0},
    };
    struct wxpay_operation_info info;
    struct wxpay_param_info p;

    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_string_equal(wxpay_operation_name(i), want[i].name);
        assert_int_equal(wxpay_operation_info(want[i].name, &info), 0);
        assert_string_equal(info.name, want[i].name);
        assert_string_equal(info.method, want[i].method);
        assert_int_equal(info.success, want[i].success);
        assert_int_equal(info.nparams, want[i].nparams);
        assert_int_equal(strncmp(info.path, want[i].path, strlen(want[i].path)), 0);
        assert_int_equal(wxpay_operation_param(want[i].name, 0, &p), 0);
        assert_string_equal(p.name, want[i].first_param);
        assert_string_equal(p.location, want[i].first_location);
        assert_int_equal(p.required, want[i].first_required);
        assert_int_equal(wxpay_operation_param(want[i].name, want[i].nparams, &p), -1);
    }
    assert_null(wxpay_operation_name(sizeof want / sizeof want[0]));
    assert_int_equal(wxpay_operation_info("nope", &info), -1);
    assert_int_equal(wxpay_operation_info(NULL, &info), -1);
    assert_int_equal(wxpay_operation_param("nope", 0, &p), -1);
    /* The optional notify_url, and a length in characters. */
    assert_int_equal(wxpay_operation_param(APPLY, 3, &p), 0);
    assert_string_equal(p.name, "notify_url");
    assert_int_equal(p.required, 0);
    assert_int_equal(p.max, 255);
    /* authorization_code's character table, as ranges; none for the others. */
    assert_int_equal(wxpay_operation_param(APPLY, 2, &p), 0);
    assert_string_equal(p.name, "authorization_code");
    assert_string_equal(p.charset, "*, -, 0-9, A-Z, _, a-z, |");
    assert_int_equal(wxpay_operation_param(QBO, 0, &p), 0);
    assert_string_equal(p.charset, "");
    assert_int_equal(wxpay_operation_param(TBC, 2, &p), 0);
    assert_string_equal(p.charset, "");
    assert_string_equal(p.name, "reason");
    assert_string_equal(p.unit, "characters");
    assert_int_equal(p.max, 50);
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
        cmocka_unit_test(test_prepare_apiv3_key_config),
        cmocka_unit_test(test_prepare_sign_compare_names_the_part_that_differs),
        cmocka_unit_test(test_prepare_sign_compare_refuses_other_bodies),
        cmocka_unit_test(test_prepare_each_operation_exact_request),
        cmocka_unit_test(test_prepare_generic_and_typed_terminate_agree),
        cmocka_unit_test(test_prepare_operation_inputs_are_checked_before_sending),
        cmocka_unit_test(test_prepare_typed_calls_refuse_without_sending),
        cmocka_unit_test(test_prepare_operations_are_listed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
