/* SPDX-License-Identifier: MIT */
/* test_certs.c: wxpay_certificates and `wxpay certificates` against a stub platform in this
 * process (libmicrohttpd on 127.0.0.1:0) that answers GET /v3/certificates with a list it builds
 * from the fixtures (encrypted with the core's AEAD, signed with a fixture platform key): a
 * verified download with a configured certificate, trust on first use without one, a rotation
 * (the answer signed by the next certificate: a client pinned to the old one refuses it, and
 * trusts it once it has the certificate it downloaded during the overlap), a wrong APIv3 key, and
 * the public-key-only 404; "auto certificate" mode; then the same against wxpay-mock itself
 * (a rotation through POST /__admin/platform/rotate, a public-key-only platform). */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "e2e.h"
#include "wxp/aead.h"
#include "wxp/buf.h"
#include "wxp/certlist.h"
#include "wxp/mem.h"
#include "wxp/notify.h"
#include "wxp/sign.h"
#include "wxp/signmsg.h"
#include "wxpay/wxpay.h"

#define KEY_A "TestOnlyApiV3KeyA1900000109zYxWv"
#define KEY_B "TestOnlyApiV3KeyB1900000110qRsTu"
#define SERIAL_NEXT "6E5D4C3B2A19080F1E2D3C4B5A69788796A5B4C3"
#define NOT_EXISTS                                                                                                     \
    "{\"code\":\"RESOURCE_NOT_EXISTS\",\"message\":\"无可用的平台证书，请在商户平台-API安全申请使" \
    "用微信支付公钥\"}"

/* What the stub answers; set by the test thread between calls (each call is synchronous). */
struct stub {
    struct MHD_Daemon *d;
    char url[64];
    struct wxp_buf body;
    struct wxp_key *signer;      /* platform private key, id = its certificate serial */
    struct wxp_key *list_signer; /* signs the list instead of `signer` when set */
    unsigned status;
    unsigned hits;
};

static struct stub stub;

static enum MHD_Result answer(void *cls, struct MHD_Connection *con, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_len, void **req)
{
    struct stub *s = cls;
    struct MHD_Response *resp;
    struct wxp_buf msg;
    char ts[24];
    char sig[WXP_SIG_B64_MAX];
    size_t siglen = 0;
    enum MHD_Result rc;
    static const char NONCE[] = "5K8264ILTKCH16CQ2502SI8ZNMTM67VS";
    (void)version;
    (void)upload;

    if (*req == NULL) {
        *req = s;
        return MHD_YES;
    }
    if (*upload_len != 0) { /* a body (the terminate's): read and ignored */
        *upload_len = 0;
        return MHD_YES;
    }
    s->hits++;
    /* Any other request: a signed 204, as a terminate gets. */
    bool list = strcmp(method, "GET") == 0 && strcmp(url, "/v3/certificates") == 0;
    struct wxp_key *by = list && s->list_signer != NULL ? s->list_signer : s->signer;
    struct wxp_str body = list ? (struct wxp_str){s->body.ptr, s->body.len} : WXP_STR_LIT("");
    snprintf(ts, sizeof ts, "%lld", (long long)time(NULL));
    wxp_buf_init(&msg, WXP_SIGNMSG_MAX);
    if (wxp_signmsg_response(&msg, wxp_str_c(ts), wxp_str_c(NONCE), body, NULL) != WXP_OK ||
        wxp_sign(by, msg.ptr, msg.len, sig, sizeof sig, &siglen, NULL) != WXP_OK) {
        wxp_buf_free(&msg);
        return MHD_NO;
    }
    wxp_buf_free(&msg);
    resp = MHD_create_response_from_buffer(body.len, (void *)(uintptr_t)body.ptr,
                                           MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(resp, "Content-Type", "application/json");
    MHD_add_response_header(resp, "Request-ID", "stub-request-1");
    MHD_add_response_header(resp, "Wechatpay-Timestamp", ts);
    MHD_add_response_header(resp, "Wechatpay-Nonce", NONCE);
    MHD_add_response_header(resp, "Wechatpay-Signature", sig);
    MHD_add_response_header(resp, "Wechatpay-Serial", wxp_key_id(by));
    rc = MHD_queue_response(con, list ? s->status : MHD_HTTP_NO_CONTENT, resp);
    MHD_destroy_response(resp);
    return rc;
}

/* The platform's private key `key`, named by certificate `cert`'s serial. */
static struct wxp_key *signer(const char *key, const char *cert)
{
    struct wxp_key *k = t_private(key);
    struct wxp_key *c = t_cert(cert);
    assert_int_equal(wxp_key_set_id(k, wxp_key_id(c), NULL), WXP_OK);
    wxp_key_free(c);
    return k;
}

/* A list of `n` certificates of {file, effective, expire}, encrypted under `apiv3`. */
static void set_list(const char *apiv3, const char *const (*certs)[3], size_t n)
{
    wxp_buf_reset(&stub.body);
    assert_int_equal(wxp_buf_addstr(&stub.body, "{\"data\":["), WXP_OK);
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        char *pem = t_read(certs[i][0], &len);
        struct wxp_key *k = t_cert(certs[i][0]);
        char nonce[32];
        struct wxp_aead_params p;
        struct wxp_buf ct;

        snprintf(nonce, sizeof nonce, "n0nce00000%02u", (unsigned)(i % 100));
        p.key = wxp_str_c(apiv3);
        p.nonce = wxp_str_c(nonce);
        p.aad = wxp_str_c("certificate");
        wxp_buf_init(&ct, WXP_AEAD_CIPHERTEXT_MAX);
        assert_int_equal(wxp_aead_encrypt(&p, pem, len, &ct, NULL), WXP_OK);
        assert_int_equal(wxp_buf_addf(&stub.body,
                                      "%s{\"serial_no\":\"%s\",\"effective_time\":\"%s\","
                                      "\"expire_time\":\"%s\",\"encrypt_certificate\":{"
                                      "\"algorithm\":\"AEAD_AES_256_GCM\",\"nonce\":\"%s\","
                                      "\"associated_data\":\"certificate\",\"ciphertext\":\"%s\"}}",
                                      i > 0 ? "," : "", wxp_key_id(k), certs[i][1], certs[i][2],
                                      nonce, wxp_buf_cstr(&ct)),
                         WXP_OK);
        wxp_buf_free(&ct);
        wxp_key_free(k);
        wxp_free(pem);
    }
    assert_int_equal(wxp_buf_addstr(&stub.body, "]}"), WXP_OK);
    stub.status = 200;
}

