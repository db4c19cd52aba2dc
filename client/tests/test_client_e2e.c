/* SPDX-License-Identifier: MIT */
/* test_client_e2e.c: libwxpay against wxpay-mock: success, each error class, and each forged or
 * stale answer the mock's scenarios produce. The client must never call a forged 2xx a success,
 * and must classify every error answer's signature. */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "e2e.h"
#include "wxpay/wxpay.h"

static struct e2e_mock mock;
static char key_path[1024], cert_path[1024], pub_path[1024];

static int start(void **state)
{
    (void)state;
    snprintf(key_path, sizeof key_path, "%s", t_fixture("keys/test-merchant-a.key.pem"));
    snprintf(cert_path, sizeof cert_path, "%s", t_fixture("certs/test-platform.cert.pem"));
    snprintf(pub_path, sizeof pub_path, "%s", t_fixture("keys/test-platform.pub.pem"));
    e2e_start(&mock, NULL);
    return 0;
}

static int stop(void **state)
{
    (void)state;
    e2e_stop(&mock);
    return 0;
}

enum mode { CERT, PUBKEY };

/* A client for merchant A against `m`; certificate or public-key mode. */
static struct wxpay_client *client_for(const struct e2e_mock *m, enum mode mode, unsigned retries,
                                       long timeout_ms)
{
    static const char *certs[2], *pubs[2], *ids[2];
    struct wxpay_config cfg;
    struct wxpay_client *c = NULL;
    struct wxpay_result r;

    memset(&cfg, 0, sizeof cfg);
    certs[0] = cert_path;
    pubs[0] = pub_path;
    ids[0] = T_PUBKEY_ID;
    cfg.base_url = m->url;
    cfg.mchid = T_MCHID_A;
    cfg.mch_serial = T_SERIAL_A;
    cfg.mch_key_file = key_path;
    if (mode == CERT) {
        cfg.platform_cert_files = certs;
    } else {
        cfg.platform_pubkey_files = pubs;
        cfg.platform_pubkey_ids = ids;
    }
    cfg.retry.max_retries = retries;
    cfg.retry.base_delay_ms = 10;
    cfg.timeout_ms = timeout_ms;
    if (wxpay_client_new(&cfg, &c, &r) != WXPAY_OK) {
        fail_msg("client: %s", r.error);
    }
    wxpay_result_free(&r);
    return c;
}

static enum wxpay_result_kind terminate(struct wxpay_client *c, const char *openid,
                                        struct wxpay_result *r)
{
    struct wxpay_terminate t = {openid, "500001", "wxd678efh567hg6787", "client e2e"};
    return wxpay_payscore_terminate(c, &t, r);
}

static void add_rules(const struct e2e_mock *m, const char *json)
{
    const char *h[] = {"Content-Type: application/json", NULL};
    struct e2e_resp r;
    e2e_send(m, "POST", "/__admin/scenarios", h, json, strlen(json), &r);
    if (r.status != 201) {
        fail_msg("scenario refused (%ld): %s", r.status, wxp_buf_cstr(&r.body));
    }
    e2e_resp_free(&r);
}

static void test_client_success_is_verified_204(void **state)
{
    (void)state;
    struct wxpay_client *c = client_for(&mock, CERT, 0, 0);
    struct wxpay_result r;
    assert_int_equal(terminate(c, "oClientOk", &r), WXPAY_OK);
    assert_int_equal(r.kind, WXPAY_OK);
    assert_int_equal(r.http_status, 204);
    assert_int_equal(r.signature, WXPAY_SIG_VALID);
    assert_int_equal(r.verify_failure, WXPAY_VF_NONE);
    assert_true(strlen(r.request_id) > 10);
    assert_int_equal(r.attempts, 1);
    wxpay_result_free(&r);
    /* The same authorization again: the documented state error, unsigned like the live one. */
    assert_int_equal(terminate(c, "oClientOk", &r), WXPAY_ERR_WECHAT);
    assert_int_equal(r.http_status, 400);
    assert_string_equal(r.code, "INVALID_ORDER_STATE");
    assert_true(strlen(r.message) > 0);
    assert_int_equal(r.signature, WXPAY_SIG_UNSIGNED);
    assert_true(strlen(r.error) > 0);
    wxpay_result_free(&r);
    wxpay_client_free(c);
}

static void test_client_public_key_mode(void **state)
{
    (void)state;
    struct wxpay_client *c = client_for(&mock, PUBKEY, 0, 0);
    struct wxpay_result r;
    /* The client names its PUB_KEY_ID in Wechatpay-Serial; the mock signs with that key. */
    assert_int_equal(terminate(c, "oClientPub", &r), WXPAY_OK);
    assert_int_equal(r.signature, WXPAY_SIG_VALID);
    wxpay_result_free(&r);
    wxpay_client_free(c);
}

