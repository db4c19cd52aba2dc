/* SPDX-License-Identifier: MIT */
/* test_cli_e2e.c: the `wxpay` command against wxpay-mock: exit codes for each outcome, the
 * readable and --json outputs, -v, configuration from the environment, and the built-in TEST
 * merchant. */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e.h"
#include "wxp/mem.h"
#include "wxpay/wxpay.h"

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
 * capturing stdout and stderr; `in` (may be NULL) is its stdin, at most a pipe buffer. The
 * environment starts empty but for PATH and the extras. */
static void run_cli_in(const char *const *args, const char *const *env, const char *in,
                       size_t in_len, struct run *r)
{
    int po[2], pe[2], pi[2] = {-1, -1};
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
    if (in != NULL) {
        assert_true(in_len < 60000);
        assert_int_equal(pipe(pi), 0);
    }
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        e2e_child_setup();
        if (in != NULL) {
            dup2(pi[0], 0);
            close(pi[1]);
        }
        dup2(po[1], 1);
        dup2(pe[1], 2);
        close(po[0]);
        close(pe[0]);
        execve(argv[0], (char *const *)(void *)argv, (char *const *)(void *)envp);
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    if (in != NULL) {
        close(pi[0]);
        assert_int_equal(write(pi[1], in, in_len), (ssize_t)in_len);
        close(pi[1]);
    }
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

static void run_cli(const char *const *args, const char *const *env, struct run *r)
{
    run_cli_in(args, env, NULL, 0, r);
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

/* ---- a tampering proxy: one connection, one request, one same-length replacement ---- */

struct proxy {
    int lfd;
    int port;
    int upstream; /* the mock's port */
    const char *from, *to;
    pthread_t th;
    int replaced;    /* read by the test thread after the join */
    char error[128]; /* "" when all went well */
};

static int port_of(const char *url)
{
    const char *colon = strrchr(url, ':');
    return colon != NULL ? (int)strtol(colon + 1, NULL, 10) : 0;
}

static int listen_any(int *port)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 4) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

/* strcasestr is GNU: the first case-insensitive occurrence of `needle`, or NULL. */
static const char *find_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay != '\0'; hay++) {
        if (strncasecmp(hay, needle, n) == 0) {
            return hay;
        }
    }
    return NULL;
}

/* Reads one HTTP message (headers, then Content-Length bytes) into buf; returns its length. */
static size_t read_message(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    for (;;) {
        const char *end;
        ssize_t got;
        if (n > 0) {
            buf[n] = '\0';
            end = strstr(buf, "\r\n\r\n");
            if (end != NULL) {
                const char *cl = find_nocase(buf, "\r\nContent-Length:");
                size_t want = (size_t)(end + 4 - buf);
                if (cl != NULL && cl < end) {
                    want += (size_t)strtoul(cl + 17, NULL, 10);
                }
                if (n >= want) {
                    return want;
                }
            }
        }
        if (n + 1 >= cap) {
            return 0;
        }
        got = read(fd, buf + n, cap - 1 - n);
        if (got <= 0) {
            return 0;
        }
        n += (size_t)got;
    }
}

