/* SPDX-License-Identifier: MIT */
/* test_e2e.c: wxpay-mock over HTTP: every step of the checking order, signed responses, state,
 * replay, the timestamp window, public-key mode and the limits. Scenarios and the admin API are in
 * test_e2e_scenarios.c. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "e2e.h"
#include "wxp/envelope.h"
#include "wxp/mem.h"
#include "wxp/verify.h"

#define TERMINATE "/v3/payscore/permissions/openid/oE2E/terminate"
#define MSG_FORMAT "Http头Authorization值格式错误，请参考《微信支付商户REST API签名规则》"
#define MSG_TS "Http头Authorization中的timestamp与发起请求的时间不得超过5分钟"

static struct e2e_mock mock;

static int start_default(void **state)
{
    (void)state;
    e2e_start(&mock, NULL);
    return 0;
}

static int stop(void **state)
{
    (void)state;
    e2e_stop(&mock);
    return 0;
}

/* An APIv3 error answer (e2e_assert_error) with the headers every API answer carries. */
static void assert_error(const struct e2e_resp *r, long status, const char *code, const char *msg)
{
    e2e_assert_error(r, status, code, msg);
    assert_non_null(e2e_header(r, "Request-ID"));
    assert_string_equal(e2e_header(r, "Content-Type"), "application/json; charset=utf-8");
}

static void assert_unsigned(const struct e2e_resp *r)
{
    assert_null(e2e_header(r, "Wechatpay-Signature"));
    assert_null(e2e_header(r, "Wechatpay-Serial"));
    assert_null(e2e_header(r, "Wechatpay-Timestamp"));
    assert_null(e2e_header(r, "Wechatpay-Nonce"));
}

static void test_e2e_valid_terminate_is_signed_204(void **state)
{
    (void)state;
    struct e2e_req q = {.openid = "oValid1"};
    struct e2e_resp r;
    e2e_terminate(&mock, &q, &r);
    assert_int_equal(r.curl_error, 0);
    assert_int_equal(r.status, 204);
    assert_int_equal(r.body.len, 0);
    assert_non_null(e2e_header(&r, "Request-ID"));
    assert_string_equal(e2e_header(&r, "Wechatpay-Serial"), T_SERIAL_PLATFORM);
    assert_string_equal(e2e_header(&r, "Wechatpay-Signature-Type"), "WECHATPAY2-SHA256-RSA2048");
    assert_int_equal(strlen(e2e_header(&r, "Wechatpay-Nonce")), 32);
    assert_int_equal(e2e_verify(&r), WXP_OK);
    e2e_resp_free(&r);
}

static void test_e2e_second_terminate_fails_with_state_error(void **state)
{
    (void)state;
    struct e2e_req q = {.openid = "oTwice"};
    struct e2e_resp r;
    e2e_terminate(&mock, &q, &r);
    assert_int_equal(r.status, 204);
    e2e_resp_free(&r);
    e2e_terminate(&mock, &q, &r);
    assert_error(&r, 400, "INVALID_ORDER_STATE", NULL);
    e2e_resp_free(&r);
}

static void test_e2e_unknown_path_404_wrong_method_405_empty(void **state)
{
    (void)state;
    const char *h[] = {"Accept: application/json", "User-Agent: t", NULL};
    struct e2e_resp r;
    e2e_send(&mock, "POST", "/v3/payscore/permissions/openid/o1/terminatex", h, "{}", 2, &r);
    assert_int_equal(r.status, 404);
    assert_int_equal(r.body.len, 0);
    e2e_resp_free(&r);
    e2e_send(&mock, "POST", "/v3/nothing", h, "{}", 2, &r);
    assert_int_equal(r.status, 404);
    e2e_resp_free(&r);
    e2e_send(&mock, "GET", "/v3/payscore/permissions/openid/o1/terminate", h, NULL, 0, &r);
    assert_int_equal(r.status, 405);
    assert_int_equal(r.body.len, 0);
    e2e_resp_free(&r);
}

