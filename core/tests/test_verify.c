/* SPDX-License-Identifier: MIT */
/* test_verify.c: the timestamp window, the key store, and the client's response check with each
 * failure kind. */
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "wxp/buf.h"
#include "wxp/sign.h"
#include "wxp/signmsg.h"
#include "wxp/verify.h"

#define NOW 1764000000
#define NONCE "5K8264ILTKCH16CQ2502SI8ZNMTM67VS"

struct fx {
    struct wxp_keystore *ks;
    struct wxp_key *platform;
    struct wxp_key *wrong;
    char ts[24];
    char sig[WXP_SIG_B64_MAX];
    struct wxp_resp resp;
    struct wxp_resp_policy pol;
};

/* Signs "ts\nNONCE\nbody\n" with `key` into f->sig and points f->resp at it. */
static void sign_resp(struct fx *f, const struct wxp_key *key, long long ts, const char *body,
                      const char *serial)
{
    struct wxp_buf msg;
    wxp_buf_init(&msg, WXP_SIGNMSG_MAX);
    snprintf(f->ts, sizeof f->ts, "%lld", ts);
    assert_int_equal(
        wxp_signmsg_response(&msg, wxp_str_c(f->ts), wxp_str_c(NONCE), wxp_str_c(body), NULL),
        WXP_OK);
    assert_int_equal(wxp_sign(key, msg.ptr, msg.len, f->sig, sizeof f->sig, NULL, NULL), WXP_OK);
    wxp_buf_free(&msg);
    f->resp.timestamp = wxp_str_c(f->ts);
    f->resp.nonce = wxp_str_c(NONCE);
    f->resp.signature = wxp_str_c(f->sig);
    f->resp.serial = wxp_str_c(serial);
    f->resp.request_id = wxp_str_c("08F5B8C2B506102C18FDDFEEA30620BE821E28EDC405-0");
    f->resp.body = wxp_str_c(body);
}

static int setup(void **state)
{
    static struct fx f;
    struct wxp_err err;
    memset(&f, 0, sizeof f);
    f.ks = wxp_keystore_new();
    assert_non_null(f.ks);
    assert_int_equal(wxp_keystore_add(f.ks, t_cert("certs/test-platform.cert.pem"), &err), WXP_OK);
    assert_int_equal(
        wxp_keystore_add(f.ks, t_pubkey("keys/test-platform.pub.pem", T_PUBKEY_ID), &err), WXP_OK);
    f.platform = t_private("keys/test-platform.key.pem");
    f.wrong = t_private("keys/test-wrong.key.pem");
    f.pol.now = NOW;
    f.pol.window = WXP_SKEW_DEFAULT;
    f.pol.require_request_id = true;
    sign_resp(&f, f.platform, NOW, "", T_SERIAL_PLATFORM);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    wxp_keystore_free(f->ks);
    wxp_key_free(f->platform);
    wxp_key_free(f->wrong);
    return 0;
}

static void test_verify_skew_window_is_inclusive_both_ways(void **state)
{
    (void)state;
    assert_int_equal(wxp_skew_check(NOW, NOW, 300), WXP_OK);
    assert_int_equal(wxp_skew_check(NOW - 300, NOW, 300), WXP_OK);
    assert_int_equal(wxp_skew_check(NOW + 300, NOW, 300), WXP_OK);
    assert_int_equal(wxp_skew_check(NOW - 301, NOW, 300), WXP_E_TIMESTAMP_STALE);
    assert_int_equal(wxp_skew_check(NOW + 301, NOW, 300), WXP_E_TIMESTAMP_FUTURE);
    assert_int_equal(wxp_skew_check(0, NOW, 300), WXP_E_TIMESTAMP_STALE);
    assert_int_equal(wxp_skew_check(INT64_MAX, NOW, 300), WXP_E_TIMESTAMP_FUTURE);
    assert_int_equal(wxp_skew_check(NOW * 1000LL, NOW, 300), WXP_E_TIMESTAMP_FUTURE);
}

static void test_verify_parse_seconds_strict(void **state)
{
    (void)state;
    int64_t v = -1;
    assert_true(wxp_parse_seconds(wxp_str_c("1554208460"), &v));
    assert_int_equal(v, 1554208460);
    assert_true(wxp_parse_seconds(wxp_str_c("999999999999999999"), &v));
    assert_false(wxp_parse_seconds(wxp_str_c("1000000000000000000"), &v));
    assert_false(wxp_parse_seconds(wxp_str_c(""), &v));
    assert_false(wxp_parse_seconds(wxp_str_c("-1"), &v));
    assert_false(wxp_parse_seconds(wxp_str_c("+1"), &v));
    assert_false(wxp_parse_seconds(wxp_str_c(" 1"), &v));
    assert_false(wxp_parse_seconds(wxp_str_c("1.5"), &v));
    struct wxp_str absent = {NULL, 0};
    assert_false(wxp_parse_seconds(absent, &v));
}