static void *proxy_main(void *arg)
{
    struct proxy *p = arg;
    static char req[65536], resp[65536];
    struct timeval tv = {10, 0};
    struct sockaddr_in a;
    int cfd, ufd = -1;
    size_t n, m;
    char *at;

    cfd = accept(p->lfd, NULL, NULL);
    if (cfd < 0) {
        snprintf(p->error, sizeof p->error, "accept failed");
        return NULL;
    }
    setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    n = read_message(cfd, req, sizeof req);
    at = n > 0 ? strstr(req, p->from) : NULL;
    if (at == NULL) {
        snprintf(p->error, sizeof p->error, "request not read, or '%s' not in it", p->from);
        goto out;
    }
    memcpy(at, p->to, strlen(p->to));
    p->replaced = 1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((unsigned short)p->upstream);
    ufd = socket(AF_INET, SOCK_STREAM, 0);
    if (ufd < 0 || connect(ufd, (struct sockaddr *)&a, sizeof a) != 0 ||
        write(ufd, req, n) != (ssize_t)n) {
        snprintf(p->error, sizeof p->error, "cannot forward to the mock");
        goto out;
    }
    setsockopt(ufd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    m = read_message(ufd, resp, sizeof resp);
    if (m == 0 || write(cfd, resp, m) != (ssize_t)m) {
        snprintf(p->error, sizeof p->error, "no answer relayed");
    }
out:
    if (ufd >= 0) {
        close(ufd);
    }
    close(cfd);
    return NULL;
}

/* Starts a proxy to the mock that replaces `from` by `to` (same length) in the one request. */
static void proxy_start(struct proxy *p, const char *from, const char *to)
{
    memset(p, 0, sizeof *p);
    assert_int_equal(strlen(from), strlen(to));
    p->from = from;
    p->to = to;
    p->upstream = port_of(mock.url);
    p->lfd = listen_any(&p->port);
    assert_true(p->lfd >= 0);
    assert_int_equal(pthread_create(&p->th, NULL, proxy_main, p), 0);
}

static void proxy_join(struct proxy *p)
{
    assert_int_equal(pthread_join(p->th, NULL), 0);
    close(p->lfd);
    if (p->error[0] != '\0') {
        fail_msg("proxy: %s", p->error);
    }
    assert_int_equal(p->replaced, 1);
}

/* A body or URL changed on its way (a proxy rewriting it): the mock answers SIGN_ERROR, and
 * wxpay shows both strings, escaped, and names the part that differs. */
static void test_cli_sign_error_names_the_tampered_part(void **state)
{
    (void)state;
    const struct {
        int line;
        const char *openid;
        const char *from, *to;
        const char *want;
    } rows[] = {
        {__LINE__, "oTamperUrl", "/oTamperUrl/", "/oTamperUrX/", "most likely: url differs"},
        {__LINE__, "oTamperBody", "\"reason\":\"tamper\"", "\"reason\":\"tampeR\"",
         "most likely: body differs"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct proxy p;
        char base[64];
        const char *env[] = {base, NULL};
        const char *err;
        struct run r;
        proxy_start(&p, rows[i].from, rows[i].to);
        snprintf(base, sizeof base, "WXPAY_BASE_URL=http://127.0.0.1:%d", p.port);
        run_cli(terminate_args(rows[i].openid, "tamper"), env, &r);
        proxy_join(&p);
        err = wxp_buf_cstr(&r.err);
        if (r.status != 1 || strstr(err, "SIGN_ERROR") == NULL ||
            strstr(err, rows[i].want) == NULL || strstr(err, "issue: sign not match") == NULL) {
            fail_msg("row at line %d: exit %d; stderr: %s", rows[i].line, r.status, err);
        }
        /* Both strings, on one line each, with the newlines shown as \n. */
        assert_non_null(strstr(err, "  we signed       ("));
        assert_non_null(strstr(err, "  server verified ("));
        assert_non_null(strstr(err, "\\n{\"service_id\":\"500001\""));
        assert_non_null(strstr(err, rows[i].to));
        run_free(&r);
    }
}

static void test_cli_sign_error_with_the_wrong_key(void **state)
{
    (void)state;
    char key[1100], pcert[1100];
    const char *args[24];
    const char *const *t = terminate_args("oCliWrongKey", "wrong key");
    const char *env[] = {base_env, NULL};
    struct run r;
    cJSON *root, *sc, *differs;
    size_t n = 0;
    snprintf(key, sizeof key, "--mch-key=%s", t_fixture("keys/test-merchant-b.key.pem"));
    snprintf(pcert, sizeof pcert, "--platform-cert=%s", t_fixture("certs/test-platform.cert.pem"));
    args[n++] = "--mchid=" T_MCHID_A;
    args[n++] = "--mch-serial=" T_SERIAL_A;
    args[n++] = key;
    args[n++] = pcert;
    for (size_t i = 0; t[i] != NULL; i++) {
        args[n++] = t[i];
    }
    args[n] = NULL;
    run_cli(args, env, &r);
    assert_int_equal(r.status, 1);
    if (strstr(wxp_buf_cstr(&r.err), "most likely: the server verified exactly the string we "
                                     "signed") == NULL) {
        fail_msg("stderr: %s", wxp_buf_cstr(&r.err));
    }
    run_free(&r);
    /* The same in --json: sign_check with no part differing and both strings. */
    args[n++] = "--json";
    args[n] = NULL;
    run_cli(args, env, &r);
    assert_int_equal(r.status, 1);
    root = cJSON_Parse(wxp_buf_cstr(&r.out));
    assert_non_null(root);
    sc = cJSON_GetObjectItemCaseSensitive(root, "sign_check");
    assert_true(cJSON_IsObject(sc));
    differs = cJSON_GetObjectItemCaseSensitive(sc, "differs");
    assert_true(cJSON_IsArray(differs));
    assert_int_equal(cJSON_GetArraySize(differs), 0);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(sc, "strings_equal")));
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(sc, "issue")->valuestring,
                        "sign not match");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(sc, "signed")->valuestring,
                        cJSON_GetObjectItemCaseSensitive(sc, "server_signed")->valuestring);
    assert_non_null(strstr(cJSON_GetObjectItemCaseSensitive(sc, "signed")->valuestring,
                           "/oCliWrongKey/terminate\n"));
    cJSON_Delete(root);
    run_free(&r);
}