static void test_client_rejects_every_forged_2xx(void **state)
{
    (void)state;
    const struct {
        int line;
        const char *action;
        enum wxpay_verify_failure want;
        enum wxpay_signature sig;
    } rows[] = {
        {__LINE__, "{\"signature\":\"forged\"}", WXPAY_VF_BAD_SIGNATURE, WXPAY_SIG_INVALID},
        {__LINE__, "{\"signature\":\"probe\"}", WXPAY_VF_PROBE, WXPAY_SIG_INVALID},
        {__LINE__, "{\"serial\":\"unknown\"}", WXPAY_VF_UNKNOWN_SERIAL, WXPAY_SIG_INVALID},
        {__LINE__, "{\"timestamp_offset\":-400}", WXPAY_VF_STALE, WXPAY_SIG_INVALID},
        {__LINE__, "{\"timestamp_offset\":400}", WXPAY_VF_FUTURE, WXPAY_SIG_INVALID},
        {__LINE__, "{\"omit_header\":\"Wechatpay-Nonce\"}", WXPAY_VF_MISSING_HEADER,
         WXPAY_SIG_INVALID},
        {__LINE__, "{\"omit_header\":\"Wechatpay-Timestamp\"}", WXPAY_VF_MISSING_HEADER,
         WXPAY_SIG_INVALID},
        {__LINE__, "{\"omit_header\":\"Wechatpay-Serial\"}", WXPAY_VF_MISSING_HEADER,
         WXPAY_SIG_INVALID},
        {__LINE__, "{\"omit_header\":\"Request-ID\"}", WXPAY_VF_MISSING_HEADER, WXPAY_SIG_INVALID},
        {__LINE__, "{\"omit_header\":\"Wechatpay-Signature\"}", WXPAY_VF_MISSING_HEADER,
         WXPAY_SIG_UNSIGNED},
        {__LINE__, "{\"sign_over\":\"{}\"}", WXPAY_VF_BAD_SIGNATURE, WXPAY_SIG_INVALID},
    };
    struct wxpay_client *c = client_for(&mock, CERT, 3, 0);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char openid[32], rule[512];
        struct wxpay_result r;
        enum wxpay_result_kind k;
        snprintf(openid, sizeof openid, "oForged%zu", i);
        snprintf(rule, sizeof rule, "[{\"match\":{\"openid\":\"%s\"},\"action\":%s}]", openid,
                 rows[i].action);
        add_rules(&mock, rule);
        k = terminate(c, openid, &r);
        if (k != WXPAY_ERR_VERIFY || r.verify_failure != rows[i].want ||
            r.signature != rows[i].sig || r.http_status != 204 || r.attempts != 1) {
            fail_msg("row at line %d: kind %s, failure %s, signature %s, status %ld, attempts %u "
                     "(%s)",
                     rows[i].line, wxpay_result_kind_name(k),
                     wxpay_verify_failure_name(r.verify_failure), wxpay_signature_name(r.signature),
                     r.http_status, r.attempts, r.error);
        }
        assert_true(strlen(r.error) > 0);
        wxpay_result_free(&r);
    }
    wxpay_client_free(c);
}

static void test_client_error_statuses_are_wechat_errors(void **state)
{
    (void)state;
    const struct {
        int line;
        long status;
        const char *code;
    } rows[] = {
        {__LINE__, 400, "PARAM_ERROR"},
        {__LINE__, 401, "SIGN_ERROR"},
        {__LINE__, 403, "NO_AUTH"},
        {__LINE__, 404, "ORDER_NOT_EXIST"},
        {__LINE__, 429, "FREQUENCY_LIMITED"},
        {__LINE__, 500, "SYSTEM_ERROR"},
        {__LINE__, 503, "SERVICE_UNAVAILABLE"},
    };
    struct wxpay_client *c = client_for(&mock, CERT, 0, 0);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char openid[32], rule[512];
        struct wxpay_result r;
        snprintf(openid, sizeof openid, "oStatus%zu", i);
        snprintf(rule, sizeof rule,
                 "[{\"match\":{\"openid\":\"%s\"},\"action\":{\"respond\":{\"status\":%ld,"
                 "\"code\":\"%s\",\"message\":\"m\",\"detail\":{\"field\":\"/x\",\"value\":3,"
                 "\"location\":\"body\"}}}}]",
                 openid, rows[i].status, rows[i].code);
        add_rules(&mock, rule);
        if (terminate(c, openid, &r) != WXPAY_ERR_WECHAT || r.http_status != rows[i].status ||
            strcmp(r.code, rows[i].code) != 0 || r.signature != WXPAY_SIG_UNSIGNED) {
            fail_msg("row at line %d: %s %ld %s sig=%s", rows[i].line,
                     wxpay_result_kind_name(r.kind), r.http_status, r.code,
                     wxpay_signature_name(r.signature));
        }
        assert_string_equal(r.message, "m");
        assert_string_equal(r.detail_field, "/x");
        assert_string_equal(r.detail_value, "3");
        assert_string_equal(r.detail_location, "body");
        wxpay_result_free(&r);
    }
    wxpay_client_free(c);
}

static void test_client_classifies_signed_errors(void **state)
{
    (void)state;
    struct e2e_mock signing;
    const char *args[] = {"--sign-errors", NULL};
    struct wxpay_client *c;
    struct wxpay_result r;

    e2e_start(&signing, args);
    c = client_for(&signing, CERT, 0, 0);
    assert_int_equal(terminate(c, "oSigned", &r), WXPAY_OK);
    wxpay_result_free(&r);
    assert_int_equal(terminate(c, "oSigned", &r), WXPAY_ERR_WECHAT);
    assert_int_equal(r.signature, WXPAY_SIG_VALID);
    wxpay_result_free(&r);
    add_rules(&signing, "[{\"match\":{\"openid\":\"oSignedBad\"},\"action\":{\"respond\":"
                        "{\"status\":500,\"code\":\"SYSTEM_ERROR\",\"message\":\"x\"},"
                        "\"signature\":\"forged\"}}]");
    assert_int_equal(terminate(c, "oSignedBad", &r), WXPAY_ERR_WECHAT);
    assert_int_equal(r.signature, WXPAY_SIG_INVALID);
    assert_int_equal(r.verify_failure, WXPAY_VF_BAD_SIGNATURE);
    wxpay_result_free(&r);
    wxpay_client_free(c);
    e2e_stop(&signing);
}