static const char *const CUR[3] = {"certs/test-platform.cert.pem", "2026-11-25T22:56:04+08:00",
                                   "2126-11-01T22:56:04+08:00"};
static const char *const NEXT[3] = {"certs/test-platform-next.cert.pem",
                                    "2026-12-01T00:00:00+08:00", "2126-12-01T00:00:00+08:00"};

static int start(void **state)
{
    struct sockaddr_in sa;
    const union MHD_DaemonInfo *info;
    (void)state;

    memset(&stub, 0, sizeof stub);
    wxp_buf_init(&stub.body, 1 << 20);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    stub.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, answer, &stub,
                              MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_END);
    assert_non_null(stub.d);
    info = MHD_get_daemon_info(stub.d, MHD_DAEMON_INFO_BIND_PORT);
    assert_non_null(info);
    snprintf(stub.url, sizeof stub.url, "http://127.0.0.1:%u", (unsigned)info->port);
    return 0;
}

static int stop(void **state)
{
    (void)state;
    MHD_stop_daemon(stub.d);
    wxp_key_free(stub.signer);
    wxp_key_free(stub.list_signer);
    wxp_buf_free(&stub.body);
    return 0;
}

static void use_signer(const char *key, const char *cert)
{
    wxp_key_free(stub.signer);
    stub.signer = signer(key, cert);
}

/* A client of merchant A with these platform certificate files (may be none) and APIv3 key. */
static struct wxpay_client *client(const char *const *pcerts, const char *apiv3)
{
    static char key[1024];
    static const char *none[] = {NULL};
    struct wxpay_config cfg;
    struct wxpay_client *c = NULL;
    struct wxpay_result r;

    snprintf(key, sizeof key, "%s", t_fixture("keys/test-merchant-a.key.pem"));
    memset(&cfg, 0, sizeof cfg);
    cfg.base_url = stub.url;
    cfg.mchid = T_MCHID_A;
    cfg.mch_serial = T_SERIAL_A;
    cfg.mch_key_file = key;
    cfg.platform_cert_files = pcerts != NULL ? pcerts : none;
    cfg.apiv3_key = apiv3;
    if (wxpay_client_new(&cfg, &c, &r) != WXPAY_OK) {
        fail_msg("client: %s", r.error);
    }
    wxpay_result_free(&r);
    return c;
}

static void test_certs_configured_certificate_verifies_the_download(void **state)
{
    const char *const list[][3] = {{CUR[0], CUR[1], CUR[2]}, {NEXT[0], NEXT[1], NEXT[2]}};
    char cur[1024];
    const char *pcerts[] = {cur, NULL};
    struct wxpay_client *c;
    struct wxpay_certs certs;
    struct wxpay_result r;
    size_t len = 0;
    char *want;
    (void)state;

    snprintf(cur, sizeof cur, "%s", t_fixture(CUR[0]));
    use_signer("keys/test-platform.key.pem", CUR[0]);
    set_list(KEY_A, list, 2);
    c = client(pcerts, KEY_A);
    if (wxpay_certificates(c, &certs, &r) != WXPAY_OK) {
        fail_msg("certificates: %s", r.error);
    }
    assert_int_equal(r.signature, WXPAY_SIG_VALID);
    assert_int_equal(certs.trust_on_first_use, 0);
    assert_int_equal(certs.count, 2);
    assert_string_equal(certs.cert[0].serial_no, T_SERIAL_PLATFORM);
    assert_string_equal(certs.cert[1].serial_no, SERIAL_NEXT);
    assert_string_equal(certs.cert[1].effective_time, NEXT[1]);
    want = t_read(NEXT[0], &len);
    assert_int_equal(certs.cert[1].pem_len, len);
    assert_memory_equal(certs.cert[1].pem, want, len);
    wxp_free(want);
    wxpay_certs_free(&certs);
    wxpay_result_free(&r);
    wxpay_client_free(c);
}

/* No platform key configured: verified with the listed certificate the answer names. A list
 * that does not contain the signer's certificate cannot be trusted even then. */