/* A port that nothing listens on: bound on 127.0.0.1:0, noted, closed. */
static int closed_port(void)
{
    int port = 0;
    int fd = listen_any(&port);
    assert_true(fd >= 0);
    close(fd);
    return port;
}

static void test_cli_transport_error_hints_at_the_base_url(void **state)
{
    (void)state;
    char env_url[64], flag[64], want[400], conf[256], conf_env[300];
    const char *args[24];
    const char *const *t = terminate_args("oCliHint", "hint");
    int port = closed_port();
    struct run r;
    size_t n = 0;
    FILE *f;
    cJSON *root;

    snprintf(env_url, sizeof env_url, "WXPAY_BASE_URL=http://127.0.0.1:%d", port);
    {
        const char *env[] = {env_url, NULL};
        run_cli(t, env, &r);
        assert_int_equal(r.status, 4);
        snprintf(want, sizeof want,
                 "hint: the base URL was http://127.0.0.1:%d (from WXPAY_BASE_URL)", port);
        if (strstr(wxp_buf_cstr(&r.err), want) == NULL ||
            strstr(wxp_buf_cstr(&r.err), "is wxpay-mock running there?") == NULL) {
            fail_msg("stderr: %s", wxp_buf_cstr(&r.err));
        }
        run_free(&r);
    }
    /* The flag wins over the environment, and the hint says so. */
    snprintf(flag, sizeof flag, "--base-url=http://127.0.0.1:%d", port);
    args[n++] = flag;
    for (size_t i = 0; t[i] != NULL; i++) {
        args[n++] = t[i];
    }
    args[n] = NULL;
    {
        const char *env[] = {base_env, NULL};
        run_cli(args, env, &r);
        assert_int_equal(r.status, 4);
        snprintf(want, sizeof want, "(from --base-url)");
        assert_non_null(strstr(wxp_buf_cstr(&r.err), want));
        run_free(&r);
    }
    /* From a config file, named; and in --json as "hint". */
    snprintf(conf, sizeof conf, "/tmp/wxpay-cli-hint-%d.json", (int)getpid());
    f = fopen(conf, "w");
    assert_non_null(f);
    fprintf(f, "{\"base_url\":\"http://127.0.0.1:%d\"}\n", port);
    fclose(f);
    snprintf(conf_env, sizeof conf_env, "WXPAY_CONFIG=%s", conf);
    n = 0;
    for (size_t i = 0; t[i] != NULL; i++) {
        args[n++] = t[i];
    }
    args[n++] = "--json";
    args[n] = NULL;
    {
        const char *env[] = {conf_env, NULL};
        run_cli(args, env, &r);
    }
    unlink(conf);
    assert_int_equal(r.status, 4);
    root = cJSON_Parse(wxp_buf_cstr(&r.out));
    assert_non_null(root);
    snprintf(want, sizeof want, "(from \"base_url\" in the config file %s)", conf);
    if (strstr(cJSON_GetObjectItemCaseSensitive(root, "hint")->valuestring, want) == NULL) {
        fail_msg("json: %s", wxp_buf_cstr(&r.out));
    }
    cJSON_Delete(root);
    run_free(&r);
}

/* The journal's body of the one request to `openid`. */
static char *journal_body(const char *openid)
{
    const char *h[] = {NULL};
    char target[256];
    struct e2e_resp j;
    cJSON *root;
    char *body = NULL;
    snprintf(target, sizeof target, "/__admin/requests?path=/v3/payscore/permissions/openid/%s/",
             openid);
    e2e_send(&mock, "GET", target, h, NULL, 0, &j);
    assert_int_equal(j.status, 200);
    root = cJSON_ParseWithLength(j.body.ptr, j.body.len);
    assert_non_null(root);
    assert_int_equal(cJSON_GetArraySize(root), 1);
    body = wxp_strndup(cJSON_GetObjectItemCaseSensitive(root->child, "body")->valuestring,
                       strlen(cJSON_GetObjectItemCaseSensitive(root->child, "body")->valuestring));
    cJSON_Delete(root);
    e2e_resp_free(&j);
    return body;
}