static void test_client_transport_failures(void **state)
{
    (void)state;
    struct e2e_mock closed = mock;
    struct wxpay_client *c;
    struct wxpay_result r;

    /* Port 9 (discard) on loopback: nothing listens there in the test environment. */
    snprintf(closed.url, sizeof closed.url, "http://127.0.0.1:9");
    c = client_for(&closed, CERT, 0, 2000);
    assert_int_equal(terminate(c, "oNoServer", &r), WXPAY_ERR_TRANSPORT);
    assert_int_equal(r.http_status, 0);
    assert_int_not_equal(r.curl_code, 0);
    assert_true(strlen(r.error) > 0);
    wxpay_result_free(&r);
    wxpay_client_free(c);

    c = client_for(&mock, CERT, 0, 300);
    add_rules(&mock, "[{\"match\":{\"openid\":\"oDrop\"},\"action\":{\"drop\":true}},"
                     "{\"match\":{\"openid\":\"oSlow\"},\"action\":{\"delay_ms\":1500}}]");
    assert_int_equal(terminate(c, "oDrop", &r), WXPAY_ERR_TRANSPORT);
    assert_int_equal(r.curl_code, CURLE_GOT_NOTHING);
    wxpay_result_free(&r);
    assert_int_equal(terminate(c, "oSlow", &r), WXPAY_ERR_TRANSPORT);
    assert_int_equal(r.curl_code, CURLE_OPERATION_TIMEDOUT);
    wxpay_result_free(&r);
    wxpay_client_free(c);
}

/* A kept-alive connection that the server closes after reading a terminate, before answering
 * (the mock's "drop"): libcurl would resend the POST once on a fresh connection, silently, and
 * the call would report the resend's answer. The client refuses the resend, reports that the
 * outcome is not known, does not retry it even with retries configured, and the mock saw the
 * terminate exactly once. */
static void test_client_never_resends_a_post_on_a_dropped_connection(void **state)
{
    (void)state;
    struct wxpay_client *c = client_for(&mock, CERT, 3, 0);
    struct wxpay_result r;
    const char *h[] = {NULL};
    struct e2e_resp j;
    cJSON *root;

    add_rules(&mock, "[{\"match\":{\"openid\":\"oDropKept\"},\"times\":1,"
                     "\"action\":{\"drop\":true}}]");
    /* The first call opens the connection the second one reuses. */
    assert_int_equal(terminate(c, "oDropKeptWarm", &r), WXPAY_OK);
    wxpay_result_free(&r);
    assert_int_equal(terminate(c, "oDropKept", &r), WXPAY_ERR_TRANSPORT);
    assert_int_equal(r.http_status, 0);
    assert_int_equal(r.curl_code, CURLE_SEND_FAIL_REWIND);
    assert_int_equal(r.attempts, 1);
    assert_non_null(strstr(r.error, "may have executed it"));
    wxpay_result_free(&r);
    e2e_send(&mock, "GET",
             "/__admin/requests?path=/v3/payscore/permissions/openid/oDropKept/terminate", h, NULL,
             0, &j);
    assert_int_equal(j.status, 200);
    root = cJSON_ParseWithLength(j.body.ptr, j.body.len);
    assert_non_null(root);
    assert_int_equal(cJSON_GetArraySize(root), 1);
    cJSON_Delete(root);
    e2e_resp_free(&j);
    wxpay_client_free(c);
}

static void test_client_retries_5xx_but_never_a_forged_answer(void **state)
{
    (void)state;
    struct wxpay_client *c = client_for(&mock, CERT, 3, 0);
    struct wxpay_result r;
    add_rules(&mock, "[{\"match\":{\"openid\":\"oRetry\"},\"times\":2,\"action\":{\"respond\":"
                     "{\"status\":500,\"code\":\"SYSTEM_ERROR\",\"message\":\"busy\"}}}]");
    assert_int_equal(terminate(c, "oRetry", &r), WXPAY_OK);
    assert_int_equal(r.attempts, 3);
    wxpay_result_free(&r);
    wxpay_client_free(c);
    /* Without retries the first 500 is the answer. */
    c = client_for(&mock, CERT, 0, 0);
    add_rules(&mock, "[{\"match\":{\"openid\":\"oNoRetry\"},\"times\":1,\"action\":{\"respond\":"
                     "{\"status\":429,\"code\":\"FREQUENCY_LIMITED\",\"message\":\"slow\"}}}]");
    assert_int_equal(terminate(c, "oNoRetry", &r), WXPAY_ERR_WECHAT);
    assert_int_equal(r.attempts, 1);
    wxpay_result_free(&r);
    wxpay_client_free(c);
}

static void test_client_reuses_one_connection(void **state)
{
    (void)state;
    const char *h[] = {NULL};
    struct wxpay_client *c = client_for(&mock, CERT, 0, 0);
    struct wxpay_result r;
    struct e2e_resp j;
    cJSON *root;
    char first[64] = "";
    int seen = 0;

    for (int i = 0; i < 3; i++) {
        char openid[32];
        snprintf(openid, sizeof openid, "oKeepAlive%d", i);
        assert_int_equal(terminate(c, openid, &r), WXPAY_OK);
        wxpay_result_free(&r);
    }
    e2e_send(&mock, "GET", "/__admin/requests?path=/v3/payscore/permissions/openid/oKeepAlive", h,
             NULL, 0, &j);
    assert_int_equal(j.status, 200);
    root = cJSON_ParseWithLength(j.body.ptr, j.body.len);
    assert_non_null(root);
    for (cJSON *e = root->child; e != NULL; e = e->next) {
        const cJSON *remote = cJSON_GetObjectItemCaseSensitive(e, "remote");
        assert_true(cJSON_IsString(remote));
        if (first[0] == '\0') {
            snprintf(first, sizeof first, "%s", remote->valuestring);
        }
        assert_string_equal(remote->valuestring, first);
        seen++;
    }
    assert_int_equal(seen, 3);
    cJSON_Delete(root);
    e2e_resp_free(&j);
    wxpay_client_free(c);
}