static void test_certs_first_download_is_trust_on_first_use(void **state)
{
    const char *const both[][3] = {{CUR[0], CUR[1], CUR[2]}, {NEXT[0], NEXT[1], NEXT[2]}};
    const char *const only_next[][3] = {{NEXT[0], NEXT[1], NEXT[2]}};
    struct wxpay_client *c;
    struct wxpay_certs certs;
    struct wxpay_result r;
    (void)state;

    use_signer("keys/test-platform.key.pem", CUR[0]);
    set_list(KEY_A, both, 2);
    c = client(NULL, KEY_A);
    if (wxpay_certificates(c, &certs, &r) != WXPAY_OK) {
        fail_msg("certificates: %s", r.error);
    }
    assert_int_equal(certs.trust_on_first_use, 1);
    assert_int_equal(certs.count, 2);
    wxpay_certs_free(&certs);
    wxpay_result_free(&r);

    set_list(KEY_A, only_next, 1);
    assert_int_equal(wxpay_certificates(c, &certs, &r), WXPAY_ERR_VERIFY);
    assert_int_equal(r.verify_failure, WXPAY_VF_UNKNOWN_SERIAL);
    assert_int_equal(certs.count, 0);
    wxpay_certs_free(&certs);
    wxpay_result_free(&r);
    wxpay_client_free(c);
}

/* A wrong APIv3 key is named as such, with a configured certificate and without one. */
static void test_certs_wrong_apiv3_key_is_named(void **state)
{
    const char *const list[][3] = {{CUR[0], CUR[1], CUR[2]}};
    char cur[1024];
    const char *pcerts[] = {cur, NULL};
    struct wxpay_client *c;
    struct wxpay_certs certs;
    struct wxpay_result r;
    (void)state;

    snprintf(cur, sizeof cur, "%s", t_fixture(CUR[0]));
    use_signer("keys/test-platform.key.pem", CUR[0]);
    set_list(KEY_B, list, 1);
    for (int pinned = 0; pinned < 2; pinned++) {
        c = client(pinned ? pcerts : NULL, KEY_A);
        assert_int_equal(wxpay_certificates(c, &certs, &r), WXPAY_ERR_VERIFY);
        if (strstr(r.error, "wrong APIv3 key") == NULL || strstr(r.error, KEY_A) != NULL) {
            fail_msg("pinned=%d: %s", pinned, r.error);
        }
        assert_int_equal(certs.count, 0);
        wxpay_certs_free(&certs);
        wxpay_result_free(&r);
        wxpay_client_free(c);
    }
}

/* Rotation: during the overlap the list holds both certificates, signed by the current one; after
 * the switch the answer is signed by the next one. A client pinned to the old certificate refuses
 * it (unknown serial); with the certificate it downloaded during the overlap it verifies. */
static void test_certs_client_lives_through_a_rotation(void **state)
{
    const char *const both[][3] = {{CUR[0], CUR[1], CUR[2]}, {NEXT[0], NEXT[1], NEXT[2]}};
    char cur[1024];
    char dir[] = "/tmp/wxpay-certs-XXXXXX";
    char next_file[1100];
    const char *old_only[] = {cur, NULL};
    const char *renewed[] = {cur, next_file, NULL};
    struct wxpay_client *c;
    struct wxpay_certs certs;
    struct wxpay_result r;
    FILE *fp;
    (void)state;

    snprintf(cur, sizeof cur, "%s", t_fixture(CUR[0]));
    assert_non_null(mkdtemp(dir));
    use_signer("keys/test-platform.key.pem", CUR[0]);
    set_list(KEY_A, both, 2);
    c = client(old_only, KEY_A);
    assert_int_equal(wxpay_certificates(c, &certs, &r), WXPAY_OK);
    assert_int_equal(certs.count, 2);
    snprintf(next_file, sizeof next_file, "%s/wechatpay_%s.pem", dir, certs.cert[1].serial_no);
    fp = fopen(next_file, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(certs.cert[1].pem, 1, certs.cert[1].pem_len, fp),
                     certs.cert[1].pem_len);
    assert_int_equal(fclose(fp), 0);
    wxpay_certs_free(&certs);
    wxpay_result_free(&r);

    /* The switch. */
    use_signer("keys/test-platform-next.key.pem", NEXT[0]);
    assert_int_equal(wxpay_certificates(c, &certs, &r), WXPAY_ERR_VERIFY);
    assert_int_equal(r.verify_failure, WXPAY_VF_UNKNOWN_SERIAL);
    wxpay_certs_free(&certs);
    wxpay_result_free(&r);
    wxpay_client_free(c);

    c = client(renewed, KEY_A);
    assert_int_equal(wxpay_certificates(c, &certs, &r), WXPAY_OK);
    assert_int_equal(certs.trust_on_first_use, 0);
    wxpay_certs_free(&certs);
    wxpay_result_free(&r);
    wxpay_client_free(c);
    unlink(next_file);
    rmdir(dir);
}