static void test_cli_data_from_a_file_and_stdin(void **state)
{
    (void)state;
    /* CR, LF and a final newline are sent (and signed) as they are. */
    static const char BODY[] = "{\"service_id\":\"500001\",\r\n \"appid\":\"wxd678efh567hg6787\","
                               "\"reason\":\"file\"}\n";
    char file[128], at[140], big[128], atbig[140], nul[128], atnul[140];
    char atlong[1600];
    const char *env[] = {base_env, NULL};
    struct run r;
    char *got;
    FILE *f;

    snprintf(file, sizeof file, "/tmp/wxpay-cli-data-%d.json", (int)getpid());
    snprintf(at, sizeof at, "@%s", file);
    f = fopen(file, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(BODY, 1, sizeof BODY - 1, f), sizeof BODY - 1);
    fclose(f);
    {
        const char *args[] = {
            "request", "POST", "/v3/payscore/permissions/openid/oDataFile/terminate",
            "--data",  at,     NULL};
        run_cli(args, env, &r);
        if (r.status != 0) {
            fail_msg("exit %d: %s", r.status, wxp_buf_cstr(&r.err));
        }
        run_free(&r);
        got = journal_body("oDataFile");
        assert_string_equal(got, BODY);
        wxp_free(got);
    }
    {
        const char *args[] = {
            "request", "POST", "/v3/payscore/permissions/openid/oDataStdin/terminate",
            "--data",  "-",    NULL};
        run_cli_in(args, env, BODY, sizeof BODY - 1, &r);
        if (r.status != 0) {
            fail_msg("exit %d: %s", r.status, wxp_buf_cstr(&r.err));
        }
        run_free(&r);
        got = journal_body("oDataStdin");
        assert_string_equal(got, BODY);
        wxp_free(got);
    }
    unlink(file);

    /* Refused before anything is sent, with the file named: missing, too large, a NUL byte, no
     * file name. */
    snprintf(big, sizeof big, "/tmp/wxpay-cli-big-%d.json", (int)getpid());
    snprintf(atbig, sizeof atbig, "@%s", big);
    f = fopen(big, "wb");
    assert_non_null(f);
    for (size_t i = 0; i < WXPAY_BODY_MAX + 1; i++) {
        fputc(' ', f);
    }
    fclose(f);
    snprintf(nul, sizeof nul, "/tmp/wxpay-cli-nul-%d.json", (int)getpid());
    snprintf(atnul, sizeof atnul, "@%s", nul);
    f = fopen(nul, "wb");
    assert_non_null(f);
    fwrite("{\"a\":\"\0\"}", 1, 9, f);
    fclose(f);
    /* A path longer than a short message has room for: the error still ends with the file name
     * and the reason (a cut from the end lost them). */
    memcpy(atlong, "@/nonexistent/", 14);
    memset(atlong + 14, 'd', 1500);
    snprintf(atlong + 1514, sizeof atlong - 1514, "/wxpay-long-body.json");
    {
        const struct {
            int line;
            const char *data;
            const char *want;
        } rows[] = {
            {__LINE__, "@/nonexistent/wxpay-body.json",
             "cannot read /nonexistent/wxpay-body.json: No such file or directory"},
            {__LINE__, atbig, "larger than 1048576 bytes"},
            {__LINE__, atnul, "byte 6 is NUL"},
            {__LINE__, "@", "needs a file name"},
            {__LINE__, atlong, "dd/wxpay-long-body.json: No such file or directory"},
        };
        for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
            const char *args[] = {"request", "POST", "/v3/x", "--data", rows[i].data, NULL};
            run_cli(args, env, &r);
            if (r.status != 2 || strstr(wxp_buf_cstr(&r.err), rows[i].want) == NULL) {
                fail_msg("row at line %d: exit %d: %s", rows[i].line, r.status,
                         wxp_buf_cstr(&r.err));
            }
            run_free(&r);
        }
    }
    unlink(big);
    unlink(nul);
}

/* ---- the permissions commands and `call` ---------------------------------------------- */

#define APPID "wxd678efh567hg6787"
#define ENTITY                                                                                     \
    "{\"service_id\":\"500001\",\"appid\":\"" APPID "\",\"mchid\":\"1900000109\","                 \
    "\"authorization_code\":\"codeCli1\",\"authorization_state\":\"AVAILABLE\","                   \
    "\"notify_url\":\"https://example.com/n\",\"future_member\":\"x\"}"

