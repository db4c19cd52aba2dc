/* SPDX-License-Identifier: MIT */
/* test_notify_cli.c: `wxpay notify listen` (a child process on 127.0.0.1:0 with a ready file)
 * receives notifications built and signed by the core: what it answers (204; 401 with
 * {"code":"FAIL"}; 405), what it prints (one JSON line per valid one, a duplicate marked; each
 * refusal on stderr), --count and SIGTERM ending it with status 0, --bind refusing a non-loopback
 * address; and `wxpay notify verify` on saved files (curl -D style headers with CRLF and a status
 * line), with its exit statuses 0, 2, 3 and 6. The CLI runs as the built-in TEST merchant (APIv3
 * key of merchant A, TEST platform keys). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "e2e.h"
#include "wxp/buf.h"
#include "wxp/mem.h"
#include "wxp/notify.h"

#define KEY_A "TestOnlyApiV3KeyA1900000109zYxWv"
#define RESOURCE                                                                                   \
    "{\"openid\":\"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o\",\"user_service_status\":\"USER_OPEN_SERVICE\"}"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/wxpay-notify-XXXXXX");
    assert_non_null(mkdtemp(dir));
    unsetenv("WXPAY_CONFIG");
    unsetenv("WXPAY_MCHID");
    unsetenv("WXPAY_PLATFORM_CERT");
    unsetenv("WXPAY_APIV3_KEY_FILE");
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *path(const char *name)
{
    static char p[4][128];
    static unsigned i;
    char *out = p[i++ % 4];
    snprintf(out, sizeof p[0], "%s/%s", dir, name);
    return out;
}

/* A notification: body and the header lines to send ("Name: value"). `signer`: fixture key. */
struct note {
    struct wxp_buf body;
    struct wxp_notify_headers h;
    char lines[6][1200];
    const char *headers[7];
};

static void note_make(struct note *n, const char *id, const char *signer, const char *probe)
{
    struct wxp_notify_spec s;
    struct wxp_key *k = t_private(signer);

    memset(n, 0, sizeof *n);
    memset(&s, 0, sizeof s);
    s.id = id;
    s.event_type = "PAYSCORE.USER_OPEN_SERVICE";
    s.summary = "授权成功";
    s.plaintext = wxp_str_c(RESOURCE);
    wxp_buf_init(&n->body, 64 * 1024);
    assert_int_equal(wxp_notify_build(&s, wxp_str_c(KEY_A), &n->body, NULL), WXP_OK);
    assert_int_equal(wxp_notify_sign(k, T_SERIAL_PLATFORM, (int64_t)time(NULL), NULL,
                                     (struct wxp_str){n->body.ptr, n->body.len}, &n->h, NULL),
                     WXP_OK);
    wxp_key_free(k);
    snprintf(n->lines[0], sizeof n->lines[0], "Wechatpay-Serial: %s", n->h.serial);
    snprintf(n->lines[1], sizeof n->lines[1], "Wechatpay-Signature: %s%s",
             probe != NULL ? probe : "", n->h.signature);
    snprintf(n->lines[2], sizeof n->lines[2], "Wechatpay-Timestamp: %s", n->h.timestamp);
    snprintf(n->lines[3], sizeof n->lines[3], "Wechatpay-Nonce: %s", n->h.nonce);
    snprintf(n->lines[4], sizeof n->lines[4], "Wechatpay-Signature-Type: %s", n->h.signature_type);
    snprintf(n->lines[5], sizeof n->lines[5], "Content-Type: application/json");
    for (size_t i = 0; i < 6; i++) {
        n->headers[i] = n->lines[i];
    }
    n->headers[6] = NULL;
}

/* Runs wxpay with `args` (NULL-terminated, after the program name), stdout and stderr to files. */
static pid_t spawn(const char *const *args, const char *out, const char *err)
{
    const char *argv[24];
    size_t n = 0;
    pid_t pid;

    argv[n++] = WXPAY_CLI_BIN;
    for (size_t i = 0; args[i] != NULL && n < 23; i++) {
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        e2e_child_setup();
        if (freopen(out, "w", stdout) == NULL || freopen(err, "w", stderr) == NULL) {
            _exit(127);
        }
        execv(argv[0], (char *const *)(void *)argv);
        _exit(127);
    }
    return pid;
}