static void test_certs_public_key_only_404_names_the_cause(void **state)
{
    struct wxpay_client *c;
    struct wxpay_certs certs;
    struct wxpay_result r;
    (void)state;

    use_signer("keys/test-platform.key.pem", CUR[0]);
    wxp_buf_reset(&stub.body);
    assert_int_equal(wxp_buf_addstr(&stub.body, NOT_EXISTS), WXP_OK);
    stub.status = 404;
    c = client(NULL, KEY_A);
    assert_int_equal(wxpay_certificates(c, &certs, &r), WXPAY_ERR_WECHAT);
    assert_int_equal(r.http_status, 404);
    assert_string_equal(r.code, "RESOURCE_NOT_EXISTS");
    if (strstr(r.error, "this merchant has no platform certificate") == NULL ||
        strstr(r.error, "PUB_KEY_ID_") == NULL) {
        fail_msg("error: %s", r.error);
    }
    wxpay_certs_free(&certs);
    wxpay_result_free(&r);
    wxpay_client_free(c);
}

/* `wxpay certificates --out DIR`, the built-in TEST merchant (its TEST APIv3 key and platform
 * certificate): one file per certificate, byte for byte; --json lists them. */
static void test_certs_cli_writes_the_files(void **state)
{
    const char *const both[][3] = {{CUR[0], CUR[1], CUR[2]}, {NEXT[0], NEXT[1], NEXT[2]}};
    char dir[] = "/tmp/wxpay-certs-XXXXXX";
    char out[1200];
    char base[128];
    char cmd[2048];
    char line[8192] = "";
    size_t len = 0;
    char *want;
    char *got;
    FILE *p;
    int status;
    (void)state;

    assert_non_null(mkdtemp(dir));
    use_signer("keys/test-platform.key.pem", CUR[0]);
    set_list(KEY_A, both, 2);
    snprintf(base, sizeof base, "%s", stub.url);
    snprintf(cmd, sizeof cmd,
             "env -i PATH=/usr/bin:/bin TMPDIR=/tmp %s --base-url %s certificates "
             "--out %s --json",
             WXPAY_CLI_BIN, base, dir);
    p = popen(cmd, "r");
    assert_non_null(p);
    len = fread(line, 1, sizeof line - 1, p);
    line[len] = '\0';
    status = pclose(p);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) != 0 || strstr(line, "\"ok\":true") == NULL ||
        strstr(line, "\"trust_on_first_use\":false") == NULL ||
        strstr(line, "\"serial_no\":\"" SERIAL_NEXT "\"") == NULL) {
        fail_msg("exit %d: %s", WEXITSTATUS(status), line);
    }
    snprintf(out, sizeof out, "%s/wechatpay_%s.pem", dir, SERIAL_NEXT);
    want = t_read(NEXT[0], &len);
    {
        size_t glen = 0;
        FILE *fp = fopen(out, "rb");
        assert_non_null(fp);
        got = wxp_malloc(len + 16);
        glen = fread(got, 1, len + 16, fp);
        fclose(fp);
        assert_int_equal(glen, len);
        assert_memory_equal(got, want, len);
        wxp_free(got);
    }
    wxp_free(want);
    unlink(out);
    snprintf(out, sizeof out, "%s/wechatpay_%s.pem", dir, T_SERIAL_PLATFORM);
    assert_int_equal(unlink(out), 0);
    assert_int_equal(rmdir(dir), 0);
}

/* The readable output of a first download says how it was verified. */
static void test_certs_cli_says_trust_on_first_use(void **state)
{
    const char *const both[][3] = {{CUR[0], CUR[1], CUR[2]}, {NEXT[0], NEXT[1], NEXT[2]}};
    char cmd[4096];
    char key[1024];
    char apiv3[1024];
    char text[8192] = "";
    size_t len;
    FILE *p;
    int status;
    (void)state;

    use_signer("keys/test-platform.key.pem", CUR[0]);
    set_list(KEY_A, both, 2);
    /* t_fixture's buffer is static: each path is copied out first. */
    snprintf(key, sizeof key, "%s", t_fixture("keys/test-merchant-a.key.pem"));
    snprintf(apiv3, sizeof apiv3, "%s", t_fixture("keys/test-merchant-a.apiv3.key"));
    snprintf(cmd, sizeof cmd,
             "env -i PATH=/usr/bin:/bin TMPDIR=/tmp %s --base-url %s --mchid " T_MCHID_A
             " --mch-serial " T_SERIAL_A " --mch-key %s --apiv3-key-file %s certificates",
             WXPAY_CLI_BIN, stub.url, key, apiv3);
    p = popen(cmd, "r");
    assert_non_null(p);
    len = fread(text, 1, sizeof text - 1, p);
    text[len] = '\0';
    status = pclose(p);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) != 0 ||
        strstr(text, "verified with a certificate from this same answer: trust on first use") ==
            NULL ||
        strstr(text, SERIAL_NEXT " 2026-12-01T00:00:00+08:00 .. 2126-12-01T00:00:00+08:00") ==
            NULL) {
        fail_msg("exit %d: %s", WEXITSTATUS(status), text);
    }
}

/* auto_certificates: a client with no platform key downloads before its first call (trust on
 * first use), so a terminate verifies; after a rotation whose new certificate it has not seen,
 * an answer signed with it makes the client download again (verified with the old certificate)
 * and the same answer then verifies. A download it cannot verify is never trusted after the
 * first: the call fails. */