static void add_rules(const char *json)
{
    const char *h[] = {NULL};
    struct e2e_resp a;
    e2e_send(&mock, "POST", "/__admin/scenarios", h, json, strlen(json), &a);
    if (a.status != 201) {
        fail_msg("scenario refused (%ld): %s", a.status, wxp_buf_cstr(&a.body));
    }
    e2e_resp_free(&a);
}

/* A rule answering the GET of `path` with ENTITY (signed), plus `more` action members. */
static void answer_entity(const char *path, const char *more)
{
    char rule[1024], lit[512];
    size_t n = 0;
    lit[n++] = '"';
    for (const char *p = ENTITY; *p != '\0'; p++) {
        if (*p == '"') {
            lit[n++] = '\\';
        }
        lit[n++] = *p;
    }
    lit[n++] = '"';
    lit[n] = '\0';
    snprintf(rule, sizeof rule,
             "[{\"match\":{\"method\":\"GET\",\"path\":\"%s\"},\"times\":1,\"action\":{\"body\":"
             "%s%s}}]",
             path, lit, more);
    add_rules(rule);
}

static void test_cli_query_prints_the_fields(void **state)
{
    (void)state;
    const char *env[] = {base_env, NULL};
    const char *by_code[] = {"payscore", "permissions",  "query",  "--authorization-code",
                             "codeCli1", "--service-id", "500001", NULL};
    const char *by_openid[] = {"payscore", "permissions",  "query",  "--openid",
                               "oCliQ",    "--service-id", "500001", "--appid",
                               APPID,      "--json",       NULL};
    const cJSON *fields;
    cJSON *root;
    struct run r;

    answer_entity("/v3/payscore/permissions/authorization-code/codeCli1", "");
    run_cli(by_code, env, &r);
    if (r.status != 0) {
        fail_msg("exit %d: %s", r.status, wxp_buf_cstr(&r.err));
    }
    /* The status line, then the documented fields one per line; no raw body, no unknown member. */
    assert_int_equal(strncmp(wxp_buf_cstr(&r.out), "200 OK  Request-ID=", 19), 0);
    assert_non_null(strstr(wxp_buf_cstr(&r.out), "signature=valid"));
    assert_non_null(strstr(wxp_buf_cstr(&r.out),
                           "\nservice_id=500001\nappid=" APPID "\nmchid=1900000109\n"
                           "authorization_code=codeCli1\nauthorization_state=AVAILABLE\n"
                           "notify_url=https://example.com/n\n"));
    assert_null(strstr(wxp_buf_cstr(&r.out), "future_member"));
    assert_null(strstr(wxp_buf_cstr(&r.out), "{"));
    run_free(&r);

    answer_entity("/v3/payscore/permissions/openid/oCliQ", "");
    run_cli(by_openid, env, &r);
    assert_int_equal(r.status, 0);
    root = cJSON_Parse(wxp_buf_cstr(&r.out));
    assert_non_null(root);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(root, "http_status")->valueint, 200);
    fields = cJSON_GetObjectItemCaseSensitive(root, "fields");
    assert_true(cJSON_IsObject(fields));
    /* notify_url is a field of the by-code query only: unknown here, so ignored. */
    assert_int_equal(cJSON_GetArraySize(fields), 5);
    assert_null(cJSON_GetObjectItemCaseSensitive(fields, "notify_url"));
    assert_string_equal(
        cJSON_GetObjectItemCaseSensitive(fields, "authorization_state")->valuestring, "AVAILABLE");
    assert_null(cJSON_GetObjectItemCaseSensitive(fields, "future_member"));
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(root, "body")->valuestring, ENTITY);
    cJSON_Delete(root);
    run_free(&r);

    /* A tampered body: exit 3 and no fields; an undocumented one: exit 1. */
    answer_entity("/v3/payscore/permissions/authorization-code/codeCli1", ",\"sign_over\":\"{}\"");
    run_cli(by_code, env, &r);
    assert_int_equal(r.status, 3);
    assert_non_null(strstr(wxp_buf_cstr(&r.err), "verification FAILED (bad_signature)"));
    assert_int_equal(r.out.len, 0);
    run_free(&r);
    add_rules("[{\"match\":{\"path\":\"/v3/payscore/permissions/authorization-code/codeCli1\"},"
              "\"times\":1,\"action\":{\"body\":\"{\\\"service_id\\\":\\\"500001\\\"}\"}}]");
    run_cli(by_code, env, &r);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(wxp_buf_cstr(&r.err), "not the documented body"));
    run_free(&r);
    /* The 204 of terminate-by-openid still prints one line and no fields. */
    run_cli(terminate_args("oCliOneLine", "x"), env, &r);
    assert_int_equal(r.status, 0);
    assert_int_equal(strncmp(wxp_buf_cstr(&r.out), "204 No Content", 14), 0);
    assert_int_equal(strchr(wxp_buf_cstr(&r.out), '\n') - wxp_buf_cstr(&r.out) + 1,
                     (long)r.out.len);
    run_free(&r);
}