static void test_verify_keystore_exact_match(void **state)
{
    struct fx *f = *state;
    assert_int_equal(wxp_keystore_count(f->ks), 2);
    assert_non_null(wxp_keystore_find(f->ks, wxp_str_c(T_SERIAL_PLATFORM)));
    assert_non_null(wxp_keystore_find(f->ks, wxp_str_c(T_PUBKEY_ID)));
    /* Every official SDK matches exactly: lowercase or a dropped leading zero is unknown. */
    assert_null(wxp_keystore_find(f->ks, wxp_str_c("6d5c4b3a29180f1e2d3c4b5a69788796a5b4c3d2")));
    assert_null(wxp_keystore_find(f->ks, wxp_str_c(T_SERIAL_PLATFORM "0")));
    assert_null(wxp_keystore_find(f->ks, wxp_str_c("")));
}

static void test_verify_keystore_rejects_duplicates_and_private(void **state)
{
    struct fx *f = *state;
    struct wxp_err err;
    assert_int_equal(wxp_keystore_add(f->ks, t_cert("certs/test-platform.cert.pem"), &err),
                     WXP_E_KEY_ID);
    assert_int_equal(wxp_keystore_add(f->ks, t_private("keys/test-wrong.key.pem"), &err),
                     WXP_E_INVALID_ARG);
    assert_int_equal(wxp_keystore_count(f->ks), 2);
}

static void test_verify_accepts_signed_204_cert_mode(void **state)
{
    struct fx *f = *state;
    struct wxp_err err;
    sign_resp(f, f->platform, NOW, "", T_SERIAL_PLATFORM);
    assert_int_equal(wxp_resp_verify(f->ks, &f->resp, &f->pol, &err), WXP_OK);
}

static void test_verify_accepts_signed_body_pubkey_mode(void **state)
{
    struct fx *f = *state;
    struct wxp_err err;
    sign_resp(f, f->platform, NOW - 300, "{\"code\":\"SUCCESS\"}", T_PUBKEY_ID);
    assert_int_equal(wxp_resp_verify(f->ks, &f->resp, &f->pol, &err), WXP_OK);
}

static void test_verify_missing_headers_named(void **state)
{
    struct fx *f = *state;
    struct wxp_err err;
    struct wxp_str none = {NULL, 0};
    struct wxp_str empty = {"", 0};
    const char *names[] = {"Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Signature",
                           "Wechatpay-Serial", "Request-ID"};
    for (size_t i = 0; i < 5; i++) {
        for (int e = 0; e < 2; e++) {
            struct wxp_resp r;
            sign_resp(f, f->platform, NOW, "", T_SERIAL_PLATFORM);
            r = f->resp;
            struct wxp_str *slot[] = {&r.timestamp, &r.nonce, &r.signature, &r.serial,
                                      &r.request_id};
            *slot[i] = e ? empty : none;
            assert_int_equal(wxp_resp_verify(f->ks, &r, &f->pol, &err), WXP_E_RESP_HEADER_MISSING);
            assert_string_equal(err.field, names[i]);
        }
    }
}

static void test_verify_request_id_optional_by_policy(void **state)
{
    struct fx *f = *state;
    struct wxp_resp_policy p = f->pol;
    sign_resp(f, f->platform, NOW, "", T_SERIAL_PLATFORM);
    f->resp.request_id.ptr = NULL;
    p.require_request_id = false;
    assert_int_equal(wxp_resp_verify(f->ks, &f->resp, &p, NULL), WXP_OK);
}

static void test_verify_rejects_stale_and_future(void **state)
{
    struct fx *f = *state;
    struct wxp_err err;
    sign_resp(f, f->platform, NOW - 301, "", T_SERIAL_PLATFORM);
    assert_int_equal(wxp_resp_verify(f->ks, &f->resp, &f->pol, &err), WXP_E_TIMESTAMP_STALE);
    assert_string_equal(err.field, "Wechatpay-Timestamp");
    sign_resp(f, f->platform, NOW + 301, "", T_SERIAL_PLATFORM);
    assert_int_equal(wxp_resp_verify(f->ks, &f->resp, &f->pol, &err), WXP_E_TIMESTAMP_FUTURE);
    sign_resp(f, f->platform, NOW + 300, "", T_SERIAL_PLATFORM);
    assert_int_equal(wxp_resp_verify(f->ks, &f->resp, &f->pol, &err), WXP_OK);
}

static void test_verify_rejects_non_numeric_timestamp(void **state)
{
    struct fx *f = *state;
    struct wxp_err err;
    sign_resp(f, f->platform, NOW, "", T_SERIAL_PLATFORM);
    f->resp.timestamp = wxp_str_c("17640000x0");
    assert_int_equal(wxp_resp_verify(f->ks, &f->resp, &f->pol, &err), WXP_E_RESP_TIMESTAMP);
}