static void test_certs_auto_mode_downloads_and_refreshes(void **state)
{
    const char *const cur_only[][3] = {{CUR[0], CUR[1], CUR[2]}};
    const char *const both[][3] = {{CUR[0], CUR[1], CUR[2]}, {NEXT[0], NEXT[1], NEXT[2]}};
    static const char *none[] = {NULL};
    char key[1024];
    struct wxpay_config cfg;
    struct wxpay_client *c = NULL;
    struct wxpay_result r;
    struct wxpay_terminate t = {"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "500001", "wxd678efh567hg6787",
                                "用户解约"};
    unsigned hits;
    (void)state;

    snprintf(key, sizeof key, "%s", t_fixture("keys/test-merchant-a.key.pem"));
    memset(&cfg, 0, sizeof cfg);
    cfg.base_url = stub.url;
    cfg.mchid = T_MCHID_A;
    cfg.mch_serial = T_SERIAL_A;
    cfg.mch_key_file = key;
    cfg.platform_cert_files = none;
    cfg.apiv3_key = KEY_A;
    cfg.auto_certificates = 1;
    if (wxpay_client_new(&cfg, &c, &r) != WXPAY_OK) {
        fail_msg("client: %s", r.error);
    }
    wxpay_result_free(&r);

    use_signer("keys/test-platform.key.pem", CUR[0]);
    set_list(KEY_A, cur_only, 1);
    hits = stub.hits;
    if (wxpay_payscore_terminate(c, &t, &r) != WXPAY_OK) {
        fail_msg("first call: %s", r.error);
    }
    assert_int_equal(stub.hits - hits, 2); /* the download, then the terminate */
    wxpay_result_free(&r);
    hits = stub.hits;
    assert_int_equal(wxpay_payscore_terminate(c, &t, &r), WXPAY_OK);
    assert_int_equal(stub.hits - hits, 1); /* not due again */
    wxpay_result_free(&r);

    /* The switch: answers signed by the next certificate, the list (still signed by the current
     * one) holds both. */
    stub.list_signer = signer("keys/test-platform.key.pem", CUR[0]);
    use_signer("keys/test-platform-next.key.pem", NEXT[0]);
    set_list(KEY_A, both, 2);
    hits = stub.hits;
    if (wxpay_payscore_terminate(c, &t, &r) != WXPAY_OK) {
        fail_msg("after the switch: %s", r.error);
    }
    assert_int_equal(stub.hits - hits, 2); /* the terminate, the download; verified again */
    wxpay_result_free(&r);
    wxpay_client_free(c);

    /* A new auto client that knows only the current certificate: the list is now signed by the
     * next one, which it cannot verify, so nothing is trusted and the call fails. */
    {
        char cur[1024];
        const char *pcerts[] = {cur, NULL};
        snprintf(cur, sizeof cur, "%s", t_fixture(CUR[0]));
        cfg.platform_cert_files = pcerts;
        wxp_key_free(stub.list_signer);
        stub.list_signer = NULL;
        if (wxpay_client_new(&cfg, &c, &r) != WXPAY_OK) {
            fail_msg("client: %s", r.error);
        }
        wxpay_result_free(&r);
        assert_int_equal(wxpay_payscore_terminate(c, &t, &r), WXPAY_ERR_VERIFY);
        if (strstr(r.error, "auto_certificates: the certificate download failed") == NULL) {
            fail_msg("error: %s", r.error);
        }
        wxpay_result_free(&r);
        wxpay_client_free(c);
    }
}

/* A USER_OPEN_SERVICE notification under merchant A's APIv3 key, signed by `key` as `serial`. */
static void notification(struct wxp_buf *body, struct wxp_notify_headers *h,
                         struct wxpay_notify_input *in, const char *key, const char *serial)
{
    struct wxp_notify_spec s;
    struct wxp_key *k = t_private(key);

    memset(&s, 0, sizeof s);
    s.event_type = "PAYSCORE.USER_OPEN_SERVICE";
    s.summary = "授权成功";
    s.plaintext = wxp_str_c("{\"openid\":\"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o\"}");
    wxp_buf_init(body, 64 * 1024);
    assert_int_equal(wxp_notify_build(&s, wxp_str_c(KEY_A), body, NULL), WXP_OK);
    assert_int_equal(wxp_notify_sign(k, serial, (int64_t)time(NULL), NULL,
                                     (struct wxp_str){body->ptr, body->len}, h, NULL),
                     WXP_OK);
    wxp_key_free(k);
    memset(in, 0, sizeof *in);
    in->timestamp = h->timestamp;
    in->nonce = h->nonce;
    in->signature = h->signature;
    in->serial = h->serial;
    in->body = body->ptr;
    in->body_len = body->len;
}

/* auto_certificates and notifications: the first one downloads the list before it is checked; one
 * signed by a certificate the client has not seen downloads again and verifies; another unknown
 * serial within a minute downloads nothing (the sender chooses the serial). */
