/* SPDX-License-Identifier: MIT */
/* test_e2e_scenarios.c: wxpay-mock over HTTP: every scenario action and match condition (loaded
 * with --scenario FILE and through POST /__admin/scenarios), the admin API, start-up and usage
 * errors, a port in use, a restart on the same port, the JSON request log, graceful stop,
 * --sign-errors, --admin-token and the unknown_openid policy. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "e2e.h"
#include "wxp/envelope.h"
#include "wxp/mem.h"
#include "wxp/sign.h"
#include "wxp/signmsg.h"
#include "wxp/verify.h"

#define PATH_OF(openid) "/v3/payscore/permissions/openid/" openid "/terminate"
#define MSG_429 "频率超限"
#define MSG_500 "系统异常，请稍后重试"
#define RESPOND_429                                                                                \
    "{\"respond\":{\"status\":429,\"code\":\"FREQUENCY_LIMITED\",\"message\":\"" MSG_429 "\"}}"
#define RESPOND_500                                                                                \
    "{\"respond\":{\"status\":500,\"code\":\"SYSTEM_ERROR\",\"message\":\"" MSG_500 "\"}}"
#define BODY_B                                                                                     \
    "{\"service_id\":\"2002000000000558128851361561999\",\"appid\":\"wx1234567890abcdef\","        \
    "\"reason\":\"r\"}"

/* The main group's mock, started with --scenario <tmp>/file.json (FILE_RULES). */
static struct e2e_mock mock;
static char tmpdir[256];

static const char FILE_RULES[] =
    "{\"rules\":[{\"name\":\"file 429\",\"match\":{\"openid\":\"oFile429\"},\"action\":" RESPOND_429
    "},{\"name\":\"file 500\",\"match\":{\"openid\":\"oFile500\"},\"action\":" RESPOND_500 "}]}";

/* ---- helpers ----------------------------------------------------------------------------- */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* <tmpdir>/<name> in a static buffer. */
static const char *tmp_path(const char *name)
{
    static char p[400];
    snprintf(p, sizeof p, "%s/%s", tmpdir, name);
    return p;
}

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void admin(const struct e2e_mock *m, const char *method, const char *target,
                  const char *body, struct e2e_resp *r)
{
    const char *h[] = {"Content-Type: application/json", NULL};
    e2e_send(m, method, target, h, body, body ? strlen(body) : 0, r);
    assert_int_equal(r->curl_error, 0);
}

/* POST /__admin/scenarios; asserts 201 {"added":n}. */
static void load_rules(const struct e2e_mock *m, const char *json, int n)
{
    struct e2e_resp r;
    char want[32];
    admin(m, "POST", "/__admin/scenarios", json, &r);
    if (r.status != 201) {
        fail_msg("scenario refused: %ld %s", r.status, wxp_buf_cstr(&r.body));
    }
    snprintf(want, sizeof want, "{\"added\":%d}", n);
    assert_string_equal(wxp_buf_cstr(&r.body), want);
    e2e_resp_free(&r);
}

static cJSON *parse_json(const struct e2e_resp *r)
{
    cJSON *root = cJSON_ParseWithLength(r->body.ptr ? r->body.ptr : "", r->body.len);
    if (root == NULL) {
        fail_msg("not JSON: %s", wxp_buf_cstr(&r->body));
    }
    return root;
}

/* GET an admin target and parse it; asserts 200. */
static cJSON *admin_get(const struct e2e_mock *m, const char *target)
{
    struct e2e_resp r;
    cJSON *root;
    admin(m, "GET", target, NULL, &r);
    if (r.status != 200) {
        fail_msg("GET %s: %ld %s", target, r.status, wxp_buf_cstr(&r.body));
    }
    root = parse_json(&r);
    e2e_resp_free(&r);
    return root;
}

static const cJSON *member(const cJSON *o, const char *name)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);
    if (it == NULL) {
        fail_msg("no member %s", name);
    }
    return it;
}

static const char *str_member(const cJSON *o, const char *name)
{
    const cJSON *it = member(o, name);
    if (!cJSON_IsString(it)) {
        fail_msg("member %s is not a string", name);
    }
    return it->valuestring;
}

static long num_member(const cJSON *o, const char *name)
{
    const cJSON *it = member(o, name);
    if (!cJSON_IsNumber(it)) {
        fail_msg("member %s is not a number", name);
    }
    return (long)it->valuedouble;
}

/* An APIv3 error answer (e2e_assert_error) with the headers every API answer carries. */
static void assert_error(const struct e2e_resp *r, long status, const char *code, const char *msg)
{
    e2e_assert_error(r, status, code, msg);
    assert_non_null(e2e_header(r, "Request-ID"));
    assert_string_equal(e2e_header(r, "Content-Type"), "application/json; charset=utf-8");
}

/* Asserts an error envelope whose detail.field is `field`. */
static void assert_admin_error(const struct e2e_resp *r, long status, const char *code,
                               const char *field)
{
    cJSON *root;
    assert_error(r, status, code, NULL);
    if (field == NULL) {
        return;
    }
    root = parse_json(r);
    assert_string_equal(str_member(member(root, "detail"), "field"), field);
    cJSON_Delete(root);
}

static void assert_unsigned(const struct e2e_resp *r)
{
    static const char *const names[] = {"Wechatpay-Signature", "Wechatpay-Serial",
                                        "Wechatpay-Timestamp", "Wechatpay-Nonce",
                                        "Wechatpay-Signature-Type"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (e2e_header(r, names[i]) != NULL) {
            fail_msg("unexpected header %s", names[i]);
        }
    }
}

/* A valid terminate of merchant A for `openid`. */
static void terminate(const struct e2e_mock *m, const char *openid, struct e2e_resp *r)
{
    struct e2e_req q = {.openid = openid};
    e2e_terminate(m, &q, r);
}

/* Terminates `openid` and asserts a 204 whose signature verifies. */
static void expect_204(const struct e2e_mock *m, const char *openid)
{
    struct e2e_resp r;
    terminate(m, openid, &r);
    assert_int_equal(r.curl_error, 0);
    if (r.status != 204) {
        fail_msg("%s: status %ld, expected 204; body: %s", openid, r.status, wxp_buf_cstr(&r.body));
    }
    assert_int_equal(r.body.len, 0);
    assert_int_equal(e2e_verify(&r), WXP_OK);
    e2e_resp_free(&r);
}

static void expect_already(const struct e2e_mock *m, const char *openid)
{
    struct e2e_resp r;
    terminate(m, openid, &r);
    assert_error(&r, 400, "INVALID_ORDER_STATE", "用户授权状态不允许解除（已解除或未授权）");
    e2e_resp_free(&r);
}

/* Status of a terminate of `openid`; 0 when no answer came. */
static long terminate_status(const struct e2e_mock *m, const char *openid)
{
    struct e2e_resp r;
    long status;
    terminate(m, openid, &r);
    status = r.curl_error == 0 ? r.status : 0;
    e2e_resp_free(&r);
    return status;
}

/* ---- group set-up ------------------------------------------------------------------------ */

static int start_with_file(void **state)
{
    const char *args[] = {"--scenario", NULL, NULL};
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/wxpay-e2e-scen-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    write_file(tmp_path("file.json"), FILE_RULES);
    args[1] = tmp_path("file.json");
    e2e_start(&mock, args);
    return 0;
}

static int stop_main(void **state)
{
    (void)state;
    e2e_stop(&mock);
    unlink(tmp_path("file.json"));
    return 0;
}

/* ---- scenarios from --scenario FILE ------------------------------------------------------ */

static void test_scen_file_respond_429_unsigned(void **state)
{
    (void)state;
    struct e2e_resp r;
    terminate(&mock, "oFile429", &r);
    assert_error(&r, 429, "FREQUENCY_LIMITED", MSG_429);
    assert_string_equal(wxp_buf_cstr(&r.body),
                        "{\"code\":\"FREQUENCY_LIMITED\",\"message\":\"" MSG_429 "\"}");
    assert_unsigned(&r);
    e2e_resp_free(&r);
    /* Unlimited: it fires again. */
    terminate(&mock, "oFile429", &r);
    assert_error(&r, 429, "FREQUENCY_LIMITED", MSG_429);
    e2e_resp_free(&r);
}

static void test_scen_file_respond_500_unsigned(void **state)
{
    (void)state;
    struct e2e_resp r;
    terminate(&mock, "oFile500", &r);
    assert_error(&r, 500, "SYSTEM_ERROR", MSG_500);
    assert_unsigned(&r);
    e2e_resp_free(&r);
    /* Other openids are not matched. */
    expect_204(&mock, "oFileOther");
}

/* ---- scenarios through the admin API: answering actions ---------------------------------- */

static void test_scen_admin_respond_429_and_500(void **state)
{
    (void)state;
    struct e2e_resp r;
    load_rules(&mock,
               "[{\"match\":{\"openid\":\"oAdm429\"},\"action\":" RESPOND_429 "},"
               "{\"match\":{\"openid\":\"oAdm500\"},\"action\":" RESPOND_500 "}]",
               2);
    terminate(&mock, "oAdm429", &r);
    assert_error(&r, 429, "FREQUENCY_LIMITED", MSG_429);
    assert_unsigned(&r);
    e2e_resp_free(&r);
    terminate(&mock, "oAdm500", &r);
    assert_error(&r, 500, "SYSTEM_ERROR", MSG_500);
    assert_unsigned(&r);
    e2e_resp_free(&r);
}

static void test_scen_respond_leaves_state_unchanged(void **state)
{
    (void)state;
    struct e2e_resp r;
    load_rules(&mock,
               "[{\"match\":{\"openid\":\"oRespState\"},\"times\":1,\"action\":" RESPOND_500 "}]",
               1);
    terminate(&mock, "oRespState", &r);
    assert_error(&r, 500, "SYSTEM_ERROR", MSG_500);
    e2e_resp_free(&r);
    /* The scripted 500 did not terminate anything: exactly one 204 is still to come. */
    expect_204(&mock, "oRespState");
    expect_already(&mock, "oRespState");
}

static void test_scen_delay(void **state)
{
    (void)state;
    struct e2e_resp r;
    double t0, elapsed;
    load_rules(&mock,
               "[{\"match\":{\"openid\":\"oDelay\"},\"times\":1,\"action\":{\"delay_ms\":300}}]",
               1);
    t0 = mono_ms();
    terminate(&mock, "oDelay", &r);
    elapsed = mono_ms() - t0;
    assert_int_equal(r.status, 204);
    assert_int_equal(e2e_verify(&r), WXP_OK);
    e2e_resp_free(&r);
    if (elapsed < 300.0 || elapsed > 5000.0) {
        fail_msg("delayed answer took %.1f ms", elapsed);
    }
    /* A delayed respond answers by itself, late. */
    load_rules(&mock,
               "[{\"match\":{\"openid\":\"oDelay429\"},\"times\":1,\"action\":{\"delay_ms\":300,"
               "\"respond\":{\"status\":429,\"code\":\"FREQUENCY_LIMITED\",\"message\":\"" MSG_429
               "\"}}}]",
               1);
    t0 = mono_ms();
    terminate(&mock, "oDelay429", &r);
    elapsed = mono_ms() - t0;
    assert_error(&r, 429, "FREQUENCY_LIMITED", MSG_429);
    e2e_resp_free(&r);
    if (elapsed < 300.0 || elapsed > 5000.0) {
        fail_msg("delayed 429 took %.1f ms", elapsed);
    }
}