static void test_client_generic_request(void **state)
{
    (void)state;
    struct wxpay_client *c = client_for(&mock, CERT, 0, 0);
    struct wxpay_result r;
    assert_int_equal(wxpay_request(c, "GET", "/v3/no-such-api", NULL, NULL, &r), WXPAY_ERR_WECHAT);
    assert_int_equal(r.http_status, 404);
    assert_int_equal(r.signature, WXPAY_SIG_UNSIGNED);
    wxpay_result_free(&r);
    /* The platform certificate list: a verified 200. */
    assert_int_equal(wxpay_request(c, "GET", "/v3/certificates", NULL, NULL, &r), WXPAY_OK);
    assert_int_equal(r.http_status, 200);
    assert_int_equal(r.signature, WXPAY_SIG_VALID);
    wxpay_result_free(&r);
    assert_int_equal(wxpay_request(c, "POST", "/v3/payscore/permissions/openid/oGeneric/terminate",
                                   NULL,
                                   "{\"service_id\":\"500001\",\"appid\":\"wxd678efh567hg6787\","
                                   "\"reason\":\"generic\"}",
                                   &r),
                     WXPAY_OK);
    assert_int_equal(r.http_status, 204);
    wxpay_result_free(&r);
    assert_int_equal(wxpay_request(c, "POST", "/v3/x", NULL, "{not json", &r), WXPAY_ERR_LOCAL);
    wxpay_result_free(&r);
    wxpay_client_free(c);
}

static void test_client_over_https(void **state)
{
    (void)state;
    char cert[1024], key[1024], ca[1024];
    const char *args[] = {"--https", cert, key, NULL};
    const char *certs[] = {cert_path, NULL};
    struct e2e_mock tls;
    struct wxpay_config cfg;
    struct wxpay_client *c = NULL;
    struct wxpay_result r;

    snprintf(cert, sizeof cert, "%s", t_fixture("tls/test-server.cert.pem"));
    snprintf(key, sizeof key, "%s", t_fixture("tls/test-server.key.pem"));
    snprintf(ca, sizeof ca, "%s", t_fixture("tls/test-ca.cert.pem"));
    e2e_start(&tls, args);
    assert_int_equal(strncmp(tls.url, "https://127.0.0.1:", 18), 0);
    memset(&cfg, 0, sizeof cfg);
    cfg.base_url = tls.url;
    cfg.mchid = T_MCHID_A;
    cfg.mch_serial = T_SERIAL_A;
    cfg.mch_key_file = key_path;
    cfg.platform_cert_files = certs;
    /* Without the test CA the server certificate is refused: a transport failure. */
    assert_int_equal(wxpay_client_new(&cfg, &c, &r), WXPAY_OK);
    wxpay_result_free(&r);
    assert_int_equal(terminate(c, "oHttps", &r), WXPAY_ERR_TRANSPORT);
    assert_int_equal(r.curl_code, CURLE_PEER_FAILED_VERIFICATION);
    wxpay_result_free(&r);
    wxpay_client_free(c);
    cfg.ca_file = ca;
    assert_int_equal(wxpay_client_new(&cfg, &c, &r), WXPAY_OK);
    wxpay_result_free(&r);
    assert_int_equal(terminate(c, "oHttps", &r), WXPAY_OK);
    assert_int_equal(r.signature, WXPAY_SIG_VALID);
    wxpay_result_free(&r);
    wxpay_client_free(c);
    e2e_stop(&tls);
}

/* A client signing with merchant B's key under merchant A's serial: the mock answers 401
 * SIGN_ERROR with the string it verified, which is exactly ours, so the key is what is wrong. */
static void test_client_sign_error_is_diagnosed(void **state)
{
    (void)state;
    static const char *certs[2];
    char wrong_key[1024];
    struct wxpay_config cfg;
    struct wxpay_client *c = NULL;
    struct wxpay_result r;
    struct wxpay_sign_diag d;
    /* Each part of our string changed in turn must be named by the comparison with the mock's
     * real answer: {old, new} replaced once in our signed string. */
    const struct {
        int line;
        const char *from;
        const char *to;
        unsigned differs;
    } rows[] = {
        {__LINE__, "POST\n", "PUT\n", WXPAY_SP_METHOD},
        {__LINE__, "/oSignDiag/", "/oSignDiaG/", WXPAY_SP_URL},
        {__LINE__, "/terminate\n", "/terminate?x=1\n", WXPAY_SP_URL},
        {__LINE__, "\"reason\":\"client e2e\"", "\"reason\": \"client e2e\"", WXPAY_SP_BODY},
    };

    snprintf(wrong_key, sizeof wrong_key, "%s", t_fixture("keys/test-merchant-b.key.pem"));
    memset(&cfg, 0, sizeof cfg);
    certs[0] = cert_path;
    cfg.base_url = mock.url;
    cfg.mchid = T_MCHID_A;
    cfg.mch_serial = T_SERIAL_A;
    cfg.mch_key_file = wrong_key;
    cfg.platform_cert_files = certs;
    assert_int_equal(wxpay_client_new(&cfg, &c, &r), WXPAY_OK);
    wxpay_result_free(&r);
    assert_int_equal(terminate(c, "oSignDiag", &r), WXPAY_ERR_WECHAT);
    assert_int_equal(r.http_status, 401);
    assert_string_equal(r.code, "SIGN_ERROR");
    assert_int_equal(wxpay_sign_diagnose(c, &r, &d), WXPAY_OK);
    assert_true(d.strings_equal);
    assert_int_equal(d.differs, 0);
    assert_string_equal(d.issue, "sign not match");
    assert_non_null(strstr(d.verdict, "private key"));
    assert_int_equal(d.theirs_total, d.ours_len);
    assert_memory_equal(d.ours, d.theirs, d.ours_len);
    assert_non_null(strstr(d.ours, "POST\n/v3/payscore/permissions/openid/oSignDiag/terminate\n"));

    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char ours[1024];
        const char *at = strstr(d.ours, rows[i].from);
        struct wxpay_sign_diag m;
        assert_non_null(at);
        snprintf(ours, sizeof ours, "%.*s%s%s", (int)(at - d.ours), d.ours, rows[i].to,
                 at + strlen(rows[i].from));
        if (wxpay_sign_compare(ours, strlen(ours), r.body, r.body_len, &m) != WXPAY_OK ||
            m.differs != rows[i].differs || m.strings_equal) {
            fail_msg("row at line %d: differs %#x, verdict '%s'", rows[i].line, m.differs,
                     m.verdict);
        }
        wxpay_sign_diag_free(&m);
    }
    wxpay_sign_diag_free(&d);

    /* After a call that failed before signing, the 401 above is no longer the last call's: its
     * body is not compared with a string signed for another request. */
    {
        struct wxpay_result r2;
        assert_int_equal(terminate(c, "", &r2), WXPAY_ERR_LOCAL);
        assert_int_equal(wxpay_sign_diagnose(c, &r, &d), WXPAY_ERR_LOCAL);
        assert_non_null(strstr(d.verdict, "signed nothing"));
        wxpay_sign_diag_free(&d);
        wxpay_result_free(&r2);
    }
    wxpay_result_free(&r);
    wxpay_client_free(c);
}