static void test_certs_auto_mode_verifies_notifications(void **state)
{
    const char *const cur_only[][3] = {{CUR[0], CUR[1], CUR[2]}};
    const char *const both[][3] = {{CUR[0], CUR[1], CUR[2]}, {NEXT[0], NEXT[1], NEXT[2]}};
    static const char *none[] = {NULL};
    char key[1024];
    struct wxpay_config cfg;
    struct wxpay_client *c = NULL;
    struct wxpay_notification out;
    struct wxpay_notify_input in;
    struct wxp_notify_headers h;
    struct wxpay_result r;
    struct wxp_buf body;
    unsigned hits;
    (void)state;

    snprintf(key, sizeof key, "%s", t_fixture("keys/test-merchant-a.key.pem"));
    memset(&cfg, 0, sizeof cfg);
    cfg.base_url = stub.url;
    cfg.mchid = T_MCHID_A;
    cfg.mch_serial = T_SERIAL_A;
    cfg.mch_key_file = key;
    cfg.platform_cert_files = none;
    cfg.apiv3_key = KEY_A;
    cfg.auto_certificates = 1;
    if (wxpay_client_new(&cfg, &c, &r) != WXPAY_OK) {
        fail_msg("client: %s", r.error);
    }
    wxpay_result_free(&r);
    wxp_key_free(stub.list_signer);
    stub.list_signer = NULL;
    use_signer("keys/test-platform.key.pem", CUR[0]);
    set_list(KEY_A, cur_only, 1);

    notification(&body, &h, &in, "keys/test-platform.key.pem", T_SERIAL_PLATFORM);
    hits = stub.hits;
    if (wxpay_notify_parse(c, &in, &out, &r) != WXPAY_OK) {
        fail_msg("first notification: %s", r.error);
    }
    assert_int_equal(stub.hits - hits, 1); /* the download */
    wxpay_notification_free(&out);
    wxpay_result_free(&r);
    wxp_buf_free(&body);

    set_list(KEY_A, both, 2); /* still signed by the current certificate */
    notification(&body, &h, &in, "keys/test-platform-next.key.pem", SERIAL_NEXT);
    hits = stub.hits;
    if (wxpay_notify_parse(c, &in, &out, &r) != WXPAY_OK) {
        fail_msg("notification signed by the next certificate: %s", r.error);
    }
    assert_int_equal(stub.hits - hits, 1);
    wxpay_notification_free(&out);
    wxpay_result_free(&r);
    wxp_buf_free(&body);

    notification(&body, &h, &in, "keys/test-wrong.key.pem", T_SERIAL_WRONG);
    hits = stub.hits;
    assert_int_equal(wxpay_notify_parse(c, &in, &out, &r), WXPAY_ERR_VERIFY);
    assert_int_equal(r.verify_failure, WXPAY_VF_UNKNOWN_SERIAL);
    assert_int_equal(stub.hits - hits, 0);
    wxpay_result_free(&r);
    wxp_buf_free(&body);
    wxpay_client_free(c);
}

/* The APIv3 key from WXPAY_APIV3_KEY_FILE and from the config file (inline): merchant B's key
 * does not decrypt merchant A's list (exit 3, named), a key file of the wrong length is a usage
 * error (exit 2) that never shows the key. */