static void test_scen_drop(void **state)
{
    (void)state;
    struct e2e_resp r;
    cJSON *root;
    const cJSON *e;
    load_rules(&mock, "[{\"match\":{\"openid\":\"oDrop\"},\"times\":1,\"action\":{\"drop\":true}}]",
               1);
    terminate(&mock, "oDrop", &r);
    assert_int_equal(r.curl_error, CURLE_GOT_NOTHING);
    assert_int_equal(r.status, 0);
    e2e_resp_free(&r);
    /* Journaled as status 0 by the scenario; the authorization was not touched. */
    root = admin_get(&mock, "/__admin/requests?path=" PATH_OF("oDrop"));
    assert_int_equal(cJSON_GetArraySize(root), 1);
    e = cJSON_GetArrayItem(root, 0);
    assert_int_equal(num_member(e, "status"), 0);
    assert_string_equal(str_member(e, "failed_check"), "scenario");
    cJSON_Delete(root);
    expect_204(&mock, "oDrop");
}

static void test_scen_body_on_204(void **state)
{
    (void)state;
    struct e2e_resp r;
    load_rules(&mock,
               "[{\"match\":{\"openid\":\"oBody204\"},\"times\":1,"
               "\"action\":{\"body\":\"{\\\"unexpected\\\":true}\",\"status\":204}}]",
               1);
    terminate(&mock, "oBody204", &r);
    assert_int_equal(r.curl_error, 0);
    assert_int_equal(r.status, 204);
    /* libmicrohttpd never sends a body with 204 (RFC 9110 15.3.5): what arrives is an empty 204
     * whose signature covers the 18 bytes that were not sent, so it does not verify. */
    assert_int_equal(r.body.len, 0);
    assert_null(e2e_header(&r, "Content-Length"));
    assert_null(e2e_header(&r, "Content-Type"));
    assert_non_null(e2e_header(&r, "Wechatpay-Signature"));
    assert_int_equal(e2e_verify(&r), WXP_E_SIG_MISMATCH);
    e2e_resp_free(&r);
    /* With the default status (200) the body arrives, signed. */
    load_rules(&mock,
               "[{\"match\":{\"openid\":\"oBody200\"},\"times\":1,"
               "\"action\":{\"body\":\"{\\\"unexpected\\\":true}\"}}]",
               1);
    terminate(&mock, "oBody200", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(wxp_buf_cstr(&r.body), "{\"unexpected\":true}");
    assert_int_equal(e2e_verify(&r), WXP_OK);
    e2e_resp_free(&r);
    /* Answering actions leave the state alone. */
    expect_204(&mock, "oBody204");
    expect_204(&mock, "oBody200");
}

static void test_scen_malformed_json_signed(void **state)
{
    (void)state;
    struct e2e_resp r;
    load_rules(&mock,
               "[{\"match\":{\"openid\":\"oMalformed\"},\"times\":1,"
               "\"action\":{\"malformed_json\":true}},"
               "{\"match\":{\"openid\":\"oMalformed502\"},\"times\":1,"
               "\"action\":{\"malformed_json\":true,\"status\":502}}]",
               2);
    terminate(&mock, "oMalformed", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(wxp_buf_cstr(&r.body), "{\"code\":\"SYSTEM_ERROR\",\"message\":");
    assert_string_equal(e2e_header(&r, "Content-Type"), "application/json; charset=utf-8");
    assert_int_equal(e2e_verify(&r), WXP_OK);
    e2e_resp_free(&r);
    terminate(&mock, "oMalformed502", &r);
    assert_int_equal(r.status, 502);
    assert_string_equal(wxp_buf_cstr(&r.body), "{\"code\":\"SYSTEM_ERROR\",\"message\":");
    assert_int_equal(e2e_verify(&r), WXP_OK);
    e2e_resp_free(&r);
}

/* ---- tampering actions ------------------------------------------------------------------- */

static void test_scen_forged_signature_keeps_state_change(void **state)
{
    (void)state;
    struct e2e_resp r;
    load_rules(&mock,
               "[{\"match\":{\"openid\":\"oForged\"},\"times\":1,"
               "\"action\":{\"signature\":\"forged\"}}]",
               1);
    terminate(&mock, "oForged", &r);
    assert_int_equal(r.status, 204);
    assert_string_equal(e2e_header(&r, "Wechatpay-Serial"), T_SERIAL_PLATFORM);
    assert_int_equal(e2e_verify(&r), WXP_E_SIG_MISMATCH);
    e2e_resp_free(&r);
    /* The forged 204 still terminated the authorization. */
    expect_already(&mock, "oForged");
}

static void test_scen_probe_signature(void **state)
{
    (void)state;
    struct e2e_resp r;
    const char *sig;
    load_rules(&mock,
               "[{\"match\":{\"openid\":\"oProbe\"},\"times\":1,"
               "\"action\":{\"signature\":\"probe\"}}]",
               1);
    terminate(&mock, "oProbe", &r);
    assert_int_equal(r.status, 204);
    sig = e2e_header(&r, "Wechatpay-Signature");
    assert_non_null(sig);
    assert_int_equal(strncmp(sig, "WECHATPAY/SIGNTEST/", 19), 0);
    assert_true(strlen(sig) > 19);
    assert_int_equal(e2e_verify(&r), WXP_E_SIG_PROBE);
    e2e_resp_free(&r);
    expect_already(&mock, "oProbe");
}

static void test_scen_unknown_serial(void **state)
{
    (void)state;
    struct e2e_resp r;
    const char *serial;
    load_rules(&mock,
               "[{\"match\":{\"openid\":\"oSerial\"},\"times\":1,"
               "\"action\":{\"serial\":\"unknown\"}}]",
               1);
    terminate(&mock, "oSerial", &r);
    assert_int_equal(r.status, 204);
    serial = e2e_header(&r, "Wechatpay-Serial");
    assert_non_null(serial);
    assert_string_not_equal(serial, T_SERIAL_PLATFORM);
    assert_string_not_equal(serial, T_PUBKEY_ID);
    assert_int_equal(e2e_verify(&r), WXP_E_SERIAL_UNKNOWN);
    e2e_resp_free(&r);
    expect_already(&mock, "oSerial");
}

static void test_scen_timestamp_offset(void **state)
{
    (void)state;
    const struct {
        const char *openid;
        int offset;
        int code;
        int line;
    } rows[] = {
        {"oTsStale", -400, WXP_E_TIMESTAMP_STALE, __LINE__},
        {"oTsFuture", 400, WXP_E_TIMESTAMP_FUTURE, __LINE__},
        {"oTsInside", -200, WXP_OK, __LINE__},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char rule[256];
        struct e2e_resp r;
        long ts;
        snprintf(rule, sizeof rule,
                 "[{\"match\":{\"openid\":\"%s\"},\"times\":1,"
                 "\"action\":{\"timestamp_offset\":%d}}]",
                 rows[i].openid, rows[i].offset);
        load_rules(&mock, rule, 1);
        terminate(&mock, rows[i].openid, &r);
        if (r.status != 204 || e2e_verify(&r) != rows[i].code) {
            fail_msg("row at line %d: status %ld, verify %d", rows[i].line, r.status,
                     e2e_verify(&r));
        }
        ts = strtol(e2e_header(&r, "Wechatpay-Timestamp"), NULL, 10);
        if (labs(ts - ((long)time(NULL) + rows[i].offset)) > 5) {
            fail_msg("row at line %d: Wechatpay-Timestamp %ld", rows[i].line, ts);
        }
        e2e_resp_free(&r);
        expect_already(&mock, rows[i].openid);
    }
}

/* action.timestamp: the Wechatpay-Timestamp text goes out as scripted ("{now}" expanded) and the
 * signature covers that very text, so only a client's reading of the value can refuse it. */
static void test_scen_timestamp_text(void **state)
{
    (void)state;
    const struct {
        const char *openid;
        const char *text;   /* action.timestamp */
        long long offset;   /* action.timestamp_offset, 0: none */
        const char *prefix; /* the header starts with this, then (with now_digits) the clock */
        bool now_digits;
        const char *suffix;
        int code; /* what wxp_resp_verify says */
        int line;
    } rows[] = {
        {"oTsNaN", "NaN", 0, "NaN", false, "", WXP_E_RESP_TIMESTAMP, __LINE__},
        {"oTsSpaces", "   ", 0, "", false, "", WXP_E_RESP_HEADER_MISSING, __LINE__},
        {"oTsFloat", "{now}.5", 0, "", true, ".5", WXP_E_RESP_TIMESTAMP, __LINE__},
        {"oTsPlus", "+{now}", 0, "+", true, "", WXP_E_RESP_TIMESTAMP, __LINE__},
        {"oTsHuge", "99999999999999999999999", 0, "99999999999999999999999", false, "",
         WXP_E_RESP_TIMESTAMP, __LINE__},
        {"oTs2p32", "{now}", 4294967296LL, "", true, "", WXP_E_TIMESTAMP_FUTURE, __LINE__},
        {"oTsPlain", "{now}", 0, "", true, "", WXP_OK, __LINE__},
    };
    struct wxp_key *platform = t_cert("certs/test-platform.cert.pem");
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char rule[320];
        struct e2e_resp r;
        struct wxp_buf msg;
        const char *got, *sig;
        long long now = (long long)time(NULL) + rows[i].offset;
        size_t plen = strlen(rows[i].prefix);
        int n = snprintf(rule, sizeof rule,
                         "[{\"match\":{\"openid\":\"%s\"},\"times\":1,"
                         "\"action\":{\"timestamp\":\"%s\"",
                         rows[i].openid, rows[i].text);
        if (rows[i].offset != 0) {
            n += snprintf(rule + n, sizeof rule - (size_t)n, ",\"timestamp_offset\":%lld",
                          rows[i].offset);
        }
        snprintf(rule + n, sizeof rule - (size_t)n, "}}]");
        load_rules(&mock, rule, 1);
        terminate(&mock, rows[i].openid, &r);
        if (r.status != 204 || e2e_verify(&r) != rows[i].code) {
            fail_msg("row at line %d: status %ld, verify %d", rows[i].line, r.status,
                     e2e_verify(&r));
        }
        got = e2e_header(&r, "Wechatpay-Timestamp");
        if (got == NULL || strncmp(got, rows[i].prefix, plen) != 0) {
            fail_msg("row at line %d: Wechatpay-Timestamp \"%s\"", rows[i].line,
                     got ? got : "(absent)");
        }
        if (rows[i].now_digits) {
            char *end;
            long long ts = strtoll(got + plen, &end, 10);
            if (llabs(ts - now) > 5 || strcmp(end, rows[i].suffix) != 0) {
                fail_msg("row at line %d: Wechatpay-Timestamp \"%s\"", rows[i].line, got);
            }
        }
        /* The signature is over the text as sent (curl strips the spaces of "   ": only the
         * non-blank rows can be checked here). */
        sig = e2e_header(&r, "Wechatpay-Signature");
        if (got[0] != '\0') {
            wxp_buf_init(&msg, WXP_SIGNMSG_MAX);
            assert_int_equal(wxp_signmsg_response(&msg, wxp_str_c(got),
                                                  wxp_str_c(e2e_header(&r, "Wechatpay-Nonce")),
                                                  wxp_str_c(""), NULL),
                             WXP_OK);
            if (sig == NULL ||
                wxp_verify(platform, msg.ptr, msg.len, sig, strlen(sig), NULL) != WXP_OK) {
                fail_msg("row at line %d: the signature does not cover \"%s\"", rows[i].line, got);
            }
            wxp_buf_free(&msg);
        }
        e2e_resp_free(&r);
        expect_already(&mock, rows[i].openid);
    }
    wxp_key_free(platform);
}

static void test_scen_omit_header(void **state)
{
    (void)state;
    const struct {
        const char *openid;
        const char *header;
        int code;
        int line;
    } rows[] = {
        {"oOmitNonce", "Wechatpay-Nonce", WXP_E_RESP_HEADER_MISSING, __LINE__},
        {"oOmitSig", "Wechatpay-Signature", WXP_E_RESP_HEADER_MISSING, __LINE__},
        {"oOmitTs", "Wechatpay-Timestamp", WXP_E_RESP_HEADER_MISSING, __LINE__},
        {"oOmitSerial", "Wechatpay-Serial", WXP_E_RESP_HEADER_MISSING, __LINE__},
        /* The core does not look at the type header: the rest still verifies. */
        {"oOmitType", "Wechatpay-Signature-Type", WXP_OK, __LINE__},
        /* Case-insensitive name. */
        {"oOmitLower", "wechatpay-nonce", WXP_E_RESP_HEADER_MISSING, __LINE__},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char rule[256];
        struct e2e_resp r;
        snprintf(rule, sizeof rule,
                 "[{\"match\":{\"openid\":\"%s\"},\"times\":1,"
                 "\"action\":{\"omit_header\":\"%s\"}}]",
                 rows[i].openid, rows[i].header);
        load_rules(&mock, rule, 1);
        terminate(&mock, rows[i].openid, &r);
        if (r.status != 204 || e2e_header(&r, rows[i].header) != NULL ||
            e2e_verify(&r) != rows[i].code) {
            fail_msg("row at line %d: status %ld, header %s, verify %d", rows[i].line, r.status,
                     e2e_header(&r, rows[i].header) ? "present" : "absent", e2e_verify(&r));
        }
        assert_non_null(e2e_header(&r, "Request-ID"));
        e2e_resp_free(&r);
        expect_already(&mock, rows[i].openid);
    }
}

static void test_scen_omit_request_id(void **state)
{
    (void)state;
    struct e2e_resp r;
    load_rules(&mock,
               "[{\"match\":{\"openid\":\"oOmitReqId\"},\"times\":1,"
               "\"action\":{\"omit_header\":\"Request-ID\"}}]",
               1);
    terminate(&mock, "oOmitReqId", &r);
    assert_int_equal(r.status, 204);
    assert_null(e2e_header(&r, "Request-ID"));
    assert_non_null(e2e_header(&r, "Wechatpay-Signature"));
    e2e_resp_free(&r);
    expect_already(&mock, "oOmitReqId");
}

static void test_scen_sign_over(void **state)
{
    (void)state;
    struct e2e_resp r;
    load_rules(&mock,
               "[{\"match\":{\"openid\":\"oSignOver\"},\"times\":1,"
               "\"action\":{\"sign_over\":\"{}\"}}]",
               1);
    terminate(&mock, "oSignOver", &r);
    assert_int_equal(r.status, 204);
    assert_int_equal(r.body.len, 0);
    assert_int_equal(e2e_verify(&r), WXP_E_SIG_MISMATCH);
    e2e_resp_free(&r);
    expect_already(&mock, "oSignOver");
}

/* ---- matching ---------------------------------------------------------------------------- */

static void test_scen_match_mchid(void **state)
{
    (void)state;
    struct e2e_resp r;
    struct e2e_req qb = {.openid = "oMchB",
                         .key = "keys/test-merchant-b.key.pem",
                         .mchid = T_MCHID_B,
                         .serial = T_SERIAL_B,
                         .body = BODY_B};
    load_rules(&mock,
               "[{\"match\":{\"mchid\":\"" T_MCHID_B
               "\",\"path\":\"" PATH_OF("oMch*") "\"},"
                                                 "\"times\":1,\"action\":" RESPOND_429 "}]",
               1);
    expect_204(&mock, "oMchA");
    e2e_terminate(&mock, &qb, &r);
    assert_error(&r, 429, "FREQUENCY_LIMITED", MSG_429);
    e2e_resp_free(&r);
    e2e_terminate(&mock, &qb, &r);
    assert_int_equal(r.status, 204);
    assert_int_equal(e2e_verify(&r), WXP_OK);
    e2e_resp_free(&r);
}

static void test_scen_match_body_field(void **state)
{
    (void)state;
    struct e2e_resp r;
    struct e2e_req q = {.openid = "oBodyMatch",
                        .body = "{\"service_id\":\"2002000000000558128851361561536\",\"appid\":"
                                "\"wxd678efh567hg6787\",\"reason\":\"fault please\"}"};
    load_rules(&mock,
               "[{\"match\":{\"body\":{\"reason\":\"fault please\"}},\"times\":1,"
               "\"action\":" RESPOND_500 "}]",
               1);
    /* Another reason (every default body has a unique one) does not match. */
    expect_204(&mock, "oBodyOther");
    e2e_terminate(&mock, &q, &r);
    assert_error(&r, 500, "SYSTEM_ERROR", MSG_500);
    e2e_resp_free(&r);
}

static void test_scen_match_headers_present_absent(void **state)
{
    (void)state;
    struct e2e_resp r;
    struct e2e_req with = {.openid = "oHdrP1", .extra = {"X-Fault: yes"}};
    struct e2e_req spared = {.openid = "oHdrA2", .extra = {"X-No-Fault: 1"}};
    load_rules(
        &mock,
        "[{\"match\":{\"path\":\"" PATH_OF(
            "oHdrP*") "\",\"headers_present\":[\"x-fault\"]},"
                      "\"action\":" RESPOND_429 "},"
                      "{\"match\":{\"path\":\"" PATH_OF(
                          "oHdrA*") "\","
                                    "\"headers_absent\":[\"X-No-Fault\"]},\"action\":" RESPOND_500
                                    "}]",
        2);
    e2e_terminate(&mock, &with, &r);
    assert_error(&r, 429, "FREQUENCY_LIMITED", MSG_429);
    e2e_resp_free(&r);
    expect_204(&mock, "oHdrP2");
    terminate(&mock, "oHdrA1", &r);
    assert_error(&r, 500, "SYSTEM_ERROR", MSG_500);
    e2e_resp_free(&r);
    e2e_terminate(&mock, &spared, &r);
    assert_int_equal(r.status, 204);
    e2e_resp_free(&r);
}

static void test_scen_match_nth_then_expires(void **state)
{
    (void)state;
    struct e2e_resp r;
    load_rules(&mock,
               "[{\"match\":{\"path\":\"" PATH_OF("oNth*") "\",\"nth\":3},\"times\":1,"
                                                           "\"action\":" RESPOND_429 "}]",
               1);
    expect_204(&mock, "oNth1");
    expect_204(&mock, "oNth2");
    terminate(&mock, "oNth3", &r);
    assert_error(&r, 429, "FREQUENCY_LIMITED", MSG_429);
    e2e_resp_free(&r);
    expect_204(&mock, "oNth3");
    expect_204(&mock, "oNth4");
}

static void test_scen_times_expiry(void **state)
{
    (void)state;
    load_rules(&mock,
               "[{\"match\":{\"openid\":\"oTimes\"},\"times\":2,\"action\":" RESPOND_500 "}]", 1);
    assert_int_equal(terminate_status(&mock, "oTimes"), 500);
    assert_int_equal(terminate_status(&mock, "oTimes"), 500);
    expect_204(&mock, "oTimes");
    expect_already(&mock, "oTimes");
}

/* The rule with `name` in a GET /__admin/scenarios dump. */
static const cJSON *dumped_rule(const cJSON *dump, const char *name)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, dump)
    {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(it, "name");
        if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0) {
            return it;
        }
    }
    fail_msg("rule %s not in the dump", name);
    return NULL;
}