static void test_e2e_header_gate(void **state)
{
    (void)state;
    const struct {
        const char *extra[3];
        long status;
    } rows[] = {
        {{"Accept:", NULL}, 400},
        {{"User-Agent:", NULL}, 400},
        {{"Content-Type: text/plain", NULL}, 400},
        {{"Content-Type:", NULL}, 400},
        {{"Accept: */*", NULL}, 204},
        {{"Content-Type: application/json; charset=utf-8", NULL}, 204},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char openid[32];
        struct e2e_req q = {0};
        struct e2e_resp r;
        snprintf(openid, sizeof openid, "oGate%zu", i);
        q.openid = openid;
        q.extra[0] = rows[i].extra[0];
        e2e_terminate(&mock, &q, &r);
        if (r.status != rows[i].status) {
            fail_msg("row %zu (%s): status %ld", i, rows[i].extra[0], r.status);
        }
        if (rows[i].status == 400) {
            assert_error(&r, 400, "INVALID_REQUEST", NULL);
            assert_unsigned(&r);
        }
        e2e_resp_free(&r);
    }
    {
        struct e2e_req q = {.openid = "oGateMsg", .extra = {"Accept:"}};
        struct e2e_resp r;
        e2e_terminate(&mock, &q, &r);
        assert_error(&r, 400, "INVALID_REQUEST", "Http头缺少Accept或User-Agent");
        e2e_resp_free(&r);
    }
}

static void test_e2e_authorization_failures_are_unsigned_401(void **state)
{
    (void)state;
    const struct {
        const char *authz;
        const char *msg;
    } rows[] = {
        {"", MSG_FORMAT},
        {"Bearer abc", "HTTP头Authorization认证类型不正确"},
        {"WECHATPAY2-SHA256-RSA2048 mchid=\"1900000109\"", MSG_FORMAT},
        {"WECHATPAY2-SHA256-RSA2048 mchid='1900000109',nonce_str='a',timestamp='1',"
         "serial_no='b',signature='c'",
         MSG_FORMAT},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct e2e_req q = {.authz = rows[i].authz};
        struct e2e_resp r;
        e2e_terminate(&mock, &q, &r);
        assert_error(&r, 401, "SIGN_ERROR", rows[i].msg);
        assert_unsigned(&r);
        e2e_resp_free(&r);
    }
}

static void test_e2e_unknown_mchid_and_serial(void **state)
{
    (void)state;
    struct e2e_req q = {.mchid = "1999999999"};
    struct e2e_resp r;
    e2e_terminate(&mock, &q, &r);
    assert_error(&r, 401, "SIGN_ERROR", "商户未申请过证书。");
    e2e_resp_free(&r);
    q.mchid = NULL;
    q.serial = T_SERIAL_B;
    e2e_terminate(&mock, &q, &r);
    assert_error(&r, 401, "SIGN_ERROR", "商户证书序列号有误。请使用签名私钥匹配的证书序列号");
    e2e_resp_free(&r);
    /* Lowercase hex names the same certificate. */
    q.serial = "3b2a4c1d5e6f708192a3b4c5d6e7f8091a2b3c4d";
    q.openid = "oLowerSerial";
    e2e_terminate(&mock, &q, &r);
    assert_int_equal(r.status, 204);
    e2e_resp_free(&r);
}

static void test_e2e_bad_signature_echoes_sign_information(void **state)
{
    (void)state;
    struct e2e_req q = {.key = "keys/test-wrong.key.pem", .openid = "oBadSig"};
    struct e2e_resp r;
    cJSON *root, *info;
    e2e_terminate(&mock, &q, &r);
    assert_error(&r, 401, "SIGN_ERROR", "错误的签名，验签失败");
    assert_unsigned(&r);
    root = cJSON_ParseWithLength(r.body.ptr, r.body.len);
    assert_non_null(root);
    info = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "detail"),
                                            "sign_information");
    assert_non_null(info);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(info, "method")->valuestring, "POST");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(info, "url")->valuestring,
                        "/v3/payscore/permissions/openid/oBadSig/terminate");
    assert_non_null(
        strstr(cJSON_GetObjectItemCaseSensitive(info, "truncated_sign_message")->valuestring,
               "POST\n/v3/payscore/permissions/openid/oBadSig/terminate\n"));
    cJSON_Delete(root);
    e2e_resp_free(&r);
}

/* Sends with ts = now + off; retries when the clock ticked during the call, so a boundary case
 * is judged against the second it was signed in. */