/* `call` by name, and `call --from-env`: the operation and its parameters from WXPAY_OPERATION
 * and WXPAY_<NAME>, as the conformance runner gives them to a client under test. */
static void test_cli_call_by_name_and_from_env(void **state)
{
    (void)state;
    const char *env[] = {base_env, NULL};
    const char *query[] = {"call",
                           "payscore.permissions.query-by-openid",
                           "appid=" APPID,
                           "openid=oCliCall",
                           "service_id=500001",
                           NULL};
    const char *from_env[] = {"call", "--from-env", NULL};
    const char *env_term[] = {base_env,
                              "WXPAY_OPERATION=payscore.permissions.terminate-by-openid",
                              "WXPAY_OPENID=oCliFromEnv",
                              "WXPAY_SERVICE_ID=500001",
                              "WXPAY_APPID=" APPID,
                              "WXPAY_REASON=from env",
                              "WXPAY_AUTHORIZATION_CODE=notAParameterHere",
                              NULL};
    /* A parameter on the line wins over its variable. */
    const char *override[] = {"call", "--from-env", "openid=oCliFromEnv2", NULL};
    const char *env_query[] = {base_env,
                               "WXPAY_OPERATION=payscore.permissions.query-by-code",
                               "WXPAY_AUTHORIZATION_CODE=codeCli1",
                               "WXPAY_SERVICE_ID=500001",
                               "WXPAY_OPENID=ignored",
                               NULL};
    char *body;
    struct run r;

    answer_entity("/v3/payscore/permissions/openid/oCliCall", "");
    run_cli(query, env, &r);
    if (r.status != 0) {
        fail_msg("exit %d: %s", r.status, wxp_buf_cstr(&r.err));
    }
    assert_non_null(strstr(wxp_buf_cstr(&r.out), "\nauthorization_state=AVAILABLE\n"));
    run_free(&r);

    run_cli(from_env, env_term, &r);
    if (r.status != 0) {
        fail_msg("exit %d: %s", r.status, wxp_buf_cstr(&r.err));
    }
    assert_int_equal(strncmp(wxp_buf_cstr(&r.out), "204 No Content", 14), 0);
    run_free(&r);
    body = journal_body("oCliFromEnv");
    assert_string_equal(body, "{\"service_id\":\"500001\",\"appid\":\"" APPID
                              "\",\"reason\":\"from env\"}");
    wxp_free(body);
    run_cli(override, env_term, &r);
    assert_int_equal(r.status, 0);
    run_free(&r);
    body = journal_body("oCliFromEnv2");
    wxp_free(body);

    answer_entity("/v3/payscore/permissions/authorization-code/codeCli1", "");
    run_cli(from_env, env_query, &r);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(wxp_buf_cstr(&r.out), "\nauthorization_code=codeCli1\n"));
    run_free(&r);
}