static void test_scen_first_rule_wins(void **state)
{
    (void)state;
    cJSON *dump;
    const cJSON *a, *b;
    load_rules(&mock,
               "{\"rules\":[{\"name\":\"first A\",\"match\":{\"openid\":\"oFirst\"},\"times\":1,"
               "\"action\":" RESPOND_429 "},"
               "{\"name\":\"first B\",\"match\":{\"openid\":\"oFirst\"},\"times\":1,"
               "\"action\":" RESPOND_500 "},"
               "{\"name\":\"nth A\",\"match\":{\"openid\":\"oFirstNth\",\"nth\":2},\"times\":1,"
               "\"action\":" RESPOND_429 "},"
               "{\"name\":\"nth B\",\"match\":{\"openid\":\"oFirstNth\"},\"times\":1,"
               "\"action\":" RESPOND_500 "}]}",
               4);
    assert_int_equal(terminate_status(&mock, "oFirst"), 429);
    assert_int_equal(terminate_status(&mock, "oFirst"), 500);
    expect_204(&mock, "oFirst");
    /* A rule that matches but waits for its nth lets the next rule fire. */
    assert_int_equal(terminate_status(&mock, "oFirstNth"), 500);
    assert_int_equal(terminate_status(&mock, "oFirstNth"), 429);
    expect_204(&mock, "oFirstNth");

    dump = admin_get(&mock, "/__admin/scenarios");
    a = dumped_rule(dump, "first A");
    b = dumped_rule(dump, "first B");
    assert_int_equal(num_member(a, "fired"), 1);
    assert_int_equal(num_member(a, "matched"), 1);
    assert_int_equal(num_member(a, "times_left"), 0);
    assert_int_equal(num_member(b, "fired"), 1);
    assert_int_equal(num_member(b, "matched"), 1);
    a = dumped_rule(dump, "nth A");
    b = dumped_rule(dump, "nth B");
    assert_int_equal(num_member(a, "fired"), 1);
    assert_int_equal(num_member(a, "matched"), 2);
    assert_int_equal(num_member(b, "fired"), 1);
    assert_int_equal(num_member(b, "matched"), 1);
    assert_string_equal(str_member(member(a, "rule"), "name"), "nth A");
    cJSON_Delete(dump);
}

/* ---- admin API --------------------------------------------------------------------------- */