static long skew_status(int64_t off, const char *openid)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        /* A fresh openid per attempt: a retried 204 case must not meet its own terminate. */
        char fresh[64];
        snprintf(fresh, sizeof fresh, "%s%d", openid, attempt);
        struct e2e_req q = {.openid = fresh, .ts_offset = off};
        struct e2e_resp r;
        time_t before = time(NULL);
        long status;
        e2e_terminate(&mock, &q, &r);
        status = r.status;
        if (status == 401) {
            assert_error(&r, 401, "SIGN_ERROR", MSG_TS);
        }
        e2e_resp_free(&r);
        if (time(NULL) == before) {
            return status;
        }
    }
    fail_msg("clock kept ticking during the skew test");
    return 0;
}

static void test_e2e_timestamp_window_boundaries(void **state)
{
    (void)state;
    assert_int_equal(skew_status(-300, "oSkewA"), 204);
    assert_int_equal(skew_status(300, "oSkewB"), 204);
    assert_int_equal(skew_status(-301, "oSkewC"), 401);
    assert_int_equal(skew_status(301, "oSkewD"), 401);
    assert_int_equal(skew_status(-100000, "oSkewE"), 401);
}

static void test_e2e_replayed_nonce_is_refused(void **state)
{
    (void)state;
    struct e2e_req q = {.openid = "oReplay1", .nonce = "REPLAYREPLAYREPLAYREPLAYREPLAY01"};
    struct e2e_resp r;
    e2e_terminate(&mock, &q, &r);
    assert_int_equal(r.status, 204);
    e2e_resp_free(&r);
    q.openid = "oReplay2";
    e2e_terminate(&mock, &q, &r);
    assert_error(&r, 401, "SIGN_ERROR", NULL);
    e2e_resp_free(&r);
}

static void test_e2e_path_and_body_param_errors(void **state)
{
    (void)state;
    char openid[140];
    struct e2e_req q = {0};
    struct e2e_resp r;
    cJSON *root;

    memset(openid, 'o', 129);
    openid[129] = '\0';
    q.openid = openid;
    e2e_terminate(&mock, &q, &r);
    assert_error(&r, 400, "PARAM_ERROR",
                 "输入源“/uri_template/openid”映射到值字段“用户标识”字符串规则校验失败，字节数 "
                 "129，大于最大值 128");
    root = cJSON_ParseWithLength(r.body.ptr, r.body.len);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(
                            cJSON_GetObjectItemCaseSensitive(root, "detail"), "location")
                            ->valuestring,
                        "uri_template");
    assert_int_equal(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "detail"), "value")
            ->valueint,
        129);
    cJSON_Delete(root);
    e2e_resp_free(&r);

    q.openid = "oBody1";
    q.body =
        "{\"service_id\":\"2002000000000558128851361561536\",\"appid\":\"wxd678efh567hg6787\"}";
    e2e_terminate(&mock, &q, &r);
    assert_error(&r, 400, "PARAM_ERROR",
                 "/body/reason 映射到字段“撤销原因”必填性规则校验失败，此字段为必填项");
    e2e_resp_free(&r);

    q.body = "{\"service_id\":\"2002000000000558128851361561536\",\"appid\":01}";
    e2e_terminate(&mock, &q, &r);
    assert_error(&r, 400, "PARAM_ERROR", NULL);
    e2e_resp_free(&r);
}

static void test_e2e_chinese_reason_at_the_limit(void **state)
{
    (void)state;
    size_t len50, len51;
    char *b50 = t_read("requests/terminate-reason-50-chinese.json", &len50);
    char *b51 = t_read("requests/terminate-reason-51-chinese.json", &len51);
    struct e2e_req q = {.openid = "oChinese50", .body = b50};
    struct e2e_resp r;
    e2e_terminate(&mock, &q, &r);
    assert_int_equal(r.status, 204);
    e2e_resp_free(&r);
    q.openid = "oChinese51";
    q.body = b51;
    e2e_terminate(&mock, &q, &r);
    assert_error(&r, 400, "PARAM_ERROR",
                 "输入源“/body/reason”映射到值字段“撤销原因”字符串规则校验失败，字符数 51，"
                 "大于最大值 50");
    e2e_resp_free(&r);
    wxp_free(b50);
    wxp_free(b51);
}

