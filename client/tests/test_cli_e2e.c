/* SPDX-License-Identifier: MIT */
/* test_cli_e2e.c: the `wxpay` command against wxpay-mock: exit codes for each outcome, the
 * readable and --json outputs, -v, configuration from the environment, and the built-in TEST
 * merchant. */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e.h"
#include "wxp/mem.h"

static struct e2e_mock mock;

static char base_env[200];

static int start(void **state)
{
    (void)state;
    e2e_start(&mock, NULL);
    snprintf(base_env, sizeof base_env, "WXPAY_BASE_URL=%s", mock.url);
    return 0;
}

static int stop(void **state)
{
    (void)state;
    e2e_stop(&mock);
    return 0;
}

struct run {
    int status;
    struct wxp_buf out;
    struct wxp_buf err;
};

/* Runs `wxpay` with argv (NULL-terminated) and extra environment ("NAME=value", NULL-terminated),
 * capturing stdout and stderr. The environment starts empty but for PATH and the extras. */
static void run_cli(const char *const *args, const char *const *env, struct run *r)
{
    int po[2], pe[2];
    const char *argv[32];
    const char *envp[32];
    size_t n = 0, m = 0;
    pid_t pid;

    argv[n++] = WXPAY_CLI_BIN;
    for (size_t i = 0; args[i] != NULL && n < 31; i++) {
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    envp[m++] = "PATH=/usr/bin:/bin";
    envp[m++] = "TMPDIR=/tmp";
    for (size_t i = 0; env != NULL && env[i] != NULL && m < 31; i++) {
        envp[m++] = env[i];
    }
    envp[m] = NULL;
    wxp_buf_init(&r->out, 1 << 20);
    wxp_buf_init(&r->err, 1 << 20);
    assert_int_equal(pipe(po), 0);
    assert_int_equal(pipe(pe), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        e2e_child_setup();
        dup2(po[1], 1);
        dup2(pe[1], 2);
        close(po[0]);
        close(pe[0]);
        execve(argv[0], (char *const *)(void *)argv, (char *const *)(void *)envp);
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    /* Outputs are small; read stdout then stderr (each fits the pipe buffer). */
    for (int k = 0; k < 2; k++) {
        int fd = k == 0 ? po[0] : pe[0];
        struct wxp_buf *b = k == 0 ? &r->out : &r->err;
        char chunk[4096];
        ssize_t got;
        while ((got = read(fd, chunk, sizeof chunk)) > 0) {
            assert_int_equal(wxp_buf_add(b, chunk, (size_t)got), WXP_OK);
        }
        close(fd);
    }
    assert_int_equal(waitpid(pid, &r->status, 0), pid);
    assert_true(WIFEXITED(r->status));
    r->status = WEXITSTATUS(r->status);
}

static void run_free(struct run *r)
{
    wxp_buf_free(&r->out);
    wxp_buf_free(&r->err);
}

static const char *const *terminate_args(const char *openid, const char *reason)
{
    static const char *a[16];
    a[0] = "payscore";
    a[1] = "permissions";
    a[2] = "terminate";
    a[3] = "--openid";
    a[4] = openid;
    a[5] = "--service-id";
    a[6] = "500001";
    a[7] = "--appid";
    a[8] = "wxd678efh567hg6787";
    a[9] = "--reason";
    a[10] = reason;
    a[11] = NULL;
    return a;
}

static void test_cli_builtin_test_merchant_against_the_mock(void **state)
{
    (void)state;
    const char *env[] = {base_env, NULL};
    struct run r;
    run_cli(terminate_args("oCli1", "test"), env, &r);
    if (r.status != 0) {
        fail_msg("exit %d; stdout: %s; stderr: %s", r.status, wxp_buf_cstr(&r.out),
                 wxp_buf_cstr(&r.err));
    }
    assert_non_null(strstr(wxp_buf_cstr(&r.out), "204"));
    assert_non_null(strstr(wxp_buf_cstr(&r.out), "valid"));
    assert_non_null(strstr(wxp_buf_cstr(&r.err), "TEST"));
    run_free(&r);
    /* Again: the documented state error, exit 1. */
    run_cli(terminate_args("oCli1", "test"), env, &r);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(wxp_buf_cstr(&r.err), "INVALID_ORDER_STATE"));
    run_free(&r);
}

static void test_cli_json_output_for_each_outcome(void **state)
{
    (void)state;
    const char *env[] = {base_env, NULL};
    const char *args[16];
    const char *const *t = terminate_args("oCliJson", "json");
    struct run r;
    cJSON *root;
    size_t n = 0;
    while (t[n] != NULL) {
        args[n] = t[n];
        n++;
    }
    args[n++] = "--json";
    args[n] = NULL;
    run_cli(args, env, &r);
    assert_int_equal(r.status, 0);
    root = cJSON_Parse(wxp_buf_cstr(&r.out));
    assert_non_null(root);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "ok")));
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(root, "kind")->valuestring, "ok");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(root, "http_status")->valueint, 204);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(root, "signature")->valuestring, "valid");
    cJSON_Delete(root);
    run_free(&r);
    run_cli(args, env, &r);
    assert_int_equal(r.status, 1);
    root = cJSON_Parse(wxp_buf_cstr(&r.out));
    assert_non_null(root);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "ok")));
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(root, "kind")->valuestring, "wechat");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(root, "code")->valuestring,
                        "INVALID_ORDER_STATE");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(root, "signature")->valuestring,
                        "unsigned");
    cJSON_Delete(root);
    run_free(&r);
}