/* ---- operations with a 200 body ----------------------------------------------------------
 * The mock's scenarios answer before any routing (docs/mock-scenarios.md): `body` sends exactly
 * these bytes with status 200 and a valid signature over them, and the tampering members break
 * that signature. So the client's handling of a 200 body is tested here whatever operations the
 * mock itself serves. */

#define ENTITY_HEAD                                                                                \
    "{\"service_id\":\"500001\",\"appid\":\"wxd678efh567hg6787\",\"mchid\":\"1900000109\","        \
    "\"openid\":\"oEntity\",\"authorization_code\":\"codeE1\","
/* The by-code entity, with a member the table does not know and a number (ignored). */
#define ENTITY                                                                                     \
    ENTITY_HEAD "\"authorization_state\":\"AVAILABLE\",\"notify_url\":\"https://example.com/n\","  \
                "\"authorization_success_time\":\"2026-12-04T18:00:00+08:00\","                    \
                "\"user_risk_level\":1,\"future_member\":\"x\"}"

/* A JSON string literal of `s` for a scenario document (quotes and backslashes escaped). */
static void json_lit(char *out, size_t cap, const char *s)
{
    size_t n = 0;
    out[n++] = '"';
    for (; *s != '\0' && n + 3 < cap; s++) {
        if (*s == '"' || *s == '\\') {
            out[n++] = '\\';
        }
        out[n++] = *s;
    }
    out[n++] = '"';
    out[n] = '\0';
}

/* The newest journal entry whose raw path starts with `path`, parsed (the caller deletes it). */
static cJSON *last_request(const struct e2e_mock *m, const char *path)
{
    const char *h[] = {NULL};
    char target[512];
    struct e2e_resp j;
    cJSON *root, *entry;
    size_t n = (size_t)snprintf(target, sizeof target, "/__admin/requests?limit=1&path=");

    /* The filter's value is percent-decoded and the journal keeps the path as sent: a '%' of the
     * raw path goes in as %25. */
    for (; *path != '\0' && n + 4 < sizeof target; path++) {
        n += (size_t)snprintf(target + n, sizeof target - n, *path == '%' ? "%%25" : "%c", *path);
    }
    e2e_send(m, "GET", target, h, NULL, 0, &j);
    assert_int_equal(j.status, 200);
    root = cJSON_ParseWithLength(j.body.ptr, j.body.len);
    e2e_resp_free(&j);
    assert_non_null(root);
    assert_int_equal(cJSON_GetArraySize(root), 1);
    entry = cJSON_DetachItemFromArray(root, 0);
    cJSON_Delete(root);
    return entry;
}