static void test_admin_health(void **state)
{
    (void)state;
    struct e2e_resp r;
    cJSON *h1, *h2;
    admin(&mock, "GET", "/__admin/health", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(strncmp(e2e_header(&r, "Content-Type"), "application/json", 16), 0);
    assert_unsigned(&r);
    h1 = parse_json(&r);
    e2e_resp_free(&r);
    h2 = admin_get(&mock, "/__admin/health");
    assert_string_equal(str_member(h1, "status"), "ok");
    assert_true(num_member(h1, "requests") > 0);
    /* Every request counts, admin ones included. */
    assert_int_equal(num_member(h2, "requests"), num_member(h1, "requests") + 1);
    cJSON_Delete(h1);
    cJSON_Delete(h2);
}

static void check_entry(const cJSON *e, const char *path, long status, const char *code,
                        const char *failed_check, bool is_signed)
{
    assert_string_equal(str_member(e, "method"), "POST");
    assert_string_equal(str_member(e, "path"), path);
    assert_true(cJSON_IsNull(member(e, "query")));
    assert_int_equal(num_member(e, "status"), status);
    if (code == NULL) {
        assert_true(cJSON_IsNull(member(e, "code")));
    } else {
        assert_string_equal(str_member(e, "code"), code);
    }
    if (failed_check == NULL) {
        assert_true(cJSON_IsNull(member(e, "failed_check")));
    } else {
        assert_string_equal(str_member(e, "failed_check"), failed_check);
    }
    assert_int_equal(cJSON_IsTrue(member(e, "signed")), is_signed);
    assert_int_equal(num_member(e, "body_len"), (long)strlen(str_member(e, "body")));
    assert_non_null(strstr(str_member(member(e, "headers"), "Authorization"),
                           "WECHATPAY2-SHA256-RSA2048 mchid=\"1900000109\""));
}

static void test_admin_journal_and_filters(void **state)
{
    (void)state;
    struct e2e_resp r;
    struct e2e_req wrong_key = {.openid = "oJrnSig", .key = "keys/test-wrong.key.pem"};
    struct e2e_req stale = {.openid = "oJrnTs", .ts_offset = -400};
    cJSON *all, *got;
    const cJSON *e;

    admin(&mock, "DELETE", "/__admin/requests", NULL, &r);
    assert_int_equal(r.status, 204);
    assert_int_equal(r.body.len, 0);
    e2e_resp_free(&r);
    e2e_terminate(&mock, &wrong_key, &r);
    assert_error(&r, 401, "SIGN_ERROR", "错误的签名，验签失败");
    e2e_resp_free(&r);
    e2e_terminate(&mock, &stale, &r);
    assert_error(&r, 401, "SIGN_ERROR", NULL);
    e2e_resp_free(&r);
    expect_204(&mock, "oJrnOk");

    /* Journal: [DELETE, the three terminates, this GET is added after the dump]. */
    all = admin_get(&mock, "/__admin/requests");
    assert_int_equal(cJSON_GetArraySize(all), 4);
    e = cJSON_GetArrayItem(all, 0);
    assert_string_equal(str_member(e, "method"), "DELETE");
    assert_string_equal(str_member(e, "path"), "/__admin/requests");
    assert_int_equal(num_member(e, "status"), 204);
    check_entry(cJSON_GetArrayItem(all, 1), PATH_OF("oJrnSig"), 401, "SIGN_ERROR", "signature",
                false);
    check_entry(cJSON_GetArrayItem(all, 2), PATH_OF("oJrnTs"), 401, "SIGN_ERROR", "timestamp",
                false);
    check_entry(cJSON_GetArrayItem(all, 3), PATH_OF("oJrnOk"), 204, NULL, NULL, true);
    assert_true(num_member(cJSON_GetArrayItem(all, 1), "seq") <
                num_member(cJSON_GetArrayItem(all, 2), "seq"));
    cJSON_Delete(all);

    got = admin_get(&mock, "/__admin/requests?status=401");
    assert_int_equal(cJSON_GetArraySize(got), 2);
    assert_string_equal(str_member(cJSON_GetArrayItem(got, 0), "path"), PATH_OF("oJrnSig"));
    assert_string_equal(str_member(cJSON_GetArrayItem(got, 1), "path"), PATH_OF("oJrnTs"));
    cJSON_Delete(got);

    got = admin_get(&mock, "/__admin/requests?failed_check=timestamp");
    assert_int_equal(cJSON_GetArraySize(got), 1);
    assert_string_equal(str_member(cJSON_GetArrayItem(got, 0), "path"), PATH_OF("oJrnTs"));
    cJSON_Delete(got);

    got = admin_get(&mock, "/__admin/requests?path=%2Fv3%2F&method=POST&limit=1");
    assert_int_equal(cJSON_GetArraySize(got), 1);
    assert_string_equal(str_member(cJSON_GetArrayItem(got, 0), "path"), PATH_OF("oJrnOk"));
    cJSON_Delete(got);

    /* limit=1 alone: the newest entry, which is the previous GET with its query. */
    got = admin_get(&mock, "/__admin/requests?limit=1");
    assert_int_equal(cJSON_GetArraySize(got), 1);
    e = cJSON_GetArrayItem(got, 0);
    assert_string_equal(str_member(e, "method"), "GET");
    assert_string_equal(str_member(e, "path"), "/__admin/requests");
    assert_string_equal(str_member(e, "query"), "path=%2Fv3%2F&method=POST&limit=1");
    assert_int_equal(num_member(e, "status"), 200);
    cJSON_Delete(got);

    /* Bad filters. */
    admin(&mock, "GET", "/__admin/requests?status=600", NULL, &r);
    assert_admin_error(&r, 400, "INVALID_REQUEST", "query.status");
    e2e_resp_free(&r);
    admin(&mock, "GET", "/__admin/requests?colour=red", NULL, &r);
    assert_admin_error(&r, 400, "INVALID_REQUEST", "query");
    e2e_resp_free(&r);
    admin(&mock, "GET", "/__admin/requests?limit=x", NULL, &r);
    assert_admin_error(&r, 400, "INVALID_REQUEST", "query.limit");
    e2e_resp_free(&r);

    /* DELETE empties it: only the DELETE itself is journaled afterwards. */
    admin(&mock, "DELETE", "/__admin/requests", NULL, &r);
    assert_int_equal(r.status, 204);
    e2e_resp_free(&r);
    got = admin_get(&mock, "/__admin/requests");
    assert_int_equal(cJSON_GetArraySize(got), 1);
    assert_string_equal(str_member(cJSON_GetArrayItem(got, 0), "method"), "DELETE");
    cJSON_Delete(got);
    got = admin_get(&mock, "/__admin/requests?path=/v3/");
    assert_int_equal(cJSON_GetArraySize(got), 0);
    cJSON_Delete(got);
}

/* The record of `openid` in a state dump, or NULL. */
static cJSON *state_record(cJSON *dump, const char *openid)
{
    cJSON *it;
    cJSON_ArrayForEach(it, dump)
    {
        if (strcmp(str_member(it, "openid"), openid) == 0) {
            return it;
        }
    }
    return NULL;
}

static void test_admin_state_get_put(void **state)
{
    (void)state;
    struct e2e_resp r;
    cJSON *dump, *rec;
    char *text;

    expect_204(&mock, "oStatePut");
    dump = admin_get(&mock, "/__admin/state");
    rec = state_record(dump, "oStatePut");
    assert_non_null(rec);
    assert_string_equal(str_member(rec, "mchid"), T_MCHID_A);
    assert_string_equal(str_member(rec, "appid"), "wxd678efh567hg6787");
    assert_string_equal(str_member(rec, "service_id"), "2002000000000558128851361561536");
    assert_string_equal(str_member(rec, "state"), "UNAVAILABLE");
    assert_true(labs(num_member(rec, "terminated_at") - (long)time(NULL)) <= 5);
    assert_non_null(strstr(str_member(rec, "reason"), "e2e "));

    /* Put the same dump back with the record AVAILABLE again. */
    cJSON_ReplaceItemInObjectCaseSensitive(rec, "state", cJSON_CreateString("AVAILABLE"));
    cJSON_ReplaceItemInObjectCaseSensitive(rec, "terminated_at", cJSON_CreateNull());
    cJSON_ReplaceItemInObjectCaseSensitive(rec, "reason", cJSON_CreateNull());
    text = cJSON_PrintUnformatted(dump);
    assert_non_null(text);
    admin(&mock, "PUT", "/__admin/state", text, &r);
    assert_int_equal(r.status, 204);
    assert_int_equal(r.body.len, 0);
    e2e_resp_free(&r);
    cJSON_free(text);
    cJSON_Delete(dump);

    dump = admin_get(&mock, "/__admin/state");
    assert_string_equal(str_member(state_record(dump, "oStatePut"), "state"), "AVAILABLE");
    cJSON_Delete(dump);
    expect_204(&mock, "oStatePut");
    expect_already(&mock, "oStatePut");
}

/* Regression (a 400-record dump, 73 KB, got 413 when put back; a null appid came back ""): a
 * state document over the 64 KiB other bodies are held to, in the dump's own form with nulls and
 * every member, is put back and dumped byte for byte; then the dump from before is put back and
 * comes back byte for byte too. Other admin bodies keep the 64 KiB cap. */
static void test_admin_state_put_back_large_dump_bug(void **state)
{
    (void)state;
    struct e2e_resp r;
    struct wxp_buf doc;
    char *before;

    admin(&mock, "GET", "/__admin/state", NULL, &r);
    assert_int_equal(r.status, 200);
    before = wxp_strndup(r.body.ptr, r.body.len);
    e2e_resp_free(&r);
    wxp_buf_init(&doc, (size_t)1 << 20);
    assert_int_equal(wxp_buf_addstr(&doc, "["), WXP_OK);
    for (int i = 0; i < 400; i++) {
        enum wxp_code rc =
            i % 2 == 0
                ? wxp_buf_addf(&doc,
                               "%s{\"mchid\":\"1900000109\",\"openid\":\"oBig%04d\",\"appid\":null,"
                               "\"service_id\":\"2002000000000558128851361561536\",\"state\":"
                               "\"AVAILABLE\",\"terminated_at\":null,\"reason\":null}",
                               i ? "," : "", i)
                : wxp_buf_addf(&doc,
                               ",{\"mchid\":\"1900000109\",\"openid\":\"oBig%04d\",\"appid\":"
                               "\"wxd678efh567hg6787\",\"service_id\":\"S%d\",\"state\":"
                               "\"UNAVAILABLE\",\"terminated_at\":%d,\"reason\":\"\xe4\xb8\xad "
                               "\\\"q\\\"\",\"authorization_code\":\"code%d\",\"notify_url\":"
                               "\"https://m.example/n\",\"apply_permissions_token\":\"t%d\","
                               "\"authorized_at\":1690000000,\"token_expires_at\":1690003600}",
                               i, i, 1700000000 + i, i, i);
        assert_int_equal(rc, WXP_OK);
    }
    assert_int_equal(wxp_buf_addstr(&doc, "]"), WXP_OK);
    assert_true(doc.len > 64 * 1024);
    admin(&mock, "PUT", "/__admin/state", doc.ptr, &r);
    if (r.status != 204) {
        fail_msg("PUT of %zu bytes: %ld %s", doc.len, r.status, wxp_buf_cstr(&r.body));
    }
    e2e_resp_free(&r);
    admin(&mock, "GET", "/__admin/state", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(wxp_buf_cstr(&r.body), doc.ptr);
    e2e_resp_free(&r);
    admin(&mock, "PUT", "/__admin/state", before, &r);
    assert_int_equal(r.status, 204);
    e2e_resp_free(&r);
    admin(&mock, "GET", "/__admin/state", NULL, &r);
    assert_string_equal(wxp_buf_cstr(&r.body), before);
    e2e_resp_free(&r);
    /* The state's cap is its own: a scenario document as large is still 413. */
    doc.ptr[0] = '{';
    admin(&mock, "POST", "/__admin/scenarios", doc.ptr, &r);
    assert_int_equal(r.status, 413);
    e2e_resp_free(&r);
    wxp_free(before);
    wxp_buf_free(&doc);
}

static void test_admin_bad_input_then_healthy(void **state)
{
    (void)state;
    struct e2e_resp r;
    cJSON *root, *dump;
    int records;

    dump = admin_get(&mock, "/__admin/state");
    records = cJSON_GetArraySize(dump);
    cJSON_Delete(dump);

    admin(&mock, "PUT", "/__admin/state", "[{\"mchid\":\"1\"}]", &r);
    assert_error(&r, 400, "INVALID_REQUEST", "state[0].openid is required");
    assert_admin_error(&r, 400, "INVALID_REQUEST", "state[0].openid");
    e2e_resp_free(&r);
    admin(&mock, "PUT", "/__admin/state", "[{\"mchid\":", &r);
    assert_error(&r, 400, "INVALID_REQUEST", NULL);
    e2e_resp_free(&r);
    /* All-or-nothing: the state is unchanged. */
    dump = admin_get(&mock, "/__admin/state");
    assert_int_equal(cJSON_GetArraySize(dump), records);
    cJSON_Delete(dump);

    admin(&mock, "POST", "/__admin/scenarios",
          "[{\"action\":{\"delay_ms\":5}},{\"action\":{\"delay_ms\":-1}}]", &r);
    assert_error(&r, 400, "INVALID_REQUEST", "must be between 0 and 600000");
    assert_admin_error(&r, 400, "INVALID_REQUEST", "admin: rules[1].action.delay_ms");
    e2e_resp_free(&r);
    admin(&mock, "POST", "/__admin/scenarios", "[{\"when\":{},\"action\":{\"drop\":true}}]", &r);
    assert_admin_error(&r, 400, "INVALID_REQUEST", "admin: rules[0].when");
    e2e_resp_free(&r);
    admin(&mock, "POST", "/__admin/scenarios", "[{\"action\":{}", &r);
    assert_error(&r, 400, "INVALID_REQUEST", NULL);
    root = parse_json(&r);
    assert_non_null(strstr(str_member(root, "message"), "not valid JSON"));
    cJSON_Delete(root);
    e2e_resp_free(&r);

    admin(&mock, "GET", "/__admin/nope", NULL, &r);
    assert_error(&r, 404, "NOT_FOUND", NULL);
    e2e_resp_free(&r);
    admin(&mock, "GET", "/__admin/reset", NULL, &r);
    assert_error(&r, 405, "METHOD_NOT_ALLOWED", NULL);
    e2e_resp_free(&r);

    /* None of the refused rules was added (the first of a bad document included): every
     * terminate still answers normally, and the server is healthy. */
    root = admin_get(&mock, "/__admin/health");
    assert_string_equal(str_member(root, "status"), "ok");
    cJSON_Delete(root);
    expect_204(&mock, "oAfterBadAdmin");
}

/* Last in the group: reset empties everything, the --scenario FILE rules included. */
static void test_admin_reset(void **state)
{
    (void)state;
    struct e2e_resp r;
    cJSON *got;

    expect_204(&mock, "oReset");
    expect_already(&mock, "oReset");
    load_rules(&mock, "[{\"match\":{\"openid\":\"oReset\"},\"action\":" RESPOND_500 "}]", 1);
    got = admin_get(&mock, "/__admin/scenarios");
    assert_true(cJSON_GetArraySize(got) > 2);
    cJSON_Delete(got);

    admin(&mock, "POST", "/__admin/reset", NULL, &r);
    assert_int_equal(r.status, 204);
    assert_int_equal(r.body.len, 0);
    e2e_resp_free(&r);

    got = admin_get(&mock, "/__admin/scenarios");
    assert_int_equal(cJSON_GetArraySize(got), 0);
    cJSON_Delete(got);
    got = admin_get(&mock, "/__admin/state");
    assert_int_equal(cJSON_GetArraySize(got), 0); /* the built-in config has no records */
    cJSON_Delete(got);
    got = admin_get(&mock, "/__admin/requests");
    assert_int_equal(cJSON_GetArraySize(got), 3); /* the reset and the two GETs after it */
    assert_string_equal(str_member(cJSON_GetArrayItem(got, 0), "path"), "/__admin/reset");
    cJSON_Delete(got);

    expect_204(&mock, "oReset");
    expect_204(&mock, "oFile429");
    expect_204(&mock, "oFile500");
}

/* ---- own mocks: probability, DELETE scenarios, tokens, policies -------------------------- */

/* Fire pattern ('1' fired) of 40 requests against a fresh mock with a seeded 50% rule. */
static void probability_run(char pattern[41])
{
    struct e2e_mock m;
    struct e2e_resp r;
    cJSON *dump;
    e2e_start(&m, NULL);
    load_rules(&m,
               "[{\"match\":{\"path\":\"/v3/**\",\"probability\":0.5,\"seed\":42},"
               "\"action\":" RESPOND_429 "}]",
               1);
    for (int i = 0; i < 40; i++) {
        char openid[32];
        long status;
        snprintf(openid, sizeof openid, "oProb%d", i);
        status = terminate_status(&m, openid);
        if (status != 429 && status != 204) {
            fail_msg("request %d: status %ld", i, status);
        }
        pattern[i] = status == 429 ? '1' : '0';
    }
    pattern[40] = '\0';
    admin(&m, "DELETE", "/__admin/scenarios", NULL, &r);
    assert_int_equal(r.status, 204);
    e2e_resp_free(&r);
    dump = admin_get(&m, "/__admin/scenarios");
    assert_int_equal(cJSON_GetArraySize(dump), 0);
    cJSON_Delete(dump);
    e2e_stop(&m);
}

static void test_scen_probability_seed_is_reproducible(void **state)
{
    (void)state;
    char a[41], b[41];
    size_t fired = 0;
    probability_run(a);
    probability_run(b);
    assert_string_equal(a, b);
    for (size_t i = 0; i < 40; i++) {
        fired += a[i] == '1';
    }
    if (fired == 0 || fired == 40) {
        fail_msg("50%% rule fired %zu of 40: %s", fired, a);
    }
}

static void test_sign_errors_flag(void **state)
{
    (void)state;
    struct e2e_mock m;
    struct e2e_resp r;
    struct e2e_req q = {.openid = "oSignErr", .key = "keys/test-wrong.key.pem"};
    const char *args[] = {"--sign-errors", NULL};
    e2e_start(&m, args);
    e2e_terminate(&m, &q, &r);
    assert_error(&r, 401, "SIGN_ERROR", NULL);
    assert_string_equal(e2e_header(&r, "Wechatpay-Serial"), T_SERIAL_PLATFORM);
    assert_int_equal(e2e_verify(&r), WXP_OK);
    e2e_resp_free(&r);
    /* A scripted 500 is signed too. */
    load_rules(&m, "[{\"times\":1,\"action\":" RESPOND_500 "}]", 1);
    terminate(&m, "oSignErr500", &r);
    assert_error(&r, 500, "SYSTEM_ERROR", MSG_500);
    assert_int_equal(e2e_verify(&r), WXP_OK);
    e2e_resp_free(&r);
    e2e_stop(&m);
}

/* Writes req[0..len) (NUL bytes included) on a new connection and reads the answer to EOF into
 * out[cap] (the request asks for Connection: close). */
static void raw_exchange(const struct e2e_mock *m, const char *req, size_t len, char *out,
                         size_t cap)
{
    struct sockaddr_in in;
    size_t got = 0;
    ssize_t r;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    memset(&in, 0, sizeof in);
    in.sin_family = AF_INET;
    in.sin_port = htons((uint16_t)strtoul(strrchr(m->url, ':') + 1, NULL, 10));
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&in, sizeof in), 0);
    assert_int_equal(write(fd, req, len), (ssize_t)len);
    while ((r = read(fd, out + got, cap - 1 - got)) > 0) {
        got += (size_t)r;
        assert_true(got < cap - 1);
    }
    out[got] = '\0';
    close(fd);
}