static void test_verify_rejects_unknown_serial(void **state)
{
    struct fx *f = *state;
    struct wxp_err err;
    sign_resp(f, f->platform, NOW, "", T_SERIAL_WRONG);
    assert_int_equal(wxp_resp_verify(f->ks, &f->resp, &f->pol, &err), WXP_E_SERIAL_UNKNOWN);
    assert_string_equal(err.field, "Wechatpay-Serial");
    assert_non_null(strstr(err.msg, T_SERIAL_WRONG));
}

static void test_verify_rejects_wrong_key_signature(void **state)
{
    struct fx *f = *state;
    struct wxp_err err;
    sign_resp(f, f->wrong, NOW, "", T_SERIAL_PLATFORM);
    assert_int_equal(wxp_resp_verify(f->ks, &f->resp, &f->pol, &err), WXP_E_SIG_MISMATCH);
    assert_string_equal(err.field, "Wechatpay-Signature");
}

static void test_verify_rejects_tampered_body_and_204_signed_over_braces(void **state)
{
    struct fx *f = *state;
    /* A 204 whose signature covers "{}" must not verify with the empty body it arrived with. */
    sign_resp(f, f->platform, NOW, "{}", T_SERIAL_PLATFORM);
    f->resp.body = wxp_str_c("");
    assert_int_equal(wxp_resp_verify(f->ks, &f->resp, &f->pol, NULL), WXP_E_SIG_MISMATCH);
    sign_resp(f, f->platform, NOW, "{\"a\":1}", T_SERIAL_PLATFORM);
    f->resp.body = wxp_str_c("{\"a\":2}");
    assert_int_equal(wxp_resp_verify(f->ks, &f->resp, &f->pol, NULL), WXP_E_SIG_MISMATCH);
    sign_resp(f, f->platform, NOW, "", T_SERIAL_PLATFORM);
    f->resp.nonce = wxp_str_c("6K8264ILTKCH16CQ2502SI8ZNMTM67VS");
    assert_int_equal(wxp_resp_verify(f->ks, &f->resp, &f->pol, NULL), WXP_E_SIG_MISMATCH);
}

static void test_verify_rejects_non_base64_signature(void **state)
{
    struct fx *f = *state;
    struct wxp_err err;
    sign_resp(f, f->platform, NOW, "", T_SERIAL_PLATFORM);
    f->resp.signature = wxp_str_c("not base64!");
    assert_int_equal(wxp_resp_verify(f->ks, &f->resp, &f->pol, &err), WXP_E_SIG_MISMATCH);
    assert_non_null(strstr(err.msg, "base64"));
}

static void test_verify_reports_signtest_probe(void **state)
{
    struct fx *f = *state;
    struct wxp_err err;
    const char *probes[] = {"WECHATPAY/SIGNTEST/", "WECHATPAY/SIGNTEST/test",
                            "WECHATPAY/SIGNTEST/mfI1CPqvBALilAA=="};
    for (size_t i = 0; i < 3; i++) {
        sign_resp(f, f->platform, NOW, "", T_SERIAL_PLATFORM);
        f->resp.signature = wxp_str_c(probes[i]);
        assert_int_equal(wxp_resp_verify(f->ks, &f->resp, &f->pol, &err), WXP_E_SIG_PROBE);
        assert_string_equal(err.field, "Wechatpay-Signature");
    }
    /* The prefix must be exact; anything else is an ordinary bad signature. */
    f->resp.signature = wxp_str_c("wechatpay/signtest/xx");
    assert_int_equal(wxp_resp_verify(f->ks, &f->resp, &f->pol, NULL), WXP_E_SIG_MISMATCH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verify_skew_window_is_inclusive_both_ways),
        cmocka_unit_test(test_verify_parse_seconds_strict),
        cmocka_unit_test(test_verify_keystore_exact_match),
        cmocka_unit_test(test_verify_keystore_rejects_duplicates_and_private),
        cmocka_unit_test(test_verify_accepts_signed_204_cert_mode),
        cmocka_unit_test(test_verify_accepts_signed_body_pubkey_mode),
        cmocka_unit_test(test_verify_missing_headers_named),
        cmocka_unit_test(test_verify_request_id_optional_by_policy),
        cmocka_unit_test(test_verify_rejects_stale_and_future),
        cmocka_unit_test(test_verify_rejects_non_numeric_timestamp),
        cmocka_unit_test(test_verify_rejects_unknown_serial),
        cmocka_unit_test(test_verify_rejects_wrong_key_signature),
        cmocka_unit_test(test_verify_rejects_tampered_body_and_204_signed_over_braces),
        cmocka_unit_test(test_verify_rejects_non_base64_signature),
        cmocka_unit_test(test_verify_reports_signtest_probe),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