static int run_shell(const char *cmd, char *out, size_t cap)
{
    size_t len;
    int status;
    FILE *p = popen(cmd, "r");

    assert_non_null(p);
    len = fread(out, 1, cap - 1, p);
    out[len] = '\0';
    status = pclose(p);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void test_certs_cli_key_from_env_and_config(void **state)
{
    const char *const both[][3] = {{CUR[0], CUR[1], CUR[2]}, {NEXT[0], NEXT[1], NEXT[2]}};
    char dir[] = "/tmp/wxpay-certs-XXXXXX";
    char key[1024], keyb[1024], conf[1100], shortkey[1100];
    char cmd[8192];
    char text[8192];
    FILE *fp;
    int rc;
    (void)state;

    assert_non_null(mkdtemp(dir));
    use_signer("keys/test-platform.key.pem", CUR[0]);
    set_list(KEY_A, both, 2);
    snprintf(key, sizeof key, "%s", t_fixture("keys/test-merchant-a.key.pem"));
    snprintf(keyb, sizeof keyb, "%s", t_fixture("keys/test-merchant-b.apiv3.key"));
    snprintf(conf, sizeof conf, "%s/conf.json", dir);
    snprintf(shortkey, sizeof shortkey, "%s/short.key", dir);
    fp = fopen(conf, "w");
    assert_non_null(fp);
    fprintf(fp, "{\"apiv3_key\": \"%s\"}\n", KEY_B);
    assert_int_equal(fclose(fp), 0);
    fp = fopen(shortkey, "w");
    assert_non_null(fp);
    fputs("TestOnlyApiV3KeyA1900000109\n", fp);
    assert_int_equal(fclose(fp), 0);

    snprintf(cmd, sizeof cmd,
             "env -i PATH=/usr/bin:/bin WXPAY_APIV3_KEY_FILE=%s %s --base-url %s --mchid " T_MCHID_A
             " --mch-serial " T_SERIAL_A " --mch-key %s certificates 2>&1",
             keyb, WXPAY_CLI_BIN, stub.url, key);
    rc = run_shell(cmd, text, sizeof text);
    if (rc != 3 || strstr(text, "wrong APIv3 key") == NULL) {
        fail_msg("env: exit %d: %s", rc, text);
    }
    snprintf(cmd, sizeof cmd,
             "env -i PATH=/usr/bin:/bin %s --config %s --base-url %s --mchid " T_MCHID_A
             " --mch-serial " T_SERIAL_A " --mch-key %s certificates 2>&1",
             WXPAY_CLI_BIN, conf, stub.url, key);
    rc = run_shell(cmd, text, sizeof text);
    if (rc != 3 || strstr(text, "wrong APIv3 key") == NULL || strstr(text, KEY_B) != NULL) {
        fail_msg("config: exit %d: %s", rc, text);
    }
    snprintf(cmd, sizeof cmd,
             "env -i PATH=/usr/bin:/bin %s --apiv3-key-file %s --base-url %s --mchid " T_MCHID_A
             " --mch-serial " T_SERIAL_A " --mch-key %s certificates 2>&1",
             WXPAY_CLI_BIN, shortkey, stub.url, key);
    rc = run_shell(cmd, text, sizeof text);
    if (rc != 2 || strstr(text, "APIv3 key is 27 bytes, must be 32") == NULL ||
        strstr(text, "TestOnlyApiV3Key") != NULL) {
        fail_msg("short key: exit %d: %s", rc, text);
    }
    unlink(conf);
    unlink(shortkey);
    rmdir(dir);
}

/* ---- against wxpay-mock ---------------------------------------------------------------- */

/* A mock config: merchant A with its APIv3 key, and `platform`. */
static void mock_config(const char *path, const char *platform)
{
    FILE *f = fopen(path, "w");
    char cert_a[1024], apiv3[1024];

    assert_non_null(f);
    snprintf(cert_a, sizeof cert_a, "%s", t_fixture("certs/test-merchant-a.cert.pem"));
    snprintf(apiv3, sizeof apiv3, "%s", t_fixture("keys/test-merchant-a.apiv3.key"));
    fprintf(f,
            "{\"merchants\":[{\"mchid\":\"" T_MCHID_A "\",\"cert\":\"%s\",\"apiv3_key_file\":"
            "\"%s\"}],\"platform\":%s}",
            cert_a, apiv3, platform);
    assert_int_equal(fclose(f), 0);
}

/* `wxpay ... certificates` with merchant A's files and `extra` arguments (a shell fragment). */
static int mock_cli(const struct e2e_mock *m, const char *extra, char *out, size_t cap)
{
    char key[1024], apiv3[1024], cmd[8192];

    snprintf(key, sizeof key, "%s", t_fixture("keys/test-merchant-a.key.pem"));
    snprintf(apiv3, sizeof apiv3, "%s", t_fixture("keys/test-merchant-a.apiv3.key"));
    snprintf(cmd, sizeof cmd,
             "env -i PATH=/usr/bin:/bin %s --base-url %s --mchid " T_MCHID_A
             " --mch-serial " T_SERIAL_A " --mch-key %s --apiv3-key-file %s %s certificates 2>&1",
             WXPAY_CLI_BIN, m->url, key, apiv3, extra);
    return run_shell(cmd, out, cap);
}

/* wxpay-mock with the current, next and expired certificates: the first download (no platform
 * key) is trusted on first use and writes both valid certificates; a client pinned to the current
 * one verifies a download; after POST /__admin/platform/rotate the answers (for a client naming no
 * serial) are signed by the next certificate: the old pin alone refuses them, and with the
 * certificate written by the first download a second download verifies and lists it. */
static void test_certs_mock_download_and_rotation(void **state)
{
    char dir[] = "/tmp/wxpay-certs-XXXXXX";
    char conf[1100], platform[8192], extra[2400], text[8192];
    char k[3][1024], c[3][1024];
    char cur[1024], next_file[1200], cur_file[1200];
    const char *pinned[] = {cur, NULL};
    const char *renewed[] = {cur, next_file, NULL};
    const char *args[] = {"--config", conf, NULL};
    const char *files[3][2] = {
        {"keys/test-platform.key.pem", CUR[0]},
        {"keys/test-platform-next.key.pem", NEXT[0]},
        {"keys/test-platform-expired.key.pem", "certs/test-platform-expired.cert.pem"}};
    struct e2e_mock m;
    struct e2e_resp r;
    struct wxpay_config cfg;
    struct wxpay_client *cl = NULL;
    struct wxpay_certs certs;
    struct wxpay_result res;
    char key[1024];
    int rc;
    (void)state;

    assert_non_null(mkdtemp(dir));
    for (size_t i = 0; i < 3; i++) {
        snprintf(k[i], sizeof k[i], "%s", t_fixture(files[i][0]));
        snprintf(c[i], sizeof c[i], "%s", t_fixture(files[i][1]));
    }
    snprintf(platform, sizeof platform,
             "{\"key\":\"%s\",\"cert\":\"%s\",\"certificates\":[{\"key\":\"%s\",\"cert\":\"%s\"},"
             "{\"key\":\"%s\",\"cert\":\"%s\"}]}",
             k[0], c[0], k[1], c[1], k[2], c[2]);
    snprintf(conf, sizeof conf, "%s/mock.json", dir);
    mock_config(conf, platform);
    e2e_start(&m, args);

    snprintf(extra, sizeof extra, "--out %s", dir);
    rc = mock_cli(&m, extra, text, sizeof text);
    if (rc != 0 || strstr(text, "trust on first use") == NULL ||
        strstr(text, SERIAL_NEXT " 2026-12-01T00:00:00+08:00 .. 2126-12-01T00:00:00+08:00") ==
            NULL ||
        strstr(text, "4F3E2D1C0B1A29384756A5B4C3D2E1F0A9B8C7D6") != NULL) {
        fail_msg("first download: exit %d: %s", rc, text);
    }
    snprintf(next_file, sizeof next_file, "%s/wechatpay_%s.pem", dir, SERIAL_NEXT);
    snprintf(cur_file, sizeof cur_file, "%s/wechatpay_%s.pem", dir, T_SERIAL_PLATFORM);
    assert_int_equal(access(next_file, R_OK), 0);
    assert_int_equal(access(cur_file, R_OK), 0);

    snprintf(cur, sizeof cur, "%s", t_fixture(CUR[0]));
    snprintf(key, sizeof key, "%s", t_fixture("keys/test-merchant-a.key.pem"));
    memset(&cfg, 0, sizeof cfg);
    cfg.base_url = m.url;
    cfg.mchid = T_MCHID_A;
    cfg.mch_serial = T_SERIAL_A;
    cfg.mch_key_file = key;
    cfg.platform_cert_files = pinned;
    cfg.apiv3_key = KEY_A;
    cfg.accept_serial = ""; /* name no serial: the mock signs with its current certificate */
    assert_int_equal(wxpay_client_new(&cfg, &cl, &res), WXPAY_OK);
    wxpay_result_free(&res);
    if (wxpay_certificates(cl, &certs, &res) != WXPAY_OK) {
        fail_msg("pinned download: %s", res.error);
    }
    assert_int_equal(certs.trust_on_first_use, 0);
    assert_int_equal(certs.count, 2);
    wxpay_certs_free(&certs);
    wxpay_result_free(&res);

    e2e_send(&m, "POST", "/__admin/platform/rotate", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    e2e_resp_free(&r);

    assert_int_equal(wxpay_certificates(cl, &certs, &res), WXPAY_ERR_VERIFY);
    assert_int_equal(res.verify_failure, WXPAY_VF_UNKNOWN_SERIAL);
    wxpay_certs_free(&certs);
    wxpay_result_free(&res);
    wxpay_client_free(cl);

    cfg.platform_cert_files = renewed;
    assert_int_equal(wxpay_client_new(&cfg, &cl, &res), WXPAY_OK);
    wxpay_result_free(&res);
    if (wxpay_certificates(cl, &certs, &res) != WXPAY_OK) {
        fail_msg("download after the rotation: %s", res.error);
    }
    assert_int_equal(certs.trust_on_first_use, 0);
    assert_int_equal(certs.count, 2);
    wxpay_certs_free(&certs);
    wxpay_result_free(&res);
    wxpay_client_free(cl);

    /* The command, with the downloaded next certificate and no serial named: verified with it. */
    snprintf(extra, sizeof extra, "--accept-serial '' --platform-cert %s --json", next_file);
    rc = mock_cli(&m, extra, text, sizeof text);
    if (rc != 0 || strstr(text, "\"trust_on_first_use\":false") == NULL) {
        fail_msg("after the rotation: exit %d: %s", rc, text);
    }
    e2e_stop(&m);
    unlink(next_file);
    unlink(cur_file);
    unlink(conf);
    rmdir(dir);
}

/* A public-key-only platform: the command exits 1 and names the cause. */
static void test_certs_mock_public_key_only(void **state)
{
    char dir[] = "/tmp/wxpay-certs-XXXXXX";
    char conf[1100], platform[2048], text[8192];
    const char *args[] = {"--config", conf, NULL};
    struct e2e_mock m;
    int rc;
    (void)state;

    assert_non_null(mkdtemp(dir));
    snprintf(conf, sizeof conf, "%s/mock.json", dir);
    snprintf(platform, sizeof platform, "{\"key\":\"%s\",\"public_key_id\":\"" T_PUBKEY_ID "\"}",
             t_fixture("keys/test-platform.key.pem"));
    mock_config(conf, platform);
    e2e_start(&m, args);
    rc = mock_cli(&m, "", text, sizeof text);
    if (rc != 1 || strstr(text, "RESOURCE_NOT_EXISTS") == NULL ||
        strstr(text, "this merchant has no platform certificate") == NULL) {
        fail_msg("exit %d: %s", rc, text);
    }
    e2e_stop(&m);
    unlink(conf);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_certs_configured_certificate_verifies_the_download),
        cmocka_unit_test(test_certs_first_download_is_trust_on_first_use),
        cmocka_unit_test(test_certs_wrong_apiv3_key_is_named),
        cmocka_unit_test(test_certs_client_lives_through_a_rotation),
        cmocka_unit_test(test_certs_public_key_only_404_names_the_cause),
        cmocka_unit_test(test_certs_cli_writes_the_files),
        cmocka_unit_test(test_certs_cli_says_trust_on_first_use),
        cmocka_unit_test(test_certs_cli_key_from_env_and_config),
        cmocka_unit_test(test_certs_auto_mode_downloads_and_refreshes),
        cmocka_unit_test(test_certs_auto_mode_verifies_notifications),
        cmocka_unit_test(test_certs_mock_download_and_rotation),
        cmocka_unit_test(test_certs_mock_public_key_only),
    };
    return cmocka_run_group_tests(tests, start, stop);
}