/* rule: an admin token followed by a NUL byte and junk is refused (libmicrohttpd would pass on
 * only the part before the NUL); the same request without the junk is served. A 413's journal
 * entry has the whole body length read as body_len. src: docs/mock-admin.md#token,
 * docs/mock-admin.md#get-__adminrequests */
static void test_admin_token_cut_by_nul_and_413_body_len(void **state)
{
    (void)state;
    struct e2e_mock m;
    struct e2e_resp r;
    const char *args[] = {"--admin-token", "T0ken", NULL};
    static const char NUL_REQ[] = "GET /__admin/health HTTP/1.1\r\nHost: t\r\n"
                                  "X-Admin-Token: T0ken\0junk\r\nConnection: close\r\n\r\n";
    static const char OK_REQ[] = "GET /__admin/health HTTP/1.1\r\nHost: t\r\n"
                                 "X-Admin-Token: T0ken\r\nConnection: close\r\n\r\n";
    static const char NUL_AUTH[] = "GET /__admin/health HTTP/1.1\r\nHost: t\r\n"
                                   "Authorization: Bearer T0ken\0\r\nConnection: close\r\n\r\n";
    char out[8192];
    char *big = malloc(70000);
    const char *h[] = {"X-Admin-Token: T0ken", NULL};
    const char *post[] = {"Accept: application/json", "Content-Type: application/json",
                          "User-Agent: e2e/1.0", NULL};
    cJSON *root;

    e2e_start(&m, args);
    raw_exchange(&m, NUL_REQ, sizeof NUL_REQ - 1, out, sizeof out);
    assert_int_equal(strncmp(out, "HTTP/1.1 401", 12), 0);
    assert_non_null(strstr(out, "a NUL byte"));
    raw_exchange(&m, NUL_AUTH, sizeof NUL_AUTH - 1, out, sizeof out);
    assert_int_equal(strncmp(out, "HTTP/1.1 401", 12), 0);
    raw_exchange(&m, OK_REQ, sizeof OK_REQ - 1, out, sizeof out);
    assert_int_equal(strncmp(out, "HTTP/1.1 200", 12), 0);

    assert_non_null(big);
    memset(big, ' ', 70000);
    e2e_send(&m, "POST", "/v3/payscore/permissions/openid/o-413/terminate", post, big, 70000, &r);
    if (r.status != 413) {
        fail_msg("status %ld: %s", r.status, wxp_buf_cstr(&r.body));
    }
    e2e_resp_free(&r);
    e2e_send(&m, "GET", "/__admin/requests?status=413", h, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    root = parse_json(&r);
    assert_int_equal(cJSON_GetArraySize(root), 1);
    assert_int_equal(
        (int)cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetArrayItem(root, 0), "body_len")),
        70000);
    cJSON_Delete(root);
    e2e_resp_free(&r);
    free(big);
    e2e_stop(&m);
}

static void test_admin_token(void **state)
{
    (void)state;
    struct e2e_mock m;
    struct e2e_resp r;
    const char *args[] = {"--admin-token", "T0ken", NULL};
    const struct {
        const char *header;
        long status;
        int line;
    } rows[] = {
        {NULL, 401, __LINE__},
        {"Authorization: Bearer T0ken", 200, __LINE__},
        {"Authorization: bearer T0ken", 200, __LINE__},
        {"X-Admin-Token: T0ken", 200, __LINE__},
        {"Authorization: Bearer T0ke", 401, __LINE__},
        {"X-Admin-Token: t0ken", 401, __LINE__},
        {"Authorization: Basic VDBrZW4=", 401, __LINE__},
    };
    e2e_start(&m, args);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const char *h[] = {rows[i].header, NULL};
        e2e_send(&m, "GET", "/__admin/health", h, NULL, 0, &r);
        if (r.status != rows[i].status) {
            fail_msg("row at line %d: status %ld", rows[i].line, r.status);
        }
        if (rows[i].status == 401) {
            assert_error(&r, 401, "UNAUTHORIZED", "admin token required");
        }
        e2e_resp_free(&r);
    }
    /* Unknown admin paths are hidden behind the token too. */
    e2e_send(&m, "GET", "/__admin/nope", NULL, NULL, 0, &r);
    assert_error(&r, 401, "UNAUTHORIZED", NULL);
    e2e_resp_free(&r);
    /* The token is redacted in the journal. */
    {
        const char *h[] = {"X-Admin-Token: T0ken", NULL};
        cJSON *root;
        e2e_send(&m, "GET", "/__admin/requests", h, NULL, 0, &r);
        assert_int_equal(r.status, 200);
        assert_null(strstr(wxp_buf_cstr(&r.body), "T0ken"));
        e2e_resp_free(&r);
        e2e_send(&m, "GET", "/__admin/requests?status=200", h, NULL, 0, &r);
        assert_int_equal(r.status, 200);
        root = parse_json(&r);
        assert_string_equal(
            str_member(member(cJSON_GetArrayItem(root, 0), "headers"), "Authorization"),
            "Bearer <redacted>");
        cJSON_Delete(root);
        e2e_resp_free(&r);
    }
    /* The payment API does not need the token. */
    expect_204(&m, "oTokenPay");
    e2e_stop(&m);
}

