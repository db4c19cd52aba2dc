/* SPDX-License-Identifier: MIT */
/* e2e.c: see e2e.h. */
#include "e2e.h"

#include <curl/curl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "wxp/authz.h"
#include "wxp/envelope.h"
#include "wxp/mem.h"
#include "wxp/nonce.h"
#include "wxp/verify.h"

void e2e_child_setup(void)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
}

static void start(struct e2e_mock *m, const char *const *args, const char *log_path);

void e2e_start(struct e2e_mock *m, const char *const *args)
{
    start(m, args, NULL);
}

void e2e_start_logged(struct e2e_mock *m, const char *const *args, const char *log_path)
{
    start(m, args, log_path);
}

static void start(struct e2e_mock *m, const char *const *args, const char *log_path)
{
    char ready[300];
    const char *argv[40];
    size_t n = 0;

    memset(m, 0, sizeof *m);
    snprintf(m->dir, sizeof m->dir, "/tmp/wxpay-e2e-XXXXXX");
    assert_non_null(mkdtemp(m->dir));
    snprintf(ready, sizeof ready, "%s/ready", m->dir);
    argv[n++] = WXPAY_MOCK_BIN;
    argv[n++] = "--listen";
    argv[n++] = "127.0.0.1:0";
    argv[n++] = "--ready-file";
    argv[n++] = ready;
    if (log_path == NULL) {
        argv[n++] = "--quiet";
    }
    for (size_t i = 0; args != NULL && args[i] != NULL && n < 38; i++) {
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    m->pid = fork();
    assert_true(m->pid >= 0);
    if (m->pid == 0) {
        e2e_child_setup();
        if (freopen("/dev/null", "w", stdout) == NULL ||
            (log_path != NULL && freopen(log_path, "w", stderr) == NULL)) {
            _exit(127);
        }
        execv(argv[0], (char *const *)(void *)argv);
        _exit(127);
    }
    /* Wait for the ready file (written atomically after bind), up to 10 s. */
    for (int i = 0; i < 1000; i++) {
        FILE *f = fopen(ready, "r");
        int status;
        if (f != NULL) {
            char *ok = fgets(m->url, sizeof m->url, f);
            fclose(f);
            assert_non_null(ok);
            m->url[strcspn(m->url, "\n")] = '\0';
            unlink(ready);
            return;
        }
        if (waitpid(m->pid, &status, WNOHANG) == m->pid) {
            rmdir(m->dir);
            fail_msg("wxpay-mock exited before it was ready (status %d)", status);
        }
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    kill(m->pid, SIGKILL);
    fail_msg("wxpay-mock did not become ready in 10 s");
}

void e2e_stop(struct e2e_mock *m)
{
    int status = 0;
    kill(m->pid, SIGTERM);
    assert_int_equal(waitpid(m->pid, &status, 0), m->pid);
    rmdir(m->dir);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

const char *e2e_header(const struct e2e_resp *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++) {
        if (strcasecmp(r->names[i], name) == 0) {
            return r->values[i];
        }
    }
    return NULL;
}

void e2e_resp_free(struct e2e_resp *r)
{
    for (size_t i = 0; i < r->nheaders; i++) {
        wxp_free(r->names[i]);
        wxp_free(r->values[i]);
    }
    wxp_buf_free(&r->body);
    r->nheaders = 0;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct e2e_resp *r = ud;
    return wxp_buf_add(&r->body, p, size * n) == WXP_OK ? size * n : 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct e2e_resp *r = ud;
    size_t len = size * n;
    const char *colon = memchr(p, ':', len);
    size_t vs, ve;

    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
        e2e_resp_free(r); /* a new status line (e.g. after 100 Continue) starts over */
        wxp_buf_init(&r->body, 1 << 20);
        return len;
    }
    if (colon == NULL || r->nheaders == E2E_MAX_HEADERS) {
        return len;
    }
    vs = (size_t)(colon - p) + 1;
    while (vs < len && p[vs] == ' ') {
        vs++;
    }
    ve = len;
    while (ve > vs && (p[ve - 1] == '\r' || p[ve - 1] == '\n')) {
        ve--;
    }
    r->names[r->nheaders] = wxp_strndup(p, (size_t)(colon - p));
    r->values[r->nheaders] = wxp_strndup(p + vs, ve - vs);
    r->nheaders++;
    return len;
}

void e2e_send(const struct e2e_mock *m, const char *method, const char *target,
              const char *const *headers, const char *body, size_t body_len, struct e2e_resp *out)
{
    char url[4096];
    CURL *c = curl_easy_init();
    struct curl_slist *list = NULL;

    memset(out, 0, sizeof *out);
    wxp_buf_init(&out->body, 1 << 20);
    assert_non_null(c);
    snprintf(url, sizeof url, "%s%s", m->url, target);
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++) {
        list = curl_slist_append(list, headers[i]);
    }
    list = curl_slist_append(list, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    if (strncmp(m->url, "https:", 6) == 0) {
        /* A mock started with --https serves the fixtures' test server certificate. */
        curl_easy_setopt(c, CURLOPT_CAINFO, t_fixture("tls/test-ca.cert.pem"));
    }
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
    }
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    }
    out->curl_error = (int)curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    curl_slist_free_all(list);
    curl_easy_cleanup(c);
}