static void test_client_query_returns_the_verified_fields(void **state)
{
    (void)state;
    struct wxpay_client *c = client_for(&mock, CERT, 0, 0);
    struct wxpay_query_by_code q = {"codeE1", "500001"};
    struct wxpay_fields f;
    struct wxpay_result r;
    char lit[1024], rule[2048];
    cJSON *e;
    const cJSON *hdrs;

    /* rule: a GET is sent without a body and without Content-Type; the rule below only fires
     * for such a request. src: docs/protocol.md (GET signing) */
    json_lit(lit, sizeof lit, ENTITY);
    snprintf(rule, sizeof rule,
             "[{\"match\":{\"method\":\"GET\",\"path\":\"/v3/payscore/permissions/"
             "authorization-code/codeE1\",\"headers_absent\":[\"Content-Type\"]},\"times\":1,"
             "\"action\":{\"body\":%s}}]",
             lit);
    add_rules(&mock, rule);
    assert_int_equal(wxpay_payscore_query_by_code(c, &q, &f, &r), WXPAY_OK);
    assert_int_equal(r.http_status, 200);
    assert_int_equal(r.signature, WXPAY_SIG_VALID);
    assert_int_equal(r.body_len, strlen(ENTITY));
    assert_memory_equal(r.body, ENTITY, r.body_len);
    /* The documented fields, in the table's order; the unknown members are not among them. */
    assert_int_equal(f.count, 9 - 1);
    assert_string_equal(f.field[0].name, "service_id");
    assert_string_equal(wxpay_fields_get(&f, "authorization_state"), "AVAILABLE");
    assert_string_equal(wxpay_fields_get(&f, "openid"), "oEntity");
    assert_string_equal(wxpay_fields_get(&f, "mchid"), "1900000109");
    assert_string_equal(wxpay_fields_get(&f, "notify_url"), "https://example.com/n");
    assert_string_equal(wxpay_fields_get(&f, "authorization_success_time"),
                        "2026-12-04T18:00:00+08:00");
    assert_null(wxpay_fields_get(&f, "cancel_authorization_time"));
    assert_null(wxpay_fields_get(&f, "future_member"));
    assert_null(wxpay_fields_get(&f, "user_risk_level"));
    wxpay_fields_free(&f);
    assert_int_equal(f.count, 0);
    wxpay_result_free(&r);

    /* What went on the wire: GET, the target with its query, no body, no Content-Type. */
    e = last_request(&mock, "/v3/payscore/permissions/authorization-code/codeE1");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(e, "method")->valuestring, "GET");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(e, "query")->valuestring,
                        "service_id=500001");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(e, "body_len")->valueint, 0);
    hdrs = cJSON_GetObjectItemCaseSensitive(e, "headers");
    assert_non_null(cJSON_GetObjectItemCaseSensitive(hdrs, "Authorization"));
    assert_null(cJSON_GetObjectItemCaseSensitive(hdrs, "Content-Type"));
    assert_null(cJSON_GetObjectItemCaseSensitive(hdrs, "Content-Length"));
    cJSON_Delete(e);
    wxpay_client_free(c);
}

static void test_client_apply_returns_the_token(void **state)
{
    (void)state;
    struct wxpay_client *c = client_for(&mock, PUBKEY, 0, 0);
    struct wxpay_apply a = {"500001", "wxd678efh567hg6787", "codeApply1", NULL};
    struct wxpay_fields f;
    struct wxpay_result r;

    add_rules(&mock, "[{\"match\":{\"method\":\"POST\",\"path\":\"/v3/payscore/permissions\","
                     "\"headers_present\":[\"Content-Type\"],\"body\":{\"authorization_code\":"
                     "\"codeApply1\"}},\"times\":1,\"action\":{\"body\":"
                     "\"{\\\"apply_permissions_token\\\":\\\"tok\\\\u4e2d1\\\"}\"}}]");
    assert_int_equal(wxpay_payscore_apply(c, &a, &f, &r), WXPAY_OK);
    assert_int_equal(r.http_status, 200);
    assert_int_equal(f.count, 1);
    /* The JSON escape is decoded. */
    assert_string_equal(wxpay_fields_get(&f, "apply_permissions_token"), "tok\xE4\xB8\xAD"
                                                                         "1");
    wxpay_fields_free(&f);
    wxpay_result_free(&r);
    wxpay_client_free(c);
}

/* A 200 body counts only when its signature verifies over exactly these bytes and it is the
 * documented body: a tampered or forged body is VERIFY (exit 3 in the CLI), an authentic but
 * undocumented one is WECHAT, and neither returns fields. */
static void test_client_200_body_must_verify_and_be_documented(void **state)
{
    (void)state;
    char missing_state[512], dup[512], lit[1024];
    const struct {
        int line;
        const char *body; /* NULL: no body member */
        const char *more; /* more action members, "" or ",..." */
        enum wxpay_result_kind kind;
        enum wxpay_verify_failure vf;
        const char *needle; /* in r.error */
    } rows[] = {
        {__LINE__, ENTITY, ",\"sign_over\":\"{}\"", WXPAY_ERR_VERIFY, WXPAY_VF_BAD_SIGNATURE, ""},
        {__LINE__, ENTITY, ",\"signature\":\"forged\"", WXPAY_ERR_VERIFY, WXPAY_VF_BAD_SIGNATURE,
         ""},
        {__LINE__, ENTITY, ",\"signature\":\"probe\"", WXPAY_ERR_VERIFY, WXPAY_VF_PROBE, ""},
        {__LINE__, ENTITY, ",\"signature\":\"none\"", WXPAY_ERR_VERIFY, WXPAY_VF_MISSING_HEADER,
         ""},
        {__LINE__, ENTITY, ",\"timestamp_offset\":-400", WXPAY_ERR_VERIFY, WXPAY_VF_STALE, ""},
        {__LINE__, missing_state, "", WXPAY_ERR_WECHAT, WXPAY_VF_NONE, "authorization_state"},
        {__LINE__, dup, "", WXPAY_ERR_WECHAT, WXPAY_VF_NONE, "not the documented body"},
        {__LINE__, "not json", "", WXPAY_ERR_WECHAT, WXPAY_VF_NONE, "not the documented body"},
        {__LINE__, "[]", "", WXPAY_ERR_WECHAT, WXPAY_VF_NONE, "not the documented body"},
        {__LINE__, "", "", WXPAY_ERR_WECHAT, WXPAY_VF_NONE, "not the documented body"},
        {__LINE__, NULL, ",\"malformed_json\":true", WXPAY_ERR_WECHAT, WXPAY_VF_NONE,
         "not the documented body"},
        {__LINE__, ENTITY, ",\"status\":201", WXPAY_ERR_WECHAT, WXPAY_VF_NONE,
         "unexpected HTTP 201"},
    };
    struct wxpay_client *c = client_for(&mock, CERT, 3, 0);

    snprintf(missing_state, sizeof missing_state, "%s\"notify_url\":\"u\"}", ENTITY_HEAD);
    snprintf(dup, sizeof dup,
             "%s\"authorization_state\":\"AVAILABLE\","
             "\"authorization_state\":\"UNAVAILABLE\"}",
             ENTITY_HEAD);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char openid[32], rule[2048];
        struct wxpay_query_by_openid q = {openid, "wxd678efh567hg6787", "500001"};
        struct wxpay_fields f;
        struct wxpay_result r;
        enum wxpay_result_kind k;
        snprintf(openid, sizeof openid, "oBody%zu", i);
        if (rows[i].body != NULL) {
            json_lit(lit, sizeof lit, rows[i].body);
        }
        snprintf(
            rule, sizeof rule,
            "[{\"match\":{\"path\":\"/v3/payscore/permissions/openid/%s\"},\"action\":{%s%s%s%s}}]",
            openid, rows[i].body != NULL ? "\"body\":" : "", rows[i].body != NULL ? lit : "",
            rows[i].body != NULL ? "" : "\"status\":200", rows[i].more);
        add_rules(&mock, rule);
        k = wxpay_payscore_query_by_openid(c, &q, &f, &r);
        if (k != rows[i].kind || r.verify_failure != rows[i].vf || f.count != 0 ||
            f.field != NULL || strstr(r.error, rows[i].needle) == NULL || r.attempts != 1) {
            fail_msg("row at line %d: kind %s, failure %s, %zu fields, attempts %u, error '%s'",
                     rows[i].line, wxpay_result_kind_name(k),
                     wxpay_verify_failure_name(r.verify_failure), f.count, r.attempts, r.error);
        }
        wxpay_fields_free(&f);
        wxpay_result_free(&r);
    }
    wxpay_client_free(c);
}