static void test_config_unknown_openid_not_found(void **state)
{
    (void)state;
    struct e2e_mock m;
    struct e2e_resp r;
    const char *args[] = {"--config", NULL, NULL};
    write_file(tmp_path("notfound.json"),
               "{\"unknown_openid\":\"not_found\",\"authorizations\":[{\"mchid\":\"1900000109\","
               "\"openid\":\"oCfgAvail\",\"appid\":\"wxd678efh567hg6787\","
               "\"service_id\":\"2002000000000558128851361561536\",\"state\":\"AVAILABLE\"}]}");
    args[1] = tmp_path("notfound.json");
    e2e_start(&m, args);
    terminate(&m, "oCfgNone", &r);
    assert_error(&r, 404, "ORDER_NOT_EXIST", "用户授权关系不存在");
    assert_unsigned(&r);
    e2e_resp_free(&r);
    /* Still not found: a 404 records nothing. */
    terminate(&m, "oCfgNone", &r);
    assert_error(&r, 404, "ORDER_NOT_EXIST", NULL);
    e2e_resp_free(&r);
    expect_204(&m, "oCfgAvail");
    expect_already(&m, "oCfgAvail");
    e2e_stop(&m);
    unlink(tmp_path("notfound.json"));
}

/* ---- graceful stop ----------------------------------------------------------------------- */

struct inflight {
    const struct e2e_mock *m;
    char openid[32];
    long status;
    int curl_error;
    int verify;
    double elapsed_ms;
    bool conn_close; /* the answer said Connection: close */
};

static void *inflight_run(void *arg)
{
    struct inflight *x = arg;
    struct e2e_resp r;
    double t0 = mono_ms();
    terminate(x->m, x->openid, &r);
    x->elapsed_ms = mono_ms() - t0;
    x->status = r.status;
    x->curl_error = r.curl_error;
    x->verify = x->curl_error == 0 ? e2e_verify(&r) : -1;
    x->conn_close = e2e_header(&r, "Connection") != NULL &&
                    strcasecmp(e2e_header(&r, "Connection"), "close") == 0;
    e2e_resp_free(&r);
    return NULL;
}

static long health_seq(const struct e2e_mock *m)
{
    cJSON *h = admin_get(m, "/__admin/health");
    long v = num_member(h, "requests");
    cJSON_Delete(h);
    return v;
}

#define DELAYED_MAX 4

/* SIGTERM while `n` terminates wait out a 60 s scripted delay, the mock started with `args`:
 * each request has been executed (the delay comes after the decision), so each must get its
 * 204, with Connection: close, long before the delay is over, and the mock must exit 0 within
 * the documented bound (2 s, plus 1 s for this machine). Before the delays became suspended
 * connections, the thread-per-connection mock cut the clients off after 2 s and exited only
 * after the whole delay, and --threads 2 reset the requests queued behind its sleeping
 * workers. */
static void sigterm_during_delays(const char *const *args, size_t n)
{
    struct e2e_mock m;
    struct inflight x[DELAYED_MAX];
    pthread_t th[DELAYED_MAX];
    long h0;
    double t0, stop_ms;
    e2e_start(&m, args);
    load_rules(&m, "[{\"match\":{\"path\":\"/v3/**\"},\"action\":{\"delay_ms\":60000}}]", 1);
    h0 = health_seq(&m);
    t0 = mono_ms();
    for (size_t i = 0; i < n; i++) {
        memset(&x[i], 0, sizeof x[i]);
        x[i].m = &m;
        snprintf(x[i].openid, sizeof x[i].openid, "oGraceful%zu", i);
        assert_int_equal(pthread_create(&th[i], NULL, inflight_run, &x[i]), 0);
    }
    /* Wait until every terminate has arrived: the k-th health poll sees h0 + k unless other
     * requests got sequence numbers in between. */
    for (long k = 1;; k++) {
        if (health_seq(&m) >= h0 + k + (long)n) {
            break;
        }
        if (mono_ms() - t0 > 5000.0) {
            fail_msg("the delayed requests never arrived");
        }
        sleep_ms(2);
    }
    t0 = mono_ms();
    e2e_stop(&m); /* SIGTERM; asserts exit status 0 */
    stop_ms = mono_ms() - t0;
    for (size_t i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
    }
    if (stop_ms > 3000.0) {
        fail_msg("the mock took %.0f ms to exit after SIGTERM", stop_ms);
    }
    for (size_t i = 0; i < n; i++) {
        if (x[i].curl_error != 0 || x[i].status != 204 || x[i].verify != WXP_OK ||
            !x[i].conn_close || x[i].elapsed_ms > 10000.0) {
            fail_msg("request %zu: curl error %d, status %ld, verify %d, Connection: close %d, "
                     "after %.0f ms",
                     i, x[i].curl_error, x[i].status, x[i].verify, (int)x[i].conn_close,
                     x[i].elapsed_ms);
        }
    }
}

static void test_sigterm_answers_delayed_requests_thread_per_connection(void **state)
{
    (void)state;
    sigterm_during_delays(NULL, 2);
}

static void test_sigterm_answers_delayed_requests_thread_pool(void **state)
{
    const char *args[] = {"--threads", "2", NULL};
    (void)state;
    /* More delayed requests than workers: none may wait behind a sleeping one. */
    sigterm_during_delays(args, DELAYED_MAX);
}

/* ---- connection cap and timeouts ---------------------------------------------------------- */

static int raw_connect(const struct e2e_mock *m)
{
    const char *colon = strrchr(m->url, ':');
    struct sockaddr_in sa = {.sin_family = AF_INET};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0 && colon != NULL);
    sa.sin_port = htons((uint16_t)strtoul(colon + 1, NULL, 10));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