#define DEFAULT_OPENID "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"

void e2e_terminate(const struct e2e_mock *m, const struct e2e_req *q, struct e2e_resp *out)
{
    static unsigned counter;
    char target[1024], body[1024], nonce[WXP_NONCE_LEN + 1];
    const char *hdrs[16];
    size_t n = 0;
    struct wxp_buf authz, line;
    struct wxp_key *key;
    struct wxp_signer s;
    struct wxp_err err;

    snprintf(target, sizeof target, "/v3/payscore/permissions/openid/%s/terminate",
             q->openid ? q->openid : DEFAULT_OPENID);
    if (q->body != NULL) {
        snprintf(body, sizeof body, "%s", q->body);
    } else {
        snprintf(body, sizeof body,
                 "{\"service_id\":\"2002000000000558128851361561536\",\"appid\":"
                 "\"wxd678efh567hg6787\",\"reason\":\"e2e %u\"}",
                 ++counter);
    }
    if (q->nonce != NULL) {
        snprintf(nonce, sizeof nonce, "%s", q->nonce);
    } else {
        assert_int_equal(wxp_nonce(nonce, NULL), WXP_OK);
    }
    wxp_buf_init(&authz, 8192);
    wxp_buf_init(&line, 8192);
    if (q->authz != NULL) {
        assert_int_equal(wxp_buf_addstr(&authz, q->authz), WXP_OK);
    } else {
        key = t_private(q->key ? q->key : "keys/test-merchant-a.key.pem");
        s.key = key;
        s.mchid = q->mchid ? q->mchid : T_MCHID_A;
        s.serial_no = q->serial ? q->serial : T_SERIAL_A;
        if (wxp_authz_sign(&authz, &s, wxp_str_c("POST"), wxp_str_c(target), wxp_str_c(body),
                           (int64_t)time(NULL) + q->ts_offset, nonce, &err) != WXP_OK) {
            fail_msg("signing failed: %s", err.msg);
        }
        wxp_key_free(key);
    }
    assert_int_equal(wxp_buf_addf(&line, "Authorization: %s", authz.ptr), WXP_OK);
    hdrs[n++] = line.ptr;
    {
        static const char *const defaults[] = {"Accept: application/json",
                                               "User-Agent: wxpay-harness-e2e/1.0",
                                               "Content-Type: application/json"};
        for (size_t d = 0; d < 3; d++) {
            size_t name_len = strcspn(defaults[d], ":") + 1;
            bool replaced = false;
            for (size_t i = 0; i < 8 && q->extra[i] != NULL; i++) {
                replaced = replaced || strncasecmp(q->extra[i], defaults[d], name_len) == 0;
            }
            if (!replaced) {
                hdrs[n++] = defaults[d];
            }
        }
    }
    for (size_t i = 0; i < 8 && q->extra[i] != NULL; i++) {
        hdrs[n++] = q->extra[i];
    }
    hdrs[n] = NULL;
    e2e_send(m, "POST", target, hdrs, body, strlen(body), out);
    wxp_buf_free(&authz);
    wxp_buf_free(&line);
}