static void test_cli_permissions_usage_errors(void **state)
{
    (void)state;
    const char *env[] = {base_env, NULL};
    const char *no_op_env[] = {base_env, "WXPAY_OPENID=o", NULL};
    const struct {
        int line;
        const char *args[12];
        int status;
        const char *needle;
    } rows[] = {
        {__LINE__,
         {"payscore", "permissions", "query", "--openid", "o", "--appid", APPID,
          "--authorization-code", "c", "--service-id", "1", NULL},
         2,
         "not both"},
        {__LINE__,
         {"payscore", "permissions", "query", "--service-id", "1", NULL},
         2,
         "needs --openid (with --appid) or --authorization-code"},
        {__LINE__,
         {"payscore", "permissions", "query", "--authorization-code", "c", "--appid", APPID,
          "--service-id", "1", NULL},
         2,
         "--appid goes with --openid"},
        {__LINE__,
         {"payscore", "permissions", "terminate", "--openid", "o", "--service-id", "1", "--reason",
          "r", NULL},
         2,
         "needs --appid"},
        {__LINE__,
         {"payscore", "permissions", "terminate", "--authorization-code", "c", "--service-id", "1",
          NULL},
         2,
         "needs --reason"},
        {__LINE__,
         {"payscore", "permissions", "query", "--authorization-code", "c", NULL},
         2,
         "needs --service-id"},
        {__LINE__,
         {"payscore", "permissions", "apply", "--service-id", "1", "--appid", APPID, NULL},
         2,
         "needs --authorization-code"},
        {__LINE__,
         {"payscore", "permissions", "apply", "--service-id", "1", "--appid", APPID,
          "--authorization-code", "c", "--reason", "r", NULL},
         2,
         "--reason is an option of 'payscore permissions terminate'"},
        {__LINE__,
         {"payscore", "permissions", "query", "--authorization-code", "c", "--service-id", "1",
          "--notify-url", "u", NULL},
         2,
         "--notify-url is an option of 'payscore permissions apply'"},
        {__LINE__, {"payscore", "permissions", "revoke", NULL}, 2, "the payscore commands are"},
        {__LINE__, {"call", NULL}, 2, "call needs an OPERATION"},
        {__LINE__, {"call", "--from-env", NULL}, 2, "WXPAY_OPERATION is unset"},
        {__LINE__, {"call", "payscore.permissions.nope", NULL}, 2, "unknown operation"},
        {__LINE__, {"call", "payscore.permissions.apply", "appid", NULL}, 2, "NAME=VALUE"},
        {__LINE__, {"call", "payscore.permissions.apply", "=x", NULL}, 2, "NAME=VALUE"},
        {__LINE__,
         {"call", "payscore.permissions.apply", "openid=o", NULL},
         2,
         "openid is not a parameter of payscore.permissions.apply"},
        {__LINE__,
         {"call", "payscore.permissions.apply", "appid=a", "appid=b", NULL},
         2,
         "appid given twice"},
        {__LINE__,
         {"call", "payscore.permissions.query-by-code", "--openid", "o", NULL},
         2,
         "--openid is an option of"},
        /* Values are the library's check: exit 5, nothing sent. */
        {__LINE__,
         {"call", "payscore.permissions.query-by-code", "authorization_code=a b", "service_id=1",
          NULL},
         5,
         "authorization_code"},
        {__LINE__,
         {"call", "payscore.permissions.query-by-code", "service_id=1", NULL},
         5,
         "authorization_code: required"},
        {__LINE__,
         {"payscore", "permissions", "apply", "--service-id", "1", "--appid", APPID,
          "--authorization-code", "c", "--notify-url", "", NULL},
         5,
         "notify_url"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct run r;
        run_cli(rows[i].args, rows[i].line == rows[11].line ? no_op_env : env, &r);
        if (r.status != rows[i].status || strstr(wxp_buf_cstr(&r.err), rows[i].needle) == NULL) {
            fail_msg("row at line %d: exit %d, stderr %s", rows[i].line, r.status,
                     wxp_buf_cstr(&r.err));
        }
        run_free(&r);
    }
}

/* The lifecycle through the command against the mock's own operations: apply -> (admin)
 * user-accept -> query by code -> terminate by code -> query by openid, with the exit status and
 * the printed fields of each. */
static void test_cli_permissions_lifecycle(void **state)
{
    (void)state;
    const char *env[] = {base_env, NULL};
    const char *apply[] = {"payscore",    "permissions", "apply", "--service-id",
                           "500001",      "--appid",     APPID,   "--authorization-code",
                           "codeCliLife", NULL};
    const char *by_code[] = {"payscore",    "permissions",  "query",  "--authorization-code",
                             "codeCliLife", "--service-id", "500001", NULL};
    const char *terminate[] = {
        "payscore",     "permissions", "terminate", "--authorization-code", "codeCliLife",
        "--service-id", "500001",      "--reason",  "cli lifecycle",        NULL};
    const char *by_openid[] = {"--json",   "payscore",     "permissions", "query",   "--openid",
                               "oCliLife", "--service-id", "500001",      "--appid", APPID,
                               NULL};
    const char *h[] = {"Content-Type: application/json", NULL};
    static const char ACCEPT[] = "{\"service_id\":\"500001\",\"openid\":\"oCliLife\","
                                 "\"authorization_code\":\"codeCliLife\"}";
    const cJSON *fields;
    struct e2e_resp a;
    struct run r;
    cJSON *root;

    run_cli(apply, env, &r);
    if (r.status != 0) {
        fail_msg("apply: exit %d: %s", r.status, wxp_buf_cstr(&r.err));
    }
    assert_int_equal(strncmp(wxp_buf_cstr(&r.out), "200 OK", 6), 0);
    assert_non_null(strstr(wxp_buf_cstr(&r.out), "\napply_permissions_token="));
    run_free(&r);
    run_cli(apply, env, &r);
    assert_int_equal(r.status, 1);
    run_free(&r);

    e2e_send(&mock, "POST", "/__admin/payscore/user-accept", h, ACCEPT, strlen(ACCEPT), &a);
    assert_int_equal(a.status, 200);
    e2e_resp_free(&a);
    run_cli(by_code, env, &r);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(wxp_buf_cstr(&r.out), "\nopenid=oCliLife\n"));
    assert_non_null(strstr(wxp_buf_cstr(&r.out), "\nauthorization_state=AVAILABLE\n"));
    run_free(&r);

    run_cli(terminate, env, &r);
    assert_int_equal(r.status, 0);
    assert_int_equal(strncmp(wxp_buf_cstr(&r.out), "204 No Content", 14), 0);
    run_free(&r);
    run_cli(terminate, env, &r);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(wxp_buf_cstr(&r.err), "INVALID_ORDER_STATE"));
    run_free(&r);

    run_cli(by_openid, env, &r);
    assert_int_equal(r.status, 0);
    root = cJSON_Parse(wxp_buf_cstr(&r.out));
    assert_non_null(root);
    fields = cJSON_GetObjectItemCaseSensitive(root, "fields");
    assert_string_equal(
        cJSON_GetObjectItemCaseSensitive(fields, "authorization_state")->valuestring,
        "UNAVAILABLE");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(fields, "authorization_code")->valuestring,
                        "codeCliLife");
    assert_true(
        cJSON_IsString(cJSON_GetObjectItemCaseSensitive(fields, "cancel_authorization_time")));
    cJSON_Delete(root);
    run_free(&r);
}