/* ---- the lifecycle against the mock's own operations ---------------------------------- */

/* The user's side, in WeChat: simulated by the mock's admin API (docs/mock-admin.md). */
static long admin_user(const char *what, const char *json)
{
    const char *h[] = {"Content-Type: application/json", NULL};
    char target[64];
    struct e2e_resp a;
    long status;
    snprintf(target, sizeof target, "/__admin/payscore/%s", what);
    e2e_send(&mock, "POST", target, h, json, strlen(json), &a);
    status = a.status;
    e2e_resp_free(&a);
    return status;
}

/* One query by code; returns its authorization_state (static copy) and checks the answer. */
static const char *state_by_code(struct wxpay_client *c, const char *code, struct wxpay_fields *f)
{
    static char st[32];
    struct wxpay_query_by_code q = {code, "500001"};
    struct wxpay_result r;
    if (wxpay_payscore_query_by_code(c, &q, f, &r) != WXPAY_OK) {
        fail_msg("query %s: %s", code, r.error);
    }
    assert_int_equal(r.http_status, 200);
    assert_int_equal(r.signature, WXPAY_SIG_VALID);
    snprintf(st, sizeof st, "%s", wxpay_fields_get(f, "authorization_state"));
    assert_string_equal(wxpay_fields_get(f, "authorization_code"), code);
    assert_string_equal(wxpay_fields_get(f, "service_id"), "500001");
    assert_string_equal(wxpay_fields_get(f, "mchid"), T_MCHID_A);
    wxpay_result_free(&r);
    return st;
}

/* apply -> (admin) user-accept -> query by code and by openid -> terminate by code -> query:
 * each 200 verified over its body, each state as the issue's state model says. */