static int wait_exit(pid_t pid)
{
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

/* Waits for the ready file (atomically renamed into place after bind), up to 10 s. */
static void wait_ready(pid_t pid, const char *ready, struct e2e_mock *m)
{
    memset(m, 0, sizeof *m);
    m->pid = pid;
    for (int i = 0; i < 1000; i++) {
        FILE *f = fopen(ready, "r");
        int status;
        struct timespec ts = {0, 10 * 1000000L};
        if (f != NULL) {
            char *ok = fgets(m->url, sizeof m->url, f);
            fclose(f);
            assert_non_null(ok);
            m->url[strcspn(m->url, "\n")] = '\0';
            return;
        }
        if (waitpid(pid, &status, WNOHANG) == pid) {
            fail_msg("wxpay notify listen exited before it was ready (status %d)", status);
        }
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    fail_msg("wxpay notify listen did not become ready in 10 s");
}

static char *slurp(const char *p)
{
    FILE *f = fopen(p, "rb");
    char *buf = calloc(1, 1 << 16);
    size_t n;
    assert_non_null(f);
    assert_non_null(buf);
    n = fread(buf, 1, (1 << 16) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static size_t count_of(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle)) {
        n++;
    }
    return n;
}

static void post(const struct e2e_mock *m, const struct note *n, struct e2e_resp *r)
{
    e2e_send(m, "POST", "/wxpay/notify", n->headers, n->body.ptr, n->body.len, r);
    assert_int_equal(r->curl_error, 0);
}

static void test_notify_listen_answers_and_prints(void **state)
{
    const char *args[] = {"notify",       "listen",  "--port", "0", "--ready-file",
                          path("ready1"), "--count", "2",      NULL};
    struct e2e_mock m;
    struct e2e_resp r;
    struct note good;
    struct note forged;
    struct note probe;
    char *out;
    char *err;
    pid_t pid;
    (void)state;

    pid = spawn(args, path("out1"), path("err1"));
    wait_ready(pid, path("ready1"), &m);
    assert_non_null(strstr(m.url, "http://127.0.0.1:"));
    note_make(&good, "0ff394bd-69f9-58d1-a958-0d1a3205c723", "keys/test-platform.key.pem", NULL);
    note_make(&forged, "forged-1", "keys/test-wrong.key.pem", NULL);
    note_make(&probe, "probe-1", "keys/test-platform.key.pem", "WECHATPAY/SIGNTEST/");

    post(&m, &good, &r);
    assert_int_equal(r.status, 204);
    assert_int_equal(r.body.len, 0);
    e2e_resp_free(&r);

    post(&m, &forged, &r);
    assert_int_equal(r.status, 401);
    assert_string_equal(wxp_buf_cstr(&r.body),
                        "{\"code\":\"FAIL\",\"message\":\"signature verification failed: "
                        "bad_signature\"}");
    e2e_resp_free(&r);

    post(&m, &probe, &r);
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(wxp_buf_cstr(&r.body), "\"code\":\"FAIL\""));
    assert_non_null(strstr(wxp_buf_cstr(&r.body), "probe"));
    e2e_resp_free(&r);

    e2e_send(&m, "GET", "/wxpay/notify", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 405);
    e2e_resp_free(&r);

    /* The same notification again (the platform retries): 204 again, marked; the second valid
     * one ends the listener. */
    post(&m, &good, &r);
    assert_int_equal(r.status, 204);
    e2e_resp_free(&r);
    assert_int_equal(wait_exit(pid), 0);

    out = slurp(path("out1"));
    err = slurp(path("err1"));
    assert_int_equal(count_of(out, "\n"), 2);
    assert_int_equal(count_of(out, "\"id\":\"0ff394bd-69f9-58d1-a958-0d1a3205c723\""), 2);
    assert_int_equal(count_of(out, "\"duplicate\":false"), 1);
    assert_int_equal(count_of(out, "\"duplicate\":true"), 1);
    assert_int_equal(count_of(out, "\"event_type\":\"PAYSCORE.USER_OPEN_SERVICE\""), 2);
    assert_int_equal(count_of(out, "\"resource\":" RESOURCE "}"), 2);
    assert_non_null(strstr(err, "refused (verify/bad_signature)"));
    assert_non_null(strstr(err, "refused (verify/probe)"));
    assert_non_null(strstr(err, "stopped after 2 valid notifications"));
    free(out);
    free(err);
    wxp_buf_free(&good.body);
    wxp_buf_free(&forged.body);
    wxp_buf_free(&probe.body);
}

static void test_notify_listen_stops_on_sigterm_and_guards_bind(void **state)
{
    const char *args[] = {"notify", "listen", "--port", "0", "--ready-file", path("ready2"), NULL};
    const char *remote[] = {"notify", "listen", "--port", "0", "--bind", "0.0.0.0", NULL};
    const char *noport[] = {"notify", "listen", NULL};
    struct e2e_mock m;
    char *err;
    pid_t pid;
    (void)state;

    pid = spawn(args, path("out2"), path("err2"));
    wait_ready(pid, path("ready2"), &m);
    kill(pid, SIGTERM);
    assert_int_equal(wait_exit(pid), 0);
    err = slurp(path("err2"));
    assert_non_null(strstr(err, "stopped after 0 valid notifications"));
    free(err);

    assert_int_equal(wait_exit(spawn(remote, path("out3"), path("err3"))), 2);
    err = slurp(path("err3"));
    assert_non_null(strstr(err, "--allow-remote"));
    free(err);
    assert_int_equal(wait_exit(spawn(noport, path("out4"), path("err4"))), 2);
}

static void write_file(const char *p, const char *text, size_t len)
{
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* Headers as curl -D writes them: a request line first, CRLF line ends, a blank line last. */
static void write_headers(const char *p, const struct note *n, const char *extra)
{
    char text[8192];
    size_t len = (size_t)snprintf(text, sizeof text, "POST /wxpay/notify HTTP/1.1\r\n");
    for (size_t i = 0; n->headers[i] != NULL; i++) {
        len += (size_t)snprintf(text + len, sizeof text - len, "%s\r\n", n->headers[i]);
    }
    len += (size_t)snprintf(text + len, sizeof text - len, "%s\r\n", extra);
    write_file(p, text, len);
}

static void test_notify_verify_exit_statuses(void **state)
{
    char hp[128];
    char bp[128];
    const char *args[] = {"notify", "verify", "--headers", hp, "--body", bp, NULL};
    const char *args_b[] = {"notify", "verify",           "--headers", hp,  "--body",
                            bp,       "--apiv3-key-file", NULL,        NULL};
    char keyb[1024];
    struct note good;
    char *out;
    char *err;
    (void)state;

    snprintf(hp, sizeof hp, "%s", path("h"));
    snprintf(bp, sizeof bp, "%s", path("b"));
    snprintf(keyb, sizeof keyb, "%s", t_fixture("keys/test-merchant-b.apiv3.key"));
    args_b[7] = keyb;
    note_make(&good, "verify-1", "keys/test-platform.key.pem", NULL);
    write_headers(hp, &good, "Request-ID:  08F78BB5AF0610D302A2A1B4F50A9E2A \t");
    write_file(bp, good.body.ptr, good.body.len);
    assert_int_equal(wait_exit(spawn(args, path("out5"), path("err5"))), 0);
    out = slurp(path("out5"));
    assert_non_null(strstr(out, "\"id\":\"verify-1\""));
    assert_non_null(strstr(out, "\"request_id\":\"08F78BB5AF0610D302A2A1B4F50A9E2A\""));
    assert_non_null(strstr(out, "\"resource\":" RESOURCE));
    free(out);

    /* Merchant B's APIv3 key: authentic, but it does not decrypt (6). */
    assert_int_equal(wait_exit(spawn(args_b, path("out6"), path("err6"))), 6);
    err = slurp(path("err6"));
    assert_non_null(strstr(err, "refused (notify/decrypt)"));
    free(err);

    /* One byte of the body changed: forged (3). */
    good.body.ptr[good.body.len - 3] = good.body.ptr[good.body.len - 3] == 'x' ? 'y' : 'x';
    write_file(bp, good.body.ptr, good.body.len);
    assert_int_equal(wait_exit(spawn(args, path("out7"), path("err7"))), 3);
    err = slurp(path("err7"));
    assert_non_null(strstr(err, "refused (verify/bad_signature)"));
    free(err);

    /* A header given twice is a usage error (2); so is a missing file. */
    write_headers(hp, &good, "wechatpay-nonce: again");
    assert_int_equal(wait_exit(spawn(args, path("out8"), path("err8"))), 2);
    err = slurp(path("err8"));
    assert_non_null(strstr(err, "Wechatpay-Nonce appears twice"));
    free(err);
    unlink(hp);
    assert_int_equal(wait_exit(spawn(args, path("out9"), path("err9"))), 2);
    wxp_buf_free(&good.body);
}

/* The independent fixture: signed when it was generated, so stale for a window of 300 s unless
 * younger than that; with --skew 86400 it verifies while it is less than a day old. */
static void test_notify_verify_reads_the_fixture(void **state)
{
    char h[1024];
    char b[1024];
    const char *args[] = {"notify", "verify", "--headers", h, "--body", b, NULL};
    const char *wide[] = {"notify", "verify", "--headers", h, "--body", b, "--skew", "86400", NULL};
    char *headers;
    char *out;
    long long ts;
    long long age;
    (void)state;

    snprintf(h, sizeof h, "%s", t_fixture("notifications/user-open-service.headers"));
    snprintf(b, sizeof b, "%s", t_fixture("notifications/user-open-service.body.json"));
    headers = slurp(h);
    assert_non_null(strstr(headers, "Wechatpay-Timestamp: "));
    ts = strtoll(strstr(headers, "Wechatpay-Timestamp: ") + 21, NULL, 10);
    free(headers);
    age = (long long)time(NULL) - ts;
    assert_int_equal(wait_exit(spawn(args, path("out10"), path("err10"))), age > 300 ? 3 : 0);
    if (age < 86400 - 60) {
        assert_int_equal(wait_exit(spawn(wide, path("out11"), path("err11"))), 0);
        out = slurp(path("out11"));
        assert_non_null(strstr(out, "\"out_request_no\":\"1234323JKHDFE1243252\""));
        free(out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_notify_listen_answers_and_prints),
        cmocka_unit_test(test_notify_listen_stops_on_sigterm_and_guards_bind),
        cmocka_unit_test(test_notify_verify_exit_statuses),
        cmocka_unit_test(test_notify_verify_reads_the_fixture),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