static void raw_send(int fd, const char *s)
{
    assert_int_equal(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

/* Reads until the peer closes (or resets), for at most timeout_ms; returns the bytes read
 * (NUL-terminated in buf), or -1 when the connection was still open at the deadline. */
static ssize_t read_to_close(int fd, char *buf, size_t cap, double timeout_ms)
{
    size_t len = 0;
    double t0 = mono_ms();
    buf[0] = '\0';
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        double left = timeout_ms - (mono_ms() - t0);
        ssize_t n;
        if (left <= 0 || poll(&p, 1, (int)left + 1) <= 0) {
            return -1;
        }
        n = recv(fd, buf + len, cap - 1 - len, 0);
        if (n <= 0) {
            return (ssize_t)len; /* EOF, or a reset: closed either way */
        }
        len += (size_t)n;
        buf[len] = '\0';
        if (len == cap - 1) {
            return (ssize_t)len;
        }
    }
}

#define CAP_TEST 2
#define HEALTH_REQ "GET /__admin/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"

/* Sends a health request on a new connection until the answer starts with `want` ("" = closed
 * without a byte), for at most timeout_ms: the mock accepts connections on its own schedule (on
 * a loaded machine the slow clients below may not all be accepted yet), so the test waits for
 * the state it checks instead of sleeping. Fails the test with the last answer. */
static void probe_until(const struct e2e_mock *m, const char *want, double timeout_ms)
{
    char buf[512];
    double t0 = mono_ms();
    for (;;) {
        int fd = raw_connect(m);
        ssize_t n;
        (void)send(fd, HEALTH_REQ, strlen(HEALTH_REQ), MSG_NOSIGNAL);
        n = read_to_close(fd, buf, sizeof buf, 1000.0);
        close(fd);
        if (n >= 0 && (want[0] == '\0' ? n == 0 : strncmp(buf, want, strlen(want)) == 0)) {
            return;
        }
        if (mono_ms() - t0 > timeout_ms) {
            fail_msg("waiting for '%s': %s", want, n < 0 ? "still open after 1 s" : buf);
        }
        sleep_ms(20);
    }
}

/* --max-connections 2, held by clients that sent one byte of a request and then nothing (a
 * slow-loris): a new connection is answered 503 at once and closed; once the 16 over-cap slots
 * are held too, a new connection is closed at once; a slot freed by a client serves again. Before
 * the cap became a flag with these slots, libmicrohttpd stopped accepting at its limit, and a new
 * connect waited in the listen backlog, unanswered, for as long as the slow clients held on. */
#define OVER_SLOTS 16 /* MOCK_OVER_CAP_SLOTS */
#define OVER_MAX 48

/* One health request on a new connection: 1 when it was closed without a byte, 0 when answered
 * 503; fails the test on anything else. */
static int probe_closed(const struct e2e_mock *m)
{
    char buf[512];
    int fd = raw_connect(m);
    ssize_t n;
    (void)send(fd, HEALTH_REQ, strlen(HEALTH_REQ), MSG_NOSIGNAL);
    n = read_to_close(fd, buf, sizeof buf, 5000.0);
    close(fd);
    if (n == 0) {
        return 1;
    }
    if (n < 0 || strncmp(buf, "HTTP/1.1 503 ", 13) != 0) {
        fail_msg("over the cap, a probe got %s", n < 0 ? "no answer in 5 s" : buf);
    }
    return 0;
}

static void connection_cap(const char *threads)
{
    const char *args[] = {"--max-connections", "2", "--threads", threads, NULL};
    struct e2e_mock m;
    int slow[CAP_TEST], over[OVER_MAX];
    size_t nover = 0, held = 0;
    e2e_start(&m, args);
    for (size_t i = 0; i < CAP_TEST; i++) {
        slow[i] = raw_connect(&m);
        raw_send(slow[i], "P");
    }
    probe_until(&m, "HTTP/1.1 503 ", 10000.0);
    /* Slow clients take the over-cap slots; once they are all taken a new connection is closed
     * at once. A probe's connection that the mock still counts (its close not yet noticed on a
     * loaded machine) holds a slot for a moment, and a slow client that came meanwhile was closed
     * at once: so slow clients are added until a probe is closed, rather than exactly 16. */
    for (;;) {
        if (nover == OVER_MAX) {
            fail_msg("%d slow clients over the cap and a new connection is still answered",
                     OVER_MAX);
        }
        over[nover] = raw_connect(&m);
        raw_send(over[nover], "P");
        nover++;
        if (nover >= OVER_SLOTS && probe_closed(&m)) {
            break;
        }
    }
    /* No more than the 16 slots hold a slow client: the others were closed at once. */
    for (size_t i = 0; i < nover; i++) {
        char c;
        struct pollfd p = {.fd = over[i], .events = POLLIN};
        if (poll(&p, 1, 0) == 0 || recv(over[i], &c, 1, MSG_DONTWAIT) < 0) {
            held++;
        }
    }
    if (held > OVER_SLOTS || held == 0) {
        fail_msg("%zu slow clients held over the cap, expected 1 to %d", held, OVER_SLOTS);
    }
    for (size_t i = 0; i < nover; i++) {
        close(over[i]);
    }
    close(slow[0]);
    /* The freed slot serves again (the close takes a moment to reach the mock). Under ASan, about
     * one run in fifteen of the thread-pool variant saw 503 for 10 s here: libmicrohttpd had not
     * yet noticed a client's close; the 30 s idle timeout reclaims such a slot at the latest, so
     * the wait allows 40 s. */
    probe_until(&m, "HTTP/1.1 200 ", 40000.0);
    close(slow[1]);
    e2e_stop(&m);
}

static void test_connection_cap_thread_per_connection(void **state)
{
    (void)state;
    connection_cap("0");
}

static void test_connection_cap_thread_pool(void **state)
{
    (void)state;
    connection_cap("2");
}

/* --connection-timeout 1: a client that sends part of a request and stops is closed after about
 * 1 s (the default is 30 s). */
static void test_connection_timeout_flag(void **state)
{
    const char *args[] = {"--connection-timeout", "1", NULL};
    struct e2e_mock m;
    char buf[512];
    int fd;
    double t0;
    ssize_t n;
    (void)state;
    e2e_start(&m, args);
    fd = raw_connect(&m);
    raw_send(fd, "POST /v3/");
    t0 = mono_ms();
    n = read_to_close(fd, buf, sizeof buf, 5000.0);
    close(fd);
    if (n < 0 || mono_ms() - t0 < 500.0) {
        fail_msg("closed after %.0f ms (expected about 1 s)%s", mono_ms() - t0,
                 n < 0 ? ": still open" : "");
    }
    e2e_stop(&m);
}

/* ---- start-up and usage ------------------------------------------------------------------ */

struct run {
    int exit_status; /* WEXITSTATUS, or -1 when killed by a signal */
    char out[16384];
    char err[16384];
};

/* Appends what is readable on fd to buf; false at EOF. */
static bool drain(int fd, char *buf, size_t cap)
{
    size_t len = strlen(buf);
    ssize_t n = read(fd, buf + len, cap - 1 - len);
    if (n <= 0) {
        return false;
    }
    buf[len + (size_t)n] = '\0';
    return len + (size_t)n < cap - 1;
}

/* Runs wxpay-mock in tmpdir with exactly these arguments, expecting it to exit on its own within
 * 10 s; collects stdout and stderr. */
static void run_mock(const char *const *args, struct run *res)
{
    const char *argv[16];
    size_t n = 0;
    int po[2], pe[2], status = 0;
    struct pollfd fds[2];
    double t0 = mono_ms();
    pid_t pid;

    memset(res, 0, sizeof *res);
    argv[n++] = WXPAY_MOCK_BIN;
    for (size_t i = 0; args[i] != NULL && n < 15; i++) {
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    assert_int_equal(pipe(po), 0);
    assert_int_equal(pipe(pe), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        e2e_child_setup();
        if (dup2(po[1], 1) < 0 || dup2(pe[1], 2) < 0 || chdir(tmpdir) != 0) {
            _exit(127);
        }
        close(po[0]);
        close(pe[0]);
        close(po[1]);
        close(pe[1]);
        execv(argv[0], (char *const *)(void *)argv);
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    fds[0] = (struct pollfd){po[0], POLLIN, 0};
    fds[1] = (struct pollfd){pe[0], POLLIN, 0};
    while (fds[0].fd >= 0 || fds[1].fd >= 0) {
        if (mono_ms() - t0 > 10000.0) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            fail_msg("wxpay-mock did not exit within 10 s");
        }
        if (poll(fds, 2, 100) <= 0) {
            continue;
        }
        if (fds[0].revents != 0 && !drain(fds[0].fd, res->out, sizeof res->out)) {
            close(fds[0].fd);
            fds[0].fd = -1;
        }
        if (fds[1].revents != 0 && !drain(fds[1].fd, res->err, sizeof res->err)) {
            close(fds[1].fd);
            fds[1].fd = -1;
        }
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    res->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void assert_run(const struct run *res, int status, const char *const *in_err)
{
    if (res->exit_status != status) {
        fail_msg("exit status %d, expected %d; stderr: %s", res->exit_status, status, res->err);
    }
    for (size_t i = 0; in_err != NULL && in_err[i] != NULL; i++) {
        if (strstr(res->err, in_err[i]) == NULL) {
            fail_msg("stderr lacks \"%s\": %s", in_err[i], res->err);
        }
    }
}

static void test_startup_line_equals_ready_file(void **state)
{
    (void)state;
    char ready[400], line[256] = "", url[160], want[200];
    const char *argv[] = {WXPAY_MOCK_BIN, "--listen", "127.0.0.1:0", "--ready-file",
                          ready,          "--quiet",  NULL};
    int po[2], status = 0;
    double t0 = mono_ms();
    FILE *f;
    pid_t pid;

    snprintf(ready, sizeof ready, "%s", tmp_path("ready.url"));
    assert_int_equal(pipe(po), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        e2e_child_setup();
        if (dup2(po[1], 1) < 0) {
            _exit(127);
        }
        close(po[0]);
        close(po[1]);
        execv(argv[0], (char *const *)(void *)argv);
        _exit(127);
    }
    close(po[1]);
    /* The line is printed after the ready file is renamed into place. */
    while (strchr(line, '\n') == NULL) {
        struct pollfd p = {po[0], POLLIN, 0};
        if (mono_ms() - t0 > 10000.0) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            fail_msg("no start-up line within 10 s: \"%s\"", line);
        }
        if (poll(&p, 1, 100) > 0 && !drain(po[0], line, sizeof line) &&
            strchr(line, '\n') == NULL) {
            waitpid(pid, &status, 0);
            fail_msg("stdout closed before the start-up line: \"%s\"", line);
        }
    }
    f = fopen(ready, "r");
    assert_non_null(f);
    assert_non_null(fgets(url, sizeof url, f));
    fclose(f);
    unlink(ready);
    assert_int_equal(url[strlen(url) - 1], '\n');
    url[strcspn(url, "\n")] = '\0';
    assert_int_equal(strncmp(url, "http://127.0.0.1:", 17), 0);
    assert_true(strtol(url + 17, NULL, 10) > 0);
    snprintf(want, sizeof want, "wxpay-mock listening on %s\n", url);
    assert_string_equal(line, want);

    kill(pid, SIGTERM);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    close(po[0]);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_startup_usage_and_config_errors(void **state)
{
    (void)state;
    char missing[400], unknown[400], badcert[400], badscen[400], longcert[400];
    char longjson[5200];
    struct run res;

    snprintf(missing, sizeof missing, "%s", tmp_path("missing.json"));
    snprintf(unknown, sizeof unknown, "%s", tmp_path("unknown.json"));
    snprintf(badcert, sizeof badcert, "%s", tmp_path("badcert.json"));
    snprintf(badscen, sizeof badscen, "%s", tmp_path("badscen.json"));
    write_file(unknown, "{\"skew\":300,\"colour\":\"red\"}");
    write_file(badcert, "{\"merchants\":[{\"mchid\":\"1900000109\",\"cert\":\"no-such.pem\"}]}");
    write_file(badscen, "[{\"action\":{\"drop\":true}},{\"action\":{\"delay_ms\":600001}}]");
    /* A key path longer than PATH_MAX once resolved: refused by name, never cut to another. */
    snprintf(longcert, sizeof longcert, "%s", tmp_path("longcert.json"));
    snprintf(longjson, sizeof longjson,
             "{\"merchants\":[{\"mchid\":\"1900000109\",\"cert\":\"%05000d.pem\"}]}", 0);
    write_file(longcert, longjson);

    {
        const char *a[] = {"--listen", "0.0.0.0:0", NULL};
        const char *e[] = {"--allow-remote", NULL};
        run_mock(a, &res);
        assert_run(&res, 2, e);
        assert_string_equal(res.out, "");
    }
    {
        /* 0 is refused, not read as 1 (docs/mock-server.md#start). */
        const char *a[] = {"--listen", "127.0.0.1:0", "--journal-size", "0", NULL};
        const char *e[] = {"--journal-size takes 1..1000000, not '0'", NULL};
        run_mock(a, &res);
        assert_run(&res, 2, e);
    }
    {
        const char *a[] = {"--listen", "127.0.0.1:0", "--config", missing, NULL};
        const char *e[] = {"config refused", missing, "No such file or directory", NULL};
        run_mock(a, &res);
        assert_run(&res, 1, e);
    }
    {
        const char *a[] = {"--listen", "127.0.0.1:0", "--config", unknown, NULL};
        const char *e[] = {"config refused", unknown, "colour", "unknown member", NULL};
        run_mock(a, &res);
        assert_run(&res, 1, e);
    }
    {
        const char *a[] = {"--listen", "127.0.0.1:0", "--config", badcert, NULL};
        const char *e[] = {"config refused",
                           badcert,
                           "merchants[0].cert",
                           "no-such.pem",
                           "No such file or directory",
                           NULL};
        run_mock(a, &res);
        assert_run(&res, 1, e);
    }
    {
        const char *a[] = {"--listen", "127.0.0.1:0", "--config", longcert, NULL};
        const char *e[] = {"config refused", "merchants[0].cert", "path is too long", NULL};
        run_mock(a, &res);
        assert_run(&res, 1, e);
    }
    {
        /* Relative to tmpdir: the place is cut at 63 bytes, so a long path would hide it. */
        const char *a[] = {"--listen", "127.0.0.1:0", "--scenario", "badscen.json", NULL};
        const char *e[] = {"scenario badscen.json", "badscen.json: rules[1].action.delay_ms",
                           "must be between 0 and 600000", NULL};
        run_mock(a, &res);
        assert_run(&res, 1, e);
    }
    {
        const char *a[] = {"--help", NULL};
        run_mock(a, &res);
        assert_run(&res, 0, NULL);
        assert_int_equal(strncmp(res.out, "usage: wxpay-mock", 17), 0);
        assert_non_null(strstr(res.out, "--allow-remote"));
    }
    {
        const char *a[] = {"--listen", "127.0.0.1:0", "--no-such-option", NULL};
        const char *e[] = {"unknown option '--no-such-option'", NULL};
        run_mock(a, &res);
        assert_run(&res, 2, e);
    }
    unlink(unknown);
    unlink(badcert);
    unlink(badscen);
}

/* ---- listening ----------------------------------------------------------------------------- */

/* The HOST:PORT of a running mock's url (http://HOST:PORT). */
static const char *hostport(const struct e2e_mock *m)
{
    const char *p = strstr(m->url, "://");
    assert_non_null(p);
    return p + 3;
}

static unsigned port_of(const struct e2e_mock *m)
{
    const char *colon = strrchr(m->url, ':');
    assert_non_null(colon);
    return (unsigned)strtoul(colon + 1, NULL, 10);
}

/* TCP sockets in TIME_WAIT (state 06) whose local port is `port`, from /proc/net/tcp or tcp6. */
static unsigned time_wait_on(unsigned port, bool v6)
{
    FILE *f = fopen(v6 ? "/proc/net/tcp6" : "/proc/net/tcp", "r");
    char line[512];
    unsigned n = 0;

    assert_non_null(f);
    while (fgets(line, sizeof line, f) != NULL) {
        /* "  sl  local_address rem_address   st ...": "  3: 0100007F:9C8B 0100007F:A1B2 06" */
        char *local = strchr(line, ':');
        char *lport, *rem, *st;
        if (local == NULL) {
            continue;
        }
        local++;
        while (*local == ' ') {
            local++;
        }
        rem = strchr(local, ' ');
        lport = memchr(local, ':', rem != NULL ? (size_t)(rem - local) : 0);
        if (rem == NULL || lport == NULL) {
            continue;
        }
        while (*rem == ' ') {
            rem++;
        }
        st = strchr(rem, ' ');
        if (st == NULL) {
            continue;
        }
        while (*st == ' ') {
            st++;
        }
        if (strtoul(lport + 1, NULL, 16) == port && strncmp(st, "06", 2) == 0) {
            n++;
        }
    }
    fclose(f);
    return n;
}

/* Sends `req` (which should ask for Connection: close) over a plain socket and reads to the end
 * into out[cap]: the mock closes first, so its side of the connection (local port = the mock's
 * port) goes to TIME_WAIT. */
static void raw_request(const struct e2e_mock *m, bool v6, const char *req, char *out, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t len;
    size_t got = 0;
    ssize_t r;
    int fd;

    memset(&ss, 0, sizeof ss);
    if (v6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port_of(m));
        in6->sin6_addr = in6addr_loopback;
        len = sizeof *in6;
    } else {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)port_of(m));
        in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof *in;
    }
    fd = socket(ss.ss_family, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&ss, len), 0);
    assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    while ((r = read(fd, out + got, cap - 1 - got)) > 0) {
        got += (size_t)r;
        assert_true(got < cap - 1);
    }
    out[got] = '\0';
    assert_int_equal(r, 0); /* EOF: the mock closed its side */
    close(fd);
}