static void test_client_permissions_lifecycle(void **state)
{
    (void)state;
    struct wxpay_client *c = client_for(&mock, CERT, 0, 0);
    struct wxpay_apply a = {"500001", "wxd678efh567hg6787", "codeLife1", "https://example.com/n"};
    struct wxpay_query_by_openid qo = {"oLife1", "wxd678efh567hg6787", "500001"};
    struct wxpay_terminate_by_code t = {"codeLife1", "500001", "client lifecycle"};
    const char *tm;
    struct wxpay_fields f;
    struct wxpay_result r;

    assert_int_equal(wxpay_payscore_apply(c, &a, &f, &r), WXPAY_OK);
    assert_int_equal(r.http_status, 200);
    assert_int_equal(r.signature, WXPAY_SIG_VALID);
    assert_int_equal(f.count, 1);
    assert_true(strlen(wxpay_fields_get(&f, "apply_permissions_token")) > 0);
    wxpay_fields_free(&f);
    wxpay_result_free(&r);
    /* The same code again is refused (it is unique per merchant). */
    assert_int_equal(wxpay_payscore_apply(c, &a, &f, &r), WXPAY_ERR_WECHAT);
    assert_true(r.http_status >= 400 && r.http_status < 500);
    assert_true(strlen(r.code) > 0);
    assert_int_equal(f.count, 0);
    wxpay_result_free(&r);

    assert_string_equal(state_by_code(c, "codeLife1", &f), "UNBINDUSER");
    assert_null(wxpay_fields_get(&f, "openid"));
    assert_string_equal(wxpay_fields_get(&f, "notify_url"), "https://example.com/n");
    wxpay_fields_free(&f);

    assert_int_equal(admin_user("user-accept", "{\"service_id\":\"500001\",\"openid\":\"oLife1\","
                                               "\"authorization_code\":\"codeLife1\"}"),
                     200);
    assert_string_equal(state_by_code(c, "codeLife1", &f), "AVAILABLE");
    assert_string_equal(wxpay_fields_get(&f, "openid"), "oLife1");
    tm = wxpay_fields_get(&f, "authorization_success_time");
    assert_non_null(tm);
    assert_int_equal(strlen(tm), strlen("2026-12-04T18:00:00+08:00"));
    assert_string_equal(tm + strlen(tm) - 6, "+08:00");
    wxpay_fields_free(&f);

    assert_int_equal(wxpay_payscore_query_by_openid(c, &qo, &f, &r), WXPAY_OK);
    assert_int_equal(r.signature, WXPAY_SIG_VALID);
    assert_string_equal(wxpay_fields_get(&f, "authorization_state"), "AVAILABLE");
    assert_string_equal(wxpay_fields_get(&f, "authorization_code"), "codeLife1");
    assert_string_equal(wxpay_fields_get(&f, "appid"), "wxd678efh567hg6787");
    wxpay_fields_free(&f);
    wxpay_result_free(&r);

    assert_int_equal(wxpay_payscore_terminate_by_code(c, &t, &r), WXPAY_OK);
    assert_int_equal(r.http_status, 204);
    assert_int_equal(r.signature, WXPAY_SIG_VALID);
    wxpay_result_free(&r);

    assert_string_equal(state_by_code(c, "codeLife1", &f), "UNAVAILABLE");
    assert_non_null(wxpay_fields_get(&f, "cancel_authorization_time"));
    wxpay_fields_free(&f);
    assert_int_equal(wxpay_payscore_query_by_openid(c, &qo, &f, &r), WXPAY_OK);
    assert_string_equal(wxpay_fields_get(&f, "authorization_state"), "UNAVAILABLE");
    wxpay_fields_free(&f);
    wxpay_result_free(&r);

    /* A second terminate fails as today's terminate does; so does one by openid. */
    assert_int_equal(wxpay_payscore_terminate_by_code(c, &t, &r), WXPAY_ERR_WECHAT);
    assert_string_equal(r.code, "INVALID_ORDER_STATE");
    wxpay_result_free(&r);
    {
        struct wxpay_terminate to = {"oLife1", "500001", "wxd678efh567hg6787", "again"};
        assert_int_equal(wxpay_payscore_terminate(c, &to, &r), WXPAY_ERR_WECHAT);
        assert_string_equal(r.code, "INVALID_ORDER_STATE");
        wxpay_result_free(&r);
    }
    /* The user reopens it in WeChat, then closes it there. */
    assert_int_equal(admin_user("user-accept", "{\"service_id\":\"500001\",\"openid\":\"oLife1\"}"),
                     200);
    assert_int_equal(wxpay_payscore_query_by_openid(c, &qo, &f, &r), WXPAY_OK);
    assert_string_equal(wxpay_fields_get(&f, "authorization_state"), "AVAILABLE");
    wxpay_fields_free(&f);
    wxpay_result_free(&r);
    assert_int_equal(admin_user("user-close", "{\"service_id\":\"500001\",\"openid\":\"oLife1\"}"),
                     200);
    assert_int_equal(wxpay_payscore_query_by_openid(c, &qo, &f, &r), WXPAY_OK);
    assert_string_equal(wxpay_fields_get(&f, "authorization_state"), "UNAVAILABLE");
    wxpay_fields_free(&f);
    wxpay_result_free(&r);
    wxpay_client_free(c);
}

/* The mock checks the client's GET: signature over the exact target with the query, in the
 * table's order; the generic call and a public-key client give the same. */
static void test_client_query_by_openid_through_the_generic_call(void **state)
{
    (void)state;
    struct wxpay_client *c = client_for(&mock, PUBKEY, 0, 0);
    /* Never seen: with the default unknown_openid policy it reads as AVAILABLE. */
    struct wxpay_param p[] = {{"service_id", "500001"},
                              {"appid", "wxd678efh567hg6787"},
                              {"openid", "o\xE4\xB8\xAD/never seen"}};
    struct wxpay_fields f;
    struct wxpay_result r;
    cJSON *e;

    if (wxpay_call(c, "payscore.permissions.query-by-openid", p, 3, &f, &r) != WXPAY_OK) {
        fail_msg("%s", r.error);
    }
    assert_int_equal(r.signature, WXPAY_SIG_VALID);
    assert_string_equal(wxpay_fields_get(&f, "authorization_state"), "AVAILABLE");
    assert_string_equal(wxpay_fields_get(&f, "openid"), "o\xE4\xB8\xAD/never seen");
    wxpay_fields_free(&f);
    wxpay_result_free(&r);
    e = last_request(&mock, "/v3/payscore/permissions/openid/o%E4%B8%AD%2Fnever%20seen");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(e, "query")->valuestring,
                        "appid=wxd678efh567hg6787&service_id=500001");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(e, "status")->valueint, 200);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "signed")));
    cJSON_Delete(e);
    wxpay_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_success_is_verified_204),
        cmocka_unit_test(test_client_public_key_mode),
        cmocka_unit_test(test_client_rejects_every_forged_2xx),
        cmocka_unit_test(test_client_error_statuses_are_wechat_errors),
        cmocka_unit_test(test_client_classifies_signed_errors),
        cmocka_unit_test(test_client_transport_failures),
        cmocka_unit_test(test_client_never_resends_a_post_on_a_dropped_connection),
        cmocka_unit_test(test_client_retries_5xx_but_never_a_forged_answer),
        cmocka_unit_test(test_client_reuses_one_connection),
        cmocka_unit_test(test_client_generic_request),
        cmocka_unit_test(test_client_over_https),
        cmocka_unit_test(test_client_sign_error_is_diagnosed),
        cmocka_unit_test(test_client_query_returns_the_verified_fields),
        cmocka_unit_test(test_client_apply_returns_the_token),
        cmocka_unit_test(test_client_200_body_must_verify_and_be_documented),
        cmocka_unit_test(test_client_permissions_lifecycle),
        cmocka_unit_test(test_client_query_by_openid_through_the_generic_call),
    };
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = cmocka_run_group_tests(tests, start, stop);
    curl_global_cleanup();
    return rc;
}