/* --help of each command names its operations with the method and path from the table. */
static void test_cli_help_lists_the_operations(void **state)
{
    (void)state;
    const char *env[] = {base_env, NULL};
    const struct {
        int line;
        const char *args[6];
        const char *needles[3];
    } rows[] = {
        {__LINE__,
         {"--help", NULL},
         {"wxpay payscore permissions apply", "wxpay call OPERATION",
          "GET /v3/payscore/permissions/openid/{openid} (payscore.permissions.query-by-openid)"}},
        {__LINE__,
         {"payscore", "permissions", "query", "--help", NULL},
         {"GET /v3/payscore/permissions/authorization-code/{authorization_code}", "--openid",
          "--authorization-code"}},
        {__LINE__,
         {"help", "call", NULL},
         {"payscore.permissions.terminate-by-code\n      POST "
          "/v3/payscore/permissions/authorization-code/{authorization_code}/terminate -> 204",
          "notify_url (body, 1..255 bytes)", "--from-env"}},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct run r;
        run_cli(rows[i].args, env, &r);
        assert_int_equal(r.status, 0);
        for (size_t j = 0; j < 3; j++) {
            if (strstr(wxp_buf_cstr(&r.out), rows[i].needles[j]) == NULL) {
                fail_msg("row at line %d: no '%s' in %s", rows[i].line, rows[i].needles[j],
                         wxp_buf_cstr(&r.out));
            }
        }
        run_free(&r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_builtin_test_merchant_against_the_mock),
        cmocka_unit_test(test_cli_json_output_for_each_outcome),
        cmocka_unit_test(test_cli_exit_codes),
        cmocka_unit_test(test_cli_fails_on_forged_answers),
        cmocka_unit_test(test_cli_environment_configuration_and_verbose),
        cmocka_unit_test(test_cli_sign_error_names_the_tampered_part),
        cmocka_unit_test(test_cli_sign_error_with_the_wrong_key),
        cmocka_unit_test(test_cli_transport_error_hints_at_the_base_url),
        cmocka_unit_test(test_cli_data_from_a_file_and_stdin),
        cmocka_unit_test(test_cli_query_prints_the_fields),
        cmocka_unit_test(test_cli_call_by_name_and_from_env),
        cmocka_unit_test(test_cli_permissions_usage_errors),
        cmocka_unit_test(test_cli_help_lists_the_operations),
        cmocka_unit_test(test_cli_permissions_lifecycle),
    };
    int rc;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cmocka_run_group_tests(tests, start, stop);
    curl_global_cleanup();
    return rc;
}