static void request_closed_by_mock(const struct e2e_mock *m, bool v6)
{
    char buf[4096];
    raw_request(m, v6, "GET /__admin/health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", buf,
                sizeof buf);
    assert_int_equal(strncmp(buf, "HTTP/1.1 200", 12), 0);
}

static void health_ok(const struct e2e_mock *m)
{
    cJSON *h = admin_get(m, "/__admin/health");
    cJSON_Delete(h);
}

/* rule: a second mock on the port of a running one exits 1 with one line naming the address,
 * and the first keeps serving (was: SO_REUSEPORT let both listen and share the connections).
 * src: docs/mock-server.md#listening */
static void test_startup_port_in_use_exits_1(void **state)
{
    (void)state;
    const char *const families[] = {"127.0.0.1:0", "[::1]:0"};

    for (size_t i = 0; i < 2; i++) {
        const char *args[] = {"--listen", families[i], NULL};
        char want[200];
        struct e2e_mock m;
        struct run res;
        e2e_start(&m, args);
        {
            const char *a[] = {"--listen", hostport(&m), "--quiet", NULL};
            const char *e[] = {want, "Address already in use", NULL};
            snprintf(want, sizeof want, "wxpay-mock: cannot listen on %s: ", hostport(&m));
            run_mock(a, &res);
            assert_run(&res, 1, e);
        }
        assert_string_equal(res.out, "");
        assert_int_equal(strncmp(res.err, want, strlen(want)), 0);
        if (strchr(res.err, '\n') != res.err + strlen(res.err) - 1) {
            fail_msg("not one line: %s", res.err);
        }
        health_ok(&m);
        e2e_stop(&m);
    }
}

/* rule: a mock restarted on the port of one that just stopped starts, while the old connections
 * are in TIME_WAIT (SO_REUSEADDR). src: docs/mock-server.md#listening */
static void test_startup_restart_on_same_port(void **state)
{
    (void)state;
    const char *const families[] = {"127.0.0.1:0", "[::1]:0"};

    for (size_t i = 0; i < 2; i++) {
        const char *args[] = {"--listen", families[i], NULL};
        char again[160];
        const char *args2[] = {"--listen", again, NULL};
        struct e2e_mock m;
        unsigned port;
        e2e_start(&m, args);
        port = port_of(&m);
        snprintf(again, sizeof again, "%s", hostport(&m));
        request_closed_by_mock(&m, i == 1);
        e2e_stop(&m);
        if (time_wait_on(port, i == 1) == 0) {
            fail_msg("no connection of %s left in TIME_WAIT: the test would prove nothing", again);
        }
        e2e_start(&m, args2);
        assert_int_equal(port_of(&m), port);
        health_ok(&m);
        e2e_stop(&m);
    }
}

/* ---- the JSON request log ------------------------------------------------------------------ */

/* The value of "Request-ID: " in a raw HTTP answer, copied to out[cap]. */
static void raw_request_id(const char *answer, char *out, size_t cap)
{
    const char *p = strstr(answer, "\r\nRequest-ID: ");
    size_t n;
    assert_non_null(p);
    p += 14;
    n = strcspn(p, "\r");
    assert_true(n < cap);
    memcpy(out, p, n);
    out[n] = '\0';
}

/* "YYYY-MM-DDTHH:MM:SS" of a Unix time, UTC. */
static void utc_seconds(time_t t, char out[32])
{
    struct tm tm;
    assert_non_null(gmtime_r(&t, &tm));
    assert_int_equal(strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm), 19);
}

/* rule: each --log-format json line carries "time" (RFC 3339, UTC, milliseconds, when the answer
 * was queued) and "request_id" (the Request-ID header sent, null when none went out); every string
 * is JSON-quoted. src: docs/mock-server.md#request-log */
static void test_log_json_time_and_request_id(void **state)
{
    (void)state;
    const char *args[] = {"--log-format", "json", NULL};
    char log[400], sent_id[128], lo[32], hi[32], answer[4096];
    struct e2e_mock m;
    struct e2e_resp r;
    FILE *f;
    char line[2048];
    size_t nlines = 0;
    bool seen[4] = {false, false, false, false};
    time_t t0 = time(NULL), t1;

    snprintf(log, sizeof log, "%s", tmp_path("json.log"));
    e2e_start_logged(&m, args, log);
    /* 1: a signed 204 and its Request-ID. */
    terminate(&m, "oLogJson", &r);
    assert_int_equal(r.status, 204);
    assert_non_null(e2e_header(&r, "Request-ID"));
    snprintf(sent_id, sizeof sent_id, "%s", e2e_header(&r, "Request-ID"));
    e2e_resp_free(&r);
    /* 2: an answer without Request-ID (scripted), 3: a dropped connection. */
    load_rules(&m,
               "[{\"match\":{\"openid\":\"oLogOmit\"},\"times\":1,"
               "\"action\":{\"omit_header\":\"Request-ID\"}},"
               "{\"match\":{\"openid\":\"oLogDrop\"},\"times\":1,\"action\":{\"drop\":true}}]",
               2);
    terminate(&m, "oLogOmit", &r);
    assert_int_equal(r.status, 204);
    assert_null(e2e_header(&r, "Request-ID"));
    e2e_resp_free(&r);
    terminate(&m, "oLogDrop", &r);
    assert_int_equal(r.status, 0);
    e2e_resp_free(&r);
    /* 4: a method and a path with a double quote stay inside their JSON strings. */
    raw_request(&m, false, "G\"T /odd\"path HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                answer, sizeof answer);
    raw_request_id(answer, line, sizeof line);
    e2e_stop(&m);
    t1 = time(NULL);
    utc_seconds(t0, lo);
    utc_seconds(t1, hi);

    f = fopen(log, "r");
    assert_non_null(f);
    while (fgets(line, sizeof line, f) != NULL) {
        const char *end = NULL;
        cJSON *o;
        const cJSON *rid;
        const char *path, *when;
        if (line[0] != '{') {
            continue; /* "wxpay-mock: signal 15, ..." */
        }
        nlines++;
        o = cJSON_ParseWithLengthOpts(line, strlen(line), &end, 0);
        if (o == NULL || strcmp(end, "\n") != 0) {
            fail_msg("not one JSON object per line: %s", line);
        }
        when = str_member(o, "time");
        /* 2026-12-04T16:57:43.099Z: fixed width, so it sorts as text. */
        if (strlen(when) != 24 || when[10] != 'T' || when[19] != '.' || when[23] != 'Z' ||
            strspn(when + 20, "0123456789") != 3 || strncmp(when, lo, 19) < 0 ||
            strncmp(when, hi, 19) > 0) {
            fail_msg("time \"%s\" is not RFC 3339 UTC with ms between %s and %s", when, lo, hi);
        }
        rid = member(o, "request_id");
        path = str_member(o, "path");
        if (strcmp(path, PATH_OF("oLogJson")) == 0) {
            assert_string_equal(rid->valuestring, sent_id);
            assert_int_equal(num_member(o, "status"), 204);
            seen[0] = true;
        } else if (strcmp(path, PATH_OF("oLogOmit")) == 0) {
            assert_true(cJSON_IsNull(rid));
            seen[1] = true;
        } else if (strcmp(path, PATH_OF("oLogDrop")) == 0) {
            assert_true(cJSON_IsNull(rid));
            assert_int_equal(num_member(o, "status"), 0);
            seen[2] = true;
        } else if (strcmp(path, "/odd\"path") == 0) {
            char want[128];
            assert_string_equal(str_member(o, "method"), "G\"T");
            raw_request_id(answer, want, sizeof want);
            assert_string_equal(rid->valuestring, want);
            seen[3] = true;
        } else {
            assert_true(cJSON_IsString(rid)); /* the admin call that loaded the rules */
        }
        cJSON_Delete(o);
    }
    fclose(f);
    unlink(log);
    assert_int_equal(nlines, 5);
    for (size_t i = 0; i < 4; i++) {
        if (!seen[i]) {
            fail_msg("log line %zu missing", i + 1);
        }
    }
}

static int setup_tmp(void **state)
{
    (void)state;
    if (tmpdir[0] == '\0') {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/wxpay-e2e-scen-XXXXXX");
        assert_non_null(mkdtemp(tmpdir));
    }
    return 0;
}

int main(void)
{
    const struct CMUnitTest shared[] = {
        cmocka_unit_test(test_scen_file_respond_429_unsigned),
        cmocka_unit_test(test_scen_file_respond_500_unsigned),
        cmocka_unit_test(test_scen_admin_respond_429_and_500),
        cmocka_unit_test(test_scen_respond_leaves_state_unchanged),
        cmocka_unit_test(test_scen_delay),
        cmocka_unit_test(test_scen_drop),
        cmocka_unit_test(test_scen_body_on_204),
        cmocka_unit_test(test_scen_malformed_json_signed),
        cmocka_unit_test(test_scen_forged_signature_keeps_state_change),
        cmocka_unit_test(test_scen_probe_signature),
        cmocka_unit_test(test_scen_unknown_serial),
        cmocka_unit_test(test_scen_timestamp_offset),
        cmocka_unit_test(test_scen_timestamp_text),
        cmocka_unit_test(test_scen_omit_header),
        cmocka_unit_test(test_scen_omit_request_id),
        cmocka_unit_test(test_scen_sign_over),
        cmocka_unit_test(test_scen_match_mchid),
        cmocka_unit_test(test_scen_match_body_field),
        cmocka_unit_test(test_scen_match_headers_present_absent),
        cmocka_unit_test(test_scen_match_nth_then_expires),
        cmocka_unit_test(test_scen_times_expiry),
        cmocka_unit_test(test_scen_first_rule_wins),
        cmocka_unit_test(test_admin_health),
        cmocka_unit_test(test_admin_journal_and_filters),
        cmocka_unit_test(test_admin_state_get_put),
        cmocka_unit_test(test_admin_state_put_back_large_dump_bug),
        cmocka_unit_test(test_admin_bad_input_then_healthy),
        cmocka_unit_test(test_admin_reset),
    };
    const struct CMUnitTest own[] = {
        cmocka_unit_test(test_scen_probability_seed_is_reproducible),
        cmocka_unit_test(test_sign_errors_flag),
        cmocka_unit_test(test_admin_token),
        cmocka_unit_test(test_admin_token_cut_by_nul_and_413_body_len),
        cmocka_unit_test(test_config_unknown_openid_not_found),
        cmocka_unit_test(test_sigterm_answers_delayed_requests_thread_per_connection),
        cmocka_unit_test(test_sigterm_answers_delayed_requests_thread_pool),
        cmocka_unit_test(test_connection_cap_thread_per_connection),
        cmocka_unit_test(test_connection_cap_thread_pool),
        cmocka_unit_test(test_connection_timeout_flag),
        cmocka_unit_test(test_startup_line_equals_ready_file),
        cmocka_unit_test(test_startup_usage_and_config_errors),
        cmocka_unit_test(test_startup_port_in_use_exits_1),
        cmocka_unit_test(test_startup_restart_on_same_port),
        cmocka_unit_test(test_log_json_time_and_request_id),
    };
    int rc;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cmocka_run_group_tests_name("shared mock", shared, start_with_file, stop_main);
    rc += cmocka_run_group_tests_name("own mocks", own, setup_tmp, NULL);
    rmdir(tmpdir);
    curl_global_cleanup();
    return rc;
}