static void test_cli_exit_codes(void **state)
{
    (void)state;
    char unreachable[] = "WXPAY_BASE_URL=http://127.0.0.1:9";
    const char *env[] = {base_env, NULL};
    const char *env_closed[] = {unreachable, NULL};
    char r51[3 * 51 + 1];
    struct run r;
    for (int i = 0; i < 51; i++) {
        memcpy(r51 + 3 * i, "测", 3);
    }
    r51[3 * 51] = '\0';

    run_cli(terminate_args("oCliLocal", r51), env, &r);
    assert_int_equal(r.status, 5);
    assert_non_null(strstr(wxp_buf_cstr(&r.err), "reason"));
    run_free(&r);

    run_cli(terminate_args("oCliDown", "x"), env_closed, &r);
    assert_int_equal(r.status, 4);
    run_free(&r);

    {
        const char *bad[] = {"payscore", "permissions", "terminate", "--openid", "o", NULL};
        run_cli(bad, env, &r);
        assert_int_equal(r.status, 2);
        run_free(&r);
    }
    {
        const char *bad[] = {"frobnicate", NULL};
        run_cli(bad, env, &r);
        assert_int_equal(r.status, 2);
        run_free(&r);
    }
    {
        const char *help[] = {"--help", NULL};
        run_cli(help, env, &r);
        assert_int_equal(r.status, 0);
        assert_non_null(strstr(wxp_buf_cstr(&r.out), "terminate"));
        run_free(&r);
    }
}

static void test_cli_fails_on_forged_answers(void **state)
{
    (void)state;
    const char *env[] = {base_env, NULL};
    const char *h[] = {NULL};
    const char *actions[] = {"{\"signature\":\"forged\"}", "{\"signature\":\"probe\"}",
                             "{\"serial\":\"unknown\"}", "{\"timestamp_offset\":-400}",
                             "{\"omit_header\":\"Wechatpay-Signature\"}"};
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++) {
        char openid[32], rule[256];
        struct e2e_resp a;
        struct run r;
        snprintf(openid, sizeof openid, "oCliForged%zu", i);
        snprintf(rule, sizeof rule, "[{\"match\":{\"openid\":\"%s\"},\"action\":%s}]", openid,
                 actions[i]);
        e2e_send(&mock, "POST", "/__admin/scenarios", h, rule, strlen(rule), &a);
        assert_int_equal(a.status, 201);
        e2e_resp_free(&a);
        run_cli(terminate_args(openid, "forged"), env, &r);
        if (r.status != 3) {
            fail_msg("%s: exit %d, stdout %s, stderr %s", actions[i], r.status,
                     wxp_buf_cstr(&r.out), wxp_buf_cstr(&r.err));
        }
        run_free(&r);
    }
}

static void test_cli_environment_configuration_and_verbose(void **state)
{
    (void)state;
    char key[1100], cert[1100], pcert[1100];
    const char *args[16];
    const char *const *t = terminate_args("oCliEnv", "env");
    struct run r;
    size_t n = 0;
    snprintf(key, sizeof key, "WXPAY_MCH_KEY=%s", t_fixture("keys/test-merchant-a.key.pem"));
    snprintf(cert, sizeof cert, "WXPAY_MCH_CERT=%s", t_fixture("certs/test-merchant-a.cert.pem"));
    snprintf(pcert, sizeof pcert, "WXPAY_PLATFORM_CERT=%s",
             t_fixture("certs/test-platform.cert.pem"));
    const char *env[] = {base_env,
                         "WXPAY_MCHID=1900000109",
                         key,
                         cert,
                         pcert,
                         "WXPAY_PLATFORM_KEY_KIND=certificate",
                         "WXPAY_PLATFORM_SERIAL=" T_SERIAL_PLATFORM,
                         NULL};
    while (t[n] != NULL) {
        args[n] = t[n];
        n++;
    }
    args[n++] = "-v";
    args[n] = NULL;
    run_cli(args, env, &r);
    if (r.status != 0) {
        fail_msg("exit %d; stderr: %s", r.status, wxp_buf_cstr(&r.err));
    }
    /* -v shows the signing string and both sides' headers; no test-merchant note. */
    assert_non_null(
        strstr(wxp_buf_cstr(&r.err), "/v3/payscore/permissions/openid/oCliEnv/terminate"));
    assert_non_null(strstr(wxp_buf_cstr(&r.err), "Wechatpay-Signature"));
    assert_null(strstr(wxp_buf_cstr(&r.err), "built-in TEST"));
    run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_builtin_test_merchant_against_the_mock),
        cmocka_unit_test(test_cli_json_output_for_each_outcome),
        cmocka_unit_test(test_cli_exit_codes),
        cmocka_unit_test(test_cli_fails_on_forged_answers),
        cmocka_unit_test(test_cli_environment_configuration_and_verbose),
    };
    int rc;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cmocka_run_group_tests(tests, start, stop);
    curl_global_cleanup();
    return rc;
}
