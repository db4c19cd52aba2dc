/* SPDX-License-Identifier: MIT */
/* test_e2e_load_test.c: the load-test mode (docs/mock-server.md#load-test-mode) over HTTP: one
 * fixed terminate request, byte for byte the same, sent twice. By default the second is refused
 * (a replayed nonce); with --load-test both are signed 204s and the state does not grow; with only
 * unknown_openid "always_authorized" in a config the replay check still refuses it. The mode is
 * said in the log at start, and only then. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "e2e.h"
#include "wxp/authz.h"
#include "wxp/keys.h"
#include "wxp/mem.h"

#define OPENID "oLoadTestFixed01"
#define TARGET "/v3/payscore/permissions/openid/" OPENID "/terminate"
#define BODY                                                                                       \
    "{\"service_id\":\"2002000000000558128851361561536\",\"appid\":\"wxd678efh567hg6787\","        \
    "\"reason\":\"load test\"}"
#define NONCE "LOADTESTLOADTESTLOADTESTLOADTEST"
#define MODE_LINE "wxpay-mock: load-test mode:"

/* The fixed request's Authorization, signed once by merchant A (a static buffer). */
static const char *fixed_authz(void)
{
    static char text[2048];
    struct wxp_buf authz;
    struct wxp_key *key = t_private("keys/test-merchant-a.key.pem");
    struct wxp_signer s = {key, T_MCHID_A, T_SERIAL_A};
    struct wxp_err err;

    wxp_buf_init(&authz, sizeof text - 1);
    if (wxp_authz_sign(&authz, &s, wxp_str_c("POST"), wxp_str_c(TARGET), wxp_str_c(BODY),
                       (int64_t)time(NULL), NONCE, &err) != WXP_OK) {
        fail_msg("signing failed: %s", err.msg);
    }
    snprintf(text, sizeof text, "%s", wxp_buf_cstr(&authz));
    wxp_buf_free(&authz);
    wxp_key_free(key);
    return text;
}

/* Sends the fixed request (the same bytes each time); returns the status, checks that a 204
 * verifies. */
static long send_fixed(const struct e2e_mock *m, const char *authz, struct e2e_resp *r)
{
    struct e2e_req q = {0};

    q.openid = OPENID;
    q.body = BODY;
    q.authz = authz;
    e2e_terminate(m, &q, r);
    assert_int_equal(r->curl_error, 0);
    if (r->status == 204) {
        assert_int_equal(e2e_verify(r), WXP_OK);
    }
    return r->status;
}

/* GET /__admin/state's body (owned; wxp_free). */
static char *state_dump(const struct e2e_mock *m)
{
    struct e2e_resp r;
    char *copy;

    e2e_send(m, "GET", "/__admin/state", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    copy = wxp_strndup(wxp_buf_cstr(&r.body), r.body.len);
    e2e_resp_free(&r);
    return copy;
}

/* The whole log file (owned; wxp_free). */
static char *read_log(const char *path)
{
    char *text = wxp_malloc(65536);
    size_t n;
    FILE *f = fopen(path, "r");

    assert_non_null(text);
    assert_non_null(f);
    n = fread(text, 1, 65535, f);
    fclose(f);
    text[n] = '\0';
    return text;
}

static void log_path(char *path, size_t cap)
{
    int fd;
    snprintf(path, cap, "/tmp/wxpay-e2e-load-XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
}

static void test_e2e_load_test_default_refuses_the_replay(void **state)
{
    (void)state;
    struct e2e_mock m;
    struct e2e_resp r;
    const char *authz = fixed_authz();
    char path[64];
    char *text;

    log_path(path, sizeof path);
    e2e_start_logged(&m, NULL, path);
    text = read_log(path);
    assert_null(strstr(text, MODE_LINE));
    wxp_free(text);
    assert_int_equal(send_fixed(&m, authz, &r), 204);
    e2e_resp_free(&r);
    send_fixed(&m, authz, &r);
    e2e_assert_error(&r, 401, "SIGN_ERROR", NULL);
    e2e_resp_free(&r);
    e2e_stop(&m);
    unlink(path);
}

static void test_e2e_load_test_mode_answers_the_replay(void **state)
{
    (void)state;
    const char *args[] = {"--load-test", NULL};
    struct e2e_mock m;
    struct e2e_resp r;
    const char *authz = fixed_authz();
    char path[64];
    char *before, *after, *text;

    log_path(path, sizeof path);
    e2e_start_logged(&m, args, path);
    text = read_log(path);
    assert_non_null(strstr(text, MODE_LINE));
    assert_non_null(strstr(text, "replay check off"));
    wxp_free(text);
    before = state_dump(&m);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(send_fixed(&m, authz, &r), 204);
        e2e_resp_free(&r);
    }
    after = state_dump(&m);
    assert_string_equal(after, before); /* nothing remembered */
    wxp_free(before);
    wxp_free(after);
    e2e_stop(&m);
    unlink(path);
}

static void test_e2e_load_test_policy_alone_keeps_the_replay_check(void **state)
{
    (void)state;
    char cfg[64], path[64], args_cfg[80];
    const char *args[] = {"--config", args_cfg, NULL};
    struct e2e_mock m;
    struct e2e_resp r;
    struct e2e_req q = {0};
    const char *authz = fixed_authz();
    char *text;
    FILE *f;
    int fd;

    snprintf(cfg, sizeof cfg, "/tmp/wxpay-e2e-load-cfg-XXXXXX");
    fd = mkstemp(cfg);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    fputs("{\"unknown_openid\":\"always_authorized\"}", f);
    fclose(f);
    snprintf(args_cfg, sizeof args_cfg, "%s", cfg);
    log_path(path, sizeof path);
    e2e_start_logged(&m, args, path);
    text = read_log(path);
    assert_non_null(strstr(text, MODE_LINE));
    assert_non_null(strstr(text, "replay check on"));
    wxp_free(text);
    assert_int_equal(send_fixed(&m, authz, &r), 204);
    e2e_resp_free(&r);
    send_fixed(&m, authz, &r);
    e2e_assert_error(&r, 401, "SIGN_ERROR", NULL);
    e2e_resp_free(&r);
    /* A new request (fresh nonce) for the same openid succeeds again. */
    q.openid = OPENID;
    e2e_terminate(&m, &q, &r);
    assert_int_equal(r.status, 204);
    e2e_resp_free(&r);
    e2e_stop(&m);
    unlink(path);
    unlink(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_e2e_load_test_default_refuses_the_replay),
        cmocka_unit_test(test_e2e_load_test_mode_answers_the_replay),
        cmocka_unit_test(test_e2e_load_test_policy_alone_keeps_the_replay_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