static void test_e2e_go_style_trailing_newline_body(void **state)
{
    (void)state;
    size_t len;
    char *b = t_read("requests/terminate-go-trailing-newline.json", &len);
    struct e2e_req q = {.openid = "oGoNewline", .body = b};
    struct e2e_resp r;
    assert_int_equal(b[len - 1], '\n');
    e2e_terminate(&mock, &q, &r);
    assert_int_equal(r.status, 204);
    e2e_resp_free(&r);
    wxp_free(b);
}

static void test_e2e_business_rules(void **state)
{
    (void)state;
    struct e2e_req q = {.openid = "oBiz1",
                        .body = "{\"service_id\":\"2002000000000558128851361561536\","
                                "\"appid\":\"wx1234567890abcdef\",\"reason\":\"r\"}"};
    struct e2e_resp r;
    e2e_terminate(&mock, &q, &r);
    assert_error(&r, 403, "NO_AUTH", NULL);
    e2e_resp_free(&r);
    q.body = "{\"service_id\":\"2002000000000558128851361561999\","
             "\"appid\":\"wxd678efh567hg6787\",\"reason\":\"r\"}";
    e2e_terminate(&mock, &q, &r);
    assert_error(&r, 403, "NO_AUTH", NULL);
    e2e_resp_free(&r);
    /* Merchant B with its own key, appid and service. */
    q.key = "keys/test-merchant-b.key.pem";
    q.mchid = T_MCHID_B;
    q.serial = T_SERIAL_B;
    q.body = "{\"service_id\":\"2002000000000558128851361561999\","
             "\"appid\":\"wx1234567890abcdef\",\"reason\":\"r\"}";
    e2e_terminate(&mock, &q, &r);
    assert_int_equal(r.status, 204);
    assert_int_equal(e2e_verify(&r), WXP_OK);
    e2e_resp_free(&r);
}

static void test_e2e_public_key_mode_honours_request_serial(void **state)
{
    (void)state;
    struct e2e_req q = {.openid = "oPubKey", .extra = {"Wechatpay-Serial: " T_PUBKEY_ID}};
    struct e2e_resp r;
    e2e_terminate(&mock, &q, &r);
    assert_int_equal(r.status, 204);
    assert_string_equal(e2e_header(&r, "Wechatpay-Serial"), T_PUBKEY_ID);
    assert_int_equal(e2e_verify(&r), WXP_OK);
    e2e_resp_free(&r);
    q.openid = "oCertMode";
    q.extra[0] = "Wechatpay-Serial: " T_SERIAL_PLATFORM;
    e2e_terminate(&mock, &q, &r);
    assert_string_equal(e2e_header(&r, "Wechatpay-Serial"), T_SERIAL_PLATFORM);
    assert_int_equal(e2e_verify(&r), WXP_OK);
    e2e_resp_free(&r);
}

static void test_e2e_body_over_cap_is_413(void **state)
{
    (void)state;
    size_t n = 70 * 1024;
    char *big = wxp_malloc(n + 1);
    const char *h[] = {"Accept: application/json", "User-Agent: t",
                       "Content-Type: application/json", NULL};
    struct e2e_resp r;
    memset(big, ' ', n);
    big[n] = '\0';
    e2e_send(&mock, "POST", TERMINATE, h, big, n, &r);
    assert_error(&r, 413, "INVALID_REQUEST", NULL);
    e2e_resp_free(&r);
    wxp_free(big);
}

struct race {
    int status;
};

static void *race_one(void *arg)
{
    struct race *x = arg;
    struct e2e_req q = {.openid = "oRace",
                        .body = "{\"service_id\":\"2002000000000558128851361561536\","
                                "\"appid\":\"wxd678efh567hg6787\",\"reason\":\"race\"}"};
    struct e2e_resp r;
    e2e_terminate(&mock, &q, &r);
    x->status = (int)r.status;
    e2e_resp_free(&r);
    return NULL;
}