void e2e_call(const struct e2e_mock *m, const char *method, const char *target, const char *body,
              const char *signed_body, const char *const *extra, struct e2e_resp *out)
{
    char nonce[WXP_NONCE_LEN + 1];
    const char *hdrs[16];
    size_t n = 0;
    bool has_ct = false;
    struct wxp_buf authz, line;
    struct wxp_key *key = t_private("keys/test-merchant-a.key.pem");
    struct wxp_signer s = {key, T_MCHID_A, T_SERIAL_A};
    struct wxp_err err;
    const char *covered = signed_body != NULL ? signed_body : body != NULL ? body : "";

    assert_int_equal(wxp_nonce(nonce, NULL), WXP_OK);
    wxp_buf_init(&authz, 8192);
    wxp_buf_init(&line, 8192);
    if (wxp_authz_sign(&authz, &s, wxp_str_c(method), wxp_str_c(target), wxp_str_c(covered),
                       (int64_t)time(NULL), nonce, &err) != WXP_OK) {
        fail_msg("signing failed: %s", err.msg);
    }
    wxp_key_free(key);
    assert_int_equal(wxp_buf_addf(&line, "Authorization: %s", authz.ptr), WXP_OK);
    hdrs[n++] = line.ptr;
    hdrs[n++] = "Accept: application/json";
    hdrs[n++] = "User-Agent: wxpay-harness-e2e/1.0";
    for (size_t i = 0; extra != NULL && extra[i] != NULL && n < 14; i++) {
        has_ct = has_ct || strncasecmp(extra[i], "Content-Type:", 13) == 0;
        hdrs[n++] = extra[i];
    }
    if (body != NULL && !has_ct) {
        hdrs[n++] = "Content-Type: application/json";
    }
    hdrs[n] = NULL;
    e2e_send(m, method, target, hdrs, body, body != NULL ? strlen(body) : 0, out);
    wxp_buf_free(&authz);
    wxp_buf_free(&line);
}

/* Key files are decoded one thread at a time: under valgrind, with other suites running beside
 * it, OpenSSL 3.0.19 once answered "DECODER routines::unsupported" to a PEM public key that
 * several client threads of the SIGTERM tests decoded at the same moment. */
static pthread_mutex_t key_lock = PTHREAD_MUTEX_INITIALIZER;

int e2e_verify(const struct e2e_resp *r)
{
    struct wxp_keystore *ks = wxp_keystore_new();
    struct wxp_resp v;
    struct wxp_resp_policy p = {(int64_t)time(NULL), WXP_SKEW_DEFAULT, true};
    struct wxp_err err;
    struct wxp_key *cert, *pub;
    enum wxp_code rc;

    pthread_mutex_lock(&key_lock);
    cert = t_cert("certs/test-platform.cert.pem");
    pub = t_pubkey("keys/test-platform.pub.pem", T_PUBKEY_ID);
    pthread_mutex_unlock(&key_lock);
    assert_int_equal(wxp_keystore_add(ks, cert, NULL), WXP_OK);
    assert_int_equal(wxp_keystore_add(ks, pub, NULL), WXP_OK);
    v.timestamp = wxp_str_c(e2e_header(r, "Wechatpay-Timestamp"));
    v.nonce = wxp_str_c(e2e_header(r, "Wechatpay-Nonce"));
    v.signature = wxp_str_c(e2e_header(r, "Wechatpay-Signature"));
    v.serial = wxp_str_c(e2e_header(r, "Wechatpay-Serial"));
    v.request_id = wxp_str_c(e2e_header(r, "Request-ID"));
    v.body.ptr = r->body.ptr ? r->body.ptr : "";
    v.body.len = r->body.len;
    rc = wxp_resp_verify(ks, &v, &p, &err);
    wxp_keystore_free(ks);
    return (int)rc;
}

void e2e_assert_error(const struct e2e_resp *r, long status, const char *code, const char *msg)
{
    struct wxp_envelope e;
    struct wxp_err err;

    assert_int_equal(r->curl_error, 0);
    if (r->status != status) {
        fail_msg("status %ld, expected %ld; body: %s", r->status, status, wxp_buf_cstr(&r->body));
    }
    if (wxp_envelope_parse(r->body.ptr, r->body.len, &e, &err) != WXP_OK) {
        fail_msg("not an error envelope (%s): %s", err.msg, wxp_buf_cstr(&r->body));
    }
    assert_string_equal(e.code, code);
    if (msg != NULL && strcmp(e.message, msg) != 0) {
        fail_msg("message \"%s\", expected \"%s\"", e.message, msg);
    }
    wxp_envelope_free(&e);
}