static void test_e2e_concurrent_terminates_give_one_204(void **state)
{
    (void)state;
    enum { N = 100 };
    static pthread_t th[N];
    static struct race x[N];
    int ok = 0, state_err = 0;
    for (int i = 0; i < N; i++) {
        assert_int_equal(pthread_create(&th[i], NULL, race_one, &x[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        ok += x[i].status == 204;
        state_err += x[i].status == 400;
    }
    assert_int_equal(ok, 1);
    assert_int_equal(state_err, N - 1);
}

static void test_e2e_sign_cache_reuses_within_a_second(void **state)
{
    (void)state;
    const char *args[] = {"--sign-cache", NULL};
    struct e2e_mock cached;
    int shared = 0;

    e2e_start(&cached, args);
    /* Two answers in the same second share timestamp, nonce and signature; both verify and keep
     * their own Request-ID. Retry when the clock ticks between them. */
    for (int attempt = 0; attempt < 5 && !shared; attempt++) {
        char o1[32], o2[32];
        struct e2e_req q1 = {0}, q2 = {0};
        struct e2e_resp a, b;
        snprintf(o1, sizeof o1, "oCacheA%d", attempt);
        snprintf(o2, sizeof o2, "oCacheB%d", attempt);
        q1.openid = o1;
        q2.openid = o2;
        e2e_terminate(&cached, &q1, &a);
        e2e_terminate(&cached, &q2, &b);
        assert_int_equal(a.status, 204);
        assert_int_equal(b.status, 204);
        assert_int_equal(e2e_verify(&a), WXP_OK);
        assert_int_equal(e2e_verify(&b), WXP_OK);
        assert_string_not_equal(e2e_header(&a, "Request-ID"), e2e_header(&b, "Request-ID"));
        if (strcmp(e2e_header(&a, "Wechatpay-Timestamp"), e2e_header(&b, "Wechatpay-Timestamp")) ==
            0) {
            assert_string_equal(e2e_header(&a, "Wechatpay-Nonce"),
                                e2e_header(&b, "Wechatpay-Nonce"));
            assert_string_equal(e2e_header(&a, "Wechatpay-Signature"),
                                e2e_header(&b, "Wechatpay-Signature"));
            shared = 1;
        }
        e2e_resp_free(&a);
        e2e_resp_free(&b);
    }
    assert_true(shared);
    e2e_stop(&cached);
}

static void test_e2e_default_nonces_are_unique(void **state)
{
    (void)state;
    struct e2e_req q1 = {.openid = "oUniqA"}, q2 = {.openid = "oUniqB"};
    struct e2e_resp a, b;
    e2e_terminate(&mock, &q1, &a);
    e2e_terminate(&mock, &q2, &b);
    assert_int_equal(a.status, 204);
    assert_int_equal(b.status, 204);
    assert_string_not_equal(e2e_header(&a, "Wechatpay-Nonce"), e2e_header(&b, "Wechatpay-Nonce"));
    e2e_resp_free(&a);
    e2e_resp_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_e2e_valid_terminate_is_signed_204),
        cmocka_unit_test(test_e2e_second_terminate_fails_with_state_error),
        cmocka_unit_test(test_e2e_unknown_path_404_wrong_method_405_empty),
        cmocka_unit_test(test_e2e_header_gate),
        cmocka_unit_test(test_e2e_authorization_failures_are_unsigned_401),
        cmocka_unit_test(test_e2e_unknown_mchid_and_serial),
        cmocka_unit_test(test_e2e_bad_signature_echoes_sign_information),
        cmocka_unit_test(test_e2e_timestamp_window_boundaries),
        cmocka_unit_test(test_e2e_replayed_nonce_is_refused),
        cmocka_unit_test(test_e2e_path_and_body_param_errors),
        cmocka_unit_test(test_e2e_chinese_reason_at_the_limit),
        cmocka_unit_test(test_e2e_go_style_trailing_newline_body),
        cmocka_unit_test(test_e2e_business_rules),
        cmocka_unit_test(test_e2e_public_key_mode_honours_request_serial),
        cmocka_unit_test(test_e2e_body_over_cap_is_413),
        cmocka_unit_test(test_e2e_concurrent_terminates_give_one_204),
        cmocka_unit_test(test_e2e_sign_cache_reuses_within_a_second),
        cmocka_unit_test(test_e2e_default_nonces_are_unique),
    };
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = cmocka_run_group_tests(tests, start_default, stop);
    curl_global_cleanup();
    return rc;
}
